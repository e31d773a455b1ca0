import Testing
@testable import MyelinCore
import MyelinTestSupport

/// Every differentiable op against central finite differences in Float64: one row per op.
/// Inputs are chosen inside each op's domain and away from kinks (relu at 0, abs at 0, ties).
@Suite struct GradCheckTests {
    struct Row: CustomTestStringConvertible, Sendable {
        let name: String
        let shapes: [[Int]]
        /// Maps standard normals to the op's domain (e.g. positive for log).
        let domain: @Sendable (Tensor) -> Tensor
        let f: @Sendable ([Tensor]) -> Tensor
        var testDescription: String { name }

        init(_ name: String, _ shapes: [[Int]], domain: @escaping @Sendable (Tensor) -> Tensor = { $0 },
             _ f: @escaping @Sendable ([Tensor]) -> Tensor) {
            self.name = name
            self.shapes = shapes
            self.domain = domain
            self.f = f
        }
    }

    static let positive: @Sendable (Tensor) -> Tensor = { $0.abs() + 0.5 }
    /// Away from 0, so abs, relu and sign-dependent ops are smooth around every point.
    static let awayFromZero: @Sendable (Tensor) -> Tensor = { $0 + $0.sign() * 0.2 }
    static let idx = Tensor([[0, 2, 1], [1, 0, 0]])

