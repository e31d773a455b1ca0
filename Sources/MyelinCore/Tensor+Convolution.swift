// Convolutions on NCHW tensors with PyTorch semantics: conv1d, conv2d, convTranspose2d.
//
// Forward and gradients are three differentiable ops that are each other's vjps, so gradients of
// gradients work too:
//   conv(x, w)                y = x ⋆ w
//   convInputGrad(gy, w)      the transpose of conv in x (also convTranspose2d's forward)
//   convWeightGrad(x, gy)     the transpose of conv in w
// The loops are in ConvKernels.swift (im2col + one GEMM per sample and group, threaded across
// samples) and ConvKernels+Winograd.swift (3x3 stride-1 float32 layers); `ConvAlgorithm.choose`
// picks one from the layer's shape.

/// A height and width (kernel sizes, strides, dilations, pool sizes). `3` means 3x3; `[3, 5]`
/// means 3 high and 5 wide.
public struct Size2D: Equatable, Hashable, Sendable, Codable, ExpressibleByIntegerLiteral, ExpressibleByArrayLiteral,
    CustomStringConvertible {
    public var height: Int, width: Int

    public init(_ height: Int, _ width: Int) {
        self.height = height
        self.width = width
    }

    /// The same size in both directions.
    public init(_ both: Int) { self.init(both, both) }

    public init(integerLiteral value: Int) { self.init(value) }

    public init(arrayLiteral elements: Int...) {
        switch elements.count {
        case 1: self.init(elements[0])
        case 2: self.init(elements[0], elements[1])
        default: fatalError("[size2D] needs 1 or 2 numbers, got \(elements)")
        }
    }

    public var description: String { height == width ? "\(height)" : "[\(height), \(width)]" }
}

/// Padding of a convolution: explicit sizes (zeros on both sides), `.same` (output as large as
/// the input, stride 1 only; an even total is split with the extra row/column at the end, as in
/// PyTorch) or `.valid` (none).
public enum ConvPadding: Equatable, Hashable, Sendable, ExpressibleByIntegerLiteral, ExpressibleByArrayLiteral,
    CustomStringConvertible {
    case size(Size2D)
    case same
    case valid

    public init(integerLiteral value: Int) { self = .size(Size2D(value)) }
    public init(arrayLiteral elements: Int...) {
        switch elements.count {
        case 1: self = .size(Size2D(elements[0]))
        case 2: self = .size(Size2D(elements[0], elements[1]))
        default: fatalError("[convPadding] needs 1 or 2 numbers, got \(elements)")
        }
    }

    public var description: String {
        switch self {
        case .size(let s): return s.description
        case .same: return "same"
        case .valid: return "valid"
        }
    }
}

extension Tensor {
    // MARK: Public ops

    /// 2-D convolution (cross-correlation, as PyTorch's `conv2d`) of an [N, C, H, W] input (or an
    /// unbatched [C, H, W] one) with a weight [O, C / groups, kH, kW] and an optional bias [O].
    ///
    /// ```swift
    /// let x = Tensor.randn([8, 3, 32, 32]), w = Tensor.randn([16, 3, 3, 3])
    /// x.conv2d(w, padding: 1).shape                       // [8, 16, 32, 32]
    /// x.conv2d(w, stride: 2, padding: .valid).shape       // [8, 16, 15, 15]
    /// x.conv2d(Tensor.randn([3, 1, 3, 3]), padding: .same, groups: 3)   // depthwise
    /// ```
    public func conv2d(_ weight: Tensor, bias: Tensor? = nil, stride: Size2D = 1, padding: ConvPadding = 0,
                       dilation: Size2D = 1, groups: Int = 1) -> Tensor {
        if rank == 3 {
            return unsqueezed(axis: 0).conv2d(weight, bias: bias, stride: stride, padding: padding,
                                              dilation: dilation, groups: groups).squeezed(axis: 0)
        }
        let geo = Tensor.convGeometry("conv2d", self, weight, bias, stride: stride, padding: padding,
                                      dilation: dilation, groups: groups)
        return Tensor.conv(self, weight, bias, geo)
    }

