import Foundation
import Myelin
import MyelinRun
import MyelinDistributed

/// How `train` and `resume` join an `mpirun` job: each rank detects MPI from the variables
/// `mpirun` sets, so `mpirun -np 2 myelin train ...` needs no other flag.
enum MPILaunch {
    /// The data-parallel run of this process under `mpirun` with more than one rank, else nil.
    /// Without `--threads`, each rank takes the host's cores divided by its ranks on the host.
    static func detect(syncBatchNorm: Bool, threadsGiven: Bool, op: String) throws -> DistributedRun? {
        guard MPICommunicator.isLaunchedByMPI else {
            if syncBatchNorm {
                throw RunError(op: op, "--sync-bn is for data-parallel training: mpirun -np N myelin \(op) ...")
            }
            return nil
        }
        let comm = try MPICommunicator.shared()
        if !threadsGiven {
            Threading.count = max(1, ProcessInfo.processInfo.activeProcessorCount / max(1, MPICommunicator.localSize))
        }
        guard comm.size > 1 else { return nil }
        return DistributedRun(communicator: comm, syncBatchNorm: syncBatchNorm)
    }

    /// The one-line error for a kind of training that does not run data-parallel.
    static func unsupported(_ what: String, op: String = "train") -> RunError {
        RunError(op: op, "\(what) does not run under MPI; data-parallel training (mpirun -np N) covers networks of --model mlp, cnn, linear or --layers")
    }

    /// MPI_Finalize, when MPI was started (every rank calls it before exiting normally).
    static func finish() {
        MPICommunicator.started?.finalize()
    }
}
