import Foundation
import Testing
import MyelinCore
@testable import MyelinNN

private func same(_ a: Tensor, _ b: Tensor) -> Bool {
    a.shape == b.shape && a.dtype == b.dtype && a.doubles.map(\.bitPattern) == b.doubles.map(\.bitPattern)
}

/// Traced and compiled models whose graphs are symbolic in the batch size: one graph for every batch.
@Suite struct GraphModuleSymbolicTests {
    @Test(arguments: ["mlp", "cnn"])
    func oneGraphServesEveryBatchSize(_ kind: String) throws {
        let model = kind == "mlp" ? GraphModuleTests.mlp(11) : GraphModuleTests.cnn(11)
        model.eval()
        func batch(_ n: Int) -> Tensor {
            Tensor.randn(kind == "mlp" ? [n, 20] : [n, 1, 12, 12], generator: RandomGenerator(seed: UInt64(40 + n)))
        }
        let graph = model.traced(example: batch(4))
        #expect(graph.hasSymbolicBatch && graph.tracedBatchSize == 4)
        #expect(graph.description.hasPrefix(kind == "mlp" ? "%0 = input float32[N, 20]\n" : "%0 = input float32[N, 1, 12, 12]\n"))
        #expect(graph.valueType(graph.outputs[0]).description == (kind == "mlp" ? "float32[N, 3]" : "float32[N, 5]"))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("myelin-symbolic-module-\(getpid())-\(kind)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try graph.save(to: path)
        let loaded = try Graph.load(path)
        #expect(loaded.description == graph.description)
        let compiled = model.compiled()
        for n in [1, 3, 7] {
            let x = batch(n)
            let eager = withoutGrad { model(x) }
            #expect(same(graph([x])[0], eager), "batch \(n)")
            #expect(same(loaded([x])[0], eager), "batch \(n), loaded")
            #expect(same(withoutGrad { compiled(x) }, eager), "batch \(n), compiled")
        }
        #expect(compiled.graphs.count == 1)
    }

    @Test func trainingThroughOneCompiledGraphAtChangingBatchSizes() {
        let eagerModel = GraphModuleTests.mlp(16), compiledModel = GraphModuleTests.mlp(16)
        let compiled = compiledModel.compiled()
        let optA = SGD(parameters: eagerModel.parameters(), lr: 0.1, momentum: 0.9)
        let optB = SGD(parameters: compiledModel.parameters(), lr: 0.1, momentum: 0.9)
        for (k, n) in [3, 7, 1, 5].enumerated() {
            let x = Tensor.randn([n, 20], generator: RandomGenerator(seed: UInt64(50 + k)))
            let labels = Tensor.randint(0, 3, shape: [n], generator: RandomGenerator(seed: UInt64(60 + k)))
            GraphModuleTests.stepBoth(eagerModel, optA, compiled, optB, x, labels)
        }
        for ((name, a), (_, b)) in zip(eagerModel.namedParameters(), compiledModel.namedParameters()) {
            #expect(same(a.value, b.value), "\(name)")
        }
        #expect(compiled.graphs.count == 1)
    }

    @Test func aForwardFoldingTheBatchIsTracedPerShape() {
        let model = Sequential { Linear(4, 3, generator: RandomGenerator(seed: 12)); Flatten(startAxis: 0) }
        let x2 = Tensor.randn([2, 4], generator: RandomGenerator(seed: 13)), x5 = Tensor.randn([5, 4], generator: RandomGenerator(seed: 14))
        let graph = model.traced(example: x2)
        #expect(!graph.hasSymbolicBatch && graph.description.hasPrefix("%0 = input float32[2, 4]\n"))
        let compiled = model.compiled()
        #expect(same(withoutGrad { compiled(x2) }, withoutGrad { model(x2) }))
        #expect(same(withoutGrad { compiled(x5) }, withoutGrad { model(x5) }))
        #expect(compiled.graphs.count == 2)
        // Asked for fixed shapes, a forward that follows the batch gets them.
        #expect(!GraphModuleTests.mlp(15).traced(example: Tensor.zeros([3, 20]), symbolicBatch: false).hasSymbolicBatch)
    }
}
