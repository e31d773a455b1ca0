import Foundation
import Testing
import MyelinCore
@testable import MyelinNN

/// `TokenSampler`: exact filtered probabilities, and draws that never leave the kept tokens.
@Suite struct TokenSamplerTests {
    static func softmax(_ z: [Double]) -> [Double] {
        let m = z.max()!
        let e = z.map { Foundation.exp($0 - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    static func close(_ a: [Double], _ b: [Double], _ tolerance: Double = 1e-12) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tolerance }
    }

    @Test func temperatureScalesTheLogits() {
        let logits = [0.5, -1.0, 2.0, 0.0]
        let p1 = TokenSampler().probabilities(logits: Tensor(logits)).doubles
        #expect(Self.close(p1, Self.softmax(logits), 1e-7))
        let p2 = TokenSampler(temperature: 2).probabilities(logits: Tensor(logits, dtype: .float64)).doubles
        #expect(Self.close(p2, Self.softmax(logits.map { $0 / 2 })))
        let p = TokenSampler(temperature: 0.5).probabilities(logits: Tensor([logits, logits], dtype: .float64))
        #expect(p.shape == [2, 4])
        #expect(Self.close(Array(p.doubles[4...]), Self.softmax(logits.map { $0 / 0.5 })))
    }

    /// A positive temperature so small that logit / temperature overflows acts as greedy, with
    /// ties shared, instead of giving inf - inf = NaN (which trapped `myelin generate --temperature 1e-320`).
    @Test func tinyTemperaturesAreGreedy() {
        let logits = Tensor([0.5, -1.0, 2.0, 0.0], dtype: .float64)
        for t in [1e-320, 1e-308, Double.leastNonzeroMagnitude] {
            #expect(TokenSampler(temperature: t).probabilities(logits: logits).doubles == [0, 0, 1, 0])
            #expect(TokenSampler(temperature: t, topK: 2).sample(logits: logits).ints == [2])
        }
        let tied = Tensor([2.0, -1.0, 2.0, -Double.infinity], dtype: .float64)
        #expect(TokenSampler(temperature: 1e-320).probabilities(logits: tied).doubles == [0.5, 0, 0.5, 0])
        // Where nothing overflows the values are as before: 1e-300 still divides the logits.
        #expect(TokenSampler(temperature: 1e-300).probabilities(logits: Tensor([1e-300, 0], dtype: .float64)).doubles
                == Self.softmax([1, 0]))
    }

    @Test func topKKeepsTheKLargestAndTies() {
        let logits = Tensor([1.0, 3.0, 2.0, 0.0, 2.0], dtype: .float64)
        let p = TokenSampler(topK: 2).probabilities(logits: logits).doubles
        // The second largest value, 2, is shared: both copies stay, as in Hugging Face's filter.
        let kept = Self.softmax([3.0, 2.0, 2.0])
        #expect(Self.close(p, [0, kept[0], kept[1], 0, kept[2]]))
        let one = TokenSampler(topK: 1).probabilities(logits: logits).doubles
        #expect(one == [0, 1, 0, 0, 0])
        // k at least the vocabulary changes nothing.
        #expect(Self.close(TokenSampler(topK: 9).probabilities(logits: logits).doubles, Self.softmax(logits.doubles)))
    }

    @Test func topPKeepsTheSmallestLikelySet() {
        let probs = [0.05, 0.5, 0.15, 0.3]
        let logits = Tensor(probs.map { Foundation.log($0) }, dtype: .float64)
        // Most likely first: 0.5, 0.3, 0.15, 0.05. topP 0.7 needs 0.5 + 0.3.
        #expect(Self.close(TokenSampler(topP: 0.7).probabilities(logits: logits).doubles, [0, 0.625, 0, 0.375]))
        #expect(Self.close(TokenSampler(topP: 0.9).probabilities(logits: logits).doubles, [0, 0.5 / 0.95, 0.15 / 0.95, 0.3 / 0.95]))
        #expect(TokenSampler(topP: 0.4).probabilities(logits: logits).doubles == [0, 1, 0, 0])
        #expect(TokenSampler(topP: 1e-9).probabilities(logits: logits).doubles == [0, 1, 0, 0])
        // After top-k 2 the kept two renormalise to 0.625 / 0.375, so top-p 0.6 keeps one.
        #expect(TokenSampler(topK: 2, topP: 0.6).probabilities(logits: logits).doubles == [0, 1, 0, 0])
    }

