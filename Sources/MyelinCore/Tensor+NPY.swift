#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An error reading or writing a NumPy `.npy` or `.npz` file.
///
/// The description is one line naming the format, the file and the numbers involved:
/// ```swift
/// do { _ = try Tensor(npyFile: "data.npy") } catch { print(error) }
/// // [npy] data.npy: truncated: header says 24 elements (96 bytes), file has 40 bytes of data
/// ```
/// Entries of an archive are named `archive.npz:entry.npy`.
public enum NPYError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The data does not start with the NPY magic `\x93NUMPY`; `found` holds its first bytes.
    case notNPY(file: String, found: [UInt8])
    /// The format version is not 1.0, 2.0 or 3.0.
    case unsupportedVersion(file: String, major: Int, minor: Int)
    /// The header is cut off, is not a Python dict literal, or lacks `descr`, `fortran_order` or `shape`.
    case badHeader(file: String, reason: String)
    /// The dtype is not one Myelin has (`<f4`, `<f8`, `<i4`, `<i8`, `|b1`, or big-endian forms).
    case unsupportedDType(file: String, descr: String)
    /// The data is shorter than the header's shape needs; sizes in bytes.
    case truncated(file: String, elements: Int, expected: Int, got: Int)
    /// The `.npz` is not a readable zip archive (bad structure, CRC, or compression method).
    case badZip(file: String, reason: String)
    /// The operating system refused a read or write; `archive` marks `.npz` operations.
    case io(file: String, reason: String, archive: Bool = false)

    public var description: String {
        switch self {
        case let .notNPY(file, found):
            let hex = found.prefix(6).map { byte -> String in
                let h = String(byte, radix: 16)
                return h.count == 1 ? "0" + h : h
            }.joined(separator: " ")
            let what = found.count < 6 ? "has only \(found.count) bytes (\(hex))" : "starts with \(hex)"
            return "[npy] \(file): not an NPY file: it \(what), expected 93 4e 55 4d 50 59 (\\x93NUMPY)"
        case let .unsupportedVersion(file, major, minor):
            return "[npy] \(file): format version \(major).\(minor) is not supported (only 1.0, 2.0 and 3.0)"
        case let .badHeader(file, reason):
            return "[npy] \(file): bad header: \(reason)"
        case let .unsupportedDType(file, descr):
            return "[npy] \(file): unsupported dtype \(descr) (Myelin reads <f4 <f8 <i4 <i8 |b1 and their > forms)"
        case let .truncated(file, elements, expected, got):
            return "[npy] \(file): truncated: header says \(elements) elements (\(expected) bytes), file has \(got) bytes of data"
        case let .badZip(file, reason):
            return "[npz] \(file): bad zip: \(reason)"
        case let .io(file, reason, archive):
            return "[\(archive ? "npz" : "npy")] \(file): \(reason)"
        }
    }
}

extension Tensor {
    /// Reads a NumPy `.npy` file (format 1.0–3.0; float32/64, int32/64 and bool, either byte order).
    ///
    /// Fortran-ordered arrays come back as ordinary contiguous row-major tensors.
    /// ```swift
    /// let w = try Tensor(npyFile: "weights.npy")   // np.save("weights.npy", w) in Python
    /// ```
    public init(npyFile path: String) throws {
        self = try NPY.readFile(path)
    }

    /// Decodes the bytes of a `.npy` file; `name` is only used in error messages.
    ///
    /// ```swift
    /// let t = try Tensor(npyData: Tensor([1, 2, 3]).npyData())
    /// ```
    public init(npyData bytes: [UInt8], name: String = "<data>") throws {
        self = try bytes.withUnsafeBytes { try NPY.decode($0, file: name) }
    }

    /// The bytes of a `.npy` file holding this tensor's values in row-major order (format 1.0, as `np.save`).
    ///
    /// ```swift
    /// let bytes = Tensor([[1.0, 2.0]]).npyData()   // 128-byte header + 8 bytes of float32
    /// ```
    public func npyData() -> [UInt8] {
        var sink = ByteArraySink()
        try? NPY.encode(self, to: &sink)   // writing to memory cannot fail
        return sink.bytes
    }

