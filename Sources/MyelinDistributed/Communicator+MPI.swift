import Foundation
import CMPIShim

/// The processes of an `mpirun` job (MPI_COMM_WORLD), through Open MPI loaded at run time: the
/// package builds without MPI, and `shared()` throws a one-line error where `libmpi.so.40` is
/// missing. MPI is initialised once per process (thread level SERIALIZED: calls from any thread,
/// one at a time, which this class ensures with a lock) and finalised by `finalize()`.
///
/// MPI's polling loop yields the core while waiting (`mpi_yield_when_idle`, unless set otherwise).
///
/// A rank that dies ends the job: MPI's default error handler is fatal, and `mpirun` stops the
/// other ranks and names the one that exited. A rank that hangs without dying is caught by a
/// watchdog: a collective waiting longer than `MYELIN_MPI_TIMEOUT` seconds (default 600) ends its
/// process with status 1 and a one-line message, and `mpirun` then stops the job.
///
/// ```swift
/// // mpirun -np 2 ./program
/// let comm = try MPICommunicator.shared()
/// var x: [Double] = [Double(comm.rank)]
/// try comm.allreduce(&x, op: .sum)                  // [1.0] on both ranks
/// comm.finalize()
/// ```
public final class MPICommunicator: Communicator, @unchecked Sendable {
    public let rank: Int
    public let size: Int
    private let lock = NSLock()
    private let watchdog: Watchdog
    private static let sharedLock = NSLock()
    nonisolated(unsafe) private static var instance: MPICommunicator?

    /// True when `mpirun` (Open MPI, or a PMIx launcher) started this process.
    public static var isLaunchedByMPI: Bool {
        let env = ProcessInfo.processInfo.environment
        return env["OMPI_COMM_WORLD_SIZE"] != nil || env["PMIX_RANK"] != nil || env["PMI_RANK"] != nil
    }

