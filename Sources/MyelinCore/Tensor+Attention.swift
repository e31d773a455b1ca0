// Scaled dot-product attention as one op, PyTorch's `F.scaled_dot_product_attention`. The loops
// are in Backend/CPU/AttentionKernels.swift.
//
// Two primitives, as the recurrence's:
// - `scaledDotProductAttention` returns the output [.., Tq, Dv] and each query row's log-sum-exp
//   [.., Tq] packed in one 1-D tensor (a primitive has one output; the op splits off the output
//   as a view). Its vjp runs
// - `scaledDotProductAttentionBackward`, which recomputes the probabilities block by block from
//   q, k, v and the saved log-sum-exp and returns the gradients of q, k and v packed in one tensor.
// Without autograd or a trace the op calls the forward loop directly and keeps no log-sum-exp.

extension Tensor {
    /// Attention of `query` over `key`/`value`: softmax(q kᵀ · scale + mask) v, as PyTorch's
    /// `torch.nn.functional.scaled_dot_product_attention`, in one op that never holds the full
    /// [.., Tq, Tk] score tensor.
    ///
    /// Shapes: `query` [..., Tq, D], `key` [..., Tk, D], `value` [..., Tk, Dv]; the leading axes
    /// broadcast (a [B, H] batch of heads is usual), and the result is [..., Tq, Dv]. `mask`
    /// broadcasts to [..., Tq, Tk] and is either bool (true = may attend, PyTorch's meaning;
    /// false becomes -inf) or of the query's float dtype, added to the scaled scores. `isCausal`
    /// lets query row i see keys 0...i only (top-left aligned, as PyTorch); it may be combined
    /// with a mask. `scale` defaults to 1/√D.
    ///
    /// A query row that sees no key (all masked) gives a zero output row and zero gradients, as
    /// PyTorch's SDPA does (a plain softmax would give NaN). The mask receives no gradient.
    ///
    /// ```swift
    /// let q = Tensor.randn([2, 4, 10, 8]), k = Tensor.randn([2, 4, 12, 8]), v = Tensor.randn([2, 4, 12, 8])
    /// let y = Tensor.scaledDotProductAttention(query: q, key: k, value: v)                // [2, 4, 10, 8]
    /// // Key padding: sequence 1 has 7 valid keys; true = may attend.
    /// let keep = Tensor.arange(12).reshape([1, 1, 1, 12]) .< Tensor([12, 7]).reshape([2, 1, 1, 1])
    /// let z = Tensor.scaledDotProductAttention(query: q, key: k, value: v, mask: keep)
    /// let c = Tensor.scaledDotProductAttention(query: q, key: k, value: v, isCausal: true)
    /// ```
    public static func scaledDotProductAttention(query: Tensor, key: Tensor, value: Tensor, mask: Tensor? = nil,
                                                 isCausal: Bool = false, scale: Double? = nil) -> Tensor {
        var inputs = [query, key, value]
        if let mask { inputs.append(mask) }
        let attention = Attention.Forward(scale: scale ?? 1 / Double(Swift.max(query.shape.last ?? 1, 1)).squareRoot(),
                                          isCausal: isCausal, hasMask: mask != nil)
        let g = attention.checkedGeometry(inputs)
        if recordsOrRoutes(inputs) {
            let packed = apply(attention, inputs)
            let count = g.slices * g.tq * g.dv
            return packed.split(sizes: [count, g.slices * g.tq])[0].reshape(g.batchShape + [g.tq, g.dv])
        }
        return Attention.run(g, inputs.map { $0.detached() }, withLogSumExp: false)
    }
}

/// The primitives of scaled dot-product attention.
enum Attention {
    /// Output and log-sum-exp, packed. Inputs: query, key, value, mask?.
    struct Forward: Primitive {
        static let name = "scaledDotProductAttention"
        let scale: Double
        let isCausal: Bool
        let hasMask: Bool
        var savesOutput: Bool { true }

        func forward(_ x: [Tensor]) -> Tensor { Attention.run(checkedGeometry(x), x, withLogSumExp: true) }

        func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] {
            let packed = Tensor.apply(Backward(scale: scale, isCausal: isCausal, hasMask: hasMask), [g] + x + [y])
            let pieces = packed.split(sizes: [x[0].count, x[1].count, x[2].count])
            var result: [Tensor?] = (0..<3).map { i in x[i].requiresGrad ? pieces[i].reshape(x[i].shape) : nil }
            if hasMask { result.append(nil) }
            return result
        }

        func checkedGeometry(_ x: [Tensor]) -> AttentionGeometry {
            do {
                return try geometry(x.map { Graph.ValueType(shape: $0.shape, dtype: $0.dtype) })
            } catch {
                fatalError("[scaledDotProductAttention] \((error as? ShapeRuleError)?.message ?? "\(error)")")
            }
        }

