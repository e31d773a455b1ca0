import Foundation

// The optimiser machinery shared by SGD, Adam, AdamW, Adagrad, Adadelta and RMSProp: parameter
// groups with their own hyperparameters, per-parameter state keyed by the Parameter object, and
// export/import of that state. Each optimiser's update is one fused loop over raw buffers (see the
// Optimizer+*.swift files), following PyTorch's single-tensor (CPU) implementation op for op.

/// Parameters that share hyperparameters inside one optimiser, like a PyTorch param group.
///
/// Options left nil take the optimiser's defaults (its init arguments); an option the optimiser
/// does not use (say `rho` for Adam) traps.
///
/// ```swift
/// let opt = SGD(groups: [
///     ParameterGroup(body.parameters()),
///     ParameterGroup(head.parameters(), lr: 0.1, weightDecay: 1e-4),
/// ], lr: 0.01, momentum: 0.9)
/// ```
public struct ParameterGroup {
    public var parameters: [Parameter]
    /// The learning rate (schedulers change it).
    public var lr: Double?
    /// L2 penalty added to the gradient (SGD, Adam, Adagrad, Adadelta, RMSProp), or the decoupled
    /// decay rate (AdamW).
    public var weightDecay: Double?
    /// Momentum factor (SGD, RMSProp).
    public var momentum: Double?
    /// Dampening of the momentum (SGD).
    public var dampening: Double?
    /// Nesterov momentum (SGD).
    public var nesterov: Bool?
    /// Running-average coefficients of the gradient and its square (Adam, AdamW).
    public var betas: (Double, Double)?
    /// Term added to denominators for numerical stability.
    public var eps: Double?
    /// Keep the maximum of the second-moment averages (Adam, AdamW).
    public var amsgrad: Bool?
    /// Learning-rate decay per step (Adagrad).
    public var lrDecay: Double?
    /// Starting value of the sum of squared gradients (Adagrad).
    public var initialAccumulatorValue: Double?
    /// Running-average coefficient of squared gradients and updates (Adadelta).
    public var rho: Double?
    /// Smoothing constant of the squared-gradient average (RMSProp).
    public var alpha: Double?
    /// Normalise by the centred variance estimate (RMSProp).
    public var centered: Bool?
    /// Ascend instead of descend.
    public var maximize: Bool?
    /// The learning rate before any scheduler changed it: set by the first scheduler attached.
    public var initialLR: Double?

    /// A group of `parameters`; options left nil take the optimiser's defaults.
    public init(_ parameters: [Parameter], lr: Double? = nil, weightDecay: Double? = nil, momentum: Double? = nil,
                dampening: Double? = nil, nesterov: Bool? = nil, betas: (Double, Double)? = nil, eps: Double? = nil,
                amsgrad: Bool? = nil, lrDecay: Double? = nil, initialAccumulatorValue: Double? = nil,
                rho: Double? = nil, alpha: Double? = nil, centered: Bool? = nil, maximize: Bool? = nil) {
        self.parameters = parameters
        self.lr = lr
        self.weightDecay = weightDecay
        self.momentum = momentum
        self.dampening = dampening
        self.nesterov = nesterov
        self.betas = betas
        self.eps = eps
        self.amsgrad = amsgrad
        self.lrDecay = lrDecay
        self.initialAccumulatorValue = initialAccumulatorValue
        self.rho = rho
        self.alpha = alpha
        self.centered = centered
        self.maximize = maximize
    }

    /// The options that are set, under PyTorch's names (booleans as 0 and 1, betas as beta1 and
    /// beta2): the form state export uses.
    public var options: [String: Double] {
        var o: [String: Double] = [:]
        func put(_ k: String, _ v: Double?) { if let v { o[k] = v } }
        func put(_ k: String, _ v: Bool?) { if let v { o[k] = v ? 1 : 0 } }
        put("lr", lr); put("weight_decay", weightDecay); put("momentum", momentum); put("dampening", dampening)
        put("nesterov", nesterov); put("beta1", betas?.0); put("beta2", betas?.1); put("eps", eps)
        put("amsgrad", amsgrad); put("lr_decay", lrDecay); put("initial_accumulator_value", initialAccumulatorValue)
        put("rho", rho); put("alpha", alpha); put("centered", centered); put("maximize", maximize)
        put("initial_lr", initialLR)
        return o
    }

