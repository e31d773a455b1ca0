// Times every cblas_sgemm call of a process, by shape: loaded with LD_PRELOAD by
// scripts/sgemm-in-situ.sh. At exit it prints to stderr, for each distinct call (m, k, n, which
// operand is transposed, beta), the number of calls, the time a call and in all, then the sum:
// what a training's products take where they run, to set beside the same shapes timed alone
// (`myelin bench --workloads gemm_f32_<m>x<k>x<n>`, scripts/gemm-bound.py).
#define _GNU_SOURCE
#include <cblas.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

typedef void (*sgemm_fn)(const enum CBLAS_ORDER, const enum CBLAS_TRANSPOSE, const enum CBLAS_TRANSPOSE, const blasint,
                         const blasint, const blasint, const float, const float *, const blasint, const float *,
                         const blasint, const float, float *, const blasint);

enum { SHAPES = 128 };
static struct { int m, n, k, ta, tb, beta; long calls; double seconds; } shapes[SHAPES];
static int used, dropped;
// Myelin's pool calls sgemm from two threads at once: the table is shared.
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

void cblas_sgemm(const enum CBLAS_ORDER order, const enum CBLAS_TRANSPOSE ta, const enum CBLAS_TRANSPOSE tb, const blasint m,
                 const blasint n, const blasint k, const float alpha, const float *a, const blasint lda, const float *b,
                 const blasint ldb, const float beta, float *c, const blasint ldc) {
    static sgemm_fn real;
    if (!real) real = (sgemm_fn)dlsym(RTLD_NEXT, "cblas_sgemm");
    double t = now();
    real(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    t = now() - t;
    int at = ta == CblasTrans, bt = tb == CblasTrans, nonzero = beta != 0;
    pthread_mutex_lock(&lock);
    int i = 0;
    while (i < used && !(shapes[i].m == m && shapes[i].n == n && shapes[i].k == k && shapes[i].ta == at &&
                         shapes[i].tb == bt && shapes[i].beta == nonzero)) i++;
    if (i == used && used < SHAPES) {
        shapes[i].m = m, shapes[i].n = n, shapes[i].k = k, shapes[i].ta = at, shapes[i].tb = bt, shapes[i].beta = nonzero;
        used++;
    }
    if (i < SHAPES) shapes[i].calls++, shapes[i].seconds += t; else dropped++;
    pthread_mutex_unlock(&lock);
}

__attribute__((destructor)) static void report(void) {
    double all = 0;
    for (int i = 0; i < used; i++) {
        fprintf(stderr, "sgemm m %5d k %5d n %5d%s%s%s: %7ld calls, %9.1f us a call, %8.3f s\n", shapes[i].m, shapes[i].k,
                shapes[i].n, shapes[i].ta ? " A^T" : "", shapes[i].tb ? " B^T" : "", shapes[i].beta ? " beta 1" : "",
                shapes[i].calls, shapes[i].seconds / shapes[i].calls * 1e6, shapes[i].seconds);
        all += shapes[i].seconds;
    }
    fprintf(stderr, "sgemm in all: %.3f s%s\n", all, dropped ? " (some shapes past the table's 128 not listed)" : "");
}
