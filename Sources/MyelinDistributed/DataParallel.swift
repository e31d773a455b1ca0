import Foundation
import MyelinCore
import MyelinNN
import MyelinData
import MyelinTrain

/// Data-parallel training with the contract of PyTorch's DistributedDataParallel, as a `Trainer`
/// callback: every rank runs the same program on its shard of the data (`ShardedDataset`), and
///
/// - at the start, rank 0's parameters and buffers are broadcast to all ranks;
/// - during each backward pass, gradients are averaged over the ranks with allreduce in buckets
///   of at most `bucketBytes` (1 MiB, PyTorch's first bucket; a larger parameter has a bucket of
///   its own), parameters in reverse order as their gradients become ready, each bucket started
///   on the communication thread as soon as its last gradient arrives, so that communication
///   overlaps the rest of the backward pass (a CNN's dense-layer gradients travel while the
///   convolutions' gradients are computed);
/// - every rank then takes the same optimiser step, so the weights stay identical (checked at
///   the end by hashing them on every rank: `weightDigests`);
/// - the epoch's logs and every evaluation are averaged over the ranks, weighted by examples;
/// - each epoch, the shards move to the new epoch and the loader's and `trainer.generators`'
///   random streams are reseeded from (seed, rank, epoch): ranks draw their own dropout and
///   augmentation, and a run resumed at an epoch boundary draws the same numbers.
///
/// A parameter without a gradient on a rank contributes zeros. Gradients accumulated over several
/// backward passes before a step are not supported (the trainer zeroes them every batch).
///
/// ```swift
/// let comm = try Communicators.current()
/// let shard = ShardedDataset(train, sampler: DistributedSampler(count: train.count, rank: comm.rank, size: comm.size, seed: 1))
/// let ddp = DataParallel(communicator: comm, shards: [shard], seed: 1)
/// let trainer = Trainer(model: model, optimizer: SGD(parameters: model.parameters(), lr: 0.1),
///                       loss: .crossEntropy, callbacks: [ddp])
/// try trainer.fit(DataLoader(shard, batchSize: 64), epochs: 5)
/// ```
public final class DataParallel: Callback {
    /// The queue all of this training's collectives go through (pass it to `SyncBatchNorm`).
    public let communicator: QueuedCommunicator
    public let bucketBytes: Int
    public let seed: UInt64
    /// The shards whose epoch follows training's.
    public var shards: [ShardedDataset]
    /// Generators outside the trainer (a model's dropout layers') reseeded like `trainer.generators`.
    public var reseeded: [RandomGenerator] = []
    /// Each rank's weight digest (first 8 bytes of a SHA-256 of the parameters) after training.
    public private(set) var weightDigests: [UInt64] = []
    /// Buckets started before the backward pass ended, over all steps (the overlap achieved).
    public private(set) var bucketsStartedEarly = 0
    /// Buckets started in all.
    public private(set) var bucketsStarted = 0

    private var buckets: [GradientBucket] = []
    private var hooked: Set<ObjectIdentifier> = []
    private var armed = false
    private var nextLaunch = 0
    private weak var trainer: Trainer?

    /// `communicator` may already be a `QueuedCommunicator` (shared with `SyncBatchNorm` layers);
    /// otherwise it is wrapped in one.
    public init(communicator: any Communicator, shards: [ShardedDataset] = [], bucketBytes: Int = 1 << 20, seed: UInt64 = 0) {
        self.communicator = (communicator as? QueuedCommunicator) ?? QueuedCommunicator(communicator)
        self.shards = shards
        self.bucketBytes = max(1, bucketBytes)
        self.seed = seed
    }

    public var rank: Int { communicator.rank }
    public var size: Int { communicator.size }

    // MARK: start

    public func onTrainBegin(_ ctx: TrainingContext) {
        let trainer = ctx.trainer
        self.trainer = trainer
        trainer.processCount = size
        let comm = communicator
        trainer.reduceLogs = { [weak trainer] logs, samples in
            do { return try Self.reduce(logs, samples: samples, communicator: comm) } catch {
                trainer?.fail(error)
                return logs
            }
        }
        do {
            try broadcastState(ctx.model)
            try makeBuckets(ctx.optimizer.parameters.filter(\.requiresGrad))
        } catch {
            trainer.fail(error)
        }
    }

    /// Copies rank 0's parameters and buffers to every rank, after checking the models agree.
    public func broadcastState(_ model: Module) throws {
        let params = model.namedParameters(), buffers = model.namedBuffers()
        try communicator.checkSame(params.count, what: "parameter counts", op: "dataParallel")
        try communicator.checkSame(params.reduce(0) { $0 + $1.1.count }, what: "parameter sizes", op: "dataParallel")
        try communicator.checkSame(buffers.count, what: "buffer counts", op: "dataParallel")
        for (_, p) in params { p.assign(try communicator.broadcast(p.value, root: 0)) }
        for (_, b) in buffers where b.value.dtype != .bool { b.value = try communicator.broadcast(b.value, root: 0) }
    }

