import MyelinCore
import Foundation

/// Several ranks simulated by threads of one process, for tests of distributed code without MPI:
/// each thread holds its own communicator of a shared group, and collectives meet in memory.
/// Sums run in rank order, so every rank gets bit-identical results.
///
/// A rank that throws from `run` ends the group: the others' next collective throws instead of
/// waiting; a rank that never arrives makes the others throw after `timeout` seconds.
///
/// ```swift
/// let sums = try InProcessCommunicator.run(ranks: 2) { comm in
///     var x: [Double] = [Double(comm.rank + 1)]
///     try comm.allreduce(&x, op: .sum)
///     return x[0]                                   // 3 on both ranks
/// }
/// ```
public final class InProcessCommunicator: Communicator, @unchecked Sendable {
    public let rank: Int
    public var size: Int { group.size }
    let group: InProcessGroup

    init(rank: Int, group: InProcessGroup) {
        self.rank = rank
        self.group = group
    }

    /// `size` communicators sharing one group, one per simulated rank.
    public static func group(size: Int, timeout: Double = 60) -> [InProcessCommunicator] {
        require(size > 0, "[inProcess] a group needs at least one rank, got \(size)")
        let g = InProcessGroup(size: size, timeout: timeout)
        return (0..<size).map { InProcessCommunicator(rank: $0, group: g) }
    }

