/* pass.c - the forward and backward passes of every kind of network (the
 * activation and head kernels are activ.c's and head.c's), chunked by
 * the workspace, and the public entry points built on them. */
#include "internal.h"

#include <math.h>
#include <stdatomic.h>

static const double *W1(const mlp2 *n) { return n->theta; }
static const double *b1(const mlp2 *n) { return n->theta + mlp2__off_b1(n); }
static const double *W2(const mlp2 *n) { return n->theta + mlp2__off_W2(n); }
static const double *b2(const mlp2 *n) { return n->theta + mlp2__off_b2(n); }

void mlp2__forward(const mlp2 *net, mlp2_workspace *ws, size_t rows, const double *X, double *Z2)
{
    const size_t ni = net->n_in, nh = net->n_hidden, no = net->n_out;
    /* Z1 = X W1 */
    mlp2__gemm(false, false, rows, nh, ni, 1.0, X, ni, W1(net), nh, 0.0, ws->A1, nh);
    /* A1 = f(Z1 + b1), in place */
    mlp2__bias_act(net->hidden, rows, nh, ws->A1, b1(net));
    /* Z2 = A1 W2 (b2 is added by the caller's kernel) */
    mlp2__gemm(false, false, rows, no, nh, 1.0, ws->A1, nh, W2(net), no, 0.0, Z2, no);
}

/* Backward pass for one chunk whose delta2 is in ws->A2; beta 0 starts the
 * gradient, beta 1 adds to it. */
static void backward(const mlp2 *net, mlp2_workspace *ws, size_t rows, const double *X, double beta,
                     double *grad)
{
    const size_t ni = net->n_in, nh = net->n_hidden, no = net->n_out;
    const double *D2 = ws->A2;
    double *gW1 = grad, *gb1 = grad + mlp2__off_b1(net);
    double *gW2 = grad + mlp2__off_W2(net), *gb2 = grad + mlp2__off_b2(net);
    /* gW2 = A1^T delta2 */
    mlp2__gemm(true, false, nh, no, rows, 1.0, ws->A1, nh, D2, no, beta, gW2, no);
    /* gb2 = colsum(delta2) = delta2^T 1 */
    mlp2__gemv_t(rows, no, 1.0, D2, no, ws->ones, beta, gb2);
    /* D1 = delta2 W2^T */
    mlp2__gemm(false, true, rows, nh, no, 1.0, D2, no, W2(net), no, 0.0, ws->D1, nh);
    /* delta1 = D1 .* f'(Z1), in place (sigmoid: A1 .* (1 - A1)) */
    mlp2__act_delta1(net->hidden, rows * nh, ws->D1, ws->A1);
    /* gW1 = X^T delta1 */
    mlp2__gemm(true, false, ni, nh, rows, 1.0, X, ni, ws->D1, nh, beta, gW1, nh);
    /* gb1 = colsum(delta1) = delta1^T 1 */
    mlp2__gemv_t(rows, nh, 1.0, ws->D1, nh, ws->ones, beta, gb1);
}

/* ---- the small-shape path ----------------------------------------------- */

/* For tiny layers the five products are too small for dgemm to pay off: a
 * 65536 x 2 times 2 x 3 product runs at a few GFLOP/s, and every call costs
 * about 100 ns before any work.  The small path runs the same equations on
 * tiles of T rows held transposed -- Xt = X^T is n_in x T, A1t = A1^T is
 * n_hidden x T, and so on -- so every loop runs along the T samples of the
 * tile and vectorises however narrow the layers are, and the tile stays in
 * L1 from the first product to the last.  Each product below is the
 * transpose of the BLAS path's: (X W1)^T = W1^T X^T, and so on. */

/* Rows per tile: as many as fit in MLP2_SMALL_TILE_WORDS doubles (a multiple
 * of 8, at most MLP2_SMALL_MAX_TILE), or 0 when fewer than
 * MLP2_SMALL_MIN_TILE fit. */
static size_t small_tile(const mlp2 *net)
{
    const size_t words = net->n_in + 2 * net->n_hidden + 2 * net->n_out; /* Xt, A1t, D1t, D2t, Yt */
    size_t t = MLP2_SMALL_TILE_WORDS / words;
    t = t > MLP2_SMALL_MAX_TILE ? MLP2_SMALL_MAX_TILE : t - t % 8;
    return t >= MLP2_SMALL_MIN_TILE ? t : 0;
}

bool mlp2__small_path(const mlp2 *net, size_t rows)
{
    const size_t work = net->n_in * net->n_hidden + net->n_hidden * net->n_out;
    return work <= MLP2_SMALL_WORK && rows >= MLP2_SMALL_MIN_ROWS && small_tile(net) > 0;
}

/* Forward (and, when grad != NULL, backward) for `rows` rows on the small
 * path.  Y == NULL: predict, A2 (rows x n_out) gets the outputs.  Otherwise
 * returns sum (A2 - Y)^2 and accumulates the gradient (beta 0 starts it). */
