import Foundation
import MyelinCore
import MyelinNN
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Records what happens inside the network as training runs, for a live dashboard: every
/// parameter's values, gradient and relative update, and every layer's output, as summary
/// statistics and histograms, one JSON line per recorded step.
///
/// Recorded steps: the run's first (step 1) and every `every`-th optimiser step after it (steps
/// as the trainer counts them after the step: 1, every, 2·every, ...). On other steps the
/// callback does nothing but test the step number. On a recorded step:
/// - at `onAfterBackward` (gradients fresh, before clipping and the step) each parameter's values
///   and gradient are summarised and its values copied; the layers' outputs on the current batch
///   are computed with `TrainingContext.activations` (eval mode, no graph: training is not
///   changed) on at most its first 256 rows (`activationRows`) and summarised;
/// - at `onBatchEnd` each parameter's update ratio `‖w_after - w_before‖ / ‖w_before‖` is taken
///   and the line is buffered. The buffer is written (one `write`, not synced) when a line finds
///   `flushInterval` seconds passed since the last write, at each epoch's end and when training
///   ends: when records are further apart than `flushInterval`, each is written at once;
///   otherwise a reader lags by less than twice `flushInterval`. A kill can leave a torn last
///   line, which the readers ignore.
///
/// Each tensor is summarised in two passes over its float32 or float64 buffer (statistics, then
/// histogram), tensors shared out among Myelin's worker threads (`Threading`); a tensor's numbers
/// do not depend on the thread count.
///
/// The file, JSON Lines (shown wrapped; keys always in this order):
///
/// ```text
/// {"step":100,"epoch":0,"batch":99,
///  "params":[{"name":"0.weight","module":"0 Linear","shape":[128,784],
///             "weight":{"mean":..,"std":..,"min":..,"max":..,"norm":..,"lo":..,"hi":..,"counts":[..]},
///             "grad":{..same keys..} or null,"update_ratio":0.0012}, ...],
///  "activations":[{"name":"0 Linear","mean":..,"std":..,"min":..,"max":..,"zero_share":..,
///                  "lo":..,"hi":..,"counts":[..]}, ...]}
/// ```
///
/// - `name`: the parameter's state-dict name (`namedParameters()`); `module`: the top-level
///   layer it belongs to, `"<child name> <type>"` (for a `Sequential`, `"0 Linear"`, the name
///   `activations()` gives that layer's output; a parameter deeper in, `"2.0.weight"`, is labelled
///   by its top-level child, `"2 Sequential"`), or the model's type name for the model's own.
/// - Statistics of the finite values: `mean`, `std` (population, divides by n), `min`, `max`,
///   `norm` (√Σx²); `counts`, `bins` equal-width bins from `lo` (= min) to `hi` (= max), the last
///   closed (all values in the first bin when min == max; float32 values are binned in float32).
///   NaNs and infinities are left out and counted in `"nonfinite": n`, present only when n > 0.
///   `zero_share` (activations): the share of exact zeros among the finite values, for a ReLU the
///   share of dead units on the batch.
/// - `grad` is null for a parameter without gradient (frozen, or unused by the loss); `update_ratio`
///   is null when the values before the step are all zero, or some before or after it are not
///   finite.
/// - Numbers in Swift's shortest round-trip form; non-finite numbers as null (a statistic with no
///   finite value to describe).
/// - `activations` is empty when the trainer has a `forward` closure: the model is then not called
///   on the batch alone, as `activations()` would call it.
///
/// When `fit` starts, the file is cut to the lines of steps the trainer has already taken (none
/// for a new run; up to the checkpoint's step for a resumed one), dropping a torn last line, by an
/// atomic rewrite: a reader following it with `readNew` sees the new file and starts over.
///
/// Cost: on an MNIST-sized MLP (784-128-64-10, batches of 64) a recorded step costs about two
/// training steps, so the default `every: 50` adds about 4% (see the README).
///
/// ```swift
/// let trainer = Trainer(model: model, optimizer: opt, loss: .crossEntropy,
///                       callbacks: [InsightsLog(path: "run/insights.jsonl", every: 50)])
/// try trainer.fit(loader, epochs: 5)
/// let entries = try InsightsLog.read(path: "run/insights.jsonl")
/// print(entries.last!.params.map { ($0.name, $0.updateRatio ?? .nan) })
/// // A live view, polling:
/// var cursor = InsightsLog.Cursor()
/// let (new, next, restarted) = try InsightsLog.readNew(path: "run/insights.jsonl", after: cursor)
/// cursor = next   // if restarted, drop what was read before
/// ```
public final class InsightsLog: Callback {
    /// Summary statistics and histogram of a tensor's finite values (nil: no finite value).
    public struct Stats: Codable, Sendable, Equatable {
        public var mean: Double?
        public var std: Double?
        public var min: Double?
        public var max: Double?
        public var norm: Double?
        public var lo: Double?
        public var hi: Double?
        public var counts: [Int]
        /// NaNs and infinities left out (nil when none).
        public var nonfinite: Int?

