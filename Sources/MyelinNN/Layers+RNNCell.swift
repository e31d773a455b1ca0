import MyelinCore

// One-step cells with PyTorch's semantics and names (`nn.RNNCell`, `nn.LSTMCell`, `nn.GRUCell`):
// `step(x, state:)` is PyTorch's `cell(x, hx)`. As `RecurrentCell`s they also run over whole
// sequences (`cell(x)`, `[batch, time, features]`) one step at a time, through
// `SequenceBatch.unroll`; the `RNN`/`LSTM`/`GRU` layers run the same cell faster.
// A step is the layers' recurrence with one time step, so both share one kernel.

/// One step of a cell: x [batch, in] to the next h (and c).
private func cellStep(_ op: String, _ kind: RecurrenceKind, _ x: Tensor, inputSize: Int, hiddenSize: Int,
                      weightIh: Parameter, weightHh: Parameter, biasIh: Parameter?, biasHh: Parameter?,
                      h: Tensor, c: Tensor?) -> (h: Tensor, c: Tensor?) {
    if x.rank != 2 || x.shape[1] != inputSize {
        fatalError("[\(op)] input must be [batch, \(inputSize)], got shape \(x.shape)")
    }
    let batch = x.shape[0]
    if h.shape != [batch, hiddenSize] {
        fatalError("[\(op)] the state h has shape \(h.shape) but should be [\(batch), \(hiddenSize)]")
    }
    if let c, c.shape != [batch, hiddenSize] {
        fatalError("[\(op)] the state c has shape \(c.shape) but should be [\(batch), \(hiddenSize)]")
    }
    let dtype = weightIh.value.dtype
    let projected = (x.dtype == dtype ? x : x.to(dtype)).linear(weight: weightIh.value, bias: biasIh?.value)
        .reshape([1, batch, kind.gateCount * hiddenSize])
    let r = Tensor.recurrence(kind, inputProjection: projected, weightHH: weightHh.value, biasHH: biasHh?.value,
                              h0: h, c0: c)
    return (r.output.reshape([batch, hiddenSize]), r.c)
}

/// PyTorch's default cell parameters, uniform in ±1/√hiddenSize.
private func cellParameter(_ shape: [Int], _ hiddenSize: Int, _ generator: RandomGenerator) -> Parameter {
    let bound = 1 / Double(hiddenSize).squareRoot()
    return Parameter(Tensor.uniform(shape, low: -bound, high: bound, generator: generator))
}

private func checkSizes(_ op: String, _ inputSize: Int, _ hiddenSize: Int) {
    if inputSize < 1 || hiddenSize < 1 {
        fatalError("[\(op)] inputSize and hiddenSize must be positive, got \(inputSize) and \(hiddenSize)")
    }
}

/// An Elman RNN cell: h' = tanh(x Wᵢₕᵀ + bᵢₕ + h Wₕₕᵀ + bₕₕ) (or relu), as `nn.RNNCell`.
///
/// ```swift
/// let cell = RNNCell(inputSize: 4, hiddenSize: 8)
/// let (_, h1) = cell.step(x0, state: cell.initialState(batchSize: 2, dtype: .float32))
/// let (outputs, h) = cell(sequence)          // [2, time, 8] over a whole sequence
/// ```
public final class RNNCell: Module, RecurrentCell {
    public let weightIh: Parameter, weightHh: Parameter
    public let biasIh: Parameter?, biasHh: Parameter?
    public let inputSize: Int, hiddenSize: Int
    public let nonlinearity: RNN.Nonlinearity

    public init(inputSize: Int, hiddenSize: Int, bias: Bool = true, nonlinearity: RNN.Nonlinearity = .tanh,
                generator: RandomGenerator = Random.global) {
        checkSizes("RNNCell", inputSize, hiddenSize)
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        self.nonlinearity = nonlinearity
        weightIh = cellParameter([hiddenSize, inputSize], hiddenSize, generator)
        weightHh = cellParameter([hiddenSize, hiddenSize], hiddenSize, generator)
        biasIh = bias ? cellParameter([hiddenSize], hiddenSize, generator) : nil
        biasHh = bias ? cellParameter([hiddenSize], hiddenSize, generator) : nil
        super.init()
    }

    public func initialState(batchSize: Int, dtype: DType) -> Tensor { Tensor.zeros([batchSize, hiddenSize], dtype: dtype) }

