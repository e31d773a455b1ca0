import MyelinCore
extension Module {
    /// Converts every parameter and every floating-point buffer of the module and its children to
    /// `dtype` (`.float32` or `.float64`), in place, and returns the module, as PyTorch's
    /// `model.to(torch.float64)` / `model.double()`. Integer buffers (BatchNorm's
    /// `num_batches_tracked`) keep their type; parameters keep their identity (optimisers holding
    /// them see the new values) and whether they require gradients, and lose any gradient.
    ///
    /// Inputs must then be of the same type: a float64 model computes, and trains, in float64.
    /// Convert before training: an optimiser's existing state is converted at its next step.
    /// States carried between calls (`StateCarrying` modules) are reset.
    ///
    /// ```swift
    /// let model = Sequential { Linear(2, 16); ReLU(); Linear(16, 1) }.to(.float64)
    /// let y = model(Tensor([[0.5, -1.0]], dtype: .float64))   // float64
    /// ```
    @discardableResult
    public func to(_ dtype: DType) -> Self {
        require(dtype.isFloatingPoint, "[Module.to] modules convert to float32 or float64, not \(dtype)")
        for p in parameters() where p.dtype != dtype {
            let requiresGrad = p.requiresGrad
            let converted = p.value.detached().to(dtype).contiguous()
            p.value = requiresGrad ? converted.requiringGrad(true) : converted
        }
        for (_, b) in namedBuffers() where b.value.dtype.isFloatingPoint && b.value.dtype != dtype {
            b.value = b.value.to(dtype).contiguous()
        }
        resetStates()
        return self
    }
}
