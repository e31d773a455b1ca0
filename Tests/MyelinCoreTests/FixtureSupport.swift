import Foundation
import Testing
@testable import MyelinCore

/// One case of a NumPy-generated fixture file (see Fixtures/generators/fixturelib.py).
struct FixtureCase: CustomTestStringConvertible, Sendable {
    let name: String
    let op: String
    let inputs: [FixtureTensor]
    let expected: [FixtureTensor]
    let params: [String: JSONValue]
    let rtol: Double
    let atol: Double
    var testDescription: String { name }

    /// Parameter helpers with a clear failure when the fixture lacks one.
    func int(_ key: String) -> Int {
        guard case .number(let v)? = params[key] else { fatalError("fixture \(name): missing int param \(key)") }
        return Int(v)
    }
    func double(_ key: String) -> Double {
        guard case .number(let v)? = params[key] else { fatalError("fixture \(name): missing number param \(key)") }
        return v
    }
    func bool(_ key: String) -> Bool {
        guard case .bool(let v)? = params[key] else { fatalError("fixture \(name): missing bool param \(key)") }
        return v
    }
    func ints(_ key: String) -> [Int]? {
        guard case .array(let a)? = params[key] else { return nil }
        return a.map { if case .number(let v) = $0 { return Int(v) } else { fatalError("fixture \(name): \(key) holds a non-number") } }
    }
    func string(_ key: String) -> String? {
        guard case .string(let v)? = params[key] else { return nil }
        return v
    }
    func has(_ key: String) -> Bool { params[key] != nil && params[key] != .null }
}

/// A tensor as stored in a fixture, plus the view to apply after building it.
struct FixtureTensor: Sendable {
    let dtype: DType
    let shape: [Int]
    let data: [Double]
    let view: String?

    /// Builds the tensor, then applies the view (so the result is non-contiguous where the fixture asks).
    var tensor: Tensor {
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
enum JSONValue: Equatable, Sendable {
    case number(Double), string(String), bool(Bool), array([JSONValue]), object([String: JSONValue]), null

    init(_ any: Any) {
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

enum Fixtures {
    /// The folder holding the committed fixture files, found from this source file's path.
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// Loads `Fixtures/<name>.json`; an unreadable file is a test failure with the path in it.
    static func load(_ name: String) -> [FixtureCase] {
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

    private static func parseTensor(_ o: [String: Any]) -> FixtureTensor {
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
func expectClose(_ actual: Tensor, _ expected: Tensor, rtol: Double = 1e-5, atol: Double = 1e-6,
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
