import Foundation
import MyelinCore
import MyelinData
import MyelinNN
import MyelinPlot
import MyelinTrain
import MyelinClassic
import MyelinDistributed

/// What `myelin train` was asked to do.
public struct TrainRequest {
    public var source: DataSource
    public var dataDir: String?
    /// `mlp`, `cnn` or `linear`; ignored when `layers` is given.
    public var model: String = "mlp"
    /// Hidden layer sizes of the MLP (nil: 512,256 for images, 64 for tables).
    public var hidden: [Int]?
    public var activation: String = "relu"
    public var dropout: Double?
    /// A `--layers` spec (`conv:32:3,relu,maxpool:2,...`).
    public var layers: String?
    public var settings = TrainSettings()
    /// Settings the user gave (`epochs`, `batchSize`, `patience`, `learningRate`); the others may
    /// be chosen from the data's size (`TrainPlan`).
    public var given: Set<TrainPlan.Setting> = Set(TrainPlan.Setting.allCases)
    /// The run folder; nil picks a new `runs/<data>-<n>`.
    public var out: String?
    /// Replace a run already in `out` once the new one has finished.
    public var overwrite = false
    /// The largest network the command builds (parameters).
    public var maxParameters = TrainRequest.defaultMaxParameters
    public var verbosity: Verbosity = .auto
    /// Draw the first convolution's filters and one test image's feature maps.
    public var drawFilters: Bool = true
    /// A dashboard's callbacks and the statistics it wants recorded.
    public var observers = RunObservers()
    /// Data-parallel training over several processes (`mpirun -np N myelin train ...`); nil: one process.
    public var distributed: DistributedRun?

    /// 20 million parameters: 80 MB of float32 weights, about 320 MB with gradients and Adam's state.
    public static let defaultMaxParameters = 20_000_000
    /// Floats of activations one batch may need (256 MB; backward keeps about as much again).
    public static let maxActivations = 64_000_000

    public init(source: DataSource, out: String?) {
        self.source = source
        self.out = out
    }

    /// Checks every option before anything is read or written; throws `RunError` naming the option.
    public func validate() throws {
        try source.validate(op: "train")
        try settings.validate()
        if let dropout, !(dropout.isFinite && dropout >= 0 && dropout < 1) {
            throw RunError(op: "train", "--dropout must be in [0, 1), got \(dropout)")
        }
        if let hidden {
            for units in hidden where units < 1 || units > ModelSpec.maxWidth {
                throw RunError(op: "train", "--hidden sizes must be between 1 and \(ModelSpec.maxWidth) (no network that wide fits "
                               + "the parameter budget), got \(units)")
            }
        }
        do {
            guard try ActivationTable.parse(activation) != nil else {
                throw RunError(op: "train", "unknown --activation '\(activation)'; expected one of \(ActivationTable.usageList)")
            }
        } catch let error as ActivationError {
            throw RunError(op: "train", "--activation: \(error.reason)")
        }
        guard layers != nil || ["mlp", "cnn", "linear"].contains(model) else {
            throw RunError(op: "train", "unknown --model '\(model)'; expected mlp, cnn or linear (or give --layers), or a classic model: "
                           + "\(ClassicKind.list); for texts (sms-spam, --text-column) lstm or gru, for --text lstm, gru or rnn")
        }
        guard maxParameters >= 1 else { throw RunError(op: "train", "--max-parameters must be positive, got \(maxParameters)") }
        if let out { try RunFolder(out).checkCreatable() }
    }
}

