// The floor under mlp_infer_b1 on this machine: how fast Myelin's batch-1 kernel can go with no
// Myelin op, tensor or thread pool around it. Built and run by scripts/batch1-floor.sh.
//
// Batch-1 inference reads every weight once per call, so its time is bounded by how fast a core
// streams its share of the weights from cache. This prints:
//   1. one core's rate through `myelin_sgemv_rows_fused` on matrices of 256 KB to 4 MB (each read
//      the kernel's alternating row order, best of five timings), so where the L2 ends shows;
//   2. the floor: a core's share of the model's weights at the best rate seen (no hand-off, no
//      overflow of the L2 counted);
//   3. the model's three layers split as Myelin splits them (the rows of a layer halved between
//      two threads, the 10-output layer on one), on two threads pinned to CPUs 0 and 1 that meet
//      at spinning barriers: what a perfect thread pool would give; and the same with the second
//      layer split by its inputs, which needs one meeting a call fewer but sums in another order;
//   4. what one meeting costs: both threads run a short fixed chunk (1,000 steps of x = 31 x + i)
//      and meet, against the chunk alone. `myelin bench --workloads pool_handoff` times the same
//      chunk as a two-chunk job of Myelin's thread pool, so the two hand-offs compare directly.
// mlp_infer_b1's figure from `myelin bench` against 3. is what Myelin's ops and pool add; a
// PyTorch figure over 3. is the largest ratio this kernel can reach here.
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "myelin_kernels.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static float *uniform(long count, float low, float high, unsigned *seed) {
    float *p = aligned_alloc(64, ((count * sizeof(float) + 63) / 64) * 64);
    for (long i = 0; i < count; i++) p[i] = low + (high - low) * (rand_r(seed) / (float)RAND_MAX);
    return p;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// mlp_infer_b1's model: Linear(784, 512) ReLU Linear(512, 256) ReLU Linear(256, 10).
enum { LAYERS = 3, CALLS = 2000, WARMUP = 200, REPEATS = 7, MEETINGS = 20000 };
static const long inputs[LAYERS] = {784, 512, 256}, outputs[LAYERS] = {512, 256, 10};
static float *weights[LAYERS], *biases[LAYERS], *acts[LAYERS + 1];

// A reusable barrier for two threads that spin: a hand-off as fast as the hardware allows.
static atomic_int arrived, phase;

static void meet(void) {
    int p = atomic_load_explicit(&phase, memory_order_acquire);
    if (atomic_fetch_add_explicit(&arrived, 1, memory_order_acq_rel) == 1) {
        atomic_store_explicit(&arrived, 0, memory_order_relaxed);
        atomic_store_explicit(&phase, p + 1, memory_order_release);
    } else {
        while (atomic_load_explicit(&phase, memory_order_acquire) == p) __builtin_ia32_pause();
    }
}

// Thread t's part of one forward call: its half of each split layer, the last layer on thread 0.
static void forward(int t) {
    for (int l = 0; l < LAYERS; l++) {
        long n = outputs[l], k = inputs[l];
        int split = n >= 64;
        long lo = split ? n * t / 2 : 0, hi = split ? n * (t + 1) / 2 : n;
        if (split || t == 0)
            myelin_sgemv_rows_fused(weights[l] + lo * k, hi - lo, k, k, acts[l], acts[l + 1] + lo, biases[l] + lo, 0,
                                    l < LAYERS - 1 ? MYELIN_GEMV_RELU : MYELIN_GEMV_IDENTITY, 0);
        if (l < LAYERS - 1) meet();
    }
}

// The same call with the second layer split by its inputs instead of its outputs: each thread
// multiplies the half of the first layer's outputs it made by the matching columns of the second
// layer's weight, so no meeting is needed between the two; thread 0 adds the two partial sums, the
// bias and the ReLU after the threads meet, then runs the last layer. One meeting a call fewer, but
// the second layer's sums are taken in two halves: not the bits of Myelin's layer-by-layer kernel.
static float partial[2][256];

static void forward_by_columns(int t) {
    long n = outputs[0], k = inputs[0], lo = n * t / 2, hi = n * (t + 1) / 2;
    myelin_sgemv_rows_fused(weights[0] + lo * k, hi - lo, k, k, acts[0], acts[1] + lo, biases[0] + lo, 0, MYELIN_GEMV_RELU, 0);
    myelin_sgemv_rows_fused(weights[1] + lo, outputs[1], hi - lo, inputs[1], acts[1] + lo, partial[t], NULL, 0,
                            MYELIN_GEMV_IDENTITY, 0);
    meet();
    if (t != 0) return;
    for (long i = 0; i < outputs[1]; i++) {
        float v = biases[1][i] + (partial[0][i] + partial[1][i]);
        acts[2][i] = v < 0 ? 0 : v;
    }
    myelin_sgemv_rows_fused(weights[2], outputs[2], inputs[2], inputs[2], acts[2], acts[3], biases[2], 0, MYELIN_GEMV_IDENTITY, 0);
}

// The chunk of part 4 (the same steps as the pool_handoff workload's).
static volatile unsigned long chunk_sink[2][16];

__attribute__((noinline)) static void chunk(int t) {
    unsigned long x = (unsigned long)t;
    for (unsigned long i = 0; i < 1000; i++) x = x * 31 + i;
    chunk_sink[t][0] = x;
}

