// The loops behind pooling (Tensor+Pooling.swift): max and average pooling over sliding or
// adaptive windows, their backward scatters, and the max pool a convolution's epilogue runs on
// each sample (`maxForwardPlanes`). Raw pointers of contiguous NCHW planes, threaded over planes.

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
