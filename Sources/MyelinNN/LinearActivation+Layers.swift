import MyelinCore

// The activation layers the batch-1 linear kernel applies in its epilogue (`Tensor.fusedLinear`),
// and the ops it stands for when it declines.
extension LinearActivation {
    /// The epilogue doing what `layer` does, or nil when `layer` is not such an activation.
    init?(layer: Module) {
        switch layer {
        case is ReLU: self = .relu
        case let l as LeakyReLU: self = .leakyRelu(slope: l.slope)
        default: return nil
        }
    }

    /// The activation as the ordinary op on `x`: what the kernel's epilogue reproduces.
    func applied(to x: Tensor) -> Tensor {
        switch self {
        case .identity: return x
        case .relu: return x.relu()
        case .leakyRelu(let slope): return x.leakyRelu(slope: slope)
        }
    }
}
