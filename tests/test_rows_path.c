/* test_rows_path.c - the latency path (lib/rows.c) and the one-pass update
 * give the BLAS path's answers, and every path keeps the failure contract.
 *
 * White box: each path is forced (MLP2_PATH_ROWS, _SMALL, _BLAS) on the same
 * model and data:
 *   - predictions, loss and gradient agree to 1e-13 relative;
 *   - after 50 SGD steps (mlp2__sgd_step_path) and 50 Adam steps
 *     (loss and gradient on the path, then mlp2_optim_step) the parameters
 *     agree to 1e-12;
 *   - a step whose update overflows, at m = 1 and at a large m, leaves the
 *     model (and an optimizer's state) byte-identical, and a step whose
 *     bound fails but whose update is finite still succeeds;
 *   - a NaN or Inf anywhere in one short row of X or Y is refused;
 *   - one row whose output overflows is refused, with a workspace and
 *     without. */
#include "testutil.h"

#include "internal.h"

#include <float.h>

#define RTOL 1e-13
#define ATOL 1e-15

typedef struct {
    size_t ni, nh, no;
} shape_t;

/* rows.c builds its entry points three ways, chosen by the shape: tiny
 * (1-4 sigmoid units, one linear output: 2-3-1, 1-1-1, 3-2-1, 5-4-1),
 * scalar (fewer than 8 hidden units otherwise: 3-2-4, 7-5-3, 6-7-1) and
 * vectorised (4-8-2, 10-32-1, 20-40-2, 3-8-1) */
static const shape_t shapes[] = {
    {2, 3, 1}, {1, 1, 1}, {3, 2, 4}, {4, 8, 2}, {10, 32, 1}, {7, 5, 3}, {20, 40, 2},
    {3, 2, 1}, {5, 4, 1}, {6, 7, 1}, {3, 8, 1},
};
#define N_SHAPES (sizeof shapes / sizeof shapes[0])

typedef struct {
    mlp2 *net;
    mlp2_workspace *ws;
    size_t np, m;
    double *theta, *X, *Y;
} setup_t;

/* A model with random parameters (biases included) and m rows of data. */
static setup_t make(const shape_t *s, size_t m, size_t max_batch, uint64_t seed)
{
    setup_t u = {.m = m};
    assert_int_equal(mlp2_create(&u.net, s->ni, s->nh, s->no, seed), MLP2_OK);
    assert_int_equal(mlp2_workspace_create(&u.ws, u.net, max_batch), MLP2_OK);
    u.np = mlp2_n_params(u.net);
    tu_rng r = tu_seed(seed);
    u.theta = tu_alloc(u.np);
    tu_fill(&r, u.theta, u.np, -1.3, 1.7);
    assert_int_equal(mlp2_set_params(u.net, u.theta), MLP2_OK);
    u.X = tu_alloc(m * s->ni);
    u.Y = tu_alloc(m * s->no);
    tu_fill(&r, u.X, m * s->ni, -2.1, 2.3);
    tu_fill(&r, u.Y, m * s->no, -0.9, 1.1);
    return u;
}

static void unmake(setup_t *u)
{
    free(u->theta);
    free(u->X);
    free(u->Y);
    mlp2_workspace_free(u->ws);
    mlp2_free(u->net);
}

