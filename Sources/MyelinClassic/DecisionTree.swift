import MyelinCore

/// How a tree measures a node's impurity.
public enum SplitCriterion: String, Codable, Sendable {
    /// 1 − Σ p² (classification).
    case gini
    /// −Σ p log p (classification).
    case entropy
    /// Mean squared deviation from the node's mean (regression).
    case squaredError
}

/// A fitted tree: nodes in an array, children by index (−1 at leaves), a value vector per node
/// (class shares, or the mean target).
public struct TreeNodes: Codable, Sendable {
    public var feature: [Int] = []
    public var threshold: [Double] = []
    public var left: [Int] = []
    public var right: [Int] = []
    public var value: [[Double]] = []

    /// The leaf row `i` of `x` falls into.
    func leaf(_ x: FeatureMatrix, _ i: Int) -> Int {
        var n = 0
        // Features are compared as float32, as scikit-learn's trees store them.
        while left[n] >= 0 { n = Double(Float(x[i, feature[n]])) <= threshold[n] ? left[n] : right[n] }
        return n
    }
}

/// The growing of one tree with scikit-learn's best splitter: at every node the features in a random
/// order (seeded), every threshold halfway between consecutive distinct values, the split with the largest
/// impurity decrease kept (the first found on equal ones).
struct TreeBuilder {
    let x: FeatureMatrix
    /// Class index (classification) or target (regression) of every row.
    let y: [Double]
    let classes: Int
    let criterion: SplitCriterion
    let maxDepth: Int?
    let minSamplesSplit: Int
    let minSamplesLeaf: Int
    let maxFeatures: Int
    let draws: Draws
    var nodes = TreeNodes()

    /// The node's value vector and impurity.
    func stats(_ rows: ArraySlice<Int>) -> ([Double], Double) {
        let n = Double(rows.count)
        if criterion == .squaredError {
            var s = 0.0, q = 0.0
            for r in rows { s += y[r]; q += y[r] * y[r] }
            let mean = s / n
            return ([mean], Swift.max(q / n - mean * mean, 0))
        }
        var counts = [Double](repeating: 0, count: classes)
        for r in rows { counts[Int(y[r])] += 1 }
        return (counts.map { $0 / n }, impurity(counts, n))
    }

    func impurity(_ counts: [Double], _ n: Double) -> Double {
        var s = 0.0
        if criterion == .gini {
            for c in counts { s += (c / n) * (c / n) }
            return 1 - s
        }
        for c in counts where c > 0 { s -= (c / n) * log2(c / n) }
        return s
    }

    mutating func grow(_ rows: inout [Int], _ lo: Int, _ hi: Int, depth: Int) -> Int {
        let id = nodes.feature.count
        let (value, nodeImpurity) = stats(rows[lo..<hi])
        nodes.feature.append(-1); nodes.threshold.append(0); nodes.left.append(-1); nodes.right.append(-1); nodes.value.append(value)
        let n = hi - lo
        if (maxDepth.map { depth >= $0 } ?? false) || n < minSamplesSplit || n < 2 * minSamplesLeaf || nodeImpurity <= 1e-7 {
            return id
        }
        guard let split = bestSplit(rows[lo..<hi], nodeImpurity) else { return id }
        // Partition: rows going left first.
        var mid = lo
        for i in lo..<hi where x[rows[i], split.feature] <= split.threshold {
            rows.swapAt(i, mid)
            mid += 1
        }
        nodes.feature[id] = split.feature
        nodes.threshold[id] = split.threshold
        let l = grow(&rows, lo, mid, depth: depth + 1)
        let r = grow(&rows, mid, hi, depth: depth + 1)
        nodes.left[id] = l
        nodes.right[id] = r
        return id
    }

