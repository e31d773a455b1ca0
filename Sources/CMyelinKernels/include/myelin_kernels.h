#ifndef MYELIN_KERNELS_H
#define MYELIN_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/// y[r] (+)= dot(w[r * ldw ..< r * ldw + cols], x) for r in 0..<rows: a matrix with contiguous
/// rows times a contiguous vector. Returns 1 when it ran, 0 when this CPU lacks AVX2 and FMA
/// (the caller then uses BLAS).
int myelin_sgemv_rows(const float *w, long rows, long cols, long ldw, const float *x, float *y, int accumulate);

/// Activations `myelin_sgemv_rows_fused` applies to each output.
enum { MYELIN_GEMV_IDENTITY = 0, MYELIN_GEMV_RELU = 1, MYELIN_GEMV_LEAKY_RELU = 2 };

/// `myelin_sgemv_rows` with an epilogue on each output while it is in registers: v = the dot
/// product; v = y[r] + v with `accumulate`; v = bias[r] + v when `bias` is not NULL; then the
/// activation (ReLU: v < 0 ? 0 : v; leaky ReLU: v > 0 ? v : v * slope). Each step is rounded
/// on its own, so the result has the bits of the product, bias add and activation run apart.
/// Returns 0 when this CPU lacks AVX2 and FMA.
int myelin_sgemv_rows_fused(const float *w, long rows, long cols, long ldw, const float *x, float *y,
                            const float *bias, int accumulate, int activation, float slope);

/// `myelin_sgemv_rows_fused` in a given row order: last block of four first when `reversed`.
/// The outputs have the same bits either way. The plain call alternates the direction on each
/// pass over the same matrix (see `myelin_sgemv_next_pass_reversed`).
int myelin_sgemv_rows_fused_directed(const float *w, long rows, long cols, long ldw, const float *x, float *y,
                                     const float *bias, int accumulate, int activation, float slope, int reversed);

/// A job of the thread pool given as a C function and its arguments (`ThreadPool.runInline`):
/// part `part` of `parts` equal parts, the arguments in the pool's own cache lines.
typedef void (*myelin_pool_job)(const long *args, long part, long parts);

/// `myelin_sgemv_rows_fused` over part `part` of `parts` of the rows, as a `myelin_pool_job`:
/// args = {w, x, y, bias (or 0), rows, cols, ldw, activation | slope's bits << 32}, no
/// accumulate. Rows lo..<hi with lo = rows * part / parts, as `BLAS` splits a single row.
void myelin_sgemv_rows_fused_part(const long *args, long part, long parts);

/// Whether the next pass over the matrix at w runs its rows last to first, flipping that for
/// the pass after: repeated passes over weights a little larger than the L2 read first the
/// rows read last, still in cache.
int myelin_sgemv_next_pass_reversed(const float *w);

/// Asks the CPU to start loading the `bytes` bytes at p (a part of a row read soon). For loops
/// that read a slice of each of many rows, such as a column block per thread: the hardware
/// prefetchers stop at every 4 KB page, so each new row waited for memory.
static inline void myelin_prefetch(const void *p, long bytes) {
    const char *c = (const char *)p;
    for (long i = 0; i < bytes; i += 64) __builtin_prefetch(c + i, 0, 3);
}

