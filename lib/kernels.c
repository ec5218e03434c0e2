/* kernels.c - the element-wise passes, written so the compiler vectorises
 * them: contiguous memory, restrict, no branches in the loop bodies.
 *
 * The hot kernels are built for several instruction sets (AVX-512, AVX2
 * with FMA, and the x86-64 baseline) and the best one is picked at load
 * time.  The element-wise results are the same bits in every clone (the
 * same IEEE operations in the same order; no FMA contraction under
 * -std=c11), with these exceptions, contracted into fused multiply-adds
 * (MLP2_FMA): the sigmoid kernels of every path (mlp2__bias_sigmoid, the
 * small-shape path's mlp2__bias_sigmoid_rows and
 * mlp2__sigmoid_linear1_lanes, and the latency path, rows.c), where the
 * sigmoid is most of the work and FMAs halve its exp polynomial's chain;
 * and blas.c's mlp2__gemm_few_k, for its products.  Their AVX-512 and AVX2
 * clones give the same bits as each other; the baseline clone, which has
 * no FMA, may differ from them in the last bit.  mlp2__bias_sigmoid_exact
 * is the uncontracted sigmoid, the same bits in every clone, for
 * mlp2_predict_portable.  Only the order of the loss sum follows the
 * vector width. */
#include "internal.h"
#include "elementwise.h"

#include <math.h>
#include <string.h>

MLP2_CLONES
bool mlp2__all_finite(size_t n, const double *restrict x)
{
    uint64_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= mlp2__nonfinite_bit(x[i]);
    return (acc >> 63) == 0;
}

MLP2_CLONES
double mlp2__absmax(size_t n, const double *restrict x)
{
    /* the magnitude bits order like |x| (NaN above Inf), and an integer
     * maximum vectorises without -ffast-math */
    int64_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const int64_t a = (int64_t)(mlp2__bits_of(x[i]) & 0x7fffffffffffffffu);
        m = a > m ? a : m;
    }
    return mlp2__double_of((uint64_t)m);
}

MLP2_CLONES
bool mlp2__step_finite(size_t n, const double *restrict theta, double lr, const double *restrict g)
{
    uint64_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= mlp2__nonfinite_bit(theta[i] - lr * g[i]);
    return (acc >> 63) == 0;
}

/* theta -= lr * g, the same expression as mlp2__step_finite's, so that the
 * check and the write agree to the bit (a BLAS daxpy may fuse the multiply
 * and round differently at the overflow edge) */
MLP2_CLONES
void mlp2__sgd_update(size_t n, double *restrict theta, double lr, const double *restrict g)
{
    for (size_t i = 0; i < n; i++)
        theta[i] = theta[i] - lr * g[i];
}

/* One stripe of each kernel: len contiguous elements and their biases.
 * Inlined, so the caller's attributes decide whether the sigmoid stripe
 * contracts into FMAs (objdump: 84 and 112 FMA instructions in
 * mlp2__bias_sigmoid's AVX2 and AVX-512 clones, none in _exact's). */
static inline void sigmoid_stripe(size_t len, double *restrict a, const double *restrict bb)
{
    for (size_t j = 0; j < len; j++)
        a[j] = mlp2__sigmoid(a[j] + bb[j]); /* A1 = sigmoid(Z1 + b1) */
}

static inline void add_stripe(size_t len, double *restrict a, const double *restrict bb)
{
    for (size_t j = 0; j < len; j++)
        a[j] += bb[j];
}

static inline double residual_stripe(size_t len, double *restrict z, const double *restrict bb,
                                     const double *restrict y, double inv_m)
{
    double s = 0.0;
#pragma omp simd reduction(+ : s)
    for (size_t j = 0; j < len; j++) {
        const double r = z[j] + bb[j] - y[j]; /* A2 - Y, with A2 = Z2 + b2 */
        s += r * r;
        z[j] = r * inv_m; /* delta2 = (A2 - Y) / m */
    }
    return s;
}

