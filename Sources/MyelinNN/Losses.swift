import MyelinCore

// Loss functions with PyTorch's semantics and numbers (torch.nn.functional). Each computes the
// per-element loss from differentiable core ops and then reduces it, so gradients reach every
// floating-point argument (targets included) without gradient code; only binaryCrossEntropy has a
// hand-written backward, PyTorch's, which stays finite where a probability is exactly 0 or 1.
//
// One deliberate difference: where PyTorch broadcasts an input against a target of another shape
// (with a warning, as in mse_loss), these functions trap, since that is almost always a bug
// (an [N, 1] prediction against an [N] target silently becomes an [N, N] loss).

/// How a loss combines its per-element values into the result.
public enum Reduction: Sendable {
    /// No reduction: the loss of every element (or sample), in the input's shape.
    case none
    /// The average (for class losses with weights: the weighted average, as PyTorch).
    case mean
    /// The total.
    case sum
}

/// How `klDivergence` combines its per-element values (PyTorch's `kl_div` reductions).
public enum KLReduction: Sendable {
    /// No reduction: the pointwise terms, in the input's shape.
    case none
    /// The average over every element (PyTorch's default; not the KL divergence of the distributions).
    case mean
    /// The total divided by the batch size (the first dimension): the mathematical KL divergence per sample.
    case batchMean
    /// The total.
    case sum
}

extension Reduction {
    /// The per-element losses reduced.
    func reduce(_ loss: Tensor) -> Tensor {
        switch self {
        case .none: return loss
        case .mean: return loss.mean()
        case .sum: return loss.sum()
        }
    }
}

/// Traps unless `a` and `b` have the same shape.
private func checkSameShape(_ op: String, _ a: Tensor, _ aName: String, _ b: Tensor, _ bName: String) {
    if a.shape != b.shape {
        fatalError("[\(op)] \(aName) has shape \(a.shape) but \(bName) has shape \(b.shape); they must match")
    }
}

// MARK: Regression

/// Mean squared error: (input - target)², reduced.
///
/// ```swift
/// mseLoss(Tensor([1.0, 2.0]), Tensor([1.0, 4.0]))   // 2.0
/// ```
public func mseLoss(_ input: Tensor, _ target: Tensor, reduction: Reduction = .mean) -> Tensor {
    checkSameShape("mseLoss", input, "input", target, "target")
    return reduction.reduce((input - target).square())
}

/// Mean absolute error: |input - target|, reduced (the gradient at 0 is 0, as in PyTorch).
///
/// ```swift
/// l1Loss(Tensor([1.0, 2.0]), Tensor([0.0, 4.0]))   // 1.5
/// ```
public func l1Loss(_ input: Tensor, _ target: Tensor, reduction: Reduction = .mean) -> Tensor {
    checkSameShape("l1Loss", input, "input", target, "target")
    return reduction.reduce((input - target).abs())
}

/// Huber loss: ½d² where |d| < delta, else delta · (|d| - ½delta), with d = input - target.
///
/// ```swift
/// huberLoss(Tensor([0.5, 3.0]), Tensor([0.0, 0.0]))   // (0.125 + 2.5) / 2 = 1.3125
/// ```
public func huberLoss(_ input: Tensor, _ target: Tensor, delta: Double = 1, reduction: Reduction = .mean) -> Tensor {
    checkSameShape("huberLoss", input, "input", target, "target")
    if !(delta > 0) { fatalError("[huberLoss] delta must be positive, got \(delta)") }
    let d = input - target, a = d.abs()
    return reduction.reduce(Tensor.where(a .< delta, d.square() * 0.5, (a - 0.5 * delta) * delta))
}

/// Smooth L1 loss: ½d²/beta where |d| < beta, else |d| - ½beta (Huber divided by beta; L1 for beta 0).
///
/// ```swift
/// smoothL1Loss(Tensor([0.5, 3.0]), Tensor([0.0, 0.0]))   // (0.125 + 2.5) / 2 = 1.3125
/// ```
public func smoothL1Loss(_ input: Tensor, _ target: Tensor, beta: Double = 1, reduction: Reduction = .mean) -> Tensor {
    checkSameShape("smoothL1Loss", input, "input", target, "target")
    if !(beta >= 0) { fatalError("[smoothL1Loss] beta must be non-negative, got \(beta)") }
    // The quadratic branch would divide by zero, and `where` would turn 0 · inf into NaN gradients.
    if beta == 0 { return l1Loss(input, target, reduction: reduction) }
    let d = input - target, a = d.abs()
    return reduction.reduce(Tensor.where(a .< beta, d.square() * (0.5 / beta), a - 0.5 * beta))
}

// MARK: Binary classification

