import MyelinCore

/// A model that learns integer class labels from feature rows (scikit-learn's classifier interface).
///
/// ```swift
/// var model = KNearestNeighborsClassifier(k: 3)
/// model.fit(x, y)
/// let labels = model.predict(xTest)
/// let accuracy = model.score(xTest, yTest)
/// ```
public protocol Classifier: Codable, Sendable {
    /// Learns from `x` (one row per sample) and the labels `y`.
    mutating func fit(_ x: FeatureMatrix, _ y: [Int])
    /// The predicted label of every row.
    func predict(_ x: FeatureMatrix) -> [Int]
}

/// A classifier that also gives class probabilities, one column per entry of `classes` (sorted labels).
public protocol ProbabilisticClassifier: Classifier {
    /// The labels seen in training, sorted: the columns of `predictProbabilities`.
    var classes: [Int] { get }
    /// Probability of every class for every row, [rows, classes].
    func predictProbabilities(_ x: FeatureMatrix) -> FeatureMatrix
}

/// A model that learns real targets from feature rows.
///
/// ```swift
/// var model = DecisionTreeRegressor(maxDepth: 4)
/// model.fit(x, targets)
/// model.score(x, targets)   // R²
/// ```
public protocol Regressor: Codable, Sendable {
    /// Learns from `x` and the targets `y`.
    mutating func fit(_ x: FeatureMatrix, _ y: [Double])
    /// The predicted target of every row.
    func predict(_ x: FeatureMatrix) -> [Double]
}

/// A model that groups rows without labels (k-means, mixtures).
///
/// ```swift
/// var km = KMeans(k: 3, seed: 0)
/// km.fit(x)
/// km.predict(x)
/// ```
public protocol Clusterer: Codable, Sendable {
    /// Learns the clusters of `x`.
    mutating func fit(_ x: FeatureMatrix)
    /// The cluster of every row.
    func predict(_ x: FeatureMatrix) -> [Int]
}

extension Classifier {
    /// Accuracy of `predict(x)` against `y` (scikit-learn's `score`).
    public func score(_ x: FeatureMatrix, _ y: [Int]) -> Double { Metrics.accuracy(y, predict(x)) }

    /// `fit` on a tensor of features and a tensor of integer labels.
    public mutating func fit(_ x: Tensor, _ y: Tensor) { fit(FeatureMatrix(x), y.ints) }
}

extension Regressor {
    /// Coefficient of determination R² of `predict(x)` against `y` (scikit-learn's `score`).
    public func score(_ x: FeatureMatrix, _ y: [Double]) -> Double { Metrics.r2(y, predict(x)) }
}

extension Clusterer {
    /// `fit` then the clusters of the same rows (scikit-learn's `fit_predict`).
    public mutating func fitPredict(_ x: FeatureMatrix) -> [Int] {
        fit(x)
        return predict(x)
    }
}
