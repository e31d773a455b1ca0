import MyelinCore

/// What `RNN`, `LSTM` and `GRU` share (PyTorch's `nn.RNNBase`): the stacked, optionally
/// bidirectional layers of one kind of cell, their PyTorch-named parameters and the run over a
/// sequence.
///
/// Each layer and direction makes one matrix product for the input projections of all time
/// steps, then `Tensor.recurrence` runs the cell over the steps (one product per step for the
/// recurrent part, the gates in one loop, a fused backward). Internally sequences are time-major
/// `[time, batch, features]`, so batch-first inputs are transposed once at the boundary.
///
/// Parameters are named as in PyTorch's `state_dict()`: `weight_ih_l0`, `weight_hh_l0`,
/// `bias_ih_l0`, `bias_hh_l0`, `weight_hr_l0` (LSTM with `projSize`), with `_reverse` for the
/// backward direction, so PyTorch weights load unchanged.
public class RNNBase: Module {
    /// The parameters of one layer in one direction.
    struct Weights {
        let ih: Parameter, hh: Parameter
        let biasIh: Parameter?, biasHh: Parameter?
        let hr: Parameter?
    }

    /// The cell the layers run.
    public let kind: RecurrenceKind
    public let inputSize: Int
    public let hiddenSize: Int
    public let numLayers: Int
    /// Whether the layers have `bias_ih` and `bias_hh`.
    public let bias: Bool
    /// Whether tensors given directly are `[batch, time, features]` (else `[time, batch, features]`,
    /// PyTorch's default). A `SequenceBatch` is always batch first.
    public let batchFirst: Bool
    /// The dropout probability on the outputs of every layer but the last, in training mode.
    public let dropout: Double
    public let bidirectional: Bool
    /// The LSTM projection size (0 for none).
    public let projSize: Int
    let weights: [Weights]
    private let generator: RandomGenerator

    /// 2 when bidirectional, else 1.
    public var numDirections: Int { bidirectional ? 2 : 1 }
    /// The size of the state h and of each direction's output: `projSize` when set, else `hiddenSize`.
    public var stateSize: Int { projSize > 0 ? projSize : hiddenSize }

    init(kind: RecurrenceKind, inputSize: Int, hiddenSize: Int, numLayers: Int, bias: Bool, batchFirst: Bool,
         dropout: Double, bidirectional: Bool, projSize: Int, generator: RandomGenerator) {
        let op = Self.opName(kind)
        if inputSize < 1 || hiddenSize < 1 || numLayers < 1 {
            fatalError("[\(op)] inputSize, hiddenSize and numLayers must be positive, got \(inputSize), \(hiddenSize), \(numLayers)")
        }
        if !(0...1).contains(dropout) { fatalError("[\(op)] dropout must be in [0, 1], got \(dropout)") }
        if projSize < 0 || projSize >= hiddenSize && projSize != 0 {
            fatalError("[\(op)] projSize must be in 0..<hiddenSize (\(hiddenSize)), got \(projSize)")
        }
        if projSize > 0 && kind != .lstm { fatalError("[\(op)] projSize is only for an LSTM") }
        self.kind = kind
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        self.numLayers = numLayers
        self.bias = bias
        self.batchFirst = batchFirst
        self.dropout = dropout
        self.bidirectional = bidirectional
        self.projSize = projSize
        self.generator = generator
        // PyTorch: every parameter uniform in ±1/√hiddenSize.
        let bound = 1 / Double(hiddenSize).squareRoot()
        let gates = kind.gateCount * hiddenSize, state = projSize > 0 ? projSize : hiddenSize
        func make(_ shape: [Int]) -> Parameter {
            Parameter(Tensor.uniform(shape, low: -bound, high: bound, generator: generator))
        }
        var weights: [Weights] = []
        for layer in 0..<numLayers {
            let layerInput = layer == 0 ? inputSize : state * (bidirectional ? 2 : 1)
            for _ in 0..<(bidirectional ? 2 : 1) {
                weights.append(Weights(ih: make([gates, layerInput]), hh: make([gates, state]),
                                       biasIh: bias ? make([gates]) : nil, biasHh: bias ? make([gates]) : nil,
                                       hr: projSize > 0 ? make([projSize, hiddenSize]) : nil))
            }
        }
        self.weights = weights
        super.init()
    }

    static func opName(_ kind: RecurrenceKind) -> String {
        switch kind {
        case .rnnTanh, .rnnRelu: return "RNN"
        case .lstm: return "LSTM"
        case .gru: return "GRU"
        }
    }

    var op: String { Self.opName(kind) }

    public override var typeName: String { op }

    /// PyTorch's names and order: per layer, per direction, w_ih, w_hh, b_ih, b_hh, w_hr.
    public override func namedOwnParameters() -> [(String, Parameter)] {
        var result: [(String, Parameter)] = []
        for (k, w) in weights.enumerated() {
            let suffix = "_l\(k / numDirections)" + (k % numDirections == 1 ? "_reverse" : "")
            result.append(("weight_ih" + suffix, w.ih))
            result.append(("weight_hh" + suffix, w.hh))
            if let b = w.biasIh { result.append(("bias_ih" + suffix, b)) }
            if let b = w.biasHh { result.append(("bias_hh" + suffix, b)) }
            if let p = w.hr { result.append(("weight_hr" + suffix, p)) }
        }
        return result
    }

    /// The one-tensor call (`Sequential`, `layer(x)` where a tensor is expected): the output
    /// sequence from zero states, in the layout `batchFirst` says.
    public override func forward(_ input: Tensor) -> Tensor {
        let x = timeMajor(input)
        return userLayout(run(x, mask: nil, h0: nil, c0: nil).output)
    }

