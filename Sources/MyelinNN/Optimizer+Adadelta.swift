import Foundation

/// Adadelta (Zeiler), as `torch.optim.Adadelta`: steps scaled by the ratio of running RMS of past
/// updates to running RMS of gradients, times `lr` (default 1).
///
/// ```swift
/// let opt = Adadelta(parameters: model.parameters())
/// loss.backward()
/// opt.step()
/// ```
public final class Adadelta: GroupedOptimizer<Adadelta.Options> {
    /// Adadelta's options for one parameter group (PyTorch's defaults).
    ///
    /// ```swift
    /// let opt = Adadelta(parameters: model.parameters(), options: Adadelta.Options(rho: 0.95))
    /// ```
    public struct Options: OptimizerOptions {
        public var lr: Double
        /// Running-average coefficient of squared gradients and updates.
        public var rho: Double
        /// Term added inside the square roots for numerical stability.
        public var eps: Double
        /// L2 penalty added to the gradient.
        public var weightDecay: Double
        /// Ascend instead of descend.
        public var maximize: Bool

        public init(lr: Double = 1.0, rho: Double = 0.9, eps: Double = 1e-6, weightDecay: Double = 0, maximize: Bool = false) {
            self.lr = lr
            self.rho = rho
            self.eps = eps
            self.weightDecay = weightDecay
            self.maximize = maximize
        }

        public static var fields: [OptimizerOption<Options>] {
            [.number("lr", \.lr), .number("rho", \.rho), .number("eps", \.eps), .number("weight_decay", \.weightDecay),
             .flag("maximize", \.maximize)]
        }

        public func problem() -> String? {
            negativeProblem(weightDecay, "weight decay") ?? negativeProblem(eps, "eps")
                ?? rangeProblem(rho, "rho", in: 0, 1, closed: true)
        }
    }

    /// Adadelta over one group of parameters.
    ///
    /// ```swift
    /// let opt = Adadelta(parameters: model.parameters(), rho: 0.95)
    /// ```
    public convenience init(parameters: [Parameter], lr: Double = 1.0, rho: Double = 0.9, eps: Double = 1e-6,
                            weightDecay: Double = 0, maximize: Bool = false) {
        self.init(parameters: parameters, options: Options(lr: lr, rho: rho, eps: eps, weightDecay: weightDecay, maximize: maximize))
    }

    /// State `square_avg` and `acc_delta`.
    public override func update(_ parameter: Parameter, gradient: Tensor, state: ParameterState, options o: Options) {
        state.step += 1
        var squareAvg = state.takeBuffer("square_avg"), accDelta = state.takeBuffer("acc_delta")
        parameter.value.adadeltaUpdate(gradient: gradient, squareAvg: &squareAvg, accDelta: &accDelta, lr: o.lr, rho: o.rho,
                                       eps: o.eps, weightDecay: o.weightDecay, maximize: o.maximize)
        state.buffers["square_avg"] = squareAvg
        state.buffers["acc_delta"] = accDelta
    }
}
