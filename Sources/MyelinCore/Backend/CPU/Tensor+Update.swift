import CMyelinKernels
import Foundation

// In-place update operations: the optimisers' fused steps (Adam/AdamW, SGD, RMSProp, Adagrad,
// Adadelta) and the gradient-clipping rescales. These are backend calls: each is one pass over raw
// memory (split across Myelin's threads, the Adam float32 case in C with AVX2), and nothing else in
// the library writes a parameter's or a state buffer's memory. They are all in this one file so a
// later change can route them through a backend interface.
//
// Every update follows PyTorch's single-tensor (CPU) implementation op for op: scalars are formed
// in Double as Python forms them and rounded to the element type once, and each element op keeps
// PyTorch's order, so results match torch.optim to the last bit or close to it.
//
// Shared rules: `self` (the parameter) and the state buffers are float32 or float64, the buffers
// of the parameter's shape and dtype; the gradient has the parameter's shape (any float dtype, it
// is converted). Writes happen in place when the memory is unshared (copy-on-write otherwise) and
// keep the tensor's autograd identity; a tensor that requires gradients must be updated inside
// `withoutGrad { }`. Autograd does not record these operations. Misuse traps with the op's name and
// the numbers.

extension Tensor {
    /// One Adam or AdamW step in place (PyTorch's `_single_tensor_adam` / `_single_tensor_adamw`),
    /// fused into one pass: `exp_avg` and `exp_avg_sq` (and `max_exp_avg_sq` with AMSGrad) are
    /// updated alongside the parameter. `step` counts this step (1 on the first). With
    /// `decoupledWeightDecay` the parameter shrinks by `1 - lr * weightDecay` (AdamW); otherwise
    /// `weightDecay * p` joins the gradient (Adam's L2 penalty).
    ///
    /// ```swift
    /// var m = Tensor.zeros(w.shape), v = Tensor.zeros(w.shape)
    /// var vmax: Tensor? = nil
    /// withoutGrad {
    ///     w.adamUpdate(gradient: g, expAvg: &m, expAvgSq: &v, maxExpAvgSq: &vmax, step: 1, lr: 1e-3)
    /// }
    /// ```
    public mutating func adamUpdate(
        gradient: Tensor, expAvg: inout Tensor, expAvgSq: inout Tensor, maxExpAvgSq: inout Tensor?, step: Int,
        lr: Double, beta1: Double = 0.9, beta2: Double = 0.999, eps: Double = 1e-8, weightDecay: Double = 0,
        decoupledWeightDecay: Bool = false, maximize: Bool = false
    ) {
        let op = "adamUpdate"
        if step < 1 { fatalError("[\(op)] step \(step) must be >= 1 (it counts this step)") }
        switch updateDType(op) {
        case .float32:
            adamUpdate(Float.self, gradient, &expAvg, &expAvgSq, &maxExpAvgSq, step, lr, beta1, beta2, eps,
                       weightDecay, decoupledWeightDecay, maximize)
        default:
            adamUpdate(Double.self, gradient, &expAvg, &expAvgSq, &maxExpAvgSq, step, lr, beta1, beta2, eps,
                       weightDecay, decoupledWeightDecay, maximize)
        }
    }

    private mutating func adamUpdate<T: FloatElement>(
        _ type: T.Type, _ gradient: Tensor, _ m: inout Tensor, _ v: inout Tensor, _ vmax: inout Tensor?, _ step: Int,
        _ lr: Double, _ beta1: Double, _ beta2: Double, _ eps: Double, _ weightDecay: Double, _ decoupled: Bool, _ maximize: Bool
    ) {
        let op = "adamUpdate"
        let g = updateGradient(gradient, op)
        let pp = updatePointer(T.self, op)
        let mp = m.bufferPointer(T.self, op, "expAvg", like: self)
        let vp = v.bufferPointer(T.self, op, "expAvgSq", like: self)
        var xp: UnsafeMutablePointer<T>?
        if vmax != nil { xp = vmax!.bufferPointer(T.self, op, "maxExpAvgSq", like: self) }
        let gp = UnsafePointer(g.basePointer(T.self))
        withExtendedLifetime(g) {
            Threading.parallelFor(count) { lo, hi in
                adamKernel(hi - lo, param: pp + lo, grad: gp + lo, expAvg: mp + lo, expAvgSq: vp + lo,
                           maxExpAvgSq: xp.map { $0 + lo }, step: step, lr: lr, beta1: beta1, beta2: beta2, eps: eps,
                           weightDecay: weightDecay, decoupled: decoupled, maximize: maximize)
            }
        }
    }

