// The packing and blocking loops shared by sgemm.c and dgemm.c, written once over the element
// type: each includes this after `typedef float real;` (or double). Only the microkernels and the
// block sizes differ between the two; see sgemm.c for the blocking and the determinism argument.
// Private to this target (not under include/), every name static to the including file.
#ifndef MYELIN_GEMM_DRIVER_H
#define MYELIN_GEMM_DRIVER_H
#include <stdlib.h>
#include <string.h>

typedef void (*micro_fn)(long kc, const real *pa, const real *pb, real *c, long ldc, int load);

typedef struct {
    int mr, nr;
    long mc, kc, nc;
    micro_fn kernel;
    /// A kernel for a last panel of at most `short_rows` rows (0 and NULL: none), reading the
    /// panel as packed, mr rows tall.
    int short_rows;
    micro_fn short_kernel;
} gemm_shape;

// MARK: packing

/// Rows for the next A micro-panel when `left` rows remain: mr, except that a remainder of mr + 1
/// to 2 short_rows rows (13-16 with AVX-512) becomes two short panels: 8 + 8 ran as 12 + 4, the
/// 4 through the 8-row kernel (a recurrent layer's batch of 32 split over two threads is 16 each).
static inline long panel_rows(const gemm_shape *s, long left) {
    if (s->short_kernel && left > s->mr && left <= 2 * s->short_rows) return s->short_rows;
    return left < s->mr ? left : s->mr;
}

/// Rows ic..<ic+mb, k steps pc..<pc+kb of A into micro-panels of `panel_rows` rows, each mr tall
/// (p-major within each, zero-padded up to the rows its kernel reads), panel i at out + i mr kb.
static void pack_a(const gemm_shape *s, const real *a, long lda, int trans, long ic, long mb, long pc, long kb, real *out) {
    const int mr = s->mr;
    for (long ir = 0, panel = 0; ir < mb; panel++) {
        long rows = panel_rows(s, mb - ir);
        real *dst = out + panel * mr * kb;
        if (!trans) {
            for (long i = 0; i < rows; i++) {
                const real *src = a + (ic + ir + i) * lda + pc;
                for (long p = 0; p < kb; p++) dst[p * mr + i] = src[p];
            }
        } else {
            for (long p = 0; p < kb; p++) {
                const real *src = a + (pc + p) * lda + ic + ir;
                for (long i = 0; i < rows; i++) dst[p * mr + i] = src[i];
            }
        }
        // Zero the rows the kernel will read past the panel's (the short kernel reads short_rows).
        long read = s->short_kernel && rows <= s->short_rows ? s->short_rows : mr;
        if (rows < read)
            for (long p = 0; p < kb; p++)
                for (long i = rows; i < read; i++) dst[p * mr + i] = 0;
        ir += rows;
    }
}

/// k steps pc..<pc+kb, columns jc..<jc+nb of B into nr-wide micro-panels, zero-padding the last.
static void pack_b(const real *b, long ldb, int trans, long pc, long kb, long jc, long nb, int nr, real *out) {
    for (long jr = 0; jr < nb; jr += nr) {
        long cols = nb - jr < nr ? nb - jr : nr;
        real *dst = out + jr * kb;
        if (!trans) {
            for (long p = 0; p < kb; p++) {
                const real *src = b + (pc + p) * ldb + jc + jr;
                real *d = dst + p * nr;
                long j = 0;
                for (; j < cols; j++) d[j] = src[j];
                for (; j < nr; j++) d[j] = 0;
            }
        } else {
            // B stored transposed (a Linear layer's weight): write each packed row whole, reading
            // one element from each of the panel's `cols` rows of storage. Those nr cache lines
            // stay in L1 for 64 bytes' worth of p; walking one storage row at a time instead
            // wrote a cache line per element and made packing 3x the time of the arithmetic for
            // the few-row products of batch-1 transformer inference.
            const real *src = b + (jc + jr) * ldb + pc;
            for (long p = 0; p < kb; p++) {
                real *d = dst + p * nr;
                long j = 0;
                for (; j < cols; j++) d[j] = src[j * ldb + p];
                for (; j < nr; j++) d[j] = 0;
            }
        }
    }
}

// MARK: driver

