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
