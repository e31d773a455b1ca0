/// A reduction's combining step and starting value; specialised into the reduction loop like the
/// elementwise ops.
protocol ReduceOp {
    func identity<T: NumericElement>(_: T.Type) -> T
    func callAsFunction<T: NumericElement>(_ a: T, _ b: T) -> T
}

enum ReduceOps {
    struct Sum: ReduceOp {
        func identity<T: NumericElement>(_: T.Type) -> T { 0 }
        func callAsFunction<T: NumericElement>(_ a: T, _ b: T) -> T { T.wrappingAdd(a, b) }
    }
    struct Prod: ReduceOp {
        func identity<T: NumericElement>(_: T.Type) -> T { 1 }
        func callAsFunction<T: NumericElement>(_ a: T, _ b: T) -> T { T.wrappingMul(a, b) }
    }
    /// NaN propagates, as in NumPy's `max`.
    struct Max: ReduceOp {
        func identity<T: NumericElement>(_: T.Type) -> T { T.lowest }
        func callAsFunction<T: NumericElement>(_ a: T, _ b: T) -> T { (a != a || a > b) ? a : b }
    }
    struct Min: ReduceOp {
        func identity<T: NumericElement>(_: T.Type) -> T { T.highest }
        func callAsFunction<T: NumericElement>(_ a: T, _ b: T) -> T { (a != a || a < b) ? a : b }
    }
}

extension Tensor {
    /// Reduces `axes` (normalised, sorted) of a tensor whose element type is `T` with `op`.
    ///
    /// The loop runs over the input in memory order; the output has stride 0 along reduced axes, so
    /// a reduced inner axis becomes a register accumulation and a reduced outer axis a vector
    /// accumulation into the output row. Large reductions split across threads either by output
    /// rows (when the reduced axes are innermost) or into per-thread partial outputs.
    func reduce<T: NumericElement, Op: ReduceOp>(_ op: Op, _: T.Type, axes: [Int], keepDims: Bool) -> Tensor {
        var keptShape = shape
        for a in axes { keptShape[a] = 1 }
        let out = Tensor(uninitializedShape: keptShape, dtype: T.dtype)
        let outCount = out.count
        let dst = out.basePointer(T.self)
        dst.update(repeating: op.identity(T.self), count: outCount)
        let n = count
        // Float sums with many terms per output are added in blocks, pairwise (see `reduceRun` and
        // `cascadeBlocks`), so their error grows with the log of the count (as NumPy's and
        // PyTorch's), not with the count: a million float32 0.1s summed to 99910 in one running total.
        // Only the terms each output adds one after another count: a reduced innermost axis is a
        // run that `reduceRun` already sums pairwise (a conv bias's gradient over N, H, W adds N
        // run sums), and blocking those as well would only add work.
        let cascades: Bool = {
            guard Op.self == ReduceOps.Sum.self, T.self == Float.self || T.self == Double.self, n > 0 else { return false }
            let terms = n / Swift.max(outCount, 1)
            guard terms > 2 * Tensor.pairwiseBlock else { return false }
            // The run: the innermost reduced axes that lie contiguously, as `StridedLoop` merges them.
            var innerRun = 1
            for a in (0..<rank).sorted(by: { Swift.abs(strides[$0]) < Swift.abs(strides[$1]) }) where shape[a] != 1 {
                guard axes.contains(a), Swift.abs(strides[a]) == innerRun else { break }
                innerRun *= shape[a]
            }
            return terms / Swift.max(innerRun, 1) > 2 * Tensor.pairwiseBlock
        }()
        if rank == 2, isContiguous, n > 0, n < Threading.elementwiseGrain, axes == [1] || (axes == [0] && !cascades) {
            // A small matrix by rows or columns (a loss's per-row sums, a bias's gradient): the loops
            // below in the same order, without building a strided loop (most of the time at this size).
            let src = basePointer(T.self), rows = shape[0], cols = shape[1]
            if axes == [1] {
                for r in 0..<rows { dst[r] = op(dst[r], Tensor.reduceRun(op, src + r &* cols, cols, 1)) }
            } else {
                for r in 0..<rows {
                    let row = src + r &* cols
                    for j in 0..<cols { dst[j] = op(dst[j], row[j]) }
                }
            }
        } else if n > 0 {
            var outStrides = out.strides
            for a in axes { outStrides[a] = 0 }
            // Visit dimensions in the input's memory order (largest stride outermost).
            let order = (0..<rank).sorted { Swift.abs(strides[$0]) > Swift.abs(strides[$1]) }
            let loop = StridedLoop(shape: order.map { shape[$0] },
                                   strides: [order.map { outStrides[$0] }, order.map { strides[$0] }])
            let src = basePointer(T.self)
            let reducedInner: Int? = {
                // When every reduced dim sits inside every kept dim, flat chunks of the loop that are
                // multiples of the reduced size write disjoint outputs.
                let reducedPositions = order.indices.filter { axes.contains(order[$0]) && shape[order[$0]] != 1 }
                let keptPositions = order.indices.filter { !axes.contains(order[$0]) && shape[order[$0]] != 1 }
                guard let firstReduced = reducedPositions.first else { return 1 }
                if let lastKept = keptPositions.last, lastKept > firstReduced { return nil }
                return n / Swift.max(outCount, 1)
            }()
            let grain = Threading.elementwiseGrain
            if let inner = reducedInner, inner > 0 {
                Threading.parallelChunks(outCount, grain: Swift.max(1, grain / inner)) { lo, hi in
                    Tensor.reduceRuns(op, loop, src, dst, lo * inner, hi * inner)
                }
            } else if cascades {
                // Outer axes reduced (a mean over a batch): flat blocks of the loop, each into a
                // partial output, added as a binary counter adds (pairwise), a run of blocks per thread.
                let block = outCount * Tensor.pairwiseBlock
                let blocks = (n + block - 1) / block
                let chunks = Threading.count > 1 && n >= 2 * grain ? Swift.min(Threading.count, blocks) : 1
                var partials = [[T]](repeating: [], count: chunks)
                partials.withUnsafeMutableBufferPointer { parts in
                    ThreadPool.shared.run(chunks: chunks, threads: Threading.count) { c in
                        parts[c] = Tensor.cascadeBlocks(op, loop, src, outCount: outCount, block: block, n: n,
                                                        blocks: (blocks * c / chunks)..<(blocks * (c + 1) / chunks))
                    }
                }
                for part in partials {
                    for i in 0..<outCount { dst[i] = op(dst[i], part[i]) }
                }
            } else if Threading.count > 1 && n >= 2 * grain && outCount * 16 <= n {
                let chunks = Swift.min(Threading.count, n / grain)
                var partials = [[T]](repeating: [], count: chunks)
                partials.withUnsafeMutableBufferPointer { parts in
                    ThreadPool.shared.run(chunks: chunks, threads: Threading.count) { c in
                        var buf = [T](repeating: op.identity(T.self), count: outCount)
                        buf.withUnsafeMutableBufferPointer { b in
                            Tensor.reduceRuns(op, loop, src, b.baseAddress!, n * c / chunks, n * (c + 1) / chunks)
                        }
                        parts[c] = buf
                    }
                }
                for part in partials {
                    for i in 0..<outCount { dst[i] = op(dst[i], part[i]) }
                }
            } else {
                Tensor.reduceRuns(op, loop, src, dst, 0, n)
            }
        }
        return keepDims ? out : out.reshape(shape.indices.filter { !axes.contains($0) }.map { shape[$0] })
    }

