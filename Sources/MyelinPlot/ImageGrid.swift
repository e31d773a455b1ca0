import MyelinCore

/// Small images in a grid: conv filters, feature maps, dataset samples.
///
/// Accepts `[N, H, W]` or `[N, C, H, W]`; with C = 3 the channels are red, green, blue, with C = 1
/// grey, and any other C shows every channel as its own grey image (N·C cells, e.g. the 16 input
/// channels of each filter of a conv layer). Values are stretched to the full colour range per image
/// (`.perImage`) or over all images (`.global`). When the values have both signs, single-channel
/// images use a diverging blue–white–red map with white at zero (for weights); otherwise grey,
/// black for the smallest value. A constant image takes its shade from the range of all images
/// (mid grey when everything is constant).
///
/// ```swift
/// let grid = ImageGrid(images: conv1.weight, scaling: .global)   // [8, 1, 5, 5]
/// try grid.svg().write(to: "run/filters.svg")
/// try grid.pngImage(scale: 8).write(to: "run/filters.png")
/// ```
public struct ImageGrid: Sendable {
    public enum Scaling: Sendable, Equatable {
        /// Each image uses the full range from its own minimum to its maximum.
        case perImage
        /// All images share the range of the whole tensor, so shades compare across images.
        case global
    }

    /// The number of cells.
    public let count: Int
    public let height: Int
    public let width: Int
    public let columns: Int
    public let labels: [String]?
    /// True when the diverging (signed) colour map is used.
    public let isDiverging: Bool
    /// Each image's RGB pixels, `height * width * 3` bytes.
    let pixels: [[UInt8]]

    /// A grid of `images`; traps with a `[plot]` message on a shape that is not [N, H, W] or
    /// [N, C, H, W] (use `init(validating:...)` to get a `PlotError` instead).
    public init(images: Tensor, columns: Int? = nil, scaling: Scaling = .perImage, labels: [String]? = nil) {
        do {
            try self.init(validating: images, columns: columns, scaling: scaling, labels: labels)
        } catch {
            fatalError("\(error)")
        }
    }

    /// Like `init(images:...)`, but throws `PlotError.invalidInput` for a tensor that is not
    /// [N, H, W] or [N, C, H, W], or holds no values.
    public init(validating images: Tensor, columns: Int? = nil, scaling: Scaling = .perImage, labels: [String]? = nil) throws {
        guard images.rank == 3 || images.rank == 4 else {
            throw PlotError.invalidInput("an image grid needs images of shape [N, H, W] or [N, C, H, W], got \(images.shape)")
        }
        guard images.count > 0 else {
            throw PlotError.invalidInput("an image grid needs at least one non-empty image, got shape \(images.shape)")
        }
        let n = images.shape[0], c = images.rank == 4 ? images.shape[1] : 1
        let h = images.shape[images.rank - 2], w = images.shape[images.rank - 1]
        let rgb = c == 3
        let cells = rgb ? n : n * c
        let plane = h * w
        let values = images.count > 0 ? images.doubles : []

        let finite = values.filter(\.isFinite)
        let globalLo = finite.min() ?? 0, globalHi = finite.max() ?? 0
        let diverging = !rgb && globalLo < 0 && globalHi > 0
        let channels = rgb ? 3 : 1

        var pixels: [[UInt8]] = []
        pixels.reserveCapacity(cells)
        for k in 0..<cells {
            let start = k * plane * channels
            let image = values[start..<(start + plane * channels)]
            var lo = globalLo, hi = globalHi
            if scaling == .perImage {
                let own = image.filter(\.isFinite)
                if let a = own.min(), let b = own.max(), b > a { lo = a; hi = b }
            }
            // t in 0...1 for a value.
            let t: (Double) -> Double
            if diverging {
                let m = max(abs(lo), abs(hi))
                t = { v in m > 0 && v.isFinite ? 0.5 + 0.5 * v / m : 0.5 }
            } else if hi > lo {
                t = { v in v.isFinite ? (v - lo) / (hi - lo) : 0 }
            } else {
                t = { _ in 0.5 }
            }
            var out = [UInt8](repeating: 0, count: plane * 3)
            for p in 0..<plane {
                if rgb {
                    for ch in 0..<3 { out[3 * p + ch] = byte(t(image[start + ch * plane + p])) }
                } else {
                    let v = t(image[start + p])
                    let color = diverging ? Palette.diverging(v) : RGB(byte(v), byte(v), byte(v))
                    out[3 * p] = color.r; out[3 * p + 1] = color.g; out[3 * p + 2] = color.b
                }
            }
            pixels.append(out)
        }
        self.count = cells
        self.height = h
        self.width = w
        self.columns = max(1, columns ?? Int(Double(cells).squareRoot().rounded(.up)))
        self.labels = labels
        self.isDiverging = diverging
        self.pixels = pixels
    }

