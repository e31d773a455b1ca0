import CMyelinKernels

/// An activation the batch-1 linear kernel applies to each output (`Tensor.fusedLinear`).
public enum LinearActivation: Sendable, Equatable {
    /// No activation: the product plus the bias.
    case identity
    /// `v < 0 ? 0 : v`, as `relu()`.
    case relu
    /// `v > 0 ? v : v * Float(slope)`, as `leakyRelu(slope:)` on float32.
    case leakyRelu(slope: Double)
}

extension Tensor {
    /// `linear(weight:bias:)` followed by `activation`, for a single row without autograd: one
    /// matrix-vector kernel call that adds the bias and applies the activation to each output as
    /// it is produced, with the bits of the three ops run apart. Batch-1 inference (an MLP's
    /// layers on one sample) then makes one output tensor and one pass over the weights per
    /// layer, not three ops with their passes over the output: mlp_infer_b1 went from 19.7 to
    /// 18.3 us a call with two threads (median of the 9 alternating pairs no other process slowed,
    /// 2-core AMD EPYC, Zen 4) and from 28.6 to 27.3 with one (8 pairs), 5 allocations a call fewer.
    ///
    /// ```swift
    /// let h = withoutGrad { x.fusedLinear(weight: w, bias: b, activation: .relu) }   // x [1, 784], w [512, 784]
    /// ```
    /// Nil when it does not apply, so the caller runs the ops itself: more than one row, a
    /// gradient needed, a trace recording (it must see the ordinary ops) or an operand on another
    /// device, a dtype other than float32, a weight whose rows are not contiguous, no input
    /// features, or a CPU without the kernel.
    public func fusedLinear(weight: Tensor, bias: Tensor?, activation: LinearActivation) -> Tensor? {
        guard !Tensor.routed(self, weight, bias), dtype == .float32, weight.dtype == .float32, weight.rank == 2,
              rank >= 1, count == weight.shape[1], shape[rank - 1] == weight.shape[1] else { return nil }
        if Tensor.needsGrad(self, weight) { return nil }
        if let b = bias, Tensor.needsGrad(b) { return nil }
        let n = weight.shape[0], k = weight.shape[1]
        guard k > 0, n > 0, weight.strides[1] == 1 || k == 1, weight.strides[0] >= 0 else { return nil }
        if let b = bias {
            guard b.dtype == .float32 else { return nil }
            // Compared without building `[n]`: an array allocation per layer on this path.
            if b.rank != 1 || b.shape[0] != n { fatalError("[linear] bias of shape \(b.shape) does not match the weight's \(n) outputs") }
        }
        let code: Int32, slope: Float
        switch activation {
        case .identity: (code, slope) = (Int32(MYELIN_GEMV_IDENTITY), 0)
        case .relu: (code, slope) = (Int32(MYELIN_GEMV_RELU), 0)
        case .leakyRelu(let s): (code, slope) = (Int32(MYELIN_GEMV_LEAKY_RELU), Float(s))
        }
        // Only pointers are read, so no detached copies: each Tensor copy retains four objects,
        // and the retains and releases were a quarter of a small layer's cost (layer_overhead_b1).
        // The operands are parameters, alive for the call; a copy made contiguous is kept alive below.
        let x = contiguous(), b = bias?.contiguous()
        // Rows one apart when there is only one (any stride is then fine for the kernel).
        let ldw = n == 1 ? k : weight.strides[0]
        let out = Tensor(uninitializedShape: rank == 2 ? [1, n] : Array(shape.dropLast()) + [n], dtype: .float32)
        let ran = withExtendedLifetime(x) {
            withExtendedLifetime(b) {
                BLAS.rowTimesWeightFused(UnsafePointer(x.basePointer(Float.self)), UnsafePointer(weight.basePointer(Float.self)),
                                         ldw: ldw, out.basePointer(Float.self), n: n, k: k,
                                         bias: b.map { UnsafePointer($0.basePointer(Float.self)) },
                                         activation: code, slope: slope)
            }
        }
        return ran ? out : nil
    }
}
