import Foundation
import Testing
@testable import MyelinCore

/// `Tensor.multinomial`: distributions checked by counting with fixed seeds. The bounds are about
/// five standard deviations of the count, loose enough never to fail by chance with these seeds,
/// tight enough that a sampler drawing from the wrong distribution (off by 0.02) fails.
@Suite struct SamplingTests {
    static func frequencies(_ draws: [Int], _ categories: Int) -> [Double] {
        var counts = [Double](repeating: 0, count: categories)
        for d in draws { counts[d] += 1 }
        return counts.map { $0 / Double(draws.count) }
    }

    @Test func withReplacementFollowsTheWeights() {
        let g = RandomGenerator(seed: 11)
        let draws = Tensor([1.0, 2.0, 3.0, 4.0]).multinomial(50_000, replacement: true, generator: g)
        #expect(draws.shape == [50_000])
        #expect(draws.dtype == .int64)
        let f = Self.frequencies(draws.ints, 4)
        for (i, p) in [0.1, 0.2, 0.3, 0.4].enumerated() {
            #expect(abs(f[i] - p) < 0.01, "category \(i): \(f[i]) against \(p)")
        }
    }

    @Test func zeroWeightsAreNeverDrawn() {
        let g = RandomGenerator(seed: 2)
        let w = Tensor([0.0, 1e-300, 0.0, 3.0, 0.0], dtype: .float64)
        let draws = w.multinomial(20_000, replacement: true, generator: g).ints
        #expect(Set(draws).isSubset(of: [1, 3]))
        // Without replacement, both positive categories come out, larger key first most often.
        for _ in 0..<200 {
            #expect(Set(w.multinomial(2, generator: g).ints) == [1, 3])
        }
        // Rounding u·total up to the total must not give a trailing zero-weight category.
        #expect(Tensor.searchCumulative([0, 1, 1, 4, 4], 4) == 3)
        #expect(Tensor.searchCumulative([0, 1, 1, 4, 4], 0.5) == 1)
        #expect(Tensor.searchCumulative([0, 1, 1, 4, 4], 1) == 3)
        #expect(Tensor.searchCumulative([2, 2], 0) == 0)
    }

    @Test func rowsAreSeparateDistributions() {
        let g = RandomGenerator(seed: 5)
        let w = Tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 7.0], [0.0, 2.0, 0.0]])
        let draws = w.multinomial(6, replacement: true, generator: g)
        #expect(draws.shape == [3, 6])
        #expect(draws.ints == [0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1])
        let once = w.multinomial(1, generator: g)
        #expect(once.shape == [3, 1])
        #expect(once.ints == [0, 2, 1])
    }

    @Test func aSeedGivesTheSameDraws() {
        let w = Tensor([0.3, 0.2, 0.5, 0.1, 0.9])
        let a = w.multinomial(100, replacement: true, generator: RandomGenerator(seed: 7)).ints
        let b = w.multinomial(100, replacement: true, generator: RandomGenerator(seed: 7)).ints
        let c = w.multinomial(100, replacement: true, generator: RandomGenerator(seed: 8)).ints
        #expect(a == b)
        #expect(a != c)
        let d = w.multinomial(5, generator: RandomGenerator(seed: 7)).ints
        #expect(d == w.multinomial(5, generator: RandomGenerator(seed: 7)).ints)
        #expect(d.sorted() == [0, 1, 2, 3, 4])
    }

    /// Without replacement: the first pick follows the weights, and each category's chance of
    /// being in a sample of two is p_i + Σ_{j≠i} p_j p_i / (1 - p_j), as for sequential draws.
    @Test func withoutReplacementIsSequentialDrawing() {
        let g = RandomGenerator(seed: 3)
        let p = [0.1, 0.2, 0.3, 0.4]
        let w = Tensor(shape: [1, 4], scalars: p.map { Float($0 * 10) })
        let trials = 20_000
        var first = [Double](repeating: 0, count: 4), included = first
        for _ in 0..<trials {
            let pick = w.multinomial(2, generator: g).ints
            #expect(pick[0] != pick[1])
            first[pick[0]] += 1
            for i in pick { included[i] += 1 }
        }
        for i in 0..<4 {
            var expected = p[i]
            for j in 0..<4 where j != i { expected += p[j] * p[i] / (1 - p[j]) }
            #expect(abs(first[i] / Double(trials) - p[i]) < 0.02, "first pick \(i)")
            #expect(abs(included[i] / Double(trials) - expected) < 0.02, "inclusion of \(i): \(included[i] / Double(trials)) against \(expected)")
        }
        // All categories: a permutation.
        let all = Tensor([[5.0, 1.0, 1.0, 2.0, 9.0]]).multinomial(5, generator: g).ints
        #expect(all.sorted() == [0, 1, 2, 3, 4])
    }

    @Test func misuseTraps() async {
        expectMessage(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.ones([2, 2, 2]).multinomial(1)
        }, "[multinomial]", "1-D or 2-D")
        expectMessage(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor([1, 2]).multinomial(1)
        }, "[multinomial]", "floating point")
        expectMessage(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor([1.0]).multinomial(0)
        }, "[multinomial]", "numSamples must be positive")
        expectMessage(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor([1.0, 1.0]).multinomial(3)
        }, "[multinomial]", "cannot draw 3 samples without replacement from 2 categories")
        expectMessage(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor([1.0, 0.0, 0.0]).multinomial(2)
        }, "[multinomial]", "row 0 has 1 positive weights, too few for 2 samples")
        expectMessage(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor([[1.0, 1.0], [-1.0, 2.0]]).multinomial(1, replacement: true)
        }, "[multinomial]", "row 1 has weight -1.0 at 0")
        expectMessage(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor([Double.nan, 1.0], dtype: .float64).multinomial(1)
        }, "[multinomial]", "row 0 has weight nan at 0")
        expectMessage(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor([0.0, 0.0]).multinomial(1, replacement: true)
        }, "[multinomial]", "row 0 has no positive weight")
    }
}

/// Checks that a trapping exit test printed `op` and `message`.
func expectMessage(_ result: ExitTest.Result?, _ op: String, _ message: String,
                   sourceLocation: SourceLocation = #_sourceLocation) {
    let err = result.map { String(decoding: $0.standardErrorContent, as: UTF8.self) } ?? ""
    #expect(err.contains(op) && err.contains(message), "expected \(op) \(message), got: \(err)", sourceLocation: sourceLocation)
}
