import Foundation

/// Adagrad (Duchi et al.), as `torch.optim.Adagrad`: each element's step is scaled by the root of
/// its sum of squared gradients, with optional learning-rate decay and L2 weight decay.
///
/// ```swift
/// let opt = Adagrad(parameters: model.parameters(), lr: 1e-2)
/// loss.backward()
/// opt.step()
/// ```
public final class Adagrad: GroupedOptimizer<Adagrad.Options> {
    /// Adagrad's options for one parameter group (PyTorch's defaults).
    ///
    /// ```swift
    /// let opt = Adagrad(parameters: model.parameters(), options: Adagrad.Options(lr: 0.05, initialAccumulatorValue: 0.1))
    /// ```
    public struct Options: OptimizerOptions {
        public var lr: Double
        /// Learning-rate decay per step.
        public var lrDecay: Double
        /// L2 penalty added to the gradient.
        public var weightDecay: Double
        /// Starting value of the sum of squared gradients.
        public var initialAccumulatorValue: Double
        /// Term added to the denominator for numerical stability.
        public var eps: Double
        /// Ascend instead of descend.
        public var maximize: Bool

        public init(lr: Double = 1e-2, lrDecay: Double = 0, weightDecay: Double = 0, initialAccumulatorValue: Double = 0,
                    eps: Double = 1e-10, maximize: Bool = false) {
            self.lr = lr
            self.lrDecay = lrDecay
            self.weightDecay = weightDecay
            self.initialAccumulatorValue = initialAccumulatorValue
            self.eps = eps
            self.maximize = maximize
        }

        public static var fields: [OptimizerOption<Options>] {
            [.number("lr", \.lr), .number("lr_decay", \.lrDecay), .number("weight_decay", \.weightDecay),
             .number("initial_accumulator_value", \.initialAccumulatorValue), .number("eps", \.eps),
             .flag("maximize", \.maximize)]
        }

        public func problem() -> String? {
            negativeProblem(weightDecay, "weight decay") ?? negativeProblem(eps, "eps")
                ?? negativeProblem(lrDecay, "lr decay") ?? negativeProblem(initialAccumulatorValue, "initial accumulator value")
        }
    }

    /// Adagrad over one group of parameters.
    ///
    /// ```swift
    /// let opt = Adagrad(parameters: model.parameters(), lr: 0.05, initialAccumulatorValue: 0.1)
    /// ```
    public convenience init(parameters: [Parameter], lr: Double = 1e-2, lrDecay: Double = 0, weightDecay: Double = 0,
                            initialAccumulatorValue: Double = 0, eps: Double = 1e-10, maximize: Bool = false) {
        self.init(parameters: parameters, options: Options(lr: lr, lrDecay: lrDecay, weightDecay: weightDecay,
                                                           initialAccumulatorValue: initialAccumulatorValue, eps: eps,
                                                           maximize: maximize))
    }

    /// State `sum`, starting at the initial accumulator value.
    public override func update(_ parameter: Parameter, gradient: Tensor, state: ParameterState, options o: Options) {
        state.step += 1
        var sum = state.takeBuffer("sum", fill: o.initialAccumulatorValue)
        parameter.value.adagradUpdate(gradient: gradient, sum: &sum, step: state.step, lr: o.lr, lrDecay: o.lrDecay,
                                      weightDecay: o.weightDecay, eps: o.eps, maximize: o.maximize)
        state.buffers["sum"] = sum
    }
}
