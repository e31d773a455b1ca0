import MyelinCore
import MyelinData
import MyelinNN

/// A BERT encoder with Hugging Face's parameter names (`embeddings.word_embeddings.weight`,
/// `encoder.layer.0.attention.self.query.weight`, ...), so a `model.safetensors` of
/// `BertModel` loads unchanged.
///
/// The output is the last hidden state, `[batch, tokens, hiddenSize]`; the pooler (`pooler.dense`,
/// tanh of the first token) is kept so the weights round-trip, and is run by `pooled(_:)` only.
///
/// ```swift
/// let bert = BertModel(try BertConfig(contentsOf: "config.json"))
/// try bert.loadPretrained("model.safetensors")
/// let ids = Tensor(shape: [1, 4], scalars: [101, 7592, 2088, 102] as [Int64])
/// let hidden = withoutGrad { bert(inputIds: ids) }    // [1, 4, 384]
/// ```
public final class BertModel: Module {
    public let config: BertConfig
    public let embeddings: BertEmbeddings
    public let encoder: BertEncoder
    public let pooler: BertPooler

    /// A BERT encoder of `config`'s shape, initialised as Hugging Face does (normal weights with
    /// standard deviation `initializerRange`, zero biases, unit LayerNorms), or with zeros when
    /// `randomWeights` is false, for weights about to be loaded (much faster for a large vocabulary).
    public init(_ config: BertConfig, randomWeights: Bool = true, generator: RandomGenerator = Random.global) {
        self.config = config
        let make = BertInit(random: randomWeights, std: config.initializerRange, generator: generator)
        embeddings = BertEmbeddings(config, make)
        encoder = BertEncoder(config, make)
        pooler = BertPooler(config, make)
        super.init()
    }

    /// The last hidden state of every token. `attentionMask` is 1 for real tokens and 0 for
    /// padding (`[batch, tokens]`, any dtype); `tokenTypeIds` default to zeros.
    public func callAsFunction(inputIds: Tensor, attentionMask: Tensor? = nil, tokenTypeIds: Tensor? = nil) -> Tensor {
        if inputIds.rank != 2 || !inputIds.dtype.isInteger {
            fatalError("[bert] input ids must be integers of shape [batch, tokens], got \(inputIds.dtype) \(inputIds.shape)")
        }
        if let m = attentionMask, m.shape != inputIds.shape {
            fatalError("[bert] attention mask \(m.shape) does not match the input ids \(inputIds.shape)")
        }
        let x = embeddings(inputIds: inputIds, tokenTypeIds: tokenTypeIds)
        // Keys at padding get -inf-like scores, as Hugging Face's extended attention mask.
        let keep = attentionMask.map { ($0.to(.float32) .> 0.5).reshape([inputIds.shape[0], 1, 1, inputIds.shape[1]]) }
        return encoder(x, keep: keep)
    }

    /// `callAsFunction(inputIds:)` with every token real.
    public override func forward(_ input: Tensor) -> Tensor { self(inputIds: input) }

    /// The pooler's output for a last hidden state: tanh(dense(first token)).
    public func pooled(_ hidden: Tensor) -> Tensor {
        pooler(hidden)
    }
}

/// Word, position and token-type embeddings, summed and normalised.
public final class BertEmbeddings: Module {
    public let wordEmbeddings: Embedding
    public let positionEmbeddings: Embedding
    public let tokenTypeEmbeddings: Embedding
    public let layerNorm: LayerNorm
    let dropout: Dropout

    init(_ c: BertConfig, _ make: BertInit) {
        wordEmbeddings = make.embedding(c.vocabSize, c.hiddenSize)
        positionEmbeddings = make.embedding(c.maxPositionEmbeddings, c.hiddenSize)
        tokenTypeEmbeddings = make.embedding(c.typeVocabSize, c.hiddenSize)
        layerNorm = LayerNorm([c.hiddenSize], eps: c.layerNormEps)
        dropout = Dropout(c.hiddenDropoutProb)
        super.init()
    }

    public override func namedChildren() -> [(String, Module)] { huggingFaceNames(super.namedChildren()) }

    func callAsFunction(inputIds: Tensor, tokenTypeIds: Tensor?) -> Tensor {
        let (batch, tokens) = (inputIds.shape[0], inputIds.shape[1])
        if tokens > positionEmbeddings.count {
            fatalError("[bert] \(tokens) tokens are more than the \(positionEmbeddings.count) positions of the model")
        }
        let positions = Tensor.arange(tokens).to(.int64)
        let types = tokenTypeIds ?? Tensor.zeros([batch, tokens], dtype: .int64)
        let sum = wordEmbeddings(inputIds) + tokenTypeEmbeddings(types) + positionEmbeddings(positions)
        return dropout(layerNorm(sum))
    }
}

/// The stack of encoder layers (`encoder.layer.N`).
public final class BertEncoder: Module {
    public let layer: [BertLayer]

    init(_ c: BertConfig, _ make: BertInit) {
        layer = (0..<c.numHiddenLayers).map { _ in BertLayer(c, make) }
        super.init()
    }

