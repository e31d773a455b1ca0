import Foundation
import Testing
@testable import MyelinPlot

@Suite struct SVGTests {
    @Test func numbersHaveFixedPrecisionAndNoNegativeZero() {
        #expect(fmt(1.0) == "1")
        #expect(fmt(1.005, 1) == "1")
        #expect(fmt(12.3456) == "12.35")
        #expect(fmt(-0.001) == "0")
        #expect(fmt(-2.5) == "-2.5")
        #expect(fmt(.nan) == "0")
        #expect(fixed(0.5, 2) == "0.50")
        #expect(fixed(3, 1) == "3.0")
        #expect(scientific(0.00025) == "2.5e-4")
        #expect(scientific(0.001) == "1e-3")
    }

    @Test func niceTicksCoverTheRange() {
        let t = Ticks.nice(min: 0.13, max: 0.92, count: 5)
        #expect(t.lo <= 0.13 && t.hi >= 0.92)
        #expect(t.labels == ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"])
        let constant = Ticks.nice(min: 3, max: 3)
        #expect(constant.lo < 3 && constant.hi > 3)
        let zero = Ticks.nice(min: 0, max: 0)
        #expect(zero.lo < 0 && zero.hi > 0)
        let epochs = Ticks.nice(min: 1, max: 3, count: 6, integers: true)
        #expect(epochs.values == [1, 2, 3])
        let small = Ticks.nice(min: 0.0001, max: 0.0009)
        #expect(small.labels.allSatisfy { $0 == "0" || $0.contains("e-") })
    }

    @Test func textIsEscapedAndDocumentIsWellFormed() throws {
        var svg = SVGBuilder(width: 100, height: 50)
        svg.text("a < b & \"c\" > 'd'", x: 10, y: 20)
        let picture = svg.picture()
        #expect(picture.text.hasPrefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg "))
        let parsed = try parseSVG(picture)
        #expect(parsed.texts == ["a < b & \"c\" > 'd'"])
        #expect(parsed.count("rect") == 1)
    }

    @Test func base64MatchesFoundation() {
        for n in 0..<8 {
            let bytes = (0..<n).map { UInt8(truncatingIfNeeded: $0 * 37 + 5) }
            #expect(base64(bytes) == Data(bytes).base64EncodedString())
        }
    }

    @Test func writeIsAtomicAndErrorsAreOneLine() throws {
        let dir = temporaryFolder()
        let picture = plotTrainingCurves(["loss": [1, 0.5]])
        let path = dir + "/curves.svg"
        try picture.write(to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == picture.text)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["curves.svg"])
        do {
            try picture.write(to: dir + "/missing/curves.svg")
            Issue.record("writing into a missing folder should throw")
        } catch let error as PlotError {
            #expect("\(error)" == "[plot] cannot write '\(dir)/missing/curves.svg': No such file or directory")
            #expect(!"\(error)".contains("\n"))
        }
    }

    @Test func gridNestsPicturesSideBySide() throws {
        let a = plotTrainingCurves(["loss": [1, 0.5]])
        let b = plotConfusionMatrix(counts: [[1, 2], [3, 4]], classNames: ["a", "b"])
        let grid = SVGPicture.grid([a, b, a], columns: 2)
        #expect(grid.width == 2 * max(a.width, b.width) + 16)
        #expect(grid.height == 2 * max(a.height, b.height) + 16)
        let parsed = try parseSVG(grid)
        #expect(parsed.count("svg") == 4)
        #expect(grid == SVGPicture.grid([a, b, a], columns: 2))
    }
}
