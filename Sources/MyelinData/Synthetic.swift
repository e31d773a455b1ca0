import MyelinCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Seeded toy datasets (as scikit-learn's `make_*`): float32 inputs, int64 labels (float32 `[N, 1]`
/// targets for regression). The same arguments give the same data on every machine.
///
/// ```swift
/// let data = Synthetic.moons(count: 500, noise: 0.1, seed: 0)   // inputs [500, 2], labels 0/1
/// ```
public enum Synthetic {
    /// Points uniform in [-1, 1]², label 1 when x and y have different signs (XOR), then Gaussian
    /// noise of std `noise` added to the points.
    public static func xor(count: Int, noise: Double = 0, seed: UInt64 = 0) -> TensorDataset {
        let g = RandomGenerator(seed: seed)
        let p = Tensor.uniform([count, 2], low: -1, high: 1, dtype: .float64, generator: g).doubles
        let labels = (0..<count).map { Int64((p[2 * $0] > 0) != (p[2 * $0 + 1] > 0) ? 1 : 0) }
        return finish(points: p, features: 2, labels: labels, noise: noise, generator: g, shuffle: false)
    }

    /// Two concentric circles: outer (radius 1) class 0, inner (radius `factor`) class 1, points
    /// evenly spaced in angle, shuffled, plus Gaussian noise (sklearn's `make_circles`).
    public static func circles(count: Int, noise: Double = 0, factor: Double = 0.8, seed: UInt64 = 0) -> TensorDataset {
        require(factor >= 0 && factor < 1, "[Synthetic.circles] factor must be in [0, 1), got \(factor)")
        let g = RandomGenerator(seed: seed)
        let outer = count / 2, inner = count - outer
        var p: [Double] = [], labels: [Int64] = []
        for i in 0..<outer {
            let t = 2 * Double.pi * Double(i) / Double(outer)
            p += [cos(t), sin(t)]; labels.append(0)
        }
        for i in 0..<inner {
            let t = 2 * Double.pi * Double(i) / Double(inner)
            p += [factor * cos(t), factor * sin(t)]; labels.append(1)
        }
        return finish(points: p, features: 2, labels: labels, noise: noise, generator: g, shuffle: true)
    }

    /// Two interleaving half circles (sklearn's `make_moons`), shuffled, plus Gaussian noise.
    public static func moons(count: Int, noise: Double = 0, seed: UInt64 = 0) -> TensorDataset {
        let g = RandomGenerator(seed: seed)
        let outer = count / 2, inner = count - outer
        var p: [Double] = [], labels: [Int64] = []
        for i in 0..<outer {
            let t = outer > 1 ? Double.pi * Double(i) / Double(outer - 1) : 0
            p += [cos(t), sin(t)]; labels.append(0)
        }
        for i in 0..<inner {
            let t = inner > 1 ? Double.pi * Double(i) / Double(inner - 1) : 0
            p += [1 - cos(t), 1 - sin(t) - 0.5]; labels.append(1)
        }
        return finish(points: p, features: 2, labels: labels, noise: noise, generator: g, shuffle: true)
    }

    /// `classes` interleaved spiral arms (CS231n's toy set): radius 0 → 1 along each arm, angle
    /// jittered by `noise` (std, radians·4), shuffled.
    public static func spirals(count: Int, classes: Int = 3, noise: Double = 0.2, seed: UInt64 = 0) -> TensorDataset {
        require(classes >= 1, "[Synthetic.spirals] need at least one class")
        let g = RandomGenerator(seed: seed)
        var p: [Double] = [], labels: [Int64] = []
        let jitter = Tensor.normal([count], dtype: .float64, generator: g).doubles
        var k = 0
        for c in 0..<classes {
            let n = count / classes + (c < count % classes ? 1 : 0)
            for i in 0..<n {
                let r = n > 1 ? Double(i) / Double(n - 1) : 0
                let t = Double(c) * 4 + 4 * r + jitter[k] * noise
                p += [r * sin(t), r * cos(t)]; labels.append(Int64(c))
                k += 1
            }
        }
        return finish(points: p, features: 2, labels: labels, noise: 0, generator: g, shuffle: true)
    }

    /// Two Gaussian clouds (TensorFlow Playground's two-Gaussians set): class 1 around (0.5, 0.5),
    /// class 0 around (-0.5, -0.5), each coordinate normal with std `sqrt(0.5 + 7·noise) / 4`,
    /// shuffled. Playground draws its centres (2, 2) and (-2, -2) in [-6, 6]² with variance
    /// `0.5 + 7·noise` (noise 0 to 0.5); everything here is that scaled by 1/4, into [-1.5, 1.5]²
    /// like the other sets: std 0.18 at noise 0, 0.5 at Playground's largest noise 0.5.
    ///
    /// ```swift
    /// let data = Synthetic.gaussians(count: 500, noise: 0, seed: 0)   // linearly separable, nearly
    /// ```
    public static func gaussians(count: Int, noise: Double = 0, seed: UInt64 = 0) -> TensorDataset {
        require(noise >= 0, "[Synthetic.gaussians] noise must be non-negative, got \(noise)")
        let g = RandomGenerator(seed: seed)
        let std = (0.5 + 7 * noise).squareRoot() / 4
        let offsets = Tensor.normal([count, 2], std: std, dtype: .float64, generator: g).doubles
        let negatives = count / 2
        var p: [Double] = [], labels: [Int64] = []
        for i in 0..<count {
            let centre = i < negatives ? -0.5 : 0.5
            p += [centre + offsets[2 * i], centre + offsets[2 * i + 1]]
            labels.append(i < negatives ? 0 : 1)
        }
        return finish(points: p, features: 2, labels: labels, noise: 0, generator: g, shuffle: true)
    }

    /// Gaussian blobs (sklearn's `make_blobs`): centres uniform in [-10, 10]^features, points
    /// normal around their centre with std `spread`, classes as equal as possible, shuffled.
    public static func blobs(count: Int, centers: Int = 3, features: Int = 2, spread: Double = 1, seed: UInt64 = 0) -> TensorDataset {
        require(centers >= 1 && features >= 1, "[Synthetic.blobs] need at least one centre and one feature")
        let g = RandomGenerator(seed: seed)
        let middles = Tensor.uniform([centers, features], low: -10, high: 10, dtype: .float64, generator: g).doubles
        let offsets = Tensor.normal([count, features], std: spread, dtype: .float64, generator: g).doubles
        var p: [Double] = [], labels: [Int64] = []
        var k = 0
        for c in 0..<centers {
            let n = count / centers + (c < count % centers ? 1 : 0)
            for _ in 0..<n {
                for f in 0..<features { p.append(middles[c * features + f] + offsets[k * features + f]) }
                labels.append(Int64(c))
                k += 1
            }
        }
        return finish(points: p, features: features, labels: labels, noise: 0, generator: g, shuffle: true)
    }

    /// `y = slope·x + intercept + noise·N(0, 1)` with x uniform in [-1, 1]: inputs `[N, 1]`,
    /// float32 targets `[N, 1]`.
    public static func linearRegression(count: Int, slope: Double = 2, intercept: Double = 1, noise: Double = 0.1,
                                        seed: UInt64 = 0) -> TensorDataset {
        let g = RandomGenerator(seed: seed)
        let x = Tensor.uniform([count, 1], low: -1, high: 1, dtype: .float64, generator: g)
        let e = Tensor.normal([count, 1], dtype: .float64, generator: g)
        let y = x * slope + intercept + e * noise
        return TensorDataset(inputs: x.to(.float32), targets: y.to(.float32))
    }

    private static func finish(points: [Double], features: Int, labels: [Int64], noise: Double,
                               generator g: RandomGenerator, shuffle: Bool) -> TensorDataset {
        let n = labels.count
        var p = points
        if noise > 0 {
            let e = Tensor.normal([n * features], std: noise, dtype: .float64, generator: g).doubles
            for i in p.indices { p[i] += e[i] }
        }
        var x = Tensor(shape: [n, features], doubles: p, dtype: .float32)
        var y = Tensor(shape: [n], scalars: labels)
        if shuffle {
            let order = Tensor.permutation(n, generator: g)
            x = x.indexSelect(axis: 0, indices: order)
            y = y.indexSelect(axis: 0, indices: order)
        }
        return TensorDataset(inputs: x, targets: y)
    }
}