    func bestSplit(_ rows: ArraySlice<Int>, _ parentImpurity: Double) -> (feature: Int, threshold: Double)? {
        let n = rows.count, nd = Double(n)
        var best: (feature: Int, threshold: Double, proxy: Double)?
        var visited = 0
        for f in draws.permutation(x.cols) {
            if visited >= maxFeatures && best != nil { break }
            let sorted = rows.sorted { x[$0, f] < x[$1, f] }
            if x[sorted[n - 1], f] <= x[sorted[0], f] + 1e-7 { continue }  // constant here
            visited += 1
            if criterion == .squaredError {
                var totalS = 0.0, totalQ = 0.0
                for r in sorted { totalS += y[r]; totalQ += y[r] * y[r] }
                var ls = 0.0
                for p in 0..<(n - 1) {
                    ls += y[sorted[p]]
                    let nl = p + 1, nr = n - nl
                    if x[sorted[p + 1], f] <= x[sorted[p], f] + 1e-7 || nl < minSamplesLeaf || nr < minSamplesLeaf { continue }
                    let rs = totalS - ls
                    let proxy = ls * ls / Double(nl) + rs * rs / Double(nr)
                    if best == nil || proxy > best!.proxy { best = (f, threshold(x[sorted[p], f], x[sorted[p + 1], f]), proxy) }
                }
            } else {
                var left = [Double](repeating: 0, count: classes), total = [Double](repeating: 0, count: classes)
                for r in sorted { total[Int(y[r])] += 1 }
                for p in 0..<(n - 1) {
                    left[Int(y[sorted[p]])] += 1
                    let nl = p + 1, nr = n - nl
                    if x[sorted[p + 1], f] <= x[sorted[p], f] + 1e-7 || nl < minSamplesLeaf || nr < minSamplesLeaf { continue }
                    let right = zip(total, left).map { $0 - $1 }
                    let proxy = -(Double(nl) * impurity(left, Double(nl)) + Double(nr) * impurity(right, Double(nr)))
                    if best == nil || proxy > best!.proxy { best = (f, threshold(x[sorted[p], f], x[sorted[p + 1], f]), proxy) }
                }
            }
        }
        _ = nd
        return best.map { ($0.feature, $0.threshold) }
    }

    /// Halfway, or the lower value when halfway rounds up to the upper one (as scikit-learn).
    func threshold(_ a: Double, _ b: Double) -> Double {
        let t = a / 2 + b / 2
        return t == b || t.isInfinite || t.isNaN ? a : t
    }
}

extension FeatureMatrix {
    /// Every value rounded to float32 (and back): scikit-learn's trees split float32 features.
    func asFloat32Values() -> FeatureMatrix { FeatureMatrix(rows: rows, cols: cols, values: values.map { Double(Float($0)) }) }
}

/// A decision tree classifier (scikit-learn's `DecisionTreeClassifier`, best splitter, Gini or entropy).
///
/// ```swift
/// var tree = DecisionTreeClassifier(criterion: .gini, maxDepth: 5, seed: 0)
/// tree.fit(x, y)
/// tree.predict(xTest)
/// ```
public struct DecisionTreeClassifier: ProbabilisticClassifier {
    public var criterion: SplitCriterion
    public var maxDepth: Int?
    public var minSamplesSplit: Int
    public var minSamplesLeaf: Int
    /// Features tried per split (nil: all).
    public var maxFeatures: Int?
    /// Seed of the feature order.
    public var seed: UInt64
    private var index = ClassIndex([])
    /// The fitted nodes.
    public private(set) var nodes = TreeNodes()

    /// An unfitted tree.
    public init(criterion: SplitCriterion = .gini, maxDepth: Int? = nil, minSamplesSplit: Int = 2, minSamplesLeaf: Int = 1,
                maxFeatures: Int? = nil, seed: UInt64 = 0) {
        require(criterion != .squaredError, "[DecisionTree] squaredError is for DecisionTreeRegressor")
        require(minSamplesSplit >= 2 && minSamplesLeaf >= 1, "[DecisionTree] minSamplesSplit must be at least 2 and minSamplesLeaf 1")
        (self.criterion, self.maxDepth, self.minSamplesSplit, self.minSamplesLeaf, self.maxFeatures, self.seed) =
            (criterion, maxDepth, minSamplesSplit, minSamplesLeaf, maxFeatures, seed)
    }

