import CMyelinKernels

/// Myelin's own float64 matrix product (`CMyelinKernels/dgemm.c`): `PackedSgemm`'s packing and
/// blocking with AVX-512 (12x16) or AVX2+FMA (6x8) microkernels, chosen at run time.
///
/// Debian's OpenBLAS 0.3.21 runs its SSE3 dgemm on these CPUs (kNN of MNIST in float64 took 62 s
/// against scikit-learn's 13 s). As in float32, each element of C is one chain of fused
/// multiply-adds in increasing k: the same bits on any number of threads and with any microkernel.
enum PackedDgemm {
    /// Which microkernel runs (the constants `myelin_sgemm` takes); tests force each one.
    typealias ISA = PackedSgemm.ISA

    /// C (+)= A B as `BLAS.gemm` describes it, split across `threads` threads as `PackedSgemm.run`
    /// splits it (on whole 16-column or 12-row tiles). Returns false when `isa` cannot run here
    /// (traps if the packing buffers cannot be allocated).
    @discardableResult
    static func run(_ a: UnsafePointer<Double>, _ opA: BLASOperand, _ b: UnsafePointer<Double>, _ opB: BLASOperand,
                    _ c: UnsafeMutablePointer<Double>, m: Int, n: Int, k: Int, accumulate: Bool,
                    threads: Int = Threading.count, isa: ISA = .auto) -> Bool {
        // An empty product only checks that the microkernel can run here.
        guard myelin_dgemm(isa.rawValue, 0, 0, 0, nil, 1, 0, nil, 1, 0, nil, 1, 0) != 0 else { return false }
        let chunks = threads > 1 && m * n * k >= PackedSgemm.parallelThreshold ? threads : 1
        let acc: Int32 = accumulate ? 1 : 0
        let ta: Int32 = opA.transposed ? 1 : 0, tb: Int32 = opB.transposed ? 1 : 0
        func block(_ rows: Range<Int>, _ cols: Range<Int>) {
            let ran = myelin_dgemm(isa.rawValue, rows.count, cols.count, k, a + opA.rowOffset(rows.lowerBound), opA.leadingDimension, ta,
                                   b + opB.columnOffset(cols.lowerBound), opB.leadingDimension, tb,
                                   c + rows.lowerBound * n + cols.lowerBound, n, acc)
            if ran == 0 { fatalError("[matmul] could not allocate the packing buffers of a \(rows.count)x\(k)x\(cols.count) float64 product") }
        }
        PackedSgemm.split(m: m, n: n, chunks: chunks, threads: threads, columnTile: 16, rowTile: 12, block)
        return true
    }
}