    /// One SGD step in place (PyTorch's `_single_tensor_sgd`): `g += weightDecay * p`; with momentum,
    /// `buf = momentum * buf + (1 - dampening) * g` (the first gradient itself when `momentumBuffer`
    /// is nil, which then becomes the new buffer), and `g = g + momentum * buf` (Nesterov) or `buf`;
    /// finally `p -= lr * g`. Without momentum `momentumBuffer` stays nil.
    ///
    /// ```swift
    /// var buffer: Tensor? = nil
    /// withoutGrad { w.sgdUpdate(gradient: g, momentumBuffer: &buffer, lr: 0.1, momentum: 0.9) }
    /// ```
    public mutating func sgdUpdate(
        gradient: Tensor, momentumBuffer: inout Tensor?, lr: Double, momentum: Double = 0, dampening: Double = 0,
        weightDecay: Double = 0, nesterov: Bool = false, maximize: Bool = false
    ) {
        switch updateDType("sgdUpdate") {
        case .float32: sgdUpdate(Float.self, gradient, &momentumBuffer, lr, momentum, dampening, weightDecay, nesterov, maximize)
        default: sgdUpdate(Double.self, gradient, &momentumBuffer, lr, momentum, dampening, weightDecay, nesterov, maximize)
        }
    }

    private mutating func sgdUpdate<T: FloatElement>(
        _ type: T.Type, _ gradient: Tensor, _ buffer: inout Tensor?, _ lr: Double, _ momentum: Double, _ dampening: Double,
        _ weightDecay: Double, _ nesterov: Bool, _ maximize: Bool
    ) {
        let op = "sgdUpdate"
        let g = updateGradient(gradient, op)
        let pp = updatePointer(T.self, op)
        var fresh = false
        if momentum != 0 && buffer == nil {
            // Every element is written from the gradient on this first step.
            buffer = Tensor(uninitializedShape: shape, dtype: dtype)
            fresh = true
        }
        var bp: UnsafeMutablePointer<T>?
        if momentum != 0 { bp = buffer!.bufferPointer(T.self, op, "momentumBuffer", like: self) }
        let gp = UnsafePointer(g.basePointer(T.self))
        withExtendedLifetime(g) {
            Threading.parallelFor(count) { lo, hi in
                sgdKernel(hi - lo, param: pp + lo, grad: gp + lo, buffer: bp.map { $0 + lo }, freshBuffer: fresh, lr: lr,
                          momentum: momentum, dampening: dampening, weightDecay: weightDecay, nesterov: nesterov,
                          maximize: maximize)
            }
        }
    }

    /// One RMSProp step in place (PyTorch's `_single_tensor_rmsprop`): `square_avg` always;
    /// `gradAvg` (pass one to centre: the step divides by the root of the variance estimate
    /// `square_avg - grad_avg²`); `momentumBuffer` (pass one when `momentum > 0`).
    ///
    /// ```swift
    /// var sq = Tensor.zeros(w.shape)
    /// var centre: Tensor? = nil, buffer: Tensor? = nil
    /// withoutGrad { w.rmspropUpdate(gradient: g, squareAvg: &sq, gradAvg: &centre, momentumBuffer: &buffer, lr: 1e-2) }
    /// ```
    public mutating func rmspropUpdate(
        gradient: Tensor, squareAvg: inout Tensor, gradAvg: inout Tensor?, momentumBuffer: inout Tensor?, lr: Double,
        alpha: Double = 0.99, eps: Double = 1e-8, weightDecay: Double = 0, momentum: Double = 0, maximize: Bool = false
    ) {
        let op = "rmspropUpdate"
        if (momentum > 0) != (momentumBuffer != nil) {
            fatalError("[\(op)] momentum \(momentum) needs a momentum buffer exactly when it is > 0 (buffer \(momentumBuffer == nil ? "missing" : "given"))")
        }
        switch updateDType(op) {
        case .float32: rmspropUpdate(Float.self, gradient, &squareAvg, &gradAvg, &momentumBuffer, lr, alpha, eps, weightDecay, momentum, maximize)
        default: rmspropUpdate(Double.self, gradient, &squareAvg, &gradAvg, &momentumBuffer, lr, alpha, eps, weightDecay, momentum, maximize)
        }
    }

