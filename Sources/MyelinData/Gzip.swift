import MyelinCore

/// gzip (RFC 1952) files: decompression of single- and multi-member files, and compression (for
/// writing test files). The deflate work is the core's `Zlib`; this adds the gzip file rules.
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
        try bytes.withUnsafeBytes { input in
            var position = 0
            // One iteration per gzip member (files may be concatenations of members).
            while position < input.count {
                if position > 0 && !(input.count - position >= 2 && input[position] == 0x1f && input[position + 1] == 0x8b) {
                    // Trailing zero padding is tolerated as gzip(1) does; anything else is an error.
                    if input[position...].allSatisfy({ $0 == 0 }) { break }
                    throw bad("unexpected bytes after the gzip member at offset \(position)")
                }
                do {
                    position += try Zlib.inflate(UnsafeRawBufferPointer(rebasing: input[position...]), format: .gzip) {
                        out.append(contentsOf: $0)
                    }
                } catch let error as ZlibError {
                    throw bad(error.reason)
                }
            }
        }
        return out
    }

    /// `bytes` as a gzip member (level 0-9, default 6).
    public static func compress(_ bytes: [UInt8], level: Int = 6) -> [UInt8] {
        do {
            return try Zlib.deflate(bytes, format: .gzip, level: level)
        } catch {
            // Only a level outside 0-9 or no memory for zlib's state gets here.
            fatalError("[gzip] \(error)")
        }
    }
}