    /// The algorithm `conv2d(weight, ...)` runs on this input (its shape and dtype decide; see
    /// `ConvAlgorithm`), as `summary` reports it.
    public func conv2dAlgorithm(_ weight: Tensor, stride: Size2D = 1, padding: ConvPadding = 0, dilation: Size2D = 1,
                                groups: Int = 1) -> ConvAlgorithm {
        if rank == 3 {
            return unsqueezed(axis: 0).conv2dAlgorithm(weight, stride: stride, padding: padding, dilation: dilation, groups: groups)
        }
        let geo = Tensor.convGeometry("conv2d", self, weight, nil, stride: stride, padding: padding, dilation: dilation,
                                      groups: groups)
        return ConvAlgorithm.choose(geo, dtype: dtype)
    }

    /// 1-D convolution of an [N, C, L] input (or [C, L]) with a weight [O, C / groups, k].
    ///
    /// ```swift
    /// Tensor.randn([4, 2, 50]).conv1d(Tensor.randn([6, 2, 5]), stride: 2).shape   // [4, 6, 23]
    /// ```
    public func conv1d(_ weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: ConvPadding = 0,
                       dilation: Int = 1, groups: Int = 1) -> Tensor {
        if rank != 2 && rank != 3 {
            fatalError("[conv1d] input must be [N, C, L] or [C, L], got shape \(shape)")
        }
        if weight.rank != 3 {
            fatalError("[conv1d] weight must be [out channels, in channels / groups, k], got shape \(weight.shape)")
        }
        let pad1: ConvPadding
        switch padding {
        case .size(let s):
            if s.height != s.width { fatalError("[conv1d] padding must be one number, got \(padding)") }
            pad1 = .size(Size2D(0, s.width))
        default: pad1 = padding
        }
        let x4 = unsqueezed(axis: -2)
        let y = x4.conv2d(weight.unsqueezed(axis: 2), bias: bias, stride: Size2D(1, stride), padding: pad1,
                          dilation: Size2D(1, dilation), groups: groups)
        return y.squeezed(axis: -2)
    }

