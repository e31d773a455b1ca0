// Float32 matrix products C (+)= A B, row-major, either operand transposed: Goto/BLIS-style
// blocking with packed panels and register-blocked microkernels (AVX-512 12x32, AVX2+FMA 6x16,
// a portable fmaf 4x8). Debian's OpenBLAS 0.3.21 falls back to its SSE3 kernel on these VMs.
//
// Loops, outermost first: jc over nc columns of C; pc over kc steps of k (pack the kc x nc block
// of B into nr-wide micro-panels); ic over mc rows (pack the mc x kc block of A into mr-tall
// micro-panels); jr over nr; ir over mr, the microkernel. A B micro-panel (kc x nr) stays in the
// 48 KB L1d while the A micro-panels stream from the packed A block (mc x kc, in the 2 MB L2);
// the B block (kc x nc) lives in L2/L3. AVX-512: kc 256 (B micro-panel 32 KB), mc 480 (480 KB),
// nc 4096. AVX2: kc 256 (16 KB), mc 240 (240 KB, for Zen 1's 512 KB L2), nc 4096.
//
// Determinism: every microkernel loads the C tile (zero on the first k step without accumulate)
// and adds each product with one fused multiply-add, k in increasing order, then stores it. So
// each element of C is the same chain fma(a[k-1], b[k-1], ... fma(a[0], b[0], c)) whatever the
// ISA, the blocking or the split of C across threads: the results are bit-identical.
#include "myelin_kernels.h"
#include <math.h>

typedef float real;
#include "gemm_driver.h"  // packing and the blocked loops, shared with dgemm.c

// MARK: portable kernel (fmaf; also what other architectures would run)

static void micro_scalar(long kc, const float *pa, const float *pb, float *c, long ldc, int load) {
    float acc[4][8];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 8; j++) acc[i][j] = load ? c[i * ldc + j] : 0.0f;
    for (long p = 0; p < kc; p++) {
        for (int i = 0; i < 4; i++) {
            float a = pa[p * 4 + i];
            for (int j = 0; j < 8; j++) acc[i][j] = fmaf(a, pb[p * 8 + j], acc[i][j]);
        }
    }
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 8; j++) c[i * ldc + j] = acc[i][j];
}

#if defined(__x86_64__)
#include <immintrin.h>

// MARK: AVX2 + FMA, 6 rows x 16 columns (12 ymm accumulators)

