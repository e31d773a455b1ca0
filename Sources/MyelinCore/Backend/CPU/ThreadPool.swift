import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Myelin's worker threads: persistent, spinning briefly for the next job before they sleep.
///
/// Every parallel kernel (elementwise, reductions, split matrix products) runs here, so a
/// training step's back-to-back ops find the workers awake (a fresh wake-up costs tens of
/// microseconds, as long as a 256x256 matmul half) and never compete with another pool.
///
/// A job's body is a plain (non-`@Sendable`) closure: kernels hand it raw pointers into tensor
/// buffers, and each chunk writes a disjoint range, which the type system cannot express. Marking
/// it `@Sendable` would cost nothing at run time but would only move the unchecked part into every
/// one of the ~30 callers (boxes or `nonisolated(unsafe)` copies of each pointer).
// @unchecked: `job` and `chunkCount` are written only by the caller holding `busy`, before the claim mask publishes them; the pthread mutex and condition exist before any worker starts.
final class ThreadPool: @unchecked Sendable {
    static let shared = ThreadPool(workers: max(0, Threading.maxThreads - 1))

    private let workerCount: Int
    /// Bumped for each job; workers wait for it to change.
    private let generation = Atomic<Int>(0)
    /// A job is split into at most 64 units (runs of chunks); bit u is set once unit u is claimed.
    private let claimed = Atomic<UInt64>(~0)
    /// Units claimed but not finished, plus unclaimed ones: the caller waits for 0.
    private let remaining = Atomic<Int>(0)
    /// Threads meant to take part in the current job (a hint for which units each one prefers).
    private let participants = Atomic<Int>(1)
    /// Set while a job runs; a second caller (another thread, or a kernel inside a job) runs serially.
    private let busy = Atomic<Bool>(false)
    private let sleepers = Atomic<Int>(0)
    /// The job's chunk count and body: written before the claim mask is published and read only
    /// by a thread holding a claim, when the job cannot end.
    private var chunkCount = 0
    private var job: ((Int) -> Void)?
    private var mutex = pthread_mutex_t()
    private var wake = pthread_cond_t()

    /// How long an idle worker polls for the next job before sleeping (iterations of an atomic load).
    private static let spinIterations = 200_000

    init(workers: Int) {
        workerCount = workers
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&wake, nil)
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
            // Sequentially consistent with the sleepers count, so a worker going to sleep either
            // sees the new job or is woken.
            generation.add(1, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                pthread_mutex_lock(&mutex)
                pthread_cond_broadcast(&wake)
                pthread_mutex_unlock(&mutex)
            }
            drain(participant: 0)
            while remaining.load(ordering: .acquiring) > 0 {}
            job = nil
        }
        busy.store(false, ordering: .releasing)
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
        remaining.subtract(1, ordering: .releasing)
    }

    private func workerLoop(participant: Int, seen initial: Int) {
        var seen = initial
        while true {
            var spins = 0
            while generation.load(ordering: .acquiring) == seen {
                spins += 1
                if spins >= ThreadPool.spinIterations {
                    pthread_mutex_lock(&mutex)
                    sleepers.add(1, ordering: .sequentiallyConsistent)
                    while generation.load(ordering: .sequentiallyConsistent) == seen {
                        pthread_cond_wait(&wake, &mutex)
                    }
                    sleepers.subtract(1, ordering: .relaxed)
                    pthread_mutex_unlock(&mutex)
                    break
                }
            }
            seen = generation.load(ordering: .acquiring)
            drain(participant: participant)
        }
    }
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