/* predictions, loss and gradient: rows against BLAS (and the small path) */
static void compare_forward_backward(const shape_t *s, size_t m, size_t max_batch, uint64_t seed)
{
    setup_t u = make(s, m, max_batch, seed);
    const size_t no = s->no;
    double *gb = tu_alloc(u.np), *gr = tu_alloc(u.np), Lb = 0, Lr = 0;
    for (size_t i = 0; i < u.np; i++)
        gb[i] = gr[i] = (double)NAN; /* the first row must overwrite */
    assert_int_equal(mlp2__loss_grad_path(u.net, u.ws, m, u.X, u.Y, &Lb, gb, MLP2_PATH_BLAS), MLP2_OK);
    assert_int_equal(mlp2__loss_grad_path(u.net, u.ws, m, u.X, u.Y, &Lr, gr, MLP2_PATH_ROWS), MLP2_OK);
    tu_assert_close(&Lr, &Lb, 1, RTOL, 0.0);
    tu_assert_close(gr, gb, u.np, RTOL, ATOL);
    double gmax = 0.0;
    for (size_t i = 0; i < u.np; i++)
        gmax = fmax(gmax, fabs(gb[i]));
    assert_true(gmax > 1e-3); /* not trivially zero */
    double Lonly = 0;
    assert_int_equal(mlp2__loss_grad_path(u.net, u.ws, m, u.X, u.Y, &Lonly, NULL, MLP2_PATH_ROWS),
                     MLP2_OK);
    tu_assert_close(&Lonly, &Lb, 1, RTOL, 0.0);
    double *Pb = tu_alloc(m * no), *Pr = tu_alloc(m * no);
    mlp2__predict_path(u.net, u.ws, m, u.X, Pb, MLP2_PATH_BLAS);
    mlp2__predict_path(u.net, u.ws, m, u.X, Pr, MLP2_PATH_ROWS);
    tu_assert_close(Pr, Pb, m * no, RTOL, ATOL);
    /* the public entry points (automatic choice) agree too */
    double La = 0, *ga = tu_alloc(u.np);
    assert_int_equal(mlp2_loss_grad(u.net, u.ws, m, u.X, u.Y, &La, ga), MLP2_OK);
    tu_assert_close(&La, &Lb, 1, RTOL, 0.0);
    tu_assert_close(ga, gb, u.np, RTOL, ATOL);
    assert_int_equal(mlp2_predict(u.net, u.ws, m, u.X, Pr), MLP2_OK);
    tu_assert_close(Pr, Pb, m * no, RTOL, ATOL);
    free(gb);
    free(gr);
    free(ga);
    free(Pb);
    free(Pr);
    unmake(&u);
}

static void test_rows_match_blas(void **state)
{
    (void)state;
    static const size_t ms[] = {1, 2, 3, 5, 17};
    for (size_t s = 0; s < N_SHAPES; s++)
        for (size_t k = 0; k < sizeof ms / sizeof ms[0]; k++) {
            compare_forward_backward(&shapes[s], ms[k], ms[k], 10 * s + k);
            compare_forward_backward(&shapes[s], ms[k], 1, 500 + 10 * s + k); /* workspace of 1 row */
        }
}

static void test_automatic_choice(void **state)
{
    (void)state;
    mlp2 *net = NULL;
    /* one row: always */
    assert_int_equal(mlp2_create(&net, 784, 512, 10, 1), MLP2_OK);
    assert_true(mlp2__row_path(net, 1));
    assert_false(mlp2__row_path(net, 2));
    mlp2_free(net);
    /* a few rows of a tiny shape, up to MLP2_ROWS_MAX */
    assert_int_equal(mlp2_create(&net, 2, 3, 1, 1), MLP2_OK);
    assert_true(mlp2__row_path(net, MLP2_ROWS_MAX));
    assert_false(mlp2__row_path(net, MLP2_ROWS_MAX + 1));
    mlp2_free(net);
    /* 10-32-1: 352 multiply-adds a row; up to MLP2_ROWS_WORK in all */
    assert_int_equal(mlp2_create(&net, 10, 32, 1, 1), MLP2_OK);
    assert_true(mlp2__row_path(net, MLP2_ROWS_WORK / 352));
    assert_false(mlp2__row_path(net, MLP2_ROWS_WORK / 352 + 1));
    mlp2_free(net);
}

/* 50 SGD steps on the rows path and on the BLAS path end at the same
 * parameters (to 1e-12), and so do 50 Adam steps */
