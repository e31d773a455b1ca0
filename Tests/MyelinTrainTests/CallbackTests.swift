import Foundation
import Testing
@testable import MyelinTrain
import MyelinCore
import MyelinNN
import MyelinData

@Suite struct CallbackTests {
    /// A trainer on 12 blob points in batches of 4 (3 batches per epoch) with a scripted metric.
    static func trainer(script: [Double] = [1], callbacks: [Callback], seed: UInt64 = 1,
                        output: ((String) -> Void)? = nil, verbosity: Verbosity = .silent) -> (Trainer, DataLoader) {
        let model = mlp(seed: seed)
        let trainer = Trainer(model: model, optimizer: Adam(parameters: model.parameters(), lr: 0.01), loss: .crossEntropy,
                              metrics: [Scripted(values: script)], callbacks: callbacks, verbosity: verbosity,
                              output: output ?? { _ in })
        return (trainer, DataLoader(twoBlobs(12, seed: seed + 100), batchSize: 4, shuffle: true, seed: seed))
    }

    @Test func hooksRunInOrderWithTheirCounts() throws {
        var events: [String] = []
        var sawGradients = true, sawOutputs = true
        let spy = LambdaCallback(
            onTrainBegin: { _ in events.append("train+") },
            onTrainEnd: { _ in events.append("train-") },
            onEpochBegin: { e, logs, _ in events.append("epoch+\(e)"); #expect(logs.isEmpty) },
            onEpochEnd: { e, logs, ctx in
                events.append("epoch-\(e)")
                #expect(Set(logs.keys) == ["loss", "scripted", "lr", "time"])
                #expect(ctx.trainer.epoch == e + 1)
            },
            onBatchBegin: { b, _, ctx in events.append("b+\(b)"); sawOutputs = sawOutputs && ctx.outputs == nil && ctx.inputs != nil },
            onBatchEnd: { b, logs, ctx in
                events.append("b-\(b)")
                sawOutputs = sawOutputs && ctx.outputs?.shape == [4, 2] && ctx.loss != nil && logs["loss"] == ctx.loss!.item()
            },
            onAfterBackward: { b, ctx in
                events.append("g\(b)")
                sawGradients = sawGradients && ctx.model.parameters().allSatisfy { $0.grad != nil }
            })
        let (trainer, loader) = Self.trainer(callbacks: [spy])
        try trainer.fit(loader, epochs: 2)
        let epoch = { (e: Int) in ["epoch+\(e)"] + (0..<3).flatMap { ["b+\($0)", "g\($0)", "b-\($0)"] } + ["epoch-\(e)"] }
        #expect(events == ["train+"] + epoch(0) + epoch(1) + ["train-"])
        #expect(sawGradients && sawOutputs)
    }

    @Test func earlyStoppingStopsAtTheRightEpochAndRestoresTheBestWeights() throws {
        // Improvements at epochs 0 and 1, then two epochs without: with patience 2 training stops
        // after epoch 3 (Keras's counting), and the weights of epoch 1 come back.
        let stopper = EarlyStopping(monitor: "scripted", patience: 2, restoreBestWeights: true)
        var snapshots: [[[Float]]] = []
        let snap = LambdaCallback(onEpochEnd: { _, _, ctx in snapshots.append(weights(ctx.model)) })
        let out = Captured()
        let (trainer, loader) = Self.trainer(script: [1.0, 0.8, 0.9, 0.85, 0.7, 0.6], callbacks: [snap, stopper],
                                             output: out.sink, verbosity: .epoch)
        let history = try trainer.fit(loader, epochs: 10)
        #expect(history.epochs == [0, 1, 2, 3])
        #expect(stopper.stoppedEpoch == 3 && stopper.bestEpoch == 1 && stopper.best == 0.8)
        #expect(trainer.stopTraining && trainer.stopReason?.contains("stopping after epoch 4") == true)
        #expect(snapshots.count == 4 && snapshots[1] != snapshots[3])
        #expect(weights(trainer.model) == snapshots[1])
        #expect(out.text.contains("EarlyStopping: scripted has not improved for 2 epochs; stopping after epoch 4 (best 0.8000 at epoch 2)\n"))
        #expect(out.text.contains("EarlyStopping: restored the weights of epoch 2 (scripted 0.8000)\n"))
    }

    @Test func earlyStoppingMinDeltaAndModes() throws {
        let stopper = EarlyStopping(monitor: "scripted", patience: 1, minDelta: 0.1)
        let (trainer, loader) = Self.trainer(script: [1.0, 0.95, 0.9, 0.85], callbacks: [stopper])
        #expect(try trainer.fit(loader, epochs: 4).count == 2)
        #expect(stopper.stoppedEpoch == 1)
        // Accuracy-like keys improve upwards.
        #expect(MonitorMode.auto.resolved(for: "val_accuracy") == .max)
        #expect(MonitorMode.auto.resolved(for: "f1") == .max)
        #expect(MonitorMode.auto.resolved(for: "val_loss") == .min)
        let up = EarlyStopping(monitor: "scripted", mode: .max, patience: 1)
        let (t2, l2) = Self.trainer(script: [0.5, 0.6, 0.7, 0.7], callbacks: [up])
        #expect(try t2.fit(l2, epochs: 4).count == 4 && up.stoppedEpoch == 3)
    }

    @Test func modelCheckpointBestOnlyWritesOnImprovement() throws {
        let dir = temporaryFolder()
        let perEpoch = ModelCheckpoint(path: dir + "/sub/best-{epoch}.safetensors", monitor: "scripted", saveBestOnly: true)
        let best = ModelCheckpoint(path: dir + "/best.safetensors", monitor: "scripted", saveBestOnly: true)
        let full = ModelCheckpoint(path: dir + "/last.safetensors", full: true)
        var snapshots: [[[Float]]] = []
        let snap = LambdaCallback(onEpochEnd: { _, _, ctx in snapshots.append(weights(ctx.model)) })
        let (trainer, loader) = Self.trainer(script: [1.0, 0.8, 0.9, 0.7, 0.75], callbacks: [snap, perEpoch, best, full])
        try trainer.fit(loader, epochs: 5)
        #expect(perEpoch.savedEpochs == [0, 1, 3] && best.savedEpochs == [0, 1, 3] && best.best == 0.7)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir + "/sub").sorted()
        #expect(files == ["best-1.safetensors", "best-2.safetensors", "best-4.safetensors"])
        let restored = mlp(seed: 50)
        try restored.load(from: dir + "/best.safetensors")
        #expect(weights(restored) == snapshots[3])
        // The full checkpoint of the last epoch resumes at epoch 5 with the whole history.
        #expect(full.savedEpochs == [0, 1, 2, 3, 4])
        let ckpt = try Checkpoint.load(from: dir + "/last.safetensors")
        #expect(ckpt.epoch == 5 && ckpt.step == 15)
        let (fresh, _) = Self.trainer(callbacks: [], seed: 7)
        try fresh.restore(from: ckpt)
        #expect(fresh.history.sameValues(as: trainer.history) && weights(fresh.model) == snapshots[4])
        // No temporary files are left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["best.safetensors", "last.safetensors", "sub"])
    }

    @Test func modelCheckpointWithoutTheMonitorSavesNothingAndSaysSo() throws {
        let dir = temporaryFolder()
        let cb = ModelCheckpoint(path: dir + "/m.safetensors", saveBestOnly: true)
        let out = Captured()
        let (trainer, loader) = Self.trainer(callbacks: [cb], output: out.sink, verbosity: .epoch)
        try trainer.fit(loader, epochs: 2)
        #expect(cb.savedEpochs.isEmpty && !FileManager.default.fileExists(atPath: dir + "/m.safetensors"))
        #expect(out.text.components(separatedBy: "ModelCheckpoint: \"val_loss\" is not among the logs").count == 2)
    }

    @Test func aFailedSaveMakesFitThrow() {
        let cb = ModelCheckpoint(path: "/proc/no-such-place/m.safetensors")
        let (trainer, loader) = Self.trainer(callbacks: [cb])
        #expect(throws: (any Error).self) { try trainer.fit(loader, epochs: 3) }
        #expect(trainer.history.count == 1)
    }

    @Test func csvAndJSONLinesLoggers() throws {
        let dir = temporaryFolder()
        let csv = CSVLogger(path: dir + "/log.csv"), jsonl = JSONLinesLogger(path: dir + "/log.jsonl")
        let (trainer, loader) = Self.trainer(script: [0.25, 0.5, 0.125], callbacks: [csv, jsonl])
        let history = try trainer.fit(loader, epochs: 3)
        let lines = try String(contentsOfFile: dir + "/log.csv", encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines.count == 4 && lines[0] == "epoch,loss,lr,scripted,time")
        for (e, line) in lines.dropFirst().enumerated() {
            let cells = line.split(separator: ",").map(String.init)
            #expect(cells[0] == "\(e)")
            #expect(Double(cells[1]) == history["loss"]![e] && Double(cells[2]) == 0.01)
            #expect(Double(cells[3]) == [0.25, 0.5, 0.125][e] && Double(cells[4]) == history["time"]![e])
        }
        let json = try String(contentsOfFile: dir + "/log.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(json.count == 3)
        for (e, line) in json.enumerated() {
            #expect(line.hasPrefix("{\"epoch\": \(e), \"loss\": "))
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            #expect(object["epoch"] as? Int == e)
            // Foundation's JSON reader may round the last digit; the text itself is exact.
            #expect(Swift.abs((object["loss"] as? Double ?? 0) - history["loss"]![e]) < 1e-15)
            let lossText = line.components(separatedBy: "\"loss\": ")[1].components(separatedBy: ",")[0]
            #expect(Double(lossText) == history["loss"]![e])
            #expect(object["scripted"] as? Double == [0.25, 0.5, 0.125][e])
        }
        // A resumed run appends to the CSV under the same header.
        let again = CSVLogger(path: dir + "/log.csv", append: true)
        trainer.callbacks = [again]
        try trainer.fit(loader, epochs: 4, initialEpoch: 3)
        let more = try String(contentsOfFile: dir + "/log.csv", encoding: .utf8).split(separator: "\n")
        #expect(more.count == 5 && more[0] == "epoch,loss,lr,scripted,time" && more[4].hasPrefix("3,"))
    }

    @Test func terminateOnNaNNamesTheEpochAndBatch() throws {
        var calls = 0
        let loss = Loss.custom(name: "flaky") { p, t in
            calls += 1
            let l = crossEntropy(p, labels: t)
            return calls == 5 ? l * Double.nan : l
        }
        let nan = TerminateOnNaN()
        let out = Captured()
        let model = mlp(seed: 2)
        let trainer = Trainer(model: model, optimizer: SGD(parameters: model.parameters(), lr: 0.1), loss: loss,
                              callbacks: [nan], verbosity: .epoch, output: out.sink)
        let history = try trainer.fit(DataLoader(twoBlobs(12, seed: 3), batchSize: 4), epochs: 3)
        // The fifth batch is the second of epoch 2.
        #expect(nan.stoppedAt?.epoch == 1 && nan.stoppedAt?.batch == 1)
        #expect(nan.message == "TerminateOnNaN: loss is nan at epoch 2/3, batch 2/3; stopping training")
        #expect(out.text.contains("TerminateOnNaN: loss is nan at epoch 2/3, batch 2/3; stopping training\n"))
        #expect(history.epochs == [0, 1] && calls == 5)
        #expect(history["loss"]![1].isNaN)
    }

    @Test func lrSchedulerCallbackSteps() throws {
        let model = mlp(seed: 4)
        let opt = SGD(parameters: model.parameters(), lr: 0.1)
        let cb = LRSchedulerCallback(StepLR(optimizer: opt, stepSize: 1, gamma: 0.1))
        let trainer = Trainer(model: model, optimizer: opt, loss: .crossEntropy, callbacks: [cb], verbosity: .silent)
        let h = try trainer.fit(DataLoader(twoBlobs(8, seed: 1), batchSize: 8), epochs: 3)
        #expect(h["lr"]!.map { ($0 * 1e9).rounded() / 1e9 } == [0.1, 0.01, 0.001])
    }

    /// Looking inside mid-training (weights, gradients, activations) does not change the run.
    @Test func inspectingActivationsLeavesTrainingUnchanged() throws {
        func run(inspect: Bool) throws -> ([[Float]], [String]) {
            let g = RandomGenerator(seed: 5)
            let model = Sequential { Linear(2, 6, generator: g); ReLU(); Dropout(0.3, generator: RandomGenerator(seed: 6)); Linear(6, 2, generator: g) }
            var names: [String] = []
            let look = LambdaCallback(onBatchEnd: { _, _, ctx in
                let acts = ctx.activations()
                names = acts.map(\.name)
                #expect(acts.last!.value.floats == ctx.model.predict(ctx.inputs!).floats)
                #expect(!acts[0].value.requiresGrad && ctx.model.isTraining)
            })
            let trainer = Trainer(model: model, optimizer: Adam(parameters: model.parameters(), lr: 0.01), loss: .crossEntropy,
                                  callbacks: inspect ? [look] : [], verbosity: .silent)
            try trainer.fit(DataLoader(twoBlobs(20, seed: 8), batchSize: 5, shuffle: true, seed: 9), epochs: 2)
            return (weights(model), names)
        }
        let (plain, _) = try run(inspect: false)
        let (inspected, names) = try run(inspect: true)
        #expect(plain == inspected)
        #expect(names == ["0 Linear", "1 ReLU", "2 Dropout", "3 Linear"])
    }
}

/// ModelCheckpoint's file names take Keras's format specs (a name with `{epoch:02d}` was written
/// literally, one file overwritten every epoch).
@Suite struct CheckpointPathTests {
    @Test func placeholdersAndFormatSpecs() {
        let logs = ["val_loss": 0.123456, "accuracy": 0.5]
        #expect(ModelCheckpoint.fill("w-{epoch:02d}-{val_loss:.2f}.safetensors", epoch: 2, logs: logs) == "w-03-0.12.safetensors")
        #expect(ModelCheckpoint.fill("run/ckpt-{epoch}-{val_loss}.safetensors", epoch: 9, logs: logs) == "run/ckpt-10-0.1235.safetensors")
        #expect(ModelCheckpoint.fill("{accuracy:.1e}_{epoch:3d}", epoch: 0, logs: logs) == "5.0e-01_  1")
        var unknown: [String] = []
        #expect(ModelCheckpoint.fill("a-{nope}-{val_loss:xyz}-{epoch:.2d}.st", epoch: 0, logs: logs, unknown: &unknown)
                == "a-{nope}-{val_loss:xyz}-{epoch:.2d}.st")
        #expect(unknown == ["{nope}", "{val_loss:xyz}", "{epoch:.2d}"])
        #expect(ModelCheckpoint.fill("plain{.st", epoch: 0, logs: logs) == "plain{.st")
    }
}