    private func makeBuckets(_ parameters: [Parameter]) throws {
        buckets = []
        var current: [Parameter] = []
        var bytes = 0
        func close() {
            if !current.isEmpty { buckets.append(GradientBucket(current)) }
            current = []
            bytes = 0
        }
        for p in parameters.reversed() {
            guard p.dtype == .float32 || p.dtype == .float64 else {
                throw DistributedError("[dataParallel] parameters must be float32 or float64, got \(p.dtype)")
            }
            let size = p.count * p.dtype.byteSize
            if let first = current.first, first.dtype != p.dtype || bytes + size > bucketBytes { close() }
            current.append(p)
            bytes += size
            if bytes >= bucketBytes { close() }
        }
        close()
        for (b, bucket) in buckets.enumerated() {
            for (slot, p) in bucket.parameters.enumerated() where !hooked.contains(ObjectIdentifier(p)) {
                hooked.insert(ObjectIdentifier(p))
                p.value.registerHook { [weak self] g in
                    self?.gradientReady(bucket: b, slot: slot, g)
                    return nil
                }
            }
        }
    }

    // MARK: each epoch and batch

    public func onEpochBegin(epoch: Int, logs: [String: Double], ctx: TrainingContext) {
        for s in shards { s.epoch = epoch }
        ctx.trainer.trainLoader?.generator.restore(RandomGenerator(seed: Self.mix(seed, rank, epoch, 0)).state)
        for (i, name) in ctx.trainer.generators.keys.sorted().enumerated() {
            ctx.trainer.generators[name]!.restore(RandomGenerator(seed: Self.mix(seed, rank, epoch, i + 1)).state)
        }
        for (i, g) in reseeded.enumerated() {
            g.restore(RandomGenerator(seed: Self.mix(seed, rank, epoch, 1000 + i)).state)
        }
    }

    public func onBatchBegin(batch: Int, logs: [String: Double], ctx: TrainingContext) {
        for bucket in buckets { bucket.reset() }
        nextLaunch = 0
        armed = true
    }

    /// A parameter's gradient of this backward pass: copied into its bucket; full buckets start
    /// their allreduce, in bucket order (the same order on every rank).
    private func gradientReady(bucket b: Int, slot: Int, _ g: Tensor) {
        guard armed else { return }
        buckets[b].fill(slot: slot, with: g)
        launchReady(early: true)
    }

    private func launchReady(early: Bool) {
        while nextLaunch < buckets.count && buckets[nextLaunch].isFull {
            buckets[nextLaunch].start(on: communicator)
            bucketsStarted += 1
            if early { bucketsStartedEarly += 1 }
            nextLaunch += 1
        }
    }

    public func onAfterBackward(batch: Int, ctx: TrainingContext) {
        guard armed else { return }
        armed = false
        for bucket in buckets { bucket.fillMissingWithZeros() }
        launchReady(early: false)
        do {
            for bucket in buckets { try bucket.finish() }
        } catch {
            ctx.trainer.fail(error)
        }
    }

    // MARK: end

    public func onTrainEnd(_ ctx: TrainingContext) {
        armed = false
        ctx.trainer.reduceLogs = nil
        ctx.trainer.processCount = 1
        do {
            let digest = Self.weightDigest(ctx.model)
            weightDigests = try communicator.allgather(digest)
            if let other = weightDigests.firstIndex(where: { $0 != weightDigests[0] }) {
                throw DistributedError(String(format: "[dataParallel] weights differ across ranks after training: rank 0 %016llx vs rank %d %016llx",
                                              weightDigests[0], other, weightDigests[other]))
            }
        } catch {
            ctx.trainer.fail(error)
        }
    }

    /// The first 8 bytes of a SHA-256 of the model's parameters, in order.
    public static func weightDigest(_ model: Module) -> UInt64 {
        var hasher = SHA256()
        for p in model.parameters() {
            switch p.dtype {
            case .float32: p.value.withUnsafeBufferPointer(as: Float.self) { hasher.update(Array(UnsafeRawBufferPointer($0))) }
            case .float64: p.value.withUnsafeBufferPointer(as: Double.self) { hasher.update(Array(UnsafeRawBufferPointer($0))) }
            default: hasher.update(p.value.scalars(as: Double.self).flatMap { withUnsafeBytes(of: $0) { Array($0) } })
            }
        }
        return hasher.finalize().prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// Logs averaged over ranks, weighted by each rank's examples ("lr" and "time" stay local).
    static func reduce(_ logs: [String: Double], samples: Int, communicator: any Communicator) throws -> [String: Double] {
        let keys = logs.keys.filter { $0 != "lr" && $0 != "time" }.sorted()
        try communicator.checkSame(keys.count, what: "log key counts", op: "dataParallel")
        var values = keys.map { samples > 0 ? logs[$0]! * Double(samples) : 0 } + [Double(samples)]
        try communicator.allreduce(&values, op: .sum)
        var out = logs
        let n = values.last!
        for (i, k) in keys.enumerated() { out[k] = n > 0 ? values[i] / n : .nan }
        return out
    }

    /// A seed from several numbers (SplitMix64 steps).
    static func mix(_ seed: UInt64, _ rank: Int, _ epoch: Int, _ stream: Int) -> UInt64 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15
        for x in [seed, UInt64(rank), UInt64(epoch), UInt64(stream)] {
            h = (h ^ x) &+ 0x9E37_79B9_7F4A_7C15
            h = (h ^ (h >> 30)) &* 0xBF58_476D_1CE4_E5B9
            h = (h ^ (h >> 27)) &* 0x94D0_49BB_1331_11EB
            h ^= h >> 31
        }
        return h
    }
}