    /// Transposed 2-D convolution (PyTorch's `conv_transpose2d`, the gradient of `conv2d` with
    /// respect to its input) of [N, C, H, W] with a weight [C, O / groups, kH, kW]; the output is
    /// [N, O, (H - 1) * stride - 2 * padding + dilation * (k - 1) + outputPadding + 1, ...].
    ///
    /// ```swift
    /// let up = Tensor.randn([1, 8, 7, 7]).convTranspose2d(Tensor.randn([8, 4, 3, 3]), stride: 2,
    ///                                                      padding: 1, outputPadding: 1)
    /// up.shape   // [1, 4, 14, 14]
    /// ```
    public func convTranspose2d(_ weight: Tensor, bias: Tensor? = nil, stride: Size2D = 1, padding: Size2D = 0,
                                outputPadding: Size2D = 0, groups: Int = 1, dilation: Size2D = 1) -> Tensor {
        if rank == 3 {
            return unsqueezed(axis: 0).convTranspose2d(weight, bias: bias, stride: stride, padding: padding,
                                                       outputPadding: outputPadding, groups: groups,
                                                       dilation: dilation).squeezed(axis: 0)
        }
        let op = "convTranspose2d"
        Tensor.checkFloat(op, self, weight, bias)
        if rank != 4 { fatalError("[\(op)] input must be [N, C, H, W] or [C, H, W], got shape \(shape)") }
        if weight.rank != 4 {
            fatalError("[\(op)] weight must be [in channels, out channels / groups, kH, kW], got shape \(weight.shape)")
        }
        if groups < 1 || weight.shape[0] % groups != 0 {
            fatalError("[\(op)] weight \(weight.shape) has \(weight.shape[0]) input channels, not divisible by groups \(groups)")
        }
        if shape[1] != weight.shape[0] {
            fatalError("[\(op)] input \(shape) has \(shape[1]) channels but weight \(weight.shape) expects \(weight.shape[0]) (groups \(groups))")
        }
        Tensor.checkPositive(op, stride, "stride")
        Tensor.checkPositive(op, dilation, "dilation")
        if padding.height < 0 || padding.width < 0 { fatalError("[\(op)] padding must be non-negative, got \(padding)") }
        if outputPadding.height < 0 || outputPadding.width < 0
            || (outputPadding.height >= stride.height && outputPadding.height >= dilation.height)
            || (outputPadding.width >= stride.width && outputPadding.width >= dilation.width) {
            fatalError("[\(op)] outputPadding \(outputPadding) must be smaller than stride \(stride) or dilation \(dilation)")
        }
        let outC = weight.shape[1] * groups
        let kh = weight.shape[2], kw = weight.shape[3]
        let h = (shape[2] - 1) * stride.height - 2 * padding.height + dilation.height * (kh - 1) + outputPadding.height + 1
        let w = (shape[3] - 1) * stride.width - 2 * padding.width + dilation.width * (kw - 1) + outputPadding.width + 1
        if h <= 0 || w <= 0 {
            fatalError("[\(op)] input \(shape) with kernel [\(kh), \(kw)], stride \(stride), padding \(padding) gives an empty output [\(h), \(w)]")
        }
        if let bias, bias.shape != [outC] {
            fatalError("[\(op)] bias must have shape [\(outC)], got \(bias.shape)")
        }
        // The convolution whose input gradient this is: input [N, outC, h, w] -> output [N, C, H, W].
        let geo = ConvGeometry(n: shape[0], c: outC, h: h, w: w, o: shape[1], kh: kh, kw: kw,
                               strideH: stride.height, strideW: stride.width, padTop: padding.height, padLeft: padding.width,
                               dilationH: dilation.height, dilationW: dilation.width, groups: groups,
                               oh: shape[2], ow: shape[3])
        var y = Tensor.convInputGrad(self, weight, geo)
        if let bias { y = y + bias.reshape([outC, 1, 1]) }
        return y
    }

    // MARK: Checks

    static func checkFloat(_ op: String, _ x: Tensor, _ w: Tensor, _ bias: Tensor?) {
        if !x.dtype.isFloatingPoint || x.dtype != w.dtype || (bias != nil && bias!.dtype != x.dtype) {
            fatalError("[\(op)] input, weight and bias must all be float32 or all float64, got \(x.dtype), \(w.dtype)\(bias.map { ", \($0.dtype)" } ?? "")")
        }
    }

    static func checkPositive(_ op: String, _ s: Size2D, _ what: String) {
        if s.height < 1 || s.width < 1 { fatalError("[\(op)] \(what) must be positive, got \(s)") }
    }

