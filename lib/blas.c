/* blas.c - the one seam between the library and BLAS (OpenBLAS via CBLAS).
 * Callers pass size_t; sizes were checked against INT_MAX when the model and
 * the workspace were made, so here they are only asserted. */
#include "internal.h"
#include "elementwise.h"

#include <assert.h>
#include <cblas.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>

bool mlp2__fits_int(size_t n)
{
    return n <= (size_t)INT_MAX;
}

/*
 * dgemm is tuned for real matrix products.  Skinny ones go elsewhere: for
 * them OpenBLAS 0.3.21 packs both operands anyway and takes 2-3x the time
 * the memory traffic needs (on the benchmark machine a 784 x 512 outer
 * product, K = 1, takes 146 us in dgemm and 47 us as a loop; a 1 x 784 times
 * 784 x 512 product 95 us in dgemm and 44 us in dgemv).  So an outer
 * product (K == 1) is the plain loop, one pass over C, and a product with a
 * single row or column of C is a dgemv.  From K = 2 on dgemm wins again
 * (measured: plain loops with K or M = 4 ran 2x slower than dgemm).
 */
void mlp2__gemm(bool transA, bool transB, size_t M, size_t N, size_t K, double alpha,
                const double *A, size_t lda, const double *B, size_t ldb, double beta, double *C,
                size_t ldc)
{
    assert(mlp2__fits_int(M) && mlp2__fits_int(N) && mlp2__fits_int(K));
    assert(mlp2__fits_int(lda) && mlp2__fits_int(ldb) && mlp2__fits_int(ldc));
    const CBLAS_TRANSPOSE tA = transA ? CblasTrans : CblasNoTrans;
    const CBLAS_TRANSPOSE tB = transB ? CblasTrans : CblasNoTrans;
    if (K == 1) {
        mlp2__lgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    } else if (M == 1) {
        /* c^T = alpha a^T op(B) + beta c^T, i.e. c = alpha op(B)^T a + beta c */
        const int inca = transA ? (int)lda : 1;
        cblas_dgemv(CblasRowMajor, transB ? CblasNoTrans : CblasTrans, transB ? (int)N : (int)K,
                    transB ? (int)K : (int)N, alpha, B, (int)ldb, A, inca, beta, C, 1);
    } else if (N == 1) {
        /* c = alpha op(A) b + beta c, b = op(B) (K x 1), c strided by ldc */
        const int incb = transB ? 1 : (int)ldb;
        cblas_dgemv(CblasRowMajor, tA, transA ? (int)K : (int)M, transA ? (int)M : (int)K, alpha, A,
                    (int)lda, B, incb, beta, C, (int)ldc);
    } else if (!transA && !transB && alpha == 1.0 && beta == 0.0 && K <= MLP2_FEW_K &&
               N % MLP2_FEW_K_COLS == 0) {
        /* C = A B with few inner terms (Z1 = X W1 of a net with few inputs) */
        mlp2__gemm_few_k(M, N, K, A, lda, B, ldb, C, ldc);
    } else {
        cblas_dgemm(CblasRowMajor, tA, tB, (int)M, (int)N, (int)K, alpha, A, (int)lda, B, (int)ldb,
                    beta, C, (int)ldc);
    }
}

/*
 * C = A B for K <= MLP2_FEW_K, in loops.  dgemm packs both operands and
 * runs its kernel over a K of 10 or 16 far below its rate: Z1 = X W1 of
 * 10-32-1 took 45 ns a row in dgemm and 30 here (1024 rows, one thread,
 * AMD Zen 3, best of 5; 16-64: 106 and 84, 20-64: 128 and 103, 32-128: the
 * same, 64-256: 1.28x slower here, 4-24, with 8 columns past the last 16,
 * 1.74x slower: hence mlp2__gemm's conditions).
 * Each element is c = a_0 b_0 + a_1 b_1 + ... + a_{K-1} b_{K-1}, added in
 * k order, one multiply-add per term (contracted, MLP2_FMA).  Every element
 * comes from the one block below, 3 rows by MLP2_FEW_K_COLS columns, whose
 * sums sit in vector registers while k runs: the rows and columns left over
 * go through it too, copied into zero-padded blocks.  So an element's bits
 * do not depend on where the block edges fall.  (Left over element by
 * element, the same sum came out in other bits: gcc vectorised its k loop
 * as an in-order reduction, the products apart from the adds, unfused.)
 */
enum { FEW_R = 3, FEW_Q = MLP2_FEW_K_COLS };

/* C (FEW_R x FEW_Q, rows ldc apart) = A (FEW_R rows, lda apart) B (K x FEW_Q,
 * rows ldb apart) */
