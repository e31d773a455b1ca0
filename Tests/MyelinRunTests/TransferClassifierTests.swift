import Foundation
import Testing
import MyelinCore
import MyelinData
import MyelinNN
import MyelinPretrained
import MyelinTestSupport
@testable import MyelinRun

/// `myelin train --encoder NAME [--fine-tune N]` on a tiny hand-built encoder (hidden 8, 3 layers)
/// written as a sentence-transformers folder, found through a catalogue of one entry.
@Suite struct TransferClassifierTests {
    static let words = ["great", "film", "loved", "it", "wonderful", "acting", "joy", "boring", "long", "awful", "plot", "waste", "time", "a", "and", "of"]

    /// A folder with the tiny encoder's files, and a catalogue whose only entry (`tiny-bert`) records their SHA-256.
    static func tinyEncoder(in dir: String, seed: UInt64 = 5, dropout: Double = 0.1) throws -> EncoderCatalog {
        let folder = dir + "/tiny-bert"
        try FileManager.default.createDirectory(atPath: folder + "/1_Pooling", withIntermediateDirectories: true)
        let tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words
        let config = BertConfig(vocabSize: tokens.count, hiddenSize: 8, numHiddenLayers: 3, numAttentionHeads: 2, intermediateSize: 16,
                                maxPositionEmbeddings: 16, hiddenDropoutProb: dropout, attentionProbsDropoutProb: dropout)
        let model = BertModel(config, randomWeights: true, generator: RandomGenerator(seed: seed))
        try model.save(to: folder + "/model.safetensors")
        let json = JSONEncoder()
        json.outputFormatting = .sortedKeys
        try json.encode(config).write(to: URL(fileURLWithPath: folder + "/config.json"))
        let texts = [("vocab.txt", tokens.joined(separator: "\n") + "\n"),
                     ("sentence_bert_config.json", #"{"max_seq_length": 8, "do_lower_case": false}"#),
                     ("modules.json", #"[{"idx": 0, "path": "", "type": "sentence_transformers.models.Transformer"}, {"idx": 1, "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}, {"idx": 2, "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}]"#),
                     ("1_Pooling/config.json", #"{"word_embedding_dimension": 8, "pooling_mode_mean_tokens": true}"#)]
        for (name, text) in texts { try text.write(toFile: folder + "/" + name, atomically: true, encoding: .utf8) }
        let names = ["config.json", "model.safetensors", "vocab.txt", "sentence_bert_config.json", "modules.json", "1_Pooling/config.json"]
        let files = try names.map { name -> (name: String, bytes: Int, sha256: String) in
            let bytes = try AtomicFile.read(folder + "/" + name)
            return (name, bytes.count, SHA256.hex(of: bytes))
        }
        let entry = PretrainedEntry(name: "tiny-bert", folder: "tiny-bert", repository: "test/tiny-bert", revision: String(repeating: "0", count: 40),
                                    description: "a tiny random BERT", licence: "none", files: files)
        return EncoderCatalog(entry: { name in
            guard name.lowercased() == "tiny-bert" else { throw DataError(op: "model", reason: "unknown pretrained model '\(name)' (known: tiny-bert)") }
            return entry
        }, locate: { e in Dictionary(uniqueKeysWithValues: e.files.map { ($0.role, folder + "/" + $0.role) }) })
    }

    /// Reviews whose class is given by their words; the last few are longer than the encoder's 8 tokens.
    static func reviewsCSV(in dir: String) -> String {
        let good = ["great film loved it", "wonderful acting", "a joy"], bad = ["boring and long", "awful plot", "waste of time"]
        var text = "id,review,sentiment\n"
        for i in 0..<80 {
            let positive = i % 2 == 0
            var review = (positive ? good : bad)[i % 3]
            if i >= 76 { review += " " + Array(repeating: positive ? "great" : "awful", count: 9).joined(separator: " ") }
            text += "\(i),\"\(review)\",\(positive ? "pos" : "neg")\n"
        }
        let path = dir + "/reviews.csv"
        try! text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func request(_ dir: String, out: String, epochs: Int = 6, fineTune: Int = 0, cosine: Bool = true) -> TransferClassifierJob.Request {
        var r = TransferClassifierJob.Request(source: .csv(path: reviewsCSV(in: dir), textColumn: "review", label: "sentiment"),
                                              encoder: "tiny-bert", out: dir + "/" + out)
        r.settings.epochs = epochs
        r.settings.batchSize = 8
        r.settings.learningRate = 0.05
        r.settings.cosine = cosine
        r.fineTune = fineTune
        r.verbosity = .silent
        r.encodeBatchSize = 7
        return r
    }

    static func results(_ run: String) throws -> [String: [String: Double]] {
        try RunFolder.decoder.decode([String: [String: Double]].self, from: Data(contentsOf: URL(fileURLWithPath: run + "/results.json")))
    }

    @Test func theLowerAndUpperHalvesMakeTheSentenceVector() throws {
        let dir = RunJobTests.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let catalog = try Self.tinyEncoder(in: dir)
        let (encoder, _) = try catalog.load("tiny-bert")
        let encodings = ["great film", "awful plot and waste of time", "a"].map { encoder.tokenizer.encode($0, maxLength: 8) }
        let whole = withoutGrad { encoder.embed(encodings) }
        for k in 0...3 {
            let (h, mask) = withoutGrad { encoder.lowerStates(encodings, layers: k) }
            let split = withoutGrad { encoder.upperEmbed(hidden: h, mask: mask, fromLayer: k) }
            expectClose(split, whole, atol: 1e-5)
        }
        // The dataset's padded batch through the classifier gives what the whole encoder gives.
        let data = TokenStatesDataset(texts: ["great film", "awful plot and waste of time", "a"], labels: [1, 0, 1], encoder: encoder, layers: 2,
                                      batchSize: 2)
        let model = try TransferClassifier(encoder: encoder, fineTune: 1, classes: 2, generator: RandomGenerator(seed: 1))
        model.eval()
        expectClose(withoutGrad { model.sentenceVectors(data.batch(at: [0, 1, 2]).inputs) }, whole, atol: 1e-5)
        #expect(Set(model.stateDict().keys).allSatisfy { $0.hasPrefix("head.") || $0.hasPrefix("encoder.layer.2.") })
        #expect(model.stateDict().keys.contains("encoder.layer.2.attention.self.query.weight"))
    }

    @Test func aFrozenEncoderRunTrainsEvaluatesPredictsAndSummarises() throws {
        let dir = RunJobTests.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let catalog = try Self.tinyEncoder(in: dir)
        var lines: [String] = []
        try TransferClassifierJob.train(Self.request(dir, out: "run"), catalog: catalog, output: { lines.append($0) })
        let run = dir + "/run"
        #expect(lines.contains { $0.contains("4 cut to 8 tokens") }, "\(lines)")
        let description = try TransferClassifierJob.readDescription(run, op: "test")
        #expect(description.encoder.name == "tiny-bert" && description.encoder.revision == String(repeating: "0", count: 40))
        #expect(description.encoder.files["model.safetensors"] == SHA256.hex(of: try AtomicFile.read(dir + "/tiny-bert/model.safetensors")))
        #expect(description.encoder.files.count == 6)
        let split = try #require(try TransferClassifierJob.readSplit(run, op: "test"))
        #expect((split.train + split.validation + split.test).sorted() == Array(0..<80))
        #expect(split.test.count == 16 && split.validation.count == 6)
        let saved = try Safetensors.load(run + "/model.safetensors").tensors
        #expect(Set(saved.keys) == ["head.weight", "head.bias"])
        let results = try Self.results(run)
        let accuracy = try #require(results["test"]?["accuracy"])
        #expect(accuracy >= 0.75, "the words decide the class; got \(accuracy)")
        // From raw text through the whole encoder, as in training.
        let evaluation = try TransferClassifierJob.evaluate(run, dataDir: nil, catalog: catalog)
        #expect(evaluation.hasPrefix(String(format: "test (16 messages): loss %.4f, accuracy %.4f", results["test"]!["loss"]!, accuracy)),
                "\(evaluation) vs \(results)")
        let (csv, truncated) = try TransferClassifierJob.predict(run, messages: ["great film loved it", "awful plot", ""], catalog: catalog)
        let rows = csv.split(separator: "\n")
        #expect(rows.first == "index,prediction,p_neg,p_pos" && rows.count == 4 && truncated == 0)
        #expect(rows[1].hasPrefix("0,pos,") && rows[2].hasPrefix("1,neg,"), "\(csv)")
        // A CSV file given to predict is read by the run's text column.
        let texts = try TransferClassifierJob.texts(in: dir + "/reviews.csv", run: run)
        #expect(texts.count == 80 && texts[1] == "awful plot")
        let summary = try UseJobs.summary(run)
        #expect(summary.contains("encoder: tiny-bert (test/tiny-bert at 0000") && summary.contains("frozen") && summary.contains("test: accuracy"))
    }

    @Test func fineTuningTrainsAndSavesOnlyTheTopLayers() throws {
        let dir = RunJobTests.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let catalog = try Self.tinyEncoder(in: dir)
        try TransferClassifierJob.train(Self.request(dir, out: "tuned", epochs: 3, fineTune: 1), catalog: catalog, output: { _ in })
        let run = dir + "/tuned"
        let saved = try Safetensors.load(run + "/model.safetensors").tensors
        #expect(saved.keys.allSatisfy { $0.hasPrefix("head.") || $0.hasPrefix("encoder.layer.2.") }, "\(saved.keys.sorted())")
        let original = try Safetensors.load(dir + "/tiny-bert/model.safetensors").tensors
        let layerKeys = original.keys.filter { $0.hasPrefix("encoder.layer.2.") }
        #expect(layerKeys.count == 16 && Set(layerKeys).isSubset(of: Set(saved.keys)))
        #expect(layerKeys.contains { original[$0]!.floats != saved[$0]!.floats }, "the top layer was trained")
        let description = try TransferClassifierJob.readDescription(run, op: "test")
        #expect(description.fineTune == 1 && description.encoderLearningRate == 0.005)
        // Evaluating loads the pristine lower layers and the saved top one: the same figures as training.
        let results = try Self.results(run)
        let evaluation = try TransferClassifierJob.evaluate(run, dataDir: nil, catalog: catalog)
        #expect(evaluation.hasPrefix(String(format: "test (16 messages): loss %.4f, accuracy %.4f", results["test"]!["loss"]!,
                                            results["test"]!["accuracy"]!)), "\(evaluation) vs \(results)")
    }

    @Test func theEncoderLayersOnlyMoveWhenFineTuned() throws {
        let dir = RunJobTests.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let catalog = try Self.tinyEncoder(in: dir)
        let (encoder, _) = try catalog.load("tiny-bert")
        let before = encoder.model.stateDict()
        let model = try TransferClassifier(encoder: encoder, fineTune: 2, classes: 2, generator: RandomGenerator(seed: 0))
        #expect(throws: RunError.self) { try TransferClassifier(encoder: encoder, fineTune: 4, classes: 2, generator: RandomGenerator(seed: 0)) }
        let data = TokenStatesDataset(texts: ["great film", "awful plot", "a joy", "waste of time"], labels: [1, 0, 1, 0], encoder: encoder, layers: 1)
        let settings = TransferClassifierJob.Request.defaultSettings
        let optimizer = settings.makeOptimizer(groups: [(model.head.parameters(), 0.1), (model.top.flatMap { $0.parameters() }, 0.01)])
        let batch = data.batch(at: [0, 1, 2, 3])
        model.eval()
        #expect(withoutGrad { model(batch.inputs) }.floats == withoutGrad { model(batch.inputs) }.floats)
        model.train()
        #expect(withoutGrad { model(batch.inputs) }.floats != withoutGrad { model(batch.inputs) }.floats, "dropout in the tuned layers")
        crossEntropy(model(batch.inputs), labels: batch.targets).backward()
        optimizer.step()
        #expect(optimizer.learningRates == [0.1, 0.01])
        let after = encoder.model.stateDict()
        for (key, value) in before {
            let moved = value.floats != after[key]!.floats
            let tuned = key.hasPrefix("encoder.layer.1.") || key.hasPrefix("encoder.layer.2.")
            // A key bias has no gradient (softmax ignores a constant added to every score): only weights are sure to move.
            if tuned && key.hasSuffix("dense.weight") { #expect(moved, "\(key) was not trained") }
            if !tuned { #expect(!moved, "\(key) is frozen but moved") }
        }
    }

    @Test func aRunRefusesAnEncoderWithOtherChecksums() throws {
        let dir = RunJobTests.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let catalog = try Self.tinyEncoder(in: dir)
        try TransferClassifierJob.train(Self.request(dir, out: "run", epochs: 1), catalog: catalog, output: { _ in })
        // Another encoder in the same place (other weights): the entry now records the new files too.
        let other = try Self.tinyEncoder(in: dir, seed: 6)
        let message = RunJobTests.message { _ = try TransferClassifierJob.evaluate(dir + "/run", dataDir: nil, catalog: other) }
        #expect(message.hasPrefix("[evaluate] the encoder tiny-bert found is not the one the run was trained on: ")
                && message.contains("model.safetensors has SHA-256"), "\(message)")
        let predict = RunJobTests.message { _ = try TransferClassifierJob.predict(dir + "/run", messages: ["a"], catalog: other) }
        #expect(predict.hasPrefix("[predict] the encoder tiny-bert found is not the one"), "\(predict)")
    }

    /// `straight` trained 3 epochs in one go, `resumed` 1 epoch and then resumed to 3: the largest gap of their weights.
    static func resumeGap(_ dir: String, fineTune: Int, validation: Double) throws -> Float {
        // Without dropout: the fine-tuned layers' dropout draws from the global generator, which tests running alongside share.
        let catalog = try tinyEncoder(in: dir, dropout: 0)
        for (out, epochs) in [("straight", 3), ("resumed", 1)] {
            // No cosine decay: its length is the run's epochs, which resuming with more epochs changes.
            var r = request(dir, out: out, epochs: epochs, fineTune: fineTune, cosine: false)
            r.settings.validationSplit = validation
            try TransferClassifierJob.train(r, catalog: catalog, output: { _ in })
        }
        // Resume with the run's own epochs: 1 of 1 is done.
        #expect(RunJobTests.message { try TrainJob.resume(dir + "/resumed", dataDir: nil, verbosity: .silent, encoders: catalog, output: { _ in }) }
            .contains("already"))
        try TrainJob.resume(dir + "/resumed", epochs: 3, dataDir: nil, verbosity: .silent, encoders: catalog, output: { _ in })
        let a = try Safetensors.load(dir + "/straight/model.safetensors").tensors
        let b = try Safetensors.load(dir + "/resumed/model.safetensors").tensors
        #expect(a.keys.sorted() == b.keys.sorted())
        let gaps = a.keys.map { key in (key, zip(a[key]!.floats, b[key]!.floats).map { abs($0 - $1) }.max() ?? 0) }
        let worst = gaps.max { $0.1 < $1.1 }!
        return worst.1
    }

    @Test func resumingAFineTunedRunGivesTheWeightsOfOneRun() throws {
        let dir = RunJobTests.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Not bit for bit: resumed and straight runs differ in the last bits, which Adam blows up in the attention's key
        // bias (its gradient is zero but for rounding: softmax ignores a constant added to every score); 1.7e-5 seen.
        // A top layer left untrained or a lost optimiser state moves the weights by 1e-3 and more.
        #expect(try Self.resumeGap(dir, fineTune: 1, validation: 0) <= 1e-4)
    }

    /// The frozen head, resumed with a validation part: within float rounding of one run (2.4e-7 seen).
    @Test func resumingAFrozenRunWithValidationGivesTheWeightsOfOneRun() throws {
        let dir = RunJobTests.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try Self.resumeGap(dir, fineTune: 0, validation: 0.1) <= 1e-6)
    }

