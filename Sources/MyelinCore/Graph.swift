/// A captured computation: primitives applied in order to inputs, constants and earlier results.
///
/// `trace` records one; calling it replays the primitives without the Swift code that made it, and
/// gives bit for bit the eager result. It prints, saves and loads (`save(to:)`, `Graph.load`), and
/// an optimisation pass (`fused()`) merges chains of elementwise ops into single loops.
///
/// Values are numbered: the inputs first, then the constants, then one value per node. A graph
/// traced with `trace(inputs:batchAxis:_:)` is symbolic in the batch size: its types say which
/// dimensions are N, and it replays at every batch size.
///
/// ```swift
/// let graph = Graph.trace(inputs: [x]) { xs in [(xs[0] * 2 + 1).relu()] }
/// print(graph)                       // one line per node
/// let y = graph([x2])[0]             // replay on new data
/// try graph.save(to: "f.graph")
/// ```
public struct Graph: Sendable {

    /// A value's shape and dtype, and which of its dimensions are the batch size N.
    ///
    /// `shape` holds the sizes as traced; in a graph symbolic in the batch (`trace(inputs:batchAxis:_:)`)
    /// the dimensions listed in `batchAxes` follow the batch size of each replay. Prints as
    /// `float32[N, 784]`.
    ///
    /// ```swift
    /// let t = Graph.ValueType(shape: [32, 784], dtype: .float32, batchAxes: [0])   // float32[N, 784]
    /// ```
    public struct ValueType: Codable, Equatable, Sendable, CustomStringConvertible {
        public var shape: [Int]
        public var dtype: DType
        /// The dimensions that are the batch size N, ascending; empty for a value of fixed shape.
        public var batchAxes: [Int]
        public init(shape: [Int], dtype: DType, batchAxes: [Int] = []) {
            self.shape = shape; self.dtype = dtype; self.batchAxes = batchAxes
        }
        public var description: String {
            guard !batchAxes.isEmpty else { return "\(dtype)\(shape)" }
            let dims = shape.indices.map { batchAxes.contains($0) ? "N" : "\(shape[$0])" }
            return "\(dtype)[\(dims.joined(separator: ", "))]"
        }

