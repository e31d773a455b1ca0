import Foundation

/// Cuts the rates by `factor` when a metric has stopped improving for `patience` epochs
/// (`torch.optim.lr_scheduler.ReduceLROnPlateau`). Step it with the metric, usually once per epoch.
///
/// ```swift
/// let scheduler = ReduceLROnPlateau(optimizer: opt, factor: 0.5, patience: 3)
/// for epoch in 0..<50 {
///     train()
///     scheduler.step(metric: validationLoss())
/// }
/// ```
public final class ReduceLROnPlateau {
    public enum Mode: String, Sendable { case min, max }
    public enum ThresholdMode: String, Sendable { case rel, abs }

    public let optimizer: Optimizer
    public let mode: Mode
    public let factor: Double
    public let patience: Int
    public let threshold: Double
    public let thresholdMode: ThresholdMode
    public let cooldown: Int
    /// Rate reductions smaller than this are skipped.
    public let eps: Double
    /// The floor of each group's rate.
    public var minLRs: [Double]
    /// The best metric so far (infinity in `.min` mode before the first step).
    public private(set) var best: Double
    public private(set) var numBadEpochs = 0
    public private(set) var cooldownCounter = 0
    public private(set) var lastEpoch = 0
    /// The rates after the last step, one per group.
    public private(set) var lastLR: [Double]

    public init(optimizer: Optimizer, mode: Mode = .min, factor: Double = 0.1, patience: Int = 10,
                threshold: Double = 1e-4, thresholdMode: ThresholdMode = .rel, cooldown: Int = 0,
                minLR: Double = 0, eps: Double = 1e-8) {
        if factor >= 1 { fatalError("[reduceLROnPlateau] factor \(factor) must be < 1") }
        self.optimizer = optimizer
        self.mode = mode
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.thresholdMode = thresholdMode
        self.cooldown = cooldown
        self.eps = eps
        minLRs = Array(repeating: minLR, count: optimizer.learningRates.count)
        best = mode == .min ? .infinity : -.infinity
        lastLR = optimizer.learningRates
    }

    private func isBetter(_ a: Double, than best: Double) -> Bool {
        switch (mode, thresholdMode) {
        case (.min, .rel): return a < best * (1.0 - threshold)
        case (.min, .abs): return a < best - threshold
        case (.max, .rel): return a > best * (threshold + 1.0)
        case (.max, .abs): return a > best + threshold
        }
    }

    /// Records one epoch's metric and reduces the rates when it has plateaued.
    ///
    /// ```swift
    /// scheduler.step(metric: valLoss)
    /// ```
    public func step(metric: Double) {
        lastEpoch += 1
        if isBetter(metric, than: best) {
            best = metric
            numBadEpochs = 0
        } else {
            numBadEpochs += 1
        }
        if cooldownCounter > 0 {
            cooldownCounter -= 1
            numBadEpochs = 0   // bad epochs during cooldown do not count
        }
        if numBadEpochs > patience {
            reduce()
            cooldownCounter = cooldown
            numBadEpochs = 0
        }
        lastLR = optimizer.learningRates
    }

    private func reduce() {
        var rates = optimizer.learningRates
        if minLRs.count != rates.count {
            fatalError("[reduceLROnPlateau] \(minLRs.count) minimum rates for \(rates.count) parameter groups")
        }
        for i in rates.indices {
            let old = rates[i]
            let new = Swift.max(old * factor, minLRs[i])
            if old - new > eps { rates[i] = new }
        }
        optimizer.learningRates = rates
    }

    /// The counters, best metric and rates. `best` starts infinite: encode with a JSONEncoder
    /// whose `nonConformingFloatEncodingStrategy` allows it.
    public func stateDict() -> SchedulerState {
        SchedulerState(scalars: ["best": best, "num_bad_epochs": Double(numBadEpochs),
                                 "cooldown_counter": Double(cooldownCounter), "last_epoch": Double(lastEpoch)],
                       lists: ["last_lr": lastLR, "min_lrs": minLRs])
    }

    /// Restores exported counters and rates, and sets the optimiser's rates to the saved `lastLR`.
    public func load(_ s: SchedulerState) {
        guard let b = s.scalars["best"], let n = s.scalars["num_bad_epochs"], let c = s.scalars["cooldown_counter"],
              let e = s.scalars["last_epoch"], let l = s.lists["last_lr"], let m = s.lists["min_lrs"] else {
            fatalError("[reduceLROnPlateau] saved state lacks a field (has \(s.scalars.keys.sorted()), \(s.lists.keys.sorted()))")
        }
        if l.count != optimizer.learningRates.count {
            fatalError("[reduceLROnPlateau] saved state has \(l.count) group rates, the optimiser \(optimizer.learningRates.count) groups")
        }
        best = b
        numBadEpochs = Int(n)
        cooldownCounter = Int(c)
        lastEpoch = Int(e)
        lastLR = l
        minLRs = m
        optimizer.learningRates = l
    }
}
