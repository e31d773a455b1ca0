import RealModule
import CMyelinKernels

/// Sizes of one recurrence call and where each part of its workspace lies.
///
/// Everything is time-major: row (t, b) of a [T, B, n] block starts at (t·B + b)·n, so the rows of
/// one step are contiguous (one matrix product per step) and the previous step's rows are a fixed
/// distance away (the weight gradient is one product over all steps).
struct RecurrenceGeometry: Equatable {
    let kind: RecurrenceKind
    let reverse: Bool
    let steps: Int, batch: Int, hidden: Int
    /// P: the state h's size (the projection size of an LSTM with one, else `hidden`).
    let stateSize: Int
    let projected: Bool
    let hasBias: Bool
    /// With token inputs, the rows of the table the input projections are read from (0: the
    /// projections are given per step, [T, B, G·H]).
    var tableRows = 0

    var gateWidth: Int { kind.gateCount * hidden }
    /// Per row of the gates block: LSTM i, f, g, o; GRU r, z, n and Wₕₙh + bₕₙ; RNN none.
    var gateStride: Int { kind == .lstm || kind == .gru ? 4 * hidden : 0 }
    var rows: Int { steps * batch }

    /// The state after each step, [T, B, P] (kept unchanged at masked steps).
    var hsOffset: Int { 0 }
    /// The LSTM cell after each step, [T, B, H].
    var csOffset: Int { rows * stateSize }
    var gatesOffset: Int { csOffset + (kind == .lstm ? rows * hidden : 0) }
    /// An LSTM's unprojected output o·tanh(c), [T, B, H] (zero at masked steps).
    var hfOffset: Int { gatesOffset + rows * gateStride }
    var workspaceCount: Int { hfOffset + (projected ? rows * hidden : 0) }

    /// Outputs [T, B, P], final h [B, P], final c [B, H] (LSTM).
    var outputCount: Int { rows * stateSize + batch * stateSize + (kind == .lstm ? batch * hidden : 0) }

    /// The step whose state is the final one: the last processed.
    var lastStep: Int { reverse ? 0 : steps - 1 }
}

/// Raw pointers to a recurrence's contiguous inputs and workspace.
struct RecurrencePointers<T: FloatElement> {
    let xp: UnsafeMutablePointer<T>, wHh: UnsafeMutablePointer<T>
    let bHh: UnsafePointer<T>?, wHr: UnsafePointer<T>?
    let h0: UnsafeMutablePointer<T>, c0: UnsafePointer<T>?
    let mask: UnsafePointer<T>?
    let workspace: UnsafeMutablePointer<T>
    /// Row (t, b)'s row of the table `xp` when the inputs are tokens, [T, B]; nil when `xp` holds
    /// every step's projections.
    var tokens: UnsafePointer<Int>? = nil
}

/// The loops of `Tensor.recurrence`: forward (state, cell and gates of every step), output
/// extraction, and backward through time.
///
/// The batch's rows never meet until the weight gradients: a row's state at each step depends
/// only on that row's input and previous state. So with enough rows each thread takes a block of
/// them through every step, forward and backward, with one hand-off for the whole sequence
/// (`batchBlocks`); each step is then one product of the block's rows by the shared packed Wₕₕ and
/// one pass over its gates. With fewer rows (generation, small batches) each step's product is
/// split over the threads by columns and its gates by rows, two hand-offs a step. Either way an
/// element is computed by the same operations, so the bits do not depend on the split. Scratch
/// buffers are allocated once per call, never per step.
enum RecurrentKernels {
    @inline(__always) static func sigmoid<T: FloatElement>(_ x: T) -> T { 1 / (1 + .exp(-x)) }

    /// tanh through one exp (glibc's tanhf goes through expm1f, several times slower): for
    /// e = exp(-2|x|), tanh|x| = (1 - e) / (1 + e); exp never overflows and the absolute error
    /// stays within a few ulps of 1.
    @inline(__always) static func tanh<T: FloatElement>(_ x: T) -> T {
        let e = T.exp(-2 * Swift.abs(x))
        let t = (1 - e) / (1 + e)
        return x < 0 ? -t : t
    }

