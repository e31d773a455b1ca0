import Testing
@testable import MyelinPlot

@Suite struct TrainingCurvesTests {
    let history: [String: [Double]] = [
        "loss": [2.1, 1.2, 0.8, 0.6, 0.5, 0.45],
        "val_loss": [2.0, 1.4, 1.0, 0.9, 0.88, 0.9],
        "accuracy": [0.4, 0.6, 0.72, 0.8, 0.84, 0.86],
        "val_accuracy": [0.42, 0.58, 0.7, 0.74, 0.75, 0.75],
        "lr": [0.1, 0.1, 0.01, 0.01, 0.001, 0.001],
        "time": [3.1, 2.9, 3.0, 3.0, 3.2, 3.1],
    ]

    @Test func panelsGroupTrainAndValidation() {
        let panels = curvePanels(history)
        #expect(panels.map(\.name) == ["loss", "accuracy", "learning rate"])
        #expect(panels[0].lines.map(\.label) == ["train", "val"])
        #expect(panels[2].lines.map(\.label) == ["lr"])
        #expect(curvePanels(["train_loss": [1], "val_loss": [2], "epoch_time": [1]]).map(\.name) == ["loss"])
    }

    @Test func drawsOnePathPerSeriesWithLegendAndTicks() throws {
        let picture = plotTrainingCurves(history, title: "MNIST")
        let svg = try parseSVG(picture)
        #expect(svg.count("path") == 5)          // loss ×2, accuracy ×2, lr
        #expect(svg.count("circle") == 5 * 6)    // dots on short runs
        #expect(svg.texts.contains("MNIST"))
        #expect(svg.texts.filter { $0 == "epoch" }.count == 3)
        for word in ["loss", "accuracy", "learning rate", "train", "val", "1e-3", "1e-1"] { #expect(svg.texts.contains(word), "\(word)") }
        #expect(!picture.text.contains("time"))
        #expect(!picture.text.contains("NaN") && !picture.text.contains("inf"))
        // The lr panel is logarithmic (ticks 1e-3, 1e-2, 1e-1).
        #expect(svg.texts.contains("1e-2"))
    }

    @Test func sameInputGivesIdenticalBytes() {
        let a = plotTrainingCurves(history).bytes
        let b = plotTrainingCurves(history).bytes
        #expect(a == b)
        // Dictionary order does not matter.
        var shuffled: [String: [Double]] = [:]
        for key in history.keys.sorted().reversed() { shuffled[key] = history[key] }
        #expect(plotTrainingCurves(shuffled).bytes == a)
    }

    @Test func oneEpochIsDrawnAsDots() throws {
        let svg = try parseSVG(plotTrainingCurves(["loss": [0.7], "val_loss": [0.9]]))
        #expect(svg.count("circle") == 2)
        #expect(svg.texts.contains("1"))
        #expect(svg.texts.contains("train") && svg.texts.contains("val"))
    }

    @Test func nonFiniteValuesLeaveGaps() throws {
        let picture = plotTrainingCurves(["loss": [1, 0.8, .nan, 0.5, .infinity, 0.3, 0.2]])
        let svg = try parseSVG(picture)
        #expect(svg.count("path") == 1)
        let d = svg.attributes["path"]![0]["d"]!
        #expect(d.filter { $0 == "M" }.count == 3)    // three runs: [1, 0.8], [0.5], [0.3, 0.2]
        #expect(!picture.text.contains("nan") && !picture.text.contains("inf"))
        let allNaN = try parseSVG(plotTrainingCurves(["loss": [.nan, .nan]]))
        #expect(allNaN.count("path") == 0)
        #expect(allNaN.texts.contains("no finite values"))
    }

    @Test func constantAndEmptySeries() throws {
        let constant = try parseSVG(plotTrainingCurves(["accuracy": [1, 1, 1, 1]]))
        #expect(constant.count("path") == 1)
        #expect(constant.texts.contains("1.0") || constant.texts.contains("1"))
        let empty = try parseSVG(plotTrainingCurves([:]))
        #expect(empty.texts.contains("no series to plot"))
        let long = try parseSVG(plotTrainingCurves(["loss": (1...200).map { 1 / Double($0) }], columns: 1))
        #expect(long.count("circle") == 0)
    }

    @Test func divergingLossStaysReadable() throws {
        let picture = plotTrainingCurves(["loss": [2.3, 40, 9e15, 1e300, .greatestFiniteMagnitude, -.greatestFiniteMagnitude]])
        let svg = try parseSVG(picture)
        #expect(svg.count("path") == 1)
        #expect(svg.texts.contains { $0.hasSuffix("e300") || $0.hasSuffix("e299") })
        #expect(plotTrainingCurves(["loss": [1e-9, 1.00000000001e-9]]).text.contains("<path"))
    }
}
