import Testing
@testable import MyelinPlot

@Suite struct ConfusionMatrixTests {
    let names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

    func tenClassCounts() -> [[Int]] {
        (0..<10).map { i in (0..<10).map { j in i == j ? 800 + 13 * i : (i * 7 + j * 3) % 23 } }
    }

    @Test func tenClassesHaveACellAndLabelsEach() throws {
        let picture = plotConfusionMatrix(counts: tenClassCounts(), classNames: names)
        let svg = try parseSVG(picture)
        // background + 100 cells + frame + 20 colour-bar steps + colour-bar frame
        #expect(svg.count("rect") == 1 + 100 + 1 + 20 + 1)
        for name in names { #expect(svg.texts.filter { $0 == name }.count == 2, "\(name)") }
        #expect(svg.texts.contains("true") && svg.texts.contains("predicted"))
        #expect(svg.texts.contains("800") && svg.texts.contains("917"))
        #expect(plotConfusionMatrix(counts: tenClassCounts(), classNames: names).bytes == picture.bytes)
    }

    @Test func normalisedRowsShowPercentagesAndCounts() throws {
        let svg = try parseSVG(plotConfusionMatrix(counts: [[3, 1], [0, 0]], classNames: ["a", "b"], normalizeRows: true))
        #expect(svg.texts.contains("75.0%") && svg.texts.contains("25.0%"))
        #expect(svg.texts.contains("3") && svg.texts.contains("1"))
        #expect(svg.texts.contains("–"))   // an empty row has no percentages
        #expect(svg.texts.contains("accuracy 75.00% of 4"))
    }

    @Test func countsFromPredictions() throws {
        let counts = confusionCounts(predictions: [0, 1, 1, 2, 0], labels: [0, 1, 2, 2, 1], classes: 3)
        #expect(counts == [[1, 0, 0], [1, 1, 0], [0, 1, 1]])
        let a = plotConfusionMatrix(predictions: [0, 1, 1, 2, 0], labels: [0, 1, 2, 2, 1], classNames: ["x", "y", "z"])
        #expect(a == plotConfusionMatrix(counts: counts, classNames: ["x", "y", "z"]))
        // An index beyond the names adds a class named by its index.
        let svg = try parseSVG(plotConfusionMatrix(predictions: [3], labels: [0], classNames: ["x"]))
        #expect(svg.texts.contains("3"))
    }

    @Test func emptyNamesSingleClassAndEscaping() throws {
        let unnamed = try parseSVG(plotConfusionMatrix(counts: [[5, 1], [2, 7]], classNames: []))
        #expect(unnamed.texts.filter { $0 == "0" }.count >= 2)
        #expect(unnamed.texts.filter { $0 == "1" }.count >= 3)    // name ×2 and a count
        let blank = try parseSVG(plotConfusionMatrix(counts: [[5, 1], [2, 7]], classNames: ["", "  "]))
        #expect(blank.texts.filter { $0 == "0" }.count == 2)
        let single = try parseSVG(plotConfusionMatrix(counts: [[12]], classNames: ["only"]))
        #expect(single.texts.contains("only") && single.texts.contains("12"))
        #expect(single.texts.contains("accuracy 100.00% of 12"))
        let nothing = try parseSVG(plotConfusionMatrix(counts: [], classNames: []))
        #expect(nothing.texts.contains("no samples"))
        let odd = try parseSVG(plotConfusionMatrix(counts: [[1]], classNames: ["<&>", "b"]))
        #expect(odd.texts.contains("<&>"))
    }

    @Test func longNamesAreRotatedAndTruncated() throws {
        let long = ["a very long class name that goes on and on", "short"]
        let picture = plotConfusionMatrix(counts: [[1, 0], [0, 1]], classNames: long)
        let svg = try parseSVG(picture)
        #expect(svg.texts.contains { $0.hasSuffix("…") })
        #expect(picture.text.contains("rotate(-45"))
    }
}