/// Binary cross-entropy of probabilities: -w (t log p + (1 - t) log(1 - p)), each log clamped to ≥ -100.
///
/// As in PyTorch, the logs are clamped so that p = 0 or 1 gives a finite loss, and the gradient
/// (p - t) / max(p (1 - p), 1e-12) stays finite there. Probabilities outside [0, 1] trap.
///
/// ```swift
/// binaryCrossEntropy(Tensor([0.9, 0.2]), Tensor([1.0, 0.0]))   // 0.1643
/// ```
public func binaryCrossEntropy(_ probabilities: Tensor, _ target: Tensor, weight: Tensor? = nil,
                               reduction: Reduction = .mean) -> Tensor {
    let op = "binaryCrossEntropy"
    checkSameShape(op, probabilities, "probabilities", target, "target")
    let inRange = withoutGrad { ((probabilities .>= 0) .& (probabilities .<= 1)).all().item(as: Bool.self) }
    if !inRange {
        let bad = probabilities.doubles.first { !($0 >= 0 && $0 <= 1) }!
        fatalError("[\(op)] probabilities must lie in [0, 1]; got \(bad)")
    }
    // Same dtype for both, so the hand-written gradients have their inputs' dtypes.
    var dtype = DType.promote(probabilities.dtype, target.dtype)
    if !dtype.isFloatingPoint { dtype = .float32 }
    let p = probabilities.to(dtype), t = target.to(dtype)
    _ = BinaryCrossEntropy.registered
    var loss = Tensor.apply(BinaryCrossEntropy(), [p, t])
    if let weight { loss = loss * weight }
    return reduction.reduce(loss)
}

/// Binary cross-entropy of logits, -w [c t log σ(x) + (1 - t) log(1 - σ(x))], stable for any x.
///
/// `posWeight` (c, broadcast against the logits, typically one value per class) weighs the positive
/// term, trading recall against precision; `weight` rescales each element's loss.
/// Computed as (1 - t) x - (1 + (c - 1) t) log σ(x), as PyTorch does, so logits of ±100 and beyond
/// give exact losses and gradients σ(x) - t.
///
/// ```swift
/// binaryCrossEntropyWithLogits(Tensor([100.0, -2.0]), Tensor([1.0, 0.0]))   // 0.0635
/// ```
public func binaryCrossEntropyWithLogits(_ logits: Tensor, _ target: Tensor, weight: Tensor? = nil,
                                         posWeight: Tensor? = nil, reduction: Reduction = .mean) -> Tensor {
    checkSameShape("binaryCrossEntropyWithLogits", logits, "logits", target, "target")
    var logSigmoid = logits.logSigmoid()
    if let posWeight { logSigmoid = logSigmoid * ((posWeight - 1) * target + 1) }
    var loss = (1 - target) * logits - logSigmoid
    if let weight { loss = loss * weight }
    return reduction.reduce(loss)
}

// MARK: Multi-class classification

/// Cross-entropy of unnormalised logits against integer class labels: logSoftmax, then `nllLoss`.
///
/// `logits` is [N, C], [N, C, d1, ...] (one label per position, as for segmentation) or [C] with a
/// 0-d label. `weight` ([C]) weighs each class; `.mean` then divides by the total weight of the
/// labels that are not `ignoreIndex`, as PyTorch does. `labelSmoothing` ε mixes the one-hot target
/// with the uniform distribution: the loss becomes (1 - ε) · nll + ε/C · Σ_c -w_c log p_c.
/// Labels outside 0..<C (other than `ignoreIndex`) trap.
///
/// ```swift
/// let logits = Tensor([[2.0, 0.5, -1.0], [0.0, 1.0, 0.0]])
/// crossEntropy(logits, labels: Tensor([0, 1]))                       // 0.3964
/// crossEntropy(logits, labels: Tensor([0, -1]), ignoreIndex: -1)    // 0.2413, the first row only
/// ```
public func crossEntropy(_ logits: Tensor, labels: Tensor, weight: Tensor? = nil, labelSmoothing: Double = 0,
                         ignoreIndex: Int? = nil, reduction: Reduction = .mean) -> Tensor {
    let op = "crossEntropy"
    if !(labelSmoothing >= 0 && labelSmoothing <= 1) {
        fatalError("[\(op)] labelSmoothing must lie in [0, 1], got \(labelSmoothing)")
    }
    if logits.rank == 0 { fatalError("[\(op)] logits must have a class axis, got a 0-d tensor") }
    let logProbabilities = logits.logSoftmax(axis: logits.rank == 1 ? 0 : 1)
    return classLoss(op, logProbabilities, labels: labels, weight: weight, labelSmoothing: labelSmoothing,
                     ignoreIndex: ignoreIndex, reduction: reduction)
}

