import Foundation
import Testing
import MyelinTestSupport
@testable import MyelinCore

/// A recurrence fed token ids and a table (`Tensor.recurrence(tokens:)`) gives the bits of the
/// same recurrence fed the table's rows gathered with indexSelect: outputs, final states and
/// every gradient, the table's included. Also its shape rules and the graph loader's check of
/// constant tokens.
@Suite struct RecurrenceTokenTests {
    struct Case: CustomStringConvertible, Sendable {
        var kind: RecurrenceKind
        var batch: Int
        var projection = false, mask = false, reverse = false
        var dtype: DType = .float32
        /// int32 ids, some of them negative (counted from the end of the table).
        var int32 = false
        var threads = 2
        var description: String {
            "\(kind) batch \(batch)\(projection ? " projected" : "")\(mask ? " masked" : "")\(reverse ? " reversed" : "") \(dtype)\(int32 ? " int32" : "") threads \(threads)"
        }
    }

    static let cases: [Case] = [
        Case(kind: .lstm, batch: 32), Case(kind: .lstm, batch: 32, threads: 1), Case(kind: .lstm, batch: 5, mask: true, reverse: true),
        Case(kind: .lstm, batch: 16, projection: true, int32: true), Case(kind: .gru, batch: 17, mask: true),
        Case(kind: .rnnTanh, batch: 4, reverse: true), Case(kind: .lstm, batch: 16, dtype: .float64),
    ]

    /// Outputs, final states and the gradients of table, Wₕₕ, bₕₕ, h0 (c0, Wₕᵣ) for sum(y * up) + sum(hT) (+ sum(cT)).
    static func run(_ k: Case, fused: Bool) -> [Tensor] {
        let g = RandomGenerator(seed: 12)
        let (T, H, P, V) = (6, 24, k.projection ? 16 : 24, 9)
        let G = k.kind.gateCount * H
        let table = Tensor.randn([V, G], dtype: k.dtype, generator: g).requiringGrad()
        let ids = Tensor.randint(k.int32 ? -V : 0, V, shape: [T, k.batch], generator: g)
        let tokens = k.int32 ? ids.to(.int32) : ids
        let wHh = (Tensor.randn([G, P], dtype: k.dtype, generator: g) * 0.3).requiringGrad()
        let bHh = Tensor.randn([G], dtype: k.dtype, generator: g).requiringGrad()
        let wHr = k.projection ? (Tensor.randn([P, H], dtype: k.dtype, generator: g) * 0.3).requiringGrad() : nil
        let h0 = Tensor.randn([k.batch, P], dtype: k.dtype, generator: g).requiringGrad()
        let c0 = k.kind == .lstm ? Tensor.randn([k.batch, H], dtype: k.dtype, generator: g).requiringGrad() : nil
        let mask = k.mask ? RecurrenceBlockingTests.lengthsMask(steps: T, batch: k.batch, dtype: k.dtype) : nil
        let up = Tensor.randn([T, k.batch, P], dtype: k.dtype, generator: g)
        let saved = Threading.count
        Threading.count = k.threads
        defer { Threading.count = saved }
        let gathered = table.indexSelect(axis: 0, indices: tokens.flattened()).reshape([T, k.batch, G])
        let (y, hT, cT) = Tensor.recurrence(k.kind, inputProjection: fused ? table : gathered, weightHH: wHh, biasHH: bHh,
                                            weightHR: wHr, h0: h0, c0: c0, mask: mask, reverse: k.reverse,
                                            tokens: fused ? tokens : nil)
        var loss = (y * up).sum() + hT.sum()
        if let cT { loss = loss + cT.sum() }
        let inputs = [table, wHh, bHh, h0] + [wHr, c0].compactMap { $0 }
        return [y, hT] + (cT.map { [$0] } ?? []) + gradients(of: loss, with: inputs)
    }

    @Test(arguments: cases)
    func tokensGiveTheBitsOfTheGatheredRows(_ k: Case) {
        let (fused, apart) = ThreadCountGuard.changing { (Self.run(k, fused: true), Self.run(k, fused: false)) }
        #expect(fused.count == apart.count)
        for (i, (f, a)) in zip(fused, apart).enumerated() {
            #expect(f.shape == a.shape && bitPatterns(f) == bitPatterns(a), "result \(i) \(f.shape)")
        }
    }

