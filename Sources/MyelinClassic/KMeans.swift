import MyelinCore

/// k-means clustering with scikit-learn's meaning: greedy k-means++ initialisation, `nInit` restarts
/// (the lowest inertia wins), Lloyd iterations with distances through BLAS (‖x‖² − 2x·c + ‖c‖²).
///
/// ```swift
/// var km = KMeans(k: 3, nInit: 10, seed: 0)
/// km.fit(x)
/// km.labels       // cluster of every training row
/// km.inertia      // sum of squared distances to the closest centre
/// var fixed = KMeans(initialCenters: FeatureMatrix([[0, 0], [5, 5]]))   // start from given centres
/// ```
public struct KMeans: Clusterer {
    /// Number of clusters.
    public var k: Int
    /// Restarts from different k-means++ draws (1 when the centres are given).
    public var nInit: Int
    /// Most Lloyd iterations per run.
    public var maxIter: Int
    /// Relative tolerance: stop when the squared centre shift is below `tol` times the mean feature variance.
    public var tol: Double
    /// Seed of the k-means++ draws.
    public var seed: UInt64
    /// Starting centres instead of k-means++.
    public var initialCenters: FeatureMatrix?

    /// The centres after `fit`, [k, features].
    public private(set) var centers = FeatureMatrix(zerosRows: 0, cols: 0)
    /// The cluster of every training row.
    public private(set) var labels: [Int] = []
    /// Sum of squared distances of the training rows to their centres.
    public private(set) var inertia = 0.0
    /// Lloyd iterations of the best run.
    public private(set) var iterations = 0

    /// A model that draws its starting centres with k-means++.
    public init(k: Int, nInit: Int = 1, maxIter: Int = 300, tol: Double = 1e-4, seed: UInt64 = 0) {
        require(k >= 1 && nInit >= 1 && maxIter >= 1, "[KMeans] k, nInit and maxIter must be positive, got \(k), \(nInit), \(maxIter)")
        (self.k, self.nInit, self.maxIter, self.tol, self.seed) = (k, nInit, maxIter, tol, seed)
    }

    /// A model that starts from the given centres (one run).
    public init(initialCenters: FeatureMatrix, maxIter: Int = 300, tol: Double = 1e-4) {
        self.init(k: initialCenters.rows, nInit: 1, maxIter: maxIter, tol: tol)
        self.initialCenters = initialCenters
    }

    public mutating func fit(_ x: FeatureMatrix) {
        x.requireNoNaN("KMeans.fit")
        require(k <= x.rows, "[KMeans] k = \(k) exceeds the \(x.rows) rows")
        if let c = initialCenters {
            require(c.cols == x.cols, "[KMeans] initial centres have \(c.cols) features, the data \(x.cols)")
        }
        // Centre the data as scikit-learn does (smaller rounding in ‖x‖² − 2x·c + ‖c‖²).
        let means = x.columnMeans()
        var xc = x
        for i in 0..<x.rows { for j in 0..<x.cols { xc[i, j] -= means[j] } }
        let data = LloydData(xc)
        let variances = x.columnVariances()
        let tolerance = tol * variances.reduce(0, +) / Double(Swift.max(x.cols, 1))
        let draws = Draws(seed: seed)
        var best: (centers: FeatureMatrix, labels: [Int], inertia: Double, iterations: Int)?
        for _ in 0..<(initialCenters == nil ? nInit : 1) {
            var start: FeatureMatrix
            if var given = initialCenters {
                for i in 0..<given.rows { for j in 0..<given.cols { given[i, j] -= means[j] } }
                start = given
            } else {
                start = KMeans.plusPlus(data, k: k, draws: draws)
            }
            let run = KMeans.lloyd(data, start, maxIter: maxIter, tolerance: tolerance)
            if best == nil || run.inertia < best!.inertia { best = run }
        }
        var c = best!.centers
        for i in 0..<c.rows { for j in 0..<c.cols { c[i, j] += means[j] } }
        (centers, labels, inertia, iterations) = (c, best!.labels, best!.inertia, best!.iterations)
    }

    /// The closest centre of every row.
    public func predict(_ x: FeatureMatrix) -> [Int] {
        x.requireNoNaN("KMeans.predict")
        require(centers.rows > 0, "[KMeans] predict before fit")
        require(x.cols == centers.cols, "[KMeans] rows have \(x.cols) features, the centres \(centers.cols)")
        return KMeans.assign(LloydData(x), centers).labels
    }

    /// Sum of squared distances of `x`'s rows to their closest centres (scikit-learn's `-score`).
    public func inertia(of x: FeatureMatrix) -> Double { KMeans.assign(LloydData(x), centers).inertia }