static void compare_training(const shape_t *s, size_t m, uint64_t seed)
{
    /* a: rows; b: BLAS, one chunk (the update folded into the products,
     * blas_step, for the shapes with several outputs: a one-output shape
     * this small takes the gradient first, lib/pass.c way_of_step);
     * c: BLAS in chunks of one row (gradient, check, then update) */
    setup_t a = make(s, m, m, seed), b = make(s, m, m, seed), c = make(s, m, 1, seed);
    double La = 0, Lb = 0, Lc = 0;
    for (int t = 0; t < 50; t++) {
        assert_int_equal(mlp2__sgd_step_path(a.net, a.ws, m, a.X, a.Y, 0.05, &La, MLP2_PATH_ROWS), MLP2_OK);
        assert_int_equal(mlp2__sgd_step_path(b.net, b.ws, m, b.X, b.Y, 0.05, &Lb, MLP2_PATH_BLAS), MLP2_OK);
        assert_int_equal(mlp2__sgd_step_path(c.net, c.ws, m, c.X, c.Y, 0.05, &Lc, MLP2_PATH_BLAS), MLP2_OK);
        tu_assert_close(&La, &Lc, 1, 1e-12, 1e-16); /* a converged loss is small */
        tu_assert_close(&Lb, &Lc, 1, 1e-12, 1e-16);
    }
    double *ta = tu_alloc(a.np), *tb = tu_alloc(a.np);
    mlp2_get_params(a.net, ta);
    mlp2_get_params(c.net, tb);
    tu_assert_close(ta, tb, a.np, 1e-12, 1e-14);
    mlp2_get_params(b.net, ta);
    tu_assert_close(ta, tb, a.np, 1e-12, 1e-14);
    mlp2_get_params(a.net, ta);
    unmake(&c);
    /* the steps moved the model */
    assert_true(tu_rel_err(ta, a.theta, a.np) > 1e-4);

    /* Adam from the start again: near a fitted minimum it would divide
     * rounding noise by its own size */
    mlp2_set_params(a.net, a.theta);
    mlp2_set_params(b.net, b.theta);
    mlp2_optim *oa = NULL, *ob = NULL;
    const mlp2_optim_config cfg = mlp2_optim_defaults(MLP2_OPTIM_ADAM);
    assert_int_equal(mlp2_optim_create(&oa, a.net, &cfg), MLP2_OK);
    assert_int_equal(mlp2_optim_create(&ob, b.net, &cfg), MLP2_OK);
    for (int t = 0; t < 50; t++) {
        assert_int_equal(mlp2__loss_grad_path(a.net, a.ws, m, a.X, a.Y, &La, a.ws->grad, MLP2_PATH_ROWS),
                         MLP2_OK);
        assert_int_equal(mlp2__loss_grad_path(b.net, b.ws, m, b.X, b.Y, &Lb, b.ws->grad, MLP2_PATH_BLAS),
                         MLP2_OK);
        assert_int_equal(mlp2_optim_step(oa, a.net, a.ws->grad), MLP2_OK);
        assert_int_equal(mlp2_optim_step(ob, b.net, b.ws->grad), MLP2_OK);
    }
    mlp2_get_params(a.net, ta);
    mlp2_get_params(b.net, tb);
    tu_assert_close(ta, tb, a.np, 1e-12, 1e-14);
    mlp2_optim_free(oa);
    mlp2_optim_free(ob);
    free(ta);
    free(tb);
    unmake(&a);
    unmake(&b);
}

static void test_training_agrees(void **state)
{
    (void)state;
    static const size_t ms[] = {1, 3, 6};
    for (size_t s = 0; s < N_SHAPES; s++)
        for (size_t k = 0; k < sizeof ms / sizeof ms[0]; k++)
            compare_training(&shapes[s], ms[k], 70 + 10 * s + k);
}

/* ---- the failure contract ----------------------------------------------- */

static const mlp2_path all_paths[] = {MLP2_PATH_ROWS, MLP2_PATH_BLAS, MLP2_PATH_SMALL, MLP2_PATH_AUTO};

static bool path_ok(const mlp2 *net, mlp2_path p)
{
    return p != MLP2_PATH_SMALL || mlp2__small_path(net, MLP2_SMALL_MIN_ROWS);
}

/* Two ways a step must be refused, on every path and through the public
 * call, with the model left as it was:
 *   UPDATE_OVERFLOWS  targets 1e5 away from the outputs make |grad b2|
 *                     about 1e5 (the loss, about 5e9, stays finite); lr =
 *                     1e308 then makes lr*grad overflow.  The loss output
 *                     is untouched.
 *   LOSS_OVERFLOWS    targets of +-1e200 make (A2 - Y)^2 = 1e400: every way
 *                     of a step (the rows path, blas_step, the lane
 *                     kernel's fused step, the gradient first) refuses it
 *                     before the update, and mlp2_loss_grad reports it too
 *                     (the loss output is then unspecified: not checked). */
typedef enum { UPDATE_OVERFLOWS, LOSS_OVERFLOWS } refusal;