    /// Runs `body` on `ranks` threads, each with its rank's communicator, and returns their results
    /// in rank order; rethrows the first rank's error (by rank) if any threw.
    public static func run<T>(ranks: Int, timeout: Double = 60, _ body: @escaping (InProcessCommunicator) throws -> T) throws -> [T] {
        let comms = group(size: ranks, timeout: timeout)
        let results = ResultSlots<T>(count: ranks)
        let done = DispatchGroup()
        let work = UncheckedSendable(body)
        for comm in comms {
            done.enter()
            let thread = Thread {
                do {
                    results.set(comm.rank, .success(try work.value(comm)))
                } catch {
                    comm.group.fail(rank: comm.rank, error)
                    results.set(comm.rank, .failure(error))
                }
                done.leave()
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        done.wait()
        return try results.values()
    }

    public func allreduce(_ buffer: UnsafeMutableBufferPointer<Float>, op: ReduceOp) throws {
        try reduce(buffer, op: op)
    }

    public func allreduce(_ buffer: UnsafeMutableBufferPointer<Double>, op: ReduceOp) throws {
        try reduce(buffer, op: op)
    }

    private func reduce<T: BinaryFloatingPoint>(_ buffer: UnsafeMutableBufferPointer<T>, op: ReduceOp) throws {
        let n = buffer.count
        try group.exchange(rank: rank, op: "allreduce",
                           slot: .init(pointer: UnsafeRawPointer(buffer.baseAddress), count: n, width: MemoryLayout<T>.size))
        let slots = group.slots
        if let other = slots.first(where: { $0.count != n || $0.width != MemoryLayout<T>.size }) {
            throw DistributedError("[allreduce] buffer sizes differ on ranks: \(n) vs \(other.count)")
        }
        var result = [T](repeating: 0, count: n)
        for (r, slot) in slots.enumerated() where n > 0 {
            let p = slot.pointer!.assumingMemoryBound(to: T.self)
            for i in 0..<n {
                let v = p[i]
                if r == 0 { result[i] = v; continue }
                switch op {
                case .sum, .average: result[i] += v
                case .max: result[i] = Swift.max(result[i], v)
                case .min: result[i] = Swift.min(result[i], v)
                }
            }
        }
        if op == .average { for i in 0..<n { result[i] /= T(size) } }
        try group.exchange(rank: rank, op: "allreduce", slot: .init(pointer: nil, count: 0, width: 0))
        for i in 0..<n { buffer[i] = result[i] }
    }

    public func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws {
        guard (0..<size).contains(root) else { throw DistributedError("[broadcast] root \(root) is not a rank of 0..<\(size)") }
        try group.exchange(rank: rank, op: "broadcast",
                           slot: .init(pointer: UnsafeRawPointer(buffer.baseAddress), count: buffer.count, width: 1))
        let slots = group.slots
        if let other = slots.first(where: { $0.count != buffer.count }) {
            throw DistributedError("[broadcast] buffer sizes differ on ranks: \(buffer.count) vs \(other.count) bytes")
        }
        if rank != root, buffer.count > 0 {
            buffer.baseAddress!.copyMemory(from: slots[root].pointer!, byteCount: buffer.count)
        }
        try group.exchange(rank: rank, op: "broadcast", slot: .init(pointer: nil, count: 0, width: 0))
    }

    public func allgather(_ send: UnsafeRawBufferPointer, into receive: UnsafeMutableRawBufferPointer) throws {
        guard receive.count == send.count * size else {
            throw DistributedError("[allgather] receive buffer has \(receive.count) bytes, needs \(send.count * size)")
        }
        try group.exchange(rank: rank, op: "allgather", slot: .init(pointer: send.baseAddress, count: send.count, width: 1))
        let slots = group.slots
        if let other = slots.first(where: { $0.count != send.count }) {
            throw DistributedError("[allgather] buffer sizes differ on ranks: \(send.count) vs \(other.count) bytes")
        }
        for (r, slot) in slots.enumerated() where send.count > 0 {
            (receive.baseAddress! + r * send.count).copyMemory(from: slot.pointer!, byteCount: send.count)
        }
        try group.exchange(rank: rank, op: "allgather", slot: .init(pointer: nil, count: 0, width: 0))
    }

    public func barrier() throws {
        try group.exchange(rank: rank, op: "barrier", slot: .init(pointer: nil, count: 0, width: 0))
    }
}

/// The meeting point of an in-process group: a reusable barrier that also publishes each rank's
/// buffer address.
final class InProcessGroup: @unchecked Sendable {
    struct Slot {
        var pointer: UnsafeRawPointer?
        var count: Int
        var width: Int
    }

    let size: Int
    let timeout: Double
    private let condition = NSCondition()
    private var pending: [Slot]
    private var arrived = 0
    private var generation = 0
    private var failure: String?
    private var published: [Slot]
    /// The slots of the last completed exchange (read between two exchanges).
    var slots: [Slot] {
        condition.lock(); defer { condition.unlock() }
        return published
    }

    init(size: Int, timeout: Double) {
        self.size = size
        self.timeout = timeout
        pending = Array(repeating: Slot(pointer: nil, count: 0, width: 0), count: size)
        published = pending
    }

    /// Publishes this rank's slot and waits until every rank has published its own.
    func exchange(rank: Int, op: String, slot: Slot) throws {
        condition.lock()
        defer { condition.unlock() }
        if let failure { throw DistributedError("[\(op)] \(failure)") }
        pending[rank] = slot
        arrived += 1
        let mine = generation
        if arrived == size {
            arrived = 0
            published = pending
            generation += 1
            condition.broadcast()
            return
        }
        let deadline = Date(timeIntervalSinceNow: timeout)
        while generation == mine && failure == nil {
            if !condition.wait(until: deadline) && generation == mine && failure == nil {
                let missing = size - arrived
                failure = "\(missing) of \(size) ranks did not arrive within \(Int(timeout)) s"
                condition.broadcast()
            }
        }
        if generation == mine, let failure { throw DistributedError("[\(op)] \(failure)") }
    }

    /// Marks the group failed because `rank` threw: waiting and later collectives throw.
    func fail(rank: Int, _ error: Error) {
        condition.lock()
        if failure == nil { failure = "rank \(rank) failed: \(error)" }
        condition.broadcast()
        condition.unlock()
    }
}

/// Per-rank results written by the rank threads.
final class ResultSlots<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [Result<T, Error>?]

    init(count: Int) { results = Array(repeating: nil, count: count) }

    func set(_ i: Int, _ r: Result<T, Error>) {
        lock.lock(); results[i] = r; lock.unlock()
    }

    /// The values in rank order, or the error of the lowest rank that threw (a rank's own error
    /// before the "rank k failed" errors it caused on others).
    func values() throws -> [T] {
        lock.lock(); defer { lock.unlock() }
        let errors = results.compactMap { r -> Error? in if case .failure(let e)? = r { return e }; return nil }
        if let root = errors.first(where: { !"\($0)".contains("failed: ") }) ?? errors.first { throw root }
        return results.map { if case .success(let v)? = $0 { return v }; fatalError("[inProcess] a rank returned nothing") }
    }
}
