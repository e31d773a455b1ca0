import Foundation
import MyelinCore
import MyelinNN

/// Whether a monitored value improves by going down or up.
public enum MonitorMode: Sendable {
    /// `.max` for accuracy-like keys (accuracy, precision, recall, f1, r2, auc, with or without
    /// `val_`), `.min` otherwise (losses, errors).
    case auto
    case min
    case max

    /// `.auto` resolved for `monitor`.
    public func resolved(for monitor: String) -> MonitorMode {
        guard self == .auto else { return self }
        let key = monitor.hasPrefix("val_") ? String(monitor.dropFirst(4)) : monitor
        let higherIsBetter = key.contains("acc") || ["precision", "recall", "f1", "r2", "auc", "top"].contains { key.hasPrefix($0) }
        return higherIsBetter ? .max : .min
    }
}

/// Display forms shared by the callbacks' messages.
private func describe(_ v: Double) -> String { Format.value(v) }

/// Stops training when `monitor` has not improved for `patience` epochs, as Keras's
/// `EarlyStopping`: an epoch improves when it beats the best so far by more than `minDelta`; after
/// `patience` epochs without improvement training stops. With `restoreBestWeights`, the weights
/// (and buffers) of the best epoch are put back when training ends.
///
/// ```swift
/// EarlyStopping(monitor: "val_loss", patience: 5, restoreBestWeights: true)
/// ```
public final class EarlyStopping: Callback {
    public let monitor: String
    public let mode: MonitorMode
    public let patience: Int
    public let minDelta: Double
    public let restoreBestWeights: Bool
    /// An epoch resets the patience counter only if it also beats this.
    public let baseline: Double?
    /// Epochs before this one are not watched (a warm-up).
    public let startFromEpoch: Int

    /// The best monitored value seen, and its epoch (0-based).
    public private(set) var best: Double?
    public private(set) var bestEpoch: Int?
    /// The epoch after which training was stopped, if it was.
    public private(set) var stoppedEpoch: Int?
    /// Epochs since the last improvement.
    public private(set) var wait = 0
    private var bestWeights: [String: Tensor]?
    private var warned = false

    public init(monitor: String = "val_loss", mode: MonitorMode = .auto, patience: Int = 0, minDelta: Double = 0,
                restoreBestWeights: Bool = false, baseline: Double? = nil, startFromEpoch: Int = 0) {
        require(patience >= 0, "[earlyStopping] patience must be >= 0, got \(patience)")
        self.monitor = monitor
        self.mode = mode.resolved(for: monitor)
        self.patience = patience
        self.minDelta = Swift.abs(minDelta)
        self.restoreBestWeights = restoreBestWeights
        self.baseline = baseline
        self.startFromEpoch = startFromEpoch
    }

    private func isImprovement(_ value: Double, over reference: Double?) -> Bool {
        guard let reference else { return true }
        return mode == .max ? value - minDelta > reference : value + minDelta < reference
    }

    public func onTrainBegin(_ ctx: TrainingContext) {
        wait = 0
        best = nil
        bestEpoch = nil
        stoppedEpoch = nil
        bestWeights = nil
        warned = false
    }

    public func onEpochEnd(epoch: Int, logs: [String: Double], ctx: TrainingContext) {
        guard let current = logs[monitor] else {
            if !warned {
                ctx.trainer.log("EarlyStopping: \"\(monitor)\" is not among the logs (\(History.ordered(Array(logs.keys)).joined(separator: ", "))); not watching it")
                warned = true
            }
            return
        }
        if epoch < startFromEpoch { return }
        if restoreBestWeights && bestWeights == nil {
            bestWeights = ctx.model.stateDict()
            bestEpoch = epoch
        }
        wait += 1
        if isImprovement(current, over: best) {
            best = current
            bestEpoch = epoch
            if restoreBestWeights { bestWeights = ctx.model.stateDict() }
            if baseline == nil || isImprovement(current, over: baseline) { wait = 0 }
            return
        }
        if wait >= patience && epoch > 0 {
            stoppedEpoch = epoch
            var reason = "EarlyStopping: \(monitor) has not improved for \(wait) epoch\(wait == 1 ? "" : "s"); stopping after epoch \(epoch + 1)"
            if let best, let bestEpoch { reason += " (best \(describe(best)) at epoch \(bestEpoch + 1))" }
            ctx.trainer.stop(reason: reason)
        }
    }

