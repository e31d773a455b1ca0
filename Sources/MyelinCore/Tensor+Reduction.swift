// Reductions over any set of axes. `axes: nil` reduces everything to a 0-d tensor; `keepDims`
// leaves the reduced axes in place with size 1, so the result broadcasts against the input.

extension Tensor {
    /// Sum of elements over `axes` (all by default). Integer and bool inputs sum in int64.
    ///
    /// ```swift
    /// let x = Tensor([[1.0, 2.0], [3.0, 4.0]])
    /// x.sum()                          // 10.0, shape []
    /// x.sum(axes: [0])                 // [4, 6]
    /// x.sum(axes: [1], keepDims: true) // [[3], [7]]
    /// ```
    public func sum(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        if Tensor.routed(self) { return Tensor.apply(Reductions.Sum(axes: axes, keepDims: keepDims), [self]) }
        let y = detached().reduce(ReduceOps.Sum(), axes: axes, keepDims: keepDims, name: "sum", widenIntegers: true)
        return Tensor.needsGrad(self) ? y.recorded(Reductions.Sum(axes: axes, keepDims: keepDims), [self]) : y
    }

    /// The shape a reduction over `axes` has with `keepDims: true`.
    func keptShape(_ axes: [Int]?) -> [Int] {
        var s = shape
        for a in Shape.axes(axes, rank: rank, op: "reduce") { s[a] = 1 }
        return s
    }
    /// Sum over one axis.
    public func sum(axis: Int, keepDims: Bool = false) -> Tensor { sum(axes: [axis], keepDims: keepDims) }

    /// Arithmetic mean over `axes`; integer inputs give float32.
    public func mean(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let x = dtype.isFloatingPoint ? self : to(.float32)
        let n = reducedCount(axes, name: "mean")
        return x.sum(axes: axes, keepDims: keepDims) / Tensor(scalar: Double(n), dtype: x.dtype)
    }
    /// Mean over one axis.
    public func mean(axis: Int, keepDims: Bool = false) -> Tensor { mean(axes: [axis], keepDims: keepDims) }

    /// Product of elements over `axes`. Integer and bool inputs multiply in int64. The gradient
    /// of an element is the product of the others, zeros included (as PyTorch's).
    public func prod(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        if Tensor.routed(self) { return Tensor.apply(Reductions.Prod(axes: axes, keepDims: keepDims), [self]) }
        let y = detached().reduce(ReduceOps.Prod(), axes: axes, keepDims: keepDims, name: "prod", widenIntegers: true)
        return Tensor.needsGrad(self) ? y.recorded(Reductions.Prod(axes: axes, keepDims: keepDims), [self]) : y
    }
    /// Product over one axis.
    public func prod(axis: Int, keepDims: Bool = false) -> Tensor { prod(axes: [axis], keepDims: keepDims) }

    /// Largest element over `axes` (NaN if any element is NaN). Traps on an empty reduction.
    public func max(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        checkNonEmptyReduction(axes, "max")
        if Tensor.routed(self) { return Tensor.apply(Reductions.Extremum(largest: true, axes: axes, keepDims: keepDims), [self]) }
        let y = detached().reduce(ReduceOps.Max(), axes: axes, keepDims: keepDims, name: "max", widenIntegers: false)
        return Tensor.needsGrad(self) ? y.recorded(Reductions.Extremum(largest: true, axes: axes, keepDims: keepDims), [self]) : y
    }
    /// Largest element over one axis.
    public func max(axis: Int, keepDims: Bool = false) -> Tensor { max(axes: [axis], keepDims: keepDims) }

    /// Smallest element over `axes` (NaN if any element is NaN). Traps on an empty reduction.
    public func min(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        checkNonEmptyReduction(axes, "min")
        if Tensor.routed(self) { return Tensor.apply(Reductions.Extremum(largest: false, axes: axes, keepDims: keepDims), [self]) }
        let y = detached().reduce(ReduceOps.Min(), axes: axes, keepDims: keepDims, name: "min", widenIntegers: false)
        return Tensor.needsGrad(self) ? y.recorded(Reductions.Extremum(largest: false, axes: axes, keepDims: keepDims), [self]) : y
    }
    /// Smallest element over one axis.
    public func min(axis: Int, keepDims: Bool = false) -> Tensor { min(axes: [axis], keepDims: keepDims) }


