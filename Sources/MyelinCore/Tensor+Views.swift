// Views share storage with their base: only shape, strides and offset change.

extension Tensor {
    /// The same elements viewed with another shape; one dimension may be -1 and is inferred.
    /// A view when the strides allow it (always for contiguous tensors), otherwise a copy.
    ///
    /// ```swift
    /// Tensor.arange(6).reshape([2, -1])   // shape [2, 3]
    /// ```
    public func reshape(_ newShape: [Int]) -> Tensor {
        if Tensor.records(self) { return Tensor.apply(ViewOps.Reshape(shape: newShape), [self]) }
        let target = inferShape(newShape, op: "reshape")
        if target == shape { return self }
        if isContiguous {
            return Tensor(storage: storage, shape: target, strides: Shape.contiguousStrides(target), offset: offset)
        }
        if let st = viewStrides(for: target) {
            return Tensor(storage: storage, shape: target, strides: st, offset: offset)
        }
        return contiguous().reshape(target)
    }

    /// `reshape` with the dimensions as separate arguments: `x.reshape(2, 3)`.
    public func reshape(_ dims: Int...) -> Tensor { reshape(dims) }

    func inferShape(_ newShape: [Int], op: String) -> [Int] {
        var target = newShape
        let n = count
        let unknown = target.indices.filter { target[$0] == -1 }
        if unknown.count > 1 { fatalError("[\(op)] only one dimension can be -1, got \(newShape)") }
        if let bad = target.first(where: { $0 < -1 }) { fatalError("[\(op)] invalid dimension \(bad) in \(newShape)") }
        if let u = unknown.first {
            let known = target.enumerated().filter { $0.offset != u }.reduce(1) { $0 * $1.element }
            if known == 0 || n % known != 0 {
                fatalError("[\(op)] cannot reshape \(n) elements into \(newShape)")
            }
            target[u] = n / known
        }
        if Shape.count(target) != n { fatalError("[\(op)] cannot reshape \(n) elements into \(newShape)") }
        return target
    }

    /// Strides that show the current elements in `target` shape without copying, if any exist
    /// (the algorithm of NumPy's `_attempt_nocopy_reshape`: match groups of old and new dims).
    func viewStrides(for target: [Int]) -> [Int]? {
        let old = zip(shape, strides).filter { $0.0 != 1 }
        var newStrides = [Int](repeating: 0, count: target.count)
        var oi = 0, ni = 0
        let on = old.count, nn = target.count
        while oi < on && ni < nn {
            var np = target[ni], op = old[oi].0
            let oj0 = oi, nj0 = ni
            var oj = oi, nj = ni
            while np != op {
                if np < op { nj += 1; np *= target[nj] } else { oj += 1; op *= old[oj].0 }
            }
            // The old dims in the group must be contiguous with each other.
            for k in oj0..<oj where old[k].1 != old[k + 1].1 * old[k + 1].0 { return nil }
            newStrides[nj] = old[oj].1
            var k = nj
            while k > nj0 { newStrides[k - 1] = newStrides[k] * target[k]; k -= 1 }
            oi = oj + 1
            ni = nj + 1
        }
        // Trailing size-1 dims of the target.
        while ni < nn { newStrides[ni] = 1; ni += 1 }
        for k in 0..<nn where target[k] == 1 && newStrides[k] == 0 { newStrides[k] = 1 }
        return newStrides
    }

    /// All elements as a 1-d tensor (a view when possible).
    public func flattened() -> Tensor { reshape([-1]) }

    /// Dimensions `start...end` merged into one, as `torch.flatten(x, start, end)`.
    public func flattened(from start: Int, to end: Int = -1) -> Tensor {
        if rank == 0 { return reshape([1]) }
        let s = Shape.axis(start, rank: rank, op: "flatten"), e = Shape.axis(end, rank: rank, op: "flatten")
        if s > e { fatalError("[flatten] start axis \(start) comes after end axis \(end)") }
        let merged = shape[s...e].reduce(1, *)
        var target = Array(shape[..<s]) + [merged] + Array(shape[(e + 1)...])
        // The leading (batch) size as -1, so a traced flatten follows the batch size of a replay.
        if s > 0 && target.count > 1 && target[1...].allSatisfy({ $0 > 0 }) { target[0] = -1 }
        return reshape(target)
    }

