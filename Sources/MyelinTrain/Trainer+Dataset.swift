import Foundation
import MyelinCore
import MyelinNN
import MyelinData

/// Some examples of a dataset, by index (validation splits).
struct IndexedSubset: Dataset {
    let base: any Dataset
    let indices: [Int]
    var count: Int { indices.count }
    func example(at index: Int) -> (input: Tensor, target: Tensor) { base.example(at: indices[index]) }
    func batch(at positions: [Int]) -> Batch { base.batch(at: positions.map { indices[$0] }) }
}

extension Trainer {
    /// Keras's `fit(x, y, batch_size=, epochs=, validation_split=, shuffle=)` on a dataset: the last
    /// `validationSplit` fraction of the examples (taken before any shuffling, as Keras does) is
    /// held out for validation, unless `validationData` is given; training batches are shuffled
    /// each epoch from `seed`.
    ///
    /// ```swift
    /// try trainer.fit(TensorDataset(inputs: x, targets: y), batchSize: 64, epochs: 10, validationSplit: 0.2)
    /// ```
    @discardableResult
    public func fit(_ dataset: any Dataset, batchSize: Int = 32, epochs: Int = 1, validationSplit: Double = 0,
                    validationData: (any Dataset)? = nil, shuffle: Bool = true, seed: UInt64 = 0,
                    initialEpoch: Int = 0) throws -> History {
        let (train, validation) = try Self.split(dataset, validationSplit: validationSplit, validationData: validationData)
        return try fit(DataLoader(train, batchSize: batchSize, shuffle: shuffle, seed: seed), epochs: epochs,
                       validation: validation.map { DataLoader($0, batchSize: batchSize) }, initialEpoch: initialEpoch)
    }

    /// The training and validation parts of `fit`'s dataset arguments.
    static func split(_ dataset: any Dataset, validationSplit: Double,
                      validationData: (any Dataset)?) throws -> (any Dataset, (any Dataset)?) {
        guard validationSplit >= 0 && validationSplit < 1 else {
            throw TrainerError("validationSplit must be in [0, 1), got \(validationSplit)")
        }
        if let validationData { return (dataset, validationData) }
        if validationSplit == 0 { return (dataset, nil) }
        let n = dataset.count
        let cut = Int((Double(n) * (1 - validationSplit)).rounded(.down))
        guard cut > 0 && cut < n else {
            throw TrainerError("validationSplit \(validationSplit) of \(n) examples leaves \(cut) for training and \(n - cut) for validation")
        }
        return (IndexedSubset(base: dataset, indices: Array(0..<cut)), IndexedSubset(base: dataset, indices: Array(cut..<n)))
    }
}

extension Module {
    /// Trains this model Keras-style in one call: a `Trainer` with `optimizer` (Adam at 1e-3 when
    /// nil, created after one forward pass so that `Dense` layers have their parameters), `loss`
    /// and `metrics`, fitted on `dataset` (see `Trainer.fit(_:batchSize:epochs:...)`).
    ///
    /// ```swift
    /// let history = try model.fit(TensorDataset(inputs: x, targets: y), loss: .crossEntropy,
    ///                             metrics: [Accuracy()], epochs: 20, validationSplit: 0.1)
    /// ```
    @discardableResult
    public func fit(_ dataset: any Dataset, loss: Loss, optimizer: Optimizer? = nil, metrics: [any Metric] = [],
                    callbacks: [Callback] = [], batchSize: Int = 32, epochs: Int = 1, validationSplit: Double = 0,
                    validationData: (any Dataset)? = nil, shuffle: Bool = true, seed: UInt64 = 0,
                    verbosity: Verbosity = .auto, output: @escaping (String) -> Void = writeToStandardOutput) throws -> History {
        if optimizer == nil && dataset.count > 0 {
            // Build lazily sized layers (`Dense`) before the default optimiser collects parameters:
            // one example in eval mode, no graph (no dropout draws, no normalisation updates).
            _ = predict(dataset.batch(at: [0]).inputs)
        }
        let trainer = Trainer(model: self, optimizer: optimizer ?? Adam(parameters: parameters(), lr: 1e-3), loss: loss,
                              metrics: metrics, callbacks: callbacks, verbosity: verbosity, output: output)
        return try trainer.fit(dataset, batchSize: batchSize, epochs: epochs, validationSplit: validationSplit,
                               validationData: validationData, shuffle: shuffle, seed: seed)
    }

    /// `fit` on tensors whose first axis indexes examples.
    ///
    /// ```swift
    /// try model.fit(x, y, loss: .mse, epochs: 100, verbosity: .silent)
    /// ```
    @discardableResult
    public func fit(_ inputs: Tensor, _ targets: Tensor, loss: Loss, optimizer: Optimizer? = nil, metrics: [any Metric] = [],
                    callbacks: [Callback] = [], batchSize: Int = 32, epochs: Int = 1, validationSplit: Double = 0,
                    shuffle: Bool = true, seed: UInt64 = 0, verbosity: Verbosity = .auto,
                    output: @escaping (String) -> Void = writeToStandardOutput) throws -> History {
        try fit(TensorDataset(inputs: inputs, targets: targets), loss: loss, optimizer: optimizer, metrics: metrics,
                callbacks: callbacks, batchSize: batchSize, epochs: epochs, validationSplit: validationSplit,
                shuffle: shuffle, seed: seed, verbosity: verbosity, output: output)
    }
}
