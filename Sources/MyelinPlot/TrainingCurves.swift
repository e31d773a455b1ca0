#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Training curves: one panel per quantity ("loss", "accuracy", ...), the training series and its
/// `val_` counterpart in the same panel, epochs on the x axis starting at 1.
///
/// Keys are history names as `fit` records them: `loss`, `val_loss`, `accuracy`, `val_accuracy`,
/// `lr`, `time`. A `train_` prefix is read like no prefix; `lr` (or `learning_rate`) gets its own
/// panel, last, on a log axis when it spans more than a factor of 20; timings (`time`, `*_time`,
/// `epoch`) are skipped. NaN and infinite values leave gaps; a single epoch is drawn as dots.
///
/// ```swift
/// let svg = plotTrainingCurves(["loss": [0.9, 0.5], "val_loss": [1.0, 0.8],
///                               "accuracy": [0.7, 0.85], "val_accuracy": [0.66, 0.8]])
/// try svg.write(to: "run/curves.svg")
/// ```
public func plotTrainingCurves(_ series: [String: [Double]], title: String = "Training", columns: Int = 2) -> SVGPicture {
    let panels = curvePanels(series)
    let panelW = 440.0, panelH = 300.0, top = 44.0, pad = 10.0
    let columns = max(1, min(columns, max(1, panels.count)))
    let rows = max(1, (panels.count + columns - 1) / columns)
    let width = Double(columns) * panelW + 2 * pad
    let height = top + Double(rows) * panelH + pad
    var svg = SVGBuilder(width: width, height: height)
    svg.text(truncated(title, maxWidth: width - 20, size: 16), x: width / 2, y: 28, size: 16, anchor: .middle, bold: true)
    if panels.isEmpty {
        svg.text("no series to plot", x: width / 2, y: top + panelH / 2, size: 13, anchor: .middle, fill: "#888888")
    }
    for (i, panel) in panels.enumerated() {
        let frame = Frame(x: pad + Double(i % columns) * panelW, y: top + Double(i / columns) * panelH,
                          width: panelW, height: panelH)
        drawCurvePanel(&svg, panel, in: frame)
    }
    return svg.picture()
}

struct CurvePanel {
    var name: String
    var lines: [(label: String, values: [Double])]
    var isLearningRate: Bool
}

/// Groups history series into panels, in a stable order: loss, accuracy, the rest by name, lr.
func curvePanels(_ series: [String: [Double]]) -> [CurvePanel] {
    var groups: [String: [(role: Int, label: String, values: [Double])]] = [:]
    for key in series.keys.sorted() {
        guard let values = series[key], !values.isEmpty else { continue }
        let lower = key.lowercased()
        if lower == "time" || lower == "epoch" || lower == "epochs" || lower.hasSuffix("_time")
            || lower.hasPrefix("time_") || lower == "seconds" || lower == "duration" { continue }
        var base = key, role = 0, label = "train"
        for prefix in ["val_", "validation_", "test_"] where lower.hasPrefix(prefix) {
            base = String(key.dropFirst(prefix.count)); role = 1; label = prefix == "test_" ? "test" : "val"
        }
        if lower.hasPrefix("train_") { base = String(key.dropFirst(6)) }
        if base.lowercased() == "learning_rate" { base = "lr" }
        groups[base, default: []].append((role, label, values))
    }
    func rank(_ name: String) -> Int {
        switch name.lowercased() {
        case "loss": return 0
        case "accuracy", "acc": return 1
        case "lr": return 3
        default: return 2
        }
    }
    let names = groups.keys.sorted { (rank($0), $0) < (rank($1), $1) }
    return names.map { name in
        let lines = groups[name]!.sorted { ($0.role, $0.label) < ($1.role, $1.label) }
        let isLR = name.lowercased() == "lr"
        return CurvePanel(name: isLR ? "learning rate" : name,
                          lines: lines.map { (label: isLR && $0.role == 0 ? "lr" : $0.label, values: $0.values) },
                          isLearningRate: isLR)
    }
}

let curveColors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"]

