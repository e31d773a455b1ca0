import Foundation
import Testing
@testable import MyelinTrain
import MyelinCore
import MyelinNN
import MyelinData

@Suite struct TrainerTests {
    @Test func fitLearnsTwoBlobsAndRecordsHistory() throws {
        let train = twoBlobs(256, seed: 1), test = twoBlobs(128, seed: 2)
        let model = mlp(seed: 3)
        let trainer = Trainer(model: model, optimizer: Adam(parameters: model.parameters(), lr: 0.05), loss: .crossEntropy,
                              metrics: [Accuracy()], verbosity: .silent)
        let history = try trainer.fit(DataLoader(train, batchSize: 32, shuffle: true, seed: 4), epochs: 5,
                                      validation: DataLoader(test, batchSize: 64))
        #expect(history.epochs == [0, 1, 2, 3, 4])
        #expect(Set(history.metrics.keys) == ["loss", "accuracy", "val_loss", "val_accuracy", "lr", "time"])
        #expect(history.keys == ["loss", "accuracy", "val_loss", "val_accuracy", "lr", "time"])
        #expect(history.metrics.values.allSatisfy { $0.count == 5 })
        #expect(history["loss"]!.last! < history["loss"]!.first!)
        #expect(history["val_accuracy"]!.last! >= 0.95, "\(history.metrics)")
        #expect(history["lr"]! == [0.05, 0.05, 0.05, 0.05, 0.05])
        #expect(trainer.epoch == 5 && trainer.step == 40)
        let scores = trainer.evaluate(DataLoader(test, batchSize: 50))
        #expect(Swift.abs(scores["loss"]! - history["val_loss"]!.last!) < 1e-9)
        #expect(Swift.abs(scores["accuracy"]! - history["val_accuracy"]!.last!) < 1e-12)
    }

