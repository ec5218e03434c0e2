/* test_optim.c - the optimizers against trajectories computed here from the
 * formulas, against hand-derived Adam steps and against numbers produced by
 * torch.optim; every error code; a failed step changes nothing. */
#include <stdbool.h>

#include <mlp2.h>

#include "testutil.h"

/* a 2-3-1 network: 13 parameters */
#define NI 2
#define NH 3
#define NO 1
#define NP (NI * NH + NH + NH * NO + NO)
#define STEPS 8

/* ---- the reference: the documented formulas, one scalar at a time ------ */

/* Run `steps` updates from th0 with the gradients G (steps x n) and store the
 * parameters after each step in out (steps x n).  lrs[t] is the learning
 * rate of step t+1. */
static void reference(const mlp2_optim_config *c, const double *lrs, size_t n, const double *th0,
                      size_t steps, const double *G, double *out)
{
    double *th = tu_alloc(n), *buf = tu_alloc(n), *m = tu_alloc(n), *v = tu_alloc(n);
    memcpy(th, th0, n * sizeof(double));
    for (size_t t = 1; t <= steps; t++) {
        const double lr = lrs[t - 1];
        for (size_t i = 0; i < n; i++) {
            const double g = G[(t - 1) * n + i] + c->weight_decay * th[i];
            switch (c->kind) {
            case MLP2_OPTIM_SGD:
                th[i] = th[i] - lr * g;
                break;
            case MLP2_OPTIM_MOMENTUM:
                buf[i] = t == 1 ? g : c->momentum * buf[i] + g;
                th[i] = th[i] - lr * buf[i];
                break;
            case MLP2_OPTIM_ADAM: {
                m[i] = c->beta1 * m[i] + (1.0 - c->beta1) * g;
                v[i] = c->beta2 * v[i] + (1.0 - c->beta2) * g * g;
                const double bc1 = 1.0 - pow(c->beta1, (double)t);
                const double bc2 = 1.0 - pow(c->beta2, (double)t);
                const double denom = sqrt(v[i]) / sqrt(bc2) + c->eps;
                th[i] = th[i] - lr / bc1 * (m[i] / denom);
                break;
            }
            }
        }
        memcpy(out + (t - 1) * n, th, n * sizeof(double));
    }
    free(th);
    free(buf);
    free(m);
    free(v);
}

/* The library's trajectory for the same inputs. */
static void library(const mlp2_optim_config *c, const double *lrs, mlp2 *net, const double *th0,
                    size_t steps, const double *G, double *out)
{
    const size_t n = mlp2_n_params(net);
    mlp2_optim *opt = NULL;
    assert_int_equal(mlp2_set_params(net, th0), MLP2_OK);
    assert_int_equal(mlp2_optim_create(&opt, net, c), MLP2_OK);
    for (size_t t = 0; t < steps; t++) {
        assert_int_equal(mlp2_optim_set_lr(opt, lrs[t]), MLP2_OK);
        assert_int_equal(mlp2_optim_step(opt, net, G + t * n), MLP2_OK);
        assert_int_equal(mlp2_optim_steps(opt), t + 1);
        assert_int_equal(mlp2_get_params(net, out + t * n), MLP2_OK);
    }
    mlp2_optim_free(opt);
}

/* Library vs reference over STEPS steps, seeded inputs of varied scale;
 * relative error 1e-15 (a wrong rule is off by 1e-11 or far more). */
static void compare_trajectories(const mlp2_optim_config *c, double grad_scale, bool vary_lr)
{
    mlp2 *net = NULL;
    assert_int_equal(mlp2_create(&net, NI, NH, NO, 5), MLP2_OK);
    double th0[NP], G[STEPS * NP], want[STEPS * NP], got[STEPS * NP], lrs[STEPS];
    tu_rng r = tu_seed(17 + (uint64_t)c->kind);
    tu_fill(&r, th0, NP, -1.3, 1.7);
    tu_fill(&r, G, STEPS * NP, -2.1 * grad_scale, 1.9 * grad_scale);
    for (size_t t = 0; t < STEPS; t++)
        lrs[t] = vary_lr ? c->lr * pow(0.7, (double)(t / 3)) : c->lr;
    reference(c, lrs, NP, th0, STEPS, G, want);
    library(c, lrs, net, th0, STEPS, G, got);
    for (size_t t = 0; t < STEPS; t++) {
        const double e = tu_rel_err(got + t * NP, want + t * NP, NP);
        if (!(e <= 1e-15))
            fail_msg("kind %d step %zu: relative error %.3g", (int)c->kind, t + 1, e);
        /* and the parameters moved: the comparison is not vacuous */
        const double *prev = t ? want + (t - 1) * NP : th0;
        assert_true(tu_rel_err(want + t * NP, prev, NP) > 1e-6 * c->lr);
    }
    mlp2_free(net);
}

