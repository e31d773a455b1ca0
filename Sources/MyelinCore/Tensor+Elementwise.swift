/// A Swift number usable as the other operand of a tensor op (`x + 1`, `2 * x`, `x.pow(0.5)`).
public protocol ScalarOperand {
    var doubleValue: Double { get }
    /// True for integer types: `intTensor + 1` stays integer, `intTensor + 0.5` becomes float32.
    static var isIntegral: Bool { get }
}
extension Int: ScalarOperand {
    public var doubleValue: Double { Double(self) }
    public static var isIntegral: Bool { true }
}
extension Int32: ScalarOperand { public static var isIntegral: Bool { true } }
extension Int64: ScalarOperand { public static var isIntegral: Bool { true } }
extension Double: ScalarOperand { public static var isIntegral: Bool { false } }
extension Float: ScalarOperand { public static var isIntegral: Bool { false } }

extension Tensor {
    /// A 0-d tensor for a scalar operand, in the dtype PyTorch would use next to `self`:
    /// the tensor's dtype, except float32 for a fractional scalar next to integers or bools.
    func scalarOperand<S: ScalarOperand>(_ s: S) -> Tensor {
        var d = dtype
        if !S.isIntegral && !d.isFloatingPoint { d = .float32 }
        if d == .bool { d = .int64 }
        return Tensor(scalar: s.doubleValue, dtype: d)
    }

    // MARK: Unary math (float results; integer inputs are computed in float32)

    /// e^x elementwise. `Tensor([0.0, 1.0]).exp()  // [1, 2.7182817]`
    public func exp() -> Tensor { apply(UnaryOps.Exp()) }
    /// The Gauss error function elementwise.
    ///
    /// ```swift
    /// Tensor([0.0, 1.0]).erf()   // [0, 0.8427]
    /// ```
    public func erf() -> Tensor { apply(UnaryOps.Erf()) }
    /// The Gaussian error linear unit x · Φ(x), exact (erf) or with PyTorch's tanh approximation:
    /// one op (one pass over memory) with the values of the composed formula.
    ///
    /// ```swift
    /// Tensor([-1.0, 1.0]).gelu()                     // [-0.1587, 0.8413]
    /// Tensor([-1.0, 1.0]).gelu(approximate: .tanh)   // [-0.1588, 0.8412]
    /// ```
    public func gelu(approximate: GELUApproximation = .none) -> Tensor {
        approximate == .none ? apply(UnaryOps.Gelu()) : apply(UnaryOps.GeluTanh())
    }
    /// Natural logarithm elementwise (-inf at 0, NaN below).
    public func log() -> Tensor { apply(UnaryOps.Log()) }
    /// log(1 + x), accurate for small x.
    public func log1p() -> Tensor { apply(UnaryOps.Log1p()) }
    /// Square root elementwise.
    public func sqrt() -> Tensor { apply(UnaryOps.Sqrt()) }
    /// 1 / sqrt(x) elementwise.
    public func rsqrt() -> Tensor { apply(UnaryOps.Rsqrt()) }
    /// Sine elementwise (radians).
    public func sin() -> Tensor { apply(UnaryOps.Sin()) }
    /// Cosine elementwise (radians).
    public func cos() -> Tensor { apply(UnaryOps.Cos()) }
    /// Hyperbolic tangent elementwise.
    public func tanh() -> Tensor { apply(UnaryOps.Tanh()) }
    /// The logistic function 1 / (1 + e^-x) elementwise.
    public func sigmoid() -> Tensor { apply(UnaryOps.Sigmoid()) }
    /// Largest integer not above x (integer tensors are returned unchanged).
    public func floor() -> Tensor { dtype.isFloatingPoint ? apply(UnaryOps.Floor()) : self }
    /// Smallest integer not below x (integer tensors are returned unchanged).
    public func ceil() -> Tensor { dtype.isFloatingPoint ? apply(UnaryOps.Ceil()) : self }
    /// Nearest integer, halves to even (integer tensors are returned unchanged).
    public func round() -> Tensor { dtype.isFloatingPoint ? apply(UnaryOps.Round()) : self }

    // MARK: Unary numeric (keep the dtype)

    /// -x elementwise.
    public func negated() -> Tensor { apply(UnaryOps.Negate()) }
    /// |x| elementwise.
    public func abs() -> Tensor { apply(UnaryOps.Abs()) }
    /// x * x elementwise.
    public func square() -> Tensor { apply(UnaryOps.Square()) }
    /// -1, 0 or 1 by the sign of x (NaN stays NaN).
    public func sign() -> Tensor { apply(UnaryOps.Sign()) }
    /// max(x, 0) elementwise.
    public func relu() -> Tensor { apply(UnaryOps.Relu()) }
    /// Limits every element to `min...max`; either bound may be omitted.
    ///
    /// ```swift
    /// Tensor([-2.0, 0.5, 3.0]).clamp(min: 0, max: 1)   // [0, 0.5, 1]
    /// ```
    public func clamp(min low: Double? = nil, max high: Double? = nil) -> Tensor {
        apply(UnaryOps.Clamp(low: low, high: high))
    }

