import Foundation
import Testing
import MyelinCore
import MyelinNN
@testable import MyelinRun

/// `myelin train --text`, `generate`, `resume`, `evaluate` and `summary` on a tiny text with a tiny model.
@Suite struct LanguageModelJobTests {
    /// A small text of repeated lines (about 3,000 characters).
    static func textFile(in dir: String) -> String {
        let lines = ["ROMEO: what light through yonder window breaks?", "JULIET: a rose by any other name.",
                     "MERCUTIO: a plague on both your houses!"]
        let text = (0..<25).map { lines[$0 % 3] }.joined(separator: "\n") + "\n"
        let path = dir + "/tiny.txt"
        try! text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func request(_ text: String, out: String, epochs: Int = 1, cell: CharLanguageModel.Cell = .lstm) -> LanguageModelRequest {
        var r = LanguageModelRequest(source: .file(path: text), out: out)
        r.cell = cell
        r.hidden = 12
        r.layers = 1
        r.embedding = 6
        r.sequenceLength = 16
        r.sampleLength = 30
        r.settings.batchSize = 16
        r.settings.epochs = epochs
        r.verbosity = .silent
        return r
    }

    static func message(_ body: () throws -> Void) -> String {
        do { try body(); return "no error" } catch { return "\(error)" }
    }

    @Test func trainsOneEpochAndWritesTheRunFolder() throws {
        let dir = RunJobTests.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = Self.textFile(in: dir)
        var lines: [String] = []
        try LanguageModelJob.train(Self.request(text, out: dir + "/run"), output: { lines.append($0) })
        let run = RunFolder(dir + "/run")
        for file in [run.languageModel, run.weights, run.checkpoint, run.samples, run.results, run.history] {
            #expect(FileManager.default.fileExists(atPath: file), "\(file) is missing")
        }
        let results = try RunFolder.decoder.decode([String: [String: Double]].self,
                                                   from: Data(contentsOf: URL(fileURLWithPath: run.results)))
        #expect(Set(results["test"]!.keys) == ["loss", "bits_per_char", "perplexity"])
        #expect(Set(results["validation"]!.keys) == ["loss", "bits_per_char", "perplexity"])
        let loss = results["test"]!["loss"]!
        #expect(abs(results["test"]!["bits_per_char"]! - loss / log(2)) < 1e-12)
        #expect(abs(results["test"]!["perplexity"]! - exp(loss)) < 1e-9)
        #expect(lines.contains { $0.contains("test: loss") && $0.contains("bits/char") && $0.contains("perplexity") })
        let samples = LanguageModelSession.readSamples(run.samples)
        #expect(samples.count == 1 && samples[0].unicodeScalars.count == 30)
        #expect(try LanguageModelJob.evaluate(run.path, dataDir: nil).contains(String(format: "loss %.4f", loss)))
        #expect(try UseJobs.summary(run.path).contains("lstm 1x12"))
    }

    @Test(arguments: [CharLanguageModel.Cell.gru, .rnn])
    func otherCellsTrain(_ cell: CharLanguageModel.Cell) throws {
        let dir = RunJobTests.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try LanguageModelJob.train(Self.request(Self.textFile(in: dir), out: dir + "/run", cell: cell), output: { _ in })
        #expect(try LanguageModelJob.summary(dir + "/run").contains("\(cell.rawValue) 1x12"))
    }

    @Test func generateIsSeededAndKeepsThePrompt() throws {
        let dir = RunJobTests.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try LanguageModelJob.train(Self.request(Self.textFile(in: dir), out: dir + "/run"), output: { _ in })
        func draw(_ seed: UInt64, topK: Int? = nil) throws -> String {
            try LanguageModelJob.generate(dir + "/run", prompt: "ROMEO:", length: 40, temperature: 0.8, topK: topK, topP: 0.95, seed: seed)
        }
        let a = try draw(1), b = try draw(1)
        #expect(a == b)
        #expect(a.hasPrefix("ROMEO:") && a.unicodeScalars.count == 46)
        #expect(try draw(2) != a || draw(3) != a)
        // Carrying the state gives what recomputing the whole prefix gives, greedily.
        let description = try LanguageModelJob.readDescription(dir + "/run", op: "test")
        let model = try LanguageModelJob.loadModel(description, path: dir + "/run", op: "test")
        let prompt = try description.vocabulary.encode("JULIET").ints
        let carried = try model.generate(prompt: prompt, length: 8, sampler: .greedy, generator: RandomGenerator(seed: 0))
        var prefix = prompt
        for _ in 0..<8 {
            let logits = withoutGrad { model(Tensor(shape: [1, prefix.count], scalars: prefix.map(Int64.init))) }
            prefix.append(logits.reshape([prefix.count, -1])[(prefix.count - 1)..<prefix.count].argmax(axis: 1).ints[0])
        }
        #expect(Array(prefix.dropFirst(prompt.count)) == carried)
    }

    @Test func resumeIsBitIdenticalToAnUninterruptedRun() throws {
        let dir = RunJobTests.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = Self.textFile(in: dir)
        try LanguageModelJob.train(Self.request(text, out: dir + "/straight", epochs: 3), output: { _ in })
        try LanguageModelJob.train(Self.request(text, out: dir + "/resumed", epochs: 1), output: { _ in })
        try TrainJob.resume(dir + "/resumed", epochs: 3, dataDir: nil, verbosity: .silent, output: { _ in })
        let a = try Safetensors.load(dir + "/straight/model.safetensors").tensors
        let b = try Safetensors.load(dir + "/resumed/model.safetensors").tensors
        #expect(a.keys.sorted() == b.keys.sorted())
        for key in a.keys { #expect(a[key]!.floats == b[key]!.floats, "\(key) differs") }
        let samplesA = try String(contentsOfFile: dir + "/straight/samples.txt", encoding: .utf8)
        let samplesB = try String(contentsOfFile: dir + "/resumed/samples.txt", encoding: .utf8)
        #expect(samplesA == samplesB)
        func test(_ run: String) throws -> Double {
            try RunFolder.decoder.decode([String: [String: Double]].self,
                                         from: Data(contentsOf: URL(fileURLWithPath: dir + "/\(run)/results.json")))["test"]!["loss"]!
        }
        #expect(try test("straight") == test("resumed"))
        #expect(Self.message { try TrainJob.resume(dir + "/resumed", dataDir: nil, verbosity: .silent, output: { _ in }) }
            .contains("already trained 3 of 3 epochs"))
    }

    /// A text file changed after training is noticed: resume would train on other windows and
    /// evaluate would report a loss on them (both went on before).
    @Test func aChangedTextIsRefused() throws {
        let dir = RunJobTests.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = Self.textFile(in: dir)
        try LanguageModelJob.train(Self.request(text, out: dir + "/run", epochs: 1), output: { _ in })
        let description = try LanguageModelJob.readDescription(dir + "/run", op: "summary")
        #expect(description.textSHA256?.count == 64)
        _ = try LanguageModelJob.evaluate(dir + "/run", dataDir: nil)
        let original = try String(contentsOfFile: text, encoding: .utf8)
        try original.replacingOccurrences(of: "rose", with: "ROSE").write(toFile: text, atomically: true, encoding: .utf8)
        let changed = "the text of text:\(text) changed since the run was trained (its SHA-256 differs); "
        #expect(Self.message { _ = try LanguageModelJob.evaluate(dir + "/run", dataDir: nil) }
                == "[evaluate] " + changed + "evaluate needs the text the run was trained on")
        #expect(Self.message { try TrainJob.resume(dir + "/run", epochs: 2, dataDir: nil, verbosity: .silent, output: { _ in }) }
                == "[resume] " + changed + "resume needs the text the run was trained on")
        // The same text again: both work.
        try original.write(toFile: text, atomically: true, encoding: .utf8)
        _ = try LanguageModelJob.evaluate(dir + "/run", dataDir: nil)
        try TrainJob.resume(dir + "/run", epochs: 2, dataDir: nil, verbosity: .silent, output: { _ in })
    }

    @Test func badInputThrowsOneLineErrorsAndWritesNothing() throws {
        let dir = RunJobTests.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = Self.textFile(in: dir)
        try "".write(toFile: dir + "/empty.txt", atomically: true, encoding: .utf8)
        let empty = Self.message { try LanguageModelJob.train(Self.request(dir + "/empty.txt", out: dir + "/r1"), output: { _ in }) }
        #expect(empty.hasPrefix("[train] the text") && empty.contains("is empty"))
        var long = Self.request(text, out: dir + "/r2")
        long.sequenceLength = 2000
        #expect(Self.message { try LanguageModelJob.train(long, output: { _ in }) }.hasPrefix("[train] --seq-len 2000 is too long"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/r1") && !FileManager.default.fileExists(atPath: dir + "/r2"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["empty.txt", "tiny.txt"])

        try LanguageModelJob.train(Self.request(text, out: dir + "/run"), output: { _ in })
        let outside = Self.message {
            _ = try LanguageModelJob.generate(dir + "/run", prompt: "ROMEO€", length: 5, temperature: 1, topK: nil, topP: nil, seed: 0)
        }
        #expect(outside.hasPrefix("[generate] the prompt has the character '€'"))
        let csv = RunJobTests.blobsCSV(in: dir)
        try TrainJob.train(RunJobTests.request(csv, out: dir + "/classifier", epochs: 1), output: { _ in })
        let other = Self.message {
            _ = try LanguageModelJob.generate(dir + "/classifier", prompt: "", length: 5, temperature: 1, topK: nil, topP: nil, seed: 0)
        }
        #expect(other.hasPrefix("[generate] \(dir)/classifier is a run of another kind"))
        #expect(Self.message {
            _ = try LanguageModelJob.generate(dir + "/run", prompt: "", length: 5, temperature: -1, topK: nil, topP: nil, seed: 0)
        }.hasPrefix("[generate] --temperature"))
    }
}
