import Foundation

/// Adam (Kingma & Ba), as `torch.optim.Adam`: running averages of the gradient and its square,
/// bias-corrected, with optional L2 weight decay added to the gradient and the AMSGrad variant.
///
/// ```swift
/// let opt = Adam(parameters: model.parameters(), lr: 1e-3)
/// loss.backward()
/// opt.step()
/// ```
public final class Adam: GroupedOptimizer<Adam.Options> {
    /// Adam's options for one parameter group (PyTorch's defaults).
    ///
    /// ```swift
    /// let opt = Adam(parameters: model.parameters(), options: Adam.Options(lr: 3e-4, amsgrad: true))
    /// ```
    public struct Options: AdamOptions {
        public var lr: Double
        /// Running-average coefficients of the gradient and its square.
        public var betas: (Double, Double)
        /// Term added to the denominator for numerical stability.
        public var eps: Double
        /// L2 penalty added to the gradient.
        public var weightDecay: Double
        /// Keep the maximum of the second-moment averages.
        public var amsgrad: Bool
        /// Ascend instead of descend.
        public var maximize: Bool

        public init(lr: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999), eps: Double = 1e-8,
                    weightDecay: Double = 0, amsgrad: Bool = false, maximize: Bool = false) {
            self.lr = lr
            self.betas = betas
            self.eps = eps
            self.weightDecay = weightDecay
            self.amsgrad = amsgrad
            self.maximize = maximize
        }
    }

    /// Adam over one group of parameters.
    ///
    /// ```swift
    /// let opt = Adam(parameters: model.parameters(), lr: 3e-4, weightDecay: 1e-5)
    /// ```
    public convenience init(parameters: [Parameter], lr: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999),
                            eps: Double = 1e-8, weightDecay: Double = 0, amsgrad: Bool = false, maximize: Bool = false) {
        self.init(parameters: parameters, options: Options(lr: lr, betas: betas, eps: eps, weightDecay: weightDecay,
                                                           amsgrad: amsgrad, maximize: maximize))
    }

    public override func update(_ parameter: Parameter, gradient: Tensor, state: ParameterState, options: Options) {
        adamStep(parameter, gradient, state, options, decoupled: false)
    }
}

/// AdamW (Loshchilov & Hutter), as `torch.optim.AdamW`: Adam whose weight decay shrinks the
/// parameters directly (`p *= 1 - lr * weightDecay`) instead of entering the gradient averages.
///
/// ```swift
/// let opt = AdamW(parameters: model.parameters(), lr: 1e-3, weightDecay: 0.01)
/// ```
public final class AdamW: GroupedOptimizer<AdamW.Options> {
    /// AdamW's options for one parameter group (PyTorch's defaults: Adam's, with weight decay 0.01).
    ///
    /// ```swift
    /// let base = AdamW.Options(lr: 1e-3)
    /// let opt = AdamW(groups: [ParameterGroup(weights, options: base),
    ///                          ParameterGroup(biases, options: base.with { $0.weightDecay = 0 })])
    /// ```
    public struct Options: AdamOptions {
        public var lr: Double
        /// Running-average coefficients of the gradient and its square.
        public var betas: (Double, Double)
        /// Term added to the denominator for numerical stability.
        public var eps: Double
        /// Decoupled decay rate: each step multiplies the parameters by `1 - lr * weightDecay`.
        public var weightDecay: Double
        /// Keep the maximum of the second-moment averages.
        public var amsgrad: Bool
        /// Ascend instead of descend.
        public var maximize: Bool

        public init(lr: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999), eps: Double = 1e-8,
                    weightDecay: Double = 1e-2, amsgrad: Bool = false, maximize: Bool = false) {
            self.lr = lr
            self.betas = betas
            self.eps = eps
            self.weightDecay = weightDecay
            self.amsgrad = amsgrad
            self.maximize = maximize
        }
    }

    /// AdamW over one group of parameters.
    ///
    /// ```swift
    /// let opt = AdamW(parameters: model.parameters(), lr: 3e-4)
    /// ```
    public convenience init(parameters: [Parameter], lr: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999),
                            eps: Double = 1e-8, weightDecay: Double = 1e-2, amsgrad: Bool = false, maximize: Bool = false) {
        self.init(parameters: parameters, options: Options(lr: lr, betas: betas, eps: eps, weightDecay: weightDecay,
                                                           amsgrad: amsgrad, maximize: maximize))
    }

    public override func update(_ parameter: Parameter, gradient: Tensor, state: ParameterState, options: Options) {
        adamStep(parameter, gradient, state, options, decoupled: true)
    }
}

/// What Adam's and AdamW's options share: the same fields under the same names, and the same checks.
public protocol AdamOptions: OptimizerOptions {
    var betas: (Double, Double) { get set }
    var eps: Double { get set }
    var weightDecay: Double { get set }
    var amsgrad: Bool { get set }
    var maximize: Bool { get set }
}

extension AdamOptions {
    public static var fields: [OptimizerOption<Self>] {
        [.number("lr", \.lr), .number("beta1", \.betas.0), .number("beta2", \.betas.1), .number("eps", \.eps),
         .number("weight_decay", \.weightDecay), .flag("amsgrad", \.amsgrad), .flag("maximize", \.maximize)]
    }

    /// Beta1, which a one-cycle schedule varies as momentum.
    public var cycledMomentum: Double? {
        get { betas.0 }
        set { if let v = newValue { betas.0 = v } }
    }

    public func problem() -> String? {
        negativeProblem(weightDecay, "weight decay") ?? negativeProblem(eps, "eps")
            ?? rangeProblem(betas.0, "beta1", in: 0, 1) ?? rangeProblem(betas.1, "beta2", in: 0, 1)
    }
}

/// One Adam/AdamW step of one parameter: state `exp_avg`, `exp_avg_sq` (and `max_exp_avg_sq`
/// with AMSGrad), as PyTorch names them; the update is one fused pass (`Tensor.adamUpdate`).
private func adamStep<O: AdamOptions>(_ p: Parameter, _ gradient: Tensor, _ state: ParameterState, _ o: O, decoupled: Bool) {
    state.step += 1
    var m = state.takeBuffer("exp_avg"), v = state.takeBuffer("exp_avg_sq")
    var vmax = o.amsgrad ? state.takeBuffer("max_exp_avg_sq") : nil
    p.value.adamUpdate(gradient: gradient, expAvg: &m, expAvgSq: &v, maxExpAvgSq: &vmax, step: state.step, lr: o.lr,
                       beta1: o.betas.0, beta2: o.betas.1, eps: o.eps, weightDecay: o.weightDecay,
                       decoupledWeightDecay: decoupled, maximize: o.maximize)
    state.buffers["exp_avg"] = m
    state.buffers["exp_avg_sq"] = v
    if let vmax { state.buffers["max_exp_avg_sq"] = vmax }
}