    /// Validates a conv2d call and works out its sizes.
    static func convGeometry(_ op: String, _ x: Tensor, _ w: Tensor, _ bias: Tensor?, stride: Size2D,
                             padding: ConvPadding, dilation: Size2D, groups: Int) -> ConvGeometry {
        checkFloat(op, x, w, bias)
        if x.rank != 4 { fatalError("[\(op)] input must be [N, C, H, W] or [C, H, W], got shape \(x.shape)") }
        if w.rank != 4 { fatalError("[\(op)] weight must be [out channels, in channels / groups, kH, kW], got shape \(w.shape)") }
        if groups < 1 { fatalError("[\(op)] groups must be positive, got \(groups)") }
        let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (o, cg, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
        if c != cg * groups {
            fatalError("[\(op)] input \(x.shape) has \(c) channels but weight \(w.shape) expects \(cg * groups) (groups \(groups))")
        }
        if o % groups != 0 {
            fatalError("[\(op)] weight \(w.shape) has \(o) output channels, not divisible by groups \(groups)")
        }
        if let bias, bias.shape != [o] { fatalError("[\(op)] bias must have shape [\(o)], got \(bias.shape)") }
        checkPositive(op, stride, "stride")
        checkPositive(op, dilation, "dilation")
        let extentH = dilation.height * (kh - 1) + 1, extentW = dilation.width * (kw - 1) + 1
        var top = 0, left = 0, padH = 0, padW = 0
        switch padding {
        case .size(let p):
            if p.height < 0 || p.width < 0 { fatalError("[\(op)] padding must be non-negative, got \(p)") }
            (top, left, padH, padW) = (p.height, p.width, 2 * p.height, 2 * p.width)
        case .valid: break
        case .same:
            if stride.height != 1 || stride.width != 1 {
                fatalError("[\(op)] padding .same needs stride 1, got stride \(stride)")
            }
            (padH, padW) = (extentH - 1, extentW - 1)
            (top, left) = (padH / 2, padW / 2)
        }
        let oh = (h + padH - extentH) / stride.height + 1, ow = (wd + padW - extentW) / stride.width + 1
        if h + padH < extentH || wd + padW < extentW || kh < 1 || kw < 1 {
            fatalError("[\(op)] input \(x.shape) padded by \(padding) is smaller than the kernel [\(kh), \(kw)] (dilation \(dilation))")
        }
        return ConvGeometry(n: n, c: c, h: h, w: wd, o: o, kh: kh, kw: kw, strideH: stride.height, strideW: stride.width,
                            padTop: top, padLeft: left, dilationH: dilation.height, dilationW: dilation.width,
                            groups: groups, oh: oh, ow: ow)
    }

    // MARK: The three differentiable products

    /// y = conv(x, w) + bias.
    static func conv(_ x: Tensor, _ w: Tensor, _ bias: Tensor?, _ geo: ConvGeometry) -> Tensor {
        if Tensor.routed(x, w, bias) { return Tensor.apply(Convolution.Forward(geometry: geo), [x, w] + (bias.map { [$0] } ?? [])) }
        let out: Tensor
        if geo.outputShape.contains(0) {
            out = Tensor(uninitializedShape: geo.outputShape, dtype: x.dtype)
        } else if geo.colRows == 0 || geo.n == 0 {
            if let bias { return conv(x, w, nil, geo) + bias.detached().contiguous().reshape([geo.o, 1, 1]) }
            out = Tensor.zeros(geo.outputShape, dtype: x.dtype)
        } else {
            // The kernels with no epilogue.
            out = fusedConv(x, w, bias, geo, .identity).values
        }
        let inputs = [x, w] + (bias.map { [$0] } ?? [])
        return needsGrad(inputs) ? out.recorded(Convolution.Forward(geometry: geo), inputs) : out
    }

    /// dx = the transpose of conv(·, w) applied to gy [n, o, oh, ow]; gives [n, c, h, w].
    static func convInputGrad(_ gy: Tensor, _ w: Tensor, _ geo: ConvGeometry) -> Tensor {
        if Tensor.routed(gy, w) { return Tensor.apply(Convolution.InputGrad(geometry: geo), [gy, w]) }
        let gc = gy.detached().contiguous(), wc = w.detached().contiguous()
        let out = Tensor(uninitializedShape: geo.inputShape, dtype: gy.dtype)
        if out.count > 0 {
            if geo.colRows == 0 || geo.og == 0 || geo.colCols == 0 {
                out.basePointerRaw.initializeMemory(as: UInt8.self, repeating: 0, count: out.count * gy.dtype.byteSize)
            } else if gy.dtype == .float32, let m = ConvAlgorithm.choose(geo, dtype: .float32).winogradTile {
                ConvKernels.winogradInputGrad(m: m, gc.basePointer(Float.self), wc.basePointer(Float.self),
                                              out.basePointer(Float.self), geo)
            } else if gy.dtype == .float32 {
                ConvKernels.backwardInput(Float.self, gc.basePointer(Float.self), wc.basePointer(Float.self),
                                          out.basePointer(Float.self), geo)
            } else {
                ConvKernels.backwardInput(Double.self, gc.basePointer(Double.self), wc.basePointer(Double.self),
                                          out.basePointer(Double.self), geo)
            }
        }
        withExtendedLifetime((gc, wc)) {}
        return needsGrad(gy, w) ? out.recorded(Convolution.InputGrad(geometry: geo), [gy, w]) : out
    }

    /// dw = the transpose of conv(x, ·) applied to gy; gives [o, c / groups, kh, kw].
    static func convWeightGrad(_ x: Tensor, _ gy: Tensor, _ geo: ConvGeometry) -> Tensor {
        if Tensor.routed(x, gy) { return Tensor.apply(Convolution.WeightGrad(geometry: geo), [x, gy]) }
        let xc = x.detached().contiguous(), gc = gy.detached().contiguous()
        let out = Tensor(uninitializedShape: geo.weightShape, dtype: x.dtype)
        if out.count > 0 {
            if geo.n == 0 || geo.colCols == 0 {
                out.basePointerRaw.initializeMemory(as: UInt8.self, repeating: 0, count: out.count * x.dtype.byteSize)
            } else if x.dtype == .float32, let m = ConvAlgorithm.choose(geo, dtype: .float32).winogradTile {
                ConvKernels.winogradWeightGrad(m: m, xc.basePointer(Float.self), gc.basePointer(Float.self),
                                               out.basePointer(Float.self), geo)
            } else if x.dtype == .float32 {
                ConvKernels.backwardWeight(Float.self, xc.basePointer(Float.self), gc.basePointer(Float.self),
                                           out.basePointer(Float.self), geo)
            } else {
                ConvKernels.backwardWeight(Double.self, xc.basePointer(Double.self), gc.basePointer(Double.self),
                                           out.basePointer(Double.self), geo)
            }
        }
        withExtendedLifetime((xc, gc)) {}
        return needsGrad(x, gy) ? out.recorded(Convolution.WeightGrad(geometry: geo), [x, gy]) : out
    }

    /// The untyped start of the elements (for zero-filling).
    var basePointerRaw: UnsafeMutableRawPointer {
        storage.data + offset * dtype.byteSize
    }
}

/// The three convolution products as primitives; each is the others' transpose, so gradients of
/// gradients stay convolutions. The geometry is an attribute; its batch size follows the input.
enum Convolution {
    struct Forward: Primitive {
        static let name = "conv2d"
        let geometry: ConvGeometry
        func forward(_ x: [Tensor]) -> Tensor {
            Tensor.conv(x[0], x[1], x.count > 2 ? x[2] : nil, geometry.batch(x[0].shape[0]))
        }
        func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] {
            let geo = geometry.batch(x[0].shape[0])
            var grads: [Tensor?] = [
                x[0].requiresGrad ? Tensor.convInputGrad(g, x[1], geo) : nil,
                x[1].requiresGrad ? Tensor.convWeightGrad(x[0], g, geo) : nil,
            ]
            if x.count > 2 { grads.append(x[2].requiresGrad ? g.sum(axes: [0, 2, 3]) : nil) }
            return grads
        }
    }