    /// The data of a fit: the rows and their squared norms; passes go over blocks of `chunk` rows
    /// (each block read once per pass, while in cache, on both cores).
    struct LloydData {
        static let chunk = 256
        let x: FeatureMatrix
        let norms: [Double]
        var chunks: Int { (x.rows + LloydData.chunk - 1) / LloydData.chunk }
        init(_ x: FeatureMatrix) {
            self.x = x
            norms = x.squaredRowNorms()
        }

        /// x_i · c_j for the rows of chunk `ch`, [rows of the chunk, centres] (RowDots: a GEMM with
        /// ~10 columns spent its time packing the rows).
        func dots(_ ch: Int, _ c: FeatureMatrix) -> [Double] {
            let r0 = ch * LloydData.chunk, rows = Swift.min(x.rows, r0 + LloydData.chunk) - r0
            return [Double](unsafeUninitializedCapacity: rows * c.rows) { out, count in
                x.values.withUnsafeBufferPointer { xv in
                    c.values.withUnsafeBufferPointer { cv in
                        RowDots.compute(xv.baseAddress! + r0 * x.cols, rows: rows, centers: cv.baseAddress!, k: c.rows,
                                        cols: x.cols, into: out.baseAddress!)
                    }
                }
                count = rows * c.rows
            }
        }

        /// Squared distances of every row to every centre, [rows, centres].
        func distances(_ c: FeatureMatrix) -> [Double] {
            let m = c.rows, n = x.rows, cn = c.squaredRowNorms(), norms = norms
            var d = [Double](repeating: 0, count: n * m)
            d.withUnsafeMutableBufferPointer { p in
                Threading.parallelFor(chunks, grain: 1) { lo, hi in
                    for ch in lo..<hi {
                        let r0 = ch * LloydData.chunk, prod = dots(ch, c)
                        for i in 0..<(prod.count / m) {
                            for j in 0..<m { p[(r0 + i) * m + j] = Swift.max(norms[r0 + i] - 2 * prod[i * m + j] + cn[j], 0) }
                        }
                    }
                }
            }
            return d
        }
    }

    /// Closest centre and its squared distance for every row; the inertia (from exact differences, as
    /// scikit-learn's `_inertia`) only when asked.
    static func assign(_ data: LloydData, _ c: FeatureMatrix, inertia wanted: Bool = true) -> (labels: [Int], distances: [Double], inertia: Double) {
        let d = data.distances(c), m = c.rows, n = data.x.rows, cols = data.x.cols
        var labels = [Int](repeating: 0, count: n), best = [Double](repeating: 0, count: n)
        for i in 0..<n {
            var b = 0
            for j in 1..<m where d[i * m + j] < d[i * m + b] { b = j }
            labels[i] = b
            best[i] = d[i * m + b]
        }
        guard wanted else { return (labels, best, 0) }
        var perRow = [Double](repeating: 0, count: n)
        perRow.withUnsafeMutableBufferPointer { out in
            data.x.values.withUnsafeBufferPointer { x in
                c.values.withUnsafeBufferPointer { cv in
                    Threading.parallelFor(n, grain: 1024) { lo, hi in
                        for i in lo..<hi {
                            var s = 0.0
                            let xr = i * cols, cr = labels[i] * cols
                            for j in 0..<cols { let t = x[xr + j] - cv[cr + j]; s += t * t }
                            out[i] = s
                        }
                    }
                }
            }
        }
        return (labels, best, perRow.reduce(0, +))
    }

