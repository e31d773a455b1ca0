import Foundation
import MyelinCore
import MyelinData
import MyelinNN
import MyelinTrain

/// One training of a language-model run folder, shared by `train` and `resume`: the trainer over
/// shuffled windows, the per-epoch test loss and sample, the checkpoints (`RunRecorder`), then
/// the final files. Building a session changes no file.
final class LanguageModelSession {
    let description: LanguageModelDescription
    let model: CharLanguageModel
    let data: LanguageModelData
    let transaction: RunTransaction
    let trainer: Trainer
    let loader: DataLoader
    let validation: DataLoader?
    let epochEnd: LanguageModelEpochEnd
    let firstEpoch: Int
    let output: (String) -> Void

    /// The generator the samples of `samples.txt` are drawn from (saved in the checkpoint).
    static let sampleGeneratorName = "samples"

    init(_ description: LanguageModelDescription, model: CharLanguageModel, data: LanguageModelData, transaction: RunTransaction,
         checkpoint: Checkpoint?, history: History, samples: [String], verbosity: Verbosity,
         observers: RunObservers = RunObservers(), output: @escaping (String) -> Void) throws {
        self.description = description
        self.model = model
        self.data = data
        self.transaction = transaction
        self.output = output
        let s = description.settings
        loader = DataLoader(data.train, batchSize: s.batchSize, shuffle: true, seed: s.seed)
        validation = data.validation.map { DataLoader($0, batchSize: s.batchSize) }
        let optimizer = s.makeOptimizer(model.parameters())
        let scheduler = s.cosine ? CosineAnnealingLR(optimizer: optimizer, tMax: s.epochs) : nil
        let v = description.vocabulary.count
        let loss = Loss.custom(name: "cross_entropy") { logits, targets in
            crossEntropy(logits.reshape([-1, v]), labels: targets.reshape([-1]))
        }
        let recorder = RunRecorder(transaction: transaction, checkpointEvery: s.checkpointEvery ?? 1, totalEpochs: s.epochs,
                                   monitor: validation == nil ? "loss" : "val_loss", patience: s.patience, history: history)
        let generator = RandomGenerator(seed: s.seed &+ 11)
        epochEnd = LanguageModelEpochEnd(description: description, test: data.test, run: { transaction.current },
                                         generator: generator, samples: samples, output: output)
        let run = transaction.current
        trainer = Trainer(model: model, optimizer: optimizer, loss: loss, metrics: [],
                          callbacks: [CSVLogger(path: run.metricsLog, append: true), BatchLog(path: run.batchLog), epochEnd, recorder]
                              + (try observers.callbacks(target: transaction.target, current: run)),
                          scheduler: scheduler, verbosity: verbosity, output: output)
        trainer.gradientClipNorm = s.clipGradNorm
        trainer.generators[Self.sampleGeneratorName] = generator
        if let checkpoint {
            try trainer.restore(from: checkpoint, loader: loader, history: history)
        }
        firstEpoch = checkpoint?.epoch ?? 0
    }

    func run() throws -> [String: Double] {
        let start = monotonicSeconds()
        try trainer.fit(loader, epochs: description.settings.epochs, validation: validation)
        return try finish(seconds: monotonicSeconds() - start, epochsRun: trainer.history.epochs.count - firstEpoch)
    }

    /// `model.safetensors`, `history.json`, `results.json`; then the run is committed.
    func finish(seconds: Double, epochsRun: Int) throws -> [String: Double] {
        let run = transaction.current
        var history = trainer.history
        if history.epochs.isEmpty { history = CSVLogger.read(path: run.metricsLog, upToEpoch: trainer.epoch) }
        try history.save(to: run.history)
        try model.save(to: run.weights)
        let batch = description.settings.batchSize
        let test = LanguageModelJob.testLoss(model, data.test, batchSize: batch)
        var results: [String: [String: Double]] = ["test": LanguageModelJob.lossMetrics(test)]
        var validationLoss: Double?
        if let windows = data.validation {
            validationLoss = LanguageModelJob.testLoss(model, windows, batchSize: batch)
            results["validation"] = LanguageModelJob.lossMetrics(validationLoss!)
        }
        let characters = Double(data.train.count * description.sequenceLength * epochsRun)
        results["training"] = [
            "epochs": Double(history.epochs.count), "seconds": seconds,
            "seconds_per_epoch": epochsRun > 0 ? seconds / Double(epochsRun) : 0,
            "chars_per_second": seconds > 0 ? characters / seconds : 0,
            "parameters": Double(model.parameterCount)]
        try run.writeJSON(results, to: run.results)
        try transaction.commit()
        if let validationLoss { output("validation: " + LanguageModelJob.lossLine(validationLoss) + "\n") }
        output("test: " + LanguageModelJob.lossLine(test) + "\n")
        output("wrote \(transaction.current.path)/: model.safetensors, language-model.json, checkpoint.safetensors, "
               + "history.json, metrics.csv, samples.txt, results.json\n")
        return results["test"]!
    }

    /// The samples of a `samples.txt`, one per epoch (empty when the file is missing).
    static func readSamples(_ path: String) -> [String] {
        guard let bytes = FileManager.default.contents(atPath: path) else { return [] }
        let text = String(decoding: bytes, as: UTF8.self)
        var samples: [String] = []
        for part in text.components(separatedBy: LanguageModelEpochEnd.marker).dropFirst() {
            // "N ===\n<sample>\n\n"
            guard let newline = part.firstIndex(of: "\n") else { continue }
            var body = String(part[part.index(after: newline)...])
            if body.hasSuffix("\n\n") { body.removeLast(2) }
            samples.append(body)
        }
        return samples
    }
}

/// After each epoch: the test loss (printed in nats and bits per character and as perplexity)
/// and a sample appended to `samples.txt`, rewritten whole (atomically) so a resumed run's file
/// is the uninterrupted run's.
final class LanguageModelEpochEnd: Callback {
    let description: LanguageModelDescription
    let test: LanguageModelDataset
    let run: () -> RunFolder
    let generator: RandomGenerator
    let output: (String) -> Void
    private(set) var samples: [String]

    static let marker = "=== epoch "

    init(description: LanguageModelDescription, test: LanguageModelDataset, run: @escaping () -> RunFolder,
         generator: RandomGenerator, samples: [String], output: @escaping (String) -> Void) {
        self.description = description
        self.test = test
        self.run = run
        self.generator = generator
        self.samples = samples
        self.output = output
    }

    func onEpochEnd(epoch: Int, logs: [String: Double], ctx: TrainingContext) {
        guard let model = ctx.trainer.model as? CharLanguageModel else { return }
        let loss = LanguageModelJob.testLoss(model, test, batchSize: description.settings.batchSize)
        output("  test: " + LanguageModelJob.lossLine(loss) + "\n")
        let vocabulary = description.vocabulary
        let start = vocabulary.index(of: "\n") ?? 0
        do {
            let drawn = try model.generate(prompt: [start], length: description.sampleLength,
                                           sampler: TokenSampler(temperature: 0.8), generator: generator)
            samples = Array(samples.prefix(epoch)) + [vocabulary.decode(drawn)]
            let text = samples.enumerated().map { "\(Self.marker)\($0.offset + 1) ===\n\($0.element)\n\n" }.joined()
            try AtomicFile.write(Array(text.utf8), to: run().samples)
        } catch {
            ctx.trainer.fail(error)
        }
    }
}
