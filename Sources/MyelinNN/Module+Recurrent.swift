import MyelinCore

// Modules beyond one tensor in, one out.
//
// `Module` stays the one-tensor layer `Sequential` composes. Layers with more in or out are still
// `Module` subclasses (so reflection finds their parameters, state dicts use PyTorch names, and
// `to(_:)`, `train()`/`eval()` and `summary` reach them inside any container) that also adopt:
//
// - `RecurrentLayer`: a state in and out, `rnn(x, state: s) -> (output, state)` (PyTorch's
//   `(output, h_n)`); `RecurrentCell` when the layer is defined by one time step.
// - `SequenceLayer`: lengths or a mask beside the values (`SequenceBatch`), for attention and
//   pooling over padded batches.
// - `StateCarrying`: keeps a state between calls (Keras's `stateful=True`), reset by
//   `resetStates()`; `RecurrentOutput(rnn, carryState: true)` is the one provided.

/// The state a recurrent layer carries from one time step (or call) to the next: a tensor
/// (`Tensor` conforms, an Elman RNN's or GRU's `h`) or a struct of them (an LSTM's `(h, c)`).
///
/// Conformers list their tensors in a fixed order and rebuild themselves from such a list; the
/// rest (detaching for truncated backpropagation through time, dtype conversion, masking) is
/// derived from that.
///
/// ```swift
/// struct LSTMState: RecurrentState {
///     var h: Tensor, c: Tensor
///     init(h: Tensor, c: Tensor) { self.h = h; self.c = c }
///     var tensors: [Tensor] { [h, c] }
///     init(tensors: [Tensor]) { self.init(h: tensors[0], c: tensors[1]) }
/// }
/// ```
public protocol RecurrentState {
    /// The state's tensors, in a fixed order.
    var tensors: [Tensor] { get }
    /// The state made of `tensors`, in the order `tensors` gives them.
    init(tensors: [Tensor])
    /// The same values cut from the graph, so backward stops here (truncated BPTT).
    func detached() -> Self
}

extension RecurrentState {
    /// Every tensor detached from the graph.
    ///
    /// ```swift
    /// carried = state.detached()      // the next batch's backward stops at this batch's end
    /// ```
    public func detached() -> Self { Self(tensors: tensors.map { $0.detached() }) }

    /// Every tensor converted to `dtype`.
    public func to(_ dtype: DType) -> Self { Self(tensors: tensors.map { $0.dtype == dtype ? $0 : $0.to(dtype) }) }

    /// The tensors' shapes, for summaries and error messages.
    public var shapes: [[Int]] { tensors.map(\.shape) }
}

extension Tensor: RecurrentState {
    /// The tensor itself, as a one-tensor recurrent state.
    public var tensors: [Tensor] { [self] }

    /// The one tensor of a one-tensor recurrent state.
    public init(tensors: [Tensor]) {
        if tensors.count != 1 { fatalError("[recurrent] a Tensor state is one tensor, got \(tensors.count)") }
        self = tensors[0]
    }
}

/// A layer that runs over a sequence from a state and returns its outputs and the state after it,
/// as PyTorch's `nn.RNN`/`nn.LSTM`/`nn.GRU`.
///
/// Conformers are `Module` subclasses that implement `initialState(batchSize:dtype:)` and
/// `forward(_:state:)` (or only `step(_:state:)`, see `RecurrentCell`). The protocol adds:
///
/// - `layer(x, state: s)` and `layer(batch, state: s)` with a `SequenceBatch` (lengths, mask),
///   returning `(output, state)`; `state: nil` (the default) starts from `initialState`.
/// - `let (output, state) = layer(x)`: with a tuple to fill, the one-argument call is the
///   stateful one, as in PyTorch.
/// - `let y = layer(x)` where a tensor is expected (and in `Sequential`): the output sequence
///   from the initial state, with the state dropped (Keras's `return_sequences=True`).
///
/// Inputs are batch first, `[batch, time, features]`; outputs `[batch, time, hidden]`.
///
/// ```swift
/// let (y1, h1) = rnn(firstHalf)                 // from zeros
/// let (y2, h2) = rnn(secondHalf, state: h1)     // continues: same as one call on both halves
/// let (y, h) = rnn(SequenceBatch(x, lengths: [5, 3]))   // y zero past each end, h at each end
/// let next = rnn(x2, state: h2.detached())      // truncated BPTT: no gradient into earlier batches
/// ```
public protocol RecurrentLayer: Module {
    associatedtype State: RecurrentState
    /// The state a sequence starts from when none is given (zeros, as PyTorch).
    func initialState(batchSize: Int, dtype: DType) -> State
    /// The outputs at every step (zero past each sequence's end) and the state after each
    /// sequence's last valid step. Called through `callAsFunction`, which records summaries.
    func forward(_ input: SequenceBatch, state: State) -> (output: Tensor, state: State)
}

