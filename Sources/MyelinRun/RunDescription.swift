import MyelinCore
import MyelinNN
import MyelinData

/// What a run folder's `model.json` holds: enough to rebuild the model and prepare new inputs
/// exactly as in training.
public struct RunDescription: Codable, Sendable {
    /// Classification (labels, cross-entropy) or regression (targets, MSE).
    public typealias Task = LearningTask

    /// Bumped when the layout changes incompatibly.
    public var format: Int = 1
    public var task: Task
    public var spec: ModelSpec
    /// Class names in label order (classification).
    public var classNames: [String]?
    /// Column names of the features (CSV data).
    public var featureNames: [String]?
    /// How inputs (and regression targets) are scaled before the model sees them.
    public var scaling: RunData.Scaling
    /// Where the data came from, so `resume` and `evaluate` load it again the same way.
    public var source: DataSource
    /// How a CSV file's columns were encoded (nil for catalogue data sets).
    public var schema: CSVSchema?
    /// The training settings, so `resume` continues with the same ones.
    public var settings: TrainSettings

    public init(task: Task, spec: ModelSpec, classNames: [String]?, featureNames: [String]?, scaling: RunData.Scaling,
                source: DataSource, schema: CSVSchema?, settings: TrainSettings) {
        self.task = task
        self.spec = spec
        self.classNames = classNames
        self.featureNames = featureNames
        self.scaling = scaling
        self.source = source
        self.schema = schema
        self.settings = settings
    }
}

/// The optimisation settings of a run.
public struct TrainSettings: Codable, Sendable, Equatable {
    public var optimizer: String = "adam"
    public var learningRate: Double = 1e-3
    public var weightDecay: Double = 0
    public var momentum: Double = 0.9
    public var batchSize: Int = 128
    public var epochs: Int = 10
    public var seed: UInt64 = 0
    /// Stop after this many epochs without improvement of the validation loss (nil: never).
    public var patience: Int?
    /// Fraction of the training data held out for validation.
    public var validationSplit: Double = 0.1
    /// Fraction held out for testing when the data set has no test part.
    public var testSplit: Double = 0.2
    /// Random shifts/rotations of training images.
    public var augment: Bool = false
    /// Cosine decay of the learning rate over the epochs.
    public var cosine: Bool = false

    public init() {}

    public static let optimizers = ["sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta"]
}

extension TrainSettings {
    /// Checks the settings a user typed; throws `RunError` naming the bad one.
    public func validate() throws {
        guard Self.optimizers.contains(optimizer) else {
            throw RunError("unknown optimizer '\(optimizer)'; expected one of \(Self.optimizers.joined(separator: ", "))")
        }
        guard learningRate > 0, learningRate.isFinite else { throw RunError("learning rate must be positive, got \(learningRate)") }
        guard batchSize > 0 else { throw RunError("batch size must be positive, got \(batchSize)") }
        guard epochs > 0 else { throw RunError("epochs must be positive, got \(epochs)") }
        guard validationSplit >= 0, validationSplit < 1 else { throw RunError("validation split must be in [0, 1), got \(validationSplit)") }
        guard testSplit > 0, testSplit < 1 else { throw RunError("test split must be in (0, 1), got \(testSplit)") }
        if let patience, patience < 1 { throw RunError("patience must be at least 1, got \(patience)") }
    }

    /// The optimiser these settings name, over `parameters`.
    public func makeOptimizer(_ parameters: [Parameter]) -> Optimizer {
        switch optimizer {
        case "sgd": return SGD(parameters: parameters, lr: learningRate, momentum: momentum, weightDecay: weightDecay)
        case "adamw": return AdamW(parameters: parameters, lr: learningRate, weightDecay: weightDecay == 0 ? 1e-2 : weightDecay)
        case "rmsprop": return RMSProp(parameters: parameters, lr: learningRate, weightDecay: weightDecay)
        case "adagrad": return Adagrad(parameters: parameters, lr: learningRate, weightDecay: weightDecay)
        case "adadelta": return Adadelta(parameters: parameters, lr: learningRate, weightDecay: weightDecay)
        default: return Adam(parameters: parameters, lr: learningRate, weightDecay: weightDecay)
        }
    }
}
