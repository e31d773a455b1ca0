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
/// ```swift
/// try Safetensors.save(["weight": w, "bias": b], to: "model.safetensors", metadata: ["epoch": "3"])
/// let (tensors, metadata) = try Safetensors.load("model.safetensors")
/// ```
public enum Safetensors {
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

    /// The file's bytes: tensors in name order, header padded with spaces to a multiple of 8.
    public static func encode(_ tensors: [String: Tensor], metadata: [String: String] = [:]) -> [UInt8] {
        let names = tensors.keys.sorted()
        var entries: [String] = []
        if !metadata.isEmpty {
            let fields = metadata.keys.sorted().map { "\(JSONText.quote($0)):\(JSONText.quote(metadata[$0]!))" }
            entries.append("\"__metadata__\":{\(fields.joined(separator: ","))}")
        }
        var offset = 0
        var blobs: [Tensor] = []
        for name in names {
            let t = tensors[name]!.detached().contiguous()
            let bytes = t.count * t.dtype.byteSize
            entries.append("\(JSONText.quote(name)):{\"dtype\":\"\(code(t.dtype))\",\"shape\":\(t.shape),\"data_offsets\":[\(offset),\(offset + bytes)]}")
            offset += bytes
            blobs.append(t)
        }
        var header = Array("{\(entries.joined(separator: ","))}".utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var out: [UInt8] = []
        out.reserveCapacity(8 + header.count + offset)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out.append(contentsOf: $0) }
        out += header
        for t in blobs {
            let raw = UnsafeRawBufferPointer(start: t.storage.data + t.offset * t.dtype.byteSize, count: t.count * t.dtype.byteSize)
            out.append(contentsOf: raw)
        }
        return out
    }

    /// Writes the tensors atomically (temporary file, flush, rename).
    public static func save(_ tensors: [String: Tensor], to path: String, metadata: [String: String] = [:]) throws {
        try AtomicFile.write(path, error: { SafetensorsError(file: path, reason: $0) }) { sink in
            try sink.write(encode(tensors, metadata: metadata))
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

    /// Parses the bytes of a file, checking every length and offset before reading.
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
        return (tensors, metadata)
    }
}
