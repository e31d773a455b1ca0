// A convolution with its epilogue fused: bias, ReLU and 2x2 max pooling applied to each output
// tile or sample while it is in cache, instead of three more passes over a tensor four times the
// size of what the layer hands on (Conv2d, ReLU, MaxPool2d(2) in a Sequential run as one call).
//
// The values, the pooling positions and every gradient are the bits of the separate ops: the
// epilogue is their arithmetic in their order, and the backward is composed of their vjps (relu's
// mask on the pooled output, the pool's scatter, then the convolution's three products). The
// kernels are the Winograd output transform (winograd.c) and the im2col loop (ConvKernels.forward).

/// What `conv2d(_:bias:stride:padding:dilation:groups:then:)` applies to the convolution's output
/// in the same pass: a ReLU, then a 2x2, stride-2 max pool.
///
/// ```swift
/// let y = x.conv2d(w, bias: b, padding: 1, then: .reluMaxPool)   // x.conv2d(...).relu().maxPool2d(kernelSize: 2)
/// ```
public struct ConvEpilogue: Codable, Sendable, Hashable, CustomStringConvertible {
    /// `v < 0 ? 0 : v`, as `relu()`.
    public var relu: Bool
    /// `maxPool2d(kernelSize: 2)` after the activation.
    public var maxPool2x2: Bool

    public init(relu: Bool = false, maxPool2x2: Bool = false) {
        self.relu = relu
        self.maxPool2x2 = maxPool2x2
    }

    /// A ReLU.
    public static let relu = ConvEpilogue(relu: true)
    /// A ReLU, then 2x2 max pooling.
    public static let reluMaxPool = ConvEpilogue(relu: true, maxPool2x2: true)
    /// Nothing beyond the bias.
    public static let identity = ConvEpilogue()

    public var description: String {
        switch (relu, maxPool2x2) {
        case (true, true): return "relu+maxPool2x2"
        case (true, false): return "relu"
        case (false, true): return "maxPool2x2"
        case (false, false): return "identity"
        }
    }

    /// The same as the separate ops on a convolution's output.
    func applied(to y: Tensor) -> Tensor {
        let a = relu ? y.relu() : y
        return maxPool2x2 ? a.maxPool2d(kernelSize: 2) : a
    }
}

extension Tensor {
    /// `conv2d` followed by the ops of `epilogue` (ReLU, 2x2 max pooling), run as one pass that
    /// applies them while each part of the output is in cache. Values and gradients are those of
    /// the separate ops, bit for bit; only the unpooled output is never written.
    ///
    /// ```swift
    /// let x = Tensor.randn([8, 32, 14, 14]), w = Tensor.randn([64, 32, 3, 3])
    /// x.conv2d(w, padding: 1, then: .reluMaxPool).shape    // [8, 64, 7, 7]
    /// ```
    public func conv2d(_ weight: Tensor, bias: Tensor? = nil, stride: Size2D = 1, padding: ConvPadding = 0,
                       dilation: Size2D = 1, groups: Int = 1, then epilogue: ConvEpilogue) -> Tensor {
        if rank == 3 {
            return unsqueezed(axis: 0).conv2d(weight, bias: bias, stride: stride, padding: padding, dilation: dilation,
                                              groups: groups, then: epilogue).squeezed(axis: 0)
        }
        let geo = Tensor.convGeometry("conv2d", self, weight, bias, stride: stride, padding: padding,
                                      dilation: dilation, groups: groups)
        // Empty or degenerate shapes (and a pool the output is too small for, which traps there),
        // and operands on another device (its backend has the separate ops' kernels): the separate ops.
        let elsewhere = (storage.deviceSlot | weight.storage.deviceSlot | (bias?.storage.deviceSlot ?? 0)) != 0
        if elsewhere || geo.n == 0 || geo.colRows == 0 || geo.o == 0 || (epilogue.maxPool2x2 && (geo.oh < 2 || geo.ow < 2))
            || epilogue == .identity {
            return epilogue.applied(to: Tensor.conv(self, weight, bias, geo))
        }
        let inputs = [self, weight] + (bias.map { [$0] } ?? [])
        if Tensor.routed(self, weight, bias) {
            guard epilogue.maxPool2x2 else { return Tensor.apply(Convolution.Fused(geometry: geo, epilogue: epilogue), inputs) }
            let index = Tensor.apply(Convolution.FusedIndex(geometry: geo, epilogue: epilogue), inputs)
            return Tensor.apply(Convolution.Fused(geometry: geo, epilogue: epilogue), inputs + [index])
        }
        let (out, index) = Tensor.fusedConv(self, weight, bias, geo, epilogue)
        guard Tensor.needsGrad(inputs) else { return out }
        guard let index else { return out.recorded(Convolution.Fused(geometry: geo, epilogue: epilogue), inputs) }
        // One pass gives the output and the pooling positions; recorded as two primitives (the
        // positions, then the output reading them), as max pooling is.
        let positions = index.recorded(Convolution.FusedIndex(geometry: geo, epilogue: epilogue), inputs)
        return out.recorded(Convolution.Fused(geometry: geo, epilogue: epilogue), inputs + [positions])
    }

