import Testing
@testable import MyelinCore
import MyelinTestSupport

/// Elementwise ops, dtype promotion, views, subscripts, conversion and creation against NumPy.
///
/// The cases live in `Fixtures/core.json`, written by `Fixtures/generators/gen_core.py`; each names an
/// op, and `table` says how to run it. Adding an op: one generator block and one row here.
@Suite struct CoreOpsTests {
    typealias Op = @Sendable ([Tensor], FixtureCase) -> Tensor

    static let cases = Fixtures.load("core")

    @Test(arguments: cases)
    func matchesNumPy(_ c: FixtureCase) {
        guard let op = Self.table[c.op] else {
            Issue.record("\(c.name): no table row for op \(c.op)")
            return
        }
        let result = op(c.inputs.map(\.tensor), c)
        expectClose(result, c.expected[0].tensor, rtol: c.rtol, atol: c.atol, c.name)
    }

    /// A misspelt op in the generator would otherwise skip its cases silently.
    @Test func everyFixtureOpHasATableRow() {
        let missing = Set(Self.cases.map(\.op)).subtracting(Self.table.keys).sorted()
        #expect(missing.isEmpty, "ops in core.json without a table row: \(missing)")
    }

    /// And a row no case uses is dead code that looks like coverage.
    @Test func everyTableRowHasFixtureCases() {
        let unused = Set(Self.table.keys).subtracting(Self.cases.map(\.op)).sorted()
        #expect(unused.isEmpty, "table rows without cases in core.json: \(unused)")
    }

    @Test func fixtureFileIsNonTrivial() {
        #expect(Self.cases.count > 300)
        #expect(Set(Self.cases.map(\.name)).count == Self.cases.count, "case names must be unique")
    }

    // MARK: The op table

