import Foundation

/// How a layer's weights start, as `torch.nn.init` (fans follow PyTorch: for a weight of shape
/// [out, in, k...], fanIn = in * k..., fanOut = out * k...).
///
/// ```swift
/// let layer = Linear(784, 512, weightInit: .kaimingNormal(nonlinearity: .relu))
/// let w = Initializer.xavierUniform().make([256, 128])
/// ```
public enum Initializer: Sendable {
    case zeros, ones
    case constant(Double)
    case uniform(low: Double = 0, high: Double = 1)
    case normal(mean: Double = 0, std: Double = 1)
    case xavierUniform(gain: Double = 1)
    case xavierNormal(gain: Double = 1)
    case kaimingUniform(a: Double = 0, mode: FanMode = .fanIn, nonlinearity: Nonlinearity = .leakyRelu)
    case kaimingNormal(a: Double = 0, mode: FanMode = .fanIn, nonlinearity: Nonlinearity = .leakyRelu)
    /// A (semi-)orthogonal matrix from the QR decomposition of a normal matrix, as PyTorch does.
    case orthogonal(gain: Double = 1)

    public enum FanMode: Sendable { case fanIn, fanOut }

    /// The nonlinearity a gain is computed for (`torch.nn.init.calculate_gain`).
    public enum Nonlinearity: Sendable {
        case linear, sigmoid, tanh, relu, leakyRelu, selu
    }

    /// The recommended gain for a nonlinearity; `param` is leaky ReLU's negative slope (default 0.01).
    public static func gain(_ nonlinearity: Nonlinearity, param: Double? = nil) -> Double {
        switch nonlinearity {
        case .linear, .sigmoid: return 1
        case .tanh: return 5.0 / 3
        case .relu: return 2.0.squareRoot()
        case .leakyRelu:
            let slope = param ?? 0.01
            return (2.0 / (1 + slope * slope)).squareRoot()
        case .selu: return 3.0 / 4
        }
    }

    /// Fan-in and fan-out of a weight shape.
    public static func fans(_ shape: [Int]) -> (fanIn: Int, fanOut: Int) {
        if shape.count < 2 {
            fatalError("[init] fan-in and fan-out need a weight with at least 2 dimensions, got shape \(shape)")
        }
        let receptive = shape.dropFirst(2).reduce(1, *)
        return (shape[1] * receptive, shape[0] * receptive)
    }

    /// A new tensor of `shape` drawn from this initialiser.
    public func make(_ shape: [Int], dtype: DType = .float32, generator: RandomGenerator = Random.global) -> Tensor {
        switch self {
        case .zeros: return Tensor.zeros(shape, dtype: dtype)
        case .ones: return Tensor.ones(shape, dtype: dtype)
        case .constant(let v): return Tensor.full(shape, value: v, dtype: dtype)
        case .uniform(let low, let high): return Tensor.uniform(shape, low: low, high: high, dtype: dtype, generator: generator)
        case .normal(let mean, let std): return Tensor.normal(shape, mean: mean, std: std, dtype: dtype, generator: generator)
        case .xavierUniform(let gain):
            let (fi, fo) = Initializer.fans(shape)
            let bound = gain * (6.0 / Double(fi + fo)).squareRoot()
            return Tensor.uniform(shape, low: -bound, high: bound, dtype: dtype, generator: generator)
        case .xavierNormal(let gain):
            let (fi, fo) = Initializer.fans(shape)
            return Tensor.normal(shape, std: gain * (2.0 / Double(fi + fo)).squareRoot(), dtype: dtype, generator: generator)
        case .kaimingUniform(let a, let mode, let nonlinearity):
            let std = Initializer.kaimingStd(shape, a: a, mode: mode, nonlinearity: nonlinearity)
            let bound = 3.0.squareRoot() * std
            return Tensor.uniform(shape, low: -bound, high: bound, dtype: dtype, generator: generator)
        case .kaimingNormal(let a, let mode, let nonlinearity):
            let std = Initializer.kaimingStd(shape, a: a, mode: mode, nonlinearity: nonlinearity)
            return Tensor.normal(shape, std: std, dtype: dtype, generator: generator)
        case .orthogonal(let gain):
            return Initializer.orthogonal(shape, gain: gain, dtype: dtype, generator: generator)
        }
    }

    private static func kaimingStd(_ shape: [Int], a: Double, mode: FanMode, nonlinearity: Nonlinearity) -> Double {
        let (fi, fo) = fans(shape)
        let fan = Double(mode == .fanIn ? fi : fo)
        return gain(nonlinearity, param: a) / fan.squareRoot()
    }

    /// Rows (or columns, whichever are fewer) orthonormal: Gram-Schmidt on a normal matrix in
    /// Float64, with signs fixed as in a QR decomposition with a positive diagonal.
    private static func orthogonal(_ shape: [Int], gain: Double, dtype: DType, generator: RandomGenerator) -> Tensor {
        if shape.count < 2 { fatalError("[init] orthogonal needs at least 2 dimensions, got shape \(shape)") }
        let rows = shape[0], cols = shape.dropFirst().reduce(1, *)
        // Orthonormalise the longer side's vectors: work on the transpose when rows > cols.
        let (n, m) = rows <= cols ? (rows, cols) : (cols, rows)
        var v = Tensor.normal([n, m], dtype: .float64, generator: generator).doubles
        for i in 0..<n {
            for j in 0..<i {
                var dot = 0.0
                for k in 0..<m { dot += v[i * m + k] * v[j * m + k] }
                for k in 0..<m { v[i * m + k] -= dot * v[j * m + k] }
            }
            var norm = 0.0
            for k in 0..<m { norm += v[i * m + k] * v[i * m + k] }
            norm = norm.squareRoot()
            for k in 0..<m { v[i * m + k] /= norm }
        }
        var q = Tensor(shape: [n, m], scalars: v) * gain
        if rows > cols { q = q.T.contiguous() }
        return q.reshape(shape).to(dtype)
    }
}
