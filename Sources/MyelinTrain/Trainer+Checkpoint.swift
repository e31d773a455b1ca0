import Foundation
import MyelinCore
import MyelinNN
import MyelinData

extension Trainer {
    /// The `Checkpoint` metadata key holding the trainer's `History` as JSON.
    public static let historyMetadataKey = "myelin.trainer.history"
    /// The checkpoint generator name of the training loader's shuffling generator.
    public static let loaderGeneratorName = "loader"

    /// A snapshot of the run for `restore(from:)`: weights and buffers, optimiser and scheduler
    /// state, `epoch` and `step`, `Random.global`, the training loader's generator (as "loader")
    /// and `generators`, and, with `includeHistory` (the default), the history (in the metadata).
    ///
    /// The history grows with the run, so a checkpoint written every epoch with it costs time and
    /// space in proportion to the epochs done; for cheap per-epoch saving pass `includeHistory:
    /// false`, keep the history in an appended file (`HistoryLog`) and give it back to
    /// `restore(from:loader:history:)`.
    ///
    /// Take it between epochs (in `onEpochEnd`, as `ModelCheckpoint(full: true)` does, or after
    /// `fit`) for an exact resume: mid-epoch, the loader has already drawn the epoch's order. A
    /// shuffling validation loader's generator is not included: add it to `generators`.
    ///
    /// ```swift
    /// try trainer.checkpoint().save(to: "run/last.safetensors")
    /// try trainer.checkpoint(includeHistory: false).save(to: "run/last.safetensors")
    /// ```
    public func checkpoint(metadata: [String: String] = [:], includeHistory: Bool = true) -> Checkpoint {
        var gens = generators
        if let state = pendingLoaderState {
            let g = RandomGenerator(seed: 0)
            g.restore(state)
            gens[Self.loaderGeneratorName] = g
        } else if let loader = trainLoader {
            gens[Self.loaderGeneratorName] = loader.generator
        }
        var meta = metadata
        meta.removeValue(forKey: Self.historyMetadataKey)
        if includeHistory, let json = try? history.jsonData() {
            meta[Self.historyMetadataKey] = String(decoding: json, as: UTF8.self)
        }
        return Checkpoint.capture(model: model, optimizer: optimizer, scheduler: scheduler, epoch: epoch, step: step,
                                  generators: gens, metadata: meta)
    }

    /// Saves `checkpoint(metadata:includeHistory:)` to `path` (atomically).
    ///
    /// ```swift
    /// try trainer.saveCheckpoint(to: "run/last.safetensors", includeHistory: false)
    /// ```
    public func saveCheckpoint(to path: String, metadata: [String: String] = [:], includeHistory: Bool = true) throws {
        try checkpoint(metadata: metadata, includeHistory: includeHistory).save(to: path)
    }

    /// Puts a `checkpoint()` back into this trainer's model, optimiser, scheduler and generators,
    /// and restores `epoch`, `step` and `history`. The training loader's generator state goes to
    /// `loader` if given, else to the loader of the next `fit`, whose `initialEpoch` of 0 then
    /// means "the checkpoint's epoch": `fit(loader, epochs: total)` continues the run.
    ///
    /// The history comes from `history` when given (say `HistoryLog.read`, for checkpoints saved
    /// with `includeHistory: false`), less any epochs from the checkpoint's on; else from the
    /// checkpoint; else it starts empty.
    ///
    /// Checks everything before changing anything (see `Checkpoint.restore`), and throws if the
    /// checkpoint does not fit.
    ///
    /// ```swift
    /// let trainer = Trainer(model: Net(), optimizer: Adam(...), loss: .crossEntropy)
    /// try trainer.restore(from: Checkpoint.load(from: "run/last.safetensors"))
    /// try trainer.fit(loader, epochs: 20)          // epochs k..<20
    /// ```
    public func restore(from checkpoint: Checkpoint, loader: DataLoader? = nil, history: History? = nil) throws {
        require(generators[Self.loaderGeneratorName] == nil,
                     "[trainer] the generator name \"\(Self.loaderGeneratorName)\" is reserved for the training loader")
        var restored = History()
        if var given = history {
            given.removeEpochs(from: checkpoint.epoch)
            restored = given
        } else if let json = checkpoint.metadata[Self.historyMetadataKey] {
            do {
                restored = try History.decode(Data(json.utf8))
            } catch {
                throw TrainerError("the checkpoint's history (\(Self.historyMetadataKey)) is not valid: \(error)")
            }
        }
        var gens = generators
        let loaderState = RandomGenerator(seed: 0)
        let hasLoader = checkpoint.randomStates[Self.loaderGeneratorName] != nil
        if hasLoader { gens[Self.loaderGeneratorName] = loaderState }
        try checkpoint.restore(model: model, optimizer: optimizer, scheduler: scheduler, generators: gens)
        self.history = restored
        epoch = checkpoint.epoch
        step = checkpoint.step
        resumeEpoch = checkpoint.epoch
        pendingLoaderState = nil
        if hasLoader {
            if let loader {
                loader.generator.restore(loaderState.state)
            } else {
                pendingLoaderState = loaderState.state
            }
        }
    }

    /// `restore(from:loader:history:)` with a checkpoint file.
    ///
    /// ```swift
    /// try trainer.restore(from: "run/last.safetensors", history: HistoryLog.read(path: "run/history.jsonl"))
    /// ```
    public func restore(from path: String, loader: DataLoader? = nil, history: History? = nil) throws {
        try restore(from: Checkpoint.load(from: path), loader: loader, history: history)
    }
}
