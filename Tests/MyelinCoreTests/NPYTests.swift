import Foundation
import Testing
@testable import MyelinCore
import MyelinTestSupport

// Fixtures come from Fixtures/generators/gen_npy.py (NumPy 2.x); expected values are in npy/expected.json.

private let cases = Fixtures.load("npy/expected")
private func fixturePath(_ c: FixtureCase) -> String {
    Fixtures.directory.appendingPathComponent(c.string("file") ?? "missing").path
}

/// The raw bytes of a tensor's values in row-major order, for bit-exact comparisons (NaN payloads, -0.0).
private func rawBytes(_ t: Tensor) -> [UInt8] {
    let c = t.contiguous()
    let n = c.count * c.dtype.byteSize
    return Array(UnsafeRawBufferPointer(start: c.storage.data + c.offset * c.dtype.byteSize, count: n))
}

/// The NPYError case name, to compare with the generator's `params.error`.
private func kind(_ error: Error) -> String {
    guard let e = error as? NPYError else { return "not an NPYError: \(error)" }
    switch e {
    case .notNPY: return "notNPY"
    case .unsupportedVersion: return "unsupportedVersion"
    case .badHeader: return "badHeader"
    case .unsupportedDType: return "unsupportedDType"
    case .truncated: return "truncated"
    case .badZip: return "badZip"
    case .io: return "io"
    }
}