    /// One step, PyTorch's `cell(x, h)`: x `[batch, inputSize]`, h `[batch, hiddenSize]`; the
    /// output is the new h.
    public func step(_ input: Tensor, state: Tensor) -> (output: Tensor, state: Tensor) {
        let h = cellStep("RNNCell", nonlinearity == .tanh ? .rnnTanh : .rnnRelu, input, inputSize: inputSize,
                         hiddenSize: hiddenSize, weightIh: weightIh, weightHh: weightHh, biasIh: biasIh, biasHh: biasHh,
                         h: state, c: nil).h
        return (h, h)
    }
}

/// An LSTM cell, as `nn.LSTMCell`: gates i, f, g, o; c' = f c + i g, h' = o tanh(c').
///
/// ```swift
/// let cell = LSTMCell(inputSize: 4, hiddenSize: 8)
/// var state = cell.initialState(batchSize: 2, dtype: .float32)
/// for x in steps { state = cell.step(x, state: state).state }
/// ```
public final class LSTMCell: Module, RecurrentCell {
    public let weightIh: Parameter, weightHh: Parameter
    public let biasIh: Parameter?, biasHh: Parameter?
    public let inputSize: Int, hiddenSize: Int

    public init(inputSize: Int, hiddenSize: Int, bias: Bool = true, generator: RandomGenerator = Random.global) {
        checkSizes("LSTMCell", inputSize, hiddenSize)
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        weightIh = cellParameter([4 * hiddenSize, inputSize], hiddenSize, generator)
        weightHh = cellParameter([4 * hiddenSize, hiddenSize], hiddenSize, generator)
        biasIh = bias ? cellParameter([4 * hiddenSize], hiddenSize, generator) : nil
        biasHh = bias ? cellParameter([4 * hiddenSize], hiddenSize, generator) : nil
        super.init()
    }

    public func initialState(batchSize: Int, dtype: DType) -> LSTMState {
        LSTMState(h: Tensor.zeros([batchSize, hiddenSize], dtype: dtype), c: Tensor.zeros([batchSize, hiddenSize], dtype: dtype))
    }

    /// One step, PyTorch's `cell(x, (h, c))`: the output is the new h.
    public func step(_ input: Tensor, state: LSTMState) -> (output: Tensor, state: LSTMState) {
        let r = cellStep("LSTMCell", .lstm, input, inputSize: inputSize, hiddenSize: hiddenSize, weightIh: weightIh,
                         weightHh: weightHh, biasIh: biasIh, biasHh: biasHh, h: state.h, c: state.c)
        return (r.h, LSTMState(h: r.h, c: r.c!))
    }
}

/// A GRU cell, as `nn.GRUCell`: gates r, z, n; n = tanh(Wᵢₙx + bᵢₙ + r (Wₕₙh + bₕₙ)),
/// h' = (1 - z) n + z h.
///
/// ```swift
/// let cell = GRUCell(inputSize: 4, hiddenSize: 8)
/// let (h1, _) = cell.step(x0, state: Tensor.zeros([2, 8]))
/// ```
public final class GRUCell: Module, RecurrentCell {
    public let weightIh: Parameter, weightHh: Parameter
    public let biasIh: Parameter?, biasHh: Parameter?
    public let inputSize: Int, hiddenSize: Int

    public init(inputSize: Int, hiddenSize: Int, bias: Bool = true, generator: RandomGenerator = Random.global) {
        checkSizes("GRUCell", inputSize, hiddenSize)
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        weightIh = cellParameter([3 * hiddenSize, inputSize], hiddenSize, generator)
        weightHh = cellParameter([3 * hiddenSize, hiddenSize], hiddenSize, generator)
        biasIh = bias ? cellParameter([3 * hiddenSize], hiddenSize, generator) : nil
        biasHh = bias ? cellParameter([3 * hiddenSize], hiddenSize, generator) : nil
        super.init()
    }

    public func initialState(batchSize: Int, dtype: DType) -> Tensor { Tensor.zeros([batchSize, hiddenSize], dtype: dtype) }

    /// One step, PyTorch's `cell(x, h)`: the output is the new h.
    public func step(_ input: Tensor, state: Tensor) -> (output: Tensor, state: Tensor) {
        let h = cellStep("GRUCell", .gru, input, inputSize: inputSize, hiddenSize: hiddenSize, weightIh: weightIh,
                         weightHh: weightHh, biasIh: biasIh, biasHh: biasHh, h: state, c: nil).h
        return (h, h)
    }
}
