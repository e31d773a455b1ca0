import Foundation

/// A JSON value as sent to and received from chromedriver: script arguments and results, capabilities.
///
/// JavaScript numbers arrive as `.number(Double)`; `undefined`, `NaN` and functions arrive as `.null`;
/// DOM elements arrive as objects with the W3C element key (turn them back with `WebDriverSession.element(from:)`).
public enum WebDriverJSON: Sendable, Hashable, Codable, CustomStringConvertible,
    ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByStringLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([WebDriverJSON])
    case object([String: WebDriverJSON])

    /// The key under which W3C WebDriver serialises a DOM element reference.
    public static let elementKey = "element-6066-11e4-a52e-4f735466cecf"

    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: WebDriverJSON...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, WebDriverJSON)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }

    /// Any Encodable value turned into JSON (through JSONEncoder).
    public init<T: Encodable>(encoding value: T) throws {
        let data = try JSONEncoder().encode(value)
        self = try JSONDecoder().decode(WebDriverJSON.self, from: data)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let d = try? c.decode(Double.self) {
            self = .number(d)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([WebDriverJSON].self) {
            self = .array(a)
        } else if let o = try? c.decode([String: WebDriverJSON].self) {
            self = .object(o)
        } else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "not a JSON value")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    /// The value as a Decodable type (through JSONDecoder), e.g. a struct mirroring a script's result object.
    public func decode<T: Decodable>(as type: T.Type = T.self) throws -> T {
        try JSONDecoder().decode(T.self, from: jsonData())
    }

    /// The value serialised as JSON bytes (keys sorted).
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    /// The value serialised as compact JSON text (keys sorted).
    public var description: String {
        guard let data = try? jsonData() else { return "<unencodable JSON>" }
        return String(decoding: data, as: UTF8.self)
    }

    /// The number, when this is one.
    public var double: Double? { if case .number(let d) = self { return d } else { return nil } }
    /// The number as an Int, when this is a number with an integral value.
    public var int: Int? {
        guard case .number(let d) = self, d.rounded() == d, abs(d) < 9.0e15 else { return nil }
        return Int(d)
    }
    /// The string, when this is one.
    public var string: String? { if case .string(let s) = self { return s } else { return nil } }
    /// The Boolean, when this is one.
    public var bool: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    /// The elements, when this is an array.
    public var array: [WebDriverJSON]? { if case .array(let a) = self { return a } else { return nil } }
    /// The members, when this is an object.
    public var object: [String: WebDriverJSON]? { if case .object(let o) = self { return o } else { return nil } }
    /// Whether this is `null`.
    public var isNull: Bool { self == .null }

    /// The member `key` of an object; nil for a missing key or a non-object.
    public subscript(key: String) -> WebDriverJSON? { object?[key] }
    /// The element at `index` of an array; nil when out of range or not an array.
    public subscript(index: Int) -> WebDriverJSON? {
        guard let a = array, a.indices.contains(index) else { return nil }
        return a[index]
    }
}
