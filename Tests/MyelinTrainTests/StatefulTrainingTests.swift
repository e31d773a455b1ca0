import Foundation
import Testing
@testable import MyelinTrain
import MyelinCore
import MyelinNN
import MyelinData

/// A test-only Elman RNN, h' = tanh(W_ih x + b + W_hh h).
final class ElmanRNN: Module, RecurrentCell {
    let weightIh: Parameter, weightHh: Parameter, biasIh: Parameter
    let hiddenSize: Int

    init(_ inputSize: Int, _ hiddenSize: Int, generator g: RandomGenerator) {
        self.hiddenSize = hiddenSize
        weightIh = Parameter(Tensor.normal([hiddenSize, inputSize], std: 0.5, generator: g))
        weightHh = Parameter(Tensor.normal([hiddenSize, hiddenSize], std: 0.3, generator: g))
        biasIh = Parameter(Tensor.zeros([hiddenSize]))
        super.init()
    }

    func initialState(batchSize: Int, dtype: DType) -> Tensor { Tensor.zeros([batchSize, hiddenSize], dtype: dtype) }

    func step(_ input: Tensor, state: Tensor) -> (output: Tensor, state: Tensor) {
        let next = (input.linear(weight: weightIh.value, bias: biasIh.value) + state.linear(weight: weightHh.value, bias: nil)).tanh()
        return (next, next)
    }
}

/// The `Trainer` with models whose forward is not one tensor in, one out: padded sequences with a
/// mask through `forward`, and a state carried between batches (truncated BPTT), by the
/// `RecurrentOutput(carryState:)` adapter or by hand in `forward`.
@Suite struct StatefulTrainingTests {
    /// Sequences of 1 to 6 non-zero values padded with zeros; the label says whether the valid
    /// values sum above zero.
    static func paddedSums(_ n: Int, seed: UInt64) -> TensorDataset {
        let g = RandomGenerator(seed: seed)
        let lengths = Tensor.randint(1, 7, shape: [n], generator: g).ints
        let magnitudes = Tensor.uniform([n, 6], low: 0.2, high: 1, generator: g).doubles
        let signs = Tensor.randint(0, 2, shape: [n, 6], generator: g).ints
        var values = [Double](repeating: 0, count: n * 6), labels: [Double] = []
        for i in 0..<n {
            var sum = 0.0
            for t in 0..<lengths[i] {
                values[i * 6 + t] = (signs[i * 6 + t] == 0 ? -1 : 1) * magnitudes[i * 6 + t]
                sum += values[i * 6 + t]
            }
            labels.append(sum > 0 ? 1 : 0)
        }
        return TensorDataset(inputs: Tensor(shape: [n, 6, 1], doubles: values, dtype: .float32),
                             targets: Tensor(shape: [n], doubles: labels, dtype: .int64))
    }

    @Test func aModelOnMaskedSequencesTrainsThroughForward() throws {
        let g = RandomGenerator(seed: 1)
        let model = Sequential { RecurrentOutput(ElmanRNN(1, 8, generator: g), returning: .lastStep); Linear(8, 2, generator: g) }
        let trainer = Trainer(model: model, optimizer: Adam(parameters: model.parameters(), lr: 0.05), loss: .crossEntropy,
                              forward: { batch in model(SequenceBatch(batch.inputs, mask: batch.inputs[.all, .all, 0].ne(0))) },
                              metrics: [Accuracy()], verbosity: .silent)
        let data = Self.paddedSums(128, seed: 2)
        let history = try trainer.fit(DataLoader(data, batchSize: 16, shuffle: true, seed: 3), epochs: 12)
        let losses = history.metrics["loss"]!
        #expect(losses.last! < 0.6 * losses.first!, "losses \(losses)")
        let scores = trainer.evaluate(DataLoader(data, batchSize: 64))
        #expect(scores["accuracy"]! > 0.8, "\(scores)")
        #expect(trainer.predict(DataLoader(data, batchSize: 50)).shape == [128, 2])
    }

