import Testing
@testable import MyelinNN
import MyelinCore
import MyelinTestSupport

/// Layers against PyTorch (Fixtures/layers.json from generators/gen_layers.py): outputs, input
/// and parameter gradients, running statistics.
@Suite struct LayerTests {
    /// Builds the layer for a fixture and returns it with its parameters and buffers, in the
    /// generator's order.
    static func make(_ op: String, _ c: FixtureCase) -> (Module, [Parameter], [Buffer]) {
        switch op {
        case "linear":
            let l = Linear(c.inputs[0].shape.last!, c.inputs[1].shape[0])
            return (l, [l.weight, l.bias!], [])
        case "layerNorm", "layerNorm2":
            let l = LayerNorm(c.inputs[1].shape)
            return (l, [l.weight!, l.bias!], [])
        case "batchNorm", "batchNormEval":
            let l = BatchNorm1d(c.inputs[1].shape[0])
            if op == "batchNormEval" {
                l.runningMean!.value = Tensor([0.5, -1.0, 2.0])
                l.runningVar!.value = Tensor([1.5, 0.25, 4.0])
            }
            return (l, [l.weight!, l.bias!], [l.runningMean!, l.runningVar!])
        case "embedding":
            let l = Embedding(c.inputs[1].shape[0], c.inputs[1].shape[1])
            return (l, [l.weight], [])
        default:
            fatalError("no layer for fixture op \(op)")
        }
    }

    @Test(arguments: Fixtures.load("layers"))
    func matchesPyTorch(_ c: FixtureCase) {
        let (layer, params, buffers) = Self.make(c.op, c)
        for (p, t) in zip(params, c.inputs.dropFirst().dropLast()) { p.assign(t.tensor) }
        if c.has("train") && !c.bool("train") { layer.eval() }
        let x = c.inputs[0].tensor
        let input = x.dtype.isFloatingPoint ? x.requiringGrad() : x
        let y = layer(input)
        (y * c.inputs.last!.tensor).sum().backward()
        var actual = [y.detached()]
        if input.requiresGrad { actual.append(input.grad!) }
        actual += params.map { $0.grad! }
        if c.has("train") && c.bool("train") || c.op == "batchNorm" {
            actual += buffers.map(\.value)
        }
        #expect(actual.count == c.expected.count, "\(c.name): \(actual.count) results for \(c.expected.count) expected")
        for (i, (a, e)) in zip(actual, c.expected).enumerated() {
            expectClose(a, e.tensor, rtol: c.rtol, atol: c.atol, "\(c.name) result \(i)")
        }
    }

    final class CircleModel: Module {
        let layer1 = Linear(2, 10)
        let layer2 = Linear(10, 1)
        override func forward(_ x: Tensor) -> Tensor { layer2(layer1(x).relu()) }
    }

    final class Nested: Module {
        let encoder = Sequential { Linear(4, 8); ReLUForTests(); Linear(8, 2) }
        let heads: [Linear] = [Linear(2, 1), Linear(2, 3)]
        let norm: LayerNorm? = LayerNorm([2])
        let bn = BatchNorm1d(2)
        let scale = Parameter(Tensor.ones([1]))
        override func forward(_ x: Tensor) -> Tensor { heads[0](bn(norm!(encoder(x)))) * scale.value }
    }

    /// A minimal activation layer so these tests don't depend on the activation file.
    final class ReLUForTests: Module {
        override init() { super.init() }
        override func forward(_ x: Tensor) -> Tensor { x.relu() }
    }

