import Foundation
import Testing
@testable import MyelinNN
import MyelinCore
import MyelinTestSupport

/// Recurrent layers beyond the PyTorch fixtures: finite-difference gradients of the fused
/// recurrence, float32 against float64, tracing and compiled steps, continuation, masks, dropout,
/// cells over sequences.
@Suite struct RecurrentBehaviourTests {
    static func gen(_ seed: UInt64) -> RandomGenerator { RandomGenerator(seed: seed) }

    /// Every input of a tiny recurrence (projection, weights, biases, states) against central
    /// differences, for each cell kind, both directions, with and without a mask.
    @Test(arguments: [RecurrenceKind.lstm, .gru, .rnnTanh, .rnnRelu], [false, true])
    func recurrenceGradientsMatchFiniteDifferences(_ kind: RecurrenceKind, _ reverse: Bool) {
        let (t, b, h) = (3, 2, 2), g = kind.gateCount * h
        let projected = kind == .lstm && reverse
        let p = projected ? 1 : h
        let r = Self.gen(7)
        var inputs = [Tensor.randn([t, b, g], generator: r), Tensor.randn([g, p], generator: r) * 0.5,
                      Tensor.randn([g], generator: r), Tensor.randn([b, p], generator: r)]
        if projected { inputs.append(Tensor.randn([p, h], generator: r)) }
        if kind == .lstm { inputs.append(Tensor.randn([b, h], generator: r)) }
        // The second sequence has 2 valid steps of 3.
        let mask = Tensor(shape: [t, b], doubles: [1, 1, 1, 1, 1, 0], dtype: .float64)
        for masked in [false, true] {
            let results = gradCheck(inputs) { x in
                let out = Tensor.recurrence(kind, inputProjection: x[0], weightHH: x[1], biasHH: x[2],
                                            weightHR: projected ? x[4] : nil, h0: x[3],
                                            c0: kind == .lstm ? x[projected ? 5 : 4] : nil,
                                            mask: masked ? mask : nil, reverse: reverse)
                return Tensor.cat([out.output.flattened(), out.h.flattened()] + (out.c.map { [$0.flattened()] } ?? []))
            }
            for (i, res) in results.enumerated() {
                #expect(res.worstRelativeError < 1e-6, "\(kind) reverse \(reverse) masked \(masked) input \(i): \(res)")
            }
        }
    }

    /// The float32 kernels agree with the float64 PyTorch fixtures to float32 precision.
    @Test(arguments: Fixtures.load("recurrent").filter { !$0.op.hasSuffix("Cell") })
    func float32MatchesPyTorch(_ c: FixtureCase) throws {
        let layer = RecurrentLayerTests.makeLayer(c)
        let names = RecurrentLayerTests.names(c)
        try RecurrentLayerTests.load(layer, c, names: names)
        layer.to(.float32)
        let x = c.inputs[0].tensor.to(.float32).requiringGrad()
        let next = 1 + names.count + (c.bool("hasState") ? (c.op == "lstm" ? 2 : 1) : 0)
        let state: [Tensor] = c.bool("hasState") ? (1 + names.count..<next).map { c.inputs[$0].tensor.to(.float32) } : []
        let lengths = c.ints("lengths")
        var outs: [Tensor]
        switch layer {
        case let l as LSTM:
            let s = state.isEmpty ? nil : LSTMState(h: state[0], c: state[1])
            let r = lengths.map { l(x, lengths: $0, state: s) } ?? l(x, state: s)
            outs = [r.output, r.state.h, r.state.c]
        case let l as GRU:
            let r = lengths.map { l(x, lengths: $0, state: state.first) } ?? l(x, state: state.first)
            outs = [r.output, r.state]
        case let l as RNN:
            let r = lengths.map { l(x, lengths: $0, state: state.first) } ?? l(x, state: state.first)
            outs = [r.output, r.state]
        default: fatalError("unexpected layer")
        }
        var loss = Tensor(scalar: 0, dtype: .float32)
        for (k, o) in outs.enumerated() { loss = loss + (o * c.inputs[next + k].tensor.to(.float32)).sum() }
        loss.backward()
        for (k, o) in outs.enumerated() {
            expectClose(o.detached().to(.float64), c.expected[k].tensor, rtol: 1e-4, atol: 1e-5, "\(c.name) float32 result \(k)")
        }
        expectClose(x.grad!.to(.float64), c.expected[outs.count].tensor, rtol: 1e-4, atol: 1e-4, "\(c.name) float32 input gradient")
    }

