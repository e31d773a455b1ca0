// Winograd F(2x2,3x3) and F(4x4,3x3) transforms for float32 convolutions (Lavin & Gray 2015):
// a 3x3 correlation of an alpha x alpha input tile (alpha = m + 2) gives an m x m output tile as
//   Y = A^T [ (G g G^T) (.) (B^T d B) ] A,
// and the alpha^2 element-wise products, summed over channels, are alpha^2 matrix products that
// the caller runs through the packed SGEMM. This file holds the transforms only; the buffers are
// [alpha^2][channels][tiles] with tiles contiguous, so each product is an ordinary row-major GEMM.
//
// Vectorisation: eight tiles at a time, in GCC/Clang vector types (portable: SSE pairs on a plain
// x86-64 build, one ymm each in the AVX2 build of the same code, NEON elsewhere). The input rows a
// block of tiles reads are first copied into zero-padded strips, so each tile row is one
// unchecked 8-float load; eight such rows are transposed into one vector per tile column. The
// arithmetic and the buffer side are whole vectors. FP contraction is off, so the AVX2 build gives the same bits as
// the portable one and a run on either CPU repeats bit for bit.
#include "myelin_kernels.h"
#include <stdlib.h>
#include <string.h>

#pragma STDC FP_CONTRACT OFF
#if defined(__clang__)
#pragma clang fp contract(off)
#endif

typedef float v8 __attribute__((vector_size(32)));
typedef int v8i __attribute__((vector_size(32)));
#define LANES 8

// A macro, not a function: passing or returning a 32-byte vector by value without AVX changes the ABI.
#define splat(a) ((v8){(a), (a), (a), (a), (a), (a), (a), (a)})

// MARK: 1-D transforms (r = T d, entries of d and r `s` / `rs` vectors apart)

// F(2,3): B^T, A^T, and the adjoint of A^T (for the output gradient in the weight gradient).
static inline __attribute__((always_inline)) void bt2(const v8 *d, int s, v8 *r, int rs) {
    v8 d0 = d[0], d1 = d[s], d2 = d[2 * s], d3 = d[3 * s];
    r[0] = d0 - d2; r[rs] = d1 + d2; r[2 * rs] = d2 - d1; r[3 * rs] = d1 - d3;
}
static inline __attribute__((always_inline)) void at2(const v8 *m, int s, v8 *y, int ys) {
    v8 m0 = m[0], m1 = m[s], m2 = m[2 * s], m3 = m[3 * s];
    y[0] = m0 + m1 + m2; y[ys] = m1 - m2 - m3;
}
static inline __attribute__((always_inline)) void a2(const v8 *z, int s, v8 *r, int rs) {
    v8 z0 = z[0], z1 = z[s];
    r[0] = z0; r[rs] = z0 + z1; r[2 * rs] = z0 - z1; r[3 * rs] = -z1;
}

// F(4,3)
static inline __attribute__((always_inline)) void bt4(const v8 *d, int s, v8 *r, int rs) {
    v8 d0 = d[0], d1 = d[s], d2 = d[2 * s], d3 = d[3 * s], d4 = d[4 * s], d5 = d[5 * s];
    v8 four = splat(4.0f), five = splat(5.0f), two = splat(2.0f);
    r[0] = four * d0 - five * d2 + d4;
    r[rs] = (d3 + d4) - four * (d1 + d2);
    r[2 * rs] = four * (d1 - d2) + (d4 - d3);
    r[3 * rs] = two * (d3 - d1) + (d4 - d2);
    r[4 * rs] = two * (d1 - d3) + (d4 - d2);
    r[5 * rs] = four * d1 - five * d3 + d5;
}
static inline __attribute__((always_inline)) void at4(const v8 *m, int s, v8 *y, int ys) {
    v8 m0 = m[0], m1 = m[s], m2 = m[2 * s], m3 = m[3 * s], m4 = m[4 * s], m5 = m[5 * s];
    v8 p12 = m1 + m2, d12 = m1 - m2, p34 = m3 + m4, d34 = m3 - m4;
    y[0] = m0 + p12 + p34;
    y[ys] = d12 + splat(2.0f) * d34;
    y[2 * ys] = p12 + splat(4.0f) * p34;
    y[3 * ys] = d12 + splat(8.0f) * d34 + m5;
}
static inline __attribute__((always_inline)) void a4(const v8 *z, int s, v8 *r, int rs) {
    v8 z0 = z[0], z1 = z[s], z2 = z[2 * s], z3 = z[3 * s];
    v8 e = z0 + z2, o = z1 + z3, e4 = z0 + splat(4.0f) * z2, o2 = splat(2.0f) * z1 + splat(8.0f) * z3;
    r[0] = z0; r[rs] = e + o; r[2 * rs] = e - o; r[3 * rs] = e4 + o2; r[4 * rs] = e4 - o2; r[5 * rs] = z3;
}

