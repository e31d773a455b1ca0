import Foundation
import Testing
@testable import MyelinNN
import MyelinCore
import MyelinTestSupport

/// Optimisers against PyTorch (Fixtures/optim.json from generators/gen_optim.py: 100 steps on a
/// fixed problem, final parameters compared), gradient clipping, then the optimiser API: groups,
/// zeroGrad, frozen parameters, state export/import.
@Suite struct OptimizerTests {
    /// The generator's problem: loss ((x @ w + b).tanh() - y)^2 .mean().
    static func loss(_ x: Tensor, _ y: Tensor, _ w: Parameter, _ b: Parameter) -> Tensor {
        ((x.matmul(w.value) + b.value).tanh() - y).square().mean()
    }

    static func options(_ v: JSONValue?) -> [String: JSONValue] {
        guard case .object(let o)? = v else { return [:] }
        return o
    }

    static func num(_ o: [String: JSONValue], _ k: String) -> Double? {
        if case .number(let v)? = o[k] { return v }
        return nil
    }

    static func flag(_ o: [String: JSONValue], _ k: String) -> Bool? {
        if case .bool(let v)? = o[k] { return v }
        return nil
    }

    static func betas(_ o: [String: JSONValue]) -> (Double, Double)? {
        guard case .array(let a)? = o["betas"], case .number(let b1) = a[0], case .number(let b2) = a[1] else { return nil }
        return (b1, b2)
    }

    /// The optimiser named by a fixture, one group per parameter list: each group's options are
    /// the fixture's options (PyTorch keyword names), overridden by that group's own when given,
    /// over PyTorch's defaults.
    static func optimizer(_ name: String, _ groups: [[Parameter]], _ o: [String: JSONValue],
                          groupOptions: [[String: JSONValue]] = []) -> Optimizer {
        func make<Options>(_ options: ([String: JSONValue]) -> Options) -> [ParameterGroup<Options>] {
            groups.indices.map { i in
                ParameterGroup(groups[i], options: options(o.merging(i < groupOptions.count ? groupOptions[i] : [:]) { $1 }))
            }
        }
        func wd(_ o: [String: JSONValue], _ d: Double) -> Double { num(o, "weight_decay") ?? d }
        func maximize(_ o: [String: JSONValue]) -> Bool { flag(o, "maximize") ?? false }
        switch name {
        case "sgd":
            return SGD(groups: make { o in
                SGD.Options(lr: num(o, "lr") ?? 1e-3, momentum: num(o, "momentum") ?? 0, dampening: num(o, "dampening") ?? 0,
                            weightDecay: wd(o, 0), nesterov: flag(o, "nesterov") ?? false, maximize: maximize(o))
            })
        case "adam":
            return Adam(groups: make { o in
                Adam.Options(lr: num(o, "lr") ?? 1e-3, betas: betas(o) ?? (0.9, 0.999), eps: num(o, "eps") ?? 1e-8,
                             weightDecay: wd(o, 0), amsgrad: flag(o, "amsgrad") ?? false, maximize: maximize(o))
            })
        case "adamw":
            return AdamW(groups: make { o in
                AdamW.Options(lr: num(o, "lr") ?? 1e-3, betas: betas(o) ?? (0.9, 0.999), eps: num(o, "eps") ?? 1e-8,
                              weightDecay: wd(o, 0.01), amsgrad: flag(o, "amsgrad") ?? false, maximize: maximize(o))
            })
        case "adagrad":
            return Adagrad(groups: make { o in
                Adagrad.Options(lr: num(o, "lr") ?? 1e-2, lrDecay: num(o, "lr_decay") ?? 0, weightDecay: wd(o, 0),
                                initialAccumulatorValue: num(o, "initial_accumulator_value") ?? 0, eps: num(o, "eps") ?? 1e-10,
                                maximize: maximize(o))
            })
        case "adadelta":
            return Adadelta(groups: make { o in
                Adadelta.Options(lr: num(o, "lr") ?? 1.0, rho: num(o, "rho") ?? 0.9, eps: num(o, "eps") ?? 1e-6,
                                 weightDecay: wd(o, 0), maximize: maximize(o))
            })
        case "rmsprop":
            return RMSProp(groups: make { o in
                RMSProp.Options(lr: num(o, "lr") ?? 1e-2, alpha: num(o, "alpha") ?? 0.99, eps: num(o, "eps") ?? 1e-8,
                                weightDecay: wd(o, 0), momentum: num(o, "momentum") ?? 0, centered: flag(o, "centered") ?? false,
                                maximize: maximize(o))
            })
        default: fatalError("unknown optimiser \(name)")
        }
    }

