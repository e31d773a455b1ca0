import MyelinCore
import MyelinData

/// Which examples each rank trains on, with the semantics of PyTorch's `DistributedSampler`: each
/// epoch, one order of the whole data set drawn from `seed + epoch` (the same on every rank),
/// padded by repeating its first examples to a multiple of the ranks (when `padded`), and dealt
/// out round robin: rank r takes positions r, r + size, r + 2·size... Shards are disjoint apart
/// from the padding, cover the data, have equal sizes, and change with the epoch.
///
/// Without padding (for validation), the first `count % size` ranks hold one more example, and
/// every example is seen exactly once.
///
/// ```swift
/// let sampler = DistributedSampler(count: 60_000, rank: comm.rank, size: comm.size, seed: 42)
/// let mine = sampler.indices(epoch: 3)              // 30,000 indices on each of 2 ranks
/// ```
public struct DistributedSampler: Sendable, Equatable {
    public let count: Int
    public let rank: Int
    public let size: Int
    public let seed: UInt64
    public let shuffle: Bool
    public let padded: Bool

    public init(count: Int, rank: Int, size: Int, seed: UInt64 = 0, shuffle: Bool = true, padded: Bool = true) {
        require(size > 0 && (0..<size).contains(rank), "[distributedSampler] rank \(rank) is not in 0..<\(size)")
        require(count >= 0, "[distributedSampler] count must be >= 0, got \(count)")
        self.count = count
        self.rank = rank
        self.size = size
        self.seed = seed
        self.shuffle = shuffle
        self.padded = padded
    }

    /// The number of examples on this rank each epoch.
    public var samplesPerRank: Int {
        padded ? (count + size - 1) / size : count / size + (rank < count % size ? 1 : 0)
    }

    /// This rank's examples for `epoch`, in the order they are used.
    public func indices(epoch: Int) -> [Int] {
        guard count > 0 else { return [] }
        var order: [Int]
        if shuffle {
            let g = RandomGenerator(seed: seed &+ UInt64(truncatingIfNeeded: epoch))
            order = Tensor.permutation(count, generator: g).scalars(as: Int64.self).map { Int($0) }
        } else {
            order = Array(0..<count)
        }
        if padded {
            let total = samplesPerRank * size
            var i = 0
            while order.count < total {
                order.append(order[i % count])
                i += 1
            }
        }
        return stride(from: rank, to: order.count, by: size).map { order[$0] }
    }
}

/// One rank's shard of a data set: the examples `sampler` gives this rank for the current
/// `epoch`. Load it with a `DataLoader` without shuffling (the sampler shuffles); `DataParallel`
/// moves the epoch forward at each epoch's start.
///
/// ```swift
/// let shard = ShardedDataset(train, sampler: DistributedSampler(count: train.count, rank: 0, size: 2))
/// let loader = DataLoader(shard, batchSize: 64)
/// shard.epoch = 1                                   // the next epoch's shard
/// ```
public final class ShardedDataset: Dataset, @unchecked Sendable {
    public let base: any Dataset
    public let sampler: DistributedSampler
    /// The indices into `base` for the current epoch.
    public private(set) var indices: [Int]
    /// The epoch whose shard this is; setting it draws that epoch's indices.
    public var epoch: Int {
        didSet { if epoch != oldValue { indices = sampler.indices(epoch: epoch) } }
    }

    public init(_ base: any Dataset, sampler: DistributedSampler, epoch: Int = 0) {
        require(sampler.count == base.count,
                     "[shardedDataset] the sampler counts \(sampler.count) examples, the data set has \(base.count)")
        self.base = base
        self.sampler = sampler
        self.epoch = epoch
        indices = sampler.indices(epoch: epoch)
    }

    public var count: Int { indices.count }

    public func example(at index: Int) -> (input: Tensor, target: Tensor) {
        base.example(at: indices[index])
    }

    public func batch(at indices: [Int]) -> Batch {
        base.batch(at: indices.map { self.indices[$0] })
    }
}
