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

        // Three spiral arms, classified by nearest arm angle; twenty classes; a long run with a log lr axis.
        var spiral = [Float](), arms = [Int]()
        for i in 0..<600 {
            let k = i % 3, r = Double(i / 3) / 200
            let a = Double(k) * 2 * Double.pi / 3 + r * 4 + 0.2 * noise[i % 800 / 2 * 2]
            spiral += [Float(r * cos(a)), Float(r * sin(a))]
            arms.append(k)
        }
        try plotDecisionBoundary(points: Tensor(shape: [600, 2], scalars: spiral), labels: arms,
                                 classNames: ["arm A", "arm B", "arm C"], resolution: 120, title: "Spiral") { grid in
            let v = grid.floats
            return (0..<grid.shape[0]).map { i in
                let x = Double(v[2 * i]), y = Double(v[2 * i + 1]), r = (x * x + y * y).squareRoot()
                var a = atan2(y, x) - r * 4
                while a < 0 { a += 2 * Double.pi }
                return Int((a / (2 * Double.pi / 3)).rounded()) % 3
            }
        }.write(to: dir + "/spiral.svg")
        let twenty = (0..<20).map { i in (0..<20).map { j in i == j ? 90 + i : (i * j) % 7 } }
        try plotConfusionMatrix(counts: twenty, classNames: (0..<20).map { "class \($0)" }, normalizeRows: true)
            .write(to: dir + "/confusion-20.svg")
        try plotTrainingCurves(["loss": (1...200).map { 1 / Double($0) + 0.01 }, "lr": (0..<200).map { 0.1 * pow(0.97, Double($0)) }],
                               columns: 1).write(to: dir + "/long-curves.svg")

        for file in ["spiral", "confusion-20", "long-curves", "edge-curves", "edge-confusion", "edge-grid", "curves", "confusion", "confusion-normalized", "boundary", "filters", "maps", "grid"] {
            let text = try String(contentsOfFile: dir + "/\(file).svg", encoding: .utf8)
            _ = try parseSVG(SVGPicture(text: text, width: 0, height: 0))
        }
    }
}
