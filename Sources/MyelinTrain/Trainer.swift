import Foundation
import MyelinCore
import MyelinNN
import MyelinData
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why `fit` could not run or did not finish: a bad argument, a checkpoint without the trainer's
/// data, or the error a callback reported through `Trainer.fail(_:)`.
public struct TrainerError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "[trainer] " + message }
}

/// When a per-epoch scheduler steps.
public enum SchedulerInterval: Sendable {
    /// After each epoch (PyTorch's usual placement; `ReduceLROnPlateau` always steps per epoch).
    case epoch
    /// After each optimiser step (warm-ups, `OneCycleLR`).
    case batch
}

/// The training loop, Keras-style: `fit` runs epochs of forward, loss, backward, clipping,
/// optimiser step and scheduler step over a `DataLoader`, with metrics, validation, callbacks and
/// progress output, and returns a `History`. It is the loop you would write by hand in PyTorch,
/// op for op: the same model, optimiser and data give the same weights either way.
///
/// ```swift
/// let trainer = Trainer(model: model, optimizer: Adam(parameters: model.parameters(), lr: 1e-3),
///                       loss: .crossEntropy, metrics: [Accuracy()],
///                       callbacks: [EarlyStopping(patience: 3, restoreBestWeights: true)])
/// let history = try trainer.fit(trainLoader, epochs: 20, validation: testLoader)
/// print(trainer.evaluate(testLoader))      // ["loss": 0.08, "accuracy": 0.975]
/// let classes = trainer.predict(images).argmax(axis: 1)
/// ```
///
/// A model called with more than one tensor (a state, lengths, a mask) is trained through
/// `forward`, the batch-to-outputs function the loop uses in place of `model(batch.inputs)`. A
/// model holding `StateCarrying` modules (`RecurrentOutput(rnn, carryState: true)`, truncated
/// backpropagation through time) has its states reset at each epoch's start and around
/// evaluation, so each epoch and each evaluation reads its stream from the start.
///
/// ```swift
/// // Truncated BPTT written out: the state carried, detached, from batch to batch.
/// var carried: Tensor?
/// let trainer = Trainer(model: model, optimizer: opt, loss: .mse, forward: { batch in
///     let (outputs, state) = model.rnn(batch.inputs, state: carried)
///     carried = state.detached()
///     return model.head(outputs)
/// }, callbacks: [LambdaCallback(onEpochBegin: { _, _, _ in carried = nil })])
/// ```
///
/// The trainer owns the `epoch` and `step` counters and a cumulative `history`; `checkpoint()` and
/// `restore(from:)` carry them with weights, optimiser, scheduler and random states, so a run
/// resumed from a checkpoint taken between epochs continues bit for bit.
public final class Trainer {
    public let model: Module
    public let optimizer: Optimizer
    public var loss: Loss
    /// The model's outputs for a batch, when they are not `model(batch.inputs)`: a state carried
    /// between batches, lengths or a mask (`model(SequenceBatch(batch.inputs, paddingIndex: 0))`),
    /// several inputs. Used by `fit`, `evaluate` and `predict(_: DataLoader)`; `model.isTraining`
    /// tells training from evaluation. `predict(_: Tensor)` still calls the model on the tensor.
    public var forward: ((Batch) -> Tensor)?
    /// Streamed over each epoch's training batches and over validation (`val_` keys).
    public var metrics: [any Metric]
    public var callbacks: [Callback]
    /// Stepped per epoch (or per batch, see `schedulerInterval`); a `ReduceLROnPlateau` is stepped
    /// each epoch with `plateauMonitor` ("val_loss", or "loss" without validation data).
    public let scheduler: (any CheckpointableScheduler)?
    public var schedulerInterval: SchedulerInterval = .epoch
    /// The log key a `ReduceLROnPlateau` scheduler watches; falls back to "loss" when absent.
    public var plateauMonitor = "val_loss"
    /// Clips the gradients' global 2-norm to this before each step (`clipGradNorm`).
    public var gradientClipNorm: Double?
    /// Clips each gradient element to ±this before each step (`clipGradValue`).
    public var gradientClipValue: Double?
    public var verbosity: Verbosity
    /// Receives progress text as it should appear (newlines and carriage returns included).
    public var output: (String) -> Void
    /// Extra generators training draws from (a Dropout's, an augmentation's), saved and restored
    /// by checkpoints under these names. "loader" is reserved for the training loader's.
    public var generators: [String: RandomGenerator] = [:]
    /// Combines the logs of processes training together (data-parallel training sets it): called
    /// with an epoch's training logs and with each `evaluate`'s results, and the examples they
    /// cover on this process; returns the logs over all processes. Every process must reach it.
    public var reduceLogs: ((_ logs: [String: Double], _ samples: Int) -> [String: Double])?
    /// Processes each training on an equal share of every batch (data-parallel training): the
    /// progress bar and epoch lines count this many times this process's samples.
    public var processCount = 1

