// Adam's common case (no weight decay, AMSGrad or maximize) on 8 floats at a time. Each
// element sees the same operations in the same order as the Swift loop in Optimizer+Adam.swift,
// all correctly rounded and none fused, so the results are bit for bit the same.
#include "myelin_kernels.h"

// No multiply-add contraction anywhere here: it would round differently from the Swift loop.
#pragma STDC FP_CONTRACT OFF

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx2")))
static void adam8(long n, float *p, const float *g, float *m, float *v, float w, float b2, float c2,
                  float bc2Sqrt, float eps, float negStepSize) {
    const __m256 W = _mm256_set1_ps(w), B2 = _mm256_set1_ps(b2), C2 = _mm256_set1_ps(c2);
    const __m256 BC = _mm256_set1_ps(bc2Sqrt), E = _mm256_set1_ps(eps), S = _mm256_set1_ps(negStepSize);
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 gi = _mm256_loadu_ps(g + i), m0 = _mm256_loadu_ps(m + i), v0 = _mm256_loadu_ps(v + i);
        __m256 mi = _mm256_add_ps(m0, _mm256_mul_ps(W, _mm256_sub_ps(gi, m0)));
        __m256 vi = _mm256_add_ps(_mm256_mul_ps(v0, B2), _mm256_mul_ps(_mm256_mul_ps(C2, gi), gi));
        __m256 denom = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vi), BC), E);
        __m256 pi = _mm256_add_ps(_mm256_loadu_ps(p + i), _mm256_div_ps(_mm256_mul_ps(S, mi), denom));
        _mm256_storeu_ps(m + i, mi);
        _mm256_storeu_ps(v + i, vi);
        _mm256_storeu_ps(p + i, pi);
    }
    for (; i < n; i++) {
        float gi = g[i];
        float mi = m[i] + w * (gi - m[i]);
        float vi = v[i] * b2 + (c2 * gi) * gi;
        float denom = __builtin_sqrtf(vi) / bc2Sqrt + eps;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] + (negStepSize * mi) / denom;
    }
}

int myelin_adam_f32(long n, float *p, const float *g, float *m, float *v, float w, float b2, float c2,
                    float bc2Sqrt, float eps, float negStepSize) {
    if (!myelin_cpu_has_avx2_fma()) return 0;
    adam8(n, p, g, m, v, w, b2, c2, bc2Sqrt, eps, negStepSize);
    return 1;
}

#else

int myelin_adam_f32(long n, float *p, const float *g, float *m, float *v, float w, float b2, float c2,
                    float bc2Sqrt, float eps, float negStepSize) {
    (void)n; (void)p; (void)g; (void)m; (void)v; (void)w; (void)b2; (void)c2; (void)bc2Sqrt; (void)eps; (void)negStepSize;
    return 0;
}

#endif
