import Foundation

/// Stochastic gradient descent, as `torch.optim.SGD`: optional L2 weight decay, momentum with
/// dampening, and Nesterov momentum.
///
/// ```swift
/// let opt = SGD(parameters: model.parameters(), lr: 0.01, momentum: 0.9)
/// loss.backward()
/// opt.step()
/// ```
public final class SGD: Optimizer {
    /// SGD over parameter groups; options a group leaves nil take these values.
    ///
    /// ```swift
    /// let opt = SGD(groups: [ParameterGroup(backbone, lr: 1e-3), ParameterGroup(head)], lr: 1e-2, momentum: 0.9)
    /// ```
    public init(groups: [ParameterGroup], lr: Double = 1e-3, momentum: Double = 0, dampening: Double = 0,
                weightDecay: Double = 0, nesterov: Bool = false, maximize: Bool = false) {
        super.init(name: "sgd", groups: groups, defaults: [
            "lr": lr, "momentum": momentum, "dampening": dampening, "weight_decay": weightDecay,
            "nesterov": nesterov ? 1 : 0, "maximize": maximize ? 1 : 0,
        ])
    }

    /// SGD over one group of parameters.
    ///
    /// ```swift
    /// let opt = SGD(parameters: model.parameters(), lr: 0.1, momentum: 0.9, nesterov: true)
    /// ```
    public convenience init(parameters: [Parameter], lr: Double = 1e-3, momentum: Double = 0, dampening: Double = 0,
                            weightDecay: Double = 0, nesterov: Bool = false, maximize: Bool = false) {
        self.init(groups: [ParameterGroup(parameters)], lr: lr, momentum: momentum, dampening: dampening,
                  weightDecay: weightDecay, nesterov: nesterov, maximize: maximize)
    }

    override var momentumOption: MomentumOption { .momentum }

    override func validate(_ g: ParameterGroup, index: Int) {
        if g.momentum! < 0 { fatalError("[sgd] group \(index): invalid momentum \(g.momentum!) (must be >= 0)") }
        if g.nesterov! && (g.momentum! <= 0 || g.dampening! != 0) {
            fatalError("[sgd] group \(index): Nesterov momentum needs momentum > 0 and dampening 0; got momentum \(g.momentum!), dampening \(g.dampening!)")
        }
    }

    override func update(_ p: Parameter, grad: Tensor, state: ParamState, group: ParameterGroup) {
        if p.dtype == .float32 { run(Float.self, p, grad: grad, state: state, group: group) }
        else { run(Double.self, p, grad: grad, state: state, group: group) }
    }

    /// State `momentum_buffer` (only with momentum), created as a copy of the first gradient.
    private func run<T: FloatElement>(_ type: T.Type, _ p: Parameter, grad: Tensor, state: ParamState, group: ParameterGroup) {
        state.step += 1
        let momentum = group.momentum!
        let fresh = state.buffers["momentum_buffer"] == nil
        withBuffers(T.self, p, grad: grad, state: state, names: momentum != 0 ? ["momentum_buffer"] : []) { pp, gp, b, n in
            sgdKernel(n, param: pp, grad: gp, buffer: momentum != 0 ? b[0] : nil, freshBuffer: fresh, lr: group.lr!,
                      momentum: momentum, dampening: group.dampening!, weightDecay: group.weightDecay!,
                      nesterov: group.nesterov!, maximize: group.maximize!)
        }
    }
}

/// PyTorch's `_single_tensor_sgd` in one pass: `g += wd * p`; `buf = buf * momentum + (1 - dampening) * g`
/// (the first gradient itself on the first step); `g = g + momentum * buf` (Nesterov) or `buf`;
/// `p += -lr * g`.
@inline(__always)
func sgdKernel<T: FloatElement>(
    _ n: Int, param p: UnsafeMutablePointer<T>, grad g: UnsafePointer<T>, buffer buf: UnsafeMutablePointer<T>?,
    freshBuffer: Bool, lr: Double, momentum: Double, dampening: Double, weightDecay: Double, nesterov: Bool, maximize: Bool
) {
    let negLR = T(-lr), wd = T(weightDecay), mom = T(momentum), damp = T(1 - dampening)
    let decay = weightDecay != 0
    guard let buf else {
        if !decay && !maximize {
            for i in 0..<n { p[i] = p[i] + negLR * g[i] }
            return
        }
        for i in 0..<n {
            let g0 = g[i], p0 = p[i]
            var gi = maximize ? -g0 : g0
            if decay { gi = gi + wd * p0 }
            p[i] = p0 + negLR * gi
        }
        return
    }
    if !decay && !maximize && !freshBuffer && !nesterov {
        for i in 0..<n {
            let b = buf[i] * mom + damp * g[i]
            buf[i] = b
            p[i] = p[i] + negLR * b
        }
        return
    }
    // Loads first, so the option branches become selects and the loop vectorises.
    for i in 0..<n {
        let g0 = g[i], p0 = p[i], b0 = buf[i]
        var gi = maximize ? -g0 : g0
        if decay { gi = gi + wd * p0 }
        let b = freshBuffer ? gi : b0 * mom + damp * gi
        buf[i] = b
        let step = nesterov ? gi + mom * b : b
        p[i] = p0 + negLR * step
    }
}
