import MyelinCore
import MyelinNN

/// The objective a `Trainer` minimises: a name (for logs) and a function of the model's outputs and
/// the batch targets that returns a scalar tensor.
///
/// The built-in losses wrap MyelinNN's loss functions with mean reduction and adapt the targets the
/// way a data loader usually delivers them: class labels of any integer or float dtype become
/// int64 (`[batch, 1]` labels are flattened), and regression or binary targets of shape `[batch]`
/// are reshaped to outputs of shape `[batch, 1]` and converted to the outputs' dtype.
///
/// ```swift
/// let trainer = Trainer(model: model, optimizer: opt, loss: .crossEntropy)
/// let smooth = Loss.crossEntropy(labelSmoothing: 0.1)
/// let custom = Loss.custom(name: "hinge") { pred, target in (1 - pred * target).relu().mean() }
/// ```
public struct Loss {
    /// The name used in error messages (the logged key is always "loss").
    public let name: String
    /// Outputs and targets to a scalar loss.
    public let compute: (Tensor, Tensor) -> Tensor
    /// What a batch's mean divides by, from its targets (nil: its examples): the epoch's loss is
    /// the batches' losses weighted by it, so that a loss with ignored labels or class weights
    /// reports its mean over the whole epoch (PyTorch's weighted mean of the full set) whatever
    /// the batch size, and a batch whose labels are all ignored (its mean NaN) counts for nothing.
    public let batchWeight: ((_ targets: Tensor) -> Double)?

    public init(name: String, batchWeight: ((_ targets: Tensor) -> Double)? = nil,
                _ compute: @escaping (_ outputs: Tensor, _ targets: Tensor) -> Tensor) {
        self.name = name
        self.batchWeight = batchWeight
        self.compute = compute
    }

    /// The weight of a batch of `targets` in an epoch's mean loss: `batchWeight`, or its examples.
    public func weight(of targets: Tensor) -> Double {
        if let batchWeight { return batchWeight(targets) }
        return Double(targets.rank > 0 ? targets.shape[0] : 1)
    }

    /// The loss of `outputs` against `targets`.
    public func callAsFunction(_ outputs: Tensor, _ targets: Tensor) -> Tensor {
        let value = compute(outputs, targets)
        require(value.count == 1, "[loss] \(name) must return a scalar, got shape \(value.shape)")
        return value.rank == 0 ? value : value.reshape([])
    }

    /// Cross-entropy of logits `[batch, classes]` against integer class labels `[batch]`
    /// (`torch.nn.CrossEntropyLoss`).
    public static var crossEntropy: Loss { crossEntropy() }

    /// Cross-entropy with class weights, label smoothing or an ignored label. Float targets of the
    /// logits' shape are class probabilities (one-hot rows too), as PyTorch's CrossEntropyLoss takes them.
    public static func crossEntropy(weight: Tensor? = nil, labelSmoothing: Double = 0, ignoreIndex: Int? = nil) -> Loss {
        let classWeights = weight?.doubles
        // The mean's denominator: PyTorch's sum of the weights of the labels not ignored.
        let batchWeight: ((Tensor) -> Double)? = weight == nil && ignoreIndex == nil ? nil : { targets in
            if isProbabilities(targets) { return Double(targets.shape[0]) }
            return classLabels(targets).ints.reduce(0.0) { sum, label in
                if label == ignoreIndex { return sum }
                guard let classWeights else { return sum + 1 }
                return sum + (classWeights.indices.contains(label) ? classWeights[label] : 0)
            }
        }
        return Loss(name: "cross_entropy", batchWeight: batchWeight) { outputs, targets in
            if isProbabilities(targets) && targets.shape == outputs.shape {
                return MyelinNN.crossEntropy(outputs, probabilities: targets.to(outputs.dtype), weight: weight,
                                             labelSmoothing: labelSmoothing)
            }
            return MyelinNN.crossEntropy(outputs, labels: classLabels(targets), weight: weight,
                                         labelSmoothing: labelSmoothing, ignoreIndex: ignoreIndex)
        }
    }

    /// Float targets with a class axis ([batch, classes], classes > 1): probabilities, not labels.
    static func isProbabilities(_ targets: Tensor) -> Bool {
        targets.dtype.isFloatingPoint && targets.rank == 2 && targets.shape[1] > 1
    }

    /// Mean squared error (`torch.nn.MSELoss`).
    public static var mse: Loss {
        Loss(name: "mse") { outputs, targets in mseLoss(outputs, matching(targets, outputs)) }
    }

    /// Mean absolute error (`torch.nn.L1Loss`).
    public static var l1: Loss {
        Loss(name: "l1") { outputs, targets in l1Loss(outputs, matching(targets, outputs)) }
    }

    /// Huber loss (`torch.nn.HuberLoss`).
    public static func huber(delta: Double = 1) -> Loss {
        Loss(name: "huber") { outputs, targets in huberLoss(outputs, matching(targets, outputs), delta: delta) }
    }

    /// Binary cross-entropy of logits against 0/1 targets (`torch.nn.BCEWithLogitsLoss`).
    public static var bceWithLogits: Loss { bceWithLogits() }

    /// Binary cross-entropy of logits with a positive-class weight.
    public static func bceWithLogits(posWeight: Tensor? = nil) -> Loss {
        Loss(name: "bce_with_logits") { outputs, targets in
            binaryCrossEntropyWithLogits(outputs, matching(targets, outputs), posWeight: posWeight)
        }
    }

    /// Binary cross-entropy of probabilities (after a sigmoid) against 0/1 targets (`torch.nn.BCELoss`).
    public static var bce: Loss {
        Loss(name: "bce") { outputs, targets in binaryCrossEntropy(outputs, matching(targets, outputs)) }
    }

    /// Negative log-likelihood of log-probabilities against integer labels (`torch.nn.NLLLoss`).
    public static var nll: Loss {
        Loss(name: "nll") { outputs, targets in nllLoss(outputs, labels: classLabels(targets)) }
    }

    /// Any differentiable function of outputs and targets returning a scalar.
    ///
    /// ```swift
    /// let loss = Loss.custom(name: "weighted_mse") { pred, target in ((pred - target).square() * w).mean() }
    /// ```
    public static func custom(name: String, _ compute: @escaping (_ outputs: Tensor, _ targets: Tensor) -> Tensor) -> Loss {
        Loss(name: name, compute)
    }

    /// Integer class labels as int64 `[batch]` (a `[batch, 1]` column is flattened).
    static func classLabels(_ targets: Tensor) -> Tensor {
        var t = targets
        if t.rank == 2 && t.shape[1] == 1 { t = t.reshape([-1]) }
        return t.dtype == .int64 ? t : t.to(.int64)
    }

    /// Targets in the outputs' dtype, reshaped to the outputs' shape when they hold the same count
    /// (`[batch]` against `[batch, 1]`).
    static func matching(_ targets: Tensor, _ outputs: Tensor) -> Tensor {
        var t = targets
        if t.shape != outputs.shape && t.count == outputs.count { t = t.reshape(outputs.shape) }
        return t.dtype == outputs.dtype ? t : t.to(outputs.dtype)
    }
}
