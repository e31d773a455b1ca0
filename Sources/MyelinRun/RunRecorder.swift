import Foundation
import MyelinCore
import MyelinNN
import MyelinTrain

/// Writes a run's files while it trains, each in time proportional to the model, not to the
/// run's length:
///
/// - `metrics.csv`: one line appended per epoch (the run's history; `resume` rebuilds the history
///   from it, cut back to the checkpoint's epoch);
/// - `batches.csv`: `step,epoch,batch,loss`, one line per optimiser step, appended in blocks at
///   most every half second and at each epoch's end (what a live dashboard reads);
/// - `best.safetensors`: the weights of the best monitored epoch (`val_loss`, else `loss`);
/// - every `checkpointEvery` epochs, at the last epoch and when early stopping ends the run:
///   `model.safetensors` (the last weights) and `checkpoint.safetensors` (weights, optimiser,
///   scheduler, counters, random states; no history), after which a new run is published.
///
/// Early stopping lives here rather than in an `EarlyStopping` callback because its state (best
/// value, epochs without improvement) must survive a kill: it is recomputed from `metrics.csv`.
final class RunRecorder: Callback {
    let transaction: RunTransaction
    let checkpointEvery: Int
    let totalEpochs: Int
    let monitor: String
    let patience: Int?
    /// The best monitored value so far and the epochs since it.
    private(set) var best: Double?
    private(set) var wait = 0
    /// The epoch (0-based) after which early stopping ended the run.
    private(set) var stoppedAfter: Int?
    private var metricKeys: [String]?
    private var batchLines = ""
    private var lastFlush = Date()

    var run: RunFolder { transaction.current }

    init(transaction: RunTransaction, checkpointEvery: Int, totalEpochs: Int, monitor: String, patience: Int?,
         history: History) {
        self.transaction = transaction
        self.checkpointEvery = checkpointEvery
        self.totalEpochs = totalEpochs
        self.monitor = monitor
        self.patience = patience
        if !history.epochs.isEmpty { metricKeys = Self.columns(history.keys) }
        for value in history[monitor] ?? [] { note(value) }
    }

    /// Whether the recorded history already met the early-stopping rule.
    var alreadyStopped: Bool { patience.map { wait >= $0 } ?? false }

    /// Forgets the epochs without improvement (a resumed run that had stopped early trains on).
    func resetPatience() { wait = 0 }

    @discardableResult
    private func note(_ value: Double) -> Bool {
        if let best, !(value < best) {
            wait += 1
            return false
        }
        if value.isNaN { wait += 1; return false }
        best = value
        wait = 0
        return true
    }

    static func columns(_ keys: [String]) -> [String] { keys.sorted() }

    func onBatchEnd(batch: Int, logs: [String: Double], ctx: TrainingContext) {
        batchLines += "\(ctx.trainer.step),\(ctx.epoch),\(batch),\(logs["loss"] ?? .nan)\n"
        if batchLines.utf8.count > 1 << 16 || Date().timeIntervalSince(lastFlush) > 0.5 {
            do { try flushBatches() } catch { ctx.trainer.fail(error) }
        }
    }

    private func flushBatches() throws {
        lastFlush = Date()
        guard !batchLines.isEmpty else { return }
        let header = FileManager.default.fileExists(atPath: run.batchLog) ? "" : "step,epoch,batch,loss\n"
        try AppendFile.append(header + batchLines, to: run.batchLog)
        batchLines = ""
    }

