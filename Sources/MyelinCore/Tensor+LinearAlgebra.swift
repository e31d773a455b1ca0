extension Tensor {
    /// Matrix product with NumPy/PyTorch `matmul` rules: 1-D operands are vectors, 2-D are
    /// matrices, and higher ranks are stacks of matrices whose batch dimensions broadcast.
    /// Float tensors go to BLAS (transposed views are passed without copying); integer tensors use a
    /// plain loop.
    ///
    /// ```swift
    /// let a = Tensor.ones([2, 3]), b = Tensor.ones([3, 4])
    /// a.matmul(b).shape                          // [2, 4]
    /// Tensor.ones([5, 2, 3]).matmul(b).shape     // [5, 2, 4]
    /// ```
    public func matmul(_ other: Tensor) -> Tensor {
        if Tensor.routed(self, other) { return Tensor.apply(LinearAlgebra.Matmul(), [self, other]) }
        let a = self, b = other
        if a.rank == 0 || b.rank == 0 {
            fatalError("[matmul] both operands need at least one dimension, got shapes \(a.shape) and \(b.shape)")
        }
        // Vectors become matrices, and the added axis is removed from the result again.
        let a2 = a.rank == 1 ? a.unsqueezed(axis: 0) : a
        let b2 = b.rank == 1 ? b.unsqueezed(axis: 1) : b
        let m = a2.shape[a2.rank - 2], k = a2.shape[a2.rank - 1]
        let k2 = b2.shape[b2.rank - 2], n = b2.shape[b2.rank - 1]
        if k != k2 {
            fatalError("[matmul] cannot multiply \(a.shape) by \(b.shape): inner dimensions \(k) and \(k2) differ")
        }
        let batchA = Array(a2.shape.dropLast(2)), batchB = Array(b2.shape.dropLast(2))
        guard let batch = Shape.broadcast(batchA, batchB) else {
            fatalError("[matmul] cannot broadcast batch dimensions \(batchA) and \(batchB) of shapes \(a.shape) and \(b.shape)")
        }
        let d = Tensor.arithmeticDType(a.dtype, b.dtype)
        let (x, y) = (a2.to(d), b2.to(d))
        var result = Tensor.batchedMatmul(x.detached(), y.detached(), batch: batch, m: m, n: n, k: k)
        if Tensor.needsGrad(x, y) { result = result.recorded(LinearAlgebra.Matmul(), [x, y]) }
        if a.rank == 1 { result = result.squeezed(axis: -2) }
        if b.rank == 1 { result = result.squeezed(axis: -1) }
        return result
    }

    private static func batchedMatmul(_ a: Tensor, _ b: Tensor, batch: [Int], m: Int, n: Int, k: Int) -> Tensor {
        let out = Tensor(uninitializedShape: batch + [m, n], dtype: a.dtype)
        let batchCount = Shape.count(batch)
        if out.count == 0 { return out }
        if k == 0 { return Tensor.zeros(batch + [m, n], dtype: a.dtype) }
        // One GEMM for a stack times a single matrix when the stack's rows are contiguous: [B*m, k] x [k, n].
        if b.rank == 2 && a.rank > 2 && a.isContiguous {
            let flat = a.reshape([batchCount * m, k])
            let r = batchedMatmul(flat, b, batch: [], m: batchCount * m, n: n, k: k)
            return r.reshape(batch + [m, n])
        }
        let aB = a.expandBatch(batch), bB = b.expandBatch(batch)
        let batchStridesA = Array(aB.strides.dropLast(2)), batchStridesB = Array(bB.strides.dropLast(2))
        var offsets: [(Int, Int)] = []
        offsets.reserveCapacity(batchCount)
        if batch.isEmpty {
            offsets.append((0, 0))
        } else {
            let loop = StridedLoop(shape: batch, strides: [batchStridesA, batchStridesB])
            let sA = loop.innerStride(0), sB = loop.innerStride(1)
            loop.forEachRun(0, batchCount) { oa, ob, _, _, cnt in
                for j in 0..<cnt { offsets.append((oa + j * sA, ob + j * sB)) }
            }
        }
        let rsA = aB.strides[aB.rank - 2], csA = aB.strides[aB.rank - 1]
        let rsB = bB.strides[bB.rank - 2], csB = bB.strides[bB.rank - 1]
        switch a.dtype {
        case .float32:
            gemmBatches(Float.self, aB, bB, out, offsets, m, n, k, rsA, csA, rsB, csB)
        case .float64:
            gemmBatches(Double.self, aB, bB, out, offsets, m, n, k, rsA, csA, rsB, csB)
        case .int32: naiveBatches(Int32.self, aB, bB, out, offsets, m, n, k, rsA, csA, rsB, csB)
        default: naiveBatches(Int64.self, aB, bB, out, offsets, m, n, k, rsA, csA, rsB, csB)
        }
        return out
    }

    /// An affine map of the last dimension, `self.matmul(weight.T) + bias`, as one product (PyTorch's `F.linear`).
    ///
    /// ```swift
    /// let y = x.linear(weight: w, bias: b)   // x [8, 20], w [64, 20], b [64] -> y [8, 64]
    /// ```
    /// The bias is written into the output first and the product added onto it (BLAS's beta = 1), so
    /// there is no separate broadcast add: one op and one pass over the output fewer per layer.
    public func linear(weight: Tensor, bias: Tensor? = nil) -> Tensor {
        if Tensor.routed(self, weight, bias) { return Tensor.apply(LinearAlgebra.Linear(), [self, weight] + (bias.map { [$0] } ?? [])) }
        let x = self
        guard weight.rank == 2, x.rank >= 1, x.shape[x.rank - 1] == weight.shape[1] else {
            fatalError("[linear] cannot apply a weight of shape \(weight.shape) to an input of shape \(x.shape): "
                + "the weight must be [out, in] with in equal to the input's last dimension")
        }
        let outFeatures = weight.shape[0], inFeatures = weight.shape[1]
        if let b = bias, b.shape != [outFeatures] {
            fatalError("[linear] bias of shape \(b.shape) does not match the weight's \(outFeatures) outputs")
        }
        // Integer tensors and mixed dtypes take the general path, with its type promotion.
        guard x.dtype.isFloatingPoint, weight.dtype == x.dtype, bias.map({ $0.dtype == x.dtype }) ?? true else {
            let y = x.matmul(weight.T)
            return bias.map { y + $0 } ?? y
        }
        if let order = x.denseLeadingOrder {
            // A batch-first view of time-major outputs, say: run on the memory's order, no copy.
            let inverse = order.indices.map { order.firstIndex(of: $0)! }
            return x.permute(order).linear(weight: weight, bias: bias).permute(inverse)
        }
        let rows = x.shape.dropLast().reduce(1, *)
        // Matrices (the common case) skip the reshapes: each costs shape arrays on a path that
        // batch-1 inference runs per layer.
        let dense = x.detached().contiguous()
        let flat = x.rank == 2 ? dense : dense.reshape([rows, inFeatures])
        var out = Tensor(uninitializedShape: [rows, outFeatures], dtype: x.dtype)
        if out.count > 0 {
            switch x.dtype {
            case .float32: Tensor.linearKernel(Float.self, flat, weight.detached(), bias?.detached(), out)
            default: Tensor.linearKernel(Double.self, flat, weight.detached(), bias?.detached(), out)
            }
        }
        if x.rank != 2 { out = out.reshape(Array(x.shape.dropLast()) + [outFeatures]) }
        guard Tensor.needsGrad(x, weight) || bias.map({ Tensor.needsGrad($0) }) == true else { return out }
        return out.recorded(LinearAlgebra.Linear(), [x, weight] + (bias.map { [$0] } ?? []))
    }

    private static func linearKernel<T: FloatElement>(_: T.Type, _ x: Tensor, _ weight: Tensor, _ bias: Tensor?, _ out: Tensor) {
        let rows = x.shape[0], inFeatures = x.shape[1], outFeatures = weight.shape[0]
        let pc = out.basePointer(T.self)
        if let bias {
            let b = bias.contiguous(), pb = b.basePointer(T.self)
            for r in 0..<rows { (pc + r * outFeatures).update(from: pb, count: outFeatures) }
        } else if inFeatures == 0 {
            pc.update(repeating: 0, count: rows * outFeatures)
        }
        if inFeatures == 0 { return }
        // The weight read as its transpose [in, out]: a view BLAS takes without a copy.
        var w = weight
        var opW = BLASOperand(rows: inFeatures, cols: outFeatures, rowStride: w.strides[1], colStride: w.strides[0])
        if opW == nil {
            w = w.contiguous()
            opW = BLASOperand(rows: inFeatures, cols: outFeatures, rowStride: 1, colStride: inFeatures)
        }
        let opX = BLASOperand(rows: rows, cols: inFeatures, rowStride: inFeatures, colStride: 1)!
        BLAS.gemm(x.basePointer(T.self), opX, w.basePointer(T.self), opW!, pc, m: rows, n: outFeatures, k: inFeatures,
                  accumulate: bias != nil)
    }

    /// This tensor's matrices viewed with `batch` leading dimensions (broadcast, no copy).
    private func expandBatch(_ batch: [Int]) -> Tensor {
        expand(batch + Array(shape.suffix(2)))
    }

    private static func gemmBatches<T: FloatElement>(
        _: T.Type, _ a: Tensor, _ b: Tensor, _ out: Tensor, _ offsets: [(Int, Int)], _ m: Int, _ n: Int, _ k: Int,
        _ rsA: Int, _ csA: Int, _ rsB: Int, _ csB: Int
    ) {
        var a = a, b = b
        var rsA = rsA, csA = csA, rsB = rsB, csB = csB
        var opA = BLASOperand(rows: m, cols: k, rowStride: rsA, colStride: csA)
        var opB = BLASOperand(rows: k, cols: n, rowStride: rsB, colStride: csB)
        var offsets = offsets
        // Layouts BLAS can't read (e.g. broadcast rows or steps) are copied once into a dense stack.
        if opA == nil {
            a = a.contiguous()
            (rsA, csA) = (k, 1)
            opA = BLASOperand(rows: m, cols: k, rowStride: k, colStride: 1)
            offsets = offsets.indices.map { (($0) * m * k, offsets[$0].1) }
        }
        if opB == nil {
            b = b.contiguous()
            (rsB, csB) = (n, 1)
            opB = BLASOperand(rows: k, cols: n, rowStride: n, colStride: 1)
            offsets = offsets.indices.map { (offsets[$0].0, ($0) * k * n) }
        }
        let pa = a.basePointer(T.self), pb = b.basePointer(T.self), pc = out.basePointer(T.self)
        for (i, (oa, ob)) in offsets.enumerated() {
            BLAS.gemm(pa + oa, opA!, pb + ob, opB!, pc + i * m * n, m: m, n: n, k: k)
        }
    }

    private static func naiveBatches<T: NumericElement>(
        _: T.Type, _ a: Tensor, _ b: Tensor, _ out: Tensor, _ offsets: [(Int, Int)], _ m: Int, _ n: Int, _ k: Int,
        _ rsA: Int, _ csA: Int, _ rsB: Int, _ csB: Int
    ) {
        let pa = a.basePointer(T.self), pb = b.basePointer(T.self), pc = out.basePointer(T.self)
        for (bi, (oa, ob)) in offsets.enumerated() {
            let c = pc + bi * m * n
            for i in 0..<m {
                for j in 0..<n { c[i * n + j] = 0 }
                for p in 0..<k {
                    let av = pa[oa + i * rsA + p * csA]
                    for j in 0..<n { c[i * n + j] = T.wrappingAdd(c[i * n + j], T.wrappingMul(av, pb[ob + p * rsB + j * csB])) }
                }
            }
        }
    }

    /// For a view of rank 3 or more that is not contiguous but would be with its leading axes
    /// reordered (rows of the last axis contiguous), that order of all axes; else nil.
    var denseLeadingOrder: [Int]? {
        guard rank >= 3, !isContiguous, strides[rank - 1] == 1 else { return nil }
        let leading = (0..<rank - 1).sorted { (strides[$0], $1) > (strides[$1], $0) }
        let order = leading + [rank - 1]
        var expected = 1
        for axis in order.reversed() {
            if shape[axis] != 1 && strides[axis] != expected { return nil }
            expected *= shape[axis]
        }
        return order == Array(0..<rank) ? nil : order
    }

    /// A 2-D view whose columns are contiguous: the transpose of a row-major matrix.
    var isTransposedMatrix: Bool {
        rank == 2 && strides[0] == 1 && strides[1] >= shape[0] && shape[0] > 1 && shape[1] > 1
    }

    /// Inner product of two 1-D tensors of the same length, as a 0-d tensor.
    public func dot(_ other: Tensor) -> Tensor {
        if rank != 1 || other.rank != 1 || shape[0] != other.shape[0] {
            fatalError("[dot] needs two 1-D tensors of the same length, got shapes \(shape) and \(other.shape)")
        }
        return matmul(other)
    }

    /// Outer product of two 1-D tensors: `result[i, j] = self[i] * other[j]`.
    public func outer(_ other: Tensor) -> Tensor {
        if rank != 1 || other.rank != 1 {
            fatalError("[outer] needs two 1-D tensors, got shapes \(shape) and \(other.shape)")
        }
        return unsqueezed(axis: 1) * other.unsqueezed(axis: 0)
    }
}



