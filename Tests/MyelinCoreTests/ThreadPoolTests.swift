#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import Synchronization
import Testing
@testable import MyelinCore

/// The worker pool runs every chunk exactly once, whatever the chunk count (above 64 chunks
/// share claim units), from nested and concurrent callers, and back to back without losing a job.
@Suite struct ThreadPoolTests {
    @Test(arguments: [2, 3, 63, 64, 65, 130, 1000])
    func everyChunkRunsOnce(chunks: Int) {
        let counts = Mutex([Int](repeating: 0, count: chunks))
        ThreadPool.shared.run(chunks: chunks, threads: 2) { c in counts.withLock { $0[c] += 1 } }
        #expect(counts.withLock { $0 } == [Int](repeating: 1, count: chunks))
    }

    @Test func aWorkerStartingLateJoinsTheFirstJob() {
        // The job is posted right after the pool is made, before its worker thread has run: the
        // worker must still take part (it once waited for the next job instead).
        let pool = ThreadPool(workers: 1)
        let threads = Mutex(Set<UInt>())
        pool.run(chunks: 2, threads: 2) { _ in
            threads.withLock { _ = $0.insert(unsafeBitCast(pthread_self(), to: UInt.self)) }
            usleep(200_000)
        }
        #expect(threads.withLock { $0.count } == 2)
    }

    @Test func manyJobsBackToBack() {
        // Short jobs in a row: a worker still finishing one must never claim a chunk of the next
        // twice or leave the caller waiting.
        let total = Atomic<Int>(0)
        for job in 0..<20_000 {
            let chunks = 2 + job % 5
            ThreadPool.shared.run(chunks: chunks, threads: 2) { _ in total.add(1, ordering: .relaxed) }
        }
        #expect(total.load(ordering: .relaxed) == (0..<20_000).reduce(0) { $0 + 2 + $1 % 5 })
    }

    @Test func nestedRunsAreSerial() {
        let inner = Atomic<Int>(0)
        ThreadPool.shared.run(chunks: 4, threads: 2) { _ in
            ThreadPool.shared.run(chunks: 3, threads: 2) { _ in inner.add(1, ordering: .relaxed) }
        }
        #expect(inner.load(ordering: .relaxed) == 12)
    }

    @Test func parallelForCoversTheRange() {
        let n = 100_003
        let sum = Atomic<Int>(0)
        Threading.parallelFor(n, grain: 1000) { lo, hi in sum.add((lo..<hi).reduce(0, +), ordering: .relaxed) }
        #expect(sum.load(ordering: .relaxed) == n * (n - 1) / 2)
    }
}
