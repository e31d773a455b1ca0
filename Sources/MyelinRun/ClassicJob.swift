import Foundation
import MyelinClassic
import MyelinCore
import MyelinData
import MyelinPlot
import MyelinTrain

/// What `myelin train --model perceptron|knn|naive-bayes|tree|forest` was asked to do.
public struct ClassicRequest {
    public var source: DataSource
    public var dataDir: String?
    /// The model and its options (`--neighbors`, `--max-depth`, `--trees`, the perceptron's `--epochs`/`--lr`).
    public var classic: ClassicSettings
    /// The split (`seed`, `testSplit`) and CSV options (`missing`, `categoricalEncoding`); no
    /// validation part is held out: classic models fit the whole training part.
    public var settings = TrainSettings()
    /// The run folder; nil picks a new `runs/<data>-<n>`.
    public var out: String?
    /// Replace a run already in `out` once the new one is written.
    public var overwrite = false
    /// Options of the networks the user gave (`--hidden`, `--epochs` with knn, ...): `validate` rejects the first.
    public var networkOptions: [String] = []
    /// Options of the classic models the user gave (`--neighbors`, `--max-depth`, `--trees`): `validate` rejects those of other kinds.
    public var classicOptions: [String] = []

    public init(source: DataSource, classic: ClassicSettings, out: String?) {
        self.source = source
        self.classic = classic
        self.out = out
        settings.validationSplit = 0
    }

    /// Checks every option before anything is read or written; throws `RunError` naming the option.
    public func validate() throws {
        if let option = networkOptions.first {
            throw RunError(op: "train", "\(option) is an option of the networks; --model \(classic.kind.rawValue) takes "
                           + ClassicJob.optionsText(classic.kind))
        }
        let applies: [String]
        switch classic.kind {
        case .knn: applies = ["--neighbors"]
        case .tree: applies = ["--max-depth"]
        case .forest: applies = ["--max-depth", "--trees"]
        case .perceptron, .naiveBayes: applies = []
        }
        if let option = classicOptions.first(where: { !applies.contains($0) }) {
            throw RunError(op: "train", "\(option) does not apply to --model \(classic.kind.rawValue); it takes \(ClassicJob.optionsText(classic.kind))")
        }
        try source.validate(op: "train")
        var s = settings
        s.validationSplit = 0
        try s.validate()
        let c = classic
        guard c.neighbors >= 1 else { throw RunError(op: "train", "--neighbors must be positive, got \(c.neighbors)") }
        if let depth = c.maxDepth, depth < 1 { throw RunError(op: "train", "--max-depth must be positive, got \(depth)") }
        guard c.trees >= 1 && c.trees <= 10_000 else { throw RunError(op: "train", "--trees must be between 1 and 10000, got \(c.trees)") }
        guard c.epochs >= 1 && c.epochs <= TrainSettings.maxEpochs else {
            throw RunError(op: "train", "--epochs must be positive and at most \(TrainSettings.maxEpochs), got \(c.epochs)")
        }
        guard c.learningRate.isFinite && c.learningRate > 0 else { throw RunError(op: "train", "--lr must be positive, got \(c.learningRate)") }
        if let out { try RunFolder(out).checkCreatable() }
    }
}

/// What a classic run's `model.json` holds: the model's kind and options, and how inputs are
/// prepared (features, scaling, CSV schema), so `evaluate` and `predict` prepare new data as in training.
public struct ClassicDescription: Codable, Sendable {
    /// Bumped when the layout changes incompatibly.
    public var format: Int = 1
    /// The model (its presence marks a classic run).
    public var classic: ClassicSettings
    public var task: LearningTask
    public var classNames: [String]
    public var featureNames: [String]?
    /// Shape of one example (images are flattened for the model).
    public var inputShape: [Int]
    /// Standardised table features, images as they are; none for multinomial naive Bayes (raw counts).
    public var scaling: RunData.Scaling
    public var source: DataSource
    public var schema: CSVSchema?
    /// The split and CSV settings, so `evaluate` loads the same test part.
    public var settings: TrainSettings
    /// Training rows the model was fitted on.
    public var trainingRows: Int
}

