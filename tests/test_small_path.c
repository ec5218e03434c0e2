/* test_small_path.c - the plain-loop paths give the BLAS path's answers.
 *
 * White box: the small-shape path of pass.c (transposed tiles, plain loops;
 * for a sigmoid network with one linear output, such as the seed's 2-3-1,
 * the lane kernel mlp2__sigmoid_linear1_lanes of kernels.c) against the
 * BLAS path on the same model and data, for several tiny shapes,
 * a shape right at the MLP2_SMALL_WORK threshold, chunked workspaces and
 * batches that are not a multiple of the tile; the automatic choice of path;
 * and the skinny-product loops of the BLAS seam (mlp2__lgemm, and
 * mlp2__gemm's dispatch for K, M or N small) against cblas_dgemm for every
 * transposition, with NaN garbage in C when beta is 0. */
#include "testutil.h"

#include <cblas.h>

#include "internal.h"

#define RTOL 1e-13
#define ATOL 1e-15

typedef struct {
    size_t ni, nh, no, m, max_batch;
} case_t;

/* loss, gradient and predictions on both paths agree to ~1e-13 relative */
static void compare_paths(const case_t *c, uint64_t seed)
{
    mlp2 *net = NULL;
    mlp2_workspace *ws = NULL;
    assert_int_equal(mlp2_create(&net, c->ni, c->nh, c->no, seed), MLP2_OK);
    assert_int_equal(mlp2_workspace_create(&ws, net, c->max_batch), MLP2_OK);
    const size_t np = mlp2_n_params(net);
    /* random parameters, biases included (they start at zero otherwise) */
    tu_rng r = tu_seed(seed);
    double *theta = tu_alloc(np);
    tu_fill(&r, theta, np, -1.3, 1.7);
    assert_int_equal(mlp2_set_params(net, theta), MLP2_OK);
    double *X = tu_alloc(c->m * c->ni), *Y = tu_alloc(c->m * c->no);
    tu_fill(&r, X, c->m * c->ni, -2.1, 2.3);
    tu_fill(&r, Y, c->m * c->no, -0.9, 1.1);

    double *gb = tu_alloc(np), *gs = tu_alloc(np), Lb = 0, Ls = 0;
    /* garbage in the outputs: beta 0 must overwrite */
    for (size_t i = 0; i < np; i++)
        gb[i] = gs[i] = (double)NAN;
    assert_int_equal(mlp2__loss_grad_path(net, ws, c->m, X, Y, &Lb, gb, MLP2_PATH_BLAS), MLP2_OK);
    assert_int_equal(mlp2__loss_grad_path(net, ws, c->m, X, Y, &Ls, gs, MLP2_PATH_SMALL), MLP2_OK);
    tu_assert_close(&Ls, &Lb, 1, RTOL, 0.0);
    tu_assert_close(gs, gb, np, RTOL, ATOL);
    /* the gradient is not trivially zero */
    double gmax = 0.0;
    for (size_t i = 0; i < np; i++)
        gmax = fmax(gmax, fabs(gb[i]));
    assert_true(gmax > 1e-3);

    /* loss alone */
    double Lonly = 0;
    assert_int_equal(mlp2__loss_grad_path(net, ws, c->m, X, Y, &Lonly, NULL, MLP2_PATH_SMALL), MLP2_OK);
    tu_assert_close(&Lonly, &Lb, 1, RTOL, 0.0);
    assert_memory_equal(&Lonly, &Ls, sizeof Ls); /* the same bits with or without the gradient */

    double *Pb = tu_alloc(c->m * c->no), *Ps = tu_alloc(c->m * c->no);
    mlp2__predict_path(net, ws, c->m, X, Pb, MLP2_PATH_BLAS);
    mlp2__predict_path(net, ws, c->m, X, Ps, MLP2_PATH_SMALL);
    tu_assert_close(Ps, Pb, c->m * c->no, RTOL, ATOL);

    /* targets equal to the path's own predictions: the residuals, the loss
     * and every gradient entry are exactly zero (predict and the loss make
     * the outputs by the same expressions) */
    double L0 = -1.0;
    assert_int_equal(mlp2__loss_grad_path(net, ws, c->m, X, Ps, &L0, gs, MLP2_PATH_SMALL), MLP2_OK);
    assert_true(L0 == 0.0);
    for (size_t i = 0; i < np; i++)
        assert_true(gs[i] == 0.0);

    /* the public entry points (automatic path) give the same */
    double La = 0, *ga = tu_alloc(np), *Pa = tu_alloc(c->m * c->no);
    assert_int_equal(mlp2_loss_grad(net, ws, c->m, X, Y, &La, ga), MLP2_OK);
    tu_assert_close(&La, &Lb, 1, RTOL, 0.0);
    tu_assert_close(ga, gb, np, RTOL, ATOL);
    assert_int_equal(mlp2_predict(net, ws, c->m, X, Pa), MLP2_OK);
    tu_assert_close(Pa, Pb, c->m * c->no, RTOL, ATOL);

    free(theta);
    free(X);
    free(Y);
    free(gb);
    free(gs);
    free(ga);
    free(Pb);
    free(Ps);
    free(Pa);
    mlp2_workspace_free(ws);
    mlp2_free(net);
}

