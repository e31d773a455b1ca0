import Foundation
import Testing
@testable import MyelinCore
import MyelinTestSupport

// Fixtures come from Fixtures/generators/gen_pytorch_checkpoints.py (torch 2.15): real torch.save
// files with the values PyTorch holds, and hand-crafted malicious or broken archives with a
// fragment of the message each must give; expected values are in pytorch/expected.json.

private let cases = Fixtures.load("pytorch/expected")
private func path(_ c: FixtureCase) -> String { Fixtures.directory.appendingPathComponent(c.string("file") ?? "missing").path }

@Suite struct PyTorchCheckpointTests {
    static let loadCases = cases.filter { $0.op == "load" }
    static let errorCases = cases.filter { $0.op == "error" }

    /// Every tensor PyTorch saved, with its name, order, dtype (as Myelin reads it), shape and
    /// values bit for bit (NaN where NaN).
    @Test(arguments: loadCases) func loadsWhatPyTorchSaved(_ c: FixtureCase) throws {
        let tensors = try PyTorchCheckpoint.load(path(c))
        guard case .array(let names)? = c.params["names"] else { Issue.record("no names"); return }
        #expect(tensors.map(\.name) == names.map { if case .string(let s) = $0 { return s } else { return "?" } })
        for (got, expected) in zip(tensors, c.expected) {
            // Exact, but for float64: Foundation's JSON parser can round the 17th digit of a double.
            expectClose(got.tensor, expected.tensor, rtol: got.tensor.dtype == .float64 ? 1e-15 : 0, atol: 0, "\(c.name) \(got.name)")
            #expect(got.tensor.isContiguous, "\(got.name) comes back contiguous")
        }
    }

    /// Each malicious or broken file is refused with one line naming the reason, never run or crashed on.
    @Test(arguments: errorCases) func refusesBadFiles(_ c: FixtureCase) throws {
        let file = path(c)
        do {
            let tensors = try PyTorchCheckpoint.load(file)
            Issue.record("\(c.name) loaded \(tensors.count) tensors")
        } catch let error as PyTorchCheckpointError {
            let message = error.description
            #expect(message.hasPrefix("[pytorch] \(file): "), "\(message)")
            #expect(message.contains(c.string("message") ?? "?"), "\(c.name): \(message)")
            #expect(!message.contains("\n"), "\(message)")
        }
        #expect(!FileManager.default.fileExists(atPath: "/tmp/myelin-pwned"))
    }

    @Test func sharedStoragesComeBackAsIndependentCopies() throws {
        let file = Fixtures.directory.appendingPathComponent("pytorch/views.pt").path
        var tensors = Dictionary(uniqueKeysWithValues: try PyTorchCheckpoint.load(file).map { ($0.name, $0.tensor) })
        let before = tensors["row0"]!.doubles
        tensors["transposed"]![0, 0] = Tensor(scalar: 99)
        #expect(tensors["row0"]!.doubles == before)
    }

    @Test func halfAndBFloat16ConvertExactly() {
        #expect(PyTorchCheckpoint.halfToFloat(0x3C00) == 1)
        #expect(PyTorchCheckpoint.halfToFloat(0x7BFF) == 65504)
        #expect(PyTorchCheckpoint.halfToFloat(0x0001) == 0x1p-24)
        #expect(PyTorchCheckpoint.halfToFloat(0x8000).sign == .minus)
        #expect(PyTorchCheckpoint.halfToFloat(0xFC00) == -.infinity)
        #expect(PyTorchCheckpoint.halfToFloat(0x7E00).isNaN)
        for bits in UInt16.min...UInt16.max where (bits >> 10) & 0x1F != 0x1F {
            #expect(PyTorchCheckpoint.halfToFloat(bits) == Float(Float16(bitPattern: bits)))
        }
    }

    @Test func missingFileIsAnError() {
        #expect(throws: PyTorchCheckpointError.self) { try PyTorchCheckpoint.load("/nonexistent/model.pt") }
    }

    /// Random byte flips in a whole file (mostly caught by the zip's CRC-32), and in the pickle
    /// itself, repackaged in a valid zip so that the unpickler sees them: an error or tensors,
    /// never a crash or a hang.
    @Test func randomByteFlipsNeverCrash() throws {
        let file = Fixtures.directory.appendingPathComponent("pytorch/views.pt").path
        let good = try AtomicFile.read(file)
        let entries = try good.withUnsafeBytes { raw in
            try ZipArchive.entries(in: raw, file: file).map { e in
                (e.name, try ZipArchive.withContents(of: e, in: raw, file: file) { Array($0) })
            }
        }
        var rng = SplitMix64(seed: 17)
        var outcomes = [0, 0, 0]
        for round in 0..<400 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = good
                for _ in 0..<Int.random(in: 1...4, using: &rng) { bytes[Int.random(in: 0..<bytes.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng) }
            } else {
                var sink = ByteArraySink()
                var writer = ZipWriter(sink: sink)
                for (name, data) in entries {
                    var data = data
                    if name.hasSuffix("data.pkl") {
                        for _ in 0..<Int.random(in: 1...3, using: &rng) { data[Int.random(in: 0..<data.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
                        if round % 4 == 1 { data.removeLast(Int.random(in: 0..<data.count, using: &rng)) }
                    }
                    try data.withUnsafeBytes { try writer.add(name: name, pieces: [$0], compress: false) }
                }
                try writer.finish()
                sink = writer.sink
                bytes = sink.bytes
            }
            do {
                _ = try PyTorchCheckpoint.decode(bytes, file: "fuzz.pt")
                outcomes[0] += 1
            } catch let error as PyTorchCheckpointError {
                #expect(!error.description.contains("\n"))
                outcomes[error.reason.hasPrefix("data.pkl") ? 2 : 1] += 1
            }
        }
        // Some rounds load, some fail in the zip layer, some in the unpickler itself.
        #expect(outcomes[1] > 0 && outcomes[2] > 0, "loaded, zip errors, pickle errors: \(outcomes)")
    }
}