/* The BLAS path's A = sigmoid(A + b), contracted into FMAs (MLP2_FMA):
 * the exp polynomial's chain is then half as long, and this kernel is most
 * of the element-wise time of medium shapes (mlp2-ab, one thread, new /
 * old time, 10-32-1 at 1024 rows: predict 0.78, step 0.83 on an AMD Zen 4
 * machine, 0.89 and 0.93 on a Zen 3 one; 64-256-1 0.96-0.98). */
MLP2_CLONES MLP2_FMA
void mlp2__bias_sigmoid(size_t rows, size_t cols, double *restrict A, const double *restrict b)
{
    FOR_EACH_STRIPE(rows, cols, b, { sigmoid_stripe(len, A + off, bb); });
}

/* The same stripe, not contracted: the reference bits, the same in every
 * clone, for mlp2_predict_portable and the code mlp2_export_c writes. */
MLP2_CLONES
void mlp2__bias_sigmoid_exact(size_t rows, size_t cols, double *restrict A, const double *restrict b)
{
    FOR_EACH_STRIPE(rows, cols, b, { sigmoid_stripe(len, A + off, bb); });
}

MLP2_CLONES
void mlp2__bias_add(size_t rows, size_t cols, double *restrict A, const double *restrict b)
{
    FOR_EACH_STRIPE(rows, cols, b, { add_stripe(len, A + off, bb); });
}

MLP2_CLONES
double mlp2__residual_delta2(size_t rows, size_t cols, double *restrict Z2, const double *restrict b,
                             const double *restrict Y, double inv_m)
{
    double sse = 0.0;
    FOR_EACH_STRIPE(rows, cols, b, { sse += residual_stripe(len, Z2 + off, bb, Y + off, inv_m); });
    return sse;
}

MLP2_CLONES
void mlp2__delta1(size_t n, double *restrict D1, const double *restrict A1)
{
    for (size_t i = 0; i < n; i++)
        D1[i] = D1[i] * (A1[i] * (1.0 - A1[i])); /* delta1 = (delta2 W2^T) .* A1 .* (1 - A1) */
}

/* One row's output error: (b2 + a1 . w2) - y, the dot summed in vector
 * lanes.  Shared by the loss-only and the gradient cases of the kernel
 * below, so that their losses are the same bits. */
static inline double row_residual(size_t nh, const double *restrict a, const double *restrict w2,
                                  double b2, double y)
{
    double dot = 0.0;
#pragma omp simd reduction(+ : dot)
    for (size_t j = 0; j < nh; j++)
        dot += a[j] * w2[j];
    return (b2 + dot) - y; /* A2 - Y, with A2 = A1 W2 + b2 */
}

/* The last three equations of the tail below for q rows (1 or 4, a
 * constant once inlined), from their hidden units a (q x nh, overwritten
 * by delta1) and their delta2 d2; each unit's sums go in row order. */
static inline __attribute__((always_inline)) void tail_update(size_t q, size_t nh, double *restrict a,
                                                              const double *restrict d2,
                                                              const double *restrict w2, double *restrict gw2,
                                                              double *restrict gb1)
{
    for (size_t j = 0; j < nh; j++) {
        const double w = w2[j];
        double g = gw2[j], h = gb1[j];
        for (size_t k = 0; k < q; k++) {
            const double s = a[k * nh + j];
            g += d2[k] * s;                             /* gW2 += a1^T delta2 */
            const double e = (d2[k] * w) * (s * (1.0 - s)); /* delta1 */
            a[k * nh + j] = e;
            h += e; /* gb1 += delta1 */
        }
        gw2[j] = g;
        gb1[j] = h;
    }
}

#define TAIL_GROUP_VALUES 1024

