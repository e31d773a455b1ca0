import Foundation

// Gradient clipping, as torch.nn.utils.clip_grad_norm_ and clip_grad_value_: in-place rescaling
// of the gradients already in the parameters, between backward() and the optimiser step.

/// Rescales the gradients so their total norm is at most `maxNorm`, and returns the total norm
/// before clipping (PyTorch's `clip_grad_norm_`).
///
/// The total norm is the `normType`-norm of all gradients as one vector (2 by default; `.infinity`
/// for the largest magnitude). When it exceeds `maxNorm`, every gradient is multiplied by
/// `maxNorm / (total + 1e-6)`. Parameters without a gradient are ignored.
///
/// ```swift
/// loss.backward()
/// let norm = clipGradNorm(model.parameters(), maxNorm: 1.0)
/// opt.step()
/// ```
@discardableResult
public func clipGradNorm(_ parameters: [Parameter], maxNorm: Double, normType: Double = 2) -> Double {
    if !(normType > 0) {
        fatalError("[clipGradNorm] norm type \(normType) is not supported; use a positive p or .infinity")
    }
    let withGrad = parameters.filter { $0.grad != nil }
    if withGrad.isEmpty { return 0 }
    // Each gradient's norm first, then the norm of those norms, as PyTorch does.
    var norms: [Double] = []
    for p in withGrad {
        let g = p.grad!
        switch g.dtype {
        case .float32: norms.append(g.withUnsafeBufferPointer(as: Float.self) { vectorNorm($0, normType) })
        case .float64: norms.append(g.withUnsafeBufferPointer(as: Double.self) { vectorNorm($0, normType) })
        default: fatalError("[clipGradNorm] gradient of dtype \(g.dtype); only float32 and float64")
        }
    }
    let total = norms.withUnsafeBufferPointer { vectorNorm($0, normType) }
    let coef = min(maxNorm / (total + 1e-6), 1)
    // A factor of 1 changes nothing (x * 1 == x), so the common unclipped case skips the pass.
    if coef == 1 { return total }
    for p in withGrad { scaleGrad(p, by: coef) }
    return total
}

/// Clamps every gradient element to `-clipValue...clipValue` (PyTorch's `clip_grad_value_`).
///
/// ```swift
/// loss.backward()
/// clipGradValue(model.parameters(), clipValue: 0.5)
/// opt.step()
/// ```
public func clipGradValue(_ parameters: [Parameter], clipValue: Double) {
    if !(clipValue >= 0) { fatalError("[clipGradValue] clip value \(clipValue) must be >= 0") }
    for p in parameters where p.grad != nil {
        mutateGrad(p, "clipGradValue") { (g: UnsafeMutableBufferPointer<Float>) in
            let hi = Float(clipValue), lo = -hi
            for i in g.indices { let x = g[i]; g[i] = x > hi ? hi : (x < lo ? lo : x) }
        } double: { g in
            let hi = clipValue, lo = -hi
            for i in g.indices { let x = g[i]; g[i] = x > hi ? hi : (x < lo ? lo : x) }
        }
    }
}

/// The p-norm of the elements, accumulated in Double; NaN propagates.
private func vectorNorm<T: FloatElement>(_ x: UnsafeBufferPointer<T>, _ p: Double) -> Double {
    if p == .infinity {
        var m = 0.0
        for v in x { let a = Swift.abs(v.doubleValue); if a > m || a.isNaN { m = a }; if m.isNaN { break } }
        return m
    }
    if p == 2 { return sum(x) { $0 * $0 }.squareRoot() }
    if p == 1 { return sum(x) { Swift.abs($0) } }
    return pow(sum(x) { pow(Swift.abs($0), p) }, 1 / p)
}

/// Sum of `f` over the elements in Double, in four interleaved partial sums: independent
/// additions pipeline, where one running sum waits on each add.
@inline(__always)
private func sum<T: FloatElement>(_ x: UnsafeBufferPointer<T>, _ f: (Double) -> Double) -> Double {
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

/// Multiplies the gradient by `coef`, rounded to the gradient's dtype as PyTorch's mul_ takes it.
private func scaleGrad(_ p: Parameter, by coef: Double) {
    mutateGrad(p, "clipGradNorm") { (g: UnsafeMutableBufferPointer<Float>) in
        let c = Float(coef)
        for i in g.indices { g[i] *= c }
    } double: { g in
        for i in g.indices { g[i] *= coef }
    }
}

/// Edits a parameter's gradient in place: it is taken out of the parameter first so its storage is
/// uniquely referenced and written without a copy (unless something else shares it).
private func mutateGrad(_ p: Parameter, _ op: String, float: (UnsafeMutableBufferPointer<Float>) -> Void,
                        double: (UnsafeMutableBufferPointer<Double>) -> Void) {
    guard var g = p.grad else { return }
    p.grad = nil
    withoutGrad {
        switch g.dtype {
        case .float32: g.withUnsafeMutableBufferPointer(as: Float.self, float)
        case .float64: g.withUnsafeMutableBufferPointer(as: Double.self, double)
        default: fatalError("[\(op)] gradient of dtype \(g.dtype); only float32 and float64")
        }
    }
    p.grad = g
}