    public func onTrainEnd(_ ctx: TrainingContext) {
        guard restoreBestWeights, let weights = bestWeights, let bestEpoch else { return }
        do {
            try ctx.model.loadStateDict(weights, strict: true)
            if ctx.trainer.epoch != bestEpoch + 1 {
                ctx.trainer.log("EarlyStopping: restored the weights of epoch \(bestEpoch + 1)" + (best.map { " (\(monitor) \(describe($0)))" } ?? ""))
            }
        } catch {
            ctx.trainer.fail(error)
        }
    }
}

/// Saves the model after each epoch (or each `every` epochs), or only when `monitor` improves,
/// as Keras's `ModelCheckpoint`. `full: false` writes the weights (`model.save`, `.safetensors`
/// with PyTorch names); `full: true` writes `trainer.checkpoint()`, from which `fit` resumes bit for
/// bit; with `includeHistory: false` that checkpoint leaves the history out, so its cost does not
/// grow with the run (keep the history with a `HistoryLog` placed before this callback, and pass
/// it to `restore(from:loader:history:)`). Writes are atomic and create missing folders. `{epoch}`
/// in the path becomes the 1-based epoch number, `{key}` a log value, with Keras's format specs
/// if given (`"run/ckpt-{epoch:02d}-{val_loss:.2f}.safetensors"`).
///
/// ```swift
/// ModelCheckpoint(path: "run/best.safetensors", monitor: "val_accuracy", saveBestOnly: true)
/// ModelCheckpoint(path: "run/last.safetensors", full: true)
/// ModelCheckpoint(path: "run/last.safetensors", full: true, includeHistory: false)
/// ```
public final class ModelCheckpoint: Callback {
    public let path: String
    public let monitor: String
    public let mode: MonitorMode
    public let saveBestOnly: Bool
    public let full: Bool
    /// Whether full checkpoints carry the history (see `Trainer.checkpoint(metadata:includeHistory:)`).
    public let includeHistory: Bool
    public let every: Int
    /// The best monitored value so far (with `saveBestOnly`).
    public private(set) var best: Double?
    /// The epochs (0-based) after which a file was written, and the last file.
    public private(set) var savedEpochs: [Int] = []
    public private(set) var lastSavedPath: String?
    private var warned = false, warnedFields = false

    public init(path: String, monitor: String = "val_loss", mode: MonitorMode = .auto, saveBestOnly: Bool = false,
                full: Bool = false, every: Int = 1, includeHistory: Bool = true) {
        require(every > 0, "[modelCheckpoint] every must be positive, got \(every)")
        self.path = path
        self.monitor = monitor
        self.mode = mode.resolved(for: monitor)
        self.saveBestOnly = saveBestOnly
        self.full = full
        self.every = every
        self.includeHistory = includeHistory
    }

    public func onEpochEnd(epoch: Int, logs: [String: Double], ctx: TrainingContext) {
        if (epoch + 1) % every != 0 { return }
        if saveBestOnly {
            guard let current = logs[monitor] else {
                if !warned {
                    ctx.trainer.log("ModelCheckpoint: \"\(monitor)\" is not among the logs; saving nothing (pass validation data or another monitor)")
                    warned = true
                }
                return
            }
            if let best, !(mode == .max ? current > best : current < best) { return }
            if current.isNaN { return }
            best = current
        }
        var unknown: [String] = []
        let file = Self.fill(path, epoch: epoch, logs: logs, unknown: &unknown)
        if !unknown.isEmpty && !warnedFields {
            ctx.trainer.log("ModelCheckpoint: \(unknown.joined(separator: ", ")) in \(path) name no log value or format "
                            + "(logs: epoch, \(logs.keys.sorted().joined(separator: ", "))); left as written")
            warnedFields = true
        }
        do {
            let dir = (file as NSString).deletingLastPathComponent
            if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
            var metadata = ["epoch": String(epoch)]
            for (k, v) in logs { metadata[k] = "\(v)" }
            if full {
                try ctx.trainer.saveCheckpoint(to: file, metadata: metadata, includeHistory: includeHistory)
            } else {
                try ctx.model.save(to: file, metadata: metadata)
            }
            savedEpochs.append(epoch)
            lastSavedPath = file
        } catch {
            ctx.trainer.log("ModelCheckpoint: cannot save \(file): \(error)")
            ctx.trainer.fail(error)
        }
    }

