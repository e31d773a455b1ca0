#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif
import CMyelinKernels

// The loops behind convolution (Tensor+Convolution.swift): im2col / col2im and the three
// convolution products (forward, input gradient, weight gradient) as per-sample GEMMs threaded
// across samples; pooling is in PoolKernels.swift. Everything works on raw pointers of contiguous
// NCHW buffers; the tensor-level code makes its operands contiguous first.

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
