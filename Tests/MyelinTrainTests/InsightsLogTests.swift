import Foundation
import Testing
@testable import MyelinTrain
import MyelinCore
import MyelinNN
import MyelinData

/// `InsightsLog`: per-layer statistics and histograms of weights, gradients, updates and
/// activations, checked against values worked out by hand; its file across resumes, torn lines
/// and incremental reads.
@Suite struct InsightsLogTests {

    /// Linear(2, 2) with W = [[1, -2], [3, 0]], b = [0.5, -0.5], then ReLU; the loss is the sum of
    /// the outputs, so the gradients are sums of inputs where the ReLU lets through; plain SGD.
    static func knownModel(lr: Double = 0.5) -> (Sequential, SGD) {
        let linear = Linear(2, 2)
        linear.weight.assign(Tensor(shape: [2, 2], scalars: [Float(1), -2, 3, 0]))
        linear.bias!.assign(Tensor(shape: [2], scalars: [Float(0.5), -0.5]))
        let model = Sequential { linear; ReLU() }
        return (model, SGD(parameters: model.parameters(), lr: lr))
    }

    static var sumLoss: Loss { .custom(name: "sum") { outputs, _ in outputs.sum() } }

    /// Inputs [[1, 1], [2, 0]] in one batch: pre-activations [[-0.5, 2.5], [2.5, 5.5]], so the
    /// first unit is cut for the first row: dW = [[2, 0], [3, 1]], db = [1, 2].
    static func knownData(copies: Int = 1, batchSize: Int = 2) -> DataLoader {
        let x = Array(Array(repeating: [Float(1), 1, 2, 0], count: copies).joined())
        let data = TensorDataset(inputs: Tensor(shape: [2 * copies, 2], scalars: x),
                                 targets: Tensor(shape: [2 * copies], scalars: [Int64](repeating: 0, count: 2 * copies)))
        return DataLoader(data, batchSize: batchSize)
    }

    static func json(_ write: (inout JSONLineWriter) -> Void) -> String {
        var out = JSONLineWriter()
        write(&out)
        return String(decoding: out.bytes, as: UTF8.self)
    }

    static func stats(_ mean: Double, _ std: Double, _ min: Double, _ max: Double, _ norm: Double,
                      _ counts: [Int], nonfinite: Int? = nil) -> InsightsLog.Stats {
        InsightsLog.Stats(mean: mean, std: std, min: min, max: max, norm: norm, lo: min, hi: max, counts: counts, nonfinite: nonfinite)
    }

