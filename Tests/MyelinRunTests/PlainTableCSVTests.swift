import Foundation
import Testing
import MyelinCore
import MyelinData
@testable import MyelinRun

/// `predict` and `evaluate` with a CSV file on runs trained on a table without a CSV schema (the
/// catalogue's iris, wine, ...; the generated 2-D sets): the features are found by name or position.
@Suite struct PlainTableCSVTests {
    static func write(_ text: String, _ path: String) -> String {
        try! text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func aRunWithoutASchemaReadsACSVOfItsFeatures() throws {
        let dir = RunJobTests.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/run"
        try TrainJob.train(RunJobTests.request(source: .generated(set: GeneratedSet("gaussians", count: 200, seed: 3)), out: out, epochs: 3),
                           output: { _ in })
        #expect(try RunFolder(out).readDescription().schema == nil)

        // The reference: the same points as a .npy array, features in training order (x1, x2).
        let points: [[Float]] = [[0.6, 0.4], [-0.5, -0.7], [0.1, -0.2]]
        try Tensor(points).writeNPY(to: dir + "/points.npy")
        let reference = try UseJobs.predict(out, input: dir + "/points.npy")
        #expect(reference.hasPrefix("index,prediction,p_0,p_1\n0,1,") && reference.contains("\n1,0,"))

        // A header in another order, a header with the label, no header: the same predictions.
        let reordered = Self.write("x2,x1\n0.4,0.6\n-0.7,-0.5\n-0.2,0.1\n", dir + "/reordered.csv")
        #expect(try UseJobs.predict(out, input: reordered) == reference)
        let labelled = Self.write("X1,label,X2\n0.6,1,0.4\n-0.5,0,-0.7\n0.1,1,-0.2\n", dir + "/labelled.csv")
        #expect(try UseJobs.predict(out, input: labelled) == reference)
        let bare = Self.write("0.6,0.4\n-0.5,-0.7\n0.1,-0.2\n", dir + "/bare.csv")
        #expect(try UseJobs.predict(out, input: bare) == reference)

        // evaluate: the label column by class name, found beside the features or last without a header.
        let (named, _) = try UseJobs.evaluate(out, source: .csv(path: labelled, label: "", task: nil), dataDir: nil)
        let (byPosition, _) = try UseJobs.evaluate(out, source: .csv(path: Self.write("0.6,0.4,1\n-0.5,-0.7,0\n0.1,-0.2,1\n", dir + "/last.csv"),
                                                                  label: "", task: nil), dataDir: nil)
        #expect(named.count == 3 && byPosition.count == 3)
        #expect(named.metrics["accuracy"] == byPosition.metrics["accuracy"] && named.metrics["loss"] == byPosition.metrics["loss"])
        let (chosen, _) = try UseJobs.evaluate(out, source: .csv(path: labelled, label: "label", task: nil), dataDir: nil)
        #expect(chosen.metrics["loss"] == named.metrics["loss"])

        // Errors name the problem in one line.
        let missing = RunJobTests.message { _ = try UseJobs.predict(out, input: Self.write("x1,y\n1,2\n", dir + "/missing.csv")) }
        #expect(missing.hasPrefix("[csv] ") && missing.contains("no column for the feature 'x2'") && !missing.contains("\n"))
        let extra = RunJobTests.message { _ = try UseJobs.predict(out, input: Self.write("id,x1,x2,label\n1,0,0,1\n", dir + "/extra.csv")) }
        #expect(extra.contains("columns 'id', 'label' besides the 2 features: at most one more, the label"))
        let narrow = RunJobTests.message { _ = try UseJobs.predict(out, input: Self.write("1\n2\n", dir + "/narrow.csv")) }
        #expect(narrow.contains("row has 1 cells, the schema needs 2 features (or 3 with the label)"))
        let wrongLabel = RunJobTests.message {
            _ = try UseJobs.evaluate(out, source: .csv(path: labelled, label: "kind", task: nil), dataDir: nil)
        }
        #expect(wrongLabel.hasPrefix("[evaluate] --label kind: ") && wrongLabel.contains("no such column besides the 2 features"))
        let unlabelled = RunJobTests.message { _ = try UseJobs.evaluate(out, source: .csv(path: reordered, label: "", task: nil), dataDir: nil) }
        #expect(unlabelled.contains("has no label column to evaluate against"))
        let unseen = RunJobTests.message {
            _ = try UseJobs.evaluate(out, source: .csv(path: Self.write("x1,x2,c\n0,0,blue\n", dir + "/unseen.csv"), label: "", task: nil), dataDir: nil)
        }
        #expect(unseen.contains("unseen class 'blue'"))
        // A missing cell: the run has no medians to fill it with (it said "saved by an older version; retrain").
        let gap = RunJobTests.message { _ = try UseJobs.predict(out, input: Self.write("x1,x2\n0.5,NA\n", dir + "/gap.csv")) }
        #expect(gap.hasSuffix("missing value 'NA' in column 'x2' (the run keeps no fill values for its features: give every one)"))
    }

    @Test func onlyNamedFlatFeaturesAreReadThisWay() {
        // Images (no feature names) and a model whose input is not one value per name keep the old error.
        #expect(UseJobs.PlainTable(featureNames: [], inputShape: [784], classNames: [], task: .classification) == nil)
        #expect(UseJobs.PlainTable(featureNames: nil, inputShape: [2], classNames: [], task: .classification) == nil)
        #expect(UseJobs.PlainTable(featureNames: ["a", "b"], inputShape: [1, 2], classNames: [], task: .classification) == nil)
        #expect(UseJobs.PlainTable(featureNames: ["a", "b"], inputShape: [2], classNames: [], task: .classification) != nil)
    }
}