    /// The number of grid rows.
    public var rows: Int { (count + columns - 1) / columns }

    /// The image at `index` as a PNG picture at its own size.
    public func image(_ index: Int) -> PNGImage {
        PNGImage(width: width, height: height, rgb: pixels[index])
    }

    /// An SVG with each image scaled (without smoothing) into a `cellSize` square, labels below.
    public func svg(cellSize: Int = 56) -> SVGPicture {
        let cell = Double(max(8, cellSize))
        let gap = 6.0
        let labelH = labels == nil ? 0.0 : 14
        let aspect = Double(width) / Double(max(height, 1))
        let imageW = aspect >= 1 ? cell : cell * aspect, imageH = aspect >= 1 ? cell / max(aspect, 1e-9) : cell
        let cols = max(1, min(columns, count))
        let width = gap + Double(cols) * (cell + gap)
        let height = gap + Double(rows) * (cell + labelH + gap)
        var svg = SVGBuilder(width: max(width, 1), height: max(height, 1), background: "#ffffff")
        guard self.width > 0 && self.height > 0 else { return svg.picture() }
        // Upscale small images by a whole factor so they stay sharp even where smoothing is applied.
        let factor = max(1, min(8, Int(cell) / max(self.width, self.height)))
        for k in 0..<count {
            let x = gap + Double(k % columns) * (cell + gap) + (cell - imageW) / 2
            let y = gap + Double(k / columns) * (cell + labelH + gap) + (cell - imageH) / 2
            svg.image(png: image(k).upscaled(by: factor).encoded(), x: x, y: y, width: imageW, height: imageH, pixelated: true)
            svg.rect(x: x, y: y, width: imageW, height: imageH, fill: "none", stroke: "#bbbbbb", strokeWidth: 0.5)
            if let labels, k < labels.count, !labels[k].isEmpty {
                svg.text(truncated(labels[k], maxWidth: cell + gap - 2, size: 10), x: x + imageW / 2,
                         y: gap + Double(k / columns) * (cell + labelH + gap) + cell + 11, size: 10, anchor: .middle)
            }
        }
        return svg.picture()
    }

    /// One PNG of the whole grid: every pixel `scale` × `scale`, 1-pixel (× scale) white gaps.
    public func png(scale: Int = 4) -> [UInt8] { pngImage(scale: scale).encoded() }

    /// The grid as a picture (see `png(scale:)`).
    public func pngImage(scale: Int = 4) -> PNGImage {
        let s = max(1, scale)
        let gap = s
        let cols = max(1, min(columns, count))
        let cellW = width * s, cellH = height * s
        let totalW = max(1, gap + cols * (cellW + gap)), totalH = max(1, gap + rows * (cellH + gap))
        var out = [UInt8](repeating: 255, count: totalW * totalH * 3)
        for k in 0..<count {
            let ox = gap + (k % columns) * (cellW + gap), oy = gap + (k / columns) * (cellH + gap)
            let src = pixels[k]
            for y in 0..<cellH {
                let sy = y / s
                for x in 0..<cellW {
                    let si = (sy * width + x / s) * 3, di = ((oy + y) * totalW + ox + x) * 3
                    out[di] = src[si]; out[di + 1] = src[si + 1]; out[di + 2] = src[si + 2]
                }
            }
        }
        return PNGImage(width: totalW, height: totalH, rgb: out)
    }
}

private func byte(_ t: Double) -> UInt8 {
    UInt8(max(0, min(255, (t.isFinite ? t : 0) * 255).rounded()))
}