static double small_chunk(const mlp2 *net, const mlp2_workspace *ws, size_t rows, const double *X,
                          const double *Y, double inv_m, double beta, double *grad, double *A2)
{
    const size_t ni = net->n_in, nh = net->n_hidden, no = net->n_out, T = small_tile(net);
    double tile[MLP2_SMALL_TILE_WORDS];
    double *gW1 = grad, *gb1 = grad ? grad + mlp2__off_b1(net) : NULL;
    double *gW2 = grad ? grad + mlp2__off_W2(net) : NULL, *gb2 = grad ? grad + mlp2__off_b2(net) : NULL;
    double sse = 0.0;
    for (size_t t0 = 0; t0 < rows; t0 += T) {
        const size_t n = rows - t0 < T ? rows - t0 : T;
        double *Xt = tile, *A1t = Xt + ni * n, *D1t = A1t + nh * n, *D2t = D1t + nh * n;
        double *Yt = D2t + no * n;
        /* Xt = X^T for the tile's rows */
        mlp2__transpose(n, ni, X + t0 * ni, ni, Xt);
        /* Z1^T = W1^T X^T */
        mlp2__lgemm(true, false, nh, n, ni, 1.0, W1(net), nh, Xt, n, 0.0, A1t, n);
        /* A1^T = f(Z1^T + b1), in place */
        mlp2__bias_act_rows(net->hidden, nh, n, A1t, b1(net));
        /* Z2^T = W2^T A1^T */
        mlp2__lgemm(true, false, no, n, nh, 1.0, W2(net), no, A1t, n, 0.0, D2t, n);
        if (!Y) {
            /* A2 = head((Z2^T)^T + b2) */
            mlp2__transpose(no, n, D2t, n, A2 + t0 * no);
            mlp2__head_out(net->head, n, no, A2 + t0 * no, b2(net));
            continue;
        }
        /* Yt = Y^T for the tile's rows */
        mlp2__transpose(n, no, Y + t0 * no, no, Yt);
        /* A2^T = head(Z2^T + b2);  sse += the loss terms;  delta2^T = (A2 - Y)^T / m, in place */
        sse += mlp2__head_delta_rows(net->head, no, n, D2t, b2(net), Yt, inv_m);
        if (!grad)
            continue;
        const double b = t0 == 0 ? beta : 1.0;
        /* gW2 = A1^T delta2 = A1t (delta2^T)^T */
        mlp2__lgemm(false, true, nh, no, n, 1.0, A1t, n, D2t, n, b, gW2, no);
        /* gb2 = colsum(delta2) = delta2^T 1 */
        mlp2__lgemm(false, true, no, 1, n, 1.0, D2t, n, ws->ones, n, b, gb2, 1);
        /* (delta2 W2^T)^T = W2 delta2^T */
        mlp2__lgemm(false, false, nh, n, no, 1.0, W2(net), no, D2t, n, 0.0, D1t, n);
        /* delta1^T = (delta2 W2^T)^T .* f'(Z1^T), in place */
        mlp2__act_delta1(net->hidden, nh * n, D1t, A1t);
        /* gW1 = X^T delta1 = Xt (delta1^T)^T */
        mlp2__lgemm(false, true, ni, nh, n, 1.0, Xt, n, D1t, n, b, gW1, nh);
        /* gb1 = colsum(delta1) = delta1^T 1 */
        mlp2__lgemm(false, true, nh, 1, n, 1.0, D1t, n, ws->ones, n, b, gb1, 1);
    }
    return sse;
}

/* The seed's network with one output (sigmoid hidden units, a linear
 * output, MSE) has a fused kernel on both paths: the BLAS path's tail
 * (mlp2__chunk_sse_grad below) and, on the small path, one kernel that runs
 * every step for MLP2_LANES rows at a time (kernels.c, small_seed_chunk)
 * instead of the tiles' six short products.  Predict takes it too, so that its outputs are
 * the bits the loss is made from.  Measured (mlp2-bench --shapes 2-3-1,
 * one thread, alternated three times with the tiled library): step 24-26
 * -> 10-11 ns a row at 16 rows, 8.2-9.3 -> 5.8-6.5 at 64, 5.9-7.4 ->
 * 5.3-6.1 at 1024-65536; predict 17-18 -> 7.5-9.3, 7.6-8.1 -> 4.7-4.9,
 * 5.0-5.7 -> 4.0-4.8 (bench/RESULTS.md). */
static bool seed_one_output(const mlp2 *net)
{
    return net->n_out == 1 && net->hidden == MLP2_HIDDEN_SIGMOID && net->head == MLP2_HEAD_LINEAR;
}

/* The lane kernel's scratch (its accumulators, small_seed_chunk's and
 * lanes_step's arrays) holds a network of at most MLP2_SMALL_WORK
 * multiply-adds a row: a larger one forced onto the small path
 * (MLP2_PATH_SMALL) takes the tiled kernels. */
static bool lane_kernel(const mlp2 *net)
{
    return seed_one_output(net) && net->n_hidden * (net->n_in + 1) <= MLP2_SMALL_WORK;
}

/* rows of X (n_in values each) and Y (n_out) all finite */
static bool rows_finite(const mlp2 *net, size_t rows, const double *X, const double *Y)
{
    return mlp2__all_finite(rows * net->n_in, X) && mlp2__all_finite(rows * net->n_out, Y);
}

/* The lane kernel's sums: np + 1 <= MLP2_SMALL_WORK + nh + 2 entries of
 * MLP2_LANES lanes each, the gradient (np = mlp2__off_b2 + 1) then the sum
 * of squares. */
#define LANES_ACC ((2 * MLP2_SMALL_WORK + 2) * MLP2_LANES)

/* acc = the lane kernel's sums over the rows, from zero: the gradient's
 * (grad) and the sum of squares' (small_seed_chunk, lanes_step) */
static void lanes_sums(const mlp2 *net, size_t rows, const double *X, const double *Y, double inv_m,
                       bool grad, double *acc)
{
    memset(acc, 0, (mlp2__off_b2(net) + 2) * MLP2_LANES * sizeof *acc);
    mlp2__sigmoid_linear1_lanes(rows, net->n_in, net->n_hidden, X, Y, W1(net), b1(net), W2(net),
                                b2(net)[0], inv_m, grad, acc, NULL);
}

