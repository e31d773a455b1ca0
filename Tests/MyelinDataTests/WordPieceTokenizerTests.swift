import Foundation
import Testing
import MyelinCore
@testable import MyelinData

/// WordPiece on a tiny hand-written vocabulary: greedy longest-match pieces, `##`, `[UNK]`, the
/// normalizer's steps, truncation and padding; expectations worked out by hand from HF's rules.
@Suite struct WordPieceTokenizerTests {
    static let vocabulary = [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",  // 0...4
        "un", "##aff", "##able", "unaff", "##a",         // 5...9
        "a", "##ff", "cafe", "naive", ",", "!", ".",    // 10...16
        "中", "国", "hello", "world", "##s", "x", "é",    // 17...23
    ]
    static let tok = try! WordPieceTokenizer(tokens: vocabulary)

    @Test func greedyLongestMatchFirst() {
        // "unaff" beats "un" + "##aff"; then "##able".
        #expect(Self.tok.tokenize("unaffable") == ["unaff", "##able"])
        #expect(Self.tok.ids("unaffable") == [8, 7])
        #expect(Self.tok.tokenize("unaffa") == ["unaff", "##a"])
        #expect(Self.tok.tokenize("worlds hello") == ["world", "##s", "hello"])
    }

    @Test func unknownWordsAreOneUnk() {
        #expect(Self.tok.tokenize("zzz") == ["[UNK]"])
        // A word whose tail matches nothing is one [UNK], not "un" then [UNK].
        #expect(Self.tok.tokenize("unzzz hello") == ["[UNK]", "hello"])
        // Continuation pieces never start a word.
        #expect(Self.tok.tokenize("able") == ["[UNK]"])
    }

    @Test func wordsOverTheLimitAreUnk() throws {
        #expect(Self.tok.tokenize("x" + String(repeating: "a", count: 99)).count == 100)   // x ##a ×99
        #expect(Self.tok.tokenize("x" + String(repeating: "a", count: 100)) == ["[UNK]"])
        let short = try WordPieceTokenizer(tokens: Self.vocabulary, options: .init(maxInputCharsPerWord: 3))
        #expect(short.tokenize("xaa xaaa") == ["x", "##a", "##a", "[UNK]"])
        // The limit counts characters after accents are stripped: "a\u{301}" is 1 then, not 2.
        #expect(short.tokenize("xaa\u{301}") == ["x", "##a", "##a"])
    }

    @Test func normalizesLikeBert() {
        #expect(Self.tok.tokenize("CAFÉ, Naïve!") == ["cafe", ",", "naive", "!"])
        #expect(Self.tok.tokenize("Cafe\u{301}") == ["cafe"])                       // decomposed accent
        #expect(Self.tok.tokenize("中国hello") == ["中", "国", "hello"])               // CJK spaced out
        #expect(Self.tok.tokenize("hel\u{0}lo\u{200B}\u{FFFD}\u{7}") == ["hello"])   // removed characters
        #expect(Self.tok.tokenize("hello\u{3000}world\u{A0}x\tx") == ["hello", "world", "x", "x"])
        #expect(Self.tok.tokenize("") == [])
        #expect(Self.tok.tokenize(" \n\t ") == [])
    }

    /// The per-scalar NFD with canonical ordering gives Foundation's NFD of the whole string.
    @Test func decompositionMatchesFoundation() {
        for s in ["Ångström résumé", "a\u{301}\u{316}b\u{1D165}\u{301}\u{316}", "한국어 ᄀ", "ǅ ﬁ Å Ω ẛ̣ ṩ", "q\u{307}\u{323}\u{315}\u{302}", ""] {
            let ours = WordPieceTokenizer.decomposed(Array(s.unicodeScalars))
            #expect(ours == Array(s.decomposedStringWithCanonicalMapping.unicodeScalars), "\(s)")
        }
    }

    @Test func specialTokensInTextStayWhole() {
        #expect(Self.tok.tokenize("hello [MASK]x [mask]") == ["hello", "[MASK]", "x", "[UNK]", "[UNK]", "[UNK]"])
        #expect(Self.tok.tokenize("[SEP][CLS]") == ["[SEP]", "[CLS]"])
    }

