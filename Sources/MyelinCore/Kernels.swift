/// Generic loops that every elementwise op runs through. Each op is a small type (see
/// `ElementwiseOps.swift`) whose `apply` the compiler specialises into these loops, so the hot loop
/// has no per-element dispatch; contiguous operands take a flat loop the compiler can vectorise.
extension Tensor {
    /// `out[i] = f(self[i])` for a tensor of element type `T`, producing element type `U`.
    @inline(__always)
    func mapElements<T: TensorElement, U: TensorElement>(_: T.Type, _: U.Type, _ f: (T) -> U) -> Tensor {
        let out = Tensor(uninitializedLike: self, dtype: U.dtype)
        let src = basePointer(T.self)
        let dst = out.basePointer(U.self)
        let n = count
        if isContiguous {
            Threading.parallelChunks(n) { lo, hi in
                for i in lo..<hi { dst[i] = f(src[i]) }
            }
        } else {
            let loop = StridedLoop(shape: shape, strides: [out.strides, strides])
            let s0 = loop.innerStride(0), s1 = loop.innerStride(1)
            Threading.parallelChunks(n) { lo, hi in
                loop.forEachRun(lo, hi) { o0, o1, _, _, m in
                    for j in 0..<m { dst[o0 &+ j &* s0] = f(src[o1 &+ j &* s1]) }
                }
            }
        }
        return out
    }

    /// `out[i] = f(a[i], b[i])` with NumPy broadcasting; `a` and `b` already have element type `T`.
    @inline(__always)
    static func zipElements<T: TensorElement, U: TensorElement>(
        _ a: Tensor, _ b: Tensor, _: T.Type, _: U.Type, op: String, _ f: (T, T) -> U
    ) -> Tensor {
        let pa = a.basePointer(T.self)
        let pb = b.basePointer(T.self)
        if a.shape == b.shape && a.isContiguous && b.isContiguous {
            let out = Tensor(uninitializedLike: a, dtype: U.dtype)
            let dst = out.basePointer(U.self)
            Threading.parallelChunks(a.count) { lo, hi in
                for i in lo..<hi { dst[i] = f(pa[i], pb[i]) }
            }
            return out
        }
        let shape = Shape.broadcastOrTrap("\(op)", a.shape, b.shape)
        let out = Tensor(uninitializedShape: shape, dtype: U.dtype)
        let dst = out.basePointer(U.self)
        let n = out.count
        if b.count == 1 && a.shape == shape && a.isContiguous {
            let v = pb[0]
            Threading.parallelChunks(n) { lo, hi in
                for i in lo..<hi { dst[i] = f(pa[i], v) }
            }
            return out
        }
        if a.count == 1 && b.shape == shape && b.isContiguous {
            let v = pa[0]
            Threading.parallelChunks(n) { lo, hi in
                for i in lo..<hi { dst[i] = f(v, pb[i]) }
            }
            return out
        }
        let loop = StridedLoop(shape: shape, strides: [
            out.strides,
            Shape.broadcastStrides(shape: a.shape, strides: a.strides, to: shape),
            Shape.broadcastStrides(shape: b.shape, strides: b.strides, to: shape),
        ])
        let s0 = loop.innerStride(0), s1 = loop.innerStride(1), s2 = loop.innerStride(2)
        Threading.parallelChunks(n) { lo, hi in
            loop.forEachRun(lo, hi) { o0, o1, o2, _, m in
                // Unit-stride and broadcast-scalar runs get their own loops so they vectorise.
                if s0 == 1 && s1 == 1 && s2 == 1 {
                    for j in 0..<m { dst[o0 &+ j] = f(pa[o1 &+ j], pb[o2 &+ j]) }
                } else if s0 == 1 && s1 == 1 && s2 == 0 {
                    let v = pb[o2]
                    for j in 0..<m { dst[o0 &+ j] = f(pa[o1 &+ j], v) }
                } else if s0 == 1 && s1 == 0 && s2 == 1 {
                    let v = pa[o1]
                    for j in 0..<m { dst[o0 &+ j] = f(v, pb[o2 &+ j]) }
                } else {
                    for j in 0..<m { dst[o0 &+ j &* s0] = f(pa[o1 &+ j &* s1], pb[o2 &+ j &* s2]) }
                }
            }
        }
        return out
    }
}