/// `myelin train`, `myelin resume`: trains and writes a run folder.
public enum TrainJob {
    /// Trains a new model as `request` says and writes every file of the run folder.
    ///
    /// Nothing is written until the options, the data and the model are known good; the run is
    /// then built in a staging folder that appears under its name at the first checkpoint
    /// (`RunTransaction`).
    @discardableResult
    public static func train(_ request: TrainRequest, output: @escaping (String) -> Void) throws -> [String: Double] {
        var request = request
        try request.validate()
        if case .csv(let path, let label, let task) = request.source {
            request.source = .csv(path: absolutePath(path), label: label, task: task)
        }
        let out = request.out ?? newRunFolder(for: request.source)
        // Before the data are read: a run in the way is the cheapest thing to report.
        try RunTransaction.checkTarget(RunFolder(out), overwrite: request.overwrite)
        request.settings.images = readsImages(request) ? true : nil
        var data = try RunData.load(request.source, dataDir: request.dataDir, settings: request.settings)
        if request.settings.images == true, let layout = Catalogue.imageLayout(request.source.label) {
            let size = layout.shape.map(String.init).joined(separator: "x")
            data.notes.append("\(request.source.label): the \(layout.pixels) pixel values read as \(size) images "
                              + "(divided by \(Int(layout.maxValue)), in [0, 1]) for the convolutions")
        }
        if data.task == .classification {
            // One class leaves nothing to learn: the loss is 0 from the start (the classic models refuse it too).
            let classes = Set(data.train.targets.ints).count
            guard classes >= 2 else {
                throw RunError(op: "train", "the training rows hold \(classes) class; at least 2 are needed")
            }
        } else {
            data.notes.append("regression: the loss and mae of each epoch are on the standardised target; "
                              + "the test figures are in the target's own units")
        }
        let plan = TrainPlan(trainCount: data.train.count, images: data.inputShape.count == 3, given: request.given)
        request.settings = plan.apply(to: request.settings)
        try checkLoss(request.settings, data: data)
        var outputs = data.task == .classification ? data.classNames.count : data.train.targets.shape.last ?? 1
        if request.settings.loss == "bce" { outputs = 1 }
        let spec = try makeSpec(request, data: data, outputs: outputs)
        // The parsed spec, so every spelling of a bn layer counts.
        if request.distributed?.syncBatchNorm == true && !spec.layers.contains(.batchNorm) {
            throw RunError(op: "train", "--sync-bn synchronises bn layers; the network has none (add bn to --layers)")
        }
        if spec.layers.contains(.batchNorm) {
            // Batch statistics need two examples (PyTorch refuses one too); a last batch of one is dropped.
            guard request.settings.batchSize >= 2, data.train.count >= 2 else {
                throw RunError(op: "train", "bn layers need batches of at least 2 examples; got --batch-size "
                               + "\(request.settings.batchSize) and \(data.train.count) training rows")
            }
        }
        try spec.checkBudget(maxParameters: request.maxParameters, maxActivations: TrainRequest.maxActivations,
                             batchSize: min(request.settings.batchSize, max(data.train.count, 1)))
        let description = RunDescription(task: data.task, spec: spec, classNames: data.classNames,
                                         featureNames: data.featureNames, scaling: data.scaling, source: request.source,
                                         schema: data.schema, settings: request.settings)
        let distributed = request.distributed
        let built = try RunModel(description, normalization: distributed?.normalization)
        if let note = request.settings.defaultsNote { data.notes.insert(note, at: 0) }

        if let distributed, !distributed.isRoot {
            // Ranks other than 0 write nothing: they wait for rank 0 to open the run, then train.
            guard try distributed.agree(false, op: "train") else {
                throw RunError(op: "train", "rank 0 could not start the run (it printed why)")
            }
            let session = try TrainingSession(built, data: data, transaction: nil, checkpoint: nil, history: History(),
                                              verbosity: .silent, distributed: distributed, output: { _ in })
            return try session.run(drawFilters: false)
        }
        let tx: RunTransaction
        do {
            tx = try RunTransaction(target: out, overwrite: request.overwrite)
        } catch {
            _ = try distributed?.agree(false, op: "train")
            throw error
        }
        _ = try distributed?.agree(true, op: "train")
        return try tx.abandoningOnError {
            for note in data.notes { output(note + "\n") }
            output("data: \(request.source.label): \(data.train.count) training, \(data.validation?.count ?? 0) validation, "
                   + "\(data.testIsTraining ? "no held-out test (the training data)" : "\(data.test.count) test") examples of shape \(data.inputShape)"
                   + (data.task == .classification ? ", \(data.classNames.count) classes" : ", regression") + "\n")
            output("model: \(spec.layersText.isEmpty ? "linear" : spec.layersText) -> \(outputs) "
                   + "(\(built.model.parameterCount) parameters), \(request.settings.optimizer) lr \(request.settings.learningRate)\n")
            if let distributed { output(distributed.summary(batchSize: request.settings.batchSize)) }
            try tx.current.writeJSON(description, to: tx.current.description)
            let session = try TrainingSession(built, data: data, transaction: tx, checkpoint: nil, history: History(),
                                              verbosity: request.verbosity, observers: request.observers,
                                              distributed: distributed, output: output)
            return try session.run(drawFilters: request.drawFilters)
        }
    }

