#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import Foundation
import Synchronization
import Testing
import CMyelinKernels
@testable import MyelinCore

/// The worker pool runs every chunk exactly once, whatever the chunk count (above 64 chunks
/// share claim units), from nested and concurrent callers, and back to back without losing a job;
/// its threads stop using the CPU when they have nothing to do, and a pool with more threads than
/// cores does not stall.
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

    @Test func threadCountsChangingFromJobToJob() {
        // More threads than cores, and each job asks for another number of them (the preferred
        // units of a participant follow the count): a worker still draining one job must not
        // run a chunk of the next twice or leave one undone.
        let pool = ThreadPool(workers: 3)
        let pattern = [(2, 2), (4, 4), (3, 3), (4, 7), (2, 3), (3, 5), (4, 9), (2, 65)]
        var wrong = 0
        for job in 0..<10_000 {
            let (threads, chunks) = pattern[job % pattern.count]
            let counts = Mutex([Int](repeating: 0, count: chunks))
            pool.run(chunks: chunks, threads: threads) { c in counts.withLock { $0[c] += 1 } }
            if counts.withLock({ $0 }) != [Int](repeating: 1, count: chunks) { wrong += 1 }
        }
        #expect(wrong == 0, "\(wrong) of 10000 jobs ran a chunk twice or not at all")
    }

    @Test func inlineJobsRunEachPartOnceWithTheirOwnArguments() {
        // C jobs (`runInline`: function and arguments in the pool's lines) between closure jobs,
        // with part counts changing from job to job, on more threads than cores: every part runs
        // once, and reads its own job's arguments (a worker reading a job late must not run it
        // with the next job's).
        let pool = ThreadPool(workers: 3)
        let lines = UnsafeMutablePointer<Int>.allocate(capacity: 8 * 16)
        defer { lines.deallocate() }
        // Part t counts its runs on line t and records the job number and part count it saw.
        let job: myelin_pool_job = { args, part, parts in
            let out = UnsafeMutablePointer<Int>(bitPattern: args![0])! + part * 16
            out[0] += 1
            out[1] = args![1]
            out[2] = parts
        }
        var wrong = 0
        for n in 0..<10_000 {
            let threads = [2, 4, 3, 4, 2, 3, 5][n % 7]
            lines.initialize(repeating: 0, count: 8 * 16)
            pool.runInline(threads: threads, job, (Int(bitPattern: lines), n, 0, 0, 0, 0, 0, 0))
            // Five threads asked, four the pool has: four parts.
            let parts = min(threads, 4)
            for t in 0..<8 where lines[t * 16] != (t < parts ? 1 : 0)
                || (t < parts && (lines[t * 16 + 1] != n || lines[t * 16 + 2] != parts)) {
                wrong += 1
            }
            if n % 3 == 0 { pool.run(chunks: 2 + n % 5, threads: threads) { _ in } }
        }
        #expect(wrong == 0, "\(wrong) parts of 10000 jobs ran twice, not at all, or with another job's arguments")
    }

    @Test(.enabled(if: myelin_cpu_has_avx2_fma() != 0, "no AVX2+FMA: the kernel declines"))
    func batchOneKernelInPartsGivesTheBitsOfOneCall() {
        // `myelin_sgemv_rows_fused_part` as the pool runs it, in 1 to 4 parts, against one call
        // over all rows: rows ldw apart, a bias, leaky ReLU (the slope travels in the high bits).
        let pool = ThreadPool(workers: 3)
        let n = 300, k = 784, ldw = 787
        let g = RandomGenerator(seed: 11)
        let w = Tensor.randn([n * ldw], generator: g).floats, x = Tensor.randn([k], generator: g).floats
        let bias = Tensor.randn([n], generator: g).floats
        let slope: Float = 0.07
        var want = [Float](repeating: 0, count: n)
        #expect(myelin_sgemv_rows_fused(w, n, k, ldw, x, &want, bias, 0, Int32(MYELIN_GEMV_LEAKY_RELU), slope) == 1)
        for threads in 1...4 {
            var got = [Float](repeating: .nan, count: n)
            w.withUnsafeBufferPointer { w in
                x.withUnsafeBufferPointer { x in
                    bias.withUnsafeBufferPointer { b in
                        got.withUnsafeMutableBufferPointer { y in
                            let args = BLAS.fusedRowsArguments(w.baseAddress!, ldw: ldw, x.baseAddress!, y.baseAddress!, n: n, k: k,
                                                               bias: b.baseAddress, activation: Int32(MYELIN_GEMV_LEAKY_RELU), slope: slope)
                            pool.runInline(threads: threads, myelin_sgemv_rows_fused_part, args)
                        }
                    }
                }
            }
            #expect(got.map(\.bitPattern) == want.map(\.bitPattern), "\(threads) threads")
        }
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

    @Test func idleWorkersStopUsingTheCPU() {
        // Back-to-back jobs for a while leave the worker spinning for the next one; once jobs stop,
        // it must soon stop spinning (a process idle between calls, or after a training, should not
        // keep a core busy). The worker's own CPU clock is read, so other tests running in this
        // process at the same time do not count.
        let pool = ThreadPool(workers: 1)
        let caller = pthread_self()
        let workerClock = Mutex<clockid_t?>(nil)
        let start = monotonicNow()
        while monotonicNow() - start < 0.05 || (workerClock.withLock { $0 } == nil && monotonicNow() - start < 10) {
            pool.run(chunks: 2, threads: 2) { _ in
                guard pthread_equal(pthread_self(), caller) == 0 else { return }
                var clock = clockid_t()
                if pthread_getcpuclockid(pthread_self(), &clock) == 0 { workerClock.withLock { $0 = clock } }
            }
        }
        guard let clock = workerClock.withLock({ $0 }) else {
            Issue.record("the worker never ran a chunk")
            return
        }
        usleep(50_000)  // grace: the pool may spin for a little while after the last job
        let cpu0 = cpuSeconds(clock), wall0 = monotonicNow()
        usleep(300_000)
        let cpu = cpuSeconds(clock) - cpu0, wall = monotonicNow() - wall0
        // A spinning worker uses all of the window's CPU (less on a busy machine, but rarely below a quarter).
        #expect(cpu < 0.05 * wall, "worker used \(cpu * 1e3) ms of CPU in \(wall * 1e3) ms idle")
    }

    @Test func aCallerWaitingForASlowChunkDoesNotSpin() {
        // The caller finishes its chunk first and waits for the worker's, which takes 200 ms: the
        // wait must give the core back (another process, or this one's other threads, may need it).
        let pool = ThreadPool(workers: 1)
        let caller = pthread_self()
        for _ in 0..<20 {
            let workerRan = Atomic<Bool>(false)
            let cpu0 = cpuSeconds(CLOCK_THREAD_CPUTIME_ID), wall0 = monotonicNow()
            pool.run(chunks: 2, threads: 2) { _ in
                // The caller's chunk is short but leaves the worker time to claim the other.
                guard pthread_equal(pthread_self(), caller) == 0 else { usleep(2_000); return }
                workerRan.store(true, ordering: .relaxed)
                usleep(200_000)
            }
            let cpu = cpuSeconds(CLOCK_THREAD_CPUTIME_ID) - cpu0, wall = monotonicNow() - wall0
            // The caller ran both chunks (the worker was late): try again.
            guard workerRan.load(ordering: .relaxed) else { continue }
            #expect(wall >= 0.2)
            #expect(cpu < 0.2 * wall, "caller used \(cpu * 1e3) ms of CPU waiting \(wall * 1e3) ms")
            return
        }
        Issue.record("the worker never ran a chunk")
    }

    #if os(Linux)
    @Test func twoThreadsOnOneCoreDoNotStall() throws {
        // The caller and the worker pinned to the same core, as when two processes' pools share the
        // machine's cores: whoever waits must hand the core over rather than spin through its time
        // slice (a slice is milliseconds, the jobs microseconds). Compared with the same jobs run serially.
        let times = Mutex<(serial: Double, pooled: Double)?>(nil)
        let finished = DispatchSemaphore(value: 0)
        let thread = Thread {
            defer { finished.signal() }
            // The worker inherits the creating thread's CPU mask.
            guard pinToOneCPU() else { return }
            let pool = ThreadPool(workers: 1)
            let sink = Atomic<Int>(0)
            let work: (Int) -> Void = { c in
                var x = c
                for i in 0..<20_000 { x = x &* 31 &+ i }
                sink.wrappingAdd(x, ordering: .relaxed)
            }
            let jobs = 200
            pool.run(chunks: 2, threads: 2, work)
            var t = monotonicNow()
            for _ in 0..<jobs { pool.run(chunks: 2, threads: 1, work) }
            let serial = monotonicNow() - t
            t = monotonicNow()
            for _ in 0..<jobs { pool.run(chunks: 2, threads: 2, work) }
            let pooled = monotonicNow() - t
            times.withLock { $0 = (serial, pooled) }
        }
        thread.start()
        finished.wait()
        let measured = try #require(times.withLock { $0 }, "could not pin a thread to one core")
        // Serially the jobs take tens of milliseconds; a caller spinning through time slices takes seconds.
        #expect(measured.pooled < 3 * measured.serial + 0.1,
                "pooled \(measured.pooled * 1e3) ms, serial \(measured.serial * 1e3) ms")
    }
    #endif
}