    public var classes: [Int] { index.classes }

    public mutating func fit(_ x: FeatureMatrix, _ y: [Int]) {
        x.requireNoNaN("DecisionTreeClassifier.fit")
        index = ClassIndex(y)
        fitCoded(x, index.encode(y), rows: Array(0..<x.rows), classCount: index.classes.count)
    }

    /// Fits on `rows` of `x` (repeats allowed: a bootstrap sample) with labels already coded 0..<classCount.
    mutating func fitCoded(_ x: FeatureMatrix, _ coded: [Int], rows: [Int], classCount: Int, classes: [Int]? = nil) {
        require(x.rows == coded.count, "[DecisionTree] \(x.rows) rows but \(coded.count) labels")
        if let classes { index = ClassIndex(classes) }
        var b = TreeBuilder(x: x.asFloat32Values(), y: coded.map(Double.init), classes: classCount, criterion: criterion, maxDepth: maxDepth,
                            minSamplesSplit: minSamplesSplit, minSamplesLeaf: minSamplesLeaf,
                            maxFeatures: maxFeatures ?? x.cols, draws: Draws(seed: seed))
        var r = rows
        _ = b.grow(&r, 0, r.count, depth: 0)
        nodes = b.nodes
    }

    public func predictProbabilities(_ x: FeatureMatrix) -> FeatureMatrix {
        x.requireNoNaN("DecisionTreeClassifier.predictProbabilities")
        return probabilities(x)
    }

    /// `predictProbabilities` without the NaN check (the forest calls it once per tree, after its own).
    func probabilities(_ x: FeatureMatrix) -> FeatureMatrix {
        var p = FeatureMatrix(zerosRows: x.rows, cols: index.classes.count)
        for i in 0..<x.rows { let v = nodes.value[nodes.leaf(x, i)]; for c in 0..<v.count { p[i, c] = v[c] } }
        return p
    }

    public func predict(_ x: FeatureMatrix) -> [Int] {
        let p = predictProbabilities(x)
        return (0..<x.rows).map { index.classes[argmaxRow(p, $0)] }
    }
}

/// A regression tree (scikit-learn's `DecisionTreeRegressor`, squared error): leaves hold the mean target.
///
/// ```swift
/// var tree = DecisionTreeRegressor(maxDepth: 5, seed: 0)
/// tree.fit(x, targets)
/// ```
public struct DecisionTreeRegressor: Regressor {
    public var maxDepth: Int?
    public var minSamplesSplit: Int
    public var minSamplesLeaf: Int
    public var maxFeatures: Int?
    public var seed: UInt64
    /// The fitted nodes.
    public private(set) var nodes = TreeNodes()

    /// An unfitted tree.
    public init(maxDepth: Int? = nil, minSamplesSplit: Int = 2, minSamplesLeaf: Int = 1, maxFeatures: Int? = nil, seed: UInt64 = 0) {
        require(minSamplesSplit >= 2 && minSamplesLeaf >= 1, "[DecisionTree] minSamplesSplit must be at least 2 and minSamplesLeaf 1")
        (self.maxDepth, self.minSamplesSplit, self.minSamplesLeaf, self.maxFeatures, self.seed) = (maxDepth, minSamplesSplit, minSamplesLeaf, maxFeatures, seed)
    }

    public mutating func fit(_ x: FeatureMatrix, _ y: [Double]) {
        x.requireNoNaN("DecisionTreeRegressor.fit")
        require(x.rows == y.count, "[DecisionTree] \(x.rows) rows but \(y.count) targets")
        var b = TreeBuilder(x: x.asFloat32Values(), y: y, classes: 0, criterion: .squaredError, maxDepth: maxDepth, minSamplesSplit: minSamplesSplit,
                            minSamplesLeaf: minSamplesLeaf, maxFeatures: maxFeatures ?? x.cols, draws: Draws(seed: seed))
        var r = Array(0..<x.rows)
        _ = b.grow(&r, 0, r.count, depth: 0)
        nodes = b.nodes
    }

