import Testing
@testable import MyelinNN
@testable import MyelinCore
import MyelinTestSupport

/// Convolution and pooling ops and layers against PyTorch (Fixtures/conv.json from
/// generators/gen_conv.py): outputs and the gradients of sum(output * upstream) with respect to
/// input, weight and bias; plus Float64 gradient checks, BatchNorm2d, Dropout2d, layer set-up.
@Suite struct ConvTests {
    static func size(_ c: FixtureCase, _ key: String, default d: Int) -> Size2D {
        switch c.params[key] {
        case .number(let v)?: return Size2D(Int(v))
        case .array?: let v = c.ints(key)!; return v.count == 1 ? Size2D(v[0]) : Size2D(v[0], v[1])
        default: return Size2D(d)
        }
    }

    static func padding(_ c: FixtureCase) -> ConvPadding {
        switch c.params["padding"] {
        case .string("same")?: return .same
        case .string("valid")?: return .valid
        default: return .size(size(c, "padding", default: 0))
        }
    }

    /// Runs the fixture's op on leaves that require gradients; returns the output and the leaves.
    static func run(_ c: FixtureCase) -> (Tensor, [Tensor]) {
        let leaves = c.inputs.dropLast().map { $0.tensor.requiringGrad() }
        let x = leaves[0]
        let bias = c.has("bias") && c.bool("bias") ? leaves[2] : nil
        let stride = size(c, "stride", default: 1), dilation = size(c, "dilation", default: 1)
        let groups = c.has("groups") ? c.int("groups") : 1
        let y: Tensor
        switch c.op {
        case "conv2d":
            y = x.conv2d(leaves[1], bias: bias, stride: stride, padding: padding(c), dilation: dilation, groups: groups)
        case "conv1d":
            y = conv1d(x, leaves[1], bias: bias, stride: stride.width, padding: padding(c), dilation: dilation.width, groups: groups)
        case "convTranspose2d":
            y = x.convTranspose2d(leaves[1], bias: bias, stride: stride, padding: size(c, "padding", default: 0),
                                  outputPadding: size(c, "outputPadding", default: 0), groups: groups, dilation: dilation)
        case "maxPool2d":
            let k = size(c, "kernel", default: 1)
            y = x.maxPool2d(kernelSize: k, stride: c.has("stride") ? stride : nil, padding: size(c, "padding", default: 0))
        case "maxPool1d":
            y = maxPool1d(x, kernelSize: c.int("kernel"), stride: c.has("stride") ? c.int("stride") : nil,
                          padding: c.has("padding") ? c.int("padding") : 0)
        case "avgPool2d":
            y = avgPool2d(x, kernelSize: size(c, "kernel", default: 1), stride: c.has("stride") ? stride : nil,
                          padding: size(c, "padding", default: 0),
                          countIncludePad: c.has("countIncludePad") ? c.bool("countIncludePad") : true)
        case "avgPool1d":
            y = x.avgPool1d(kernelSize: c.int("kernel"), stride: c.has("stride") ? c.int("stride") : nil,
                            padding: c.has("padding") ? c.int("padding") : 0)
        case "adaptiveAvgPool2d":
            y = x.adaptiveAvgPool2d(outputSize: size(c, "output", default: 1))
        case "globalAvgPool2d":
            y = globalAvgPool2d(x)
        default:
            fatalError("no op for fixture \(c.op)")
        }
        return (y, leaves)
    }

    static var opCases: [FixtureCase] { Fixtures.load("conv").filter { $0.op != "batchNorm2d" && $0.op != "cnnModel" } }

    @Test(arguments: opCases)
    func opsMatchPyTorch(_ c: FixtureCase) {
        let (y, leaves) = Self.run(c)
        (y * c.inputs.last!.tensor).sum().backward()
        let actual = [y.detached()] + leaves.map { $0.grad! }
        #expect(actual.count == c.expected.count, "\(c.name): \(actual.count) results for \(c.expected.count) expected")
        for (i, (a, e)) in zip(actual, c.expected).enumerated() {
            expectClose(a, e.tensor, rtol: c.rtol, atol: c.atol, "\(c.name) result \(i)")
        }
    }

