// Graphs symbolic in the batch size: which dimensions of each value are the batch size N. They are
// found by evaluating the primitives' shape rules at two other batch sizes, so no primitive needs a
// symbolic rule of its own: a dimension that is N at the traced size and at both others is the batch.

/// Why a graph cannot be symbolic in the batch size: the first node whose output does not follow it.
///
/// ```swift
/// do {
///     _ = try Graph.trace(inputs: [x], batchAxis: 0) { xs in [xs[0].reshape([-1])] }
/// } catch {
///     print(error)   // [symbolic batch] node 0 (reshape) does not follow the batch size: ...
/// }
/// ```
public struct SymbolicBatchError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The node's index in `Graph.nodes`.
    public let node: Int
    /// The node's primitive, by name.
    public let op: String
    public let reason: String
    public var description: String { "[symbolic batch] node \(node) (\(op)) does not follow the batch size: \(reason)" }
}

extension Graph {
    /// True when the graph's inputs have a symbolic batch size (their `batchAxes` are not empty).
    public var hasSymbolicBatch: Bool { inputs.contains { !$0.batchAxes.isEmpty } }

    /// The batch size the graph was traced at, when it is symbolic in the batch.
    public var tracedBatchSize: Int? {
        inputs.first { !$0.batchAxes.isEmpty }.map { $0.shape[$0.batchAxes[0]] }
    }

    /// Records `body` as `trace(inputs:names:_:)` does, with axis `batchAxis` of every input as the
    /// symbolic batch size N (see `withSymbolicBatch(axis:)`): one graph replays at every batch size.
    ///
    /// ```swift
    /// let g = try Graph.trace(inputs: [x], batchAxis: 0) { xs in [xs[0].matmul(w).relu()] }
    /// print(g)          // %0 = input float32[N, 784] ... float32[N, 10]
    /// let y = g([x7])   // a batch of 7
    /// ```
    public static func trace(inputs: [Tensor], names: [(String, Tensor)] = [], batchAxis: Int,
                             _ body: ([Tensor]) -> [Tensor]) throws(SymbolicBatchError) -> Graph {
        try trace(inputs: inputs, names: names, body).withSymbolicBatch(axis: batchAxis)
    }

    /// This graph with axis `axis` of every input as the batch size N, and every node's type saying
    /// which of its dimensions follow N. Throws when a node does not follow the batch: its shape
    /// rule fails at another batch size (a reshape whose target holds the traced batch size), a
    /// dimension changes but is not N (a reshape folding the batch into another dimension), the
    /// rank changes, the primitive has no shape rule, or the batch dimension disappears (a sum, mean
    /// or product over the batch: a mean divides by the traced batch size, which a graph cannot tell
    /// from a sum, so every reduction over the batch is refused). Inputs must share their size at
    /// `axis` (it traps otherwise).
    ///
    /// Values that Swift code computed from the batch size (`x * Double(x.shape[0])`) are frozen in
    /// a graph as numbers: trace such a function without a symbolic batch.
    ///
    /// ```swift
    /// let g = try Graph.trace(inputs: [x]) { xs in [xs[0].relu()] }.withSymbolicBatch(axis: 0)
    /// ```
    public func withSymbolicBatch(axis: Int = 0) throws(SymbolicBatchError) -> Graph {
        var g = self
        var first: (input: Int, size: Int)?
        for (i, t) in inputs.enumerated() {
            let r = t.shape.count
            if axis < -r || axis >= r { fatalError("[symbolic batch] input \(i) is \(t): it has no axis \(axis)") }
            let a = axis < 0 ? axis + r : axis
            if let f = first, f.size != t.shape[a] {
                fatalError("[symbolic batch] input \(i) has size \(t.shape[a]) at axis \(a), input \(f.input) \(f.size): the inputs must share one batch size")
            }
            if first == nil { first = (i, t.shape[a]) }
            g.inputs[i] = ValueType(shape: t.shape, dtype: t.dtype, batchAxes: [a])
        }
        let types = try g.derivedNodeTypes().get()
        for i in g.nodes.indices { g.nodes[i].type = types[i] }
        return g
    }

