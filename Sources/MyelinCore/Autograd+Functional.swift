import Synchronization
// Differentiating closures, higher-order gradients and user-defined differentiable functions.

/// The value of `f` at `inputs` and its gradient with respect to each input; `f` must return a
/// single-element tensor. Leaves' `.grad` are not touched.
///
/// ```swift
/// let (loss, grads) = valueAndGrad(at: [w, b]) { p in ((x.matmul(p[0]) + p[1]) - y).square().mean() }
/// ```
public func valueAndGrad(at inputs: [Tensor], createGraph: Bool = false,
                         _ f: ([Tensor]) -> Tensor) -> (value: Tensor, gradients: [Tensor]) {
    let leaves = inputs.map { $0.requiresGrad ? $0 : $0.requiringGrad() }
    let value = withGrad { f(leaves) }
    if value.count != 1 {
        fatalError("[valueAndGrad] the function must return a single-element tensor, got shape \(value.shape)")
    }
    let grads = gradients(of: value, with: leaves, createGraph: createGraph)
    return (createGraph ? value : value.detached(), grads)
}

/// The gradient of `f` at `inputs` with respect to each input (see `valueAndGrad`).
public func grad(at inputs: [Tensor], createGraph: Bool = false, _ f: ([Tensor]) -> Tensor) -> [Tensor] {
    valueAndGrad(at: inputs, createGraph: createGraph, f).gradients
}

/// d(output)/d(input) for each input, as `torch.autograd.grad`: inputs the output does not depend
/// on get zeros. With `createGraph` the gradients carry a graph of their own, so they can be
/// differentiated again (gradient penalties, Hessian-vector products).
///
/// ```swift
/// let x = Tensor([1.0, 2.0]).requiringGrad()
/// let y = (x * x * x).sum()
/// let dx = gradients(of: y, with: [x], createGraph: true)[0]   // 3x²
/// let d2x = gradients(of: dx.sum(), with: [x])[0]               // 6x
/// ```
public func gradients(of output: Tensor, with inputs: [Tensor], gradient: Tensor? = nil,
                      retainGraph: Bool? = nil, createGraph: Bool = false) -> [Tensor] {
    guard let root = output.gradState, root.requiresGrad else {
        fatalError("[gradients] the output does not require gradients: none of its inputs has requiresGrad set")
    }
    let seed = gradient ?? Tensor.ones(output.shape, dtype: output.dtype)
    if seed.shape != output.shape {
        fatalError("[gradients] gradient shape \(seed.shape) does not match the output's shape \(output.shape)")
    }
    let targets = inputs.map { t -> GradState in
        guard let s = t.gradState, s.requiresGrad else {
            fatalError("[gradients] an input of shape \(t.shape) does not require gradients")
        }
        return s
    }
    let grads = Autograd.run(roots: [root], gradients: [seed], retainGraph: retainGraph ?? createGraph,
                             createGraph: createGraph, targets: targets)
    return zip(grads, inputs).map { g, x in g ?? Tensor.zeros(x.shape, dtype: x.dtype) }
}

extension Tensor {
    /// A differentiable function defined by the user: `forward` computes the output from the inputs
    /// (without recording), `backward` maps the upstream gradient (with the inputs and the output) to
    /// one gradient per input, or nil for inputs that get none.
    ///
    /// The op is a primitive named `name` (registered, so a graph that uses it can be replayed and
    /// loaded while this process has run it or `CustomOp.register` was called with the name).
    ///
    /// ```swift
    /// // y = x³ with a hand-written derivative
    /// let y = Tensor.custom("cube", [x], forward: { $0[0] * $0[0] * $0[0] },
    ///                       backward: { g, xs, _ in [g * xs[0] * xs[0] * 3] })
    /// ```
    public static func custom(_ name: String, _ inputs: [Tensor], forward: @escaping @Sendable ([Tensor]) -> Tensor,
                              backward: @escaping @Sendable (_ gradient: Tensor, _ inputs: [Tensor], _ output: Tensor) -> [Tensor?]) -> Tensor {
        let op = CustomOp.register(name, forward: forward, backward: backward)
        return Tensor.apply(op, inputs)
    }
}

/// A primitive made of closures (`Tensor.custom`): in a graph it is its registered name.
public struct CustomOp: Primitive {
    public static let name = "custom"
    /// The user's name for the op (`gradFunctionName`, printed graphs, graph files).
    public let opName: String
    let forwardBody: @Sendable ([Tensor]) -> Tensor
    let backwardBody: @Sendable (Tensor, [Tensor], Tensor) -> [Tensor?]

    public var name: String { opName }
    public var savesOutput: Bool { true }
    public func forward(_ inputs: [Tensor]) -> Tensor { forwardBody(inputs) }
    public func vjp(_ gradient: Tensor, _ inputs: [Tensor], _ output: Tensor) -> [Tensor?] {
        backwardBody(gradient, inputs, output)
    }

    private static let registered = Mutex<[String: CustomOp]>([:])

    init(opName: String, forwardBody: @escaping @Sendable ([Tensor]) -> Tensor,
         backwardBody: @escaping @Sendable (Tensor, [Tensor], Tensor) -> [Tensor?]) {
        self.opName = opName
        self.forwardBody = forwardBody
        self.backwardBody = backwardBody
    }

    /// Registers (or replaces) the closures behind `name`, for graphs that name it.
    @discardableResult
    public static func register(_ name: String, forward: @escaping @Sendable ([Tensor]) -> Tensor,
                                backward: @escaping @Sendable (Tensor, [Tensor], Tensor) -> [Tensor?]) -> CustomOp {
        let op = CustomOp(opName: name, forwardBody: forward, backwardBody: backward)
        registered.withLock { $0[name] = op }
        return op
    }

    enum CodingKeys: String, CodingKey { case opName = "name" }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let name = try c.decode(String.self, forKey: .opName)
        guard let op = CustomOp.registered.withLock({ $0[name] }) else {
            throw GraphError(reason: "the graph uses the custom op '\(name)', which this program has not registered (CustomOp.register or Tensor.custom)")
        }
        self = op
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(opName, forKey: .opName)
    }
}
