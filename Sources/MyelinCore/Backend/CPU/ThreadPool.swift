import CMyelinKernels
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Myelin's worker threads: persistent, polling briefly for the next job before they sleep.
///
/// Every parallel kernel (elementwise, reductions, split matrix products) runs here, so a
/// training step's back-to-back ops find the workers awake (a fresh wake-up costs tens of
/// microseconds, as long as a 256x256 matmul half) and never compete with another pool.
///
/// Waiting threads (an idle worker, a caller whose chunks are done) poll for a bounded time, then
/// yield the core between polls, then sleep (see `Backoff`): a process between calls stops using
/// the CPU within a millisecond, and when the machine has more runnable threads than cores (two
/// trainings at once, say) a waiter hands its core to the thread it waits for instead of spinning
/// through its time slice.
///
/// A job's body is a plain (non-`@Sendable`) closure: kernels hand it raw pointers into tensor
/// buffers, and each chunk writes a disjoint range, which the type system cannot express. Marking
/// it `@Sendable` would cost nothing at run time but would only move the unchecked part into every
/// one of the ~30 callers (boxes or `nonisolated(unsafe)` copies of each pointer).
// @unchecked: `job` and `chunkCount` are written only by the caller holding `busy`, before the claim mask publishes them; the pthread mutex and conditions exist before any worker starts.
final class ThreadPool: @unchecked Sendable {
    /// OpenBLAS's own threads are stopped first (`BLAS.configure`), as the first tensor stops them:
    /// a program whose parallel work came before any tensor (`Threading.parallelFor` on its own
    /// buffers) kept OpenBLAS's worker beside the pool's (3 threads on 2 cores instead of 2).
    static let shared: ThreadPool = {
        _ = BLAS.configure
        return ThreadPool(workers: max(0, Threading.maxThreads - 1))
    }()

    private let workerCount: Int
    /// The pool's own cache lines, 128 bytes each (adjacent-line prefetchers pull pairs):
    /// - the generation, changed for each job, which workers wait on. Bit 0 says the job is a C
    ///   function (`runInline`), bits 1-7 then hold its number of parts; the rest counts jobs. One
    ///   word, so a worker reading a job late never pairs one job's number with another's kind;
    /// - the C job's function and arguments, written before the generation;
    /// - per participant t (1...workers), the ticket of the last C job whose part t was claimed
    ///   (2g for generation g) or done (2g + 1).
    /// A worker starting a C job fetches the generation's line, the job's and its own: a job behind
    /// a closure also took the closure's context and captures, each written by the caller just
    /// before, one cache miss after another (about 0.3 µs a job here against 0.07 for one line).
    private let lines: UnsafeMutableRawPointer
    private static let lineBytes = 128
    /// A job is split into at most 64 units (runs of chunks); bit u is set once unit u is claimed.
    private let claimed = Atomic<UInt64>(~0)
    /// Units claimed but not finished, plus unclaimed ones: the caller waits for 0.
    private let remaining = Atomic<Int>(0)
    /// Threads meant to take part in the current job (a hint for which units each one prefers).
    private let participants = Atomic<Int>(1)
    /// Set while a job runs; a second caller (another thread, or a kernel inside a job) runs serially.
    private let busy = Atomic<Bool>(false)
    /// Workers asleep on `wake`: the caller signals only when there are some.
    private let sleepers = Atomic<Int>(0)
    /// Set while the caller sleeps on `finished`: the worker finishing the last unit signals it.
    private let callerAsleep = Atomic<Bool>(false)
    /// The job's chunk count and body: written before the claim mask is published and read only
    /// by a thread holding a claim, when the job cannot end.
    private var chunkCount = 0
    private var job: ((Int) -> Void)?
    private var mutex = pthread_mutex_t()
    private var wake = pthread_cond_t()
    private var finished = pthread_cond_t()

