/* test_core_seed.c - the seed's 2-3-1 network on a batch of m = 2 rows.
 * Every intermediate of the forward and backward pass (Z1, A1, A2, L, delta2,
 * delta1, all four gradients) is checked against values derived
 * independently of the library: by hand for the linear parts, and with
 * Python's math.exp (CPython over glibc's correctly-rounded-in-practice exp)
 * for the sigmoid.  The derivation of each group is written next to it.
 * White box: the intermediates are read from the workspace (lib/internal.h). */
#include "internal.h"
#include "testutil.h"

/* X (2 x 2), W1 (2 x 3), b1 (3), W2 (3 x 1), b2 (1), Y (2 x 1) */
static const double X[] = {0.35, -1.2, /**/ 1.7, 0.45};
static const double Y[] = {0.3, -0.25};
static const double theta[] = {
    0.15, -0.42, 0.8, /**/ 0.55, 0.23, -0.61, /* W1 */
    0.1, -0.05, 0.2,                          /* b1 */
    0.7, -0.35, 0.45,                         /* W2 */
    0.05,                                     /* b2 */
};

/* Z1 = X W1 + b1, by hand:
 *   Z1[0][0] = 0.35*0.15 + (-1.2)*0.55 + 0.1     = 0.0525 - 0.66 + 0.1   = -0.5075
 *   Z1[0][1] = 0.35*(-0.42) + (-1.2)*0.23 - 0.05 = -0.147 - 0.276 - 0.05 = -0.473
 *   Z1[0][2] = 0.35*0.8 + (-1.2)*(-0.61) + 0.2   = 0.28 + 0.732 + 0.2    = 1.212
 *   Z1[1][0] = 1.7*0.15 + 0.45*0.55 + 0.1        = 0.255 + 0.2475 + 0.1  = 0.6025
 *   Z1[1][1] = 1.7*(-0.42) + 0.45*0.23 - 0.05    = -0.714 + 0.1035 - 0.05 = -0.6605
 *   Z1[1][2] = 1.7*0.8 + 0.45*(-0.61) + 0.2      = 1.36 - 0.2745 + 0.2   = 1.2855 */
static const double Z1[] = {-0.5075, -0.473, 1.212, 0.6025, -0.6605, 1.2855};
/* A1 = 1 / (1 + exp(-Z1)), with Python's math.exp */
static const double A1[] = {0.37577976650273576, 0.38390643007774938, 0.77065263468328349,
                            0.64622805833090025, 0.34062730242981615, 0.78338454361130505};
/* A2 = A1 W2 + b2 = 0.7 A1[i][0] - 0.35 A1[i][1] + 0.45 A1[i][2] + 0.05 */
static const double A2[] = {0.52547227163218035, 0.73566312960628188};
/* L = ((A2[0] - 0.3)^2 + (A2[1] + 0.25)^2) / (2*2) */
static const double L = 0.25559238758505642;
/* delta2 = (A2 - Y) / 2 */
static const double D2[] = {0.11273613581609018, 0.49283156480314094};
/* delta1[i][j] = delta2[i] * W2[j] * A1[i][j] * (1 - A1[i][j]) */
static const double D1[] = {0.018511108174915337, -0.0093326128778328851, 0.0089666058863071014,
                            0.078868894149151714, -0.038741548520039325, 0.037633574479674858};
/* gW1[k][j] = sum_i X[i][k] delta1[i][j]; gb1[j] = sum_i delta1[i][j];
 * gW2[k] = sum_i A1[i][k] delta2[i];     gb2 = delta2[0] + delta2[1] */
static const double grad_want[] = {
    0.14055600791477826, -0.069127046991308352, 0.067115388675654739,   /* gW1 row 0 */
    0.013277672557219868, -0.0062345613806182362, 0.006175181452285166, /* gW1 row 1 */
    0.097380002324067044, -0.048074161397872212, 0.046600180365981958,  /* gb1 */
    0.36084554400030405, 0.2111520139130745, 0.47295703056123622,       /* gW2 */
    0.60556770061923115,                                                /* gb2 */
};

/* Tolerance: a few ulps of accumulated rounding (the library uses its own
 * vectorised exp, about 1 ulp). */
#define RTOL 1e-14
#define ATOL 1e-16

