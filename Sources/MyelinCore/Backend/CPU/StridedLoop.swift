/// The iteration space of an op over up to four operands that share a loop shape but have their
/// own strides (broadcast operands have stride 0). Dimensions of size 1 are dropped and neighbouring
/// dimensions that are contiguous in every operand are merged, so most loops end up with one long
/// inner run.
///
/// Kernels call `forEachRun`, which hands them the element offsets of each operand at the start of a
/// run of the innermost dimension and the run length; the run is the hot loop, with no dispatch.

struct StridedLoop {
    /// Coalesced loop shape, at least one dimension.
    var shape: [Int]
    /// Strides of operand k along dimension d at `strides[k * rank + d]`.
    var strides: [Int]
    let operandCount: Int
    /// Total number of iterations.
    let count: Int


    init(shape: [Int], strides operandStrides: [[Int]]) {
        let k = operandStrides.count
        operandCount = k
        count = Shape.count(shape)
        // Keep dimensions of size > 1, outermost first.
        var dims: [Int] = []
        for d in 0..<shape.count where shape[d] != 1 { dims.append(d) }
        var s: [Int] = []
        var st: [[Int]] = Array(repeating: [], count: k)
        for d in dims {
            if let last = s.last {
                // Merge d into the previous (outer) dim when every operand steps over it contiguously.
                var mergeable = true
                for o in 0..<k where operandStrides[o][d] * shape[d] != st[o][st[o].count - 1] {
                    mergeable = false
                    break
                }
                if mergeable {
                    s[s.count - 1] = last * shape[d]
                    for o in 0..<k { st[o][st[o].count - 1] = operandStrides[o][d] }
                    continue
                }
            }
            s.append(shape[d])
            for o in 0..<k { st[o].append(operandStrides[o][d]) }
        }
        if s.isEmpty {
            s = [count == 0 ? 0 : 1]
            for o in 0..<k { st[o] = [0] }
        }
        self.shape = s
        self.strides = st.flatMap { $0 }
    }

    @inline(__always)
    var rank: Int { shape.count }

    /// Stride of operand `k` along the innermost dimension.
    @inline(__always)
    func innerStride(_ k: Int) -> Int { strides[k * rank + rank - 1] }

    /// Calls `body(o0, o1, o2, o3, n)` for every run of the innermost dimension that overlaps the
    /// flat iteration range `lo..<hi`; `oK` is operand K's element offset at the start of the run
    /// (0 for operands that do not exist).
    @inline(__always)
    func forEachRun(_ lo: Int, _ hi: Int, _ body: (Int, Int, Int, Int, Int) -> Void) {
        if lo >= hi { return }
        let r = rank
        let inner = shape[r - 1]
        let k = operandCount
        if r == 1 {
            let o0 = lo * strides[0]
            let o1 = k > 1 ? lo * strides[1] : 0
            let o2 = k > 2 ? lo * strides[2] : 0
            let o3 = k > 3 ? lo * strides[3] : 0
            body(o0, o1, o2, o3, hi - lo)
            return
        }
        withUnsafeTemporaryAllocation(of: Int.self, capacity: r + 4) { buf in
            let idx = buf.baseAddress!
            let off = idx + r
            for j in 0..<4 { off[j] = 0 }
            var rem = lo
            var d = r - 1
            while d >= 0 {
                let i = rem % shape[d]
                rem /= shape[d]
                idx[d] = i
                for o in 0..<k { off[o] &+= i &* strides[o * r + d] }
                d -= 1
            }
            var pos = lo
            while pos < hi {
                let n = min(inner - idx[r - 1], hi - pos)
                body(off[0], off[1], off[2], off[3], n)
                pos &+= n
                if pos >= hi { break }
                // Step to the start of the next run: finish this row, then carry into outer dims.
                for o in 0..<k { off[o] &-= idx[r - 1] &* strides[o * r + r - 1] }
                idx[r - 1] = 0
                var d = r - 2
                while d >= 0 {
                    idx[d] &+= 1
                    for o in 0..<k { off[o] &+= strides[o * r + d] }
                    if idx[d] < shape[d] { break }
                    for o in 0..<k { off[o] &-= shape[d] &* strides[o * r + d] }
                    idx[d] = 0
                    d -= 1
                }
            }
        }
    }
}
