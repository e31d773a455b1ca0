// Joining and splitting: cat, stack, split, chunk, unbind (PyTorch semantics).
// Also the small helpers the other copying ops (Gather, Rearranging, Sorting) share.

extension Tensor {
    /// Tensors joined end to end along an existing axis, as `torch.cat`.
    ///
    /// The shapes must agree on every other axis; the dtypes are promoted as in PyTorch. As in
    /// PyTorch, 1-d empty tensors (shape `[0]`) are skipped, so an empty accumulator can start a chain.
    ///
    /// ```swift
    /// let a = Tensor([[1, 2], [3, 4]]), b = Tensor([[5, 6]])
    /// Tensor.cat([a, b])            // [[1, 2], [3, 4], [5, 6]], shape [3, 2]
    /// Tensor.cat([a, a], axis: -1)  // shape [2, 4]
    /// ```
    public static func cat(_ tensors: [Tensor], axis: Int = 0) -> Tensor {
        if tensors.isEmpty { fatalError("[cat] needs at least one tensor") }
        if recordsOrRoutes(tensors) {
            let inputs = tensors.filter { !($0.rank == 1 && $0.shape[0] == 0) }
            return Tensor.apply(Join(axis: axis), inputs.isEmpty ? [tensors[0]] : inputs)
        }
        // PyTorch's legacy rule: 1-d empty tensors join with anything.
        var parts = tensors.filter { !($0.rank == 1 && $0.shape[0] == 0) }
        if parts.isEmpty { parts = [tensors[0]] }
        let first = parts[0]
        if first.rank == 0 { fatalError("[cat] zero-dimensional tensors cannot be concatenated; use stack") }
        let ax = Shape.axis(axis, rank: first.rank, op: "cat")
        var dtype = first.dtype
        var total = 0
        for t in parts {
            if t.rank != first.rank {
                fatalError("[cat] tensors must have the same rank: \(first.shape) vs \(t.shape)")
            }
            for d in 0..<t.rank where d != ax && t.shape[d] != first.shape[d] {
                fatalError("[cat] tensors must have the same shape except on axis \(ax): \(first.shape) vs \(t.shape)")
            }
            dtype = DType.promote(dtype, t.dtype)
            total += t.shape[ax]
        }
        var outShape = first.shape
        outShape[ax] = total
        let out = Tensor(uninitializedShape: outShape, dtype: dtype)
        let outer = Shape.count(Array(outShape[..<ax]))
        let inner = Shape.count(Array(outShape[(ax + 1)...]))
        let bytes = dtype.byteSize
        var position = 0
        for t in parts {
            let len = t.shape[ax]
            defer { position += len }
            if len == 0 || outer == 0 || inner == 0 { continue }
            let src = t.to(dtype)
            if src.isContiguous {
                // Each outer index owns one block of len * inner elements: a plain memory copy.
                let block = len * inner * bytes
                let rowBytes = total * inner * bytes
                let s = src.storage.data + src.offset * bytes
                let d = out.storage.data + position * inner * bytes
                if outer == 1 {
                    Threading.parallelChunks(len * inner) { lo, hi in
                        (d + lo * bytes).copyMemory(from: s + lo * bytes, byteCount: (hi - lo) * bytes)
                    }
                } else {
                    let grain = Swift.max(1, Threading.elementwiseGrain / (len * inner))
                    Threading.parallelChunks(outer, grain: grain) { lo, hi in
                        for o in lo..<hi { (d + o * rowBytes).copyMemory(from: s + o * block, byteCount: block) }
                    }
                }
            } else {
                var slot = Tensor(storage: out.storage, shape: src.shape, strides: out.strides,
                                  offset: position * out.strides[ax])
                slot.copyElements(from: src)
            }
        }
        return out
    }

