import Testing
@testable import MyelinCore
import CMyelinKernels

/// The one-pass LSTM and GRU row kernels (lstm.c) give the bits of the passes they replaced: the sum of
/// the pre-activations, vecmath.c's sigmoid and tanh loops, and the rest in Swift in the same
/// operation order (the float32 recurrence's results must not move with the kernel).
@Suite struct LSTMRowKernelTests {
    /// Pre-activations over the ranges a trained LSTM sees, past the polynomials' switch points
    /// and into saturation, with exact zeros.
    static func values(_ n: Int, seed: UInt64, scale: Float) -> [Float] {
        var g = SplitMix64(seed: seed)
        return (0..<n).map { i in i % 17 == 0 ? 0 : (Float(g.next() % 1_000_001) / 500_000 - 1) * scale }
    }

    static func bits(_ a: [Float]) -> [UInt32] { a.map(\.bitPattern) }

    @Test(arguments: [1, 37, 256], [false, true])
    func forwardRowMatchesTheSeparatePasses(hidden H: Int, biased: Bool) {
        let x = Self.values(4 * H, seed: 1, scale: 6), a = Self.values(4 * H, seed: 2, scale: 6)
        let cp = Self.values(H, seed: 3, scale: 3), bh = Self.values(4 * H, seed: 9, scale: 2)
        var g = [Float](repeating: 0, count: 4 * H), c = [Float](repeating: 0, count: H), h = c
        if biased { myelin_lstm_forward_row_f32(H, x, a, bh, cp, &g, &c, &h) } else { myelin_lstm_forward_row_f32(H, x, a, nil, cp, &g, &c, &h) }
        // The passes before lstm.c: the bias added to h Wₕₕᵀ in place, then the input's projection.
        let s = zip(biased ? zip(a, bh).map { $0 + $1 } : a, x).map { $0 + $1 }
        var gw = [Float](repeating: 0, count: 4 * H)
        myelin_vsigmoid_f32(s, &gw, 2 * H)
        s.withUnsafeBufferPointer { sp in
            gw.withUnsafeMutableBufferPointer { gp in
                myelin_vtanh_f32(sp.baseAddress! + 2 * H, gp.baseAddress! + 2 * H, H)
                myelin_vsigmoid_f32(sp.baseAddress! + 3 * H, gp.baseAddress! + 3 * H, H)
            }
        }
        let cw = (0..<H).map { j in gw[H + j] * cp[j] + gw[j] * gw[2 * H + j] }
        var tw = [Float](repeating: 0, count: H)
        myelin_vtanh_f32(cw, &tw, H)
        let hw = (0..<H).map { gw[3 * H + $0] * tw[$0] }
        #expect(Self.bits(g) == Self.bits(gw))
        #expect(Self.bits(c) == Self.bits(cw))
        #expect(Self.bits(h) == Self.bits(hw))
    }

    @Test(arguments: [1, 37, 256])
    func backwardRowMatchesTheSeparatePasses(hidden H: Int) {
        // Gates in (0, 1) and (-1, 1) as the forward makes them.
        var gates = Self.values(4 * H, seed: 4, scale: 4)
        myelin_vsigmoid_f32(gates, &gates, 4 * H)
        for j in 2 * H..<3 * H { gates[j] = 2 * gates[j] - 1 }
        let c = Self.values(H, seed: 5, scale: 5), cp = Self.values(H, seed: 6, scale: 3)
        let dh = Self.values(H, seed: 7, scale: 1), dc0 = Self.values(H, seed: 8, scale: 1)
        var dc = dc0, dx = [Float](repeating: 0, count: 4 * H)
        myelin_lstm_backward_row_f32(H, gates, c, cp, &dc, dh, &dx)
        var t = [Float](repeating: 0, count: H)
        myelin_vtanh_f32(c, &t, H)
        var dcw = dc0, dxw = [Float](repeating: 0, count: 4 * H)
        for j in 0..<H {
            let i = gates[j], f = gates[H + j], gg = gates[2 * H + j], o = gates[3 * H + j]
            let dct = dcw[j] + dh[j] * o * (1 - t[j] * t[j])
            dxw[j] = dct * gg * i * (1 - i)
            dxw[H + j] = dct * cp[j] * f * (1 - f)
            dxw[2 * H + j] = dct * i * (1 - gg * gg)
            dxw[3 * H + j] = dh[j] * t[j] * o * (1 - o)
            dcw[j] = dct * f
        }
        #expect(Self.bits(dx) == Self.bits(dxw))
        #expect(Self.bits(dc) == Self.bits(dcw))
    }

    @Test(arguments: [1, 37, 256])
    func gruForwardRowMatchesTheSeparatePasses(hidden H: Int) {
        let x = Self.values(3 * H, seed: 11, scale: 6), a = Self.values(3 * H, seed: 12, scale: 6)
        let hp = Self.values(H, seed: 13, scale: 1)
        var g = [Float](repeating: 0, count: 4 * H), h = [Float](repeating: 0, count: H)
        myelin_gru_forward_row_f32(H, x, a, hp, &g, &h)
        // The passes before lstm.c: r and z through the vector sigmoid, n through the vector tanh.
        var gw = [Float](repeating: 0, count: 4 * H)
        let rz = (0..<2 * H).map { a[$0] + x[$0] }
        myelin_vsigmoid_f32(rz, &gw, 2 * H)
        let pre = (0..<H).map { x[2 * H + $0] + gw[$0] * a[2 * H + $0] }
        var n = [Float](repeating: 0, count: H)
        myelin_vtanh_f32(pre, &n, H)
        for j in 0..<H { gw[2 * H + j] = n[j]; gw[3 * H + j] = a[2 * H + j] }
        let hw = (0..<H).map { (1 - gw[H + $0]) * gw[2 * H + $0] + gw[H + $0] * hp[$0] }
        #expect(Self.bits(g) == Self.bits(gw))
        #expect(Self.bits(h) == Self.bits(hw))
    }

    @Test(arguments: [1, 37, 256])
    func gruBackwardRowMatchesTheSwiftLoop(hidden H: Int) {
        var gates = Self.values(4 * H, seed: 14, scale: 4)
        myelin_vsigmoid_f32(gates, &gates, 2 * H)
        gates.withUnsafeMutableBufferPointer { p in myelin_vtanh_f32(p.baseAddress! + 2 * H, p.baseAddress! + 2 * H, H) }
        let hp = Self.values(H, seed: 15, scale: 1), dh0 = Self.values(H, seed: 16, scale: 1)
        var dh = dh0, dx = [Float](repeating: 0, count: 3 * H), dG = dx
        myelin_gru_backward_row_f32(H, gates, hp, &dh, &dx, &dG)
        var dhw = dh0, dxw = [Float](repeating: 0, count: 3 * H), dGw = dxw
        for j in 0..<H {
            let r = gates[j], z = gates[H + j], n = gates[2 * H + j], hn = gates[3 * H + j]
            let dn = dhw[j] * (1 - z) * (1 - n * n)
            let dz = dhw[j] * (hp[j] - n) * z * (1 - z)
            let dr = dn * hn * r * (1 - r)
            dxw[j] = dr; dxw[H + j] = dz; dxw[2 * H + j] = dn
            dGw[j] = dr; dGw[H + j] = dz; dGw[2 * H + j] = dn * r
            dhw[j] *= z
        }
        #expect(Self.bits(dx) == Self.bits(dxw))
        #expect(Self.bits(dG) == Self.bits(dGw))
        #expect(Self.bits(dh) == Self.bits(dhw))
    }
}