        // `batch` is written only when present, so graphs of fixed shapes keep the files they had
        // and files written before symbolic batches load as fixed shapes.
        enum CodingKeys: String, CodingKey { case shape, dtype, batchAxes = "batch" }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            shape = try c.decode([Int].self, forKey: .shape)
            dtype = try c.decode(DType.self, forKey: .dtype)
            batchAxes = try c.decodeIfPresent([Int].self, forKey: .batchAxes) ?? []
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(shape, forKey: .shape)
            try c.encode(dtype, forKey: .dtype)
            if !batchAxes.isEmpty { try c.encode(batchAxes, forKey: .batchAxes) }
        }
    }

    /// One primitive applied to earlier values.
    public struct Node: Sendable {
        public var primitive: any Primitive
        /// Value numbers of the inputs (each below this node's own value number).
        public var inputs: [Int]
        /// The output's shape and dtype when traced.
        public var type: ValueType
    }

    /// A tensor the traced function read that is not an input (a weight, a constant of a loss).
    public struct Constant: Sendable {
        public var name: String
        public var value: Tensor
        /// Made by the trace from the function's own values (named `c0`, `c1`, ...), not a weight
        /// the caller named: `simplified()` may compute nodes that read only such constants.
        public var isLiteral: Bool = false
    }

    public internal(set) var inputs: [ValueType]
    public internal(set) var constants: [Constant]
    public internal(set) var nodes: [Node]
    /// Value numbers of the results.
    public internal(set) var outputs: [Int]

    /// The value number of node `i`'s output.
    public func valueNumber(ofNode i: Int) -> Int { inputs.count + constants.count + i }

    /// The type of value `v`.
    public func valueType(_ v: Int) -> ValueType {
        if v < inputs.count { return inputs[v] }
        if v < inputs.count + constants.count {
            let c = constants[v - inputs.count].value
            return ValueType(shape: c.shape, dtype: c.dtype)
        }
        return nodes[v - inputs.count - constants.count].type
    }

    /// Replays the graph on `inputs` of the traced dtypes and ranks. In a graph symbolic in the batch,
    /// every input has the traced fixed sizes and one batch size N shared by all (checked, it traps
    /// otherwise); in a graph of fixed shapes, sizes may differ where the ops allow it. `constants` replaces
    /// constants by name (a model's current weights, say). Ops record gradients as usual, so a
    /// replayed forward can be differentiated.
    ///
    /// ```swift
    /// let logits = graph([batch])[0]
    /// ```
    public func callAsFunction(_ inputs: [Tensor], constants replacing: [String: Tensor] = [:]) -> [Tensor] {
        callAsFunction(inputs, constantValues: replacing.isEmpty ? [] : constants.map { replacing[$0.name] })
    }

    /// The replay with constants replaced by position (`constantValues[k]` for constant k; nil or
    /// missing: its own value), for callers that replay one graph often (no name lookups).
    package func callAsFunction(_ inputs: [Tensor], constantValues replacing: [Tensor?]) -> [Tensor] {
        if inputs.count != self.inputs.count {
            fatalError("[Graph] the graph takes \(self.inputs.count) inputs, got \(inputs.count)")
        }
        // Sizes may differ from the traced ones (another batch size, say) where every op allows it.
        for (i, (x, t)) in zip(inputs, self.inputs).enumerated() where x.rank != t.shape.count || x.dtype != t.dtype {
            fatalError("[Graph] input \(i) must be \(t.dtype) of rank \(t.shape.count) (traced as \(t)), got \(x.dtype)\(x.shape)")
        }
        if hasSymbolicBatch { checkBatch(of: inputs) }
        var values: [Tensor] = inputs
        values.reserveCapacity(inputs.count + constants.count + nodes.count)
        let recording = Recording.tracing
            || (GradMode.enabled && (inputs.contains(where: \.requiresGrad) || replacing.contains { $0?.requiresGrad == true }))
        for (k, c) in constants.enumerated() {
            if k < replacing.count, let v = replacing[k] {
                if v.shape != c.value.shape || v.dtype != c.value.dtype {
                    fatalError("[Graph] constant \(c.name) is \(c.value.dtype)\(c.value.shape), the replacement \(v.dtype)\(v.shape)")
                }
                values.append(v)
            } else {
                values.append(c.value)
            }
        }
        if recording {
            for node in nodes {
                values.append(Tensor.applyOpened(node.primitive, node.inputs.map { values[$0] }))
            }
            return outputs.map { values[$0] }
        }
        return Recording.suspended { replayWithoutRecording(values) }
    }

    /// The replay when nothing is recorded: each primitive's forward straight away, and each value
    /// released after its last reader so its memory is reused by the next ops.
    private func replayWithoutRecording(_ start: [Tensor]) -> [Tensor] {
        var values: [Tensor?] = start.map { $0.detached() }
        values.reserveCapacity(start.count + nodes.count)
        var lastUse = [Int](repeating: Int.max, count: start.count + nodes.count)
        for (i, n) in nodes.enumerated() { for v in n.inputs { lastUse[v] = i } }
        for o in outputs { lastUse[o] = Int.max }
        for (i, node) in nodes.enumerated() {
            // Through the backend of the inputs' device (the primitive's own CPU code for CPU tensors).
            values.append(Backends.forward(node.primitive, node.inputs.map { values[$0]! }))
            for v in node.inputs where lastUse[v] == i { values[v] = nil }
        }
        return outputs.map { values[$0]! }
    }

    /// This graph without the nodes no output depends on (checks a function made on its values, the
    /// other branch of a computation) and without the constants only they read.
    func withoutDeadNodes() -> Graph {
        let base = inputs.count + constants.count
        var live = [Bool](repeating: false, count: base + nodes.count)
        for o in outputs { live[o] = true }
        for i in stride(from: nodes.count - 1, through: 0, by: -1) where live[base + i] {
            for v in nodes[i].inputs { live[v] = true }
        }
        var renumber = [Int](repeating: -1, count: base + nodes.count)
        for i in 0..<inputs.count { renumber[i] = i }
        var keptConstants: [Constant] = []
        for (k, c) in constants.enumerated() where live[inputs.count + k] {
            renumber[inputs.count + k] = inputs.count + keptConstants.count
            keptConstants.append(c)
        }
        var keptNodes: [Node] = []
        for (i, n) in nodes.enumerated() where live[base + i] {
            renumber[base + i] = inputs.count + keptConstants.count + keptNodes.count
            keptNodes.append(Node(primitive: n.primitive, inputs: n.inputs.map { renumber[$0] }, type: n.type))
        }
        return Graph(inputs: inputs, constants: keptConstants, nodes: keptNodes, outputs: outputs.map { renumber[$0] })
    }

    /// How often each value is read by later nodes or as an output.
    func useCounts() -> [Int] {
        var uses = [Int](repeating: 0, count: inputs.count + constants.count + nodes.count)
        for n in nodes { for i in n.inputs { uses[i] += 1 } }
        for o in outputs { uses[o] += 1 }
        return uses
    }
}

extension Tensor {
    /// `apply` for a primitive known only as an existential (a graph node).
    static func applyOpened(_ primitive: any Primitive, _ inputs: [Tensor]) -> Tensor {
        func open<P: Primitive>(_ p: P) -> Tensor { Tensor.apply(p, inputs) }
        return open(primitive)
    }
}

extension Graph: CustomStringConvertible {
    /// One line per value: `%3 = matmul(%0, %1) float32[2, 4]`.
    public var description: String {
        var lines: [String] = []
        for (i, t) in inputs.enumerated() { lines.append("%\(i) = input \(t)") }
        for (i, c) in constants.enumerated() {
            lines.append("%\(inputs.count + i) = constant \(c.name) \(c.value.dtype)\(c.value.shape)")
        }
        for (i, n) in nodes.enumerated() {
            let attrs = n.primitive.attributeDescription
            lines.append("%\(valueNumber(ofNode: i)) = \(n.primitive.name)(\(n.inputs.map { "%\($0)" }.joined(separator: ", ")))"
                         + (attrs.isEmpty ? "" : " \(attrs)") + " \(n.type)")
        }
        lines.append("return " + outputs.map { "%\($0)" }.joined(separator: ", "))
        return lines.joined(separator: "\n")
    }
}