/* Y == NULL: predict into A2; otherwise the sum of squares, and the
 * gradient when grad != NULL (beta 0 starts it); check: NaN when a value
 * of X or Y is not finite, grad untouched.
 * With the gradient, the check is of the sums: a non-finite value in X or
 * Y always leaves one of them non-finite, so they stand for the data
 * (checked in the kernel's tiles until Dec 1; mlp2-ab, 2-3-1 step at 64
 * and 1024 rows, both load orders: 0.977-0.981 of the time without it):
 *   y: r = A2 - y is not finite, and neither is the sum of squares;
 *   x_k: gW1[k][h] += x_k delta1 for every unit h, and x_k delta1 is never
 *   finite, whatever delta1 is (Inf x 0 = NaN: a saturated unit, where
 *   z1 = +-Inf makes the sigmoid exactly 0 or 1 and delta1 zero, leaves
 *   the sum of squares finite and only gW1 shows it); the same in an FMA.
 * A sum that is not finite stays so, and the padding lanes add zeros.
 * (Finite data whose sums overflow give NaN too: the loss is refused
 * either way.)  Without the gradient, check does nothing here: the caller
 * checks the data first (mlp2__chunk_sse_grad). */
static double small_seed_chunk(const mlp2 *net, size_t rows, const double *X, const double *Y,
                               double inv_m, double beta, double *grad, double *A2, bool check)
{
    const size_t np = mlp2__off_b2(net) + 1;
    double acc[LANES_ACC], sum[2 * MLP2_SMALL_WORK + 2];
    if (!Y) { /* predict: A2, nothing summed */
        mlp2__sigmoid_linear1_lanes(rows, net->n_in, net->n_hidden, X, NULL, W1(net), b1(net), W2(net),
                                    b2(net)[0], 0.0, false, acc, A2);
        return 0.0;
    }
    lanes_sums(net, rows, X, Y, inv_m, grad != NULL, acc);
    if (!grad) {
        mlp2__lanes_sum(1, acc + np * MLP2_LANES, sum);
        return sum[0];
    }
    mlp2__lanes_sum(np + 1, acc, sum);
    if (check && !mlp2__all_finite(np + 1, sum))
        return (double)NAN;
    for (size_t k = 0; k < np; k++)
        grad[k] = beta == 0.0 ? sum[k] : grad[k] + sum[k];
    return sum[np];
}

/* ---- the latency path's threshold --------------------------------------- */

/* One row always takes the latency path.  A few rows take it while their
 * multiply-adds stay below MLP2_ROWS_WORK: past that the BLAS products (or
 * the small path's tiles), which read the weights once for all rows,
 * catch up with the per-row loops, which read them once per row.
 * Measured (bench/RESULTS.md): for 2-3-1 the per-row step is faster up to
 * 6 rows, for 10-32-1 up to 3, for 64-256-1 and 784-512-10 only at 1. */
bool mlp2__row_path(const mlp2 *net, size_t m)
{
    const size_t work = net->n_in * net->n_hidden + net->n_hidden * net->n_out;
    return m == 1 || (m <= MLP2_ROWS_MAX && m * work <= MLP2_ROWS_WORK);
}

/* ---- both paths, chunked by the workspace ------------------------------- */

static bool use_small(const mlp2 *net, size_t rows, mlp2_path path)
{
    return path == MLP2_PATH_SMALL || (path == MLP2_PATH_AUTO && mlp2__small_path(net, rows));
}

/* Rows per block of a BLAS-path chunk.  A chunk's scratch (Z1/A1, D1, A2:
 * 2 n_hidden + n_out doubles a row) is written and read again by every
 * element-wise pass; for 65536 rows of 64-256-1 that is 268 MB, so each
 * pass runs at memory speed (the step took 4.4 us a row at m = 65536
 * against 2.6 at 1024; 10-32-1 312 ns against 115).  So a chunk is worked
 * through in blocks, the gradient summed block by block (beta 1 after the
 * first), as the chunks are.  A block's scratch is kept to about
 * BLOCK_BYTES, the size of a core's L2 on the machines measured (1 MiB),
 * in multiples of 32 rows and at most BLOCK_MAX rows.  (The one-output
 * fused tail leaves D1 unused, so below BLOCK_MAX its blocks, 224 rows of
 * 64-256-1, are about half what the budget allows; larger ones were not
 * measured.)  When not even
 * BLOCK_MIN rows fit, the scratch cannot stay in L2 anyway, and blocks of
 * BLOCK_MAX rows keep the gradient's products long in K (every block reads
 * and writes the gradient once more).  Measured, one thread, step ns/row
 * at m = 1024 and 65536, old and new library alternated twice (a small
 * harness timing mlp2_sgd_step, best of 7): 64-256-1 1929-2021 and
 * 2011-2149 with blocks of 1024 rows, 1646-1662 and 1787-1794 with its
 * 224 (1720-1742 and 1786-1860 with 256);
 * 100-128-3 1368-1405 and 1540-1589 with 1024, 1186-1264 and 1392-1483
 * with 512; 784-512-10 (whose rows never fit) the same within noise from
 * 256 to 1024 rows, 4% slower at 128.  The blocks depend on the shape and
 * the chunk's rows only, so shards and threads see the same ones whatever
 * their number. */
#define BLOCK_BYTES ((size_t)1 << 20)
#define BLOCK_MIN 128
#define BLOCK_MAX 1024

static size_t block_rows(const mlp2 *net)
{
    const size_t row_bytes = sizeof(double) * (2 * net->n_hidden + net->n_out);
    size_t b = BLOCK_BYTES / row_bytes;
    b -= b % 32;
    return b < BLOCK_MIN || b > BLOCK_MAX ? BLOCK_MAX : b;
}

/* A chunk of rows is cut into nb = ceil(rows / block_rows) equal blocks
 * (mlp2__part_start), rather than full blocks and a remainder: a shard of
 * 256 rows of 64-256-1 would otherwise run a block of 224 rows and one of
 * 32, whose products are too short to pay. */

