#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif
import CMyelinKernels

// The loops behind convolution and pooling (Tensor+Convolution.swift, Tensor+Pooling.swift):
// im2col / col2im, the three convolution products (forward, input gradient, weight gradient) as
// per-sample GEMMs threaded across samples, and the pooling windows. Everything works on raw
// pointers of contiguous NCHW buffers; the tensor-level code makes its operands contiguous first.

/// The sizes of one 2-D convolution: input [n, c, h, w], weight [o, c/groups, kh, kw],
/// output [n, o, oh, ow]. `padTop`/`padLeft` may differ from the bottom/right padding (`.same`
/// with an even kernel); the output size already accounts for both.
struct ConvGeometry: Equatable, Codable, Sendable {
    var n, c, h, w: Int
    var o, kh, kw: Int
    var strideH, strideW: Int
    var padTop, padLeft: Int
    var dilationH, dilationW: Int
    var groups: Int
    var oh, ow: Int

    var cg: Int { c / groups }
    var og: Int { o / groups }
    /// Rows of a column buffer: one per (input channel of a group, kernel row, kernel column).
    var colRows: Int { cg * kh * kw }
    /// Columns of a column buffer: one per output position.
    var colCols: Int { oh * ow }
    var inputShape: [Int] { [n, c, h, w] }
    var weightShape: [Int] { [o, cg, kh, kw] }
    var outputShape: [Int] { [n, o, oh, ow] }
    /// The same geometry for a batch of `n` (a replayed graph may run another batch size).
    func batch(_ n: Int) -> ConvGeometry {
        var g = self
        g.n = n
        return g
    }
    /// A 1x1 kernel that reads every input position once, in order: the input is its own column buffer.
    var isPointwise: Bool {
        kh == 1 && kw == 1 && strideH == 1 && strideW == 1 && padTop == 0 && padLeft == 0 && oh == h && ow == w
    }
}

@inline(__always) func floorDiv(_ a: Int, _ b: Int) -> Int {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}

@inline(__always) func ceilDiv(_ a: Int, _ b: Int) -> Int { -floorDiv(-a, b) }

