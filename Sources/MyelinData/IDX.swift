import MyelinCore

/// The IDX format of MNIST and Fashion-MNIST (big-endian header, then unsigned bytes), plain or
/// gzipped (detected from the first bytes, not the file name).
///
/// ```swift
/// let images = try IDX.readImages(at: "mnist/train-images-idx3-ubyte.gz")  // float32 [60000, 1, 28, 28] in [0, 1]
/// let labels = try IDX.readLabels(at: "mnist/train-labels-idx1-ubyte.gz")  // int64 [60000]
/// ```
public enum IDX {
    public static let imageMagic: UInt32 = 0x0000_0803
    public static let labelMagic: UInt32 = 0x0000_0801

    /// Images as float32 `[N, 1, rows, cols]`, pixel bytes divided by 255.
    public static func readImages(at path: String) throws -> Tensor {
        let bytes = try readMaybeGzipped(path, op: "idx")
        let (n, dims) = try header(bytes, path: path, magic: imageMagic, rank: 3)
        let rows = dims[0], cols = dims[1]
        var out = Tensor.zeros([n, 1, rows, cols])
        out.withUnsafeMutableBufferPointer(as: Float.self) { dst in
            bytes.withUnsafeBufferPointer { src in
                let base = src.baseAddress! + 16
                let table = (0..<256).map { Float($0) / 255 }  // exact byte / 255, as torchvision's ToTensor
                for i in 0..<dst.count { dst[i] = table[Int(base[i])] }
            }
        }
        return out
    }

    /// Labels as int64 `[n]`.
    public static func readLabels(at path: String) throws -> Tensor {
        let bytes = try readMaybeGzipped(path, op: "idx")
        let (n, _) = try header(bytes, path: path, magic: labelMagic, rank: 1)
        var out = Tensor.zeros([n], dtype: .int64)
        out.withUnsafeMutableBufferPointer(as: Int64.self) { dst in
            for i in 0..<n { dst[i] = Int64(bytes[8 + i]) }
        }
        return out
    }

    /// Reads the header and checks magic and byte count; returns N and the remaining dims.
    static func header(_ bytes: [UInt8], path: String, magic: UInt32, rank: Int) throws -> (Int, [Int]) {
        func bad(_ reason: String) -> DataError { DataError(op: "idx", file: path, reason: reason) }
        func word(_ i: Int) -> UInt32 {
            UInt32(bytes[4 * i]) << 24 | UInt32(bytes[4 * i + 1]) << 16 | UInt32(bytes[4 * i + 2]) << 8 | UInt32(bytes[4 * i + 3])
        }
        let headerSize = 4 + 4 * rank
        guard bytes.count >= 4 else { throw bad("file has \(bytes.count) bytes, too short for an IDX header") }
        let found = word(0)
        guard found == magic else { throw bad("bad magic \(hex(found)), expected \(hex(magic))") }
        guard bytes.count >= headerSize else {
            throw bad("file has \(bytes.count) bytes, too short for the \(headerSize)-byte header")
        }
        var dims: [Int] = []
        for i in 1...rank { dims.append(Int(word(i))) }
        var payload = 1
        for d in dims {
            let (m, overflow) = payload.multipliedReportingOverflow(by: d)
            if overflow || m > Int(Int32.max) * 64 { throw bad("dimensions \(dims) are too large") }
            payload = m
        }
        let expected = headerSize + payload
        guard bytes.count == expected else {
            throw bad("size is \(bytes.count) bytes, expected \(expected) for dimensions \(dims.map(String.init).joined(separator: "x"))")
        }
        return (dims[0], Array(dims.dropFirst()))
    }

    static func hex(_ v: UInt32) -> String {
        let s = String(v, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - s.count) + s
    }

    /// Writes images (`[N, rows, cols]` or `[N, 1, rows, cols]`, values in [0, 1], rounded to
    /// bytes) as an IDX file; gzipped when `path` ends in `.gz`.
    public static func writeImages(_ images: Tensor, to path: String) throws {
        let shape = images.shape
        require(shape.count == 3 || (shape.count == 4 && shape[1] == 1),
                     "[idx] images must be [N, rows, cols] or [N, 1, rows, cols], got \(shape)")
        let n = shape[0], rows = shape[shape.count - 2], cols = shape[shape.count - 1]
        var bytes = bigEndian([imageMagic, UInt32(n), UInt32(rows), UInt32(cols)])
        let values = images.to(.float32).contiguous()
        values.withUnsafeBufferPointer(as: Float.self) { src in
            bytes.reserveCapacity(bytes.count + src.count)
            for v in src { bytes.append(UInt8((Swift.min(Swift.max(v, 0), 1) * 255).rounded())) }
        }
        try write(bytes, to: path)
    }

    /// Writes int labels (`[n]`, 0-255) as an IDX file; gzipped when `path` ends in `.gz`.
    public static func writeLabels(_ labels: Tensor, to path: String) throws {
        require(labels.rank == 1, "[idx] labels must be [N], got \(labels.shape)")
        var bytes = bigEndian([labelMagic, UInt32(labels.shape[0])])
        for v in labels.ints {
            require((0...255).contains(v), "[idx] label \(v) does not fit in a byte")
            bytes.append(UInt8(v))
        }
        try write(bytes, to: path)
    }

    static func bigEndian(_ words: [UInt32]) -> [UInt8] {
        words.flatMap { w in [UInt8(w >> 24), UInt8(truncatingIfNeeded: w >> 16), UInt8(truncatingIfNeeded: w >> 8), UInt8(truncatingIfNeeded: w)] }
    }

    static func write(_ bytes: [UInt8], to path: String) throws {
        let data = path.hasSuffix(".gz") ? Gzip.compress(bytes) : bytes
        do { try AtomicFile.write(data, to: path) } catch let e as FileError {
            throw DataError(op: "idx", file: path, reason: e.reason)
        }
    }
}
