import Synchronization

// The user-facing side of autograd: requiresGrad, grad, backward, hooks.

extension Tensor {
    /// Whether gradients flow to this tensor. Setting it on a tensor makes it a leaf of the graph
    /// whose `.grad` `backward()` fills; only floating-point tensors can require gradients.
    ///
    /// ```swift
    /// var w = Tensor.randn([3, 2])
    /// w.requiresGrad = true
    /// let loss = (x.matmul(w)).square().mean()
    /// loss.backward()
    /// print(w.grad!)
    /// ```
    public var requiresGrad: Bool {
        get { gradState?.requiresGrad ?? false }
        set {
            if newValue {
                if !dtype.isFloatingPoint {
                    fatalError("[requiresGrad] only floating-point tensors can require gradients; this one is \(dtype)")
                }
                if gradState?.requiresGrad != true { gradState = GradState(node: nil) }
            } else {
                if let s = gradState, !s.isLeaf {
                    fatalError("[requiresGrad] cannot turn off gradients of a non-leaf tensor (made by \(s.node!.op)); use detached()")
                }
                gradState = nil
            }
        }
    }

    /// This tensor as a leaf that requires gradients (a new autograd identity, same memory).
    ///
    /// ```swift
    /// let w = Tensor.randn([784, 10]).requiringGrad()
    /// ```
    public func requiringGrad(_ flag: Bool = true) -> Tensor {
        var t = detached()
        t.requiresGrad = flag
        return t
    }

    /// The gradient accumulated by `backward()` (leaves, and non-leaves after `retainGrad()`).
    /// Set it to nil to reset before the next backward pass.
    public var grad: Tensor? {
        get { gradState?.grad }
        nonmutating set {
            guard let s = gradState else {
                if newValue != nil { fatalError("[grad] this tensor does not require gradients; set requiresGrad first") }
                return
            }
            s.grad = newValue
        }
    }

    /// Clears the accumulated gradient (`grad = nil`).
    public func zeroGrad() { gradState?.grad = nil }

    /// True for tensors not computed by a recorded op: created ones and those that require gradients directly.
    public var isLeaf: Bool { gradState?.isLeaf ?? true }

    /// The name of the op that computed this tensor in the graph (nil for leaves).
    public var gradFunctionName: String? { gradState?.node?.op }

    /// Keeps this non-leaf tensor's gradient in `.grad` during `backward()` (leaves always keep theirs).
    public func retainGrad() {
        guard let s = gradState, s.requiresGrad else {
            fatalError("[retainGrad] this tensor does not require gradients")
        }
        s.retainsGrad = true
    }

    /// Registers a closure that sees this tensor's gradient during `backward()` and may return a
    /// replacement (nil keeps it). Hooks run in the order they were added.
    ///
    /// ```swift
    /// hidden.registerHook { g in print("grad norm", g.norm().item()); return nil }
    /// ```
    public func registerHook(_ hook: @escaping (Tensor) -> Tensor?) {
        guard let s = gradState, s.requiresGrad else {
            fatalError("[registerHook] this tensor does not require gradients")
        }
        s.hooks.append(hook)
    }

    /// A name shown for this tensor in graph descriptions.
    public var gradName: String? {
        get { gradState?.name }
        nonmutating set { gradState?.name = newValue }
    }

    /// Back-propagates from this scalar: fills `.grad` of every leaf it depends on with d(self)/d(leaf).
    ///
    /// The graph is freed afterwards unless `retainGraph`; with `createGraph` the backward pass is
    /// itself recorded, so the gradients can be differentiated again.
    public func backward(retainGraph: Bool = false, createGraph: Bool = false) {
        if count != 1 {
            fatalError("[backward] needs a single-element tensor, got shape \(shape); pass gradient: for other shapes")
        }
        backward(gradient: Tensor.ones(shape, dtype: dtype), retainGraph: retainGraph, createGraph: createGraph)
    }