    func callAsFunction(_ x: Tensor, keep: Tensor?) -> Tensor {
        layer.reduce(x) { h, l in l(h, keep: keep) }
    }
}

/// One encoder layer: self-attention and a feed-forward block, each with a residual and LayerNorm (post-norm).
public final class BertLayer: Module {
    public let attention: BertAttention
    public let intermediate: BertIntermediate
    public let output: BertOutput

    init(_ c: BertConfig, _ make: BertInit) {
        attention = BertAttention(c, make)
        intermediate = BertIntermediate(c, make)
        output = BertOutput(c, make)
        super.init()
    }

    func callAsFunction(_ x: Tensor, keep: Tensor?) -> Tensor {
        let a = attention(x, keep: keep)
        return output(intermediate(a), residual: a)
    }
}

/// Self-attention (`attention.self`) and its output projection (`attention.output`).
public final class BertAttention: Module {
    public let selfAttention: BertSelfAttention
    public let output: BertSelfOutput

    init(_ c: BertConfig, _ make: BertInit) {
        selfAttention = BertSelfAttention(c, make)
        output = BertSelfOutput(c, make)
        super.init()
    }

    public override func namedChildren() -> [(String, Module)] { huggingFaceNames(super.namedChildren()) }

    func callAsFunction(_ x: Tensor, keep: Tensor?) -> Tensor {
        output(selfAttention(x, keep: keep), residual: x)
    }
}

/// Query, key and value projections and scaled dot-product attention over the heads.
public final class BertSelfAttention: Module {
    public let query: Linear
    public let key: Linear
    public let value: Linear
    public let heads: Int
    let dropout: Dropout

    init(_ c: BertConfig, _ make: BertInit) {
        query = make.linear(c.hiddenSize, c.hiddenSize)
        key = make.linear(c.hiddenSize, c.hiddenSize)
        value = make.linear(c.hiddenSize, c.hiddenSize)
        heads = c.numAttentionHeads
        dropout = Dropout(c.attentionProbsDropoutProb)
        super.init()
    }

    /// The query, key and value weights as one packed `[3 hidden, hidden]` product for inference,
    /// with the parameters' generations it was made from.
    private var fused: (weight: PackedLinearWeight, bias: Tensor?, generations: [Int])?

    /// `[batch, tokens, hidden]` in and out; `keep` is a Bool `[batch, 1, 1, tokens]`, true at real keys.
    func callAsFunction(_ x: Tensor, keep: Tensor?) -> Tensor {
        let (b, t, h) = (x.shape[0], x.shape[1], x.shape[2])
        let d = h / heads
        func split(_ y: Tensor) -> Tensor { y.reshape([b, t, heads, d]).transposed(1, 2) }
        let q: Tensor, k: Tensor, v: Tensor
        if let qkv = fusedProjection(x) {
            // One product for the three projections: [b, t, 3, heads, d], each a strided view.
            let parts = qkv.reshape([b, t, 3, heads, d])
            (q, k, v) = (parts[.all, .all, 0].transposed(1, 2), parts[.all, .all, 1].transposed(1, 2), parts[.all, .all, 2].transposed(1, 2))
        } else {
            (q, k, v) = (split(query(x)), split(key(x)), split(value(x)))
        }
        let context = BertSelfAttention.attend(q, k, v, keep: keep, dropout: isTraining ? dropout : nil)
        return context.transposed(1, 2).reshape([b, t, h])
    }

    /// The three projections as one packed product when nothing needs gradients and the
    /// layers keep packed weights (`SentenceEncoder`), or nil. Rebuilt when any of the six
    /// parameters changes.
    private func fusedProjection(_ x: Tensor) -> Tensor? {
        let layers = [query, key, value]
        guard layers.allSatisfy(\.packsWeightForInference), x.dtype == .float32 else { fused = nil; return nil }
        let params = layers.flatMap { [$0.weight] + ($0.bias.map { [$0] } ?? []) }
        if GradMode.isEnabled && (x.requiresGrad || params.contains(where: \.requiresGrad)) { return nil }
        let generations = params.map(\.generation)
        if fused == nil || fused!.generations != generations {
            guard let w = PackedLinearWeight(Tensor.cat(layers.map { $0.weight.value.detached() }, axis: 0)) else { return nil }
            let biases = layers.compactMap { $0.bias?.value.detached() }
            fused = (w, biases.count == 3 ? Tensor.cat(biases, axis: 0) : nil, generations)
        }
        if fused!.bias == nil && layers.contains(where: { $0.bias != nil }) { return nil }
        return x.linear(packed: fused!.weight, bias: fused!.bias)
    }

