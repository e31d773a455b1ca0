import Foundation

// Learning-rate schedulers, as torch.optim.lr_scheduler: each `step()` moves the schedule one
// tick and writes the new rates into the optimiser's groups. Call it once per epoch or once per
// batch, after `optimizer.step()`; the schedule counts whatever you count. The chainable
// (recursive) forms PyTorch uses are followed exactly, so the rates match its float values, and a
// rate changed by hand between steps carries on as it does in PyTorch.

/// A scheduler's state for checkpoints: counters and rates as numbers and lists of numbers.
///
/// ```swift
/// let saved = scheduler.stateDict()
/// let resumed = StepLR(optimizer: opt, stepSize: 10)
/// resumed.load(saved)
/// ```
public struct SchedulerState: Codable, Equatable {
    public var scalars: [String: Double]
    public var lists: [String: [Double]]

    public init(scalars: [String: Double] = [:], lists: [String: [Double]] = [:]) {
        self.scalars = scalars
        self.lists = lists
    }
}

/// The base of the epoch-indexed schedulers (`StepLR`, `CosineAnnealingLR`, `OneCycleLR`...), and
/// of your own: a subclass overrides `computeLRs()` (PyTorch's `get_lr`), and `saveExtra` /
/// `loadExtra` if it keeps state of its own.
///
/// Creating one records each group's starting rate (`initialLR`) and applies the schedule's value
/// for epoch 0, as PyTorch does.
///
/// ```swift
/// let scheduler = CosineAnnealingLR(optimizer: opt, tMax: 100)
/// for epoch in 0..<100 {
///     train(epoch)
///     scheduler.step()
/// }
///
/// final class InverseSqrtLR: LRScheduler {
///     init(optimizer: Optimizer) { super.init(name: "InverseSqrtLR", optimizer: optimizer) }
///     override func computeLRs() -> [Double] { baseLRs.map { $0 / Double(max(1, lastEpoch)).squareRoot() } }
/// }
/// ```
open class LRScheduler {
    /// The optimiser whose group rates this scheduler sets.
    public let optimizer: Optimizer
    /// The number of `step()` calls since creation (0 right after it).
    public internal(set) var lastEpoch = -1
    /// Each group's rate before scheduling (`initialLR`).
    public internal(set) var baseLRs: [Double]
    /// The rates the last step set, one per group.
    public internal(set) var lastLR: [Double] = []
    /// Steps taken, counting the one made at creation.
    var stepCount = 0
    /// True during the step made at creation.
    public internal(set) var isInitial = false
    /// The name used in error messages and state (`"StepLR"`).
    public let name: String

    /// A scheduler of `optimizer`'s rates: records each group's starting rate (the first scheduler
    /// attached does) and makes the step for epoch 0 (`computeLRs()` with `isInitial` true), so a
    /// subclass sets its own stored properties before calling it.
    public init(name: String, optimizer: Optimizer) {
        self.name = name
        self.optimizer = optimizer
        // The first scheduler records each group's starting rate; later ones keep it.
        let rates = optimizer.learningRates
        let initial = zip(optimizer.initialLearningRates, rates).map { $0 ?? $1 }
        optimizer.initialLearningRates = initial
        baseLRs = initial
        isInitial = true
        step()
        isInitial = false
    }

    /// Advances the schedule by one epoch (or batch) and sets the optimiser's rates.
    ///
    /// ```swift
    /// opt.step()
    /// scheduler.step()
    /// ```
    open func step() {
        stepCount += 1
        lastEpoch += 1
        let values = computeLRs()
        optimizer.learningRates = values
        lastLR = optimizer.learningRates
    }

    /// The rates for `lastEpoch`, one per group, from `baseLRs` (closed form) or from the
    /// optimiser's current ones (`currentLRs`, the chainable form): PyTorch's `get_lr`. Every
    /// scheduler overrides it.
    open func computeLRs() -> [Double] { fatalError("[\(name)] computeLRs is not implemented") }

    /// The optimiser's current rates, which the chainable forms update.
    public var currentLRs: [Double] { optimizer.learningRates }

    /// The counters and rates; with the optimiser's state, enough to resume exactly.
    ///
    /// ```swift
    /// let checkpoint = (opt.stateDict(), scheduler.stateDict())
    /// ```
    public func stateDict() -> SchedulerState {
        var s = SchedulerState(scalars: ["last_epoch": Double(lastEpoch), "step_count": Double(stepCount)],
                               lists: ["base_lrs": baseLRs, "last_lr": lastLR])
        saveExtra(into: &s)
        return s
    }