static void refused_step(const shape_t *sh, size_t m, uint64_t seed, refusal why)
{
    const double lr = why == UPDATE_OVERFLOWS ? 1e308 : 1e-3;
    for (size_t p = 0; p < sizeof all_paths / sizeof all_paths[0]; p++) {
        setup_t u = make(sh, m, m, seed);
        if (!path_ok(u.net, all_paths[p])) {
            unmake(&u);
            continue;
        }
        for (size_t i = 0; i < m * sh->no; i++)
            u.Y[i] = why == UPDATE_OVERFLOWS ? u.Y[i] + 1e5 : (i % 2 ? 1e200 : -1e200);
        double *now = tu_alloc(u.np), L = -7.0;
        assert_int_equal(mlp2__sgd_step_path(u.net, u.ws, m, u.X, u.Y, lr, &L, all_paths[p]),
                         MLP2_ENONFINITE);
        mlp2_get_params(u.net, now);
        assert_memory_equal(now, u.theta, u.np * sizeof(double));
        if (why == UPDATE_OVERFLOWS)
            assert_true(L == -7.0); /* loss untouched on failure */
        /* the public entry point too */
        assert_int_equal(mlp2_sgd_step(u.net, u.ws, m, u.X, u.Y, lr, &L), MLP2_ENONFINITE);
        mlp2_get_params(u.net, now);
        assert_memory_equal(now, u.theta, u.np * sizeof(double));
        if (why == LOSS_OVERFLOWS) {
            double *g = tu_alloc(u.np);
            assert_int_equal(mlp2__loss_grad_path(u.net, u.ws, m, u.X, u.Y, &L, g, all_paths[p]),
                             MLP2_ENONFINITE);
            assert_int_equal(mlp2_loss_grad(u.net, u.ws, m, u.X, u.Y, &L, g), MLP2_ENONFINITE);
            free(g);
        }
        free(now);
        unmake(&u);
    }
}

static void test_overflowing_step_changes_nothing(void **state)
{
    (void)state;
    static const size_t ms[] = {1, 4, 300};
    for (size_t s = 0; s < N_SHAPES; s++)
        for (size_t k = 0; k < sizeof ms / sizeof ms[0]; k++)
            refused_step(&shapes[s], ms[k], 900 + s, UPDATE_OVERFLOWS);
    /* a large m whose BLAS step folds the update into the products */
    static const shape_t wide = {64, 100, 3};
    refused_step(&wide, 100, 77, UPDATE_OVERFLOWS);
}

/* A finite loss with a gradient that overflows: hidden unit 0 nearly off
 * (b1 = -700, a1 ~ 1e-304) with huge outgoing weights (1e300) keeps the
 * outputs finite, but delta2 W2^T = 1e10 * 1e300 overflows.  Every path
 * reports it, and a step leaves the model unchanged. */
static void test_nonfinite_gradient(void **state)
{
    (void)state;
    static const size_t ms[] = {1, 4};
    for (size_t s = 0; s < N_SHAPES; s++)
        for (size_t k = 0; k < 2; k++)
            for (size_t p = 0; p < 3; p++) {
                const size_t m = ms[k], no = shapes[s].no;
                setup_t u = make(&shapes[s], m, m, 30 + s);
                if (!path_ok(u.net, all_paths[p])) {
                    unmake(&u);
                    continue;
                }
                u.theta[mlp2__off_b1(u.net)] = -700.0;
                for (size_t o = 0; o < no; o++)
                    u.theta[mlp2__off_W2(u.net) + o] = 1e300;
                assert_int_equal(mlp2_set_params(u.net, u.theta), MLP2_OK);
                for (size_t i = 0; i < m * no; i++)
                    u.Y[i] = 1e10;
                double L = 0, *g = tu_alloc(u.np);
                assert_int_equal(mlp2__loss_grad_path(u.net, u.ws, m, u.X, u.Y, &L, g, all_paths[p]),
                                 MLP2_ENONFINITE);
                assert_true(isfinite(L));
                assert_int_equal(mlp2__sgd_step_path(u.net, u.ws, m, u.X, u.Y, 1e-3, &L, all_paths[p]),
                                 MLP2_ENONFINITE);
                double *now = tu_alloc(u.np);
                mlp2_get_params(u.net, now);
                assert_memory_equal(now, u.theta, u.np * sizeof(double));
                free(g);
                free(now);
                unmake(&u);
            }
}

/* A loss that overflows (refused_step's LOSS_OVERFLOWS).  The wide shape at
 * 100 rows takes blas_step through the automatic choice, so the public
 * mlp2_sgd_step reaches its loss check (pass.c, way_of_step), which no
 * other test did. */
