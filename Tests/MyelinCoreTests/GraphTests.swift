import Foundation
import Testing
@testable import MyelinCore

/// Bitwise equality of shape, dtype and values.
private func same(_ a: Tensor, _ b: Tensor) -> Bool {
    a.shape == b.shape && a.dtype == b.dtype && a.doubles.map(\.bitPattern) == b.doubles.map(\.bitPattern)
}

private func temporaryPath(_ name: String) -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("myelin-graph-\(getpid())-\(name)").path
}

@Suite struct GraphTests {
    /// A function touching most kinds of primitive: products, views, reductions, indexing, joins,
    /// comparisons, convolution and pooling.
    static func mixed(_ xs: [Tensor], _ w: Tensor, _ k: Tensor) -> [Tensor] {
        let x = xs[0]
        let h = x.matmul(w).relu()                                      // [4, 6]
        let s = h.reshape([4, 2, 3]).permute([0, 2, 1]).sum(axes: [2])  // [4, 3]
        let picked = s.gather(axis: 1, index: Tensor([[0, 2], [1, 1], [2, 0], [0, 0]]))
        let joined = Tensor.cat([picked, s[.all, 0..<1]], axis: 1)     // [4, 3]
        let masked = Tensor.where(joined .> 0.5, joined, joined * -1).logsumexp(axis: 1)
        let img = x.reshape([1, 1, 4, 5])
        let conv = img.conv2d(k, padding: 1).maxPool2d(kernelSize: 2).tanh()
        let top = joined.topk(2, axis: 1).values
        return [masked, conv, top.cumsum(axis: 1), joined.argmax(axis: 1)]
    }

    @Test func replayIsBitForBitTheEagerResult() {
        let w = Tensor.randn([5, 6], generator: RandomGenerator(seed: 1))
        let k = Tensor.randn([2, 1, 3, 3], generator: RandomGenerator(seed: 2))
        let x = Tensor.randn([4, 5], generator: RandomGenerator(seed: 3))
        let graph = Graph.trace(inputs: [x]) { Self.mixed($0, w, k) }
        let eager = Self.mixed([x], w, k)
        let replayed = graph([x])
        #expect(zip(eager, replayed).allSatisfy(same))
        // New data of the same shape: the graph computes, it does not remember.
        let x2 = Tensor.randn([4, 5], generator: RandomGenerator(seed: 4))
        #expect(zip(Self.mixed([x2], w, k), graph([x2])).allSatisfy(same))
        #expect(!same(graph([x2])[0], eager[0]))
        #expect(graph.constants.count >= 2 && graph.nodes.count > 15)
    }

    @Test func printsOneLinePerValue() {
        let x = Tensor.ones([2, 3])
        let graph = Graph.trace(inputs: [x]) { [($0[0] * 2).sum(axes: [1], keepDims: true)] }
        let text = graph.description
        #expect(text.contains("%0 = input float32[2, 3]"))
        #expect(text.contains("mul(%0, %1)"))
        #expect(text.contains("sum(%2) {\"axes\":[1],\"keepDims\":true} float32[2, 1]"))
        #expect(text.hasSuffix("return %3"))
    }

    @Test func savedAndLoadedGraphsReplayTheSame() throws {
        let w = Tensor.randn([5, 6], generator: RandomGenerator(seed: 5))
        let k = Tensor.randn([2, 1, 3, 3], generator: RandomGenerator(seed: 6))
        let x = Tensor.randn([4, 5], generator: RandomGenerator(seed: 7))
        let graph = Graph.trace(inputs: [x]) { Self.mixed($0, w, k) }
        let path = temporaryPath("roundtrip")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try graph.save(to: path)
        let loaded = try Graph.load(path)
        #expect(loaded.description == graph.description)
        #expect(zip(graph([x]), loaded([x])).allSatisfy(same))
    }

    @Test func replayedGraphsAreDifferentiable() {
        let w = Tensor.randn([3, 2], generator: RandomGenerator(seed: 8))
        let f: ([Tensor]) -> [Tensor] = { [($0[0].matmul(w).tanh() * $0[0].sum(axes: [1], keepDims: true)).square().mean()] }
        let x = Tensor.randn([4, 3], generator: RandomGenerator(seed: 9))
        let graph = Graph.trace(inputs: [x]) { f($0) }
        let a = x.requiringGrad(), b = x.requiringGrad()
        f([a])[0].backward()
        graph([b])[0].backward()
        #expect(same(a.grad!, b.grad!))
    }

