import Foundation
import MyelinCore
import MyelinData
import MyelinNN
import MyelinTrain

/// What `sequence-classifier.json` holds: the data's source, the word vocabulary (fitted on the
/// training part), the classes, the network's sizes and the settings.
public struct SequenceClassifierDescription: Codable, Sendable, ResumableDescription {
    public var format = SequenceClassifierDescription.formatName
    public var version = 1
    /// The catalogue data set (`sms-spam`) or a CSV file's text and label columns.
    public var source: SequenceSource
    public var vocabulary: Vocabulary
    public var classNames: [String]
    public var cell: CharLanguageModel.Cell
    public var hidden: Int
    public var layers: Int
    public var embedding: Int
    /// Words kept of each message.
    public var maxLength: Int
    public var settings: TrainSettings

    public static let formatName = "myelin.sequence-classifier"

    public func build() -> SequenceClassifier {
        SequenceClassifier(vocabulary: vocabulary.count, embedding: embedding, hidden: hidden, layers: layers, cell: cell,
                           classes: classNames.count, generator: RandomGenerator(seed: settings.seed))
    }
}

/// Where a sequence classifier's messages come from.
public enum SequenceSource: Codable, Equatable, Sendable {
    case catalogue(name: String)
    case csv(path: String, textColumn: String, label: String)

    public var label: String {
        switch self {
        case .catalogue(let name): return name
        case .csv(let path, let text, let label): return "csv:\(path) (text '\(text)', label '\(label)')"
        }
    }
}

/// `myelin train --data sms-spam --model lstm|gru` (or `--csv FILE --text-column COL --label COL`): messages as word ids through a recurrent
/// encoder; `evaluate`, `summary`, `predict` (raw text) and `resume` of such a run.
///
/// The run folder holds `sequence-classifier.json` in place of `model.json`, `model.safetensors`,
/// `checkpoint.safetensors`, `metrics.csv`, `history.json` and `results.json`
/// (`{"test": {"loss", "accuracy"}, "validation": {...}, "training": {...}}`). The test part is a
/// stratified, seeded `--test-split` (0.2) of the messages, validation `--validation-split` (0.1)
/// of the rest; the vocabulary is the training part's words seen at least twice (at most 10,000).
public enum SequenceClassifierJob {
    public static func isSequenceClassifierRun(_ path: String) -> Bool {
        FileManager.default.fileExists(atPath: RunFolder(path).sequenceClassifier)
    }

    /// Whether `myelin train --data NAME --model MODEL` is a sequence classifier.
    public static func handles(data: String?, model: String?) -> Bool {
        data == "sms-spam" && (model == "lstm" || model == "gru")
    }

    struct Parts {
        var train: TokenSequenceDataset, validation: TokenSequenceDataset?, test: TokenSequenceDataset
        var vocabulary: Vocabulary
        var classNames: [String]
    }

    static func load(_ source: SequenceSource, dataDir: String?, settings: TrainSettings, vocabulary: Vocabulary?, maxLength: Int,
                     op: String) throws -> Parts {
        let (messages, y, classNames) = try source.messages(dataDir: dataDir, op: op)
        let split = MessageSplit(labels: y, settings: settings)
        let (train, validation, test) = (split.train, split.validation, split.test)
        let vocabulary = vocabulary ?? Vocabulary.words(in: train.map { messages[$0] }, maxSize: 10_000, minCount: 2)
        func part(_ rows: [Int]) -> TokenSequenceDataset {
            TokenSequenceDataset(texts: rows.map { messages[$0] }, labels: rows.map { y[$0] }, vocabulary: vocabulary, maxLength: maxLength)
        }
        return Parts(train: part(train), validation: validation.isEmpty ? nil : part(validation), test: part(test),
                     vocabulary: vocabulary, classNames: classNames)
    }

    /// Trains a new sequence classifier; the options are `LanguageModelRequest`'s (its source names
    /// the catalogue data set).
    @discardableResult
    public static func train(_ request: LanguageModelRequest, output: @escaping (String) -> Void) throws -> [String: Double] {
        guard case .catalogue(let name) = request.source else { throw RunError(op: "train", "a sequence classifier needs --data sms-spam") }
        return try train(.catalogue(name: name), request, output: output)
    }