/* The seed's network with one output (sigmoid hidden units, a linear
 * output, MSE), after Z1 = X W1: each row's hidden units go through every
 * element-wise step and the output layer's products in one pass while they
 * sit in L1, instead of five passes over the block and three skinny
 * products (A1 w2, A1^T delta2, delta2 w2^T, each with one column).  Per
 * group of rows, first A1 = sigmoid(Z1 + b1) (mlp2__bias_sigmoid: its
 * long vector loop overlaps the rows' exp chains, which a per-row sigmoid
 * fused with the rest did not: 10-32-1 step 110 ns a row against 87),
 * then per row:
 *     r = (b2 + a1 . w2) - y; sse += r^2     A2 - Y, with A2 = A1 W2 + b2
 *     d2 = r / m                             delta2 = (A2 - Y) / m
 *     gb2 += d2; gw2 += d2 a1                delta2^T 1, A1^T delta2
 *     d1 = (d2 w2) .* a1 .* (1 - a1)         delta1 = delta2 W2^T .* A1 .* (1 - A1)
 *     gb1 += d1                              delta1^T 1
 * d2 goes to D2, and d1 over a1 in A1 (nothing reads a1 after its row's
 * update), for the caller's gW1 = X^T delta1: the stores then go to lines
 * the group's reads brought into L1, where a separate D1 pulled a block's
 * worth of lines from L2 (10-32-1 step 7-10% faster, 64-256-1 9-10% at
 * 1024 rows and more: bench/RESULTS.md).  The sums over rows go in row
 * order; a1 . w2 is summed in vector lanes, so its order follows the
 * instruction set (like the loss sum), the same bits run after run.
 * gb1 NULL: the loss alone, through the same row_residual (A1 left as
 * sigmoid(Z1 + b1)). */
MLP2_CLONES
double mlp2__sigmoid_linear1_tail(size_t rows, size_t nh, double *restrict A1, const double *restrict b1,
                                  const double *restrict w2, double b2, const double *restrict y,
                                  double inv_m, double beta, double *restrict D2, double *restrict gb1,
                                  double *restrict gw2, double *restrict gb2)
{
    if (!gb1) { /* the loss alone: the same residuals, no gradient */
        mlp2__bias_sigmoid(rows, nh, A1, b1); /* A1 = sigmoid(Z1 + b1), in place */
        double sse = 0.0;
        for (size_t i = 0; i < rows; i++) {
            const double r = row_residual(nh, A1 + i * nh, w2, b2, y[i]);
            sse += r * r;
        }
        return sse;
    }
    if (beta == 0.0) {
        memset(gb1, 0, nh * sizeof *gb1);
        memset(gw2, 0, nh * sizeof *gw2);
        *gb2 = 0.0;
    }
    double sse = 0.0, sb2 = *gb2;
    /* Groups of about TAIL_GROUP_VALUES hidden units, in whole fours of
     * rows (32 rows of 32 units, 24 of 40; at least 4 rows), which stay in
     * L1 from the sigmoid to the updates: first every row's residual
     * (independent dots, which run side by side), then the updates four
     * rows at a time, each gw2[j] and gb1[j] loaded and stored once for
     * the four instead of once a row.  Every sum still goes row by row in
     * row order: the bits are those of one row at a time.  Measured
     * (mlp2-ab, one thread): bench/RESULTS.md. */
    const size_t G = nh < TAIL_GROUP_VALUES / 4 ? TAIL_GROUP_VALUES / nh / 4 * 4 : 4; /* whole fours */
    for (size_t i0 = 0; i0 < rows; i0 += G) {
        const size_t n = rows - i0 < G ? rows - i0 : G;
        double *restrict a = A1 + i0 * nh, *restrict d2 = D2 + i0;
        mlp2__bias_sigmoid(n, nh, a, b1);
        for (size_t k = 0; k < n; k++) {
            const double r = row_residual(nh, a + k * nh, w2, b2, y[i0 + k]); /* A2 - Y */
            sse += r * r;
            d2[k] = r * inv_m; /* delta2 = (A2 - Y) / m */
            sb2 += d2[k];      /* gb2 += delta2 */
        }
        size_t k = 0;
        for (; k + 4 <= n; k += 4)
            tail_update(4, nh, a + k * nh, d2 + k, w2, gw2, gb1);
        for (; k < n; k++)
            tail_update(1, nh, a + k * nh, d2 + k, w2, gw2, gb1);
    }
    *gb2 = sb2;
    return sse;
}

