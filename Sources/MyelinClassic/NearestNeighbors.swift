import MyelinCore

/// How neighbours' votes are weighted.
public enum NeighborWeights: String, Codable, Sendable {
    /// Every neighbour counts once.
    case uniform
    /// A neighbour counts 1 / distance; neighbours at distance 0 alone decide.
    case distance
}

/// The distance between rows.
public enum NeighborMetric: String, Codable, Sendable {
    /// ‖a − b‖.
    case euclidean
    /// 1 − a·b / (‖a‖ ‖b‖).
    case cosine
}

/// The precision of the neighbour search's products.
public enum NeighborPrecision: String, Codable, Sendable {
    /// Products and distances in float64 (scikit-learn's results to 1e-9).
    case float64
    /// Products in float32 (‖x‖² − 2x·c + ‖c‖² then has about 1e-7 relative error, enough to swap
    /// neighbours at nearly equal distances), twice the speed of float64.
    case float32
}

/// Brute-force neighbour search: blocks of query rows times all training rows through BLAS, so memory
/// stays bounded (about 32 MB of distances per block), the k smallest kept per row on both cores.
struct NeighborSearch: Codable, Sendable {
    let train: FeatureMatrix
    let metric: NeighborMetric
    let precision: NeighborPrecision
    private let trainNorms: [Double]

    init(_ train: FeatureMatrix, metric: NeighborMetric, precision: NeighborPrecision = .float64) {
        (self.metric, self.precision) = (metric, precision)
        if metric == .cosine {
            var t = train
            for i in 0..<t.rows {
                let n = t.row(i).reduce(0) { $0 + $1 * $1 }.squareRoot()
                if n > 0 { for j in 0..<t.cols { t[i, j] /= n } }
            }
            self.train = t
        } else {
            self.train = train
        }
        trainNorms = self.train.squaredRowNorms()
    }

    /// Indices and distances of the k nearest training rows of every query row, nearest first
    /// (equal distances: lower training index first).
    func kNearest(_ query: FeatureMatrix, k: Int) -> (indices: [Int], distances: [Double]) {
        require(query.cols == train.cols, "[KNearestNeighbors] rows have \(query.cols) features, training rows \(train.cols)")
        require(k >= 1 && k <= train.rows, "[KNearestNeighbors] k = \(k) exceeds the \(train.rows) training rows")
        var q = query
        if metric == .cosine {
            for i in 0..<q.rows {
                let n = q.row(i).reduce(0) { $0 + $1 * $1 }.squareRoot()
                if n > 0 { for j in 0..<q.cols { q[i, j] /= n } }
            }
        }
        let n = train.rows
        // Blocks of query rows times blocks of training rows: each product is at most 1024 x 4096 doubles
        // (32 MB), and a training block is reused by 1024 query rows while it is in cache.
        let queryBlock = 1024, trainBlock = 4096
        var indices = [Int](repeating: -1, count: q.rows * k), distances = [Double](repeating: .infinity, count: q.rows * k)
        let qNorms = q.squaredRowNorms(), trainNorms = trainNorms
        let dtype: DType = precision == .float32 ? .float32 : .float64
        let trainBlocks = stride(from: 0, to: n, by: trainBlock).map { lo in
            (lo, train.rows(Array(lo..<Swift.min(n, lo + trainBlock))).tensor.to(dtype).T)
        }
        var start = 0
        while start < q.rows {
            let end = Swift.min(q.rows, start + queryBlock)
            let part = q.rows(Array(start..<end)).tensor.to(dtype)
            for (tlo, tensor) in trainBlocks {
                let products = part.matmul(tensor)
                if precision == .float32 {
                    products.withUnsafeBufferPointer(as: Float.self) { p in
                        NeighborSearch.keepNearest(p, rows: start..<end, width: tensor.shape[1], trainOffset: tlo, k: k,
                                                   qNorms: qNorms, trainNorms: trainNorms, indices: &indices, distances: &distances)
                    }
                } else {
                    products.withUnsafeBufferPointer(as: Double.self) { p in
                        NeighborSearch.keepNearest(p, rows: start..<end, width: tensor.shape[1], trainOffset: tlo, k: k,
                                                   qNorms: qNorms, trainNorms: trainNorms, indices: &indices, distances: &distances)
                    }
                }
            }
            start = end
        }
        for i in 0..<distances.count { distances[i] = metric == .cosine ? distances[i] / 2 : distances[i].squareRoot() }
        return (indices, distances)
    }

