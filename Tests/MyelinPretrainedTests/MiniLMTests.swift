import Foundation
import MyelinCore
import MyelinNN
@testable import MyelinPretrained
import MyelinTestSupport
import Testing

/// The reference of gen_minilm.py: sentence-transformers' ids and embeddings of a committed text set.
struct MiniLMReference {
    let texts: [String]
    let ids: [[Int]]
    let untruncatedLengths: [Int]
    let single: [[Double]]
    let batch: [[Double]]
    /// Hidden states of whole texts: text index, the embeddings' output, layer 1's and the last layer's.
    let hidden: [(text: Int, embeddings: [[Double]], layer1: [[Double]], last: [[Double]])]

    static let shared: MiniLMReference = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/minilm.json")
        guard let data = try? Data(contentsOf: url),
              let o = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            fatalError("cannot read \(url.path); run Fixtures/generators/gen_minilm.py")
        }
        func rows(_ v: Any?) -> [[Double]] { (v as! [[NSNumber]]).map { $0.map(\.doubleValue) } }
        return MiniLMReference(
            texts: o["texts"] as! [String], ids: o["ids"] as! [[Int]], untruncatedLengths: o["untruncated_lengths"] as! [Int],
            single: rows(o["single"]), batch: rows(o["batch"]),
            hidden: (o["hidden"] as! [[String: Any]]).map {
                ($0["text"] as! Int, rows($0["embeddings"]), rows($0["layer1"]), rows($0["last"]))
            })
    }()
}

/// The largest absolute difference between a tensor's rows and reference rows.
func largestDifference(_ t: Tensor, _ rows: [[Double]]) -> Double {
    let a = t.to(.float64).doubles, e = rows.flatMap { $0 }
    precondition(a.count == e.count, "sizes \(a.count) and \(e.count) differ")
    return zip(a, e).map { Swift.abs($0 - $1) }.max() ?? 0
}

/// The BERT encoder of all-MiniLM-L6-v2 against sentence-transformers, from token ids.
@Suite struct MiniLMEncoderTests {
    static let folder = sharedModels().map { $0 + "/all-minilm-l6-v2" }

    static func model() throws -> BertModel {
        let bert = BertModel(try BertConfig(contentsOf: folder! + "/config.json"), randomWeights: false)
        try bert.loadPretrained(folder! + "/model.safetensors")
        bert.eval()
        return bert
    }

    @Test(.enabled(if: folder != nil, "needs all-MiniLM-L6-v2 (MYELIN_MODELS)"))
    func hiddenStatesMatchTransformers() throws {
        let bert = try Self.model()
        let ref = MiniLMReference.shared
        for h in ref.hidden {
            let ids = ref.ids[h.text]
            let x = Tensor(shape: [1, ids.count], scalars: ids.map(Int64.init))
            let emb = withoutGrad { bert.embeddings(inputIds: x, tokenTypeIds: nil) }
            #expect(largestDifference(emb, h.embeddings) < 1e-5, "embeddings of text \(h.text)")
            let last = withoutGrad { bert(inputIds: x) }
            #expect(largestDifference(last, h.last) < 1e-4, "last layer of text \(h.text)")
        }
    }

    @Test(.enabled(if: folder != nil, "needs all-MiniLM-L6-v2 (MYELIN_MODELS)"))
    func stateDictKeepsHuggingFaceNames() throws {
        let bert = try Self.model()
        let names = Set(bert.stateDict().keys)
        #expect(names.contains("embeddings.LayerNorm.weight"))
        #expect(names.contains("encoder.layer.5.attention.self.query.weight"))
        #expect(names.contains("encoder.layer.0.attention.output.LayerNorm.bias"))
        #expect(names.contains("pooler.dense.weight"))
        #expect(names.count == 103)   // the file's 104 keys less position_ids
    }
}

/// all-MiniLM-L6-v2 from text, against sentence-transformers' `encode`.
@Suite struct SentenceEncoderTests {
    static let models = sharedModels()

    static func encoder() throws -> SentenceEncoder {
        try Pretrained(modelsDir: models!, environment: [:], allowDownload: false).load("all-MiniLM-L6-v2")
    }

    @Test(.enabled(if: models != nil, "needs all-MiniLM-L6-v2 (MYELIN_MODELS)"))
    func embeddingsMatchSentenceTransformers() throws {
        let encoder = try Self.encoder()
        let ref = MiniLMReference.shared
        #expect(encoder.maxSequenceLength == 256 && encoder.pooling == .mean && encoder.normalizes)
        for (i, text) in ref.texts.enumerated() {
            #expect(encoder.tokenizer.encode(text, maxLength: 256).ids == ref.ids[i], "ids of text \(i)")
        }
        // One text at a time, and in padded batches of rows of different lengths. Debug builds
        // run a 256-token text in seconds, so the long texts go alone here; `make acceptance`
        // checks every text both ways on the release binary (scripts/check-minilm.py).
        let short = ref.ids.indices.filter { ref.ids[$0].count <= 64 }
        let long = ref.ids.indices.first { ref.untruncatedLengths[$0] > 256 }!
        for i in short + [long] {
            #expect(largestDifference(encoder.encode([ref.texts[i]]).vectors, [ref.single[i]]) < 1e-5, "text \(i) alone")
        }
        let batch = encoder.encode(short.map { ref.texts[$0] }, batchSize: 8)
        #expect(largestDifference(batch.vectors, short.map { ref.batch[$0] }) < 1e-5)
        #expect(batch.truncated == 0)
        #expect(encoder.encode([ref.texts[long], "short"]).truncated == 1)
    }

    @Test(.enabled(if: models != nil, "needs all-MiniLM-L6-v2 (MYELIN_MODELS)"))
    func similarSentencesAreNearer() throws {
        let e = try Self.encoder().encode(["A man is eating food.", "A man is eating a piece of bread.", "A monkey is playing drums."]).vectors
        let food = (e[0] * e[1]).sum().item(), drums = (e[0] * e[2]).sum().item()
        #expect(food > drums + 0.3)
        let norms = (e * e).sum(axes: [1]).doubles
        #expect(norms.allSatisfy { Swift.abs($0 - 1) < 1e-5 })
    }
}
