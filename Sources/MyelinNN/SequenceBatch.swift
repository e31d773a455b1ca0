import MyelinCore

/// A batch of sequences with where each one ends: the input of layers that must know it
/// (recurrent layers, attention, masked pooling), as PyTorch's padded batch with `lengths` (what
/// `pack_padded_sequence` takes) or Keras's mask.
///
/// Values are batch first, `[batch, time, ...]` (a layer that works time first transposes). The
/// valid steps of each sequence are given by `lengths` (steps `0..<length` are valid) or by a
/// `[batch, time]` bool `mask`, true at valid steps (Keras's convention; `paddingMask` is the
/// inverse, PyTorch's `key_padding_mask`). Without either, every step is valid.
///
/// Layers given lengths or a mask output zeros past each sequence's end; recurrent layers leave
/// their state unchanged there, so the final state is the one after each sequence's last valid
/// step (PyTorch's packed-sequence semantics).
///
/// ```swift
/// let x = Tensor.randn([3, 5, 8])                       // 3 sequences padded to 5 steps
/// let batch = SequenceBatch(x, lengths: [5, 2, 4])
/// let (outputs, last) = rnn(batch)                       // outputs[1, 2...] are zero
/// let tokens = SequenceBatch(ids, paddingIndex: 0)       // mask = ids != 0
/// ```
public struct SequenceBatch {
    /// The padded sequences, `[batch, time, ...]`.
    public var values: Tensor
    /// Each sequence's number of valid steps, if given that way.
    public let lengths: [Int]?
    /// A `[batch, time]` bool tensor, true at valid steps, if given that way.
    public let mask: Tensor?

    /// Sequences whose steps are all valid.
    ///
    /// ```swift
    /// let batch = SequenceBatch(Tensor.randn([4, 10, 3]))
    /// ```
    public init(_ values: Tensor) {
        Self.checkRank(values)
        self.values = values
        lengths = nil
        mask = nil
    }

    /// Sequences whose first `lengths[i]` steps are valid (each in `0...time`).
    ///
    /// ```swift
    /// let batch = SequenceBatch(Tensor.randn([2, 4, 3]), lengths: [4, 1])
    /// ```
    public init(_ values: Tensor, lengths: [Int]) {
        Self.checkRank(values)
        let n = values.shape[0], t = values.shape[1]
        if lengths.count != n {
            fatalError("[SequenceBatch] \(lengths.count) lengths for a batch of \(n) sequences")
        }
        if let bad = lengths.first(where: { $0 < 0 || $0 > t }) {
            fatalError("[SequenceBatch] length \(bad) is outside 0...\(t) (the batch has \(t) time steps)")
        }
        self.values = values
        self.lengths = lengths
        mask = nil
    }

    /// Sequences with lengths held in an integer tensor of shape `[batch]`.
    public init(_ values: Tensor, lengths: Tensor) {
        if lengths.rank != 1 { fatalError("[SequenceBatch] lengths must have shape [batch], got \(lengths.shape)") }
        self.init(values, lengths: lengths.ints)
    }

    /// Sequences whose valid steps are where `mask` (`[batch, time]`, bool or non-zero) is true.
    ///
    /// ```swift
    /// let batch = SequenceBatch(x, mask: Tensor([[true, true, false], [true, false, false]]))
    /// ```
    public init(_ values: Tensor, mask: Tensor) {
        Self.checkRank(values)
        if mask.shape != Array(values.shape.prefix(2)) {
            fatalError("[SequenceBatch] mask of shape \(mask.shape) does not match values of shape \(values.shape) (expected [\(values.shape[0]), \(values.shape[1])])")
        }
        self.values = values
        lengths = nil
        self.mask = mask.dtype == .bool ? mask : mask.ne(0)
    }

