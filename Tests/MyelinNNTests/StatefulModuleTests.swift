import Foundation
import Testing
@testable import MyelinNN
import MyelinCore

/// A test-only Elman RNN, h' = tanh(W_ih x + b + W_hh h), written as users write recurrent layers:
/// a `Module` adopting `RecurrentCell` with one `step`.
final class ElmanRNN: Module, RecurrentCell {
    let weightIh: Parameter
    let weightHh: Parameter
    let biasIh: Parameter
    let hiddenSize: Int

    init(_ inputSize: Int, _ hiddenSize: Int, generator: RandomGenerator) {
        self.hiddenSize = hiddenSize
        weightIh = Parameter(Tensor.normal([hiddenSize, inputSize], std: 0.5, generator: generator))
        weightHh = Parameter(Tensor.normal([hiddenSize, hiddenSize], std: 0.5, generator: generator))
        biasIh = Parameter(Tensor.normal([hiddenSize], std: 0.1, generator: generator))
        super.init()
    }

    /// The step as a function of plain tensors (for gradient checks).
    static func step(_ x: Tensor, _ h: Tensor, _ wIh: Tensor, _ wHh: Tensor, _ b: Tensor) -> Tensor {
        (x.linear(weight: wIh, bias: b) + h.linear(weight: wHh, bias: nil)).tanh()
    }

    func initialState(batchSize: Int, dtype: DType) -> Tensor {
        Tensor.zeros([batchSize, hiddenSize], dtype: dtype)
    }

    func step(_ input: Tensor, state: Tensor) -> (output: Tensor, state: Tensor) {
        let next = Self.step(input, state, weightIh.value, weightHh.value, biasIh.value)
        return (next, next)
    }
}

/// A model whose forward is not one tensor in, one out: tokens and a state in, logits and a state out.
final class TinyLanguageModel: Module {
    let embed: Embedding
    let rnn: ElmanRNN
    let head: Linear

    init(generator g: RandomGenerator) {
        embed = Embedding(6, 3, generator: g)
        rnn = ElmanRNN(3, 4, generator: g)
        head = Linear(4, 6, generator: g)
        super.init()
    }

    func callAsFunction(_ tokens: Tensor, state: Tensor?) -> (logits: Tensor, state: Tensor) {
        let (h, s) = rnn(embed(tokens), state: state)
        return (head(h), s)
    }
}

/// The mean over each sequence's valid steps: a `SequenceLayer` with no one-tensor forward of its own.
final class MaskedMean: Module, SequenceLayer {
    func forward(_ input: SequenceBatch) -> Tensor {
        guard let valid = input.validMask else { return input.values.mean(axis: 1) }
        let w = valid.to(input.values.dtype).unsqueezed(axis: -1)
        return (input.values * w).sum(axis: 1) / w.sum(axis: 1).maximum(Tensor(scalar: 1))
    }
}

/// A layer with its own call signature (two inputs), reporting its output to summaries.
final class Bilinear: Module {
    let weight = Parameter(Tensor.ones([2, 2]))
    func callAsFunction(_ a: Tensor, _ b: Tensor) -> Tensor {
        reportOutput((a.matmul(weight.value) * b).sum(axis: -1), note: "two inputs")
    }
}

/// The interface for modules with state and extra inputs (`RecurrentLayer`, `RecurrentCell`,
/// `SequenceBatch`, `RecurrentOutput`, `SequenceLayer`) through a test-only Elman RNN.
@Suite struct StatefulModuleTests {
    static func rnn(seed: UInt64 = 1, input: Int = 3, hidden: Int = 5) -> ElmanRNN {
        ElmanRNN(input, hidden, generator: RandomGenerator(seed: seed))
    }

    static func inputs(_ shape: [Int], seed: UInt64 = 2, dtype: DType = .float32) -> Tensor {
        Tensor.normal(shape, dtype: dtype, generator: RandomGenerator(seed: seed))
    }

    /// Equal up to float32 rounding: a sequence run alone goes through products of another batch
    /// size than inside its batch, which round differently in the last bits.
    static func close(_ a: Tensor, _ b: Tensor, _ tolerance: Double = 1e-5) -> Bool {
        a.shape == b.shape && zip(a.doubles, b.doubles).allSatisfy { Swift.abs($0 - $1) <= tolerance }
    }

