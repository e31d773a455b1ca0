/// Generic loops that every elementwise op runs through, and the kernel types they run.
///
/// A kernel is a small struct whose `callAsFunction` works on one element (or pair); the loops are
/// generic over the kernel type, so the compiler specialises one loop per op and dtype with the
/// element function inlined and vectorised. (A closure would do the same on one thread, but once the
/// loop runs on worker threads the closure can no longer be inlined into it.)
protocol MapKernel {
    associatedtype In: TensorElement
    associatedtype Out: TensorElement
    func callAsFunction(_ x: In) -> Out
}

protocol ZipKernel {
    associatedtype In: TensorElement
    associatedtype Out: TensorElement
    func callAsFunction(_ a: In, _ b: In) -> Out
}

enum ElementKernels {
    struct FloatUnary<Op: FloatUnaryOp, T: FloatElement>: MapKernel {
        let op: Op
        @inline(__always) func callAsFunction(_ x: T) -> T { op(x) }
    }
    struct NumericUnary<Op: NumericUnaryOp, T: NumericElement>: MapKernel {
        let op: Op
        @inline(__always) func callAsFunction(_ x: T) -> T { op(x) }
    }
    struct NumericBinary<Op: NumericBinaryOp, T: NumericElement>: ZipKernel {
        let op: Op
        @inline(__always) func callAsFunction(_ a: T, _ b: T) -> T { op(a, b) }
    }
    struct FloatBinary<Op: FloatBinaryOp, T: FloatElement>: ZipKernel {
        let op: Op
        @inline(__always) func callAsFunction(_ a: T, _ b: T) -> T { op(a, b) }
    }
    struct Compare<Op: ComparisonOp, T: NumericElement>: ZipKernel {
        let op: Op
        @inline(__always) func callAsFunction(_ a: T, _ b: T) -> Bool { op(a, b) }
    }
    struct And: ZipKernel { @inline(__always) func callAsFunction(_ a: Bool, _ b: Bool) -> Bool { a && b } }
    struct Or: ZipKernel { @inline(__always) func callAsFunction(_ a: Bool, _ b: Bool) -> Bool { a || b } }
    struct Xor: ZipKernel { @inline(__always) func callAsFunction(_ a: Bool, _ b: Bool) -> Bool { a != b } }
    struct Not: MapKernel { @inline(__always) func callAsFunction(_ x: Bool) -> Bool { !x } }

    /// Dtype conversions: through Double (floats), through Int64 (exact for integers), or to bool.
    struct ViaDouble<T: TensorElement, U: TensorElement>: MapKernel {
        @inline(__always) func callAsFunction(_ x: T) -> U { U(fromDouble: x.doubleValue) }
    }
    struct ViaInt64<T: TensorElement, U: TensorElement>: MapKernel {
        @inline(__always) func callAsFunction(_ x: T) -> U { U(fromInt64: x.int64Value) }
    }
    struct NonZero<T: TensorElement>: MapKernel {
        @inline(__always) func callAsFunction(_ x: T) -> Bool { x != T.zero }
    }
}

extension Tensor {
    /// `out[i] = k(self[i])`; the tensor's element type must be `K.In`.
    func mapElements<K: MapKernel>(_ k: K) -> Tensor {
        let out = Tensor(uninitializedLike: self, dtype: K.Out.dtype)
        let src = basePointer(K.In.self)
        let dst = out.basePointer(K.Out.self)
        let n = count
        if isContiguous {
            Threading.parallelChunks(n) { lo, hi in Tensor.mapRange(k, src, dst, lo, hi) }
        } else {
            let loop = StridedLoop(shape: shape, strides: [out.strides, strides])
            Threading.parallelChunks(n) { lo, hi in Tensor.mapStrided(k, loop, src, dst, lo, hi) }
        }
        return out
    }

    @inline(__always)
    static func mapRange<K: MapKernel>(_ k: K, _ src: UnsafeMutablePointer<K.In>, _ dst: UnsafeMutablePointer<K.Out>, _ lo: Int, _ hi: Int) {
        for i in lo..<hi { dst[i] = k(src[i]) }
    }

    static func mapStrided<K: MapKernel>(_ k: K, _ loop: StridedLoop, _ src: UnsafeMutablePointer<K.In>,
                                         _ dst: UnsafeMutablePointer<K.Out>, _ lo: Int, _ hi: Int) {
        let s0 = loop.innerStride(0), s1 = loop.innerStride(1)
        loop.forEachRun(lo, hi) { o0, o1, _, _, m in
            if s0 == 1 && s1 == 1 {
                for j in 0..<m { dst[o0 &+ j] = k(src[o1 &+ j]) }
            } else {
                for j in 0..<m { dst[o0 &+ j &* s0] = k(src[o1 &+ j &* s1]) }
            }
        }
    }

