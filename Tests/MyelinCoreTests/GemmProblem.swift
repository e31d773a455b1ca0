@testable import MyelinCore

/// Random row-major A (m x k) and B (k x n), each stored transposed on request (with a leading
/// dimension 3 wider than needed), and a C to accumulate onto: the problems the packed float64 and
/// float32 product tests (`DgemmKernelTests`, `SgemmKernelTests`) give their kernels.
struct GemmProblem<T: BinaryFloatingPoint> {
    let m, n, k: Int
    let a, b, c0: [T]
    let opA, opB: BLASOperand

    init(m: Int, n: Int, k: Int, transA: Bool, transB: Bool, seed: UInt64) {
        (self.m, self.n, self.k) = (m, n, k)
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        func next() -> T {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return T(Int(state % 2001) - 1000) / 997
        }
        let lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 3
        a = (0..<((transA ? k : m) * lda)).map { _ in next() }
        b = (0..<((transB ? n : k) * ldb)).map { _ in next() }
        c0 = (0..<(m * n)).map { _ in next() }
        opA = BLASOperand(rows: m, cols: k, rowStride: transA ? 1 : lda, colStride: transA ? lda : 1)!
        opB = BLASOperand(rows: k, cols: n, rowStride: transB ? 1 : ldb, colStride: transB ? ldb : 1)!
    }

    /// A's element at row i, column p, and B's at row p, column j, whichever way they are stored.
    func aAt(_ i: Int, _ p: Int) -> T { a[opA.rowOffset(i) + (opA.transposed ? p * opA.leadingDimension : p)] }
    func bAt(_ p: Int, _ j: Int) -> T { b[(opB.transposed ? p : p * opB.leadingDimension) + opB.columnOffset(j)] }

    /// C after `kernel` (given A, B and C's memory) has run, or nil when the kernel declined.
    func run(_ kernel: (UnsafePointer<T>, UnsafePointer<T>, UnsafeMutablePointer<T>) -> Bool) -> [T]? {
        var c = c0
        let ran = a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in kernel(pa.baseAddress!, pb.baseAddress!, pc.baseAddress!) }
            }
        }
        return ran ? c : nil
    }
}
