import Myelin

// Extensions written the way a user of the library writes them: `import Myelin` only, no
// @testable, nothing but public API. Each is one of the library's open extension points.

/// A user-written optimiser: Lion (Chen et al., 2023), the sign of an interpolated momentum.
/// `update` uses plain tensor ops and `Parameter.assign`; its options type names its fields
/// for checkpoints, and beta1 is the momentum a one-cycle schedule would vary.
final class Lion: GroupedOptimizer<Lion.Options> {
    struct Options: OptimizerOptions {
        var lr = 1e-4
        var betas = (0.9, 0.99)
        var weightDecay = 0.0

        static var fields: [OptimizerOption<Options>] {
            [.number("lr", \.lr), .number("beta1", \.betas.0), .number("beta2", \.betas.1), .number("weight_decay", \.weightDecay)]
        }

        var cycledMomentum: Double? {
            get { betas.0 }
            set { if let v = newValue { betas.0 = v } }
        }

        func problem() -> String? {
            betas.0 >= 0 && betas.0 < 1 && betas.1 >= 0 && betas.1 < 1 ? nil : "invalid betas \(betas) (each must be in 0..<1)"
        }
    }

    override func update(_ parameter: Parameter, gradient: Tensor, state: ParameterState, options o: Options) {
        state.step += 1
        let m = state.takeBuffer("exp_avg")
        let c = m * o.betas.0 + gradient * (1 - o.betas.0)
        var p = parameter.value
        if o.weightDecay != 0 { p = p * (1 - o.lr * o.weightDecay) }
        parameter.assign(p - c.sign() * o.lr)
        state.buffers["exp_avg"] = m * o.betas.1 + gradient * (1 - o.betas.1)
    }
}

/// A user-written scheduler: linear warm-up over `warmup` epochs, then decay with the inverse
/// square root of the epoch (the Transformer schedule, normalised to peak at the base rate).
final class WarmupInverseSqrtLR: LRScheduler {
    let warmup: Int

    init(optimizer: Optimizer, warmup: Int) {
        self.warmup = warmup
        super.init(name: "WarmupInverseSqrtLR", optimizer: optimizer)
    }

    /// The factor of the base rate at `epoch`.
    static func factor(_ epoch: Int, warmup: Int) -> Double {
        let e = Double(epoch + 1), w = Double(warmup)
        return min(e / w, (w / e).squareRoot())
    }

    override func computeLRs() -> [Double] {
        baseLRs.map { $0 * Self.factor(lastEpoch, warmup: warmup) }
    }
}

/// A user-written loss: log-cosh, mean over elements (`log((e^d + e^-d) / 2)` for `d = output - target`);
/// targets of shape `[batch]` are matched to outputs of shape `[batch, 1]`.
/// (Computed: `Loss` holds a plain closure and is not `Sendable`, so Swift 6 refuses it as a global `let`.)
var logCosh: Loss {
    Loss(name: "log_cosh") { outputs, targets in
        let d = outputs - targets.reshape(outputs.shape)
        return ((d.exp() + (-d).exp()) * 0.5).log().mean()
    }
}

/// A user-written layer: a learnable gain and shift per feature. Its parameters are found by
/// reflection (no registration), under the property names.
final class ScaleShift: Module {
    let gain: Parameter
    let shift: Parameter

    init(_ features: Int) {
        gain = Parameter(Tensor.ones([features]))
        shift = Parameter(Tensor.zeros([features]))
    }

    override func forward(_ x: Tensor) -> Tensor { x * gain.value + shift.value }
}

/// A user-written primitive: softsign with a scale, x · s / (1 + |x|), its forward and its vjp
/// side by side, the scale an attribute (Codable), and a shape rule so loaded graphs are checked.
struct ScaledSoftsign: Primitive {
    static let name = "user.scaledSoftsign"
    let scale: Double
    func forward(_ x: [Tensor]) -> Tensor { x[0] * scale / (x[0].abs() + 1) }
    func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] {
        let d = x[0].abs() + 1
        return [g * scale / (d * d)]
    }
    func outputType(_ inputs: [Graph.ValueType]) throws -> Graph.ValueType? {
        guard inputs.count == 1, inputs[0].dtype.isFloatingPoint else { throw GraphError(reason: "scaledSoftsign takes one float input") }
        return inputs[0]
    }
}

/// The same op under a name no one registers, to see a graph that needs it refused.
struct NeverRegistered: Primitive {
    static let name = "user.neverRegistered"
    func forward(_ x: [Tensor]) -> Tensor { x[0] + 0 }
    func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] { [g] }
}
