// Each primitive's output shape and dtype rule: what its forward would return for inputs of these
// types, or a thrown GraphError where its forward would trap. A loaded graph is checked with these
// before it runs, so a malformed file is an error, never a crash.

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

// MARK: Elementwise

extension Elementwise.FloatUnary {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 1...1)
        return .init(shape: x[0].shape, dtype: x[0].dtype.isFloatingPoint ? x[0].dtype : .float32)
    }
}

extension Elementwise.NumericUnary {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 1...1)
        return .init(shape: x[0].shape, dtype: x[0].dtype == .bool ? .int64 : x[0].dtype)
    }
}

extension Elementwise.NumericBinary {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 2...2)
        return .init(shape: try ShapeRules.broadcast(x[0].shape, x[1].shape), dtype: Tensor.arithmeticDType(x[0].dtype, x[1].dtype))
    }
}

extension Elementwise.FloatBinary {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 2...2)
        let d = DType.promote(x[0].dtype, x[1].dtype)
        return .init(shape: try ShapeRules.broadcast(x[0].shape, x[1].shape), dtype: d.isFloatingPoint ? d : .float32)
    }
}

extension Elementwise.Compare {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 2...2)
        return .init(shape: try ShapeRules.broadcast(x[0].shape, x[1].shape), dtype: .bool)
    }
}

extension Elementwise.Logical {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 2...2)
        return .init(shape: try ShapeRules.broadcast(x[0].shape, x[1].shape), dtype: .bool)
    }
}

extension Elementwise.LogicalNot {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 1...1)
        return .init(shape: x[0].shape, dtype: .bool)
    }
}

// MARK: Views

extension ViewOps.Reshape {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 1...1)
        var target = shape
        let n = Shape.count(x[0].shape)
        let unknown = target.indices.filter { target[$0] == -1 }
        if unknown.count > 1 || target.contains(where: { $0 < -1 }) { throw ShapeRuleError("invalid target shape \(shape)") }
        if let u = unknown.first {
            let known = target.enumerated().filter { $0.offset != u }.reduce(1) { $0 * $1.element }
            if known == 0 || n % known != 0 { throw ShapeRuleError("cannot reshape \(n) elements into \(shape)") }
            target[u] = n / known
        }
        if Shape.count(target) != n { throw ShapeRuleError("cannot reshape \(n) elements into \(shape)") }
        return .init(shape: target, dtype: x[0].dtype)
    }
}

extension ViewOps.Permute {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 1...1)
        let r = x[0].shape.count
        if axes.count != r || Set(axes) != Set(0..<r) { throw ShapeRuleError("\(axes) is not a permutation of 0..<\(r)") }
        return .init(shape: axes.map { x[0].shape[$0] }, dtype: x[0].dtype)
    }
}

extension ViewOps.Squeeze {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 1...1)
        var s = x[0].shape
        if let axis {
            if s.isEmpty { throw ShapeRuleError("cannot squeeze axis \(axis) of a 0-d value") }
            let a = try ShapeRules.axis(axis, rank: s.count)
            if s[a] == 1 { s.remove(at: a) }
        } else {
            s.removeAll { $0 == 1 }
        }
        return .init(shape: s, dtype: x[0].dtype)
    }
}

extension ViewOps.Unsqueeze {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 1...1)
        var s = x[0].shape
        s.insert(1, at: try ShapeRules.axis(axis, rank: s.count + 1))
        return .init(shape: s, dtype: x[0].dtype)
    }
}

extension ViewOps.Expand {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 1...1)
        let s = x[0].shape
        if shape.count < s.count || shape.contains(where: { $0 < -1 }) { throw ShapeRuleError("cannot expand \(s) to \(shape)") }
        let lead = shape.count - s.count
        var t = shape
        for i in 0..<lead where t[i] < 0 { throw ShapeRuleError("cannot expand \(s) to \(shape)") }
        for i in 0..<s.count {
            if t[lead + i] == -1 { t[lead + i] = s[i] }
            if s[i] != 1 && s[i] != t[lead + i] { throw ShapeRuleError("cannot expand \(s) to \(shape)") }
        }
        return .init(shape: t, dtype: x[0].dtype)
    }
}

