// Pooling on NCHW tensors with PyTorch semantics (floor mode): max, average, adaptive average and
// global average pooling, 1-D and 2-D. Each op's forward sits next to its vjp; the gradient ops
// (scatter to the argmax, spread over the window) are differentiable in turn. Loops are in
// PoolKernels.swift.

extension Tensor {
    /// 2-D max pooling of [N, C, H, W] (or [C, H, W]); `stride` defaults to the kernel size,
    /// `padding` (at most half the kernel) pads with -infinity. The gradient goes to each window's
    /// (first) maximum.
    ///
    /// ```swift
    /// Tensor.randn([8, 16, 28, 28]).maxPool2d(kernelSize: 2).shape   // [8, 16, 14, 14]
    /// ```
    public func maxPool2d(kernelSize: Size2D, stride: Size2D? = nil, padding: Size2D = 0) -> Tensor {
        let (x, unbatched) = Tensor.poolInput("maxPool2d", self)
        let spec = PoolSpec.sliding(kernel: kernelSize, stride: stride ?? kernelSize, padding: padding, countIncludePad: false)
        let y = Tensor.maxPool(x, spec)
        return unbatched ? y.squeezed(axis: 0) : y
    }

    /// 1-D max pooling of [N, C, L] (or [C, L]).
    public func maxPool1d(kernelSize: Int, stride: Int? = nil, padding: Int = 0) -> Tensor {
        Tensor.as1d("maxPool1d", self) {
            $0.maxPool2d(kernelSize: Size2D(1, kernelSize), stride: Size2D(1, stride ?? kernelSize), padding: Size2D(0, padding))
        }
    }

    /// 2-D average pooling; with `countIncludePad` (PyTorch's default) padded zeros count in the
    /// average, otherwise only the window's input elements do.
    ///
    /// ```swift
    /// Tensor.randn([1, 3, 8, 8]).avgPool2d(kernelSize: 3, stride: 2, padding: 1).shape   // [1, 3, 4, 4]
    /// ```
    public func avgPool2d(kernelSize: Size2D, stride: Size2D? = nil, padding: Size2D = 0,
                          countIncludePad: Bool = true) -> Tensor {
        let (x, unbatched) = Tensor.poolInput("avgPool2d", self)
        let spec = PoolSpec.sliding(kernel: kernelSize, stride: stride ?? kernelSize, padding: padding,
                                    countIncludePad: countIncludePad)
        let y = Tensor.avgPool(x, spec)
        return unbatched ? y.squeezed(axis: 0) : y
    }

    /// 1-D average pooling of [N, C, L] (or [C, L]).
    public func avgPool1d(kernelSize: Int, stride: Int? = nil, padding: Int = 0, countIncludePad: Bool = true) -> Tensor {
        Tensor.as1d("avgPool1d", self) {
            $0.avgPool2d(kernelSize: Size2D(1, kernelSize), stride: Size2D(1, stride ?? kernelSize),
                         padding: Size2D(0, padding), countIncludePad: countIncludePad)
        }
    }

    /// Average pooling to a fixed output size, with PyTorch's windows
    /// (`floor(i * H / outH) ..< ceil((i + 1) * H / outH)`).
    ///
    /// ```swift
    /// Tensor.randn([2, 64, 13, 9]).adaptiveAvgPool2d(outputSize: [3, 2]).shape   // [2, 64, 3, 2]
    /// ```
    public func adaptiveAvgPool2d(outputSize: Size2D) -> Tensor {
        let (x, unbatched) = Tensor.poolInput("adaptiveAvgPool2d", self)
        if outputSize.height < 1 || outputSize.width < 1 {
            fatalError("[adaptiveAvgPool2d] output size must be positive, got \(outputSize)")
        }
        let y = Tensor.avgPool(x, .adaptive(outputSize: outputSize))
        return unbatched ? y.squeezed(axis: 0) : y
    }

    /// The mean over each channel's plane: [N, C, H, W] to [N, C].
    public func globalAvgPool2d() -> Tensor {
        if rank != 4 { fatalError("[globalAvgPool2d] input must be [N, C, H, W], got shape \(shape)") }
        if !dtype.isFloatingPoint { fatalError("[globalAvgPool2d] needs a float32 or float64 tensor, got \(dtype)") }
        return mean(axes: [2, 3])
    }

