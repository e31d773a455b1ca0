import Foundation
import Testing
@testable import MyelinCore
import MyelinTestSupport

/// Copying ops against NumPy/PyTorch semantics: Fixtures/copying.json, written by
/// Fixtures/generators/gen_copying.py. Each fixture op maps to a closure from (case, inputs) to outputs.
@Suite struct CopyingOpsTests {
    typealias Run = @Sendable (FixtureCase, [Tensor]) -> [Tensor]

    static func paddingMode(_ c: FixtureCase) -> Tensor.PaddingMode {
        switch c.string("mode") {
        case "constant": return .constant(c.double("value"))
        case "reflect": return .reflect
        case "replicate": return .replicate
        case "circular": return .circular
        case let m: fatalError("fixture \(c.name): unknown pad mode \(String(describing: m))")
        }
    }

    static let ops: [String: Run] = [
        "cat": { c, x in [Tensor.cat(x, axis: c.int("axis"))] },
        "stack": { c, x in [stack(x, axis: c.int("axis"))] },
        "split_sizes": { c, x in x[0].split(sizes: c.ints("sizes")!, axis: c.int("axis")) },
        "split_size": { c, x in x[0].split(size: c.int("size"), axis: c.int("axis")) },
        "chunk": { c, x in x[0].chunk(c.int("n"), axis: c.int("axis")) },
        "unbind": { c, x in x[0].unbind(axis: c.int("axis")) },
        "gather": { c, x in [x[0].gather(axis: c.int("axis"), index: x[1])] },
        "indexSelect": { c, x in [x[0].indexSelect(axis: c.int("axis"), indices: x[1])] },
        "indexAdd": { c, x in [x[0].indexAdd(axis: c.int("axis"), indices: x[1], source: x[2])] },
        "scatter": { c, x in [x[0].scatter(axis: c.int("axis"), index: x[1], source: x[2])] },
        "scatterValue": { c, x in [x[0].scatter(axis: c.int("axis"), index: x[1], value: c.double("value"))] },
        "scatterAdd": { c, x in [x[0].scatterAdd(axis: c.int("axis"), index: x[1], source: x[2])] },
        "where": { _, x in [Tensor.where(x[0], x[1], x[2])] },
        "maskedFill": { c, x in [x[0].maskedFill(x[1], value: c.double("value"))] },
        "maskedSelect": { _, x in [x[0].maskedSelect(x[1])] },
        "oneHot": { c, x in [x[0].oneHot(classes: c.int("classes"), dtype: DType(rawValue: c.string("dtype")!)!)] },
        "flip": { c, x in [x[0].flip(axes: c.ints("axes")!)] },
        "pad": { c, x in
            let w = c.ints("widths")!
            let pairs = stride(from: 0, to: w.count, by: 2).map { (before: w[$0], after: w[$0 + 1]) }
            return [x[0].pad(pairs, mode: paddingMode(c))]
        },
        "padLast": { c, x in [x[0].pad(lastAxes: c.ints("widths")!, mode: paddingMode(c))] },
        "repeat": { c, x in [x[0].repeated(c.ints("repeats")!)] },
        "tile": { c, x in [x[0].tile(c.ints("reps")!)] },
        "repeatInterleave": { c, x in [x[0].repeatInterleave(c.int("n"), axis: c.has("axis") ? c.int("axis") : nil)] },
        "sort": { c, x in
            let r = x[0].sorted(axis: c.int("axis"), descending: c.bool("descending"))
            return [r.values, r.indices]
        },
        "argsort": { c, x in [x[0].argsort(axis: c.int("axis"), descending: c.bool("descending"))] },
        "topk": { c, x in
            let r = x[0].topk(c.int("k"), axis: c.int("axis"), largest: c.bool("largest"))
            return [r.values, r.indices]
        },
    ]

    @Test(arguments: Fixtures.load("copying"))
    func fixture(_ c: FixtureCase) {
        guard let run = Self.ops[c.op] else {
            Issue.record("no runner for fixture op \(c.op) (\(c.name))")
            return
        }
        let inputs = c.inputs.map(\.tensor)
        let before = inputs.map(\.doubles)
        let outputs = run(c, inputs)
        #expect(outputs.count == c.expected.count, "\(c.name): \(outputs.count) outputs, expected \(c.expected.count)")
        for (k, (a, e)) in zip(outputs, c.expected).enumerated() {
            expectClose(a, e.tensor, rtol: c.rtol, atol: c.atol, "\(c.name) output \(k)")
        }
        // Inputs are never modified (ops return new tensors or views).
        for (k, t) in inputs.enumerated() {
            let now = t.doubles
            #expect(zip(now, before[k]).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) }, "\(c.name): input \(k) changed")
        }
    }

