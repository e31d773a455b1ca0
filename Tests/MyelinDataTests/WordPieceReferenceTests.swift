import Foundation
import Testing
import MyelinCore
@testable import MyelinData

/// The all-MiniLM-L6-v2 vocabulary against Hugging Face's fast tokenizer: ids for 60-odd texts
/// (accents, CJK, emoji, control characters, odd whitespace, scripts, long words and texts) written
/// by Fixtures/generators/gen_wordpiece.py. Needs the model folder ($MYELIN_MODELS/all-minilm-l6-v2).
@Suite struct WordPieceReferenceTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String, text: String, ids: [Int], untruncatedLength: Int
        var testDescription: String { name }
    }

    struct Fixture: Sendable {
        let maxLength: Int
        let cases: [Case]
        let batchNames: [String], batchIDs: [[Int]], batchMask: [[Int]], batchTypes: [[Int]]
    }

    static let fixture: Fixture = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/wordpiece.json")
        guard let data = try? Data(contentsOf: url), let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let cases = root["cases"] as? [[String: Any]], let batch = root["batch"] as? [String: Any] else {
            fatalError("cannot read fixture file \(url.path); run Fixtures/generators/gen_wordpiece.py")
        }
        return Fixture(
            maxLength: root["maxLength"] as! Int,
            cases: cases.map { Case(name: $0["name"] as! String, text: $0["text"] as! String, ids: $0["ids"] as! [Int],
                                    untruncatedLength: $0["untruncatedLength"] as! Int) },
            batchNames: batch["names"] as! [String], batchIDs: batch["inputIDs"] as! [[Int]],
            batchMask: batch["attentionMask"] as! [[Int]], batchTypes: batch["tokenTypeIDs"] as! [[Int]])
    }()

    /// The model folder, from $MYELIN_MODELS or ../shared/models beside the repository.
    static let modelDirectory: String? = {
        var candidates: [String] = []
        if let env = ProcessInfo.processInfo.environment["MYELIN_MODELS"], !env.isEmpty { candidates.append(env) }
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(repo.deletingLastPathComponent().appendingPathComponent("shared/models").path)
        return candidates.map { $0 + "/all-minilm-l6-v2" }.first { FileManager.default.fileExists(atPath: $0 + "/vocab.txt") }
    }()

    static let tokenizer: Result<WordPieceTokenizer, DataError>? = modelDirectory.map { dir in
        Result { try WordPieceTokenizer.load(directory: dir) }.mapError { $0 as! DataError }
    }

    static var hasModel: Bool { modelDirectory != nil }

    @Test(.enabled(if: hasModel, "needs the all-MiniLM-L6-v2 vocabulary (MYELIN_MODELS)"))
    func loadsTheModelsTokenizer() throws {
        let tok = try #require(Self.tokenizer).get()
        #expect(tok.vocabularySize == 30522)
        #expect(tok.options == .init(lowercase: true, stripAccents: nil, tokenizeChineseChars: true))
        #expect(tok.paddingID == 0 && tok.unknownID == 100 && tok.classifierID == 101 && tok.separatorID == 102)
    }

    @Test(.enabled(if: hasModel, "needs the all-MiniLM-L6-v2 vocabulary (MYELIN_MODELS)"), arguments: fixture.cases)
    func idsMatchHuggingFace(_ c: Case) throws {
        let tok = try #require(Self.tokenizer).get()
        let e = tok.encode(c.text, maxLength: Self.fixture.maxLength)
        #expect(e.ids == c.ids, "got \(e.ids.map { tok.tokens[$0] })")
        #expect(e.truncatedCount == max(0, c.untruncatedLength - Self.fixture.maxLength))
        #expect(tok.encode(c.text).ids.count == c.untruncatedLength)
    }

    @Test(.enabled(if: hasModel, "needs the all-MiniLM-L6-v2 vocabulary (MYELIN_MODELS)"))
    func paddedBatchMatchesHuggingFace() throws {
        let tok = try #require(Self.tokenizer).get()
        let f = Self.fixture
        let texts = f.batchNames.map { name in f.cases.first { $0.name == name }!.text }
        let b = tok.encode(batch: texts, maxLength: f.maxLength)
        #expect(b.count == texts.count && b.length == f.batchIDs[0].count)
        #expect((0..<b.count).map(b.row) == f.batchIDs)
        #expect(b.attentionMask == f.batchMask.flatMap { $0 })
        #expect(b.tokenTypeIDs == f.batchTypes.flatMap { $0 })
    }
}
