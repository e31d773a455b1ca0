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
                          scaling: RunData.Scaling, classes: Int, binaryLogit: Bool = false) -> Evaluation {
        let outputs = model.predict(data.inputs, batchSize: 1000)
        switch task {
        case .classification:
            let labels = data.targets.to(.int64).reshape([-1])
            let predicted = binaryLogit ? (outputs .> 0).to(.int64).reshape([-1]) : outputs.argmax(axis: 1)
            let matrix = ConfusionMatrix(predictions: predicted.scalars(as: Int64.self).map { Int($0) },
                                         labels: labels.scalars(as: Int64.self).map { Int($0) }, classes: classes)
            let loss = binaryLogit ? binaryCrossEntropyWithLogits(outputs, labels.reshape([-1, 1]).to(outputs.dtype)).item()
                                   : crossEntropy(outputs, labels: labels).item()
            return Evaluation(metrics: ["loss": loss, "accuracy": matrix.accuracy,
                                        "macro_f1": matrix.scores.macroF1],
                              confusion: matrix, count: labels.count)
        case .regression:
            // Figures in the target's own units; the loss in the standardised units the model trained on.
            let predicted = scaling.targetsBack(outputs), truth = scaling.targetsBack(data.targets)
            let mse = meanSquaredError(predictions: predicted, targets: truth)
            return Evaluation(metrics: ["loss": mseLoss(outputs, data.targets.to(outputs.dtype)).item(), "mse": mse,
                                        "rmse": mse.squareRoot(), "mae": meanAbsoluteError(predictions: predicted, targets: truth),
                                        "r2": r2Score(predictions: predicted, targets: truth)],
                              confusion: nil, count: truth.shape[0])
        }
    }

    /// One line: `accuracy 0.9812  macro_f1 0.9810  loss 0.0612  (10000 examples)`.
    public var line: String {
        let order = ["accuracy", "macro_f1", "r2", "rmse", "mae", "mse", "loss"]
        let parts = order.compactMap { key in metrics[key].map { "\(key) \(format($0))" } }
        return parts.joined(separator: "  ") + "  (\(count) examples)"
    }
}

/// `summary`'s lines of a run's results.json: one per part (`test: accuracy 0.97  loss 0.1`),
/// nothing when the file is missing or not parts of numbers.
func resultsLines(_ run: RunFolder) -> String {
    guard let data = FileManager.default.contents(atPath: run.results),
          let results = try? RunFolder.decoder.decode([String: [String: Double]].self, from: data) else { return "" }
    return results.keys.sorted().map { part in
        "\(part): " + results[part]!.keys.sorted().map { "\($0) \(format(results[part]![$0]!))" }.joined(separator: "  ") + "\n"
    }.joined()
}

/// `summary`'s lines of a trained network's run: the epochs in history.json, then `resultsLines`.
func trainedLines(_ run: RunFolder) -> String {
    var text = ""
    if FileManager.default.fileExists(atPath: run.history), let history = try? History.load(from: run.history) {
        text += "trained epochs: \(history.epochs.count)\n"
    }
    return text + resultsLines(run)
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
