import Foundation
import Testing
@testable import MyelinNN
import MyelinCore

/// The CRC-32 Myelin puts in the safetensors files it writes (`myelin.crc32` in `__metadata__`):
/// corrupt files are rejected, files without it load as before, and the file stays plain
/// safetensors.
@Suite struct SafetensorsChecksumTests {
    static func temporaryFolder() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("myelin-crc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }

    static func headerLength(_ bytes: [UInt8]) -> Int {
        var n: UInt64 = 0
        for i in 0..<8 { n |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        return Int(n)
    }

    /// 50 single-bit flips at random places in the data section of a saved model: 50 rejections,
    /// each naming the file, both checksums and "corrupt", and none changes the model.
    @Test func aFlippedBitInTheDataIsRejected() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/model.safetensors"
        let model = SafetensorsTests.model(seed: 3)
        try model.save(to: path, metadata: ["epoch": "3"])
        let good = try AtomicFile.read(path)
        let dataStart = 8 + Self.headerLength(good)
        let dataBytes = model.stateDict().values.reduce(0) { $0 + $1.count * $1.dtype.byteSize }
        #expect(good.count - dataStart == dataBytes && dataBytes == 99 * 4 + 8, "the data section holds every tensor")

        let fresh = SafetensorsTests.model(seed: 4)
        try fresh.load(from: path)
        #expect(fresh.stateDict().mapValues(\.doubles) == model.stateDict().mapValues(\.doubles), "the good file loads")

        let before = fresh.stateDict().mapValues(\.doubles)
        var rng = SplitMix64(seed: 7)
        var rejections = 0
        var flipped = Set<Int>()
        while flipped.count < 50 {
            let at = dataStart + Int(rng.next() % UInt64(good.count - dataStart))
            guard flipped.insert(at).inserted else { continue }
            var bad = good
            bad[at] ^= UInt8(1) << UInt8(rng.next() % 8)
            try AtomicFile.write(bad, to: path)
            do {
                try fresh.load(from: path)
                Issue.record("a bit flipped at byte \(at) loaded")
            } catch let e as SafetensorsError {
                let text = e.description
                if text.hasPrefix("[safetensors] \(path): checksum mismatch: stored ") && text.hasSuffix("; the file is corrupt")
                    && text.contains(", computed ") {
                    rejections += 1
                } else {
                    Issue.record("byte \(at): \(text)")
                }
            }
        }
        #expect(rejections == 50)
        #expect(fresh.stateDict().mapValues(\.doubles) == before, "no rejected file changed the model")
    }

    /// The checksum covers the tensor entries and the metadata too: a changed name, shape or
    /// metadata value that still parses is caught.
    @Test func theHeaderIsCoveredToo() throws {
        let bytes = Safetensors.encode(["ab": Tensor.ones([2, 3]), "ac": Tensor.ones([3, 2])], metadata: ["epoch": "3"])
        /// The file with the one occurrence of `from` (in the header) replaced by `to`, bytewise.
        func edited(_ from: String, _ to: String) -> [UInt8] {
            let a = Array(from.utf8), b = Array(to.utf8)
            precondition(a.count == b.count)
            let hits = (0...(bytes.count - a.count)).filter { Array(bytes[$0..<($0 + a.count)]) == a }
            precondition(hits.count == 1, "\(from) occurs \(hits.count) times")
            var out = bytes
            out.replaceSubrange(hits[0]..<(hits[0] + a.count), with: b)
            return out
        }
        for (from, to) in [("\"epoch\":\"3\"", "\"epoch\":\"4\""), ("[2, 3]", "[3, 2]"), ("\"ab\"", "\"ad\"")] {
            #expect(throws: SafetensorsError.self, "\(from) -> \(to)") { try Safetensors.decode(edited(from, to)) }
            do {
                _ = try Safetensors.decode(edited(from, to))
            } catch let e as SafetensorsError {
                #expect(e.reason.hasPrefix("checksum mismatch: stored "), "\(from) -> \(to): \(e)")
            }
        }
        let n = Self.headerLength(bytes)
        let header = String(decoding: bytes[8..<(8 + n)], as: UTF8.self)
        let stored = try #require(header.range(of: "\"myelin.crc32\":\"")).upperBound
        let value = String(header[stored..<header.index(stored, offsetBy: 8)])
        #expect { try Safetensors.decode(edited("\"myelin.crc32\":\"\(value)\"", "\"myelin.crc32\":\"xyz12345\"")) } throws: {
            ($0 as! SafetensorsError).reason.hasPrefix("checksum myelin.crc32 is \"xyz12345\", not 8 hex digits")
        }
    }