static inline __attribute__((always_inline)) void few_k_block(size_t K, const double *restrict A, size_t lda,
                                                              const double *restrict B, size_t ldb,
                                                              double *restrict C, size_t ldc)
{
    double acc[FEW_R][FEW_Q];
    for (size_t q = 0; q < FEW_R; q++)
#pragma omp simd
        for (size_t u = 0; u < FEW_Q; u++)
            acc[q][u] = A[q * lda] * B[u]; /* c = a_0 b_0 */
    for (size_t k = 1; k < K; k++)
        for (size_t q = 0; q < FEW_R; q++) {
            const double a = A[q * lda + k];
#pragma omp simd
            for (size_t u = 0; u < FEW_Q; u++)
                acc[q][u] += a * B[k * ldb + u]; /* c += a_k b_k */
        }
    for (size_t q = 0; q < FEW_R; q++)
#pragma omp simd
        for (size_t u = 0; u < FEW_Q; u++)
            C[q * ldc + u] = acc[q][u];
}

MLP2_CLONES MLP2_FMA
void mlp2__gemm_few_k(size_t M, size_t N, size_t K, const double *restrict A, size_t lda,
                      const double *restrict B, size_t ldb, double *restrict C, size_t ldc)
{
    /* the columns past the last whole block, zero-padded to one; a short
     * last group of rows likewise; and a block for their results */
    double bq[MLP2_FEW_K * FEW_Q], ar[FEW_R * MLP2_FEW_K], cb[FEW_R * FEW_Q];
    const size_t nq = N - N % FEW_Q;
    if (nq < N)
        for (size_t k = 0; k < K; k++)
            for (size_t u = 0; u < FEW_Q; u++)
                bq[k * FEW_Q + u] = nq + u < N ? B[k * ldb + nq + u] : 0.0;
    for (size_t i = 0; i < M; i += FEW_R) {
        const size_t r = M - i < FEW_R ? M - i : FEW_R; /* rows in this group */
        const double *a = A + i * lda;
        size_t la = lda;
        if (r < FEW_R) {
            for (size_t q = 0; q < FEW_R; q++)
                for (size_t k = 0; k < K; k++)
                    ar[q * K + k] = q < r ? a[q * lda + k] : 0.0;
            a = ar;
            la = K;
        }
        for (size_t j = 0; j < nq; j += FEW_Q) {
            if (r == FEW_R) {
                few_k_block(K, a, la, B + j, ldb, C + i * ldc + j, ldc);
            } else {
                few_k_block(K, a, la, B + j, ldb, cb, FEW_Q);
                for (size_t q = 0; q < r; q++)
                    memcpy(C + (i + q) * ldc + j, cb + q * FEW_Q, FEW_Q * sizeof *C);
            }
        }
        if (nq < N) {
            few_k_block(K, a, la, bq, FEW_Q, cb, FEW_Q);
            for (size_t q = 0; q < r; q++)
                memcpy(C + (i + q) * ldc + nq, cb + q * FEW_Q, (N - nq) * sizeof *C);
        }
    }
}

/* c = beta c over n elements; beta == 0 overwrites (c may hold garbage) */
static inline void scale_row(size_t n, double beta, double *restrict c)
{
    if (beta == 0.0)
        memset(c, 0, n * sizeof *c);
    else if (beta != 1.0)
        for (size_t j = 0; j < n; j++)
            c[j] *= beta;
}

/* c = beta c + a b over n elements (beta == 0 overwrites) */
static inline void axpby_row(size_t n, double a, const double *restrict b, double beta,
                             double *restrict c)
{
    if (beta == 0.0)
        for (size_t j = 0; j < n; j++)
            c[j] = a * b[j];
    else if (beta == 1.0)
        for (size_t j = 0; j < n; j++)
            c[j] += a * b[j];
    else
        for (size_t j = 0; j < n; j++)
            c[j] = beta * c[j] + a * b[j];
}

/* a . b over n elements, in DOT_LANES independent partial sums (vector
 * accumulators, so the adds do not wait on each other), which are then
 * added pairwise in log2(DOT_LANES) vector steps: a serial sum of the 32
 * lanes was a chain of 32 dependent adds, the hottest code of the tiled
 * small path's gradient products (4-8-2 step, one thread, old and new
 * alternated: 24.7-26.1 -> 18.4-22.5 ns a row at 1024 rows, 29.6-30.4 ->
 * 26.7-28.5 at 64).  The order is fixed, so the bits are
 * the same at every vector width.  Fewer than DOT_LANES elements: one
 * serial sum (the remainder loop). */
#define DOT_LANES 32
static inline double dot(size_t n, const double *restrict a, const double *restrict b)
{
    double lanes = 0.0, s = 0.0;
    size_t k = 0;
    if (n >= DOT_LANES) {
        double acc[DOT_LANES] = {0};
        for (; k + DOT_LANES <= n; k += DOT_LANES)
            for (size_t u = 0; u < DOT_LANES; u++)
                acc[u] += a[k + u] * b[k + u];
        lanes = mlp2__halving_sum(DOT_LANES, acc);
    }
    for (; k < n; k++)
        s += a[k] * b[k];
    return lanes + s;
}

