import Foundation

// The optimiser machinery shared by SGD, Adam, AdamW, Adagrad, Adadelta and RMSProp, and open to
// optimisers written outside the library: the `Optimizer` protocol (what the trainer, schedulers and
// checkpoints use), `GroupedOptimizer` (parameter groups carrying the optimiser's own options type,
// per-parameter state keyed by the Parameter object, state export and import), and the options
// protocol. As in torch.optim, each group holds its own options; unlike PyTorch's dictionaries, the
// options are a struct per optimiser (`SGD.Options`, `Adam.Options`, ...). The updates themselves
// are the in-place tensor operations of MyelinCore's Tensor+Update.swift, which call the backend of
// the parameter's device.

/// The options of one optimiser's parameter groups (`SGD.Options`, `Adam.Options`, ... or your
/// own): a learning rate schedulers can change, the names a checkpoint stores them under, and a
/// check of the values.
///
/// ```swift
/// struct SignSGDOptions: OptimizerOptions {
///     var lr = 0.01
///     static var fields: [OptimizerOption<Self>] { [.number("lr", \.lr)] }
/// }
/// ```
public protocol OptimizerOptions {
    /// The learning rate (schedulers change it).
    var lr: Double { get set }
    /// Every option as a named number, the form `stateDict()` and checkpoints store (PyTorch's
    /// names; booleans as 0 and 1). Include `lr`. The default holds `lr` only.
    static var fields: [OptimizerOption<Self>] { get }
    /// The momentum a one-cycle schedule varies (SGD's and RMSProp's momentum, Adam's beta1), or
    /// nil when these options have none (the default). Setting nil changes nothing.
    var cycledMomentum: Double? { get set }
    /// Why these values are invalid, naming the option and the value (`invalid beta1 1.0 (must be
    /// in 0.0..<1.0)`), or nil. The default accepts everything (the learning rate is checked by
    /// the optimiser).
    func problem() -> String?
}

extension OptimizerOptions {
    public static var fields: [OptimizerOption<Self>] { [.number("lr", \.lr)] }
    public var cycledMomentum: Double? {
        get { nil }
        set {}
    }
    public func problem() -> String? { nil }

    /// A copy with `edit` applied: options for one group that differ from the others in a few values.
    ///
    /// ```swift
    /// let base = SGD.Options(lr: 0.01, momentum: 0.9)
    /// let opt = SGD(groups: [ParameterGroup(body, options: base), ParameterGroup(head, options: base.with { $0.lr = 0.1 })])
    /// ```
    public func with(_ edit: (inout Self) -> Void) -> Self {
        var copy = self
        edit(&copy)
        return copy
    }
}

/// One option as a named number: how `stateDict()` exports it and `load(_:)` puts it back.
///
/// ```swift
/// static var fields: [OptimizerOption<Self>] {
///     [.number("lr", \.lr), .number("beta1", \.betas.0), .flag("nesterov", \.nesterov)]
/// }
/// ```
public struct OptimizerOption<Options> {
    /// The name in the exported state (`groups.<g>.<name>`).
    public let name: String
    let get: (Options) -> Double
    let set: (inout Options, Double) -> Void

    /// A number stored as itself.
    public static func number(_ name: String, _ key: WritableKeyPath<Options, Double>) -> Self {
        Self(name: name, get: { $0[keyPath: key] }, set: { $0[keyPath: key] = $1 })
    }

    /// A flag stored as 0 or 1 (any non-zero value reads back as true).
    public static func flag(_ name: String, _ key: WritableKeyPath<Options, Bool>) -> Self {
        Self(name: name, get: { $0[keyPath: key] ? 1 : 0 }, set: { $0[keyPath: key] = $1 != 0 })
    }
}

/// Parameters that share options inside one optimiser, like a PyTorch param group; the options
/// are the optimiser's own type, and read and written through the group as well
/// (`group.momentum` is `group.options.momentum`).
///
/// ```swift
/// let base = SGD.Options(lr: 0.01, momentum: 0.9)
/// let opt = SGD(groups: [
///     ParameterGroup(body.parameters(), options: base),
///     ParameterGroup(head.parameters(), options: base.with { $0.lr = 0.1; $0.weightDecay = 1e-4 }),
/// ])
/// opt.groups[1].lr = 0.05
/// ```
@dynamicMemberLookup
public struct ParameterGroup<Options: OptimizerOptions> {
    public var parameters: [Parameter]
    /// The options every parameter of the group is updated with.
    public var options: Options
    /// The learning rate before any scheduler changed it: set by the first scheduler attached
    /// (PyTorch's `initial_lr`).
    public var initialLR: Double?

