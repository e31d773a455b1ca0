import CZlib

/// gzip (RFC 1952) through zlib: decompression of single- and multi-member files, and compression
/// (for writing test files).
///
/// ```swift
/// let raw = try Gzip.decompress(try AtomicFile.read("train-images-idx3-ubyte.gz"))
/// ```
public enum Gzip {
    /// True when `bytes` start with the gzip magic bytes 1f 8b.
    public static func isGzip(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b
    }

    /// The uncompressed content of gzip data; corrupt, truncated or non-gzip input throws a
    /// `DataError` (`[gzip] ...`).
    public static func decompress(_ bytes: [UInt8]) throws -> [UInt8] {
        func bad(_ reason: String) -> DataError { DataError(op: "gzip", reason: reason) }
        guard isGzip(bytes) else {
            throw bad(bytes.count < 2 ? "data has \(bytes.count) bytes, too short for gzip" : "not gzip data (no 1f 8b magic)")
        }
        var out: [UInt8] = []
        out.reserveCapacity(Swift.min(bytes.count * 4, 1 << 30))
        var chunk = [UInt8](repeating: 0, count: 1 << 18)
        var position = 0
        try bytes.withUnsafeBufferPointer { input in
            // One iteration per gzip member (files may be concatenations of members).
            while position < input.count {
                if position > 0 && !(input.count - position >= 2 && input[position] == 0x1f && input[position + 1] == 0x8b) {
                    // Trailing zero padding is tolerated as gzip(1) does; anything else is an error.
                    if input[position...].allSatisfy({ $0 == 0 }) { break }
                    throw bad("unexpected bytes after the gzip member at offset \(position)")
                }
                var stream = z_stream()
                guard inflateInit2_(&stream, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                    throw bad("zlib inflateInit2 failed")
                }
                defer { inflateEnd(&stream) }
                var ended = false
                while !ended {
                    let available = Swift.min(input.count - position, Int(UInt32.max >> 1))
                    stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress! + position)
                    stream.avail_in = uInt(available)
                    let produced: Int
                    let status: Int32
                    (status, produced) = chunk.withUnsafeMutableBufferPointer { buf in
                        stream.next_out = buf.baseAddress
                        stream.avail_out = uInt(buf.count)
                        let s = inflate(&stream, Z_NO_FLUSH)
                        return (s, buf.count - Int(stream.avail_out))
                    }
                    position += available - Int(stream.avail_in)
                    out.append(contentsOf: chunk[0..<produced])
                    switch status {
                    case Z_STREAM_END:
                        ended = true
                    case Z_OK:
                        continue
                    case Z_BUF_ERROR:
                        if position >= input.count { throw bad("data is truncated (ended after \(out.count) uncompressed bytes)") }
                        throw bad("zlib made no progress at offset \(position)")
                    case Z_DATA_ERROR:
                        let message = stream.msg.map { String(cString: $0) } ?? "invalid data"
                        throw bad("corrupt data: \(message)")
                    default:
                        throw bad("zlib error \(status)")
                    }
                }
            }
        }
        return out
    }

    /// `bytes` as a gzip member (level 0-9, default 6).
    public static func compress(_ bytes: [UInt8], level: Int = 6) -> [UInt8] {
        var stream = z_stream()
        let status = deflateInit2_(&stream, Int32(level), Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                                   zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        precondition(status == Z_OK, "[gzip] deflateInit2 failed: \(status)")
        defer { deflateEnd(&stream) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        bytes.withUnsafeBufferPointer { input in
            var position = 0
            var finished = false
            while !finished {
                let available = Swift.min(input.count - position, 1 << 30)
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress.map { $0 + position })
                stream.avail_in = uInt(available)
                let flush = position + available == input.count ? Z_FINISH : Z_NO_FLUSH
                repeat {
                    let (s, produced) = chunk.withUnsafeMutableBufferPointer { buf -> (Int32, Int) in
                        stream.next_out = buf.baseAddress
                        stream.avail_out = uInt(buf.count)
                        let s = deflate(&stream, flush)
                        return (s, buf.count - Int(stream.avail_out))
                    }
                    out.append(contentsOf: chunk[0..<produced])
                    if s == Z_STREAM_END { finished = true; break }
                } while stream.avail_out == 0 || stream.avail_in > 0
                position += available
            }
        }
        return out
    }
}

extension Gzip {
    /// Inflates a raw deflate stream (as in zip members) of `expected` bytes.
    static func inflateRaw(_ bytes: [UInt8], expected: Int) throws -> [UInt8] {
        func bad(_ reason: String) -> DataError { DataError(op: "zip", reason: reason) }
        var stream = z_stream()
        guard inflateInit2_(&stream, -15, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw bad("zlib inflateInit2 failed")
        }
        defer { inflateEnd(&stream) }
        var out = [UInt8](repeating: 0, count: expected + 1)
        let status: Int32 = bytes.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { output in
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
                stream.avail_in = uInt(input.count)
                stream.next_out = output.baseAddress
                stream.avail_out = uInt(output.count)
                return inflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { throw bad("corrupt or truncated deflate data (zlib status \(status))") }
        let produced = expected + 1 - Int(stream.avail_out)
        guard produced == expected else { throw bad("inflates to \(produced) bytes, expected \(expected)") }
        out.removeLast()
        return out
    }
}