    /// Trains a new sequence classifier on `source`.
    @discardableResult
    public static func train(_ source: SequenceSource, _ request: LanguageModelRequest, output: @escaping (String) -> Void) throws -> [String: Double] {
        try request.validate()
        var source = source
        if case .csv(let path, let text, let label) = source { source = .csv(path: TrainJob.absolutePath(path), textColumn: text, label: label) }
        guard request.cell != .rnn else { throw RunError(op: "train", "--model for a sequence classifier is lstm or gru") }
        let name: String
        switch source {
        case .catalogue(let n): name = n
        case .csv(let path, _, _): name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        }
        let out = request.out ?? TrainJob.newRunFolder(named: name)
        try RunTransaction.checkTarget(RunFolder(out), overwrite: request.overwrite)
        let parts = try load(source, dataDir: request.dataDir, settings: request.settings, vocabulary: nil,
                             maxLength: request.sequenceLength, op: "train")
        guard parts.test.count > 0 else {
            let total = parts.train.count + (parts.validation?.count ?? 0)
            throw RunError(op: "train", "--test-split \(request.settings.testSplit) holds out none of the \(total) messages; "
                           + "raise it or give more messages")
        }
        let description = SequenceClassifierDescription(source: source, vocabulary: parts.vocabulary, classNames: parts.classNames,
                                                        cell: request.cell, hidden: request.hidden, layers: request.layers,
                                                        embedding: request.embedding, maxLength: request.sequenceLength,
                                                        settings: request.settings)
        let model = description.build()
        try request.checkParameters(model)
        let tx = try RunTransaction(target: out, overwrite: request.overwrite)
        return try tx.abandoningOnError {
            output("data: \(source.label): \(parts.train.count) training, \(parts.validation?.count ?? 0) validation, \(parts.test.count) test "
                   + "messages, \(parts.vocabulary.count) words (up to \(request.sequenceLength) a message)\n")
            output("model: embedding \(request.embedding) -> \(request.cell.rawValue) \(request.layers)x\(request.hidden) -> \(parts.classNames.count) classes "
                   + "(\(model.parameterCount) parameters), \(request.settings.optimizer) lr \(request.settings.learningRate)\n")
            try tx.current.writeJSON(description, to: tx.current.sequenceClassifier)
            return try run(description, model: model, parts: parts, transaction: tx, checkpoint: nil, history: History(),
                           observers: request.observers,
                           verbosity: request.verbosity, output: output)
        }
    }

    /// Continues a sequence-classifier run from its last checkpoint.
    @discardableResult
    public static func resume(_ path: String, epochs: Int?, dataDir: String?, verbosity: Verbosity,
                              observers: RunObservers = RunObservers(),
                              output: @escaping (String) -> Void) throws -> [String: Double] {
        let (run, description, checkpoint) = try RunFolder.startResume(path, epochs: epochs, read: readDescription)
        guard checkpoint.epoch < description.settings.epochs else {
            throw run.alreadyTrained(checkpoint.epoch, of: description.settings.epochs)
        }
        let parts = try load(description.source, dataDir: dataDir, settings: description.settings,
                             vocabulary: description.vocabulary, maxLength: description.maxLength, op: "resume")
        let history = CSVLogger.read(path: run.metricsLog, upToEpoch: checkpoint.epoch)
        try run.reopen(description, to: run.sequenceClassifier, checkpoint: checkpoint, output: output)
        return try self.run(description, model: description.build(), parts: parts, transaction: RunTransaction(existing: run),
                            checkpoint: checkpoint, history: history, observers: observers, verbosity: verbosity, output: output)
    }

    static func run(_ description: SequenceClassifierDescription, model: SequenceClassifier, parts: Parts, transaction: RunTransaction,
                    checkpoint: Checkpoint?, history: History, observers: RunObservers = RunObservers(), verbosity: Verbosity,
                    output: @escaping (String) -> Void) throws -> [String: Double] {
        let s = description.settings
        let loader = DataLoader(parts.train, batchSize: s.batchSize, shuffle: true, seed: s.seed)
        let validation = parts.validation.map { DataLoader($0, batchSize: 256) }
        let trainer = try ClassifierTraining.trainer(model, optimizer: s.makeOptimizer(model.parameters()), settings: s,
                                                     validated: validation != nil, transaction: transaction, history: history,
                                                     observers: observers, verbosity: verbosity, output: output)
        let (tested, seconds) = try ClassifierTraining.fit(trainer, model, loader: loader, validation: validation,
                                                             test: DataLoader(parts.test, batchSize: 256), epochs: s.epochs,
                                                             checkpoint: checkpoint, history: history, transaction: transaction)
        var results = tested
        results["training"] = ["epochs": Double(trainer.history.epochs.count), "seconds": seconds,
                               "parameters": Double(model.parameterCount)]
        try ClassifierTraining.finish(results, transaction: transaction, output: output)
        output("wrote \(transaction.current.path)/: model.safetensors, sequence-classifier.json, checkpoint.safetensors, "
               + "history.json, metrics.csv, results.json\n")
        return results["test"]!
    }

