import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import CZlib
import MyelinPlot
import MyelinTestSupport

/// Element counts of a well-formed XML document, or nil (with the parser's error) when it is not.
final class ElementCounter: NSObject, XMLParserDelegate {
    var counts: [String: Int] = [:]
    var texts: [String] = []
    var attributes: [String: [[String: String]]] = [:]
    private var currentText: String?

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?,
                qualifiedName: String?, attributes: [String: String] = [:]) {
        counts[name, default: 0] += 1
        self.attributes[name, default: []].append(attributes)
        if name == "text" { currentText = "" }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { currentText? += string }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if name == "text", let t = currentText { texts.append(t); currentText = nil }
    }
}

struct ParsedSVG {
    let counts: [String: Int]
    let texts: [String]
    let attributes: [String: [[String: String]]]
    func count(_ name: String) -> Int { counts[name] ?? 0 }
}

enum TestFailure: Error, CustomStringConvertible {
    case message(String)
    var description: String { if case .message(let m) = self { return m }; return "" }
}

/// Parses the SVG with Foundation's XMLParser; throws when it is not well-formed.
func parseSVG(_ picture: SVGPicture) throws -> ParsedSVG {
    let parser = XMLParser(data: Data(picture.text.utf8))
    let counter = ElementCounter()
    parser.delegate = counter
    guard parser.parse() else {
        throw TestFailure.message("not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "?") at line \(parser.lineNumber)")
    }
    return ParsedSVG(counts: counter.counts, texts: counter.texts, attributes: counter.attributes)
}

/// A decoded PNG: size, colour type and unfiltered pixel bytes.
struct DecodedPNG {
    var width: Int, height: Int, bitDepth: Int, colorType: Int
    var chunkTypes: [String]
    var pixels: [UInt8]   // rows without filter bytes
}

func readBE32(_ b: [UInt8], _ at: Int) -> UInt32 {
    UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3])
}

/// Decodes an 8-bit RGB/grey PNG, checking the signature, every chunk's CRC and the zlib stream.
func decodePNG(_ bytes: [UInt8]) throws -> DecodedPNG {
    guard bytes.count >= 8, Array(bytes[0..<8]) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] else {
        throw TestFailure.message("bad PNG signature")
    }
    var pos = 8
    var types: [String] = []
    var idat: [UInt8] = []
    var width = 0, height = 0, depth = 0, colorType = 0
    while pos + 12 <= bytes.count {
        let length = Int(readBE32(bytes, pos))
        let body = Array(bytes[(pos + 4)..<(pos + 8 + length)])
        let type = String(decoding: body[0..<4], as: UTF8.self)
        let crc = body.withUnsafeBufferPointer { crc32(crc32(0, nil, 0), $0.baseAddress, uInt($0.count)) }
        guard UInt32(crc) == readBE32(bytes, pos + 8 + length) else { throw TestFailure.message("bad CRC in \(type)") }
        types.append(type)
        let data = Array(body[4...])
        if type == "IHDR" {
            width = Int(readBE32(data, 0)); height = Int(readBE32(data, 4))
            depth = Int(data[8]); colorType = Int(data[9])
        } else if type == "IDAT" {
            idat += data
        }
        pos += 12 + length
    }
    guard pos == bytes.count else { throw TestFailure.message("trailing bytes after the last chunk") }
    let channels = colorType == 2 ? 3 : 1
    let stride = width * channels
    var raw = [UInt8](repeating: 0, count: height * (stride + 1))
    var rawSize = uLong(raw.count)
    let status = raw.withUnsafeMutableBufferPointer { dst in
        idat.withUnsafeBufferPointer { src in uncompress(dst.baseAddress, &rawSize, src.baseAddress, uLong(src.count)) }
    }
    guard status == Z_OK, Int(rawSize) == raw.count else {
        throw TestFailure.message("IDAT does not inflate to \(raw.count) bytes (status \(status), \(rawSize) bytes)")
    }
    // Undo the per-row filters (all five types, for completeness).
    var pixels = [UInt8](repeating: 0, count: height * stride)
    for y in 0..<height {
        let filter = raw[y * (stride + 1)]
        for x in 0..<stride {
            let v = raw[y * (stride + 1) + 1 + x]
            let a = x >= channels ? Int(pixels[y * stride + x - channels]) : 0
            let b = y > 0 ? Int(pixels[(y - 1) * stride + x]) : 0
            let c = x >= channels && y > 0 ? Int(pixels[(y - 1) * stride + x - channels]) : 0
            let predictor: Int
            switch filter {
            case 0: predictor = 0
            case 1: predictor = a
            case 2: predictor = b
            case 3: predictor = (a + b) / 2
            case 4:
                let p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
                predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c
            default: throw TestFailure.message("unknown filter \(filter)")
            }
            pixels[y * stride + x] = v &+ UInt8(predictor & 0xFF)
        }
    }
    return DecodedPNG(width: width, height: height, bitDepth: depth, colorType: colorType, chunkTypes: types, pixels: pixels)
}

/// The PNGs embedded as data URIs in an SVG.
func embeddedPNGs(_ picture: SVGPicture) throws -> [[UInt8]] {
    let marker = "data:image/png;base64,"
    var result: [[UInt8]] = []
    var rest = Substring(picture.text)
    while let r = rest.range(of: marker) {
        let after = rest[r.upperBound...]
        let end = after.firstIndex(of: "\"") ?? after.endIndex
        guard let data = Data(base64Encoded: String(after[..<end])) else { throw TestFailure.message("bad base64") }
        result.append(Array(data))
        rest = after[end...]
    }
    return result
}

/// Where example pictures go: $MYELIN_PLOT_EXAMPLES or a folder in the temp directory.
func examplesFolder() -> String {
    let path = ProcessInfo.processInfo.environment["MYELIN_PLOT_EXAMPLES"]
        ?? (NSTemporaryDirectory() as NSString).appendingPathComponent("myelin-plot-examples")
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func temporaryFolder() -> String {
    let path = temporaryTestPath("plot")
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
