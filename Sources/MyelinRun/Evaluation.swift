import Foundation
import MyelinCore
import MyelinNN
import MyelinTrain

/// A model's figures on one data set: what `results.json` and `myelin evaluate` report.
public struct Evaluation {
    /// `loss`, and `accuracy`/`macro_f1` (classification) or `mse`/`rmse`/`mae`/`r2` in the
    /// target's own units (regression).
    public var metrics: [String: Double]
    /// Rows are true classes (classification only).
    public var confusion: ConfusionMatrix?
    public var count: Int

    /// Runs `model` over `data` in eval mode, in batches, without recording a graph.
    public static func of(_ model: Module, on data: TensorDataset, task: RunDescription.Task,
                          scaling: RunData.Scaling, classes: Int) -> Evaluation {
        let outputs = RunModel.outputs(model, data.inputs)
        switch task {
        case .classification:
            let labels = data.targets.to(.int64)
            let loss = crossEntropy(outputs, labels: labels).item()
            let predicted = outputs.argmax(axis: 1).scalars(as: Int64.self).map { Int($0) }
            let truth = labels.scalars(as: Int64.self).map { Int($0) }
            let matrix = ConfusionMatrix(predictions: predicted, labels: truth, classes: classes)
            let correct = zip(predicted, truth).filter { $0 == $1 }.count
            return Evaluation(metrics: ["loss": loss, "accuracy": Double(correct) / Double(max(truth.count, 1)),
                                        "macro_f1": matrix.scores.macroF1],
                              confusion: matrix, count: truth.count)
        case .regression:
            let loss = mseLoss(outputs, data.targets.to(outputs.dtype)).item()
            let predicted = scaling.targetsBack(outputs).doubles
            let truth = scaling.targetsBack(data.targets.to(.float32)).doubles
            let n = Double(max(truth.count, 1))
            let mse = zip(predicted, truth).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) / n
            let mae = zip(predicted, truth).map { abs($0 - $1) }.reduce(0, +) / n
            let mean = truth.reduce(0, +) / n
            let total = truth.map { ($0 - mean) * ($0 - mean) }.reduce(0, +)
            let r2 = total > 0 ? 1 - mse * n / total : 0
            return Evaluation(metrics: ["loss": loss, "mse": mse, "rmse": mse.squareRoot(), "mae": mae, "r2": r2],
                              confusion: nil, count: truth.count)
        }
    }

    /// One line: `accuracy 0.9812  macro_f1 0.9810  loss 0.0612  (10000 examples)`.
    public var line: String {
        let order = ["accuracy", "macro_f1", "r2", "rmse", "mae", "mse", "loss"]
        let parts = order.compactMap { key in metrics[key].map { "\(key) \(format($0))" } }
        return parts.joined(separator: "  ") + "  (\(count) examples)"
    }
}

func format(_ value: Double) -> String {
    guard value.isFinite else { return "\(value)" }
    if value == value.rounded() && abs(value) < 1e15 { return String(Int(value)) }
    let magnitude = abs(value)
    if magnitude != 0 && (magnitude >= 1e5 || magnitude < 1e-3) {
        return String(format: "%.4e", value)
    }
    return String(format: "%.4f", value)
}
