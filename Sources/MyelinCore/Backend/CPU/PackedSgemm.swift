import CMyelinKernels

/// Myelin's own float32 matrix product (`CMyelinKernels/sgemm.c`): packed panels, cache
/// blocking and AVX-512 (12x32) or AVX2+FMA (6x16) microkernels, chosen at run time.
///
/// Debian's OpenBLAS 0.3.21 does not recognise some of these CPUs (Zen 5) without
/// `OPENBLAS_CORETYPE` and runs its SSE3 kernel (about 60 GFLOP/s on two threads for 1024³); this
/// one reaches several times that. Where OpenBLAS does run an FMA kernel, it is used instead
/// (`preferred`). Each element of C is one chain of fused multiply-adds in increasing k, so the result is
/// the same bits on one thread or several and with any of the microkernels.
enum PackedSgemm {
    /// Products with fewer multiply-adds go to BLAS (measured: below this the packing costs more
    /// than it saves).
    static let threshold = 1 << 13
    /// Products below this many multiply-adds stay on one thread.
    static let parallelThreshold = 1 << 20

    /// Which microkernel runs; tests force each one to compare their bits.
    enum ISA: Int32 {
        case auto = 0, scalar = 1, avx2 = 2, avx512 = 3
    }

    /// Whether this CPU has a microkernel worth running (AVX2+FMA or AVX-512 on x86-64).
    static let available: Bool = myelin_cpu_has_avx2_fma() != 0

    /// Whether products run here rather than in BLAS: when this CPU has a microkernel and BLAS has
    /// no FMA kernel for it (`BLAS.hasFMAKernels`). `MYELIN_GEMM=packed` or `blas` forces one side
    /// (for measurements); read once, so a process never mixes the two for one shape.
    static let preferred: Bool = {
        switch getenvString("MYELIN_GEMM") ?? "" {
        case "": return available && !BLAS.hasFMAKernels
        case "packed": return available
        case "blas": return false
        case let s: fatalError("[matmul] MYELIN_GEMM must be packed or blas, got '\(s)'")
        }
    }()

    /// Whether an m x k by k x n product runs on the packed kernels (float32 or float64) rather
    /// than BLAS: two rows or more, enough multiply-adds, and `preferred` on this CPU.
    @inline(__always)
    static func takes(m: Int, n: Int, k: Int) -> Bool { m > 1 && m * n * k >= threshold && preferred }

    /// Whether a product with a B packed once for many products (`PackedB`) runs on the packed
    /// kernels: as `takes`, but wherever a microkernel runs, since packing B each time is what
    /// BLAS loses there. A recurrent layer's steps (lstm_train 57-63k tokens/s against 53-60k
    /// through OpenBLAS's Cooperlake kernels) and batch-1 MiniLM (120-124 sentences/s against
    /// 89-100) measured so on a 2-core AMD EPYC (Zen 4), alternating rounds.
    @inline(__always)
    static func takesPrepacked(m: Int, n: Int, k: Int) -> Bool { m > 1 && m * n * k >= threshold && available }

    /// C (+)= A B as `BLAS.gemm` describes it, split across `threads` threads (columns of C when
    /// it is at least as wide as tall, else rows; each thread packs its own panels). Returns false
    /// when `isa` cannot run here (traps if the packing buffers cannot be allocated).
    @discardableResult
    static func run(_ a: UnsafePointer<Float>, _ opA: BLASOperand, _ b: UnsafePointer<Float>, _ opB: BLASOperand,
                    _ c: UnsafeMutablePointer<Float>, m: Int, n: Int, k: Int, accumulate: Bool,
                    threads: Int = Threading.count, isa: ISA = .auto) -> Bool {
        // An empty product only checks that the microkernel can run here.
        guard myelin_sgemm(isa.rawValue, 0, 0, 0, nil, 1, 0, nil, 1, 0, nil, 1, 0) != 0 else { return false }
        let chunks = threads > 1 && m * n * k >= parallelThreshold ? threads : 1
        let acc: Int32 = accumulate ? 1 : 0
        let ta: Int32 = opA.transposed ? 1 : 0, tb: Int32 = opB.transposed ? 1 : 0
        func block(_ rows: Range<Int>, _ cols: Range<Int>) {
            let ran = myelin_sgemm(isa.rawValue, rows.count, cols.count, k, a + opA.rowOffset(rows.lowerBound), opA.leadingDimension, ta,
                         b + opB.columnOffset(cols.lowerBound), opB.leadingDimension, tb,
                         c + rows.lowerBound * n + cols.lowerBound, n, acc)
            if ran == 0 { fatalError("[matmul] could not allocate the packing buffers of a \(rows.count)x\(k)x\(cols.count) product") }
        }
        // Split edges on whole microkernel tiles (32 columns, 12 rows) so no tile is cut in two.
        split(m: m, n: n, chunks: chunks, threads: threads, columnTile: 32, rowTile: 12, block)
        return true
    }