    init(workers: Int) {
        workerCount = workers
        var raw: UnsafeMutableRawPointer?
        let bytes = ThreadPool.lineBytes * (3 + workers)
        guard posix_memalign(&raw, ThreadPool.lineBytes, bytes) == 0, let raw else {
            fatalError("[threads] cannot allocate the pool's \(bytes) bytes of shared lines")
        }
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        lines = raw
        // Every part done for generation 0, before any ticket.
        for t in 0...workers { slot(t).pointee = 1 }
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&wake, nil)
        pthread_cond_init(&finished, nil)
        for index in 0..<workers {
            // The generation before any job: a worker that starts after the first job was posted still
            // takes part in it (reading the counter at its own start would skip that job).
            let box = Unmanaged.passRetained(WorkerStart(pool: self, participant: index + 1, generation: 0))
            var thread = pthread_t()
            #if canImport(Glibc)
            pthread_create(&thread, nil, { arg in
                let start = Unmanaged<WorkerStart>.fromOpaque(arg!).takeRetainedValue()
                start.pool.workerLoop(participant: start.participant, seen: start.generation)
                return nil
            }, box.toOpaque())
            #else
            pthread_create(&thread, nil, { arg in
                let start = Unmanaged<WorkerStart>.fromOpaque(arg).takeRetainedValue()
                start.pool.workerLoop(participant: start.participant, seen: start.generation)
                return nil
            }, box.toOpaque())
            #endif
            pthread_detach(thread)
        }
    }

    /// Runs `body(0..<chunks)` across the calling thread and up to `threads - 1` workers; returns
    /// when every chunk is done.
    func run(chunks: Int, threads: Int, _ body: (Int) -> Void) {
        if chunks <= 1 || threads <= 1 || workerCount == 0
            || !busy.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged {
            for c in 0..<chunks { body(c) }
            return
        }
        let units = min(chunks, 64)
        withoutActuallyEscaping(body) { escapable in
            job = escapable
            chunkCount = chunks
            participants.store(threads, ordering: .relaxed)
            // `remaining` is set before the mask is published: a claim (which reads the mask)
            // then always finds it, even by a worker still looking at the previous job.
            remaining.store(units, ordering: .relaxed)
            claimed.store(units == 64 ? 0 : ~0 << UInt64(units), ordering: .releasing)
            _ = publish(kind: 0)
            drain(participant: 0)
            waitForUnits()
            job = nil
        }
        busy.store(false, ordering: .releasing)
    }

    /// The word workers wait on (see `lines`).
    @inline(__always)
    private var generation: UnsafeMutablePointer<Int> { lines.assumingMemoryBound(to: Int.self) }

    /// The C job's function, then its arguments.
    @inline(__always)
    private var inlineJob: UnsafeMutableRawPointer { lines + ThreadPool.lineBytes }

    /// Participant t's claim line for C jobs.
    @inline(__always)
    private func slot(_ t: Int) -> UnsafeMutablePointer<Int> {
        (lines + ThreadPool.lineBytes * (2 + t)).assumingMemoryBound(to: Int.self)
    }

    /// Publishes the job set up by the caller under a new generation (`kind` in its low 8 bits)
    /// and wakes sleeping workers; returns the generation.
    private func publish(kind: Int) -> Int {
        let g = ((myelin_atomic_load_acquire(generation) >> 8) + 1) << 8 | kind
        // Sequentially consistent with the sleepers count, so a worker going to sleep either
        // sees the new job or is woken.
        myelin_atomic_store_seq_cst(generation, g)
        if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
            pthread_mutex_lock(&mutex)
            pthread_cond_broadcast(&wake)
            pthread_mutex_unlock(&mutex)
        }
        return g
    }

    /// The arguments of a C job: what its function reads (pointers as their bit patterns).
    typealias InlineArguments = (Int, Int, Int, Int, Int, Int, Int, Int)

    /// Runs `job(args, t, parts)` for t in 0..<parts, parts = min(threads, workers + 1): part t on
    /// participant t (the caller is 0), each core on the same part every time. For back-to-back
    /// jobs of a few microseconds (batch-1 inference): the function and arguments are written
    /// into the pool's own lines, so a worker starts after fetching two lines, with no closure to
    /// follow; the caller takes any part whose worker has not claimed it once its own is done.
    func runInline(threads: Int, _ job: myelin_pool_job, _ args: InlineArguments) {
        let parts = max(1, min(threads, workerCount + 1, 64))
        if parts == 1 || !busy.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged {
            withUnsafeBytes(of: args) { a in
                for t in 0..<parts { job(a.baseAddress!.assumingMemoryBound(to: Int.self), t, parts) }
            }
            return
        }
        inlineJob.storeBytes(of: job, as: myelin_pool_job.self)
        (inlineJob + 8).storeBytes(of: args, as: InlineArguments.self)
        let g = publish(kind: parts << 1 | 1)
        withUnsafeBytes(of: args) { a in
            let a = a.baseAddress!.assumingMemoryBound(to: Int.self)
            job(a, 0, parts)
            let ticket = 2 * g
            for t in 1..<parts {
                let line = slot(t), seen = myelin_atomic_load_acquire(line)
                if seen < ticket && myelin_atomic_cas(line, seen, ticket) != 0 {
                    job(a, t, parts)
                    myelin_atomic_store_seq_cst(line, ticket + 1)
                } else {
                    waitAsCaller { $0 ? myelin_atomic_load_seq_cst(line) <= ticket : myelin_atomic_load_acquire(line) <= ticket }
                }
            }
        }
        busy.store(false, ordering: .releasing)
    }

    /// Participant p's part of the C job of generation `g`, unless the caller took it (the
    /// worker came late) or the job is over.
    private func runInlinePart(participant p: Int, generation g: Int) {
        let line = slot(p), ticket = 2 * g
        let seen = myelin_atomic_load_acquire(line)
        // Claimed, the job cannot end before this part is done, so the lines hold job g's
        // function and arguments.
        guard seen < ticket, myelin_atomic_cas(line, seen, ticket) != 0 else { return }
        let job = inlineJob.load(as: myelin_pool_job.self)
        job((inlineJob + 8).assumingMemoryBound(to: Int.self), p, (g >> 1) & 127)
        myelin_atomic_store_seq_cst(line, ticket + 1)
        wakeCallerIfAsleep()
    }

    /// Returns once every claimed unit of the job is done (see `waitAsCaller`).
    private func waitForUnits() {
        waitAsCaller { $0 ? remaining.load(ordering: .sequentiallyConsistent) > 0 : remaining.load(ordering: .acquiring) > 0 }
    }

    /// The caller's wait for the rest of its job, while `pending(sequentiallyConsistent)` holds:
    /// polls, then yields, then sleeps until the worker finishing the last part signals (a part
    /// may take milliseconds, or its worker may have lost its core; see `wakeCallerIfAsleep`).
    ///
    /// Unlike an idle worker, the caller keeps yielding when the cores are oversubscribed: a thread
    /// that sleeps there waits for a time slice after its wake-up, and the caller is on the job's
    /// critical path.
    @inline(__always)
    private func waitAsCaller(_ pending: (_ sequentiallyConsistent: Bool) -> Bool) {
        var backoff = Backoff(yieldNanos: Backoff.callerYieldNanos, blocksWhenContended: false)
        while pending(false) {
            if backoff.keepPolling() { continue }
            pthread_mutex_lock(&mutex)
            // Sequentially consistent with what the worker writes last: the worker either sees
            // the flag and signals, or the state read here already shows the work done.
            callerAsleep.store(true, ordering: .sequentiallyConsistent)
            while pending(true) {
                pthread_cond_wait(&finished, &mutex)
            }
            callerAsleep.store(false, ordering: .relaxed)
            pthread_mutex_unlock(&mutex)
            return
        }
    }

    /// Called by a worker after its sequentially consistent write that ends the caller's wait.
    @inline(__always)
    private func wakeCallerIfAsleep() {
        guard callerAsleep.load(ordering: .sequentiallyConsistent) else { return }
        pthread_mutex_lock(&mutex)
        pthread_cond_signal(&finished)
        pthread_mutex_unlock(&mutex)
    }

    /// Claims and runs units until none are left.
    ///
    /// Participant p (the caller is 0, worker i is i) first takes units p, p + threads, ..., so a
    /// repeated job (the halves of a layer's weights in batch-1 inference, say) runs on the core
    /// whose cache already holds its data; then it takes what a late participant has not claimed.
    private func drain(participant p: Int) {
        let step = max(1, participants.load(ordering: .relaxed))
        var u = p
        while u < 64 {
            let mask = claimed.load(ordering: .acquiring)
            // No free unit from u up (units past the job's count are preset as claimed): stop
            // here instead of loading the mask for every remaining preferred slot below 64.
            if (~mask) >> UInt64(u) == 0 { break }
            if mask & (1 << UInt64(u)) == 0 { runIfClaimed(u) }
            u += step
        }
        while true {
            let mask = claimed.load(ordering: .acquiring)
            if mask == ~0 { return }
            runIfClaimed((~mask).trailingZeroBitCount)
        }
    }

    /// Claims unit `u` and runs its chunks, unless another thread has claimed it.
    @inline(__always)
    private func runIfClaimed(_ u: Int) {
        let bit = UInt64(1) << UInt64(u)
        guard claimed.bitwiseOr(bit, ordering: .acquiringAndReleasing).oldValue & bit == 0 else { return }
        let chunks = chunkCount, units = min(chunks, 64)
        for c in (u * chunks / units)..<((u + 1) * chunks / units) { job!(c) }
        if remaining.subtract(1, ordering: .sequentiallyConsistent).newValue == 0 { wakeCallerIfAsleep() }
    }

    private func workerLoop(participant: Int, seen initial: Int) {
        var seen = initial
        while true {
            var backoff = Backoff(yieldNanos: Backoff.yieldNanos, blocksWhenContended: true)
            while myelin_atomic_load_acquire(generation) == seen {
                if !backoff.keepPolling() {
                    pthread_mutex_lock(&mutex)
                    sleepers.add(1, ordering: .sequentiallyConsistent)
                    while myelin_atomic_load_seq_cst(generation) == seen {
                        pthread_cond_wait(&wake, &mutex)
                    }
                    sleepers.subtract(1, ordering: .relaxed)
                    pthread_mutex_unlock(&mutex)
                    break
                }
            }
            seen = myelin_atomic_load_acquire(generation)
            if seen & 1 == 0 {
                drain(participant: participant)
            } else if participant < (seen >> 1) & 127 {
                runInlinePart(participant: participant, generation: seen)
            }
        }
    }
}

