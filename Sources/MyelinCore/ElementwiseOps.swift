import RealModule

// Elementwise ops, one small type each. The kernels in Kernels.swift are specialised for each type,
// so `callAsFunction` is inlined into the loop. Adding an op: a type here, a method in
// Tensor+Elementwise.swift, a row in the tests' op table.

/// A unary op on floating-point elements; integer and bool inputs are computed in float32.
protocol FloatUnaryOp {
    func callAsFunction<T: FloatElement>(_ x: T) -> T
}

/// A unary op on every numeric dtype; bool inputs are computed in int64.
protocol NumericUnaryOp {
    func callAsFunction<T: NumericElement>(_ x: T) -> T
}

/// A binary op computed in the operands' promoted numeric dtype.
protocol NumericBinaryOp {
    func callAsFunction<T: NumericElement>(_ a: T, _ b: T) -> T
}

/// A binary op computed in floating point (integer operands are promoted to float32).
protocol FloatBinaryOp {
    func callAsFunction<T: FloatElement>(_ a: T, _ b: T) -> T
}

/// A comparison of two numeric elements giving a bool.
protocol ComparisonOp {
    func callAsFunction<T: NumericElement>(_ a: T, _ b: T) -> Bool
}

enum UnaryOps {
    struct Exp: FloatUnaryOp { func callAsFunction<T: FloatElement>(_ x: T) -> T { .exp(x) } }
    struct Log: FloatUnaryOp { func callAsFunction<T: FloatElement>(_ x: T) -> T { .log(x) } }
    struct Log1p: FloatUnaryOp { func callAsFunction<T: FloatElement>(_ x: T) -> T { .log(onePlus: x) } }
    struct Sqrt: FloatUnaryOp { func callAsFunction<T: FloatElement>(_ x: T) -> T { x.squareRoot() } }
    struct Rsqrt: FloatUnaryOp { func callAsFunction<T: FloatElement>(_ x: T) -> T { 1 / x.squareRoot() } }
    struct Sin: FloatUnaryOp { func callAsFunction<T: FloatElement>(_ x: T) -> T { .sin(x) } }
    struct Cos: FloatUnaryOp { func callAsFunction<T: FloatElement>(_ x: T) -> T { .cos(x) } }
    struct Tanh: FloatUnaryOp { func callAsFunction<T: FloatElement>(_ x: T) -> T { .tanh(x) } }
    /// 1 / (1 + e^-x): exp(-x) overflows to +inf for very negative x, giving exactly 0, never NaN.
    struct Sigmoid: FloatUnaryOp { func callAsFunction<T: FloatElement>(_ x: T) -> T { 1 / (1 + .exp(-x)) } }
    struct Floor: FloatUnaryOp { func callAsFunction<T: FloatElement>(_ x: T) -> T { x.rounded(.down) } }
    struct Ceil: FloatUnaryOp { func callAsFunction<T: FloatElement>(_ x: T) -> T { x.rounded(.up) } }
    /// Half to even, as NumPy and PyTorch round.
    /// x where finite, else 0: the safe shift of logsumexp.
    struct FiniteOrZero: FloatUnaryOp { func callAsFunction<T: FloatElement>(_ x: T) -> T { x.isFinite ? x : 0 } }
    struct Round: FloatUnaryOp { func callAsFunction<T: FloatElement>(_ x: T) -> T { x.rounded(.toNearestOrEven) } }

    struct Negate: NumericUnaryOp { func callAsFunction<T: NumericElement>(_ x: T) -> T { T.wrappingNegate(x) } }
    struct Abs: NumericUnaryOp { func callAsFunction<T: NumericElement>(_ x: T) -> T { x < 0 ? T.wrappingNegate(x) : x } }
    struct Square: NumericUnaryOp { func callAsFunction<T: NumericElement>(_ x: T) -> T { T.wrappingMul(x, x) } }
    /// NaN stays NaN (x != x only for NaN).
    struct Sign: NumericUnaryOp {
        func callAsFunction<T: NumericElement>(_ x: T) -> T { x != x ? x : (x > 0 ? 1 : (x < 0 ? -1 : 0)) }
    }
    /// max(x, 0), with NaN passed through.
    struct Relu: NumericUnaryOp { func callAsFunction<T: NumericElement>(_ x: T) -> T { x < 0 ? 0 : x } }
    struct Clamp: NumericUnaryOp {
        let low: Double?, high: Double?
        func callAsFunction<T: NumericElement>(_ x: T) -> T {
            var y = x
            if let low, y < T(fromDouble: low) { y = T(fromDouble: low) }
            if let high, y > T(fromDouble: high) { y = T(fromDouble: high) }
            return y
        }
    }
}

