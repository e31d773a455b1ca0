#ifndef MYELIN_KERNELS_H
#define MYELIN_KERNELS_H

/// y[r] (+)= dot(w[r * ldw ..< r * ldw + cols], x) for r in 0..<rows: a matrix with contiguous
/// rows times a contiguous vector. Returns 1 when it ran, 0 when this CPU lacks AVX2 and FMA
/// (the caller then uses BLAS).
int myelin_sgemv_rows(const float *w, long rows, long cols, long ldw, const float *x, float *y, int accumulate);

#endif
