import Foundation
import MyelinCore
import MyelinData
import MyelinNN
import MyelinPretrained

/// A classifier on a pretrained sentence encoder: the encoder's top `fineTune` layers (trained;
/// none by default), then pooling and normalisation as the encoder does, then `head`, a `Linear`
/// layer from the sentence vector to one logit per class (logistic regression on the frozen
/// features when `fineTune` is 0).
///
/// Its parameters, and so its state dict, are only what it trains: `head.weight`, `head.bias` and,
/// with `fineTune`, the top layers under their Hugging Face names (`encoder.layer.5.…`); the
/// lower layers stay the encoder's own, frozen. The input is the lower layers' output, which
/// does not change while training and is computed once: sentence vectors `[B, dim]` without
/// fine-tuning, else `TokenStatesDataset`'s hidden states with the mask as a last channel,
/// `[B, tokens, dim + 1]`.
///
/// ```swift
/// let model = try TransferClassifier(encoder: encoder, fineTune: 2, classes: 2, generator: RandomGenerator(seed: 0))
/// let logits = model(batch.inputs)           // [B, 2]
/// ```
public final class TransferClassifier: Module {
    /// The encoder whose top layers are trained (held, not owned: its other layers are not ours).
    public let encoder: SentenceEncoder
    /// The trained top layers of the encoder, `encoder.model.encoder.layer[firstTuned...]`.
    public let top: [BertLayer]
    public let head: Linear
    /// The index of the first fine-tuned layer (the number of frozen layers).
    public let firstTuned: Int

    /// Freezes the encoder, then lets gradients reach its top `fineTune` layers; a `fineTune`
    /// beyond the encoder's layers (a run folder's description may say anything) throws.
    public init(encoder: SentenceEncoder, fineTune: Int, classes: Int, generator: RandomGenerator) throws {
        let layers = encoder.model.encoder.layer
        guard (0...layers.count).contains(fineTune) else {
            throw RunError(op: "transfer", "cannot fine-tune \(fineTune) layers of an encoder with \(layers.count)")
        }
        self.encoder = encoder
        firstTuned = layers.count - fineTune
        top = Array(layers[firstTuned...])
        head = Linear(encoder.dimension, classes, generator: generator)
        super.init()
        encoder.model.freeze()
        for layer in top { layer.unfreeze() }
    }

    public override func namedChildren() -> [(String, Module)] {
        top.enumerated().map { ("encoder.layer.\(firstTuned + $0)", $1 as Module) } + [("head", head)]
    }

    /// The sentence vectors of a batch of inputs (see the type's summary), before the head.
    public func sentenceVectors(_ input: Tensor) -> Tensor {
        guard !top.isEmpty else { return input }
        let d = encoder.dimension
        let hidden = input[.all, .all, 0..<d].contiguousCopy()
        let mask = input[.all, .all, d].contiguousCopy()
        return encoder.upperEmbed(hidden: hidden, mask: mask, fromLayer: firstTuned)
    }

    public override func forward(_ input: Tensor) -> Tensor { head(sentenceVectors(input)) }

    /// Logits `[texts, classes]` of raw texts through the whole encoder (evaluation mode, no
    /// gradients), in batches of `batchSize`; and how many texts were cut to the encoder's length.
    public func classify(_ texts: [String], batchSize: Int = 32) -> (logits: Tensor, truncated: Int) {
        let wasTraining = isTraining
        eval()
        defer { train(wasTraining) }
        let e = encoder.encode(texts, batchSize: batchSize)
        return (withoutGrad { head(e.vectors) }, e.truncated)
    }
}

/// Texts as the hidden states of an encoder's lower layers, computed once, for `TransferClassifier`
/// with fine-tuning: a batch is `[B, longest, dim + 1]`, padded with zeros at the end, the last
/// channel 1 at real tokens and 0 at padding.
///
/// ```swift
/// let data = TokenStatesDataset(texts: texts, labels: labels, encoder: encoder, layers: 4)
/// ```
public struct TokenStatesDataset: Dataset {
    /// Per text, `tokens × dim` floats, row by row.
    public let states: [[Float]]
    public let labels: [Int64]
    public let dimension: Int
    /// Texts cut to the encoder's maximum length.
    public let truncated: Int

    /// Runs the encoder's embeddings and first `layers` layers over `texts` in evaluation mode
    /// without gradients, in batches of `batchSize` texts of similar length.
    public init(texts: [String], labels: [Int64], encoder: SentenceEncoder, layers: Int, batchSize: Int = 32) {
        let encodings = texts.map { encoder.tokenizer.encode($0, maxLength: encoder.maxSequenceLength) }
        let order = encodings.indices.sorted { encodings[$0].ids.count > encodings[$1].ids.count }
        let d = encoder.dimension
        var states = [[Float]](repeating: [], count: texts.count)
        let wasTraining = encoder.model.isTraining
        encoder.model.eval()
        defer { encoder.model.train(wasTraining) }
        withoutGrad {
            for start in stride(from: 0, to: order.count, by: batchSize) {
                let rows = Array(order[start..<min(start + batchSize, order.count)])
                let (hidden, _) = encoder.lowerStates(rows.map { encodings[$0] }, layers: layers)
                let t = hidden.shape[1]
                let values = hidden.to(.float32).floats
                for (r, row) in rows.enumerated() {
                    let n = encodings[row].ids.count
                    states[row] = Array(values[(r * t * d)..<((r * t + n) * d)])
                }
            }
        }
        self.states = states
        self.labels = labels
        dimension = d
        truncated = encodings.count { $0.isTruncated }
    }

    public var count: Int { states.count }

    public func example(at index: Int) -> (input: Tensor, target: Tensor) {
        let b = batch(at: [index])
        return (b.inputs.reshape(Array(b.inputs.shape.dropFirst())), Tensor(shape: [], scalars: [labels[index]]))
    }

    public func batch(at indices: [Int]) -> Batch {
        let d = dimension, c = d + 1
        let t = max(indices.map { states[$0].count / d }.max() ?? 1, 1)
        var x = [Float](repeating: 0, count: indices.count * t * c)
        for (r, i) in indices.enumerated() {
            let s = states[i]
            for k in 0..<(s.count / d) {
                let base = (r * t + k) * c
                for j in 0..<d { x[base + j] = s[k * d + j] }
                x[base + d] = 1
            }
        }
        return Batch(inputs: Tensor(shape: [indices.count, t, c], scalars: x),
                     targets: Tensor(shape: [indices.count], scalars: indices.map { labels[$0] }))
    }
}