    /// Continues the run in `path` from its last checkpoint up to `epochs` (default: the run's own).
    ///
    /// Everything (description, checkpoint, data, model, optimiser state) is read and restored
    /// in memory first; only then are the logs cut back to the checkpoint and training goes on.
    /// A run whose last epoch was checkpointed but whose final files are missing (killed while
    /// writing them) is completed without training.
    @discardableResult
    public static func resume(_ path: String, epochs: Int? = nil, dataDir: String?, verbosity: Verbosity = .auto,
                              observers: RunObservers = RunObservers(), encoders: EncoderCatalog = .registry(modelsDir: nil),
                              distributed: DistributedRun? = nil,
                              output: @escaping (String) -> Void) throws -> [String: Double] {
        if ClassicJob.isClassicRun(path) { try ClassicJob.refuseResume(path) }
        if distributed != nil && (TransferClassifierJob.isTransferRun(path) || LanguageModelJob.isLanguageModelRun(path)
                                  || SequenceClassifierJob.isSequenceClassifierRun(path)) {
            throw RunError(op: "resume", "\(path) is not a network run of --model mlp, cnn, linear or --layers; it cannot resume under MPI")
        }
        if TransferClassifierJob.isTransferRun(path) {
            return try TransferClassifierJob.resume(path, epochs: epochs, dataDir: dataDir, catalog: encoders, verbosity: verbosity,
                                                    observers: observers, output: output)
        }
        if LanguageModelJob.isLanguageModelRun(path) {
            return try LanguageModelJob.resume(path, epochs: epochs, dataDir: dataDir, verbosity: verbosity,
                                               observers: observers, output: output)
        }
        if SequenceClassifierJob.isSequenceClassifierRun(path) {
            return try SequenceClassifierJob.resume(path, epochs: epochs, dataDir: dataDir, verbosity: verbosity,
                                                    observers: observers, output: output)
        }
        let run = RunFolder(path)
        // Under MPI rank 0 owns the folder; the others read it once rank 0 has recovered it.
        if distributed?.isRoot ?? true { RunTransaction.recoverStale(run) }
        var description = try run.readDescription()
        try description.settings.applyResumeEpochs(epochs)
        try description.settings.validate()
        try distributed?.communicator.barrier()
        let checkpoint = try run.resumeCheckpoint()
        let data = try RunData.load(description.source, dataDir: dataDir, settings: description.settings)
        let built = try RunModel(description, normalization: distributed?.normalization)
        let history = CSVLogger.read(path: run.metricsLog, upToEpoch: checkpoint.epoch)
        if let distributed, !distributed.isRoot {
            // Other ranks restore the same checkpoint and train silently if rank 0 goes on.
            guard try distributed.agree(false, op: "resume") else {
                throw RunError(op: "resume", "rank 0 did not resume \(path) (it printed why)")
            }
            let session = try TrainingSession(built, data: data, transaction: nil, checkpoint: checkpoint, history: history,
                                              verbosity: .silent, distributed: distributed, output: { _ in })
            return try session.run(drawFilters: false)
        }
        let session: TrainingSession
        do {
            session = try TrainingSession(built, data: data, transaction: RunTransaction(existing: run), checkpoint: checkpoint,
                                          history: history, verbosity: verbosity, observers: observers,
                                          distributed: distributed, output: output)
            let done = checkpoint.epoch >= description.settings.epochs || session.recorder.alreadyStopped
            let finished = FileManager.default.fileExists(atPath: run.results)
            if done && (epochs == nil || checkpoint.epoch >= description.settings.epochs) {
                // Completing needs no training; under MPI the other ranks would wait for it, so
                // there it is refused as a finished run.
                if !finished && distributed == nil {
                    output("completing \(path): its last checkpoint (epoch \(checkpoint.epoch)) has no final files yet\n")
                    return try session.finish(drawFilters: true, seconds: 0, epochsRun: 0)
                }
                if session.recorder.alreadyStopped && checkpoint.epoch < description.settings.epochs {
                    throw RunError(op: "resume", "\(path) stopped early after epoch \(checkpoint.epoch); "
                                   + "pass --epochs N with N > \(checkpoint.epoch) to train longer")
                }
                throw run.alreadyTrained(checkpoint.epoch, of: description.settings.epochs)
            }
        } catch {
            _ = try distributed?.agree(false, op: "resume")
            throw error
        }
        _ = try distributed?.agree(true, op: "resume")
        // A run that had stopped early trains on when asked for more epochs.
        if session.recorder.alreadyStopped { session.recorder.resetPatience() }
        // The restore succeeded: from here on the folder changes (the logs are cut back to the
        // checkpoint when training starts).
        try? FileManager.default.removeItem(atPath: run.results)
        try run.writeJSON(description, to: run.description)
        output("resuming \(path) at epoch \(checkpoint.epoch + 1) of \(description.settings.epochs)\n")
        if let note = description.settings.cosineNote(checkpoint) { output(note + "\n") }
        if let distributed { output(distributed.summary(batchSize: description.settings.batchSize)) }
        return try session.run(drawFilters: true)
    }

