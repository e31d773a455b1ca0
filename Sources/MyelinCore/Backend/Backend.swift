import Synchronization

/// Runs one primitive on a backend's device: the inputs (on that device, without autograd
/// history) in, the output out. The primitive carries its attributes (`axes`, `strides`, ...).
public typealias BackendKernel = @Sendable (_ primitive: any Primitive, _ inputs: [Tensor]) -> Tensor

/// What runs ops on one device: a table of kernels by primitive name, and the in-place updates of
/// the optimisers and of gradient clipping (each one fused pass, as `Tensor.adamUpdate` documents).
///
/// Ops on tensors of the backend's device reach `kernel(for:)` by the primitive's name (`add`,
/// `matmul`, `relu`, ...); a name without a kernel traps with the op and the device. The update
/// calls trap the same way unless the backend implements them. Register a backend once with
/// `Backends.register`, then move tensors to its device with `to(device:)`.
///
/// ```swift
/// struct Mine: Backend {
///     var device: Device { Device("mine") }
///     func kernel(for primitiveName: String) -> BackendKernel? {
///         primitiveName == "add" ? { _, x in myAdd(x[0], x[1]) } : nil
///     }
/// }
/// Backends.register(Mine())
/// ```
public protocol Backend: Sendable {
    /// The device whose tensors this backend runs.
    var device: Device { get }
    /// The kernel for primitives of this name, nil when the backend has none.
    func kernel(for primitiveName: String) -> BackendKernel?

    /// One Adam or AdamW step in place (`Tensor.adamUpdate`; `step` is already checked >= 1).
    func adamUpdate(
        _ parameter: inout Tensor, gradient: Tensor, expAvg: inout Tensor, expAvgSq: inout Tensor,
        maxExpAvgSq: inout Tensor?, step: Int, lr: Double, beta1: Double, beta2: Double, eps: Double,
        weightDecay: Double, decoupledWeightDecay: Bool, maximize: Bool)
    /// One SGD step in place (`Tensor.sgdUpdate`).
    func sgdUpdate(
        _ parameter: inout Tensor, gradient: Tensor, momentumBuffer: inout Tensor?, lr: Double, momentum: Double,
        dampening: Double, weightDecay: Double, nesterov: Bool, maximize: Bool)
    /// One RMSProp step in place (`Tensor.rmspropUpdate`; the momentum buffer is already checked).
    func rmspropUpdate(
        _ parameter: inout Tensor, gradient: Tensor, squareAvg: inout Tensor, gradAvg: inout Tensor?,
        momentumBuffer: inout Tensor?, lr: Double, alpha: Double, eps: Double, weightDecay: Double, momentum: Double,
        maximize: Bool)
    /// One Adagrad step in place (`Tensor.adagradUpdate`; `step` is already checked >= 1).
    func adagradUpdate(
        _ parameter: inout Tensor, gradient: Tensor, sum: inout Tensor, step: Int, lr: Double, lrDecay: Double,
        weightDecay: Double, eps: Double, maximize: Bool)
    /// One Adadelta step in place (`Tensor.adadeltaUpdate`).
    func adadeltaUpdate(
        _ parameter: inout Tensor, gradient: Tensor, squareAvg: inout Tensor, accDelta: inout Tensor, lr: Double,
        rho: Double, eps: Double, weightDecay: Double, maximize: Bool)
    /// Multiplies every element by `factor` in place (`Tensor.scaleInPlace`).
    func scaleInPlace(_ tensor: inout Tensor, by factor: Double)
    /// Clamps every element to `-bound...bound` in place (`Tensor.clampInPlace`; `bound` >= 0).
    func clampInPlace(_ tensor: inout Tensor, magnitude bound: Double)
    /// The `p`-norm of all elements (`Tensor.elementNorm`; `p` > 0).
    func elementNorm(_ tensor: Tensor, _ p: Double) -> Double
}

// A backend implements the updates it has; the others trap with the op and the device.
extension Backend {
    /// Runs `primitive` with this backend's kernel for its name, nil when there is none.
    ///
    /// ```swift
    /// CPUBackend().run(somePrimitive, [x])
    /// ```
    public func run(_ primitive: any Primitive, _ inputs: [Tensor]) -> Tensor? {
        kernel(for: primitive.name).map { $0(primitive, inputs) }
    }

    /// Whether this backend has a kernel for primitives of this name.
    ///
    /// ```swift
    /// CPUBackend().canRun("matmul")   // true
    /// ```
    public func canRun(_ primitiveName: String) -> Bool { kernel(for: primitiveName) != nil }

    public func adamUpdate(
        _ parameter: inout Tensor, gradient: Tensor, expAvg: inout Tensor, expAvgSq: inout Tensor,
        maxExpAvgSq: inout Tensor?, step: Int, lr: Double, beta1: Double, beta2: Double, eps: Double,
        weightDecay: Double, decoupledWeightDecay: Bool, maximize: Bool
    ) { lacks("adamUpdate") }

    public func sgdUpdate(
        _ parameter: inout Tensor, gradient: Tensor, momentumBuffer: inout Tensor?, lr: Double, momentum: Double,
        dampening: Double, weightDecay: Double, nesterov: Bool, maximize: Bool
    ) { lacks("sgdUpdate") }

    public func rmspropUpdate(
        _ parameter: inout Tensor, gradient: Tensor, squareAvg: inout Tensor, gradAvg: inout Tensor?,
        momentumBuffer: inout Tensor?, lr: Double, alpha: Double, eps: Double, weightDecay: Double, momentum: Double,
        maximize: Bool
    ) { lacks("rmspropUpdate") }

