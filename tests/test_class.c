/* test_class.c - every kind of network (3 hidden activations x 3 heads)
 * against independent values:
 *   - PyTorch float64 (tests/class_ref.h, made by scripts/class_reference.py):
 *     loss, gradient and predictions at a start point, then 3 Adam steps, on
 *     the BLAS path, the small-shape path, the latency (per-row) path, a
 *     chunked workspace, the public entry points and mlp2_train; one SGD
 *     step on each path (the one-pass updates included) against theta0 -
 *     lr * PyTorch's gradient;
 *   - central finite differences, guarded against a zero gradient;
 *   - hand-derived values at logits of +-1000;
 *   - the element-wise math (tanh, log1p) against the C library.
 * White box: it picks the path through pass.c. */
#include "testutil.h"

#include "class_ref.h"
#include "elementwise.h"
#include "internal.h"

static const mlp2_hidden hiddens[3] = {MLP2_HIDDEN_SIGMOID, MLP2_HIDDEN_TANH, MLP2_HIDDEN_RELU};
static const mlp2_head heads[3] = {MLP2_HEAD_LINEAR, MLP2_HEAD_SOFTMAX, MLP2_HEAD_SIGMOID};
static const char *const hidden_name[3] = {"sigmoid", "tanh", "relu"};
static const char *const head_name[3] = {"linear", "softmax", "sigmoid"};

static const double *ref_Y(size_t head)
{
    return head == 0 ? ref_Y_linear : head == 1 ? ref_Y_softmax : ref_Y_sigmoid;
}

static mlp2 *make(size_t ni, size_t nh, size_t no, size_t hidden, size_t head, uint64_t seed)
{
    const mlp2_spec spec = {ni, nh, no, hiddens[hidden], heads[head]};
    mlp2 *net = NULL;
    assert_int_equal(mlp2_create_spec(&net, &spec, seed), MLP2_OK);
    return net;
}

#define NP (REF_N_IN * REF_N_HIDDEN + REF_N_HIDDEN + REF_N_HIDDEN * REF_N_OUT + REF_N_OUT)
#define RTOL 1e-12
#define ATOL 1e-14

/* loss, gradient, predictions at the start point on one path and workspace */
static void check_start(mlp2 *net, mlp2_workspace *ws, const ref_case *rc, const double *Y, mlp2_path path)
{
    double L = NAN, g[NP], P[REF_M * REF_N_OUT];
    assert_int_equal(mlp2_set_params(net, ref_theta0), MLP2_OK);
    assert_int_equal(mlp2__loss_grad_path(net, ws, REF_M, ref_X, Y, &L, g, path), MLP2_OK);
    tu_assert_close(&L, &rc->loss, 1, RTOL, 0.0);
    tu_assert_close(g, rc->grad, NP, RTOL, ATOL);
    mlp2__predict_path(net, ws, REF_M, ref_X, P, path);
    tu_assert_close(P, rc->pred, REF_M * REF_N_OUT, RTOL, ATOL);
}

/* one SGD step on every path: theta0 - lr * PyTorch's gradient; and one
 * row at a time (the latency path's fused m = 1 step) as the BLAS path */
static void check_sgd(mlp2 *net, mlp2_workspace *ws, const ref_case *rc, const double *Y)
{
    const mlp2_path paths[4] = {MLP2_PATH_BLAS, MLP2_PATH_SMALL, MLP2_PATH_ROWS, MLP2_PATH_AUTO};
    const double lr = 0.1;
    double want[NP], th[NP], L = NAN, t1[NP];
    for (size_t i = 0; i < NP; i++)
        want[i] = ref_theta0[i] - lr * rc->grad[i];
    for (size_t p = 0; p < 4; p++) {
        assert_int_equal(mlp2_set_params(net, ref_theta0), MLP2_OK);
        assert_int_equal(mlp2__sgd_step_path(net, ws, REF_M, ref_X, Y, lr, &L, paths[p]), MLP2_OK);
        tu_assert_close(&L, &rc->loss, 1, RTOL, 0.0);
        assert_int_equal(mlp2_get_params(net, th), MLP2_OK);
        tu_assert_close(th, want, NP, RTOL, ATOL);
    }
    for (size_t r = 0; r < REF_M; r++) {
        double L1 = NAN, L2 = NAN;
        assert_int_equal(mlp2_set_params(net, ref_theta0), MLP2_OK);
        assert_int_equal(mlp2__sgd_step_path(net, ws, 1, ref_X + r * REF_N_IN, Y + r * REF_N_OUT, lr, &L1,
                                             MLP2_PATH_ROWS), MLP2_OK);
        assert_int_equal(mlp2_get_params(net, t1), MLP2_OK);
        assert_int_equal(mlp2_set_params(net, ref_theta0), MLP2_OK);
        assert_int_equal(mlp2__sgd_step_path(net, ws, 1, ref_X + r * REF_N_IN, Y + r * REF_N_OUT, lr, &L2,
                                             MLP2_PATH_BLAS), MLP2_OK);
        assert_int_equal(mlp2_get_params(net, th), MLP2_OK);
        tu_assert_close(&L1, &L2, 1, 1e-13, 0.0);
        tu_assert_close(t1, th, NP, 1e-13, 1e-15);
    }
    assert_int_equal(mlp2_set_params(net, ref_theta0), MLP2_OK);
}