typedef struct {
    mlp2 *net;
    mlp2_workspace *ws;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_int_equal(mlp2_create(&f->net, 2, 3, 1, 1), MLP2_OK);
    assert_int_equal(mlp2_set_params(f->net, theta), MLP2_OK);
    assert_int_equal(mlp2_workspace_create(&f->ws, f->net, 2), MLP2_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    mlp2_workspace_free(f->ws);
    mlp2_free(f->net);
    free(f);
    return 0;
}

static void test_forward_intermediates(void **state)
{
    fixture *f = *state;
    /* Z1 alone: the first gemm, before the bias+sigmoid kernel */
    double z1[6];
    mlp2__gemm(false, false, 2, 3, 2, 1.0, X, 2, theta, 3, 0.0, z1, 3);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            z1[3 * i + j] += theta[6 + j];
    tu_assert_close(z1, Z1, 6, RTOL, ATOL);

    double z2[2];
    mlp2__forward(f->net, f->ws, 2, X, z2);
    tu_assert_close(f->ws->A1, A1, 6, RTOL, ATOL);
    const double a2[2] = {z2[0] + theta[12], z2[1] + theta[12]};
    tu_assert_close(a2, A2, 2, RTOL, ATOL);

    double y[2];
    assert_int_equal(mlp2_predict(f->net, f->ws, 2, X, y), MLP2_OK);
    tu_assert_close(y, A2, 2, RTOL, ATOL);
    /* the small path's kernel for this network (kernels.c) */
    mlp2__predict_path(f->net, f->ws, 2, X, y, MLP2_PATH_SMALL);
    tu_assert_close(y, A2, 2, RTOL, ATOL);
}

static void test_backward_intermediates(void **state)
{
    fixture *f = *state;
    double loss = 0.0, grad[13];
    /* the BLAS path leaves delta2 and delta1 in the workspace (at this size
     * the automatic choice is the small path, checked below) */
    assert_int_equal(mlp2__loss_grad_path(f->net, f->ws, 2, X, Y, &loss, grad, MLP2_PATH_BLAS), MLP2_OK);
    tu_assert_close(&loss, &L, 1, RTOL, 0.0);
    /* after the pass the workspace holds delta2 (in A2) and delta1 (in A1,
     * over the hidden units: the fused tail of one-output networks,
     * kernels.c) */
    tu_assert_close(f->ws->A2, D2, 2, RTOL, ATOL);
    tu_assert_close(f->ws->A1, D1, 6, RTOL, ATOL);
    tu_assert_close(grad, grad_want, 13, RTOL, ATOL);

    /* the small path and the public entry point give the same */
    assert_int_equal(mlp2__loss_grad_path(f->net, f->ws, 2, X, Y, &loss, grad, MLP2_PATH_SMALL), MLP2_OK);
    tu_assert_close(&loss, &L, 1, RTOL, 0.0);
    tu_assert_close(grad, grad_want, 13, RTOL, ATOL);
    double loss2 = 0.0, grad2[13];
    assert_int_equal(mlp2_loss_grad(f->net, NULL, 2, X, Y, &loss2, grad2), MLP2_OK);
    tu_assert_close(&loss2, &L, 1, RTOL, 0.0);
    tu_assert_close(grad2, grad_want, 13, RTOL, ATOL);
}

static void test_sgd_step_moves_by_lr_grad(void **state)
{
    fixture *f = *state;
    const double lr = 0.37;
    double loss = 0.0, after[13], want[13];
    assert_int_equal(mlp2_sgd_step(f->net, f->ws, 2, X, Y, lr, &loss), MLP2_OK);
    tu_assert_close(&loss, &L, 1, RTOL, 0.0); /* the loss before the step */
    assert_int_equal(mlp2_get_params(f->net, after), MLP2_OK);
    for (int i = 0; i < 13; i++)
        want[i] = theta[i] - lr * grad_want[i];
    tu_assert_close(after, want, 13, RTOL, 1e-15);
    /* and the step lowered the loss */
    double loss_after;
    assert_int_equal(mlp2_loss_grad(f->net, f->ws, 2, X, Y, &loss_after, NULL), MLP2_OK);
    assert_true(loss_after < L);
}

static void test_sigmoid_kernel_accuracy(void **state)
{
    (void)state;
    /* the vectorised sigmoid against 1/(1+exp(-z)) from libm, over a wide
     * range including the saturated tails; both sides are independent code */
    enum { N = 20001 };
    double *a = tu_alloc(N), *want = tu_alloc(N);
    const double zero = 0.0;
    for (int i = 0; i < N; i++) {
        a[i] = -40.0 + 80.0 * i / (N - 1) + 1e-3; /* not round numbers */
        want[i] = 1.0 / (1.0 + exp(-a[i]));
    }
    mlp2__bias_sigmoid(N, 1, a, &zero);
    tu_assert_close(a, want, N, 4e-16, 1e-300);
    /* extreme arguments stay finite and ordered */
    double ext[4] = {-1e308, -800.0, 800.0, 1e308};
    mlp2__bias_sigmoid(1, 4, ext, (const double[]){0, 0, 0, 0});
    /* the tails round to exactly 0 and 1 (sigmoid(-800) = 3.7e-348) */
    assert_true(ext[0] == 0.0 && ext[1] == 0.0);
    assert_true(ext[2] == 1.0 && ext[3] == 1.0);
    free(a);
    free(want);
}

/* A unit saturated by a huge input passes back zero gradient, as central
 * differences say: 1-1-1 with W1 = W2 = 1, b = 0, y = 1, x = -1e300 gives
 * A1 = 0 exactly, so dL/dW1 = x * delta1 = x * delta2 * W2 * A1 (1 - A1) = 0
 * (with A1 clamped at 3.3e-308 it would be about -3.3e-8). */
static void test_saturated_unit_gradient(void **state)
{
    (void)state;
    mlp2 *net;
    assert_int_equal(mlp2_create(&net, 1, 1, 1, 1), MLP2_OK);
    const double th[4] = {1.0, 0.0, 1.0, 0.0}, x = -1e300, y = 1.0;
    assert_int_equal(mlp2_set_params(net, th), MLP2_OK);
    double g[4], loss;
    assert_int_equal(mlp2_loss_grad(net, NULL, 1, &x, &y, &loss, g), MLP2_OK);
    assert_true(g[0] == 0.0 && g[1] == 0.0 && g[2] == 0.0);
    assert_true(loss == 0.5 && g[3] == -1.0); /* A2 = b2 = 0: loss = 1/2, gb2 = A2 - y */
    mlp2_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_forward_intermediates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backward_intermediates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sgd_step_moves_by_lr_grad, setup, teardown),
        cmocka_unit_test(test_sigmoid_kernel_accuracy),
        cmocka_unit_test(test_saturated_unit_gradient),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
