import Foundation
import Testing
@testable import MyelinNN
import MyelinCore
import MyelinTestSupport

/// Learning-rate schedulers against PyTorch's rate sequences (Fixtures/lr_schedulers.json from
/// generators/gen_optim.py), then state export/import and misuse.
@Suite struct SchedulerTests {
    typealias O = [String: JSONValue]

    static func num(_ o: O, _ k: String) -> Double? { OptimizerTests.num(o, k) }
    static func int(_ o: O, _ k: String) -> Int? { num(o, k).map { Int($0) } }
    static func string(_ o: O, _ k: String) -> String? {
        if case .string(let s)? = o[k] { return s }
        return nil
    }

    /// The optimiser of a case: one group of one parameter per entry of `group_lrs`.
    static func optimizer(_ c: FixtureCase) -> Optimizer {
        guard case .array(let lrs)? = c.params["group_lrs"] else { fatalError("no group_lrs") }
        let rates = lrs.map { v -> [String: JSONValue] in
            guard case .number = v else { fatalError() }
            return ["lr": v]
        }
        return OptimizerTests.optimizer(c.string("optimizer")!, rates.map { _ in [Parameter(Tensor.zeros([2]))] },
                                        OptimizerTests.options(c.params["opt_options"]), groupOptions: rates)
    }

    /// Either kind of scheduler, stepped with the case's metrics when it is a plateau one.
    enum Scheduler {
        case epoch(LRScheduler)
        case plateau(ReduceLROnPlateau, metrics: [Double])

        func step(_ i: Int) {
            switch self {
            case .epoch(let s): s.step()
            case .plateau(let s, let metrics): s.step(metric: metrics[i])
            }
        }

        var lastLR: [Double] {
            switch self {
            case .epoch(let s): s.lastLR
            case .plateau(let s, _): s.lastLR
            }
        }

        func stateDict() -> SchedulerState {
            switch self {
            case .epoch(let s): s.stateDict()
            case .plateau(let s, _): s.stateDict()
            }
        }

        func load(_ state: SchedulerState) {
            switch self {
            case .epoch(let s): s.load(state)
            case .plateau(let s, _): s.load(state)
            }
        }
    }

    /// The scheduler a case describes, on `opt`.
    static func scheduler(_ c: FixtureCase, _ opt: Optimizer) -> Scheduler {
        let o = OptimizerTests.options(c.params["options"])
        switch c.string("scheduler")! {
        case "StepLR":
            let s = StepLR(optimizer: opt, stepSize: int(o, "step_size")!, gamma: num(o, "gamma")!)
            return .epoch(s)
        case "MultiStepLR":
            guard case .array(let ms)? = o["milestones"] else { fatalError() }
            let s = MultiStepLR(optimizer: opt, milestones: ms.map { if case .number(let v) = $0 { Int(v) } else { 0 } },
                                gamma: num(o, "gamma")!)
            return .epoch(s)
        case "ExponentialLR":
            let s = ExponentialLR(optimizer: opt, gamma: num(o, "gamma")!)
            return .epoch(s)
        case "CosineAnnealingLR":
            let s = CosineAnnealingLR(optimizer: opt, tMax: int(o, "T_max")!, etaMin: num(o, "eta_min") ?? 0)
            return .epoch(s)
        case "LinearLR":
            let s = LinearLR(optimizer: opt, startFactor: num(o, "start_factor")!, endFactor: num(o, "end_factor")!,
                             totalIters: int(o, "total_iters")!)
            return .epoch(s)
        case "OneCycleLR":
            let s = OneCycleLR(optimizer: opt, maxLR: num(o, "max_lr")!, totalSteps: int(o, "total_steps")!,
                               pctStart: num(o, "pct_start") ?? 0.3,
                               annealStrategy: string(o, "anneal_strategy") == "linear" ? .linear : .cos,
                               cycleMomentum: OptimizerTests.flag(o, "cycle_momentum") ?? true,
                               baseMomentum: num(o, "base_momentum") ?? 0.85, maxMomentum: num(o, "max_momentum") ?? 0.95,
                               divFactor: num(o, "div_factor") ?? 25, finalDivFactor: num(o, "final_div_factor") ?? 1e4)
            return .epoch(s)
        case "ReduceLROnPlateau":
            guard case .array(let ms)? = c.params["metrics"] else { fatalError() }
            let metrics: [Double] = ms.map { if case .number(let v) = $0 { v } else { Double.nan } }
            let s = ReduceLROnPlateau(optimizer: opt, mode: string(o, "mode") == "max" ? .max : .min,
                                      factor: num(o, "factor")!, patience: int(o, "patience")!,
                                      threshold: num(o, "threshold")!,
                                      thresholdMode: string(o, "threshold_mode") == "abs" ? .abs : .rel,
                                      cooldown: int(o, "cooldown") ?? 0, minLR: num(o, "min_lr") ?? 0)
            return .plateau(s, metrics: metrics)
        case let name: fatalError("unknown scheduler \(name)")
        }
    }

    static func momenta(_ opt: Optimizer) -> [Double] {
        opt.momentums.map { $0 ?? 0 }
    }