static void test_tiny_shapes(void **state)
{
    (void)state;
    static const case_t cases[] = {
        {2, 3, 1, 1, 1},       /* the seed's network, one row */
        {2, 3, 1, 64, 64},
        {2, 3, 1, 1000, 1000}, /* several tiles, a partial last one */
        {2, 3, 1, 1000, 77},   /* chunked by the workspace */
        {1, 1, 1, 37, 37},
        {3, 2, 4, 129, 50},    /* n_out > 1 */
        {5, 4, 2, 513, 513},
        /* the seed's network with one output (its own kernel, eight rows
         * to a vector): fewer rows than a group, tiles of 64 rows with a
         * partial last group, and the extremes the kernel's buffers are
         * sized for (n_in n_hidden + n_hidden = MLP2_SMALL_WORK) */
        {2, 3, 1, 5, 5},
        {2, 3, 1, 203, 203},
        {3, 5, 1, 1000, 1000}, /* every n_in the kernel's transpose has a case for, several tiles */
        {4, 7, 1, 700, 700},
        {1, 24, 1, 333, 333},
        {47, 1, 1, 100, 100},
        {15, 3, 1, 131, 60},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        compare_paths(&cases[i], 100 + i);
}

/* NaN over the stack below the caller's frame, where the next call's
 * frames (and the lane kernel's tile buffer) will lie.  It depends on the
 * stack's layout: where locals live elsewhere (ASan's fake stacks) the
 * test below still passes but no longer tests the padding; the release
 * build's mutation run is where it counts (mutant lanes-transpose-pad). */
static void __attribute__((noinline)) poison_stack(void)
{
    volatile double junk[16384];
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++)
        junk[i] = (double)NAN;
}

/* The lane kernel pads a last group of fewer than eight rows with zero
 * inputs.  Its tile buffer lives on the stack: if the padding were not
 * written, a NaN left there would reach the gradient (0 * NaN in the sums
 * over the lanes).  5 rows of 2-3-1: one group, three padding lanes. */
static void test_lanes_padding_stale_stack(void **state)
{
    (void)state;
    const size_t m = 5;
    mlp2 *net = NULL;
    mlp2_workspace *ws = NULL;
    assert_int_equal(mlp2_create(&net, 2, 3, 1, 7), MLP2_OK);
    assert_int_equal(mlp2_workspace_create(&ws, net, m), MLP2_OK);
    const size_t np = mlp2_n_params(net);
    tu_rng r = tu_seed(7);
    double *theta = tu_alloc(np), *X = tu_alloc(m * 2), *Y = tu_alloc(m);
    tu_fill(&r, theta, np, -1.3, 1.7);
    assert_int_equal(mlp2_set_params(net, theta), MLP2_OK);
    tu_fill(&r, X, m * 2, -2.1, 2.3);
    tu_fill(&r, Y, m, -0.9, 1.1);
    double *gb = tu_alloc(np), *gs = tu_alloc(np), *Pb = tu_alloc(m), *Ps = tu_alloc(m), Lb = 0, Ls = 0;
    assert_int_equal(mlp2__loss_grad_path(net, ws, m, X, Y, &Lb, gb, MLP2_PATH_BLAS), MLP2_OK);
    assert_true(mlp2__predict_path(net, ws, m, X, Pb, MLP2_PATH_BLAS));
    poison_stack();
    assert_int_equal(mlp2__loss_grad_path(net, ws, m, X, Y, &Ls, gs, MLP2_PATH_SMALL), MLP2_OK);
    tu_assert_close(&Ls, &Lb, 1, RTOL, 0.0);
    tu_assert_close(gs, gb, np, RTOL, ATOL);
    poison_stack();
    assert_true(mlp2__predict_path(net, ws, m, X, Ps, MLP2_PATH_SMALL));
    tu_assert_close(Ps, Pb, m, RTOL, ATOL);
    free(theta);
    free(X);
    free(Y);
    free(gb);
    free(gs);
    free(Pb);
    free(Ps);
    mlp2_workspace_free(ws);
    mlp2_free(net);
}

