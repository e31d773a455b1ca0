import Testing
import CMyelinKernels
@testable import MyelinCore

/// Myelin's packed float64 product (`dgemm.c` through `PackedDgemm`): bit for bit the chain of
/// fused multiply-adds in increasing k that it promises, for shapes that are not multiples of the
/// microkernel tiles or of the k and n blocking, either operand transposed, with and without
/// accumulation, from every microkernel this CPU has and on 1 to 4 threads.
@Suite struct DgemmKernelTests {
    typealias Problem = GemmProblem<Double>

    static let isas: [PackedDgemm.ISA] = [.scalar, .avx2, .avx512]

    @Test(arguments: [(1, 1, 1), (2, 3, 1), (13, 17, 7), (12, 16, 256), (25, 33, 257), (7, 100, 300),
                      (100, 7, 513), (61, 97, 600), (130, 40, 33)])
    func isTheFusedMultiplyAddChainOnEveryKernelAndThreadCount(m: Int, n: Int, k: Int) {
        for (transA, transB) in [(false, false), (true, false), (false, true), (true, true)] {
            let problem = Problem(m: m, n: n, k: k, transA: transA, transB: transB, seed: UInt64(m * 1000 + n * 10 + k))
            for accumulate in [false, true] {
                let want = problem.fmaChain(accumulate: accumulate).map(\.bitPattern)
                for isa in Self.isas {
                    for threads in [1, 2, 3] {
                        guard let got = problem.run(accumulate: accumulate, threads: threads, isa: isa) else { continue }
                        #expect(got.map(\.bitPattern) == want,
                                "\(m)x\(k)x\(n) transA \(transA) transB \(transB) accumulate \(accumulate) \(isa) on \(threads) threads")
                    }
                }
            }
        }
    }

    @Test func splitProductsAndLargeBlocksKeepTheBits() {
        // Split across threads (columns, then rows), more rows than an A block (mc 240 / 120),
        // more columns than a B block (nc 2048; 1024 for the portable kernel), several k blocks.
        for (m, n, k) in [(40, 300, 700), (300, 50, 400), (9, 40, 5000), (13, 2100, 20), (260, 2070, 9)] {
            let problem = Problem(m: m, n: n, k: k, transA: false, transB: true, seed: UInt64(k))
            let want = problem.fmaChain(accumulate: true).map(\.bitPattern)
            for isa in Self.isas {
                for threads in [1, 2, 4] {
                    guard let got = problem.run(accumulate: true, threads: threads, isa: isa) else { continue }
                    #expect(got.map(\.bitPattern) == want, "\(m)x\(k)x\(n) \(isa) on \(threads) threads")
                }
            }
        }
    }

    @Test func eachMicrokernelThisCPUHasRuns() {
        #expect(myelin_dgemm(PackedDgemm.ISA.scalar.rawValue, 0, 0, 0, nil, 1, 0, nil, 1, 0, nil, 1, 0) == 1)
        #expect(myelin_dgemm(PackedDgemm.ISA.avx2.rawValue, 0, 0, 0, nil, 1, 0, nil, 1, 0, nil, 1, 0) == myelin_cpu_has_avx2_fma())
        #expect(myelin_dgemm(PackedDgemm.ISA.avx512.rawValue, 0, 0, 0, nil, 1, 0, nil, 1, 0, nil, 1, 0) == myelin_cpu_has_avx512f())
    }

    @Test(.enabled(if: PackedSgemm.preferred, "no AVX2+FMA here, or BLAS has FMA kernels: products go to BLAS"))
    func float64MatmulOfTensorsUsesIt() throws {
        let g = RandomGenerator(seed: 11)
        let a = Tensor.randn([37, 129], generator: g).to(.float64), b = Tensor.randn([129, 71], generator: g).to(.float64)
        let got = a.matmul(b).doubles
        // The fma chain bit for bit (OpenBLAS's SSE3 kernel would round differently somewhere).
        let x = a.doubles, y = b.doubles
        var want = [Double](repeating: 0, count: 37 * 71)
        for i in 0..<37 {
            for j in 0..<71 {
                var s = 0.0
                for p in 0..<129 { s = s.addingProduct(x[i * 129 + p], y[p * 71 + j]) }
                want[i * 71 + j] = s
            }
        }
        #expect(got.map(\.bitPattern) == want.map(\.bitPattern))
        let worst = zip(got, MatmulThreadingTests.reference(a, b)).map { abs($0 - $1) / (1 + abs($1)) }.max()!
        #expect(worst < 1e-13)
    }
}

extension GemmProblem where T == Double {
    func run(accumulate: Bool, threads: Int, isa: PackedDgemm.ISA) -> [Double]? {
        run { a, b, c in
            PackedDgemm.run(a, opA, b, opB, c, m: m, n: n, k: k, accumulate: accumulate, threads: threads, isa: isa)
        }
    }

    /// What the kernel promises: c = fma(a[k-1], b[k-1], ... fma(a[0], b[0], c0 or 0)).
    func fmaChain(accumulate: Bool) -> [Double] {
        var out = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var s = accumulate ? c0[i * n + j] : 0
                for p in 0..<k { s = s.addingProduct(aAt(i, p), bAt(p, j)) }
                out[i * n + j] = s
            }
        }
        return out
    }
}
