import Testing
import MyelinCore
@testable import MyelinPlot

@Suite struct ImageGridTests {
    @Test func greyImagesAreStretchedPerImage() throws {
        // Two 1x2 images: [0, 6] and [10, 30].
        let images = Tensor(shape: [2, 1, 1, 2], scalars: [Float(0), 6, 10, 30])
        let grid = ImageGrid(images: images)
        #expect(grid.count == 2 && grid.columns == 2 && !grid.isDiverging)
        #expect(grid.image(0).rgb == [0, 0, 0, 255, 255, 255])
        #expect(grid.image(1).rgb == [0, 0, 0, 255, 255, 255])
        let global = ImageGrid(images: images, scaling: .global)
        #expect(global.image(0).rgb == [0, 0, 0, 51, 51, 51])
        #expect(global.image(1).rgb == [85, 85, 85, 255, 255, 255])
    }

    @Test func pngOfTheGridHasKnownPixels() throws {
        let images = Tensor(shape: [2, 1, 1], scalars: [Float(0), 5])   // [N, H, W], two constant 1x1 images
        let grid = ImageGrid(images: images, columns: 2, scaling: .global)
        let png = try decodePNG(grid.png(scale: 2))
        // gap 2 + cell 2 + gap 2 + cell 2 + gap 2 = 10 wide, 2 + 2 + 2 = 6 high
        #expect(png.width == 10 && png.height == 6)
        func pixel(_ x: Int, _ y: Int) -> [UInt8] { Array(png.pixels[(y * 10 + x) * 3..<(y * 10 + x) * 3 + 3]) }
        #expect(pixel(0, 0) == [255, 255, 255])
        #expect(pixel(2, 2) == [0, 0, 0] && pixel(3, 3) == [0, 0, 0])
        #expect(pixel(6, 2) == [255, 255, 255] && pixel(7, 3) == [255, 255, 255])
        #expect(pixel(5, 2) == [255, 255, 255])   // the gap between cells
    }

    @Test func signedWeightsUseTheDivergingMap() throws {
        let w = Tensor(shape: [1, 1, 1, 3], scalars: [Float(-2), 0, 2])
        let grid = ImageGrid(images: w)
        #expect(grid.isDiverging)
        let white = Palette.diverging(0.5), blue = Palette.diverging(0), red = Palette.diverging(1)
        #expect(grid.image(0).rgb == [blue.r, blue.g, blue.b, white.r, white.g, white.b, red.r, red.g, red.b])
        #expect(blue.b > blue.r && red.r > red.b)
    }

    @Test func constantImagesAndNonFiniteValues() throws {
        let zeros = ImageGrid(images: Tensor.zeros([3, 4, 4]))
        #expect(zeros.image(0).rgb == [UInt8](repeating: 128, count: 48))
        // A dead (all-zero) feature map next to live ones shows black.
        let maps = Tensor(shape: [2, 1, 2], scalars: [Float(0), 0, 1, 3])
        #expect(ImageGrid(images: maps).image(0).rgb == [UInt8](repeating: 0, count: 6))
        let nan = ImageGrid(images: Tensor(shape: [1, 1, 3], scalars: [Float.nan, 1, 2]))
        #expect(nan.image(0).rgb == [0, 0, 0, 0, 0, 0, 255, 255, 255])
    }

    @Test func rgbAndManyChannelInputs() throws {
        // One 1x1 RGB image (0, 0.25, 1): stretched over its own range.
        let rgb = ImageGrid(images: Tensor(shape: [1, 3, 1, 1], scalars: [Float(0), 0.25, 1.0]))
        #expect(rgb.count == 1 && rgb.image(0).rgb == [0, 64, 255])
        // Conv weights [4 filters, 2 input channels, 3, 3] → 8 grey cells.
        let conv = ImageGrid(images: Tensor.randn([4, 2, 3, 3], generator: RandomGenerator(seed: 1)), columns: 4)
        #expect(conv.count == 8 && conv.rows == 2 && conv.isDiverging)
    }

    @Test func svgHasAnImagePerCellAndLabels() throws {
        let images = Tensor.rand([5, 1, 8, 8], generator: RandomGenerator(seed: 3))
        let labels = ["zero", "one", "two", "three", "a label far too long for the cell"]
        let grid = ImageGrid(images: images, columns: 3, labels: labels)
        let picture = grid.svg(cellSize: 40)
        let svg = try parseSVG(picture)
        #expect(svg.count("image") == 5)
        #expect(svg.texts.count == 5 && svg.texts.contains("three"))
        #expect(svg.texts.last!.hasSuffix("…"))
        let pngs = try embeddedPNGs(picture)
        #expect(try pngs.map { try decodePNG($0).width } == [40, 40, 40, 40, 40])   // 8 px × 5
        #expect(grid.svg(cellSize: 40) == picture)
        #expect(grid.png() == grid.png())
    }

    @Test func badShapesThrowOneLineErrors() {
        #expect(throws: PlotError.invalidInput("an image grid needs images of shape [N, H, W] or [N, C, H, W], got [2, 3]")) {
            try ImageGrid(validating: Tensor.zeros([2, 3]))
        }
        #expect(throws: PlotError.self) { try ImageGrid(validating: Tensor.zeros([0, 1, 3, 3])) }
        #expect("\(PlotError.invalidInput("x"))" == "[plot] x")
    }

    @Test func misuseTrapsWithAMessage() async {
        await #expect(processExitsWith: .failure) { _ = ImageGrid(images: Tensor.zeros([2, 3])) }
        await #expect(processExitsWith: .failure) {
            _ = plotDecisionBoundary(points: Tensor.zeros([4, 3]), labels: [0, 0, 0, 0], classNames: []) { _ in [] }
        }
    }
}
