/* test_class_api.c - the public side of the kinds of network: mlp2_spec,
 * creation and initialisation per kind, the kinds through clone, save and
 * load, the target rules of each head (MLP2_EINVAL with nothing changed),
 * the label helpers, and the version-1 model file kept in tests/data (it
 * loads as sigmoid + linear and predicts as it did when it was saved).
 * Black box: the public header only. */
#include <mlp2.h>

#include <float.h>
#include <stdbool.h>
#include <unistd.h>

#include "testutil.h"

static const mlp2_hidden hiddens[3] = {MLP2_HIDDEN_SIGMOID, MLP2_HIDDEN_TANH, MLP2_HIDDEN_RELU};
static const mlp2_head heads[3] = {MLP2_HEAD_LINEAR, MLP2_HEAD_SOFTMAX, MLP2_HEAD_SIGMOID};

static mlp2 *make(mlp2_spec spec, uint64_t seed)
{
    mlp2 *net = NULL;
    assert_int_equal(mlp2_create_spec(&net, &spec, seed), MLP2_OK);
    return net;
}

static double *params(const mlp2 *net)
{
    double *th = tu_alloc(mlp2_n_params(net));
    assert_int_equal(mlp2_get_params(net, th), MLP2_OK);
    return th;
}

/* ---- creation and initialisation ---------------------------------------- */

static void test_create_default_is_seed(void **state)
{
    (void)state;
    mlp2 *a = NULL;
    assert_int_equal(mlp2_create(&a, 5, 7, 3, 99), MLP2_OK);
    mlp2 *b = make((mlp2_spec){5, 7, 3, MLP2_HIDDEN_SIGMOID, MLP2_HEAD_LINEAR}, 99);
    double *ta = params(a), *tb = params(b);
    assert_memory_equal(ta, tb, mlp2_n_params(a) * sizeof(double));
    mlp2_spec s;
    memset(&s, 0x5a, sizeof s);
    assert_int_equal(mlp2_get_spec(a, &s), MLP2_OK);
    assert_int_equal(s.n_in, 5);
    assert_int_equal(s.n_hidden, 7);
    assert_int_equal(s.n_out, 3);
    assert_int_equal(s.hidden, MLP2_HIDDEN_SIGMOID);
    assert_int_equal(s.head, MLP2_HEAD_LINEAR);
    free(ta), free(tb);
    mlp2_free(a);
    mlp2_free(b);
}

/* W1 ~ U(+-sqrt(6/(n_in+n_hidden))) (sigmoid, tanh) or U(+-sqrt(6/n_in))
 * (ReLU); W2 ~ U(+-sqrt(6/(n_hidden+n_out))); biases 0.  The same uniforms
 * are drawn for every kind, so ReLU's W1 is sigmoid's scaled by the ratio
 * of the bounds, and W2 is the same for every kind. */
static void test_init_per_kind(void **state)
{
    (void)state;
    const size_t ni = 40, nh = 30, no = 4, np = ni * nh + nh + nh * no + no;
    const double glorot1 = sqrt(6.0 / (ni + nh)), he1 = sqrt(6.0 / ni), glorot2 = sqrt(6.0 / (nh + no));
    mlp2 *ref = make((mlp2_spec){ni, nh, no, MLP2_HIDDEN_SIGMOID, MLP2_HEAD_LINEAR}, 7);
    double *t0 = params(ref);
    for (size_t h = 0; h < 3; h++)
        for (size_t o = 0; o < 3; o++) {
            mlp2 *net = make((mlp2_spec){ni, nh, no, hiddens[h], heads[o]}, 7);
            double *t = params(net);
            const double a1 = hiddens[h] == MLP2_HIDDEN_RELU ? he1 : glorot1;
            double max1 = 0.0, max2 = 0.0;
            for (size_t i = 0; i < ni * nh; i++) {
                max1 = fmax(max1, fabs(t[i]));
                assert_true(fabs(t[i] - t0[i] * (a1 / glorot1)) <= 1e-15);
            }
            for (size_t i = ni * nh; i < ni * nh + nh; i++)
                assert_true(t[i] == 0.0); /* b1 */
            for (size_t i = ni * nh + nh; i < np - no; i++) {
                max2 = fmax(max2, fabs(t[i]));
                assert_true(t[i] == t0[i]); /* W2: Glorot for every head */
            }
            for (size_t i = np - no; i < np; i++)
                assert_true(t[i] == 0.0); /* b2 */
            /* 1200 draws fill the interval: the bound is the documented one */
            assert_true(max1 <= a1 && max1 > 0.99 * a1);
            assert_true(max2 <= glorot2 && max2 > 0.97 * glorot2);
            free(t);
            mlp2_free(net);
        }
    free(t0);
    mlp2_free(ref);
}

