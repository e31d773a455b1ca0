// The recurrence of RNN, LSTM and GRU layers as one op: given every step's input projection
// (x Wᵢₕᵀ + bᵢₕ for all time steps, one matrix product done by the caller), it runs the whole
// sequence with one matrix product per step for the recurrent part (h Wₕₕᵀ) and one loop over the
// gates, and its vjp is a hand-written backward through time. Loops are in RecurrentKernels.swift.
//
// Three primitives, as max pooling's index and gather:
// - `recurrence` computes the workspace (every step's state, cell and gate activations), which
//   the backward needs; it is not differentiated itself;
// - `recurrenceOutput` reads the outputs and final states out of the workspace; its vjp runs
// - `recurrenceBackward`, which returns every input's gradient packed in one tensor.
// Outputs and gradients are packed into one tensor each because a primitive has one output; the
// op splits them into views.

/// The cell a recurrence runs, with PyTorch's gate order.
public enum RecurrenceKind: String, Codable, Sendable, CaseIterable {
    /// h' = tanh(x Wᵢₕᵀ + bᵢₕ + h Wₕₕᵀ + bₕₕ).
    case rnnTanh
    /// h' = relu(x Wᵢₕᵀ + bᵢₕ + h Wₕₕᵀ + bₕₕ).
    case rnnRelu
    /// Gates i, f, g, o; c' = f c + i g, h' = o tanh(c').
    case lstm
    /// Gates r, z, n; n = tanh(xₙ + r (Wₕₙ h + bₕₙ)), h' = (1 - z) n + z h.
    case gru

    /// How many blocks of `hidden` rows the weights have (1, 4 or 3).
    public var gateCount: Int {
        switch self {
        case .rnnTanh, .rnnRelu: return 1
        case .lstm: return 4
        case .gru: return 3
        }
    }
}

extension Tensor {
    /// Runs a recurrent cell over a time-major sequence from `h0` (and `c0` for an LSTM), given
    /// the input projections of every step. Returns every step's output `[time, batch, stateSize]`
    /// and the final state(s).
    ///
    /// Shapes (G = `kind.gateCount`, H hidden size, P = H or the projection size):
    /// `inputProjection` [T, B, G·H] (x Wᵢₕᵀ + bᵢₕ), `weightHH` [G·H, P], `biasHH` [G·H],
    /// `weightHR` [P, H] (LSTM projection, PyTorch's `weight_hr`), `h0` [B, P], `c0` [B, H],
    /// `mask` [T, B] of the same float dtype, 1 at valid steps and 0 elsewhere. At a step where the
    /// mask is 0 the output is zero and the state is kept (PyTorch's packed sequences); with
    /// `reverse` the steps run from last to first.
    ///
    /// With `tokens` (int32 or int64 ids [T, B]), `inputProjection` is a table [V, G·H] and step
    /// t of row b reads its row `tokens[t, b]`: `inputProjection.indexSelect(axis: 0, indices:
    /// tokens.flattened()).reshape([T, B, G·H])` without writing that tensor out (an embedding
    /// followed by the input projection, through the vocabulary). The table's gradient is the
    /// same sum as indexSelect's.
    ///
    /// ```swift
    /// let xp = x.reshape([t * b, f]).linear(weight: wIh, bias: bIh).reshape([t, b, 4 * h])
    /// let (y, hT, cT) = Tensor.recurrence(.lstm, inputProjection: xp, weightHH: wHh, biasHH: bHh,
    ///                                     h0: Tensor.zeros([b, h]), c0: Tensor.zeros([b, h]))
    /// ```
    public static func recurrence(_ kind: RecurrenceKind, inputProjection: Tensor, weightHH: Tensor,
                                  biasHH: Tensor? = nil, weightHR: Tensor? = nil, h0: Tensor, c0: Tensor? = nil,
                                  mask: Tensor? = nil, reverse: Bool = false,
                                  tokens: Tensor? = nil) -> (output: Tensor, h: Tensor, c: Tensor?) {
        if (kind == .lstm) != (c0 != nil) {
            fatalError("[recurrence] \(kind == .lstm ? "an LSTM needs c0" : "only an LSTM takes c0")")
        }
        if weightHR != nil && kind != .lstm { fatalError("[recurrence] only an LSTM takes a projection weight") }
        let spec = RecurrenceSpec(kind: kind, reverse: reverse, hasBias: biasHH != nil,
                                  hasProjection: weightHR != nil, hasMask: mask != nil, hasTokens: tokens != nil)
        var inputs = [inputProjection, weightHH]
        if let biasHH { inputs.append(biasHH) }
        if let weightHR { inputs.append(weightHR) }
        inputs.append(h0)
        if let c0 { inputs.append(c0) }
        if let mask { inputs.append(mask) }
        if let tokens { inputs.append(tokens) }
        let geo = spec.checkedGeometry(inputs)
        let packed: Tensor
        if recordsOrRoutes(inputs) {
            // The workspace takes no gradient (Output's vjp gives every input's), so it is made
            // without a graph node unless traced or on a device: backward never visits that node,
            // which would keep the weights shared until the graph goes and make the optimiser
            // copy them (Wₕₕ and bₕₕ, each step of lstm_train).
            let routes = Recording.tracing || inputs.contains { $0.storage.deviceSlot != 0 }
            let workspace = routes ? apply(Recurrence.Forward(spec: spec), inputs) : Recurrence.forward(spec, geo, inputs)
            packed = apply(Recurrence.Output(spec: spec), inputs + [workspace])
        } else {
            let workspace = Recurrence.forward(spec, geo, inputs)
            packed = Recurrence.output(spec, geo, inputs + [workspace])
        }
        let (t, b, p, h) = (geo.steps, geo.batch, geo.stateSize, geo.hidden)
        let parts = packed.split(sizes: [t * b * p, b * p] + (kind == .lstm ? [b * h] : []))
        return (parts[0].reshape([t, b, p]), parts[1].reshape([b, p]), kind == .lstm ? parts[2].reshape([b, h]) : nil)
    }
}

