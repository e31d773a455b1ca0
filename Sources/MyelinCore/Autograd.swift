#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reverse-mode automatic differentiation, define-by-run as in PyTorch: ops on tensors that require
/// gradients record a `GraphNode` with the vector-Jacobian product (vjp) of the op; `backward()`
/// walks the recorded graph from the output back to the leaves, applying the chain rule.
///
/// Each op's vjp is written next to its forward (see the op files) in terms of other tensor ops,
/// so differentiating with `createGraph: true` records the backward pass too, which gives
/// gradients of gradients.

/// Whether ops record the graph. Off inside `withoutGrad { }` and during `backward()` (unless
/// `createGraph` is set).
///
/// The mode is per thread, as in PyTorch: a `withoutGrad` scope on one thread does not change what
/// another thread records.
public enum GradMode {
    /// Thread-local flag: no value (the default) means recording is on.
    private static let key: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k, nil)
        return k
    }()

    static var enabled: Bool {
        @inline(__always) get { pthread_getspecific(key) == nil }
        set { pthread_setspecific(key, newValue ? nil : UnsafeRawPointer(bitPattern: 1)) }
    }

    /// True while ops record the graph for tensors that require gradients.
    public static var isEnabled: Bool { enabled }
}

/// Runs `body` without recording the graph: for inference and optimiser updates.
///
/// ```swift
/// let prediction = withoutGrad { model(x) }
/// ```
public func withoutGrad<R>(_ body: () throws -> R) rethrows -> R {
    let saved = GradMode.enabled
    GradMode.enabled = false
    defer { GradMode.enabled = saved }
    return try body()
}

/// Runs `body` with recording forced on (inside a `withoutGrad` scope, say).
public func withGrad<R>(_ body: () throws -> R) rethrows -> R {
    let saved = GradMode.enabled
    GradMode.enabled = true
    defer { GradMode.enabled = saved }
    return try body()
}

/// The autograd identity of a tensor: shared by copies of the same tensor value, as a PyTorch
/// tensor object is, so `.grad` set by `backward()` is seen through every copy.
public final class GradState {
    /// False for outputs of non-differentiable ops, kept only to explain the error if asked.
    let requiresGrad: Bool
    /// The accumulated gradient of a leaf (or of a non-leaf that retains it).
    var grad: Tensor?
    /// How this tensor was computed; nil for leaves.
    let node: GraphNode?
    var retainsGrad = false
    var hooks: [(Tensor) -> Tensor?] = []
    /// Name of the non-differentiable op that produced a tensor from differentiable inputs.
    let nonDifferentiableOp: String?
    /// A display name for graph descriptions (`x.name = "w1"`).
    var name: String?
    /// Gradient gathered for this tensor during the running backward pass.
    var pending: Tensor?
    /// The backward pass that last visited this state (saves a hash set per pass).
    var visitMark = 0

    init(node: GraphNode?, requiresGrad: Bool = true, nonDifferentiableOp: String? = nil) {
        self.node = node
        self.requiresGrad = requiresGrad
        self.nonDifferentiableOp = nonDifferentiableOp
    }

    var isLeaf: Bool { node == nil }
}

/// One recorded op: the primitive, its inputs as they were given (with their autograd states, so a
/// backward pass with `createGraph` differentiates through them) and, when the vjp reads it, its output.
final class GraphNode {
    let primitive: any Primitive
    /// One entry per input; nil where the input does not require a gradient.
    let inputs: [GradState?]
    let inputShapes: [[Int]]
    let outputShape: [Int]
    /// The inputs the vjp reads; emptied when the graph is freed.
    var saved: [Tensor]?
    /// The output's values, kept (without its autograd state, to avoid a cycle) for vjps that use them.
    var savedOutput: Tensor?

    var op: String { primitive.name }

    init(primitive: any Primitive, inputs: [Tensor], outputShape: [Int]) {
        self.primitive = primitive
        self.inputs = inputs.map { ($0.gradState?.requiresGrad ?? false) ? $0.gradState : nil }
        self.inputShapes = inputs.map(\.shape)
        self.outputShape = outputShape
        self.saved = inputs
    }

    /// The primitive's gradients for the upstream gradient `g`, checked against the inputs' shapes.
    func vjp(_ g: Tensor, output: Tensor?) -> [Tensor?] {
        guard let saved else {
            fatalError("[backward] the graph through \(op) was already freed by an earlier backward(); pass retainGraph: true to keep it")
        }
        let grads = primitive.vjp(g, saved, output ?? Tensor.unsavedOutput)
        if grads.count != saved.count {
            fatalError("[\(op)] vjp returned \(grads.count) gradients for \(saved.count) inputs")
        }
        for (gi, x) in zip(grads, saved) where gi != nil && gi!.shape != x.shape {
            fatalError("[\(op)] vjp returned a gradient of shape \(gi!.shape) for an input of shape \(x.shape)")
        }
        return grads
    }
}

extension Tensor {
    /// True when grad mode is on and any of the tensors requires a gradient: the fast check every
    /// op makes before recording anything.
    @inline(__always)
    static func needsGrad(_ a: Tensor) -> Bool {
        (a.gradState?.requiresGrad ?? false) && GradMode.enabled
    }

    @inline(__always)
    static func needsGrad(_ a: Tensor, _ b: Tensor) -> Bool {
        ((a.gradState?.requiresGrad ?? false) || (b.gradState?.requiresGrad ?? false)) && GradMode.enabled
    }

    static func needsGrad(_ tensors: [Tensor]) -> Bool {
        tensors.contains { $0.gradState?.requiresGrad ?? false } && GradMode.enabled
    }

    /// This tensor, the output of `primitive` applied to `inputs`, recorded: in the active trace when
    /// one runs, and with a graph node attached when an input requires a gradient (and grad mode is on).
    ///
    /// Ops compute their output first (with recording off), then call this.
    func recorded<P: Primitive>(_ primitive: P, _ inputs: [Tensor]) -> Tensor {
        var out = self
        if Recording.tracing { out = Recording.trace(primitive, inputs, out) }
        guard Tensor.needsGrad(inputs) else { return out }
        if !dtype.isFloatingPoint {
            return out.nonDifferentiable(primitive.name)
        }
        let node = GraphNode(primitive: primitive, inputs: inputs, outputShape: shape)
        if primitive.savesOutput { node.savedOutput = out.detached() }
        out.gradState = GradState(node: node)
        return out
    }

    /// This tensor marked as the output of a non-differentiable op applied to inputs that required
    /// gradients, so `backward()` can say why there is no gradient.
    func nonDifferentiable(_ op: String) -> Tensor {
        var out = self
        out.gradState = GradState(node: nil, requiresGrad: false, nonDifferentiableOp: op)
        return out
    }

    /// The same values with no autograd history (shares memory).
    ///
    /// ```swift
    /// let target = prediction.detached()   // gradients stop here
    /// ```
    public func detached() -> Tensor {
        if gradState == nil { return self }
        var t = self
        t.gradState = nil
        return t
    }

    /// Sums a broadcast gradient back to `target` shape: over leading axes and over axes where the
    /// target had size 1. The vjp of every broadcasting op ends with this.
    func sumTo(_ target: [Int]) -> Tensor {
        if shape == target { return self }
        let lead = rank - target.count
        var axes = Array(0..<lead)
        for i in 0..<target.count where target[i] == 1 && shape[lead + i] != 1 { axes.append(lead + i) }
        var s = sum(axes: axes, keepDims: true)
        if lead > 0 || s.shape != target { s = s.reshape(target) }
        return s
    }
}
