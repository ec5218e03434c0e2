/* test_core_grad.c - gradients against central finite differences, batched
 * against per-row, chunked against one pass. */
#include <mlp2.h>

#include "testutil.h"

typedef struct {
    size_t n_in, n_hidden, n_out, m;
} shape;

static const shape shapes[] = {
    {2, 3, 1, 4},  /* the seed's network */
    {2, 3, 1, 1},  /* m = 1 */
    {3, 5, 2, 7},  /* n_out > 1 */
    {4, 7, 3, 1},  /* n_out > 1, m = 1 */
    {1, 1, 1, 3},  /* smallest */
    {6, 17, 4, 9}, /* wider than the kernels' narrow-tile cut-off */
};

static double loss_at(mlp2 *net, const double *theta, size_t m, const double *X, const double *Y)
{
    double L = 0.0;
    assert_int_equal(mlp2_set_params(net, theta), MLP2_OK);
    assert_int_equal(mlp2_loss_grad(net, NULL, m, X, Y, &L, NULL), MLP2_OK);
    return L;
}

static void test_finite_differences(void **state)
{
    (void)state;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const shape sh = shapes[s];
        tu_rng r = tu_seed(100 + s);
        mlp2 *net;
        assert_int_equal(mlp2_create(&net, sh.n_in, sh.n_hidden, sh.n_out, 7 + s), MLP2_OK);
        const size_t np = mlp2_n_params(net);
        double *theta = tu_alloc(np), *g = tu_alloc(np), *fd = tu_alloc(np), *t = tu_alloc(np);
        double *X = tu_alloc(sh.m * sh.n_in), *Y = tu_alloc(sh.m * sh.n_out);
        /* random parameters (biases too), so no gradient entry is zero by symmetry */
        tu_fill(&r, theta, np, -1.3, 1.3);
        tu_fill(&r, X, sh.m * sh.n_in, -2.1, 2.3);
        tu_fill(&r, Y, sh.m * sh.n_out, -1.7, 1.9);
        double L;
        assert_int_equal(mlp2_set_params(net, theta), MLP2_OK);
        assert_int_equal(mlp2_loss_grad(net, NULL, sh.m, X, Y, &L, g), MLP2_OK);

        for (size_t i = 0; i < np; i++) {
            const double h = 1e-5 * fmax(1.0, fabs(theta[i]));
            memcpy(t, theta, np * sizeof *t);
            t[i] = theta[i] + h;
            const double up = loss_at(net, t, sh.m, X, Y);
            t[i] = theta[i] - h;
            const double down = loss_at(net, t, sh.m, X, Y);
            fd[i] = (up - down) / (2.0 * h);
        }
        /* guard: the gradient is far from trivially zero, in every block */
        double gmax = 0.0;
        size_t nonzero = 0;
        for (size_t i = 0; i < np; i++) {
            gmax = fmax(gmax, fabs(g[i]));
            nonzero += fabs(g[i]) > 1e-8;
        }
        assert_true(gmax > 1e-3);
        assert_true(nonzero >= np * 9 / 10);
        /* central differences: truncation O(h^2), rounding O(eps L / h) */
        tu_assert_close(g, fd, np, 1e-6, 1e-9);
        mlp2_free(net);
        free(theta), free(g), free(fd), free(t), free(X), free(Y);
    }
}

/* The batch gradient is the mean of single-row gradients: the loss is
 * 1/(2m) sum_i ||a2_i - y_i||^2 = (1/m) sum_i L_i with L_i the loss of row i
 * alone (m = 1). */
static void test_batched_equals_per_row(void **state)
{
    (void)state;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const shape sh = shapes[s];
        const size_t m = sh.m + 5;
        tu_rng r = tu_seed(200 + s);
        mlp2 *net;
        assert_int_equal(mlp2_create(&net, sh.n_in, sh.n_hidden, sh.n_out, 3), MLP2_OK);
        const size_t np = mlp2_n_params(net);
        double *g = tu_alloc(np), *gi = tu_alloc(np), *mean = tu_alloc(np);
        double *X = tu_alloc(m * sh.n_in), *Y = tu_alloc(m * sh.n_out);
        tu_fill(&r, X, m * sh.n_in, -1.9, 2.2);
        tu_fill(&r, Y, m * sh.n_out, -1.1, 1.4);
        double L, Li, Lsum = 0.0;
        assert_int_equal(mlp2_loss_grad(net, NULL, m, X, Y, &L, g), MLP2_OK);
        for (size_t i = 0; i < m; i++) {
            assert_int_equal(mlp2_loss_grad(net, NULL, 1, X + i * sh.n_in, Y + i * sh.n_out, &Li, gi),
                             MLP2_OK);
            Lsum += Li;
            for (size_t k = 0; k < np; k++)
                mean[k] += gi[k] / (double)m;
        }
        const double Lmean = Lsum / (double)m;
        tu_assert_close(&L, &Lmean, 1, 1e-13, 0.0);
        assert_true(tu_rel_err(g, mean, np) < 1e-13);
        /* and a wrong weighting (the plain sum) would be far off */
        assert_true(m > 1 && fabs(L - Lsum) > 1e-6);
        mlp2_free(net);
        free(g), free(gi), free(mean), free(X), free(Y);
    }
}

