import CZlib

/// Myelin's one deflate wrapper: compression and decompression through zlib, in the three framings
/// the project reads and writes (raw deflate in zip members, zlib streams in PNG, gzip files).
///
/// Every other file calls this one; none calls zlib itself. Buffers of any size go through in
/// pieces (zlib takes 32-bit lengths), and failures throw a `ZlibError` that the caller turns into
/// its own error with the file name.
///
/// ```swift
/// let packed = try Zlib.deflate(Array("hello hello hello".utf8), format: .gzip)
/// var out: [UInt8] = []
/// _ = try Zlib.inflate(packed, format: .gzip) { out += $0 }   // "hello hello hello"
/// ```
public enum Zlib {
    /// The framing around the deflate data.
    public enum Format: Sendable {
        /// Bare deflate data (RFC 1951), as in zip members.
        case raw
        /// A zlib stream (RFC 1950), as in PNG's IDAT chunks.
        case zlib
        /// One gzip member (RFC 1952), as in `.gz` files.
        case gzip

        /// zlib's `windowBits` for this framing.
        var windowBits: Int32 {
            switch self {
            case .raw: return -15
            case .zlib: return 15
            case .gzip: return 15 + 16
            }
        }
    }

    /// zlib takes lengths as 32-bit `uInt`, so large buffers go through in pieces of this size.
    static let chunk = 1 << 30
    /// The scratch buffer output is produced into, 256 KiB.
    static let scratch = 1 << 18

