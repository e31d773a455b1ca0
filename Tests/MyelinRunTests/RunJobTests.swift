import Foundation
import Testing
import MyelinCore
import MyelinNN
@testable import MyelinRun

/// End-to-end jobs of the `myelin` command on small CSV files the tests write.
@Suite struct RunJobTests {
    /// A temporary folder, removed by the caller.
    static func tempDir() -> String {
        let dir = NSTemporaryDirectory() + "myelin-run-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Two Gaussian blobs with string labels "left"/"right" (and a header row).
    static func blobsCSV(in dir: String, rows: Int = 200, seed: UInt64 = 1) -> String {
        let g = RandomGenerator(seed: seed)
        let noise = Tensor.randn([rows, 2], generator: g).floats
        var text = "x,y,side\n"
        for i in 0..<rows {
            let side = i % 2 == 0 ? -2.0 : 2.0
            text += "\(side + Double(noise[2 * i])),\(0.5 * Double(noise[2 * i + 1])),\(i % 2 == 0 ? "left" : "right")\n"
        }
        let path = dir + "/blobs.csv"
        try! text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func request(_ csv: String, out: String, epochs: Int = 6) -> TrainRequest {
        request(source: .csv(path: csv, label: "side", task: nil), out: out, epochs: epochs)
    }

    /// The small, quiet network the job tests train: one hidden layer of 8, batches of 16.
    static func request(source: DataSource, out: String, epochs: Int) -> TrainRequest {
        var r = TrainRequest(source: source, out: out)
        r.hidden = [8]
        r.settings.epochs = epochs
        r.settings.batchSize = 16
        r.settings.learningRate = 0.01
        r.verbosity = .silent
        r.drawFilters = false
        return r
    }

    static func message(_ body: () throws -> Void) -> String {
        do { try body(); return "no error" } catch { return "\(error)" }
    }

    @Test func stratifiedSplitKeepsClassSharesAndIsSeeded() {
        let labels = Tensor(shape: [100], scalars: (0..<100).map { Int64($0 < 80 ? 0 : 1) })
        let (keep, held) = RunData.split(labels, fraction: 0.2, stratified: true, seed: 3)
        #expect(keep.count == 80 && held.count == 20)
        #expect(Set(keep).isDisjoint(with: held) && Set(keep + held).count == 100)
        #expect(held.filter { $0 >= 80 }.count == 4)
        #expect(RunData.split(labels, fraction: 0.2, stratified: true, seed: 3).1 == held)
        #expect(RunData.split(labels, fraction: 0.2, stratified: true, seed: 4).1 != held)
    }

    @Test func trainWritesARunFolderThatEvaluatesAndPredicts() throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let csv = Self.blobsCSV(in: dir)
        let out = dir + "/run"
        var lines: [String] = []
        let metrics = try TrainJob.train(Self.request(csv, out: out), output: { lines.append($0) })
        #expect(metrics["accuracy"]! >= 0.95)
        let run = RunFolder(out)
        for file in [run.weights, run.description, run.checkpoint, run.history, run.metricsLog, run.results, run.curves,
                     run.confusion, run.boundary] {
            #expect(FileManager.default.fileExists(atPath: file), "missing \(file)")
        }
        #expect(lines.last!.hasPrefix("wrote"))
        let results = try JSONDecoder().decode([String: [String: Double]].self,
                                               from: Data(contentsOf: URL(fileURLWithPath: run.results)))
        #expect(results["test"]!["accuracy"] == metrics["accuracy"])

        // evaluate on the run's own test part gives the figures train reported.
        let (evaluation, classes) = try UseJobs.evaluate(out, source: nil, dataDir: nil)
        #expect(classes == ["left", "right"])
        #expect(abs(evaluation.metrics["accuracy"]! - metrics["accuracy"]!) < 1e-12)

        // predict: one row per example, probabilities summing to one, labels by name.
        let input = dir + "/new.csv"
        try "x,y\n-2.5,0\n2.5,0.1\n".write(toFile: input, atomically: true, encoding: .utf8)
        let text = try UseJobs.predict(out, input: input)
        let rows = text.split(separator: "\n").map(String.init)
        #expect(rows == [rows[0], rows[1], rows[2]] && rows[0] == "index,prediction,p_left,p_right")
        #expect(rows[1].hasPrefix("0,left,") && rows[2].hasPrefix("1,right,"))
        let p = rows[1].split(separator: ",").dropFirst(2).map { Double($0)! }
        #expect(abs(p.reduce(0, +) - 1) < 1e-5)

        let summary = try UseJobs.summary(out)
        #expect(summary.contains("dense:8") && summary.contains("test:"))

        // The run's forward pass as a graph: printed, saved, and the saved graph computes what the model does.
        let graphText = try UseJobs.summary(out, graph: true)
        #expect(graphText.contains("= linear(%0, %1, %2)") && graphText.contains("constant 0.weight"))
        let graphFile = out + "/model.graph"
        _ = try UseJobs.summary(out, graphFile: graphFile)
        let graph = try Graph.load(graphFile)
        let built = try RunModel(try RunFolder(out).readDescription(), weights: RunFolder(out).weights)
        built.model.eval()
        let x = Tensor([[Float(-2.5), 0], [2.5, 0.1]])
        #expect(graph([x])[0].doubles == withoutGrad { built.model(x) }.doubles)
    }

    @Test func resumeContinuesAsIfNeverStopped() throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let csv = Self.blobsCSV(in: dir)
        try TrainJob.train(Self.request(csv, out: dir + "/straight", epochs: 4), output: { _ in })
        var half = Self.request(csv, out: dir + "/resumed", epochs: 2)
        half.settings.epochs = 2
        try TrainJob.train(half, output: { _ in })
        try TrainJob.resume(dir + "/resumed", epochs: 4, dataDir: nil, verbosity: .silent, output: { _ in })
        let a = try Safetensors.load(dir + "/straight/model.safetensors").tensors
        let b = try Safetensors.load(dir + "/resumed/model.safetensors").tensors
        #expect(a.keys.sorted() == b.keys.sorted())
        for key in a.keys { #expect(a[key]!.floats == b[key]!.floats, "\(key) differs") }
        #expect(Self.message { try TrainJob.resume(dir + "/resumed", dataDir: nil, verbosity: .silent, output: { _ in }) }
            .contains("already trained 4 of 4 epochs"))
    }

