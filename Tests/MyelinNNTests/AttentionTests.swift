import Foundation
import Testing
@testable import MyelinNN
@testable import MyelinCore
import MyelinTestSupport

/// Scaled dot-product attention, MultiheadAttention and the Transformer encoder against PyTorch
/// (Fixtures/attention.json from generators/gen_attention.py, float64): outputs, weights and every
/// input and parameter gradient, with PyTorch's state dicts loaded unchanged. Plus finite
/// differences, float32, long sequences and the block boundaries of the kernel.
@Suite struct AttentionTests {
    static func names(_ c: FixtureCase) -> [String] {
        guard case .array(let a)? = c.params["names"] else { fatalError("fixture \(c.name): no names") }
        return a.map { if case .string(let s) = $0 { return s } else { fatalError("fixture \(c.name): bad name") } }
    }

    /// Loads the fixture's parameters (inputs from `first`) by their PyTorch names, in float64.
    static func load(_ module: Module, _ c: FixtureCase, names: [String], first: Int) throws {
        module.to(.float64)
        var dict: [String: Tensor] = [:]
        for (k, name) in names.enumerated() { dict[name] = c.inputs[first + k].tensor }
        try module.loadStateDict(dict)
        #expect(module.namedParameters().map { Module.stateName($0.0) } == names, "\(c.name): parameter names and order")
    }

    // MARK: Against PyTorch

    @Test(arguments: Fixtures.load("attention").filter { $0.op == "sdpa" })
    func sdpaMatchesPyTorch(_ c: FixtureCase) {
        let q = c.inputs[0].tensor.requiringGrad(), k = c.inputs[1].tensor.requiringGrad(), v = c.inputs[2].tensor.requiringGrad()
        let hasMask = c.string("mask") != "none"
        let mask = hasMask ? c.inputs[3].tensor : nil
        let r = c.inputs[hasMask ? 4 : 3].tensor
        let out = Tensor.scaledDotProductAttention(query: q, key: k, value: v, mask: mask, isCausal: c.bool("isCausal"),
                                                   scale: c.has("scale") ? c.double("scale") : nil)
        (out * r).sum().backward()
        for (i, actual) in [out, q.grad!, k.grad!, v.grad!].enumerated() {
            expectClose(actual, c.expected[i].tensor, rtol: c.rtol, atol: c.atol, "\(c.name) result \(i)")
        }
    }

    @Test(arguments: Fixtures.load("attention").filter { $0.op == "mha" })
    func multiheadAttentionMatchesPyTorch(_ c: FixtureCase) throws {
        let mha = MultiheadAttention(embedDim: c.int("embedDim"), numHeads: c.int("numHeads"), bias: c.bool("bias"),
                                     batchFirst: c.bool("batchFirst"), generator: RandomGenerator(seed: 1))
        mha.eval()
        let names = Self.names(c)
        try Self.load(mha, c, names: names, first: 3)
        var next = 3 + names.count
        func take() -> Tensor { defer { next += 1 }; return c.inputs[next].tensor }
        let keyPadding = c.string("keyPadding") != "none" ? take() : nil
        let attnMask = c.string("attnMask") != "none" ? take() : nil
        let r = take()
        let needWeights = c.bool("needWeights")
        let selfAttention = c.bool("selfAttention")
        let q = c.inputs[0].tensor.requiringGrad(), k = c.inputs[1].tensor.requiringGrad(), v = c.inputs[2].tensor.requiringGrad()
        let (out, weights) = selfAttention
            ? mha.selfAttention(q, keyPaddingMask: keyPadding, attnMask: attnMask, isCausal: c.bool("isCausal"),
                                needWeights: needWeights, averageAttnWeights: c.bool("average"))
            : mha(q, k, v, keyPaddingMask: keyPadding, attnMask: attnMask, isCausal: c.bool("isCausal"),
                  needWeights: needWeights, averageAttnWeights: c.bool("average"))
        var loss = (out * r).sum()
        if needWeights { loss = loss + (weights! * take()).sum() }
        loss.backward()
        var actual = [out] + (needWeights ? [weights!] : [])
        actual += selfAttention ? [q.grad!] : [q.grad!, k.grad!, v.grad!]
        let params = Dictionary(uniqueKeysWithValues: mha.namedParameters().map { (Module.stateName($0.0), $0.1) })
        actual += names.map { params[$0]!.grad! }
        #expect(actual.count == c.expected.count)
        for (i, a) in actual.enumerated() {
            expectClose(a, c.expected[i].tensor, rtol: c.rtol, atol: c.atol, "\(c.name) result \(i)")
        }
    }

