import Foundation
import Testing
@testable import MyelinTrain
import MyelinCore
import MyelinNN
import MyelinData

/// `fit`'s cost over a bare loop on an MLP. Off by default (timing has no place in a parallel
/// debug run); `MYELIN_TRAIN_OVERHEAD=1 swift test -c release --filter fitOverhead` prints it.
@Suite struct OverheadTests {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["MYELIN_TRAIN_OVERHEAD"] != nil))
    func fitOverhead() throws {
        let g = RandomGenerator(seed: 1)
        let n = 8192, batch = 64, epochs = 3
        let data = TensorDataset(inputs: Tensor.randn([n, 784], generator: g), targets: Tensor.randint(0, 10, shape: [n], generator: g))
        func make() -> (Sequential, Adam) {
            let g = RandomGenerator(seed: 2)
            let model = Sequential { Linear(784, 128, generator: g); ReLU(); Linear(128, 10, generator: g) }
            return (model, Adam(parameters: model.parameters(), lr: 1e-3))
        }
        func bare() -> Double {
            let (model, opt) = make()
            let loader = DataLoader(data, batchSize: batch, shuffle: true, seed: 3)
            let t0 = monotonicSeconds()
            for _ in 0..<epochs {
                var sum = 0.0
                for b in loader {
                    let loss = crossEntropy(model(b.inputs), labels: b.targets)
                    opt.zeroGrad()
                    loss.backward()
                    opt.step()
                    sum += loss.item()
                }
                _ = sum
            }
            return monotonicSeconds() - t0
        }
        func viaFit(metrics: [any Metric]) throws -> Double {
            let (model, opt) = make()
            let trainer = Trainer(model: model, optimizer: opt, loss: .crossEntropy, metrics: metrics, verbosity: .silent)
            let t0 = monotonicSeconds()
            try trainer.fit(DataLoader(data, batchSize: batch, shuffle: true, seed: 3), epochs: epochs)
            return monotonicSeconds() - t0
        }
        _ = bare()
        var b = Double.infinity, f = Double.infinity, fm = Double.infinity
        for _ in 0..<3 {
            b = Swift.min(b, bare())
            f = Swift.min(f, try viaFit(metrics: []))
            fm = Swift.min(fm, try viaFit(metrics: [Accuracy()]))
        }
        print(String(format: "fit overhead (MLP 784-128-10, %d samples, batch %d, %d epochs): bare %.3fs, fit %.3fs (%.3fx), fit+accuracy %.3fs (%.3fx)",
                     n, batch, epochs, b, f, f / b, fm, fm / b))
        // The loop written once must not cost much more than the loop by hand.
        #expect(f / b < 1.25, "fit took \(f / b)x the bare loop")
    }
}