    /// Runs `block(rows, columns)` over an m x n C split into `chunks` parts on `threads` threads:
    /// its columns in whole `columnTile`-wide tiles when C is at least as wide as tall, else its
    /// rows in whole `rowTile`-tall tiles, or all of C at once when too small to split. Shared
    /// with `PackedDgemm`.
    static func split(m: Int, n: Int, chunks: Int, threads: Int, columnTile: Int, rowTile: Int,
                      _ block: (Range<Int>, Range<Int>) -> Void) {
        if chunks > 1 && n >= m && n >= 2 * chunks * columnTile {
            ThreadPool.shared.run(chunks: chunks, threads: threads) { t in
                let lo = n * t / chunks / columnTile * columnTile
                let hi = t == chunks - 1 ? n : n * (t + 1) / chunks / columnTile * columnTile
                block(0..<m, lo..<hi)
            }
        } else if chunks > 1 && m >= 2 * chunks * rowTile {
            ThreadPool.shared.run(chunks: chunks, threads: threads) { t in
                let lo = m * t / chunks / rowTile * rowTile, hi = t == chunks - 1 ? m : m * (t + 1) / chunks / rowTile * rowTile
                block(lo..<hi, 0..<n)
            }
        } else {
            block(0..<m, 0..<n)
        }
    }

    /// A right-hand operand B (k x n) packed once into the microkernel's panels, for many
    /// products with the same B: a recurrent layer multiplies by its weights at every time step,
    /// and packing them each time cost about as much as the product (m is the batch, 32 in
    /// `lstm_train`). Products give the same bits as `run` (and so as `BLAS.gemm` where
    /// `preferred`).
    final class PackedB {
        let k: Int, n: Int
        let isa: ISA
        let panels: UnsafeMutablePointer<Float>

        /// Packs `b` (`opB` as in `BLAS.gemm`); nil when no microkernel runs here.
        init?(_ b: UnsafePointer<Float>, _ opB: BLASOperand, k: Int, n: Int, isa: ISA = .auto) {
            let count = myelin_sgemm_packed_size(isa.rawValue, k, n)
            guard count > 0 else { return nil }
            self.k = k
            self.n = n
            self.isa = isa
            let raw = UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<Float>.stride, alignment: 64)
            panels = raw.bindMemory(to: Float.self, capacity: count)
            // Column blocks on the threads (a recurrent layer packs its 1 MB Wₕₕ twice a training
            // step, 2% of lstm_train on one thread alone).
            // Split as a product's columns are (whole 32-wide tiles, a multiple of every isa's panel).
            let threads = Threading.count, chunks = k * n >= 1 << 16 ? threads : 1
            let base = b + opB.columnOffset(0), ld = opB.leadingDimension, trans: Int32 = opB.transposed ? 1 : 0
            let panels = panels
            PackedSgemm.split(m: 1, n: n, chunks: chunks, threads: threads, columnTile: 32, rowTile: 12) { _, cols in
                _ = myelin_sgemm_pack_b_columns(isa.rawValue, k, n, cols.lowerBound, cols.upperBound, base, ld, trans, panels)
            }
        }

        deinit { UnsafeMutableRawPointer(panels).deallocate() }

        /// C (+)= A B, split across `threads` as `run` splits it (columns in whole 32-wide tiles
        /// when C is at least as wide as tall, else rows).
        func multiply(_ a: UnsafePointer<Float>, _ opA: BLASOperand, _ c: UnsafeMutablePointer<Float>, m: Int,
                      accumulate: Bool, threads: Int = Threading.count) {
            let chunks = threads > 1 && m * n * k >= PackedSgemm.parallelThreshold ? threads : 1
            let acc: Int32 = accumulate ? 1 : 0, ta: Int32 = opA.transposed ? 1 : 0
            func block(_ rows: Range<Int>, _ cols: Range<Int>) {
                let ran = myelin_sgemm_prepacked(isa.rawValue, rows.count, cols.lowerBound, cols.upperBound, k,
                                                 a + opA.rowOffset(rows.lowerBound), opA.leadingDimension, ta,
                                                 panels, n, c + rows.lowerBound * n, n, acc)
                if ran == 0 { fatalError("[matmul] could not allocate the packing buffer of a \(rows.count)x\(k)x\(cols.count) product") }
            }
            PackedSgemm.split(m: m, n: n, chunks: chunks, threads: threads, columnTile: 32, rowTile: 12, block)
        }
    }
}