    /// Sets one option by its `options` name.
    mutating func setOption(_ key: String, _ v: Double) {
        switch key {
        case "lr": lr = v
        case "weight_decay": weightDecay = v
        case "momentum": momentum = v
        case "dampening": dampening = v
        case "nesterov": nesterov = v != 0
        case "beta1": betas = (v, betas?.1 ?? 0)
        case "beta2": betas = (betas?.0 ?? 0, v)
        case "eps": eps = v
        case "amsgrad": amsgrad = v != 0
        case "lr_decay": lrDecay = v
        case "initial_accumulator_value": initialAccumulatorValue = v
        case "rho": rho = v
        case "alpha": alpha = v
        case "centered": centered = v != 0
        case "maximize": maximize = v != 0
        case "initial_lr": initialLR = v
        default: fatalError("[parameterGroup] unknown option \(key)")
        }
    }
}

/// An optimiser's whole state as named tensors and numbers, for checkpoints: per-parameter buffers
/// under `state.<i>.<buffer>` and step counts under `state.<i>.step` (parameters numbered across
/// groups in order, as in PyTorch), and each group's options under `groups.<g>.<option>`.
///
/// Tensors encode as dtype, shape and exact values, so a JSON round trip resumes bit for bit
/// (a state holding NaN or infinity needs an encoder with a `nonConformingFloatEncodingStrategy`).
///
/// ```swift
/// let saved = opt.stateDict()
/// let resumed = Adam(parameters: model.parameters())
/// resumed.load(saved)
/// ```
public struct OptimizerState: Codable {
    public var tensors: [String: Tensor]
    public var scalars: [String: Double]

    public init(tensors: [String: Tensor] = [:], scalars: [String: Double] = [:]) {
        self.tensors = tensors
        self.scalars = scalars
    }

    private enum CodingKeys: String, CodingKey { case tensors, scalars }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        tensors = try c.decode([String: CodableTensor].self, forKey: .tensors).mapValues(\.tensor)
        scalars = try c.decode([String: Double].self, forKey: .scalars)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(tensors.mapValues(CodableTensor.init), forKey: .tensors)
        try c.encode(scalars, forKey: .scalars)
    }
}

/// A tensor as dtype, shape and values in row-major order; every float32 and float64 value is a
/// Double exactly, so nothing is lost.
struct CodableTensor: Codable {
    var dtype: String
    var shape: [Int]
    var data: [Double]

    init(_ t: Tensor) {
        dtype = t.dtype.rawValue
        shape = t.shape
        data = t.doubles
    }

    var tensor: Tensor {
        guard let d = DType(rawValue: dtype) else { fatalError("[optimizerState] unknown dtype \(dtype)") }
        return Tensor(shape: shape, doubles: data, dtype: d)
    }
}

/// What an optimiser keeps for one parameter: its step count and named buffers (momentum,
/// running averages), created on the parameter's first update.
final class ParamState {
    /// Holding the parameter keeps its ObjectIdentifier from being reused by a new object.
    let parameter: Parameter
    var step = 0
    var buffers: [String: Tensor] = [:]

    init(_ parameter: Parameter) { self.parameter = parameter }
}

/// IEEE square root (NaN below zero) in a form LLVM vectorises: `squareRoot()` keeps a libm call
/// for negative inputs (to set errno), and that call stops the loop from vectorising. Only -0
/// differs (it gives +0), which the optimisers' `+ eps` or products make irrelevant.
@inline(__always)
func vsqrt<T: FloatElement>(_ x: T) -> T { x < 0 ? .nan : x.magnitude.squareRoot() }

/// Where an optimiser keeps the momentum a one-cycle schedule varies.
enum MomentumOption { case none, momentum, beta1 }

