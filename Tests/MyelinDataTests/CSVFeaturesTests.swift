import Foundation
import Testing
import MyelinCore
@testable import MyelinData

/// `CSVReader.readFeatures`: a CSV of the numeric features of a table that had no CSV schema.
@Suite struct CSVFeaturesTests {
    static let iris = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]
    static let classes = ["setosa", "versicolor", "virginica"]

    @Test func namesMatchWithoutCasePunctuationOrUnit() {
        #expect(CSVReader.matchKey("sepal length (cm)", unit: false) == "sepallength")
        #expect(CSVReader.matchKey("sepal length (cm)", unit: true) == "sepallengthcm")
        #expect(CSVReader.matchKey("Sepal_Length", unit: true) == "sepallength")
        #expect(CSVReader.matchKey("SepalLengthCm", unit: true) == "sepallengthcm")
        #expect(CSVReader.matchKey("od280/od315_of_diluted_wines", unit: true) == "od280od315ofdilutedwines")
        #expect(CSVReader.matchKey("a (b (c)) d", unit: false) == "ad")
    }

    @Test func featuresByNameInAnyOrderOrByPosition() throws {
        let dir = makeTempDir("features")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let expected: [Float] = [5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3]
        writeText("petal_width,Sepal Length,species,petal length (cm),SepalWidthCm\n0.2,5.1,setosa,1.4,3.5\n2.3,6.7,virginica,5.2,3.0\n", dir + "/named.csv")
        let named = try CSVReader().readFeatures(path: dir + "/named.csv", featureNames: Self.iris, classNames: Self.classes, task: .classification)
        #expect(named.inputs.shape == [2, 4] && named.inputs.floats == expected)
        #expect(named.hasLabels && named.targets.scalars(as: Int64.self) == [0, 2])

        writeText("5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n", dir + "/bare.csv")
        let bare = try CSVReader().readFeatures(path: dir + "/bare.csv", featureNames: Self.iris, classNames: Self.classes, task: .classification)
        #expect(bare.inputs.floats == expected && !bare.hasLabels)

        writeText("5.1,3.5,1.4,0.2,virginica\n", dir + "/last.csv")
        let last = try CSVReader().readFeatures(path: dir + "/last.csv", featureNames: Self.iris, classNames: Self.classes, task: .classification)
        #expect(last.hasLabels && last.targets.scalars(as: Int64.self) == [2])

        // An exact name wins over a loose match; two features on one column throw.
        writeText("its,it's\n1,2\n", dir + "/exact.csv")
        let exact = try CSVReader().readFeatures(path: dir + "/exact.csv", featureNames: ["it's", "its"], classNames: ["a"], task: .classification)
        #expect(exact.inputs.floats == [2, 1])
        writeText("its\n1\n", dir + "/clash.csv")
        let clash = thrownMessage { try CSVReader().readFeatures(path: dir + "/clash.csv", featureNames: ["it's", "its"], classNames: ["a"],
                                                                 task: .classification) }
        #expect(clash?.contains("the features 'it's' and 'its' both match the column 'its'") == true)

        // A gap under the error policy throws with its place.
        writeText("5.1,,1.4,0.2\n", dir + "/gap.csv")
        let gap = thrownMessage { try CSVReader(missing: .error).readFeatures(path: dir + "/gap.csv", featureNames: Self.iris,
                                                                             classNames: Self.classes, task: .classification) }
        #expect(baseNamed(gap)?.hasPrefix("[csv] gap.csv:1") == true)
    }
}