/// A classic model fitted on a run's data: what `train` writes and `compare` reports.
struct ClassicFit {
    var model: ClassicModel
    var settings: ClassicSettings
    var scaling: RunData.Scaling
    var seconds: Double
    /// Seconds of predicting the test part (kNN's work is there).
    var testSeconds: Double
    var test: Evaluation
    var trainingRows: Int
    var trainX: FeatureMatrix
    var trainY: [Int]
}

/// `myelin train --model perceptron|knn|naive-bayes|tree|forest` and the `evaluate`, `predict`,
/// `summary` and `resume` of the run folders it writes: model.json (`ClassicDescription`), the
/// fitted state (`state.json`; kNN keeps its training set in `neighbors.safetensors`),
/// results.json and the confusion matrix (and the decision boundary on 2-D data).
public enum ClassicJob {
    /// The fitted state of every kind but kNN.
    static let stateFile = "state.json"
    /// kNN's training set: `inputs` [rows, features] float32 and `labels` [rows] int64.
    static let neighborsFile = "neighbors.safetensors"

    /// The options each kind takes, for error messages and help.
    static func optionsText(_ kind: ClassicKind) -> String {
        switch kind {
        case .perceptron: return "--epochs (most passes), --lr (η) and --seed"
        case .knn: return "--neighbors K"
        case .naiveBayes: return "no options (multinomial on counts, Gaussian otherwise)"
        case .tree: return "--max-depth and --seed"
        case .forest: return "--trees, --max-depth and --seed"
        }
    }

