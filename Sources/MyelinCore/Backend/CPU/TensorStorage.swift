#if canImport(Glibc)
import Glibc
import CBLAS
#elseif canImport(Darwin)
import Darwin
#endif

/// The memory behind one or more tensors: a 64-byte aligned buffer of `count` elements of `dtype`,
/// and the device it belongs to.
///
/// Every device's storage is host memory today (as Metal's shared buffers are); `deviceSlot` says
/// which backend runs ops on it: 0 for the CPU, otherwise a slot of `Backends` (see `Device`).
///
/// Tensors hold it by reference and copy it before writing when it is shared (copy-on-write).
// @unchecked: its fields are constant and the buffer is written only by the holder of the sole reference (copy-on-write, atomic refcount, as Array) or before the storage is shared.
final class TensorStorage: @unchecked Sendable {
    let dtype: DType
    let count: Int
    let data: UnsafeMutableRawPointer
    /// 0 on the CPU, else the device's slot in `Backends`: an integer, so the op gate's check is one compare.
    let deviceSlot: Int

    /// Done once, at the first allocation: keeps freed tensor buffers in malloc's heap instead of
    /// returning them to the system (by default glibc maps every block over 128 KiB afresh, so each
    /// training step's activations and gradients page-fault their memory in again), and sets up
    /// OpenBLAS (`BLAS.configure`: its own threads, which busy a core for the process's first
    /// tenth of a second, are stopped).
    private static let setUpProcess: Void = {
        #if canImport(Glibc)
        _ = mallopt(M_MMAP_THRESHOLD, 256 << 20)
        _ = mallopt(M_TRIM_THRESHOLD, 1 << 30)
        #endif
        _ = BLAS.configure
    }()

    /// Uninitialised memory for `count` elements; callers fill every element they expose.
    init(dtype: DType, count: Int, deviceSlot: Int = 0) {
        _ = TensorStorage.setUpProcess
        self.dtype = dtype
        self.count = count
        self.deviceSlot = deviceSlot
        let bytes = max(count * dtype.byteSize, 64)
        if let k = SmallBlocks.sizeClass(bytes) {
            // Small buffers from the cache of freed ones (see `SmallBlocks`).
            guard let raw = SmallBlocks.take(k) else {
                fatalError("[storage] cannot allocate \(bytes) bytes for \(count) \(dtype) elements")
            }
            self.data = raw
            return
        }
        // posix_memalign keeps large buffers on malloc's fast path and aligned for SIMD loads.
        var raw: UnsafeMutableRawPointer?
        let status = posix_memalign(&raw, 64, bytes)
        guard status == 0, let raw else {
            fatalError("[storage] cannot allocate \(bytes) bytes for \(count) \(dtype) elements")
        }
        self.data = raw
    }

    /// Zero-filled memory (all-zero bytes are 0, 0.0 and false in every dtype).

    convenience init(zeroedDType dtype: DType, count: Int) {
        self.init(dtype: dtype, count: count)
        memset(data, 0, count * dtype.byteSize)
    }

    deinit {
        if let k = SmallBlocks.sizeClass(max(count * dtype.byteSize, 64)) { SmallBlocks.give(data, k) } else { free(data) }
    }

    @inline(__always)
    func pointer<T: TensorElement>(as: T.Type) -> UnsafeMutablePointer<T> {
        data.assumingMemoryBound(to: T.self)
    }
}
