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

extension RunDescription {
    /// Throws when the parts of a `model.json` (an untrusted file) disagree: scaling of another
    /// width than the model's input, class names of another count than its outputs, a spec that
    /// does not build.
    func checkConsistent(file: String) throws {
        func bad(_ what: String) -> RunError { RunError("\(file) is not a valid run description: \(what)") }
        do { _ = try spec.shapes() } catch { throw bad("\(error)") }
        let features = spec.inputShape.reduce(1) { $0.multipliedReportingOverflow(by: $1).partialValue }
        for (name, s) in [("input", scaling.input), ("target", scaling.target)] {
            guard let s else { continue }
            let width = name == "input" ? features : spec.outputs
            guard s.meanValues.count == s.stdValues.count, s.meanValues.count == width,
                  s.featureShape.reduce(1, { $0.multipliedReportingOverflow(by: $1).partialValue }) == width else {
                throw bad("scaling.\(name) has \(s.meanValues.count) means and \(s.stdValues.count) stds for \(width) values")
            }
        }
        if task == .classification {
            let classes = classNames?.count ?? 0
            guard classes == spec.outputs || (settings.loss == "bce" && classes == 2 && spec.outputs == 1) else {
                throw bad("\(classes) class names for \(spec.outputs) outputs")
            }
        }
        if let schema, schema.featureNames.count != features {
            throw bad("the CSV schema makes \(schema.featureNames.count) features for a model of \(features) inputs")
        }
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
    /// The loss (`TrainSettings.losses`; nil is `auto`). Optional fields decode from run folders
    /// written before they existed.
    public var loss: String?
    /// Write the checkpoint every this many epochs (nil: every epoch); the last epoch always.
    public var checkpointEvery: Int?
    /// Missing CSV cells: nil (impute), `drop` or `error`.
    public var missing: String?
    /// Text feature columns of a CSV: nil (one-hot) or `label`.
    public var categoricalEncoding: String?
    /// Clip the gradients' global 2-norm to this before each step (nil: no clipping).
    public var clipGradNorm: Double?
    /// What the command chose for settings the user did not give (printed, and kept for `summary`).
    public var defaultsNote: String?
    /// True when a catalogue table of pixels (`digits`) is read as images, which `train` chooses for
    /// a network that convolves or pools (nil: read as features, as in runs written before).
    public var images: Bool?

    public init() {}

    public static let optimizers = ["sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta"]
}

extension TrainSettings {
    /// Checks the settings a user typed; throws `RunError` naming the option and the value.
    public func validate() throws {
        func bad(_ option: String, _ rule: String, _ value: Any) -> RunError {
            RunError(op: "train", "--\(option) must be \(rule), got \(value)")
        }
        guard Self.optimizers.contains(optimizer) else {
            throw RunError(op: "train", "unknown --optimizer '\(optimizer)'; expected one of \(Self.optimizers.joined(separator: ", "))")
        }
        guard learningRate.isFinite, learningRate > 0, learningRate <= 100 else { throw bad("lr", "in (0, 100]", learningRate) }
        guard weightDecay.isFinite, weightDecay >= 0, weightDecay <= 100 else { throw bad("weight-decay", "in [0, 100]", weightDecay) }
        guard momentum.isFinite, momentum >= 0, momentum < 1 else { throw bad("momentum", "in [0, 1)", momentum) }
        guard batchSize >= 1, batchSize <= Self.maxBatchSize else { throw bad("batch-size", "between 1 and \(Self.maxBatchSize)", batchSize) }
        guard epochs >= 1, epochs <= Self.maxEpochs else {
            throw RunError(op: "train", "--epochs must be positive and at most \(Self.maxEpochs), got \(epochs)")
        }
        guard validationSplit.isFinite, validationSplit >= 0, validationSplit < 1 else {
            throw bad("validation-split", "in [0, 1)", validationSplit)
        }
        guard testSplit.isFinite, testSplit > 0, testSplit < 1 else { throw bad("test-split", "in (0, 1)", testSplit) }
        guard validationSplit + testSplit < 1 else {
            throw RunError(op: "train", "--test-split \(testSplit) and --validation-split \(validationSplit) leave nothing for training")
        }
        if let patience, patience < 1 || patience > Self.maxEpochs { throw bad("patience", "between 1 and \(Self.maxEpochs)", patience) }
        if let every = checkpointEvery, every < 1 || every > Self.maxEpochs {
            throw bad("checkpoint-every", "between 1 and \(Self.maxEpochs)", every)
        }
        if let clip = clipGradNorm, !(clip.isFinite && clip > 0) { throw bad("clip-grad-norm", "positive", clip) }
        if let loss, !Self.losses.contains(loss) {
            throw RunError(op: "train", "unknown --loss '\(loss)'; expected one of \(Self.losses.joined(separator: ", "))")
        }
    }

    public static let maxBatchSize = 1 << 20
    public static let maxEpochs = 1_000_000
    /// `--loss` values: `auto` (cross-entropy for classes, MSE for values), `ce`, `bce` (two
    /// classes, one sigmoid output), `mse`.
    public static let losses = ["auto", "ce", "bce", "mse"]

    /// The optimiser these settings name, over `parameters`.
    public func makeOptimizer(_ parameters: [Parameter]) -> Optimizer {
        makeOptimizer(groups: [(parameters, learningRate)])
    }

    /// The optimiser these settings name over parameter groups, each with its own learning rate
    /// (PyTorch's param groups); the other options are the settings' for every group.
    ///
    /// ```swift
    /// let opt = settings.makeOptimizer(groups: [(head.parameters(), 1e-2), (top.parameters(), 1e-3)])
    /// ```
    public func makeOptimizer(groups: [(parameters: [Parameter], learningRate: Double)]) -> Optimizer {
        func made<O: OptimizerOptions>(_ options: O) -> [ParameterGroup<O>] {
            groups.map { g in ParameterGroup(g.parameters, options: options.with { $0.lr = g.learningRate }) }
        }
        switch optimizer {
        case "sgd": return SGD(groups: made(SGD.Options(momentum: momentum, weightDecay: weightDecay)))
        case "adamw": return AdamW(groups: made(AdamW.Options(weightDecay: weightDecay == 0 ? 1e-2 : weightDecay)))
        case "rmsprop": return RMSProp(groups: made(RMSProp.Options(weightDecay: weightDecay)))
        case "adagrad": return Adagrad(groups: made(Adagrad.Options(weightDecay: weightDecay)))
        case "adadelta": return Adadelta(groups: made(Adadelta.Options(weightDecay: weightDecay)))
        default: return Adam(groups: made(Adam.Options(weightDecay: weightDecay)))
        }
    }
}
