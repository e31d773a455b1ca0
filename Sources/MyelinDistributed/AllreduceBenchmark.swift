import Foundation

/// Times allreduce of a float buffer over a communicator, through Myelin's `Communicator` and,
/// under MPI, straight from C (the raw figure), and checks the sums. Collective: every rank runs it.
///
/// ```swift
/// let result = try AllreduceBenchmark.run(communicator: try MPICommunicator.shared(), count: 10_000_000, iterations: 10)
/// print(result.line)
/// ```
public struct AllreduceBenchmark: Sendable {
    public let ranks: Int
    public let count: Int
    public let iterations: Int
    /// Seconds per allreduce through `Communicator.allreduce` (median of the iterations).
    public let seconds: Double
    /// Seconds per allreduce from the C loop of the shim (MPI only; nil otherwise).
    public let rawSeconds: Double?
    /// Whether every element held the expected sum after the checked allreduce.
    public let correct: Bool

    public var bytes: Int { count * 4 }
    /// Bytes per second of the buffer (algorithm bandwidth).
    public func algorithmBandwidth(_ s: Double) -> Double { Double(bytes) / s }
    /// The ring allreduce's traffic per rank per second: algorithm bandwidth × 2(n − 1)/n.
    public func busBandwidth(_ s: Double) -> Double { algorithmBandwidth(s) * 2 * Double(ranks - 1) / Double(ranks) }

    public var line: String {
        func ms(_ s: Double) -> String { s < 1e-3 ? String(format: "%.1f µs", s * 1e6) : String(format: "%.2f ms", s * 1000) }
        func gb(_ s: Double) -> String { String(format: "%.2f GB/s (bus %.2f GB/s)", algorithmBandwidth(s) / 1e9, busBandwidth(s) / 1e9) }
        var text = "allreduce of \(count) floats (\(String(format: "%.3g", Double(bytes) / 1e6)) MB) over \(ranks) ranks: "
            + "Myelin \(ms(seconds)), \(gb(seconds))"
        if let rawSeconds { text += "; raw MPI from C \(ms(rawSeconds)), \(gb(rawSeconds))" }
        return text + (correct ? "; sums correct" : "; SUMS WRONG")
    }

    /// Runs `iterations` timed allreduces (after one checked warm-up) of `count` floats.
    public static func run(communicator comm: any Communicator, count: Int, iterations: Int) throws -> AllreduceBenchmark {
        guard count >= 1, count <= 1 << 30 else { throw DistributedError("[allreduce] --count must be between 1 and 2^30, got \(count)") }
        guard iterations >= 1, iterations <= 10_000 else {
            throw DistributedError("[allreduce] --iterations must be between 1 and 10000, got \(iterations)")
        }
        var buffer = (0..<count).map { Float(comm.rank + 1) + Float($0 % 7) }
        try buffer.withUnsafeMutableBufferPointer { try comm.allreduce($0, op: .sum) }
        let n = Float(comm.size)
        var correct = true
        for i in 0..<count where buffer[i] != n * (n + 1) / 2 + n * Float(i % 7) {
            correct = false
            break
        }
        var agreed = [correct ? 0.0 : 1.0]
        try comm.allreduce(&agreed, op: .max)
        var times: [Double] = []
        try buffer.withUnsafeMutableBufferPointer { p in
            for _ in 0..<iterations {
                try comm.barrier()
                let start = DispatchTime.now().uptimeNanoseconds
                try comm.allreduce(p, op: .sum)
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            }
        }
        // The slowest rank's time is the collective's.
        var median = [times.sorted()[times.count / 2]]
        try comm.allreduce(&median, op: .max)
        var raw: Double?
        if let mpi = (comm as? QueuedCommunicator)?.base as? MPICommunicator ?? comm as? MPICommunicator {
            var r = [try mpi.rawAllreduceSeconds(count: count, iterations: iterations)]
            try comm.allreduce(&r, op: .max)
            raw = r[0]
        }
        return AllreduceBenchmark(ranks: comm.size, count: count, iterations: iterations, seconds: median[0],
                                  rawSeconds: raw, correct: agreed[0] == 0)
    }
}
