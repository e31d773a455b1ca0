#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failure reading or writing a file, with the system's reason: `[file] run/model.safetensors: ...`.
public struct FileError: Error, CustomStringConvertible, Equatable, Sendable {
    public let path: String
    public let reason: String
    public var description: String { "[file] \(path): \(reason)" }

    /// A failure on `path` for `reason` (one line, with the numbers).
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
}

/// Writes files so that readers never see a half-written one: the bytes go to a temporary file in
/// the same folder, which is flushed to disk and renamed over the target; on any failure the
/// temporary file is removed and the old file, if any, is untouched.
///
/// ```swift
/// try AtomicFile.write(bytes, to: "run/model.safetensors")
/// ```
public enum AtomicFile {
    /// Where a writer puts its bytes; short writes are retried.
    public struct Sink: ByteSink {
        let fd: Int32
        let makeError: (String) -> Error

        public mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
            guard let base = bytes.baseAddress else { return }
            var done = 0
            while done < bytes.count {
                let n = writeDescriptor(fd, base + done, Swift.min(bytes.count - done, 1 << 30))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw makeError("write failed: \(systemError())")
                }
                done += n
            }
        }

        public mutating func write(_ bytes: [UInt8]) throws {
            try bytes.withUnsafeBytes { try write($0) }
        }
    }

    /// Writes `bytes` to `path` atomically; failures throw `FileError`.
    public static func write(_ bytes: [UInt8], to path: String) throws {
        try write(path, error: { FileError(path: path, reason: $0) }) { sink in try sink.write(bytes) }
    }

    /// Runs `body` on a temporary file next to `path`, then renames it into place; `error` turns a
    /// reason into the caller's error type.
    public static func write(_ path: String, error makeError: @escaping (String) -> Error,
                             _ body: (inout Sink) throws -> Void) throws {
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        var template = Array("\(dir)/.\(base).tmp-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { buf in buf.baseAddress.map { mkstemp($0) } ?? -1 }
        guard fd >= 0 else { throw makeError("cannot create a temporary file in \(dir): \(systemError())") }
        let tmp = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var isOpen = true
        var done = false
        defer {
            if isOpen { _ = closeDescriptor(fd) }
            if !done { unlink(tmp) }
        }
        // mkstemp creates the file 0600; give it the mode files get under the usual umask.
        fchmod(fd, 0o644)
        var sink = Sink(fd: fd, makeError: makeError)
        try body(&sink)
        if fsync(fd) != 0 { throw makeError("fsync failed: \(systemError())") }
        isOpen = false
        if closeDescriptor(fd) != 0 { throw makeError("close failed: \(systemError())") }
        if rename(tmp, path) != 0 { throw makeError("cannot rename the temporary file into place: \(systemError())") }
        done = true
    }

    /// The whole content of a file; failures throw `FileError`.
    public static func read(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw FileError(path: path, reason: "cannot open for reading: \(systemError())") }
        defer { _ = closeDescriptor(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw FileError(path: path, reason: "cannot stat: \(systemError())") }
        let size = Int(info.st_size)
        var bytes = [UInt8](repeating: 0, count: size)
        var done = 0
        try bytes.withUnsafeMutableBytes { buf in
            while done < size {
                let n = pread(fd, buf.baseAddress! + done, Swift.min(size - done, 1 << 30), off_t(done))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw FileError(path: path, reason: "read failed: \(systemError())")
                }
                if n == 0 { throw FileError(path: path, reason: "file ended after \(done) of \(size) bytes") }
                done += n
            }
        }
        return bytes
    }
}

private func systemError() -> String { String(cString: strerror(errno)) }
// Free functions, because inside the types above `write` and `close` name their own methods.
private func writeDescriptor(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int { Glibc_write(fd, p, n) }
private func closeDescriptor(_ fd: Int32) -> Int32 { Glibc_close(fd) }
#if canImport(Glibc)
private func Glibc_write(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int { Glibc.write(fd, p, n) }
private func Glibc_close(_ fd: Int32) -> Int32 { Glibc.close(fd) }
#else
private func Glibc_write(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int { Darwin.write(fd, p, n) }
private func Glibc_close(_ fd: Int32) -> Int32 { Darwin.close(fd) }
#endif
