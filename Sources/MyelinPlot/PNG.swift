import MyelinCore

/// An 8-bit RGB picture that encodes to PNG (signature, IHDR, one zlib IDAT, IEND, with CRCs).
///
/// ```swift
/// let image = PNGImage(width: 2, height: 1, rgb: [255, 0, 0, 0, 0, 255])   // red, blue
/// try image.write(to: "two.png")
/// ```
public struct PNGImage: Equatable, Sendable {
    public let width: Int
    public let height: Int
    /// Row-major pixels, 3 bytes (red, green, blue) each: `width * height * 3` bytes.
    public let rgb: [UInt8]

    public init(width: Int, height: Int, rgb: [UInt8]) {
        plotPrecondition(width > 0 && height > 0, "a PNG needs a positive size, got \(width)x\(height)")
        plotPrecondition(rgb.count == width * height * 3,
                         "a \(width)x\(height) RGB image needs \(width * height * 3) bytes, got \(rgb.count)")
        self.width = width
        self.height = height
        self.rgb = rgb
    }

    /// A grey picture from one byte per pixel.
    public init(width: Int, height: Int, grey: [UInt8]) {
        plotPrecondition(grey.count == width * height,
                         "a \(width)x\(height) grey image needs \(width * height) bytes, got \(grey.count)")
        var rgb = [UInt8](repeating: 0, count: grey.count * 3)
        for (i, g) in grey.enumerated() { rgb[3 * i] = g; rgb[3 * i + 1] = g; rgb[3 * i + 2] = g }
        self.init(width: width, height: height, rgb: rgb)
    }

    /// The picture scaled up `factor` times by repeating pixels (nearest neighbour).
    public func upscaled(by factor: Int) -> PNGImage {
        guard factor > 1 else { return self }
        let w = width * factor, h = height * factor
        var out = [UInt8](repeating: 0, count: w * h * 3)
        for y in 0..<h {
            let sy = y / factor
            for x in 0..<w {
                let s = (sy * width + x / factor) * 3, d = (y * w + x) * 3
                out[d] = rgb[s]; out[d + 1] = rgb[s + 1]; out[d + 2] = rgb[s + 2]
            }
        }
        return PNGImage(width: w, height: h, rgb: out)
    }

    /// The PNG file's bytes.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        var header = [UInt8]()
        header += bigEndian(UInt32(width))
        header += bigEndian(UInt32(height))
        header += [8, 2, 0, 0, 0]   // 8 bits, truecolour, deflate, adaptive filtering, no interlace
        appendChunk("IHDR", header, to: &out)
        appendChunk("IDAT", zlibCompress(filteredRows()), to: &out)
        appendChunk("IEND", [], to: &out)
        return out
    }

    /// Writes the PNG atomically; failures throw `PlotError.cannotWrite`.
    public func write(to path: String) throws {
        try writeAtomically(encoded(), to: path)
    }

    /// Each row with a filter byte: "Sub" (1) when it makes the row's bytes smaller in sum, else "None".
    private func filteredRows() -> [UInt8] {
        let stride = width * 3
        var out = [UInt8]()
        out.reserveCapacity(height * (stride + 1))
        var sub = [UInt8](repeating: 0, count: stride)
        for y in 0..<height {
            let row = rgb[(y * stride)..<((y + 1) * stride)]
            var plainCost = 0, subCost = 0
            for i in 0..<stride {
                let v = row[row.startIndex + i]
                let left: UInt8 = i >= 3 ? row[row.startIndex + i - 3] : 0
                sub[i] = v &- left
                plainCost += Int(min(v, 255 - v))
                subCost += Int(min(sub[i], 255 - sub[i]))
            }
            if subCost < plainCost {
                out.append(1)
                out += sub
            } else {
                out.append(0)
                out += row
            }
        }
        return out
    }
}

private func bigEndian(_ v: UInt32) -> [UInt8] {
    [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
}

private func appendChunk(_ type: String, _ data: [UInt8], to out: inout [UInt8]) {
    let typeBytes = Array(type.utf8)
    out += bigEndian(UInt32(data.count))
    let body = typeBytes + data
    out += body
    out += bigEndian(CRC32.checksum(body))
}

/// A zlib stream (RFC 1950) of `data` at the best compression.
func zlibCompress(_ data: [UInt8]) -> [UInt8] {
    do {
        return try Zlib.deflate(data, format: .zlib, level: 9)
    } catch {
        // Only no memory for zlib's state gets here.
        fatalError("[plot] \(error)")
    }
}
