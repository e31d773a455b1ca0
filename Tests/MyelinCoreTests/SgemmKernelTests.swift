import Testing
import CMyelinKernels
@testable import MyelinCore

/// Myelin's packed float32 product (`sgemm.c` through `PackedSgemm`): against a float64 sum for
/// shapes that are not multiples of the microkernel tiles or of the k blocking, with either
/// operand transposed and with accumulation; the same bits from every microkernel and thread count.
@Suite struct SgemmKernelTests {
    typealias Problem = GemmProblem<Float>

    static let isas: [PackedSgemm.ISA] = [.scalar, .avx2, .avx512]

    // Rows left for the last panels: 1, 7, 8 and 4 (the AVX-512 8-row kernel, in place and
    // through the edge tile), 10 (the 12-row kernel's edge tile), 13 and 16 (two short panels:
    // 8 + 5, 8 + 8).
    @Test(arguments: [(1, 1, 1), (2, 3, 1), (13, 33, 7), (12, 32, 256), (25, 65, 257), (7, 100, 300),
                      (100, 7, 513), (61, 97, 600), (130, 40, 33), (20, 70, 300), (8, 64, 513), (16, 96, 260),
                      (28, 64, 40)])
    func matchesTheFloat64SumWithTheSameBitsEverywhere(m: Int, n: Int, k: Int) {
        for (transA, transB) in [(false, false), (true, false), (false, true), (true, true)] {
            let problem = Problem(m: m, n: n, k: k, transA: transA, transB: transB, seed: UInt64(m * 1000 + n * 10 + k))
            for accumulate in [false, true] {
                let want = problem.reference(accumulate: accumulate)
                let base = problem.run(accumulate: accumulate, threads: 1, isa: .scalar)!
                let worst = zip(base, want).map { abs(Double($0) - $1) / (1 + abs($1)) }.max()!
                #expect(worst < 2e-6 * Double(k).squareRoot() + 1e-6,
                        "\(m)x\(k)x\(n) transA \(transA) transB \(transB) accumulate \(accumulate): \(worst)")
                for isa in Self.isas {
                    for threads in [1, 2, 3] {
                        guard let got = problem.run(accumulate: accumulate, threads: threads, isa: isa) else { continue }
                        #expect(got.map(\.bitPattern) == base.map(\.bitPattern),
                                "\(m)x\(k)x\(n) \(isa) on \(threads) threads differs from the scalar kernel")
                    }
                }
            }
        }
    }

    @Test func splitProductsAndLargeKKeepTheBits() {
        // Big enough to split across threads (columns, then rows), and k spanning several k blocks.
        for (m, n, k) in [(40, 300, 700), (300, 50, 400), (9, 40, 5000)] {
            let problem = Problem(m: m, n: n, k: k, transA: false, transB: true, seed: UInt64(k))
            let base = problem.run(accumulate: true, threads: 1, isa: .scalar)!
            let want = problem.reference(accumulate: true)
            let worst = zip(base, want).map { abs(Double($0) - $1) / (1 + abs($1)) }.max()!
            #expect(worst < 2e-6 * Double(k).squareRoot() + 1e-6, "\(m)x\(k)x\(n): \(worst)")
            for isa in Self.isas {
                for threads in [1, 2, 4] {
                    guard let got = problem.run(accumulate: true, threads: threads, isa: isa) else { continue }
                    #expect(got.map(\.bitPattern) == base.map(\.bitPattern), "\(m)x\(k)x\(n) \(isa) on \(threads) threads")
                }
            }
        }
    }

    @Test func aBPackedOnceGivesTheBitsOfRun() {
        // Recurrent layers' shapes (few rows, B reused at every step), edges that are not whole
        // tiles, several k blocks, splits by columns and by rows. 8 and 16 rows over whole column
        // panels take the AVX-512 kernel that reads A in place.
        for (m, n, k, transB) in [(32, 1024, 256, true), (32, 256, 1024, false), (5, 70, 300, true),
                                  (64, 40, 600, false), (1, 33, 7, false), (13, 33, 1, true),
                                  (16, 1024, 256, true), (8, 256, 1024, false), (16, 96, 600, false), (16, 70, 300, true)] {
            let problem = Problem(m: m, n: n, k: k, transA: false, transB: transB, seed: UInt64(m + n + k))
            for isa in Self.isas {
                let packed = problem.b.withUnsafeBufferPointer {
                    PackedSgemm.PackedB($0.baseAddress!, problem.opB, k: k, n: n, isa: isa)
                }
                guard let packed else { continue }
                for accumulate in [false, true] {
                    let base = problem.run(accumulate: accumulate, threads: 1, isa: isa)!
                    for threads in [1, 2, 3] {
                        var c = problem.c0
                        problem.a.withUnsafeBufferPointer { pa in
                            c.withUnsafeMutableBufferPointer { pc in
                                packed.multiply(pa.baseAddress!, problem.opA, pc.baseAddress!, m: m,
                                                accumulate: accumulate, threads: threads)
                            }
                        }
                        #expect(c.map(\.bitPattern) == base.map(\.bitPattern),
                                "\(m)x\(k)x\(n) \(isa) accumulate \(accumulate) on \(threads) threads")
                    }
                }
            }
        }
    }

    @Test func eachMicrokernelThisCPUHasRuns() {
        #expect(myelin_sgemm(PackedSgemm.ISA.scalar.rawValue, 0, 0, 0, nil, 1, 0, nil, 1, 0, nil, 1, 0) == 1)
        #expect(myelin_sgemm(PackedSgemm.ISA.avx2.rawValue, 0, 0, 0, nil, 1, 0, nil, 1, 0, nil, 1, 0) == myelin_cpu_has_avx2_fma())
        #expect(myelin_sgemm(PackedSgemm.ISA.avx512.rawValue, 0, 0, 0, nil, 1, 0, nil, 1, 0, nil, 1, 0) == myelin_cpu_has_avx512f())
    }

    @Test func matmulOfTensorsUsesItAndMatchesTheReference() {
        let g = RandomGenerator(seed: 7)
        let a = Tensor.randn([37, 129], generator: g), b = Tensor.randn([129, 71], generator: g)
        let got = a.matmul(b).doubles
        let want = MatmulThreadingTests.reference(a, b)
        let worst = zip(got, want).map { abs($0 - $1) / (1 + abs($1)) }.max()!
        #expect(worst < 1e-5)
    }
}

extension GemmProblem where T == Float {
    func run(accumulate: Bool, threads: Int, isa: PackedSgemm.ISA) -> [Float]? {
        run { a, b, c in
            PackedSgemm.run(a, opA, b, opB, c, m: m, n: n, k: k, accumulate: accumulate, threads: threads, isa: isa)
        }
    }

    /// The product summed in float64.
    func reference(accumulate: Bool) -> [Double] {
        var out = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var s = accumulate ? Double(c0[i * n + j]) : 0
                for p in 0..<k { s += Double(aAt(i, p)) * Double(bAt(p, j)) }
                out[i * n + j] = s
            }
        }
        return out
    }
}