    /// The hot loop of `reduce` over the flat range `lo..<hi` of the loop.
    @inline(__always)
    static func reduceRuns<T: NumericElement, Op: ReduceOp>(
        _ op: Op, _ loop: StridedLoop, _ src: UnsafeMutablePointer<T>, _ dst: UnsafeMutablePointer<T>, _ lo: Int, _ hi: Int
    ) {
        let s0 = loop.innerStride(0), s1 = loop.innerStride(1)
        loop.forEachRun(lo, hi) { o0, o1, _, _, m in
            if s0 == 0 {
                dst[o0] = op(dst[o0], reduceRun(op, src + o1, m, s1))
            } else if s0 == 1 && s1 == 1 {
                for j in 0..<m { dst[o0 &+ j] = op(dst[o0 &+ j], src[o1 &+ j]) }
            } else {
                for j in 0..<m { dst[o0 &+ j &* s0] = op(dst[o0 &+ j &* s0], src[o1 &+ j &* s1]) }
            }
        }
    }

    /// Terms per block of a pairwise reduction: NumPy's block size.
    static let pairwiseBlock = 128

    /// The blocks `blocks` of `block` flat loop elements (the last may be short), each reduced
    /// into a partial output of `outCount`, combined as a binary counter: level k holds 2^k blocks
    /// and two of a level merge into the next, so every output is a pairwise tree of its blocks.
    static func cascadeBlocks<T: NumericElement, Op: ReduceOp>(
        _ op: Op, _ loop: StridedLoop, _ src: UnsafeMutablePointer<T>, outCount: Int, block: Int, n: Int, blocks: Range<Int>
    ) -> [T] {
        let id = op.identity(T.self)
        var levels = [T](repeating: id, count: 64 * outCount)
        var current = [T](repeating: id, count: outCount)
        var occupied: UInt64 = 0
        levels.withUnsafeMutableBufferPointer { levelBuffer in
            current.withUnsafeMutableBufferPointer { currentBuffer in
                let level = levelBuffer.baseAddress!, cur = currentBuffer.baseAddress!
                for b in blocks {
                    cur.update(repeating: id, count: outCount)
                    reduceRuns(op, loop, src, cur, b * block, Swift.min((b + 1) * block, n))
                    var k = 0
                    while occupied & (1 << k) != 0 {
                        let l = level + k * outCount
                        for i in 0..<outCount { cur[i] = op(l[i], cur[i]) }
                        occupied &= ~(1 << k)
                        k += 1
                    }
                    (level + k * outCount).update(from: cur, count: outCount)
                    occupied |= 1 << k
                }
                // What is left: the occupied levels, smallest first.
                cur.update(repeating: id, count: outCount)
                for k in 0..<64 where occupied & (1 << k) != 0 {
                    let l = level + k * outCount
                    for i in 0..<outCount { cur[i] = op(l[i], cur[i]) }
                }
            }
        }
        return current
    }

