import Foundation
import MyelinCore

/// A metric accumulated over batches: `reset()` at the start of an epoch (or evaluation),
/// `update(outputs:targets:)` after each batch, `value()` at any point for the value so far.
///
/// Outputs are what the model returns (logits for classifiers) and targets what the loader gives;
/// `Trainer` passes them detached, outside the graph. The value over several batches equals the
/// value over their concatenation. `name` is the key in logs and `History` (`val_` is prefixed for
/// validation).
///
/// ```swift
/// struct MeanOutput: Metric {
///     var name: String { "mean_output" }
///     var sum = 0.0, count = 0
///     mutating func reset() { sum = 0; count = 0 }
///     mutating func update(outputs: Tensor, targets: Tensor) { sum += outputs.sum().item(); count += outputs.count }
///     func value() -> Double { sum / Double(count) }
/// }
/// ```
public protocol Metric {
    var name: String { get }
    mutating func reset()
    mutating func update(outputs: Tensor, targets: Tensor)
    func value() -> Double
}

/// The fraction of examples classified correctly: argmax of `[batch, classes]` outputs against
/// integer labels (or one-hot targets); for one output per example, outputs above `threshold`
/// (0 for logits; pass 0.5 for probabilities) against 0/1 targets.
///
/// ```swift
/// Trainer(model: model, optimizer: opt, loss: .crossEntropy, metrics: [Accuracy()])
/// ```
public struct Accuracy: Metric {
    public var name: String
    public let threshold: Double
    private var correct = 0, total = 0

    public init(threshold: Double = 0, name: String = "accuracy") {
        self.threshold = threshold
        self.name = name
    }

    public mutating func reset() { correct = 0; total = 0 }

    public mutating func update(outputs: Tensor, targets: Tensor) {
        let p = predictedClasses(outputs, threshold: threshold), t = trueClasses(targets, outputs: outputs)
        require(p.count == t.count, "[accuracy] \(p.count) predictions for \(t.count) targets")
        correct += zip(p, t).filter { $0 == $1 }.count
        total += p.count
    }

    public func value() -> Double { total == 0 ? .nan : Double(correct) / Double(total) }
}

/// The fraction of examples whose label is among the `k` highest outputs. Named `top<k>_accuracy`.
public struct TopKAccuracy: Metric {
    public var name: String
    public let k: Int
    private var hits = 0, total = 0

    public init(k: Int = 5, name: String? = nil) {
        require(k > 0, "[topKAccuracy] k must be positive, got \(k)")
        self.k = k
        self.name = name ?? "top\(k)_accuracy"
    }

    public mutating func reset() { hits = 0; total = 0 }

    public mutating func update(outputs: Tensor, targets: Tensor) {
        let (h, n) = topKHits(outputs, targets, k: k)
        hits += h
        total += n
    }

    public func value() -> Double { total == 0 ? .nan : Double(hits) / Double(total) }
}

/// How per-class precision, recall or F1 are combined into one number.
public enum Averaging: String, Sendable {
    /// The plain mean over classes (sklearn's `average="macro"`).
    case macro
    /// The mean weighted by each class's number of true examples (`average="weighted"`).
    case weighted
    /// From the pooled counts (`average="micro"`): equal to accuracy for single-label classes.
    case micro
    /// The positive class's (class 1) score alone: sklearn's `average="binary"`, and what Keras's
    /// `Precision()` and `Recall()` give for one sigmoid output.
    case binary
}

/// Precision, recall and F1 over a streamed confusion matrix. The classes are `0 ..< outputs.shape[-1]`
/// for multi-class outputs (2 for one output per example), or `classes` when given; the matrix grows
/// if a label beyond them appears.
struct StreamingConfusion {
    var classes: Int?
    let threshold: Double
    var matrix: ConfusionMatrix?

    mutating func reset() { matrix = nil }

