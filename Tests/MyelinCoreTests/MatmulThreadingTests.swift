#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import MyelinCore

/// Products big enough for `BLAS.gemm` to split across threads, by columns (n >= m) or rows,
/// or a single row times a matrix split into column chunks, with plain and transposed operands and widths that are not multiples of the split alignment.
@Suite struct MatmulThreadingTests {
    static func reference(_ a: Tensor, _ b: Tensor) -> [Double] {
        let m = a.shape[0], k = a.shape[1], n = b.shape[1]
        let x = a.contiguous().doubles, y = b.contiguous().doubles
        var out = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for p in 0..<k {
                let v = x[i * k + p]
                for j in 0..<n { out[i * n + j] += v * y[p * n + j] }
            }
        }
        return out
    }

    /// OpenBLAS's `blas_server_avail` flag (1 while its worker threads exist), or nil for a BLAS
    /// without them.
    static var openBLASServerFlag: UnsafeMutableRawPointer? {
        #if canImport(Glibc)
        dlsym(UnsafeMutableRawPointer(bitPattern: 0), "blas_server_avail")
        #else
        nil
        #endif
    }

    /// OpenBLAS's own worker threads, which poll for work for the process's first tenth of a
    /// second, are stopped once the first tensor exists (Myelin's pool splits the products), and
    /// products still run.
    @Test(.enabled(if: openBLASServerFlag != nil, "this BLAS has no worker threads"))
    func openBLASThreadsAreStoppedAtTheFirstTensor() throws {
        let flag = try #require(Self.openBLASServerFlag)
        _ = Tensor.zeros([1])
        #expect(flag.load(as: Int32.self) == 0)
        let a = Tensor.ones([40, 300]), b = Tensor.ones([300, 50])
        #expect(a.matmul(b).floats.allSatisfy { $0 == 300 })
    }

    @Test(arguments: [(20, 200, 601, false), (20, 200, 601, true), (700, 160, 24, false), (48, 180, 333, true),
                      (1, 784, 301, true), (1, 700, 300, false)])
    func splitProductsMatchTheSerialSum(m: Int, k: Int, n: Int, transposedB: Bool) {
        // Rows split above parallelThreshold; a single row (batch-1 inference) above 2^17 weights.
        #expect(m == 1 ? k * n >= 1 << 17 : m * k * n >= BLAS.parallelThreshold)
        let g = RandomGenerator(seed: UInt64(m + n))
        let a = Tensor.randn([m, k], generator: g)
        let b = transposedB ? Tensor.randn([n, k], generator: g).T : Tensor.randn([k, n], generator: g)
        let got = a.matmul(b).doubles
        let want = Self.reference(a, b)
        let worst = zip(got, want).map { abs($0 - $1) / (1 + abs($1)) }.max()!
        #expect(worst < 1e-4, "worst relative error \(worst) for [\(m), \(k)] x [\(k), \(n)]")
    }
}

/// The batch-1 matrix-vector kernel (`myelin_sgemv_rows`): four rows per pass plus leftover rows,
/// 16- and 8-wide steps plus a scalar tail, rows further apart than their length, with and
/// without a bias to add onto.
@Suite struct RowTimesMatrixTests {
    @Test(arguments: [(1, 1), (7, 3), (8, 5), (15, 4), (16, 13), (33, 9), (784, 6), (257, 130)])
    func matchesTheSerialSum(k: Int, n: Int) {
        let g = RandomGenerator(seed: UInt64(k * 31 + n))
        let x = Tensor.randn([1, k], generator: g)
        // Rows of the weight are 5 elements further apart than their length: a column slice.
        let wide = Tensor.randn([n, k + 5], generator: g)
        let w = wide[0..., 2..<(k + 2)]
        let b = Tensor.randn([n], generator: g)
        let want = MatmulThreadingTests.reference(x, w.T.contiguous())
        let plain = x.matmul(w.T).doubles
        let biased = x.linear(weight: w, bias: b).doubles
        let bs = b.doubles
        let worstPlain = zip(plain, want).map { abs($0 - $1) / (1 + abs($1)) }.max()!
        let worstBiased = zip(biased, zip(want, bs).map { $0 + $1 }).map { abs($0 - $1) / (1 + abs($1)) }.max()!
        #expect(worstPlain < 1e-5 && worstBiased < 1e-5, "k \(k) n \(n): \(worstPlain), \(worstBiased)")
    }
}