    private mutating func rmspropUpdate<T: FloatElement>(
        _ type: T.Type, _ gradient: Tensor, _ squareAvg: inout Tensor, _ gradAvg: inout Tensor?, _ momentumBuffer: inout Tensor?,
        _ lr: Double, _ alpha: Double, _ eps: Double, _ weightDecay: Double, _ momentum: Double, _ maximize: Bool
    ) {
        let op = "rmspropUpdate"
        let g = updateGradient(gradient, op)
        let pp = updatePointer(T.self, op)
        let sp = squareAvg.bufferPointer(T.self, op, "squareAvg", like: self)
        var ap: UnsafeMutablePointer<T>?, bp: UnsafeMutablePointer<T>?
        if gradAvg != nil { ap = gradAvg!.bufferPointer(T.self, op, "gradAvg", like: self) }
        if momentumBuffer != nil { bp = momentumBuffer!.bufferPointer(T.self, op, "momentumBuffer", like: self) }
        let gp = UnsafePointer(g.basePointer(T.self))
        withExtendedLifetime(g) {
            Threading.parallelFor(count) { lo, hi in
                rmspropKernel(hi - lo, param: pp + lo, grad: gp + lo, squareAvg: sp + lo, gradAvg: ap.map { $0 + lo },
                              buffer: bp.map { $0 + lo }, lr: lr, alpha: alpha, eps: eps, weightDecay: weightDecay,
                              momentum: momentum, maximize: maximize)
            }
        }
    }

    /// One Adagrad step in place (PyTorch's `_single_tensor_adagrad`): `sum += g²`, then
    /// `p -= clr * g / (sqrt(sum) + eps)` with `clr = lr / (1 + (step - 1) * lrDecay)`. `step`
    /// counts this step (1 on the first).
    ///
    /// ```swift
    /// var sum = Tensor.zeros(w.shape)
    /// withoutGrad { w.adagradUpdate(gradient: g, sum: &sum, step: 1, lr: 1e-2) }
    /// ```
    public mutating func adagradUpdate(
        gradient: Tensor, sum: inout Tensor, step: Int, lr: Double, lrDecay: Double = 0, weightDecay: Double = 0,
        eps: Double = 1e-10, maximize: Bool = false
    ) {
        let op = "adagradUpdate"
        if step < 1 { fatalError("[\(op)] step \(step) must be >= 1 (it counts this step)") }
        // clr in Double, as Python computes it.
        let clr = lr / (1 + Double(step - 1) * lrDecay)
        switch updateDType(op) {
        case .float32: adagradUpdate(Float.self, gradient, &sum, clr, weightDecay, eps, maximize)
        default: adagradUpdate(Double.self, gradient, &sum, clr, weightDecay, eps, maximize)
        }
    }

    private mutating func adagradUpdate<T: FloatElement>(
        _ type: T.Type, _ gradient: Tensor, _ sum: inout Tensor, _ clr: Double, _ weightDecay: Double, _ eps: Double, _ maximize: Bool
    ) {
        let op = "adagradUpdate"
        let g = updateGradient(gradient, op)
        let pp = updatePointer(T.self, op)
        let sp = sum.bufferPointer(T.self, op, "sum", like: self)
        let gp = UnsafePointer(g.basePointer(T.self))
        let negCLR = T(-clr), e = T(eps), wd = T(weightDecay), decay = weightDecay != 0
        withExtendedLifetime(g) {
            Threading.parallelFor(count) { lo, hi in
                let p = pp + lo, g = gp + lo, s = sp + lo
                // state_sum.addcmul_(g, g, value=1); std = sqrt(sum) + eps; p.addcdiv_(g, std, value=-clr)
                // Loads first, so the option branches become selects and the loop vectorises.
                for i in 0..<(hi - lo) {
                    let g0 = g[i], p0 = p[i]
                    var gi = maximize ? -g0 : g0
                    if decay { gi = gi + wd * p0 }
                    let si = s[i] + gi * gi
                    s[i] = si
                    p[i] = p0 + negCLR * gi / (updateSqrt(si) + e)
                }
            }
        }
    }

