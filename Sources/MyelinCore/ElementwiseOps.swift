import RealModule

// Elementwise ops, one small type each, holding the forward (`callAsFunction`, specialised into the
// loops of Kernels.swift so there is no per-element dispatch) next to its vector-Jacobian product
// (`vjp`, written with tensor ops so it is differentiable again). Adding an op: a type here, a
// method in Tensor+Elementwise.swift, a line in FusionKernels.catalogue (Graph+Fusion.swift:
// graph files and fusion), and a row in the tests' op table.

/// An elementwise op's gradient rule: `vjp(g, inputs..., output)` gives the input gradients.
protocol ElementwiseGradient: Codable, Sendable {
    /// The name shown in the graph and in error messages.
    static var name: String { get }
    /// Whether the vjp reads the op's output (kept with the graph node).
    static var savesOutput: Bool { get }
}
extension ElementwiseGradient {
    static var savesOutput: Bool { false }
}

/// A unary op's gradient rule, shared by the float and numeric kinds.
protocol UnaryGradient: ElementwiseGradient {
    func vjp(_ g: Tensor, _ x: Tensor, _ y: Tensor) -> Tensor
}

/// A unary op on floating-point elements; integer and bool inputs are computed in float32.
protocol FloatUnaryOp: UnaryGradient {
    func callAsFunction<T: FloatElement>(_ x: T) -> T
    /// The op's float32 loop over contiguous memory (VectorKernels), or nil. A requirement, not only
    /// an extension member, so that generic code (`Op.vectorF32`) sees the op's own loop.
    static var vectorF32: VectorUnaryF32? { get }
}

/// A unary op on every numeric dtype; bool inputs are computed in int64.
protocol NumericUnaryOp: UnaryGradient {
    func callAsFunction<T: NumericElement>(_ x: T) -> T
    static var vectorF32: VectorUnaryF32? { get }
}

/// Which operands of a binary op want a gradient: the vjp skips the others' work.
struct GradNeed {
    let a: Bool, b: Bool
}

/// A binary op's gradient rule, shared by the numeric and float kinds.
protocol BinaryGradient: ElementwiseGradient {
    /// Gradients in the broadcast shape, computed only for the operands `need` names; the caller
    /// sums them back to each operand's shape.
    func vjp(_ g: Tensor, _ a: Tensor, _ b: Tensor, _ y: Tensor, _ need: GradNeed) -> (Tensor?, Tensor?)
}

/// A binary op computed in the operands' promoted numeric dtype.
protocol NumericBinaryOp: BinaryGradient {
    func callAsFunction<T: NumericElement>(_ a: T, _ b: T) -> T
    static var vectorF32: VectorBinaryF32? { get }
}

/// A binary op computed in floating point (integer operands are promoted to float32).
protocol FloatBinaryOp: BinaryGradient {
    func callAsFunction<T: FloatElement>(_ a: T, _ b: T) -> T
    static var vectorF32: VectorBinaryF32? { get }
}

/// A comparison of two numeric elements giving a bool (not differentiable).
protocol ComparisonOp: Codable, Sendable {
    static var name: String { get }
    func callAsFunction<T: NumericElement>(_ a: T, _ b: T) -> Bool
}

