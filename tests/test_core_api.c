/* test_core_api.c - every status code of the core provoked on purpose, the
 * model shown unchanged after each failure; initialisation and determinism. */
#include <limits.h>

#include <mlp2.h>

#include "testutil.h"

#define NI 3
#define NH 4
#define NO 2
#define M 5
#define NP (NI * NH + NH + NH * NO + NO)

typedef struct {
    mlp2 *net;
    mlp2_workspace *ws;
    double X[M * NI], Y[M * NO], out[M * NO], grad[NP], before[NP];
} fix;

static int setup(void **state)
{
    fix *f = calloc(1, sizeof *f);
    assert_int_equal(mlp2_create(&f->net, NI, NH, NO, 99), MLP2_OK);
    assert_int_equal(mlp2_workspace_create(&f->ws, f->net, M), MLP2_OK);
    tu_rng r = tu_seed(1);
    tu_fill(&r, f->X, M * NI, -1.5, 1.5);
    tu_fill(&r, f->Y, M * NO, -1.5, 1.5);
    assert_int_equal(mlp2_get_params(f->net, f->before), MLP2_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fix *f = *state;
    mlp2_workspace_free(f->ws);
    mlp2_free(f->net);
    free(f);
    return 0;
}

static void assert_unchanged(const fix *f)
{
    double now[NP];
    assert_int_equal(mlp2_get_params(f->net, now), MLP2_OK);
    assert_memory_equal(now, f->before, sizeof now);
}

static void test_strerror(void **state)
{
    (void)state;
    const mlp2_status all[] = {MLP2_OK, MLP2_EINVAL, MLP2_ENOMEM, MLP2_ERANGE,
                               MLP2_ENONFINITE, MLP2_EIO, MLP2_EFORMAT, MLP2_ENOENT};
    const size_t n = sizeof all / sizeof all[0];
    const char *unknown = mlp2_strerror((mlp2_status)1000);
    assert_non_null(unknown);
    assert_non_null(mlp2_strerror((mlp2_status)-1));
    for (size_t i = 0; i < n; i++) {
        const char *s = mlp2_strerror(all[i]);
        assert_non_null(s);
        assert_true(strlen(s) > 0);
        assert_string_not_equal(s, unknown);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(s, mlp2_strerror(all[j]));
    }
    assert_string_equal(mlp2_version(), MLP2_VERSION_STRING);
    assert_int_equal(mlp2_version_number(), MLP2_VERSION_NUMBER);
}

static void test_create_errors(void **state)
{
    (void)state;
    mlp2 *net = (mlp2 *)&net; /* a sentinel that must survive failures */
    mlp2 *const sentinel = net;
    assert_int_equal(mlp2_create(NULL, 2, 3, 1, 0), MLP2_EINVAL);
    assert_int_equal(mlp2_create(&net, 0, 3, 1, 0), MLP2_EINVAL);
    assert_int_equal(mlp2_create(&net, 2, 0, 1, 0), MLP2_EINVAL);
    assert_int_equal(mlp2_create(&net, 2, 3, 0, 0), MLP2_EINVAL);
    /* a dimension beyond the BLAS int range */
    assert_int_equal(mlp2_create(&net, (size_t)INT_MAX + 1, 3, 1, 0), MLP2_ERANGE);
    assert_int_equal(mlp2_create(&net, 2, SIZE_MAX, 1, 0), MLP2_ERANGE);
    /* each size fits in int but the parameter count overflows size_t bytes */
    assert_int_equal(mlp2_create(&net, INT_MAX, INT_MAX, INT_MAX, 0), MLP2_ERANGE);
    assert_ptr_equal(net, sentinel);
    /* NULL is fine for the frees and the size queries */
    mlp2_free(NULL);
    mlp2_workspace_free(NULL);
    assert_int_equal(mlp2_n_in(NULL), 0);
    assert_int_equal(mlp2_n_params(NULL), 0);
    assert_int_equal(mlp2_workspace_max_batch(NULL), 0);
}

static void test_sizes(void **state)
{
    fix *f = *state;
    assert_int_equal(mlp2_n_in(f->net), NI);
    assert_int_equal(mlp2_n_hidden(f->net), NH);
    assert_int_equal(mlp2_n_out(f->net), NO);
    assert_int_equal(mlp2_n_params(f->net), NP);
}

static void test_workspace_errors(void **state)
{
    fix *f = *state;
    mlp2_workspace *ws = NULL;
    assert_int_equal(mlp2_workspace_create(NULL, f->net, 4), MLP2_EINVAL);
    assert_int_equal(mlp2_workspace_create(&ws, NULL, 4), MLP2_EINVAL);
    assert_int_equal(mlp2_workspace_create(&ws, f->net, 0), MLP2_EINVAL);
    assert_int_equal(mlp2_workspace_create(&ws, f->net, (size_t)INT_MAX + 1), MLP2_ERANGE);
    assert_null(ws);

    /* a workspace of another shape is refused by every batch function */
    mlp2 *other;
    mlp2_workspace *wo;
    assert_int_equal(mlp2_create(&other, NI, NH + 1, NO, 1), MLP2_OK);
    assert_int_equal(mlp2_workspace_create(&wo, other, M), MLP2_OK);
    memset(f->out, 0, sizeof f->out);
    assert_int_equal(mlp2_predict(f->net, wo, M, f->X, f->out), MLP2_EINVAL);
    double loss = -7.0;
    assert_int_equal(mlp2_loss_grad(f->net, wo, M, f->X, f->Y, &loss, f->grad), MLP2_EINVAL);
    assert_int_equal(mlp2_sgd_step(f->net, wo, M, f->X, f->Y, 0.1, &loss), MLP2_EINVAL);
    assert_true(loss == -7.0);
    for (size_t i = 0; i < M * NO; i++)
        assert_true(f->out[i] == 0.0);
    assert_unchanged(f);
    /* the same shape from another model is fine */
    mlp2 *twin;
    mlp2_workspace *wt;
    assert_int_equal(mlp2_create(&twin, NI, NH, NO, 5), MLP2_OK);
    assert_int_equal(mlp2_workspace_create(&wt, twin, 2), MLP2_OK);
    assert_int_equal(mlp2_predict(f->net, wt, M, f->X, f->out), MLP2_OK);
    mlp2_workspace_free(wt);
    mlp2_free(twin);
    mlp2_workspace_free(wo);
    mlp2_free(other);
}

static void test_batch_argument_errors(void **state)
{
    fix *f = *state;
    double loss = -7.0;
    for (int use_ws = 0; use_ws < 2; use_ws++) {
        mlp2_workspace *ws = use_ws ? f->ws : NULL;
        assert_int_equal(mlp2_predict(NULL, ws, M, f->X, f->out), MLP2_EINVAL);
        assert_int_equal(mlp2_predict(f->net, ws, M, NULL, f->out), MLP2_EINVAL);
        assert_int_equal(mlp2_predict(f->net, ws, M, f->X, NULL), MLP2_EINVAL);
        assert_int_equal(mlp2_predict(f->net, ws, 0, f->X, f->out), MLP2_EINVAL);
        assert_int_equal(mlp2_loss_grad(NULL, ws, M, f->X, f->Y, &loss, f->grad), MLP2_EINVAL);
        assert_int_equal(mlp2_loss_grad(f->net, ws, M, NULL, f->Y, &loss, f->grad), MLP2_EINVAL);
        assert_int_equal(mlp2_loss_grad(f->net, ws, M, f->X, NULL, &loss, f->grad), MLP2_EINVAL);
        assert_int_equal(mlp2_loss_grad(f->net, ws, M, f->X, f->Y, NULL, NULL), MLP2_EINVAL);
        assert_int_equal(mlp2_loss_grad(f->net, ws, 0, f->X, f->Y, &loss, f->grad), MLP2_EINVAL);
        assert_int_equal(mlp2_sgd_step(NULL, ws, M, f->X, f->Y, 0.1, &loss), MLP2_EINVAL);
        assert_int_equal(mlp2_sgd_step(f->net, ws, M, NULL, f->Y, 0.1, &loss), MLP2_EINVAL);
        assert_int_equal(mlp2_sgd_step(f->net, ws, M, f->X, NULL, 0.1, &loss), MLP2_EINVAL);
        assert_int_equal(mlp2_sgd_step(f->net, ws, 0, f->X, f->Y, 0.1, &loss), MLP2_EINVAL);
        assert_int_equal(mlp2_sgd_step(f->net, ws, M, f->X, f->Y, 0.0, &loss), MLP2_EINVAL);
        assert_int_equal(mlp2_sgd_step(f->net, ws, M, f->X, f->Y, -0.5, &loss), MLP2_EINVAL);
        assert_int_equal(mlp2_sgd_step(f->net, ws, M, f->X, f->Y, NAN, &loss), MLP2_ENONFINITE);
        assert_int_equal(mlp2_sgd_step(f->net, ws, M, f->X, f->Y, INFINITY, &loss), MLP2_ENONFINITE);
        /* m * n_in overflows size_t: refused before X is read */
        assert_int_equal(mlp2_predict(f->net, ws, SIZE_MAX / 2, f->X, f->out), MLP2_ERANGE);
        assert_int_equal(mlp2_loss_grad(f->net, ws, SIZE_MAX / 2, f->X, f->Y, &loss, NULL), MLP2_ERANGE);
        assert_true(loss == -7.0);
        assert_unchanged(f);
    }
    assert_int_equal(mlp2_get_params(NULL, f->grad), MLP2_EINVAL);
    assert_int_equal(mlp2_get_params(f->net, NULL), MLP2_EINVAL);
    assert_int_equal(mlp2_set_params(NULL, f->grad), MLP2_EINVAL);
    assert_int_equal(mlp2_set_params(f->net, NULL), MLP2_EINVAL);
    assert_int_equal(mlp2_clone(NULL, f->net), MLP2_EINVAL);
    mlp2 *c = NULL;
    assert_int_equal(mlp2_clone(&c, NULL), MLP2_EINVAL);
    assert_null(c);
}

/* NaN and +-Inf in each position of X, Y and theta */
static void test_nonfinite_inputs(void **state)
{
    fix *f = *state;
    const double bad[] = {NAN, INFINITY, -INFINITY};
    double loss = -7.0;
    for (size_t b = 0; b < 3; b++) {
        for (size_t i = 0; i < M * NI; i++) {
            double X[M * NI];
            memcpy(X, f->X, sizeof X);
            X[i] = bad[b];
            memset(f->out, 0, sizeof f->out);
            assert_int_equal(mlp2_predict(f->net, f->ws, M, X, f->out), MLP2_ENONFINITE);
            for (size_t k = 0; k < M * NO; k++)
                assert_true(f->out[k] == 0.0); /* nothing written */
            assert_int_equal(mlp2_loss_grad(f->net, f->ws, M, X, f->Y, &loss, f->grad), MLP2_ENONFINITE);
            assert_int_equal(mlp2_sgd_step(f->net, f->ws, M, X, f->Y, 0.1, &loss), MLP2_ENONFINITE);
        }
        for (size_t i = 0; i < M * NO; i++) {
            double Y[M * NO];
            memcpy(Y, f->Y, sizeof Y);
            Y[i] = bad[b];
            assert_int_equal(mlp2_loss_grad(f->net, f->ws, M, f->X, Y, &loss, f->grad), MLP2_ENONFINITE);
            assert_int_equal(mlp2_sgd_step(f->net, NULL, M, f->X, Y, 0.1, &loss), MLP2_ENONFINITE);
        }
        for (size_t i = 0; i < NP; i++) {
            double th[NP];
            memcpy(th, f->before, sizeof th);
            th[i] = bad[b];
            assert_int_equal(mlp2_set_params(f->net, th), MLP2_ENONFINITE);
        }
        assert_true(loss == -7.0);
        assert_unchanged(f);
    }
}

/* Finite inputs whose loss, gradient or update overflow. */
static void test_nonfinite_results(void **state)
{
    fix *f = *state;
    double th[NP], loss;
    /* W2 = b2 = 1.7e308 (finite): A2 = A1 W2 + b2 > DBL_MAX, since A1 > 0 */
    memcpy(th, f->before, sizeof th);
    for (size_t i = NI * NH + NH; i < NP; i++)
        th[i] = 1.7e308;
    assert_int_equal(mlp2_set_params(f->net, th), MLP2_OK);
    assert_int_equal(mlp2_predict(f->net, f->ws, M, f->X, f->out), MLP2_ENONFINITE);
    assert_int_equal(mlp2_loss_grad(f->net, f->ws, M, f->X, f->Y, &loss, f->grad), MLP2_ENONFINITE);
    assert_int_equal(mlp2_sgd_step(f->net, f->ws, M, f->X, f->Y, 0.1, &loss), MLP2_ENONFINITE);
    double now[NP];
    assert_int_equal(mlp2_get_params(f->net, now), MLP2_OK);
    assert_memory_equal(now, th, sizeof th);

    /* finite loss and gradient, but theta - lr*grad overflows: targets near
     * 1000 make |grad b2| about 1000, and 1e307 * 1000 > DBL_MAX */
    double Ybig[M * NO];
    for (size_t i = 0; i < M * NO; i++)
        Ybig[i] = 1000.0 + f->Y[i];
    assert_int_equal(mlp2_set_params(f->net, f->before), MLP2_OK);
    assert_int_equal(mlp2_loss_grad(f->net, f->ws, M, f->X, Ybig, &loss, f->grad), MLP2_OK);
    assert_true(fabs(f->grad[NP - 1]) > 100.0);
    assert_int_equal(mlp2_sgd_step(f->net, f->ws, M, f->X, Ybig, 1e307, &loss), MLP2_ENONFINITE);
    assert_unchanged(f);
}

/* W ~ U(-a, a) with a = sqrt(6/(fan_in+fan_out)), biases 0, from the
 * library's xoshiro256** seeded by splitmix64: reproduced here from the
 * published algorithms, so that the same seed gives the same bits anywhere. */
static uint64_t sm64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t xoshiro(uint64_t s[4])
{
    const uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0], s[3] ^= s[1], s[1] ^= s[2], s[0] ^= s[3], s[2] ^= t, s[3] = rotl(s[3], 45);
    return result;
}

