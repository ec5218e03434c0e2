/* test_step_overflow.c - an update that overflows in one direction only is
 * refused in every update path, and leaves the model and the optimizer's
 * state exactly as they were.
 *
 * Each case sets one parameter near -DBL_MAX (or +DBL_MAX) and gives it a
 * gradient that pushes it further out, so that theta - lr*g overflows while
 * theta + lr*g would not.  A check that evaluated the wrong sign (or skipped
 * the parameter) would let the write produce -Inf.  Every case also runs the
 * mirror gradient (-g), which must succeed: that proves the case really is
 * one-sided, not an overflow either way.
 *
 * The same for mlp2_sgd_step (on every path: one row, tiny batches, the
 * BLAS path, chunks, shards on a two-thread workspace; with and without a
 * workspace) and mlp2_train, where the
 * gradient comes from data: a network built so that one weight's step
 * overflows outwards while the mirror step would not.
 *
 * "Exactly as they were" is checked from outside: the parameters are the
 * same bytes, the step count is the same, and the next (finite) step gives
 * the same bytes as a twin optimizer that never saw the failed step, so the
 * velocity and moments cannot have changed either. */
#include <float.h>
#include <stdbool.h>

#include <mlp2.h>

#include "testutil.h"

#define NI 2
#define NH 3
#define NO 1
#define K 4 /* the parameter pushed to overflow: W1[1][1] */

typedef struct {
    const char *name;
    mlp2_optim_config cfg;
    double theta_k;    /* the parameter's value before the failing step */
    double g_k;        /* its gradient in the failing step */
    double lr_fail;    /* the learning rate of the failing step */
    bool mirror_fails; /* -g overflows too (Adam's g^2): no one-sided check */
} overflow_case;

static mlp2_optim_config cfg_of(mlp2_optim_kind kind, double wd, double beta1)
{
    mlp2_optim_config c = mlp2_optim_defaults(kind);
    c.lr = 0.01;
    c.weight_decay = wd;
    if (kind == MLP2_OPTIM_ADAM && beta1 >= 0)
        c.beta1 = beta1;
    return c;
}

/* one optimizer and its model */
typedef struct {
    mlp2 *net;
    mlp2_optim *opt;
} runner;

static runner runner_make(const overflow_case *c)
{
    runner r = {0};
    assert_int_equal(mlp2_create(&r.net, NI, NH, NO, 5), MLP2_OK);
    const size_t n = mlp2_n_params(r.net);
    double *theta = tu_alloc(n);
    assert_int_equal(mlp2_get_params(r.net, theta), MLP2_OK);
    theta[K] = c->theta_k;
    assert_int_equal(mlp2_set_params(r.net, theta), MLP2_OK);
    free(theta);
    assert_int_equal(mlp2_optim_create(&r.opt, r.net, &c->cfg), MLP2_OK);
    return r;
}

static void runner_free(runner *r)
{
    mlp2_optim_free(r->opt);
    mlp2_free(r->net);
}

/* a finite step at lr 0.01 with ordinary gradients (so the state is not zero) */
static void ordinary_step(runner *r, uint64_t seed)
{
    double g[NI * NH + NH + NH * NO + NO];
    tu_rng rng = tu_seed(seed);
    tu_fill(&rng, g, sizeof g / sizeof g[0], -0.7, 0.9);
    assert_int_equal(mlp2_optim_set_lr(r->opt, 0.01), MLP2_OK);
    assert_int_equal(mlp2_optim_step(r->opt, r->net, g), MLP2_OK);
}

/* the overflowing step: the ordinary gradient, with g[K] = sign * g_k */
static mlp2_status overflow_step(runner *r, const overflow_case *c, double sign)
{
    double g[NI * NH + NH + NH * NO + NO];
    tu_rng rng = tu_seed(99);
    tu_fill(&rng, g, sizeof g / sizeof g[0], -0.3, 0.4);
    g[K] = sign * c->g_k;
    assert_int_equal(mlp2_optim_set_lr(r->opt, c->lr_fail), MLP2_OK);
    return mlp2_optim_step(r->opt, r->net, g);
}

