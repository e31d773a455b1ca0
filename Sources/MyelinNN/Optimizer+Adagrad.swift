import Foundation

/// Adagrad (Duchi et al.), as `torch.optim.Adagrad`: each element's step is scaled by the root of
/// its sum of squared gradients, with optional learning-rate decay and L2 weight decay.
///
/// ```swift
/// let opt = Adagrad(parameters: model.parameters(), lr: 1e-2)
/// loss.backward()
/// opt.step()
/// ```
public final class Adagrad: Optimizer {
    /// Adagrad over parameter groups; options a group leaves nil take these values.
    ///
    /// ```swift
    /// let opt = Adagrad(groups: [ParameterGroup(embeddings, lr: 0.1), ParameterGroup(rest)])
    /// ```
    public init(groups: [ParameterGroup], lr: Double = 1e-2, lrDecay: Double = 0, weightDecay: Double = 0,
                initialAccumulatorValue: Double = 0, eps: Double = 1e-10, maximize: Bool = false) {
        super.init(name: "adagrad", groups: groups, defaults: [
            "lr": lr, "lr_decay": lrDecay, "weight_decay": weightDecay,
            "initial_accumulator_value": initialAccumulatorValue, "eps": eps, "maximize": maximize ? 1 : 0,
        ])
    }

    /// Adagrad over one group of parameters.
    ///
    /// ```swift
    /// let opt = Adagrad(parameters: model.parameters(), lr: 0.05, initialAccumulatorValue: 0.1)
    /// ```
    public convenience init(parameters: [Parameter], lr: Double = 1e-2, lrDecay: Double = 0, weightDecay: Double = 0,
                            initialAccumulatorValue: Double = 0, eps: Double = 1e-10, maximize: Bool = false) {
        self.init(groups: [ParameterGroup(parameters)], lr: lr, lrDecay: lrDecay, weightDecay: weightDecay,
                  initialAccumulatorValue: initialAccumulatorValue, eps: eps, maximize: maximize)
    }

    override func validate(_ g: ParameterGroup, index: Int) {
        if g.lrDecay! < 0 { fatalError("[adagrad] group \(index): invalid lr decay \(g.lrDecay!) (must be >= 0)") }
        if g.initialAccumulatorValue! < 0 {
            fatalError("[adagrad] group \(index): invalid initial accumulator value \(g.initialAccumulatorValue!) (must be >= 0)")
        }
    }

    override func update(_ p: Parameter, grad: Tensor, state: ParamState, group: ParameterGroup) {
        if p.dtype == .float32 { run(Float.self, p, grad: grad, state: state, group: group) }
        else { run(Double.self, p, grad: grad, state: state, group: group) }
    }

    /// State `sum`, starting at the initial accumulator value.
    private func run<T: FloatElement>(_ type: T.Type, _ p: Parameter, grad: Tensor, state: ParamState, group: ParameterGroup) {
        state.step += 1
        // clr = lr / (1 + (step - 1) * lr_decay), in Double as Python computes it.
        let clr = group.lr! / (1 + Double(state.step - 1) * group.lrDecay!)
        withBuffers(T.self, p, grad: grad, state: state, names: ["sum"], fill: group.initialAccumulatorValue!) { pp, gp, b, n in
            let s = b[0], negCLR = T(-clr), e = T(group.eps!), wd = T(group.weightDecay!)
            let decay = group.weightDecay! != 0, maximize = group.maximize!
            // state_sum.addcmul_(g, g, value=1); std = sqrt(sum) + eps; p.addcdiv_(g, std, value=-clr)
            // Loads first, so the option branches become selects and the loop vectorises.
            for i in 0..<n {
                let g0 = gp[i], p0 = pp[i]
                var gi = maximize ? -g0 : g0
                if decay { gi = gi + wd * p0 }
                let si = s[i] + gi * gi
                s[i] = si
                pp[i] = p0 + negCLR * gi / (vsqrt(si) + e)
            }
        }
    }
}
