import Foundation

/// A `.safetensors` file that cannot be read: `[safetensors] model.safetensors: <reason>`.
public struct SafetensorsError: Error, CustomStringConvertible, Equatable, Sendable {
    public let file: String
    public let reason: String
    public var description: String { "[safetensors] \(file): \(reason)" }
}

/// Reading and writing the `safetensors` format (Hugging Face's, used by PyTorch checkpoints):
/// an 8-byte little-endian header length, a JSON header naming each tensor's dtype, shape and
/// byte range, then the raw little-endian data.
///
/// Integrity: the files Myelin writes carry a CRC-32 in the header's `__metadata__`, under
/// `myelin.crc32`, as 8 lowercase hex digits (a string, as the format requires of metadata values,
/// so other readers load the file as before). It covers what the file means, in this order:
/// for each tensor, by name (Swift's `String` order: byte order for ASCII names), the UTF-8 name,
/// a NUL byte, the dtype code (`F32`), a NUL, the shape's sizes in decimal joined by commas (empty
/// for a scalar), a NUL, then the tensor's bytes from the data section; then for each other
/// metadata entry, by key, the key, a NUL, the value, a NUL. For Myelin's files, whose tensors lie
/// in name order without gaps, the tensor bytes are the whole data section. Reading checks it when
/// the key is present (a changed byte in the data, a tensor entry or the metadata throws
/// `... checksum mismatch: stored 1a2b3c4d, computed 5e6f7a8b; the file is corrupt`) and leaves it
/// out of the returned metadata; files without it (PyTorch's, Hugging Face's) load as before.
///
/// ```swift
/// try Safetensors.save(["weight": w, "bias": b], to: "model.safetensors", metadata: ["epoch": "3"])
/// let (tensors, metadata) = try Safetensors.load("model.safetensors")   // metadata == ["epoch": "3"]
/// ```
public enum Safetensors {
    /// The `__metadata__` key of the CRC-32 Myelin writes (see the type's documentation).
    public static let checksumKey = "myelin.crc32"

    static func code(_ dtype: DType) -> String {
        switch dtype {
        case .float32: return "F32"
        case .float64: return "F64"
        case .int32: return "I32"
        case .int64: return "I64"
        case .bool: return "BOOL"
        }
    }

    static func dtype(_ code: String) -> DType? {
        switch code {
        case "F32": return .float32
        case "F64": return .float64
        case "I32": return .int32
        case "I64": return .int64
        case "BOOL": return .bool
        default: return nil
        }
    }

    /// The file's bytes: tensors in name order, header padded with spaces to a multiple of 8, and
    /// with `checksum` (the default) the CRC-32 under `myelin.crc32` in the metadata (replacing any
    /// value `metadata` gives it).
    ///
    /// ```swift
    /// let bytes = Safetensors.encode(["w": Tensor.ones([2, 2])], metadata: ["note": "demo"])
    /// let (tensors, metadata) = try Safetensors.decode(bytes)
    /// ```
    public static func encode(_ tensors: [String: Tensor], metadata: [String: String] = [:], checksum: Bool = true) -> [UInt8] {
        let names = tensors.keys.sorted()
        var blobs: [Tensor] = []
        var tensorEntries: [String] = []
        var offset = 0
        for name in names {
            let t = tensors[name]!.detached().contiguous()
            let bytes = t.count * t.dtype.byteSize
            tensorEntries.append("\(JSONText.quote(name)):{\"dtype\":\"\(code(t.dtype))\",\"shape\":\(t.shape),\"data_offsets\":[\(offset),\(offset + bytes)]}")
            offset += bytes
            blobs.append(t)
        }
        func raw(_ t: Tensor) -> UnsafeRawBufferPointer {
            UnsafeRawBufferPointer(start: t.storage.data + t.offset * t.dtype.byteSize, count: t.count * t.dtype.byteSize)
        }
        var meta = metadata
        meta.removeValue(forKey: checksumKey)
        if checksum {
            let crc = withExtendedLifetime(blobs) {
                Self.checksum(tensors: zip(names, blobs).map { ($0, code($1.dtype), $1.shape, raw($1)) }, metadata: meta)
            }
            meta[checksumKey] = CRC32.hex(crc)
        }
        var entries: [String] = []
        if !meta.isEmpty {
            let fields = meta.keys.sorted().map { "\(JSONText.quote($0)):\(JSONText.quote(meta[$0]!))" }
            entries.append("\"__metadata__\":{\(fields.joined(separator: ","))}")
        }
        entries += tensorEntries
        var header = Array("{\(entries.joined(separator: ","))}".utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var out: [UInt8] = []
        out.reserveCapacity(8 + header.count + offset)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out.append(contentsOf: $0) }
        out += header
        for t in blobs { out.append(contentsOf: raw(t)) }
        return out
    }

