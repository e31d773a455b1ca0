import Testing
@testable import MyelinCore

/// `linear` (one product with the bias written first) against `matmul(weight.T) + bias` summed by hand.
@Suite struct LinearOpTests {
    /// x [rows, in] · wᵀ + b in Float64, from the tensors' values.
    static func reference(_ x: Tensor, _ w: Tensor, _ b: Tensor?) -> [Double] {
        let inF = w.shape[1], outF = w.shape[0], rows = x.shape.dropLast().reduce(1, *)
        let xs = x.contiguous().doubles, ws = w.contiguous().doubles, bs = b?.doubles
        var out = [Double](repeating: 0, count: rows * outF)
        for r in 0..<rows {
            for o in 0..<outF {
                var s = bs?[o] ?? 0
                for i in 0..<inF { s += xs[r * inF + i] * ws[o * inF + i] }
                out[r * outF + o] = s
            }
        }
        return out
    }

    static func worst(_ got: [Double], _ want: [Double]) -> Double {
        zip(got, want).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? 0
    }

    // (input shape, out features, bias, transposed input, transposed weight); [1, 784] x 512 is the
    // batch-1 path split across threads, [130, 300] x 600 the column-split product.
    @Test(arguments: [([4, 7], 5, true, false, false), ([7], 3, true, false, false), ([2, 3, 7], 4, false, false, false),
                      ([6, 7], 5, true, true, false), ([6, 7], 5, true, false, true), ([1, 784], 512, true, false, false),
                      ([1, 300], 700, false, false, true), ([130, 300], 600, true, false, false)])
    func matchesTheSumByHand(shape: [Int], outFeatures: Int, bias: Bool, transposedInput: Bool, transposedWeight: Bool) {
        let g = RandomGenerator(seed: UInt64(shape.reduce(outFeatures, +)))
        let inF = shape.last!
        var x = Tensor.randn(shape, generator: g)
        if transposedInput { x = Tensor.randn(shape.reversed(), generator: g).T }
        let w = transposedWeight ? Tensor.randn([inF, outFeatures], generator: g).T : Tensor.randn([outFeatures, inF], generator: g)
        let b = bias ? Tensor.randn([outFeatures], generator: g) : nil
        let y = x.linear(weight: w, bias: b)
        #expect(y.shape == Array(shape.dropLast()) + [outFeatures])
        let err = Self.worst(y.doubles, Self.reference(x, w, b))
        #expect(err < 1e-4, "worst relative error \(err)")
        // The general path gives the same numbers.
        let viaMatmul = b.map { x.matmul(w.T) + $0 } ?? x.matmul(w.T)
        #expect(Self.worst(y.doubles, viaMatmul.doubles) < 1e-5)
    }

    @Test func float64IsExactOnSmallIntegers() {
        let x = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6] as [Double])
        let w = Tensor(shape: [2, 3], scalars: [1, 0, -1, 2, 1, 0] as [Double])
        let b = Tensor(shape: [2], scalars: [10, 20] as [Double])
        #expect(x.linear(weight: w, bias: b).doubles == [8, 24, 8, 33])
        #expect(linear(x, weight: w).doubles == [-2, 4, -2, 13])
    }

    @Test func emptyAndZeroWidthInputs() {
        let w = Tensor.ones([3, 0]), b = Tensor(shape: [3], scalars: [1, 2, 3] as [Float])
        // No input features: the output is the bias (or zeros), as in PyTorch.
        #expect(Tensor.ones([2, 0]).linear(weight: w, bias: b).doubles == [1, 2, 3, 1, 2, 3])
        #expect(Tensor.ones([2, 0]).linear(weight: w).doubles == [0, 0, 0, 0, 0, 0])
        #expect(Tensor.ones([0, 4]).linear(weight: Tensor.ones([3, 4]), bias: b).shape == [0, 3])
    }

    @Test func integerInputsTakeTheGeneralPath() {
        let x = Tensor(shape: [2, 2], scalars: [1, 2, 3, 4] as [Int32])
        let w = Tensor(shape: [2, 2], scalars: [1, 1, 0, 1] as [Int32])
        let y = x.linear(weight: w, bias: Tensor(shape: [2], scalars: [5, 6] as [Int32]))
        #expect(y.dtype == .int32 && y.doubles == [8, 8, 12, 10])
    }

    @Test func gradientsReachOnlyWhatRequiresThem() {
        let g = RandomGenerator(seed: 3)
        let x = Tensor.randn([4, 3], generator: g)
        let w = Tensor.randn([2, 3], generator: g).requiringGrad()
        let b = Tensor.randn([2], generator: g).requiringGrad()
        x.linear(weight: w, bias: b).square().sum().backward()
        #expect(w.grad != nil && b.grad != nil && x.grad == nil)
        // The bias gradient is the upstream gradient summed over rows.
        let y = x.linear(weight: w.detached(), bias: b.detached())
        let want = (y * 2).sum(axis: 0).doubles
        #expect(Self.worst(b.grad!.doubles, want) < 1e-5)
    }

    /// A view whose leading axes are a permutation of a dense layout (a batch-first view of
    /// time-major outputs) runs on the memory's order without a copy: the values of the copied
    /// input bit for bit, gradients equal up to the order of the row sums, and a result laid out
    /// as the memory was.
    @Test(arguments: [[1, 0, 2], [2, 0, 1, 3], [0, 2, 1, 3]])
    func reorderedLeadingAxesNeedNoCopy(order: [Int]) {
        let g = RandomGenerator(seed: 41)
        let dense = order.count == 3 ? [5, 3, 8] : [2, 5, 3, 8]
        let base = Tensor.randn(dense, generator: g).requiringGrad()
        let w = Tensor.randn([6, 8], generator: g).requiringGrad(), b = Tensor.randn([6], generator: g).requiringGrad()
        let x = base.permute(order)
        #expect(!x.isContiguous && x.denseLeadingOrder != nil)
        let up = Tensor.randn(Array(x.shape.dropLast()) + [6], generator: g)
        let y = x.linear(weight: w, bias: b), copied = base.permute(order).contiguous().linear(weight: w, bias: b)
        #expect(y.shape == copied.shape && y.doubles.map(\.bitPattern) == copied.doubles.map(\.bitPattern))
        #expect(y.permute(x.denseLeadingOrder!).isContiguous)
        let fast = gradients(of: (y * up).sum(), with: [base, w, b])
        let slow = gradients(of: (copied * up).sum(), with: [base, w, b])
        for (f, s) in zip(fast, slow) { #expect(Self.worst(f.doubles, s.doubles) < 1e-5) }
        // Dense inputs, and views no reordering makes dense, take the usual path.
        #expect(base.denseLeadingOrder == nil)
        #expect(base[.all, 0..<2].denseLeadingOrder == nil)
    }
}

