// From a checked view of a storage's bytes to a Myelin tensor: the storage types PyTorch writes,
// the dtype each becomes, and the element conversions (half and bfloat16 widen to float32, the
// small integers to int32, either byte order).

/// The `torch.<Name>Storage` types a checkpoint may name, and the Myelin dtype each is read as.
enum PyTorchStorageKind: String, CaseIterable {
    case float = "FloatStorage", double = "DoubleStorage", half = "HalfStorage", bfloat16 = "BFloat16Storage"
    case long = "LongStorage", int = "IntStorage", short = "ShortStorage", char = "CharStorage", byte = "ByteStorage"
    case bool = "BoolStorage"

    /// Bytes per element in the file.
    var itemSize: Int {
        switch self {
        case .double, .long: return 8
        case .float, .int: return 4
        case .half, .bfloat16, .short: return 2
        case .char, .byte, .bool: return 1
        }
    }

    /// Myelin has no 16-bit floats or 8/16-bit integers: those widen exactly to float32 and int32.
    var dtype: DType {
        switch self {
        case .float, .half, .bfloat16: return .float32
        case .double: return .float64
        case .long: return .int64
        case .int, .short, .char, .byte: return .int32
        case .bool: return .bool
        }
    }
}

extension PyTorchCheckpoint {
    /// The element count of a checked view: sizes and strides non-negative, the product within Int,
    /// and every element inside a storage of `storageCount` elements. `fail` gets the reason.
    static func checkView(_ t: PickleTensor, storageCount: Int, fail: (String) -> Error) throws -> Int {
        guard t.offset >= 0 else { throw fail("negative storage offset \(t.offset)") }
        if let s = t.shape.first(where: { $0 < 0 }) { throw fail("negative size \(s) in shape \(t.shape)") }
        // PyTorch has no negative strides either; a file with one was not written by torch.save.
        if let s = t.strides.first(where: { $0 < 0 }) { throw fail("negative stride \(s) in strides \(t.strides)") }
        var count = 1
        for d in t.shape {
            let (r, overflow) = count.multipliedReportingOverflow(by: Int(d))
            guard !overflow else { throw fail("shape \(t.shape) has too many elements (elements overflow a 64-bit count)") }
            count = r
        }
        guard count > 0 else { return 0 }
        var last = Int(t.offset)
        for (size, stride) in zip(t.shape, t.strides) {
            let (step, o1) = Int(size - 1).multipliedReportingOverflow(by: Int(stride))
            let (sum, o2) = last.addingReportingOverflow(step)
            guard !o1 && !o2 else { throw fail("view (offset \(t.offset), shape \(t.shape), strides \(t.strides)) reaches past element 2^63") }
            last = sum
        }
        guard last < storageCount else {
            throw fail("view (offset \(t.offset), shape \(t.shape), strides \(t.strides)) reaches element \(last) of a storage of \(storageCount)")
        }
        return count
    }

    /// A contiguous copy of the view `t` of `storage` (checked by `checkView`), converted to the
    /// kind's dtype; `bigEndian` storages are byte-swapped.
    static func copy(_ t: PickleTensor, count: Int, from storage: UnsafeRawBufferPointer, kind: PyTorchStorageKind,
                     bigEndian: Bool) -> Tensor {
        let shape = t.shape.map { Int($0) }, strides = t.strides.map { Int($0) }
        let out = Tensor(uninitializedShape: shape, dtype: kind.dtype)
        guard count > 0, let src = storage.baseAddress else { return out }
        let dst = out.storage.data
        let size = kind.itemSize
        // The common case: a contiguous little-endian view in a dtype Myelin has is one copy.
        if out.isContiguousLayout(strides: strides), !bigEndian, [.float, .double, .long, .int].contains(kind) {
            dst.copyMemory(from: src + Int(t.offset) * size, byteCount: count * size)
            return out
        }
        @inline(__always) func load<T: FixedWidthInteger>(_: T.Type, _ j: Int) -> T {
            let raw = src.loadUnaligned(fromByteOffset: j * size, as: T.self)
            return bigEndian ? T(bigEndian: raw) : T(littleEndian: raw)
        }
        let element: (Int, Int) -> Void
        switch kind {
        case .float:
            let p = dst.assumingMemoryBound(to: UInt32.self)
            element = { p[$1] = load(UInt32.self, $0) }
        case .double:
            let p = dst.assumingMemoryBound(to: UInt64.self)
            element = { p[$1] = load(UInt64.self, $0) }
        case .half:
            let p = dst.assumingMemoryBound(to: Float.self)
            element = { p[$1] = halfToFloat(load(UInt16.self, $0)) }
        case .bfloat16:
            let p = dst.assumingMemoryBound(to: Float.self)
            element = { p[$1] = Float(bitPattern: UInt32(load(UInt16.self, $0)) << 16) }
        case .long:
            let p = dst.assumingMemoryBound(to: Int64.self)
            element = { p[$1] = load(Int64.self, $0) }
        case .int:
            let p = dst.assumingMemoryBound(to: Int32.self)
            element = { p[$1] = load(Int32.self, $0) }
        case .short:
            let p = dst.assumingMemoryBound(to: Int32.self)
            element = { p[$1] = Int32(load(Int16.self, $0)) }
        case .char:
            let p = dst.assumingMemoryBound(to: Int32.self)
            element = { p[$1] = Int32(load(Int8.self, $0)) }
        case .byte:
            let p = dst.assumingMemoryBound(to: Int32.self)
            element = { p[$1] = Int32(load(UInt8.self, $0)) }
        case .bool:
            // Any non-zero byte is true; Swift's Bool must hold exactly 0 or 1.
            let p = dst.assumingMemoryBound(to: Bool.self)
            element = { p[$1] = load(UInt8.self, $0) != 0 }
        }
        // Walk the view in row-major order; `j` is the storage index of output element `i`. It may
        // step past the view in between (a size-1 axis with a huge stride), so the steps wrap; it
        // is back in the checked range whenever an element is read.
        var index = [Int](repeating: 0, count: shape.count)
        var j = Int(t.offset)
        for i in 0..<count {
            element(j, i)
            var d = shape.count - 1
            while d >= 0 {
                index[d] += 1
                j &+= strides[d]
                if index[d] < shape[d] { break }
                j &-= strides[d] &* shape[d]
                index[d] = 0
                d -= 1
            }
        }
        return out
    }

    /// IEEE half to float, exactly (subnormals, infinities and NaN payloads included).
    static func halfToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h >> 15) << 31
        let exponent = UInt32(h >> 10) & 0x1F, fraction = UInt32(h & 0x3FF)
        if exponent == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | fraction << 13) }
        if exponent == 0 {
            let magnitude = Float(fraction) * 0x1p-24
            return sign != 0 ? -magnitude : magnitude
        }
        return Float(bitPattern: sign | (exponent + 112) << 23 | fraction << 13)
    }
}

private extension Tensor {
    /// True when `strides` are the row-major strides of this tensor's shape (size-1 axes ignored).
    func isContiguousLayout(strides: [Int]) -> Bool {
        var expected = 1
        for (size, stride) in zip(shape, strides).reversed() {
            if size != 1 && stride != expected { return false }
            expected *= size
        }
        return true
    }
}