static void test_initialisation(void **state)
{
    (void)state;
    uint64_t x = 0;
    assert_true(sm64(&x) == 0xe220a8397b1dcdafu); /* splitmix64's published first output for seed 0 */

    const size_t ni = 30, nh = 50, no = 7;
    const uint64_t seed = 0x5eed1234abcdu;
    mlp2 *net;
    assert_int_equal(mlp2_create(&net, ni, nh, no, seed), MLP2_OK);
    const size_t np = mlp2_n_params(net);
    double *th = tu_alloc(np), *want = tu_alloc(np);
    assert_int_equal(mlp2_get_params(net, th), MLP2_OK);

    uint64_t s[4], sd = seed;
    for (int i = 0; i < 4; i++)
        s[i] = sm64(&sd);
    const double a1 = sqrt(6.0 / (double)(ni + nh)), a2 = sqrt(6.0 / (double)(nh + no));
    size_t k = 0;
    for (size_t i = 0; i < ni * nh; i++)
        want[k++] = a1 * (2.0 * ((double)(xoshiro(s) >> 11) * 0x1.0p-53) - 1.0);
    for (size_t i = 0; i < nh; i++)
        want[k++] = 0.0;
    for (size_t i = 0; i < nh * no; i++)
        want[k++] = a2 * (2.0 * ((double)(xoshiro(s) >> 11) * 0x1.0p-53) - 1.0);
    for (size_t i = 0; i < no; i++)
        want[k++] = 0.0;
    assert_int_equal(k, np);
    assert_memory_equal(th, want, np * sizeof *th);

    /* the distribution: within (-a, a), mean ~ 0, variance ~ a^2/3 */
    double sum = 0.0, sq = 0.0;
    for (size_t i = 0; i < ni * nh; i++) {
        assert_true(fabs(th[i]) < a1);
        sum += th[i];
        sq += th[i] * th[i];
    }
    const double n = (double)(ni * nh), mean = sum / n, var = sq / n - mean * mean;
    assert_true(fabs(mean) < 4.0 * a1 / sqrt(3.0 * n));
    assert_true(fabs(var / (a1 * a1 / 3.0) - 1.0) < 0.1);
    mlp2_free(net);
    free(th), free(want);
}