        public init(mean: Double?, std: Double?, min: Double?, max: Double?, norm: Double?, lo: Double?, hi: Double?,
                    counts: [Int], nonfinite: Int? = nil) {
            self.mean = mean; self.std = std; self.min = min; self.max = max; self.norm = norm
            self.lo = lo; self.hi = hi; self.counts = counts; self.nonfinite = nonfinite
        }
    }

    /// One parameter at a recorded step.
    public struct Param: Codable, Sendable, Equatable {
        public var name: String
        public var module: String
        public var shape: [Int]
        /// The values before the step.
        public var weight: Stats
        /// The gradient the step used (before clipping), nil when there was none.
        public var grad: Stats?
        /// `‖w_after - w_before‖ / ‖w_before‖` over the step, nil when not finite.
        public var updateRatio: Double?

        enum CodingKeys: String, CodingKey {
            case name, module, shape, weight, grad
            case updateRatio = "update_ratio"
        }

        public init(name: String, module: String, shape: [Int], weight: Stats, grad: Stats?, updateRatio: Double?) {
            self.name = name; self.module = module; self.shape = shape
            self.weight = weight; self.grad = grad; self.updateRatio = updateRatio
        }
    }

    /// One layer's output at a recorded step.
    public struct Activation: Codable, Sendable, Equatable {
        public var name: String
        public var mean: Double?
        public var std: Double?
        public var min: Double?
        public var max: Double?
        /// The share of exact zeros among the finite values.
        public var zeroShare: Double?
        public var lo: Double?
        public var hi: Double?
        public var counts: [Int]
        public var nonfinite: Int?

        enum CodingKeys: String, CodingKey {
            case name, mean, std, min, max
            case zeroShare = "zero_share"
            case lo, hi, counts, nonfinite
        }

        public init(name: String, mean: Double?, std: Double?, min: Double?, max: Double?, zeroShare: Double?,
                    lo: Double?, hi: Double?, counts: [Int], nonfinite: Int? = nil) {
            self.name = name; self.mean = mean; self.std = std; self.min = min; self.max = max
            self.zeroShare = zeroShare; self.lo = lo; self.hi = hi; self.counts = counts; self.nonfinite = nonfinite
        }
    }

    /// One line of the file: a recorded step.
    public struct Entry: Codable, Sendable, Equatable {
        public var step: Int
        public var epoch: Int
        public var batch: Int
        public var params: [Param]
        public var activations: [Activation]

        public init(step: Int, epoch: Int, batch: Int, params: [Param], activations: [Activation]) {
            self.step = step; self.epoch = epoch; self.batch = batch
            self.params = params; self.activations = activations
        }
    }

    /// Where a reader following the file has got to, for `readNew` (see `LogTail`).
    public typealias Cursor = LogTail

    /// The most rows of the batch the layers' outputs are computed on.
    public static let activationRows = 256

    public let path: String
    /// Record step 1 and every step that is a multiple of this.
    public let every: Int
    /// Histogram bins.
    public let bins: Int

    /// The longest a written line waits in the buffer before the file gets it, in seconds
    /// (checked at recorded steps; lines are also written at each epoch's end and when training ends).
    public let flushInterval: Double

    private var file: AppendFile?
    private var buffer = JSONLineWriter()
    private var lastFlush = 0.0
    /// The model's parameters with their names and layer labels, listed when `fit` starts.
    private var tracked: [(name: String, module: String, parameter: Parameter)] = []
    /// What `onAfterBackward` measured on a recorded step, finished at its `onBatchEnd`.
    private var pending: (step: Int, params: [Param], before: [WeightSnapshot], activations: [Activation])?