    @Test func moduleShortcutFitsXOR() throws {
        let x = Tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]).repeated([8, 1])
        let y = Tensor([0.0, 1.0, 1.0, 0.0]).repeated([8]).reshape([32, 1])
        let g = RandomGenerator(seed: 2)
        let model = Sequential { Linear(2, 8, generator: g); Tanh(); Linear(8, 1, generator: g) }
        let history = try model.fit(x, y, loss: .bceWithLogits, optimizer: Adam(parameters: model.parameters(), lr: 0.05),
                                    metrics: [Accuracy()], batchSize: 8, epochs: 60, verbosity: .silent)
        #expect(history["accuracy"]!.last! == 1, "\(history["loss"]!.last!)")
        let predicted = (model.predict(x) .> 0).to(.float32)
        #expect((predicted .== y).all().item() == 1)
    }

    /// Keras's way: `Dense` layers sized by the data, the default optimiser, a held-out split.
    @Test func moduleShortcutBuildsDenseLayers() throws {
        let g = RandomGenerator(seed: 40)
        let model = Sequential { Dense(16, activation: .relu, generator: g); Dense(2, generator: g) }
        let data = twoBlobs(200, seed: 41)
        let history = try model.fit(data, loss: .crossEntropy, metrics: [Accuracy()], batchSize: 20, epochs: 8,
                                    validationSplit: 0.25, verbosity: .silent)
        #expect(model.parameterCount == 2 * 16 + 16 + 16 * 2 + 2)
        #expect(history["val_accuracy"]!.last! >= 0.9, "\(history.metrics)")
    }

    /// `fit` is the hand-written loop: same data order, same ops, same weights bit for bit.
    @Test func fitMatchesAnExplicitLoop() throws {
        let data = twoBlobs(40, seed: 5)
        let a = mlp(seed: 6), b = mlp(seed: 6)
        let optA = SGD(parameters: a.parameters(), lr: 0.1, momentum: 0.9)
        let optB = SGD(parameters: b.parameters(), lr: 0.1, momentum: 0.9)
        let schedA = StepLR(optimizer: optA, stepSize: 1, gamma: 0.5), schedB = StepLR(optimizer: optB, stepSize: 1, gamma: 0.5)
        let trainer = Trainer(model: a, optimizer: optA, loss: .crossEntropy, scheduler: schedA, gradientClipNorm: 0.5,
                              verbosity: .silent)
        let history = try trainer.fit(DataLoader(data, batchSize: 16, shuffle: true, seed: 7), epochs: 3)

        let loader = DataLoader(data, batchSize: 16, shuffle: true, seed: 7)
        var losses: [Double] = []
        for _ in 0..<3 {
            var sum = 0.0
            for batch in loader {
                let loss = crossEntropy(b(batch.inputs), labels: batch.targets)
                optB.zeroGrad()
                loss.backward()
                _ = clipGradNorm(b.parameters(), maxNorm: 0.5)
                optB.step()
                sum += loss.item() * Double(batch.inputs.shape[0])
            }
            schedB.step()
            losses.append(sum / 40)
        }
        #expect(weights(a) == weights(b))
        #expect(history["loss"]! == losses)
        #expect(history["lr"]! == [0.1, 0.05, 0.025])
    }

    @Test func validationSplitHoldsOutTheLastExamples() throws {
        let n = 10
        let data = TensorDataset(inputs: Tensor.arange(n).to(.float32).reshape([n, 1]), targets: Tensor.arange(n).to(.float32).reshape([n, 1]))
        let (train, validation) = try Trainer.split(data, validationSplit: 0.25, validationData: nil)
        // Keras: split at floor(10 * 0.75) = 7.
        #expect(train.count == 7 && validation?.count == 3)
        #expect(validation!.batch(at: [0, 1, 2]).targets.reshape([-1]).ints == [7, 8, 9])

        let g = RandomGenerator(seed: 1)
        let model = Linear(1, 1, generator: g)
        var seen: [Int] = []
        let spy = LambdaCallback(onBatchBegin: { _, _, ctx in seen += ctx.targets!.reshape([-1]).ints })
        let trainer = Trainer(model: model, optimizer: SGD(parameters: model.parameters(), lr: 0.01), loss: .mse,
                              callbacks: [spy], verbosity: .silent)
        let history = try trainer.fit(data, batchSize: 3, epochs: 2, validationSplit: 0.25, shuffle: true, seed: 3)
        #expect(seen.count == 14 && Set(seen) == Set(0..<7))
        #expect(history["val_loss"]?.count == 2)
        #expect(throws: TrainerError.self) { try trainer.fit(data, epochs: 1, validationSplit: 1.5) }
        #expect(throws: TrainerError.self) { try trainer.fit(data, epochs: 1, validationSplit: 1e-17) }
    }

    /// Dropout is active in `fit`, off in `evaluate` and `predict`, which record no graph and put
    /// the mode back.
    @Test func evaluateAndPredictUseEvalModeWithoutAGraph() throws {
        let g = RandomGenerator(seed: 8)
        let linear = Linear(4, 3, generator: g)
        let model = Sequential { linear; Dropout(0.5, generator: RandomGenerator(seed: 9)) }
        let x = Tensor.randn([10, 4], generator: g), y = Tensor.randn([10, 3], generator: g)
        var recorded: [Bool] = []
        let loss = Loss.custom(name: "mse") { p, t in
            recorded.append(p.requiresGrad)
            return mseLoss(p, t)
        }
        let trainer = Trainer(model: model, optimizer: SGD(parameters: model.parameters(), lr: 0), loss: loss, verbosity: .silent)
        let plain = withoutGrad { linear(x) }
        model.train()
        let p1 = trainer.predict(x), p2 = trainer.predict(x, batchSize: 3)
        #expect(p1.floats == plain.floats)
        // Other batch sizes may round differently inside BLAS.
        #expect(zip(p2.floats, plain.floats).allSatisfy { Swift.abs($0 - $1) < 1e-6 })
        #expect(!p1.requiresGrad && p1.gradFunctionName == nil)
        #expect(model.isTraining && model[1].isTraining)

        let scores = trainer.evaluate(TensorDataset(inputs: x, targets: y), batchSize: 4)
        #expect(recorded == [false, false, false])
        #expect(Swift.abs(scores["loss"]! - mseLoss(plain, y).item()) < 1e-6)
        #expect(model.isTraining)
        #expect(model.parameters().allSatisfy { $0.grad == nil })

        // In fit, the loss sees outputs with a graph, and dropout zeroes some of them.
        recorded = []
        var zeros = 0
        let count = LambdaCallback(onBatchEnd: { _, _, ctx in zeros += ctx.outputs!.floats.filter { $0 == 0 }.count })
        trainer.callbacks = [count]
        try trainer.fit(DataLoader(TensorDataset(inputs: x, targets: y), batchSize: 10), epochs: 1)
        #expect(recorded == [true])
        #expect(zeros > 0)
    }

    @Test func schedulersStepPerEpochAndOnPlateau() throws {
        let data = twoBlobs(32, seed: 10)
        let model = mlp(seed: 11)
        let opt = SGD(parameters: model.parameters(), lr: 1e-9)
        let plateau = ReduceLROnPlateau(optimizer: opt, factor: 0.5, patience: 0, eps: 0)
        let trainer = Trainer(model: model, optimizer: opt, loss: .crossEntropy, scheduler: plateau, verbosity: .silent)
        let history = try trainer.fit(DataLoader(data, batchSize: 32), epochs: 4, validation: DataLoader(data, batchSize: 32))
        // Epoch 0 sets the best; every later epoch fails to improve by 1e-4 (relative) and halves the rate.
        #expect(history["lr"]! == [1e-9, 1e-9, 5e-10, 2.5e-10])

        let model2 = mlp(seed: 11)
        let opt2 = SGD(parameters: model2.parameters(), lr: 0.1)
        let warmup = LinearLR(optimizer: opt2, startFactor: 0.25, totalIters: 3)
        let trainer2 = Trainer(model: model2, optimizer: opt2, loss: .crossEntropy, scheduler: warmup, verbosity: .silent)
        trainer2.schedulerInterval = .batch
        let h2 = try trainer2.fit(DataLoader(data, batchSize: 16), epochs: 2)
        // Two steps per epoch: 0.025 at the start, 0.075 after two steps, 0.1 from the third on.
        #expect(h2["lr"]!.map { ($0 * 1e6).rounded() / 1e6 } == [0.025, 0.075])
        #expect(Swift.abs(opt2.lr - 0.1) < 1e-12)
    }

    @Test func gradientClippingBoundsTheStep() throws {
        let data = twoBlobs(16, seed: 12)
        let model = mlp(seed: 13)
        let before = model.parameters().map(\.value)
        let trainer = Trainer(model: model, optimizer: SGD(parameters: model.parameters(), lr: 1), loss: .crossEntropy,
                              gradientClipNorm: 1e-3, verbosity: .silent)
        try trainer.fit(DataLoader(data, batchSize: 16), epochs: 1)
        let moved = zip(model.parameters(), before).map { ($0.value - $1).square().sum().item() }.reduce(0, +).squareRoot()
        let bound: Double = 1e-3 * (1 + 1e-5)
        #expect(moved > 0 && moved <= bound, "\(moved)")
    }

    @Test func metricNamesMustBeDistinct() {
        let model = mlp(seed: 1)
        let trainer = Trainer(model: model, optimizer: SGD(parameters: model.parameters(), lr: 0.1), loss: .crossEntropy,
                              metrics: [Accuracy(), Accuracy()], verbosity: .silent)
        #expect(throws: TrainerError.self) { try trainer.fit(twoBlobs(8, seed: 1), epochs: 1) }
    }

    @Test func historySavesAndLoads() throws {
        var h = History()
        h.append(epoch: 0, logs: ["loss": 0.5, "lr": 0.1])
        h.append(epoch: 1, logs: ["loss": .nan, "lr": 0.1, "val_loss": .infinity])
        #expect(h["val_loss"]!.first!.isNaN && h["val_loss"]![1] == .infinity)
        let path = temporaryFolder() + "/history.json"
        try h.save(to: path)
        let back = try History.load(from: path)
        #expect(back == h && back.epochs == [0, 1])
        h.removeEpochs(from: 1)
        #expect(h.epochs == [0] && h["loss"] == [0.5])
    }
}

