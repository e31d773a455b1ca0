// Elementwise float32 loops over contiguous arrays: exp, tanh, sigmoid and erf from polynomials
// (no libm call, so the loops vectorise), and the cheap ops a fused graph chains block by block.
//
// Each loop is written once as plain C and compiled three times: for AVX-512 (16 floats an
// instruction), AVX2 (8) and the baseline x86-64 (SSE2, 4); the exported function picks one with a cached cpuid
// check. Neither copy contracts a*b+c into an FMA, so both give the same bits on every machine.
#include "myelin_kernels.h"

#pragma STDC FP_CONTRACT OFF

#include "elementwise_ops.h"

// The loops, once per instruction set.
#define UNARY_LOOPS(SUFFIX, ATTR)                                                                  \
    ATTR static void exp_##SUFFIX(const float *x, float *y, long n) {                              \
        _Pragma("clang loop interleave_count(4)") for (long i = 0; i < n; i++) y[i] = exp_one(x[i]);                                         \
    }                                                                                              \
    ATTR static void tanh_##SUFFIX(const float *x, float *y, long n) {                             \
        _Pragma("clang loop interleave_count(4)") for (long i = 0; i < n; i++) y[i] = tanh_one(x[i]);                                        \
    }                                                                                              \
    ATTR static void erf_##SUFFIX(const float *x, float *y, long n) {                              \
        _Pragma("clang loop interleave_count(4)") for (long i = 0; i < n; i++) y[i] = erf_one(x[i]);                                         \
    }                                                                                              \
    ATTR static void gelu_##SUFFIX(const float *x, float *y, long n) {                             \
        _Pragma("clang loop interleave_count(4)") for (long i = 0; i < n; i++) y[i] = gelu_one(x[i]);                                        \
    }                                                                                              \
    ATTR static void gelu_tanh_##SUFFIX(const float *x, float *y, long n) {                        \
        _Pragma("clang loop interleave_count(4)") for (long i = 0; i < n; i++) y[i] = gelu_tanh_one(x[i]);                                   \
    }                                                                                              \
    ATTR static void sigmoid_##SUFFIX(const float *x, float *y, long n) {                          \
        _Pragma("clang loop interleave_count(4)") for (long i = 0; i < n; i++) y[i] = sigmoid_one(x[i]);                                     \
    }                                                                                              \
    ATTR static void neg_##SUFFIX(const float *x, float *y, long n) {                              \
        for (long i = 0; i < n; i++) y[i] = neg_one(x[i]);                                                 \
    }                                                                                              \
    ATTR static void abs_##SUFFIX(const float *x, float *y, long n) {                              \
        for (long i = 0; i < n; i++) y[i] = abs_one(x[i]);                               \
    }                                                                                              \
    ATTR static void relu_##SUFFIX(const float *x, float *y, long n) {                             \
        for (long i = 0; i < n; i++) y[i] = relu_one(x[i]);                                       \
    }                                                                                              \
    ATTR static void square_##SUFFIX(const float *x, float *y, long n) {                           \
        for (long i = 0; i < n; i++) y[i] = square_one(x[i]);                                           \
    }

#define BINARY_LOOPS(SUFFIX, ATTR)                                                                 \
    ATTR static void add_##SUFFIX(const float *a, const float *b, float *y, long n) {              \
        for (long i = 0; i < n; i++) y[i] = add_one(a[i], b[i]);                                           \
    }                                                                                              \
    ATTR static void sub_##SUFFIX(const float *a, const float *b, float *y, long n) {              \
        for (long i = 0; i < n; i++) y[i] = sub_one(a[i], b[i]);                                           \
    }                                                                                              \
    ATTR static void mul_##SUFFIX(const float *a, const float *b, float *y, long n) {              \
        for (long i = 0; i < n; i++) y[i] = mul_one(a[i], b[i]);                                           \
    }                                                                                              \
    ATTR static void div_##SUFFIX(const float *a, const float *b, float *y, long n) {              \
        for (long i = 0; i < n; i++) y[i] = div_one(a[i], b[i]);                                           \
    }                                                                                              \
    ATTR static void maximum_##SUFFIX(const float *a, const float *b, float *y, long n) {          \
        for (long i = 0; i < n; i++) y[i] = maximum_one(a[i], b[i]);           \
    }                                                                                              \
    ATTR static void minimum_##SUFFIX(const float *a, const float *b, float *y, long n) {          \
        for (long i = 0; i < n; i++) y[i] = minimum_one(a[i], b[i]);           \
    }

UNARY_LOOPS(base, )
BINARY_LOOPS(base, )

#if defined(__x86_64__)
#define AVX2 __attribute__((target("avx2")))
UNARY_LOOPS(avx2, AVX2)
BINARY_LOOPS(avx2, AVX2)
// 16 floats an instruction where the CPU has AVX-512 (GELU of a transformer's feed-forward block
// was 7% of MiniLM's batch time on 8-wide loops); the same C, so the same bits.
#define AVX512 __attribute__((target("avx512f,avx2")))
UNARY_LOOPS(avx512, AVX512)
BINARY_LOOPS(avx512, AVX512)
#define PICK(NAME) (myelin_cpu_has_avx512f() ? NAME##_avx512 : myelin_cpu_has_avx2_fma() ? NAME##_avx2 : NAME##_base)
#else
#define PICK(NAME) NAME##_base
#endif

#define EXPORT_UNARY(NAME) \
    void myelin_v##NAME##_f32(const float *x, float *y, long n) { PICK(NAME)(x, y, n); }
#define EXPORT_BINARY(NAME) \
    void myelin_v##NAME##_f32(const float *a, const float *b, float *y, long n) { PICK(NAME)(a, b, y, n); }

EXPORT_UNARY(exp)
EXPORT_UNARY(tanh)
EXPORT_UNARY(sigmoid)
EXPORT_UNARY(erf)
EXPORT_UNARY(gelu)
EXPORT_UNARY(gelu_tanh)
EXPORT_UNARY(neg)
EXPORT_UNARY(abs)
EXPORT_UNARY(relu)
EXPORT_UNARY(square)
EXPORT_BINARY(add)
EXPORT_BINARY(sub)
EXPORT_BINARY(mul)
EXPORT_BINARY(div)
EXPORT_BINARY(maximum)
EXPORT_BINARY(minimum)