    /// A group of `parameters` updated with `options`.
    public init(_ parameters: [Parameter], options: Options) {
        self.parameters = parameters
        self.options = options
    }

    /// An option of the group, by its name in `Options`.
    public subscript<T>(dynamicMember key: WritableKeyPath<Options, T>) -> T {
        get { options[keyPath: key] }
        set { options[keyPath: key] = newValue }
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
/// try resumed.load(saved)
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

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        dtype = try c.decode(String.self, forKey: .dtype)
        shape = try c.decode([Int].self, forKey: .shape)
        data = try c.decode([Double].self, forKey: .data)
        if DType(rawValue: dtype) == nil {
            throw DecodingError.dataCorruptedError(forKey: .dtype, in: c, debugDescription: "[optimizerState] unknown dtype \(dtype)")
        }
        if shape.contains(where: { $0 < 0 }) || shape.reduce(1, { $0.multipliedReportingOverflow(by: $1).partialValue }) != data.count {
            throw DecodingError.dataCorruptedError(forKey: .data, in: c,
                                                   debugDescription: "[optimizerState] \(data.count) values for shape \(shape)")
        }
    }

    var tensor: Tensor { Tensor(shape: shape, doubles: data, dtype: DType(rawValue: dtype)!) }
}

/// Why an exported state cannot be loaded into an optimiser, on one line with every problem found:
/// `[Adam.load] state.3.exp_avg has shape [4], parameter 3 [4, 2]; group 0 lacks options eps`.
public struct OptimizerStateError: Error, CustomStringConvertible, Sendable {
    /// The operation: `<optimiser class>.load`.
    public let op: String
    /// Every problem, each naming the entry and the numbers.
    public let problems: [String]

    public init(op: String, problems: [String]) {
        self.op = op
        self.problems = problems
    }

    public var description: String { "[\(op)] " + problems.joined(separator: "; ") }
}

/// An optimiser as the trainer, the learning-rate schedulers and checkpoints use it. The built-in
/// optimisers and your own (usually a subclass of `GroupedOptimizer`) conform.
///
/// ```swift
/// let opt: Optimizer = Adam(parameters: model.parameters(), lr: 1e-3)
/// for (x, y) in batches {
///     opt.zeroGrad()
///     let loss = lossFn(model(x), y)
///     loss.backward()
///     opt.step()
/// }
/// ```
public protocol Optimizer: AnyObject {
    /// Every parameter of every group, in order.
    var parameters: [Parameter] { get }
    /// Every group's learning rate, in group order (schedulers set these).
    var learningRates: [Double] { get set }
    /// Every group's rate before any scheduler changed it (PyTorch's `initial_lr`): nil until the
    /// first scheduler attached records it.
    var initialLearningRates: [Double?] { get set }
    /// Every group's momentum a one-cycle schedule varies (`OptimizerOptions.cycledMomentum`), nil
    /// for a group without one. The default has none and ignores writes.
    var momentums: [Double?] { get set }
    /// Clears every parameter's gradient (the default sets each to nil).
    func zeroGrad()
    /// Updates every parameter that has a gradient, in place.
    func step()
    /// The whole state (buffers, step counts and group options) as named tensors and numbers.
    func stateDict() -> OptimizerState
    /// Replaces the state with an exported one, or throws `OptimizerStateError` and changes nothing.
    func load(_ state: OptimizerState) throws
}

extension Optimizer {
    /// The learning rate of the first group; setting it changes the first group only (see
    /// `learningRates` for all groups).
    ///
    /// ```swift
    /// opt.lr = 1e-4
    /// ```
    public var lr: Double {
        get { learningRates[0] }
        set {
            var rates = learningRates
            rates[0] = newValue
            learningRates = rates
        }
    }

    public var momentums: [Double?] {
        get { Array(repeating: nil, count: learningRates.count) }
        set {}
    }

    public func zeroGrad() {
        for p in parameters { p.grad = nil }
    }
}

/// What an optimiser keeps for one parameter: its step count and named buffers (momentum,
/// running averages), created on the parameter's first update.
///
/// ```swift
/// state.step += 1
/// var m = state.takeBuffer("exp_avg")
/// // ... update m and the parameter in place ...
/// state.buffers["exp_avg"] = m
/// ```
public final class ParameterState {
    /// The parameter; holding it keeps its ObjectIdentifier from being reused by a new object.
    public let parameter: Parameter
    /// Updates made so far (the optimiser counts them).
    public var step = 0
    /// The named buffers, each of the parameter's shape and dtype.
    public var buffers: [String: Tensor] = [:]