/*
 * Kernels of the small-shape path (pass.c), which holds a tile of rows
 * transposed: one row per unit, one column per sample.  The bias is then one
 * number per row of the tile, and every loop runs along the samples.
 */

MLP2_CLONES
void mlp2__transpose(size_t rows, size_t cols, const double *restrict A, size_t lda,
                     double *restrict At)
{
    if (cols == 1 && lda == 1) {
        memcpy(At, A, rows * sizeof *At);
        return;
    }
    for (size_t j = 0; j < cols; j++)
        for (size_t i = 0; i < rows; i++)
            At[j * rows + i] = A[i * lda + j];
}

MLP2_CLONES MLP2_FMA
void mlp2__bias_sigmoid_rows(size_t rows, size_t cols, double *restrict A, const double *restrict b)
{
    for (size_t i = 0; i < rows; i++) {
        double *restrict a = A + i * cols;
        const double bi = b[i];
        for (size_t j = 0; j < cols; j++)
            a[j] = mlp2__sigmoid(a[j] + bi); /* A1 = sigmoid(Z1 + b1) */
    }
}

MLP2_CLONES
double mlp2__residual_delta2_rows(size_t rows, size_t cols, double *restrict Z2, const double *restrict b,
                                  const double *restrict Y, double inv_m)
{
    double sse = 0.0;
    for (size_t i = 0; i < rows; i++) {
        double *restrict z = Z2 + i * cols;
        const double *restrict y = Y + i * cols;
        const double bi = b[i];
        double s = 0.0;
#pragma omp simd reduction(+ : s)
        for (size_t j = 0; j < cols; j++) {
            const double r = z[j] + bi - y[j]; /* A2 - Y, with A2 = Z2 + b2 */
            s += r * r;
            z[j] = r * inv_m; /* delta2 = (A2 - Y) / m */
        }
        sse += s;
    }
    return sse;
}

/* xt = X^T for a tile of n rows of X (ni values each), one row of xt per
 * input, ld apart, its columns n .. cols-1 zero.  The lane kernel below
 * inlines it with ni a constant for ni <= 4 (its switch), so that the
 * compiler loads whole vectors of X and deinterleaves them instead of
 * moving one value at a time (11% of 2-3-1's kernel at 64 rows), and with
 * ni as given above that.  Measured
 * (mlp2-bench --shapes 2-3-1 --batches 16,64,1024,65536 --ops
 * predict,step, one thread, old and new library alternated three times,
 * Nov 30 16:40 UTC): predict 4.86-5.16 -> 4.08-4.43 ns a row at 64 rows,
 * 3.98-4.45 -> 3.84-4.02 at 1024; step 5.96-7.21 -> 5.38-6.42 at 64,
 * 5.63-5.95 -> 4.87-5.52 at 1024 (with the rows outer; input by input, as
 * now for every ni, the same speed: mlp2-ab, 2-3-1 predict at 64 rows 0.84
 * of the build before in two runs).  Only data moves: the same bits. */
static inline __attribute__((always_inline)) void tile_transpose(size_t n, size_t cols, size_t ni,
                                                                 const double *restrict X,
                                                                 double *restrict xt, size_t ld)
{
    for (size_t i = 0; i < ni; i++) {
        for (size_t j = 0; j < n; j++)
            xt[i * ld + j] = X[j * ni + i];
        for (size_t j = n; j < cols; j++)
            xt[i * ld + j] = 0.0;
    }
}

/* The lane kernel's backward pass for hidden unit h over a tile of cols
 * rows (whole groups of MLP2_LANES), its accumulators in lanes:
 *     gw2 += d2 a1;  d1 = (d2 w2) .* a1 .* (1 - a1);  gb1 += d1;  gW1 += x^T d1
 * Unit by unit, its ni + 2 accumulators stay in registers across the
 * tile's groups for the constant ni <= 4 of the kernel's switch (group by
 * group, every unit's went through memory at each group); each lane still
 * sums its rows in the same order, so the bits are the same.  Measured
 * (mlp2-ab, 2-3-1 step, one thread, the library before against this one,
 * Dec 1 on the AMD Zen 4 machine): 0.90 and 0.91 of the time at 64 rows,
 * 0.86 and 0.87 at 1024. */
