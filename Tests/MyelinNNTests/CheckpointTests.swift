import Foundation
import Testing
import MyelinTestSupport
@testable import MyelinNN
import MyelinCore

/// Full training checkpoints: a run saved to a file and restored into freshly built objects
/// continues bit for bit; bad restores and bad files throw and change nothing.
///
/// Runs use a private generator in place of `Random.global` (the internal `global:` overloads):
/// tests run in parallel, and moving the real global generator would disturb the others.
@Suite struct CheckpointTests {
    /// An MLP with every kind of state: weights, BatchNorm buffers (one of them int64) and Dropout.
    final class Net: Module {
        let fc1: Linear
        let norm: BatchNorm1d
        let drop: Dropout
        let fc2: Linear

        init(seed: UInt64, dropout: RandomGenerator) {
            let g = RandomGenerator(seed: seed)
            fc1 = Linear(5, 16, generator: g)
            norm = BatchNorm1d(16)
            drop = Dropout(0.25, generator: dropout)
            fc2 = Linear(16, 1, generator: g)
            super.init()
        }

        override func forward(_ x: Tensor) -> Tensor { fc2(drop(norm(fc1(x)).relu())) }
    }

    /// The same inputs, a different architecture: a narrower hidden layer, no norm, `fc3` for `fc2`.
    final class OtherNet: Module {
        let fc1: Linear
        let fc3: Linear

        init(seed: UInt64) {
            let g = RandomGenerator(seed: seed)
            fc1 = Linear(5, 12, generator: g)
            fc3 = Linear(12, 1, generator: g)
            super.init()
        }

        override func forward(_ x: Tensor) -> Tensor { fc3(fc1(x).relu()) }
    }

    enum Kind: CaseIterable { case adam, sgd }

    static let sampleCount = 28, batchSize = 7, batchesPerEpoch = 4, totalSteps = 16
    static let inputs = Tensor.normal([sampleCount, 5], generator: RandomGenerator(seed: 99))
    static let targets = Tensor.normal([sampleCount, 1], generator: RandomGenerator(seed: 98))

    /// Everything a training run owns that carries state, built from one seed.
    final class Run {
        let model: Net
        let optimizer: Optimizer
        let scheduler: LRScheduler
        /// Shuffles the samples at each epoch start.
        let loader: RandomGenerator
        let dropout: RandomGenerator
        /// Stands in for `Random.global`: input noise is drawn from it.
        let global: RandomGenerator
        var order = Tensor.arange(CheckpointTests.sampleCount)

        var generators: [String: RandomGenerator] { ["loader": loader, "dropout": dropout] }

        init(_ kind: Kind, seed: UInt64) {
            dropout = RandomGenerator(seed: seed &+ 1)
            loader = RandomGenerator(seed: seed &+ 2)
            global = RandomGenerator(seed: seed &+ 3)
            model = Net(seed: seed, dropout: dropout)
            switch kind {
            case .adam:
                optimizer = Adam(parameters: model.parameters(), lr: 0.01, weightDecay: 1e-4)
                // One-cycle moves beta1 as well as the rate, so group options change every step.
                scheduler = OneCycleLR(optimizer: optimizer, maxLR: 0.05, totalSteps: CheckpointTests.totalSteps)
            case .sgd:
                optimizer = SGD(parameters: model.parameters(), lr: 0.05, momentum: 0.9, weightDecay: 1e-4, nesterov: true)
                scheduler = CosineAnnealingLR(optimizer: optimizer, tMax: 10)
            }
        }

