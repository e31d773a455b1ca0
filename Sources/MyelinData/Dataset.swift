import MyelinCore

/// A batch of examples: inputs stacked along a new first axis, and their targets.
public struct Batch: Sendable {
    /// Inputs, `[batch, ...]`.
    public var inputs: Tensor
    /// Targets, `[batch, ...]` (class labels as int64 `[batch]`, regression targets as float).
    public var targets: Tensor

    public init(inputs: Tensor, targets: Tensor) {
        self.inputs = inputs
        self.targets = targets
    }
}

/// A finite, indexable collection of (input, target) examples, as PyTorch's map-style `Dataset`.
///
/// Conformers give `count` and `example(at:)`; `batch(at:)` stacks examples by default and may be
/// overridden with a faster gather (as `TensorDataset` does).
///
/// ```swift
/// struct Squares: Dataset {
///     var count: Int { 100 }
///     func example(at i: Int) -> (input: Tensor, target: Tensor) {
///         (Tensor([Float(i)]), Tensor([Float(i * i)]))
///     }
/// }
/// ```
public protocol Dataset {
    /// Number of examples.
    var count: Int { get }
    /// The example at `index` (0 ..< count).
    func example(at index: Int) -> (input: Tensor, target: Tensor)
    /// The examples at `indices`, stacked along a new first axis.
    func batch(at indices: [Int]) -> Batch
}

extension Dataset {
    public func batch(at indices: [Int]) -> Batch {
        let examples = indices.map { example(at: $0) }
        return Batch(inputs: Tensor.stack(examples.map(\.input)), targets: Tensor.stack(examples.map(\.target)))
    }
}

/// A dataset over tensors whose first axis indexes examples, as PyTorch's `TensorDataset`.
///
/// ```swift
/// let data = TensorDataset(inputs: Tensor.uniform([100, 4]), targets: Tensor.randint(0, 3, shape: [100]))
/// ```
public struct TensorDataset: Dataset, Sendable {
    public let inputs: Tensor
    public let targets: Tensor

    public init(inputs: Tensor, targets: Tensor) {
        require(inputs.rank >= 1 && targets.rank >= 1 && inputs.shape[0] == targets.shape[0],
                     "[tensorDataset] inputs \(inputs.shape) and targets \(targets.shape) must have the same first dimension")
        self.inputs = inputs
        self.targets = targets
    }

    public var count: Int { inputs.shape[0] }

    public func example(at index: Int) -> (input: Tensor, target: Tensor) {
        (inputs[index], targets[index])
    }

    /// One gather per tensor instead of `indices.count` copies.
    public func batch(at indices: [Int]) -> Batch {
        let idx = Tensor(shape: [indices.count], scalars: indices.map(Int64.init))
        return Batch(inputs: inputs.indexSelect(axis: 0, indices: idx), targets: targets.indexSelect(axis: 0, indices: idx))
    }
}