/// The attributes of a recurrence: which cell, which direction, and which optional inputs are
/// present. Inputs are, in order: inputProjection (a table with tokens), weightHH, biasHH?,
/// weightHR?, h0, c0 (LSTM), mask?, tokens?, and for `recurrenceOutput`/`recurrenceBackward`
/// the workspace last.
struct RecurrenceSpec: Codable, Sendable, Equatable {
    let kind: RecurrenceKind
    let reverse: Bool
    let hasBias: Bool
    let hasProjection: Bool
    let hasMask: Bool
    let hasTokens: Bool

    init(kind: RecurrenceKind, reverse: Bool, hasBias: Bool, hasProjection: Bool, hasMask: Bool, hasTokens: Bool = false) {
        (self.kind, self.reverse, self.hasBias) = (kind, reverse, hasBias)
        (self.hasProjection, self.hasMask, self.hasTokens) = (hasProjection, hasMask, hasTokens)
    }

    private enum CodingKeys: String, CodingKey { case kind, reverse, hasBias, hasProjection, hasMask, hasTokens }

    /// Graphs saved before token inputs existed have no `hasTokens`.
    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(kind: try c.decode(RecurrenceKind.self, forKey: .kind), reverse: try c.decode(Bool.self, forKey: .reverse),
                  hasBias: try c.decode(Bool.self, forKey: .hasBias), hasProjection: try c.decode(Bool.self, forKey: .hasProjection),
                  hasMask: try c.decode(Bool.self, forKey: .hasMask),
                  hasTokens: try c.decodeIfPresent(Bool.self, forKey: .hasTokens) ?? false)
    }

    var biasIndex: Int? { hasBias ? 2 : nil }
    var projectionIndex: Int? { hasProjection ? 2 + (hasBias ? 1 : 0) : nil }
    var h0Index: Int { 2 + (hasBias ? 1 : 0) + (hasProjection ? 1 : 0) }
    var c0Index: Int? { kind == .lstm ? h0Index + 1 : nil }
    var maskIndex: Int? { hasMask ? h0Index + (kind == .lstm ? 2 : 1) : nil }
    var tokensIndex: Int? { hasTokens ? inputCount - 1 : nil }
    /// Inputs of `recurrence` (the others take the workspace after them).
    var inputCount: Int { h0Index + (kind == .lstm ? 2 : 1) + (hasMask ? 1 : 0) + (hasTokens ? 1 : 0) }
    /// The inputs that get gradients, in the order of `RecurrenceGeometry.gradientSizes`.
    var differentiableIndices: [Int] { (0..<inputCount).filter { $0 != maskIndex && $0 != tokensIndex } }

    /// The geometry of these inputs, trapping on misuse (the eager op and `forward`).
    func checkedGeometry(_ x: [Tensor]) -> RecurrenceGeometry {
        do {
            return try geometry(x.map(\.valueType))
        } catch {
            fatalError("[recurrence] \((error as? ShapeRuleError)?.message ?? "\(error)")")
        }
    }

    /// Checks the inputs' types (the first `inputCount`) and returns the geometry.
    func geometry(_ x: [Graph.ValueType]) throws -> RecurrenceGeometry {
        if x.count < inputCount { throw ShapeRuleError("takes \(inputCount) inputs, got \(x.count)") }
        let xp = x[0], w = x[1]
        try ShapeRules.float(xp, "input projection")
        for i in 1..<inputCount where i != tokensIndex && x[i].dtype != xp.dtype {
            throw ShapeRuleError("input \(i) has dtype \(x[i].dtype) but the input projection has \(xp.dtype)")
        }
        let (steps, batch, width): (Int, Int, Int)
        if let i = tokensIndex {
            try ShapeRules.integer(x[i], "tokens")
            try ShapeRules.rank(x[i], 2, "tokens [time, batch]")
            try ShapeRules.rank(xp, 2, "the input projection table [entries, gates x hidden]")
            if xp.shape[0] < 1 { throw ShapeRuleError("the input projection table has no rows") }
            (steps, batch, width) = (x[i].shape[0], x[i].shape[1], xp.shape[1])
        } else {
            try ShapeRules.rank(xp, 3, "the input projection [time, batch, gates x hidden]")
            (steps, batch, width) = (xp.shape[0], xp.shape[1], xp.shape[2])
        }
        try ShapeRules.rank(w, 2, "weightHH [gates x hidden, state]")
        let gates = kind.gateCount
        if width % gates != 0 || w.shape[0] != width {
            throw ShapeRuleError("the input projection has \(width) features and weightHH \(w.shape[0]) rows; a \(kind) needs \(gates) x hidden for both")
        }
        if steps < 1 { throw ShapeRuleError("the sequence has no time steps (input projection \(xp.shape))") }
        let hidden = width / gates, state = w.shape[1]
        if let i = biasIndex, x[i].shape != [width] {
            throw ShapeRuleError("biasHH has shape \(x[i].shape) but should be [\(width)]")
        }
        if let i = projectionIndex {
            if x[i].shape != [state, hidden] {
                throw ShapeRuleError("weightHR has shape \(x[i].shape) but should be [\(state), \(hidden)]")
            }
        } else if state != hidden {
            throw ShapeRuleError("weightHH has \(state) columns but the hidden size is \(hidden) (no projection)")
        }
        if x[h0Index].shape != [batch, state] {
            throw ShapeRuleError("h0 has shape \(x[h0Index].shape) but should be [\(batch), \(state)]")
        }
        if let i = c0Index, x[i].shape != [batch, hidden] {
            throw ShapeRuleError("c0 has shape \(x[i].shape) but should be [\(batch), \(hidden)]")
        }
        if let i = maskIndex, x[i].shape != [steps, batch] {
            throw ShapeRuleError("the mask has shape \(x[i].shape) but should be [\(steps), \(batch)]")
        }
        return RecurrenceGeometry(kind: kind, reverse: reverse, steps: steps, batch: batch, hidden: hidden,
                                  stateSize: state, projected: hasProjection, hasBias: hasBias,
                                  tableRows: hasTokens ? xp.shape[0] : 0)
    }
}

