import MyelinCore

/// A mixture of Gaussians fitted by expectation-maximisation (scikit-learn's `GaussianMixture`), with full,
/// diagonal or spherical covariances, started from k-means (seeded) or from given weights, means and precisions.
///
/// ```swift
/// var gm = GaussianMixture(components: 3, covariance: .full, seed: 0)
/// gm.fit(x)
/// gm.predictProbabilities(x)    // soft membership, [rows, 3]
/// gm.score(x)                   // mean log-likelihood per row
/// gm.bic(x)
/// ```
public struct GaussianMixture: Clusterer {
    /// The shape of every component's covariance.
    public enum CovarianceType: String, Codable, Sendable {
        /// A full d x d matrix per component.
        case full
        /// A diagonal per component.
        case diagonal
        /// One variance per component.
        case spherical
    }

    /// A starting point: weights, means and precisions (inverse covariances, in the type's shape:
    /// d x d, d, or 1 value per component).
    public struct Start: Codable, Sendable {
        public var weights: [Double]
        public var means: FeatureMatrix
        public var precisions: [[Double]]
        /// A start from its parts.
        public init(weights: [Double], means: FeatureMatrix, precisions: [[Double]]) {
            (self.weights, self.means, self.precisions) = (weights, means, precisions)
        }
    }

    /// Number of Gaussians.
    public var components: Int
    /// Covariance shape.
    public var covariance: CovarianceType
    /// Added to the covariances' diagonals.
    public var regCovar: Double
    /// Stop when the mean log-likelihood changes by less.
    public var tol: Double
    /// Most EM iterations.
    public var maxIter: Int
    /// Seed of the k-means start.
    public var seed: UInt64
    /// A given start instead of k-means.
    public var start: Start?

    /// Mixing weights.
    public private(set) var weights: [Double] = []
    /// Means, [components, features].
    public private(set) var means = FeatureMatrix(zerosRows: 0, cols: 0)
    /// Covariances as full d x d matrices, one per component (diagonal and spherical ones expanded).
    public private(set) var covariances: [FeatureMatrix] = []
    /// Whether the change fell below `tol` within `maxIter` iterations.
    public private(set) var converged = false
    /// EM iterations run.
    public private(set) var iterations = 0
    /// Mean log-likelihood of the training rows at the last E-step.
    public private(set) var lowerBound = -Double.infinity

    /// A mixture of `components` Gaussians.
    public init(components: Int, covariance: CovarianceType = .full, regCovar: Double = 1e-6, tol: Double = 1e-3,
                maxIter: Int = 100, seed: UInt64 = 0, start: Start? = nil) {
        require(components >= 1 && maxIter >= 1, "[GaussianMixture] components and maxIter must be positive")
        (self.components, self.covariance, self.regCovar, self.tol, self.maxIter, self.seed, self.start) =
            (components, covariance, regCovar, tol, maxIter, seed, start)
    }

    public mutating func fit(_ x: FeatureMatrix) {
        x.requireNoNaN("GaussianMixture.fit")
        require(components <= x.rows, "[GaussianMixture] \(components) components exceed the \(x.rows) rows")
        let d = x.cols
        if let s = start {
            require(s.weights.count == components && s.means.rows == components && s.means.cols == d && s.precisions.count == components,
                         "[GaussianMixture] the start does not have \(components) components of \(d) features")
            weights = s.weights
            means = s.means
            covariances = s.precisions.map { p in
                switch covariance {
                case .full: return Cholesky.inverse(FeatureMatrix(rows: d, cols: d, values: p))
                case .diagonal:
                    var m = FeatureMatrix(zerosRows: d, cols: d)
                    for j in 0..<d { m[j, j] = 1 / p[j] }
                    return m
                case .spherical:
                    var m = FeatureMatrix(zerosRows: d, cols: d)
                    for j in 0..<d { m[j, j] = 1 / p[0] }
                    return m
                }
            }
        } else {
            var km = KMeans(k: components, nInit: 1, seed: seed)
            km.fit(x)
            var resp = FeatureMatrix(zerosRows: x.rows, cols: components)
            for (i, c) in km.labels.enumerated() { resp[i, c] = 1 }
            mStep(x, resp)
        }
        lowerBound = -.infinity
        converged = false
        iterations = 0
        for it in 1...maxIter {
            iterations = it
            let previous = lowerBound
            let (logNorm, resp) = eStep(x)
            mStep(x, resp)
            lowerBound = logNorm
            if abs(lowerBound - previous) < tol { converged = true; break }
        }
    }

    /// log of weight × density of every row under every component, [rows, components].
    func weightedLogDensities(_ x: FeatureMatrix) -> FeatureMatrix {
        require(!weights.isEmpty, "[GaussianMixture] used before fit")
        require(x.cols == means.cols, "[GaussianMixture] rows have \(x.cols) features, fitted \(means.cols)")
        let d = x.cols
        var out = FeatureMatrix(zerosRows: x.rows, cols: components)
        for c in 0..<components {
            let l = Cholesky.lower(covariances[c])
            var logDet = 0.0
            for j in 0..<d { logDet += 2 * log(l[j, j]) }
            let constant = log(weights[c]) - 0.5 * (Double(d) * log(2 * Double.pi) + logDet)
            var z = [Double](repeating: 0, count: d)
            for i in 0..<x.rows {
                // Solve L z = x − μ; the Mahalanobis distance is ‖z‖².
                var s = 0.0
                for j in 0..<d {
                    var v = x[i, j] - means[c, j]
                    for t in 0..<j { v -= l[j, t] * z[t] }
                    z[j] = v / l[j, j]
                    s += z[j] * z[j]
                }
                out[i, c] = constant - 0.5 * s
            }
        }
        return out
    }

