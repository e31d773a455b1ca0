import Testing
import MyelinTestSupport
@testable import MyelinNN
@testable import MyelinCore

/// A `Sequential` runs Conv2d followed by ReLU and/or MaxPool2d(2) as one fused call
/// (`Conv2d.forward(_:then:)`), in training too: the outputs and parameter gradients of the layers
/// run one by one, bit for bit; other pools and a module summary run the layers apart.
@Suite struct ConvEpilogueLayerTests {

    private func model(_ g: RandomGenerator) -> Sequential {
        Sequential {
            Conv2d(inChannels: 1, outChannels: 8, kernelSize: 3, padding: 1, generator: g); ReLU(); MaxPool2d(kernelSize: 2)
            Conv2d(inChannels: 8, outChannels: 32, kernelSize: 3, padding: 1, generator: g); ReLU()
            Conv2d(inChannels: 32, outChannels: 33, kernelSize: 3, padding: 1, bias: false, generator: g); MaxPool2d(kernelSize: 2)
            Conv2d(inChannels: 33, outChannels: 4, kernelSize: 3, padding: 1, generator: g); ReLU(); MaxPool2d(kernelSize: 3)
            Flatten()
            Linear(4, 3, generator: g)
        }
    }

    @Test func sequentialTrainsAsTheLayersRunApart() {
        let g = RandomGenerator(seed: 21)
        let m = model(g)
        let x = Tensor.randn([3, 1, 14, 13], generator: g)
        func step(fused: Bool) -> [Tensor] {
            m.zeroGrad()
            let y = fused ? m(x) : m.layers.reduce(x) { h, layer in layer(h) }
            (y * y).sum().backward()
            return [y.detached()] + m.parameters().map { $0.grad! }
        }
        let (apart, fused) = ThreadCountGuard.comparing { (step(fused: false), step(fused: true)) }
        #expect(apart.count == fused.count && apart.count == 10)
        for (i, (a, f)) in zip(apart, fused).enumerated() {
            let same = a.shape == f.shape && bitPatterns(a) == bitPatterns(f)
            #expect(same, "value \(i) differs")
        }
    }

    @Test func fusesOnlyTheTwoByTwoPoolAndNotUnderASummary() {
        let g = RandomGenerator(seed: 22)
        let x = Tensor.randn([2, 3, 8, 8], generator: g).requiringGrad()
        let conv = Conv2d(inChannels: 3, outChannels: 5, kernelSize: 3, padding: 1, generator: g)
        #expect(Sequential([conv, ReLU(), MaxPool2d(kernelSize: 2)])(x).gradFunctionName == "conv2dFused")
        #expect(Sequential([conv, MaxPool2d(kernelSize: 2)])(x).gradFunctionName == "conv2dFused")
        #expect(Sequential([conv, ReLU()])(x).gradFunctionName == "conv2dFused")
        #expect(Sequential([conv, ReLU(), MaxPool2d(kernelSize: 2, stride: 1)])(x).gradFunctionName == "maxPool2d")
        #expect(Sequential([conv, Tanh()])(x).gradFunctionName == "tanh")
        let summary = Sequential([conv, ReLU(), MaxPool2d(kernelSize: 2)]).summary(inputShape: [2, 3, 8, 8])
        #expect(summary.contains("ReLU") && summary.contains("MaxPool2d") && summary.contains("[2, 5, 4, 4]"))
        #expect(summary.contains("[2, 5, 8, 8] (im2col+GEMM; relu+maxPool2x2 fused)"))
        let unfused = Sequential([conv, Tanh()]).summary(inputShape: [2, 3, 8, 8])
        #expect(unfused.contains("[2, 5, 8, 8] (im2col+GEMM)") && !unfused.contains("fused"))
    }
}
