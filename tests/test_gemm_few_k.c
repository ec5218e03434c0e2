/* test_gemm_few_k.c - mlp2__gemm_few_k (lib/blas.c), the loop product that
 * mlp2__gemm takes for C = A B with few inner terms (Z1 = X W1 of a net with
 * few inputs), against a long double reference, and the claim that an
 * element's bits do not depend on where the 3 x 16 blocks fall.
 *
 * Catches: the blocks' k loop started at 0 (a_0 b_0 counted twice), a
 * leftover row or column read with the wrong stride, a leftover element
 * summed in another order than the blocks (bits differ), a store past the
 * last column (the padding between rows is checked). */
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "testutil.h"

/* The reference needs long double arithmetic wider than double; valgrind
 * emulates x87 at double precision (see test_sigmoid_range.c). */
static bool long_double_is_extended(void)
{
    volatile long double x = 1.0L;
    x += 0x1p-60L;
    return x != 1.0L;
}

#define PAD 3.25 /* what the padding between C's rows holds, and keeps */

typedef struct {
    size_t M, N, K, lda, ldb, ldc;
    double *A, *B, *C;
} product;

static product make(tu_rng *r, size_t M, size_t N, size_t K)
{
    product p = {M, N, K, K + 1, N + 2, N + 3, NULL, NULL, NULL};
    p.A = tu_alloc(M * p.lda);
    p.B = tu_alloc(K * p.ldb);
    p.C = tu_alloc(M * p.ldc);
    tu_fill(r, p.A, M * p.lda, -2.0, 2.0);
    tu_fill(r, p.B, K * p.ldb, -1.0, 1.0);
    for (size_t i = 0; i < M * p.ldc; i++)
        p.C[i] = PAD;
    return p;
}

static void drop(product *p)
{
    free(p->A);
    free(p->B);
    free(p->C);
}

/* every element within K + 1 roundings of sum |a_k b_k| of the long double
 * sum, and the padding untouched */
static void check_against_reference(const product *p)
{
    for (size_t i = 0; i < p->M; i++) {
        for (size_t j = 0; j < p->N; j++) {
            long double ref = 0.0L, mag = 0.0L;
            for (size_t k = 0; k < p->K; k++) {
                const long double t = (long double)p->A[i * p->lda + k] * p->B[k * p->ldb + j];
                ref += t;
                mag += fabsl(t);
            }
            const double c = p->C[i * p->ldc + j];
            const long double bound = (long double)(p->K + 1) * DBL_EPSILON * mag;
            if (!(fabsl((long double)c - ref) <= bound))
                fail_msg("%zux%zu K=%zu: C[%zu][%zu] = %.17g, reference %.17Lg (bound %.3Lg)", p->M, p->N,
                         p->K, i, j, c, ref, bound);
        }
        for (size_t j = p->N; j < p->ldc; j++)
            if (p->C[i * p->ldc + j] != PAD)
                fail_msg("%zux%zu K=%zu: padding C[%zu][%zu] written", p->M, p->N, p->K, i, j);
    }
}

static const size_t Ms[] = {1, 2, 3, 4, 5, 7, 64};
static const size_t Ns[] = {1, 5, 16, 17, 32, 35};
static const size_t Ks[] = {1, 2, 3, 7, 10, 16, MLP2_FEW_K};

/* mlp2__gemm_few_k directly, every shape; and mlp2__gemm on the same
 * shapes (the few-k kernel where it qualifies, BLAS elsewhere) */
static void test_against_long_double(void **state)
{
    (void)state;
    if (!long_double_is_extended())
        skip();
    tu_rng r = tu_seed(71);
    for (size_t a = 0; a < sizeof Ms / sizeof *Ms; a++)
        for (size_t b = 0; b < sizeof Ns / sizeof *Ns; b++)
            for (size_t c = 0; c < sizeof Ks / sizeof *Ks; c++) {
                product p = make(&r, Ms[a], Ns[b], Ks[c]);
                mlp2__gemm_few_k(p.M, p.N, p.K, p.A, p.lda, p.B, p.ldb, p.C, p.ldc);
                check_against_reference(&p);
                for (size_t i = 0; i < p.M * p.ldc; i++)
                    p.C[i] = PAD;
                mlp2__gemm(false, false, p.M, p.N, p.K, 1.0, p.A, p.lda, p.B, p.ldb, 0.0, p.C, p.ldc);
                check_against_reference(&p);
                drop(&p);
            }
}

/* C of 7 x 35 (two rows and three columns past the 3 x 16 blocks): each
 * row computed alone (one row: no block) and each column alone (one
 * column: no block) gives the whole product's bits */
static void test_same_bits_anywhere(void **state)
{
    (void)state;
    tu_rng r = tu_seed(72);
    for (size_t c = 0; c < sizeof Ks / sizeof *Ks; c++) {
        product p = make(&r, 7, 35, Ks[c]);
        mlp2__gemm_few_k(p.M, p.N, p.K, p.A, p.lda, p.B, p.ldb, p.C, p.ldc);
        double row[35], col[7];
        for (size_t i = 0; i < p.M; i++) {
            mlp2__gemm_few_k(1, p.N, p.K, p.A + i * p.lda, p.lda, p.B, p.ldb, row, p.N);
            assert_memory_equal(row, p.C + i * p.ldc, sizeof row);
        }
        for (size_t j = 0; j < p.N; j++) {
            mlp2__gemm_few_k(p.M, 1, p.K, p.A, p.lda, p.B + j, p.ldb, col, 1);
            for (size_t i = 0; i < p.M; i++)
                assert_memory_equal(&col[i], &p.C[i * p.ldc + j], sizeof(double));
        }
        drop(&p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_long_double),
        cmocka_unit_test(test_same_bits_anywhere),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
