import Foundation
import MyelinCore
import MyelinData
import MyelinNN

/// The shape of a BERT encoder, read from a Hugging Face `config.json`.
///
/// Only what the encoder uses is read; a config this encoder cannot run (another model type or
/// position embedding, an unknown activation, sizes that do not fit) throws a one-line `DataError`.
///
/// ```swift
/// let config = try BertConfig(contentsOf: "all-minilm-l6-v2/config.json")
/// config.hiddenSize       // 384
/// ```
public struct BertConfig: Codable, Equatable, Sendable {
    public var vocabSize: Int
    public var hiddenSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var intermediateSize: Int
    /// `gelu` (exact, with erf), `gelu_new` / `gelu_pytorch_tanh` (tanh form) or `relu`.
    public var hiddenAct: String
    public var maxPositionEmbeddings: Int
    public var typeVocabSize: Int
    public var layerNormEps: Double
    public var hiddenDropoutProb: Double
    public var attentionProbsDropoutProb: Double
    public var padTokenId: Int
    /// The standard deviation of a new model's random weights.
    public var initializerRange: Double

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", hiddenSize = "hidden_size", numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads", intermediateSize = "intermediate_size", hiddenAct = "hidden_act"
        case maxPositionEmbeddings = "max_position_embeddings", typeVocabSize = "type_vocab_size"
        case layerNormEps = "layer_norm_eps", hiddenDropoutProb = "hidden_dropout_prob"
        case attentionProbsDropoutProb = "attention_probs_dropout_prob", padTokenId = "pad_token_id"
        case initializerRange = "initializer_range"
    }

    /// A config given field by field (BERT-base's values by default).
    public init(vocabSize: Int = 30522, hiddenSize: Int = 768, numHiddenLayers: Int = 12, numAttentionHeads: Int = 12,
                intermediateSize: Int = 3072, hiddenAct: String = "gelu", maxPositionEmbeddings: Int = 512,
                typeVocabSize: Int = 2, layerNormEps: Double = 1e-12, hiddenDropoutProb: Double = 0.1,
                attentionProbsDropoutProb: Double = 0.1, padTokenId: Int = 0, initializerRange: Double = 0.02) {
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.numHiddenLayers = numHiddenLayers
        self.numAttentionHeads = numAttentionHeads
        self.intermediateSize = intermediateSize
        self.hiddenAct = hiddenAct
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.typeVocabSize = typeVocabSize
        self.layerNormEps = layerNormEps
        self.hiddenDropoutProb = hiddenDropoutProb
        self.attentionProbsDropoutProb = attentionProbsDropoutProb
        self.padTokenId = padTokenId
        self.initializerRange = initializerRange
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let base = BertConfig()
        vocabSize = try c.decode(Int.self, forKey: .vocabSize)
        hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
        numHiddenLayers = try c.decode(Int.self, forKey: .numHiddenLayers)
        numAttentionHeads = try c.decode(Int.self, forKey: .numAttentionHeads)
        intermediateSize = try c.decode(Int.self, forKey: .intermediateSize)
        hiddenAct = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? base.hiddenAct
        maxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? base.maxPositionEmbeddings
        typeVocabSize = try c.decodeIfPresent(Int.self, forKey: .typeVocabSize) ?? base.typeVocabSize
        layerNormEps = try c.decodeIfPresent(Double.self, forKey: .layerNormEps) ?? base.layerNormEps
        hiddenDropoutProb = try c.decodeIfPresent(Double.self, forKey: .hiddenDropoutProb) ?? base.hiddenDropoutProb
        attentionProbsDropoutProb = try c.decodeIfPresent(Double.self, forKey: .attentionProbsDropoutProb) ?? base.attentionProbsDropoutProb
        padTokenId = try c.decodeIfPresent(Int.self, forKey: .padTokenId) ?? base.padTokenId
        initializerRange = try c.decodeIfPresent(Double.self, forKey: .initializerRange) ?? base.initializerRange
    }

    /// Reads and checks a `config.json`.
    public init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DataError(op: "model", file: path, reason: "cannot read the file")
        }
        try self.init(json: data, file: path)
    }

    /// Decodes and checks a config's JSON text.
    public init(json data: Data, file: String = "config.json") throws {
        struct Kind: Decodable {
            var model_type: String?
            var position_embedding_type: String?
            var architectures: [String]?
        }
        do {
            let kind = try JSONDecoder().decode(Kind.self, from: data)
            if let type = kind.model_type, type != "bert" {
                throw DataError(op: "model", file: file, reason: "model_type '\(type)' is not supported; this encoder runs 'bert'")
            }
            if let p = kind.position_embedding_type, p != "absolute" {
                throw DataError(op: "model", file: file, reason: "position_embedding_type '\(p)' is not supported; expected 'absolute'")
            }
            self = try JSONDecoder().decode(BertConfig.self, from: data)
        } catch let e as DataError {
            throw e
        } catch let DecodingError.keyNotFound(key, _) {
            throw DataError(op: "model", file: file, reason: "missing \"\(key.stringValue)\"")
        } catch {
            if case let DecodingError.typeMismatch(_, context) = error, let key = context.codingPath.first?.stringValue {
                throw DataError(op: "model", file: file, reason: "\"\(key)\" has the wrong type")
            }
            if case let DecodingError.valueNotFound(_, context) = error, let key = context.codingPath.first?.stringValue {
                throw DataError(op: "model", file: file, reason: "\"\(key)\" has the wrong type")
            }
            throw DataError(op: "model", file: file, reason: "not a JSON object of a BERT config")
        }
        try validate(file: file)
    }

    /// The activation of the feed-forward block.
    var activation: (Tensor) -> Tensor {
        switch hiddenAct {
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast": return { $0.gelu(approximate: .tanh) }
        case "relu": return { $0.relu() }
        default: return { $0.gelu() }
        }
    }

    /// Throws when the encoder cannot be built from these sizes (bounds keep a hostile file from
    /// asking for terabytes).
    public func validate(file: String = "config.json") throws {
        func check(_ ok: Bool, _ reason: String) throws {
            if !ok { throw DataError(op: "model", file: file, reason: reason) }
        }
        for (key, value, limit) in [("vocab_size", vocabSize, 10_000_000), ("hidden_size", hiddenSize, 65_536),
                                    ("num_hidden_layers", numHiddenLayers, 1_024), ("num_attention_heads", numAttentionHeads, 1_024),
                                    ("intermediate_size", intermediateSize, 262_144), ("max_position_embeddings", maxPositionEmbeddings, 1_048_576),
                                    ("type_vocab_size", typeVocabSize, 1_024)] {
            try check(value >= 1 && value <= limit, "\"\(key)\" is \(value); expected 1 to \(limit)")
        }
        try check(hiddenSize % numAttentionHeads == 0,
                  "hidden_size \(hiddenSize) is not a multiple of num_attention_heads \(numAttentionHeads)")
        try check(["gelu", "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "relu"].contains(hiddenAct),
                  "hidden_act '\(hiddenAct)' is not supported; expected gelu, gelu_new, gelu_pytorch_tanh or relu")
        try check(layerNormEps > 0 && layerNormEps < 1, "layer_norm_eps \(layerNormEps) must be in (0, 1)")
        try check((0..<1).contains(hiddenDropoutProb) && (0..<1).contains(attentionProbsDropoutProb),
                  "dropout probabilities must be in [0, 1)")
        try check(initializerRange >= 0 && initializerRange < 10, "initializer_range \(initializerRange) must be in [0, 10)")
        try check(padTokenId >= 0 && padTokenId < vocabSize, "pad_token_id \(padTokenId) is outside the vocabulary of \(vocabSize)")
    }
}
