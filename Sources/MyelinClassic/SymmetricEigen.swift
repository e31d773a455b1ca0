import MyelinCore

/// Eigenvalues and eigenvectors of a symmetric matrix: LAPACK's `dsyevd` from the BLAS library
/// (OpenBLAS on Linux, `LAPACK.symmetricEigen`), else cyclic Jacobi rotations of our own.
///
/// ```swift
/// let (values, vectors) = SymmetricEigen.decompose(FeatureMatrix([[2, 1], [1, 2]]))
/// values   // [3, 1], largest first; vectors' rows are the eigenvectors
/// ```
public enum SymmetricEigen {
    /// Eigenvalues sorted from largest, and the matching unit eigenvectors as rows.
    public static func decompose(_ a: FeatureMatrix, sweeps: Int = 100) -> (values: [Double], vectors: FeatureMatrix) {
        require(a.rows == a.cols, "[SymmetricEigen] the matrix is \(a.rows) x \(a.cols), not square")
        let n = a.rows
        if let (values, vectors) = LAPACK.symmetricEigen(a.values, n: n) {
            // Ascending from LAPACK; largest first here.
            let order = Array((0..<n).reversed())
            return (order.map { values[$0] }, FeatureMatrix(rows: n, cols: n, values: order.flatMap { vectors[($0 * n)..<($0 * n + n)] }))
        }
        return jacobi(a, sweeps: sweeps)
    }

    /// The same by cyclic Jacobi rotations (where no LAPACK is linked; tests compare the two).
    static func jacobi(_ a: FeatureMatrix, sweeps: Int = 100) -> (values: [Double], vectors: FeatureMatrix) {
        let n = a.rows
        var m = a.values
        var v = [Double](repeating: 0, count: n * n)
        for i in 0..<n { v[i * n + i] = 1 }
        for _ in 0..<sweeps {
            var off = 0.0, diag = 0.0
            for i in 0..<n {
                diag += m[i * n + i] * m[i * n + i]
                for j in (i + 1)..<max(n, i + 1) { off += m[i * n + j] * m[i * n + j] }
            }
            if off <= 1e-30 * diag || off == 0 { break }
            for p in 0..<n {
                for q in (p + 1)..<max(n, p + 1) {
                    let apq = m[p * n + q]
                    if apq == 0 { continue }
                    let theta = (m[q * n + q] - m[p * n + p]) / (2 * apq)
                    let t = (theta >= 0 ? 1 : -1) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    for k in 0..<n {
                        let mkp = m[k * n + p], mkq = m[k * n + q]
                        m[k * n + p] = c * mkp - s * mkq
                        m[k * n + q] = s * mkp + c * mkq
                    }
                    for k in 0..<n {
                        let mpk = m[p * n + k], mqk = m[q * n + k]
                        m[p * n + k] = c * mpk - s * mqk
                        m[q * n + k] = s * mpk + c * mqk
                    }
                    for k in 0..<n {
                        let vkp = v[k * n + p], vkq = v[k * n + q]
                        v[k * n + p] = c * vkp - s * vkq
                        v[k * n + q] = s * vkp + c * vkq
                    }
                }
            }
        }
        let order = (0..<n).sorted { m[$0 * n + $0] > m[$1 * n + $1] }
        var vectors = FeatureMatrix(zerosRows: n, cols: n)
        for (r, i) in order.enumerated() { for k in 0..<n { vectors[r, k] = v[k * n + i] } }
        return (order.map { m[$0 * n + $0] }, vectors)
    }
}
