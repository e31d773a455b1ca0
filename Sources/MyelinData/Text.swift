import MyelinCore

/// A token vocabulary (characters or words) with stable indices.
///
/// ```swift
/// let chars = Vocabulary.characters(in: text)          // sorted distinct characters
/// let ids = try chars.encode("hello")                  // int64 [5]
/// let back = chars.decode(ids)                         // "hello"
/// let words = Vocabulary.words(in: messages, maxSize: 5000, minCount: 2)  // "<unk>" first
/// ```
public struct Vocabulary: Codable, Equatable, Sendable {
    public enum Level: String, Codable, Sendable {
        case character
        case word
    }

    public let level: Level
    /// Tokens by index.
    public let tokens: [String]
    /// The index unknown tokens map to (word vocabularies: 0, `<unk>`); nil makes unknown tokens throw.
    public let unknownIndex: Int?
    private let index: [String: Int]

    public init(tokens: [String], level: Level, unknownIndex: Int? = nil) {
        self.tokens = tokens
        self.level = level
        self.unknownIndex = unknownIndex
        var index: [String: Int] = [:]
        for (i, t) in tokens.enumerated() where index[t] == nil { index[t] = i }
        self.index = index
    }

    enum CodingKeys: String, CodingKey { case level, tokens, unknownIndex }
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(tokens: try c.decode([String].self, forKey: .tokens), level: try c.decode(Level.self, forKey: .level),
                  unknownIndex: try c.decodeIfPresent(Int.self, forKey: .unknownIndex))
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(level, forKey: .level)
        try c.encode(tokens, forKey: .tokens)
        try c.encodeIfPresent(unknownIndex, forKey: .unknownIndex)
    }

    public var count: Int { tokens.count }

    /// The distinct characters of `text`, sorted by Unicode scalar value (as char-rnn / nanoGPT).
    public static func characters(in text: String) -> Vocabulary {
        Vocabulary(tokens: Set(text.unicodeScalars).sorted { $0.value < $1.value }.map { String($0) }, level: .character)
    }

    /// Lower-cased words (runs of letters, digits and apostrophes) of `texts`, most frequent first
    /// (ties alphabetical), after `<unk>` at index 0; at most `maxSize` entries in all.
    public static func words(in texts: [String], maxSize: Int? = nil, minCount: Int = 1) -> Vocabulary {
        var counts: [String: Int] = [:]
        for t in texts { for w in tokenize(t) { counts[w, default: 0] += 1 } }
        var ranked = counts.filter { $0.value >= minCount }.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map(\.key)
        if let maxSize { ranked = Array(ranked.prefix(Swift.max(0, maxSize - 1))) }
        return Vocabulary(tokens: ["<unk>"] + ranked, level: .word, unknownIndex: 0)
    }

    /// Splits text into lower-cased word tokens.
    public static func tokenize(_ text: String) -> [String] {
        var words: [String] = []
        var current = ""
        for ch in text.lowercased() {
            if ch.isLetter || ch.isNumber || ch == "'" { current.append(ch) } else if !current.isEmpty {
                words.append(current)
                current = ""
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    /// The tokens of `text` at this vocabulary's level.
    public func split(_ text: String) -> [String] {
        level == .character ? text.unicodeScalars.map { String($0) } : Vocabulary.tokenize(text)
    }

    /// Index of one token (unknown tokens: `unknownIndex`, or nil).
    public func index(of token: String) -> Int? { index[token] ?? unknownIndex }

    /// `text` as int64 token indices `[t]`; an unknown token throws when there is no `<unk>`.
    public func encode(_ text: String) throws -> Tensor {
        let parts = split(text)
        var ids: [Int64] = []
        ids.reserveCapacity(parts.count)
        for p in parts {
            guard let i = index(of: p) else {
                throw DataError(op: "vocabulary", reason: "unknown \(level == .character ? "character" : "word") '\(p)' (vocabulary of \(count) tokens)")
            }
            ids.append(Int64(i))
        }
        return Tensor(shape: [ids.count], scalars: ids)
    }

    /// Indices back to text (characters joined directly, words with spaces).
    public func decode(_ ids: Tensor) -> String { decode(ids.ints) }

    public func decode(_ ids: [Int]) -> String {
        let parts = ids.map { i -> String in
            require(i >= 0 && i < tokens.count, "[vocabulary] index \(i) is out of range for \(tokens.count) tokens")
            return tokens[i]
        }
        return level == .character ? parts.joined() : parts.joined(separator: " ")
    }
}

/// Bag-of-words features: one count (or 0/1 presence) per vocabulary word, float32 `[N, V]`.
///
/// ```swift
/// let bag = BagOfWords(vocabulary: .words(in: trainTexts, maxSize: 2000))
/// let x = bag.transform(texts)
/// ```
public struct BagOfWords: Codable, Equatable, Sendable {
    public let vocabulary: Vocabulary
    /// 1 for present words instead of counts.
    public let binary: Bool

    public init(vocabulary: Vocabulary, binary: Bool = false) {
        self.vocabulary = vocabulary
        self.binary = binary
    }

    /// Fits a word vocabulary on `texts`.
    public init(fitting texts: [String], maxSize: Int? = 2000, minCount: Int = 1, binary: Bool = false) {
        self.init(vocabulary: .words(in: texts, maxSize: maxSize, minCount: minCount), binary: binary)
    }

    public var featureCount: Int { vocabulary.count }

    public func transform(_ texts: [String]) -> Tensor {
        let v = vocabulary.count
        var values = [Float](repeating: 0, count: texts.count * v)
        for (r, t) in texts.enumerated() {
            for w in vocabulary.split(t) {
                guard let i = vocabulary.index(of: w) else { continue }
                values[r * v + i] = binary ? 1 : values[r * v + i] + 1
            }
        }
        return Tensor(shape: [texts.count, v], scalars: values)
    }
}

/// The SMS Spam Collection: `<label>\t<message>` lines, labels `ham`/`spam`.
public enum SMSSpam {
    /// Messages and their labels (as in the file).
    public static func read(path: String) throws -> (messages: [String], labels: [String]) {
        let bytes = try readFileBytes(path, op: "sms")
        var messages: [String] = [], labels: [String] = []
        var lineNumber = 0
        for line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            var l = line
            if l.last == UInt8(ascii: "\r") { l = l.dropLast() }
            if l.isEmpty { continue }
            guard let tab = l.firstIndex(of: UInt8(ascii: "\t")) else {
                throw DataError(op: "sms", file: path, line: lineNumber, reason: "line has no tab between label and message")
            }
            labels.append(String(decoding: l[l.startIndex..<tab], as: UTF8.self))
            messages.append(String(decoding: l[(tab + 1)...], as: UTF8.self))
        }
        guard !messages.isEmpty else { throw DataError(op: "sms", file: path, reason: "file has no messages") }
        return (messages, labels)
    }

    /// Labels as int64 class indices with classes `["ham", "spam"]`; other labels throw.
    public static func encodeLabels(_ labels: [String], path: String = "") throws -> Tensor {
        let encoder = LabelEncoder(classes: ["ham", "spam"])
        do { return try encoder.encode(labels) } catch let e as DataError {
            throw DataError(op: "sms", file: path.isEmpty ? nil : path, reason: e.reason)
        }
    }
}

/// Next-token prediction windows over a text: example `i` is tokens `i ..< i + sequenceLength` as
/// input and `i + 1 ... i + sequenceLength` as target (both int64 `[sequenceLength]`).
///
/// ```swift
/// let text = try String(contentsOfFile: "tinyshakespeare/input.txt", encoding: .utf8)
/// let vocab = Vocabulary.characters(in: text)
/// let data = try LanguageModelDataset(text: text, vocabulary: vocab, sequenceLength: 64)
/// ```
public struct LanguageModelDataset: Dataset {
    public let tokens: Tensor
    public let vocabulary: Vocabulary
    public let sequenceLength: Int
    /// Start positions step by `stride` (default 1: every position; `sequenceLength` for disjoint windows).
    public let stride: Int

    public init(text: String, vocabulary: Vocabulary, sequenceLength: Int, stride: Int = 1) throws {
        try self.init(tokens: vocabulary.encode(text), vocabulary: vocabulary, sequenceLength: sequenceLength, stride: stride)
    }

    public init(tokens: Tensor, vocabulary: Vocabulary, sequenceLength: Int, stride: Int = 1) throws {
        require(sequenceLength > 0 && stride > 0, "[languageModelDataset] sequenceLength and stride must be positive")
        guard tokens.count > sequenceLength else {
            throw DataError(op: "text", reason: "text has \(tokens.count) tokens, needs more than sequenceLength \(sequenceLength)")
        }
        self.tokens = tokens.to(.int64).reshape([-1])
        self.vocabulary = vocabulary
        self.sequenceLength = sequenceLength
        self.stride = stride
    }

    /// The first `fraction` of the tokens and the rest, as two datasets (the usual 90/10 split).
    public func split(trainFraction: Double = 0.9) throws -> (train: LanguageModelDataset, validation: LanguageModelDataset) {
        let cut = Int(Double(tokens.count) * trainFraction)
        return (try LanguageModelDataset(tokens: tokens[0..<cut], vocabulary: vocabulary, sequenceLength: sequenceLength, stride: stride),
                try LanguageModelDataset(tokens: tokens[cut...], vocabulary: vocabulary, sequenceLength: sequenceLength, stride: stride))
    }

    public var count: Int { (tokens.count - sequenceLength - 1) / stride + 1 }

    public func example(at index: Int) -> (input: Tensor, target: Tensor) {
        let s = index * stride
        return (tokens[s..<s + sequenceLength], tokens[s + 1..<s + sequenceLength + 1])
    }

    public func batch(at indices: [Int]) -> Batch {
        let t = sequenceLength
        var x = [Int64](repeating: 0, count: indices.count * t), y = x
        tokens.withUnsafeBufferPointer(as: Int64.self) { p in
            for (r, i) in indices.enumerated() {
                let s = i * stride
                for k in 0..<t {
                    x[r * t + k] = p[s + k]
                    y[r * t + k] = p[s + k + 1]
                }
            }
        }
        return Batch(inputs: Tensor(shape: [indices.count, t], scalars: x), targets: Tensor(shape: [indices.count, t], scalars: y))
    }
}