        /// Checks shapes and dtypes of query, key, value (and mask) and returns the sizes.
        func geometry(_ x: [Graph.ValueType]) throws -> AttentionGeometry {
            let expected = hasMask ? 4 : 3
            if x.count < expected { throw ShapeRuleError("takes \(expected) inputs, got \(x.count)") }
            let (q, k, v) = (x[0], x[1], x[2])
            try ShapeRules.float(q, "query")
            for (t, what) in [(k, "key"), (v, "value")] where t.dtype != q.dtype {
                throw ShapeRuleError("\(what) has dtype \(t.dtype) but query has \(q.dtype)")
            }
            for (t, what) in [(q, "query [..., Tq, D]"), (k, "key [..., Tk, D]"), (v, "value [..., Tk, Dv]")] where t.shape.count < 2 {
                throw ShapeRuleError("\(what) needs at least 2 dimensions, got \(t.shape)")
            }
            let (tq, d) = (q.shape[q.shape.count - 2], q.shape[q.shape.count - 1])
            let (tk, dk) = (k.shape[k.shape.count - 2], k.shape[k.shape.count - 1])
            let (tv, dv) = (v.shape[v.shape.count - 2], v.shape[v.shape.count - 1])
            if dk != d { throw ShapeRuleError("query \(q.shape) and key \(k.shape) differ in the last dimension: \(d) and \(dk)") }
            if tv != tk { throw ShapeRuleError("key \(k.shape) and value \(v.shape) differ in length: \(tk) and \(tv)") }
            var batch = Array(q.shape.dropLast(2))
            for t in [k, v] {
                guard let b = Shape.broadcast(batch, Array(t.shape.dropLast(2))) else {
                    throw ShapeRuleError("cannot broadcast the batch axes of query \(q.shape), key \(k.shape) and value \(v.shape)")
                }
                batch = b
            }
            if hasMask {
                let m = x[3]
                if m.dtype != .bool && m.dtype != q.dtype {
                    throw ShapeRuleError("the mask must be bool or \(q.dtype) like the query, got \(m.dtype)")
                }
                guard let full = Shape.broadcast(batch + [tq, tk], m.shape), full.suffix(2) == [tq, tk] else {
                    throw ShapeRuleError("the mask \(m.shape) does not broadcast to the scores \(batch + [tq, tk])")
                }
                batch = Array(full.dropLast(2))
            }
            return AttentionGeometry(batchShape: batch, tq: tq, tk: tk, d: d, dv: dv, scale: scale, isCausal: isCausal)
        }

