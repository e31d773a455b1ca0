import Foundation
import Synchronization

/// A graph file that cannot be read: malformed, from a newer version, or naming an op this program does not know.
public struct GraphError: Error, CustomStringConvertible, Equatable, Sendable {
    public let reason: String
    public init(reason: String) { self.reason = reason }
    public var description: String { "[graph] \(reason)" }
}

/// The primitives a graph file may name, by name: the core's, and those registered by libraries and users.
///
/// ```swift
/// PrimitiveRegistry.register(Cube.self)   // before loading a graph that uses it
/// ```
public enum PrimitiveRegistry {
    private static let table = Mutex<[String: any Primitive.Type]>(builtins())

    /// Makes graphs that name `type` loadable (a later registration of the same name replaces it).
    public static func register<P: Primitive>(_ type: P.Type) {
        table.withLock { $0[P.name] = type }
    }

    /// The type registered under `name`.
    public static func type(named name: String) -> (any Primitive.Type)? {
        table.withLock { $0[name] }
    }

    private static func builtins() -> [String: any Primitive.Type] {
        var t: [String: any Primitive.Type] = [:]
        func add<P: Primitive>(_ p: P.Type) { t[P.name] = p }
        typealias C = Elementwise.Compare
        for (name, type) in FusionKernels.catalogue.types { t[name] = type }
        add(C<BinaryOps.Equal>.self); add(C<BinaryOps.NotEqual>.self); add(C<BinaryOps.Less>.self)
        add(C<BinaryOps.LessEqual>.self); add(C<BinaryOps.Greater>.self); add(C<BinaryOps.GreaterEqual>.self)
        add(Elementwise.Logical.self); add(Elementwise.LogicalNot.self)
        add(ViewOps.Reshape.self); add(ViewOps.Permute.self); add(ViewOps.Squeeze.self); add(ViewOps.Unsqueeze.self)
        add(ViewOps.Expand.self); add(ViewOps.Copy.self)
        add(Reductions.Sum.self); add(Reductions.Prod.self); add(Reductions.Extremum.self); add(Reductions.Cumsum.self)
        add(Reductions.ArgExtremum.self)
        add(Pooling.MaxIndex.self); add(Pooling.MaxGather.self); add(Pooling.MaxScatter.self)
        add(Pooling.Average.self); add(Pooling.AverageBackward.self)
        add(Convolution.Forward.self); add(Convolution.InputGrad.self); add(Convolution.WeightGrad.self)
        add(Convolution.Fused.self); add(Convolution.FusedIndex.self)
        add(LinearAlgebra.Matmul.self); add(LinearAlgebra.Linear.self)
        add(Convert.self); add(Indexing.View.self); add(Indexing.Put.self); add(Join.self); add(Flip.self); add(ConstantPad.self)
        add(Gathering.Gather.self); add(Gathering.IndexSelect.self); add(Gathering.IndexAdd.self); add(Gathering.Scatter.self); add(Gathering.Where.self)
        add(Gathering.MaskedFill.self); add(Gathering.OneHot.self); add(SortIndices.self); add(CustomOp.self)
        add(FusedElementwise.self)
        add(Recurrence.Forward.self); add(Recurrence.Output.self); add(Recurrence.Backward.self)
        add(Attention.Forward.self); add(Attention.Backward.self)
        return t
    }
}

/// Reading and writing graphs: a safetensors file whose tensors are the constants and whose
/// metadata holds the graph as JSON under `myelin.graph` (so the file format's checks and its
/// checksum protect both).
enum GraphCoding {
    static let metadataKey = "myelin.graph"
    static let version = 1

    static func attributesJSON<P: Primitive>(_ p: P) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(p), as: UTF8.self)
    }

    struct FileNode: Codable {
        var op: String
        var attributes: String
        var inputs: [Int]
        var type: Graph.ValueType
    }

    struct File: Codable {
        var format: String
        var version: Int
        var inputs: [Graph.ValueType]
        var constants: [String]
        /// Indices of the literal constants (`Constant.isLiteral`); files without it name them c0, c1, ...
        var literals: [Int]?
        var nodes: [FileNode]
        var outputs: [Int]
    }
}

extension Graph {
    /// The graph as a file: constants as tensors, the rest as JSON in the metadata.
    ///
    /// ```swift
    /// try graph.save(to: "mlp.graph")
    /// ```
    public func save(to path: String) throws {
        try Safetensors.save(try encodedTensors(), to: path, metadata: [GraphCoding.metadataKey: try encodedJSON()])
    }