    @Test(arguments: Fixtures.load("lr_schedulers"))
    func ratesMatchPyTorch(_ c: FixtureCase) {
        let opt = Self.optimizer(c)
        let s = Self.scheduler(c, opt)
        var lrs = s.lastLR, moms = Self.momenta(opt)
        #expect(opt.learningRates == s.lastLR, "the scheduler sets the optimiser's rates")
        for i in 0..<c.int("steps") {
            opt.step()
            s.step(i)
            #expect(opt.learningRates == s.lastLR)
            lrs += s.lastLR
            moms += Self.momenta(opt)
        }
        let groups = opt.learningRates.count
        expectClose(Tensor(shape: [lrs.count / groups, groups], scalars: lrs), c.expected[0].tensor,
                    rtol: c.rtol, atol: c.atol, "\(c.name) rates")
        if c.expected.count > 1 {
            expectClose(Tensor(shape: [moms.count / groups, groups], scalars: moms), c.expected[1].tensor,
                        rtol: c.rtol, atol: c.atol, "\(c.name) momentum")
        }
    }

    @Test func firstSchedulerRecordsInitialRates() {
        let opt = SGD(groups: [ParameterGroup([Parameter(Tensor.zeros([1]))], options: .init(lr: 0.1)),
                               ParameterGroup([Parameter(Tensor.zeros([1]))], options: .init(lr: 0.2))])
        #expect(opt.initialLearningRates == [nil, nil])
        let s = ExponentialLR(optimizer: opt, gamma: 0.5)
        #expect(s.baseLRs == [0.1, 0.2] && s.lastEpoch == 0)
        s.step()
        #expect(opt.learningRates == [0.05, 0.1])
        // A second scheduler keeps the original rates as its base, as PyTorch's initial_lr does.
        let t = StepLR(optimizer: opt, stepSize: 2)
        #expect(t.baseLRs == [0.1, 0.2])
        #expect(opt.groups.map(\.initialLR) == [0.1, 0.2] && opt.initialLearningRates == [0.1, 0.2])
    }

    /// A cosine state loaded into a schedule of another length (`myelin resume --epochs` after the
    /// decay ended) goes on from the new curve; the chainable form alone would keep its rate 0.
    @Test func cosineStateFromAnotherLengthMovesToTheNewCurve() {
        func opt() -> SGD { SGD(groups: [ParameterGroup([Parameter(Tensor.zeros([1]))], options: .init(lr: 0.1))]) }
        let short = CosineAnnealingLR(optimizer: opt(), tMax: 3)
        for _ in 0..<3 { short.step() }
        #expect(short.lastLR == [0] && short.stateDict().scalars["t_max"] == 3)

        let longer = opt(), resumed = CosineAnnealingLR(optimizer: longer, tMax: 6)
        resumed.load(short.stateDict())
        #expect(resumed.lastEpoch == 3 && abs(longer.learningRates[0] - 0.05) < 1e-15 && resumed.lastLR == longer.learningRates)
        var rates: [Double] = []
        for _ in 0..<3 { resumed.step(); rates.append(longer.learningRates[0]) }
        // The rest of the 6-epoch curve: 0.1 (1 + cos(pi e / 6)) / 2 for e = 4, 5, 6.
        for (e, r) in zip(4..., rates) { #expect(abs(r - 0.05 * (1 + cos(Double.pi * Double(e) / 6))) < 1e-12, "epoch \(e): \(r)") }

        // The same length keeps the saved rates, bit for bit (a resume after a kill).
        let mid = CosineAnnealingLR(optimizer: opt(), tMax: 6)
        for _ in 0..<4 { mid.step() }
        let same = opt(), again = CosineAnnealingLR(optimizer: same, tMax: 6)
        again.load(mid.stateDict())
        #expect(same.learningRates == mid.lastLR)

        // A state saved before t_max was kept: moved only when its rate is etaMin before the end.
        var old = short.stateDict()
        old.scalars["t_max"] = nil
        let legacy = opt(), fromOld = CosineAnnealingLR(optimizer: legacy, tMax: 6)
        fromOld.load(old)
        #expect(abs(legacy.learningRates[0] - 0.05) < 1e-15)
        var oldMid = mid.stateDict()
        oldMid.scalars["t_max"] = nil
        let legacyMid = opt()
        CosineAnnealingLR(optimizer: legacyMid, tMax: 6).load(oldMid)
        #expect(legacyMid.learningRates == mid.lastLR)
    }

    /// Stepping 7 times, exporting (through JSON), rebuilding optimiser and scheduler, importing,
    /// and stepping on gives exactly the rates of stepping straight through.
    @Test(arguments: ["cosine", "onecycle_cos_sgd", "linear_warmup", "multistep", "plateau_min_rel"])
    func exportImportResumesExactly(_ name: String) throws {
        let c = Fixtures.load("lr_schedulers").first { $0.name == name }!
        let steps = c.int("steps")
        let opt = Self.optimizer(c)
        let s = Self.scheduler(c, opt)
        var straight: [[Double]] = []
        for i in 0..<steps { s.step(i); straight.append(s.lastLR) }

        let opt1 = Self.optimizer(c)
        let first = Self.scheduler(c, opt1)
        for i in 0..<7 { first.step(i) }
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let savedOpt = try encoder.encode(opt1.stateDict())
        let savedScheduler = try encoder.encode(first.stateDict())

        // As in PyTorch: build the scheduler, then load both states.
        let opt2 = Self.optimizer(c)
        let second = Self.scheduler(c, opt2)
        try opt2.load(decoder.decode(OptimizerState.self, from: savedOpt))
        second.load(try decoder.decode(SchedulerState.self, from: savedScheduler))
        #expect(second.lastLR == straight[6] && opt2.learningRates == straight[6])
        #expect(Self.momenta(opt2) == Self.momenta(opt1))
        var resumed = Array(straight[0..<7])
        for i in 7..<steps { second.step(i); resumed.append(second.lastLR) }
        #expect(resumed == straight, "\(name): rates after resuming")
    }
}
