import CMyelinKernels

// The loops of scaled dot-product attention (Tensor+Attention.swift), flash-attention style: the
// scores of one (batch·head) slice are computed for a block of query rows at a time into a
// per-thread scratch of [block, Tk], softmaxed in place and multiplied by V, so the whole
// [.., Tq, Tk] score tensor never exists. The backward recomputes each block's probabilities
// from the saved per-row log-sum-exp instead of keeping them.

/// Sizes of one attention call, shared by the forward and backward loops.
struct AttentionGeometry {
    /// Batch shape (the broadcast of q, k, v and the mask without their last two axes).
    let batchShape: [Int]
    let tq: Int, tk: Int, d: Int, dv: Int
    let scale: Double
    let isCausal: Bool
    /// Query rows per block: about 32K scores of scratch (128 KB in float32), at least 16 rows.
    var block: Int { Swift.min(Swift.max(tq, 1), Swift.max(16, (1 << 15) / Swift.max(tk, 1))) }
    var slices: Int { batchShape.reduce(1, *) }
    var blocksPerSlice: Int { (tq + block - 1) / block }
    /// Keys a block of rows ending before `rowEnd` can see: all, or with a causal mask the first
    /// `rowEnd` (row i sees keys 0...i, PyTorch's top-left aligned `tril`).
    func keyCount(rowEnd: Int) -> Int { isCausal ? Swift.min(tk, rowEnd) : tk }
    /// Multiply-adds of the forward, to decide whether threads pay.
    var work: Int { slices * tq * tk * (d + dv) }
}

/// A [rows, cols] operand per slice: a base pointer, each slice's offset from it (0 strides for
/// broadcast batch axes) and its BLAS layout, as-is and transposed.
struct AttentionOperand<T: FloatElement> {
    let base: UnsafePointer<T>
    let offsets: [Int]
    let op: BLASOperand
    let transposedOp: BLASOperand

    @inline(__always) func slice(_ s: Int) -> UnsafePointer<T> { base + offsets[s] }
}

/// The mask as the loops read it: per-slice offsets and the strides of its [Tq, Tk] matrix.
struct AttentionMaskPointer<T: FloatElement> {
    enum Values { case bool(UnsafePointer<Bool>), additive(UnsafePointer<T>) }
    let values: Values
    let offsets: [Int]
    let rowStride: Int, colStride: Int
}

enum AttentionKernels {
    /// Fills `out` ([slices, Tq, Dv] contiguous) and, when given, `lse` ([slices, Tq]: each row's
    /// log-sum-exp of the scaled, masked scores; +inf for a row with no visible key).
    static func forward<T: FloatElement>(_ g: AttentionGeometry, q: AttentionOperand<T>, k: AttentionOperand<T>,
                                         v: AttentionOperand<T>, mask: AttentionMaskPointer<T>?,
                                         out: UnsafeMutablePointer<T>, lse: UnsafeMutablePointer<T>?) {
        let items = g.slices * g.blocksPerSlice
        let threads = Threading.count
        let chunks = threads > 1 && g.work >= 1 << 17 ? Swift.min(items, threads) : 1
        let body = { (c: Int) in
            let lo = items * c / chunks, hi = items * (c + 1) / chunks
            if lo == hi { return }
            let scratch = UnsafeMutablePointer<T>.allocate(capacity: g.block * Swift.max(g.tk, 1))
            defer { scratch.deallocate() }
            for item in lo..<hi {
                forwardBlock(g, slice: item / g.blocksPerSlice, block: item % g.blocksPerSlice,
                             q: q, k: k, v: v, mask: mask, scores: scratch, out: out, lse: lse)
            }
        }
        if chunks > 1 { ThreadPool.shared.run(chunks: chunks, threads: threads, body) } else { body(0) }
    }

