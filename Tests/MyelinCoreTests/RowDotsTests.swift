import Testing
import CMyelinKernels
@testable import MyelinCore

/// k-means' row dots (`rowdots.c`): against a long-double-free exact-ish reference (float64 sums of
/// integers scaled by a power of two, so every product and sum is exact), and the same bits from
/// every kernel this CPU has, for odd row and centre counts and lengths that are not multiples of 8.
@Suite struct RowDotsTests {
    @Test(arguments: [(1, 1, 1), (3, 5, 7), (2, 2, 8), (7, 3, 9), (256, 10, 784), (5, 11, 17)])
    func matchesExactSumsWithTheSameBitsOnEveryKernel(rows: Int, k: Int, cols: Int) {
        var state: UInt64 = UInt64(rows * 131 + k * 7 + cols) | 1
        func next() -> Double {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Double(Int(state % 2001) - 1000) / 1024   // exact in float64, as are their sums here
        }
        let x = (0..<(rows * cols)).map { _ in next() }, c = (0..<(k * cols)).map { _ in next() }
        var exact = [Double](repeating: 0, count: rows * k)
        for i in 0..<rows { for j in 0..<k { for p in 0..<cols { exact[i * k + j] += x[i * cols + p] * c[j * cols + p] } } }
        func run(_ isa: PackedSgemm.ISA) -> [Double]? {
            if isa == .avx512 && myelin_cpu_has_avx512f() == 0 || isa == .avx2 && myelin_cpu_has_avx2_fma() == 0 { return nil }
            var out = [Double](repeating: .nan, count: rows * k)
            x.withUnsafeBufferPointer { xp in
                c.withUnsafeBufferPointer { cp in
                    out.withUnsafeMutableBufferPointer { o in
                        RowDots.compute(xp.baseAddress!, rows: rows, centers: cp.baseAddress!, k: k, cols: cols,
                                        into: o.baseAddress!, isa: isa)
                    }
                }
            }
            return out
        }
        let scalar = run(.scalar)!
        #expect(scalar == exact, "\(rows)x\(k)x\(cols)")
        for isa in [PackedSgemm.ISA.avx2, .avx512] {
            guard let got = run(isa) else { continue }
            #expect(got.map(\.bitPattern) == scalar.map(\.bitPattern), "\(isa) \(rows)x\(k)x\(cols)")
        }
    }

    @Test func roundingFollowsTheFixedLaneOrder() {
        // 1e16 + 1 - 1e16 in one lane chain loses the 1; spread over lanes 0, 1 and 4 the fixed
        // reduction ((l0 + l4) + ...) + (l1 + ...) keeps it: (1e16 - 1e16) + 1 = 1.
        var x = [Double](repeating: 0, count: 8), c = [Double](repeating: 1, count: 8)
        (x[0], x[1], x[4]) = (1e16, 1, -1e16)
        var out = [0.0]
        x.withUnsafeBufferPointer { xp in
            c.withUnsafeBufferPointer { cp in
                RowDots.compute(xp.baseAddress!, rows: 1, centers: cp.baseAddress!, k: 1, cols: 8, into: &out)
            }
        }
        #expect(out == [1])
    }
}