    /// The CRC-32 of the tensors (name, dtype code, shape, bytes, in the order given: by name) and
    /// of the metadata entries by key (the checksum's own entry excluded by the caller).
    static func checksum(tensors: [(name: String, code: String, shape: [Int], bytes: UnsafeRawBufferPointer)],
                         metadata: [String: String]) -> UInt32 {
        var crc = CRC32()
        for t in tensors {
            crc.update("\(t.name)\0\(t.code)\0\(t.shape.map(String.init).joined(separator: ","))\0")
            crc.update(t.bytes)
        }
        for key in metadata.keys.sorted() { crc.update("\(key)\0\(metadata[key]!)\0") }
        return crc.value
    }

    /// Writes the tensors atomically (temporary file, flush, rename), with the CRC-32 in the
    /// metadata unless `checksum` is false (see `encode`).
    ///
    /// ```swift
    /// try Safetensors.save(["w": w], to: "run/w.safetensors", metadata: ["epoch": "3"])
    /// ```
    public static func save(_ tensors: [String: Tensor], to path: String, metadata: [String: String] = [:],
                            checksum: Bool = true) throws {
        try AtomicFile.write(path, error: { SafetensorsError(file: path, reason: $0) }) { sink in
            try sink.write(encode(tensors, metadata: metadata, checksum: checksum))
        }
    }