    // MARK: Helpers

    static func poolInput(_ op: String, _ t: Tensor) -> (Tensor, Bool) {
        if !t.dtype.isFloatingPoint { fatalError("[\(op)] needs a float32 or float64 tensor, got \(t.dtype)") }
        if t.rank == 3 { return (t.unsqueezed(axis: 0), true) }
        if t.rank != 4 { fatalError("[\(op)] input must be [N, C, H, W] or [C, H, W], got shape \(t.shape)") }
        return (t, false)
    }

    static func as1d(_ op: String, _ t: Tensor, _ body: (Tensor) -> Tensor) -> Tensor {
        if t.rank != 2 && t.rank != 3 { fatalError("[\(op)] input must be [N, C, L] or [C, L], got shape \(t.shape)") }
        return body(t.unsqueezed(axis: -2)).squeezed(axis: -2)
    }

    static func slidingGeometry(_ op: String, _ x: Tensor, kernel: Size2D, stride: Size2D, padding: Size2D,
                                divisor: Int?) -> PoolGeometry {
        slidingGeometry(op, x.shape, kernel: kernel, stride: stride, padding: padding, divisor: divisor)
    }

    static func slidingGeometry(_ op: String, _ shape: [Int], kernel: Size2D, stride: Size2D, padding: Size2D,
                                divisor: Int?) -> PoolGeometry {
        checkPositive(op, kernel, "kernel size")
        checkPositive(op, stride, "stride")
        if padding.height < 0 || padding.width < 0 || 2 * padding.height > kernel.height || 2 * padding.width > kernel.width {
            fatalError("[\(op)] padding \(padding) must be between 0 and half the kernel size \(kernel)")
        }
        let h = shape[2], w = shape[3]
        if h + 2 * padding.height < kernel.height || w + 2 * padding.width < kernel.width {
            fatalError("[\(op)] input \(shape) padded by \(padding) is smaller than the kernel \(kernel)")
        }
        return PoolGeometry(planes: shape[0] * shape[1], h: h, w: w,
                            rows: .sliding(size: h, kernel: kernel.height, stride: stride.height, padding: padding.height),
                            cols: .sliding(size: w, kernel: kernel.width, stride: stride.width, padding: padding.width),
                            divisor: divisor)
    }

    // MARK: Max pooling: forward, scatter to the argmax, gather from it

    static func maxPool(_ x: Tensor, _ spec: PoolSpec) -> Tensor {
        if routed(x) {
            let where_ = Tensor.apply(Pooling.MaxIndex(spec: spec), [x])
            return Tensor.apply(Pooling.MaxGather(), [x, where_])
        }
        let (out, index) = maxPoolKernel(x, spec)
        guard needsGrad(x) else { return out }
        // One pass computes the maxima and where they are; recorded as two primitives (where, then
        // read there) so the backward and a replay have the positions as a value.
        let where_ = index.recorded(Pooling.MaxIndex(spec: spec), [x])
        return out.recorded(Pooling.MaxGather(), [x, where_])
    }

    /// The maxima of each window and their in-plane positions (int32), in one pass.
    static func maxPoolKernel(_ x: Tensor, _ spec: PoolSpec) -> (values: Tensor, index: Tensor) {
        let geo = spec.geometry("maxPool2d", x)
        let xc = x.detached().contiguous()
        let outShape = [x.shape[0], x.shape[1], geo.oh, geo.ow]
        let values = Tensor(uninitializedShape: outShape, dtype: x.dtype)
        let index = Tensor(uninitializedShape: outShape, dtype: .int32)
        if values.count > 0 {
            if x.dtype == .float32 {
                PoolKernels.maxForward(Float.self, xc.basePointer(Float.self), values.basePointer(Float.self),
                                       index.basePointer(Int32.self), geo)
            } else {
                PoolKernels.maxForward(Double.self, xc.basePointer(Double.self), values.basePointer(Double.self),
                                       index.basePointer(Int32.self), geo)
            }
        }
        withExtendedLifetime(xc) {}
        return (values, index)
    }

