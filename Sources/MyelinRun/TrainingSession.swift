import Foundation
import MyelinCore
import MyelinData
import MyelinNN
import MyelinPlot
import MyelinTrain
import MyelinDistributed

/// One training of a run folder, shared by `train` and `resume`: the trainer with its loaders and
/// the `RunRecorder`, restored from a checkpoint when resuming, then the run's final files.
///
/// Building a session changes no file: a resume restores everything in memory before the folder
/// is touched.
final class TrainingSession {
    let built: RunModel
    let data: RunData
    /// Nil on data-parallel ranks other than 0, which write nothing.
    let transactionIfRoot: RunTransaction?
    var transaction: RunTransaction { transactionIfRoot! }
    let trainer: Trainer
    let recorderIfRoot: RunRecorder?
    var recorder: RunRecorder { recorderIfRoot! }
    let distributed: DistributedRun?
    let dataParallel: DataParallel?
    let loader: DataLoader
    let validation: DataLoader?
    let firstEpoch: Int
    let output: (String) -> Void

    /// `transaction` is nil only on data-parallel ranks other than 0 (`distributed`).
    init(_ built: RunModel, data: RunData, transaction: RunTransaction?, checkpoint: Checkpoint?, history: History,
         verbosity: Verbosity, observers: RunObservers = RunObservers(), distributed: DistributedRun? = nil,
         output: @escaping (String) -> Void) throws {
        self.built = built
        self.data = data
        self.transactionIfRoot = transaction
        self.output = output
        self.distributed = distributed
        let settings = built.description.settings
        let batchNorm = built.description.spec.layers.contains(.batchNorm)
        var callbacks: [Callback] = []
        if let distributed {
            // Each rank: its shard of every epoch's order, its own augmentation and dropout streams
            // (reseeded per rank and epoch by DataParallel); validation split without padding.
            let rank = UInt64(distributed.rank)
            let shard = ShardedDataset(data.train, sampler: DistributedSampler(count: data.train.count, rank: distributed.rank,
                                                                               size: distributed.size, seed: settings.seed))
            let perRank = shard.count
            let augmentation = RandomGenerator(seed: settings.seed &+ 7 &+ rank)
            loader = DataLoader(shard, batchSize: settings.batchSize, shuffle: false,
                                dropLast: batchNorm && perRank % settings.batchSize == 1, seed: settings.seed,
                                transform: settings.augment && data.inputShape.count == 3
                                    ? Self.augmentation(generator: augmentation) : nil)
            validation = data.validation.map {
                DataLoader(ShardedDataset($0, sampler: DistributedSampler(count: $0.count, rank: distributed.rank, size: distributed.size,
                                                                          shuffle: false, padded: false)), batchSize: 1000)
            }
            let ddp = DataParallel(communicator: distributed.communicator, shards: [shard], seed: settings.seed)
            // Dropout's and augmentation's streams: per rank, reseeded each epoch, so a resumed run draws the same.
            ddp.reseeded = [built.generator, augmentation]
            dataParallel = ddp
            callbacks.append(ddp)
        } else {
            loader = DataLoader(data.train, batchSize: settings.batchSize, shuffle: true,
                                dropLast: batchNorm && data.train.count % settings.batchSize == 1, seed: settings.seed,
                                transform: settings.augment && data.inputShape.count == 3 ? Self.augmentation(seed: settings.seed) : nil)
            validation = data.validation.map { DataLoader($0, batchSize: 1000) }
            dataParallel = nil
        }
        if let transaction {
            let recorder = RunRecorder(transaction: transaction, checkpointEvery: settings.checkpointEvery ?? 1,
                                       totalEpochs: settings.epochs, monitor: validation == nil ? "loss" : "val_loss",
                                       patience: settings.patience, history: history)
            recorderIfRoot = recorder
            // The logs first: an epoch's line is written before the checkpoint that follows it.
            let run = transaction.current
            callbacks += [CSVLogger(path: run.metricsLog, append: true), BatchLog(path: run.batchLog), recorder]
                + (try observers.callbacks(target: transaction.target, current: run))
        } else {
            recorderIfRoot = nil
        }
        if let distributed { callbacks.append(StopAgreement(communicator: distributed.communicator)) }
        trainer = Trainer(model: built.model, optimizer: built.optimizer, loss: built.loss, metrics: built.metrics,
                          callbacks: callbacks, scheduler: built.scheduler, verbosity: verbosity, output: output)
        trainer.gradientClipNorm = settings.clipGradNorm
        if let checkpoint {
            try trainer.restore(from: checkpoint, loader: loader, history: history)
        }
        firstEpoch = checkpoint?.epoch ?? 0
    }

    /// Trains up to the settings' epochs, then writes the final files.
    func run(drawFilters: Bool) throws -> [String: Double] {
        let settings = built.description.settings
        let start = monotonicSeconds()
        try trainer.fit(loader, epochs: settings.epochs, validation: validation)
        if transactionIfRoot == nil { return [:] }
        return try finish(drawFilters: drawFilters, seconds: monotonicSeconds() - start,
                          epochsRun: trainer.history.epochs.count - firstEpoch)
    }

