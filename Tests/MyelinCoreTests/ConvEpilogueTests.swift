import Foundation
import Testing
import MyelinTestSupport
@testable import MyelinCore

/// The fused convolution epilogue (Tensor+ConvEpilogue.swift): ReLU and 2x2 max pooling applied in
/// the Winograd output transform and the im2col loop give the bits of conv2d, relu and maxPool2d
/// run apart, forward and every gradient, on each algorithm, with odd sizes (windows cut at the
/// edges, partial tiles and lane groups), NaN, ties and zeros.
@Suite struct ConvEpilogueTests {
    struct Case: CustomStringConvertible, Sendable {
        var algorithm: ConvAlgorithm
        var epilogue: ConvEpilogue
        var n, c, o, h, w, pad: Int
        var bias = true
        var dtype: DType = .float32
        var kernel = 3, stride = 1, groups = 1
        var description: String {
            "\(algorithm.rawValue) \(epilogue) \(dtype) n\(n) c\(c) o\(o) \(h)x\(w) pad \(pad)\(bias ? "" : " no bias")"
                + " k\(kernel) stride \(stride) groups \(groups)"
        }
    }

    static let epilogues: [ConvEpilogue] = [.relu, .reluMaxPool, ConvEpilogue(maxPool2x2: true)]

    static let cases: [Case] = [ConvAlgorithm.im2col, .winograd2, .winograd4].flatMap { a in
        epilogues.flatMap { e in
            [
                Case(algorithm: a, epilogue: e, n: 2, c: 3, o: 5, h: 7, w: 9, pad: 1),
                Case(algorithm: a, epilogue: e, n: 3, c: 5, o: 2, h: 7, w: 6, pad: 0, bias: false),
                Case(algorithm: a, epilogue: e, n: 1, c: 2, o: 11, h: 5, w: 8, pad: 2),
                // Several tile blocks, 33 channels (four lane groups and a one-channel tail).
                Case(algorithm: a, epilogue: e, n: 3, c: 40, o: 33, h: 15, w: 14, pad: 1),
            ]
        }
    } + epilogues.flatMap { e in
        [
            Case(algorithm: .im2col, epilogue: e, n: 2, c: 3, o: 4, h: 9, w: 7, pad: 1, dtype: .float64),
            // The im2col loop's other shapes: strided, grouped, pointwise (no column buffer), one sample.
            Case(algorithm: .im2col, epilogue: e, n: 3, c: 4, o: 6, h: 11, w: 10, pad: 1, stride: 2, groups: 2),
            Case(algorithm: .im2col, epilogue: e, n: 2, c: 5, o: 7, h: 6, w: 9, pad: 0, kernel: 1),
            Case(algorithm: .im2col, epilogue: e, n: 1, c: 3, o: 9, h: 8, w: 8, pad: 1),
        ]
    }

    /// Output and gradients of x, w and b for the loss sum(y * up), fused or run apart.
    static func run(_ k: Case, _ x: Tensor, _ w: Tensor, _ b: Tensor, fused: Bool) -> [Tensor] {
        ConvAlgorithm.$forced.withValue(k.algorithm) {
            let (xl, wl, bl) = (x.requiringGrad(), w.requiringGrad(), b.requiringGrad())
            let bias = k.bias ? bl : nil
            let pad = ConvPadding.size(Size2D(k.pad)), stride = Size2D(k.stride)
            let y = fused ? xl.conv2d(wl, bias: bias, stride: stride, padding: pad, groups: k.groups, then: k.epilogue)
                          : k.epilogue.applied(to: xl.conv2d(wl, bias: bias, stride: stride, padding: pad, groups: k.groups))
            let up = Tensor.randn(y.shape, generator: RandomGenerator(seed: 3)).to(k.dtype)
            (y * up).sum().backward()
            return [y.detached(), xl.grad!, wl.grad!] + (k.bias ? [bl.grad!] : [])
        }
    }

    @Test(arguments: cases)
    func fusedIsTheSeparateOpsBitForBit(_ k: Case) {
        let g = RandomGenerator(seed: 11)
        let x = Tensor.randn([k.n, k.c, k.h, k.w], generator: g).to(k.dtype)
        let w = Tensor.randn([k.o, k.c / k.groups, k.kernel, k.kernel], generator: g).to(k.dtype)
        let b = Tensor.randn([k.o], generator: g).to(k.dtype)
        let (fused, apart) = ThreadCountGuard.comparing { (Self.run(k, x, w, b, fused: true), Self.run(k, x, w, b, fused: false)) }
        let oh = (k.h + 2 * k.pad - k.kernel) / k.stride + 1, ow = (k.w + 2 * k.pad - k.kernel) / k.stride + 1
        #expect(fused[0].shape == (k.epilogue.maxPool2x2 ? [k.n, k.o, oh / 2, ow / 2] : [k.n, k.o, oh, ow]))
        for (i, (f, a)) in zip(fused, apart).enumerated() {
            let name = ["output", "input gradient", "weight gradient", "bias gradient"][i]
            let same = f.shape == a.shape && bitPatterns(f) == bitPatterns(a)
            #expect(same, "\(k): \(name) differs")
        }
    }