func drawCurvePanel(_ svg: inout SVGBuilder, _ panel: CurvePanel, in box: Frame) {
    let epochs = panel.lines.map(\.values.count).max() ?? 1
    let finite = panel.lines.flatMap(\.values).filter(\.isFinite)
    let positive = finite.allSatisfy { $0 > 0 }
    let useLog = panel.isLearningRate && !finite.isEmpty && positive
        && (finite.max()! / finite.min()! >= 20)
    let yTicks = useLog ? Ticks.log(min: finite.min()!, max: finite.max()!)
        : Ticks.nice(min: finite.min() ?? 0, max: finite.max() ?? 1, count: 5)
    let yLabels = yTicks.labels
    let widest = yLabels.map { textWidth($0, size: 11) }.max() ?? 0
    let left = 14 + 16 + widest + 10
    let frame = Frame(x: box.x + left, y: box.y + 30, width: box.width - left - 18, height: box.height - 30 - 48)

    // Epoch axis: 1...epochs (one epoch sits in the middle).
    // Both axes get a little room so points do not sit on the frame.
    let xPad = epochs == 1 ? 0.5 : 0.025 * Double(epochs - 1)
    let xScale = Scale(lo: 1 - xPad, hi: Double(epochs) + xPad, a: frame.x, b: frame.maxX)
    let yScale: Scale
    if useLog {
        let f = pow(yTicks.hi / yTicks.lo, 0.04)
        yScale = Scale(lo: yTicks.lo / f, hi: yTicks.hi * f, a: frame.maxY, b: frame.y, log: true)
    } else {
        let pad = 0.04 * (yTicks.hi - yTicks.lo)
        yScale = Scale(lo: yTicks.lo - pad, hi: yTicks.hi + pad, a: frame.maxY, b: frame.y)
    }
    let xTicks = Ticks.nice(min: 1, max: Double(epochs), count: 6, integers: true)
    var xTickPairs = xTicks.values.filter { $0 >= 1 - 1e-9 && $0 <= Double(epochs) + 1e-9 }.map { ($0, fmt($0, 0)) }
    // Mark the first epoch too when the ticks are far apart (5, 10, ... → 1, 5, 10, ...).
    if xTicks.step >= 5, let first = xTickPairs.first, first.0 > 1 { xTickPairs.insert((1, "1"), at: 0) }
    drawAxes(&svg, frame: frame, x: xScale, xTicks: xTickPairs.isEmpty ? [(1, "1")] : xTickPairs,
             y: yScale, yTicks: Array(zip(yTicks.values, yLabels)), xTitle: "epoch", yTitle: panel.name)

    // Panel title on the left, legend on the right of the same row.
    svg.text(truncated(panel.name, maxWidth: frame.width / 2, size: 13), x: frame.x, y: box.y + 20, size: 13, bold: true)
    var legendX = frame.maxX
    for (i, line) in panel.lines.enumerated().reversed() {
        let w = textWidth(line.label, size: 11)
        legendX -= w
        svg.text(line.label, x: legendX, y: box.y + 20, size: 11, fill: "#333333")
        legendX -= 24
        svg.line(legendX, box.y + 16, legendX + 18, box.y + 16, stroke: curveColors[i % curveColors.count], width: 2.5)
        legendX -= 14
    }

    for (i, line) in panel.lines.enumerated() {
        let color = curveColors[i % curveColors.count]
        let usable: (Double) -> Bool = { $0.isFinite && (!useLog || $0 > 0) }
        let points: [(Double, Double)?] = line.values.enumerated().map { e, v in
            usable(v) ? (xScale(Double(e + 1)), min(max(yScale(v), frame.y), frame.maxY)) : nil
        }
        svg.polyline(points, stroke: color, width: 2)
        // Dots for short runs, and for points with no drawn neighbour (one epoch, values between gaps).
        for (e, p) in points.enumerated() {
            guard let (px, py) = p else { continue }
            let isolated = (e == 0 || points[e - 1] == nil) && (e == points.count - 1 || points[e + 1] == nil)
            if isolated || line.values.count <= 30 {
                svg.circle(cx: px, cy: py, r: isolated ? 3.5 : 2.5, fill: color)
            }
        }
    }
    if finite.isEmpty {
        svg.text("no finite values", x: frame.x + frame.width / 2, y: frame.y + frame.height / 2,
                 size: 12, anchor: .middle, fill: "#888888")
    }
}