static inline __attribute__((always_inline)) void
lanes_backward(size_t cols, size_t ni, size_t nh, size_t h, const double *restrict xt, size_t ld,
               const double *restrict a, const double *restrict dt, const double *restrict w2,
               double *restrict gW1, double *restrict gb1, double *restrict gw2)
{
    enum { L = MLP2_LANES };
    double sw[L], sb[L], sx[MLP2_SMALL_WORK][L]; /* gw2, gb1 and gW1's column h, in lanes */
    memcpy(sw, gw2 + h * L, sizeof sw);
    memcpy(sb, gb1 + h * L, sizeof sb);
    for (size_t i = 0; i < ni; i++)
        memcpy(sx[i], gW1 + (i * nh + h) * L, sizeof sx[i]);
    for (size_t g = 0; g < cols; g += L) {
        double d1[L];
#pragma omp simd
        for (size_t u = 0; u < L; u++) {
            const double s = a[h * ld + g + u], d2 = dt[g + u];
            sw[u] += d2 * s;                        /* gW2 += a1^T delta2 */
            d1[u] = (d2 * w2[h]) * (s * (1.0 - s)); /* delta1 */
            sb[u] += d1[u];                         /* gb1 += delta1 */
        }
        for (size_t i = 0; i < ni; i++)
#pragma omp simd
            for (size_t u = 0; u < L; u++)
                sx[i][u] += xt[i * ld + g + u] * d1[u]; /* gW1 += x^T delta1 */
    }
    memcpy(gw2 + h * L, sw, sizeof sw);
    memcpy(gb1 + h * L, sb, sizeof sb);
    for (size_t i = 0; i < ni; i++)
        memcpy(gW1 + (i * nh + h) * L, sx[i], sizeof sx[i]);
}

/* The lane kernel's tiles hold at most 256 rows (the tiled kernels', pass.c,
 * MLP2_SMALL_MAX_TILE = 512).  Only the shapes with ni + nh + 1 < 16 come
 * near it, 2-3-1 (512 rows before) among them; their sums run lane by lane
 * in the same order whatever the tile, so the bits are the same.  Measured
 * (mlp2-ab, 2-3-1, one thread, both load orders, Dec 1 on the AMD Zen 4
 * machine, whose L1 holds 32 KiB: a 512-row tile of 2-3-1 takes 25 KiB):
 * with 256 rows the step at 1024 rows took 0.93-0.97 of the time in three
 * pairs of runs, at 65536 rows 0.93 and 1.01, predict at 4096 rows 0.97;
 * the step at 64 rows, which the tile does not change, 0.97 (the noise of
 * such a pair).  384 rows about the same as 256; 192 and 128 less. */
#define LANES_MAX_TILE 256

/* The seed's network with one output on the small path: sigmoid hidden
 * units, a linear output, MSE, a few inputs and hidden units (at most
 * MLP2_SMALL_WORK multiply-adds a row).  The tiled path spends most of its
 * time there on six short products, each a loop nest with its own set-up
 * and its own sums over the tile (2-3-1 at 64 rows: 47% of the step in
 * mlp2__lgemm against 29% in the sigmoid).  Here the rows go through every
 * step at once, MLP2_LANES rows at a time, one row per vector lane:
 *     z1 = b1 + x W1; a1 = sigmoid(z1)            (FMA, as mlp2__bias_sigmoid_rows)
 *     r = (b2 + a1 . w2) - y; sse += r^2          A2 - Y, with A2 = A1 W2 + b2
 *     d2 = r / m                                  delta2 = (A2 - Y) / m
 *     gb2 += d2; gw2 += d2 a1                     delta2^T 1, A1^T delta2
 *     d1 = (d2 w2) .* a1 .* (1 - a1)              delta1 = delta2 W2^T .* A1 .* (1 - A1)
 *     gb1 += d1; gW1 += x^T d1                    delta1^T 1, X^T delta1
 * The sums over rows stay in their lanes: acc holds MLP2_LANES partial sums
 * of each gradient entry, in the gradient's own order (W1, b1, W2, b2),
 * then the sum of squares; the caller zeroes it and adds the lanes up
 * (mlp2__lanes_sum).  Lanes past the last row carry x = 0 and r = 0, so
 * they add nothing.  Every loop runs along the lanes, so the order of
 * every sum is fixed whatever the vector width.  grad false: only the sum
 * of squares, by the same expressions (so the loss is the same bits with
 * or without the gradient).  A2 != NULL: predict, A2 (rows x 1) gets the
 * outputs, the same bits from which the loss is made (Y and acc unused), so
 * that targets equal to the predictions give a zero gradient.  X and Y
 * are not checked here: with the gradient, a non-finite value always
 * reaches the sums (see small_seed_chunk in pass.c, which checks them). */
