import Foundation
import Testing
import MyelinCore

/// One case of a NumPy-generated fixture file (see Fixtures/generators/fixturelib.py).
public struct FixtureCase: CustomTestStringConvertible, Sendable {
    public let name: String
    public let op: String
    public let inputs: [FixtureTensor]
    public let expected: [FixtureTensor]
    public let params: [String: JSONValue]
    public let rtol: Double
    public let atol: Double
    public var testDescription: String { name }

    /// Parameter helpers with a clear failure when the fixture lacks one.
    public func int(_ key: String) -> Int {
        guard case .number(let v)? = params[key] else { fatalError("fixture \(name): missing int param \(key)") }
        return Int(v)
    }
    public func double(_ key: String) -> Double {
        guard case .number(let v)? = params[key] else { fatalError("fixture \(name): missing number param \(key)") }
        return v
    }
    public func bool(_ key: String) -> Bool {
        guard case .bool(let v)? = params[key] else { fatalError("fixture \(name): missing bool param \(key)") }
        return v
    }
    public func ints(_ key: String) -> [Int]? {
        guard case .array(let a)? = params[key] else { return nil }
        return a.map { if case .number(let v) = $0 { return Int(v) } else { fatalError("fixture \(name): \(key) holds a non-number") } }
    }
    public func string(_ key: String) -> String? {
        guard case .string(let v)? = params[key] else { return nil }
        return v
    }
    public func has(_ key: String) -> Bool { params[key] != nil && params[key] != .null }
}

/// A tensor as stored in a fixture, plus the view to apply after building it.
public struct FixtureTensor: Sendable {
    public let dtype: DType
    public let shape: [Int]
    public let data: [Double]
    public let view: String?

    /// Builds the tensor, then applies the view (so the result is non-contiguous where the fixture asks).
    public var tensor: Tensor {
        var t = Tensor(shape: shape, doubles: data, dtype: dtype)
        if dtype == .int64 { t = Tensor(shape: shape, scalars: data.map { Int64($0) }) }
        switch view {
        case nil: return t
        case "T": return t.transposed()
        case "step": return t[.slice(nil, nil, step: 2)]
        case "rev": return t[.slice(nil, nil, step: -1)]
        case let v?: fatalError("unknown fixture view \(v)")
        }
    }
}

/// Minimal JSON tree for fixture parameters.
public enum JSONValue: Equatable, Sendable {
    case number(Double), string(String), bool(Bool), array([JSONValue]), object([String: JSONValue]), null

    public init(_ any: Any) {
        switch any {
        // JSON booleans arrive as NSNumbers of ObjC type "c"; 0 and 1 must stay numbers.
        case let n as NSNumber: self = String(cString: n.objCType) == "c" ? .bool(n.boolValue) : .number(n.doubleValue)
        case let s as String: self = .string(s)
        case let a as [Any]: self = .array(a.map(JSONValue.init))
        case let o as [String: Any]: self = .object(o.mapValues(JSONValue.init))
        default: self = .null
        }
    }
}

/// A folder of fixture files (each test target has its own `Fixtures/`).
public struct FixtureSet: Sendable {
    public let directory: URL

    /// The `Fixtures` folder beside the file whose `#filePath` is given.
    public init(besideFile filePath: String) {
        directory = URL(fileURLWithPath: filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    }

    /// Loads `<directory>/<name>.json`; an unreadable file stops the run with the path in the message.
    public func load(_ name: String) -> [FixtureCase] {
        let url = directory.appendingPathComponent("\(name).json")
        guard let data = try? Data(contentsOf: url),
              let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let cases = root["cases"] as? [[String: Any]] else {
            fatalError("cannot read fixture file \(url.path); run its generator in Fixtures/generators")
        }
        return cases.map { c in
            FixtureCase(
                name: c["name"] as! String,
                op: c["op"] as! String,
                inputs: (c["inputs"] as! [[String: Any]]).map(parseTensor),
                expected: (c["expected"] as! [[String: Any]]).map(parseTensor),
                params: (c["params"] as? [String: Any] ?? [:]).mapValues(JSONValue.init),
                rtol: c["rtol"] as? Double ?? 1e-5,
                atol: c["atol"] as? Double ?? 1e-6)
        }
    }

    private func parseTensor(_ o: [String: Any]) -> FixtureTensor {
        let dtype = DType(rawValue: o["dtype"] as! String)!
        let data: [Double] = (o["data"] as! [Any]).map { v in
            switch v {
            case let s as String: return s == "nan" ? .nan : (s == "inf" ? .infinity : -.infinity)
            case let n as NSNumber: return n.doubleValue
            default: fatalError("bad fixture scalar \(v)")
            }
        }
        return FixtureTensor(dtype: dtype, shape: o["shape"] as! [Int], data: data, view: o["view"] as? String)
    }
}

/// Checks dtype, shape and every value; floats within `atol + rtol * |expected|`, NaN where NaN.
public func expectClose(_ actual: Tensor, _ expected: Tensor, rtol: Double = 1e-5, atol: Double = 1e-6,
                 _ context: String = "", sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.dtype == expected.dtype, "\(context): dtype \(actual.dtype) != \(expected.dtype)", sourceLocation: sourceLocation)
    #expect(actual.shape == expected.shape, "\(context): shape \(actual.shape) != \(expected.shape)", sourceLocation: sourceLocation)
    guard actual.shape == expected.shape else { return }
    let a = actual.doubles, e = expected.doubles
    var bad: [String] = []
    for i in 0..<a.count {
        let ok: Bool
        if e[i].isNaN { ok = a[i].isNaN } else if e[i].isInfinite { ok = a[i] == e[i] } else {
            ok = Swift.abs(a[i] - e[i]) <= atol + rtol * Swift.abs(e[i])
        }
        if !ok { bad.append("[\(i)] \(a[i]) vs \(e[i])") }
    }
    #expect(bad.isEmpty, "\(context): \(bad.count) of \(a.count) values differ: \(bad.prefix(5).joined(separator: ", "))",
            sourceLocation: sourceLocation)
}

/// The folder of pretrained models (`$MYELIN_MODELS`, else `../shared/models` beside the
/// repository) when it holds all-MiniLM-L6-v2, for tests that report themselves skipped otherwise.
public func sharedModels() -> String? {
    var candidates: [String] = []
    if let env = ProcessInfo.processInfo.environment["MYELIN_MODELS"], !env.isEmpty { candidates.append(env) }
    let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    candidates.append(repo.deletingLastPathComponent().appendingPathComponent("shared/models").path)
    return candidates.first { FileManager.default.fileExists(atPath: $0 + "/all-minilm-l6-v2/model.safetensors") }
}
