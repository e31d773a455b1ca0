import Foundation
import Testing
@testable import MyelinTrain
import MyelinCore

/// Metrics against values computed by hand with scikit-learn's definitions (the examples of its
/// documentation where there is one).
@Suite struct MetricsTests {
    static func close(_ a: Double, _ b: Double, _ tol: Double = 1e-12) -> Bool { Swift.abs(a - b) <= tol }

    @Test func accuracyOfArgmaxAndOfBinaryLogits() {
        let logits = Tensor([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [0.1, 0.2, 0.3], [5.0, 0.0, 0.0]])
        #expect(accuracy(logits: logits, labels: Tensor([0, 1, 1, 2])) == 0.5)
        // One logit per example: positive means class 1.
        #expect(accuracy(logits: Tensor([[1.5], [-0.5], [0.2], [-2.0]]), labels: Tensor([[1.0], [0.0], [0.0], [0.0]])) == 0.75)
        // One-hot targets.
        let oneHot = Tensor([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [1.0, 0, 0]])
        #expect(accuracy(logits: logits, labels: oneHot) == 1.0)
    }

    @Test func topKAccuracyAsSklearn() {
        // sklearn.metrics.top_k_accuracy_score documentation example: 0.75.
        let scores = Tensor([[0.5, 0.2, 0.2], [0.3, 0.4, 0.2], [0.2, 0.4, 0.3], [0.7, 0.2, 0.1]])
        let labels = Tensor([0, 1, 2, 2])
        #expect(topKAccuracy(logits: scores, labels: labels, k: 2) == 0.75)
        #expect(topKAccuracy(logits: scores, labels: labels, k: 1) == 0.5)
        #expect(topKAccuracy(logits: scores, labels: labels, k: 3) == 1.0)
        var m = TopKAccuracy(k: 2)
        m.update(outputs: scores[0..<1], targets: labels[0..<1])
        m.update(outputs: scores[1...], targets: labels[1...])
        #expect(m.value() == 0.75 && m.name == "top2_accuracy")
    }

    @Test func precisionRecallF1AsSklearn() {
        // precision_recall_fscore_support([0,1,2,0,1,2], [0,2,1,0,0,1]): class 0 has tp 2, fp 1,
        // fn 0; classes 1 and 2 have no true positives. Macro: (0.2222, 0.3333, 0.2667).
        let s = precisionRecallF1(predictions: [0, 2, 1, 0, 0, 1], labels: [0, 1, 2, 0, 1, 2], classes: 3)
        let twoThirds: Double = 2.0 / 3
        #expect(s.precision == [twoThirds, 0, 0])
        #expect(s.recall == [1, 0, 0])
        #expect(Self.close(s.f1[0], 0.8) && s.f1[1] == 0 && s.f1[2] == 0)
        #expect(s.support == [2, 2, 2])
        let twoNinths: Double = 2.0 / 9, third: Double = 1.0 / 3, f1: Double = 0.8 / 3
        #expect(Self.close(s.macroPrecision, twoNinths))
        #expect(Self.close(s.macroRecall, third))
        #expect(Self.close(s.macroF1, f1))
        let t = precisionRecallF1(predictions: Tensor([0, 2, 1, 0, 0, 1]), labels: Tensor([0, 1, 2, 0, 1, 2]), classes: 3)
        #expect(t == s)
    }

    @Test func regressionMetricsAsSklearn() {
        // The documentation examples of mean_squared_error, mean_absolute_error and r2_score.
        let yTrue = Tensor([3.0, -0.5, 2, 7]), yPred = Tensor([2.5, 0.0, 2, 8])
        #expect(Self.close(meanSquaredError(predictions: yPred, targets: yTrue), 0.375))
        #expect(Self.close(meanAbsoluteError(predictions: yPred, targets: yTrue), 0.5))
        #expect(Self.close(r2Score(predictions: yPred, targets: yTrue), 0.9486081370449679))
        // Multi-output, uniform average: r2_score([[0.5, 1], [-1, 1], [7, -6]], [[0, 2], [-1, 2], [8, -5]]).
        let mt = Tensor([[0.5, 1.0], [-1.0, 1.0], [7.0, -6.0]]), mp = Tensor([[0.0, 2.0], [-1.0, 2.0], [8.0, -5.0]])
        // Columns: SS_tot 217/6 and 98/3, SS_res 1.25 and 3 (uniform average 0.9368).
        let uniform: Double = 1 - (7.5 / 217 + 9.0 / 98) / 2
        #expect(Self.close(r2Score(predictions: mp, targets: mt), uniform))
        // Constant targets: 1 when predicted exactly, 0 otherwise (sklearn's force_finite).
        #expect(r2Score(predictions: Tensor([2.0, 2.0]), targets: Tensor([2.0, 2.0])) == 1)
        #expect(r2Score(predictions: Tensor([1.0, 2.0]), targets: Tensor([2.0, 2.0])) == 0)
    }

