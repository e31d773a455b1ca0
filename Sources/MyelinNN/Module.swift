/// The base class of layers and models, as PyTorch's `nn.Module`.
///
/// Subclasses override `forward(_:)` and keep their layers, `Parameter`s and `Buffer`s in stored
/// properties (also in arrays or optionals of them); `parameters()` finds them by reflection, with
/// dotted names such as `"encoder.0.weight"`, so a model needs no registration code.
///
/// ```swift
/// final class CircleModel: Module {
///     let layer1 = Linear(2, 10)
///     let layer2 = Linear(10, 1)
///     override func forward(_ x: Tensor) -> Tensor { layer2(layer1(x).relu()) }
/// }
/// let model = CircleModel()
/// let logits = model(Tensor.randn([8, 2]))      // shape [8, 1]
/// print(model.parameterCount)                    // 41
/// ```
open class Module {
    /// True in training mode (dropout active, batch statistics), false after `eval()`.
    public private(set) var isTraining = true

    public init() {}

    /// Computes the module's output; every one-tensor subclass overrides it. A `SequenceLayer`
    /// or `RecurrentLayer` that does not gets a default: its masked forward with every step valid,
    /// or its output sequence from the initial state.
    open func forward(_ input: Tensor) -> Tensor {
        if let output = defaultForward(input) { return output }
        fatalError("[module] \(type(of: self)) must override forward(_:)")
    }

    /// Runs `forward`, recording the output shape when a `summary` is being built.
    public func callAsFunction(_ input: Tensor) -> Tensor {
        guard let recorder = ModuleSummaryRecorder.current else { return forward(input) }
        let mark = recorder.rows.count
        let output = forward(input)
        // A recurrent layer's own call has already recorded it, with its state's shapes.
        if !recorder.rows[mark...].contains(where: { $0.module == ObjectIdentifier(self) }) {
            recorder.record(self, output: output)
        }
        return output
    }

    /// A short name for tables and errors: the class name.
    open var typeName: String { String(describing: type(of: self)) }

    // MARK: Traversal

    /// The direct submodules with their property names (array elements as "name.0", "name.1", ...).
    open func namedChildren() -> [(String, Module)] {
        var result: [(String, Module)] = []
        forEachStoredProperty { name, value in
            switch value {
            case let m as Module: result.append((name, m))
            case let ms as [Module]: for (i, m) in ms.enumerated() { result.append(("\(name).\(i)", m)) }
            default: break
            }
        }
        return result
    }

    /// This module's own parameters (not those of submodules), with their property names.
    open func namedOwnParameters() -> [(String, Parameter)] {
        var result: [(String, Parameter)] = []
        forEachStoredProperty { name, value in
            switch value {
            case let p as Parameter: result.append((name, p))
            case let ps as [Parameter]: for (i, p) in ps.enumerated() { result.append(("\(name).\(i)", p)) }
            default: break
            }
        }
        return result
    }

    /// This module's own buffers, with their property names.
    open func namedOwnBuffers() -> [(String, Buffer)] {
        var result: [(String, Buffer)] = []
        forEachStoredProperty { name, value in
            if let b = value as? Buffer { result.append((name, b)) }
        }
        return result
    }

    /// Calls `body` with each stored property's name and value, unwrapping optionals, through the
    /// class hierarchy (superclass properties first, as they are declared first).
    private func forEachStoredProperty(_ body: (String, Any) -> Void) {
        var mirrors: [Mirror] = []
        var m: Mirror? = Mirror(reflecting: self)
        while let current = m {
            mirrors.append(current)
            m = current.superclassMirror
        }
        for mirror in mirrors.reversed() {
            for child in mirror.children {
                guard var name = child.label else { continue }
                if name.hasPrefix("$__lazy_storage_$_") { name.removeFirst("$__lazy_storage_$_".count) }
                if name.hasPrefix("_") { name.removeFirst() }
                let value = Mirror(reflecting: child.value)
                if value.displayStyle == .optional {
                    if let wrapped = value.children.first?.value { body(name, wrapped) }
                } else {
                    body(name, child.value)
                }
            }
        }
    }

    /// Every module in the tree, this one first, with dotted paths ("" for this one).
    public func namedModules() -> [(String, Module)] {
        var result: [(String, Module)] = [("", self)]
        for (name, child) in namedChildren() {
            for (sub, m) in child.namedModules() {
                result.append((sub.isEmpty ? name : "\(name).\(sub)", m))
            }
        }
        return result
    }

    /// Every parameter in the tree with its dotted name, in declaration order ("0.weight", "0.bias", ...).
    /// A parameter shared by two layers appears once, under its first name.
    public func namedParameters() -> [(String, Parameter)] {
        var seen = Set<ObjectIdentifier>()
        var result: [(String, Parameter)] = []
        for (prefix, m) in namedModules() {
            for (name, p) in m.namedOwnParameters() where seen.insert(ObjectIdentifier(p)).inserted {
                result.append((prefix.isEmpty ? name : "\(prefix).\(name)", p))
            }
        }
        return result
    }

    /// Every parameter in the tree, for an optimiser.
    public func parameters() -> [Parameter] { namedParameters().map(\.1) }

    /// Every buffer in the tree with its dotted name.
    public func namedBuffers() -> [(String, Buffer)] {
        var result: [(String, Buffer)] = []
        for (prefix, m) in namedModules() {
            for (name, b) in m.namedOwnBuffers() { result.append((prefix.isEmpty ? name : "\(prefix).\(name)", b)) }
        }
        return result
    }

    /// The number of scalars in all parameters (trainable or frozen).
    public var parameterCount: Int { parameters().reduce(0) { $0 + $1.count } }
    /// The number of scalars in parameters that require gradients.
    public var trainableParameterCount: Int { parameters().filter(\.requiresGrad).reduce(0) { $0 + $1.count } }

    // MARK: Modes and gradients

    /// Sets training mode on this module and every submodule (`train(false)` is `eval()`).
    public func train(_ on: Bool = true) {
        for (_, m) in namedModules() { m.isTraining = on }
    }

    /// Evaluation mode: dropout off, normalisation layers use their running statistics.
    public func eval() { train(false) }

    /// Clears every parameter's gradient.
    public func zeroGrad() {
        for p in parameters() { p.grad = nil }
    }

    /// Stops gradients to every parameter (transfer learning); `unfreeze()` undoes it.
    public func freeze() {
        for p in parameters() { p.requiresGrad = false }
    }

    /// Lets gradients flow to every parameter again.
    public func unfreeze() {
        for p in parameters() { p.requiresGrad = true }
    }
}
