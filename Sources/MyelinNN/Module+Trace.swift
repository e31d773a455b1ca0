import MyelinCore

extension Module {
    /// The forward pass on inputs shaped like `example`, recorded as a graph whose constants are
    /// this module's parameters and buffers under their state-dict names.
    ///
    /// With `symbolicBatch` (the default) axis 0 is the batch size N when the forward follows it
    /// (`Graph.withSymbolicBatch`), so the graph replays at every batch size; a forward that does not
    /// (one that reduces over the batch, say) gives a graph of the traced shapes.
    ///
    /// Replaying the graph gives bit for bit the eager result; pass `constants: model.stateDict()`
    /// to replay it with the model's current weights. Trace in eval mode when the model has dropout
    /// or batch norm: a training-mode forward draws random masks and updates running statistics,
    /// which a graph would freeze.
    ///
    /// ```swift
    /// model.eval()
    /// let graph = model.traced(example: Tensor.zeros([1, 784]))
    /// try graph.save(to: "mlp.graph")
    /// ```
    public func traced(example: Tensor, symbolicBatch: Bool = true) -> Graph {
        let graph = ModuleState(self).trace(op: "trace", inputs: [example]) { [self($0[0])] }
        guard symbolicBatch, example.rank > 0 else { return graph }
        return (try? graph.withSymbolicBatch(axis: 0)) ?? graph
    }

    /// This module's forward pass compiled: traced once per input shape and mode (once for every
    /// batch size when the forward follows the batch, see `traced(example:)`), fused, and replayed
    /// with the current weights at each call (so training the module keeps the compiled one current).
    ///
    /// ```swift
    /// let fast = model.compiled()
    /// let y = fast(x)          // the same values as model(x)
    /// ```
    public func compiled(fused: Bool = true) -> CompiledModule { CompiledModule(self, fused: fused) }
}

/// A module's forward pass as cached graphs (see `Module.compiled()`).
public final class CompiledModule {
    public let module: Module
    let fused: Bool
    private let state: ModuleState
    private(set) var graphs: [Key: Graph] = [:]

    struct Key: Hashable {
        let shape: [Int], dtype: DType, training: Bool
    }

    init(_ module: Module, fused: Bool) {
        self.module = module
        self.fused = fused
        state = ModuleState(module)
    }

    /// The graph used for inputs like `x` (traced on first use).
    public func graph(for x: Tensor) -> Graph {
        let key = Key(shape: x.shape, dtype: x.dtype, training: module.isTraining)
        // A graph symbolic in the batch is stored with -1 as its batch size (never a real size).
        let anyBatch = Key(shape: [-1] + x.shape.dropFirst(), dtype: x.dtype, training: module.isTraining)
        if let g = graphs[anyBatch] ?? graphs[key] { return g }
        var g = module.traced(example: x)
        let symbolic = g.hasSymbolicBatch
        if fused { g = g.fused() }
        graphs[symbolic ? anyBatch : key] = g
        return g
    }

    /// The module's output for `x`, by replaying the graph with the module's current weights.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        // The parameters keep their autograd identity: a replay trains the module.
        graph(for: x)([x], constants: state.current(detachingParameters: false))[0]
    }
}

extension Module {
    /// A training step compiled: the forward pass, the loss and the backward pass traced once per
    /// input shape as one graph (fused), replayed at each call without building an autograd graph.
    /// The call returns the loss and adds the gradients to the parameters' `.grad`, as
    /// `loss.backward()` does; the optimiser's step stays the caller's.
    ///
    /// ```swift
    /// let step = model.compiledStep { out, y in crossEntropy(out, labels: y) }
    /// optimizer.zeroGrad()
    /// let loss = step(x, labels)
    /// optimizer.step()
    /// ```
    public func compiledStep(fused: Bool = true, loss: @escaping (Tensor, Tensor) -> Tensor) -> CompiledStep {
        CompiledStep(self, fused: fused, loss: loss)
    }
}

/// Forward, loss and backward of a module as cached graphs (see `Module.compiledStep`).
public final class CompiledStep {
    public let module: Module
    let fused: Bool
    let loss: (Tensor, Tensor) -> Tensor
    private var graphs: [Key: (graph: Graph, sources: [Int?])] = [:]

