import Foundation
import Myelin

// Sentence-encoder workloads, with the peer scripts/bench-peers/sentence_transformers_bench.py:
//
//   minilm_embed_b1   all-MiniLM-L6-v2 embeds 200 sentences one call each (batch 1)
//   minilm_embed_b32  all-MiniLM-L6-v2 embeds 1,024 sentences in one call with batch size 32
//
// Metric `sentences_per_s` (higher). The sentences are made the same way by both sides: sentence
// i has 8 + i mod 17 words, word j being WORDS[(7 i + 13 j + i j) mod 64] (10 to 30 tokens).
// The model comes from $MYELIN_MODELS (all-minilm-l6-v2/); the workloads fail without it.
extension Benchmarks {
    static let pretrainedWorkloads = ["minilm_embed_b1", "minilm_embed_b32"]

    static let benchWords = ("the a man woman child dog cat plays eats runs quickly slowly under over house garden river "
        + "music violin drums bread food horse car city night morning happy sad green red small large old new "
        + "teacher student book reads writes sings dances computer network learning deep model data train test "
        + "apple orange table chair window door street market sun moon tree bird water light").split(separator: " ").map(String.init)

    /// Sentence i of the benchmark set (see the comment above).
    static func benchSentence(_ i: Int) -> String {
        let n = 8 + i % 17
        return (0..<n).map { j in benchWords[(7 * i + 13 * j + i * j) % benchWords.count] }.joined(separator: " ")
    }

    static func minilmEmbed(_ name: String, sentences: Int, batchSize: Int) throws -> [Result] {
        let encoder = try Pretrained(allowDownload: false).load("all-MiniLM-L6-v2")
        let texts = (0..<sentences).map(benchSentence)
        func pass() {
            if batchSize == 1 {
                for t in texts { consume(encoder.encode([t], batchSize: 1).vectors) }
            } else {
                consume(encoder.encode(texts, batchSize: batchSize).vectors)
            }
        }
        // A warm-up pass, then the median of 3 timed passes.
        pass()
        var times: [Double] = []
        for _ in 0..<3 {
            let t = monotonicSeconds()
            pass()
            times.append(monotonicSeconds() - t)
        }
        times.sort()
        return [Result(workload: name, metric: "sentences_per_s", value: Double(sentences) / times[1], unit: "sentences/s", better: "higher")]
    }
}
