import Foundation

// Restoring a checkpoint into live objects. `Module.loadStateDict`, `LRScheduler.load` and
// `RandomGenerator.restore` trap (or half-apply) on state that does not fit, so those pieces are
// checked here first; `Optimizer.load` checks its own state, throws, and changes nothing when it
// throws. All problems are gathered into one error, and nothing is changed unless every piece fits.

extension Checkpoint {
    /// Puts the checkpoint back into a model, its optimiser, optionally its scheduler, the named
    /// generators and `Random.global`, so training continues exactly where it was captured.
    ///
    /// Strict: the model must have the same parameter and buffer names, shapes and dtypes; the
    /// optimiser must be of the same class with the same groups and parameter shapes; a scheduler
    /// must be passed exactly when one was captured, of the same class; the generator names must
    /// be those captured. Otherwise it throws a `CheckpointError` listing every problem, and changes
    /// nothing. Epoch and step are not applied anywhere: read them from `epoch` and `step`.
    ///
    /// ```swift
    /// let ckpt = try Checkpoint.load(from: "run/last.safetensors")
    /// try ckpt.restore(model: model, optimizer: opt, scheduler: scheduler, generators: ["loader": shuffle])
    /// ```
    public func restore(model: Module, optimizer: Optimizer, scheduler: (any CheckpointableScheduler)? = nil,
                        generators: [String: RandomGenerator] = [:]) throws {
        try restore(model: model, optimizer: optimizer, scheduler: scheduler, generators: generators, global: Random.global)
    }

    /// `restore` with `global` standing in for `Random.global` (see `capture`).
    func restore(model: Module, optimizer: Optimizer, scheduler: (any CheckpointableScheduler)?,
                 generators: [String: RandomGenerator], global: RandomGenerator) throws {
        // The optimiser checks its own state as it loads it (all or nothing); when another piece
        // does not fit, the state it had is put back.
        var optimizerProblems: [String] = []
        var previous: OptimizerState?
        let liveType = Self.typeName(optimizer)
        if liveType != optimizerType {
            optimizerProblems = ["optimizer: the checkpoint holds \(optimizerType) state, the optimiser is \(liveType)"]
        } else {
            let before = optimizer.stateDict()
            do {
                try optimizer.load(optimizerState)
                previous = before
            } catch let e as OptimizerStateError {
                optimizerProblems = e.problems.map { "optimizer: " + $0 }
            }
        }
        let problems = modelProblems(model) + optimizerProblems + schedulerProblems(scheduler, optimizer: optimizer)
            + generatorProblems(generators)
        if !problems.isEmpty {
            if let previous { try optimizer.load(previous) }
            throw CheckpointError(file: nil, problems: problems)
        }
        try model.loadStateDict(modelState, strict: true)
        // The scheduler's load sets the optimiser's rates to its last ones; the optimiser's state
        // is loaded again after it, so every group option is exactly as captured (a rate changed
        // by hand after the scheduler's step included).
        if let scheduler, let s = schedulerState {
            scheduler.load(s)
            try optimizer.load(optimizerState)
            // Unless the scheduler moved its rates on loading (a cosine of another length): those win.
            if let moved = scheduler as? LRScheduler, moved.lastLR != s.lists["last_lr"] { moved.setRates(moved.lastLR) }
        }
        for (name, g) in generators { g.restore(randomStates[name]!) }
        global.restore(globalRandomState)
    }

