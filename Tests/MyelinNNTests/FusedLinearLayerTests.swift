import Testing
import MyelinTestSupport
@testable import MyelinNN
@testable import MyelinCore

/// Batch-1 inference through `Sequential` and `Dense` pairs a `Linear` with the activation after
/// it into one kernel call (`Linear.forward(_:then:)`): the bits of the layers run one by one,
/// gradients when they are needed, and ordinary ops in a traced graph.
@Suite struct FusedLinearLayerTests {

    private func model(_ g: RandomGenerator) -> Sequential {
        Sequential {
            Linear(37, 130, generator: g); ReLU()
            Linear(130, 67, bias: false, generator: g); LeakyReLU(slope: 0.2)
            Linear(67, 300, generator: g); ReLU()
            Linear(300, 517, generator: g); ReLU()
            Linear(517, 9, generator: g)
        }
    }

    /// The layers as separate ordinary ops: `linear(weight:bias:)` and then the activation.
    private func reference(_ m: Sequential, _ x: Tensor) -> Tensor {
        m.layers.reduce(x) { h, layer in
            if let l = layer as? Linear { return h.linear(weight: l.weight.value, bias: l.bias?.value) }
            return layer(h)
        }
    }

    @Test func sequentialGivesTheBitsOfTheSeparateLayers() {
        let g = RandomGenerator(seed: 11)
        let m = model(g)
        m.eval()
        for shape in [[1, 37], [37], [3, 37]] {
            let x = Tensor.randn(shape, generator: g)
            let (got, want) = withoutGrad { (m(x), reference(m, x)) }
            #expect(got.shape == want.shape)
            #expect(bitPatterns(got) == bitPatterns(want), "input \(shape)")
        }
    }

    @Test func denseGivesTheBitsOfItsLinearAndActivation() {
        let g = RandomGenerator(seed: 12)
        let x = Tensor.randn([1, 19], generator: g)
        for activation in [Dense.Activation.none, .relu, .leakyRelu(slope: 0.3), .tanh] {
            let d = Dense(45, activation: activation, generator: g)
            d.build(inputSize: 19)
            let l = d.linear!
            let (got, want) = withoutGrad { (d(x), activation.apply(x.linear(weight: l.weight.value, bias: l.bias?.value))) }
            #expect(bitPatterns(got) == bitPatterns(want), "\(activation)")
        }
    }

    @Test func gradientsFlowWhenNeeded() {
        let g = RandomGenerator(seed: 13)
        let m = model(g)
        let x = Tensor.randn([1, 37], generator: g).requiringGrad()
        m(x).sum().backward()
        let fusedGrads = m.parameters().map { $0.grad.map(bitPatterns) }
        let inputGrad = x.grad.map(bitPatterns)
        #expect(fusedGrads.allSatisfy { $0 != nil } && inputGrad != nil)
        m.zeroGrad()
        let x2 = x.detached().requiringGrad()
        reference(m, x2).sum().backward()
        #expect(m.parameters().map { $0.grad.map(bitPatterns) } == fusedGrads)
        #expect(x2.grad.map(bitPatterns) == inputGrad)
    }

    @Test func aTracedGraphRecordsTheOrdinaryOps() {
        let g = RandomGenerator(seed: 14)
        let m = model(g)
        m.eval()
        let x = Tensor.randn([1, 37], generator: g)
        let graph = m.traced(example: x)
        let names = graph.nodes.map(\.primitive.name)
        #expect(names.filter { $0 == "linear" }.count == 5)
        #expect(names.contains("relu"))
        let eager = withoutGrad { m(x) }
        #expect(bitPatterns(graph([x])[0]) == bitPatterns(eager))
    }

    @Test func aSummaryListsEveryLayer() {
        let m = model(RandomGenerator(seed: 15))
        let text = withoutGrad { m.summary(inputShape: [1, 37]) }
        // Three ReLU rows and the LeakyReLU row: the pairs ran as separate layers.
        #expect(text.components(separatedBy: "ReLU").count - 1 == 4, "\(text)")
        #expect(text.components(separatedBy: "Linear").count - 1 == 5, "\(text)")
    }
}