    /// The final files: the best weights restored when early stopping is on, `model.safetensors`,
    /// `history.json`, `results.json` and the pictures; then the run is committed (a replaced run
    /// is exchanged for the new one).
    func finish(drawFilters: Bool, seconds: Double, epochsRun: Int) throws -> [String: Double] {
        let run = transaction.current
        let settings = built.description.settings
        var history = trainer.history
        if history.epochs.isEmpty { history = CSVLogger.read(path: run.metricsLog, upToEpoch: trainer.epoch) }
        var bestEpoch: Double?
        if settings.patience != nil, FileManager.default.fileExists(atPath: run.bestWeights) {
            // Early stopping keeps the best weights (best.safetensors); the checkpoint keeps the last ones.
            _ = try built.model.load(from: run.bestWeights, strict: true)
            let monitored = history[validation == nil ? "loss" : "val_loss"] ?? []
            if let best = monitored.enumerated().min(by: { $0.element < $1.element })?.offset { bestEpoch = Double(best + 1) }
        }
        try history.save(to: run.history)
        try built.model.save(to: run.weights)

        let classes = data.classNames.count, binary = built.binaryLogit
        let test = Evaluation.of(built.model, on: data.test, task: data.task, scaling: data.scaling, classes: classes,
                                 binaryLogit: binary)
        var results: [String: [String: Double]] = [data.testIsTraining ? "training_data" : "test": test.metrics]
        if let validation = data.validation {
            results["validation"] = Evaluation.of(built.model, on: validation, task: data.task, scaling: data.scaling,
                                                  classes: classes, binaryLogit: binary).metrics
        }
        var training: [String: Double] = [
            "epochs": Double(history.epochs.count), "seconds": seconds,
            "seconds_per_epoch": epochsRun > 0 ? seconds / Double(epochsRun) : 0,
            "samples_per_second": seconds > 0 ? Double(data.train.count * epochsRun) / seconds : 0,
            "parameters": Double(built.model.parameterCount)]
        if let bestEpoch { training["best_epoch"] = bestEpoch }
        if let distributed, let ddp = dataParallel {
            training["ranks"] = Double(distributed.size)
            training["batch_size_per_rank"] = Double(settings.batchSize)
            if !ddp.weightDigests.isEmpty { training["weights_identical_on_ranks"] = Set(ddp.weightDigests).count == 1 ? 1 : 0 }
        }
        if let stopped = recorder.stoppedAfter { training["stopped_early_after_epoch"] = Double(stopped + 1) }
        results["training"] = training
        try drawPictures(history: history, test: test, run: run, drawFilters: drawFilters)
        try run.writeJSON(results, to: run.results)
        try transaction.commit()
        let final = transaction.current
        output((data.testIsTraining ? "training data (no held-out test): " : "test: ") + test.line + "\n")
        output("wrote \(final.path)/: model.safetensors, model.json, checkpoint.safetensors, history.json, metrics.csv, results.json, plots\n")
        return test.metrics
    }

    /// Random shifts and small rotations of training images (digits), seeded.
    static func augmentation(seed: UInt64) -> (Batch) -> Batch {
        augmentation(generator: RandomGenerator(seed: seed &+ 7))
    }

    /// Random shifts and small rotations drawn from `generator`.
    static func augmentation(generator: RandomGenerator) -> (Batch) -> Batch {
        let transform = RandomAffine(maxShift: 2, maxRotationDegrees: 10)
        return { batch in Batch(inputs: transform(batch.inputs, generator: generator), targets: batch.targets) }
    }

    func drawPictures(history: History, test: Evaluation, run: RunFolder, drawFilters: Bool) throws {
        try plotTrainingCurves(history.metrics, title: "Training: \(built.description.source.label)").write(to: run.curves)
        if let confusion = test.confusion {
            try plotConfusionMatrix(counts: confusion.counts, classNames: data.classNames,
                                    title: data.testIsTraining ? "Confusion matrix (training data)" : "Test confusion matrix")
                .write(to: run.confusion)
        }
        if data.task == .classification && data.inputShape == [2] {
            let scaling = data.scaling, built = self.built
            let labels = data.test.targets.to(.int64).reshape([-1]).scalars(as: Int64.self).map { Int($0) }
            try plotDecisionBoundary(points: data.rawTest.inputs, labels: labels, classNames: data.classNames,
                                     title: "Decision boundary (test points)") { grid in
                built.predict(scaling.inputs(grid)).values.scalars(as: Int64.self).map { Int($0) }
            }.write(to: run.boundary)
        }
        if drawFilters && data.test.count > 0 {
            _ = try FilterPictures.write(model: built.model, sample: data.test.inputs[0..<1], to: run)
        }
        if data.task == .classification && data.inputShape.count == 3 && data.test.count > 0 {
            try writePredictions(run: run)
        }
    }

    /// `predictions.json`: the first 32 test images with their predicted and true classes, for the
    /// dashboard's pictures (`{"classNames", "shape": [C, H, W], "images": [[...]], "predicted", "target"}`).
    func writePredictions(run: RunFolder) throws {
        let n = min(32, data.test.count)
        let raw = data.rawTest.inputs[0..<n].to(.float32)
        let predicted = built.predict(data.scaling.inputs(raw)).values.to(.int64).reshape([-1]).scalars(as: Int64.self)
        let target = data.rawTest.targets[0..<n].to(.int64).reshape([-1]).scalars(as: Int64.self)
        let per = data.inputShape.reduce(1, *)
        let values = raw.floats
        let images = (0..<n).map { i in
            "[" + values[(i * per)..<((i + 1) * per)].map { String(($0 * 1000).rounded() / 1000) }.joined(separator: ",") + "]"
        }
        let text = "{\"classNames\":[" + data.classNames.map(JSONText.quote).joined(separator: ",") + "]"
            + ",\"shape\":[" + data.inputShape.map(String.init).joined(separator: ",") + "]"
            + ",\"images\":[" + images.joined(separator: ",") + "]"
            + ",\"predicted\":[" + predicted.map(String.init).joined(separator: ",") + "]"
            + ",\"target\":[" + target.map(String.init).joined(separator: ",") + "]}"
        try AtomicFile.write(Array(text.utf8), to: run.file("predictions.json"))
    }
}