/// Matrix product with `matmul` broadcasting rules: `matmul(a, b)`.
public func matmul(_ a: Tensor, _ b: Tensor) -> Tensor { a.matmul(b) }
/// An affine map of the last dimension: `linear(x, weight: w, bias: b)` is `x.matmul(w.T) + b`.
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor? = nil) -> Tensor { x.linear(weight: weight, bias: bias) }
/// Inner product of two vectors.
public func dot(_ a: Tensor, _ b: Tensor) -> Tensor { a.dot(b) }
/// Outer product of two vectors.
public func outer(_ a: Tensor, _ b: Tensor) -> Tensor { a.outer(b) }

/// The product primitives.
enum LinearAlgebra {
    /// NumPy's matmul; only the operands that require a gradient get one (a first layer's data
    /// input would otherwise cost a product as large as the weight's gradient).
    struct Matmul: Primitive {
        static let name = "matmul"
        func forward(_ x: [Tensor]) -> Tensor { x[0].matmul(x[1]) }
        func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] {
            let (a, b) = (x[0], x[1])
            let needA = a.requiresGrad, needB = b.requiresGrad
            guard a.rank < 2 || b.rank < 2 else { return Self.matrixGradients(g, a, b, needA, needB) }
            // Vectors: differentiate the matrix form, whose result has the removed axes back.
            let a2 = a.rank == 1 ? a.reshape([1] + a.shape) : a, b2 = b.rank == 1 ? b.reshape(b.shape + [1]) : b
            let batch = Shape.broadcast(Array(a2.shape.dropLast(2)), Array(b2.shape.dropLast(2))) ?? []
            let g2 = g.reshape(batch + [a2.shape[a2.rank - 2], b2.shape[b2.rank - 1]])
            let grads = Self.matrixGradients(g2, a2, b2, needA, needB)
            return [grads[0]?.reshape(a.shape), grads[1]?.reshape(b.shape)]
        }

