import Testing
import MyelinCore
import MyelinNN
import MyelinData
import MyelinTrain
@testable import MyelinDistributed

/// DistributedDataParallel's contract on simulated ranks: 2 ranks with batch b end with the
/// weights of 1 process with batch 2b (float64, 20 SGD steps, no dropout).
@Suite struct DataParallelTests {
    static func mlp(seed: UInt64) -> Sequential {
        let g = RandomGenerator(seed: seed)
        return Sequential { Linear(6, 16, generator: g); Tanh(); Linear(16, 3, generator: g) }.to(.float64)
    }

    /// A small CNN whose batch norm is ordinary (one process) or synchronised over `communicator`.
    static func cnn(seed: UInt64, communicator: (any Communicator)?) -> Sequential {
        let g = RandomGenerator(seed: seed)
        let norm: Module = communicator.map { SyncBatchNorm(4, communicator: $0) } ?? BatchNorm2d(4)
        return Sequential {
            Conv2d(inChannels: 1, outChannels: 4, kernelSize: 3, generator: g); norm; ReLU()
            Flatten(); Linear(4 * 6 * 6, 3, generator: g)
        }.to(.float64)
    }

    static func data(_ n: Int, shape: [Int], seed: UInt64) -> TensorDataset {
        let g = RandomGenerator(seed: seed)
        return TensorDataset(inputs: Tensor.normal([n] + shape, dtype: .float64, generator: g),
                             targets: Tensor.randint(0, 3, shape: [n], generator: g))
    }

    static func weights(_ model: Module) -> [Double] { model.parameters().flatMap { $0.value.scalars(as: Double.self) } }

    static func maxDifference(_ a: [Double], _ b: [Double]) -> Double {
        precondition(a.count == b.count)
        return zip(a, b).map { Swift.abs($0 - $1) }.max() ?? 0
    }

    static func optimizer(_ model: Module) -> SGD { SGD(parameters: model.parameters(), lr: 0.1, momentum: 0.9, weightDecay: 1e-3) }

    /// The reference: one process, batch 2b, in order.
    static func reference(_ model: Sequential, train: TensorDataset, validation: TensorDataset?, batch: Int) throws -> ([Double], History) {
        let trainer = Trainer(model: model, optimizer: optimizer(model), loss: .crossEntropy, metrics: [Accuracy()], verbosity: .silent)
        let history = try trainer.fit(DataLoader(train, batchSize: batch), epochs: 1,
                                      validation: validation.map { DataLoader($0, batchSize: 7) })
        #expect(trainer.step == 20)
        return (weights(model), history)
    }

    struct RankResult {
        var weights: [Double]
        var history: History
        var digests: [UInt64]
        var early: Int
        var started: Int
    }

    /// 2 simulated ranks, batch b each, shards dealt round robin (no shuffling), rank 1 starting
    /// from other weights (the broadcast must replace them).
    static func distributed(train: TensorDataset, validation: TensorDataset?, batch: Int,
                            model: @escaping (UInt64, any Communicator) -> Sequential) throws -> [RankResult] {
        try InProcessCommunicator.run(ranks: 2) { comm in
            let queued = QueuedCommunicator(comm)
            let net = model(comm.rank == 0 ? 1 : 77, queued)
            let shard = ShardedDataset(train, sampler: DistributedSampler(count: train.count, rank: comm.rank, size: 2, shuffle: false))
            let ddp = DataParallel(communicator: queued, shards: [shard], bucketBytes: 512)
            let trainer = Trainer(model: net, optimizer: optimizer(net), loss: .crossEntropy, metrics: [Accuracy()],
                                  callbacks: [ddp], verbosity: .silent)
            let val = validation.map {
                DataLoader(ShardedDataset($0, sampler: DistributedSampler(count: $0.count, rank: comm.rank, size: 2, shuffle: false, padded: false)),
                           batchSize: 7)
            }
            let history = try trainer.fit(DataLoader(shard, batchSize: batch), epochs: 1, validation: val)
            return RankResult(weights: weights(net), history: history, digests: ddp.weightDigests,
                              early: ddp.bucketsStartedEarly, started: ddp.bucketsStarted)
        }
    }