    @Test func filteredTokensAreNeverDrawn() {
        let g = RandomGenerator(seed: 21)
        let logits = Tensor.normal([3, 12], generator: g)
        let values = logits.doubles
        let topK = TokenSampler(temperature: 1.5, topK: 3)
        let topP = TokenSampler(temperature: 1.5, topP: 0.5)
        for r in 0..<3 {
            let row = Array(values[r * 12..<(r + 1) * 12])
            let allowedK = Set(row.indices.sorted { row[$0] > row[$1] }.prefix(3))
            let allowedP = Set(topP.probabilities(logits: Tensor(row)).doubles.indices.filter {
                topP.probabilities(logits: Tensor(row)).doubles[$0] > 0
            })
            #expect(allowedP.count >= 1 && allowedP.count < 12)
            for _ in 0..<1000 {
                #expect(allowedK.contains(topK.sample(logits: Tensor(row), generator: g).item(as: Int64.self).asInt))
            }
            let batch = topP.sample(logits: Tensor(shape: [1, 12], scalars: row.map { Float($0) }), generator: g)
            #expect(batch.shape == [1])
            for _ in 0..<1000 {
                #expect(allowedP.contains(topP.sample(logits: Tensor(row), generator: g).item(as: Int64.self).asInt))
            }
        }
    }

    @Test func drawsFollowTheProbabilities() {
        let g = RandomGenerator(seed: 4)
        let logits = Tensor([0.0, Foundation.log(2.0), Foundation.log(5.0), -Double.infinity], dtype: .float64)
        let sampler = TokenSampler()
        var counts = [0.0, 0, 0, 0]
        let draws = sampler.sample(logits: Tensor(shape: [20_000, 4], scalars: Array(repeating: logits.doubles, count: 20_000).flatMap { $0 }), generator: g)
        #expect(draws.shape == [20_000])
        for d in draws.ints { counts[d] += 1 }
        for (i, p) in [0.125, 0.25, 0.625, 0].enumerated() {
            #expect(abs(counts[i] / 20_000 - p) < 0.02, "token \(i): \(counts[i] / 20_000) against \(p)")
        }
        #expect(counts[3] == 0)
    }

    @Test func lowTemperatureIsArgmax() {
        let g = RandomGenerator(seed: 9)
        let logits = Tensor([0.3, 1.2, 1.1999, -4.0, 0.9])
        for t in [1e-8, 1e-30] {
            let sampler = TokenSampler(temperature: t)
            #expect(sampler.probabilities(logits: logits).doubles == [0, 1, 0, 0, 0])
            for _ in 0..<200 { #expect(sampler.sample(logits: logits, generator: g).item(as: Int64.self) == 1) }
        }
        // Temperature 0 is greedy and takes the first of equal maxima, as argmax.
        let tied = Tensor([[1.0, 5.0, 5.0], [7.0, 7.0, 0.0]])
        #expect(TokenSampler.greedy.sample(logits: tied, generator: g).ints == [1, 0])
        #expect(TokenSampler(temperature: 0, topK: 1).probabilities(logits: tied).doubles == [0, 1, 0, 1, 0, 0])
        #expect(TokenSampler.greedy.sample(logits: Tensor([0.0, 2.0]), generator: g).shape == [])
    }

    @Test func misuseTraps() async {
        expectTrap(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = TokenSampler(temperature: -1)
        }, "temperature must be finite and non-negative, got -1.0")
        expectTrap(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = TokenSampler(temperature: .nan)
        }, "temperature must be finite and non-negative, got nan")
        expectTrap(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = TokenSampler(topK: 0)
        }, "topK must be at least 1, got 0")
        expectTrap(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = TokenSampler(topP: 0)
        }, "topP must be in (0, 1], got 0.0")
        expectTrap(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = TokenSampler(topP: 1.5)
        }, "topP must be in (0, 1], got 1.5")
        expectTrap(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = TokenSampler().sample(logits: Tensor.zeros([1, 2, 3]))
        }, "expected logits [V] or [B, V], got shape [1, 2, 3]")
        expectTrap(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = TokenSampler().sample(logits: Tensor([0.0, .nan]))
        }, "row 0 has logit nan at 1")
        expectTrap(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = TokenSampler().sample(logits: Tensor([[0.0, 1.0], [-.infinity, -.infinity]]))
        }, "row 1 has every logit -inf")
    }
}

private func expectTrap(_ result: ExitTest.Result?, _ message: String, sourceLocation: SourceLocation = #_sourceLocation) {
    let err = result.map { String(decoding: $0.standardErrorContent, as: UTF8.self) } ?? ""
    #expect(err.contains("[tokenSampler] " + message), "got: \(err)", sourceLocation: sourceLocation)
}

private extension Int64 {
    var asInt: Int { Int(self) }
}