    /// softmax(q kᵀ / √d + mask) v over `[batch, heads, tokens, d]`: the fused attention op,
    /// or, when attention dropout is on (training), the composed ops with dropout on the probabilities.
    static func attend(_ q: Tensor, _ k: Tensor, _ v: Tensor, keep: Tensor?, dropout: Dropout?) -> Tensor {
        guard let dropout, dropout.p > 0 else {
            return Tensor.scaledDotProductAttention(query: q, key: k, value: v, mask: keep)
        }
        let d = q.shape[3]
        var scores = q.matmul(k.transposed(2, 3)) * (1 / Double(d).squareRoot())
        if let keep { scores = Tensor.where(keep, scores, -Double(Float.greatestFiniteMagnitude)) }
        var p = scores.softmax(axis: -1)
        p = dropout(p)
        return p.matmul(v)
    }
}

/// A projection to the hidden size, dropout, residual and LayerNorm: how BERT's attention
/// (`BertSelfOutput`) and feed-forward block (`BertOutput`) end, differing only in input width.
public class BertResidualOutput: Module {
    public let dense: Linear
    public let layerNorm: LayerNorm
    let dropout: Dropout

    init(inputSize: Int, _ c: BertConfig, _ make: BertInit) {
        dense = make.linear(inputSize, c.hiddenSize)
        layerNorm = LayerNorm([c.hiddenSize], eps: c.layerNormEps)
        dropout = Dropout(c.hiddenDropoutProb)
        super.init()
    }

    public override func namedChildren() -> [(String, Module)] { huggingFaceNames(super.namedChildren()) }

    func callAsFunction(_ x: Tensor, residual: Tensor) -> Tensor {
        layerNorm(dropout(dense(x)) + residual)
    }
}

/// The attention's output projection, dropout, residual and LayerNorm.
public final class BertSelfOutput: BertResidualOutput {
    init(_ c: BertConfig, _ make: BertInit) { super.init(inputSize: c.hiddenSize, c, make) }
}

/// The feed-forward block's widening projection and activation.
public final class BertIntermediate: Module {
    public let dense: Linear
    let activation: (Tensor) -> Tensor

    init(_ c: BertConfig, _ make: BertInit) {
        dense = make.linear(c.hiddenSize, c.intermediateSize)
        activation = c.activation
        super.init()
    }

    public override func forward(_ input: Tensor) -> Tensor { activation(dense(input)) }
}

/// The feed-forward block's narrowing projection, dropout, residual and LayerNorm.
public final class BertOutput: BertResidualOutput {
    init(_ c: BertConfig, _ make: BertInit) { super.init(inputSize: c.intermediateSize, c, make) }
}

/// tanh(dense(first token)): BERT's pooler, kept for its weights.
public final class BertPooler: Module {
    public let dense: Linear

    init(_ c: BertConfig, _ make: BertInit) {
        dense = make.linear(c.hiddenSize, c.hiddenSize)
        super.init()
    }

    public override func forward(_ input: Tensor) -> Tensor {
        dense(input[.all, 0]).tanh()
    }
}

/// How the layers of a new BERT get their first weights.
struct BertInit {
    let random: Bool
    let std: Double
    let generator: RandomGenerator

    func linear(_ input: Int, _ output: Int) -> Linear {
        Linear(input, output, weightInit: random ? .normal(std: std) : .zeros, biasInit: .zeros, generator: generator)
    }

    func embedding(_ count: Int, _ dimension: Int) -> Embedding {
        Embedding(weight: random ? Tensor.normal([count, dimension], std: std, generator: generator) : Tensor.zeros([count, dimension]))
    }
}

/// Hugging Face's names for children whose Swift names differ: `LayerNorm` keeps its capital, and
/// the self-attention is `self` (a Swift keyword).
private func huggingFaceNames(_ children: [(String, Module)]) -> [(String, Module)] {
    children.map { name, m in
        switch name {
        case "layerNorm": return ("LayerNorm", m)
        case "selfAttention": return ("self", m)
        default: return (name, m)
        }
    }
}

extension BertModel {
    /// Loads a Hugging Face `BertModel` checkpoint (`.safetensors`) strictly. Keys that are not
    /// weights (`embeddings.position_ids`) are skipped, and a `bert.` prefix (the weights of
    /// `BertForSequenceClassification` and friends) is removed; anything else that does not fit
    /// throws, naming the keys.
    ///
    /// ```swift
    /// try bert.loadPretrained("all-minilm-l6-v2/model.safetensors")
    /// ```
    public func loadPretrained(_ path: String) throws {
        try loadPretrained(bytes: try SentenceEncoder.read(path), file: path)
    }

    /// `loadPretrained(_:)` from the bytes of a file already read (`file` names it in errors).
    public func loadPretrained(bytes: [UInt8], file path: String) throws {
        var tensors = try Safetensors.decode(bytes, file: path).tensors
        var ours: [String: Tensor] = [:]
        let wanted = Set(stateDict().keys)
        for (name, t) in tensors where name != "embeddings.position_ids" {
            let bare = name.hasPrefix("bert.") && !wanted.contains(name) ? String(name.dropFirst(5)) : name
            ours[bare] = t
        }
        tensors = [:]
        do { try loadStateDict(ours) } catch let e as StateDictError {
            throw DataError(op: "model", file: path, reason: e.description.replacingOccurrences(of: "[load] ", with: ""))
        }
    }
}
