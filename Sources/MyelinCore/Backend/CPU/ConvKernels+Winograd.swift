import CMyelinKernels

// Winograd convolutions for 3x3, stride-1 float32 layers (the transforms are in winograd.c) and
// the table that picks each layer's algorithm from its shape.
//
// F(m x m, 3x3) turns each m x m output tile into alpha^2 (alpha = m + 2) element-wise products of
// transformed input and filter tiles; summed over input channels, they are alpha^2 matrix products
// [tiles x in channels] x [in channels x out channels] through the packed SGEMM: 16 products for
// 4 outputs (2.25x fewer multiplies than direct) with F(2x2), 36 for 16 (4x fewer) with F(4x4).
// The three products are all Winograd convolutions:
//   forward        y = conv(x, w)
//   input grad     dx = conv(gy padded by 2 - pad, w rotated 180 degrees, channels swapped)
//   weight grad    dw = G^T [ sum over tiles (A dY A^T) (.) (B^T d B) ] G   (the adjoint of forward)
// Tiles go in blocks of a size fixed by the shape, each block on one thread with its own buffers,
// so forward and input gradient give the same bits with any thread count.

/// The loops a 2-D convolution runs, chosen by `ConvAlgorithm.choose` from the layer's shape alone
/// (never from timings), so a model picks the same algorithms on every run and a resumed training
/// repeats bit for bit.
public enum ConvAlgorithm: String, Sendable, CaseIterable, CustomStringConvertible {
    /// im2col + one GEMM per sample (1x1 stride-1 kernels skip the im2col: see `pointwise`).
    case im2col
    /// A 1x1, stride-1, unpadded kernel: the input is already its column matrix, one GEMM.
    case pointwise
    /// Winograd F(2x2, 3x3).
    case winograd2
    /// Winograd F(4x4, 3x3).
    case winograd4

    public var description: String {
        switch self {
        case .im2col: return "im2col+GEMM"
        case .pointwise: return "GEMM (1x1)"
        case .winograd2: return "Winograd F(2x2,3x3)"
        case .winograd4: return "Winograd F(4x4,3x3)"
        }
    }

    /// The output tile size m of a Winograd algorithm; nil for the others.
    var winogradTile: Int? {
        switch self {
        case .winograd2: return 2
        case .winograd4: return 4
        default: return nil
        }
    }

    /// `MYELIN_CONV`: `im2col` turns Winograd off everywhere (the escape hatch); `winograd2` or
    /// `winograd4` pick that tile size for the layers the table gives Winograd (for measurements).
    /// Read once.
    static let environment: ConvAlgorithm? = {
        guard let s = getenvString("MYELIN_CONV"), !s.isEmpty else { return nil }
        guard let a = ConvAlgorithm(rawValue: s), a != .pointwise else {
            fatalError("[conv2d] MYELIN_CONV must be im2col, winograd2 or winograd4, got '\(s)'")
        }
        return a
    }()

    /// An algorithm forced for the current task on every layer that can run it (tests: Winograd on
    /// shapes the table leaves to im2col).
    @TaskLocal static var forced: ConvAlgorithm?

    /// The algorithm for a convolution of this geometry and dtype. The batch size plays no part,
    /// so a summary on one example shows what training runs.
    static func choose(_ g: ConvGeometry, dtype: DType) -> ConvAlgorithm {
        let plain: ConvAlgorithm = g.isPointwise ? .pointwise : .im2col
        guard dtype == .float32 && g.winogradEligible else { return plain }
        if let f = forced { return f.winogradTile == nil ? plain : f }
        let picked = table(g)
        guard let env = environment, picked.winogradTile != nil else { return picked }
        return env.winogradTile == nil ? plain : env
    }

    /// The per-shape table for eligible 3x3 layers. The thresholds are the shapes measured in
    /// cnn_train (README, "Convolution algorithms"; 2-core AMD EPYC with AVX-512, shared machine,
    /// alternating rounds): with its 32 -> 64 channel layer (14x14 outputs) on F(4x4) the whole
    /// epoch ran 1.12x faster than all-im2col (median of 7 rounds) and 1.04x faster than with
    /// F(2x2) (5 rounds); Winograd on its 1 -> 32 channel 28x28 layer too was slower (1,247 against
    /// 1,636 samples/s). Smaller layers, where transform costs and edge tiles weigh more, were not
    /// measured and keep im2col; larger ones take F(4x4), whose saving grows with size (not measured).
    static func table(_ g: ConvGeometry) -> ConvAlgorithm {
        if g.c >= 32 && g.o >= 32 && g.oh >= 14 && g.ow >= 14 { return .winograd4 }
        return .im2col
    }
}

extension ConvGeometry {
    /// A 3x3, stride-1, undilated, ungrouped kernel with every padding in 0...2: what the Winograd
    /// transforms here compute (the input gradient's convolution pads by 2 minus these).
    var winogradEligible: Bool {
        let padBottom = oh + 2 - h - padTop, padRight = ow + 2 - w - padLeft
        return kh == 3 && kw == 3 && strideH == 1 && strideW == 1 && dilationH == 1 && dilationW == 1 && groups == 1
            && (0...2).contains(padTop) && (0...2).contains(padLeft) && (0...2).contains(padBottom)
            && (0...2).contains(padRight)
    }
}

