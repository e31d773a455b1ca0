import Foundation
import MyelinCore
import MyelinData
import MyelinNN

/// A text classifier over word ids: `Embedding` (with a padding row) → a recurrent encoder (LSTM
/// or GRU, batch first) → the last layer's state at each message's last real word → `Linear` to
/// one logit per class. Padded batches run with `SequenceBatch` lengths, so padding never reaches
/// the state.
///
/// ```swift
/// let model = SequenceClassifier(vocabulary: 5000, embedding: 64, hidden: 64, layers: 1, cell: .lstm,
///                                classes: 2, generator: RandomGenerator(seed: 0))
/// let logits = model(tokens)     // int64 [B, T], padded with model.paddingIndex at the end -> [B, 2]
/// ```
public final class SequenceClassifier: Module {
    public let embedding: Embedding
    public let rnn: RNNBase
    public let head: Linear
    /// The token id of padding (one past the vocabulary).
    public let paddingIndex: Int
    public let layers: Int

    public init(vocabulary: Int, embedding: Int, hidden: Int, layers: Int, cell: CharLanguageModel.Cell, classes: Int,
                generator: RandomGenerator) {
        paddingIndex = vocabulary
        self.layers = layers
        self.embedding = Embedding(vocabulary + 1, embedding, paddingIndex: vocabulary, generator: generator)
        rnn = cell.layer(inputSize: embedding, hidden: hidden, layers: layers, generator: generator)
        head = Linear(hidden, classes, generator: generator)
        super.init()
    }

    /// Logits `[B, classes]` for tokens `[B, T]` padded at the end with `paddingIndex`.
    public override func forward(_ input: Tensor) -> Tensor {
        let b = input.shape[0], t = input.shape[1]
        var lengths = [Int](repeating: 0, count: b)
        let ids = input.to(.int64).scalars(as: Int64.self)
        for r in 0..<b {
            var n = 0
            while n < t && ids[r * t + n] != Int64(paddingIndex) { n += 1 }
            lengths[r] = max(n, 1)
        }
        let h = rnn.run(embedding(input), lengths: lengths, state: nil).state[0]
        let last = h[(layers - 1)..<layers].reshape([b, h.shape[2]])
        return head(last)
    }
}

/// Messages as word ids for `SequenceClassifier`: each batch padded at the end to its longest
/// message (at most `maxLength` words; an empty message is one unknown word).
public struct TokenSequenceDataset: Dataset {
    public let sequences: [[Int64]]
    public let labels: [Int64]
    public let paddingIndex: Int

    public init(texts: [String], labels: [Int64], vocabulary: Vocabulary, maxLength: Int) {
        sequences = texts.map { text in
            let ids = vocabulary.split(text).prefix(maxLength).map { Int64(vocabulary.index(of: $0) ?? 0) }
            return ids.isEmpty ? [Int64(vocabulary.unknownIndex ?? 0)] : Array(ids)
        }
        self.labels = labels
        paddingIndex = vocabulary.count
    }

    public var count: Int { sequences.count }

    public func example(at index: Int) -> (input: Tensor, target: Tensor) {
        (Tensor(shape: [sequences[index].count], scalars: sequences[index]), Tensor(shape: [], scalars: [labels[index]]))
    }

    public func batch(at indices: [Int]) -> Batch {
        let t = indices.map { sequences[$0].count }.max() ?? 1
        var x = [Int64](repeating: Int64(paddingIndex), count: indices.count * t)
        for (r, i) in indices.enumerated() {
            for (k, id) in sequences[i].enumerated() { x[r * t + k] = id }
        }
        return Batch(inputs: Tensor(shape: [indices.count, t], scalars: x),
                     targets: Tensor(shape: [indices.count], scalars: indices.map { labels[$0] }))
    }
}
