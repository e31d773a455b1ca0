import Foundation
import Testing
@testable import MyelinCore

private func same(_ a: Tensor, _ b: Tensor) -> Bool {
    a.shape == b.shape && a.dtype == b.dtype && a.doubles.map(\.bitPattern) == b.doubles.map(\.bitPattern)
}

/// Graphs symbolic in the batch size: traced once, replayed at every batch size.
@Suite struct GraphSymbolicTests {
    static let w = Tensor.randn([5, 6], generator: RandomGenerator(seed: 31))
    static let b = Tensor.randn([6], generator: RandomGenerator(seed: 32))

    /// Per-example work (a product, a broadcast bias, views, a reduction over features) and an
    /// output computed from the weights alone.
    static func f(_ xs: [Tensor]) -> [Tensor] {
        let h = (xs[0].matmul(w) + b).relu()                              // [N, 6]
        let r = h.reshape([-1, 2, 3]).permute([0, 2, 1]).sum(axes: [2])   // [N, 3]
        return [r.tanh() * xs[1], (w * 2).sum()]
    }

    static func inputs(_ n: Int, seed: UInt64) -> [Tensor] {
        [Tensor.randn([n, 5], generator: RandomGenerator(seed: seed)), Tensor.randn([n, 3], generator: RandomGenerator(seed: seed + 1))]
    }

    @Test func tracedOnceReplaysAtEveryBatchSize() throws {
        let graph = try Graph.trace(inputs: Self.inputs(4, seed: 1), batchAxis: 0, Self.f)
        #expect(graph.hasSymbolicBatch && graph.tracedBatchSize == 4)
        #expect(graph.inputs.map(\.batchAxes) == [[0], [0]])
        let text = graph.description
        #expect(text.contains("%0 = input float32[N, 5]") && text.contains("%1 = input float32[N, 3]"))
        #expect(text.contains("reshape(") && text.contains(#"{"shape":[-1,2,3]} float32[N, 2, 3]"#))
        #expect(text.contains(#"permute("#) && text.contains(#"{"axes":[0,2,1]} float32[N, 3, 2]"#))
        // The weights-only output has no batch axis; every value fed by the inputs has one.
        #expect(graph.valueType(graph.outputs[1]) == Graph.ValueType(shape: [], dtype: .float32))
        #expect(graph.valueType(graph.outputs[0]) == Graph.ValueType(shape: [4, 3], dtype: .float32, batchAxes: [0]))
        for n in [1, 3, 7] {
            let xs = Self.inputs(n, seed: UInt64(10 * n))
            let replayed = graph(xs), eager = Self.f(xs)
            #expect(zip(replayed, eager).allSatisfy(same), "batch \(n)")
            #expect(same(graph.fused()(xs)[0], eager[0]), "batch \(n), fused")
        }
    }

    @Test func theBatchMayBeAnotherAxisAndMove() throws {
        let x = Tensor.randn([5, 4], generator: RandomGenerator(seed: 2))   // features first
        let body: ([Tensor]) -> [Tensor] = { xs in [xs[0].permute([1, 0]).matmul(Self.w).unsqueezed(axis: 0)] }
        let graph = try Graph.trace(inputs: [x], batchAxis: -1, body)
        #expect(graph.inputs[0].batchAxes == [1])
        #expect(graph.valueType(graph.outputs[0]) == Graph.ValueType(shape: [1, 4, 6], dtype: .float32, batchAxes: [1]))
        #expect(graph.description.contains("%0 = input float32[5, N]") && graph.description.contains("unsqueeze(%3) {\"axis\":0} float32[1, N, 6]"))
        let x9 = Tensor.randn([5, 9], generator: RandomGenerator(seed: 3))
        #expect(same(graph([x9])[0], body([x9])[0]))
    }