static void test_overflowing_loss(void **state)
{
    (void)state;
    static const size_t ms[] = {1, 4, 64};
    for (size_t s = 0; s < N_SHAPES; s++)
        for (size_t k = 0; k < sizeof ms / sizeof ms[0]; k++)
            refused_step(&shapes[s], ms[k], 950 + s, LOSS_OVERFLOWS);
    static const shape_t wide = {64, 100, 3};
    refused_step(&wide, 100, 78, LOSS_OVERFLOWS);
}

/* A step whose bound fails (lr G above 2^960) but whose update is finite
 * takes the careful path and still succeeds, with the BLAS path's result. */
static void test_careful_fallback(void **state)
{
    (void)state;
    static const size_t ms[] = {1, 4};
    for (size_t s = 0; s < N_SHAPES; s++)
        for (size_t k = 0; k < 2; k++) {
            const size_t m = ms[k];
            setup_t a = make(&shapes[s], m, m, 40 + s), b = make(&shapes[s], m, m, 40 + s);
            const double lr = 1e290; /* lr G ~ 1e290 > 2^960 ~ 9.7e288 */
            double La, Lb;
            assert_int_equal(mlp2__sgd_step_path(a.net, a.ws, m, a.X, a.Y, lr, &La, MLP2_PATH_ROWS), MLP2_OK);
            assert_int_equal(mlp2__sgd_step_path(b.net, b.ws, m, b.X, b.Y, lr, &Lb, MLP2_PATH_BLAS), MLP2_OK);
            double ta[4096], tb[4096];
            mlp2_get_params(a.net, ta);
            mlp2_get_params(b.net, tb);
            /* theta is now lr g: compared norm-wise, since an entry of g that
             * is a sum with cancellation carries a larger relative error */
            assert_true(tu_rel_err(ta, tb, a.np) <= 1e-13);
            assert_true(tu_rel_err(ta, a.theta, a.np) > 0.9); /* the huge step was taken */
            double big = 0.0;
            for (size_t i = 0; i < a.np; i++)
                big = fmax(big, fabs(ta[i]));
            assert_true(big > 1e200);
            unmake(&a);
            unmake(&b);
        }
}

/* An optimizer step whose update overflows leaves the model and the
 * optimizer's state as they were: a twin optimizer that never saw the
 * failed step takes the next step to the same bits. */
static void test_optim_overflow_changes_nothing(void **state)
{
    (void)state;
    static const mlp2_optim_kind kinds[] = {MLP2_OPTIM_SGD, MLP2_OPTIM_MOMENTUM, MLP2_OPTIM_ADAM};
    static const shape_t big = {30, 20, 3}; /* 683 parameters */
    const shape_t *sh[] = {&shapes[0], &shapes[4], &big};
    for (size_t s = 0; s < 3; s++)
        for (size_t k = 0; k < 3; k++) {
            setup_t a = make(sh[s], 3, 3, 60 + s), b = make(sh[s], 3, 3, 60 + s);
            mlp2_optim_config cfg = mlp2_optim_defaults(kinds[k]);
            mlp2_optim *oa = NULL, *ob = NULL;
            assert_int_equal(mlp2_optim_create(&oa, a.net, &cfg), MLP2_OK);
            assert_int_equal(mlp2_optim_create(&ob, b.net, &cfg), MLP2_OK);
            double *g = tu_alloc(a.np), *bad = tu_alloc(a.np), *ta = tu_alloc(a.np), *tb = tu_alloc(a.np);
            for (int t = 0; t < 3; t++) { /* some state first */
                assert_int_equal(mlp2__loss_grad_path(a.net, a.ws, 3, a.X, a.Y, NULL, g, MLP2_PATH_BLAS),
                                 MLP2_OK);
                assert_int_equal(mlp2_optim_step(oa, a.net, g), MLP2_OK);
                assert_int_equal(mlp2_optim_step(ob, b.net, g), MLP2_OK);
            }
            /* a finite gradient whose update overflows: for Adam g^2 = 1e400;
             * for SGD and momentum theta = -DBL_MAX and lr g = 1e306 */
            memcpy(bad, g, a.np * sizeof(double));
            mlp2_get_params(a.net, ta);
            if (kinds[k] == MLP2_OPTIM_ADAM) {
                bad[a.np - 1] = 1e200;
            } else {
                bad[a.np - 1] = 1e306 / cfg.lr;
                ta[a.np - 1] = -DBL_MAX;
                assert_int_equal(mlp2_set_params(a.net, ta), MLP2_OK);
                assert_int_equal(mlp2_set_params(b.net, ta), MLP2_OK);
            }
            assert_int_equal(mlp2_optim_step(oa, a.net, bad), MLP2_ENONFINITE);
            mlp2_get_params(a.net, tb);
            assert_memory_equal(tb, ta, a.np * sizeof(double));
            assert_int_equal(mlp2_optim_steps(oa), 3);
            /* the next good step lands on the twin's bits */
            g[a.np - 1] = 0.0;
            assert_int_equal(mlp2_optim_step(oa, a.net, g), MLP2_OK);
            assert_int_equal(mlp2_optim_step(ob, b.net, g), MLP2_OK);
            mlp2_get_params(a.net, ta);
            mlp2_get_params(b.net, tb);
            assert_memory_equal(ta, tb, a.np * sizeof(double));
            mlp2_optim_free(oa);
            mlp2_optim_free(ob);
            free(g);
            free(bad);
            free(ta);
            free(tb);
            unmake(&a);
            unmake(&b);
        }
}