/// Elements per 64 bytes: packed B panels start at a multiple of this (aligned loads).
#define GEMM_ALIGN ((long)(64 / sizeof(real)))

/// Per-thread packing buffer, grown on demand and kept for the thread's next product (Myelin's
/// pool threads are persistent; at most (mc + nc) * kc elements, 4.7 MB with the AVX-512 sizes).
static _Thread_local real *pack_buffer;
static _Thread_local size_t pack_capacity;

static real *buffer(size_t count) {
    if (count > pack_capacity) {
        free(pack_buffer);
        size_t bytes = (count * sizeof(real) + 63) & ~(size_t)63;
        pack_buffer = aligned_alloc(64, bytes);
        pack_capacity = pack_buffer ? count : 0;
    }
    return pack_buffer;
}

/// One microkernel call on the tile at cp (`rows` of at most mr, `cols` of at most nr): the short
/// kernel when the rows fit it, in place when the tile fills the kernel, else through `tile`
/// (mr x nr) so the kernel never reads or writes past C's edges.
static inline void gemm_tile(const gemm_shape *s, long kb, const real *ap, const real *bp, real *cp, long ldc,
                             long rows, long cols, int load, real *tile) {
    const int nr = s->nr;
    const int fits = s->short_kernel && rows <= s->short_rows;
    micro_fn kernel = fits ? s->short_kernel : s->kernel;
    if (rows == (fits ? s->short_rows : s->mr) && cols == nr) {
        kernel(kb, ap, bp, cp, ldc, load);
    } else {
        if (load)
            for (long i = 0; i < rows; i++) memcpy(tile + i * nr, cp + i * ldc, (size_t)cols * sizeof(real));
        kernel(kb, ap, bp, tile, nr, load);
        for (long i = 0; i < rows; i++) memcpy(cp + i * ldc, tile + i * nr, (size_t)cols * sizeof(real));
    }
}

/// C (+)= A B with the blocking of `s` (the loops sgemm.c describes). Returns 0 when the packing
/// buffer could not be allocated.
static int gemm_drive(const gemm_shape *s, long m, long n, long k, const real *a, long lda, int transA,
                      const real *b, long ldb, int transB, real *c, long ldc, int accumulate) {
    if (m <= 0 || n <= 0) return 1;
    if (k <= 0) {
        if (!accumulate)
            for (long i = 0; i < m; i++) memset(c + i * ldc, 0, (size_t)n * sizeof(real));
        return 1;
    }
    const int mr = s->mr, nr = s->nr;
    long kcMax = k < s->kc ? k : s->kc;
    long mcMax = m < s->mc ? (m + mr - 1) / mr * mr : s->mc;
    long ncMax = n < s->nc ? (n + nr - 1) / nr * nr : s->nc;
    long aCount = (mcMax * kcMax + GEMM_ALIGN - 1) & ~(GEMM_ALIGN - 1);
    real *pa = buffer((size_t)aCount + (size_t)ncMax * kcMax + (size_t)mr * nr);
    if (!pa) return 0;
    real *pb = pa + aCount;
    real *tile = pb + ncMax * kcMax;  // edge tiles go through here
    for (long jc = 0; jc < n; jc += s->nc) {
        long nb = n - jc < s->nc ? n - jc : s->nc;
        for (long pc = 0; pc < k; pc += s->kc) {
            long kb = k - pc < s->kc ? k - pc : s->kc;
            int load = accumulate || pc > 0;
            pack_b(b, ldb, transB, pc, kb, jc, nb, nr, pb);
            for (long ic = 0; ic < m; ic += s->mc) {
                long mb = m - ic < s->mc ? m - ic : s->mc;
                pack_a(s, a, lda, transA, ic, mb, pc, kb, pa);
                for (long jr = 0; jr < nb; jr += nr) {
                    long cols = nb - jr < nr ? nb - jr : nr;
                    const real *bp = pb + jr * kb;
                    for (long ir = 0, panel = 0; ir < mb; panel++) {
                        long rows = panel_rows(s, mb - ir);
                        gemm_tile(s, kb, pa + panel * mr * kb, bp, c + (ic + ir) * ldc + jc + jr, ldc, rows, cols, load, tile);
                        ir += rows;
                    }
                }
            }
        }
    }
    return 1;
}

#endif