/// The README's "Training" examples, as written there (files under a temporary folder).
@Suite struct ReadmeTrainingTests {
    @Test func keraStyleAndPlainLoopRun() throws {
        let dir = temporaryFolder()
        let train = twoBlobs(128, seed: 31), test = twoBlobs(64, seed: 32)
        let testInputs = test.inputs, testLabels = test.targets
        let x = train.inputs, y = train.targets
        let g = RandomGenerator(seed: 33)
        let model = Sequential { Linear(2, 16, generator: g); ReLU(); Linear(16, 2, generator: g) }
        let opt = Adam(parameters: model.parameters(), lr: 1e-2)
        let out = Captured()
        let trainer = Trainer(model: model, optimizer: opt, loss: .crossEntropy,
                              metrics: [Accuracy(), F1Score(average: .macro)],
                              callbacks: [EarlyStopping(monitor: "val_loss", patience: 3, restoreBestWeights: true),
                                          ModelCheckpoint(path: dir + "/best.safetensors", saveBestOnly: true),
                                          CSVLogger(path: dir + "/log.csv")],
                              scheduler: CosineAnnealingLR(optimizer: opt, tMax: 20), gradientClipNorm: 1,
                              verbosity: .epoch, output: out.sink)
        let history = try trainer.fit(DataLoader(train, batchSize: 64, shuffle: true, seed: 0), epochs: 20,
                                      validation: DataLoader(test, batchSize: 256))
        #expect(out.text.hasPrefix("epoch 1/20  loss "))
        let scores = trainer.evaluate(DataLoader(test, batchSize: 256))
        #expect(Set(scores.keys) == ["loss", "accuracy", "f1"])
        let predicted = trainer.predict(testInputs).argmax(axis: 1)
        #expect(predicted.shape == [64])
        try history.save(to: dir + "/history.json")
        try model.fit(x, y, loss: .crossEntropy, metrics: [Accuracy()], batchSize: 32, epochs: 2, validationSplit: 0.2,
                      verbosity: .silent)

        let loader = DataLoader(train, batchSize: 64, shuffle: true, seed: 0)
        let scheduler = CosineAnnealingLR(optimizer: opt, tMax: 20)
        var acc = 0.0
        for _ in 0..<3 {
            model.train()
            for batch in loader {
                let loss = crossEntropy(model(batch.inputs), labels: batch.targets)
                opt.zeroGrad()
                loss.backward()
                clipGradNorm(model.parameters(), maxNorm: 1)
                opt.step()
            }
            scheduler.step()
            model.eval()
            acc = withoutGrad { accuracy(logits: model(testInputs), labels: testLabels) }
        }
        #expect(acc >= 0.9)
    }
}

