import Foundation
import MyelinCore
import MyelinNN

/// Appends one CSV line per optimiser step, for live dashboards that tail the file and for
/// per-step curves.
///
/// The file: a header `step,epoch,batch,loss,lr`, then one line per step: `step` the trainer's
/// step count after the step (1 for the run's first), `epoch` and `batch` 0-based, `loss` the
/// batch's loss and `lr` the first group's learning rate the step used, numbers in Swift's
/// shortest round-trip form (`nan`, `inf`, `-inf` for non-finite losses):
///
/// ```text
/// step,epoch,batch,loss,lr
/// 1,0,0,0.6931471824645996,0.01
/// 2,0,1,0.6802903413772583,0.01
/// ```
///
/// Lines are buffered and written (never synced) at each epoch's end, when training ends, and
/// whenever `flushInterval` seconds have passed since the last write, so a reader lags by at most
/// about that much; a kill can leave a torn last line, which `read` ignores. When `fit` starts,
/// the file is cut to the steps the trainer has already taken (none for a new run, the
/// checkpoint's for a resumed one), so it always matches the run.
///
/// ```swift
/// Trainer(model: model, optimizer: opt, loss: .crossEntropy, callbacks: [BatchLog(path: "run/steps.csv")])
/// ```
public final class BatchLog: Callback {
    /// The first line of the file.
    public static let header = "step,epoch,batch,loss,lr"

    /// One line of the file.
    public struct Entry: Equatable, Sendable {
        public var step: Int
        public var epoch: Int
        public var batch: Int
        public var loss: Double
        public var lr: Double

        public init(step: Int, epoch: Int, batch: Int, loss: Double, lr: Double) {
            self.step = step
            self.epoch = epoch
            self.batch = batch
            self.loss = loss
            self.lr = lr
        }
    }

    public let path: String
    /// The longest a finished step waits in the buffer, in seconds (checked after each step).
    public let flushInterval: Double
    private var file: AppendFile?
    private var buffer = ""
    private var lastFlush = 0.0
    private var stepLR = Double.nan

    public init(path: String, flushInterval: Double = 0.5) {
        self.path = path
        self.flushInterval = flushInterval
    }

    public func onTrainBegin(_ ctx: TrainingContext) {
        file = nil
        buffer = ""
        do {
            try Self.truncate(path: path, toSteps: ctx.trainer.step)
            file = try AppendFile(path: path)
            lastFlush = monotonicSeconds()
        } catch {
            ctx.trainer.log("BatchLog: cannot open \(path): \(error)")
            ctx.trainer.fail(error)
        }
    }

    public func onAfterBackward(batch: Int, ctx: TrainingContext) {
        stepLR = ctx.optimizer.lr
    }

    public func onBatchEnd(batch: Int, logs: [String: Double], ctx: TrainingContext) {
        guard file != nil else { return }
        buffer += "\(ctx.step),\(ctx.epoch),\(batch),\(logs["loss"] ?? .nan),\(stepLR)\n"
        let now = monotonicSeconds()
        if now - lastFlush >= flushInterval || buffer.utf8.count >= 1 << 16 { flush(ctx, now: now) }
    }

    public func onEpochEnd(epoch: Int, logs: [String: Double], ctx: TrainingContext) {
        flush(ctx, now: monotonicSeconds())
    }

    public func onTrainEnd(_ ctx: TrainingContext) {
        flush(ctx, now: monotonicSeconds())
        file?.close()
        file = nil
    }

    /// Writes the buffered lines now: a trainer paused from the dashboard takes no step that
    /// would, and its curves should reach the step it stopped at.
    public func flush(_ ctx: TrainingContext) { flush(ctx, now: monotonicSeconds()) }

    private func flush(_ ctx: TrainingContext, now: Double) {
        lastFlush = now
        guard let file, !buffer.isEmpty else { return }
        do {
            try file.append(Array(buffer.utf8))
            buffer = ""
        } catch {
            ctx.trainer.log("BatchLog: cannot append to \(path): \(error)")
            ctx.trainer.fail(error)
            self.file = nil
        }
    }

    /// The complete lines of a batch log (a torn last line is ignored; other lines that do not
    /// read throw `FileError` naming the line).
    ///
    /// ```swift
    /// let losses = try BatchLog.read(path: "run/steps.csv").map(\.loss)
    /// ```
    public static func read(path: String) throws -> [Entry] {
        guard let lines = try AppendFile.completeLines(path) else { throw FileError(path: path, reason: "no such file") }
        var entries: [Entry] = []
        for (i, line) in lines.enumerated() where !(i == 0 && line == header) {
            guard let entry = parse(line) else {
                throw FileError(path: path, reason: "line \(i + 1) is not step,epoch,batch,loss,lr: \(line.prefix(80))")
            }
            entries.append(entry)
        }
        return entries
    }

    static func parse(_ line: Substring) -> Entry? {
        let cells = line.split(separator: ",", omittingEmptySubsequences: false)
        guard cells.count == 5, let step = Int(cells[0]), let epoch = Int(cells[1]), let batch = Int(cells[2]),
              let loss = Double(cells[3]), let lr = Double(cells[4]) else { return nil }
        return Entry(step: step, epoch: epoch, batch: batch, loss: loss, lr: lr)
    }

    /// Rewrites the log (atomically) keeping the header and the lines of steps up to `steps`
    /// (and no torn line), or creates it with the header alone.
    ///
    /// ```swift
    /// try BatchLog.truncate(path: "run/steps.csv", toSteps: ckpt.step)
    /// ```
    public static func truncate(path: String, toSteps steps: Int) throws {
        guard FileManager.default.fileExists(atPath: path) else {
            try AtomicFile.write(Array((header + "\n").utf8), to: path)
            return
        }
        var first = true
        try HistoryLog.rewrite(path) { line in
            defer { first = false }
            if first && line == header { return true }
            guard let entry = parse(line) else { return false }
            return entry.step <= steps
        }
        // A file that was empty or torn before its header gets one.
        if try AppendFile.completeLines(path)?.first.map({ $0 != header }) ?? true {
            let rest = String(decoding: try AtomicFile.read(path), as: UTF8.self)
            try AtomicFile.write(Array((header + "\n" + rest).utf8), to: path)
        }
    }
}