    static let rows: [Row] = [
        // Elementwise unary
        Row("exp", [[3, 4]]) { $0[0].exp() },
        Row("log", [[3, 4]], domain: positive) { $0[0].log() },
        Row("log1p", [[3, 4]], domain: positive) { $0[0].log1p() },
        Row("sqrt", [[3, 4]], domain: positive) { $0[0].sqrt() },
        Row("rsqrt", [[3, 4]], domain: positive) { $0[0].rsqrt() },
        Row("sin", [[3, 4]]) { $0[0].sin() },
        Row("cos", [[3, 4]]) { $0[0].cos() },
        Row("tanh", [[3, 4]]) { $0[0].tanh() },
        Row("sigmoid", [[3, 4]]) { $0[0].sigmoid() },
        Row("neg", [[3, 4]]) { -$0[0] },
        Row("abs", [[3, 4]], domain: awayFromZero) { $0[0].abs() },
        Row("square", [[3, 4]]) { $0[0].square() },
        Row("relu", [[3, 4]], domain: awayFromZero) { $0[0].relu() },
        Row("clamp", [[3, 4]], domain: awayFromZero) { $0[0].clamp(min: -0.5, max: 0.7) },
        Row("floor", [[3, 4]]) { $0[0].floor() * 1 + $0[0] },
        Row("pow scalar", [[3, 4]], domain: positive) { $0[0].pow(2.5) },
        // Elementwise binary, with broadcasting
        Row("add", [[3, 4], [4]]) { $0[0] + $0[1] },
        Row("sub", [[3, 1], [1, 4]]) { $0[0] - $0[1] },
        Row("mul", [[2, 3, 4], [3, 1]]) { $0[0] * $0[1] },
        Row("div", [[3, 4], [4]], domain: positive) { $0[0] / $0[1] },
        Row("pow", [[3, 4], [3, 4]], domain: positive) { $0[0].pow($0[1]) },
        Row("maximum", [[3, 4], [3, 4]]) { $0[0].maximum($0[1]) },
        Row("minimum", [[3, 4], [4]]) { $0[0].minimum($0[1]) },
        Row("scalar ops", [[3, 4]], domain: positive) { (2 - $0[0]) * 3 / $0[0] + 1 },
        // Reductions
        Row("sum all", [[3, 4]]) { $0[0].sum() },
        Row("sum axis", [[2, 3, 4]]) { $0[0].sum(axes: [0, 2]) },
        Row("sum keepDims", [[3, 4]]) { $0[0].sum(axis: 1, keepDims: true) * $0[0] },
        Row("mean", [[3, 4]]) { $0[0].mean(axis: 0) },
        Row("prod", [[3, 4]], domain: positive) { $0[0].prod(axis: 1) },
        Row("max", [[3, 4]]) { $0[0].max(axis: 1) },
        Row("min all", [[3, 4]]) { $0[0].min() },
        Row("variance", [[3, 4]]) { $0[0].variance(axis: 1) },
        Row("std", [[3, 4]]) { $0[0].std() },
        Row("logsumexp", [[3, 4]]) { $0[0].logsumexp(axis: 1) },
        Row("norm", [[3, 4]]) { $0[0].norm(axes: [1]) },
        Row("norm p=3", [[3, 4]], domain: positive) { $0[0].norm(p: 3) },
        Row("cumsum", [[3, 4]]) { $0[0].cumsum(axis: 1) },
        // Views
        Row("reshape", [[3, 4]]) { $0[0].reshape([2, 6]) * Tensor.arange(0, 12, dtype: .float64).reshape([2, 6]) },
        Row("reshape of transpose", [[3, 4]]) { $0[0].T.reshape([-1]) },
        Row("permute", [[2, 3, 4]]) { $0[0].permute([2, 0, 1]) },
        Row("transpose", [[3, 4]]) { $0[0].T.matmul($0[0]) },
        Row("squeeze/unsqueeze", [[3, 1, 4]]) { $0[0].squeezed().unsqueezed(axis: 0) },
        Row("expand", [[3, 1]]) { $0[0].expand([2, 3, 4]) },
        Row("slice", [[4, 5]]) { $0[0][1..., .slice(nil, nil, step: 2)] },
        Row("negative step", [[4, 5]]) { $0[0][.slice(nil, nil, step: -1), 2] },
        Row("contiguous copy", [[3, 4]]) { $0[0].T.contiguous() },
        // Linear algebra
        Row("matmul 2d", [[3, 4], [4, 5]]) { $0[0].matmul($0[1]) },
        Row("matmul transposed", [[4, 3], [5, 4]]) { $0[0].T.matmul($0[1].T) },
        Row("matmul vector", [[3, 4], [4]]) { $0[0].matmul($0[1]) },
        Row("matmul vector-matrix", [[4], [4, 2]]) { $0[0].matmul($0[1]) },
        Row("dot", [[5], [5]]) { $0[0].dot($0[1]) },
        Row("matmul batched broadcast", [[2, 1, 3, 4], [5, 4, 2]]) { $0[0].matmul($0[1]) },
        Row("matmul stack x matrix", [[2, 3, 4], [4, 2]]) { $0[0].matmul($0[1]) },
        Row("outer", [[3], [4]]) { $0[0].outer($0[1]) },
        Row("linear", [[3, 4], [5, 4], [5]]) { $0[0].linear(weight: $0[1], bias: $0[2]) },
        Row("linear no bias", [[3, 4], [5, 4]]) { $0[0].linear(weight: $0[1]) },
        Row("linear vector", [[4], [2, 4], [2]]) { $0[0].linear(weight: $0[1], bias: $0[2]) },
        Row("linear stack", [[2, 3, 4], [2, 4], [2]]) { $0[0].linear(weight: $0[1], bias: $0[2]) },
        Row("linear transposed operands", [[4, 3], [4, 5], [5]]) { $0[0].T.linear(weight: $0[1].T, bias: $0[2]) },
        // Copying ops
        Row("cat", [[2, 3], [1, 3]]) { Tensor.cat([$0[0], $0[1]], axis: 0) },
        Row("stack", [[2, 3], [2, 3]]) { Tensor.stack([$0[0], $0[1]], axis: 1) },
        Row("split", [[5, 3]]) { $0[0].split(sizes: [2, 3])[1] * 2 },
        Row("chunk + unbind", [[4, 3]]) { $0[0].chunk(2)[0].unbind(axis: 1)[2] },
        Row("gather", [[2, 3]]) { $0[0].gather(axis: 1, index: idx) },
        Row("indexSelect repeated", [[4, 3]]) { $0[0].indexSelect(axis: 0, indices: Tensor([3, 0, 3])) },
        Row("indexSelect axis 1", [[2, 4, 3]]) { $0[0].indexSelect(axis: 1, indices: Tensor([1, -1, 1])) * $0[0].indexSelect(axis: 1, indices: Tensor([0, 2, 3])) },
        Row("indexAdd", [[4, 3], [5, 3]]) { $0[0].indexAdd(axis: 0, indices: Tensor([3, 0, 3, 1, -1]), source: $0[1]).square() },
        Row("scatter", [[2, 3], [2, 3]]) { $0[0].scatter(axis: 1, index: Tensor([[2, 0, 1], [1, 2, 0]]), source: $0[1]) },
        Row("scatter value", [[2, 3]]) { $0[0].scatter(axis: 1, index: Tensor([[2], [0]]), value: 4) },
        Row("scatterAdd", [[2, 3], [2, 3]]) { $0[0].scatterAdd(axis: 1, index: idx, source: $0[1]) },
        Row("where", [[3, 4], [4]]) { Tensor.where(Tensor.arange(12).reshape([3, 4]) .> 5, $0[0], $0[1]) },
        Row("maskedFill", [[3, 4]]) { $0[0].maskedFill(Tensor.arange(4) .> 1, value: 3) },
        Row("maskedSelect", [[3, 4]]) { $0[0].maskedSelect(Tensor.arange(4) .> 1) },
        Row("flip", [[3, 4]]) { $0[0].flip(axes: [0, 1]) },
        Row("pad constant", [[3, 4]]) { $0[0].pad([(1, 0), (2, 1)]) },
        Row("pad reflect", [[3, 4]]) { $0[0].pad([(2, 1), (1, 2)], mode: .reflect) },
        Row("pad replicate", [[3, 4]]) { $0[0].pad([(1, 2), (0, 3)], mode: .replicate) },
        Row("pad circular", [[3, 4]]) { $0[0].pad([(1, 1), (2, 0)], mode: .circular) },
        Row("repeated", [[2, 3]]) { $0[0].repeated([2, 1, 2]) },
        Row("repeatInterleave", [[2, 3]]) { $0[0].repeatInterleave(2, axis: 1) },
        Row("sorted", [[3, 5]]) { $0[0].sorted(axis: 1).values },
        Row("topk", [[3, 5]]) { $0[0].topk(2, axis: 1).values },
        // Composites, as losses and layers will be
        Row("softmax", [[3, 4]]) { ($0[0] - $0[0].logsumexp(axis: 1, keepDims: true)).exp() },
        Row("mlp", [[5, 4], [4, 3], [3]]) { $0[0].matmul($0[1]).add($0[2]).tanh().square().mean() },
        Row("binary cross-entropy", [[6]]) { x in
            let p = x[0].sigmoid(), t = Tensor([1.0, 0, 1, 1, 0, 0], dtype: .float64)
            return -(t * p.log() + (1 - t) * (1 - p).log()).mean()
        },
    ]