    /// Set it (from a callback) to end `fit` after the current batch; the epoch still finishes
    /// (validation, logs, `onEpochEnd`), then `onTrainEnd` runs.
    public var stopTraining = false
    /// Why training stopped early, if a callback said (`stop(reason:)`).
    public private(set) var stopReason: String?
    /// The epoch running during `fit` (0-based); between epochs, the number of epochs done.
    public internal(set) var epoch = 0
    /// Optimiser steps taken by this trainer (and the runs it was restored from).
    public internal(set) var step = 0
    /// Every epoch recorded so far; `fit` from epoch k first drops entries for epochs >= k.
    public internal(set) var history = History()
    /// The loader of the current or last `fit`.
    public private(set) var trainLoader: DataLoader?
    /// What callbacks see.
    public private(set) lazy var context = TrainingContext(trainer: self)

    /// The error a callback reported with `fail(_:)`; `fit` throws it.
    private var failure: Error?
    private var progress: ProgressPrinter?
    /// Set by `restore`: the epoch the next `fit` starts at when its `initialEpoch` is 0.
    var resumeEpoch: Int?
    /// Set by `restore` without a loader: applied to the next `fit`'s loader generator.
    var pendingLoaderState: [UInt64]?

    public init(model: Module, optimizer: Optimizer, loss: Loss, forward: ((Batch) -> Tensor)? = nil,
                metrics: [any Metric] = [], callbacks: [Callback] = [],
                scheduler: (any CheckpointableScheduler)? = nil, gradientClipNorm: Double? = nil,
                verbosity: Verbosity = .auto, output: @escaping (String) -> Void = writeToStandardOutput) {
        if let s = scheduler, s.optimizer !== optimizer {
            fatalError("[trainer] the scheduler drives another optimiser than the one passed")
        }
        self.model = model
        self.optimizer = optimizer
        self.loss = loss
        self.forward = forward
        self.metrics = metrics
        self.callbacks = callbacks
        self.scheduler = scheduler
        self.gradientClipNorm = gradientClipNorm
        self.verbosity = verbosity
        self.output = output
    }

    // MARK: fit

    /// Trains from epoch `initialEpoch` up to (not including) epoch `epochs`, as Keras's
    /// `fit(epochs=, initial_epoch=)`: `epochs` counts from the start of the run, not from
    /// `initialEpoch`. After `restore(from:)`, an `initialEpoch` of 0 means the checkpoint's epoch.
    ///
    /// Each epoch: `model.train()`, then for each batch forward, loss, `zeroGrad`, `backward`,
    /// optional clipping, `optimizer.step()`; then validation (`evaluate`, in eval mode) if given,
    /// the scheduler's step, and the epoch's entry in `history`, which is returned.
    ///
    /// ```swift
    /// let history = try trainer.fit(loader, epochs: 10, validation: valLoader)
    /// ```
    @discardableResult
    public func fit(_ train: DataLoader, epochs: Int, validation: DataLoader? = nil, initialEpoch: Int = 0) throws -> History {
        guard epochs >= 0, initialEpoch >= 0 else {
            throw TrainerError("epochs (\(epochs)) and initialEpoch (\(initialEpoch)) must be >= 0")
        }
        let start = initialEpoch > 0 ? initialEpoch : (resumeEpoch ?? 0)
        resumeEpoch = nil
        if let state = pendingLoaderState {
            train.generator.restore(state)
            pendingLoaderState = nil
        }
        try checkMetricNames()
        history.removeEpochs(from: start)
        trainLoader = train
        stopTraining = false
        stopReason = nil
        failure = nil
        epoch = start
        let ctx = context
        ctx.epochs = epochs
        ctx.batchesPerEpoch = train.count
        let printer = ProgressPrinter(verbosity: verbosity, output: output)
        progress = printer
        defer { progress = nil }

        for c in callbacks { c.onTrainBegin(ctx) }
        var e = start
        while e < epochs && !stopTraining {
            try runEpoch(e, epochs: epochs, train: train, validation: validation, printer: printer)
            e += 1
        }
        ctx.inputs = nil; ctx.targets = nil; ctx.outputs = nil; ctx.loss = nil
        for c in callbacks { c.onTrainEnd(ctx) }
        if let failure { throw failure }
        return history
    }

