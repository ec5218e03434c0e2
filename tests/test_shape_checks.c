/* test_shape_checks.c - a workspace or an optimizer made for one shape is
 * refused by a model of another shape, in each of the three dimensions
 * separately (n_in, n_hidden, n_out), by every function that takes one:
 * MLP2_EINVAL, with the outputs and the model untouched.  A check that
 * compared only two of the three dimensions would let a workspace sized for
 * n_out = 1 be written as if it held n_out = 2 (a heap overflow that a
 * release build does not notice). */
#include <mlp2.h>

#include "testutil.h"

#define M 5

static const size_t base[3] = {2, 3, 1};
static const size_t other[3][3] = {{3, 3, 1}, {2, 4, 1}, {2, 3, 2}};

static mlp2 *net_of(const size_t *s)
{
    mlp2 *net = NULL;
    assert_int_equal(mlp2_create(&net, s[0], s[1], s[2], 9), MLP2_OK);
    return net;
}

static void test_workspace_of_another_shape(void **state)
{
    (void)state;
    mlp2 *a = net_of(base);
    mlp2_workspace *ws = NULL;
    assert_int_equal(mlp2_workspace_create(&ws, a, M), MLP2_OK);
    for (int d = 0; d < 3; d++) {
        mlp2 *b = net_of(other[d]);
        const size_t np = mlp2_n_params(b);
        double X[M * 3], Y[M * 2], out[M * 2], grad[64], before[64], after[64], loss = -1;
        tu_rng r = tu_seed((uint64_t)d + 1);
        tu_fill(&r, X, M * 3, -1, 1);
        tu_fill(&r, Y, M * 2, -1, 1);
        for (size_t i = 0; i < M * 2; i++)
            out[i] = -7.5;
        for (size_t i = 0; i < 64; i++)
            grad[i] = -7.5;
        assert_true(np <= 64);
        assert_int_equal(mlp2_get_params(b, before), MLP2_OK);

        assert_int_equal(mlp2_predict(b, ws, M, X, out), MLP2_EINVAL);
        assert_int_equal(mlp2_loss_grad(b, ws, M, X, Y, &loss, grad), MLP2_EINVAL);
        assert_int_equal(mlp2_sgd_step(b, ws, M, X, Y, 0.1, &loss), MLP2_EINVAL);
        for (size_t i = 0; i < M * 2; i++)
            assert_true(out[i] == -7.5);
        for (size_t i = 0; i < 64; i++)
            assert_true(grad[i] == -7.5);
        assert_true(loss == -1);
        assert_int_equal(mlp2_get_params(b, after), MLP2_OK);
        assert_memory_equal(before, after, np * sizeof(double));
        mlp2_free(b);
    }
    mlp2_workspace_free(ws);
    mlp2_free(a);
}

static void test_optimizer_of_another_shape(void **state)
{
    (void)state;
    mlp2 *a = net_of(base);
    for (int kind = MLP2_OPTIM_SGD; kind <= MLP2_OPTIM_ADAM; kind++) {
        const mlp2_optim_config cfg = mlp2_optim_defaults((mlp2_optim_kind)kind);
        mlp2_optim *opt = NULL;
        assert_int_equal(mlp2_optim_create(&opt, a, &cfg), MLP2_OK);
        for (int d = 0; d < 3; d++) {
            mlp2 *b = net_of(other[d]);
            const size_t np = mlp2_n_params(b);
            double grad[64], before[64], after[64];
            for (size_t i = 0; i < 64; i++)
                grad[i] = 0.25;
            assert_int_equal(mlp2_get_params(b, before), MLP2_OK);
            assert_int_equal(mlp2_optim_step(opt, b, grad), MLP2_EINVAL);
            assert_int_equal(mlp2_get_params(b, after), MLP2_OK);
            assert_memory_equal(before, after, np * sizeof(double));
            assert_int_equal(mlp2_optim_steps(opt), 0);
            mlp2_free(b);
        }
        mlp2_optim_free(opt);
    }
    mlp2_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_workspace_of_another_shape),
        cmocka_unit_test(test_optimizer_of_another_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
