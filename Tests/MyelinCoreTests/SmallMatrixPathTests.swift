import Foundation
import Testing
import MyelinTestSupport
@testable import MyelinCore

/// The short paths for small matrices (row and column sums and maxima, a matrix with a row or a
/// column on either side of a binary op, eager and in a graph replay) against the general ones.
@Suite struct SmallMatrixPathTests {
    static let shapes = [[1, 1], [3, 1], [1, 5], [4, 7], [32, 2], [33, 64]]

    @Test(arguments: shapes)
    func rowAndColumnReductionsMatchTheGeneralLoop(shape: [Int]) {
        for dtype in [DType.float32, .float64] {
            // Integers, so any order of summation gives the same exact value.
            let x = Tensor.randint(-50, 50, shape: shape, generator: RandomGenerator(seed: 1)).to(dtype)
            let strided = x.transposed().contiguous().transposed()   // same values, general loop
            #expect(!strided.isContiguous || shape.contains(1))
            for axes in [[0], [1]] {
                #expect(bitPatterns(x.sum(axes: axes)) == bitPatterns(strided.sum(axes: axes)), "sum \(axes) \(shape) \(dtype)")
                #expect(bitPatterns(x.max(axes: axes, keepDims: true)) == bitPatterns(strided.max(axes: axes, keepDims: true)), "max \(axes) \(shape) \(dtype)")
                #expect(bitPatterns(x.min(axes: axes)) == bitPatterns(strided.min(axes: axes)), "min \(axes) \(shape) \(dtype)")
            }
        }
        // NaN wins a maximum, as in NumPy.
        let n = Tensor(shape: [2, 3], scalars: [Float(1), .nan, 3, 4, 5, 6])
        #expect(n.max(axes: [1]).floats[0].isNaN && n.max(axes: [0]).floats[1].isNaN)
    }

    @Test(arguments: shapes)
    func matrixWithRowOrColumnMatchesTheSameShapePath(shape: [Int]) {
        let (rows, cols) = (shape[0], shape[1])
        for dtype in [DType.float32, .float64] {
            let m = Tensor.randn(shape, dtype: dtype, generator: RandomGenerator(seed: 2))
            let column = Tensor.randn([rows, 1], dtype: dtype, generator: RandomGenerator(seed: 3))
            let row = Tensor.randn([cols], dtype: dtype, generator: RandomGenerator(seed: 4))
            for v in [column, row, row.reshape([1, cols])] {
                let wide = v.expand(shape).contiguous()
                #expect(bitPatterns(m - v) == bitPatterns(m - wide), "\(shape) - \(v.shape) \(dtype)")
                #expect(bitPatterns(v - m) == bitPatterns(wide - m), "\(v.shape) - \(shape) \(dtype)")
                #expect(bitPatterns(m / v) == bitPatterns(m / wide), "\(shape) / \(v.shape) \(dtype)")
                #expect(bitPatterns(m.maximum(v)) == bitPatterns(m.maximum(wide)), "max \(shape), \(v.shape) \(dtype)")
                // The same in a graph replay, which runs binary ops through the fusion kernels.
                let replayed = Graph.trace(inputs: [m, v]) { xs in [xs[0] - xs[1], xs[1] * xs[0]] }([m, v])
                #expect(bitPatterns(replayed[0]) == bitPatterns(m - wide) && bitPatterns(replayed[1]) == bitPatterns(wide * m), "replay \(shape), \(v.shape) \(dtype)")
            }
        }
    }
}
