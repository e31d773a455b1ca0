// Copies that rearrange or replicate elements: flip, pad, repeated (torch.repeat), tile (np.tile),
// repeatInterleave. Each builds a strided view of the source (negative or zero strides) and copies it
// once with the strided copy engine, so every dtype shares one raw-word loop.

extension Tensor {
    /// A copy with the order of the elements reversed along `axes`, as `torch.flip`.
    ///
    /// ```swift
    /// Tensor([[1, 2], [3, 4]]).flip(axes: [1])       // [[2, 1], [4, 3]]
    /// Tensor([[1, 2], [3, 4]]).flip(axes: [0, -1])   // [[4, 3], [2, 1]]
    /// ```
    public func flip(axes: [Int]) -> Tensor {
        if Tensor.recordsOrRoutes(self) { return Tensor.apply(Flip(axes: axes), [self]) }
        let ax = Shape.axes(axes, rank: rank, op: "flip")
        var st = strides, off = offset
        for a in ax where shape[a] > 1 {
            off += (shape[a] - 1) * st[a]
            st[a] = -st[a]
        }
        return Tensor(storage: storage, shape: shape, strides: st, offset: off).contiguousCopy()
    }

    /// `flip` with the axes as separate arguments: `x.flip(0, 1)`.
    ///
    /// ```swift
    /// Tensor([1, 2, 3]).flip(0)   // [3, 2, 1]
    /// ```
    public func flip(_ axes: Int...) -> Tensor { flip(axes: axes) }

    /// How `pad` fills the new border.
    ///
    /// ```swift
    /// Tensor([1, 2, 3]).pad([(2, 1)], mode: .reflect)   // [3, 2, 1, 2, 3, 2]
    /// ```
    public enum PaddingMode: Equatable, Sendable {
        /// A constant value (converted to the tensor's dtype): `[1, 2]` padded by 2 gives `[v, v, 1, 2, v, v]`.
        case constant(Double)
        /// The mirror image without repeating the edge (NumPy `reflect`, PyTorch `reflect`):
        /// `[1, 2, 3]` padded by 2 gives `[3, 2, 1, 2, 3, 2, 1]`. Widths must be smaller than the axis.
        case reflect
        /// The edge value repeated (NumPy `edge`, PyTorch `replicate`): `[1, 2]` by 2 gives `[1, 1, 1, 2, 2, 2]`.
        case replicate
        /// The tensor wrapped around (NumPy `wrap`, PyTorch `circular`): `[1, 2, 3]` by 2 gives
        /// `[2, 3, 1, 2, 3, 1, 2]`. Widths must not exceed the axis.
        case circular
    }

    /// A copy with a border added on every axis: `widths[i]` is the (before, after) count for axis `i`,
    /// one pair per axis from the first (NumPy's `np.pad` order; see `pad(lastAxes:mode:)` for PyTorch's).
    ///
    /// ```swift
    /// let x = Tensor([[1, 2], [3, 4]])
    /// x.pad([(0, 0), (1, 2)])                   // [[0, 1, 2, 0, 0], [0, 3, 4, 0, 0]]
    /// x.pad([(1, 1), (1, 1)], mode: .replicate) // shape [4, 4], edges repeated
    /// ```
    public func pad(_ widths: [(before: Int, after: Int)], mode: PaddingMode = .constant(0)) -> Tensor {
        if widths.count != rank {
            fatalError("[pad] needs one (before, after) pair per axis: got \(widths.count) pairs for a tensor of rank \(rank)")
        }
        if Tensor.recordsOrRoutes(self) {
            if case .constant(let value) = mode {
                return Tensor.apply(ConstantPad(before: widths.map(\.before), after: widths.map(\.after), value: value), [self])
            }
            return padByConcatenation(widths, mode: mode)
        }
        for (d, w) in widths.enumerated() {
            if w.before < 0 || w.after < 0 {
                fatalError("[pad] widths must be non-negative, got (\(w.before), \(w.after)) for axis \(d)")
            }
            let n = shape[d], widest = Swift.max(w.before, w.after)
            if widest == 0 { continue }
            switch mode {
            case .constant: break
            case .reflect where widest >= n:
                fatalError("[pad] reflect padding \(widest) must be smaller than the size \(n) of axis \(d)")
            case .replicate where n == 0:
                fatalError("[pad] replicate padding needs a non-empty axis, but axis \(d) has size 0")
            case .circular where widest > n:
                fatalError("[pad] circular padding \(widest) must not exceed the size \(n) of axis \(d)")
            default: break
            }
        }
        let outShape = (0..<rank).map { shape[$0] + widths[$0].before + widths[$0].after }
        var out = Tensor(uninitializedShape: outShape, dtype: dtype)
        if out.count == 0 { return out }
        if case .constant(let value) = mode, outShape != shape { out.fillStorage(with: value) }
        // The interior: the source itself.
        let interiorOffset = (0..<rank).reduce(0) { $0 + widths[$1].before * out.strides[$1] }
        if count > 0 {
            var interior = CopyOps.view(of: out, shape: shape, strides: out.strides, offset: interiorOffset)
            interior.copyElements(from: self)
        }
        if case .constant = mode { return out }
        // Border slabs, axis by axis: after axis d, the region that is full on axes <= d and interior
        // on axes > d is complete, and each slab of axis d copies one interior slab of that region.
        for d in 0..<rank {
            let n = shape[d], before = widths[d].before, after = widths[d].after
            if before == 0 && after == 0 { continue }
            var slabShape = outShape
            var slabOffset = 0
            for e in (d + 1)..<Swift.max(rank, d + 1) {
                slabShape[e] = shape[e]
                slabOffset += widths[e].before * out.strides[e]
            }
            slabShape[d] = 1
            for i in 0..<(before + n + after) where i < before || i >= before + n {
                let p = i - before
                let q: Int
                switch mode {
                case .reflect: q = p < 0 ? -p : 2 * (n - 1) - p
                case .replicate: q = Swift.min(Swift.max(p, 0), n - 1)
                default: q = ((p % n) + n) % n
                }
                let source = CopyOps.view(of: out, shape: slabShape, strides: out.strides,
                                          offset: slabOffset + (q + before) * out.strides[d])
                var target = CopyOps.view(of: out, shape: slabShape, strides: out.strides,
                                          offset: slabOffset + i * out.strides[d])
                target.copyElements(from: source)
            }
        }
        return out
    }

