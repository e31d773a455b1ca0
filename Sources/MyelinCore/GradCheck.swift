/// What `gradCheck` found for one input: the worst disagreement between the analytic gradient and
/// central finite differences.
public struct GradCheckResult: CustomStringConvertible, Sendable {
    /// Largest |analytic - numeric| / max(1, |numeric|) over the input's elements.
    public let worstRelativeError: Double
    /// Element (flat index) where it happened.
    public let worstIndex: Int
    public let analytic: Double
    public let numeric: Double

    public var description: String {
        "worst relative error \(worstRelativeError) at element \(worstIndex) (analytic \(analytic), numeric \(numeric))"
    }
}

/// Compares the gradients `backward()` computes for `f` at `inputs` with central finite differences
/// in Float64, and reports the worst relative error per input.
///
/// Non-scalar outputs are reduced with fixed random weights (a random vector-Jacobian product), so
/// every output element is checked. Inputs are converted to float64 first.
///
/// ```swift
/// let results = gradCheck([Tensor.randn([3, 4]), Tensor.randn([4])]) { x in (x[0] * x[1]).tanh() }
/// #expect(results.allSatisfy { $0.worstRelativeError < 1e-6 })
/// ```
public func gradCheck(_ inputs: [Tensor], epsilon: Double = 1e-6, seed: UInt64 = 0,
                      _ f: ([Tensor]) -> Tensor) -> [GradCheckResult] {
    let xs = inputs.map { $0.detached().to(.float64).contiguousCopy() }
    let probeShape = withoutGrad { f(xs).shape }
    let weights = Tensor.normal(probeShape, dtype: .float64, generator: RandomGenerator(seed: seed))
    func objective(_ args: [Tensor]) -> Tensor { (f(args).to(.float64) * weights).sum() }

    // Analytic gradients through the graph.
    let leaves = xs.map { $0.requiringGrad() }
    let value = withGrad { objective(leaves) }
    let analytic: [Tensor?] = value.requiresGrad
        ? Autograd.run(roots: [value.gradState!], gradients: [Tensor.ones([], dtype: .float64)],
                       retainGraph: false, createGraph: false, targets: leaves.map { $0.gradState! })
        : leaves.map { _ in nil }

    return xs.indices.map { i in
        let base = xs[i].doubles
        let grad = analytic[i]?.doubles ?? [Double](repeating: 0, count: base.count)
        var worst = GradCheckResult(worstRelativeError: 0, worstIndex: -1, analytic: 0, numeric: 0)
        for j in 0..<base.count {
            func evaluate(_ delta: Double) -> Double {
                var shifted = base
                shifted[j] += delta
                var args = xs
                args[i] = Tensor(shape: xs[i].shape, scalars: shifted)
                return withoutGrad { objective(args).item() }
            }
            let numeric = (evaluate(epsilon) - evaluate(-epsilon)) / (2 * epsilon)
            let err = Swift.abs(grad[j] - numeric) / Swift.max(1, Swift.abs(numeric))
            if err > worst.worstRelativeError || worst.worstIndex < 0 || err.isNaN {
                worst = GradCheckResult(worstRelativeError: err.isNaN ? .infinity : err, worstIndex: j,
                                        analytic: grad[j], numeric: numeric)
            }
        }
        return worst
    }
}
