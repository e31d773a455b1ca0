import RealModule

// Elementwise ops, one small type each, holding the forward (`callAsFunction`, specialised into the
// loops of Kernels.swift so there is no per-element dispatch) next to its vector-Jacobian product
// (`vjp`, written with tensor ops so it is differentiable again). Adding an op: a type here, a
// method in Tensor+Elementwise.swift, a row in the tests' op table.

/// An elementwise op's gradient rule: `vjp(g, inputs..., output)` gives the input gradients.
protocol ElementwiseGradient {
    /// The name shown in the graph and in error messages.
    static var name: String { get }
    /// Whether the vjp reads the op's output (kept with the graph node).
    static var savesOutput: Bool { get }
}
extension ElementwiseGradient {
    static var savesOutput: Bool { false }
}

/// A unary op on floating-point elements; integer and bool inputs are computed in float32.
protocol FloatUnaryOp: ElementwiseGradient {
    func callAsFunction<T: FloatElement>(_ x: T) -> T
    func vjp(_ g: Tensor, _ x: Tensor, _ y: Tensor) -> Tensor
}

/// A unary op on every numeric dtype; bool inputs are computed in int64.
protocol NumericUnaryOp: ElementwiseGradient {
    func callAsFunction<T: NumericElement>(_ x: T) -> T
    func vjp(_ g: Tensor, _ x: Tensor, _ y: Tensor) -> Tensor
}

/// Which operands of a binary op want a gradient: the vjp skips the others' work.
struct GradNeed {
    let a: Bool, b: Bool
}

/// A binary op computed in the operands' promoted numeric dtype.
protocol NumericBinaryOp: ElementwiseGradient {
    func callAsFunction<T: NumericElement>(_ a: T, _ b: T) -> T
    /// Gradients in the broadcast shape, computed only for the operands `need` names; the caller
    /// sums them back to each operand's shape.
    func vjp(_ g: Tensor, _ a: Tensor, _ b: Tensor, _ y: Tensor, _ need: GradNeed) -> (Tensor?, Tensor?)
}

/// A binary op computed in floating point (integer operands are promoted to float32).
protocol FloatBinaryOp: ElementwiseGradient {
    func callAsFunction<T: FloatElement>(_ a: T, _ b: T) -> T
    func vjp(_ g: Tensor, _ a: Tensor, _ b: Tensor, _ y: Tensor, _ need: GradNeed) -> (Tensor?, Tensor?)
}

/// A comparison of two numeric elements giving a bool (not differentiable).
protocol ComparisonOp {
    static var name: String { get }
    func callAsFunction<T: NumericElement>(_ a: T, _ b: T) -> Bool
}

enum UnaryOps {
    struct Exp: FloatUnaryOp {
        static let name = "exp", savesOutput = true
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
        func callAsFunction<T: FloatElement>(_ x: T) -> T { .tanh(x) }
        func vjp(_ g: Tensor, _ x: Tensor, _ y: Tensor) -> Tensor { g * (1 - y * y) }
    }
    /// 1 / (1 + e^-x): exp(-x) overflows to +inf for very negative x, giving exactly 0, never NaN.
    struct Sigmoid: FloatUnaryOp {
        static let name = "sigmoid", savesOutput = true
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
        func callAsFunction<T: NumericElement>(_ x: T) -> T { T.wrappingNegate(x) }
        func vjp(_ g: Tensor, _ x: Tensor, _ y: Tensor) -> Tensor { -g }
    }
    /// The gradient at 0 is 0 (sign(0)), as in PyTorch.
    struct Abs: NumericUnaryOp {
        static let name = "abs"
        func callAsFunction<T: NumericElement>(_ x: T) -> T { x < 0 ? T.wrappingNegate(x) : x }
        func vjp(_ g: Tensor, _ x: Tensor, _ y: Tensor) -> Tensor { g * x.sign() }
    }
    struct Square: NumericUnaryOp {
        static let name = "square"
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
        func callAsFunction<T: NumericElement>(_ a: T, _ b: T) -> T { T.wrappingAdd(a, b) }
        func vjp(_ g: Tensor, _ a: Tensor, _ b: Tensor, _ y: Tensor, _ need: GradNeed) -> (Tensor?, Tensor?) { (g, g) }
    }
    struct Sub: NumericBinaryOp {
        static let name = "sub"
        func callAsFunction<T: NumericElement>(_ a: T, _ b: T) -> T { T.wrappingSub(a, b) }
        func vjp(_ g: Tensor, _ a: Tensor, _ b: Tensor, _ y: Tensor, _ need: GradNeed) -> (Tensor?, Tensor?) { (g, need.b ? -g : nil) }
    }
    struct Mul: NumericBinaryOp {
        static let name = "mul"
        func callAsFunction<T: NumericElement>(_ a: T, _ b: T) -> T { T.wrappingMul(a, b) }
        func vjp(_ g: Tensor, _ a: Tensor, _ b: Tensor, _ y: Tensor, _ need: GradNeed) -> (Tensor?, Tensor?) {
            (need.a ? g * b : nil, need.b ? g * a : nil)
        }
    }
    /// NaN in either operand gives NaN, as in NumPy's `maximum`; ties split the gradient in half, as PyTorch does.
    struct Maximum: NumericBinaryOp {
        static let name = "maximum"
        func callAsFunction<T: NumericElement>(_ a: T, _ b: T) -> T { (a != a || a > b) ? a : b }
        func vjp(_ g: Tensor, _ a: Tensor, _ b: Tensor, _ y: Tensor, _ need: GradNeed) -> (Tensor?, Tensor?) {
            let share = (a .> b).to(g.dtype) + (a .== b).to(g.dtype) * 0.5
            return (g * share, g * (1 - share))
        }
    }
    struct Minimum: NumericBinaryOp {
        static let name = "minimum"
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

// Dtype dispatch: one switch per op call, then a specialised loop; then the graph node, if any
// input requires a gradient.
extension Tensor {
    func apply<Op: FloatUnaryOp>(_ op: Op) -> Tensor {
        let y: Tensor
        switch dtype {
        case .float32: y = mapElements(ElementKernels.FloatUnary<Op, Float>(op: op))
        case .float64: y = mapElements(ElementKernels.FloatUnary<Op, Double>(op: op))
        default: return to(.float32).apply(op)
        }
        guard Tensor.needsGrad(self) else { return y }
        let x = self
        return y.recorded(Op.name, [x], savesOutput: Op.savesOutput) { g, out in [op.vjp(g, x, out ?? Tensor.unsavedOutput)] }
    }

