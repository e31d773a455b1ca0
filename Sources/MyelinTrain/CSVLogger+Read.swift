import Foundation
import MyelinCore

extension CSVLogger {
    /// The history a `CSVLogger` wrote: epochs 0, 1, ... in order, before `upToEpoch` only (a
    /// killed run may have logged epochs after its last checkpoint); a torn last line, a row of
    /// the wrong width or an epoch out of order ends the reading. Empty cells are NaN.
    ///
    /// ```swift
    /// let history = CSVLogger.read(path: "run/metrics.csv", upToEpoch: checkpoint.epoch)
    /// ```
    public static func read(path: String, upToEpoch: Int = .max, separator: String = ",") -> History {
        var history = History()
        guard let lines = try? AppendFile.completeLines(path), let header = lines.first?.components(separatedBy: separator),
              header.first == "epoch" else { return history }
        let keys = Array(header.dropFirst())
        for line in lines.dropFirst() {
            let cells = line.components(separatedBy: separator)
            guard cells.count == header.count, let epoch = Int(cells[0]), epoch == history.epochs.count, epoch < upToEpoch else { break }
            var logs: [String: Double] = [:]
            for (key, cell) in zip(keys, cells.dropFirst()) { logs[key] = Double(cell) ?? .nan }
            history.append(epoch: epoch, logs: logs)
        }
        return history
    }
}
