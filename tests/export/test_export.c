/* test_export.c - the library side of C export: mlp2_export_c and
 * mlp2_export_c_buffer (the text, its constants read back by strtod, every
 * status) and mlp2_predict_portable (row independence, an independent
 * reference with libm's exp, the BLAS path).  Compiling and running the
 * generated code is export_test.sh's job. */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mlp2.h>

static uint64_t bits(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

/* a 2-4-2 network with -0.0, subnormals and +-DBL_MAX among its parameters */
static const double special[] = {
    DBL_MAX, -0.0, 4.9406564584124654e-324, -1.5, -DBL_MAX, 2.2250738585072009e-308, 0.1, 1.0 / 3.0,
    -0.0, -4.9406564584124654e-324, 1e-310, -2.2250738585072014e-308,
    DBL_MAX / 8, -0.0, -DBL_MAX / 8, 3.5e-320, 1.25, 0x1.fffffffffffffp-1, 0x1p-1074, -0x1.0000000000001p+0,
    -0.0, 6.02214076e23,
};

static mlp2 *special_net(void)
{
    mlp2 *net;
    assert_int_equal(mlp2_create(&net, 2, 4, 2, 1), MLP2_OK);
    assert_int_equal(mlp2_n_params(net), sizeof special / sizeof special[0]);
    assert_int_equal(mlp2_set_params(net, special), MLP2_OK);
    return net;
}

static char *export_text(const mlp2 *net, const mlp2_export_options *o, mlp2_export_part part)
{
    size_t len = 0;
    assert_int_equal(mlp2_export_c_buffer(net, o, part, NULL, 0, &len), MLP2_OK);
    char *buf = malloc(len + 1);
    assert_non_null(buf);
    size_t len2 = 0;
    assert_int_equal(mlp2_export_c_buffer(net, o, part, buf, len + 1, &len2), MLP2_OK);
    assert_int_equal(len2, len);
    assert_int_equal(strlen(buf), len);
    return buf;
}

/* Read the constants of array NAME back with strtod and compare their bits. */
static void check_array(const char *text, const char *decl, const double *want, size_t n)
{
    const char *p = strstr(text, decl);
    assert_non_null(p);
    p = strchr(p, '{') + 1;
    for (size_t i = 0; i < n; i++) {
        char *end;
        const double v = strtod(p, &end);
        assert_true(end != p);
        if (bits(v) != bits(want[i]))
            fail_msg("%s[%zu]: read back %a, want %a", decl, i, v, want[i]);
        p = end + (*end == 'f'); /* a float constant's suffix */
        while (*p == ',' || *p == ' ' || *p == '\n')
            p++;
    }
    assert_int_equal(*p, '}');
}

static void test_constants_exact(void **state)
{
    (void)state;
    mlp2 *net = special_net();
    mlp2_export_options o = {.name = "net"};
    char *text = export_text(net, &o, MLP2_EXPORT_SOURCE);
    check_array(text, "static const double net_W1[8]", special, 8);
    check_array(text, "static const double net_b1[4]", special + 8, 4);
    check_array(text, "static const double net_W2[8]", special + 12, 8);
    check_array(text, "static const double net_b2[2]", special + 20, 2);
    assert_non_null(strstr(text, "-0x0p+0"));
    assert_non_null(strstr(text, "0x0.0000000000001p-1022"));
    assert_non_null(strstr(text, "0x1.fffffffffffffp+1023"));
    /* the same text every time: nothing but the options and the model in it */
    char *again = export_text(net, &o, MLP2_EXPORT_SOURCE);
    assert_string_equal(text, again);
    free(again);
    free(text);
    mlp2_free(net);
}

static void test_float_constants(void **state)
{
    (void)state;
    mlp2 *net;
    assert_int_equal(mlp2_create(&net, 3, 5, 2, 9), MLP2_OK);
    double theta[3 * 5 + 5 + 5 * 2 + 2];
    assert_int_equal(mlp2_get_params(net, theta), MLP2_OK);
    theta[5] = 1e-40; /* a float subnormal */
    theta[6] = 1e-50; /* below float's range: 0 */
    theta[7] = -0.0;
    assert_int_equal(mlp2_set_params(net, theta), MLP2_OK);
    mlp2_export_options o = {.name = "f", .use_float = 1};
    char *text = export_text(net, &o, MLP2_EXPORT_SOURCE);
    double want[15];
    /* through a volatile float: gcc 12.2 at -O3 drops the rounding of
     * (double)(float)x in the vectorised tail of such a loop */
    for (size_t i = 0; i < 15; i++) {
        volatile float fv = (float)theta[i];
        want[i] = (double)fv;
    }
    check_array(text, "static const float f_W1[15]", want, 15);
    assert_non_null(strstr(text, "void f_predict(const float *x, float *y)"));
    assert_non_null(strstr(text, "ldexpf"));
    free(text);
    mlp2_free(net);
}

static void test_names(void **state)
{
    (void)state;
    const char *good[] = {"net", "_x", "a1", "A_b", "_9", "x_"};
    const char *bad[] = {"", "1a", "a-b", "__x", "_X", "a b", "a.b", "caf\xc3\xa9"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_true(mlp2_export_name_ok(good[i]));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(mlp2_export_name_ok(bad[i]));
    assert_false(mlp2_export_name_ok(NULL));
    char long_name[65];
    memset(long_name, 'a', 64);
    long_name[64] = '\0';
    assert_false(mlp2_export_name_ok(long_name));
    long_name[63] = '\0';
    assert_true(mlp2_export_name_ok(long_name));
}

static void test_buffer(void **state)
{
    (void)state;
    mlp2 *net = special_net();
    mlp2_export_options o = {.name = "net", .model_file = "special.mlp2", .exported = "now"};
    char *text = export_text(net, &o, MLP2_EXPORT_SOURCE);
    const size_t len = strlen(text);
    /* one byte short: MLP2_ERANGE, the length, the text cut and terminated */
    char *small = malloc(len);
    size_t got = 0;
    assert_int_equal(mlp2_export_c_buffer(net, &o, MLP2_EXPORT_SOURCE, small, len, &got), MLP2_ERANGE);
    assert_int_equal(got, len);
    assert_int_equal(strlen(small), len - 1);
    assert_memory_equal(small, text, len - 1);
    free(small);
    assert_int_equal(mlp2_export_c_buffer(net, &o, MLP2_EXPORT_SOURCE, NULL, 5, &got), MLP2_EINVAL);
    /* a stream gets the same text */
    FILE *f = tmpfile();
    assert_non_null(f);
    assert_int_equal(mlp2_export_c(net, &o, MLP2_EXPORT_SOURCE, f), MLP2_OK);
    assert_int_equal(ftell(f), (long)len);
    rewind(f);
    char *back = malloc(len + 1);
    assert_int_equal(fread(back, 1, len + 1, f), len);
    assert_memory_equal(back, text, len);
    free(back);
    fclose(f);
    assert_non_null(strstr(text, " * model file:  special.mlp2\n"));
    assert_non_null(strstr(text, " * exported:    now\n"));
    free(text);
    /* the header */
    text = export_text(net, &o, MLP2_EXPORT_HEADER);
    assert_non_null(strstr(text, "#define NET_N_IN 2 "));
    assert_non_null(strstr(text, "#define NET_N_OUT 2 "));
    assert_non_null(strstr(text, "void net_predict(const double *x, double *y);"));
    free(text);
    mlp2_free(net);
}

/* Each bad option: MLP2_EINVAL and nothing written to the stream. */
static void expect_einval(const mlp2 *net, const mlp2_export_options *o, int part)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    assert_int_equal(mlp2_export_c(net, o, (mlp2_export_part)part, f), MLP2_EINVAL);
    assert_int_equal(ftell(f), 0);
    fclose(f);
}

static void test_einval(void **state)
{
    (void)state;
    mlp2 *net = special_net();
    const double m2[2] = {0.5, -1}, s2[2] = {2, 3}, zero2[2] = {1, 0}, nan2[2] = {0, NAN};
    const mlp2_export_options good = {.name = "net", .in_mean = m2, .in_scale = s2, .out_mean = m2,
                                      .out_scale = s2};
    FILE *f = tmpfile();
    assert_int_equal(mlp2_export_c(net, &good, MLP2_EXPORT_SOURCE, f), MLP2_OK);
    assert_int_equal(mlp2_export_c(NULL, &good, MLP2_EXPORT_SOURCE, f), MLP2_EINVAL);
    assert_int_equal(mlp2_export_c(net, NULL, MLP2_EXPORT_SOURCE, f), MLP2_EINVAL);
    assert_int_equal(mlp2_export_c(net, &good, MLP2_EXPORT_SOURCE, NULL), MLP2_EINVAL);
    fclose(f);
    mlp2_export_options o = good;
    expect_einval(net, &o, 7);
    o.name = "9lives";
    expect_einval(net, &o, MLP2_EXPORT_SOURCE);
    expect_einval(net, &o, MLP2_EXPORT_HEADER);
    o = good, o.exp = (mlp2_export_exp)5;
    expect_einval(net, &o, MLP2_EXPORT_SOURCE);
    o = good, o.out_scale = NULL; /* scaling half given */
    expect_einval(net, &o, MLP2_EXPORT_SOURCE);
    o = good, o.in_scale = zero2;
    expect_einval(net, &o, MLP2_EXPORT_SOURCE);
    o = good, o.out_mean = nan2;
    expect_einval(net, &o, MLP2_EXPORT_SOURCE);
    o = good, o.model_file = "a\nb";
    expect_einval(net, &o, MLP2_EXPORT_SOURCE);
    o = good, o.exported = "x */ y";
    expect_einval(net, &o, MLP2_EXPORT_SOURCE);
    o = good, o.header = "a\"b.h";
    expect_einval(net, &o, MLP2_EXPORT_SOURCE);
    mlp2_free(net);
}

static void test_float_range(void **state)
{
    (void)state;
    mlp2 *net = special_net(); /* holds DBL_MAX */
    mlp2_export_options o = {.name = "net", .use_float = 1};
    size_t len = 0;
    assert_int_equal(mlp2_export_c_buffer(net, &o, MLP2_EXPORT_SOURCE, NULL, 0, &len), MLP2_ERANGE);
    o.use_float = 0;
    assert_int_equal(mlp2_export_c_buffer(net, &o, MLP2_EXPORT_SOURCE, NULL, 0, &len), MLP2_OK);
    mlp2_free(net);
    /* a scale that rounds to 0 in float */
    assert_int_equal(mlp2_create(&net, 2, 3, 1, 1), MLP2_OK);
    const double m[2] = {0, 0}, s[2] = {1, 1e-50}, m1[1] = {0}, s1[1] = {1};
    o = (mlp2_export_options){.name = "n", .use_float = 1, .in_mean = m, .in_scale = s, .out_mean = m1,
                              .out_scale = s1};
    assert_int_equal(mlp2_export_c_buffer(net, &o, MLP2_EXPORT_SOURCE, NULL, 0, &len), MLP2_ERANGE);
    o.use_float = 0;
    assert_int_equal(mlp2_export_c_buffer(net, &o, MLP2_EXPORT_SOURCE, NULL, 0, &len), MLP2_OK);
    mlp2_free(net);
}

static void test_eio(void **state)
{
    (void)state;
    FILE *f = fopen("/dev/full", "w");
    if (!f)
        skip();
    setvbuf(f, NULL, _IONBF, 0);
    mlp2 *net = special_net();
    mlp2_export_options o = {.name = "net"};
    assert_int_equal(mlp2_export_c(net, &o, MLP2_EXPORT_SOURCE, f), MLP2_EIO);
    fclose(f);
    mlp2_free(net);
}

/* Read back a C string literal of the generated text (printable bytes and
 * \ooo escapes only, which is all the exporter writes). */
static const char *read_literal(const char *p, char *out)
{
    assert_int_equal(*p, '"');
    for (p++; *p != '"'; p++) {
        if (*p == '\\') {
            *out++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
            p += 3;
        } else {
            *out++ = *p;
        }
    }
    *out = '\0';
    return p + 1;
}

static void test_classifiers(void **state)
{
    (void)state;
    static const char *const names[] = {"setosa", "ver\"si\\co?lor", "caf\xc3\xa9 ?\?= \n\t"};
    /* softmax, 3 classes: NAME_classify and NAME_classes[] */
    mlp2 *net;
    const mlp2_spec soft = {4, 5, 3, MLP2_HIDDEN_TANH, MLP2_HEAD_SOFTMAX};
    assert_int_equal(mlp2_create_spec(&net, &soft, 2), MLP2_OK);
    mlp2_export_options o = {.name = "iris", .class_names = names};
    char *text = export_text(net, &o, MLP2_EXPORT_SOURCE);
    assert_non_null(strstr(text, "int iris_classify(const double *x)\n{"));
    assert_non_null(strstr(text, " * kinds:       tanh hidden units, softmax output head\n"));
    const char *p = strstr(text, "const char *const iris_classes[3] = {");
    assert_non_null(p);
    for (size_t i = 0; i < 3; i++) {
        char got[64];
        p = read_literal(strchr(p, '"'), got);
        assert_string_equal(got, names[i]);
    }
    assert_null(strstr(text, "??")); /* no trigraph can form */
    free(text);
    text = export_text(net, &o, MLP2_EXPORT_HEADER);
    assert_non_null(strstr(text, "#define IRIS_N_CLASSES 3 "));
    assert_non_null(strstr(text, "int iris_classify(const double *x);"));
    assert_non_null(strstr(text, "extern const char *const iris_classes[IRIS_N_CLASSES];"));
    free(text);
    const char *const one_null[] = {"a", NULL, "c"};
    o.class_names = one_null;
    assert_int_equal(mlp2_export_c_buffer(net, &o, MLP2_EXPORT_SOURCE, NULL, 0, NULL), MLP2_EINVAL);
    mlp2_free(net);
    /* a multi-label sigmoid head (3 outputs) and a linear one: no classify, no names */
    const mlp2_spec multi = {4, 5, 3, MLP2_HIDDEN_RELU, MLP2_HEAD_SIGMOID};
    const mlp2_spec lin = {4, 5, 3, MLP2_HIDDEN_RELU, MLP2_HEAD_LINEAR};
    const mlp2_spec *no_class[] = {&multi, &lin};
    for (size_t k = 0; k < 2; k++) {
        assert_int_equal(mlp2_create_spec(&net, no_class[k], 2), MLP2_OK);
        o = (mlp2_export_options){.name = "m"};
        text = export_text(net, &o, MLP2_EXPORT_SOURCE);
        assert_null(strstr(text, "classify"));
        if (no_class[k]->head == MLP2_HEAD_LINEAR)
            assert_null(strstr(text, "m_exp")); /* ReLU and a linear head need no exp */
        free(text);
        o.class_names = names;
        assert_int_equal(mlp2_export_c_buffer(net, &o, MLP2_EXPORT_SOURCE, NULL, 0, NULL), MLP2_EINVAL);
        mlp2_free(net);
    }
}

/* ---- mlp2_predict_portable ---------------------------------------------- */

static double rnd(uint64_t *s)
{
    *s = *s * 6364136223846793005u + 1442695040888963407u;
    return (double)(*s >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

enum { NI = 7, NH = 13, NO = 3, M = 50 };

static mlp2 *random_net(double *theta)
{
    mlp2 *net;
    assert_int_equal(mlp2_create(&net, NI, NH, NO, 5), MLP2_OK);
    uint64_t s = 11;
    for (size_t i = 0; i < mlp2_n_params(net); i++)
        theta[i] = 1.385 * rnd(&s);
    assert_int_equal(mlp2_set_params(net, theta), MLP2_OK);
    return net;
}

static void test_portable(void **state)
{
    (void)state;
    double theta[NI * NH + NH + NH * NO + NO], X[M * NI], Y[M * NO], Yb[M * NO], y1[NO];
    mlp2 *net = random_net(theta);
    uint64_t s = 3;
    for (size_t i = 0; i < M * NI; i++)
        X[i] = 2.385 * rnd(&s);
    assert_int_equal(mlp2_predict_portable(net, NULL, M, X, Y), MLP2_OK);
    assert_int_equal(mlp2_predict(net, NULL, M, X, Yb), MLP2_OK);
    mlp2_workspace *ws;
    assert_int_equal(mlp2_workspace_create(&ws, net, 4), MLP2_OK);
    const double *W1 = theta, *b1 = W1 + NI * NH, *W2 = b1 + NH, *b2 = W2 + NH * NO;
    for (size_t r = 0; r < M; r++) {
        /* alone, with or without a workspace: the same bits as in the batch */
        assert_int_equal(mlp2_predict_portable(net, r % 2 ? ws : NULL, 1, X + r * NI, y1), MLP2_OK);
        assert_memory_equal(y1, Y + r * NO, sizeof y1);
        /* an independent reference: libm's exp, long double sums */
        long double h[NH];
        for (size_t j = 0; j < NH; j++) {
            long double z = b1[j];
            for (size_t k = 0; k < NI; k++)
                z += (long double)X[r * NI + k] * W1[k * NH + j];
            h[j] = 1.0L / (1.0L + expl(-z));
        }
        for (size_t o = 0; o < NO; o++) {
            long double y = b2[o], mag = fabs(b2[o]);
            for (size_t j = 0; j < NH; j++)
                y += h[j] * W2[j * NO + o], mag += fabsl(h[j] * W2[j * NO + o]);
            assert_true(fabsl(Y[r * NO + o] - y) <= 1e-14L * mag);
            assert_true(fabsl(Yb[r * NO + o] - y) <= 1e-14L * mag);
        }
    }
    mlp2_workspace_free(ws);
    mlp2_free(net);
}

static void test_portable_errors(void **state)
{
    (void)state;
    double theta[NI * NH + NH + NH * NO + NO], X[2 * NI] = {0}, Y[2 * NO];
    mlp2 *net = random_net(theta), *other;
    assert_int_equal(mlp2_predict_portable(NULL, NULL, 1, X, Y), MLP2_EINVAL);
    assert_int_equal(mlp2_predict_portable(net, NULL, 0, X, Y), MLP2_EINVAL);
    assert_int_equal(mlp2_predict_portable(net, NULL, 1, NULL, Y), MLP2_EINVAL);
    assert_int_equal(mlp2_predict_portable(net, NULL, 1, X, NULL), MLP2_EINVAL);
    assert_int_equal(mlp2_predict_portable(net, NULL, SIZE_MAX, X, Y), MLP2_ERANGE);
    assert_int_equal(mlp2_create(&other, NI + 1, NH, NO, 1), MLP2_OK);
    mlp2_workspace *ws;
    assert_int_equal(mlp2_workspace_create(&ws, other, 2), MLP2_OK);
    assert_int_equal(mlp2_predict_portable(net, ws, 1, X, Y), MLP2_EINVAL);
    /* a NaN input: MLP2_ENONFINITE and Y untouched */
    X[NI + 3] = NAN;
    memset(Y, 0x5a, sizeof Y);
    assert_int_equal(mlp2_predict_portable(net, NULL, 2, X, Y), MLP2_ENONFINITE);
    for (size_t i = 0; i < sizeof Y; i++)
        assert_int_equal(((unsigned char *)Y)[i], 0x5a);
    /* an output that overflows: MLP2_ENONFINITE */
    theta[NI * NH + NH + NH * NO] = DBL_MAX; /* b2[0] */
    theta[NI * NH + NH] = DBL_MAX;           /* W2[0][0] */
    assert_int_equal(mlp2_set_params(net, theta), MLP2_OK);
    X[NI + 3] = 0;
    double Xbig[NI];
    for (size_t k = 0; k < NI; k++)
        Xbig[k] = 0.0;
    assert_int_equal(mlp2_predict_portable(net, NULL, 1, Xbig, Y), MLP2_ENONFINITE);
    mlp2_workspace_free(ws);
    mlp2_free(other);
    mlp2_free(net);
}

/* Allocation: with a workspace none; without one, a failure is MLP2_ENOMEM
 * with Y untouched. */
static size_t n_allocs;
static int fail_allocs;
static void *count_alloc(void *ud, size_t size)
{
    (void)ud;
    n_allocs++;
    return fail_allocs ? NULL : malloc(size);
}
static void count_free(void *ud, void *p)
{
    (void)ud;
    free(p);
}

static void test_portable_alloc(void **state)
{
    (void)state;
    double theta[NI * NH + NH + NH * NO + NO], X[NI] = {0.5}, Y[NO];
    mlp2 *net = random_net(theta);
    mlp2_workspace *ws;
    assert_int_equal(mlp2_workspace_create(&ws, net, 1), MLP2_OK);
    assert_int_equal(mlp2_set_allocator(count_alloc, count_free, NULL), MLP2_OK);
    n_allocs = 0;
    assert_int_equal(mlp2_predict_portable(net, ws, 1, X, Y), MLP2_OK);
    assert_int_equal(n_allocs, 0);
    fail_allocs = 1;
    memset(Y, 0x5a, sizeof Y);
    assert_int_equal(mlp2_predict_portable(net, NULL, 1, X, Y), MLP2_ENOMEM);
    assert_true(n_allocs > 0);
    for (size_t i = 0; i < sizeof Y; i++)
        assert_int_equal(((unsigned char *)Y)[i], 0x5a);
    fail_allocs = 0;
    assert_int_equal(mlp2_set_allocator(NULL, NULL, NULL), MLP2_OK);
    mlp2_workspace_free(ws);
    mlp2_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_constants_exact), cmocka_unit_test(test_float_constants),
        cmocka_unit_test(test_names),           cmocka_unit_test(test_buffer),
        cmocka_unit_test(test_einval),          cmocka_unit_test(test_float_range),
        cmocka_unit_test(test_eio),             cmocka_unit_test(test_portable),
        cmocka_unit_test(test_portable_errors), cmocka_unit_test(test_portable_alloc),
        cmocka_unit_test(test_classifiers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