    /// A recorder appending to `path` at step 1 and every `every` steps, with `bins`-bin histograms.
    public init(path: String, every: Int = 50, bins: Int = 30, flushInterval: Double = 0.5) {
        require(every >= 1, "[insights] every must be at least 1, got \(every)")
        require(bins >= 1, "[insights] bins must be at least 1, got \(bins)")
        self.path = path
        self.every = every
        self.bins = bins
        self.flushInterval = flushInterval
    }

    /// Whether the optimiser step numbered `step` (1 for the first) is recorded.
    public func records(step: Int) -> Bool { step == 1 || step % every == 0 }

    public func onTrainBegin(_ ctx: TrainingContext) {
        file = nil
        pending = nil
        buffer = JSONLineWriter()
        tracked = Self.labelledParameters(ctx.model)
        do {
            try Self.truncate(path: path, toSteps: ctx.trainer.step)
            file = try AppendFile(path: path)
            lastFlush = monotonicSeconds()
        } catch {
            ctx.trainer.log("InsightsLog: cannot open \(path): \(error)")
            ctx.trainer.fail(error)
        }
    }

    public func onAfterBackward(batch: Int, ctx: TrainingContext) {
        let step = ctx.trainer.step + 1
        guard records(step: step), file != nil else { return }
        // Values and gradients, all summarised at once (on the worker threads when big enough).
        let values = tracked.map(\.parameter.value)
        let grads = tracked.map(\.parameter.grad)
        let summaries = ValueSummary.of(values + grads.compactMap { $0 }, bins: bins)
        var params: [Param] = []
        params.reserveCapacity(tracked.count)
        var g = values.count
        for (i, (name, module, _)) in tracked.enumerated() {
            var grad: Stats?
            if grads[i] != nil {
                grad = Stats(summaries[g])
                g += 1
            }
            params.append(Param(name: name, module: module, shape: values[i].shape, weight: Stats(summaries[i]),
                                grad: grad, updateRatio: nil))
        }
        var activations: [Activation] = []
        if ctx.trainer.forward == nil, var x = ctx.inputs {
            if x.rank > 0 && x.shape[0] > Self.activationRows { x = x[0..<Self.activationRows] }
            let outputs = ctx.activations(x)
            activations = zip(outputs, ValueSummary.of(outputs.map(\.value), bins: bins)).map {
                Activation(name: $0.name, $1)
            }
        }
        pending = (step, params, values.map(WeightSnapshot.init), activations)
    }

    public func onBatchEnd(batch: Int, logs: [String: Double], ctx: TrainingContext) {
        guard let record = pending else { return }
        pending = nil
        guard file != nil, record.step == ctx.trainer.step else { return }
        var params = record.params
        let after = tracked.map(\.parameter.value)
        var changes = [Double](repeating: .nan, count: after.count)
        changes.withUnsafeMutableBufferPointer { slots in
            ValueSummary.inParallel(sizes: after.map(\.count)) { slots[$0] = record.before[$0].changeNorm(to: after[$0]) }
        }
        for i in params.indices {
            // ‖w_before‖ is the weight's norm, unless some of its values were not finite.
            let weight = params[i].weight
            let ratio = weight.nonfinite == nil ? changes[i] / (weight.norm ?? 0) : .nan
            params[i].updateRatio = ratio.isFinite ? ratio : nil
        }
        Entry(step: record.step, epoch: ctx.epoch, batch: batch, params: params, activations: record.activations)
            .write(to: &buffer)
        let now = monotonicSeconds()
        if now - lastFlush >= flushInterval || buffer.bytes.count >= 1 << 18 { flush(ctx, now: now) }
    }

    public func onEpochEnd(epoch: Int, logs: [String: Double], ctx: TrainingContext) {
        flush(ctx, now: monotonicSeconds())
    }

    public func onTrainEnd(_ ctx: TrainingContext) {
        pending = nil
        flush(ctx, now: monotonicSeconds())
        file?.close()
        file = nil
    }

