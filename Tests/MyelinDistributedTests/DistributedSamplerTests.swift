import Testing
import MyelinCore
import MyelinData
@testable import MyelinDistributed

@Suite struct DistributedSamplerTests {
    @Test(arguments: [(10, 3), (9, 3), (7, 2), (5, 8), (1000, 4)])
    func shardsCoverTheDataAndOverlapOnlyInThePadding(count: Int, size: Int) {
        for epoch in 0..<3 {
            let shards = (0..<size).map { DistributedSampler(count: count, rank: $0, size: size, seed: 5).indices(epoch: epoch) }
            let per = (count + size - 1) / size
            #expect(shards.allSatisfy { $0.count == per })
            let all = shards.flatMap { $0 }
            #expect(Set(all) == Set(0..<count))
            #expect(all.count - Set(all).count == per * size - count)
        }
    }

    @Test func unpaddedShardsSeeEachExampleOnce() {
        let shards = (0..<3).map { DistributedSampler(count: 10, rank: $0, size: 3, shuffle: false, padded: false).indices(epoch: 0) }
        #expect(shards.map(\.count) == [4, 3, 3])
        #expect(shards.flatMap { $0 }.sorted() == Array(0..<10))
        #expect(shards[1] == [1, 4, 7])
    }

    @Test func shardsChangeWithTheEpochAndAgreeAcrossRanks() {
        let a = DistributedSampler(count: 100, rank: 0, size: 2, seed: 1)
        #expect(a.indices(epoch: 0) != a.indices(epoch: 1))
        #expect(a.indices(epoch: 1) == DistributedSampler(count: 100, rank: 0, size: 2, seed: 1).indices(epoch: 1))
        #expect(a.indices(epoch: 0) != DistributedSampler(count: 100, rank: 0, size: 2, seed: 2).indices(epoch: 0))
        // The two ranks' shards of one epoch are disjoint (no padding at 100 / 2).
        let b = DistributedSampler(count: 100, rank: 1, size: 2, seed: 1)
        #expect(Set(a.indices(epoch: 3)).isDisjoint(with: b.indices(epoch: 3)))
    }

    @Test func shardedDatasetFollowsItsEpoch() {
        let data = TensorDataset(inputs: Tensor.arange(0, 12, dtype: .float64).reshape([12, 1]), targets: Tensor.arange(0, 12, dtype: .int64))
        let sampler = DistributedSampler(count: 12, rank: 1, size: 3, seed: 9)
        let shard = ShardedDataset(data, sampler: sampler)
        #expect(shard.count == 4)
        #expect(shard.batch(at: [0, 1, 2, 3]).targets.scalars(as: Int64.self).map { Int($0) } == sampler.indices(epoch: 0))
        shard.epoch = 2
        #expect(shard.example(at: 0).target.scalars(as: Int64.self).map { Int($0) } == [sampler.indices(epoch: 2)[0]])
    }
}