        /// Trains the given global steps: 4 batches an epoch, reshuffled at each epoch start.
        func train(_ steps: Range<Int>) {
            let b = CheckpointTests.batchSize
            for step in steps {
                let batch = step % CheckpointTests.batchesPerEpoch
                if batch == 0 { order = Tensor.permutation(CheckpointTests.sampleCount, generator: loader) }
                let idx = order[(batch * b)..<(batch * b + b)]
                // 35 normals: an odd count, so a spare Box-Muller normal stays in the generator's state.
                let x = CheckpointTests.inputs.indexSelect(axis: 0, indices: idx)
                    + Tensor.normal([b, 5], std: 0.01, generator: global)
                let y = CheckpointTests.targets.indexSelect(axis: 0, indices: idx)
                let loss = mseLoss(model(x), y)
                optimizer.zeroGrad()
                loss.backward()
                optimizer.step()
                scheduler.step()
            }
        }

        func capture(epoch: Int = 0, step: Int = 0, metadata: [String: String] = [:]) -> Checkpoint {
            Checkpoint.capture(model: model, optimizer: optimizer, scheduler: scheduler, epoch: epoch, step: step,
                               generators: generators, metadata: metadata, global: global)
        }

        func restore(_ ckpt: Checkpoint) throws {
            try ckpt.restore(model: model, optimizer: optimizer, scheduler: scheduler, generators: generators, global: global)
        }

        /// Every piece of state, for before/after comparisons.
        var snapshot: Snapshot {
            Snapshot(model: model.stateDict(), optimizer: optimizer.stateDict(), scheduler: scheduler.stateDict(),
                     random: [loader.state, dropout.state, global.state])
        }
    }

    struct Snapshot {
        var model: [String: Tensor]
        var optimizer: OptimizerState
        var scheduler: SchedulerState
        var random: [[UInt64]]
    }

    static func expectIdentical(_ a: [String: Tensor], _ b: [String: Tensor], _ what: String,
                                sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(a.keys.sorted() == b.keys.sorted(), "\(what): names", sourceLocation: sourceLocation)
        for (name, t) in a {
            guard let u = b[name] else { continue }
            #expect(t.dtype == u.dtype && t.shape == u.shape && bitPatterns(t) == bitPatterns(u), "\(what): \(name)", sourceLocation: sourceLocation)
        }
    }