/// One of the three primitives of a recurrence, for the graph loader's checks: its attributes,
/// and where the recurrence's inputs start among its own (Backward's come after the gradient).
protocol RecurrencePart: Primitive {
    var spec: RecurrenceSpec { get }
    var inputOffset: Int { get }
}

/// The three primitives of a recurrence.
enum Recurrence {
    /// Every step's state, cell and gates (the workspace the backward reads), 1-D.
    struct Forward: RecurrencePart {
        static let name = "recurrence"
        let spec: RecurrenceSpec
        var inputOffset: Int { 0 }
        func forward(_ x: [Tensor]) -> Tensor {
            Recurrence.forward(spec, spec.checkedGeometry(x), x)
        }
        /// The workspace is read by `recurrenceOutput`, whose vjp gives the inputs' gradients.
        func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] { x.map { _ in nil } }
    }

    /// The outputs [T·B·P], final h [B·P] and (LSTM) final c [B·H], packed in one 1-D tensor.
    struct Output: RecurrencePart {
        static let name = "recurrenceOutput"
        let spec: RecurrenceSpec
        var inputOffset: Int { 0 }
        func forward(_ x: [Tensor]) -> Tensor {
            Recurrence.output(spec, spec.checkedGeometry(x), x)
        }
        func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] {
            let geo = spec.checkedGeometry(x)
            let packed = Tensor.apply(Backward(spec: spec), [g] + x)
            let pieces = packed.split(sizes: geo.gradientSizes(spec))
            var result = [Tensor?](repeating: nil, count: x.count)
            for (piece, i) in spec.differentiableIndices.enumerated() where x[i].requiresGrad {
                result[i] = pieces[piece].reshape(x[i].shape)
            }
            return result
        }
    }

    /// Every differentiable input's gradient, packed in one 1-D tensor in input order, from the
    /// gradient of `recurrenceOutput`'s packed output. Inputs: that gradient, then the inputs of
    /// `recurrenceOutput`.
    struct Backward: RecurrencePart {
        static let name = "recurrenceBackward"
        let spec: RecurrenceSpec
        var inputOffset: Int { 1 }
        func forward(_ x: [Tensor]) -> Tensor {
            let inputs = Array(x.dropFirst())
            return Recurrence.backward(spec, spec.checkedGeometry(inputs), x[0], inputs)
        }
        func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] {
            fatalError("[recurrence] second derivatives of a recurrence are not supported (its backward is a fused kernel)")
        }
    }

    // MARK: Kernel calls

    static func forward(_ spec: RecurrenceSpec, _ geo: RecurrenceGeometry, _ x: [Tensor]) -> Tensor {
        let c = x.prefix(spec.inputCount).map { $0.detached().contiguous() }
        let workspace = Tensor(uninitializedShape: [geo.workspaceCount], dtype: c[0].dtype)
        if c[0].dtype == .float32 {
            tokenRows(spec, geo, c) { RecurrentKernels.forward(geo, pointers(Float.self, spec, c, workspace, tokens: $0)) }
        } else {
            tokenRows(spec, geo, c) { RecurrentKernels.forward(geo, pointers(Double.self, spec, c, workspace, tokens: $0)) }
        }
        withExtendedLifetime(c) {}
        return workspace
    }

    static func output(_ spec: RecurrenceSpec, _ geo: RecurrenceGeometry, _ x: [Tensor]) -> Tensor {
        let c = x.map { $0.detached().contiguous() }
        let out = Tensor(uninitializedShape: [geo.outputCount], dtype: c[0].dtype)
        if c[0].dtype == .float32 {
            RecurrentKernels.output(geo, pointers(Float.self, spec, c, c[spec.inputCount]), out.basePointer(Float.self))
        } else {
            RecurrentKernels.output(geo, pointers(Double.self, spec, c, c[spec.inputCount]), out.basePointer(Double.self))
        }
        withExtendedLifetime(c) {}
        return out
    }

    static func backward(_ spec: RecurrenceSpec, _ geo: RecurrenceGeometry, _ g: Tensor, _ x: [Tensor]) -> Tensor {
        let c = x.map { $0.detached().contiguous() }, gc = g.detached().contiguous()
        if gc.shape != [geo.outputCount] {
            fatalError("[recurrence] the output gradient has shape \(gc.shape), expected [\(geo.outputCount)]")
        }
        let out = Tensor(uninitializedShape: [geo.gradientSizes(spec).reduce(0, +)], dtype: c[0].dtype)
        if c[0].dtype == .float32 {
            tokenRows(spec, geo, c) {
                RecurrentKernels.backward(geo, pointers(Float.self, spec, c, c[spec.inputCount], tokens: $0),
                                          gc.basePointer(Float.self), out.basePointer(Float.self))
            }
        } else {
            tokenRows(spec, geo, c) {
                RecurrentKernels.backward(geo, pointers(Double.self, spec, c, c[spec.inputCount], tokens: $0),
                                          gc.basePointer(Double.self), out.basePointer(Double.self))
            }
        }
        withExtendedLifetime((c, gc)) {}
        return out
    }

    /// Runs `body` with the table row of every (t, b), checked against the table, when the
    /// inputs are tokens; else with nil.
    private static func tokenRows(_ spec: RecurrenceSpec, _ geo: RecurrenceGeometry, _ c: [Tensor],
                                  _ body: (UnsafePointer<Int>?) -> Void) {
        guard let i = spec.tokensIndex else { return body(nil) }
        CopyOps.positions(c[i], size: geo.tableRows, axis: 0, op: "recurrence").withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    private static func pointers<T: FloatElement>(_: T.Type, _ spec: RecurrenceSpec, _ c: [Tensor],
                                                  _ workspace: Tensor, tokens: UnsafePointer<Int>? = nil) -> RecurrencePointers<T> {
        RecurrencePointers(
            xp: c[0].basePointer(T.self), wHh: c[1].basePointer(T.self),
            bHh: spec.biasIndex.map { UnsafePointer(c[$0].basePointer(T.self)) },
            wHr: spec.projectionIndex.map { UnsafePointer(c[$0].basePointer(T.self)) },
            h0: c[spec.h0Index].basePointer(T.self),
            c0: spec.c0Index.map { UnsafePointer(c[$0].basePointer(T.self)) },
            mask: spec.maskIndex.map { UnsafePointer(c[$0].basePointer(T.self)) },
            workspace: workspace.basePointer(T.self), tokens: tokens)
    }
}

