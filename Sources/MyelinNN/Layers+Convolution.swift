/// PyTorch's default initialisation for a convolution weight (kaiming uniform, a = √5: uniform in
/// ±1/√fanIn) and bias (uniform in ±1/√fanIn), with fanIn from the weight's shape.
private func convParameters(_ weightShape: [Int], biasCount: Int? = nil, bias: Bool,
                            generator: RandomGenerator) -> (Parameter, Parameter?) {
    let fanIn = Initializer.fans(weightShape).fanIn
    let w = fanIn > 0 ? Initializer.kaimingUniform(a: 5.0.squareRoot()).make(weightShape, generator: generator)
                      : Tensor.zeros(weightShape)
    let bound = fanIn > 0 ? 1 / Double(fanIn).squareRoot() : 0
    let b = bias ? Parameter(Tensor.uniform([biasCount ?? weightShape[0]], low: -bound, high: bound, generator: generator)) : nil
    return (Parameter(w), b)
}

private func checkChannels(_ layer: String, _ inChannels: Int, _ outChannels: Int, _ groups: Int) {
    if inChannels < 1 || outChannels < 1 {
        fatalError("[\(layer)] channel counts must be positive, got \(inChannels) -> \(outChannels)")
    }
    if groups < 1 || inChannels % groups != 0 || outChannels % groups != 0 {
        fatalError("[\(layer)] inChannels \(inChannels) and outChannels \(outChannels) must both be divisible by groups \(groups)")
    }
}

/// A 2-D convolution layer over [N, C, H, W] inputs, as PyTorch's `nn.Conv2d`: weight
/// [outChannels, inChannels / groups, kH, kW] (also readable as `filters`), optional bias.
///
/// ```swift
/// let conv = Conv2d(inChannels: 3, outChannels: 16, kernelSize: 3, padding: 1)
/// conv(Tensor.randn([8, 3, 32, 32])).shape     // [8, 16, 32, 32]
/// let depthwise = Conv2d(inChannels: 16, outChannels: 16, kernelSize: 3, padding: .same, groups: 16)
/// ```
public final class Conv2d: Module {
    public let weight: Parameter
    public let bias: Parameter?
    public let inChannels: Int, outChannels: Int
    public let kernelSize: Size2D, stride: Size2D, dilation: Size2D
    public let padding: ConvPadding
    public let groups: Int

    public init(inChannels: Int, outChannels: Int, kernelSize: Size2D, stride: Size2D = 1, padding: ConvPadding = 0,
                dilation: Size2D = 1, groups: Int = 1, bias: Bool = true, generator: RandomGenerator = Random.global) {
        checkChannels("Conv2d", inChannels, outChannels, groups)
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
        (weight, self.bias) = convParameters([outChannels, inChannels / groups, kernelSize.height, kernelSize.width],
                                             bias: bias, generator: generator)
        super.init()
    }

    /// The weight, [outChannels, inChannels / groups, kH, kW]: one filter per output channel.
    public var filters: Tensor { weight.value }

    /// The epilogue a `Sequential` runs this layer with, while a summary runs its layers apart.
    @TaskLocal static var summaryEpilogue: ConvEpilogue?

    public override func forward(_ input: Tensor) -> Tensor {
        let y = input.conv2d(weight.value, bias: bias?.value, stride: stride, padding: padding, dilation: dilation, groups: groups)
        // A summary shows which algorithm the layer runs (fixed by its shape) and what a
        // Sequential fuses into it.
        if let recorder = ModuleSummaryRecorder.current {
            let algorithm = input.conv2dAlgorithm(weight.value, stride: stride, padding: padding, dilation: dilation, groups: groups)
            let fused = Conv2d.summaryEpilogue.map { "; \($0) fused" } ?? ""
            recorder.record(self, output: y, note: algorithm.description + fused)
        }
        return y
    }

    /// The layer followed by the ops of `epilogue` in one pass (`conv2d(_:...:then:)`): the same
    /// values and gradients as the layers run apart. A `Sequential` calls it for a Conv2d followed
    /// by ReLU and/or MaxPool2d(2).
    ///
    /// ```swift
    /// let y = conv.forward(x, then: .reluMaxPool)   // MaxPool2d(kernelSize: 2)(ReLU()(conv(x)))
    /// ```
    public func forward(_ input: Tensor, then epilogue: ConvEpilogue) -> Tensor {
        input.conv2d(weight.value, bias: bias?.value, stride: stride, padding: padding, dilation: dilation, groups: groups,
                     then: epilogue)
    }
}

/// A 1-D convolution layer over [N, C, L] inputs, as PyTorch's `nn.Conv1d`: weight
/// [outChannels, inChannels / groups, k].
///
/// ```swift
/// let conv = Conv1d(inChannels: 4, outChannels: 8, kernelSize: 5, padding: 2)
/// conv(Tensor.randn([2, 4, 100])).shape   // [2, 8, 100]
/// ```
public final class Conv1d: Module {
    public let weight: Parameter
    public let bias: Parameter?
    public let inChannels: Int, outChannels: Int
    public let kernelSize: Int, stride: Int, dilation: Int
    public let padding: ConvPadding
    public let groups: Int

    public init(inChannels: Int, outChannels: Int, kernelSize: Int, stride: Int = 1, padding: ConvPadding = 0,
                dilation: Int = 1, groups: Int = 1, bias: Bool = true, generator: RandomGenerator = Random.global) {
        checkChannels("Conv1d", inChannels, outChannels, groups)
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
        (weight, self.bias) = convParameters([outChannels, inChannels / groups, kernelSize], bias: bias, generator: generator)
        super.init()
    }

    /// The weight, [outChannels, inChannels / groups, k].
    public var filters: Tensor { weight.value }

    public override func forward(_ input: Tensor) -> Tensor {
        input.conv1d(weight.value, bias: bias?.value, stride: stride, padding: padding, dilation: dilation, groups: groups)
    }
}

/// A transposed 2-D convolution layer (learned upsampling), as PyTorch's `nn.ConvTranspose2d`:
/// weight [inChannels, outChannels / groups, kH, kW].
///
/// ```swift
/// let up = ConvTranspose2d(inChannels: 16, outChannels: 8, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1)
/// up(Tensor.randn([1, 16, 7, 7])).shape    // [1, 8, 14, 14]
/// ```
public final class ConvTranspose2d: Module {
    public let weight: Parameter
    public let bias: Parameter?
    public let inChannels: Int, outChannels: Int
    public let kernelSize: Size2D, stride: Size2D, padding: Size2D, outputPadding: Size2D, dilation: Size2D
    public let groups: Int

    public init(inChannels: Int, outChannels: Int, kernelSize: Size2D, stride: Size2D = 1, padding: Size2D = 0,
                outputPadding: Size2D = 0, groups: Int = 1, bias: Bool = true, dilation: Size2D = 1,
                generator: RandomGenerator = Random.global) {
        checkChannels("ConvTranspose2d", inChannels, outChannels, groups)
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
        self.outputPadding = outputPadding
        self.dilation = dilation
        self.groups = groups
        (weight, self.bias) = convParameters([inChannels, outChannels / groups, kernelSize.height, kernelSize.width],
                                             biasCount: outChannels, bias: bias, generator: generator)
        super.init()
    }

    /// The weight, [inChannels, outChannels / groups, kH, kW].
    public var filters: Tensor { weight.value }

    public override func forward(_ input: Tensor) -> Tensor {
        input.convTranspose2d(weight.value, bias: bias?.value, stride: stride, padding: padding,
                              outputPadding: outputPadding, groups: groups, dilation: dilation)
    }
}