static void params(const mlp2 *net, double *theta)
{
    assert_int_equal(mlp2_get_params(net, theta), MLP2_OK);
}

static void run_case(const overflow_case *c)
{
    print_message("%s: theta_k %g, g_k %g, lr %g\n", c->name, c->theta_k, c->g_k, c->lr_fail);
    const size_t n = NI * NH + NH + NH * NO + NO;
    double before[NI * NH + NH + NH * NO + NO], after[sizeof before / sizeof before[0]];
    double twin_theta[sizeof before / sizeof before[0]];

    runner r = runner_make(c), twin = runner_make(c);
    assert_int_equal(mlp2_n_params(r.net), n);
    ordinary_step(&r, 1);
    ordinary_step(&twin, 1);
    ordinary_step(&r, 2);
    ordinary_step(&twin, 2);

    params(r.net, before);
    const uint64_t steps = mlp2_optim_steps(r.opt);
    assert_int_equal(overflow_step(&r, c, 1.0), MLP2_ENONFINITE);
    params(r.net, after);
    assert_memory_equal(before, after, sizeof before);
    assert_int_equal(mlp2_optim_steps(r.opt), steps);
    assert_true(isfinite(after[K]));

    /* the state: the next step agrees, bit for bit, with the twin's */
    ordinary_step(&r, 3);
    ordinary_step(&twin, 3);
    params(r.net, after);
    params(twin.net, twin_theta);
    assert_memory_equal(after, twin_theta, sizeof after);
    assert_int_equal(mlp2_optim_steps(r.opt), mlp2_optim_steps(twin.opt));

    /* one-sided: the same step in the other direction is fine */
    if (!c->mirror_fails) {
        assert_int_equal(overflow_step(&twin, c, -1.0), MLP2_OK);
        params(twin.net, twin_theta);
        for (size_t i = 0; i < n; i++)
            assert_true(isfinite(twin_theta[i]));
    }
    runner_free(&r);
    runner_free(&twin);
}

/* SGD without weight decay: the core's update (check and write) */
static void test_sgd(void **state)
{
    (void)state;
    const overflow_case down = {"sgd", cfg_of(MLP2_OPTIM_SGD, 0, -1), -1e308, 1e308, 1.0, false};
    const overflow_case up = {"sgd, upwards", cfg_of(MLP2_OPTIM_SGD, 0, -1), 1e308, -1e308, 1.0, false};
    run_case(&down);
    run_case(&up);
}

/* SGD with weight decay: g = grad + wd*theta */
static void test_sgd_weight_decay(void **state)
{
    (void)state;
    const overflow_case c = {"sgd, weight decay", cfg_of(MLP2_OPTIM_SGD, 1e-3, -1), -1e308, 1e308, 1.0, false};
    run_case(&c);
}

/* momentum: v = mu v + g, theta -= lr v (after two steps, so mu v != 0) */
static void test_momentum(void **state)
{
    (void)state;
    const overflow_case c = {"momentum", cfg_of(MLP2_OPTIM_MOMENTUM, 0, -1), -1e308, 1e308, 1.0, false};
    const overflow_case wd = {"momentum, weight decay", cfg_of(MLP2_OPTIM_MOMENTUM, 1e-3, -1), -1e308, 1e308,
                              1.0, false};
    run_case(&c);
    run_case(&wd);
}

/* Adam.  With g = 1e308, g^2 overflows the second moment whatever the sign:
 * the case, refused but not one-sided.  The one-sided case needs an
 * ordinary gradient and a huge learning rate: the step is about lr in size,
 * so theta - lr*m/(...) overflows and theta + lr*m/(...) does not.
 * beta1 = 0 keeps lr/(1 - beta1^t) finite; with the default beta1 the
 * bias-corrected rate is lr/0.271 on step 3, and with g = 100 the step is
 * about 0.17 of it. */
