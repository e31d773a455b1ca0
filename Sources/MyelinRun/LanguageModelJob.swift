import Foundation
import MyelinCore
import MyelinData
import MyelinNN
import MyelinTrain

/// What `myelin train` was asked to do with a text: a character-level language model.
public struct LanguageModelRequest {
    public var source: TextSource
    public var dataDir: String?
    public var cell: CharLanguageModel.Cell = .lstm
    public var hidden = 256
    public var layers = 2
    public var embedding = 64
    public var sequenceLength = 100
    /// Characters of the sample written to `samples.txt` after each epoch.
    public var sampleLength = 500
    public var settings = LanguageModelRequest.defaultSettings
    public var out: String?
    public var overwrite = false
    public var maxParameters = TrainRequest.defaultMaxParameters
    public var verbosity: Verbosity = .auto
    /// A dashboard's callbacks and the statistics it wants recorded.
    public var observers = RunObservers()

    /// The acceptance set-up: batch 64, Adam 2e-3, gradient norm clipped to 5, 10 epochs, the
    /// last 10% of the text for testing and the 5% before it for validation, no cosine decay.
    public static var defaultSettings: TrainSettings {
        var s = TrainSettings()
        s.batchSize = 64
        s.learningRate = 2e-3
        s.clipGradNorm = 5
        s.testSplit = 0.1
        s.validationSplit = 0.05
        s.cosine = false
        return s
    }

    public init(source: TextSource, out: String?) {
        self.source = source
        self.out = out
    }

    /// Throws when `model` has more parameters than `maxParameters` allows.
    func checkParameters(_ model: Module) throws {
        guard model.parameterCount <= maxParameters else {
            throw RunError(op: "train", "the model has \(model.parameterCount) parameters, more than --max-parameters \(maxParameters)")
        }
    }

    /// Checks every option before anything is read or written; throws `RunError` naming the option.
    public func validate() throws {
        try settings.validate()
        for (option, value, most) in [("hidden", hidden, 8192), ("num-layers", layers, 16), ("embedding", embedding, 8192),
                                      ("seq-len", sequenceLength, 100_000), ("sample-length", sampleLength, 1_000_000)]
        where value < 1 || value > most {
            if option == "sample-length" && value == 0 { continue }
            throw RunError(op: "train", "--\(option) must be between 1 and \(most), got \(value)")
        }
        if settings.loss != nil && settings.loss != "ce" {
            throw RunError(op: "train", "a language model learns with cross-entropy; --loss \(settings.loss!) does not apply")
        }
        if let out { try RunFolder(out).checkCreatable() }
    }
}

/// `myelin train` on a text, `resume`, `evaluate`, `summary` and `generate` of such a run.
///
/// The run folder holds `language-model.json` (a `LanguageModelDescription`; it takes the place
/// of a classifier's `model.json`), `model.safetensors`, `checkpoint.safetensors` (weights,
/// optimiser, the loader's shuffling position and the sample generator), `metrics.csv`,
/// `history.json`, `samples.txt` (one sample per epoch) and `results.json`
/// (`{"test": {"loss", "bits_per_char", "perplexity"}, "validation": {...}, "training": {...}}`).
///
/// Windows are independent: each starts from a zero state (in training, validation and test),
/// so no recurrent state is carried from batch to batch and none needs saving.
public enum LanguageModelJob {
    /// Whether `path` holds a language-model run.
    public static func isLanguageModelRun(_ path: String) -> Bool {
        FileManager.default.fileExists(atPath: RunFolder(path).languageModel)
    }

    /// Trains a new model as `request` says and writes the run folder (built in a staging folder
    /// that appears under its name at the first checkpoint).
    @discardableResult
    public static func train(_ request: LanguageModelRequest, output: @escaping (String) -> Void) throws -> [String: Double] {
        try request.validate()
        var source = request.source
        if case .file(let path) = source { source = .file(path: TrainJob.absolutePath(path)) }
        let out = request.out ?? TrainJob.newRunFolder(named: {
            if case .catalogue(let name) = source { return name }
            return ((request.source.label.dropFirst(5).description as NSString).lastPathComponent as NSString).deletingPathExtension
        }())
        try RunTransaction.checkTarget(RunFolder(out), overwrite: request.overwrite)
        let text = try LanguageModelData.readText(source, dataDir: request.dataDir, op: "train")
        let s = request.settings
        let data = try LanguageModelData(text: text, sequenceLength: request.sequenceLength, testSplit: s.testSplit,
                                         validationSplit: s.validationSplit, op: "train")
        let description = LanguageModelDescription(source: source, vocabulary: data.vocabulary, cell: request.cell,
                                                   hidden: request.hidden, layers: request.layers, embedding: request.embedding,
                                                   sequenceLength: request.sequenceLength, sampleLength: request.sampleLength,
                                                   settings: s, textSHA256: LanguageModelDescription.digest(text))
        let model = description.build()
        try request.checkParameters(model)
        let tx = try RunTransaction(target: out, overwrite: request.overwrite)
        return try tx.abandoningOnError {
            output("data: \(source.label): \(data.characters) characters, \(data.vocabulary.count) distinct; windows of "
                   + "\(request.sequenceLength): \(data.train.count) training, \(data.validation?.count ?? 0) validation, "
                   + "\(data.test.count) test\n")
            output("model: \(description.line) (\(model.parameterCount) parameters), \(s.optimizer) lr \(s.learningRate), "
                   + "batch \(s.batchSize)" + (s.clipGradNorm.map { ", gradient norm clipped to \($0)" } ?? "") + "\n")
            try tx.current.writeJSON(description, to: tx.current.languageModel)
            let session = try LanguageModelSession(description, model: model, data: data, transaction: tx, checkpoint: nil,
                                                   history: History(), samples: [], verbosity: request.verbosity,
                                                   observers: request.observers, output: output)
            return try session.run()
        }
    }

