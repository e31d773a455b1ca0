import MyelinCore

/// A failure reading or finding data, as one line that starts with the operation and names the file
/// (and the line and column when known):
///
/// ```
/// [idx] train-images.gz: bad magic 0x00000000, expected 0x00000803
/// [csv] data.csv:14: row has 3 cells, expected 5
/// [csv] data.csv:7:2: 'abc' is not a number in numeric column 'age'
/// ```
public struct DataError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The operation: `idx`, `csv`, `gzip`, `npz`, `text`, `data`, ...
    public let op: String
    /// The file (as given by the caller), or nil when the error is about no particular file.
    public let file: String?
    /// 1-based line, when known.
    public let line: Int?
    /// 1-based column (cell index for CSV), when known.
    public let column: Int?
    /// What went wrong.
    public let reason: String

    public init(op: String, file: String? = nil, line: Int? = nil, column: Int? = nil, reason: String) {
        self.op = op
        self.file = file
        self.line = line
        self.column = column
        self.reason = reason
    }

    public var description: String {
        guard let file else { return "[\(op)] \(reason)" }
        var place = displayName(file)
        if let line { place += ":\(line)" }
        if let column { place += ":\(column)" }
        return "[\(op)] \(place): \(reason)"
    }
}

/// The last path component, so messages stay on one short line.
func displayName(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/"), slash != path.index(before: path.endIndex) else { return path }
    return String(path[path.index(after: slash)...])
}

/// Reads a whole file, turning the core's `FileError` into a `DataError` for `op`.
func readFileBytes(_ path: String, op: String) throws -> [UInt8] {
    do {
        return try AtomicFile.read(path)
    } catch let error as FileError {
        throw DataError(op: op, file: path, reason: error.reason)
    }
}

/// Reads a file, gunzipping it when it starts with the gzip magic bytes.
func readMaybeGzipped(_ path: String, op: String) throws -> [UInt8] {
    let raw = try readFileBytes(path, op: op)
    guard Gzip.isGzip(raw) else { return raw }
    do {
        return try Gzip.decompress(raw)
    } catch let error as DataError {
        throw DataError(op: op, file: path, reason: error.reason)
    }
}