enum ConvKernels {
    /// C = alpha op(A) op(B) + beta C, row-major, single-threaded (callers thread across samples).
    @inline(__always)
    static func gemm<T: FloatElement>(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int,
                                      _ a: UnsafePointer<T>, _ lda: Int, _ b: UnsafePointer<T>, _ ldb: Int,
                                      beta: T, _ c: UnsafeMutablePointer<T>, _ ldc: Int) {
        _ = BLAS.configure
        // Float32 or float64 with beta 0 or 1: Myelin's packed kernels, as `BLAS.gemm` uses them.
        if T.self == Float.self && (beta == 0 || beta == 1) && PackedSgemm.takes(m: m, n: n, k: k)
            && myelin_sgemm(PackedSgemm.ISA.auto.rawValue, m, n, k, UnsafeRawPointer(a).assumingMemoryBound(to: Float.self), lda,
                            transA ? 1 : 0, UnsafeRawPointer(b).assumingMemoryBound(to: Float.self), ldb, transB ? 1 : 0,
                            UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), ldc, beta == 1 ? 1 : 0) != 0 {
            return
        }
        if T.self == Double.self && (beta == 0 || beta == 1) && PackedSgemm.takes(m: m, n: n, k: k)
            && myelin_dgemm(PackedSgemm.ISA.auto.rawValue, m, n, k, UnsafeRawPointer(a).assumingMemoryBound(to: Double.self), lda,
                            transA ? 1 : 0, UnsafeRawPointer(b).assumingMemoryBound(to: Double.self), ldb, transB ? 1 : 0,
                            UnsafeMutableRawPointer(c).assumingMemoryBound(to: Double.self), ldc, beta == 1 ? 1 : 0) != 0 {
            return
        }
        let ta = transA ? CblasTrans : CblasNoTrans, tb = transB ? CblasTrans : CblasNoTrans
        let i = BLAS.blasInt
        if T.self == Float.self {
            cblas_sgemm(CblasRowMajor, ta, tb, i(m), i(n), i(k), 1,
                        UnsafeRawPointer(a).assumingMemoryBound(to: Float.self), i(lda),
                        UnsafeRawPointer(b).assumingMemoryBound(to: Float.self), i(ldb), Float(beta.doubleValue),
                        UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), i(ldc))
        } else {
            cblas_dgemm(CblasRowMajor, ta, tb, i(m), i(n), i(k), 1,
                        UnsafeRawPointer(a).assumingMemoryBound(to: Double.self), i(lda),
                        UnsafeRawPointer(b).assumingMemoryBound(to: Double.self), i(ldb), beta.doubleValue,
                        UnsafeMutableRawPointer(c).assumingMemoryBound(to: Double.self), i(ldc))
        }
    }

    /// `gemm`, split across the pool by columns of C when `threaded` (a batch smaller than the
    /// thread count, where threading across samples leaves cores idle) and the product is large.
    @inline(__always)
    static func gemmMaybeThreaded<T: FloatElement>(_ threaded: Bool, _ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int,
                                                   _ a: UnsafePointer<T>, _ lda: Int, _ b: UnsafePointer<T>, _ ldb: Int,
                                                   beta: T, _ c: UnsafeMutablePointer<T>, _ ldc: Int) {
        let parts = Threading.count
        if !threaded || parts <= 1 || n < 32 * parts || m * n * k < BLAS.parallelThreshold {
            gemm(transA, transB, m, n, k, a, lda, b, ldb, beta: beta, c, ldc)
            return
        }
        ThreadPool.shared.run(chunks: parts, threads: parts) { t in
            // Column edges on multiples of 16, so no two threads write one cache line of C.
            let lo = t == 0 ? 0 : (n * t / parts) & ~15, hi = t == parts - 1 ? n : (n * (t + 1) / parts) & ~15
            if lo < hi {
                gemm(transA, transB, m, hi - lo, k, a, lda, b + (transB ? lo * ldb : lo), ldb, beta: beta, c + lo, ldc)
            }
        }
    }

    /// Runs `body(chunk, lo, hi)` over `0..<count` split into at most `Threading.count` chunks of at
    /// least `minPerChunk` items, on the shared pool.
    static func parallelRange(_ count: Int, minPerChunk: Int = 1, _ body: (Int, Int, Int) -> Void) {
        let chunks = Swift.max(1, Swift.min(Threading.count, count / Swift.max(minPerChunk, 1)))
        if chunks <= 1 {
            if count > 0 { body(0, 0, count) }
            return
        }
        ThreadPool.shared.run(chunks: chunks, threads: chunks) { c in
            let lo = count * c / chunks, hi = count * (c + 1) / chunks
            if lo < hi { body(c, lo, hi) }
        }
    }

    /// The output columns `lo..<hi` whose input column `ow * stride + offset` lies in `0..<size`.
    @inline(__always)
    static func validRange(offset: Int, stride: Int, size: Int, count: Int) -> (Int, Int) {
        let lo = Swift.max(0, ceilDiv(-offset, stride))
        let hi = Swift.min(count, floorDiv(size - 1 - offset, stride) + 1)
        return (Swift.min(lo, count), Swift.max(hi, Swift.min(lo, count)))
    }

    /// dst[0..<n] = src[0..<n] for the short rows of im2col (a memmove call costs more than the
    /// copy), eight floats at a time.
    @inline(__always)
    static func copyRow<T: FloatElement>(_ dst: UnsafeMutablePointer<T>, _ src: UnsafePointer<T>, _ n: Int) {
        var k = 0
        if T.self == Float.self {
            let s = UnsafeRawPointer(src), d = UnsafeMutableRawPointer(dst)
            while k + 8 <= n {
                d.storeBytes(of: s.loadUnaligned(fromByteOffset: 4 * k, as: SIMD8<Float>.self), toByteOffset: 4 * k,
                             as: SIMD8<Float>.self)
                k += 8
            }
            if k + 4 <= n {
                d.storeBytes(of: s.loadUnaligned(fromByteOffset: 4 * k, as: SIMD4<Float>.self), toByteOffset: 4 * k,
                             as: SIMD4<Float>.self)
                k += 4
            }
        }
        while k < n { dst[k] = src[k]; k += 1 }
    }

    /// dst[0..<n] += src[0..<n], eight floats at a time.
    @inline(__always)
    static func addRow<T: FloatElement>(_ dst: UnsafeMutablePointer<T>, _ src: UnsafePointer<T>, _ n: Int) {
        var k = 0
        if T.self == Float.self {
            let s = UnsafeRawPointer(src), d = UnsafeMutableRawPointer(dst)
            while k + 8 <= n {
                let sum = d.loadUnaligned(fromByteOffset: 4 * k, as: SIMD8<Float>.self)
                    + s.loadUnaligned(fromByteOffset: 4 * k, as: SIMD8<Float>.self)
                d.storeBytes(of: sum, toByteOffset: 4 * k, as: SIMD8<Float>.self)
                k += 8
            }
            if k + 4 <= n {
                let sum = d.loadUnaligned(fromByteOffset: 4 * k, as: SIMD4<Float>.self)
                    + s.loadUnaligned(fromByteOffset: 4 * k, as: SIMD4<Float>.self)
                d.storeBytes(of: sum, toByteOffset: 4 * k, as: SIMD4<Float>.self)
                k += 4
            }
        }
        while k < n { dst[k] += src[k]; k += 1 }
    }

    /// The fewest samples a chunk of `parallelRange` takes: enough for about 2^16 multiply-adds.
    @inline(__always)
    static func sampleGrain(_ g: ConvGeometry) -> Int {
        let work = g.o * g.colRows * g.colCols
        return work >= 1 << 16 ? 1 : Swift.max(1, (1 << 16) / Swift.max(work, 1))
    }

    /// Runs `body(chunk, lo, hi, col)` over the samples in chunks of at least `sampleGrain`, each
    /// with its own im2col buffer `col` [colRows, oh*ow] (nil when the convolution is pointwise:
    /// the product reads x itself).
    @inline(__always)
    static func sampleChunks<T: FloatElement>(_ g: ConvGeometry, _: T.Type,
                                              _ body: (Int, Int, Int, UnsafeMutablePointer<T>?) -> Void) {
        parallelRange(g.n, minPerChunk: sampleGrain(g)) { chunk, lo, hi in
            let col = g.isPointwise ? nil : UnsafeMutablePointer<T>.allocate(capacity: g.colRows * g.colCols)
            defer { col?.deallocate() }
            body(chunk, lo, hi, col)
        }
    }

    /// The product's operand for sample `s`, group `gi`: its columns unfolded into `col`, or x
    /// itself when there is no buffer (pointwise).
    @inline(__always)
    static func columns<T: FloatElement>(_ x: UnsafePointer<T>, sample s: Int, group gi: Int, _ g: ConvGeometry,
                                         _ col: UnsafeMutablePointer<T>?) -> UnsafePointer<T> {
        let xg = x + (s * g.c + gi * g.cg) * g.h * g.w
        guard let col else { return xg }
        im2col(xg, g, col)
        return UnsafePointer(col)
    }

    /// Unfolds one sample's group of channels (`x` at its first channel) into `col` [colRows, oh*ow].
    static func im2col<T: FloatElement>(_ x: UnsafePointer<T>, _ g: ConvGeometry, _ col: UnsafeMutablePointer<T>) {
        let ohw = g.oh * g.ow, hw = g.h * g.w
        for c in 0..<g.cg {
            let xc = x + c * hw
            for i in 0..<g.kh {
                for j in 0..<g.kw {
                    let dst = col + ((c * g.kh + i) * g.kw + j) * ohw
                    let colOffset = j * g.dilationW - g.padLeft
                    let (lo, hi) = validRange(offset: colOffset, stride: g.strideW, size: g.w, count: g.ow)
                    for oh in 0..<g.oh {
                        let d = dst + oh * g.ow
                        let ih = oh * g.strideH - g.padTop + i * g.dilationH
                        // Plain loops for the few padded elements: memset calls cost more than they save here.
                        if ih < 0 || ih >= g.h {
                            var k = 0
                            while k < g.ow { d[k] = 0; k += 1 }
                            continue
                        }
                        var k = 0
                        while k < lo { d[k] = 0; k += 1 }
                        k = hi
                        while k < g.ow { d[k] = 0; k += 1 }
                        let src = xc + ih * g.w + colOffset
                        if g.strideW == 1 {
                            copyRow(d + lo, src + lo, hi - lo)
                        } else {
                            let s = g.strideW
                            var ow = lo
                            while ow < hi { d[ow] = src[ow * s]; ow += 1 }
                        }
                    }
                }
            }
        }
    }

    /// Folds `col` [colRows, oh*ow] back onto one sample's group of channels, adding into `x`.
    static func col2im<T: FloatElement>(_ col: UnsafePointer<T>, _ g: ConvGeometry, _ x: UnsafeMutablePointer<T>) {
        let ohw = g.oh * g.ow, hw = g.h * g.w
        for c in 0..<g.cg {
            let xc = x + c * hw
            for i in 0..<g.kh {
                for j in 0..<g.kw {
                    let srcRow = col + ((c * g.kh + i) * g.kw + j) * ohw
                    let colOffset = j * g.dilationW - g.padLeft
                    let (lo, hi) = validRange(offset: colOffset, stride: g.strideW, size: g.w, count: g.ow)
                    if hi <= lo { continue }
                    for oh in 0..<g.oh {
                        let ih = oh * g.strideH - g.padTop + i * g.dilationH
                        if ih < 0 || ih >= g.h { continue }
                        let s = srcRow + oh * g.ow
                        let d = xc + ih * g.w + colOffset
                        let sw = g.strideW
                        var ow = lo
                        if sw == 1 {
                            addRow(d + lo, s + lo, hi - lo)
                        } else {
                            while ow < hi { d[ow * sw] += s[ow]; ow += 1 }
                        }
                    }
                }
            }
        }
    }

    /// out [n, o, oh, ow] = conv(x [n, c, h, w], w [o, cg, kh, kw]) + bias.
    static func forward<T: FloatElement>(_: T.Type, _ x: UnsafePointer<T>, _ w: UnsafePointer<T>, _ bias: UnsafePointer<T>?,
                                         relu: Bool = false, index: UnsafeMutablePointer<Int32>? = nil,
                                         _ out: UnsafeMutablePointer<T>, _ g: ConvGeometry) {
        let ohw = g.colCols, rows = g.colRows
        // Fewer samples than threads: each product is split across the threads instead.
        let fewSamples = g.n < Threading.count
        // The pooling epilogue: each sample's output goes to a buffer (in cache), pooled from there.
        let pool = index.map { _ in Tensor.slidingGeometry("conv2d", [1, g.o, g.oh, g.ow], kernel: 2, stride: 2, padding: 0,
                                                           divisor: nil) }
        sampleChunks(g, T.self) { _, lo, hi, col in
            let sampleOut = pool == nil ? nil : UnsafeMutablePointer<T>.allocate(capacity: g.o * ohw)
            defer { sampleOut?.deallocate() }
            for s in lo..<hi {
                let full = sampleOut ?? out + s * g.o * ohw
                for gi in 0..<g.groups {
                    let b = columns(x, sample: s, group: gi, g, col)
                    let o = full + gi * g.og * ohw
                    // With a bias, the output starts as the bias and the product adds to it (one
                    // pass over the output instead of BLAS zeroing it and a second pass adding).
                    if let bias {
                        for oc in 0..<g.og { (o + oc * ohw).update(repeating: bias[gi * g.og + oc], count: ohw) }
                    }
                    gemmMaybeThreaded(fewSamples, false, false, g.og, ohw, rows, w + gi * g.og * rows, rows, b, ohw,
                                      beta: bias == nil ? 0 : 1, o, ohw)
                }
                // The epilogue while the sample's output is in cache, as the separate ops compute it.
                if relu { reluInPlace(full, count: g.o * ohw) }
                if let pool, let index {
                    let pooled = pool.oh * pool.ow
                    PoolKernels.maxForwardPlanes(UnsafePointer(full), out + s * g.o * pooled, index + s * g.o * pooled,
                                                 pool, 0..<g.o)
                }
            }
        }
    }

    /// x = x < 0 ? 0 : x, the relu op's arithmetic (float32 through its vector kernel).
    static func reluInPlace<T: FloatElement>(_ x: UnsafeMutablePointer<T>, count: Int) {
        if T.self == Float.self {
            let f = UnsafeMutableRawPointer(x).assumingMemoryBound(to: Float.self)
            VectorKernels.relu(UnsafePointer(f), f, count)
        } else {
            for i in 0..<count where x[i] < 0 { x[i] = 0 }
        }
    }

    /// dx [n, c, h, w] = the transpose of the convolution applied to gy [n, o, oh, ow].
    static func backwardInput<T: FloatElement>(_: T.Type, _ gy: UnsafePointer<T>, _ w: UnsafePointer<T>,
                                               _ dx: UnsafeMutablePointer<T>, _ g: ConvGeometry) {
        let ohw = g.colCols, rows = g.colRows, pointwise = g.isPointwise
        // Fewer samples than threads: each product is split across the threads instead.
        let fewSamples = g.n < Threading.count
        sampleChunks(g, T.self) { _, lo, hi, col in
            for s in lo..<hi {
                let dxs = dx + s * g.c * g.h * g.w
                if !pointwise { dxs.update(repeating: 0, count: g.c * g.h * g.w) }
                for gi in 0..<g.groups {
                    let gys = gy + (s * g.o + gi * g.og) * ohw
                    let dxg = dxs + gi * g.cg * g.h * g.w
                    let target = col ?? dxg
                    gemmMaybeThreaded(fewSamples, true, false, rows, ohw, g.og, w + gi * g.og * rows, rows, gys, ohw,
                                      beta: 0, target, ohw)
                    if let col { col2im(col, g, dxg) }
                }
            }
        }
    }

    /// dw [o, cg, kh, kw] = sum over samples of gy [o, oh*ow] times the columns of x, transposed.
    static func backwardWeight<T: FloatElement>(_: T.Type, _ x: UnsafePointer<T>, _ gy: UnsafePointer<T>,
                                                _ dw: UnsafeMutablePointer<T>, _ g: ConvGeometry) {
        let ohw = g.colCols, rows = g.colRows
        let wCount = g.o * rows
        let fewSamples = g.n < Threading.count
        let threads = Swift.max(1, Swift.min(Threading.count, g.n))
        // Chunk 0 accumulates straight into dw; the others into their own buffers, added at the end.
        let extra = threads > 1 ? UnsafeMutablePointer<T>.allocate(capacity: (threads - 1) * wCount) : nil
        defer { extra?.deallocate() }
        dw.update(repeating: 0, count: wCount)
        extra?.update(repeating: 0, count: (threads - 1) * wCount)
        var used = [Bool](repeating: false, count: threads)
        used.withUnsafeMutableBufferPointer { usedFlags in
            let flags = usedFlags.baseAddress!
            sampleChunks(g, T.self) { chunk, lo, hi, col in
                flags[chunk] = true
                let acc = chunk == 0 ? dw : extra! + (chunk - 1) * wCount
                for s in lo..<hi {
                    for gi in 0..<g.groups {
                        let b = columns(x, sample: s, group: gi, g, col)
                        let gys = gy + (s * g.o + gi * g.og) * ohw
                        gemmMaybeThreaded(fewSamples, false, true, g.og, rows, ohw, gys, ohw, b, ohw, beta: 1,
                                          acc + gi * g.og * rows, rows)
                    }
                }
            }
        }
        if let extra {
            for t in 1..<threads where used[t] {
                let src = extra + (t - 1) * wCount
                for i in 0..<wCount { dw[i] += src[i] }
            }
        }
    }
}