    func encodedJSON() throws -> String {
        func node(_ n: Node) throws -> GraphCoding.FileNode {
            func attrs<P: Primitive>(_ p: P) throws -> String { try GraphCoding.attributesJSON(p) }
            return GraphCoding.FileNode(op: type(of: n.primitive).name, attributes: try attrs(n.primitive), inputs: n.inputs, type: n.type)
        }
        let file = GraphCoding.File(format: "myelin.graph", version: GraphCoding.version, inputs: inputs,
                                    constants: constants.map(\.name), literals: constants.indices.filter { constants[$0].isLiteral },
                                    nodes: try nodes.map(node), outputs: outputs)
        return String(decoding: try JSONEncoder().encode(file), as: UTF8.self)
    }

    func encodedTensors() throws -> [String: Tensor] {
        var tensors: [String: Tensor] = [:]
        for c in constants {
            if tensors[c.name] != nil { throw GraphError(reason: "two constants are named '\(c.name)'") }
            tensors[c.name] = c.value
        }
        return tensors
    }

    /// Reads a graph written by `save(to:)`. The file is untrusted: anything malformed (not a graph,
    /// a value used before it is made, an unknown op, attributes that do not decode, types that do
    /// not follow) throws `GraphError` or `SafetensorsError`.
    public static func load(_ path: String) throws -> Graph {
        let (tensors, metadata) = try Safetensors.load(path)
        return try decode(tensors: tensors, metadata: metadata)
    }

    static func decode(tensors: [String: Tensor], metadata: [String: String]) throws -> Graph {
        guard let json = metadata[GraphCoding.metadataKey] else {
            throw GraphError(reason: "the file holds no graph (no '\(GraphCoding.metadataKey)' metadata)")
        }
        let file: GraphCoding.File
        do {
            file = try JSONDecoder().decode(GraphCoding.File.self, from: Data(json.utf8))
        } catch {
            throw GraphError(reason: "the graph's JSON is malformed: \(GraphCoding.shortReason(error))")
        }
        guard file.format == "myelin.graph" else { throw GraphError(reason: "format is '\(file.format)', not myelin.graph") }
        guard file.version == GraphCoding.version else {
            throw GraphError(reason: "graph version \(file.version) is not supported (this program reads version \(GraphCoding.version))")
        }
        for t in file.inputs + file.nodes.map(\.type) {
            if t.shape.contains(where: { $0 < 0 }) { throw GraphError(reason: "a value has a negative dimension: \(t)") }
        }
        if let literals = file.literals, let bad = literals.first(where: { $0 < 0 || $0 >= file.constants.count }) {
            throw GraphError(reason: "literal constant \(bad) is out of range (the graph has \(file.constants.count) constants)")
        }
        // Files from before literals were listed: the trace named them c0, c1, ...
        let literal = file.literals.map(Set.init) ?? Set(file.constants.indices.filter { k in
            let n = file.constants[k]
            return n.first == "c" && n.count > 1 && n.dropFirst().allSatisfy(\.isNumber)
        })
        var constants: [Constant] = []
        for (k, name) in file.constants.enumerated() {
            guard let value = tensors[name] else { throw GraphError(reason: "constant '\(name)' is missing from the file") }
            constants.append(Constant(name: name, value: value, isLiteral: literal.contains(k)))
        }
        var nodes: [Node] = []
        let base = file.inputs.count + constants.count
        for (i, n) in file.nodes.enumerated() {
            guard let type = PrimitiveRegistry.type(named: n.op) else {
                throw GraphError(reason: "node \(i) uses the op '\(n.op)', which this program does not know (register it with PrimitiveRegistry.register)")
            }
            for v in n.inputs where v < 0 || v >= base + i {
                throw GraphError(reason: "node \(i) (\(n.op)) reads value \(v), which is not made before it (values 0..<\(base + i))")
            }
            let primitive: any Primitive
            do {
                func decode<P: Primitive>(_ t: P.Type) throws -> any Primitive { try JSONDecoder().decode(t, from: Data(n.attributes.utf8)) }
                primitive = try decode(type)
            } catch let e as GraphError {
                throw e
            } catch {
                throw GraphError(reason: "node \(i) (\(n.op)) has attributes that do not decode: \(GraphCoding.shortReason(error))")
            }
            nodes.append(Node(primitive: primitive, inputs: n.inputs, type: n.type))
        }
        for o in file.outputs where o < 0 || o >= base + nodes.count {
            throw GraphError(reason: "output \(o) is not a value of the graph (values 0..<\(base + nodes.count))")
        }
        let graph = Graph(inputs: file.inputs, constants: constants, nodes: nodes, outputs: file.outputs)
        try graph.checkTypes()
        try graph.checkBatchAxes()
        return graph
    }