    func onEpochEnd(epoch: Int, logs: [String: Double], ctx: TrainingContext) {
        do {
            try flushBatches()
            var line = ""
            if metricKeys == nil || !FileManager.default.fileExists(atPath: run.metricsLog) {
                metricKeys = metricKeys ?? Self.columns(Array(logs.keys))
                line += (["epoch"] + metricKeys!).joined(separator: ",") + "\n"
            }
            line += ([String(epoch)] + metricKeys!.map { logs[$0].map { "\($0)" } ?? "nan" }).joined(separator: ",") + "\n"
            try AppendFile.append(line, to: run.metricsLog)

            if let value = logs[monitor], note(value) {
                try ctx.model.save(to: run.bestWeights, metadata: ["epoch": String(epoch), monitor: "\(value)"])
            } else if logs[monitor] == nil {
                wait += 1
            }
            if let patience, wait >= patience, epoch + 1 < totalEpochs {
                stoppedAfter = epoch
                ctx.trainer.stop(reason: "early stopping: \(monitor) has not improved for \(wait) epochs; "
                                 + "stopping after epoch \(epoch + 1) (best weights restored)")
            }
            if (epoch + 1) % checkpointEvery == 0 || epoch + 1 >= totalEpochs || stoppedAfter != nil {
                try saveCheckpoint(ctx.trainer)
            }
        } catch {
            ctx.trainer.fail(error)
        }
    }

    /// The last weights, then the full training state; then a new run appears under its name.
    func saveCheckpoint(_ trainer: Trainer) throws {
        try trainer.model.save(to: run.weights)
        try trainer.saveCheckpoint(to: run.checkpoint)
        try transaction.publishIfNew()
    }

    // MARK: reading back

    /// The history in `metrics.csv`, epochs before `epochs` only (a killed run may have logged
    /// epochs after its last checkpoint); a torn last line is ignored.
    static func readHistory(_ path: String, epochs: Int) -> History {
        var history = History()
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return history }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        guard let header = lines.first?.split(separator: ",").map(String.init), header.first == "epoch" else { return history }
        let keys = Array(header.dropFirst())
        for (i, line) in lines.dropFirst().enumerated() {
            // A line without its newline was cut by a kill.
            if i == lines.count - 2 && !text.hasSuffix("\n") { break }
            let cells = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard cells.count == header.count, let epoch = Int(cells[0]), epoch == history.epochs.count, epoch < epochs else { break }
            var logs: [String: Double] = [:]
            for (k, cell) in zip(keys, cells.dropFirst()) { logs[k] = Double(cell) ?? .nan }
            history.append(epoch: epoch, logs: logs)
        }
        return history
    }

    /// Cuts `metrics.csv` back to `history` and `batches.csv` to steps up to `step` (atomic rewrites).
    static func rollBack(_ run: RunFolder, to history: History, step: Int) throws {
        let keys = columns(history.keys)
        var text = ""
        if !history.epochs.isEmpty {
            text = (["epoch"] + keys).joined(separator: ",") + "\n"
            for (i, epoch) in history.epochs.enumerated() {
                text += ([String(epoch)] + keys.map { "\(history.metrics[$0]![i])" }).joined(separator: ",") + "\n"
            }
            try AtomicFile.write(Array(text.utf8), to: run.metricsLog)
        } else {
            try? FileManager.default.removeItem(atPath: run.metricsLog)
        }
        if let batches = try? String(contentsOfFile: run.batchLog, encoding: .utf8) {
            var kept = ""
            for line in batches.split(separator: "\n", omittingEmptySubsequences: true) {
                if line.hasPrefix("step,") { kept += line + "\n"; continue }
                guard let s = Int(line.prefix(while: { $0 != "," })), s <= step,
                      line.split(separator: ",", omittingEmptySubsequences: false).count == 4 else { continue }
                kept += line + "\n"
            }
            try AtomicFile.write(Array(kept.utf8), to: run.batchLog)
        }
    }
}

/// Appends text to a file without rewriting it (created when missing); no fsync: a kill loses at
/// most the last lines, which readers of append-only logs tolerate.
enum AppendFile {
    static func append(_ text: String, to path: String) throws {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o644)
        guard fd >= 0 else { throw RunError("cannot write \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var bytes = Array(text.utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                let reason = String(cString: strerror(errno))
                // Do not leave half a line behind.
                if done > 0, var st = Optional(stat()), fstat(fd, &st) == 0 { _ = ftruncate(fd, st.st_size - off_t(done)) }
                throw RunError("cannot write \(path): \(reason)")
            }
            done += n
        }
        bytes.removeAll()
    }
}
