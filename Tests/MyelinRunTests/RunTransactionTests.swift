import Foundation
import Testing
import MyelinCore
import MyelinNN
@testable import MyelinRun

/// Run folders as transactions: what exists is always a whole run, resumes are exact, failures
/// leave nothing behind.
@Suite struct RunTransactionTests {
    typealias T = RunJobTests

    static func entries(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
    }

    static func tensors(_ path: String) throws -> [String: [Float]] {
        try Safetensors.load(path).tensors.mapValues(\.floats)
    }

    @Test func existingRunIsReplacedOnlyWithOverwriteAndOnlyWhenTheNewRunFinishes() throws {
        let dir = T.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let csv = T.blobsCSV(in: dir)
        try TrainJob.train(T.request(csv, out: dir + "/run", epochs: 2), output: { _ in })
        let old = try Data(contentsOf: URL(fileURLWithPath: dir + "/run/model.safetensors"))
        let refused = T.message { try TrainJob.train(T.request(csv, out: dir + "/run", epochs: 3), output: { _ in }) }
        #expect(refused.hasPrefix("[train] --out \(dir)/run holds a run; pass --overwrite"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/run/model.safetensors")) == old)

        // A replacement that fails (here: a bad CSV cell after the data were read is impossible, so
        // a bad layer spec) leaves the old run and no staging folder.
        var bad = T.request(csv, out: dir + "/run", epochs: 3)
        bad.overwrite = true
        bad.layers = "dense:4,swish"
        #expect(T.message { try TrainJob.train(bad, output: { _ in }) }.hasPrefix("[model] unknown layer"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/run/model.safetensors")) == old)

        var replace = T.request(csv, out: dir + "/run", epochs: 3)
        replace.overwrite = true
        var seenDuring: [String] = []
        try TrainJob.train(replace, output: { line in
            if line.hasPrefix("epoch 2/") || line.contains("epoch 2/3") { seenDuring = Self.entries(dir + "/run") }
        })
        // During the new run the target still held the old one; afterwards it holds the new one.
        if !seenDuring.isEmpty { #expect(seenDuring.contains("results.json")) }
        let results = try JSONDecoder().decode([String: [String: Double]].self,
                                               from: Data(contentsOf: URL(fileURLWithPath: dir + "/run/results.json")))
        #expect(results["training"]!["epochs"] == 3)
        #expect(Self.entries(dir).filter { $0.hasPrefix(".run.") }.isEmpty)
    }

    @Test func failedStartLeavesNothingAndStaleStagingIsRemoved() throws {
        let dir = T.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let csv = T.blobsCSV(in: dir)
        // A staging folder of a process that no longer exists (pid 2^22 + 1 is above Linux's pid_max default).
        try FileManager.default.createDirectory(atPath: dir + "/.run.tmp-4194305", withIntermediateDirectories: false)
        var r = T.request(csv, out: dir + "/run", epochs: 1)
        r.hidden = [3_000_000_000]
        #expect(T.message { try TrainJob.train(r, output: { _ in }) } == "[train] --hidden sizes must be between 1 and 16777216 (no network that wide fits the parameter budget), got 3000000000")
        r.hidden = [1 << 24]
        r.maxParameters = 1000
        #expect(T.message { try TrainJob.train(r, output: { _ in }) }.contains("parameters, above the limit of 1,000 (--max-parameters)"))
        #expect(Self.entries(dir) == [".run.tmp-4194305", "blobs.csv"])
        try TrainJob.train(T.request(csv, out: dir + "/run", epochs: 1), output: { _ in })
        #expect(Self.entries(dir) == ["blobs.csv", "run"])
    }

    @Test func optionsAreCheckedBeforeAnythingIsWritten() throws {
        let dir = T.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let csv = T.blobsCSV(in: dir)
        func message(_ change: (inout TrainRequest) -> Void) -> String {
            var r = T.request(csv, out: dir + "/r", epochs: 1)
            change(&r)
            return T.message { try TrainJob.train(r, output: { _ in }) }
        }
        #expect(message { $0.dropout = 1.5 } == "[train] --dropout must be in [0, 1), got 1.5")
        #expect(message { $0.dropout = -0.5 } == "[train] --dropout must be in [0, 1), got -0.5")
        #expect(message { $0.dropout = .nan } == "[train] --dropout must be in [0, 1), got nan")
        #expect(message { $0.settings.weightDecay = -5 } == "[train] --weight-decay must be in [0, 100], got -5.0")
        #expect(message { $0.settings.weightDecay = .nan } == "[train] --weight-decay must be in [0, 100], got nan")
        #expect(message { $0.settings.momentum = -1 } == "[train] --momentum must be in [0, 1), got -1.0")
        #expect(message { $0.settings.momentum = 5 } == "[train] --momentum must be in [0, 1), got 5.0")
        #expect(message { $0.settings.learningRate = .infinity } == "[train] --lr must be in (0, 100], got inf")
        #expect(message { $0.settings.testSplit = 0.99; $0.settings.validationSplit = 0 }.hasPrefix("[train] --test-split 0.99 leaves 2 of 200 rows for training"))
        #expect(message { $0.layers = "dense:3000000000" } == "[model] layer 'dense:3000000000': units 3000000000 is above the limit of 16777216 (no network that wide fits the parameter budget)")
        #expect(message { $0.settings.loss = "mse" } == "[train] --loss mse is for regression; this data is a classification task (use ce or bce)")
        #expect(message { $0.layers = "dense:4,bn"; $0.settings.batchSize = 1 }
                == "[train] bn layers need batches of at least 2 examples; got --batch-size 1 and 144 training rows")
        #expect(Self.entries(dir) == ["blobs.csv"])
        // 144 training rows in batches of 13 end with a batch of one, which batch norm cannot train on: it is dropped.
        var r = T.request(csv, out: dir + "/bn", epochs: 1)
        r.layers = "dense:4,bn,relu"
        r.settings.batchSize = 13
        try TrainJob.train(r, output: { _ in })
    }