static void test_defaults(void **state)
{
    (void)state;
    mlp2_optim_config c = mlp2_optim_defaults(MLP2_OPTIM_SGD);
    assert_int_equal(c.kind, MLP2_OPTIM_SGD);
    assert_true(c.lr == 0.01 && c.weight_decay == 0.0);
    c = mlp2_optim_defaults(MLP2_OPTIM_MOMENTUM);
    assert_int_equal(c.kind, MLP2_OPTIM_MOMENTUM);
    assert_true(c.lr == 0.01 && c.momentum == 0.9 && c.weight_decay == 0.0);
    c = mlp2_optim_defaults(MLP2_OPTIM_ADAM);
    assert_int_equal(c.kind, MLP2_OPTIM_ADAM);
    assert_true(c.lr == 0.001 && c.beta1 == 0.9 && c.beta2 == 0.999 && c.eps == 1e-8 &&
                c.weight_decay == 0.0);
    c = mlp2_optim_defaults((mlp2_optim_kind)42);
    assert_int_equal((int)c.kind, 42);
    assert_true(c.lr == 0.01);
}

static void test_sgd(void **state)
{
    (void)state;
    mlp2_optim_config c = {.kind = MLP2_OPTIM_SGD, .lr = 0.0371};
    compare_trajectories(&c, 1.0, false);
    compare_trajectories(&c, 1.0, true);
    c.weight_decay = 0.0425;
    compare_trajectories(&c, 1.0, false);
    compare_trajectories(&c, 1.0, true);
}

static void test_momentum(void **state)
{
    (void)state;
    mlp2_optim_config c = {.kind = MLP2_OPTIM_MOMENTUM, .lr = 0.0213, .momentum = 0.87};
    compare_trajectories(&c, 1.0, false);
    compare_trajectories(&c, 1.0, true);
    c.weight_decay = 0.0133;
    compare_trajectories(&c, 1.0, false);
    c.momentum = 0.0; /* momentum 0 is plain SGD */
    compare_trajectories(&c, 1.0, false);
}

static void test_adam(void **state)
{
    (void)state;
    mlp2_optim_config c = {.kind = MLP2_OPTIM_ADAM, .lr = 0.0117, .beta1 = 0.83, .beta2 = 0.991,
                           .eps = 1e-8};
    compare_trajectories(&c, 1.0, false);
    compare_trajectories(&c, 1.0, true);
    /* gradients near eps: where eps sits in the formula shows */
    c.eps = 3.7e-9;
    compare_trajectories(&c, 1e-8, false);
    c.eps = 1e-8;
    c.weight_decay = 0.0219;
    compare_trajectories(&c, 1.0, false);
    compare_trajectories(&c, 1e-3, true);
    c.beta1 = 0.0; /* no first-moment averaging: bias correction 1 */
    c.beta2 = 0.0;
    compare_trajectories(&c, 1.0, false);
}

/* Adam's first two steps by hand, one parameter (a 1-? net has more, so the
 * others get zero gradient and must not move: m = v = 0 gives 0/eps = 0).
 *   theta0 = 1, lr 0.001, beta 0.9/0.999, eps 1e-8
 *   step 1, g = 0.5:   m = 0.05, v = 0.00025, m/(1-0.9) = 0.5,
 *                      sqrt(v/(1-0.999)) = 0.5
 *                      theta = 1 - 0.001 * 0.5/(0.5 + 1e-8) = 0.99900000002 - 4e-19
 *   step 2, g = -0.25: m = 0.02, v = 0.00031225,
 *                      theta = theta1 - 0.001/0.19 * 0.02 / (sqrt(0.00031225)/sqrt(0.001999) + 1e-8)
 *                            = 0.99873366298707846162559 (40-digit decimal arithmetic) */