    /// `runs/<data>-<n>` for the smallest n not taken.
    static func newRunFolder(for source: DataSource) -> String {
        var name: String
        switch source {
        case .catalogue(let n): name = n
        case .generated(let set): name = set.name
        case .csv(let path, _, _): name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        }
        return newRunFolder(named: name)
    }

    /// `runs/<name>-<n>` for the smallest n not taken (characters other than letters, digits,
    /// `-` and `_` become `-`).
    static func newRunFolder(named name: String) -> String {
        var name = String(name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "-" }.prefix(40))
        if name.isEmpty { name = "run" }
        var n = 1
        while FileManager.default.fileExists(atPath: "runs/\(name)-\(n)") { n += 1 }
        return "runs/\(name)-\(n)"
    }

    static func absolutePath(_ path: String) -> String {
        path.hasPrefix("/") ? path : (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(path)
    }

    static func checkLoss(_ settings: TrainSettings, data: RunData) throws {
        switch (settings.loss ?? "auto", data.task) {
        case ("bce", .classification):
            guard data.classNames.count == 2 else {
                throw RunError(op: "train", "--loss bce needs two classes; this data has \(data.classNames.count)")
            }
        case ("bce", .regression), ("ce", .regression):
            throw RunError(op: "train", "--loss \(settings.loss!) is for classification; this data is a regression task (use mse)")
        case ("mse", .classification):
            throw RunError(op: "train", "--loss mse is for regression; this data is a classification task (use ce or bce)")
        default:
            break
        }
    }

    /// Whether a catalogue table of pixels (`digits`) is read as images: when the network is
    /// `--model cnn` or its `--layers` convolve or pool (a dense network keeps the 64 features).
    static func readsImages(_ request: TrainRequest) -> Bool {
        guard case .catalogue(let name) = request.source, let layout = Catalogue.imageLayout(name) else { return false }
        guard let layers = request.layers else { return request.model == "cnn" }
        // A list that does not parse on images is read as features, where `makeSpec` reports it.
        guard let spec = try? ModelSpec.parse(layers, input: layout.shape, outputs: 1) else { return false }
        return spec.layers.contains { $0.needsImage }
    }

    static func makeSpec(_ request: TrainRequest, data: RunData, outputs: Int) throws -> ModelSpec {
        let images = data.inputShape.count == 3
        if let layers = request.layers {
            return try ModelSpec.parse(layers, input: data.inputShape, outputs: outputs)
        }
        switch request.model {
        case "mlp":
            return try ModelSpec.mlp(input: data.inputShape, outputs: outputs, hidden: request.hidden ?? (images ? [512, 256] : [64]),
                                     activation: request.activation, dropout: request.dropout ?? (images ? 0.2 : 0))
        case "cnn":
            guard images else {
                throw RunError("--model cnn needs image data ([channels, height, width]) such as mnist, fashion-mnist or digits; "
                               + "this data has shape \(data.inputShape)")
            }
            return try ModelSpec.cnn(input: data.inputShape, outputs: outputs, dropout: request.dropout ?? 0.25)
        case "linear":
            return ModelSpec(inputShape: data.inputShape, outputs: outputs, layers: [])
        default:
            throw RunError("unknown model '\(request.model)'; expected mlp, cnn or linear (or give --layers)")
        }
    }
}