/// r = G g for three taps (F(2,3) or F(4,3) by m), eight filters a lane: the filter transform.
static inline __attribute__((always_inline)) void g4(int m, const v8 *g, int s, v8 *r, int rs) {
    v8 g0 = g[0], g1 = g[s], g2 = g[2 * s];
    if (m == 2) {
        r[0] = g0; r[rs] = (g0 + g1 + g2) * splat(0.5f); r[2 * rs] = (g0 - g1 + g2) * splat(0.5f); r[3 * rs] = g2;
        return;
    }
    // Products by rounded reciprocals rather than divisions (a float32 1/6 is off by 1e-8
    // relative, far below the transform's own rounding).
    const float sixth = 1.0f / 6.0f, twelfth = 1.0f / 12.0f, f24 = 1.0f / 24.0f;
    r[0] = g0 * splat(0.25f);
    r[rs] = -(g0 + g1 + g2) * splat(sixth);
    r[2 * rs] = -(g0 - g1 + g2) * splat(sixth);
    r[3 * rs] = g0 * splat(f24) + g1 * splat(twelfth) + g2 * splat(sixth);
    r[4 * rs] = g0 * splat(f24) - g1 * splat(twelfth) + g2 * splat(sixth);
    r[5 * rs] = g2;
}

// The scalar transform back (once per product, not per tile): G^T u.
static void gt_apply(int m, const float *u, int s, float *g, int gs) {
    if (m == 2) {
        float u0 = u[0], u1 = u[s], u2 = u[2 * s], u3 = u[3 * s];
        g[0] = u0 + 0.5f * (u1 + u2); g[gs] = 0.5f * (u1 - u2); g[2 * gs] = 0.5f * (u1 + u2) + u3;
    } else {
        float u0 = u[0], u1 = u[s], u2 = u[2 * s], u3 = u[3 * s], u4 = u[4 * s], u5 = u[5 * s];
        const float sixth = 1.0f / 6.0f, twelfth = 1.0f / 12.0f, f24 = 1.0f / 24.0f;
        g[0] = u0 * 0.25f - (u1 + u2) * sixth + (u3 + u4) * f24;
        g[gs] = (u2 - u1) * sixth + (u3 - u4) * twelfth;
        g[2 * gs] = (u3 + u4 - u1 - u2) * sixth + u5;
    }
}

// MARK: Tiles

/// Where each of up to eight tiles starting at global index t sits: its image and top-left corner
/// in tile units times m.
typedef struct { long img[LANES], y[LANES], x[LANES]; int n; } lanes_t;

static inline __attribute__((always_inline)) void lanes_at(lanes_t *L, int m, long t, long t1, long tilesH, long tilesW) {
    long per = tilesH * tilesW;
    L->n = (int)(t1 - t < LANES ? t1 - t : LANES);
    for (int l = 0; l < L->n; l++) {
        long r = (t + l) % per;
        L->img[l] = (t + l) / per;
        L->y[l] = (r / tilesW) * m;
        L->x[l] = (r % tilesW) * m;
    }
    for (int l = L->n; l < LANES; l++) { L->img[l] = L->img[0]; L->y[l] = L->y[0]; L->x[l] = L->x[0]; }
}