        /// Each gradient is computed in its operand's memory layout: a transposed operand (Linear's
        /// weight.T) gets a transposed gradient, which the transpose's own vjp turns back into a
        /// contiguous one, so optimisers never copy it.
        static func matrixGradients(_ g: Tensor, _ a: Tensor, _ b: Tensor, _ needA: Bool, _ needB: Bool) -> [Tensor?] {
            let ga = !needA ? nil : a.rank == 2 && a.isTransposedMatrix
                ? b.matmul(g.transposed()).transposed() : g.matmul(b.transposed())
            let gb = !needB ? nil : b.rank == 2 && b.isTransposedMatrix
                ? g.transposed().matmul(a).transposed() : a.transposed().matmul(g)
            return [ga?.sumTo(a.shape), gb?.sumTo(b.shape)]
        }
    }

    /// x · weightᵀ + bias over the last axis (PyTorch's `F.linear`).
    struct Linear: Primitive {
        static let name = "linear"
        func forward(_ x: [Tensor]) -> Tensor { x[0].linear(weight: x[1], bias: x.count > 2 ? x[2] : nil) }
        func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] {
            let (input, weight) = (x[0], x[1])
            let outFeatures = weight.shape[0], inFeatures = weight.shape[1]
            let rows = input.shape.dropLast().reduce(1, *)
            let g2 = g.reshape([rows, outFeatures])
            let gx = input.requiresGrad ? g2.matmul(weight).reshape(input.shape) : nil
            let gw = weight.requiresGrad ? g2.T.matmul(input.reshape([rows, inFeatures])) : nil
            guard x.count > 2 else { return [gx, gw] }
            return [gx, gw, x[2].requiresGrad ? g2.sum(axis: 0) : nil]
        }
    }
}

