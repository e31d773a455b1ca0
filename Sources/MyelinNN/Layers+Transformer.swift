import MyelinCore

/// The feed-forward activation of a `TransformerEncoderLayer`.
public enum TransformerActivation: String, Sendable, CaseIterable {
    /// PyTorch's default, `"relu"`.
    case relu
    /// Exact GELU, PyTorch's `"gelu"`.
    case gelu
    /// GELU with the tanh approximation (`nn.GELU(approximate="tanh")`, BERT and GPT-2's).
    case geluTanh

    func apply(_ x: Tensor) -> Tensor {
        switch self {
        case .relu: return x.relu()
        case .gelu: return x.gelu()
        case .geluTanh: return x.gelu(approximate: .tanh)
        }
    }
}

/// One Transformer encoder block, as PyTorch's `nn.TransformerEncoderLayer`: self-attention and a
/// feed-forward network (`linear1`, activation, `linear2`), each with a residual connection and
/// a LayerNorm, after the sum (post-norm, the default) or before the sublayer (`normFirst`).
/// Parameter names are PyTorch's (`self_attn.in_proj_weight`, `linear1.weight`, `norm1.bias`, ...).
///
/// ```swift
/// let layer = TransformerEncoderLayer(dModel: 64, nhead: 4, dimFeedforward: 256, activation: .gelu, batchFirst: true)
/// let y = layer(x, srcKeyPaddingMask: padding)       // [B, T, 64]; padding [B, T], true = pad
/// ```
public final class TransformerEncoderLayer: Module, SequenceLayer {
    public let selfAttn: MultiheadAttention
    public let linear1: Linear
    public let dropout: Dropout
    public let linear2: Linear
    public let norm1: LayerNorm, norm2: LayerNorm
    public let dropout1: Dropout, dropout2: Dropout
    public let activation: TransformerActivation
    public let normFirst: Bool
    public let dModel: Int, nhead: Int, dimFeedforward: Int
    public let dropoutProbability: Double, layerNormEps: Double
    public let batchFirst: Bool, bias: Bool

    public init(dModel: Int, nhead: Int, dimFeedforward: Int = 2048, dropout: Double = 0.1,
                activation: TransformerActivation = .relu, layerNormEps: Double = 1e-5, batchFirst: Bool = false,
                normFirst: Bool = false, bias: Bool = true, generator: RandomGenerator = Random.global) {
        self.dModel = dModel
        self.nhead = nhead
        self.dimFeedforward = dimFeedforward
        dropoutProbability = dropout
        self.layerNormEps = layerNormEps
        self.batchFirst = batchFirst
        self.bias = bias
        self.activation = activation
        self.normFirst = normFirst
        selfAttn = MultiheadAttention(embedDim: dModel, numHeads: nhead, dropout: dropout, bias: bias,
                                      batchFirst: batchFirst, generator: generator)
        linear1 = Linear(dModel, dimFeedforward, bias: bias, generator: generator)
        self.dropout = Dropout(dropout, generator: generator)
        linear2 = Linear(dimFeedforward, dModel, bias: bias, generator: generator)
        norm1 = LayerNorm([dModel], eps: layerNormEps)
        norm2 = LayerNorm([dModel], eps: layerNormEps)
        dropout1 = Dropout(dropout, generator: generator)
        dropout2 = Dropout(dropout, generator: generator)
        super.init()
    }

    /// A layer with the same settings and a copy of this one's parameter values (PyTorch's
    /// `copy.deepcopy`, which `TransformerEncoder` uses to stack layers).
    public func copy() -> TransformerEncoderLayer {
        let layer = TransformerEncoderLayer(dModel: dModel, nhead: nhead, dimFeedforward: dimFeedforward,
                                            dropout: dropoutProbability, activation: activation, layerNormEps: layerNormEps,
                                            batchFirst: batchFirst, normFirst: normFirst, bias: bias)
        let mine = namedParameters()
        for ((_, target), (_, source)) in zip(layer.namedParameters(), mine) {
            target.value = source.value.detached().contiguousCopy().requiringGrad(source.requiresGrad)
        }
        layer.train(isTraining)
        return layer
    }