    @Test(arguments: Fixtures.load("attention").filter { $0.op.hasPrefix("encoder") })
    func encoderMatchesPyTorch(_ c: FixtureCase) throws {
        let activation: TransformerActivation = switch c.string("activation") {
        case "gelu": .gelu
        case "geluTanh": .geluTanh
        default: .relu
        }
        let layer = TransformerEncoderLayer(dModel: c.int("dModel"), nhead: c.int("nhead"), dimFeedforward: c.int("dimFeedforward"),
                                            dropout: 0.1, activation: activation, layerNormEps: c.double("layerNormEps"),
                                            batchFirst: c.bool("batchFirst"), normFirst: c.bool("normFirst"),
                                            generator: RandomGenerator(seed: 1))
        let encoder: Module = c.op == "encoder"
            ? TransformerEncoder(layer, numLayers: c.int("numLayers"), norm: c.bool("finalNorm") ? LayerNorm([c.int("dModel")]) : nil)
            : layer
        encoder.eval()
        let names = Self.names(c)
        try Self.load(encoder, c, names: names, first: 1)
        var next = 1 + names.count
        let keyPadding = c.bool("keyPadding") ? c.inputs[next].tensor : nil
        if keyPadding != nil { next += 1 }
        let srcMask = c.string("srcMask") != "none" ? c.inputs[next].tensor : nil
        if srcMask != nil { next += 1 }
        let r = c.inputs[next].tensor
        let x = c.inputs[0].tensor.requiringGrad()
        let out = (encoder as? TransformerEncoder)?(x, mask: srcMask, srcKeyPaddingMask: keyPadding)
            ?? layer(x, srcMask: srcMask, srcKeyPaddingMask: keyPadding)
        (out * r).sum().backward()
        let params = Dictionary(uniqueKeysWithValues: encoder.namedParameters().map { (Module.stateName($0.0), $0.1) })
        let actual = [out, x.grad!] + names.map { params[$0]!.grad! }
        for (i, a) in actual.enumerated() {
            expectClose(a, c.expected[i].tensor, rtol: c.rtol, atol: c.atol, "\(c.name) result \(i)")
        }
    }

    // MARK: Finite differences, float32, blocks

    /// softmax(q kᵀ · scale + mask) v with ordinary ops: the reference the op must equal.
    static func composed(_ q: Tensor, _ k: Tensor, _ v: Tensor, additive: Tensor? = nil, causal: Bool = false) -> Tensor {
        var s = q.matmul(k.transposed()) * (1 / Double(q.shape.last!).squareRoot())
        if let additive { s = s + additive }
        if causal { s = s.maskedFill(Tensor.causalMask(q.shape[q.rank - 2], k.shape[k.rank - 2]).logicalNot(), value: -.infinity) }
        return s.softmax(axis: -1).matmul(v)
    }