    private static func forwardBlock<T: FloatElement>(_ g: AttentionGeometry, slice s: Int, block b: Int,
                                                      q: AttentionOperand<T>, k: AttentionOperand<T>, v: AttentionOperand<T>,
                                                      mask: AttentionMaskPointer<T>?, scores: UnsafeMutablePointer<T>,
                                                      out: UnsafeMutablePointer<T>, lse: UnsafeMutablePointer<T>?) {
        let r0 = b * g.block, r1 = Swift.min(g.tq, r0 + g.block), rows = r1 - r0
        let n = g.keyCount(rowEnd: r1)
        let o = out + (s * g.tq + r0) * g.dv
        if n == 0 || g.dv == 0 {
            o.initialize(repeating: 0, count: rows * g.dv)
            if n == 0 { lse.map { ($0 + s * g.tq + r0).initialize(repeating: .infinity, count: rows) } }
            if n == 0 { return }
        }
        scoreBlock(g, slice: s, r0: r0, rows: rows, n: n, q: q, k: k, mask: mask, scores: scores)
        for i in 0..<rows {
            let row = scores + i * n
            let m = rowMax(row, n)
            if m == -.infinity {
                // No visible key: PyTorch's SDPA gives a zero row (its "safe softmax"), not NaN.
                row.initialize(repeating: 0, count: n)
                lse?[s * g.tq + r0 + i] = .infinity
                continue
            }
            let sum = expShifted(row, n, by: m)
            let inv = 1 / sum
            for j in 0..<n { row[j] *= inv }
            lse?[s * g.tq + r0 + i] = m + T.log(sum)
        }
        if g.dv > 0 {
            BLAS.gemm(UnsafePointer(scores), rowMajor(rows, n), v.slice(s), v.op, o, m: rows, n: g.dv, k: n)
        }
    }

    /// Writes each input's gradient: `dq` [slices, Tq, D], and accumulates into zeroed `dk`
    /// [slices, Tk, D] and `dv` [slices, Tk, Dv]. `gOut` is the output's gradient [slices, Tq, Dv],
    /// `gLse` (optional) the log-sum-exp's. Slices run in parallel; a slice's blocks run in order,
    /// as they all add into the slice's dk and dv.
    static func backward<T: FloatElement>(_ g: AttentionGeometry, q: AttentionOperand<T>, k: AttentionOperand<T>,
                                          v: AttentionOperand<T>, mask: AttentionMaskPointer<T>?,
                                          lse: UnsafePointer<T>, gOut: UnsafePointer<T>, gLse: UnsafePointer<T>?,
                                          dq: UnsafeMutablePointer<T>, dk: UnsafeMutablePointer<T>, dv: UnsafeMutablePointer<T>) {
        let threads = Threading.count
        let chunks = threads > 1 && g.work >= 1 << 16 ? Swift.min(g.slices, threads) : 1
        let body = { (c: Int) in
            let lo = g.slices * c / chunks, hi = g.slices * (c + 1) / chunks
            if lo == hi { return }
            let capacity = g.block * Swift.max(g.tk, 1)
            let p = UnsafeMutablePointer<T>.allocate(capacity: capacity), dp = UnsafeMutablePointer<T>.allocate(capacity: capacity)
            defer { p.deallocate(); dp.deallocate() }
            for s in lo..<hi {
                for b in 0..<g.blocksPerSlice {
                    backwardBlock(g, slice: s, block: b, q: q, k: k, v: v, mask: mask, lse: lse, gOut: gOut, gLse: gLse,
                                  p: p, dp: dp, dq: dq, dk: dk, dv: dv)
                }
            }
        }
        if chunks > 1 { ThreadPool.shared.run(chunks: chunks, threads: threads, body) } else { body(0) }
    }

    private static func backwardBlock<T: FloatElement>(_ g: AttentionGeometry, slice s: Int, block b: Int,
                                                       q: AttentionOperand<T>, k: AttentionOperand<T>, v: AttentionOperand<T>,
                                                       mask: AttentionMaskPointer<T>?, lse: UnsafePointer<T>,
                                                       gOut: UnsafePointer<T>, gLse: UnsafePointer<T>?,
                                                       p: UnsafeMutablePointer<T>, dp: UnsafeMutablePointer<T>,
                                                       dq: UnsafeMutablePointer<T>, dk: UnsafeMutablePointer<T>,
                                                       dv: UnsafeMutablePointer<T>) {
        let r0 = b * g.block, r1 = Swift.min(g.tq, r0 + g.block), rows = r1 - r0
        let n = g.keyCount(rowEnd: r1)
        let dqBlock = dq + (s * g.tq + r0) * g.d
        if n == 0 || g.d == 0 {
            dqBlock.initialize(repeating: 0, count: rows * g.d)
            if n == 0 { return }
        }
        let gBlock = gOut + (s * g.tq + r0) * g.dv
        // P = exp(scores - lse): the forward's probabilities (0 everywhere on a row with lse = +inf).
        scoreBlock(g, slice: s, r0: r0, rows: rows, n: n, q: q, k: k, mask: mask, scores: p)
        for i in 0..<rows { _ = expShifted(p + i * n, n, by: lse[s * g.tq + r0 + i]) }
        // dP = dO Vᵀ, then dS = P (dP - Σⱼ P dP + dlse) scaled back to the raw products Q Kᵀ.
        if g.dv > 0 {
            BLAS.gemm(gBlock, rowMajor(rows, g.dv), v.slice(s), v.transposedOp, dp, m: rows, n: n, k: g.dv)
        } else {
            dp.initialize(repeating: 0, count: rows * n)
        }
        let scale = T(fromDouble: g.scale)
        for i in 0..<rows {
            let pr = p + i * n, dr = dp + i * n
            var dot: T = 0
            for j in 0..<n { dot += pr[j] * dr[j] }
            let shift = (gLse?[s * g.tq + r0 + i] ?? 0) - dot
            for j in 0..<n { dr[j] = pr[j] * (dr[j] + shift) * scale }
        }
        let ds = UnsafePointer(dp)
        if g.d > 0 {
            BLAS.gemm(ds, rowMajor(rows, n), k.slice(s), k.op, dqBlock, m: rows, n: g.d, k: n)
            BLAS.gemm(ds, columnMajor(n, rows), q.slice(s) + q.op.rowOffset(r0), q.op, dk + s * g.tk * g.d,
                      m: n, n: g.d, k: rows, accumulate: true)
        }
        if g.dv > 0 {
            BLAS.gemm(UnsafePointer(p), columnMajor(n, rows), gBlock, rowMajor(rows, g.dv), dv + s * g.tk * g.dv,
                      m: n, n: g.dv, k: rows, accumulate: true)
        }
    }