    /// The axes reordered: result axis i is this tensor's axis `order[i]`. A view.
    ///
    /// ```swift
    /// Tensor.zeros([2, 3, 4]).permute([2, 0, 1]).shape   // [4, 2, 3]
    /// ```
    public func permute(_ order: [Int]) -> Tensor {
        if order.count != rank {
            fatalError("[permute] order \(order) has \(order.count) axes, tensor has rank \(rank)")
        }
        let axes = order.map { Shape.axis($0, rank: rank, op: "permute") }
        if Set(axes).count != rank { fatalError("[permute] order \(order) is not a permutation of 0..<\(rank)") }
        if Tensor.records(self) { return Tensor.apply(ViewOps.Permute(axes: axes), [self]) }
        return Tensor(storage: storage, shape: axes.map { shape[$0] }, strides: axes.map { strides[$0] }, offset: offset)
    }

    /// `permute` with the axes as separate arguments.
    public func permute(_ order: Int...) -> Tensor { permute(order) }

    /// Two axes swapped (the last two by default, the matrix transpose). A view.
    public func transposed(_ a: Int = -2, _ b: Int = -1) -> Tensor {
        if rank < 2 { return self }
        let i = Shape.axis(a, rank: rank, op: "transpose"), j = Shape.axis(b, rank: rank, op: "transpose")
        var order = Array(0..<rank)
        order.swapAt(i, j)
        return permute(order)
    }

    /// The matrix transpose (last two axes swapped); a view.
    public var T: Tensor { transposed() }

    /// Size-1 axes removed (all of them, or just `axis`). A view.
    public func squeezed(axis: Int? = nil) -> Tensor {
        if Tensor.records(self) { return Tensor.apply(ViewOps.Squeeze(axis: axis), [self]) }
        var keep = Array(0..<rank)
        if let axis {
            let a = Shape.axis(axis, rank: rank, op: "squeeze")
            if shape[a] != 1 { return self }
            keep.remove(at: a)
        } else {
            keep = keep.filter { shape[$0] != 1 }
        }
        return Tensor(storage: storage, shape: keep.map { shape[$0] }, strides: keep.map { strides[$0] }, offset: offset)
    }

    /// A size-1 axis inserted at `axis` (which may be `rank`, or negative). A view.
    public func unsqueezed(axis: Int) -> Tensor {
        if Tensor.records(self) { return Tensor.apply(ViewOps.Unsqueeze(axis: axis), [self]) }
        let a = Shape.axis(axis, rank: rank + 1, op: "unsqueeze")
        var s = shape, st = strides
        s.insert(1, at: a)
        st.insert(a < rank ? strides[a] * shape[a] : 1, at: a)
        return Tensor(storage: storage, shape: s, strides: st, offset: offset)
    }

    /// A view repeated along size-1 axes to `shape` without copying (stride 0), as NumPy broadcasting.
    /// A dimension of -1 keeps the existing size.
    ///
    /// ```swift
    /// Tensor([1, 2, 3]).expand([2, 3])   // [[1, 2, 3], [1, 2, 3]]
    /// ```
    public func expand(_ target: [Int]) -> Tensor {
        if target.count < rank {
            fatalError("[expand] cannot expand shape \(shape) to \(target): fewer dimensions")
        }
        let lead = target.count - rank
        var t = target
        for i in 0..<rank where t[lead + i] == -1 { t[lead + i] = shape[i] }
        for i in 0..<rank where shape[i] != 1 && shape[i] != t[lead + i] {
            fatalError("[expand] cannot expand shape \(shape) to \(target): dimension \(i) has size \(shape[i])")
        }
        let out = Tensor(storage: storage, shape: t, strides: Shape.broadcastStrides(shape: shape, strides: strides, to: t), offset: offset)
        if Recording.tracing { return Tensor.apply(ViewOps.Expand(shape: t), [self]) }
        return Tensor.needsGrad(self) ? out.recorded(ViewOps.Expand(shape: t), [self]) : out
    }

    /// `expand` to the shape of another tensor.
    public func expand(as other: Tensor) -> Tensor { expand(other.shape) }

    /// True when both tensors are views of the same memory.
    public func sharesStorage(with other: Tensor) -> Bool { storage === other.storage }

