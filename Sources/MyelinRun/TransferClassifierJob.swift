import Foundation
import MyelinCore
import MyelinData
import MyelinNN
import MyelinPretrained
import MyelinTrain

/// What `transfer-classifier.json` holds: the messages' source, the classes, the encoder (name,
/// revision, files' SHA-256), how many of its top layers were fine-tuned and at what rate, and
/// the settings.
public struct TransferClassifierDescription: Codable, Sendable, ResumableDescription {
    public var format = TransferClassifierDescription.formatName
    public var version = 1
    public var source: SequenceSource
    public var classNames: [String]
    public var encoder: EncoderRecord
    /// Top encoder layers trained with the head (0: the encoder is frozen).
    public var fineTune: Int
    /// The learning rate of the fine-tuned layers (the head's is the settings').
    public var encoderLearningRate: Double
    public var settings: TrainSettings

    public static let formatName = "myelin.transfer-classifier"
}

/// `myelin train --data sms-spam --encoder all-MiniLM-L6-v2 [--fine-tune N]` (or `--csv FILE
/// --text-column COL --label COL --encoder NAME`): a classifier on a pretrained sentence encoder's
/// vectors; `evaluate`, `predict` (raw text), `summary` and `resume` of such a run.
///
/// Every message is run once through the frozen part of the encoder (evaluation mode, batches of
/// texts of similar length): to its sentence vector, or with `--fine-tune N` to the hidden states
/// below the top N layers. Then the head (a `Linear` layer: logistic regression) and the top N
/// layers (dropout on, at `--encoder-lr`, default a tenth of the head's rate) train on these.
/// The test part is a stratified, seeded `--test-split` (0.2) of the messages, validation
/// `--validation-split` (0.1) of the rest, as the sequence classifier's; `split.json` records them.
///
/// The run folder holds `transfer-classifier.json`, `split.json`, `model.safetensors` (the head
/// and the fine-tuned layers only, not the encoder), `checkpoint.safetensors`, `metrics.csv`,
/// `history.json` and `results.json`. Using the run loads the encoder through the registry and
/// refuses one whose files' SHA-256 differ from the recorded.
public enum TransferClassifierJob {
    /// What `train` needs besides the data's source.
    public struct Request {
        public var source: SequenceSource
        public var encoder: String
        public var fineTune = 0
        /// Default: a tenth of the head's learning rate.
        public var encoderLearningRate: Double?
        public var settings: TrainSettings
        public var dataDir: String?
        public var out: String?
        public var overwrite = false
        public var verbosity: Verbosity = .auto
        public var observers = RunObservers()
        /// Texts per batch through the encoder.
        public var encodeBatchSize = 32

        public init(source: SequenceSource, encoder: String, settings: TrainSettings = Request.defaultSettings, out: String? = nil) {
            self.source = source
            self.encoder = encoder
            self.settings = settings
            self.out = out
        }

        /// Adam at 1e-2 for 20 epochs of batches of 32 with cosine decay; test 0.2, validation 0.1.
        /// With fine-tuning the CLI lowers the rate to 1e-3 (the layers at 1e-4) and the epochs to 3.
        public static var defaultSettings: TrainSettings {
            var s = TrainSettings()
            s.learningRate = 1e-2
            s.epochs = 20
            s.batchSize = 32
            s.testSplit = 0.2
            s.validationSplit = 0.1
            s.cosine = true
            return s
        }
    }

    public static func isTransferRun(_ path: String) -> Bool {
        FileManager.default.fileExists(atPath: RunFolder(path).transferClassifier)
    }

    /// The training, validation and test data as the encoder's lower layers see them.
    struct Parts {
        var train: any Dataset, validation: (any Dataset)?, test: any Dataset
        var split: MessageSplit
        var truncated: Int
        var messages: Int
        /// Time spent running the messages through the frozen part of the encoder.
        var seconds: Double
    }

