import MyelinTrain

/// What watches a training from outside the run folder's own files: a dashboard's controls, and
/// how often per-layer statistics are recorded for it.
///
/// ```swift
/// var request = TrainRequest(source: .catalogue(name: "mnist"), out: "runs/mnist")
/// request.observers.histogramEvery = 50
/// request.observers.onStart = { target in [myCallback] }
/// ```
public struct RunObservers {
    /// Called once the run's folder is known, before the first batch: callbacks for the trainer,
    /// after the run's own. Throwing ends the command before training.
    public var onStart: ((_ target: RunFolder) throws -> [Callback])?
    /// Record weight, gradient and activation statistics (`insights.jsonl`) every this many
    /// optimiser steps; nil records none.
    public var histogramEvery: Int?

    public init() {}

    /// The callbacks for a run that will be in `target` and is written in `current` now.
    func callbacks(target: RunFolder, current: RunFolder) throws -> [Callback] {
        var callbacks: [Callback] = []
        if let every = histogramEvery {
            callbacks.append(InsightsLog(path: current.insights, every: every))
        }
        return callbacks + (try onStart?(target) ?? [])
    }
}