    /// Writes the buffered lines in one `write`.
    private func flush(_ ctx: TrainingContext, now: Double) {
        lastFlush = now
        guard let file, !buffer.bytes.isEmpty else { return }
        do {
            try file.append(buffer.bytes)
            buffer.bytes.removeAll(keepingCapacity: true)
        } catch {
            ctx.trainer.log("InsightsLog: cannot append to \(path): \(error)")
            ctx.trainer.fail(error)
            self.file = nil
        }
    }

    /// The model's parameters in `namedParameters()` order, each with the label of the top-level
    /// child holding it (`"0 Linear"`; the longest child name that prefixes the parameter's,
    /// since array children are named `"blocks.0"`), or the model's type name.
    static func labelledParameters(_ model: Module) -> [(name: String, module: String, parameter: Parameter)] {
        let children = model.namedChildren()
        return model.namedParameters().map { name, p in
            var label = model.typeName, longest = -1
            for (child, m) in children where child.count > longest && name.hasPrefix(child + ".") {
                label = "\(child) \(m.typeName)"
                longest = child.count
            }
            return (name, label, p)
        }
    }

    // MARK: Reading

    /// Every complete line of an insights log, in file order (a torn last line is ignored; other
    /// lines that do not read throw `FileError` naming the line).
    ///
    /// ```swift
    /// let ratios = try InsightsLog.read(path: "run/insights.jsonl").map { $0.params[0].updateRatio }
    /// ```
    public static func read(path: String) throws -> [Entry] {
        guard let lines = try AppendFile.completeLines(path) else { throw FileError(path: path, reason: "no such file") }
        let decoder = JSONDecoder()
        var entries: [Entry] = []
        for (i, line) in lines.enumerated() where !line.isEmpty {
            entries.append(try decode(line, decoder, path: path, at: "line \(i + 1)"))
        }
        return entries
    }

    /// The complete lines added since `cursor`, and the cursor to pass next time: reads only the
    /// bytes past `cursor.offset`, so polling costs what was appended, not the file's size. A
    /// torn last line is left for the next call. If the file was replaced since `cursor` (cut back
    /// when a run resumed or restarted) or is shorter, it is read from the start and `restarted`
    /// is true: drop the entries read before. No file yet reads as no entries.
    ///
    /// ```swift
    /// var cursor = InsightsLog.Cursor(), shown: [InsightsLog.Entry] = []
    /// while training {
    ///     let (new, next, restarted) = try InsightsLog.readNew(path: "run/insights.jsonl", after: cursor)
    ///     if restarted { shown = [] }
    ///     shown += new
    ///     cursor = next
    ///     sleep(1)
    /// }
    /// ```
    public static func readNew(path: String, after cursor: Cursor = Cursor()) throws
        -> (entries: [Entry], cursor: Cursor, restarted: Bool) {
        var next = cursor
        let start = cursor.offset
        let (lines, restarted) = try next.read(path)
        let decoder = JSONDecoder()
        let entries = try lines.map { try decode($0, decoder, path: path, at: "a line after byte \(restarted ? 0 : start)") }
        return (entries, next, restarted)
    }

    private static func decode(_ line: Substring, _ decoder: JSONDecoder, path: String, at place: String) throws -> Entry {
        do {
            return try decoder.decode(Entry.self, from: Data(line.utf8))
        } catch {
            throw FileError(path: path, reason: "\(place) is not an insights entry (\(error)): \(line.prefix(80))")
        }
    }

    // MARK: Truncation

    /// Rewrites the log (atomically) keeping the lines of steps up to `steps` and no torn line;
    /// does nothing if there is no file or nothing to drop.
    ///
    /// ```swift
    /// try InsightsLog.truncate(path: "run/insights.jsonl", toSteps: ckpt.step)
    /// ```
    public static func truncate(path: String, toSteps steps: Int) throws {
        try HistoryLog.rewrite(path) { line in step(of: line).map { $0 <= steps } ?? false }
    }

    /// The step of a line as written, `{"step":N,...`, read without parsing the rest.
    static func step(of line: Substring) -> Int? {
        let prefix = "{\"step\":"
        guard line.hasPrefix(prefix) else { return nil }
        let digits = line.dropFirst(prefix.count).prefix { $0 >= "0" && $0 <= "9" }
        return Int(digits)
    }
}