enum BinaryOps {
    struct Add: NumericBinaryOp { func callAsFunction<T: NumericElement>(_ a: T, _ b: T) -> T { T.wrappingAdd(a, b) } }
    struct Sub: NumericBinaryOp { func callAsFunction<T: NumericElement>(_ a: T, _ b: T) -> T { T.wrappingSub(a, b) } }
    struct Mul: NumericBinaryOp { func callAsFunction<T: NumericElement>(_ a: T, _ b: T) -> T { T.wrappingMul(a, b) } }
    /// NaN in either operand gives NaN, as in NumPy's `maximum`.
    struct Maximum: NumericBinaryOp {
        func callAsFunction<T: NumericElement>(_ a: T, _ b: T) -> T { (a != a || a > b) ? a : b }
    }
    struct Minimum: NumericBinaryOp {
        func callAsFunction<T: NumericElement>(_ a: T, _ b: T) -> T { (a != a || a < b) ? a : b }
    }
    struct Div: FloatBinaryOp { func callAsFunction<T: FloatElement>(_ a: T, _ b: T) -> T { a / b } }
    struct Pow: FloatBinaryOp { func callAsFunction<T: FloatElement>(_ a: T, _ b: T) -> T { T.cPow(a, b) } }

    struct Equal: ComparisonOp { func callAsFunction<T: NumericElement>(_ a: T, _ b: T) -> Bool { a == b } }
    struct NotEqual: ComparisonOp { func callAsFunction<T: NumericElement>(_ a: T, _ b: T) -> Bool { a != b } }
    struct Less: ComparisonOp { func callAsFunction<T: NumericElement>(_ a: T, _ b: T) -> Bool { a < b } }
    struct LessEqual: ComparisonOp { func callAsFunction<T: NumericElement>(_ a: T, _ b: T) -> Bool { a <= b } }
    struct Greater: ComparisonOp { func callAsFunction<T: NumericElement>(_ a: T, _ b: T) -> Bool { a > b } }
    struct GreaterEqual: ComparisonOp { func callAsFunction<T: NumericElement>(_ a: T, _ b: T) -> Bool { a >= b } }
}

// Dtype dispatch: one switch per op call, then a specialised loop.
extension Tensor {
    func apply<Op: FloatUnaryOp>(_ op: Op) -> Tensor {
        switch dtype {
        case .float32: return mapElements(Float.self, Float.self) { op($0) }
        case .float64: return mapElements(Double.self, Double.self) { op($0) }
        default: return to(.float32).apply(op)
        }
    }

    func apply<Op: NumericUnaryOp>(_ op: Op) -> Tensor {
        switch dtype {
        case .float32: return mapElements(Float.self, Float.self) { op($0) }
        case .float64: return mapElements(Double.self, Double.self) { op($0) }
        case .int32: return mapElements(Int32.self, Int32.self) { op($0) }
        case .int64: return mapElements(Int64.self, Int64.self) { op($0) }
        case .bool: return to(.int64).apply(op)
        }
    }

    /// The dtype arithmetic between two tensors runs in: promoted, with bool counted as int64.
    static func arithmeticDType(_ a: DType, _ b: DType) -> DType {
        let d = DType.promote(a, b)
        return d == .bool ? .int64 : d
    }

    static func apply<Op: NumericBinaryOp>(_ op: Op, _ a: Tensor, _ b: Tensor, name: StaticString) -> Tensor {
        let d = arithmeticDType(a.dtype, b.dtype)
        let (x, y) = (a.to(d), b.to(d))
        switch d {
        case .float32: return zipElements(x, y, Float.self, Float.self, op: name) { op($0, $1) }
        case .float64: return zipElements(x, y, Double.self, Double.self, op: name) { op($0, $1) }
        case .int32: return zipElements(x, y, Int32.self, Int32.self, op: name) { op($0, $1) }
        default: return zipElements(x, y, Int64.self, Int64.self, op: name) { op($0, $1) }
        }
    }

    static func apply<Op: FloatBinaryOp>(_ op: Op, _ a: Tensor, _ b: Tensor, name: StaticString) -> Tensor {
        var d = DType.promote(a.dtype, b.dtype)
        if !d.isFloatingPoint { d = .float32 }
        let (x, y) = (a.to(d), b.to(d))
        if d == .float64 { return zipElements(x, y, Double.self, Double.self, op: name) { op($0, $1) } }
        return zipElements(x, y, Float.self, Float.self, op: name) { op($0, $1) }
    }

    static func apply<Op: ComparisonOp>(_ op: Op, _ a: Tensor, _ b: Tensor, name: StaticString) -> Tensor {
        let d = arithmeticDType(a.dtype, b.dtype)
        let (x, y) = (a.to(d), b.to(d))
        switch d {
        case .float32: return zipElements(x, y, Float.self, Bool.self, op: name) { op($0, $1) }
        case .float64: return zipElements(x, y, Double.self, Bool.self, op: name) { op($0, $1) }
        case .int32: return zipElements(x, y, Int32.self, Bool.self, op: name) { op($0, $1) }
        default: return zipElements(x, y, Int64.self, Bool.self, op: name) { op($0, $1) }
        }
    }

    /// A logical op on the truth values of two tensors.
    static func logical(_ a: Tensor, _ b: Tensor, name: StaticString, _ f: (Bool, Bool) -> Bool) -> Tensor {
        zipElements(a.to(.bool), b.to(.bool), Bool.self, Bool.self, op: name, f)
    }
}