    /// Restores exported counters and rates, and sets the optimiser's rates to the saved `lastLR`.
    ///
    /// ```swift
    /// let scheduler = StepLR(optimizer: opt, stepSize: 10)
    /// scheduler.load(saved)
    /// ```
    public func load(_ s: SchedulerState) {
        guard let e = s.scalars["last_epoch"], let c = s.scalars["step_count"], let b = s.lists["base_lrs"],
              let l = s.lists["last_lr"] else {
            fatalError("[\(name)] saved state lacks last_epoch, step_count, base_lrs or last_lr (has \(s.scalars.keys.sorted()), \(s.lists.keys.sorted()))")
        }
        let groupCount = optimizer.learningRates.count
        if b.count != groupCount || l.count != groupCount {
            fatalError("[\(name)] saved state has \(l.count) group rates, the optimiser \(groupCount) groups")
        }
        lastEpoch = Int(e)
        stepCount = Int(c)
        baseLRs = b
        lastLR = l
        optimizer.learningRates = l
        loadExtra(from: s)
    }

    /// Adds a subclass's own counters to the exported state (the base has none).
    open func saveExtra(into s: inout SchedulerState) {}
    /// Keys of `saveExtra` that checkpoints written before them lack (`loadExtra` copes).
    open var laterStateKeys: Set<String> { [] }
    /// Reads back what `saveExtra` added, after the counters and rates are restored (it may set
    /// other rates through `setRates`).
    open func loadExtra(from s: SchedulerState) {}

    /// Sets the optimiser's rates and `lastLR`, for a subclass that must move them (`loadExtra`).
    public func setRates(_ rates: [Double]) {
        optimizer.learningRates = rates
        lastLR = optimizer.learningRates
    }
}

/// Multiplies the rates by `gamma` every `stepSize` epochs (`torch.optim.lr_scheduler.StepLR`).
///
/// ```swift
/// let scheduler = StepLR(optimizer: opt, stepSize: 30, gamma: 0.1)   // 0.1x at 30, 0.01x at 60...
/// ```
public final class StepLR: LRScheduler {
    public let stepSize: Int
    public let gamma: Double

    public init(optimizer: Optimizer, stepSize: Int, gamma: Double = 0.1) {
        if stepSize <= 0 { fatalError("[stepLR] step size \(stepSize) must be positive") }
        self.stepSize = stepSize
        self.gamma = gamma
        super.init(name: "StepLR", optimizer: optimizer)
    }

    public override func computeLRs() -> [Double] {
        if lastEpoch == 0 || lastEpoch % stepSize != 0 { return currentLRs }
        return currentLRs.map { $0 * gamma }
    }
}

/// Multiplies the rates by `gamma` at each milestone epoch (`torch.optim.lr_scheduler.MultiStepLR`);
/// a milestone listed twice applies `gamma` twice.
///
/// ```swift
/// let scheduler = MultiStepLR(optimizer: opt, milestones: [30, 80], gamma: 0.1)
/// ```
public final class MultiStepLR: LRScheduler {
    public let milestones: [Int]
    public let gamma: Double
    private let counts: [Int: Int]

    public init(optimizer: Optimizer, milestones: [Int], gamma: Double = 0.1) {
        self.milestones = milestones.sorted()
        self.gamma = gamma
        counts = milestones.reduce(into: [:]) { $0[$1, default: 0] += 1 }
        super.init(name: "MultiStepLR", optimizer: optimizer)
    }

    public override func computeLRs() -> [Double] {
        guard let k = counts[lastEpoch] else { return currentLRs }
        let factor = pow(gamma, Double(k))
        return currentLRs.map { $0 * factor }
    }
}

/// Multiplies the rates by `gamma` every epoch (`torch.optim.lr_scheduler.ExponentialLR`).
///
/// ```swift
/// let scheduler = ExponentialLR(optimizer: opt, gamma: 0.95)
/// ```
public final class ExponentialLR: LRScheduler {
    public let gamma: Double

    public init(optimizer: Optimizer, gamma: Double) {
        self.gamma = gamma
        super.init(name: "ExponentialLR", optimizer: optimizer)
    }

    public override func computeLRs() -> [Double] {
        if isInitial { return currentLRs }
        return currentLRs.map { $0 * gamma }
    }
}

/// Cosine annealing from each base rate down to `etaMin` over `tMax` epochs, then back up, and so
/// on (`torch.optim.lr_scheduler.CosineAnnealingLR`, its recursive form).
///
/// ```swift
/// let scheduler = CosineAnnealingLR(optimizer: opt, tMax: 50, etaMin: 1e-5)
/// ```
public final class CosineAnnealingLR: LRScheduler {
    public let tMax: Int
    public let etaMin: Double