/// rows[l] becomes column l: an 8x8 transpose (lane l of tile-row vectors to one vector per lane).
static inline __attribute__((always_inline)) void transpose8(v8 *r) {
    v8 t0 = __builtin_shufflevector(r[0], r[1], 0, 8, 1, 9, 4, 12, 5, 13);
    v8 t1 = __builtin_shufflevector(r[0], r[1], 2, 10, 3, 11, 6, 14, 7, 15);
    v8 t2 = __builtin_shufflevector(r[2], r[3], 0, 8, 1, 9, 4, 12, 5, 13);
    v8 t3 = __builtin_shufflevector(r[2], r[3], 2, 10, 3, 11, 6, 14, 7, 15);
    v8 t4 = __builtin_shufflevector(r[4], r[5], 0, 8, 1, 9, 4, 12, 5, 13);
    v8 t5 = __builtin_shufflevector(r[4], r[5], 2, 10, 3, 11, 6, 14, 7, 15);
    v8 t6 = __builtin_shufflevector(r[6], r[7], 0, 8, 1, 9, 4, 12, 5, 13);
    v8 t7 = __builtin_shufflevector(r[6], r[7], 2, 10, 3, 11, 6, 14, 7, 15);
    v8 s0 = __builtin_shufflevector(t0, t2, 0, 1, 8, 9, 4, 5, 12, 13);
    v8 s1 = __builtin_shufflevector(t0, t2, 2, 3, 10, 11, 6, 7, 14, 15);
    v8 s2 = __builtin_shufflevector(t1, t3, 0, 1, 8, 9, 4, 5, 12, 13);
    v8 s3 = __builtin_shufflevector(t1, t3, 2, 3, 10, 11, 6, 7, 14, 15);
    v8 s4 = __builtin_shufflevector(t4, t6, 0, 1, 8, 9, 4, 5, 12, 13);
    v8 s5 = __builtin_shufflevector(t4, t6, 2, 3, 10, 11, 6, 7, 14, 15);
    v8 s6 = __builtin_shufflevector(t5, t7, 0, 1, 8, 9, 4, 5, 12, 13);
    v8 s7 = __builtin_shufflevector(t5, t7, 2, 3, 10, 11, 6, 7, 14, 15);
    r[0] = __builtin_shufflevector(s0, s4, 0, 1, 2, 3, 8, 9, 10, 11);
    r[4] = __builtin_shufflevector(s0, s4, 4, 5, 6, 7, 12, 13, 14, 15);
    r[1] = __builtin_shufflevector(s1, s5, 0, 1, 2, 3, 8, 9, 10, 11);
    r[5] = __builtin_shufflevector(s1, s5, 4, 5, 6, 7, 12, 13, 14, 15);
    r[2] = __builtin_shufflevector(s2, s6, 0, 1, 2, 3, 8, 9, 10, 11);
    r[6] = __builtin_shufflevector(s2, s6, 4, 5, 6, 7, 12, 13, 14, 15);
    r[3] = __builtin_shufflevector(s3, s7, 0, 1, 2, 3, 8, 9, 10, 11);
    r[7] = __builtin_shufflevector(s3, s7, 4, 5, 6, 7, 12, 13, 14, 15);
}

/// dst[0..<n] = src[0..<n] for the short rows of these images: up to two 8-float blocks, then the
/// tail in 4-, 2- and 1-float pieces. Every piece has a constant size, so the compiler moves it
/// with vector loads in place; a memcpy of a variable size was a libc call per row, which perf
/// charged with about a tenth of cnn_train (__memmove_avx512_unaligned_erms under the transforms),
/// though cnn_train's CPU time did not measurably change without it (4,139 against 4,095 ms).
static inline __attribute__((always_inline)) void copy_floats(float *dst, const float *src, long n) {
    // Longer rows: one call, its cost spread over them (a loop of 8-float pieces would be turned
    // back into that call by the compiler anyway).
    if (n > 16) { memcpy(dst, src, sizeof(float) * (size_t)n); return; }
    long i = 0;
    if (n - i >= 8) { memcpy(dst + i, src + i, 8 * sizeof(float)); i += 8; }
    if (n - i >= 8) { memcpy(dst + i, src + i, 8 * sizeof(float)); i += 8; }
    if (n - i >= 4) { memcpy(dst + i, src + i, 4 * sizeof(float)); i += 4; }
    if (n - i >= 2) { memcpy(dst + i, src + i, 2 * sizeof(float)); i += 2; }
    if (n - i >= 1) memcpy(dst + i, src + i, sizeof(float));
}