    func apply<Op: NumericUnaryOp>(_ op: Op) -> Tensor {
        let y: Tensor
        switch dtype {
        case .float32: y = mapElements(ElementKernels.NumericUnary<Op, Float>(op: op))
        case .float64: y = mapElements(ElementKernels.NumericUnary<Op, Double>(op: op))
        case .int32: return mapElements(ElementKernels.NumericUnary<Op, Int32>(op: op))
        case .int64: return mapElements(ElementKernels.NumericUnary<Op, Int64>(op: op))
        case .bool: return to(.int64).apply(op)
        }
        guard Tensor.needsGrad(self) else { return y }
        let x = self
        return y.recorded(Op.name, [x], savesOutput: Op.savesOutput) { g, out in [op.vjp(g, x, out ?? Tensor.unsavedOutput)] }
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
        let d = arithmeticDType(a.dtype, b.dtype)
        let (x, y) = (a.to(d), b.to(d))
        let out: Tensor
        switch d {
        case .float32: out = zipElements(x, y, ElementKernels.NumericBinary<Op, Float>(op: op), op: Op.name)
        case .float64: out = zipElements(x, y, ElementKernels.NumericBinary<Op, Double>(op: op), op: Op.name)
        case .int32: return zipElements(x, y, ElementKernels.NumericBinary<Op, Int32>(op: op), op: Op.name)
        default: return zipElements(x, y, ElementKernels.NumericBinary<Op, Int64>(op: op), op: Op.name)
        }
        guard needsGrad(x, y) else { return out }
        let need = GradNeed(a: x.requiresGrad, b: y.requiresGrad)
        return out.recorded(Op.name, [x, y], savesOutput: Op.savesOutput) { g, saved in
            let (ga, gb) = op.vjp(g, x, y, saved ?? Tensor.unsavedOutput, need)
            return [ga?.sumTo(x.shape), gb?.sumTo(y.shape)]
        }
    }

    static func apply<Op: FloatBinaryOp>(_ op: Op, _ a: Tensor, _ b: Tensor) -> Tensor {
        var d = DType.promote(a.dtype, b.dtype)
        if !d.isFloatingPoint { d = .float32 }
        let (x, y) = (a.to(d), b.to(d))
        let out = d == .float64
            ? zipElements(x, y, ElementKernels.FloatBinary<Op, Double>(op: op), op: Op.name)
            : zipElements(x, y, ElementKernels.FloatBinary<Op, Float>(op: op), op: Op.name)
        guard needsGrad(x, y) else { return out }
        let need = GradNeed(a: x.requiresGrad, b: y.requiresGrad)
        return out.recorded(Op.name, [x, y], savesOutput: Op.savesOutput) { g, saved in
            let (ga, gb) = op.vjp(g, x, y, saved ?? Tensor.unsavedOutput, need)
            return [ga?.sumTo(x.shape), gb?.sumTo(y.shape)]
        }
    }

    static func apply<Op: ComparisonOp>(_ op: Op, _ a: Tensor, _ b: Tensor) -> Tensor {
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
    static func logical<K: ZipKernel>(_ a: Tensor, _ b: Tensor, _ k: K, name: String) -> Tensor where K.In == Bool {
        zipElements(a.detached().to(.bool), b.detached().to(.bool), k, op: name)
    }
}