// MARK: Pooling

/// The input window of each output position along one axis: `lo[i]..<hi[i]` (clipped to the input).
struct PoolWindows: Equatable {
    var lo: [Int], hi: [Int]

    /// Sliding windows of `kernel` with `stride`, `padding` on both sides (PyTorch's floor mode).
    static func sliding(size: Int, kernel: Int, stride: Int, padding: Int, dilation: Int = 1) -> PoolWindows {
        let out = (size + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1
        var lo: [Int] = [], hi: [Int] = []
        for i in 0..<Swift.max(out, 0) {
            let start = i * stride - padding
            lo.append(Swift.max(start, 0))
            hi.append(Swift.min(start + (kernel - 1) * dilation + 1, size))
        }
        return PoolWindows(lo: lo, hi: hi)
    }

    /// PyTorch's adaptive windows: floor(i * size / out) ..< ceil((i + 1) * size / out).
    static func adaptive(size: Int, out: Int) -> PoolWindows {
        var lo: [Int] = [], hi: [Int] = []
        for i in 0..<out {
            lo.append((i * size) / out)
            hi.append(((i + 1) * size + out - 1) / out)
        }
        return PoolWindows(lo: lo, hi: hi)
    }

    var count: Int { lo.count }
}

/// The windows of a 2-D pool over [n, c, h, w] planes. `divisor` nil means the window's own size
/// (adaptive pooling, `countIncludePad: false`).
struct PoolGeometry: Equatable {
    var planes: Int, h: Int, w: Int
    var rows: PoolWindows, cols: PoolWindows
    var divisor: Int?
    var oh: Int { rows.count }
    var ow: Int { cols.count }