    static func expectIdentical(_ a: Snapshot, _ b: Snapshot, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        expectIdentical(a.model, b.model, "\(what) model", sourceLocation: sourceLocation)
        expectIdentical(a.optimizer.tensors, b.optimizer.tensors, "\(what) optimizer", sourceLocation: sourceLocation)
        #expect(a.optimizer.scalars.mapValues(\.bitPattern) == b.optimizer.scalars.mapValues(\.bitPattern),
                "\(what) optimizer scalars", sourceLocation: sourceLocation)
        #expect(a.scheduler == b.scheduler, "\(what) scheduler", sourceLocation: sourceLocation)
        #expect(a.random == b.random, "\(what) generators", sourceLocation: sourceLocation)
    }

    /// A fresh folder under the system's temporary directory.
    static func temporaryFolder() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("myelin-checkpoint-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }

    // MARK: resuming

    /// The key property: N steps straight through, or N/2 steps, a checkpoint file, fresh objects
    /// built from other seeds, and N/2 more steps, end in the same bits (weights, buffers, optimiser
    /// and scheduler state, generators).
    @Test(arguments: Kind.allCases)
    func resumingFromAFileContinuesBitForBit(kind: Kind) throws {
        let half = Self.totalSteps / 2
        let reference = Run(kind, seed: 1)
        reference.train(0..<Self.totalSteps)

        let first = Run(kind, seed: 1)
        first.train(0..<half)
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/last.safetensors"
        try first.capture(epoch: half / Self.batchesPerEpoch, step: half, metadata: ["run": "resume test"]).save(to: path)

        let resumed = Run(kind, seed: 1000)
        #expect(bitPatterns(resumed.model.fc1.weight.value) != bitPatterns(first.model.fc1.weight.value), "other seeds, other weights")
        let ckpt = try Checkpoint.load(from: path)
        #expect(ckpt.epoch == 2 && ckpt.step == half && ckpt.metadata == ["run": "resume test"])
        try resumed.restore(ckpt)
        Self.expectIdentical(resumed.snapshot, first.snapshot, "just restored")
        resumed.train(ckpt.step..<Self.totalSteps)
        Self.expectIdentical(resumed.snapshot, reference.snapshot, "resumed")
        // Not vacuous: training moved the weights, and the optimiser holds state for every parameter.
        #expect(bitPatterns(reference.model.fc2.weight.value) != bitPatterns(first.model.fc2.weight.value))
        #expect(reference.optimizer.stateDict().scalars.keys.filter { $0.hasSuffix(".step") }.count == 6)
    }

    /// Each generator matters: leaving any one of them unrestored changes the result.
    @Test(arguments: Kind.allCases)
    func everyGeneratorIsNeededToResumeExactly(kind: Kind) throws {
        let half = Self.totalSteps / 2
        let reference = Run(kind, seed: 1)
        reference.train(0..<Self.totalSteps)
        let first = Run(kind, seed: 1)
        first.train(0..<half)
        let ckpt = try Checkpoint.decode(first.capture(step: half).encoded())
        for skip in ["loader", "dropout", "global"] {
            let resumed = Run(kind, seed: 1000)
            try resumed.restore(ckpt)
            switch skip {
            case "loader": resumed.loader.reseed(7)
            case "dropout": resumed.dropout.reseed(7)
            default: resumed.global.reseed(7)
            }
            resumed.train(half..<Self.totalSteps)
            #expect(bitPatterns(resumed.model.fc1.weight.value) != bitPatterns(reference.model.fc1.weight.value),
                    "without restoring \(skip) the run should differ")
        }
    }

    /// A checkpoint is a value: training on after the capture does not change it.
    @Test func aCaptureIsASnapshot() throws {
        let run = Run(.adam, seed: 3)
        run.train(0..<3)
        let before = run.snapshot
        let ckpt = run.capture()
        run.train(3..<6)
        Self.expectIdentical(ckpt.modelState, before.model, "captured model")
        Self.expectIdentical(ckpt.optimizerState.tensors, before.optimizer.tensors, "captured optimizer")
        #expect(ckpt.schedulerState == before.scheduler)
        #expect([ckpt.randomStates["loader"]!, ckpt.randomStates["dropout"]!, ckpt.globalRandomState] == before.random)
    }

    /// The public entry points use `Random.global`. Other tests draw from it concurrently, so the
    /// check retries until no draw happened during the capture.
    @Test func thePublicCaptureRecordsTheGlobalGenerator() throws {
        let run = Run(.sgd, seed: 4)
        var checked = false
        for _ in 0..<100 where !checked {
            let before = Random.global.state
            let ckpt = Checkpoint.capture(model: run.model, optimizer: run.optimizer)
            if Random.global.state == before {
                #expect(ckpt.globalRandomState == before)
                checked = true
            }
        }
        #expect(checked)
        // The public restore is not run here: rewinding the global generator could land between
        // another test's `Random.seed` and its draws.
    }

    // MARK: the file

    /// Every field survives the file exactly: awkward doubles (as ReduceLROnPlateau's infinite
    /// `best`), full 64-bit generator words, special weight values, metadata with quotes and newlines.
    @Test func everyFieldRoundTripsExactly() throws {
        let model = Net(seed: 5, dropout: RandomGenerator(seed: 6))
        model.fc2.bias!.assign(Tensor(scalars: [Float(-0.0)]))
        model.fc1.bias!.assign(Tensor(scalars: [Float.nan, .infinity, -.infinity, .leastNonzeroMagnitude, 0.1] + [Float](repeating: 1, count: 11)))
        let opt = Adam(parameters: model.parameters(), lr: 0.1 + 0.2, eps: 5e-324, weightDecay: 1e-300)
        let plateau = ReduceLROnPlateau(optimizer: opt, factor: 0.5, patience: 0)
        let loader = RandomGenerator(seed: 0)
        loader.restore([UInt64.max, 1, 1 << 63, 12_345_678_901_234_567_890, (-0.5).bitPattern, 1])
        let global = RandomGenerator(seed: 1)
        let metadata = ["note": "a \"quoted\"\nline, ünïcode ✓", "empty": ""]
        let ckpt = Checkpoint.capture(model: model, optimizer: opt, scheduler: plateau, epoch: 7, step: Int(Int32.max) + 5,
                                      generators: ["loader": loader], metadata: metadata, global: global)
        #expect(ckpt.schedulerState!.scalars["best"] == .infinity)
        let bytes = ckpt.encoded()
        #expect(ckpt.encoded() == bytes, "encoding is deterministic")
        let back = try Checkpoint.decode(bytes)
        Self.expectIdentical(back.modelState, ckpt.modelState, "model")
        #expect(back.optimizerType == "Adam" && back.schedulerType == "ReduceLROnPlateau")
        #expect(back.optimizerState.scalars.mapValues(\.bitPattern) == ckpt.optimizerState.scalars.mapValues(\.bitPattern))
        #expect(back.optimizerState.scalars["groups.0.lr"] == 0.1 + 0.2 && back.optimizerState.scalars["groups.0.eps"] == 5e-324)
        #expect(back.schedulerState == ckpt.schedulerState)
        #expect(back.randomStates == ["loader": loader.state] && back.globalRandomState == global.state)
        #expect(back.epoch == 7 && back.step == Int(Int32.max) + 5 && back.metadata == metadata)
        #expect(back.encoded() == bytes, "decoding and encoding again gives the same bytes")

        // And restores: the fresh plateau scheduler takes the infinite best and the rates back.
        let model2 = Net(seed: 50, dropout: RandomGenerator(seed: 60))
        let opt2 = Adam(parameters: model2.parameters(), lr: 1)
        let plateau2 = ReduceLROnPlateau(optimizer: opt2, factor: 0.5, patience: 0)
        let loader2 = RandomGenerator(seed: 2), global2 = RandomGenerator(seed: 3)
        try back.restore(model: model2, optimizer: opt2, scheduler: plateau2, generators: ["loader": loader2], global: global2)
        #expect(plateau2.stateDict() == plateau.stateDict() && opt2.lr == 0.1 + 0.2)
        #expect(loader2.state == loader.state && global2.state == global.state)
        Self.expectIdentical(model2.stateDict(), model.stateDict(), "restored model")
    }

    /// The tensors keep PyTorch's names under `model.` and `optimizer.`, and the rest is JSON
    /// in the metadata, so other tools can read the file.
    @Test func theFileIsPlainSafetensors() throws {
        let run = Run(.adam, seed: 8)
        run.train(0..<1)
        let (tensors, meta) = try Safetensors.decode(run.capture(epoch: 1, step: 1).encoded())
        #expect(tensors.keys.contains("model.norm.running_mean") && tensors.keys.contains("optimizer.state.0.exp_avg"))
        #expect(tensors["model.norm.num_batches_tracked"]!.dtype == .int64)
        let doc = try JSONSerialization.jsonObject(with: Data(meta["myelin.checkpoint"]!.utf8)) as! [String: Any]
        #expect(doc["version"] as? Int == 1 && doc["step"] as? Int == 1)
        let words = (doc["generators"] as! [String: Any])["global"] as! [String]
        #expect(words == run.global.state.map { String($0) }, "generator words as exact decimal strings")
        #expect(meta["myelin.checkpoint.crc32"]!.count == 8)
    }

    // MARK: strict restore

    /// A checkpoint restored into the wrong model lists every problem, and changes nothing.
    @Test func restoringIntoAnotherArchitectureListsEveryProblemAndChangesNothing() throws {
        let run = Run(.adam, seed: 1)
        run.train(0..<4)
        let ckpt = run.capture(step: 4)

        let other = OtherNet(seed: 2)
        let opt = Adam(parameters: other.parameters(), lr: 0.01)
        let scheduler = OneCycleLR(optimizer: opt, maxLR: 0.05, totalSteps: 16)
        let loader = RandomGenerator(seed: 3), dropout = RandomGenerator(seed: 4), global = RandomGenerator(seed: 5)
        opt.zeroGrad()
        mseLoss(other(Self.inputs), Self.targets).backward()
        opt.step()
        scheduler.step()
        let before = Snapshot(model: other.stateDict(), optimizer: opt.stateDict(), scheduler: scheduler.stateDict(),
                              random: [loader.state, dropout.state, global.state])
        do {
            try ckpt.restore(model: other, optimizer: opt, scheduler: scheduler,
                             generators: ["loader": loader, "dropout": dropout], global: global)
            Issue.record("restoring into another architecture should throw")
        } catch let e as CheckpointError {
            #expect(e.file == nil)
            #expect(e.problems.contains("model: missing fc3.bias, fc3.weight"))
            #expect(e.problems.contains("model: unexpected fc2.bias, fc2.weight, norm.bias, norm.num_batches_tracked, norm.running_mean, norm.running_var, norm.weight"))
            #expect(e.problems.contains("model: shape mismatch fc1.bias (checkpoint [16], model [12]), fc1.weight (checkpoint [16, 5], model [12, 5])"))
            #expect(e.problems.contains("optimizer: group 0 has 6 parameters in the saved state, 4 in the optimiser"))
            #expect(e.problems.contains { $0.hasPrefix("optimizer: state.0.exp_avg has shape [16, 5], parameter 0 [12, 5]") })
            #expect(e.problems.contains { $0.hasPrefix("optimizer: unexpected entries state.4.") })
            #expect(e.description.hasPrefix("[checkpoint] cannot restore: model: missing fc3.bias, fc3.weight; "))
            #expect(!e.description.contains("\n"))
        }
        let after = Snapshot(model: other.stateDict(), optimizer: opt.stateDict(), scheduler: scheduler.stateDict(),
                             random: [loader.state, dropout.state, global.state])
        Self.expectIdentical(after, before, "after a failed restore")
    }

    /// The right model with the wrong companions: another optimiser class, a missing scheduler, a
    /// missing and an extra generator; or another scheduler class and a scheduler on another
    /// optimiser. Each restore lists every problem and changes nothing.
    @Test func restoringWithTheWrongPiecesListsEveryProblemAndChangesNothing() throws {
        let run = Run(.adam, seed: 1)
        run.train(0..<4)
        let ckpt = run.capture(step: 4)

        let target = Run(.sgd, seed: 9)
        target.train(0..<2)
        let before = target.snapshot
        let extra = RandomGenerator(seed: 1)
        #expect {
            try ckpt.restore(model: target.model, optimizer: target.optimizer, scheduler: nil,
                             generators: ["loader": target.loader, "extra": extra], global: target.global)
        } throws: { error in
            let problems = (error as! CheckpointError).problems
            return problems == [
                "optimizer: the checkpoint holds Adam state, the optimiser is SGD",
                "scheduler: the checkpoint holds OneCycleLR state, but no scheduler was passed",
                "random: the checkpoint holds generators dropout, which were not passed",
                "random: the checkpoint holds no state for generators extra",
            ]
        }
        Self.expectIdentical(target.snapshot, before, "after a failed restore")

        let adamTarget = Run(.adam, seed: 10)
        let stepLR = StepLR(optimizer: adamTarget.optimizer, stepSize: 3)
        let elsewhere = StepLR(optimizer: SGD(parameters: [Parameter(Tensor.zeros([1]))], lr: 0.1), stepSize: 3)
        let adamBefore = adamTarget.snapshot
        for scheduler in [stepLR, elsewhere] {
            #expect {
                try ckpt.restore(model: adamTarget.model, optimizer: adamTarget.optimizer, scheduler: scheduler,
                                 generators: adamTarget.generators, global: adamTarget.global)
            } throws: { error in
                let problems = (error as! CheckpointError).problems
                let wrongClass = "scheduler: the checkpoint holds OneCycleLR state, the scheduler is StepLR"
                let wrongOptimizer = "scheduler: the StepLR passed drives another optimiser than the one passed"
                return problems == (scheduler === stepLR ? [wrongClass] : [wrongOptimizer, wrongClass])
            }
        }
        Self.expectIdentical(adamTarget.snapshot, adamBefore, "after failed restores")

        // A checkpoint without a scheduler, restored with one.
        let plain = Checkpoint.capture(model: run.model, optimizer: run.optimizer, scheduler: nil, epoch: 0, step: 0,
                                       generators: [:], metadata: [:], global: RandomGenerator(seed: 0))
        #expect {
            try plain.restore(model: adamTarget.model, optimizer: adamTarget.optimizer, scheduler: adamTarget.scheduler,
                              generators: [:], global: adamTarget.global)
        } throws: { error in
            (error as! CheckpointError).problems == ["scheduler: the checkpoint holds no scheduler state, but a OneCycleLR was passed"]
        }
    }

    /// State edited into nonsense (through the public fields) is refused rather than trapping in
    /// `Optimizer.load`, `LRScheduler.load` or `RandomGenerator.restore`.
    @Test func nonsenseStateIsRefusedNotTrappedOn() throws {
        let run = Run(.sgd, seed: 11)
        run.train(0..<2)
        let good = run.capture()
        let before = run.snapshot
        func problems(_ edit: (inout Checkpoint) -> Void) -> [String] {
            var c = good
            edit(&c)
            do {
                try run.restore(c)
                return []
            } catch {
                return (error as! CheckpointError).problems
            }
        }
        #expect(problems { $0.optimizerState.scalars["groups.0.count"] = .nan } == ["optimizer: group 0 has nan parameters in the saved state, 6 in the optimiser"])
        #expect(problems { $0.optimizerState.scalars["groups.1.count"] = 2 } == ["optimizer: 2 parameter groups in the saved state, 1 in the optimiser"])
        #expect(problems { $0.optimizerState.scalars["groups.0.beta1"] = 0.9 } == ["optimizer: group 0 has options this optimiser does not use: beta1"])
        #expect(problems { $0.optimizerState.scalars["groups.0.momentum"] = nil } == ["optimizer: group 0 lacks options momentum"])
        #expect(problems { $0.optimizerState.scalars["state.2.step"] = -1 } == ["optimizer: parameter 2 has a step count of -1.0, not a whole number >= 0"])
        #expect(problems { $0.optimizerState.scalars["state.2.step"] = nil } == ["optimizer: state.2.momentum_buffer has no step count state.2.step"])
        #expect(problems { $0.optimizerState.tensors["state.9.momentum_buffer"] = Tensor.zeros([1]) } == ["optimizer: unexpected entries state.9.momentum_buffer"])
        #expect(problems { $0.optimizerState.tensors["state.0.momentum_buffer"] = Tensor.zeros([16, 5], dtype: .float64) } == ["optimizer: state.0.momentum_buffer has dtype float64, parameter 0 float32"])
        #expect(problems { $0.schedulerState!.scalars["last_epoch"] = .infinity } == ["scheduler: last_epoch is inf, not a whole number"])
        #expect(problems { $0.schedulerState!.lists["base_lrs"] = [] } == ["scheduler: base_lrs has 0 values, the scheduler 1"])
        #expect(problems { $0.schedulerState!.scalars["step_count"] = nil } == ["scheduler: missing step_count"])
        #expect(problems { $0.globalRandomState = [1, 2, 3] } == ["random: generator global has a state of 3 words, not 6"])
        #expect(problems { $0.randomStates["loader"]![5] = 2 } == ["random: generator loader has a spare-normal flag of 2, not 0 or 1"])
        #expect(problems { $0.modelState["norm.num_batches_tracked"] = Tensor(scalar: 2.0) } == ["model: dtype mismatch norm.num_batches_tracked (checkpoint float32, model int64)"])
        Self.expectIdentical(run.snapshot, before, "after refused restores")
        #expect(problems { _ in } == [], "the unedited checkpoint still restores")
    }

    // MARK: bad files

    /// A small checkpoint: one Linear layer after one Adam step, with a scheduler and a generator.
    static func smallCheckpoint() -> Checkpoint {
        let g = RandomGenerator(seed: 12)
        let model = Linear(2, 3, generator: g)
        let opt = Adam(parameters: model.parameters(), lr: 0.1)
        let scheduler = StepLR(optimizer: opt, stepSize: 2)
        mseLoss(model(Tensor([[1.0, 2.0]])), Tensor([[0.0, 1.0, 2.0]])).backward()
        opt.step()
        scheduler.step()
        return Checkpoint.capture(model: model, optimizer: opt, scheduler: scheduler, epoch: 1, step: 1,
                                  generators: ["loader": g], metadata: ["k": "v"], global: RandomGenerator(seed: 13))
    }

    static func expectCheckpointError(_ bytes: [UInt8], _ what: String, containing text: String? = nil,
                                      sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try Checkpoint.decode(bytes, file: "ckpt.safetensors")
            Issue.record("\(what): decoding should throw", sourceLocation: sourceLocation)
        } catch let e as CheckpointError {
            #expect(e.description.hasPrefix("[checkpoint] ckpt.safetensors: ") && !e.description.contains("\n"),
                    "\(what): \(e)", sourceLocation: sourceLocation)
            if let text { #expect(e.description.contains(text), "\(what): \(e)", sourceLocation: sourceLocation) }
        } catch {
            Issue.record("\(what): threw \(type(of: error)), not CheckpointError: \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func everyTruncationThrows() throws {
        let bytes = Self.smallCheckpoint().encoded()
        _ = try Checkpoint.decode(bytes)
        for cut in 0..<bytes.count { Self.expectCheckpointError(Array(bytes.prefix(cut)), "cut at \(cut) of \(bytes.count)") }
    }

    /// The CRC-32 covers the document and every tensor's name, dtype, shape and values, and the
    /// rest of the file is structure, so no single changed byte goes unnoticed.
    @Test func everyCorruptedByteThrows() throws {
        let bytes = Self.smallCheckpoint().encoded()
        for i in 0..<bytes.count {
            for mask: UInt8 in [0x01, 0x5A, 0x80] {
                var bad = bytes
                bad[i] ^= mask
                Self.expectCheckpointError(bad, "byte \(i) ^ \(mask)")
            }
        }
        var data = bytes
        data[data.count - 1] ^= 0x01
        Self.expectCheckpointError(data, "the last data byte", containing: "the file is corrupt")
    }

    @Test func filesThatAreNotCheckpointsThrow() throws {
        let weights = Safetensors.encode(Linear(2, 3, generator: RandomGenerator(seed: 0)).stateDict(), metadata: ["format": "pt"])
        Self.expectCheckpointError(weights, "a weights file", containing: "not a Myelin checkpoint")
        Self.expectCheckpointError([], "an empty file", containing: "fewer than the 8-byte header length")
        Self.expectCheckpointError(Array("PK\u{3}\u{4} a zip, say, or any other file".utf8), "another format")
        #expect(throws: CheckpointError.self) { try Checkpoint.load(from: "/nonexistent/ckpt.safetensors") }

        let good = Self.smallCheckpoint()
        let tensors = ["model.weight": Tensor.zeros([3, 2])]
        func document(_ edit: (inout [String: Any]) -> Void) throws -> String {
            let (_, meta) = try Safetensors.decode(good.encoded())
            var doc = try JSONSerialization.jsonObject(with: Data(meta["myelin.checkpoint"]!.utf8)) as! [String: Any]
            edit(&doc)
            return String(decoding: try JSONSerialization.data(withJSONObject: doc), as: UTF8.self)
        }
        // Files with a valid checksum but contents this version cannot take.
        Self.expectCheckpointError(Checkpoint.fileBytes(tensors: tensors, document: try document { $0["version"] = 2 }),
                                   "a newer version", containing: "format version 2; this Myelin reads version 1")
        Self.expectCheckpointError(Checkpoint.fileBytes(tensors: tensors, document: try document { $0["epoch"] = nil }),
                                   "no epoch", containing: "malformed: missing epoch")
        Self.expectCheckpointError(Checkpoint.fileBytes(tensors: tensors, document: try document { $0["step"] = "one" }),
                                   "a string step", containing: "malformed: at step")
        Self.expectCheckpointError(Checkpoint.fileBytes(tensors: tensors, document: try document {
            $0["generators"] = ["global": ["1", "2", "3", "4", "5", "-6"], "named": [:] as [String: Any]]
        }), "a negative generator word", containing: "generator global has words that are not unsigned 64-bit integers")
        Self.expectCheckpointError(Checkpoint.fileBytes(tensors: tensors, document: try document {
            $0["generators"] = ["global": ["1", "2", "3", "4", "5", "18446744073709551616"], "named": [:] as [String: Any]]
        }), "a word past UInt64.max", containing: "not unsigned 64-bit integers")
        Self.expectCheckpointError(Checkpoint.fileBytes(tensors: tensors, document: try document {
            var opt = $0["optimizer"] as! [String: Any]
            opt["scalars"] = ["groups.0.lr": "fast"]
            $0["optimizer"] = opt
        }), "a word for a number", containing: "optimizer scalar groups.0.lr is \"fast\", not a number")
        Self.expectCheckpointError(Checkpoint.fileBytes(tensors: ["weights.x": Tensor.zeros([1])], document: try document { _ in }),
                                   "a stray tensor", containing: "unexpected tensor weights.x")
        Self.expectCheckpointError(Checkpoint.fileBytes(tensors: tensors, document: "[1, 2]"),
                                   "a document that is not an object", containing: "not a JSON document with a format version")
    }

    // MARK: atomic saves

    /// A save that fails, into a missing folder or part-way through writing (as a crash or a full
    /// disk would), throws and leaves the previous file at the target exactly as it was.
    @Test func aFailedSaveNeverCorruptsThePreviousFile() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/last.safetensors"
        let run = Run(.sgd, seed: 14)
        run.train(0..<2)
        let old = run.capture(step: 2)
        try old.save(to: path)
        let oldBytes = try AtomicFile.read(path)
        #expect(oldBytes == old.encoded())

        run.train(2..<4)
        let new = run.capture(step: 4)
        #expect { try new.save(to: folder + "/missing/last.safetensors") } throws: { error in
            let e = error as! CheckpointError
            return e.description.hasPrefix("[checkpoint] \(folder)/missing/last.safetensors: cannot save: cannot create a temporary file")
        }
        let size = new.encoded().count
        for cut in [0, 1, 8, size / 2, size - 1, size] {
            #expect(throws: CheckpointError.self) { try new.save(to: path, interruptAfter: cut) }
            #expect(try AtomicFile.read(path) == oldBytes, "after a save interrupted at \(cut) of \(size) bytes")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["last.safetensors"], "no temporary files left")
        #expect(try Checkpoint.load(from: path).step == 2)

        try new.save(to: path)
        #expect(try Checkpoint.load(from: path).step == 4)
        #expect(try AtomicFile.read(path) == new.encoded())
    }
}