    /// Reads every tensor and the metadata of a file; anything malformed throws `SafetensorsError`.
    public static func load(_ path: String) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        let bytes: [UInt8]
        do { bytes = try AtomicFile.read(path) } catch let e as FileError {
            throw SafetensorsError(file: path, reason: e.reason)
        }
        return try decode(bytes, file: path)
    }

    /// Parses the bytes of a file, checking every length and offset before reading, and the CRC-32
    /// under `myelin.crc32` when the metadata has one (which is left out of the returned metadata).
    ///
    /// ```swift
    /// let (tensors, metadata) = try Safetensors.decode(try AtomicFile.read("model.safetensors"), file: "model.safetensors")
    /// ```
    public static func decode(_ bytes: [UInt8], file: String = "<data>") throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        func fail(_ reason: String) -> SafetensorsError { SafetensorsError(file: file, reason: reason) }
        guard bytes.count >= 8 else { throw fail("file has \(bytes.count) bytes, fewer than the 8-byte header length") }
        var n: UInt64 = 0
        for i in 0..<8 { n |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard n <= UInt64(bytes.count - 8) else {
            throw fail("header length \(n) exceeds the \(bytes.count - 8) bytes after it (truncated or not safetensors)")
        }
        let headerEnd = 8 + Int(n)
        guard let json = try? JSONSerialization.jsonObject(with: Data(bytes[8..<headerEnd])),
              let header = json as? [String: Any] else {
            throw fail("the header is not a JSON object")
        }
        let dataStart = headerEnd, dataLength = bytes.count - headerEnd
        var metadata: [String: String] = [:]
        var tensors: [String: Tensor] = [:]
        var ranges: [(Int, Int, String)] = []
        var described: [(name: String, code: String, shape: [Int], start: Int, end: Int)] = []
        for (name, value) in header {
            if name == "__metadata__" {
                guard let m = value as? [String: Any] else { throw fail("__metadata__ is not an object") }
                for (k, v) in m {
                    guard let s = v as? String else { throw fail("metadata value for \(k) is not a string") }
                    metadata[k] = s
                }
                continue
            }
            guard let entry = value as? [String: Any],
                  let code = entry["dtype"] as? String,
                  let shapeAny = entry["shape"] as? [Any],
                  let offsetsAny = entry["data_offsets"] as? [Any], offsetsAny.count == 2 else {
                throw fail("entry \(name) lacks dtype, shape or data_offsets")
            }
            guard let dtype = Safetensors.dtype(code) else {
                throw fail("tensor \(name) has dtype \(code); Myelin reads F32, F64, I32, I64 and BOOL")
            }
            let shape = try shapeAny.map { d -> Int in
                guard let v = (d as? NSNumber)?.intValue, v >= 0, v < 1 << 40 else { throw fail("tensor \(name) has a bad shape \(shapeAny)") }
                return v
            }
            let offsets = try offsetsAny.map { d -> Int in
                guard let v = (d as? NSNumber)?.intValue, v >= 0 else { throw fail("tensor \(name) has bad data_offsets \(offsetsAny)") }
                return v
            }
            var count = 1
            for d in shape {
                let (r, overflow) = count.multipliedReportingOverflow(by: d)
                if overflow || r > 1 << 40 { throw fail("tensor \(name) has a shape \(shape) too large to be real") }
                count = r
            }
            let expected = count * dtype.byteSize
            guard offsets[1] >= offsets[0], offsets[1] - offsets[0] == expected else {
                throw fail("tensor \(name) of shape \(shape) and dtype \(code) needs \(expected) bytes, data_offsets give \(offsets[1] - offsets[0])")
            }
            guard offsets[1] <= dataLength else {
                throw fail("tensor \(name) ends at byte \(offsets[1]) of a data section of \(dataLength) bytes (truncated)")
            }
            if expected > 0 { ranges.append((offsets[0], offsets[1], name)) }
            described.append((name, code, shape, offsets[0], offsets[1]))
            let t = Tensor(uninitializedShape: shape, dtype: dtype)
            bytes.withUnsafeBytes { raw in
                let src = raw.baseAddress! + dataStart + offsets[0]
                if dtype == .bool {
                    // Any non-zero byte is true; Swift's Bool must hold exactly 0 or 1.
                    let dst = t.storage.pointer(as: Bool.self)
                    for i in 0..<count { dst[i] = src.load(fromByteOffset: i, as: UInt8.self) != 0 }
                } else {
                    t.storage.data.copyMemory(from: src, byteCount: expected)
                }
            }
            tensors[name] = t
        }
        ranges.sort { $0.0 < $1.0 }
        for (a, b) in zip(ranges, ranges.dropFirst()) where b.0 < a.1 {
            throw fail("tensors \(a.2) and \(b.2) overlap in the data section")
        }
        if let stored = metadata.removeValue(forKey: checksumKey) {
            described.sort { $0.name < $1.name }
            let computed = bytes.withUnsafeBytes { raw in
                checksum(tensors: described.map {
                    ($0.name, $0.code, $0.shape, UnsafeRawBufferPointer(rebasing: raw[(dataStart + $0.start)..<(dataStart + $0.end)]))
                }, metadata: metadata)
            }
            guard stored.utf8.count == 8, stored.allSatisfy(\.isHexDigit), let value = UInt32(stored, radix: 16) else {
                throw fail("checksum \(checksumKey) is \"\(stored)\", not 8 hex digits (computed \(CRC32.hex(computed))); the file is corrupt")
            }
            guard value == computed else {
                throw fail("checksum mismatch: stored \(stored), computed \(CRC32.hex(computed)); the file is corrupt")
            }
        }
        return (tensors, metadata)
    }
}