    @Test func everyOpHasFixtures() {
        let used = Set(Fixtures.load("copying").map(\.op))
        #expect(used == Set(Self.ops.keys))
    }

    // MARK: Views and sharing

    @Test func splitsAreViews() {
        let x = Tensor.arange(12).reshape([3, 4])
        for part in x.split(sizes: [1, 2]) + x.split(size: 3, axis: 1) + x.chunk(2, axis: 1) + x.unbind() {
            #expect(part.storage === x.storage)
        }
        // Writing to a piece is copy-on-write: the base keeps its values.
        var first = x.chunk(3)[0]
        first.fill(-1)
        #expect(x.ints == Array(0..<12))
        #expect(first.ints == [-1, -1, -1, -1])
    }

    @Test func copiesOwnTheirMemory() {
        let x = Tensor([[1.0, 2.0], [3.0, 4.0]])
        let results = [
            Tensor.cat([x]), x.flip(axes: []), x.pad([(0, 0), (0, 0)]), x.repeated([1, 1]),
            x.gather(axis: 0, index: Tensor([[0, 1], [1, 0]])), x.indexSelect(axis: 0, indices: Tensor([0, 1])),
            x.scatter(axis: 0, index: Tensor([[0, 1]]), source: x), x.maskedFill(Tensor(false), value: 0),
        ]
        for r in results { #expect(r.storage !== x.storage) }
    }

    // MARK: Spellings the fixtures do not reach

    @Test func convenienceSpellings() {
        let x = Tensor([-1.0, 2.0, -3.0])
        #expect(`where`(x .> 0, x, Tensor.zeros([3])).floats == [0, 2, 0])
        #expect(Tensor.where(x .> 0, x, 0).floats == [0, 2, 0])
        #expect(Tensor.where(x .> 0, 1, x).floats == [-1, 1, -3])
        let i = Tensor([1, 2, 3], dtype: .int32)
        #expect(Tensor.where(i .> 1, i, 0.5).dtype == .float32)
        #expect(Tensor.where(i .> 1, i, 0).dtype == .int32)
        #expect(cat([Tensor([1, 2]), Tensor([3])]).ints == [1, 2, 3])
        #expect(x.flip(0).floats == [-3, 2, -1])
        #expect(Tensor([1, 2]).repeated(2, 2).shape == [2, 4])
        #expect(Tensor([[1, 2], [3, 4]]).pad([(1, 0), (0, 1)], mode: .constant(9)).ints == [9, 9, 9, 1, 2, 9, 3, 4, 9])
        #expect(Tensor([1, 2, 3]).pad([(2, 2)], mode: .reflect).ints == [3, 2, 1, 2, 3, 2, 1])
        #expect(Tensor([1, 2, 3]).pad([(2, 2)], mode: .circular).ints == [2, 3, 1, 2, 3, 1, 2])
        #expect(Tensor([1, 2]).pad([(2, 2)], mode: .replicate).ints == [1, 1, 1, 2, 2, 2])
        #expect(Tensor.zeros([3]).scatterAdd(axis: 0, index: Tensor([0, 2, 0]), source: Tensor([1.0, 2.0, 3.0])).floats == [4, 0, 2])
        let (v, k) = Tensor([1.0, 5.0, 3.0, 4.0]).topk(2, sorted: false)
        #expect(Set(v.floats) == [5, 4])
        #expect(Set(k.ints) == [1, 3])
        #expect(k.dtype == .int64)
    }

    @Test func repeatedScatterWritesLastInIndexOrder() {
        let r = Tensor.zeros([3]).scatter(axis: 0, index: Tensor([1, 1, 1]), source: Tensor([1.0, 2.0, 3.0]))
        #expect(r.floats == [0, 3, 0])
    }

    // MARK: Large inputs: parallel chunks and the fast paths agree with the general ones

    @Test func largeInputsTakeParallelPathsConsistently() {
        let rows = 3000, cols = 17
        let x = Tensor.arange(0, Double(rows * cols), dtype: .float32).reshape([rows, cols])
        let strided = x.T.contiguous().T  // same values, column-major: the general kernels
        #expect(!strided.isContiguous)
        var pick = [Int64](repeating: 0, count: 2500)
        for i in pick.indices { pick[i] = Int64((i * 7919) % rows) - (i % 3 == 0 ? Int64(rows) : 0) }
        let idx = Tensor(scalars: pick)
        let fast = x.indexSelect(axis: 0, indices: idx)
        let slow = strided.indexSelect(axis: 0, indices: idx)
        #expect(fast.shape == [2500, cols])
        #expect(bitPatterns(fast) == bitPatterns(slow))
        let row = pick.map { Int($0 < 0 ? $0 + Int64(rows) : $0) }
        #expect(fast[7].floats == x[row[7]].floats)
        #expect(fast[2499].floats == x[row[2499]].floats)

        let c1 = Tensor.cat([x, x * 2], axis: 1), c2 = Tensor.cat([strided, strided * 2], axis: 1)
        #expect(c1.shape == [rows, 2 * cols])
        #expect(bitPatterns(c1) == bitPatterns(c2))
        #expect(c1[5, cols].item() == 2 * x[5, 0].item())

        let mask = (x .> 20000)
        let w1 = Tensor.where(mask, x, -x), w2 = Tensor.where(mask.T.contiguous().T, strided, -strided)
        #expect(bitPatterns(w1) == bitPatterns(w2))
        #expect(x.maskedSelect(mask).count == rows * cols - 20001)

        let g = x.gather(axis: 1, index: Tensor.zeros([rows, 3], dtype: .int64) + 2)
        #expect(g[100].floats == [Float(100 * cols + 2), Float(100 * cols + 2), Float(100 * cols + 2)])

        let s = (x * -1).sorted(axis: 0)
        #expect(s.values[0].floats == x[rows - 1].floats.map { -$0 })
        #expect(s.indices[0].ints == [Int](repeating: rows - 1, count: cols))
        let t = x.topk(3, axis: 0)
        #expect(t.indices.ints.prefix(cols).allSatisfy { $0 == rows - 1 })
    }

    // MARK: Misuse traps with the op's name and the numbers

    @Test func misuseTrapsWithMessages() async {
        // Exit-test bodies cannot capture values, so each is written out in full.
        expectMessage("[cat] tensors must have the same shape except on axis 1: [2, 3] vs [3, 3]",
            await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
                _ = Tensor.cat([Tensor.zeros([2, 3]), Tensor.zeros([3, 3])], axis: 1)
            })
        expectMessage("[gather] index 7 is out of range for axis 1 of size 4",
            await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
                _ = Tensor.zeros([2, 4]).gather(axis: 1, index: Tensor([[0, 7], [1, 2]]))
            })
        expectMessage("[indexSelect] index -4 is out of range for axis 0 of size 3",
            await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
                _ = Tensor.zeros([3, 2]).indexSelect(axis: 0, indices: Tensor([0, -4]))
            })
        expectMessage("[oneHot] class 3 is out of range for 3 classes",
            await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
                _ = Tensor([0, 3]).oneHot(classes: 3)
            })
        expectMessage("[pad] reflect padding 3 must be smaller than the size 3 of axis 0",
            await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
                _ = Tensor([1, 2, 3]).pad([(3, 0)], mode: .reflect)
            })
        expectMessage("[topk] k 5 is out of range for axis 0 of size 4",
            await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
                _ = Tensor([1, 2, 3, 4]).topk(5)
            })
        expectMessage("[split] sizes [1, 1] add up to 2, but axis 0 has size 3",
            await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
                _ = Tensor([1, 2, 3]).split(sizes: [1, 1])
            })
        expectMessage("[stack] tensors must have the same shape: [2] vs [3]",
            await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
                _ = Tensor.stack([Tensor([1, 2]), Tensor([1, 2, 3])])
            })
    }

    /// Checks that a trapped child process printed `message` on stderr.
    func expectMessage(_ message: String, _ result: ExitTest.Result?, sourceLocation: SourceLocation = #_sourceLocation) {
        guard let result else { return }
        let stderr = String(decoding: result.standardErrorContent, as: UTF8.self)
        #expect(stderr.contains(message), "stderr: \(stderr.prefix(400))", sourceLocation: sourceLocation)
    }
}
