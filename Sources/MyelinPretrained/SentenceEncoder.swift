import Foundation
import MyelinCore
import MyelinData
import MyelinNN

/// Text in, one vector per text out: a WordPiece tokenizer, a BERT encoder, pooling and L2
/// normalisation, as a sentence-transformers model.
///
/// ```swift
/// let encoder = try Pretrained.load("all-MiniLM-L6-v2")
/// let e = encoder.encode(["A man is eating food.", "A man is riding a horse."])
/// e.vectors.shape                                   // [2, 384]
/// let cosine = (e.vectors[0] * e.vectors[1]).sum()  // unit vectors: the dot product
/// ```
public final class SentenceEncoder {
    /// The registry entry the encoder was loaded from, or nil for one built by hand.
    public let entry: PretrainedEntry?
    public let tokenizer: WordPieceTokenizer
    public let model: BertModel
    /// Tokens a text keeps, `[CLS]` and `[SEP]` included; longer texts are truncated.
    public let maxSequenceLength: Int
    public let pooling: SentencePooling
    /// Whether sentence vectors are scaled to unit length.
    public let normalizes: Bool

    /// The length of a sentence vector.
    public var dimension: Int { model.config.hiddenSize }

    public init(tokenizer: WordPieceTokenizer, model: BertModel, maxSequenceLength: Int,
                pooling: SentencePooling = .mean, normalizes: Bool = true, entry: PretrainedEntry? = nil) {
        if maxSequenceLength < 2 || maxSequenceLength > model.config.maxPositionEmbeddings {
            fatalError("[encoder] maxSequenceLength \(maxSequenceLength) must be between 2 and the model's \(model.config.maxPositionEmbeddings) positions")
        }
        self.tokenizer = tokenizer
        self.model = model
        self.maxSequenceLength = maxSequenceLength
        self.pooling = pooling
        self.normalizes = normalizes
        self.entry = entry
        model.eval()
        // Inference repeats products with the same weights: keep them packed (dropped whenever a
        // weight changes through its Parameter, as fine-tuning does).
        for case let linear as Linear in model.namedModules().map(\.1) { linear.packsWeightForInference = true }
    }

    /// The vectors of `encode`, and how many texts were longer than `maxSequenceLength` tokens.
    public struct Embeddings {
        /// `[texts, dimension]`, float32.
        public let vectors: Tensor
        /// The number of texts cut to `maxSequenceLength` tokens.
        public let truncated: Int
    }

    /// Embeds `texts` for use (evaluation mode, no gradients): texts are sorted by length and run
    /// in batches of `batchSize` (so little padding is computed), and the vectors are returned in
    /// the order given.
    public func encode(_ texts: [String], batchSize: Int = 32) -> Embeddings {
        require(batchSize >= 1, "[encoder] batchSize must be at least 1, got \(batchSize)")
        let encodings = texts.map { tokenizer.encode($0, maxLength: maxSequenceLength) }
        let order = encodings.indices.sorted { encodings[$0].ids.count > encodings[$1].ids.count }
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        var pieces: [Tensor] = []
        withoutGrad {
            for start in stride(from: 0, to: order.count, by: batchSize) {
                let rows = Array(order[start..<min(start + batchSize, order.count)])
                pieces.append(embed(rows.map { encodings[$0] }))
            }
        }
        let sorted = pieces.isEmpty ? Tensor.zeros([0, dimension]) : Tensor.cat(pieces, axis: 0)
        // Row i of `sorted` belongs to text order[i]: put each back in its place.
        var back = [Int64](repeating: 0, count: order.count)
        for (i, j) in order.enumerated() { back[j] = Int64(i) }
        let vectors = sorted.indexSelect(axis: 0, indices: Tensor(shape: [back.count], scalars: back))
        return Embeddings(vectors: vectors, truncated: encodings.count { $0.truncatedCount > 0 })
    }

    /// The sentence vectors of encoded texts, `[texts, dimension]`, recorded for autograd when
    /// the model's parameters require gradients (fine-tuning); padded to the longest text.
    public func embed(_ encodings: [WordPieceEncoding]) -> Tensor {
        let (ids, mask) = SentenceEncoder.padded(encodings, padding: tokenizer.paddingID)
        let hidden = model(inputIds: ids, attentionMask: mask)
        let pooled = pooling.pool(hidden, mask: mask)
        return normalizes ? pooled.l2Normalized() : pooled
    }

