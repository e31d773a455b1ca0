import MyelinCore

/// Shared by the naive Bayes classifiers: a joint log-likelihood per class, turned into labels and probabilities.
protocol NaiveBayesModel: ProbabilisticClassifier {
    var index: ClassIndex { get }
    /// log P(class) + log P(row | class), [rows, classes].
    func jointLogLikelihood(_ x: FeatureMatrix) -> FeatureMatrix
}

extension NaiveBayesModel {
    public var classes: [Int] { index.classes }
    public func predictProbabilities(_ x: FeatureMatrix) -> FeatureMatrix {
        x.requireNoNaN("\(Self.self).predictProbabilities")
        return normalizedProbabilities(jointLogLikelihood(x))
    }
    public func predict(_ x: FeatureMatrix) -> [Int] {
        x.requireNoNaN("\(Self.self).predict")
        let j = jointLogLikelihood(x)
        return (0..<x.rows).map { index.classes[argmaxRow(j, $0)] }
    }
    /// Log of `predictProbabilities`.
    public func predictLogProbabilities(_ x: FeatureMatrix) -> FeatureMatrix {
        x.requireNoNaN("\(Self.self).predictLogProbabilities")
        var j = jointLogLikelihood(x)
        for i in 0..<j.rows { let l = logSumExp(j.row(i)); for c in 0..<j.cols { j[i, c] -= l } }
        return j
    }
}

/// Per-class feature sums and class counts, the statistics of the count models.
private func classSums(_ x: FeatureMatrix, _ coded: [Int], classes: Int) -> (sums: FeatureMatrix, counts: [Double]) {
    var sums = FeatureMatrix(zerosRows: classes, cols: x.cols), counts = [Double](repeating: 0, count: classes)
    for i in 0..<x.rows {
        counts[coded[i]] += 1
        for j in 0..<x.cols { sums[coded[i], j] += x[i, j] }
    }
    return (sums, counts)
}

/// `x · wᵀ + bias` through BLAS, [rows, classes].
private func linearScores(_ x: FeatureMatrix, _ w: FeatureMatrix, _ bias: [Double]) -> FeatureMatrix {
    var out = FeatureMatrix(rows: x.rows, cols: w.rows, values: Products.abT(x, w))
    for i in 0..<x.rows { for c in 0..<w.rows { out[i, c] += bias[c] } }
    return out
}

/// Multinomial naive Bayes for counts (word counts, say), with additive (Laplace/Lidstone) smoothing `alpha`.
///
/// ```swift
/// var nb = MultinomialNB(alpha: 1)
/// nb.fit(wordCounts, labels)
/// nb.predictProbabilities(wordCounts)
/// ```
public struct MultinomialNB: NaiveBayesModel {
    /// Added to every feature count.
    public var alpha: Double
    var index = ClassIndex([])
    /// log P(feature | class), [classes, features].
    public private(set) var featureLogProbabilities = FeatureMatrix(zerosRows: 0, cols: 0)
    /// log P(class).
    public private(set) var classLogPrior: [Double] = []

    /// A model with smoothing `alpha`.
    public init(alpha: Double = 1) { self.alpha = alpha }

    public mutating func fit(_ x: FeatureMatrix, _ y: [Int]) {
        x.requireNoNaN("MultinomialNB.fit")
        require(x.rows == y.count, "[MultinomialNB] \(x.rows) rows but \(y.count) labels")
        require(!x.values.contains { $0 < 0 }, "[MultinomialNB] counts must not be negative")
        index = ClassIndex(y)
        let (sums, counts) = classSums(x, index.encode(y), classes: index.classes.count)
        var flp = sums
        for c in 0..<sums.rows {
            var total = 0.0
            for j in 0..<sums.cols { total += sums[c, j] + alpha }
            for j in 0..<sums.cols { flp[c, j] = log(sums[c, j] + alpha) - log(total) }
        }
        featureLogProbabilities = flp
        classLogPrior = counts.map { log($0) - log(Double(x.rows)) }
    }