    static func features(_ texts: [String], labels: [Int64], encoder: SentenceEncoder, fineTune: Int, batchSize: Int) -> (any Dataset, Int) {
        if fineTune == 0 {
            let e = encoder.encode(texts, batchSize: batchSize)
            return (TensorDataset(inputs: e.vectors, targets: Tensor(shape: [labels.count], scalars: labels)), e.truncated)
        }
        let d = TokenStatesDataset(texts: texts, labels: labels, encoder: encoder, layers: encoder.model.encoder.layer.count - fineTune,
                                   batchSize: batchSize)
        return (d, d.truncated)
    }

    static func load(_ d: TransferClassifierDescription, dataDir: String?, encoder: SentenceEncoder, recorded: MessageSplit?,
                     batchSize: Int, op: String) throws -> Parts {
        let (texts, labels, classNames) = try d.source.messages(dataDir: dataDir, op: op)
        let start = monotonicSeconds()
        guard classNames == d.classNames else {
            throw RunError(op: op, "the data's classes are \(classNames.joined(separator: ", ")); the run was trained on "
                           + d.classNames.joined(separator: ", "))
        }
        let split = MessageSplit(labels: labels, settings: d.settings)
        if let recorded, recorded != split {
            throw RunError(op: op, "the messages of \(d.source.label) are not those the run was trained on (split.json differs)")
        }
        func part(_ rows: [Int]) -> (any Dataset, Int) {
            features(rows.map { texts[$0] }, labels: rows.map { labels[$0] }, encoder: encoder, fineTune: d.fineTune, batchSize: batchSize)
        }
        let train = part(split.train), test = part(split.test)
        let validation = split.validation.isEmpty ? nil : part(split.validation)
        return Parts(train: train.0, validation: validation?.0, test: test.0, split: split,
                     truncated: train.1 + test.1 + (validation?.1 ?? 0), messages: texts.count, seconds: monotonicSeconds() - start)
    }

    /// Checks the options that need no data: the settings, `fineTune` against the encoder's
    /// layers and the encoder's learning rate.
    static func check(_ request: Request, layers: Int) throws {
        try request.settings.validate()
        guard (0...layers).contains(request.fineTune) else {
            throw RunError(op: "train", "--fine-tune must be between 0 and the encoder's \(layers) layers, got \(request.fineTune)")
        }
        if let rate = request.encoderLearningRate, !(rate.isFinite && rate > 0) {
            throw RunError(op: "train", "--encoder-lr must be positive, got \(rate)")
        }
        if request.encoderLearningRate != nil && request.fineTune == 0 {
            throw RunError(op: "train", "--encoder-lr is the rate of the fine-tuned layers; give --fine-tune N too")
        }
        if request.settings.loss != nil && request.settings.loss != "ce" {
            throw RunError(op: "train", "a transfer classifier learns with cross-entropy; --loss \(request.settings.loss!) does not apply")
        }
    }

    /// Trains a new transfer classifier; the encoder comes from `catalog`.
    @discardableResult
    public static func train(_ request: Request, catalog: EncoderCatalog, output: @escaping (String) -> Void) throws -> [String: Double] {
        var request = request
        if request.fineTune < 0 { throw RunError(op: "train", "--fine-tune must be 0 or more, got \(request.fineTune)") }
        try request.settings.validate()
        if case .csv(let path, let text, let label) = request.source {
            request.source = .csv(path: TrainJob.absolutePath(path), textColumn: text, label: label)
        }
        let name: String
        switch request.source {
        case .catalogue(let n): name = n
        case .csv(let path, _, _): name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        }
        let out = request.out ?? TrainJob.newRunFolder(named: name)
        try RunTransaction.checkTarget(RunFolder(out), overwrite: request.overwrite)
        let (encoder, entry) = try catalog.load(request.encoder)
        try check(request, layers: encoder.model.encoder.layer.count)
        let (_, _, classNames) = try request.source.messages(dataDir: request.dataDir, op: "train")
        let description = TransferClassifierDescription(
            source: request.source, classNames: classNames, encoder: EncoderRecord(entry: entry, encoder: encoder),
            fineTune: request.fineTune, encoderLearningRate: request.encoderLearningRate ?? request.settings.learningRate / 10,
            settings: request.settings)
        let parts = try load(description, dataDir: request.dataDir, encoder: encoder, recorded: nil, batchSize: request.encodeBatchSize,
                             op: "train")
        let what = request.fineTune == 0 ? "sentence vectors" : "hidden states below the top \(request.fineTune) layers"
        output("data: \(request.source.label): \(parts.split.train.count) training, \(parts.split.validation.count) validation, "
               + "\(parts.split.test.count) test messages; \(what) of \(entry.name) in "
               + String(format: "%.1f s", parts.seconds)
               + (parts.truncated == 0 ? "" : ", \(parts.truncated) cut to \(encoder.maxSequenceLength) tokens") + "\n")
        let tx = try RunTransaction(target: out, overwrite: request.overwrite)
        return try tx.abandoningOnError {
            try tx.current.writeJSON(description, to: tx.current.transferClassifier)
            try tx.current.writeJSON(parts.split, to: tx.current.split)
            return try run(description, encoder: encoder, parts: parts, transaction: tx, checkpoint: nil, history: History(),
                           observers: request.observers, verbosity: request.verbosity, output: output)
        }
    }

