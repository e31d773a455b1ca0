import MyelinCore

/// The examples of `dataset` at `indices`, in that order, as PyTorch's `Subset`.
///
/// ```swift
/// let firstHundred = Subset(data, indices: Array(0..<100))
/// ```
public struct Subset: Dataset {
    public let dataset: any Dataset
    public let indices: [Int]

    public init(_ dataset: any Dataset, indices: [Int]) {
        for i in indices {
            require(i >= 0 && i < dataset.count, "[subset] index \(i) is out of range for \(dataset.count) examples")
        }
        self.dataset = dataset
        self.indices = indices
    }

    public var count: Int { indices.count }

    public func example(at index: Int) -> (input: Tensor, target: Tensor) { dataset.example(at: indices[index]) }

    public func batch(at indices: [Int]) -> Batch { dataset.batch(at: indices.map { self.indices[$0] }) }

    /// The subset as tensors (one gather), e.g. to fit a `Standardizer` on the training part.
    public func materialized() -> TensorDataset {
        let b = batch(at: Array(0..<count))
        return TensorDataset(inputs: b.inputs, targets: b.targets)
    }
}

extension Dataset {
    /// All examples as one `TensorDataset` (one gather for tensor-backed datasets).
    public func materialized() -> TensorDataset {
        if let t = self as? TensorDataset { return t }
        let b = batch(at: Array(0..<count))
        return TensorDataset(inputs: b.inputs, targets: b.targets)
    }
}

/// Train, validation and test parts of a dataset.
public struct DataSplits {
    public let train: Subset
    public let validation: Subset
    public let test: Subset

    public init(train: Subset, validation: Subset, test: Subset) {
        self.train = train
        self.validation = validation
        self.test = test
    }
}

/// A seeded random permutation of `0..<n`.
func seededPermutation(_ n: Int, seed: UInt64) -> [Int] {
    Tensor.permutation(n, generator: RandomGenerator(seed: seed)).scalars(as: Int64.self).map { Int($0) }
}

/// Splits `dataset` into disjoint random subsets of the given sizes (which must add up to at most
/// `dataset.count`), as `torch.utils.data.random_split`.
///
/// ```swift
/// let parts = randomSplit(data, counts: [800, 200], seed: 0)
/// ```
public func randomSplit(_ dataset: any Dataset, counts: [Int], seed: UInt64 = 0) -> [Subset] {
    require(counts.allSatisfy { $0 >= 0 }, "[randomSplit] counts must be non-negative, got \(counts)")
    require(counts.reduce(0, +) <= dataset.count,
                 "[randomSplit] counts \(counts) add up to \(counts.reduce(0, +)), more than the \(dataset.count) examples")
    let order = seededPermutation(dataset.count, seed: seed)
    var start = 0
    return counts.map { c in
        defer { start += c }
        return Subset(dataset, indices: Array(order[start..<start + c]))
    }
}

/// Splits by fractions (adding up to 1, within 1e-6); sizes are rounded down and the remainder
/// goes to the first parts, one each, so every example lands in exactly one part.
public func randomSplit(_ dataset: any Dataset, fractions: [Double], seed: UInt64 = 0) -> [Subset] {
    randomSplit(dataset, counts: countsForFractions(fractions, total: dataset.count, op: "randomSplit"), seed: seed)
}

func countsForFractions(_ fractions: [Double], total: Int, op: String) -> [Int] {
    require(fractions.allSatisfy { $0 >= 0 } && abs(fractions.reduce(0, +) - 1) < 1e-6,
                 "[\(op)] fractions must be non-negative and add up to 1, got \(fractions)")
    var counts = fractions.map { Int(($0 * Double(total)).rounded(.down)) }
    var left = total - counts.reduce(0, +)
    var i = 0
    while left > 0 && !counts.isEmpty {
        if fractions[i % counts.count] > 0 { counts[i % counts.count] += 1; left -= 1 }
        i += 1
    }
    return counts
}

/// Integer class labels of a dataset for stratification: int targets `[n]` (or `[N, 1]`).
func classLabels(of dataset: any Dataset, op: String) -> [Int] {
    let targets: Tensor
    if let t = dataset as? TensorDataset { targets = t.targets }
    else if let t = dataset as? TabularDataset { targets = t.targets }
    else { targets = dataset.batch(at: Array(0..<dataset.count)).targets }
    require(targets.dtype.isInteger && targets.count == dataset.count,
                 "[\(op)] stratified splitting needs integer class targets [N], got \(targets.dtype) \(targets.shape)")
    return targets.ints
}

