import MyelinCore
import CMyelinKernels

/// SHA-256 (FIPS 180-4), for checking downloaded, cached and pretrained files (the block
/// compression is C: `myelin_sha256_blocks`).
///
/// ```swift
/// SHA256.hex(of: Array("abc".utf8))  // "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
/// ```
public struct SHA256 {
    private var h: [UInt32] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
    private var pending: [UInt8] = []
    private var length: UInt64 = 0

    public init() {}

    /// The digest of `bytes` as 64 lowercase hex digits.
    public static func hex(of bytes: [UInt8]) -> String {
        var hasher = SHA256()
        hasher.update(bytes)
        return hasher.finalizeHex()
    }

    /// The 32-byte digest of `bytes`.
    public static func digest(of bytes: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// Adds bytes to the message (may be called repeatedly for streaming).
    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { update($0) }
    }

    public mutating func update(_ bytes: UnsafeBufferPointer<UInt8>) {
        length &+= UInt64(bytes.count)
        var start = 0
        if !pending.isEmpty {
            let take = Swift.min(64 - pending.count, bytes.count)
            pending.append(contentsOf: bytes[0..<take])
            start = take
            if pending.count == 64 {
                let block = pending
                pending.removeAll(keepingCapacity: true)
                block.withUnsafeBufferPointer { compress($0.baseAddress!, blocks: 1) }
            }
        }
        guard let base = bytes.baseAddress else { return }
        let blocks = (bytes.count - start) / 64
        if blocks > 0 {
            compress(base + start, blocks: blocks)
            start += blocks * 64
        }
        if start < bytes.count { pending.append(contentsOf: bytes[start...]) }
    }

    /// The digest (the hasher should not be used afterwards).
    public mutating func finalize() -> [UInt8] {
        let bitLength = length &* 8
        var tail: [UInt8] = [0x80]
        let used = (pending.count + 1) % 64
        tail += [UInt8](repeating: 0, count: used <= 56 ? 56 - used : 120 - used)
        for i in (0..<8).reversed() { tail.append(UInt8(truncatingIfNeeded: bitLength >> (UInt64(i) * 8))) }
        let savedLength = length
        update(tail)
        length = savedLength
        require(pending.isEmpty, "[sha256] padding left \(pending.count) bytes unhashed")
        var out: [UInt8] = []
        for word in h { for i in (0..<4).reversed() { out.append(UInt8(truncatingIfNeeded: word >> (UInt32(i) * 8))) } }
        return out
    }

    public mutating func finalizeHex() -> String {
        let digits = Array("0123456789abcdef".utf8)
        var chars: [UInt8] = []
        for b in finalize() { chars.append(digits[Int(b >> 4)]); chars.append(digits[Int(b & 15)]) }
        return String(decoding: chars, as: UTF8.self)
    }

    private mutating func compress(_ p: UnsafePointer<UInt8>, blocks: Int) {
        h.withUnsafeMutableBufferPointer { myelin_sha256_blocks($0.baseAddress!, p, blocks) }
    }
}