double mlp2__chunk_sse_grad(const mlp2 *net, mlp2_workspace *ws, size_t rows, const double *X,
                            const double *Y, double inv_m, double beta, double *grad, mlp2_path path,
                            bool check)
{
    if (use_small(net, rows, path)) {
        /* with the gradient, the lane kernel's sums are checked after it
         * (small_seed_chunk); otherwise, and for the tiled kernels, which
         * run over the chunk in tiles of their own, the whole chunk is
         * checked first (a few values a row for the small shapes; a chunk
         * larger than L2 is read twice) */
        const bool lanes = lane_kernel(net);
        if (check && !(lanes && grad) && !rows_finite(net, rows, X, Y))
            return (double)NAN;
        return lanes ? small_seed_chunk(net, rows, X, Y, inv_m, beta, grad, NULL, check)
                     : small_chunk(net, ws, rows, X, Y, inv_m, beta, grad, NULL);
    }
    const size_t ni = net->n_in, nh = net->n_hidden, no = net->n_out, B = block_rows(net);
    /* with or without grad, so that the loss is the same bits either way */
    const bool fused = seed_one_output(net);
    double sse = 0.0;
    const size_t nb = (rows + B - 1) / B;
    for (size_t k = 0; k < nb; k++) {
        const size_t r0 = mlp2__part_start(rows, nb, k), n = mlp2__part_start(rows, nb, k + 1) - r0;
        /* each block's rows checked as they come into the cache for its
         * products (step_checks_in_pass below) */
        if (check && !rows_finite(net, n, X + r0 * ni, Y + r0 * no))
            return (double)NAN;
        if (fused) {
            /* The seed's network with one output: after Z1 = X W1, one
             * kernel does the element-wise work and the three one-column
             * products row by row (kernels.c), then gW1 = X^T delta1.
             * Measured (mlp2-bench --ops step, one thread, alternated with
             * the unfused library): 10-32-1 step 95-108 -> 81-98 ns a row
             * at m = 64-65536; 64-256-1 at m = 1024, with the blocks above,
             * 1646-1662 -> 1620-1654 ns, and the same within noise at 64. */
            const double b = k == 0 ? beta : 1.0;
            /* Z1 = X W1 */
            mlp2__gemm(false, false, n, nh, ni, 1.0, X + r0 * ni, ni, W1(net), nh, 0.0, ws->A1, nh);
            /* A1 = sigmoid(Z1 + b1); A2 - Y; with grad also delta2, gW2, gb2,
             * delta1 (over A1) and gb1, row by row (kernels.c; gb1 NULL: the
             * loss alone) */
            sse += mlp2__sigmoid_linear1_tail(n, nh, ws->A1, b1(net), W2(net), b2(net)[0], Y + r0, inv_m,
                                              b, ws->A2, grad ? grad + mlp2__off_b1(net) : NULL,
                                              grad ? grad + mlp2__off_W2(net) : NULL,
                                              grad ? grad + mlp2__off_b2(net) : NULL);
            if (grad) /* gW1 = X^T delta1, delta1 where the tail left it, in A1 */
                mlp2__gemm(true, false, ni, nh, n, 1.0, X + r0 * ni, ni, ws->A1, nh, b, grad, nh);
            continue;
        }
        mlp2__forward(net, ws, n, X + r0 * ni, ws->A2);
        /* A2 = head(Z2 + b2);  sse += the loss terms (linear: ||A2 - Y||^2);
         * delta2 = (A2 - Y)/m, in place */
        sse += mlp2__head_delta(net->head, n, no, ws->A2, b2(net), Y + r0 * no, inv_m);
        if (grad)
            backward(net, ws, n, X + r0 * ni, k == 0 ? beta : 1.0, grad);
    }
    return sse;
}

/* The batch is cut into shards for ws's threads: its first chunk has more
 * than one. */
static bool sharded(const mlp2 *net, const mlp2_workspace *ws, size_t m)
{
    return ws && ws->mt && mlp2__shard_count(net, m < ws->max_batch ? m : ws->max_batch) > 1;
}

/* A sharded batch (two shards or more) never takes the rows path (this
 * assertion) or blas_step (way_of_step): its threads are loss_grad's. */
_Static_assert(MLP2_ROWS_MAX < 2 * MLP2_SHARD_MIN_ROWS, "the rows path's batches are never sharded");

/* The four ways of a step (step_path below), chosen in one place so that
 * mlp2_sgd_step's choice of where to check the data follows the same rule:
 *   STEP_ROWS  the latency path, row by row (rows.c);
 *   STEP_BLAS  the update applied in the backward products (blas_step):
 *              one chunk, and the bound's passes over X, delta1 and delta2
 *              cost less than the three passes over the parameters they
 *              save;
 *   STEP_LANES the seed's one-output network on the small path, one
 *              chunk on one thread: the lane kernel's sums go straight
 *              into the update (lanes_step);
 *   STEP_GRAD  the gradient first (loss_grad, chunked and sharded), then
 *              the update. */
typedef enum { STEP_ROWS, STEP_BLAS, STEP_LANES, STEP_GRAD } step_way;

/* For the seed's network with one output the gradient comes from the fused
 * tail (two BLAS calls and one pass per block), against blas_step's seven
 * BLAS calls and its separate passes over the hidden units (the sigmoid,
 * delta1, the bound's maximum of delta1); what blas_step saves is about
 * three passes over the parameters.  So blas_step is taken only while
 * n_params > 2 m n_hidden + FUSED_STEP_CALLS, the constant (in parameters)
 * standing for the five calls it makes beyond the tail's.  Measured
 * (mlp2-ab, one thread, both load orders, three runs each; new / old):
 * 10-32-1 0.66 at 4 rows and 0.76 at 16; 20-64-1 0.84-0.89 at 4-48 rows;
 * 32-128-1 0.90 at 32 and 0.83 at 64 rows (1.04, range 0.97-1.11, at 16);
 * 64-256-1 0.94-0.95 at 32-64 rows; 100-128-1 0.96-0.98 at 48-64 rows;
 * the cells where the rule keeps blas_step within 1% (bench/RESULTS.md). */