MLP2_CLONES MLP2_FMA
void mlp2__sigmoid_linear1_lanes(size_t rows, size_t ni, size_t nh, const double *restrict X,
                                 const double *restrict Y, const double *restrict W1,
                                 const double *restrict b1, const double *restrict w2, double b2,
                                 double inv_m, bool grad, double *restrict acc, double *restrict A2)
{
    enum { L = MLP2_LANES };
    /* tiles of T rows: xt (ni x T), a (nh x T) and yt (T) in one buffer of
     * MLP2_SMALL_TILE_WORDS doubles, rows ld = T + L apart (a power-of-two
     * stride would put the rows 4 KiB apart, where loads and stores alias
     * in the CPU's store buffer); T is a multiple of L, at least 72
     * (ni + nh + 1 <= MLP2_SMALL_WORK + 1), at most LANES_MAX_TILE */
    size_t T = MLP2_SMALL_TILE_WORDS / (ni + nh + 1) - L;
    T = T > LANES_MAX_TILE ? LANES_MAX_TILE : T - T % L;
    const size_t ld = T + L;
    double buf[MLP2_SMALL_TILE_WORDS], d2[L];
    double *restrict xt = buf, *restrict a = xt + ni * ld, *restrict yt = a + nh * ld;
    double *restrict gW1 = acc, *restrict gb1 = gW1 + ni * nh * L, *restrict gw2 = gb1 + nh * L;
    double *restrict gb2 = gw2 + nh * L, *restrict sse = gb2 + L;
    for (size_t t0 = 0; t0 < rows; t0 += T) {
        /* the tile's n rows in cols = whole groups of L columns */
        const size_t n = rows - t0 < T ? rows - t0 : T, cols = (n + L - 1) / L * L;
        /* xt = X^T and yt = Y^T for the tile, columns past its rows 0 */
        switch (ni) { /* xt = X^T: see tile_transpose */
        case 1: tile_transpose(n, cols, 1, X + t0, xt, ld); break;
        case 2: tile_transpose(n, cols, 2, X + t0 * 2, xt, ld); break;
        case 3: tile_transpose(n, cols, 3, X + t0 * 3, xt, ld); break;
        case 4: tile_transpose(n, cols, 4, X + t0 * 4, xt, ld); break;
        default: tile_transpose(n, cols, ni, X + t0 * ni, xt, ld); break;
        }
        if (Y) /* (predict has no Y) */
            for (size_t j = 0; j < cols; j++)
                yt[j] = j < n ? Y[t0 + j] : 0.0;
        /* z1 = b1 + x W1, one column of a per row (a is nh x T, rows ld apart) */
        for (size_t h = 0; h < nh; h++) {
            double *restrict z = a + h * ld;
#pragma omp simd
            for (size_t j = 0; j < cols; j++)
                z[j] = b1[h] + xt[j] * W1[h]; /* z1 = b1 + x W1 (ni >= 1) */
            for (size_t i = 1; i < ni; i++)
#pragma omp simd
                for (size_t j = 0; j < cols; j++)
                    z[j] += xt[i * ld + j] * W1[i * nh + h];
        }
        /* a1 = sigmoid(z1): the tile's exps in one loop, so that their
         * chains overlap (per group of L rows they did not: 2-3-1 ran 8 ns
         * a row) */
        for (size_t h = 0; h < nh; h++)
#pragma omp simd
            for (size_t j = 0; j < cols; j++)
                a[h * ld + j] = mlp2__sigmoid(a[h * ld + j]);
        /* delta2 of the tile's rows, written over yt once read */
        double *const dt = yt;
        for (size_t g = 0; g < cols; g += L) {
            const size_t v = n - g < L ? n - g : L; /* rows in this group */
#pragma omp simd
            for (size_t u = 0; u < L; u++)
                d2[u] = b2;
            for (size_t h = 0; h < nh; h++)
#pragma omp simd
                for (size_t u = 0; u < L; u++)
                    d2[u] += a[h * ld + g + u] * w2[h]; /* A2 = b2 + a1 . w2 */
            if (A2) { /* predict */
                for (size_t u = 0; u < v; u++)
                    A2[t0 + g + u] = d2[u];
                continue;
            }
#pragma omp simd
            for (size_t u = 0; u < L; u++) {
                const double r = u < v ? d2[u] - yt[g + u] : 0.0; /* A2 - Y; lanes past the rows: 0 */
                sse[u] += r * r;
                dt[g + u] = r * inv_m; /* delta2 = (A2 - Y) / m */
            }
            if (grad)
#pragma omp simd
                for (size_t u = 0; u < L; u++)
                    gb2[u] += dt[g + u]; /* gb2 += delta2 */
        }
        if (A2 || !grad)
            continue;
        /* the rest of the gradient, hidden unit by hidden unit: see
         * lanes_backward */
        for (size_t h = 0; h < nh; h++) {
            switch (ni) {
            case 1: lanes_backward(cols, 1, nh, h, xt, ld, a, dt, w2, gW1, gb1, gw2); break;
            case 2: lanes_backward(cols, 2, nh, h, xt, ld, a, dt, w2, gW1, gb1, gw2); break;
            case 3: lanes_backward(cols, 3, nh, h, xt, ld, a, dt, w2, gW1, gb1, gw2); break;
            case 4: lanes_backward(cols, 4, nh, h, xt, ld, a, dt, w2, gW1, gb1, gw2); break;
            default: lanes_backward(cols, ni, nh, h, xt, ld, a, dt, w2, gW1, gb1, gw2); break;
            }
        }
    }
}

