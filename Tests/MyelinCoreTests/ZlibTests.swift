import Testing
import MyelinCore

/// Myelin's one deflate wrapper: every framing round-trips, sizes are exact, bad data throws.
@Suite struct ZlibTests {
    let data: [UInt8] = (0..<300_000).map { (i: Int) -> UInt8 in UInt8(truncatingIfNeeded: i * 7 + i / 1000) }

    @Test func everyFramingRoundTrips() throws {
        for format in [Zlib.Format.raw, .zlib, .gzip] {
            let packed = try Zlib.deflate(data, format: format)
            #expect(packed.count < data.count / 4, "\(format)")
            #expect(try Zlib.inflate(packed, format: format, expected: data.count) == data, "\(format)")
            var pieces = 0, out: [UInt8] = []
            let taken = try Zlib.inflate(packed + [9, 9, 9], format: format) { out += $0; pieces += 1 }
            #expect(taken == packed.count && out == data && pieces > 1, "\(format): stops at the stream's end, in pieces")
            #expect(try Zlib.inflate(try Zlib.deflate([UInt8](), format: format), format: format, expected: 0) == [])
        }
    }

    @Test func piecesDeflateAsTheirConcatenation() throws {
        let whole = try Zlib.deflate(data, format: .raw)
        let split = try data[..<1000].withUnsafeBytes { a in
            try data[1000...].withUnsafeBytes { b in try Zlib.deflate([a, b], format: .raw) }
        }
        #expect(split == whole)
    }

    @Test func framingsAreTheStandardOnes() throws {
        #expect(Array(try Zlib.deflate(data, format: .gzip).prefix(2)) == [0x1f, 0x8b])
        #expect(try Zlib.deflate(data, format: .zlib, level: 9)[0] == 0x78)
    }

    @Test func badDataThrowsWithTheNumbers() throws {
        let packed = try Zlib.deflate(data, format: .zlib)
        func reason(_ body: () throws -> Void) -> String {
            do { try body(); return "" } catch let error as ZlibError { return error.description } catch { return "\(error)" }
        }
        #expect(reason { _ = try Zlib.inflate(Array(packed.prefix(100)), format: .zlib, expected: data.count) }
            .hasPrefix("[zlib] data is truncated (ended after"))
        #expect(reason { _ = try Zlib.inflate(packed, format: .zlib, expected: data.count - 1) }
            == "[zlib] inflates to more than the expected \(data.count - 1) bytes")
        #expect(reason { _ = try Zlib.inflate(packed, format: .zlib, expected: data.count + 1) }
            == "[zlib] inflates to \(data.count) bytes, expected \(data.count + 1)")
        #expect(reason { _ = try Zlib.inflate([1, 2, 3, 4], format: .zlib, expected: 4) }.hasPrefix("[zlib] corrupt data after"))
        #expect(reason { _ = try Zlib.inflate(packed, format: .gzip, expected: data.count) }.hasPrefix("[zlib] corrupt data"))
    }
}