extension ViewOps.Copy {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 1...1)
        return x[0]
    }
}

extension Convert {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 1...1)
        return .init(shape: x[0].shape, dtype: dtype)
    }
}

extension Flip {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 1...1)
        _ = try ShapeRules.axes(axes, rank: x[0].shape.count)
        return x[0]
    }
}

extension ConstantPad {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 1...1)
        let s = x[0].shape
        if before.count != s.count || after.count != s.count || (before + after).contains(where: { $0 < 0 }) {
            throw ShapeRuleError("needs one non-negative (before, after) pair per axis of \(s), got \(before) and \(after)")
        }
        return .init(shape: s.indices.map { s[$0] + before[$0] + after[$0] }, dtype: x[0].dtype)
    }
}

extension Join {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        if x.isEmpty { throw ShapeRuleError("needs at least one input") }
        let parts = x.filter { !($0.shape.count == 1 && $0.shape[0] == 0) }
        let first = parts.first ?? x[0]
        if first.shape.isEmpty { throw ShapeRuleError("cannot join 0-d values") }
        let ax = try ShapeRules.axis(axis, rank: first.shape.count)
        var dtype = first.dtype, total = 0
        for t in parts.isEmpty ? [x[0]] : parts {
            if t.shape.count != first.shape.count { throw ShapeRuleError("inputs have ranks \(first.shape) and \(t.shape)") }
            for d in 0..<t.shape.count where d != ax && t.shape[d] != first.shape[d] {
                throw ShapeRuleError("inputs \(first.shape) and \(t.shape) differ off axis \(ax)")
            }
            dtype = DType.promote(dtype, t.dtype)
            total += t.shape[ax]
        }
        var s = first.shape
        s[ax] = total
        return .init(shape: s, dtype: dtype)
    }
}

// MARK: Reductions

extension Reductions.Sum {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 1...1)
        return .init(shape: try ShapeRules.reduced(x[0].shape, axes, keepDims: keepDims),
                     dtype: x[0].dtype.isFloatingPoint ? x[0].dtype : .int64)
    }
}

extension Reductions.Prod {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 1...1)
        return .init(shape: try ShapeRules.reduced(x[0].shape, axes, keepDims: keepDims),
                     dtype: x[0].dtype.isFloatingPoint ? x[0].dtype : .int64)
    }
}

extension Reductions.Extremum {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 1...1)
        let ax = try ShapeRules.axes(axes, rank: x[0].shape.count)
        if Shape.count(x[0].shape) == 0 && (ax.contains { x[0].shape[$0] == 0 } || x[0].shape.isEmpty) {
            throw ShapeRuleError("cannot reduce an empty value of shape \(x[0].shape)")
        }
        return .init(shape: try ShapeRules.reduced(x[0].shape, axes, keepDims: keepDims), dtype: x[0].dtype)
    }
}

extension Reductions.Cumsum {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 1...1)
        _ = try ShapeRules.axis(axis, rank: x[0].shape.count)
        return .init(shape: x[0].shape, dtype: x[0].dtype.isFloatingPoint ? x[0].dtype : .int64)
    }
}

extension Reductions.ArgExtremum {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 1...1)
        let s = x[0].shape
        guard let axis else {
            if Shape.count(s) == 0 { throw ShapeRuleError("cannot take \(name) of an empty value") }
            return .init(shape: keepDims ? [Int](repeating: 1, count: s.count) : [], dtype: .int64)
        }
        let a = try ShapeRules.axis(axis, rank: s.count)
        if s.isEmpty { return .init(shape: [], dtype: .int64) }
        if s[a] == 0 { throw ShapeRuleError("cannot take \(name) of an empty axis") }
        return .init(shape: try ShapeRules.reduced(s, [a], keepDims: keepDims), dtype: .int64)
    }
}