/* REF_ADAM_STEPS steps of Adam through the public API */
static void check_adam(mlp2 *net, mlp2_workspace *ws, const ref_case *rc, const double *Y)
{
    mlp2_optim_config oc = mlp2_optim_defaults(MLP2_OPTIM_ADAM);
    oc.lr = REF_ADAM_LR;
    mlp2_optim *opt = NULL;
    assert_int_equal(mlp2_optim_create(&opt, net, &oc), MLP2_OK);
    assert_int_equal(mlp2_set_params(net, ref_theta0), MLP2_OK);
    for (size_t k = 0; k < REF_ADAM_STEPS; k++) {
        double L = NAN, g[NP], th[NP];
        assert_int_equal(mlp2_loss_grad(net, ws, REF_M, ref_X, Y, &L, g), MLP2_OK);
        tu_assert_close(&L, &rc->adam_loss[k], 1, RTOL, 0.0);
        assert_int_equal(mlp2_optim_step(opt, net, g), MLP2_OK);
        assert_int_equal(mlp2_get_params(net, th), MLP2_OK);
        tu_assert_close(th, rc->adam_theta + k * NP, NP, RTOL, ATOL);
    }
    mlp2_optim_free(opt);
}

/* mlp2_train: one batch of all rows, in order, is one Adam step an epoch */
static void check_train(mlp2 *net, const ref_case *rc, const double *Y)
{
    mlp2_train_config tc = mlp2_train_defaults();
    tc.epochs = REF_ADAM_STEPS;
    tc.batch_size = REF_M;
    tc.shuffle = 0;
    tc.optim.lr = REF_ADAM_LR;
    mlp2_train_report rep;
    double th[NP];
    assert_int_equal(mlp2_set_params(net, ref_theta0), MLP2_OK);
    assert_int_equal(mlp2_train(net, &tc, REF_M, ref_X, Y, 0, NULL, NULL, &rep), MLP2_OK);
    assert_int_equal(rep.epochs_run, REF_ADAM_STEPS);
    tu_assert_close(&rep.final_train_loss, &rc->adam_loss[REF_ADAM_STEPS - 1], 1, RTOL, 0.0);
    assert_int_equal(mlp2_get_params(net, th), MLP2_OK);
    tu_assert_close(th, rc->adam_theta + (REF_ADAM_STEPS - 1) * NP, NP, RTOL, ATOL);
}

