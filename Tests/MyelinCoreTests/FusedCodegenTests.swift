import Foundation
import Testing
@testable import MyelinCore

/// Equal bits, except that any NaN equals any NaN (a compiler may swap the operands of a
/// commutative op, which picks the other NaN's sign when both are NaN).
private func sameBits(_ a: Tensor, _ b: Tensor) -> Bool {
    guard a.shape == b.shape, a.dtype == b.dtype else { return false }
    return zip(a.floats, b.floats).allSatisfy { x, y in (x.isNaN && y.isNaN) || x.bitPattern == y.bitPattern }
}

/// Fused float32 chains compiled to C at run time (`FusedCodegen`) against the block interpreter and
/// the unfused ops. Skipped where no C compiler is found.
@Suite(.enabled(if: FusedCodegen.compiler != nil && FusedCodegen.enabled, "no C compiler, or MYELIN_FUSION=interpret"))
struct FusedCodegenTests {
    /// Values that exercise every branch: NaN, infinities, signed zeros, subnormals, the polynomial
    /// switch-over points, large magnitudes, then random normals.
    static func values(_ n: Int, seed: UInt64) -> Tensor {
        let special: [Float] = [.nan, .infinity, -.infinity, 0, -0.0, 1e-40, -1e-40, .leastNormalMagnitude, 0.625, -0.625,
                                0.9277, -0.9277, 1, -1, 9, -9, 44.5, -44.5, 89.5, -110.5, 3e38, -3e38]
        let random = Tensor.randn([n], generator: RandomGenerator(seed: seed)).floats.map { $0 * 3 }
        return Tensor(shape: [n], scalars: (0..<n).map { $0 < special.count ? special[$0] : random[$0] })
    }

    /// One chain per op: the op between cheap steps, with a full-size input and scalar constants.
    static let chains: [(String, @Sendable (Tensor, Tensor) -> Tensor)] = [
        ("exp", { x, y in (x * 0.5 + y).exp() - 1 }),
        ("tanh", { x, y in (x * 1.5 - y).tanh() * y }),
        ("sigmoid", { x, y in (x + y).sigmoid() * 2 }),
        ("erf", { x, y in (x - y).erf() + x }),
        ("gelu", { x, y in (x * y).gelu() - 0.25 }),
        ("gelu_tanh", { x, y in (x + 0.5).gelu(approximate: .tanh) * y }),
        ("neg abs relu square", { x, y in ((x - y).negated().abs() - 1).relu().square() }),
        ("add sub mul div", { x, y in ((x + y) * (x - y)) / (y + 3) }),
        ("maximum minimum", { x, y in (x * 2).maximum(y).minimum(Tensor(scalar: Float(0.75))) + y }),
        ("reluBackward", { x, y in Tensor.apply(BinaryOps.PassWherePositive(), x * 2, y - 0.5) + 1 }),
    ]

    @Test(arguments: [1, 7, 16, 1_017, 70_001])
    func generatedLoopsGiveTheUnfusedBits(count: Int) throws {
        let x = Self.values(count, seed: 1), y = Self.values(count, seed: 2).flip(axes: [0])
        for (name, f) in Self.chains {
            let graph = Graph.trace(inputs: [x, y]) { [f($0[0], $0[1])] }
            let fused = graph.fused()
            let node = try #require(fused.nodes.compactMap { $0.primitive as? FusedElementwise }.first, "\(name): nothing fused")
            let inputs = fused.nodes.first { $0.primitive is FusedElementwise }!.inputs
            #expect(fused.nodes.count == 1, "\(name): the chain is not one loop")
            // The fused node reads x, y and scalar constants; give it the tensors it reads.
            let values = [x, y] + fused.constants.map(\.value)
            let operands = inputs.map { values[$0] }
            let generated = try #require(node.runGenerated(operands, shape: [count], total: count), "\(name): no generated loop")
            let interpreted = node.forward(operands, generate: false)
            let eager = f(x, y)
            #expect(sameBits(generated, eager), "\(name), \(count) elements: generated loop differs from the unfused ops")
            #expect(sameBits(interpreted, eager), "\(name), \(count) elements: interpreter differs from the unfused ops")
            #expect(sameBits(fused([x, y])[0], eager), "\(name), \(count) elements: fused replay differs")
        }
    }

    /// GELU composed of ops and compiled is the one-loop GELU op, bit for bit: the same arithmetic.
    @Test func composedGELUCompiledGivesTheGELUOpsBits() {
        let x = Self.values(5_000, seed: 7)
        let composed = Graph.trace(inputs: [x]) { xs in
            [xs[0] * 0.5 * (1 + ((xs[0] + xs[0] * xs[0] * xs[0] * 0.044715) * (2 / Double.pi).squareRoot()).tanh())]
        }.fused()
        #expect(composed.nodes.count == 1)
        #expect(sameBits(composed([x])[0], x.gelu(approximate: .tanh)))
    }