    /// Tensors of one shape joined along a new axis, as `torch.stack`.
    ///
    /// ```swift
    /// let a = Tensor([1, 2]), b = Tensor([3, 4])
    /// Tensor.stack([a, b])           // [[1, 2], [3, 4]], shape [2, 2]
    /// Tensor.stack([a, b], axis: 1)  // [[1, 3], [2, 4]]
    /// ```
    public static func stack(_ tensors: [Tensor], axis: Int = 0) -> Tensor {
        if tensors.isEmpty { fatalError("[stack] needs at least one tensor") }
        let shape = tensors[0].shape
        for t in tensors where t.shape != shape {
            fatalError("[stack] tensors must have the same shape: \(shape) vs \(t.shape)")
        }
        let ax = Shape.axis(axis, rank: shape.count + 1, op: "stack")
        return cat(tensors.map { $0.unsqueezed(axis: ax) }, axis: ax)
    }

    /// Views of consecutive pieces along `axis` with the given sizes, which must add up to the
    /// axis's size (`torch.split` with a list). The pieces share memory with this tensor.
    ///
    /// ```swift
    /// let parts = Tensor.arange(10).split(sizes: [3, 7])   // shapes [3] and [7]
    /// ```
    public func split(sizes: [Int], axis: Int = 0) -> [Tensor] {
        let ax = Shape.axis(axis, rank: rank, op: "split")
        if let bad = sizes.first(where: { $0 < 0 }) {
            fatalError("[split] sizes must be non-negative, got \(bad) in \(sizes)")
        }
        let sum = sizes.reduce(0, +)
        if sum != shape[ax] {
            fatalError("[split] sizes \(sizes) add up to \(sum), but axis \(ax) has size \(shape[ax])")
        }
        if Tensor.records(self) {
            var start = 0
            return sizes.map { s in
                var items = [TensorIndexItem](repeating: .every, count: rank)
                items[ax] = .range(start, start + s, step: 1)
                start += s
                return view(items)
            }
        }
        var result: [Tensor] = []
        result.reserveCapacity(sizes.count)
        var start = 0
        for s in sizes {
            var sh = shape
            sh[ax] = s
            result.append(Tensor(storage: storage, shape: sh, strides: strides, offset: offset + start * strides[ax]))
            start += s
        }
        return result
    }

    /// Views of pieces of `size` along `axis`, the last one smaller when the size does not divide
    /// the axis (`torch.split` with an int). The pieces share memory with this tensor.
    ///
    /// ```swift
    /// Tensor.arange(5).split(size: 2).map(\.shape)   // [[2], [2], [1]]
    /// ```
    public func split(size: Int, axis: Int = 0) -> [Tensor] {
        let ax = Shape.axis(axis, rank: rank, op: "split")
        if size <= 0 { fatalError("[split] size must be positive, got \(size)") }
        let n = shape[ax]
        if n == 0 { return [self] }
        var sizes = [Int](repeating: size, count: n / size)
        if n % size != 0 { sizes.append(n % size) }
        return split(sizes: sizes, axis: ax)
    }

    /// At most `n` views of equal size along `axis` (the last smaller), as `torch.chunk`:
    /// pieces of `ceil(size / n)`, so fewer than `n` pieces can come back.
    ///
    /// ```swift
    /// Tensor.arange(6).chunk(3).map(\.shape)   // [[2], [2], [2]]
    /// Tensor.arange(5).chunk(3).map(\.shape)   // [[2], [2], [1]]
    /// ```
    public func chunk(_ n: Int, axis: Int = 0) -> [Tensor] {
        let ax = Shape.axis(axis, rank: rank, op: "chunk")
        if n <= 0 { fatalError("[chunk] number of chunks must be positive, got \(n)") }
        let size = shape[ax]
        if size == 0 { return split(sizes: [Int](repeating: 0, count: n), axis: ax) }
        return split(size: (size + n - 1) / n, axis: ax)
    }