    /// Writes this tensor to a `.npy` file that `np.load` reads; atomically, via a temporary file and rename.
    ///
    /// ```swift
    /// try Tensor.arange(6).reshape(2, 3).writeNPY(to: "x.npy")
    /// ```
    public func writeNPY(to path: String) throws {
        try NPY.atomicWrite(path, archive: false) { sink in try NPY.encode(self, to: &sink) }
    }

    /// Reads every array of a NumPy `.npz` archive (`np.savez` or `np.savez_compressed`), keyed by
    /// entry name without the `.npy` suffix; entries not ending in `.npy` are skipped.
    ///
    /// ```swift
    /// let params = try Tensor.loadNPZ("model.npz")
    /// let w = params["w"]
    /// ```
    public static func loadNPZ(_ path: String) throws -> [String: Tensor] {
        let bytes = try NPY.readWholeFile(path)
        return try bytes.withUnsafeBytes { try NPY.decodeNPZ($0, file: path) }
    }

    /// Writes named arrays to a `.npz` archive that `np.load` reads, stored or deflated; atomically.
    ///
    /// Entries are written in sorted key order, each as `key.npy`.
    /// ```swift
    /// try Tensor.saveNPZ(["w": w, "b": b], to: "model.npz", compressed: true)
    /// ```
    public static func saveNPZ(_ arrays: [String: Tensor], to path: String, compressed: Bool = false) throws {
        try NPY.atomicWrite(path, archive: true) { sink in
            try NPY.encodeNPZ(arrays, compressed: compressed, to: &sink)
        }
    }

    /// The bytes of a `.npz` archive of `arrays` (what `saveNPZ` writes).
    static func npzData(_ arrays: [String: Tensor], compressed: Bool = false, forceZip64: Bool = false) throws -> [UInt8] {
        var sink = ByteArraySink()
        try NPY.encodeNPZ(arrays, compressed: compressed, forceZip64: forceZip64, to: &sink)
        return sink.bytes
    }

    /// Decodes the bytes of a `.npz` archive; `name` is only used in error messages.
    static func loadNPZ(data: [UInt8], name: String = "<data>") throws -> [String: Tensor] {
        try data.withUnsafeBytes { try NPY.decodeNPZ($0, file: name) }
    }
}

