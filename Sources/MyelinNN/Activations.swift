#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MyelinCore

// Activation functions, as `Tensor` methods and as free functions, with PyTorch's values and
// gradients (including the gradient PyTorch picks at each kink). Everything is composed from
// differentiable core ops, so there is no gradient code here (erf is a core op).
//
// `Tensor.where` sends a zero gradient into the branch it did not pick, and zero times an
// infinite local derivative is NaN; so branches that could overflow where they are not picked
// (exp in elu and softplus) are evaluated on clamped inputs.

extension Tensor {
    /// Floating-point inputs as they are, integers and bools as float32 (as the core's float ops do).
    fileprivate var floatingPoint: Tensor { dtype.isFloatingPoint ? self : to(.float32) }

    /// x where x > 0, else slope · x (the gradient at 0 is `slope`, as in PyTorch).
    ///
    /// ```swift
    /// Tensor([-2.0, 3.0]).leakyRelu(slope: 0.1)   // [-0.2, 3]
    /// ```
    public func leakyRelu(slope: Double = 0.01) -> Tensor {
        let x = floatingPoint
        return Tensor.where(x .> 0, x, x * slope)
    }

    /// x where x > 0, else α (eˣ - 1) (the gradient at 0 is α, as in PyTorch).
    ///
    /// ```swift
    /// Tensor([-1.0, 2.0]).elu()   // [-0.6321, 2]
    /// ```
    public func elu(alpha: Double = 1) -> Tensor {
        let x = floatingPoint
        return Tensor.where(x .> 0, x, expm1OfNonPositive(x.clamp(max: 0)) * alpha)
    }

    /// Scaled ELU with the self-normalising constants of Klambauer et al. (PyTorch's `selu`).
    ///
    /// ```swift
    /// Tensor([-1.0, 1.0]).selu()   // [-1.1113, 1.0507]
    /// ```
    public func selu() -> Tensor {
        elu(alpha: 1.6732632423543772848170429916717) * 1.0507009873554804934193349852946
    }

    /// The sigmoid linear unit (swish) x · σ(x).
    ///
    /// ```swift
    /// Tensor([-1.0, 1.0]).silu()   // [-0.2689, 0.7311]
    /// ```
    public func silu() -> Tensor {
        let x = floatingPoint
        return x * x.sigmoid()
    }

    /// log(1 + e^(βx)) / β, and x itself where βx > `threshold` (PyTorch's `softplus`); never overflows.
    ///
    /// ```swift
    /// Tensor([-1.0, 0.0, 100.0]).softplus()   // [0.3133, 0.6931, 100]
    /// ```
    public func softplus(beta: Double = 1, threshold: Double = 20) -> Tensor {
        let x = floatingPoint
        let bx = beta == 1 ? x : x * beta
        // Clamped so that exp stays finite in the branch `where` does not pick (see the top).
        var smooth = bx.clamp(max: threshold).exp().log1p()
        if beta != 1 { smooth = smooth / beta }
        return Tensor.where(bx .> threshold, x, smooth)
    }

    /// x · tanh(softplus(x)) (Misra's mish).
    ///
    /// ```swift
    /// Tensor([-1.0, 1.0]).mish()   // [-0.3034, 0.8651]
    /// ```
    public func mish() -> Tensor {
        let x = floatingPoint
        return x * x.softplus().tanh()
    }

    /// log σ(x), computed as -softplus(-x) so it stays finite for very negative x.
    ///
    /// ```swift
    /// Tensor([-200.0, 0.0]).logSigmoid()   // [-200, -0.6931]
    /// ```
    public func logSigmoid() -> Tensor {
        // Not min(x, 0) - log1p(e^-|x|): its gradient at 0 would be 1 (clamp and abs both have
        // one-sided rules there) instead of the true 0.5 that PyTorch gives.
        -(-floatingPoint).softplus()
    }

    /// x / (1 + |x|).
    ///
    /// ```swift
    /// Tensor([-3.0, 1.0]).softsign()   // [-0.75, 0.5]
    /// ```
    public func softsign() -> Tensor {
        let x = floatingPoint
        return x / (x.abs() + 1)
    }

    /// x clamped to `min...max`; the gradient is 1 strictly inside and 0 at and beyond the bounds,
    /// as PyTorch's `hardtanh` (unlike `clamp`, which passes it at the bounds).
    ///
    /// ```swift
    /// Tensor([-2.0, 0.5, 3.0]).hardTanh()   // [-1, 0.5, 1]
    /// ```
    public func hardTanh(min low: Double = -1, max high: Double = 1) -> Tensor {
        if low > high { fatalError("[hardTanh] min \(low) is larger than max \(high)") }
        let x = floatingPoint
        // NaN fails both comparisons and passes through, as with clamp.
        return Tensor.where(x .<= low, low, Tensor.where(x .>= high, high, x))
    }

    /// min(max(x, 0), 6), with hardTanh's gradient (0 at 0 and at 6, as in PyTorch).
    ///
    /// ```swift
    /// Tensor([-1.0, 3.0, 8.0]).relu6()   // [0, 3, 6]
    /// ```
    public func relu6() -> Tensor { hardTanh(min: 0, max: 6) }