/// The epoch's loss with ignored labels or class weights is the full set's weighted mean (PyTorch's
/// CrossEntropyLoss over all of it), whatever the batch size; a batch of ignored labels counts for
/// nothing (its mean is NaN, and made the epoch's loss NaN). One-hot targets are probabilities.
@Suite struct WeightedEpochLossTests {
    static func data() -> (Tensor, Tensor) {
        let g = RandomGenerator(seed: 11)
        let x = Tensor.normal([16, 3], generator: g).to(.float64)
        // The first four labels (the whole first batch of 4) are ignored.
        let y = Tensor(shape: [16], scalars: [-1, -1, -1, -1, 0, 1, 2, 0, 1, 2, 2, 1, 0, 0, 1, 2] as [Int64])
        return (x, y)
    }

    @Test func ignoredLabelsAndClassWeightsAverageOverTheWholeSet() {
        let (x, y) = Self.data()
        let model = Linear(3, 3, generator: RandomGenerator(seed: 5)).to(.float64)
        let weight = Tensor([1.0, 5.0, 0.2], dtype: .float64)
        for loss in [Loss.crossEntropy(ignoreIndex: -1), .crossEntropy(weight: weight, ignoreIndex: -1)] {
            let trainer = Trainer(model: model, optimizer: SGD(parameters: model.parameters(), lr: 0), loss: loss, verbosity: .silent)
            let whole = withoutGrad { loss(model(x), y) }.item()
            for batchSize in [4, 5, 16] {
                let scores = trainer.evaluate(TensorDataset(inputs: x, targets: y), batchSize: batchSize)
                #expect(Swift.abs(scores["loss"]! - whole) < 1e-12, "batch \(batchSize): \(scores["loss"]!) vs \(whole)")
            }
        }
    }

    @Test func anIgnoredBatchDoesNotMakeTheEpochNaN() throws {
        let (x, y) = Self.data()
        let model = Linear(3, 3, generator: RandomGenerator(seed: 5)).to(.float64)
        let trainer = Trainer(model: model, optimizer: SGD(parameters: model.parameters(), lr: 0.1),
                              loss: .crossEntropy(ignoreIndex: -1), callbacks: [TerminateOnNaN()], verbosity: .silent)
        let history = try trainer.fit(DataLoader(TensorDataset(inputs: x, targets: y), batchSize: 4), epochs: 2)
        #expect(history.epochs == [0, 1] && history["loss"]!.allSatisfy { $0.isFinite }, "\(history.metrics)")
    }

    @Test func oneHotTargetsAreProbabilities() {
        let (x, y) = Self.data()
        let model = Linear(3, 3, generator: RandomGenerator(seed: 5)).to(.float64)
        let labels = y[4...]
        let oneHot = Tensor.zeros([12, 3], dtype: .float64)
        var rows = oneHot
        for (i, l) in labels.ints.enumerated() { rows[i, l] = Tensor(scalar: 1.0, dtype: .float64) }
        let logits = withoutGrad { model(x[4...]) }
        let fromLabels = Loss.crossEntropy(logits, labels).item(), fromRows = Loss.crossEntropy(logits, rows).item()
        #expect(Swift.abs(fromLabels - fromRows) < 1e-12, "\(fromLabels) vs \(fromRows)")
        #expect(oneHot.doubles.allSatisfy { $0 == 0 })
    }
}