    private func checkNonEmptyReduction(_ axes: [Int]?, _ name: String) {
        if reducedCount(axes, name: name) == 0 && count == 0 {
            fatalError("[\(name)] cannot reduce an empty tensor of shape \(shape): the result has no identity")
        }
    }

    /// Variance over `axes`; `unbiased` divides by n - 1 (Bessel's correction, PyTorch's default).
    ///
    /// ```swift
    /// Tensor([1.0, 2.0, 3.0, 4.0]).variance()                 // 1.6667
    /// Tensor([1.0, 2.0, 3.0, 4.0]).variance(unbiased: false)  // 1.25
    /// ```
    public func variance(axes: [Int]? = nil, unbiased: Bool = true, keepDims: Bool = false) -> Tensor {
        let x = dtype.isFloatingPoint ? self : to(.float32)
        let n = x.reducedCount(axes, name: "variance")
        let centered = x - x.mean(axes: axes, keepDims: true)
        let denominator = Double(Swift.max(n - (unbiased ? 1 : 0), 0))
        return (centered * centered).sum(axes: axes, keepDims: keepDims) / Tensor(scalar: denominator, dtype: x.dtype)
    }
    /// Variance over one axis.
    public func variance(axis: Int, unbiased: Bool = true, keepDims: Bool = false) -> Tensor {
        variance(axes: [axis], unbiased: unbiased, keepDims: keepDims)
    }

    /// Standard deviation over `axes` (square root of `variance`).
    public func std(axes: [Int]? = nil, unbiased: Bool = true, keepDims: Bool = false) -> Tensor {
        variance(axes: axes, unbiased: unbiased, keepDims: keepDims).sqrt()
    }
    /// Standard deviation over one axis.
    public func std(axis: Int, unbiased: Bool = true, keepDims: Bool = false) -> Tensor {
        std(axes: [axis], unbiased: unbiased, keepDims: keepDims)
    }

    /// log(sum(exp(x))) over `axes`, computed stably by subtracting the maximum first.
    ///
    /// ```swift
    /// Tensor([1000.0, 1000.0]).logsumexp()   // 1000.6931 (the naive formula overflows)
    /// ```
    public func logsumexp(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let x = dtype.isFloatingPoint ? self : to(.float32)
        // An infinite maximum would give inf - inf = NaN; shifting by 0 there keeps the right limit.
        let m = x.max(axes: axes, keepDims: true)
        let shift = m.detached().apply(UnaryOps.FiniteOrZero())
        let s = (x - shift).exp().sum(axes: axes, keepDims: true).log() + shift
        return keepDims ? s : s.reshape(x.shape.indices.filter { !Shape.axes(axes, rank: x.rank, op: "logsumexp").contains($0) }.map { x.shape[$0] })
    }
    /// logsumexp over one axis.
    public func logsumexp(axis: Int, keepDims: Bool = false) -> Tensor { logsumexp(axes: [axis], keepDims: keepDims) }

    /// The p-norm over `axes`: 2 (Euclidean, default), 1, `.infinity` (max |x|), `-.infinity`, 0 (count of non-zeros) or any p.
    public func norm(p: Double = 2, axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let x = dtype.isFloatingPoint ? self : to(.float32)
        switch p {
        case 2:
            let s = (x * x).sum(axes: axes, keepDims: keepDims)
            guard Tensor.records(s) else { return s.sqrt() }
            // sqrt's gradient at 0 is infinite and x * x's is 0: NaN. PyTorch's is 0 there (an
            // all-zero row, zero-initialised biases); sqrt sees 1 where the sum is 0, so neither
            // branch of the where is infinite. NaN sums are not 0, so NaN still propagates.
            let nonzero = s.ne(0)
            return Tensor.where(nonzero, Tensor.where(nonzero, s, 1).sqrt(), 0)
        case 1: return x.abs().sum(axes: axes, keepDims: keepDims)
        case .infinity: return x.abs().max(axes: axes, keepDims: keepDims)
        case -.infinity: return x.abs().min(axes: axes, keepDims: keepDims)
        case 0: return x.ne(0).to(x.dtype).sum(axes: axes, keepDims: keepDims)
        default: return x.abs().pow(p).sum(axes: axes, keepDims: keepDims).pow(1 / p)
        }
    }

