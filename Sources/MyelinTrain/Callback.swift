import MyelinCore
import MyelinNN

/// Hooks into `Trainer.fit`, as Keras callbacks; every hook has an empty default.
///
/// Order within `fit`: `onTrainBegin`; per epoch `onEpochBegin`, then per batch `onBatchBegin`,
/// forward and loss, backward, `onAfterBackward` (gradients fresh, weights not yet updated),
/// clipping and optimiser step, `onBatchEnd`; then validation, scheduler step, `onEpochEnd`; and
/// finally `onTrainEnd` (also when a callback stopped training). Callbacks run in the order given,
/// on the training thread: a hook may block to inspect the model, or set `ctx.trainer.stopTraining`.
///
/// Logs: batch hooks get "loss" (this batch's loss) and each metric's running value over the epoch
/// so far; `onEpochEnd` gets the epoch's entries of `History` ("loss", metrics, "val_...", "lr",
/// "time"); `onEpochBegin` gets empty logs.
///
/// ```swift
/// final class PrintGradNorm: Callback {
///     func onAfterBackward(batch: Int, ctx: TrainingContext) {
///         let norm = ctx.model.parameters().compactMap(\.grad).map { $0.square().sum().item() }.reduce(0, +).squareRoot()
///         print("batch \(batch): gradient norm \(norm)")
///     }
/// }
/// ```
public protocol Callback: AnyObject {
    func onTrainBegin(_ ctx: TrainingContext)
    func onTrainEnd(_ ctx: TrainingContext)
    func onEpochBegin(epoch: Int, logs: [String: Double], ctx: TrainingContext)
    func onEpochEnd(epoch: Int, logs: [String: Double], ctx: TrainingContext)
    func onBatchBegin(batch: Int, logs: [String: Double], ctx: TrainingContext)
    func onBatchEnd(batch: Int, logs: [String: Double], ctx: TrainingContext)
    /// After `backward()`, before gradient clipping and the optimiser step: gradients are in
    /// `parameter.grad`.
    func onAfterBackward(batch: Int, ctx: TrainingContext)
}

extension Callback {
    public func onTrainBegin(_ ctx: TrainingContext) {}
    public func onTrainEnd(_ ctx: TrainingContext) {}
    public func onEpochBegin(epoch: Int, logs: [String: Double], ctx: TrainingContext) {}
    public func onEpochEnd(epoch: Int, logs: [String: Double], ctx: TrainingContext) {}
    public func onBatchBegin(batch: Int, logs: [String: Double], ctx: TrainingContext) {}
    public func onBatchEnd(batch: Int, logs: [String: Double], ctx: TrainingContext) {}
    public func onAfterBackward(batch: Int, ctx: TrainingContext) {}
}

/// What callbacks see of a running `fit`: the trainer, its model and optimiser, where training is,
/// and the current batch with the model's outputs and the loss (with its graph until `backward`).
///
/// ```swift
/// LambdaCallback(onBatchEnd: { batch, logs, ctx in
///     if batch == 0 { print(ctx.outputs!.shape, ctx.model.parameters()[0].grad!.abs().max()) }
/// })
/// ```
public final class TrainingContext {
    public unowned let trainer: Trainer
    public var model: Module { trainer.model }
    public var optimizer: Optimizer { trainer.optimizer }
    /// The epoch running (0-based).
    public internal(set) var epoch = 0
    /// The last epoch `fit` will run, plus one.
    public internal(set) var epochs = 0
    /// The batch index within the epoch.
    public internal(set) var batch = 0
    /// The number of batches per epoch.
    public internal(set) var batchesPerEpoch = 0
    /// The optimiser steps taken so far (the trainer's `step`).
    public var step: Int { trainer.step }
    /// The current batch's inputs and targets.
    public internal(set) var inputs: Tensor?
    public internal(set) var targets: Tensor?
    /// The model's outputs on the current batch (set after the forward pass).
    public internal(set) var outputs: Tensor?
    /// The current batch's loss tensor (set after the forward pass).
    public internal(set) var loss: Tensor?
    /// The logs of the last finished epoch.
    public internal(set) var lastEpochLogs: [String: Double] = [:]