    private func runEpoch(_ e: Int, epochs: Int, train: DataLoader, validation: DataLoader?, printer: ProgressPrinter) throws {
        let ctx = context
        epoch = e
        ctx.epoch = e
        model.train()
        model.resetStates()
        for i in metrics.indices { metrics[i].reset() }
        for c in callbacks { c.onEpochBegin(epoch: e, logs: [:], ctx: ctx) }
        printer.epochBegin(epoch: e, epochs: epochs)
        let keys = logKeys(validation: false)
        let learningRate = optimizer.lr
        let started = monotonicSeconds()
        var lossSum = 0.0, lossWeight = 0.0, samples = 0, batches = 0
        let batchCount = train.count
        for (b, batch) in train.enumerated() {
            ctx.batch = b
            ctx.inputs = batch.inputs
            ctx.targets = batch.targets
            ctx.outputs = nil
            ctx.loss = nil
            for c in callbacks { c.onBatchBegin(batch: b, logs: [:], ctx: ctx) }
            let outputs = modelOutputs(for: batch)
            let value = loss(outputs, batch.targets)
            ctx.outputs = outputs
            ctx.loss = value
            optimizer.zeroGrad()
            value.backward()
            for c in callbacks { c.onAfterBackward(batch: b, ctx: ctx) }
            if let v = gradientClipValue { clipGradValue(optimizer.parameters, clipValue: v) }
            if let n = gradientClipNorm { _ = clipGradNorm(optimizer.parameters, maxNorm: n) }
            optimizer.step()
            step += 1
            if schedulerInterval == .batch, let s = scheduler as? LRScheduler { s.step() }

            let l = value.item()
            let n = batch.inputs.rank > 0 ? batch.inputs.shape[0] : 1
            let w = loss.weight(of: batch.targets)
            if w > 0 { lossSum += l * w; lossWeight += w }
            samples += n
            batches += 1
            let detached = outputs.detached()
            withoutGrad {
                for i in metrics.indices { metrics[i].update(outputs: detached, targets: batch.targets) }
            }
            // A batch with nothing to average (every label ignored) has no loss to log: its mean is NaN.
            var logs: [String: Double] = w > 0 ? ["loss": l] : [:]
            for m in metrics { logs[m.name] = m.value() }
            for c in callbacks { c.onBatchEnd(batch: b, logs: logs, ctx: ctx) }
            if printer.verbosity == .bar {
                var running = logs
                running["loss"] = lossSum / lossWeight
                printer.batchEnd(batch: b, batches: batchCount, samples: samples * processCount, elapsed: monotonicSeconds() - started,
                                 logs: running, keys: keys)
            }
            if stopTraining { break }
        }
        let trainSeconds = monotonicSeconds() - started
        var logs: [String: Double] = ["loss": lossWeight > 0 ? lossSum / lossWeight : .nan, "lr": learningRate]
        for m in metrics { logs[m.name] = m.value() }
        if let reduceLogs { logs = reduceLogs(logs, samples) }
        if let validation, failure == nil {
            for (k, v) in evaluate(validation) { logs["val_" + k] = v }
            model.train()
        }
        if let s = scheduler {
            if let plateau = s as? ReduceLROnPlateau {
                plateau.step(metric: logs[plateauMonitor] ?? logs["loss"]!)
            } else if schedulerInterval == .epoch, let s = s as? LRScheduler {
                s.step()
            }
        }
        let seconds = monotonicSeconds() - started
        logs["time"] = seconds
        epoch = e + 1
        history.append(epoch: e, logs: logs)
        ctx.lastEpochLogs = logs
        printer.epochEnd(epoch: e, epochs: epochs, batches: batchCount, samples: samples * processCount, seconds: seconds,
                         trainSeconds: trainSeconds, logs: logs, keys: logKeys(validation: validation != nil))
        for c in callbacks { c.onEpochEnd(epoch: e, logs: logs, ctx: ctx) }
    }

    /// The model's outputs for `batch`: `forward` if set, else `model(batch.inputs)`.
    func modelOutputs(for batch: Batch) -> Tensor {
        if let forward { return forward(batch) }
        return model(batch.inputs)
    }

    /// The log keys in display order: loss, metrics (in the order given), then validation ones.
    func logKeys(validation: Bool) -> [String] {
        let train = ["loss"] + metrics.map(\.name)
        return validation ? train + train.map { "val_" + $0 } : train
    }

    private func checkMetricNames() throws {
        var seen: Set<String> = ["loss", "lr", "time"]
        for m in metrics {
            if m.name.hasPrefix("val_") || !seen.insert(m.name).inserted {
                throw TrainerError("metric name \"\(m.name)\" is reserved or used twice; pass name: to tell them apart")
            }
        }
    }

