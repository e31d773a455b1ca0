import CMyelinKernels
import Testing
import MyelinTestSupport
@testable import MyelinCore

/// The batch-1 linear kernel's epilogue (`myelin_sgemv_rows_fused`, `Tensor.fusedLinear`): the
/// bits of the product, the accumulate and bias adds and the activation run apart, for sizes
/// with leftover rows (not a multiple of 4) and columns (not a multiple of 8 or 16), split
/// across threads or not.
@Suite struct GemvEpilogueTests {
    // (40, 60000): too narrow for the one-row split but big enough for BLAS.gemm's column split,
    // whose one-row parts must still take the matrix-vector kernel (they went to cblas_sgemm).
    static let sizes = [(1, 1), (3, 7), (5, 8), (9, 15), (13, 16), (4, 17), (130, 257), (300, 784), (256, 512), (10, 256),
                        (40, 60000)]

    /// Values of both signs and exact zeros, so ReLU's and leaky ReLU's branches and -0 and +0 all occur.
    private func data(_ shape: [Int], _ g: RandomGenerator) -> Tensor {
        let t = Tensor.randn(shape, generator: g)
        return Tensor.where(Tensor.uniform(shape, generator: g) .< 0.1, Tensor.zeros(shape), t)
    }

    // The kernel needs AVX2 and FMA (it declines elsewhere): skipped, not failed, without them.
    @Test(.enabled(if: myelin_cpu_has_avx2_fma() != 0, "no AVX2+FMA: the kernel declines"), arguments: sizes)
    func kernelEpilogueMatchesTheSeparateSteps(n: Int, k: Int) throws {
        let g = RandomGenerator(seed: UInt64(n * 1009 + k))
        // Rows 3 floats further apart than their length: a column slice of a wider matrix.
        let ldw = k + 3
        let w = data([n * ldw], g).floats, x = data([k], g).floats
        let bias = data([n], g).floats, prior = data([n], g).floats
        var product = [Float](repeating: 0, count: n)
        #expect(myelin_sgemv_rows(w, n, k, ldw, x, &product, 0) == 1)
        let slope: Float = 0.07
        for accumulate in [false, true] {
            for withBias in [false, true] {
                for (code, act) in [(MYELIN_GEMV_IDENTITY, { (v: Float) in v }), (MYELIN_GEMV_RELU, { (v: Float) in v < 0 ? 0 : v }),
                                    (MYELIN_GEMV_LEAKY_RELU, { (v: Float) in v > 0 ? v : v * slope })] {
                    var y = prior
                    let ran = withBias
                        ? myelin_sgemv_rows_fused(w, n, k, ldw, x, &y, bias, accumulate ? 1 : 0, Int32(code), slope)
                        : myelin_sgemv_rows_fused(w, n, k, ldw, x, &y, nil, accumulate ? 1 : 0, Int32(code), slope)
                    #expect(ran == 1)
                    let want = (0..<n).map { r -> Float in
                        var v = accumulate ? prior[r] + product[r] : product[r]
                        if withBias { v = bias[r] + v }
                        return act(v)
                    }
                    #expect(y.map(\.bitPattern) == want.map(\.bitPattern),
                            "n \(n) k \(k) accumulate \(accumulate) bias \(withBias) activation \(code)")
                }
            }
        }
    }

    /// Passes run last row first every other time (so weights a little larger than the L2 are
    /// read from it): each direction writes every output, with the same bits.
    @Test(.enabled(if: myelin_cpu_has_avx2_fma() != 0, "no AVX2+FMA: the kernel declines"), arguments: sizes)
    func bothRowOrdersGiveTheSameBits(n: Int, k: Int) throws {
        let g = RandomGenerator(seed: UInt64(n * 7 + k))
        let w = data([n * k], g).floats, x = data([k], g).floats, bias = data([n], g).floats
        var results: [[UInt32]] = []
        for reversed: Int32 in [0, 1] {
            // NaN where nothing is written: a skipped row shows.
            var y = [Float](repeating: .nan, count: n)
            #expect(myelin_sgemv_rows_fused_directed(w, n, k, k, x, &y, bias, 0, Int32(MYELIN_GEMV_RELU), 0, reversed) == 1)
            #expect(!y.contains { $0.isNaN }, "n \(n) k \(k) reversed \(reversed)")
            results.append(y.map(\.bitPattern))
        }
        #expect(results[0] == results[1], "n \(n) k \(k)")
    }

    @Test func passesOverOneMatrixAlternate() {
        let w = [Float](repeating: 1, count: 8)
        w.withUnsafeBufferPointer { p in
            let first = myelin_sgemv_next_pass_reversed(p.baseAddress)
            #expect(myelin_sgemv_next_pass_reversed(p.baseAddress) == 1 - first)
            #expect(myelin_sgemv_next_pass_reversed(p.baseAddress) == first)
        }
    }

    @Test(.enabled(if: myelin_cpu_has_avx2_fma() != 0, "no AVX2+FMA: fusedLinear declines"), arguments: sizes)
    func fusedLinearGivesTheBitsOfTheSeparateOps(n: Int, k: Int) throws {
        let g = RandomGenerator(seed: UInt64(n * 31 + k))
        let x = data([1, k], g), w = data([n, k], g), b = data([n], g)
        withoutGrad {
            for bias in [nil, b] {
                let y = x.linear(weight: w, bias: bias)
                let cases: [(LinearActivation, Tensor)] = [(.identity, y), (.relu, y.relu()),
                                                           (.leakyRelu(slope: 0.01), Tensor.where(y .> 0, y, y * 0.01))]
                for (activation, want) in cases {
                    guard let got = x.fusedLinear(weight: w, bias: bias, activation: activation) else {
                        Issue.record("fusedLinear declined n \(n) k \(k)")
                        continue
                    }
                    #expect(got.shape == want.shape)
                    #expect(bitPatterns(got) == bitPatterns(want), "n \(n) k \(k) bias \(bias != nil) \(activation)")
                }
                // A 1-D input gives a 1-D output, as linear(weight:bias:) does.
                let flat = x.reshape([k]).fusedLinear(weight: w, bias: bias, activation: .relu)
                #expect(flat?.shape == [n] && flat.map(bitPatterns) == bitPatterns(y.relu().reshape([n])))
            }
        }
    }

    @Test(.enabled(if: myelin_cpu_has_avx2_fma() != 0, "no AVX2+FMA: fusedLinear declines"))
    func weightWithRowsApartFromTheirLength() throws {
        let g = RandomGenerator(seed: 4)
        let wide = Tensor.randn([70, 45], generator: g), w = wide[0..., 2..<39]
        let x = Tensor.randn([1, 37], generator: g), b = Tensor.randn([70], generator: g)
        let got = withoutGrad { x.fusedLinear(weight: w, bias: b, activation: .relu) }
        #expect(got.map(bitPatterns) == bitPatterns(x.linear(weight: w, bias: b).relu()))
    }

    @Test(.enabled(if: myelin_cpu_has_avx2_fma() != 0, "no AVX2+FMA: fusedLinear declines"))
    func stridedInputAndBiasGiveTheBitsOfTheirCopies() throws {
        let g = RandomGenerator(seed: 6)
        let w = Tensor.randn([70, 37], generator: g)
        let x = Tensor.randn([37, 3], generator: g).T[1..<2, 0...], b = Tensor.randn([70, 2], generator: g)[0..., 1]
        #expect(!x.isContiguous && !b.isContiguous)
        let got = withoutGrad { x.fusedLinear(weight: w, bias: b, activation: .relu) }
        #expect(got.map(bitPatterns) == bitPatterns(x.contiguous().linear(weight: w, bias: b.contiguous()).relu()))
    }

    @Test func declinesWhereTheOrdinaryOpsMustRun() {
        let g = RandomGenerator(seed: 2)
        let w = Tensor.randn([8, 5], generator: g), b = Tensor.randn([8], generator: g)
        let x = Tensor.randn([1, 5], generator: g)
        // Several rows, another dtype, a transposed weight (columns contiguous).
        #expect(Tensor.randn([2, 5], generator: g).fusedLinear(weight: w, bias: b, activation: .relu) == nil)
        #expect(x.to(.float64).fusedLinear(weight: w.to(.float64), bias: nil, activation: .relu) == nil)
        #expect(x.fusedLinear(weight: Tensor.randn([5, 8], generator: g).T, bias: b, activation: .relu) == nil)
        // A gradient needed: the op must be recorded.
        let wg = w.requiringGrad()
        #expect(x.fusedLinear(weight: wg, bias: b, activation: .relu) == nil)
        #expect(x.fusedLinear(weight: w, bias: b.requiringGrad(), activation: .relu) == nil)
        #expect(x.requiringGrad().fusedLinear(weight: w, bias: b, activation: .relu) == nil)
        #expect(withoutGrad { x.fusedLinear(weight: wg, bias: b, activation: .relu) } != nil || myelin_cpu_has_avx2_fma() == 0)
    }
}