    @Test func parametersAreFoundByReflection() {
        let model = CircleModel()
        #expect(model.namedParameters().map(\.0) == ["layer1.weight", "layer1.bias", "layer2.weight", "layer2.bias"])
        #expect(model.parameterCount == 2 * 10 + 10 + 10 + 1)
        #expect(model(Tensor.randn([8, 2])).shape == [8, 1])

        let nested = Nested()
        #expect(nested.namedParameters().map(\.0) == [
            "scale", "encoder.0.weight", "encoder.0.bias", "encoder.2.weight", "encoder.2.bias",
            "heads.0.weight", "heads.0.bias", "heads.1.weight", "heads.1.bias", "norm.weight", "norm.bias",
            "bn.weight", "bn.bias",
        ])
        #expect(nested.namedBuffers().map(\.0) == ["bn.runningMean", "bn.runningVar", "bn.numBatchesTracked"])
        #expect(nested.namedModules().map(\.0).contains("encoder.1"))
    }

    @Test func trainEvalAndFreezeApplyRecursively() {
        let model = Nested()
        model.eval()
        #expect(model.namedModules().allSatisfy { !$0.1.isTraining })
        model.train()
        #expect(model.encoder[0].isTraining)
        model.freeze()
        #expect(model.trainableParameterCount == 0 && model.parameterCount > 0)
        model.unfreeze()
        #expect(model.trainableParameterCount == model.parameterCount)
        let y = model(Tensor.randn([4, 4])).sum()
        y.backward()
        // heads.1 is not used by forward, so only it gets no gradient.
        #expect(model.namedParameters().filter { $0.1.grad == nil }.map(\.0) == ["heads.1.weight", "heads.1.bias"])
        model.zeroGrad()
        #expect(model.parameters().allSatisfy { $0.grad == nil })
    }

    @Test func sequentialBuilderSupportsConditionsAndLoops() {
        let deep = true
        let model = Sequential {
            Linear(3, 4)
            if deep { ReLUForTests() }
            for _ in 0..<2 { Linear(4, 4) }
        }
        #expect(model.count == 4)
        #expect(Sequential([Linear(3, 4), Linear(4, 2)])(Tensor.ones([5, 3])).shape == [5, 2])
    }

    @Test func summaryListsLayersShapesAndCounts() {
        let model = Sequential { Linear(784, 512); ReLUForTests(); Linear(512, 10) }
        let text = model.summary(inputShape: [1, 784])
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines[0].hasPrefix("Layer") && lines[0].contains("Output shape") && lines[0].hasSuffix("Params"))
        #expect(lines[2].hasPrefix("0 ") && lines[2].contains("Linear") && lines[2].contains("[1, 512]") && lines[2].hasSuffix("401,920"))
        #expect(lines[3].contains("ReLUForTests") && lines[3].hasSuffix(" 0"))
        #expect(lines[4].contains("[1, 10]") && lines[4].hasSuffix("5,130"))
        #expect(text.contains("Total params: 407,050 (trainable 407,050)"))
    }

    @Test func denseBuildsOnFirstCall() {
        let layer = Dense(3, activation: .relu)
        #expect(layer.parameters().isEmpty)
        let y = layer(Tensor.randn([2, 5]))
        #expect(y.shape == [2, 3] && y.min().item() >= 0)
        #expect(layer.namedParameters().map(\.0) == ["linear.weight", "linear.bias"])
    }

    @Test func dropoutScalesInTrainingAndIsIdentityInEval() {
        let drop = Dropout(0.25, generator: RandomGenerator(seed: 1))
        let x = Tensor.ones([100_000])
        let y = drop(x)
        let kept = (y .> 0).to(.float64).mean().item()
        #expect(Swift.abs(kept - 0.75) < 0.01)
        #expect(Set(y.floats) == [0, Float(1 / 0.75)])
        #expect(Swift.abs(y.mean().item() - 1) < 0.02, "inverted dropout keeps the expectation")
        drop.eval()
        #expect(drop(x).floats == x.floats)
    }

    @Test func flattenIdentityEmbeddingShapes() {
        #expect(Flatten()(Tensor.zeros([2, 3, 4])).shape == [2, 12])
        #expect(Flatten(startAxis: 0)(Tensor.zeros([2, 3, 4])).shape == [24])
        #expect(Identity()(Tensor.ones([3])).floats == [1, 1, 1])
        #expect(Embedding(10, 4)(Tensor([[1, 2, 3]])).shape == [1, 3, 4])
    }

    @Test func initialisersHaveTheRightStatistics() {
        let g = RandomGenerator(seed: 7)
        // Linear's default: uniform in ±1/sqrt(fanIn).
        let w = Linear(400, 300, generator: g).weight.value
        #expect(w.abs().max().item() <= 1 / 20.0 + 1e-7 && w.abs().max().item() > 0.049)
        let kn = Initializer.kaimingNormal(nonlinearity: .relu).make([512, 256], generator: g)
        #expect(Swift.abs(kn.std().item() - (2.0 / 256).squareRoot()) < 0.002)
        let xu = Initializer.xavierUniform().make([300, 200], generator: g)
        #expect(xu.abs().max().item() <= (6.0 / 500).squareRoot())
        let xn = Initializer.xavierNormal(gain: 2).make([300, 200], generator: g)
        #expect(Swift.abs(xn.std().item() - 2 * (2.0 / 500).squareRoot()) < 0.002)
        let q = Initializer.orthogonal().make([6, 10], generator: g).to(.float64)
        expectClose(q.matmul(q.T), Tensor.eye(6, dtype: .float64), rtol: 0, atol: 1e-6, "orthogonal rows")
        let qt = Initializer.orthogonal(gain: 2).make([10, 6], generator: g).to(.float64)
        expectClose(qt.T.matmul(qt), Tensor.eye(6, dtype: .float64) * 4, rtol: 0, atol: 1e-5, "orthogonal columns")
        #expect(Initializer.gain(.tanh) == 5.0 / 3 && Initializer.gain(.leakyRelu, param: 0.2) == (2 / 1.04).squareRoot())
        #expect(Initializer.constant(0.5).make([2]).floats == [0.5, 0.5])
    }
}