    /// Continues a transfer-classifier run from its last checkpoint (the messages are embedded again).
    @discardableResult
    public static func resume(_ path: String, epochs: Int?, dataDir: String?, catalog: EncoderCatalog, verbosity: Verbosity,
                              observers: RunObservers = RunObservers(), output: @escaping (String) -> Void) throws -> [String: Double] {
        let (run, description, checkpoint) = try RunFolder.startResume(path, epochs: epochs, read: readDescription)
        guard checkpoint.epoch < description.settings.epochs else {
            throw run.alreadyTrained(checkpoint.epoch, of: description.settings.epochs)
        }
        let encoder = try catalog.load(recorded: description.encoder, op: "resume")
        let parts = try load(description, dataDir: dataDir, encoder: encoder, recorded: try readSplit(path, op: "resume"), batchSize: 32,
                             op: "resume")
        let history = CSVLogger.read(path: run.metricsLog, upToEpoch: checkpoint.epoch)
        try run.reopen(description, to: run.transferClassifier, checkpoint: checkpoint, output: output)
        return try self.run(description, encoder: encoder, parts: parts, transaction: RunTransaction(existing: run),
                            checkpoint: checkpoint, history: history, observers: observers, verbosity: verbosity, output: output)
    }

    static func build(_ d: TransferClassifierDescription, encoder: SentenceEncoder) throws -> TransferClassifier {
        try TransferClassifier(encoder: encoder, fineTune: d.fineTune, classes: d.classNames.count, generator: RandomGenerator(seed: d.settings.seed))
    }

