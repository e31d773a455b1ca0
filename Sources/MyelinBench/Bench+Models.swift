import Foundation
import Myelin

// The model workloads of ../shared/bench/README.md.
extension Benchmarks {
    static func mlp() -> Sequential {
        Sequential { Linear(784, 512); ReLU(); Linear(512, 256); ReLU(); Linear(256, 10) }
    }

    /// One training step: forward, mean cross-entropy, zero grads, backward, optimiser step.
    static func trainStep(_ model: Module, _ opt: Optimizer, _ x: Tensor, _ y: Tensor) -> Tensor {
        let loss = crossEntropy(model(x), labels: y)
        opt.zeroGrad()
        loss.backward()
        opt.step()
        return loss
    }

    /// Warm up on a throwaway model, then time one pass over `batches()` with a fresh one.
    static func timedPass(_ makeModel: () -> Module, _ makeOpt: (Module) -> Optimizer,
                          _ batches: () -> AnySequence<(Tensor, Tensor)>) -> (seconds: Double, loss: Double) {
        var model = makeModel()
        var opt = makeOpt(model)
        for (x, y) in batches().prefix(3) { _ = trainStep(model, opt, x, y) }
        model = makeModel()
        opt = makeOpt(model)
        let t = monotonicSeconds()
        var loss = Tensor(scalar: 0.0)
        for (x, y) in batches() { loss = trainStep(model, opt, x, y) }
        return (monotonicSeconds() - t, loss.item())
    }

    static func mlpTrain(_ name: String, n: Int = 60_000, batchSize: Int = 128) -> [Result] {
        let x = Tensor.uniform([n, 784]), y = Tensor.randint(0, 10, shape: [n])
        // Reshuffled every epoch; the last partial batch is kept; each batch gathers its rows.
        func batches() -> AnySequence<(Tensor, Tensor)> {
            let order = Tensor.permutation(n)
            return AnySequence(stride(from: 0, to: n, by: batchSize).lazy.map { start in
                let idx = order[start..<min(start + batchSize, n)]
                return (x.indexSelect(axis: 0, indices: idx), y.indexSelect(axis: 0, indices: idx))
            })
        }
        let (t, loss) = timedPass({ mlp() }, { Adam(parameters: $0.parameters(), lr: 1e-3) }, batches)
        return [
            Result(workload: name, metric: "samples_per_s", value: Double(n) / t, unit: "samples/s", better: "higher"),
            Result(workload: name, metric: "epoch_s", value: t, unit: "s", better: "lower"),
            Result(workload: name, metric: "final_loss", value: loss, unit: "nats", better: "lower"),
        ]
    }

    /// mlp_infer_b1, or with `model` another network of its structure: `layer_overhead_b1` runs
    /// it with 16-wide layers, whose kernels take nanoseconds, so its figure is what Myelin's
    /// modules and ops cost a call around them (the tensors, checks and allocations of three layers).
    static func mlpInferB1(_ name: String, model: Sequential = mlp(), features: Int = 784, calls: Int = 2_000) -> [Result] {
        model.eval()
        let x = Tensor.uniform([1, features])
        let t = perCall(samples: 7) {
            withoutGrad {
                for _ in 0..<calls { consume(model(x)) }
            }
        }
        return [Result(workload: name, metric: "us_per_call", value: t / Double(calls) * 1e6, unit: "us", better: "lower")]
    }
}
