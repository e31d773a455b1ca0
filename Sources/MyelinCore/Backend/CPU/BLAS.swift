#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#if canImport(Glibc)
import Glibc
#endif
#endif
import CMyelinKernels

/// How a strided 2-D view is handed to BLAS without copying: as-is or transposed, with its leading dimension.
struct BLASOperand: Equatable {
    let transposed: Bool
    let leadingDimension: Int

    /// Row-major with unit column stride, or column-major (a transposed view); nil when BLAS can't read it.
    init?(rows: Int, cols: Int, rowStride: Int, colStride: Int) {
        if let ld = Self.leadingDimension(lines: rows, length: cols, lineStride: rowStride, elementStride: colStride) {
            (transposed, leadingDimension) = (false, ld)
        } else if let ld = Self.leadingDimension(lines: cols, length: rows, lineStride: colStride, elementStride: rowStride) {
            (transposed, leadingDimension) = (true, ld)
        } else {
            return nil
        }
    }

    /// The leading dimension when `lines` lines of `length` elements lie one after another at
    /// `lineStride` with unit-stride elements (a single line or element may have any stride); nil
    /// otherwise. Rows of a row-major matrix, or the columns of a column-major one.
    private static func leadingDimension(lines: Int, length: Int, lineStride: Int, elementStride: Int) -> Int? {
        guard elementStride == 1 || length <= 1 else { return nil }
        let ld = lines <= 1 ? Swift.max(length, 1) : lineStride
        return ld >= Swift.max(length, 1) ? ld : nil
    }

    /// Element offset of logical row `i` (of a matrix read through this operand).
    func rowOffset(_ i: Int) -> Int { transposed ? i : i * leadingDimension }
    /// Element offset of logical column `j`.
    func columnOffset(_ j: Int) -> Int { transposed ? j * leadingDimension : j }
}

/// C (row-major) = A (m x k) * B (k x n), through the platform's CBLAS, or for products of two
/// rows or more on AVX2/AVX-512 CPUs that BLAS runs without FMA kernels, Myelin's own packed
/// kernels (`PackedSgemm`, `PackedDgemm`; `PackedSgemm.preferred`).
///
/// OpenBLAS runs single-threaded and Myelin splits big products across its own threads (columns of
/// C when A is the smaller operand, else rows): OpenBLAS's idle workers spin for ~0.1 s after every call,
/// which would steal the second core from the elementwise ops that follow each matmul in training.
enum BLAS {
    /// Products below this many multiply-adds stay on one thread.
    static let parallelThreshold = 1 << 21

    /// The kernel set the platform BLAS runs on this CPU: OpenBLAS's core name ("Haswell",
    /// "SkylakeX", "Prescott", ...), or "Accelerate".
    public static let coreName: String = {
        #if canImport(Accelerate)
        return "Accelerate"
        #else
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
        #endif
    }()

    /// Whether OpenBLAS runs AVX2+FMA or AVX-512 kernels here (it recognised the CPU). Those beat
    /// Myelin's packed kernels on most shapes: on a 2-core AMD EPYC (Zen 4) with the Cooperlake
    /// kernels, 1.04-1.75x on the products of cnn_train and mlp_train and on Winograd's blocks, and
    /// 0.94x only on a tall product (3136x64 by 64x128), one thread (`myelin bench --workloads
    /// gemm_f32_<m>x<k>x<n>`, README "Matrix products"). Its SSE3 fallbacks (an unrecognised CPU)
    /// are several times slower.
    static let hasFMAKernels: Bool = {
        #if canImport(Accelerate)
        return false
        #else
        return ["haswell", "zen", "skylakex", "cooperlake", "sapphirerapids"].contains(coreName.lowercased())
        #endif
    }()

