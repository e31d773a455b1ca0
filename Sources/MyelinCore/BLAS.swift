#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif

/// How a strided 2-D view is handed to BLAS without copying: as-is or transposed, with its leading dimension.
struct BLASOperand: Equatable {
    let transposed: Bool
    let leadingDimension: Int

    /// Row-major with unit column stride, or column-major (a transposed view); nil when BLAS can't read it.
    init?(rows: Int, cols: Int, rowStride: Int, colStride: Int) {
        if colStride == 1 || cols <= 1 {
            let ld = rows <= 1 ? Swift.max(cols, 1) : rowStride
            if ld >= Swift.max(cols, 1) {
                transposed = false
                leadingDimension = ld
                return
            }
        }
        if rowStride == 1 || rows <= 1 {
            let ld = cols <= 1 ? Swift.max(rows, 1) : colStride
            if ld >= Swift.max(rows, 1) {
                transposed = true
                leadingDimension = ld
                return
            }
        }
        return nil
    }
}

/// C (row-major, ldc = n) = A (m x k) * B (k x n), through the platform's CBLAS.
enum BLAS {
    static func gemm(_ a: UnsafePointer<Float>, _ opA: BLASOperand, _ b: UnsafePointer<Float>, _ opB: BLASOperand,
                     _ c: UnsafeMutablePointer<Float>, m: Int, n: Int, k: Int, beta: Float = 0) {
        cblas_sgemm(CblasRowMajor, opA.transposed ? CblasTrans : CblasNoTrans, opB.transposed ? CblasTrans : CblasNoTrans,
                    blasInt(m), blasInt(n), blasInt(k), 1, a, blasInt(opA.leadingDimension),
                    b, blasInt(opB.leadingDimension), beta, c, blasInt(Swift.max(n, 1)))
    }

    static func gemm(_ a: UnsafePointer<Double>, _ opA: BLASOperand, _ b: UnsafePointer<Double>, _ opB: BLASOperand,
                     _ c: UnsafeMutablePointer<Double>, m: Int, n: Int, k: Int, beta: Double = 0) {
        cblas_dgemm(CblasRowMajor, opA.transposed ? CblasTrans : CblasNoTrans, opB.transposed ? CblasTrans : CblasNoTrans,
                    blasInt(m), blasInt(n), blasInt(k), 1, a, blasInt(opA.leadingDimension),
                    b, blasInt(opB.leadingDimension), beta, c, blasInt(Swift.max(n, 1)))
    }

    @inline(__always)
    static func blasInt(_ v: Int) -> Int32 { Int32(truncatingIfNeeded: v) }
}
