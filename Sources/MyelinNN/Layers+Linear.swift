/// A fully connected layer: `y = x Wᵀ + b`, with W of shape [outputSize, inputSize] as in PyTorch
/// (so weights load from and save to PyTorch unchanged). Works on any leading dimensions.
///
/// ```swift
/// let layer = Linear(784, 10)
/// layer(Tensor.randn([32, 784])).shape    // [32, 10]
/// ```
public final class Linear: Module {
    public let weight: Parameter
    public let bias: Parameter?
    public let inputSize: Int, outputSize: Int

    /// PyTorch's default initialisation: weights and bias uniform in ±1/√inputSize.
    public init(_ inputSize: Int, _ outputSize: Int, bias: Bool = true,
                weightInit: Initializer? = nil, biasInit: Initializer? = nil,
                generator: RandomGenerator = Random.global) {
        if inputSize < 0 || outputSize < 0 {
            fatalError("[linear] sizes must be non-negative, got \(inputSize) -> \(outputSize)")
        }
        self.inputSize = inputSize
        self.outputSize = outputSize
        let bound = inputSize > 0 ? 1 / Double(inputSize).squareRoot() : 0
        let wInit = weightInit ?? .kaimingUniform(a: 5.0.squareRoot())
        weight = Parameter(inputSize > 0 ? wInit.make([outputSize, inputSize], generator: generator)
                                         : Tensor.zeros([outputSize, inputSize]))
        self.bias = bias ? Parameter((biasInit ?? .uniform(low: -bound, high: bound)).make([outputSize], generator: generator)) : nil
        super.init()
    }

    /// Keep the weight packed for the matrix kernel between calls without gradients (inference),
    /// rather than packing it in every product: batch-1 transformer inference ran 1.5x as fast.
    /// The pack is made again whenever the weight changes through its `Parameter` (optimiser
    /// steps, `assign`, loading); writing into the weight's memory by other means while this is on
    /// leaves a stale pack. Off by default; `SentenceEncoder` turns it on.
    public var packsWeightForInference = false {
        didSet { if !packsWeightForInference { packedWeight = nil } }
    }
    private var packedWeight: PackedLinearWeight?
    private var packedGeneration = 0

    public override func forward(_ input: Tensor) -> Tensor {
        forward(input, then: .identity)
    }

    /// This layer followed by `activation` (an activation layer after it in a `Sequential`, say),
    /// as one kernel call where `Tensor.fusedLinear` takes it (a single row without gradients),
    /// else the layer and then the activation's op. The same bits either way.
    public func forward(_ input: Tensor, then activation: LinearActivation) -> Tensor {
        if input.shape.last != inputSize {
            fatalError("[linear] expected inputs with \(inputSize) features in the last dimension, got shape \(input.shape)")
        }
        if let y = input.fusedLinear(weight: weight.value, bias: bias?.value, activation: activation) { return y }
        // Where the fused kernel declines, it declines for every activation: the product alone.
        let packed = packsWeightForInference ? packedForward(input) : nil
        return activation.applied(to: packed ?? input.linear(weight: weight.value, bias: bias?.value))
    }

    /// The product through the packed weight when nothing needs gradients, or nil.
    private func packedForward(_ input: Tensor) -> Tensor? {
        if input.dtype != .float32 || weight.dtype != .float32 { return nil }
        if GradMode.isEnabled && (input.requiresGrad || weight.requiresGrad || bias?.requiresGrad == true) { return nil }
        if packedWeight == nil || packedGeneration != weight.generation {
            packedWeight = PackedLinearWeight(weight.value)
            packedGeneration = weight.generation
        }
        guard let p = packedWeight else { return nil }
        return input.linear(packed: p, bias: bias?.value)
    }
}

/// Keras's `Dense`: a `Linear` layer whose input size is read from the first input, with an
/// optional activation applied after it.
///
/// ```swift
/// let model = Sequential { Dense(64, activation: .relu); Dense(10) }
/// model(Tensor.randn([8, 20]))      // builds 20 -> 64 -> 10 on this first call
/// ```
/// Parameters exist after the first call (or `build(inputSize:)`): create the optimiser after it.
public final class Dense: Module {
    public let units: Int
    public let activation: Activation
    public let useBias: Bool
    public private(set) var linear: Linear?
    private let generator: RandomGenerator

    /// Activations a `Dense` layer can apply.
    public enum Activation: Sendable {
        case none, relu, sigmoid, tanh, gelu, silu, softmax
        case leakyRelu(slope: Double)
        case elu(alpha: Double)
        case custom(@Sendable (Tensor) -> Tensor)

        func apply(_ x: Tensor) -> Tensor {
            switch self {
            case .none: return x
            case .relu: return x.relu()
            case .sigmoid: return x.sigmoid()
            case .tanh: return x.tanh()
            case .gelu: return x.gelu()
            case .silu: return x.silu()
            case .softmax: return x.softmax(axis: -1)
            case .leakyRelu(let slope): return x.leakyRelu(slope: slope)
            case .elu(let alpha): return x.elu(alpha: alpha)
            case .custom(let f): return f(x)
            }
        }

        /// The same activation as the linear kernel's epilogue, or nil when it has none.
        var linearActivation: LinearActivation? {
            switch self {
            case .none: return .identity
            case .relu: return .relu
            case .leakyRelu(let slope): return .leakyRelu(slope: slope)
            default: return nil
            }
        }
    }

    public init(_ units: Int, activation: Activation = .none, useBias: Bool = true, generator: RandomGenerator = Random.global) {
        self.units = units
        self.activation = activation
        self.useBias = useBias
        self.generator = generator
        super.init()
    }

    /// Creates the weights for inputs with `inputSize` features (done by the first call otherwise).
    public func build(inputSize: Int) {
        if let linear {
            if linear.inputSize != inputSize {
                fatalError("[dense] built for \(linear.inputSize) input features, got \(inputSize)")
            }
            return
        }
        linear = Linear(inputSize, units, bias: useBias, generator: generator)
    }

    public override func forward(_ input: Tensor) -> Tensor {
        guard let features = input.shape.last else { fatalError("[dense] needs inputs with at least 1 dimension, got a scalar") }
        build(inputSize: features)
        // Activations the linear kernel applies itself run with the product (batch-1 inference).
        if ModuleSummaryRecorder.current == nil, let fused = activation.linearActivation {
            return linear!.forward(input, then: fused)
        }
        return activation.apply(linear!(input))
    }
}