static void test_determinism(void **state)
{
    (void)state;
    const size_t ni = 4, nh = 6, no = 2, m = 9;
    double X[9 * 4], Y[9 * 2];
    tu_rng r = tu_seed(77);
    tu_fill(&r, X, m * ni, -1.0, 1.0);
    tu_fill(&r, Y, m * no, -1.0, 1.0);
    double runs[3][4 * 6 + 6 + 6 * 2 + 2];
    const uint64_t seeds[3] = {2024, 2024, 2025};
    for (int run = 0; run < 3; run++) {
        mlp2 *net;
        mlp2_workspace *ws;
        assert_int_equal(mlp2_create(&net, ni, nh, no, seeds[run]), MLP2_OK);
        assert_int_equal(mlp2_workspace_create(&ws, net, 4), MLP2_OK);
        for (int step = 0; step < 50; step++)
            assert_int_equal(mlp2_sgd_step(net, ws, m, X, Y, 0.2, NULL), MLP2_OK);
        assert_int_equal(mlp2_get_params(net, runs[run]), MLP2_OK);
        mlp2_workspace_free(ws);
        mlp2_free(net);
    }
    assert_memory_equal(runs[0], runs[1], sizeof runs[0]);
    assert_memory_not_equal(runs[0], runs[2], sizeof runs[0]);
}