static void test_pytorch_reference(void **state)
{
    (void)state;
    for (size_t h = 0; h < 3; h++)
        for (size_t o = 0; o < 3; o++) {
            print_message("# %s hidden, %s head\n", hidden_name[h], head_name[o]);
            const ref_case *rc = &ref_cases[h][o];
            const double *Y = ref_Y(o);
            mlp2 *net = make(REF_N_IN, REF_N_HIDDEN, REF_N_OUT, h, o, 1);
            mlp2_workspace *ws = NULL, *ws2 = NULL;
            assert_int_equal(mlp2_workspace_create(&ws, net, REF_M), MLP2_OK);
            assert_int_equal(mlp2_workspace_create(&ws2, net, 2), MLP2_OK); /* 3 chunks */
            assert_true(mlp2__small_path(net, REF_M));
            check_start(net, ws, rc, Y, MLP2_PATH_BLAS);
            check_start(net, ws, rc, Y, MLP2_PATH_SMALL);
            check_start(net, ws2, rc, Y, MLP2_PATH_BLAS);
            check_start(net, ws2, rc, Y, MLP2_PATH_SMALL);
            check_start(net, ws2, rc, Y, MLP2_PATH_AUTO);
            check_start(net, ws, rc, Y, MLP2_PATH_ROWS);
            check_start(net, ws2, rc, Y, MLP2_PATH_ROWS);
            check_sgd(net, ws, rc, Y);
            double P[REF_M * REF_N_OUT];
            assert_int_equal(mlp2_predict(net, NULL, REF_M, ref_X, P), MLP2_OK);
            tu_assert_close(P, rc->pred, REF_M * REF_N_OUT, RTOL, ATOL);
            check_adam(net, ws, rc, Y);
            check_adam(net, NULL, rc, Y);
            check_train(net, rc, Y);
            mlp2_workspace_free(ws);
            mlp2_workspace_free(ws2);
            mlp2_free(net);
        }
}

/* ---- finite differences ------------------------------------------------- */

static double loss_at(mlp2 *net, mlp2_workspace *ws, const double *theta, size_t m, const double *X,
                      const double *Y, mlp2_path path)
{
    double L = NAN;
    assert_int_equal(mlp2_set_params(net, theta), MLP2_OK);
    assert_int_equal(mlp2__loss_grad_path(net, ws, m, X, Y, &L, NULL, path), MLP2_OK);
    return L;
}

/* random targets valid for the head */
static void fill_targets(tu_rng *r, size_t head, size_t m, size_t no, double *Y)
{
    tu_fill(r, Y, m * no, head == 0 ? -1.7 : 0.0, head == 0 ? 1.9 : 1.0);
    if (head != 1)
        return;
    for (size_t i = 0; i < m; i++) { /* soft labels: each row sums to 1 */
        double s = 0.0;
        for (size_t j = 0; j < no; j++)
            s += Y[i * no + j];
        for (size_t j = 0; j < no; j++)
            Y[i * no + j] /= s;
    }
}

static void fd_case(size_t ni, size_t nh, size_t no, size_t m, size_t h, size_t o, mlp2_path path,
                    uint64_t seed)
{
    mlp2 *net = make(ni, nh, no, h, o, seed);
    mlp2_workspace *ws = NULL;
    assert_int_equal(mlp2_workspace_create(&ws, net, m), MLP2_OK);
    const size_t np = mlp2_n_params(net);
    double *theta = tu_alloc(np), *g = tu_alloc(np), *t = tu_alloc(np);
    double *X = tu_alloc(m * ni), *Y = tu_alloc(m * no);
    tu_rng r = tu_seed(seed);
    tu_fill(&r, theta, np, -1.3, 1.3); /* biases too: no entry zero by symmetry */
    tu_fill(&r, X, m * ni, -2.1, 2.3);
    fill_targets(&r, o, m, no, Y);
    double L;
    assert_int_equal(mlp2_set_params(net, theta), MLP2_OK);
    assert_int_equal(mlp2__loss_grad_path(net, ws, m, X, Y, &L, g, path), MLP2_OK);
    double gmax = 0.0, err = 0.0;
    size_t nonzero = 0;
    for (size_t i = 0; i < np; i++) {
        const double step = 1e-6 * fmax(1.0, fabs(theta[i]));
        memcpy(t, theta, np * sizeof *t);
        t[i] = theta[i] + step;
        const double up = loss_at(net, ws, t, m, X, Y, path);
        t[i] = theta[i] - step;
        const double down = loss_at(net, ws, t, m, X, Y, path);
        const double fd = (up - down) / (2.0 * step);
        err = fmax(err, fabs(fd - g[i]));
        gmax = fmax(gmax, fabs(g[i]));
        nonzero += fabs(g[i]) > 1e-8;
    }
    /* guard: a zero gradient would match any flat loss */
    if (!(gmax > 1e-3 && nonzero >= np / 2))
        fail_msg("%s/%s %zu-%zu-%zu m=%zu path %d: gradient nearly zero (max %.3g, %zu of %zu entries above 1e-8)",
                 hidden_name[h], head_name[o], ni, nh, no, m, (int)path, gmax, nonzero, np);
    if (!(err <= 1e-7 * fmax(1.0, gmax)))
        fail_msg("%s/%s %zu-%zu-%zu m=%zu path %d: max |fd - grad| = %.3g (max |grad| %.3g)",
                 hidden_name[h], head_name[o], ni, nh, no, m, (int)path, err, gmax);
    free(theta), free(g), free(t), free(X), free(Y);
    mlp2_workspace_free(ws);
    mlp2_free(net);
}