/// The base of Myelin's optimisers: parameter groups, `zeroGrad()`, `step()` and state export.
/// Use a concrete optimiser such as `Adam` or `SGD`.
///
/// ```swift
/// let opt = Adam(parameters: model.parameters(), lr: 1e-3)
/// for (x, y) in batches {
///     opt.zeroGrad()
///     let loss = lossFn(model(x), y)
///     loss.backward()
///     opt.step()
/// }
/// ```
public class Optimizer {
    /// Short lower-case name used in error messages (`[adam] ...`).
    let name: String
    /// Default value of every option this optimiser uses, under `ParameterGroup.options` names.
    let defaults: [String: Double]
    var state: [ObjectIdentifier: ParamState] = [:]

    /// The parameter groups, options filled in from the optimiser's defaults. Changing a group's
    /// options (or appending a group) takes effect at the next `step()`. Values are checked when
    /// the optimiser is made and by `addParameterGroup`; later changes are taken as given (a
    /// schedule may, as in PyTorch, overshoot to a slightly negative rate on its last step).
    public var groups: [ParameterGroup] {
        didSet { groups = groups.enumerated().map { resolve($0.element, index: $0.offset, validating: false) } }
    }

    init(name: String, groups: [ParameterGroup], defaults: [String: Double]) {
        self.name = name
        self.defaults = defaults
        self.groups = []
        if groups.isEmpty { fatalError("[\(name)] needs at least one parameter group") }
        var seen = Set<ObjectIdentifier>()
        for (gi, g) in groups.enumerated() {
            for p in g.parameters where !seen.insert(ObjectIdentifier(p)).inserted {
                fatalError("[\(name)] a parameter of shape \(p.shape) appears twice (again in group \(gi)); each parameter may be in one group once")
            }
        }
        self.groups = groups.enumerated().map { resolve($0.element, index: $0.offset, validating: true) }
    }

    /// The learning rate of the first group; setting it changes the first group only (see
    /// `learningRates` for all groups).
    ///
    /// ```swift
    /// opt.lr = 1e-4
    /// ```
    public var lr: Double {
        get { groups[0].lr! }
        set { groups[0].lr = newValue }
    }

    /// Every group's learning rate, in group order.
    public var learningRates: [Double] {
        get { groups.map { $0.lr! } }
        set {
            if newValue.count != groups.count {
                fatalError("[\(name)] got \(newValue.count) learning rates for \(groups.count) parameter groups")
            }
            // One assignment, so the groups are re-resolved once rather than once per group.
            var updated = groups
            for i in updated.indices { updated[i].lr = newValue[i] }
            groups = updated
        }
    }

    /// Every parameter of every group, in order.
    public var parameters: [Parameter] { groups.flatMap(\.parameters) }

    /// Appends a group (options left nil take this optimiser's defaults).
    public func addParameterGroup(_ group: ParameterGroup) {
        let existing = Set(parameters.map(ObjectIdentifier.init))
        for p in group.parameters where existing.contains(ObjectIdentifier(p)) {
            fatalError("[\(name)] a parameter of shape \(p.shape) is already in another group")
        }
        groups.append(resolve(group, index: groups.count, validating: true))
    }

    /// Clears every parameter's gradient (sets it to nil), before the next backward pass.
    public func zeroGrad() {
        for g in groups { for p in g.parameters { p.grad = nil } }
    }

    /// Updates every parameter that has a gradient, in place; parameters without one are skipped.
    public func step() {
        withoutGrad {
            for (gi, group) in groups.enumerated() {
                for p in group.parameters {
                    guard let grad = p.grad else { continue }
                    if grad.shape != p.shape {
                        fatalError("[\(name)] group \(gi): gradient of shape \(grad.shape) for a parameter of shape \(p.shape)")
                    }
                    if p.count == 0 { continue }
                    let key = ObjectIdentifier(p)
                    let st: ParamState
                    if let s = state[key] { st = s } else { st = ParamState(p); state[key] = st }
                    if p.dtype != .float32 && p.dtype != .float64 {
                        fatalError("[\(name)] cannot update a parameter of dtype \(p.dtype); only float32 and float64")
                    }
                    update(p, grad: grad, state: st, group: group)
                }
            }
        }
    }

