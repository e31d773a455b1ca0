import Foundation
import Testing
import MyelinCore
@testable import MyelinData

@Suite struct SHA256Tests {
    @Test func knownVectors() {
        #expect(SHA256.hex(of: []) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(of: Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex(of: Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256.hex(of: [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func paddingBoundariesAndStreaming() {
        // hashlib.sha256(bytes(i % 251 for i in range(n))).hexdigest()
        let expected: [Int: String] = [
            55: "463eb28e72f82e0a96c0a4cc53690c571281131f672aa229e0d45ae59b598b59",
            56: "da2ae4d6b36748f2a318f23e7ab1dfdf45acdc9d049bd80e59de82a60895f562",
            63: "29af2686fd53374a36b0846694cc342177e428d1647515f078784d69cdb9e488",
            64: "fdeab9acf3710362bd2658cdc9a29e8f9c757fcf9811603a8c447cd1d9151108",
            65: "4bfd2c8b6f1eec7a2afeb48b934ee4b2694182027e6d0fc075074f2fabb31781",
            119: "da18797ed7c3a777f0847f429724a2d8cd5138e6ed2895c3fa1a6d39d18f7ec6",
            1000: "4e4c294b331f7a2099a379bec34b9f9fc03dc46ab465d998f4d683da53487e6d",
        ]
        for (n, hex) in expected {
            let bytes = (0..<n).map { UInt8($0 % 251) }
            #expect(SHA256.hex(of: bytes) == hex, "length \(n)")
            var h = SHA256()
            var i = 0
            var step = 1
            while i < n {
                h.update(Array(bytes[i..<min(n, i + step)]))
                i += step
                step = step * 2 + 1
            }
            #expect(h.finalizeHex() == hex, "streamed length \(n)")
        }
    }
}

@Suite struct GzipTests {
    @Test func roundTripAndMultiMember() throws {
        let data: [UInt8] = (0..<100_000).map { (i: Int) -> UInt8 in UInt8(truncatingIfNeeded: i * 7 + i / 300) }
        let gz = Gzip.compress(data)
        #expect(Gzip.isGzip(gz))
        #expect(try Gzip.decompress(gz) == data)
        #expect(try Gzip.decompress(Gzip.compress([])) == [])
        let two = Gzip.compress(Array("hello ".utf8)) + Gzip.compress(Array("world".utf8))
        #expect(try Gzip.decompress(two) == Array("hello world".utf8))
    }

    @Test func badInputThrows() {
        let gz = Gzip.compress((0..<5000).map { (i: Int) -> UInt8 in UInt8(i % 13) })
        #expect(thrownMessage { try Gzip.decompress(Array(gz.prefix(gz.count / 2))) }?.hasPrefix("[gzip] data is truncated") == true)
        var corrupt = gz
        for i in 12..<40 { corrupt[i] ^= 0x5a }
        #expect(thrownMessage { try Gzip.decompress(corrupt) }?.hasPrefix("[gzip] corrupt data") == true)
        #expect(thrownMessage { try Gzip.decompress([1, 2, 3]) } == "[gzip] not gzip data (no 1f 8b magic)")
        #expect(thrownMessage { try Gzip.decompress([]) } == "[gzip] data has 0 bytes, too short for gzip")
        #expect(thrownMessage { try Gzip.decompress(gz + [7, 7]) }?.hasPrefix("[gzip] unexpected bytes after") == true)
    }
}

@Suite struct IDXTests {
    let images = Tensor(shape: [3, 2, 2], scalars: [Float](arrayLiteral: 0, 1, 0.5, 0.25, 1, 1, 0, 0, 0.2, 0.4, 0.6, 0.8))
    let labels = Tensor([3, 0, 9])

    @Test func writeAndReadRawAndGzipped() throws {
        let dir = makeTempDir("idx")
        for suffix in ["", ".gz"] {
            try IDX.writeImages(images, to: "\(dir)/img\(suffix)")
            try IDX.writeLabels(labels, to: "\(dir)/lab\(suffix)")
            let x = try IDX.readImages(at: "\(dir)/img\(suffix)")
            #expect(x.shape == [3, 1, 2, 2] && x.dtype == .float32)
            let expected = images.floats.map { ($0 * 255).rounded() / 255 }
            #expect(x.floats == expected)
            let y = try IDX.readLabels(at: "\(dir)/lab\(suffix)")
            #expect(y.dtype == .int64 && y.ints == [3, 0, 9])
        }
        // Gzip is detected from the bytes, not the name.
        let raw = try AtomicFile.read("\(dir)/img.gz")
        writeBytes(raw, "\(dir)/gzipped-without-suffix")
        #expect(try IDX.readImages(at: "\(dir)/gzipped-without-suffix").shape == [3, 1, 2, 2])
        // The raw header is exactly the documented one.
        let plain = try AtomicFile.read("\(dir)/img")
        #expect(Array(plain.prefix(16)) == [0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2])
        #expect(plain.count == 16 + 12)
    }

