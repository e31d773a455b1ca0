/// Normalises over the last dimensions (`normalizedShape`) of each sample, then scales and shifts,
/// as PyTorch's `LayerNorm` (biased variance, `eps` inside the square root).
///
/// ```swift
/// let norm = LayerNorm([64])
/// norm(Tensor.randn([8, 10, 64])).shape   // [8, 10, 64]
/// ```
public final class LayerNorm: Module {
    public let normalizedShape: [Int]
    public let eps: Double
    public let weight: Parameter?
    public let bias: Parameter?

    public init(_ normalizedShape: [Int], eps: Double = 1e-5, elementwiseAffine: Bool = true) {
        self.normalizedShape = normalizedShape
        self.eps = eps
        weight = elementwiseAffine ? Parameter(Tensor.ones(normalizedShape)) : nil
        bias = elementwiseAffine ? Parameter(Tensor.zeros(normalizedShape)) : nil
        super.init()
    }

    public override func forward(_ input: Tensor) -> Tensor {
        if Array(input.shape.suffix(normalizedShape.count)) != normalizedShape {
            fatalError("[layerNorm] input shape \(input.shape) does not end with the normalised shape \(normalizedShape)")
        }
        return input.layerNorm(normalizedShape: normalizedShape, weight: weight?.value, bias: bias?.value, eps: eps)
    }
}

/// What BatchNorm1d and BatchNorm2d share, as PyTorch's `_BatchNorm`: the parameters and buffers
/// over `features` channels, and the normalisation over given axes. Subclasses pick the axes
/// (`SyncBatchNorm` in MyelinDistributed is one, outside this module).
open class BatchNormBase: Module {
    public let features: Int
    public let eps: Double, momentum: Double
    public let weight: Parameter?
    public let bias: Parameter?
    public let runningMean: Buffer?
    public let runningVar: Buffer?
    /// Batches seen in training, as PyTorch's `num_batches_tracked`.
    public let numBatchesTracked: Buffer?

    /// The affine parameters (ones and zeros) and running statistics (zeros, ones, 0 batches) of
    /// `features` channels.
    public init(_ features: Int, eps: Double, momentum: Double, affine: Bool, trackRunningStats: Bool) {
        self.features = features
        self.eps = eps
        self.momentum = momentum
        weight = affine ? Parameter(Tensor.ones([features])) : nil
        bias = affine ? Parameter(Tensor.zeros([features])) : nil
        runningMean = trackRunningStats ? Buffer(Tensor.zeros([features])) : nil
        runningVar = trackRunningStats ? Buffer(Tensor.ones([features])) : nil
        numBatchesTracked = trackRunningStats ? Buffer(Tensor.zeros([], dtype: .int64)) : nil
        super.init()
    }

    /// Statistics over `axes`; per-channel tensors reshaped to `channelShape` to broadcast
    /// against the input.
    func normalize(_ layer: String, _ input: Tensor, axes: [Int], channelShape: [Int]) -> Tensor {
        let mean: Tensor, variance: Tensor
        if isTraining || runningMean == nil {
            let n = axes.reduce(1) { $0 * input.shape[$1] }
            if isTraining && n <= 1 {
                fatalError("[\(layer)] training needs more than 1 value per channel, got input shape \(input.shape)")
            }
            mean = input.mean(axes: axes)
            variance = input.variance(axes: axes, unbiased: false)
            updateRunningStatistics(mean: mean, variance: variance, count: Double(n))
        } else {
            mean = runningMean!.value
            variance = runningVar!.value
        }
        return normalized(input - mean.reshape(channelShape), variance: variance, channelShape: channelShape)
    }

    /// In training, moves the running statistics (when tracked) toward a batch's `mean` and biased
    /// `variance` over `n` values a channel, the variance made unbiased as PyTorch does.
    package func updateRunningStatistics(mean: Tensor, variance: Tensor, count n: Double) {
        guard isTraining, let runningMean, let runningVar, let numBatchesTracked else { return }
        withoutGrad {
            let unbiased = variance.detached() * (n / (n - 1))
            runningMean.value = runningMean.value * (1 - momentum) + mean.detached() * momentum
            runningVar.value = runningVar.value * (1 - momentum) + unbiased * momentum
            numBatchesTracked.value = numBatchesTracked.value + 1
        }
    }

    /// `centered / √(variance + eps)`, then scaled and shifted by the affine parameters; per-channel
    /// tensors are reshaped to `channelShape`.
    package func normalized(_ centered: Tensor, variance: Tensor, channelShape: [Int]) -> Tensor {
        var y = centered * (variance.reshape(channelShape) + eps).rsqrt()
        if let weight { y = y * weight.value.reshape(channelShape) }
        if let bias { y = y + bias.value.reshape(channelShape) }
        return y
    }
}

/// Batch normalisation over the batch (and length) of [N, C] or [N, C, L] inputs, as PyTorch's
/// `BatchNorm1d`: batch statistics in training (running averages updated with `momentum`, the
/// running variance unbiased), running statistics in evaluation.
///
/// ```swift
/// let bn = BatchNorm1d(128)
/// let y = bn(Tensor.randn([32, 128]))
/// ```
public final class BatchNorm1d: BatchNormBase {
    public override init(_ features: Int, eps: Double = 1e-5, momentum: Double = 0.1, affine: Bool = true,
                trackRunningStats: Bool = true) {
        super.init(features, eps: eps, momentum: momentum, affine: affine, trackRunningStats: trackRunningStats)
    }

    public override func forward(_ input: Tensor) -> Tensor {
        guard (input.rank == 2 || input.rank == 3) && input.shape[1] == features else {
            fatalError("[batchNorm1d] expected [N, \(features)] or [N, \(features), L] inputs, got shape \(input.shape)")
        }
        // Statistics over every axis but the channel axis 1; parameters broadcast as [C] or [C, 1].
        return normalize("BatchNorm1d", input, axes: input.rank == 2 ? [0] : [0, 2],
                         channelShape: input.rank == 2 ? [features] : [features, 1])
    }
}

/// Batch normalisation of [N, C, H, W] inputs per channel (over the batch and both spatial axes),
/// as PyTorch's `BatchNorm2d`: batch statistics in training (running averages updated with
/// `momentum`, the running variance unbiased), running statistics in evaluation.
///
/// ```swift
/// let bn = BatchNorm2d(32)
/// bn(Tensor.randn([8, 32, 14, 14])).shape   // [8, 32, 14, 14]
/// ```
public final class BatchNorm2d: BatchNormBase {
    public override init(_ features: Int, eps: Double = 1e-5, momentum: Double = 0.1, affine: Bool = true,
                trackRunningStats: Bool = true) {
        super.init(features, eps: eps, momentum: momentum, affine: affine, trackRunningStats: trackRunningStats)
    }

    public override func forward(_ input: Tensor) -> Tensor {
        guard input.rank == 4 && input.shape[1] == features else {
            fatalError("[batchNorm2d] expected [N, \(features), H, W] inputs, got shape \(input.shape)")
        }
        return normalize("BatchNorm2d", input, axes: [0, 2, 3], channelShape: [features, 1, 1])
    }
}
