import Foundation
import Testing
import MyelinCore
@testable import MyelinNN

/// `Embedding(paddingIndex:)` as PyTorch's `padding_idx`: a zero row that gets no gradient.
@Suite struct EmbeddingPaddingTests {
    @Test func thePaddingRowStartsAtZero() {
        let e = Embedding(5, 3, paddingIndex: 2, generator: RandomGenerator(seed: 1))
        #expect(e.paddingIndex == 2)
        let w = e.weight.value.floats
        #expect(Array(w[6..<9]) == [0, 0, 0])
        #expect(w.enumerated().filter { !(6..<9).contains($0.offset) }.allSatisfy { $0.element != 0 })
        // The other rows are the same draws as without padding.
        let plain = Embedding(5, 3, generator: RandomGenerator(seed: 1)).weight.value.floats
        #expect(Array(w[0..<6]) == Array(plain[0..<6]) && Array(w[9...]) == Array(plain[9...]))
        // Negative indices count from the end, as in PyTorch.
        let last = Embedding(4, 2, paddingIndex: -1)
        #expect(last.paddingIndex == 3)
        #expect(Array(last.weight.value.floats[6...]) == [0, 0])
        #expect(Embedding(4, 2).paddingIndex == nil)
    }

    @Test func thePaddingRowGetsNoGradient() {
        let e = Embedding(4, 2, paddingIndex: 0, generator: RandomGenerator(seed: 2))
        let input = Tensor([[0, 1, 0], [3, 1, 0]])
        let out = e(input)
        #expect(out.shape == [2, 3, 2])
        let o = out.floats
        #expect(Array(o[0..<2]) == [0, 0] && Array(o[4..<6]) == [0, 0] && Array(o[10..<12]) == [0, 0])
        // d(sum · weights)/d(row r) = occurrences of r times the weights.
        (out * Tensor([1.0, 10.0])).sum().backward()
        #expect(e.weight.value.grad!.floats == [0, 0, 2, 20, 0, 0, 1, 10])
    }

    /// A padding row made non-zero by hand is what padding positions read, and still gets no gradient.
    @Test func aNonZeroPaddingRowIsReadButNotTrained() {
        let e = Embedding(3, 2, paddingIndex: 1)
        e.weight.assign(Tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]))
        let out = e(Tensor([1, 2, 1]))
        #expect(out.floats == [3, 4, 5, 6, 3, 4])
        out.sum().backward()
        #expect(e.weight.value.grad!.floats == [0, 0, 0, 0, 1, 1])
    }

    /// The traced training step (one graph for forward, loss and backward) keeps the padding row out too.
    @Test func compiledStepLeavesThePaddingRowAlone() {
        let e = Embedding(4, 2, paddingIndex: 3, generator: RandomGenerator(seed: 3))
        let step = e.compiledStep { out, y in (out * y).sum() }
        let x = Tensor([[3, 2], [3, 0]])
        let y = Tensor.ones([2, 2, 2])
        _ = step(x, y)
        #expect(e.weight.value.grad!.floats == [1, 1, 0, 0, 1, 1, 0, 0])
        // And the eager pass agrees.
        let eager = Embedding(4, 2, paddingIndex: 3, generator: RandomGenerator(seed: 3))
        (eager(x) * y).sum().backward()
        #expect(eager.weight.value.grad!.floats == e.weight.value.grad!.floats)
    }

    @Test func anOutOfRangePaddingIndexTraps() async {
        await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Embedding(4, 2, paddingIndex: 4)
        }.map { result in
            let err = String(decoding: result.standardErrorContent, as: UTF8.self)
            #expect(err.contains("[embedding] paddingIndex 4 is out of range for 4 rows"), "\(err)")
        }
        await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Embedding(4, 2, paddingIndex: -5)
        }.map { result in
            let err = String(decoding: result.standardErrorContent, as: UTF8.self)
            #expect(err.contains("[embedding] paddingIndex -5 is out of range for 4 rows"), "\(err)")
        }
    }
}
