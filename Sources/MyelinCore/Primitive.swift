/// One primitive operation: its name, its attributes, its forward and its vector-Jacobian product.
///
/// Every public op is a primitive or is composed of primitives. A primitive is a small Codable value
/// (its stored properties are the attributes: axes, strides, padding, ...), so a recorded graph is
/// data: the autograd graph holds primitives and the tensors they saved, a traced graph (`trace`)
/// holds primitives and value numbers, and both can be printed, saved and replayed.
///
/// `forward` receives inputs without autograd history and runs with recording off; `vjp` is written
/// with tensor ops, so a backward pass run with `createGraph: true` is itself recorded (gradients of
/// gradients). Inputs that are not differentiable (indices, masks, conditions) are inputs too, so a
/// replay has every value it needs; their vjp entry is nil.
///
/// A user-written primitive (a custom op) conforms to this protocol and registers itself so that
/// graphs that name it can be loaded:
///
/// ```swift
/// struct Cube: Primitive {
///     static let name = "user.cube"
///     func forward(_ x: [Tensor]) -> Tensor { x[0] * x[0] * x[0] }
///     func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] { [g * x[0] * x[0] * 3] }
/// }
/// PrimitiveRegistry.register(Cube.self)
/// let y = Tensor.apply(Cube(), [x])
/// ```
public protocol Primitive: Codable, Sendable {
    /// The name a graph file and error messages use; user primitives should use a prefix (`"user.cube"`).
    static var name: String { get }
    /// The name shown in printed graphs and `gradFunctionName`: the static name unless the
    /// attributes refine it (`max` and `min` are one primitive; a custom op shows its own name).
    var name: String { get }
    /// Whether the vjp reads the forward's output (kept alive in the graph only then).
    var savesOutput: Bool { get }
    /// The output computed from inputs without autograd history (recording is off).
    func forward(_ inputs: [Tensor]) -> Tensor
    /// One gradient per input, in the input's shape, or nil for an input that gets none (check
    /// `inputs[i].requiresGrad` to skip work). `output` is NaN unless `savesOutput`.
    func vjp(_ gradient: Tensor, _ inputs: [Tensor], _ output: Tensor) -> [Tensor?]
    /// The output's shape and dtype for inputs of these types, throwing where `forward` would trap
    /// (a loaded graph is checked with it before it runs, and evaluated at other batch sizes to find
    /// which dimensions follow the batch); nil when the primitive has no rule.
    func outputType(_ inputs: [Graph.ValueType]) throws -> Graph.ValueType?
    /// A short description of the attributes for printed graphs (`axes=[1] keepDims=true`).
    var attributeDescription: String { get }
    /// Whether this is an elementwise op that the fusion pass may merge into one loop.
    var elementwise: ElementwiseKind? { get }
}

extension Primitive {
    public var savesOutput: Bool { false }
    public var name: String { Self.name }
    public var attributeDescription: String { PrimitiveAttributes.describe(self) }
    public var elementwise: ElementwiseKind? { nil }
}

/// How an elementwise primitive combines its inputs, for the fusion pass.
public enum ElementwiseKind: Sendable {
    case unary, binary
}

extension Tensor {
    /// Applies a primitive: runs its forward with recording off (on the backend of the inputs'
    /// device when it is not the CPU) and records it (in the autograd graph when an input requires
    /// a gradient, in the active trace when one is running).
    ///
    /// ```swift
    /// let y = Tensor.apply(Cube(), [x])
    /// ```
    public static func apply<P: Primitive>(_ primitive: P, _ inputs: [Tensor]) -> Tensor {
        let out = Recording.suspended { Backends.forward(primitive, inputs.map { $0.detached() }) }
        return out.recorded(primitive, inputs)
    }

    /// True when an op on these inputs must record itself: an input requires a gradient (and grad
    /// mode is on) or a trace is running on this thread. The check every op makes first.
    @inline(__always)
    static func records(_ a: Tensor) -> Bool {
        needsGrad(a) || Recording.tracing
    }

    @inline(__always)
    static func records(_ a: Tensor, _ b: Tensor) -> Bool {
        needsGrad(a, b) || Recording.tracing
    }

    static func records(_ tensors: [Tensor]) -> Bool {
        needsGrad(tensors) || Recording.tracing
    }
}

/// Describes a primitive's attributes from its Codable encoding (`axes=[1] keepDims=true`).
enum PrimitiveAttributes {
    static func describe<P: Primitive>(_ p: P) -> String {
        guard let json = try? GraphCoding.attributesJSON(p), json != "{}" else { return "" }
        return json
    }
}