static void test_adam_by_hand(void **state)
{
    (void)state;
    mlp2 *net = NULL;
    mlp2_optim *opt = NULL;
    assert_int_equal(mlp2_create(&net, 1, 1, 1, 0), MLP2_OK); /* theta: W1, b1, W2, b2 */
    const double th0[4] = {1.0, -0.25, 0.75, 0.125};
    assert_int_equal(mlp2_set_params(net, th0), MLP2_OK);
    mlp2_optim_config c = mlp2_optim_defaults(MLP2_OPTIM_ADAM);
    assert_int_equal(mlp2_optim_create(&opt, net, &c), MLP2_OK);
    double th[4];
    const double g1[4] = {0.5, 0, 0, 0}, g2[4] = {-0.25, 0, 0, 0};
    assert_int_equal(mlp2_optim_step(opt, net, g1), MLP2_OK);
    assert_int_equal(mlp2_get_params(net, th), MLP2_OK);
    assert_true(fabs(th[0] - 0.99900000002) <= 2e-16);
    assert_memory_equal(th + 1, th0 + 1, 3 * sizeof(double));
    assert_int_equal(mlp2_optim_step(opt, net, g2), MLP2_OK);
    assert_int_equal(mlp2_get_params(net, th), MLP2_OK);
    assert_true(fabs(th[0] - 0.99873366298707846162559) <= 2e-16);
    assert_memory_equal(th + 1, th0 + 1, 3 * sizeof(double));
    mlp2_optim_free(opt);
    mlp2_free(net);
}

/* Numbers printed by PyTorch 1.13 (torch.optim, float64) for four parameters
 * over five steps:
 *   p = torch.tensor(TH0, dtype=torch.float64, requires_grad=True)
 *   opt = torch.optim.Adam([p], lr=0.01, betas=(0.85, 0.995), eps=1e-6, weight_decay=0.03)
 *   (and SGD(lr=0.05, momentum=0.8, weight_decay=0.01), SGD(lr=0.1, weight_decay=0.02))
 *   for g in GS: p.grad = torch.tensor(g, dtype=torch.float64); opt.step(); print(p.tolist()) */
static const double TH0[4] = {0.7316, -1.2043, 0.0581, 2.385};
static const double GS[5][4] = {{0.4127, -0.0911, 1.733, -0.6604},
                                {-0.2875, 0.1352, 0.9518, -1.2219},
                                {0.0617, 0.3901, -0.4423, 0.8735},
                                {1.1093, -0.7724, 0.2069, 0.0042},
                                {-0.5536, 0.6418, -1.9107, 0.3321}};
static const double TORCH_ADAM[5][4] = {
    {0.72160002300707, -1.1943000785978148, 0.04810000576453932, 2.394999983017775},
    {0.7200447892306869, -1.1938845035817198, 0.03871767411030749, 2.4047585169036587},
    {0.7178061663009355, -1.1998715341258746, 0.03332171367993665, 2.40668068209921},
    {0.7113781350481493, -1.1962903246311978, 0.028421584696963185, 2.407904507043797},
    {0.7089182499577671, -1.197230747699436, 0.029632051906119866, 2.4073973230755934}};
static const double TORCH_MOMENTUM[5][4] = {
    {0.7105992, -1.1991428499999999, -0.02857905000000001, 2.4168274999999997},
    {0.7078182604, -1.201177558575, -0.14549800047500003, 2.5021760862499995},
    {0.7021545995898, -1.2217097366557124, -0.21684541185476253, 2.5255288672068748},
    {0.641807593641845, -1.1989046242519545, -0.28415991825264514, 2.542738327538771},
    {0.6208890850866602, -1.2121510820168222, -0.24233444341182492, 2.538629526640519}};
static const double TORCH_SGD[5][4] = {
    {0.6888668, -1.1927813999999999, -0.11531620000000004, 2.4462699999999997},
    {0.7162390664, -1.2039158371999998, -0.21026556760000004, 2.56356746},
    {0.7086365882672, -1.2405180055255998, -0.16561503646480003, 2.4710903250799996},
    {0.5962893150906656, -1.1607969695145486, -0.18597380639187042, 2.4657281444298396},
    {0.6504567364604843, -1.2226553755755194, 0.005468141220913342, 2.42758668814098}};