    /// The bookkeeping side of an optimiser built by `optimizer(_:_:_:)`: its per-parameter state.
    static func state(_ opt: Optimizer, _ p: Parameter) -> ParameterState? {
        switch opt {
        case let o as SGD: return o.state(for: p)
        case let o as Adam: return o.state(for: p)
        case let o as AdamW: return o.state(for: p)
        case let o as Adagrad: return o.state(for: p)
        case let o as Adadelta: return o.state(for: p)
        case let o as RMSProp: return o.state(for: p)
        default: fatalError("unknown optimiser \(opt)")
        }
    }

    /// The fixture's problem: x, y and fresh parameters w, b at their starting values.
    static func problem(_ dtype: DType = .float32) -> (Tensor, Tensor, Parameter, Parameter) {
        let c = Fixtures.load("optim").first { $0.op == "problem" }!
        return (c.inputs[0].tensor.to(dtype), c.inputs[1].tensor.to(dtype),
                Parameter(c.inputs[2].tensor.to(dtype)), Parameter(c.inputs[3].tensor.to(dtype)))
    }

    /// The problem and an optimiser over w and b set up as the case says.
    static func setUp(_ c: FixtureCase) -> (Tensor, Tensor, Parameter, Parameter, Optimizer) {
        let (x, y, w, b) = problem(DType(rawValue: c.string("dtype") ?? "float32")!)
        let o = options(c.params["options"])
        if case .array(let gs)? = c.params["groups"] {
            return (x, y, w, b, optimizer(c.string("optimizer")!, [[w], [b]], o, groupOptions: [options(gs[0]), options(gs[1])]))
        }
        return (x, y, w, b, optimizer(c.string("optimizer")!, [[w, b]], o))
    }

    static func train(_ opt: Optimizer, _ x: Tensor, _ y: Tensor, _ w: Parameter, _ b: Parameter, steps: Int,
                      clip: Double? = nil) {
        for _ in 0..<steps {
            opt.zeroGrad()
            loss(x, y, w, b).backward()
            if let clip { clipGradNorm([w, b], maxNorm: clip) }
            opt.step()
        }
    }

    @Test(arguments: Fixtures.load("optim").filter { $0.op == "train" })
    func matchesPyTorchAfter100Steps(_ c: FixtureCase) {
        let (x, y, w, b, opt) = Self.setUp(c)
        Self.train(opt, x, y, w, b, steps: 100, clip: c.has("clip") ? c.double("clip") : nil)
        expectClose(w.value, c.expected[0].tensor, rtol: c.rtol, atol: c.atol, "\(c.name) w")
        expectClose(b.value, c.expected[1].tensor, rtol: c.rtol, atol: c.atol, "\(c.name) b")
    }

    // MARK: Gradient clipping

    static func gradsFrom(_ c: FixtureCase) -> [Parameter] {
        c.inputs.map { t in
            let p = Parameter(Tensor.zeros(t.shape))
            p.grad = t.tensor
            return p
        }
    }