    @inline(__always) func div(_ i: Int, _ j: Int) -> Int {
        divisor ?? Swift.max(1, (rows.hi[i] - rows.lo[i]) * (cols.hi[j] - cols.lo[j]))
    }
}

enum PoolKernels {
    static func planeGrain(_ work: Int) -> Int { Swift.max(1, (1 << 15) / Swift.max(work, 1)) }

    /// out = max over each window; `index` = the flat in-plane position of the (first) maximum.
    /// NaN wins, as in PyTorch.
    static func maxForward<T: FloatElement>(_: T.Type, _ x: UnsafePointer<T>, _ out: UnsafeMutablePointer<T>,
                                            _ index: UnsafeMutablePointer<Int32>, _ g: PoolGeometry) {
        ConvKernels.parallelRange(g.planes, minPerChunk: planeGrain(g.h * g.w)) { _, lo, hi in
            maxForwardPlanes(x, out, index, g, lo..<hi)
        }
    }

    /// `maxForward` of the planes in `planes`, on this thread (also a convolution's pooling epilogue).
    static func maxForwardPlanes<T: FloatElement>(_ x: UnsafePointer<T>, _ out: UnsafeMutablePointer<T>,
                                                  _ index: UnsafeMutablePointer<Int32>, _ g: PoolGeometry,
                                                  _ planes: Range<Int>) {
        let hw = g.h * g.w, ohw = g.oh * g.ow
        g.rows.lo.withUnsafeBufferPointer { rlo in g.rows.hi.withUnsafeBufferPointer { rhi in
        g.cols.lo.withUnsafeBufferPointer { clo in g.cols.hi.withUnsafeBufferPointer { chi in
            // 2x2, stride 2, no padding: the common CNN pool, without window bookkeeping.
            let simple2x2 = g.h / 2 == g.oh && g.w / 2 == g.ow && (0..<g.oh).allSatisfy { rlo[$0] == 2 * $0 && rhi[$0] == 2 * $0 + 2 }
                && (0..<g.ow).allSatisfy { clo[$0] == 2 * $0 && chi[$0] == 2 * $0 + 2 }
            for p in planes {
                let xp = x + p * hw, op = out + p * ohw, ip = index + p * ohw
                if simple2x2 && maxPool2x2Plane(xp, op, ip, w: g.w, oh: g.oh, ow: g.ow) { continue }
                for i in 0..<g.oh {
                    for j in 0..<g.ow {
                        var best = -T.infinity, at = rlo[i] * g.w + clo[j]
                        var r = rlo[i]
                        while r < rhi[i] {
                            let row = xp + r * g.w
                            var c = clo[j]
                            while c < chi[j] {
                                let v = row[c]
                                if v > best || (v.isNaN && !best.isNaN) { best = v; at = r * g.w + c }
                                c += 1
                            }
                            r += 1
                        }
                        op[i * g.ow + j] = best
                        ip[i * g.ow + j] = Int32(truncatingIfNeeded: at)
                    }
                }
            }
        }}}}
    }

