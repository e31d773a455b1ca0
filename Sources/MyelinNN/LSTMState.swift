import MyelinCore

/// The state of an LSTM: the hidden state `h` and the cell `c`, PyTorch's `(h_n, c_n)`.
///
/// For `LSTM` both are `[numLayers * numDirections, batch, size]` (`h` has the projection size
/// when there is one); for `LSTMCell` they are `[batch, hiddenSize]`.
///
/// ```swift
/// let lstm = LSTM(inputSize: 8, hiddenSize: 16, numLayers: 2)
/// let (y, state) = lstm(x)                       // state.h, state.c: [2, batch, 16]
/// let (y2, _) = lstm(x2, state: state)           // continues from it
/// ```
public struct LSTMState: RecurrentState {
    /// The hidden state.
    public var h: Tensor
    /// The cell state.
    public var c: Tensor

    /// A state from its hidden and cell tensors.
    public init(h: Tensor, c: Tensor) {
        self.h = h
        self.c = c
    }

    /// `[h, c]`.
    public var tensors: [Tensor] { [h, c] }

    /// The state of `[h, c]`.
    public init(tensors: [Tensor]) {
        if tensors.count != 2 { fatalError("[LSTMState] an LSTM state is two tensors (h, c), got \(tensors.count)") }
        self.init(h: tensors[0], c: tensors[1])
    }
}
