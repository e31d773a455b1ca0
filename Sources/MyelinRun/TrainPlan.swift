import Foundation

/// The settings `myelin train` chooses from the data's size for what the user did not give, so
/// that the plain command trains to convergence: small tables get small batches, a budget of
/// optimiser steps rather than a fixed epoch count, and early stopping on the validation loss with
/// the best weights restored. Large data (images, 20,000+ rows) keep the fixed defaults. An
/// option the user gives always wins.
///
/// ```swift
/// let plan = TrainPlan(trainCount: 108, images: false, given: [])
/// let settings = plan.apply(to: TrainSettings())   // batch 8, up to 300 epochs, patience 30
/// print(plan.notes[0])
/// ```
public struct TrainPlan: Sendable {
    /// The settings a plan may choose.
    public enum Setting: String, CaseIterable, Hashable, Sendable {
        case epochs, batchSize, patience, learningRate
    }

    public let trainCount: Int
    public let images: Bool
    public let given: Set<Setting>

    /// Training rows from which the fixed defaults apply (an epoch is then many steps).
    public static let largeData = 20_000
    /// Optimiser steps a small data set is given (most of them cut short by early stopping).
    public static let stepBudget = 3_000

    public init(trainCount: Int, images: Bool, given: Set<Setting>) {
        self.trainCount = trainCount
        self.images = images
        self.given = given
    }

    var isSmall: Bool { !images && trainCount < Self.largeData }

    /// Batch size for small data: about N/16 rounded down to a power of two, between 8 and 128.
    var batchSize: Int {
        var b = 8
        while b * 2 <= trainCount / 16 && b < 128 { b *= 2 }
        return b
    }

    func epochs(batch: Int) -> Int {
        let stepsPerEpoch = max(1, (trainCount + batch - 1) / batch)
        return min(500, max(20, (Self.stepBudget + stepsPerEpoch - 1) / stepsPerEpoch))
    }

    /// `settings` with the planned values where the user gave none.
    public func apply(to settings: TrainSettings) -> TrainSettings {
        guard isSmall else { return settings }
        var s = settings
        if !given.contains(.batchSize) { s.batchSize = batchSize }
        if !given.contains(.epochs) { s.epochs = epochs(batch: s.batchSize) }
        if !given.contains(.patience) && !given.contains(.epochs) { s.patience = max(10, s.epochs / 10) }
        let chosen = Setting.allCases.filter { !given.contains($0) && $0 != .learningRate }
        if !chosen.isEmpty {
            var parts: [String] = []
            if !given.contains(.batchSize) { parts.append("batch \(s.batchSize)") }
            if !given.contains(.epochs) { parts.append("up to \(s.epochs) epochs (about \(s.epochs * max(1, (trainCount + s.batchSize - 1) / s.batchSize)) steps)") }
            if let p = s.patience, !given.contains(.patience) && !given.contains(.epochs) {
                parts.append("early stopping after \(p) epochs without a better validation loss, best weights restored")
            }
            s.defaultsNote = "defaults for \(trainCount) training rows: " + parts.joined(separator: ", ")
                + " (--epochs, --batch-size and --patience override)"
        }
        return s
    }

    /// What `apply` chose, as lines to print.
    public var notes: [String] {
        apply(to: TrainSettings()).defaultsNote.map { [$0] } ?? []
    }
}