enum UnaryOps {
    /// The Gauss error function, with derivative 2/√π · e^(-x²).
    struct Erf: FloatUnaryOp {
        static let name = "erf"
        static var vectorF32: VectorUnaryF32? { VectorKernels.erf }
        func callAsFunction<T: FloatElement>(_ x: T) -> T { .erf(x) }
        func vjp(_ g: Tensor, _ x: Tensor, _ y: Tensor) -> Tensor { g * (-x.square()).exp() * (2 / Double.pi.squareRoot()) }
    }
    /// GELU x · Φ(x) with Φ from erf, computed as the composed ops round it (one pass instead of five).
    struct Gelu: FloatUnaryOp {
        static let name = "gelu"
        static var vectorF32: VectorUnaryF32? { VectorKernels.gelu }
        func callAsFunction<T: FloatElement>(_ x: T) -> T { (x * T(0.5)) * (T(1) + .erf(x * T(1 / 2.0.squareRoot()))) }
        /// Φ(x) + x φ(x).
        func vjp(_ g: Tensor, _ x: Tensor, _ y: Tensor) -> Tensor {
            let cdf = (x * (1 / 2.0.squareRoot())).erf() * 0.5 + 0.5
            let pdf = (x.square() * -0.5).exp() * (1 / (2 * Double.pi).squareRoot())
            return g * (cdf + x * pdf)
        }
    }
    /// GELU with PyTorch's tanh approximation of Φ, computed as the composed ops round it.
    struct GeluTanh: FloatUnaryOp {
        static let name = "gelu_tanh"
        static var vectorF32: VectorUnaryF32? { VectorKernels.geluTanh }
        static let c = (2 / Double.pi).squareRoot()
        func callAsFunction<T: FloatElement>(_ x: T) -> T {
            let inner = (x + ((x * x) * x) * T(0.044715)) * T(GeluTanh.c)
            return (x * T(0.5)) * (T(1) + .tanh(inner))
        }
        /// ½(1 + t) + ½ x (1 - t²) c (1 + 3 · 0.044715 x²), t = tanh(c (x + 0.044715 x³)).
        func vjp(_ g: Tensor, _ x: Tensor, _ y: Tensor) -> Tensor {
            let t = ((x + x * x * x * 0.044715) * GeluTanh.c).tanh()
            let du = (x.square() * (3 * 0.044715) + 1) * GeluTanh.c
            return g * ((t + 1) * 0.5 + x * 0.5 * (1 - t.square()) * du)
        }
    }
    struct Exp: FloatUnaryOp {
        static let name = "exp", savesOutput = true
        static var vectorF32: VectorUnaryF32? { VectorKernels.exp }
        func callAsFunction<T: FloatElement>(_ x: T) -> T { .exp(x) }
        func vjp(_ g: Tensor, _ x: Tensor, _ y: Tensor) -> Tensor { g * y }
    }
    struct Log: FloatUnaryOp {
        static let name = "log"
        func callAsFunction<T: FloatElement>(_ x: T) -> T { .log(x) }
        func vjp(_ g: Tensor, _ x: Tensor, _ y: Tensor) -> Tensor { g / x }
    }
    struct Log1p: FloatUnaryOp {
        static let name = "log1p"
        func callAsFunction<T: FloatElement>(_ x: T) -> T { .log(onePlus: x) }
        func vjp(_ g: Tensor, _ x: Tensor, _ y: Tensor) -> Tensor { g / (x + 1) }
    }
    struct Sqrt: FloatUnaryOp {
        static let name = "sqrt", savesOutput = true
        func callAsFunction<T: FloatElement>(_ x: T) -> T { x.squareRoot() }
        func vjp(_ g: Tensor, _ x: Tensor, _ y: Tensor) -> Tensor { g / (y * 2) }
    }
    struct Rsqrt: FloatUnaryOp {
        static let name = "rsqrt", savesOutput = true
        func callAsFunction<T: FloatElement>(_ x: T) -> T { 1 / x.squareRoot() }
        func vjp(_ g: Tensor, _ x: Tensor, _ y: Tensor) -> Tensor { g * y * y * y * -0.5 }
    }
    struct Sin: FloatUnaryOp {
        static let name = "sin"
        func callAsFunction<T: FloatElement>(_ x: T) -> T { .sin(x) }
        func vjp(_ g: Tensor, _ x: Tensor, _ y: Tensor) -> Tensor { g * x.cos() }
    }
    struct Cos: FloatUnaryOp {
        static let name = "cos"
        func callAsFunction<T: FloatElement>(_ x: T) -> T { .cos(x) }
        func vjp(_ g: Tensor, _ x: Tensor, _ y: Tensor) -> Tensor { -(g * x.sin()) }
    }
    struct Tanh: FloatUnaryOp {
        static let name = "tanh", savesOutput = true
        static var vectorF32: VectorUnaryF32? { VectorKernels.tanh }
        func callAsFunction<T: FloatElement>(_ x: T) -> T { .tanh(x) }
        func vjp(_ g: Tensor, _ x: Tensor, _ y: Tensor) -> Tensor { g * (1 - y * y) }
    }
    /// 1 / (1 + e^-x): exp(-x) overflows to +inf for very negative x, giving exactly 0, never NaN.
    struct Sigmoid: FloatUnaryOp {
        static let name = "sigmoid", savesOutput = true
        static var vectorF32: VectorUnaryF32? { VectorKernels.sigmoid }
        func callAsFunction<T: FloatElement>(_ x: T) -> T { 1 / (1 + .exp(-x)) }
        func vjp(_ g: Tensor, _ x: Tensor, _ y: Tensor) -> Tensor { g * y * (1 - y) }
    }
    /// Rounding ops are flat almost everywhere: zero gradient, as in PyTorch.
    struct Floor: FloatUnaryOp {
        static let name = "floor"
        func callAsFunction<T: FloatElement>(_ x: T) -> T { x.rounded(.down) }
        func vjp(_ g: Tensor, _ x: Tensor, _ y: Tensor) -> Tensor { g * 0 }
    }
    struct Ceil: FloatUnaryOp {
        static let name = "ceil"
        func callAsFunction<T: FloatElement>(_ x: T) -> T { x.rounded(.up) }
        func vjp(_ g: Tensor, _ x: Tensor, _ y: Tensor) -> Tensor { g * 0 }
    }
    /// Half to even, as NumPy and PyTorch round.
    struct Round: FloatUnaryOp {
        static let name = "round"
        func callAsFunction<T: FloatElement>(_ x: T) -> T { x.rounded(.toNearestOrEven) }
        func vjp(_ g: Tensor, _ x: Tensor, _ y: Tensor) -> Tensor { g * 0 }
    }
    /// x where finite, else 0: the constant shift of logsumexp.
    struct FiniteOrZero: FloatUnaryOp {
        static let name = "finiteOrZero"
        func callAsFunction<T: FloatElement>(_ x: T) -> T { x.isFinite ? x : 0 }
        func vjp(_ g: Tensor, _ x: Tensor, _ y: Tensor) -> Tensor { g * 0 }
    }