    @Test(arguments: Fixtures.load("optim").filter { $0.op == "clip_norm" })
    func clipGradNormMatchesPyTorch(_ c: FixtureCase) {
        let ps = Self.gradsFrom(c)
        let normType: Double = c.string("norm_type") == "inf" ? .infinity : c.double("norm_type")
        let total = clipGradNorm(ps, maxNorm: c.double("max_norm"), normType: normType)
        let expected = c.expected[0].data[0]
        #expect(abs(total - expected) <= 1e-5 * abs(expected), "\(c.name): total norm \(total) vs \(expected)")
        expectClose(ps[0].grad!, c.expected[1].tensor, rtol: c.rtol, atol: c.atol, "\(c.name) grad 0")
        expectClose(ps[1].grad!, c.expected[2].tensor, rtol: c.rtol, atol: c.atol, "\(c.name) grad 1")
    }

    @Test func clipGradValueMatchesPyTorch() {
        let c = Fixtures.load("optim").first { $0.op == "clip_value" }!
        let ps = Self.gradsFrom(c)
        clipGradValue(ps, clipValue: c.double("clip_value"))
        expectClose(ps[0].grad!, c.expected[0].tensor, rtol: 0, atol: 0, "grad 0")
        expectClose(ps[1].grad!, c.expected[1].tensor, rtol: 0, atol: 0, "grad 1")
    }

    @Test func clippingSkipsParametersWithoutGradientsAndLeavesOthersUnshared() {
        let a = Parameter(Tensor.zeros([2])), frozen = Parameter(Tensor.zeros([2]))
        let g = Tensor([3.0, 4.0])
        a.grad = g
        let total = clipGradNorm([a, frozen], maxNorm: 1)
        #expect(abs(total - 5) < 1e-6)
        #expect(frozen.grad == nil)
        #expect(g.floats == [3, 4], "clipping must not write through to a tensor sharing the gradient's memory")
        expectClose(a.grad!, Tensor([3.0 / (5 + 1e-6), 4.0 / (5 + 1e-6)]), "clipped")
        #expect(clipGradNorm([frozen], maxNorm: 1) == 0)
    }

    // MARK: API

    @Test func zeroGradClearsEveryGradient() {
        let (x, y, w, b) = Self.problem()
        let opt = SGD(parameters: [w, b], lr: 0.1)
        Self.loss(x, y, w, b).backward()
        #expect(w.grad != nil && b.grad != nil)
        opt.zeroGrad()
        #expect(w.grad == nil && b.grad == nil)
        let before = w.value.floats
        opt.step()   // nothing to apply
        #expect(w.value.floats == before)
    }

    /// The step writes into the parameter's own memory (no copy), even while the loss that
    /// produced the gradient is still alive, and keeps its autograd identity.
    @Test func stepUpdatesInPlace() {
        let (x, y, w, b) = Self.problem()
        let opt = Adam(parameters: [w, b], lr: 0.01)
        Self.train(opt, x, y, w, b, steps: 1)
        let loss = Self.loss(x, y, w, b)
        loss.backward()
        let before = w.value.withUnsafeBufferPointer(as: Float.self) { $0.baseAddress! }
        let values = w.value.floats
        opt.step()
        let after = w.value.withUnsafeBufferPointer(as: Float.self) { $0.baseAddress! }
        #expect(before == after, "the step copied the parameter")
        #expect(w.value.floats != values)
        #expect(w.requiresGrad && w.value.isLeaf)
        #expect(loss.item() > 0)
    }

    @Test(arguments: ["sgd", "adam", "adamw", "adagrad", "adadelta", "rmsprop"])
    func frozenParametersAreUntouched(_ name: String) {
        let (x, y, w, b) = Self.problem()
        b.requiresGrad = false
        let b0 = b.value.floats, w0 = w.value.floats
        let opt = Self.optimizer(name, [[w, b]], ["lr": .number(0.05), "momentum": .number(0.9)]
                                    .filter { name == "sgd" || name == "rmsprop" || $0.key == "lr" })
        Self.train(opt, x, y, w, b, steps: 3)
        #expect(b.value.floats == b0)
        #expect(b.grad == nil)
        #expect(w.value.floats != w0)
        #expect(Self.state(opt, b) == nil, "a parameter without gradients gets no state")
        #expect(Self.state(opt, w)?.step == 3)
    }

