// An LSTM or GRU step's element work for one float32 batch row, forward and backward, in one pass each
// (RecurrentKernels.swift calls these per row). Compiled for AVX-512, AVX2 and the baseline like
// vecmath.c, with its element functions and without contracting a*b+c into an FMA, so every
// machine gives the bits of the separate passes these replace (a sum, the vector sigmoid and
// tanh loops, then Swift loops in the same operation order). Swift code here targets SSE2; the
// backward loop there was 5.6% of lstm_train on a Zen 4.
#include "myelin_kernels.h"

#pragma STDC FP_CONTRACT OFF

#include "elementwise_ops.h"

// A(k) is the recurrent pre-activation of gate block k at j: h Wₕₕᵀ, plus bₕₕ when given (added
// first, as the separate bias loop this replaces did).
#define LSTM_FORWARD(NAME, ATTR, A)                                                                \
    ATTR static void NAME(long H, const float *x, const float *a, const float *bh, const float *cp, \
                          float *g, float *c, float *h) {                                          \
        (void)bh;                                                                                  \
        _Pragma("clang loop interleave_count(2)") for (long j = 0; j < H; j++) {                   \
            float i = sigmoid_one(A(0) + x[j]), f = sigmoid_one(A(1) + x[H + j]);                  \
            float gg = tanh_one(A(2) + x[2 * H + j]);                                              \
            float o = sigmoid_one(A(3) + x[3 * H + j]);                                            \
            float cn = f * cp[j] + i * gg;                                                         \
            g[j] = i; g[H + j] = f; g[2 * H + j] = gg; g[3 * H + j] = o;                           \
            c[j] = cn;                                                                             \
            h[j] = o * tanh_one(cn);                                                               \
        }                                                                                          \
    }
#define LSTM_PLAIN(k) a[(k) * H + j]
#define LSTM_BIASED(k) (a[(k) * H + j] + bh[(k) * H + j])

#define LSTM_LOOPS(SUFFIX, ATTR)                                                                   \
    LSTM_FORWARD(forward_##SUFFIX, ATTR, LSTM_PLAIN)                                               \
    LSTM_FORWARD(forward_bias_##SUFFIX, ATTR, LSTM_BIASED)                                         \
    ATTR static void backward_##SUFFIX(long H, const float *g, const float *c, const float *cp,    \
                                       float *dc, const float *dh, float *dx) {                    \
        _Pragma("clang loop interleave_count(2)") for (long j = 0; j < H; j++) {                   \
            float i = g[j], f = g[H + j], gg = g[2 * H + j], o = g[3 * H + j];                     \
            float t = tanh_one(c[j]);                                                              \
            float dct = dc[j] + dh[j] * o * (1.0f - t * t);                                        \
            dx[j] = dct * gg * i * (1.0f - i);                                                     \
            dx[H + j] = dct * cp[j] * f * (1.0f - f);                                              \
            dx[2 * H + j] = dct * i * (1.0f - gg * gg);                                            \
            dx[3 * H + j] = dh[j] * t * o * (1.0f - o);                                            \
            dc[j] = dct * f;                                                                       \
        }                                                                                          \
    }

// A GRU row: gates r, z, n with n = tanh(xₙ + r (Wₕₙ h + bₕₙ)); a holds h Wₕₕᵀ + bₕₕ. The gates
// go to g as [r, z, n, Wₕₙh + bₕₙ]. Backward writes the input projection's gradient dx and the
// recurrent pre-activations' dG (its n block times r), and leaves dh z (the direct path) in dh.
#define GRU_LOOPS(SUFFIX, ATTR)                                                                    \
    ATTR static void gru_forward_##SUFFIX(long H, const float *x, const float *a, const float *hp, \
                                          float *g, float *h) {                                    \
        _Pragma("clang loop interleave_count(2)") for (long j = 0; j < H; j++) {                   \
            float r = sigmoid_one(a[j] + x[j]), z = sigmoid_one(a[H + j] + x[H + j]);              \
            float hn = a[2 * H + j];                                                               \
            float n = tanh_one(x[2 * H + j] + r * hn);                                             \
            g[j] = r; g[H + j] = z; g[2 * H + j] = n; g[3 * H + j] = hn;                           \
            h[j] = (1.0f - z) * n + z * hp[j];                                                     \
        }                                                                                          \
    }                                                                                              \
    ATTR static void gru_backward_##SUFFIX(long H, const float *g, const float *hp, float *dh,     \
                                           float *dx, float *dG) {                                 \
        _Pragma("clang loop interleave_count(2)") for (long j = 0; j < H; j++) {                   \
            float r = g[j], z = g[H + j], n = g[2 * H + j], hn = g[3 * H + j];                     \
            float dn = dh[j] * (1.0f - z) * (1.0f - n * n);                                        \
            float dz = dh[j] * (hp[j] - n) * z * (1.0f - z);                                       \
            float dr = dn * hn * r * (1.0f - r);                                                   \
            dx[j] = dr; dx[H + j] = dz; dx[2 * H + j] = dn;                                        \
            dG[j] = dr; dG[H + j] = dz; dG[2 * H + j] = dn * r;                                    \
            dh[j] = dh[j] * z;                                                                     \
        }                                                                                          \
    }

LSTM_LOOPS(base, )
GRU_LOOPS(base, )

#if defined(__x86_64__)
LSTM_LOOPS(avx2, __attribute__((target("avx2"))))
LSTM_LOOPS(avx512, __attribute__((target("avx512f,avx2"))))
GRU_LOOPS(avx2, __attribute__((target("avx2"))))
GRU_LOOPS(avx512, __attribute__((target("avx512f,avx2"))))
#define PICK(NAME) (myelin_cpu_has_avx512f() ? NAME##_avx512 : myelin_cpu_has_avx2_fma() ? NAME##_avx2 : NAME##_base)
#else
#define PICK(NAME) NAME##_base
#endif

void myelin_lstm_forward_row_f32(long H, const float *x, const float *a, const float *bh, const float *cp, float *g,
                                 float *c, float *h) {
    if (bh) PICK(forward_bias)(H, x, a, bh, cp, g, c, h);
    else PICK(forward)(H, x, a, bh, cp, g, c, h);
}

void myelin_lstm_backward_row_f32(long H, const float *g, const float *c, const float *cp, float *dc, const float *dh,
                                  float *dx) {
    PICK(backward)(H, g, c, cp, dc, dh, dx);
}

void myelin_gru_forward_row_f32(long H, const float *x, const float *a, const float *hp, float *g, float *h) {
    PICK(gru_forward)(H, x, a, hp, g, h);
}

void myelin_gru_backward_row_f32(long H, const float *g, const float *hp, float *dh, float *dx, float *dG) {
    PICK(gru_backward)(H, g, hp, dh, dx, dG);
}
