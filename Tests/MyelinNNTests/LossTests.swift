import Foundation
import Testing
@testable import MyelinNN
import MyelinCore
import MyelinTestSupport

extension FixtureCase {
    var reduction: Reduction {
        switch string("reduction") {
        case "mean": return .mean
        case "sum": return .sum
        case "none": return .none
        case let r: fatalError("fixture \(name): unknown reduction \(r ?? "nil")")
        }
    }
    var klReduction: KLReduction {
        switch string("reduction") {
        case "batchmean": return .batchMean
        case "mean": return .mean
        case "sum": return .sum
        default: return .none
        }
    }
    var ignoreIndex: Int? { has("ignoreIndex") ? int("ignoreIndex") : nil }
}

/// Losses against PyTorch, then against finite differences, then their behaviour and errors.
@Suite struct LossTests {
    static let table: [String: FunctionalFixtures.Function] = [
        "mseLoss": { x, c in mseLoss(x["input"]!, x["target"]!, reduction: c.reduction) },
        "l1Loss": { x, c in l1Loss(x["input"]!, x["target"]!, reduction: c.reduction) },
        "huberLoss": { x, c in huberLoss(x["input"]!, x["target"]!, delta: c.double("delta", or: 1), reduction: c.reduction) },
        "smoothL1Loss": { x, c in smoothL1Loss(x["input"]!, x["target"]!, beta: c.double("beta", or: 1), reduction: c.reduction) },
        "binaryCrossEntropy": { x, c in
            binaryCrossEntropy(x["probabilities"]!, x["target"]!, weight: x["weight"], reduction: c.reduction)
        },
        "bceWithLogits": { x, c in
            binaryCrossEntropyWithLogits(x["logits"]!, x["target"]!, weight: x["weight"], posWeight: x["posWeight"],
                                         reduction: c.reduction)
        },
        "crossEntropy": { x, c in
            crossEntropy(x["logits"]!, labels: x["labels"]!, weight: x["weight"], labelSmoothing: c.double("labelSmoothing", or: 0),
                         ignoreIndex: c.ignoreIndex, reduction: c.reduction)
        },
        "nllLoss": { x, c in
            nllLoss(x["logProbabilities"]!, labels: x["labels"]!, weight: x["weight"], ignoreIndex: c.ignoreIndex,
                    reduction: c.reduction)
        },
        "crossEntropyProbabilities": { x, c in
            crossEntropy(x["logits"]!, probabilities: x["probabilities"]!, weight: x["weight"],
                         labelSmoothing: c.double("labelSmoothing", or: 0), reduction: c.reduction)
        },
        "klDivergence": { x, c in
            klDivergence(x["input"]!, x["target"]!, logTarget: c.bool("logTarget"), reduction: c.klReduction)
        },
    ]

    @Test(arguments: FunctionalFixtures.cases(in: table))
    func matchesPyTorch(_ c: FixtureCase) {
        FunctionalFixtures.check(c, Self.table[c.op]!)
    }

    /// Every op of the fixture file has a row in one of the two tables, and every loss has fixtures.
    @Test func everyFixtureHasAFunction() {
        let ops = Set(FunctionalFixtures.all.map(\.op))
        let known = Set(Self.table.keys).union(ActivationTests.table.keys)
        #expect(ops.subtracting(known).isEmpty, "\(ops.subtracting(known).sorted())")
        #expect(Set(Self.table.keys).subtracting(ops).isEmpty)
    }

    // MARK: Finite differences (Float64)

    struct Row: CustomTestStringConvertible, Sendable {
        let name: String
        /// Maps standard normals of `shapes` to valid arguments (probabilities, positive weights, ...).
        let shapes: [[Int]]
        let domain: @Sendable ([Tensor]) -> [Tensor]
        let f: @Sendable ([Tensor]) -> Tensor
        var testDescription: String { name }
        init(_ name: String, _ shapes: [[Int]], domain: @escaping @Sendable ([Tensor]) -> [Tensor] = { $0 },
             _ f: @escaping @Sendable ([Tensor]) -> Tensor) {
            self.name = name; self.shapes = shapes; self.domain = domain; self.f = f
        }
    }

    static let probabilities: @Sendable (Tensor) -> Tensor = { $0.sigmoid() * 0.9 + 0.05 }
    static let positive: @Sendable (Tensor) -> Tensor = { $0.abs() + 0.2 }