    @Test func learningRatesPerGroup() {
        let (x, y, w, b) = Self.problem()
        let base = SGD.Options(lr: 0.1, momentum: 0.9)
        let opt = SGD(groups: [ParameterGroup([w], options: base),
                               ParameterGroup([b], options: base.with { $0.lr = 0.5; $0.momentum = 0.5 })])
        #expect(opt.lr == 0.1)
        #expect(opt.learningRates == [0.1, 0.5])
        #expect(opt.groups[1].momentum == 0.5 && opt.groups[0].momentum == 0.9)
        #expect(opt.groups[0].dampening == 0 && opt.groups[0].nesterov == false, "unset options take the defaults")
        #expect(opt.momentums == [0.9, 0.5])
        opt.lr = 0.2
        #expect(opt.learningRates == [0.2, 0.5])
        opt.groups[1].lr = 0.3
        #expect(opt.learningRates == [0.2, 0.3])
        opt.learningRates = [0.01, 0.02]
        #expect(opt.learningRates == [0.01, 0.02])
        #expect(opt.groups[1].options.lr == 0.02)
        #expect(opt.parameters.count == 2)

        // A zero rate freezes its group; the other still moves.
        opt.learningRates = [0.1, 0]
        let b0 = b.value.floats, w0 = w.value.floats
        Self.train(opt, x, y, w, b, steps: 2)
        #expect(b.value.floats == b0)
        #expect(w.value.floats != w0)

        // A group appended later carries its own options.
        let extra = Parameter(Tensor.ones([2]))
        opt.addParameterGroup(ParameterGroup([extra], options: base))
        #expect(opt.groups[2].lr == 0.1 && opt.groups[2].momentum == 0.9)
        #expect(opt.learningRates == [0.1, 0, 0.1])
    }

    @Test func defaultsFollowPyTorch() {
        let p = [Parameter(Tensor.zeros([2]))]
        #expect(SGD(parameters: p).lr == 1e-3)
        #expect(Adam(parameters: p).groups[0].betas == (0.9, 0.999))
        #expect(Adam(parameters: p).groups[0].weightDecay == 0)
        #expect(AdamW(parameters: p).groups[0].weightDecay == 0.01)
        #expect(Adagrad(parameters: p).lr == 1e-2 && Adagrad(parameters: p).groups[0].eps == 1e-10)
        #expect(Adadelta(parameters: p).lr == 1.0 && Adadelta(parameters: p).groups[0].rho == 0.9)
        #expect(RMSProp(parameters: p).lr == 1e-2 && RMSProp(parameters: p).groups[0].alpha == 0.99)
        #expect(Adagrad(parameters: p).momentums == [nil] && Adam(parameters: p).momentums == [0.9])
    }

    /// The state of each optimiser names its options as PyTorch does (and as checkpoints written
    /// before options became one type per optimiser named them), so old checkpoints still load.
    @Test func exportedOptionNamesArePyTorchs() {
        func names(_ opt: Optimizer) -> Set<String> {
            Set(opt.stateDict().scalars.keys.filter { $0.hasPrefix("groups.0.") }.map { String($0.dropFirst(9)) })
        }
        let p = [Parameter(Tensor.zeros([2]))]
        #expect(names(SGD(parameters: p)) == ["count", "lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize"])
        #expect(names(Adam(parameters: p)) == ["count", "lr", "beta1", "beta2", "eps", "weight_decay", "amsgrad", "maximize"])
        #expect(names(AdamW(parameters: p)) == ["count", "lr", "beta1", "beta2", "eps", "weight_decay", "amsgrad", "maximize"])
        #expect(names(Adagrad(parameters: p)) == ["count", "lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps", "maximize"])
        #expect(names(Adadelta(parameters: p)) == ["count", "lr", "rho", "eps", "weight_decay", "maximize"])
        #expect(names(RMSProp(parameters: p)) == ["count", "lr", "alpha", "eps", "weight_decay", "momentum", "centered", "maximize"])
        let adam = Adam(parameters: p, betas: (0.8, 0.95), amsgrad: true).stateDict().scalars
        #expect(adam["groups.0.beta1"] == 0.8 && adam["groups.0.beta2"] == 0.95 && adam["groups.0.amsgrad"] == 1)
    }