/// A fresh empty folder under the system temporary directory.
private func scratchDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("myelin-npy-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// One tensor of each dtype with awkward values: extremes, NaN, -0.0, subnormals.
private let samples: [String: Tensor] = [
    "f4": Tensor(shape: [2, 3], scalars: [Float.nan, -0.0, .infinity, -.greatestFiniteMagnitude, .leastNonzeroMagnitude, 1.5]),
    "f8": Tensor(shape: [3, 1], scalars: [Double.pi, -.leastNonzeroMagnitude, -.infinity]),
    "i4": Tensor(shape: [4], scalars: [Int32.min, Int32.max, 0, -1]),
    "i8": Tensor(shape: [2, 2], scalars: [Int64.min, Int64.max, 1 << 53 + 1, -7]),
    "b1": Tensor(shape: [2, 2], scalars: [true, false, false, true]),
    "scalar": Tensor(scalar: Int64(-12)),
    "scalar_f8": Tensor(scalar: 0.1, dtype: .float64),
    "empty": Tensor.zeros([0, 3], dtype: .float32),
    "empty_b1": Tensor.zeros([2, 0, 4], dtype: .bool),
    "rank4": Tensor.arange(0, 120, dtype: .float64).reshape(2, 3, 4, 5),
]

private func expectSame(_ a: Tensor, _ b: Tensor, _ context: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(a.dtype == b.dtype, "\(context): dtype \(a.dtype) != \(b.dtype)", sourceLocation: sourceLocation)
    #expect(a.shape == b.shape, "\(context): shape \(a.shape) != \(b.shape)", sourceLocation: sourceLocation)
    #expect(rawBytes(a) == rawBytes(b), "\(context): values differ", sourceLocation: sourceLocation)
}

@Suite struct NPYTests {
    // MARK: Reading NumPy's files

    @Test(arguments: cases.filter { $0.op == "npy" })
    func readsNumPyFile(_ c: FixtureCase) throws {
        let path = fixturePath(c)
        let t = try Tensor(npyFile: path)
        expectClose(t, c.expected[0].tensor, rtol: 0, atol: 0, c.name)
        #expect(t.isContiguous)
        // The in-memory decoder gives the same tensor as the file reader.
        let fromBytes = try Tensor(npyData: Array(try Data(contentsOf: URL(fileURLWithPath: path))), name: c.name)
        expectSame(fromBytes, t, c.name)
    }

    @Test func readsNPZArchives() throws {
        for file in ["stored.npz", "compressed.npz"] {
            let arrays = try Tensor.loadNPZ(Fixtures.directory.appendingPathComponent("npy/\(file)").path)
            #expect(arrays.keys.sorted() == ["a", "b", "c", "d"], "\(file)")
            for c in cases where c.op == "npz" && c.string("file") == "npy/\(file)" {
                let key = c.string("key") ?? ""
                guard let t = arrays[key] else { Issue.record("\(file): no key \(key)"); continue }
                expectClose(t, c.expected[0].tensor, rtol: 0, atol: 0, c.name)
            }
        }
    }

    @Test(arguments: cases.filter { $0.op == "error" })
    func malformedFileThrows(_ c: FixtureCase) {
        let path = fixturePath(c)
        let load: () throws -> Void = path.hasSuffix(".npz") ? { _ = try Tensor.loadNPZ(path) } : { _ = try Tensor(npyFile: path) }
        do {
            try load()
            Issue.record("\(c.name): loaded without an error")
        } catch {
            #expect(kind(error) == c.string("error"), "\(c.name): \(error)")
            let text = String(describing: error)
            #expect(text.hasPrefix("[npy] ") || text.hasPrefix("[npz] "), "\(text)")
            #expect(text.contains(c.name) && !text.contains("\n"), "\(text)")
        }
    }

    /// Myelin writes the same bytes as `np.save` for C-order little-endian arrays.
    @Test func writesTheBytesNumPyWrites() throws {
        for name in ["f4", "f8", "i4", "i8", "b1", "scalar", "empty", "empty_i8", "one"] {
            let path = Fixtures.directory.appendingPathComponent("npy/\(name).npy").path
            let numpyBytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
            let t = try Tensor(npyFile: path)
            #expect(t.npyData() == numpyBytes, "\(name)")
        }
    }

    // MARK: Round trips

    @Test func roundTripsEveryDTypeInMemoryAndOnDisk() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for (name, t) in samples {
            let bytes = t.npyData()
            #expect(bytes.count >= 64 && (bytes.count - t.count * t.dtype.byteSize) % 64 == 0, "\(name): data not 64-aligned")
            let headerEnd = 10 + (Int(bytes[8]) | Int(bytes[9]) << 8)
            #expect(bytes[6] == 1 && bytes[headerEnd - 1] == 0x0A, "\(name): version 1.0 header must end in a newline")
            expectSame(try Tensor(npyData: bytes), t, "\(name) in memory")
            let path = dir.appendingPathComponent("\(name).npy").path
            try t.writeNPY(to: path)
            expectSame(try Tensor(npyFile: path), t, "\(name) on disk")
        }
        // Only the final files remain: no temporary files left behind.
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        #expect(left == samples.keys.map { "\($0).npy" }.sorted())
    }

    @Test func writesNonContiguousTensorsInLogicalOrder() throws {
        let base = Tensor.arange(0, 24, dtype: .float32).reshape(2, 3, 4)
        let views: [String: Tensor] = [
            "transposed": base.transposed(),
            "permuted": base.permute(2, 0, 1),
            "stepped": base[.all, .slice(nil, nil, step: 2)],
            "reversed": base[.slice(nil, nil, step: -1)],
            "broadcast": Tensor([1, 2, 3]).expand([4, 3]),
            "offset": base[1],
        ]
        for (name, v) in views {
            let back = try Tensor(npyData: v.npyData())
            #expect(back.shape == v.shape, "\(name)")
            #expect(back.doubles == v.doubles, "\(name)")
            expectSame(back, v.contiguousCopy(), name)
        }
    }

    @Test func fortranOrderIsReadAsRowMajor() throws {
        // A Fortran file holds the transpose's C order; build one by hand for a 3-d int32 array.
        let t = Tensor.arange(0, 24, dtype: .int32).reshape(2, 3, 4)
        let bytes = Self.npy(header: "{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3, 4), }", data: 0)
            + rawBytes(t.permute(2, 1, 0))
        expectSame(try Tensor(npyData: bytes), t, "fortran")
    }

    @Test func roundTripsNPZ() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var arrays = samples
        arrays["π weights/layer.0"] = Tensor([[1.0, 2.0]]).transposed()   // UTF-8 name, '/' in a key, a view
        for compressed in [false, true] {
            let path = dir.appendingPathComponent(compressed ? "c.npz" : "s.npz").path
            try Tensor.saveNPZ(arrays, to: path, compressed: compressed)
            let back = try Tensor.loadNPZ(path)
            #expect(back.keys.sorted() == arrays.keys.sorted())
            for (k, v) in arrays { if let b = back[k] { expectSame(b, v.contiguousCopy(), "\(k) compressed=\(compressed)") } }
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
            let entries = try bytes.withUnsafeBytes { try ZipArchive.entries(in: $0, file: path) }
            #expect(entries.allSatisfy { $0.method == (compressed ? 8 : 0) && $0.name.hasSuffix(".npy") })
        }
        // Deflate must actually shrink redundant data.
        let zeros = ["z": Tensor.zeros([64, 64])]
        #expect(try Tensor.npzData(zeros, compressed: true).count * 20 < Tensor.npzData(zeros).count)
        // Zip64 records and extra fields, as written for arrays over 4 GiB, read back too.
        for compressed in [false, true] {
            let data = try Tensor.npzData(arrays, compressed: compressed, forceZip64: true)
            let back = try Tensor.loadNPZ(data: data)
            for (k, v) in arrays { if let b = back[k] { expectSame(b, v.contiguousCopy(), "zip64 \(k)") } }
        }
        #expect(try Tensor.loadNPZ(data: Tensor.npzData([:])).isEmpty)
    }

    // MARK: Malformed input

    @Test func errorsNameTheFileAndTheNumbers() throws {
        let t = Tensor(shape: [2, 3], scalars: [Float](repeating: 1, count: 6))
        let bytes = t.npyData()
        #expect(throws: NPYError.truncated(file: "x.npy", elements: 6, expected: 24, got: 19)) {
            try Tensor(npyData: Array(bytes.dropLast(5)), name: "x.npy")
        }
        let message = String(describing: NPYError.truncated(file: "data.npy", elements: 24, expected: 96, got: 40))
        #expect(message == "[npy] data.npy: truncated: header says 24 elements (96 bytes), file has 40 bytes of data")
        #expect(throws: NPYError.notNPY(file: "<data>", found: [1, 2])) { try Tensor(npyData: [1, 2]) }
        #expect(throws: NPYError.unsupportedDType(file: "<data>", descr: "<c8")) {
            try Tensor(npyData: Self.npy(header: "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", data: 8))
        }
        let missing = Fixtures.directory.appendingPathComponent("npy/does-not-exist.npz").path
        do {
            _ = try Tensor.loadNPZ(missing)
            Issue.record("loaded a missing file")
        } catch {
            #expect(kind(error) == "io" && "\(error)".hasPrefix("[npz] \(missing): cannot open"), "\(error)")
        }
    }

    /// An NPY file with a hand-written header and `data` zero bytes after it.
    private static func npy(header: String, data: Int) -> [UInt8] {
        var out = NPY.magic + [1, 0]
        out.appendLittleEndian(UInt16(header.utf8.count + 1))
        return out + Array(header.utf8) + [0x0A] + [UInt8](repeating: 0, count: data)
    }

    @Test func hostileHeadersThrowWithoutCrashing() {
        let headers: [(String, String)] = [
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (9999999999, 9999999999, 9999999999), }", "badHeader"),
            ("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,), }", "truncated"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", "badHeader"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,), }", "badHeader"),
            ("{'descr': '<f4', 'fortran_order': 0, 'shape': (1,), }", "badHeader"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': 3, }", "badHeader"),
            ("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", "unsupportedDType"),
            ("{'descr': '<U3', 'fortran_order': False, 'shape': (1,), }", "unsupportedDType"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}", "badHeader"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", "badHeader"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), } trailing", "badHeader"),
            ("{'descr: '<f4'}", "badHeader"),
            (String(repeating: "(", count: 10_000), "badHeader"),
            ("", "badHeader"),
        ]
        for (header, expected) in headers {
            do {
                _ = try Tensor(npyData: Self.npy(header: header, data: 4))
                Issue.record("accepted header \(header.prefix(80))")
            } catch {
                #expect(kind(error) == expected, "\(header.prefix(80)): \(error)")
            }
        }
        // Bool bytes other than 0 and 1 read as true, as in NumPy.
        var bools = Self.npy(header: "{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", data: 0)
        bools += [0, 2, 255]
        #expect((try? Tensor(npyData: bools))?.bools == [false, true, true])
    }

    /// Every truncation and every single-byte corruption either loads or throws an NPYError; none crashes.
    @Test func corruptedBytesNeverCrash() throws {
        let npy = samples["f4"]!.npyData()
        let npz = try Tensor.npzData(["a": samples["i8"]!, "b": samples["b1"]!], compressed: true)
        let npz64 = try Tensor.npzData(["a": samples["f8"]!], forceZip64: true)
        for n in 0..<npy.count {
            #expect(throws: NPYError.self) { try Tensor(npyData: Array(npy.prefix(n))) }
        }
        for archive in [npz, npz64] {
            for n in 0..<archive.count {
                #expect(throws: NPYError.self) { try Tensor.loadNPZ(data: Array(archive.prefix(n))) }
            }
        }
        for bytes in [npy, npz, npz64] {
            for i in 0..<bytes.count {
                for flip: UInt8 in [0x01, 0x80, 0xFF] {
                    var bad = bytes
                    bad[i] ^= flip
                    do {
                        if bytes == npy { _ = try Tensor(npyData: bad) } else { _ = try Tensor.loadNPZ(data: bad) }
                    } catch {
                        #expect(error is NPYError, "\(error)")
                    }
                }
            }
        }
    }

    @Test func writeFailuresLeaveNoTemporaryFile() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let t = Tensor([1, 2, 3])
        #expect(throws: NPYError.self) { try t.writeNPY(to: dir.appendingPathComponent("missing/x.npy").path) }
        // Renaming over a non-empty directory fails after the data was written; the temp file goes away.
        let blocker = dir.appendingPathComponent("blocked.npz")
        try FileManager.default.createDirectory(at: blocker.appendingPathComponent("inside"), withIntermediateDirectories: true)
        do {
            try Tensor.saveNPZ(["t": t], to: blocker.path)
            Issue.record("saved over a directory")
        } catch {
            #expect("\(error)".hasPrefix("[npz] \(blocker.path): cannot rename"), "\(error)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["blocked.npz"])
        // Overwriting an existing file replaces it whole.
        let path = dir.appendingPathComponent("x.npy").path
        try Tensor.zeros([100]).writeNPY(to: path)
        try t.writeNPY(to: path)
        expectSame(try Tensor(npyFile: path), t, "overwritten")
    }

    /// With MYELIN_NPY_EXPORT=<folder>, writes sample files for checking by hand with NumPy's `np.load`.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["MYELIN_NPY_EXPORT"] != nil, "set MYELIN_NPY_EXPORT=<folder> to export"))
    func exportForNumPyCrossCheck() throws {
        let dir = try #require(ProcessInfo.processInfo.environment["MYELIN_NPY_EXPORT"])
        defer { #expect(FileManager.default.fileExists(atPath: "\(dir)/permuted.npy")) }
        for (name, t) in samples { try t.writeNPY(to: "\(dir)/\(name).npy") }
        try Tensor.saveNPZ(samples, to: "\(dir)/stored.npz")
        try Tensor.saveNPZ(samples, to: "\(dir)/compressed.npz", compressed: true)
        try Data(Tensor.npzData(samples, forceZip64: true)).write(to: URL(fileURLWithPath: "\(dir)/zip64.npz"))
        try samples["rank4"]!.permute(3, 1, 0, 2).writeNPY(to: "\(dir)/permuted.npy")
    }
}