    public func adagradUpdate(
        _ parameter: inout Tensor, gradient: Tensor, sum: inout Tensor, step: Int, lr: Double, lrDecay: Double,
        weightDecay: Double, eps: Double, maximize: Bool
    ) { lacks("adagradUpdate") }

    public func adadeltaUpdate(
        _ parameter: inout Tensor, gradient: Tensor, squareAvg: inout Tensor, accDelta: inout Tensor, lr: Double,
        rho: Double, eps: Double, weightDecay: Double, maximize: Bool
    ) { lacks("adadeltaUpdate") }

    public func scaleInPlace(_ tensor: inout Tensor, by factor: Double) { lacks("scaleInPlace") }
    public func clampInPlace(_ tensor: inout Tensor, magnitude bound: Double) { lacks("clampInPlace") }
    public func elementNorm(_ tensor: Tensor, _ p: Double) -> Double { lacks("elementNorm") }

    private func lacks(_ op: String) -> Never {
        fatalError(BackendError.noKernel(op: op, device: device).description)
    }
}

/// Why an op cannot run on a device: its backend has no kernel for it, or the device has no backend.
///
/// ```swift
/// do { _ = try Backends.kernel(for: "sum", on: Device("mine")) } catch { print(error) }
/// // [sum] the tensor is on mine, whose backend has no kernel for sum
/// ```
public enum BackendError: Error, Equatable, CustomStringConvertible {
    case noKernel(op: String, device: Device)
    case noBackend(op: String, device: Device)

    public var description: String {
        switch self {
        case .noKernel(let op, let device): "[\(op)] the tensor is on \(device), whose backend has no kernel for \(op)"
        case .noBackend(let op, let device): "[\(op)] no backend is registered for device \(device)"
        }
    }
}

/// The registered backends, one per device; the CPU's is built in.
///
/// ```swift
/// Backends.register(MyBackend())
/// Backends.backend(for: Device("mine"))?.canRun("add")
/// ```
public enum Backends {
    /// Slot i + 1 holds the i-th registered backend (slot 0, the CPU, is not stored). Read under a
    /// lock on every op of a non-CPU tensor; CPU ops never look here.
    private static let table = Mutex<[any Backend]>([])

    /// Makes `backend` run the tensors of its device, replacing an earlier backend of that device
    /// (tensors already there keep their device and use the new backend).
    public static func register(_ backend: any Backend) {
        let device = backend.device
        if device == .cpu { fatalError("[Backends.register] the cpu device's backend is built in; give yours another name") }
        table.withLock { t in
            if let i = t.firstIndex(where: { $0.device == device }) { t[i] = backend } else { t.append(backend) }
        }
    }

    /// The backend of `device`: `CPUBackend` for `.cpu`, nil for a device nobody registered.
    public static func backend(for device: Device) -> (any Backend)? {
        if device == .cpu { return CPUBackend() }
        return table.withLock { t in t.first { $0.device == device } }
    }

    /// The kernel `device`'s backend runs primitives named `primitiveName` with, or the reason it has none.
    public static func kernel(for primitiveName: String, on device: Device) throws(BackendError) -> BackendKernel {
        guard let backend = backend(for: device) else { throw .noBackend(op: primitiveName, device: device) }
        guard let kernel = backend.kernel(for: primitiveName) else { throw .noKernel(op: primitiveName, device: device) }
        return kernel
    }

    /// The slot of a registered device, trapping for one without a backend.
    static func slot(of device: Device, op: String) -> Int {
        let index = table.withLock { t in t.firstIndex { $0.device == device } }
        guard let index else { fatalError(BackendError.noBackend(op: op, device: device).description) }
        return index + 1
    }

    /// The backend in a (non-zero) slot.
    static func backend(inSlot slot: Int) -> any Backend {
        table.withLock { $0[slot - 1] }
    }

    /// A primitive's forward on the device of its inputs: its own CPU code when every input is on
    /// the CPU, otherwise the kernel of that device's backend (trapping when there is none, or when
    /// inputs are on two other devices). `Tensor.apply` runs every primitive through here.
    static func forward<P: Primitive>(_ primitive: P, _ inputs: [Tensor]) -> Tensor {
        guard let first = inputs.first(where: { $0.storage.deviceSlot != 0 }) else { return primitive.forward(inputs) }
        let slot = first.storage.deviceSlot
        let backend = backend(inSlot: slot)
        if let other = inputs.first(where: { $0.storage.deviceSlot != 0 && $0.storage.deviceSlot != slot }) {
            fatalError("[\(primitive.name)] inputs are on two devices, \(backend.device) and \(other.device)")
        }
        guard let kernel = backend.kernel(for: primitive.name) else {
            // Views and copies read host memory the same on every device, as they run without recording.
            if primitive is any MemoryPrimitive { return primitive.forward(inputs) }
            // A fused chain (from a compiled graph) without a device kernel of its own: its steps one
            // by one on the device's kernels.
            if let fused = primitive as? FusedElementwise { return fused.forwardStepByStep(inputs) }
            fatalError(BackendError.noKernel(op: primitive.name, device: backend.device).description)
        }
        return kernel(primitive, inputs)
    }
}

/// A primitive that only changes how a tensor reads its storage (a view) or copies it: it keeps
/// the storage's device and runs on any device whose storage is host memory, so a backend needs no
/// kernel for it (it may still give one).
protocol MemoryPrimitive: Primitive {}

extension ViewOps.Reshape: MemoryPrimitive {}
extension ViewOps.Permute: MemoryPrimitive {}
extension ViewOps.Squeeze: MemoryPrimitive {}
extension ViewOps.Unsqueeze: MemoryPrimitive {}
extension ViewOps.Expand: MemoryPrimitive {}
extension ViewOps.Copy: MemoryPrimitive {}
extension Indexing.View: MemoryPrimitive {}