    // MARK: State export and import

    static let resumeCases: [(String, [String: JSONValue])] = [
        ("sgd", ["lr": .number(0.05), "momentum": .number(0.9), "nesterov": .bool(true)]),
        ("adam", ["lr": .number(0.01), "amsgrad": .bool(true), "weight_decay": .number(0.01)]),
        ("adamw", ["lr": .number(0.01)]),
        ("adagrad", ["lr": .number(0.1), "lr_decay": .number(0.01), "initial_accumulator_value": .number(0.1)]),
        ("adadelta", [:]),
        ("rmsprop", ["lr": .number(0.01), "momentum": .number(0.5), "centered": .bool(true)]),
    ]

    /// 50 steps, export (through JSON), a new optimiser on fresh parameters holding the same
    /// values, import, 50 more: exactly the parameters of 100 straight steps, in float32 and float64.
    @Test(arguments: resumeCases.map(\.0), [DType.float32, .float64])
    func exportImportResumesExactly(_ name: String, _ dtype: DType) throws {
        let o = Self.resumeCases.first { $0.0 == name }!.1
        let (x, y, w, b) = Self.problem(dtype)
        let w1 = Parameter(w.value), b1 = Parameter(b.value)
        let straight = Self.optimizer(name, [[w, b]], o)
        Self.train(straight, x, y, w, b, steps: 100)

        let first = Self.optimizer(name, [[w1, b1]], o)
        Self.train(first, x, y, w1, b1, steps: 50)
        let saved = first.stateDict()
        #expect(saved.scalars["state.0.step"] == 50)
        let json = try JSONEncoder().encode(saved)
        let decoded = try JSONDecoder().decode(OptimizerState.self, from: json)

        let w2 = Parameter(w1.value.contiguous()), b2 = Parameter(b1.value.contiguous())
        let second = Self.optimizer(name, [[w2, b2]], o)
        try second.load(decoded)
        Self.train(second, x, y, w2, b2, steps: 50)
        #expect(w2.value.doubles == w.value.doubles, "\(name) \(dtype): w after resume")
        #expect(b2.value.doubles == b.value.doubles, "\(name) \(dtype): b after resume")
        #expect(w2.value.dtype == dtype)
    }

    @Test func stateDictIsASnapshotAndCarriesGroupOptions() throws {
        let (x, y, w, b) = Self.problem()
        let base = Adam.Options(lr: 0.01)
        let opt = Adam(groups: [ParameterGroup([w], options: base.with { $0.lr = 0.02 }),
                                ParameterGroup([b], options: base.with { $0.weightDecay = 0.1 })])
        Self.train(opt, x, y, w, b, steps: 3)
        let saved = opt.stateDict()
        #expect(Set(saved.tensors.keys) == ["state.0.exp_avg", "state.0.exp_avg_sq", "state.1.exp_avg", "state.1.exp_avg_sq"])
        #expect(saved.scalars["groups.0.lr"] == 0.02 && saved.scalars["groups.1.lr"] == 0.01)
        #expect(saved.scalars["groups.1.weight_decay"] == 0.1 && saved.scalars["state.1.step"] == 3)
        let m = saved.tensors["state.0.exp_avg"]!.floats
        Self.train(opt, x, y, w, b, steps: 2)
        #expect(saved.tensors["state.0.exp_avg"]!.floats == m, "later steps must not change an exported state")
        #expect(opt.stateDict().tensors["state.0.exp_avg"]!.floats != m)

        // Loading restores the learning rates too.
        let other = Adam(groups: [ParameterGroup([w], options: .init(lr: 0.5)), ParameterGroup([b], options: .init(lr: 0.5))])
        try other.load(saved)
        #expect(other.learningRates == [0.02, 0.01] && other.groups[1].weightDecay == 0.1)
    }