#define FUSED_STEP_CALLS 1000

static step_way way_of_step(const mlp2 *net, const mlp2_workspace *ws, size_t m, mlp2_path path)
{
    if (path == MLP2_PATH_ROWS || (path == MLP2_PATH_AUTO && mlp2__row_path(net, m)))
        return STEP_ROWS;
    if (m <= ws->max_batch && !use_small(net, m, path) &&
        m * (net->n_in + net->n_hidden + net->n_out) <= 3 * net->n_params && !sharded(net, ws, m) &&
        (!seed_one_output(net) || net->n_params > 2 * m * net->n_hidden + FUSED_STEP_CALLS))
        return STEP_BLAS;
    if (m <= ws->max_batch && use_small(net, m, path) && lane_kernel(net) && !sharded(net, ws, m))
        return STEP_LANES;
    return STEP_GRAD;
}

/* mlp2_sgd_step's check that X and Y are finite moves into the pass that
 * computes the gradient (loss_grad's check_inputs): each block of rows is
 * checked just before its products, on the thread that computes it, while
 * its rows come into that core's cache anyway, instead of one pass over
 * all of X and Y first.  With many threads the calling thread no longer
 * reads every row before the workers start (2-3-1 at 4096 rows on two
 * threads: 2.4 us of a 16.5 us step were outside the shards, most of it
 * that check); on one thread a batch larger than the caches is read from
 * memory once instead of twice (10-32-1 at 65536 rows: see
 * bench/RESULTS.md).  A non-finite value makes the loss NaN, and the step
 * is refused before the model is touched; only the workspace's own
 * gradient is written first, which no caller sees.  Only with a workspace
 * of the caller's (a temporary one could fail to be made, and
 * MLP2_ENOMEM would come before MLP2_ENONFINITE), on the paths that compute
 * the gradient first (the rows path and blas_step have their own
 * order), and for the linear head: the classification heads' target
 * check, which runs first, would meet the non-finite targets and answer
 * MLP2_EINVAL where the up-front check answers MLP2_ENONFINITE. */
static bool step_checks_in_pass(const mlp2 *net, const mlp2_workspace *ws, size_t m)
{
    if (!ws || net->head != MLP2_HEAD_LINEAR)
        return false;
    const step_way way = way_of_step(net, ws, m, MLP2_PATH_AUTO);
    return way == STEP_GRAD || way == STEP_LANES;
}

/* check_grad false: the caller checks the gradient itself (mlp2_sgd_step's
 * check that theta - lr grad is finite covers it, and saves a pass over
 * the parameters, which is most of the step's time at small batches).
 * check_inputs: each block of rows is checked as it is computed
 * (mlp2_sgd_step, step_checks_in_pass above); a non-finite value makes the
 * loss NaN and the call MLP2_ENONFINITE */
static mlp2_status loss_grad(const mlp2 *net, mlp2_workspace *ws, size_t m, const double *X,
                             const double *Y, double *loss, double *grad, mlp2_path path,
                             bool check_grad, bool check_inputs)
{
    if (path == MLP2_PATH_ROWS || (path == MLP2_PATH_AUTO && mlp2__row_path(net, m)))
        return mlp2__rows_loss_grad(net, ws, m, X, Y, loss, grad);
    const size_t ni = net->n_in, no = net->n_out, mb = ws->max_batch;
    const double inv_m = 1.0 / (double)m;
    double sse = 0.0;
    if (ws->mt) /* a multi-threaded workspace: shards on its pool (shard.c) */
        sse = mlp2__sharded_sse_grad(net, ws, m, X, Y, inv_m, grad, path, check_inputs);
    for (size_t r0 = 0; r0 < m && !ws->mt; r0 += mb) {
        const size_t rows = m - r0 < mb ? m - r0 : mb;
        sse += mlp2__chunk_sse_grad(net, ws, rows, X + r0 * ni, Y + r0 * no, inv_m,
                                    r0 == 0 ? 0.0 : 1.0, grad, path, check_inputs);
    }
    /* linear: L = 1/(2m) ||A2 - Y||^2;  cross-entropies: L = 1/m sum */
    const double L = mlp2__loss_scale(net->head) * inv_m * sse;
    if (loss)
        *loss = L;
    if (!isfinite(L) || (grad && check_grad && !mlp2__all_finite(net->n_params, grad)))
        return MLP2_FAIL(MLP2_ENONFINITE);
    return MLP2_OK;
}

mlp2_status mlp2__loss_grad_path(const mlp2 *net, mlp2_workspace *ws, size_t m, const double *X,
                                 const double *Y, double *loss, double *grad, mlp2_path path)
{
    return loss_grad(net, ws, m, X, Y, loss, grad, path, true, false);
}

mlp2_status mlp2__loss_grad_for_step(const mlp2 *net, mlp2_workspace *ws, size_t m, const double *X,
                                     const double *Y, double *loss, double *grad)
{
    return loss_grad(net, ws, m, X, Y, loss, grad, MLP2_PATH_AUTO, false, false);
}

mlp2_status mlp2__loss_grad(const mlp2 *net, mlp2_workspace *ws, size_t m, const double *X,
                            const double *Y, double *loss, double *grad)
{
    return mlp2__loss_grad_path(net, ws, m, X, Y, loss, grad, MLP2_PATH_AUTO);
}

void mlp2__chunk_predict(const mlp2 *net, mlp2_workspace *ws, size_t rows, const double *X, double *A2,
                         mlp2_path path)
{
    if (use_small(net, rows, path)) {
        if (lane_kernel(net))
            small_seed_chunk(net, rows, X, NULL, 0.0, 0.0, NULL, A2, false);
        else
            small_chunk(net, ws, rows, X, NULL, 0.0, 0.0, NULL, A2);
        return;
    }
    const size_t ni = net->n_in, no = net->n_out, B = block_rows(net);
    const size_t nb = (rows + B - 1) / B;
    for (size_t k = 0; k < nb; k++) { /* blocks: as above */
        const size_t r0 = mlp2__part_start(rows, nb, k), n = mlp2__part_start(rows, nb, k + 1) - r0;
        mlp2__forward(net, ws, n, X + r0 * ni, A2 + r0 * no);
        /* A2 = head(Z2 + b2), in place */
        mlp2__head_out(net->head, n, no, A2 + r0 * no, b2(net));
    }
}

