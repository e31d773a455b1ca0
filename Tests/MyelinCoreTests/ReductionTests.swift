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

/// Float sums of many terms: blocks added pairwise, so the error grows with the log of the count.
/// One running total per accumulator gave 99,910 for a million float32 0.1s and 10,022 for the
/// mean of two columns of 10,000.1 (PyTorch: 100,000.008 and 10,000.1).
@Suite struct LongSumAccuracyTests {
    /// Relative error of `value` against `exact`.
    static func relative(_ value: Double, _ exact: Double) -> Double { Swift.abs(value - exact) / Swift.abs(exact) }

    @Test func longFloat32SumsStayAccurate() {
        let tenth = Double(Float(0.1))
        #expect(Self.relative(Tensor.full([1_000_000], value: 0.1).sum().item(), 1_000_000 * tenth) < 1e-6)
        // Outer axes (a batch mean), inner axes, a strided view, and both at once; within 5e-6, as
        // PyTorch 2.15 (its 3-D case is 2.3e-6 off; NumPy's batch mean 1.3e-2, 10131.192).
        let v = Double(Float(10000.1))
        for x in [Tensor.full([1_000_000, 2], value: 10000.1), Tensor.full([2, 500_000], value: 10000.1).T,
                  Tensor.full([400, 3, 1000], value: 10000.1).transposed(0, 1)] {
            let keep = x.shape.firstIndex(of: x.shape.min()!)!
            let axes = (0..<x.rank).filter { $0 != keep }
            let means: [Double] = x.mean(axes: axes).doubles, all: Double = x.mean().item()
            for m in means { #expect(Self.relative(m, v) < 5e-6, Comment(rawValue: "\(x.shape) over \(axes): \(m)")) }
            #expect(Self.relative(all, v) < 5e-6, Comment(rawValue: "\(x.shape): \(all)"))
        }
        let strided = Tensor.full([2_000_000], value: 0.1)[.slice(0, nil, step: 2)]
        #expect(Self.relative(strided.sum().item(), 1_000_000 * tenth) < 1e-6)
        // Random values against a float64 sum of the same float32 numbers.
        let g = RandomGenerator(seed: 5)
        let r = Tensor.uniform([3000, 700], low: 0, high: 1, generator: g)
        let exact = r.to(.float64).sum(axes: [0]).doubles
        for (a, b) in zip(r.sum(axes: [0]).doubles, exact) { #expect(Self.relative(a, b) < 1e-6) }
        #expect(Self.relative(r.sum().item(), r.to(.float64).sum().item()) < 1e-6)
        // A conv bias's gradient: N sums of contiguous H x W runs per channel (no blocks needed).
        let maps = Tensor.uniform([64, 4, 26, 26], low: 0, high: 1, generator: g)
        for (a, b) in zip(maps.sum(axes: [0, 2, 3]).doubles, maps.to(.float64).sum(axes: [0, 2, 3]).doubles) {
            #expect(Self.relative(a, b) < 1e-6)
        }
    }

    /// Integer sums stay exact, maxima and minima are unchanged by the blocking.
    @Test func integerSumsAndExtremaAreExact() {
        let n = 300_001
        let x = Tensor.arange(n)
        #expect(x.sum().item(as: Int64.self) == Int64(n) * Int64(n - 1) / 2)
        let columns = Tensor.arange(2 * n).reshape([n, 2])
        #expect(columns.sum(axes: [0]).scalars(as: Int64.self) == [Int64(n) * Int64(n - 1), Int64(n) * Int64(n - 1) + Int64(n)])
        let f = Tensor.arange(0, Double(n), dtype: .float32).reshape([n, 1]) * Tensor([1.0, -1.0])
        #expect(f.max(axes: [0]).floats == [Float(n - 1), 0] && f.min(axes: [0]).floats == [0, -Float(n - 1)])
    }
}

/// Integers beyond 2^53 stay exact through literals, `arange` and `item` (they went through
/// Double: 9007199254740993 became ...992, and arange gave a duplicate). PyTorch is exact in all.
@Suite struct LargeIntegerTests {
    @Test func literalsArangeAndItemAreExact() {
        let big: Int64 = 9_007_199_254_740_993
        #expect(Tensor([9_007_199_254_740_993]).scalars(as: Int64.self) == [big])
        #expect(Tensor([[Int64.max, Int64.min], [big, -big]]).scalars(as: Int64.self) == [Int64.max, Int64.min, big, -big])
        #expect(Tensor([Int32.max, 3], dtype: .int32).scalars(as: Int32.self) == [Int32.max, 3])
        #expect(Tensor(shape: [1], scalars: [big]).item(as: Int64.self) == big)
        #expect(Tensor.arange(9_007_199_254_740_990, 9_007_199_254_740_995).scalars(as: Int64.self)
                == (0..<5).map { 9_007_199_254_740_990 + Int64($0) })
        #expect(Tensor.arange(2, 11, step: 3).scalars(as: Int64.self) == [2, 5, 8])
        #expect(Tensor.arange(5, 0, step: -2).scalars(as: Int64.self) == [5, 3, 1])
        // The overloads keep their meaning: integers give int64, a fractional step float32.
        #expect(Tensor.arange(0, 5).dtype == .int64 && Tensor.arange(0, 1, step: 0.25).floats == [0, 0.25, 0.5, 0.75])
        #expect(Tensor.arange(0, 3, dtype: .float32).floats == [0, 1, 2] && Tensor.arange(3).ints == [0, 1, 2])
        // Floats and bools as before; an empty literal keeps its shape.
        #expect(Tensor([1.5, 2]).dtype == .float32 && Tensor([true, false]).dtype == .bool)
        #expect(Tensor([[Int]]([[], []])).shape == [2, 0])
    }
}