    /// Merges one block of products (query rows x `width` training rows) into every query row's k nearest,
    /// kept sorted; strictly smaller distances only, so on equal ones the lower training index stays first.
    static func keepNearest<T: BinaryFloatingPoint>(_ p: UnsafeBufferPointer<T>, rows: Range<Int>, width: Int, trainOffset tlo: Int, k: Int,
                                                    qNorms: [Double], trainNorms: [Double], indices: inout [Int], distances: inout [Double]) {
        indices.withUnsafeMutableBufferPointer { idx in
            distances.withUnsafeMutableBufferPointer { dist in
                qNorms.withUnsafeBufferPointer { qn in
                    trainNorms.withUnsafeBufferPointer { tn in
                        Threading.parallelFor(rows.count, grain: 8) { lo, hi in
                            for r in lo..<hi {
                                let o = (rows.lowerBound + r) * k, row = r * width, qnr = qn[rows.lowerBound + r]
                                var worst = dist[o + k - 1]
                                for j in 0..<width {
                                    let d = Swift.max(qnr - 2 * Double(p[row + j]) + tn[tlo + j], 0)
                                    if d < worst {
                                        var t = k - 1
                                        while t > 0 && dist[o + t - 1] > d { dist[o + t] = dist[o + t - 1]; idx[o + t] = idx[o + t - 1]; t -= 1 }
                                        dist[o + t] = d
                                        idx[o + t] = tlo + j
                                        worst = dist[o + k - 1]
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Each row's weights over its k neighbours.
    static func weights(_ distances: ArraySlice<Double>, _ kind: NeighborWeights) -> [Double] {
        if kind == .uniform { return [Double](repeating: 1, count: distances.count) }
        if distances.contains(0) { return distances.map { $0 == 0 ? 1 : 0 } }
        return distances.map { 1 / $0 }
    }
}

/// k-nearest-neighbour classifier (scikit-learn's `KNeighborsClassifier`, brute force).
///
/// ```swift
/// var knn = KNearestNeighborsClassifier(k: 3, weights: .distance)
/// knn.fit(x, y)
/// knn.predictProbabilities(xTest)   // share of the neighbours' (weighted) votes per class
/// ```
public struct KNearestNeighborsClassifier: ProbabilisticClassifier {
    /// Neighbours that vote.
    public var k: Int
    /// Uniform or 1/distance votes.
    public var weights: NeighborWeights
    /// Euclidean or cosine distance.
    public var metric: NeighborMetric
    /// float64 (default) or float32 products.
    public var precision: NeighborPrecision = .float64
    private var search: NeighborSearch?
    private var index = ClassIndex([])
    private var codedLabels: [Int] = []

    /// A classifier voting among the `k` nearest training rows.
    public init(k: Int = 5, weights: NeighborWeights = .uniform, metric: NeighborMetric = .euclidean) {
        require(k >= 1, "[KNearestNeighbors] k must be positive, got \(k)")
        (self.k, self.weights, self.metric) = (k, weights, metric)
    }

    public var classes: [Int] { index.classes }

    public mutating func fit(_ x: FeatureMatrix, _ y: [Int]) {
        x.requireNoNaN("KNearestNeighborsClassifier.fit")
        require(x.rows == y.count, "[KNearestNeighbors] \(x.rows) rows but \(y.count) labels")
        search = NeighborSearch(x, metric: metric, precision: precision)
        index = ClassIndex(y)
        codedLabels = index.encode(y)
    }

    /// Indices (into the training rows) and distances of the k nearest neighbours of every row, nearest first.
    public func neighbors(_ x: FeatureMatrix) -> (indices: [[Int]], distances: [[Double]]) {
        guard let search else { fatalError("[KNearestNeighbors] neighbors before fit") }
        let r = search.kNearest(x, k: k)
        return ((0..<x.rows).map { Array(r.indices[($0 * k)..<(($0 + 1) * k)]) }, (0..<x.rows).map { Array(r.distances[($0 * k)..<(($0 + 1) * k)]) })
    }

    public func predictProbabilities(_ x: FeatureMatrix) -> FeatureMatrix {
        x.requireNoNaN("KNearestNeighborsClassifier.predictProbabilities")
        guard let search else { fatalError("[KNearestNeighbors] predict before fit") }
        let r = search.kNearest(x, k: k)
        var p = FeatureMatrix(zerosRows: x.rows, cols: index.classes.count)
        for i in 0..<x.rows {
            let w = NeighborSearch.weights(r.distances[(i * k)..<((i + 1) * k)], weights)
            var total = 0.0
            for t in 0..<k { p[i, codedLabels[r.indices[i * k + t]]] += w[t]; total += w[t] }
            for c in 0..<p.cols { p[i, c] /= total }
        }
        return p
    }

    /// The class with the largest (weighted) vote; equal votes go to the smallest label, as scikit-learn.
    public func predict(_ x: FeatureMatrix) -> [Int] {
        let p = predictProbabilities(x)
        return (0..<x.rows).map { index.classes[argmaxRow(p, $0)] }
    }
}

/// k-nearest-neighbour regressor (scikit-learn's `KNeighborsRegressor`, brute force): the (weighted) mean
/// of the neighbours' targets.
///
/// ```swift
/// var knn = KNearestNeighborsRegressor(k: 5)
/// knn.fit(x, targets)
/// knn.predict(xTest)
/// ```
public struct KNearestNeighborsRegressor: Regressor {
    /// Neighbours averaged.
    public var k: Int
    /// Uniform or 1/distance weights.
    public var weights: NeighborWeights
    /// Euclidean or cosine distance.
    public var metric: NeighborMetric
    /// float64 (default) or float32 products.
    public var precision: NeighborPrecision = .float64
    private var search: NeighborSearch?
    private var targets: [Double] = []

    /// A regressor averaging the `k` nearest training rows.
    public init(k: Int = 5, weights: NeighborWeights = .uniform, metric: NeighborMetric = .euclidean) {
        require(k >= 1, "[KNearestNeighbors] k must be positive, got \(k)")
        (self.k, self.weights, self.metric) = (k, weights, metric)
    }

    public mutating func fit(_ x: FeatureMatrix, _ y: [Double]) {
        x.requireNoNaN("KNearestNeighborsRegressor.fit")
        require(x.rows == y.count, "[KNearestNeighbors] \(x.rows) rows but \(y.count) targets")
        search = NeighborSearch(x, metric: metric, precision: precision)
        targets = y
    }

    public func predict(_ x: FeatureMatrix) -> [Double] {
        x.requireNoNaN("KNearestNeighborsRegressor.predict")
        guard let search else { fatalError("[KNearestNeighbors] predict before fit") }
        let r = search.kNearest(x, k: k)
        return (0..<x.rows).map { i in
            let w = NeighborSearch.weights(r.distances[(i * k)..<((i + 1) * k)], weights)
            var s = 0.0, total = 0.0
            for t in 0..<k { s += w[t] * targets[r.indices[i * k + t]]; total += w[t] }
            return s / total
        }
    }
}
