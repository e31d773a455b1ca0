import Foundation
import MyelinCore

/// Why a collective operation failed: sizes that differ between ranks, a rank that left or never
/// arrived, MPI reporting an error, MPI missing. The message starts with the operation.
public struct DistributedError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// How `allreduce` combines the ranks' values.
public enum ReduceOp: Sendable {
    /// Element-wise sum over the ranks.
    case sum
    /// Element-wise sum divided by the number of ranks (gradient averaging).
    case average
    case max
    case min
}

/// A group of processes (ranks) that run the same program and exchange buffers collectively, as
/// MPI's communicators: every rank calls the same operations in the same order, and each call
/// returns when every rank has made it.
///
/// Implementations: `MPICommunicator` (processes started by `mpirun`), `InProcessCommunicator`
/// (threads simulating ranks, for tests), `SingleProcessCommunicator` (one rank, no-ops).
///
/// ```swift
/// let comm = try Communicators.current()          // MPI under mpirun, else one rank
/// var gradients: [Float] = ...
/// try gradients.withUnsafeMutableBufferPointer { try comm.allreduce($0, op: .average) }
/// print("rank \(comm.rank) of \(comm.size)")
/// ```
public protocol Communicator: AnyObject, Sendable {
    /// This process's index in the group, 0..<size.
    var rank: Int { get }
    /// The number of ranks.
    var size: Int { get }
    /// Replaces each element with its combination over all ranks (in place, same count on all ranks).
    func allreduce(_ buffer: UnsafeMutableBufferPointer<Float>, op: ReduceOp) throws
    /// Replaces each element with its combination over all ranks (in place, same count on all ranks).
    func allreduce(_ buffer: UnsafeMutableBufferPointer<Double>, op: ReduceOp) throws
    /// Copies `root`'s bytes into every rank's buffer (same byte count on all ranks).
    func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws
    /// Gathers each rank's `send` bytes into `receive` (size × send.count bytes), in rank order.
    func allgather(_ send: UnsafeRawBufferPointer, into receive: UnsafeMutableRawBufferPointer) throws
    /// Returns when every rank has called it.
    func barrier() throws
}

// MARK: conveniences over arrays and tensors

extension Communicator {
    /// Allreduce of an array, in place.
    ///
    /// ```swift
    /// var sums = [lossSum, Double(samples)]
    /// try comm.allreduce(&sums, op: .sum)
    /// ```
    public func allreduce(_ values: inout [Double], op: ReduceOp) throws {
        try values.withUnsafeMutableBufferPointer { try allreduce($0, op: op) }
    }

    /// Allreduce of an array, in place.
    public func allreduce(_ values: inout [Float], op: ReduceOp) throws {
        try values.withUnsafeMutableBufferPointer { try allreduce($0, op: op) }
    }

    /// The element-wise combination of a float32 or float64 tensor over all ranks (a new tensor,
    /// same shape; other dtypes throw).
    ///
    /// ```swift
    /// let total = try comm.allreduce(localSums, op: .sum)
    /// ```
    public func allreduce(_ tensor: Tensor, op: ReduceOp) throws -> Tensor {
        var t = tensor.detached()
        switch t.dtype {
        case .float32: try t.withUnsafeMutableBufferPointer(as: Float.self) { try allreduce($0, op: op) }
        case .float64: try t.withUnsafeMutableBufferPointer(as: Double.self) { try allreduce($0, op: op) }
        default: throw DistributedError("[allreduce] needs a float32 or float64 tensor, got \(t.dtype)")
        }
        return t
    }

    /// Every rank's value, in rank order.
    ///
    /// ```swift
    /// let counts = try comm.allgather(localCount)    // [500, 500]
    /// ```
    public func allgather(_ value: Int) throws -> [Int] {
        var mine = Int64(value)
        var all = [Int64](repeating: 0, count: size)
        try withUnsafeBytes(of: &mine) { send in
            try all.withUnsafeMutableBytes { try allgather(send, into: $0) }
        }
        return all.map { Int($0) }
    }