    /// A traced LSTM model replays bit for bit (eagerly, and saved and loaded), and a compiled
    /// training step gives the eager loss and gradients.
    @Test func tracedAndCompiledLSTMMatchEager() throws {
        final class Model: Module {
            let lstm: LSTM, head: Linear
            override init() {
                lstm = LSTM(inputSize: 3, hiddenSize: 4, numLayers: 2, batchFirst: true, bidirectional: true,
                            generator: RandomGenerator(seed: 11))
                head = Linear(8, 5, generator: RandomGenerator(seed: 12))
                super.init()
            }
            override func forward(_ x: Tensor) -> Tensor { head(lstm(x).output).reshape([-1, 5]) }
        }
        let model = Model()
        let x = Tensor.randn([2, 6, 3], generator: Self.gen(13))
        let eager = withoutGrad { model(x) }
        let graph = model.traced(example: x)
        #expect(graph([x])[0].floats == eager.floats)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("myelin-lstm-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try graph.save(to: path)
        #expect(try Graph.load(path)([x])[0].floats == eager.floats)

        let labels = Tensor.randint(0, 5, shape: [12], generator: Self.gen(14))
        model.zeroGrad()
        let eagerLoss = crossEntropy(model(x), labels: labels)
        eagerLoss.backward()
        let eagerGrads = model.parameters().map { $0.grad!.floats }
        model.zeroGrad()
        let step = model.compiledStep(fused: false) { out, y in crossEntropy(out, labels: y) }
        let loss = step(x, labels)
        #expect(Swift.abs(loss.item() - eagerLoss.item()) < 1e-6)
        for (p, e) in zip(model.parameters(), eagerGrads) {
            let a = p.grad!.floats
            #expect(zip(a, e).allSatisfy { Swift.abs($0 - $1) <= 1e-5 + 1e-4 * Swift.abs($1) })
        }
    }

    /// Two calls with the state carried over equal one call over the whole sequence.
    @Test func continuingFromAStateEqualsOneCall() {
        let lstm = LSTM(inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: false, generator: Self.gen(1))
        let x = Tensor.randn([6, 2, 3], generator: Self.gen(2))
        let (whole, final) = lstm(x)
        let (first, mid) = lstm(x[0..<4])
        let (second, last) = lstm(x[4..<6], state: mid)
        expectClose(Tensor.cat([first, second], axis: 0), whole, rtol: 1e-6, atol: 1e-6, "outputs")
        expectClose(last.h, final.h, rtol: 1e-6, atol: 1e-6, "h")
        expectClose(last.c, final.c, rtol: 1e-6, atol: 1e-6, "c")
        #expect(final.h.shape == [2, 2, 4] && final.c.shape == [2, 2, 4])
    }

    /// `RNNBase.run` (the cell chosen at run time, the state as its tensors) gives the bits of
    /// each layer's own calls, from zeros and from a given state, with and without lengths, in
    /// both layouts.
    @Test func theCellAgnosticRunIsTheLayersOwnCall() {
        let lengths = [4, 2, 3]
        for batchFirst in [true, false] {
            let x = Tensor.randn(batchFirst ? [3, 4, 3] : [4, 3, 3], generator: Self.gen(5))
            let lstm = LSTM(inputSize: 3, hiddenSize: 4, numLayers: 2, batchFirst: batchFirst, generator: Self.gen(6))
            let gru = GRU(inputSize: 3, hiddenSize: 4, batchFirst: batchFirst, bidirectional: true, generator: Self.gen(7))
            let rnn = RNN(inputSize: 3, hiddenSize: 4, batchFirst: batchFirst, generator: Self.gen(8))
            let (lo, ls) = lstm(x), (go, gs) = gru(x), (ro, rs) = rnn(x)
            let wants: [(RNNBase, Tensor, [Tensor])] = [(lstm, lo, ls.tensors), (gru, go, [gs]), (rnn, ro, [rs])]
            for (layer, output, state) in wants {
                let got = layer.run(x, state: nil)
                #expect(got.output.floats == output.floats && got.state.map(\.floats) == state.map(\.floats), "\(layer.op) from zeros")
            }
            let (lo2, ls2) = lstm(x, lengths: lengths, state: ls), (go2, gs2) = gru(x, lengths: lengths, state: gs)
            let (ro2, rs2) = rnn(x, lengths: lengths)
            let withLengths: [(RNNBase, [Tensor]?, Tensor, [Tensor])] = [(lstm, ls.tensors, lo2, ls2.tensors), (gru, [gs], go2, [gs2]),
                                                                       (rnn, nil, ro2, [rs2])]
            for (layer, start, output, state) in withLengths {
                let got = layer.run(x, lengths: lengths, state: start)
                #expect(got.output.floats == output.floats && got.state.map(\.floats) == state.map(\.floats), "\(layer.op) with lengths")
            }
        }
    }

