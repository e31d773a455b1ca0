#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// What ops record besides their output: the autograd graph (`GradMode`) and the active trace.
///
/// Both are per thread. A trace records every primitive applied on the thread that runs it; ops
/// check `tracing` first, which costs one relaxed atomic load while no trace runs anywhere.
enum Recording {
    /// Traces running on any thread: while zero, no op looks up the thread's tracer.
    private static let activeTraces = Atomic<Int>(0)
    /// Numbers traced values uniquely across traces, so a value from another trace is never mistaken for one of this trace.
    private static let valueCounter = Atomic<Int>(0)

    private static let key: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k, nil)
        return k
    }()

    /// The tracer of this thread, if a trace is running on it.
    static var tracer: Tracer? {
        guard activeTraces.load(ordering: .relaxed) > 0, let p = pthread_getspecific(key) else { return nil }
        return Unmanaged<Tracer>.fromOpaque(p).takeUnretainedValue()
    }

    /// True while a trace records ops on this thread.
    static var tracing: Bool {
        @inline(__always) get { activeTraces.load(ordering: .relaxed) > 0 && pthread_getspecific(key) != nil }
    }

    /// Runs `body` with `tracer` recording the ops of this thread (nil: no tracing).
    static func with<R>(tracer: Tracer?, _ body: () throws -> R) rethrows -> R {
        let saved = pthread_getspecific(key)
        if let tracer {
            activeTraces.add(1, ordering: .relaxed)
            pthread_setspecific(key, Unmanaged.passUnretained(tracer).toOpaque())
        } else {
            pthread_setspecific(key, nil)
        }
        defer {
            pthread_setspecific(key, saved)
            if tracer != nil { activeTraces.subtract(1, ordering: .relaxed) }
        }
        return try withExtendedLifetime(tracer) { try body() }
    }

    /// Runs `body` with nothing recorded: no autograd graph and no trace. A primitive's forward
    /// runs so, because it may be written with other ops that must not appear a second time.
    static func suspended<R>(_ body: () throws -> R) rethrows -> R {
        if pthread_getspecific(key) == nil { return try withoutGrad(body) }
        return try with(tracer: nil) { try withoutGrad(body) }
    }

    /// Draws from `Random.global` made on each thread while some trace runs (a per-thread counter,
    /// so that another thread's draws, a test running beside a trace, say, are not blamed on it).
    private static let drawsKey: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k) { free($0) }
        return k
    }()

    /// This thread's count of global random draws made while any trace was running.
    static var globalDrawsOnThisThread: Int {
        guard let p = pthread_getspecific(drawsKey) else { return 0 }
        return p.assumingMemoryBound(to: Int.self).pointee
    }

    /// Called by `Random.global` on each draw: counts it on this thread while a trace runs anywhere.
    @inline(__always)
    static func noteGlobalDraw() {
        guard activeTraces.load(ordering: .relaxed) > 0 else { return }
        var p = pthread_getspecific(drawsKey)
        if p == nil {
            p = malloc(MemoryLayout<Int>.size)
            p!.assumingMemoryBound(to: Int.self).initialize(to: 0)
            pthread_setspecific(drawsKey, p)
        }
        p!.assumingMemoryBound(to: Int.self).pointee += 1
    }

    /// A fresh number for a traced value.
    static func newValueID() -> Int { valueCounter.add(1, ordering: .relaxed).newValue }

    /// Records `primitive` applied to `inputs` in this thread's trace; returns `output` tagged as the node's value.
    static func trace<P: Primitive>(_ primitive: P, _ inputs: [Tensor], _ output: Tensor) -> Tensor {
        guard let tracer else { return output }
        return tracer.append(primitive, inputs, output)
    }
}
