import MyelinCore

/// Points in 2-D coloured by group, with optional centres drawn as crosses: clusters, or any
/// labelled 2-D projection (PCA of a data set, word vectors).
///
/// `points` is `[N, 2]`; `groups` gives each point's group (0-based; negative draws grey). Above
/// 3000 points an evenly spaced subset is drawn, so files stay small.
///
/// ```swift
/// let svg = plotScatter(points: xy, groups: clusters, centers: c, title: "k-means, k = 3")
/// try svg.write(to: "clusters.svg")
/// ```
public func plotScatter(points: Tensor, groups: [Int], centers: Tensor? = nil, title: String = "Scatter",
                        subtitle: String? = nil, xTitle: String = "x1", yTitle: String = "x2",
                        groupName: String = "group") -> SVGPicture {
    plotPrecondition(points.rank == 2 && points.shape[1] == 2, "scatter needs points of shape [N, 2], got \(points.shape)")
    let n = points.shape[0]
    plotPrecondition(groups.count == n, "scatter needs one group per point, got \(groups.count) for \(n) points")
    if let centers {
        plotPrecondition(centers.rank == 2 && centers.shape[1] == 2, "scatter needs centres of shape [K, 2], got \(centers.shape)")
    }
    let xy = n > 0 ? points.doubles : [], cxy = centers?.doubles ?? []
    var xs = [Double](), ys = [Double]()
    for i in 0..<(xy.count / 2) where xy[2 * i].isFinite && xy[2 * i + 1].isFinite { xs.append(xy[2 * i]); ys.append(xy[2 * i + 1]) }
    for i in 0..<(cxy.count / 2) where cxy[2 * i].isFinite && cxy[2 * i + 1].isFinite { xs.append(cxy[2 * i]); ys.append(cxy[2 * i + 1]) }
    let (xLo, xHi) = Ticks.paddedRange(xs, margin: 0.05), (yLo, yHi) = Ticks.paddedRange(ys, margin: 0.05)
    let xPairs = Ticks.within(xLo, xHi, count: 6), yPairs = Ticks.within(yLo, yHi, count: 6)
    let left = 14 + 16 + (yPairs.map { textWidth($0.1, size: 11) }.max() ?? 10) + 10
    let frame = Frame(x: left, y: 62, width: 480, height: 480)
    let present = Set(groups.filter { $0 >= 0 }).sorted()
    let names = present.map { "\(groupName) \($0)" }
    let width = frame.maxX + 20 + (names.map { textWidth($0, size: 12) }.max() ?? 0) + 40
    var svg = SVGBuilder(width: width, height: frame.maxY + 50)
    svg.text(truncated(title, maxWidth: width - 20, size: 16), x: width / 2, y: 28, size: 16, anchor: .middle, bold: true)
    let shown = Swift.min(n, 3000)
    var sub = subtitle ?? "\(n) points"
    if shown < n { sub += " (\(shown) drawn)" }
    svg.text(truncated(sub, maxWidth: width - 20, size: 12), x: width / 2, y: 48, size: 12, anchor: .middle, fill: "#555555")
    let xScale = Scale(lo: xLo, hi: xHi, a: frame.x, b: frame.maxX), yScale = Scale(lo: yLo, hi: yHi, a: frame.maxY, b: frame.y)
    drawAxes(&svg, frame: frame, x: xScale, xTicks: xPairs, y: yScale, yTicks: yPairs, xTitle: xTitle, yTitle: yTitle)

    // One group element per colour, so each colour is written once.
    let picked: [Int] = shown < n ? (0..<shown).map { $0 * n / shown } : Array(0..<n)
    for g in Set(groups).sorted() {
        let members = picked.filter { groups[$0] == g && xy[2 * $0].isFinite && xy[2 * $0 + 1].isFinite }
        guard !members.isEmpty else { continue }
        svg.beginGroup("fill=\"\(g >= 0 ? Palette.classColor(g).css : "#999999")\" stroke=\"#ffffff\" stroke-width=\"0.6\" fill-opacity=\"0.85\"")
        let r = n > 1000 ? 2.2 : 3.5
        for i in members { svg.circle(cx: xScale(xy[2 * i]), cy: yScale(xy[2 * i + 1]), r: r) }
        svg.endGroup()
    }
    for j in 0..<(cxy.count / 2) where cxy[2 * j].isFinite && cxy[2 * j + 1].isFinite {
        let (cx, cy) = (xScale(cxy[2 * j]), yScale(cxy[2 * j + 1]))
        svg.raw("<path d=\"M\(fixed(cx - 7, 2)) \(fixed(cy - 7, 2))L\(fixed(cx + 7, 2)) \(fixed(cy + 7, 2))M\(fixed(cx - 7, 2)) \(fixed(cy + 7, 2))L\(fixed(cx + 7, 2)) \(fixed(cy - 7, 2))\" stroke=\"#222222\" stroke-width=\"3\"/>")
        svg.raw("<path d=\"M\(fixed(cx - 6, 2)) \(fixed(cy - 6, 2))L\(fixed(cx + 6, 2)) \(fixed(cy + 6, 2))M\(fixed(cx - 6, 2)) \(fixed(cy + 6, 2))L\(fixed(cx + 6, 2)) \(fixed(cy - 6, 2))\" stroke=\"\(Palette.classColor(j).css)\" stroke-width=\"1.6\"/>")
    }
    let legendX = frame.maxX + 20
    for (row, (g, name)) in zip(present, names).enumerated() {
        let y = frame.y + 12 + Double(row) * 22
        svg.circle(cx: legendX + 6, cy: y - 4, r: 5, fill: Palette.classColor(g).css)
        svg.text(name, x: legendX + 18, y: y, size: 12)
    }
    return svg.picture()
}
