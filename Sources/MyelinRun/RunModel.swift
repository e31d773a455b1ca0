import MyelinCore
import MyelinData
import MyelinNN
import MyelinTrain

/// A run's model with its optimiser, scheduler and trainer, built from a description: the same
/// code builds them for `train` and for `resume`, so a resumed run continues the same training.
public final class RunModel {
    public let description: RunDescription
    public let model: Sequential
    public let optimizer: Optimizer
    public let scheduler: LRScheduler?
    /// The generator the weights were drawn from, which the dropout layers go on drawing from.
    public let generator: RandomGenerator

    /// Builds the network with its seeded initial weights and a fresh optimiser; `normalization`
    /// builds its `bn` layers (see `ModelSpec.build`).
    public init(_ description: RunDescription, normalization: ((_ features: Int, _ images: Bool) -> Module)? = nil) throws {
        self.description = description
        let settings = description.settings
        generator = RandomGenerator(seed: settings.seed)
        model = try description.spec.build(generator: generator, normalization: normalization)
        optimizer = settings.makeOptimizer(model.parameters())
        scheduler = settings.cosine ? CosineAnnealingLR(optimizer: optimizer, tMax: settings.epochs) : nil
    }

    /// Builds the network and loads `weights` (a `.safetensors` state dict), strictly.
    public convenience init(_ description: RunDescription, weights: String) throws {
        try self.init(description)
        do {
            _ = try model.load(from: weights, strict: true)
        } catch {
            throw RunError("cannot load weights \(weights) into the model of model.json: \(error)")
        }
        model.eval()
    }

    /// Whether the network has one output, a logit of the second class (`--loss bce`).
    public var binaryLogit: Bool { description.settings.loss == "bce" }

    public var loss: Loss {
        if binaryLogit { return .bceWithLogits }
        return description.task == .classification ? .crossEntropy : .mse
    }

    public var metrics: [Metric] { description.task == .classification ? [Accuracy()] : [MAE()] }

    /// Predicted classes (classification) or values in the target's units (regression) for
    /// inputs already scaled, with class probabilities when classifying.
    public func predict(_ scaledInputs: Tensor) -> (values: Tensor, probabilities: Tensor?) {
        let out = model.predict(scaledInputs, batchSize: 1000)
        switch description.task {
        case .classification:
            if binaryLogit {
                let p = out.sigmoid()
                return ((out .> 0).to(.int64).reshape([-1]), Tensor.cat([1 - p, p], axis: 1))
            }
            return (out.argmax(axis: 1), out.softmax(axis: 1))
        case .regression: return (description.scaling.targetsBack(out), nil)
        }
    }
}