    func modelProblems(_ model: Module) -> [String] {
        let live = model.stateDict()
        var missing: [String] = [], shapes: [String] = [], dtypes: [String] = []
        for name in live.keys.sorted() {
            let t = live[name]!
            guard let saved = modelState[name] else { missing.append(name); continue }
            if saved.shape != t.shape {
                shapes.append("\(name) (checkpoint \(saved.shape), model \(t.shape))")
            } else if saved.dtype != t.dtype {
                dtypes.append("\(name) (checkpoint \(saved.dtype), model \(t.dtype))")
            }
        }
        let unexpected = modelState.keys.filter { live[$0] == nil }.sorted()
        var out: [String] = []
        if !missing.isEmpty { out.append("model: missing \(missing.joined(separator: ", "))") }
        if !unexpected.isEmpty { out.append("model: unexpected \(unexpected.joined(separator: ", "))") }
        if !shapes.isEmpty { out.append("model: shape mismatch \(shapes.joined(separator: ", "))") }
        if !dtypes.isEmpty { out.append("model: dtype mismatch \(dtypes.joined(separator: ", "))") }
        return out
    }

    /// Checks the scheduler against the captured one: presence, class, optimiser, and the same
    /// scalar and list names and list lengths as the live scheduler's own state.
    func schedulerProblems(_ scheduler: (any CheckpointableScheduler)?, optimizer: Optimizer) -> [String] {
        switch (schedulerState, scheduler) {
        case (nil, nil):
            return []
        case (nil, let live?):
            return ["scheduler: the checkpoint holds no scheduler state, but a \(Self.typeName(live)) was passed"]
        case (_?, nil):
            return ["scheduler: the checkpoint holds \(schedulerType ?? "a scheduler's") state, but no scheduler was passed"]
        case (let saved?, let live?):
            var out: [String] = []
            func add(_ s: String) { out.append("scheduler: " + s) }
            let liveType = Self.typeName(live)
            if live.optimizer !== optimizer { add("the \(liveType) passed drives another optimiser than the one passed") }
            if liveType != schedulerType {
                add("the checkpoint holds \(schedulerType ?? "unnamed") state, the scheduler is \(liveType)")
                return out
            }
            let reference = live.stateDict()
            let scalarKeys = Set(reference.scalars.keys), savedScalars = Set(saved.scalars.keys)
            let listKeys = Set(reference.lists.keys), savedLists = Set(saved.lists.keys)
            // Keys a scheduler added later may be absent from older checkpoints.
            let optional = (live as? LRScheduler)?.laterStateKeys ?? []
            let missing = scalarKeys.subtracting(savedScalars).union(listKeys.subtracting(savedLists)).subtracting(optional).sorted()
            let unexpected = savedScalars.subtracting(scalarKeys).union(savedLists.subtracting(listKeys)).sorted()
            if !missing.isEmpty { add("missing \(missing.joined(separator: ", "))") }
            if !unexpected.isEmpty { add("unexpected \(unexpected.joined(separator: ", "))") }
            for key in listKeys.intersection(savedLists).sorted() where saved.lists[key]!.count != reference.lists[key]!.count {
                add("\(key) has \(saved.lists[key]!.count) values, the scheduler \(reference.lists[key]!.count)")
            }
            // The counters `load` turns into Int, which traps on anything but a whole number.
            for key in ["last_epoch", "step_count", "num_bad_epochs", "cooldown_counter", "t_max"].filter(savedScalars.contains) {
                let v = saved.scalars[key]!
                if !(v.magnitude <= 9_007_199_254_740_992 && v.rounded() == v) { add("\(key) is \(v), not a whole number") }
            }
            return out
        }
    }

    func generatorProblems(_ generators: [String: RandomGenerator]) -> [String] {
        var out: [String] = []
        let missing = randomStates.keys.filter { generators[$0] == nil }.sorted()
        let unexpected = generators.keys.filter { randomStates[$0] == nil }.sorted()
        if !missing.isEmpty { out.append("random: the checkpoint holds generators \(missing.joined(separator: ", ")), which were not passed") }
        if !unexpected.isEmpty { out.append("random: the checkpoint holds no state for generators \(unexpected.joined(separator: ", "))") }
        if let p = Self.generatorStateProblem(globalRandomState) { out.append("random: generator global \(p)") }
        for name in randomStates.keys.sorted() {
            if let p = Self.generatorStateProblem(randomStates[name]!) { out.append("random: generator \(name) \(p)") }
        }
        return out
    }
}
