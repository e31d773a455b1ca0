import Foundation
import MyelinCore
import MyelinNN

/// Batch normalisation whose training statistics cover the whole global batch: each channel's
/// mean and variance are summed over all ranks of a communicator (PyTorch's `SyncBatchNorm`),
/// so 2 ranks with batches of b normalise as one process with 2b. Gradients flow through the
/// sums (their vector-Jacobian product is again a sum over ranks). Evaluation uses the running
/// statistics, as `BatchNorm2d`. Parameters and buffers have BatchNorm's names (`weight`, `bias`,
/// `running_mean`, `running_var`, `num_batches_tracked`), so state dicts load either way.
///
/// Every rank must run the layer the same number of times in the same order (it is a collective).
/// Inputs are [N, C], [N, C, L] or [N, C, H, W].
///
/// ```swift
/// let bn = SyncBatchNorm(32, communicator: comm)
/// let y = bn(Tensor.randn([8, 32, 14, 14]))
/// ```
public final class SyncBatchNorm: BatchNormBase {
    let group: Int

    public init(_ features: Int, eps: Double = 1e-5, momentum: Double = 0.1, affine: Bool = true,
                trackRunningStats: Bool = true, communicator: any Communicator) {
        group = CommunicatorRegistry.register(communicator)
        super.init(features, eps: eps, momentum: momentum, affine: affine, trackRunningStats: trackRunningStats)
    }

    public override func forward(_ input: Tensor) -> Tensor {
        guard input.rank >= 2 && input.rank <= 4 && input.shape[1] == features else {
            fatalError("[syncBatchNorm] expected [N, \(features)], [N, \(features), L] or [N, \(features), H, W] inputs, got shape \(input.shape)")
        }
        let axes = [0] + Array(2..<input.rank)
        let channelShape = [features] + Array(repeating: 1, count: input.rank - 2)
        let mean: Tensor, variance: Tensor
        if isTraining || runningMean == nil {
            let local = axes.reduce(1) { $0 * input.shape[$1] }
            var counts = [Double(local)]
            do { try CommunicatorRegistry.communicator(group).allreduce(&counts, op: .sum) } catch {
                fatalError("[syncBatchNorm] \(error)")
            }
            let n = counts[0]
            if isTraining && n <= 1 {
                fatalError("[syncBatchNorm] training needs more than 1 value per channel over all ranks, got \(Int(n))")
            }
            let total = Tensor(scalar: n, dtype: input.dtype)
            mean = Tensor.apply(AllreduceSum(group: group), [input.sum(axes: axes)]) / total
            let centered = input - mean.reshape(channelShape)
            variance = Tensor.apply(AllreduceSum(group: group), [(centered * centered).sum(axes: axes)]) / total
            updateRunningStatistics(mean: mean, variance: variance, count: n)
            return normalized(centered, variance: variance, channelShape: channelShape)
        }
        mean = runningMean!.value
        variance = runningVar!.value
        return normalized(input - mean.reshape(channelShape), variance: variance, channelShape: channelShape)
    }
}

/// The sum of a tensor over the ranks of a registered communicator, as a differentiable op: its
/// vector-Jacobian product sums the incoming gradients over the ranks too.
struct AllreduceSum: Primitive {
    static let name = "distributed.allreduce_sum"
    let group: Int

    func forward(_ inputs: [Tensor]) -> Tensor {
        do { return try CommunicatorRegistry.communicator(group).allreduce(inputs[0], op: .sum) } catch {
            fatalError("[syncBatchNorm] \(error)")
        }
    }

    func vjp(_ gradient: Tensor, _ inputs: [Tensor], _ output: Tensor) -> [Tensor?] {
        [Tensor.apply(self, [gradient])]
    }

    func outputType(_ inputs: [Graph.ValueType]) throws -> Graph.ValueType? { inputs.first }
}

/// Communicators by number, so that ops (which must be `Codable`) can name the one they use.
enum CommunicatorRegistry {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var table: [Int: any Communicator] = [:]
    nonisolated(unsafe) private static var identities: [ObjectIdentifier: Int] = [:]

    static func register(_ c: any Communicator) -> Int {
        lock.lock(); defer { lock.unlock() }
        if let id = identities[ObjectIdentifier(c)] { return id }
        let id = table.count
        table[id] = c
        identities[ObjectIdentifier(c)] = id
        return id
    }

    static func communicator(_ id: Int) throws -> any Communicator {
        lock.lock(); defer { lock.unlock() }
        guard let c = table[id] else { throw DistributedError("[allreduce] no communicator numbered \(id) in this process") }
        return c
    }
}
