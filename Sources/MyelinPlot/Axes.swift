#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A rectangle in picture pixels.
struct Frame {
    var x: Double, y: Double, width: Double, height: Double
    var maxX: Double { x + width }
    var maxY: Double { y + height }
}

/// Maps data values in `lo...hi` to pixels in `a...b` (linearly, or by log10 when `log`).
struct Scale {
    var lo: Double, hi: Double
    var a: Double, b: Double
    var log = false

    func callAsFunction(_ v: Double) -> Double {
        let (l, h, x) = log ? (log10(lo), log10(hi), log10(v)) : (lo, hi, v)
        if h == l { return (a + b) / 2 }
        return a + (x - l) / (h - l) * (b - a)
    }
}

/// Evenly spaced round tick values ("nice numbers": 1, 2 or 5 times a power of ten).
struct Ticks {
    var lo: Double
    var hi: Double
    var step: Double
    var values: [Double]

    /// Ticks covering `min...max` with about `count` intervals; the bounds are widened to ticks.
    /// A zero-width range is widened around its value first.
    static func nice(min: Double, max: Double, count: Int = 5, integers: Bool = false) -> Ticks {
        var lo = min, hi = max
        if !(lo.isFinite && hi.isFinite) { lo = 0; hi = 1 }
        if lo > hi { swap(&lo, &hi) }
        lo = Swift.max(lo, -1e300); hi = Swift.min(hi, 1e300)   // keep hi - lo finite
        if hi - lo < 1e-12 * Swift.max(1, abs(lo)) {
            let pad = lo == 0 ? 1 : abs(lo) * 0.1
            lo -= pad; hi += pad
        }
        var step = niceStep((hi - lo) / Double(Swift.max(1, count)))
        if integers { step = Swift.max(1, step.rounded()) }
        let first = (lo / step + 1e-9).rounded(.down) * step
        let last = (hi / step - 1e-9).rounded(.up) * step
        let count = ((last - first) / step).rounded()
        let n = count.isFinite ? Swift.max(0, Swift.min(Int(count), 200)) : 0
        let values = (0...n).map { cleanZero(first + Double($0) * step) }
        return Ticks(lo: first, hi: last, step: step, values: values)
    }

    /// Powers of ten covering a positive range (for a log axis).
    static func log(min: Double, max: Double) -> Ticks {
        let loE = floor(log10(min) + 1e-9), hiE = ceil(log10(max) - 1e-9)
        let hiE2 = Swift.max(hiE, loE + 1)
        let values = stride(from: loE, through: hiE2, by: 1).map { pow(10, $0) }
        return Ticks(lo: pow(10, loE), hi: pow(10, hiE2), step: 0, values: values)
    }

    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let mag = pow(10, floor(log10(raw)))
        let norm = raw / mag
        let f: Double = norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10
        return f * mag
    }

    private static func cleanZero(_ v: Double) -> Double { abs(v) < 1e-12 ? 0 : v }

    /// Labels for the tick values, with as many decimals as the step needs.
    var labels: [String] {
        let biggest = values.map(abs).max() ?? 0
        if step == 0 || biggest >= 1e6 || (step < 1e-3) { return values.map(scientific) }
        let decimals = Swift.max(0, Int(ceil(-log10(step) - 1e-9)))
        return values.map { fixed($0, decimals) }
    }
}

/// `v` as "2.5e-4" (or "0" for zero).
func scientific(_ v: Double) -> String {
    guard v != 0, v.isFinite else { return "0" }
    var e = floor(log10(abs(v)))
    var m = v / pow(10, e)
    if abs(m) >= 9.995 { m /= 10; e += 1 }
    return fmt(m, 2) + "e" + String(Int(e))
}

/// Light grid lines, tick marks, tick labels and axis titles around `frame`.
func drawAxes(_ svg: inout SVGBuilder, frame: Frame, x: Scale, xTicks: [(Double, String)],
              y: Scale, yTicks: [(Double, String)], xTitle: String?, yTitle: String?, grid: Bool = true) {
    let tickColor = "#555555", gridColor = "#e6e6e6"
    if grid {
        for (v, _) in xTicks { svg.line(x(v), frame.y, x(v), frame.maxY, stroke: gridColor) }
        for (v, _) in yTicks { svg.line(frame.x, y(v), frame.maxX, y(v), stroke: gridColor) }
    }
    svg.rect(x: frame.x, y: frame.y, width: frame.width, height: frame.height, fill: "none", stroke: "#888888")
    for (v, label) in xTicks {
        svg.line(x(v), frame.maxY, x(v), frame.maxY + 4, stroke: tickColor)
        svg.text(label, x: x(v), y: frame.maxY + 16, size: 11, anchor: .middle, fill: "#444444")
    }
    var widest = 0.0
    for (v, label) in yTicks {
        svg.line(frame.x - 4, y(v), frame.x, y(v), stroke: tickColor)
        svg.text(label, x: frame.x - 7, y: y(v) + 4, size: 11, anchor: .end, fill: "#444444")
        widest = max(widest, textWidth(label, size: 11))
    }
    if let xTitle { svg.text(xTitle, x: frame.x + frame.width / 2, y: frame.maxY + 34, size: 12, anchor: .middle) }
    if let yTitle {
        let tx = frame.x - widest - 16
        svg.text(yTitle, x: tx, y: frame.y + frame.height / 2, size: 12, anchor: .middle, rotate: -90)
    }
}

extension Ticks {
    /// The (value, label) pairs of nice ticks inside `lo...hi`, for axes drawn over exactly that range.
    static func within(_ lo: Double, _ hi: Double, count: Int) -> [(Double, String)] {
        let t = Ticks.nice(min: lo, max: hi, count: count), slack = 1e-9 * abs(hi - lo)
        return zip(t.values, t.labels).filter { $0.0 >= lo - slack && $0.0 <= hi + slack }
    }

    /// The range of `values` widened on each side by `margin` times its span (a single value by 10%
    /// of it, at least 1); (-1, 1) when there are none.
    static func paddedRange(_ values: [Double], margin: Double) -> (Double, Double) {
        guard let lo = values.min(), let hi = values.max() else { return (-1, 1) }
        let pad = hi > lo ? (hi - lo) * margin : Swift.max(abs(lo) * 0.1, 1)
        return (lo - pad, hi + pad)
    }
}