    /// dx = the transpose of conv(·, w) applied to gy.
    struct InputGrad: Primitive {
        static let name = "conv2dInputGrad"
        let geometry: ConvGeometry
        func forward(_ x: [Tensor]) -> Tensor { Tensor.convInputGrad(x[0], x[1], geometry.batch(x[0].shape[0])) }
        func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] {
            let geo = geometry.batch(x[0].shape[0])
            return [x[0].requiresGrad ? Tensor.conv(g, x[1], nil, geo) : nil,
                    x[1].requiresGrad ? Tensor.convWeightGrad(g, x[0], geo) : nil]
        }
    }

    /// dw = the transpose of conv(x, ·) applied to gy.
    struct WeightGrad: Primitive {
        static let name = "conv2dWeightGrad"
        let geometry: ConvGeometry
        func forward(_ x: [Tensor]) -> Tensor { Tensor.convWeightGrad(x[0], x[1], geometry.batch(x[0].shape[0])) }
        func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] {
            let geo = geometry.batch(x[0].shape[0])
            return [x[0].requiresGrad ? Tensor.convInputGrad(x[1], g, geo) : nil,
                    x[1].requiresGrad ? Tensor.conv(x[0], g, nil, geo) : nil]
        }
    }
}

// MARK: Free functions

/// 2-D convolution: `conv2d(x, w, bias:, stride:, padding:, dilation:, groups:)`, as `x.conv2d(w, ...)`.
public func conv2d(_ input: Tensor, _ weight: Tensor, bias: Tensor? = nil, stride: Size2D = 1, padding: ConvPadding = 0,
                   dilation: Size2D = 1, groups: Int = 1) -> Tensor {
    input.conv2d(weight, bias: bias, stride: stride, padding: padding, dilation: dilation, groups: groups)
}