static void test_clone_is_deep(void **state)
{
    fix *f = *state;
    mlp2 *c;
    assert_int_equal(mlp2_section_set(f->net, "note", "abc", 3), MLP2_OK);
    assert_int_equal(mlp2_clone(&c, f->net), MLP2_OK);
    double th[NP];
    assert_int_equal(mlp2_get_params(c, th), MLP2_OK);
    assert_memory_equal(th, f->before, sizeof th);
    assert_int_equal(mlp2_sgd_step(c, NULL, M, f->X, f->Y, 0.5, NULL), MLP2_OK);
    assert_unchanged(f); /* stepping the clone leaves the original */
    const void *d;
    size_t len;
    assert_int_equal(mlp2_section_get(c, "note", &d, &len), MLP2_OK);
    assert_int_equal(len, 3);
    assert_memory_equal(d, "abc", 3);
    mlp2_free(c);
}

static void test_sections(void **state)
{
    fix *f = *state;
    const void *d;
    size_t len;
    char longname[300];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    assert_int_equal(mlp2_section_set(f->net, "", "a", 1), MLP2_EINVAL);
    assert_int_equal(mlp2_section_set(f->net, longname, "a", 1), MLP2_EINVAL);
    assert_int_equal(mlp2_section_set(f->net, "a", NULL, 1), MLP2_EINVAL);
    assert_int_equal(mlp2_section_set(NULL, "a", "a", 1), MLP2_EINVAL);
    assert_int_equal(mlp2_section_get(f->net, "a", &d, &len), MLP2_ENOENT);
    assert_int_equal(mlp2_section_set(f->net, "a", "\0\1\2", 3), MLP2_OK);
    assert_int_equal(mlp2_section_set(f->net, "b", NULL, 0), MLP2_OK);
    assert_int_equal(mlp2_section_set(f->net, "a", "xy", 2), MLP2_OK); /* replace */
    assert_int_equal(mlp2_section_count(f->net), 2);
    assert_string_equal(mlp2_section_name(f->net, 0), "a");
    assert_string_equal(mlp2_section_name(f->net, 1), "b");
    assert_null(mlp2_section_name(f->net, 2));
    assert_int_equal(mlp2_section_get(f->net, "a", &d, &len), MLP2_OK);
    assert_int_equal(len, 2);
    assert_memory_equal(d, "xy", 2);
    assert_int_equal(mlp2_section_get(f->net, "b", &d, &len), MLP2_OK);
    assert_int_equal(len, 0);
    assert_int_equal(mlp2_section_remove(f->net, "a"), MLP2_OK);
    assert_int_equal(mlp2_section_remove(f->net, "a"), MLP2_ENOENT);
    assert_int_equal(mlp2_section_count(f->net), 1);
    assert_string_equal(mlp2_section_name(f->net, 0), "b");
    assert_unchanged(f);
}

