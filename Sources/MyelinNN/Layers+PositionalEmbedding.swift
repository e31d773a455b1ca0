import Foundation
import MyelinCore

/// Adds the fixed sinusoidal position encoding of Vaswani et al. (2017) to a sequence:
/// PE[t, 2i] = sin(t / 10000^(2i/D)), PE[t, 2i+1] = cos(t / 10000^(2i/D)), as PyTorch's
/// Transformer tutorial's `PositionalEncoding` (without its dropout; add a `Dropout` after it).
///
/// Inputs are [batch, time, D] with `batchFirst` (the default), else [time, batch, D]. The table
/// has no parameters and is not in the state dict; it is built once for `maxLength` positions.
///
/// ```swift
/// let pos = SinusoidalPositionalEmbedding(dimension: 64)
/// let y = pos(Tensor.randn([8, 100, 64]))          // x + PE[0..<100]
/// let next = pos(step, startPosition: 100)         // position 100 onwards (generation)
/// ```
public final class SinusoidalPositionalEmbedding: Module {
    public let dimension: Int, maxLength: Int
    public let batchFirst: Bool
    /// The encoding [maxLength, dimension] in float64 (converted to the input's dtype when used).
    public let table: Tensor
    private var converted: Tensor?

    public init(dimension: Int, maxLength: Int = 5000, batchFirst: Bool = true) {
        if dimension < 1 || maxLength < 1 {
            fatalError("[sinusoidalPositionalEmbedding] dimension and maxLength must be positive, got \(dimension) and \(maxLength)")
        }
        self.dimension = dimension
        self.maxLength = maxLength
        self.batchFirst = batchFirst
        var values = [Double](repeating: 0, count: maxLength * dimension)
        for t in 0..<maxLength {
            for i in stride(from: 0, to: dimension, by: 2) {
                let angle = Double(t) * Foundation.exp(Double(i) * -Foundation.log(10000.0) / Double(dimension))
                values[t * dimension + i] = Foundation.sin(angle)
                if i + 1 < dimension { values[t * dimension + i + 1] = Foundation.cos(angle) }
            }
        }
        table = Tensor(shape: [maxLength, dimension], scalars: values)
        super.init()
    }

    /// `input` plus the encoding of positions `startPosition..<startPosition + time`.
    public func callAsFunction(_ input: Tensor, startPosition: Int) -> Tensor {
        addPositions(input, startPosition: startPosition)
    }

    public override func forward(_ input: Tensor) -> Tensor { addPositions(input, startPosition: 0) }

    private func addPositions(_ input: Tensor, startPosition: Int) -> Tensor {
        let time = positionsAxisLength(input, dimension: dimension, batchFirst: batchFirst, op: "sinusoidalPositionalEmbedding")
        if startPosition < 0 || startPosition + time > maxLength {
            fatalError("[sinusoidalPositionalEmbedding] positions \(startPosition)..<\(startPosition + time) exceed maxLength \(maxLength)")
        }
        if converted?.dtype != input.dtype { converted = table.to(input.dtype) }
        let pe = converted![.slice(startPosition, startPosition + time)]
        return input + (batchFirst || input.rank == 2 ? pe : pe.unsqueezed(axis: 1))
    }
}

/// Adds a learned vector per position, as BERT's and GPT-2's position embeddings: an
/// `Embedding` over positions 0..<maxLength whose parameter is `weight` [maxLength, D] (normal(0, 1)
/// at first, as PyTorch's `nn.Embedding`), so a PyTorch `nn.Embedding` state dict loads into it.
///
/// Inputs are [batch, time, D] with `batchFirst` (the default), else [time, batch, D].
///
/// ```swift
/// let pos = LearnedPositionalEmbedding(maxLength: 512, dimension: 64)
/// let y = pos(tokenEmbeddings)                      // + weight[0..<time]
/// ```
public final class LearnedPositionalEmbedding: Module {
    public let weight: Parameter
    public let maxLength: Int, dimension: Int
    public let batchFirst: Bool

    public init(maxLength: Int, dimension: Int, batchFirst: Bool = true, generator: RandomGenerator = Random.global) {
        self.maxLength = maxLength
        self.dimension = dimension
        self.batchFirst = batchFirst
        weight = Parameter(Tensor.normal([maxLength, dimension], generator: generator))
        super.init()
    }

    /// `input` plus the vectors of positions `startPosition..<startPosition + time`.
    public func callAsFunction(_ input: Tensor, startPosition: Int) -> Tensor {
        addPositions(input, startPosition: startPosition)
    }

    public override func forward(_ input: Tensor) -> Tensor { addPositions(input, startPosition: 0) }

    private func addPositions(_ input: Tensor, startPosition: Int) -> Tensor {
        let time = positionsAxisLength(input, dimension: dimension, batchFirst: batchFirst, op: "learnedPositionalEmbedding")
        if startPosition < 0 || startPosition + time > maxLength {
            fatalError("[learnedPositionalEmbedding] positions \(startPosition)..<\(startPosition + time) exceed maxLength \(maxLength)")
        }
        let pe = weight.value[.slice(startPosition, startPosition + time)]
        return input + (batchFirst || input.rank == 2 ? pe : pe.unsqueezed(axis: 1))
    }
}

/// The time length of [B, T, D] / [T, B, D] / [T, D] inputs, trapping on a wrong feature size.
private func positionsAxisLength(_ input: Tensor, dimension: Int, batchFirst: Bool, op: String) -> Int {
    if (input.rank != 2 && input.rank != 3) || input.shape.last != dimension {
        fatalError("[\(op)] expected [batch, time, \(dimension)] or [time, \(dimension)] inputs, got shape \(input.shape)")
    }
    return input.rank == 2 || !batchFirst ? input.shape[0] : input.shape[1]
}