    /// A mask gives what the same lengths give; time-first and batch-first agree; outputs past a
    /// sequence's end are zero.
    @Test func masksLengthsAndLayoutsAgree() {
        let gru = GRU(inputSize: 3, hiddenSize: 4, batchFirst: true, bidirectional: true, generator: Self.gen(3))
        let x = Tensor.randn([3, 5, 3], generator: Self.gen(4))
        let lengths = [5, 2, 4]
        let (byLengths, hL) = gru(x, lengths: lengths)
        let mask = Tensor(shape: [3, 5], doubles: lengths.flatMap { n in (0..<5).map { $0 < n ? 1.0 : 0.0 } }, dtype: .bool)
        let (byMask, hM) = gru(SequenceBatch(x, mask: mask))
        #expect(byLengths.floats == byMask.floats && hL.floats == hM.floats)
        #expect(byLengths[1, 2..<5].floats.allSatisfy { $0 == 0 })
        let timeFirst = GRU(inputSize: 3, hiddenSize: 4, batchFirst: false, bidirectional: true, generator: Self.gen(3))
        let (tf, hT) = timeFirst(x.transposed(0, 1), lengths: lengths)
        #expect(tf.transposed(0, 1).contiguous().floats == byLengths.floats && hT.floats == hL.floats)
        // The one-tensor call (Sequential) is the output from zeros.
        let plain: Tensor = gru(x)
        #expect(plain.floats == gru(x).output.floats)
    }

    /// Dropout acts between layers in training only.
    @Test func dropoutBetweenLayersOnlyInTraining() {
        let a = RNN(inputSize: 3, hiddenSize: 4, numLayers: 2, dropout: 0.5, generator: Self.gen(5))
        let b = RNN(inputSize: 3, hiddenSize: 4, numLayers: 2, generator: Self.gen(5))
        let x = Tensor.randn([4, 2, 3], generator: Self.gen(6))
        a.eval()
        #expect(a(x).output.floats == b(x).output.floats)
        a.train()
        #expect(a(x).output.floats != b(x).output.floats)
        #expect(a(x).state[0].floats == b(x).state[0].floats, "the first layer sees no dropout")
    }

    /// A cell run over a sequence (one step at a time) is the one-layer layer with its weights.
    @Test func cellsOverSequencesEqualTheLayers() throws {
        let layer = LSTM(inputSize: 3, hiddenSize: 4, batchFirst: true, generator: Self.gen(8))
        let cell = LSTMCell(inputSize: 3, hiddenSize: 4, generator: Self.gen(20))
        let sd = layer.stateDict()
        _ = try cell.loadStateDict(Dictionary(uniqueKeysWithValues: sd.map { (String($0.key.dropLast(3)), $0.value) }))
        let x = Tensor.randn([2, 5, 3], generator: Self.gen(9))
        let (y, s) = layer(x, lengths: [5, 3])
        let (yc, sc) = cell(x, lengths: [5, 3])
        expectClose(yc, y, rtol: 1e-6, atol: 1e-6, "outputs")
        expectClose(sc.h, s.h[0], rtol: 1e-6, atol: 1e-6, "h")
        expectClose(sc.c, s.c[0], rtol: 1e-6, atol: 1e-6, "c")

        let gruCell = GRUCell(inputSize: 3, hiddenSize: 4, generator: Self.gen(10))
        let gruLayer = GRU(inputSize: 3, hiddenSize: 4, batchFirst: true, generator: Self.gen(21))
        _ = try gruLayer.loadStateDict(Dictionary(uniqueKeysWithValues: gruCell.stateDict().map { ($0.key + "_l0", $0.value) }))
        expectClose(gruCell(x).output, gruLayer(x).output, rtol: 1e-6, atol: 1e-6, "GRU outputs")
    }

    @Test func parameterNamesAndShapesAreTorchs() {
        let lstm = LSTM(inputSize: 3, hiddenSize: 6, numLayers: 2, bias: true, bidirectional: true, projSize: 2,
                        generator: Self.gen(22))
        let shapes = lstm.stateDict().mapValues(\.shape)
        #expect(shapes["weight_ih_l0"] == [24, 3] && shapes["weight_hh_l0"] == [24, 2] && shapes["weight_hr_l0"] == [2, 6])
        #expect(shapes["weight_ih_l1_reverse"] == [24, 4] && shapes["bias_hh_l1_reverse"] == [24])
        #expect(shapes.count == 2 * 2 * 5)
        let bound = 1 / 6.0.squareRoot()
        #expect(lstm.parameters().allSatisfy { $0.value.doubles.allSatisfy { Swift.abs($0) <= bound } })
        let rnn = RNN(inputSize: 2, hiddenSize: 3, bias: false, generator: Self.gen(23))
        #expect(rnn.stateDict().keys.sorted() == ["weight_hh_l0", "weight_ih_l0"])
    }
}