    /// Continues a language-model run from its last checkpoint up to `epochs` (default: its own).
    @discardableResult
    public static func resume(_ path: String, epochs: Int?, dataDir: String?, verbosity: Verbosity,
                              observers: RunObservers = RunObservers(),
                              output: @escaping (String) -> Void) throws -> [String: Double] {
        let (run, description, checkpoint) = try RunFolder.startResume(path, epochs: epochs, read: readDescription)
        let data = try loadData(description, dataDir: dataDir, op: "resume")
        let model = description.build()
        let history = CSVLogger.read(path: run.metricsLog, upToEpoch: checkpoint.epoch)
        let samples = Array(LanguageModelSession.readSamples(run.samples).prefix(checkpoint.epoch))
        let tx = RunTransaction(existing: run)
        let session = try LanguageModelSession(description, model: model, data: data, transaction: tx, checkpoint: checkpoint,
                                               history: history, samples: samples, verbosity: verbosity,
                                               observers: observers, output: output)
        if checkpoint.epoch >= description.settings.epochs {
            if !FileManager.default.fileExists(atPath: run.results) {
                output("completing \(path): its last checkpoint (epoch \(checkpoint.epoch)) has no final files yet\n")
                return try session.finish(seconds: 0, epochsRun: 0)
            }
            throw run.alreadyTrained(checkpoint.epoch, of: description.settings.epochs)
        }
        try run.reopen(description, to: run.languageModel, checkpoint: checkpoint, output: output)
        return try session.run()
    }

    /// The test part's loss of the run's final weights, as `myelin evaluate` prints it.
    public static func evaluate(_ path: String, dataDir: String?) throws -> String {
        let description = try readDescription(path, op: "evaluate")
        let model = try loadModel(description, path: path, op: "evaluate")
        let data = try loadData(description, dataDir: dataDir, op: "evaluate")
        let loss = testLoss(model, data.test, batchSize: description.settings.batchSize)
        return "test (\(data.test.count) windows of \(description.sequenceLength)): " + lossLine(loss) + "\n"
    }

    /// Text drawn from the run's model after `prompt` (returned with the prompt in front).
    ///
    /// Throws `RunError` (`[generate] ...`) for a folder that is not a language-model run, a prompt
    /// with characters outside the vocabulary and out-of-range sampling options.
    public static func generate(_ path: String, prompt: String, length: Int, temperature: Double, topK: Int?, topP: Double?,
                                seed: UInt64) throws -> String {
        guard length >= 0, length <= 1_000_000 else { throw RunError(op: "generate", "--length must be in 0...1000000, got \(length)") }
        guard temperature.isFinite, temperature >= 0 else {
            throw RunError(op: "generate", "--temperature must be finite and at least 0, got \(temperature)")
        }
        if let topK, topK < 1 { throw RunError(op: "generate", "--top-k must be at least 1, got \(topK)") }
        if let topP, !(topP > 0 && topP <= 1) { throw RunError(op: "generate", "--top-p must be in (0, 1], got \(topP)") }
        let description = try readDescription(path, op: "generate")
        let vocabulary = description.vocabulary
        var ids: [Int] = []
        for ch in prompt.unicodeScalars {
            guard let i = vocabulary.index(of: String(ch)) else {
                throw RunError(op: "generate", "the prompt has the character \(visible(ch)), which is not among the model's "
                               + "\(vocabulary.count) characters")
            }
            ids.append(i)
        }
        let model = try loadModel(description, path: path, op: "generate")
        let start = ids.isEmpty ? [vocabulary.index(of: "\n") ?? 0] : ids
        let drawn = try model.generate(prompt: start, length: length, sampler: TokenSampler(temperature: temperature, topK: topK, topP: topP),
                                   generator: RandomGenerator(seed: seed))
        return prompt + vocabulary.decode(drawn)
    }

