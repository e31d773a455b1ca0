// Simplification before fusion: what a traced training step carries that a replay need not
// compute again. A loss traced with its bookkeeping (the mask of ignored labels, its count, the
// scale of the mean) holds values that depend on constants only, selections by an all-true mask, and
// reshapes to the shape a value already has; a 2-64-64-2 MLP's step had 20 such nodes of 55. Each
// rewrite gives the same bits as the node it replaces.

extension Graph {
    /// This graph with nodes that read only literal constants (`Constant.isLiteral`: values the
    /// traced function made, not weights the caller named) computed once (their values become constants),
    /// reshapes and expansions to the shape they read removed, `where` by a constant mask that is all
    /// true (or all false) replaced by the side it selects, and dead nodes dropped.
    ///
    /// ```swift
    /// let lean = Graph.trace(inputs: [x, y]) { [crossEntropy(model($0[0]), labels: $0[1])] }.simplified()
    /// ```
    public func simplified() -> Graph {
        let base = inputs.count + constants.count
        var constants = self.constants
        var literal = [Bool](repeating: false, count: base)
        for (k, c) in constants.enumerated() { literal[inputs.count + k] = c.isLiteral }
        var taken = Set(constants.map(\.name)), next = constants.count
        // Old value number -> value in the new graph: .value(number among inputs and old constants,
        // or a kept node's old number) or a folded constant's index.
        var map = [Int](0..<base)
        var folded: [Int: Tensor] = [:]             // old value number -> its computed value
        var kept: [Node] = []
        var keptOld: [Int] = []                     // old value number of each kept node
        func value(_ v: Int) -> Tensor? {
            if let t = folded[v] { return t }
            return v >= inputs.count && v < base && literal[v] ? constants[v - inputs.count].value : nil
        }
        for (i, n) in nodes.enumerated() {
            let v = base + i
            let ins = n.inputs.map { map[$0] }
            // A node reading literal constants only: computed now.
            // (Small ones only: a folded value is stored with the graph.)
            if !ins.isEmpty, Shape.count(n.type.shape) <= 1 << 16, ins.allSatisfy({ value($0) != nil }) {
                let t = Recording.suspended { n.primitive.forward(ins.map { value($0)! }) }
                if t.shape == n.type.shape, t.dtype == n.type.dtype {
                    folded[v] = t.detached()
                    map.append(v)
                    continue
                }
            }
            // A reshape or expansion to the type it reads is that value.
            if n.primitive is ViewOps.Reshape || n.primitive is ViewOps.Expand, typeOf(ins[0], folded, kept, keptOld) == n.type {
                map.append(ins[0])
                continue
            }
            // where(mask, a, b) with a constant mask that is all true or all false.
            if n.primitive is Gathering.Where, let mask = value(ins[0]), mask.dtype == .bool {
                let flags = mask.scalars(as: Bool.self)
                let side = flags.allSatisfy { $0 } ? ins[1] : flags.allSatisfy { !$0 } ? ins[2] : nil
                if let side, typeOf(side, folded, kept, keptOld) == n.type {
                    map.append(side)
                    continue
                }
            }
            kept.append(Node(primitive: n.primitive, inputs: ins, type: n.type))
            keptOld.append(v)
            map.append(v)
        }
        // Number the new graph: inputs, old constants, folded constants (literals named on from the
        // old ones), then the kept nodes; dead ones go in `withoutDeadNodes`.
        var renumber: [Int: Int] = [:]
        for v in 0..<base { renumber[v] = v }
        for v in folded.keys.sorted() {
            renumber[v] = inputs.count + constants.count
            while taken.contains("c\(next)") { next += 1 }
            taken.insert("c\(next)")
            constants.append(Constant(name: "c\(next)", value: folded[v]!, isLiteral: true))
        }
        let nodeBase = inputs.count + constants.count
        for (k, old) in keptOld.enumerated() { renumber[old] = nodeBase + k }
        let nodes = kept.map { Node(primitive: $0.primitive, inputs: $0.inputs.map { renumber[$0]! }, type: $0.type) }
        let g = Graph(inputs: inputs, constants: constants, nodes: nodes, outputs: outputs.map { renumber[map[$0]]! })
        return g.withoutDeadNodes()
    }

    /// The type of old value `v` while simplifying (an input, a constant, a folded or a kept node).
    private func typeOf(_ v: Int, _ folded: [Int: Tensor], _ kept: [Node], _ keptOld: [Int]) -> ValueType {
        if let t = folded[v] { return ValueType(shape: t.shape, dtype: t.dtype) }
        if v < inputs.count + constants.count { return valueType(v) }
        return nodes[v - inputs.count - constants.count].type
    }
}
