import Foundation
import MyelinCore

// Metrics as free functions of whole arrays, with scikit-learn's definitions: precision, recall
// and F1 are 0 where their denominator is 0 (sklearn's `zero_division=0`), macro averages are plain
// means over the classes 0 ..< classes, and R² is 1 - SS_res / SS_tot averaged over output
// columns (1 when a column is constant and predicted exactly, 0 when constant and not).

/// The class each row of `outputs` predicts: the argmax of `[batch, classes]` scores, or for a
/// single score per example (`[batch]` or `[batch, 1]`) 1 when it exceeds `threshold`, else 0.
func predictedClasses(_ outputs: Tensor, threshold: Double = 0) -> [Int] {
    if outputs.rank >= 2 && outputs.shape[outputs.rank - 1] > 1 {
        return outputs.argmax(axis: -1).ints
    }
    return outputs.doubles.map { $0 > threshold ? 1 : 0 }
}

/// The true class of each example: integer labels as they are (a `[batch, 1]` column flattened);
/// float targets shaped like multi-class `outputs` (one-hot or probabilities) by their argmax;
/// other float targets (binary 0/1) rounded at 0.5.
func trueClasses(_ targets: Tensor, outputs: Tensor? = nil) -> [Int] {
    if targets.dtype == .int64 || targets.dtype == .int32 || targets.dtype == .bool { return targets.ints }
    if targets.rank >= 2 && targets.shape[targets.rank - 1] > 1 {
        return targets.argmax(axis: -1).ints
    }
    return targets.doubles.map { $0 >= 0.5 ? 1 : 0 }
}

/// The fraction of rows whose argmax (or, for one logit per row, whose sign) matches the label.
///
/// ```swift
/// accuracy(logits: Tensor([[2.0, 1.0], [0.0, 3.0]]), labels: Tensor([0, 0]))   // 0.5
/// ```
public func accuracy(logits: Tensor, labels: Tensor) -> Double {
    let p = predictedClasses(logits), t = trueClasses(labels, outputs: logits)
    require(p.count == t.count, "[accuracy] \(p.count) predictions for \(t.count) labels")
    if p.isEmpty { return .nan }
    return Double(zip(p, t).filter { $0 == $1 }.count) / Double(p.count)
}

/// The fraction of rows whose label is among the `k` highest scores (sklearn's `top_k_accuracy_score`).
///
/// ```swift
/// topKAccuracy(logits: scores, labels: labels, k: 5)
/// ```
public func topKAccuracy(logits: Tensor, labels: Tensor, k: Int) -> Double {
    let (hits, total) = topKHits(logits, labels, k: k)
    return total == 0 ? .nan : Double(hits) / Double(total)
}

func topKHits(_ logits: Tensor, _ labels: Tensor, k: Int) -> (Int, Int) {
    require(logits.rank == 2, "[topKAccuracy] expected scores [batch, classes], got \(logits.shape)")
    require(k > 0, "[topKAccuracy] k must be positive, got \(k)")
    let n = logits.shape[0], c = logits.shape[1]
    let t = trueClasses(labels, outputs: logits)
    require(t.count == n, "[topKAccuracy] \(n) rows of scores for \(t.count) labels")
    if k >= c { return (n, n) }
    let top = logits.topk(k, axis: 1).indices.ints
    var hits = 0
    for i in 0..<n where top[(i * k)..<((i + 1) * k)].contains(t[i]) { hits += 1 }
    return (hits, n)
}

/// Per-class precision, recall, F1 and support, with their macro and support-weighted averages.
public struct ClassificationScores: Equatable, Sendable {
    public var precision: [Double]
    public var recall: [Double]
    public var f1: [Double]
    /// The number of examples of each true class.
    public var support: [Int]
    /// Mean of the per-class values.
    public var macroPrecision: Double { mean(precision) }
    public var macroRecall: Double { mean(recall) }
    public var macroF1: Double { mean(f1) }
    /// Per-class values weighted by support.
    public var weightedPrecision: Double { weighted(precision) }
    public var weightedRecall: Double { weighted(recall) }
    public var weightedF1: Double { weighted(f1) }