    /// One OpenBLAS thread per call: Myelin's pool splits the products itself. OpenBLAS also starts
    /// worker threads when it loads, and each polls for work (with `sched_yield`) for its first
    /// 2^28 cycles, about 0.1 s: beside Myelin's two threads on 2 cores, a third busy one, 100 ms of
    /// CPU in every process (`perf stat` of `myelin bench --workloads small_op_overhead`: 266-273
    /// ms against 158-179 with `OPENBLAS_NUM_THREADS=1`). They are stopped as OpenBLAS stops them
    /// before a fork (`blas_thread_shutdown_`; it starts them again if a caller asks for more
    /// threads). Builds without them (serial, OpenMP) have no such function.
    static let configure: Void = {
        #if !canImport(Accelerate)
        openblas_set_num_threads(1)
        if let shutdown = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "blas_thread_shutdown_") {
            _ = unsafeBitCast(shutdown, to: (@convention(c) () -> Int32).self)()
        }
        #endif
    }()

    /// With `accumulate`, C += A B (BLAS's beta = 1): C arrives holding a bias, say.
    static func gemm<T: FloatElement>(_ a: UnsafePointer<T>, _ opA: BLASOperand, _ b: UnsafePointer<T>, _ opB: BLASOperand,
                                      _ c: UnsafeMutablePointer<T>, m: Int, n: Int, k: Int, accumulate: Bool = false) {
        _ = configure
        let threads = Threading.count
        // Float32 products of two rows or more: Myelin's packed kernel (PackedSgemm.swift).
        if T.self == Float.self && PackedSgemm.takes(m: m, n: n, k: k),
           PackedSgemm.run(UnsafeRawPointer(a).assumingMemoryBound(to: Float.self), opA,
                           UnsafeRawPointer(b).assumingMemoryBound(to: Float.self), opB,
                           UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self),
                           m: m, n: n, k: k, accumulate: accumulate, threads: threads) {
            return
        }
        // Float64 likewise (PackedDgemm.swift): OpenBLAS's SSE3 dgemm is as slow as its sgemm.
        if T.self == Double.self && PackedSgemm.takes(m: m, n: n, k: k),
           PackedDgemm.run(UnsafeRawPointer(a).assumingMemoryBound(to: Double.self), opA,
                           UnsafeRawPointer(b).assumingMemoryBound(to: Double.self), opB,
                           UnsafeMutableRawPointer(c).assumingMemoryBound(to: Double.self),
                           m: m, n: n, k: k, accumulate: accumulate, threads: threads) {
            return
        }
        // One row (batch-1 inference) is bound by reading B: split B's columns across threads.
        if m == 1 && splitsOneRow(n: n, k: k, threads: threads) {
            overOneRowOutputs(n: n, threads: threads) { lo, hi in
                rowTimesMatrix(a, opA, b + opB.columnOffset(lo), opB, c + lo, n: hi - lo, k: k, accumulate: accumulate)
            }
            return
        }
        if threads > 1 && m * n * k >= parallelThreshold {
            // Each thread packs all of the operand it does not split: split C's columns when A
            // (m x k) is the smaller one, its rows otherwise. On the MLP of mlp_train this took the
            // median of 5 alternating runs from 24,070 to 26,244 samples/s (OpenBLAS's own two
            // threads instead: 16,000-23,500, its spinning workers slowing the ops in between).
            if n >= m && n >= 2 * threads * 8 {
                ThreadPool.shared.run(chunks: threads, threads: threads) { t in
                    let lo = (n * t / threads) & ~15, hi = t == threads - 1 ? n : (n * (t + 1) / threads) & ~15
                    call(a, opA, b + opB.columnOffset(lo), opB, c + lo, m: m, n: hi - lo, k: k, ldc: n, accumulate: accumulate)
                }
                return
            }
            if m >= 2 * threads * 8 {
                ThreadPool.shared.run(chunks: threads, threads: threads) { t in
                    let lo = m * t / threads, hi = m * (t + 1) / threads
                    call(a + opA.rowOffset(lo), opA, b, opB, c + lo * n, m: hi - lo, n: n, k: k, ldc: n, accumulate: accumulate)
                }
                return
            }
            if n >= 2 * threads * 8 {
                ThreadPool.shared.run(chunks: threads, threads: threads) { t in
                    let lo = n * t / threads, hi = n * (t + 1) / threads
                    call(a, opA, b + opB.columnOffset(lo), opB, c + lo, m: m, n: hi - lo, k: k, ldc: n, accumulate: accumulate)
                }
                return
            }
        }
        call(a, opA, b, opB, c, m: m, n: n, k: k, ldc: n, accumulate: accumulate)
    }

    /// One row `x` (k floats) times a Linear weight's transpose, `y = act(x Wᵀ + bias)` with W
    /// `[n, k]` whose rows are contiguous and `ldw` apart, the bias add and activation done on each
    /// output in the kernel (`myelin_sgemv_rows_fused`): the bits of the product, bias add and
    /// activation run as three ops, in one pass and one hand-off to the threads. The outputs are
    /// split across threads as `gemm` splits a single row (same sizes, same chunks), so each
    /// core keeps reading its half of a layer from its own cache. False when this CPU lacks
    /// AVX2 and FMA (nothing written).
    static func rowTimesWeightFused(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, ldw: Int,
                                    _ y: UnsafeMutablePointer<Float>, n: Int, k: Int, bias: UnsafePointer<Float>?,
                                    activation: Int32, slope: Float) -> Bool {
        // The kernel needs AVX2 and FMA, as the packed GEMM does.
        guard PackedSgemm.available else { return false }
        let threads = Threading.count
        if splitsOneRow(n: n, k: k, threads: threads) {
            // A C job, split as `overOneRowOutputs` splits: the worker starts without following a
            // closure's pointers (`ThreadPool.runInline`).
            ThreadPool.shared.runInline(threads: threads, myelin_sgemv_rows_fused_part,
                                        fusedRowsArguments(w, ldw: ldw, x, y, n: n, k: k, bias: bias, activation: activation, slope: slope))
            return true
        }
        return myelin_sgemv_rows_fused(w, n, k, ldw, x, y, bias, 0, activation, slope) != 0
    }

    /// The arguments of `myelin_sgemv_rows_fused_part` in the order its header gives.
    static func fusedRowsArguments(_ w: UnsafePointer<Float>, ldw: Int, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                                   n: Int, k: Int, bias: UnsafePointer<Float>?, activation: Int32,
                                   slope: Float) -> ThreadPool.InlineArguments {
        (Int(bitPattern: w), Int(bitPattern: x), Int(bitPattern: y), Int(bitPattern: bias), n, k, ldw,
         Int(activation) | Int(slope.bitPattern) << 32)
    }

    /// Whether a single row times an n-output, k-deep weight is split across `threads`: enough
    /// weights to read (2^17) and at least 32 outputs a thread.
    @inline(__always)
    private static func splitsOneRow(n: Int, k: Int, threads: Int) -> Bool {
        threads > 1 && n * k >= 1 << 17 && n >= 4 * threads * 8
    }

    /// Runs `body(lo, hi)` over the n outputs of a single row in one chunk per thread. The pool
    /// hands chunk t to the same thread on every call, so each core reads its part of the weights
    /// from its own cache (alternating mlp_infer_b1 runs: 24 us against 25-28 with two chunks per
    /// thread claimed first-come).
    @inline(__always)
    private static func overOneRowOutputs(n: Int, threads: Int, _ body: (Int, Int) -> Void) {
        ThreadPool.shared.run(chunks: threads, threads: threads) { t in
            body(n * t / threads, n * (t + 1) / threads)
        }
    }

    /// A single row times a matrix as a matrix-vector product (sgemv is several times faster
    /// than sgemm for one row, which is what batch-1 inference does).
    @inline(__always)
    private static func rowTimesMatrix<T: FloatElement>(_ a: UnsafePointer<T>, _ opA: BLASOperand, _ b: UnsafePointer<T>,
                                                        _ opB: BLASOperand, _ c: UnsafeMutablePointer<T>, n: Int, k: Int,
                                                        accumulate: Bool) {
        // Rows of a stored-transposed B (a Linear layer's weight) times a contiguous row: our own kernel.
        if T.self == Float.self && opB.transposed && (!opA.transposed || k == 1),
           myelin_sgemv_rows(UnsafeRawPointer(b).assumingMemoryBound(to: Float.self), n, k, opB.leadingDimension,
                             UnsafeRawPointer(a).assumingMemoryBound(to: Float.self),
                             UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), accumulate ? 1 : 0) != 0 {
            return
        }
        let incA = blasInt(opA.transposed ? opA.leadingDimension : 1)
        // B (k x n) stored row-major: c = Bᵀ a. Stored transposed (n x k): c = S a.
        let trans = opB.transposed ? CblasNoTrans : CblasTrans
        let rows = blasInt(opB.transposed ? n : k), cols = blasInt(opB.transposed ? k : n)
        if T.self == Float.self {
            cblas_sgemv(CblasRowMajor, trans, rows, cols, 1, UnsafeRawPointer(b).assumingMemoryBound(to: Float.self),
                        blasInt(opB.leadingDimension), UnsafeRawPointer(a).assumingMemoryBound(to: Float.self), incA, accumulate ? 1 : 0,
                        UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), 1)
        } else {
            cblas_dgemv(CblasRowMajor, trans, rows, cols, 1, UnsafeRawPointer(b).assumingMemoryBound(to: Double.self),
                        blasInt(opB.leadingDimension), UnsafeRawPointer(a).assumingMemoryBound(to: Double.self), incA, accumulate ? 1 : 0,
                        UnsafeMutableRawPointer(c).assumingMemoryBound(to: Double.self), 1)
        }
    }

    @inline(__always)
    private static func call<T: FloatElement>(_ a: UnsafePointer<T>, _ opA: BLASOperand, _ b: UnsafePointer<T>, _ opB: BLASOperand,
                                              _ c: UnsafeMutablePointer<T>, m: Int, n: Int, k: Int, ldc: Int,
                                              accumulate: Bool) {
        // One row: C is its n contiguous values whatever ldc says (a column split passes the full width).
        if m == 1 && k > 0 {
            rowTimesMatrix(a, opA, b, opB, c, n: n, k: k, accumulate: accumulate)
            return
        }
        let ta = opA.transposed ? CblasTrans : CblasNoTrans, tb = opB.transposed ? CblasTrans : CblasNoTrans
        if T.self == Float.self {
            cblas_sgemm(CblasRowMajor, ta, tb, blasInt(m), blasInt(n), blasInt(k), 1,
                        UnsafeRawPointer(a).assumingMemoryBound(to: Float.self), blasInt(opA.leadingDimension),
                        UnsafeRawPointer(b).assumingMemoryBound(to: Float.self), blasInt(opB.leadingDimension), accumulate ? 1 : 0,
                        UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), blasInt(Swift.max(ldc, 1)))
        } else {
            cblas_dgemm(CblasRowMajor, ta, tb, blasInt(m), blasInt(n), blasInt(k), 1,
                        UnsafeRawPointer(a).assumingMemoryBound(to: Double.self), blasInt(opA.leadingDimension),
                        UnsafeRawPointer(b).assumingMemoryBound(to: Double.self), blasInt(opB.leadingDimension), accumulate ? 1 : 0,
                        UnsafeMutableRawPointer(c).assumingMemoryBound(to: Double.self), blasInt(Swift.max(ldc, 1)))
        }
    }

    @inline(__always)
    static func blasInt(_ v: Int) -> Int32 { Int32(truncatingIfNeeded: v) }
}

