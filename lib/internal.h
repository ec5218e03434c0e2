/*
 * internal.h - shared by the files of lib/ (and white-box tests); nothing
 * else includes it.
 */
#ifndef MLP2_INTERNAL_H
#define MLP2_INTERNAL_H

#include "mlp2.h"

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---- status.c: every error goes through here (one breakpoint catches all) */
mlp2_status mlp2__fail(mlp2_status s);
#define MLP2_FAIL(s) mlp2__fail(s)

/* ---- alloc.c: the library's only allocation path ------------------------ */
void *mlp2__alloc(size_t size);              /* NULL on failure or size 0 */
void *mlp2__alloc_array(size_t n, size_t sz); /* NULL on overflow/failure */
void mlp2__free(void *p);                    /* NULL: no-op */
/* a*b without overflow; false when it would overflow */
static inline bool mlp2__mul(size_t a, size_t b, size_t *r)
{
    if (b != 0 && a > SIZE_MAX / b)
        return false;
    *r = a * b;
    return true;
}
static inline bool mlp2__add(size_t a, size_t b, size_t *r)
{
    if (a > SIZE_MAX - b)
        return false;
    *r = a + b;
    return true;
}
/* First row of part k when n rows are cut into `parts` equal parts (to a
 * row; part `parts` starts at n): the shards of shard.c, the blocks of
 * pass.c.  n <= INT_MAX and k <= parts <= n there, so n k fits. */
static inline size_t mlp2__part_start(size_t n, size_t parts, size_t k)
{
    return n * k / parts;
}

/* s[0] + ... + s[n-1] for n a power of two, added pairwise by halving
 * (s[u] += s[u + n/2], then s[u] += s[u + n/4], ...) in place: log2(n)
 * vector steps in a fixed order, for sums kept in vector lanes (blas.c's
 * dot product, kernels.c's mlp2__lanes_sum). */
static inline double mlp2__halving_sum(size_t n, double *s)
{
    for (size_t w = n / 2; w > 0; w /= 2)
        for (size_t u = 0; u < w; u++)
            s[u] += s[u + w];
    return s[0];
}

/* ---- rng.c: xoshiro256** seeded through splitmix64 --------------------- */
typedef struct mlp2_rng {
    uint64_t s[4];
} mlp2_rng;
void mlp2__rng_seed(mlp2_rng *r, uint64_t seed);
uint64_t mlp2__rng_next(mlp2_rng *r);
double mlp2__rng_uniform(mlp2_rng *r);              /* [0, 1), 53 random bits */
uint64_t mlp2__rng_below(mlp2_rng *r, uint64_t n);  /* [0, n), unbiased; n > 0 */

/* ---- model.c ------------------------------------------------------------ */
typedef struct mlp2_section {
    char *name;
    unsigned char *data;
    size_t len;
} mlp2_section;

struct mlp2 {
    size_t n_in, n_hidden, n_out, n_params;
    mlp2_hidden hidden; /* the hidden activation (MLP2_HIDDEN_SIGMOID: the seed's) */
    mlp2_head head;     /* the output head and its loss (MLP2_HEAD_LINEAR: the seed's) */
    double *theta; /* n_params: W1 (n_in x n_hidden), b1, W2 (n_hidden x n_out), b2 */
    mlp2_section *sections;
    size_t n_sections;
};

/* Views into theta (or a gradient in the same layout). */
static inline size_t mlp2__off_b1(const mlp2 *n) { return n->n_in * n->n_hidden; }
static inline size_t mlp2__off_W2(const mlp2 *n) { return mlp2__off_b1(n) + n->n_hidden; }
static inline size_t mlp2__off_b2(const mlp2 *n) { return mlp2__off_W2(n) + n->n_hidden * n->n_out; }

/* Validate sizes and compute n_params; MLP2_EINVAL / MLP2_ERANGE. */
mlp2_status mlp2__check_shape(size_t n_in, size_t n_hidden, size_t n_out, size_t *n_params);
/* MLP2_OK when spec's kinds are known values and fit its sizes (a softmax
 * head needs n_out >= 2), else MLP2_EINVAL; the sizes are not checked. */