static void check_torch(const mlp2_optim_config *c, const double want[5][4])
{
    mlp2 *net = NULL;
    mlp2_optim *opt = NULL;
    assert_int_equal(mlp2_create(&net, 1, 1, 1, 0), MLP2_OK);
    assert_int_equal(mlp2_set_params(net, TH0), MLP2_OK);
    assert_int_equal(mlp2_optim_create(&opt, net, c), MLP2_OK);
    for (int t = 0; t < 5; t++) {
        double th[4];
        assert_int_equal(mlp2_optim_step(opt, net, GS[t]), MLP2_OK);
        assert_int_equal(mlp2_get_params(net, th), MLP2_OK);
        const double e = tu_rel_err(th, want[t], 4);
        if (!(e <= 1e-15))
            fail_msg("kind %d step %d: relative error %.3g against torch", (int)c->kind, t + 1, e);
    }
    mlp2_optim_free(opt);
    mlp2_free(net);
}

static void test_against_torch(void **state)
{
    (void)state;
    const mlp2_optim_config adam = {.kind = MLP2_OPTIM_ADAM, .lr = 0.01, .beta1 = 0.85,
                                    .beta2 = 0.995, .eps = 1e-6, .weight_decay = 0.03};
    const mlp2_optim_config mom = {.kind = MLP2_OPTIM_MOMENTUM, .lr = 0.05, .momentum = 0.8,
                                   .weight_decay = 0.01};
    const mlp2_optim_config sgd = {.kind = MLP2_OPTIM_SGD, .lr = 0.1, .weight_decay = 0.02};
    check_torch(&adam, TORCH_ADAM);
    check_torch(&mom, TORCH_MOMENTUM);
    check_torch(&sgd, TORCH_SGD);
}

static void test_config_errors(void **state)
{
    (void)state;
    mlp2 *net = NULL;
    assert_int_equal(mlp2_create(&net, NI, NH, NO, 1), MLP2_OK);
    mlp2_optim *const sentinel = (mlp2_optim *)&net;
    mlp2_optim *opt = sentinel;
    const mlp2_optim_config ok[3] = {mlp2_optim_defaults(MLP2_OPTIM_SGD),
                                     mlp2_optim_defaults(MLP2_OPTIM_MOMENTUM),
                                     mlp2_optim_defaults(MLP2_OPTIM_ADAM)};
    assert_int_equal(mlp2_optim_create(NULL, net, &ok[0]), MLP2_EINVAL);
    assert_int_equal(mlp2_optim_create(&opt, NULL, &ok[0]), MLP2_EINVAL);
    assert_int_equal(mlp2_optim_create(&opt, net, NULL), MLP2_EINVAL);
    mlp2_optim_config c = ok[0];
    c.kind = (mlp2_optim_kind)3;
    assert_int_equal(mlp2_optim_create(&opt, net, &c), MLP2_EINVAL);
    c.kind = (mlp2_optim_kind)-1;
    assert_int_equal(mlp2_optim_create(&opt, net, &c), MLP2_EINVAL);

    const double bad_lr[] = {0.0, -0.1, NAN, INFINITY, -INFINITY};
    const double bad_wd[] = {-1e-300, -0.5, NAN, INFINITY};
    const double bad_unit[] = {-1e-12, 1.0, 1.5, NAN, INFINITY, -INFINITY}; /* momentum, betas */
    const double bad_eps[] = {0.0, -1e-8, NAN, INFINITY};
    for (int k = 0; k < 3; k++) {
        for (size_t i = 0; i < sizeof bad_lr / sizeof *bad_lr; i++) {
            c = ok[k];
            c.lr = bad_lr[i];
            assert_int_equal(mlp2_optim_create(&opt, net, &c), MLP2_EINVAL);
        }
        for (size_t i = 0; i < sizeof bad_wd / sizeof *bad_wd; i++) {
            c = ok[k];
            c.weight_decay = bad_wd[i];
            assert_int_equal(mlp2_optim_create(&opt, net, &c), MLP2_EINVAL);
        }
    }
    for (size_t i = 0; i < sizeof bad_unit / sizeof *bad_unit; i++) {
        c = ok[1];
        c.momentum = bad_unit[i];
        assert_int_equal(mlp2_optim_create(&opt, net, &c), MLP2_EINVAL);
        c = ok[2];
        c.beta1 = bad_unit[i];
        assert_int_equal(mlp2_optim_create(&opt, net, &c), MLP2_EINVAL);
        c = ok[2];
        c.beta2 = bad_unit[i];
        assert_int_equal(mlp2_optim_create(&opt, net, &c), MLP2_EINVAL);
    }
    for (size_t i = 0; i < sizeof bad_eps / sizeof *bad_eps; i++) {
        c = ok[2];
        c.eps = bad_eps[i];
        assert_int_equal(mlp2_optim_create(&opt, net, &c), MLP2_EINVAL);
    }
    assert_ptr_equal(opt, sentinel);

    /* the edges that are valid, and fields a kind does not use are ignored */
    const mlp2_optim_config edge[] = {
        {.kind = MLP2_OPTIM_SGD, .lr = 1e-300, .momentum = NAN, .beta1 = 7, .eps = -1},
        {.kind = MLP2_OPTIM_MOMENTUM, .lr = 5, .momentum = 0.0, .beta2 = NAN},
        {.kind = MLP2_OPTIM_MOMENTUM, .lr = 5, .momentum = 0.9999999999999999, .eps = NAN},
        {.kind = MLP2_OPTIM_ADAM, .lr = 1, .beta1 = 0, .beta2 = 0, .eps = 1e-300, .momentum = NAN},
        {.kind = MLP2_OPTIM_ADAM, .lr = 1, .beta1 = 0.9999999999999999, .beta2 = 0.9999999999999999,
         .eps = 1e300, .weight_decay = 1e300},
    };
    for (size_t i = 0; i < sizeof edge / sizeof *edge; i++) {
        opt = NULL;
        assert_int_equal(mlp2_optim_create(&opt, net, &edge[i]), MLP2_OK);
        assert_non_null(opt);
        assert_int_equal(mlp2_optim_steps(opt), 0);
        mlp2_optim_free(opt);
    }
    mlp2_free(net);
}

