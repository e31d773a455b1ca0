import Foundation
import MyelinCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a reader following a growing log has got to: the complete lines added since the last
/// read, without reading the file again from the start (`InsightsLog.readNew`, the dashboard's
/// polls of `batches.csv` and `insights.jsonl`).
///
/// The position is the bytes of complete lines read, with the file they were read from (device
/// and inode). A file that was replaced (an atomic rewrite when a resumed run cuts its logs), cut,
/// or removed is read again from the start, and `restarted` says so; a torn last line waits for
/// its newline.
///
/// ```swift
/// var tail = LogTail()
/// let (lines, restarted) = try tail.read("runs/mnist/batches.csv")
/// ```
public struct LogTail: Sendable, Equatable {
    /// The bytes of the file already read: the start of the next line.
    public internal(set) var offset: Int = 0
    var device: UInt64 = 0
    var inode: UInt64 = 0

    /// The start of a file.
    public init() {}

    /// The complete lines of `path` past this position (at most about `maxBytes` of them; the
    /// rest at the next call), and whether the file is not the one read before. Moves past them.
    /// A missing file has no lines. Throws `FileError` when the file exists but cannot be read.
    public mutating func read(_ path: String, maxBytes: Int = .max) throws -> (lines: [Substring], restarted: Bool) {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            if errno == ENOENT {
                let restarted = offset > 0
                self = LogTail()
                return ([], restarted)
            }
            throw FileError(path: path, reason: "cannot open for reading: \(String(cString: strerror(errno)))")
        }
        defer { _ = closeDescriptor(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw FileError(path: path, reason: "cannot stat: \(String(cString: strerror(errno)))") }
        let size = Int(info.st_size)
        let device = UInt64(truncatingIfNeeded: info.st_dev), inode = UInt64(truncatingIfNeeded: info.st_ino)
        var start = offset
        // The same file, still as long, and a line ended where the position stands: carry on.
        var same = device == self.device && inode == self.inode && start <= size
        if same && start > 0 { same = try Self.bytes(fd, path: path, from: start - 1, count: 1) == [0x0A] }
        let restarted = offset > 0 && !same
        if !same { start = 0 }
        self.device = device
        self.inode = inode
        let bytes = try Self.bytes(fd, path: path, from: start, count: min(size - start, maxBytes))
        guard let lastNewline = bytes.lastIndex(of: 0x0A) else {
            offset = start
            return ([], restarted)
        }
        offset = start + lastNewline + 1
        let text = String(decoding: bytes[...lastNewline], as: UTF8.self)
        return (text.split(separator: "\n", omittingEmptySubsequences: true), restarted)
    }

    /// `count` bytes of an open file from `offset` (fewer if it ends first).
    static func bytes(_ fd: Int32, path: String, from offset: Int, count: Int) throws -> [UInt8] {
        guard count > 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        try bytes.withUnsafeMutableBytes { buf in
            while done < count {
                let n = pread(fd, buf.baseAddress! + done, count - done, off_t(offset + done))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw FileError(path: path, reason: "read of \(count) bytes at \(offset) failed: \(String(cString: strerror(errno)))")
                }
                if n == 0 { break }
                done += n
            }
        }
        return done == count ? bytes : Array(bytes[..<done])
    }
}

private func closeDescriptor(_ fd: Int32) -> Int32 {
    #if canImport(Glibc)
    Glibc.close(fd)
    #else
    Darwin.close(fd)
    #endif
}