    /// The convolution kernels (the algorithm `ConvAlgorithm.choose` picks) with `epilogue`: the
    /// output (pooled when the epilogue pools) and, when it pools, each maximum's flat position in
    /// its unpooled plane. `conv` runs them with `.identity`; shapes must not be degenerate.
    static func fusedConv(_ x: Tensor, _ w: Tensor, _ bias: Tensor?, _ geo: ConvGeometry,
                          _ epilogue: ConvEpilogue) -> (values: Tensor, index: Tensor?) {
        let xc = x.detached().contiguous(), wc = w.detached().contiguous(), bc = bias?.detached().contiguous()
        let shape = epilogue.maxPool2x2 ? [geo.n, geo.o, geo.oh / 2, geo.ow / 2] : geo.outputShape
        let out = Tensor(uninitializedShape: shape, dtype: x.dtype)
        let index = epilogue.maxPool2x2 ? Tensor(uninitializedShape: shape, dtype: .int32) : nil
        let ip = index?.basePointer(Int32.self), relu = epilogue.relu
        if x.dtype == .float32, let m = ConvAlgorithm.choose(geo, dtype: .float32).winogradTile {
            ConvKernels.winogradForward(m: m, xc.basePointer(Float.self), wc.basePointer(Float.self),
                                        bc.map { UnsafePointer($0.basePointer(Float.self)) }, relu: relu, index: ip,
                                        out.basePointer(Float.self), geo)
        } else if x.dtype == .float32 {
            ConvKernels.forward(Float.self, xc.basePointer(Float.self), wc.basePointer(Float.self),
                                bc.map { UnsafePointer($0.basePointer(Float.self)) }, relu: relu, index: ip,
                                out.basePointer(Float.self), geo)
        } else {
            ConvKernels.forward(Double.self, xc.basePointer(Double.self), wc.basePointer(Double.self),
                                bc.map { UnsafePointer($0.basePointer(Double.self)) }, relu: relu, index: ip,
                                out.basePointer(Double.self), geo)
        }
        withExtendedLifetime((xc, wc, bc)) {}
        return (out, index)
    }
}

extension Convolution {
    /// conv(x, w) + bias with the epilogue applied. Inputs x, w, bias?, and when it pools the
    /// positions from `FusedIndex`. The vjp is the separate ops' vjps in turn.
    struct Fused: Primitive {
        static let name = "conv2dFused"
        let geometry: ConvGeometry
        let epilogue: ConvEpilogue
        var savesOutput: Bool { epilogue.relu }

        func forward(_ x: [Tensor]) -> Tensor {
            let c = convInputs(x)
            return Tensor.fusedConv(c[0], c[1], c.count > 2 ? c[2] : nil, geometry.batch(c[0].shape[0]), epilogue).values
        }

        func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] {
            var gy = epilogue.relu ? Tensor.apply(BinaryOps.PassWherePositive(), g, y.detached()) : g
            if epilogue.maxPool2x2 { gy = Tensor.maxPoolScatter(gy, x[x.count - 1], geometry.batch(x[0].shape[0]).outputShape) }
            let grads = Convolution.Forward(geometry: geometry).vjp(gy, convInputs(x), y)
            return epilogue.maxPool2x2 ? grads + [nil] : grads
        }

        /// The input, weight and bias?: the inputs without the positions, which come last when pooling.
        private func convInputs(_ x: [Tensor]) -> [Tensor] { epilogue.maxPool2x2 ? Array(x.dropLast()) : x }
    }

    /// Where each pooled maximum of `Fused` sits in its unpooled plane (int32); not differentiable.
    struct FusedIndex: Primitive {
        static let name = "conv2dFusedIndex"
        let geometry: ConvGeometry
        let epilogue: ConvEpilogue

        func forward(_ x: [Tensor]) -> Tensor {
            let geo = geometry.batch(x[0].shape[0])
            guard let index = Tensor.fusedConv(x[0], x[1], x.count > 2 ? x[2] : nil, geo, epilogue).index else {
                fatalError("[conv2d] the fused index needs a pooling epilogue, got \(epilogue)")
            }
            return index
        }

        func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] { x.map { _ in nil } }
    }
}

// MARK: Shape rules (see Primitive.outputType)

extension Convolution.Fused {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        let pooled = epilogue.maxPool2x2
        try ShapeRules.arity(x, (pooled ? 3 : 2)...(pooled ? 4 : 3))
        let conv = try Convolution.Forward(geometry: geometry).outputType(Array(x.prefix(x.count - (pooled ? 1 : 0))))
        guard let conv, pooled else { return conv }
        let shape = [conv.shape[0], conv.shape[1], conv.shape[2] / 2, conv.shape[3] / 2]
        if conv.shape[2] < 2 || conv.shape[3] < 2 { throw ShapeRuleError("output \(conv.shape) is too small to pool 2x2") }
        if x[x.count - 1].dtype != .int32 || x[x.count - 1].shape != shape {
            throw ShapeRuleError("positions must be int32 of shape \(shape), got \(x[x.count - 1])")
        }
        return .init(shape: shape, dtype: conv.dtype)
    }
}

extension Convolution.FusedIndex {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        if !epilogue.maxPool2x2 { throw ShapeRuleError("the fused index needs a pooling epilogue, got \(epilogue)") }
        guard let conv = try Convolution.Forward(geometry: geometry).outputType(x) else { return nil }
        if conv.shape[2] < 2 || conv.shape[3] < 2 { throw ShapeRuleError("output \(conv.shape) is too small to pool 2x2") }
        return .init(shape: [conv.shape[0], conv.shape[1], conv.shape[2] / 2, conv.shape[3] / 2], dtype: .int32)
    }
}
