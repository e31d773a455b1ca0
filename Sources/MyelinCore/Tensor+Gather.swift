// Indexing by tensors: gather, indexSelect, scatter, scatterAdd, where, maskedFill, maskedSelect,
// oneHot (PyTorch semantics). Data moves as raw words of the dtype's width, so one specialised loop
// per width and index type serves every dtype.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Tensor {
    // MARK: gather / indexSelect

    /// Values picked along `axis` by an index tensor of the same rank, as `torch.gather`:
    /// `out[i][j][k] = self[i][index[i][j][k]][k]` for `axis == 1`.
    ///
    /// The result has the index's shape, which may be smaller than this tensor's on the other axes.
    /// Indices are int32 or int64; negative ones count from the end of the axis.
    ///
    /// ```swift
    /// let x = Tensor([[1, 2], [3, 4]])
    /// x.gather(axis: 1, index: Tensor([[0, 0], [1, 0]]))   // [[1, 1], [4, 3]]
    /// ```
    public func gather(axis: Int, index: Tensor) -> Tensor {
        if Tensor.recordsOrRoutes(self, index) { return Tensor.apply(Gathering.Gather(axis: axis), [self, index]) }
        let op = "gather"
        CopyOps.checkIndexDType(index, op)
        if index.rank != rank {
            fatalError("[gather] index must have the same rank as the tensor: index shape \(index.shape) vs tensor shape \(shape)")
        }
        let ax = CopyOps.axis(axis, rank: rank, op: op)
        if rank == 0 {
            return CopyOps.atLeast1D(self).gatherKernel(op, axis: 0, index: CopyOps.atLeast1D(index)).reshape([])
        }
        for d in 0..<rank where d != ax && index.shape[d] > shape[d] {
            fatalError("[gather] index shape \(index.shape) exceeds the tensor shape \(shape) on axis \(d)")
        }
        return gatherKernel(op, axis: ax, index: index)
    }

    /// Slices along `axis` at the positions in a 1-d int32/int64 tensor, as `torch.index_select`;
    /// negative indices count from the end. Picking rows of a contiguous matrix copies whole rows.
    ///
    /// ```swift
    /// let x = Tensor([[1, 2], [3, 4], [5, 6]])
    /// x.indexSelect(axis: 0, indices: Tensor([2, 0]))    // [[5, 6], [1, 2]]
    /// x.indexSelect(axis: 1, indices: Tensor([-1]))      // [[2], [4], [6]]
    /// ```
    public func indexSelect(axis: Int, indices: Tensor) -> Tensor {
        if Tensor.recordsOrRoutes(self, indices) { return Tensor.apply(Gathering.IndexSelect(axis: axis), [self, indices]) }
        let op = "indexSelect"
        CopyOps.checkIndexDType(indices, op, "indices")
        if indices.rank > 1 { fatalError("[indexSelect] indices must be 1-d, got shape \(indices.shape)") }
        let ax = CopyOps.axis(axis, rank: rank, op: op)
        if rank == 0 {
            let r = CopyOps.atLeast1D(self).indexSelect(axis: 0, indices: indices)
            return indices.count == 1 ? r.reshape([]) : r
        }
        let k = indices.count
        let n = shape[ax]
        var outShape = shape
        outShape[ax] = k
        if !isContiguous {
            // The index read along `axis` and broadcast over every other axis: a gather.
            var idxStrides = [Int](repeating: 0, count: rank)
            idxStrides[ax] = indices.rank == 1 ? indices.strides[0] : 0
            let idx = Tensor(storage: indices.storage, shape: outShape, strides: idxStrides, offset: indices.offset)
            return gatherKernel(op, axis: ax, index: idx)
        }
        // Contiguous: each selected slice is `inner` consecutive elements; copy them as blocks.
        let picks = CopyOps.positions(indices, size: n, axis: ax, op: op)
        let out = Tensor(uninitializedShape: outShape, dtype: dtype)
        let outer = Shape.count(Array(shape[..<ax]))
        let inner = Shape.count(Array(shape[(ax + 1)...]))
        let total = outer * k
        if total == 0 || inner == 0 { return out }
        func run<W>(_: W.Type) {
            let src = storage.data.assumingMemoryBound(to: W.self) + offset
            let dst = out.storage.data.assumingMemoryBound(to: W.self)
            picks.withUnsafeBufferPointer { p in
                let grain = Swift.max(1, Threading.elementwiseGrain / inner)
                Threading.parallelChunks(total, grain: grain) { lo, hi in
                    var o = lo / k, j = lo % k
                    for t in lo..<hi {
                        let from = src + (o &* n &+ p[j]) &* inner
                        if inner == 1 { dst[t] = from[0] } else { (dst + t &* inner).update(from: from, count: inner) }
                        j &+= 1
                        if j == k { j = 0; o &+= 1 }
                    }
                }
            }
        }
        switch dtype.byteSize {
        case 1: run(UInt8.self)
        case 4: run(UInt32.self)
        default: run(UInt64.self)
        }
        return out
    }

    /// `out[p] = self[p with axis replaced by index[p]]` over the index's shape (validated by callers).
    private func gatherKernel(_ op: String, axis ax: Int, index: Tensor) -> Tensor {
        let out = Tensor(uninitializedShape: index.shape, dtype: dtype)
        let total = out.count
        if total == 0 { return out }
        var srcStrides = strides
        srcStrides[ax] = 0
        let n = shape[ax], axStride = strides[ax]
        let loop = StridedLoop(shape: index.shape, strides: [out.strides, index.strides, srcStrides])
        let s0 = loop.innerStride(0), s1 = loop.innerStride(1), s2 = loop.innerStride(2)
        func run<W, I: FixedWidthInteger & TensorElement>(_: W.Type, _: I.Type) {
            let src = storage.data.assumingMemoryBound(to: W.self) + offset
            let dst = out.storage.data.assumingMemoryBound(to: W.self)
            let ip = index.basePointer(I.self)
            Threading.parallelChunks(total) { lo, hi in
                loop.forEachRun(lo, hi) { o0, o1, o2, _, m in
                    for j in 0..<m {
                        let v = Int(truncatingIfNeeded: ip[o1 &+ j &* s1])
                        let w = v < 0 ? v &+ n : v
                        if w < 0 || w >= n { CopyOps.indexOutOfRange(op, v, axis: ax, size: n) }
                        dst[o0 &+ j &* s0] = src[o2 &+ j &* s2 &+ w &* axStride]
                    }
                }
            }
        }
        func byIndex<W>(_: W.Type) {
            if index.dtype == .int32 { run(W.self, Int32.self) } else { run(W.self, Int64.self) }
        }
        switch dtype.byteSize {
        case 1: byIndex(UInt8.self)
        case 4: byIndex(UInt32.self)
        default: byIndex(UInt64.self)
        }
        return out
    }

    // MARK: scatter / scatterAdd

    /// A copy with `source`'s values written at the positions an index gives along `axis`, as
    /// `torch.scatter`: `out[i][index[i][j]] = source[i][j]` for `axis == 1`.
    ///
    /// The index has this tensor's rank and is no larger than `source` on any axis and than this
    /// tensor on the other axes; `source` has this tensor's dtype. When an index repeats, the last
    /// write (in row-major order of the index) wins.
    ///
    /// ```swift
    /// let z = Tensor.zeros([2, 3])
    /// z.scatter(axis: 1, index: Tensor([[2], [0]]), source: Tensor([[5.0], [7.0]]))
    /// // [[0, 0, 5], [7, 0, 0]]
    /// ```
    public func scatter(axis: Int, index: Tensor, source: Tensor) -> Tensor {
        if Tensor.recordsOrRoutes([self, index, source]) { return Tensor.apply(Gathering.Scatter(axis: axis, add: false), [self, index, source]) }
        return scatterKernel("scatter", axis: axis, index: index, source: source, add: false)
    }

    /// A copy with `value` written at the positions an index gives along `axis`, as
    /// `torch.scatter(dim, index, value)`.
    ///
    /// ```swift
    /// Tensor.zeros([2, 3]).scatter(axis: 1, index: Tensor([[1], [2]]), value: 1)   // [[0, 1, 0], [0, 0, 1]]
    /// ```
    public func scatter(axis: Int, index: Tensor, value: Double) -> Tensor {
        if Tensor.recordsOrRoutes(self, index) {
            let filler = Tensor(scalar: value, dtype: dtype)
            return scatter(axis: axis, index: index, source: index.rank == 0 ? filler : filler.expand(index.shape))
        }
        let v = Tensor(scalar: value, dtype: dtype)
        let src = index.rank == 0 ? v : v.expand(index.shape)
        return scatterKernel("scatter", axis: axis, index: index, source: src, add: false)
    }

    /// A copy with `source`'s values added at the positions an index gives along `axis`, as
    /// `torch.scatter_add`: `out[i][index[i][j]] += source[i][j]` for `axis == 1`; repeated
    /// indices accumulate (bool tensors accumulate with logical or).
    ///
    /// ```swift
    /// Tensor.zeros([3]).scatterAdd(axis: 0, index: Tensor([0, 2, 0]), source: Tensor([1.0, 2.0, 3.0]))
    /// // [4, 0, 2]
    /// ```
    public func scatterAdd(axis: Int, index: Tensor, source: Tensor) -> Tensor {
        if Tensor.recordsOrRoutes([self, index, source]) { return Tensor.apply(Gathering.Scatter(axis: axis, add: true), [self, index, source]) }
        return scatterKernel("scatterAdd", axis: axis, index: index, source: source, add: true)
    }

    private func scatterKernel(_ op: String, axis: Int, index: Tensor, source: Tensor, add: Bool) -> Tensor {
        CopyOps.checkIndexDType(index, op)
        if source.dtype != dtype {
            fatalError("[\(op)] source has dtype \(source.dtype) but the tensor has dtype \(dtype)")
        }
        if index.rank != rank || source.rank != rank {
            fatalError("[\(op)] index and source must have the tensor's rank \(rank): index shape \(index.shape), source shape \(source.shape)")
        }
        let ax = CopyOps.axis(axis, rank: rank, op: op)
        if rank == 0 {
            let r = CopyOps.atLeast1D(self).scatterKernel(op, axis: 0, index: CopyOps.atLeast1D(index),
                                                          source: CopyOps.atLeast1D(source), add: add)
            return r.reshape([])
        }
        for d in 0..<rank {
            if index.shape[d] > source.shape[d] {
                fatalError("[\(op)] index shape \(index.shape) exceeds the source shape \(source.shape) on axis \(d)")
            }
            if d != ax && index.shape[d] > shape[d] {
                fatalError("[\(op)] index shape \(index.shape) exceeds the tensor shape \(shape) on axis \(d)")
            }
        }
        let out = contiguousCopy()
        let total = index.count
        if total == 0 { return out }
        var outStrides = out.strides
        outStrides[ax] = 0
        let n = shape[ax], axStride = out.strides[ax]
        let loop = StridedLoop(shape: index.shape, strides: [index.strides, source.strides, outStrides])
        let s0 = loop.innerStride(0), s1 = loop.innerStride(1), s2 = loop.innerStride(2)
        // Serial, so repeated indices resolve deterministically (last write wins; sums are race-free).
        func run<T, I: FixedWidthInteger & TensorElement>(_: T.Type, _: I.Type, _ combine: (T, T) -> T) {
            let ip = index.basePointer(I.self)
            let src = source.storage.data.assumingMemoryBound(to: T.self) + source.offset
            let dst = out.storage.data.assumingMemoryBound(to: T.self)
            loop.forEachRun(0, total) { o0, o1, o2, _, m in
                for j in 0..<m {
                    let v = Int(truncatingIfNeeded: ip[o0 &+ j &* s0])
                    let w = v < 0 ? v &+ n : v
                    if w < 0 || w >= n { CopyOps.indexOutOfRange(op, v, axis: ax, size: n) }
                    let p = o2 &+ j &* s2 &+ w &* axStride
                    dst[p] = combine(dst[p], src[o1 &+ j &* s1])
                }
            }
        }
        func byIndex<T>(_: T.Type, _ combine: (T, T) -> T) {
            if index.dtype == .int32 { run(T.self, Int32.self, combine) } else { run(T.self, Int64.self, combine) }
        }
        if !add {
            switch dtype.byteSize {
            case 1: byIndex(UInt8.self) { _, s in s }
            case 4: byIndex(UInt32.self) { _, s in s }
            default: byIndex(UInt64.self) { _, s in s }
            }
        } else {
            switch dtype {
            case .float32: byIndex(Float.self) { $0 + $1 }
            case .float64: byIndex(Double.self) { $0 + $1 }
            case .int32: byIndex(Int32.self) { $0 &+ $1 }
            case .int64: byIndex(Int64.self) { $0 &+ $1 }
            case .bool: byIndex(Bool.self) { $0 || $1 }
            }
        }
        return out
    }

    // MARK: where / maskedFill / maskedSelect

    /// Elements of `a` where `condition` is true and of `b` elsewhere, as `torch.where`; the three
    /// broadcast together, and `a`/`b` are promoted to a common dtype. A non-bool condition counts
    /// non-zero as true.
    ///
    /// ```swift
    /// let x = Tensor([-1.0, 2.0, -3.0])
    /// Tensor.where(x .> 0, x, Tensor(scalar: 0.0))   // [0, 2, 0]
    /// ```
    public static func `where`(_ condition: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor {
        let dtype = DType.promote(a.dtype, b.dtype)
        if Tensor.routed(a, b, condition) { return Tensor.apply(Gathering.Where(), [condition, a, b]) }
        let x = a.to(dtype), y = b.to(dtype)
        if needsGrad(x, y) { return Tensor.apply(Gathering.Where(), [condition.detached(), x, y]) }
        let c = condition.dtype == .bool ? condition : condition.to(.bool)
        let shape = Shape.broadcastOrTrap("where", Shape.broadcastOrTrap("where", c.shape, x.shape), y.shape)
        let out = Tensor(uninitializedShape: shape, dtype: dtype)
        let total = out.count
        if total == 0 { return out }
        let loop = StridedLoop(shape: shape, strides: [
            out.strides,
            Shape.broadcastStrides(shape: c.shape, strides: c.strides, to: shape),
            Shape.broadcastStrides(shape: x.shape, strides: x.strides, to: shape),
            Shape.broadcastStrides(shape: y.shape, strides: y.strides, to: shape),
        ])
        let s0 = loop.innerStride(0), s1 = loop.innerStride(1), s2 = loop.innerStride(2), s3 = loop.innerStride(3)
        let cp = c.basePointer(Bool.self)
        func run<W>(_: W.Type) {
            let dst = out.storage.data.assumingMemoryBound(to: W.self)
            let xp = x.storage.data.assumingMemoryBound(to: W.self) + x.offset
            let yp = y.storage.data.assumingMemoryBound(to: W.self) + y.offset
            Threading.parallelChunks(total) { lo, hi in
                loop.forEachRun(lo, hi) { o0, o1, o2, o3, m in
                    if s0 == 1 && s1 == 1 && s2 == 1 && s3 == 1 {
                        for j in 0..<m { dst[o0 &+ j] = cp[o1 &+ j] ? xp[o2 &+ j] : yp[o3 &+ j] }
                    } else {
                        for j in 0..<m {
                            dst[o0 &+ j &* s0] = cp[o1 &+ j &* s1] ? xp[o2 &+ j &* s2] : yp[o3 &+ j &* s3]
                        }
                    }
                }
            }
        }
        switch dtype.byteSize {
        case 1: run(UInt8.self)
        case 4: run(UInt32.self)
        default: run(UInt64.self)
        }
        return out
    }

    /// `where` with a scalar for the false branch, in the dtype PyTorch would give it next to `a`.
    ///
    /// ```swift
    /// let x = Tensor([-1.0, 2.0])
    /// Tensor.where(x .> 0, x, 0)   // [0, 2]
    /// ```
    public static func `where`<S: ScalarOperand>(_ condition: Tensor, _ a: Tensor, _ b: S) -> Tensor {
        Tensor.where(condition, a, a.scalarOperand(b))
    }

    /// `where` with a scalar for the true branch, in the dtype PyTorch would give it next to `b`.
    ///
    /// ```swift
    /// let x = Tensor([-1.0, 2.0])
    /// Tensor.where(x .> 0, 1, x)   // [-1, 1]
    /// ```
    public static func `where`<S: ScalarOperand>(_ condition: Tensor, _ a: S, _ b: Tensor) -> Tensor {
        Tensor.where(condition, b.scalarOperand(a), b)
    }

    /// A copy with `value` wherever `mask` (broadcast to this shape) is true, as `torch.masked_fill`.
    /// The value is converted to this tensor's dtype; a non-bool mask counts non-zero as true.
    ///
    /// ```swift
    /// let x = Tensor([[1.0, 2.0], [3.0, 4.0]])
    /// x.maskedFill(Tensor([true, false]), value: 0)   // [[0, 2], [0, 4]]
    /// ```
    public func maskedFill(_ mask: Tensor, value: Double) -> Tensor {
        if Tensor.recordsOrRoutes(self, mask) { return Tensor.apply(Gathering.MaskedFill(value: value), [self, mask]) }
        if Shape.broadcast(mask.shape, shape) != shape {
            fatalError("[maskedFill] mask of shape \(mask.shape) cannot be broadcast to the tensor's shape \(shape)")
        }
        return Tensor.where(mask, Tensor(scalar: value, dtype: dtype), self)
    }

    /// The elements where `mask` is true, as a 1-d tensor in row-major order (`torch.masked_select`);
    /// the tensor and the mask broadcast together.
    ///
    /// ```swift
    /// let x = Tensor([[1, 2], [3, 4]])
    /// x.maskedSelect(x .> 1)   // [2, 3, 4]
    /// ```
    public func maskedSelect(_ mask: Tensor) -> Tensor {
        if Recording.tracing { fatalError("[maskedSelect] cannot be traced: its result's size depends on the mask's values") }
        if Tensor.needsGrad(self) {
            // Composed from differentiable ops: broadcast, flatten, pick the true positions.
            let m = mask.detached().to(.bool)
            let shape = Shape.broadcastOrTrap("maskedSelect", self.shape, m.shape)
            let positions = Tensor.arange(Shape.count(shape)).maskedSelect(m.expand(shape).flattened())
            return expand(shape).reshape([-1]).indexSelect(axis: 0, indices: positions)
        }
        let m = mask.dtype == .bool ? mask : mask.to(.bool)
        let shape = Shape.broadcastOrTrap("maskedSelect", self.shape, m.shape)
        let total = Shape.count(shape)
        if total == 0 { return Tensor(uninitializedShape: [0], dtype: dtype) }
        let loop = StridedLoop(shape: shape, strides: [
            Shape.broadcastStrides(shape: m.shape, strides: m.strides, to: shape),
            Shape.broadcastStrides(shape: self.shape, strides: strides, to: shape),
        ])
        let s0 = loop.innerStride(0), s1 = loop.innerStride(1)
        let mp = m.basePointer(Bool.self)
        var selected = 0
        loop.forEachRun(0, total) { o0, _, _, _, n in
            var c = 0
            for j in 0..<n where mp[o0 &+ j &* s0] { c &+= 1 }
            selected &+= c
        }
        let out = Tensor(uninitializedShape: [selected], dtype: dtype)
        if selected == 0 { return out }
        func run<W>(_: W.Type) {
            let src = storage.data.assumingMemoryBound(to: W.self) + offset
            var dst = out.storage.data.assumingMemoryBound(to: W.self)
            loop.forEachRun(0, total) { o0, o1, _, _, n in
                for j in 0..<n where mp[o0 &+ j &* s0] {
                    dst.pointee = src[o1 &+ j &* s1]
                    dst += 1
                }
            }
        }
        switch dtype.byteSize {
        case 1: run(UInt8.self)
        case 4: run(UInt32.self)
        default: run(UInt64.self)
        }
        return out
    }

    // MARK: oneHot

    /// Class indices (int32/int64) as one-hot vectors along a new last axis, as
    /// `torch.nn.functional.one_hot` (but in `dtype`, float32 by default).
    ///
    /// ```swift
    /// Tensor([0, 2]).oneHot(classes: 3)   // [[1, 0, 0], [0, 0, 1]]
    /// ```
    public func oneHot(classes: Int, dtype outDType: DType = .float32) -> Tensor {
        if !dtype.isInteger { fatalError("[oneHot] tensor must have dtype int32 or int64, got \(dtype)") }
        if classes < 0 { fatalError("[oneHot] classes must be non-negative, got \(classes)") }
        if Tensor.routed(self) { return Tensor.apply(Gathering.OneHot(classes: classes, dtype: outDType), [self]) }
        let out = Tensor.zeros(shape + [classes], dtype: outDType)
        let total = count
        if total == 0 { return out }
        let src = contiguous()
        func run<W, I: FixedWidthInteger & TensorElement>(_: W.Type, _: I.Type) {
            let one = CopyOps.word(W.self, of: 1, dtype: outDType)
            let ip = src.basePointer(I.self)
            let dst = out.storage.data.assumingMemoryBound(to: W.self)
            for i in 0..<total {
                let c = Int(truncatingIfNeeded: ip[i])
                if c < 0 || c >= classes {
                    fatalError("[oneHot] class \(c) is out of range for \(classes) classes")
                }
                dst[i &* classes &+ c] = one
            }
        }
        func byIndex<W>(_: W.Type) {
            if dtype == .int32 { run(W.self, Int32.self) } else { run(W.self, Int64.self) }
        }
        switch outDType.byteSize {
        case 1: byIndex(UInt8.self)
        case 4: byIndex(UInt32.self)
        default: byIndex(UInt64.self)
        }
        return out
    }
}

