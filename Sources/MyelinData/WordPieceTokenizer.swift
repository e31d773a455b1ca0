/// BERT's uncased WordPiece tokenizer, giving the ids Hugging Face's fast tokenizer gives.
///
/// Text is cleaned (NUL, U+FFFD and control characters removed, whitespace made a space), CJK
/// ideographs are spaced out, accents stripped (NFD, nonspacing marks dropped) and letters lowercased,
/// then split at whitespace and punctuation; each word becomes the longest vocabulary pieces from the
/// left, later pieces prefixed `##`, or `[UNK]` when a piece cannot be found or the word has more than
/// 100 characters. Special tokens written in the text (`[MASK]`) are kept whole, as HF does.
///
/// ```swift
/// let tok = try WordPieceTokenizer.load(directory: "models/all-minilm-l6-v2")  // vocab.txt (+ tokenizer_config.json)
/// tok.tokenize("Café naïve!")                  // ["cafe", "naive", "!"]
/// let one = tok.encode("Hello, world!", maxLength: 256)
/// one.ids                                      // [101, 7592, 1010, 2088, 999, 102]
/// let batch = tok.encode(batch: ["a", "longer text"], maxLength: 256)
/// let ids = batch.inputIDsTensor               // int64 [2, 4], [PAD]-padded; batch.attentionMaskTensor
/// ```
public struct WordPieceTokenizer: Sendable {
    /// How text is normalized before WordPiece (the `tokenizer_config.json` flags).
    ///
    /// ```swift
    /// let cased = WordPieceTokenizer.Options(lowercase: false)   // keeps case and accents
    /// ```
    public struct Options: Equatable, Sendable {
        /// Lowercase the text (`do_lower_case`).
        public var lowercase: Bool
        /// Strip accents (`strip_accents`); nil follows `lowercase`, as in HF.
        public var stripAccents: Bool?
        /// Put spaces around CJK ideographs (`tokenize_chinese_chars`).
        public var tokenizeChineseChars: Bool
        /// Remove control characters and make all whitespace a space (HF's `clean_text`).
        public var cleanText: Bool
        /// Longer words become `[UNK]` whole (`max_input_chars_per_word`).
        public var maxInputCharsPerWord: Int

        public init(lowercase: Bool = true, stripAccents: Bool? = nil, tokenizeChineseChars: Bool = true,
                    cleanText: Bool = true, maxInputCharsPerWord: Int = 100) {
            self.lowercase = lowercase
            self.stripAccents = stripAccents
            self.tokenizeChineseChars = tokenizeChineseChars
            self.cleanText = cleanText
            self.maxInputCharsPerWord = maxInputCharsPerWord
        }

        /// Whether accents are stripped, `stripAccents` resolved.
        public var stripsAccents: Bool { stripAccents ?? lowercase }
    }

    /// Tokens by id (the lines of `vocab.txt`).
    public let tokens: [String]
    public let options: Options
    /// The ids of `[UNK]`, `[CLS]`, `[SEP]` and `[PAD]`.
    public let unknownID: Int, classifierID: Int, separatorID: Int, paddingID: Int
    let trie: ScalarTrie
    /// The trie node after `##`, where continuation pieces are looked up (nil: the vocabulary has none).
    let continuationNode: Int32?
    /// Special tokens matched verbatim in raw text before normalization, with their ids.
    let specials: [(scalars: [Unicode.Scalar], id: Int32)]

    /// A tokenizer over `tokens` (id = position). A token listed twice maps to its later id, as HF's
    /// `load_vocab`; the special tokens must be present.
    ///
    /// ```swift
    /// let tok = try WordPieceTokenizer(tokens: ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "un", "##aff", "##able"])
    /// tok.tokenize("unaffable")   // ["un", "##aff", "##able"]
    /// ```
    public init(tokens: [String], options: Options = Options(), unknownToken: String = "[UNK]",
                classifierToken: String = "[CLS]", separatorToken: String = "[SEP]", paddingToken: String = "[PAD]",
                maskToken: String = "[MASK]", file: String? = nil) throws {
        guard options.maxInputCharsPerWord > 0 else {
            throw DataError(op: "wordpiece", file: file, reason: "max_input_chars_per_word must be positive, got \(options.maxInputCharsPerWord)")
        }
        var trie = ScalarTrie()
        for (i, t) in tokens.enumerated() { trie.insert(t.unicodeScalars, id: Int32(i)) }
        func id(_ token: String) throws -> Int {
            guard let i = trie.exact(Array(token.unicodeScalars)) else {
                throw DataError(op: "wordpiece", file: file, reason: "vocabulary of \(tokens.count) tokens has no \(token) token")
            }
            return Int(i)
        }
        self.tokens = tokens
        self.options = options
        unknownID = try id(unknownToken)
        classifierID = try id(classifierToken)
        separatorID = try id(separatorToken)
        paddingID = try id(paddingToken)
        continuationNode = trie.node(for: Array("##".unicodeScalars))
        // Longest first, so that of two specials starting alike the longer wins (HF matches leftmost-longest).
        specials = Set([unknownToken, classifierToken, separatorToken, paddingToken, maskToken]).compactMap { t in
            let s = Array(t.unicodeScalars)
            return s.isEmpty ? nil : trie.exact(s).map { (s, $0) }
        }.sorted { $0.scalars.count > $1.scalars.count }
        self.trie = trie
    }