mlp2_status mlp2__check_kinds(const mlp2_spec *spec);
/* A model with uninitialised parameters, no sections, sigmoid hidden units
 * and a linear head. */
mlp2_status mlp2__alloc_model(mlp2 **out, size_t n_in, size_t n_hidden, size_t n_out);

/* ---- workspace.c -------------------------------------------------------- */
struct mlp2_workspace {
    size_t n_in, n_hidden, n_out, n_params, max_batch;
    double *A1;   /* max_batch x n_hidden: Z1, then A1 = sigmoid(Z1) in place (the
                     * one-output fused tail then writes delta1 over it, and
                     * leaves D1 alone) */
    double *A2;   /* max_batch x n_out:    Z2/A2, then delta2 in place */
    double *D1;   /* max_batch x n_hidden: delta2 W2^T, then delta1 in place */
    double *ones; /* max_batch ones: column sums as gemv */
    double *grad; /* n_params: gradient for mlp2_sgd_step */
    size_t threads;         /* as asked: mlp2_workspace_create_mt's n_threads, else 1 */
    struct mlp2_shards *mt; /* threads and shards (shard.c); NULL: one thread, no shards */
};
/* ws was made for net's shape (inline: mlp2_predict's one-row path) */
static inline bool mlp2__ws_fits(const mlp2_workspace *ws, const mlp2 *net)
{
    return ws->n_in == net->n_in && ws->n_hidden == net->n_hidden && ws->n_out == net->n_out;
}
/* MLP2_OK when ws was made for net's shape, else MLP2_EINVAL. */
mlp2_status mlp2__ws_check(const mlp2_workspace *ws, const mlp2 *net);

/* Hot loops are built for several instruction sets (AVX-512; AVX2 with FMA,
 * i.e. x86-64-v3; the x86-64 baseline); the best is picked at load time.
 * The AVX2 clone is x86-64-v3 rather than "avx2" alone, which leaves FMA
 * out: the kernels that contract (MLP2_FMA) then give the same bits on
 * AVX2 machines as on AVX-512 ones.  meson.build defines MLP2_CLONE_V3
 * when the compiler knows it. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(MLP2_NO_CLONES)
#ifdef MLP2_CLONE_V3
#define MLP2_CLONES __attribute__((target_clones("avx512f", "arch=x86-64-v3", "default")))
#else
#define MLP2_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#endif
#else
#define MLP2_CLONES
#endif

/* ---- optim.c ------------------------------------------------------------ */
/* MLP2_OK when every field the kind uses is in its documented range, else MLP2_EINVAL */
mlp2_status mlp2__optim_check_config(const mlp2_optim_config *c);
/* mlp2_optim_step, its passes over large models shared by ws's threads
 * (ws NULL or one thread: the calling thread); the same bits either way */
mlp2_status mlp2__optim_step_ws(mlp2_optim *opt, mlp2 *net, const double *grad, mlp2_workspace *ws);
/* theta -= lr * grad when every new value is finite (lr finite, > 0), else
 * MLP2_ENONFINITE and theta unchanged: plain SGD's two passes of
 * mlp2__optim_step_ws, on ws's threads */
mlp2_status mlp2__sgd_step_ws(mlp2 *net, double lr, const double *grad, mlp2_workspace *ws);

/* ---- for libmlp2_mpi only ----------------------------------------------
 * Exported (lib/mlp2.map: mlp2__mpi_*) but not declared in mlp2.h: no
 * promise beyond the libmlp2 built from the same tree, which is the one
 * libmlp2_mpi links against (tests/install/run.sh allows these names and no
 * other mlp2__ one).  Every rank steps its own slice [lo, hi) of the flat
 * parameter vector (mpi/mlp2_mpi.c):
 *  - check: true when opt's next step makes every new parameter and state
 *    value of [lo, hi) finite; reads only.  grad[0] is element lo's gradient.
 *  - write: that step written to [lo, hi) of net and of opt's state, and
 *    opt's step count advanced (once per step, by every rank, for its slice).
 * opt was made for net's shape; lo <= hi <= n_params.  With ws's threads
 * the passes run in ranges (mlp2__ws_for); the bits are those of
 * mlp2_optim_step on the whole vector either way. */