/// The rows of plane p (of `planes` per image) that the tile rows g0..<g1 read (global tile row g:
/// image g / tilesH, tile row g % tilesH), copied into buf as (g1 - g0) strips of `rows` x wp floats
/// with the image at column padLeft and zeros around it: every tile then lies inside its strip, and
/// each tile row is one unchecked 8-float load (wp leaves the slack). One plane at a time, so the
/// strips stay in L1 while the transforms read them.
static void fill_strips(float *buf, const float *x, long planes, long p, long h, long w, long padTop, long padLeft,
                        int m, int rows, long tilesH, long wp, long g0, long g1) {
    // Zeros everywhere in one call, then the image rows over them (per-row zeroing of the
    // margins cost more than the copies).
    memset(buf, 0, sizeof(float) * (size_t)((g1 - g0) * rows * wp));
    for (long g = g0; g < g1; g++) {
        long img = g / tilesH, top = (g % tilesH) * m - padTop;
        const float *src = x + (img * planes + p) * h * w;
        float *dst = buf + (g - g0) * rows * wp + padLeft;
        long i0 = top < 0 ? -top : 0, i1 = h - top < rows ? h - top : rows;
        for (long i = i0; i < i1; i++) copy_floats(dst + i * wp, src + (top + i) * w, w);
    }
}

/// Each tile's corner in the strips of fill_strips, for tiles t0..<t1 (rounded up to whole lane
/// groups; the extra lanes repeat their group's first tile). NULL when malloc fails.
static long *tile_offsets(int m, int rows, long t0, long t1, long tilesH, long tilesW, long wp, long g0) {
    long *off = malloc(sizeof(long) * (size_t)(t1 - t0 + LANES));
    if (!off) return NULL;
    for (long t = t0; t < t1; t += LANES) {
        lanes_t L;
        lanes_at(&L, m, t, t1, tilesH, tilesW);
        for (int l = 0; l < LANES; l++) off[t - t0 + l] = (L.img[l] * tilesH + L.y[l] / m - g0) * rows * wp + L.x[l];
    }
    return off;
}

/// size x size tiles of each lane's plane `ch` (lane l's corner at `at[l]`, rows wp apart) into
/// p[i * size + j], lane l of each vector: rows loaded whole, then transposed.
static inline __attribute__((always_inline)) void gather(v8 *p, int size, const float *const *at, long wp) {
    for (int i = 0; i < size; i++) {
        v8 rows[LANES];
        for (int l = 0; l < LANES; l++) memcpy(&rows[l], at[l] + i * wp, sizeof(v8));
        transpose8(rows);
        for (int j = 0; j < size; j++) p[i * size + j] = rows[j];
    }
}

/// Stores the vector's first n lanes to out[0..<n].
static inline __attribute__((always_inline)) void put(float *out, const v8 *v, int n) {
    if (n == LANES) memcpy(out, v, sizeof(v8));
    else copy_floats(out, (const float *)v, n);
}

static inline __attribute__((always_inline)) void get(v8 *v, const float *in, int n) {
    if (n == LANES) { memcpy(v, in, sizeof(v8)); return; }
    *v = splat(0.0f);
    copy_floats((float *)v, in, n);
}

// MARK: Bodies (m a constant where called; instantiated portable and with AVX2 below)