    @Test func streamingMetricsEqualTheirWholeArrayValues() {
        let g = RandomGenerator(seed: 11)
        let logits = Tensor.randn([50, 4], generator: g)
        let labels = Tensor.randint(0, 4, shape: [50], generator: g)
        let predictions = logits.argmax(axis: 1)
        let whole = precisionRecallF1(predictions: predictions, labels: labels, classes: 4)
        var metrics: [any Metric] = [Accuracy(), Precision(), Recall(), F1Score(), Precision(average: .weighted, name: "wp"),
                                     F1Score(average: .micro, name: "microf1")]
        for start in stride(from: 0, to: 50, by: 16) {
            let end = Swift.min(start + 16, 50)
            for i in metrics.indices { metrics[i].update(outputs: logits[start..<end], targets: labels[start..<end]) }
        }
        let acc = accuracy(logits: logits, labels: labels)
        #expect(Self.close(metrics[0].value(), acc))
        #expect(Self.close(metrics[1].value(), whole.macroPrecision))
        #expect(Self.close(metrics[2].value(), whole.macroRecall))
        #expect(Self.close(metrics[3].value(), whole.macroF1))
        #expect(Self.close(metrics[4].value(), whole.weightedPrecision))
        #expect(Self.close(metrics[5].value(), acc))

        let y = Tensor.randn([40, 2], generator: g), p = y + Tensor.normal([40, 2], std: 0.3, generator: g)
        var regression: [any Metric] = [MSE(), MAE(), R2Score()]
        for start in stride(from: 0, to: 40, by: 7) {
            let end = Swift.min(start + 7, 40)
            for i in regression.indices { regression[i].update(outputs: p[start..<end], targets: y[start..<end]) }
        }
        #expect(Self.close(regression[0].value(), meanSquaredError(predictions: p, targets: y), 1e-9))
        #expect(Self.close(regression[1].value(), meanAbsoluteError(predictions: p, targets: y), 1e-9))
        // The whole-array R² from its definition, per column, averaged.
        let yd = y.doubles, pd = p.doubles
        var r2 = 0.0
        for j in 0..<2 {
            let col = stride(from: j, to: 80, by: 2).map { yd[$0] }, pc = stride(from: j, to: 80, by: 2).map { pd[$0] }
            let mean = col.reduce(0, +) / 40
            let tot = col.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
            let res = zip(col, pc).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
            r2 += (1 - res / tot) / 2
        }
        #expect(Self.close(regression[2].value(), r2, 1e-9))
        regression[2].reset()
        #expect(regression[2].value().isNaN)
    }

    @Test func binaryPrecisionWithOneLogitPerExample() {
        // Logits > 0 predict class 1: predictions [1, 1, 0, 0], labels [1, 0, 1, 0].
        var p = Precision(), r = Recall()
        let out = Tensor([[2.0], [0.5], [-1.0], [-3.0]]), y = Tensor([[1.0], [0.0], [1.0], [0.0]])
        p.update(outputs: out, targets: y)
        r.update(outputs: out, targets: y)
        #expect(p.value() == 0.5 && r.value() == 0.5)
        #expect(p.confusionMatrix?.counts == [[1, 1], [1, 1]])
    }

    @Test func confusionMatrixAndReportAsSklearn() {
        // sklearn.metrics.classification_report documentation example, character for character.
        let cm = ConfusionMatrix(predictions: [0, 0, 2, 2, 1], labels: [0, 1, 2, 2, 2], classes: 3)
        #expect(cm.counts == [[1, 0, 0], [1, 0, 0], [0, 1, 2]])
        #expect(cm.precision == [0.5, 0, 1])
        let recall: [Double] = [1, 0, 2.0 / 3]
        #expect(cm.recall == recall)
        #expect(cm.support == [1, 1, 3])
        #expect(cm.accuracy == 0.6)
        let expected = """
                          precision    recall  f1-score   support

                 class 0       0.50      1.00      0.67         1
                 class 1       0.00      0.00      0.00         1
                 class 2       1.00      0.67      0.80         3

                accuracy                           0.60         5
               macro avg       0.50      0.56      0.49         5
            weighted avg       0.70      0.60      0.61         5

            """
        #expect(cm.report(classNames: ["class 0", "class 1", "class 2"]) == expected)
        #expect(cm.report().contains("           2       1.00      0.67      0.80         3\n"))
    }

    @Test func lossesAdaptTargets() {
        let logits = Tensor([[2.0, 1.0], [0.5, 1.5]])
        let ce = Loss.crossEntropy(logits, Tensor([0, 1]))
        #expect(ce.item() == Loss.crossEntropy(logits, Tensor([[0.0], [1.0]])).item())
        let out = Tensor([[1.0], [2.0]])
        #expect(Loss.mse(out, Tensor([1.0, 4.0])).item() == 2)
        #expect(Loss.l1(out, Tensor([1.0, 4.0])).item() == 1)
        let custom = Loss.custom(name: "sum") { p, t in (p - t).sum() }
        #expect(custom(out, Tensor([[0.0], [0.0]])).item() == 3)
        let log2 = Double(Float(log(2.0)))
        #expect(Loss.bceWithLogits(Tensor([[0.0]]), Tensor([1.0])).item() == log2)
    }
}

/// `.binary`: the positive class's score, as scikit-learn's default for two classes and Keras's
/// `Precision()`; values from scikit-learn 1.9 on the same labels and logits.
@Suite struct BinaryAveragingTests {
    @Test func binaryAverageIsThePositiveClass() {
        let labels = Tensor([1.0, 0, 1, 1, 0, 0, 1, 0, 1, 1, 0, 0]).reshape([12, 1])
        let logits = Tensor([0.5, -0.2, -1.0, 2.0, 0.3, -0.7, 0.1, 0.9, -0.4, 1.5, 0.2, -3]).reshape([12, 1])
        var p = Precision(average: .binary), r = Recall(average: .binary), f = F1Score(average: .binary)
        var macro = Precision()
        p.update(outputs: logits, targets: labels); r.update(outputs: logits, targets: labels)
        f.update(outputs: logits, targets: labels); macro.update(outputs: logits, targets: labels)
        #expect(Swift.abs(p.value() - 0.5714285714285714) < 1e-15 && Swift.abs(r.value() - 0.6666666666666666) < 1e-15)
        #expect(Swift.abs(f.value() - 0.6153846153846154) < 1e-15 && Swift.abs(macro.value() - 0.5857142857142856) < 1e-15)
    }
}
