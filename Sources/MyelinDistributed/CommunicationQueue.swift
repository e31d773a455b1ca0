import Foundation

/// Runs a communicator's collectives on one background thread, in the order they were submitted,
/// so that the training thread can start an allreduce and go on computing (gradient buckets during
/// the backward pass) while others (synchronised batch norm's statistics) wait for their result.
/// Because every collective of a rank goes through one queue in program order, all ranks issue
/// them in the same order, as MPI requires.
///
/// ```swift
/// let queued = QueuedCommunicator(try Communicators.current())
/// let pending = queued.startAllreduce(buffer, op: .average)   // returns at once
/// // ... more backward work ...
/// try pending.wait()
/// ```
public final class QueuedCommunicator: Communicator, @unchecked Sendable {
    /// The communicator that does the work.
    public let base: any Communicator
    public var rank: Int { base.rank }
    public var size: Int { base.size }
    private let queue = WorkQueue()

    public init(_ base: any Communicator) {
        self.base = base
    }

    deinit { queue.stop() }

    /// A collective submitted to the queue; `wait()` returns when it ran, or throws its error.
    public final class Pending: @unchecked Sendable {
        fileprivate let body: () throws -> Void
        private let done = NSCondition()
        private var finished = false
        private var error: Error?

        fileprivate init(_ body: @escaping () throws -> Void) { self.body = body }

        fileprivate func run() {
            var failure: Error?
            do { try body() } catch { failure = error }
            done.lock()
            error = failure
            finished = true
            done.broadcast()
            done.unlock()
        }

        /// Blocks until the collective has run; rethrows its error.
        public func wait() throws {
            done.lock()
            while !finished { done.wait() }
            let e = error
            done.unlock()
            if let e { throw e }
        }
    }

    /// Queues `body` (which calls `base`) and returns at once.
    @discardableResult
    public func submit(_ body: @escaping () throws -> Void) -> Pending {
        let p = Pending(body)
        queue.append(p)
        return p
    }

    /// The thread and its FIFO; the thread holds this, not the communicator, and ends when stopped.
    private final class WorkQueue: @unchecked Sendable {
        private let condition = NSCondition()
        private var work: [Pending] = []
        private var started = false
        private var stopping = false

        func append(_ p: Pending) {
            condition.lock()
            if !started {
                started = true
                let t = Thread { [self] in self.loop() }
                t.name = "myelin-communication"
                t.start()
            }
            work.append(p)
            condition.signal()
            condition.unlock()
        }

        func stop() {
            condition.lock()
            stopping = true
            condition.broadcast()
            condition.unlock()
        }

        private func loop() {
            while true {
                condition.lock()
                while work.isEmpty && !stopping { condition.wait() }
                if work.isEmpty { condition.unlock(); return }
                let next = work.removeFirst()
                condition.unlock()
                next.run()
            }
        }
    }

    /// Starts an allreduce of `buffer` on the communication thread; the memory must stay valid
    /// and untouched until `wait()` returns.
    public func startAllreduce(_ buffer: UnsafeMutableBufferPointer<Float>, op: ReduceOp) -> Pending {
        let b = UncheckedSendable(buffer), base = self.base
        return submit { try base.allreduce(b.value, op: op) }
    }

    /// Starts an allreduce of `buffer` on the communication thread (see the float overload).
    public func startAllreduce(_ buffer: UnsafeMutableBufferPointer<Double>, op: ReduceOp) -> Pending {
        let b = UncheckedSendable(buffer), base = self.base
        return submit { try base.allreduce(b.value, op: op) }
    }

    public func allreduce(_ buffer: UnsafeMutableBufferPointer<Float>, op: ReduceOp) throws {
        try startAllreduce(buffer, op: op).wait()
    }

    public func allreduce(_ buffer: UnsafeMutableBufferPointer<Double>, op: ReduceOp) throws {
        try startAllreduce(buffer, op: op).wait()
    }

    public func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws {
        let b = UncheckedSendable(buffer), base = self.base
        try submit { try base.broadcast(b.value, root: root) }.wait()
    }

    public func allgather(_ send: UnsafeRawBufferPointer, into receive: UnsafeMutableRawBufferPointer) throws {
        let s = UncheckedSendable(send), r = UncheckedSendable(receive), base = self.base
        try submit { try base.allgather(s.value, into: r.value) }.wait()
    }

    public func barrier() throws {
        let base = self.base
        try submit { try base.barrier() }.wait()
    }
}

/// Carries a value the compiler cannot prove sendable (raw buffers) to the communication thread;
/// the submitter keeps the memory alive until the work is done.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
