#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a tensor's memory lives and which backend runs ops on it: `.cpu`, or a device whose
/// backend was registered with `Backends.register`.
///
/// ```swift
/// Backends.register(MyBackend())              // MyBackend().device is Device("mine")
/// let x = Tensor([1.0, 2.0]).to(device: Device("mine"))
/// x.device                                    // mine
/// let y = x + x                               // runs MyBackend's "add" kernel
/// ```
public struct Device: Hashable, Sendable, CustomStringConvertible {
    /// The name errors and descriptions show (`cpu`, `metal`); two devices are one when their names are.
    public let name: String

    /// A device by name; only `.cpu` and devices of registered backends can hold tensors.
    public init(_ name: String) { self.name = name }

    /// Host memory, run by `CPUBackend`: where every tensor is made.
    public static let cpu = Device("cpu")

    public var description: String { name }
}

extension Tensor {
    /// The device this tensor's memory belongs to (`.cpu` unless moved with `to(device:)`).
    ///
    /// ```swift
    /// Tensor([1.0]).device   // cpu
    /// ```
    public var device: Device {
        storage.deviceSlot == 0 ? .cpu : Backends.backend(inSlot: storage.deviceSlot).device
    }

    /// The backend that runs this tensor's ops and updates: `CPUBackend` on the CPU.
    ///
    /// ```swift
    /// Tensor([1.0]).backend is CPUBackend   // true
    /// ```
    public var backend: any Backend {
        storage.deviceSlot == 0 ? CPUBackend() : Backends.backend(inSlot: storage.deviceSlot)
    }

    /// A copy of this tensor on `device`, contiguous, with the same bits; `self` when it is already
    /// there. The copy takes no part in autograd (set `requiresGrad` on it to make it a leaf).
    ///
    /// ```swift
    /// let x = Tensor([1.0, 2.0]).to(device: Device("mine"))
    /// x.to(device: .cpu)   // [1, 2] again
    /// ```
    public func to(device: Device) -> Tensor {
        let slot = device == .cpu ? 0 : Backends.slot(of: device, op: "to(device:)")
        if slot == storage.deviceSlot { return self }
        // Every device's storage is host memory today, so the copy is one memcpy.
        let source = detached().contiguous()
        let out = Tensor(uninitializedShape: shape, dtype: dtype, deviceSlot: slot)
        withExtendedLifetime(source) {
            _ = memcpy(out.storage.data, source.storage.data + source.offset * dtype.byteSize, count * dtype.byteSize)
        }
        return out
    }

    // MARK: the op gate

    /// True when an op must take the primitive path (`Tensor.apply`) instead of its CPU code: a
    /// trace is running on this thread, or the input is on another device, whose backend runs the
    /// op. For CPU tensors the device adds one compare to the tracing check.
    @inline(__always)
    static func routed(_ a: Tensor) -> Bool {
        a.storage.deviceSlot != 0 || Recording.tracing
    }

    @inline(__always)
    static func routed(_ a: Tensor, _ b: Tensor) -> Bool {
        (a.storage.deviceSlot | b.storage.deviceSlot) != 0 || Recording.tracing
    }

    /// `routed` for an op with an optional third input (a bias, say).
    @inline(__always)
    static func routed(_ a: Tensor, _ b: Tensor, _ c: Tensor?) -> Bool {
        (a.storage.deviceSlot | b.storage.deviceSlot | (c?.storage.deviceSlot ?? 0)) != 0 || Recording.tracing
    }

    /// `records` (an input needs a gradient, or a trace runs) or an input on another device: the
    /// gate of compute ops that take the primitive path whenever they record.
    @inline(__always)
    static func recordsOrRoutes(_ a: Tensor) -> Bool {
        a.storage.deviceSlot != 0 || records(a)
    }

    @inline(__always)
    static func recordsOrRoutes(_ a: Tensor, _ b: Tensor) -> Bool {
        (a.storage.deviceSlot | b.storage.deviceSlot) != 0 || records(a, b)
    }

    static func recordsOrRoutes(_ tensors: [Tensor]) -> Bool {
        tensors.contains { $0.storage.deviceSlot != 0 } || records(tensors)
    }
}
