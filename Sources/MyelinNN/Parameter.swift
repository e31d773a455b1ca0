/// A trainable tensor held by reference: layers own their parameters, optimisers update the same
/// objects, and gradients land in `value.grad`.
///
/// `Tensor` is a value; `Parameter` gives it the shared identity PyTorch's `nn.Parameter` has, so a
/// model and its optimiser see one set of weights.
///
/// ```swift
/// let w = Parameter(Tensor.randn([3, 2]))
/// let y = x.matmul(w.value)
/// y.sum().backward()
/// print(w.grad!)
/// ```
public final class Parameter {
    /// The current values; a leaf of the graph that requires gradients (unless frozen).
    public var value: Tensor { didSet { generation &+= 1 } }

    /// Changes each time `value` is set or mutated through this property (optimiser steps,
    /// `assign`, new gradients): what a layer's cached copy of the values (a packed weight) checks.
    public private(set) var generation = 0

    /// A parameter holding `value` (converted to a leaf that requires gradients).
    public init(_ value: Tensor, requiresGrad: Bool = true) {
        self.value = value.detached().contiguous()
        if requiresGrad { self.value.requiresGrad = true }
    }

    /// The gradient accumulated by the last backward passes, or nil.
    public var grad: Tensor? {
        get { value.grad }
        set { value.grad = newValue }
    }

    /// Whether gradients flow to this parameter; `false` freezes it.
    public var requiresGrad: Bool {
        get { value.requiresGrad }
        set {
            if newValue != value.requiresGrad { value = value.requiringGrad(newValue) }
        }
    }

    public var shape: [Int] { value.shape }
    public var count: Int { value.count }
    public var dtype: DType { value.dtype }

    /// Overwrites the values in place, keeping the autograd identity (for optimisers and loading).
    /// The new values must have the parameter's shape.
    public func assign(_ newValue: Tensor) {
        if newValue.shape != value.shape {
            fatalError("[parameter] cannot assign a tensor of shape \(newValue.shape) to a parameter of shape \(value.shape)")
        }
        withoutGrad { value[.ellipsis] = newValue.detached() }
    }
}