    @Test func badOptionsAreOneLineErrorsAndLeaveNoRun() throws {
        let dir = RunJobTests.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let catalog = try Self.tinyEncoder(in: dir)
        func error(_ edit: (inout TransferClassifierJob.Request) -> Void) -> String {
            var r = Self.request(dir, out: "bad")
            edit(&r)
            return RunJobTests.message { try TransferClassifierJob.train(r, catalog: catalog, output: { _ in }) }
        }
        #expect(error { $0.fineTune = 4 } == "[train] --fine-tune must be between 0 and the encoder's 3 layers, got 4")
        #expect(error { $0.fineTune = -1 } == "[train] --fine-tune must be 0 or more, got -1")
        #expect(error { $0.encoder = "bert-huge" }.contains("unknown pretrained model 'bert-huge'"))
        #expect(error { $0.encoderLearningRate = 0.01 } == "[train] --encoder-lr is the rate of the fine-tuned layers; give --fine-tune N too")
        #expect(error { $0.fineTune = 1; $0.encoderLearningRate = -1 } == "[train] --encoder-lr must be positive, got -1.0")
        #expect(error { $0.source = .csv(path: dir + "/reviews.csv", textColumn: "nope", label: "sentiment") }.contains("no text column"))
        #expect(error { $0.settings.loss = "mse" }.contains("cross-entropy"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/bad"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).allSatisfy { !$0.hasPrefix(".bad") })
        let notARun = RunJobTests.message { _ = try TransferClassifierJob.evaluate(dir, dataDir: nil, catalog: catalog) }
        #expect(notARun.hasPrefix("[evaluate] \(dir) is not a transfer-classifier run"))
    }
}