// MARK: Tracing

extension Graph {
    /// Records the primitives `body` applies to `inputs` (and to the tensors it reads: those become
    /// constants) as a graph. Ops run eagerly while tracing, so `body` sees real values.
    ///
    /// `names` names constants by the storage they read (a model's parameters), so a replay can
    /// replace them; others are named `c0`, `c1`, ...
    ///
    /// ```swift
    /// let g = Graph.trace(inputs: [x]) { xs in [xs[0].tanh().sum()] }
    /// ```
    public static func trace(inputs: [Tensor], names: [(String, Tensor)] = [], _ body: ([Tensor]) -> [Tensor]) -> Graph {
        let tracer = Tracer(names: names)
        let tagged = inputs.map { tracer.addInput($0) }
        // Counted per thread: another thread drawing from Random.global meanwhile is not this trace's doing.
        let draws = Recording.globalDrawsOnThisThread
        let outs = Recording.with(tracer: tracer) { body(tagged) }
        if Recording.globalDrawsOnThisThread != draws {
            // A replay would reuse the numbers drawn now (a dropout mask, say), silently.
            fatalError("[trace] the traced function drew random numbers (dropout in training mode?); they would be frozen into the graph: trace it in eval mode or without randomness")
        }
        return tracer.finish(outs)
    }
}

/// Builds a graph while a trace runs: maps traced values to value numbers.
final class Tracer {
    private var inputs: [Graph.ValueType] = []
    private var constants: [Graph.Constant] = []
    private var nodes: [Graph.Node] = []
    /// Traced value id (`Tensor.traceID`) to its number in the graph under construction.
    private var numbers: [Int: Int] = [:]
    /// Constants already captured, by where their elements are (a weight read twice is one constant).
    private var constantNumbers: [ViewKey: Int] = [:]
    private var names: [ViewKey: String] = [:]
    /// The caller's names and the names given so far.
    private lazy var takenNames = Set(names.values)

    struct ViewKey: Hashable {
        let storage: ObjectIdentifier, offset: Int, shape: [Int], strides: [Int]
        init(_ t: Tensor) { storage = ObjectIdentifier(t.storage); offset = t.offset; shape = t.shape; strides = t.strides }
    }

    init(names: [(String, Tensor)]) {
        for (n, t) in names { self.names[ViewKey(t)] = n }
    }

    func addInput(_ x: Tensor) -> Tensor {
        var t = x
        t.traceID = Recording.newValueID()
        numbers[t.traceID] = inputs.count
        inputs.append(Graph.ValueType(shape: x.shape, dtype: x.dtype))
        return t
    }

    /// Value numbers are assigned in the final order at `finish` (inputs, constants, nodes); until then
    /// constants and nodes are numbered in their own ranges, told apart by sign.
    private func number(of t: Tensor) -> Int {
        if t.traceID != 0, let n = numbers[t.traceID] { return n }
        let key = ViewKey(t)
        if let c = constantNumbers[key] { return c }
        let c = -(constants.count + 1)
        var name = names[key] ?? "c\(constants.count)"
        if names[key] == nil {
            // A literal's name never takes one the caller gave (a weight called "c1", say).
            var k = constants.count
            while takenNames.contains(name) { k += 1; name = "c\(k)" }
        }
        takenNames.insert(name)
        constants.append(Graph.Constant(name: name, value: t.detached(), isLiteral: names[key] == nil))
        constantNumbers[key] = c
        return c
    }

    func append<P: Primitive>(_ primitive: P, _ inputs: [Tensor], _ output: Tensor) -> Tensor {
        let ins = inputs.map { number(of: $0) }
        var out = output
        out.traceID = Recording.newValueID()
        numbers[out.traceID] = 1_000_000_000 + nodes.count
        nodes.append(Graph.Node(primitive: primitive, inputs: ins, type: Graph.ValueType(shape: output.shape, dtype: output.dtype)))
        return out
    }

    func finish(_ outputs: [Tensor]) -> Graph {
        let outs = outputs.map { number(of: $0) }
        let nIn = inputs.count, nConst = constants.count
        func final(_ n: Int) -> Int {
            if n < 0 { return nIn + (-n - 1) }
            if n >= 1_000_000_000 { return nIn + nConst + (n - 1_000_000_000) }
            return n
        }
        let renumbered = nodes.map { Graph.Node(primitive: $0.primitive, inputs: $0.inputs.map(final), type: $0.type) }
        return Graph(inputs: inputs, constants: constants, nodes: renumbered, outputs: outs.map(final)).withoutDeadNodes()
    }
}