extension BLAS {
    /// A right-hand operand B (k x n) used in many products C = A B with A of `rows` rows: a
    /// recurrent layer's weights at every time step. Packed once for the packed float32 kernel
    /// wherever it runs (`PackedSgemm.takesPrepacked`: without packing B each time it beats BLAS),
    /// so the products are those of `gemm` within rounding (bit for bit where `gemm` takes the
    /// packed kernel too); otherwise each product is a plain `gemm`.
    struct RepeatedOperand<T: FloatElement> {
        let b: UnsafePointer<T>, opB: BLASOperand
        let k: Int, n: Int
        private let packed: PackedSgemm.PackedB?

        init(_ b: UnsafePointer<T>, _ opB: BLASOperand, k: Int, n: Int, rows m: Int) {
            (self.b, self.opB, self.k, self.n) = (b, opB, k, n)
            if T.self == Float.self && PackedSgemm.takesPrepacked(m: m, n: n, k: k) {
                packed = PackedSgemm.PackedB(UnsafeRawPointer(b).assumingMemoryBound(to: Float.self), opB, k: k, n: n)
            } else {
                packed = nil
            }
        }

        /// C (+)= A B for an A of at most the `rows` given at creation, split over `threads`.
        func multiply(_ a: UnsafePointer<T>, _ opA: BLASOperand, _ c: UnsafeMutablePointer<T>, m: Int, accumulate: Bool = false,
                      threads: Int = Threading.count) {
            if let packed {
                packed.multiply(UnsafeRawPointer(a).assumingMemoryBound(to: Float.self), opA,
                                UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), m: m, accumulate: accumulate,
                                threads: threads)
            } else {
                gemm(a, opA, b, opB, c, m: m, n: n, k: k, accumulate: accumulate)
            }
        }
    }
}