    struct Negate: NumericUnaryOp {
        static let name = "neg"
        static var vectorF32: VectorUnaryF32? { VectorKernels.negate }
        func callAsFunction<T: NumericElement>(_ x: T) -> T { T.wrappingNegate(x) }
        func vjp(_ g: Tensor, _ x: Tensor, _ y: Tensor) -> Tensor { -g }
    }
    /// The gradient at 0 is 0 (sign(0)), as in PyTorch.
    struct Abs: NumericUnaryOp {
        static let name = "abs"
        static var vectorF32: VectorUnaryF32? { VectorKernels.abs }
        func callAsFunction<T: NumericElement>(_ x: T) -> T { x < 0 ? T.wrappingNegate(x) : x }
        func vjp(_ g: Tensor, _ x: Tensor, _ y: Tensor) -> Tensor { g * x.sign() }
    }
    struct Square: NumericUnaryOp {
        static let name = "square"
        static var vectorF32: VectorUnaryF32? { VectorKernels.square }
        func callAsFunction<T: NumericElement>(_ x: T) -> T { T.wrappingMul(x, x) }
        func vjp(_ g: Tensor, _ x: Tensor, _ y: Tensor) -> Tensor { g * x * 2 }
    }
    /// NaN stays NaN (x != x only for NaN).
    struct Sign: NumericUnaryOp {
        static let name = "sign"
        func callAsFunction<T: NumericElement>(_ x: T) -> T { x != x ? x : (x > 0 ? 1 : (x < 0 ? -1 : 0)) }
        func vjp(_ g: Tensor, _ x: Tensor, _ y: Tensor) -> Tensor { g * 0 }
    }
    /// max(x, 0), with NaN passed through; the gradient at 0 is 0, as in PyTorch.
    struct Relu: NumericUnaryOp {
        static let name = "relu", savesOutput = true
        static var vectorF32: VectorUnaryF32? { VectorKernels.relu }
        func callAsFunction<T: NumericElement>(_ x: T) -> T { x < 0 ? 0 : x }
        func vjp(_ g: Tensor, _ x: Tensor, _ y: Tensor) -> Tensor { Tensor.apply(BinaryOps.PassWherePositive(), g, y) }
    }
    /// The gradient passes where the input is inside the bounds (bounds included), as in PyTorch.
    struct Clamp: NumericUnaryOp {
        static let name = "clamp"
        let low: Double?, high: Double?
        func callAsFunction<T: NumericElement>(_ x: T) -> T {
            var y = x
            if let low, y < T(fromDouble: low) { y = T(fromDouble: low) }
            if let high, y > T(fromDouble: high) { y = T(fromDouble: high) }
            return y
        }
        func vjp(_ g: Tensor, _ x: Tensor, _ y: Tensor) -> Tensor {
            var inside = Tensor.ones(x.shape, dtype: .bool)
            if let low { inside = inside .& (x .>= low) }
            if let high { inside = inside .& (x .<= high) }
            return g * inside.to(g.dtype)
        }
    }
}

