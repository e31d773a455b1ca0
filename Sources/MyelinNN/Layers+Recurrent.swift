import MyelinCore

/// A recurrent layer as a one-tensor layer for `Sequential`: it drops the state and returns the
/// output sequence (Keras's `return_sequences=True`) or each sequence's last valid output
/// (`return_sequences=False`), and with `carryState` keeps the final state, detached, for the
/// next call (Keras's `stateful=True`: truncated backpropagation through time over a long stream
/// cut into consecutive batches).
///
/// The wrapped layer is the child `layer`, so its parameters are named `"1.layer.weight_ih"`
/// inside a `Sequential`. Given a `SequenceBatch` (directly or through `Sequential`), it passes
/// the lengths or mask on, and `.lastStep` picks each sequence's own last valid step.
///
/// A carried state is reset by `resetState()` / `model.resetStates()` (the `Trainer` resets at
/// each epoch's start and around evaluation); a batch of another size than the carried state's
/// is an error (use a loader with `dropLast: true`). Inside `withoutCarriedStates` (and so in
/// `summary`) it is neither used nor changed.
///
/// ```swift
/// let model = Sequential {
///     Embedding(65, 32)
///     RecurrentOutput(ElmanRNN(32, 64), returning: .sequence, carryState: true)
///     Linear(64, 65)
/// }
/// let logits = model(tokens)                                    // [batch, time, 65]
/// let classifier = Sequential { RecurrentOutput(rnn, returning: .lastStep); Linear(64, 2) }
/// classifier(SequenceBatch(x, lengths: lengths))                // [batch, 2]
/// ```
public final class RecurrentOutput<Wrapped: RecurrentLayer>: Module, SequenceLayer, StateCarrying {
    /// Which outputs the adapter returns.
    public enum Returning: Sendable {
        /// Every step's output, `[batch, time, hidden]`.
        case sequence
        /// Each sequence's output at its last valid step, `[batch, hidden]`.
        case lastStep
    }

    /// The recurrent layer.
    public let layer: Wrapped
    public let returning: Returning
    /// Whether the final state is kept (detached) and the next call starts from it.
    public let carryState: Bool
    /// The state the next call starts from (with `carryState`), nil for the initial state.
    public var state: Wrapped.State?

    /// Wraps `layer`, returning `returning` and carrying its state between calls if `carryState`.
    public init(_ layer: Wrapped, returning: Returning = .sequence, carryState: Bool = false) {
        self.layer = layer
        self.returning = returning
        self.carryState = carryState
        super.init()
    }

    public override var typeName: String { "RecurrentOutput" }

    public override func forward(_ input: Tensor) -> Tensor { forward(SequenceBatch(input)) }

    /// The outputs for sequences with lengths or a mask (and the carried state, if any).
    public func forward(_ input: SequenceBatch) -> Tensor {
        let carrying = carryState && !CarriedStates.paused
        var start: Wrapped.State?
        if carrying, let carried = state {
            let fresh = layer.initialState(batchSize: input.batchSize, dtype: input.values.dtype.isFloatingPoint ? input.values.dtype : .float32)
            if fresh.shapes != carried.shapes {
                fatalError("[RecurrentOutput] the carried state has shapes \(carried.shapes) but a batch of \(input.batchSize) needs \(fresh.shapes): keep the batch size fixed (a loader with dropLast: true) or call resetState()")
            }
            start = carried
        }
        let (output, final) = layer(input, state: start)
        if carrying { state = final.detached() }
        switch returning {
        case .sequence: return output
        case .lastStep: return input.lastValidStep(of: output)
        }
    }

    public func resetState() { state = nil }
}
