import Foundation
import Myelin

// The `lstm_train` workload of ../shared/bench/README.md.
extension Benchmarks {
    /// Embedding(65→64), LSTM(64→256, batch first, zero initial state), Linear(256→65) on every
    /// step; logits flattened to [batch · time, 65] for the cross-entropy over all positions. The
    /// tokens go to the LSTM with their embedding (`run(tokens:embedding:state:)`), as
    /// `CharLanguageModel` gives them, so its input projection runs over the 65 entries.
    final class CharLSTM: Module {
        let emb = Embedding(65, 64)
        let lstm = LSTM(inputSize: 64, hiddenSize: 256, batchFirst: true)
        let head = Linear(256, 65)

        override func forward(_ x: Tensor) -> Tensor {
            let logits = head(lstm.run(tokens: x, embedding: emb, state: nil).output)
            return logits.reshape([-1, 65])
        }
    }

    /// 50 steps of batch 32, sequence 64, random tokens drawn before timing; step k reads
    /// tokens[k][:, :64] and predicts tokens[k][:, 1:]. Adam lr 2e-3.
    static func lstmTrain(_ name: String, steps: Int = 50, batchSize: Int = 32, sequence: Int = 64, vocab: Int = 65) -> [Result] {
        let tokens = Tensor.randint(0, vocab, shape: [steps, batchSize, sequence + 1])
        func batches() -> AnySequence<(Tensor, Tensor)> {
            AnySequence((0..<steps).lazy.map { k in
                let t = tokens[k]
                return (t[.all, 0..<sequence], t[.all, 1...sequence].reshape([-1]))
            })
        }
        let (t, loss) = timedPass({ CharLSTM() }, { Adam(parameters: $0.parameters(), lr: 2e-3) }, batches)
        return [
            Result(workload: name, metric: "tokens_per_s", value: Double(steps * batchSize * sequence) / t, unit: "tokens/s", better: "higher"),
            Result(workload: name, metric: "final_loss", value: loss, unit: "nats", better: "lower"),
        ]
    }
}
