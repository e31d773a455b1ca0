/// An 8-bit RGB colour.
struct RGB: Equatable {
    var r: UInt8, g: UInt8, b: UInt8

    init(_ r: UInt8, _ g: UInt8, _ b: UInt8) { self.r = r; self.g = g; self.b = b }

    init(hex: UInt32) { self.init(UInt8(hex >> 16), UInt8(hex >> 8 & 0xFF), UInt8(hex & 0xFF)) }

    var css: String {
        let digits = Array("0123456789abcdef")
        var s = "#"
        for v in [r, g, b] { s.append(digits[Int(v >> 4)]); s.append(digits[Int(v & 15)]) }
        return s
    }

    /// `self` moved a fraction `t` of the way to `other`.
    func mixed(with other: RGB, _ t: Double) -> RGB {
        func m(_ a: UInt8, _ b: UInt8) -> UInt8 { UInt8(max(0, min(255, (Double(a) + (Double(b) - Double(a)) * t).rounded()))) }
        return RGB(m(r, other.r), m(g, other.g), m(b, other.b))
    }

    /// Relative luminance in 0...1, to choose black or white text on top.
    var luminance: Double { (0.2126 * Double(r) + 0.7152 * Double(g) + 0.0722 * Double(b)) / 255 }

    static let white = RGB(255, 255, 255)
    static let black = RGB(0, 0, 0)
}

enum Palette {
    /// Tableau 10: distinguishable class colours.
    static let classes: [RGB] = [0x4e79a7, 0xf28e2b, 0xe15759, 0x76b7b2, 0x59a14f,
                                 0xedc948, 0xb07aa1, 0xff9da7, 0x9c755f, 0xbab0ac].map { RGB(hex: $0) }
    /// More colours for more than ten classes.
    static let extra: [RGB] = [0x1f77b4, 0xd62728, 0x2ca02c, 0x9467bd, 0x8c564b,
                               0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf, 0xff7f0e].map { RGB(hex: $0) }

    static func classColor(_ i: Int) -> RGB {
        let all = classes + extra
        let c = all[((i % all.count) + all.count) % all.count]
        // Beyond 20 classes colours repeat, darkened a little each round.
        let round = max(0, i) / all.count
        return round == 0 ? c : c.mixed(with: .black, min(0.6, 0.25 * Double(round)))
    }

    /// Light version of a class colour, for regions behind points.
    static func regionColor(_ i: Int) -> RGB { classColor(i).mixed(with: .white, 0.62) }

    /// Sequential white → dark blue, for heat maps; `t` in 0...1.
    static func blues(_ t: Double) -> RGB {
        let stops: [RGB] = [0xf7fbff, 0xdeebf7, 0xc6dbef, 0x9ecae1, 0x6baed6, 0x4292c6, 0x2171b5, 0x08519c, 0x08306b].map { RGB(hex: $0) }
        return interpolate(stops, t)
    }

    /// Diverging blue → white → red, for signed values; `t` in 0...1 with 0.5 for zero.
    static func diverging(_ t: Double) -> RGB {
        let stops: [RGB] = [0x053061, 0x2166ac, 0x4393c3, 0x92c5de, 0xd1e5f0, 0xf7f7f7,
                            0xfddbc7, 0xf4a582, 0xd6604d, 0xb2182b, 0x67001f].map { RGB(hex: $0) }
        return interpolate(stops, t)
    }

    static func interpolate(_ stops: [RGB], _ t: Double) -> RGB {
        let t = t.isFinite ? max(0, min(1, t)) : 0
        let x = t * Double(stops.count - 1)
        let i = min(Int(x), stops.count - 2)
        return stops[i].mixed(with: stops[i + 1], x - Double(i))
    }
}