    /// The update of one float32 or float64 parameter, written by each optimiser as a fused loop.
    /// Not generic: each optimiser calls its own generic kernel with a concrete element type, so the
    /// loop is specialised rather than dispatched through this method's vtable entry.
    func update(_ p: Parameter, grad: Tensor, state: ParamState, group: ParameterGroup) {
        fatalError("[\(name)] update is not implemented")
    }

    /// Checks one resolved group's options; traps with the optimiser's name and the numbers.
    func validate(_ g: ParameterGroup, index: Int) {}

    /// Where a one-cycle schedule puts the momentum it varies.
    var momentumOption: MomentumOption { .none }

    /// The group with every unset option taken from the defaults; traps on options this
    /// optimiser does not use, and (when `validating`) on values out of range.
    private func resolve(_ g: ParameterGroup, index: Int, validating: Bool) -> ParameterGroup {
        var r = g
        let given = g.options
        for key in given.keys.sorted() where defaults[key] == nil && key != "initial_lr" {
            fatalError("[\(name)] group \(index) sets \(key), which this optimiser does not use (it uses \(defaults.keys.sorted().joined(separator: ", ")))")
        }
        for (k, v) in defaults where given[k] == nil { r.setOption(k, v) }
        if !validating { return r }
        if r.lr! < 0 { fatalError("[\(name)] group \(index): invalid learning rate \(r.lr!) (must be >= 0)") }
        if let wd = r.weightDecay, wd < 0 { fatalError("[\(name)] group \(index): invalid weight decay \(wd) (must be >= 0)") }
        if let e = r.eps, e < 0 { fatalError("[\(name)] group \(index): invalid eps \(e) (must be >= 0)") }
        validate(r, index: index)
        return r
    }

    /// Runs `body` on the parameter's elements, its gradient's and the named state buffers' (made
    /// and filled with `fill` on first use), all contiguous, typed `T` and `count` long.
    ///
    /// The buffers leave the state dictionary during the call so each is uniquely referenced and
    /// written in place, without a copy.
    final func withBuffers<T: FloatElement>(
        _ type: T.Type, _ p: Parameter, grad: Tensor, state: ParamState, names: [String], fill: Double = 0,
        _ body: (_ param: UnsafeMutablePointer<T>, _ grad: UnsafePointer<T>, _ buffers: [UnsafeMutablePointer<T>], _ count: Int) -> Void
    ) {
        // A buffer of another type (the module was converted with `to(_:)` after some steps) follows its parameter.
        var tensors = names.map { name -> Tensor in
            guard let t = state.buffers.removeValue(forKey: name) else { return Tensor.full(p.shape, value: fill, dtype: p.dtype) }
            return t.dtype == p.dtype ? t : t.to(p.dtype).contiguous()
        }
        defer { for (n, t) in zip(names, tensors) { state.buffers[n] = t } }
        let g = grad.dtype == p.dtype ? grad.detached() : grad.detached().to(p.dtype)
        // Read before the exclusive access to p.value below begins.
        let shape = p.shape
        g.withUnsafeBufferPointer(as: T.self) { gp in
            p.value.withUnsafeMutableBufferPointer(as: T.self) { pp in
                var ptrs: [UnsafeMutablePointer<T>] = []
                ptrs.reserveCapacity(names.count)
                // Elements are reached through the array's buffer, so nested mutable accesses to
                // different tensors do not overlap an access to the array itself.
                tensors.withUnsafeMutableBufferPointer { ts in
                    func nest(_ i: Int) {
                        if i == ts.count {
                            // Every optimiser's update is elementwise, so chunks can run on both cores.
                            Threading.parallelFor(pp.count) { lo, hi in
                                body(pp.baseAddress! + lo, gp.baseAddress! + lo, ptrs.map { $0 + lo }, hi - lo)
                            }
                            return
                        }
                        if ts[i].shape != shape {
                            fatalError("[\(name)] state buffer \(names[i]) has shape \(ts[i].shape), its parameter \(shape)")
                        }
                        ts[i].withUnsafeMutableBufferPointer(as: T.self) { b in
                            ptrs.append(b.baseAddress!)
                            nest(i + 1)
                        }
                    }
                    nest(0)
                }
            }
        }
    }