    /// The block applied to `src` ([B, T, E] with `batchFirst`, else [T, B, E]); `srcMask` and
    /// `srcKeyPaddingMask` are `MultiheadAttention`'s `attnMask` and `keyPaddingMask`.
    ///
    /// ```swift
    /// let y = layer(x, srcMask: nil, srcKeyPaddingMask: padding)
    /// ```
    public func callAsFunction(_ src: Tensor, srcMask: Tensor? = nil, srcKeyPaddingMask: Tensor? = nil,
                               isCausal: Bool = false) -> Tensor {
        let output = forward(src, srcMask: srcMask, srcKeyPaddingMask: srcKeyPaddingMask, isCausal: isCausal)
        ModuleSummaryRecorder.current?.record(self, output: output)
        return output
    }

    func forward(_ src: Tensor, srcMask: Tensor?, srcKeyPaddingMask: Tensor?, isCausal: Bool) -> Tensor {
        func attention(_ x: Tensor) -> Tensor {
            dropout1(selfAttn.selfAttention(x, keyPaddingMask: srcKeyPaddingMask, attnMask: srcMask, isCausal: isCausal).output)
        }
        func feedForward(_ x: Tensor) -> Tensor {
            dropout2(linear2(dropout(activation.apply(linear1(x)))))
        }
        if normFirst {
            let x = src + attention(norm1(src))
            return x + feedForward(norm2(x))
        }
        let x = norm1(src + attention(src))
        return norm2(x + feedForward(x))
    }

    public override func forward(_ input: Tensor) -> Tensor {
        forward(input, srcMask: nil, srcKeyPaddingMask: nil, isCausal: false)
    }

    /// The block over a padded batch (batch first, as a `SequenceBatch` is), padded keys ignored.
    public func forward(_ input: SequenceBatch) -> Tensor {
        let x = batchFirst ? input.values : input.values.transposed(0, 1)
        let y = forward(x, srcMask: nil, srcKeyPaddingMask: input.paddingMask, isCausal: false)
        return batchFirst ? y : y.transposed(0, 1)
    }
}

/// A stack of `numLayers` copies of an encoder layer and an optional final norm, as PyTorch's
/// `nn.TransformerEncoder` (names `layers.0.self_attn.in_proj_weight`, ..., `norm.weight`). Every
/// copy starts with the given layer's weights, as PyTorch's deep copies do.
///
/// ```swift
/// let encoder = TransformerEncoder(TransformerEncoderLayer(dModel: 64, nhead: 4, batchFirst: true),
///                                  numLayers: 2, norm: LayerNorm([64]))
/// let y = encoder(x, srcKeyPaddingMask: padding)
/// ```
public final class TransformerEncoder: Module, SequenceLayer {
    public let layers: [TransformerEncoderLayer]
    public let norm: LayerNorm?

    public init(_ layer: TransformerEncoderLayer, numLayers: Int, norm: LayerNorm? = nil) {
        if numLayers < 1 { fatalError("[transformerEncoder] numLayers must be at least 1, got \(numLayers)") }
        layers = (0..<numLayers).map { _ in layer.copy() }
        self.norm = norm
        super.init()
    }

    /// Runs every layer with the same masks, then the final norm.
    ///
    /// ```swift
    /// let y = encoder(x, mask: nil, srcKeyPaddingMask: padding)
    /// ```
    public func callAsFunction(_ src: Tensor, mask: Tensor? = nil, srcKeyPaddingMask: Tensor? = nil,
                               isCausal: Bool = false) -> Tensor {
        let output = forward(src, mask: mask, srcKeyPaddingMask: srcKeyPaddingMask, isCausal: isCausal)
        ModuleSummaryRecorder.current?.record(self, output: output)
        return output
    }

    func forward(_ src: Tensor, mask: Tensor?, srcKeyPaddingMask: Tensor?, isCausal: Bool) -> Tensor {
        var x = src
        for layer in layers { x = layer(x, srcMask: mask, srcKeyPaddingMask: srcKeyPaddingMask, isCausal: isCausal) }
        return norm.map { $0(x) } ?? x
    }

    public override func forward(_ input: Tensor) -> Tensor {
        forward(input, mask: nil, srcKeyPaddingMask: nil, isCausal: false)
    }

    /// The stack over a padded batch (batch first), padded keys ignored.
    public func forward(_ input: SequenceBatch) -> Tensor {
        let batchFirst = layers[0].batchFirst
        let x = batchFirst ? input.values : input.values.transposed(0, 1)
        let y = forward(x, mask: nil, srcKeyPaddingMask: input.paddingMask, isCausal: false)
        return batchFirst ? y : y.transposed(0, 1)
    }
}