    /// Each function mixes or folds the batch; the error names the first node that does.
    @Test(arguments: [
        ("a reshape folding the batch into another dimension", 0, "reshape", "not N"),
        ("a reshape holding the traced batch size", 0, "reshape", "shape rule fails at batch size 5"),
        ("a mean over the batch", 0, "sum", "gone from its output float32[5]"),
        ("a sum of everything", 1, "sum", "gone from its output float32[]"),
        ("a concatenation along the batch", 0, "cat", "not N"),
        ("a constant of the traced batch size", 0, "add", "shape rule fails at batch size 5"),
    ])
    func functionsThatDoNotFollowTheBatchThrow(_ what: String, _ node: Int, _ op: String, _ reason: String) {
        let x = Tensor.randn([4, 5], generator: RandomGenerator(seed: 4))
        let body: ([Tensor]) -> [Tensor] = { xs in
            let x = xs[0]
            switch what {
            case "a reshape folding the batch into another dimension": return [x.reshape([-1])]
            case "a reshape holding the traced batch size": return [x.reshape([4, 5, 1])]
            case "a mean over the batch": return [x.mean(axes: [0])]
            case "a sum of everything": return [x.exp().sum()]
            case "a concatenation along the batch": return [Tensor.cat([x, x], axis: 0)]
            default: return [x + Tensor.ones([4, 5])]
            }
        }
        let error = #expect(throws: SymbolicBatchError.self, "\(what)") { try Graph.trace(inputs: [x], batchAxis: 0, body) }
        #expect(error?.node == node && error?.op == op, "\(what): \(String(describing: error))")
        #expect(error?.reason.contains(reason) == true, "\(what): \(String(describing: error))")
        #expect(error?.description.hasPrefix("[symbolic batch] node \(node) (\(op)) does not follow the batch size: ") == true)
        // Traced with fixed shapes, the same function replays at its traced size as before.
        let fixed = Graph.trace(inputs: [x], body)
        #expect(!fixed.hasSymbolicBatch && same(fixed([x])[0], body([x])[0]))
    }

    @Test func savingAndLoadingKeepsTheBatchAxes() throws {
        let graph = try Graph.trace(inputs: Self.inputs(4, seed: 5), batchAxis: 0, Self.f)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("myelin-symbolic-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try graph.save(to: path)
        let loaded = try Graph.load(path)
        #expect(loaded.inputs == graph.inputs && loaded.nodes.map(\.type) == graph.nodes.map(\.type))
        #expect(loaded.description == graph.description)
        let xs = Self.inputs(7, seed: 6)
        #expect(zip(loaded(xs), Self.f(xs)).allSatisfy(same))
        #expect(try graph.encodedJSON().contains(#""batch":[0]"#))
        // A fused graph keeps them too: its fused nodes' batch axes are derived from their steps' rules.
        let fused = graph.fused()
        #expect(fused.nodes.contains { $0.primitive is FusedElementwise && $0.type.batchAxes == [0] })
        try fused.save(to: path)
        let loadedFused = try Graph.load(path)
        #expect(loadedFused.description == fused.description && same(loadedFused(xs)[0], fused(xs)[0]))
        // A graph of fixed shapes writes no batch axes: its file is what it was before they existed.
        #expect(try !Graph.trace(inputs: Self.inputs(4, seed: 5), Self.f).encodedJSON().contains("batch"))
    }

    @Test func replayChecksTheBatchAndTheFixedSizes() async {
        await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let graph = try! Graph.trace(inputs: GraphSymbolicTests.inputs(4, seed: 7), batchAxis: 0, GraphSymbolicTests.f)
            _ = graph([Tensor.zeros([3, 5]), Tensor.zeros([2, 3])])
        }.map { result in
            let err = String(decoding: result.standardErrorContent, as: UTF8.self)
            #expect(err.contains("[Graph] input 1 has batch size 2 (axis 0), input 0 3: all inputs share the batch size N"), "\(err)")
        }
        await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let graph = try! Graph.trace(inputs: GraphSymbolicTests.inputs(4, seed: 7), batchAxis: 0, GraphSymbolicTests.f)
            _ = graph([Tensor.zeros([3, 4]), Tensor.zeros([3, 3])])
        }.map { result in
            let err = String(decoding: result.standardErrorContent, as: UTF8.self)
            #expect(err.contains("[Graph] input 0 must be float32[N, 5], got float32[3, 4]: axis 1 is 4, not 5"), "\(err)")
        }
    }
}

/// Batch axes in a graph file are untrusted input like the rest of it.
@Suite struct GraphSymbolicFileTests {
    static func type(_ shape: [Int], batch: String?) -> String {
        #"{"shape":\#(shape),"dtype":"float32"\#(batch.map { #","batch":\#($0)"# } ?? "")}"#
    }

    static func file(input batch: String?, node op: String = "exp", attributes: String = "{}", shape: [Int] = [2, 3],
                     nodeBatch: String?, second: String = "") -> String {
        let inputs = "[" + type([2, 3], batch: batch) + second + "]"
        let node = #"{"op":"\#(op)","attributes":"\#(attributes)","inputs":[0],"type":\#(type(shape, batch: nodeBatch))}"#
        return GraphFileTests.graph(inputs: inputs, nodes: [node], outputs: second.isEmpty ? "[1]" : "[2]")
    }