    static let table: [String: Op] = [
        // Unary math (float results).
        "exp": { i, _ in i[0].exp() },
        "log": { i, _ in i[0].log() },
        "log1p": { i, _ in i[0].log1p() },
        "sqrt": { i, _ in i[0].sqrt() },
        "rsqrt": { i, _ in i[0].rsqrt() },
        "sin": { i, _ in i[0].sin() },
        "cos": { i, _ in i[0].cos() },
        "tanh": { i, _ in i[0].tanh() },
        "sigmoid": { i, _ in i[0].sigmoid() },
        "floor": { i, _ in i[0].floor() },
        "ceil": { i, _ in i[0].ceil() },
        "round": { i, _ in i[0].round() },
        // Unary numeric (dtype kept).
        "neg": { i, _ in -i[0] },
        "abs": { i, _ in i[0].abs() },
        "square": { i, _ in i[0].square() },
        "sign": { i, _ in i[0].sign() },
        "relu": { i, _ in i[0].relu() },
        "clamp": { i, c in
            i[0].clamp(min: c.has("min") ? c.double("min") : nil, max: c.has("max") ? c.double("max") : nil)
        },
        // Binary with broadcasting and promotion.
        "add": { i, _ in i[0] + i[1] },
        "sub": { i, _ in i[0] - i[1] },
        "mul": { i, _ in i[0] * i[1] },
        "div": { i, _ in i[0] / i[1] },
        "pow": { i, _ in i[0].pow(i[1]) },
        "maximum": { i, _ in i[0].maximum(i[1]) },
        "minimum": { i, _ in i[0].minimum(i[1]) },
        // Scalar operands: a Swift Int or Double, on the right or (`left`) on the left.
        "add_scalar": scalar({ x, s, left in left ? s + x : x + s }, { x, s, left in left ? s + x : x + s }),
        "sub_scalar": scalar({ x, s, left in left ? s - x : x - s }, { x, s, left in left ? s - x : x - s }),
        "mul_scalar": scalar({ x, s, left in left ? s * x : x * s }, { x, s, left in left ? s * x : x * s }),
        "div_scalar": scalar({ x, s, left in left ? s / x : x / s }, { x, s, left in left ? s / x : x / s }),
        "pow_scalar": scalar({ x, s, _ in x.pow(s) }, { x, s, _ in x.pow(s) }),
        // Comparisons and logical ops.
        "lt": { i, _ in i[0] .< i[1] },
        "le": { i, _ in i[0] .<= i[1] },
        "gt": { i, _ in i[0] .> i[1] },
        "ge": { i, _ in i[0] .>= i[1] },
        "eq": { i, _ in i[0] .== i[1] },
        "ne": { i, _ in i[0] .!= i[1] },
        "lt_scalar": scalar({ x, s, _ in x .< s }, { x, s, _ in x .< s }),
        "le_scalar": scalar({ x, s, _ in x .<= s }, { x, s, _ in x .<= s }),
        "gt_scalar": scalar({ x, s, _ in x .> s }, { x, s, _ in x .> s }),
        "ge_scalar": scalar({ x, s, _ in x .>= s }, { x, s, _ in x .>= s }),
        "eq_scalar": scalar({ x, s, _ in x .== s }, { x, s, _ in x .== s }),
        "ne_scalar": scalar({ x, s, _ in x .!= s }, { x, s, _ in x .!= s }),
        "and": { i, _ in i[0] .& i[1] },
        "or": { i, _ in i[0] .| i[1] },
        "xor": { i, _ in i[0] .^ i[1] },
        "not": { i, _ in .!i[0] },
        // Compound assignment.
        "iadd": { i, _ in var r = i[0]; r += i[1]; return r },
        "isub": { i, _ in var r = i[0]; r -= i[1]; return r },
        "imul": { i, _ in var r = i[0]; r *= i[1]; return r },
        "idiv": { i, _ in var r = i[0]; r /= i[1]; return r },
        "iadd_scalar": scalar({ x, s, _ in var r = x; r += s; return r }, { x, s, _ in var r = x; r += s; return r }),
        "isub_scalar": scalar({ x, s, _ in var r = x; r -= s; return r }, { x, s, _ in var r = x; r -= s; return r }),
        "imul_scalar": scalar({ x, s, _ in var r = x; r *= s; return r }, { x, s, _ in var r = x; r *= s; return r }),
        "idiv_scalar": scalar({ x, s, _ in var r = x; r /= s; return r }, { x, s, _ in var r = x; r /= s; return r }),
        // Conversion.
        "to": { i, c in i[0].to(dtype(c)) },
        // Views.
        "reshape": { i, c in i[0].reshape(c.ints("shape")!) },
        "flatten": { i, _ in i[0].flattened() },
        "permute": { i, c in i[0].permute(c.ints("order")!) },
        "transpose": { i, c in c.has("a") ? i[0].transposed(c.int("a"), c.int("b")) : i[0].transposed() },
        "T": { i, _ in i[0].T },
        "squeeze": { i, c in c.has("axis") ? i[0].squeezed(axis: c.int("axis")) : i[0].squeezed() },
        "unsqueeze": { i, c in i[0].unsqueezed(axis: c.int("axis")) },
        "expand": { i, c in i[0].expand(c.ints("shape")!) },
        "contiguous": { i, _ in
            let r = i[0].contiguous()
            #expect(r.isContiguous)
            return r
        },
        // Subscripts.
        "index": { i, c in i[0][items: indexItems(c)] },
        "index_set": { i, c in var r = i[0]; r[items: indexItems(c)] = i[1]; return r },
        "index_fill": { i, c in var r = i[0]; r[items: indexItems(c)].fill(c.double("value")); return r },
        // Creation (no inputs).
        "arange": { _, c in Tensor.arange(c.double("start"), c.double("end"), step: c.double("step")) },
        "linspace": { _, c in Tensor.linspace(c.double("start"), c.double("end"), count: c.int("count")) },
        "eye": { _, c in Tensor.eye(c.int("n"), c.has("m") ? c.int("m") : nil) },
        "full": { _, c in Tensor.full(c.ints("shape")!, value: c.double("value"), dtype: dtype(c)) },
    ]

    // MARK: Helpers for the rows

    /// A row for an op with a scalar operand, which is generic in Swift: the fixture's `integral` picks
    /// `Int` or `Double` (that choice decides the result dtype), `left` puts the scalar first.
    static func scalar(_ int: @escaping @Sendable (Tensor, Int, Bool) -> Tensor,
                       _ double: @escaping @Sendable (Tensor, Double, Bool) -> Tensor) -> Op {
        { i, c in
            let left = c.has("left") && c.bool("left")
            return c.bool("integral") ? int(i[0], c.int("value"), left) : double(i[0], c.double("value"), left)
        }
    }

    static func dtype(_ c: FixtureCase) -> DType {
        guard let name = c.string("dtype"), let d = DType(rawValue: name) else { fatalError("\(c.name): bad dtype param") }
        return d
    }

