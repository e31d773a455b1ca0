import Foundation
import Testing
@testable import MyelinCore
import CMyelinKernels

/// The float32 C loops of VectorKernels (vecmath.c): accuracy against float64 references, special
/// values, and the same values eager, strided, replayed and fused.
@Suite struct VectorKernelTests {
    /// The largest error of `f32` against `reference` in units of the float32 result's last place.
    private func maxULP(_ values: [Float], _ f32: (Tensor) -> Tensor, _ reference: (Double) -> Double) -> (Double, Float) {
        let out = f32(Tensor(values)).scalars(as: Float.self)
        var worst = 0.0, at: Float = 0
        for (x, y) in zip(values, out) {
            let r = reference(Double(x)), rf = Float(r)
            if rf.isInfinite && y == rf { continue }
            if rf == 0 && Swift.abs(y) <= Float.leastNonzeroMagnitude { continue }
            let ulp = Double(rf.magnitude.nextUp - rf.magnitude)
            let e = Swift.abs(Double(y) - r) / ulp
            if e > worst { worst = e; at = x }
        }
        return (worst, at)
    }

    private func sweep(_ lo: Float, _ hi: Float, _ n: Int = 200_003) -> [Float] {
        (0..<n).map { lo + (hi - lo) * Float($0) / Float(n - 1) }
    }

    private func unaryLoop<Op: FloatUnaryOp>(_: Op.Type) -> VectorUnaryF32? { Op.vectorF32 }
    private func numericLoop<Op: NumericUnaryOp>(_: Op.Type) -> VectorUnaryF32? { Op.vectorF32 }
    private func binaryLoop<Op: NumericBinaryOp>(_: Op.Type) -> VectorBinaryF32? { Op.vectorF32 }
    private func floatBinaryLoop<Op: FloatBinaryOp>(_: Op.Type) -> VectorBinaryF32? { Op.vectorF32 }

    /// Generic code (the eager loops and the fusion table) must see each op's own loop: with
    /// `vectorF32` only in a protocol extension it saw nil and the C loops never ran.
    @Test func genericCodeFindsEachOpsLoop() {
        #expect(unaryLoop(UnaryOps.Exp.self) != nil)
        #expect(unaryLoop(UnaryOps.Tanh.self) != nil)
        #expect(unaryLoop(UnaryOps.Sigmoid.self) != nil)
        #expect(unaryLoop(UnaryOps.Erf.self) != nil)
        #expect(unaryLoop(UnaryOps.Log.self) == nil)
        #expect(numericLoop(UnaryOps.Negate.self) != nil)
        #expect(numericLoop(UnaryOps.Relu.self) != nil)
        #expect(binaryLoop(BinaryOps.Add.self) != nil)
        #expect(binaryLoop(BinaryOps.Maximum.self) != nil)
        #expect(floatBinaryLoop(BinaryOps.Div.self) != nil)
        // Eager float32 exp is the C loop's bits.
        let x = Tensor((0..<4099).map { Float($0) * 0.0173 - 35 })
        var expected = [Float](repeating: 0, count: x.count)
        x.scalars(as: Float.self).withUnsafeBufferPointer { src in
            expected.withUnsafeMutableBufferPointer { myelin_vexp_f32(src.baseAddress, $0.baseAddress, src.count) }
        }
        #expect(x.exp().scalars(as: Float.self).map(\.bitPattern) == expected.map(\.bitPattern))
    }

    @Test func expIsWithinTwoULPs() {
        let (e, at) = maxULP(sweep(-103, 88.7), { $0.exp() }, Foundation.exp)
        #expect(e <= 2, "exp: \(e) ulp at \(at)")
    }

    @Test func tanhIsWithinThreeULPs() {
        let (e, at) = maxULP(sweep(-12, 12) + sweep(-0.7, 0.7, 20_001), { $0.tanh() }, Foundation.tanh)
        #expect(e <= 3, "tanh: \(e) ulp at \(at)")
    }

    @Test func sigmoidIsWithinThreeULPs() {
        let (e, at) = maxULP(sweep(-60, 30), { $0.sigmoid() }, { 1 / (1 + Foundation.exp(-$0)) })
        #expect(e <= 3, "sigmoid: \(e) ulp at \(at)")
    }

    @Test func erfIsWithinTwoULPs() {
        let (e, at) = maxULP(sweep(-6, 6) + sweep(-1, 1, 20_001) + sweep(-1e-3, 1e-3, 2_001), { $0.erf() }, Foundation.erf)
        #expect(e <= 2, "erf: \(e) ulp at \(at)")
        let special = Tensor([Float.nan, .infinity, -.infinity, -0.0, 10, -10] as [Float]).erf().scalars(as: Float.self)
        #expect(special[0].isNaN && special[1] == 1 && special[2] == -1 && special[3] == 0 && special[3].sign == .minus)
        #expect(special[4] == 1 && special[5] == -1)
    }

    @Test func specialValuesMatchLibm() {
        let xs: [Float] = [.nan, .infinity, -.infinity, 0, -0.0, 88.72, 88.73, -87.5, -103.9, -104, 1e-30, -1e-30]
        let e = Tensor(xs).exp().scalars(as: Float.self)
        let t = Tensor(xs).tanh().scalars(as: Float.self)
        let s = Tensor(xs).sigmoid().scalars(as: Float.self)
        for (i, x) in xs.enumerated() {
            if x.isNaN {
                #expect(e[i].isNaN && t[i].isNaN && s[i].isNaN)
                continue
            }
            #expect(e[i] == Foundation.expf(x), "exp(\(x)) = \(e[i])")
            #expect(t[i] == Foundation.tanhf(x) && t[i].sign == x.sign, "tanh(\(x)) = \(t[i])")
        }
        #expect(s[1] == 1 && s[2] == 0 && s[3] == 0.5)
    }

    @Test func stridedEagerReplayedAndFusedAgreeBitForBit() {
        let x = Tensor.randn([64, 33], generator: RandomGenerator(seed: 3)) * 4
        let strided = x.transposed()
        for op in [{ (t: Tensor) in t.exp() }, { $0.tanh() }, { $0.sigmoid() }] {
            let eager = op(strided)
            let fromCopy = op(strided.contiguous())
            #expect(eager.scalars(as: Float.self) == fromCopy.scalars(as: Float.self))
            let graph = Graph.trace(inputs: [x]) { [op($0[0] * 0.5 + 1)] }
            let direct = op(x * 0.5 + 1).scalars(as: Float.self)
            #expect(graph([x])[0].scalars(as: Float.self) == direct)
            #expect(graph.fused()([x])[0].scalars(as: Float.self) == direct)
        }
    }

    @Test func cheapOpsInFusedBlocksMatchEagerOnes() {
        let x = Tensor.randn([3000], generator: RandomGenerator(seed: 5)), b = Tensor.randn([3000], generator: RandomGenerator(seed: 6))
        func chain(_ x: Tensor, _ b: Tensor) -> Tensor {
            let y = ((x + b) * 1.5 - 0.25).maximum(Tensor(scalar: Float(-1))).negated().abs()
            return (y.minimum(b).relu() / (b.abs() + 1)).square()
        }
        let graph = Graph.trace(inputs: [x, b]) { [chain($0[0], $0[1])] }.fused()
        #expect(graph.nodes.count == 1)
        #expect(graph([x, b])[0].scalars(as: Float.self) == chain(x, b).scalars(as: Float.self))
    }
}