    // MARK: Binary

    /// Elementwise power with broadcasting, computed in floating point.
    public func pow(_ exponent: Tensor) -> Tensor { Tensor.apply(BinaryOps.Pow(), self, exponent) }
    /// Elementwise power by a scalar exponent: `x.pow(2)`.
    public func pow<S: ScalarOperand>(_ exponent: S) -> Tensor {
        // Like pow(Tensor), the result is floating point whatever the exponent's value.
        let x = dtype.isFloatingPoint ? self : to(.float32)
        let e = exponent.doubleValue
        if e == 2 { return x.square() }
        if e == 1 { return x }
        return x.pow(Tensor(scalar: e, dtype: x.dtype))
    }
    /// The larger of two elements, with broadcasting (NaN wins).
    public func maximum(_ other: Tensor) -> Tensor { Tensor.apply(BinaryOps.Maximum(), self, other) }
    /// The smaller of two elements, with broadcasting (NaN wins).
    public func minimum(_ other: Tensor) -> Tensor { Tensor.apply(BinaryOps.Minimum(), self, other) }

    // MARK: Comparisons (bool results)

    /// Elementwise `==` as a bool tensor (the `==` operator compares whole tensors instead).
    public func eq(_ other: Tensor) -> Tensor { Tensor.apply(BinaryOps.Equal(), self, other) }
    public func eq<S: ScalarOperand>(_ s: S) -> Tensor { eq(scalarOperand(s)) }
    /// Elementwise `!=` as a bool tensor.
    public func ne(_ other: Tensor) -> Tensor { Tensor.apply(BinaryOps.NotEqual(), self, other) }
    public func ne<S: ScalarOperand>(_ s: S) -> Tensor { ne(scalarOperand(s)) }

    // MARK: Logical

    /// Elementwise logical and of the truth values (non-zero is true).
    public func logicalAnd(_ other: Tensor) -> Tensor { Tensor.logical(self, other, .and) }
    /// Elementwise logical or.
    public func logicalOr(_ other: Tensor) -> Tensor { Tensor.logical(self, other, .or) }
    /// Elementwise logical exclusive or.
    public func logicalXor(_ other: Tensor) -> Tensor { Tensor.logical(self, other, .xor) }
    /// Elementwise logical not.
    public func logicalNot() -> Tensor { logicalNotElements() }
}

// MARK: Operators

extension Tensor {
    public static func + (a: Tensor, b: Tensor) -> Tensor { apply(BinaryOps.Add(), a, b) }
    public static func - (a: Tensor, b: Tensor) -> Tensor { apply(BinaryOps.Sub(), a, b) }
    public static func * (a: Tensor, b: Tensor) -> Tensor { apply(BinaryOps.Mul(), a, b) }
    /// True division: integer operands give float32.
    public static func / (a: Tensor, b: Tensor) -> Tensor { apply(BinaryOps.Div(), a, b) }
    public static prefix func - (a: Tensor) -> Tensor { a.negated() }

    public static func + <S: ScalarOperand>(a: Tensor, s: S) -> Tensor { a + a.scalarOperand(s) }
    public static func + <S: ScalarOperand>(s: S, a: Tensor) -> Tensor { a.scalarOperand(s) + a }
    public static func - <S: ScalarOperand>(a: Tensor, s: S) -> Tensor { a - a.scalarOperand(s) }
    public static func - <S: ScalarOperand>(s: S, a: Tensor) -> Tensor { a.scalarOperand(s) - a }
    public static func * <S: ScalarOperand>(a: Tensor, s: S) -> Tensor { a * a.scalarOperand(s) }
    public static func * <S: ScalarOperand>(s: S, a: Tensor) -> Tensor { a.scalarOperand(s) * a }
    public static func / <S: ScalarOperand>(a: Tensor, s: S) -> Tensor { a / a.scalarOperand(s) }
    public static func / <S: ScalarOperand>(s: S, a: Tensor) -> Tensor { a.scalarOperand(s) / a }