#if defined(MLP2_BUILDING) && defined(__GNUC__)
#define MLP2_PEER __attribute__((visibility("default")))
#else
#define MLP2_PEER
#endif
MLP2_PEER bool mlp2__mpi_optim_check(mlp2_optim *opt, mlp2 *net, const double *grad, size_t lo,
                                     size_t hi, mlp2_workspace *ws);
MLP2_PEER void mlp2__mpi_optim_write(mlp2_optim *opt, mlp2 *net, const double *grad, size_t lo,
                                     size_t hi, mlp2_workspace *ws);
/* net's parameter vector itself (n_params doubles, the layout of theta) */
MLP2_PEER double *mlp2__mpi_params(mlp2 *net);
/* The threads a run of cfg->threads >= 1 over m training and m_val
 * validation rows gets: cfg->threads, or 1 when the whole run is too short
 * to pay for making a pool (lib/train.c; mlp2_train uses it too) */
MLP2_PEER size_t mlp2__mpi_run_threads(const mlp2 *net, const mlp2_train_config *cfg, size_t m,
                                       size_t m_val);

/* ---- blas.c: the one BLAS seam ------------------------------------------ */
/* C = alpha op(A) op(B) + beta C, all row-major; C is M x N, K inner.
 * beta == 0 overwrites C (it may hold garbage).  Sizes must fit in int
 * (checked at workspace creation; asserted here). */
void mlp2__gemm(bool transA, bool transB, size_t M, size_t N, size_t K, double alpha,
                const double *A, size_t lda, const double *B, size_t ldb, double beta, double *C,
                size_t ldc);
/* The same product as plain loops (any flags), used by mlp2__gemm for outer
 * products (K == 1) and by the small-shape path.  With B transposed and
 * K <= MLP2_SKINNY it builds rows of C instead of taking dot products. */
#define MLP2_SKINNY 4
void mlp2__lgemm(bool transA, bool transB, size_t M, size_t N, size_t K, double alpha,
                 const double *A, size_t lda, const double *B, size_t ldb, double beta, double *C,
                 size_t ldc);
/* C = A B (no transposes, alpha 1, beta 0) for few inner terms, K <= MLP2_FEW_K,
 * as loops held in registers; mlp2__gemm takes it when N is a multiple of
 * MLP2_FEW_K_COLS (blas.c has the measurements).  K >= 1. */
#define MLP2_FEW_K 20
#define MLP2_FEW_K_COLS 16
void mlp2__gemm_few_k(size_t M, size_t N, size_t K, const double *A, size_t lda, const double *B,
                      size_t ldb, double *C, size_t ldc);
/* y = alpha A^T x + beta y, A row-major M x N, x length M, y length N. */
void mlp2__gemv_t(size_t M, size_t N, double alpha, const double *A, size_t lda, const double *x,
                  double beta, double *y);
bool mlp2__fits_int(size_t n);
/* Hold OpenBLAS at one thread between begin and end (nested and concurrent
 * callers counted; the last end restores the count found by the first
 * begin): worker threads each call BLAS, and must not each start its
 * threads too. */
void mlp2__blas_single_begin(void);
void mlp2__blas_single_end(void);

/* ---- kernels.c: vectorised element-wise passes -------------------------- */
/* Bit 63 of the result is set iff x is NaN or Inf: an all-ones exponent
 * carries out of the exponent field.  Branch-free, so that checking loops
 * (acc |= mlp2__nonfinite_bit(x[i])) vectorise. */
static inline uint64_t mlp2__nonfinite_bit(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return (u & 0x7ff0000000000000u) + 0x0010000000000000u;
}
/* The library's exp and sigmoid, inline so that every kernel (and the
 * latency path) computes the same bits from the same expressions.  Built
 * without FMA contraction these are the reference bits; a kernel that
 * contracts them (MLP2_FMA in kernels.c) says so. */
