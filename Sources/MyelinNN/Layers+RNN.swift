import MyelinCore

/// A multi-layer LSTM with PyTorch's semantics and parameter names (`nn.LSTM`): gates i, f, g, o;
/// optional bias, projection (`projSize`), dropout between layers, bidirectional.
///
/// Tensors given directly are `[time, batch, inputSize]`, or `[batch, time, inputSize]` with
/// `batchFirst`; outputs `[..., numDirections * stateSize]` in the same layout. The state is an
/// `LSTMState` with `h` `[numLayers * numDirections, batch, stateSize]` and `c`
/// `[numLayers * numDirections, batch, hiddenSize]`, zeros when not given. With `lengths` (or a
/// `SequenceBatch`, always batch first) outputs past each sequence's end are zero and the final
/// state is the one at its last real step, as with PyTorch's packed sequences (the reverse
/// direction starts at each sequence's own last step).
///
/// ```swift
/// let lstm = LSTM(inputSize: 64, hiddenSize: 256, batchFirst: true)
/// let (y, state) = lstm(x)                          // y [batch, time, 256], state.h [1, batch, 256]
/// let (y2, next) = lstm(x2, state: state)           // continues the sequences
/// let (z, last) = lstm(x, lengths: [64, 17, 40])    // padded batch
/// try lstm.loadStateDict(torchWeights)              // weight_ih_l0, weight_hh_l0, bias_ih_l0, ...
/// ```
public final class LSTM: RNNBase, RecurrentLayer {
    /// `projSize` > 0 adds PyTorch's projection `weight_hr` ([projSize, hiddenSize]) after each step.
    public init(inputSize: Int, hiddenSize: Int, numLayers: Int = 1, bias: Bool = true, batchFirst: Bool = false,
                dropout: Double = 0, bidirectional: Bool = false, projSize: Int = 0,
                generator: RandomGenerator = Random.global) {
        super.init(kind: .lstm, inputSize: inputSize, hiddenSize: hiddenSize, numLayers: numLayers, bias: bias,
                   batchFirst: batchFirst, dropout: dropout, bidirectional: bidirectional, projSize: projSize,
                   generator: generator)
    }

    public func initialState(batchSize: Int, dtype: DType) -> LSTMState {
        let z = zeroStates(batchSize: batchSize, dtype: dtype)
        return LSTMState(h: z.h, c: z.c!)
    }

    public func forward(_ input: SequenceBatch, state: LSTMState) -> (output: Tensor, state: LSTMState) {
        let r = run(input, h0: state.h, c0: state.c)
        return (r.output, LSTMState(h: r.h, c: r.c!))
    }

    /// Runs over `input` in the layout `batchFirst` says, from `state` (zeros when nil).
    ///
    /// ```swift
    /// let (output, state) = lstm(x, state: previous)
    /// ```
    public func callAsFunction(_ input: Tensor, state: LSTMState? = nil) -> (output: Tensor, state: LSTMState) {
        let r = run(timeMajor(input), mask: nil, h0: state?.h, c0: state?.c)
        return reported(userLayout(r.output), LSTMState(h: r.h, c: r.c!))
    }

    /// Runs over padded sequences of the given lengths, in the layout `batchFirst` says.
    ///
    /// ```swift
    /// let (output, state) = lstm(x, lengths: [5, 2, 4])
    /// ```
    public func callAsFunction(_ input: Tensor, lengths: [Int], state: LSTMState? = nil) -> (output: Tensor, state: LSTMState) {
        let batch = SequenceBatch(batchFirst ? input : timeMajor(input).transposed(0, 1), lengths: lengths)
        let (output, next) = self(batch, state: state)
        return (batchFirst ? output : output.transposed(0, 1), next)
    }
}

/// The recurrent layers whose state is one tensor h, `[numLayers * numDirections, batch, hiddenSize]`
/// (`GRU`, `RNN`): their runs, written once.
public class HiddenStateRNN: RNNBase, RecurrentLayer {
    public func initialState(batchSize: Int, dtype: DType) -> Tensor { zeroStates(batchSize: batchSize, dtype: dtype).h }