    static func run(_ d: TransferClassifierDescription, encoder: SentenceEncoder, parts: Parts, transaction: RunTransaction,
                    checkpoint: Checkpoint?, history: History, observers: RunObservers, verbosity: Verbosity,
                    output: @escaping (String) -> Void) throws -> [String: Double] {
        let s = d.settings
        let model = try build(d, encoder: encoder)
        let tuned = model.top.flatMap { $0.parameters() }
        let optimizer = s.makeOptimizer(groups: [(model.head.parameters(), s.learningRate)]
                                            + (tuned.isEmpty ? [] : [(tuned, d.encoderLearningRate)]))
        let trained = model.parameterCount
        output("model: \(d.encoder.name) (\(d.encoder.layers) layers, "
               + (d.fineTune == 0 ? "frozen" : "top \(d.fineTune) fine-tuned at lr \(d.encoderLearningRate)")
               + ") -> linear \(d.encoder.dimension) -> \(d.classNames.count) classes (\(trained) parameters trained), "
               + "\(s.optimizer) lr \(s.learningRate)\n")
        let loader = DataLoader(parts.train, batchSize: s.batchSize, shuffle: true, seed: s.seed)
        let validation = parts.validation.map { DataLoader($0, batchSize: 64) }
        let trainer = try ClassifierTraining.trainer(model, optimizer: optimizer, settings: s, validated: validation != nil,
                                                     transaction: transaction, history: history, observers: observers,
                                                     verbosity: verbosity, output: output)
        if d.fineTune > 0 {
            // BERT's dropout draws from the global generator: seeded from --seed, saved in checkpoints and restored on resume.
            Random.seed(s.seed &+ 3)
            trainer.generators["dropout"] = Random.global
        }
        let (tested, seconds) = try ClassifierTraining.fit(trainer, model, loader: loader, validation: validation,
                                                             test: DataLoader(parts.test, batchSize: 64), epochs: s.epochs,
                                                             checkpoint: checkpoint, history: history, transaction: transaction)
        var results = tested
        let epochsRun = trainer.history.epochs.count - (checkpoint?.epoch ?? 0)
        results["training"] = ["epochs": Double(trainer.history.epochs.count), "seconds": seconds, "parameters": Double(trained),
                               "seconds_per_epoch": seconds / Double(max(epochsRun, 1)), "encoding_seconds": parts.seconds,
                               "truncated": Double(parts.truncated)]
        try ClassifierTraining.finish(results, transaction: transaction, output: output)
        output("wrote \(transaction.current.path)/: model.safetensors (head\(d.fineTune == 0 ? "" : " and top \(d.fineTune) layers")), "
               + "transfer-classifier.json, split.json, checkpoint.safetensors, history.json, metrics.csv, results.json\n")
        return results["test"]!
    }

    /// The run's classifier with its trained weights, on the encoder it recorded.
    static func restore(_ path: String, catalog: EncoderCatalog, op: String) throws -> (TransferClassifierDescription, TransferClassifier) {
        let d = try readDescription(path, op: op)
        let encoder = try catalog.load(recorded: d.encoder, op: op)
        let model = try build(d, encoder: encoder)
        do { _ = try model.load(from: RunFolder(path).weights, strict: true) } catch {
            throw RunError(op: op, "cannot load \(RunFolder(path).weights) into the classifier of transfer-classifier.json: "
                           + "\("\(error)".replacingOccurrences(of: "\n", with: " "))")
        }
        model.eval()
        return (d, model)
    }

    /// The texts to classify from a file: a CSV's text column when the run came from a CSV and the
    /// file ends in `.csv`, else one text a line.
    public static func texts(in file: String, run path: String) throws -> [String] {
        let d = try readDescription(path, op: "predict")
        if case .csv(_, let column, _) = d.source, file.lowercased().hasSuffix(".csv") {
            return try CSVTextColumns.read(path: file, text: column, label: column).texts
        }
        // Blank lines are skipped, as for a sequence classifier: `index` counts the messages.
        do { return try EmbedJob.lines(of: file, skippingBlank: true) } catch { throw RunError(op: "predict", "cannot read \(file): \(error)") }
    }

    /// `index,prediction,p_<class>...` for each raw text, and how many were cut to the encoder's length.
    public static func predict(_ path: String, messages: [String], catalog: EncoderCatalog) throws -> (csv: String, truncated: Int) {
        _ = try readDescription(path, op: "predict")
        guard !messages.isEmpty else { throw RunError(op: "predict", "no messages to classify") }
        let (d, model) = try restore(path, catalog: catalog, op: "predict")
        let (logits, truncated) = model.classify(messages)
        let p = logits.softmax(axis: 1).to(.float64).doubles, k = d.classNames.count
        var lines = [UseJobs.predictionHeader(d.classNames)]
        for row in messages.indices {
            let probabilities = Array(p[row * k..<(row + 1) * k])
            let best = probabilities.indices.max { probabilities[$0] < probabilities[$1] }!
            lines.append(([String(row), UseJobs.csvField(d.classNames[best])] + probabilities.map { String(format: "%.6f", $0) }).joined(separator: ","))
        }
        return (lines.joined(separator: "\n") + "\n", truncated)
    }

