import Testing
@testable import MyelinNN
import MyelinCore
import MyelinTestSupport

/// RNN, LSTM, GRU and their cells against PyTorch (Fixtures/recurrent.json from
/// generators/gen_recurrent.py, float64): PyTorch's state dict loaded unchanged gives the same
/// outputs, final states, and input, state and parameter gradients.
@Suite struct RecurrentLayerTests {
    static func names(_ c: FixtureCase) -> [String] {
        guard case .array(let a)? = c.params["names"] else { fatalError("fixture \(c.name): no names") }
        return a.map { if case .string(let s) = $0 { return s } else { fatalError("fixture \(c.name): bad name") } }
    }

    static func makeLayer(_ c: FixtureCase) -> RNNBase {
        let (i, h, l) = (c.int("inputSize"), c.int("hiddenSize"), c.int("numLayers"))
        let (bias, bf, bi) = (c.bool("bias"), c.bool("batchFirst"), c.bool("bidirectional"))
        // Its own generator: drawing from Random.global would disturb a trace running in parallel.
        let gen = RandomGenerator(seed: 1)
        switch c.op {
        case "lstm":
            return LSTM(inputSize: i, hiddenSize: h, numLayers: l, bias: bias, batchFirst: bf, bidirectional: bi,
                        projSize: c.int("projSize"), generator: gen)
        case "gru":
            return GRU(inputSize: i, hiddenSize: h, numLayers: l, bias: bias, batchFirst: bf, bidirectional: bi, generator: gen)
        case "rnnTanh", "rnnRelu":
            return RNN(inputSize: i, hiddenSize: h, numLayers: l, nonlinearity: c.op == "rnnTanh" ? .tanh : .relu,
                       bias: bias, batchFirst: bf, bidirectional: bi, generator: gen)
        default:
            fatalError("no layer for fixture op \(c.op)")
        }
    }

    /// Loads the fixture's parameters by their PyTorch names into `module`, in float64.
    static func load(_ module: Module, _ c: FixtureCase, names: [String]) throws {
        module.to(.float64)
        var dict: [String: Tensor] = [:]
        for (k, name) in names.enumerated() { dict[name] = c.inputs[1 + k].tensor }
        _ = try module.loadStateDict(dict)
        #expect(module.namedParameters().map { Module.stateName($0.0) } == names, "\(c.name): parameter names and order")
    }

    @Test(arguments: Fixtures.load("recurrent").filter { !$0.op.hasSuffix("Cell") })
    func layerMatchesPyTorch(_ c: FixtureCase) throws {
        let layer = Self.makeLayer(c)
        let names = Self.names(c)
        try Self.load(layer, c, names: names)
        let lstm = c.op == "lstm"
        var next = 1 + names.count
        let x = c.inputs[0].tensor.requiringGrad()
        var h0: Tensor?, c0: Tensor?
        if c.bool("hasState") {
            h0 = c.inputs[next].tensor.requiringGrad()
            next += 1
            if lstm {
                c0 = c.inputs[next].tensor.requiringGrad()
                next += 1
            }
        }
        let lengths = c.ints("lengths")
        var output: Tensor, hn: Tensor, cn: Tensor?
        switch layer {
        case let l as LSTM:
            let state = h0.map { LSTMState(h: $0, c: c0!) }
            let r = lengths.map { l(x, lengths: $0, state: state) } ?? l(x, state: state)
            (output, hn, cn) = (r.output, r.state.h, r.state.c)
        case let l as GRU:
            let r = lengths.map { l(x, lengths: $0, state: h0) } ?? l(x, state: h0)
            (output, hn) = (r.output, r.state)
        case let l as RNN:
            let r = lengths.map { l(x, lengths: $0, state: h0) } ?? l(x, state: h0)
            (output, hn) = (r.output, r.state)
        default:
            fatalError("unexpected layer")
        }
        var loss = (output * c.inputs[next].tensor).sum() + (hn * c.inputs[next + 1].tensor).sum()
        if let cn { loss = loss + (cn * c.inputs[next + 2].tensor).sum() }
        loss.backward()
        var actual = [output.detached(), hn.detached()] + (cn.map { [$0.detached()] } ?? [])
        actual.append(x.grad!)
        if let h0 { actual.append(h0.grad!) }
        if let c0 { actual.append(c0.grad!) }
        let params = Dictionary(uniqueKeysWithValues: layer.namedParameters().map { (Module.stateName($0.0), $0.1) })
        actual += names.map { params[$0]!.grad! }
        #expect(actual.count == c.expected.count, "\(c.name): \(actual.count) results for \(c.expected.count)")
        for (i, (a, e)) in zip(actual, c.expected).enumerated() {
            expectClose(a, e.tensor, rtol: c.rtol, atol: c.atol, "\(c.name) result \(i)")
        }
    }

    @Test(arguments: Fixtures.load("recurrent").filter { $0.op.hasSuffix("Cell") })
    func cellMatchesPyTorch(_ c: FixtureCase) throws {
        let (i, h, bias) = (c.int("inputSize"), c.int("hiddenSize"), c.bool("bias"))
        let names = Self.names(c)
        let x = c.inputs[0].tensor.requiringGrad()
        let hx = c.inputs[1 + names.count].tensor.requiringGrad()
        var actual: [Tensor] = []
        var grads: [Tensor] = []
        let module: Module
        switch c.op {
        case "lstmCell":
            let cell = LSTMCell(inputSize: i, hiddenSize: h, bias: bias, generator: RandomGenerator(seed: 1))
            try Self.load(cell, c, names: names)
            let cx = c.inputs[2 + names.count].tensor.requiringGrad()
            let (out, state) = cell.step(x, state: LSTMState(h: hx, c: cx))
            #expect(out.detached().doubles == state.h.detached().doubles)
            ((state.h * c.inputs[3 + names.count].tensor).sum() + (state.c * c.inputs[4 + names.count].tensor).sum()).backward()
            actual = [state.h.detached(), state.c.detached()]
            grads = [x.grad!, hx.grad!, cx.grad!]
            module = cell
        case "gruCell":
            let cell = GRUCell(inputSize: i, hiddenSize: h, bias: bias, generator: RandomGenerator(seed: 1))
            try Self.load(cell, c, names: names)
            let (out, _) = cell.step(x, state: hx)
            (out * c.inputs[2 + names.count].tensor).sum().backward()
            (actual, grads, module) = ([out.detached()], [x.grad!, hx.grad!], cell)
        default:
            let cell = RNNCell(inputSize: i, hiddenSize: h, bias: bias,
                               nonlinearity: c.string("nonlinearity") == "relu" ? .relu : .tanh, generator: RandomGenerator(seed: 1))
            try Self.load(cell, c, names: names)
            let (out, _) = cell.step(x, state: hx)
            (out * c.inputs[2 + names.count].tensor).sum().backward()
            (actual, grads, module) = ([out.detached()], [x.grad!, hx.grad!], cell)
        }
        let params = Dictionary(uniqueKeysWithValues: module.namedParameters().map { (Module.stateName($0.0), $0.1) })
        actual += grads + names.map { params[$0]!.grad! }
        #expect(actual.count == c.expected.count, "\(c.name): \(actual.count) results for \(c.expected.count)")
        for (k, (a, e)) in zip(actual, c.expected).enumerated() {
            expectClose(a, e.tensor, rtol: c.rtol, atol: c.atol, "\(c.name) result \(k)")
        }
    }
}