    private func mean(_ v: [Double]) -> Double { v.isEmpty ? .nan : v.reduce(0, +) / Double(v.count) }
    private func weighted(_ v: [Double]) -> Double {
        let total = support.reduce(0, +)
        return total == 0 ? 0 : zip(v, support).reduce(0) { $0 + $1.0 * Double($1.1) } / Double(total)
    }
}

/// Precision, recall and F1 of each class `0 ..< classes` and their averages, as sklearn's
/// `precision_recall_fscore_support(labels, predictions, labels=range(classes))`.
///
/// ```swift
/// let s = precisionRecallF1(predictions: [0, 2, 1, 0, 0, 1], labels: [0, 1, 2, 0, 1, 2], classes: 3)
/// s.precision   // [0.667, 0, 0]
/// s.macroF1     // 0.267
/// ```
public func precisionRecallF1(predictions: [Int], labels: [Int], classes: Int) -> ClassificationScores {
    ConfusionMatrix(predictions: predictions, labels: labels, classes: classes).scores
}

/// `precisionRecallF1` on integer tensors of class indices.
public func precisionRecallF1(predictions: Tensor, labels: Tensor, classes: Int) -> ClassificationScores {
    precisionRecallF1(predictions: predictions.ints, labels: labels.ints, classes: classes)
}

/// Mean of the squared differences (sklearn's `mean_squared_error`).
public func meanSquaredError(predictions: Tensor, targets: Tensor) -> Double {
    let (p, t) = pairedValues("meanSquaredError", predictions, targets)
    return p.isEmpty ? .nan : zip(p, t).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } / Double(p.count)
}

/// Mean of the absolute differences (sklearn's `mean_absolute_error`).
public func meanAbsoluteError(predictions: Tensor, targets: Tensor) -> Double {
    let (p, t) = pairedValues("meanAbsoluteError", predictions, targets)
    return p.isEmpty ? .nan : zip(p, t).reduce(0) { $0 + Swift.abs($1.0 - $1.1) } / Double(p.count)
}

/// The coefficient of determination (sklearn's `r2_score`): per output column (the last axis of a
/// rank-2 tensor) 1 - SS_res / SS_tot, averaged uniformly over columns.
///
/// ```swift
/// r2Score(predictions: Tensor([2.5, 0.0, 2, 8]), targets: Tensor([3, -0.5, 2, 7]))   // 0.9486
/// ```
public func r2Score(predictions: Tensor, targets: Tensor) -> Double {
    var r = R2Score()
    r.update(outputs: predictions, targets: targets)
    return r.value()
}

/// Both tensors as Doubles in row-major order, checking their counts agree.
func pairedValues(_ op: String, _ predictions: Tensor, _ targets: Tensor) -> ([Double], [Double]) {
    require(predictions.count == targets.count,
                 "[\(op)] predictions \(predictions.shape) and targets \(targets.shape) hold different counts")
    return (predictions.doubles, targets.doubles)
}

/// Counts of (true class, predicted class) pairs, with per-class precision, recall and F1 and a
/// scikit-learn-style text report.
///
/// ```swift
/// let cm = ConfusionMatrix(predictions: [0, 0, 2, 2, 1], labels: [0, 1, 2, 2, 2], classes: 3)
/// cm.counts[2][1]   // 1: one example of class 2 predicted as class 1
/// print(cm.report(classNames: ["cat", "dog", "bird"]))
/// ```
public struct ConfusionMatrix: Equatable, Sendable {
    /// `counts[trueClass][predictedClass]`.
    public private(set) var counts: [[Int]]
    public var classes: Int { counts.count }

    public init(classes: Int) {
        require(classes > 0, "[confusionMatrix] the number of classes must be positive, got \(classes)")
        counts = Array(repeating: Array(repeating: 0, count: classes), count: classes)
    }

