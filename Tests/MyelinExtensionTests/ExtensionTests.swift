import Foundation
import Myelin
import Testing

/// The open extension points, exercised from outside the library (`import Myelin`, no @testable):
/// a user-written optimiser, scheduler, loss and layer, each checked on its own, then all four
/// training a small model through `Trainer` and resuming from a checkpoint.
@Suite struct ExtensionTests {
    // MARK: optimiser

    /// One Lion step by hand: c = 0.1 g (m starts at 0), p -= lr * sign(c), m = 0.01 g.
    @Test func userOptimizerStepsAsWritten() throws {
        let p = Parameter(Tensor([1.0, -2.0, 3.0]))
        let opt = Lion(parameters: [p], options: .init(lr: 0.1, betas: (0.9, 0.99)))
        p.grad = Tensor([0.5, -0.1, 0.0])
        opt.step()
        #expect(p.value.floats == [Float(1) - Float(0.1), Float(-2) + Float(0.1), 3])
        #expect(p.value.requiresGrad, "the update keeps the parameter a leaf that requires gradients")
        let state = opt.stateDict()
        #expect(state.scalars["state.0.step"] == 1)
        #expect(state.tensors["state.0.exp_avg"]!.floats == [Float(0.5) * Float(0.01), Float(-0.1) * Float(0.01), 0])
        #expect(state.scalars["groups.0.beta2"] == 0.99 && state.scalars["groups.0.lr"] == 0.1)
        #expect(opt.momentums == [0.9] && opt.learningRates == [0.1])
    }

    /// The user's state goes through export and import like a built-in one, and a state that does
    /// not fit throws the library's typed error, naming the user's class.
    @Test func userOptimizerStateRoundTripsAndRefusesMisfits() throws {
        func run(_ opt: Lion, _ p: Parameter, steps: Int) {
            for i in 0..<steps {
                opt.zeroGrad()
                p.grad = Tensor([Double(i) - 1, 0.5, -2])
                opt.step()
            }
        }
        let a = Parameter(Tensor([0.0, 1.0, 2.0])), b = Parameter(Tensor([0.0, 1.0, 2.0]))
        let straight = Lion(parameters: [a], options: .init(lr: 0.05, weightDecay: 0.1))
        run(straight, a, steps: 4)
        let first = Lion(parameters: [b], options: .init(lr: 0.05, weightDecay: 0.1))
        run(first, b, steps: 2)
        let saved = try JSONDecoder().decode(OptimizerState.self, from: JSONEncoder().encode(first.stateDict()))
        let c = Parameter(b.value)
        let second = Lion(parameters: [c], options: .init())
        try second.load(saved)
        #expect(second.groups[0].options.lr == 0.05 && second.groups[0].weightDecay == 0.1)
        for i in 2..<4 {
            second.zeroGrad()
            c.grad = Tensor([Double(i) - 1, 0.5, -2])
            second.step()
        }
        #expect(c.value.floats == a.value.floats)

        var bad = saved
        bad.scalars["groups.0.momentum"] = 0.9
        bad.tensors["state.0.exp_avg"] = Tensor.zeros([2])
        #expect(throws: OptimizerStateError.self) { try second.load(bad) }
        do {
            try second.load(bad)
        } catch let e as OptimizerStateError {
            #expect(e.description == "[Lion.load] group 0 has options this optimiser does not use: momentum; state.0.exp_avg has shape [2], parameter 0 [3]")
        }
    }

    // MARK: scheduler

    @Test func userSchedulerSetsTheRatesItComputes() {
        let opt = Lion(groups: [ParameterGroup([Parameter(Tensor.zeros([1]))], options: .init(lr: 0.1)),
                                ParameterGroup([Parameter(Tensor.zeros([1]))], options: .init(lr: 0.2))])
        let s = WarmupInverseSqrtLR(optimizer: opt, warmup: 2)
        #expect(s.baseLRs == [0.1, 0.2] && opt.initialLearningRates == [0.1, 0.2])
        #expect(opt.learningRates == [0.1 * 0.5, 0.2 * 0.5])
        s.step()
        #expect(opt.learningRates == [0.1, 0.2])
        s.step()
        #expect(opt.learningRates == [0.1 * (2.0 / 3).squareRoot(), 0.2 * (2.0 / 3).squareRoot()])
        #expect(s.stateDict().scalars["last_epoch"] == 2)
    }

    // MARK: loss

    @Test func userLossComputesValueAndGradient() {
        let outputs = Tensor([[0.0], [1.0]]).requiringGrad()
        let value = logCosh(outputs, Tensor([0.0, 0.0]))
        let expected = (0 + Foundation.log(Foundation.cosh(1.0))) / 2
        #expect(Swift.abs(value.item() - expected) < 1e-6, "\(value.item()) vs \(expected)")
        value.backward()
        // d/dx log cosh x = tanh x, over 2 elements.
        let grad = outputs.grad!.doubles
        #expect(grad[0] == 0 && Swift.abs(grad[1] - Foundation.tanh(1.0) / 2) < 1e-6, "\(grad)")
    }