    /// The concatenated pieces compressed at `level` (0-9; 6 is zlib's and Python's default).
    ///
    /// ```swift
    /// let idat = try Zlib.deflate([rows], format: .zlib, level: 9)
    /// ```
    public static func deflate(_ pieces: [UnsafeRawBufferPointer], format: Format, level: Int = 6) throws -> [UInt8] {
        var stream = z_stream()
        let initStatus = deflateInit2_(&stream, Int32(level), Z_DEFLATED, format.windowBits, 8, Z_DEFAULT_STRATEGY,
                                       zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard initStatus == Z_OK else {
            throw ZlibError(reason: "deflateInit2 at level \(level) failed with status \(initStatus)")
        }
        defer { deflateEnd(&stream) }
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        // Runs deflate until it has taken all of the current input (or, with Z_FINISH, ended the stream).
        func drain(_ flush: Int32) throws {
            let status: Int32 = buffer.withUnsafeMutableBufferPointer { buf in
                while true {
                    stream.next_out = buf.baseAddress
                    stream.avail_out = uInt(buf.count)
                    let status = CZlib.deflate(&stream, flush)
                    output.append(contentsOf: buf[0..<(buf.count - Int(stream.avail_out))])
                    if status == Z_STREAM_END || status != Z_OK { return status }
                    if flush != Z_FINISH && stream.avail_in == 0 && stream.avail_out != 0 { return status }
                }
            }
            let done = flush == Z_FINISH ? status == Z_STREAM_END : status == Z_OK || status == Z_BUF_ERROR
            if !done { throw ZlibError(reason: "deflate failed with status \(status) after \(output.count) bytes of output") }
        }
        for piece in pieces {
            guard let base = piece.baseAddress?.assumingMemoryBound(to: UInt8.self) else { continue }
            var done = 0
            while done < piece.count {
                let n = Swift.min(piece.count - done, chunk)
                stream.next_in = UnsafeMutablePointer(mutating: base + done)
                stream.avail_in = uInt(n)
                try drain(Z_NO_FLUSH)
                done += n
            }
        }
        stream.next_in = nil
        stream.avail_in = 0
        try drain(Z_FINISH)
        return output
    }

    /// `bytes` compressed at `level` (0-9).
    public static func deflate(_ bytes: [UInt8], format: Format, level: Int = 6) throws -> [UInt8] {
        try bytes.withUnsafeBytes { try deflate([$0], format: format, level: level) }
    }

    /// Inflates the one stream at the start of `input`, handing the output to `write` in pieces
    /// (of at most 256 KiB), and returns how many input bytes the stream took (a gzip file may hold
    /// more members after it).
    ///
    /// Throws when the data is corrupt, or ends before the stream does; `write` may throw to stop
    /// early (when more comes out than expected, say).
    public static func inflate(_ input: UnsafeRawBufferPointer, format: Format,
                               write: (UnsafeRawBufferPointer) throws -> Void) throws -> Int {
        var stream = z_stream()
        let initStatus = inflateInit2_(&stream, format.windowBits, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard initStatus == Z_OK else { throw ZlibError(reason: "inflateInit2 failed with status \(initStatus)") }
        defer { inflateEnd(&stream) }
        let inBase = input.baseAddress?.assumingMemoryBound(to: UInt8.self)
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: scratch, alignment: 16)
        defer { out.deallocate() }
        let outBase = out.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var position = 0, produced = 0
        while true {
            let available = Swift.min(input.count - position, chunk)
            stream.next_in = inBase.map { UnsafeMutablePointer(mutating: $0 + position) }
            stream.avail_in = uInt(available)
            stream.next_out = outBase
            stream.avail_out = uInt(scratch)
            let status = CZlib.inflate(&stream, Z_NO_FLUSH)
            let consumed = available - Int(stream.avail_in), made = scratch - Int(stream.avail_out)
            position += consumed
            produced += made
            if made > 0 { try write(UnsafeRawBufferPointer(rebasing: out[0..<made])) }
            switch status {
            case Z_STREAM_END:
                return position
            case Z_OK, Z_BUF_ERROR:
                if consumed == 0 && made == 0 {
                    throw ZlibError(reason: position >= input.count
                        ? "data is truncated (ended after \(produced) uncompressed bytes)"
                        : "zlib made no progress at offset \(position) of \(input.count)")
                }
            default:
                let message = stream.msg.map { String(cString: $0) } ?? "status \(status)"
                throw ZlibError(reason: "corrupt data after \(position) of \(input.count) bytes: \(message)")
            }
        }
    }

    /// Inflates the one stream in `input` into exactly `out.count` bytes of `out`; more or fewer throws.
    ///
    /// ```swift
    /// let out = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
    /// try Zlib.inflate(member, format: .raw, into: out)
    /// ```
    public static func inflate(_ input: UnsafeRawBufferPointer, format: Format, into out: UnsafeMutableRawBufferPointer) throws {
        let expected = out.count
        var filled = 0
        _ = try inflate(input, format: format) { piece in
            guard piece.count <= expected - filled else {
                throw ZlibError(reason: "inflates to more than the expected \(expected) bytes")
            }
            UnsafeMutableRawBufferPointer(rebasing: out[filled..<(filled + piece.count)]).copyMemory(from: piece)
            filled += piece.count
        }
        if filled != expected { throw ZlibError(reason: "inflates to \(filled) bytes, expected \(expected)") }
    }

    /// The inflated stream in `bytes`, which must inflate to exactly `expected` bytes.
    public static func inflate(_ bytes: [UInt8], format: Format, expected: Int) throws -> [UInt8] {
        guard expected >= 0 else { throw ZlibError(reason: "expected size \(expected) is negative") }
        var out = [UInt8](repeating: 0, count: expected)
        try bytes.withUnsafeBytes { input in
            try out.withUnsafeMutableBytes { try inflate(input, format: format, into: $0) }
        }
        return out
    }

    /// Inflates the one stream at the start of `bytes`; see `inflate(_:format:write:)`.
    public static func inflate(_ bytes: [UInt8], format: Format, write: (UnsafeRawBufferPointer) throws -> Void) throws -> Int {
        try bytes.withUnsafeBytes { try inflate($0, format: format, write: write) }
    }
}

/// zlib refused data or ran out of memory: `[zlib] corrupt data after 12 of 40 bytes: invalid distance too far back`.
public struct ZlibError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What went wrong, without the `[zlib]` prefix, for callers that name their own file and op.
    public let reason: String
    public init(reason: String) { self.reason = reason }
    public var description: String { "[zlib] " + reason }
}