/* mlp2__all_finite, with the few values of one row of a small shape
 * checked inline: at m = 1 a call into the vector kernel (through its
 * instruction-set dispatch) costs more than the check */
static bool finite_short(size_t n, const double *x)
{
    if (n > 4 || n == 0)
        return mlp2__all_finite(n, x);
    uint64_t acc = mlp2__nonfinite_bit(x[0]) | mlp2__nonfinite_bit(x[n - 1]);
    if (n > 2)
        acc |= mlp2__nonfinite_bit(x[1]) | mlp2__nonfinite_bit(x[2]);
    return (acc >> 63) == 0;
}

bool mlp2__predict_path(const mlp2 *net, mlp2_workspace *ws, size_t m, const double *X, double *A2,
                        mlp2_path path)
{
    const size_t ni = net->n_in, no = net->n_out, mb = ws->max_batch;
    if (path == MLP2_PATH_ROWS || (path == MLP2_PATH_AUTO && mlp2__row_path(net, m))) {
        return mlp2__rows_predict(net, ws, m, X, A2);
    }
    if (ws->mt) /* a multi-threaded workspace: shards on its pool (shard.c) */
        return mlp2__sharded_predict(net, ws, m, X, A2, path);
    bool finite = true;
    for (size_t r0 = 0; r0 < m; r0 += mb) {
        const size_t rows = m - r0 < mb ? m - r0 : mb;
        mlp2__chunk_predict(net, ws, rows, X + r0 * ni, A2 + r0 * no, path);
        finite = mlp2__all_finite(rows * no, A2 + r0 * no) && finite;
    }
    return finite;
}

/* ---- public entry points ------------------------------------------------ */

/* finite_short over ws's threads when m rows will be cut into shards for
 * them anyway (mlp2__ws_for: ranges of a few thousand values, one pass in
 * all); otherwise a job for the check alone would wake sleeping workers for
 * a batch that runs on the calling thread.  For the smallest shapes the
 * check of X and Y costs as much as a fair part of the step (2-3-1 at 65536
 * rows: 5% of the step on one thread, 22% of the caller's time on two;
 * predict there 1.5x faster on two threads than on one before, 1.9x
 * after). */
typedef struct {
    const double *x;
    atomic_bool bad;
} finite_job;

static void finite_range(void *arg, size_t lo, size_t hi)
{
    finite_job *j = arg;
    if (!mlp2__all_finite(hi - lo, j->x + lo))
        atomic_store_explicit(&j->bad, true, memory_order_relaxed);
}

static bool finite_ws(mlp2_workspace *ws, const mlp2 *net, size_t m, size_t n, const double *x)
{
    if (!sharded(net, ws, m))
        return finite_short(n, x);
    finite_job j = {.x = x};
    atomic_init(&j.bad, false);
    mlp2__ws_for(ws, n, finite_range, &j);
    return !atomic_load_explicit(&j.bad, memory_order_relaxed);
}

/* The checks shared by every batch function, in the order of their
 * statuses: pointers, m, the workspace's shape, overflow of the array
 * sizes (check_args); finite inputs, targets valid for the head
 * (check_data).  Y may be NULL (predict checks only X). */
static mlp2_status check_args(const mlp2 *net, const mlp2_workspace *ws, size_t m, const double *X)
{
    if (!net || !X || m == 0)
        return MLP2_FAIL(MLP2_EINVAL);
    if (ws && mlp2__ws_check(ws, net) != MLP2_OK)
        return MLP2_FAIL(MLP2_EINVAL);
    size_t nx, ny;
    if (!mlp2__mul(m, net->n_in, &nx) || !mlp2__mul(m, net->n_out, &ny))
        return MLP2_FAIL(MLP2_ERANGE);
    return MLP2_OK;
}

static mlp2_status check_data(const mlp2 *net, mlp2_workspace *ws, size_t m, const double *X,
                              const double *Y)
{
    if (!finite_ws(ws, net, m, m * net->n_in, X) || (Y && !finite_ws(ws, net, m, m * net->n_out, Y)))
        return MLP2_FAIL(MLP2_ENONFINITE);
    return Y ? mlp2__check_targets(net->head, m, net->n_out, Y) : MLP2_OK;
}

static mlp2_status check_batch(const mlp2 *net, mlp2_workspace *ws, size_t m, const double *X,
                               const double *Y)
{
    const mlp2_status st = check_args(net, ws, m, X);
    return st != MLP2_OK ? st : check_data(net, ws, m, X, Y);
}

/* The caller's workspace, or a temporary one of up to 1024 rows. */
static mlp2_status use_ws(const mlp2 *net, mlp2_workspace *ws, size_t m, mlp2_workspace **use)
{
    if (ws) {
        *use = ws;
        return MLP2_OK;
    }
    return mlp2_workspace_create(use, net, m < 1024 ? m : 1024);
}

/* One row into a workspace of net's shape: the checks and the path of the
 * general case below with what one row cannot need left out (no size can
 * overflow, no chunk, no shard, no temporary workspace): the same kernel,
 * the same bits, the same statuses.  Through the general case's calls
 * 2-3-1 took 19.6-20.6 ns, 10-32-1 86.8-91.3; this way 16.3-17.2 and
 * 80.4-85.9 (mlp2-bench --batches 1 --ops predict, old and new library
 * alternated five times, Nov 30 13:30 UTC). */