    /// Row-major [rows, cols] with leading dimension `ld`.
    @inline(__always) static func rowMajor(_ rows: Int, _ cols: Int, _ ld: Int) -> BLASOperand {
        BLASOperand(rows: rows, cols: cols, rowStride: ld, colStride: 1)!
    }

    /// The transpose of a row-major [cols, rows] matrix, read as [rows, cols].
    @inline(__always) static func transposedOf(_ rows: Int, _ cols: Int) -> BLASOperand {
        BLASOperand(rows: rows, cols: cols, rowStride: 1, colStride: rows)!
    }

    /// Runs `body` over one step's batch rows `b0..<b1`: at once when `blocked` (a thread's block
    /// of `overBatchBlocks`), else all rows in blocks, one per thread when the step's gate work is
    /// large enough to pay for a hand-off.
    static func overBatch(_ geo: RecurrenceGeometry, _ b0: Int, _ b1: Int, blocked: Bool, _ body: (Int, Int) -> Void) {
        if blocked {
            body(b0, b1)
            return
        }
        let chunks = Swift.min(Threading.count, geo.batch / 2)
        if chunks <= 1 || geo.batch * geo.gateWidth < 1 << 13 {
            body(0, geo.batch)
            return
        }
        ThreadPool.shared.run(chunks: chunks, threads: Threading.count) { c in
            body(geo.batch * c / chunks, geo.batch * (c + 1) / chunks)
        }
    }

    /// Blocks of batch rows that threads take through the whole sequence: one per thread when
    /// each gets at least 8 rows (the AVX-512 product's short panel), else 1 (steps split instead).
    /// lstm_train (batch 32, 2 threads): 2 blocks of 16, instead of 4 hand-offs a step.
    static func batchBlocks(_ geo: RecurrenceGeometry) -> Int {
        let threads = Threading.count
        return threads > 1 && geo.batch >= 8 * threads ? threads : 1
    }

    /// Runs `body(b0, b1, blocked)` once over all rows (blocked false: the body splits each step
    /// itself) or over `batchBlocks` blocks of rows in parallel (blocked true: the body runs each
    /// step on one thread).
    static func overBatchBlocks(_ geo: RecurrenceGeometry, _ body: (Int, Int, Bool) -> Void) {
        let blocks = batchBlocks(geo)
        if blocks == 1 {
            body(0, geo.batch, false)
            return
        }
        ThreadPool.shared.run(chunks: blocks, threads: Threading.count) { c in
            body(geo.batch * c / blocks, geo.batch * (c + 1) / blocks, true)
        }
    }

    // MARK: Forward

    static func forward<T: FloatElement>(_ geo: RecurrenceGeometry, _ p: RecurrencePointers<T>) {
        let (B, P, GH) = (geo.batch, geo.stateSize, geo.gateWidth)
        let hh = UnsafeMutablePointer<T>.allocate(capacity: B * GH)
        let proj = UnsafeMutablePointer<T>.allocate(capacity: geo.projected ? B * P : 0)
        defer { hh.deallocate(); proj.deallocate() }
        let wHhT = BLAS.RepeatedOperand(UnsafePointer(p.wHh), transposedOf(P, GH), k: P, n: GH, rows: B)
        overBatchBlocks(geo) { b0, b1, blocked in forwardSteps(geo, p, wHhT, hh, proj, b0, b1, blocked: blocked) }
    }

