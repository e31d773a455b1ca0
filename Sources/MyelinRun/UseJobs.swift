import Foundation
import MyelinCore
import MyelinData
import MyelinNN
import MyelinTrain

/// `myelin evaluate`, `predict`, `summary` and `datasets`: jobs on a trained run folder.
public enum UseJobs {
    /// Where warnings of reading new data go (stderr in the command; tests may collect them).
    // nonisolated(unsafe): set by the `myelin` command on its main thread before it runs a job, and called by that job on the same thread.
    nonisolated(unsafe) public static var warn: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }

    /// Evaluates the run's final weights on the test part of its own data, or on `source`
    /// (a whole CSV file encoded as in training, or a catalogue or generated data set's test part).
    public static func evaluate(_ path: String, source: DataSource?, dataDir: String?) throws -> (Evaluation, [String]) {
        if ClassicJob.isClassicRun(path) { return try ClassicJob.evaluate(path, source: source, dataDir: dataDir) }
        let run = RunFolder(path)
        let description = try run.readDescription()
        let built = try RunModel(description, weights: run.weights)
        let raw: TensorDataset
        switch source {
        case nil, .catalogue?, .generated?:
            var settings = description.settings
            settings.validationSplit = 0
            let data = try RunData.load(source ?? description.source, dataDir: dataDir, settings: settings)
            try check(data.inputShape, against: description.spec, what: "the data")
            raw = data.rawTest
        case .csv(let file, let label, _)?:
            raw = try readCSV(file, description: description, requireLabel: true, label: label.isEmpty ? nil : label)
        }
        guard raw.count > 0 else { throw RunError(op: "evaluate", "no examples to evaluate on") }
        try checkFinite(raw.inputs, what: "the data")
        let evaluation = Evaluation.of(built.model, on: description.scaling.prepared(raw.inputs, raw.targets, task: description.task),
                                       task: description.task, scaling: description.scaling,
                                       classes: description.classNames?.count ?? 0, binaryLogit: built.binaryLogit)
        return (evaluation, description.classNames ?? [])
    }

    /// Predictions for the examples in `input` (CSV, IDX images, or `.npy`) as CSV text:
    /// `index,prediction` plus one probability column per class when classifying.
    public static func predict(_ path: String, input: String) throws -> String {
        if ClassicJob.isClassicRun(path) { return try ClassicJob.predict(path, input: input) }
        let run = RunFolder(path)
        let description = try run.readDescription()
        let built = try RunModel(description, weights: run.weights)
        let inputs = try readInputs(input, csv: { try readCSV(input, description: description, requireLabel: false).inputs })
        try check(Array(inputs.shape.dropFirst()), against: description.spec, what: input)
        try checkFinite(inputs, what: input)
        let (values, probabilities) = built.predict(description.scaling.inputs(inputs))
        var lines: [String] = []
        let classes = description.classNames ?? []
        switch description.task {
        case .classification:
            lines.append(predictionHeader(classes))
            let predicted = values.scalars(as: Int64.self)
            let p = probabilities!.floats
            for i in 0..<predicted.count {
                let row = p[(i * classes.count)..<((i + 1) * classes.count)].map { String(format: "%.6f", $0) }
                lines.append(([String(i), csvField(classes[Int(predicted[i])])] + row).joined(separator: ","))
            }
        case .regression:
            lines.append("index,prediction")
            for (i, v) in values.floats.enumerated() { lines.append("\(i),\(v)") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `index,prediction` and a `p_<class>` column per class, quoted where a name needs it.
    static func predictionHeader(_ classes: [String]) -> String {
        (["index", "prediction"] + classes.map { csvField("p_" + $0) }).joined(separator: ",")
    }

    static func csvField(_ s: String) -> String {
        s.contains(",") || s.contains("\"") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }

    /// The examples of a `predict` input: a CSV file (read by `csv`), a `.npy` array or IDX images; at least one.
    static func readInputs(_ input: String, csv: () throws -> Tensor) throws -> Tensor {
        let inputs: Tensor
        if input.lowercased().hasSuffix(".csv") {
            inputs = try csv()
        } else if input.lowercased().hasSuffix(".npy") {
            do { inputs = try Tensor(npyFile: input).to(.float32) } catch { throw RunError("cannot read \(input): \(error)") }
        } else {
            inputs = try IDX.readImages(at: input)
        }
        guard inputs.rank >= 1, inputs.shape[0] > 0 else { throw RunError(op: "predict", "\(input) holds no examples") }
        return inputs
    }

    /// Reads a CSV file with the run's schema, so columns are encoded exactly as in training;
    /// `label` names the file's label column when it differs from the training file's. A run that
    /// read a table of pixels as images (`digits` with a CNN) gets the rows as its images.
    static func readCSV(_ file: String, description: RunDescription, requireLabel: Bool, label: String? = nil) throws -> TensorDataset {
        let layout = description.settings.images == true ? Catalogue.imageLayout(description.source.label) : nil
        let table = try readCSV(file, schema: description.schema, missing: description.settings.missing, source: description.source,
                                requireLabel: requireLabel, label: label,
                                table: PlainTable(featureNames: description.featureNames,
                                                  inputShape: layout.map { [$0.pixels] } ?? description.spec.inputShape,
                                                  classNames: description.classNames ?? [], task: description.task))
        guard let layout else { return table.tensorDataset }
        return TensorDataset(inputs: layout.images(table.inputs), targets: table.targets)
    }

    /// A run's numeric features when it was trained on a table without a CSV schema (a catalogue
    /// set such as iris, a generated 2-D set): a CSV of those features can still be read.
    struct PlainTable {
        let featureNames: [String]
        let classNames: [String]
        let task: LearningTask

        /// Nil unless the model reads one value per named feature.
        init?(featureNames: [String]?, inputShape: [Int], classNames: [String], task: LearningTask) {
            guard let featureNames, !featureNames.isEmpty, inputShape == [featureNames.count] else { return nil }
            (self.featureNames, self.classNames, self.task) = (featureNames, classNames, task)
        }
    }

    /// `readCSV` with the parts of a run description it needs (`schema`, the `missing` policy, the
    /// source to name when there is no schema, the plain features to read when there is none).
    static func readCSV(_ file: String, schema: CSVSchema?, missing: String?, source: DataSource, requireLabel: Bool,
                        label: String? = nil, table plain: PlainTable? = nil) throws -> TabularDataset {
        let reader = CSVReader(label: nil, missing: CSVReader.MissingPolicy(rawValue: missing ?? "impute") ?? .impute)
        let table: TabularDataset, noLabel: String
        if var schema {
            if let label, label != schema.labelColumn {
                guard schema.hasHeader else {
                    throw RunError(op: "evaluate", "--label \(label): the run's CSV had no header, so its label is found by position")
                }
                schema.labelColumn = label
            }
            table = try reader.read(path: file, schema: schema)
            noLabel = "\(file) has no label column '\(schema.labelColumn ?? "\(schema.labelPosition ?? -1)")' to evaluate against"
        } else if let plain {
            table = try reader.readFeatures(path: file, featureNames: plain.featureNames, classNames: plain.classNames, task: plain.task)
            noLabel = "\(file) has no label column to evaluate against: after the \(plain.featureNames.count) features, one column of class names"
        } else {
            throw RunError("this run was trained on \(source.label), not on a CSV file; give images (IDX) or .npy")
        }
        for warning in table.report.warnings { warn("warning: \(warning)") }
        // Without a schema the label column is whichever one is not a feature: `--label` must name it.
        if schema == nil, let label, let plain, !table.hasLabels || table.schema.labelColumn != label {
            throw RunError(op: "evaluate", "--label \(label): \(file) has no such column besides the \(plain.featureNames.count) features")
        }
        if requireLabel && !table.hasLabels { throw RunError(noLabel) }
        guard table.count > 0 else { throw RunError(op: "csv", "\(file) has no data rows") }
        return table
    }

    /// Throws when `x` holds NaN or infinite values: a model's outputs would be meaningless.
    static func checkFinite(_ x: Tensor, what: String) throws {
        let values = x.to(.float32).floats
        guard let bad = values.firstIndex(where: { !$0.isFinite }) else { return }
        let width = max(1, x.count / max(x.shape.first ?? 1, 1))
        throw RunError(op: "predict", "\(what) holds a \(values[bad].isNaN ? "NaN" : "non-finite") value (example \(bad / width), "
                       + "element \(bad % width)); inputs must be finite numbers")
    }

    static func check(_ shape: [Int], against spec: ModelSpec, what: String) throws {
        try check(shape, expected: spec.inputShape, what: what)
    }

    /// Throws when examples of `shape` are not of the `expected` shape.
    static func check(_ shape: [Int], expected: [Int], what: String) throws {
        guard shape == expected else {
            let count = shape.reduce(1, *), wanted = expected.reduce(1, *)
            if shape.count == 1 && expected.count == 1 {
                throw RunError("\(what) has \(count) features per example but the model expects \(wanted)")
            }
            throw RunError("\(what) has examples of shape \(shape) but the model expects \(expected)")
        }
    }

    /// What `myelin summary` prints: data, model table, settings, final results.
    public static func summary(_ path: String, graph: Bool = false, graphFile: String? = nil) throws -> String {
        let textRuns: [(isKind: (String) -> Bool, kind: String, summary: (String) throws -> String)] = [
            (LanguageModelJob.isLanguageModelRun, "language model", LanguageModelJob.summary),
            (SequenceClassifierJob.isSequenceClassifierRun, "sequence classifier", SequenceClassifierJob.summary)]
        for run in textRuns where run.isKind(path) {
            guard !graph && graphFile == nil else {
                throw RunError(op: "summary", "\(path) holds a \(run.kind): --graph captures the networks of model.json (tables and images)")
            }
            return try run.summary(path)
        }
        if TransferClassifierJob.isTransferRun(path) {
            guard !graph && graphFile == nil else { throw RunError(op: "summary", "\(path) holds a transfer classifier: --graph is not supported for it") }
            return try TransferClassifierJob.summary(path)
        }
        if ClassicJob.isClassicRun(path) {
            guard !graph && graphFile == nil else { throw RunError(op: "summary", "\(path) holds a classic model, not a network: no graph to capture") }
            return try ClassicJob.summary(path)
        }
        let run = RunFolder(path)
        let description = try run.readDescription()
        if graph || graphFile != nil {
            // The forward pass in eval mode on one example, as `Module.traced` records it; weights are
            // constants named as in model.safetensors.
            let built = FileManager.default.fileExists(atPath: run.weights)
                ? try RunModel(description, weights: run.weights) : try RunModel(description)
            built.model.eval()
            let traced = built.model.traced(example: Tensor.zeros([1] + description.spec.inputShape))
            if let graphFile {
                do { try traced.save(to: graphFile) } catch {
                    throw RunError(op: "summary", "cannot write the graph to \(graphFile): \(error)")
                }
            }
            if graph { return "graph of \(path) (eval mode, a batch of 1):\n\(traced)\n" }
            return "graph of \(path) written to \(graphFile!) (\(traced.nodes.count) nodes, \(traced.constants.count) constants)\n"
        }
        let built = try RunModel(description)
        var text = "run \(path)\n"
        text += "data: \(description.source.label), \(description.task.rawValue)"
        if description.settings.images == true { text += " (read as \(description.spec.inputShape.map(String.init).joined(separator: "x")) images)" }
        if let classes = description.classNames, !classes.isEmpty { text += ", classes: \(classes.joined(separator: ", "))" }
        text += "\nlayers: \(description.spec.layersText.isEmpty ? "(linear)" : description.spec.layersText)\n"
        text += built.model.summary(inputShape: [1] + description.spec.inputShape) + "\n"
        let s = description.settings
        text += "settings: \(s.optimizer) lr \(s.learningRate), batch \(s.batchSize), \(s.epochs) epochs, seed \(s.seed)"
        if let p = s.patience { text += ", patience \(p)" }
        text += "\n"
        text += trainedLines(run)
        return text
    }

    /// What `myelin datasets` prints: each catalogue entry and where it was found (the generated
    /// sets: their options and defaults).
    public static func datasets(dataDir: String?) -> String {
        let catalogue = Catalogue(dataDir: dataDir, allowDownload: false)
        var lines: [String] = []
        for entry in Catalogue.entries {
            let place = entry.isGenerated
                ? "generated on the spot; by default \(GeneratedSet(entry.name).options)"
                : catalogue.status(entry.name) ?? "not found (downloaded on first use)"
            lines.append("\(entry.name.padding(toLength: 15, withPad: " ", startingAt: 0)) \(entry.description)\n"
                         + "                \(place)")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

extension UseJobs {
    /// `myelin filters`: redraws a CNN run's filters and the feature maps of test image `index`.
    public static func filters(_ path: String, index: Int, dataDir: String?, png: Bool) throws -> [String] {
        let run = RunFolder(path)
        let description = try run.readDescription()
        guard description.spec.isConvolutional else {
            throw RunError("\(path) holds a network without convolutions (\(description.spec.layersText)); nothing to draw")
        }
        let built = try RunModel(description, weights: run.weights)
        var settings = description.settings
        settings.validationSplit = 0
        let data = try RunData.load(description.source, dataDir: dataDir, settings: settings)
        guard index >= 0 && index < data.test.count else {
            throw RunError("image index \(index) is out of range: the test data has \(data.test.count) images")
        }
        return try FilterPictures.write(model: built.model, sample: data.test.inputs[index..<(index + 1)], to: run, png: png)
    }
}
