import Testing
import MyelinCore

/// A tensor's elements as bit patterns in its own dtype (float32 as its 32 bits, float64 as its
/// 64), for tests that compare two computations bit for bit: -0.0, NaN payloads and last-place
/// differences all count.
///
/// ```swift
/// #expect(bitPatterns(fused) == bitPatterns(apart))
/// ```
public func bitPatterns(_ t: Tensor) -> BitPatterns {
    BitPatterns(t.dtype == .float32 ? t.scalars(as: Float.self).map { UInt64($0.bitPattern) } : t.doubles.map(\.bitPattern))
}

/// The bit patterns of a tensor's elements, compared as a whole.
///
/// Not a collection on purpose: a failing `#expect(a == b)` over two arrays makes Swift Testing
/// print a difference of the two that grows with the square of their length (30,000 elements,
/// a third of them off: 6.7 s; a million would stall the run for hours). A failure prints the
/// count, the first values and a digest of each side instead.
public struct BitPatterns: Equatable, CustomTestStringConvertible {
    public let values: [UInt64]

    public init(_ values: [UInt64]) { self.values = values }

    public var testDescription: String {
        // FNV-1a over the values, so two sides that differ past the first few show it.
        var digest: UInt64 = 0xcbf2_9ce4_8422_2325
        for v in values { digest = (digest ^ v) &* 0x100_0000_01b3 }
        let first = values.prefix(4).map { "0x" + String($0, radix: 16) }.joined(separator: ", ")
        return "\(values.count) values [\(first)\(values.count > 4 ? ", ..." : "")], digest \(String(digest, radix: 16))"
    }
}