    /// Back-propagates with an explicit upstream gradient of this tensor's shape (a vector-Jacobian product).
    public func backward(gradient: Tensor, retainGraph: Bool = false, createGraph: Bool = false) {
        guard let root = gradState, root.requiresGrad else {
            if let op = gradState?.nonDifferentiableOp {
                fatalError("[backward] no gradient flows through \(op): it is not differentiable")
            }
            fatalError("[backward] this tensor does not require gradients: no input of its computation has requiresGrad set")
        }
        if gradient.shape != shape {
            fatalError("[backward] gradient shape \(gradient.shape) does not match the tensor's shape \(shape)")
        }
        Autograd.run(roots: [root], gradients: [gradient.to(dtype)], retainGraph: retainGraph, createGraph: createGraph)
    }
}

/// The backward engine.
enum Autograd {
    /// Walks the graph from `roots` in reverse topological order, sending each gradient through its
    /// node's vjp. Leaf gradients accumulate into `.grad`; when `targets` is given, their gradients
    /// are returned instead and no `.grad` is touched (the functional `grad(of:)`).
    @discardableResult
    static func run(roots: [GradState], gradients: [Tensor], retainGraph: Bool, createGraph: Bool,
                    targets: [GradState]? = nil) -> [Tensor?] {
        var slots: [ObjectIdentifier: Int] = [:]
        for (i, t) in (targets ?? []).enumerated() { slots[ObjectIdentifier(t)] = i }
        var results = [Tensor?](repeating: nil, count: targets?.count ?? 0)
        let order = topologicalOrder(roots)
        for (r, g) in zip(roots, gradients) { r.pending = r.pending.map { $0 + g } ?? g }
        let saved = GradMode.enabled
        GradMode.enabled = createGraph
        defer { GradMode.enabled = saved }
        for state in order {
            guard var g = state.pending else { continue }
            state.pending = nil
            if !createGraph { g = g.detached() }
            for hook in state.hooks {
                if let replaced = hook(g) { g = replaced }
            }
            if targets != nil {
                if let slot = slots[ObjectIdentifier(state)] { results[slot] = g }
            } else if state.isLeaf {
                state.grad = state.grad.map { $0 + g } ?? g
            } else if state.retainsGrad {
                state.grad = g
            }
            guard let node = state.node else { continue }
            var y = node.savedOutput
            if createGraph { y?.gradState = state }
            let inputGrads = node.vjp(g, output: y)
            for (input, ig) in zip(node.inputs, inputGrads) {
                guard let input, let ig else { continue }
                input.pending = input.pending.map { $0 + ig } ?? ig
            }
            if !retainGraph {
                node.saved = nil
                node.savedOutput = nil
            }
        }
        return results
    }

    /// States reachable from `roots`, each after every state that depends on it (iterative DFS, so
    /// deep graphs such as long recurrent unrolls don't overflow the stack).
    /// Numbers backward passes, so each marks the states it visits without a hash set.
    private static let passCounter = Atomic<Int>(0)

    static func topologicalOrder(_ roots: [GradState]) -> [GradState] {
        let mark = passCounter.add(1, ordering: .relaxed).newValue
        var postorder: [GradState] = []
        var stack: [(GradState, Int)] = []
        for root in roots where root.visitMark != mark {
            root.visitMark = mark
            stack.append((root, 0))
            while let (state, next) = stack.last {
                let inputs = state.node?.inputs ?? []
                var i = next
                var descended = false
                while i < inputs.count {
                    let child = inputs[i]
                    i += 1
                    if let child, child.visitMark != mark {
                        child.visitMark = mark
                        stack[stack.count - 1].1 = i
                        stack.append((child, 0))
                        descended = true
                        break
                    }
                }
                if !descended {
                    stack.removeLast()
                    postorder.append(state)
                }
            }
        }
        return postorder.reversed()
    }
}