static void test_bad_spec(void **state)
{
    (void)state;
    const mlp2_spec bad[] = {
        {3, 4, 2, (mlp2_hidden)3, MLP2_HEAD_LINEAR},
        {3, 4, 2, (mlp2_hidden)-1, MLP2_HEAD_LINEAR},
        {3, 4, 2, (mlp2_hidden)1000, MLP2_HEAD_SOFTMAX},
        {3, 4, 2, MLP2_HIDDEN_TANH, (mlp2_head)3},
        {3, 4, 2, MLP2_HIDDEN_RELU, (mlp2_head)-1},
        {3, 4, 1, MLP2_HIDDEN_SIGMOID, MLP2_HEAD_SOFTMAX}, /* softmax over one output */
        {3, 4, 1, MLP2_HIDDEN_RELU, MLP2_HEAD_SOFTMAX},
        {0, 4, 2, MLP2_HIDDEN_RELU, MLP2_HEAD_SOFTMAX},
        {3, 0, 2, MLP2_HIDDEN_TANH, MLP2_HEAD_SIGMOID},
        {3, 4, 0, MLP2_HIDDEN_TANH, MLP2_HEAD_SIGMOID},
    };
    static char sentinel_obj;
    mlp2 *const sentinel = (mlp2 *)(void *)&sentinel_obj;
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        mlp2 *net = sentinel;
        if (mlp2_create_spec(&net, &bad[k], 1) != MLP2_EINVAL || net != sentinel)
            fail_msg("spec %zu accepted", k);
    }
    mlp2 *net = sentinel;
    assert_int_equal(mlp2_create_spec(&net, NULL, 1), MLP2_EINVAL);
    const mlp2_spec ok = {3, 4, 1, MLP2_HIDDEN_RELU, MLP2_HEAD_SIGMOID}; /* one sigmoid output is fine */
    assert_int_equal(mlp2_create_spec(NULL, &ok, 1), MLP2_EINVAL);
    assert_int_equal(mlp2_create_spec(&net, &ok, 1), MLP2_OK);
    mlp2_spec s;
    assert_int_equal(mlp2_get_spec(NULL, &s), MLP2_EINVAL);
    assert_int_equal(mlp2_get_spec(net, NULL), MLP2_EINVAL);
    mlp2_free(net);
}

/* clone, save/load and load_buffer keep the kinds and the outputs */
static void test_kinds_survive_copies(void **state)
{
    (void)state;
    char dir[] = "/tmp/mlp2-class-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof path, "%s/m.mlp2", dir);
    double X[4 * 3], P0[4 * 2], P1[4 * 2];
    tu_rng r = tu_seed(5);
    tu_fill(&r, X, 12, -1.5, 1.5);
    for (size_t h = 0; h < 3; h++)
        for (size_t o = 0; o < 3; o++) {
            const mlp2_spec spec = {3, 5, 2, hiddens[h], heads[o]};
            mlp2 *net = make(spec, 11 + h), *c = NULL, *l = NULL;
            assert_int_equal(mlp2_predict(net, NULL, 4, X, P0), MLP2_OK);
            assert_int_equal(mlp2_clone(&c, net), MLP2_OK);
            assert_int_equal(mlp2_save(net, path), MLP2_OK);
            assert_int_equal(mlp2_load(&l, path), MLP2_OK);
            const mlp2 *copies[2] = {c, l};
            for (int k = 0; k < 2; k++) {
                mlp2_spec s;
                assert_int_equal(mlp2_get_spec(copies[k], &s), MLP2_OK);
                assert_true(s.hidden == spec.hidden && s.head == spec.head && s.n_out == 2);
                assert_int_equal(mlp2_predict(copies[k], NULL, 4, X, P1), MLP2_OK);
                assert_memory_equal(P0, P1, sizeof P0);
            }
            mlp2_free(net);
            mlp2_free(c);
            mlp2_free(l);
        }
    unlink(path);
    rmdir(dir);
}

