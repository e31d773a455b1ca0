import Foundation

/// The 1cycle policy (Smith), as `torch.optim.lr_scheduler.OneCycleLR` (two phases): the rate
/// rises from `maxLR / divFactor` to `maxLR` over the first `pctStart` of `totalSteps`, then
/// anneals to `maxLR / divFactor / finalDivFactor`; momentum (SGD, RMSProp) or beta1 (Adam,
/// AdamW) moves the opposite way between `maxMomentum` and `baseMomentum`. Step it per batch.
///
/// ```swift
/// let scheduler = OneCycleLR(optimizer: opt, maxLR: 0.1, totalSteps: epochs * batchesPerEpoch)
/// for batch in batches { train(batch); opt.step(); scheduler.step() }
/// ```
public final class OneCycleLR: LRScheduler {
    public enum AnnealStrategy: String, Sendable { case cos, linear }

    public let totalSteps: Int
    public let pctStart: Double
    public let annealStrategy: AnnealStrategy
    public let cycleMomentum: Bool
    /// Per group: the peak rate, the starting rate (`maxLR / divFactor`) and the final one.
    public let maxLRs: [Double], initialLRs: [Double], minLRs: [Double]
    public let baseMomentums: [Double], maxMomentums: [Double]

    /// One cycle with the same peak rate for every group.
    public convenience init(optimizer: Optimizer, maxLR: Double, totalSteps: Int, pctStart: Double = 0.3,
                            annealStrategy: AnnealStrategy = .cos, cycleMomentum: Bool = true,
                            baseMomentum: Double = 0.85, maxMomentum: Double = 0.95,
                            divFactor: Double = 25, finalDivFactor: Double = 1e4) {
        let n = optimizer.learningRates.count
        self.init(optimizer: optimizer, maxLRs: Array(repeating: maxLR, count: n), totalSteps: totalSteps,
                  pctStart: pctStart, annealStrategy: annealStrategy, cycleMomentum: cycleMomentum,
                  baseMomentums: Array(repeating: baseMomentum, count: n), maxMomentums: Array(repeating: maxMomentum, count: n),
                  divFactor: divFactor, finalDivFactor: finalDivFactor)
    }

    /// One cycle with a peak rate (and momentum range) per group.
    ///
    /// ```swift
    /// let scheduler = OneCycleLR(optimizer: opt, maxLRs: [0.01, 0.1], totalSteps: 1000,
    ///                            baseMomentums: [0.85, 0.85], maxMomentums: [0.95, 0.95])
    /// ```
    public init(optimizer: Optimizer, maxLRs: [Double], totalSteps: Int, pctStart: Double = 0.3,
                annealStrategy: AnnealStrategy = .cos, cycleMomentum: Bool = true,
                baseMomentums: [Double], maxMomentums: [Double], divFactor: Double = 25, finalDivFactor: Double = 1e4) {
        let n = optimizer.learningRates.count
        if totalSteps <= 0 { fatalError("[oneCycleLR] total steps \(totalSteps) must be positive") }
        if !(pctStart >= 0 && pctStart <= 1) { fatalError("[oneCycleLR] pctStart \(pctStart) must be in [0, 1]") }
        for (what, list) in [("max rates", maxLRs), ("base momentums", baseMomentums), ("max momentums", maxMomentums)]
        where list.count != n {
            fatalError("[oneCycleLR] got \(list.count) \(what) for \(n) parameter groups")
        }
        self.totalSteps = totalSteps
        self.pctStart = pctStart
        self.annealStrategy = annealStrategy
        self.cycleMomentum = cycleMomentum
        self.maxLRs = maxLRs
        initialLRs = maxLRs.map { $0 / divFactor }
        minLRs = initialLRs.map { $0 / finalDivFactor }
        self.baseMomentums = baseMomentums
        self.maxMomentums = maxMomentums
        if cycleMomentum && optimizer.momentums.contains(where: { $0 == nil }) {
            fatalError("[oneCycleLR] the \(String(describing: type(of: optimizer)).lowercased()) optimiser has no momentum or beta1 to cycle; pass cycleMomentum: false")
        }
        // PyTorch overwrites initial_lr (the base rates) with maxLR / divFactor, and starts the
        // momentum at its maximum.
        optimizer.initialLearningRates = initialLRs
        if cycleMomentum { optimizer.momentums = maxMomentums }
        super.init(name: "OneCycleLR", optimizer: optimizer)
    }

    private func anneal(_ start: Double, _ end: Double, _ pct: Double) -> Double {
        switch annealStrategy {
        case .cos: return end + (start - end) / 2.0 * (cos(Double.pi * pct) + 1)
        case .linear: return (end - start) * pct + start
        }
    }

    public override func computeLRs() -> [Double] {
        let stepNum = lastEpoch
        if stepNum > totalSteps {
            fatalError("[oneCycleLR] stepped \(stepNum) times, but the schedule has \(totalSteps) total steps")
        }
        let s = Double(stepNum)
        let warmEnd = pctStart * Double(totalSteps) - 1, end = Double(totalSteps - 1)
        var lrs: [Double] = [], momentums: [Double?] = []
        for i in maxLRs.indices {
            let lr: Double, momentum: Double
            if s <= warmEnd {
                let pct = (s - 0.0) / (warmEnd - 0.0)
                lr = anneal(initialLRs[i], maxLRs[i], pct)
                momentum = anneal(maxMomentums[i], baseMomentums[i], pct)
            } else {
                let pct = (s - warmEnd) / (end - warmEnd)
                lr = anneal(maxLRs[i], minLRs[i], pct)
                momentum = anneal(baseMomentums[i], maxMomentums[i], pct)
            }
            lrs.append(lr)
            momentums.append(momentum)
        }
        if cycleMomentum { optimizer.momentums = momentums }
        return lrs
    }
}
