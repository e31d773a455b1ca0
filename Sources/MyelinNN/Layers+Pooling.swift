/// 2-D max pooling, as PyTorch's `nn.MaxPool2d` (stride defaults to the kernel size).
///
/// ```swift
/// MaxPool2d(kernelSize: 2)(Tensor.randn([8, 32, 28, 28])).shape   // [8, 32, 14, 14]
/// ```
public final class MaxPool2d: Module {
    public let kernelSize: Size2D, stride: Size2D, padding: Size2D

    public init(kernelSize: Size2D, stride: Size2D? = nil, padding: Size2D = 0) {
        self.kernelSize = kernelSize
        self.stride = stride ?? kernelSize
        self.padding = padding
        super.init()
    }

    public override func forward(_ input: Tensor) -> Tensor {
        input.maxPool2d(kernelSize: kernelSize, stride: stride, padding: padding)
    }
}

/// 1-D max pooling over [N, C, L], as PyTorch's `nn.MaxPool1d`.
public final class MaxPool1d: Module {
    public let kernelSize: Int, stride: Int, padding: Int

    public init(kernelSize: Int, stride: Int? = nil, padding: Int = 0) {
        self.kernelSize = kernelSize
        self.stride = stride ?? kernelSize
        self.padding = padding
        super.init()
    }

    public override func forward(_ input: Tensor) -> Tensor {
        input.maxPool1d(kernelSize: kernelSize, stride: stride, padding: padding)
    }
}

/// 2-D average pooling, as PyTorch's `nn.AvgPool2d` (padded zeros count unless `countIncludePad` is false).
public final class AvgPool2d: Module {
    public let kernelSize: Size2D, stride: Size2D, padding: Size2D
    public let countIncludePad: Bool

    public init(kernelSize: Size2D, stride: Size2D? = nil, padding: Size2D = 0, countIncludePad: Bool = true) {
        self.kernelSize = kernelSize
        self.stride = stride ?? kernelSize
        self.padding = padding
        self.countIncludePad = countIncludePad
        super.init()
    }

    public override func forward(_ input: Tensor) -> Tensor {
        input.avgPool2d(kernelSize: kernelSize, stride: stride, padding: padding, countIncludePad: countIncludePad)
    }
}

/// 1-D average pooling over [N, C, L], as PyTorch's `nn.AvgPool1d`.
public final class AvgPool1d: Module {
    public let kernelSize: Int, stride: Int, padding: Int
    public let countIncludePad: Bool

    public init(kernelSize: Int, stride: Int? = nil, padding: Int = 0, countIncludePad: Bool = true) {
        self.kernelSize = kernelSize
        self.stride = stride ?? kernelSize
        self.padding = padding
        self.countIncludePad = countIncludePad
        super.init()
    }

    public override func forward(_ input: Tensor) -> Tensor {
        input.avgPool1d(kernelSize: kernelSize, stride: stride, padding: padding, countIncludePad: countIncludePad)
    }
}

/// Average pooling to a fixed output size whatever the input size, as PyTorch's `nn.AdaptiveAvgPool2d`.
///
/// ```swift
/// AdaptiveAvgPool2d(outputSize: 1)(Tensor.randn([2, 64, 7, 7])).shape   // [2, 64, 1, 1]
/// ```
public final class AdaptiveAvgPool2d: Module {
    public let outputSize: Size2D

    public init(outputSize: Size2D) {
        self.outputSize = outputSize
        super.init()
    }

    public override func forward(_ input: Tensor) -> Tensor { input.adaptiveAvgPool2d(outputSize: outputSize) }
}

/// The mean of each channel: [N, C, H, W] to [N, C] (adaptive average pooling to 1x1, flattened).
public final class GlobalAvgPool2d: Module {
    public override init() { super.init() }
    public override func forward(_ input: Tensor) -> Tensor { input.globalAvgPool2d() }
}