static bool one_row(const mlp2 *net, const mlp2_workspace *ws, size_t m, const double *X, const double *Y)
{
    return m == 1 && net && ws && X && Y && mlp2__ws_fits(ws, net);
}

mlp2_status mlp2_predict(const mlp2 *net, mlp2_workspace *ws, size_t m, const double *X, double *Y)
{
    if (one_row(net, ws, m, X, Y)) {
        if (!finite_short(net->n_in, X))
            return MLP2_FAIL(MLP2_ENONFINITE);
        /* A2 = head(sigmoid(x W1 + b1) W2 + b2), finite */
        return mlp2__rows_predict(net, ws, 1, X, Y) ? MLP2_OK : MLP2_FAIL(MLP2_ENONFINITE);
    }
    mlp2_status st = Y ? check_batch(net, ws, m, X, NULL) : MLP2_FAIL(MLP2_EINVAL);
    mlp2_workspace *w;
    if (st != MLP2_OK || (st = use_ws(net, ws, m, &w)) != MLP2_OK)
        return st;
    const bool ok = mlp2__predict_path(net, w, m, X, Y, MLP2_PATH_AUTO);
    if (w != ws)
        mlp2_workspace_free(w);
    return ok ? MLP2_OK : MLP2_FAIL(MLP2_ENONFINITE);
}

mlp2_status mlp2_loss_grad(const mlp2 *net, mlp2_workspace *ws, size_t m, const double *X,
                           const double *Y, double *loss, double *grad)
{
    mlp2_status st = Y && (loss || grad) ? check_batch(net, ws, m, X, Y) : MLP2_FAIL(MLP2_EINVAL);
    mlp2_workspace *w;
    if (st != MLP2_OK || (st = use_ws(net, ws, m, &w)) != MLP2_OK)
        return st;
    st = mlp2__loss_grad(net, w, m, X, Y, loss, grad);
    if (w != ws)
        mlp2_workspace_free(w);
    return st;
}

/* ---- the one-pass SGD step on the BLAS path ------------------------------ */

/* Bound on every gradient entry of one chunk (see rows.c): with delta2 in
 * ws->A2 and delta1 in ws->D1, |g| <= m max(1, |X|, |A1|) max(|delta1|,
 * |delta2|) (|A1| <= 1 for sigmoid and tanh units, so A1 is only read for
 * ReLU).  NaN or Inf anywhere gives NaN or Inf. */
static double nan_max(double a, double b) /* NaN wins, unlike fmax */
{
    return a >= b || a != a ? a : b;
}

static double chunk_bound(const mlp2 *net, const mlp2_workspace *ws, size_t m, const double *X)
{
    double sx = nan_max(1.0, mlp2__absmax(m * net->n_in, X));
    if (net->hidden == MLP2_HIDDEN_RELU)
        sx = nan_max(sx, mlp2__absmax(m * net->n_hidden, ws->A1));
    const double d = nan_max(mlp2__absmax(m * net->n_hidden, ws->D1),
                             mlp2__absmax(m * net->n_out, ws->A2));
    return (double)m * sx * d;
}

/* One step with the update folded into the backward products, when the
 * batch is one chunk of the BLAS path: W -= lr X^T delta1 is a gemm with
 * alpha = -lr and beta = 1 straight into theta, so the gradient is never
 * stored, checked or read again (three passes over the parameters fewer
 * than loss_grad + step_finite + sgd_update).  Guarded by the bound of
 * rows.c: when lr G > 2^960 the gradient goes to ws->grad and the careful
 * update runs.  Returns MLP2_OK or MLP2_ENONFINITE (model unchanged). */
static mlp2_status blas_step(mlp2 *net, mlp2_workspace *ws, size_t m, const double *X,
                             const double *Y, double lr, double *L)
{
    const size_t ni = net->n_in, nh = net->n_hidden, no = net->n_out;
    double *th = net->theta, *D2 = ws->A2;
    mlp2__forward(net, ws, m, X, D2);
    /* A2 = head(Z2 + b2);  sse = the loss terms (linear: ||A2 - Y||^2);
     * delta2 = (A2 - Y)/m, in place */
    const double sse = mlp2__head_delta(net->head, m, no, D2, b2(net), Y, 1.0 / (double)m);
    *L = mlp2__loss_scale(net->head) / (double)m * sse; /* linear: L = 1/(2m) ||A2 - Y||^2 */
    if (!isfinite(*L))
        return MLP2_FAIL(MLP2_ENONFINITE);
    /* D1 = delta2 W2^T, before W2 changes */
    mlp2__gemm(false, true, m, nh, no, 1.0, D2, no, W2(net), no, 0.0, ws->D1, nh);
    /* delta1 = D1 .* f'(Z1), in place (sigmoid: A1 .* (1 - A1)) */
    mlp2__act_delta1(net->hidden, m * nh, ws->D1, ws->A1);
    if (!(lr * chunk_bound(net, ws, m, X) <= MLP2_UPDATE_BOUND)) {
        double *g = ws->grad;
        /* the gradient, as backward() makes it (delta2 and delta1 are in place) */
        /* gW2 = A1^T delta2 */
        mlp2__gemm(true, false, nh, no, m, 1.0, ws->A1, nh, D2, no, 0.0, g + mlp2__off_W2(net), no);
        /* gb2 = colsum(delta2) = delta2^T 1 */
        mlp2__gemv_t(m, no, 1.0, D2, no, ws->ones, 0.0, g + mlp2__off_b2(net));
        /* gW1 = X^T delta1 */
        mlp2__gemm(true, false, ni, nh, m, 1.0, X, ni, ws->D1, nh, 0.0, g, nh);
        /* gb1 = colsum(delta1) = delta1^T 1 */
        mlp2__gemv_t(m, nh, 1.0, ws->D1, nh, ws->ones, 0.0, g + mlp2__off_b1(net));
        if (!mlp2__step_finite(net->n_params, th, lr, g))
            return MLP2_FAIL(MLP2_ENONFINITE);
        /* theta -= lr * grad */
        mlp2__sgd_update(net->n_params, th, lr, g);
        return MLP2_OK;
    }
    /* W2 -= lr A1^T delta2 */
    mlp2__gemm(true, false, nh, no, m, -lr, ws->A1, nh, D2, no, 1.0, th + mlp2__off_W2(net), no);
    /* b2 -= lr colsum(delta2) = lr delta2^T 1 */
    mlp2__gemv_t(m, no, -lr, D2, no, ws->ones, 1.0, th + mlp2__off_b2(net));
    /* W1 -= lr X^T delta1 */
    mlp2__gemm(true, false, ni, nh, m, -lr, X, ni, ws->D1, nh, 1.0, th, nh);
    /* b1 -= lr colsum(delta1) = lr delta1^T 1 */
    mlp2__gemv_t(m, nh, -lr, ws->D1, nh, ws->ones, 1.0, th + mlp2__off_b1(net));
    return MLP2_OK;
}

