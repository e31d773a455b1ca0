#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A seedable pseudo-random generator (xoshiro256**, seeded through SplitMix64).
///
/// Numbers are drawn sequentially on the calling thread, so a seed gives the same numbers on every
/// run and machine whatever `Threading.count` is. Pass one to the random constructors, or use the
/// global one through `Random.seed(_:)`.
///
/// ```swift
/// let g = RandomGenerator(seed: 42)
/// let a = Tensor.normal([2, 3], generator: g)
/// ```
// @unchecked: the stream state (`s`, `spareNormal`) is read and written only inside `locked`, under `mutex`.
public final class RandomGenerator: @unchecked Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    /// Box-Muller makes normals in pairs; the second waits here.
    private var spareNormal: Double?
    private var mutex = pthread_mutex_t()
    /// Whether this is `Random.global`, whose draws a trace must notice (a stored flag: comparing
    /// with `Random.global` here would recurse into its lazy initialisation).
    private let isGlobal: Bool

    /// A generator whose stream is fully determined by `seed`.
    public convenience init(seed: UInt64) {
        self.init(seed: seed, isGlobal: false)
    }

    init(seed: UInt64, isGlobal: Bool) {
        self.isGlobal = isGlobal
        pthread_mutex_init(&mutex, nil)
        reseed(seed)
    }

    deinit { pthread_mutex_destroy(&mutex) }

    /// Restarts the stream as if the generator had just been made with `seed`.
    public func reseed(_ seed: UInt64) {
        locked {
            var x = SplitMix64(seed: seed)
            s = (x.next(), x.next(), x.next(), x.next())
            spareNormal = nil
        }
    }

    /// The generator's complete state, to save in a checkpoint and restore with `restore(_:)`.
    public var state: [UInt64] {
        locked(draws: false) { [s.0, s.1, s.2, s.3, spareNormal.map { $0.bitPattern } ?? 0, spareNormal == nil ? 0 : 1] }
    }

    /// Puts back a state read from `state`; the stream continues exactly where it was.
    public func restore(_ state: [UInt64]) {
        require(state.count == 6, "[random] a generator state has 6 words, got \(state.count)")
        locked {
            s = (state[0], state[1], state[2], state[3])
            spareNormal = state[5] == 1 ? Double(bitPattern: state[4]) : nil
        }
    }

    /// Runs `body` holding the generator's lock; the fill functions take it once per tensor.
    /// `draws: false` for reads that leave the stream where it is.
    func locked<R>(draws: Bool = true, _ body: () -> R) -> R {
        if isGlobal && draws { Recording.noteGlobalDraw() }
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return body()
    }

    @inline(__always)
    private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// The next 64 random bits (call inside `locked`).
    @inline(__always)
    func nextUInt64() -> UInt64 {
        let result = RandomGenerator.rotl(s.1 &* 5, 7) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = RandomGenerator.rotl(s.3, 45)
        return result
    }

    /// Uniform in [0, 1) with 53 random bits.
    @inline(__always)
    func nextDouble() -> Double { Double(nextUInt64() >> 11) * 0x1.0p-53 }

    /// Uniform in [0, 1) with 24 random bits, the resolution of Float.
    @inline(__always)
    func nextFloat() -> Float { Float(nextUInt64() >> 40) * 0x1.0p-24 }

    /// A standard normal draw (Box-Muller on two uniforms).
    @inline(__always)
    func nextNormal() -> Double {
        if let z = spareNormal {
            spareNormal = nil
            return z
        }
        let u1 = 1 - nextDouble()  // in (0, 1], so the log is finite
        let u2 = nextDouble()
        let r = (-2 * Glibc_log(u1)).squareRoot()
        let theta = 2 * Double.pi * u2
        spareNormal = r * Glibc_sin(theta)
        return r * Glibc_cos(theta)
    }

    /// Uniform integer in `0..<bound` without modulo bias (Lemire's multiply-shift with rejection).
    @inline(__always)
    func nextInt(below bound: UInt64) -> UInt64 {
        require(bound > 0, "[random] empty range")
        var m = nextUInt64().multipliedFullWidth(by: bound)
        if m.low < bound {
            let threshold = (0 &- bound) % bound
            while m.low < threshold { m = nextUInt64().multipliedFullWidth(by: bound) }
        }
        return m.high
    }
}

@inline(__always) private func Glibc_log(_ x: Double) -> Double { log(x) }
@inline(__always) private func Glibc_sin(_ x: Double) -> Double { sin(x) }
@inline(__always) private func Glibc_cos(_ x: Double) -> Double { cos(x) }

/// The global random generator used when no generator is passed.
///
/// ```swift
/// Random.seed(0)
/// let w = Tensor.uniform([3, 3], low: -1, high: 1)
/// ```
public enum Random {
    /// The generator behind every random constructor called without `generator:`.
    public static let global = RandomGenerator(seed: 0, isGlobal: true)

    /// Reseeds the global generator.
    public static func seed(_ seed: UInt64) { global.reseed(seed) }
}
