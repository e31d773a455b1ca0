/// A confusion matrix as a heat map: true classes in rows, predicted classes in columns, the count
/// in every cell, cells shaded by their share of the row (so rare classes read as well as common
/// ones). With `normalizeRows` each cell shows the row percentage, with the count below it.
///
/// Missing or empty class names are replaced by the class index; a matrix smaller than the list of
/// names is padded with zeros. Readable up to about 20 classes.
///
/// ```swift
/// let svg = plotConfusionMatrix(counts: [[50, 2], [5, 43]], classNames: ["cat", "dog"])
/// ```
public func plotConfusionMatrix(counts: [[Int]], classNames: [String], title: String = "Confusion matrix",
                                normalizeRows: Bool = false) -> SVGPicture {
    let n = max(counts.count, counts.map(\.count).max() ?? 0, classNames.count)
    var matrix = [[Int]](repeating: [Int](repeating: 0, count: n), count: n)
    for (i, row) in counts.enumerated() { for (j, c) in row.enumerated() { matrix[i][j] = c } }
    let names: [String] = (0..<n).map { i in
        let name = i < classNames.count ? classNames[i].trimmingWhitespace : ""
        return name.isEmpty ? String(i) : name
    }

    let cell: Double = n <= 4 ? 72 : max(30, min(56, (520 / Double(n)).rounded(.down)))
    let labelSize = n > 14 ? 10.0 : 12.0
    let rowNames = names.map { truncated($0, maxWidth: 130, size: labelSize) }
    let rowLabelW = rowNames.map { textWidth($0, size: labelSize) }.max() ?? 10
    let rotateColumns = rowLabelW > cell - 6
    let columnLabelH = rotateColumns ? rowLabelW * 0.72 + 12 : 20

    let total = matrix.joined().reduce(0, +)
    let correct = (0..<n).reduce(0) { $0 + matrix[$1][$1] }
    let left = 12 + 18 + rowLabelW + 10
    let top = 80.0
    let side = cell * Double(n)
    let barX = left + side + 24
    let width = max(barX + 70, rotateColumns ? left + side + rowLabelW * 0.72 : 0, 320)
    let height = top + side + columnLabelH + 34

    var svg = SVGBuilder(width: width, height: height)
    svg.text(truncated(title, maxWidth: width - 20, size: 16), x: width / 2, y: 28, size: 16, anchor: .middle, bold: true)
    let accuracy = total > 0 ? Double(correct) / Double(total) * 100 : 0
    svg.text(total > 0 ? "accuracy \(fixed(accuracy, 2))% of \(total)" : "no samples",
             x: width / 2, y: 48, size: 12, anchor: .middle, fill: "#555555")

    let countSize = min(14, max(8, cell * 0.26))
    for i in 0..<n {
        let rowSum = matrix[i].reduce(0, +)
        for j in 0..<n {
            let c = matrix[i][j]
            let share = rowSum > 0 ? Double(c) / Double(rowSum) : 0
            let color = Palette.blues(share)
            let x = left + Double(j) * cell, y = top + Double(i) * cell
            svg.rect(x: x, y: y, width: cell, height: cell, fill: color.css, stroke: "#ffffff", strokeWidth: 1)
            let ink = color.luminance < 0.5 ? "#ffffff" : "#1a1a1a"
            if normalizeRows {
                let percent = rowSum > 0 ? fixed(share * 100, cell >= 60 ? 1 : 0) + "%" : "–"
                let twoLines = cell >= 40
                svg.text(percent, x: x + cell / 2, y: y + cell / 2 + (twoLines ? -1 : countSize * 0.35),
                         size: countSize, anchor: .middle, bold: i == j, fill: ink)
                if twoLines {
                    svg.text(String(c), x: x + cell / 2, y: y + cell / 2 + countSize * 0.95, size: countSize * 0.72,
                             anchor: .middle, fill: ink)
                }
            } else {
                svg.text(String(c), x: x + cell / 2, y: y + cell / 2 + countSize * 0.35, size: countSize,
                         anchor: .middle, bold: i == j, fill: ink)
            }
        }
    }
    svg.rect(x: left, y: top, width: side, height: side, fill: "none", stroke: "#888888")

    // Row labels (true class) on the left, column labels (predicted class) below.
    for i in 0..<n {
        svg.text(rowNames[i], x: left - 8, y: top + (Double(i) + 0.5) * cell + labelSize * 0.35, size: labelSize, anchor: .end)
        let cx = left + (Double(i) + 0.5) * cell
        if rotateColumns {
            svg.text(rowNames[i], x: cx + 4, y: top + side + 12, size: labelSize, anchor: .end, rotate: -45)
        } else {
            svg.text(rowNames[i], x: cx, y: top + side + 16, size: labelSize, anchor: .middle)
        }
    }
    svg.text("true", x: 18, y: top + side / 2, size: 13, anchor: .middle, bold: true, rotate: -90)
    svg.text("predicted", x: left + side / 2, y: top + side + columnLabelH + 20, size: 13, anchor: .middle, bold: true)

    // Colour bar for the row share.
    let steps = 20
    for s in 0..<steps {
        let t = 1 - (Double(s) + 0.5) / Double(steps)
        svg.rect(x: barX, y: top + Double(s) * side / Double(steps), width: 14, height: side / Double(steps) + 0.5,
                 fill: Palette.blues(t).css)
    }
    svg.rect(x: barX, y: top, width: 14, height: side, fill: "none", stroke: "#888888")
    for (t, label) in [(1.0, "100%"), (0.5, "50%"), (0.0, "0%")] {
        let y = top + (1 - t) * side
        svg.line(barX + 14, y, barX + 18, y, stroke: "#555555")
        svg.text(label, x: barX + 21, y: y + 4, size: 10, fill: "#444444")
    }
    svg.text("of row", x: barX + 7, y: top - 8, size: 10, anchor: .middle, fill: "#444444")
    return svg.picture()
}

/// A confusion matrix counted from predicted and true class indices (equal lengths; negative
/// indices are skipped). There are as many classes as names, or more if an index is larger.
public func plotConfusionMatrix(predictions: [Int], labels: [Int], classNames: [String],
                                title: String = "Confusion matrix", normalizeRows: Bool = false) -> SVGPicture {
    plotConfusionMatrix(counts: confusionCounts(predictions: predictions, labels: labels, classes: classNames.count),
                        classNames: classNames, title: title, normalizeRows: normalizeRows)
}

/// `counts[true][predicted]`, at least `classes` × `classes`.
public func confusionCounts(predictions: [Int], labels: [Int], classes: Int = 0) -> [[Int]] {
    plotPrecondition(predictions.count == labels.count,
                     "confusion matrix needs as many predictions as labels, got \(predictions.count) and \(labels.count)")
    let n = max(classes, (predictions.max() ?? -1) + 1, (labels.max() ?? -1) + 1)
    var counts = [[Int]](repeating: [Int](repeating: 0, count: n), count: n)
    for (p, t) in zip(predictions, labels) where p >= 0 && t >= 0 { counts[t][p] += 1 }
    return counts
}

extension String {
    var trimmingWhitespace: String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}