extension ConvKernels {
    /// The bytes of a block's two transformed buffers: 512 KB (an L2 on Zen 1), or
    /// `MYELIN_WINOGRAD_KB` kilobytes (for measurements).
    static let winogradBlockBytes: Int = {
        if let s = getenvString("MYELIN_WINOGRAD_KB"), let kb = Int(s), kb > 0 { return kb * 1024 }
        return 512 * 1024
    }()

    /// Tiles per block: the block's two transformed buffers (inputs and products, alpha^2 floats
    /// per channel and tile) within `winogradBlockBytes`, in multiples of 48 (whole row panels of
    /// the SGEMM's 12- and 6-row microkernels, whole 16-column panels, whole 8-tile lane groups).
    static func winogradBlock(m: Int, inC: Int, outC: Int) -> Int {
        let a2 = (m + 2) * (m + 2)
        let tiles = (winogradBlockBytes / 4) / Swift.max(1, a2 * (inC + outC))
        return Swift.min(480, Swift.max(48, tiles / 48 * 48))
    }

    /// The floats between the alpha^2 planes of a transformed buffer whose planes hold `count`:
    /// rounded up to whole 64-byte lines, then an odd number of lines, so the alpha^2 rows that a
    /// tile's transform reads or writes (one per plane) fall in distinct L1 sets. Plane strides of
    /// whole 4 KB pages put all 36 in one set (cnn_train's 48 tiles x 64 channels is 12 KB).
    static func winogradPlaneStride(_ count: Int) -> Int {
        let lines = (count + 15) / 16
        return 16 * (lines % 2 == 0 ? lines + 1 : lines)
    }

    /// y [n, outC, outH, outW] = the 3x3 correlation of x [n, inC, inH, inW], read at (row - padTop,
    /// column - padLeft) and zero outside, with the transformed filters u [alpha^2, outC, inC]; plus bias.
    /// The epilogue runs on each tile in registers: `relu`, then with `index` a 2x2 max pool, y being
    /// the pooled [n, outC, outH / 2, outW / 2] (`myelin_winograd_output_f32`).
    static func winogradConv(m: Int, _ x: UnsafePointer<Float>, n: Int, inC: Int, inH: Int, inW: Int, padTop: Int,
                             padLeft: Int, _ u: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                             relu: Bool = false, index: UnsafeMutablePointer<Int32>? = nil,
                             _ y: UnsafeMutablePointer<Float>, outC: Int, outH: Int, outW: Int) {
        let a2 = (m + 2) * (m + 2)
        let tilesH = (outH + m - 1) / m, tilesW = (outW + m - 1) / m, tiles = n * tilesH * tilesW
        let tb = winogradBlock(m: m, inC: inC, outC: outC)
        let blocks = (tiles + tb - 1) / tb
        // The products run tiles x channels, M^T = V^T U^T, so the filters are the B operand: packed
        // once per call for every block when the packed kernels run here (the same bits as packing
        // each time), and the long tile dimension fills whole microkernel rows.
        let isa = PackedSgemm.ISA.auto.rawValue
        let panel = PackedSgemm.preferred ? myelin_sgemm_packed_size(isa, inC, outC) : 0
        let packed = panel > 0 ? UnsafeMutableRawPointer.allocate(byteCount: 4 * a2 * panel, alignment: 64)
            .bindMemory(to: Float.self, capacity: a2 * panel) : nil
        defer { packed?.deallocate() }
        if let packed {
            for e in 0..<a2 { _ = myelin_sgemm_pack_b(isa, inC, outC, u + e * outC * inC, inC, 1, packed + e * panel) }
        }
        let vs = winogradPlaneStride(inC * tb), ms = winogradPlaneStride(outC * tb)
        parallelRange(blocks) { _, lo, hi in
            let v = UnsafeMutablePointer<Float>.allocate(capacity: a2 * vs)
            let mm = UnsafeMutablePointer<Float>.allocate(capacity: a2 * ms)
            defer { v.deallocate(); mm.deallocate() }
            for b in lo..<hi {
                let t0 = b * tb, t1 = Swift.min(tiles, t0 + tb), nt = t1 - t0
                if myelin_winograd_input_f32(Int32(m), x, inC, inH, inW, padTop, padLeft, tilesH, tilesW, t0, t1, v, vs) == 0 {
                    fatalError("[conv2d] no memory for the Winograd input scratch of \(inC) channels of \(inH)x\(inW)")
                }
                for e in 0..<a2 {
                    let ve = v + e * vs, me = mm + e * ms
                    if let packed, myelin_sgemm_prepacked(isa, nt, 0, outC, inC, ve, nt, 1, packed + e * panel, outC, me,
                                                          outC, 0) != 0 {
                        continue
                    }
                    gemm(true, true, nt, outC, inC, ve, nt, u + e * outC * inC, inC, beta: 0, me, outC)
                }
                myelin_winograd_output_f32(Int32(m), mm, ms, outC, t0, t1, tilesH, tilesW, bias, relu ? 1 : 0, y, index,
                                           outH, outW)
            }
        }
    }