/* ---- non-finite values in one short row ---------------------------------- */

/* At m = 1 the entry points check a row of up to four values inline
 * (pass.c's finite_short): a NaN or an Inf in any position of X or Y, for
 * every row length around that limit, is refused with MLP2_ENONFINITE and
 * leaves the outputs and the model as they were. */
static void test_short_row_nonfinite(void **state)
{
    (void)state;
    static const double bad[] = {(double)NAN, (double)INFINITY, -(double)INFINITY};
    for (size_t n = 1; n <= 6; n++) {
        const shape_t sh = {n, 3, n}; /* n inputs and n outputs */
        setup_t u = make(&sh, 1, 1, 700 + n);
        double *before = tu_alloc(u.np), *after = tu_alloc(u.np), *P = tu_alloc(n), *g = tu_alloc(u.np);
        mlp2_get_params(u.net, before);
        for (size_t pos = 0; pos < n; pos++)
            for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
                double L = -7.0;
                const double x = u.X[pos], y = u.Y[pos];
                for (size_t i = 0; i < n; i++)
                    P[i] = -7.0;
                u.X[pos] = bad[b]; /* X bad, Y good */
                assert_int_equal(mlp2_predict(u.net, u.ws, 1, u.X, P), MLP2_ENONFINITE);
                for (size_t i = 0; i < n; i++)
                    assert_true(P[i] == -7.0);
                assert_int_equal(mlp2_loss_grad(u.net, u.ws, 1, u.X, u.Y, &L, g), MLP2_ENONFINITE);
                assert_int_equal(mlp2_sgd_step(u.net, u.ws, 1, u.X, u.Y, 0.1, &L), MLP2_ENONFINITE);
                u.X[pos] = x;
                u.Y[pos] = bad[b]; /* Y bad, X good */
                assert_int_equal(mlp2_loss_grad(u.net, u.ws, 1, u.X, u.Y, &L, g), MLP2_ENONFINITE);
                assert_int_equal(mlp2_sgd_step(u.net, u.ws, 1, u.X, u.Y, 0.1, &L), MLP2_ENONFINITE);
                u.Y[pos] = y;
                assert_true(L == -7.0);
                mlp2_get_params(u.net, after);
                assert_memory_equal(after, before, u.np * sizeof(double));
            }
        /* and the clean row goes through */
        assert_int_equal(mlp2_predict(u.net, u.ws, 1, u.X, P), MLP2_OK);
        double L = -7.0;
        assert_int_equal(mlp2_sgd_step(u.net, u.ws, 1, u.X, u.Y, 0.1, &L), MLP2_OK);
        assert_true(isfinite(L) && L >= 0.0);
        free(before);
        free(after);
        free(P);
        free(g);
        unmake(&u);
    }
}

/* Finite inputs whose output overflows, at m = 1 with a workspace (pass.c's
 * one-row path in mlp2_predict) and without one (the general path), for
 * every output of every shape: W2's column j and b2[j] at DBL_MAX make
 * output j = DBL_MAX (1 + sum of the hidden units) = Inf.  MLP2_ENONFINITE
 * each time; with the column restored, MLP2_OK. */