    public func forward(_ input: SequenceBatch, state: Tensor) -> (output: Tensor, state: Tensor) {
        let r = run(input, h0: state, c0: nil)
        return (r.output, r.h)
    }

    /// Runs over `input` in the layout `batchFirst` says, from `state` (zeros when nil).
    public func callAsFunction(_ input: Tensor, state: Tensor? = nil) -> (output: Tensor, state: Tensor) {
        let r = run(timeMajor(input), mask: nil, h0: state, c0: nil)
        return reported(userLayout(r.output), r.h)
    }

    /// Runs over padded sequences of the given lengths, in the layout `batchFirst` says.
    public func callAsFunction(_ input: Tensor, lengths: [Int], state: Tensor? = nil) -> (output: Tensor, state: Tensor) {
        let (output, next) = self(SequenceBatch(batchFirst ? input : timeMajor(input).transposed(0, 1), lengths: lengths), state: state)
        return (batchFirst ? output : output.transposed(0, 1), next)
    }
}

/// A multi-layer GRU with PyTorch's semantics and parameter names (`nn.GRU`): gates r, z, n with
/// n = tanh(Wᵢₙx + bᵢₙ + r ⊙ (Wₕₙh + bₕₙ)) and h' = (1 - z) ⊙ n + z ⊙ h. Layouts, lengths and
/// states as `LSTM`, the state being one tensor `[numLayers * numDirections, batch, hiddenSize]`.
///
/// ```swift
/// let gru = GRU(inputSize: 8, hiddenSize: 32, numLayers: 2, batchFirst: true, bidirectional: true)
/// let (y, h) = gru(x)             // y [batch, time, 64], h [4, batch, 32]
/// ```
public final class GRU: HiddenStateRNN {
    public init(inputSize: Int, hiddenSize: Int, numLayers: Int = 1, bias: Bool = true, batchFirst: Bool = false,
                dropout: Double = 0, bidirectional: Bool = false, generator: RandomGenerator = Random.global) {
        super.init(kind: .gru, inputSize: inputSize, hiddenSize: hiddenSize, numLayers: numLayers, bias: bias,
                   batchFirst: batchFirst, dropout: dropout, bidirectional: bidirectional, projSize: 0,
                   generator: generator)
    }
}

/// A multi-layer Elman RNN with PyTorch's semantics and parameter names (`nn.RNN`):
/// h' = tanh(Wᵢₕx + bᵢₕ + Wₕₕh + bₕₕ), or relu with `nonlinearity: .relu`. Layouts, lengths and
/// states as `GRU`.
///
/// ```swift
/// let rnn = RNN(inputSize: 4, hiddenSize: 8, nonlinearity: .relu, batchFirst: true)
/// let (y, h) = rnn(x)
/// ```
public final class RNN: HiddenStateRNN {
    /// The activation of an Elman RNN.
    public enum Nonlinearity: String, Sendable {
        case tanh, relu
    }

    public var nonlinearity: Nonlinearity { kind == .rnnRelu ? .relu : .tanh }

    public init(inputSize: Int, hiddenSize: Int, numLayers: Int = 1, nonlinearity: Nonlinearity = .tanh, bias: Bool = true,
                batchFirst: Bool = false, dropout: Double = 0, bidirectional: Bool = false,
                generator: RandomGenerator = Random.global) {
        super.init(kind: nonlinearity == .tanh ? .rnnTanh : .rnnRelu, inputSize: inputSize, hiddenSize: hiddenSize,
                   numLayers: numLayers, bias: bias, batchFirst: batchFirst, dropout: dropout,
                   bidirectional: bidirectional, projSize: 0, generator: generator)
    }
}

extension RNNBase {
    /// Reports the output and state shapes to a `summary` being built, as the protocol's call does.
    func reported<S: RecurrentState>(_ output: Tensor, _ state: S) -> (output: Tensor, state: S) {
        if let recorder = ModuleSummaryRecorder.current {
            recorder.record(self, output: output, note: "state " + state.shapes.map { "\($0)" }.joined(separator: ", "))
        }
        return (output, state)
    }