    /// out [n, o, oh, ow] = conv(x, w) + bias with F(m x m, 3x3); `g` must be `winogradEligible`.
    /// With `relu` and `index`, the epilogue of `winogradConv` (out is then the pooled output).
    static func winogradForward(m: Int, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                                relu: Bool = false, index: UnsafeMutablePointer<Int32>? = nil,
                                _ out: UnsafeMutablePointer<Float>, _ g: ConvGeometry) {
        let a2 = (m + 2) * (m + 2)
        let u = UnsafeMutablePointer<Float>.allocate(capacity: a2 * g.o * g.c)
        defer { u.deallocate() }
        myelin_winograd_weight_f32(Int32(m), w, g.o, g.c, 0, u)
        winogradConv(m: m, x, n: g.n, inC: g.c, inH: g.h, inW: g.w, padTop: g.padTop, padLeft: g.padLeft, u, bias,
                     relu: relu, index: index, out, outC: g.o, outH: g.oh, outW: g.ow)
    }

    /// dx [n, c, h, w] from gy [n, o, oh, ow]: the "full" correlation of gy with the rotated filters.
    static func winogradInputGrad(m: Int, _ gy: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                                  _ dx: UnsafeMutablePointer<Float>, _ g: ConvGeometry) {
        let a2 = (m + 2) * (m + 2)
        let u = UnsafeMutablePointer<Float>.allocate(capacity: a2 * g.o * g.c)
        defer { u.deallocate() }
        myelin_winograd_weight_f32(Int32(m), w, g.o, g.c, 1, u)
        winogradConv(m: m, gy, n: g.n, inC: g.o, inH: g.oh, inW: g.ow, padTop: 2 - g.padTop, padLeft: 2 - g.padLeft, u,
                     nil, dx, outC: g.c, outH: g.h, outW: g.w)
    }

    /// dw [o, c, 3, 3] = sum over samples and tiles, in the transformed domain, of the output
    /// gradient's tiles times the input's; each thread sums its blocks, then the threads' sums add.
    static func winogradWeightGrad(m: Int, _ x: UnsafePointer<Float>, _ gy: UnsafePointer<Float>,
                                   _ dw: UnsafeMutablePointer<Float>, _ g: ConvGeometry) {
        let a2 = (m + 2) * (m + 2), uCount = a2 * g.o * g.c
        let tilesH = (g.oh + m - 1) / m, tilesW = (g.ow + m - 1) / m, tiles = g.n * tilesH * tilesW
        let tb = winogradBlock(m: m, inC: g.c, outC: g.o)
        let blocks = (tiles + tb - 1) / tb
        // The chunk count read once: it sizes the accumulators (Threading.count may change meanwhile).
        let chunks = Swift.max(1, Swift.min(Threading.count, blocks))
        let du = UnsafeMutablePointer<Float>.allocate(capacity: chunks * uCount)
        defer { du.deallocate() }
        du.update(repeating: 0, count: chunks * uCount)
        let vs = winogradPlaneStride(g.c * tb), zs = winogradPlaneStride(g.o * tb)
        ThreadPool.shared.run(chunks: chunks, threads: chunks) { chunk in
            let lo = blocks * chunk / chunks, hi = blocks * (chunk + 1) / chunks
            let acc = du + chunk * uCount
            let v = UnsafeMutablePointer<Float>.allocate(capacity: a2 * vs)
            let z = UnsafeMutablePointer<Float>.allocate(capacity: a2 * zs)
            defer { v.deallocate(); z.deallocate() }
            for b in lo..<hi {
                let t0 = b * tb, t1 = Swift.min(tiles, t0 + tb), nt = t1 - t0
                if myelin_winograd_input_f32(Int32(m), x, g.c, g.h, g.w, g.padTop, g.padLeft, tilesH, tilesW, t0, t1, v, vs) == 0
                    || myelin_winograd_gradout_f32(Int32(m), gy, g.o, g.oh, g.ow, tilesH, tilesW, t0, t1, z, zs) == 0 {
                    fatalError("[conv2dWeightGrad] no memory for the Winograd scratch of \(g.c) + \(g.o) channels of \(g.h)x\(g.w)")
                }
                for e in 0..<a2 {
                    gemm(false, true, g.o, g.c, nt, z + e * zs, nt, v + e * vs, nt, beta: 1,
                         acc + e * g.o * g.c, g.c)
                }
            }
        }
        for t in 1..<chunks {
            let src = du + t * uCount
            for i in 0..<uCount { du[i] += src[i] }
        }
        myelin_winograd_weight_grad_f32(Int32(m), du, g.o, g.c, dw)
    }
}