/* mlp2_predict_portable runs every kind (its per-row order, the same
 * kernels), agreeing with mlp2_predict up to rounding; mlp2_export_c
 * refuses the kinds it cannot write yet, writing nothing */
static void test_portable_and_export(void **state)
{
    (void)state;
    double X[7 * 3], P0[7 * 2], P1[7 * 2];
    tu_rng r = tu_seed(8);
    tu_fill(&r, X, 21, -2.0, 2.0);
    for (size_t h = 0; h < 3; h++)
        for (size_t o = 0; o < 3; o++) {
            mlp2 *net = make((mlp2_spec){3, 6, 2, hiddens[h], heads[o]}, 21 + h);
            double *th = params(net);
            tu_fill(&r, th, mlp2_n_params(net), -1.5, 1.5);
            assert_int_equal(mlp2_set_params(net, th), MLP2_OK);
            assert_int_equal(mlp2_predict(net, NULL, 7, X, P0), MLP2_OK);
            assert_int_equal(mlp2_predict_portable(net, NULL, 7, X, P1), MLP2_OK);
            tu_assert_close(P1, P0, 14, 1e-13, 1e-15);
            /* every kind exports (tests/export checks the code itself):
             * here only that a too-small buffer is ERANGE with the length
             * the source needs */
            const mlp2_export_options eo = {.name = "net"};
            char buf[16] = "untouched";
            size_t len = 0;
            assert_int_equal(mlp2_export_c_buffer(net, &eo, MLP2_EXPORT_SOURCE, buf, sizeof buf, &len), MLP2_ERANGE);
            assert_true(len > sizeof buf);
            free(th);
            mlp2_free(net);
        }
}

/* ---- targets ------------------------------------------------------------ */

#define TM 3
#define TN 3

typedef struct {
    mlp2_head head;
    double Y[TM * TN];
    mlp2_status want;
} target_case;

static const target_case target_cases[] = {
    /* softmax: probability rows */
    {MLP2_HEAD_SOFTMAX, {1, 0, 0, 0, 1, 0, 0.2, 0.3, 0.5}, MLP2_OK},
    {MLP2_HEAD_SOFTMAX, {1, 0, 0, 0, 1, 0, 0.2, 0.3, 0.5 + 5e-10}, MLP2_OK},  /* within 1e-9 */
    {MLP2_HEAD_SOFTMAX, {1, 0, 0, 0, 1, 0, 0.2, 0.3, 0.4}, MLP2_EINVAL},      /* sums to 0.9 */
    {MLP2_HEAD_SOFTMAX, {1, 0, 0, 0, 1, 0, 0.2, 0.3, 0.5 + 2e-9}, MLP2_EINVAL}, /* 2e-9 off */
    {MLP2_HEAD_SOFTMAX, {1, 0, 0, 0, 0, 0, 0.2, 0.3, 0.5}, MLP2_EINVAL},      /* a zero row */
    {MLP2_HEAD_SOFTMAX, {1.5, -0.5, 0, 0, 1, 0, 0.2, 0.3, 0.5}, MLP2_EINVAL}, /* negative, sums to 1 */
    {MLP2_HEAD_SOFTMAX, {1, 0, 0, 0, 1, 0, -1e-300, 0.5, 0.5}, MLP2_EINVAL},  /* tiny negative */
    /* sigmoid: entries in [0, 1] */
    {MLP2_HEAD_SIGMOID, {1, 0, 1, 0, 0, 0, 0.5, 1, 0.25}, MLP2_OK},
    {MLP2_HEAD_SIGMOID, {1, 0, 1, 0, 0, 0, 0.5, 1.0000001, 0.25}, MLP2_EINVAL},
    {MLP2_HEAD_SIGMOID, {1, 0, 1, -0.01, 0, 0, 0.5, 1, 0.25}, MLP2_EINVAL},
    {MLP2_HEAD_SIGMOID, {1, 0, 1, 0, 0, 0, 0.5, 1, 2.0}, MLP2_EINVAL},
    /* linear: anything finite */
    {MLP2_HEAD_LINEAR, {1, -7, 1e3, 0, 0, 0, 0.5, 1, 2.0}, MLP2_OK},
};