    @Test func casedOptions() throws {
        let cased = try WordPieceTokenizer(tokens: Self.vocabulary + ["Hello", "É"], options: .init(lowercase: false))
        #expect(!cased.options.stripsAccents)
        #expect(cased.tokenize("Hello hello É é") == ["Hello", "hello", "É", "é"])
        let stripped = try WordPieceTokenizer(tokens: Self.vocabulary + ["Hello", "E"], options: .init(lowercase: false, stripAccents: true))
        #expect(stripped.tokenize("Hello É") == ["Hello", "E"])
        let noCJK = try WordPieceTokenizer(tokens: Self.vocabulary + ["##国"], options: .init(tokenizeChineseChars: false))
        #expect(noCJK.tokenize("中国") == ["中", "##国"])
    }

    @Test func encodeAddsSpecialsAndTruncates() {
        let e = Self.tok.encode("hello world!")
        #expect(e.ids == [2, 19, 20, 15, 3])
        #expect(!e.isTruncated && e.truncatedCount == 0)
        #expect(e.attentionMask == [1, 1, 1, 1, 1] && e.tokenTypeIDs == [0, 0, 0, 0, 0])
        #expect(Self.tok.encode("hello world!", maxLength: 5) == e)                   // fits exactly
        let cut = Self.tok.encode("hello world!", maxLength: 3)
        #expect(cut.ids == [2, 19, 3])
        #expect(cut.truncatedCount == 2 && cut.isTruncated)
        // Truncation is by pieces, so it may cut inside a word.
        #expect(Self.tok.encode("unaffable", maxLength: 3).ids == [2, 8, 3])
        #expect(Self.tok.encode("", maxLength: 2).ids == [2, 3])
        #expect(Self.tok.encode("hello", maxLength: 2) == WordPieceEncoding(ids: [2, 3], truncatedCount: 1))
    }

    @Test func batchPadsToTheLongest() {
        let b = Self.tok.encode(batch: ["hello", "unaffable world!", ""], maxLength: 5)
        #expect(b.count == 3 && b.length == 5)
        #expect(b.row(0) == [2, 19, 3, 0, 0])
        #expect(b.row(1) == [2, 8, 7, 20, 3])
        #expect(b.row(2) == [2, 3, 0, 0, 0])
        #expect(b.attentionMask == [1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0])
        #expect(b.lengths == [3, 5, 2])
        #expect(b.truncatedCounts == [0, 1, 0])
        #expect(b.tokenTypeIDs == [Int](repeating: 0, count: 15))
        let ids = b.inputIDsTensor, mask = b.attentionMaskTensor
        #expect(ids.shape == [3, 5] && ids.dtype == .int64 && ids.ints == b.inputIDs)
        #expect(mask.shape == [3, 5] && mask.ints == b.attentionMask)
        #expect(b.tokenTypeIDsTensor.ints == b.tokenTypeIDs)
        let empty = Self.tok.encode(batch: [])
        #expect(empty.count == 0 && empty.length == 0 && empty.inputIDs.isEmpty)
    }

    @Test func vocabularyLookups() throws {
        #expect(Self.tok.vocabularySize == Self.vocabulary.count)
        #expect(Self.tok.id(of: "##able") == 7 && Self.tok.id(of: "nope") == nil)
        // Compared by scalars: "é" is in the vocabulary, its decomposed spelling is not.
        #expect(Self.tok.id(of: "\u{E9}") == 23 && Self.tok.id(of: "e\u{301}") == nil)
        #expect(Self.tok.unknownID == 1 && Self.tok.classifierID == 2 && Self.tok.separatorID == 3 && Self.tok.paddingID == 0)
        // A repeated token maps to its later line, as HF's load_vocab.
        let twice = try WordPieceTokenizer(tokens: Self.vocabulary + ["hello"])
        #expect(twice.ids("hello") == [Self.vocabulary.count])
    }

