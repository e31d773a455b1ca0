import Foundation
import Testing
@testable import MyelinTrain
import MyelinCore
import MyelinNN
import MyelinData

/// A run saved after epoch k and restored into freshly built objects continues bit for bit:
/// the same weights, optimiser state and history as a run never interrupted.
@Suite struct ResumeTests {
    final class Net: Module {
        let fc1: Linear
        let drop: Dropout
        let fc2: Linear
        init(seed: UInt64, dropout: RandomGenerator) {
            let g = RandomGenerator(seed: seed)
            fc1 = Linear(2, 16, generator: g)
            drop = Dropout(0.2, generator: dropout)
            fc2 = Linear(16, 2, generator: g)
            super.init()
        }
        override func forward(_ x: Tensor) -> Tensor { fc2(drop(fc1(x).relu())) }
    }

    static let train = twoBlobs(60, seed: 21), validation = twoBlobs(30, seed: 22)

    /// Everything a run owns, built from seeds; different seeds give different starting states.
    static func make(seed: UInt64, callbacks: [Callback] = []) -> (Trainer, DataLoader) {
        let dropout = RandomGenerator(seed: seed + 1)
        let model = Net(seed: seed, dropout: dropout)
        let opt = Adam(parameters: model.parameters(), lr: 0.02)
        let scheduler = CosineAnnealingLR(optimizer: opt, tMax: 3)
        let trainer = Trainer(model: model, optimizer: opt, loss: .crossEntropy, metrics: [Accuracy(), F1Score()],
                              callbacks: callbacks, scheduler: scheduler, verbosity: .silent)
        trainer.generators = ["dropout": dropout]
        return (trainer, DataLoader(train, batchSize: 16, shuffle: true, seed: seed + 2))
    }

    @Test func fourEpochsEqualTwoSavedRestoredAndTwoMore() throws {
        let (straight, loader) = Self.make(seed: 1)
        let full = try straight.fit(loader, epochs: 4, validation: DataLoader(Self.validation, batchSize: 10))

        let (first, firstLoader) = Self.make(seed: 1)
        try first.fit(firstLoader, epochs: 2, validation: DataLoader(Self.validation, batchSize: 10))
        let path = temporaryFolder() + "/after-2.safetensors"
        try first.saveCheckpoint(to: path)

        // Fresh objects from other seeds: everything that matters must come from the file.
        let (resumed, resumedLoader) = Self.make(seed: 99)
        #expect(weights(resumed.model) != weights(first.model))
        try resumed.restore(from: path)
        #expect(resumed.epoch == 2 && resumed.step == 8 && resumed.history.count == 2)
        let rest = try resumed.fit(resumedLoader, epochs: 4, validation: DataLoader(Self.validation, batchSize: 10))

        #expect(weights(resumed.model) == weights(straight.model))
        #expect(rest.sameValues(as: full), "\(rest.metrics) vs \(full.metrics)")
        #expect(rest.epochs == [0, 1, 2, 3] && resumed.step == straight.step)
        #expect(resumed.optimizer.lr == straight.optimizer.lr)
        #expect(resumedLoader.generator.state == loader.generator.state)
    }

    /// The same through `ModelCheckpoint(full: true)` written during an uninterrupted run.
    @Test func resumeFromAModelCheckpointFile() throws {
        let dir = temporaryFolder()
        let (straight, loader) = Self.make(seed: 3, callbacks: [ModelCheckpoint(path: dir + "/epoch-{epoch}.safetensors", full: true)])
        let full = try straight.fit(loader, epochs: 5)

        let (resumed, resumedLoader) = Self.make(seed: 30)
        try resumed.restore(from: Checkpoint.load(from: dir + "/epoch-3.safetensors"), loader: resumedLoader)
        let rest = try resumed.fit(resumedLoader, epochs: 5)
        #expect(weights(resumed.model) == weights(straight.model))
        #expect(rest.sameValues(as: full))
        // A checkpoint that does not fit changes nothing and says why.
        let other = Sequential { Linear(2, 3, generator: RandomGenerator(seed: 1)) }
        let wrong = Trainer(model: other, optimizer: SGD(parameters: other.parameters(), lr: 0.1), loss: .crossEntropy)
        #expect(throws: CheckpointError.self) { try wrong.restore(from: dir + "/epoch-3.safetensors") }
        #expect(wrong.epoch == 0 && wrong.history.count == 0)
    }
}