/// How a thread waits for another: it polls for `spinNanos`, then yields its core between polls
/// until `yieldNanos` have passed, then should block.
///
/// Polling keeps the wake-up latency of back-to-back jobs (batch-1 inference runs a job every few
/// microseconds) at a cache-line transfer. Past that, yielding costs a solo process a system call
/// per poll but lets a thread waiting on the same core (a preempted worker, another process) run;
/// blocking after about a millisecond, as OpenMP runtimes do after their spin count, keeps an idle
/// process from using CPU. A yield that returns late means another thread ran on this core, so the
/// cores are oversubscribed and polling longer would only take time from the thread waited for:
/// an idle worker then blocks at once (a waiting caller does not, see `waitForUnits`).
private struct Backoff {
    /// Pure polling, long enough to cover the gaps between the ops of a training step.
    static let spinNanos: UInt64 = 50_000
    /// Polling with a yield each time, until an idle worker blocks.
    static let yieldNanos: UInt64 = 500_000
    /// The same for a caller waiting for its job's last chunks.
    static let callerYieldNanos: UInt64 = 2_000_000
    /// A yield longer than this ran another thread: a yield to nobody is a system call, under a few
    /// microseconds.
    static let contendedNanos: UInt64 = 20_000

    private let yieldLimit: UInt64
    private let blocksWhenContended: Bool
    private var polls = 0
    private var start: UInt64 = 0
    private var yielding = false