    /// The piecewise-linear sigmoid min(max(x / 6 + 1/2, 0), 1).
    ///
    /// ```swift
    /// Tensor([-4.0, 0.0, 1.5]).hardSigmoid()   // [0, 0.5, 0.75]
    /// ```
    public func hardSigmoid() -> Tensor {
        let x = floatingPoint
        // Linear strictly inside (-3, 3) only, so the gradient is 0 at ±3 as in PyTorch; NaN passes.
        return Tensor.where(x .<= -3, 0, Tensor.where(x .>= 3, 1, x / 6 + 0.5))
    }

    /// x · hardSigmoid(x) (MobileNetV3's hard swish).
    ///
    /// ```swift
    /// Tensor([-4.0, 1.0, 4.0]).hardSwish()   // [0, 0.6667, 4]
    /// ```
    public func hardSwish() -> Tensor {
        let x = floatingPoint
        return x * x.hardSigmoid()
    }

    /// e^x / Σ e^x along `axis`, computed after subtracting the maximum so large inputs don't overflow.
    ///
    /// ```swift
    /// Tensor([[1.0, 2.0, 3.0]]).softmax(axis: 1)   // [[0.0900, 0.2447, 0.6652]]
    /// Tensor([1000.0, 1000.0]).softmax()           // [0.5, 0.5]
    /// ```
    public func softmax(axis: Int = -1) -> Tensor {
        let x = floatingPoint
        // Softmax does not change under a shift, so the maximum needs no gradient.
        let e = (x - x.detached().max(axis: axis, keepDims: true)).exp()
        return e / e.sum(axis: axis, keepDims: true)
    }

    /// log(softmax(x)) along `axis`, as x - logsumexp(x): finite wherever x is, even where softmax underflows to 0.
    ///
    /// ```swift
    /// Tensor([0.0, 100.0]).logSoftmax()   // [-100, 0]
    /// ```
    public func logSoftmax(axis: Int = -1) -> Tensor {
        let x = floatingPoint
        let shifted = x - x.detached().max(axis: axis, keepDims: true)
        return shifted - shifted.exp().sum(axis: axis, keepDims: true).log()
    }
}

/// eˣ - 1 for x ≤ 0 without the cancellation of `exp() - 1` near 0: with t = tanh(x/2),
/// eˣ = (1 + t) / (1 - t), so eˣ - 1 = 2t / (1 - t), where 1 - t lies in [1, 2].
private func expm1OfNonPositive(_ x: Tensor) -> Tensor {
    let t = (x * 0.5).tanh()
    return t * 2 / (1 - t)
}

// MARK: Free functions, for code that reads like math

/// Leaky ReLU: `leakyRelu(x, slope: 0.2)`.
public func leakyRelu(_ x: Tensor, slope: Double = 0.01) -> Tensor { x.leakyRelu(slope: slope) }
/// ELU: `elu(x, alpha: 1)`.
public func elu(_ x: Tensor, alpha: Double = 1) -> Tensor { x.elu(alpha: alpha) }
/// SELU: `selu(x)`.
public func selu(_ x: Tensor) -> Tensor { x.selu() }
/// GELU: `gelu(x)` or `gelu(x, approximate: .tanh)`.
public func gelu(_ x: Tensor, approximate: GELUApproximation = .none) -> Tensor { x.gelu(approximate: approximate) }
/// SiLU (swish), x · σ(x): `silu(x)`.
public func silu(_ x: Tensor) -> Tensor { x.silu() }
/// Softplus, log(1 + e^(βx)) / β: `softplus(x, beta: 2)`.
public func softplus(_ x: Tensor, beta: Double = 1, threshold: Double = 20) -> Tensor {
    x.softplus(beta: beta, threshold: threshold)
}
/// Mish, x · tanh(softplus(x)): `mish(x)`.
public func mish(_ x: Tensor) -> Tensor { x.mish() }
/// log σ(x), stable: `logSigmoid(x)`.
public func logSigmoid(_ x: Tensor) -> Tensor { x.logSigmoid() }
/// Softsign, x / (1 + |x|): `softsign(x)`.
public func softsign(_ x: Tensor) -> Tensor { x.softsign() }
/// Hard tanh, x clamped to `min...max`: `hardTanh(x, min: -2, max: 2)`.
public func hardTanh(_ x: Tensor, min low: Double = -1, max high: Double = 1) -> Tensor { x.hardTanh(min: low, max: high) }
/// ReLU6, min(max(x, 0), 6): `relu6(x)`.
public func relu6(_ x: Tensor) -> Tensor { x.relu6() }
/// Hard sigmoid: `hardSigmoid(x)`.
public func hardSigmoid(_ x: Tensor) -> Tensor { x.hardSigmoid() }
/// Hard swish: `hardSwish(x)`.
public func hardSwish(_ x: Tensor) -> Tensor { x.hardSwish() }
/// Softmax along an axis: `softmax(logits, axis: 1)`.
public func softmax(_ x: Tensor, axis: Int = -1) -> Tensor { x.softmax(axis: axis) }
/// Log-softmax along an axis: `logSoftmax(logits, axis: 1)`.
public func logSoftmax(_ x: Tensor, axis: Int = -1) -> Tensor { x.logSoftmax(axis: axis) }
