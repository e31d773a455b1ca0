import Testing
import MyelinCore

/// Myelin's one CRC-32 (zlib's): the standard check value, pieces equal the whole, hex form.
@Suite struct CRC32Tests {
    @Test func standardCheckValues() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([UInt8]()) == 0)
        #expect(CRC32().value == 0 && CRC32().hex == "00000000")
        #expect(CRC32.checksum(Array("The quick brown fox jumps over the lazy dog".utf8)) == 0x414F_A339)
        #expect(CRC32.checksum([0]) == 0xD202_EF8D)
    }

    @Test func piecesGiveTheSameValueAsTheWhole() {
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        for cut in [0, 1, 7, 500, 999, 1000] {
            var crc = CRC32()
            crc.update(Array(bytes[..<cut]))
            bytes[cut...].withUnsafeBytes { crc.update($0) }
            #expect(crc.value == CRC32.checksum(bytes), "cut at \(cut)")
        }
        var text = CRC32()
        text.update("1234")
        text.update("56789")
        #expect(text.value == 0xCBF4_3926)
    }

    @Test func hexIsEightLowercaseDigits() {
        #expect(CRC32.hex(0xABCD) == "0000abcd")
        #expect(CRC32.hex(0) == "00000000")
        #expect(CRC32.hex(0xFFFF_FFFF) == "ffffffff")
        var crc = CRC32()
        crc.update(Array("123456789".utf8))
        #expect(crc.hex == "cbf43926")
    }
}
