import Dispatch
import MyelinCore

/// Mini-batches over a dataset: optional seeded shuffling each epoch, optional drop-last, custom
/// collation, batch transforms (augmentation) and background prefetching.
///
/// Iterating the loader runs one epoch; iterating again starts the next (and reshuffles).
///
/// ```swift
/// let loader = DataLoader(data, batchSize: 128, shuffle: true, seed: 0, prefetch: true)
///     .augmenting(Compose([RandomCrop(size: 28, padding: 2), Normalize(mean: [0.1307], std: [0.3081])]))
/// for batch in loader { ... batch.inputs, batch.targets ... }
/// ```
///
/// Randomness: at the start of each epoch (when iteration begins) the loader draws from `generator`
/// the epoch's order (if shuffling) and then one 64-bit augmentation seed; batch `i`'s augmentation
/// uses its own generator seeded from that seed and `i`. So `generator` is only touched between
/// epochs: saving `generator.state` after an epoch and restoring it later gives the same following
/// epochs bit for bit, and prefetching (which computes batch `i + 1` on another thread while batch
/// `i` is used) gives exactly the batches of the plain loader.
public final class DataLoader: Sequence {
    public let dataset: any Dataset
    public let batchSize: Int
    public let shuffle: Bool
    public let dropLast: Bool
    /// Draws each epoch's order and augmentation seed; checkpoint it to resume bit for bit.
    public let generator: RandomGenerator
    /// Applied to each batch after it is gathered (normalisation, custom augmentation).
    public var transform: ((Batch) -> Batch)?
    /// Builds a batch from examples instead of `dataset.batch(at:)` (as PyTorch's `collate_fn`).
    public var collate: (([(input: Tensor, target: Tensor)]) -> Batch)?
    /// Computes the next batch on a background thread while the current one is used.
    public var prefetch: Bool
    /// Seeded transform of each batch's inputs (applied after `transform`), e.g. from `augmenting(_:)`.
    public var batchTransform: (any BatchTransform)?

    public init(_ dataset: any Dataset, batchSize: Int, shuffle: Bool = false, dropLast: Bool = false,
                seed: UInt64 = 0, transform: ((Batch) -> Batch)? = nil,
                collate: (([(input: Tensor, target: Tensor)]) -> Batch)? = nil, prefetch: Bool = false) {
        require(batchSize > 0, "[dataLoader] batch size must be positive, got \(batchSize)")
        self.dataset = dataset
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.dropLast = dropLast
        self.generator = RandomGenerator(seed: seed)
        self.transform = transform
        self.collate = collate
        self.prefetch = prefetch
    }

    /// Sets `batchTransform` (random augmentation of the inputs, seeded from the loader's generator)
    /// and returns the loader.
    @discardableResult
    public func augmenting(_ transform: any BatchTransform) -> DataLoader {
        batchTransform = transform
        return self
    }

    /// Number of batches in one epoch.
    public var count: Int {
        dropLast ? dataset.count / batchSize : (dataset.count + batchSize - 1) / batchSize
    }

    /// Draws one epoch's order and augmentation seed from `generator`.
    func beginEpoch() -> (order: [Int], seed: UInt64) {
        let n = dataset.count
        let order: [Int] = shuffle
            ? Tensor.permutation(n, generator: generator).scalars(as: Int64.self).map { Int($0) }
            : Array(0..<n)
        let words = Tensor.randint(0, 1 << 32, shape: [2], generator: generator).scalars(as: Int64.self)
        return (order, UInt64(words[0]) << 32 | UInt64(words[1]))
    }

    public func makeIterator() -> AnyIterator<Batch> {
        let (order, epochSeed) = beginEpoch()
        let n = dataset.count
        let batches = count, size = batchSize, data = dataset
        let transform = transform, collate = collate, augment = batchTransform
        let make: (Int) -> Batch = { i in
            let start = i * size
            let indices = Array(order[start..<Swift.min(start + size, n)])
            var batch = collate.map { $0(indices.map { data.example(at: $0) }) } ?? data.batch(at: indices)
            if let transform { batch = transform(batch) }
            if let augment {
                let g = RandomGenerator(seed: epochSeed ^ (UInt64(i) &* 0x9E37_79B9_7F4A_7C15))
                batch.inputs = augment(batch.inputs, generator: g)
            }
            return batch
        }
        if prefetch && batches > 1 {
            let prefetcher = Prefetcher(count: batches, make: make)
            return AnyIterator { prefetcher.next() }
        }
        var next = 0
        return AnyIterator {
            guard next < batches else { return nil }
            defer { next += 1 }
            return make(next)
        }
    }
}

/// Computes batch `i + 1` on a serial background queue while batch `i` is consumed.
// @unchecked: `nextIndex` and `pending` are touched only by the thread iterating the loader; `make` runs only on the serial queue.
final class Prefetcher: @unchecked Sendable {
    // @unchecked: `batch` is written on the queue before `done` is signalled and read only after waiting on `done`.
    private final class Slot: @unchecked Sendable {
        var batch: Batch?
        let done = DispatchSemaphore(value: 0)
    }

    private let total: Int
    private let make: (Int) -> Batch
    private var nextIndex = 0
    private var pending: Slot?
    private let queue = DispatchQueue(label: "myelin.dataloader.prefetch")

    init(count: Int, make: @escaping (Int) -> Batch) {
        total = count
        self.make = make
    }

    private func start(_ i: Int) -> Slot {
        let slot = Slot()
        // The dataset, collate and transforms it captures need not be Sendable: the serial queue runs
        // one call at a time, and the iterating thread does not call it while prefetching.
        nonisolated(unsafe) let make = make
        queue.async {
            slot.batch = make(i)
            slot.done.signal()
        }
        return slot
    }

    func next() -> Batch? {
        guard nextIndex < total else { return nil }
        let slot = pending ?? start(nextIndex)
        slot.done.wait()
        nextIndex += 1
        pending = nextIndex < total ? start(nextIndex) : nil
        return slot.batch
    }

    deinit {
        // Let an in-flight batch finish before the closure's captures go away.
        pending?.done.wait()
    }
}