/// Elements of `a` where `condition` holds and of `b` elsewhere, with broadcasting: `Tensor.where`.
/// `where` is a Swift keyword, so call it with backticks.
///
/// ```swift
/// let x = Tensor([-1.0, 2.0])
/// `where`(x .> 0, x, Tensor.zeros([2]))   // [0, 2]
/// ```
public func `where`(_ condition: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor { Tensor.where(condition, a, b) }

/// The indexing primitives; index, mask and condition inputs get no gradient.
enum Gathering {
    /// A primitive whose input 1 holds positions along `axis` of its input 0 (a loaded graph
    /// checks constant ones against the axis).
    protocol AlongAxis: Primitive {
        var axis: Int { get }
    }

    struct Gather: AlongAxis {
        static let name = "gather"
        let axis: Int
        func forward(_ x: [Tensor]) -> Tensor { x[0].gather(axis: axis, index: x[1]) }
        func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] {
            [Tensor.zeros(x[0].shape, dtype: g.dtype).scatterAdd(axis: axis, index: x[1], source: g), nil]
        }
    }

    /// Repeated indices add up: the gradient adds each slice back at its index (indexAdd).
    struct IndexSelect: AlongAxis {
        static let name = "indexSelect"
        let axis: Int
        func forward(_ x: [Tensor]) -> Tensor { x[0].indexSelect(axis: axis, indices: x[1]) }
        func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] {
            [Tensor.zeros(x[0].shape, dtype: g.dtype).indexAdd(axis: axis, indices: x[1], source: g), nil]
        }
    }

    /// scatter (overwritten positions send nothing back to the base; each written value came from
    /// source) and scatterAdd.
    struct Scatter: AlongAxis {
        static let name = "scatter"
        let axis: Int
        let add: Bool
        var name: String { add ? "scatterAdd" : "scatter" }
        func forward(_ x: [Tensor]) -> Tensor {
            add ? x[0].scatterAdd(axis: axis, index: x[1], source: x[2]) : x[0].scatter(axis: axis, index: x[1], source: x[2])
        }
        func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] {
            [add ? g : g.scatter(axis: axis, index: x[1], value: 0), nil, g.gather(axis: axis, index: x[1])]
        }
    }

    struct Where: Primitive {
        static let name = "where"
        func forward(_ x: [Tensor]) -> Tensor { Tensor.where(x[0], x[1], x[2]) }
        func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] {
            let zero = Tensor.zeros([], dtype: g.dtype), cond = x[0]
            return [nil, Tensor.where(cond, g, zero).sumTo(x[1].shape).to(x[1].dtype),
                    Tensor.where(cond, zero, g).sumTo(x[2].shape).to(x[2].dtype)]
        }
    }

    struct MaskedFill: Primitive {
        static let name = "maskedFill"
        let value: Double
        func forward(_ x: [Tensor]) -> Tensor { x[0].maskedFill(x[1], value: value) }
        func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] { [g.maskedFill(x[1], value: 0), nil] }
    }

    struct OneHot: Primitive {
        static let name = "oneHot"
        let classes: Int
        let dtype: DType
        func forward(_ x: [Tensor]) -> Tensor { x[0].oneHot(classes: classes, dtype: dtype) }
        func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] { [nil] }
    }
}

// MARK: Shape rules (see Primitive.outputType)

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