/* The finiteness check and the write compute theta - lr*g the same way: at
 * the overflow edge a fused multiply-add (as in a BLAS daxpy) rounds
 * theta - lr*g to -Inf where the two-rounding check sees -DBL_MAX.  The
 * step must either succeed with exactly the checked value or fail and
 * leave the model as it was; never succeed with -Inf. */
static void test_update_check_matches_write(void **state)
{
    (void)state;
    mlp2 *net;
    mlp2_optim *opt;
    assert_int_equal(mlp2_create(&net, 1, 1, 1, 1), MLP2_OK);
    const mlp2_optim_config cfg = {.kind = MLP2_OPTIM_SGD, .lr = 0x1.9b624ff136c4ap+0};
    assert_int_equal(mlp2_optim_create(&opt, net, &cfg), MLP2_OK);
    double th[4] = {-0x1.244010a848802p+1020, 0.0, 0.5, 0.0}, g[4] = {0x1.27e115667a06bp+1023, 0, 0, 0};
    assert_int_equal(mlp2_set_params(net, th), MLP2_OK);
    const double prod = cfg.lr * g[0]; /* rounded product, then rounded difference */
    const double want = th[0] - prod;
    assert_true(isfinite(want));
    assert_int_equal(mlp2_optim_step(opt, net, g), MLP2_OK);
    double now[4];
    assert_int_equal(mlp2_get_params(net, now), MLP2_OK);
    assert_true(now[0] == want);
    mlp2_optim_free(opt);
    mlp2_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_create_errors),
        cmocka_unit_test_setup_teardown(test_sizes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_workspace_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_argument_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nonfinite_inputs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nonfinite_results, setup, teardown),
        cmocka_unit_test(test_initialisation),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_update_check_matches_write),
        cmocka_unit_test_setup_teardown(test_clone_is_deep, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sections, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
