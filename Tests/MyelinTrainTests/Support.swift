import Foundation
import MyelinTestSupport
@testable import MyelinTrain
import MyelinCore
import MyelinNN
import MyelinData

// Small problems and helpers shared by the training tests. Every random draw uses a private
// generator: tests run in parallel, and checkpoint restores put back `Random.global`.

/// Two Gaussian blobs around (-1.5, -1.5) (class 0) and (1.5, 1.5) (class 1), shuffled.
func twoBlobs(_ n: Int, seed: UInt64) -> TensorDataset {
    let g = RandomGenerator(seed: seed)
    let labels = Tensor.randint(0, 2, shape: [n], generator: g)
    let centres = (labels.to(.float32) * 3 - 1.5).reshape([n, 1])
    let points = centres + Tensor.normal([n, 2], std: 0.7, generator: g)
    return TensorDataset(inputs: points, targets: labels)
}

/// A 2 -> hidden -> classes MLP with weights drawn from `seed`.
func mlp(seed: UInt64, hidden: Int = 8, classes: Int = 2) -> Sequential {
    let g = RandomGenerator(seed: seed)
    return Sequential { Linear(2, hidden, generator: g); ReLU(); Linear(hidden, classes, generator: g) }
}

/// Every parameter's values, flattened, in order: equal arrays mean bit-identical weights.
func weights(_ model: Module) -> [[Float]] { model.parameters().map(\.value.floats) }

/// Collects what a trainer prints.
final class Captured {
    var text = ""
    func callAsFunction(_ s: String) { text += s }
    var sink: (String) -> Void { { [unowned self] in self.text += $0 } }
}

/// A metric whose value in epoch k is `values[k]` (it counts its resets), to script what
/// callbacks see.
struct Scripted: Metric {
    var name = "scripted"
    let values: [Double]
    var resets = 0
    mutating func reset() { resets += 1 }
    mutating func update(outputs: Tensor, targets: Tensor) {}
    func value() -> Double { values[Swift.min(Swift.max(resets - 1, 0), values.count - 1)] }
}

/// A fresh temporary folder, removed when the tests end.
func temporaryFolder() -> String { temporaryTestFolder("train") }
