import MyelinCore

/// Principal component analysis (scikit-learn's `PCA`): the eigenvectors of the covariance matrix
/// (Jacobi, `SymmetricEigen`), each signed so its largest entry is positive, as scikit-learn's `svd_flip`.
///
/// ```swift
/// var pca = PCA(components: 2)
/// pca.fit(x)
/// let z = pca.transform(x)              // [rows, 2]
/// pca.explainedVarianceRatio            // share of the variance of each component
/// let back = pca.inverseTransform(z)
/// ```
public struct PCA: Codable, Sendable {
    /// Components kept (nil: all).
    public var components: Int?
    /// Per-feature means of the training data.
    public private(set) var mean: [Double] = []
    /// The principal axes as rows, [components, features].
    public private(set) var componentVectors = FeatureMatrix(zerosRows: 0, cols: 0)
    /// Variance along each component (ddof 1).
    public private(set) var explainedVariance: [Double] = []
    /// Share of the total variance along each component.
    public private(set) var explainedVarianceRatio: [Double] = []

    /// A PCA keeping `components` axes.
    public init(components: Int? = nil) { self.components = components }

    /// Learns the mean and the axes of `x`.
    public mutating func fit(_ x: FeatureMatrix) {
        x.requireNoNaN("PCA.fit")
        let d = x.cols, keep = components ?? Swift.min(x.rows, d)
        require(keep >= 1 && keep <= Swift.min(x.rows, d), "[PCA] \(keep) components for \(x.rows) rows of \(d) features")
        require(x.rows >= 2, "[PCA] needs at least 2 rows, got \(x.rows)")
        mean = x.columnMeans()
        var centered = x
        for i in 0..<x.rows { for j in 0..<d { centered[i, j] -= mean[j] } }
        let t = centered.tensor
        var covariance = FeatureMatrix(rows: d, cols: d, values: t.T.matmul(t).scalars(as: Double.self))
        for i in 0..<(d * d) { covariance.values[i] /= Double(x.rows - 1) }
        var (values, vectors) = SymmetricEigen.decompose(covariance)
        values = values.map { Swift.max($0, 0) }
        for r in 0..<d {
            var big = 0
            for k in 0..<d where abs(vectors[r, k]) > abs(vectors[r, big]) { big = k }
            if vectors[r, big] < 0 { for k in 0..<d { vectors[r, k] = -vectors[r, k] } }
        }
        let total = values.reduce(0, +)
        componentVectors = vectors.rows(Array(0..<keep))
        explainedVariance = Array(values.prefix(keep))
        explainedVarianceRatio = explainedVariance.map { total > 0 ? $0 / total : 0 }
    }

    /// Coordinates of `x`'s rows along the components, [rows, components].
    public func transform(_ x: FeatureMatrix) -> FeatureMatrix {
        x.requireNoNaN("PCA.transform")
        require(x.cols == mean.count, "[PCA] rows have \(x.cols) features, fitted \(mean.count)")
        var c = x
        for i in 0..<x.rows { for j in 0..<x.cols { c[i, j] -= mean[j] } }
        return FeatureMatrix(rows: x.rows, cols: componentVectors.rows, values: Products.abT(c, componentVectors))
    }

    /// Points in feature space from their coordinates along the components.
    public func inverseTransform(_ z: FeatureMatrix) -> FeatureMatrix {
        require(z.cols == componentVectors.rows, "[PCA] \(z.cols) coordinates, fitted \(componentVectors.rows) components")
        var out = FeatureMatrix(rows: z.rows, cols: mean.count, values: z.tensor.matmul(componentVectors.tensor).scalars(as: Double.self))
        for i in 0..<z.rows { for j in 0..<mean.count { out[i, j] += mean[j] } }
        return out
    }
}