    /// Rows and columns of a small matrix broadcast inside the generated loop, also where the
    /// graph expanded them first (the fused node then reads the unexpanded value).
    @Test func rowsAndColumnsBroadcastInTheGeneratedLoop() throws {
        let m = Tensor.randn([33, 64], generator: RandomGenerator(seed: 11)), column = Tensor.randn([33, 1], generator: RandomGenerator(seed: 12))
        let row = Tensor.randn([64], generator: RandomGenerator(seed: 13))
        let f: ([Tensor]) -> [Tensor] = { xs in [((xs[0] * xs[1] + xs[2]).tanh() - xs[1].expand([33, 64])) * 2] }
        let fused = Graph.trace(inputs: [m, column, row], f).fused()
        #expect(fused.nodes.count == 1, "\(fused)")
        let node = try #require(fused.nodes[0].primitive as? FusedElementwise)
        let operands = fused.nodes[0].inputs.map { ([m, column, row] + fused.constants.map(\.value))[$0] }
        let generated = try #require(node.runGenerated(operands, shape: [33, 64], total: 33 * 64))
        #expect(sameBits(generated, f([m, column, row])[0]))
        #expect(sameBits(fused([m, column, row])[0], f([m, column, row])[0]))
    }

    /// A chain ending in a sum of everything: the generated loop sums as the interpreter does.
    @Test(arguments: [1, 1_017, 65_536])
    func generatedSumsGiveTheInterpretersBits(count: Int) throws {
        let x = Tensor.randn([count], generator: RandomGenerator(seed: 9)) * 4
        let y = Tensor.randn([count], generator: RandomGenerator(seed: 10)).abs()
        let graph = Graph.trace(inputs: [x, y]) { xs in [((xs[0] * 0.5 - xs[1]).tanh() * xs[1]).sum()] }
        let fused = graph.fused()
        let node = try #require(fused.nodes.first?.primitive as? FusedElementwise)
        #expect(fused.nodes.count == 1)
        let operands = fused.nodes[0].inputs.map { ([x, y] + fused.constants.map(\.value))[$0] }
        let generated = try #require(node.runGenerated(operands, shape: [count], total: count))
        #expect(sameBits(generated, node.forward(operands, generate: false)))
        let plain = graph([x, y])[0].item()
        #expect(Swift.abs(generated.item() - plain) <= 1e-5 * Swift.max(1, Swift.abs(plain)))
    }

    @Test func eachChainIsCompiledOnceAndReused() throws {
        let x = Self.values(100, seed: 3), y = Self.values(100, seed: 4)
        let fused = Graph.trace(inputs: [x, y]) { xs in [((xs[0] * 3 - xs[1]).tanh() + 0.125).abs()] }.fused()
        let node = try #require(fused.nodes.first?.primitive as? FusedElementwise)
        let before = FusedCodegen.compiledCount
        _ = fused([x, y])
        let after = FusedCodegen.compiledCount
        #expect(after >= before + 1 || node.generated.loops.withLock { $0.values.contains { $0 != 0 } })
        _ = fused([y, x])
        #expect(node.generated.loops.withLock { $0.count } == 1, "a second replay compiled again")
    }

    @Test func chainsOutsideTheGeneratedSetStayInterpreted() throws {
        let x = Self.values(300, seed: 5).abs() + 1
        let row = Tensor.randn([3, 100], generator: RandomGenerator(seed: 6))
        // log has no C element function; a broadcast input and a sum of over 65,536 are interpreted.
        let big = Self.values(70_000, seed: 8)
        let cases: [(String, Graph, [Tensor])] = [
            ("log", Graph.trace(inputs: [x]) { xs in [(xs[0] * 2).log() + 1] }, [x]),
            ("sum", Graph.trace(inputs: [big]) { xs in [(xs[0] * 2 + 1).sum()] }, [big]),
        ]
        for (name, graph, inputs) in cases {
            let node = try #require(graph.fused().nodes.compactMap { $0.primitive as? FusedElementwise }.first, "\(name)")
            let operands = graph.fused().nodes.first { $0.primitive is FusedElementwise }!.inputs.map { (inputs + graph.fused().constants.map(\.value))[$0] }
            #expect(node.runGenerated(operands, shape: inputs[0].shape, total: inputs[0].count) == nil, "\(name) was generated")
        }
        let broadcast = Graph.trace(inputs: [row]) { xs in [(xs[0] + Tensor.ones([100])).tanh() * 2] }.fused()
        #expect(sameBits(broadcast([row])[0], (row + Tensor.ones([100])).tanh() * 2))
    }

    @Test func sourceThatDoesNotCompileGivesNoLoop() {
        #expect(FusedCodegen.loop(source: "this is not C \(UUID().uuidString)") == nil)
        #expect(FusedCodegen.source(steps: [("log", [0])], inputCount: 1, operands: [.full]) == nil)
        #expect(FusedCodegen.source(steps: [("add", [0, 5])], inputCount: 1, operands: [.full]) == nil)
    }
}
