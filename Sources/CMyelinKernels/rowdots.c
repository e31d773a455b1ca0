// Dot products of many rows with a few: out[i][j] = x_i · c_j for a block of data rows against
// k-means' centres (k of them, ~10). A GEMM with 10 columns spends most of its time packing the
// data (OpenBLAS's dgemm ran at ~5 GFLOP/s on kmeans_mnist); this reads each row straight from
// memory, two rows against two centres at a time (four sums per four loads).
//
// Determinism: each dot keeps eight partial sums, lane l taking the elements p ≡ l (mod 8) with
// one fused multiply-add each in increasing p, then adds them in one fixed order. AVX-512 holds
// the eight lanes in one register, AVX2 in two, the portable code in an array: the same bits.
#include "myelin_kernels.h"
#include <math.h>

/// The fixed reduction of eight lanes, then the tail (cols not a multiple of 8) folded in lane order.
static inline double finish(double lane[8], const double *x, const double *c, long p0, long cols) {
    for (long p = p0; p < cols; p++) lane[p - p0] = fma(x[p], c[p], lane[p - p0]);
    return ((lane[0] + lane[4]) + (lane[2] + lane[6])) + ((lane[1] + lane[5]) + (lane[3] + lane[7]));
}

static void dots_scalar(const double *x0, const double *x1, const double *c0, const double *c1, long cols,
                        double out[4]) {
    double l00[8] = {0}, l01[8] = {0}, l10[8] = {0}, l11[8] = {0};
    long p = 0;
    for (; p + 8 <= cols; p += 8)
        for (int l = 0; l < 8; l++) {
            l00[l] = fma(x0[p + l], c0[p + l], l00[l]);
            l01[l] = fma(x0[p + l], c1[p + l], l01[l]);
            l10[l] = fma(x1[p + l], c0[p + l], l10[l]);
            l11[l] = fma(x1[p + l], c1[p + l], l11[l]);
        }
    out[0] = finish(l00, x0, c0, p, cols);
    out[1] = finish(l01, x0, c1, p, cols);
    out[2] = finish(l10, x1, c0, p, cols);
    out[3] = finish(l11, x1, c1, p, cols);
}

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx2,fma")))
static void dots_avx2(const double *x0, const double *x1, const double *c0, const double *c1, long cols,
                      double out[4]) {
    __m256d a00 = _mm256_setzero_pd(), b00 = a00, a01 = a00, b01 = a00, a10 = a00, b10 = a00, a11 = a00, b11 = a00;
    long p = 0;
    for (; p + 8 <= cols; p += 8) {
        __m256d xa = _mm256_loadu_pd(x0 + p), xb = _mm256_loadu_pd(x0 + p + 4);
        __m256d ya = _mm256_loadu_pd(x1 + p), yb = _mm256_loadu_pd(x1 + p + 4);
        __m256d ca = _mm256_loadu_pd(c0 + p), cb = _mm256_loadu_pd(c0 + p + 4);
        __m256d da = _mm256_loadu_pd(c1 + p), db = _mm256_loadu_pd(c1 + p + 4);
        a00 = _mm256_fmadd_pd(xa, ca, a00); b00 = _mm256_fmadd_pd(xb, cb, b00);
        a01 = _mm256_fmadd_pd(xa, da, a01); b01 = _mm256_fmadd_pd(xb, db, b01);
        a10 = _mm256_fmadd_pd(ya, ca, a10); b10 = _mm256_fmadd_pd(yb, cb, b10);
        a11 = _mm256_fmadd_pd(ya, da, a11); b11 = _mm256_fmadd_pd(yb, db, b11);
    }
    double l[8];
#define FIN(A, B, X, C, I) _mm256_storeu_pd(l, A); _mm256_storeu_pd(l + 4, B); out[I] = finish(l, X, C, p, cols);
    FIN(a00, b00, x0, c0, 0) FIN(a01, b01, x0, c1, 1) FIN(a10, b10, x1, c0, 2) FIN(a11, b11, x1, c1, 3)
#undef FIN
}

__attribute__((target("avx512f")))
static void dots_avx512(const double *x0, const double *x1, const double *c0, const double *c1, long cols,
                        double out[4]) {
    __m512d a00 = _mm512_setzero_pd(), a01 = a00, a10 = a00, a11 = a00;
    long p = 0;
    for (; p + 8 <= cols; p += 8) {
        __m512d xa = _mm512_loadu_pd(x0 + p), ya = _mm512_loadu_pd(x1 + p);
        __m512d ca = _mm512_loadu_pd(c0 + p), da = _mm512_loadu_pd(c1 + p);
        a00 = _mm512_fmadd_pd(xa, ca, a00);
        a01 = _mm512_fmadd_pd(xa, da, a01);
        a10 = _mm512_fmadd_pd(ya, ca, a10);
        a11 = _mm512_fmadd_pd(ya, da, a11);
    }
    double l[8];
#define FIN(A, X, C, I) _mm512_storeu_pd(l, A); out[I] = finish(l, X, C, p, cols);
    FIN(a00, x0, c0, 0) FIN(a01, x0, c1, 1) FIN(a10, x1, c0, 2) FIN(a11, x1, c1, 3)
#undef FIN
}
#endif

typedef void (*dots_fn)(const double *, const double *, const double *, const double *, long, double[4]);

static dots_fn dots_for(int isa) {
#if defined(__x86_64__)
    if (isa == MYELIN_SGEMM_AUTO)
        isa = myelin_cpu_has_avx512f() ? MYELIN_SGEMM_AVX512 : myelin_cpu_has_avx2_fma() ? MYELIN_SGEMM_AVX2 : MYELIN_SGEMM_SCALAR;
    if (isa == MYELIN_SGEMM_AVX512) return myelin_cpu_has_avx512f() ? dots_avx512 : 0;
    if (isa == MYELIN_SGEMM_AVX2) return myelin_cpu_has_avx2_fma() ? dots_avx2 : 0;
#else
    if (isa == MYELIN_SGEMM_AUTO) isa = MYELIN_SGEMM_SCALAR;
#endif
    return isa == MYELIN_SGEMM_SCALAR ? dots_scalar : 0;
}

int myelin_row_dots(int isa, long rows, long k, long cols, const double *x, long ldx, const double *c, long ldc,
                    double *out) {
    dots_fn dots = dots_for(isa);
    if (!dots) return 0;
    double o[4];
    for (long i = 0; i < rows; i += 2) {
        const double *x0 = x + i * ldx, *x1 = i + 1 < rows ? x0 + ldx : x0;
        for (long j = 0; j < k; j += 2) {
            const double *c0 = c + j * ldc, *c1 = j + 1 < k ? c0 + ldc : c0;
            dots(x0, x1, c0, c1, cols, o);
            out[i * k + j] = o[0];
            if (j + 1 < k) out[i * k + j + 1] = o[1];
            if (i + 1 < rows) {
                out[(i + 1) * k + j] = o[2];
                if (j + 1 < k) out[(i + 1) * k + j + 1] = o[3];
            }
        }
    }
    return 1;
}