static void test_call_errors(void **state)
{
    (void)state;
    mlp2 *net = NULL, *other = NULL, *same_count = NULL;
    mlp2_optim *opt = NULL;
    assert_int_equal(mlp2_create(&net, NI, NH, NO, 1), MLP2_OK);
    assert_int_equal(mlp2_create(&other, 3, 2, 1, 1), MLP2_OK);
    /* 1-4-1 has 13 parameters too: the shape, not the count, must match */
    assert_int_equal(mlp2_create(&same_count, 1, 4, 1, 1), MLP2_OK);
    assert_int_equal(mlp2_n_params(same_count), NP);
    mlp2_optim_config c = mlp2_optim_defaults(MLP2_OPTIM_ADAM);
    assert_int_equal(mlp2_optim_create(&opt, net, &c), MLP2_OK);
    double g[NP] = {0.25}, before[NP], after[NP];
    assert_int_equal(mlp2_get_params(same_count, before), MLP2_OK);

    assert_int_equal(mlp2_optim_step(NULL, net, g), MLP2_EINVAL);
    assert_int_equal(mlp2_optim_step(opt, NULL, g), MLP2_EINVAL);
    assert_int_equal(mlp2_optim_step(opt, net, NULL), MLP2_EINVAL);
    assert_int_equal(mlp2_optim_step(opt, other, g), MLP2_EINVAL);
    assert_int_equal(mlp2_optim_step(opt, same_count, g), MLP2_EINVAL);
    assert_int_equal(mlp2_get_params(same_count, after), MLP2_OK);
    assert_memory_equal(after, before, sizeof after);
    assert_int_equal(mlp2_optim_steps(opt), 0);

    const double bad_lr[] = {0.0, -1.0, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad_lr / sizeof *bad_lr; i++)
        assert_int_equal(mlp2_optim_set_lr(opt, bad_lr[i]), MLP2_EINVAL);
    assert_int_equal(mlp2_optim_set_lr(NULL, 0.1), MLP2_EINVAL);
    assert_int_equal(mlp2_optim_set_lr(opt, 0.1), MLP2_OK);

    /* NULL is harmless everywhere it is allowed */
    assert_int_equal(mlp2_optim_steps(NULL), 0);
    mlp2_optim_reset(NULL);
    mlp2_optim_free(NULL);

    mlp2_optim_free(opt);
    mlp2_free(net);
    mlp2_free(other);
    mlp2_free(same_count);
}

