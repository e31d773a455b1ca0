import Foundation
import MyelinNN

// The steps every kind of run's `resume` shares (networks, language models, text classifiers).

extension TrainSettings {
    /// Applies `resume --epochs N` (nil keeps the run's own), checked as `train` checks it.
    mutating func applyResumeEpochs(_ epochs: Int?) throws {
        guard let epochs else { return }
        guard epochs >= 1, epochs <= TrainSettings.maxEpochs else {
            throw RunError(op: "resume", "--epochs must be positive and at most \(TrainSettings.maxEpochs), got \(epochs)")
        }
        self.epochs = epochs
    }
}

extension RunFolder {
    /// The checkpoint `resume` continues from; throws when the folder has none.
    func resumeCheckpoint() throws -> Checkpoint {
        guard FileManager.default.fileExists(atPath: checkpoint) else {
            throw RunError(op: "resume", "\(path) has no checkpoint to resume from (\(checkpoint) does not exist)")
        }
        return try Checkpoint.load(from: checkpoint)
    }

    /// What `resume` says of a run that has trained all the epochs it was asked for.
    func alreadyTrained(_ done: Int, of epochs: Int) -> RunError {
        RunError(op: "resume", "\(path) already trained \(done) of \(epochs) epochs; pass --epochs N with N > \(done) to train longer")
    }
}