static void test_finite_differences(void **state)
{
    (void)state;
    for (size_t h = 0; h < 3; h++)
        for (size_t o = 0; o < 3; o++) {
            fd_case(3, 5, 2, 7, h, o, MLP2_PATH_BLAS, 11 + 3 * h + o);
            fd_case(3, 5, 2, 7, h, o, MLP2_PATH_SMALL, 11 + 3 * h + o);
            fd_case(3, 5, 2, 4, h, o, MLP2_PATH_ROWS, 91 + 3 * h + o);
            fd_case(3, 5, 2, 3, h, o, MLP2_PATH_ROWS, 131 + 3 * h + o);
            fd_case(2, 3, 4, 9, h, o, MLP2_PATH_SMALL, 31 + 3 * h + o);
            fd_case(6, 17, 5, 9, h, o, MLP2_PATH_BLAS, 51 + 3 * h + o); /* wider than the narrow tile */
            fd_case(2, 4, 3, 20, h, o, MLP2_PATH_AUTO, 71 + 3 * h + o); /* remainder rows of the tile */
        }
}

/* ---- logits of +-1000 --------------------------------------------------- */

/* W2 = 0 and b2 = +-1000 make Z2 = +-1000 on every row; with Y on the
 * wrong side every row's loss is hand-derivable. */
static void extreme_case(size_t o, mlp2_path path, bool flip)
{
    const size_t m = 4;
    mlp2 *net = make(2, 3, 2, 0, o, 5);
    mlp2_workspace *ws = NULL;
    assert_int_equal(mlp2_workspace_create(&ws, net, m), MLP2_OK);
    double th[2 * 3 + 3 + 3 * 2 + 2], g[sizeof th / sizeof th[0]], L = NAN;
    assert_int_equal(mlp2_get_params(net, th), MLP2_OK);
    for (size_t i = 9; i < 15; i++)
        th[i] = 0.0; /* W2 */
    th[15] = 1000.0, th[16] = -1000.0; /* b2; flip: the other way round */
    if (flip)
        th[15] = -1000.0, th[16] = 1000.0;
    assert_int_equal(mlp2_set_params(net, th), MLP2_OK);
    const double X[8] = {0.1, -0.3, 1.2, 0.4, -2.0, 0.7, 0.5, 0.5};
    /* softmax: the class of logit -1000; sigmoid: 0 where +1000, 1 where -1000 */
    double Y[8] = {0, 1, 0, 1, 0, 1, 0, 1}, Yr[8] = {1, 0, 1, 0, 1, 0, 1, 0};
    if (flip)
        for (size_t i = 0; i < 8; i++)
            Y[i] = 1.0 - Y[i], Yr[i] = 1.0 - Yr[i];
    assert_int_equal(mlp2__loss_grad_path(net, ws, m, X, Y, &L, g, path), MLP2_OK);
    /* softmax: lse = 1000 (exp(-2000) vanishes), loss = 1000 - (-1000) per row;
     * sigmoid: softplus(1000) - 0 + softplus(-1000) - (-1000) = 2000 per row */
    assert_true(L == 2000.0);
    /* delta2 = (A2 - Y)/m with A2 = (1, 0) exactly: gb2 = (1, -1) */
    assert_true(g[15] == (flip ? -1.0 : 1.0) && g[16] == (flip ? 1.0 : -1.0));
    assert_true(mlp2__all_finite(sizeof th / sizeof th[0], g));
    double P[8];
    mlp2__predict_path(net, ws, m, X, P, path);
    for (size_t i = 0; i < m; i++)
        assert_true(P[2 * i] == (flip ? 0.0 : 1.0) && P[2 * i + 1] == (flip ? 1.0 : 0.0));
    /* confidently right: loss exactly 0 for sigmoid (log1p(exp(-1000)) = 0),
     * and 0 for softmax too */
    assert_int_equal(mlp2__loss_grad_path(net, ws, m, X, Yr, &L, g, path), MLP2_OK);
    assert_true(L == 0.0);
    mlp2_workspace_free(ws);
    mlp2_free(net);
}