    public init(_ parameter: Parameter) { self.parameter = parameter }

    /// Removes and returns buffer `name`, so the caller holds its only reference and updates it in
    /// place without a copy (put it back with `buffers[name] = buffer`); a missing buffer comes back
    /// as a new one filled with `fill`, on the parameter's device. A buffer of another dtype than the parameter (the module
    /// was converted with `to(_:)` after some steps) is converted to follow it.
    public func takeBuffer(_ name: String, fill: Double = 0) -> Tensor {
        takeBufferIfPresent(name) ?? Tensor.full(parameter.shape, value: fill, dtype: parameter.dtype).to(device: parameter.value.device)
    }

    /// `takeBuffer` without creating a missing buffer: nil on the parameter's first update.
    public func takeBufferIfPresent(_ name: String) -> Tensor? {
        guard let t = buffers.removeValue(forKey: name) else { return nil }
        return t.dtype == parameter.dtype ? t : t.to(parameter.dtype).contiguous()
    }
}

/// An optimiser over parameter groups, each carrying its `Options`: the base of the built-in
/// optimisers and of your own. It does the bookkeeping (groups, per-parameter state, gradient
/// checks, state export and import); a subclass writes `update`, one parameter's step.
///
/// ```swift
/// final class SignSGD: GroupedOptimizer<SignSGD.Options> {
///     struct Options: OptimizerOptions { var lr = 0.01 }
///     override func update(_ parameter: Parameter, gradient: Tensor, state: ParameterState, options: Options) {
///         parameter.assign(parameter.value - gradient.sign() * options.lr)
///     }
/// }
/// let opt = SignSGD(parameters: model.parameters(), options: .init(lr: 0.01))
/// ```
open class GroupedOptimizer<Options: OptimizerOptions>: Optimizer {
    /// The parameter groups. Changing a group's options (or appending a group) takes effect at
    /// the next `step()`. Values are checked when the optimiser is made and by
    /// `addParameterGroup`; later changes are taken as given (a schedule may, as in PyTorch,
    /// overshoot to a slightly negative rate on its last step).
    public var groups: [ParameterGroup<Options>]
    var state: [ObjectIdentifier: ParameterState] = [:]

    /// An optimiser over `groups`; traps on an empty list, groups with no parameter at all, a
    /// parameter listed twice, or invalid options (with the group's index and the numbers).
    public init(groups: [ParameterGroup<Options>]) {
        self.groups = []
        if groups.isEmpty { fatalError("[\(name)] needs at least one parameter group") }
        if groups.allSatisfy({ $0.parameters.isEmpty }) {
            // As PyTorch refuses it: training would silently change nothing.
            fatalError("[\(name)] got an empty parameter list; a model of Dense layers makes its weights at its first call, "
                       + "so call it once on an example batch (or use Linear) before making the optimiser")
        }
        var seen = Set<ObjectIdentifier>()
        for (gi, g) in groups.enumerated() {
            for p in g.parameters where !seen.insert(ObjectIdentifier(p)).inserted {
                fatalError("[\(name)] a parameter of shape \(p.shape) appears twice (again in group \(gi)); each parameter may be in one group once")
            }
            validate(g.options, index: gi)
        }
        self.groups = groups
    }

    /// An optimiser over one group of parameters.
    ///
    /// ```swift
    /// let opt = SGD(parameters: model.parameters(), options: SGD.Options(lr: 0.1, momentum: 0.9))
    /// ```
    public convenience init(parameters: [Parameter], options: Options) {
        self.init(groups: [ParameterGroup(parameters, options: options)])
    }

    /// Short lower-case name used in error messages (`[adam] ...`).
    var name: String { String(describing: type(of: self)).lowercased() }

    /// The class name used in load errors (`[Adam.load] ...`).
    var typeName: String { String(describing: type(of: self)) }

    // Closures, not key paths: a key path into a generic type is built at run time on every call,
    // which cost more than zeroGrad's work on a small model.
    public var parameters: [Parameter] { groups.flatMap { $0.parameters } }

    public var learningRates: [Double] {
        get { groups.map { $0.options.lr } }
        set {
            if newValue.count != groups.count {
                fatalError("[\(name)] got \(newValue.count) learning rates for \(groups.count) parameter groups")
            }
            for i in groups.indices { groups[i].options.lr = newValue[i] }
        }
    }