    /// One pass over the rows in chunks of 256 (each chunk read once, while in cache, on both cores):
    /// closest centre and its squared distance (a BLAS product per chunk), and the per-cluster sums and counts.
    static func assignAndSum(_ data: LloydData, _ c: FeatureMatrix) -> (labels: [Int], distances: [Double], sums: [Double], counts: [Double]) {
        let n = data.x.rows, d = data.x.cols, k = c.rows, chunk = LloydData.chunk
        let chunks = data.chunks
        let cn = c.squaredRowNorms(), norms = data.norms
        var labels = [Int](repeating: 0, count: n), best = [Double](repeating: 0, count: n)
        var partial = [Double](repeating: 0, count: chunks * k * d), partialCounts = [Double](repeating: 0, count: chunks * k)
        labels.withUnsafeMutableBufferPointer { lab in
            best.withUnsafeMutableBufferPointer { bst in
                partial.withUnsafeMutableBufferPointer { part in
                    partialCounts.withUnsafeMutableBufferPointer { cnt in
                        data.x.values.withUnsafeBufferPointer { x in
                            Threading.parallelFor(chunks, grain: 1) { lo, hi in
                                for ch in lo..<hi {
                                    let r0 = ch * chunk, r1 = Swift.min(n, r0 + chunk)
                                    let products = data.dots(ch, c)
                                    for i in 0..<(r1 - r0) {
                                        var b = 0, bd = Double.infinity
                                        for j in 0..<k {
                                            let v = Swift.max(norms[r0 + i] - 2 * products[i * k + j] + cn[j], 0)
                                            if v < bd { (bd, b) = (v, j) }
                                        }
                                        lab[r0 + i] = b
                                        bst[r0 + i] = bd
                                        cnt[ch * k + b] += 1
                                        // Local pointers: indexing the captured buffers reloaded them and
                                        // checked overflow per element (a third of the pass's time).
                                        let dst = part.baseAddress! + (ch * k + b) * d, src = x.baseAddress! + (r0 + i) * d
                                        for f in 0..<d { dst[f] += src[f] }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        var sums = [Double](repeating: 0, count: k * d), counts = [Double](repeating: 0, count: k)
        for ch in 0..<chunks {
            for j in 0..<k { counts[j] += partialCounts[ch * k + j] }
            for t in 0..<(k * d) { sums[t] += partial[ch * k * d + t] }
        }
        return (labels, best, sums, counts)
    }

    /// Lloyd's iterations from `start` (scikit-learn's `_kmeans_single_lloyd`).
    static func lloyd(_ data: LloydData, _ start: FeatureMatrix, maxIter: Int, tolerance: Double)
        -> (centers: FeatureMatrix, labels: [Int], inertia: Double, iterations: Int) {
        let x = data.x, k = start.rows, d = x.cols
        var centers = start
        var labelsOld = [Int](repeating: -1, count: x.rows)
        var labels = labelsOld
        var strict = false
        var iterations = 0
        for it in 0..<maxIter {
            iterations = it + 1
            let a = assignAndSum(data, centers)
            labels = a.labels
            var counts = a.counts
            var sums = FeatureMatrix(rows: k, cols: d, values: a.sums)
            // Empty clusters take the rows farthest from their centres, as scikit-learn relocates them.
            let empty = (0..<k).filter { counts[$0] == 0 }
            if !empty.isEmpty {
                let far = (0..<x.rows).sorted { a.distances[$0] > a.distances[$1] }
                for (e, i) in zip(empty, far) {
                    let old = labels[i]
                    for j in 0..<d { sums[old, j] -= x[i, j]; sums[e, j] = x[i, j] }
                    counts[old] -= 1
                    counts[e] = 1
                    labels[i] = e
                }
            }
            var shift = 0.0
            var next = centers
            for c in 0..<k {
                for j in 0..<d {
                    let v = counts[c] > 0 ? sums[c, j] / counts[c] : centers[c, j]
                    shift += (v - centers[c, j]) * (v - centers[c, j])
                    next[c, j] = v
                }
            }
            centers = next
            if labels == labelsOld { strict = true; break }
            if shift <= tolerance { break }
            labelsOld = labels
        }
        let final = assign(data, centers)
        if !strict { labels = final.labels }
        return (centers, labels, final.inertia, iterations)
    }

    /// Greedy k-means++ (scikit-learn's `_kmeans_plusplus`): 2 + ⌊ln k⌋ candidates per centre, the one
    /// that lowers the potential most is kept.
    static func plusPlus(_ data: LloydData, k: Int, draws: Draws) -> FeatureMatrix {
        let x = data.x, n = x.rows
        let trials = 2 + Int(log(Double(k)))
        var chosen = [draws.int(below: n)]
        var closest = data.distances(x.rows([chosen[0]]))
        var potential = closest.reduce(0, +)
        for _ in 1..<k {
            var cumulative = [Double](repeating: 0, count: n)
            var s = 0.0
            for i in 0..<n { s += closest[i]; cumulative[i] = s }
            let ids = draws.uniform(trials).map { u -> Int in
                let target = u * potential
                var lo = 0, hi = n
                while lo < hi { let mid = (lo + hi) / 2; if cumulative[mid] < target { lo = mid + 1 } else { hi = mid } }
                return Swift.min(lo, n - 1)
            }
            let dc = data.distances(x.rows(ids))
            var bestPot = Double.infinity, bestID = ids[0], bestDist = closest
            for (t, id) in ids.enumerated() {
                var pot = 0.0
                var dist = closest
                for i in 0..<n { dist[i] = Swift.min(closest[i], dc[i * trials + t]); pot += dist[i] }
                if pot < bestPot { (bestPot, bestID, bestDist) = (pot, id, dist) }
            }
            chosen.append(bestID)
            closest = bestDist
            potential = bestPot
        }
        return x.rows(chosen)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
