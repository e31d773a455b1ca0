// Activation functions as layers, for `Sequential { ... }`; each calls the function of the same name.

/// max(x, 0).
public final class ReLU: Module {
    public override init() { super.init() }
    public override func forward(_ input: Tensor) -> Tensor { input.relu() }
}

/// 1 / (1 + e^-x).
public final class Sigmoid: Module {
    public override init() { super.init() }
    public override func forward(_ input: Tensor) -> Tensor { input.sigmoid() }
}

/// Hyperbolic tangent.
public final class Tanh: Module {
    public override init() { super.init() }
    public override func forward(_ input: Tensor) -> Tensor { input.tanh() }
}

/// x for x > 0, `slope` * x otherwise, as PyTorch's `LeakyReLU(negative_slope=0.01)`.
///
/// ```swift
/// LeakyReLU(negativeSlope: 0.2)(Tensor([-2.0, 3.0]))   // [-0.4, 3]
/// ```
public final class LeakyReLU: Module {
    /// The factor applied to negative inputs (PyTorch's `negative_slope`).
    public let slope: Double
    /// The factor applied to negative inputs, under PyTorch's name (the same as `slope`).
    public var negativeSlope: Double { slope }

    public init(slope: Double = 0.01) {
        self.slope = slope
        super.init()
    }

    /// A leaky ReLU with PyTorch's argument name: `LeakyReLU(negativeSlope: 0.2)`.
    public convenience init(negativeSlope: Double) {
        self.init(slope: negativeSlope)
    }
    public override func forward(_ input: Tensor) -> Tensor { input.leakyRelu(slope: slope) }
}

/// x for x > 0, `alpha` * (e^x - 1) otherwise.
public final class ELU: Module {
    public let alpha: Double
    public init(alpha: Double = 1) {
        self.alpha = alpha
        super.init()
    }
    public override func forward(_ input: Tensor) -> Tensor { input.elu(alpha: alpha) }
}

/// x * Φ(x), exactly or with the tanh approximation.
public final class GELU: Module {
    public let approximate: GELUApproximation
    public init(approximate: GELUApproximation = .none) {
        self.approximate = approximate
        super.init()
    }
    public override func forward(_ input: Tensor) -> Tensor { input.gelu(approximate: approximate) }
}

/// x * sigmoid(x) (swish).
public final class SiLU: Module {
    public override init() { super.init() }
    public override func forward(_ input: Tensor) -> Tensor { input.silu() }
}

/// log(1 + e^(beta x)) / beta, linear above `threshold`.
public final class Softplus: Module {
    public let beta: Double, threshold: Double
    public init(beta: Double = 1, threshold: Double = 20) {
        self.beta = beta
        self.threshold = threshold
        super.init()
    }
    public override func forward(_ input: Tensor) -> Tensor { input.softplus(beta: beta, threshold: threshold) }
}

/// Probabilities over `axis` (the last by default).
public final class Softmax: Module {
    public let axis: Int
    public init(axis: Int = -1) {
        self.axis = axis
        super.init()
    }
    public override func forward(_ input: Tensor) -> Tensor { input.softmax(axis: axis) }
}

/// Log-probabilities over `axis` (the last by default).
public final class LogSoftmax: Module {
    public let axis: Int
    public init(axis: Int = -1) {
        self.axis = axis
        super.init()
    }
    public override func forward(_ input: Tensor) -> Tensor { input.logSoftmax(axis: axis) }
}