    public var initialLearningRates: [Double?] {
        get { groups.map { $0.initialLR } }
        set {
            if newValue.count != groups.count {
                fatalError("[\(name)] got \(newValue.count) initial learning rates for \(groups.count) parameter groups")
            }
            for i in groups.indices { groups[i].initialLR = newValue[i] }
        }
    }

    public var momentums: [Double?] {
        get { groups.map { $0.options.cycledMomentum } }
        set {
            if newValue.count != groups.count {
                fatalError("[\(name)] got \(newValue.count) momentums for \(groups.count) parameter groups")
            }
            for i in groups.indices where newValue[i] != nil { groups[i].options.cycledMomentum = newValue[i] }
        }
    }

    /// Appends a group; traps on invalid options or a parameter already in another group.
    ///
    /// ```swift
    /// opt.addParameterGroup(ParameterGroup(newHead.parameters(), options: opt.groups[0].options))
    /// ```
    public func addParameterGroup(_ group: ParameterGroup<Options>) {
        let existing = Set(parameters.map(ObjectIdentifier.init))
        for p in group.parameters where existing.contains(ObjectIdentifier(p)) {
            fatalError("[\(name)] a parameter of shape \(p.shape) is already in another group")
        }
        validate(group.options, index: groups.count)
        groups.append(group)
    }

    /// The state kept for `parameter`, or nil before its first update.
    public func state(for parameter: Parameter) -> ParameterState? { state[ObjectIdentifier(parameter)] }

    /// Traps unless the options are valid, naming the optimiser, the group and the numbers.
    private func validate(_ o: Options, index: Int) {
        if !(o.lr >= 0) { fatalError("[\(name)] group \(index): invalid learning rate \(o.lr) (must be >= 0)") }
        if let p = o.problem() { fatalError("[\(name)] group \(index): \(p)") }
    }

    /// Updates every parameter that has a gradient (float32 or float64, of the parameter's shape),
    /// in place, through `update`; parameters without one, or without elements, are skipped.
    open func step() {
        withoutGrad {
            for (gi, group) in groups.enumerated() {
                for p in group.parameters {
                    guard let grad = p.grad else { continue }
                    if grad.shape != p.shape {
                        fatalError("[\(name)] group \(gi): gradient of shape \(grad.shape) for a parameter of shape \(p.shape)")
                    }
                    if p.count == 0 { continue }
                    if p.dtype != .float32 && p.dtype != .float64 {
                        fatalError("[\(name)] cannot update a parameter of dtype \(p.dtype); only float32 and float64")
                    }
                    let key = ObjectIdentifier(p)
                    let st: ParameterState
                    if let s = state[key] { st = s } else { st = ParameterState(p); state[key] = st }
                    update(p, gradient: grad, state: st, options: group.options)
                }
            }
        }
    }

    /// One parameter's update, in place (gradients are off): write it with the operations of
    /// Tensor+Update.swift or with `parameter.assign(_:)`. `state` persists between steps.
    open func update(_ parameter: Parameter, gradient: Tensor, state: ParameterState, options: Options) {
        fatalError("[\(name)] update(_:gradient:state:options:) is not implemented")
    }

    // MARK: state export