    /// The subscript items of a case, in the encoding gen_core.py documents: an Int, "all", "newaxis",
    /// "ellipsis", or an object naming a Swift index form (`slice`, `range`, `closed`, `from`, `upTo`,
    /// `through`, `stride`), so each form of `TensorIndex` is exercised as a user would write it.
    static func indexItems(_ c: FixtureCase) -> [TensorIndex] {
        guard case .array(let items)? = c.params["index"] else { fatalError("\(c.name): missing index param") }
        func int(_ v: JSONValue) -> Int? {
            if case .number(let n) = v { return Int(n) }
            return nil
        }
        func ints(_ v: JSONValue) -> [Int?] {
            if case .array(let a) = v { return a.map(int) }
            return [int(v)]
        }
        return items.map { item -> TensorIndex in
            switch item {
            case .number(let n): return Int(n)
            case .string("all"): return TensorIndexItem.all
            case .string("newaxis"): return TensorIndexItem.newAxis
            case .string("ellipsis"): return TensorIndexItem.ellipsis
            case .object(let o) where o.count == 1:
                let (kind, value) = o.first!
                let v = ints(value)
                switch kind {
                case "slice": return TensorIndexItem.slice(v[0], v[1], step: v[2]!)
                case "range": return v[0]! ..< v[1]!
                case "closed": return v[0]! ... v[1]!
                case "from": return v[0]!...
                case "upTo": return ..<v[0]!
                case "through": return ...v[0]!
                case "stride": return stride(from: v[0]!, to: v[1]!, by: v[2]!)
                default: fatalError("\(c.name): unknown index kind \(kind)")
                }
            default: fatalError("\(c.name): bad index item \(item)")
            }
        }
    }

    // MARK: Large operands (the fixtures are small; these take the multi-threaded, chunked paths)

    /// Big enough for `Threading.parallelChunks` to split (2 x 32K elements), with non-contiguous
    /// and broadcast operands whose chunk boundaries fall mid-row; checked against plain loops.
    @Test func largeNonContiguousOpsMatchPlainLoops() {
        let rows = 301, cols = 257
        let base = Tensor.arange(rows * cols, dtype: .float32).reshape([rows, cols]) * 0.001
        let values = base.floats
        let t = base.T                                                     // [cols, rows], strided
        let row = Tensor.arange(rows, dtype: .float32) * -1                // broadcast along axis 0
        var expected = [Float](repeating: 0, count: rows * cols)
        for i in 0..<cols { for j in 0..<rows { expected[i * rows + j] = values[j * cols + i] - Float(j) } }
        #expect((t + row).floats == expected)
        #expect(t.contiguous().floats == (0..<(rows * cols)).map { values[($0 % rows) * cols + $0 / rows] })
        let rev = base[.slice(nil, nil, step: -1)]
        var expRev = [Float](repeating: 0, count: rows * cols)
        for i in 0..<rows { for j in 0..<cols { expRev[i * cols + j] = Float.exp(values[(rows - 1 - i) * cols + j]) } }
        let e = rev.exp().floats
        #expect(zip(e, expRev).allSatisfy { Swift.abs($0 - $1) <= 1e-5 * Swift.abs($1) })
        #expect((t .> 40).bools == expected.indices.map { values[($0 % rows) * cols + $0 / rows] > 40 })
        var big = Tensor.zeros([rows, cols], dtype: .int32)
        big[.all, .slice(nil, nil, step: 2)] = Tensor(scalar: Int32(1))
        #expect(big.ints.enumerated().allSatisfy { $1 == ($0 % cols % 2 == 0 ? 1 : 0) })
    }

    // MARK: Integer overflow (outside the fixture file: a trap would end the whole test process)

    // NumPy and PyTorch wrap integer arithmetic around (int32 max + 1 == int32 min). These run in a
    // child process so that a trapping kernel fails one test instead of crashing the run.

    @Test func int32AdditionWrapsLikeNumPy() async {
        await #expect(processExitsWith: .success) {
            let r = Tensor(scalars: [Int32.max, 5]) + Tensor(scalars: [Int32(1), 1])
            precondition(r.scalars(as: Int32.self) == [Int32.min, 6])
        }
    }

    @Test func int64MultiplicationWrapsLikeNumPy() async {
        await #expect(processExitsWith: .success) {
            let r = Tensor(scalars: [Int64(1) << 62]) * Tensor(scalars: [Int64(4)])
            precondition(r.scalars(as: Int64.self) == [0])
        }
    }

    @Test func negatingInt32MinWrapsLikeNumPy() async {
        await #expect(processExitsWith: .success) {
            let r = -Tensor(scalars: [Int32.min, 3])
            precondition(r.scalars(as: Int32.self) == [Int32.min, -3])
        }
    }
}