/// Parameters whose gradients are averaged in one allreduce, in one flat buffer.
final class GradientBucket {
    let parameters: [Parameter]
    let offsets: [Int]
    let count: Int
    let dtype: DType
    private var filled: [Bool]
    private var ready = 0
    private var floats: UnsafeMutableBufferPointer<Float>?
    private var doubles: UnsafeMutableBufferPointer<Double>?
    private var pending: QueuedCommunicator.Pending?

    init(_ parameters: [Parameter]) {
        self.parameters = parameters
        var offsets: [Int] = [], total = 0
        for p in parameters { offsets.append(total); total += p.count }
        self.offsets = offsets
        count = total
        dtype = parameters[0].dtype
        filled = Array(repeating: false, count: parameters.count)
        if dtype == .float32 {
            floats = .allocate(capacity: total)
            floats!.initialize(repeating: 0)
        } else {
            doubles = .allocate(capacity: total)
            doubles!.initialize(repeating: 0)
        }
    }

    deinit {
        floats?.deallocate()
        doubles?.deallocate()
    }

    var isFull: Bool { ready == parameters.count }

    func reset() {
        for i in filled.indices { filled[i] = false }
        ready = 0
        pending = nil
    }

    func fill(slot: Int, with g: Tensor) {
        let p = parameters[slot]
        guard g.count == p.count else {
            fatalError("[dataParallel] gradient of \(g.count) elements for a parameter of \(p.count)")
        }
        let start = offsets[slot]
        if let floats {
            g.to(.float32).withUnsafeBufferPointer(as: Float.self) { src in
                (floats.baseAddress! + start).update(from: src.baseAddress!, count: src.count)
            }
        } else if let doubles {
            g.to(.float64).withUnsafeBufferPointer(as: Double.self) { src in
                (doubles.baseAddress! + start).update(from: src.baseAddress!, count: src.count)
            }
        }
        if !filled[slot] { filled[slot] = true; ready += 1 }
    }

    func fillMissingWithZeros() {
        for slot in filled.indices where !filled[slot] {
            let start = offsets[slot], n = parameters[slot].count
            if let floats { (floats.baseAddress! + start).update(repeating: 0, count: n) }
            if let doubles { (doubles.baseAddress! + start).update(repeating: 0, count: n) }
            filled[slot] = true
            ready += 1
        }
    }

    func start(on comm: QueuedCommunicator) {
        if let floats { pending = comm.startAllreduce(floats, op: .average) }
        if let doubles { pending = comm.startAllreduce(doubles, op: .average) }
    }

    /// Waits for the allreduce and sets each parameter's gradient to the average.
    func finish() throws {
        try pending?.wait()
        pending = nil
        for (slot, p) in parameters.enumerated() {
            let start = offsets[slot], n = p.count
            if let floats {
                p.grad = Tensor(shape: p.shape, scalars: Array(floats[start..<start + n]))
            } else if let doubles {
                p.grad = Tensor(shape: p.shape, scalars: Array(doubles[start..<start + n]))
            }
        }
    }
}

/// Makes every rank stop at the end of an epoch in which any rank's callbacks stopped training
/// (early stopping decided by rank 0 alone, which writes the logs), so that no rank waits for
/// the others in a collective. Put it last among the callbacks.
///
/// ```swift
/// let trainer = Trainer(model: model, optimizer: opt, loss: .crossEntropy,
///                       callbacks: [ddp, EarlyStopping(patience: 3), StopAgreement(communicator: ddp.communicator)])
/// ```
public final class StopAgreement: Callback {
    public let communicator: any Communicator

    public init(communicator: any Communicator) { self.communicator = communicator }

    public func onEpochEnd(epoch: Int, logs: [String: Double], ctx: TrainingContext) {
        var flag = [ctx.trainer.stopTraining ? 1.0 : 0.0]
        do {
            try communicator.allreduce(&flag, op: .max)
        } catch {
            ctx.trainer.fail(error)
            return
        }
        if flag[0] > 0 { ctx.trainer.stopTraining = true }
    }
}