    /// Runs the stack whatever its cell, the state given as its tensors (`[h]`, or `[h, c]` for an
    /// LSTM; zeros when nil), over `input` in the layout `batchFirst` says, or over padded
    /// sequences of `lengths`: for models that choose the cell at run time. It computes what the
    /// layer's own `callAsFunction(_:state:)` and `callAsFunction(_:lengths:state:)` compute.
    ///
    /// ```swift
    /// let rnn: RNNBase = useGRU ? GRU(inputSize: 8, hiddenSize: 16) : LSTM(inputSize: 8, hiddenSize: 16)
    /// let (y, state) = rnn.run(x, state: carried)        // state: [h], or [h, c] for the LSTM
    /// ```
    public func run(_ input: Tensor, lengths: [Int]? = nil, state: [Tensor]?) -> (output: Tensor, state: [Tensor]) {
        let (h0, c0) = stateTensors(state)
        let output: Tensor, h: Tensor, c: Tensor?
        if let lengths {
            let batch = SequenceBatch(batchFirst ? input : timeMajor(input).transposed(0, 1), lengths: lengths)
            let dtype = batch.values.dtype.isFloatingPoint ? batch.values.dtype : .float32
            let zeros = h0 == nil ? zeroStates(batchSize: batch.batchSize, dtype: dtype) : nil
            let r = run(batch, h0: h0 ?? zeros!.h, c0: kind == .lstm ? (c0 ?? zeros!.c) : nil)
            (output, h, c) = (batchFirst ? r.output : r.output.transposed(0, 1), r.h, r.c)
        } else {
            let r = run(timeMajor(input), mask: nil, h0: h0, c0: c0)
            (output, h, c) = (userLayout(r.output), r.h, r.c)
        }
        let next = [h] + (c.map { [$0] } ?? [])
        if let recorder = ModuleSummaryRecorder.current {
            recorder.record(self, output: output, note: "state " + next.map { "\($0.shape)" }.joined(separator: ", "))
        }
        return (output, next)
    }

    /// `run(embedding(tokens), state:)` with the first layer's input projection taken through
    /// the vocabulary (`Embedding.projected`): for a character model, 65 rows to project instead
    /// of one per token, forward and in both gradients (lstm_train: 19% of its arithmetic). The
    /// same values up to rounding. Tokens are int `[batch, time]` with `batchFirst`, else
    /// `[time, batch]`; a module summary runs the two layers apart, and so does the projection of
    /// an embedding with a padding row.
    ///
    /// ```swift
    /// let (y, state) = lstm.run(tokens: ids, embedding: embed, state: nil)   // = lstm.run(embed(ids), state: nil)
    /// ```
    public func run(tokens: Tensor, embedding: Embedding, state: [Tensor]?) -> (output: Tensor, state: [Tensor]) {
        // (A padding row is `Embedding.projected`'s to handle: it runs the two ops itself.)
        if ModuleSummaryRecorder.current != nil || tokens.rank != 2 || embedding.weight.value.dtype != weights[0].ih.value.dtype {
            return run(embedding(tokens), state: state)
        }
        let (h0, c0) = stateTensors(state)
        let r = run(batchFirst ? tokens.transposed(0, 1) : tokens, mask: nil, h0: h0, c0: c0, embedding: embedding)
        return (userLayout(r.output), [r.h] + (r.c.map { [$0] } ?? []))
    }

    /// h0 and (LSTM) c0 from a state given as its tensors, trapping on the wrong count.
    private func stateTensors(_ state: [Tensor]?) -> (h0: Tensor?, c0: Tensor?) {
        let count = kind == .lstm ? 2 : 1
        if let state, state.count != count {
            fatalError("[\(op)] the state has \(state.count) tensors; this layer's has \(count) (\(kind == .lstm ? "h and c" : "h"))")
        }
        return (state?[0], count == 2 ? state?[1] : nil)
    }
}
