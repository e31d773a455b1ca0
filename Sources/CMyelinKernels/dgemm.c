// Float64 matrix products C (+)= A B: the float64 counterpart of sgemm.c, with the same packing
// and loops (gemm_driver.h) and the same determinism (each element of C one chain of fused
// multiply-adds in increasing k, so every ISA, blocking and thread split gives the same bits).
// Debian's OpenBLAS 0.3.21 runs its SSE3 dgemm on these VMs (kNN of MNIST in float64: 62 s).
//
// Microkernels: AVX-512 12x16 (24 zmm accumulators), AVX2+FMA 6x8 (12 ymm), portable 4x4 with
// fma. The blocks hold as many bytes as sgemm.c's: kc 256 keeps a B micro-panel in L1d (AVX-512
// 256 x 16 doubles = 32 KB, AVX2 16 KB); mc 240 (AVX-512, 480 KB) or 120 (AVX2, 240 KB) keeps
// the packed A block in L2; nc 2048 makes the packed B block 4 MB, for L2/L3.
#include "myelin_kernels.h"
#include <math.h>

typedef double real;
#include "gemm_driver.h"  // packing and the blocked loops, shared with sgemm.c

// MARK: portable kernel (fma; also what other architectures would run)

static void micro_scalar(long kc, const double *pa, const double *pb, double *c, long ldc, int load) {
    double acc[4][4];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) acc[i][j] = load ? c[i * ldc + j] : 0.0;
    for (long p = 0; p < kc; p++) {
        for (int i = 0; i < 4; i++) {
            double a = pa[p * 4 + i];
            for (int j = 0; j < 4; j++) acc[i][j] = fma(a, pb[p * 4 + j], acc[i][j]);
        }
    }
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) c[i * ldc + j] = acc[i][j];
}

#if defined(__x86_64__)
#include <immintrin.h>

// MARK: AVX2 + FMA, 6 rows x 8 columns (12 ymm accumulators)

__attribute__((target("avx2,fma")))
static void micro_avx2(long kc, const double *pa, const double *pb, double *c, long ldc, int load) {
#define ROW2(i) __m256d c##i##0, c##i##1; \
    if (load) { c##i##0 = _mm256_loadu_pd(c + i * ldc); c##i##1 = _mm256_loadu_pd(c + i * ldc + 4); } \
    else { c##i##0 = _mm256_setzero_pd(); c##i##1 = _mm256_setzero_pd(); }
    ROW2(0) ROW2(1) ROW2(2) ROW2(3) ROW2(4) ROW2(5)
#undef ROW2
    for (long p = 0; p < kc; p++) {
        __m256d b0 = _mm256_load_pd(pb), b1 = _mm256_load_pd(pb + 4);
        __m256d a;
#define STEP2(i) a = _mm256_broadcast_sd(pa + i); \
        c##i##0 = _mm256_fmadd_pd(a, b0, c##i##0); c##i##1 = _mm256_fmadd_pd(a, b1, c##i##1);
        STEP2(0) STEP2(1) STEP2(2) STEP2(3) STEP2(4) STEP2(5)
#undef STEP2
        pa += 6; pb += 8;
    }
#define STORE2(i) _mm256_storeu_pd(c + i * ldc, c##i##0); _mm256_storeu_pd(c + i * ldc + 4, c##i##1);
    STORE2(0) STORE2(1) STORE2(2) STORE2(3) STORE2(4) STORE2(5)
#undef STORE2
}

// MARK: AVX-512, 12 rows x 16 columns (24 zmm accumulators)

__attribute__((target("avx512f")))
static void micro_avx512(long kc, const double *pa, const double *pb, double *c, long ldc, int load) {
#define ROW5(i) __m512d c##i##0, c##i##1; \
    if (load) { c##i##0 = _mm512_loadu_pd(c + i * ldc); c##i##1 = _mm512_loadu_pd(c + i * ldc + 8); } \
    else { c##i##0 = _mm512_setzero_pd(); c##i##1 = _mm512_setzero_pd(); }
    ROW5(0) ROW5(1) ROW5(2) ROW5(3) ROW5(4) ROW5(5) ROW5(6) ROW5(7) ROW5(8) ROW5(9) ROW5(10) ROW5(11)
#undef ROW5
    for (long p = 0; p < kc; p++) {
        __m512d b0 = _mm512_load_pd(pb), b1 = _mm512_load_pd(pb + 8);
        __m512d a;
#define STEP5(i) a = _mm512_set1_pd(pa[i]); \
        c##i##0 = _mm512_fmadd_pd(a, b0, c##i##0); c##i##1 = _mm512_fmadd_pd(a, b1, c##i##1);
        STEP5(0) STEP5(1) STEP5(2) STEP5(3) STEP5(4) STEP5(5) STEP5(6) STEP5(7) STEP5(8) STEP5(9) STEP5(10) STEP5(11)
#undef STEP5
        pa += 12; pb += 16;
    }
#define STORE5(i) _mm512_storeu_pd(c + i * ldc, c##i##0); _mm512_storeu_pd(c + i * ldc + 8, c##i##1);
    STORE5(0) STORE5(1) STORE5(2) STORE5(3) STORE5(4) STORE5(5) STORE5(6) STORE5(7) STORE5(8) STORE5(9) STORE5(10) STORE5(11)
#undef STORE5
}
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
        *s = (gemm_shape){12, 16, 240, 256, 2048, micro_avx512, 0, NULL};
        return 1;
    }
    if (isa == MYELIN_SGEMM_AVX2) {
        if (!myelin_cpu_has_avx2_fma()) return 0;
        *s = (gemm_shape){6, 8, 120, 256, 2048, micro_avx2, 0, NULL};
        return 1;
    }
#else
    if (isa == MYELIN_SGEMM_AUTO) return 0;
#endif
    if (isa == MYELIN_SGEMM_SCALAR) {
        *s = (gemm_shape){4, 4, 64, 256, 1024, micro_scalar, 0, NULL};
        return 1;
    }
    return 0;
}

int myelin_dgemm(int isa, long m, long n, long k, const double *a, long lda, int transA,
                 const double *b, long ldb, int transB, double *c, long ldc, int accumulate) {
    gemm_shape s;
    if (!shape_for(isa, &s)) return 0;
    return gemm_drive(&s, m, n, k, a, lda, transA, b, ldb, transB, c, ldc, accumulate);
}