    @Test func aSymbolicFileLoadsAndReplaysAtAnyBatchSize() throws {
        let g = try GraphFileTests.file(Self.file(input: "[0]", nodeBatch: "[0]"))
        #expect(g.hasSymbolicBatch && g.description.contains("%1 = exp(%0) float32[N, 3]"))
        #expect(g([Tensor.zeros([5, 3])])[0].doubles == [Double](repeating: 1, count: 15))
    }

    @Test(arguments: [
        ("a batch axis beyond the rank", GraphSymbolicFileTests.file(input: "[2]", nodeBatch: "[0]"), "has batch axes [2]"),
        ("a negative batch axis", GraphSymbolicFileTests.file(input: "[-1]", nodeBatch: "[0]"), "has batch axes [-1]"),
        ("two batch axes on an input", GraphSymbolicFileTests.file(input: "[0,1]", nodeBatch: "[0,1]"), "has batch axes [0, 1]"),
        ("a batch that is no list of axes", GraphSymbolicFileTests.file(input: #""N""#, nodeBatch: "[0]"), "malformed"),
        ("a node without the batch axis its input gives", GraphSymbolicFileTests.file(input: "[0]", nodeBatch: nil), "its inputs give it [0]"),
        ("a node with a batch axis its input does not give", GraphSymbolicFileTests.file(input: nil, nodeBatch: "[0]"), "its inputs give it []"),
        ("a node with the batch on another axis", GraphSymbolicFileTests.file(input: "[0]", nodeBatch: "[1]"), "its inputs give it [0]"),
        ("inputs of two batch sizes", GraphSymbolicFileTests.file(input: "[0]", nodeBatch: "[0]", second: "," + GraphSymbolicFileTests.type([4, 3], batch: "[0]")), "input 1 has batch size 4, input 0 2"),
        ("a node folding a symbolic batch", GraphSymbolicFileTests.file(input: "[0]", node: "reshape", attributes: #"{\"shape\":[-1]}"#, shape: [6], nodeBatch: "[0]"),
         "node 0 (reshape) does not follow it"),
    ])
    func malformedBatchAxesThrow(_ what: String, _ json: String, _ reason: String) {
        let error = #expect(throws: GraphError.self, "\(what)") { _ = try GraphFileTests.file(json) }
        #expect(error?.reason.contains(reason) == true, "\(what): \(String(describing: error))")
    }
}

/// Every op of the gradient-check table whose inputs share a leading size, traced with that size as
/// the batch: where the analysis accepts the function, a replay at another batch size is bit for bit
/// the eager result (an accepted graph that replays wrongly, or traps where eager does not, fails here).
@Suite struct GraphSymbolicEveryOpTests {
    static let rows = GraphEveryOpTests.traceable.filter { row in
        row.shapes.allSatisfy { !$0.isEmpty && $0[0] == row.shapes[0][0] }
    }

    static func inputs(_ row: GradCheckTests.Row, batch: Int, seed: UInt64) -> [Tensor] {
        let g = RandomGenerator(seed: seed)
        return row.shapes.map { row.domain(Tensor.normal([batch] + $0.dropFirst(), dtype: .float64, generator: g)) }
    }

    @Test func enoughOpsFollowTheBatch() {
        let accepted = Self.rows.filter { row in
            let xs = Self.inputs(row, batch: row.shapes[0][0], seed: 22)
            return (try? Graph.trace(inputs: xs, batchAxis: 0) { [row.f($0)] }) != nil
        }
        // 39 of the 64 rows when this was written: per-example work. The refusals are reductions over
        // the leading axis, reshapes and constants of its traced size.
        #expect(accepted.count >= 39, "\(accepted.count) of \(Self.rows.count): \(accepted.map(\.name))")
    }

    @Test(arguments: rows)
    func acceptedGraphsReplayAtAnotherBatchSize(_ row: GradCheckTests.Row) {
        let b = row.shapes[0][0]
        guard let graph = try? Graph.trace(inputs: Self.inputs(row, batch: b, seed: 23), batchAxis: 0, { [row.f($0)] }) else { return }
        #expect(graph.hasSymbolicBatch && graph.tracedBatchSize == b)
        let xs = Self.inputs(row, batch: b + 2, seed: 24)
        #expect(same(graph(xs)[0], row.f(xs)), "\(row.name): replay at batch \(b + 2) differs")
    }
}