    public init(predictions: [Int], labels: [Int], classes: Int) {
        self.init(classes: classes)
        add(predictions: predictions, labels: labels)
    }

    /// Counts more pairs.
    public mutating func add(predictions: [Int], labels: [Int]) {
        require(predictions.count == labels.count,
                     "[confusionMatrix] \(predictions.count) predictions for \(labels.count) labels")
        for (p, t) in zip(predictions, labels) {
            require(p >= 0 && p < classes && t >= 0 && t < classes,
                         "[confusionMatrix] class \(p >= 0 && p < classes ? t : p) is outside 0..<\(classes)")
            counts[t][p] += 1
        }
    }

    public var total: Int { counts.reduce(0) { $0 + $1.reduce(0, +) } }
    /// The number of examples of each true class (row sums).
    public var support: [Int] { counts.map { $0.reduce(0, +) } }
    /// The number of predictions of each class (column sums).
    public var predicted: [Int] { (0..<classes).map { c in counts.reduce(0) { $0 + $1[c] } } }
    public var truePositives: [Int] { (0..<classes).map { counts[$0][$0] } }
    /// The fraction of examples on the diagonal.
    public var accuracy: Double {
        total == 0 ? .nan : Double(truePositives.reduce(0, +)) / Double(total)
    }
    /// tp / (tp + fp) per class, 0 for a class never predicted.
    public var precision: [Double] { zip(truePositives, predicted).map { $1 == 0 ? 0 : Double($0) / Double($1) } }
    /// tp / (tp + fn) per class, 0 for a class with no examples.
    public var recall: [Double] { zip(truePositives, support).map { $1 == 0 ? 0 : Double($0) / Double($1) } }
    /// 2 tp / (2 tp + fp + fn) per class (the harmonic mean of precision and recall), 0 when undefined.
    public var f1: [Double] {
        (0..<classes).map { c in
            let d = predicted[c] + support[c]
            return d == 0 ? 0 : 2 * Double(truePositives[c]) / Double(d)
        }
    }
    public var scores: ClassificationScores {
        ClassificationScores(precision: precision, recall: recall, f1: f1, support: support)
    }

    /// The table of sklearn's `classification_report` (2 decimals by default): one row per class,
    /// then accuracy, macro and weighted averages.
    ///
    /// ```
    ///               precision    recall  f1-score   support
    ///
    ///      class 0       0.50      1.00      0.67         1
    ///      ...
    ///     accuracy                           0.60         5
    ///    macro avg       0.50      0.56      0.49         5
    /// weighted avg       0.70      0.60      0.61         5
    /// ```
    public func report(classNames: [String]? = nil, digits: Int = 2) -> String {
        let names = classNames ?? (0..<classes).map(String.init)
        require(names.count == classes, "[confusionMatrix] \(names.count) class names for \(classes) classes")
        let width = max(names.map(\.count).max() ?? 0, "weighted avg".count, digits)
        func right(_ s: String, _ w: Int) -> String { String(repeating: " ", count: max(0, w - s.count)) + s }
        func number(_ v: Double) -> String { String(format: "%.\(digits)f", v) }
        func row(_ name: String, _ values: [String], _ support: Int) -> String {
            right(name, width) + " " + values.map { " " + right($0, 9) }.joined() + " " + right(String(support), 9) + "\n"
        }
        let s = scores, n = total
        var out = right("", width) + " " + ["precision", "recall", "f1-score", "support"].map { " " + right($0, 9) }.joined() + "\n\n"
        for c in 0..<classes {
            out += row(names[c], [number(s.precision[c]), number(s.recall[c]), number(s.f1[c])], s.support[c])
        }
        out += "\n"
        out += row("accuracy", ["", "", number(n == 0 ? 0 : accuracy)], n)
        out += row("macro avg", [number(s.macroPrecision), number(s.macroRecall), number(s.macroF1)], n)
        out += row("weighted avg", [number(s.weightedPrecision), number(s.weightedRecall), number(s.weightedF1)], n)
        return out
    }
}
