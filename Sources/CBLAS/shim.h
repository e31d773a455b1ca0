#include <cblas.h>
#include <stddef.h>
// glibc's allocator tuning (mallopt), used with OpenBLAS on Linux only.
#include <malloc.h>
// LAPACK's symmetric eigen-solver (divide and conquer), exported by OpenBLAS's libopenblas, which
// ships no LAPACK header; gfortran's ABI adds the lengths of the two character arguments.
void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
             double *work, const int *lwork, int *iwork, const int *liwork, int *info,
             size_t jobzLength, size_t uploLength);
