import CMyelinKernels
import Foundation

// The loops of CPUBackend's updates (CPUBackend.swift prepares the pointers and splits the work
// across threads) and the norm of `elementNorm`.

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
func vectorNorm<T: FloatElement>(_ x: UnsafeBufferPointer<T>, _ p: Double) -> Double {
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
