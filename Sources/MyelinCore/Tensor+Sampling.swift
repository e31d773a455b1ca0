#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Drawing category indices from weights: PyTorch's `torch.multinomial`, seeded through Myelin's
// generator so that a seed gives the same draws on every run and machine.

extension Tensor {
    /// Draws `numSamples` category indices from each row of non-negative weights, as
    /// `torch.multinomial(input, numSamples, replacement)`: the last axis holds the weights of one
    /// distribution (they need not sum to 1), the result is int64 `[numSamples]` for a 1-D tensor
    /// and `[rows, numSamples]` for a 2-D one.
    ///
    /// Without replacement a category is drawn at most once per row, zero-weight categories never,
    /// so each row needs at least `numSamples` positive weights.
    ///
    /// ```swift
    /// let g = RandomGenerator(seed: 0)
    /// Tensor([0.1, 0.0, 0.9]).multinomial(4, replacement: true, generator: g)   // e.g. [2, 2, 0, 2]
    /// Tensor([[1.0, 1.0, 2.0]]).multinomial(2, generator: g).shape             // [1, 2]
    /// ```
    public func multinomial(_ numSamples: Int, replacement: Bool = false,
                            generator: RandomGenerator = Random.global) -> Tensor {
        if rank != 1 && rank != 2 { fatalError("[multinomial] expected a 1-D or 2-D tensor of weights, got shape \(shape)") }
        if !dtype.isFloatingPoint { fatalError("[multinomial] weights must be floating point, got \(dtype)") }
        if numSamples <= 0 { fatalError("[multinomial] numSamples must be positive, got \(numSamples)") }
        let categories = shape[rank - 1]
        let rows = rank == 2 ? shape[0] : 1
        if categories == 0 { fatalError("[multinomial] the weights' last axis is empty (shape \(shape))") }
        if !replacement && numSamples > categories {
            fatalError("[multinomial] cannot draw \(numSamples) samples without replacement from \(categories) categories")
        }
        let weights = detached().to(.float64).contiguous()
        let out = Tensor(uninitializedShape: rank == 2 ? [rows, numSamples] : [numSamples], dtype: .int64)
        let o = out.basePointer(Int64.self)
        let w = weights.basePointer(Double.self)
        var cumulative = [Double](repeating: 0, count: categories)
        var keys = [Double](repeating: 0, count: categories)
        var order = [Int](repeating: 0, count: categories)
        withExtendedLifetime(weights) { generator.locked {
            for r in 0..<rows {
                let row = w + r * categories
                var total = 0.0, positive = 0
                for i in 0..<categories {
                    let x = row[i]
                    if !(x >= 0) || !x.isFinite {
                        fatalError("[multinomial] row \(r) has weight \(x) at \(i); weights must be finite and non-negative")
                    }
                    total += x
                    cumulative[i] = total
                    if x > 0 { positive += 1 }
                }
                if !(total > 0) { fatalError("[multinomial] row \(r) has no positive weight") }
                let dst = o + r * numSamples
                if replacement {
                    for s in 0..<numSamples {
                        dst[s] = Int64(Tensor.searchCumulative(cumulative, generator.nextDouble() * total))
                    }
                } else {
                    if positive < numSamples {
                        fatalError("[multinomial] row \(r) has \(positive) positive weights, too few for \(numSamples) samples without replacement")
                    }
                    // Sequential draws without replacement have the same law as the largest
                    // w_i / E_i with E_i ~ Exp(1) (PyTorch's method): one draw per category and a
                    // sort instead of renormalising after each pick.
                    for i in 0..<categories {
                        let e = -logarithm(1 - generator.nextDouble())  // 1 - u is in (0, 1]
                        keys[i] = row[i] > 0 ? row[i] / e : -1
                    }
                    for i in 0..<categories { order[i] = i }
                    order.sort { keys[$0] > keys[$1] || (keys[$0] == keys[$1] && $0 < $1) }
                    for s in 0..<numSamples { dst[s] = Int64(order[s]) }
                }
            }
        } }
        return out
    }

    /// The first index whose running total exceeds `target`; zero weights (equal totals) are never
    /// chosen, and a `target` rounded up to the total gives the last positive category.
    static func searchCumulative(_ cumulative: [Double], _ target: Double) -> Int {
        var lo = 0, hi = cumulative.count - 1
        if target >= cumulative[hi] {
            // Rounding put u·total on the total: the last category with positive weight.
            while hi > 0 && cumulative[hi - 1] == cumulative[hi] { hi -= 1 }
            return hi
        }
        while lo < hi {
            let mid = (lo + hi) / 2
            if cumulative[mid] > target { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }
}

/// The C library's natural log; inside `Tensor`, `log` names the elementwise op.
@inline(__always) private func logarithm(_ x: Double) -> Double { log(x) }
