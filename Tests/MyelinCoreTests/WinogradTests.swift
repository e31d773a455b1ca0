import Testing
@testable import MyelinCore
import CMyelinKernels
import MyelinTestSupport
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Winograd convolutions (ConvKernels+Winograd.swift, winograd.c) against a float64 direct
/// convolution written out here, and the algorithm table. Sizes are small (debug builds run
/// these loops unoptimised) but odd, with channel counts that are not multiples of the vector
/// width, several tile blocks and partial lane groups.
@Suite struct WinogradTests {
    struct Case: CustomStringConvertible, Sendable {
        var algorithm: ConvAlgorithm
        var n, c, o, h, w, pad: Int
        var bias = true
        var description: String { "\(algorithm.rawValue) n\(n) c\(c) o\(o) \(h)x\(w) pad \(pad)" }
    }

    static let cases: [Case] = [ConvAlgorithm.winograd2, .winograd4].flatMap { a in
        [
            Case(algorithm: a, n: 2, c: 3, o: 5, h: 7, w: 9, pad: 1),
            Case(algorithm: a, n: 3, c: 5, o: 2, h: 6, w: 5, pad: 0, bias: false),
            Case(algorithm: a, n: 1, c: 2, o: 3, h: 5, w: 8, pad: 2),
            Case(algorithm: a, n: 1, c: 1, o: 1, h: 3, w: 3, pad: 0),
            // Several tile blocks (48 tiles a block with F(4x4) at these channel counts, 96 with F(2x2)).
            Case(algorithm: a, n: 3, c: 40, o: 33, h: 17, w: 17, pad: 1),
        ]
    }

    /// y[s, oc, i, j] = sum over ch, di, dj of x[s, ch, i + di - pad, j + dj - pad] w[oc, ch, di, dj], in float64.
    static func direct(_ x: [Double], _ w: [Double], _ k: Case) -> [Double] {
        let oh = k.h + 2 * k.pad - 2, ow = k.w + 2 * k.pad - 2
        var y = [Double](repeating: 0, count: k.n * k.o * oh * ow)
        for s in 0..<k.n { for oc in 0..<k.o { for i in 0..<oh { for j in 0..<ow {
            var sum = 0.0
            for ch in 0..<k.c { for di in 0..<3 { for dj in 0..<3 {
                let r = i + di - k.pad, q = j + dj - k.pad
                if r >= 0 && r < k.h && q >= 0 && q < k.w {
                    sum += x[((s * k.c + ch) * k.h + r) * k.w + q] * w[((oc * k.c + ch) * 3 + di) * 3 + dj]
                }
            }}}
            y[((s * k.o + oc) * oh + i) * ow + j] = sum
        }}}}
        return y
    }

    /// The gradients of sum(y * up) in float64: dx and dw, by the same sums turned around.
    static func directGrads(_ x: [Double], _ w: [Double], _ up: [Double], _ k: Case) -> ([Double], [Double]) {
        let oh = k.h + 2 * k.pad - 2, ow = k.w + 2 * k.pad - 2
        var dx = [Double](repeating: 0, count: x.count), dw = [Double](repeating: 0, count: w.count)
        for s in 0..<k.n { for oc in 0..<k.o { for i in 0..<oh { for j in 0..<ow {
            let g = up[((s * k.o + oc) * oh + i) * ow + j]
            for ch in 0..<k.c { for di in 0..<3 { for dj in 0..<3 {
                let r = i + di - k.pad, q = j + dj - k.pad
                if r >= 0 && r < k.h && q >= 0 && q < k.w {
                    let xi = ((s * k.c + ch) * k.h + r) * k.w + q, wi = ((oc * k.c + ch) * 3 + di) * 3 + dj
                    dx[xi] += g * w[wi]
                    dw[wi] += g * x[xi]
                }
            }}}
        }}}}
        return (dx, dw)
    }

    /// |a - e| / |e| by the Euclidean norm.
    static func relativeError(_ a: [Float], _ e: [Double]) -> Double {
        var num = 0.0, den = 0.0
        for (u, v) in zip(a, e) { num += (Double(u) - v) * (Double(u) - v); den += v * v }
        return (num / Swift.max(den, 1e-300)).squareRoot()
    }

