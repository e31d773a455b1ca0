import Foundation
import MyelinCore
import MyelinData
import MyelinNN
import MyelinTrain

/// The training the text classifiers share (`SequenceClassifierJob`, `TransferClassifierJob`): one
/// cross-entropy trainer with the run's logs and recorder, fitted and saved into the transaction.
enum ClassifierTraining {
    /// A trainer of `model` by cross-entropy with accuracy; metrics.csv, batches.jsonl, the
    /// checkpointing recorder and the observers' callbacks; the settings' schedule and clipping.
    static func trainer(_ model: Module, optimizer: Optimizer, settings s: TrainSettings, validated: Bool,
                        transaction: RunTransaction, history: History, observers: RunObservers, verbosity: Verbosity,
                        output: @escaping (String) -> Void) throws -> Trainer {
        let scheduler = s.cosine ? CosineAnnealingLR(optimizer: optimizer, tMax: s.epochs) : nil
        let recorder = RunRecorder(transaction: transaction, checkpointEvery: s.checkpointEvery ?? 1, totalEpochs: s.epochs,
                                   monitor: validated ? "val_loss" : "loss", patience: s.patience, history: history)
        let run = transaction.current
        let trainer = Trainer(model: model, optimizer: optimizer, loss: .crossEntropy, metrics: [Accuracy()],
                              callbacks: [CSVLogger(path: run.metricsLog, append: true), BatchLog(path: run.batchLog), recorder]
                                  + (try observers.callbacks(target: transaction.target, current: run)),
                              scheduler: scheduler, verbosity: verbosity, output: output)
        trainer.gradientClipNorm = s.clipGradNorm
        return trainer
    }

    /// Fits `trainer` (from `checkpoint` when resuming), saves its history and the model's weights
    /// into the transaction's folder, and evaluates: results with "test" (and "validation") filled,
    /// and the seconds the fit took.
    static func fit(_ trainer: Trainer, _ model: Module, loader: DataLoader, validation: DataLoader?, test: DataLoader,
                    epochs: Int, checkpoint: Checkpoint?, history: History, transaction: RunTransaction) throws
        -> (results: [String: [String: Double]], seconds: Double) {
        if let checkpoint { try trainer.restore(from: checkpoint, loader: loader, history: history) }
        let start = monotonicSeconds()
        try trainer.fit(loader, epochs: epochs, validation: validation)
        let seconds = monotonicSeconds() - start
        let final = transaction.current
        try trainer.history.save(to: final.history)
        try model.save(to: final.weights)
        var results: [String: [String: Double]] = ["test": trainer.evaluate(test)]
        if let validation { results["validation"] = trainer.evaluate(validation) }
        return (results, seconds)
    }

    /// Writes results.json, commits the transaction and reports the test loss and accuracy.
    static func finish(_ results: [String: [String: Double]], transaction: RunTransaction,
                       output: (String) -> Void) throws {
        let final = transaction.current
        try final.writeJSON(results, to: final.results)
        try transaction.commit()
        let test = results["test"] ?? [:]
        output(String(format: "test: loss %.4f, accuracy %.4f\n", test["loss"] ?? .nan, test["accuracy"] ?? .nan))
    }
}