    /// One Adadelta step in place (PyTorch's `_single_tensor_adadelta`): running averages of the
    /// squared gradients (`squareAvg`) and squared updates (`accDelta`) scale each step.
    ///
    /// ```swift
    /// var sq = Tensor.zeros(w.shape), acc = Tensor.zeros(w.shape)
    /// withoutGrad { w.adadeltaUpdate(gradient: g, squareAvg: &sq, accDelta: &acc, lr: 1.0) }
    /// ```
    public mutating func adadeltaUpdate(
        gradient: Tensor, squareAvg: inout Tensor, accDelta: inout Tensor, lr: Double, rho: Double = 0.9,
        eps: Double = 1e-6, weightDecay: Double = 0, maximize: Bool = false
    ) {
        switch updateDType("adadeltaUpdate") {
        case .float32: adadeltaUpdate(Float.self, gradient, &squareAvg, &accDelta, lr, rho, eps, weightDecay, maximize)
        default: adadeltaUpdate(Double.self, gradient, &squareAvg, &accDelta, lr, rho, eps, weightDecay, maximize)
        }
    }

    private mutating func adadeltaUpdate<T: FloatElement>(
        _ type: T.Type, _ gradient: Tensor, _ squareAvg: inout Tensor, _ accDelta: inout Tensor, _ lr: Double,
        _ rhoValue: Double, _ eps: Double, _ weightDecay: Double, _ maximize: Bool
    ) {
        let op = "adadeltaUpdate"
        let g = updateGradient(gradient, op)
        let pp = updatePointer(T.self, op)
        let sp = squareAvg.bufferPointer(T.self, op, "squareAvg", like: self)
        let ap = accDelta.bufferPointer(T.self, op, "accDelta", like: self)
        let gp = UnsafePointer(g.basePointer(T.self))
        let rho = T(rhoValue), c = T(1 - rhoValue), e = T(eps), negLR = T(-lr)
        let wd = T(weightDecay), decay = weightDecay != 0
        withExtendedLifetime(g) {
            Threading.parallelFor(count) { lo, hi in
                let p = pp + lo, g = gp + lo, sq = sp + lo, acc = ap + lo
                // square_avg.mul_(rho).addcmul_(g, g, value=1-rho); std = (square_avg + eps).sqrt();
                // delta = (acc_delta + eps).sqrt() / std * g; acc_delta.mul_(rho).addcmul_(delta, delta, value=1-rho);
                // p.add_(delta, alpha=-lr)
                // Loads first, so the option branches become selects and the loop vectorises.
                for i in 0..<(hi - lo) {
                    let g0 = g[i], p0 = p[i], a0 = acc[i]
                    var gi = maximize ? -g0 : g0
                    if decay { gi = gi + wd * p0 }
                    let si = sq[i] * rho + c * gi * gi
                    sq[i] = si
                    let std = updateSqrt(si + e)
                    let delta = updateSqrt(a0 + e) / std * gi
                    acc[i] = a0 * rho + c * delta * delta
                    p[i] = p0 + negLR * delta
                }
            }
        }
    }

    // MARK: gradient clipping

    /// Multiplies every element by `factor` in place, the factor rounded to the dtype first as
    /// PyTorch's `mul_` takes it (`clipGradNorm`'s rescale).
    ///
    /// ```swift
    /// var g = Tensor([3.0, 4.0])
    /// g.scaleInPlace(by: 0.5)   // [1.5, 2]
    /// ```
    public mutating func scaleInPlace(by factor: Double) {
        let op = "scaleInPlace"
        switch updateDType(op) {
        case .float32:
            let p = updatePointer(Float.self, op), c = Float(factor)
            Threading.parallelFor(count) { lo, hi in for i in lo..<hi { p[i] *= c } }
        default:
            let p = updatePointer(Double.self, op)
            Threading.parallelFor(count) { lo, hi in for i in lo..<hi { p[i] *= factor } }
        }
    }