static void pin(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static void *worker(void *arg) {
    (void)arg;
    pin(1);
    for (int r = 0; r < 2 * REPEATS; r++)
        for (int c = 0; c < WARMUP + CALLS; c++) {
            meet();   // the call starts
            if (r % 2) forward_by_columns(1); else forward(1);
        }
    for (int r = 0; r < REPEATS; r++)
        for (int c = 0; c < WARMUP + MEETINGS; c++) {
            chunk(1);
            meet();
        }
    return NULL;
}

int main(void) {
    if (!myelin_cpu_has_avx2_fma()) {
        puts("batch1-floor: this CPU lacks AVX2 and FMA; Myelin's batch-1 kernel does not run here");
        return 0;
    }
    unsigned seed = 42;
    pin(0);

    // 1. One core's rate from each level of cache.
    double best = 0;
    const long sizes_kb[] = {256, 512, 768, 896, 1024, 1536, 4096};
    puts("one core, myelin_sgemv_rows_fused, 784 columns:");
    for (size_t s = 0; s < sizeof sizes_kb / sizeof *sizes_kb; s++) {
        long cols = 784, rows = sizes_kb[s] * 1024 / (cols * 4);
        float *w = uniform(rows * cols, -0.03f, 0.03f, &seed), *x = uniform(cols, 0, 1, &seed);
        float *y = malloc(rows * sizeof(float));
        int passes = (int)(128L * 1024 * 1024 / (rows * cols * 4)) + 20;
        for (int i = 0; i < 10; i++) myelin_sgemv_rows_fused(w, rows, cols, cols, x, y, NULL, 0, 0, 0);
        // The best of five timings: other load on the machine only slows a timing down.
        double rate = 0;
        for (int t = 0; t < 5; t++) {
            double start = now();
            for (int i = 0; i < passes; i++) myelin_sgemv_rows_fused(w, rows, cols, cols, x, y, NULL, 0, 0, 0);
            double r = (double)passes * rows * cols * 4 / (now() - start) / 1e9;
            if (r > rate) rate = r;
        }
        printf("  %5ld KB: %6.1f GB/s\n", sizes_kb[s], rate);
        if (sizes_kb[s] <= 768 && rate > best) best = rate;
        free(w); free(x); free(y);
    }

    // 2. The floor: one core's share of the model at the best rate from L2.
    long bytes = 0;
    for (int l = 0; l < LAYERS; l++) bytes += inputs[l] * outputs[l] * 4;
    printf("mlp_infer_b1 weights: %ld bytes, %ld a core on two; at %.1f GB/s (the best up to 768 KB) that is %.2f us a call\n",
           bytes, bytes / 2, best, bytes / 2 / best / 1e3);

    // 3. The three layers on two pinned threads with spinning barriers (on one CPU the spinning
    // thread would hold it while the other waits for its turn).
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
        puts("one CPU: no two-thread figure");
        return 0;
    }
    for (int l = 0; l < LAYERS; l++) {
        float bound = 1.0f / __builtin_sqrtf((float)inputs[l]);
        weights[l] = uniform(inputs[l] * outputs[l], -bound, bound, &seed);
        biases[l] = uniform(outputs[l], -bound, bound, &seed);
    }
    acts[0] = uniform(inputs[0], 0, 1, &seed);
    for (int l = 0; l < LAYERS; l++) acts[l + 1] = aligned_alloc(64, 4096);
    pthread_t thread;
    pthread_create(&thread, NULL, worker, NULL);
    // The two ways alternate run by run, so a slow minute falls on both.
    double us[2][REPEATS];
    float reference[10];
    for (int r = 0; r < 2 * REPEATS; r++) {
        double start = 0;
        for (int c = 0; c < WARMUP + CALLS; c++) {
            if (c == WARMUP) start = now();
            meet();
            if (r % 2) forward_by_columns(0); else forward(0);
        }
        us[r % 2][r / 2] = (now() - start) / CALLS * 1e6;
        if (r == 0) memcpy(reference, acts[3], sizeof reference);
    }
    // 4. A chunk and a meeting, against the chunk alone (after the two-thread runs, so thread 1
    // is not timed here).
    double met[REPEATS], alone[REPEATS];
    for (int r = 0; r < REPEATS; r++) {
        double start = 0;
        for (int c = 0; c < WARMUP + MEETINGS; c++) {
            if (c == WARMUP) start = now();
            chunk(0);
            meet();
        }
        met[r] = (now() - start) / MEETINGS * 1e6;
    }
    pthread_join(thread, NULL);
    for (int r = 0; r < REPEATS; r++) {
        double start = now();
        for (int c = 0; c < MEETINGS; c++) chunk(0);
        alone[r] = (now() - start) / MEETINGS * 1e6;
    }
    // Both ways compute the same function: the outputs agree to float32 rounding.
    float worst = 0;
    for (int i = 0; i < 10; i++) {
        float d = __builtin_fabsf(acts[3][i] - reference[i]) / (__builtin_fabsf(reference[i]) + 1e-6f);
        if (d > worst) worst = d;
    }
    if (worst > 1e-4f) {
        printf("batch1-floor: the two ways disagree (relative difference %g)\n", worst);
        return 1;
    }
    const char *ways[2] = {"three layers on two pinned threads with spinning barriers",
                           "the same, second layer split by inputs (one meeting fewer, other bits)"};
    for (int m = 0; m < 2; m++) {
        qsort(us[m], REPEATS, sizeof *us[m], compare);
        printf("%s: median %.2f us a call (%d runs of %d calls: %.2f-%.2f)\n", ways[m], us[m][REPEATS / 2], REPEATS, CALLS,
               us[m][0], us[m][REPEATS - 1]);
    }
    qsort(met, REPEATS, sizeof *met, compare);
    qsort(alone, REPEATS, sizeof *alone, compare);
    printf("a chunk on each thread and a meeting: median %.3f us (the chunk alone %.3f us): a meeting costs %.3f us\n",
           met[REPEATS / 2], alone[REPEATS / 2], met[REPEATS / 2] - alone[REPEATS / 2]);
    return 0;
}