    /// What `myelin evaluate` prints: loss and accuracy on the run's own test part, from raw text
    /// through the whole encoder.
    public static func evaluate(_ path: String, dataDir: String?, catalog: EncoderCatalog) throws -> String {
        let (d, model) = try restore(path, catalog: catalog, op: "evaluate")
        let (texts, labels, classNames) = try d.source.messages(dataDir: dataDir, op: "evaluate")
        guard classNames == d.classNames else {
            throw RunError(op: "evaluate", "the data's classes are \(classNames.joined(separator: ", ")); the run was trained on "
                           + d.classNames.joined(separator: ", "))
        }
        let split = MessageSplit(labels: labels, settings: d.settings)
        if let recorded = try readSplit(path, op: "evaluate"), recorded != split {
            throw RunError(op: "evaluate", "the messages of \(d.source.label) are not those the run was trained on (split.json differs)")
        }
        let (logits, truncated) = model.classify(split.test.map { texts[$0] })
        let y = Tensor(shape: [split.test.count], scalars: split.test.map { labels[$0] })
        let loss = crossEntropy(logits, labels: y).item()
        let predicted = logits.argmax(axis: 1).to(.int64).scalars(as: Int64.self)
        let right = zip(predicted, split.test.map { labels[$0] }).count { $0 == $1 }
        return String(format: "test (%d messages): loss %.4f, accuracy %.4f", split.test.count, loss, Double(right) / Double(split.test.count))
            + (truncated == 0 ? "" : " (\(truncated) cut to \(d.encoder.maxSequenceLength) tokens)") + "\n"
    }

    public static func summary(_ path: String) throws -> String {
        let d = try readDescription(path, op: "summary")
        var text = "run \(path)\ndata: \(d.source.label), classification, classes: \(d.classNames.joined(separator: ", "))\n"
        text += "encoder: \(d.encoder.name) (\(d.encoder.repository) at \(d.encoder.revision)), \(d.encoder.layers) layers of "
            + "\(d.encoder.dimension), at most \(d.encoder.maxSequenceLength) tokens; "
            + (d.fineTune == 0 ? "frozen\n" : "top \(d.fineTune) layers fine-tuned at lr \(d.encoderLearningRate)\n")
        text += "model: " + (d.fineTune == 0 ? "" : "encoder layers \(d.encoder.layers - d.fineTune)...\(d.encoder.layers - 1) (trained) -> pooling -> ")
            + "linear \(d.encoder.dimension) -> \(d.classNames.count) classes (logistic regression on the sentence vectors)\n"
        text += "settings: \(d.settings.optimizer) lr \(d.settings.learningRate), batch \(d.settings.batchSize), \(d.settings.epochs) epochs\n"
        return text + resultsLines(RunFolder(path))
    }

    static func readDescription(_ path: String, op: String) throws -> TransferClassifierDescription {
        let file = RunFolder(path).transferClassifier
        guard isTransferRun(path) else { throw RunError(op: op, "\(path) is not a transfer-classifier run: \(file) does not exist") }
        return try RunFolder.readDescription(TransferClassifierDescription.self, file: file, kind: "transfer-classifier", op: op) { d in
            d.format == TransferClassifierDescription.formatName && d.classNames.count >= 2
                && (1...1000).contains(d.encoder.layers) && (0...d.encoder.layers).contains(d.fineTune)
                && d.encoderLearningRate.isFinite && d.encoderLearningRate > 0
        }
    }

    /// The recorded split, or nil when the run has no `split.json`.
    static func readSplit(_ path: String, op: String) throws -> MessageSplit? {
        let file = RunFolder(path).split
        guard let data = FileManager.default.contents(atPath: file) else { return nil }
        do { return try RunFolder.decoder.decode(MessageSplit.self, from: data) } catch {
            throw RunError(op: op, "\(file) is not a valid split: \(RunFolder.reason(error))")
        }
    }
}

extension RunFolder {
    /// A transfer classifier's description (in place of `model.json`).
    public var transferClassifier: String { file("transfer-classifier.json") }
    /// The message indices of a text classifier's training, validation and test parts.
    public var split: String { file("split.json") }
}