    // MARK: state export

    /// The whole state: per-parameter buffers and step counts, and every group's options
    /// (learning rates included), as named tensors and numbers.
    ///
    /// ```swift
    /// let checkpoint = try JSONEncoder().encode(opt.stateDict())
    /// ```
    public func stateDict() -> OptimizerState {
        var out = OptimizerState()
        var i = 0
        for (gi, g) in groups.enumerated() {
            for (k, v) in g.options { out.scalars["groups.\(gi).\(k)"] = v }
            out.scalars["groups.\(gi).count"] = Double(g.parameters.count)
            for p in g.parameters {
                if let st = state[ObjectIdentifier(p)] {
                    out.scalars["state.\(i).step"] = Double(st.step)
                    for (n, t) in st.buffers { out.tensors["state.\(i).\(n)"] = t }
                }
                i += 1
            }
        }
        return out
    }

    /// Replaces the state with an exported one: parameters are matched by position (groups in
    /// order), so the optimiser must hold parameters of the same shapes in the same groups.
    /// Tensors are copied on the next write, so `saved` stays unchanged.
    ///
    /// ```swift
    /// let opt = Adam(parameters: model.parameters())
    /// opt.load(saved)
    /// ```
    public func load(_ saved: OptimizerState) {
        var groupCount = 0
        while saved.scalars["groups.\(groupCount).count"] != nil { groupCount += 1 }
        if groupCount != groups.count {
            fatalError("[\(name)] saved state has \(groupCount) parameter groups, this optimiser \(groups.count)")
        }
        var newGroups = groups
        var newState: [ObjectIdentifier: ParamState] = [:]
        var i = 0
        for gi in groups.indices {
            let n = Int(saved.scalars["groups.\(gi).count"]!)
            if n != groups[gi].parameters.count {
                fatalError("[\(name)] saved group \(gi) has \(n) parameters, this optimiser's \(groups[gi].parameters.count)")
            }
            let prefix = "groups.\(gi)."
            for (k, v) in saved.scalars where k.hasPrefix(prefix) && k != "groups.\(gi).count" {
                newGroups[gi].setOption(String(k.dropFirst(prefix.count)), v)
            }
            for p in groups[gi].parameters {
                let sp = "state.\(i)."
                let names = saved.tensors.keys.filter { $0.hasPrefix(sp) }
                if let step = saved.scalars["state.\(i).step"] {
                    let st = ParamState(p)
                    st.step = Int(step)
                    for key in names {
                        let t = saved.tensors[key]!
                        if t.shape != p.shape {
                            fatalError("[\(name)] saved \(key) has shape \(t.shape), the parameter \(p.shape)")
                        }
                        st.buffers[String(key.dropFirst(sp.count))] = t.dtype == p.dtype ? t : t.to(p.dtype)
                    }
                    newState[ObjectIdentifier(p)] = st
                } else if !names.isEmpty {
                    fatalError("[\(name)] saved state for parameter \(i) has buffers but no step count")
                }
                i += 1
            }
        }
        groups = newGroups
        state = newState
    }
}

extension Optimizer {
    /// Traps unless `v` lies in `lo..<hi` (or `lo...hi` when `closed`), naming the option.
    final func check(_ v: Double, _ option: String, in lo: Double, _ hi: Double, closed: Bool = false, group: Int) {
        if !(v >= lo && (closed ? v <= hi : v < hi)) {
            fatalError("[\(name)] group \(group): invalid \(option) \(v) (must be in \(lo)\(closed ? "..." : "..<")\(hi))")
        }
    }
}