/* A workspace smaller than m works through the rows in chunks; the result
 * equals one pass up to rounding, for predict, loss_grad and sgd_step. */
static void test_chunked_equals_one_pass(void **state)
{
    (void)state;
    const size_t ni = 5, nh = 9, no = 3, m = 23;
    const size_t chunks[] = {1, 4, 7, 22, 23, 64};
    tu_rng r = tu_seed(300);
    mlp2 *net, *net2;
    assert_int_equal(mlp2_create(&net, ni, nh, no, 11), MLP2_OK);
    const size_t np = mlp2_n_params(net);
    double *X = tu_alloc(m * ni), *Y = tu_alloc(m * no), *P1 = tu_alloc(m * no), *P2 = tu_alloc(m * no);
    double *g1 = tu_alloc(np), *g2 = tu_alloc(np), *t1 = tu_alloc(np), *t2 = tu_alloc(np);
    tu_fill(&r, X, m * ni, -2.0, 2.0);
    tu_fill(&r, Y, m * no, -1.0, 1.0);
    mlp2_workspace *whole;
    assert_int_equal(mlp2_workspace_create(&whole, net, m), MLP2_OK);
    double L1, L2;
    assert_int_equal(mlp2_predict(net, whole, m, X, P1), MLP2_OK);
    assert_int_equal(mlp2_loss_grad(net, whole, m, X, Y, &L1, g1), MLP2_OK);
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        mlp2_workspace *ws;
        assert_int_equal(mlp2_workspace_create(&ws, net, chunks[c]), MLP2_OK);
        assert_int_equal(mlp2_workspace_max_batch(ws), chunks[c]);
        assert_int_equal(mlp2_predict(net, ws, m, X, P2), MLP2_OK);
        tu_assert_close(P2, P1, m * no, 1e-14, 1e-15);
        assert_int_equal(mlp2_loss_grad(net, ws, m, X, Y, &L2, g2), MLP2_OK);
        tu_assert_close(&L2, &L1, 1, 1e-14, 0.0);
        assert_true(tu_rel_err(g2, g1, np) < 1e-14);
        /* an SGD step through chunks lands where the one-pass step lands */
        assert_int_equal(mlp2_clone(&net2, net), MLP2_OK);
        assert_int_equal(mlp2_sgd_step(net2, ws, m, X, Y, 0.3, NULL), MLP2_OK);
        assert_int_equal(mlp2_get_params(net2, t2), MLP2_OK);
        assert_int_equal(mlp2_get_params(net, t1), MLP2_OK);
        for (size_t k = 0; k < np; k++)
            t1[k] -= 0.3 * g1[k];
        tu_assert_close(t2, t1, np, 1e-14, 1e-15);
        mlp2_free(net2);
        mlp2_workspace_free(ws);
    }
    mlp2_workspace_free(whole);
    mlp2_free(net);
    free(X), free(Y), free(P1), free(P2), free(g1), free(g2), free(t1), free(t2);
}

/* A chunk of more rows than the BLAS path's block (pass.c, block_rows) is
 * worked through in blocks: predictions, loss and gradient of one chunk
 * against the rows one at a time.  5-9-3, 2500 rows: three blocks of
 * 833-834 rows (of at most 1024); 4-200-2 (402 doubles of scratch a row,
 * blocks of at most 320), 700 rows: three of 233-234; 3-13-1 and 6-40-1
 * (one output: the fused tail of kernels.c, 13 units leaving a vector
 * remainder), 2100 rows: three of 700. */