static void test_extreme_logits(void **state)
{
    (void)state;
    for (size_t o = 1; o < 3; o++) {
        for (int flip = 0; flip < 2; flip++) {
            extreme_case(o, MLP2_PATH_BLAS, flip);
            extreme_case(o, MLP2_PATH_SMALL, flip);
            extreme_case(o, MLP2_PATH_ROWS, flip);
        }
    }
}

/* ReLU units are unbounded: a one-pass SGD step must count |A1| in its
 * gradient bound.  X = 1e200 and W1 = 1e100 make A1 = 1e300; with W2 =
 * 1e-300 and Y = -1e8 the gradient of W2 is A1 delta2 ~ 1e308 (finite), and
 * lr = 1e10 would take W2 to -Inf: every path refuses the step and leaves
 * the model as it was. */
static void test_relu_step_overflow(void **state)
{
    (void)state;
    const mlp2_path paths[3] = {MLP2_PATH_BLAS, MLP2_PATH_ROWS, MLP2_PATH_AUTO};
    for (size_t p = 0; p < 3; p++)
        for (size_t m = 1; m <= 3; m++) {
            mlp2 *net = make(1, 1, 1, 2, 0, 1);
            mlp2_workspace *ws = NULL;
            assert_int_equal(mlp2_workspace_create(&ws, net, 4), MLP2_OK);
            const double th[4] = {1e100, 0.0, 1e-300, 0.0}, X[3] = {1e200, 1e200, 1e200};
            const double Y[3] = {-1e8, -1e8, -1e8};
            double after[4], L = -1.0;
            assert_int_equal(mlp2_set_params(net, th), MLP2_OK);
            assert_int_equal(mlp2__sgd_step_path(net, ws, m, X, Y, 1e10, &L, paths[p]), MLP2_ENONFINITE);
            assert_int_equal(mlp2_get_params(net, after), MLP2_OK);
            assert_memory_equal(after, th, sizeof th);
            assert_true(L == -1.0);
            mlp2_workspace_free(ws);
            mlp2_free(net);
        }
}

/* ---- the element-wise math ---------------------------------------------- */

static double ulps(double got, double want)
{
    if (got == want)
        return 0.0;
    return fabs(got - want) / fmax(nextafter(fabs(want), INFINITY) - fabs(want), 4.9e-324);
}

static void test_vector_math(void **state)
{
    (void)state;
    double worst_tanh = 0.0, worst_log1p = 0.0;
    for (int k = -40000; k <= 40000; k++) {
        /* dense near 0 and around the 0.5 switch, out to +-40 */
        const double x = k * 1e-3 + k * 2.7e-9;
        worst_tanh = fmax(worst_tanh, ulps(tanh_vec(x), tanh(x)));
        const double tiny = ldexp(1.0 + k * 1e-6, k / 800);
        worst_tanh = fmax(worst_tanh, ulps(tanh_vec(tiny), tanh(tiny)));
        worst_tanh = fmax(worst_tanh, ulps(tanh_vec(-tiny), tanh(-tiny)));
    }
    for (int k = 0; k <= 100000; k++) {
        const double t = k * 1e-5;
        worst_log1p = fmax(worst_log1p, ulps(log1p_unit(t), log1p(t)));
        const double tiny = ldexp(1.0 + k * 1e-6, -(k / 100));
        worst_log1p = fmax(worst_log1p, ulps(log1p_unit(tiny), log1p(tiny)));
    }
    print_message("# worst tanh error %.2f ulp, log1p %.2f ulp\n", worst_tanh, worst_log1p);
    assert_true(worst_tanh <= 4.0);
    assert_true(worst_log1p <= 4.0);
    assert_true(tanh_vec(1e300) == 1.0 && tanh_vec(-1e300) == -1.0 && tanh_vec(0.0) == 0.0);
    assert_true(log1p_unit(0.0) == 0.0);
    assert_true(softplus(-1000.0) == 0.0 && softplus(1000.0) == 1000.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pytorch_reference),
        cmocka_unit_test(test_finite_differences),
        cmocka_unit_test(test_extreme_logits),
        cmocka_unit_test(test_relu_step_overflow),
        cmocka_unit_test(test_vector_math),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