    /// Each node's type with the batch axes that follow from the inputs' ones. A node none of whose
    /// inputs has a batch axis keeps its traced shape; any other has its shape rule evaluated at
    /// two other batch sizes (two, so that a size that merely equals the batch once is not taken
    /// for it).
    func derivedNodeTypes() -> Result<[ValueType], SymbolicBatchError> {
        guard let traced = tracedBatchSize else { return .success(nodes.map(\.type.withoutBatch)) }
        let trials = [traced + 1, traced + 7]
        var types = inputs + constants.map { ValueType(shape: $0.value.shape, dtype: $0.value.dtype) }
        // The shapes of every value at each trial batch size.
        var shapes = trials.map { n in
            types.map { t in t.shape.indices.map { t.batchAxes.contains($0) ? n : t.shape[$0] } }
        }
        for (i, node) in nodes.enumerated() {
            func fail(_ why: String) -> Result<[ValueType], SymbolicBatchError> {
                .failure(SymbolicBatchError(node: i, op: node.primitive.name, reason: why))
            }
            let out = node.type.withoutBatch
            guard node.inputs.contains(where: { !types[$0].batchAxes.isEmpty }) else {
                types.append(out)
                for k in trials.indices { shapes[k].append(out.shape) }
                continue
            }
            var sizes: [[Int]] = []
            for (k, n) in trials.enumerated() {
                let ins = node.inputs.map { ValueType(shape: shapes[k][$0], dtype: types[$0].dtype) }
                do {
                    guard let t = try node.primitive.outputType(ins) else {
                        return fail("it has no shape rule, so how its output follows the batch size is unknown")
                    }
                    if t.shape.count != out.shape.count {
                        return fail("its output is \(out) at batch size \(traced) but has rank \(t.shape.count) at batch size \(n)")
                    }
                    sizes.append(t.shape)
                } catch {
                    return fail("its shape rule fails at batch size \(n) (the traced size \(traced) is in its attributes?): \((error as? ShapeRuleError)?.message ?? "\(error)")")
                }
            }
            var axes: [Int] = []
            for d in out.shape.indices {
                let seen = [out.shape[d]] + sizes.map { $0[d] }
                if seen == [traced] + trials {
                    axes.append(d)
                } else if seen.contains(where: { $0 != out.shape[d] }) {
                    return fail("its output dimension \(d) is \(seen.map(String.init).joined(separator: ", ")) at batch sizes "
                                + "\(([traced] + trials).map(String.init).joined(separator: ", ")), not N (a reshape folding the batch into another dimension?)")
                }
            }
            if axes.isEmpty {
                let fed = node.inputs.map { "\(types[$0])" }.joined(separator: ", ")
                return fail("the batch dimension of its inputs (\(fed)) is gone from its output \(out): a reduction over "
                            + "the batch or a selection from it (a mean divides by the traced batch size, which a graph cannot tell from a sum)")
            }
            types.append(ValueType(shape: out.shape, dtype: out.dtype, batchAxes: axes))
            for k in trials.indices { shapes[k].append(sizes[k]) }
        }
        return .success(Array(types[(inputs.count + constants.count)...]))
    }

    /// For a loaded file: each input has at most one batch axis, within its rank, all of one traced
    /// size, and every node's batch axes are the ones that follow from them.
    func checkBatchAxes() throws(GraphError) {
        var first: (input: Int, size: Int)?
        for (i, t) in inputs.enumerated() where !t.batchAxes.isEmpty {
            guard t.batchAxes.count == 1, t.shape.indices.contains(t.batchAxes[0]) else {
                throw GraphError(reason: "input \(i) of shape \(t.shape) has batch axes \(t.batchAxes): an input has one, within its rank")
            }
            let size = t.shape[t.batchAxes[0]]
            if let f = first, f.size != size {
                throw GraphError(reason: "input \(i) has batch size \(size), input \(f.input) \(f.size): the inputs must share one batch size")
            }
            if first == nil { first = (i, size) }
        }
        let derived: [ValueType]
        switch derivedNodeTypes() {
        case .success(let types): derived = types
        case .failure(let e): throw GraphError(reason: "the inputs are symbolic in the batch, but node \(e.node) (\(e.op)) does not follow it: \(e.reason)")
        }
        for (i, (n, d)) in zip(nodes, derived).enumerated() where n.type.batchAxes != d.batchAxes {
            throw GraphError(reason: "node \(i) (\(n.primitive.name)) has batch axes \(n.type.batchAxes), but its inputs give it \(d.batchAxes)")
        }
    }

    /// Traps unless `xs` share one batch size and have the traced sizes elsewhere (a replay's check).
    func checkBatch(of xs: [Tensor]) {
        var first: (input: Int, size: Int)?
        for (i, (x, t)) in zip(xs, inputs).enumerated() {
            for d in t.shape.indices {
                if t.batchAxes.contains(d) {
                    if let f = first, f.size != x.shape[d] {
                        fatalError("[Graph] input \(i) has batch size \(x.shape[d]) (axis \(d)), input \(f.input) \(f.size): all inputs share the batch size N")
                    }
                    if first == nil { first = (i, x.shape[d]) }
                } else if x.shape[d] != t.shape[d] {
                    fatalError("[Graph] input \(i) must be \(t), got \(x.dtype)\(x.shape): axis \(d) is \(x.shape[d]), not \(t.shape[d])")
                }
            }
        }
    }
}

extension Graph.ValueType {
    /// This type with no batch axes: what shape rules see and give.
    var withoutBatch: Graph.ValueType { Graph.ValueType(shape: shape, dtype: dtype) }
}