    /// `resume --epochs` after a cosine decay ended: the added epochs follow the longer curve
    /// instead of running at the old curve's final rate of 0 (which repeated one epoch's figures).
    @Test func resumeForMoreEpochsStretchesTheCosineDecay() throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var request = Self.request(Self.blobsCSV(in: dir), out: dir + "/run", epochs: 2)
        request.settings.cosine = true
        try TrainJob.train(request, output: { _ in })
        var lines: [String] = []
        try TrainJob.resume(dir + "/run", epochs: 4, dataDir: nil, verbosity: .silent, output: { lines.append($0) })
        #expect(lines.contains("the cosine decay of the learning rate now spans 4 epochs instead of 2: "
                               + "it goes on from that curve, at 0.005 for epoch 3\n"), "\(lines)")
        let rows = try String(contentsOfFile: dir + "/run/metrics.csv", encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",") }
        let column = try #require(rows[0].firstIndex(of: "lr"))
        let rates = rows.dropFirst().map { Double($0[column])! }
        // Each epoch's rate: epochs 1-2 on the 2-epoch curve (its next rate, at epoch 3, would be
        // 0), then epochs 3-4 on the 4-epoch curve, 0.005 (1 + cos(pi e / 4)) for e = 2, 3.
        #expect(rates.count == 4 && rates[0] == 0.01 && rates[1] == 0.005, "\(rates)")
        #expect(abs(rates[2] - 0.005) < 1e-12 && abs(rates[3] - 0.005 * (1 + cos(Double.pi * 3 / 4))) < 1e-12, "\(rates)")
        // A second lengthening moves it again, from the 4-epoch curve.
        var quiet: [String] = []
        try TrainJob.resume(dir + "/run", epochs: 5, dataDir: nil, verbosity: .silent, output: { quiet.append($0) })
        #expect(quiet.contains { $0.contains("now spans 5 epochs instead of 4") })
    }

    /// Class names with a comma or a quote are quoted in predict's header as in its rows (a
    /// reader of the CSV counted one column more in the header than in the rows).
    @Test func predictionHeaderQuotesClassNames() {
        #expect(UseJobs.predictionHeader(["a", "New York, NY", "San \"Fran\""])
                == "index,prediction,p_a,\"p_New York, NY\",\"p_San \"\"Fran\"\"\"")
        #expect(UseJobs.predictionHeader([]) == "index,prediction")
    }

    @Test func badInputGivesOneLineErrors() throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let csv = Self.blobsCSV(in: dir)
        let missing = Self.message { try TrainJob.train(Self.request(dir + "/nope.csv", out: dir + "/r"), output: { _ in }) }
        #expect(missing.contains("nope.csv") && !missing.contains("\n"))
        var unknown = Self.request(csv, out: dir + "/r")
        unknown.source = .csv(path: csv, label: "colour", task: nil)
        #expect(Self.message { try TrainJob.train(unknown, output: { _ in }) }.contains("colour"))
        try "x".write(toFile: dir + "/file", atomically: true, encoding: .utf8)
        #expect(Self.message { try TrainJob.train(Self.request(csv, out: dir + "/file/run"), output: { _ in }) }.hasPrefix("[run]"))
        #expect(Self.message { _ = try UseJobs.summary(dir) }.hasPrefix("[run] \(dir) is not a run folder"))

        try TrainJob.train(Self.request(csv, out: dir + "/run", epochs: 1), output: { _ in })
        try "a,b,c\n1,2,3\n".write(toFile: dir + "/wide.csv", atomically: true, encoding: .utf8)
        let wide = Self.message { _ = try UseJobs.predict(dir + "/run", input: dir + "/wide.csv") }
        #expect(wide != "no error" && !wide.contains("\n"))
        try Tensor.zeros([3, 5]).writeNPY(to: dir + "/wide.npy")
        #expect(Self.message { _ = try UseJobs.predict(dir + "/run", input: dir + "/wide.npy") }
            == "[run] \(dir)/wide.npy has 5 features per example but the model expects 2")
        var badSettings = Self.request(csv, out: dir + "/r2")
        badSettings.settings.optimizer = "lbfgs"
        #expect(Self.message { try TrainJob.train(badSettings, output: { _ in }) }.hasPrefix("[train] unknown --optimizer 'lbfgs'"))
    }

    @Test func filterPicturesDrawEachConvolutionsMaps() throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let spec = try ModelSpec.parse("conv:4:3,relu,maxpool:2,conv:6:3,relu,flatten,dense:8", input: [1, 8, 8], outputs: 3)
        let model = try spec.build(generator: RandomGenerator(seed: 0))
        let files = try FilterPictures.write(model: model, sample: Tensor.rand([1, 1, 8, 8]), to: RunFolder(dir), png: true)
        let names = files.map { ($0 as NSString).lastPathComponent }
        #expect(names == ["filters.svg", "filters.png", "input.svg", "input.png", "feature-maps-0.svg", "feature-maps-0.png",
                          "feature-maps-3.svg", "feature-maps-3.png"])
        // 4 filters, then 6 maps of the second convolution, one grey image each.
        let maps = try String(contentsOfFile: dir + "/feature-maps-3.svg", encoding: .utf8)
        #expect(maps.components(separatedBy: "<image").count - 1 == 6)
        let mlp = try ModelSpec.mlp(input: [4], outputs: 2, hidden: [3]).build(generator: RandomGenerator(seed: 0))
        #expect(try FilterPictures.write(model: mlp, sample: Tensor.rand([1, 4]), to: RunFolder(dir)).isEmpty)
    }
}