    /// The number of tokens (ids run from 0 to `vocabularySize - 1`).
    public var vocabularySize: Int { tokens.count }

    /// The id of `token` (compared by Unicode scalars, not canonical equivalence), or nil.
    ///
    /// ```swift
    /// tok.id(of: "[MASK]")   // 103 in BERT's vocabulary
    /// ```
    public func id(of token: String) -> Int? { trie.exact(Array(token.unicodeScalars)).map(Int.init) }

    /// The word pieces of `text`, without `[CLS]`/`[SEP]`.
    ///
    /// ```swift
    /// tok.tokenize("Hello, world!")   // ["hello", ",", "world", "!"]
    /// ```
    public func tokenize(_ text: String) -> [String] { pieceIDs(text).map { tokens[Int($0)] } }

    /// The ids of `text`'s word pieces, without `[CLS]`/`[SEP]`.
    ///
    /// ```swift
    /// tok.ids("Hello, world!")   // [7592, 1010, 2088, 999]
    /// ```
    public func ids(_ text: String) -> [Int] { pieceIDs(text).map(Int.init) }

    /// The ids of `text`'s word pieces: special tokens in the raw text kept whole, the rest normalized,
    /// split into words and each word into pieces.
    func pieceIDs(_ text: String) -> [Int32] {
        let scalars = Array(text.unicodeScalars)
        var out: [Int32] = []
        out.reserveCapacity(scalars.count / 3 + 4)
        var start = 0, i = 0
        while i < scalars.count {
            if scalars[i] == "[", let (length, id) = special(at: i, in: scalars) {
                if start < i { appendPieces(of: scalars[start..<i], to: &out) }
                out.append(id)
                i += length
                start = i
            } else {
                i += 1
            }
        }
        if start < scalars.count { appendPieces(of: scalars[start...], to: &out) }
        return out
    }

    private func special(at i: Int, in s: [Unicode.Scalar]) -> (Int, Int32)? {
        for (t, id) in specials where i + t.count <= s.count && s[i..<i + t.count].elementsEqual(t) { return (t.count, id) }
        return nil
    }

    private func appendPieces(of text: ArraySlice<Unicode.Scalar>, to out: inout [Int32]) {
        let s = normalize(text)
        forEachWord(in: s) { word in appendWordPieces(s, word, to: &out) }
    }

    /// Greedy longest-match-first: the longest vocabulary prefix of what is left (after `##` past the
    /// first piece); a word with a part no piece matches, or too long, is one `[UNK]`.
    private func appendWordPieces(_ s: [Unicode.Scalar], _ word: Range<Int>, to out: inout [Int32]) {
        let unk = Int32(unknownID)
        guard word.count <= options.maxInputCharsPerWord else { out.append(unk); return }
        let mark = out.count
        var start = word.lowerBound
        while start < word.upperBound {
            let from: Int32
            if start == word.lowerBound { from = 0 } else if let c = continuationNode { from = c } else { from = -1 }
            guard from >= 0, let (id, end) = trie.longestMatch(s, start..<word.upperBound, from: from) else {
                out.removeSubrange(mark...)
                out.append(unk)
                return
            }
            out.append(id)
            start = end
        }
    }
}

/// A trie over Unicode scalars with one hash table for all edges, so the longest vocabulary prefix
/// of a word costs one lookup per scalar instead of building substrings.
struct ScalarTrie: Sendable {
    /// Edge `(node << 21) | scalar` → child node.
    private var edges: [UInt64: Int32] = [:]
    /// Token id ending at each node, or -1; node 0 is the root.
    private var ids: [Int32] = [-1]

    @inline(__always)
    private func key(_ node: Int32, _ c: Unicode.Scalar) -> UInt64 { UInt64(node) << 21 | UInt64(c.value) }

    mutating func insert(_ token: String.UnicodeScalarView, id: Int32) {
        var node: Int32 = 0
        for c in token {
            if let next = edges[key(node, c)] { node = next; continue }
            ids.append(-1)
            let next = Int32(ids.count - 1)
            edges[key(node, c)] = next
            node = next
        }
        ids[Int(node)] = id  // a repeated token keeps its later id
    }

    func node(for s: [Unicode.Scalar]) -> Int32? {
        var node: Int32 = 0
        for c in s {
            guard let next = edges[key(node, c)] else { return nil }
            node = next
        }
        return node
    }

    func exact(_ s: [Unicode.Scalar]) -> Int32? {
        guard let n = node(for: s), ids[Int(n)] >= 0 else { return nil }
        return ids[Int(n)]
    }

    /// The id and end of the longest token that, appended to node `from`, spells a prefix of `s[range]`.
    @inline(__always)
    func longestMatch(_ s: [Unicode.Scalar], _ range: Range<Int>, from: Int32) -> (Int32, Int)? {
        var node = from
        var best: (Int32, Int)?
        var i = range.lowerBound
        while i < range.upperBound, let next = edges[key(node, s[i])] {
            node = next
            i += 1
            let id = ids[Int(node)]
            if id >= 0 { best = (id, i) }
        }
        return best
    }
}