    /// Every step for batch rows `b0..<b1` (rows of the shared scratch `hh` and `proj`): on this
    /// thread when `blocked`, else each step's product and gates split over the threads.
    private static func forwardSteps<T: FloatElement>(_ geo: RecurrenceGeometry, _ p: RecurrencePointers<T>,
                                                      _ wHhT: BLAS.RepeatedOperand<T>, _ hh: UnsafeMutablePointer<T>,
                                                      _ proj: UnsafeMutablePointer<T>, _ b0: Int, _ b1: Int, blocked: Bool) {
        let (B, H, P, GH) = (geo.batch, geo.hidden, geo.stateSize, geo.gateWidth)
        let rows = b1 - b0, threads = blocked ? 1 : Threading.count
        let hs = p.workspace + geo.hsOffset, hf = p.workspace + geo.hfOffset
        for s in 0..<geo.steps {
            let t = geo.reverse ? geo.steps - 1 - s : s
            let tp = geo.reverse ? t + 1 : t - 1
            let hPrev = s == 0 ? p.h0 : hs + tp * B * P
            wHhT.multiply(UnsafePointer(hPrev + b0 * P), rowMajor(rows, P, P), hh + b0 * GH, m: rows, threads: threads)
            overBatch(geo, b0, b1, blocked: blocked) { c0, c1 in forwardGates(geo, p, s: s, t: t, tp: tp, hh, c0, c1) }
            if geo.projected {
                // h = o·tanh(c) Wₕᵣᵀ for this step's rows; masked rows already hold the kept state.
                BLAS.gemm(UnsafePointer(hf + (t * B + b0) * H), rowMajor(rows, H, H), p.wHr!, transposedOf(H, P), proj + b0 * P,
                          m: rows, n: P, k: H)
                for b in b0..<b1 where p.mask.map({ $0[t * B + b] != 0 }) ?? true {
                    (hs + (t * B + b) * P).update(from: proj + b * P, count: P)
                }
            }
        }
    }

    /// The gates, cell and state of step `t` for batch rows `b0..<b1`, from hh = h Wₕₕᵀ.
    private static func forwardGates<T: FloatElement>(_ geo: RecurrenceGeometry, _ p: RecurrencePointers<T>,
                                                      s: Int, t: Int, tp: Int, _ hh: UnsafeMutablePointer<T>,
                                                      _ b0: Int, _ b1: Int) {
        let (B, H, P, GH, S) = (geo.batch, geo.hidden, geo.stateSize, geo.gateWidth, geo.gateStride)
        let hs = p.workspace + geo.hsOffset, cs = p.workspace + geo.csOffset
        let gs = p.workspace + geo.gatesOffset, hf = p.workspace + geo.hfOffset
        let hPrev = s == 0 ? p.h0 : hs + tp * B * P
        let cPrev: UnsafePointer<T>? = geo.kind != .lstm ? nil : (s == 0 ? p.c0! : UnsafePointer(cs + tp * B * H))
        let zero = T.zero
        for b in b0..<b1 {
            let row = t * B + b
            let hOut = hs + row * P, hp = hPrev + b * P
            if let mask = p.mask, mask[row] == 0 {
                hOut.update(from: hp, count: P)
                if let cPrev { (cs + row * H).update(from: cPrev + b * H, count: H) }
                if geo.projected { (hf + row * H).update(repeating: zero, count: H) }
                continue
            }
            let x = p.xp + (p.tokens?[row] ?? row) * GH, a = hh + b * GH
            // A float32 LSTM's C pass adds bₕₕ itself, in the same order as this loop.
            let biasInPass = geo.kind == .lstm && T.self == Float.self
            if !biasInPass, let bh = p.bHh { for j in 0..<GH { a[j] += bh[j] } }
            switch geo.kind {
            case .lstm:
                let c = cs + row * H, g = gs + row * S, cp = cPrev! + b * H
                let h = geo.projected ? hf + row * H : hOut
                if biasInPass {
                    lstmGatesF32(H, x, a, p.bHh, cp, g, c, h)
                    continue
                }
                for j in 0..<H {
                    let i = sigmoid(x[j] + a[j]), f = sigmoid(x[H + j] + a[H + j])
                    let gg = tanh(x[2 * H + j] + a[2 * H + j]), o = sigmoid(x[3 * H + j] + a[3 * H + j])
                    let cn = f * cp[j] + i * gg
                    c[j] = cn
                    g[j] = i; g[H + j] = f; g[2 * H + j] = gg; g[3 * H + j] = o
                    h[j] = o * tanh(cn)
                }
            case .gru:
                let g = gs + row * S
                if T.self == Float.self {
                    gruGatesF32(H, x, a, UnsafePointer(hp), g, hOut)
                    continue
                }
                for j in 0..<H {
                    let rr = sigmoid(x[j] + a[j]), z = sigmoid(x[H + j] + a[H + j])
                    let hn = a[2 * H + j]
                    let n = tanh(x[2 * H + j] + rr * hn)
                    g[j] = rr; g[H + j] = z; g[2 * H + j] = n; g[3 * H + j] = hn
                    hOut[j] = (1 - z) * n + z * hp[j]
                }
            case .rnnTanh:
                for j in 0..<H { hOut[j] = tanh(x[j] + a[j]) }
            case .rnnRelu:
                for j in 0..<H { hOut[j] = Swift.max(x[j] + a[j], zero) }
            }
        }
    }