    /// One plane of a 2x2, stride-2 max pool, written with selects rather than branches (the
    /// comparisons of random activations defeat the branch predictor). Returns false, leaving the
    /// plane to the general loop, when the plane holds a NaN (which must win, as in PyTorch).
    @inline(__always)
    static func maxPool2x2Plane<T: FloatElement>(_ xp: UnsafePointer<T>, _ op: UnsafeMutablePointer<T>,
                                                 _ ip: UnsafeMutablePointer<Int32>, w: Int, oh: Int, ow: Int) -> Bool {
        var nan: Int32 = 0
        for i in 0..<oh {
            let r0 = xp + 2 * i * w, r1 = r0 + w
            let base = Int32(truncatingIfNeeded: 2 * i * w), wi = Int32(truncatingIfNeeded: w)
            let o = op + i * ow, idx = ip + i * ow
            var j = 0
            if T.self == Float.self {
                // Eight outputs at a time: even and odd lanes of 16 inputs from each of the two rows.
                let f0 = UnsafeRawPointer(r0), f1 = UnsafeRawPointer(r1)
                let lane = SIMD8<Int32>(0, 2, 4, 6, 8, 10, 12, 14)
                while j + 8 <= ow {
                    let top = f0.loadUnaligned(fromByteOffset: 8 * j, as: SIMD16<Float>.self)
                    let bottom = f1.loadUnaligned(fromByteOffset: 8 * j, as: SIMD16<Float>.self)
                    let a = top.evenHalf, b = top.oddHalf, c = bottom.evenHalf, d = bottom.oddHalf
                    let sum = (a + b) + (c + d)
                    if any(sum .!= sum) { nan = 1 }
                    let tb = b .> a
                    var m = a.replacing(with: b, where: tb)
                    var at = SIMD8<Int32>(repeating: 0).replacing(with: 1, where: tb)
                    let tc = c .> m
                    m.replace(with: c, where: tc)
                    at.replace(with: wi, where: tc)
                    let td = d .> m
                    m.replace(with: d, where: td)
                    at.replace(with: wi + 1, where: td)
                    UnsafeMutableRawPointer(o + j).storeBytes(of: m, as: SIMD8<Float>.self)
                    UnsafeMutableRawPointer(idx + j).storeBytes(
                        of: at &+ lane &+ SIMD8<Int32>(repeating: base &+ Int32(truncatingIfNeeded: 2 * j)), as: SIMD8<Int32>.self)
                    j += 8
                }
                if j + 4 <= ow {
                    let top = f0.loadUnaligned(fromByteOffset: 8 * j, as: SIMD8<Float>.self)
                    let bottom = f1.loadUnaligned(fromByteOffset: 8 * j, as: SIMD8<Float>.self)
                    let a = top.evenHalf, b = top.oddHalf, c = bottom.evenHalf, d = bottom.oddHalf
                    let sum = (a + b) + (c + d)
                    if any(sum .!= sum) { nan = 1 }
                    let tb = b .> a
                    var m = a.replacing(with: b, where: tb)
                    var at = SIMD4<Int32>(repeating: 0).replacing(with: 1, where: tb)
                    let tc = c .> m
                    m.replace(with: c, where: tc)
                    at.replace(with: wi, where: tc)
                    let td = d .> m
                    m.replace(with: d, where: td)
                    at.replace(with: wi + 1, where: td)
                    UnsafeMutableRawPointer(o + j).storeBytes(of: m, as: SIMD4<Float>.self)
                    UnsafeMutableRawPointer(idx + j).storeBytes(
                        of: at &+ SIMD4<Int32>(0, 2, 4, 6) &+ SIMD4<Int32>(repeating: base &+ Int32(truncatingIfNeeded: 2 * j)),
                        as: SIMD4<Int32>.self)
                    j += 4
                }
            }
            while j < ow {
                defer { j += 1 }
                let a = r0[2 * j], b = r0[2 * j + 1], c = r1[2 * j], d = r1[2 * j + 1]
                let tb = b > a
                var m = tb ? b : a
                var at: Int32 = tb ? 1 : 0
                let tc = c > m
                m = tc ? c : m
                at = tc ? wi : at
                let td = d > m
                m = td ? d : m
                at = td ? wi + 1 : at
                // Any NaN makes a sum NaN, and NaN != NaN.
                let sum = (a + b) + (c + d)
                nan |= sum != sum ? 1 : 0
                o[j] = m
                idx[j] = base + Int32(truncatingIfNeeded: 2 * j) + at
            }
        }
        return nan == 0
    }

