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
        if g.dtype != .float32 && g.dtype != .float64 {
            fatalError("[clipGradNorm] gradient of dtype \(g.dtype); only float32 and float64")
        }
        norms.append(g.elementNorm(normType))
    }
    let total = Tensor.elementNorm(of: norms, normType)
    let coef = min(maxNorm / (total + 1e-6), 1)
    // A factor of 1 changes nothing (x * 1 == x), so the common unclipped case skips the pass.
    if coef == 1 { return total }
    for p in withGrad { mutateGrad(p, "clipGradNorm") { $0.scaleInPlace(by: coef) } }
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
        mutateGrad(p, "clipGradValue") { $0.clampInPlace(magnitude: clipValue) }
    }
}

/// Edits a parameter's gradient in place (a backend call of Tensor+Update.swift): it is taken out
/// of the parameter first so its storage is uniquely referenced and written without a copy (unless
/// something else shares it).
private func mutateGrad(_ p: Parameter, _ op: String, _ edit: (inout Tensor) -> Void) {
    guard var g = p.grad else { return }
    if g.dtype != .float32 && g.dtype != .float64 {
        fatalError("[\(op)] gradient of dtype \(g.dtype); only float32 and float64")
    }
    p.grad = nil
    withoutGrad { edit(&g) }
    p.grad = g
}