    /// Every argument that is a float tensor is checked, weights and targets included.
    static let rows: [Row] = [
        Row("mse mean", [[3, 4], [3, 4]]) { mseLoss($0[0], $0[1]) },
        Row("mse none", [[3, 4], [3, 4]]) { mseLoss($0[0], $0[1], reduction: .none) },
        Row("l1 sum", [[3, 4], [3, 4]]) { l1Loss($0[0], $0[1], reduction: .sum) },
        Row("huber", [[4, 5], [4, 5]]) { huberLoss($0[0], $0[1], delta: 0.7) },
        Row("smoothL1", [[4, 5], [4, 5]]) { smoothL1Loss($0[0], $0[1], beta: 0.6, reduction: .none) },
        Row("smoothL1 beta 0", [[4, 5], [4, 5]]) { smoothL1Loss($0[0], $0[1], beta: 0) },
        Row("binaryCrossEntropy", [[3, 4], [3, 4], [4]], domain: { [probabilities($0[0]), probabilities($0[1]), positive($0[2])] }) {
            binaryCrossEntropy($0[0], $0[1], weight: $0[2])
        },
        Row("binaryCrossEntropyWithLogits", [[3, 4], [3, 4], [3, 1], [4]],
            domain: { [$0[0] * 4, probabilities($0[1]), positive($0[2]), positive($0[3])] }) {
            binaryCrossEntropyWithLogits($0[0], $0[1], weight: $0[2], posWeight: $0[3], reduction: .sum)
        },
        Row("crossEntropy", [[5, 4]]) { crossEntropy($0[0] * 3, labels: Tensor([1, 0, 3, 3, 2])) },
        Row("crossEntropy weight smoothing ignore", [[5, 4], [4]], domain: { [$0[0] * 3, positive($0[1])] }) {
            crossEntropy($0[0], labels: Tensor([1, -100, 3, 3, 2]), weight: $0[1], labelSmoothing: 0.2, ignoreIndex: -100)
        },
        Row("crossEntropy spatial none", [[2, 3, 4]]) {
            crossEntropy($0[0], labels: Tensor([[0, 2, 1, 1], [2, 2, 0, 1]]), labelSmoothing: 0.1, reduction: .none)
        },
        Row("crossEntropy unbatched", [[4]]) { crossEntropy($0[0], labels: Tensor(scalar: Int64(3))) },
        Row("nllLoss", [[5, 4], [4]], domain: { [$0[0].logSoftmax(axis: 1), positive($0[1])] }) {
            nllLoss($0[0], labels: Tensor([1, 0, 3, 3, 2]), weight: $0[1], ignoreIndex: 3, reduction: .mean)
        },
        Row("crossEntropy probabilities", [[4, 5], [4, 5], [5]],
            domain: { [$0[0] * 2, $0[1].softmax(axis: 1), positive($0[2])] }) {
            crossEntropy($0[0], probabilities: $0[1], weight: $0[2], labelSmoothing: 0.2)
        },
        Row("klDivergence batchMean", [[3, 4], [3, 4]], domain: { [$0[0].logSoftmax(axis: 1), $0[1].softmax(axis: 1)] }) {
            klDivergence($0[0], $0[1], reduction: .batchMean)
        },
        Row("klDivergence logTarget none", [[3, 4], [3, 4]], domain: { [$0[0].logSoftmax(axis: 1), $0[1].logSoftmax(axis: 1)] }) {
            klDivergence($0[0], $0[1], logTarget: true, reduction: .none)
        },
    ]

    @Test(arguments: rows)
    func matchesFiniteDifferences(_ row: Row) {
        let g = RandomGenerator(seed: 9)
        let inputs = row.domain(row.shapes.map { Tensor.normal($0, dtype: .float64, generator: g) })
        for (i, r) in gradCheck(inputs, row.f).enumerated() {
            #expect(r.worstRelativeError < 1e-6, "\(row.name) input \(i): \(r)")
        }
    }

    // MARK: Behaviour

    @Test func crossEntropyIsNLLOfLogSoftmax() {
        let logits = Tensor([[2.0, 0.5, -1.0], [0.0, 1.0, 0.0]])
        let y = Tensor([0, 1])
        expectClose(crossEntropy(logits, labels: y), nllLoss(logits.logSoftmax(axis: 1), labels: y), "ce = nll ∘ logSoftmax")
        expectClose(crossEntropy(logits, labels: y), Tensor(scalar: 0.39638), rtol: 1e-4, "the documented example")
        // int32 labels work too; probabilities equal to one-hot labels give the same loss.
        expectClose(crossEntropy(logits, labels: y.to(.int32)), crossEntropy(logits, labels: y), "int32 labels")
        expectClose(crossEntropy(logits, probabilities: y.oneHot(classes: 3), labelSmoothing: 0.1),
                    crossEntropy(logits, labels: y, labelSmoothing: 0.1), "one-hot probabilities")
    }