    /// dx (zeroed here) [planes, h*w] += gy at each output's argmax.
    static func maxScatter<T: FloatElement>(_: T.Type, _ gy: UnsafePointer<T>, _ index: UnsafePointer<Int32>,
                                            _ dx: UnsafeMutablePointer<T>, planes: Int, inPlane: Int, outPlane: Int) {
        ConvKernels.parallelRange(planes, minPerChunk: planeGrain(inPlane)) { _, lo, hi in
            for p in lo..<hi {
                let d = dx + p * inPlane, s = gy + p * outPlane, ip = index + p * outPlane
                // Zeroed a plane at a time, so the adds find it in cache.
                d.update(repeating: 0, count: inPlane)
                for q in 0..<outPlane { d[Int(ip[q])] += s[q] }
            }
        }
    }

    /// out [planes, outPlane] = x at each argmax.
    static func maxGather<T: FloatElement>(_: T.Type, _ x: UnsafePointer<T>, _ index: UnsafePointer<Int32>,
                                           _ out: UnsafeMutablePointer<T>, planes: Int, inPlane: Int, outPlane: Int) {
        ConvKernels.parallelRange(planes, minPerChunk: planeGrain(inPlane)) { _, lo, hi in
            for p in lo..<hi {
                let s = x + p * inPlane, o = out + p * outPlane, ip = index + p * outPlane
                for q in 0..<outPlane { o[q] = s[Int(ip[q])] }
            }
        }
    }