    /// The ranks per host as `mpirun` set them (OMPI_COMM_WORLD_LOCAL_SIZE), else 1.
    public static var localSize: Int {
        Int(ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_LOCAL_SIZE"] ?? "") ?? 1
    }

    /// The communicator if `shared()` has initialised MPI in this process, else nil.
    public static var started: MPICommunicator? {
        sharedLock.lock(); defer { sharedLock.unlock() }
        return instance
    }

    /// The process's communicator over MPI_COMM_WORLD, initialising MPI on first use.
    public static func shared() throws -> MPICommunicator {
        sharedLock.lock()
        defer { sharedLock.unlock() }
        if let instance { return instance }
        var message = [CChar](repeating: 0, count: 512)
        if myelin_mpi_load(nil, &message, message.count) != 0 {
            throw DistributedError("[mpi] " + String(cString: message))
        }
        // The communication thread waits in MPI while the training thread computes: yielding in
        // MPI's polling loop leaves the core to it (2x samples/s on a loaded 2-core machine).
        // A value the user set (environment or mpirun --mca) wins.
        setenv("OMPI_MCA_mpi_yield_when_idle", "1", 0)
        var rank: Int32 = 0, size: Int32 = 0, provided: Int32 = 0
        let code = myelin_mpi_init(&rank, &size, &provided)
        if code != 0 { throw DistributedError("[mpi] MPI_Init_thread failed: \(errorText(code))") }
        if provided < 2 {
            throw DistributedError("[mpi] MPI gives thread level \(provided), needs 2 (MPI_THREAD_SERIALIZED)")
        }
        let c = MPICommunicator(rank: Int(rank), size: Int(size))
        instance = c
        return c
    }

    private init(rank: Int, size: Int) {
        self.rank = rank
        self.size = size
        let env = ProcessInfo.processInfo.environment["MYELIN_MPI_TIMEOUT"].flatMap(Double.init)
        watchdog = Watchdog(rank: rank, timeout: env.map { $0 > 0 ? $0 : .infinity } ?? 600)
    }

    /// Ends this process (exit status 1, which makes `mpirun` stop the job) when one collective
    /// has waited longer than `timeout` seconds: a rank that hangs without dying (stopped, in a
    /// deadlock) would otherwise keep the others waiting for ever. `MYELIN_MPI_TIMEOUT` sets the
    /// seconds (default 600; 0 turns it off).
    final class Watchdog: @unchecked Sendable {
        let rank: Int
        let timeout: Double
        private let lock = NSLock()
        private var op: String?
        private var since = 0.0

        init(rank: Int, timeout: Double) {
            self.rank = rank
            self.timeout = timeout
            guard timeout.isFinite else { return }
            let t = Thread { [self] in self.watch() }
            t.name = "myelin-mpi-watchdog"
            t.start()
        }

        func begin(_ name: String) {
            lock.lock(); op = name; since = Date().timeIntervalSince1970; lock.unlock()
        }

        func end() {
            lock.lock(); op = nil; lock.unlock()
        }

        private func watch() {
            while true {
                Thread.sleep(forTimeInterval: min(1, timeout / 4))
                lock.lock()
                let waited = op.map { ($0, Date().timeIntervalSince1970 - since) }
                lock.unlock()
                if let (name, seconds) = waited, seconds > timeout {
                    let text = "[\(name)] rank \(rank) waited \(Int(seconds)) s for the other ranks (one has hung or stopped; "
                        + "MYELIN_MPI_TIMEOUT=\(Int(timeout))); ending the job\n"
                    FileHandle.standardError.write(Data(text.utf8))
                    _exit(1)
                }
            }
        }
    }

    /// Ends MPI in this process (MPI_Finalize); every rank must call it before exiting normally.
    public func finalize() {
        lock.lock(); defer { lock.unlock() }
        _ = myelin_mpi_finalize()
    }

    /// Ends every rank of the job at once with `code` (MPI_Abort).
    public func abort(code: Int32) -> Never {
        myelin_mpi_abort(code)
        exit(code)
    }

    static func errorText(_ code: Int32) -> String {
        var text = [CChar](repeating: 0, count: 512)
        myelin_mpi_error_string(code, &text, text.count)
        return String(cString: text)
    }

    /// Runs one MPI call under the lock and the watchdog.
    private func call(_ op: String, _ body: () -> Int32) throws {
        lock.lock(); defer { lock.unlock() }
        watchdog.begin(op)
        let code = body()
        watchdog.end()
        try check(op, code)
    }

    private func check(_ op: String, _ code: Int32) throws {
        if code != 0 { throw DistributedError("[\(op)] MPI error on rank \(rank): \(Self.errorText(code))") }
    }

    private static func mpiOp(_ op: ReduceOp) -> Int32 {
        switch op {
        case .sum, .average: return Int32(MYELIN_MPI_SUM)
        case .max: return Int32(MYELIN_MPI_MAX)
        case .min: return Int32(MYELIN_MPI_MIN)
        }
    }

    public func allreduce(_ buffer: UnsafeMutableBufferPointer<Float>, op: ReduceOp) throws {
        try call("allreduce") { myelin_mpi_allreduce(buffer.baseAddress, Int64(buffer.count), Int32(MYELIN_MPI_FLOAT), Self.mpiOp(op)) }
        if op == .average { let s = Float(size); for i in buffer.indices { buffer[i] /= s } }
    }

    public func allreduce(_ buffer: UnsafeMutableBufferPointer<Double>, op: ReduceOp) throws {
        try call("allreduce") { myelin_mpi_allreduce(buffer.baseAddress, Int64(buffer.count), Int32(MYELIN_MPI_DOUBLE), Self.mpiOp(op)) }
        if op == .average { let s = Double(size); for i in buffer.indices { buffer[i] /= s } }
    }

    public func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws {
        guard (0..<size).contains(root) else { throw DistributedError("[broadcast] root \(root) is not a rank of 0..<\(size)") }
        try call("broadcast") { myelin_mpi_bcast(buffer.baseAddress, Int64(buffer.count), Int32(root)) }
    }

    public func allgather(_ send: UnsafeRawBufferPointer, into receive: UnsafeMutableRawBufferPointer) throws {
        guard receive.count == send.count * size else {
            throw DistributedError("[allgather] receive buffer has \(receive.count) bytes, needs \(send.count * size)")
        }
        try call("allgather") { myelin_mpi_allgather(send.baseAddress, receive.baseAddress, Int64(send.count)) }
    }

    public func barrier() throws {
        try call("barrier") { myelin_mpi_barrier() }
    }

    /// Seconds per in-place float sum allreduce of `count` floats, timed in C straight on MPI
    /// (the raw figure to compare this class's overhead with). Collective: every rank calls it.
    public func rawAllreduceSeconds(count: Int, iterations: Int) throws -> Double {
        lock.lock(); defer { lock.unlock() }
        let s = myelin_mpi_allreduce_loop(Int64(count), Int32(iterations))
        if s < 0 { throw DistributedError("[allreduce] the raw MPI loop failed (\(count) floats, \(iterations) iterations)") }
        return s
    }
}
