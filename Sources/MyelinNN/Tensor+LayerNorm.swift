extension Tensor {
    /// Layer normalisation over the last dimensions, as PyTorch's `F.layer_norm`: each slice over
    /// the trailing `normalizedShape` dimensions is centred and divided by `sqrt(var + eps)` (the
    /// biased variance, over those dimensions), then multiplied by `weight` and shifted by `bias`
    /// (each of shape `normalizedShape`) when given. Differentiable in the input, weight and bias.
    ///
    /// ```swift
    /// let x = Tensor([[1.0, 2.0, 3.0], [2.0, 2.0, 5.0]])
    /// x.layerNorm(normalizedShape: [3])   // each row to mean 0, variance ~1: [-1.2247, 0, 1.2247], ...
    /// ```
    public func layerNorm(normalizedShape: [Int], weight: Tensor? = nil, bias: Tensor? = nil, eps: Double = 1e-5) -> Tensor {
        if normalizedShape.isEmpty {
            fatalError("[layerNorm] the normalised shape must name at least one dimension")
        }
        if Array(shape.suffix(normalizedShape.count)) != normalizedShape {
            fatalError("[layerNorm] input shape \(shape) does not end with the normalised shape \(normalizedShape)")
        }
        for (name, t) in [("weight", weight), ("bias", bias)] {
            if let t, t.shape != normalizedShape {
                fatalError("[layerNorm] \(name) has shape \(t.shape), expected the normalised shape \(normalizedShape)")
            }
        }
        let axes = Array((rank - normalizedShape.count)..<rank)
        let mean = self.mean(axes: axes, keepDims: true)
        let centered = self - mean
        let variance = (centered * centered).mean(axes: axes, keepDims: true)
        var y = centered * (variance + eps).rsqrt()
        if let weight { y = y * weight }
        if let bias { y = y + bias }
        return y
    }
}

/// Layer normalisation, as PyTorch's `F.layer_norm` (see `Tensor.layerNorm`).
///
/// ```swift
/// let y = layerNorm(x, normalizedShape: [64], weight: gamma, bias: beta)
/// ```
public func layerNorm(_ x: Tensor, normalizedShape: [Int], weight: Tensor? = nil, bias: Tensor? = nil, eps: Double = 1e-5) -> Tensor {
    x.layerNorm(normalizedShape: normalizedShape, weight: weight, bias: bias, eps: eps)
}