    /// Runs every node's shape rule on the types the file gives its inputs and compares the result with
    /// the node's declared type: a file whose ops do not fit its types is rejected before it is used
    /// (ops trap on misuse, so each is checked against the shapes it will see). Types are compared at
    /// the traced sizes without their batch axes, which `checkBatchAxes` checks.
    func checkTypes() throws {
        var values: [ValueType] = inputs.map(\.withoutBatch) + constants.map { ValueType(shape: $0.value.shape, dtype: $0.value.dtype) }
        for (i, n) in nodes.enumerated() {
            let ins = n.inputs.map { values[$0] }
            if Shape.count(n.type.shape) > 1 << 32 { throw GraphError(reason: "node \(i) (\(n.primitive.name)) makes \(n.type), too large") }
            try ShapeRules.check(n.primitive, ins, n.type.withoutBatch, node: i)
            try checkIndexSources(node: i)
            values.append(n.type.withoutBatch)
        }
    }
}

extension GraphCoding {
    /// A decoding error in one line.
    static func shortReason(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let ctx):
            return "missing '\(key.stringValue)'\(path(ctx.codingPath))"
        case DecodingError.typeMismatch(_, let ctx), DecodingError.valueNotFound(_, let ctx), DecodingError.dataCorrupted(let ctx):
            return ctx.debugDescription + path(ctx.codingPath)
        default:
            return "\(error)".split(separator: "\n").first.map(String.init) ?? "unreadable"
        }
    }

    private static func path(_ p: [CodingKey]) -> String {
        p.isEmpty ? "" : " at " + p.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
    }
}

extension Graph {
    /// Index inputs are read without bounds checks by the pooling kernels (the positions must come
    /// from a max-pooling of a plane of the same size), and with trapping checks by the gathers: a
    /// constant index in a file is checked here.
    func checkIndexSources(node i: Int) throws {
        let n = nodes[i]
        func producer(_ v: Int) -> Node? { v >= inputs.count + constants.count ? nodes[v - inputs.count - constants.count] : nil }
        func constant(_ v: Int) -> Tensor? {
            v >= inputs.count && v < inputs.count + constants.count ? constants[v - inputs.count].value : nil
        }
        func fail(_ why: String) -> GraphError { GraphError(reason: "node \(i) (\(n.primitive.name)): \(why)") }
        switch n.primitive {
        case is Pooling.MaxGather, is Pooling.MaxScatter:
            let plane: [Int]
            if let s = n.primitive as? Pooling.MaxScatter { plane = Array(s.inputShape.suffix(2)) } else { plane = Array(valueType(n.inputs[0]).shape.suffix(2)) }
            guard let p = producer(n.inputs[1]), p.primitive is Pooling.MaxIndex,
                  Array(valueType(p.inputs[0]).shape.suffix(2)) == plane else {
                throw fail("its positions must come from a max-pooling index of a plane of size \(plane)")
            }
        case let g as any Gathering.AlongAxis:
            // Input 1 indexes input 0's axis: a constant index must fall inside it.
            if let idx = constant(n.inputs[1]) {
                let s = valueType(n.inputs[0]).shape
                try checkRange(idx, s.isEmpty ? 1 : s[try ShapeRules.axis(g.axis, rank: s.count)], fail)
            }
        case let r as any RecurrencePart:
            // Token ids index the rows of the input projection table.
            if let t = r.spec.tokensIndex, let idx = constant(n.inputs[r.inputOffset + t]) {
                try checkRange(idx, valueType(n.inputs[r.inputOffset]).shape.first ?? 0, fail)
            }
        case let o as Gathering.OneHot:
            if let idx = constant(n.inputs[0]) {
                if idx.doubles.contains(where: { $0 < 0 || $0 >= Double(o.classes) }) { throw fail("a class is out of range 0..<\(o.classes)") }
            }
        default:
            break
        }
    }

    private func checkRange(_ idx: Tensor, _ size: Int, _ fail: (String) -> GraphError) throws {
        if idx.doubles.contains(where: { $0 < Double(-size) || $0 >= Double(size) }) {
            throw fail("a constant index is out of range for an axis of size \(size)")
        }
    }
}