/// The NPY format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
enum NPY {
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]

    /// What the header says about the data that follows it.
    struct Header {
        var dtype: DType
        var byteSwapped: Bool
        var fortranOrder: Bool
        var shape: [Int]
        var count: Int
        var byteCount: Int
        /// Where the data starts: magic, version, length field and header text.
        var dataOffset: Int
    }

    // MARK: Decoding

    /// The header's start and length from the fixed prefix (magic, version, length field).
    static func readPrefix(_ bytes: UnsafeRawBufferPointer, file: String) throws -> (start: Int, length: Int) {
        guard bytes.count >= 6, zip(bytes.prefix(6), magic).allSatisfy({ $0 == $1 }) else {
            throw NPYError.notNPY(file: file, found: Array(bytes.prefix(6)))
        }
        guard bytes.count >= 8 else { throw NPYError.badHeader(file: file, reason: "file ends after \(bytes.count) bytes, before the version") }
        let major = Int(bytes[6]), minor = Int(bytes[7])
        let length: UInt32?
        switch (major, minor) {
        case (1, 0): length = bytes.readLittleEndian(UInt16.self, at: 8).map(UInt32.init)
        case (2, 0), (3, 0): length = bytes.readLittleEndian(UInt32.self, at: 8)
        default: throw NPYError.unsupportedVersion(file: file, major: major, minor: minor)
        }
        guard let length else {
            throw NPYError.badHeader(file: file, reason: "file ends after \(bytes.count) bytes, inside the header length")
        }
        return (major == 1 ? 10 : 12, Int(length))
    }

    /// Parses the header text (the Python dict literal) into a `Header`.
    static func parseHeader(_ text: UnsafeRawBufferPointer, dataOffset: Int, file: String) throws -> Header {
        func bad(_ reason: String) -> NPYError { .badHeader(file: file, reason: reason) }
        var parser = PyLiteralParser(bytes: text)
        let value: PyLiteral
        do {
            value = try parser.parseAll()
        } catch let e as PyLiteralParser.Failure {
            throw bad("\(e.reason) at byte \(e.position) of the \(text.count)-byte header")
        }
        guard case .dict(let items) = value else { throw bad("header is not a dict but \(value.python)") }
        let keys = items.map(\.0)
        guard Set(keys) == ["descr", "fortran_order", "shape"], keys.count == 3 else {
            throw bad("header keys are \(keys), expected descr, fortran_order and shape")
        }
        let dict = Dictionary(items, uniquingKeysWith: { a, _ in a })
        guard case .string(let descr)? = dict["descr"] else {
            throw NPYError.unsupportedDType(file: file, descr: dict["descr"]?.python ?? "?")
        }
        guard case .bool(let fortran)? = dict["fortran_order"] else {
            throw bad("fortran_order is \(dict["fortran_order"]?.python ?? "?"), not True or False")
        }
        guard case .tuple(let dims)? = dict["shape"] else { throw bad("shape is \(dict["shape"]?.python ?? "?"), not a tuple") }
        var shape: [Int] = []
        for d in dims {
            guard case .int(let n) = d, n >= 0 else { throw bad("shape \(dict["shape"]?.python ?? "") has a dimension that is not a non-negative int") }
            shape.append(n)
        }
        guard let (dtype, swapped) = NPY.dtype(descr: descr) else { throw NPYError.unsupportedDType(file: file, descr: descr) }
        var count = 1
        for d in shape {
            let (c, overflow) = count.multipliedReportingOverflow(by: d)
            if overflow { throw bad("shape \(shape) has more elements than Int can count") }
            count = c
        }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
        if overflow { throw bad("shape \(shape) of \(descr) needs more bytes than Int can count") }
        return Header(dtype: dtype, byteSwapped: swapped, fortranOrder: fortran, shape: shape,
                      count: count, byteCount: bytes, dataOffset: dataOffset)
    }

    /// NumPy's type code (the descr without its byte-order character) for each dtype.
    static func typeCode(_ dtype: DType) -> String {
        switch dtype {
        case .float32: return "f4"
        case .float64: return "f8"
        case .int32: return "i4"
        case .int64: return "i8"
        case .bool: return "b1"
        }
    }

    /// The dtype of a descr like `<f4`, and whether its bytes need swapping on this machine.
    static func dtype(descr: String) -> (DType, Bool)? {
        guard let order = descr.first, let dtype = DType.allCases.first(where: { "\(order)" + typeCode($0) == descr }) else {
            return nil
        }
        let littleHost = 1.littleEndian == 1
        switch order {
        case "<": return (dtype, !littleHost && dtype.byteSize > 1)
        case ">": return (dtype, littleHost && dtype.byteSize > 1)
        case "|", "=": return (dtype, false)
        default: return nil
        }
    }

    /// A tensor from a parsed header; `fill` writes exactly `header.byteCount` raw bytes to the pointer.
    static func makeTensor(_ header: Header, fill: (UnsafeMutableRawPointer) throws -> Void) throws -> Tensor {
        // Fortran order stores the transpose's C order: read it as the reversed shape, then permute back.
        let fortran = header.fortranOrder && header.shape.count > 1
        var t = Tensor(uninitializedShape: fortran ? header.shape.reversed() : header.shape, dtype: header.dtype)
        let data = t.storage.data
        try fill(data)
        switch (header.dtype.byteSize, header.byteSwapped) {
        case (4, true):
            let p = data.assumingMemoryBound(to: UInt32.self)
            for i in 0..<header.count { p[i] = p[i].byteSwapped }
        case (8, true):
            let p = data.assumingMemoryBound(to: UInt64.self)
            for i in 0..<header.count { p[i] = p[i].byteSwapped }
        default: break
        }
        if header.dtype == .bool {
            // A Bool byte other than 0 or 1 is undefined behaviour in Swift; NumPy reads any non-zero as True.
            let p = data.assumingMemoryBound(to: UInt8.self)
            for i in 0..<header.count where p[i] > 1 { p[i] = 1 }
        }
        if fortran { t = t.permute(Array((0..<header.shape.count).reversed())).contiguousCopy() }
        return t
    }

    /// Decodes a whole `.npy` held in memory.
    static func decode(_ bytes: UnsafeRawBufferPointer, file: String) throws -> Tensor {
        let (start, length) = try readPrefix(bytes, file: file)
        guard length <= bytes.count - start else {
            throw NPYError.badHeader(file: file, reason: "header length is \(length) bytes but only \(bytes.count - start) follow the \(start)-byte prefix")
        }
        let header = try parseHeader(UnsafeRawBufferPointer(rebasing: bytes[start..<(start + length)]),
                                     dataOffset: start + length, file: file)
        let available = bytes.count - header.dataOffset
        guard available >= header.byteCount else {
            throw NPYError.truncated(file: file, elements: header.count, expected: header.byteCount, got: available)
        }
        return try makeTensor(header) { dst in
            if let src = bytes.baseAddress, header.byteCount > 0 {
                dst.copyMemory(from: src + header.dataOffset, byteCount: header.byteCount)
            }
        }
    }

    /// Reads a `.npy` file straight into the tensor's storage, so large arrays are not held twice.
    static func readFile(_ path: String) throws -> Tensor {
        let file = try OpenFile(path, archive: false)
        defer { file.close() }
        let prefixBytes = try file.read(at: 0, count: min(file.size, 12))
        let (start, length) = try prefixBytes.withUnsafeBytes { try readPrefix($0, file: path) }
        guard length <= file.size - start else {
            throw NPYError.badHeader(file: path, reason: "header length is \(length) bytes but only \(file.size - start) follow the \(start)-byte prefix")
        }
        let text = try file.read(at: start, count: length)
        let header = try text.withUnsafeBytes { try parseHeader($0, dataOffset: start + length, file: path) }
        let available = file.size - header.dataOffset
        guard available >= header.byteCount else {
            throw NPYError.truncated(file: path, elements: header.count, expected: header.byteCount, got: available)
        }
        return try makeTensor(header) { dst in
            try file.read(at: header.dataOffset, count: header.byteCount, into: dst)
        }
    }

    /// Decodes every `.npy` entry of an archive held in memory.
    static func decodeNPZ(_ bytes: UnsafeRawBufferPointer, file: String) throws -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        for entry in try ZipArchive.entries(in: bytes, file: file) where entry.name.hasSuffix(".npy") {
            let key = String(entry.name.dropLast(4))
            result[key] = try ZipArchive.withContents(of: entry, in: bytes, file: file) { data in
                try decode(data, file: "\(file):\(entry.name)")
            }
        }
        return result
    }

    // MARK: Encoding

    /// The header NumPy's `np.save` writes: dict text, spare room for the first axis to grow, and
    /// spaces and a newline so the data starts at a multiple of 64 bytes.
    static func headerBytes(dtype: DType, shape: [Int]) -> [UInt8] {
        let descr = (dtype == .bool ? "|" : 1.littleEndian == 1 ? "<" : ">") + typeCode(dtype)
        let dims = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var text = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(dims), }"
        if let first = shape.first { text += String(repeating: " ", count: max(0, 21 - String(first).count)) }
        let body = Array(text.utf8)
        // Version 1.0 has a 2-byte length; NumPy moves to 2.0 only when the header outgrows it.
        let hlen = body.count + 1
        let pad1 = 64 - (10 + hlen) % 64
        let v1 = hlen + pad1 <= Int(UInt16.max)
        let total = v1 ? hlen + pad1 : hlen + 64 - (12 + hlen) % 64
        var out = magic + [v1 ? 1 : 2, 0]
        if v1 { out.appendLittleEndian(UInt16(total)) } else { out.appendLittleEndian(UInt32(total)) }
        out += body
        out += [UInt8](repeating: 0x20, count: total - hlen)
        out.append(0x0A)
        return out
    }

    /// Calls `body` with the header and the row-major data bytes of `tensor`.
    static func withPieces<R>(_ tensor: Tensor, _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let header = headerBytes(dtype: tensor.dtype, shape: tensor.shape)
        let c = tensor.contiguous()
        let size = c.dtype.byteSize
        return try withExtendedLifetime(c) {
            let data = UnsafeRawBufferPointer(start: c.storage.data + c.offset * size, count: c.count * size)
            return try header.withUnsafeBytes { try body($0, data) }
        }
    }

    static func encode<S: ByteSink>(_ tensor: Tensor, to sink: inout S) throws {
        try withPieces(tensor) { header, data in
            try sink.write(header)
            try sink.write(data)
        }
    }

    static func encodeNPZ<S: ByteSink>(_ arrays: [String: Tensor], compressed: Bool, forceZip64: Bool = false,
                                       to sink: inout S) throws {
        var zip = ZipWriter(sink: sink, forceZip64: forceZip64)
        for key in arrays.keys.sorted() {
            guard let tensor = arrays[key] else { continue }
            try withPieces(tensor) { header, data in
                try zip.add(name: key + ".npy", pieces: [header, data], compress: compressed)
            }
        }
        try zip.finish()
        sink = zip.sink
    }
}

