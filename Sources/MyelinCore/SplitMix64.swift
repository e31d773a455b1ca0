/// SplitMix64 (Steele, Lea & Flood): a tiny, fast, seedable stream of 64-bit words, with no lock.
///
/// `RandomGenerator` seeds from it; hot loops that draw hundreds of millions of numbers (skip-gram
/// sampling) and tests that want a repeatable stream use it directly.
///
/// ```swift
/// var rng = SplitMix64(seed: 17)
/// let word = rng.next(), x = rng.nextFloat()
/// ```
@frozen
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64

    @inlinable
    public init(seed: UInt64) { state = seed }

    @inlinable @inline(__always)
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 24 random bits.
    @inlinable @inline(__always)
    public mutating func nextFloat() -> Float { Float(next() >> 40) * 0x1.0p-24 }
}