    public func predict(_ x: FeatureMatrix) -> [Double] {
        x.requireNoNaN("DecisionTreeRegressor.predict")
        return (0..<x.rows).map { nodes.value[nodes.leaf(x, $0)][0] }
    }
}

/// A random forest classifier (scikit-learn's `RandomForestClassifier`): trees on bootstrap samples, √d
/// features tried per split, probabilities averaged; trees grown on both cores, seeded.
///
/// ```swift
/// var forest = RandomForestClassifier(trees: 100, seed: 0)
/// forest.fit(x, y)
/// forest.score(xTest, yTest)
/// ```
public struct RandomForestClassifier: ProbabilisticClassifier {
    public var trees: Int
    public var criterion: SplitCriterion
    public var maxDepth: Int?
    public var minSamplesLeaf: Int
    /// Features per split (nil: ⌊√d⌋, at least 1).
    public var maxFeatures: Int?
    public var bootstrap: Bool
    public var seed: UInt64
    private var index = ClassIndex([])
    /// The fitted trees.
    public private(set) var estimators: [DecisionTreeClassifier] = []

    /// An unfitted forest of `trees` trees.
    public init(trees: Int = 100, criterion: SplitCriterion = .gini, maxDepth: Int? = nil, minSamplesLeaf: Int = 1,
                maxFeatures: Int? = nil, bootstrap: Bool = true, seed: UInt64 = 0) {
        require(trees >= 1, "[RandomForest] needs at least one tree, got \(trees)")
        (self.trees, self.criterion, self.maxDepth, self.minSamplesLeaf, self.maxFeatures, self.bootstrap, self.seed) =
            (trees, criterion, maxDepth, minSamplesLeaf, maxFeatures, bootstrap, seed)
    }

    public var classes: [Int] { index.classes }

    public mutating func fit(_ x: FeatureMatrix, _ y: [Int]) {
        x.requireNoNaN("RandomForestClassifier.fit")
        require(x.rows == y.count, "[RandomForest] \(x.rows) rows but \(y.count) labels")
        index = ClassIndex(y)
        let coded = index.encode(y), k = index.classes.count
        let features = maxFeatures ?? Swift.max(1, Int(Double(x.cols).squareRoot()))
        let draws = Draws(seed: seed)
        // Every tree's seed and sample are drawn here, in order, so the forest does not depend on the thread count.
        let seeds = (0..<trees).map { _ in draws.seed() }
        let samples = (0..<trees).map { _ in bootstrap ? draws.ints(below: x.rows, count: x.rows) : Array(0..<x.rows) }
        var built = [DecisionTreeClassifier?](repeating: nil, count: trees)
        let (criterion, maxDepth, minSamplesLeaf, classes) = (criterion, maxDepth, minSamplesLeaf, index.classes)
        built.withUnsafeMutableBufferPointer { out in
            Threading.parallelFor(trees, grain: 1) { lo, hi in
                for t in lo..<hi {
                    var tree = DecisionTreeClassifier(criterion: criterion, maxDepth: maxDepth, minSamplesLeaf: minSamplesLeaf,
                                                      maxFeatures: features, seed: seeds[t])
                    tree.fitCoded(x, coded, rows: samples[t], classCount: k, classes: classes)
                    out[t] = tree
                }
            }
        }
        estimators = built.map { $0! }
    }

    public func predictProbabilities(_ x: FeatureMatrix) -> FeatureMatrix {
        x.requireNoNaN("RandomForestClassifier.predictProbabilities")
        var p = FeatureMatrix(zerosRows: x.rows, cols: index.classes.count)
        for t in estimators {
            let q = t.probabilities(x)
            for i in 0..<p.values.count { p.values[i] += q.values[i] / Double(estimators.count) }
        }
        return p
    }

    public func predict(_ x: FeatureMatrix) -> [Int] {
        let p = predictProbabilities(x)
        return (0..<x.rows).map { index.classes[argmaxRow(p, $0)] }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