/* the sum of one entry's MLP2_LANES lanes, pairwise (mlp2__halving_sum) */
static inline double lanes_total(const double *lanes)
{
    double s[MLP2_LANES];
    memcpy(s, lanes, sizeof s); /* (mlp2__halving_sum adds in place) */
    return mlp2__halving_sum(MLP2_LANES, s);
}

/* out[k] = the sum of acc's MLP2_LANES lanes of entry k, added pairwise
 * (lanes 0+4, 1+5, ...; then 0+2, 1+3; then 0+1), for k < n.  Cloned:
 * the baseline build's SSE2 code took 5% of 2-3-1's step at 64 rows in a
 * cpu-clock profile; with 256-bit adds the step ran about 1% faster
 * (mlp2-ab, both load orders).  The same adds in the same order. */
MLP2_CLONES
void mlp2__lanes_sum(size_t n, const double *restrict acc, double *restrict out)
{
    for (size_t k = 0; k < n; k++)
        out[k] = lanes_total(acc + k * MLP2_LANES);
}

MLP2_CLONES
bool mlp2__lanes_sgd(size_t n, const double *restrict acc, double lr, double *restrict theta)
{
    double t[2 * MLP2_SMALL_WORK + 1];
    uint64_t bad = 0;
    for (size_t k = 0; k < n; k++) {
        t[k] = theta[k] - lr * lanes_total(acc + k * MLP2_LANES); /* theta - lr g */
        bad |= mlp2__nonfinite_bit(t[k]);
    }
    if (bad >> 63)
        return false;
    memcpy(theta, t, n * sizeof *t); /* theta -= lr g */
    return true;
}