/// The subset of Python literals NumPy headers use: dicts, tuples/lists, strings, ints, True/False/None.
enum PyLiteral {
    case dict([(String, PyLiteral)]), tuple([PyLiteral]), string(String), int(Int), bool(Bool), none

    /// Python-like text, for error messages.
    var python: String {
        switch self {
        case .dict(let items): return "{" + items.map { "'\($0.0)': \($0.1.python)" }.joined(separator: ", ") + "}"
        case .tuple(let items): return "(" + items.map(\.python).joined(separator: ", ") + (items.count == 1 ? ",)" : ")")
        case .string(let s): return "'\(s)'"
        case .int(let n): return String(n)
        case .bool(let b): return b ? "True" : "False"
        case .none: return "None"
        }
    }
}

/// A recursive-descent parser for `PyLiteral`, with a depth limit so hostile headers cannot overflow the stack.
struct PyLiteralParser {
    struct Failure: Error { let reason: String; let position: Int }
    let bytes: UnsafeRawBufferPointer
    var pos = 0
    var depth = 0

    init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    private func fail(_ reason: String) -> Failure { Failure(reason: reason, position: pos) }
    private var current: UInt8? { pos < bytes.count ? bytes[pos] : nil }

    private mutating func skipSpace() {
        while let c = current, c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { pos += 1 }
    }