    @Test(arguments: [ConvAlgorithm.im2col, .winograd4])
    func nanTiesAndZerosPoolAsTheSeparateOps(_ algorithm: ConvAlgorithm) {
        // A zero weight and bias make every output 0 (all ties; relu keeps the sign of -0), one
        // NaN pixel spreads to the outputs that read it, and negative biases make whole windows 0
        // after the relu: the pooled values and the positions the gradient goes to must match.
        var xs = [Float](repeating: 1, count: 2 * 32 * 8 * 8)
        xs[5 * 64 + 3 * 8 + 4] = .nan
        for i in stride(from: 0, to: xs.count, by: 7) where !xs[i].isNaN { xs[i] = -2 }
        let x = Tensor(shape: [2, 32, 8, 8], scalars: xs)
        var ws = Tensor.randn([40, 32, 3, 3], generator: RandomGenerator(seed: 4)).floats
        for i in 0..<(32 * 9) { ws[i] = 0 }                              // channel 0: all zero
        let w = Tensor(shape: [40, 32, 3, 3], scalars: ws)
        var bs = (0..<40).map { Float($0 % 3) - 1.5 }
        bs[0] = 0
        let b = Tensor(shape: [40], scalars: bs)
        let k = Case(algorithm: algorithm, epilogue: .reluMaxPool, n: 2, c: 32, o: 40, h: 8, w: 8, pad: 1)
        let (fused, apart) = ThreadCountGuard.comparing { (Self.run(k, x, w, b, fused: true), Self.run(k, x, w, b, fused: false)) }
        #expect(fused[0].floats.contains { $0.isNaN } && fused[0].floats.contains { $0 == 0 })
        for (i, (f, a)) in zip(fused, apart).enumerated() {
            let name = ["output", "input gradient", "weight gradient", "bias gradient"][i]
            let same = bitPatterns(f) == bitPatterns(a)
            #expect(same, "\(algorithm): \(name) differs")
        }
    }

    @Test func unbatchedInputIsOneSampleOfTheBatch() {
        // (Thread counts are not varied here: Threading.count is global and other suites compare
        // bits meanwhile; WinogradTests covers the tile blocks' independence of the thread count.)
        let g = RandomGenerator(seed: 12)
        let x = Tensor.randn([4, 33, 14, 14], generator: g), w = Tensor.randn([64, 33, 3, 3], generator: g)
        let b = Tensor.randn([64], generator: g)
        let batch = ConvAlgorithm.$forced.withValue(.winograd4) { x.conv2d(w, bias: b, padding: 1, then: .reluMaxPool) }
        let single = ConvAlgorithm.$forced.withValue(.winograd4) { x[1].conv2d(w, bias: b, padding: 1, then: .reluMaxPool) }
        let sameUnbatched = single.shape == [64, 7, 7] && bitPatterns(single) == bitPatterns(batch[1])
        #expect(sameUnbatched)
    }

    @Test func tracedGraphsRecordTheFusedPrimitivesAndReplayThem() throws {
        try ThreadCountGuard.comparing {
            let g = RandomGenerator(seed: 13)
            let w = Tensor.randn([6, 3, 3, 3], generator: g), b = Tensor.randn([6], generator: g)
            let x = Tensor.randn([2, 3, 9, 9], generator: g)
            let f: ([Tensor]) -> [Tensor] = { [$0[0].conv2d(w, bias: b, padding: 1, then: .reluMaxPool).tanh(),
                                               $0[0].conv2d(w, padding: 1, then: .relu)] }
            let graph = Graph.trace(inputs: [x]) { f($0) }
            #expect(graph.description.contains("conv2dFusedIndex") && graph.description.contains("conv2dFused("))
            let eager = f([x])
            let replayed = zip(eager, graph([x])).allSatisfy { bitPatterns($0) == bitPatterns($1) }
            #expect(replayed)
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("myelin-fused-\(getpid())").path
            defer { try? FileManager.default.removeItem(atPath: path) }
            try graph.save(to: path)
            let loaded = try Graph.load(path)
            let x2 = Tensor.randn([2, 3, 9, 9], generator: g)
            let reloaded = zip(f([x2]), loaded([x2])).allSatisfy { bitPatterns($0) == bitPatterns($1) }
            #expect(reloaded)
            // The replay is differentiable, through the same vjp.
            let a = x2.requiringGrad(), c = x2.requiringGrad()
            f([a])[0].sum().backward()
            loaded([c])[0].sum().backward()
            let sameGrad = bitPatterns(a.grad!) == bitPatterns(c.grad!)
            #expect(sameGrad)
        }
    }

    @Test func gradientsOfGradientsFlowThroughTheFusedVjp() {
        // d/dx of |dL/dw|^2 needs the vjp written in differentiable ops (float64, finite differences).
        let g = RandomGenerator(seed: 14)
        let w = Tensor.randn([3, 2, 3, 3], generator: g).to(.float64).requiringGrad()
        let x = Tensor.randn([1, 2, 6, 6], generator: g).to(.float64)
        func loss(_ w: Tensor, fused: Bool) -> Tensor {
            let y = fused ? x.conv2d(w, padding: 1, then: .reluMaxPool) : x.conv2d(w, padding: 1).relu().maxPool2d(kernelSize: 2)
            let gw = gradients(of: (y * y * y).sum(), with: [w], createGraph: true)[0]
            return (gw * gw).sum()
        }
        let (gf, ga) = ThreadCountGuard.comparing {
            (gradients(of: loss(w, fused: true), with: [w])[0], gradients(of: loss(w, fused: false), with: [w])[0])
        }
        let sameSecondOrder = bitPatterns(gf) == bitPatterns(ga)
        #expect(sameSecondOrder)
    }
}
