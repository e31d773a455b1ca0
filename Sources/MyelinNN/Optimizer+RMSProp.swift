import Foundation

/// RMSProp (Hinton), as `torch.optim.RMSprop`: steps divided by a running RMS of the gradients,
/// optionally centred (minus the squared running mean) and with momentum.
///
/// ```swift
/// let opt = RMSProp(parameters: model.parameters(), lr: 1e-3)
/// loss.backward()
/// opt.step()
/// ```
public final class RMSProp: Optimizer {
    /// RMSProp over parameter groups; options a group leaves nil take these values.
    ///
    /// ```swift
    /// let opt = RMSProp(groups: [ParameterGroup(a), ParameterGroup(b, momentum: 0.9)], lr: 1e-3)
    /// ```
    public init(groups: [ParameterGroup], lr: Double = 1e-2, alpha: Double = 0.99, eps: Double = 1e-8,
                weightDecay: Double = 0, momentum: Double = 0, centered: Bool = false, maximize: Bool = false) {
        super.init(name: "rmsprop", groups: groups, defaults: [
            "lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weightDecay, "momentum": momentum,
            "centered": centered ? 1 : 0, "maximize": maximize ? 1 : 0,
        ])
    }

    /// RMSProp over one group of parameters.
    ///
    /// ```swift
    /// let opt = RMSProp(parameters: model.parameters(), lr: 1e-3, momentum: 0.9, centered: true)
    /// ```
    public convenience init(parameters: [Parameter], lr: Double = 1e-2, alpha: Double = 0.99, eps: Double = 1e-8,
                            weightDecay: Double = 0, momentum: Double = 0, centered: Bool = false, maximize: Bool = false) {
        self.init(groups: [ParameterGroup(parameters)], lr: lr, alpha: alpha, eps: eps, weightDecay: weightDecay,
                  momentum: momentum, centered: centered, maximize: maximize)
    }

    override var momentumOption: MomentumOption { .momentum }

    override func validate(_ g: ParameterGroup, index: Int) {
        if g.alpha! < 0 { fatalError("[rmsprop] group \(index): invalid alpha \(g.alpha!) (must be >= 0)") }
        if g.momentum! < 0 { fatalError("[rmsprop] group \(index): invalid momentum \(g.momentum!) (must be >= 0)") }
    }

    override func update(_ p: Parameter, grad: Tensor, state: ParamState, group: ParameterGroup) {
        if p.dtype == .float32 { run(Float.self, p, grad: grad, state: state, group: group) }
        else { run(Double.self, p, grad: grad, state: state, group: group) }
    }

    /// State `square_avg`, plus `grad_avg` when centred and `momentum_buffer` with momentum.
    private func run<T: FloatElement>(_ type: T.Type, _ p: Parameter, grad: Tensor, state: ParamState, group: ParameterGroup) {
        state.step += 1
        let centered = group.centered!, useMomentum = group.momentum! > 0
        var names = ["square_avg"]
        if centered { names.append("grad_avg") }
        if useMomentum { names.append("momentum_buffer") }
        withBuffers(T.self, p, grad: grad, state: state, names: names) { pp, gp, b, n in
            let sq = b[0], gavg = centered ? b[1] : nil, buf = useMomentum ? b[names.count - 1] : nil
            let alpha = T(group.alpha!), c = T(1 - group.alpha!), e = T(group.eps!), negLR = T(-group.lr!)
            // grad_avg.lerp_(g, 1 - alpha) with PyTorch's two formulas, chosen by the weight's size.
            let w = T(1 - group.alpha!), wc = 1 - w
            let mom = T(group.momentum!), wd = T(group.weightDecay!)
            let decay = group.weightDecay! != 0, maximize = group.maximize!
            // Every element is loaded up front, so the option branches become selects, and the
            // body is instantiated per combination of centred and momentum, so no loop holds a
            // conditional store: either would keep the loop from vectorising.
            @inline(__always) func element(_ i: Int, _ centered: Bool, _ momentum: Bool) {
                let g0 = gp[i], p0 = pp[i]
                var gi = maximize ? -g0 : g0
                if decay { gi = gi + wd * p0 }
                let si = sq[i] * alpha + c * gi * gi
                sq[i] = si
                var avg: T
                if centered {
                    let ga0 = gavg.unsafelyUnwrapped[i]
                    let ga = w < 0.5 ? ga0 + w * (gi - ga0) : gi - (gi - ga0) * wc
                    gavg.unsafelyUnwrapped[i] = ga
                    // square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
                    avg = vsqrt(si + (-1) * ga * ga)
                } else {
                    avg = vsqrt(si)
                }
                avg = avg + e
                if momentum {
                    // buf.mul_(momentum).addcdiv_(g, avg); p.add_(buf, alpha=-lr)
                    let bi = buf.unsafelyUnwrapped[i] * mom + gi / avg
                    buf.unsafelyUnwrapped[i] = bi
                    pp[i] = p0 + negLR * bi
                } else {
                    pp[i] = p0 + negLR * gi / avg
                }
            }
            switch (centered, useMomentum) {
            case (false, false): for i in 0..<n { element(i, false, false) }
            case (false, true): for i in 0..<n { element(i, false, true) }
            case (true, false): for i in 0..<n { element(i, true, false) }
            case (true, true): for i in 0..<n { element(i, true, true) }
            }
        }
    }
}
