import Foundation
import Testing
@testable import MyelinNN
import MyelinCore
import MyelinTestSupport

/// Weights move between Myelin and PyTorch through `.safetensors` in both directions; committed
/// files from generators/gen_safetensors.py.
@Suite struct SafetensorsTests {
    final class ReLULayer: Module {
        override init() { super.init() }
        override func forward(_ x: Tensor) -> Tensor { x.relu() }
    }

    /// The architecture of the generator's `torch.nn.Sequential`.
    static func model(seed: UInt64 = 0) -> Sequential {
        let g = RandomGenerator(seed: seed)
        return Sequential { Linear(4, 8, generator: g); ReLULayer(); BatchNorm1d(8); Linear(8, 3, generator: g) }
    }

    static let input = Tensor([[0.5, -1.0, 2.0, 0.25], [1.5, 0.0, -0.5, -2.0]])

    @Test func loadsAPyTorchFile() throws {
        let m = Self.model()
        try m.load(from: Fixtures.directory.appendingPathComponent("torch_model.safetensors").path)
        m.eval()
        let expected = Fixtures.load("safetensors").first { $0.name == "torch_model_output" }!
        expectClose(m(Self.input), expected.expected[0].tensor, rtol: 1e-5, atol: 1e-6, "PyTorch's output")
        #expect(m.stateDict().keys.sorted() == ["0.bias", "0.weight", "2.bias", "2.num_batches_tracked", "2.running_mean",
                                                "2.running_var", "2.weight", "3.bias", "3.weight"])
    }

    /// Myelin still writes byte for byte the committed file that PyTorch was checked to load
    /// (the generator loads it into the same architecture and records PyTorch's output for it).
    @Test func writesTheFilePyTorchLoads() throws {
        let m = Self.model(seed: 42)
        let bytes = Safetensors.encode(m.stateDict(), metadata: ["format": "pt"])
        let path = Fixtures.directory.appendingPathComponent("myelin_model.safetensors").path
        if ProcessInfo.processInfo.environment["MYELIN_WRITE_FIXTURES"] == "1" { try AtomicFile.write(bytes, to: path) }
        #expect(try AtomicFile.read(path) == bytes)
        m.eval()
        let torchOutput = Fixtures.load("safetensors").first { $0.name == "myelin_model_torch_output" }!
        expectClose(m(Self.input), torchOutput.expected[0].tensor, rtol: 1e-5, atol: 1e-6, "PyTorch's output on Myelin's file")
    }

    @Test func roundTripsEveryDTypeAndMetadata() throws {
        let tensors: [String: Tensor] = [
            "f32": Tensor([[1.5, -2.0]]), "f64": Tensor([3.25], dtype: .float64), "i32": Tensor([7, -8], dtype: .int32),
            "i64": Tensor(scalars: [Int64.max, Int64.min]), "bool": Tensor([true, false, true]),
            "scalar": Tensor(scalar: 2.0), "empty": Tensor.zeros([0, 4]), "view": Tensor.arange(6).reshape([2, 3]).T,
        ]
        let (back, meta) = try Safetensors.decode(Safetensors.encode(tensors, metadata: ["epoch": "3", "note": "a \"quoted\" value"]))
        #expect(meta == ["epoch": "3", "note": "a \"quoted\" value"])
        #expect(Set(back.keys) == Set(tensors.keys))
        for (k, t) in tensors {
            #expect(back[k]!.dtype == t.dtype && back[k]!.shape == t.shape && back[k]!.doubles == t.doubles, "\(k)")
        }
    }

    @Test func strictLoadingListsEveryProblem() throws {
        let m = Self.model()
        var dict = m.stateDict()
        dict["0.weight"] = Tensor.zeros([8, 5])
        dict.removeValue(forKey: "3.bias")
        dict["extra.weight"] = Tensor.zeros([1])
        let before = m.stateDict()["2.weight"]!.floats
        do {
            try m.loadStateDict(dict)
            Issue.record("strict loading should have thrown")
        } catch let e as StateDictError {
            #expect(e.missing == ["3.bias"] && e.unexpected == ["extra.weight"] && e.shapeMismatches.map(\.name) == ["0.weight"])
            #expect(e.description == "[load] the weights do not fit the model: missing 3.bias; unexpected extra.weight; shape mismatch 0.weight (model [8, 4], file [8, 5])")
        }
        #expect(m.stateDict()["2.weight"]!.floats == before, "a failed strict load changes nothing")
        dict["2.weight"] = Tensor.full([8], value: 3)
        let report = try m.loadStateDict(dict, strict: false)
        #expect(report.missing == ["3.bias"] && report.unexpected == ["extra.weight"] && report.shapeMismatches == ["0.weight"])
        #expect(m.stateDict()["2.weight"]!.floats == [Float](repeating: 3, count: 8))
    }

    @Test func corruptFilesThrowNeverCrash() throws {
        let good = Safetensors.encode(["w": Tensor.ones([3, 3])])
        for cut in [0, 4, 7, 8, 20, good.count - 1] {
            #expect(throws: SafetensorsError.self) { try Safetensors.decode(Array(good.prefix(cut))) }
        }
        var huge = good
        huge[0] = 0xFF
        huge[5] = 0x7F
        #expect(throws: SafetensorsError.self) { try Safetensors.decode(huge) }
        let wrongDType = Array("{\"w\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,2]}}".utf8)
        var file = withUnsafeBytes(of: UInt64(wrongDType.count).littleEndian) { Array($0) } + wrongDType + [0, 0]
        #expect { try Safetensors.decode(file) } throws: { ($0 as! SafetensorsError).reason.contains("F16") }
        file = withUnsafeBytes(of: UInt64(2).littleEndian) { Array($0) } + Array("[]".utf8)
        #expect(throws: SafetensorsError.self) { try Safetensors.decode(file) }
        #expect(throws: SafetensorsError.self) { try Safetensors.load("/nonexistent/model.safetensors") }
        // Every single-byte corruption of a small file either loads or throws.
        for i in 0..<good.count {
            var bad = good
            bad[i] ^= 0x5A
            _ = try? Safetensors.decode(bad)
        }
    }
}