static void test_adam(void **state)
{
    (void)state;
    const overflow_case both = {"adam, g^2 overflows", cfg_of(MLP2_OPTIM_ADAM, 0, -1), -1e308, 1e308, 1.0, true};
    const overflow_case one = {"adam, beta1 0", cfg_of(MLP2_OPTIM_ADAM, 0, 0.0), -1e308, 1.0, 1e308, false};
    const overflow_case dflt = {"adam", cfg_of(MLP2_OPTIM_ADAM, 0, -1), -1.75e308, 100.0, 4e307, false};
    run_case(&both);
    run_case(&one);
    run_case(&dflt);
}

/* ---- mlp2_sgd_step and mlp2_train: the gradient comes from data -------- */

/* A 1-h-1 network whose hidden units all saturate at exactly 1 (b1 = 40,
 * sigmoid(40) rounds to 1, so delta1 = 0), with W2 = (-1.7e308, 0.85e308,
 * 0.85e308, 0, ...) summing to exactly 0 and b2 = 0: the output is 0 for
 * every input.  With targets -1 the gradient of each W2 entry and of b2 is
 * exactly 1 (the mean residual times A1 = 1) and every other gradient is 0.
 * A step with lr = 5e307 then takes W2[0] to -2.2e308 (overflow) and
 * W2[1], W2[2] to 0.35e308: only one direction overflows.  With targets +1
 * the same step gives -1.2e308 and 1.35e308, all finite.  The same with
 * W2 = (-DBL_MAX, DBL_MAX/2, DBL_MAX/2) and lr = 2^975. */
static mlp2 *saturated_net(size_t ni, size_t h, double big)
{
    mlp2 *net = NULL;
    assert_int_equal(mlp2_create(&net, ni, h, 1, 8), MLP2_OK);
    const size_t n = mlp2_n_params(net), w2 = ni * h + h;
    assert_int_equal(n, w2 + h + 1);
    double *theta = calloc(n, sizeof *theta);
    assert_non_null(theta);
    for (size_t j = 0; j < h; j++) {
        theta[j] = 0.01 * (double)(j % 7); /* W1's first row */
        for (size_t i = 1; i < ni; i++)
            theta[i * h + j] = 0.02; /* the other rows, for inputs that are 0 */
        theta[ni * h + j] = 40.0; /* b1 */
    }
    theta[w2] = -big; /* W2 (h x 1) */
    theta[w2 + 1] = big / 2;
    theta[w2 + 2] = big / 2;
    assert_int_equal(mlp2_set_params(net, theta), MLP2_OK);
    free(theta);
    return net;
}

/* ws_kind: 0 no workspace, 1 a workspace of min(m, 256) rows, 2 a two-thread
 * workspace of m rows (sharded when m is large enough) */
static void sgd_step_case(size_t ni, size_t h, size_t m, int ws_kind, double big, double lr)
{
    mlp2 *net = saturated_net(ni, h, big);
    mlp2_workspace *ws = NULL;
    if (ws_kind == 1)
        assert_int_equal(mlp2_workspace_create(&ws, net, m < 256 ? m : 256), MLP2_OK);
    else if (ws_kind == 2)
        assert_int_equal(mlp2_workspace_create_mt(&ws, net, m, 2), MLP2_OK);
    const size_t n = mlp2_n_params(net);
    double *X = calloc(m * ni, sizeof *X), *Y = calloc(m, sizeof *Y);
    double *before = calloc(n, sizeof *before), *after = calloc(n, sizeof *after);
    assert_true(X && Y && before && after);
    for (size_t i = 0; i < m; i++) {
        X[i * ni] = 0.3 + 0.001 * (double)(i % 11); /* the other inputs 0 */
        Y[i] = -1.0;
    }
    /* the premise: the output is exactly 0, the loss exactly 1/2 */
    double loss = -1;
    assert_int_equal(mlp2_loss_grad(net, ws, m, X, Y, &loss, NULL), MLP2_OK);
    assert_true(loss == 0.5);

    assert_int_equal(mlp2_get_params(net, before), MLP2_OK);
    loss = -1;
    if (mlp2_sgd_step(net, ws, m, X, Y, lr, &loss) != MLP2_ENONFINITE) {
        print_error("sgd_step %zu-%zu-1, m = %zu, %s, W2[0] = %g, lr %g: the step overflows W2[0] and was not"
                    " refused\n", ni, h, m, ws_kind == 0 ? "no workspace" : ws_kind == 1 ? "workspace" : "2-thread workspace", -big, lr);
        fail();
    }
    assert_int_equal(mlp2_get_params(net, after), MLP2_OK);
    assert_memory_equal(before, after, n * sizeof(double));
    assert_true(loss == -1); /* not written on failure */

    /* one-sided: the mirror step is fine */
    for (size_t i = 0; i < m; i++)
        Y[i] = 1.0;
    assert_int_equal(mlp2_sgd_step(net, ws, m, X, Y, lr, NULL), MLP2_OK);
    assert_int_equal(mlp2_get_params(net, after), MLP2_OK);
    for (size_t i = 0; i < n; i++)
        assert_true(isfinite(after[i]));
    assert_true(after[ni * h + h] > before[ni * h + h]);
    free(X);
    free(Y);
    free(before);
    free(after);
    mlp2_workspace_free(ws);
    mlp2_free(net);
}

