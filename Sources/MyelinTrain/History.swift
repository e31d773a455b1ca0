import Foundation
import MyelinCore

/// What `fit` recorded, one entry per epoch, as Keras's `History`: `epochs` (0-based) and, under
/// each key, one value per epoch. Keys: "loss", each metric's name, "val_loss" and "val_<metric>"
/// with validation data, "lr" (the first parameter group's learning rate during the epoch) and
/// "time" (the epoch's wall-clock seconds, validation included).
///
/// ```swift
/// let history = try trainer.fit(loader, epochs: 10, validation: valLoader)
/// print(history["val_loss"]!.min()!)
/// try history.save(to: "run/history.json")
/// ```
public struct History: Codable, Equatable, Sendable {
    /// The 0-based index of each recorded epoch.
    public var epochs: [Int]
    /// One value per recorded epoch under each key (NaN where an epoch lacked the key).
    public var metrics: [String: [Double]]

    public init(epochs: [Int] = [], metrics: [String: [Double]] = [:]) {
        self.epochs = epochs
        self.metrics = metrics
    }

    /// The values recorded under `key`, one per epoch.
    public subscript(key: String) -> [Double]? { metrics[key] }

    /// The keys in a stable order: "loss", metrics, "val_..." keys, then "lr" and "time".
    public var keys: [String] { Self.ordered(Array(metrics.keys)) }

    /// The number of recorded epochs.
    public var count: Int { epochs.count }

    /// The last epoch's values.
    public var last: [String: Double] {
        guard !epochs.isEmpty else { return [:] }
        return metrics.compactMapValues { $0.last }
    }

    /// Records one epoch; keys new to the history are back-filled with NaN, keys missing from
    /// `logs` get NaN.
    public mutating func append(epoch: Int, logs: [String: Double]) {
        for key in logs.keys where metrics[key] == nil {
            metrics[key] = Array(repeating: .nan, count: epochs.count)
        }
        for key in metrics.keys { metrics[key]!.append(logs[key] ?? .nan) }
        epochs.append(epoch)
    }

    /// Drops the epochs numbered `epoch` and later (before re-running them).
    public mutating func removeEpochs(from epoch: Int) {
        let keep = epochs.indices.filter { epochs[$0] < epoch }
        if keep.count == epochs.count { return }
        epochs = keep.map { epochs[$0] }
        metrics = metrics.mapValues { values in keep.map { values[$0] } }
    }

    /// The JSON document: `{"epochs": [...], "metrics": {"loss": [...], ...}}`, keys sorted;
    /// non-finite values as the strings "nan", "inf", "-inf".
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(self)
    }

    /// Decodes `jsonData()`'s form.
    public static func decode(_ data: Data) throws -> History {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try decoder.decode(History.self, from: data)
    }

    /// Writes the history as JSON, atomically.
    public func save(to path: String) throws {
        try AtomicFile.write(Array(jsonData()), to: path)
    }

    /// Reads a history written by `save(to:)`.
    public static func load(from path: String) throws -> History {
        try decode(Data(AtomicFile.read(path)))
    }

    /// Equality of everything but wall-clock times ("time"), which differ between identical runs.
    public func sameValues(as other: History, ignoring ignored: Set<String> = ["time"]) -> Bool {
        guard epochs == other.epochs else { return false }
        let a = metrics.filter { !ignored.contains($0.key) }, b = other.metrics.filter { !ignored.contains($0.key) }
        guard Set(a.keys) == Set(b.keys) else { return false }
        for (k, v) in a {
            let w = b[k]!
            guard v.count == w.count else { return false }
            for (x, y) in zip(v, w) where !(x == y || (x.isNaN && y.isNaN)) { return false }
        }
        return true
    }

    public static func == (a: History, b: History) -> Bool { a.sameValues(as: b, ignoring: []) }

    /// Sorts log keys: "loss" first, then training metrics, then "val_loss" and validation
    /// metrics, then "lr" and "time", others alphabetically within their group.
    static func ordered(_ keys: [String]) -> [String] {
        func rank(_ k: String) -> (Int, String) {
            switch k {
            case "loss": return (0, k)
            case "val_loss": return (2, k)
            case "lr": return (4, k)
            case "time": return (5, k)
            default: return (k.hasPrefix("val_") ? 3 : 1, k)
            }
        }
        return keys.sorted { rank($0) < rank($1) }
    }
}