    /// Clamps every element to `-bound...bound` in place (`clipGradValue`); NaN stays NaN.
    ///
    /// ```swift
    /// var g = Tensor([-3.0, 0.2, 4.0])
    /// g.clampInPlace(magnitude: 1)   // [-1, 0.2, 1]
    /// ```
    public mutating func clampInPlace(magnitude bound: Double) {
        let op = "clampInPlace"
        if !(bound >= 0) { fatalError("[\(op)] bound \(bound) must be >= 0") }
        func run<T: FloatElement>(_ type: T.Type) {
            let p = updatePointer(T.self, op), hi = T(bound), lo = -hi
            Threading.parallelFor(count) { a, b in for i in a..<b { let x = p[i]; p[i] = x > hi ? hi : (x < lo ? lo : x) } }
        }
        switch updateDType(op) {
        case .float32: run(Float.self)
        default: run(Double.self)
        }
    }

    /// The `p`-norm of all elements as one vector (2 by default; `.infinity` for the largest
    /// magnitude), accumulated in Double; NaN propagates. Reads only: `clipGradNorm` measures the
    /// gradients with it before rescaling them.
    ///
    /// ```swift
    /// Tensor([3.0, 4.0]).elementNorm()   // 5
    /// ```
    public func elementNorm(_ p: Double = 2) -> Double {
        if !(p > 0) { fatalError("[elementNorm] norm type \(p) is not supported; use a positive p or .infinity") }
        switch dtype {
        case .float32: return withUnsafeBufferPointer(as: Float.self) { vectorNorm($0, p) }
        case .float64: return withUnsafeBufferPointer(as: Double.self) { vectorNorm($0, p) }
        default: fatalError("[elementNorm] tensor of dtype \(dtype); only float32 and float64")
        }
    }

    /// The p-norm of a list of numbers (say, per-tensor norms), as `elementNorm` computes it.
    ///
    /// ```swift
    /// Tensor.elementNorm(of: [3, 4])   // 5
    /// ```
    public static func elementNorm(of values: [Double], _ p: Double = 2) -> Double {
        if !(p > 0) { fatalError("[elementNorm] norm type \(p) is not supported; use a positive p or .infinity") }
        return values.withUnsafeBufferPointer { vectorNorm($0, p) }
    }

    // MARK: preparing operands

    /// The dtype of an update's parameter, trapping unless float32 or float64.
    private func updateDType(_ op: String) -> DType {
        if dtype != .float32 && dtype != .float64 {
            fatalError("[\(op)] cannot update a tensor of dtype \(dtype); only float32 and float64")
        }
        return dtype
    }

    /// The gradient as a contiguous tensor of this tensor's dtype, checked against its shape.
    private func updateGradient(_ gradient: Tensor, _ op: String) -> Tensor {
        if gradient.shape != shape {
            fatalError("[\(op)] gradient of shape \(gradient.shape) for a parameter of shape \(shape)")
        }
        let g = gradient.detached()
        return (g.dtype == dtype ? g : g.to(dtype)).contiguous()
    }

    /// A pointer to this tensor's elements for an in-place write: made contiguous and unshared
    /// first (copy-on-write), its autograd identity kept.
    private mutating func updatePointer<T: FloatElement>(_ type: T.Type, _ op: String) -> UnsafeMutablePointer<T> {
        checkInPlaceWrite(op)
        if !isContiguous {
            let identity = gradState
            self = detached().contiguousCopy()
            gradState = identity
        }
        makeUnique()
        return basePointer(T.self)
    }

    /// `updatePointer` for a state buffer, which must have the parameter's shape and dtype.
    private mutating func bufferPointer<T: FloatElement>(_ type: T.Type, _ op: String, _ name: String,
                                                         like parameter: Tensor) -> UnsafeMutablePointer<T> {
        if shape != parameter.shape {
            fatalError("[\(op)] \(name) has shape \(shape) but the parameter has \(parameter.shape)")
        }
        if dtype != parameter.dtype {
            fatalError("[\(op)] \(name) has dtype \(dtype) but the parameter has \(parameter.dtype)")
        }
        return updatePointer(T.self, op)
    }
}

// MARK: kernels