    /// True where every element over `axes` is non-zero (true for an empty reduction).
    public func all(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        logicalNot().to(.int64).sum(axes: axes, keepDims: keepDims).eq(0)
    }
    /// True where any element over `axes` is non-zero (false for an empty reduction).
    public func any(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        to(.bool).to(.int64).sum(axes: axes, keepDims: keepDims).ne(0)
    }

    /// Index (int64) of the largest element along `axis`, or in the flattened tensor when `axis` is nil.
    /// The first occurrence wins; NaN counts as the largest, as in NumPy.
    public func argmax(axis: Int? = nil, keepDims: Bool = false) -> Tensor { argExtremum(axis: axis, keepDims: keepDims, largest: true) }

    /// Index (int64) of the smallest element along `axis` (first occurrence; NaN counts as the smallest).
    public func argmin(axis: Int? = nil, keepDims: Bool = false) -> Tensor { argExtremum(axis: axis, keepDims: keepDims, largest: false) }

    fileprivate func argExtremum(axis: Int?, keepDims: Bool, largest: Bool) -> Tensor {
        let name = largest ? "argmax" : "argmin"
        if Tensor.recordsOrRoutes(self) { return Tensor.apply(Reductions.ArgExtremum(largest: largest, axis: axis, keepDims: keepDims), [self]) }
        guard let axis else {
            let r = flattened().argExtremum(axis: 0, keepDims: false, largest: largest)
            return keepDims ? r.reshape([Int](repeating: 1, count: rank)) : r
        }
        let a = Shape.axis(axis, rank: Swift.max(rank, 1), op: name)
        if rank == 0 { return Tensor(scalar: Int64(0)) }
        if shape[a] == 0 { fatalError("[\(name)] cannot take \(name) of an empty axis \(axis) (shape \(shape))") }
        // Move the axis last and make rows contiguous so each row is one tight scan.
        var order = Array(0..<rank)
        order.remove(at: a)
        order.append(a)
        var x = permute(order).contiguous()
        if x.dtype == .bool { x = x.to(.int32) }
        let rows = x.count / shape[a], len = shape[a]
        var outShape = shape
        outShape[a] = 1
        let out = Tensor(uninitializedShape: outShape, dtype: .int64)
        let dst = out.basePointer(Int64.self)
        func scan<T: NumericElement>(_: T.Type) {
            let p = x.basePointer(T.self)
            for r in 0..<rows {
                let row = p + r * len
                var best = row[0], bi = 0
                if best == best {
                    for j in 1..<Swift.max(len, 1) {
                        let v = row[j]
                        if v != v { bi = j; break }
                        if largest ? v > best : v < best { best = v; bi = j }
                    }
                }
                dst[r] = Int64(bi)
            }
        }
        switch x.dtype {
        case .float32: scan(Float.self)
        case .float64: scan(Double.self)
        case .int32: scan(Int32.self)
        default: scan(Int64.self)
        }
        return keepDims ? out : out.squeezed(axis: a)
    }

