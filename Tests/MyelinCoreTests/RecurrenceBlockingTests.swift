import Testing
import MyelinTestSupport
@testable import MyelinCore

/// Batches large enough that each thread takes a block of rows through every step
/// (`RecurrentKernels.batchBlocks`) give the bits of one thread running each step whole: outputs,
/// final states and every gradient, for each kind, with a projection, a mask, reversed, float64,
/// and row counts whose product panels are 8 + 8, 12 + 8 and 12 + 1.
@Suite struct RecurrenceBlockingTests {
    struct Case: CustomStringConvertible, Sendable {
        var kind: RecurrenceKind
        var batch: Int
        var projection = false, mask = false, reverse = false, bias = true
        var dtype: DType = .float32
        var description: String {
            "\(kind) batch \(batch)\(projection ? " projected" : "")\(mask ? " masked" : "")\(reverse ? " reversed" : "") \(dtype)"
        }
    }

    static let cases: [Case] = [
        Case(kind: .lstm, batch: 32), Case(kind: .lstm, batch: 40, bias: false), Case(kind: .lstm, batch: 25),
        Case(kind: .lstm, batch: 16, projection: true), Case(kind: .lstm, batch: 32, mask: true, reverse: true),
        Case(kind: .gru, batch: 32), Case(kind: .gru, batch: 17, mask: true),
        Case(kind: .rnnTanh, batch: 24, reverse: true), Case(kind: .rnnRelu, batch: 16),
        Case(kind: .lstm, batch: 16, dtype: .float64),
    ]

    /// A time-major mask of sequences of lengths 1...steps, so some rows stop early.
    static func lengthsMask(steps T: Int, batch: Int, dtype: DType) -> Tensor {
        Tensor(shape: [T, batch], scalars: (0..<T * batch).map { i in Double(i / batch < 1 + (i % batch) % T ? 1 : 0) }).to(dtype)
    }

    /// Outputs, final states and the gradients of every input for the loss sum(y * up) + sum(hT) (+ sum(cT)).
    static func run(_ k: Case, threads: Int) -> [Tensor] {
        let g = RandomGenerator(seed: 11)
        let (T, H, P) = (5, 24, k.projection ? 16 : 24)
        let G = k.kind.gateCount * H
        let xp = Tensor.randn([T, k.batch, G], dtype: k.dtype, generator: g).requiringGrad()
        let wHh = (Tensor.randn([G, P], dtype: k.dtype, generator: g) * 0.3).requiringGrad()
        let bHh = k.bias ? Tensor.randn([G], dtype: k.dtype, generator: g).requiringGrad() : nil
        let wHr = k.projection ? (Tensor.randn([P, H], dtype: k.dtype, generator: g) * 0.3).requiringGrad() : nil
        let h0 = Tensor.randn([k.batch, P], dtype: k.dtype, generator: g).requiringGrad()
        let c0 = k.kind == .lstm ? Tensor.randn([k.batch, H], dtype: k.dtype, generator: g).requiringGrad() : nil
        let mask = k.mask ? Self.lengthsMask(steps: T, batch: k.batch, dtype: k.dtype) : nil
        let up = Tensor.randn([T, k.batch, P], dtype: k.dtype, generator: g)
        let saved = Threading.count
        Threading.count = threads
        defer { Threading.count = saved }
        let (y, hT, cT) = Tensor.recurrence(k.kind, inputProjection: xp, weightHH: wHh, biasHH: bHh, weightHR: wHr,
                                            h0: h0, c0: c0, mask: mask, reverse: k.reverse)
        var loss = (y * up).sum() + hT.sum()
        if let cT { loss = loss + cT.sum() }
        let inputs = [xp, wHh, h0] + [bHh, wHr, c0].compactMap { $0 }
        return [y, hT] + (cT.map { [$0] } ?? []) + gradients(of: loss, with: inputs)
    }

    @Test(arguments: cases)
    func blocksOfRowsGiveTheBitsOfWholeSteps(_ k: Case) {
        let (one, two) = ThreadCountGuard.changing { (Self.run(k, threads: 1), Self.run(k, threads: 2)) }
        let same = zip(one, two).allSatisfy { bitPatterns($0) == bitPatterns($1) }
        #expect(same)
    }

    @Test func blocksNeedEightRowsAThread() {
        let saved = Threading.count
        let blocks = ThreadCountGuard.changing { () -> [Int] in
            defer { Threading.count = saved }
            Threading.count = 2
            return [15, 16, 32].map { b in
                RecurrentKernels.batchBlocks(RecurrenceGeometry(kind: .lstm, reverse: false, steps: 3, batch: b, hidden: 8,
                                                                stateSize: 8, projected: false, hasBias: true))
            }
        }
        #expect(blocks == [1, 2, 2])
    }
}
