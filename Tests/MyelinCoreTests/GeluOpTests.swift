import Foundation
import Testing
import MyelinTestSupport
@testable import MyelinCore
import CMyelinKernels

/// `gelu` as one op: the bits of the composed formula it replaced (so models loaded from PyTorch
/// keep their outputs), in the C loop (whichever of its AVX-512, AVX2 or baseline copies this CPU
/// runs), the generic float64 path and inside a fused graph; gradients by finite differences.
@Suite struct GeluOpTests {
    /// Values across GELU's whole shape, with the edges: large magnitudes, zeros, infinities, NaN.
    private let inputs: [Float] = (0..<20_011).map { Float($0) * 0.0021 - 21 }
        + [0, -0, 1e-30, -1e-30, 60, -60, .infinity, -.infinity, .nan, .greatestFiniteMagnitude]

    private func composedExact(_ x: Tensor) -> Tensor { x * 0.5 * (1 + (x * (1 / 2.0.squareRoot())).erf()) }
    private func composedTanh(_ x: Tensor) -> Tensor {
        let inner = (x + x * x * x * 0.044715) * (2 / Double.pi).squareRoot()
        return x * 0.5 * (1 + inner.tanh())
    }

    @Test func float32IsTheComposedFormulasBits() {
        let x = Tensor(inputs)
        #expect(bitPatterns(x.gelu()) == bitPatterns(composedExact(x)))
        #expect(bitPatterns(x.gelu(approximate: .tanh)) == bitPatterns(composedTanh(x)))
    }

    /// Lengths around every vector width (4, 8, 16 floats and the loops' interleaving), so each
    /// copy's tail is covered, and a strided view (the generic loop).
    @Test func tailsAndStridesGiveTheSameBits() {
        for n in [1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 63, 64, 65, 127, 129] {
            let x = Tensor(Array(inputs[5_000..<(5_000 + n)]))
            #expect(bitPatterns(x.gelu()) == bitPatterns(composedExact(x)), "length \(n)")
            #expect(bitPatterns(x.gelu(approximate: .tanh)) == bitPatterns(composedTanh(x)), "length \(n)")
        }
        let m = Tensor(Array(inputs[0..<600])).reshape([20, 30]).T
        #expect(bitPatterns(m.gelu()) == bitPatterns(composedExact(m)))
    }

    @Test func float64MatchesTheComposedFormula() {
        let x = Tensor(Array(inputs.prefix(20_011))).to(.float64)
        let exact = x.gelu().scalars(as: Double.self), composed = composedExact(x).scalars(as: Double.self)
        #expect(zip(exact, composed).allSatisfy { $0 == $1 })
        let t = x.gelu(approximate: .tanh).scalars(as: Double.self), ct = composedTanh(x).scalars(as: Double.self)
        #expect(zip(t, ct).allSatisfy { $0 == $1 })
    }

    @Test func gradientsMatchFiniteDifferences() {
        let x = Tensor.normal([7, 5], std: 2, dtype: .float64, generator: RandomGenerator(seed: 3))
        for approximate in [GELUApproximation.none, .tanh] {
            let r = gradCheck([x]) { $0[0].gelu(approximate: approximate) }
            #expect(r[0].worstRelativeError < 1e-6, "\(approximate): \(r[0])")
            // Second order: the vjp is written with tensor ops, so it differentiates again.
            let r2 = gradCheck([x]) { xs in
                grad(at: [xs[0]], createGraph: true) { $0[0].gelu(approximate: approximate).sum() }[0]
            }
            #expect(r2[0].worstRelativeError < 1e-5, "\(approximate) second order: \(r2[0])")
        }
    }
}