    /// Token ids `[batch, time]` whose padding steps hold `paddingIndex` (Keras's `mask_zero`
    /// with index 0): the mask is `tokens != paddingIndex`.
    ///
    /// ```swift
    /// model(SequenceBatch(Tensor([[5, 3, 0], [7, 0, 0]]), paddingIndex: 0))
    /// ```
    public init(_ tokens: Tensor, paddingIndex: Int) {
        Self.checkRank(tokens)
        self.init(tokens, mask: tokens.ne(paddingIndex))
    }

    private init(values: Tensor, lengths: [Int]?, mask: Tensor?) {
        self.values = values
        self.lengths = lengths
        self.mask = mask
    }

    private static func checkRank(_ values: Tensor) {
        if values.rank < 2 {
            fatalError("[SequenceBatch] values must be [batch, time, ...], got shape \(values.shape)")
        }
    }

    /// The number of sequences.
    public var batchSize: Int { values.shape[0] }
    /// The padded length (the time axis's size).
    public var timeSteps: Int { values.shape[1] }
    /// Whether some steps may be invalid (lengths or a mask were given).
    public var isMasked: Bool { lengths != nil || mask != nil }

    /// The same lengths or mask with other values of the same batch and time size (a layer's
    /// output, to pass on to the next layer).
    ///
    /// ```swift
    /// let next = batch.with(values: embedding(batch.values))
    /// ```
    public func with(values newValues: Tensor) -> SequenceBatch {
        if newValues.rank < 2 || newValues.shape[0] != batchSize || newValues.shape[1] != timeSteps {
            fatalError("[SequenceBatch] new values of shape \(newValues.shape) do not keep the batch and time sizes [\(batchSize), \(timeSteps)]")
        }
        return SequenceBatch(values: newValues, lengths: lengths, mask: mask)
    }

    /// Whether `shape` starts with this batch's `[batch, time]`, so the lengths or mask apply to it.
    public func matches(_ shape: [Int]) -> Bool {
        shape.count >= 2 && shape[0] == batchSize && shape[1] == timeSteps
    }

    /// `[batch, time]` bool, true at valid steps; nil when every step is valid.
    ///
    /// ```swift
    /// SequenceBatch(x, lengths: [3, 1]).validMask   // [[true, true, true], [true, false, false]] for 3 steps
    /// ```
    public var validMask: Tensor? {
        if let mask { return mask }
        guard let lengths else { return nil }
        let steps = Tensor.arange(timeSteps).reshape([1, timeSteps])
        return steps .< Tensor(shape: [batchSize, 1], doubles: lengths.map(Double.init), dtype: .int64)
    }

    /// `[batch, time]` bool, true at padding steps (PyTorch's `key_padding_mask`); nil when every
    /// step is valid.
    public var paddingMask: Tensor? { validMask?.logicalNot() }

    /// Each sequence's number of valid steps (from the mask, its count of true steps).
    public var sequenceLengths: [Int] {
        if let lengths { return lengths }
        guard let mask else { return [Int](repeating: timeSteps, count: batchSize) }
        return mask.to(.int64).sum(axis: 1).ints
    }

    /// The valid steps per time step on the host (`[time][batch]`), nil when all are valid.
    func hostValidity() -> [[Bool]]? {
        if let lengths { return (0..<timeSteps).map { t in lengths.map { t < $0 } } }
        guard let mask else { return nil }
        let flat = mask.contiguous().bools
        return (0..<timeSteps).map { t in (0..<batchSize).map { flat[$0 * timeSteps + t] } }
    }