    @Test func aStateCarriedAcrossCallsEqualsOneCallOverTheWholeSequence() {
        let rnn = Self.rnn()
        let x = Self.inputs([2, 7, 3])
        let (whole, hWhole) = rnn(x)
        let (first, h1) = rnn(x[.all, 0..<4])
        let (second, h2) = rnn(x[.all, 4...], state: h1)
        #expect(whole.shape == [2, 7, 5] && hWhole.shape == [2, 5])
        #expect(Tensor.cat([first, second], axis: 1).floats == whole.floats)
        #expect(h2.floats == hWhole.floats)
        // The last output is the final state, and the one-tensor call is the output sequence.
        #expect(whole[.all, 6].floats == hWhole.floats)
        let y: Tensor = rnn(x)
        #expect(y.floats == whole.floats)
    }

    @Test func aDetachedStateStopsGradientsAtTheBatchBoundary() {
        let rnn = Self.rnn()
        let x1 = Self.inputs([2, 3, 3], seed: 5).requiringGrad()
        let x2 = Self.inputs([2, 3, 3], seed: 6)
        let (_, h1) = rnn(x1)
        rnn(x2, state: h1.detached()).output.sum().backward()
        #expect(x1.grad == nil)
        #expect(rnn.weightHh.grad != nil)
        #expect(!h1.detached().requiresGrad)

        rnn.zeroGrad()
        let (_, h1Attached) = rnn(x1)
        rnn(x2, state: h1Attached).output.sum().backward()
        let g = x1.grad
        #expect(g != nil && g!.abs().max().item() > 0)
    }

    @Test func theUnrolledCellPassesAFiniteDifferenceCheck() {
        let g = RandomGenerator(seed: 9)
        let args = [Tensor.normal([3, 4, 2], generator: g), Tensor.normal([3, 3], generator: g),
                    Tensor.normal([3, 2], std: 0.5, generator: g), Tensor.normal([3, 3], std: 0.5, generator: g),
                    Tensor.normal([3], std: 0.1, generator: g)]
        for lengths in [[4, 4, 4], [4, 2, 0]] {
            for reverse in [false, true] {
                let results = gradCheck(args) { a in
                    let (y, h) = SequenceBatch(a[0], lengths: lengths).unroll(from: a[1], reverse: reverse) { x, h in
                        let next = ElmanRNN.step(x, h, a[2], a[3], a[4])
                        return (next, next)
                    }
                    return Tensor.cat([y.flattened(), h.flattened()])
                }
                #expect(results.allSatisfy { $0.worstRelativeError < 1e-6 }, "lengths \(lengths) reverse \(reverse): \(results)")
            }
        }
    }

