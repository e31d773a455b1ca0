import CMyelinKernels

/// Dot products of many float64 rows with a few (`rowdots.c`): k-means' distances to its centres,
/// where a GEMM with ~10 columns spends its time packing the data. The same bits on every CPU.
package enum RowDots {
    /// out[i·k + j] = x_i · c_j for `rows` rows of `x` and `k` rows of `c`, `cols` values each,
    /// rows contiguous. Single-threaded: callers split the rows.
    ///
    /// ```swift
    /// RowDots.compute(x, rows: 256, centers: c, k: 10, cols: 784, into: out)
    /// ```
    package static func compute(_ x: UnsafePointer<Double>, rows: Int, centers c: UnsafePointer<Double>, k: Int, cols: Int,
                                into out: UnsafeMutablePointer<Double>) {
        compute(x, rows: rows, centers: c, k: k, cols: cols, into: out, isa: .auto)
    }

    /// The same with a chosen kernel (tests compare their bits).
    static func compute(_ x: UnsafePointer<Double>, rows: Int, centers c: UnsafePointer<Double>, k: Int, cols: Int,
                        into out: UnsafeMutablePointer<Double>, isa: PackedSgemm.ISA) {
        if myelin_row_dots(isa.rawValue, rows, k, cols, x, cols, c, cols, out) == 0 {
            fatalError("[rowDots] the \(isa) kernel cannot run on this CPU")
        }
    }
}