/// 1-D convolution: `conv1d(x, w, ...)`, as `x.conv1d(w, ...)`.
public func conv1d(_ input: Tensor, _ weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: ConvPadding = 0,
                   dilation: Int = 1, groups: Int = 1) -> Tensor {
    input.conv1d(weight, bias: bias, stride: stride, padding: padding, dilation: dilation, groups: groups)
}

/// Transposed 2-D convolution: `convTranspose2d(x, w, ...)`, as `x.convTranspose2d(w, ...)`.
public func convTranspose2d(_ input: Tensor, _ weight: Tensor, bias: Tensor? = nil, stride: Size2D = 1,
                            padding: Size2D = 0, outputPadding: Size2D = 0, groups: Int = 1,
                            dilation: Size2D = 1) -> Tensor {
    input.convTranspose2d(weight, bias: bias, stride: stride, padding: padding, outputPadding: outputPadding,
                          groups: groups, dilation: dilation)
}

// MARK: Shape rules (see Primitive.outputType)

extension ConvGeometry {
    /// The geometry is usable: positive sizes, channels divisible by the groups (the kernels check
    /// every read against the input's bounds, so paddings and output sizes cannot read outside).
    func validate() throws {
        if [c, h, w, o, kh, kw, strideH, strideW, dilationH, dilationW, groups, oh, ow].contains(where: { $0 < 1 }) || n < 0 {
            throw ShapeRuleError("invalid convolution geometry \(self)")
        }
        if c % groups != 0 || o % groups != 0 { throw ShapeRuleError("channels \(c) and \(o) are not divisible by groups \(groups)") }
        if Swift.abs(padTop) > 1 << 20 || Swift.abs(padLeft) > 1 << 20 { throw ShapeRuleError("padding out of range") }
    }
}

extension Convolution.Forward {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 2...3)
        try geometry.validate()
        try ShapeRules.float(x[0])
        let g = geometry.batch(x[0].shape.first ?? 0)
        if x[0].shape != g.inputShape || x[1].shape != g.weightShape || x.contains(where: { $0.dtype != x[0].dtype }) {
            throw ShapeRuleError("inputs \(x) do not fit the geometry (input \(g.inputShape), weight \(g.weightShape))")
        }
        if x.count == 3 && x[2].shape != [g.o] { throw ShapeRuleError("bias must be [\(g.o)], got \(x[2].shape)") }
        return .init(shape: g.outputShape, dtype: x[0].dtype)
    }
}

extension Convolution.InputGrad {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 2...2)
        try geometry.validate()
        try ShapeRules.float(x[0])
        let g = geometry.batch(x[0].shape.first ?? 0)
        if x[0].shape != g.outputShape || x[1].shape != g.weightShape || x[1].dtype != x[0].dtype {
            throw ShapeRuleError("inputs \(x) do not fit the geometry (gradient \(g.outputShape), weight \(g.weightShape))")
        }
        return .init(shape: g.inputShape, dtype: x[0].dtype)
    }
}

extension Convolution.WeightGrad {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 2...2)
        try geometry.validate()
        try ShapeRules.float(x[0])
        let g = geometry.batch(x[0].shape.first ?? 0)
        if x[0].shape != g.inputShape || x[1].shape != g.outputShape || x[1].dtype != x[0].dtype {
            throw ShapeRuleError("inputs \(x) do not fit the geometry (input \(g.inputShape), gradient \(g.outputShape))")
        }
        return .init(shape: g.weightShape, dtype: x[0].dtype)
    }
}
