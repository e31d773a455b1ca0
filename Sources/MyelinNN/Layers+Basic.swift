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
/// With `paddingIndex` (PyTorch's `padding_idx`; negative counts from the end) that row starts at
/// zero and never receives a gradient, so it stays what it is through training: the vector for
/// padding positions.
///
/// ```swift
/// let embed = Embedding(65, 64)
/// embed(Tensor([[1, 5, 2]])).shape    // [1, 3, 64]
/// let padded = Embedding(1000, 32, paddingIndex: 0)
/// padded(Tensor([[7, 3, 0, 0]]))      // the last two vectors are zero
/// ```
public final class Embedding: Module {
    public let weight: Parameter
    public let count: Int, dimension: Int
    /// The padding row, in `0..<count` (a negative `paddingIndex` given to `init` is converted).
    public let paddingIndex: Int?

    public init(_ count: Int, _ dimension: Int, paddingIndex: Int? = nil, generator: RandomGenerator = Random.global) {
        self.count = count
        self.dimension = dimension
        var w = Tensor.normal([count, dimension], generator: generator)
        if let p = paddingIndex {
            if p < -count || p >= count {
                fatalError("[embedding] paddingIndex \(p) is out of range for \(count) rows")
            }
            let row = p < 0 ? p + count : p
            w = Tensor.where((Tensor.arange(count) .== row).reshape([count, 1]), 0.0, w)
            self.paddingIndex = row
        } else {
            self.paddingIndex = nil
        }
        weight = Parameter(w)
        super.init()
    }

    /// An embedding whose rows are `weight` (`[count, dimension]`), as PyTorch's
    /// `Embedding.from_pretrained` (the weight stays trainable; `freeze()` the layer to keep it).
    ///
    /// ```swift
    /// let table = Embedding(weight: Tensor.zeros([30522, 384]))
    /// ```
    public init(weight: Tensor, paddingIndex: Int? = nil) {
        if weight.rank != 2 {
            fatalError("[embedding] the weight must be [count, dimension], got shape \(weight.shape)")
        }
        let rows = weight.shape[0]
        count = rows
        dimension = weight.shape[1]
        if let p = paddingIndex, p < -rows || p >= rows {
            fatalError("[embedding] paddingIndex \(p) is out of range for \(rows) rows")
        }
        self.paddingIndex = paddingIndex.map { $0 < 0 ? $0 + rows : $0 }
        self.weight = Parameter(weight)
        super.init()
    }

    public override func forward(_ input: Tensor) -> Tensor {
        if !input.dtype.isInteger {
            fatalError("[embedding] indices must be int32 or int64, got \(input.dtype)")
        }
        let indices = input.flattened()
        var rows = weight.value.indexSelect(axis: 0, indices: indices)
        if let p = paddingIndex {
            // Padding positions take a copy of the row made outside autograd and tracing: an
            // eager `detached()` view would still be the weight inside a traced graph, and the
            // row would get gradients through `compiledStep`.
            rows = Tensor.where((indices .== p).reshape([-1, 1]), paddingRow(p), rows)
        }
        return rows.reshape(input.shape + [dimension])
    }

    /// `self(tokens).linear(weight:bias:)` computed through the vocabulary: the table
    /// `self.weight · weightᵀ + bias` ([count, out]) read at the tokens, so the product has `count`
    /// rows instead of one per token, and so do both of its gradients (the tokens' gradient rows
    /// are summed per vocabulary entry first). A recurrent layer's input projection of a
    /// character model (65 entries, 2,048 tokens a batch) is then 3% of the arithmetic. The same
    /// values up to rounding (sums in another order). With a padding row, or at least as many
    /// entries as tokens, it runs the two ops.
    ///
    /// ```swift
    /// let xp = embed.projected(tokens, weight: w, bias: b)   // = linear(embed(tokens), w, b): tokens.shape + [out]
    /// ```
    public func projected(_ tokens: Tensor, weight w: Tensor, bias: Tensor?) -> Tensor {
        guard let table = projectionTable(for: tokens, weight: w, bias: bias) else {
            return self(tokens).linear(weight: w, bias: bias)
        }
        return table.indexSelect(axis: 0, indices: tokens.flattened()).reshape(tokens.shape + [w.shape[0]])
    }

    /// The table `projected` reads at the tokens, `self.weight · weightᵀ + bias` ([count, out]),
    /// or nil where it runs the two layers instead (a padding row, or at least as many entries as
    /// tokens). A recurrent layer passes it with the tokens to `Tensor.recurrence`.
    public func projectionTable(for tokens: Tensor, weight w: Tensor, bias: Tensor?) -> Tensor? {
        if paddingIndex != nil || count >= tokens.count { return nil }
        if !tokens.dtype.isInteger { fatalError("[embedding] indices must be int32 or int64, got \(tokens.dtype)") }
        if w.rank != 2 || w.shape[1] != dimension {
            fatalError("[embedding] cannot project \(dimension)-wide rows with a weight of shape \(w.shape)")
        }
        return weight.value.linear(weight: w, bias: bias)
    }

    /// Row `p` of the weight as a new tensor with no history.
    private func paddingRow(_ p: Int) -> Tensor {
        let w = weight.value, d = dimension
        if w.dtype == .float64 {
            let row = w.withUnsafeBufferPointer(as: Double.self) { Array($0[p * d..<(p + 1) * d]) }
            return Tensor(shape: [d], scalars: row)
        }
        let row = w.to(.float32).withUnsafeBufferPointer(as: Float.self) { Array($0[p * d..<(p + 1) * d]) }
        return Tensor(shape: [d], scalars: row).to(w.dtype)
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
