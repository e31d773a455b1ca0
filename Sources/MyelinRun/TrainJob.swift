import Foundation
import MyelinCore
import MyelinData
import MyelinNN
import MyelinPlot
import MyelinTrain

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
    public var out: String
    public var verbosity: Verbosity = .auto
    /// Draw the first convolution's filters and one test image's feature maps.
    public var drawFilters: Bool = true

    public init(source: DataSource, out: String) {
        self.source = source
        self.out = out
    }
}

/// `myelin train`, `myelin resume`: trains and writes a run folder.
public enum TrainJob {
    /// Trains a new model as `request` says and writes every file of the run folder.
    @discardableResult
    public static func train(_ request: TrainRequest, output: @escaping (String) -> Void) throws -> [String: Double] {
        try request.settings.validate()
        let run = RunFolder(request.out)
        try run.checkCreatable()
        let data = try RunData.load(request.source, dataDir: request.dataDir, settings: request.settings)
        let outputs = data.task == .classification ? data.classNames.count : data.train.targets.shape.last ?? 1
        let spec = try makeSpec(request, data: data, outputs: outputs)
        let description = RunDescription(task: data.task, spec: spec, classNames: data.classNames,
                                         featureNames: data.featureNames, scaling: data.scaling, source: request.source,
                                         schema: data.schema, settings: request.settings)
        let built = try RunModel(description)
        // Created only once the data and model are known good: a failed start leaves nothing behind.
        try run.create()
        output("data: \(request.source.label): \(data.train.count) training, \(data.validation?.count ?? 0) validation, "
               + "\(data.test.count) test examples of shape \(data.inputShape)"
               + (data.task == .classification ? ", \(data.classNames.count) classes" : ", regression") + "\n")
        output("model: \(spec.layersText.isEmpty ? "linear" : spec.layersText) -> \(outputs) "
               + "(\(built.model.parameterCount) parameters), \(request.settings.optimizer) lr \(request.settings.learningRate)\n")
        try run.writeJSON(description, to: run.description)
        return try fit(built, data: data, run: run, checkpoint: nil, verbosity: request.verbosity,
                       drawFilters: request.drawFilters, output: output)
    }