    /// Whether `path` holds a classic run (its model.json has a `classic` entry).
    public static func isClassicRun(_ path: String) -> Bool {
        guard let data = FileManager.default.contents(atPath: RunFolder(path).description),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return false }
        return object["classic"] != nil
    }

    /// Fits the model `request` names on the training part of its data and writes the run folder.
    ///
    /// Nothing is written until the options and the data are known good and the model is fitted;
    /// the folder is built in a staging folder and renamed into place when complete (`RunTransaction`).
    @discardableResult
    public static func train(_ request: ClassicRequest, output: @escaping (String) -> Void) throws -> [String: Double] {
        var request = request
        try request.validate()
        request.settings.validationSplit = 0
        if case .csv(let path, let label, let task) = request.source {
            request.source = .csv(path: TrainJob.absolutePath(path), label: label, task: task)
        }
        let out = request.out ?? TrainJob.newRunFolder(for: request.source)
        try RunTransaction.checkTarget(RunFolder(out), overwrite: request.overwrite)
        let data = try RunData.load(request.source, dataDir: request.dataDir, settings: request.settings)
        let fit = try self.fit(request.classic, data: data)
        let description = ClassicDescription(classic: fit.settings, task: data.task, classNames: data.classNames,
                                             featureNames: data.featureNames.isEmpty ? nil : data.featureNames,
                                             inputShape: data.inputShape, scaling: fit.scaling, source: request.source,
                                             schema: data.schema, settings: request.settings, trainingRows: fit.trainingRows)
        var training: [String: Double] = ["seconds": fit.seconds, "test_seconds": fit.testSeconds, "rows": Double(fit.trainingRows), "features": Double(fit.trainX.cols)]
        if case .perceptron(let p) = fit.model {
            training["epochs"] = Double(p.epochs)
            training["converged"] = p.converged ? 1 : 0
        }
        if case .knn = fit.model { training["stored_values"] = Double(fit.trainX.values.count) }
        let results = [data.testIsTraining ? "training_data" : "test": fit.test.metrics, "training": training]

        let tx = try RunTransaction(target: out, overwrite: request.overwrite)
        try tx.abandoningOnError {
            for note in data.notes { output(note + "\n") }
            output("data: \(request.source.label): \(fit.trainingRows) training (no validation part: classic models fit all of it), "
                   + (data.testIsTraining ? "no held-out test (the training data)" : "\(data.test.count) test")
                   + " examples of shape \(data.inputShape), \(data.classNames.count) classes\n")
            output("model: \(fit.settings.text): \(fit.model.fittedText), fitted in \(String(format: "%.2f", fit.seconds)) s\n")
            let run = tx.current
            try run.writeJSON(description, to: run.description)
            try saveState(fit, to: run)
            try drawPictures(fit, data: data, run: run)
            try run.writeJSON(results, to: run.results)
            try tx.commit()
        }
        output((data.testIsTraining ? "training data (no held-out test): " : "test: ") + fit.test.line + "\n")
        let state = fit.settings.kind == .knn ? neighborsFile : stateFile
        output("wrote \(tx.current.path)/: model.json, \(state), results.json, confusion.svg"
               + (data.inputShape == [2] ? ", boundary.svg" : "") + "\n")
        return fit.test.metrics
    }

    /// Checks the data, fits `settings`' model on the whole training part and evaluates it on the
    /// test part; throws `RunError` on data it cannot learn from.
    static func fit(_ settings: ClassicSettings, data: RunData) throws -> ClassicFit {
        var settings = settings
        guard data.task == .classification else {
            throw RunError(op: "train", "--model \(settings.kind.rawValue) learns classes; \(data.task == .regression ? "this data is a regression task" : "this data is not a classification task") (use a network: --model mlp)")
        }
        let rows = data.train.count
        let trainY = data.train.targets.ints
        var counts = [Int](repeating: 0, count: data.classNames.count)
        for y in trainY where y >= 0 && y < counts.count { counts[y] += 1 }
        if let empty = counts.firstIndex(of: 0) {
            throw RunError(op: "train", "class '\(data.classNames[empty])' has no training rows (of \(rows)); every class needs at least one "
                           + "(more rows, or a smaller --test-split)")
        }
        guard counts.count >= 2 else { throw RunError(op: "train", "the training rows hold \(counts.count) class; at least 2 are needed") }
        if settings.kind == .knn && settings.neighbors > rows {
            throw RunError(op: "train", "--neighbors \(settings.neighbors) is more than the \(rows) training rows")
        }
        let raw = data.rawTrain ?? data.train
        let rawX = flat(raw.inputs)
        if rawX.cols > 0 && (0..<rawX.cols).allSatisfy({ j in (0..<rawX.rows).allSatisfy { rawX[$0, j] == rawX[0, j] } }) {
            throw RunError(op: "train", "all \(rawX.cols) features are constant over the \(rows) training rows; there is nothing to learn from")
        }
        // Multinomial naive Bayes reads counts as they are; every other model sees the usual scaling.
        let countData = settings.kind == .naiveBayes && data.inputShape.count == 1 && ClassicModel.isCountData(rawX)
        let scaling = countData ? RunData.Scaling(input: nil, target: nil) : data.scaling
        let x = countData ? rawX : flat(data.train.inputs)
        var model = ClassicModel(settings, countData: countData)
        settings.naiveBayes = model.naiveBayesVariant
        let start = monotonicSeconds()
        model.fit(x, trainY)
        let seconds = monotonicSeconds() - start
        let testStart = monotonicSeconds()
        let test = evaluate(model, inputs: scaling.inputs(data.rawTest.inputs), labels: data.rawTest.targets.ints,
                            classes: data.classNames.count)
        return ClassicFit(model: model, settings: settings, scaling: scaling, seconds: seconds,
                          testSeconds: monotonicSeconds() - testStart, test: test, trainingRows: rows,
                          trainX: x, trainY: trainY)
    }

    /// Accuracy and macro F1 of `model` on inputs already scaled, with the confusion matrix.
    static func evaluate(_ model: ClassicModel, inputs: Tensor, labels: [Int], classes: Int) -> Evaluation {
        let predicted = model.predict(flat(inputs))
        let matrix = ConfusionMatrix(predictions: predicted, labels: labels, classes: classes)
        return Evaluation(metrics: ["accuracy": matrix.accuracy, "macro_f1": matrix.scores.macroF1], confusion: matrix, count: labels.count)
    }

    /// `[N, ...]` as a feature matrix `[N, features]`.
    static func flat(_ x: Tensor) -> FeatureMatrix { FeatureMatrix(x.reshape([x.shape[0], -1])) }

    /// Writes the fitted state: `neighbors.safetensors` for kNN, `state.json` for the others.
    static func saveState(_ fit: ClassicFit, to run: RunFolder) throws {
        if case .knn = fit.model {
            let inputs = Tensor(shape: [fit.trainX.rows, fit.trainX.cols], scalars: fit.trainX.values.map { Float($0) })
            let labels = Tensor(shape: [fit.trainY.count], scalars: fit.trainY.map(Int64.init))
            do {
                try Safetensors.save(["inputs": inputs, "labels": labels], to: run.file(neighborsFile),
                                     metadata: ["neighbors": String(fit.settings.neighbors)])
            } catch { throw RunError(op: "train", "cannot write \(run.file(neighborsFile)): \(error)") }
        } else {
            try run.writeJSON(fit.model, to: run.file(stateFile))
        }
    }

    /// The fitted model of a classic run.
    static func loadModel(_ run: RunFolder, _ description: ClassicDescription) throws -> ClassicModel {
        if description.classic.kind == .knn {
            let file = run.file(neighborsFile)
            let tensors: [String: Tensor]
            do { tensors = try Safetensors.load(file).tensors } catch { throw RunError("cannot read \(file): \(error)") }
            guard let x = tensors["inputs"], let y = tensors["labels"], x.rank == 2, y.rank == 1, x.shape[0] == y.shape[0],
                  x.shape[0] >= description.classic.neighbors else {
                throw RunError("\(file) is not a kNN training set: it needs inputs [rows, features] and labels [rows], "
                               + "at least \(description.classic.neighbors) rows")
            }
            var model = ClassicModel(description.classic, countData: false)
            model.fit(FeatureMatrix(x), y.ints)
            return model
        }
        let file = run.file(stateFile)
        guard let data = FileManager.default.contents(atPath: file) else {
            throw RunError("\(run.path) is not a complete classic run: \(file) does not exist")
        }
        do { return try RunFolder.decoder.decode(ClassicModel.self, from: data) } catch {
            throw RunError("\(file) is not a valid fitted model: \(RunFolder.reason(error))")
        }
    }

    /// Reads a classic run's description, or throws `RunError` naming what is wrong.
    public static func readDescription(_ path: String) throws -> ClassicDescription {
        let run = RunFolder(path)
        try run.requireExisting()
        do {
            let bytes = try Foundation.Data(contentsOf: URL(fileURLWithPath: run.description))
            return try RunFolder.decoder.decode(ClassicDescription.self, from: bytes)
        } catch {
            throw RunError("\(run.description) is not a valid classic run description: \(RunFolder.reason(error))")
        }
    }

    static func drawPictures(_ fit: ClassicFit, data: RunData, run: RunFolder) throws {
        if let confusion = fit.test.confusion {
            try plotConfusionMatrix(counts: confusion.counts, classNames: data.classNames,
                                    title: "\(fit.settings.kind.rawValue): " + (data.testIsTraining ? "confusion matrix (training data)" : "test confusion matrix"))
                .write(to: run.confusion)
        }
        if data.inputShape == [2] {
            let (model, scaling) = (fit.model, fit.scaling)
            try plotDecisionBoundary(points: data.rawTest.inputs, labels: data.rawTest.targets.ints, classNames: data.classNames,
                                     title: "\(fit.settings.kind.rawValue): decision boundary (test points)") { grid in
                model.predict(flat(scaling.inputs(grid)))
            }.write(to: run.boundary)
        }
    }

    /// `myelin resume` on a classic run: these models are fitted in one pass and do not resume.
    public static func refuseResume(_ path: String) throws -> Never {
        let kind = (try? readDescription(path))?.classic.kind.rawValue ?? "classic"
        throw RunError(op: "resume", "\(path) holds a \(kind) model: classic models are fitted in one pass and do not resume; "
                       + "train again with `myelin train --model \(kind)`")
    }

    /// `myelin evaluate` on a classic run: its own test part, a catalogue data set's test part, or a labelled CSV file.
    public static func evaluate(_ path: String, source: DataSource?, dataDir: String?) throws -> (Evaluation, [String]) {
        let run = RunFolder(path)
        let description = try readDescription(path)
        let model = try loadModel(run, description)
        let inputs: Tensor, labels: [Int]
        switch source {
        case nil, .catalogue?, .generated?:
            var settings = description.settings
            settings.validationSplit = 0
            let data = try RunData.load(source ?? description.source, dataDir: dataDir, settings: settings)
            try UseJobs.check(data.inputShape, expected: description.inputShape, what: "the data")
            (inputs, labels) = (data.rawTest.inputs, data.rawTest.targets.ints)
        case .csv(let file, let label, _)?:
            let table = try UseJobs.readCSV(file, schema: description.schema, missing: description.settings.missing,
                                            source: description.source, requireLabel: true, label: label.isEmpty ? nil : label,
                                            table: plainTable(description))
            (inputs, labels) = (table.inputs, table.targets.ints)
        }
        guard inputs.shape[0] > 0 else { throw RunError(op: "evaluate", "no examples to evaluate on") }
        try UseJobs.checkFinite(inputs, what: "the data")
        let evaluation = evaluate(model, inputs: description.scaling.inputs(inputs), labels: labels, classes: description.classNames.count)
        return (evaluation, description.classNames)
    }

    /// The run's plain numeric features when it has no CSV schema (`UseJobs.PlainTable`).
    static func plainTable(_ description: ClassicDescription) -> UseJobs.PlainTable? {
        UseJobs.PlainTable(featureNames: description.featureNames, inputShape: description.inputShape,
                           classNames: description.classNames, task: description.task)
    }

    /// `myelin predict` on a classic run: `index,prediction` and, except for the perceptron, one probability column per class.
    public static func predict(_ path: String, input: String) throws -> String {
        let run = RunFolder(path)
        let description = try readDescription(path)
        let model = try loadModel(run, description)
        let inputs = try UseJobs.readInputs(input, csv: {
            try UseJobs.readCSV(input, schema: description.schema, missing: description.settings.missing,
                                source: description.source, requireLabel: false, table: plainTable(description)).inputs
        })
        try UseJobs.check(Array(inputs.shape.dropFirst()), expected: description.inputShape, what: input)
        try UseJobs.checkFinite(inputs, what: input)
        let x = flat(description.scaling.inputs(inputs))
        let predicted = model.predict(x)
        let classes = description.classNames
        let probabilities = model.predictProbabilities(x)
        var lines = [UseJobs.predictionHeader(probabilities == nil ? [] : model.classes.map { classes[$0] })]
        for i in 0..<x.rows {
            var fields = [String(i), UseJobs.csvField(classes[predicted[i]])]
            if let p = probabilities { fields += (0..<p.cols).map { String(format: "%.6f", p[i, $0]) } }
            lines.append(fields.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// What `myelin summary` prints for a classic run: data, model, what it keeps, settings, results.
    public static func summary(_ path: String) throws -> String {
        let run = RunFolder(path)
        let d = try readDescription(path)
        let model = try loadModel(run, d)
        var text = "run \(path)\n"
        text += "data: \(d.source.label), \(d.task.rawValue), classes: \(d.classNames.joined(separator: ", "))\n"
        text += "model: \(d.classic.text), classic learning: fitted in one pass on all \(d.trainingRows.grouped) training rows "
            + "(no validation part, no epochs of a network; does not resume)\n"
        let features = d.inputShape.reduce(1, *)
        if d.classic.kind == .knn {
            let bytes = (try? FileManager.default.attributesOfItem(atPath: run.file(neighborsFile))[.size] as? Int) ?? 0
            text += "state: \(neighborsFile) keeps the training set: \(d.trainingRows.grouped) rows x \(features.grouped) features "
                + "(\((d.trainingRows * features).grouped) values, \(byteText(bytes)))\n"
        } else {
            let bytes = (try? FileManager.default.attributesOfItem(atPath: run.file(stateFile))[.size] as? Int) ?? 0
            text += "state: \(stateFile) (\(byteText(bytes))): \(model.fittedText)\n"
        }
        text += "inputs: \(features) features, " + (d.scaling.input != nil ? "standardised as in training"
            : d.classic.naiveBayes == "multinomial" ? "raw counts (multinomial naive Bayes)" : "as they are (images in [0, 1])") + "\n"
        text += "settings: seed \(d.settings.seed), test split \(d.settings.testSplit)\n"
        text += resultsLines(run)
        return text
    }

    /// `1.9 kB`, `188.2 MB`.
    static func byteText(_ bytes: Int) -> String {
        let b = Double(bytes)
        if b >= 1e9 { return String(format: "%.1f GB", b / 1e9) }
        if b >= 1e6 { return String(format: "%.1f MB", b / 1e6) }
        if b >= 1e3 { return String(format: "%.1f kB", b / 1e3) }
        return "\(bytes) bytes"
    }
}