    // MARK: Errors

    @Test func misuseTrapsWithMessages() async {
        // Dense layers not yet built: an optimiser over nothing would train nothing, silently.
        await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let model = Sequential { Dense(4, activation: .relu); Dense(1) }
            _ = Adam(parameters: model.parameters(), lr: 0.1)
        }.map { r in
            #expect(String(decoding: r.standardErrorContent, as: UTF8.self).contains("[adam] got an empty parameter list; a model of Dense layers"))
        }
        await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Adam(parameters: [Parameter(Tensor.zeros([2]))], lr: -1)
        }.map { r in
            #expect(String(decoding: r.standardErrorContent, as: UTF8.self).contains("[adam] group 0: invalid learning rate -1.0"))
        }
        await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Adam(parameters: [Parameter(Tensor.zeros([2]))], betas: (1.0, 0.999))
        }.map { r in
            #expect(String(decoding: r.standardErrorContent, as: UTF8.self).contains("[adam] group 0: invalid beta1 1.0"))
        }
        await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = SGD(parameters: [Parameter(Tensor.zeros([2]))], lr: 0.1, nesterov: true)
        }.map { r in
            #expect(String(decoding: r.standardErrorContent, as: UTF8.self).contains("[sgd] group 0: Nesterov momentum needs momentum > 0"))
        }
        await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let p = Parameter(Tensor.zeros([2]))
            _ = SGD(groups: [ParameterGroup([p], options: .init()), ParameterGroup([p], options: .init())])
        }.map { r in
            #expect(String(decoding: r.standardErrorContent, as: UTF8.self).contains("[sgd] a parameter of shape [2] appears twice"))
        }
        await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = RMSProp(groups: [ParameterGroup([Parameter(Tensor.zeros([2]))], options: .init()),
                                 ParameterGroup([Parameter(Tensor.zeros([2]))], options: .init(alpha: -0.5))])
        }.map { r in
            #expect(String(decoding: r.standardErrorContent, as: UTF8.self).contains("[rmsprop] group 1: invalid alpha -0.5 (must be >= 0)"))
        }
    }

    /// Loading a state that does not fit throws one error listing every problem with the numbers,
    /// and leaves the optimiser as it was.
    @Test func loadingAStateThatDoesNotFitThrowsAndChangesNothing() throws {
        let (x, y, w, b) = Self.problem()
        let opt = Adam(parameters: [w, b], lr: 0.01)
        Self.train(opt, x, y, w, b, steps: 2)
        let good = opt.stateDict()
        func problems(_ edit: (inout OptimizerState) -> Void, into target: Optimizer? = nil) -> String {
            var s = good
            edit(&s)
            do {
                try (target ?? opt).load(s)
                return ""
            } catch let e as OptimizerStateError {
                return e.description
            } catch {
                return "unexpected \(error)"
            }
        }
        #expect(problems { _ in } == "")
        #expect(problems({ _ in }, into: Adam(groups: [ParameterGroup([w], options: .init()), ParameterGroup([b], options: .init())]))
                == "[Adam.load] 1 parameter groups in the saved state, 2 in the optimiser")
        #expect(problems({ _ in }, into: Adam(parameters: [Parameter(Tensor.zeros([4, 2])), b]))
                == "[Adam.load] state.0.exp_avg has shape [3, 4], parameter 0 [4, 2]; state.0.exp_avg_sq has shape [3, 4], parameter 0 [4, 2]")
        #expect(problems({ _ in }, into: Adam(parameters: [w])) == "[Adam.load] group 0 has 2 parameters in the saved state, 1 in the optimiser; unexpected entries state.1.exp_avg, state.1.exp_avg_sq, state.1.step")
        #expect(problems { $0.scalars["groups.0.eps"] = nil; $0.scalars["groups.0.rho"] = 0.9 }
                == "[Adam.load] group 0 has options this optimiser does not use: rho; group 0 lacks options eps")
        #expect(problems { $0.scalars["state.1.step"] = 2.5 } == "[Adam.load] parameter 1 has a step count of 2.5, not a whole number >= 0")
        #expect(problems { $0.tensors["state.1.exp_avg"] = Tensor.zeros([4], dtype: .float64) }
                == "[Adam.load] state.1.exp_avg has dtype float64, parameter 1 float32")
        #expect(problems { $0.scalars["state.1.step"] = nil }
                == "[Adam.load] state.1.exp_avg has no step count state.1.step; state.1.exp_avg_sq has no step count state.1.step")
        #expect(problems { $0.scalars["groups.0.lr"] = 0.5; $0.tensors["junk"] = Tensor.zeros([1]) }
                == "[Adam.load] unexpected entries junk")
        // Nothing was changed by the refused loads (the learning rate edit above included).
        #expect(opt.lr == 0.01)
        let now = opt.stateDict()
        #expect(now.scalars == good.scalars)
        #expect(now.tensors.mapValues(\.doubles) == good.tensors.mapValues(\.doubles))
    }
}

