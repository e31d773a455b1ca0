import MyelinCore

/// Scaled dot-product attention, `softmax(q kᵀ · scale + mask) v`, as PyTorch's
/// `torch.nn.functional.scaled_dot_product_attention` (see `Tensor.scaledDotProductAttention`
/// for shapes, masks and fully masked rows).
///
/// ```swift
/// let y = scaledDotProductAttention(query: q, key: k, value: v, isCausal: true)
/// ```
public func scaledDotProductAttention(query: Tensor, key: Tensor, value: Tensor, mask: Tensor? = nil,
                                      isCausal: Bool = false, scale: Double? = nil) -> Tensor {
    Tensor.scaledDotProductAttention(query: query, key: key, value: value, mask: mask, isCausal: isCausal, scale: scale)
}

/// Multi-head attention, as PyTorch's `nn.MultiheadAttention` (same parameters and names:
/// `in_proj_weight` [3E, E], `in_proj_bias` [3E], `out_proj.weight`, `out_proj.bias`, so state
/// dicts load unchanged). Key and value have the embedding size (PyTorch's `kdim`/`vdim` unset).
///
/// Inputs are [batch, time, E] with `batchFirst`, else [time, batch, E] (PyTorch's default), or
/// unbatched [time, E]. `keyPaddingMask` [batch, Tk] is bool with true = ignore that key (as
/// PyTorch) or float, added to the scores. `attnMask` [Tq, Tk] or [batch·heads, Tq, Tk] is bool
/// with true = not allowed (as `nn.MultiheadAttention`, the opposite of SDPA's bool mask) or
/// float, added. `isCausal` masks keys after each query (PyTorch takes it as a hint that
/// `attnMask` is causal; here it applies the causal mask itself, and `attnMask` may be omitted).
///
/// The attention runs as one `scaledDotProductAttention` op unless `needWeights` is set or
/// attention dropout is active in training; then the probabilities are materialised (and
/// returned averaged over heads, or per head without `averageAttnWeights`). A query that sees
/// no key gives zeros through the op and NaN through the materialised path (PyTorch's MHA gives NaN).
///
/// ```swift
/// let mha = MultiheadAttention(embedDim: 64, numHeads: 8, batchFirst: true)
/// let (y, w) = mha(x, x, x, keyPaddingMask: padding, needWeights: true)   // [B, T, 64], [B, T, T]
/// let z = mha(SequenceBatch(x, lengths: [7, 5]))                         // self-attention, batch first
/// ```
public final class MultiheadAttention: Module, SequenceLayer {
    public let embedDim: Int, numHeads: Int, headDim: Int
    public let batchFirst: Bool
    /// Dropout probability on the attention weights (training only).
    public let dropout: Double
    public let inProjWeight: Parameter
    public let inProjBias: Parameter?
    public let outProj: Linear
    private let attentionDropout: Dropout

    /// PyTorch's initialisation: `in_proj_weight` Xavier-uniform, biases zero, `out_proj.weight`
    /// as a `Linear`'s.
    public init(embedDim: Int, numHeads: Int, dropout: Double = 0, bias: Bool = true, batchFirst: Bool = false,
                generator: RandomGenerator = Random.global) {
        if numHeads < 1 || embedDim % numHeads != 0 {
            fatalError("[multiheadAttention] embedDim \(embedDim) must be divisible by numHeads \(numHeads)")
        }
        self.embedDim = embedDim
        self.numHeads = numHeads
        headDim = embedDim / numHeads
        self.batchFirst = batchFirst
        self.dropout = dropout
        inProjWeight = Parameter(Initializer.xavierUniform().make([3 * embedDim, embedDim], generator: generator))
        inProjBias = bias ? Parameter(Tensor.zeros([3 * embedDim])) : nil
        outProj = Linear(embedDim, embedDim, bias: bias, biasInit: .zeros, generator: generator)
        attentionDropout = Dropout(dropout, generator: generator)
        super.init()
    }