/// Atomics on a word of memory the caller lays out (the thread pool's own cache lines, on which
/// Swift's `Atomic` properties cannot be placed).
static inline long myelin_atomic_load_acquire(const long *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline long myelin_atomic_load_seq_cst(const long *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
static inline void myelin_atomic_store_seq_cst(long *p, long v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }
static inline int myelin_atomic_cas(long *p, long expected, long desired) {
    return __atomic_compare_exchange_n(p, &expected, desired, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

/// 1 when this CPU and OS run AVX2 and FMA code (x86-64 only; 0 elsewhere).
int myelin_cpu_has_avx2_fma(void);

/// One Adam step over n float parameters without weight decay, AMSGrad or maximize:
/// m += w (g - m); v = v b2 + c2 g g; p += negStepSize m / (sqrt(v) / bc2Sqrt + eps), each
/// operation rounded on its own (bit for bit the scalar loop). Returns 0 when AVX2 is missing.
int myelin_adam_f32(long n, float *p, const float *g, float *m, float *v, float w, float b2, float c2,
                    float bc2Sqrt, float eps, float negStepSize);

/// Swaps the names of two existing paths atomically (Linux renameat2 RENAME_EXCHANGE, macOS
/// renamex_np RENAME_SWAP). Returns 0, or -1 with errno set (ENOSYS/EINVAL where unsupported).
int myelin_rename_exchange(const char *a, const char *b);

/// Elementwise loops over n contiguous floats (vecmath.c): y = f(x) or y = f(a, b), with AVX2
/// when the CPU has it. exp, tanh and sigmoid use Myelin's own polynomials (within a few ulp of
/// libm, the same bits on every machine); the others round as the Swift loops do.
void myelin_vexp_f32(const float *x, float *y, long n);
void myelin_vtanh_f32(const float *x, float *y, long n);
void myelin_vsigmoid_f32(const float *x, float *y, long n);
void myelin_verf_f32(const float *x, float *y, long n);
void myelin_vgelu_f32(const float *x, float *y, long n);
void myelin_vgelu_tanh_f32(const float *x, float *y, long n);
void myelin_vneg_f32(const float *x, float *y, long n);
void myelin_vabs_f32(const float *x, float *y, long n);
void myelin_vrelu_f32(const float *x, float *y, long n);
void myelin_vsquare_f32(const float *x, float *y, long n);
void myelin_vadd_f32(const float *a, const float *b, float *y, long n);
void myelin_vsub_f32(const float *a, const float *b, float *y, long n);
void myelin_vmul_f32(const float *a, const float *b, float *y, long n);
void myelin_vdiv_f32(const float *a, const float *b, float *y, long n);
void myelin_vmaximum_f32(const float *a, const float *b, float *y, long n);
void myelin_vminimum_f32(const float *a, const float *b, float *y, long n);

/// One batch row of an LSTM step (lstm.c), float32, with vecmath.c's sigmoid and tanh and no FMA
/// contraction (the same bits on every machine). Forward: the gates [i, f, g, o] of the
/// pre-activations x + a (each 4H; a + bh first when bh is not NULL) into g, the cell c = f cp + i g and h = o tanh(c). Backward:
/// from the gates, c, the previous cell cp, the running dc (updated to the previous cell's) and
/// dh, the pre-activations' gradient dx (4H).
void myelin_lstm_forward_row_f32(long H, const float *x, const float *a, const float *bh, const float *cp, float *g,
                                 float *c, float *h);
void myelin_lstm_backward_row_f32(long H, const float *g, const float *c, const float *cp, float *dc, const float *dh,
                                  float *dx);
/// One batch row of a GRU step (lstm.c), likewise. Forward: from x (3H) and a = h Wₕₕᵀ + bₕₕ (3H),
/// the gates [r, z, n, Wₕₙh + bₕₙ] into g (4H) and h = (1 - z) n + z hp. Backward: from the
/// gates, the previous state hp and dh, the input projection's gradient dx (3H), the recurrent
/// pre-activations' dG (3H, the n block times r), and dh replaced by dh z.
void myelin_gru_forward_row_f32(long H, const float *x, const float *a, const float *hp, float *g, float *h);
void myelin_gru_backward_row_f32(long H, const float *g, const float *hp, float *dh, float *dx, float *dG);

/// The C text of the element functions above (`exp_one`, `add_one`, ...: elementwise_ops.h), for
/// loops generated and compiled at run time that must give the same bits as these loops.
const char *myelin_elementwise_source(void);

/// 1 when this CPU and OS run AVX-512F code (x86-64 only; 0 elsewhere).
int myelin_cpu_has_avx512f(void);

/// Which microkernel `myelin_sgemm` runs: the best this CPU has, or one forced (for tests).
enum { MYELIN_SGEMM_AUTO = 0, MYELIN_SGEMM_SCALAR = 1, MYELIN_SGEMM_AVX2 = 2, MYELIN_SGEMM_AVX512 = 3 };

/// C (+)= A B (sgemm.c) for row-major C (m x n, row stride ldc), A (m x k) and B (k x n) each
/// row-major or, with transA / transB, stored transposed (lda / ldb their leading dimensions);
/// with `accumulate` C += A B, else C = A B. Single-threaded (callers split C). Each element is
/// one chain of fused multiply-adds in increasing k, so every ISA, blocking and split of C gives
/// the same bits. Returns 1 when it ran; 0 when `isa` is not available here (AUTO: no AVX2+FMA
/// or not x86-64; the caller then uses BLAS) or the packing buffer could not be allocated.
int myelin_sgemm(int isa, long m, long n, long k, const float *a, long lda, int transA,
                 const float *b, long ldb, int transB, float *c, long ldc, int accumulate);

/// Floats that `myelin_sgemm_pack_b` writes for a k x n B with `isa`'s panels; 0 when `isa`
/// cannot run here.
long myelin_sgemm_packed_size(int isa, long k, long n);

/// Packs all of B (k x n, as in `myelin_sgemm`) once into `out` (64-byte aligned,
/// `myelin_sgemm_packed_size` floats), for many products with the same B (a recurrent layer's
/// weights at every time step). Returns 0 when `isa` cannot run here.
int myelin_sgemm_pack_b(int isa, long k, long n, const float *b, long ldb, int transB, float *out);

/// Columns n0..<n1 of that packing (n0 a multiple of 32, n1 one too or n): threads packing
/// disjoint columns into one `out` write what `myelin_sgemm_pack_b` writes.
int myelin_sgemm_pack_b_columns(int isa, long k, long n, long n0, long n1, const float *b, long ldb, int transB, float *out);

/// Columns n0..<n1 of C (+)= A B with B packed by `myelin_sgemm_pack_b` (same isa, k, n); n0 a
/// multiple of 32. The same bits as `myelin_sgemm`. Returns 0 when `isa` cannot run here or the
/// packing buffer of A could not be allocated.
int myelin_sgemm_prepacked(int isa, long m, long n0, long n1, long k, const float *a, long lda, int transA,
                           const float *packed, long n, float *c, long ldc, int accumulate);

/// out[i * k + j] = x_i · c_j (rowdots.c) for `rows` rows of x (row stride ldx) and k rows of c
/// (row stride ldc), `cols` each, float64: k-means' distances. The same bits with every isa
/// (MYELIN_SGEMM_*; AUTO picks the best here). Returns 0 when `isa` cannot run here.
int myelin_row_dots(int isa, long rows, long k, long cols, const double *x, long ldx, const double *c, long ldc,
                    double *out);

/// C (+)= A B in float64 (dgemm.c), as `myelin_sgemm` computes it in float32: the same
/// arguments, `isa` one of MYELIN_SGEMM_* (microkernels AVX-512 12x16, AVX2+FMA 6x8, portable
/// 4x4), single-threaded. Each element is one chain of fused multiply-adds in increasing k, so
/// every ISA, blocking and split of C gives the same bits. Returns 1 when it ran; 0 when `isa`
/// is not available here or the packing buffer could not be allocated.
int myelin_dgemm(int isa, long m, long n, long k, const double *a, long lda, int transA,
                 const double *b, long ldb, int transB, double *c, long ldc, int accumulate);

/// Winograd F(m x m, 3x3) transforms for float32 convolutions (winograd.c), m = 2 (4x4 tiles) or 4
/// (6x6 tiles); alpha = m + 2. Buffers are alpha^2 planes `es` floats apart, each [channels][tiles]
/// with tiles contiguous (the forward products' output: [tiles][channels]), so the alpha^2 products
/// are row-major GEMMs. `es` is the plane size padded (`ConvKernels.winogradPlaneStride`) so that
/// the alpha^2 rows a tile reads or writes do not share one L1 set. Tile t of a batch with
/// tilesH x tilesW tiles per image is image t / (tilesH tilesW), output rows m (t % (tilesH tilesW))
/// / tilesW ... + m, columns likewise. Every function is single-threaded (callers split the tiles);
/// the same bits on every CPU.
///
/// v[e][ch][t - t0] = (B^T d B)[e] for tiles t0..<t1 of x [n][c][h][w], d the alpha x alpha patch at
/// (tile row - padTop, tile column - padLeft), zero outside the image. Returns 0 when its scratch
/// buffer (the images the tiles touch, padded) could not be allocated.
int myelin_winograd_input_f32(int m, const float *x, long c, long h, long w, long padTop, long padLeft, long tilesH,
                               long tilesW, long t0, long t1, float *v, long es);
/// y [n][o][oh][ow] at tiles t0..<t1 = A^T M A (+ bias[oc]) from mm [alpha^2][t1 - t0][o] (channels
/// contiguous: the products come out tiles x channels), clipped at the edges. The epilogue, on the
/// tile in registers: with `relu`, v < 0 ? 0 : v; with `index` non-null, a 2x2 stride-2 max pool,
/// y then being the pooled [n][o][oh / 2][ow / 2] and index each maximum's flat position in its
/// unpooled oh x ow plane (the bits and positions of the separate ops).
void myelin_winograd_output_f32(int m, const float *mm, long es, long o, long t0, long t1, long tilesH, long tilesW,
                                const float *bias, int relu, float *y, int32_t *index, long oh, long ow);
/// z[e][oc][t - t0] = (A dY A^T)[e] for the m x m tiles of gy [n][o][oh][ow] (zero past the edges):
/// the output gradient's side of the weight gradient. Returns 0 when its scratch buffer could not
/// be allocated.
int myelin_winograd_gradout_f32(int m, const float *gy, long o, long oh, long ow, long tilesH, long tilesW, long t0,
                                 long t1, float *z, long es);
/// u[e][oc][ch] = (G g G^T)[e] for each 3x3 filter g = w[oc][ch] of w [o][c][3][3]; with `flip`,
/// u[e][ch][oc] from the filter rotated 180 degrees (the input gradient's convolution).
void myelin_winograd_weight_f32(int m, const float *w, long o, long c, int flip, float *u);
/// dw[oc][ch] (3x3) = G^T du[.][oc][ch] G, du [alpha^2][o][c]: the weight gradient from its transform.
void myelin_winograd_weight_grad_f32(int m, const float *du, long o, long c, float *dw);

// SHA-256's compression of `blocks` whole 64-byte blocks into `state` (MyelinData/SHA256.swift pads).
void myelin_sha256_blocks(uint32_t state[8], const uint8_t *data, size_t blocks);

#endif
