// Sorting along an axis: sorted, argsort, topk (PyTorch semantics).
//
// Order: NaN counts as larger than every number, as in PyTorch, so it comes last in ascending order
// and first in descending order (and first among the largest in `topk`). Equal elements keep their
// original order in both directions (a stable sort). Bool tensors sort as false < true.

extension Tensor {
    /// The elements sorted along `axis`, with the positions they came from, as `torch.sort(stable: true)`.
    ///
    /// The sort is stable in both directions; NaN sorts as the largest value (last ascending, first
    /// descending). Indices are int64.
    ///
    /// ```swift
    /// let (values, indices) = Tensor([3.0, 1.0, 2.0]).sorted()
    /// // values [1, 2, 3], indices [1, 2, 0]
    /// Tensor([[3, 1], [2, 5]]).sorted(axis: 0, descending: true).values   // [[3, 5], [2, 1]]
    /// ```
    public func sorted(axis: Int = -1, descending: Bool = false) -> (values: Tensor, indices: Tensor) {
        if Tensor.recordsOrRoutes(self) {
            // The values are a gather of the input, which carries the gradient.
            let indices = Tensor.apply(SortIndices(axis: axis, k: nil, descending: descending), [self])
            return (rank == 0 ? self + 0 : gather(axis: axis, index: indices), indices)
        }
        let ax = CopyOps.axis(axis, rank: rank, op: "sort")
        let n = rank == 0 ? 1 : shape[ax]
        let r = sortKernel(axis: ax, k: n, descending: descending, wantValues: true)
        return (r.values!, r.indices)
    }

    /// The int64 positions that would sort the elements along `axis` (stable; NaN largest), as
    /// `torch.argsort(stable: true)` and `np.argsort(kind: "stable")`.
    ///
    /// ```swift
    /// Tensor([3.0, 1.0, 2.0]).argsort()                    // [1, 2, 0]
    /// Tensor([3.0, 1.0, 2.0]).argsort(descending: true)    // [0, 2, 1]
    /// ```
    public func argsort(axis: Int = -1, descending: Bool = false) -> Tensor {
        if Tensor.routed(self) { return Tensor.apply(SortIndices(axis: axis, k: nil, descending: descending), [self]) }
        let ax = CopyOps.axis(axis, rank: rank, op: "argsort")
        let n = rank == 0 ? 1 : shape[ax]
        return sortKernel(axis: ax, k: n, descending: descending, wantValues: false).indices
    }

    /// The `k` largest (or smallest) elements along `axis` and their int64 positions, as `torch.topk`.
    ///
    /// Results come best first; ties go to the earlier position and NaN counts as the largest value.
    /// With `sorted: false` the order is unspecified (currently also best first).
    ///
    /// ```swift
    /// let (values, indices) = Tensor([1.0, 5.0, 3.0, 4.0]).topk(2)
    /// // values [5, 4], indices [1, 3]
    /// Tensor([1.0, 5.0, 3.0]).topk(1, largest: false).values   // [1]
    /// ```
    public func topk(_ k: Int, axis: Int = -1, largest: Bool = true, sorted: Bool = true) -> (values: Tensor, indices: Tensor) {
        if Tensor.recordsOrRoutes(self) {
            let indices = Tensor.apply(SortIndices(axis: axis, k: k, descending: largest), [self])
            return (rank == 0 ? self + 0 : gather(axis: axis, index: indices), indices)
        }
        let ax = CopyOps.axis(axis, rank: rank, op: "topk")
        let n = rank == 0 ? 1 : shape[ax]
        if k < 0 || k > n { fatalError("[topk] k \(k) is out of range for axis \(ax) of size \(n)") }
        let r = sortKernel(axis: ax, k: k, descending: largest, wantValues: true)
        return (r.values!, r.indices)
    }