    @Test func gradientsMatchFiniteDifferences() {
        let gen = RandomGenerator(seed: 3)
        let q = Tensor.normal([2, 3, 4], dtype: .float64, generator: gen)
        let k = Tensor.normal([2, 5, 4], dtype: .float64, generator: gen)
        let v = Tensor.normal([2, 5, 3], dtype: .float64, generator: gen)
        let mask = Tensor.normal([3, 5], dtype: .float64, generator: gen)
        let padding = Tensor([true, true, false, true, false]).reshape([1, 1, 5])
        for (what, f) in [("float mask", { (x: [Tensor]) in Tensor.scaledDotProductAttention(query: x[0], key: x[1], value: x[2], mask: mask) }),
                          ("bool mask", { (x: [Tensor]) in Tensor.scaledDotProductAttention(query: x[0], key: x[1], value: x[2], mask: padding) }),
                          ("causal", { (x: [Tensor]) in Tensor.scaledDotProductAttention(query: x[0], key: x[1], value: x[2], isCausal: true) })] {
            for (i, r) in gradCheck([q, k, v], f).enumerated() {
                #expect(r.worstRelativeError < 1e-7, "\(what), input \(i): \(r)")
            }
        }
    }

    @Test func float32AgreesWithFloat64() {
        let gen = RandomGenerator(seed: 4)
        let q = Tensor.normal([2, 2, 7, 8], dtype: .float64, generator: gen), k = Tensor.normal([2, 2, 9, 8], dtype: .float64, generator: gen)
        let v = Tensor.normal([2, 2, 9, 8], dtype: .float64, generator: gen)
        let padding = Tensor([true, true, true, true, true, true, false, false, false,
                              true, true, true, true, true, true, true, true, true]).reshape([2, 1, 1, 9])
        let r = Tensor.normal([2, 2, 7, 8], dtype: .float64, generator: gen)
        func run(_ dtype: DType) -> [Tensor] {
            let (q, k, v) = (q.to(dtype).requiringGrad(), k.to(dtype).requiringGrad(), v.to(dtype).requiringGrad())
            let out = Tensor.scaledDotProductAttention(query: q, key: k, value: v, mask: padding)
            (out * r.to(dtype)).sum().backward()
            return [out, q.grad!, k.grad!, v.grad!]
        }
        let (single, double) = (run(.float32), run(.float64))
        for i in 0..<4 {
            #expect(single[i].dtype == .float32)
            expectClose(single[i].to(.float64), double[i], rtol: 1e-4, atol: 1e-5, "result \(i)")
        }
    }

    /// Several query blocks per slice (the block is 32K scores / Tk rows, at least 16), causal and
    /// not, forward and backward, against the composed ops.
    @Test func blocksMatchComposedOps() {
        let gen = RandomGenerator(seed: 5)
        let (tq, tk) = (150, 300)
        #expect(AttentionGeometry(batchShape: [2], tq: tq, tk: tk, d: 4, dv: 3, scale: 1, isCausal: false).blocksPerSlice == 2)
        let q0 = Tensor.normal([2, tq, 4], dtype: .float64, generator: gen), k0 = Tensor.normal([2, tk, 4], dtype: .float64, generator: gen)
        let v0 = Tensor.normal([2, tk, 3], dtype: .float64, generator: gen), r = Tensor.normal([2, tq, 3], dtype: .float64, generator: gen)
        for causal in [false, true] {
            var results: [[Tensor]] = []
            for fused in [true, false] {
                let (q, k, v) = (q0.requiringGrad(), k0.requiringGrad(), v0.requiringGrad())
                let out = fused ? Tensor.scaledDotProductAttention(query: q, key: k, value: v, isCausal: causal)
                                : Self.composed(q, k, v, causal: causal)
                (out * r).sum().backward()
                results.append([out, q.grad!, k.grad!, v.grad!])
            }
            for i in 0..<4 { expectClose(results[0][i], results[1][i], rtol: 1e-10, atol: 1e-11, "causal \(causal) result \(i)") }
        }
    }