    // MARK: layer

    @Test func userLayerHasNamedParametersAndComputes() throws {
        let layer = ScaleShift(2)
        #expect(layer.namedParameters().map(\.0) == ["gain", "shift"])
        layer.gain.assign(Tensor([2.0, -1.0]))
        layer.shift.assign(Tensor([0.5, 0.0]))
        #expect(layer(Tensor([[1.0, 1.0], [3.0, -2.0]])).floats == [2.5, -1, 6.5, 2])
        let model = Sequential { Linear(2, 2); ScaleShift(2) }
        #expect(Set(model.stateDict().keys) == ["0.weight", "0.bias", "1.gain", "1.shift"])
    }

    // MARK: all together

    /// y = 3x - 1 on [-1, 1], learnt by a small network ending in the user's layer, with the
    /// user's optimiser, scheduler and loss through `Trainer.fit`; then a checkpoint of the run
    /// restores into fresh objects and both continue identically.
    // MARK: primitive

    @Test func userPrimitiveComputesDifferentiatesTracesAndLoads() throws {
        let x = Tensor([-2.0, 0.5, 3.0], dtype: .float64)
        let y = Tensor.apply(ScaledSoftsign(scale: 2), [x])
        let expected: [Double] = [-4.0 / 3, 1.0 / 1.5, 6.0 / 4]
        #expect(y.doubles == expected)
        let check = gradCheck([x]) { Tensor.apply(ScaledSoftsign(scale: 2), [$0[0]]).sum() }
        #expect(check.allSatisfy { $0.worstRelativeError < 1e-6 })
        let w = x.requiringGrad()
        Tensor.apply(ScaledSoftsign(scale: 2), [w]).sum().backward()
        let slopes: [Double] = [2.0 / 9, 2.0 / 2.25, 2.0 / 16]
        #expect(w.grad!.doubles == slopes)

        let graph = Graph.trace(inputs: [x]) { xs in [Tensor.apply(ScaledSoftsign(scale: 2), [xs[0]]).exp()] }
        #expect(graph.description.contains("user.scaledSoftsign(%0) {\"scale\":2}"))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("myelin-user-primitive-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try graph.save(to: path)
        PrimitiveRegistry.register(ScaledSoftsign.self)
        let loaded = try Graph.load(path)
        #expect(loaded([x])[0].doubles == graph([x])[0].doubles)

        let unknown = Graph.trace(inputs: [x]) { xs in [Tensor.apply(NeverRegistered(), [xs[0]])] }
        try unknown.save(to: path)
        #expect(throws: GraphError.self) { _ = try Graph.load(path) }
    }

    @Test func trainsATinyModelThroughTheTrainer() throws {
        func make() -> (Module, Lion, WarmupInverseSqrtLR, Trainer) {
            let g = RandomGenerator(seed: 7)
            let model = Sequential { Linear(1, 16, generator: g); Tanh(); Linear(16, 1, generator: g); ScaleShift(1) }
            let opt = Lion(parameters: model.parameters(), options: .init(lr: 0.02))
            let scheduler = WarmupInverseSqrtLR(optimizer: opt, warmup: 3)
            let trainer = Trainer(model: model, optimizer: opt, loss: logCosh, scheduler: scheduler, verbosity: .silent)
            return (model, opt, scheduler, trainer)
        }
        let x = Tensor((0..<64).map { Double($0) / 31.5 - 1 }).reshape([64, 1])
        let y = (x * 3 - 1).reshape([64])
        let data = TensorDataset(inputs: x, targets: y)

        let (model, _, _, trainer) = make()
        let loader = DataLoader(data, batchSize: 16, shuffle: true, seed: 1)
        let history = try trainer.fit(loader, epochs: 12)
        let losses = history["loss"]!
        #expect(losses.last! < 0.05 * losses.first!, "\(losses)")
        #expect(history["lr"]! == (0..<12).map { 0.02 * WarmupInverseSqrtLR.factor($0, warmup: 3) })

        // Capture after 12 epochs, restore into fresh objects, and train both 2 more epochs.
        let checkpoint = try Checkpoint.decode(trainer.checkpoint().encoded())
        #expect(checkpoint.optimizerType == "Lion" && checkpoint.schedulerType == "WarmupInverseSqrtLR")
        let (model2, _, _, trainer2) = make()
        try trainer2.restore(from: checkpoint)
        _ = try trainer.fit(loader, epochs: 14, initialEpoch: 12)
        // The fresh loader's shuffling generator takes the captured state.
        _ = try trainer2.fit(DataLoader(data, batchSize: 16, shuffle: true, seed: 99), epochs: 14)
        #expect(model2.stateDict().mapValues(\.floats) == model.stateDict().mapValues(\.floats))
    }
}