extension SortIndices {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 1...1)
        var s = x[0].shape
        if s.isEmpty {
            if let k, k != 1 { throw ShapeRuleError("k \(k) is out of range for a 0-d value") }
            return .init(shape: [], dtype: .int64)
        }
        let a = try ShapeRules.axis(axis, rank: s.count)
        if let k {
            if k < 0 || k > s[a] { throw ShapeRuleError("k \(k) is out of range for an axis of size \(s[a])") }
            s[a] = k
        }
        return .init(shape: s, dtype: .int64)
    }
}

// MARK: Products

extension LinearAlgebra.Matmul {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 2...2)
        let a = x[0].shape, b = x[1].shape
        if a.isEmpty || b.isEmpty { throw ShapeRuleError("both operands need a dimension, got \(a) and \(b)") }
        let a2 = a.count == 1 ? [1] + a : a, b2 = b.count == 1 ? b + [1] : b
        if a2[a2.count - 1] != b2[b2.count - 2] { throw ShapeRuleError("cannot multiply \(a) by \(b)") }
        var out = try ShapeRules.broadcast(Array(a2.dropLast(2)), Array(b2.dropLast(2))) + [a2[a2.count - 2], b2[b2.count - 1]]
        if a.count == 1 { out.remove(at: out.count - 2) }
        if b.count == 1 { out.removeLast() }
        return .init(shape: out, dtype: Tensor.arithmeticDType(x[0].dtype, x[1].dtype))
    }
}

extension LinearAlgebra.Linear {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 2...3)
        let input = x[0].shape, w = x[1].shape
        guard w.count == 2, !input.isEmpty, input[input.count - 1] == w[1] else {
            throw ShapeRuleError("cannot apply a weight of shape \(w) to an input of shape \(input)")
        }
        if x.count == 3 && x[2].shape != [w[0]] { throw ShapeRuleError("bias \(x[2].shape) does not match \(w[0]) outputs") }
        var d = Tensor.arithmeticDType(x[0].dtype, x[1].dtype)
        if x.count == 3 { d = Tensor.arithmeticDType(d, x[2].dtype) }
        return .init(shape: Array(input.dropLast()) + [w[0]], dtype: d)
    }
}

// MARK: Convolution and pooling

extension ConvGeometry {
    /// The geometry is usable: positive sizes, channels divisible by the groups (the kernels check
    /// every read against the input's bounds, so paddings and output sizes cannot read outside).
    func validate() throws {
        if [c, h, w, o, kh, kw, strideH, strideW, dilationH, dilationW, groups, oh, ow].contains(where: { $0 < 1 }) || n < 0 {
            throw ShapeRuleError("invalid convolution geometry \(self)")
        }
        if c % groups != 0 || o % groups != 0 { throw ShapeRuleError("channels \(c) and \(o) are not divisible by groups \(groups)") }
        if Swift.abs(padTop) > 1 << 20 || Swift.abs(padLeft) > 1 << 20 { throw ShapeRuleError("padding out of range") }
    }
}

extension Convolution.Forward {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 2...3)
        try geometry.validate()
        try ShapeRules.float(x[0])
        let g = geometry.batch(x[0].shape.first ?? 0)
        if x[0].shape != g.inputShape || x[1].shape != g.weightShape || x.contains(where: { $0.dtype != x[0].dtype }) {
            throw ShapeRuleError("inputs \(x) do not fit the geometry (input \(g.inputShape), weight \(g.weightShape))")
        }
        if x.count == 3 && x[2].shape != [g.o] { throw ShapeRuleError("bias must be [\(g.o)], got \(x[2].shape)") }
        return .init(shape: g.outputShape, dtype: x[0].dtype)
    }
}

extension Convolution.InputGrad {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 2...2)
        try geometry.validate()
        try ShapeRules.float(x[0])
        let g = geometry.batch(x[0].shape.first ?? 0)
        if x[0].shape != g.outputShape || x[1].shape != g.weightShape || x[1].dtype != x[0].dtype {
            throw ShapeRuleError("inputs \(x) do not fit the geometry (gradient \(g.outputShape), weight \(g.weightShape))")
        }
        return .init(shape: g.inputShape, dtype: x[0].dtype)
    }
}