    /// gy [n, c, oh, ow] added at the argmax positions of a zero [n, c, h, w] tensor.
    static func maxPoolScatter(_ gy: Tensor, _ index: Tensor, _ inShape: [Int]) -> Tensor {
        if routed(gy, index) { return Tensor.apply(Pooling.MaxScatter(inputShape: inShape), [gy, index]) }
        let gc = gy.detached().contiguous()
        let out = Tensor(uninitializedShape: inShape, dtype: gy.dtype)
        let planes = inShape[0] * inShape[1], inPlane = inShape[2] * inShape[3], outPlane = index.shape[2] * index.shape[3]
        if out.count > 0 {
            if gy.dtype == .float32 {
                PoolKernels.maxScatter(Float.self, gc.basePointer(Float.self), index.basePointer(Int32.self),
                                       out.basePointer(Float.self), planes: planes, inPlane: inPlane, outPlane: outPlane)
            } else {
                PoolKernels.maxScatter(Double.self, gc.basePointer(Double.self), index.basePointer(Int32.self),
                                       out.basePointer(Double.self), planes: planes, inPlane: inPlane, outPlane: outPlane)
            }
        }
        withExtendedLifetime(gc) {}
        return needsGrad(gy) ? out.recorded(Pooling.MaxScatter(inputShape: inShape), [gy, index]) : out
    }

    /// x [n, c, h, w] read at the argmax positions: [n, c, oh, ow].
    static func maxPoolGather(_ x: Tensor, _ index: Tensor) -> Tensor {
        if routed(x, index) { return Tensor.apply(Pooling.MaxGather(), [x, index]) }
        let xc = x.detached().contiguous()
        let out = Tensor(uninitializedShape: index.shape, dtype: x.dtype)
        let planes = x.shape[0] * x.shape[1], inPlane = x.shape[2] * x.shape[3], outPlane = index.shape[2] * index.shape[3]
        if out.count > 0 {
            if x.dtype == .float32 {
                PoolKernels.maxGather(Float.self, xc.basePointer(Float.self), index.basePointer(Int32.self),
                                      out.basePointer(Float.self), planes: planes, inPlane: inPlane, outPlane: outPlane)
            } else {
                PoolKernels.maxGather(Double.self, xc.basePointer(Double.self), index.basePointer(Int32.self),
                                      out.basePointer(Double.self), planes: planes, inPlane: inPlane, outPlane: outPlane)
            }
        }
        withExtendedLifetime(xc) {}
        return needsGrad(x) ? out.recorded(Pooling.MaxGather(), [x, index]) : out
    }

    // MARK: Average pooling: forward and its transpose

    static func avgPool(_ x: Tensor, _ spec: PoolSpec) -> Tensor {
        if routed(x) { return Tensor.apply(Pooling.Average(spec: spec), [x]) }
        let geo = spec.geometry("avgPool2d", x)
        let xc = x.detached().contiguous()
        let out = Tensor(uninitializedShape: [x.shape[0], x.shape[1], geo.oh, geo.ow], dtype: x.dtype)
        if out.count > 0 {
            if x.dtype == .float32 {
                PoolKernels.avgForward(Float.self, xc.basePointer(Float.self), out.basePointer(Float.self), geo)
            } else {
                PoolKernels.avgForward(Double.self, xc.basePointer(Double.self), out.basePointer(Double.self), geo)
            }
        }
        withExtendedLifetime(xc) {}
        return needsGrad(x) ? out.recorded(Pooling.Average(spec: spec), [x]) : out
    }

    static func avgPoolBackward(_ gy: Tensor, _ spec: PoolSpec, _ inShape: [Int]) -> Tensor {
        if routed(gy) { return Tensor.apply(Pooling.AverageBackward(spec: spec, inputShape: inShape), [gy]) }
        let geo = spec.geometry("avgPool2d", inShape)
        let gc = gy.detached().contiguous()
        let out = Tensor(uninitializedShape: inShape, dtype: gy.dtype)
        if out.count > 0 {
            if gy.dtype == .float32 {
                PoolKernels.avgBackward(Float.self, gc.basePointer(Float.self), out.basePointer(Float.self), geo)
            } else {
                PoolKernels.avgBackward(Double.self, gc.basePointer(Double.self), out.basePointer(Double.self), geo)
            }
        }
        withExtendedLifetime(gc) {}
        return needsGrad(gy) ? out.recorded(Pooling.AverageBackward(spec: spec, inputShape: inShape), [gy]) : out
    }
}

