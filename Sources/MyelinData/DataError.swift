import MyelinCore

/// A failure reading or finding data, as one line that starts with the operation and names the file
/// (and the line and column when known):
///
/// ```
/// [idx] train-images.gz: bad magic 0x00000000, expected 0x00000803
/// [csv] data.csv:14: row has 3 cells, expected 5
/// [csv] data.csv:7:2: 'abc' is not a number in numeric column 'age'
/// ```
///
/// The description is safe to print: control characters (such as a binary file's bytes) are shown
/// escaped (`\x1b`, `\n`, `\u{202E}`), invalid UTF-8 was already decoded as U+FFFD, and the reason is
/// cut at 600 characters, so a message stays one line of text.
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
        let why = reason.count > 600 ? String(reason.prefix(600)) + "…" : reason
        guard let file else { return terminalSafe("[\(op)] \(why)") }
        var place = displayName(file)
        if let line { place += ":\(line)" }
        if let column { place += ":\(column)" }
        return terminalSafe("[\(op)] \(place): \(why)")
    }
}

/// `s` with control characters escaped so that printing it cannot move the cursor, change colours
/// or start a new line: `\n`, `\r`, `\t`, `\x1b` for other C0 controls and DEL, `\u{85}` for C1
/// controls and `\u{202E}` for the bidirectional-text controls that reorder what a terminal shows.
func terminalSafe(_ s: String) -> String {
    func needsEscape(_ v: UInt32) -> Bool {
        v < 0x20 || (0x7F...0x9F).contains(v) || v == 0x061C || v == 0x200E || v == 0x200F
            || (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v)
    }
    guard s.unicodeScalars.contains(where: { needsEscape($0.value) }) else { return s }
    var out = ""
    out.unicodeScalars.reserveCapacity(s.unicodeScalars.count)
    for u in s.unicodeScalars {
        let v = u.value
        guard needsEscape(v) else { out.unicodeScalars.append(u); continue }
        switch v {
        case 0x0A: out += "\\n"
        case 0x0D: out += "\\r"
        case 0x09: out += "\\t"
        case ..<0x80:
            let hex = String(v, radix: 16)
            out += "\\x" + (hex.count == 1 ? "0" + hex : hex)
        default: out += "\\u{" + String(v, radix: 16, uppercase: true) + "}"
        }
    }
    return out
}

/// The path as the user gave it (a base name alone is ambiguous when several folders hold a
/// `train.csv`), with control characters escaped like the rest of the message.
func displayName(_ path: String) -> String { path }

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