        func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
            try ShapeRules.arity(x, (hasMask ? 4 : 3)...(hasMask ? 4 : 3))
            let g = try geometry(x)
            return Graph.ValueType(shape: [g.slices * g.tq * (g.dv + 1)], dtype: x[0].dtype)
        }
    }

    /// The gradients of query, key and value, flattened and packed in that order. Inputs: the
    /// packed output's gradient, query, key, value, mask?, the packed output.
    struct Backward: Primitive {
        static let name = "scaledDotProductAttentionBackward"
        let scale: Double
        let isCausal: Bool
        let hasMask: Bool

        func forward(_ x: [Tensor]) -> Tensor {
            let inputs = Array(x.dropFirst().dropLast())
            let g = Forward(scale: scale, isCausal: isCausal, hasMask: hasMask).checkedGeometry(inputs)
            let expected = g.slices * g.tq * (g.dv + 1)
            if x[0].count != expected || x.last!.count != expected {
                fatalError("[scaledDotProductAttention] the packed gradient and output need \(expected) elements, got \(x[0].count) and \(x.last!.count)")
            }
            return Attention.gradients(g, inputs, gradient: x[0], packedOutput: x.last!)
        }

        func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] {
            fatalError("[scaledDotProductAttention] second derivatives are not supported (its backward is a fused kernel)")
        }
    }

    // MARK: Kernel calls

    /// The output [batch..., Tq, Dv], or with `withLogSumExp` the packed output and log-sum-exp.
    static func run(_ g: AttentionGeometry, _ x: [Tensor], withLogSumExp: Bool) -> Tensor {
        let outCount = g.slices * g.tq * g.dv
        let out = withLogSumExp ? Tensor(uninitializedShape: [outCount + g.slices * g.tq], dtype: x[0].dtype)
                                : Tensor(uninitializedShape: g.batchShape + [g.tq, g.dv], dtype: x[0].dtype)
        if g.slices == 0 || g.tq == 0 { return out }
        func go<T: FloatElement>(_: T.Type) {
            withOperands(T.self, g, x) { q, k, v, mask in
                let o = out.basePointer(T.self)
                AttentionKernels.forward(g, q: q, k: k, v: v, mask: mask, out: o, lse: withLogSumExp ? o + outCount : nil)
            }
        }
        if x[0].dtype == .float32 { go(Float.self) } else { go(Double.self) }
        return out
    }

    /// The packed gradients of query, key and value (summed over axes they were broadcast along).
    static func gradients(_ g: AttentionGeometry, _ x: [Tensor], gradient: Tensor, packedOutput: Tensor) -> Tensor {
        let dtype = x[0].dtype
        let dq = Tensor(uninitializedShape: g.batchShape + [g.tq, g.d], dtype: dtype)
        let dk = Tensor.zeros(g.batchShape + [g.tk, g.d], dtype: dtype)
        let dv = Tensor.zeros(g.batchShape + [g.tk, g.dv], dtype: dtype)
        if g.slices > 0 && g.tq > 0 {
            let gc = gradient.contiguous(), yc = packedOutput.contiguous()
            let outCount = g.slices * g.tq * g.dv
            func go<T: FloatElement>(_: T.Type) {
                withOperands(T.self, g, x) { q, k, v, mask in
                    let gp = UnsafePointer(gc.basePointer(T.self))
                    AttentionKernels.backward(g, q: q, k: k, v: v, mask: mask,
                                              lse: UnsafePointer(yc.basePointer(T.self)) + outCount,
                                              gOut: gp, gLse: gp + outCount, dq: dq.basePointer(T.self),
                                              dk: dk.basePointer(T.self), dv: dv.basePointer(T.self))
                }
            }
            if dtype == .float32 { go(Float.self) } else { go(Double.self) }
            withExtendedLifetime((gc, yc)) {}
        }
        let parts = [dq.sumTo(x[0].shape), dk.sumTo(x[1].shape), dv.sumTo(x[2].shape)]
        return Tensor.cat(parts.map { $0.reshape([-1]) })
    }

    /// Calls `body` with the operands as the loops read them: q, k, v viewed as per-slice
    /// matrices without copying when BLAS can read their layout (unit stride along one of the
    /// last two axes), the mask with its broadcast strides.
    private static func withOperands<T: FloatElement>(_: T.Type, _ g: AttentionGeometry, _ x: [Tensor],
                                                      _ body: (AttentionOperand<T>, AttentionOperand<T>, AttentionOperand<T>,
                                                               AttentionMaskPointer<T>?) -> Void) {
        var held: [Tensor] = []
        func operand(_ t: Tensor) -> AttentionOperand<T> {
            var t = t
            let (rows, cols) = (t.shape[t.rank - 2], t.shape[t.rank - 1])
            var op = BLASOperand(rows: rows, cols: cols, rowStride: t.strides[t.rank - 2], colStride: t.strides[t.rank - 1])
            if op == nil {
                t = t.contiguous()
                op = BLASOperand(rows: rows, cols: cols, rowStride: cols, colStride: 1)
            }
            held.append(t)
            let strides = Shape.broadcastStrides(shape: Array(t.shape.dropLast(2)), strides: Array(t.strides.dropLast(2)),
                                                 to: g.batchShape)
            let transposed = BLASOperand(rows: cols, cols: rows, rowStride: t.strides[t.rank - 1], colStride: t.strides[t.rank - 2])
                ?? BLASOperand(rows: cols, cols: rows, rowStride: 1, colStride: cols)!
            return AttentionOperand(base: UnsafePointer(t.basePointer(T.self)), offsets: sliceOffsets(strides, g.batchShape),
                                    op: op!, transposedOp: transposed)
        }
        let q = operand(x[0]), k = operand(x[1]), v = operand(x[2])
        var mask: AttentionMaskPointer<T>?
        if x.count > 3 {
            let m = x[3]
            let full = g.batchShape + [g.tq, g.tk]
            let strides = Shape.broadcastStrides(shape: m.shape, strides: m.strides, to: full)
            let values: AttentionMaskPointer<T>.Values = m.dtype == .bool ? .bool(UnsafePointer(m.basePointer(Bool.self)))
                                                                        : .additive(UnsafePointer(m.basePointer(T.self)))
            mask = AttentionMaskPointer(values: values, offsets: sliceOffsets(Array(strides.dropLast(2)), g.batchShape),
                                        rowStride: strides[strides.count - 2], colStride: strides[strides.count - 1])
            held.append(m)
        }
        body(q, k, v, mask)
        withExtendedLifetime(held) {}
    }

    /// Element offsets of every batch index, in row-major order, for a tensor with these batch strides.
    private static func sliceOffsets(_ strides: [Int], _ shape: [Int]) -> [Int] {
        var offsets = [0]
        for (size, stride) in zip(shape, strides) {
            offsets = offsets.flatMap { o in (0..<size).map { o + $0 * stride } }
        }
        return offsets
    }
}