enum BinaryOps {
    struct Add: NumericBinaryOp {
        static let name = "add"
        static var vectorF32: VectorBinaryF32? { VectorKernels.add }
        func callAsFunction<T: NumericElement>(_ a: T, _ b: T) -> T { T.wrappingAdd(a, b) }
        func vjp(_ g: Tensor, _ a: Tensor, _ b: Tensor, _ y: Tensor, _ need: GradNeed) -> (Tensor?, Tensor?) { (g, g) }
    }
    struct Sub: NumericBinaryOp {
        static let name = "sub"
        static var vectorF32: VectorBinaryF32? { VectorKernels.sub }
        func callAsFunction<T: NumericElement>(_ a: T, _ b: T) -> T { T.wrappingSub(a, b) }
        func vjp(_ g: Tensor, _ a: Tensor, _ b: Tensor, _ y: Tensor, _ need: GradNeed) -> (Tensor?, Tensor?) { (g, need.b ? -g : nil) }
    }
    struct Mul: NumericBinaryOp {
        static let name = "mul"
        static var vectorF32: VectorBinaryF32? { VectorKernels.mul }
        func callAsFunction<T: NumericElement>(_ a: T, _ b: T) -> T { T.wrappingMul(a, b) }
        func vjp(_ g: Tensor, _ a: Tensor, _ b: Tensor, _ y: Tensor, _ need: GradNeed) -> (Tensor?, Tensor?) {
            (need.a ? g * b : nil, need.b ? g * a : nil)
        }
    }
    /// NaN in either operand gives NaN, as in NumPy's `maximum`; ties split the gradient in half, as PyTorch does.
    struct Maximum: NumericBinaryOp {
        static let name = "maximum"
        static var vectorF32: VectorBinaryF32? { VectorKernels.maximum }
        func callAsFunction<T: NumericElement>(_ a: T, _ b: T) -> T { (a != a || a > b) ? a : b }
        func vjp(_ g: Tensor, _ a: Tensor, _ b: Tensor, _ y: Tensor, _ need: GradNeed) -> (Tensor?, Tensor?) {
            let share = (a .> b).to(g.dtype) + (a .== b).to(g.dtype) * 0.5
            return (g * share, g * (1 - share))
        }
    }
    struct Minimum: NumericBinaryOp {
        static let name = "minimum"
        static var vectorF32: VectorBinaryF32? { VectorKernels.minimum }
        func callAsFunction<T: NumericElement>(_ a: T, _ b: T) -> T { (a != a || a < b) ? a : b }
        func vjp(_ g: Tensor, _ a: Tensor, _ b: Tensor, _ y: Tensor, _ need: GradNeed) -> (Tensor?, Tensor?) {
            let share = (a .< b).to(g.dtype) + (a .== b).to(g.dtype) * 0.5
            return (g * share, g * (1 - share))
        }
    }
    /// `a` where `b > 0`, else 0: relu's backward in one pass. Differentiable in `a` (for
    /// gradients of gradients); `b` only selects.
    struct PassWherePositive: NumericBinaryOp {
        static let name = "reluBackward"
        func callAsFunction<T: NumericElement>(_ a: T, _ b: T) -> T { b > 0 ? a : 0 }
        func vjp(_ g: Tensor, _ a: Tensor, _ b: Tensor, _ y: Tensor, _ need: GradNeed) -> (Tensor?, Tensor?) {
            (Tensor.apply(BinaryOps.PassWherePositive(), g, b.detached()), nil)
        }
    }
    struct Div: FloatBinaryOp {
        static let name = "div"
        static var vectorF32: VectorBinaryF32? { VectorKernels.div }
        func callAsFunction<T: FloatElement>(_ a: T, _ b: T) -> T { a / b }
        func vjp(_ g: Tensor, _ a: Tensor, _ b: Tensor, _ y: Tensor, _ need: GradNeed) -> (Tensor?, Tensor?) {
            let ga = g / b
            return (ga, need.b ? -(ga * a / b) : nil)
        }
    }
    /// C's `pow`. The exponent's gradient is taken as 0 where the base is 0 and the exponent is
    /// non-negative (PyTorch's rule), avoiding 0 * log(0) = NaN.
    struct Pow: FloatBinaryOp {
        static let name = "pow", savesOutput = true
        func callAsFunction<T: FloatElement>(_ a: T, _ b: T) -> T { T.cPow(a, b) }
        func vjp(_ g: Tensor, _ a: Tensor, _ b: Tensor, _ y: Tensor, _ need: GradNeed) -> (Tensor?, Tensor?) {
            let ga = need.a ? g * b * a.pow(b - 1) : nil
            guard need.b else { return (ga, nil) }
            let safeLog = Tensor.where(a .== 0, Tensor.zeros(like: a), a.log())
            return (ga, g * y * safeLog)
        }
    }

