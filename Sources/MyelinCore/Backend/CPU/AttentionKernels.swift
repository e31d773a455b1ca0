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
            // The scores, then one row more: the shifted scores exp reads (see `expShifted`).
            // ... and each row's 1 / sum, applied to the block's output rows (Dv columns) rather
            // than to the probabilities (Tk columns).
            let scratch = UnsafeMutablePointer<T>.allocate(capacity: (g.block + 1) * Swift.max(g.tk, 1) + g.block)
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
        let tmp = scores + g.block * Swift.max(g.tk, 1), inverseSums = tmp + Swift.max(g.tk, 1)
        scoreBlock(g, slice: s, r0: r0, rows: rows, n: n, q: q, k: k, mask: mask, scores: scores, tmp: tmp)
        for i in 0..<rows {
            let row = scores + i * n
            let m = rowMax(row, n)
            if m == -.infinity {
                // No visible key: PyTorch's SDPA gives a zero row (its "safe softmax"), not NaN.
                row.initialize(repeating: 0, count: n)
                inverseSums[i] = 0
                lse?[s * g.tq + r0 + i] = .infinity
                continue
            }
            let sum = expShifted(row, n, by: m, through: tmp)
            inverseSums[i] = 1 / sum
            lse?[s * g.tq + r0 + i] = m + T.log(sum)
        }
        if g.dv > 0 {
            BLAS.gemm(UnsafePointer(scores), rowMajor(rows, n), v.slice(s), v.op, o, m: rows, n: g.dv, k: n)
            for i in 0..<rows {
                let orow = o + i * g.dv, inv = inverseSums[i]
                for c in 0..<g.dv { orow[c] *= inv }
            }
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
            let p = UnsafeMutablePointer<T>.allocate(capacity: capacity + Swift.max(g.tk, 1))
            let dp = UnsafeMutablePointer<T>.allocate(capacity: capacity)
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
        let tmp = p + g.block * Swift.max(g.tk, 1)
        scoreBlock(g, slice: s, r0: r0, rows: rows, n: n, q: q, k: k, mask: mask, scores: p, tmp: tmp)
        for i in 0..<rows { _ = expShifted(p + i * n, n, by: lse[s * g.tq + r0 + i], through: tmp) }
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
    /// -inf where false) and -inf above the causal diagonal, into `scores` [rows, n]. `tmp` holds
    /// n elements of scratch.
    @inline(__always)
    private static func scoreBlock<T: FloatElement>(_ g: AttentionGeometry, slice s: Int, r0: Int, rows: Int, n: Int,
                                                    q: AttentionOperand<T>, k: AttentionOperand<T>,
                                                    mask: AttentionMaskPointer<T>?, scores: UnsafeMutablePointer<T>,
                                                    tmp: UnsafeMutablePointer<T>) {
        if g.d > 0 {
            BLAS.gemm(q.slice(s) + q.op.rowOffset(r0), q.op, k.slice(s), k.transposedOp, scores, m: rows, n: n, k: g.d)
        } else {
            scores.initialize(repeating: 0, count: rows * n)
        }
        let scale = T(fromDouble: g.scale)
        // A bool mask that is the same for every query (key padding, [B, 1, 1, Tk]) becomes one
        // additive row: a select on bools per score does not vectorise, an add does.
        var sharedRow: UnsafePointer<T>?
        if let mask, mask.rowStride == 0, case .bool(let m) = mask.values {
            let mr = m + mask.offsets[s]
            for j in 0..<n { tmp[j] = mr[j * mask.colStride] ? 0 : -.infinity }
            sharedRow = UnsafePointer(tmp)
        }
        for i in 0..<rows {
            let row = scores + i * n
            let qi = r0 + i
            if let add = sharedRow {
                for j in 0..<n { row[j] = row[j] * scale + add[j] }
            } else if let mask {
                let base = mask.offsets[s] + qi * mask.rowStride, cs = mask.colStride
                switch mask.values {
                // Unit column stride (a key-padding or full mask) gets its own loop, which vectorises.
                case .bool(let m):
                    let mr = m + base
                    if cs == 1 {
                        for j in 0..<n { row[j] = mr[j] ? row[j] * scale : -.infinity }
                    } else {
                        for j in 0..<n { row[j] = mr[j * cs] ? row[j] * scale : -.infinity }
                    }
                case .additive(let m):
                    let mr = m + base
                    if cs == 1 {
                        for j in 0..<n { row[j] = row[j] * scale + mr[j] }
                    } else {
                        for j in 0..<n { row[j] = row[j] * scale + mr[j * cs] }
                    }
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
        // Four running maxima: one would chain every comparison on the previous one.
        var (m0, m1, m2, m3) = (-T.infinity, -T.infinity, -T.infinity, -T.infinity)
        var j = 0
        while j + 4 <= n {
            m0 = Swift.max(m0, row[j]); m1 = Swift.max(m1, row[j + 1])
            m2 = Swift.max(m2, row[j + 2]); m3 = Swift.max(m3, row[j + 3])
            j += 4
        }
        while j < n { m0 = Swift.max(m0, row[j]); j += 1 }
        return Swift.max(Swift.max(m0, m1), Swift.max(m2, m3))
    }

    /// row[j] = exp(row[j] - shift); returns the sum. float32 uses Myelin's vector exp from the
    /// shifted values in `tmp` (n elements): called in place, the C loop's overlap check would
    /// send it down its scalar path, 4x slower.
    @inline(__always)
    private static func expShifted<T: FloatElement>(_ row: UnsafeMutablePointer<T>, _ n: Int, by shift: T,
                                                    through tmp: UnsafeMutablePointer<T>) -> T {
        if T.self == Float.self {
            for j in 0..<n { tmp[j] = row[j] - shift }
            myelin_vexp_f32(UnsafeRawPointer(tmp).assumingMemoryBound(to: Float.self),
                            UnsafeMutableRawPointer(row).assumingMemoryBound(to: Float.self), n)
        } else {
            for j in 0..<n { row[j] = T.exp(row[j] - shift) }
        }
        // Four partial sums, for the same reason as `rowMax`.
        var (s0, s1, s2, s3): (T, T, T, T) = (0, 0, 0, 0)
        var j = 0
        while j + 4 <= n {
            s0 += row[j]; s1 += row[j + 1]; s2 += row[j + 2]; s3 += row[j + 3]
            j += 4
        }
        while j < n { s0 += row[j]; j += 1 }
        return (s0 + s1) + (s2 + s3)
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