/// Negative log-likelihood of log-probabilities (e.g. from `logSoftmax`) at integer class labels:
/// -w[y] · logp[y], with `crossEntropy`'s shapes, class weights, `ignoreIndex` and weighted mean.
///
/// ```swift
/// let logp = Tensor([[-0.1, -2.4], [-1.2, -0.4]])
/// nllLoss(logp, labels: Tensor([0, 1]))   // 0.25
/// ```
public func nllLoss(_ logProbabilities: Tensor, labels: Tensor, weight: Tensor? = nil, ignoreIndex: Int? = nil,
                    reduction: Reduction = .mean) -> Tensor {
    if logProbabilities.rank == 0 { fatalError("[nllLoss] log-probabilities must have a class axis, got a 0-d tensor") }
    return classLoss("nllLoss", logProbabilities, labels: labels, weight: weight, labelSmoothing: 0,
                     ignoreIndex: ignoreIndex, reduction: reduction)
}

/// The shared body of crossEntropy and nllLoss, from log-probabilities with the classes on axis 1
/// (axis 0 when unbatched).
private func classLoss(_ op: String, _ logProbabilities: Tensor, labels: Tensor, weight: Tensor?, labelSmoothing: Double,
                       ignoreIndex: Int?, reduction: Reduction) -> Tensor {
    if !labels.dtype.isInteger {
        fatalError("[\(op)] labels must be int32 or int64 class indices, got \(labels.dtype)")
    }
    // Unbatched input ([C] with a 0-d label) runs as a batch of one.
    let unbatched = logProbabilities.rank == 1
    let logp = unbatched ? logProbabilities.unsqueezed(axis: 0) : logProbabilities
    let y = (unbatched && labels.rank == 0 ? labels.reshape([1]) : labels).to(.int64)
    let classes = logp.shape[1]
    checkLabelShape(op, labels: labels, logits: logProbabilities)
    if let weight, weight.shape != [classes] {
        fatalError("[\(op)] weight has shape \(weight.shape) but there are \(classes) classes; it needs shape [\(classes)]")
    }
    for (i, label) in y.ints.enumerated() where label != ignoreIndex && !(0..<classes).contains(label) {
        fatalError("[\(op)] label \(label) at position \(i) is out of range for \(classes) classes (0..<\(classes))")
    }

    // Which positions count, their labels (0 where ignored, so gather stays in range) and weights.
    let keep = ignoreIndex.map { y .!= Tensor(scalar: Int64($0)) } ?? Tensor.ones(y.shape, dtype: .bool)
    let safeLabels = Tensor.where(keep, y, 0)
    let labelWeight: Tensor
    if let weight {
        let picked = weight.indexSelect(axis: 0, indices: safeLabels.flattened()).reshape(y.shape)
        labelWeight = Tensor.where(keep, picked, 0)
    } else {
        labelWeight = keep.to(logp.dtype)
    }

    let picked = logp.gather(axis: 1, index: safeLabels.unsqueezed(axis: 1)).squeezed(axis: 1)
    // `where` rather than a product with the zero weight, so an ignored -inf gives 0, not NaN.
    var loss = Tensor.where(keep, -picked * labelWeight, 0)
    if labelSmoothing > 0 {
        var weighted = logp
        if let weight {
            var classShape = [Int](repeating: 1, count: logp.rank)
            classShape[1] = classes
            weighted = logp * weight.reshape(classShape)
        }
        let smooth = Tensor.where(keep, -weighted.sum(axis: 1), 0)
        loss = loss * (1 - labelSmoothing) + smooth * (labelSmoothing / Double(classes))
    }
    switch reduction {
    case .none: return unbatched ? loss.reshape([]) : loss
    case .sum: return loss.sum()
    // The weighted mean; without weights the weights are 1 per kept label, so this is the plain
    // mean over the labels that are not ignored (NaN when all are, as in PyTorch).
    case .mean: return loss.sum() / labelWeight.sum()
    }
}

/// Traps unless labels fit log-probabilities of shape [N, C, d1, ...] ([N, d1, ...]) or [C] (a 0-d label).
private func checkLabelShape(_ op: String, labels: Tensor, logits: Tensor) {
    if logits.rank == 1 {
        if labels.rank != 0 {
            fatalError("[\(op)] unbatched logits of shape \(logits.shape) need a 0-d label, but labels have shape \(labels.shape)")
        }
        return
    }
    let expected = [logits.shape[0]] + Array(logits.shape[2...])
    if labels.shape == expected { return }
    if labels.rank == expected.count && Array(labels.shape.dropFirst()) == Array(expected.dropFirst()) {
        fatalError("[\(op)] labels have shape \(labels.shape) but logits have \(logits.shape[0]) rows")
    }
    fatalError("[\(op)] labels have shape \(labels.shape) but logits of shape \(logits.shape) need labels of shape \(expected)")
}

