// Looking at the recorded graph: as indented text and as Graphviz DOT.

extension Tensor {
    /// The graph that computed this tensor, one line per op, inputs indented below it.
    ///
    /// ```
    /// sum [] 
    ///   relu [16, 16]
    ///     matmul [16, 16]
    ///       x (leaf, requires grad) [16, 16]
    ///       w (leaf, requires grad) [16, 16]
    /// ```
    public func graphDescription() -> String {
        guard let root = gradState else { return "constant \(shape) (no graph)" }
        var lines: [String] = []
        var seen: [ObjectIdentifier: Int] = [:]
        func visit(_ state: GradState, _ shape: [Int], _ depth: Int) {
            let pad = String(repeating: "  ", count: depth)
            let id = ObjectIdentifier(state)
            if let n = seen[id] {
                lines.append("\(pad)(see #\(n)) \(label(state)) \(shape)")
                return
            }
            seen[id] = seen.count + 1
            lines.append("\(pad)#\(seen[id]!) \(label(state)) \(shape)")
            guard let node = state.node else { return }
            for (input, s) in zip(node.inputs, node.inputShapes) {
                if let input { visit(input, s, depth + 1) } else { lines.append("\(pad)  constant \(s)") }
            }
        }
        visit(root, shape, 0)
        return lines.joined(separator: "\n")
    }

    /// The graph in Graphviz DOT: ops as boxes, leaves as ellipses, edges labelled with shapes.
    /// Render with `dot -Tsvg graph.dot -o graph.svg`.
    public func graphDOT() -> String {
        guard let root = gradState else { return "digraph G {\n}\n" }
        var ids: [ObjectIdentifier: Int] = [:]
        var out = "digraph G {\n  rankdir=BT;\n  node [fontname=\"Helvetica\"];\n"
        var queue: [(GradState, [Int])] = [(root, shape)]
        func id(_ s: GradState) -> Int {
            if let i = ids[ObjectIdentifier(s)] { return i }
            ids[ObjectIdentifier(s)] = ids.count
            return ids.count - 1
        }
        var emitted = Set<ObjectIdentifier>()
        while let (state, shape) = queue.popLast() {
            if !emitted.insert(ObjectIdentifier(state)).inserted { continue }
            let me = id(state)
            let style = state.isLeaf ? "shape=ellipse, style=filled, fillcolor=\"#dbeafe\"" : "shape=box"
            out += "  n\(me) [label=\"\(label(state))\\n\(shape)\", \(style)];\n"
            guard let node = state.node else { continue }
            for (k, (input, s)) in zip(node.inputs, node.inputShapes).enumerated() {
                if let input {
                    out += "  n\(id(input)) -> n\(me) [label=\"\(s)\"];\n"
                    queue.append((input, s))
                } else {
                    out += "  c\(me)_\(k) [label=\"constant\\n\(s)\", shape=plaintext];\n  c\(me)_\(k) -> n\(me);\n"
                }
            }
        }
        return out + "}\n"
    }

    private func label(_ s: GradState) -> String {
        if let node = s.node { return s.name.map { "\($0) = \(node.op)" } ?? node.op }
        return (s.name ?? "leaf") + " (leaf, requires grad)"
    }
}
