import Dispatch
import Synchronization

/// How many threads Myelin's kernels (and the BLAS library) use.
///
/// ```swift
/// Threading.count = 1   // everything on the calling thread
/// ```
public enum Threading {
    /// Relaxed atomics: a plain load on x86 and ARM, and a thread changing the count mid-run never races a kernel reading it.
    private static let _count = Atomic<Int>(defaultCount())
    /// Threads the pool was built with: the default count, fixed at first use.
    static let maxThreads = defaultCount()

    /// The number of threads for large elementwise ops, reductions and matrix products.
    /// Defaults to `MYELIN_NUM_THREADS`, else the number of active cores.
    public static var count: Int {
        get { _count.load(ordering: .relaxed) }
        set { _count.store(max(1, newValue), ordering: .relaxed) }
    }

    private static func defaultCount() -> Int {
        if let s = getenvString("MYELIN_NUM_THREADS"), let n = Int(s), n > 0 { return n }
        return max(1, ProcessInfo_activeCores())
    }

    /// Elements below which an elementwise op stays on the calling thread: a thread hop costs
    /// a few microseconds, the time to add about 32K floats.
    public static var elementwiseGrain: Int {
        get { _elementwiseGrain.load(ordering: .relaxed) }
        set { _elementwiseGrain.store(newValue, ordering: .relaxed) }
    }
    private static let _elementwiseGrain = Atomic<Int>(1 << 15)

    /// Runs `body(lo, hi)` over contiguous chunks of `0..<count` on Myelin's worker threads (the
    /// same pool as the tensor kernels), or once on the calling thread when `count` is below
    /// `grain`. For elementwise loops written outside the core, such as fused optimiser steps.
    ///
    /// ```swift
    /// Threading.parallelFor(n) { lo, hi in for i in lo..<hi { out[i] = a[i] + b[i] } }
    /// ```
    ///
    /// `body` runs on several threads at once but is not `@Sendable`, so that it can capture raw
    /// pointers; it must write only inside `lo..<hi` (see `ThreadPool`).
    public static func parallelFor(_ count: Int, grain: Int = elementwiseGrain, _ body: (Int, Int) -> Void) {
        parallelChunks(count, grain: grain, body)
    }

    /// Splits `0..<total` into at most `Threading.count` contiguous chunks of at least `grain`
    /// elements and runs `body(lo, hi)` for each, in parallel when there is more than one.
    @inline(__always)
    static func parallelChunks(_ total: Int, grain: Int = elementwiseGrain, _ body: (Int, Int) -> Void) {
        let threads = _count.load(ordering: .relaxed)
        let chunks = min(threads, total / max(grain, 1))
        if chunks <= 1 {
            body(0, total)
            return
        }
        ThreadPool.shared.run(chunks: chunks, threads: threads) { c in
            // Chunk edges are rounded to 16 elements so threads never share a cache line of output.
            let lo = c == 0 ? 0 : min(total, (total * c / chunks) & ~15)
            let hi = c == chunks - 1 ? total : min(total, (total * (c + 1) / chunks) & ~15)
            if lo < hi { body(lo, hi) }
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func getenvString(_ name: String) -> String? {
    guard let p = getenv(name) else { return nil }
    return String(cString: p)
}

private func ProcessInfo_activeCores() -> Int {
    Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
}