    /// Zero states `[numLayers * numDirections, batch, size]` for h and (LSTM) c.
    func zeroStates(batchSize: Int, dtype: DType) -> (h: Tensor, c: Tensor?) {
        let n = numLayers * numDirections
        return (Tensor.zeros([n, batchSize, stateSize], dtype: dtype),
                kind == .lstm ? Tensor.zeros([n, batchSize, hiddenSize], dtype: dtype) : nil)
    }

    /// A tensor in the user's layout to `[time, batch, features]`.
    func timeMajor(_ input: Tensor) -> Tensor {
        if input.rank != 3 {
            fatalError("[\(op)] input must be \(batchFirst ? "[batch, time, features]" : "[time, batch, features]"), got shape \(input.shape)")
        }
        return batchFirst ? input.transposed(0, 1) : input
    }

    /// `[time, batch, features]` to the user's layout.
    func userLayout(_ output: Tensor) -> Tensor { batchFirst ? output.transposed(0, 1) : output }

    /// Runs the layers over a `SequenceBatch` (batch first) from the given states.
    func run(_ input: SequenceBatch, h0: Tensor, c0: Tensor?) -> (output: Tensor, h: Tensor, c: Tensor?) {
        let x = input.values
        if x.rank != 3 { fatalError("[\(op)] input must be [batch, time, features], got shape \(x.shape)") }
        let mask = input.validMask.map { $0.transposed(0, 1).to(x.dtype.isFloatingPoint ? x.dtype : .float32) }
        let r = run(x.transposed(0, 1), mask: mask, h0: h0, c0: c0)
        return (r.output.transposed(0, 1), r.h, r.c)
    }

    /// Runs the layers over `[time, batch, features]` inputs from the given states (zeros when
    /// nil); `mask` is `[time, batch]`, 1 at valid steps. With `embedding`, x is `[time, batch]`
    /// token ids and the first layer's input projection goes through `Embedding.projected`.
    func run(_ x: Tensor, mask: Tensor?, h0: Tensor?, c0: Tensor?,
             embedding: Embedding? = nil) -> (output: Tensor, h: Tensor, c: Tensor?) {
        if let embedding {
            if x.rank != 2 { fatalError("[\(op)] tokens must be [batch, time], got shape \(x.shape)") }
            if embedding.dimension != inputSize {
                fatalError("[\(op)] the embedding gives \(embedding.dimension) features but inputSize is \(inputSize)")
            }
        } else if x.shape[2] != inputSize {
            fatalError("[\(op)] input has \(x.shape[2]) features but inputSize is \(inputSize)")
        }
        if x.shape[0] == 0 { fatalError("[\(op)] the input has no time steps (shape \(x.shape))") }
        let (steps, batch) = (x.shape[0], x.shape[1])
        let dtype = weights[0].ih.value.dtype
        let n = numLayers * numDirections
        let zeros = (h0 == nil || (kind == .lstm && c0 == nil)) ? zeroStates(batchSize: batch, dtype: dtype) : nil
        let h0 = h0 ?? zeros!.h, c0 = kind == .lstm ? (c0 ?? zeros!.c!) : nil
        if h0.shape != [n, batch, stateSize] {
            fatalError("[\(op)] h0 has shape \(h0.shape) but should be [\(n), \(batch), \(stateSize)] (numLayers * numDirections, batch, \(projSize > 0 ? "projSize" : "hiddenSize"))")
        }
        if let c0, c0.shape != [n, batch, hiddenSize] {
            fatalError("[\(op)] c0 has shape \(c0.shape) but should be [\(n), \(batch), \(hiddenSize)]")
        }
        let hs = h0.unbind(axis: 0), cs = c0?.unbind(axis: 0)
        var layerInput = x.dtype == dtype || embedding != nil ? x : x.to(dtype)
        let mask = mask.map { $0.dtype == dtype ? $0 : $0.to(dtype) }
        var finalH: [Tensor] = [], finalC: [Tensor] = []
        for layer in 0..<numLayers {
            if layer > 0 && isTraining && dropout > 0 {
                let keep = Tensor.bernoulli(layerInput.shape, p: 1 - dropout, dtype: dtype, generator: generator)
                layerInput = layerInput * (keep / (1 - dropout))
            }
            let tokens = layer == 0 ? embedding : nil
            let flat = tokens == nil ? layerInput.reshape([steps * batch, layerInput.shape[2]]) : layerInput.reshape([steps * batch])
            var outputs: [Tensor] = []
            for direction in 0..<numDirections {
                let k = layer * numDirections + direction
                let w = weights[k]
                // Through the vocabulary, the recurrence reads the table at the tokens itself.
                let table = tokens?.projectionTable(for: flat, weight: w.ih.value, bias: w.biasIh?.value)
                let projected = table ?? (tokens.map { $0(flat) } ?? flat).linear(weight: w.ih.value, bias: w.biasIh?.value)
                    .reshape([steps, batch, kind.gateCount * hiddenSize])
                let r = Tensor.recurrence(kind, inputProjection: projected, weightHH: w.hh.value, biasHH: w.biasHh?.value,
                                          weightHR: w.hr?.value, h0: hs[k], c0: cs?[k], mask: mask,
                                          reverse: direction == 1, tokens: table == nil ? nil : layerInput)
                outputs.append(r.output)
                finalH.append(r.h)
                if let c = r.c { finalC.append(c) }
            }
            layerInput = outputs.count == 1 ? outputs[0] : Tensor.cat(outputs, axis: 2)
        }
        return (layerInput, Tensor.stack(finalH, axis: 0), kind == .lstm ? Tensor.stack(finalC, axis: 0) : nil)
    }
}
