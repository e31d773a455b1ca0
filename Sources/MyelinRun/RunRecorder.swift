import Foundation
import MyelinCore
import MyelinNN
import MyelinTrain

/// Writes a run's weights and checkpoints while it trains, each in time proportional to the
/// model, not to the run's length; the logs beside them are the library's append-only
/// `CSVLogger` (`metrics.csv`, the run's history) and `BatchLog` (`batches.csv`), which keep
/// their open files when the staging folder is renamed into place.
///
/// - `best.safetensors`: the weights of the best monitored epoch (`val_loss`, else `loss`);
/// - every `checkpointEvery` epochs, at the last epoch and when early stopping ends the run:
///   `model.safetensors` (the last weights) and `checkpoint.safetensors` (weights, optimiser,
///   scheduler, counters, random states; no history), after which a new run is published.
///
/// Early stopping lives here rather than in an `EarlyStopping` callback because its state (best
/// value, epochs without improvement) must survive a kill: it is recomputed from `metrics.csv`.
final class RunRecorder: Callback {
    let transaction: RunTransaction
    let checkpointEvery: Int
    let totalEpochs: Int
    let monitor: String
    let patience: Int?
    /// The best monitored value so far and the epochs since it.
    private(set) var best: Double?
    private(set) var wait = 0
    /// The epoch (0-based) after which early stopping ended the run.
    private(set) var stoppedAfter: Int?

    var run: RunFolder { transaction.current }

    init(transaction: RunTransaction, checkpointEvery: Int, totalEpochs: Int, monitor: String, patience: Int?,
         history: History) {
        self.transaction = transaction
        self.checkpointEvery = checkpointEvery
        self.totalEpochs = totalEpochs
        self.monitor = monitor
        self.patience = patience
        for value in history[monitor] ?? [] { note(value) }
    }

    /// Whether the recorded history already met the early-stopping rule.
    var alreadyStopped: Bool { patience.map { wait >= $0 } ?? false }

    /// Forgets the epochs without improvement (a resumed run that had stopped early trains on).
    func resetPatience() { wait = 0 }

    @discardableResult
    private func note(_ value: Double) -> Bool {
        guard !value.isNaN, best.map({ value < $0 }) ?? true else {
            wait += 1
            return false
        }
        best = value
        wait = 0
        return true
    }

    func onEpochEnd(epoch: Int, logs: [String: Double], ctx: TrainingContext) {
        do {
            if note(logs[monitor] ?? .nan) {
                try ctx.model.save(to: run.bestWeights, metadata: ["epoch": String(epoch), monitor: "\(logs[monitor]!)"])
            }
            if let patience, wait >= patience, epoch + 1 < totalEpochs {
                stoppedAfter = epoch
                ctx.trainer.stop(reason: "early stopping: \(monitor) has not improved for \(wait) epochs; "
                                 + "stopping after epoch \(epoch + 1) (best weights restored)")
            }
            // A stop asked for mid-run (a dashboard's stop button) saves a checkpoint too, so the run resumes.
            if (epoch + 1) % checkpointEvery == 0 || epoch + 1 >= totalEpochs || stoppedAfter != nil || ctx.trainer.stopReason != nil {
                try saveCheckpoint(ctx.trainer)
            }
        } catch {
            ctx.trainer.fail(error)
        }
    }

    /// The last weights, then the full training state; then a new run appears under its name.
    func saveCheckpoint(_ trainer: Trainer) throws {
        try trainer.model.save(to: run.weights)
        try trainer.saveCheckpoint(to: run.checkpoint, includeHistory: false)
        try transaction.publishIfNew()
    }
}
