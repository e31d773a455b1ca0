// The helpers of the primitives' shape rules (`outputType`, written beside each primitive): what a
// forward would return for inputs of these types, or a thrown error where it would trap. A loaded
// graph is checked with them before it runs, so a malformed file is an error, never a crash.

/// A broken shape rule, explained in one line.
struct ShapeRuleError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

enum ShapeRules {
    typealias T = Graph.ValueType

    /// Checks node `node` against its declared output type.
    static func check(_ p: any Primitive, _ inputs: [T], _ declared: T, node: Int) throws {
        do {
            guard let t = try p.outputType(inputs) else { return }
            if t != declared {
                throw ShapeRuleError("gives \(t) for inputs \(inputs), but the file says \(declared)")
            }
        } catch let e as ShapeRuleError {
            throw GraphError(reason: "node \(node) (\(p.name)): \(e.message)")
        }
    }

    static func arity(_ x: [T], _ n: ClosedRange<Int>, _ what: String = "inputs") throws {
        if !n.contains(x.count) { throw ShapeRuleError("takes \(n.lowerBound == n.upperBound ? "\(n.lowerBound)" : "\(n.lowerBound) to \(n.upperBound)") \(what), got \(x.count)") }
    }

    static func broadcast(_ a: [Int], _ b: [Int]) throws -> [Int] {
        guard let s = Shape.broadcast(a, b) else { throw ShapeRuleError("cannot broadcast \(a) with \(b)") }
        return s
    }

    static func axis(_ a: Int, rank: Int) throws -> Int {
        let r = Swift.max(rank, 1)
        if a < -r || a >= r { throw ShapeRuleError("axis \(a) is out of range for rank \(rank)") }
        return a < 0 ? a + r : a
    }

    static func axes(_ axes: [Int]?, rank: Int) throws -> [Int] {
        guard let axes else { return Array(0..<rank) }
        let resolved = try axes.map { try axis($0, rank: rank) }
        if Set(resolved).count != resolved.count { throw ShapeRuleError("axes \(axes) repeat an axis") }
        return resolved.sorted()
    }

    static func reduced(_ shape: [Int], _ axes: [Int]?, keepDims: Bool) throws -> [Int] {
        let ax = try self.axes(axes, rank: shape.count)
        if shape.isEmpty { return [] }
        var out: [Int] = []
        for (i, d) in shape.enumerated() {
            if ax.contains(i) { if keepDims { out.append(1) } } else { out.append(d) }
        }
        return out
    }

    static func float(_ t: T, _ what: String = "input") throws {
        if !t.dtype.isFloatingPoint { throw ShapeRuleError("needs a float32 or float64 \(what), got \(t.dtype)") }
    }

    static func integer(_ t: T, _ what: String) throws {
        if t.dtype != .int32 && t.dtype != .int64 { throw ShapeRuleError("\(what) must be int32 or int64, got \(t.dtype)") }
    }

    static func rank(_ t: T, _ r: Int, _ what: String) throws {
        if t.shape.count != r { throw ShapeRuleError("\(what) must have rank \(r), got \(t.shape)") }
    }
}

extension Primitive {
    /// No rule: a loaded graph trusts the types its file gives this primitive's nodes.
    public func outputType(_ inputs: [Graph.ValueType]) throws -> Graph.ValueType? { nil }
}
