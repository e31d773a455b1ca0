import Foundation

/// RMSProp (Hinton), as `torch.optim.RMSprop`: steps divided by a running RMS of the gradients,
/// optionally centred (minus the squared running mean) and with momentum.
///
/// ```swift
/// let opt = RMSProp(parameters: model.parameters(), lr: 1e-3)
/// loss.backward()
/// opt.step()
/// ```
public final class RMSProp: GroupedOptimizer<RMSProp.Options> {
    /// RMSProp's options for one parameter group (PyTorch's defaults).
    ///
    /// ```swift
    /// let opt = RMSProp(parameters: model.parameters(), options: RMSProp.Options(lr: 1e-3, momentum: 0.9))
    /// ```
    public struct Options: OptimizerOptions {
        public var lr: Double
        /// Smoothing constant of the squared-gradient average.
        public var alpha: Double
        /// Term added to the denominator for numerical stability.
        public var eps: Double
        /// L2 penalty added to the gradient.
        public var weightDecay: Double
        /// Momentum factor (0: none).
        public var momentum: Double
        /// Normalise by the centred variance estimate.
        public var centered: Bool
        /// Ascend instead of descend.
        public var maximize: Bool

        public init(lr: Double = 1e-2, alpha: Double = 0.99, eps: Double = 1e-8, weightDecay: Double = 0,
                    momentum: Double = 0, centered: Bool = false, maximize: Bool = false) {
            self.lr = lr
            self.alpha = alpha
            self.eps = eps
            self.weightDecay = weightDecay
            self.momentum = momentum
            self.centered = centered
            self.maximize = maximize
        }

        public static var fields: [OptimizerOption<Options>] {
            [.number("lr", \.lr), .number("alpha", \.alpha), .number("eps", \.eps), .number("weight_decay", \.weightDecay),
             .number("momentum", \.momentum), .flag("centered", \.centered), .flag("maximize", \.maximize)]
        }

        public var cycledMomentum: Double? {
            get { momentum }
            set { if let v = newValue { momentum = v } }
        }

        public func problem() -> String? {
            negativeProblem(weightDecay, "weight decay") ?? negativeProblem(eps, "eps")
                ?? negativeProblem(alpha, "alpha") ?? negativeProblem(momentum, "momentum")
        }
    }

    /// RMSProp over one group of parameters.
    ///
    /// ```swift
    /// let opt = RMSProp(parameters: model.parameters(), lr: 1e-3, momentum: 0.9, centered: true)
    /// ```
    public convenience init(parameters: [Parameter], lr: Double = 1e-2, alpha: Double = 0.99, eps: Double = 1e-8,
                            weightDecay: Double = 0, momentum: Double = 0, centered: Bool = false, maximize: Bool = false) {
        self.init(parameters: parameters, options: Options(lr: lr, alpha: alpha, eps: eps, weightDecay: weightDecay,
                                                           momentum: momentum, centered: centered, maximize: maximize))
    }

    /// State `square_avg`, plus `grad_avg` when centred and `momentum_buffer` with momentum.
    public override func update(_ parameter: Parameter, gradient: Tensor, state: ParameterState, options o: Options) {
        state.step += 1
        var squareAvg = state.takeBuffer("square_avg")
        var gradAvg = o.centered ? state.takeBuffer("grad_avg") : nil
        var buffer = o.momentum > 0 ? state.takeBuffer("momentum_buffer") : nil
        parameter.value.rmspropUpdate(gradient: gradient, squareAvg: &squareAvg, gradAvg: &gradAvg, momentumBuffer: &buffer,
                                      lr: o.lr, alpha: o.alpha, eps: o.eps, weightDecay: o.weightDecay,
                                      momentum: o.momentum, maximize: o.maximize)
        state.buffers["square_avg"] = squareAvg
        if let gradAvg { state.buffers["grad_avg"] = gradAvg }
        if let buffer { state.buffers["momentum_buffer"] = buffer }
    }
}