    /// Four parallel streams of ±1 cut into windows of 5 steps, batch b holding window b of each
    /// stream; the target at each step is the previous step's input, which at a window's first
    /// step is in the previous batch: only a carried state can predict it.
    static func echoStreams(seed: UInt64) -> TensorDataset {
        let streams = 4, windows = 12, steps = 5, length = windows * steps
        let x = (Tensor.randint(0, 2, shape: [streams, length], generator: RandomGenerator(seed: seed)).to(.float32) * 2 - 1).doubles
        var inputs: [Double] = [], targets: [Double] = []
        for w in 0..<windows {
            for s in 0..<streams {
                for t in 0..<steps {
                    let i = w * steps + t
                    inputs.append(x[s * length + i])
                    targets.append(i == 0 ? 0 : x[s * length + i - 1])
                }
            }
        }
        let n = windows * streams
        return TensorDataset(inputs: Tensor(shape: [n, steps, 1], doubles: inputs, dtype: .float32),
                             targets: Tensor(shape: [n, steps, 1], doubles: targets, dtype: .float32))
    }

    static func echoModel(carryState: Bool) -> Sequential {
        let g = RandomGenerator(seed: 7)
        return Sequential { RecurrentOutput(ElmanRNN(1, 8, generator: g), carryState: carryState); Linear(8, 1, generator: g) }
    }

    static func train(_ model: Module, forward: ((Batch) -> Tensor)? = nil, callbacks: [Callback] = [],
                      epochs: Int = 40) throws -> (Trainer, [Double]) {
        let trainer = Trainer(model: model, optimizer: Adam(parameters: model.parameters(), lr: 0.03), loss: .mse,
                              forward: forward, callbacks: callbacks, verbosity: .silent)
        let history = try trainer.fit(DataLoader(echoStreams(seed: 5), batchSize: 4), epochs: epochs)
        return (trainer, history.metrics["loss"]!)
    }

    @Test func aCarriedStateLearnsAcrossBatchBoundaries() throws {
        let model = Self.echoModel(carryState: true)
        let adapter = model[0] as! RecurrentOutput<ElmanRNN>
        var seen: [(batch: Int, carried: Bool)] = []
        let watch = LambdaCallback(onBatchBegin: { batch, _, _ in
            seen.append((batch, adapter.state != nil))
            if let s = adapter.state { #expect(!s.requiresGrad) }
        })
        let (trainer, losses) = try Self.train(model, callbacks: [watch])
        // Each epoch starts from the initial state and carries it from batch to batch.
        #expect(seen.allSatisfy { $0.carried == ($0.batch > 0) })
        let (_, statelessLosses) = try Self.train(Self.echoModel(carryState: false))
        // A fifth of the targets are unpredictable without the carried state (mean square 0.2).
        #expect(losses.last! < 0.08, "with the carried state: \(losses)")
        #expect(statelessLosses.last! > 0.12, "without: \(statelessLosses)")
        // Evaluation reads the streams from the start and leaves no state behind.
        let scores = trainer.evaluate(DataLoader(Self.echoStreams(seed: 5), batchSize: 4))
        #expect(scores["loss"]! < 0.08 && adapter.state == nil)
    }

    @Test func aStateCarriedByHandInForwardTrainsAsTheAdapter() throws {
        let adapterModel = Self.echoModel(carryState: true)
        let (_, adapterLosses) = try Self.train(adapterModel, epochs: 3)

        let model = Self.echoModel(carryState: false)
        let rnn = (model[0] as! RecurrentOutput<ElmanRNN>).layer, head = model[1]
        var carried: Tensor?
        let (_, losses) = try Self.train(model, forward: { batch in
            let (outputs, state) = rnn(batch.inputs, state: carried)
            carried = state.detached()
            return head(outputs)
        }, callbacks: [LambdaCallback(onEpochBegin: { _, _, _ in carried = nil })], epochs: 3)
        #expect(losses == adapterLosses)
        #expect(model.parameters().map(\.value.floats) == adapterModel.parameters().map(\.value.floats))
    }
}
