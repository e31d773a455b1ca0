import Foundation
import Testing
@testable import MyelinNN
import MyelinCore
import MyelinTestSupport

/// Checkpoints written before optimiser options became one type per optimiser (Fixtures/old-format,
/// from `myelin train` at commit 51c8f6f) still load and restore: the options keep PyTorch's names,
/// and the restored state is exactly the one in the file.
@Suite struct CheckpointCompatibilityTests {
    static let folder = FixtureSet(besideFile: #filePath).directory.appendingPathComponent("old-format").path

    /// The run's network (`--hidden 4` on two features and two classes), its optimiser and schedule.
    static func live(_ run: String) -> (Module, Optimizer, LRScheduler) {
        let model = Sequential { Linear(2, 4); ReLU(); Linear(4, 2) }
        let opt: Optimizer = run == "sgd"
            ? SGD(parameters: model.parameters(), lr: 0.05, momentum: 0.9)
            : Adam(parameters: model.parameters(), lr: 0.05, weightDecay: 0.01)
        return (model, opt, CosineAnnealingLR(optimizer: opt, tMax: 2))
    }

    @Test(arguments: ["sgd", "adam"])
    func anOldCheckpointRestoresExactly(_ run: String) throws {
        let ckpt = try Checkpoint.load(from: "\(Self.folder)/\(run)/checkpoint.safetensors")
        #expect(ckpt.optimizerType == (run == "sgd" ? "SGD" : "Adam") && ckpt.epoch == 2 && ckpt.step == 10)
        let (model, opt, scheduler) = Self.live(run)
        try ckpt.restore(model: model, optimizer: opt, scheduler: scheduler, generators: ["loader": RandomGenerator(seed: 0)],
                         global: RandomGenerator(seed: 0))
        #expect(model.stateDict().mapValues(\.floats) == ckpt.modelState.mapValues(\.floats))
        let state = opt.stateDict()
        #expect(state.scalars == ckpt.optimizerState.scalars)
        #expect(state.tensors.mapValues(\.floats) == ckpt.optimizerState.tensors.mapValues(\.floats))
        #expect(state.tensors.count == (run == "sgd" ? 4 : 8))
        #expect(opt.learningRates == [0] && opt.initialLearningRates == [0.05], "the cosine schedule ended at 0")
    }

    /// The restored momentum buffer drives the next step: buf = 0.9 buf + g, p -= lr buf.
    @Test func anOldSGDMomentumBufferDrivesTheNextStep() throws {
        let ckpt = try Checkpoint.load(from: "\(Self.folder)/sgd/checkpoint.safetensors")
        let (model, opt, scheduler) = Self.live("sgd")
        try ckpt.restore(model: model, optimizer: opt, scheduler: scheduler, generators: ["loader": RandomGenerator(seed: 0)],
                         global: RandomGenerator(seed: 0))
        opt.lr = 0.05
        let p = model.parameters()[1]
        let before = p.value, buffer = ckpt.optimizerState.tensors["state.1.momentum_buffer"]!
        let g = Tensor([0.5, -0.25, 1.0, 0.0])
        p.grad = g
        opt.step()
        let expected = before + (buffer * 0.9 + g) * -0.05
        #expect(p.value.floats == expected.floats)
        #expect(buffer.floats != Tensor.zeros([4]).floats, "the buffer in the file is not empty")
    }
}
