import Foundation
import MyelinCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file the training logs append to: opened once, each `append` one `write` at the end
/// (`O_APPEND`), never synced, so a line costs the same at epoch 3 as at epoch 3000. A kill
/// mid-write can leave a torn last line, which the logs' readers drop.
final class AppendFile {
    let path: String
    private var fd: Int32

    /// Opens `path` for appending, creating it (mode 0644) or, with `truncate`, emptying it.
    init(path: String, truncate: Bool = false) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | (truncate ? O_TRUNC : 0), 0o644)
        guard fd >= 0 else { throw FileError(path: path, reason: "cannot open for appending: \(String(cString: strerror(errno)))") }
    }

    deinit { close() }

    /// Writes `bytes` at the end of the file (retrying short writes).
    func append(_ bytes: [UInt8]) throws {
        guard fd >= 0 else { throw FileError(path: path, reason: "append after close") }
        try bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            var done = 0
            while done < raw.count {
                let n = write(fd, base + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw FileError(path: path, reason: "write failed: \(String(cString: strerror(errno)))")
                }
                done += n
            }
        }
    }

    func close() {
        if fd >= 0 {
            _ = closeFile(fd)
            fd = -1
        }
    }

    /// The complete lines of a file (each ended by a newline; a torn last line is left out), or
    /// nil if the file does not exist.
    static func completeLines(_ path: String) throws -> [Substring]? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let text = String(decoding: try AtomicFile.read(path), as: UTF8.self)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        // The piece after the last newline is empty for a whole file, torn text otherwise.
        lines.removeLast()
        return lines
    }
}

private func closeFile(_ fd: Int32) -> Int32 {
    #if canImport(Glibc)
    Glibc.close(fd)
    #else
    Darwin.close(fd)
    #endif
}