    func jointLogLikelihood(_ x: FeatureMatrix) -> FeatureMatrix { linearScores(x, featureLogProbabilities, classLogPrior) }
}

/// Bernoulli naive Bayes for binary features: values above `binarize` count as present.
///
/// ```swift
/// var nb = BernoulliNB(alpha: 1, binarize: 0)
/// nb.fit(wordCounts, labels)
/// ```
public struct BernoulliNB: NaiveBayesModel {
    /// Added to every count.
    public var alpha: Double
    /// Threshold above which a feature is present; nil when the data is already 0/1.
    public var binarize: Double?
    var index = ClassIndex([])
    /// log P(feature present | class), [classes, features].
    public private(set) var featureLogProbabilities = FeatureMatrix(zerosRows: 0, cols: 0)
    /// log P(class).
    public private(set) var classLogPrior: [Double] = []

    /// A model with smoothing `alpha` and threshold `binarize`.
    public init(alpha: Double = 1, binarize: Double? = 0) { (self.alpha, self.binarize) = (alpha, binarize) }

    private func binarized(_ x: FeatureMatrix) -> FeatureMatrix {
        guard let t = binarize else { return x }
        return FeatureMatrix(rows: x.rows, cols: x.cols, values: x.values.map { $0 > t ? 1 : 0 })
    }

    public mutating func fit(_ x: FeatureMatrix, _ y: [Int]) {
        x.requireNoNaN("BernoulliNB.fit")
        require(x.rows == y.count, "[BernoulliNB] \(x.rows) rows but \(y.count) labels")
        index = ClassIndex(y)
        let (sums, counts) = classSums(binarized(x), index.encode(y), classes: index.classes.count)
        var flp = sums
        for c in 0..<sums.rows { for j in 0..<sums.cols { flp[c, j] = log(sums[c, j] + alpha) - log(counts[c] + 2 * alpha) } }
        featureLogProbabilities = flp
        classLogPrior = counts.map { log($0) - log(Double(x.rows)) }
    }

    func jointLogLikelihood(_ x: FeatureMatrix) -> FeatureMatrix {
        var w = featureLogProbabilities
        var bias = classLogPrior
        for c in 0..<w.rows {
            for j in 0..<w.cols {
                let neg = log(1 - exp(featureLogProbabilities[c, j]))
                w[c, j] -= neg
                bias[c] += neg
            }
        }
        return linearScores(binarized(x), w, bias)
    }
}

/// Gaussian naive Bayes: a normal distribution per class and feature; `varSmoothing` times the largest
/// feature variance is added to every variance.
///
/// ```swift
/// var nb = GaussianNB()
/// nb.fit(iris, species)
/// ```
public struct GaussianNB: NaiveBayesModel {
    /// Share of the largest feature variance added to all variances.
    public var varSmoothing: Double
    var index = ClassIndex([])
    /// Mean of every feature per class, [classes, features].
    public private(set) var means = FeatureMatrix(zerosRows: 0, cols: 0)
    /// Variance of every feature per class (smoothed), [classes, features].
    public private(set) var variances = FeatureMatrix(zerosRows: 0, cols: 0)
    /// P(class).
    public private(set) var classPrior: [Double] = []

    /// A model with variance smoothing `varSmoothing`.
    public init(varSmoothing: Double = 1e-9) { self.varSmoothing = varSmoothing }