    @Test func resumeAfterAKillRollsLogsBackAndMatchesAStraightRun() throws {
        let dir = T.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let csv = T.blobsCSV(in: dir)
        var straight = T.request(csv, out: dir + "/straight", epochs: 5)
        straight.settings.patience = 50
        try TrainJob.train(straight, output: { _ in })
        var half = straight
        half.out = dir + "/killed"
        half.settings.epochs = 2
        try TrainJob.train(half, output: { _ in })
        // What a kill after epoch 3's log line and before its checkpoint leaves: a logged epoch past
        // the checkpoint, a torn batch line, a temporary file, no final files.
        let run = RunFolder(dir + "/killed")
        let metrics = try String(contentsOfFile: run.metricsLog, encoding: .utf8)
        try (metrics + "2," + metrics.split(separator: "\n")[2].dropFirst(2) + "\n").write(toFile: run.metricsLog, atomically: true, encoding: .utf8)
        try (String(contentsOfFile: run.batchLog, encoding: .utf8) + "999,2,0,0.5\n99").write(toFile: run.batchLog, atomically: true, encoding: .utf8)
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: run.file(".checkpoint.safetensors.tmp-AbC123")))
        try FileManager.default.removeItem(atPath: run.results)

        try TrainJob.resume(run.path, epochs: 5, dataDir: nil, verbosity: .silent, output: { _ in })
        #expect(try Self.tensors(run.weights) == Self.tensors(dir + "/straight/model.safetensors"))
        #expect(try Self.tensors(run.checkpoint) == Self.tensors(dir + "/straight/checkpoint.safetensors"))
        let epochs = try String(contentsOfFile: run.metricsLog, encoding: .utf8).split(separator: "\n").dropFirst()
            .map { $0.split(separator: ",")[0] }
        #expect(epochs == ["0", "1", "2", "3", "4"])
        let steps = try String(contentsOfFile: run.batchLog, encoding: .utf8).split(separator: "\n").dropFirst()
            .map { Int($0.split(separator: ",")[0])! }
        #expect(steps == Array(1...steps.count))
        #expect(!Self.entries(run.path).contains { $0.hasPrefix(".") })
    }

    @Test func aRunKilledWhileWritingItsFinalFilesIsCompletedByResume() throws {
        let dir = T.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let csv = T.blobsCSV(in: dir)
        try TrainJob.train(T.request(csv, out: dir + "/run", epochs: 2), output: { _ in })
        let run = RunFolder(dir + "/run")
        let expected = try Self.tensors(run.weights)
        try FileManager.default.removeItem(atPath: run.results)
        try FileManager.default.removeItem(atPath: run.history)
        var lines: [String] = []
        try TrainJob.resume(run.path, dataDir: nil, verbosity: .silent, output: { lines.append($0) })
        #expect(lines.first!.hasPrefix("completing"))
        #expect(FileManager.default.fileExists(atPath: run.results) && FileManager.default.fileExists(atPath: run.history))
        #expect(try Self.tensors(run.weights) == expected)
        #expect(T.message { try TrainJob.resume(run.path, dataDir: nil, verbosity: .silent, output: { _ in }) }
            .contains("already trained 2 of 2 epochs"))
    }

    @Test func tinyDataTrainsAndReportsOnTheTrainingData() throws {
        let dir = T.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "a,b,xor\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n".write(toFile: dir + "/xor.csv", atomically: true, encoding: .utf8)
        var r = TrainRequest(source: .csv(path: dir + "/xor.csv", label: "xor", task: .classification), out: dir + "/xor")
        r.hidden = [8]
        r.activation = "tanh"
        r.settings.learningRate = 0.05
        r.settings.batchSize = 4
        r.settings.epochs = 300
        r.settings.loss = "bce"
        r.verbosity = .silent
        var lines: [String] = []
        let metrics = try TrainJob.train(r, output: { lines.append($0) })
        #expect(lines.contains { $0.hasPrefix("warning: 4 rows are too few to hold out a test part") })
        #expect(metrics["accuracy"] == 1)
        let results = try JSONDecoder().decode([String: [String: Double]].self,
                                               from: Data(contentsOf: URL(fileURLWithPath: dir + "/xor/results.json")))
        #expect(results["training_data"]!["accuracy"] == 1 && results["test"] == nil)
        // One sigmoid output: predict gives both classes' probabilities.
        let text = try UseJobs.predict(dir + "/xor", input: dir + "/xor.csv")
        #expect(text.split(separator: "\n").map { $0.split(separator: ",")[1] } == ["prediction", "0", "1", "1", "0"])
        let (evaluation, _) = try UseJobs.evaluate(dir + "/xor", source: nil, dataDir: nil)
        #expect(evaluation.metrics["accuracy"] == 1 && evaluation.count == 4)
    }

    @Test func evaluateAndPredictRejectEmptyAndNonFiniteInput() throws {
        let dir = T.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let csv = T.blobsCSV(in: dir)
        try TrainJob.train(T.request(csv, out: dir + "/run", epochs: 1), output: { _ in })
        try "x,y,side\n".write(toFile: dir + "/empty.csv", atomically: true, encoding: .utf8)
        let empty = T.message { _ = try UseJobs.evaluate(dir + "/run", source: .csv(path: dir + "/empty.csv", label: "", task: nil), dataDir: nil) }
        #expect(empty.contains("no rows left"))
        try Tensor(shape: [2, 2], scalars: [Float(1), .nan, 2, 3]).writeNPY(to: dir + "/nan.npy")
        #expect(T.message { _ = try UseJobs.predict(dir + "/run", input: dir + "/nan.npy") }
            == "[predict] \(dir)/nan.npy holds a NaN value (example 0, element 1); inputs must be finite numbers")
        // --label names the evaluation file's label column when it is called differently.
        try String(contentsOfFile: csv, encoding: .utf8).replacingOccurrences(of: "x,y,side", with: "x,y,truth")
            .write(toFile: dir + "/renamed.csv", atomically: true, encoding: .utf8)
        let (evaluation, _) = try UseJobs.evaluate(dir + "/run", source: .csv(path: dir + "/renamed.csv", label: "truth", task: nil), dataDir: nil)
        #expect(evaluation.count == 200)
        // A hand-edited model.json whose parts disagree is an error, not a trap.
        let json = try String(contentsOfFile: dir + "/run/model.json", encoding: .utf8)
        let edited = json.replacingOccurrences(of: #""meanValues" : \[[^\]]*\]"#, with: #""meanValues" : []"#, options: .regularExpression)
        #expect(edited != json)
        try edited.write(toFile: dir + "/run/model.json", atomically: true, encoding: .utf8)
        #expect(T.message { _ = try UseJobs.predict(dir + "/run", input: csv) }
            == "[run] \(dir)/run/model.json is not a valid run description: scaling.input has 0 means and 2 stds for 2 values")
    }

    @Test func planGivesAStepBudgetWithEarlyStopping() {
        let iris = TrainPlan(trainCount: 108, images: false, given: []).apply(to: TrainSettings())
        #expect(iris.batchSize == 16 && iris.epochs == 429 && iris.patience == 42 && iris.cosine)
        #expect(iris.defaultsNote == "defaults for 108 training rows: batch 16, up to 429 epochs (3,003 steps), early stopping "
                + "after 42 epochs without a better validation loss, best weights restored, cosine learning-rate decay "
                + "(--batch-size, --epochs, --patience, --no-cosine override)")
        let given = TrainPlan(trainCount: 108, images: false, given: [.epochs, .cosine]).apply(to: TrainSettings())
        #expect(given.epochs == 10 && given.batchSize == 16 && given.patience == nil && !given.cosine)
        let digits = TrainPlan(trainCount: 1293, images: false, given: []).apply(to: TrainSettings())
        #expect(digits.batchSize == 128 && digits.epochs == 273 && digits.patience == 27)
        let mnist = TrainPlan(trainCount: 54_000, images: true, given: []).apply(to: TrainSettings())
        #expect(mnist.batchSize == 128 && mnist.epochs == 10 && mnist.patience == 10 && mnist.cosine)
        let all = TrainPlan(trainCount: 54_000, images: true, given: Set(TrainPlan.Setting.allCases)).apply(to: TrainSettings())
        #expect(all == TrainSettings())
    }

    @Test func leakyReluTakesASlope() throws {
        let spec = try ModelSpec.parse("dense:4,leaky_relu:0.2", input: [3], outputs: 2)
        #expect(spec.layersText == "dense:4,leaky_relu:0.2")
        let model = try spec.build(generator: RandomGenerator(seed: 0))
        #expect((model.layers[1] as? LeakyReLU)?.slope == 0.2)
        #expect(throws: ModelSpecError.self) { try ModelSpec.parse("leaky_relu:-1", input: [3], outputs: 2) }
        #expect(try ModelSpec.mlp(input: [4], outputs: 3, hidden: [16]).parameterCount() == 131)
    }
}