    @Test(arguments: rows)
    func matchesFiniteDifferences(_ row: Row) {
        let g = RandomGenerator(seed: 11)
        let inputs = row.shapes.map { row.domain(Tensor.normal($0, dtype: .float64, generator: g)) }
        let results = gradCheck(inputs, row.f)
        for (i, r) in results.enumerated() {
            #expect(r.worstRelativeError < 1e-6, "\(row.name) input \(i): \(r)")
        }
    }

    /// Non-contiguous inputs (transposed, stepped) give the same gradients.
    @Test func nonContiguousInputs() {
        let g = RandomGenerator(seed: 12)
        let a = Tensor.normal([4, 3], dtype: .float64, generator: g).T   // [3, 4], transposed
        let b = Tensor.normal([8], dtype: .float64, generator: g)[.slice(nil, nil, step: 2)]  // [4], stepped
        let results = gradCheck([a, b]) { x in (x[0] * x[1]).tanh().matmul(x[1]) }
        #expect(results.allSatisfy { $0.worstRelativeError < 1e-6 }, "\(results)")
    }

    /// The checker itself must notice a wrong gradient.
    @Test func checkerCatchesAWrongGradient() {
        let wrong = { (xs: [Tensor]) -> Tensor in
            Tensor.custom("wrongSquare", xs, forward: { $0[0] * $0[0] }, backward: { g, x, _ in [g * x[0] * 3] })
        }
        let r = gradCheck([Tensor([1.0, 2.0], dtype: .float64)], wrong)
        #expect(r[0].worstRelativeError > 0.1)
    }
}

extension Tensor {
    /// `self + other`, named for chained composites in the table.
    func add(_ other: Tensor) -> Tensor { self + other }
}
