import CMyelinKernels

// indexAdd: slices added into positions along an axis (PyTorch's `index_add`), the gradient of
// indexSelect (and so of every embedding lookup).

extension Tensor {
    /// A copy of this tensor with slice `j` of `source` along `axis` added at position
    /// `indices[j]`, as `torch.index_add`; repeated positions add up in the order of `indices`.
    ///
    /// `source` has this tensor's shape except along `axis`, where it has one slice per index.
    /// Indices are int32 or int64 (at most 1-d); negative ones count from the end of the axis.
    ///
    /// ```swift
    /// let table = Tensor.zeros([3, 2])
    /// table.indexAdd(axis: 0, indices: Tensor([2, 0, 2]), source: Tensor([[1.0, 1], [2, 2], [3, 3]]))
    /// // [[2, 2], [0, 0], [4, 4]]
    /// ```
    public func indexAdd(axis: Int, indices: Tensor, source: Tensor) -> Tensor {
        if Tensor.recordsOrRoutes([self, indices, source]) {
            return Tensor.apply(Gathering.IndexAdd(axis: axis), [self, indices, source])
        }
        let op = "indexAdd"
        CopyOps.checkIndexDType(indices, op, "indices")
        if indices.rank > 1 { fatalError("[indexAdd] indices must be 1-d, got shape \(indices.shape)") }
        if source.dtype != dtype { fatalError("[indexAdd] source has dtype \(source.dtype) but the tensor has dtype \(dtype)") }
        if rank == 0 {
            return CopyOps.atLeast1D(self).indexAdd(axis: axis, indices: indices, source: CopyOps.atLeast1D(source)).reshape([])
        }
        let ax = CopyOps.axis(axis, rank: rank, op: op)
        var expected = shape
        expected[ax] = indices.count
        if source.shape != expected {
            fatalError("[indexAdd] source shape \(source.shape) must be \(expected): the tensor's shape \(shape) with \(indices.count) slices on axis \(ax)")
        }
        let n = shape[ax], k = indices.count
        let picks = CopyOps.positions(indices, size: n, axis: ax, op: op)
        let out = contiguousCopy()
        let outer = Shape.count(Array(shape[..<ax])), inner = Shape.count(Array(shape[(ax + 1)...]))
        if outer * k * inner == 0 { return out }
        let src = source.contiguous()
        switch dtype {
        case .float32: IndexAddKernel.run(Float.self, out, src, picks, outer: outer, n: n, inner: inner)
        case .float64: IndexAddKernel.run(Double.self, out, src, picks, outer: outer, n: n, inner: inner)
        case .int32: IndexAddKernel.run(Int32.self, out, src, picks, outer: outer, n: n, inner: inner)
        case .int64: IndexAddKernel.run(Int64.self, out, src, picks, outer: outer, n: n, inner: inner)
        case .bool: IndexAddKernel.run(Bool.self, out, src, picks, outer: outer, n: n, inner: inner)
        }
        return out
    }
}

/// An element `indexAdd` sums: IEEE addition, wrapping integer addition (as PyTorch), or for bool.
/// A static requirement rather than a closure, so the specialised loop adds inline.
protocol IndexAddElement {
    static func indexAdded(_ a: Self, _ b: Self) -> Self
}

extension Float: IndexAddElement {}
extension Double: IndexAddElement {}
extension Int32: IndexAddElement {}
extension Int64: IndexAddElement {}

extension IndexAddElement where Self: NumericElement {
    @inline(__always) static func indexAdded(_ a: Self, _ b: Self) -> Self { wrappingAdd(a, b) }
}

extension Bool: IndexAddElement {
    @inline(__always) static func indexAdded(_ a: Bool, _ b: Bool) -> Bool { a || b }
}

/// The loop of `indexAdd` on contiguous buffers.
enum IndexAddKernel {
    /// `out[o, picks[j], c] += src[o, j, c]` for j in order. Threads split the columns c, never the
    /// slices, so each element sums in the order of `picks` (the bits of a serial loop) and two
    /// slices that pick one row never race.
    static func run<T: IndexAddElement>(_: T.Type, _ out: Tensor, _ source: Tensor, _ picks: [Int], outer: Int, n: Int, inner: Int) {
        picks.withUnsafeBufferPointer {
            run(out.storage.data.assumingMemoryBound(to: T.self) + out.offset,
                UnsafePointer(source.storage.data.assumingMemoryBound(to: T.self) + source.offset),
                $0, outer: outer, n: n, inner: inner)
        }
    }

    /// The same on raw buffers: `dst` [outer, n, inner], `src` [outer, picks.count, inner].
    static func run<T: IndexAddElement>(_ dst: UnsafeMutablePointer<T>, _ src: UnsafePointer<T>, _ picks: UnsafeBufferPointer<Int>,
                                        outer: Int, n: Int, inner: Int) {
        let k = picks.count
        // Enough columns a chunk that each chunk adds `elementwiseGrain` elements.
        let grain = Swift.max(16, Threading.elementwiseGrain / Swift.max(1, outer * k))
        Threading.parallelChunks(inner, grain: grain) { lo, hi in
            let ahead = 4 &* inner, bytes = (hi &- lo) &* MemoryLayout<T>.stride
            for o in 0..<outer {
                for j in 0..<k {
                    let d = dst + (o &* n &+ picks[j]) &* inner, s = src + (o &* k &+ j) &* inner
                    // The slice four ahead, as a column block leaves the prefetchers a page's part.
                    if j &+ 4 < k { myelin_prefetch(s + ahead + lo, bytes) }
                    for c in lo..<hi { d[c] = T.indexAdded(d[c], s[c]) }
                }
            }
        }
    }
}

extension Gathering {
    /// indexAdd: the base's gradient passes through; the source's is the gradient read back at the indices.
    struct IndexAdd: AlongAxis {
        static let name = "indexAdd"
        let axis: Int
        func forward(_ x: [Tensor]) -> Tensor { x[0].indexAdd(axis: axis, indices: x[1], source: x[2]) }
        func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] {
            [g, nil, x[2].requiresGrad ? g.indexSelect(axis: axis, indices: x[1]).reshape(x[2].shape) : nil]
        }
    }
}

extension Gathering.IndexAdd {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 3...3)
        try ShapeRules.integer(x[1], "indices")
        if x[1].shape.count > 1 { throw ShapeRuleError("indices must be 1-d, got \(x[1].shape)") }
        if x[2].dtype != x[0].dtype { throw ShapeRuleError("source \(x[2]) must have the dtype of \(x[0])") }
        var expected = x[0].shape.isEmpty ? [1] : x[0].shape
        expected[try ShapeRules.axis(axis, rank: x[0].shape.count)] = Shape.count(x[1].shape)
        let source = x[2].shape.isEmpty ? [1] : x[2].shape
        if source != expected { throw ShapeRuleError("source \(x[2].shape) must be \(expected)") }
        return x[0]
    }
}
