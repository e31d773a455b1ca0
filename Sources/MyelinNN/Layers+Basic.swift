/// Randomly zeroes elements with probability `p` in training and scales the rest by 1/(1-p)
/// (inverted dropout), so evaluation is the identity.
///
/// ```swift
/// let drop = Dropout(0.2)
/// drop.eval()
/// drop(x) == x
/// ```
public final class Dropout: Module {
    public let p: Double
    private let generator: RandomGenerator

    public init(_ p: Double = 0.5, generator: RandomGenerator = Random.global) {
        if !(0...1).contains(p) { fatalError("[dropout] probability must be in [0, 1], got \(p)") }
        self.p = p
        self.generator = generator
        super.init()
    }

    public override func forward(_ input: Tensor) -> Tensor {
        if !isTraining || p == 0 { return input }
        if p == 1 { return input * 0 }
        let keep = Tensor.bernoulli(input.shape, p: 1 - p, dtype: input.dtype, generator: generator)
        return input * (keep / (1 - p))
    }
}

/// Flattens dimensions `startAxis...endAxis` into one (by default all but the batch dimension).
public final class Flatten: Module {
    public let startAxis: Int, endAxis: Int

    public init(startAxis: Int = 1, endAxis: Int = -1) {
        self.startAxis = startAxis
        self.endAxis = endAxis
        super.init()
    }

    public override func forward(_ input: Tensor) -> Tensor { input.flattened(from: startAxis, to: endAxis) }
}

/// Returns its input unchanged (a placeholder layer).
public final class Identity: Module {
    public override init() { super.init() }
    public override func forward(_ input: Tensor) -> Tensor { input }
}

/// A lookup table of `count` vectors of size `dimension`, indexed by integer tensors; weights
/// start normal(0, 1) as in PyTorch.
///
/// ```swift
/// let embed = Embedding(65, 64)
/// embed(Tensor([[1, 5, 2]])).shape    // [1, 3, 64]
/// ```
public final class Embedding: Module {
    public let weight: Parameter
    public let count: Int, dimension: Int

    public init(_ count: Int, _ dimension: Int, generator: RandomGenerator = Random.global) {
        self.count = count
        self.dimension = dimension
        weight = Parameter(Tensor.normal([count, dimension], generator: generator))
        super.init()
    }

    public override func forward(_ input: Tensor) -> Tensor {
        if !input.dtype.isInteger {
            fatalError("[embedding] indices must be int32 or int64, got \(input.dtype)")
        }
        let rows = weight.value.indexSelect(axis: 0, indices: input.flattened())
        return rows.reshape(input.shape + [dimension])
    }
}

/// Zeroes whole channels of [N, C, H, W] (or [C, H, W]) inputs with probability `p` in training
/// and scales the kept ones by 1/(1-p), as PyTorch's `Dropout2d`; the identity in evaluation.
///
/// ```swift
/// let drop = Dropout2d(0.1)
/// drop(Tensor.randn([8, 32, 14, 14]))   // some [h, w] planes all zero
/// ```
public final class Dropout2d: Module {
    public let p: Double
    private let generator: RandomGenerator

    public init(_ p: Double = 0.5, generator: RandomGenerator = Random.global) {
        if !(0...1).contains(p) { fatalError("[dropout2d] probability must be in [0, 1], got \(p)") }
        self.p = p
        self.generator = generator
        super.init()
    }

    public override func forward(_ input: Tensor) -> Tensor {
        if input.rank != 3 && input.rank != 4 {
            fatalError("[dropout2d] expected [N, C, H, W] or [C, H, W] inputs, got shape \(input.shape)")
        }
        if !isTraining || p == 0 { return input }
        if p == 1 { return input * 0 }
        // One draw per channel, broadcast over the plane.
        let maskShape = Array(input.shape.dropLast(2)) + [1, 1]
        let keep = Tensor.bernoulli(maskShape, p: 1 - p, dtype: input.dtype, generator: generator)
        return input * (keep / (1 - p))
    }
}