    /// `path` with `{epoch}` (1-based) and `{key}` placeholders filled in, and Keras's format
    /// specs too (`{epoch:02d}`, `{val_loss:.2f}`: flags, width, precision, then d, f, e or g);
    /// without a spec an epoch is a whole number and a value has four decimals. Placeholders that
    /// name no log value, or specs it cannot read, stay as written and are listed in `unknown`.
    static func fill(_ path: String, epoch: Int, logs: [String: Double], unknown: inout [String]) -> String {
        var out = "", rest = Substring(path)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            out += rest[..<open]
            let field = rest[rest.index(after: open)..<close]
            let parts = field.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(parts[0]), spec = parts.count == 2 ? String(parts[1]) : nil
            let value: Double? = key == "epoch" ? Double(epoch + 1) : logs[key]
            if let value, let text = Self.format(value, spec: spec, whole: key == "epoch") {
                out += text
            } else {
                out += rest[open...close]
                unknown.append(String(rest[open...close]))
            }
            rest = rest[rest.index(after: close)...]
        }
        return out + rest
    }

    static func fill(_ path: String, epoch: Int, logs: [String: Double]) -> String {
        var unknown: [String] = []
        return fill(path, epoch: epoch, logs: logs, unknown: &unknown)
    }

    /// `value` by a Python format spec (nil: a whole number for an epoch, four decimals otherwise).
    private static func format(_ value: Double, spec: String?, whole: Bool) -> String? {
        guard let spec else { return whole ? String(Int(value)) : String(format: "%.4f", value) }
        guard let type = spec.last, "dfeg".contains(type),
              spec.dropLast().allSatisfy({ $0.isNumber || $0 == "." || $0 == "-" || $0 == "+" || $0 == " " }) else { return nil }
        if type == "d" {
            guard value.isFinite, value.rounded() == value, spec.dropLast().allSatisfy({ $0 != "." }) else { return nil }
            return String(format: "%" + spec.dropLast() + "lld", Int64(value))
        }
        return String(format: "%" + spec, value)
    }
}

/// Writes each epoch's logs as a CSV row (`epoch` 0-based, then the keys in sorted order, as
/// Keras's `CSVLogger`). Each row is appended with one `write` (not synced), so an epoch costs the
/// same however long the run. Without `append` the file starts afresh with the first epoch; with
/// `append` (resumed runs) rows follow an existing file's, under its header, after the file is
/// cut to the epochs before the one `fit` starts at (a resumed run drops the rows of epochs it is
/// about to re-run, and a torn last row a kill left).
///
/// ```swift
/// CSVLogger(path: "run/log.csv")
/// ```
public final class CSVLogger: Callback {
    public let path: String
    public let separator: String
    public let append: Bool
    private var file: AppendFile?
    private var keys: [String]?

    public init(path: String, separator: String = ",", append: Bool = false) {
        self.path = path
        self.separator = separator
        self.append = append
    }

    public func onTrainBegin(_ ctx: TrainingContext) {
        file = nil
        keys = nil
        guard append, FileManager.default.fileExists(atPath: path) else { return }
        do {
            try Self.truncate(path: path, toEpochs: ctx.trainer.epoch, separator: separator)
            if let header = try AppendFile.completeLines(path)?.first {
                let columns = header.components(separatedBy: separator)
                if columns.first == "epoch" { keys = Array(columns.dropFirst()) }
            }
            file = try AppendFile(path: path)
        } catch {
            ctx.trainer.log("CSVLogger: cannot open \(path): \(error)")
            ctx.trainer.fail(error)
        }
    }

    public func onEpochEnd(epoch: Int, logs: [String: Double], ctx: TrainingContext) {
        do {
            if file == nil { file = try AppendFile(path: path, truncate: !append) }
            var text = ""
            if keys == nil {
                keys = logs.keys.sorted()
                text += (["epoch"] + keys!).joined(separator: separator) + "\n"
            }
            text += ([String(epoch)] + keys!.map { logs[$0].map { "\($0)" } ?? "" }).joined(separator: separator) + "\n"
            try file!.append(Array(text.utf8))
        } catch {
            ctx.trainer.fail(error)
        }
    }

    public func onTrainEnd(_ ctx: TrainingContext) {
        file?.close()
        file = nil
    }

    /// Rewrites a CSV log (atomically) keeping the header and the rows of epochs numbered below
    /// `count` (the first `count` epochs), and no torn last row; does nothing if there is no file
    /// or nothing to drop.
    ///
    /// ```swift
    /// try CSVLogger.truncate(path: "run/log.csv", toEpochs: ckpt.epoch)
    /// ```
    public static func truncate(path: String, toEpochs count: Int, separator: String = ",") throws {
        var first = true
        try HistoryLog.rewrite(path) { line in
            defer { first = false }
            let cell = line.components(separatedBy: separator).first ?? ""
            if first && cell == "epoch" { return true }
            guard let epoch = Int(cell) else { return false }
            return epoch < count
        }
    }
}

