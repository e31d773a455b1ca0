import Testing
import MyelinCore
@testable import MyelinPlot

@Suite struct DecisionBoundaryTests {
    /// Two blobs left and right of x = 0, with a deterministic pseudo-random spread.
    func blobs(_ n: Int) -> (Tensor, [Int]) {
        var xy = [Float](), labels = [Int]()
        for i in 0..<n {
            let k = i % 2
            let a = Float((i * 7919) % 1000) / 1000 - 0.5, b = Float((i * 104729) % 1000) / 1000 - 0.5
            xy += [(k == 0 ? -1.5 : 1.5) + a, b * 2]
            labels.append(k)
        }
        return (Tensor(shape: [n, 2], scalars: xy), labels)
    }

    let sign: (Tensor) -> [Int] = { grid in
        let v = grid.floats
        return (0..<grid.shape[0]).map { v[2 * $0] > 0 ? 1 : 0 }
    }

    @Test func regionsPointsAndLegend() throws {
        let (points, labels) = blobs(60)
        var calls: [[Int]] = []
        let picture = plotDecisionBoundary(points: points, labels: labels, classNames: ["left", "right"], resolution: 40) { grid in
            calls.append(grid.shape)
            #expect(grid.dtype == .float32)
            return sign(grid)
        }
        #expect(calls.first == [1600, 2])
        let svg = try parseSVG(picture)
        #expect(svg.count("image") == 1)
        #expect(svg.count("circle") == 60 + 2)   // points + legend
        #expect(svg.texts.contains("left") && svg.texts.contains("right"))
        #expect(svg.texts.contains("accuracy 100.0% on 60 points"))

        let pngs = try embeddedPNGs(picture)
        #expect(pngs.count == 1)
        let regions = try decodePNG(pngs[0])
        #expect(regions.width == 40 && regions.height == 40)
        let leftColor = Palette.regionColor(0), rightColor = Palette.regionColor(1)
        #expect(Array(regions.pixels[0..<3]) == [leftColor.r, leftColor.g, leftColor.b])
        let last = regions.pixels.count - 3
        #expect(Array(regions.pixels[last...]) == [rightColor.r, rightColor.g, rightColor.b])
    }

    @Test func deterministicAndSmallForManyPoints() throws {
        let (points, labels) = blobs(10_000)
        let a = plotDecisionBoundary(points: points, labels: labels, classNames: ["a", "b"], classifier: sign)
        let b = plotDecisionBoundary(points: points, labels: labels, classNames: ["a", "b"], classifier: sign)
        #expect(a.bytes == b.bytes)
        #expect(a.bytes.count < 300_000)
        let svg = try parseSVG(a)
        #expect(svg.count("circle") == 3000 + 2)
        #expect(svg.texts.contains { $0.contains("(3000 drawn)") })
        #expect(try decodePNG(try embeddedPNGs(a)[0]).width == 150)
    }

    @Test func singleClassNoNamesAndOnePoint() throws {
        let one = plotDecisionBoundary(points: Tensor(shape: [1, 2], scalars: [Float(2), 3]), labels: [0],
                                       classNames: [], resolution: 8) { Array(repeating: 0, count: $0.shape[0]) }
        let svg = try parseSVG(one)
        #expect(svg.count("circle") == 2)
        #expect(svg.texts.contains("0"))
        let empty = plotDecisionBoundary(points: Tensor.zeros([0, 2]), labels: [], classNames: ["a", "b", "c"], resolution: 4) {
            Array(repeating: 2, count: $0.shape[0])
        }
        let e = try parseSVG(empty)
        #expect(e.count("circle") == 3)
        #expect(e.texts.contains("no points"))
    }
}