    public init(optimizer: Optimizer, tMax: Int, etaMin: Double = 0) {
        if tMax <= 0 { fatalError("[cosineAnnealingLR] tMax \(tMax) must be positive") }
        self.tMax = tMax
        self.etaMin = etaMin
        super.init(name: "CosineAnnealingLR", optimizer: optimizer)
    }

    /// Saves `t_max`, so that a state loaded into a schedule of another length can be told apart.
    public override func saveExtra(into s: inout SchedulerState) {
        s.scalars["t_max"] = Double(tMax)
    }

    public override var laterStateKeys: Set<String> { ["t_max"] }

    /// A state from a schedule of another length (a run resumed for more epochs) carries that
    /// schedule's rates, which the chainable form would scale along: from its end, where the rate
    /// is `etaMin`, it would stay there. The rates are then put on this schedule's curve at the
    /// saved epoch (closed form). States saved before `t_max` was kept are moved only when their
    /// rates sit at `etaMin` before this schedule's end (which only another length gives).
    public override func loadExtra(from s: SchedulerState) {
        let other = s.scalars["t_max"].map { $0 != Double(tMax) } ?? (lastEpoch < tMax && lastLR.allSatisfy { $0 == etaMin })
        guard other else { return }
        setRates(closedForm(at: lastEpoch))
    }

    /// The rates at `epoch` by the closed form (`rate(base:etaMin:epoch:tMax:)`).
    public func closedForm(at epoch: Int) -> [Double] {
        baseLRs.map { Self.rate(base: $0, etaMin: etaMin, epoch: epoch, tMax: tMax) }
    }

    /// `etaMin + (base - etaMin)(1 + cos(pi epoch / tMax)) / 2`: the schedule's rate at `epoch`.
    public static func rate(base: Double, etaMin: Double = 0, epoch: Int, tMax: Int) -> Double {
        etaMin + (base - etaMin) * (1 + cos(Double.pi * Double(epoch) / Double(tMax))) / 2
    }

    public override func computeLRs() -> [Double] {
        if isInitial { return currentLRs }
        let e = Double(lastEpoch), t = Double(tMax)
        if (lastEpoch - 1 - tMax) % (2 * tMax) == 0 {
            // At the bottom of a cycle the ratio below would divide by zero; PyTorch steps up instead.
            return zip(currentLRs, baseLRs).map { lr, base in lr + (base - etaMin) * (1 - cos(Double.pi / t)) / 2 }
        }
        return currentLRs.map { lr in
            (1 + cos(Double.pi * e / t)) / (1 + cos(Double.pi * (e - 1) / t)) * (lr - etaMin) + etaMin
        }
    }
}

/// Scales the rates linearly from `startFactor` to `endFactor` of their base values over
/// `totalIters` epochs, then holds them (`torch.optim.lr_scheduler.LinearLR`): a linear warm-up
/// with the defaults, stepped per batch.
///
/// ```swift
/// let warmup = LinearLR(optimizer: opt, startFactor: 0.01, totalIters: 500)
/// ```
public final class LinearLR: LRScheduler {
    public let startFactor: Double
    public let endFactor: Double
    public let totalIters: Int

    public init(optimizer: Optimizer, startFactor: Double = 1.0 / 3, endFactor: Double = 1.0, totalIters: Int = 5) {
        if !(startFactor > 0 && startFactor <= 1) {
            fatalError("[linearLR] start factor \(startFactor) must be in (0, 1]")
        }
        if !(endFactor >= 0 && endFactor <= 1) { fatalError("[linearLR] end factor \(endFactor) must be in [0, 1]") }
        if totalIters < 0 { fatalError("[linearLR] total iterations \(totalIters) must be >= 0") }
        self.startFactor = startFactor
        self.endFactor = endFactor
        self.totalIters = totalIters
        super.init(name: "LinearLR", optimizer: optimizer)
    }

    public override func computeLRs() -> [Double] {
        if lastEpoch == 0 { return currentLRs.map { $0 * startFactor } }
        if isInitial || lastEpoch > totalIters { return currentLRs }
        let ratio = 1.0 + (endFactor - startFactor)
            / (Double(totalIters) * startFactor + Double(lastEpoch - 1) * (endFactor - startFactor))
        return currentLRs.map { $0 * ratio }
    }
}

/// A linear learning-rate warm-up: `LinearLR` under the name most training scripts use.
///
/// ```swift
/// let warmup = LinearWarmup(optimizer: opt, startFactor: 0.1, totalIters: 100)
/// ```
public typealias LinearWarmup = LinearLR
