import MyelinCore

/// A 2-D classifier's decision regions with the data on top.
///
/// The classifier is called with a `[resolution², 2]` float32 tensor of grid points covering
/// `points` with a margin, and returns one class index per row (negative: no class, grey); it is
/// called once more with the points themselves, for the accuracy shown under the title. Regions are drawn as one embedded
/// PNG (a few kilobytes), points as circles coloured by `labels`; above 3000 points an evenly
/// spaced subset is drawn, so files stay small (well under 300 KB).
///
/// ```swift
/// let svg = plotDecisionBoundary(points: x, labels: y, classNames: ["inner", "outer"]) { grid in
///     model(grid).argmax(axis: 1).ints
/// }
/// ```
public func plotDecisionBoundary(points: Tensor, labels: [Int], classNames: [String], resolution: Int = 150,
                                 title: String = "Decision boundary",
                                 classifier: (Tensor) -> [Int]) -> SVGPicture {
    plotPrecondition(points.rank == 2 && points.shape[1] == 2,
                     "decision boundary needs points of shape [N, 2], got \(points.shape)")
    let n = points.shape[0]
    plotPrecondition(labels.count == n, "decision boundary needs one label per point, got \(labels.count) for \(n) points")
    let xy = n > 0 ? points.doubles : []
    let resolution = max(2, min(resolution, 1000))

    // Data bounds with a 10% margin (finite coordinates only).
    var xs = [Double](), ys = [Double]()
    for i in 0..<n where xy[2 * i].isFinite && xy[2 * i + 1].isFinite { xs.append(xy[2 * i]); ys.append(xy[2 * i + 1]) }
    let (xLo, xHi) = Ticks.paddedRange(xs, margin: 0.1), (yLo, yHi) = Ticks.paddedRange(ys, margin: 0.1)

    // Evaluate the classifier on the grid (row 0 at the top, as in the picture).
    var grid = [Float](repeating: 0, count: resolution * resolution * 2)
    for r in 0..<resolution {
        let y = yHi - (Double(r) + 0.5) / Double(resolution) * (yHi - yLo)
        for c in 0..<resolution {
            let x = xLo + (Double(c) + 0.5) / Double(resolution) * (xHi - xLo)
            grid[2 * (r * resolution + c)] = Float(x)
            grid[2 * (r * resolution + c) + 1] = Float(y)
        }
    }
    let predicted = classifier(Tensor(shape: [resolution * resolution, 2], scalars: grid))
    plotPrecondition(predicted.count == resolution * resolution,
                     "the classifier returned \(predicted.count) classes for \(resolution * resolution) grid points")
    var rgb = [UInt8](repeating: 0, count: resolution * resolution * 3)
    for (i, k) in predicted.enumerated() {
        let color = k >= 0 ? Palette.regionColor(k) : RGB(235, 235, 235)
        rgb[3 * i] = color.r; rgb[3 * i + 1] = color.g; rgb[3 * i + 2] = color.b
    }
    let regions = PNGImage(width: resolution, height: resolution, rgb: rgb).encoded()

    // Classes: every name, plus any larger index that occurs.
    let classCount = max(classNames.count, (labels.max() ?? -1) + 1, (predicted.max() ?? -1) + 1)
    let names: [String] = (0..<classCount).map { i in
        let name = i < classNames.count ? classNames[i].trimmingWhitespace : ""
        return truncated(name.isEmpty ? String(i) : name, maxWidth: 150, size: 12)
    }

    // Layout: y tick labels | plot | legend.
    let xPairs = Ticks.within(xLo, xHi, count: 6), yPairs = Ticks.within(yLo, yHi, count: 6)
    let yLabelW = yPairs.map { textWidth($0.1, size: 11) }.max() ?? 10
    let left = 14 + 16 + yLabelW + 10
    let side = 480.0
    let frame = Frame(x: left, y: 62, width: side, height: side)
    let legendW = (names.map { textWidth($0, size: 12) }.max() ?? 0) + 40
    let width = frame.maxX + 20 + legendW
    let height = frame.maxY + 50

    var svg = SVGBuilder(width: width, height: height)
    svg.text(truncated(title, maxWidth: width - 20, size: 16), x: width / 2, y: 28, size: 16, anchor: .middle, bold: true)
    let shown = n > 3000 ? 3000 : n
    let correct = zip(labels, pointPredictions(xy, n: n, classifier: classifier)).filter { $0 == $1 }.count
    var subtitle = n > 0 ? "accuracy \(fixed(Double(correct) / Double(n) * 100, 1))% on \(n) points" : "no points"
    if shown < n { subtitle += " (\(shown) drawn)" }
    svg.text(subtitle, x: width / 2, y: 48, size: 12, anchor: .middle, fill: "#555555")

    let xScale = Scale(lo: xLo, hi: xHi, a: frame.x, b: frame.maxX)
    let yScale = Scale(lo: yLo, hi: yHi, a: frame.maxY, b: frame.y)
    svg.image(png: regions, x: frame.x, y: frame.y, width: frame.width, height: frame.height, pixelated: false)
    drawAxes(&svg, frame: frame, x: xScale, xTicks: xPairs, y: yScale, yTicks: yPairs, xTitle: "x1", yTitle: "x2", grid: false)

    // Points, one group per class so the colour is written once.
    let picked: [Int] = shown < n ? (0..<shown).map { $0 * n / shown } : Array(0..<n)
    for k in Set(labels).sorted() {
        let members = picked.filter { labels[$0] == k && xy[2 * $0].isFinite && xy[2 * $0 + 1].isFinite }
        guard !members.isEmpty else { continue }
        let color = k >= 0 ? Palette.classColor(k).css : "#444444"
        svg.beginGroup("fill=\"\(color)\" stroke=\"#ffffff\" stroke-width=\"0.7\"")
        let r = n > 1000 ? 2.5 : 3.5
        for i in members { svg.circle(cx: xScale(xy[2 * i]), cy: yScale(xy[2 * i + 1]), r: r) }
        svg.endGroup()
    }

    // Legend: swatch of the region colour with the point colour on top.
    let legendX = frame.maxX + 20
    svg.text("class", x: legendX, y: frame.y + 12, size: 12, bold: true)
    for (k, name) in names.enumerated() {
        let y = frame.y + 32 + Double(k) * 22
        svg.rect(x: legendX, y: y - 8, width: 18, height: 16, fill: Palette.regionColor(k).css, stroke: "#aaaaaa", strokeWidth: 0.5)
        svg.circle(cx: legendX + 9, cy: y, r: 4, fill: Palette.classColor(k).css, stroke: "#ffffff", strokeWidth: 0.7)
        svg.text(name, x: legendX + 26, y: y + 4, size: 12)
    }
    return svg.picture()
}

/// The classifier's classes for the points themselves (for the accuracy in the subtitle).
private func pointPredictions(_ xy: [Double], n: Int, classifier: (Tensor) -> [Int]) -> [Int] {
    guard n > 0 else { return [] }
    let result = classifier(Tensor(shape: [n, 2], scalars: xy.map { Float($0) }))
    return result.count == n ? result : []
}
