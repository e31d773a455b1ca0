import MyelinCore

/// Scores of predictions and clusterings with scikit-learn's definitions.
///
/// ```swift
/// Metrics.accuracy([0, 1, 1], [0, 1, 0])                 // 0.666...
/// Metrics.adjustedRandIndex([0, 0, 1, 1], [1, 1, 0, 0])  // 1.0
/// Metrics.silhouetteScore(x, labels)
/// ```
public enum Metrics {
    /// Fraction of equal entries.
    public static func accuracy(_ truth: [Int], _ predicted: [Int]) -> Double {
        require(truth.count == predicted.count, "[accuracy] \(truth.count) labels against \(predicted.count) predictions")
        guard !truth.isEmpty else { return 0 }
        return Double(zip(truth, predicted).filter { $0 == $1 }.count) / Double(truth.count)
    }

    /// Coefficient of determination R² (1 − residual / total sum of squares).
    public static func r2(_ truth: [Double], _ predicted: [Double]) -> Double {
        require(truth.count == predicted.count, "[r2] \(truth.count) targets against \(predicted.count) predictions")
        let mean = truth.reduce(0, +) / Double(Swift.max(truth.count, 1))
        var res = 0.0, tot = 0.0
        for (t, p) in zip(truth, predicted) { res += (t - p) * (t - p); tot += (t - mean) * (t - mean) }
        return tot == 0 ? (res == 0 ? 1 : 0) : 1 - res / tot
    }

    /// Adjusted Rand index of two labelings (1 for the same partition, about 0 for random ones),
    /// from the pair confusion matrix as scikit-learn computes it.
    public static func adjustedRandIndex(_ a: [Int], _ b: [Int]) -> Double {
        require(a.count == b.count, "[adjustedRandIndex] \(a.count) labels against \(b.count)")
        let ca = ClassIndex(a), cb = ClassIndex(b)
        let ia = ca.encode(a), ib = cb.encode(b)
        let ka = ca.classes.count, kb = cb.classes.count
        var table = [Double](repeating: 0, count: ka * kb)
        for (x, y) in zip(ia, ib) { table[x * kb + y] += 1 }
        let n = Double(a.count)
        var rowSums = [Double](repeating: 0, count: ka), colSums = [Double](repeating: 0, count: kb), sumSquares = 0.0
        for i in 0..<ka { for j in 0..<kb { let v = table[i * kb + j]; rowSums[i] += v; colSums[j] += v; sumSquares += v * v } }
        var rowDot = 0.0, colDot = 0.0
        for i in 0..<ka { for j in 0..<kb { rowDot += table[i * kb + j] * colSums[j]; colDot += table[i * kb + j] * rowSums[i] } }
        let tp = sumSquares - n, fp = rowDot - sumSquares, fn = colDot - sumSquares
        let tn = n * n - fp - fn - sumSquares
        if fn == 0 && fp == 0 { return 1 }
        return 2 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn))
    }

    /// Mean silhouette coefficient with Euclidean distances: (b − a) / max(a, b) per sample, where a is the
    /// mean distance to the sample's own cluster and b the smallest mean distance to another; 0 for
    /// samples alone in their cluster. Needs 2 to n − 1 clusters.
    public static func silhouetteScore(_ x: FeatureMatrix, _ labels: [Int]) -> Double {
        silhouetteSamples(x, labels).reduce(0, +) / Double(Swift.max(labels.count, 1))
    }

    /// The silhouette coefficient of every sample (see `silhouetteScore`).
    public static func silhouetteSamples(_ x: FeatureMatrix, _ labels: [Int]) -> [Double] {
        require(labels.count == x.rows, "[silhouetteScore] \(labels.count) labels for \(x.rows) rows")
        let index = ClassIndex(labels), coded = index.encode(labels), k = index.classes.count
        require(k >= 2 && k <= x.rows - 1, "[silhouetteScore] needs 2 to \(x.rows - 1) clusters, got \(k)")
        var sizes = [Double](repeating: 0, count: k)
        for c in coded { sizes[c] += 1 }
        var out = [Double](repeating: 0, count: x.rows)
        let n = x.rows, d = x.cols
        out.withUnsafeMutableBufferPointer { res in
            x.values.withUnsafeBufferPointer { v in
                Threading.parallelFor(n, grain: 16) { lo, hi in
                    var sums = [Double](repeating: 0, count: k)
                    for i in lo..<hi {
                        for c in 0..<k { sums[c] = 0 }
                        for j in 0..<n where j != i {
                            var s = 0.0
                            for f in 0..<d { let t = v[i * d + f] - v[j * d + f]; s += t * t }
                            sums[coded[j]] += s.squareRoot()
                        }
                        let own = coded[i]
                        if sizes[own] <= 1 { res[i] = 0; continue }
                        let a = sums[own] / (sizes[own] - 1)
                        var b = Double.infinity
                        for c in 0..<k where c != own { b = Swift.min(b, sums[c] / sizes[c]) }
                        res[i] = (b - a) / Swift.max(a, b)
                    }
                }
            }
        }
        return out
    }
}