    struct Equal: ComparisonOp { static let name = "eq"; func callAsFunction<T: NumericElement>(_ a: T, _ b: T) -> Bool { a == b } }
    struct NotEqual: ComparisonOp { static let name = "ne"; func callAsFunction<T: NumericElement>(_ a: T, _ b: T) -> Bool { a != b } }
    struct Less: ComparisonOp { static let name = "lt"; func callAsFunction<T: NumericElement>(_ a: T, _ b: T) -> Bool { a < b } }
    struct LessEqual: ComparisonOp { static let name = "le"; func callAsFunction<T: NumericElement>(_ a: T, _ b: T) -> Bool { a <= b } }
    struct Greater: ComparisonOp { static let name = "gt"; func callAsFunction<T: NumericElement>(_ a: T, _ b: T) -> Bool { a > b } }
    struct GreaterEqual: ComparisonOp { static let name = "ge"; func callAsFunction<T: NumericElement>(_ a: T, _ b: T) -> Bool { a >= b } }
}

// Dtype dispatch: one switch per op call, then a specialised loop; then the record (graph node,
// trace), if any input requires a gradient or a trace runs.
extension Tensor {
    func apply<Op: FloatUnaryOp>(_ op: Op) -> Tensor {
        if Tensor.routed(self) { return Tensor.apply(Elementwise.FloatUnary(op), [self]) }
        let y: Tensor
        switch dtype {
        case .float32: y = Op.vectorF32.map { VectorKernels.map($0, self) } ?? mapElements(ElementKernels.FloatUnary<Op, Float>(op: op))
        case .float64: y = mapElements(ElementKernels.FloatUnary<Op, Double>(op: op))
        default: return to(.float32).apply(op)
        }
        return Tensor.needsGrad(self) ? y.recorded(Elementwise.FloatUnary(op), [self]) : y
    }

    func apply<Op: NumericUnaryOp>(_ op: Op) -> Tensor {
        if Tensor.routed(self) { return Tensor.apply(Elementwise.NumericUnary(op), [self]) }
        let y: Tensor
        switch dtype {
        case .float32: y = mapElements(ElementKernels.NumericUnary<Op, Float>(op: op))
        case .float64: y = mapElements(ElementKernels.NumericUnary<Op, Double>(op: op))
        case .int32: y = mapElements(ElementKernels.NumericUnary<Op, Int32>(op: op))
        case .int64: y = mapElements(ElementKernels.NumericUnary<Op, Int64>(op: op))
        case .bool: return to(.int64).apply(op)
        }
        return Tensor.needsGrad(self) ? y.recorded(Elementwise.NumericUnary(op), [self]) : y
    }

    /// Stands in for the output in vjps of ops that don't save it: NaN, so an op that reads its
    /// output without declaring `savesOutput` fails its gradient check instead of keeping memory alive.
    static let unsavedOutput = Tensor(scalar: .nan)

    /// The dtype arithmetic between two tensors runs in: promoted, with bool counted as int64.
    static func arithmeticDType(_ a: DType, _ b: DType) -> DType {
        let d = DType.promote(a, b)
        return d == .bool ? .int64 : d
    }