    @Test func allIgnoredLabelsGiveNaNMeanAsPyTorch() {
        let logits = Tensor([[2.0, 0.5], [0.0, 1.0]])
        #expect(crossEntropy(logits, labels: Tensor([-1, -1]), ignoreIndex: -1).item().isNaN)
        #expect(crossEntropy(logits, labels: Tensor([-1, -1]), ignoreIndex: -1, reduction: .sum).item() == 0)
    }

    @Test func saturatedProbabilitiesStayFinite() {
        // sigmoid(40) is exactly 1 in float32 (log(1 - p) clamps to -100; sigmoid(-40) = 4e-18 does not
        // reach 0): the clamped logs and the 1e-12 floor keep loss and gradient finite.
        let z = Tensor([40.0, -40.0, 0.0]).requiringGrad()
        let loss = binaryCrossEntropy(z.sigmoid(), Tensor([0.0, 1.0, 1.0]))
        loss.backward()
        #expect(Swift.abs(loss.item() - (100 + 40 + 0.6931472) / 3) < 1e-4, "\(loss)")
        #expect(z.grad!.floats.allSatisfy { $0.isFinite }, "\(z.grad!)")
    }

    @Test func logitsFormMatchesProbabilityForm() {
        let z = Tensor([[-3.0, 0.5], [2.0, -0.2]]), t = Tensor([[1.0, 0.0], [0.3, 1.0]])
        expectClose(binaryCrossEntropyWithLogits(z, t, reduction: .none), binaryCrossEntropy(z.sigmoid(), t, reduction: .none),
                    "bce with logits = bce of sigmoid")
    }

    @Test func klBatchMeanIsTheDivergence() {
        let q = Tensor([[0.25, 0.75], [0.5, 0.5]]), p = Tensor([[0.5, 0.5], [0.5, 0.5]])
        let kl = klDivergence(q.log(), p, reduction: .batchMean).item()
        let expected = (0.5 * Foundation.log(0.5 / 0.25) + 0.5 * Foundation.log(0.5 / 0.75)) / 2
        #expect(Swift.abs(kl - expected) < 1e-6)
        #expect(klDivergence(q.log(), Tensor([[0.0, 1.0], [1.0, 0.0]]), reduction: .none).floats.allSatisfy { $0.isFinite })
    }

    // MARK: Errors say what went wrong

    @Test func misuseTrapsWithMessages() async {
        await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = crossEntropy(Tensor.zeros([4, 5]), labels: Tensor([0, 1, 2]))
        }.map { #expect(String(decoding: $0.standardErrorContent, as: UTF8.self).contains("[crossEntropy] labels have shape [3] but logits have 4 rows")) }
        await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = crossEntropy(Tensor.zeros([2, 3, 4]), labels: Tensor([[0, 1, 2], [0, 1, 2]]))
        }.map { #expect(String(decoding: $0.standardErrorContent, as: UTF8.self).contains("[crossEntropy] labels have shape [2, 3] but logits of shape [2, 3, 4] need labels of shape [2, 4]")) }
        await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = crossEntropy(Tensor.zeros([2, 4]), labels: Tensor([1, 4]))
        }.map { #expect(String(decoding: $0.standardErrorContent, as: UTF8.self).contains("[crossEntropy] label 4 at position 1 is out of range for 4 classes")) }
        await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = nllLoss(Tensor.zeros([2, 4]), labels: Tensor([1.0, 2.0]))
        }.map { #expect(String(decoding: $0.standardErrorContent, as: UTF8.self).contains("[nllLoss] labels must be int32 or int64 class indices, got float32")) }
        await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = crossEntropy(Tensor.zeros([2, 4]), labels: Tensor([1, 2]), weight: Tensor([1.0, 2.0]))
        }.map { #expect(String(decoding: $0.standardErrorContent, as: UTF8.self).contains("[crossEntropy] weight has shape [2] but there are 4 classes")) }
        await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = mseLoss(Tensor.zeros([4, 1]), Tensor.zeros([4]))
        }.map { #expect(String(decoding: $0.standardErrorContent, as: UTF8.self).contains("[mseLoss] input has shape [4, 1] but target has shape [4]")) }
        await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = binaryCrossEntropy(Tensor([0.5, 1.5]), Tensor([1.0, 0.0]))
        }.map { #expect(String(decoding: $0.standardErrorContent, as: UTF8.self).contains("[binaryCrossEntropy] probabilities must lie in [0, 1]; got 1.5")) }
    }
}