    /// Every rank's value, in rank order.
    public func allgather(_ value: UInt64) throws -> [UInt64] {
        var mine = value
        var all = [UInt64](repeating: 0, count: size)
        try withUnsafeBytes(of: &mine) { send in
            try all.withUnsafeMutableBytes { try allgather(send, into: $0) }
        }
        return all
    }

    /// Root's bytes on every rank; other ranks' `bytes` are ignored (their length need not match).
    ///
    /// ```swift
    /// let config = try comm.broadcast(rank == 0 ? Array(json.utf8) : [], root: 0)
    /// ```
    public func broadcast(_ bytes: [UInt8], root: Int = 0) throws -> [UInt8] {
        var count = Int64(bytes.count)
        try withUnsafeMutableBytes(of: &count) { try broadcast($0, root: root) }
        var out = rank == root ? bytes : [UInt8](repeating: 0, count: Int(count))
        try out.withUnsafeMutableBytes { try broadcast($0, root: root) }
        return out
    }

    /// Root's tensor values copied into this rank's tensor (same shape and dtype on all ranks).
    public func broadcast(_ tensor: Tensor, root: Int = 0) throws -> Tensor {
        var t = tensor.detached()
        try t.withUnsafeMutableRawBytes(op: "broadcast") { try broadcast($0, root: root) }
        return t
    }

    /// Checks that `value` is the same on every rank, else throws `[op] what differs on ranks: a vs b`.
    public func checkSame(_ value: Int, what: String, op: String) throws {
        let all = try allgather(value)
        if let other = all.first(where: { $0 != all[0] }) {
            throw DistributedError("[\(op)] \(what) differ on ranks: \(all[0]) vs \(other)")
        }
    }
}

/// One rank alone: collectives return at once with the values unchanged.
///
/// ```swift
/// let comm = SingleProcessCommunicator()
/// try comm.barrier()
/// ```
public final class SingleProcessCommunicator: Communicator, @unchecked Sendable {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public func allreduce(_ buffer: UnsafeMutableBufferPointer<Float>, op: ReduceOp) throws {}
    public func allreduce(_ buffer: UnsafeMutableBufferPointer<Double>, op: ReduceOp) throws {}
    public func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws {
        if root != 0 { throw DistributedError("[broadcast] root \(root) is not a rank of a group of 1") }
    }
    public func allgather(_ send: UnsafeRawBufferPointer, into receive: UnsafeMutableRawBufferPointer) throws {
        guard receive.count == send.count else {
            throw DistributedError("[allgather] receive buffer has \(receive.count) bytes, needs \(send.count)")
        }
        if send.count > 0 { receive.baseAddress!.copyMemory(from: send.baseAddress!, byteCount: send.count) }
    }
    public func barrier() throws {}
}

/// Picks the communicator for this process.
public enum Communicators {
    /// `MPICommunicator.shared()` when the process was started by `mpirun` (Open MPI's or PMIx's
    /// variables are set), else a `SingleProcessCommunicator`.
    ///
    /// ```swift
    /// let comm = try Communicators.current()
    /// ```
    public static func current() throws -> any Communicator {
        MPICommunicator.isLaunchedByMPI ? try MPICommunicator.shared() : SingleProcessCommunicator()
    }
}

extension Tensor {
    /// Mutable bytes of a contiguous, unshared copy-on-write tensor of any dtype but bool.
    mutating func withUnsafeMutableRawBytes(op: String, _ body: (UnsafeMutableRawBufferPointer) throws -> Void) throws {
        switch dtype {
        case .float32: try withUnsafeMutableBufferPointer(as: Float.self) { try body(UnsafeMutableRawBufferPointer($0)) }
        case .float64: try withUnsafeMutableBufferPointer(as: Double.self) { try body(UnsafeMutableRawBufferPointer($0)) }
        case .int32: try withUnsafeMutableBufferPointer(as: Int32.self) { try body(UnsafeMutableRawBufferPointer($0)) }
        case .int64: try withUnsafeMutableBufferPointer(as: Int64.self) { try body(UnsafeMutableRawBufferPointer($0)) }
        case .bool: throw DistributedError("[\(op)] bool tensors are not supported")
        }
    }
}