    /// T = 2048 with one head in float32: the scratch is 16 rows of scores, not [T, T]; rows
    /// spread over the sequence match the composed ops on those query rows.
    @Test func longSequenceRunsInBlocks() {
        let (t, d) = (2048, 16)
        let geometry = AttentionGeometry(batchShape: [1, 1], tq: t, tk: t, d: d, dv: d, scale: 0.25, isCausal: false)
        #expect(geometry.block * t == 1 << 15, "scratch per thread: \(geometry.block) x \(t)")
        let gen = RandomGenerator(seed: 6)
        let q = Tensor.normal([1, 1, t, d], generator: gen), k = Tensor.normal([1, 1, t, d], generator: gen)
        let v = Tensor.normal([1, 1, t, d], generator: gen)
        for causal in [false, true] {
            let out = Tensor.scaledDotProductAttention(query: q, key: k, value: v, isCausal: causal)
            #expect(out.shape == [1, 1, t, d])
            for row in [0, 17, 1000, 2047] {
                let qi = q[.all, .all, row..<(row + 1)]
                // Row i under the causal mask sees keys 0...i only.
                let (kr, vr) = causal ? (k[.all, .all, 0..<(row + 1)], v[.all, .all, 0..<(row + 1)]) : (k, v)
                expectClose(out[.all, .all, row..<(row + 1)], Self.composed(qi, kr, vr), rtol: 1e-4, atol: 1e-5, "causal \(causal) row \(row)")
            }
        }
    }

    @Test func fullyMaskedRowsGiveZerosNotNaN() {
        let gen = RandomGenerator(seed: 7)
        let q = Tensor.normal([1, 3, 4], dtype: .float64, generator: gen).requiringGrad()
        let k = Tensor.normal([1, 4, 4], dtype: .float64, generator: gen).requiringGrad()
        let v = Tensor.normal([1, 4, 2], dtype: .float64, generator: gen).requiringGrad()
        var m = Tensor.zeros([3, 4], dtype: .float64)
        m[1] = Tensor(scalar: -Double.infinity, dtype: .float64)
        let out = Tensor.scaledDotProductAttention(query: q, key: k, value: v, mask: m)
        out.sum().backward()
        #expect(out[0, 1].doubles == [0, 0])
        #expect(q.grad![0, 1].doubles == [0, 0, 0, 0])
        #expect(!out.doubles.contains { $0.isNaN } && !k.grad!.doubles.contains { $0.isNaN } && !v.grad!.doubles.contains { $0.isNaN })
        // No keys at all: zero output.
        let empty = Tensor.scaledDotProductAttention(query: q.detached(), key: Tensor.zeros([1, 0, 4], dtype: .float64),
                                                     value: Tensor.zeros([1, 0, 2], dtype: .float64))
        #expect(empty.shape == [1, 3, 2] && empty.doubles.allSatisfy { $0 == 0 })
    }