    @Test func writesIntoTracedValuesBecomeValues() {
        let x = Tensor.randn([3, 4], generator: RandomGenerator(seed: 10))
        let f: ([Tensor]) -> [Tensor] = { xs in
            var y = xs[0] * 1
            y[1] = xs[0][0] * 10
            return [y.exp()]
        }
        let graph = Graph.trace(inputs: [x]) { f($0) }
        let x2 = Tensor.randn([3, 4], generator: RandomGenerator(seed: 11))
        #expect(same(graph([x2])[0], f([x2])[0]))
    }

    @Test func customOpsAppearByName() throws {
        let x = Tensor([1.0, 2.0, 3.0])
        let cube: @Sendable ([Tensor]) -> Tensor = { $0[0] * $0[0] * $0[0] }
        let graph = Graph.trace(inputs: [x]) { xs in
            [Tensor.custom("graphTests.cube", xs, forward: cube, backward: { g, xs, _ in [g * xs[0] * xs[0] * 3] })]
        }
        #expect(graph.description.contains("graphTests.cube(%0)"))
        #expect(graph([Tensor([2.0])])[0].doubles == [8])
        // A file naming a custom op this program never registered fails clearly.
        let json = try graph.encodedJSON().replacingOccurrences(of: "graphTests.cube", with: "graphTests.neverRegistered")
        #expect(throws: GraphError.self) { try Graph.decode(tensors: [:], metadata: [GraphCoding.metadataKey: json]) }
        do {
            _ = try Graph.decode(tensors: [:], metadata: [GraphCoding.metadataKey: json])
        } catch {
            #expect("\(error)".contains("graphTests.neverRegistered"))
        }
    }

    @Test func fusionMergesElementwiseChainsAndKeepsTheValues() {
        let x = Tensor.randn([1000], generator: RandomGenerator(seed: 12))
        let bias = Tensor.randn([1000], generator: RandomGenerator(seed: 13))
        let f: ([Tensor]) -> [Tensor] = { xs in
            let y = ((xs[0] + bias) * 3 - 1).abs().maximum(Tensor(scalar: Float(0.5))).negated()
            return [y.tanh() * 0.5 + y.exp(), ((xs[0] * xs[0]) + 1).sqrt().sum()]
        }
        let graph = Graph.trace(inputs: [x]) { f($0) }
        let fused = graph.fused()
        #expect(fused.nodes.count < graph.nodes.count)
        #expect(fused.nodes.contains { $0.primitive is FusedElementwise })
        let a = graph([x]), b = fused([x])
        // Elementwise results are identical; a fused sum adds in another order.
        #expect(same(a[0], b[0]))
        #expect(Swift.abs(a[1].item() - b[1].item()) <= 1e-5 * Swift.abs(a[1].item()))
        // Broadcast inputs and float64.
        let m = Tensor.randn([64, 32], dtype: .float64, generator: RandomGenerator(seed: 14))
        let row = Tensor.randn([32], dtype: .float64, generator: RandomGenerator(seed: 15))
        let g = Graph.trace(inputs: [m]) { xs in [((xs[0] - row) * (xs[0] + row)).sigmoid().sum()] }
        let plain = g([m])[0].item(), merged = g.fused()([m])[0].item()
        #expect(g.fused().nodes.count == 1)
        #expect(Swift.abs(plain - merged) <= 1e-12 * Swift.abs(plain))
    }

    @Test func fusedGraphsGiveTheSameGradients() {
        let x = Tensor.randn([8, 5], dtype: .float64, generator: RandomGenerator(seed: 16))
        let graph = Graph.trace(inputs: [x]) { xs in [((xs[0] * 2).tanh() - xs[0].sigmoid()).square().sum()] }
        let fused = graph.fused()
        let a = x.requiringGrad(), b = x.requiringGrad()
        graph([a])[0].backward()
        fused([b])[0].backward()
        let diff = (a.grad! - b.grad!).abs().max().item()
        #expect(diff <= 1e-12)
    }

    @Test func fusedGraphsSaveAndLoad() throws {
        let x = Tensor.randn([100], generator: RandomGenerator(seed: 17))
        let fused = Graph.trace(inputs: [x]) { xs in [(xs[0].exp() + 1).log().clamp(min: 0.1, max: 2)] }.fused()
        let path = temporaryPath("fused")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try fused.save(to: path)
        let loaded = try Graph.load(path)
        #expect(same(loaded([x])[0], fused([x])[0]))
    }
}

/// A graph file is untrusted input: every malformed one throws, none crashes.
@Suite struct GraphFileTests {
    static func file(_ json: String, _ tensors: [String: Tensor] = [:]) throws -> Graph {
        try Graph.decode(tensors: tensors, metadata: [GraphCoding.metadataKey: json])
    }