    /// `out[i] = k(a[i], b[i])` with NumPy broadcasting; `a` and `b` already have element type `K.In`.
    static func zipElements<K: ZipKernel>(_ a: Tensor, _ b: Tensor, _ k: K, op: String) -> Tensor {
        let pa = a.basePointer(K.In.self)
        let pb = b.basePointer(K.In.self)
        if a.shape == b.shape && a.isContiguous && b.isContiguous {
            let out = Tensor(uninitializedLike: a, dtype: K.Out.dtype)
            let dst = out.basePointer(K.Out.self)
            Threading.parallelChunks(a.count) { lo, hi in zipRange(k, pa, pb, dst, lo, hi) }
            return out
        }
        let shape = Shape.broadcastOrTrap(op, a.shape, b.shape)
        let out = Tensor(uninitializedShape: shape, dtype: K.Out.dtype)
        let dst = out.basePointer(K.Out.self)
        let n = out.count
        if b.count == 1 && a.shape == shape && a.isContiguous {
            Threading.parallelChunks(n) { lo, hi in zipScalarRight(k, pa, pb[0], dst, lo, hi) }
            return out
        }
        if a.count == 1 && b.shape == shape && b.isContiguous {
            Threading.parallelChunks(n) { lo, hi in zipScalarLeft(k, pa[0], pb, dst, lo, hi) }
            return out
        }
        if shape.count == 2, n < Threading.elementwiseGrain, a.isContiguous, b.isContiguous,
           zipMatrixByVector(k, a, b, pa, pb, dst, rows: shape[0], cols: shape[1]) {
            return out
        }
        let loop = StridedLoop(shape: shape, strides: [
            out.strides,
            Shape.broadcastStrides(shape: a.shape, strides: a.strides, to: shape),
            Shape.broadcastStrides(shape: b.shape, strides: b.strides, to: shape),
        ])
        Threading.parallelChunks(n) { lo, hi in zipStrided(k, loop, pa, pb, dst, lo, hi) }
        return out
    }

    /// A small matrix with a column ([rows, 1]) or a row ([1, cols] or [cols]) on either side, as
    /// a loss's softmax and a layer's bias make them: plain loops instead of a strided loop (which
    /// costs more than the arithmetic at this size). False when the operands are not of that form.
    static func zipMatrixByVector<K: ZipKernel>(_ k: K, _ a: Tensor, _ b: Tensor, _ pa: UnsafeMutablePointer<K.In>,
                                                _ pb: UnsafeMutablePointer<K.In>, _ dst: UnsafeMutablePointer<K.Out>,
                                                rows: Int, cols: Int) -> Bool {
        let full = [rows, cols]
        switch (a.shape == full ? Shape.matrixVector(b.shape, over: full) : nil,
                b.shape == full ? Shape.matrixVector(a.shape, over: full) : nil) {
        case (.column?, _):
            for r in 0..<rows { let v = pb[r], o = r &* cols; for j in 0..<cols { dst[o &+ j] = k(pa[o &+ j], v) } }
        case (.row?, _):
            for r in 0..<rows { let o = r &* cols; for j in 0..<cols { dst[o &+ j] = k(pa[o &+ j], pb[j]) } }
        case (nil, .column?):
            for r in 0..<rows { let v = pa[r], o = r &* cols; for j in 0..<cols { dst[o &+ j] = k(v, pb[o &+ j]) } }
        case (nil, .row?):
            for r in 0..<rows { let o = r &* cols; for j in 0..<cols { dst[o &+ j] = k(pa[j], pb[o &+ j]) } }
        case (nil, nil):
            return false
        }
        return true
    }

    @inline(__always)
    static func zipRange<K: ZipKernel>(_ k: K, _ pa: UnsafeMutablePointer<K.In>, _ pb: UnsafeMutablePointer<K.In>,
                                       _ dst: UnsafeMutablePointer<K.Out>, _ lo: Int, _ hi: Int) {
        for i in lo..<hi { dst[i] = k(pa[i], pb[i]) }
    }

    @inline(__always)
    static func zipScalarRight<K: ZipKernel>(_ k: K, _ pa: UnsafeMutablePointer<K.In>, _ v: K.In,
                                             _ dst: UnsafeMutablePointer<K.Out>, _ lo: Int, _ hi: Int) {
        for i in lo..<hi { dst[i] = k(pa[i], v) }
    }

    @inline(__always)
    static func zipScalarLeft<K: ZipKernel>(_ k: K, _ v: K.In, _ pb: UnsafeMutablePointer<K.In>,
                                            _ dst: UnsafeMutablePointer<K.Out>, _ lo: Int, _ hi: Int) {
        for i in lo..<hi { dst[i] = k(v, pb[i]) }
    }

    static func zipStrided<K: ZipKernel>(_ k: K, _ loop: StridedLoop, _ pa: UnsafeMutablePointer<K.In>,
                                         _ pb: UnsafeMutablePointer<K.In>, _ dst: UnsafeMutablePointer<K.Out>,
                                         _ lo: Int, _ hi: Int) {
        let s0 = loop.innerStride(0), s1 = loop.innerStride(1), s2 = loop.innerStride(2)
        loop.forEachRun(lo, hi) { o0, o1, o2, _, m in
            // Unit-stride and broadcast-scalar runs get their own loops so they vectorise.
            if s0 == 1 && s1 == 1 && s2 == 1 {
                for j in 0..<m { dst[o0 &+ j] = k(pa[o1 &+ j], pb[o2 &+ j]) }
            } else if s0 == 1 && s1 == 1 && s2 == 0 {
                let v = pb[o2]
                for j in 0..<m { dst[o0 &+ j] = k(pa[o1 &+ j], v) }
            } else if s0 == 1 && s1 == 0 && s2 == 1 {
                let v = pa[o1]
                for j in 0..<m { dst[o0 &+ j] = k(v, pb[o2 &+ j]) }
            } else {
                for j in 0..<m { dst[o0 &+ j &* s0] = k(pa[o1 &+ j &* s1], pb[o2 &+ j &* s2]) }
            }
        }
    }
}