/* mlp2_loss_grad, mlp2_sgd_step and mlp2_train (Y and Yv) on each case:
 * the status wanted, and on failure the model and outputs as they were */
static void target_one(const target_case *tc, mlp2_hidden hidden)
{
    enum { ni = 2, nh = 3, np = ni * nh + nh + nh * TN + TN };
    mlp2 *net = make((mlp2_spec){ni, nh, TN, hidden, tc->head}, 3);
    double X[TM * 2] = {0.1, 0.2, -0.3, 0.4, 0.5, -0.6}, good[TM * TN];
    double *t0 = params(net), g[np], loss = -1.0;
    for (size_t i = 0; i < TM * TN; i++)
        good[i] = i % TN == 0; /* one-hot: valid for every head */
    for (size_t i = 0; i < np; i++)
        g[i] = 42.0;
    const bool fail = tc->want != MLP2_OK;
    assert_int_equal(mlp2_loss_grad(net, NULL, TM, X, tc->Y, &loss, g), tc->want);
    if (fail) {
        assert_true(loss == -1.0);
        for (size_t i = 0; i < np; i++)
            assert_true(g[i] == 42.0);
    }
    assert_int_equal(mlp2_sgd_step(net, NULL, TM, X, tc->Y, 0.1, NULL), tc->want);
    mlp2_train_config cfg = mlp2_train_defaults();
    cfg.epochs = 2;
    mlp2_train_report rep;
    memset(&rep, 0x77, sizeof rep);
    const unsigned char r0 = ((unsigned char *)&rep)[0];
    assert_int_equal(mlp2_train(net, &cfg, TM, X, tc->Y, 0, NULL, NULL, &rep), tc->want);
    assert_int_equal(mlp2_train(net, &cfg, TM, X, good, TM, X, tc->Y, &rep), tc->want);
    if (fail) {
        double *t1 = params(net);
        assert_memory_equal(t0, t1, np * sizeof(double)); /* nothing changed */
        assert_int_equal(((unsigned char *)&rep)[0], r0);  /* report untouched */
        free(t1);
    }
    free(t0);
    mlp2_free(net);
}

static void test_targets(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof target_cases / sizeof target_cases[0]; k++)
        for (size_t h = 0; h < 3; h++)
            target_one(&target_cases[k], hiddens[h]);
}

/* ---- label helpers ------------------------------------------------------ */

static void test_onehot(void **state)
{
    (void)state;
    const size_t labels[4] = {2, 0, 1, 2};
    double Y[12], want[12] = {0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1};
    assert_int_equal(mlp2_onehot(4, 3, labels, Y), MLP2_OK);
    assert_memory_equal(Y, want, sizeof Y);
    /* out of range: nothing written */
    const size_t bad[4] = {2, 0, 3, 1};
    for (size_t i = 0; i < 12; i++)
        Y[i] = -5.0;
    assert_int_equal(mlp2_onehot(4, 3, bad, Y), MLP2_EINVAL);
    const size_t huge[1] = {SIZE_MAX};
    assert_int_equal(mlp2_onehot(1, 3, huge, Y), MLP2_EINVAL);
    for (size_t i = 0; i < 12; i++)
        assert_true(Y[i] == -5.0);
    assert_int_equal(mlp2_onehot(0, 3, labels, Y), MLP2_EINVAL);
    assert_int_equal(mlp2_onehot(4, 0, labels, Y), MLP2_EINVAL);
    assert_int_equal(mlp2_onehot(4, 3, NULL, Y), MLP2_EINVAL);
    assert_int_equal(mlp2_onehot(4, 3, labels, NULL), MLP2_EINVAL);
    assert_int_equal(mlp2_onehot(SIZE_MAX, 3, labels, Y), MLP2_ERANGE);
}

