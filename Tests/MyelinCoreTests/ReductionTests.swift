import Testing
@testable import MyelinCore
import MyelinTestSupport

/// Reductions and linear algebra against NumPy (Fixtures/reduce.json, from generators/gen_reduce.py).
@Suite struct ReductionTests {
    typealias Op = @Sendable ([Tensor], FixtureCase) -> Tensor

    /// The op table: one row per fixture op name.
    static let ops: [String: Op] = [
        "sum": { x, c in x[0].sum(axes: c.ints("axes"), keepDims: c.bool("keepDims")) },
        "mean": { x, c in x[0].mean(axes: c.ints("axes"), keepDims: c.bool("keepDims")) },
        "prod": { x, c in x[0].prod(axes: c.ints("axes"), keepDims: c.bool("keepDims")) },
        "max": { x, c in x[0].max(axes: c.ints("axes"), keepDims: c.bool("keepDims")) },
        "min": { x, c in x[0].min(axes: c.ints("axes"), keepDims: c.bool("keepDims")) },
        "var": { x, c in x[0].variance(axes: c.ints("axes"), keepDims: c.bool("keepDims")) },
        "varBiased": { x, c in x[0].variance(axes: c.ints("axes"), unbiased: false, keepDims: c.bool("keepDims")) },
        "std": { x, c in x[0].std(axes: c.ints("axes"), keepDims: c.bool("keepDims")) },
        "logsumexp": { x, c in x[0].logsumexp(axes: c.ints("axes"), keepDims: c.bool("keepDims")) },
        "norm1": { x, c in x[0].norm(p: 1, axes: c.ints("axes"), keepDims: c.bool("keepDims")) },
        "norm2": { x, c in x[0].norm(axes: c.ints("axes"), keepDims: c.bool("keepDims")) },
        "norm3": { x, c in x[0].norm(p: 3, axes: c.ints("axes"), keepDims: c.bool("keepDims")) },
        "normInf": { x, c in x[0].norm(p: .infinity, axes: c.ints("axes"), keepDims: c.bool("keepDims")) },
        "all": { x, c in x[0].all(axes: c.ints("axes")) },
        "any": { x, c in x[0].any(axes: c.ints("axes")) },
        "argmax": { x, c in x[0].argmax(axis: c.has("axis") ? c.int("axis") : nil, keepDims: c.bool("keepDims")) },
        "argmin": { x, c in x[0].argmin(axis: c.has("axis") ? c.int("axis") : nil, keepDims: c.bool("keepDims")) },
        "cumsum": { x, c in x[0].cumsum(axis: c.int("axis")) },
        "matmul": { x, _ in x[0].matmul(x[1]) },
        "dot": { x, _ in x[0].dot(x[1]) },
        "outer": { x, _ in x[0].outer(x[1]) },
    ]

    @Test(arguments: Fixtures.load("reduce"))
    func matchesNumPy(_ c: FixtureCase) {
        guard let op = Self.ops[c.op] else {
            Issue.record("no table row for fixture op \(c.op)")
            return
        }
        expectClose(op(c.inputs.map(\.tensor), c), c.expected[0].tensor, rtol: c.rtol, atol: c.atol, c.name)
    }

    /// The comparison itself must catch a wrong value, a wrong shape and a wrong dtype.
    @Test func comparatorCatchesDifferences() {
        withKnownIssue { expectClose(Tensor([1.0, 2.0]), Tensor([1.0, 2.1])) }
        withKnownIssue { expectClose(Tensor([1.0, 2.0]), Tensor([[1.0, 2.0]])) }
        withKnownIssue { expectClose(Tensor([1.0, 2.0]), Tensor([1.0, 2.0], dtype: .float64)) }
        withKnownIssue { expectClose(Tensor([Float.nan]), Tensor([1.0])) }
    }

    @Test func everyFixtureOpHasARow() {
        let missing = Set(Fixtures.load("reduce").map(\.op)).subtracting(Self.ops.keys)
        #expect(missing.isEmpty, "fixture ops without a table row: \(missing.sorted())")
    }

    /// Big reductions take the multi-threaded paths; they must agree with a Float64 reference.
    @Test(arguments: [1, 2])
    func largeReductionsAgreeAcrossThreadCounts(threads: Int) {
        ThreadCountGuard.changing {
            let saved = Threading.count
            Threading.count = threads
            defer { Threading.count = saved }
            let x = Tensor.uniform([300, 700], low: -1, high: 1, dtype: .float64, generator: RandomGenerator(seed: 3))
            let xf = x.to(.float32)
            let rowSums = x.doubles.chunked(700).map { $0.reduce(0, +) }
            var colSums = [Double](repeating: 0, count: 700)
            for (i, v) in x.doubles.enumerated() { colSums[i % 700] += v }
            expectClose(xf.sum(axes: [1]), Tensor(shape: [300], doubles: rowSums, dtype: .float32), rtol: 1e-4, atol: 1e-4, "row sums")
            expectClose(xf.sum(axes: [0]), Tensor(shape: [700], doubles: colSums, dtype: .float32), rtol: 1e-4, atol: 1e-4, "column sums")
            expectClose(xf.T.sum(axes: [1]), Tensor(shape: [700], doubles: colSums, dtype: .float32), rtol: 1e-4, atol: 1e-4, "transposed")
            #expect(Swift.abs(xf.sum().item() - rowSums.reduce(0, +)) < 1e-2)
            #expect(x.max().item() == x.doubles.max())
        }
    }

    @Test func largeMatmulMatchesNaiveProduct() {
        let g = RandomGenerator(seed: 5)
        let a = Tensor.normal([70, 50], dtype: .float64, generator: g), b = Tensor.normal([50, 30], dtype: .float64, generator: g)
        let av = a.doubles, bv = b.doubles
        var ref = [Double](repeating: 0, count: 70 * 30)
        for i in 0..<70 { for p in 0..<50 { for j in 0..<30 { ref[i * 30 + j] += av[i * 50 + p] * bv[p * 30 + j] } } }
        expectClose(a.matmul(b), Tensor(shape: [70, 30], scalars: ref), rtol: 1e-10, atol: 1e-10)
        // Transposed views go to BLAS without copies and give the same numbers.
        expectClose(b.T.matmul(a.T), Tensor(shape: [70, 30], scalars: ref).T.contiguous(), rtol: 1e-10, atol: 1e-10)
    }
}

extension Array {
    func chunked(_ n: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: n).map { self[$0..<Swift.min($0 + n, count)] }
    }
}