/// IEEE square root (NaN below zero) in a form LLVM vectorises: `squareRoot()` keeps a libm call
/// for negative inputs (to set errno), and that call stops the loop from vectorising. Only -0
/// differs (it gives +0), which the optimisers' `+ eps` or products make irrelevant.
@inline(__always)
func updateSqrt<T: FloatElement>(_ x: T) -> T { x < 0 ? .nan : x.magnitude.squareRoot() }

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
            let denom = updateSqrt(vi) / bc2Sqrt + e
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
        let denom = updateSqrt(vv) / bc2Sqrt + e
        p[i] = pi + negStepSize * mi / denom
    }
    if vmax != nil {
        for i in 0..<n { element(i, true) }
    } else {
        for i in 0..<n { element(i, false) }
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
    if freshBuffer {
        // The buffer is uninitialised: it is written before it is read.
        for i in 0..<n {
            let g0 = g[i], p0 = p[i]
            var gi = maximize ? -g0 : g0
            if decay { gi = gi + wd * p0 }
            buf[i] = gi
            let step = nesterov ? gi + mom * gi : gi
            p[i] = p0 + negLR * step
        }
        return
    }
    // Loads first, so the option branches become selects and the loop vectorises.
    for i in 0..<n {
        let g0 = g[i], p0 = p[i], b0 = buf[i]
        var gi = maximize ? -g0 : g0
        if decay { gi = gi + wd * p0 }
        let b = b0 * mom + damp * gi
        buf[i] = b
        let step = nesterov ? gi + mom * b : b
        p[i] = p0 + negLR * step
    }
}

/// PyTorch's `_single_tensor_rmsprop` in one pass.
@inline(__always)
func rmspropKernel<T: FloatElement>(
    _ n: Int, param pp: UnsafeMutablePointer<T>, grad gp: UnsafePointer<T>, squareAvg sq: UnsafeMutablePointer<T>,
    gradAvg gavg: UnsafeMutablePointer<T>?, buffer buf: UnsafeMutablePointer<T>?, lr: Double, alpha alphaValue: Double,
    eps: Double, weightDecay: Double, momentum: Double, maximize: Bool
) {
    let alpha = T(alphaValue), c = T(1 - alphaValue), e = T(eps), negLR = T(-lr)
    // grad_avg.lerp_(g, 1 - alpha) with PyTorch's two formulas, chosen by the weight's size.
    let w = T(1 - alphaValue), wc = 1 - w
    let mom = T(momentum), wd = T(weightDecay)
    let decay = weightDecay != 0
    // Every element is loaded up front, so the option branches become selects, and the body is
    // instantiated per combination of centred and momentum, so no loop holds a conditional store:
    // either would keep the loop from vectorising.
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
            avg = updateSqrt(si + (-1) * ga * ga)
        } else {
            avg = updateSqrt(si)
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
    switch (gavg != nil, buf != nil) {
    case (false, false): for i in 0..<n { element(i, false, false) }
    case (false, true): for i in 0..<n { element(i, false, true) }
    case (true, false): for i in 0..<n { element(i, true, false) }
    case (true, true): for i in 0..<n { element(i, true, true) }
    }
}

/// The p-norm of the elements, accumulated in Double; NaN propagates.
private func vectorNorm<T: FloatElement>(_ x: UnsafeBufferPointer<T>, _ p: Double) -> Double {
    if p == .infinity {
        var m = 0.0
        for v in x { let a = Swift.abs(v.doubleValue); if a > m || a.isNaN { m = a }; if m.isNaN { break } }
        return m
    }
    if p == 2 { return normSum(x) { $0 * $0 }.squareRoot() }
    if p == 1 { return normSum(x) { Swift.abs($0) } }
    return pow(normSum(x) { pow(Swift.abs($0), p) }, 1 / p)
}

/// Sum of `f` over the elements in Double, in four interleaved partial sums: independent
/// additions pipeline, where one running sum waits on each add.
@inline(__always)
private func normSum<T: FloatElement>(_ x: UnsafeBufferPointer<T>, _ f: (Double) -> Double) -> Double {
    var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
    let n = x.count, body = n & ~3
    var i = 0
    while i < body {
        s0 += f(x[i].doubleValue)
        s1 += f(x[i + 1].doubleValue)
        s2 += f(x[i + 2].doubleValue)
        s3 += f(x[i + 3].doubleValue)
        i += 4
    }
    while i < n { s0 += f(x[i].doubleValue); i += 1 }
    return (s0 + s1) + (s2 + s3)
}
