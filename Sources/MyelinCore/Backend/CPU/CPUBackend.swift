import Foundation

/// The CPU backend: host memory, Myelin's thread pool, BLAS and the C kernels. Ops on host tensors
/// run their CPU code directly (the op gate sends only tensors of other devices to a backend), so
/// this type is what the optimisers' update calls reach for host tensors, and what a second
/// backend can fall back to.
///
/// ```swift
/// var w = Tensor([1.0, 2.0]), buffer: Tensor? = nil
/// CPUBackend().sgdUpdate(&w, gradient: Tensor([0.5, 0.5]), momentumBuffer: &buffer, lr: 0.1, momentum: 0,
///                        dampening: 0, weightDecay: 0, nesterov: false, maximize: false)   // w = [0.95, 1.95]
/// ```
public struct CPUBackend: Backend {
    public init() {}

    public var device: Device { .cpu }

    /// Every primitive, through its own `forward` (the CPU code of its op).
    public func kernel(for primitiveName: String) -> BackendKernel? {
        { primitive, inputs in primitive.forward(inputs) }
    }

    // The update calls: one switch on the dtype, then one pass over raw memory (`Tensor` below).

    public func adamUpdate(
        _ parameter: inout Tensor, gradient: Tensor, expAvg: inout Tensor, expAvgSq: inout Tensor,
        maxExpAvgSq: inout Tensor?, step: Int, lr: Double, beta1: Double, beta2: Double, eps: Double,
        weightDecay: Double, decoupledWeightDecay: Bool, maximize: Bool
    ) {
        switch parameter.updateDType("adamUpdate") {
        case .float32:
            parameter.adamUpdate(Float.self, gradient, &expAvg, &expAvgSq, &maxExpAvgSq, step, lr, beta1, beta2, eps,
                                 weightDecay, decoupledWeightDecay, maximize)
        default:
            parameter.adamUpdate(Double.self, gradient, &expAvg, &expAvgSq, &maxExpAvgSq, step, lr, beta1, beta2, eps,
                                 weightDecay, decoupledWeightDecay, maximize)
        }
    }

    public func sgdUpdate(
        _ parameter: inout Tensor, gradient: Tensor, momentumBuffer: inout Tensor?, lr: Double, momentum: Double,
        dampening: Double, weightDecay: Double, nesterov: Bool, maximize: Bool
    ) {
        switch parameter.updateDType("sgdUpdate") {
        case .float32: parameter.sgdUpdate(Float.self, gradient, &momentumBuffer, lr, momentum, dampening, weightDecay, nesterov, maximize)
        default: parameter.sgdUpdate(Double.self, gradient, &momentumBuffer, lr, momentum, dampening, weightDecay, nesterov, maximize)
        }
    }

    public func rmspropUpdate(
        _ parameter: inout Tensor, gradient: Tensor, squareAvg: inout Tensor, gradAvg: inout Tensor?,
        momentumBuffer: inout Tensor?, lr: Double, alpha: Double, eps: Double, weightDecay: Double, momentum: Double,
        maximize: Bool
    ) {
        switch parameter.updateDType("rmspropUpdate") {
        case .float32:
            parameter.rmspropUpdate(Float.self, gradient, &squareAvg, &gradAvg, &momentumBuffer, lr, alpha, eps, weightDecay, momentum, maximize)
        default:
            parameter.rmspropUpdate(Double.self, gradient, &squareAvg, &gradAvg, &momentumBuffer, lr, alpha, eps, weightDecay, momentum, maximize)
        }
    }

    public func adagradUpdate(
        _ parameter: inout Tensor, gradient: Tensor, sum: inout Tensor, step: Int, lr: Double, lrDecay: Double,
        weightDecay: Double, eps: Double, maximize: Bool
    ) {
        // clr in Double, as Python computes it.
        let clr = lr / (1 + Double(step - 1) * lrDecay)
        switch parameter.updateDType("adagradUpdate") {
        case .float32: parameter.adagradUpdate(Float.self, gradient, &sum, clr, weightDecay, eps, maximize)
        default: parameter.adagradUpdate(Double.self, gradient, &sum, clr, weightDecay, eps, maximize)
        }
    }