#if os(Linux)
/// Restricts the calling thread to the lowest-numbered CPU it may use; false if it cannot.
///
/// Glibc's module hides the `sched_*affinity` calls (they need `_GNU_SOURCE`), so they are looked up by name.
private func pinToOneCPU() -> Bool {
    typealias Affinity = @convention(c) (pid_t, Int, UnsafeMutableRawPointer) -> Int32
    guard let get = dlsym(nil, "sched_getaffinity"), let set = dlsym(nil, "sched_setaffinity") else { return false }
    var mask = cpu_set_t()
    let size = MemoryLayout<cpu_set_t>.size
    guard withUnsafeMutableBytes(of: &mask, { unsafeBitCast(get, to: Affinity.self)(0, size, $0.baseAddress!) }) == 0 else { return false }
    return withUnsafeMutableBytes(of: &mask) { raw -> Bool in
        guard let byte = raw.firstIndex(where: { $0 != 0 }) else { return false }
        let bit = raw[byte].trailingZeroBitCount
        for i in raw.indices { raw[i] = 0 }
        raw[byte] = UInt8(1) << UInt8(bit)
        return unsafeBitCast(set, to: Affinity.self)(0, size, raw.baseAddress!) == 0
    }
}
#endif

private func monotonicNow() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

private func cpuSeconds(_ clock: clockid_t) -> Double {
    var ts = timespec()
    clock_gettime(clock, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}