/// The transforms that read tiles of an image, into alpha^2 planes `es` apart, plane by plane
/// (each plane's strips, then every tile's transform of it, eight tiles at a time):
/// - input (`grad` 0): v[e][ch][t - t0] = (B^T d B)[e] of the alpha x alpha patches d of x
///   [n][c][h][w] read at (tile row - padTop, tile column - padLeft);
/// - output gradient (`grad` 1): z[e][oc][t - t0] = (A dY A^T)[e] of the m x m tiles dY of gy
///   [n][o][oh][ow] (no padding).
/// Zero outside the image. Returns 0 when the scratch buffers could not be allocated.
static inline __attribute__((always_inline)) int tiles_body(int m, int grad, const float *x, long c, long h, long w,
                                                            long padTop, long padLeft, long tilesH, long tilesW,
                                                            long t0, long t1, float *v, long es) {
    int a = m + 2, size = grad ? m : a;
    long T = t1 - t0, g0 = t0 / tilesW, g1 = (t1 - 1) / tilesW + 1, wp = tilesW * m + 8;
    float *buf = malloc(sizeof(float) * (size_t)((g1 - g0) * size * wp));
    long *off = tile_offsets(m, size, t0, t1, tilesH, tilesW, wp, g0);
    if (!buf || !off) { free(buf); free(off); return 0; }
    for (long ch = 0; ch < c; ch++) {
        fill_strips(buf, x, c, ch, h, w, padTop, padLeft, m, size, tilesH, wp, g0, g1);
        for (long t = t0; t < t1; t += LANES) {
            int n = (int)(t1 - t < LANES ? t1 - t : LANES);
            const float *at[LANES];
            for (int l = 0; l < LANES; l++) at[l] = buf + off[t - t0 + l];
            v8 d[36], tmp[36], r[36];
            gather(d, size, at, wp);
            if (!grad) {
                // Columns, then rows: r = B^T d B.
                for (int j = 0; j < a; j++) { if (m == 2) bt2(d + j, a, tmp + j, a); else bt4(d + j, a, tmp + j, a); }
                for (int i = 0; i < a; i++) { if (m == 2) bt2(tmp + i * a, 1, r + i * a, 1); else bt4(tmp + i * a, 1, r + i * a, 1); }
            } else {
                // Columns (m -> a rows), then rows: r = A dY A^T.
                for (int j = 0; j < m; j++) { if (m == 2) a2(d + j, m, tmp + j, m); else a4(d + j, m, tmp + j, m); }
                for (int i = 0; i < a; i++) { if (m == 2) a2(tmp + i * m, 1, r + i * a, 1); else a4(tmp + i * m, 1, r + i * a, 1); }
            }
            for (int e = 0; e < a * a; e++) put(v + e * es + ch * T + (t - t0), &r[e], n);
        }
    }
    free(buf);
    free(off);
    return 1;
}

/// The epilogue's 2x2 max pool of one tile's m x m outputs (r, one vector per output position, a
/// lane per channel) into pooled [img][o][oh / 2][ow / 2] and index (the flat position in the
/// unpooled plane), for the windows inside the pooled plane. Each window is scanned as the pooling
/// kernel's general loop scans it (row by row, from -inf, a larger value or the first NaN wins), so
/// values and positions are the bits of relu and max pooling run as separate ops.
static inline __attribute__((always_inline)) void pool_tile(int m, const v8 *r, int n, long img, long oc, long o,
                                                            long y0, long x0, long oh, long ow, float *pooled,
                                                            int32_t *index) {
    long ph = oh / 2, pw = ow / 2;
    for (int a = 0; a < m / 2; a++) {
        long py = y0 / 2 + a;
        if (py >= ph) break;
        for (int b = 0; b < m / 2; b++) {
            long px = x0 / 2 + b;
            if (px >= pw) break;
            v8 best = splat(-__builtin_inff());
            v8i at = (v8i){0, 0, 0, 0, 0, 0, 0, 0} + (int)((2 * py) * ow + 2 * px);
            for (int k = 0; k < 4; k++) {
                int di = k >> 1, dj = k & 1;
                v8 v = r[(2 * a + di) * m + 2 * b + dj];
                v8i take = (v > best) | ((v != v) & (best == best));
                best = (v8)(((v8i)v & take) | ((v8i)best & ~take));
                v8i pos = (v8i){0, 0, 0, 0, 0, 0, 0, 0} + (int)((2 * py + di) * ow + 2 * px + dj);
                at = (pos & take) | (at & ~take);
            }
            long base = ((img * o + oc) * ph + py) * pw + px;
            for (int l = 0; l < n; l++) {
                pooled[base + l * ph * pw] = best[l];
                index[base + l * ph * pw] = at[l];
            }
        }
    }
}

