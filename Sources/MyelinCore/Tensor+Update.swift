// In-place update operations: the optimisers' fused steps (Adam/AdamW, SGD, RMSProp, Adagrad,
// Adadelta) and the gradient-clipping rescales. These are backend calls: each method checks what
// every device needs checked and hands the tensors to the backend of the parameter's device
// (`CPUBackend` for host tensors, which runs one pass over raw memory). Nothing else in the library
// writes a parameter's or a state buffer's memory.
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
        if step < 1 { fatalError("[adamUpdate] step \(step) must be >= 1 (it counts this step)") }
        let b = backend
        b.adamUpdate(&self, gradient: gradient, expAvg: &expAvg, expAvgSq: &expAvgSq, maxExpAvgSq: &maxExpAvgSq,
                     step: step, lr: lr, beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay,
                     decoupledWeightDecay: decoupledWeightDecay, maximize: maximize)
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
        let b = backend
        b.sgdUpdate(&self, gradient: gradient, momentumBuffer: &momentumBuffer, lr: lr, momentum: momentum,
                    dampening: dampening, weightDecay: weightDecay, nesterov: nesterov, maximize: maximize)
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
        if (momentum > 0) != (momentumBuffer != nil) {
            fatalError("[rmspropUpdate] momentum \(momentum) needs a momentum buffer exactly when it is > 0 (buffer \(momentumBuffer == nil ? "missing" : "given"))")
        }
        let b = backend
        b.rmspropUpdate(&self, gradient: gradient, squareAvg: &squareAvg, gradAvg: &gradAvg, momentumBuffer: &momentumBuffer,
                        lr: lr, alpha: alpha, eps: eps, weightDecay: weightDecay, momentum: momentum, maximize: maximize)
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
        if step < 1 { fatalError("[adagradUpdate] step \(step) must be >= 1 (it counts this step)") }
        let b = backend
        b.adagradUpdate(&self, gradient: gradient, sum: &sum, step: step, lr: lr, lrDecay: lrDecay,
                        weightDecay: weightDecay, eps: eps, maximize: maximize)
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
        let b = backend
        b.adadeltaUpdate(&self, gradient: gradient, squareAvg: &squareAvg, accDelta: &accDelta, lr: lr, rho: rho,
                         eps: eps, weightDecay: weightDecay, maximize: maximize)
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
        let b = backend
        b.scaleInPlace(&self, by: factor)
    }

    /// Clamps every element to `-bound...bound` in place (`clipGradValue`); NaN stays NaN.
    ///
    /// ```swift
    /// var g = Tensor([-3.0, 0.2, 4.0])
    /// g.clampInPlace(magnitude: 1)   // [-1, 0.2, 1]
    /// ```
    public mutating func clampInPlace(magnitude bound: Double) {
        if !(bound >= 0) { fatalError("[clampInPlace] bound \(bound) must be >= 0") }
        let b = backend
        b.clampInPlace(&self, magnitude: bound)
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
        return backend.elementNorm(self, p)
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
}
