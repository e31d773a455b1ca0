import Foundation
import MyelinCore
import MyelinData
import MyelinNN
import MyelinTrain
import MyelinDistributed

/// How a `myelin train` or `resume` process takes part in data-parallel training: its
/// communicator (all collectives in one queue) and whether `bn` layers synchronise their
/// statistics over the ranks. Rank 0 writes the run folder and prints; the other ranks train
/// silently and write nothing. Every rank reads the same data and, to resume, the same run
/// folder (a shared file system).
///
/// ```swift
/// var request = TrainRequest(source: .catalogue(name: "mnist"), out: "runs/ddp")
/// request.distributed = DistributedRun(communicator: try MPICommunicator.shared(), syncBatchNorm: false)
/// try TrainJob.train(request, output: { print($0, terminator: "") })
/// ```
public struct DistributedRun {
    public let communicator: QueuedCommunicator
    public var syncBatchNorm: Bool

    public init(communicator: any Communicator, syncBatchNorm: Bool = false) {
        self.communicator = (communicator as? QueuedCommunicator) ?? QueuedCommunicator(communicator)
        self.syncBatchNorm = syncBatchNorm
    }

    public var rank: Int { communicator.rank }
    public var size: Int { communicator.size }
    public var isRoot: Bool { rank == 0 }

    /// The `bn` layers' builder: `SyncBatchNorm` over the ranks when asked, else nil (BatchNorm).
    var normalization: ((Int, Bool) -> Module)? {
        guard syncBatchNorm else { return nil }
        let comm = communicator
        return { features, _ in SyncBatchNorm(features, communicator: comm) }
    }

    /// Rank 0's verdict on whether to go on, on every rank: rank 0 passes its own (`ok`), the
    /// others learn it. Every rank must call it at the same point.
    func agree(_ ok: Bool, op: String) throws -> Bool {
        var flag = [UInt8(ok ? 1 : 0)]
        flag = try communicator.broadcast(flag, root: 0)
        return flag == [1]
    }

    /// The one-line description rank 0 prints.
    func summary(batchSize: Int) -> String {
        "data-parallel: \(size) ranks, batch \(batchSize) per rank, global batch \(batchSize * size), "
            + "\(Threading.count) thread\(Threading.count == 1 ? "" : "s") per rank"
            + (syncBatchNorm ? ", synchronised batch norm" : "") + "\n"
    }
}