    static func apply<Op: NumericBinaryOp>(_ op: Op, _ a: Tensor, _ b: Tensor) -> Tensor {
        if routed(a, b) { return Tensor.apply(Elementwise.NumericBinary(op), [a, b]) }
        let d = arithmeticDType(a.dtype, b.dtype)
        let (x, y) = (a.to(d), b.to(d))
        let out: Tensor
        switch d {
        case .float32: out = zipElements(x, y, ElementKernels.NumericBinary<Op, Float>(op: op), op: Op.name)
        case .float64: out = zipElements(x, y, ElementKernels.NumericBinary<Op, Double>(op: op), op: Op.name)
        case .int32: out = zipElements(x, y, ElementKernels.NumericBinary<Op, Int32>(op: op), op: Op.name)
        default: out = zipElements(x, y, ElementKernels.NumericBinary<Op, Int64>(op: op), op: Op.name)
        }
        return needsGrad(x, y) ? out.recorded(Elementwise.NumericBinary(op), [x, y]) : out
    }

    static func apply<Op: FloatBinaryOp>(_ op: Op, _ a: Tensor, _ b: Tensor) -> Tensor {
        if routed(a, b) { return Tensor.apply(Elementwise.FloatBinary(op), [a, b]) }
        var d = DType.promote(a.dtype, b.dtype)
        if !d.isFloatingPoint { d = .float32 }
        let (x, y) = (a.to(d), b.to(d))
        let out = d == .float64
            ? zipElements(x, y, ElementKernels.FloatBinary<Op, Double>(op: op), op: Op.name)
            : zipElements(x, y, ElementKernels.FloatBinary<Op, Float>(op: op), op: Op.name)
        return needsGrad(x, y) ? out.recorded(Elementwise.FloatBinary(op), [x, y]) : out
    }

    static func apply<Op: ComparisonOp>(_ op: Op, _ a: Tensor, _ b: Tensor) -> Tensor {
        if routed(a, b) { return Tensor.apply(Elementwise.Compare(op), [a, b]) }
        let d = arithmeticDType(a.dtype, b.dtype)
        let (x, y) = (a.detached().to(d), b.detached().to(d))
        let out: Tensor
        switch d {
        case .float32: out = zipElements(x, y, ElementKernels.Compare<Op, Float>(op: op), op: Op.name)
        case .float64: out = zipElements(x, y, ElementKernels.Compare<Op, Double>(op: op), op: Op.name)
        case .int32: out = zipElements(x, y, ElementKernels.Compare<Op, Int32>(op: op), op: Op.name)
        default: out = zipElements(x, y, ElementKernels.Compare<Op, Int64>(op: op), op: Op.name)
        }
        return needsGrad(a, b) ? out.nonDifferentiable(Op.name) : out
    }

    /// A logical op on the truth values of two tensors.
    static func logical(_ a: Tensor, _ b: Tensor, _ op: Elementwise.LogicalOp) -> Tensor {
        if routed(a, b) { return Tensor.apply(Elementwise.Logical(op: op), [a, b]) }
        let (x, y) = (a.detached().to(.bool), b.detached().to(.bool))
        let out: Tensor
        switch op {
        case .and: out = zipElements(x, y, ElementKernels.And(), op: op.rawValue)
        case .or: out = zipElements(x, y, ElementKernels.Or(), op: op.rawValue)
        case .xor: out = zipElements(x, y, ElementKernels.Xor(), op: op.rawValue)
        }
        return out
    }

    /// Logical not of the truth values.
    func logicalNotElements() -> Tensor {
        if Tensor.routed(self) { return Tensor.apply(Elementwise.LogicalNot(), [self]) }
        let x = detached().to(.bool)
        let out = x.mapElements(ElementKernels.Not())
        return out
    }
}

/// The elementwise ops as primitives: one generic wrapper per kind of op, whose attributes are the
/// op's own (a clamp's bounds).
enum Elementwise {
    struct FloatUnary<Op: FloatUnaryOp>: OpWrapper {
        let op: Op
        init(_ op: Op) { self.op = op }
        var elementwise: ElementwiseKind? { .unary }
        func forward(_ x: [Tensor]) -> Tensor { FusionKernels.apply(self, x) ?? x[0].apply(op) }
    }

    struct NumericUnary<Op: NumericUnaryOp>: OpWrapper {
        let op: Op
        init(_ op: Op) { self.op = op }
        var elementwise: ElementwiseKind? { .unary }
        func forward(_ x: [Tensor]) -> Tensor { FusionKernels.apply(self, x) ?? x[0].apply(op) }
    }