    /// An LSTM step's gates for one float32 row in one C pass (`myelin_lstm_forward_row_f32`): the
    /// gates written to `g` as [i, f, g, o], then the cell and state.
    private static func lstmGatesF32<T: FloatElement>(_ H: Int, _ x: UnsafeMutablePointer<T>, _ a: UnsafeMutablePointer<T>,
                                                      _ bh: UnsafePointer<T>?, _ cp: UnsafePointer<T>, _ g: UnsafeMutablePointer<T>,
                                                      _ c: UnsafeMutablePointer<T>, _ h: UnsafeMutablePointer<T>) {
        myelin_lstm_forward_row_f32(H, f32(x), f32(a), bh.map { f32($0) }, f32(cp), f32(g), f32(c), f32(h))
    }

    /// A float32 view of a pointer whose element type is Float (`T.self == Float.self` checked by the caller).
    @inline(__always) private static func f32<T>(_ p: UnsafePointer<T>) -> UnsafePointer<Float> {
        UnsafeRawPointer(p).assumingMemoryBound(to: Float.self)
    }

    @inline(__always) private static func f32<T>(_ p: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<Float> {
        UnsafeMutableRawPointer(p).assumingMemoryBound(to: Float.self)
    }

    /// A GRU step's gates for one float32 row in one C pass (`myelin_gru_forward_row_f32`), written
    /// to `g` as [r, z, n, W_hn h + b_hn], from `a` = h W_hhᵀ + b_hh.
    private static func gruGatesF32<T: FloatElement>(_ H: Int, _ x: UnsafeMutablePointer<T>, _ a: UnsafeMutablePointer<T>,
                                                     _ hp: UnsafePointer<T>, _ g: UnsafeMutablePointer<T>,
                                                     _ h: UnsafeMutablePointer<T>) {
        myelin_gru_forward_row_f32(H, f32(x), f32(a), f32(hp), f32(g), f32(h))
    }

    /// An LSTM step's backward for one float32 row in one C pass (`myelin_lstm_backward_row_f32`).
    private static func lstmBackwardF32<T: FloatElement>(_ H: Int, _ gt: UnsafeMutablePointer<T>, _ c: UnsafeMutablePointer<T>,
                                                         _ cp: UnsafePointer<T>, _ dc: UnsafeMutablePointer<T>,
                                                         _ dho: UnsafeMutablePointer<T>, _ dx: UnsafeMutablePointer<T>) {
        myelin_lstm_backward_row_f32(H, f32(gt), f32(c), f32(cp), f32(dc), f32(dho), f32(dx))
    }

    // MARK: Output

    /// Outputs (zero at masked steps), the final state h and (LSTM) c, packed.
    static func output<T: FloatElement>(_ geo: RecurrenceGeometry, _ p: RecurrencePointers<T>, _ out: UnsafeMutablePointer<T>) {
        let (B, H, P) = (geo.batch, geo.hidden, geo.stateSize)
        let hs = p.workspace + geo.hsOffset
        // On both cores: lstm_train's outputs are 2 MB a step.
        if let mask = p.mask {
            Threading.parallelChunks(geo.rows, grain: Swift.max(1, Threading.elementwiseGrain / Swift.max(1, P))) { r0, r1 in
                for row in r0..<r1 {
                    if mask[row] == 0 {
                        (out + row * P).update(repeating: .zero, count: P)
                    } else {
                        (out + row * P).update(from: hs + row * P, count: P)
                    }
                }
            }
        } else {
            Threading.parallelChunks(geo.rows * P) { lo, hi in (out + lo).update(from: hs + lo, count: hi - lo) }
        }
        let last = geo.lastStep
        (out + geo.rows * P).update(from: hs + last * B * P, count: B * P)
        if geo.kind == .lstm {
            (out + geo.rows * P + B * P).update(from: p.workspace + geo.csOffset + last * B * H, count: B * H)
        }
    }

    // MARK: Backward

    /// Gradients of every input from the packed output gradient `g`, written packed into `out` in
    /// the order of `RecurrenceGeometry.gradientSizes`.
    static func backward<T: FloatElement & IndexAddElement>(_ geo: RecurrenceGeometry, _ p: RecurrencePointers<T>,
                                                            _ g: UnsafePointer<T>, _ out: UnsafeMutablePointer<T>) {
        let (B, H, P, GH) = (geo.batch, geo.hidden, geo.stateSize, geo.gateWidth)
        let rows = geo.rows
        // With tokens the first gradient is the table's: every step's rows are summed into it at
        // the end, as indexSelect's gradient (indexAdd) sums them.
        let tokens = p.tokens.map { UnsafeBufferPointer(start: $0, count: rows) }
        let dxp = tokens == nil ? out : UnsafeMutablePointer<T>.allocate(capacity: rows * GH)
        let dwHh = out + (tokens == nil ? rows : geo.tableRows) * GH
        let dbHh = dwHh + GH * P
        let dwHr = dbHh + (geo.hasBias ? GH : 0)
        let dh0 = dwHr + (geo.projected ? P * H : 0)
        let dc0 = dh0 + B * P
        // The gradient of the recurrent pre-activations (h Wₕₕᵀ + bₕₕ): the input projection's for
        // RNN and LSTM; GRU's n block differs (it is multiplied by r).
        let dGhh = geo.kind == .gru ? UnsafeMutablePointer<T>.allocate(capacity: rows * GH) : dxp
        // The state's gradient at each step (zero at masked steps), for Wₕᵣ's gradient.
        let dHs = UnsafeMutablePointer<T>.allocate(capacity: geo.projected ? rows * P : 0)
        defer {
            if geo.kind == .gru { dGhh.deallocate() }
            if tokens != nil { dxp.deallocate() }
            dHs.deallocate()
        }
        backwardSteps(geo, p, g, dxp, dGhh, dHs, dh0, dc0)

        // Wₕₕ: Σₜ dGₜᵀ hₜ₋₁ as one product over the steps that have a previous state in hs, plus the
        // first processed step's with h0.
        let hs = p.workspace + geo.hsOffset
        let first = geo.reverse ? geo.steps - 1 : 0
        if geo.steps > 1 {
            let m = (geo.steps - 1) * B
            let dG = geo.reverse ? dGhh : dGhh + B * GH
            let hPrev = geo.reverse ? hs + B * P : hs
            BLAS.gemm(UnsafePointer(dG), transposedOf(GH, m), UnsafePointer(hPrev), rowMajor(m, P, P), dwHh, m: GH, n: P, k: m)
        }
        BLAS.gemm(UnsafePointer(dGhh + first * B * GH), transposedOf(GH, B), UnsafePointer(p.h0), rowMajor(B, P, P),
                  dwHh, m: GH, n: P, k: B, accumulate: geo.steps > 1)
        if geo.hasBias {
            // Every row added into one, in order (columns split over the threads).
            dbHh.update(repeating: .zero, count: GH)
            [Int](repeating: 0, count: rows).withUnsafeBufferPointer {
                IndexAddKernel.run(dbHh, UnsafePointer(dGhh), $0, outer: 1, n: 1, inner: GH)
            }
        }
        if let tokens {
            out.update(repeating: .zero, count: geo.tableRows * GH)
            IndexAddKernel.run(out, UnsafePointer(dxp), tokens, outer: 1, n: geo.tableRows, inner: GH)
        }
        if geo.projected {
            BLAS.gemm(UnsafePointer(dHs), transposedOf(P, rows), UnsafePointer(p.workspace + geo.hfOffset),
                      rowMajor(rows, H, H), dwHr, m: P, n: H, k: rows)
        }
    }

    /// Backward through the steps in reverse processing order: each step's gates' gradients, then
    /// the previous state's gradient as one product (split as `forward` splits).
    private static func backwardSteps<T: FloatElement>(_ geo: RecurrenceGeometry, _ p: RecurrencePointers<T>,
                                                       _ g: UnsafePointer<T>, _ dxp: UnsafeMutablePointer<T>,
                                                       _ dGhh: UnsafeMutablePointer<T>, _ dHs: UnsafeMutablePointer<T>,
                                                       _ dh0: UnsafeMutablePointer<T>, _ dc0: UnsafeMutablePointer<T>) {
        let (B, H, P, GH) = (geo.batch, geo.hidden, geo.stateSize, geo.gateWidth)
        // The running gradients of h and c live in dh0 and dc0 until they are final.
        let tmp = UnsafeMutablePointer<T>.allocate(capacity: B * P)
        let dhf = UnsafeMutablePointer<T>.allocate(capacity: geo.projected ? B * H : 0)
        defer { tmp.deallocate(); dhf.deallocate() }
        let gHn = g + geo.rows * P, gCn = gHn + B * P
        dh0.update(from: gHn, count: B * P)
        if geo.kind == .lstm { dc0.update(from: gCn, count: B * H) }
        let wHh = BLAS.RepeatedOperand(UnsafePointer(p.wHh), rowMajor(GH, P, P), k: GH, n: P, rows: B)
        overBatchBlocks(geo) { b0, b1, blocked in
            backwardRows(geo, p, wHh, g, dxp, dGhh, dHs, dh0, dc0, tmp, dhf, b0, b1, blocked: blocked)
        }
    }

    /// Every step backward for batch rows `b0..<b1` (rows of the shared dh, dc, tmp and dhf): on
    /// this thread when `blocked`, else each step's product and gates split over the threads.
    private static func backwardRows<T: FloatElement>(_ geo: RecurrenceGeometry, _ p: RecurrencePointers<T>,
                                                      _ wHh: BLAS.RepeatedOperand<T>, _ gOut: UnsafePointer<T>,
                                                      _ dxp: UnsafeMutablePointer<T>, _ dGhh: UnsafeMutablePointer<T>,
                                                      _ dHs: UnsafeMutablePointer<T>, _ dh: UnsafeMutablePointer<T>,
                                                      _ dc: UnsafeMutablePointer<T>, _ tmp: UnsafeMutablePointer<T>,
                                                      _ dhf: UnsafeMutablePointer<T>, _ b0: Int, _ b1: Int, blocked: Bool) {
        let (B, H, P, GH) = (geo.batch, geo.hidden, geo.stateSize, geo.gateWidth)
        let rows = b1 - b0, threads = blocked ? 1 : Threading.count
        for s in (0..<geo.steps).reversed() {
            let t = geo.reverse ? geo.steps - 1 - s : s
            let tp = geo.reverse ? t + 1 : t - 1
            @inline(__always) func valid(_ b: Int) -> Bool { p.mask.map { $0[t * B + b] != 0 } ?? true }
            for b in b0..<b1 where valid(b) {
                let go = gOut + (t * B + b) * P, d = dh + b * P
                for j in 0..<P { d[j] += go[j] }
            }
            if geo.projected {
                for b in b0..<b1 {
                    let dst = dHs + (t * B + b) * P
                    if valid(b) { dst.update(from: dh + b * P, count: P) } else { dst.update(repeating: .zero, count: P) }
                }
                // The unprojected output's gradient: dh Wₕᵣ.
                BLAS.gemm(UnsafePointer(dh + b0 * P), rowMajor(rows, P, P), p.wHr!, rowMajor(P, H, H), dhf + b0 * H, m: rows, n: H, k: P)
            }
            overBatch(geo, b0, b1, blocked: blocked) { c0, c1 in
                backwardGates(geo, p, s: s, t: t, tp: tp, dxp, dGhh, dh, dc, dhf, c0, c1)
            }
            // The previous state's gradient: dGₜ Wₕₕ (plus GRU's direct path); kept at masked steps.
            wHh.multiply(UnsafePointer(dGhh + (t * B + b0) * GH), rowMajor(rows, GH, GH), tmp + b0 * P, m: rows, threads: threads)
            for b in b0..<b1 where valid(b) {
                let d = dh + b * P, e = tmp + b * P
                if geo.kind == .gru {
                    for j in 0..<P { d[j] += e[j] }
                } else {
                    d.update(from: e, count: P)
                }
            }
        }
    }

    /// The gates' gradients of step `t` for batch rows `b0..<b1`; updates the running dc and,
    /// for a GRU, leaves dh·z (the direct path) in dh.
    private static func backwardGates<T: FloatElement>(_ geo: RecurrenceGeometry, _ p: RecurrencePointers<T>,
                                                       s: Int, t: Int, tp: Int, _ dxp: UnsafeMutablePointer<T>,
                                                       _ dGhh: UnsafeMutablePointer<T>, _ dh: UnsafeMutablePointer<T>,
                                                       _ dc: UnsafeMutablePointer<T>, _ dhf: UnsafeMutablePointer<T>,
                                                       _ b0: Int, _ b1: Int) {
        let (B, H, P, GH, S) = (geo.batch, geo.hidden, geo.stateSize, geo.gateWidth, geo.gateStride)
        let hs = p.workspace + geo.hsOffset, cs = p.workspace + geo.csOffset, gs = p.workspace + geo.gatesOffset
        let hPrev = s == 0 ? p.h0 : hs + tp * B * P
        let cPrev: UnsafePointer<T>? = geo.kind != .lstm ? nil : (s == 0 ? p.c0! : UnsafePointer(cs + tp * B * H))
        let one = T(1), zero = T.zero
        for b in b0..<b1 {
            let row = t * B + b
            let dx = dxp + row * GH, dG = dGhh + row * GH
            if let mask = p.mask, mask[row] == 0 {
                dx.update(repeating: zero, count: GH)
                if geo.kind == .gru { dG.update(repeating: zero, count: GH) }
                continue
            }
            let d = dh + b * P
            switch geo.kind {
            case .lstm:
                let gt = gs + row * S, c = cs + row * H, cp = cPrev! + b * H, dcr = dc + b * H
                let dho = geo.projected ? dhf + b * H : d
                if T.self == Float.self {
                    lstmBackwardF32(H, gt, c, cp, dcr, dho, dx)
                    continue
                }
                for j in 0..<H {
                    let i = gt[j], f = gt[H + j], gg = gt[2 * H + j], o = gt[3 * H + j]
                    let tc = tanh(c[j])
                    let dct = dcr[j] + dho[j] * o * (one - tc * tc)
                    dx[j] = dct * gg * i * (one - i)
                    dx[H + j] = dct * cp[j] * f * (one - f)
                    dx[2 * H + j] = dct * i * (one - gg * gg)
                    dx[3 * H + j] = dho[j] * tc * o * (one - o)
                    dcr[j] = dct * f
                }
            case .gru:
                let gt = gs + row * S, hp = hPrev + b * P
                if T.self == Float.self {
                    myelin_gru_backward_row_f32(H, f32(gt), f32(hp), f32(d), f32(dx), f32(dG))
                    continue
                }
                for j in 0..<H {
                    let rr = gt[j], z = gt[H + j], n = gt[2 * H + j], hn = gt[3 * H + j]
                    let dn = d[j] * (one - z) * (one - n * n)
                    let dz = d[j] * (hp[j] - n) * z * (one - z)
                    let dr = dn * hn * rr * (one - rr)
                    dx[j] = dr; dx[H + j] = dz; dx[2 * H + j] = dn
                    dG[j] = dr; dG[H + j] = dz; dG[2 * H + j] = dn * rr
                    d[j] *= z      // the direct path h' = ... + z h, added after the product
                }
            case .rnnTanh:
                let h = hs + row * P
                for j in 0..<H { dx[j] = d[j] * (one - h[j] * h[j]) }
            case .rnnRelu:
                let h = hs + row * P
                for j in 0..<H { dx[j] = h[j] > zero ? d[j] : zero }
            }
        }
    }
}