/* One step of STEP_LANES: the lane kernel over the batch (as
 * small_seed_chunk runs it) and mlp2__sgd_step_ws's check and update on
 * one thread, the same operations in the same order (the same bits), with
 * the lanes' sums going straight into the update (mlp2__lanes_sgd: one
 * call where the lanes' sums, the check and the update were three, and
 * before them five through the workspace's gradient; mlp2-ab, 2-3-1 step,
 * both load orders: 0.93 of the time at 8 rows, 0.96-0.98 at 64).  X and
 * Y may not have been checked (step_checks_in_pass): a non-finite value
 * among them makes the loss or the gradient non-finite (small_seed_chunk),
 * so the checks below refuse the step with MLP2_ENONFINITE, as the check
 * of the data would have, and a separate check of the sums is not needed
 * (2.8% of 2-3-1's step at 64 rows in a cpu-clock profile; without it
 * mlp2-ab gave 0.987 and 0.992 of the time at 64 rows, the same at 1024).
 * Returns MLP2_OK or MLP2_ENONFINITE (the model unchanged). */
static mlp2_status lanes_step(mlp2 *net, size_t m, const double *X, const double *Y, double lr, double *L)
{
    const size_t np = net->n_params;
    double acc[LANES_ACC], sse;
    const double inv_m = 1.0 / (double)m;
    lanes_sums(net, m, X, Y, inv_m, true, acc);
    mlp2__lanes_sum(1, acc + np * MLP2_LANES, &sse);
    /* linear: L = 1/(2m) ||A2 - Y||^2 */
    *L = mlp2__loss_scale(net->head) * inv_m * sse;
    if (!isfinite(*L))
        return MLP2_FAIL(MLP2_ENONFINITE);
    /* theta -= lr g, checked first: theta - lr g finite implies g finite
     * (theta, lr finite) */
    return mlp2__lanes_sgd(np, acc, lr, net->theta) ? MLP2_OK : MLP2_FAIL(MLP2_ENONFINITE);
}

/* check_inputs: X and Y have not been checked; the gradient's pass checks
 * them (mlp2_sgd_step, step_checks_in_pass) */
static mlp2_status step_path(mlp2 *net, mlp2_workspace *ws, size_t m, const double *X, const double *Y,
                             double lr, double *loss, mlp2_path path, bool check_inputs)
{
    double L;
    mlp2_status st;
    const step_way way = way_of_step(net, ws, m, path);
    if (way == STEP_ROWS) {
        st = mlp2__rows_sgd_step(net, ws, m, X, Y, lr, &L);
    } else if (way == STEP_BLAS) {
        st = blas_step(net, ws, m, X, Y, lr, &L);
    } else if (way == STEP_LANES) {
        st = lanes_step(net, m, X, Y, lr, &L);
    } else {
        /* theta - lr grad finite implies grad finite (theta, lr finite): one check */
        st = loss_grad(net, ws, m, X, Y, &L, ws->grad, path, false, check_inputs);
        if (st == MLP2_OK) /* theta -= lr * grad, checked first; on the threads of a sharded step */
            st = mlp2__sgd_step_ws(net, lr, ws->grad, ws);
    }
    if (st == MLP2_OK && loss)
        *loss = L;
    return st;
}

mlp2_status mlp2__sgd_step_path(mlp2 *net, mlp2_workspace *ws, size_t m, const double *X,
                                const double *Y, double lr, double *loss, mlp2_path path)
{
    return step_path(net, ws, m, X, Y, lr, loss, path, false);
}

mlp2_status mlp2_sgd_step(mlp2 *net, mlp2_workspace *ws, size_t m, const double *X, const double *Y,
                          double lr, double *loss)
{
    mlp2_status st = Y ? check_args(net, ws, m, X) : MLP2_FAIL(MLP2_EINVAL);
    if (st != MLP2_OK)
        return st;
    /* X and Y are checked here, or block by block as the gradient is
     * computed (step_checks_in_pass); here too when lr is bad, so that the
     * statuses come in one order for every workspace: non-finite data
     * first, then lr */
    const bool lr_ok = isfinite(lr) && lr > 0.0, in_pass = step_checks_in_pass(net, ws, m);
    if ((!lr_ok || !in_pass) && (st = check_data(net, ws, m, X, Y)) != MLP2_OK)
        return st;
    if (!isfinite(lr))
        return MLP2_FAIL(MLP2_ENONFINITE);
    if (!(lr > 0.0))
        return MLP2_FAIL(MLP2_EINVAL);
    mlp2_workspace *w;
    if ((st = use_ws(net, ws, m, &w)) != MLP2_OK)
        return st;
    st = step_path(net, w, m, X, Y, lr, loss, MLP2_PATH_AUTO, in_pass);
    if (w != ws)
        mlp2_workspace_free(w);
    return st;
}