static void test_one_row_output_overflow(void **state)
{
    (void)state;
    for (size_t k = 0; k < N_SHAPES; k++) {
        const shape_t *sh = &shapes[k];
        setup_t u = make(sh, 1, 1, 900 + k);
        double *th = tu_alloc(u.np), *P = tu_alloc(sh->no);
        const size_t w2 = sh->ni * sh->nh + sh->nh, b2 = w2 + sh->nh * sh->no;
        for (size_t j = 0; j < sh->no; j++) {
            memcpy(th, u.theta, u.np * sizeof(double));
            for (size_t h = 0; h < sh->nh; h++)
                th[w2 + h * sh->no + j] = DBL_MAX;
            th[b2 + j] = DBL_MAX;
            assert_int_equal(mlp2_set_params(u.net, th), MLP2_OK);
            assert_int_equal(mlp2_predict(u.net, u.ws, 1, u.X, P), MLP2_ENONFINITE);
            assert_int_equal(mlp2_predict(u.net, NULL, 1, u.X, P), MLP2_ENONFINITE);
            assert_int_equal(mlp2_set_params(u.net, u.theta), MLP2_OK);
            assert_int_equal(mlp2_predict(u.net, u.ws, 1, u.X, P), MLP2_OK);
        }
        free(th);
        free(P);
        unmake(&u);
    }
}

/* ---- allocation failure on the latency path ----------------------------- */

/* An allocator that fails its fail_at-th call (1-based; 0 never fails). */
static int alloc_calls, fail_at;
static void *failing_alloc(void *ud, size_t size)
{
    (void)ud;
    return ++alloc_calls == fail_at ? NULL : malloc(size);
}
static void plain_free(void *ud, void *ptr)
{
    (void)ud;
    free(ptr);
}

/* With ws == NULL the call makes a temporary workspace: fail each of its
 * allocations in turn; every failure is MLP2_ENOMEM with the model and the
 * outputs as they were, and the first run without a failure succeeds. */
static void test_rows_oom(void **state)
{
    (void)state;
    static const shape_t sh = {2, 3, 1};
    setup_t u = make(&sh, 1, 1, 5);
    double *before = tu_alloc(u.np), *after = tu_alloc(u.np);
    mlp2_get_params(u.net, before);
    for (int op = 0; op < 3; op++) {
        for (int k = 1;; k++) {
            double out[1] = {-7.0}, L = -7.0, g[13];
            for (size_t i = 0; i < 13; i++)
                g[i] = -7.0;
            alloc_calls = 0;
            fail_at = k;
            assert_int_equal(mlp2_set_allocator(failing_alloc, plain_free, NULL), MLP2_OK);
            mlp2_status st = op == 0   ? mlp2_predict(u.net, NULL, 1, u.X, out)
                             : op == 1 ? mlp2_loss_grad(u.net, NULL, 1, u.X, u.Y, &L, g)
                                       : mlp2_sgd_step(u.net, NULL, 1, u.X, u.Y, 1e-3, &L);
            assert_int_equal(mlp2_set_allocator(NULL, NULL, NULL), MLP2_OK);
            if (alloc_calls < k) { /* no allocation failed: the call ran */
                assert_int_equal(st, MLP2_OK);
                assert_true(k > 1); /* it did allocate (a temporary workspace) */
                break;
            }
            assert_int_equal(st, MLP2_ENOMEM);
            mlp2_get_params(u.net, after);
            assert_memory_equal(after, before, u.np * sizeof(double));
            assert_true(out[0] == -7.0 && L == -7.0 && g[0] == -7.0);
        }
        mlp2_set_params(u.net, before); /* undo the successful step */
    }
    free(before);
    free(after);
    unmake(&u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows_match_blas),
        cmocka_unit_test(test_automatic_choice),
        cmocka_unit_test(test_training_agrees),
        cmocka_unit_test(test_overflowing_step_changes_nothing),
        cmocka_unit_test(test_nonfinite_gradient),
        cmocka_unit_test(test_overflowing_loss),
        cmocka_unit_test(test_careful_fallback),
        cmocka_unit_test(test_optim_overflow_changes_nothing),
        cmocka_unit_test(test_short_row_nonfinite),
        cmocka_unit_test(test_one_row_output_overflow),
        cmocka_unit_test(test_rows_oom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