    /// Attention of `query` over `key`/`value`; returns the output (the query's layout) and, with
    /// `needWeights`, the attention weights [batch, Tq, Tk] (or [batch, heads, Tq, Tk]).
    ///
    /// ```swift
    /// let (y, _) = mha(q, kv, kv, keyPaddingMask: padding)
    /// ```
    public func callAsFunction(_ query: Tensor, _ key: Tensor, _ value: Tensor, keyPaddingMask: Tensor? = nil,
                               attnMask: Tensor? = nil, isCausal: Bool = false, needWeights: Bool = false,
                               averageAttnWeights: Bool = true) -> (output: Tensor, weights: Tensor?) {
        let (q, k, v) = (batched(query, "query"), batched(key, "key"), batched(value, "value"))
        if k.shape != v.shape {
            fatalError("[multiheadAttention] key \(key.shape) and value \(value.shape) must have the same shape")
        }
        let w = inProjWeight.value.split(sizes: [embedDim, embedDim, embedDim])
        let b = inProjBias?.value.split(sizes: [embedDim, embedDim, embedDim])
        return attend(heads(q.linear(weight: w[0], bias: b?[0])), heads(k.linear(weight: w[1], bias: b?[1])),
                      heads(v.linear(weight: w[2], bias: b?[2])), unbatched: query.rank == 2,
                      keyPaddingMask: keyPaddingMask.map { query.rank == 2 ? $0.unsqueezed(axis: 0) : $0 },
                      attnMask: attnMask, isCausal: isCausal, needWeights: needWeights, average: averageAttnWeights)
    }

    /// Self-attention of `x` (one input projection for q, k and v).
    ///
    /// ```swift
    /// let (y, _) = mha.selfAttention(x, keyPaddingMask: padding)
    /// ```
    public func selfAttention(_ x: Tensor, keyPaddingMask: Tensor? = nil, attnMask: Tensor? = nil, isCausal: Bool = false,
                              needWeights: Bool = false, averageAttnWeights: Bool = true) -> (output: Tensor, weights: Tensor?) {
        let xb = batched(x, "input")
        let qkv = xb.linear(weight: inProjWeight.value, bias: inProjBias?.value)
            .reshape(Array(xb.shape.dropLast()) + [3, numHeads, headDim])
        func part(_ i: Int) -> Tensor {
            let t = qkv[.all, .all, i]
            return batchFirst ? t.permute(0, 2, 1, 3) : t.permute(1, 2, 0, 3)
        }
        return attend(part(0), part(1), part(2), unbatched: x.rank == 2,
                      keyPaddingMask: keyPaddingMask.map { x.rank == 2 ? $0.unsqueezed(axis: 0) : $0 },
                      attnMask: attnMask, isCausal: isCausal, needWeights: needWeights, average: averageAttnWeights)
    }

    /// Self-attention over a padded batch, batch first whatever `batchFirst` says (a
    /// `SequenceBatch` is): padded keys are ignored.
    public func forward(_ input: SequenceBatch) -> Tensor {
        let x = batchFirst ? input.values : input.values.transposed(0, 1)
        let y = selfAttention(x, keyPaddingMask: input.paddingMask).output
        return batchFirst ? y : y.transposed(0, 1)
    }

    /// Self-attention of `input` in this layer's layout, every key valid.
    public override func forward(_ input: Tensor) -> Tensor { selfAttention(input).output }

    // MARK: Pieces

    /// [time, E] as a batch of one in this layer's layout; checks the embedding size.
    private func batched(_ x: Tensor, _ what: String) -> Tensor {
        if (x.rank != 2 && x.rank != 3) || x.shape.last != embedDim {
            fatalError("[multiheadAttention] \(what) must be [batch, time, \(embedDim)] or [time, \(embedDim)], got \(x.shape)")
        }
        if x.rank == 3 { return x }
        return x.unsqueezed(axis: batchFirst ? 0 : 1)
    }

