import Foundation
import Testing
@testable import MyelinTrain
import MyelinCore
import MyelinNN
import MyelinData

/// Cheap per-epoch saving: checkpoints without the history, the history and the per-step losses in
/// appended files (`HistoryLog`, `BatchLog`, `CSVLogger`) that a resumed run cuts back and
/// continues.
@Suite struct AppendLogTests {
    static func text(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    static func appendRaw(_ s: String, to path: String) throws {
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data(s.utf8))
        handle.closeFile()
    }

    /// A run checkpointed every epoch without its history, killed after epoch 5, resumed from the
    /// epoch-3 checkpoint with the logged history, ends bit for bit as a run never interrupted, and
    /// its logs read as if written in one go.
    @Test func resumeFromACheckpointWithoutHistory() throws {
        let dir = temporaryFolder()
        let validation = DataLoader(ResumeTests.validation, batchSize: 10)
        let (straight, loader) = ResumeTests.make(seed: 5)
        let full = try straight.fit(loader, epochs: 5, validation: validation)

        func logs(append: Bool) -> [Callback] {
            [HistoryLog(path: dir + "/history.jsonl"), BatchLog(path: dir + "/steps.csv"),
             CSVLogger(path: dir + "/log.csv", append: append)]
        }
        let (first, firstLoader) = ResumeTests.make(seed: 5, callbacks: logs(append: false) + [
            ModelCheckpoint(path: dir + "/epoch-{epoch}.safetensors", full: true, includeHistory: false)])
        try first.fit(firstLoader, epochs: 5, validation: validation)
        #expect(try HistoryLog.read(path: dir + "/history.jsonl") == first.history, "the log holds the history exactly")
        let firstSteps = try BatchLog.read(path: dir + "/steps.csv")
        #expect(firstSteps.count == 20 && firstSteps.map(\.step) == Array(1...20))
        #expect(firstSteps.map(\.epoch) == (0..<5).flatMap { Array(repeating: $0, count: 4) })
        #expect(firstSteps.map(\.batch) == Array((0..<5).map { _ in [0, 1, 2, 3] }.joined()))
        let firstCSV = Self.text(dir + "/log.csv")

        let ckpt = try Checkpoint.load(from: dir + "/epoch-3.safetensors")
        #expect(ckpt.epoch == 3 && ckpt.step == 12 && ckpt.metadata[Trainer.historyMetadataKey] == nil)
        #expect(ckpt.metadata["epoch"] == "2", "ModelCheckpoint's own metadata is still there")

        let (resumed, resumedLoader) = ResumeTests.make(seed: 50, callbacks: logs(append: true))
        try resumed.restore(from: ckpt, loader: resumedLoader,
                            history: HistoryLog.read(path: dir + "/history.jsonl", upToEpoch: ckpt.epoch))
        #expect(resumed.history.epochs == [0, 1, 2] && resumed.epoch == 3 && resumed.step == 12)
        let rest = try resumed.fit(resumedLoader, epochs: 5, validation: validation)

        #expect(weights(resumed.model) == weights(straight.model))
        #expect(rest.sameValues(as: full) && rest.epochs == [0, 1, 2, 3, 4])
        let logged = try HistoryLog.read(path: dir + "/history.jsonl")
        #expect(logged == rest, "epochs 3 and 4 were cut and logged again")
        #expect(Self.text(dir + "/history.jsonl").split(separator: "\n").count == 5)
        let steps = try BatchLog.read(path: dir + "/steps.csv")
        #expect(steps == firstSteps, "the same 20 steps, losses and rates, bit for bit")
        let csv = Self.text(dir + "/log.csv").split(separator: "\n")
        #expect(csv.count == 6 && csv.dropFirst().map { $0.split(separator: ",")[0] } == ["0", "1", "2", "3", "4"])
        #expect(csv.prefix(4).joined(separator: "\n") == firstCSV.split(separator: "\n").prefix(4).joined(separator: "\n"))
    }