    /// The fixtures' convolutions again with each Winograd algorithm forced (the table leaves so few
    /// channels to im2col): the 3x3 stride-1 ones run Winograd in forward, input and weight
    /// gradient (convTranspose2d's forward is an input gradient) and stay within the tolerances.
    @Test(arguments: [ConvAlgorithm.winograd2, .winograd4])
    func winogradMatchesPyTorch(_ algorithm: ConvAlgorithm) {
        var winograd = 0
        for c in Self.opCases where c.op == "conv2d" || c.op == "convTranspose2d" {
            ConvAlgorithm.$forced.withValue(algorithm) {
                let x = c.inputs[0].tensor, w = c.inputs[1].tensor
                if c.op == "conv2d" && x.conv2dAlgorithm(w, stride: Self.size(c, "stride", default: 1), padding: Self.padding(c),
                                                         dilation: Self.size(c, "dilation", default: 1),
                                                         groups: c.has("groups") ? c.int("groups") : 1) == algorithm {
                    winograd += 1
                }
                let (y, leaves) = Self.run(c)
                (y * c.inputs.last!.tensor).sum().backward()
                let actual = [y.detached()] + leaves.map { $0.grad! }
                for (i, (a, e)) in zip(actual, c.expected).enumerated() {
                    expectClose(a, e.tensor, rtol: c.rtol, atol: c.atol, "\(c.name) with \(algorithm) result \(i)")
                }
            }
        }
        #expect(winograd >= 5, "only \(winograd) fixtures ran \(algorithm)")
    }

    @Test func summarySaysWhichAlgorithmEachConvolutionRuns() {
        // cnn_train's layers: the table gives im2col to 1 -> 32 channels, Winograd to 32 -> 64.
        let model = Sequential {
            Conv2d(inChannels: 1, outChannels: 32, kernelSize: 3, padding: 1); ReLU(); MaxPool2d(kernelSize: 2)
            Conv2d(inChannels: 32, outChannels: 64, kernelSize: 3, padding: 1)
            Conv2d(inChannels: 64, outChannels: 8, kernelSize: 1)
            Conv2d(inChannels: 8, outChannels: 8, kernelSize: 3, stride: 2)
        }
        let lines = model.summary(inputShape: [1, 1, 28, 28]).split(separator: "\n").map(String.init)
        let wino = ConvAlgorithm.environment == nil ? "Winograd F(4x4,3x3)" : ConvAlgorithm.environment == .im2col ? "im2col+GEMM" : nil
        // (The first is followed by ReLU and MaxPool2d, which the Sequential fuses into it.)
        #expect(lines[2].contains("[1, 32, 28, 28] (im2col+GEMM; relu+maxPool2x2 fused)") || ConvAlgorithm.environment != nil,
                "\(lines[2])")
        if let wino { #expect(lines[5].contains("[1, 64, 14, 14] (\(wino))"), "\(lines[5])") }
        #expect(lines[6].contains("[1, 8, 14, 14] (GEMM (1x1))"), "\(lines[6])")
        #expect(lines[7].contains("[1, 8, 6, 6] (im2col+GEMM)"), "\(lines[7])")
        // Float64 keeps the im2col path.
        let text64 = model.to(.float64).summary(inputShape: [1, 1, 28, 28], dtype: .float64)
        #expect(!text64.contains("Winograd"))
    }

