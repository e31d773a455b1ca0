import Foundation
import Myelin

// The `cnn_train` workload of ../shared/bench/README.md.
extension Benchmarks {
    static func cnn() -> Sequential {
        Sequential {
            Conv2d(inChannels: 1, outChannels: 32, kernelSize: 3, padding: 1); ReLU(); MaxPool2d(kernelSize: 2)
            Conv2d(inChannels: 32, outChannels: 64, kernelSize: 3, padding: 1); ReLU(); MaxPool2d(kernelSize: 2)
            Flatten(); Linear(64 * 7 * 7, 128); ReLU(); Linear(128, 10)
        }
    }

    /// 10,000 samples of 1x28x28 in order (no shuffle), batch 64 with the last partial batch kept,
    /// SGD lr 0.01, momentum 0.9.
    static func cnnTrain(_ name: String, n: Int = 10_000, batchSize: Int = 64) -> [Result] {
        let x = Tensor.uniform([n, 1, 28, 28]), y = Tensor.randint(0, 10, shape: [n])
        func batches() -> AnySequence<(Tensor, Tensor)> {
            AnySequence(stride(from: 0, to: n, by: batchSize).lazy.map { start in
                let end = min(start + batchSize, n)
                return (x[start..<end], y[start..<end])
            })
        }
        let (t, loss) = timedPass({ cnn() }, { SGD(parameters: $0.parameters(), lr: 0.01, momentum: 0.9) }, batches)
        return [
            Result(workload: name, metric: "samples_per_s", value: Double(n) / t, unit: "samples/s", better: "higher"),
            Result(workload: name, metric: "epoch_s", value: t, unit: "s", better: "lower"),
            Result(workload: name, metric: "final_loss", value: loss, unit: "nats", better: "lower"),
        ]
    }
}