/* Reset forgets everything: after it, the trajectory is a fresh optimizer's. */
static void test_reset(void **state)
{
    (void)state;
    for (int k = 0; k < 3; k++) {
        mlp2 *a = NULL, *b = NULL;
        mlp2_optim *oa = NULL, *ob = NULL;
        assert_int_equal(mlp2_create(&a, NI, NH, NO, 3), MLP2_OK);
        assert_int_equal(mlp2_clone(&b, a), MLP2_OK);
        mlp2_optim_config c = mlp2_optim_defaults((mlp2_optim_kind)k);
        assert_int_equal(mlp2_optim_create(&oa, a, &c), MLP2_OK);
        assert_int_equal(mlp2_optim_create(&ob, b, &c), MLP2_OK);
        double G[4 * NP], ta[NP], tb[NP];
        tu_rng r = tu_seed(40 + (uint64_t)k);
        tu_fill(&r, G, 4 * NP, -1.2, 0.9);
        /* a: two steps, reset; b: the same two steps by a fresh optimizer on
         * a copy of a's parameters */
        assert_int_equal(mlp2_optim_step(oa, a, G), MLP2_OK);
        assert_int_equal(mlp2_optim_step(oa, a, G + NP), MLP2_OK);
        mlp2_optim_reset(oa);
        assert_int_equal(mlp2_optim_steps(oa), 0);
        assert_int_equal(mlp2_get_params(a, ta), MLP2_OK);
        assert_int_equal(mlp2_set_params(b, ta), MLP2_OK);
        for (int t = 2; t < 4; t++) {
            assert_int_equal(mlp2_optim_step(oa, a, G + t * NP), MLP2_OK);
            assert_int_equal(mlp2_optim_step(ob, b, G + t * NP), MLP2_OK);
        }
        assert_int_equal(mlp2_get_params(a, ta), MLP2_OK);
        assert_int_equal(mlp2_get_params(b, tb), MLP2_OK);
        assert_memory_equal(ta, tb, sizeof ta);
        assert_int_equal(mlp2_optim_steps(oa), 2);
        mlp2_optim_free(oa);
        mlp2_optim_free(ob);
        mlp2_free(a);
        mlp2_free(b);
    }
}

/* A failing step leaves the model and the state as they were: after it, a
 * good step gives exactly what an optimizer that never saw the bad gradient
 * gives. */
static void failed_step_changes_nothing(const mlp2_optim_config *c, const double *th0,
                                        const double *good /* 3 x NP */, const double *bad)
{
    mlp2 *a = NULL, *b = NULL;
    mlp2_optim *oa = NULL, *ob = NULL;
    assert_int_equal(mlp2_create(&a, NI, NH, NO, 0), MLP2_OK);
    assert_int_equal(mlp2_create(&b, NI, NH, NO, 0), MLP2_OK);
    assert_int_equal(mlp2_set_params(a, th0), MLP2_OK);
    assert_int_equal(mlp2_set_params(b, th0), MLP2_OK);
    assert_int_equal(mlp2_optim_create(&oa, a, c), MLP2_OK);
    assert_int_equal(mlp2_optim_create(&ob, b, c), MLP2_OK);
    double before[NP], now[NP], other[NP];
    for (int t = 0; t < 2; t++) {
        assert_int_equal(mlp2_optim_step(oa, a, good + t * NP), MLP2_OK);
        assert_int_equal(mlp2_optim_step(ob, b, good + t * NP), MLP2_OK);
    }
    assert_int_equal(mlp2_get_params(a, before), MLP2_OK);
    assert_int_equal(mlp2_optim_step(oa, a, bad), MLP2_ENONFINITE);
    assert_int_equal(mlp2_get_params(a, now), MLP2_OK);
    assert_memory_equal(now, before, sizeof now);
    assert_int_equal(mlp2_optim_steps(oa), 2);
    assert_int_equal(mlp2_optim_step(oa, a, good + 2 * NP), MLP2_OK);
    assert_int_equal(mlp2_optim_step(ob, b, good + 2 * NP), MLP2_OK);
    assert_int_equal(mlp2_get_params(a, now), MLP2_OK);
    assert_int_equal(mlp2_get_params(b, other), MLP2_OK);
    assert_memory_equal(now, other, sizeof now);
    assert_int_equal(mlp2_optim_steps(oa), 3);
    mlp2_optim_free(oa);
    mlp2_optim_free(ob);
    mlp2_free(a);
    mlp2_free(b);
}

