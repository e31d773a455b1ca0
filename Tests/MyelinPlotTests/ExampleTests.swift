import Foundation
import Testing
import MyelinCore
import MyelinPlot

/// Writes one picture of each kind to `examplesFolder()` (for looking at), and checks they parse.
@Suite struct ExampleTests {
    @Test func writeExamples() throws {
        let dir = examplesFolder()
        let epochs = 20
        var history: [String: [Double]] = ["loss": [], "val_loss": [], "accuracy": [], "val_accuracy": [], "lr": [], "time": []]
        for e in 0..<epochs {
            let t = Double(e)
            history["loss"]!.append(2.3 * exp(-t / 4) + 0.05)
            history["val_loss"]!.append(2.2 * exp(-t / 4) + 0.12 + 0.004 * t)
            history["accuracy"]!.append(0.99 - 0.85 * exp(-t / 3.5))
            history["val_accuracy"]!.append(0.97 - 0.85 * exp(-t / 3.5))
            history["lr"]!.append(0.1 * pow(0.5, Double(e / 5)))
            history["time"]!.append(1.5)
        }
        history["val_loss"]![7] = .nan
        let curves = plotTrainingCurves(history, title: "MLP on MNIST")
        try curves.write(to: dir + "/curves.svg")

        let names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
        let counts = (0..<10).map { i in (0..<10).map { j in i == j ? 700 + 29 * i : (i * 7 + j * 3) % 23 + (i == 3 && j == 5 ? 180 : 0) } }
        try plotConfusionMatrix(counts: counts, classNames: names).write(to: dir + "/confusion.svg")
        try plotConfusionMatrix(counts: counts, classNames: names, normalizeRows: true).write(to: dir + "/confusion-normalized.svg")

        // Two noisy moons, classified by a fixed curve between them.
        let noise = Tensor.randn([400, 2], generator: RandomGenerator(seed: 5)).doubles
        var xy = [Float](), labels = [Int]()
        for i in 0..<400 {
            let k = i % 2, a = Double(i / 2) / 199 * Double.pi
            let (x, y) = k == 0 ? (cos(a), sin(a)) : (1 - cos(a), 0.5 - sin(a))
            xy += [Float(x + 0.12 * noise[2 * i]), Float(y + 0.12 * noise[2 * i + 1])]
            labels.append(k)
        }
        let moons = plotDecisionBoundary(points: Tensor(shape: [400, 2], scalars: xy), labels: labels,
                                         classNames: ["upper moon", "lower moon"]) { grid in
            let v = grid.floats
            return (0..<grid.shape[0]).map { i in Double(v[2 * i + 1]) > 0.25 - 0.5 * sin((Double(v[2 * i]) - 0.5) * 2.2) * 0.6 ? 0 : 1 }
        }
        try moons.write(to: dir + "/boundary.svg")
        #expect(moons.bytes.count < 300_000)

        let filters = Tensor.randn([16, 1, 5, 5], generator: RandomGenerator(seed: 7))
        let grid = ImageGrid(images: filters, labels: (0..<16).map { "filter \($0)" })
        try grid.svg().write(to: dir + "/filters.svg")
        try grid.pngImage(scale: 8).write(to: dir + "/filters.png")
        var digits = [Float](repeating: 0, count: 6 * 12 * 12)
        for k in 0..<6 { for y in 0..<12 { for x in 0..<12 where abs(x - 6) + abs(y - 6) < k + 2 { digits[k * 144 + y * 12 + x] = Float(x + y) } } }
        try ImageGrid(images: Tensor(shape: [6, 12, 12], scalars: digits), columns: 3, scaling: .global)
            .svg(cellSize: 64).write(to: dir + "/maps.svg")
        try SVGPicture.grid([curves, moons], columns: 2).write(to: dir + "/grid.svg")

        // Edge cases, to look at.
        try plotTrainingCurves(["loss": [0.7], "val_loss": [0.9], "accuracy": [0.5, .nan, 0.5, 0.5]], title: "Edge cases")
            .write(to: dir + "/edge-curves.svg")
        try plotConfusionMatrix(counts: [[12]], classNames: [""]).write(to: dir + "/edge-confusion.svg")
        try ImageGrid(images: Tensor.zeros([3, 1, 4, 4]), labels: ["a", "", "c"]).svg().write(to: dir + "/edge-grid.svg")

        for file in ["edge-curves", "edge-confusion", "edge-grid", "curves", "confusion", "confusion-normalized", "boundary", "filters", "maps", "grid"] {
            let text = try String(contentsOfFile: dir + "/\(file).svg", encoding: .utf8)
            _ = try parseSVG(SVGPicture(text: text, width: 0, height: 0))
        }
    }
}