    mutating func update(outputs: Tensor, targets: Tensor) {
        let p = predictedClasses(outputs, threshold: threshold), t = trueClasses(targets, outputs: outputs)
        let fromOutputs = outputs.rank >= 2 && outputs.shape[outputs.rank - 1] > 1 ? outputs.shape[outputs.rank - 1] : 2
        let needed = max(classes ?? fromOutputs, (p.max() ?? 0) + 1, (t.max() ?? 0) + 1, matrix?.classes ?? 0)
        if matrix == nil || matrix!.classes < needed {
            var grown = ConfusionMatrix(classes: needed)
            if let old = matrix {
                for i in 0..<old.classes {
                    for j in 0..<old.classes where old.counts[i][j] > 0 {
                        grown.add(predictions: Array(repeating: j, count: old.counts[i][j]),
                                  labels: Array(repeating: i, count: old.counts[i][j]))
                    }
                }
            }
            matrix = grown
        }
        matrix!.add(predictions: p, labels: t)
    }

    /// The score's average over the matrix so far (NaN before any example); micro-averages are accuracy.
    func value(_ average: Averaging, macro: KeyPath<ClassificationScores, Double>,
               weighted: KeyPath<ClassificationScores, Double>, perClass: KeyPath<ClassificationScores, [Double]>) -> Double {
        guard let m = matrix, m.total > 0 else { return .nan }
        switch average {
        case .macro: return m.scores[keyPath: macro]
        case .weighted: return m.scores[keyPath: weighted]
        case .micro: return m.accuracy
        case .binary:
            require(m.classes == 2, "[\(average)] the binary average needs two classes, got \(m.classes)")
            return m.scores[keyPath: perClass][1]
        }
    }
}

/// Precision, recall and F1: one streamed confusion matrix each, averaged by `average`. The three
/// metrics differ only in their name and in which of `ClassificationScores`' averages they read.
public protocol ConfusionScoreMetric: Metric {
    /// How the per-class scores are combined.
    var average: Averaging { get }
    /// The confusion matrix accumulated so far.
    var confusionMatrix: ConfusionMatrix? { get }
}

/// The shared body of `Precision`, `Recall` and `F1Score`.
protocol StreamingConfusionMetric: ConfusionScoreMetric {
    var state: StreamingConfusion { get set }
    /// The macro and weighted averages of this score in `ClassificationScores`.
    static var macro: KeyPath<ClassificationScores, Double> { get }
    static var weighted: KeyPath<ClassificationScores, Double> { get }
    /// This score of each class.
    static var perClass: KeyPath<ClassificationScores, [Double]> { get }
}

extension StreamingConfusionMetric {
    public mutating func reset() { state.reset() }
    public mutating func update(outputs: Tensor, targets: Tensor) { state.update(outputs: outputs, targets: targets) }
    public func value() -> Double { state.value(average, macro: Self.macro, weighted: Self.weighted, perClass: Self.perClass) }
    public var confusionMatrix: ConfusionMatrix? { state.matrix }
}

/// Precision (tp / (tp + fp)) averaged over classes; see `Averaging`.
public struct Precision: StreamingConfusionMetric {
    public var name: String
    public let average: Averaging
    var state: StreamingConfusion
    static var macro: KeyPath<ClassificationScores, Double> { \.macroPrecision }
    static var weighted: KeyPath<ClassificationScores, Double> { \.weightedPrecision }
    static var perClass: KeyPath<ClassificationScores, [Double]> { \.precision }

    public init(average: Averaging = .macro, classes: Int? = nil, threshold: Double = 0, name: String = "precision") {
        (self.name, self.average, state) = (name, average, StreamingConfusion(classes: classes, threshold: threshold))
    }
}

/// Recall (tp / (tp + fn)) averaged over classes; see `Averaging`.
public struct Recall: StreamingConfusionMetric {
    public var name: String
    public let average: Averaging
    var state: StreamingConfusion
    static var macro: KeyPath<ClassificationScores, Double> { \.macroRecall }
    static var weighted: KeyPath<ClassificationScores, Double> { \.weightedRecall }
    static var perClass: KeyPath<ClassificationScores, [Double]> { \.recall }

    public init(average: Averaging = .macro, classes: Int? = nil, threshold: Double = 0, name: String = "recall") {
        (self.name, self.average, state) = (name, average, StreamingConfusion(classes: classes, threshold: threshold))
    }
}

