import MyelinCore

/// A tensor's elements as bit patterns in its own dtype (float32 as its 32 bits, float64 as its
/// 64), for tests that compare two computations bit for bit: -0.0, NaN payloads and last-place
/// differences all count.
///
/// ```swift
/// #expect(bitPatterns(fused) == bitPatterns(apart))
/// ```
public func bitPatterns(_ t: Tensor) -> [UInt64] {
    t.dtype == .float32 ? t.scalars(as: Float.self).map { UInt64($0.bitPattern) } : t.doubles.map(\.bitPattern)
}