static inline uint64_t mlp2__bits_of(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static inline double mlp2__double_of(uint64_t u)
{
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* exp(r) for the reduced argument |r| <= ln2/2: the degree-13 Taylor
 * polynomial (truncation error < 1e-17 relative), written
 * 1 + (r + r^2 q(r)), q(r) = sum_{k=2..13} r^(k-2) / k!, with q by
 * Estrin's scheme: pairs of coefficients joined with r^2, then r^4
 * (computed alongside).  Fused, its chain is 6 multiply-adds deep where
 * Horner's is 13, and that chain is most of a sigmoid's latency at one row
 * (lib/rows.c).  The 1 is added last, as in Horner's order, which keeps
 * the error at Horner's (a plain Estrin tree, 1 + r rounded first,
 * measured 2.15 ulp from expl and 2 ulp from glibc).  lib/export.c writes
 * these lines out term for term.
 * Many sigmoids side by side in vector lanes (the small path's kernels)
 * used Horner's rule until Dec 1, two operations fewer a lane, which had
 * measured 4-5% faster per element on the Intel AVX-512 machine.  On the
 * AMD Zen 3 machine Estrin's shorter chain won there as well (2-3-1 step
 * 0.84-0.88 of the time, predict 0.82-0.95; the dependent chains, not the
 * operation count, limit how many exps the core keeps in flight), so one
 * polynomial serves every path. */
static inline double mlp2__exp_estrin(double r)
{
    const double r2 = r * r, r4 = r2 * r2;
    const double c23 = 1.0 / 2.0 + 1.0 / 6.0 * r;
    const double c45 = 1.0 / 24.0 + 1.0 / 120.0 * r;
    const double c67 = 1.0 / 720.0 + 1.0 / 5040.0 * r;
    const double c89 = 1.0 / 40320.0 + 1.0 / 362880.0 * r;
    const double c1011 = 1.0 / 3628800.0 + 1.0 / 39916800.0 * r;
    const double c1213 = 1.0 / 479001600.0 + 1.0 / 6227020800.0 * r;
    const double c25 = c23 + c45 * r2;
    const double c69 = c67 + c89 * r2;
    const double c1013 = c1011 + c1213 * r2;
    const double q = c25 + (c69 + c1013 * r4) * r4;
    return 1.0 + (r + r2 * q);
}

/* exp(x), branch-free so that it vectorises: Cody-Waite reduction
 * x = n ln2 + r, |r| <= ln2/2, the polynomial (mlp2__exp_estrin), and a
 * scale by 2^n built in the exponent bits.  Outside [-708, 708] the result
 * saturates: +Inf above 708, 0 below -708 (where the true value is below
 * 3.3e-308), so that sigmoid gives exactly 1 and 0 in its tails and a
 * saturated unit passes back exactly zero gradient.  The last line picks
 * those; the reduction and the polynomial run on x as it comes (out there
 * their value, even NaN, is discarded): until Dec 1 x was clamped to
 * [-708, 708] first, two operations on the chain that bounds a sigmoid's
 * latency, for the same bits (mlp2-ab, both load orders: 2-3-1 predict at
 * one row 0.96-0.99 of the time, 10-32-1 step at 1024 rows about 0.97).
 * Every path uses it: mlp2_predict_portable and the exported code (the
 * reference bits, no FMA); the sigmoid kernels of the BLAS path, the small
 * path and the latency path (rows.c), all contracted into FMAs where the
 * CPU has them; tanh, softplus and softmax (no FMA).
 * Error on [-708, 708], measured on 10^8 points (dense and random sweeps of
 * [-708, 708], [-1, 1], [-0.35, 0.35] and [-1e-6, 1e-6]): at most 1 ulp
 * from glibc's exp; at most 0.99 ulp from the true value (expl) as written,
 * 1.02 ulp contracted into FMAs. */
static inline double mlp2__exp(double x)
{
    const double shifter = 0x1.8p52; /* adding it rounds to an integer held in the low bits */
    const double log2e = 0x1.71547652b82fep0;
    const double ln2_hi = 0x1.62e42fefa3800p-1; /* trailing zeros: n*ln2_hi is exact */
    const double ln2_lo = 0x1.ef35793c76730p-45;
    const double t = x * log2e + shifter;
    const double n = t - shifter;
    double r = x - n * ln2_hi;
    r = r - n * ln2_lo;
    const double p = mlp2__exp_estrin(r);
    /* 2^n: the low bits of t hold n; shift it into the exponent field */
    const double scale = mlp2__double_of((mlp2__bits_of(t) + 1023u) << 52);
    const double y = p * scale;
    return x > 708.0 ? (double)INFINITY : (x < -708.0 ? 0.0 : y);
}

/* sigmoid(z) = 1 / (1 + exp(-z)), with mlp2__exp */
static inline double mlp2__sigmoid(double z)
{
    return 1.0 / (1.0 + mlp2__exp(-z));
}

/* true when every x[i] is finite */
bool mlp2__all_finite(size_t n, const double *x);
/* max |x[i]|; Inf or NaN when some x[i] is not finite */
double mlp2__absmax(size_t n, const double *x);
/* A[i][j] = sigmoid(A[i][j] + b[j]), in place; A is rows x cols.  Contracted
 * into FMAs where the clone has them (the last bit may differ from _exact's) */
void mlp2__bias_sigmoid(size_t rows, size_t cols, double *A, const double *b);
/* the same without FMA: the reference bits in every clone (mlp2_predict_portable) */
void mlp2__bias_sigmoid_exact(size_t rows, size_t cols, double *A, const double *b);
/* A[i][j] += b[j] */
void mlp2__bias_add(size_t rows, size_t cols, double *A, const double *b);
/* With a = Z2 + b2 and r = a - Y: D2 = r * inv_m in place over Z2;
 * returns sum r^2 */
double mlp2__residual_delta2(size_t rows, size_t cols, double *Z2, const double *b,
                             const double *Y, double inv_m);
/* D1 = D1 .* A1 .* (1 - A1), in place */
void mlp2__delta1(size_t n, double *D1, const double *A1);
/* The seed's network with one output, from Z1 = X W1 (rows x nh, made A1
 * in place, then delta1 over it) to delta2 (D2, rows), row by row
 * (kernels.c); returns sum (A2 - Y)^2 and sums gb1, gW2 (w2's gradient,
 * nh) and gb2 (beta 0 starts them, 1 adds).  gb1 NULL: the loss alone
 * (A1 left as sigmoid(Z1 + b1); D2, gw2, gb2 and beta unused), the same
 * bits as with the gradient. */
double mlp2__sigmoid_linear1_tail(size_t rows, size_t nh, double *A1, const double *b1,
                                  const double *w2, double b2, const double *y, double inv_m,
                                  double beta, double *D2, double *gb1, double *gw2, double *gb2);
/* true when every theta[i] - lr*g[i] is finite */
bool mlp2__step_finite(size_t n, const double *theta, double lr, const double *g);
/* theta[i] = theta[i] - lr*g[i]: the value mlp2__step_finite checked */
void mlp2__sgd_update(size_t n, double *theta, double lr, const double *g);
/* The small-shape path's tiles are transposed (a row per unit, a column per
 * sample), so its kernels take the bias per row:
 * At (cols x rows) = A^T, A rows x cols with leading dimension lda */
void mlp2__transpose(size_t rows, size_t cols, const double *A, size_t lda, double *At);
/* A[i][j] = sigmoid(A[i][j] + b[i]), in place */
void mlp2__bias_sigmoid_rows(size_t rows, size_t cols, double *A, const double *b);
/* as mlp2__residual_delta2 with b[i] added to row i; Y has Z2's layout */
double mlp2__residual_delta2_rows(size_t rows, size_t cols, double *Z2, const double *b,
                                  const double *Y, double inv_m);
/* The seed's network with one output on the small path (sigmoid hidden,
 * linear output, MSE; n_in n_hidden + n_hidden <= MLP2_SMALL_WORK): forward
 * and backward for `rows` rows of X (rows x ni) and Y (rows x 1), the sums
 * over rows kept in MLP2_LANES lanes of acc, which the caller zeroes:
 * (ni nh + 2 nh + 2) MLP2_LANES doubles, the gradient's entries in its own
 * order (W1, b1, W2, b2) and then the sum of squares.  grad false: the sum
 * of squares alone (the same bits).  A2 != NULL: predict into A2 (rows x
 * 1) instead, the same outputs the loss is made from; Y and acc unused.
 * X and Y are not checked (with the gradient, a non-finite value makes
 * the sums non-finite: pass.c, small_seed_chunk). */
#define MLP2_LANES 8
void mlp2__sigmoid_linear1_lanes(size_t rows, size_t ni, size_t nh, const double *X, const double *Y,
                                 const double *W1, const double *b1, const double *w2, double b2,
                                 double inv_m, bool grad, double *acc, double *A2);
/* out[k] = the sum of the MLP2_LANES lanes acc[k L .. k L + L - 1], in a
 * fixed pairwise order, for k < n */
void mlp2__lanes_sum(size_t n, const double *acc, double *out);
/* An SGD step from the lanes: g[k] = mlp2__lanes_sum's sum of entry k of
 * acc, theta[k] - lr g[k] for k < n (n <= 2 MLP2_SMALL_WORK + 1), written
 * to theta only when every value is finite (the expressions of
 * mlp2__step_finite and mlp2__sgd_update: the same bits).  Returns whether
 * theta was written. */
bool mlp2__lanes_sgd(size_t n, const double *acc, double lr, double *theta);

/* ---- activ.c: the hidden activations, in fused vectorised kernels ------- */
/* A[i][j] = f(A[i][j] + b[j]), in place; A is rows x cols */
void mlp2__bias_act(mlp2_hidden f, size_t rows, size_t cols, double *A, const double *b);
/* the same with b[i] added to row i (the small path's transposed tiles) */
void mlp2__bias_act_rows(mlp2_hidden f, size_t rows, size_t cols, double *A, const double *b);
/* D1 = D1 .* f'(Z1), written in A1 = f(Z1), in place */
void mlp2__act_delta1(mlp2_hidden f, size_t n, double *D1, const double *A1);

/* ---- head.c: the output heads, their losses and targets ----------------- */
/* With Z = Z2 + b2 (b[j] added to column j) and A2 = head(Z): overwrite Z2
 * with delta2 = (A2 - Y) * inv_m and return the chunk's loss sum S, with
 * L = mlp2__loss_scale(head) * S / m over all chunks:
 *   linear:  S = sum (A2 - Y)^2                      (scale 1/2)
 *   softmax: S = sum_rows sum_j Y_j (lse(Z) - Z_j)   (scale 1)
 *   sigmoid: S = sum softplus(Z) - Y Z               (scale 1) */
double mlp2__head_delta(mlp2_head h, size_t rows, size_t cols, double *Z2, const double *b,
                        const double *Y, double inv_m);
/* the same on the small path's transposed tiles: rows = outputs, cols =
 * samples, b[i] added to row i; Y in Z2's layout */
double mlp2__head_delta_rows(mlp2_head h, size_t rows, size_t cols, double *Z2, const double *b,
                             const double *Y, double inv_m);
double mlp2__loss_scale(mlp2_head h);
/* A = head(A + b), in place (predictions); A is rows x cols */
void mlp2__head_out(mlp2_head h, size_t rows, size_t cols, double *A, const double *b);
/* MLP2_OK when Y (m x n_out, finite) is a valid target for the head (see
 * mlp2.h), else MLP2_EINVAL */
mlp2_status mlp2__check_targets(mlp2_head h, size_t m, size_t n_out, const double *Y);

/* ---- pass.c: forward and backward on one chunk -------------------------- */
/* Two ways through a chunk, with the same equations and the same results up
 * to rounding: the BLAS path (five dgemm calls on the whole chunk) and the
 * small-shape path (plain loops on transposed tiles of rows that stay in L1).
 * The small path is taken when a row costs at most MLP2_SMALL_WORK
 * multiply-adds (n_in n_hidden + n_hidden n_out), a tile of at least
 * MLP2_SMALL_MIN_TILE rows fits in MLP2_SMALL_TILE_WORDS doubles, and the
 * chunk has at least MLP2_SMALL_MIN_ROWS rows. */
#define MLP2_SMALL_WORK 48
#define MLP2_SMALL_TILE_WORDS 4096
#define MLP2_SMALL_MAX_TILE 512
#define MLP2_SMALL_MIN_TILE 8
#define MLP2_SMALL_MIN_ROWS 1
typedef enum { MLP2_PATH_AUTO, MLP2_PATH_BLAS, MLP2_PATH_SMALL, MLP2_PATH_ROWS } mlp2_path;
/* true when `rows` rows of net's shape take the small path */
bool mlp2__small_path(const mlp2 *net, size_t rows);

/* A1, A2 of ws for `rows` rows of X (rows <= max_batch); A2 includes b2. */
void mlp2__forward(const mlp2 *net, mlp2_workspace *ws, size_t rows, const double *X, double *A2);
/* Loss and gradient over all m rows, chunked by ws->max_batch.
 * grad may be NULL.  Returns MLP2_OK or MLP2_ENONFINITE. */
mlp2_status mlp2__loss_grad(const mlp2 *net, mlp2_workspace *ws, size_t m, const double *X,
                            const double *Y, double *loss, double *grad);
/* The same without the final finiteness pass over grad, for callers whose
 * update check covers it: with theta and lr finite, theta - lr*g (and every
 * optimizer's new theta) is finite only if g is (mlp2_sgd_step, mlp2_train).
 * The loss is still checked. */
mlp2_status mlp2__loss_grad_for_step(const mlp2 *net, mlp2_workspace *ws, size_t m, const double *X,
                                     const double *Y, double *loss, double *grad);
/* The same on a chosen path (MLP2_PATH_SMALL only where the tile fits:
 * mlp2__small_path(net, MLP2_SMALL_MIN_ROWS) with any work bound). */
mlp2_status mlp2__loss_grad_path(const mlp2 *net, mlp2_workspace *ws, size_t m, const double *X,
                                 const double *Y, double *loss, double *grad, mlp2_path path);
/* A2 = predictions for m rows (chunked, b2 included), on a chosen path.
 * Returns true when every output is finite (each chunk or shard is checked
 * right after it is written, by the thread that wrote it). */
bool mlp2__predict_path(const mlp2 *net, mlp2_workspace *ws, size_t m, const double *X, double *A2,
                        mlp2_path path);
/* mlp2_sgd_step after its argument checks, on a chosen path (ws not NULL) */
mlp2_status mlp2__sgd_step_path(mlp2 *net, mlp2_workspace *ws, size_t m, const double *X,
                                const double *Y, double lr, double *loss, mlp2_path path);

/* ---- rows.c: the latency path, one row at a time ------------------------ */
/* Taken automatically for one row, and for at most MLP2_ROWS_MAX rows of
 * at most MLP2_ROWS_WORK multiply-adds in all (chosen by measurement; see
 * mlp2__row_path).  Scratch: ws->A1, A2, D1 for one row, ws->grad.  Any m
 * works when forced (MLP2_PATH_ROWS). */
#define MLP2_ROWS_MAX 6
#define MLP2_ROWS_WORK 1200
/* lr |g| <= MLP2_UPDATE_BOUND = 2^960 for every gradient entry g proves
 * theta - lr g finite for any finite theta (see rows.c) */
#define MLP2_UPDATE_BOUND 0x1p960
/* true when m rows of net's shape take the latency path */
bool mlp2__row_path(const mlp2 *net, size_t m);
/* A2 = predictions for m rows (b2 included); returns whether all are finite */
bool mlp2__rows_predict(const mlp2 *net, mlp2_workspace *ws, size_t m, const double *X, double *A2);
/* as mlp2__loss_grad (grad may be NULL); the gradient's finiteness comes
 * from a bound computed along the way, with a pass over it only when the
 * bound fails */
mlp2_status mlp2__rows_loss_grad(const mlp2 *net, mlp2_workspace *ws, size_t m, const double *X,
                                 const double *Y, double *loss, double *grad);
/* theta -= lr grad(theta) over m rows; *loss the loss before the step.
 * MLP2_ENONFINITE (model unchanged) for a non-finite loss or update. */
mlp2_status mlp2__rows_sgd_step(mlp2 *net, mlp2_workspace *ws, size_t m, const double *X,
                                const double *Y, double lr, double *loss);

/* One chunk of rows <= ws->max_batch rows, on the calling thread: returns
 * sum (A2 - Y)^2 and, when grad != NULL, sets grad = beta grad + the chunk's
 * gradient with delta2 = (A2 - Y) inv_m.  The building block of both the
 * chunk loop below and the shards of shard.c.  check: each block of rows
 * is checked for non-finite X and Y just before it is computed (on the
 * small path: the whole chunk first for the tiled kernels, each tile as
 * the lane kernel reads it, into its own scratch, grad untouched); one
 * makes the result NaN, and grad then holds no meaningful values. */
double mlp2__chunk_sse_grad(const mlp2 *net, mlp2_workspace *ws, size_t rows, const double *X,
                            const double *Y, double inv_m, double beta, double *grad, mlp2_path path,
                            bool check);
/* A2 = predictions for one chunk of rows <= ws->max_batch rows (b2 included). */
void mlp2__chunk_predict(const mlp2 *net, mlp2_workspace *ws, size_t rows, const double *X, double *A2,
                         mlp2_path path);

/* ---- pool.c: persistent worker threads ---------------------------------- */
typedef struct mlp2_pool mlp2_pool;
/* task: 0..n_tasks-1; thread: 0 (the caller) .. n_threads-1 */
typedef void (*mlp2_task_fn)(void *arg, size_t task, size_t thread);
/* n_threads - 1 workers (the caller is thread 0).  MLP2_ENOMEM when a
 * thread cannot be made: none is left running. */
mlp2_status mlp2__pool_create(mlp2_pool **out, size_t n_threads);
void mlp2__pool_free(mlp2_pool *p); /* joins the workers; NULL: no-op */
/* Run every task once, spread over the caller and the workers; returns
 * when all are done.  One caller at a time.  p NULL: the caller runs
 * the tasks in turn. */
void mlp2__pool_run(mlp2_pool *p, size_t n_tasks, mlp2_task_fn fn, void *arg);

/* ---- shard.c: a batch cut into shards for the pool ---------------------- */
typedef struct mlp2_shards mlp2_shards;
/* Rows of a shard, at least: a chunk of fewer than 2 MLP2_SHARD_MIN_ROWS
 * rows is one shard, on the calling thread. */
#define MLP2_SHARD_MIN_ROWS 64
/* Shards of a chunk of `rows` rows: from the shape and rows only. */
size_t mlp2__shard_count(const mlp2 *net, size_t rows);
/* Scratch for min(n_threads, shards of a max_batch chunk) threads
 * (sub-workspaces, partial gradients) and
 * the pool, for the workspace ws of net's shape. */
mlp2_status mlp2__shards_create(mlp2_shards **out, mlp2_workspace *ws, const mlp2 *net,
                                size_t n_threads);
void mlp2__shards_free(mlp2_shards *sh); /* NULL: no-op */
/* fn(arg, lo, hi) over [0, n) cut into ranges, on ws's threads (ws NULL,
 * or a workspace without a pool: one call fn(arg, 0, n)); returns when all
 * are done.  The ranges depend on n only. */
typedef void (*mlp2_range_fn)(void *arg, size_t lo, size_t hi);
void mlp2__ws_for(mlp2_workspace *ws, size_t n, mlp2_range_fn fn, void *arg);
/* As the chunk loop of pass.c, shard by shard on the pool (ws->mt != NULL):
 * returns sum (A2 - Y)^2 over m rows, grad (if non-NULL) the gradient.
 * check: each shard checks its rows of X and Y block by block as it
 * computes them (mlp2__chunk_sse_grad), and a non-finite value makes the
 * sum NaN; with check, a chunk whose sum is NaN (for that or any other
 * reason) is not reduced, so grad then holds no meaningful values. */
double mlp2__sharded_sse_grad(const mlp2 *net, mlp2_workspace *ws, size_t m, const double *X,
                              const double *Y, double inv_m, double *grad, mlp2_path path, bool check);
/* ... and the predictions, true when every output is finite */
bool mlp2__sharded_predict(const mlp2 *net, mlp2_workspace *ws, size_t m, const double *X,
                           double *A2, mlp2_path path);

/* ---- crc32c.c: CRC-32C (Castagnoli), see docs/FORMAT.md ---------------- */
/* The CRC of data[0..n) continuing from crc (0 to start):
 * mlp2__crc32c(mlp2__crc32c(0, a, na), b, nb) is the CRC of a followed by b. */
uint32_t mlp2__crc32c(uint32_t crc, const void *data, size_t n);

#endif