/// F1 (2 tp / (2 tp + fp + fn)) averaged over classes; see `Averaging`.
public struct F1Score: StreamingConfusionMetric {
    public var name: String
    public let average: Averaging
    var state: StreamingConfusion
    static var macro: KeyPath<ClassificationScores, Double> { \.macroF1 }
    static var weighted: KeyPath<ClassificationScores, Double> { \.weightedF1 }
    static var perClass: KeyPath<ClassificationScores, [Double]> { \.f1 }

    public init(average: Averaging = .macro, classes: Int? = nil, threshold: Double = 0, name: String = "f1") {
        (self.name, self.average, state) = (name, average, StreamingConfusion(classes: classes, threshold: threshold))
    }
}

/// Mean squared error over every element. Named `mse`.
public struct MSE: Metric {
    public var name: String
    private var sum = 0.0, count = 0

    public init(name: String = "mse") { self.name = name }
    public mutating func reset() { sum = 0; count = 0 }
    public mutating func update(outputs: Tensor, targets: Tensor) {
        let (p, t) = pairedValues("MSE", outputs, targets)
        for (a, b) in zip(p, t) { sum += (a - b) * (a - b) }
        count += p.count
    }
    public func value() -> Double { count == 0 ? .nan : sum / Double(count) }
}

/// Mean absolute error over every element. Named `mae`.
public struct MAE: Metric {
    public var name: String
    private var sum = 0.0, count = 0

    public init(name: String = "mae") { self.name = name }
    public mutating func reset() { sum = 0; count = 0 }
    public mutating func update(outputs: Tensor, targets: Tensor) {
        let (p, t) = pairedValues("MAE", outputs, targets)
        for (a, b) in zip(p, t) { sum += Swift.abs(a - b) }
        count += p.count
    }
    public func value() -> Double { count == 0 ? .nan : sum / Double(count) }
}

/// The coefficient of determination, as sklearn's `r2_score` with uniform averaging over output
/// columns (the last axis of rank-2 outputs; one column otherwise). Named `r2`.
///
/// Streams with Chan's pairwise update of each column's mean and sum of squared deviations, so the
/// result over batches matches the one over all rows up to rounding.
public struct R2Score: Metric {
    public var name: String
    private var n = 0
    private var mean: [Double] = [], m2: [Double] = [], residual: [Double] = []

    public init(name: String = "r2") { self.name = name }

    public mutating func reset() { n = 0; mean = []; m2 = []; residual = [] }

    public mutating func update(outputs: Tensor, targets: Tensor) {
        let (p, t) = pairedValues("R2Score", outputs, targets)
        let columns = targets.rank == 2 ? targets.shape[1] : (outputs.rank == 2 && outputs.count == targets.count ? outputs.shape[1] : 1)
        require(columns > 0 && p.count % columns == 0, "[r2Score] cannot split \(p.count) values into \(columns) columns")
        if mean.isEmpty {
            mean = Array(repeating: 0, count: columns); m2 = mean; residual = mean
        }
        require(columns == mean.count, "[r2Score] \(columns) output columns after \(mean.count) earlier")
        let rows = p.count / columns
        if rows == 0 { return }
        for j in 0..<columns {
            var batchMean = 0.0
            for i in 0..<rows { batchMean += t[i * columns + j] }
            batchMean /= Double(rows)
            var batchM2 = 0.0, res = 0.0
            for i in 0..<rows {
                let y = t[i * columns + j]
                batchM2 += (y - batchMean) * (y - batchMean)
                res += (y - p[i * columns + j]) * (y - p[i * columns + j])
            }
            let total = n + rows
            let delta = batchMean - mean[j]
            m2[j] += batchM2 + delta * delta * Double(n) * Double(rows) / Double(total)
            mean[j] += delta * Double(rows) / Double(total)
            residual[j] += res
        }
        n += rows
    }

    public func value() -> Double {
        if n == 0 { return .nan }
        let scores = zip(residual, m2).map { res, tot -> Double in
            if tot == 0 { return res == 0 ? 1 : 0 }
            return 1 - res / tot
        }
        return scores.reduce(0, +) / Double(scores.count)
    }
}