    @Test func badFilesThrowOneLineErrors() throws {
        let dir = makeTempDir("idx-bad")
        #expect(thrownMessage { try IDX.readImages(at: "\(dir)/nope.gz") }?.hasPrefix("[idx] \(dir)/nope.gz: cannot open for reading") == true)
        writeBytes(Gzip.compress([UInt8](repeating: 0, count: 40)), "\(dir)/train-images.gz")
        #expect(thrownMessage { try IDX.readImages(at: "\(dir)/train-images.gz") }
                == "[idx] \(dir)/train-images.gz: bad magic 0x00000000, expected 0x00000803")
        try IDX.writeLabels(labels, to: "\(dir)/labels")
        #expect(thrownMessage { try IDX.readImages(at: "\(dir)/labels") }
                == "[idx] \(dir)/labels: bad magic 0x00000801, expected 0x00000803")
        // Wrong count: header says 3 images of 2x2, data has 2.
        try IDX.writeImages(images, to: "\(dir)/img")
        let full = try AtomicFile.read("\(dir)/img")
        writeBytes(Array(full.dropLast(4)), "\(dir)/short")
        #expect(thrownMessage { try IDX.readImages(at: "\(dir)/short") }
                == "[idx] \(dir)/short: size is 24 bytes, expected 28 for dimensions 3x2x2")
        writeBytes(full + [1], "\(dir)/long")
        #expect(thrownMessage { try IDX.readImages(at: "\(dir)/long") }?.contains("size is 29 bytes, expected 28") == true)
        writeBytes(Array(full.prefix(10)), "\(dir)/header")
        #expect(thrownMessage { try IDX.readImages(at: "\(dir)/header") }
                == "[idx] \(dir)/header: file has 10 bytes, too short for the 16-byte header")
        writeBytes([0, 0], "\(dir)/tiny")
        #expect(thrownMessage { try IDX.readLabels(at: "\(dir)/tiny") } == "[idx] \(dir)/tiny: file has 2 bytes, too short for an IDX header")
        // Corrupt and truncated gzip.
        let gz = Gzip.compress(full)
        writeBytes(Array(gz.prefix(gz.count - 10)), "\(dir)/trunc.gz")
        #expect(thrownMessage { try IDX.readImages(at: "\(dir)/trunc.gz") }?.hasPrefix("[idx] \(dir)/trunc.gz: data is truncated") == true)
        var bad = gz
        for i in 10..<bad.count - 8 { bad[i] = 0xff }
        writeBytes(bad, "\(dir)/corrupt.gz")
        #expect(thrownMessage { try IDX.readImages(at: "\(dir)/corrupt.gz") }?.hasPrefix("[idx] \(dir)/corrupt.gz: corrupt data") == true)
        // Huge dimensions do not allocate or crash.
        writeBytes([0, 0, 8, 3, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255], "\(dir)/huge")
        #expect(thrownMessage { try IDX.readImages(at: "\(dir)/huge") }?.hasPrefix("[idx] \(dir)/huge: ") == true)
    }
}

@Suite struct NPZDatasetTests {
    @Test func readsNamedArrays() throws {
        let dir = makeTempDir("npz")
        try Tensor.saveNPZ(["x": Tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), "y": Tensor([0, 1, 0])], to: "\(dir)/d.npz")
        let d = try NPZDataset(path: "\(dir)/d.npz")
        #expect(d.count == 3 && d.batch(at: [2, 0]).targets.ints == [0, 0] && d.batch(at: [2]).inputs.floats == [5, 6])
        #expect(thrownMessage { try NPZDataset(path: "\(dir)/d.npz", inputs: "images") } == "[npz] \(dir)/d.npz: no array 'images' (arrays: x, y)")
        try Tensor.saveNPZ(["x": Tensor([[1.0], [2.0]]), "y": Tensor([0, 1, 0])], to: "\(dir)/bad.npz")
        #expect(thrownMessage { try NPZDataset(path: "\(dir)/bad.npz") }?.contains("differ in their first dimension") == true)
        writeText("not a zip", "\(dir)/junk.npz")
        #expect(thrownMessage { try NPZDataset(path: "\(dir)/junk.npz") }?.hasPrefix("[npz] \(dir)/junk.npz: ") == true)
        #expect(thrownMessage { try NPZDataset(path: "\(dir)/missing.npz") }?.hasPrefix("[npz] \(dir)/missing.npz: ") == true)
    }
}