    public mutating func fit(_ x: FeatureMatrix, _ y: [Int]) {
        x.requireNoNaN("GaussianNB.fit")
        require(x.rows == y.count, "[GaussianNB] \(x.rows) rows but \(y.count) labels")
        index = ClassIndex(y)
        let coded = index.encode(y), k = index.classes.count
        let epsilon = varSmoothing * (x.columnVariances().max() ?? 0)
        var (sums, counts) = classSums(x, coded, classes: k)
        for c in 0..<k { for j in 0..<x.cols { sums[c, j] /= counts[c] } }
        var v = FeatureMatrix(zerosRows: k, cols: x.cols)
        for i in 0..<x.rows { for j in 0..<x.cols { let d = x[i, j] - sums[coded[i], j]; v[coded[i], j] += d * d } }
        for c in 0..<k { for j in 0..<x.cols { v[c, j] = v[c, j] / counts[c] + epsilon } }
        (means, variances) = (sums, v)
        classPrior = counts.map { $0 / Double(x.rows) }
    }

    func jointLogLikelihood(_ x: FeatureMatrix) -> FeatureMatrix {
        let k = means.rows
        var out = FeatureMatrix(zerosRows: x.rows, cols: k)
        for c in 0..<k {
            var constant = log(classPrior[c])
            for j in 0..<x.cols { constant -= 0.5 * log(2 * Double.pi * variances[c, j]) }
            for i in 0..<x.rows {
                var s = 0.0
                for j in 0..<x.cols { let d = x[i, j] - means[c, j]; s += d * d / variances[c, j] }
                out[i, c] = constant - 0.5 * s
            }
        }
        return out
    }
}

/// Categorical naive Bayes: every feature holds a category 0, 1, 2, ... (a whole number); smoothing `alpha`.
///
/// ```swift
/// var nb = CategoricalNB(alpha: 1)
/// nb.fit(FeatureMatrix([[0, 2], [1, 0], [1, 1]]), [0, 1, 1])
/// ```
public struct CategoricalNB: NaiveBayesModel {
    /// Added to every category count.
    public var alpha: Double
    var index = ClassIndex([])
    /// Per feature: log P(category | class), [classes, categories of that feature].
    public private(set) var featureLogProbabilities: [FeatureMatrix] = []
    /// log P(class).
    public private(set) var classLogPrior: [Double] = []

    /// A model with smoothing `alpha`.
    public init(alpha: Double = 1) { self.alpha = alpha }

    public mutating func fit(_ x: FeatureMatrix, _ y: [Int]) {
        x.requireNoNaN("CategoricalNB.fit")
        require(x.rows == y.count, "[CategoricalNB] \(x.rows) rows but \(y.count) labels")
        require(x.values.allSatisfy { $0 >= 0 && $0 == $0.rounded() }, "[CategoricalNB] categories must be whole numbers from 0")
        index = ClassIndex(y)
        let coded = index.encode(y), k = index.classes.count
        var counts = [Double](repeating: 0, count: k)
        for c in coded { counts[c] += 1 }
        featureLogProbabilities = (0..<x.cols).map { j in
            let categories = Int((0..<x.rows).map { x[$0, j] }.max() ?? 0) + 1
            var t = FeatureMatrix(zerosRows: k, cols: categories)
            for i in 0..<x.rows { t[coded[i], Int(x[i, j])] += 1 }
            for c in 0..<k {
                let denominator = log(counts[c] + alpha * Double(categories))
                for v in 0..<categories { t[c, v] = log(t[c, v] + alpha) - denominator }
            }
            return t
        }
        classLogPrior = counts.map { log($0) - log(Double(x.rows)) }
    }

    func jointLogLikelihood(_ x: FeatureMatrix) -> FeatureMatrix {
        var out = FeatureMatrix(zerosRows: x.rows, cols: classLogPrior.count)
        for i in 0..<x.rows {
            for c in 0..<classLogPrior.count {
                var s = classLogPrior[c]
                for j in 0..<x.cols {
                    let v = Int(x[i, j]), table = featureLogProbabilities[j]
                    require(v >= 0 && v < table.cols, "[CategoricalNB] feature \(j) has category \(v), training saw 0..<\(table.cols)")
                    s += table[c, v]
                }
                out[i, c] = s
            }
        }
        return out
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
