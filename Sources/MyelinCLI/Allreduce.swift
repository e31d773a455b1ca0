import ArgumentParser
import Foundation
import MyelinDistributed

struct Allreduce: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time allreduce of a float buffer across the ranks of an mpirun job.",
        discussion: """
        Examples:
          mpirun -np 2 myelin allreduce                          # shared memory
          mpirun -np 2 --mca btl self,tcp myelin allreduce \\
              --count 10000000                                   # loopback TCP

        Prints (rank 0) the time per allreduce through Myelin's communicator and straight \
        from C (the raw MPI figure), with algorithm and bus bandwidth, and checks the sums.
        """)

    @Option(parsing: .unconditional, help: "Floats in the buffer.") var count = 10_000_000
    @Option(parsing: .unconditional, help: "Timed allreduces.") var iterations = 10

    func run() throws {
        runOrFail {
            guard MPICommunicator.isLaunchedByMPI else {
                throw DistributedError("[allreduce] not started by mpirun; run: mpirun -np 2 myelin allreduce")
            }
            let comm = try MPICommunicator.shared()
            let result = try AllreduceBenchmark.run(communicator: comm, count: count, iterations: iterations)
            if comm.rank == 0 { print(result.line) }
            if !result.correct { throw DistributedError("[allreduce] sums differ from the expected values on some rank") }
        }
    }
}