/// Run folders written by `myelin train` before optimiser options became one type per optimiser
/// still resume. The folders are the MyelinNN tests' fixtures (Tests/MyelinNNTests/Fixtures/old-format,
/// see its README), copied with the CSV they were trained on.
@Suite struct OldRunFolderTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../MyelinNNTests/Fixtures/old-format").standardized.path

    @Test(arguments: ["sgd", "adam"])
    func anOldRunFolderResumes(_ name: String) throws {
        let dir = RunJobTests.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fm = FileManager.default
        try fm.copyItem(atPath: "\(Self.fixtures)/\(name)", toPath: "\(dir)/\(name)")
        try fm.copyItem(atPath: "\(Self.fixtures)/blobs.csv", toPath: "\(dir)/blobs.csv")
        let descriptionPath = "\(dir)/\(name)/model.json"
        let description = try String(contentsOfFile: descriptionPath, encoding: .utf8)
        #expect(description.contains("\"/tmp/oldrun/blobs.csv\""))
        try description.replacingOccurrences(of: "/tmp/oldrun/blobs.csv", with: "\(dir)/blobs.csv")
            .write(toFile: descriptionPath, atomically: true, encoding: .utf8)
        /// history.json: {"epochs": [...], "metrics": {"loss": [...], "lr": [...], ...}}.
        func history() throws -> (epochs: [Int], loss: [Double], lr: [Double]) {
            let data = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(name)/history.json"))
            let json = try JSONSerialization.jsonObject(with: data) as! [String: Any]
            let metrics = json["metrics"] as! [String: [Double]]
            return (json["epochs"] as! [Int], metrics["loss"]!, metrics["lr"]!)
        }
        let old = try history()

        try TrainJob.resume("\(dir)/\(name)", epochs: 3, dataDir: nil, verbosity: .silent, output: { _ in })
        let new = try history()
        #expect(old.epochs == [0, 1] && new.epochs == [0, 1, 2])
        #expect(Array(new.loss.prefix(2)) == old.loss, "the first two epochs are the old run's")
        // The 2-epoch cosine had ended at 0; the third epoch follows the 3-epoch curve,
        // 0.05 (1 + cos(2 pi / 3)) / 2 (the checkpoint predates t_max in the scheduler's state).
        #expect(Array(new.lr.prefix(2)) == [0.05, 0.025] && abs(new.lr[2] - 0.0125) < 1e-12, "\(new.lr)")
        let ckpt = try Checkpoint.load(from: "\(dir)/\(name)/checkpoint.safetensors")
        #expect(ckpt.epoch == 3 && ckpt.step == 15)
    }
}