/*
 * Three loop orders, each with its inner loop along contiguous memory:
 *  - B not transposed, M > K (C is the big operand): row by row of C, each
 *    row the sum of K rows of B (in cache) scaled by op(A)_ik: one pass over C;
 *  - B not transposed, M <= K: row by row of B, each added to the M rows of C
 *    (in cache): one pass over B;
 *  - B transposed: C[i][j] = op(A)[i][:] . B[j][:], dot products along the
 *    rows of B (and of A when it is not transposed); with K <= MLP2_SKINNY
 *    the rows of C are built as in the first case instead.
 */
MLP2_CLONES
void mlp2__lgemm(bool transA, bool transB, size_t M, size_t N, size_t K, double alpha,
                 const double *restrict A, size_t lda, const double *restrict B, size_t ldb,
                 double beta, double *restrict C, size_t ldc)
{
    const size_t sa_i = transA ? 1 : lda, sa_k = transA ? lda : 1; /* op(A)_ik = A[i sa_i + k sa_k] */
    if (!transB && M <= K) {
        for (size_t i = 0; i < M; i++)
            scale_row(N, beta, C + i * ldc);
        for (size_t k = 0; k < K; k++) {
            const double *restrict b = B + k * ldb;
            for (size_t i = 0; i < M; i++) {
                double *restrict c = C + i * ldc;
                const double a = alpha * A[i * sa_i + k * sa_k];
                for (size_t j = 0; j < N; j++)
                    c[j] += a * b[j];
            }
        }
        return;
    }
    for (size_t i = 0; i < M; i++) {
        double *restrict c = C + i * ldc;
        if (!transB) {
            if (K == 0)
                scale_row(N, beta, c);
            for (size_t k = 0; k < K; k++)
                axpby_row(N, alpha * A[i * sa_i + k * sa_k], B + k * ldb, k == 0 ? beta : 1.0, c);
        } else if (K <= MLP2_SKINNY) {
            scale_row(N, beta, c);
            for (size_t k = 0; k < K; k++) {
                const double a = alpha * A[i * sa_i + k * sa_k];
                for (size_t j = 0; j < N; j++)
                    c[j] += a * B[j * ldb + k];
            }
        } else {
            for (size_t j = 0; j < N; j++) {
                const double *restrict b = B + j * ldb;
                double s = 0.0;
                if (!transA) {
                    s = dot(K, A + i * lda, b);
                } else {
                    for (size_t k = 0; k < K; k++)
                        s += A[k * lda + i] * b[k];
                }
                c[j] = beta == 0.0 ? alpha * s : beta * c[j] + alpha * s;
            }
        }
    }
}

void mlp2__gemv_t(size_t M, size_t N, double alpha, const double *A, size_t lda, const double *x,
                  double beta, double *y)
{
    assert(mlp2__fits_int(M) && mlp2__fits_int(N) && mlp2__fits_int(lda));
    cblas_dgemv(CblasRowMajor, CblasTrans, (int)M, (int)N, alpha, A, (int)lda, x, 1, beta, y, 1);
}

mlp2_status mlp2_set_blas_threads(int n)
{
    if (n < 1)
        return MLP2_FAIL(MLP2_EINVAL);
    openblas_set_num_threads(n);
    return MLP2_OK;
}

int mlp2_blas_threads(void)
{
    return openblas_get_num_threads();
}

/* openblas_get_config() rebuilds its string in a static buffer on every
 * call, so a reader in one thread can see another's half-written copy: read
 * it once, under pthread_once, into a buffer of our own. */
static char blas_config[256] = "unknown";
static pthread_once_t blas_config_once = PTHREAD_ONCE_INIT;

static void read_blas_config(void)
{
    const char *s = openblas_get_config();
    if (s) {
        strncpy(blas_config, s, sizeof blas_config - 1);
        blas_config[sizeof blas_config - 1] = '\0';
    }
}

const char *mlp2_blas_config(void)
{
    pthread_once(&blas_config_once, read_blas_config);
    return blas_config;
}

const char *mlp2_blas_core(void)
{
    const char *s = openblas_get_corename();
    return s ? s : "unknown";
}

/* ---- one BLAS thread while worker threads run (shard.c) ---------------- */

/* OpenBLAS 0.3.21 has only the process-wide thread count, so the workers
 * of every multi-threaded workspace share one hold on it: the first begin
 * saves the count and sets 1, the last end puts the saved count back. */
static pthread_mutex_t blas_hold_mu = PTHREAD_MUTEX_INITIALIZER;
static size_t blas_holders;
static int blas_saved_threads;

void mlp2__blas_single_begin(void)
{
    pthread_mutex_lock(&blas_hold_mu);
    if (blas_holders++ == 0) {
        blas_saved_threads = openblas_get_num_threads();
        if (blas_saved_threads != 1)
            openblas_set_num_threads(1);
    }
    pthread_mutex_unlock(&blas_hold_mu);
}

void mlp2__blas_single_end(void)
{
    pthread_mutex_lock(&blas_hold_mu);
    if (--blas_holders == 0 && blas_saved_threads != 1)
        openblas_set_num_threads(blas_saved_threads);
    pthread_mutex_unlock(&blas_hold_mu);
}