static void test_threshold_shapes(void **state)
{
    (void)state;
    /* 4-8-2: n_in n_hidden + n_hidden n_out = 48 = MLP2_SMALL_WORK, the
     * largest shape the automatic choice sends to the small path */
    static const case_t at = {4, 8, 2, 300, 300};
    assert_int_equal(at.ni * at.nh + at.nh * at.no, MLP2_SMALL_WORK);
    mlp2 *net = NULL;
    assert_int_equal(mlp2_create(&net, at.ni, at.nh, at.no, 1), MLP2_OK);
    assert_true(mlp2__small_path(net, MLP2_SMALL_MIN_ROWS));
    mlp2_free(net);
    /* one unit of work past it: 6-7-1 (42 + 7 = 49) */
    assert_int_equal(mlp2_create(&net, 6, 7, 1, 1), MLP2_OK);
    assert_false(mlp2__small_path(net, MLP2_SMALL_MIN_ROWS));
    mlp2_free(net);
    compare_paths(&at, 7);
    /* one past it: 4-8-3 (56) takes the BLAS path, forced here */
    assert_int_equal(mlp2_create(&net, 4, 8, 3, 1), MLP2_OK);
    assert_false(mlp2__small_path(net, 1000));
    mlp2_free(net);
    static const case_t past = {4, 8, 3, 300, 300};
    compare_paths(&past, 8);
    /* a wider shape whose tile is small (16 rows) */
    static const case_t wide = {20, 40, 2, 200, 200};
    compare_paths(&wide, 9);
}

/* mlp2__gemm (with its dispatch) and mlp2__lgemm against cblas_dgemm */
static void check_gemm(bool tA, bool tB, size_t M, size_t N, size_t K, double beta, tu_rng *r)
{
    const size_t lda = (tA ? M : K) + 3, ldb = (tB ? K : N) + 2, ldc = N + 1;
    const size_t na = (tA ? K : M) * lda, nb = (tB ? N : K) * ldb, nc = M * ldc;
    double *A = tu_alloc(na), *B = tu_alloc(nb), *C0 = tu_alloc(nc), *C1 = tu_alloc(nc),
           *C2 = tu_alloc(nc);
    tu_fill(r, A, na, -1.5, 1.25);
    tu_fill(r, B, nb, -1.25, 1.5);
    tu_fill(r, C0, nc, -1.0, 1.0);
    for (size_t i = 0; i < nc; i++)
        C1[i] = C2[i] = beta == 0.0 ? (double)NAN : C0[i];
    const double alpha = 0.73;
    cblas_dgemm(CblasRowMajor, tA ? CblasTrans : CblasNoTrans, tB ? CblasTrans : CblasNoTrans, (int)M,
                (int)N, (int)K, alpha, A, (int)lda, B, (int)ldb, beta, C0, (int)ldc);
    mlp2__gemm(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C1, ldc);
    mlp2__lgemm(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C2, ldc);
    for (size_t i = 0; i < M; i++) {
        tu_assert_close(C1 + i * ldc, C0 + i * ldc, N, RTOL, 1e-14);
        tu_assert_close(C2 + i * ldc, C0 + i * ldc, N, RTOL, 1e-14);
    }
    free(A);
    free(B);
    free(C0);
    free(C1);
    free(C2);
}

static void test_skinny_products(void **state)
{
    (void)state;
    tu_rng r = tu_seed(3);
    static const size_t dims[][3] = {
        {1, 1, 1},   {1, 37, 5},  {37, 1, 5},  {6, 9, 1},   {9, 6, 2},  {4, 70, 33},
        {70, 4, 33}, {33, 70, 4}, {5, 5, 5},   {3, 130, 45}, {1, 200, 64}, {64, 1, 200},
    };
    for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++)
        for (int t = 0; t < 4; t++)
            for (int b = 0; b < 3; b++)
                check_gemm(t & 1, t & 2, dims[d][0], dims[d][1], dims[d][2], b == 0 ? 0.0 : b == 1 ? 1.0 : -0.6,
                           &r);
}

static void test_tile_sigmoid_accuracy(void **state)
{
    (void)state;
    /* the tile kernel's sigmoid (FMA-contracted exp) against libm */
    enum { N = 20001 };
    double *a = tu_alloc(N), *want = tu_alloc(N);
    const double zero = 0.0;
    for (int i = 0; i < N; i++) {
        a[i] = -40.0 + 80.0 * i / (N - 1) + 1.7e-3;
        want[i] = 1.0 / (1.0 + exp(-a[i]));
    }
    mlp2__bias_sigmoid_rows(1, N, a, &zero);
    tu_assert_close(a, want, N, 1e-15, 1e-300);
    free(a);
    free(want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tiny_shapes),
        cmocka_unit_test(test_lanes_padding_stale_stack),
        cmocka_unit_test(test_threshold_shapes),
        cmocka_unit_test(test_skinny_products),
        cmocka_unit_test(test_tile_sigmoid_accuracy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