    /// The op in a traced graph: saved, loaded (its primitives are registered) and replayed with
    /// the same values and gradients.
    @Test func tracedGraphsSaveReplayAndDifferentiate() throws {
        let gen = RandomGenerator(seed: 15)
        let q = Tensor.normal([2, 3, 4], dtype: .float64, generator: gen), k = Tensor.normal([2, 5, 4], dtype: .float64, generator: gen)
        let v = Tensor.normal([2, 5, 3], dtype: .float64, generator: gen)
        let padding = Tensor([true, true, true, false, false, true, true, true, true, true]).reshape([2, 1, 5])
        let f: ([Tensor]) -> [Tensor] = { [Tensor.scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], mask: padding)] }
        let graph = Graph.trace(inputs: [q, k, v]) { f($0) }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("attention-\(UInt64.random(in: 0...UInt64.max)).graph").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try graph.save(to: path)
        let loaded = try Graph.load(path)
        let (a, b) = ([q, k, v].map { $0.requiringGrad() }, [q, k, v].map { $0.requiringGrad() })
        let direct = f(a)[0], replayed = loaded(b)[0]
        expectClose(replayed, direct, rtol: 0, atol: 0, "replayed output")
        direct.sum().backward()
        replayed.sum().backward()
        for i in 0..<3 { expectClose(b[i].grad!, a[i].grad!, rtol: 0, atol: 0, "gradient \(i)") }
    }

    // MARK: Modules

    @Test func sequenceBatchSelfAttentionIgnoresPadding() {
        let mha = MultiheadAttention(embedDim: 8, numHeads: 2, batchFirst: false, generator: RandomGenerator(seed: 8))
        let x = Tensor.normal([2, 5, 8], generator: RandomGenerator(seed: 9))
        let y = mha(SequenceBatch(x, lengths: [5, 3]))
        let padding = Tensor([false, false, false, false, false, false, false, false, true, true]).reshape([2, 5])
        let expected = mha.selfAttention(x.transposed(0, 1), keyPaddingMask: padding).output.transposed(0, 1)
        expectClose(y, expected, rtol: 1e-5, atol: 1e-6, "sequence batch")
        // Padded keys do not matter: changing them leaves the valid positions' outputs.
        var changed = x
        changed[1, 3...] = Tensor.normal([2, 8], generator: RandomGenerator(seed: 10))
        let z = mha(SequenceBatch(changed, lengths: [5, 3]))
        expectClose(z[1, 0..<3], y[1, 0..<3], rtol: 1e-5, atol: 1e-6, "padded keys ignored")
    }

    @Test func encoderStacksDeepCopiesWithPyTorchNames() {
        let layer = TransformerEncoderLayer(dModel: 8, nhead: 2, dimFeedforward: 16, batchFirst: true, generator: RandomGenerator(seed: 11))
        let encoder = TransformerEncoder(layer, numLayers: 2, norm: LayerNorm([8]))
        let names = encoder.stateDict().keys.sorted()
        #expect(names.contains("layers.0.self_attn.in_proj_weight") && names.contains("layers.1.self_attn.out_proj.bias"))
        #expect(names.contains("layers.1.linear2.weight") && names.contains("layers.0.norm2.bias") && names.contains("norm.weight"))
        #expect(names.count == 2 * 12 + 2)
        #expect(encoder.layers[0].linear1.weight.value.floats == layer.linear1.weight.value.floats)
        encoder.layers[0].linear1.weight.assign(Tensor.zeros([16, 8]))
        #expect(encoder.layers[1].linear1.weight.value.floats == layer.linear1.weight.value.floats, "copies are independent")
        encoder.eval()
        let x = Tensor.normal([2, 5, 8], generator: RandomGenerator(seed: 12))
        #expect(encoder(x).shape == [2, 5, 8])
    }

    @Test func sinusoidalPositionsFollowVaswani() {
        let pos = SinusoidalPositionalEmbedding(dimension: 6, maxLength: 10)
        let zeros = Tensor.zeros([2, 4, 6], dtype: .float64)
        let y = pos(zeros)
        for t in 0..<4 {
            for i in 0..<3 {
                let angle = Double(t) / Foundation.pow(10000, Double(2 * i) / 6)
                #expect(abs(y[1, t, 2 * i].item() - Foundation.sin(angle)) < 1e-12)
                #expect(abs(y[1, t, 2 * i + 1].item() - Foundation.cos(angle)) < 1e-12)
            }
        }
        let later = pos(Tensor.zeros([1, 2, 6], dtype: .float64), startPosition: 2)
        expectClose(later[0], y[0, 2..<4], rtol: 0, atol: 1e-15, "startPosition")
        let sequenceFirst = SinusoidalPositionalEmbedding(dimension: 6, maxLength: 10, batchFirst: false)
        expectClose(sequenceFirst(zeros.transposed(0, 1)), y.transposed(0, 1), rtol: 0, atol: 1e-15, "sequence first")
        #expect(pos.stateDict().isEmpty)
    }

    @Test func learnedPositionsAreAnEmbeddingWeight() {
        let pos = LearnedPositionalEmbedding(maxLength: 10, dimension: 4, generator: RandomGenerator(seed: 13))
        #expect(Array(pos.stateDict().keys) == ["weight"])
        let x = Tensor.normal([3, 5, 4], generator: RandomGenerator(seed: 14))
        let y = pos(x)
        expectClose(y, x + pos.weight.value[0..<5].detached(), rtol: 0, atol: 0, "adds rows 0..<5")
        y.sum().backward()
        let g = pos.weight.grad!.floats
        #expect(g.prefix(20).allSatisfy { $0 == 3 } && g.dropFirst(20).allSatisfy { $0 == 0 })
    }
}

