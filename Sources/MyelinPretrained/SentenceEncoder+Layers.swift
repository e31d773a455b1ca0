import Foundation
import MyelinCore
import MyelinData
import MyelinNN

/// The encoder split in two at a layer, for fine-tuning its top layers: the frozen bottom is run
/// once (`lowerStates`), the top on every step (`upperEmbed`).
extension SentenceEncoder {
    /// The hidden states after the embeddings and the first `layers` encoder layers (`0` gives the
    /// embeddings' output), `[texts, longest, hidden]`, and the 0/1 mask `[texts, longest]` (int64).
    /// Runs in the mode the model is in; wrap it in `withoutGrad` for features.
    ///
    /// ```swift
    /// let (h, mask) = withoutGrad { encoder.lowerStates(encodings, layers: 4) }
    /// let v = encoder.upperEmbed(hidden: h, mask: mask, fromLayer: 4)   // == encoder.embed(encodings)
    /// ```
    public func lowerStates(_ encodings: [WordPieceEncoding], layers: Int) -> (hidden: Tensor, mask: Tensor) {
        require((0...model.encoder.layer.count).contains(layers), "[encoder] layers \(layers) out of 0...\(model.encoder.layer.count)")
        let (ids, mask) = SentenceEncoder.padded(encodings, padding: tokenizer.paddingID)
        var h = model.embeddings(inputIds: ids, tokenTypeIds: nil)
        let keep = SentenceEncoder.keep(mask)
        for l in model.encoder.layer[0..<layers] { h = l(h, keep: keep) }
        return (h, mask)
    }

    /// Sentence vectors from hidden states after `fromLayer` layers: the remaining layers, pooling
    /// and normalisation, as `embed` does; recorded for autograd when those layers' parameters
    /// require gradients.
    ///
    /// ```swift
    /// let v = encoder.upperEmbed(hidden: h, mask: mask, fromLayer: 4)    // [texts, 384]
    /// ```
    public func upperEmbed(hidden: Tensor, mask: Tensor, fromLayer: Int) -> Tensor {
        require((0...model.encoder.layer.count).contains(fromLayer), "[encoder] layer \(fromLayer) out of 0...\(model.encoder.layer.count)")
        let keep = SentenceEncoder.keep(mask)
        var h = hidden
        for l in model.encoder.layer[fromLayer...] { h = l(h, keep: keep) }
        let pooled = pooling.pool(h, mask: mask)
        return normalizes ? pooled.l2Normalized() : pooled
    }

    /// True at real keys, `[batch, 1, 1, tokens]`, as `BertModel` builds it.
    static func keep(_ mask: Tensor) -> Tensor {
        (mask.to(.float32) .> 0.5).reshape([mask.shape[0], 1, 1, mask.shape[1]])
    }

    /// Loads the encoder of a sentence-transformers folder described by `entry` (any entry, not
    /// only the registry's), whose files are given by name; the weights are checked against the
    /// entry's SHA-256.
    ///
    /// ```swift
    /// let encoder = try SentenceEncoder.load(entry: entry, files: ["config.json": ".../config.json", ...])
    /// ```
    public static func load(entry: PretrainedEntry, files: [String: String]) throws -> SentenceEncoder {
        try SentenceEncoder(entry: entry, files: files)
    }
}