    /// Scores of rows r0..<r0+rows against the first n keys: scale · q kᵀ, plus the mask (bool:
    /// -inf where false) and -inf above the causal diagonal, into `scores` [rows, n].
    @inline(__always)
    private static func scoreBlock<T: FloatElement>(_ g: AttentionGeometry, slice s: Int, r0: Int, rows: Int, n: Int,
                                                    q: AttentionOperand<T>, k: AttentionOperand<T>,
                                                    mask: AttentionMaskPointer<T>?, scores: UnsafeMutablePointer<T>) {
        if g.d > 0 {
            BLAS.gemm(q.slice(s) + q.op.rowOffset(r0), q.op, k.slice(s), k.transposedOp, scores, m: rows, n: n, k: g.d)
        } else {
            scores.initialize(repeating: 0, count: rows * n)
        }
        let scale = T(fromDouble: g.scale)
        for i in 0..<rows {
            let row = scores + i * n
            let qi = r0 + i
            if let mask {
                let base = mask.offsets[s] + qi * mask.rowStride, cs = mask.colStride
                switch mask.values {
                case .bool(let m):
                    let mr = m + base
                    for j in 0..<n { row[j] = mr[j * cs] ? row[j] * scale : -.infinity }
                case .additive(let m):
                    let mr = m + base
                    for j in 0..<n { row[j] = row[j] * scale + mr[j * cs] }
                }
            } else {
                for j in 0..<n { row[j] *= scale }
            }
            if g.isCausal && qi + 1 < n {
                (row + qi + 1).initialize(repeating: -.infinity, count: n - qi - 1)
            }
        }
    }

    @inline(__always)
    private static func rowMax<T: FloatElement>(_ row: UnsafeMutablePointer<T>, _ n: Int) -> T {
        var m = -T.infinity
        for j in 0..<n where row[j] > m { m = row[j] }
        return m
    }

    /// row[j] = exp(row[j] - shift) in place; returns the sum. float32 uses Myelin's vector exp.
    @inline(__always)
    private static func expShifted<T: FloatElement>(_ row: UnsafeMutablePointer<T>, _ n: Int, by shift: T) -> T {
        for j in 0..<n { row[j] -= shift }
        if T.self == Float.self {
            let f = UnsafeMutableRawPointer(row).assumingMemoryBound(to: Float.self)
            myelin_vexp_f32(f, f, n)
        } else {
            for j in 0..<n { row[j] = T.exp(row[j]) }
        }
        var sum: T = 0
        for j in 0..<n { sum += row[j] }
        return sum
    }

    @inline(__always)
    private static func rowMajor(_ rows: Int, _ cols: Int) -> BLASOperand {
        BLASOperand(rows: rows, cols: cols, rowStride: cols, colStride: 1)!
    }

    /// The transpose of a row-major [cols, rows] block, read as [rows, cols].
    @inline(__always)
    private static func columnMajor(_ rows: Int, _ cols: Int) -> BLASOperand {
        BLASOperand(rows: rows, cols: cols, rowStride: 1, colStride: rows)!
    }
}
