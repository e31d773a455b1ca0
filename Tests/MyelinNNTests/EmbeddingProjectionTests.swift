import Testing
@testable import MyelinNN
import MyelinCore

/// An embedding's tokens projected through the vocabulary (`Embedding.projected`) and recurrent
/// layers fed tokens with their embedding (`run(tokens:embedding:state:)`): the values and every
/// gradient of the two layers run apart, up to rounding, and the exact fallbacks.
@Suite struct EmbeddingProjectionTests {
    static func close(_ a: Tensor, _ b: Tensor, _ tolerance: Double = 1e-5) -> Bool {
        guard a.shape == b.shape else { return false }
        let x = a.doubles, y = b.doubles
        var num = 0.0, den = 0.0
        for (u, v) in zip(x, y) { num += (u - v) * (u - v); den += v * v }
        return (num / Swift.max(den, 1e-300)).squareRoot() <= tolerance
    }

    @Test func projectedIsTheLinearOfTheEmbeddingWithItsGradients() {
        let g = RandomGenerator(seed: 31)
        let embed = Embedding(7, 5, generator: g)
        let w = Tensor.randn([9, 5], generator: g).requiringGrad(), b = Tensor.randn([9], generator: g).requiringGrad()
        let tokens = Tensor.randint(0, 7, shape: [4, 6], generator: g)
        let up = Tensor.randn([4, 6, 9], generator: g)
        func grads(_ fused: Bool) -> [Tensor] {
            let y = fused ? embed.projected(tokens, weight: w, bias: b) : embed(tokens).linear(weight: w, bias: b)
            return [y.detached()] + gradients(of: (y * up).sum(), with: [w, b, embed.weight.value])
        }
        let fused = grads(true), apart = grads(false)
        #expect(fused[0].shape == [4, 6, 9])
        for (i, (f, a)) in zip(fused, apart).enumerated() {
            #expect(Self.close(f, a), "value \(i): \(f.shape) against \(a.shape)")
        }
    }

    @Test func projectedGradientsMatchFiniteDifferences() {
        // The weight and bias against central differences (float64); the table's gradient is
        // compared with the two ops' above (a Parameter holds its own copy of a tensor).
        let g = RandomGenerator(seed: 32)
        let tokens = Tensor.randint(0, 3, shape: [2, 5], generator: g)
        let embed = Embedding(weight: Tensor.randn([3, 4], generator: g).to(.float64))
        let inputs = [Tensor.randn([6, 4], generator: g), Tensor.randn([6], generator: g)]
        let results = gradCheck(inputs) { x in embed.projected(tokens, weight: x[0], bias: x[1]).flattened() }
        for (i, r) in results.enumerated() { #expect(r.worstRelativeError < 1e-6, "input \(i): \(r)") }
    }

    @Test func paddingRowsAndLargeVocabulariesRunTheTwoOps() {
        // With a padding row (which must get no gradient) or no fewer entries than tokens, the
        // two ops run: the same bits.
        let g = RandomGenerator(seed: 33)
        let w = Tensor.randn([4, 3], generator: g)
        for embed in [Embedding(5, 3, paddingIndex: 0, generator: g), Embedding(50, 3, generator: g)] {
            let tokens = Tensor.randint(0, 5, shape: [2, 3], generator: g)
            let a = embed.projected(tokens, weight: w, bias: nil), b = embed(tokens).linear(weight: w, bias: nil)
            #expect(a.doubles.map(\.bitPattern) == b.doubles.map(\.bitPattern))
        }
    }

    static func layer(_ which: Int) -> (String, RNNBase) {
        switch which {
        case 0: return ("lstm 2 layers", LSTM(inputSize: 5, hiddenSize: 6, numLayers: 2, batchFirst: true, generator: RandomGenerator(seed: 1)))
        case 1: return ("gru bidirectional", GRU(inputSize: 5, hiddenSize: 4, batchFirst: true, bidirectional: true, generator: RandomGenerator(seed: 2)))
        default: return ("rnn time-major", RNN(inputSize: 5, hiddenSize: 3, generator: RandomGenerator(seed: 3)))
        }
    }

    @Test(arguments: 0..<3)
    func recurrentLayersFedTokensMatchTheEmbeddedInput(_ which: Int) {
        let (name, rnn) = Self.layer(which)
        let g = RandomGenerator(seed: 34)
        let embed = Embedding(6, 5, generator: g)
        let tokens = Tensor.randint(0, 6, shape: [3, 7], generator: g)       // [batch, time] or [time, batch]
        // The LSTM continues from a given state ([layers, batch 3, hidden 6] for h and c).
        let state: [Tensor]? = which == 0 ? [Tensor.randn([2, 3, 6], generator: g), Tensor.randn([2, 3, 6], generator: g)] : nil
        func run(_ fused: Bool) -> [Tensor] {
            rnn.zeroGrad()
            embed.zeroGrad()
            let r = fused ? rnn.run(tokens: tokens, embedding: embed, state: state) : rnn.run(embed(tokens), state: state)
            let loss = r.state.reduce((r.output * r.output).sum()) { $0 + $1.sum() }
            loss.backward()
            return [r.output.detached()] + r.state.map { $0.detached() } + [embed.weight.grad!] + rnn.parameters().map { $0.grad! }
        }
        let fused = run(true), apart = run(false)
        #expect(fused.count == apart.count)
        for (i, (f, a)) in zip(fused, apart).enumerated() {
            #expect(Self.close(f, a), "\(name): value \(i) \(f.shape) differs")
        }
    }

    @Test func sequentialFeedsTheTokensWithTheirEmbedding() {
        let g = RandomGenerator(seed: 35)
        let model = Sequential {
            Embedding(9, 4, generator: g)
            GRU(inputSize: 4, hiddenSize: 5, batchFirst: true, generator: g)
            Linear(5, 9, generator: g)
        }
        let tokens = Tensor.randint(0, 9, shape: [4, 6], generator: g)
        func run(_ fused: Bool) -> [Tensor] {
            model.zeroGrad()
            let y = fused ? model(tokens) : model.layers.reduce(tokens) { h, layer in layer(h) }
            (y * y).sum().backward()
            return [y.detached()] + model.parameters().map { $0.grad! }
        }
        let apart = run(false), fused = run(true)
        for (i, (f, a)) in zip(fused, apart).enumerated() { #expect(Self.close(f, a), "value \(i) differs") }
        #expect(fused[0].shape == [4, 6, 9])
    }
}
