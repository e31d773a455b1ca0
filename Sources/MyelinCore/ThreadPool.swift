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
final class ThreadPool: @unchecked Sendable {
    static let shared = ThreadPool(workers: max(0, Threading.maxThreads - 1))

    private let workerCount: Int
    /// Bumped for each job; workers wait for it to change.
    private let generation = Atomic<Int>(0)
    private let nextChunk = Atomic<Int>(0)
    private let remaining = Atomic<Int>(0)
    /// Set while a job runs; a second caller (another thread, or a kernel inside a job) runs serially.
    private let busy = Atomic<Bool>(false)
    private let sleepers = Atomic<Int>(0)
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
        for _ in 0..<workers {
            let box = Unmanaged.passRetained(self)
            var thread = pthread_t()
            #if canImport(Glibc)
            pthread_create(&thread, nil, { arg in
                Unmanaged<ThreadPool>.fromOpaque(arg!).takeRetainedValue().workerLoop()
                return nil
            }, box.toOpaque())
            #else
            pthread_create(&thread, nil, { arg in
                Unmanaged<ThreadPool>.fromOpaque(arg).takeRetainedValue().workerLoop()
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
            || !busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged {
            for c in 0..<chunks { body(c) }
            return
        }
        withoutActuallyEscaping(body) { escapable in
            job = escapable
            chunkCount = chunks
            nextChunk.store(0, ordering: .releasing)
            remaining.store(chunks, ordering: .relaxed)
            // Sequentially consistent with the sleepers count, so a worker going to sleep either
            // sees the new job or is woken.
            generation.add(1, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                pthread_mutex_lock(&mutex)
                pthread_cond_broadcast(&wake)
                pthread_mutex_unlock(&mutex)
            }
            drain(escapable)
            while remaining.load(ordering: .acquiring) > 0 {}
            job = nil
        }
        busy.store(false, ordering: .releasing)
    }

    /// Claims and runs chunks until none are left.
    private func drain(_ body: (Int) -> Void) {
        while true {
            let c = nextChunk.add(1, ordering: .acquiringAndReleasing).oldValue
            if c >= chunkCount { return }
            body(c)
            remaining.subtract(1, ordering: .releasing)
        }
    }

    private func workerLoop() {
        var seen = generation.load(ordering: .acquiring)
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
            // A claim only succeeds while the job is live, so `job` is set whenever it is read.
            while true {
                let c = nextChunk.add(1, ordering: .acquiringAndReleasing).oldValue
                if c >= chunkCount { break }
                job!(c)
                remaining.subtract(1, ordering: .releasing)
            }
        }
    }
}
