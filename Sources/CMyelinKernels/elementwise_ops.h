// The float32 element functions of the elementwise ops, in one place for two users: vecmath.c's
// loops (compiled into the package) and the loops that fused graphs generate and compile at run
// time (`FusedCodegen.swift`, which reads this text through `myelin_elementwise_source()`), so both
// give the same bits. The text is the argument of MYELIN_SOURCE, which pastes it as code or turns
// it into a string: it may hold no preprocessor lines, and every function is `static inline`.
// Neither user contracts a*b+c into an FMA (FP_CONTRACT OFF here, -ffp-contract=off there).
#ifndef MYELIN_SOURCE
#define MYELIN_SOURCE(...) __VA_ARGS__
#endif

MYELIN_SOURCE(
static inline float bits_to_float(int i) { float f; __builtin_memcpy(&f, &i, sizeof f); return f; }

// e^x to about 1 ulp: x = k ln2 + r with |r| <= ln2/2 (ln2 split in two so k ln2 is exact), e^r by
// its Taylor polynomial to r^7 (error below 0.1 ulp there), times 2^k built in two halves so
// that k down to -159 (results below the smallest subnormal) needs no special case. NaN passes
// through; x beyond the clamps overflows to +inf or underflows to 0 as libm's expf does.
static inline float exp_one(float x) {
    float c = x < -110.0f ? -110.0f : x;
    c = c > 89.0f ? 89.0f : c;
    // Round to nearest by the 1.5 * 2^23 trick (valid for |c log2 e| < 2^22), no rounding instruction needed.
    float kf = (c * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = c - kf * 0.693359375f;
    r = r - kf * -2.12194440e-4f;
    float p = 1.98412698e-4f;
    p = p * r + 1.38888889e-3f;
    p = p * r + 8.33333333e-3f;
    p = p * r + 4.16666667e-2f;
    p = p * r + 1.66666667e-1f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int k = (int)kf;
    int k1 = k >> 1, k2 = k - k1;
    float s1 = bits_to_float((k1 + 127) << 23), s2 = bits_to_float((k2 + 127) << 23);
    float y = (p * s1) * s2;
    return x != x ? x : y;
}

// tanh to a few ulp: on |x|, an odd polynomial below 0.625 (Cephes' tanhf coefficients), else
// 1 - 2 / (e^{2|x|} + 1); both are computed and one is chosen, so the loop vectorises; x's sign
// is copied on last (tanh(-0) = -0).
static inline float tanh_one(float x) {
    float a = __builtin_fabsf(x);
    float z = a * a;
    float p = -5.70498872745e-3f;
    p = p * z + 2.06390887954e-2f;
    p = p * z - 5.37397155531e-2f;
    p = p * z + 1.33314422036e-1f;
    p = p * z - 3.33332819422e-1f;
    float small = (p * z) * a + a;
    float e = exp_one(a + a);
    float big = 1.0f - 2.0f / (e + 1.0f);
    float y = __builtin_copysignf(a < 0.625f ? small : big, x);
    return x != x ? x : y;
}

// erf to 1.12 ulp (checked against double erf on every 97th float): an odd polynomial in x up to
// |x| = 0.9277, else 1 - e^(polynomial in |x|) with x's sign (the coefficients are Norbert Juffa's
// minimax fits for erff, evaluated here without FMA). Both are computed and one chosen, so the
// loop vectorises; erf(±inf) = ±1, NaN passes through. libm's erff was a fifth of MiniLM's time.
static inline float erf_one(float a) {
    float t = __builtin_fabsf(a), s = a * a;
    float r = -1.72853470e-5f * t + 3.83197126e-4f;
    float u = -3.88396438e-3f * t + 2.42546219e-2f;
    r = r * s + u;
    r = r * t - 1.06777877e-1f;
    r = r * t - 6.34846687e-1f;
    r = r * t - 1.28717512e-1f;
    r = r * t - t;
    float big = __builtin_copysignf(1.0f - exp_one(r), a);
    float q = -5.96761703e-4f;
    q = q * s + 4.99119423e-3f;
    q = q * s - 2.67681349e-2f;
    q = q * s + 1.12819925e-1f;
    q = q * s - 3.76125336e-1f;
    q = q * s + 1.28379166e-1f;
    float small = q * a + a;
    float y = t > 0.927734375f ? big : small;
    return a != a ? a : y;
}

// GELU as the composed ops compute it, each step rounded to float in the same order, so a fused
// call gives the bits of x * 0.5 * (1 + erf(x * (1/sqrt 2))) and of PyTorch's tanh form
// x * 0.5 * (1 + tanh((x + x*x*x * 0.044715) * sqrt(2/pi))) computed op by op.
static inline float gelu_one(float x) { return (x * 0.5f) * (1.0f + erf_one(x * 0.707106781186547524f)); }
static inline float gelu_tanh_one(float x) {
    float inner = (x + ((x * x) * x) * 0.044715f) * 0.797884560802865355f;
    return (x * 0.5f) * (1.0f + tanh_one(inner));
}

// 1 / (1 + e^-x): e^-x overflows to +inf for very negative x, giving exactly 0, never NaN.
static inline float sigmoid_one(float x) { return 1.0f / (1.0f + exp_one(-x)); }

// The cheap ops, as the loops and generated code compute them.
static inline float add_one(float a, float b) { return a + b; }
static inline float sub_one(float a, float b) { return a - b; }
static inline float mul_one(float a, float b) { return a * b; }
static inline float div_one(float a, float b) { return a / b; }
static inline float maximum_one(float a, float b) { return (a != a || a > b) ? a : b; }
static inline float minimum_one(float a, float b) { return (a != a || a < b) ? a : b; }
static inline float neg_one(float x) { return -x; }
static inline float abs_one(float x) { return x < 0 ? -x : x; }
static inline float relu_one(float x) { return x < 0 ? 0.0f : x; }
static inline float square_one(float x) { return x * x; }
static inline float pass_where_positive_one(float a, float b) { return b > 0 ? a : 0.0f; }
)