    /// out = sum of each window / its divisor.
    static func avgForward<T: FloatElement>(_: T.Type, _ x: UnsafePointer<T>, _ out: UnsafeMutablePointer<T>, _ g: PoolGeometry) {
        let hw = g.h * g.w, ohw = g.oh * g.ow
        ConvKernels.parallelRange(g.planes, minPerChunk: planeGrain(hw)) { _, lo, hi in
            for p in lo..<hi {
                let xp = x + p * hw, op = out + p * ohw
                for i in 0..<g.oh {
                    for j in 0..<g.ow {
                        var sum: T = 0
                        for r in g.rows.lo[i]..<g.rows.hi[i] {
                            let row = xp + r * g.w
                            for c in g.cols.lo[j]..<g.cols.hi[j] { sum += row[c] }
                        }
                        op[i * g.ow + j] = sum / T(g.div(i, j))
                    }
                }
            }
        }
    }

    /// dx (zeroed here) += gy / divisor over each window.
    static func avgBackward<T: FloatElement>(_: T.Type, _ gy: UnsafePointer<T>, _ dx: UnsafeMutablePointer<T>, _ g: PoolGeometry) {
        let hw = g.h * g.w, ohw = g.oh * g.ow
        ConvKernels.parallelRange(g.planes, minPerChunk: planeGrain(hw)) { _, lo, hi in
            (dx + lo * hw).update(repeating: 0, count: (hi - lo) * hw)
            for p in lo..<hi {
                let dp = dx + p * hw, gp = gy + p * ohw
                for i in 0..<g.oh {
                    for j in 0..<g.ow {
                        let v = gp[i * g.ow + j] / T(g.div(i, j))
                        for r in g.rows.lo[i]..<g.rows.hi[i] {
                            let row = dp + r * g.w
                            for c in g.cols.lo[j]..<g.cols.hi[j] { row[c] += v }
                        }
                    }
                }
            }
        }
    }
}