    /// Ends `fit` after the current batch, and prints `reason` (unless silent).
    public func stop(reason: String) {
        stopTraining = true
        stopReason = reason
        log(reason)
    }

    /// Ends `fit` after the current batch, which then throws `error` (for callbacks whose work
    /// failed, such as a checkpoint that could not be written).
    public func fail(_ error: Error) {
        if failure == nil { failure = error }
        stopTraining = true
    }

    /// Prints a message on a line of its own through `output` (unless silent), breaking a progress bar.
    public func log(_ message: String) {
        if let progress {
            progress.message(message)
        } else if verbosity != .silent {
            output(message + "\n")
        }
    }

    // MARK: evaluate and predict

    /// The loss and metrics over a loader, in eval mode, without recording a graph; the model's
    /// mode is put back afterwards. Keys: "loss" and each metric's name. The loss is the mean over
    /// examples (batch losses weighted by batch size). Carried states (`StateCarrying` modules)
    /// are reset before and after.
    ///
    /// ```swift
    /// let scores = trainer.evaluate(testLoader)    // ["loss": 0.31, "accuracy": 0.91]
    /// ```
    public func evaluate(_ loader: DataLoader) -> [String: Double] {
        var ms = metrics
        for i in ms.indices { ms[i].reset() }
        var lossSum = 0.0, lossWeight = 0.0, samples = 0
        inEvalMode {
            withoutGrad {
                for batch in loader {
                    let outputs = modelOutputs(for: batch)
                    let n = batch.inputs.rank > 0 ? batch.inputs.shape[0] : 1
                    let w = loss.weight(of: batch.targets)
                    if w > 0 { lossSum += loss(outputs, batch.targets).item() * w; lossWeight += w }
                    samples += n
                    for i in ms.indices { ms[i].update(outputs: outputs, targets: batch.targets) }
                }
            }
        }
        var result = ["loss": lossWeight > 0 ? lossSum / lossWeight : .nan]
        for m in ms { result[m.name] = m.value() }
        return reduceLogs?(result, samples) ?? result
    }

    /// `evaluate` over a dataset, in order, in batches of `batchSize`.
    public func evaluate(_ dataset: any Dataset, batchSize: Int = 256) -> [String: Double] {
        evaluate(DataLoader(dataset, batchSize: batchSize))
    }

    /// The model's outputs for `inputs` (examples along the first axis), in eval mode, without
    /// recording a graph, `batchSize` examples at a time; the model's mode is put back afterwards.
    ///
    /// ```swift
    /// let probabilities = trainer.predict(x).softmax(axis: 1)
    /// ```
    public func predict(_ inputs: Tensor, batchSize: Int = 256) -> Tensor {
        model.predict(inputs, batchSize: batchSize)
    }

    /// The model's outputs for every batch of a loader (through `forward` if set), concatenated.
    public func predict(_ loader: DataLoader) -> Tensor {
        var parts: [Tensor] = []
        inEvalMode { withoutGrad { for batch in loader { parts.append(modelOutputs(for: batch)) } } }
        require(!parts.isEmpty, "[trainer] predict: the loader has no batches")
        return parts.count == 1 ? parts[0] : Tensor.cat(parts, axis: 0)
    }

    /// Runs `body` in eval mode from fresh carried states, putting the mode back and resetting
    /// the states again afterwards.
    private func inEvalMode(_ body: () -> Void) {
        let wasTraining = model.isTraining
        model.eval()
        model.resetStates()
        body()
        model.resetStates()
        if wasTraining { model.train() }
    }
}

extension Module {
    /// The outputs for `inputs` in eval mode without recording a graph, `batchSize` examples at a
    /// time along the first axis; the training mode is put back afterwards.
    ///
    /// ```swift
    /// let labels = model.predict(x).argmax(axis: 1)
    /// ```
    public func predict(_ inputs: Tensor, batchSize: Int = 256) -> Tensor {
        require(batchSize > 0, "[predict] batch size must be positive, got \(batchSize)")
        let wasTraining = isTraining
        eval()
        defer { if wasTraining { train() } }
        return withoutGrad {
            let n = inputs.rank > 0 ? inputs.shape[0] : 1
            if inputs.rank == 0 || n <= batchSize { return self(inputs) }
            var parts: [Tensor] = []
            var start = 0
            while start < n {
                parts.append(self(inputs[start..<Swift.min(start + batchSize, n)]))
                start += batchSize
            }
            return Tensor.cat(parts, axis: 0)
        }
    }
}