    /// Checkpoints with the history inside restore as before; a history passed in wins, less the
    /// epochs from the checkpoint's on.
    @Test func historyFromTheCheckpointOrFromTheCaller() throws {
        let (run, loader) = ResumeTests.make(seed: 6)
        try run.fit(loader, epochs: 3)
        let with = run.checkpoint(), without = run.checkpoint(metadata: ["note": "x"], includeHistory: false)
        #expect(with.metadata[Trainer.historyMetadataKey] != nil && without.metadata == ["note": "x"])
        #expect(with.encoded().count > without.encoded().count)

        let (a, _) = ResumeTests.make(seed: 60)
        try a.restore(from: with)
        #expect(a.history == run.history)
        let (b, _) = ResumeTests.make(seed: 61)
        try b.restore(from: without)
        #expect(b.history.count == 0 && b.epoch == 3)
        var longer = run.history
        longer.append(epoch: 3, logs: ["loss": 1])
        let (c, _) = ResumeTests.make(seed: 62)
        try c.restore(from: with, history: longer)
        #expect(c.history == run.history, "epoch 3 of the given history is dropped: the checkpoint is at epoch 3")
    }

    @Test func historyLogLinesTornTailsAndTruncation() throws {
        let path = temporaryFolder() + "/history.jsonl"
        let (trainer, loader) = CallbackTests.trainer(script: [0.25, .nan, .infinity], callbacks: [HistoryLog(path: path)])
        try trainer.fit(loader, epochs: 3)
        let whole = Self.text(path)
        let lines = whole.split(separator: "\n").map(String.init)
        #expect(lines.count == 3 && whole.hasSuffix("\n"))
        #expect(lines[0].hasPrefix("{\"epoch\":0,\"loss\":") && lines[0].contains(",\"scripted\":0.25,"))
        #expect(lines[1].contains(",\"scripted\":\"nan\",") && lines[2].contains(",\"scripted\":\"inf\","))
        #expect(HistoryLog.line(epoch: 3, logs: ["loss": 0.25, "val_loss": -.infinity, "lr": 1e-05])
                == "{\"epoch\":3,\"loss\":0.25,\"lr\":1e-05,\"val_loss\":\"-inf\"}")
        for line in lines { #expect(try JSONSerialization.jsonObject(with: Data(line.utf8)) is [String: Any], "valid JSON: \(line)") }
        #expect(try HistoryLog.read(path: path) == trainer.history)

        // A kill mid-write leaves a torn line: ignored by the reader, dropped by truncation.
        try Self.appendRaw("{\"epoch\":3,\"loss\":0.12", to: path)
        #expect(try HistoryLog.read(path: path) == trainer.history)
        #expect(try HistoryLog.read(path: path, upToEpoch: 2).epochs == [0, 1])
        #expect(try HistoryLog.read(path: path, upToEpoch: 0).count == 0)
        try HistoryLog.truncate(path: path, toEpochs: 2)
        #expect(Self.text(path) == lines[0] + "\n" + lines[1] + "\n")
        try HistoryLog.truncate(path: path, toEpochs: 5)
        #expect(Self.text(path) == lines[0] + "\n" + lines[1] + "\n", "nothing to drop")

        // A whole line that is not a log line is an error, naming the line.
        try Self.appendRaw("not json\n", to: path)
        #expect { try HistoryLog.read(path: path) } throws: {
            "\($0)".hasPrefix("[file] \(path): line 3 is not a JSON object of numbers")
        }
        #expect(throws: FileError.self) { try HistoryLog.read(path: path + ".missing") }
    }

    /// A new run (epoch 0) starts the log afresh; the appends cost the same at every epoch.
    @Test func aNewRunStartsTheLogAfresh() throws {
        let path = temporaryFolder() + "/history.jsonl"
        try AtomicFile.write(Array("{\"epoch\":0,\"loss\":9}\n{\"epoch\":1,\"loss\":9}\n".utf8), to: path)
        let (trainer, loader) = CallbackTests.trainer(callbacks: [HistoryLog(path: path)])
        try trainer.fit(loader, epochs: 1)
        #expect(try HistoryLog.read(path: path) == trainer.history)
    }

    @Test func batchLogFormatFlushingAndTruncation() throws {
        let dir = temporaryFolder()
        let path = dir + "/steps.csv"
        var linesAtEpochEnd: [Int] = [], linesAtBatchEnd: [Int] = []
        let spy = LambdaCallback(
            onEpochEnd: { _, _, _ in linesAtEpochEnd.append(Self.text(path).split(separator: "\n").count) },
            onBatchEnd: { _, _, _ in linesAtBatchEnd.append(Self.text(path).split(separator: "\n").count) })
        let (trainer, loader) = CallbackTests.trainer(callbacks: [BatchLog(path: path, flushInterval: 1000), spy])
        try trainer.fit(loader, epochs: 2)
        // 12 examples in batches of 4: 3 steps per epoch. Buffered within the epoch, written at its end.
        #expect(linesAtBatchEnd == [1, 1, 1, 4, 4, 4] && linesAtEpochEnd == [4, 7])
        let text = Self.text(path)
        let lines = text.split(separator: "\n")
        #expect(lines.first == "step,epoch,batch,loss,lr" && lines.count == 7)
        let entries = try BatchLog.read(path: path)
        #expect(entries.map(\.step) == [1, 2, 3, 4, 5, 6] && entries.map(\.epoch) == [0, 0, 0, 1, 1, 1])
        #expect(entries.map(\.batch) == [0, 1, 2, 0, 1, 2] && entries.allSatisfy { $0.lr == 0.01 && $0.loss.isFinite })
        #expect(lines[1] == "1,0,0,\(entries[0].loss),0.01")

        // flushInterval 0: every step is in the file when the next callback runs.
        var seen: [Int] = []
        let eager = LambdaCallback(onBatchEnd: { _, _, _ in seen.append(Self.text(dir + "/eager.csv").split(separator: "\n").count) })
        let (t2, l2) = CallbackTests.trainer(callbacks: [BatchLog(path: dir + "/eager.csv", flushInterval: 0), eager])
        try t2.fit(l2, epochs: 1)
        #expect(seen == [2, 3, 4])

        // Torn tail ignored; truncation keeps the header and steps <= N.
        try Self.appendRaw("7,2,0,0.69", to: path)
        #expect(try BatchLog.read(path: path) == entries)
        try BatchLog.truncate(path: path, toSteps: 4)
        #expect(Self.text(path) == lines.prefix(5).joined(separator: "\n") + "\n")
        try BatchLog.truncate(path: dir + "/new.csv", toSteps: 3)
        #expect(Self.text(dir + "/new.csv") == "step,epoch,batch,loss,lr\n")
    }

    /// CSVLogger appends a row per epoch and, resuming with `append`, first drops the rows of the
    /// epochs it re-runs and a torn last row.
    @Test func csvLoggerCutsBackOnResume() throws {
        let dir = temporaryFolder()
        let path = dir + "/log.csv"
        let (trainer, loader) = CallbackTests.trainer(script: [0.25, 0.5, 0.125, 1], callbacks: [CSVLogger(path: path)])
        try trainer.fit(loader, epochs: 3)
        let rows = Self.text(path).split(separator: "\n").map(String.init)
        #expect(rows.count == 4)
        try Self.appendRaw("3,0.5", to: path)
        trainer.callbacks = [CSVLogger(path: path, append: true)]
        try trainer.fit(loader, epochs: 4, initialEpoch: 2)
        let after = Self.text(path).split(separator: "\n").map(String.init)
        #expect(after.count == 5 && Array(after.prefix(3)) == Array(rows.prefix(3)))
        #expect(after[3].hasPrefix("2,") && after[4].hasPrefix("3,") && after[3] != rows[3])
        try CSVLogger.truncate(path: path, toEpochs: 1)
        #expect(Self.text(path) == rows[0] + "\n" + rows[1] + "\n")
    }

    /// JSONLinesLogger too appends a line per epoch and cuts back on resume.
    @Test func jsonLinesLoggerCutsBackOnResume() throws {
        let path = temporaryFolder() + "/log.jsonl"
        let (trainer, loader) = CallbackTests.trainer(script: [0.25, 0.5, 0.125, 1], callbacks: [JSONLinesLogger(path: path)])
        try trainer.fit(loader, epochs: 3)
        let lines = Self.text(path).split(separator: "\n").map(String.init)
        #expect(lines.count == 3 && lines[2].hasPrefix("{\"epoch\": 2, "))
        try Self.appendRaw("{\"epoch\": 3, \"lo", to: path)
        trainer.callbacks = [JSONLinesLogger(path: path, append: true)]
        try trainer.fit(loader, epochs: 4, initialEpoch: 1)
        let after = Self.text(path).split(separator: "\n").map(String.init)
        #expect(after.count == 4 && after[0] == lines[0] && after[1] != lines[1])
        #expect(after.enumerated().allSatisfy { $0.element.hasPrefix("{\"epoch\": \($0.offset), ") })
        trainer.callbacks = [JSONLinesLogger(path: path)]
        try trainer.fit(loader, epochs: 1)
        #expect(Self.text(path).split(separator: "\n").count == 1, "without append the file starts afresh")
    }

    /// The cost of a full checkpoint every epoch, with the history inside and without it (history
    /// in a `HistoryLog`). Off by default; `MYELIN_CHECKPOINT_COST=1 swift test -c release --filter
    /// checkpointCostPerEpoch` prints it.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["MYELIN_CHECKPOINT_COST"] != nil))
    func checkpointCostPerEpoch() throws {
        let epochs = Int(ProcessInfo.processInfo.environment["MYELIN_CHECKPOINT_EPOCHS"] ?? "") ?? 3000
        let g = RandomGenerator(seed: 1)
        let data = TensorDataset(inputs: Tensor.randn([8, 4], generator: g), targets: Tensor.randint(0, 3, shape: [8], generator: g))
        func run(includeHistory: Bool) throws -> (mean: Double, first: Double, last: Double) {
            let dir = temporaryFolder()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let model = Linear(4, 3, generator: RandomGenerator(seed: 2))
            var ends: [Double] = []
            var callbacks: [Callback] = []
            if !includeHistory { callbacks.append(HistoryLog(path: dir + "/history.jsonl")) }
            callbacks.append(ModelCheckpoint(path: dir + "/last.safetensors", full: true, includeHistory: includeHistory))
            callbacks.append(LambdaCallback(onEpochEnd: { _, _, _ in ends.append(monotonicSeconds()) }))
            let trainer = Trainer(model: model, optimizer: SGD(parameters: model.parameters(), lr: 0.1), loss: .crossEntropy,
                                  callbacks: callbacks, verbosity: .silent)
            let t0 = monotonicSeconds()
            try trainer.fit(DataLoader(data, batchSize: 8, shuffle: true, seed: 3), epochs: epochs)
            let per = zip(ends, [t0] + ends.dropLast()).map { $0 - $1 }
            let k = Swift.max(1, epochs / 10)
            func mean(_ xs: ArraySlice<Double>) -> Double { xs.reduce(0, +) / Double(xs.count) }
            return (mean(per[...]), mean(per.prefix(k)), mean(per.suffix(k)))
        }
        let before = try run(includeHistory: true)
        let after = try run(includeHistory: false)
        func ms(_ x: Double) -> String { String(format: "%.3f ms", x * 1000) }
        print("checkpoint every epoch, Linear 4->3, 8 examples, \(epochs) epochs:")
        print("  with history in the checkpoint:    mean \(ms(before.mean)) per epoch (first tenth \(ms(before.first)), last tenth \(ms(before.last)))")
        print("  history in a HistoryLog instead:   mean \(ms(after.mean)) per epoch (first tenth \(ms(after.first)), last tenth \(ms(after.last)))")
        // Without the history inside, the last epochs cost no more than the first ones did with it.
        #expect(after.last < before.last, "last tenth \(ms(after.last)) against \(ms(before.last))")
    }
}