    /// A waiter that yields until `yieldNanos`; `blocksWhenContended`: blocks as soon as a yield
    /// shows another thread wanted its core.
    init(yieldNanos: UInt64, blocksWhenContended: Bool) {
        yieldLimit = yieldNanos
        self.blocksWhenContended = blocksWhenContended
    }

    /// Whether to poll again (after yielding, past the spin phase); false once the waiter should block.
    @inline(__always)
    mutating func keepPolling() -> Bool {
        if !yielding {
            // The clock costs tens of nanoseconds; an atomic load, one.
            polls &+= 1
            if polls & 255 != 0 { return true }
            let now = monotonicNanos()
            if start == 0 { start = now }
            if now &- start < Backoff.spinNanos { return true }
            yielding = true
        }
        let before = monotonicNanos()
        if before &- start >= yieldLimit { return false }
        sched_yield()
        return !blocksWhenContended || monotonicNanos() &- before < Backoff.contendedNanos
    }
}

@inline(__always)
private func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

/// What a new worker thread starts with: its pool and its participant number.
private final class WorkerStart {
    let pool: ThreadPool
    let participant: Int
    let generation: Int
    init(pool: ThreadPool, participant: Int, generation: Int) {
        self.pool = pool
        self.participant = participant
        self.generation = generation
    }
}