    /// One value followed by nothing but whitespace.
    mutating func parseAll() throws -> PyLiteral {
        let v = try value()
        skipSpace()
        if pos != bytes.count { throw fail("unexpected text after the dict") }
        return v
    }

    private mutating func value() throws -> PyLiteral {
        skipSpace()
        guard let c = current else { throw fail("header ends where a value was expected") }
        switch c {
        case UInt8(ascii: "{"):
            let items = try sequence(close: UInt8(ascii: "}")) { p -> (String, PyLiteral) in
                guard case .string(let key) = try p.value() else { throw p.fail("dict key is not a string") }
                p.skipSpace()
                guard p.current == UInt8(ascii: ":") else { throw p.fail("expected ':' after dict key '\(key)'") }
                p.pos += 1
                return (key, try p.value())
            }
            return .dict(items)
        case UInt8(ascii: "("): return .tuple(try sequence(close: UInt8(ascii: ")")) { try $0.value() })
        case UInt8(ascii: "["): return .tuple(try sequence(close: UInt8(ascii: "]")) { try $0.value() })
        case UInt8(ascii: "'"), UInt8(ascii: "\""): return .string(try string(quote: c))
        case UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .int(try integer())
        default:
            let start = pos
            while let ch = current, (ch | 0x20) >= UInt8(ascii: "a") && (ch | 0x20) <= UInt8(ascii: "z") { pos += 1 }
            switch String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<pos]), as: UTF8.self) {
            case "True": return .bool(true)
            case "False": return .bool(false)
            case "None": return .none
            case let word:
                pos = start
                throw fail(word.isEmpty ? "unexpected character \(describe(c))" : "unknown name '\(word)'")
            }
        }
    }

    private func describe(_ byte: UInt8) -> String {
        byte >= 0x20 && byte < 0x7F ? "'\(Character(Unicode.Scalar(byte)))'" : "byte \(byte)"
    }

    /// Comma-separated items up to `close`, after the opening bracket at `pos`; a trailing comma is allowed.
    private mutating func sequence<T>(close: UInt8, _ item: (inout PyLiteralParser) throws -> T) throws -> [T] {
        depth += 1
        defer { depth -= 1 }
        if depth > 32 { throw fail("nesting deeper than 32 levels") }
        pos += 1
        var items: [T] = []
        while true {
            skipSpace()
            if current == close { pos += 1; return items }
            items.append(try item(&self))
            skipSpace()
            if current == UInt8(ascii: ",") { pos += 1; continue }
            if current == close { pos += 1; return items }
            throw fail(current == nil ? "header ends inside a bracket" : "expected ',' or '\(Character(Unicode.Scalar(close)))'")
        }
    }

    private mutating func string(quote: UInt8) throws -> String {
        pos += 1
        var out: [UInt8] = []
        while let c = current {
            pos += 1
            if c == quote { return String(decoding: out, as: UTF8.self) }
            if c == UInt8(ascii: "\\") {
                guard let escaped = current else { break }
                out.append(escaped)
                pos += 1
            } else {
                out.append(c)
            }
        }
        throw fail("header ends inside a string")
    }

    private mutating func integer() throws -> Int {
        var negative = false
        if current == UInt8(ascii: "-") || current == UInt8(ascii: "+") { negative = current == UInt8(ascii: "-"); pos += 1 }
        var value = 0, digits = 0
        while let c = current, c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") {
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int(c - UInt8(ascii: "0")))
            if o1 || o2 { throw fail("integer does not fit in Int") }
            value = a
            digits += 1
            pos += 1
        }
        if digits == 0 { throw fail("expected digits") }
        if current == UInt8(ascii: "L") { pos += 1 }   // Python 2 longs, in files from old NumPy
        return negative ? -value : value
    }
}

