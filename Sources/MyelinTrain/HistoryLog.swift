import Foundation
import MyelinCore
import MyelinNN

/// Appends each epoch's logs to a file as one JSON line, so the run's history survives without
/// being rewritten: an epoch costs one small append however long the run (pair it with
/// `ModelCheckpoint(full: true, includeHistory: false)` for cheap per-epoch saving).
///
/// The file: one line per epoch, `{"epoch":0,"loss":0.6931,"lr":0.01,"time":0.0021}`, `epoch`
/// (0-based) first, then every log value in key order; numbers in Swift's shortest round-trip
/// form (read back exactly), NaN and infinities as the strings `"nan"`, `"inf"`, `"-inf"`; each
/// line ends with a newline and is written in one `write`, not synced. When `fit` starts at epoch
/// k (a new run: 0; a resumed one: the checkpoint's epoch) the file is first cut to epochs before
/// k, as the trainer's `history` is, and a torn last line is dropped.
///
/// ```swift
/// let trainer = Trainer(model: model, optimizer: opt, loss: .crossEntropy, callbacks: [
///     HistoryLog(path: "run/history.jsonl"),
///     ModelCheckpoint(path: "run/last.safetensors", full: true, includeHistory: false),
/// ])
/// // ... after a kill, in a new process:
/// let ckpt = try Checkpoint.load(from: "run/last.safetensors")
/// try trainer.restore(from: ckpt, history: HistoryLog.read(path: "run/history.jsonl", upToEpoch: ckpt.epoch))
/// try trainer.fit(loader, epochs: 20)
/// ```
public final class HistoryLog: Callback {
    public let path: String
    private var file: AppendFile?

    public init(path: String) {
        self.path = path
    }

    public func onTrainBegin(_ ctx: TrainingContext) {
        file = nil
        let start = ctx.trainer.epoch
        do {
            if start > 0 { try Self.truncate(path: path, toEpochs: start) }
            file = try AppendFile(path: path, truncate: start == 0)
        } catch {
            ctx.trainer.log("HistoryLog: cannot open \(path): \(error)")
            ctx.trainer.fail(error)
        }
    }

    public func onEpochEnd(epoch: Int, logs: [String: Double], ctx: TrainingContext) {
        guard let file else { return }
        do {
            try file.append(Array((Self.line(epoch: epoch, logs: logs) + "\n").utf8))
        } catch {
            ctx.trainer.log("HistoryLog: cannot append to \(path): \(error)")
            ctx.trainer.fail(error)
        }
    }

    public func onTrainEnd(_ ctx: TrainingContext) {
        file?.close()
        file = nil
    }

    /// One epoch's line, without the newline: `{"epoch":3,"loss":0.25,"val_loss":"nan"}`.
    ///
    /// ```swift
    /// HistoryLog.line(epoch: 3, logs: ["loss": 0.25, "val_loss": .nan])   // {"epoch":3,"loss":0.25,"val_loss":"nan"}
    /// ```
    public static func line(epoch: Int, logs: [String: Double]) -> String {
        var out = "{\"epoch\":\(epoch)"
        for key in logs.keys.sorted() {
            out += "," + JSONText.quote(key) + ":" + JSONText.number(logs[key]!, nonFinite: .string)
        }
        return out + "}"
    }

    /// A value of a line: a number, or one of the strings standing for non-finite numbers.
    private enum Value: Decodable {
        case number(Double), text(String)
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let d = try? c.decode(Double.self) { self = .number(d) } else { self = .text(try c.decode(String.self)) }
        }
    }

    /// The history a log holds: the epochs numbered below `upToEpoch` (all with nil), in file
    /// order, a line for an epoch already read replacing it and the ones after it (as a re-run
    /// would). A torn last line (no newline: the run was killed mid-write) is ignored; any other
    /// line that is not an object of numbers throws `FileError` naming the line.
    ///
    /// ```swift
    /// let history = try HistoryLog.read(path: "run/history.jsonl", upToEpoch: ckpt.epoch)
    /// ```
    public static func read(path: String, upToEpoch: Int? = nil) throws -> History {
        guard let lines = try AppendFile.completeLines(path) else {
            throw FileError(path: path, reason: "no such file")
        }
        let decoder = JSONDecoder()
        var history = History()
        for (i, line) in lines.enumerated() where !line.isEmpty {
            func bad(_ why: String) -> FileError { FileError(path: path, reason: "line \(i + 1) \(why): \(line.prefix(80))") }
            guard let object = try? decoder.decode([String: Value].self, from: Data(line.utf8)) else {
                throw bad("is not a JSON object of numbers")
            }
            guard case .number(let e)? = object["epoch"], let epoch = Int(exactly: e), epoch >= 0 else {
                throw bad("has no epoch number")
            }
            if let upToEpoch, epoch >= upToEpoch { continue }
            var logs: [String: Double] = [:]
            for (key, value) in object where key != "epoch" {
                switch value {
                case .number(let d): logs[key] = d
                case .text("nan"): logs[key] = .nan
                case .text("inf"): logs[key] = .infinity
                case .text("-inf"): logs[key] = -.infinity
                case .text(let s): throw bad("has \(key) = \"\(s)\", not a number")
                }
            }
            if let last = history.epochs.last, epoch <= last { history.removeEpochs(from: epoch) }
            history.append(epoch: epoch, logs: logs)
        }
        return history
    }

    /// Rewrites the log (atomically) keeping only the lines of epochs numbered below `count` (the
    /// first `count` epochs of a run), and no torn line; does nothing if there is no file or
    /// nothing to drop.
    ///
    /// ```swift
    /// try HistoryLog.truncate(path: "run/history.jsonl", toEpochs: ckpt.epoch)
    /// ```
    public static func truncate(path: String, toEpochs count: Int) throws {
        try rewrite(path) { line in
            guard let object = try? JSONDecoder().decode([String: Value].self, from: Data(line.utf8)),
                  case .number(let e)? = object["epoch"] else { return false }
            return e < Double(count)
        }
    }

    /// Rewrites `path` atomically with the complete lines `keep` accepts, unless it accepts them
    /// all and there is no torn tail.
    static func rewrite(_ path: String, keep: (Substring) -> Bool) throws {
        guard FileManager.default.fileExists(atPath: path) else { return }
        let bytes = try AtomicFile.read(path)
        let text = String(decoding: bytes, as: UTF8.self)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let torn = !lines.removeLast().isEmpty
        let kept = lines.filter(keep)
        if !torn && kept.count == lines.count { return }
        try AtomicFile.write(Array(kept.map { $0 + "\n" }.joined().utf8), to: path)
    }
}