static void test_classify(void **state)
{
    (void)state;
    /* argmax, the first one on a tie */
    const double A[12] = {0.1, 0.7, 0.2, 0.5, 0.5, 0.0, 0.2, 0.2, 0.6, 1.0, 0.0, 0.0};
    size_t lab[12], want_sm[4] = {1, 0, 2, 0};
    assert_int_equal(mlp2_classify(MLP2_HEAD_SOFTMAX, 4, 3, A, lab), MLP2_OK);
    assert_memory_equal(lab, want_sm, sizeof want_sm);
    /* threshold 0.5, strictly above */
    const double S[6] = {0.5, 0.5000000001, 0.0, 1.0, 0.4999, 0.9};
    size_t want_sg[6] = {0, 1, 0, 1, 0, 1};
    assert_int_equal(mlp2_classify(MLP2_HEAD_SIGMOID, 3, 2, S, lab), MLP2_OK);
    assert_memory_equal(lab, want_sg, sizeof want_sg);
    /* refusals leave labels alone */
    for (size_t i = 0; i < 12; i++)
        lab[i] = 99;
    assert_int_equal(mlp2_classify(MLP2_HEAD_LINEAR, 4, 3, A, lab), MLP2_EINVAL);
    assert_int_equal(mlp2_classify((mlp2_head)3, 4, 3, A, lab), MLP2_EINVAL);
    assert_int_equal(mlp2_classify(MLP2_HEAD_SOFTMAX, 4, 1, A, lab), MLP2_EINVAL);
    assert_int_equal(mlp2_classify(MLP2_HEAD_SOFTMAX, 0, 3, A, lab), MLP2_EINVAL);
    assert_int_equal(mlp2_classify(MLP2_HEAD_SOFTMAX, 4, 3, NULL, lab), MLP2_EINVAL);
    assert_int_equal(mlp2_classify(MLP2_HEAD_SOFTMAX, 4, 3, A, NULL), MLP2_EINVAL);
    assert_int_equal(mlp2_classify(MLP2_HEAD_SOFTMAX, SIZE_MAX, 3, A, lab), MLP2_ERANGE);
    double N[6] = {0.1, 0.2, 0.3, 0.4, 0.5, (double)NAN};
    assert_int_equal(mlp2_classify(MLP2_HEAD_SIGMOID, 3, 2, N, lab), MLP2_ENONFINITE);
    N[5] = (double)INFINITY;
    assert_int_equal(mlp2_classify(MLP2_HEAD_SOFTMAX, 2, 3, N, lab), MLP2_ENONFINITE);
    for (size_t i = 0; i < 12; i++)
        assert_int_equal(lab[i], 99);
    /* round trip: classify(onehot(labels)) = labels */
    const size_t labels[5] = {3, 0, 2, 1, 3};
    double Y[20];
    assert_int_equal(mlp2_onehot(5, 4, labels, Y), MLP2_OK);
    assert_int_equal(mlp2_classify(MLP2_HEAD_SOFTMAX, 5, 4, Y, lab), MLP2_OK);
    assert_memory_equal(lab, labels, sizeof labels);
}

/* ---- the version-1 file ------------------------------------------------- */

static char *data_path(const char *name)
{
    const char *dir = getenv("MLP2_TEST_DATA");
    if (!dir)
        return NULL;
    char *p = malloc(strlen(dir) + strlen(name) + 2);
    assert_non_null(p);
    sprintf(p, "%s/%s", dir, name);
    return p;
}

