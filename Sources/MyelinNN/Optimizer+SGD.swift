import Foundation

/// Stochastic gradient descent, as `torch.optim.SGD`: optional L2 weight decay, momentum with
/// dampening, and Nesterov momentum.
///
/// ```swift
/// let opt = SGD(parameters: model.parameters(), lr: 0.01, momentum: 0.9)
/// loss.backward()
/// opt.step()
/// ```
public final class SGD: GroupedOptimizer<SGD.Options> {
    /// SGD's options for one parameter group (PyTorch's defaults).
    ///
    /// ```swift
    /// let opt = SGD(parameters: model.parameters(), options: SGD.Options(lr: 0.1, momentum: 0.9, nesterov: true))
    /// ```
    public struct Options: OptimizerOptions {
        public var lr: Double
        /// Momentum factor (0: none).
        public var momentum: Double
        /// Dampening of the momentum.
        public var dampening: Double
        /// L2 penalty added to the gradient.
        public var weightDecay: Double
        /// Nesterov momentum (needs momentum > 0 and dampening 0).
        public var nesterov: Bool
        /// Ascend instead of descend.
        public var maximize: Bool

        public init(lr: Double = 1e-3, momentum: Double = 0, dampening: Double = 0, weightDecay: Double = 0,
                    nesterov: Bool = false, maximize: Bool = false) {
            self.lr = lr
            self.momentum = momentum
            self.dampening = dampening
            self.weightDecay = weightDecay
            self.nesterov = nesterov
            self.maximize = maximize
        }

        public static var fields: [OptimizerOption<Options>] {
            [.number("lr", \.lr), .number("momentum", \.momentum), .number("dampening", \.dampening),
             .number("weight_decay", \.weightDecay), .flag("nesterov", \.nesterov), .flag("maximize", \.maximize)]
        }

        public var cycledMomentum: Double? {
            get { momentum }
            set { if let v = newValue { momentum = v } }
        }

        public func problem() -> String? {
            if let p = negativeProblem(weightDecay, "weight decay") ?? negativeProblem(momentum, "momentum") { return p }
            if nesterov && (momentum <= 0 || dampening != 0) {
                return "Nesterov momentum needs momentum > 0 and dampening 0; got momentum \(momentum), dampening \(dampening)"
            }
            return nil
        }
    }

    /// SGD over one group of parameters.
    ///
    /// ```swift
    /// let opt = SGD(parameters: model.parameters(), lr: 0.1, momentum: 0.9, nesterov: true)
    /// ```
    public convenience init(parameters: [Parameter], lr: Double = 1e-3, momentum: Double = 0, dampening: Double = 0,
                            weightDecay: Double = 0, nesterov: Bool = false, maximize: Bool = false) {
        self.init(parameters: parameters, options: Options(lr: lr, momentum: momentum, dampening: dampening,
                                                           weightDecay: weightDecay, nesterov: nesterov, maximize: maximize))
    }

    /// State `momentum_buffer` (only with momentum), created as a copy of the first gradient.
    public override func update(_ parameter: Parameter, gradient: Tensor, state: ParameterState, options o: Options) {
        state.step += 1
        var buffer = o.momentum != 0 ? state.takeBufferIfPresent("momentum_buffer") : nil
        parameter.value.sgdUpdate(gradient: gradient, momentumBuffer: &buffer, lr: o.lr, momentum: o.momentum,
                                  dampening: o.dampening, weightDecay: o.weightDecay, nesterov: o.nesterov, maximize: o.maximize)
        if let buffer { state.buffers["momentum_buffer"] = buffer }
    }
}