    /// `index,prediction,p_ham,p_spam` for each message (raw text).
    public static func predict(_ path: String, messages: [String]) throws -> String {
        let description = try readDescription(path, op: "predict")
        guard !messages.isEmpty else { throw RunError(op: "predict", "no messages to classify") }
        let model = description.build()
        do { _ = try model.load(from: RunFolder(path).weights, strict: true) } catch {
            throw RunError(op: "predict", "cannot load weights into the model of sequence-classifier.json: "
                           + "\("\(error)".replacingOccurrences(of: "\n", with: " "))")
        }
        let data = TokenSequenceDataset(texts: messages, labels: messages.map { _ in 0 }, vocabulary: description.vocabulary,
                                        maxLength: description.maxLength)
        var lines = [UseJobs.predictionHeader(description.classNames)]
        for start in stride(from: 0, to: data.count, by: 256) {
            let rows = Array(start..<min(start + 256, data.count))
            let p = model.predict(data.batch(at: rows).inputs).softmax(axis: 1).doubles
            let k = description.classNames.count
            for (r, row) in rows.enumerated() {
                let probabilities = Array(p[r * k..<(r + 1) * k])
                let best = probabilities.indices.max { probabilities[$0] < probabilities[$1] }!
                lines.append(([String(row), UseJobs.csvField(description.classNames[best])] + probabilities.map { String(format: "%.6f", $0) })
                    .joined(separator: ","))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// What `myelin evaluate` prints: loss and accuracy on the run's own test part.
    public static func evaluate(_ path: String, dataDir: String?) throws -> String {
        let description = try readDescription(path, op: "evaluate")
        let model = description.build()
        do { _ = try model.load(from: RunFolder(path).weights, strict: true) } catch {
            throw RunError(op: "evaluate", "cannot load weights into the model of sequence-classifier.json: \(error)")
        }
        let parts = try load(description.source, dataDir: dataDir, settings: description.settings,
                             vocabulary: description.vocabulary, maxLength: description.maxLength, op: "evaluate")
        let trainer = Trainer(model: model, optimizer: description.settings.makeOptimizer(model.parameters()), loss: .crossEntropy,
                              metrics: [Accuracy()], verbosity: .silent)
        let test = trainer.evaluate(DataLoader(parts.test, batchSize: 256))
        return String(format: "test (%d messages): loss %.4f, accuracy %.4f\n", parts.test.count, test["loss"] ?? .nan,
                      test["accuracy"] ?? .nan)
    }

    public static func summary(_ path: String) throws -> String {
        let d = try readDescription(path, op: "summary")
        var text = "run \(path)\ndata: \(d.source.label), classification, classes: \(d.classNames.joined(separator: ", "))\n"
        text += "model: embedding \(d.embedding) (\(d.vocabulary.count) words) -> \(d.cell.rawValue) \(d.layers)x\(d.hidden) -> "
            + "\(d.classNames.count) classes, \(d.build().parameterCount) parameters\n"
        text += "settings: \(d.settings.optimizer) lr \(d.settings.learningRate), batch \(d.settings.batchSize), \(d.settings.epochs) epochs\n"
        return text + resultsLines(RunFolder(path))
    }

    static func readDescription(_ path: String, op: String) throws -> SequenceClassifierDescription {
        let file = RunFolder(path).sequenceClassifier
        guard isSequenceClassifierRun(path) else { throw RunError(op: op, "\(path) is not a sequence-classifier run: \(file) does not exist") }
        return try RunFolder.readDescription(SequenceClassifierDescription.self, file: file, kind: "sequence-classifier", op: op) { d in
            d.format == SequenceClassifierDescription.formatName && d.classNames.count >= 2 && d.vocabulary.count >= 1
                && [d.hidden, d.layers, d.embedding, d.maxLength].allSatisfy({ $0 >= 1 && $0 <= 100_000 })
        }
    }
}