/* the network's output computed plainly from theta (3-4-2, sigmoid, linear) */
static void plain_predict(const double *th, const double *x, double *y)
{
    double a[4];
    for (size_t j = 0; j < 4; j++) {
        double z = th[12 + j];
        for (size_t i = 0; i < 3; i++)
            z += x[i] * th[i * 4 + j];
        a[j] = 1.0 / (1.0 + exp(-z));
    }
    for (size_t k = 0; k < 2; k++) {
        y[k] = th[16 + 8 + k];
        for (size_t j = 0; j < 4; j++)
            y[k] += a[j] * th[16 + j * 2 + k];
    }
}

static double ulp_diff(double a, double b)
{
    return fabs(a - b) / (nextafter(fabs(b), INFINITY) - fabs(b));
}

static void test_version1_file(void **state)
{
    (void)state;
    char *model = data_path("v1_model.mlp2"), *expected = data_path("v1_model.expected");
    if (!model) {
        print_message("MLP2_TEST_DATA is not set\n");
        skip();
    }
    mlp2 *net = NULL;
    assert_int_equal(mlp2_load(&net, model), MLP2_OK);
    mlp2_spec s;
    assert_int_equal(mlp2_get_spec(net, &s), MLP2_OK);
    assert_true(s.n_in == 3 && s.n_hidden == 4 && s.n_out == 2);
    assert_true(s.hidden == MLP2_HIDDEN_SIGMOID && s.head == MLP2_HEAD_LINEAR);
    const void *d;
    size_t n;
    assert_int_equal(mlp2_section_get(net, "note", &d, &n), MLP2_OK);
    assert_int_equal(n, 29);
    assert_memory_equal(d, "v1 file, made before format 2", 29);
    /* the rows and the predictions the library gave when it saved the file */
    FILE *f = fopen(expected, "r");
    assert_non_null(f);
    double X[8 * 3], want[8 * 2], P[8 * 2], th[26], plain[2];
    for (int i = 0; i < 8; i++)
        assert_int_equal(fscanf(f, " X %la %la %la P %la %la", &X[i * 3], &X[i * 3 + 1], &X[i * 3 + 2],
                                &want[i * 2], &want[i * 2 + 1]), 5);
    fclose(f);
    assert_int_equal(mlp2_predict(net, NULL, 8, X, P), MLP2_OK);
    assert_int_equal(mlp2_get_params(net, th), MLP2_OK);
    double worst = 0.0;
    for (int i = 0; i < 8; i++) {
        plain_predict(th, X + i * 3, plain);
        tu_assert_close(P + i * 2, plain, 2, 1e-13, 1e-15);
        for (int k = 0; k < 2; k++)
            worst = fmax(worst, ulp_diff(P[i * 2 + k], want[i * 2 + k]));
    }
    /* bit for bit on the machine that saved it (AVX-512 or AVX2 kernels);
     * a build without FMA may round the sigmoid's last bit differently */
    print_message("# version-1 file: predictions within %.0f ulp of those saved\n", worst);
    assert_true(worst <= 2.0);
    /* saved again, it is a version-2 file of the same model */
    char dir[] = "/tmp/mlp2-v1-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof path, "%s/m.mlp2", dir);
    assert_int_equal(mlp2_save(net, path), MLP2_OK);
    mlp2 *again = NULL;
    assert_int_equal(mlp2_load(&again, path), MLP2_OK);
    double P2[16];
    assert_int_equal(mlp2_predict(again, NULL, 8, X, P2), MLP2_OK);
    assert_memory_equal(P, P2, sizeof P);
    unlink(path);
    rmdir(dir);
    mlp2_free(again);
    mlp2_free(net);
    free(model);
    free(expected);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_default_is_seed),
        cmocka_unit_test(test_init_per_kind),
        cmocka_unit_test(test_bad_spec),
        cmocka_unit_test(test_kinds_survive_copies),
        cmocka_unit_test(test_portable_and_export),
        cmocka_unit_test(test_targets),
        cmocka_unit_test(test_onehot),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_version1_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
