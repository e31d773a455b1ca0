import Foundation
import MyelinCore
import MyelinData

/// A language model's text, cut into its training, validation and test parts: the last
/// `testSplit` of the characters is the test part, the `validationSplit` before it validation,
/// the rest training. Each part is read as windows of `sequenceLength + 1` characters starting
/// every `sequenceLength` characters (inputs and next-character targets).
public struct LanguageModelData {
    public let vocabulary: Vocabulary
    public let train: LanguageModelDataset
    public let validation: LanguageModelDataset?
    public let test: LanguageModelDataset
    /// Characters of the whole text.
    public let characters: Int

    /// The text of `source`, read and checked; throws `RunError` for a missing or empty text.
    public static func readText(_ source: TextSource, dataDir: String?, op: String) throws -> String {
        let path: String
        switch source {
        case .catalogue(let name):
            guard let found = try Catalogue(dataDir: dataDir).locate(name)["text"] else {
                throw RunError(op: op, "'\(name)' is not a text data set")
            }
            path = found
        case .file(let file):
            path = file
        }
        let bytes: [UInt8]
        do { bytes = try AtomicFile.read(path) } catch {
            throw RunError(op: op, "cannot read the text \(path): \("\(error)".replacingOccurrences(of: "\n", with: " "))")
        }
        guard !bytes.isEmpty else { throw RunError(op: op, "the text \(path) is empty: a language model needs characters to learn") }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Splits `text` as the type's summary says; `vocabulary` defaults to the text's characters.
    public init(text: String, vocabulary: Vocabulary? = nil, sequenceLength: Int, testSplit: Double, validationSplit: Double,
                op: String) throws {
        let vocabulary = vocabulary ?? Vocabulary.characters(in: text)
        let tokens: Tensor
        do { tokens = try vocabulary.encode(text) } catch let error as DataError {
            throw RunError(op: op, "the text does not match the run's vocabulary: \(error.reason)")
        }
        let n = tokens.count
        let testCount = Int((Double(n) * testSplit).rounded())
        let validationCount = Int((Double(n) * validationSplit).rounded())
        let trainCount = n - testCount - validationCount
        let parts = [("training", trainCount), ("test", testCount)] + (validationSplit > 0 ? [("validation", validationCount)] : [])
        for (name, count) in parts where count <= sequenceLength {
            throw RunError(op: op, "--seq-len \(sequenceLength) is too long for this text of \(n) characters: its \(name) part "
                           + "has \(count), and a window needs seq-len + 1 (give a shorter --seq-len or a longer text)")
        }
        func windows(_ range: Range<Int>) throws -> LanguageModelDataset {
            try LanguageModelDataset(tokens: tokens[range], vocabulary: vocabulary, sequenceLength: sequenceLength,
                                     stride: sequenceLength)
        }
        self.vocabulary = vocabulary
        characters = n
        train = try windows(0..<trainCount)
        validation = validationSplit > 0 ? try windows(trainCount..<(trainCount + validationCount)) : nil
        test = try windows((n - testCount)..<n)
    }
}
