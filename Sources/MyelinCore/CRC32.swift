import CZlib

/// CRC-32 with the zip/zlib/PNG polynomial (reflected 0xEDB88320, initial and final XOR
/// 0xFFFFFFFF), computed by zlib: Myelin's one CRC-32, used by zip archives (`.npz`), checkpoints,
/// the checksum of the safetensors files Myelin writes and PNG chunks.
///
/// Feed bytes in pieces with `update`, or hash a whole buffer with `checksum`; the CRC of
/// "123456789" is 0xCBF43926.
///
/// ```swift
/// var crc = CRC32()
/// crc.update(Array("1234".utf8))
/// crc.update(Array("56789".utf8))
/// crc.value == CRC32.checksum(Array("123456789".utf8))   // true, 0xCBF43926
/// crc.hex                                                // "cbf43926"
/// ```
public struct CRC32: Sendable, Equatable {
    /// The CRC of the bytes fed so far (0 for none).
    public private(set) var value: UInt32 = 0

    /// A CRC of no bytes yet.
    public init() {}

    /// Adds `bytes` to the checksummed stream.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        var crc = uLong(value)
        var done = 0
        while done < bytes.count {
            // zlib takes 32-bit lengths.
            let n = Swift.min(bytes.count - done, 1 << 30)
            crc = CZlib.crc32(crc, base + done, uInt(n))
            done += n
        }
        value = UInt32(truncatingIfNeeded: crc)
    }

    /// Adds `bytes` to the checksummed stream.
    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Adds the UTF-8 bytes of `text` to the checksummed stream.
    public mutating func update(_ text: String) {
        var text = text
        text.withUTF8 { update(UnsafeRawBufferPointer($0)) }
    }

    /// The value as 8 lowercase hex digits, zero-padded: `"0000abcd"`.
    public var hex: String { Self.hex(value) }

    /// The CRC-32 of `bytes`.
    ///
    /// ```swift
    /// CRC32.checksum(Array("123456789".utf8))   // 0xCBF43926
    /// ```
    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var crc = CRC32()
        crc.update(bytes)
        return crc.value
    }

    /// The CRC-32 of `bytes`.
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc = CRC32()
        crc.update(bytes)
        return crc.value
    }

    /// `value` as 8 lowercase hex digits, zero-padded: `CRC32.hex(0xabcd)` is `"0000abcd"`.
    public static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }
}
