#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Seconds on the monotonic clock: Myelin's one clock, for epoch and batch timings, log flush
/// intervals and benchmarks. Only differences mean anything; it never jumps with the wall clock.
///
/// ```swift
/// let start = monotonicSeconds()
/// trainer.fit(loader, epochs: 3)
/// print("took \(monotonicSeconds() - start) s")
/// ```
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}