__attribute__((target("avx2,fma")))
static void micro_avx2(long kc, const float *pa, const float *pb, float *c, long ldc, int load) {
#define ROW2(i) __m256 c##i##0, c##i##1; \
    if (load) { c##i##0 = _mm256_loadu_ps(c + i * ldc); c##i##1 = _mm256_loadu_ps(c + i * ldc + 8); } \
    else { c##i##0 = _mm256_setzero_ps(); c##i##1 = _mm256_setzero_ps(); }
    ROW2(0) ROW2(1) ROW2(2) ROW2(3) ROW2(4) ROW2(5)
#undef ROW2
    for (long p = 0; p < kc; p++) {
        __m256 b0 = _mm256_load_ps(pb), b1 = _mm256_load_ps(pb + 8);
        __m256 a;
#define STEP2(i) a = _mm256_broadcast_ss(pa + i); \
        c##i##0 = _mm256_fmadd_ps(a, b0, c##i##0); c##i##1 = _mm256_fmadd_ps(a, b1, c##i##1);
        STEP2(0) STEP2(1) STEP2(2) STEP2(3) STEP2(4) STEP2(5)
#undef STEP2
        pa += 6; pb += 16;
    }
#define STORE2(i) _mm256_storeu_ps(c + i * ldc, c##i##0); _mm256_storeu_ps(c + i * ldc + 8, c##i##1);
    STORE2(0) STORE2(1) STORE2(2) STORE2(3) STORE2(4) STORE2(5)
#undef STORE2
}

// MARK: AVX-512, 12 rows x 32 columns (24 zmm accumulators), and 8 rows for a last panel

// One kernel body per row count: the rows of a micro-panel are listed by ROWS(X). Both read A
// panels packed 12 rows tall. The 8-row kernel runs the last panel of an m that leaves 8 or fewer
// rows (a recurrent layer's batch of 32 is 12 + 12 + 8; a batch of 128 is ten 12s and an 8)
// directly on C: through the 12-row kernel it computed 4 zero rows and went through the tile copy,
// a ninth of the arithmetic of a 32-row product. The same chain of FMAs per element either way.
#define AVX512_LOAD(i) __m512 c##i##0, c##i##1; \
    if (load) { c##i##0 = _mm512_loadu_ps(c + i * ldc); c##i##1 = _mm512_loadu_ps(c + i * ldc + 16); } \
    else { c##i##0 = _mm512_setzero_ps(); c##i##1 = _mm512_setzero_ps(); }
#define AVX512_STEP(i) a = _mm512_set1_ps(pa[i]); \
    c##i##0 = _mm512_fmadd_ps(a, b0, c##i##0); c##i##1 = _mm512_fmadd_ps(a, b1, c##i##1);
#define AVX512_STORE(i) _mm512_storeu_ps(c + i * ldc, c##i##0); _mm512_storeu_ps(c + i * ldc + 16, c##i##1);
#define AVX512_ROWS8(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
#define AVX512_ROWS12(X) AVX512_ROWS8(X) X(8) X(9) X(10) X(11)
#define AVX512_KERNEL(NAME, ROWS) \
__attribute__((target("avx512f"))) \
static void NAME(long kc, const float *pa, const float *pb, float *c, long ldc, int load) { \
    ROWS(AVX512_LOAD) \
    for (long p = 0; p < kc; p++) { \
        __m512 b0 = _mm512_load_ps(pb), b1 = _mm512_load_ps(pb + 16); \
        __m512 a; \
        ROWS(AVX512_STEP) \
        pa += 12; pb += 32; \
    } \
    ROWS(AVX512_STORE) \
}
AVX512_KERNEL(micro_avx512, AVX512_ROWS12)
AVX512_KERNEL(micro_avx512_8, AVX512_ROWS8)

// The 8-row kernel reading A where it lies (row-major, rows lda apart) instead of from a packed
// panel. A recurrent layer's step multiplies a few fresh rows by the packed Wₕₕ: packing them
// (a strided scalar copy) was 1.7% of lstm_train. The same FMA chain per element as above.
#define AVX512_DIRECT_STEP(i) a = _mm512_set1_ps(a##i[p]); \
    c##i##0 = _mm512_fmadd_ps(a, b0, c##i##0); c##i##1 = _mm512_fmadd_ps(a, b1, c##i##1);
__attribute__((target("avx512f")))
static void micro_avx512_8_direct(long kc, const float *pa, long lda, const float *pb, float *c, long ldc, int load) {
    const float *a0 = pa, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
    const float *a4 = a3 + lda, *a5 = a4 + lda, *a6 = a5 + lda, *a7 = a6 + lda;
    AVX512_ROWS8(AVX512_LOAD)
    for (long p = 0; p < kc; p++) {
        __m512 b0 = _mm512_load_ps(pb), b1 = _mm512_load_ps(pb + 16);
        __m512 a;
        AVX512_ROWS8(AVX512_DIRECT_STEP)
        pb += 32;
    }
    AVX512_ROWS8(AVX512_STORE)
}
#undef AVX512_DIRECT_STEP
#undef AVX512_KERNEL
#undef AVX512_ROWS12
#undef AVX512_ROWS8
#undef AVX512_STORE
#undef AVX512_STEP
#undef AVX512_LOAD
#endif

// MARK: driver

static int shape_for(int isa, gemm_shape *s) {
#if defined(__x86_64__)
    if (isa == MYELIN_SGEMM_AUTO) {
        isa = myelin_cpu_has_avx512f() ? MYELIN_SGEMM_AVX512 : myelin_cpu_has_avx2_fma() ? MYELIN_SGEMM_AVX2 : -1;
        if (isa < 0) return 0;
    }
    if (isa == MYELIN_SGEMM_AVX512) {
        if (!myelin_cpu_has_avx512f()) return 0;
        *s = (gemm_shape){12, 32, 480, 256, 4096, micro_avx512, 8, micro_avx512_8};
        return 1;
    }
    if (isa == MYELIN_SGEMM_AVX2) {
        if (!myelin_cpu_has_avx2_fma()) return 0;
        *s = (gemm_shape){6, 16, 240, 256, 4096, micro_avx2, 0, NULL};
        return 1;
    }
#else
    if (isa == MYELIN_SGEMM_AUTO) return 0;
#endif
    if (isa == MYELIN_SGEMM_SCALAR) {
        *s = (gemm_shape){4, 8, 64, 256, 1024, micro_scalar, 0, NULL};
        return 1;
    }
    return 0;
}

int myelin_sgemm(int isa, long m, long n, long k, const float *a, long lda, int transA,
                 const float *b, long ldb, int transB, float *c, long ldc, int accumulate) {
    gemm_shape s;
    if (!shape_for(isa, &s)) return 0;
    return gemm_drive(&s, m, n, k, a, lda, transA, b, ldb, transB, c, ldc, accumulate);
}

// MARK: products with B packed once

// The packed B: for each kc block of k (pc), all columns' nr-wide micro-panels, padded to a whole
// panel: block pc starts at pc * nPad, panel jr within it at jr * kb. There is no nc blocking: B
// is packed for many products with few rows (a recurrent layer's batch), read once per product.

long myelin_sgemm_packed_size(int isa, long k, long n) {
    gemm_shape s;
    if (!shape_for(isa, &s)) return 0;
    long nPad = (n + s.nr - 1) / s.nr * s.nr;
    return (k > 0 ? k : 1) * (nPad > 0 ? nPad : 1);
}

int myelin_sgemm_pack_b(int isa, long k, long n, const float *b, long ldb, int transB, float *out) {
    return myelin_sgemm_pack_b_columns(isa, k, n, 0, n, b, ldb, transB, out);
}

int myelin_sgemm_pack_b_columns(int isa, long k, long n, long n0, long n1, const float *b, long ldb, int transB,
                                float *out) {
    gemm_shape s;
    if (!shape_for(isa, &s)) return 0;
    long nPad = (n + s.nr - 1) / s.nr * s.nr;
    if (n1 <= n0) return 1;
    for (long pc = 0; pc < k; pc += s.kc) {
        long kb = k - pc < s.kc ? k - pc : s.kc;
        pack_b(b, ldb, transB, pc, kb, n0, n1 - n0, s.nr, out + pc * nPad + n0 * kb);
    }
    return 1;
}

int myelin_sgemm_prepacked(int isa, long m, long n0, long n1, long k, const float *a, long lda, int transA,
                           const float *packed, long n, float *c, long ldc, int accumulate) {
    gemm_shape s;
    if (!shape_for(isa, &s)) return 0;
    if (m <= 0 || n1 <= n0) return 1;
    if (k <= 0) {
        if (!accumulate)
            for (long i = 0; i < m; i++) memset(c + i * ldc + n0, 0, (size_t)(n1 - n0) * sizeof(float));
        return 1;
    }
    const int mr = s.mr, nr = s.nr;
    long nPad = (n + nr - 1) / nr * nr;
    long kcMax = k < s.kc ? k : s.kc;
    long mcMax = m < s.mc ? (m + mr - 1) / mr * mr : s.mc;
    long aFloats = (mcMax * kcMax + GEMM_ALIGN - 1) & ~(GEMM_ALIGN - 1);
    float *pa = buffer((size_t)aFloats + (size_t)mr * nr);
    if (!pa) return 0;
    float *tile = pa + aFloats;
    // Row-major A whose panels are all 8 rows, over whole column panels: the kernel reads A in place.
    int direct = 0;
#if defined(__x86_64__)
    if (s.short_kernel == micro_avx512_8 && !transA && n0 % nr == 0 && (n1 - n0) % nr == 0) {
        direct = 1;
        for (long ic = 0; ic < m && direct; ic += s.mc) {
            long mb = m - ic < s.mc ? m - ic : s.mc;
            for (long ir = 0; ir < mb; ir += s.short_rows)
                if (panel_rows(&s, mb - ir) != s.short_rows) { direct = 0; break; }
        }
    }
#endif
    for (long pc = 0; pc < k; pc += s.kc) {
        long kb = k - pc < s.kc ? k - pc : s.kc;
        int load = accumulate || pc > 0;
        const float *pb = packed + pc * nPad;
#if defined(__x86_64__)
        if (direct) {
            for (long jr = n0; jr < n1; jr += nr)
                for (long i = 0; i < m; i += s.short_rows)
                    micro_avx512_8_direct(kb, a + i * lda + pc, lda, pb + jr * kb, c + i * ldc + jr, ldc, load);
            continue;
        }
#endif
        for (long ic = 0; ic < m; ic += s.mc) {
            long mb = m - ic < s.mc ? m - ic : s.mc;
            pack_a(&s, a, lda, transA, ic, mb, pc, kb, pa);
            for (long jr = n0; jr < n1; jr += nr) {
                long cols = n1 - jr < nr ? n1 - jr : nr;
                const float *bp = pb + jr * kb;
                for (long ir = 0, panel = 0; ir < mb; panel++) {
                    long rows = panel_rows(&s, mb - ir);
                    gemm_tile(&s, kb, pa + panel * mr * kb, bp, c + (ic + ir) * ldc + jr, ldc, rows, cols, load, tile);
                    ir += rows;
                }
            }
        }
    }
    return 1;
}