/// Products mm [alpha^2][tiles][o] (channels contiguous): eight output channels of one tile at a time.
static inline __attribute__((always_inline)) void output_body(int m, const float *mm, long es, long o, long t0, long t1,
                                                              long tilesH, long tilesW, const float *bias, int relu,
                                                              float *y, int32_t *index, long oh, long ow) {
    int a = m + 2;
    long T = t1 - t0, per = tilesH * tilesW;
    for (long t = t0; t < t1; t++) {
        long img = t / per, at = t % per, y0 = (at / tilesW) * m, x0 = (at % tilesW) * m;
        long rows = oh - y0 < m ? oh - y0 : m, cols = ow - x0 < m ? ow - x0 : m;
        for (long oc = 0; oc < o; oc += LANES) {
            int n = (int)(o - oc < LANES ? o - oc : LANES);
            v8 mv[36], tmp[24], r[16];
            for (int e = 0; e < a * a; e++) get(&mv[e], mm + e * es + (t - t0) * o + oc, n);
            // Columns (a -> m rows), then rows: r = A^T M A.
            for (int j = 0; j < a; j++) { if (m == 2) at2(mv + j, a, tmp + j, a); else at4(mv + j, a, tmp + j, a); }
            for (int i = 0; i < m; i++) { if (m == 2) at2(tmp + i * a, 1, r + i * m, 1); else at4(tmp + i * a, 1, r + i * m, 1); }
            if (bias) {
                v8 b;
                get(&b, bias + oc, n);
                for (int e = 0; e < m * m; e++) r[e] += b;
            }
            // relu as the op computes it, v < 0 ? 0 : v (so -0 and NaN pass unchanged).
            if (relu)
                for (int e = 0; e < m * m; e++) r[e] = (v8)((v8i)r[e] & ~(r[e] < splat(0.0f)));
            if (index) {
                pool_tile(m, r, n, img, oc, o, y0, x0, oh, ow, y, index);
                continue;
            }
            // Each output row: transposed to one vector per channel, stored whole where the tile
            // lies inside, clipped at the right and bottom edges.
            float *dst = y + ((img * o + oc) * oh + y0) * ow + x0;
            for (int i = 0; i < rows; i++) {
                v8 rv[LANES];
                for (int j = 0; j < LANES; j++) rv[j] = j < m ? r[i * m + j] : splat(0.0f);
                transpose8(rv);
                for (int l = 0; l < n; l++) {
                    float *d = dst + l * oh * ow + i * ow;
                    if (cols == m) memcpy(d, &rv[l], sizeof(float) * (size_t)m);
                    else copy_floats(d, (const float *)&rv[l], cols);
                }
            }
        }
    }
}

/// G g G^T for eight filters at a time, one per lane: the destinations u[e][at..<at + 8] are
/// contiguous (at = oc c + ch, or ch o + oc with `flip`), so each of the alpha^2 results is one
/// vector store; the taps are gathered lane by lane. Once per product, not per tile.
static inline __attribute__((always_inline)) void weight_body(int m, const float *w, long o, long c, int flip,
                                                              float *u) {
    int a = m + 2;
    long total = o * c;
    for (long at = 0; at < total; at += LANES) {
        int n = (int)(total - at < LANES ? total - at : LANES);
        v8 g[9], tmp[18], r[36];
        for (int e = 0; e < 9; e++) g[e] = splat(0.0f);
        for (int l = 0; l < n; l++) {
            long d = at + l, oc = flip ? d % o : d / c, ch = flip ? d / o : d % c;
            const float *k = w + (oc * c + ch) * 9;
            for (int e = 0; e < 9; e++) g[e][l] = flip ? k[8 - e] : k[e];
        }
        for (int j = 0; j < 3; j++) g4(m, g + j, 3, tmp + j, 3);              // columns: a x 3
        for (int i = 0; i < a; i++) g4(m, tmp + i * 3, 1, r + i * a, 1);      // rows: a x a
        for (int e = 0; e < a * a; e++) put(u + e * total + at, &r[e], n);
    }
}

