import RealModule
#if canImport(Glibc)
import Glibc
@inline(__always) func Glibc_pow(_ a: Double, _ b: Double) -> Double { Glibc.pow(a, b) }
#elseif canImport(Darwin)
import Darwin
@inline(__always) func Glibc_pow(_ a: Double, _ b: Double) -> Double { Darwin.pow(a, b) }
#endif

/// The element type of a tensor, chosen at run time.
///
/// ```swift
/// let x = Tensor.zeros([2, 3], dtype: .float64)
/// x.dtype        // .float64
/// ```
public enum DType: String, CaseIterable, Sendable, Codable, CustomStringConvertible {
    case float32, float64, int32, int64, bool

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .float32, .int32: return 4
        case .float64, .int64: return 8
        case .bool: return 1
        }
    }

    public var isFloatingPoint: Bool { self == .float32 || self == .float64 }
    public var isInteger: Bool { self == .int32 || self == .int64 }
    public var description: String { rawValue }

    /// The dtype two operands are computed in, following PyTorch's promotion:
    /// float beats int beats bool, and the wider type of a category wins.
    public static func promote(_ a: DType, _ b: DType) -> DType {
        if a == b { return a }
        func rank(_ d: DType) -> Int {
            switch d {
            case .bool: return 0
            case .int32: return 1
            case .int64: return 2
            case .float32: return 3
            case .float64: return 4
            }
        }
        // int64 with float32 gives float32, as in PyTorch.
        return rank(a) > rank(b) ? a : b
    }
}

/// A Swift type that can be stored in a tensor: `Float`, `Double`, `Int32`, `Int64` or `Bool`.
public protocol TensorElement: Equatable, Sendable {
    /// The dtype tensors of this element type have.
    static var dtype: DType { get }
    static var zero: Self { get }
    static var one: Self { get }
    /// Conversion through `Double`, the common type of every dtype (exact for all but int64 above 2^53).
    init(fromDouble value: Double)
    var doubleValue: Double { get }
    /// Exact conversion between the integer dtypes (and bool as 0/1).
    init(fromInt64 value: Int64)
    var int64Value: Int64 { get }
}

/// Element types with arithmetic and ordering: every dtype but bool.
public protocol NumericElement: TensorElement, SignedNumeric, Comparable, SIMDScalar, Hashable, Codable {
    static var lowest: Self { get }
    static var highest: Self { get }
    /// Arithmetic that wraps on integer overflow, as NumPy and PyTorch do (plain IEEE for floats).
    static func wrappingAdd(_ a: Self, _ b: Self) -> Self
    static func wrappingSub(_ a: Self, _ b: Self) -> Self
    static func wrappingMul(_ a: Self, _ b: Self) -> Self
    static func wrappingNegate(_ a: Self) -> Self
}

extension NumericElement where Self: FixedWidthInteger {
    @inline(__always) public static func wrappingAdd(_ a: Self, _ b: Self) -> Self { a &+ b }
    @inline(__always) public static func wrappingSub(_ a: Self, _ b: Self) -> Self { a &- b }
    @inline(__always) public static func wrappingMul(_ a: Self, _ b: Self) -> Self { a &* b }
    @inline(__always) public static func wrappingNegate(_ a: Self) -> Self { 0 &- a }
}

extension NumericElement where Self: BinaryFloatingPoint {
    @inline(__always) public static func wrappingAdd(_ a: Self, _ b: Self) -> Self { a + b }
    @inline(__always) public static func wrappingSub(_ a: Self, _ b: Self) -> Self { a - b }
    @inline(__always) public static func wrappingMul(_ a: Self, _ b: Self) -> Self { a * b }
    @inline(__always) public static func wrappingNegate(_ a: Self) -> Self { -a }
}

/// Floating-point element types, with the elementary functions of swift-numerics.
public protocol FloatElement: NumericElement, BinaryFloatingPoint, Real {
    /// C's `pow`: real results for negative bases with integral exponents, and 0^0 = 1.
    static func cPow(_ a: Self, _ b: Self) -> Self
}

extension Float: FloatElement {
    @inline(__always) public static func cPow(_ a: Float, _ b: Float) -> Float { powf(a, b) }
    public static var dtype: DType { .float32 }
    public static var one: Float { 1 }
    public static var lowest: Float { -.infinity }
    public static var highest: Float { .infinity }
    @inline(__always) public init(fromDouble value: Double) { self = Float(value) }
    @inline(__always) public init(fromInt64 value: Int64) { self = Float(value) }
    @inline(__always) public var doubleValue: Double { Double(self) }
    @inline(__always) public var int64Value: Int64 { Int64(exactly: rounded(.towardZero)) ?? (self < 0 ? .min : .max) }
}

extension Double: FloatElement {
    @inline(__always) public static func cPow(_ a: Double, _ b: Double) -> Double { Glibc_pow(a, b) }
    public static var dtype: DType { .float64 }
    public static var one: Double { 1 }
    public static var lowest: Double { -.infinity }
    public static var highest: Double { .infinity }
    @inline(__always) public init(fromDouble value: Double) { self = value }
    @inline(__always) public init(fromInt64 value: Int64) { self = Double(value) }
    @inline(__always) public var doubleValue: Double { self }
    @inline(__always) public var int64Value: Int64 { Int64(exactly: rounded(.towardZero)) ?? (self < 0 ? .min : .max) }
}

extension Int32: NumericElement {
    public static var dtype: DType { .int32 }
    public static var one: Int32 { 1 }
    public static var lowest: Int32 { .min }
    public static var highest: Int32 { .max }
    /// Truncates toward zero like a C cast; NaN becomes 0.
    @inline(__always) public init(fromDouble value: Double) {
        self = value.isNaN ? 0 : Int32(clamping: Int64(exactly: value.rounded(.towardZero)) ?? (value < 0 ? .min : .max))
    }
    @inline(__always) public init(fromInt64 value: Int64) { self = Int32(truncatingIfNeeded: value) }
    @inline(__always) public var doubleValue: Double { Double(self) }
    @inline(__always) public var int64Value: Int64 { Int64(self) }
}

extension Int64: NumericElement {
    public static var dtype: DType { .int64 }
    public static var one: Int64 { 1 }
    public static var lowest: Int64 { .min }
    public static var highest: Int64 { .max }
    @inline(__always) public init(fromDouble value: Double) {
        self = value.isNaN ? 0 : (Int64(exactly: value.rounded(.towardZero)) ?? (value < 0 ? .min : .max))
    }
    @inline(__always) public init(fromInt64 value: Int64) { self = value }
    @inline(__always) public var doubleValue: Double { Double(self) }
    @inline(__always) public var int64Value: Int64 { self }
}

extension Bool: TensorElement {
    public static var dtype: DType { .bool }
    public static var zero: Bool { false }
    public static var one: Bool { true }
    @inline(__always) public init(fromDouble value: Double) { self = value != 0 }
    @inline(__always) public var doubleValue: Double { self ? 1 : 0 }
    @inline(__always) public init(fromInt64 value: Int64) { self = value != 0 }
    @inline(__always) public var int64Value: Int64 { self ? 1 : 0 }
}