@Suite struct AdamKernelTests {
    @Test(arguments: [1, 7, 8, 13, 64, 1001])
    func vectorKernelIsBitForBitTheScalarFormula(n: Int) {
        let gen = RandomGenerator(seed: UInt64(n))
        let scale = Tensor.uniform([n], low: -6, high: 2, generator: gen).exp()
        var p = (Tensor.randn([n], generator: gen) * scale).floats
        let g = (Tensor.randn([n], generator: gen) * scale).floats
        var m = (Tensor.randn([n], generator: gen) * scale * 0.1).floats
        var v = (Tensor.randn([n], generator: gen) * scale * 0.1).square().floats
        var (pRef, mRef, vRef) = (p, m, v)
        let step = 3, lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8
        var pt = Tensor(shape: [n], scalars: p), mt = Tensor(shape: [n], scalars: m), vt = Tensor(shape: [n], scalars: v)
        var none: Tensor? = nil
        pt.adamUpdate(gradient: Tensor(shape: [n], scalars: g), expAvg: &mt, expAvgSq: &vt, maxExpAvgSq: &none, step: step,
                      lr: lr, beta1: beta1, beta2: beta2, eps: eps)
        (p, m, v) = (pt.floats, mt.floats, vt.floats)
        // The formula of PyTorch's _single_tensor_adam, one rounding per operation.
        let negStep = Float(-(lr / (1 - pow(beta1, Double(step)))))
        let bc2Sqrt = Float(pow(1 - pow(beta2, Double(step)), 0.5))
        let w = Float(1 - beta1), b2 = Float(beta2), c2 = Float(1 - beta2), e = Float(eps)
        for i in 0..<n {
            let gi = g[i]
            mRef[i] = mRef[i] + w * (gi - mRef[i])
            vRef[i] = vRef[i] * b2 + c2 * gi * gi
            let denom = vRef[i].squareRoot() / bc2Sqrt + e
            pRef[i] = pRef[i] + negStep * mRef[i] / denom
        }
        #expect(p.map(\.bitPattern) == pRef.map(\.bitPattern))
        #expect(m.map(\.bitPattern) == mRef.map(\.bitPattern))
        #expect(v.map(\.bitPattern) == vRef.map(\.bitPattern))
    }
}