// Two builds of each body, each with m fixed (fully unrolled transforms): portable, and AVX2 (a
// ymm per vector instead of two xmm) where the CPU has it. Both give the same bits (no
// contraction; the same operations in the same order).
#define VARIANTS(suffix, attr)                                                                                       \
    attr static int input_##suffix(int m, const float *x, long c, long h, long w, long pt, long pl, long th, long tw, \
                                   long t0, long t1, float *v, long es) {                                            \
        return m == 2 ? tiles_body(2, 0, x, c, h, w, pt, pl, th, tw, t0, t1, v, es)                                   \
                      : tiles_body(4, 0, x, c, h, w, pt, pl, th, tw, t0, t1, v, es);                                  \
    }                                                                                                                \
    attr static void output_##suffix(int m, const float *mm, long es, long o, long t0, long t1, long th, long tw,    \
                                     const float *bias, int relu, float *y, int32_t *index, long oh, long ow) {      \
        if (m == 2) output_body(2, mm, es, o, t0, t1, th, tw, bias, relu, y, index, oh, ow);                         \
        else output_body(4, mm, es, o, t0, t1, th, tw, bias, relu, y, index, oh, ow);                                \
    }                                                                                                                \
    attr static int gradout_##suffix(int m, const float *gy, long o, long oh, long ow, long th, long tw, long t0,    \
                                     long t1, float *z, long es) {                                                   \
        return m == 2 ? tiles_body(2, 1, gy, o, oh, ow, 0, 0, th, tw, t0, t1, z, es)                                  \
                      : tiles_body(4, 1, gy, o, oh, ow, 0, 0, th, tw, t0, t1, z, es);                                 \
    }                                                                                                                \
    attr static void weight_##suffix(int m, const float *w, long o, long c, int flip, float *u) {                   \
        if (m == 2) weight_body(2, w, o, c, flip, u);                                                                \
        else weight_body(4, w, o, c, flip, u);                                                                       \
    }

VARIANTS(portable, )
#if defined(__x86_64__)
VARIANTS(avx2, __attribute__((target("avx2,fma"))))
#define HAS_AVX2 myelin_cpu_has_avx2_fma()
#else
#define HAS_AVX2 0
#define input_avx2 input_portable
#define output_avx2 output_portable
#define gradout_avx2 gradout_portable
#define weight_avx2 weight_portable
#endif

int myelin_winograd_input_f32(int m, const float *x, long c, long h, long w, long padTop, long padLeft, long tilesH,
                              long tilesW, long t0, long t1, float *v, long es) {
    if (HAS_AVX2) return input_avx2(m, x, c, h, w, padTop, padLeft, tilesH, tilesW, t0, t1, v, es);
    return input_portable(m, x, c, h, w, padTop, padLeft, tilesH, tilesW, t0, t1, v, es);
}

void myelin_winograd_output_f32(int m, const float *mm, long es, long o, long t0, long t1, long tilesH, long tilesW,
                                const float *bias, int relu, float *y, int32_t *index, long oh, long ow) {
    if (HAS_AVX2) output_avx2(m, mm, es, o, t0, t1, tilesH, tilesW, bias, relu, y, index, oh, ow);
    else output_portable(m, mm, es, o, t0, t1, tilesH, tilesW, bias, relu, y, index, oh, ow);
}

int myelin_winograd_gradout_f32(int m, const float *gy, long o, long oh, long ow, long tilesH, long tilesW, long t0,
                                long t1, float *z, long es) {
    if (HAS_AVX2) return gradout_avx2(m, gy, o, oh, ow, tilesH, tilesW, t0, t1, z, es);
    return gradout_portable(m, gy, o, oh, ow, tilesH, tilesW, t0, t1, z, es);
}

void myelin_winograd_weight_f32(int m, const float *w, long o, long c, int flip, float *u) {
    if (HAS_AVX2) weight_avx2(m, w, o, c, flip, u);
    else weight_portable(m, w, o, c, flip, u);
}

void myelin_winograd_weight_grad_f32(int m, const float *du, long o, long c, float *dw) {
    int a = m + 2;
    for (long oc = 0; oc < o; oc++)
        for (long ch = 0; ch < c; ch++) {
            float u[36], tmp[18];
            for (int e = 0; e < a * a; e++) u[e] = du[e * o * c + oc * c + ch];
            for (int j = 0; j < a; j++) gt_apply(m, u + j, a, tmp + j, a);     // columns: 3 x a
            for (int i = 0; i < 3; i++) gt_apply(m, tmp + i * a, 1, dw + (oc * c + ch) * 9 + i * 3, 1);
        }
}
