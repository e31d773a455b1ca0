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

    /// A group carrying the per-group options of a fixture (PyTorch keyword names).
    static func group(_ ps: [Parameter], _ o: [String: JSONValue]) -> ParameterGroup {
        ParameterGroup(ps, lr: num(o, "lr"), weightDecay: num(o, "weight_decay"), momentum: num(o, "momentum"),
                       dampening: num(o, "dampening"), nesterov: flag(o, "nesterov"), betas: betas(o), eps: num(o, "eps"),
                       amsgrad: flag(o, "amsgrad"), lrDecay: num(o, "lr_decay"),
                       initialAccumulatorValue: num(o, "initial_accumulator_value"), rho: num(o, "rho"),
                       alpha: num(o, "alpha"), centered: flag(o, "centered"), maximize: flag(o, "maximize"))
    }

    /// The optimiser named by a fixture, built through its public init with the fixture's options
    /// (PyTorch's defaults where the fixture gives none).
    static func optimizer(_ name: String, _ groups: [ParameterGroup], _ o: [String: JSONValue]) -> Optimizer {
        let wd = num(o, "weight_decay"), maximize = flag(o, "maximize") ?? false
        switch name {
        case "sgd":
            return SGD(groups: groups, lr: num(o, "lr") ?? 1e-3, momentum: num(o, "momentum") ?? 0,
                       dampening: num(o, "dampening") ?? 0, weightDecay: wd ?? 0, nesterov: flag(o, "nesterov") ?? false,
                       maximize: maximize)
        case "adam":
            return Adam(groups: groups, lr: num(o, "lr") ?? 1e-3, betas: betas(o) ?? (0.9, 0.999), eps: num(o, "eps") ?? 1e-8,
                        weightDecay: wd ?? 0, amsgrad: flag(o, "amsgrad") ?? false, maximize: maximize)
        case "adamw":
            return AdamW(groups: groups, lr: num(o, "lr") ?? 1e-3, betas: betas(o) ?? (0.9, 0.999), eps: num(o, "eps") ?? 1e-8,
                         weightDecay: wd ?? 0.01, amsgrad: flag(o, "amsgrad") ?? false, maximize: maximize)
        case "adagrad":
            return Adagrad(groups: groups, lr: num(o, "lr") ?? 1e-2, lrDecay: num(o, "lr_decay") ?? 0, weightDecay: wd ?? 0,
                           initialAccumulatorValue: num(o, "initial_accumulator_value") ?? 0, eps: num(o, "eps") ?? 1e-10,
                           maximize: maximize)
        case "adadelta":
            return Adadelta(groups: groups, lr: num(o, "lr") ?? 1.0, rho: num(o, "rho") ?? 0.9, eps: num(o, "eps") ?? 1e-6,
                            weightDecay: wd ?? 0, maximize: maximize)
        case "rmsprop":
            return RMSProp(groups: groups, lr: num(o, "lr") ?? 1e-2, alpha: num(o, "alpha") ?? 0.99, eps: num(o, "eps") ?? 1e-8,
                           weightDecay: wd ?? 0, momentum: num(o, "momentum") ?? 0, centered: flag(o, "centered") ?? false,
                           maximize: maximize)
        default: fatalError("unknown optimiser \(name)")
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
        var groups = [ParameterGroup([w, b])]
        if case .array(let gs)? = c.params["groups"] {
            groups = [group([w], options(gs[0])), group([b], options(gs[1]))]
        }
        return (x, y, w, b, optimizer(c.string("optimizer")!, groups, options(c.params["options"])))
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
        let opt = Self.optimizer(name, [ParameterGroup([w, b])], ["lr": .number(0.05), "momentum": .number(0.9)]
                                    .filter { name == "sgd" || name == "rmsprop" || $0.key == "lr" })
        Self.train(opt, x, y, w, b, steps: 3)
        #expect(b.value.floats == b0)
        #expect(b.grad == nil)
        #expect(w.value.floats != w0)
        #expect(opt.state[ObjectIdentifier(b)] == nil, "a parameter without gradients gets no state")
    }

    @Test func learningRatesPerGroup() {
        let (x, y, w, b) = Self.problem()
        let opt = SGD(groups: [ParameterGroup([w]), ParameterGroup([b], lr: 0.5, momentum: 0.5)], lr: 0.1, momentum: 0.9)
        #expect(opt.lr == 0.1)
        #expect(opt.learningRates == [0.1, 0.5])
        #expect(opt.groups[1].momentum == 0.5 && opt.groups[0].momentum == 0.9)
        #expect(opt.groups[0].dampening == 0 && opt.groups[0].nesterov == false, "unset options take the defaults")
        opt.lr = 0.2
        #expect(opt.learningRates == [0.2, 0.5])
        opt.groups[1].lr = 0.3
        opt.learningRates = [0.01, 0.02]
        #expect(opt.learningRates == [0.01, 0.02])
        #expect(opt.parameters.count == 2)

        // A zero rate freezes its group; the other still moves.
        opt.learningRates = [0.1, 0]
        let b0 = b.value.floats, w0 = w.value.floats
        Self.train(opt, x, y, w, b, steps: 2)
        #expect(b.value.floats == b0)
        #expect(w.value.floats != w0)

        // A group appended later takes the optimiser's defaults.
        let extra = Parameter(Tensor.ones([2]))
        opt.addParameterGroup(ParameterGroup([extra]))
        #expect(opt.groups[2].lr == 0.1 && opt.groups[2].momentum == 0.9)
    }

    @Test func defaultsFollowPyTorch() {
        let p = [Parameter(Tensor.zeros([2]))]
        #expect(SGD(parameters: p).lr == 1e-3)
        #expect(Adam(parameters: p).groups[0].betas! == (0.9, 0.999))
        #expect(Adam(parameters: p).groups[0].weightDecay == 0)
        #expect(AdamW(parameters: p).groups[0].weightDecay == 0.01)
        #expect(Adagrad(parameters: p).lr == 1e-2 && Adagrad(parameters: p).groups[0].eps == 1e-10)
        #expect(Adadelta(parameters: p).lr == 1.0 && Adadelta(parameters: p).groups[0].rho == 0.9)
        #expect(RMSProp(parameters: p).lr == 1e-2 && RMSProp(parameters: p).groups[0].alpha == 0.99)
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
        let straight = Self.optimizer(name, [ParameterGroup([w, b])], o)
        Self.train(straight, x, y, w, b, steps: 100)

        let first = Self.optimizer(name, [ParameterGroup([w1, b1])], o)
        Self.train(first, x, y, w1, b1, steps: 50)
        let saved = first.stateDict()
        #expect(saved.scalars["state.0.step"] == 50)
        let json = try JSONEncoder().encode(saved)
        let decoded = try JSONDecoder().decode(OptimizerState.self, from: json)

        let w2 = Parameter(w1.value.contiguous()), b2 = Parameter(b1.value.contiguous())
        let second = Self.optimizer(name, [ParameterGroup([w2, b2])], o)
        second.load(decoded)
        Self.train(second, x, y, w2, b2, steps: 50)
        #expect(w2.value.doubles == w.value.doubles, "\(name) \(dtype): w after resume")
        #expect(b2.value.doubles == b.value.doubles, "\(name) \(dtype): b after resume")
        #expect(w2.value.dtype == dtype)
    }

    @Test func stateDictIsASnapshotAndCarriesGroupOptions() {
        let (x, y, w, b) = Self.problem()
        let opt = Adam(groups: [ParameterGroup([w], lr: 0.02), ParameterGroup([b], weightDecay: 0.1)], lr: 0.01)
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
        let other = Adam(groups: [ParameterGroup([w]), ParameterGroup([b])], lr: 0.5)
        other.load(saved)
        #expect(other.learningRates == [0.02, 0.01] && other.groups[1].weightDecay == 0.1)
    }

    // MARK: Errors

    @Test func misuseTrapsWithMessages() async {
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
            _ = Adam(groups: [ParameterGroup([Parameter(Tensor.zeros([2]))], rho: 0.9)])
        }.map { r in
            #expect(String(decoding: r.standardErrorContent, as: UTF8.self).contains("[adam] group 0 sets rho, which this optimiser does not use"))
        }
        await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let p = Parameter(Tensor.zeros([2]))
            _ = SGD(groups: [ParameterGroup([p]), ParameterGroup([p])])
        }.map { r in
            #expect(String(decoding: r.standardErrorContent, as: UTF8.self).contains("[sgd] a parameter of shape [2] appears twice"))
        }
        await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let opt = Adam(parameters: [Parameter(Tensor.zeros([2]))])
            opt.load(Adam(groups: [ParameterGroup([Parameter(Tensor.zeros([2]))]), ParameterGroup([])]).stateDict())
        }.map { r in
            #expect(String(decoding: r.standardErrorContent, as: UTF8.self).contains("[adam] saved state has 2 parameter groups, this optimiser 1"))
        }
    }
}

/// Adam's float32 common case runs 8 wide in C on AVX2 machines; it must round exactly as the
/// element-by-element formula does (no fused multiply-adds), tails included.
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
        p.withUnsafeMutableBufferPointer { pp in
            m.withUnsafeMutableBufferPointer { mp in
                v.withUnsafeMutableBufferPointer { vp in
                    g.withUnsafeBufferPointer { gp in
                        adamKernel(n, param: pp.baseAddress!, grad: gp.baseAddress!, expAvg: mp.baseAddress!, expAvgSq: vp.baseAddress!,
                                   maxExpAvgSq: nil, step: step, lr: lr, beta1: beta1, beta2: beta2, eps: eps,
                                   weightDecay: 0, decoupled: false, maximize: false)
                    }
                }
            }
        }
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