    /// A projected [B, T, E] (or [T, B, E]) as [B, H, T, headDim], without copying.
    private func heads(_ x: Tensor) -> Tensor {
        let t = x.reshape(Array(x.shape.dropLast()) + [numHeads, headDim])
        return batchFirst ? t.permute(0, 2, 1, 3) : t.permute(1, 2, 0, 3)
    }

    private func attend(_ q: Tensor, _ k: Tensor, _ v: Tensor, unbatched: Bool, keyPaddingMask: Tensor?, attnMask: Tensor?,
                        isCausal: Bool, needWeights: Bool, average: Bool) -> (output: Tensor, weights: Tensor?) {
        let (batch, tq, tk) = (q.shape[0], q.shape[2], k.shape[2])
        let mask = attentionMask(keyPadding: keyPaddingMask, attn: attnMask, batch: batch, tq: tq, tk: tk, dtype: q.dtype)
        var out: Tensor, weights: Tensor? = nil
        if needWeights || (isTraining && dropout > 0) {
            var scores = q.matmul(k.transposed()) * (1 / Double(headDim).squareRoot())
            if let mask { scores = mask.dtype == .bool ? scores.maskedFill(mask.logicalNot(), value: -.infinity) : scores + mask }
            if isCausal { scores = scores.maskedFill(Tensor.causalMask(tq, tk).logicalNot(), value: -.infinity) }
            let p = attentionDropout(scores.softmax(axis: -1))
            out = p.matmul(v)
            if needWeights {
                let w = average ? p.mean(axis: 1) : p
                weights = unbatched ? w.squeezed(axis: 0) : w
            }
        } else {
            out = Tensor.scaledDotProductAttention(query: q, key: k, value: v, mask: mask, isCausal: isCausal)
        }
        // [B, H, Tq, hd] back to the query's layout, heads side by side.
        out = (batchFirst ? out.permute(0, 2, 1, 3) : out.permute(2, 0, 1, 3)).reshape(batchFirst ? [batch, tq, embedDim] : [tq, batch, embedDim])
        let y = outProj(out)
        return (unbatched ? y.squeezed(axis: batchFirst ? 0 : 1) : y, weights)
    }

    /// The key padding and attention masks as one SDPA mask over [B, H, Tq, Tk]: bool with true =
    /// attend when both are bool, else additive in `dtype`.
    private func attentionMask(keyPadding: Tensor?, attn: Tensor?, batch: Int, tq: Int, tk: Int, dtype: DType) -> Tensor? {
        var parts: [Tensor] = []
        if let kp = keyPadding {
            if kp.shape != [batch, tk] {
                fatalError("[multiheadAttention] keyPaddingMask must be [\(batch), \(tk)] (batch, key length), got \(kp.shape)")
            }
            parts.append(kp.reshape([batch, 1, 1, tk]))
        }
        if let am = attn {
            if am.shape == [tq, tk] {
                parts.append(am)
            } else if am.shape == [batch * numHeads, tq, tk] {
                parts.append(am.reshape([batch, numHeads, tq, tk]))
            } else {
                fatalError("[multiheadAttention] attnMask must be [\(tq), \(tk)] or [\(batch * numHeads), \(tq), \(tk)], got \(am.shape)")
            }
        }
        if parts.isEmpty { return nil }
        if parts.allSatisfy({ $0.dtype == .bool }) {
            return parts.dropFirst().reduce(parts[0]) { $0.logicalOr($1) }.logicalNot()
        }
        let additive = parts.map { $0.dtype == .bool ? Tensor.zeros($0.shape, dtype: dtype).maskedFill($0, value: -.infinity) : $0.to(dtype) }
        return additive.dropFirst().reduce(additive[0]) { $0 + $1 }
    }
}

extension Tensor {
    /// [tq, tk] bool, true where key j ≤ query i (PyTorch's `tril`, top-left aligned).
    static func causalMask(_ tq: Int, _ tk: Int) -> Tensor {
        Tensor.arange(tk).reshape([1, tk]) .<= Tensor.arange(tq).reshape([tq, 1])
    }
}