    struct NumericBinary<Op: NumericBinaryOp>: OpWrapper {
        let op: Op
        init(_ op: Op) { self.op = op }
        var elementwise: ElementwiseKind? { .binary }
        func forward(_ x: [Tensor]) -> Tensor { FusionKernels.apply(self, x) ?? Tensor.apply(op, x[0], x[1]) }
    }

    struct FloatBinary<Op: FloatBinaryOp>: OpWrapper {
        let op: Op
        init(_ op: Op) { self.op = op }
        var elementwise: ElementwiseKind? { .binary }
        func forward(_ x: [Tensor]) -> Tensor { FusionKernels.apply(self, x) ?? Tensor.apply(op, x[0], x[1]) }
    }

    /// Comparisons give bool tensors: no gradient.
    struct Compare<Op: ComparisonOp>: OpWrapper {
        let op: Op
        init(_ op: Op) { self.op = op }
        static var name: String { Op.name }
        var elementwise: ElementwiseKind? { .binary }
        func forward(_ x: [Tensor]) -> Tensor { Tensor.apply(op, x[0], x[1]) }
        func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] { [nil, nil] }
    }

    enum LogicalOp: String, Codable, Sendable { case and = "logicalAnd", or = "logicalOr", xor = "logicalXor" }

    /// And, or, xor of truth values (bool result, no gradient).
    struct Logical: Primitive {
        static let name = "logical"
        let op: LogicalOp
        func forward(_ x: [Tensor]) -> Tensor { Tensor.logical(x[0], x[1], op) }
        func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] { [nil, nil] }
    }

    struct LogicalNot: Primitive {
        static let name = "logicalNot"
        func forward(_ x: [Tensor]) -> Tensor { x[0].logicalNotElements() }
        func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] { [nil] }
    }
}

/// An elementwise primitive wrapping one op value: the op's own attributes are the primitive's
/// (its graph-file form is the op's), and the op's name and gradient rule are the primitive's.
protocol OpWrapper: Primitive {
    associatedtype Op: Codable & Sendable
    var op: Op { get }
    init(_ op: Op)
}

extension OpWrapper {
    init(from decoder: Decoder) throws { self.init(try Op(from: decoder)) }
    func encode(to encoder: Encoder) throws { try op.encode(to: encoder) }
}

extension OpWrapper where Op: ElementwiseGradient {
    static var name: String { Op.name }
    var savesOutput: Bool { Op.savesOutput }
}

extension OpWrapper where Op: UnaryGradient {
    func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] { [op.vjp(g, x[0], y)] }
}

extension OpWrapper where Op: BinaryGradient {
    func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] {
        let (ga, gb) = op.vjp(g, x[0], x[1], y, GradNeed(a: x[0].requiresGrad, b: x[1].requiresGrad))
        return [ga?.sumTo(x[0].shape), gb?.sumTo(x[1].shape)]
    }
}

// MARK: Shape rules (see Primitive.outputType)

extension Elementwise.FloatUnary {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 1...1)
        return .init(shape: x[0].shape, dtype: x[0].dtype.isFloatingPoint ? x[0].dtype : .float32)
    }
}

extension Elementwise.NumericUnary {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 1...1)
        return .init(shape: x[0].shape, dtype: x[0].dtype == .bool ? .int64 : x[0].dtype)
    }
}

extension Elementwise.NumericBinary {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 2...2)
        return .init(shape: try ShapeRules.broadcast(x[0].shape, x[1].shape), dtype: Tensor.arithmeticDType(x[0].dtype, x[1].dtype))
    }
}

extension Elementwise.FloatBinary {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 2...2)
        let d = DType.promote(x[0].dtype, x[1].dtype)
        return .init(shape: try ShapeRules.broadcast(x[0].shape, x[1].shape), dtype: d.isFloatingPoint ? d : .float32)
    }
}

extension Elementwise.Compare {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 2...2)
        return .init(shape: try ShapeRules.broadcast(x[0].shape, x[1].shape), dtype: .bool)
    }
}

extension Elementwise.Logical {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 2...2)
        return .init(shape: try ShapeRules.broadcast(x[0].shape, x[1].shape), dtype: .bool)
    }
}

extension Elementwise.LogicalNot {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 1...1)
        return .init(shape: x[0].shape, dtype: .bool)
    }
}