/// How pooling windows are laid: sliding (kernel, stride, padding) or adaptive (an output size);
/// the geometry follows from the input's shape at each call.
enum PoolSpec: Codable, Sendable, Equatable {
    case sliding(kernel: Size2D, stride: Size2D, padding: Size2D, countIncludePad: Bool)
    case adaptive(outputSize: Size2D)

    func geometry(_ op: String, _ x: Tensor) -> PoolGeometry { geometry(op, x.shape) }

    func geometry(_ op: String, _ shape: [Int]) -> PoolGeometry {
        switch self {
        case let .sliding(kernel, stride, padding, countIncludePad):
            return Tensor.slidingGeometry(op, shape, kernel: kernel, stride: stride, padding: padding,
                                          divisor: countIncludePad ? kernel.height * kernel.width : nil)
        case let .adaptive(out):
            return PoolGeometry(planes: shape[0] * shape[1], h: shape[2], w: shape[3],
                                rows: .adaptive(size: shape[2], out: out.height),
                                cols: .adaptive(size: shape[3], out: out.width), divisor: nil)
        }
    }
}

/// The pooling primitives on [N, C, H, W]. Max pooling is where-the-maxima-are (an int32 tensor of
/// in-plane positions) and a read there; the read's transpose is a scatter, itself differentiable.
enum Pooling {
    struct MaxIndex: Primitive {
        static let name = "maxPool2dIndex"
        let spec: PoolSpec
        func forward(_ x: [Tensor]) -> Tensor { Tensor.maxPoolKernel(x[0], spec).index }
        func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] { [nil] }
    }

    /// x [n, c, h, w] read at in-plane positions [n, c, oh, ow].
    struct MaxGather: Primitive {
        static let name = "maxPool2d"
        func forward(_ x: [Tensor]) -> Tensor { Tensor.maxPoolGather(x[0], x[1]) }
        func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] {
            [Tensor.maxPoolScatter(g, x[1], x[0].shape), nil]
        }
    }

    /// gy [n, c, oh, ow] added at in-plane positions of zeros [n, c, h, w].
    struct MaxScatter: Primitive {
        static let name = "maxPool2dBackward"
        let inputShape: [Int]
        func forward(_ x: [Tensor]) -> Tensor { Tensor.maxPoolScatter(x[0], x[1], inputShape) }
        func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] { [Tensor.maxPoolGather(g, x[1]), nil] }
    }

    struct Average: Primitive {
        static let name = "avgPool2d"
        let spec: PoolSpec
        func forward(_ x: [Tensor]) -> Tensor { Tensor.avgPool(x[0], spec) }
        func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] { [Tensor.avgPoolBackward(g, spec, x[0].shape)] }
    }

    struct AverageBackward: Primitive {
        static let name = "avgPool2dBackward"
        let spec: PoolSpec
        let inputShape: [Int]
        func forward(_ x: [Tensor]) -> Tensor { Tensor.avgPoolBackward(x[0], spec, inputShape) }
        func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] { [Tensor.avgPool(g, spec)] }
    }
}

// MARK: Free functions

/// 2-D max pooling: `maxPool2d(x, kernelSize: 2)`, as `x.maxPool2d(kernelSize: 2)`.
public func maxPool2d(_ input: Tensor, kernelSize: Size2D, stride: Size2D? = nil, padding: Size2D = 0) -> Tensor {
    input.maxPool2d(kernelSize: kernelSize, stride: stride, padding: padding)
}

/// 1-D max pooling, as `x.maxPool1d(...)`.
public func maxPool1d(_ input: Tensor, kernelSize: Int, stride: Int? = nil, padding: Int = 0) -> Tensor {
    input.maxPool1d(kernelSize: kernelSize, stride: stride, padding: padding)
}

