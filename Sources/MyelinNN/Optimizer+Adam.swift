import CMyelinKernels
import Foundation

/// Adam (Kingma & Ba), as `torch.optim.Adam`: running averages of the gradient and its square,
/// bias-corrected, with optional L2 weight decay added to the gradient and the AMSGrad variant.
///
/// ```swift
/// let opt = Adam(parameters: model.parameters(), lr: 1e-3)
/// loss.backward()
/// opt.step()
/// ```
public final class Adam: Optimizer {
    /// Adam over parameter groups; options a group leaves nil take these values.
    ///
    /// ```swift
    /// let opt = Adam(groups: [ParameterGroup(encoder), ParameterGroup(head, lr: 1e-2)], lr: 1e-3)
    /// ```
    public init(groups: [ParameterGroup], lr: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999),
                eps: Double = 1e-8, weightDecay: Double = 0, amsgrad: Bool = false, maximize: Bool = false) {
        super.init(name: "adam", groups: groups, defaults: adamDefaults(lr, betas, eps, weightDecay, amsgrad, maximize))
    }

    /// Adam over one group of parameters.
    ///
    /// ```swift
    /// let opt = Adam(parameters: model.parameters(), lr: 3e-4, weightDecay: 1e-5)
    /// ```
    public convenience init(parameters: [Parameter], lr: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999),
                            eps: Double = 1e-8, weightDecay: Double = 0, amsgrad: Bool = false, maximize: Bool = false) {
        self.init(groups: [ParameterGroup(parameters)], lr: lr, betas: betas, eps: eps, weightDecay: weightDecay,
                  amsgrad: amsgrad, maximize: maximize)
    }

    override var momentumOption: MomentumOption { .beta1 }
    override func validate(_ g: ParameterGroup, index: Int) { validateAdam(g, index: index) }

    override func update(_ p: Parameter, grad: Tensor, state: ParamState, group: ParameterGroup) {
        if p.dtype == .float32 {
            adamStep(Float.self, p, grad: grad, state: state, group: group, decoupled: false)
        } else {
            adamStep(Double.self, p, grad: grad, state: state, group: group, decoupled: false)
        }
    }
}

/// AdamW (Loshchilov & Hutter), as `torch.optim.AdamW`: Adam whose weight decay shrinks the
/// parameters directly (`p *= 1 - lr * weightDecay`) instead of entering the gradient averages.
///
/// ```swift
/// let opt = AdamW(parameters: model.parameters(), lr: 1e-3, weightDecay: 0.01)
/// ```
public final class AdamW: Optimizer {
    /// AdamW over parameter groups; options a group leaves nil take these values.
    ///
    /// ```swift
    /// let opt = AdamW(groups: [ParameterGroup(weights), ParameterGroup(biases, weightDecay: 0)])
    /// ```
    public init(groups: [ParameterGroup], lr: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999),
                eps: Double = 1e-8, weightDecay: Double = 1e-2, amsgrad: Bool = false, maximize: Bool = false) {
        super.init(name: "adamw", groups: groups, defaults: adamDefaults(lr, betas, eps, weightDecay, amsgrad, maximize))
    }

    /// AdamW over one group of parameters.
    ///
    /// ```swift
    /// let opt = AdamW(parameters: model.parameters(), lr: 3e-4)
    /// ```
    public convenience init(parameters: [Parameter], lr: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999),
                            eps: Double = 1e-8, weightDecay: Double = 1e-2, amsgrad: Bool = false, maximize: Bool = false) {
        self.init(groups: [ParameterGroup(parameters)], lr: lr, betas: betas, eps: eps, weightDecay: weightDecay,
                  amsgrad: amsgrad, maximize: maximize)
    }

    override var momentumOption: MomentumOption { .beta1 }
    override func validate(_ g: ParameterGroup, index: Int) { validateAdam(g, index: index) }

    override func update(_ p: Parameter, grad: Tensor, state: ParamState, group: ParameterGroup) {
        if p.dtype == .float32 {
            adamStep(Float.self, p, grad: grad, state: state, group: group, decoupled: true)
        } else {
            adamStep(Double.self, p, grad: grad, state: state, group: group, decoupled: true)
        }
    }
}

private func adamDefaults(_ lr: Double, _ betas: (Double, Double), _ eps: Double, _ weightDecay: Double,
                          _ amsgrad: Bool, _ maximize: Bool) -> [String: Double] {
    ["lr": lr, "beta1": betas.0, "beta2": betas.1, "eps": eps, "weight_decay": weightDecay,
     "amsgrad": amsgrad ? 1 : 0, "maximize": maximize ? 1 : 0]
}

extension Optimizer {
    final func validateAdam(_ g: ParameterGroup, index: Int) {
        check(g.betas!.0, "beta1", in: 0, 1, group: index)
        check(g.betas!.1, "beta2", in: 0, 1, group: index)
    }

