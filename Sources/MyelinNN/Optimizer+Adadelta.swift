import Foundation

/// Adadelta (Zeiler), as `torch.optim.Adadelta`: steps scaled by the ratio of running RMS of past
/// updates to running RMS of gradients, times `lr` (default 1).
///
/// ```swift
/// let opt = Adadelta(parameters: model.parameters())
/// loss.backward()
/// opt.step()
/// ```
public final class Adadelta: Optimizer {
    /// Adadelta over parameter groups; options a group leaves nil take these values.
    ///
    /// ```swift
    /// let opt = Adadelta(groups: [ParameterGroup(a), ParameterGroup(b, rho: 0.95)])
    /// ```
    public init(groups: [ParameterGroup], lr: Double = 1.0, rho: Double = 0.9, eps: Double = 1e-6,
                weightDecay: Double = 0, maximize: Bool = false) {
        super.init(name: "adadelta", groups: groups, defaults: [
            "lr": lr, "rho": rho, "eps": eps, "weight_decay": weightDecay, "maximize": maximize ? 1 : 0,
        ])
    }

    /// Adadelta over one group of parameters.
    ///
    /// ```swift
    /// let opt = Adadelta(parameters: model.parameters(), rho: 0.95)
    /// ```
    public convenience init(parameters: [Parameter], lr: Double = 1.0, rho: Double = 0.9, eps: Double = 1e-6,
                            weightDecay: Double = 0, maximize: Bool = false) {
        self.init(groups: [ParameterGroup(parameters)], lr: lr, rho: rho, eps: eps, weightDecay: weightDecay, maximize: maximize)
    }

    override func validate(_ g: ParameterGroup, index: Int) {
        check(g.rho!, "rho", in: 0, 1, closed: true, group: index)
    }

    override func update(_ p: Parameter, grad: Tensor, state: ParamState, group: ParameterGroup) {
        if p.dtype == .float32 { run(Float.self, p, grad: grad, state: state, group: group) }
        else { run(Double.self, p, grad: grad, state: state, group: group) }
    }

    /// State `square_avg` and `acc_delta`.
    private func run<T: FloatElement>(_ type: T.Type, _ p: Parameter, grad: Tensor, state: ParamState, group: ParameterGroup) {
        state.step += 1
        withBuffers(T.self, p, grad: grad, state: state, names: ["square_avg", "acc_delta"]) { pp, gp, b, n in
            let sq = b[0], acc = b[1]
            let rho = T(group.rho!), c = T(1 - group.rho!), e = T(group.eps!), negLR = T(-group.lr!)
            let wd = T(group.weightDecay!), decay = group.weightDecay! != 0, maximize = group.maximize!
            // square_avg.mul_(rho).addcmul_(g, g, value=1-rho); std = (square_avg + eps).sqrt();
            // delta = (acc_delta + eps).sqrt() / std * g; acc_delta.mul_(rho).addcmul_(delta, delta, value=1-rho);
            // p.add_(delta, alpha=-lr)
            // Loads first, so the option branches become selects and the loop vectorises.
            for i in 0..<n {
                let g0 = gp[i], p0 = pp[i], a0 = acc[i]
                var gi = maximize ? -g0 : g0
                if decay { gi = gi + wd * p0 }
                let si = sq[i] * rho + c * gi * gi
                sq[i] = si
                let std = vsqrt(si + e)
                let delta = vsqrt(a0 + e) / std * gi
                acc[i] = a0 * rho + c * delta * delta
                pp[i] = p0 + negLR * delta
            }
        }
    }
}
