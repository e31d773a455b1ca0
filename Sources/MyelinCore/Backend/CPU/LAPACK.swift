#if canImport(CBLAS)
import CBLAS
#endif

/// LAPACK routines from the BLAS library Myelin links (OpenBLAS on Linux exports them).
package enum LAPACK {
    /// Eigenvalues (ascending) and unit eigenvectors of a symmetric n x n matrix (row-major; only
    /// symmetry is assumed), by `dsyevd`: the eigenvectors are the rows of `vectors`. Nil where no
    /// LAPACK is linked (then callers use their own solver) or when it reports a failure.
    ///
    /// ```swift
    /// let (values, vectors) = LAPACK.symmetricEigen([2, 1, 1, 2], n: 2)!   // [1, 3]
    /// ```
    package static func symmetricEigen(_ a: [Double], n: Int) -> (values: [Double], vectors: [Double])? {
        #if canImport(CBLAS)
        require(a.count == n * n, "[LAPACK] \(a.count) values for a \(n) x \(n) matrix")
        if n == 0 { return ([], []) }
        // Row-major symmetric = column-major symmetric; on return column j (contiguous) is vector j.
        var m = a, w = [Double](repeating: 0, count: n)
        var nn = Int32(n), lda = Int32(n), info: Int32 = 0
        var lwork: Int32 = -1, liwork: Int32 = -1
        var workQuery = 0.0, iworkQuery: Int32 = 0
        dsyevd_("V", "U", &nn, &m, &lda, &w, &workQuery, &lwork, &iworkQuery, &liwork, &info, 1, 1)
        guard info == 0 else { return nil }
        lwork = Int32(workQuery)
        liwork = iworkQuery
        var work = [Double](repeating: 0, count: Int(lwork)), iwork = [Int32](repeating: 0, count: Int(liwork))
        dsyevd_("V", "U", &nn, &m, &lda, &w, &work, &lwork, &iwork, &liwork, &info, 1, 1)
        return info == 0 ? (w, m) : nil
        #else
        return nil
        #endif
    }
}