    struct Key: Hashable {
        let input: [Int], target: [Int], inputType: DType, targetType: DType, training: Bool
    }

    private let state: ModuleState

    init(_ module: Module, fused: Bool, loss: @escaping (Tensor, Tensor) -> Tensor) {
        self.module = module
        self.fused = fused
        self.loss = loss
        state = ModuleState(module)
    }

    /// The graph for inputs and targets like these: outputs are the loss, then one gradient per parameter.
    public func graph(input x: Tensor, target y: Tensor) -> Graph { entry(input: x, target: y).graph }

    /// The graph and, for each of its constants, its index in `state.values` (nil: a literal).
    private func entry(input x: Tensor, target y: Tensor) -> (graph: Graph, sources: [Int?]) {
        let key = Key(input: x.shape, target: y.shape, inputType: x.dtype, targetType: y.dtype, training: module.isTraining)
        if let e = graphs[key] { return e }
        let trained = state.trained
        var g = state.trace(op: "compiledStep", inputs: [x, y]) { xs in
            let l = loss(module(xs[0]), xs[1])
            return [l] + gradients(of: l, with: trained.map(\.value))
        }
        if fused { g = g.fused() }
        // A name given twice resolves to its last value, as in `current`.
        let position = Dictionary(state.names.enumerated().map { ($1, $0) }, uniquingKeysWith: { _, later in later })
        let e = (graph: g, sources: g.constants.map { position[$0.name] })
        graphs[key] = e
        return e
    }

    /// The loss for `x` and `target`; the parameters' gradients are added to their `.grad`.
    @discardableResult
    public func callAsFunction(_ x: Tensor, _ target: Tensor) -> Tensor {
        let (g, sources) = entry(input: x, target: target)
        let current = state.values(detachingParameters: true)
        let results = g([x.detached(), target.detached()], constantValues: sources.map { $0.map { current[$0] } })
        for (p, grad) in zip(state.trained, results.dropFirst()) {
            p.grad = p.grad.map { $0 + grad } ?? grad
        }
        return results[0]
    }
}

/// A module's parameters and buffers under their state-dict names, found by reflection once (it is
/// slow next to a small model's step): the constants of its graphs and their current values.
struct ModuleState {
    let parameters: [(String, Parameter)]
    let buffers: [(String, Buffer)]

    init(_ module: Module) {
        parameters = module.namedParameters().map { (Module.stateName($0.0), $0.1) }
        buffers = module.namedBuffers().map { (Module.stateName($0.0), $0.1) }
    }

    /// The parameters that require gradients, in order.
    var trained: [Parameter] { parameters.map(\.1).filter(\.requiresGrad) }

    /// The state-dict names of the parameters, then of the buffers.
    var names: [String] { parameters.map(\.0) + buffers.map(\.0) }

    /// The current values in the order of `names`.
    func values(detachingParameters: Bool) -> [Tensor] {
        parameters.map { detachingParameters ? $0.1.value.detached() : $0.1.value } + buffers.map(\.1.value)
    }

    /// The current values by name, to replace a graph's constants.
    func current(detachingParameters: Bool) -> [String: Tensor] {
        Dictionary(zip(names, values(detachingParameters: detachingParameters)), uniquingKeysWith: { _, later in later })
    }

    /// `body` traced with the parameters and buffers as named constants; traps when it changed a
    /// buffer (batch norm's running statistics in training mode), which a replay would not repeat.
    func trace(op: String, inputs: [Tensor], _ body: ([Tensor]) -> [Tensor]) -> Graph {
        let names = parameters.map { ($0.0, $0.1.value) } + buffers.map { ($0.0, $0.1.value) }
        let before = buffers.map(\.1.value)
        let graph = Graph.trace(inputs: inputs, names: names, body)
        for ((_, b), old) in zip(buffers, before) where !b.value.sharesStorage(with: old) {
            fatalError("[\(op)] the forward pass changed a buffer (batch norm's running statistics in training mode?), which a graph would not repeat; trace the model in eval mode")
        }
        return graph
    }
}