extension Convolution.WeightGrad {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 2...2)
        try geometry.validate()
        try ShapeRules.float(x[0])
        let g = geometry.batch(x[0].shape.first ?? 0)
        if x[0].shape != g.inputShape || x[1].shape != g.outputShape || x[1].dtype != x[0].dtype {
            throw ShapeRuleError("inputs \(x) do not fit the geometry (input \(g.inputShape), gradient \(g.outputShape))")
        }
        return .init(shape: g.weightShape, dtype: x[0].dtype)
    }
}

extension PoolSpec {
    /// The pooled size of a [N, C, H, W] input, throwing where the pooling ops trap.
    func checkedOutputShape(_ s: [Int]) throws -> [Int] {
        if s.count != 4 { throw ShapeRuleError("input must be [N, C, H, W], got \(s)") }
        switch self {
        case let .sliding(kernel, stride, padding, _):
            if kernel.height < 1 || kernel.width < 1 || stride.height < 1 || stride.width < 1 || padding.height < 0
                || padding.width < 0 || 2 * padding.height > kernel.height || 2 * padding.width > kernel.width
                || s[2] + 2 * padding.height < kernel.height || s[3] + 2 * padding.width < kernel.width {
                throw ShapeRuleError("pooling \(self) does not fit an input of shape \(s)")
            }
        case let .adaptive(out):
            if out.height < 1 || out.width < 1 { throw ShapeRuleError("output size must be positive, got \(out)") }
        }
        let g = geometry("pool", s)
        return [s[0], s[1], g.oh, g.ow]
    }
}

extension Pooling.MaxIndex {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 1...1)
        try ShapeRules.float(x[0])
        return .init(shape: try spec.checkedOutputShape(x[0].shape), dtype: .int32)
    }
}

extension Pooling.MaxGather {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 2...2)
        try ShapeRules.float(x[0])
        try ShapeRules.rank(x[0], 4, "input")
        if x[1].dtype != .int32 || x[1].shape.count != 4 || Array(x[1].shape.prefix(2)) != Array(x[0].shape.prefix(2)) {
            throw ShapeRuleError("positions \(x[1]) do not fit input \(x[0])")
        }
        return .init(shape: x[1].shape, dtype: x[0].dtype)
    }
}

extension Pooling.MaxScatter {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 2...2)
        try ShapeRules.float(x[0])
        if inputShape.count != 4 || inputShape.contains(where: { $0 < 0 }) || x[1].shape != x[0].shape || x[1].dtype != .int32
            || Array(x[0].shape.prefix(2)) != Array(inputShape.prefix(2)) {
            throw ShapeRuleError("gradient \(x[0]) and positions \(x[1]) do not fit input shape \(inputShape)")
        }
        return .init(shape: inputShape, dtype: x[0].dtype)
    }
}

extension Pooling.Average {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 1...1)
        try ShapeRules.float(x[0])
        return .init(shape: try spec.checkedOutputShape(x[0].shape), dtype: x[0].dtype)
    }
}

extension Pooling.AverageBackward {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 1...1)
        try ShapeRules.float(x[0])
        if inputShape.contains(where: { $0 < 0 }) { throw ShapeRuleError("invalid input shape \(inputShape)") }
        let pooled = try spec.checkedOutputShape(inputShape)
        if x[0].shape != pooled {
            throw ShapeRuleError("gradient \(x[0]) does not fit input shape \(inputShape)")
        }
        return .init(shape: inputShape, dtype: x[0].dtype)
    }
}

// MARK: Indexing