    static func node(_ op: String, _ attributes: String, _ inputs: [Int], _ shape: [Int], _ dtype: String = "float32") -> String {
        let attrs = attributes.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        return #"{"op":"\#(op)","attributes":"\#(attrs)","inputs":\#(inputs),"type":{"shape":\#(shape),"dtype":"\#(dtype)"}}"#
    }

    static func graph(inputs: String = #"[{"shape":[2,3],"dtype":"float32"}]"#, constants: String = "[]", nodes: [String],
                      outputs: String = "[1]", version: Int = 1) -> String {
        #"{"format":"myelin.graph","version":\#(version),"inputs":\#(inputs),"constants":\#(constants),"nodes":[\#(nodes.joined(separator: ","))],"outputs":\#(outputs)}"#
    }

    @Test func aWellFormedFileLoads() throws {
        let g = try Self.file(Self.graph(nodes: [Self.node("exp", "{}", [0], [2, 3])]))
        #expect(g([Tensor.zeros([2, 3])])[0].doubles == [1, 1, 1, 1, 1, 1])
    }

    @Test(arguments: [
        ("not JSON", "{oops"),
        ("another format", #"{"format":"onnx","version":1,"inputs":[],"constants":[],"nodes":[],"outputs":[]}"#),
        ("a newer version", GraphFileTests.graph(nodes: [], outputs: "[0]", version: 99)),
        ("an unknown op", GraphFileTests.graph(nodes: [GraphFileTests.node("frobnicate", "{}", [0], [2, 3])])),
        ("a value read before it is made", GraphFileTests.graph(nodes: [GraphFileTests.node("exp", "{}", [1], [2, 3])])),
        ("a negative value number", GraphFileTests.graph(nodes: [GraphFileTests.node("exp", "{}", [-1], [2, 3])])),
        ("an output that is no value", GraphFileTests.graph(nodes: [GraphFileTests.node("exp", "{}", [0], [2, 3])], outputs: "[7]")),
        ("a wrong declared type", GraphFileTests.graph(nodes: [GraphFileTests.node("exp", "{}", [0], [3, 2])])),
        ("a wrong declared dtype", GraphFileTests.graph(nodes: [GraphFileTests.node("exp", "{}", [0], [2, 3], "int64")])),
        ("an impossible reshape", GraphFileTests.graph(nodes: [GraphFileTests.node("reshape", #"{"shape":[5,-1]}"#, [0], [5, 1])])),
        ("a bad permutation", GraphFileTests.graph(nodes: [GraphFileTests.node("permute", #"{"axes":[0,0]}"#, [0], [2, 2])])),
        ("attributes that do not decode", GraphFileTests.graph(nodes: [GraphFileTests.node("sum", #"{"axes":"x"}"#, [0], [])])),
        ("an axis out of range", GraphFileTests.graph(nodes: [GraphFileTests.node("sum", #"{"axes":[7],"keepDims":false}"#, [0], [2])])),
        ("a wrong arity", GraphFileTests.graph(nodes: [GraphFileTests.node("add", "{}", [0], [2, 3])])),
        ("a product of mismatched shapes", GraphFileTests.graph(nodes: [GraphFileTests.node("matmul", "{}", [0, 0], [2, 3])])),
        ("a negative dimension", GraphFileTests.graph(nodes: [GraphFileTests.node("exp", "{}", [0], [-2, 3])])),
        ("pooling positions that are not a pooling's",
         GraphFileTests.graph(inputs: #"[{"shape":[1,1,4,4],"dtype":"float32"},{"shape":[1,1,2,2],"dtype":"int32"}]"#,
                              nodes: [GraphFileTests.node("maxPool2d", "{}", [0, 1], [1, 1, 2, 2])], outputs: "[2]")),
        ("a missing constant", GraphFileTests.graph(constants: #"["w"]"#, nodes: [GraphFileTests.node("exp", "{}", [0], [2, 3])])),
        ("a literal index out of range",
         GraphFileTests.graph(constants: #"["w"],"literals":[1]"#, nodes: [GraphFileTests.node("exp", "{}", [0], [2, 3])])),
        ("a fused step that is no elementwise op",
         GraphFileTests.graph(nodes: [GraphFileTests.node("fused", #"{"inputs":1,"reduce":false,"steps":[{"op":"matmul","attributes":"{}","operands":[0,0]}]}"#, [0], [2, 3])])),
        ("a fused step reading a later register",
         GraphFileTests.graph(nodes: [GraphFileTests.node("fused", #"{"inputs":1,"reduce":false,"steps":[{"op":"exp","attributes":"{}","operands":[3]}]}"#, [0], [2, 3])])),
    ])
    func malformedFilesThrow(_ what: String, _ json: String) {
        #expect(throws: GraphError.self, "\(what)") { _ = try Self.file(json) }
    }

    @Test func aConstantIndexOutOfRangeIsRejected() {
        let json = Self.graph(constants: #"["i"]"#, nodes: [Self.node("gather", #"{"axis":1}"#, [0, 1], [2, 1])], outputs: "[2]")
        #expect(throws: GraphError.self) { _ = try Self.file(json, ["i": Tensor([[Int64(0)], [Int64(9)]])]) }
        #expect((try? Self.file(json, ["i": Tensor([[Int64(0)], [Int64(2)]])])) != nil)
    }

    /// The same check for the other primitives that index along an axis with input 1.
    @Test(arguments: [
        ("indexSelect", #"{"axis":1}"#, [0, 1], [2, 2], [Int64(0), 7], [Int64(0), 2]),
        ("indexAdd", #"{"axis":0}"#, [0, 1, 0], [2, 3], [Int64(0), 5], [Int64(1), 0]),
    ])
    func aConstantIndexOutOfRangeIsRejectedAlongAnyAxis(op: String, attributes: String, inputs: [Int], shape: [Int],
                                                         bad: [Int64], good: [Int64]) {
        let json = Self.graph(constants: #"["i"]"#, nodes: [Self.node(op, attributes, inputs, shape)], outputs: "[2]")
        #expect(throws: GraphError.self) { _ = try Self.file(json, ["i": Tensor(bad)]) }
        #expect((try? Self.file(json, ["i": Tensor(good)])) != nil)
    }

    @Test func damagedFilesThrow() throws {
        let x = Tensor.randn([3, 3], generator: RandomGenerator(seed: 18))
        let graph = Graph.trace(inputs: [x]) { xs in [xs[0].matmul(x).relu()] }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("myelin-graph-\(getpid())-damaged").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try graph.save(to: path)
        var caught = 0
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        var rng = RandomGenerator(seed: 19)
        for trial in 0..<40 {
            var damaged = bytes
            if trial % 2 == 0 {
                damaged = Array(damaged.prefix(Int(Tensor.randint(0, bytes.count, shape: [], generator: rng).item())))
            } else {
                let i = Int(Tensor.randint(0, bytes.count, shape: [], generator: rng).item())
                damaged[i] ^= UInt8(1 << Int(Tensor.randint(0, 8, shape: [], generator: rng).item()))
            }
            try Data(damaged).write(to: URL(fileURLWithPath: path))
            // Either the damage is caught, or it was harmless (padding): the same graph and constants.
            if (try? Graph.load(path)) == nil { caught += 1 }
            if let loaded = try? Graph.load(path) {
                #expect(loaded.description == graph.description && same(loaded([x])[0], graph([x])[0]),
                        "trial \(trial): \(damaged.count) of \(bytes.count) bytes loaded as another graph")
            }
        }
        _ = rng
        #expect(caught >= 35)
    }
}

/// Every op of the gradient-check table, traced, saved, loaded and replayed: the same values and
/// gradients as eager (fused: within rounding). A primitive without a shape rule or a registry
/// entry fails here.
@Suite struct GraphEveryOpTests {
    /// maskedSelect's result size depends on the mask's values: it cannot be traced (and says so).
    static let traceable = GradCheckTests.rows.filter { !$0.name.contains("maskedSelect") }

    @Test(arguments: traceable)
    func tracesSavesLoadsAndReplays(_ row: GradCheckTests.Row) throws {
        let g = RandomGenerator(seed: 21)
        let inputs = row.shapes.map { row.domain(Tensor.normal($0, dtype: .float64, generator: g)) }
        let graph = Graph.trace(inputs: inputs) { [row.f($0)] }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("myelin-everyop-\(getpid())-\(row.name.hashValue)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try graph.save(to: path)
        let loaded = try Graph.load(path)
        let eager = row.f(inputs)
        #expect(same(loaded(inputs)[0], eager), "\(row.name): replay differs")
        let fused = loaded.fused()(inputs)[0]
        let scale = Swift.max(1, eager.abs().max().item())
        #expect(eager.shape == fused.shape && (eager - fused).abs().max().item() <= 1e-12 * scale, "\(row.name): fused differs")
        // Gradients through the loaded graph equal eager ones.
        let a = inputs.map { $0.requiringGrad() }, b = inputs.map { $0.requiringGrad() }
        row.f(a).sum().backward()
        loaded(b)[0].sum().backward()
        for (x, y) in zip(a, b) {
            if let gx = x.grad, let gy = y.grad {
                #expect(same(gx, gy), "\(row.name): gradient differs")
            } else {
                #expect(x.grad == nil && y.grad == nil, "\(row.name): a gradient is missing on one side")
            }
        }
    }
}