    /// Ids and 0/1 mask `[texts, longest]` (int64), padded with `padding`.
    static func padded(_ encodings: [WordPieceEncoding], padding: Int) -> (ids: Tensor, mask: Tensor) {
        let length = encodings.map(\.ids.count).max() ?? 0
        var ids = [Int64](repeating: Int64(padding), count: encodings.count * length)
        var mask = [Int64](repeating: 0, count: encodings.count * length)
        for (r, e) in encodings.enumerated() {
            for (k, id) in e.ids.enumerated() {
                ids[r * length + k] = Int64(id)
                mask[r * length + k] = 1
            }
        }
        return (Tensor(shape: [encodings.count, length], scalars: ids), Tensor(shape: [encodings.count, length], scalars: mask))
    }
}

extension SentenceEncoder {
    /// Loads the encoder of a sentence-transformers folder whose files are given by name
    /// (`config.json`, `model.safetensors`, `vocab.txt`, `sentence_bert_config.json`,
    /// `1_Pooling/config.json`, `modules.json`); the weights are checked against the entry's SHA-256.
    convenience init(entry: PretrainedEntry, files: [String: String]) throws {
        func path(_ name: String) throws -> String {
            guard let p = files[name] else { throw DataError(op: "model", reason: "'\(entry.name)' has no \(name)") }
            return p
        }
        let config = try BertConfig(contentsOf: try path("config.json"))
        let weights = try path("model.safetensors")
        let bytes = try SentenceEncoder.read(weights)
        if let expected = entry.file("model.safetensors")?.sha256 {
            let digest = SHA256.hex(of: bytes)
            guard digest == expected else {
                throw DataError(op: "model", file: weights, reason: "SHA-256 is \(digest), expected \(expected); the file is corrupt or another version")
            }
        }
        let model = BertModel(config, randomWeights: false)
        try model.loadPretrained(bytes: bytes, file: weights)
        let vocabulary = try path("vocab.txt")
        let tokenizer = try WordPieceTokenizer.load(directory: (vocabulary as NSString).deletingLastPathComponent)
        let settings = try SentenceEncoder.readSettings(files)
        if settings.maxLength > config.maxPositionEmbeddings {
            throw DataError(op: "model", reason: "'\(entry.name)': max_seq_length \(settings.maxLength) is more than the model's \(config.maxPositionEmbeddings) positions")
        }
        self.init(tokenizer: tokenizer, model: model, maxSequenceLength: settings.maxLength,
                  pooling: settings.pooling, normalizes: settings.normalizes, entry: entry)
    }

    static func read(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DataError(op: "model", file: path, reason: "cannot read the file")
        }
        return [UInt8](data)
    }

    /// sentence-transformers' settings: max_seq_length, the pooling mode, and whether a Normalize module follows.
    static func readSettings(_ files: [String: String]) throws -> (maxLength: Int, pooling: SentencePooling, normalizes: Bool) {
        func object(_ name: String) throws -> Any? {
            guard let p = files[name] else { return nil }
            guard let o = try? JSONSerialization.jsonObject(with: Data(try read(p))) else {
                throw DataError(op: "model", file: p, reason: "not valid JSON")
            }
            return o
        }
        var maxLength = 512
        if let o = try object("sentence_bert_config.json") {
            guard let d = o as? [String: Any], let n = d["max_seq_length"] as? Int, n >= 2, n <= 1_048_576 else {
                throw DataError(op: "model", file: files["sentence_bert_config.json"], reason: "expected an object with \"max_seq_length\" of at least 2")
            }
            maxLength = n
        }
        var pooling = SentencePooling.mean
        if let d = try object("1_Pooling/config.json") as? [String: Any] {
            if d["pooling_mode_cls_token"] as? Bool == true { pooling = .cls }
            if d["pooling_mode_max_tokens"] as? Bool == true { pooling = .max }
            if d["pooling_mode_mean_sqrt_len_tokens"] as? Bool == true {
                throw DataError(op: "model", file: files["1_Pooling/config.json"], reason: "pooling mode mean_sqrt_len_tokens is not supported")
            }
        }
        var normalizes = false
        if let modules = try object("modules.json") as? [[String: Any]] {
            normalizes = modules.contains { ($0["type"] as? String)?.hasSuffix(".Normalize") == true }
        }
        return (maxLength, pooling, normalizes)
    }
}
