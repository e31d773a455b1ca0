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