    /// Continues the run in `path` from its last checkpoint up to `epochs` (default: the run's own).
    @discardableResult
    public static func resume(_ path: String, epochs: Int? = nil, dataDir: String?, verbosity: Verbosity = .auto,
                              output: @escaping (String) -> Void) throws -> [String: Double] {
        let run = RunFolder(path)
        var description = try run.readDescription()
        if let epochs { description.settings.epochs = epochs }
        try description.settings.validate()
        guard FileManager.default.fileExists(atPath: run.checkpoint) else {
            throw RunError("\(path) has no checkpoint to resume from (\(run.checkpoint) does not exist)")
        }
        let checkpoint = try Checkpoint.load(from: run.checkpoint)
        let data = try RunData.load(description.source, dataDir: dataDir, settings: description.settings)
        let built = try RunModel(description)
        guard checkpoint.epoch < description.settings.epochs else {
            throw RunError("\(path) already trained \(checkpoint.epoch) of \(description.settings.epochs) epochs; "
                           + "pass --epochs N with N > \(checkpoint.epoch) to train longer")
        }
        try run.writeJSON(description, to: run.description)
        output("resuming \(path) at epoch \(checkpoint.epoch + 1) of \(description.settings.epochs)\n")
        return try fit(built, data: data, run: run, checkpoint: checkpoint, verbosity: verbosity,
                       drawFilters: true, output: output)
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
                throw RunError("--model cnn needs image data ([channels, height, width]); this data has shape \(data.inputShape)")
            }
            return try ModelSpec.cnn(input: data.inputShape, outputs: outputs, dropout: request.dropout ?? 0.25)
        case "linear":
            return ModelSpec(inputShape: data.inputShape, outputs: outputs, layers: [])
        default:
            throw RunError("unknown model '\(request.model)'; expected mlp, cnn or linear (or give --layers)")
        }
    }

    /// The training loop of a run, shared by `train` and `resume`, then the run's files.
    static func fit(_ built: RunModel, data: RunData, run: RunFolder, checkpoint: Checkpoint?,
                    verbosity: Verbosity, drawFilters: Bool, output: @escaping (String) -> Void) throws -> [String: Double] {
        let settings = built.description.settings
        let loader = DataLoader(data.train, batchSize: settings.batchSize, shuffle: true, seed: settings.seed,
                                transform: settings.augment && data.inputShape.count == 3 ? augmentation(seed: settings.seed) : nil)
        let validation = data.validation.map { DataLoader($0, batchSize: 1000) }
        let monitor = validation == nil ? "loss" : "val_loss"
        var callbacks: [Callback] = [
            CSVLogger(path: run.metricsLog, append: checkpoint != nil),
            ModelCheckpoint(path: run.bestWeights, monitor: monitor, saveBestOnly: true, full: false),
        ]
        if let patience = settings.patience {
            callbacks.append(EarlyStopping(monitor: monitor, patience: patience, restoreBestWeights: true))
        }
        let trainer = Trainer(model: built.model, optimizer: built.optimizer, loss: built.loss, metrics: built.metrics,
                              callbacks: callbacks, scheduler: built.scheduler, verbosity: verbosity, output: output)
        // The full checkpoint (weights, optimiser, scheduler, counters, shuffling state) after every epoch.
        trainer.callbacks.append(ModelCheckpoint(path: run.checkpoint, saveBestOnly: false, full: true))
        if let checkpoint { try trainer.restore(from: checkpoint, loader: loader) }
        let start = Date()
        let firstEpoch = checkpoint?.epoch ?? 0
        let history = try trainer.fit(loader, epochs: settings.epochs, validation: validation)
        let seconds = Date().timeIntervalSince(start)
        try history.save(to: run.history)
        try built.model.save(to: run.weights)

        let test = Evaluation.of(built.model, on: data.test, task: data.task, scaling: data.scaling, classes: data.classNames.count)
        var results: [String: [String: Double]] = ["test": test.metrics]
        if let validation = data.validation {
            results["validation"] = Evaluation.of(built.model, on: validation, task: data.task, scaling: data.scaling,
                                                  classes: data.classNames.count).metrics
        }
        let epochsRun = history.epochs.count - firstEpoch
        results["training"] = ["epochs": Double(history.epochs.count), "seconds": seconds,
                               "seconds_per_epoch": epochsRun > 0 ? seconds / Double(epochsRun) : 0,
                               "samples_per_second": seconds > 0 ? Double(data.train.count * epochsRun) / seconds : 0,
                               "parameters": Double(built.model.parameterCount)]
        try run.writeJSON(results, to: run.results)
        try drawPictures(built, data: data, history: history, test: test, run: run, drawFilters: drawFilters, output: output)
        output("test: " + test.line + "\n")
        output("wrote \(run.path)/: model.safetensors, model.json, checkpoint.safetensors, history.json, metrics.csv, results.json, plots\n")
        return test.metrics
    }

    /// Random shifts and small rotations of training images (digits), seeded.
    static func augmentation(seed: UInt64) -> (Batch) -> Batch {
        let transform = RandomAffine(maxShift: 2, maxRotationDegrees: 10)
        let generator = RandomGenerator(seed: seed &+ 7)
        return { batch in Batch(inputs: transform(batch.inputs, generator: generator), targets: batch.targets) }
    }

    static func drawPictures(_ built: RunModel, data: RunData, history: History, test: Evaluation, run: RunFolder,
                             drawFilters: Bool, output: (String) -> Void) throws {
        try plotTrainingCurves(history.metrics, title: "Training: \(built.description.source.label)").write(to: run.curves)
        if let confusion = test.confusion {
            try plotConfusionMatrix(counts: confusion.counts, classNames: data.classNames,
                                    title: "Test confusion matrix").write(to: run.confusion)
        }
        if data.task == .classification && data.inputShape == [2] {
            let scaling = data.scaling, model = built.model
            let labels = data.test.targets.to(.int64).scalars(as: Int64.self).map { Int($0) }
            try plotDecisionBoundary(points: data.rawTest.inputs, labels: labels, classNames: data.classNames,
                                     title: "Decision boundary (test points)") { grid in
                model.predict(scaling.inputs(grid), batchSize: 1000).argmax(axis: 1).scalars(as: Int64.self).map { Int($0) }
            }.write(to: run.boundary)
        }
        if drawFilters && data.test.count > 0 {
            _ = try FilterPictures.write(model: built.model, sample: data.test.inputs[0..<1], to: run)
        }
    }
}