    /// One Adam/AdamW step of one parameter: state `exp_avg`, `exp_avg_sq` (and `max_exp_avg_sq`
    /// with AMSGrad), as PyTorch names them.
    final func adamStep<T: FloatElement>(_ type: T.Type, _ p: Parameter, grad: Tensor, state: ParamState,
                                          group: ParameterGroup, decoupled: Bool) {
        state.step += 1
        let amsgrad = group.amsgrad!
        let names = amsgrad ? ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"] : ["exp_avg", "exp_avg_sq"]
        let step = state.step
        withBuffers(T.self, p, grad: grad, state: state, names: names) { pp, gp, b, n in
            adamKernel(n, param: pp, grad: gp, expAvg: b[0], expAvgSq: b[1], maxExpAvgSq: amsgrad ? b[2] : nil,
                       step: step, lr: group.lr!, beta1: group.betas!.0, beta2: group.betas!.1, eps: group.eps!,
                       weightDecay: group.weightDecay!, decoupled: decoupled, maximize: group.maximize!)
        }
    }
}

/// PyTorch's `_single_tensor_adam`, fused into one pass. Scalars are formed in Double as Python
/// forms them, then rounded to the element type once, as PyTorch's kernels receive them; each
/// element op keeps PyTorch's order (lerp_, mul_ then addcmul_, sqrt / bc2 + eps, addcdiv_).
@inline(__always)
func adamKernel<T: FloatElement>(
    _ n: Int, param p: UnsafeMutablePointer<T>, grad g: UnsafePointer<T>, expAvg m: UnsafeMutablePointer<T>,
    expAvgSq v: UnsafeMutablePointer<T>, maxExpAvgSq vmax: UnsafeMutablePointer<T>?, step: Int,
    lr: Double, beta1: Double, beta2: Double, eps: Double, weightDecay: Double, decoupled: Bool, maximize: Bool
) {
    let biasCorrection1 = 1 - pow(beta1, Double(step))
    let biasCorrection2 = 1 - pow(beta2, Double(step))
    let negStepSize = T(-(lr / biasCorrection1))
    let bc2Sqrt = T(pow(biasCorrection2, 0.5))
    // lerp_(grad, 1 - beta1) with PyTorch's two formulas, chosen by the weight's size.
    let w = T(1 - beta1), wc = 1 - w
    let b2 = T(beta2), c2 = T(1 - beta2), e = T(eps)
    let wd = T(weightDecay), decay = T(1 - lr * weightDecay)
    let l2 = weightDecay != 0 && !decoupled, shrink = weightDecay != 0 && decoupled
    if w < 0.5 && !l2 && !shrink && !maximize && vmax == nil {
        // Float32 on AVX2: the same operations 8 wide in C (Swift here targets SSE2, 4 wide).
        if T.self == Float.self, myelin_adam_f32(
            n, UnsafeMutableRawPointer(p).assumingMemoryBound(to: Float.self), UnsafeRawPointer(g).assumingMemoryBound(to: Float.self),
            UnsafeMutableRawPointer(m).assumingMemoryBound(to: Float.self), UnsafeMutableRawPointer(v).assumingMemoryBound(to: Float.self),
            w as! Float, b2 as! Float, c2 as! Float, bc2Sqrt as! Float, e as! Float, negStepSize as! Float) != 0 {
            return
        }
        // The common case without branches in the loop, so it vectorises.
        for i in 0..<n {
            let gi = g[i]
            let mi = m[i] + w * (gi - m[i])
            m[i] = mi
            let vi = v[i] * b2 + c2 * gi * gi
            v[i] = vi
            let denom = vsqrt(vi) / bc2Sqrt + e
            p[i] = p[i] + negStepSize * mi / denom
        }
        return
    }
    // Every element is loaded up front, so the option branches become selects, and the body is
    // instantiated in two loops with AMSGrad fixed, so neither holds a conditional store: either
    // would keep the loop from vectorising.
    @inline(__always) func element(_ i: Int, _ amsgrad: Bool) {
        let g0 = g[i], p0 = p[i], m0 = m[i], v0 = v[i]
        var gi = maximize ? -g0 : g0
        if l2 { gi = gi + wd * p0 }
        let pi = shrink ? p0 * decay : p0
        let mi = w < 0.5 ? m0 + w * (gi - m0) : gi - (gi - m0) * wc
        m[i] = mi
        let vi = v0 * b2 + c2 * gi * gi
        v[i] = vi
        var vv = vi
        if amsgrad {
            // torch.maximum: NaN wins.
            let mx = vmax.unsafelyUnwrapped[i]
            vv = vi > mx || vi != vi ? vi : mx
            vmax.unsafelyUnwrapped[i] = vv
        }
        let denom = vsqrt(vv) / bc2Sqrt + e
        p[i] = pi + negStepSize * mi / denom
    }
    if vmax != nil {
        for i in 0..<n { element(i, true) }
    } else {
        for i in 0..<n { element(i, false) }
    }
}