    /// Reduces `m` elements `stride` apart, pairwise above `pairwiseBlock` elements (NumPy's
    /// pairwise sum: a float sum's error grows with log m, not m); within a block, eight
    /// independent accumulators let the compiler vectorise unit-stride runs.
    @inline(__always)
    static func reduceRun<T: NumericElement, Op: ReduceOp>(_ op: Op, _ p: UnsafeMutablePointer<T>, _ m: Int, _ stride: Int) -> T {
        m <= pairwiseBlock ? reduceBlock(op, p, m, stride) : reducePairwise(op, p, m, stride)
    }

    /// `reduceRun` of more than a block: halves (the first a multiple of 8 long) reduced apart.
    static func reducePairwise<T: NumericElement, Op: ReduceOp>(_ op: Op, _ p: UnsafeMutablePointer<T>, _ m: Int, _ stride: Int) -> T {
        if m <= pairwiseBlock { return reduceBlock(op, p, m, stride) }
        let half = (m / 2) & ~7
        return op(reducePairwise(op, p, half, stride), reducePairwise(op, p + half &* stride, m - half, stride))
    }

    /// At most a block of `m` elements `stride` apart, in eight accumulators when unit-stride.
    @inline(__always)
    static func reduceBlock<T: NumericElement, Op: ReduceOp>(_ op: Op, _ p: UnsafeMutablePointer<T>, _ m: Int, _ stride: Int) -> T {
        let id = op.identity(T.self)
        if stride == 1 && m >= 16 {
            var a0 = id, a1 = id, a2 = id, a3 = id, a4 = id, a5 = id, a6 = id, a7 = id
            var j = 0
            while j &+ 8 <= m {
                a0 = op(a0, p[j]); a1 = op(a1, p[j &+ 1]); a2 = op(a2, p[j &+ 2]); a3 = op(a3, p[j &+ 3])
                a4 = op(a4, p[j &+ 4]); a5 = op(a5, p[j &+ 5]); a6 = op(a6, p[j &+ 6]); a7 = op(a7, p[j &+ 7])
                j &+= 8
            }
            var acc = op(op(op(a0, a1), op(a2, a3)), op(op(a4, a5), op(a6, a7)))
            while j < m { acc = op(acc, p[j]); j &+= 1 }
            return acc
        }
        var acc = id
        for j in 0..<m { acc = op(acc, p[j &* stride]) }
        return acc
    }

    /// Runs `op` in the element type of `dtype` (promoting as `resultDType` says first).
    func reduce<Op: ReduceOp>(_ op: Op, axes: [Int]?, keepDims: Bool, name: String, widenIntegers: Bool) -> Tensor {
        let ax = Shape.axes(axes, rank: rank, op: name)
        var x = self
        if x.dtype == .bool || (widenIntegers && x.dtype == .int32) { x = x.to(.int64) }
        switch x.dtype {
        case .float32: return x.reduce(op, Float.self, axes: ax, keepDims: keepDims)
        case .float64: return x.reduce(op, Double.self, axes: ax, keepDims: keepDims)
        case .int32: return x.reduce(op, Int32.self, axes: ax, keepDims: keepDims)
        default: return x.reduce(op, Int64.self, axes: ax, keepDims: keepDims)
        }
    }

    /// Number of elements that `axes` (nil: all) cover.
    func reducedCount(_ axes: [Int]?, name: String) -> Int {
        Shape.axes(axes, rank: rank, op: name).reduce(1) { $0 * shape[$1] }
    }
}