    @Test(arguments: Fixtures.load("conv").filter { $0.op == "batchNorm2d" })
    func batchNorm2dMatchesPyTorch(_ c: FixtureCase) {
        let bn = BatchNorm2d(3)
        let train = c.bool("train")
        if !train {
            bn.eval()
            bn.runningMean!.value = Tensor([0.5, -1.0, 2.0])
            bn.runningVar!.value = Tensor([1.5, 0.25, 4.0])
        }
        bn.weight!.assign(c.inputs[1].tensor)
        bn.bias!.assign(c.inputs[2].tensor)
        let x = c.inputs[0].tensor.requiringGrad()
        let y = bn(x)
        (y * c.inputs[3].tensor).sum().backward()
        var actual = [y.detached(), x.grad!, bn.weight!.grad!, bn.bias!.grad!]
        if train { actual += [bn.runningMean!.value, bn.runningVar!.value] }
        #expect(actual.count == c.expected.count)
        for (i, (a, e)) in zip(actual, c.expected).enumerated() {
            expectClose(a, e.tensor, rtol: c.rtol, atol: c.atol, "\(c.name) result \(i)")
        }
        if train { #expect(bn.numBatchesTracked!.value.ints == [1]) }
    }

    // MARK: Gradient checks in Float64

    struct Row: CustomTestStringConvertible, Sendable {
        let name: String
        let shapes: [[Int]]
        let f: @Sendable ([Tensor]) -> Tensor
        var testDescription: String { name }
        init(_ name: String, _ shapes: [[Int]], _ f: @escaping @Sendable ([Tensor]) -> Tensor) {
            self.name = name
            self.shapes = shapes
            self.f = f
        }
    }

    static let gradRows: [Row] = [
        Row("conv2d", [[2, 3, 5, 4], [4, 3, 3, 2], [4]]) { $0[0].conv2d($0[1], bias: $0[2], stride: [2, 1], padding: [1, 0]) },
        Row("conv2d same dilation", [[1, 2, 5, 5], [2, 2, 2, 3]]) { $0[0].conv2d($0[1], padding: .same, dilation: [2, 1]) },
        Row("conv2d depthwise", [[2, 3, 4, 4], [6, 1, 3, 3], [6]]) { $0[0].conv2d($0[1], bias: $0[2], padding: 1, groups: 3) },
        Row("conv2d pointwise", [[2, 4, 3, 3], [2, 4, 1, 1]]) { $0[0].conv2d($0[1]) },
        Row("conv1d", [[2, 2, 7], [3, 2, 3], [3]]) { conv1d($0[0], $0[1], bias: $0[2], stride: 2, padding: 1) },
        Row("convTranspose2d", [[2, 2, 3, 3], [2, 3, 3, 3], [3]]) {
            $0[0].convTranspose2d($0[1], bias: $0[2], stride: 2, padding: 1, outputPadding: 1)
        },
        Row("convTranspose2d groups", [[1, 4, 2, 3], [4, 1, 2, 2]]) { $0[0].convTranspose2d($0[1], stride: [1, 2], groups: 2) },
        Row("maxPool2d", [[2, 2, 5, 5]]) { $0[0].maxPool2d(kernelSize: 3, stride: 2, padding: 1) },
        Row("maxPool2d 2x2", [[1, 2, 4, 6]]) { $0[0].maxPool2d(kernelSize: 2) },
        Row("maxPool1d", [[2, 2, 7]]) { $0[0].maxPool1d(kernelSize: 2, stride: 1) },
        Row("avgPool2d", [[2, 2, 5, 5]]) { $0[0].avgPool2d(kernelSize: 3, stride: 2, padding: 1) },
        Row("avgPool2d no pad count", [[1, 2, 5, 4]]) { $0[0].avgPool2d(kernelSize: 2, stride: 1, padding: 1, countIncludePad: false) },
        Row("avgPool1d", [[2, 2, 7]]) { $0[0].avgPool1d(kernelSize: 3, stride: 2) },
        Row("adaptiveAvgPool2d", [[2, 2, 5, 7]]) { $0[0].adaptiveAvgPool2d(outputSize: [3, 4]) },
        Row("globalAvgPool2d", [[2, 3, 3, 4]]) { $0[0].globalAvgPool2d() },
        Row("conv2d of conv2d grad (double backward)", [[1, 2, 4, 4], [2, 2, 3, 3]]) { a in
            // The input gradient, differentiated again with respect to input and weight.
            withGrad {
                let x = a[0].requiresGrad ? a[0] : a[0].requiringGrad()
                return gradients(of: (x.conv2d(a[1], padding: 1).square()).sum(), with: [x], createGraph: true)[0]
            }
        },
    ]

    @Test(arguments: gradRows)
    func gradCheckOps(_ row: Row) {
        let gen = RandomGenerator(seed: 7)
        let inputs = row.shapes.map { Tensor.normal($0, dtype: .float64, generator: gen) }
        let results = gradCheck(inputs, row.f)
        for (i, r) in results.enumerated() {
            #expect(r.worstRelativeError < 1e-6, "\(row.name) input \(i): \(r)")
        }
    }

    static func layerCheck(_ layer: Module, _ shape: [Int]) -> [GradCheckResult] {
        // Parameters as float64 inputs: the layer's forward with its weights replaced.
        let params = layer.parameters()
        let x = Tensor.normal(shape, dtype: .float64, generator: RandomGenerator(seed: 3))
        let originals = params.map { $0.value }
        defer { for (p, v) in zip(params, originals) { p.value = v } }
        return gradCheck([x] + originals) { a in
            for (p, v) in zip(params, a.dropFirst()) { p.value = v }
            return layer(a[0])
        }
    }

    @Test func gradCheckLayers() {
        let gen = RandomGenerator(seed: 2)
        let layers: [(String, Module, [Int])] = [
            ("Conv2d", Conv2d(inChannels: 2, outChannels: 3, kernelSize: [3, 2], stride: 2, padding: 1, generator: gen), [2, 2, 5, 4]),
            ("Conv1d", Conv1d(inChannels: 2, outChannels: 2, kernelSize: 3, padding: .same, generator: gen), [2, 2, 6]),
            ("ConvTranspose2d", ConvTranspose2d(inChannels: 2, outChannels: 2, kernelSize: 3, stride: 2, generator: gen), [1, 2, 3, 3]),
            ("BatchNorm2d", BatchNorm2d(2), [3, 2, 2, 3]),
            ("MaxPool2d", MaxPool2d(kernelSize: 2), [1, 2, 4, 4]),
            ("AvgPool2d", AvgPool2d(kernelSize: 2, stride: 1), [1, 2, 3, 3]),
            ("AdaptiveAvgPool2d", AdaptiveAvgPool2d(outputSize: 2), [1, 2, 5, 3]),
            ("GlobalAvgPool2d", GlobalAvgPool2d(), [2, 2, 3, 3]),
            ("MaxPool1d", MaxPool1d(kernelSize: 2), [1, 2, 6]),
            ("AvgPool1d", AvgPool1d(kernelSize: 3, stride: 2, padding: 1), [2, 2, 7]),
        ]
        for (name, layer, shape) in layers {
            for (i, r) in Self.layerCheck(layer, shape).enumerated() {
                #expect(r.worstRelativeError < 1e-6, "\(name) input \(i): \(r)")
            }
        }
    }

    // MARK: Layers

    @Test func convLayersHavePyTorchNamesShapesAndInit() {
        let conv = Conv2d(inChannels: 4, outChannels: 8, kernelSize: 3, padding: 1, generator: RandomGenerator(seed: 0))
        #expect(conv.stateDict().keys.sorted() == ["bias", "weight"])
        #expect(conv.weight.shape == [8, 4, 3, 3] && conv.filters.shape == [8, 4, 3, 3])
        // Kaiming uniform with a = √5 and the bias are both uniform in ±1/√fanIn (fanIn 36).
        let bound = 1 / 6.0
        let w = conv.weight.value.doubles, b = conv.bias!.value.doubles
        #expect(w.allSatisfy { Swift.abs($0) <= bound } && w.map { Swift.abs($0) }.max()! > bound * 0.9)
        #expect(b.allSatisfy { Swift.abs($0) <= bound })
        #expect(conv(Tensor.randn([2, 4, 9, 7])).shape == [2, 8, 9, 7])

        let dw = Conv2d(inChannels: 6, outChannels: 6, kernelSize: 3, padding: .same, groups: 6, bias: false)
        #expect(dw.weight.shape == [6, 1, 3, 3] && dw.bias == nil)
        #expect(Conv1d(inChannels: 3, outChannels: 5, kernelSize: 4).weight.shape == [5, 3, 4])
        let t = ConvTranspose2d(inChannels: 4, outChannels: 6, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1, groups: 2)
        #expect(t.weight.shape == [4, 3, 3, 3])
        #expect(t(Tensor.randn([1, 4, 5, 5])).shape == [1, 6, 10, 10])

        let model = Sequential {
            Conv2d(inChannels: 1, outChannels: 4, kernelSize: 3, padding: 1); BatchNorm2d(4); ReLU(); MaxPool2d(kernelSize: 2)
            Dropout2d(0.1); GlobalAvgPool2d(); Linear(4, 2)
        }
        #expect(model.stateDict().keys.sorted() == [
            "0.bias", "0.weight", "1.bias", "1.num_batches_tracked", "1.running_mean", "1.running_var", "1.weight",
            "6.bias", "6.weight",
        ])
        #expect(model(Tensor.rand([3, 1, 8, 8])).shape == [3, 2])
        #expect(AvgPool1d(kernelSize: 2)(Tensor.ones([1, 2, 6])).shape == [1, 2, 3])
        #expect(AdaptiveAvgPool2d(outputSize: [2, 3])(Tensor.ones([2, 3, 7, 7])).shape == [2, 3, 2, 3])
    }

    @Test func loadsAPyTorchCNNStateDict() throws {
        // The architecture of gen_conv.py's saved model; strict loading checks every name and shape.
        let model = Sequential {
            Conv2d(inChannels: 1, outChannels: 4, kernelSize: 3, padding: 1); BatchNorm2d(4); ReLU(); MaxPool2d(kernelSize: 2)
            Conv2d(inChannels: 4, outChannels: 4, kernelSize: 3, padding: 1, groups: 2); ReLU(); AdaptiveAvgPool2d(outputSize: 2)
            Flatten(); Linear(16, 3)
        }
        try model.load(from: Fixtures.directory.appendingPathComponent("torch_cnn.safetensors").path)
        model.eval()
        let c = Fixtures.load("conv").first { $0.op == "cnnModel" }!
        let y = withoutGrad { model(c.inputs[0].tensor) }
        expectClose(y, c.expected[0].tensor, rtol: c.rtol, atol: c.atol, "PyTorch CNN eval output")
        #expect((model[1] as! BatchNorm2d).numBatchesTracked!.value.ints == [1])
    }

    @Test func readmeExampleRuns() {
        let model = Sequential {
            Conv2d(inChannels: 1, outChannels: 32, kernelSize: 3, padding: 1); BatchNorm2d(32); ReLU(); MaxPool2d(kernelSize: 2)
            Conv2d(inChannels: 32, outChannels: 64, kernelSize: 3, padding: .same); ReLU(); MaxPool2d(kernelSize: 2)
            Dropout2d(0.1); Flatten(); Linear(64 * 7 * 7, 10)
        }
        let logits = model(Tensor.rand([8, 1, 28, 28]))
        #expect(logits.shape == [8, 10])
        #expect((model[0] as! Conv2d).filters.shape == [32, 1, 3, 3])
        crossEntropy(logits, labels: Tensor.randint(0, 10, shape: [8])).backward()
        #expect(model.parameters().allSatisfy { $0.grad != nil })
    }

    @Test func batchNorm2dRunningStatisticsOverSteps() {
        // Two training steps then evaluation, against the closed-form running averages.
        let bn = BatchNorm2d(2, momentum: 0.2)
        let x1 = Tensor.normal([4, 2, 3, 3], generator: RandomGenerator(seed: 1)) * 2 + 1
        let x2 = Tensor.normal([4, 2, 3, 3], generator: RandomGenerator(seed: 2)) - 3
        _ = bn(x1)
        _ = bn(x2)
        var mean = Tensor.zeros([2]), variance = Tensor.ones([2])
        for x in [x1, x2] {
            mean = mean * 0.8 + x.mean(axes: [0, 2, 3]) * 0.2
            variance = variance * 0.8 + x.variance(axes: [0, 2, 3], unbiased: true) * 0.2
        }
        expectClose(bn.runningMean!.value, mean, rtol: 1e-5, atol: 1e-5, "running mean")
        expectClose(bn.runningVar!.value, variance, rtol: 1e-5, atol: 1e-5, "running var")
        #expect(bn.numBatchesTracked!.value.ints == [2])
        bn.eval()
        let y = bn(x1)
        let expected = (x1 - mean.reshape([2, 1, 1])) / (variance.reshape([2, 1, 1]) + 1e-5).sqrt()
        expectClose(y, expected, rtol: 1e-4, atol: 1e-4, "eval output")
        #expect(bn.numBatchesTracked!.value.ints == [2], "eval does not count batches")
    }

    @Test func dropout2dDropsWholeChannelsWithInvertedScaling() {
        let drop = Dropout2d(0.3, generator: RandomGenerator(seed: 4))
        let x = Tensor.ones([200, 50, 3, 4])
        let y = drop(x)
        let planes = y.reshape([200 * 50, 12]).doubles
        var kept = 0
        for p in 0..<(200 * 50) {
            let plane = planes[(p * 12)..<(p * 12 + 12)]
            // A plane is all zeros or all 1/(1-p).
            #expect(Set(plane).count == 1)
            if plane.first! != 0 {
                kept += 1
                #expect(Swift.abs(plane.first! - 1 / 0.7) < 1e-6)
            }
        }
        let rate = Double(kept) / Double(200 * 50)
        #expect(Swift.abs(rate - 0.7) < 0.02, "kept \(rate) of channels")
        #expect(Swift.abs(y.mean().item() - 1) < 0.03, "inverted dropout keeps the expectation")
        drop.eval()
        #expect(drop(x).floats == x.floats)
        #expect(Dropout2d(0.5)(Tensor.ones([4, 3, 2])).shape == [4, 3, 2])
    }

    @Test func conv2dOnFloat64AndUnbatchedInputs() {
        let x = Tensor.randn([3, 6, 6]), w = Tensor.randn([2, 3, 3, 3])
        let y = x.conv2d(w, padding: 1)
        #expect(y.shape == [2, 6, 6])
        expectClose(y, x.unsqueezed(axis: 0).conv2d(w, padding: 1)[0], "unbatched")
        let y64 = x.to(.float64).conv2d(w.to(.float64), padding: 1)
        #expect(y64.dtype == .float64)
        expectClose(y64.to(.float32), y, rtol: 1e-4, atol: 1e-4, "float64 agrees")
        // Wide rows (vectorised float32 im2col/col2im) agree with float64 (scalar loops), gradients too.
        let big = Tensor.randn([2, 3, 20, 21]), bw = Tensor.randn([4, 3, 3, 3]), bb = Tensor.randn([4])
        func grads(_ d: DType) -> [Tensor] {
            let (x, w, b) = (big.to(d).requiringGrad(), bw.to(d).requiringGrad(), bb.to(d).requiringGrad())
            let out = x.conv2d(w, bias: b, padding: 1)
            (out * out).sum().backward()
            return [out.detached(), x.grad!, w.grad!, b.grad!].map { $0.to(.float32) }
        }
        for (i, (a, e)) in zip(grads(.float32), grads(.float64)).enumerated() {
            expectClose(a, e, rtol: 1e-3, atol: 1e-3, "wide conv result \(i)")
        }
        // A 1x1 convolution is a matmul over channels.
        let w1 = Tensor.randn([4, 3, 1, 1])
        let viaMatmul = w1.reshape([4, 3]).matmul(x.reshape([3, 36])).reshape([4, 6, 6])
        expectClose(x.conv2d(w1), viaMatmul, rtol: 1e-4, atol: 1e-5, "pointwise")
    }

    @Test func maxPool2x2FastPathMatchesReshapedMax() {
        // Wide rows take the vectorised 2x2 paths (8, then 4 outputs at a time) plus a scalar tail; odd sizes drop the edge.
        for shape in [[2, 3, 20, 22], [1, 2, 9, 35], [1, 2, 6, 28], [2, 1, 4, 14]] {
            let x = Tensor.randn(shape).requiringGrad()
            let u = Tensor.randn([shape[0], shape[1], shape[2] / 2, shape[3] / 2])
            let y = x.maxPool2d(kernelSize: 2)
            (y * u).sum().backward()
            let x2 = x.detached().requiringGrad()
            let crop = x2[.all, .all, 0..<(shape[2] / 2 * 2), 0..<(shape[3] / 2 * 2)]
            let reference = crop.reshape([shape[0], shape[1], shape[2] / 2, 2, shape[3] / 2, 2]).max(axes: [3, 5])
            (reference * u).sum().backward()
            expectClose(y.detached(), reference.detached(), "maxPool2d \(shape) values")
            expectClose(x.grad!, x2.grad!, "maxPool2d \(shape) gradient")
        }
        // NaN wins the window, as in PyTorch.
        var x = Tensor.randn([1, 1, 4, 18])
        x[0, 0, 1, 9] = Tensor(scalar: Float.nan)
        let y = x.maxPool2d(kernelSize: 2)
        #expect(y[0, 0, 0, 4].item() .isNaN)
        #expect(y.floats.filter(\.isNaN).count == 1)
    }

    @Test func batchOneSplitsEachProductAcrossThreadsWithTheSameResults() {
        // Batch 1 (fewer samples than threads) splits each GEMM by columns; a batch of the same
        // sample repeated goes sample by sample. Both must agree, gradients included.
        let reps = Swift.max(2, Threading.count)
        // Seeded: the global generator moves under tests running in parallel. Different GEMM splits
        // sum in different orders, so values that cancel (gradients of size ~10-100) may differ
        // by ~1e-4 in float32; a wrong offset would differ by O(1).
        let g = RandomGenerator(seed: 11)
        let x1 = Tensor.randn([1, 16, 40, 40], generator: g), w = Tensor.randn([32, 16, 3, 3], generator: g)
        let b = Tensor.randn([32], generator: g)
        func run(_ x: Tensor) -> [Tensor] {
            let (xl, wl, bl) = (x.requiringGrad(), w.requiringGrad(), b.requiringGrad())
            let y = xl.conv2d(wl, bias: bl, padding: 1)
            (y * y).sum().backward()
            return [y.detached(), xl.grad!, wl.grad!, bl.grad!]
        }
        let single = run(x1), batch = run(Tensor.cat(Array(repeating: x1, count: reps), axis: 0))
        expectClose(single[0], batch[0][0..<1], rtol: 1e-4, atol: 1e-4, "output")
        expectClose(single[1], batch[1][0..<1], rtol: 1e-4, atol: 2e-3, "input gradient")
        expectClose(single[2] * Double(reps), batch[2], rtol: 1e-3, atol: 1e-2, "weight gradient")
        expectClose(single[3] * Double(reps), batch[3], rtol: 1e-3, atol: 1e-2, "bias gradient")
    }

    @Test func misuseTrapsWithMessages() async {
        await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.zeros([2, 3, 8, 8]).conv2d(Tensor.zeros([4, 2, 3, 3]))
        }.map { result in
            let err = String(decoding: result.standardErrorContent, as: UTF8.self)
            #expect(err.contains("[conv2d] input [2, 3, 8, 8] has 3 channels but weight [4, 2, 3, 3] expects 2 (groups 1)"))
        }
        await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.zeros([1, 1, 4, 4]).conv2d(Tensor.zeros([1, 1, 3, 3]), stride: 2, padding: .same)
        }.map { result in
            let err = String(decoding: result.standardErrorContent, as: UTF8.self)
            #expect(err.contains("[conv2d] padding .same needs stride 1"))
        }
        await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.zeros([1, 1, 4, 4]).maxPool2d(kernelSize: 2, padding: 2)
        }.map { result in
            let err = String(decoding: result.standardErrorContent, as: UTF8.self)
            #expect(err.contains("[maxPool2d] padding 2 must be between 0 and half the kernel size 2"))
        }
    }
}
