import Foundation

/// The complete lines added to a growing log file since the last read, without reading it again
/// from the start: the dashboard polls `batches.csv` and `insights.jsonl` of live runs with it.
///
/// A file that shrank (a resumed run cuts its logs to its checkpoint) is read again from the
/// start, and `reset` says so; a torn last line waits for its newline.
///
/// ```swift
/// var tail = LogTail(path: "runs/mnist/batches.csv")
/// let (lines, reset) = tail.read()
/// ```
public struct LogTail: Sendable {
    public let path: String
    /// Bytes of complete lines read so far.
    public private(set) var offset: UInt64 = 0
    /// The most bytes one `read` takes; the rest waits for the next call.
    public let maxBytes: Int

    public init(path: String, maxBytes: Int = 8 << 20) {
        self.path = path
        self.maxBytes = maxBytes
    }

    /// The new complete lines, and whether the file was cut since the last read (the lines then
    /// start from the top).
    public mutating func read() -> (lines: [Substring], reset: Bool) {
        guard let handle = FileHandle(forReadingAtPath: path) else { return ([], false) }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        var reset = false
        if size < offset {
            offset = 0
            reset = true
        }
        guard size > offset else { return ([], reset) }
        try? handle.seek(toOffset: offset)
        let wanted = Int(min(UInt64(maxBytes), size - offset))
        guard let data = try? handle.read(upToCount: wanted), !data.isEmpty,
              let lastNewline = data.lastIndex(of: UInt8(ascii: "\n")) else { return ([], reset) }
        let complete = data[data.startIndex...lastNewline]
        offset += UInt64(complete.count)
        let text = String(decoding: complete, as: UTF8.self)
        return (text.split(separator: "\n", omittingEmptySubsequences: true), reset)
    }
}
