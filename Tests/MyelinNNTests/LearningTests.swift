import Foundation
import Testing
@testable import MyelinNN
import MyelinCore

/// Small problems that prove the pieces learn together: layers, losses, optimisers, autograd.
@Suite struct LearningTests {
    static let xorInputs = Tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    static let xorLabels = Tensor([0.0, 1.0, 1.0, 0.0]).reshape([4, 1])

    /// Full-batch training; returns the final loss.
    @discardableResult
    static func fit(_ model: Module, _ opt: Optimizer, steps: Int, _ loss: () -> Tensor) -> Double {
        var last = 0.0
        for _ in 0..<steps {
            let l = loss()
            opt.zeroGrad()
            l.backward()
            opt.step()
            last = l.item()
        }
        return last
    }

    @Test func aSingleLinearLayerCannotFitXOR() {
        let g = RandomGenerator(seed: 1)
        let model = Sequential { Linear(2, 1, generator: g); Sigmoid() }
        let opt = Adam(parameters: model.parameters(), lr: 0.05)
        Self.fit(model, opt, steps: 2000) { binaryCrossEntropy(model(Self.xorInputs), Self.xorLabels) }
        let predictions = (model(Self.xorInputs) .> 0.5).to(.float32)
        let accuracy = (predictions .== Self.xorLabels).to(.float32).mean().item()
        // A line separates at most 3 of the 4 points.
        #expect(accuracy <= 0.75)
    }

    @Test func aTwoLayerMLPFitsXOR() {
        let g = RandomGenerator(seed: 2)
        let model = Sequential { Linear(2, 8, generator: g); Tanh(); Linear(8, 1, generator: g) }
        let opt = Adam(parameters: model.parameters(), lr: 0.05)
        let loss = Self.fit(model, opt, steps: 500) { binaryCrossEntropyWithLogits(model(Self.xorInputs), Self.xorLabels) }
        let predictions = (model(Self.xorInputs) .> 0).to(.float32)
        #expect((predictions .== Self.xorLabels).all().item() == 1, "loss \(loss)")
    }

    /// Two concentric noisy circles, as scikit-learn's make_circles(noise: 0.05, factor: 0.5).
    static func circles(_ n: Int, generator g: RandomGenerator) -> (Tensor, Tensor) {
        let angles = Tensor.uniform([n], low: 0, high: 2 * Double.pi, dtype: .float64, generator: g)
        let labels = Tensor.randint(0, 2, shape: [n], generator: g).to(.float64)
        let radius = 1 - labels * 0.5
        let points = Tensor.stack([angles.cos() * radius, angles.sin() * radius], axis: 1)
        let noisy = points + Tensor.normal([n, 2], std: 0.05, dtype: .float64, generator: g)
        return (noisy.to(.float32), labels.to(.float32).reshape([n, 1]))
    }

    @Test func anMLPSeparatesTwoCircles() {
        let g = RandomGenerator(seed: 3)
        let (x, y) = Self.circles(1000, generator: g)
        let (testX, testY) = Self.circles(500, generator: g)
        let model = Sequential { Linear(2, 16, generator: g); ReLU(); Linear(16, 16, generator: g); ReLU(); Linear(16, 1, generator: g) }
        let opt = Adam(parameters: model.parameters(), lr: 0.01)
        Self.fit(model, opt, steps: 400) { binaryCrossEntropyWithLogits(model(x), y) }
        let accuracy = withoutGrad { ((model(testX) .> 0).to(.float32) .== testY).to(.float32).mean().item() }
        #expect(accuracy >= 0.99, "test accuracy \(accuracy)")
    }

    @Test func linearRegressionRecoversSlopeAndIntercept() {
        let g = RandomGenerator(seed: 4)
        let x = Tensor.uniform([200, 1], low: -2, high: 2, generator: g)
        let y = x * 3 - 1.5 + Tensor.normal([200, 1], std: 0.1, generator: g)
        let model = Linear(1, 1, generator: g)
        let opt = SGD(parameters: model.parameters(), lr: 0.1)
        Self.fit(model, opt, steps: 300) { mseLoss(model(x), y) }
        #expect(Swift.abs(model.weight.value.item() - 3) < 0.05, "slope \(model.weight.value.item())")
        #expect(Swift.abs(model.bias!.value.item() + 1.5) < 0.05, "intercept \(model.bias!.value.item())")
    }

    /// The README's training example, as written there, on random data.
    @Test func readmeExampleRuns() throws {
        let batches = (0..<3).map { _ in (Tensor.uniform([16, 784]), Tensor.randint(0, 10, shape: [16])) }
        let model = Sequential {
            Linear(784, 512); ReLU(); Dropout(0.2)
            Linear(512, 10)
        }
        let opt = Adam(parameters: model.parameters(), lr: 1e-3)
        let scheduler = CosineAnnealingLR(optimizer: opt, tMax: 10)
        for (x, y) in batches {
            let loss = crossEntropy(model(x), labels: y)
            opt.zeroGrad()
            loss.backward()
            clipGradNorm(model.parameters(), maxNorm: 1)
            opt.step()
        }
        scheduler.step()
        #expect(model.summary(inputShape: [1, 784]).contains("Total params: 407,050"))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("readme-\(UUID()).safetensors").path
        try model.save(to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try Safetensors.load(path).tensors.count == 4)
    }
}
