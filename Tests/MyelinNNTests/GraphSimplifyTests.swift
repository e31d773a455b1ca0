import Foundation
import Testing
import MyelinCore
@testable import MyelinNN

private func same(_ a: Tensor, _ b: Tensor) -> Bool {
    a.shape == b.shape && a.dtype == b.dtype && a.doubles.map(\.bitPattern) == b.doubles.map(\.bitPattern)
}

/// `Graph.simplified()`: constant folding, identity reshapes and constant-mask `where` removed, with
/// the bits of the graph it simplifies.
@Suite struct GraphSimplifyTests {
    static func mlp() -> Sequential {
        let g = RandomGenerator(seed: 31)
        return Sequential { Linear(2, 64, generator: g); ReLU(); Linear(64, 64, generator: g); ReLU(); Linear(64, 2, generator: g) }
    }

    /// The training step of the compiled-step benchmark: forward, cross-entropy and backward.
    @Test func aTrainingStepLosesItsBookkeepingButNoBits() {
        let model = Self.mlp()
        let x = Tensor.randn([32, 2], generator: RandomGenerator(seed: 32))
        let y = Tensor.randint(0, 2, shape: [32], generator: RandomGenerator(seed: 33))
        let graph = model.compiledStep(fused: false) { out, t in crossEntropy(out, labels: t) }.graph(input: x, target: y)
        let lean = graph.simplified()
        #expect(lean.nodes.count <= graph.nodes.count - 15, "\(graph.nodes.count) nodes became \(lean.nodes.count)")
        #expect(!lean.nodes.contains { $0.primitive.name == "where" })
        #expect(!lean.nodes.contains { n in n.primitive.name == "reshape" && lean.valueType(n.inputs[0]) == n.type })
        // The same loss and gradients, bit for bit, with the current weights and with others.
        let weights = model.stateDict()
        let other = weights.mapValues { $0 * 0.5 }
        for (inputs, constants) in [([x, y], weights), ([x * 2, y], other)] {
            let a = graph(inputs, constants: constants), b = lean(inputs, constants: constants)
            #expect(a.count == b.count)
            for (u, v) in zip(a, b) { #expect(same(u, v)) }
        }
        // Named weights stay replaceable constants; only literals were folded.
        for name in weights.keys { #expect(lean.constants.contains { $0.name == name }, "\(name) was folded") }
    }

    @Test func literalNodesAreComputedOnceAndNamedOn() throws {
        let x = Tensor.randn([4, 3], generator: RandomGenerator(seed: 34))
        let k = Tensor.ones([3]) * 2
        let graph = Graph.trace(inputs: [x]) { xs in [xs[0] * (k.exp() + 1)] }
        #expect(graph.nodes.count == 3)
        let lean = graph.simplified()
        #expect(lean.nodes.map(\.primitive.name) == ["mul"])
        let folded = try #require(lean.constants.first { !graph.constants.map(\.name).contains($0.name) })
        #expect(folded.isLiteral)
        #expect(same(lean([x])[0], graph([x])[0]))
        #expect(same(lean([x * 3])[0], x * 3 * (k.exp() + 1)))
        // A weight with a caller's name is not folded, even a name like a literal's: a replay may replace it.
        for name in ["w", "c0", "c1"] {
            let named = Graph.trace(inputs: [x], names: [(name, k)]) { xs in [xs[0] * (k.exp() + 1)] }.simplified()
            #expect(named.nodes.count == 3, "\(name)")
            #expect(Set(named.constants.map(\.name)).count == named.constants.count, "\(name): two constants share a name")
            #expect(same(named([x], constants: [name: k * 0])[0], x * (Tensor.zeros([3]).exp() + 1)), "\(name)")
        }
        // Saved and loaded, literals stay literals and names stay names.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("myelin-simplify-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Graph.trace(inputs: [x], names: [("c0", k)]) { xs in [xs[0] * (k.exp() + 1) * (k + 1)] }.save(to: path)
        let loaded = try Graph.load(path)
        #expect(loaded.constants.first?.name == "c0" && loaded.constants.first?.isLiteral == false)
        #expect(loaded.constants.count > 1 && loaded.constants.dropFirst().allSatisfy(\.isLiteral))
        #expect(loaded.simplified().nodes.count == loaded.nodes.count)   // every node reads the named c0
    }

    @Test func constantMasksSelectOneSide() {
        let a = Tensor.randn([5], generator: RandomGenerator(seed: 35)), b = Tensor.randn([5], generator: RandomGenerator(seed: 36))
        let yes = Tensor(shape: [5], scalars: [true, true, true, true, true])
        let no = Tensor(shape: [5], scalars: [false, false, false, false, false])
        let mixed = Tensor(shape: [5], scalars: [true, false, true, false, true])
        for (mask, kept) in [(yes, 0), (no, 0), (mixed, 1)] {
            let graph = Graph.trace(inputs: [a, b]) { xs in [Tensor.where(mask, xs[0].tanh(), xs[1].exp())] }
            let lean = graph.simplified()
            #expect(lean.nodes.filter { $0.primitive.name == "where" }.count == kept)
            #expect(same(lean([b, a])[0], Tensor.where(mask, b.tanh(), a.exp())))
        }
    }
}
