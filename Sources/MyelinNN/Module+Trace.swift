import MyelinCore

extension Module {
    /// The forward pass on inputs shaped like `example`, recorded as a graph whose constants are
    /// this module's parameters and buffers under their state-dict names.
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
    public func traced(example: Tensor) -> Graph {
        var names: [(String, Tensor)] = namedParameters().map { (Module.stateName($0.0), $0.1.value) }
        names += namedBuffers().map { (Module.stateName($0.0), $0.1.value) }
        let storages = namedBuffers().map { $0.1.value }
        let graph = Graph.trace(inputs: [example], names: names) { [self($0[0])] }
        for ((_, b), old) in zip(namedBuffers(), storages) where !b.value.sharesStorage(with: old) {
            fatalError("[trace] the forward pass changed a buffer (batch norm's running statistics in training mode?); trace the model in eval mode")
        }
        return graph
    }

    /// This module's forward pass compiled: traced once per input shape and mode, fused, and replayed
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
    private var graphs: [Key: Graph] = [:]

    struct Key: Hashable {
        let shape: [Int], dtype: DType, training: Bool
    }

    init(_ module: Module, fused: Bool) {
        self.module = module
        self.fused = fused
    }

    /// The graph used for inputs like `x` (traced on first use).
    public func graph(for x: Tensor) -> Graph {
        let key = Key(shape: x.shape, dtype: x.dtype, training: module.isTraining)
        if let g = graphs[key] { return g }
        var g = module.traced(example: x)
        if fused { g = g.fused() }
        graphs[key] = g
        return g
    }

    /// The module's output for `x`, by replaying the graph with the module's current weights.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let g = graph(for: x)
        var current: [String: Tensor] = [:]
        for (name, p) in module.namedParameters() { current[Module.stateName(name)] = p.value }
        for (name, b) in module.namedBuffers() { current[Module.stateName(name)] = b.value }
        return g([x], constants: current)[0]
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
    private var graphs: [Key: Graph] = [:]

    struct Key: Hashable {
        let input: [Int], target: [Int], inputType: DType, targetType: DType, training: Bool
    }

    /// The module's parameters and buffers by state-dict name (found by reflection once: it is slow
    /// next to a small model's step).
    private let parameters: [(String, Parameter)]
    private let buffers: [(String, Buffer)]

    init(_ module: Module, fused: Bool, loss: @escaping (Tensor, Tensor) -> Tensor) {
        self.module = module
        self.fused = fused
        self.loss = loss
        parameters = module.namedParameters().map { (Module.stateName($0.0), $0.1) }
        buffers = module.namedBuffers().map { (Module.stateName($0.0), $0.1) }
    }

    /// The graph for inputs and targets like these: outputs are the loss, then one gradient per parameter.
    public func graph(input x: Tensor, target y: Tensor) -> Graph {
        let key = Key(input: x.shape, target: y.shape, inputType: x.dtype, targetType: y.dtype, training: module.isTraining)
        if let g = graphs[key] { return g }
        let params = module.namedParameters().filter { $0.1.requiresGrad }
        var names: [(String, Tensor)] = module.namedParameters().map { (Module.stateName($0.0), $0.1.value) }
        names += module.namedBuffers().map { (Module.stateName($0.0), $0.1.value) }
        let buffers = module.namedBuffers().map { $0.1.value }
        var g = Graph.trace(inputs: [x, y], names: names) { xs in
            let l = loss(module(xs[0]), xs[1])
            return [l] + gradients(of: l, with: params.map { $0.1.value })
        }
        for ((_, b), old) in zip(module.namedBuffers(), buffers) where !b.value.sharesStorage(with: old) {
            fatalError("[compiledStep] the forward pass changed a buffer (batch norm's running statistics in training mode?), which a graph would not repeat")
        }
        if fused { g = g.fused() }
        graphs[key] = g
        return g
    }

    /// The loss for `x` and `target`; the parameters' gradients are added to their `.grad`.
    @discardableResult
    public func callAsFunction(_ x: Tensor, _ target: Tensor) -> Tensor {
        let g = graph(input: x, target: target)
        var current: [String: Tensor] = [:]
        for (name, p) in parameters { current[name] = p.value.detached() }
        for (name, b) in buffers { current[name] = b.value }
        let results = g([x.detached(), target.detached()], constants: current)
        for ((_, p), grad) in zip(parameters.filter { $0.1.requiresGrad }, results.dropFirst()) {
            p.grad = p.grad.map { $0 + grad } ?? grad
        }
        return results[0]
    }
}
