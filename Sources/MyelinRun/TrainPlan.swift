import Foundation

/// The settings `myelin train` chooses from the data's size for what the user did not give, so
/// that the plain command trains to convergence. With N training rows (after the test and
/// validation parts are held out):
///
///     batch    = clamp(nextPow2(ceil(N / 16)), 16, 128)
///     epochs   = clamp(ceil(3000 / ceil(N / batch)), 10, 500)    about 3,000 optimiser steps
///     patience = max(10, epochs / 10)                           early stopping, best weights restored
///     cosine decay of the learning rate over the epochs
///
/// Small tables get small batches and hundreds of epochs (most cut short by early stopping);
/// from N = 38,400 on the rule gives today's 10 epochs of 128 (MNIST). An option the user gives
/// always wins; giving `--epochs` also turns the early stopping off unless `--patience` is given.
/// The rule and its measurements: docs/defaults-study.md.
///
/// ```swift
/// let settings = TrainPlan(trainCount: 108, images: false, given: []).apply(to: TrainSettings())
/// // batch 16, up to 429 epochs, patience 42, cosine
/// ```
public struct TrainPlan: Sendable {
    /// The settings a plan may choose.
    public enum Setting: String, CaseIterable, Hashable, Sendable {
        case epochs, batchSize, patience, learningRate, cosine
    }

    public let trainCount: Int
    public let images: Bool
    public let given: Set<Setting>

    /// Optimiser steps the epochs are chosen to give.
    public static let stepBudget = 3_000

    public init(trainCount: Int, images: Bool, given: Set<Setting>) {
        self.trainCount = trainCount
        self.images = images
        self.given = given
    }

    /// `ceil(N / 16)` rounded up to a power of two, between 16 and 128.
    var batchSize: Int {
        let target = (trainCount + 15) / 16
        var b = 16
        while b < target && b < 128 { b *= 2 }
        return b
    }

    func epochs(batch: Int) -> Int {
        let stepsPerEpoch = max(1, (trainCount + batch - 1) / batch)
        return min(500, max(10, (Self.stepBudget + stepsPerEpoch - 1) / stepsPerEpoch))
    }

    /// `settings` with the planned values where the user gave none, and `defaultsNote` saying what was chosen.
    public func apply(to settings: TrainSettings) -> TrainSettings {
        var s = settings
        var parts: [String] = []
        if !given.contains(.batchSize) {
            s.batchSize = batchSize
            parts.append("batch \(s.batchSize)")
        }
        if !given.contains(.epochs) {
            s.epochs = epochs(batch: s.batchSize)
            let steps = s.epochs * max(1, (trainCount + s.batchSize - 1) / s.batchSize)
            parts.append("up to \(s.epochs) epochs (\(steps.grouped) steps)")
            if !given.contains(.patience) {
                s.patience = max(10, s.epochs / 10)
                parts.append("early stopping after \(s.patience!) epochs without a better \(s.validationSplit > 0 ? "validation " : "")loss, best weights restored")
            }
        }
        if !given.contains(.cosine) {
            s.cosine = true
            parts.append("cosine learning-rate decay")
        }
        if !parts.isEmpty {
            s.defaultsNote = "defaults for \(trainCount.grouped) training rows: " + parts.joined(separator: ", ")
                + " (--batch-size, --epochs, --patience, --no-cosine override)"
        }
        return s
    }
}