    /// Running sum along `axis`; integer and bool inputs accumulate in int64.
    ///
    /// ```swift
    /// Tensor([1, 2, 3]).cumsum(axis: 0)   // [1, 3, 6]
    /// ```
    public func cumsum(axis: Int) -> Tensor {
        if Tensor.recordsOrRoutes(self) { return Tensor.apply(Reductions.Cumsum(axis: axis), [self]) }
        if rank == 0 { return to(dtype.isFloatingPoint ? dtype : .int64) }
        let a = Shape.axis(axis, rank: rank, op: "cumsum")
        var order = Array(0..<rank)
        order.remove(at: a)
        order.append(a)
        var inverse = [Int](repeating: 0, count: rank)
        for (i, o) in order.enumerated() { inverse[o] = i }
        var x = permute(order).contiguousCopy()
        if !x.dtype.isFloatingPoint { x = x.to(.int64) }
        let len = shape[a], rows = len == 0 ? 0 : x.count / len
        func scan<T: NumericElement>(_: T.Type) {
            let p = x.basePointer(T.self)
            for r in 0..<rows {
                let row = p + r * len
                var acc: T = 0
                for j in 0..<len { acc = T.wrappingAdd(acc, row[j]); row[j] = acc }
            }
        }
        switch x.dtype {
        case .float32: scan(Float.self)
        case .float64: scan(Double.self)
        default: scan(Int64.self)
        }
        return x.permute(inverse).contiguous()
    }
}

/// The reduction primitives.
enum Reductions {
    struct Sum: Primitive {
        static let name = "sum"
        let axes: [Int]?, keepDims: Bool
        func forward(_ x: [Tensor]) -> Tensor { x[0].sum(axes: axes, keepDims: keepDims) }
        func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] {
            [g.reshape(x[0].keptShape(axes)).expand(x[0].shape)]
        }
    }

    /// The gradient of each element is the product of the others: product / x where no element
    /// of its product is 0 (the same bits as before); with one 0, the product of the non-zero
    /// elements at the 0 and 0 elsewhere; with more, 0 (PyTorch's values; product / x gave NaN).
    struct Prod: Primitive {
        static let name = "prod"
        let axes: [Int]?, keepDims: Bool
        var savesOutput: Bool { true }
        func forward(_ x: [Tensor]) -> Tensor { x[0].prod(axes: axes, keepDims: keepDims) }
        func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] {
            let kept = x[0].keptShape(axes)
            let isZero = x[0] .== 0
            let zeros = isZero.to(x[0].dtype).sum(axes: axes, keepDims: true)
            let safe = Tensor.where(isZero, 1, x[0])
            let others = (g * y).reshape(kept) / safe
            let atZero = g.reshape(kept) * safe.prod(axes: axes, keepDims: true)
            return [Tensor.where(isZero, Tensor.where(zeros .== 1, atZero, 0), Tensor.where(zeros .== 0, others, 0))]
        }
    }

    /// max/min send the gradient to the elements equal to the result, split evenly among ties
    /// (as PyTorch's `amax`/`amin` do).
    struct Extremum: Primitive {
        static let name = "extremum"
        let largest: Bool
        var name: String { largest ? "max" : "min" }
        let axes: [Int]?, keepDims: Bool
        var savesOutput: Bool { true }
        func forward(_ x: [Tensor]) -> Tensor {
            largest ? x[0].max(axes: axes, keepDims: keepDims) : x[0].min(axes: axes, keepDims: keepDims)
        }
        func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] {
            let kept = x[0].keptShape(axes)
            let mask = (x[0].detached() .== y.detached().reshape(kept)).to(g.dtype)
            return [g.reshape(kept) * mask / mask.sum(axes: axes, keepDims: true)]
        }
    }

    /// Each input feeds every later output, so its gradient is the reversed running sum.
    struct Cumsum: Primitive {
        static let name = "cumsum"
        let axis: Int
        func forward(_ x: [Tensor]) -> Tensor { x[0].cumsum(axis: axis) }
        func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] {
            [g.sum(axis: axis, keepDims: true) - g.cumsum(axis: axis) + g]
        }
    }

    /// Indices of the largest or smallest elements (int64: no gradient).
    struct ArgExtremum: Primitive {
        static let name = "argExtremum"
        let largest: Bool
        var name: String { largest ? "argmax" : "argmin" }
        let axis: Int?, keepDims: Bool
        func forward(_ x: [Tensor]) -> Tensor { x[0].argExtremum(axis: axis, keepDims: keepDims, largest: largest) }
        func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] { [nil] }
    }
}

// MARK: Shape rules (see Primitive.outputType)

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