    @Test func lengthsGiveZeroOutputsPastEachEndAndTheStateAtEachEnd() {
        let rnn = Self.rnn()
        let x = Self.inputs([3, 5, 3])
        let lengths = [5, 2, 0]
        let (y, h) = rnn(x, lengths: lengths)
        #expect(y.shape == [3, 5, 5])
        for (i, n) in lengths.enumerated() {
            #expect(y[i, n...].abs().sum().item() == 0, "sequence \(i) past its end")
            if n > 0 {
                let (alone, hAlone) = rnn(x[i..<(i + 1), 0..<n])
                #expect(Self.close(y[i..<(i + 1), 0..<n], alone))
                #expect(Self.close(h[i], hAlone[0]))
            } else {
                #expect(h[i].abs().sum().item() == 0, "an empty sequence keeps the initial state")
            }
        }
        // A mask of the same steps gives the same, and so do padded token ids.
        let batch = SequenceBatch(x, lengths: lengths)
        let (yMask, hMask) = rnn(SequenceBatch(x, mask: batch.validMask!))
        #expect(yMask.floats == y.floats && hMask.floats == h.floats)
        #expect(batch.paddingMask!.bools == [false, false, false, false, false,
                                             false, false, true, true, true,
                                             true, true, true, true, true])
        let tokens = SequenceBatch(Tensor([[3, 1, 0], [2, 0, 0]]), paddingIndex: 0)
        #expect(tokens.sequenceLengths == [2, 1])
    }

    @Test func reverseRunsEachSequenceFromItsOwnEnd() {
        let rnn = Self.rnn()
        let x = Self.inputs([2, 4, 3])
        let batch = SequenceBatch(x, lengths: [4, 3])
        let (y, h) = batch.unroll(from: rnn.initialState(batchSize: 2, dtype: .float32), reverse: true) { x, s in
            rnn.step(x, state: s)
        }
        // Sequence 1 read backwards from its step 2: the same as the reversed steps run forwards.
        let reversed = Tensor.stack([x[1, 2], x[1, 1], x[1, 0]]).unsqueezed(axis: 0)
        let (yRev, hRev) = rnn(reversed)
        #expect(Self.close(h[1], hRev[0]))
        #expect(Self.close(y[1, 0], yRev[0, 2]) && Self.close(y[1, 2], yRev[0, 0]))
        #expect(y[1, 3].abs().sum().item() == 0)
    }

    @Test func parametersAndStateDictNamesNestTheRecurrentLayer() throws {
        let g = RandomGenerator(seed: 4)
        let model = TinyLanguageModel(generator: g)
        #expect(model.namedParameters().map(\.0) == ["embed.weight", "rnn.weightIh", "rnn.weightHh", "rnn.biasIh",
                                                      "head.weight", "head.bias"])
        #expect(Set(model.stateDict().keys) == ["embed.weight", "rnn.weight_ih", "rnn.weight_hh", "rnn.bias_ih",
                                                "head.weight", "head.bias"])
        #expect(model.parameterCount == 6 * 3 + (4 * 3 + 4 * 4 + 4) + (6 * 4 + 6))

        let seq = Sequential { Embedding(6, 3, generator: g); RecurrentOutput(ElmanRNN(3, 4, generator: g)); Linear(4, 6, generator: g) }
        #expect(Set(seq.stateDict().keys) == ["0.weight", "1.layer.weight_ih", "1.layer.weight_hh", "1.layer.bias_ih",
                                              "2.weight", "2.bias"])
        // Weights move between the two through their state dicts.
        var dict: [String: Tensor] = [:]
        for (k, v) in model.stateDict() {
            dict[k.replacingOccurrences(of: "embed.", with: "0.").replacingOccurrences(of: "rnn.", with: "1.layer.")
                    .replacingOccurrences(of: "head.", with: "2.")] = v
        }
        try seq.loadStateDict(dict)
        let tokens = Tensor([[1, 2, 3, 4], [5, 0, 1, 2]])
        #expect(seq(tokens).floats == model(tokens, state: nil).logits.floats)

        // Modes and dtype reach the nested layer.
        model.eval()
        #expect(!model.rnn.isTraining)
        model.train()
        model.to(.float64)
        #expect(model.rnn.weightHh.dtype == .float64)
        let (logits, state) = model(tokens, state: nil)
        #expect(logits.dtype == .float64 && state.dtype == .float64)
    }

    @Test func summaryShowsTheRecurrentLayerWithItsState() {
        let g = RandomGenerator(seed: 4)
        let model = Sequential {
            Embedding(6, 3, generator: g)
            RecurrentOutput(ElmanRNN(3, 4, generator: g), returning: .lastStep)
            Linear(4, 2, generator: g)
        }
        let text = model.summary(input: SequenceBatch(Tensor.zeros([2, 7], dtype: .int64), lengths: [7, 3]))
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("1 ") && $0.contains("RecurrentOutput") && $0.contains("[2, 4]") })
        #expect(lines.contains { $0.contains("1.layer") && $0.contains("ElmanRNN") && $0.contains("[2, 7, 4] (state [2, 4])")
                                 && $0.hasSuffix(" 32") })
        #expect(text.contains("Total params: 60 (trainable 60)") && text.hasSuffix("Output shape: [2, 2]"))

        // A recurrent layer straight in a Sequential, summarised from a shape.
        let direct = Sequential { ElmanRNN(3, 4, generator: g); Linear(4, 1, generator: g) }
        #expect(direct.summary(inputShape: [1, 5, 3]).contains("[1, 5, 4] (state [1, 4])"))

        // A custom forward with a state.
        let lm = TinyLanguageModel(generator: g)
        let custom = lm.summary(running: { _ = lm(Tensor.zeros([2, 3], dtype: .int64), state: nil) })
        #expect(custom.contains("rnn") && custom.contains("[2, 3, 4] (state [2, 4])") && custom.contains("[2, 3, 6]"))
    }

    @Test func sequentialPassesLengthsToTheAdapter() {
        let g = RandomGenerator(seed: 8)
        let rnn = ElmanRNN(3, 4, generator: g)
        let head = Linear(4, 2, generator: g)
        let model = Sequential { RecurrentOutput(rnn, returning: .lastStep); head }
        let x = Self.inputs([3, 5, 3])
        let lengths = [5, 2, 1]
        let out = model(SequenceBatch(x, lengths: lengths))
        #expect(out.shape == [3, 2])
        for (i, n) in lengths.enumerated() {
            let (_, h) = rnn(x[i..<(i + 1), 0..<n])
            #expect(Self.close(out[i], head(h)[0]))
        }
        // Without lengths, the last step of every sequence; and `.sequence` keeps them all.
        #expect(model(x).floats == head(rnn(x).state).floats)
        let all = Sequential { RecurrentOutput(rnn); head }
        #expect(all(x).shape == [3, 5, 2])
        // Past a sequence's end the recurrent output is zero, so the head gives its bias.
        #expect(all(SequenceBatch(x, lengths: lengths))[1, 2...].floats == head(Tensor.zeros([3, 4])).floats)
    }

    @Test func aCarriedStateContinuesTheStreamUntilReset() {
        let rnn = Self.rnn()
        let stateful = RecurrentOutput(rnn, carryState: true)
        let x = Self.inputs([2, 6, 3])
        let whole = rnn(x).output
        let a = stateful(x[.all, 0..<3])
        // A summary in between leaves the carried state alone.
        _ = stateful.summary(inputShape: [2, 3, 3])
        let b = stateful(x[.all, 3...])
        #expect(Tensor.cat([a, b], axis: 1).floats == whole.floats)
        #expect(stateful.state != nil && !stateful.state!.requiresGrad)
        Sequential { stateful }.resetStates()
        #expect(stateful.state == nil)
        #expect(stateful(x[.all, 0..<3]).floats == a.floats)
        stateful.to(.float64)
        #expect(stateful.state == nil)
    }

    @Test func aSequenceLayerGetsTheMaskThroughSequential() {
        let x = Self.inputs([2, 4, 3])
        let model = Sequential { Linear(3, 3, bias: false, weightInit: .constant(0.5)); MaskedMean() }
        let masked = model(SequenceBatch(x, lengths: [4, 1]))
        let projected = x.linear(weight: Tensor.full([3, 3], value: 0.5), bias: nil)
        #expect(Self.close(masked[0], projected[0].mean(axis: 0)))
        #expect(Self.close(masked[1], projected[1, 0]))
        // One tensor: every step valid, through Module.forward's default for sequence layers.
        #expect(Self.close(model(x), projected.mean(axis: 1)))
        let text = model.summary(input: SequenceBatch(x, lengths: [4, 1]))
        #expect(text.contains("MaskedMean") && text.hasSuffix("Output shape: [2, 3]"))

        let bilinear = Bilinear()
        let two = bilinear.summary(running: { _ = bilinear(Tensor.ones([5, 2]), Tensor.ones([5, 2])) })
        #expect(two.contains("[5] (two inputs)"))
    }

    @Test func lookingAtAModelLeavesItsCarriedStateAlone() {
        let rnn = Self.rnn()
        let stateful = RecurrentOutput(rnn, carryState: true)
        let x = Self.inputs([2, 3, 3])
        _ = stateful(x)
        let carried = stateful.state!.floats
        let fresh = withoutCarriedStates { stateful(Self.inputs([4, 3, 3], seed: 3)) }
        #expect(fresh.floats == rnn(Self.inputs([4, 3, 3], seed: 3)).output.floats)
        #expect(stateful.state!.floats == carried)
    }

    @Test func aCarriedStateRejectsAnotherBatchSize() async {
        await #expect(processExitsWith: .failure) {
            let stateful = RecurrentOutput(ElmanRNN(3, 5, generator: RandomGenerator(seed: 1)), carryState: true)
            _ = stateful(Tensor.zeros([2, 4, 3]))
            _ = stateful(Tensor.zeros([3, 4, 3]))
        }
    }
}