    /// What `myelin summary` prints for a language-model run.
    public static func summary(_ path: String) throws -> String {
        let run = RunFolder(path)
        let description = try readDescription(path, op: "summary")
        let model = description.build()
        let s = description.settings
        var text = "run \(path)\n"
        text += "data: \(description.source.label), character-level language model\n"
        text += "model: \(description.line), \(model.parameterCount) parameters\n"
        text += "settings: \(s.optimizer) lr \(s.learningRate), batch \(s.batchSize), \(s.epochs) epochs, seed \(s.seed)"
        if let clip = s.clipGradNorm { text += ", gradient norm clipped to \(clip)" }
        text += "\n"
        text += trainedLines(run)
        return text
    }

    // MARK: helpers

    /// Reads `language-model.json`; a classifier's run folder or no run at all throws.
    static func readDescription(_ path: String, op: String) throws -> LanguageModelDescription {
        let run = RunFolder(path)
        guard isLanguageModelRun(path) else {
            if FileManager.default.fileExists(atPath: run.description) {
                throw RunError(op: op, "\(path) is a run of another kind (a classifier or regressor, model.json), not a language "
                               + "model (train one with `myelin train --data tinyshakespeare` or `--text FILE`)")
            }
            throw RunError(op: op, "\(path) is not a language-model run folder: \(run.languageModel) does not exist")
        }
        return try RunFolder.readDescription(LanguageModelDescription.self, file: run.languageModel, kind: "language-model", op: op) { d in
            d.format == LanguageModelDescription.formatName && d.vocabulary.count > 0
                && [d.hidden, d.layers, d.embedding, d.sequenceLength].allSatisfy({ $0 >= 1 && $0 <= 100_000 })
        }
    }

    static func loadModel(_ description: LanguageModelDescription, path: String, op: String) throws -> CharLanguageModel {
        let run = RunFolder(path)
        let model = description.build()
        do { _ = try model.load(from: run.weights, strict: true) } catch {
            throw RunError(op: op, "cannot load weights \(run.weights) into the model of language-model.json: "
                           + "\("\(error)".replacingOccurrences(of: "\n", with: " "))")
        }
        model.eval()
        return model
    }

    static func loadData(_ description: LanguageModelDescription, dataDir: String?, op: String) throws -> LanguageModelData {
        let text = try LanguageModelData.readText(description.source, dataDir: dataDir, op: op)
        // Another text would give other windows: a resumed run would train on them, a loss would describe them.
        if let recorded = description.textSHA256, recorded != LanguageModelDescription.digest(text) {
            throw RunError(op: op, "the text of \(description.source.label) changed since the run was trained (its SHA-256 differs); "
                           + "\(op) needs the text the run was trained on")
        }
        return try LanguageModelData(text: text, vocabulary: description.vocabulary, sequenceLength: description.sequenceLength,
                                     testSplit: description.settings.testSplit,
                                     validationSplit: description.settings.validationSplit, op: op)
    }

    /// Mean cross-entropy per character (nats) over `windows`, each from a zero state.
    static func testLoss(_ model: CharLanguageModel, _ windows: LanguageModelDataset, batchSize: Int) -> Double {
        let wasTraining = model.isTraining
        model.eval()
        defer { if wasTraining { model.train() } }
        var total = 0.0, count = 0
        withoutGrad {
            for batch in DataLoader(windows, batchSize: batchSize) {
                let logits = model(batch.inputs)
                let n = batch.targets.count
                total += crossEntropy(logits.reshape([n, model.vocabularySize]), labels: batch.targets.reshape([n])).item() * Double(n)
                count += n
            }
        }
        return count > 0 ? total / Double(count) : .nan
    }

    /// `{"loss", "bits_per_char", "perplexity"}` for a loss in nats per character.
    static func lossMetrics(_ loss: Double) -> [String: Double] {
        ["loss": loss, "bits_per_char": loss / log(2), "perplexity": exp(loss)]
    }

    /// `loss 2.021 nats/char, 2.916 bits/char, perplexity 7.55`.
    static func lossLine(_ loss: Double) -> String {
        String(format: "loss %.4f nats/char, %.4f bits/char, perplexity %.3f", loss, loss / log(2), exp(loss))
    }

    /// A character as the error message shows it: `'é' (U+00E9)`.
    static func visible(_ ch: Unicode.Scalar) -> String {
        let code = "U+" + String(ch.value, radix: 16, uppercase: true).leftPadded(to: 4)
        return ch.properties.isWhitespace || ch.value < 32 ? code : "'\(ch)' (\(code))"
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
