import Foundation
import Testing
import MyelinTestSupport
@testable import MyelinCore

/// indexAdd (Tensor+IndexAdd.swift) at sizes where its columns are split across threads, against
/// scatterAdd with the index broadcast over the columns (the loop indexSelect's gradient used
/// before): the same bits, since both sum each element in the order of the indices. The small
/// cases against PyTorch are fixtures in CopyingOpsTests.
@Suite struct IndexAddTests {

    /// indexAdd along `axis` of `base`, and the same sum as a scatterAdd.
    static func bothWays(_ base: Tensor, axis: Int, _ indices: Tensor, _ source: Tensor) -> (Tensor, Tensor) {
        var shape = [Int](repeating: 1, count: source.rank)
        shape[axis] = indices.count
        let index = indices.reshape(shape).expand(source.shape)
        return (base.indexAdd(axis: axis, indices: indices, source: source), base.scatterAdd(axis: axis, index: index, source: source))
    }

    @Test(arguments: [DType.float32, .float64])
    func embeddingSizedTablesEqualTheScatter(dtype: DType) {
        let g = RandomGenerator(seed: 5)
        // lstm_train's table gradient: 2,048 tokens of a 65-entry vocabulary, 1,024 columns.
        let tokens = Tensor.randint(0, 65, shape: [2048], generator: g)
        let source = Tensor.randn([2048, 1024], dtype: dtype, generator: g)
        let base = Tensor.randn([65, 1024], dtype: dtype, generator: g)
        let (added, scattered) = ThreadCountGuard.comparing { Self.bothWays(base, axis: 0, tokens, source) }
        #expect(added.shape == [65, 1024] && added.dtype == dtype)
        let same = bitPatterns(added) == bitPatterns(scattered)
        #expect(same)
    }

    @Test func middleAxisWithNegativeIndicesEqualsTheScatter() {
        let g = RandomGenerator(seed: 6)
        let indices = Tensor.randint(-7, 7, shape: [300], generator: g)
        let source = Tensor.randn([3, 300, 200], generator: g)
        // A transposed base: the result is a contiguous copy with the sums added.
        let base = Tensor.randn([3, 200, 7], generator: g).transposed(1, 2)
        let (added, scattered) = ThreadCountGuard.comparing { Self.bothWays(base, axis: 1, indices, source) }
        let same = bitPatterns(added) == bitPatterns(scattered)
        #expect(same)
        #expect(added.isContiguous)
    }

    @Test func oneThreadAndTwoGiveTheSameBits() {
        let g = RandomGenerator(seed: 7)
        let tokens = Tensor.randint(0, 9, shape: [4000], generator: g)
        let source = Tensor.randn([4000, 96], generator: g)
        let base = Tensor.zeros([9, 96])
        let (one, two) = ThreadCountGuard.changing {
            let saved = Threading.count
            defer { Threading.count = saved }
            Threading.count = 1
            let one = base.indexAdd(axis: 0, indices: tokens, source: source)
            Threading.count = 2
            return (one, base.indexAdd(axis: 0, indices: tokens, source: source))
        }
        let same = bitPatterns(one) == bitPatterns(two)
        #expect(same)
    }

    @Test func embeddingGradientsAddEachTokensRow() {
        // A lookup's gradient is the upstream rows added at each token, repeats included.
        let weight = Tensor([[1.0, 2], [3, 4], [5, 6]]).requiringGrad()
        let picked = weight.indexSelect(axis: 0, indices: Tensor([2, 0, 2, 2]))
        (picked * Tensor([[1.0, 10], [100, 1000], [0.5, 0.25], [2, 4]])).sum().backward()
        #expect(weight.grad!.doubles == [100, 1000, 0, 0, 3.5, 14.25])
    }

    @Test func tracedGraphsSaveAndReplayIndexAdd() throws {
        let g = RandomGenerator(seed: 8)
        let indices = Tensor([4, 1, 4, 0])
        let f: ([Tensor]) -> [Tensor] = { [$0[0].indexAdd(axis: 0, indices: indices, source: $0[1]).tanh()] }
        let x = Tensor.randn([5, 3], generator: g), s = Tensor.randn([4, 3], generator: g)
        let graph = Graph.trace(inputs: [x, s]) { f($0) }
        #expect(graph.description.contains("indexAdd"))
        let path = temporaryTestPath("index-add-graph")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try graph.save(to: path)
        let loaded = try Graph.load(path)
        let replayed = bitPatterns(loaded([x, s])[0]) == bitPatterns(f([x, s])[0])
        #expect(replayed)
    }
}