static void blocks_equal_per_row(size_t ni, size_t nh, size_t no, size_t m)
{
    tu_rng r = tu_seed(500);
    mlp2 *net;
    assert_int_equal(mlp2_create(&net, ni, nh, no, 13), MLP2_OK);
    const size_t np = mlp2_n_params(net);
    double *X = tu_alloc(m * ni), *Y = tu_alloc(m * no), *P = tu_alloc(m * no), *Pi = tu_alloc(m * no);
    double *g = tu_alloc(np), *gi = tu_alloc(np), *mean = tu_alloc(np);
    tu_fill(&r, X, m * ni, -2.0, 2.0);
    tu_fill(&r, Y, m * no, -1.0, 1.0);
    tu_fill(&r, g, np, -0.9, 0.9); /* parameters with non-zero biases */
    assert_int_equal(mlp2_set_params(net, g), MLP2_OK);
    mlp2_workspace *ws;
    assert_int_equal(mlp2_workspace_create(&ws, net, m), MLP2_OK);
    double L, Li, Lsum = 0.0;
    assert_int_equal(mlp2_predict(net, ws, m, X, P), MLP2_OK);
    assert_int_equal(mlp2_loss_grad(net, ws, m, X, Y, &L, g), MLP2_OK);
    double L2; /* the loss alone: the same bits as with the gradient */
    assert_int_equal(mlp2_loss_grad(net, ws, m, X, Y, &L2, NULL), MLP2_OK);
    assert_memory_equal(&L, &L2, sizeof L);
    for (size_t i = 0; i < m; i++) {
        assert_int_equal(mlp2_predict(net, ws, 1, X + i * ni, Pi + i * no), MLP2_OK);
        assert_int_equal(mlp2_loss_grad(net, ws, 1, X + i * ni, Y + i * no, &Li, gi), MLP2_OK);
        Lsum += Li;
        for (size_t k = 0; k < np; k++)
            mean[k] += gi[k] / (double)m;
    }
    tu_assert_close(P, Pi, m * no, 1e-13, 1e-14);
    const double Lmean = Lsum / (double)m;
    tu_assert_close(&L, &Lmean, 1, 1e-12, 0.0);
    assert_true(tu_rel_err(g, mean, np) < 1e-12);
    mlp2_workspace_free(ws);
    mlp2_free(net);
    free(X), free(Y), free(P), free(Pi), free(g), free(gi), free(mean);
}

static void test_blocks_equal_per_row(void **state)
{
    (void)state;
    blocks_equal_per_row(5, 9, 3, 2500);
    blocks_equal_per_row(4, 200, 2, 700);
    blocks_equal_per_row(3, 13, 1, 2100);
    blocks_equal_per_row(6, 40, 1, 2100);
}

/* Predict against a plain per-row loop written here with libm's exp. */
static void test_predict_against_loops(void **state)
{
    (void)state;
    const size_t ni = 7, nh = 13, no = 4, m = 37;
    tu_rng r = tu_seed(400);
    mlp2 *net;
    assert_int_equal(mlp2_create(&net, ni, nh, no, 5), MLP2_OK);
    const size_t np = mlp2_n_params(net);
    double *th = tu_alloc(np), *X = tu_alloc(m * ni), *P = tu_alloc(m * no), *want = tu_alloc(m * no);
    tu_fill(&r, th, np, -0.9, 0.9);
    tu_fill(&r, X, m * ni, -3.0, 3.0);
    assert_int_equal(mlp2_set_params(net, th), MLP2_OK);
    const double *W1 = th, *b1 = th + ni * nh, *W2 = b1 + nh, *b2 = W2 + nh * no;
    for (size_t i = 0; i < m; i++) {
        double a1[13];
        for (size_t j = 0; j < nh; j++) {
            double z = b1[j];
            for (size_t k = 0; k < ni; k++)
                z += X[i * ni + k] * W1[k * nh + j];
            a1[j] = 1.0 / (1.0 + exp(-z));
        }
        for (size_t o = 0; o < no; o++) {
            double z = b2[o];
            for (size_t j = 0; j < nh; j++)
                z += a1[j] * W2[j * no + o];
            want[i * no + o] = z;
        }
    }
    assert_int_equal(mlp2_predict(net, NULL, m, X, P), MLP2_OK);
    tu_assert_close(P, want, m * no, 1e-13, 1e-14);
    mlp2_free(net);
    free(th), free(X), free(P), free(want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_finite_differences),
        cmocka_unit_test(test_batched_equals_per_row),
        cmocka_unit_test(test_chunked_equals_one_pass),
        cmocka_unit_test(test_blocks_equal_per_row),
        cmocka_unit_test(test_predict_against_loops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