    public static func += (a: inout Tensor, b: Tensor) { a = a + b }
    public static func -= (a: inout Tensor, b: Tensor) { a = a - b }
    public static func *= (a: inout Tensor, b: Tensor) { a = a * b }
    public static func /= (a: inout Tensor, b: Tensor) { a = a / b }
    public static func += <S: ScalarOperand>(a: inout Tensor, s: S) { a = a + s }
    public static func -= <S: ScalarOperand>(a: inout Tensor, s: S) { a = a - s }
    public static func *= <S: ScalarOperand>(a: inout Tensor, s: S) { a = a * s }
    public static func /= <S: ScalarOperand>(a: inout Tensor, s: S) { a = a / s }

    /// Elementwise comparisons give bool tensors.
    public static func .< (a: Tensor, b: Tensor) -> Tensor { apply(BinaryOps.Less(), a, b) }
    public static func .<= (a: Tensor, b: Tensor) -> Tensor { apply(BinaryOps.LessEqual(), a, b) }
    public static func .> (a: Tensor, b: Tensor) -> Tensor { apply(BinaryOps.Greater(), a, b) }
    public static func .>= (a: Tensor, b: Tensor) -> Tensor { apply(BinaryOps.GreaterEqual(), a, b) }
    public static func .== (a: Tensor, b: Tensor) -> Tensor { a.eq(b) }
    public static func .!= (a: Tensor, b: Tensor) -> Tensor { a.ne(b) }
    public static func .< <S: ScalarOperand>(a: Tensor, s: S) -> Tensor { a .< a.scalarOperand(s) }
    public static func .<= <S: ScalarOperand>(a: Tensor, s: S) -> Tensor { a .<= a.scalarOperand(s) }
    public static func .> <S: ScalarOperand>(a: Tensor, s: S) -> Tensor { a .> a.scalarOperand(s) }
    public static func .>= <S: ScalarOperand>(a: Tensor, s: S) -> Tensor { a .>= a.scalarOperand(s) }
    public static func .== <S: ScalarOperand>(a: Tensor, s: S) -> Tensor { a.eq(s) }
    public static func .!= <S: ScalarOperand>(a: Tensor, s: S) -> Tensor { a.ne(s) }

    public static func .& (a: Tensor, b: Tensor) -> Tensor { a.logicalAnd(b) }
    public static func .| (a: Tensor, b: Tensor) -> Tensor { a.logicalOr(b) }
    public static func .^ (a: Tensor, b: Tensor) -> Tensor { a.logicalXor(b) }
    public static prefix func .! (a: Tensor) -> Tensor { a.logicalNot() }
}

// MARK: Free functions, for code that reads like math

/// e^x elementwise.
public func exp(_ x: Tensor) -> Tensor { x.exp() }
/// Natural logarithm elementwise.
public func log(_ x: Tensor) -> Tensor { x.log() }
/// The Gauss error function elementwise: `erf(x)`.
public func erf(_ x: Tensor) -> Tensor { x.erf() }
/// log(1 + x) elementwise.
public func log1p(_ x: Tensor) -> Tensor { x.log1p() }
/// Square root elementwise.
public func sqrt(_ x: Tensor) -> Tensor { x.sqrt() }
/// 1 / sqrt(x) elementwise.
public func rsqrt(_ x: Tensor) -> Tensor { x.rsqrt() }
/// Sine elementwise.
public func sin(_ x: Tensor) -> Tensor { x.sin() }
/// Cosine elementwise.
public func cos(_ x: Tensor) -> Tensor { x.cos() }
/// Hyperbolic tangent elementwise.
public func tanh(_ x: Tensor) -> Tensor { x.tanh() }
/// Logistic sigmoid elementwise.
public func sigmoid(_ x: Tensor) -> Tensor { x.sigmoid() }
/// max(x, 0) elementwise.
public func relu(_ x: Tensor) -> Tensor { x.relu() }
/// |x| elementwise.
public func abs(_ x: Tensor) -> Tensor { x.abs() }
/// Elementwise power.
public func pow(_ x: Tensor, _ y: Tensor) -> Tensor { x.pow(y) }
/// Elementwise power by a scalar.
public func pow<S: ScalarOperand>(_ x: Tensor, _ y: S) -> Tensor { x.pow(y) }
/// The elementwise larger of two tensors.
public func maximum(_ a: Tensor, _ b: Tensor) -> Tensor { a.maximum(b) }
/// The elementwise smaller of two tensors.
public func minimum(_ a: Tensor, _ b: Tensor) -> Tensor { a.minimum(b) }

/// How `gelu` computes the Gaussian CDF Φ(x).
public enum GELUApproximation: Sendable {
    /// Exactly: Φ(x) = (1 + erf(x / √2)) / 2.
    case none
    /// PyTorch's `approximate='tanh'`: Φ(x) ≈ (1 + tanh(√(2/π) (x + 0.044715 x³))) / 2.
    case tanh
}
