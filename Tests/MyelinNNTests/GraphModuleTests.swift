import Foundation
import Testing
import MyelinCore
@testable import MyelinNN

private func same(_ a: Tensor, _ b: Tensor) -> Bool {
    a.shape == b.shape && a.dtype == b.dtype && a.doubles.map(\.bitPattern) == b.doubles.map(\.bitPattern)
}

/// Traced and compiled models: replays equal the eager forward bit for bit.
@Suite struct GraphModuleTests {
    /// One cross-entropy step on the batch for the eager model and, with its own optimiser, for the
    /// compiled twin: what the training comparisons repeat.
    static func stepBoth(_ eager: Module, _ optA: Optimizer, _ compiled: CompiledModule, _ optB: Optimizer,
                         _ x: Tensor, _ labels: Tensor) {
        optA.zeroGrad()
        crossEntropy(eager(x), labels: labels).backward()
        optA.step()
        optB.zeroGrad()
        crossEntropy(compiled(x), labels: labels).backward()
        optB.step()
    }

    static func mlp(_ seed: UInt64) -> Module {
        let g = RandomGenerator(seed: seed)
        return Sequential { Linear(20, 32, generator: g); ReLU(); Linear(32, 16, generator: g); Tanh(); Linear(16, 3, generator: g) }
    }

    static func cnn(_ seed: UInt64) -> Module {
        let g = RandomGenerator(seed: seed)
        return Sequential {
            Conv2d(inChannels: 1, outChannels: 4, kernelSize: 3, padding: 1, generator: g); ReLU(); MaxPool2d(kernelSize: 2)
            Conv2d(inChannels: 4, outChannels: 8, kernelSize: 3, padding: 1, generator: g); BatchNorm2d(8); ReLU(); MaxPool2d(kernelSize: 2)
            Flatten(); Linear(8 * 3 * 3, 5, generator: g); LogSoftmax()
        }
    }

    @Test(arguments: ["mlp", "cnn"])
    func tracedReplayIsTheEagerForward(_ kind: String) throws {
        let model = kind == "mlp" ? Self.mlp(1) : Self.cnn(1)
        let x = kind == "mlp" ? Tensor.randn([8, 20], generator: RandomGenerator(seed: 2))
                              : Tensor.randn([8, 1, 12, 12], generator: RandomGenerator(seed: 2))
        model.eval()
        let graph = model.traced(example: x)
        let eager = withoutGrad { model(x) }
        #expect(same(graph([x])[0], eager))
        #expect(Set(graph.constants.map(\.name)).isSuperset(of: Set(model.stateDict().keys.filter { !$0.hasSuffix("num_batches_tracked") })))
        // Saved, loaded, replayed with the model's weights, and with another batch size.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("myelin-module-\(getpid())-\(kind)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try graph.save(to: path)
        let loaded = try Graph.load(path)
        #expect(same(loaded([x])[0], eager))
        let x3 = kind == "mlp" ? Tensor.randn([3, 20], generator: RandomGenerator(seed: 3))
                               : Tensor.randn([3, 1, 12, 12], generator: RandomGenerator(seed: 3))
        #expect(same(loaded([x3], constants: model.stateDict())[0], withoutGrad { model(x3) }))
    }

    @Test func compiledModulesFollowTheWeightsAndTrainTheSame() {
        let eagerModel = Self.mlp(4), compiledModel = Self.mlp(4)
        let compiled = compiledModel.compiled()
        let x = Tensor.randn([16, 20], generator: RandomGenerator(seed: 5))
        let labels = Tensor.randint(0, 3, shape: [16], generator: RandomGenerator(seed: 6))
        let optA = SGD(parameters: eagerModel.parameters(), lr: 0.1, momentum: 0.9)
        let optB = SGD(parameters: compiledModel.parameters(), lr: 0.1, momentum: 0.9)
        for _ in 0..<5 {
            Self.stepBoth(eagerModel, optA, compiled, optB, x, labels)
        }
        for ((_, a), (_, b)) in zip(eagerModel.namedParameters(), compiledModel.namedParameters()) {
            #expect(same(a.value, b.value))
        }
        #expect(same(withoutGrad { compiled(x) }, withoutGrad { compiledModel(x) }))
    }

    @Test(arguments: [false, true])
    func compiledStepsGiveTheEagerLossAndGradients(_ fused: Bool) {
        let eager = Self.mlp(7), compiled = Self.mlp(7)
        let step = compiled.compiledStep(fused: fused) { out, y in crossEntropy(out, labels: y) }
        let optA = Adam(parameters: eager.parameters(), lr: 0.01), optB = Adam(parameters: compiled.parameters(), lr: 0.01)
        for k in 0..<4 {
            let x = Tensor.randn([32, 20], generator: RandomGenerator(seed: UInt64(10 + k)))
            let y = Tensor.randint(0, 3, shape: [32], generator: RandomGenerator(seed: UInt64(20 + k)))
            optA.zeroGrad()
            let la = crossEntropy(eager(x), labels: y)
            la.backward()
            optB.zeroGrad()
            let lb = step(x, y)
            for ((_, a), (_, b)) in zip(eager.namedParameters(), compiled.namedParameters()) {
                if fused {
                    #expect((a.grad! - b.grad!).abs().max().item() <= 1e-6 * Swift.max(1, a.grad!.abs().max().item()))
                } else {
                    #expect(same(a.grad!, b.grad!))
                }
            }
            #expect(fused ? Swift.abs(la.item() - lb.item()) <= 1e-6 : same(la.detached(), lb))
            optA.step()
            optB.step()
        }
    }

    @Test func aTrainingModeTraceThatWouldFreezeStateTraps() async {
        await #expect(processExitsWith: .failure) {
            let model = Sequential { Linear(4, 4); Dropout(0.5) }
            _ = model.traced(example: Tensor.ones([2, 4]))
        }
        await #expect(processExitsWith: .failure) {
            let model = Sequential { Linear(4, 4); BatchNorm1d(4) }
            _ = model.traced(example: Tensor.ones([2, 4]))
        }
    }
}