    /// Each sequence's output at its last valid step: `[batch, time, ...]` to `[batch, ...]`
    /// (Keras's `return_sequences=False` on a padded batch). A sequence with no valid step gives
    /// zeros; with a mask, the last true step counts.
    ///
    /// ```swift
    /// let (outputs, _) = rnn(batch)
    /// let last = batch.lastValidStep(of: outputs)    // [batch, hidden]
    /// ```
    public func lastValidStep(of outputs: Tensor) -> Tensor {
        if !matches(outputs.shape) {
            fatalError("[SequenceBatch.lastValidStep] outputs of shape \(outputs.shape) do not start with [\(batchSize), \(timeSteps)]")
        }
        guard let validity = hostValidity() else { return outputs[.all, timeSteps - 1] }
        var last = [Int](repeating: -1, count: batchSize)
        for t in 0..<timeSteps { for i in 0..<batchSize where validity[t][i] { last[i] = t } }
        let rows = (0..<batchSize).map { Double($0 * timeSteps + Swift.max(last[$0], 0)) }
        let flat = outputs.reshape([batchSize * timeSteps] + Array(outputs.shape.dropFirst(2)))
        let picked = flat.indexSelect(axis: 0, indices: Tensor(shape: [batchSize], doubles: rows, dtype: .int64))
        guard last.contains(-1) else { return picked }
        let keep = Tensor(shape: [batchSize] + [Int](repeating: 1, count: picked.rank - 1),
                          doubles: last.map { $0 >= 0 ? 1 : 0 }, dtype: .bool)
        return Tensor.where(keep, picked, Tensor(scalar: 0, dtype: picked.dtype))
    }

    /// Runs `step` over the time steps from `initial`, as every recurrent layer does: `step`
    /// takes the inputs of one step (`values[:, t]`, `[batch, ...]`) and the state, and returns
    /// the step's output (`[batch, ...]`) and the next state. Outputs are stacked to
    /// `[batch, time, ...]`. At invalid steps the output is zero and the state is kept, so each
    /// sequence's final state is the one after its last valid step. State tensors must have the
    /// batch on axis 0. `reverse` runs from the last step to the first (the backward direction of
    /// a bidirectional layer: with lengths, each sequence starts at its own last valid step).
    ///
    /// ```swift
    /// let (outputs, h) = batch.unroll(from: h0) { x, h in
    ///     let next = (x.linear(weight: wIh, bias: b) + h.linear(weight: wHh, bias: nil)).tanh()
    ///     return (next, next)
    /// }
    /// ```
    public func unroll<State: RecurrentState>(from initial: State, reverse: Bool = false,
                                              _ step: (_ input: Tensor, _ state: State) -> (output: Tensor, state: State))
        -> (output: Tensor, state: State) {
        if timeSteps == 0 {
            fatalError("[recurrent] the input has no time steps (values of shape \(values.shape))")
        }
        let validity = hostValidity()
        let mask = validity == nil ? nil : validMask
        var state = initial
        var outputs = [Tensor?](repeating: nil, count: timeSteps)
        let order = reverse ? Array((0..<timeSteps).reversed()) : Array(0..<timeSteps)
        for t in order {
            let (out, next) = step(values[.all, t], state)
            if out.rank < 1 || out.shape[0] != batchSize {
                fatalError("[recurrent] a step's output must be [batch, ...] with batch \(batchSize), got shape \(out.shape)")
            }
            guard let validity, let mask, validity[t].contains(false) else {
                outputs[t] = out
                state = next
                continue
            }
            let valid = mask[.all, t]
            func shaped(_ x: Tensor) -> Tensor {
                valid.reshape([batchSize] + [Int](repeating: 1, count: Swift.max(x.rank - 1, 0)))
            }
            outputs[t] = Tensor.where(shaped(out), out, Tensor(scalar: 0, dtype: out.dtype))
            let old = state.tensors, new = next.tensors
            if old.count != new.count {
                fatalError("[recurrent] a step returned a state of \(new.count) tensors from one of \(old.count)")
            }
            state = State(tensors: zip(old, new).map { o, n in
                if n.rank < 1 || n.shape[0] != batchSize {
                    fatalError("[recurrent] state tensors must have the batch (\(batchSize)) on axis 0 to be masked, got shape \(n.shape)")
                }
                return Tensor.where(shaped(n), n, o)
            })
        }
        return (Tensor.stack(outputs.map { $0! }, axis: 1), state)
    }
}
