import MyelinCore

/// Mini-batches over a dataset: optional seeded shuffling each epoch, optional drop-last.
///
/// Iterating the loader runs one epoch; iterating again starts the next (and reshuffles).
///
/// ```swift
/// let loader = DataLoader(data, batchSize: 128, shuffle: true, seed: 0)
/// for batch in loader { ... batch.inputs, batch.targets ... }
/// ```
public final class DataLoader: Sequence {
    public let dataset: any Dataset
    public let batchSize: Int
    public let shuffle: Bool
    public let dropLast: Bool
    /// Draws each epoch's order when shuffling; checkpoint it to resume bit for bit.
    public let generator: RandomGenerator
    /// Applied to each batch after it is gathered (augmentation, normalisation).
    public var transform: ((Batch) -> Batch)?

    public init(_ dataset: any Dataset, batchSize: Int, shuffle: Bool = false, dropLast: Bool = false,
                seed: UInt64 = 0, transform: ((Batch) -> Batch)? = nil) {
        precondition(batchSize > 0, "[DataLoader] batch size must be positive, got \(batchSize)")
        self.dataset = dataset
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.dropLast = dropLast
        self.generator = RandomGenerator(seed: seed)
        self.transform = transform
    }

    /// Number of batches in one epoch.
    public var count: Int {
        dropLast ? dataset.count / batchSize : (dataset.count + batchSize - 1) / batchSize
    }

    public func makeIterator() -> AnyIterator<Batch> {
        let n = dataset.count
        let order: [Int] = shuffle
            ? Tensor.permutation(n, generator: generator).scalars(as: Int64.self).map { Int($0) }
            : Array(0..<n)
        let batches = count, size = batchSize, data = dataset, transform = transform
        var next = 0
        return AnyIterator {
            guard next < batches else { return nil }
            let start = next * size
            next += 1
            let batch = data.batch(at: Array(order[start..<Swift.min(start + size, n)]))
            return transform.map { $0(batch) } ?? batch
        }
    }
}