    /// `pad` with PyTorch's `F.pad` order: a flat list of (before, after) counts for the last axis
    /// first, then the second to last, and so on; axes not covered are not padded.
    ///
    /// ```swift
    /// let img = Tensor.zeros([1, 3, 8, 8])
    /// img.pad(lastAxes: [1, 1, 2, 2]).shape   // [1, 3, 12, 10]
    /// ```
    public func pad(lastAxes widths: [Int], mode: PaddingMode = .constant(0)) -> Tensor {
        if widths.count % 2 != 0 || widths.count / 2 > rank {
            fatalError("[pad] lastAxes needs an even number of widths, at most \(2 * rank) for rank \(rank); got \(widths.count)")
        }
        var pairs = [(before: Int, after: Int)](repeating: (0, 0), count: rank)
        for k in 0..<(widths.count / 2) { pairs[rank - 1 - k] = (widths[2 * k], widths[2 * k + 1]) }
        return pad(pairs, mode: mode)
    }

    /// The tensor tiled `repeats[i]` times along each axis, as `torch.Tensor.repeat`. `repeats` may
    /// be longer than the rank, which adds leading axes; it may not be shorter.
    ///
    /// ```swift
    /// Tensor([1, 2]).repeated([2, 2])   // [[1, 2, 1, 2], [1, 2, 1, 2]]
    /// ```
    public func repeated(_ repeats: [Int]) -> Tensor {
        if repeats.count < rank {
            fatalError("[repeat] needs at least one repeat count per axis: got \(repeats.count) for a tensor of rank \(rank)")
        }
        if let bad = repeats.first(where: { $0 < 0 }) {
            fatalError("[repeat] repeat counts must be non-negative, got \(bad) in \(repeats)")
        }
        let lead = repeats.count - rank
        let srcShape = [Int](repeating: 1, count: lead) + shape
        if Tensor.recordsOrRoutes(self) {
            // Composed from differentiable views: [1, s0, 1, s1, ...] expanded to [r0, s0, r1, s1, ...].
            let ones = srcShape.flatMap { [1, $0] }
            let pairs = repeats.indices.flatMap { [repeats[$0], srcShape[$0]] }
            return reshape(ones).expand(pairs).reshape(repeats.indices.map { repeats[$0] * srcShape[$0] })
        }
        let srcStrides = [Int](repeating: 0, count: lead) + strides
        // View the source as [r0, s0, r1, s1, ...] with stride 0 on the repeat axes, copy it, merge pairs.
        var pairShape: [Int] = [], pairStrides: [Int] = []
        for i in 0..<repeats.count {
            pairShape += [repeats[i], srcShape[i]]
            pairStrides += [0, srcStrides[i]]
        }
        var out = Tensor(uninitializedShape: pairShape, dtype: dtype)
        if out.count > 0 { out.copyElements(from: Tensor(storage: storage, shape: pairShape, strides: pairStrides, offset: offset)) }
        return out.reshape((0..<repeats.count).map { repeats[$0] * srcShape[$0] })
    }