    /// Files without the key (PyTorch's, Hugging Face's, or Myelin's with `checksum: false`) load
    /// as before; the key is not among the metadata returned, and a value the caller passes for it
    /// is replaced.
    @Test func filesWithoutAChecksumLoad() throws {
        let tensors = ["w": Tensor([[1.5, -2.0]]), "b": Tensor([3.0])]
        let plain = Safetensors.encode(tensors, metadata: ["format": "pt"], checksum: false)
        #expect(!String(decoding: plain, as: UTF8.self).contains("myelin.crc32"))
        let (back, meta) = try Safetensors.decode(plain)
        #expect(meta == ["format": "pt"] && back["w"]!.doubles == [1.5, -2.0])
        var flipped = plain
        flipped[flipped.count - 1] ^= 0x01
        #expect(try Safetensors.decode(flipped).tensors["w"]!.doubles != [1.5, -2.0], "without a checksum a flip goes unseen")

        let checked = Safetensors.encode(tensors, metadata: ["format": "pt", "myelin.crc32": "00000000"])
        #expect(try Safetensors.decode(checked).metadata == ["format": "pt"])
        // A PyTorch-written file (no metadata at all) still loads.
        let m = SafetensorsTests.model()
        try m.load(from: Fixtures.directory.appendingPathComponent("torch_model.safetensors").path)
        // Checkpoints keep their own CRC and do not add this one.
        let ckpt = Checkpoint.capture(model: m, optimizer: SGD(parameters: m.parameters(), lr: 0.1))
        let header = String(decoding: ckpt.encoded(), as: UTF8.self)
        #expect(header.contains("myelin.checkpoint.crc32") && !header.contains("\"myelin.crc32\""))
    }

    /// What we write is plain safetensors: the header length, a space-padded JSON header whose
    /// metadata values are all strings, contiguous data offsets in name order; and the stored CRC
    /// is the one the documentation describes, recomputed here from the raw file.
    @Test func theFileIsPlainSafetensorsAndTheChecksumIsAsDocumented() throws {
        let tensors: [String: Tensor] = [
            "f32": Tensor([[1.5, -2.0]]), "f64": Tensor([3.25], dtype: .float64), "i64": Tensor(scalars: [Int64.max, Int64.min]),
            "bool": Tensor([true, false, true]), "scalar": Tensor(scalar: 2.0), "empty": Tensor.zeros([0, 4]),
        ]
        let bytes = Safetensors.encode(tensors, metadata: ["epoch": "3", "note": "a \"quoted\" value"])
        let n = Self.headerLength(bytes)
        #expect(n % 8 == 0 && 8 + n <= bytes.count)
        let header = try #require(try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + n)])) as? [String: Any])
        let meta = try #require(header["__metadata__"] as? [String: String], "metadata values are strings")
        #expect(Set(meta.keys) == ["epoch", "note", "myelin.crc32"])
        let stored = meta["myelin.crc32"]!
        #expect(stored.count == 8 && stored.allSatisfy { "0123456789abcdef".contains($0) })

        let dataStart = 8 + n
        var crc = CRC32()
        var expectedOffset = 0
        for name in tensors.keys.sorted() {
            let entry = try #require(header[name] as? [String: Any])
            let code = try #require(entry["dtype"] as? String)
            let shape = try #require(entry["shape"] as? [Int])
            let offsets = try #require(entry["data_offsets"] as? [Int])
            #expect(shape == tensors[name]!.shape && offsets[0] == expectedOffset, "\(name)")
            expectedOffset = offsets[1]
            crc.update("\(name)\0\(code)\0\(shape.map(String.init).joined(separator: ","))\0")
            crc.update(Array(bytes[(dataStart + offsets[0])..<(dataStart + offsets[1])]))
        }
        #expect(dataStart + expectedOffset == bytes.count, "the data section is exactly the tensors")
        for key in ["epoch", "note"] { crc.update("\(key)\0\(meta[key]!)\0") }
        #expect(crc.hex == stored)
        #expect(header.count == tensors.count + 1)
    }
}
