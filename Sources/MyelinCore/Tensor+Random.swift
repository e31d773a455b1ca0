// Random constructors. All draw from `generator` (the global one by default) sequentially, so the
// numbers depend only on the seed.

extension Tensor {
    /// Uniform samples in `[low, high)`.
    ///
    /// ```swift
    /// Random.seed(0)
    /// Tensor.uniform([2, 2], low: -1, high: 1)
    /// ```
    public static func uniform(_ shape: [Int], low: Double = 0, high: Double = 1, dtype: DType = .float32,
                               generator: RandomGenerator = Random.global) -> Tensor {
        checkFloat(dtype, "uniform")
        let out = Tensor(uninitializedShape: shape, dtype: dtype)
        let n = out.count
        generator.locked {
            if dtype == .float32 {
                let p = out.basePointer(Float.self)
                let lo = Float(low), span = Float(high - low)
                for i in 0..<n { p[i] = lo + span * generator.nextFloat() }
            } else {
                let p = out.basePointer(Double.self)
                for i in 0..<n { p[i] = low + (high - low) * generator.nextDouble() }
            }
        }
        return out
    }

    /// Normal (Gaussian) samples with the given mean and standard deviation.
    ///
    /// ```swift
    /// let w = Tensor.normal([784, 512], std: 0.01)
    /// ```
    public static func normal(_ shape: [Int], mean: Double = 0, std: Double = 1, dtype: DType = .float32,
                              generator: RandomGenerator = Random.global) -> Tensor {
        checkFloat(dtype, "normal")
        let out = Tensor(uninitializedShape: shape, dtype: dtype)
        let n = out.count
        generator.locked {
            if dtype == .float32 {
                let p = out.basePointer(Float.self)
                for i in 0..<n { p[i] = Float(mean + std * generator.nextNormal()) }
            } else {
                let p = out.basePointer(Double.self)
                for i in 0..<n { p[i] = mean + std * generator.nextNormal() }
            }
        }
        return out
    }

    /// Standard normal samples (PyTorch's `randn`).
    public static func randn(_ shape: [Int], dtype: DType = .float32, generator: RandomGenerator = Random.global) -> Tensor {
        normal(shape, dtype: dtype, generator: generator)
    }

    /// Uniform samples in [0, 1) (PyTorch's `rand`).
    public static func rand(_ shape: [Int], dtype: DType = .float32, generator: RandomGenerator = Random.global) -> Tensor {
        uniform(shape, dtype: dtype, generator: generator)
    }

    /// 1 with probability `p`, else 0, in `dtype` (float32 by default).
    ///
    /// ```swift
    /// let mask = Tensor.bernoulli([4, 4], p: 0.8)
    /// ```
    public static func bernoulli(_ shape: [Int], p: Double, dtype: DType = .float32,
                                 generator: RandomGenerator = Random.global) -> Tensor {
        if !(0...1).contains(p) { fatalError("[bernoulli] probability \(p) is outside [0, 1]") }
        let u = uniform(shape, dtype: .float64, generator: generator)
        return (u .< p).to(dtype)
    }

    /// Samples 1 with probability given elementwise by this tensor of probabilities.
    public func bernoulli(generator: RandomGenerator = Random.global) -> Tensor {
        let u = Tensor.uniform(shape, dtype: .float64, generator: generator)
        return (u .< self.to(.float64)).to(dtype.isFloatingPoint ? dtype : .float32)
    }

    /// Uniform integers in `low..<high` (int64 by default).
    ///
    /// ```swift
    /// let labels = Tensor.randint(0, 10, shape: [128])
    /// ```
    public static func randint(_ low: Int, _ high: Int, shape: [Int], dtype: DType = .int64,
                               generator: RandomGenerator = Random.global) -> Tensor {
        if high <= low { fatalError("[randint] empty range \(low)..<\(high)") }
        let out = Tensor(uninitializedShape: shape, dtype: .int64)
        let p = out.basePointer(Int64.self)
        let span = UInt64(high - low)
        let n = out.count
        generator.locked {
            for i in 0..<n { p[i] = Int64(low) + Int64(bitPattern: generator.nextInt(below: span)) }
        }
        return out.to(dtype)
    }

    /// A random ordering of `0..<n` (int64), by Fisher-Yates shuffle.
    ///
    /// ```swift
    /// let order = Tensor.permutation(60_000)
    /// ```
    public static func permutation(_ n: Int, generator: RandomGenerator = Random.global) -> Tensor {
        if n < 0 { fatalError("[permutation] n must be non-negative, got \(n)") }
        let out = Tensor(uninitializedShape: [n], dtype: .int64)
        let p = out.basePointer(Int64.self)
        for i in 0..<n { p[i] = Int64(i) }
        generator.locked {
            var i = n - 1
            while i > 0 {
                let j = Int(generator.nextInt(below: UInt64(i + 1)))
                p.swapAt(i, j)
                i -= 1
            }
        }
        return out
    }

    private static func checkFloat(_ dtype: DType, _ op: String) {
        if !dtype.isFloatingPoint { fatalError("[\(op)] needs a floating-point dtype, got \(dtype)") }
    }
}

extension UnsafeMutablePointer {
    @inline(__always)
    fileprivate func swapAt(_ i: Int, _ j: Int) {
        let t = self[i]
        self[i] = self[j]
        self[j] = t
    }
}