// MARK: Shape rules (see Primitive.outputType)

extension LinearAlgebra.Matmul {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 2...2)
        let a = x[0].shape, b = x[1].shape
        if a.isEmpty || b.isEmpty { throw ShapeRuleError("both operands need a dimension, got \(a) and \(b)") }
        let a2 = a.count == 1 ? [1] + a : a, b2 = b.count == 1 ? b + [1] : b
        if a2[a2.count - 1] != b2[b2.count - 2] { throw ShapeRuleError("cannot multiply \(a) by \(b)") }
        var out = try ShapeRules.broadcast(Array(a2.dropLast(2)), Array(b2.dropLast(2))) + [a2[a2.count - 2], b2[b2.count - 1]]
        if a.count == 1 { out.remove(at: out.count - 2) }
        if b.count == 1 { out.removeLast() }
        return .init(shape: out, dtype: Tensor.arithmeticDType(x[0].dtype, x[1].dtype))
    }
}

extension LinearAlgebra.Linear {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 2...3)
        let input = x[0].shape, w = x[1].shape
        guard w.count == 2, !input.isEmpty, input[input.count - 1] == w[1] else {
            throw ShapeRuleError("cannot apply a weight of shape \(w) to an input of shape \(input)")
        }
        if x.count == 3 && x[2].shape != [w[0]] { throw ShapeRuleError("bias \(x[2].shape) does not match \(w[0]) outputs") }
        var d = Tensor.arithmeticDType(x[0].dtype, x[1].dtype)
        if x.count == 3 { d = Tensor.arithmeticDType(d, x[2].dtype) }
        return .init(shape: Array(input.dropLast()) + [w[0]], dtype: d)
    }
}