    @Test func twoRanksWithBatchBMatchOneProcessWithBatch2BForAnMLP() throws {
        let train = Self.data(160, shape: [6], seed: 3), validation = Self.data(31, shape: [6], seed: 4)
        let (expected, history) = try Self.reference(Self.mlp(seed: 1), train: train, validation: validation, batch: 8)
        let ranks = try Self.distributed(train: train, validation: validation, batch: 4) { seed, _ in Self.mlp(seed: seed) }
        let start = Self.weights(Self.mlp(seed: 1))
        #expect(Self.maxDifference(start, expected) > 1e-3, "training moved the weights")
        for r in ranks {
            #expect(Self.maxDifference(r.weights, expected) < 1e-10)
            #expect(r.weights == ranks[0].weights, "ranks hold bit-identical weights")
            #expect(r.digests.count == 2 && r.digests[0] == r.digests[1])
            // Buckets of at most 512 bytes, from the last parameter back: [b2, W2] (408 bytes), [b1] (128),
            // [W1] (768, alone); all start from the gradient hooks, during the backward pass.
            #expect(r.started == 20 * 3 && r.early == r.started)
            #expect(Swift.abs(r.history["val_loss"]![0] - history["val_loss"]![0]) < 1e-10)
            #expect(Swift.abs(r.history["accuracy"]![0] - history["accuracy"]![0]) < 1e-12)
            #expect(Swift.abs(r.history["val_accuracy"]![0] - history["val_accuracy"]![0]) < 1e-12)
            #expect(Swift.abs(r.history["loss"]![0] - history["loss"]![0]) < 1e-10)
        }
    }

    @Test func twoRanksWithSyncBatchNormMatchOneProcessForACNN() throws {
        let train = Self.data(160, shape: [1, 8, 8], seed: 5)
        let reference = Self.cnn(seed: 1, communicator: nil)
        let (expected, _) = try Self.reference(reference, train: train, validation: nil, batch: 8)
        let ranks = try Self.distributed(train: train, validation: nil, batch: 4) { seed, comm in Self.cnn(seed: seed, communicator: comm) }
        let running = (reference.layers[1] as! BatchNorm2d).runningVar!.value.scalars(as: Double.self)
        for r in ranks {
            #expect(Self.maxDifference(r.weights, expected) < 1e-10)
            #expect(r.weights == ranks[0].weights)
        }
        #expect(running != [1, 1, 1, 1])
    }

    @Test func syncBatchNormNormalisesOverAllRanks() throws {
        // Rank 0 holds x, rank 1 holds x + 10: one rank's statistics would centre each half on its own.
        let x = Tensor.normal([4, 2, 3], dtype: .float64, generator: RandomGenerator(seed: 2))
        let outputs = try InProcessCommunicator.run(ranks: 2) { comm in
            let bn = SyncBatchNorm(2, communicator: comm).to(.float64)
            return bn(comm.rank == 0 ? x : x + 10).scalars(as: Double.self)
        }
        let whole = BatchNorm1d(2).to(.float64)(Tensor.cat([x, x + 10], axis: 0)).scalars(as: Double.self)
        #expect(Self.maxDifference(outputs[0] + outputs[1], whole) < 1e-12)
    }

    @Test func modelsOfDifferentSizesStopTraining() throws {
        #expect(throws: DistributedError.self) {
            _ = try InProcessCommunicator.run(ranks: 2) { comm in
                let g = RandomGenerator(seed: 1)
                let net = Sequential { Linear(6, comm.rank == 0 ? 4 : 5, generator: g) }.to(.float64)
                let trainer = Trainer(model: net, optimizer: Self.optimizer(net), loss: .mse,
                                      callbacks: [DataParallel(communicator: comm)], verbosity: .silent)
                let data = TensorDataset(inputs: Tensor.zeros([4, 6], dtype: .float64), targets: Tensor.zeros([4, comm.rank == 0 ? 4 : 5], dtype: .float64))
                try trainer.fit(DataLoader(data, batchSize: 2), epochs: 1)
            }
        }
    }

    @Test func aStopOnOneRankStopsEveryRankAtTheEpochsEnd() throws {
        let train = Self.data(64, shape: [6], seed: 3)
        let epochs = try InProcessCommunicator.run(ranks: 2, timeout: 20) { comm -> Int in
            let queued = QueuedCommunicator(comm)
            let net = Self.mlp(seed: 1)
            let shard = ShardedDataset(train, sampler: DistributedSampler(count: train.count, rank: comm.rank, size: 2))
            let ddp = DataParallel(communicator: queued, shards: [shard])
            // Only rank 0 decides to stop, after its second epoch (as rank 0's early stopping would).
            let stopper = LambdaCallback(onEpochEnd: { epoch, _, ctx in if comm.rank == 0 && epoch == 1 { ctx.trainer.stopTraining = true } })
            let trainer = Trainer(model: net, optimizer: Self.optimizer(net), loss: .crossEntropy,
                                  callbacks: [ddp, stopper, StopAgreement(communicator: queued)], verbosity: .silent)
            try trainer.fit(DataLoader(shard, batchSize: 8), epochs: 10)
            return trainer.history.epochs.count
        }
        #expect(epochs == [2, 2])
    }
}
