#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MyelinCore

// The plain-text word-vector format: an optional header line "count dimension" (word2vec,
// fastText's .vec) or none (GloVe), then one word and its numbers a line, separated by spaces
// or tabs. Reading treats the file as untrusted; every failure is a `DataError` with the line.

extension WordVectors {
    /// Files larger than this are refused before reading (2 GiB; GloVe's 6B-300d file is 1 GB).
    public static let defaultMaxBytes = 2 << 30

    /// Reads a word-vector text file. Throws `DataError` (`[word2vec] FILE:LINE: ...`) for an
    /// empty file, a line with the wrong count of numbers, a number that does not parse or is not
    /// finite, a duplicate word, a header whose word count does not match, or a file over `maxBytes`.
    ///
    /// ```swift
    /// let glove = try WordVectors.read(path: "glove.6B.50d.txt")
    /// ```
    public static func read(path: String, maxBytes: Int = defaultMaxBytes) throws -> WordVectors {
        let size = try fileSize(path)
        if size > maxBytes {
            throw DataError(op: "word2vec", file: path, reason: "file is \(size) bytes, more than the limit of \(maxBytes)")
        }
        return try WordVectors(parsing: try readFileBytes(path, op: "word2vec"), file: path)
    }

    /// Parses the bytes of a word-vector text file; `file` names it in errors.
    public init(parsing bytes: [UInt8], file: String? = nil) throws {
        // Without a file name the line still shows: `[word2vec] vectors:7: ...`.
        func fail(_ line: Int?, _ reason: String) -> DataError { DataError(op: "word2vec", file: file ?? "vectors", line: line, reason: reason) }
        var text = bytes
        text.append(0)  // strtof stops at the terminator after the last number
        var words: [String] = []
        var values: [Float] = []
        var seen: [String: Int] = [:]
        var header: (count: Int, dimension: Int, line: Int)?
        var dimension = 0
        var dimensionLine = 0
        try text.withUnsafeBufferPointer { buffer in
            let base = buffer.baseAddress!
            let end = bytes.count
            var lineStart = 0, lineNumber = 0
            var fields: [Range<Int>] = []
            while lineStart < end {
                lineNumber += 1
                var lineEnd = lineStart
                while lineEnd < end && base[lineEnd] != 0x0A { lineEnd += 1 }
                defer { lineStart = lineEnd + 1 }
                fields.removeAll(keepingCapacity: true)
                var i = lineStart
                while i < lineEnd {
                    while i < lineEnd && WordVectors.isSpace(base[i]) { i += 1 }
                    let start = i
                    while i < lineEnd && !WordVectors.isSpace(base[i]) { i += 1 }
                    if start < i { fields.append(start..<i) }
                }
                if fields.isEmpty { continue }
                func string(_ r: Range<Int>) -> String {
                    String(decoding: UnsafeBufferPointer(start: base + r.lowerBound, count: r.count), as: UTF8.self)
                }
                if words.isEmpty && header == nil && dimension == 0 && fields.count == 2,
                   let n = Int(string(fields[0])), let d = Int(string(fields[1])) {
                    if n < 1 || d < 1 { throw fail(lineNumber, "header says \(n) words of dimension \(d); both must be positive") }
                    header = (n, d, lineNumber)
                    dimension = d
                    dimensionLine = lineNumber
                    continue
                }
                let word = string(fields[0])
                let numbers = fields.count - 1
                if dimension == 0 {
                    if numbers == 0 { throw fail(lineNumber, "word '\(word)' has no numbers") }
                    dimension = numbers
                    dimensionLine = lineNumber
                    values.reserveCapacity(bytes.count / 8)
                } else if numbers != dimension {
                    let source = header != nil ? "the header says" : "line \(dimensionLine) has"
                    throw fail(lineNumber, "word '\(word)' has \(numbers) numbers but \(source) \(dimension)")
                }
                if let n = header?.count, words.count == n {
                    throw fail(lineNumber, "the header says \(n) words but the file has more")
                }
                if let first = seen[word] { throw fail(lineNumber, "word '\(word)' is also on line \(first)") }
                for (k, r) in fields.dropFirst().enumerated() {
                    var stop: UnsafeMutablePointer<CChar>?
                    let start = UnsafeMutableRawPointer(mutating: base + r.lowerBound).assumingMemoryBound(to: CChar.self)
                    let x = strtof(start, &stop)
                    let used = stop.map { UnsafeRawPointer($0) - UnsafeRawPointer(start) } ?? 0
                    if used != r.count {
                        throw fail(lineNumber, "'\(string(r))' (number \(k + 1) of word '\(word)') is not a number")
                    }
                    if !x.isFinite {
                        throw fail(lineNumber, "number \(k + 1) of word '\(word)' is \(string(r)); vectors must be finite float32")
                    }
                    values.append(x)
                }
                seen[word] = lineNumber
                words.append(word)
            }
        }
        if words.isEmpty {
            throw fail(nil, header == nil ? "file has no vectors" : "file has a header but no vectors")
        }
        if let header, header.count != words.count {
            throw fail(header.line, "the header says \(header.count) words but the file has \(words.count)")
        }
        self.init(words: words, dimension: dimension, values: values)
    }

    /// The file's bytes: a "count dimension" header (unless `header: false`, GloVe's layout),
    /// then one word a line with its numbers in the shortest form that reads back exactly.
    /// A word that is empty or holds whitespace could not be read back and traps.
    public func formatted(header: Bool = true) -> [UInt8] {
        var out = ""
        out.reserveCapacity(values.count * 11 + count * 8)
        if header { out += "\(count) \(dimension)\n" }
        for (i, w) in words.enumerated() {
            if w.isEmpty || w.utf8.contains(where: { WordVectors.isSpace($0) || $0 == 0x0A }) {
                fatalError("[wordVectors] word \(i) '\(w)' is empty or holds whitespace and cannot be written")
            }
            out += w
            for j in 0..<dimension {
                out += " "
                out += values[i * dimension + j].description
            }
            out += "\n"
        }
        return Array(out.utf8)
    }

    /// Writes `formatted(header:)` to `path` atomically (readers see the old file or the whole new
    /// one); a failure throws `DataError`.
    public func write(to path: String, header: Bool = true) throws {
        do { try AtomicFile.write(formatted(header: header), to: path) } catch let error as FileError {
            throw DataError(op: "word2vec", file: path, reason: error.reason)
        }
    }

    @inline(__always)
    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0B || b == 0x0C }

    private static func fileSize(_ path: String) throws -> Int {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw DataError(op: "word2vec", file: path, reason: "cannot open for reading: \(String(cString: strerror(errno)))")
        }
        if (info.st_mode & S_IFMT) == S_IFDIR { throw DataError(op: "word2vec", file: path, reason: "is a folder, not a vectors file") }
        return Int(info.st_size)
    }
}
