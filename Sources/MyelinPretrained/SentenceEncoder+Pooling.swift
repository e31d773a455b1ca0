import MyelinCore
import MyelinNN

/// How token vectors become one sentence vector, as sentence-transformers' `Pooling` module.
public enum SentencePooling: String, Sendable, Codable {
    /// The mean of the real tokens' vectors (the attention mask's ones).
    case mean
    /// The first token's vector (`[CLS]`).
    case cls
    /// The largest value of each dimension over the real tokens.
    case max

    /// `[batch, dim]` from a hidden state `[batch, tokens, dim]` and a 0/1 mask `[batch, tokens]`.
    ///
    /// ```swift
    /// let v = SentencePooling.mean.pool(hidden, mask: mask)   // [4, 384]
    /// ```
    public func pool(_ hidden: Tensor, mask: Tensor) -> Tensor {
        let m = mask.to(hidden.dtype).unsqueezed(axis: -1)
        switch self {
        case .mean:
            // sentence-transformers clamps the count at 1e-9, so an all-padding row gives zeros.
            let count = m.sum(axes: [1]).clamp(min: 1e-9)
            return (hidden * m).sum(axes: [1]) / count
        case .cls:
            return hidden[.all, 0]
        case .max:
            return Tensor.where(m .> 0.5, hidden, -1e9).max(axes: [1])
        }
    }
}

extension Tensor {
    /// Rows scaled to unit Euclidean length (`F.normalize(x, p: 2, dim: -1)`, norms clamped at `eps`).
    ///
    /// ```swift
    /// Tensor(shape: [1, 2], scalars: [3, 4] as [Float]).l2Normalized()   // [[0.6, 0.8]]
    /// ```
    public func l2Normalized(eps: Double = 1e-12) -> Tensor {
        let norm = (self * self).sum(axes: [-1], keepDims: true).sqrt().clamp(min: eps)
        return self / norm
    }
}