    /// `repeated` with the counts as separate arguments: `x.repeated(2, 3)`.
    ///
    /// ```swift
    /// Tensor([1, 2]).repeated(3)   // [1, 2, 1, 2, 1, 2]
    /// ```
    public func repeated(_ repeats: Int...) -> Tensor { repeated(repeats) }

    /// The tensor tiled `reps[i]` times along each axis, as NumPy's `np.tile`: unlike `repeated`,
    /// fewer counts than axes apply to the last axes.
    ///
    /// ```swift
    /// Tensor([[1, 2], [3, 4]]).tile([2])   // [[1, 2, 1, 2], [3, 4, 3, 4]]
    /// ```
    public func tile(_ reps: [Int]) -> Tensor {
        let full = [Int](repeating: 1, count: Swift.max(0, rank - reps.count)) + reps
        return repeated(full)
    }

    /// Each element repeated `n` times along `axis` (flattened first when `axis` is nil), as
    /// `torch.repeat_interleave` and `np.repeat`.
    ///
    /// ```swift
    /// Tensor([1, 2]).repeatInterleave(2)                     // [1, 1, 2, 2]
    /// Tensor([[1, 2], [3, 4]]).repeatInterleave(2, axis: 1)  // [[1, 1, 2, 2], [3, 3, 4, 4]]
    /// ```
    public func repeatInterleave(_ n: Int, axis: Int? = nil) -> Tensor {
        if n < 0 { fatalError("[repeatInterleave] repeat count must be non-negative, got \(n)") }
        guard let axis else { return flattened().repeatInterleave(n, axis: 0) }
        let ax = CopyOps.axis(axis, rank: rank, op: "repeatInterleave")
        if Tensor.recordsOrRoutes(self) {
            let src = rank == 0 ? reshape([1]) : self
            var sh = src.shape
            sh.insert(n, at: ax + 1)
            var merged = src.shape
            merged[ax] *= n
            return src.unsqueezed(axis: ax + 1).expand(sh).reshape(merged)
        }
        let src = CopyOps.atLeast1D(self)
        var sh = src.shape, st = src.strides
        sh.insert(n, at: ax + 1)
        st.insert(0, at: ax + 1)
        var out = Tensor(uninitializedShape: sh, dtype: dtype)
        if out.count > 0 { out.copyElements(from: Tensor(storage: storage, shape: sh, strides: st, offset: offset)) }
        var merged = src.shape
        merged[ax] *= n
        return out.reshape(merged)
    }

    /// Non-constant padding built from differentiable slices and `cat`, one axis at a time, so its
    /// gradient (edges feeding several outputs) needs no code of its own.
    private func padByConcatenation(_ widths: [(before: Int, after: Int)], mode: PaddingMode) -> Tensor {
        var x = self
        for (axis, w) in widths.enumerated() where w.before > 0 || w.after > 0 {
            let n = x.shape[axis]
            func slice(_ start: Int?, _ end: Int?, _ step: Int) -> Tensor {
                var items = [TensorIndexItem](repeating: .every, count: x.rank)
                items[axis] = .range(start, end, step: step)
                return x.view(items)
            }
            func edge(_ i: Int, _ count: Int) -> Tensor {
                var target = x.shape
                target[axis] = count
                return slice(i, i + 1, 1).expand(target)
            }
            let left: Tensor, right: Tensor
            switch mode {
            case .reflect:
                left = slice(w.before, 0, -1)
                right = slice(n - 2, n - 2 - w.after < 0 ? nil : n - 2 - w.after, -1)
            case .replicate:
                left = edge(0, w.before)
                right = edge(n - 1, w.after)
            case .circular:
                left = slice(n - w.before, n, 1)
                right = slice(0, w.after, 1)
            case .constant:
                fatalError("[pad] constant padding is not built by concatenation")
            }
            x = Tensor.cat([left, x, right], axis: axis)
        }
        return x
    }
}

/// The elements reversed along axes; the gradient is reversed back.
struct Flip: Primitive {
    static let name = "flip"
    let axes: [Int]
    func forward(_ x: [Tensor]) -> Tensor { x[0].flip(axes: axes) }
    func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] { [g.flip(axes: axes)] }
}

/// Padding with a constant border; the gradient is the upstream gradient without the border.
struct ConstantPad: Primitive {
    static let name = "pad"
    let before: [Int], after: [Int]
    let value: Double
    func forward(_ x: [Tensor]) -> Tensor { x[0].pad(Array(zip(before, after)).map { (before: $0.0, after: $0.1) }, mode: .constant(value)) }
    func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] {
        [g.view(before.enumerated().map { .range($1, $1 + x[0].shape[$0], step: 1) })]
    }
}

// MARK: Shape rules (see Primitive.outputType)

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
