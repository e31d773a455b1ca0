import Testing
import MyelinCore
@testable import MyelinData

@Suite struct DataLoaderTests {
    @Test func batchesCoverEveryExampleOnce() {
        let x = Tensor.arange(10).reshape([10, 1]), y = Tensor.arange(10)
        let loader = DataLoader(TensorDataset(inputs: x, targets: y), batchSize: 4, shuffle: true, seed: 3)
        var seen: [Int64] = []
        var sizes: [Int] = []
        for b in loader {
            sizes.append(b.inputs.shape[0])
            seen += b.targets.scalars(as: Int64.self)
            #expect(b.inputs.reshape([-1]).scalars(as: Int64.self) == b.targets.scalars(as: Int64.self))
        }
        #expect(sizes == [4, 4, 2])
        #expect(seen.sorted() == Array(0..<10))
        #expect(seen != Array(0..<10))
        let dropping = DataLoader(TensorDataset(inputs: x, targets: y), batchSize: 4, dropLast: true)
        #expect(dropping.count == 2 && Array(dropping).count == 2)
    }
}
