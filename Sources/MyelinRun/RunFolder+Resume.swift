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

extension TrainSettings {
    /// What `resume` says when the run's cosine decay was saved over another number of epochs:
    /// the rate goes on from the new curve (`CosineAnnealingLR.loadExtra`), not from the old one's
    /// end, where it was 0 and would have stayed.
    func cosineNote(_ checkpoint: Checkpoint) -> String? {
        guard cosine, checkpoint.schedulerType == "CosineAnnealingLR", let state = checkpoint.schedulerState,
              let saved = state.scalars["t_max"].map({ Int($0) }), saved != epochs,
              let base = state.lists["base_lrs"]?.first else { return nil }
        let rate = CosineAnnealingLR.rate(base: base, epoch: checkpoint.epoch, tMax: epochs)
        return "the cosine decay of the learning rate now spans \(epochs) epochs instead of \(saved): "
            + "it goes on from that curve, at \(String(format: "%.3g", rate)) for epoch \(checkpoint.epoch + 1)"
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

/// What a run of one kind (language model, text classifier) keeps about itself: its settings, reached
/// generically so that reading and resuming are written once for every kind.
protocol ResumableDescription: Codable {
    var settings: TrainSettings { get set }
}

extension RunFolder {
    /// The start of every kind's `resume`: the folder with a stale transaction recovered, its
    /// description (read by `read(path, op)`) with `--epochs` applied, and the checkpoint.
    static func startResume<D: ResumableDescription>(_ path: String, epochs: Int?,
                                                     read: (String, String) throws -> D) throws
        -> (run: RunFolder, description: D, checkpoint: Checkpoint) {
        let run = RunFolder(path)
        RunTransaction.recoverStale(run)
        var description = try read(path, "resume")
        try description.settings.applyResumeEpochs(epochs)
        return (run, description, try run.resumeCheckpoint())
    }

    /// Just before a resumed run trains again: its old results go (they describe the shorter run), the
    /// description with the new epoch count is written to `file`, and the user is told where it resumes.
    func reopen<D: ResumableDescription>(_ description: D, to file: String, checkpoint: Checkpoint,
                                         output: (String) -> Void) throws {
        try? FileManager.default.removeItem(atPath: results)
        try writeJSON(description, to: file)
        output("resuming \(path) at epoch \(checkpoint.epoch + 1) of \(description.settings.epochs)\n")
        if let note = description.settings.cosineNote(checkpoint) { output(note + "\n") }
    }

    /// Decodes the description `file` of a run of `kind` (`"sequence-classifier"`), checked by `valid` and
    /// by its settings' own rules; every failure names the file and says why.
    static func readDescription<D: ResumableDescription>(_ type: D.Type, file: String, kind: String, op: String,
                                                         valid: (D) -> Bool) throws -> D {
        let d: D
        do { d = try decoder.decode(D.self, from: Data(contentsOf: URL(fileURLWithPath: file))) } catch {
            throw RunError(op: op, "\(file) is not a valid \(kind) description: \(reason(error))")
        }
        guard valid(d) else { throw RunError(op: op, "\(file) is not a valid \(kind) description: bad format or sizes") }
        do { try d.settings.validate() } catch let error as RunError {
            throw RunError(op: op, "\(file) is not a valid \(kind) description: \(error.message)")
        }
        return d
    }
}