    @Test func statisticsOfAKnownStepWorkedOutByHand() throws {
        let path = temporaryFolder() + "/insights.jsonl"
        let (model, opt) = Self.knownModel()
        let trainer = Trainer(model: model, optimizer: opt, loss: Self.sumLoss,
                              callbacks: [InsightsLog(path: path, every: 50, bins: 5)], verbosity: .silent)
        try trainer.fit(Self.knownData(), epochs: 1)
        let entries = try InsightsLog.read(path: path)
        try #require(entries.count == 1)
        let e = entries[0]
        #expect(e.step == 1 && e.epoch == 0 && e.batch == 0)
        #expect(e.params.map(\.name) == ["0.weight", "0.bias"] && e.params.map(\.module) == ["0 Linear", "0 Linear"])
        #expect(e.params.map(\.shape) == [[2, 2], [2]])

        // W = [1, -2, 3, 0]: mean 0.5, deviations ±0.5, ±2.5; bins of width 1 from -2 (3 goes in the last).
        #expect(e.params[0].weight == Self.stats(0.5, 3.25.squareRoot(), -2, 3, 14.0.squareRoot(), [1, 0, 1, 1, 1]))
        // dW = [2, 0, 3, 1]: bins of width 0.6 from 0.
        #expect(e.params[0].grad == Self.stats(1.5, 1.25.squareRoot(), 0, 3, 14.0.squareRoot(), [1, 1, 0, 1, 1]))
        #expect(e.params[1].weight == Self.stats(0, 0.5, -0.5, 0.5, 0.5.squareRoot(), [1, 0, 0, 0, 1]))
        #expect(e.params[1].grad == Self.stats(1.5, 0.5, 1, 2, 5.0.squareRoot(), [1, 0, 0, 0, 1]))

        // Plain SGD: w' - w = -lr g, so the ratio is lr ‖g‖ / ‖w‖.
        let wRatio = try #require(e.params[0].updateRatio), bRatio = try #require(e.params[1].updateRatio)
        #expect(abs(wRatio - 0.5 * 14.0.squareRoot() / 14.0.squareRoot()) < 1e-15)
        #expect(abs(bRatio - 0.5 * 5.0.squareRoot() / 0.5.squareRoot()) < 1e-15)

        // Layer outputs: [-0.5, 2.5, 2.5, 5.5], then through the ReLU [0, 2.5, 2.5, 5.5].
        #expect(e.activations == [
            InsightsLog.Activation(name: "0 Linear", mean: 2.5, std: 4.5.squareRoot(), min: -0.5, max: 5.5, zeroShare: 0,
                                   lo: -0.5, hi: 5.5, counts: [1, 0, 2, 0, 1]),
            InsightsLog.Activation(name: "1 ReLU", mean: 2.625, std: 3.796875.squareRoot(), min: 0, max: 5.5, zeroShare: 0.25,
                                   lo: 0, hi: 5.5, counts: [1, 0, 2, 0, 1]),
        ])

        // The line as written: keys in order, numbers as JSON numbers.
        let line = AppendLogTests.text(path)
        #expect(line.hasSuffix("}\n") && line.split(separator: "\n").count == 1)
        #expect(line.hasPrefix("{\"step\":1,\"epoch\":0,\"batch\":0,\"params\":[{\"name\":\"0.weight\",\"module\":\"0 Linear\",\"shape\":[2,2],"
            + "\"weight\":{\"mean\":0.5,\"std\":\(3.25.squareRoot()),\"min\":-2.0,\"max\":3.0,\"norm\":\(14.0.squareRoot()),"
            + "\"lo\":-2.0,\"hi\":3.0,\"counts\":[1,0,1,1,1]},\"grad\":{\"mean\":1.5,"))
        #expect(line.contains("\"update_ratio\":\(wRatio)},{\"name\":\"0.bias\""))
        #expect(line.hasSuffix(",\"activations\":[{\"name\":\"0 Linear\",\"mean\":2.5,\"std\":\(4.5.squareRoot()),\"min\":-0.5,"
            + "\"max\":5.5,\"zero_share\":0.0,\"lo\":-0.5,\"hi\":5.5,\"counts\":[1,0,2,0,1]},{\"name\":\"1 ReLU\",\"mean\":2.625,"
            + "\"std\":\(3.796875.squareRoot()),\"min\":0.0,\"max\":5.5,\"zero_share\":0.25,\"lo\":0.0,\"hi\":5.5,\"counts\":[1,0,2,0,1]}]}\n"))
        // The line written is the entry read back, written again.
        #expect(e.jsonLine + "\n" == line)
    }

    /// Steps 1, every, 2·every... with their epoch and batch; training is the same with the
    /// recorder as without.
    @Test func recordsTheFirstStepAndEveryNth() throws {
        let path = temporaryFolder() + "/insights.jsonl"
        let log = InsightsLog(path: path, every: 3)
        let (trainer, loader) = CallbackTests.trainer(callbacks: [log])   // 3 batches of 4 per epoch
        try trainer.fit(loader, epochs: 4)
        let entries = try InsightsLog.read(path: path)
        #expect(entries.map(\.step) == [1, 3, 6, 9, 12])
        #expect(entries.map(\.epoch) == [0, 0, 1, 2, 3] && entries.map(\.batch) == [0, 2, 2, 2, 2])
        #expect(entries.allSatisfy { $0.params.map(\.name) == ["0.weight", "0.bias", "2.weight", "2.bias"] })
        #expect(entries.allSatisfy { $0.params.map(\.module) == ["0 Linear", "0 Linear", "2 Linear", "2 Linear"] })
        #expect(entries.allSatisfy { $0.activations.map(\.name) == ["0 Linear", "1 ReLU", "2 Linear"] })
        #expect(entries.allSatisfy { $0.params.allSatisfy { $0.weight.counts.reduce(0, +) == $0.shape.reduce(1, *) } })
        #expect(entries.allSatisfy { $0.activations.map { $0.counts.reduce(0, +) } == [32, 32, 8] && $0.activations.allSatisfy { $0.counts.count == 30 } })
        #expect((1...12).filter(log.records(step:)) == [1, 3, 6, 9, 12])

        let (plain, plainLoader) = CallbackTests.trainer(callbacks: [])
        try plain.fit(plainLoader, epochs: 4)
        #expect(weights(plain.model) == weights(trainer.model), "recording does not change training")
    }

    /// A frozen parameter has no gradient (null) and an update ratio of 0; labels of a model
    /// that is not a Sequential name its top-level children.
    @Test func frozenParametersAndNestedModels() throws {
        let path = temporaryFolder() + "/insights.jsonl"
        let (model, opt) = Self.knownModel()
        (model[0] as! Linear).bias!.requiresGrad = false
        let trainer = Trainer(model: model, optimizer: opt, loss: Self.sumLoss,
                              callbacks: [InsightsLog(path: path, bins: 5)], verbosity: .silent)
        try trainer.fit(Self.knownData(), epochs: 1)
        let e = try #require(try InsightsLog.read(path: path).first)
        #expect(e.params[1].grad == nil && e.params[1].updateRatio == 0 && e.params[0].grad != nil)
        #expect(AppendLogTests.text(path).contains("\"name\":\"0.bias\",\"module\":\"0 Linear\",\"shape\":[2],\"weight\":{\"mean\":0.0,"))
        #expect(AppendLogTests.text(path).contains("\"grad\":null,\"update_ratio\":0.0}"))

        final class Nested: Module {
            let scale = Parameter(Tensor(scalars: [Float(1)]))
            let encoder = Sequential { Linear(2, 3); ReLU(); Sequential { Linear(3, 3) } }
            let heads: [Module] = [Linear(3, 1), Linear(3, 1)]
            override func forward(_ x: Tensor) -> Tensor { heads[0](encoder(x)) * scale.value }
        }
        let labels = InsightsLog.labelledParameters(Nested()).map { "\($0.name) | \($0.module)" }
        #expect(labels == ["scale | Nested", "encoder.0.weight | encoder Sequential", "encoder.0.bias | encoder Sequential",
                           "encoder.2.0.weight | encoder Sequential", "encoder.2.0.bias | encoder Sequential",
                           "heads.0.weight | heads.0 Linear", "heads.0.bias | heads.0 Linear",
                           "heads.1.weight | heads.1 Linear", "heads.1.bias | heads.1 Linear"])
    }

    /// NaNs and infinities are left out of the statistics and counted; a tensor with no finite
    /// value has null statistics; a constant one has all its values in the first bin.
    @Test func nonFiniteValuesAreCountedApart() throws {
        let t = Tensor(shape: [6], scalars: [Float(1), .nan, .infinity, 3, -.infinity, 0])
        let s = ValueSummary.of(t, bins: 2)
        #expect(s.finite == 3 && s.nonfinite == 3 && s.zeros == 1 && s.counts == [2, 1])
        let mean = 4.0 / 3, std = ([1.0, 3, 0].map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 3).squareRoot()
        #expect(abs(s.mean - mean) < 1e-15 && abs(s.std - std) < 1e-15)
        #expect(s.min == 0 && s.max == 3 && s.norm == 10.0.squareRoot())
        let stats = InsightsLog.Stats(s)
        #expect(stats.nonfinite == 3 && Self.json { stats.write(to: &$0) }.hasSuffix(",\"counts\":[2,1],\"nonfinite\":3}"))
        let activation = InsightsLog.Activation(name: "x", s)
        #expect(activation.zeroShare == 1.0 / 3 && activation.nonfinite == 3)

        let none = InsightsLog.Stats(ValueSummary.of(Tensor(shape: [2], scalars: [Double.nan, .infinity]), bins: 2))
        #expect(Self.json { none.write(to: &$0) } == "{\"mean\":null,\"std\":null,\"min\":null,\"max\":null,\"norm\":null,\"lo\":null,\"hi\":null,\"counts\":[0,0],\"nonfinite\":2}")
        let empty = InsightsLog.Activation(name: "y", ValueSummary.of(Tensor(shape: [0], scalars: [Float]()), bins: 2))
        #expect(Self.json { empty.write(to: &$0) }
                == "{\"name\":\"y\",\"mean\":null,\"std\":null,\"min\":null,\"max\":null,\"zero_share\":null,\"lo\":null,\"hi\":null,\"counts\":[0,0]}")
        let constant = ValueSummary.of(Tensor(shape: [3], scalars: [Float(5), 5, 5]), bins: 4)
        #expect(constant.counts == [3, 0, 0, 0] && constant.std == 0 && constant.min == 5 && constant.max == 5)
        #expect(!Self.json { InsightsLog.Stats(constant).write(to: &$0) }.contains("nonfinite"))
        // Integer tensors are summarised through float64.
        #expect(ValueSummary.of(Tensor(shape: [3], scalars: [Int32(0), 2, 4]), bins: 2).counts == [1, 2])

        // In training: a NaN weight is counted, the others described; its update ratio is null.
        let path = temporaryFolder() + "/insights.jsonl"
        let (model, opt) = Self.knownModel()
        (model[0] as! Linear).weight.assign(Tensor(shape: [2, 2], scalars: [Float(1), -2, .nan, 0]))
        let trainer = Trainer(model: model, optimizer: opt, loss: Self.sumLoss,
                              callbacks: [InsightsLog(path: path, bins: 5)], verbosity: .silent)
        try trainer.fit(Self.knownData(), epochs: 1)
        let e = try #require(try InsightsLog.read(path: path).first)
        #expect(e.params[0].weight.nonfinite == 1 && abs(e.params[0].weight.mean! + 1.0 / 3) < 1e-15 && e.params[0].weight.max == 1)
        #expect(e.params[0].updateRatio == nil && AppendLogTests.text(path).contains("\"nonfinite\":1}"))
    }

    /// The lanes and chunks of the fast loops give the numbers of the plain definitions, on a
    /// buffer of no round length, in float32 and float64, with and without a NaN among the values.
    @Test func fastLoopsMatchThePlainDefinitions() throws {
        let g = RandomGenerator(seed: 7)
        let n = 3 * 512 + 7, bins = 13
        let values = Tensor.randn([n], generator: g).floats.map { $0 * 3 + 1 } + [0, 0]
        /// The definitions, in float64 but for the bins of float32 values, taken in float32.
        func reference(_ xs: [Double], float32: Bool) -> (mean: Double, std: Double, min: Double, max: Double, norm: Double, counts: [Int]) {
            let finite = xs.filter(\.isFinite)
            let mean = finite.reduce(0, +) / Double(finite.count)
            let std = (finite.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(finite.count)).squareRoot()
            let lo = finite.min()!, hi = finite.max()!, scale = Double(bins) / (hi - lo)
            var counts = [Int](repeating: 0, count: bins)
            for v in finite {
                let t = float32 ? Double((Float(v) - Float(lo)) * Float(scale)) : (v - lo) * scale
                counts[Swift.min(Int(t.rounded(.down)), bins - 1)] += 1
            }
            return (mean, std, lo, hi, finite.map { $0 * $0 }.reduce(0, +).squareRoot(), counts)
        }
        func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= 1e-12 * Swift.max(abs(a), abs(b), 1) }
        for withNaN in [false, true] {
            var xs = values
            if withNaN { xs[100] = .nan }
            for t in [Tensor(shape: [xs.count], scalars: xs), Tensor(shape: [xs.count], scalars: xs.map(Double.init))] {
                let want = reference(xs.map(Double.init), float32: t.dtype == .float32)
                let s = ValueSummary.of(t, bins: bins)
                #expect(s.nonfinite == (withNaN ? 1 : 0) && s.zeros == 2 && s.counts == want.counts, "\(t.dtype), NaN \(withNaN)")
                #expect(close(s.mean, want.mean) && close(s.std, want.std) && close(s.norm, want.norm))
                #expect(s.min == want.min && s.max == want.max)
            }
        }
        // Values on the bin edges go up, the maximum into the last bin.
        let edges = ValueSummary.of(Tensor(shape: [5], scalars: [Float(0), 0.25, 0.5, 0.75, 1]), bins: 4)
        #expect(edges.counts == [1, 1, 1, 2])
        #expect(ValueSummary.bin(Double(0.5), lo: 0, scale: 4, last: 3) == 2 && ValueSummary.bin(Double(0.4999), lo: 0, scale: 4, last: 3) == 1)
        #expect(ValueSummary.bin(Double(7), lo: 0, scale: 4, last: 3) == 3 && ValueSummary.bin(Double.nan, lo: 0, scale: 4, last: 3) == 3)
        #expect(ValueSummary.bin(Float(0.5), lo: 0, scale: 4, last: 3) == 2 && ValueSummary.bin(Float(0.4999), lo: 0, scale: 4, last: 3) == 1)
    }

    /// Lines wait in a buffer until `flushInterval` has passed, an epoch ends or training ends.
    @Test func linesAreBufferedUntilTheFlushInterval() throws {
        let dir = temporaryFolder()
        func run(_ name: String, flushInterval: Double) throws -> (atBatchEnd: [Int], atEpochEnd: [Int]) {
            let path = dir + "/" + name
            var atBatchEnd: [Int] = [], atEpochEnd: [Int] = []
            let spy = LambdaCallback(
                onEpochEnd: { _, _, _ in atEpochEnd.append(AppendLogTests.text(path).split(separator: "\n").count) },
                onBatchEnd: { _, _, _ in atBatchEnd.append(AppendLogTests.text(path).split(separator: "\n").count) })
            let (model, opt) = Self.knownModel(lr: 0.01)
            let trainer = Trainer(model: model, optimizer: opt, loss: Self.sumLoss,
                                  callbacks: [InsightsLog(path: path, every: 2, flushInterval: flushInterval), spy], verbosity: .silent)
            try trainer.fit(Self.knownData(copies: 4, batchSize: 2), epochs: 2)   // steps 1...8; 1, 2, 4, 6, 8 recorded
            return (atBatchEnd, atEpochEnd)
        }
        let held = try run("held.jsonl", flushInterval: 1000)
        #expect(held.atBatchEnd == [0, 0, 0, 0, 3, 3, 3, 3] && held.atEpochEnd == [3, 5])
        let eager = try run("eager.jsonl", flushInterval: 0)
        #expect(eager.atBatchEnd == [1, 2, 2, 3, 3, 4, 4, 5] && eager.atEpochEnd == [3, 5])
        #expect(AppendLogTests.text(dir + "/held.jsonl").split(separator: "\n").count == 5)
    }

    /// A resumed run cuts the file back to the checkpoint's step (and drops a torn tail), then
    /// writes on: the file ends as a run never interrupted wrote it, byte for byte.
    @Test func resumeCutsTheFileBack() throws {
        let dir = temporaryFolder()
        let (straight, loader) = ResumeTests.make(seed: 3, callbacks: [InsightsLog(path: dir + "/straight.jsonl", every: 3)])
        try straight.fit(loader, epochs: 4)   // 4 steps per epoch
        let whole = AppendLogTests.text(dir + "/straight.jsonl")
        let entries = try InsightsLog.read(path: dir + "/straight.jsonl")
        #expect(entries.map(\.step) == [1, 3, 6, 9, 12, 15])
        #expect(entries[0].params.map(\.module) == ["fc1 Linear", "fc1 Linear", "fc2 Linear", "fc2 Linear"])
        #expect(entries[0].activations.map(\.name) == ["Net"], "not a Sequential: the model's output alone")

        let path = dir + "/insights.jsonl"
        var saved: Checkpoint?
        let (first, firstLoader) = ResumeTests.make(seed: 3, callbacks: [
            InsightsLog(path: path, every: 3),
            LambdaCallback(onEpochEnd: { e, _, ctx in if e == 1 { saved = ctx.trainer.checkpoint() } })])
        try first.fit(firstLoader, epochs: 3)
        #expect(try InsightsLog.read(path: path).map(\.step) == [1, 3, 6, 9, 12])
        try AppendLogTests.appendRaw("{\"step\":15,\"epoch\":3,\"ba", to: path)

        let ckpt = try #require(saved)
        #expect(ckpt.step == 8)
        let (resumed, resumedLoader) = ResumeTests.make(seed: 30, callbacks: [InsightsLog(path: path, every: 3)])
        try resumed.restore(from: ckpt, loader: resumedLoader)
        var atStart: [Int] = []
        resumed.callbacks.append(LambdaCallback(onTrainBegin: { _ in atStart = (try? InsightsLog.read(path: path).map(\.step)) ?? [] }))
        try resumed.fit(resumedLoader, epochs: 4)
        #expect(atStart == [1, 3, 6], "cut to steps <= 8 when fit started")
        #expect(AppendLogTests.text(path) == whole)
        #expect(weights(resumed.model) == weights(straight.model))

        try InsightsLog.truncate(path: path, toSteps: 3)
        #expect(AppendLogTests.text(path) == whole.split(separator: "\n").prefix(2).map { $0 + "\n" }.joined())
        #expect(InsightsLog.step(of: "{\"step\":42,\"epoch\":0") == 42 && InsightsLog.step(of: "{\"epoch\":0}") == nil)
    }

    /// `read` ignores a torn last line; any other bad line is an error naming it.
    @Test func tornLastLineIsIgnored() throws {
        let path = temporaryFolder() + "/insights.jsonl"
        let (model, opt) = Self.knownModel()
        let trainer = Trainer(model: model, optimizer: opt, loss: Self.sumLoss,
                              callbacks: [InsightsLog(path: path, every: 2)], verbosity: .silent)
        try trainer.fit(Self.knownData(copies: 4, batchSize: 2), epochs: 1)
        let entries = try InsightsLog.read(path: path)
        #expect(entries.map(\.step) == [1, 2, 4])
        try AppendLogTests.appendRaw("{\"step\":6,\"epoch\":1,\"batch\":1,\"params\":[{\"na", to: path)
        #expect(try InsightsLog.read(path: path) == entries)
        try AppendLogTests.appendRaw("\n", to: path)
        #expect(throws: FileError.self) { try InsightsLog.read(path: path) }
        do {
            _ = try InsightsLog.read(path: path)
        } catch let error as FileError {
            #expect(error.reason.hasPrefix("line 4 is not an insights entry"))
        }
        #expect(throws: FileError.self) { try InsightsLog.read(path: path + ".missing") }
    }

    /// `readNew` returns the lines added since its cursor only, leaves a torn line for later,
    /// and starts over (saying so) when the file was cut back by a new run.
    @Test func incrementalReadsReturnOnlyNewEntries() throws {
        let path = temporaryFolder() + "/insights.jsonl"
        let nothing = try InsightsLog.readNew(path: path)
        #expect(nothing.entries.isEmpty && nothing.cursor.offset == 0 && !nothing.restarted)

        let (model, opt) = Self.knownModel(lr: 0.01)
        let trainer = Trainer(model: model, optimizer: opt, loss: Self.sumLoss,
                              callbacks: [InsightsLog(path: path, every: 2)], verbosity: .silent)
        let loader = Self.knownData(copies: 4, batchSize: 2)   // 4 steps per epoch
        try trainer.fit(loader, epochs: 1)
        let first = try InsightsLog.readNew(path: path)
        #expect(first.entries.map(\.step) == [1, 2, 4] && !first.restarted)
        #expect(first.cursor.offset == AppendLogTests.text(path).utf8.count)
        let again = try InsightsLog.readNew(path: path, after: first.cursor)
        #expect(again.entries.isEmpty && again.cursor == first.cursor)

        try trainer.fit(loader, epochs: 3, initialEpoch: 1)   // epochs 1 and 2: steps 5...12, the file appended to
        let second = try InsightsLog.readNew(path: path, after: first.cursor)
        #expect(second.entries.map(\.step) == [6, 8, 10, 12] && !second.restarted)
        #expect(first.entries + second.entries == (try InsightsLog.read(path: path)))

        // A torn line is left until it is whole.
        let line = second.entries[0].jsonLine
        let half = line.utf8.count / 2
        try AppendLogTests.appendRaw(String(line.prefix(half)), to: path)
        let torn = try InsightsLog.readNew(path: path, after: second.cursor)
        #expect(torn.entries.isEmpty && torn.cursor == second.cursor)
        try AppendLogTests.appendRaw(String(line.dropFirst(half)) + "\n", to: path)
        let whole = try InsightsLog.readNew(path: path, after: torn.cursor)
        #expect(whole.entries == [second.entries[0]] && whole.cursor.offset == AppendLogTests.text(path).utf8.count)

        // A new run rewrites the file: read from the start.
        let (model2, opt2) = Self.knownModel(lr: 0.01)
        let fresh = Trainer(model: model2, optimizer: opt2, loss: Self.sumLoss,
                            callbacks: [InsightsLog(path: path, every: 2)], verbosity: .silent)
        try fresh.fit(loader, epochs: 1)
        let restarted = try InsightsLog.readNew(path: path, after: whole.cursor)
        #expect(restarted.restarted && restarted.entries == first.entries)
    }

    /// The recorder's cost on an MNIST-sized MLP (784-128-64-10, batches of 64, 938 steps: one
    /// MNIST epoch of random data): the time spent in its hooks per recorded step, against a
    /// training step, and whole epochs with and without it. Off by default (timing has no place in
    /// a parallel debug run); `MYELIN_INSIGHTS_COST=1 swift test -c release -Xswiftc
    /// -enable-testing --filter insightsCost` prints it.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["MYELIN_INSIGHTS_COST"] != nil))
    func insightsCost() throws {
        let g = RandomGenerator(seed: 1)
        let n = 64 * 938, batch = 64, every = 50
        let data = TensorDataset(inputs: Tensor.randn([n, 784], generator: g), targets: Tensor.randint(0, 10, shape: [n], generator: g))
        let path = temporaryFolder() + "/insights.jsonl"
        func run(_ insights: Bool) throws -> (seconds: Double, inHooks: Double, records: Int) {
            let g = RandomGenerator(seed: 2)
            let model = Sequential { Linear(784, 128, generator: g); ReLU(); Linear(128, 64, generator: g); ReLU(); Linear(64, 10, generator: g) }
            var inHooks = 0.0, mark = 0.0, records = 0
            // Clocks around the recorder's hooks (with nothing between them for the plain run).
            let before = LambdaCallback(onBatchEnd: { _, _, _ in mark = monotonicSeconds() },
                                        onAfterBackward: { _, _ in mark = monotonicSeconds() })
            let after = LambdaCallback(onBatchEnd: { _, _, ctx in
                                           inHooks += monotonicSeconds() - mark
                                           if ctx.step == 1 || ctx.step % every == 0 { records += 1 } },
                                       onAfterBackward: { _, _ in inHooks += monotonicSeconds() - mark })
            let callbacks: [Callback] = insights ? [before, InsightsLog(path: path, every: every), after] : [before, after]
            let trainer = Trainer(model: model, optimizer: Adam(parameters: model.parameters(), lr: 1e-3), loss: .crossEntropy,
                                  callbacks: callbacks, verbosity: .silent)
            let t0 = monotonicSeconds()
            try trainer.fit(DataLoader(data, batchSize: batch, shuffle: true, seed: 3), epochs: 1)
            return (monotonicSeconds() - t0, inHooks, records)
        }
        _ = try run(false)
        var plain: [Double] = [], with: [Double] = [], perRecord: [Double] = []
        for _ in 0..<5 {
            let p = try run(false), w = try run(true)
            plain.append(p.seconds)
            with.append(w.seconds)
            perRecord.append((w.inHooks - p.inHooks) / Double(w.records))
        }
        let stepTime = plain.min()! / Double(n / batch)
        let record = perRecord.sorted()[perRecord.count / 2]
        let overhead = record / (Double(every) * stepTime)
        let lines = AppendLogTests.text(path).split(separator: "\n")
        print(String(format: "insights cost (MLP 784-128-64-10, batch %d, %d steps, every %d, %d lines of ~%d bytes): "
                     + "step %.3f ms, recorded step %.3f ms in the recorder (%.2f steps): overhead %.2f%%; "
                     + "epoch %.3f s without, %.3f s with (best of 5: %.3fx the speed)",
                     batch, n / batch, every, lines.count, AppendLogTests.text(path).utf8.count / Swift.max(lines.count, 1),
                     stepTime * 1000, record * 1000, record / stepTime, 100 * overhead,
                     plain.min()!, with.min()!, plain.min()! / with.min()!))
        #expect(overhead < 0.05, "a recorded step every \(every) costs \(100 * overhead)% of training")
    }
}