static void test_nonfinite(void **state)
{
    (void)state;
    double th0[NP], good[3 * NP], bad[NP];
    tu_rng r = tu_seed(77);
    tu_fill(&r, th0, NP, -1.1, 1.4);
    tu_fill(&r, good, 3 * NP, -0.8, 0.7);
    const double poison[] = {NAN, INFINITY, -INFINITY};
    for (int k = 0; k < 3; k++) {
        mlp2_optim_config c = mlp2_optim_defaults((mlp2_optim_kind)k);
        for (int wd = 0; wd < 2; wd++) {
            c.weight_decay = wd ? 0.01 : 0.0;
            for (size_t p = 0; p < 3; p++) {
                /* a non-finite gradient, in the last element so that the
                 * check must look at all of them */
                memcpy(bad, good, sizeof bad);
                bad[NP - 1] = poison[p];
                failed_step_changes_nothing(&c, th0, good, bad);
            }
        }
    }

    /* finite gradients whose update overflows */
    mlp2_optim_config c = {.kind = MLP2_OPTIM_SGD, .lr = 10};
    memcpy(bad, good, sizeof bad);
    bad[4] = 1e308; /* theta - 10 * 1e308 */
    failed_step_changes_nothing(&c, th0, good, bad);
    /* grad + wd*theta overflows: theta[0] = 1e300, wd 1e8, grad 1e308 */
    double th_big[NP];
    memcpy(th_big, th0, sizeof th_big);
    th_big[0] = 1e300;
    c = (mlp2_optim_config){.kind = MLP2_OPTIM_SGD, .lr = 1e-300, .weight_decay = 1e8};
    memcpy(bad, good, sizeof bad);
    bad[0] = 1e308;
    failed_step_changes_nothing(&c, th_big, good, bad);

    /* momentum: the velocity overflows */
    c = (mlp2_optim_config){.kind = MLP2_OPTIM_MOMENTUM, .lr = 1e-300, .momentum = 0.9};
    double big[3 * NP];
    memcpy(big, good, sizeof big);
    big[NP + 5] = 1.5e308; /* second good step: v = 1.5e308 */
    memcpy(bad, good, sizeof bad);
    bad[5] = 1.5e308; /* v = 0.9*1.5e308 + 1.5e308 = Inf */
    failed_step_changes_nothing(&c, th0, big, bad);

    /* Adam: g^2 overflows the second moment; the parameter itself would stay
     * finite (m / Inf = 0), but the state would not */
    c = mlp2_optim_defaults(MLP2_OPTIM_ADAM);
    memcpy(bad, good, sizeof bad);
    bad[7] = 1e200;
    failed_step_changes_nothing(&c, th0, good, bad);
}

/* Allocation failure: ENOMEM, *out untouched. */
static void *failing_alloc(void *ud, size_t size)
{
    (void)size;
    ++*(int *)ud;
    return NULL;
}
static void never_free(void *ud, void *p)
{
    (void)ud;
    (void)p;
    fail_msg("free of a block that was never allocated");
}

static void test_out_of_memory(void **state)
{
    (void)state;
    mlp2 *net = NULL;
    assert_int_equal(mlp2_create(&net, NI, NH, NO, 1), MLP2_OK);
    int calls = 0;
    for (int k = 0; k < 3; k++) {
        mlp2_optim_config c = mlp2_optim_defaults((mlp2_optim_kind)k);
        mlp2_optim *opt = (mlp2_optim *)&calls;
        assert_int_equal(mlp2_set_allocator(failing_alloc, never_free, &calls), MLP2_OK);
        assert_int_equal(mlp2_optim_create(&opt, net, &c), MLP2_ENOMEM);
        assert_int_equal(mlp2_set_allocator(NULL, NULL, NULL), MLP2_OK);
        assert_ptr_equal(opt, (mlp2_optim *)&calls);
    }
    assert_int_equal(calls, 3); /* one allocation per optimizer */
    mlp2_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_sgd),
        cmocka_unit_test(test_momentum),
        cmocka_unit_test(test_adam),
        cmocka_unit_test(test_adam_by_hand),
        cmocka_unit_test(test_against_torch),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_call_errors),
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_nonfinite),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests_name("optim", tests, NULL, NULL);
}