    init(trainer: Trainer) { self.trainer = trainer }

    /// Each layer's output on `inputs` (the current batch by default), for looking inside the
    /// model mid-training: for a `Sequential`, one entry per layer named by its index and type
    /// (`"0 Linear"`, `"1 ReLU"`...); for other models, the output alone. Runs in eval mode without
    /// recording a graph (dropout off, no random draws, normalisation statistics untouched,
    /// carried states neither used nor changed: `withoutCarriedStates`), so training continues
    /// exactly as it would have; the mode is put back.
    ///
    /// ```swift
    /// LambdaCallback(onEpochEnd: { _, _, ctx in
    ///     for (name, a) in ctx.activations() { print(name, a.mean().item(), a.std().item()) }
    /// })
    /// ```
    public func activations(_ inputs: Tensor? = nil) -> [(name: String, value: Tensor)] {
        guard let x = inputs ?? self.inputs else { return [] }
        let model = self.model
        let wasTraining = model.isTraining
        model.eval()
        defer { if wasTraining { model.train() } }
        return withoutCarriedStates { withoutGrad {
            guard let seq = model as? Sequential else { return [(model.typeName, model(x))] }
            var out: [(name: String, value: Tensor)] = []
            var h = x
            for (i, layer) in seq.layers.enumerated() {
                h = layer(h)
                out.append(("\(i) \(layer.typeName)", h))
            }
            return out
        } }
    }
}

/// A callback made of closures, for one-off hooks.
///
/// ```swift
/// let log = LambdaCallback(onEpochEnd: { epoch, logs, _ in print(epoch, logs["loss"]!) })
/// ```
public final class LambdaCallback: Callback {
    public var trainBegin: ((TrainingContext) -> Void)?
    public var trainEnd: ((TrainingContext) -> Void)?
    public var epochBegin: ((Int, [String: Double], TrainingContext) -> Void)?
    public var epochEnd: ((Int, [String: Double], TrainingContext) -> Void)?
    public var batchBegin: ((Int, [String: Double], TrainingContext) -> Void)?
    public var batchEnd: ((Int, [String: Double], TrainingContext) -> Void)?
    public var afterBackward: ((Int, TrainingContext) -> Void)?

    public init(onTrainBegin: ((TrainingContext) -> Void)? = nil,
                onTrainEnd: ((TrainingContext) -> Void)? = nil,
                onEpochBegin: ((_ epoch: Int, _ logs: [String: Double], _ ctx: TrainingContext) -> Void)? = nil,
                onEpochEnd: ((_ epoch: Int, _ logs: [String: Double], _ ctx: TrainingContext) -> Void)? = nil,
                onBatchBegin: ((_ batch: Int, _ logs: [String: Double], _ ctx: TrainingContext) -> Void)? = nil,
                onBatchEnd: ((_ batch: Int, _ logs: [String: Double], _ ctx: TrainingContext) -> Void)? = nil,
                onAfterBackward: ((_ batch: Int, _ ctx: TrainingContext) -> Void)? = nil) {
        trainBegin = onTrainBegin
        trainEnd = onTrainEnd
        epochBegin = onEpochBegin
        epochEnd = onEpochEnd
        batchBegin = onBatchBegin
        batchEnd = onBatchEnd
        afterBackward = onAfterBackward
    }

    public func onTrainBegin(_ ctx: TrainingContext) { trainBegin?(ctx) }
    public func onTrainEnd(_ ctx: TrainingContext) { trainEnd?(ctx) }
    public func onEpochBegin(epoch: Int, logs: [String: Double], ctx: TrainingContext) { epochBegin?(epoch, logs, ctx) }
    public func onEpochEnd(epoch: Int, logs: [String: Double], ctx: TrainingContext) { epochEnd?(epoch, logs, ctx) }
    public func onBatchBegin(batch: Int, logs: [String: Double], ctx: TrainingContext) { batchBegin?(batch, logs, ctx) }
    public func onBatchEnd(batch: Int, logs: [String: Double], ctx: TrainingContext) { batchEnd?(batch, logs, ctx) }
    public func onAfterBackward(batch: Int, ctx: TrainingContext) { afterBackward?(batch, ctx) }
}
