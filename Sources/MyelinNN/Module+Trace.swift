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