extension RecurrentLayer {
    /// Runs the layer over `input` from `state` (`initialState` when nil).
    ///
    /// ```swift
    /// let (outputs, state) = rnn(SequenceBatch(x, lengths: lengths), state: previous)
    /// ```
    public func callAsFunction(_ input: SequenceBatch, state: State? = nil) -> (output: Tensor, state: State) {
        let start = state ?? initialState(batchSize: input.batchSize,
                                          dtype: input.values.dtype.isFloatingPoint ? input.values.dtype : .float32)
        let result = forward(input, state: start)
        if let recorder = ModuleSummaryRecorder.current {
            let shapes = result.state.shapes.map { "\($0)" }.joined(separator: ", ")
            recorder.record(self, output: result.output, note: "state \(shapes)")
        }
        return result
    }

    /// Runs the layer over `[batch, time, features]` inputs whose steps are all valid.
    ///
    /// ```swift
    /// let (outputs, h) = rnn(x)
    /// ```
    public func callAsFunction(_ input: Tensor, state: State? = nil) -> (output: Tensor, state: State) {
        self(SequenceBatch(input), state: state)
    }

    /// Runs the layer over padded sequences of the given lengths.
    ///
    /// ```swift
    /// let (outputs, h) = rnn(x, lengths: [4, 2, 3])
    /// ```
    public func callAsFunction(_ input: Tensor, lengths: [Int], state: State? = nil) -> (output: Tensor, state: State) {
        self(SequenceBatch(input, lengths: lengths), state: state)
    }

    /// The output sequence from the initial state (what `layer(x)` gives where a tensor is
    /// expected, and what `Sequential` passes on).
    func outputSequence(_ input: SequenceBatch) -> Tensor { self(input, state: nil).output }
}

/// A recurrent layer defined by one time step; the protocol runs it over the sequence with
/// `SequenceBatch.unroll` (masking past each sequence's end). The state's tensors have the batch
/// on axis 0.
///
/// ```swift
/// final class ElmanRNN: Module, RecurrentCell {
///     let weightIh: Parameter, weightHh: Parameter, bias: Parameter
///     init(_ inputSize: Int, _ hiddenSize: Int) {
///         weightIh = Parameter(Tensor.randn([hiddenSize, inputSize]) * 0.1)
///         weightHh = Parameter(Tensor.randn([hiddenSize, hiddenSize]) * 0.1)
///         bias = Parameter(Tensor.zeros([hiddenSize]))
///         super.init()
///     }
///     func initialState(batchSize: Int, dtype: DType) -> Tensor {
///         Tensor.zeros([batchSize, weightHh.shape[0]], dtype: dtype)
///     }
///     func step(_ x: Tensor, state h: Tensor) -> (output: Tensor, state: Tensor) {
///         let next = (x.linear(weight: weightIh.value, bias: bias.value) + h.linear(weight: weightHh.value, bias: nil)).tanh()
///         return (next, next)
///     }
/// }
/// ```
public protocol RecurrentCell: RecurrentLayer {
    /// One step: inputs `[batch, features]` and the state to the step's output `[batch, hidden]`
    /// and the next state.
    func step(_ input: Tensor, state: State) -> (output: Tensor, state: State)
}

extension RecurrentCell {
    /// `step` over every time step (see `SequenceBatch.unroll`).
    public func forward(_ input: SequenceBatch, state: State) -> (output: Tensor, state: State) {
        input.unroll(from: state) { x, s in step(x, state: s) }
    }
}