/// Per-class seeded shuffles, then each class gives each part its share: part sizes are exactly
/// `targets` and every class is within one example of its proportional share (largest remainders).
func stratifiedIndices(labels: [Int], targets: [Int], seed: UInt64) -> [[Int]] {
    var byClass: [Int: [Int]] = [:]
    for (i, c) in labels.enumerated() { byClass[c, default: []].append(i) }
    let classes = byClass.keys.sorted()
    let generator = RandomGenerator(seed: seed)
    var remaining: [[Int]] = classes.map { c in
        let members = byClass[c]!
        return Tensor.permutation(members.count, generator: generator).ints.map { members[$0] }
    }
    let total = Double(labels.count)
    var parts = [[Int]](repeating: [], count: targets.count)
    // Fill the parts after the first (validation, test) by quota; the first (train) takes the rest.
    for p in stride(from: targets.count - 1, through: 1, by: -1) {
        let quotas = classes.indices.map { Double(byClass[classes[$0]]!.count) * Double(targets[p]) / total }
        var take = quotas.enumerated().map { Swift.min(Int($0.element.rounded(.down)), remaining[$0.offset].count) }
        var short = targets[p] - take.reduce(0, +)
        let order = classes.indices.sorted { (quotas[$0] - quotas[$0].rounded(.down), -$0) > (quotas[$1] - quotas[$1].rounded(.down), -$1) }
        while short > 0 {
            var progressed = false
            for k in order where short > 0 && take[k] < remaining[k].count {
                take[k] += 1
                short -= 1
                progressed = true
            }
            if !progressed { break }
        }
        for k in classes.indices {
            parts[p] += remaining[k].suffix(take[k])
            remaining[k].removeLast(take[k])
        }
    }
    parts[0] = remaining.flatMap { $0 }
    // Shuffle each part so classes are interleaved.
    return parts.map { part in
        let order = Tensor.permutation(part.count, generator: generator).ints
        return order.map { part[$0] }
    }
}

/// Train/test split (`test` is the fraction held out), optionally stratified by integer class targets.
///
/// ```swift
/// let (train, test) = trainTestSplit(data, test: 0.2, stratified: true, seed: 0)
/// ```
public func trainTestSplit(_ dataset: any Dataset, test: Double = 0.2, stratified: Bool = false,
                           seed: UInt64 = 0) -> (train: Subset, test: Subset) {
    let s = trainValidationTestSplit(dataset, validation: 0, test: test, stratified: stratified, seed: seed)
    return (s.train, s.test)
}

/// Train/validation/test split by fractions; `stratified` keeps the class proportions of int64
/// targets in every part.
///
/// ```swift
/// let splits = trainValidationTestSplit(data, validation: 0.1, test: 0.2, stratified: true, seed: 0)
/// let loader = DataLoader(splits.train, batchSize: 32, shuffle: true)
/// ```
public func trainValidationTestSplit(_ dataset: any Dataset, validation: Double, test: Double,
                                     stratified: Bool = false, seed: UInt64 = 0) -> DataSplits {
    require(validation >= 0 && test >= 0 && validation + test <= 1,
                 "[split] validation \(validation) and test \(test) must be non-negative and add up to at most 1")
    let n = dataset.count
    let nTest = Int((test * Double(n)).rounded())
    let nValidation = Swift.min(n - nTest, Int((validation * Double(n)).rounded()))
    let nTrain = n - nTest - nValidation
    let parts: [[Int]]
    if stratified {
        parts = stratifiedIndices(labels: classLabels(of: dataset, op: "split"), targets: [nTrain, nValidation, nTest], seed: seed)
    } else {
        let order = seededPermutation(n, seed: seed)
        parts = [Array(order[0..<nTrain]), Array(order[nTrain..<nTrain + nValidation]), Array(order[(nTrain + nValidation)...])]
    }
    return DataSplits(train: Subset(dataset, indices: parts[0]), validation: Subset(dataset, indices: parts[1]),
                      test: Subset(dataset, indices: parts[2]))
}