/// 2-D average pooling, as `x.avgPool2d(...)`.
public func avgPool2d(_ input: Tensor, kernelSize: Size2D, stride: Size2D? = nil, padding: Size2D = 0,
                      countIncludePad: Bool = true) -> Tensor {
    input.avgPool2d(kernelSize: kernelSize, stride: stride, padding: padding, countIncludePad: countIncludePad)
}

/// 1-D average pooling, as `x.avgPool1d(...)`.
public func avgPool1d(_ input: Tensor, kernelSize: Int, stride: Int? = nil, padding: Int = 0,
                      countIncludePad: Bool = true) -> Tensor {
    input.avgPool1d(kernelSize: kernelSize, stride: stride, padding: padding, countIncludePad: countIncludePad)
}

/// Adaptive average pooling, as `x.adaptiveAvgPool2d(outputSize:)`.
public func adaptiveAvgPool2d(_ input: Tensor, outputSize: Size2D) -> Tensor {
    input.adaptiveAvgPool2d(outputSize: outputSize)
}

/// Global average pooling ([N, C, H, W] to [N, C]), as `x.globalAvgPool2d()`.
public func globalAvgPool2d(_ input: Tensor) -> Tensor { input.globalAvgPool2d() }

// MARK: Shape rules (see Primitive.outputType)

extension PoolSpec {
    /// The pooled size of a [N, C, H, W] input, throwing where the pooling ops trap.
    func checkedOutputShape(_ s: [Int]) throws -> [Int] {
        if s.count != 4 { throw ShapeRuleError("input must be [N, C, H, W], got \(s)") }
        switch self {
        case let .sliding(kernel, stride, padding, _):
            if kernel.height < 1 || kernel.width < 1 || stride.height < 1 || stride.width < 1 || padding.height < 0
                || padding.width < 0 || 2 * padding.height > kernel.height || 2 * padding.width > kernel.width
                || s[2] + 2 * padding.height < kernel.height || s[3] + 2 * padding.width < kernel.width {
                throw ShapeRuleError("pooling \(self) does not fit an input of shape \(s)")
            }
        case let .adaptive(out):
            if out.height < 1 || out.width < 1 { throw ShapeRuleError("output size must be positive, got \(out)") }
        }
        let g = geometry("pool", s)
        return [s[0], s[1], g.oh, g.ow]
    }
}

extension Pooling.MaxIndex {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 1...1)
        try ShapeRules.float(x[0])
        return .init(shape: try spec.checkedOutputShape(x[0].shape), dtype: .int32)
    }
}

extension Pooling.MaxGather {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 2...2)
        try ShapeRules.float(x[0])
        try ShapeRules.rank(x[0], 4, "input")
        if x[1].dtype != .int32 || x[1].shape.count != 4 || Array(x[1].shape.prefix(2)) != Array(x[0].shape.prefix(2)) {
            throw ShapeRuleError("positions \(x[1]) do not fit input \(x[0])")
        }
        return .init(shape: x[1].shape, dtype: x[0].dtype)
    }
}

extension Pooling.MaxScatter {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 2...2)
        try ShapeRules.float(x[0])
        if inputShape.count != 4 || inputShape.contains(where: { $0 < 0 }) || x[1].shape != x[0].shape || x[1].dtype != .int32
            || Array(x[0].shape.prefix(2)) != Array(inputShape.prefix(2)) {
            throw ShapeRuleError("gradient \(x[0]) and positions \(x[1]) do not fit input shape \(inputShape)")
        }
        return .init(shape: inputShape, dtype: x[0].dtype)
    }
}

extension Pooling.Average {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 1...1)
        try ShapeRules.float(x[0])
        return .init(shape: try spec.checkedOutputShape(x[0].shape), dtype: x[0].dtype)
    }
}

extension Pooling.AverageBackward {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 1...1)
        try ShapeRules.float(x[0])
        if inputShape.contains(where: { $0 < 0 }) { throw ShapeRuleError("invalid input shape \(inputShape)") }
        let pooled = try spec.checkedOutputShape(inputShape)
        if x[0].shape != pooled {
            throw ShapeRuleError("gradient \(x[0]) does not fit input shape \(inputShape)")
        }
        return .init(shape: inputShape, dtype: x[0].dtype)
    }
}