    /// The slices along `axis` as views with that axis removed, as `torch.unbind`.
    ///
    /// ```swift
    /// Tensor([[1, 2], [3, 4]]).unbind()   // [Tensor([1, 2]), Tensor([3, 4])]
    /// ```
    public func unbind(axis: Int = 0) -> [Tensor] {
        let ax = Shape.axis(axis, rank: rank, op: "unbind")
        if Tensor.records(self) {
            return (0..<shape[ax]).map { i in
                var items = [TensorIndexItem](repeating: .every, count: rank)
                items[ax] = .at(i)
                return view(items)
            }
        }
        var sh = shape, st = strides
        sh.remove(at: ax)
        st.remove(at: ax)
        return (0..<shape[ax]).map { Tensor(storage: storage, shape: sh, strides: st, offset: offset + $0 * strides[ax]) }
    }
}

/// Tensors joined along an existing axis: `Tensor.cat`.
///
/// ```swift
/// cat([Tensor([1, 2]), Tensor([3])])   // [1, 2, 3]
/// ```
public func cat(_ tensors: [Tensor], axis: Int = 0) -> Tensor { Tensor.cat(tensors, axis: axis) }

/// Tensors of one shape joined along a new axis: `Tensor.stack`.
///
/// ```swift
/// stack([Tensor([1, 2]), Tensor([3, 4])], axis: 1)   // [[1, 3], [2, 4]]
/// ```
public func stack(_ tensors: [Tensor], axis: Int = 0) -> Tensor { Tensor.stack(tensors, axis: axis) }

// MARK: Helpers shared by the copying ops

enum CopyOps {
    /// An axis for ops that, like PyTorch's, accept a 0-d tensor as if it had one element on axis 0/-1.
    @inline(__always)
    static func axis(_ axis: Int, rank: Int, op: String) -> Int {
        Shape.axis(axis, rank: Swift.max(rank, 1), op: op)
    }

    /// A 0-d tensor viewed as shape [1] (other tensors unchanged).
    @inline(__always)
    static func atLeast1D(_ t: Tensor) -> Tensor {
        t.rank == 0 ? Tensor(storage: t.storage, shape: [1], strides: [1], offset: t.offset) : t
    }

    /// Traps unless `t` holds integer indices.
    static func checkIndexDType(_ t: Tensor, _ op: String, _ what: String = "index") {
        if !t.dtype.isInteger { fatalError("[\(op)] \(what) must have dtype int32 or int64, got \(t.dtype)") }
    }

    @inline(never)
    static func indexOutOfRange(_ op: String, _ value: Int, axis: Int, size: Int) -> Never {
        fatalError("[\(op)] index \(value) is out of range for axis \(axis) of size \(size)")
    }

    /// The positions `indices` (int32 or int64, any shape, read in order) name along an axis of
    /// `size`, negative ones counted from the end; traps on one outside the axis.
    static func positions(_ indices: Tensor, size n: Int, axis: Int, op: String) -> [Int] {
        let flat = indices.contiguous()
        return (0..<flat.count).map { j -> Int in
            let v = Int(flat.elementAsInt64(at: flat.offset + j))
            let w = v < 0 ? v + n : v
            if w < 0 || w >= n { indexOutOfRange(op, v, axis: axis, size: n) }
            return w
        }
    }

    /// The bit pattern of `value` converted to `dtype`, as a word of the dtype's width.
    static func word<W>(_: W.Type, of value: Double, dtype: DType) -> W {
        let t = Tensor(scalar: value, dtype: dtype)
        return t.storage.data.assumingMemoryBound(to: W.self)[0]
    }

    /// A writable view over `base`'s storage (callers own the storage, e.g. a fresh output).
    @inline(__always)
    static func view(of base: Tensor, shape: [Int], strides: [Int], offset: Int) -> Tensor {
        Tensor(storage: base.storage, shape: shape, strides: strides, offset: offset)
    }
}

/// Concatenation along an axis; each input's gradient is its own slab of the upstream gradient.
struct Join: Primitive {
    static let name = "cat"
    let axis: Int
    func forward(_ x: [Tensor]) -> Tensor { Tensor.cat(x, axis: axis) }
    func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] {
        let ax = Shape.axis(axis, rank: g.rank, op: "cat")
        return g.split(sizes: x.map { $0.shape[ax] }, axis: ax)
    }
}

// MARK: Shape rules (see Primitive.outputType)

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