/// Writes each epoch's logs as one JSON object per line (`{"epoch": 0, "loss": 0.69, ...}`, keys
/// sorted after `epoch`; NaN and infinities as `null`), appended with one `write` per epoch (not
/// synced). Without `append` the file starts afresh with the first epoch; with `append`, lines
/// follow an existing file's, after it is cut to the epochs before the one `fit` starts at (and a
/// torn last line is dropped). For a history read back exactly, NaN included, see `HistoryLog`.
///
/// ```swift
/// JSONLinesLogger(path: "run/log.jsonl")
/// ```
public final class JSONLinesLogger: Callback {
    public let path: String
    public let append: Bool
    private var file: AppendFile?

    public init(path: String, append: Bool = false) {
        self.path = path
        self.append = append
    }

    public func onTrainBegin(_ ctx: TrainingContext) {
        file = nil
        guard append, FileManager.default.fileExists(atPath: path) else { return }
        do {
            let start = ctx.trainer.epoch
            try HistoryLog.rewrite(path) { line in
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                      let epoch = (object["epoch"] as? NSNumber)?.intValue else { return false }
                return epoch < start
            }
            file = try AppendFile(path: path)
        } catch {
            ctx.trainer.log("JSONLinesLogger: cannot open \(path): \(error)")
            ctx.trainer.fail(error)
        }
    }

    public func onEpochEnd(epoch: Int, logs: [String: Double], ctx: TrainingContext) {
        let fields = ["\"epoch\": \(epoch)"] + logs.keys.sorted().map { k -> String in
            let v = logs[k]!
            return "\(JSONText.quote(k)): " + JSONText.number(v)
        }
        do {
            if file == nil { file = try AppendFile(path: path, truncate: !append) }
            try file!.append(Array(("{" + fields.joined(separator: ", ") + "}\n").utf8))
        } catch {
            ctx.trainer.fail(error)
        }
    }

    public func onTrainEnd(_ ctx: TrainingContext) {
        file?.close()
        file = nil
    }
}

/// Stops training as soon as a batch's loss is NaN or infinite, naming the epoch and batch, as
/// Keras's `TerminateOnNaN`.
///
/// ```swift
/// Trainer(..., callbacks: [TerminateOnNaN()])
/// // TerminateOnNaN: loss is nan at epoch 3/10, batch 17/118; stopping training
/// ```
public final class TerminateOnNaN: Callback {
    /// Where the loss first became non-finite (0-based), and the message printed.
    public private(set) var stoppedAt: (epoch: Int, batch: Int)?
    public private(set) var message: String?

    public init() {}

    public func onTrainBegin(_ ctx: TrainingContext) {
        stoppedAt = nil
        message = nil
    }

    public func onBatchEnd(batch: Int, logs: [String: Double], ctx: TrainingContext) {
        guard let loss = logs["loss"], !loss.isFinite, stoppedAt == nil else { return }
        stoppedAt = (ctx.epoch, batch)
        let text = "TerminateOnNaN: loss is \(describe(loss)) at epoch \(ctx.epoch + 1)/\(ctx.epochs), batch \(batch + 1)/\(ctx.batchesPerEpoch); stopping training"
        message = text
        ctx.trainer.stop(reason: text)
    }
}

/// Steps a scheduler from callbacks, for schedulers kept outside the trainer (the trainer's own
/// `scheduler` argument does the same and is saved in checkpoints). A `ReduceLROnPlateau` is
/// stepped each epoch with `monitor` (falling back to "loss"); others each epoch or each batch.
///
/// ```swift
/// LRSchedulerCallback(ReduceLROnPlateau(optimizer: opt, patience: 2), monitor: "val_loss")
/// ```
public final class LRSchedulerCallback: Callback {
    public let scheduler: any CheckpointableScheduler
    public let monitor: String
    public let interval: SchedulerInterval

    public init(_ scheduler: any CheckpointableScheduler, monitor: String = "val_loss", interval: SchedulerInterval = .epoch) {
        self.scheduler = scheduler
        self.monitor = monitor
        self.interval = interval
    }

    public func onBatchEnd(batch: Int, logs: [String: Double], ctx: TrainingContext) {
        if interval == .batch, let s = scheduler as? LRScheduler { s.step() }
    }

    public func onEpochEnd(epoch: Int, logs: [String: Double], ctx: TrainingContext) {
        if let plateau = scheduler as? ReduceLROnPlateau {
            if let value = logs[monitor] ?? logs["loss"] { plateau.step(metric: value) }
        } else if interval == .epoch, let s = scheduler as? LRScheduler {
            s.step()
        }
    }
}