    @Test(arguments: cases)
    func forwardAndGradientsWithinOneInTenThousandOfFloat64(_ k: Case) {
        let g = RandomGenerator(seed: 5)
        let x = Tensor.randn([k.n, k.c, k.h, k.w], generator: g), w = Tensor.randn([k.o, k.c, 3, 3], generator: g)
        let b = Tensor.randn([k.o], generator: g)
        let oh = k.h + 2 * k.pad - 2, ow = k.w + 2 * k.pad - 2
        let up = Tensor.randn([k.n, k.o, oh, ow], generator: g)
        let geo = Tensor.convGeometry("conv2d", x, w, nil, stride: 1, padding: .size(Size2D(k.pad)), dilation: 1, groups: 1)
        let (xl, wl, bl) = (x.requiringGrad(), w.requiringGrad(), b.requiringGrad())
        let y = ConvAlgorithm.$forced.withValue(k.algorithm) {
            #expect(ConvAlgorithm.choose(geo, dtype: .float32) == k.algorithm)
            let y = xl.conv2d(wl, bias: k.bias ? bl : nil, padding: .size(Size2D(k.pad)))
            (y * up).sum().backward()
            return y.detached()
        }
        var reference = Self.direct(x.doubles, w.doubles, k)
        if k.bias {
            let bd = b.doubles
            for i in reference.indices { reference[i] += bd[(i / (oh * ow)) % k.o] }
        }
        let (dx, dw) = Self.directGrads(x.doubles, w.doubles, up.doubles, k)
        for (name, actual, expected) in [("output", y.floats, reference), ("input gradient", xl.grad!.floats, dx),
                                         ("weight gradient", wl.grad!.floats, dw)] {
            let err = Self.relativeError(actual, expected)
            #expect(err <= 1e-4, "\(k) \(name): relative error \(err)")
        }
    }

    @Test func repeatsBitForBitAndMatchesAcrossThreadCounts() {
        // Forward and input gradient split tiles into blocks fixed by the shape: any thread count
        // gives the same bits. Two blocks of tiles here, forward and backward.
        let g = RandomGenerator(seed: 9)
        let x = Tensor.randn([3, 40, 17, 17], generator: g), w = Tensor.randn([33, 40, 3, 3], generator: g)
        #expect(ConvKernels.winogradBlock(m: 4, inC: 40, outC: 33) == 48 && ConvKernels.winogradBlock(m: 4, inC: 33, outC: 40) == 48)
        func run() -> (Tensor, Tensor) {
            ConvAlgorithm.$forced.withValue(.winograd4) {
                let xl = x.requiringGrad()
                let y = xl.conv2d(w, padding: 1)
                y.sum().backward()
                return (y.detached(), xl.grad!)
            }
        }
        let ((y1, dx1), (y2, dx2)) = ThreadCountGuard.comparing { (run(), run()) }
        #expect(bitPatterns(y1) == bitPatterns(y2))
        #expect(bitPatterns(dx1) == bitPatterns(dx2))
        let (y3, dx3) = ThreadCountGuard.changing {
            let saved = Threading.count
            Threading.count = 1
            defer { Threading.count = saved }
            return run()
        }
        #expect(bitPatterns(y3) == bitPatterns(y1))
        #expect(bitPatterns(dx3) == bitPatterns(dx1))
    }