/// A one-tensor layer over `[batch, time, ...]` sequences that also honours their lengths or
/// mask (attention's key-padding mask, masked pooling, `Sequential` passing them on).
///
/// Conformers implement `forward(_ input: SequenceBatch) -> Tensor`; their one-tensor call treats
/// every step as valid (`Module.forward(_:)` calls it with `SequenceBatch(x)` unless overridden).
///
/// ```swift
/// final class MaskedMean: Module, SequenceLayer {
///     func forward(_ input: SequenceBatch) -> Tensor {
///         guard let valid = input.validMask else { return input.values.mean(axis: 1) }
///         let w = valid.to(input.values.dtype).unsqueezed(axis: -1)
///         return (input.values * w).sum(axis: 1) / w.sum(axis: 1).maximum(Tensor(scalar: 1))
///     }
/// }
/// let pooled = MaskedMean()(SequenceBatch(x, lengths: [3, 1]))
/// ```
public protocol SequenceLayer: Module {
    /// The output for sequences with lengths or a mask.
    func forward(_ input: SequenceBatch) -> Tensor
}

extension SequenceLayer {
    /// Runs `forward(_:)` on sequences with lengths or a mask, recording summaries.
    ///
    /// ```swift
    /// let y = model(SequenceBatch(tokens, paddingIndex: 0))
    /// ```
    public func callAsFunction(_ input: SequenceBatch) -> Tensor {
        let output = forward(input)
        ModuleSummaryRecorder.current?.record(self, output: output)
        return output
    }
}

/// A module that keeps a state between calls (Keras's `stateful=True`), such as
/// `RecurrentOutput(rnn, carryState: true)`: `resetState()` forgets it. Conformers neither use
/// nor update it inside `withoutCarriedStates`. `Module.resetStates()`
/// resets every one in a model; the `Trainer` does so at each epoch's start and around
/// evaluation, and `Module.to(_:)` after converting.
public protocol StateCarrying: Module {
    /// Forgets the carried state: the next call starts from the initial state.
    func resetState()
}

/// Whether `withoutCarriedStates` is running on this thread (or task).
enum CarriedStates {
    @TaskLocal static var paused = false
}

/// Runs `body` as if no module carried a state: `StateCarrying` modules start each call from the
/// initial state and leave their carried state as it was (what `summary` and
/// `TrainingContext.activations()` do, so that looking at a model does not change its run).
/// Applies to this thread only.
///
/// ```swift
/// let probe = withoutCarriedStates { model(sample) }    // the stream's state is untouched
/// ```
public func withoutCarriedStates<R>(_ body: () throws -> R) rethrows -> R {
    try CarriedStates.$paused.withValue(true, operation: body)
}

extension Module {
    /// Resets every `StateCarrying` module in the tree (this one included), as Keras's
    /// `model.reset_states()`.
    ///
    /// ```swift
    /// model.resetStates()     // a new stream starts
    /// ```
    public func resetStates() {
        for (_, m) in namedModules() { (m as? any StateCarrying)?.resetState() }
    }

    /// Reports `output` as this module's output to a `summary` being built, and returns it: for
    /// modules with their own call signatures (`attention(query:key:value:mask:)`), whose calls do
    /// not go through `callAsFunction(_: Tensor)`.
    ///
    /// ```swift
    /// func callAsFunction(query: Tensor, key: Tensor, value: Tensor) -> Tensor {
    ///     reportOutput(attend(query, key, value))
    /// }
    /// ```
    @discardableResult
    public func reportOutput(_ output: Tensor, note: String? = nil) -> Tensor {
        ModuleSummaryRecorder.current?.record(self, output: output, note: note)
        return output
    }

    /// The one-tensor forward of the layers that take more: a `SequenceLayer` with every step
    /// valid, a `RecurrentLayer`'s output sequence from its initial state; nil for others.
    func defaultForward(_ input: Tensor) -> Tensor? {
        if let layer = self as? any SequenceLayer { return layer.forward(SequenceBatch(input)) }
        if let layer = self as? any RecurrentLayer { return layer.outputSequence(SequenceBatch(input)) }
        return nil
    }

    /// This module's output for a batch with lengths or a mask: `SequenceLayer`s and
    /// `RecurrentLayer`s get them, other modules the values alone.
    func forwardMasked(_ input: SequenceBatch) -> Tensor {
        if let layer = self as? any SequenceLayer { return layer(input) }
        if let layer = self as? any RecurrentLayer { return layer.outputSequence(input) }
        return self(input.values)
    }
}
