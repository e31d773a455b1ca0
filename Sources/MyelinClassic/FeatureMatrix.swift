import MyelinCore

/// A dense row-major matrix of `Double`s: the samples (rows) and features (columns) every classic model reads.
///
/// ```swift
/// let x = FeatureMatrix([[1, 2], [3, 4]])
/// x[1, 0]                       // 3
/// let y = FeatureMatrix(Tensor.randn([10, 4]))
/// ```
public struct FeatureMatrix: Codable, Sendable, Equatable {
    /// Number of samples.
    public let rows: Int
    /// Number of features.
    public let cols: Int
    /// The values, row after row.
    public var values: [Double]

    /// A matrix from its values in row-major order.
    public init(rows: Int, cols: Int, values: [Double]) {
        require(rows >= 0 && cols >= 0 && values.count == rows * cols,
                     "[FeatureMatrix] \(values.count) values do not fill \(rows) x \(cols)")
        (self.rows, self.cols, self.values) = (rows, cols, values)
    }

    /// A matrix of zeros.
    public init(zerosRows rows: Int, cols: Int) { self.init(rows: rows, cols: cols, values: [Double](repeating: 0, count: rows * cols)) }

    /// A matrix from nested rows of equal length.
    public init(_ rowList: [[Double]]) {
        let c = rowList.first?.count ?? 0
        require(rowList.allSatisfy { $0.count == c }, "[FeatureMatrix] rows have different lengths")
        self.init(rows: rowList.count, cols: c, values: rowList.flatMap { $0 })
    }

    /// A matrix from a rank-2 tensor of any numeric dtype (converted to float64).
    public init(_ tensor: Tensor) {
        require(tensor.rank == 2, "[FeatureMatrix] expected a rank-2 tensor [samples, features], got shape \(tensor.shape)")
        self.init(rows: tensor.shape[0], cols: tensor.shape[1], values: tensor.doubles)
    }

    /// The element in row `i`, column `j`.
    @inlinable public subscript(i: Int, j: Int) -> Double {
        get { values[i * cols + j] }
        set { values[i * cols + j] = newValue }
    }

    /// Row `i` as a slice of `values`.
    public func row(_ i: Int) -> ArraySlice<Double> { values[(i * cols)..<((i + 1) * cols)] }

    /// The rows at `indices`, in that order.
    public func rows(_ indices: [Int]) -> FeatureMatrix {
        var out = [Double]()
        out.reserveCapacity(indices.count * cols)
        for i in indices { out.append(contentsOf: row(i)) }
        return FeatureMatrix(rows: indices.count, cols: cols, values: out)
    }

    /// The matrix as a float64 tensor of shape [rows, cols].
    public var tensor: Tensor { Tensor(shape: [rows, cols], scalars: values) }

    /// Nested rows, for printing and JSON.
    public var rowArrays: [[Double]] { (0..<rows).map { Array(row($0)) } }

    /// Squared Euclidean norm of every row.
    func squaredRowNorms() -> [Double] {
        (0..<rows).map { i in
            var s = 0.0
            for j in 0..<cols { let v = values[i * cols + j]; s += v * v }
            return s
        }
    }

    /// Mean of every column.
    func columnMeans() -> [Double] {
        var m = [Double](repeating: 0, count: cols)
        for i in 0..<rows { for j in 0..<cols { m[j] += values[i * cols + j] } }
        return m.map { $0 / Double(Swift.max(rows, 1)) }
    }

    /// Population variance (ddof 0) of every column.
    func columnVariances() -> [Double] {
        let m = columnMeans()
        var v = [Double](repeating: 0, count: cols)
        for i in 0..<rows { for j in 0..<cols { let d = values[i * cols + j] - m[j]; v[j] += d * d } }
        return v.map { $0 / Double(Swift.max(rows, 1)) }
    }
}

/// Products and distances of feature matrices through BLAS (`Tensor.matmul`, split over Myelin's threads).
enum Products {
    /// `a · bᵀ`, a.rows x b.rows, row-major.
    static func abT(_ a: FeatureMatrix, _ b: FeatureMatrix) -> [Double] {
        require(a.cols == b.cols, "[distances] \(a.cols) features against \(b.cols)")
        if a.rows == 0 || b.rows == 0 { return [] }
        return a.tensor.matmul(b.tensor.T).scalars(as: Double.self)
    }

    /// Squared Euclidean distances a.rows x b.rows as ‖a‖² − 2a·b + ‖b‖², clipped at 0.
    static func squaredDistances(_ a: FeatureMatrix, _ b: FeatureMatrix, aNorms: [Double]? = nil, bNorms: [Double]? = nil) -> [Double] {
        var d = abT(a, b)
        let an = aNorms ?? a.squaredRowNorms(), bn = bNorms ?? b.squaredRowNorms()
        let m = b.rows
        d.withUnsafeMutableBufferPointer { p in
            Threading.parallelFor(a.rows, grain: Swift.max(1, 4096 / Swift.max(m, 1))) { lo, hi in
                for i in lo..<hi {
                    for j in 0..<m { p[i * m + j] = Swift.max(an[i] - 2 * p[i * m + j] + bn[j], 0) }
                }
            }
        }
        return d
    }
}

/// Classes seen in training: sorted distinct labels and the index of each label, as scikit-learn's `classes_`.
struct ClassIndex: Codable, Sendable, Equatable {
    let classes: [Int]
    init(_ labels: [Int]) { classes = Array(Set(labels)).sorted() }
    func encode(_ labels: [Int]) -> [Int] {
        var map = [Int: Int]()
        for (i, c) in classes.enumerated() { map[c] = i }
        return labels.map { l in
            guard let i = map[l] else { fatalError("[classes] label \(l) was not seen in training (classes \(classes))") }
            return i
        }
    }
}

/// log Σ exp over a row, stable.
@inline(__always)
func logSumExp(_ v: ArraySlice<Double>) -> Double {
    guard let m = v.max(), m.isFinite else { return v.max() ?? -.infinity }
    var s = 0.0
    for x in v { s += exp(x - m) }
    return m + log(s)
}

/// Rows of log-likelihoods turned into probabilities (softmax of each row).
func normalizedProbabilities(_ jll: FeatureMatrix) -> FeatureMatrix {
    var p = jll
    for i in 0..<jll.rows {
        let lse = logSumExp(jll.row(i))
        for j in 0..<jll.cols { p[i, j] = exp(jll[i, j] - lse) }
    }
    return p
}

/// The index of the first largest value of row `i` (NumPy's argmax).
func argmaxRow(_ m: FeatureMatrix, _ i: Int) -> Int {
    var best = 0
    for j in 1..<Swift.max(m.cols, 1) where m[i, j] > m[i, best] { best = j }
    return best
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension FeatureMatrix {
    /// Traps when a value is NaN: the models' arithmetic would carry it silently into every
    /// distance, count or split (the command reads missing cells its own way before this).
    func requireNoNaN(_ op: @autoclosure () -> String) {
        if let i = values.firstIndex(where: \.isNaN) {
            fatalError("[\(op())] the features hold NaN at row \(i / Swift.max(cols, 1)), column \(i % Swift.max(cols, 1)): fill or drop missing values first")
        }
    }
}
