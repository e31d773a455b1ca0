import Foundation
import MyelinCore
import MyelinData
import MyelinNN

/// A character-level language model: `Embedding` → a recurrent stack (LSTM, GRU or Elman RNN,
/// batch first) → `Linear` to one logit per vocabulary entry.
///
/// `run(tokens, state:)` returns the logits and the state after the last step, so generation
/// feeds one token at a time and carries the state instead of recomputing the prefix.
///
/// ```swift
/// let model = CharLanguageModel(vocabulary: 65, embedding: 64, hidden: 256, layers: 2, cell: .lstm,
///                               generator: RandomGenerator(seed: 0))
/// let (logits, state) = model.run(tokens, state: nil)        // tokens int64 [B, T] -> [B, T, 65]
/// let (next, _) = model.run(oneToken, state: state)           // continues
/// ```
public final class CharLanguageModel: Module {
    /// The recurrent cell of the stack.
    public enum Cell: String, Codable, Sendable, CaseIterable {
        case lstm, gru, rnn

        /// A batch-first stack of this cell (what the language model and the text classifier use).
        func layer(inputSize: Int, hidden: Int, layers: Int, generator: RandomGenerator) -> RNNBase {
            switch self {
            case .lstm: return LSTM(inputSize: inputSize, hiddenSize: hidden, numLayers: layers, batchFirst: true, generator: generator)
            case .gru: return GRU(inputSize: inputSize, hiddenSize: hidden, numLayers: layers, batchFirst: true, generator: generator)
            case .rnn: return RNN(inputSize: inputSize, hiddenSize: hidden, numLayers: layers, batchFirst: true, generator: generator)
            }
        }
    }

    public let embedding: Embedding
    public let rnn: RNNBase
    public let head: Linear
    public let cell: Cell
    public let vocabularySize: Int

    public init(vocabulary: Int, embedding: Int, hidden: Int, layers: Int, cell: Cell, generator: RandomGenerator) {
        self.cell = cell
        vocabularySize = vocabulary
        self.embedding = Embedding(vocabulary, embedding, generator: generator)
        rnn = cell.layer(inputSize: embedding, hidden: hidden, layers: layers, generator: generator)
        head = Linear(hidden, vocabulary, generator: generator)
        super.init()
    }

    /// Logits `[B, T, V]` for int64 tokens `[B, T]` from `state` (zeros when nil), and the
    /// recurrent state after the last step (its tensors: `[h]`, or `[h, c]` for an LSTM).
    public func run(_ tokens: Tensor, state: [Tensor]?) -> (logits: Tensor, state: [Tensor]) {
        let b = tokens.shape[0], t = tokens.shape[1]
        let (output, next) = rnn.run(tokens: tokens, embedding: embedding, state: state)
        let logits = head(output.reshape([b * t, output.shape[2]])).reshape([b, t, vocabularySize])
        return (logits, next)
    }

    /// Logits `[B, T, V]` from a zero state (what the trainer calls).
    public override func forward(_ input: Tensor) -> Tensor { run(input, state: nil).logits }

    /// Draws `length` tokens after `prompt` (token indices, at least one): the prompt runs through
    /// the model once, then each drawn token is fed alone with the carried state. Throws
    /// `RunError` for an empty prompt or a token outside the vocabulary.
    public func generate(prompt: [Int], length: Int, sampler: TokenSampler, generator: RandomGenerator) throws -> [Int] {
        guard !prompt.isEmpty else { throw RunError(op: "generate", "the prompt needs at least one token") }
        if let bad = prompt.first(where: { !(0..<vocabularySize).contains($0) }) {
            throw RunError(op: "generate", "the prompt has token \(bad), outside the \(vocabularySize) of the vocabulary")
        }
        let wasTraining = isTraining
        eval()
        defer { if wasTraining { train() } }
        return withoutGrad {
            var (logits, state) = run(Tensor(shape: [1, prompt.count], scalars: prompt.map(Int64.init)), state: nil)
            var last = logits.reshape([prompt.count, vocabularySize])[(prompt.count - 1)..<prompt.count].reshape([vocabularySize])
            var drawn: [Int] = []
            drawn.reserveCapacity(length)
            for _ in 0..<length {
                let next = sampler.sample(logits: last, generator: generator).item(as: Int64.self)
                drawn.append(Int(next))
                (logits, state) = run(Tensor(shape: [1, 1], scalars: [next]), state: state)
                last = logits.reshape([vocabularySize])
            }
            return drawn
        }
    }
}

/// Where a language model's text comes from: a catalogue text data set or a text file.
public enum TextSource: Codable, Equatable, Sendable {
    case catalogue(name: String)
    case file(path: String)

    /// `tinyshakespeare` or `text:notes.txt`.
    public var label: String {
        switch self {
        case .catalogue(let name): return name
        case .file(let path): return "text:\(path)"
        }
    }

    /// Whether the catalogue entry `name` is a text data set (a file of role `text`).
    public static func isText(catalogue name: String) -> Bool {
        Catalogue.entry(name)?.files.contains { $0.role == "text" } ?? false
    }
}

/// What a language-model run folder's `language-model.json` holds: the text's source, the
/// vocabulary, the network's sizes and the training settings.
public struct LanguageModelDescription: Codable, Sendable, ResumableDescription {
    public var format = LanguageModelDescription.formatName
    public var version = 1
    public var source: TextSource
    public var vocabulary: Vocabulary
    public var cell: CharLanguageModel.Cell
    public var hidden: Int
    public var layers: Int
    public var embedding: Int
    public var sequenceLength: Int
    /// Characters of the sample written to `samples.txt` after each epoch.
    public var sampleLength: Int
    public var settings: TrainSettings
    /// SHA-256 of the text as training read it, so `resume` and `evaluate` notice a text file
    /// changed since (nil in runs written before it was kept).
    public var textSHA256: String? = nil

    public static let formatName = "myelin.language-model"

    /// The `textSHA256` of `text`.
    static func digest(_ text: String) -> String { SHA256.hex(of: Array(text.utf8)) }

    /// The network with its seeded initial weights.
    public func build() -> CharLanguageModel {
        CharLanguageModel(vocabulary: vocabulary.count, embedding: embedding, hidden: hidden, layers: layers, cell: cell,
                          generator: RandomGenerator(seed: settings.seed))
    }

    /// `lstm 2x256, embedding 64, seq-len 100, 65 characters`.
    public var line: String {
        "\(cell.rawValue) \(layers)x\(hidden), embedding \(embedding), seq-len \(sequenceLength), \(vocabulary.count) characters"
    }
}