    /// The same values in a contiguous row-major layout: the tensor itself when it already is.
    public func contiguous() -> Tensor {
        isContiguous ? self : contiguousCopy()
    }

    /// A new contiguous tensor with a copy of the values, never sharing memory with this one.
    public func contiguousCopy() -> Tensor {
        if Recording.tracing { return Tensor.apply(ViewOps.Copy(), [self]) }
        // A memory operation, done here for every device (its storage is host memory).
        var out = Tensor(uninitializedShape: shape, dtype: dtype, deviceSlot: storage.deviceSlot)
        out.copyElements(from: detached())
        return Tensor.needsGrad(self) ? out.recorded(ViewOps.Copy(), [self]) : out
    }

    /// Copies `source`'s values (broadcast to this shape, same dtype) into this tensor's elements.
    /// Callers have made the storage unique.
    mutating func copyElements(from source: Tensor) {
        if source.dtype != dtype {
            copyElements(from: source.to(dtype))
            return
        }
        let src = source.shape == shape ? source : source.expand(shape)
        switch dtype.byteSize {
        case 1: Tensor.stridedCopy(UInt8.self, from: src, to: self)
        case 4: Tensor.stridedCopy(UInt32.self, from: src, to: self)
        default: Tensor.stridedCopy(UInt64.self, from: src, to: self)
        }
    }

    /// Copies elements as raw words of the dtype's width, so one loop serves every dtype.
    private static func stridedCopy<W>(_: W.Type, from src: Tensor, to dst: Tensor) {
        let s = src.storage.data.assumingMemoryBound(to: W.self) + src.offset
        let d = dst.storage.data.assumingMemoryBound(to: W.self) + dst.offset
        let n = dst.count
        if n == 0 { return }
        if src.isContiguous && dst.isContiguous {
            d.update(from: s, count: n)
            return
        }
        let loop = StridedLoop(shape: dst.shape, strides: [dst.strides, src.strides])
        let s0 = loop.innerStride(0), s1 = loop.innerStride(1)
        Threading.parallelChunks(n) { lo, hi in
            loop.forEachRun(lo, hi) { o0, o1, _, _, m in
                if s0 == 1 && s1 == 1 {
                    (d + o0).update(from: s + o1, count: m)
                } else {
                    for j in 0..<m { d[o0 &+ j &* s0] = s[o1 &+ j &* s1] }
                }
            }
        }
    }
}

/// The view and copy primitives. A view's gradient is the upstream gradient viewed back.
enum ViewOps {
    struct Reshape: Primitive {
        static let name = "reshape"
        /// As requested (a -1 is inferred at each call, so a traced reshape follows the batch size).
        let shape: [Int]
        func forward(_ x: [Tensor]) -> Tensor { x[0].reshape(shape) }
        func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] { [g.reshape(x[0].shape)] }
    }

    struct Permute: Primitive {
        static let name = "permute"
        let axes: [Int]
        func forward(_ x: [Tensor]) -> Tensor { x[0].permute(axes) }
        func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] {
            var inverse = [Int](repeating: 0, count: axes.count)
            for (i, a) in axes.enumerated() { inverse[a] = i }
            return [g.permute(inverse)]
        }
    }

    struct Squeeze: Primitive {
        static let name = "squeeze"
        let axis: Int?
        func forward(_ x: [Tensor]) -> Tensor { x[0].squeezed(axis: axis) }
        func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] { [g.reshape(x[0].shape)] }
    }

    struct Unsqueeze: Primitive {
        static let name = "unsqueeze"
        let axis: Int
        func forward(_ x: [Tensor]) -> Tensor { x[0].unsqueezed(axis: axis) }
        func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] { [g.reshape(x[0].shape)] }
    }

    struct Expand: Primitive {
        static let name = "expand"
        let shape: [Int]
        func forward(_ x: [Tensor]) -> Tensor { x[0].expand(shape) }
        func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] { [g.sumTo(x[0].shape)] }
    }

    /// A contiguous copy (identity in value).
    struct Copy: Primitive {
        static let name = "contiguous"
        func forward(_ x: [Tensor]) -> Tensor { x[0].contiguousCopy() }
        func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] { [g] }
    }
}

// MARK: Shape rules (see Primitive.outputType)

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