extension RecurrenceGeometry {
    /// Sizes of the packed gradients, in input order (mask excluded).
    func gradientSizes(_ spec: RecurrenceSpec) -> [Int] {
        var sizes = [(tableRows > 0 ? tableRows : steps * batch) * gateWidth, gateWidth * stateSize]
        if hasBias { sizes.append(gateWidth) }
        if projected { sizes.append(stateSize * hidden) }
        sizes.append(batch * stateSize)
        if kind == .lstm { sizes.append(batch * hidden) }
        return sizes
    }
}

private extension Tensor {
    var valueType: Graph.ValueType { Graph.ValueType(shape: shape, dtype: dtype) }
}

// MARK: Shape rules (see Primitive.outputType)

extension Recurrence.Forward {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, spec.inputCount...spec.inputCount)
        return Graph.ValueType(shape: [try spec.geometry(x).workspaceCount], dtype: x[0].dtype)
    }
}

extension Recurrence.Output {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, (spec.inputCount + 1)...(spec.inputCount + 1))
        let geo = try spec.geometry(x)
        if x.last! != Graph.ValueType(shape: [geo.workspaceCount], dtype: x[0].dtype) {
            throw ShapeRuleError("the workspace is \(x.last!), expected \(x[0].dtype)[\(geo.workspaceCount)]")
        }
        return Graph.ValueType(shape: [geo.outputCount], dtype: x[0].dtype)
    }
}

extension Recurrence.Backward {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, (spec.inputCount + 2)...(spec.inputCount + 2))
        let inputs = Array(x.dropFirst())
        let geo = try spec.geometry(inputs)
        if x[0] != Graph.ValueType(shape: [geo.outputCount], dtype: x[1].dtype) {
            throw ShapeRuleError("the output gradient is \(x[0]), expected \(x[1].dtype)[\(geo.outputCount)]")
        }
        if inputs.last! != Graph.ValueType(shape: [geo.workspaceCount], dtype: x[1].dtype) {
            throw ShapeRuleError("the workspace is \(inputs.last!), expected \(x[1].dtype)[\(geo.workspaceCount)]")
        }
        return Graph.ValueType(shape: [geo.gradientSizes(spec).reduce(0, +)], dtype: x[1].dtype)
    }
}