// MARK: File access

// Free functions, because inside the types below `close` and `write` name their own methods.
private func closeFile(_ fd: Int32) -> Int32 { close(fd) }

extension NPY {
    private static func errorText() -> String { String(cString: strerror(errno)) }

    /// A file open for reading, with its size; every read is checked against that size.
    struct OpenFile {
        let fd: Int32
        let size: Int
        let path: String
        let archive: Bool

        init(_ path: String, archive: Bool) throws {
            self.path = path
            self.archive = archive
            fd = open(path, O_RDONLY)
            guard fd >= 0 else { throw NPYError.io(file: path, reason: "cannot open for reading: \(NPY.errorText())", archive: archive) }
            var info = stat()
            guard fstat(fd, &info) == 0 else {
                let reason = NPY.errorText()
                _ = closeFile(fd)
                throw NPYError.io(file: path, reason: "cannot stat: \(reason)", archive: archive)
            }
            size = Int(info.st_size)
        }

        func close() { _ = closeFile(fd) }

        func read(at offset: Int, count: Int) throws -> [UInt8] {
            var bytes = [UInt8](repeating: 0, count: count)
            try bytes.withUnsafeMutableBytes { buf in
                if let base = buf.baseAddress { try read(at: offset, count: count, into: base) }
            }
            return bytes
        }

        /// Reads exactly `count` bytes at `offset`; a file that shrank since `open` is reported as such.
        func read(at offset: Int, count: Int, into dst: UnsafeMutableRawPointer) throws {
            var done = 0
            while done < count {
                let n = pread(fd, dst + done, min(count - done, 1 << 30), off_t(offset + done))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw NPYError.io(file: path, reason: "read of \(count) bytes at offset \(offset) failed: \(NPY.errorText())", archive: archive)
                }
                if n == 0 {
                    throw NPYError.io(file: path, reason: "file ended after \(offset + done) of \(offset + count) bytes while reading", archive: archive)
                }
                done += n
            }
        }
    }

    static func readWholeFile(_ path: String) throws -> [UInt8] {
        let file = try OpenFile(path, archive: true)
        defer { file.close() }
        return try file.read(at: 0, count: file.size)
    }

    /// Writes `path` through a temporary file renamed into place (see `AtomicFile`), reporting
    /// failures as `NPYError.io`.
    static func atomicWrite(_ path: String, archive: Bool, _ body: (inout AtomicFile.Sink) throws -> Void) throws {
        try AtomicFile.write(path, error: { NPYError.io(file: path, reason: $0, archive: archive) }, body)
    }
}
