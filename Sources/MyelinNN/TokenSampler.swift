#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MyelinCore

/// Picks the next token from a language model's logits, with temperature, top-k and top-p
/// (nucleus) filtering, in that order (as Hugging Face's `generate`).
///
/// - `temperature` divides the logits: below 1 sharpens, above 1 flattens; 0 is greedy (argmax,
///   the first of equal maxima).
/// - `topK` keeps the `k` largest logits (and any equal to the k-th), the rest get probability 0.
/// - `topP` keeps the most likely tokens, in order, until their probability reaches `p` (at least
///   one token), then renormalises.
///
/// ```swift
/// let sampler = TokenSampler(temperature: 0.8, topK: 40, topP: 0.95)
/// let g = RandomGenerator(seed: 1)
/// let next = sampler.sample(logits: model(context)[0, -1], generator: g).item(as: Int64.self)
/// ```
public struct TokenSampler: Sendable, Equatable {
    public let temperature: Double
    public let topK: Int?
    public let topP: Double?

    /// A sampler; a negative or non-finite temperature, `topK < 1` or `topP` outside (0, 1] trap.
    public init(temperature: Double = 1, topK: Int? = nil, topP: Double? = nil) {
        if !(temperature >= 0) || !temperature.isFinite {
            fatalError("[tokenSampler] temperature must be finite and non-negative, got \(temperature)")
        }
        if let topK, topK < 1 { fatalError("[tokenSampler] topK must be at least 1, got \(topK)") }
        if let topP, !(topP > 0 && topP <= 1) { fatalError("[tokenSampler] topP must be in (0, 1], got \(topP)") }
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
    }

    /// Greedy decoding: always the most likely token.
    public static let greedy = TokenSampler(temperature: 0)

    /// The probabilities the sampler draws from: float64 of the logits' shape (`[V]` or `[B, V]`),
    /// each row summing to 1, exactly 0 for tokens the filters removed.
    ///
    /// ```swift
    /// TokenSampler(topK: 2).probabilities(logits: Tensor([0.0, 1.0, 2.0]))   // [0, 0.269, 0.731]
    /// ```
    public func probabilities(logits: Tensor) -> Tensor {
        if logits.rank != 1 && logits.rank != 2 {
            fatalError("[tokenSampler] expected logits [V] or [B, V], got shape \(logits.shape)")
        }
        let v = logits.shape[logits.rank - 1]
        if v == 0 { fatalError("[tokenSampler] logits have no tokens (shape \(logits.shape))") }
        let rows = logits.count / v
        let values = logits.detached().doubles
        var out = [Double](repeating: 0, count: values.count)
        for r in 0..<rows {
            let row = Array(values[r * v..<(r + 1) * v])
            let p = filtered(row, row: r)
            for i in 0..<v { out[r * v + i] = p[i] }
        }
        return Tensor(shape: logits.shape, scalars: out)
    }

    /// Draws one token index per row: int64 `[]` for logits `[V]`, `[B]` for `[B, V]`.
    public func sample(logits: Tensor, generator: RandomGenerator = Random.global) -> Tensor {
        let p = probabilities(logits: logits)
        let drawn = p.multinomial(1, replacement: true, generator: generator)
        return drawn.reshape(Array(logits.shape.dropLast()))
    }

    /// One row's probabilities after temperature, top-k and top-p.
    private func filtered(_ logits: [Double], row: Int) -> [Double] {
        let v = logits.count
        var best = 0
        for (i, x) in logits.enumerated() {
            if x.isNaN || x == .infinity { fatalError("[tokenSampler] row \(row) has logit \(x) at \(i)") }
            if x > logits[best] { best = i }
        }
        if logits[best] == -.infinity { fatalError("[tokenSampler] row \(row) has every logit -inf") }
        var p = [Double](repeating: 0, count: v)
        if temperature == 0 {
            p[best] = 1
            return p
        }
        var z = logits.map { $0 / temperature }
        if z[best] == .infinity {
            // A temperature so small that the largest logit overflows: scale the differences from
            // it instead (all <= 0), which the softmax below takes to the same limit.
            z = logits.map { ($0 - logits[best]) / temperature }
        }
        if let topK, topK < v {
            let threshold = z.sorted(by: >)[topK - 1]
            for i in 0..<v where z[i] < threshold { z[i] = -.infinity }
        }
        // Softmax with the maximum subtracted: the largest term is exp(0) = 1, so the sum is at
        // least 1 however small the temperature.
        let m = z[best]
        var total = 0.0
        for i in 0..<v {
            p[i] = z[i] == -.infinity ? 0 : exp(z[i] - m)
            total += p[i]
        }
        for i in 0..<v { p[i] /= total }
        if let topP, topP < 1 {
            let order = (0..<v).sorted { p[$0] > p[$1] || (p[$0] == p[$1] && $0 < $1) }
            var mass = 0.0
            for i in order {
                if mass >= topP { p[i] = 0 } else { mass += p[i] }
            }
            for i in 0..<v { p[i] /= mass }
        }
        return p
    }
}