    /// The whole state: per-parameter buffers and step counts, and every group's options
    /// (learning rates included), as named tensors and numbers.
    ///
    /// ```swift
    /// let checkpoint = try JSONEncoder().encode(opt.stateDict())
    /// ```
    open func stateDict() -> OptimizerState {
        var out = OptimizerState()
        var i = 0
        for (gi, g) in groups.enumerated() {
            for f in Options.fields { out.scalars["groups.\(gi).\(f.name)"] = f.get(g.options) }
            if let v = g.initialLR { out.scalars["groups.\(gi).initial_lr"] = v }
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
    /// order), so the optimiser must hold parameters of the same shapes in the same groups, and
    /// every option of `Options.fields` must be there. Anything that does not fit (group or
    /// parameter counts, option names, key forms, step counts, buffer shapes and dtypes) throws an
    /// `OptimizerStateError` listing every problem, and changes nothing. Tensors are copied on the
    /// next write, so `saved` stays unchanged.
    ///
    /// ```swift
    /// let opt = Adam(parameters: model.parameters())
    /// try opt.load(saved)
    /// ```
    open func load(_ saved: OptimizerState) throws {
        let op = "\(typeName).load"
        let scalars = saved.scalars
        var groupCount = 0
        while scalars["groups.\(groupCount).count"] != nil { groupCount += 1 }
        if groupCount != groups.count {
            throw OptimizerStateError(op: op, problems: ["\(groupCount) parameter groups in the saved state, \(groups.count) in the optimiser"])
        }
        var problems: [String] = []
        let fields = Options.fields, fieldNames = Set(fields.map(\.name))
        var newGroups = groups
        for gi in groups.indices {
            let n = scalars["groups.\(gi).count"]!
            if n != Double(groups[gi].parameters.count) {
                problems.append("group \(gi) has \(integerText(n)) parameters in the saved state, \(groups[gi].parameters.count) in the optimiser")
            }
            let prefix = "groups.\(gi)."
            let saved = Set(scalars.keys.filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) })
                .subtracting(["count", "initial_lr"])
            let unknown = saved.subtracting(fieldNames).sorted(), lacking = fieldNames.subtracting(saved).sorted()
            if !unknown.isEmpty { problems.append("group \(gi) has options this optimiser does not use: \(unknown.joined(separator: ", "))") }
            if !lacking.isEmpty { problems.append("group \(gi) lacks options \(lacking.joined(separator: ", "))") }
            for f in fields { if let v = scalars[prefix + f.name] { f.set(&newGroups[gi].options, v) } }
            newGroups[gi].initialLR = scalars[prefix + "initial_lr"]
        }
        let parameters = self.parameters
        /// The parameter index of a `state.<i>.<rest>` key, if it has that form and `i` is in range.
        func index(_ key: String) -> (Int, String)? {
            let parts = key.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, parts[0] == "state", let i = Int(parts[1]), i >= 0, i < parameters.count,
                  !parts[2].isEmpty else { return nil }
            return (i, String(parts[2]))
        }
        var unexpected: [String] = []
        for key in scalars.keys.sorted() {
            if key.hasPrefix("groups.") {
                let parts = key.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
                if parts.count != 3 || Int(parts[1]).map({ $0 < 0 || $0 >= groupCount }) ?? true { unexpected.append(key) }
            } else if let (i, rest) = index(key), rest == "step" {
                let v = scalars[key]!
                if !(v >= 0 && v <= 9_007_199_254_740_992 && v.rounded() == v) {
                    problems.append("parameter \(i) has a step count of \(v), not a whole number >= 0")
                }
            } else {
                unexpected.append(key)
            }
        }
        var buffers: [(Int, String, Tensor)] = []
        for key in saved.tensors.keys.sorted() {
            guard let (i, buffer) = index(key) else { unexpected.append(key); continue }
            let t = saved.tensors[key]!, p = parameters[i]
            if scalars["state.\(i).step"] == nil { problems.append("\(key) has no step count state.\(i).step") }
            if t.shape != p.shape {
                problems.append("\(key) has shape \(t.shape), parameter \(i) \(p.shape)")
            } else if t.dtype != p.dtype {
                problems.append("\(key) has dtype \(t.dtype), parameter \(i) \(p.dtype)")
            }
            buffers.append((i, buffer, t))
        }
        if !unexpected.isEmpty { problems.append("unexpected entries \(unexpected.sorted().joined(separator: ", "))") }
        if !problems.isEmpty { throw OptimizerStateError(op: op, problems: problems) }
        var byIndex: [Int: ParameterState] = [:]
        for (i, p) in parameters.enumerated() {
            guard let step = scalars["state.\(i).step"] else { continue }
            let st = ParameterState(p)
            st.step = Int(step)
            byIndex[i] = st
        }
        for (i, name, t) in buffers { byIndex[i]!.buffers[name] = t }
        var newState: [ObjectIdentifier: ParameterState] = [:]
        for (i, st) in byIndex { newState[ObjectIdentifier(parameters[i])] = st }
        groups = newGroups
        state = newState
    }
}

/// A count as an integer when it is one (`6`), else as the number it is (`nan`, `2.5`).
func integerText(_ v: Double) -> String {
    v.rounded() == v && v.magnitude < 1e15 ? String(Int(v)) : "\(v)"
}

/// Why `v` is not in `lo..<hi` (or `lo...hi` when `closed`), naming the option; nil when it is.
func rangeProblem(_ v: Double, _ option: String, in lo: Double, _ hi: Double, closed: Bool = false) -> String? {
    v >= lo && (closed ? v <= hi : v < hi) ? nil : "invalid \(option) \(v) (must be in \(lo)\(closed ? "..." : "..<")\(hi))"
}

/// Why `v` is below 0, naming the option; nil when it is not.
func negativeProblem(_ v: Double, _ option: String) -> String? {
    v >= 0 ? nil : "invalid \(option) \(v) (must be >= 0)"
}