    @Test func unknownMyelinConvTrapsWithTheChoices() async {
        // In a child process, so the variable is read there first.
        await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            setenv("MYELIN_CONV", "fast", 1)
            _ = Tensor.zeros([1, 32, 14, 14]).conv2d(Tensor.zeros([32, 32, 3, 3]), padding: 1)
        }.map { result in
            let err = String(decoding: result.standardErrorContent, as: UTF8.self)
            #expect(err.contains("[conv2d] MYELIN_CONV must be im2col, winograd2 or winograd4, got 'fast'"))
        }
    }

    @Test func tablePicksByShapeAndRespectsTheEscapeHatch() {
        func geo(_ c: Int, _ o: Int, _ hw: Int, k: Int = 3, stride: Int = 1, pad: Int = 1, groups: Int = 1) -> ConvGeometry {
            Tensor.convGeometry("conv2d", Tensor.zeros([1, c, hw, hw]), Tensor.zeros([o, c / groups, k, k]), nil,
                                stride: Size2D(stride), padding: .size(Size2D(pad)), dilation: 1, groups: groups)
        }
        // cnn_train's two layers (the second is where Winograd measured faster), the same on every call.
        #expect(ConvAlgorithm.table(geo(1, 32, 28)) == .im2col)
        #expect(ConvAlgorithm.table(geo(32, 64, 14)) == .winograd4)
        #expect(ConvAlgorithm.table(geo(32, 64, 14).batch(64)) == ConvAlgorithm.table(geo(32, 64, 14)))
        // Below the measured shapes: im2col.
        #expect(ConvAlgorithm.table(geo(16, 64, 14)) == .im2col)
        #expect(ConvAlgorithm.table(geo(32, 16, 14)) == .im2col)
        #expect(ConvAlgorithm.table(geo(32, 64, 7)) == .im2col)
        #expect(ConvAlgorithm.table(geo(64, 128, 56)) == .winograd4)
        // Not eligible: stride 2, 5x5, groups, padding 3, float64.
        #expect(!geo(32, 64, 14, stride: 2).winogradEligible)
        #expect(!geo(32, 64, 14, k: 5, pad: 2).winogradEligible)
        #expect(!geo(32, 64, 14, groups: 2).winogradEligible)
        #expect(!geo(32, 64, 14, pad: 3).winogradEligible)
        #expect(geo(32, 64, 14, pad: 0).winogradEligible && geo(32, 64, 14, pad: 2).winogradEligible)
        ConvAlgorithm.$forced.withValue(.winograd2) {
            #expect(ConvAlgorithm.choose(geo(32, 64, 14), dtype: .float64) == .im2col)
            #expect(ConvAlgorithm.choose(geo(32, 64, 14, stride: 2), dtype: .float32) == .im2col)
            #expect(ConvAlgorithm.choose(geo(32, 64, 14, k: 1, pad: 0), dtype: .float32) == .pointwise)
            #expect(ConvAlgorithm.choose(geo(1, 32, 28), dtype: .float32) == .winograd2)
        }
        ConvAlgorithm.$forced.withValue(.im2col) {
            #expect(ConvAlgorithm.choose(geo(32, 64, 14), dtype: .float32) == .im2col)
        }
        // The public query says the same as the kernels use.
        let x = Tensor.zeros([1, 32, 14, 14]), w = Tensor.zeros([64, 32, 3, 3])
        if ConvAlgorithm.environment == nil {
            #expect(x.conv2dAlgorithm(w, padding: 1) == .winograd4)
            #expect(x.to(.float64).conv2dAlgorithm(w.to(.float64), padding: 1) == .im2col)
        }
    }

    @Test(arguments: [2, 4])
    func filterTransformIsTheScalarFormulaBitForBit(_ m: Int) {
        // The vectorised transform (eight filters a lane each) against G g G^T written out in
        // float32, columns then rows, for 5 x 3 filters (a partial lane group), plain and rotated.
        let (o, c, a) = (5, 3, m + 2)
        let w = Tensor.randn([o, c, 3, 3], generator: RandomGenerator(seed: 17)).floats
        func g(_ v: [Float]) -> [Float] {      // one column or row of 3 to a values
            let (g0, g1, g2) = (v[0], v[1], v[2])
            if m == 2 { return [g0, (g0 + g1 + g2) * 0.5, (g0 - g1 + g2) * 0.5, g2] }
            let sixth: Float = 1.0 / 6.0, twelfth: Float = 1.0 / 12.0, f24: Float = 1.0 / 24.0
            let r3 = g0 * f24 + g1 * twelfth + g2 * sixth, r4 = g0 * f24 - g1 * twelfth + g2 * sixth
            return [g0 * 0.25, -(g0 + g1 + g2) * sixth, -(g0 - g1 + g2) * sixth, r3, r4, g2]
        }
        for flip in [false, true] {
            var u = [Float](repeating: .nan, count: a * a * o * c)
            w.withUnsafeBufferPointer { wp in u.withUnsafeMutableBufferPointer { up in
                myelin_winograd_weight_f32(Int32(m), wp.baseAddress, o, c, flip ? 1 : 0, up.baseAddress)
            }}
            var expected = [Float](repeating: 0, count: u.count)
            for oc in 0..<o { for ch in 0..<c {
                let k = (0..<9).map { w[(oc * c + ch) * 9 + (flip ? 8 - $0 : $0)] }
                let cols = (0..<3).map { j in g([k[j], k[3 + j], k[6 + j]]) }          // cols[j][i]
                let at = flip ? ch * o + oc : oc * c + ch
                for i in 0..<a {
                    let row = g([cols[0][i], cols[1][i], cols[2][i]])
                    for j in 0..<a { expected[(i * a + j) * o * c + at] = row[j] }
                }
            }}
            let same = u.map(\.bitPattern) == expected.map(\.bitPattern)
            #expect(same, "m \(m) flip \(flip)")
        }
    }
}