    @Test func shapeRulesCheckTokensAndTable() {
        let spec = RecurrenceSpec(kind: .rnnTanh, reverse: false, hasBias: false, hasProjection: false, hasMask: false, hasTokens: true)
        func type(_ shape: [Int], _ dtype: DType = .float32) -> Graph.ValueType { Graph.ValueType(shape: shape, dtype: dtype) }
        // table [5, 4], Wₕₕ [4, 4], h0 [3, 4], tokens [2, 3]: two steps of three rows.
        let good = [type([5, 4]), type([4, 4]), type([3, 4]), type([2, 3], .int64)]
        #expect((try? spec.geometry(good)) == RecurrenceGeometry(kind: .rnnTanh, reverse: false, steps: 2, batch: 3, hidden: 4,
                                                                 stateSize: 4, projected: false, hasBias: false, tableRows: 5))
        #expect((try? spec.geometry(good))?.gradientSizes(spec) == [5 * 4, 4 * 4, 3 * 4])
        for bad in [[type([5, 4]), type([4, 4]), type([3, 4]), type([2, 3])],              // float tokens
                    [type([2, 3, 4]), type([4, 4]), type([3, 4]), type([2, 3], .int64)],     // a per-step projection
                    [type([5, 4]), type([4, 4]), type([3, 4]), type([6], .int64)],           // 1-d tokens
                    [type([0, 4]), type([4, 4]), type([3, 4]), type([2, 3], .int64)],        // an empty table
                    [type([5, 4]), type([4, 4]), type([2, 4]), type([2, 3], .int64)]] {      // h0 of another batch
            #expect(throws: ShapeRuleError.self) { _ = try spec.geometry(bad) }
        }
    }

    @Test func specsSavedBeforeTokensStillDecode() throws {
        let json = #"{"kind":"lstm","reverse":true,"hasBias":true,"hasProjection":false,"hasMask":false}"#
        let spec = try JSONDecoder().decode(RecurrenceSpec.self, from: Data(json.utf8))
        #expect(spec == RecurrenceSpec(kind: .lstm, reverse: true, hasBias: true, hasProjection: false, hasMask: false))
        let again = try JSONDecoder().decode(RecurrenceSpec.self, from: JSONEncoder().encode(
            RecurrenceSpec(kind: .gru, reverse: false, hasBias: false, hasProjection: false, hasMask: true, hasTokens: true)))
        #expect(again.hasTokens && again.tokensIndex == 4 && again.differentiableIndices == [0, 1, 2])
    }

    /// A traced recurrence over constant tokens replays from its file; a file whose constant
    /// tokens fall outside the table is rejected when loaded, not when run.
    @Test func tracedTokensReplayAndConstantTokensAreChecked() throws {
        let g = RandomGenerator(seed: 13)
        let table = Tensor.randn([7, 4 * 3], generator: g), wHh = Tensor.randn([12, 3], generator: g) * 0.3
        let tokens = Tensor.randint(0, 7, shape: [4, 2], generator: g)
        let h0 = Tensor.randn([2, 3], generator: g)
        func body(_ x: [Tensor]) -> [Tensor] {
            let r = Tensor.recurrence(.lstm, inputProjection: x[0], weightHH: wHh, h0: h0, c0: h0, tokens: tokens)
            return [r.output, r.c!]
        }
        let graph = Graph.trace(inputs: [table], names: [("tokens", tokens)], body)
        let eager = body([table])
        let replay = graph([table])
        #expect(zip(replay, eager).allSatisfy { bitPatterns($0) == bitPatterns($1) })
        let json = try graph.encodedJSON()
        var tensors = try graph.encodedTensors()
        #expect(tensors["tokens"] != nil)
        let loaded = try Graph.decode(tensors: tensors, metadata: [GraphCoding.metadataKey: json])
        #expect(bitPatterns(loaded([table])[0]) == bitPatterns(eager[0]))
        tensors["tokens"] = Tensor([Int64](repeating: 7, count: 8)).reshape([4, 2])
        #expect(throws: GraphError.self) { _ = try Graph.decode(tensors: tensors, metadata: [GraphCoding.metadataKey: json]) }
    }

    /// After backward, while the loss (and so its graph) is still alive, nothing but the caller
    /// holds the weights: an optimiser updates them in place instead of copying them.
    @Test func backwardLeavesTheWeightsUnshared() {
        let g = RandomGenerator(seed: 14)
        var wHh = (Tensor.randn([12, 3], generator: g) * 0.3).requiringGrad()
        var bHh = Tensor.randn([12], generator: g).requiringGrad()
        let table = Tensor.randn([5, 12], generator: g).requiringGrad()
        let tokens = Tensor.randint(0, 5, shape: [4, 2], generator: g), h0 = Tensor.zeros([2, 3])
        let loss = Tensor.recurrence(.lstm, inputProjection: table, weightHH: wHh, biasHH: bHh, h0: h0, c0: h0,
                                     tokens: tokens).output.sum()
        loss.backward()
        withExtendedLifetime(loss) {
            #expect(isKnownUniquelyReferenced(&wHh.storage) && isKnownUniquelyReferenced(&bHh.storage))
        }
        #expect(wHh.grad != nil && bHh.grad != nil && table.grad != nil)
    }

    /// A piece of a split gets the gradient in place and zeros around it.
    @Test func aSplitPieceGradientIsZeroElsewhere() {
        let x = Tensor([1.0, 2, 3, 4, 5, 6]).requiringGrad()
        let parts = x.split(sizes: [2, 3, 1])
        let grad = gradients(of: (parts[1] * Tensor([10.0, 20, 30])).sum(), with: [x])[0]
        #expect(grad.doubles == [0, 0, 10, 20, 30, 0])
        let last = gradients(of: parts[2].sum() + parts[0].sum(), with: [x])[0]
        #expect(last.doubles == [1, 1, 0, 0, 0, 1])
    }
}