    /// Mean log-likelihood and responsibilities.
    private func eStep(_ x: FeatureMatrix) -> (Double, FeatureMatrix) {
        var w = weightedLogDensities(x)
        var total = 0.0
        for i in 0..<x.rows {
            let lse = logSumExp(w.row(i))
            total += lse
            for c in 0..<components { w[i, c] = exp(w[i, c] - lse) }
        }
        return (total / Double(x.rows), w)
    }

    private mutating func mStep(_ x: FeatureMatrix, _ resp: FeatureMatrix) {
        let d = x.cols, n = x.rows
        var nk = [Double](repeating: 10 * Double.ulpOfOne, count: components)
        for i in 0..<n { for c in 0..<components { nk[c] += resp[i, c] } }
        var mu = FeatureMatrix(rows: components, cols: d, values: resp.tensor.T.matmul(x.tensor).scalars(as: Double.self))
        for c in 0..<components { for j in 0..<d { mu[c, j] /= nk[c] } }
        var covs: [FeatureMatrix] = []
        for c in 0..<components {
            var cov = FeatureMatrix(zerosRows: d, cols: d)
            for i in 0..<n {
                let r = resp[i, c]
                if r == 0 { continue }
                for a in 0..<d {
                    let da = x[i, a] - mu[c, a]
                    for b in 0...a { cov[a, b] += r * da * (x[i, b] - mu[c, b]) }
                }
            }
            for a in 0..<d { for b in 0...a { cov[a, b] /= nk[c]; cov[b, a] = cov[a, b] } }
            switch covariance {
            case .full:
                for a in 0..<d { cov[a, a] += regCovar }
            case .diagonal:
                var m = FeatureMatrix(zerosRows: d, cols: d)
                for a in 0..<d { m[a, a] = cov[a, a] + regCovar }
                cov = m
            case .spherical:
                var v = 0.0
                for a in 0..<d { v += cov[a, a] + regCovar }
                var m = FeatureMatrix(zerosRows: d, cols: d)
                for a in 0..<d { m[a, a] = v / Double(d) }
                cov = m
            }
            covs.append(cov)
        }
        let total = nk.reduce(0, +)
        weights = nk.map { $0 / total }
        means = mu
        covariances = covs
    }

    /// Soft membership: the probability of every component for every row, [rows, components].
    public func predictProbabilities(_ x: FeatureMatrix) -> FeatureMatrix {
        x.requireNoNaN("GaussianMixture.predictProbabilities")
        return normalizedProbabilities(weightedLogDensities(x))
    }

    /// The most probable component of every row.
    public func predict(_ x: FeatureMatrix) -> [Int] {
        x.requireNoNaN("GaussianMixture.predict")
        let w = weightedLogDensities(x)
        return (0..<x.rows).map { argmaxRow(w, $0) }
    }

    /// Log-likelihood of every row.
    public func scoreSamples(_ x: FeatureMatrix) -> [Double] {
        x.requireNoNaN("GaussianMixture.scoreSamples")
        let w = weightedLogDensities(x)
        return (0..<x.rows).map { logSumExp(w.row($0)) }
    }

    /// Mean log-likelihood of the rows.
    public func score(_ x: FeatureMatrix) -> Double { scoreSamples(x).reduce(0, +) / Double(x.rows) }

    /// Free parameters: covariances, means and weights.
    public var parameterCount: Int {
        let d = means.cols
        let cov: Int
        switch covariance {
        case .full: cov = components * d * (d + 1) / 2
        case .diagonal: cov = components * d
        case .spherical: cov = components
        }
        return cov + components * d + components - 1
    }

    /// Bayesian information criterion on `x` (lower is better).
    public func bic(_ x: FeatureMatrix) -> Double { -2 * score(x) * Double(x.rows) + Double(parameterCount) * log(Double(x.rows)) }

    /// Akaike information criterion on `x` (lower is better).
    public func aic(_ x: FeatureMatrix) -> Double { -2 * score(x) * Double(x.rows) + 2 * Double(parameterCount) }
}

/// Cholesky factors of symmetric positive-definite matrices.
enum Cholesky {
    /// L with L Lᵀ = a.
    static func lower(_ a: FeatureMatrix) -> FeatureMatrix {
        let n = a.rows
        var l = FeatureMatrix(zerosRows: n, cols: n)
        for j in 0..<n {
            var s = a[j, j]
            for t in 0..<j { s -= l[j, t] * l[j, t] }
            require(s > 0, "[GaussianMixture] a covariance is not positive definite; raise regCovar")
            l[j, j] = s.squareRoot()
            for i in (j + 1)..<max(n, j + 1) {
                var v = a[i, j]
                for t in 0..<j { v -= l[i, t] * l[j, t] }
                l[i, j] = v / l[j, j]
            }
        }
        return l
    }

    /// The inverse of a.
    static func inverse(_ a: FeatureMatrix) -> FeatureMatrix {
        let n = a.rows, l = lower(a)
        var inv = FeatureMatrix(zerosRows: n, cols: n)
        for col in 0..<n {
            var y = [Double](repeating: 0, count: n)
            for i in 0..<n {
                var v = i == col ? 1.0 : 0.0
                for t in 0..<i { v -= l[i, t] * y[t] }
                y[i] = v / l[i, i]
            }
            var xs = [Double](repeating: 0, count: n)
            for i in stride(from: n - 1, through: 0, by: -1) {
                var v = y[i]
                for t in (i + 1)..<n { v -= l[t, i] * xs[t] }
                xs[i] = v / l[i, i]
            }
            for i in 0..<n { inv[i, col] = xs[i] }
        }
        return inv
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