    @Test func missingSpecialTokensThrow() {
        let message = thrownMessage { try WordPieceTokenizer(tokens: ["[PAD]", "[CLS]", "[SEP]", "a"]) }
        #expect(message == "[wordpiece] vocabulary of 4 tokens has no [UNK] token")
        let limit = thrownMessage { try WordPieceTokenizer(tokens: Self.vocabulary, options: .init(maxInputCharsPerWord: 0)) }
        #expect(limit == "[wordpiece] max_input_chars_per_word must be positive, got 0")
    }
}

/// Reading `vocab.txt` and `tokenizer_config.json`, and the one-line errors of bad files.
@Suite struct WordPieceFileTests {
    static let lines = WordPieceTokenizerTests.vocabulary.joined(separator: "\n")

    @Test func readsVocabularyAndConfig() throws {
        let dir = makeTempDir("wordpiece")
        writeText(Self.lines + "\n", dir + "/vocab.txt")
        let plain = try WordPieceTokenizer.load(directory: dir)          // no config: BERT uncased defaults
        #expect(plain.tokens == WordPieceTokenizerTests.vocabulary && plain.options == .init())
        #expect(plain.tokenize("Unaffable!") == ["unaff", "##able", "!"])
        writeText(#"{"do_lower_case": false, "strip_accents": true, "tokenize_chinese_chars": false, "model_max_length": 512}"#,
                  dir + "/tokenizer_config.json")
        let cased = try WordPieceTokenizer.load(directory: dir)
        #expect(cased.options == .init(lowercase: false, stripAccents: true, tokenizeChineseChars: false))
        writeText(#"{"do_lower_case": true, "strip_accents": null}"#, dir + "/tokenizer_config.json")
        #expect(try WordPieceTokenizer.load(directory: dir).options == .init(lowercase: true, stripAccents: nil))
        // CRLF line ends and a missing final line break read the same; an empty line is a token.
        writeText(Self.lines.replacingOccurrences(of: "\n", with: "\r\n") + "\r\n\r\nlast", dir + "/crlf.txt")
        let crlf = try WordPieceTokenizer(vocabularyFile: dir + "/crlf.txt")
        #expect(crlf.tokens == WordPieceTokenizerTests.vocabulary + ["", "last"])
    }

    @Test func badFilesThrowOneLine() {
        let dir = makeTempDir("wordpiece")
        func message(_ body: () throws -> Any) -> String? { baseNamed(thrownMessage(body)) }
        #expect(message { try WordPieceTokenizer.load(directory: dir) }?.hasPrefix("[wordpiece] vocab.txt: ") == true)
        writeText("", dir + "/vocab.txt")
        #expect(message { try WordPieceTokenizer.load(directory: dir) } == "[wordpiece] vocab.txt: vocabulary file is empty")
        writeText("[PAD]\n[CLS]\n[SEP]\nhello\n", dir + "/vocab.txt")
        #expect(message { try WordPieceTokenizer.load(directory: dir) } == "[wordpiece] vocab.txt: vocabulary of 4 tokens has no [UNK] token")
        writeBytes(Array((Self.lines + "\nbad").utf8) + [0xFF, 0x0A], dir + "/vocab.txt")
        #expect(message { try WordPieceTokenizer.load(directory: dir) } == "[wordpiece] vocab.txt:25: token is not valid UTF-8")
        writeText(Self.lines, dir + "/vocab.txt")
        writeText("{\"do_lower_case\": tru", dir + "/tokenizer_config.json")
        #expect(message { try WordPieceTokenizer.load(directory: dir) } == "[wordpiece] tokenizer_config.json: not valid JSON (21 bytes)")
        writeText("[true]", dir + "/tokenizer_config.json")
        #expect(message { try WordPieceTokenizer.load(directory: dir) } == "[wordpiece] tokenizer_config.json: expected a JSON object at the top level")
        writeText(#"{"do_lower_case": 1}"#, dir + "/tokenizer_config.json")
        #expect(message { try WordPieceTokenizer.load(directory: dir) } == "[wordpiece] tokenizer_config.json: do_lower_case must be true or false, got 1")
        writeText(#"{"strip_accents": "yes"}"#, dir + "/tokenizer_config.json")
        #expect(message { try WordPieceTokenizer.load(directory: dir) } == "[wordpiece] tokenizer_config.json: strip_accents must be true or false or null, got yes")
    }
}