extension Indexing.View {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 1...1)
        let s = x[0].shape
        let consumed = items.reduce(0) { n, item in
            switch item { case .at, .range, .every: return n + 1; default: return n }
        }
        if consumed > s.count { throw ShapeRuleError("\(consumed) indices for rank \(s.count)") }
        if items.filter({ $0 == .rest }).count > 1 { throw ShapeRuleError("at most one ellipsis is allowed") }
        var out: [Int] = [], axis = 0
        for item in items {
            switch item {
            case .at(let i):
                if i < -s[axis] || i >= s[axis] { throw ShapeRuleError("index \(i) is out of range for axis \(axis) of size \(s[axis])") }
                axis += 1
            case let .range(start, end, step):
                if step == 0 { throw ShapeRuleError("slice step must not be 0") }
                out.append(Tensor.sliceBounds(start, end, step, size: s[axis]).1)
                axis += 1
            case .every:
                out.append(s[axis])
                axis += 1
            case .insertAxis:
                out.append(1)
            case .rest:
                for _ in 0..<(s.count - consumed) { out.append(s[axis]); axis += 1 }
            }
        }
        out += s[axis...]
        return .init(shape: out, dtype: x[0].dtype)
    }
}

extension Indexing.Put {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 2...2)
        guard let view = try Indexing.View(items: items).outputType([x[0]]) else { return nil }
        if Shape.broadcast(x[1].shape, view.shape) != view.shape {
            throw ShapeRuleError("cannot write a value of shape \(x[1].shape) into a slice of shape \(view.shape)")
        }
        return x[0]
    }
}

extension Gathering.Gather {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 2...2)
        try ShapeRules.integer(x[1], "index")
        let s = x[0].shape, i = x[1].shape
        if i.count != s.count { throw ShapeRuleError("index \(i) must have the rank of \(s)") }
        let a = try ShapeRules.axis(axis, rank: s.count)
        for d in 0..<s.count where d != a && i[d] > s[d] { throw ShapeRuleError("index \(i) is larger than \(s) off the axis") }
        return .init(shape: i, dtype: x[0].dtype)
    }
}

extension Gathering.IndexSelect {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 2...2)
        try ShapeRules.integer(x[1], "indices")
        if x[1].shape.count > 1 { throw ShapeRuleError("indices must be 1-d, got \(x[1].shape)") }
        var s = x[0].shape
        let a = try ShapeRules.axis(axis, rank: s.count)
        if s.isEmpty { return .init(shape: x[1].shape.isEmpty ? [] : [Shape.count(x[1].shape)], dtype: x[0].dtype) }
        s[a] = Shape.count(x[1].shape)
        return .init(shape: s, dtype: x[0].dtype)
    }
}

extension Gathering.Scatter {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 3...3)
        try ShapeRules.integer(x[1], "index")
        let s = x[0].shape, i = x[1].shape, src = x[2].shape
        if i.count != s.count || src.count != s.count || x[2].dtype != x[0].dtype {
            throw ShapeRuleError("index \(x[1]) and source \(x[2]) must have the rank and dtype of \(x[0])")
        }
        let a = try ShapeRules.axis(axis, rank: s.count)
        for d in 0..<s.count where i[d] > src[d] || (d != a && i[d] > s[d]) {
            throw ShapeRuleError("index \(i) is larger than the source \(src) or the value \(s)")
        }
        return x[0]
    }
}

extension Gathering.Where {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 3...3)
        let s = try ShapeRules.broadcast(try ShapeRules.broadcast(x[0].shape, x[1].shape), x[2].shape)
        return .init(shape: s, dtype: DType.promote(x[1].dtype, x[2].dtype))
    }
}

extension Gathering.MaskedFill {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 2...2)
        if Shape.broadcast(x[1].shape, x[0].shape) != x[0].shape {
            throw ShapeRuleError("mask \(x[1].shape) cannot be broadcast to \(x[0].shape)")
        }
        return x[0]
    }
}

extension Gathering.OneHot {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 1...1)
        try ShapeRules.integer(x[0], "classes")
        if classes < 0 { throw ShapeRuleError("classes must be non-negative, got \(classes)") }
        return .init(shape: x[0].shape + [classes], dtype: dtype)
    }
}
