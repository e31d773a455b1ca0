import Foundation
import MyelinCore

/// The files of one training run (`myelin train --out DIR`): what `evaluate`, `predict`,
/// `summary` and `resume` read back.
///
/// ```swift
/// let run = RunFolder("runs/mnist")
/// let description = try run.readDescription()
/// ```
public struct RunFolder: Sendable {
    public let path: String

    public init(_ path: String) { self.path = path }

    public var weights: String { file("model.safetensors") }
    public var description: String { file("model.json") }
    public var checkpoint: String { file("checkpoint.safetensors") }
    public var bestWeights: String { file("best.safetensors") }
    public var metricsLog: String { file("metrics.csv") }
    /// One line per optimiser step: `step,epoch,batch,loss`.
    public var batchLog: String { file("batches.csv") }
    /// Per-layer statistics at an interval of steps, for the dashboard (`InsightsLog`).
    public var insights: String { file("insights.jsonl") }
    public var history: String { file("history.json") }
    public var results: String { file("results.json") }
    public var curves: String { file("curves.svg") }
    public var confusion: String { file("confusion.svg") }
    public var boundary: String { file("boundary.svg") }
    public var filters: String { file("filters.svg") }
    /// A language-model run's description (in place of `model.json`).
    public var languageModel: String { file("language-model.json") }
    /// A sequence classifier's description (in place of `model.json`).
    public var sequenceClassifier: String { file("sequence-classifier.json") }
    /// A language-model run's samples, one per epoch.
    public var samples: String { file("samples.txt") }

    public func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    /// Creates the folder (and parents); throws `RunError` naming it when that is impossible or
    /// the folder cannot be written.
    public func create() throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw RunError("output folder \(path) is a file")
        }
        // mkdir one level at a time, so the error names the level that failed and why (errno).
        var built = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            built += "/" + part
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: built, isDirectory: &isDir) {
                guard isDir.boolValue else { throw RunError("cannot create output folder \(path): \(built) is a file") }
                continue
            }
            if mkdir(built, 0o755) != 0 && errno != EEXIST {
                throw RunError("cannot create output folder \(path): \(String(cString: strerror(errno)))")
            }
        }
        guard FileManager.default.isWritableFile(atPath: path) else { throw RunError("output folder \(path) is not writable") }
    }

    /// Throws the error `create()` would, without creating anything: the nearest existing
    /// ancestor must be a writable folder. `op` names the command in the error.
    public func checkCreatable(op: String = "train") throws {
        guard !path.isEmpty else { throw RunError(op: op, "--out must name a folder, got an empty path") }
        var probe = path
        while !FileManager.default.fileExists(atPath: probe) {
            let parent = RunTransaction.split(probe).parent
            if parent == probe { return }
            probe = parent
        }
        var isDir: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: probe, isDirectory: &isDir)
        guard isDir.boolValue else { throw RunError("cannot create output folder \(path): \(probe) is a file") }
        guard FileManager.default.isWritableFile(atPath: probe) else {
            throw RunError("cannot create output folder \(path): \(probe) is not writable")
        }
    }

    /// Throws when `path` holds no run (no model.json).
    public func requireExisting() throws {
        guard FileManager.default.fileExists(atPath: description) else {
            throw RunError("\(path) is not a run folder: \(description) does not exist (make one with `myelin train --out \(path)`)")
        }
    }

    public func readDescription() throws -> RunDescription {
        try requireExisting()
        do {
            let value = try Self.decoder.decode(RunDescription.self, from: Data(contentsOf: URL(fileURLWithPath: description)))
            try value.checkConsistent(file: description)
            return value
        } catch let error as RunError {
            throw error
        } catch let error as DecodingError {
            throw RunError("\(description) is not a valid run description: \(Self.reason(error))")
        } catch {
            throw RunError("cannot read \(description): \(Self.reason(error))")
        }
    }

    /// Reads what `writeJSON` wrote (non-finite numbers as strings).
    public static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return decoder
    }

    /// Writes `value` as pretty, key-sorted JSON, atomically.
    public func writeJSON<T: Encodable>(_ value: T, to file: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // A loss that diverged is a result too: non-finite numbers as "nan"/"inf" strings.
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let data: Data
        do { data = try encoder.encode(value) } catch { throw RunError("cannot encode \(file): \(Self.reason(error))") }
        do {
            try AtomicFile.write(Array(data) + [UInt8(ascii: "\n")], to: file)
        } catch let error as FileError {
            throw RunError("cannot write \(file): \(error.reason)")
        } catch {
            throw RunError("cannot write \(file): \(Self.reason(error))")
        }
    }

    static func reason(_ error: Error) -> String {
        if let decoding = error as? DecodingError {
            switch decoding {
            case .keyNotFound(let key, let context): return "missing \(path(context.codingPath + [key]))"
            case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
                return "\(path(context.codingPath)): \(context.debugDescription)"
            @unknown default: return "\(decoding)"
            }
        }
        return "\(error)".replacingOccurrences(of: "\n", with: " ")
    }

    private static func path(_ keys: [CodingKey]) -> String {
        keys.isEmpty ? "document" : keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
}

/// A problem with a run that the CLI prints on one line: `[run] runs/x is not a run folder: ...`.
public struct RunError: Error, CustomStringConvertible, Sendable {
    /// The command or step that failed (`run`, `train`, `predict`, ...).
    public let op: String
    public let message: String
    public init(_ message: String) { self.init(op: "run", message) }
    public init(op: String, _ message: String) {
        self.op = op
        self.message = message
    }
    public var description: String { "[\(op)] " + message }
}