    public func adadeltaUpdate(
        _ parameter: inout Tensor, gradient: Tensor, squareAvg: inout Tensor, accDelta: inout Tensor, lr: Double,
        rho: Double, eps: Double, weightDecay: Double, maximize: Bool
    ) {
        switch parameter.updateDType("adadeltaUpdate") {
        case .float32: parameter.adadeltaUpdate(Float.self, gradient, &squareAvg, &accDelta, lr, rho, eps, weightDecay, maximize)
        default: parameter.adadeltaUpdate(Double.self, gradient, &squareAvg, &accDelta, lr, rho, eps, weightDecay, maximize)
        }
    }

    public func scaleInPlace(_ tensor: inout Tensor, by factor: Double) {
        let op = "scaleInPlace"
        let count = tensor.count
        switch tensor.updateDType(op) {
        case .float32:
            let p = tensor.updatePointer(Float.self, op), c = Float(factor)
            Threading.parallelFor(count) { lo, hi in for i in lo..<hi { p[i] *= c } }
        default:
            let p = tensor.updatePointer(Double.self, op)
            Threading.parallelFor(count) { lo, hi in for i in lo..<hi { p[i] *= factor } }
        }
    }

    public func clampInPlace(_ tensor: inout Tensor, magnitude bound: Double) {
        let op = "clampInPlace"
        let count = tensor.count
        func run<T: FloatElement>(_ type: T.Type) {
            let p = tensor.updatePointer(T.self, op), hi = T(bound), lo = -hi
            Threading.parallelFor(count) { a, b in for i in a..<b { let x = p[i]; p[i] = x > hi ? hi : (x < lo ? lo : x) } }
        }
        switch tensor.updateDType(op) {
        case .float32: run(Float.self)
        default: run(Double.self)
        }
    }

    public func elementNorm(_ tensor: Tensor, _ p: Double) -> Double {
        switch tensor.dtype {
        case .float32: return tensor.withUnsafeBufferPointer(as: Float.self) { vectorNorm($0, p) }
        case .float64: return tensor.withUnsafeBufferPointer(as: Double.self) { vectorNorm($0, p) }
        default: fatalError("[elementNorm] tensor of dtype \(tensor.dtype); only float32 and float64")
        }
    }
}

// The bodies: each update in one pass over raw memory, split across Myelin's threads (the Adam
// float32 case in C with AVX2); the loops are in UpdateKernels.swift.
extension Tensor {
    fileprivate mutating func adamUpdate<T: FloatElement>(
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

    fileprivate mutating func sgdUpdate<T: FloatElement>(
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

    fileprivate mutating func rmspropUpdate<T: FloatElement>(
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

    fileprivate mutating func adagradUpdate<T: FloatElement>(
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

    fileprivate mutating func adadeltaUpdate<T: FloatElement>(
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
    // MARK: preparing operands

    /// The dtype of an update's parameter, trapping unless float32 or float64.
    fileprivate func updateDType(_ op: String) -> DType {
        if dtype != .float32 && dtype != .float64 {
            fatalError("[\(op)] cannot update a tensor of dtype \(dtype); only float32 and float64")
        }
        return dtype
    }

    /// The gradient as a contiguous tensor of this tensor's dtype, checked against its shape.
    fileprivate func updateGradient(_ gradient: Tensor, _ op: String) -> Tensor {
        if gradient.shape != shape {
            fatalError("[\(op)] gradient of shape \(gradient.shape) for a parameter of shape \(shape)")
        }
        let g = gradient.detached()
        return (g.dtype == dtype ? g : g.to(dtype)).contiguous()
    }

    /// A pointer to this tensor's elements for an in-place write: made contiguous and unshared
    /// first (copy-on-write), its autograd identity kept.
    fileprivate mutating func updatePointer<T: FloatElement>(_ type: T.Type, _ op: String) -> UnsafeMutablePointer<T> {
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
    fileprivate mutating func bufferPointer<T: FloatElement>(_ type: T.Type, _ op: String, _ name: String,
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