/* every size class: one row, tiny batches, chunks, and shards on two
 * threads (1-60-1 shards from about 620 rows in one chunk); and the update
 * folded into the backward products (blas_step), which a one-output
 * network takes only while n_params > 2 m n_hidden + 1000 (lib/pass.c,
 * way_of_step): 32-60-1 (2041 parameters) at 2 to 8 rows */
static void test_sgd_step_one_sided(void **state)
{
    (void)state;
    const size_t shapes[][2] = {{1, 3}, {1, 60}, {32, 60}};
    const size_t rows[] = {1, 2, 5, 7, 8, 12, 64, 3000, 9000};
    for (size_t s = 0; s < 3; s++)
        for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++)
            for (int w = 0; w < 3; w++) {
                sgd_step_case(shapes[s][0], shapes[s][1], rows[r], w, 1.7e308, 5e307);
                /* at the edge: DBL_MAX plus 2^975 overflows (half an ulp
                 * there is 2^970), a step far below any bound on size */
                sgd_step_case(shapes[s][0], shapes[s][1], rows[r], w, DBL_MAX, 0x1p975);
            }
}

/* mlp2_train with SGD: the first step overflows; training stops with
 * ENONFINITE and the model keeps its parameters */
static void test_train_one_sided(void **state)
{
    (void)state;
    const size_t shapes[] = {3, 60};
    const size_t batches[] = {1, 4, 50};
    for (size_t s = 0; s < 2; s++)
        for (size_t b = 0; b < 3; b++) {
            const size_t h = shapes[s], m = 50;
            mlp2 *net = saturated_net(1, h, 1.7e308);
            const size_t n = mlp2_n_params(net);
            double X[50], Y[50], *before = calloc(n, sizeof(double)), *after = calloc(n, sizeof(double));
            assert_true(before && after);
            for (size_t i = 0; i < m; i++) {
                X[i] = 0.3 + 0.001 * (double)(i % 11);
                Y[i] = -1.0;
            }
            mlp2_train_config cfg = mlp2_train_defaults();
            cfg.optim = mlp2_optim_defaults(MLP2_OPTIM_SGD);
            cfg.optim.lr = 5e307;
            cfg.batch_size = batches[b];
            cfg.epochs = 2;
            mlp2_train_report rep;
            assert_int_equal(mlp2_get_params(net, before), MLP2_OK);
            assert_int_equal(mlp2_train(net, &cfg, m, X, Y, 0, NULL, NULL, &rep), MLP2_ENONFINITE);
            assert_int_equal(rep.reason, MLP2_STOP_NONFINITE);
            assert_int_equal(mlp2_get_params(net, after), MLP2_OK);
            assert_memory_equal(before, after, n * sizeof(double));
            free(before);
            free(after);
            mlp2_free(net);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgd),
        cmocka_unit_test(test_sgd_weight_decay),
        cmocka_unit_test(test_momentum),
        cmocka_unit_test(test_adam),
        cmocka_unit_test(test_sgd_step_one_sided),
        cmocka_unit_test(test_train_one_sided),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
