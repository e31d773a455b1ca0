/// An SVG document: its text and size in pixels.
///
/// Output is deterministic: the same input gives byte-identical text (numbers are written with a
/// fixed number of decimals, nothing depends on dates, hashing order or the locale).
///
/// ```swift
/// let picture = plotTrainingCurves(["loss": [0.9, 0.5, 0.3], "val_loss": [1.0, 0.7, 0.6]])
/// try picture.write(to: "run/curves.svg")
/// ```
public struct SVGPicture: Equatable, Sendable {
    /// The whole document, starting with the XML declaration.
    public var text: String
    /// The width and height of the picture in pixels.
    public var width: Double
    public var height: Double

    public init(text: String, width: Double, height: Double) {
        self.text = text
        self.width = width
        self.height = height
    }

    /// The UTF-8 bytes of `text`.
    public var bytes: [UInt8] { Array(text.utf8) }

    /// Writes the document atomically; failures throw `PlotError.cannotWrite`.
    public func write(to path: String) throws {
        try writeAtomically(bytes, to: path)
    }

    /// Several pictures side by side, `columns` per row, each in a cell as large as the largest.
    public static func grid(_ pictures: [SVGPicture], columns: Int = 2, gap: Double = 16) -> SVGPicture {
        let columns = max(1, min(columns, max(1, pictures.count)))
        let rows = (pictures.count + columns - 1) / columns
        let cellW = pictures.map(\.width).max() ?? 0
        let cellH = pictures.map(\.height).max() ?? 0
        let width = Double(columns) * cellW + Double(columns - 1) * gap
        let height = Double(rows) * cellH + Double(max(rows - 1, 0)) * gap
        var svg = SVGBuilder(width: max(width, 1), height: max(height, 1))
        for (i, picture) in pictures.enumerated() {
            let x = Double(i % columns) * (cellW + gap), y = Double(i / columns) * (cellH + gap)
            svg.raw(picture.nested(x: x, y: y))
        }
        return svg.picture()
    }

    /// The root element with a position, for nesting inside another document.
    func nested(x: Double, y: Double) -> String {
        var body = Substring(text)
        if body.hasPrefix("<?xml"), let end = body.firstIndex(of: "\n") { body = body[body.index(after: end)...] }
        guard body.hasPrefix("<svg ") else { return String(body) }
        return "<svg x=\"\(fmt(x))\" y=\"\(fmt(y))\" " + body.dropFirst(5)
    }
}

/// Builds an SVG document element by element.
struct SVGBuilder {
    let width: Double
    let height: Double
    private var body: String = ""

    static let fontFamily = "DejaVu Sans, Helvetica, Arial, sans-serif"

    init(width: Double, height: Double, background: String? = "#ffffff") {
        self.width = width
        self.height = height
        if let background { rect(x: 0, y: 0, width: width, height: height, fill: background) }
    }

    mutating func raw(_ element: String) {
        body += element
        body += "\n"
    }

    mutating func rect(x: Double, y: Double, width: Double, height: Double, fill: String,
                       stroke: String? = nil, strokeWidth: Double = 1, extra: String = "") {
        var s = "<rect x=\"\(fmt(x))\" y=\"\(fmt(y))\" width=\"\(fmt(width))\" height=\"\(fmt(height))\" fill=\"\(fill)\""
        if let stroke { s += " stroke=\"\(stroke)\" stroke-width=\"\(fmt(strokeWidth))\"" }
        s += extra
        raw(s + "/>")
    }

    mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String,
                       width: Double = 1, dash: String? = nil) {
        var s = "<line x1=\"\(fmt(x1))\" y1=\"\(fmt(y1))\" x2=\"\(fmt(x2))\" y2=\"\(fmt(y2))\" stroke=\"\(stroke)\" stroke-width=\"\(fmt(width))\""
        if let dash { s += " stroke-dasharray=\"\(dash)\"" }
        raw(s + "/>")
    }

    mutating func circle(cx: Double, cy: Double, r: Double, fill: String? = nil, stroke: String? = nil,
                         strokeWidth: Double = 1) {
        var s = "<circle cx=\"\(fmt(cx, 1))\" cy=\"\(fmt(cy, 1))\" r=\"\(fmt(r, 1))\""
        if let fill { s += " fill=\"\(fill)\"" }
        if let stroke { s += " stroke=\"\(stroke)\" stroke-width=\"\(fmt(strokeWidth))\"" }
        raw(s + "/>")
    }

    /// A polyline through `points`, broken at nil points (gaps).
    mutating func polyline(_ points: [(Double, Double)?], stroke: String, width: Double = 2, dash: String? = nil) {
        var d = ""
        var penDown = false
        for point in points {
            guard let (x, y) = point else { penDown = false; continue }
            d += (d.isEmpty ? "" : " ") + (penDown ? "L" : "M") + "\(fmt(x)) \(fmt(y))"
            penDown = true
        }
        guard !d.isEmpty else { return }
        var s = "<path d=\"\(d)\" fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"\(fmt(width))\" stroke-linejoin=\"round\" stroke-linecap=\"round\""
        if let dash { s += " stroke-dasharray=\"\(dash)\"" }
        raw(s + "/>")
    }

    enum Anchor: String { case start, middle, end }

    mutating func text(_ string: String, x: Double, y: Double, size: Double = 12, anchor: Anchor = .start,
                       bold: Bool = false, fill: String = "#222222", rotate: Double? = nil,
                       baseline: String? = nil) {
        var s = "<text x=\"\(fmt(x))\" y=\"\(fmt(y))\" font-size=\"\(fmt(size))\""
        if anchor != .start { s += " text-anchor=\"\(anchor.rawValue)\"" }
        if bold { s += " font-weight=\"bold\"" }
        if fill != "#222222" { s += " fill=\"\(fill)\"" }
        if let baseline { s += " dominant-baseline=\"\(baseline)\"" }
        if let rotate { s += " transform=\"rotate(\(fmt(rotate)) \(fmt(x)) \(fmt(y)))\"" }
        raw(s + ">\(xmlEscape(string))</text>")
    }

    /// A PNG drawn into a rectangle (as a data URI), optionally without smoothing.
    mutating func image(png: [UInt8], x: Double, y: Double, width: Double, height: Double, pixelated: Bool) {
        var s = "<image x=\"\(fmt(x))\" y=\"\(fmt(y))\" width=\"\(fmt(width))\" height=\"\(fmt(height))\" preserveAspectRatio=\"none\""
        if pixelated { s += " image-rendering=\"optimizeSpeed\" style=\"image-rendering:pixelated\"" }
        s += " xlink:href=\"data:image/png;base64,\(base64(png))\"/>"
        raw(s)
    }

    mutating func beginGroup(_ attributes: String) { raw("<g \(attributes)>") }
    mutating func endGroup() { raw("</g>") }

    func picture() -> SVGPicture {
        let header = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            + "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" version=\"1.1\""
            + " width=\"\(fmt(width))\" height=\"\(fmt(height))\" viewBox=\"0 0 \(fmt(width)) \(fmt(height))\""
            + " font-family=\"\(SVGBuilder.fontFamily)\">\n"
        return SVGPicture(text: header + body + "</svg>\n", width: width, height: height)
    }
}

// MARK: - Text helpers

/// `x` with at most `decimals` decimals, trailing zeros dropped, never "-0"; locale-independent.
func fmt(_ x: Double, _ decimals: Int = 2) -> String {
    guard x.isFinite else { return "0" }
    var p: Double = 1
    for _ in 0..<decimals { p *= 10 }
    let scaled = (abs(x) * p).rounded()
    if scaled == 0 { return "0" }
    guard scaled < 9e15 else { return abs(x) < 9e15 ? String(Int64(x.rounded())) : "\(x)" }
    let n = UInt64(scaled)
    let ip = UInt64(p)
    var s = (x < 0 ? "-" : "") + String(n / ip)
    if decimals > 0 {
        var frac = String(n % ip)
        frac = String(repeating: "0", count: decimals - frac.count) + frac
        while frac.hasSuffix("0") { frac.removeLast() }
        if !frac.isEmpty { s += "." + frac }
    }
    return s
}

/// `x` with exactly `decimals` decimals (keeps trailing zeros), as "0.50".
func fixed(_ x: Double, _ decimals: Int) -> String {
    let s = fmt(x, decimals)
    guard decimals > 0 else { return s }
    let parts = s.split(separator: ".", omittingEmptySubsequences: false)
    let frac = parts.count > 1 ? String(parts[1]) : ""
    return String(parts[0]) + "." + frac + String(repeating: "0", count: decimals - frac.count)
}

func xmlEscape(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.count)
    for scalar in s.unicodeScalars {
        switch scalar {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&apos;"
        default:
            // Control characters are not allowed in XML 1.0.
            if scalar.value < 0x20 && scalar != "\t" && scalar != "\n" { out += " " } else { out.unicodeScalars.append(scalar) }
        }
    }
    return out
}

/// Approximate width of `s` in pixels at font size `size` (DejaVu Sans is about 0.6 em per character).
func textWidth(_ s: String, size: Double) -> Double { Double(s.count) * size * 0.6 }

/// `s` shortened with "…" to at most `maxWidth` pixels at font size `size`.
func truncated(_ s: String, maxWidth: Double, size: Double) -> String {
    let maxChars = max(1, Int(maxWidth / (size * 0.6)))
    guard s.count > maxChars else { return s }
    return String(s.prefix(max(1, maxChars - 1))) + "…"
}

func base64(_ bytes: [UInt8]) -> String {
    let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    var out = [UInt8]()
    out.reserveCapacity((bytes.count + 2) / 3 * 4)
    var i = 0
    while i + 2 < bytes.count {
        let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
        out += [table[Int(n >> 18)], table[Int(n >> 12 & 63)], table[Int(n >> 6 & 63)], table[Int(n & 63)]]
        i += 3
    }
    let rest = bytes.count - i
    if rest == 1 {
        let n = UInt32(bytes[i]) << 16
        out += [table[Int(n >> 18)], table[Int(n >> 12 & 63)], UInt8(ascii: "="), UInt8(ascii: "=")]
    } else if rest == 2 {
        let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
        out += [table[Int(n >> 18)], table[Int(n >> 12 & 63)], table[Int(n >> 6 & 63)], UInt8(ascii: "=")]
    }
    return String(decoding: out, as: UTF8.self)
}