    /// Sorts every line along `axis` and keeps the first `k` of each (values and int64 indices).
    private func sortKernel(axis ax: Int, k: Int, descending: Bool, wantValues: Bool) -> (values: Tensor?, indices: Tensor) {
        if rank == 0 {
            let r = CopyOps.atLeast1D(self).sortKernel(axis: 0, k: k, descending: descending, wantValues: wantValues)
            return (r.values?.reshape(k == 1 ? [] : [0]), r.indices.reshape(k == 1 ? [] : [0]))
        }
        if dtype == .bool {
            let r = to(.int32).sortKernel(axis: ax, k: k, descending: descending, wantValues: wantValues)
            return (r.values?.to(.bool), r.indices)
        }
        var outShape = shape
        outShape[ax] = k
        let indices = Tensor(uninitializedShape: outShape, dtype: .int64)
        let values = wantValues ? Tensor(uninitializedShape: outShape, dtype: dtype) : nil
        let n = shape[ax]
        let lines = n == 0 ? 0 : count / n
        if lines == 0 || k == 0 { return (values, indices) }
        // One iteration per line: the loop shape is this shape with the sorted axis collapsed.
        var lineShape = shape
        lineShape[ax] = 1
        let loop = StridedLoop(shape: lineShape, strides: [strides, indices.strides])
        let s0 = loop.innerStride(0), s1 = loop.innerStride(1)
        let inStride = strides[ax], outStride = indices.strides[ax]
        let ip = indices.basePointer(Int64.self)

        func run<T: NumericElement>(_: T.Type) {
            let src = basePointer(T.self)
            let vp = values?.basePointer(T.self)
            // Use a bounded heap when only a few of many elements are kept.
            let useHeap = k * 8 < n
            let grain = Swift.max(1, Threading.elementwiseGrain / (n * 8))
            Threading.parallelChunks(lines, grain: grain) { lo, hi in
                withUnsafeTemporaryAllocation(of: (T, Int).self, capacity: n) { buffer in
                    let pairs = buffer.baseAddress!
                    loop.forEachRun(lo, hi) { o0, o1, _, _, m in
                        for line in 0..<m {
                            let inBase = o0 &+ line &* s0, outBase = o1 &+ line &* s1
                            for t in 0..<n { (pairs + t).initialize(to: (src[inBase &+ t &* inStride], t)) }
                            if descending {
                                Tensor.selectFirst(pairs, n, k, heap: useHeap) { a, b in
                                    if a.0 > b.0 { return true }
                                    if b.0 > a.0 { return false }
                                    let an = a.0 != a.0, bn = b.0 != b.0
                                    return an != bn ? an : a.1 < b.1
                                }
                            } else {
                                Tensor.selectFirst(pairs, n, k, heap: useHeap) { a, b in
                                    if a.0 < b.0 { return true }
                                    if b.0 < a.0 { return false }
                                    let an = a.0 != a.0, bn = b.0 != b.0
                                    return an != bn ? bn : a.1 < b.1
                                }
                            }
                            for t in 0..<k {
                                let p = pairs[t]
                                ip[outBase &+ t &* outStride] = Int64(p.1)
                                if let vp { vp[outBase &+ t &* outStride] = p.0 }
                            }
                        }
                    }
                }
            }
        }
        switch dtype {
        case .float32: run(Float.self)
        case .float64: run(Double.self)
        case .int32: run(Int32.self)
        case .int64: run(Int64.self)
        case .bool: break
        }
        return (values, indices)
    }

    /// Reorders `p[0..<n]` so that its first `k` entries are the `k` first in the strict total order
    /// `before`, in that order. A full sort, or a bounded heap (O(n log k)) when `heap` is set.
    @inline(__always)
    private static func selectFirst<E>(_ p: UnsafeMutablePointer<E>, _ n: Int, _ k: Int, heap: Bool,
                                       _ before: (E, E) -> Bool) {
        var all = UnsafeMutableBufferPointer(start: p, count: n)
        if !heap {
            all.sort(by: before)
            return
        }
        // Max-heap (by `before`) of the best k so far: the root is the worst kept entry.
        func siftDown(_ start: Int, _ size: Int) {
            var i = start
            while true {
                let l = 2 &* i &+ 1
                if l >= size { return }
                var c = l
                if l &+ 1 < size && before(p[l], p[l &+ 1]) { c = l &+ 1 }
                if !before(p[i], p[c]) { return }
                let t = p[i]
                p[i] = p[c]
                p[c] = t
                i = c
            }
        }
        var i = k / 2 - 1
        while i >= 0 { siftDown(i, k); i -= 1 }
        if k > 0 {
            for j in k..<n where before(p[j], p[0]) {
                p[0] = p[j]
                siftDown(0, k)
            }
        }
        var best = UnsafeMutableBufferPointer(start: p, count: k)
        best.sort(by: before)
    }
}

/// The int64 positions that sort each line (all of them, or the best `k`); no gradient.
struct SortIndices: Primitive {
    static let name = "argsort"
    let axis: Int
    let k: Int?
    let descending: Bool
    var name: String { k == nil ? "argsort" : "topkIndices" }
    func forward(_ x: [Tensor]) -> Tensor {
        if let k { return x[0].topk(k, axis: axis, largest: descending).indices }
        return x[0].argsort(axis: axis, descending: descending)
    }
    func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] { [nil] }
}

// MARK: Shape rules (see Primitive.outputType)

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