/// Cross-entropy of logits against class probabilities ("soft labels", e.g. from mixup or distillation):
/// Σ_c -w_c q_c log softmax(x)_c per sample.
///
/// `probabilities` has the logits' shape ([N, C], [N, C, d1, ...] or [C]); `labelSmoothing` ε first
/// replaces q by (1 - ε) q + ε/C. `.mean` divides by the number of samples (N · d1 · ...), with or
/// without `weight`, as PyTorch does for probability targets.
///
/// ```swift
/// let logits = Tensor([[2.0, 0.5, -1.0]])
/// crossEntropy(logits, probabilities: Tensor([[0.8, 0.2, 0.0]]))   // 0.5413
/// ```
public func crossEntropy(_ logits: Tensor, probabilities: Tensor, weight: Tensor? = nil, labelSmoothing: Double = 0,
                         reduction: Reduction = .mean) -> Tensor {
    let op = "crossEntropy"
    if !(labelSmoothing >= 0 && labelSmoothing <= 1) {
        fatalError("[\(op)] labelSmoothing must lie in [0, 1], got \(labelSmoothing)")
    }
    if logits.rank == 0 { fatalError("[\(op)] logits must have a class axis, got a 0-d tensor") }
    checkSameShape(op, probabilities, "probabilities", logits, "logits")
    let classAxis = logits.rank == 1 ? 0 : 1
    let classes = logits.shape[classAxis]
    var q = probabilities
    if labelSmoothing > 0 { q = q * (1 - labelSmoothing) + labelSmoothing / Double(classes) }
    var terms = logits.logSoftmax(axis: classAxis) * q
    if let weight {
        if weight.shape != [classes] {
            fatalError("[\(op)] weight has shape \(weight.shape) but there are \(classes) classes; it needs shape [\(classes)]")
        }
        var classShape = [Int](repeating: 1, count: logits.rank)
        classShape[classAxis] = classes
        terms = terms * weight.reshape(classShape)
    }
    let loss = -terms.sum(axis: classAxis)
    return reduction.reduce(loss)
}

// MARK: Distributions

/// Pointwise Kullback-Leibler divergence terms t (log t - input) of log-probabilities `input`
/// from target probabilities t (or log-probabilities, with `logTarget`), as PyTorch's `kl_div`.
///
/// Terms where t = 0 are 0 (0 log 0 = 0). `.batchMean` gives KL(target ‖ exp(input)) per sample;
/// `.mean`, the default as in PyTorch, averages over every element instead.
///
/// ```swift
/// let logq = Tensor([[0.25, 0.75]]).log()
/// klDivergence(logq, Tensor([[0.5, 0.5]]), reduction: .batchMean)   // 0.1438
/// ```
public func klDivergence(_ input: Tensor, _ target: Tensor, logTarget: Bool = false,
                         reduction: KLReduction = .mean) -> Tensor {
    checkSameShape("klDivergence", input, "input", target, "target")
    let terms: Tensor
    if logTarget {
        terms = target.exp() * (target - input)
    } else {
        // xlogy(t, t): log is taken of 1 where t = 0, so neither value nor gradient is NaN there.
        let isZero = target .== 0
        let tLogT = Tensor.where(isZero, 0, target * Tensor.where(isZero, 1, target).log())
        terms = tLogT - target * input
    }
    switch reduction {
    case .none: return terms
    case .mean: return terms.mean()
    case .sum: return terms.sum()
    case .batchMean: return input.rank == 0 ? terms.sum() : terms.sum() / Double(input.shape[0])
    }
}

/// Elementwise binary cross-entropy as one primitive, for PyTorch's gradient at the clamped logs:
/// (p - t) / max(p (1 - p), 1e-12) stays finite at p = 0 and 1, where the composed ops' would be 0.
struct BinaryCrossEntropy: Primitive {
    static let name = "nn.binaryCrossEntropy"
    /// Registered the first time the loss runs, so graphs that use it load in this process.
    static let registered: Void = PrimitiveRegistry.register(BinaryCrossEntropy.self)
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        guard x.count == 2, x[0] == x[1], x[0].dtype.isFloatingPoint else {
            throw GraphError(reason: "nn.binaryCrossEntropy takes probabilities and targets of one float type, got \(x)")
        }
        return x[0]
    }
    func forward(_ x: [Tensor]) -> Tensor {
        let p = x[0], t = x[1]
        let logP = p.log().clamp(min: -100), log1mP = (-p).log1p().clamp(min: -100)
        return (t - 1) * log1mP - t * logP
    }
    func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] {
        let p = x[0], t = x[1]
        let dp = g * (p - t) / (p * (1 - p)).clamp(min: 1e-12)
        let dt = -g * (p / (1 - p)).log()   // -logit(p), unclamped as in PyTorch
        return [dp, dt]
    }
}
