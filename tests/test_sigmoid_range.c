/* test_sigmoid_range.c - the hidden layer's sigmoid (and so the library's
 * own exp) is accurate over the whole range z in [-745, 710], on the BLAS
 * path, mlp2_predict_portable's uncontracted kernel, the small-shape path
 * and the one-row latency path, against long double expl.
 *
 * A network with one input, W1 = 1, b1 = offsets, W2 = identity and b2 = 0
 * outputs sigmoid(x + b1_j) in column j exactly: the products with 1 and the
 * identity are exact, so predict's output is the kernel's sigmoid, bit for
 * bit.  The reference z = x + b1_j is the same double addition.
 *
 * sigmoid(z) = 1 / (1 + exp(-z)): for z < 0 it is exp's accuracy on
 * [0, 745] (exp(|z|) large), for z > 0 the rounding of 1 - exp(-z).
 * Bounds: 2 ulp relative where the true value is a normal double; for
 * z < -708 the README documents exactly 0 (the true value is below
 * 3.31e-308), so there an absolute error up to 3.31e-308 is allowed.
 *
 * Catches: exp's saturation moved inside the range (708 -> 70 makes
 * sigmoid(-100) 0 instead of 3.7e-44; as the clamp it was until Dec 1,
 * 4e-31), a wrong polynomial coefficient,
 * a wrong reduction constant, a wrong exponent shift. */
#include <float.h>
#include <stdbool.h>

#include <mlp2.h>

#include "testutil.h"

#define Z_LO (-745.0)
#define Z_HI 710.0

/* The reference needs long double arithmetic wider than double.  Valgrind
 * emulates the x87 unit at double precision: there the sweeps cannot judge
 * 2 ulp and report a skip (the other stages run them). */
static bool long_double_is_extended(void)
{
    volatile long double x = 1.0L;
    x += 0x1p-60L;
    return x != 1.0L;
}

static long double ref_sigmoid(double z)
{
    return 1.0L / (1.0L + expl(-(long double)z));
}

/* worst error seen, in ulps of the reference (or as an absolute excess in
 * the documented tail), with the z where it happened */
typedef struct {
    double worst_ulp, worst_z;
    size_t checked, tail;
} sweep;

static void check_one(sweep *s, double z, double got)
{
    const long double want = ref_sigmoid(z);
    s->checked++;
    if (z < -708.0) {
        /* documented: exactly 0 below -708 is allowed; anything else must be
         * at least as close as 0 is */
        s->tail++;
        if (!(got >= 0.0 && fabsl((long double)got - want) <= 3.31e-308L)) {
            print_error("sigmoid(%.17g) = %.17g, want %.17Lg (or 0)\n", z, got, want);
            fail();
        }
        return;
    }
    const long double ulp = (long double)DBL_EPSILON * want;
    const double e = (double)(fabsl((long double)got - want) / ulp);
    if (!(e <= 2.0)) {
        print_error("sigmoid(%.17g) = %.17g, want %.17Lg: %.3g ulp\n", z, got, want, e);
        fail();
    }
    if (e > s->worst_ulp) {
        s->worst_ulp = e;
        s->worst_z = z;
    }
}

/* Points that matter: the saturation at +-708 and a few ulps around it, exp's
 * overflow and underflow edges, where sigmoid reaches 1 in double, zero. */
static const double special_z[] = {
    -745.0, -745.1332191019411, -744.44007192138122, -709.78271289338397, -709.0, -708.39641853226408,
    -708.0000000000001, -708.0, -707.9999999999999, -707.5, -700.0, -100.0, -70.0, -69.999, -40.0,
    -36.7, -1.0, -1e-300, 0.0, 1e-300, 1.0, 36.04365338911715, 36.7, 37.0, 40.0, 100.0, 707.9999999999999,
    708.0, 708.0000000000001, 709.78271289338397, 710.0,
};
#define N_SPECIAL (sizeof special_z / sizeof special_z[0])

/* A network 1-h-h with W1 = 1, b1 = b, W2 = I, b2 = 0. */
static mlp2 *selector_net(size_t h, const double *b)
{
    mlp2 *net = NULL;
    assert_int_equal(mlp2_create(&net, 1, h, h, 3), MLP2_OK);
    const size_t n = mlp2_n_params(net);
    assert_int_equal(n, h + h + h * h + h);
    double *theta = tu_alloc(n);
    for (size_t j = 0; j < h; j++) {
        theta[j] = 1.0;     /* W1, 1 x h */
        theta[h + j] = b[j]; /* b1 */
        theta[2 * h + j * h + j] = 1.0; /* W2 = I, h x h; b2 = 0 */
    }
    assert_int_equal(mlp2_set_params(net, theta), MLP2_OK);
    free(theta);
    return net;
}

/* Column j covers [Z_LO + j*span, Z_LO + (j+1)*span) with `rows` points
 * (x_i = i*span/rows plus a fraction, so that the points are not round);
 * the reference uses the z the network really sees, fl(x + b1_j).  Then the
 * special points, through the same shape with b1 = 0 (x = z exactly).
 * portable: through mlp2_predict_portable (the uncontracted kernel) instead
 * of mlp2_predict. */
static mlp2_status predict_with(bool portable, const mlp2 *net, size_t m, const double *X, double *Y)
{
    return portable ? mlp2_predict_portable(net, NULL, m, X, Y) : mlp2_predict(net, NULL, m, X, Y);
}

static void sweep_net(bool portable, size_t h, size_t rows, sweep *s)
{
    const double span = (Z_HI - Z_LO) / (double)h;
    double *b = tu_alloc(h);
    for (size_t j = 0; j < h; j++)
        b[j] = Z_LO + (double)j * span;
    mlp2 *net = selector_net(h, b);
    double *X = tu_alloc(rows), *Y = tu_alloc(rows * h);
    tu_rng r = tu_seed(11);
    for (size_t i = 0; i < rows; i++)
        X[i] = ((double)i + tu_uniform(&r, 0.0, 1.0)) * span / (double)rows;
    assert_int_equal(predict_with(portable, net, rows, X, Y), MLP2_OK);
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < h; j++) {
            const double z = X[i] + b[j];
            if (z >= Z_LO && z <= Z_HI)
                check_one(s, z, Y[i * h + j]);
        }
    mlp2_free(net);

    for (size_t j = 0; j < h; j++)
        b[j] = 0.0;
    net = selector_net(h, b);
    double Ys[N_SPECIAL * 64];
    assert_true(h <= 64);
    assert_int_equal(predict_with(portable, net, N_SPECIAL, special_z, Ys), MLP2_OK);
    for (size_t k = 0; k < N_SPECIAL; k++)
        for (size_t j = 0; j < h; j++)
            check_one(s, special_z[k], Ys[k * h + j]);
    mlp2_free(net);
    free(X);
    free(Y);
    free(b);
}

/* 1-64-64: 4160 multiply-adds per row, the BLAS path (A1 = sigmoid(Z1 + b1)
 * in mlp2__bias_sigmoid, with fused multiply-adds in the polynomial where
 * the CPU has them) */
static void test_blas_path(void **state)
{
    (void)state;
    if (!long_double_is_extended())
        skip();
    sweep s = {0};
    sweep_net(false, 64, 4096, &s);
    print_message("BLAS path: %zu points (%zu below -708), worst %.2f ulp at z = %.17g\n", s.checked, s.tail,
                  s.worst_ulp, s.worst_z);
    assert_true(s.checked > 64 * 4096 / 2);
    assert_true(s.tail > 1000);
}

/* 1-64-64 through mlp2_predict_portable: the uncontracted kernel
 * (mlp2__bias_sigmoid_exact), the bits of the exported code */
static void test_portable(void **state)
{
    (void)state;
    if (!long_double_is_extended())
        skip();
    sweep s = {0};
    sweep_net(true, 64, 4096, &s);
    print_message("portable: %zu points (%zu below -708), worst %.2f ulp at z = %.17g\n", s.checked, s.tail,
                  s.worst_ulp, s.worst_z);
    assert_true(s.checked > 64 * 4096 / 2);
    assert_true(s.tail > 1000);
}

/* 1-4-4: 20 multiply-adds per row, the small-shape path (its own kernel,
 * contracted like the BLAS path's) */
static void test_small_path(void **state)
{
    (void)state;
    if (!long_double_is_extended())
        skip();
    sweep s = {0};
    sweep_net(false, 4, 65536, &s);
    print_message("small path: %zu points (%zu below -708), worst %.2f ulp at z = %.17g\n", s.checked, s.tail,
                  s.worst_ulp, s.worst_z);
    assert_true(s.checked > 4 * 65536 / 2);
}

/* 1-4-4 one row (and five rows) per call: the latency path's own loops
 * (rows.c), taken for m = 1 and for a few rows of small shapes */
static void test_rows_path(void **state)
{
    (void)state;
    if (!long_double_is_extended())
        skip();
    enum { h = 4, rows = 20000 };
    const double span = (Z_HI - Z_LO) / h;
    double b[h];
    for (size_t j = 0; j < h; j++)
        b[j] = Z_LO + (double)j * span;
    mlp2 *net = selector_net(h, b);
    mlp2_workspace *ws = NULL;
    assert_int_equal(mlp2_workspace_create(&ws, net, 8), MLP2_OK);
    sweep s = {0};
    tu_rng r = tu_seed(12);
    double x[5], y[5 * h];
    for (size_t i = 0; i < rows; i += 5) {
        for (size_t k = 0; k < 5; k++)
            x[k] = ((double)(i + k) + tu_uniform(&r, 0.0, 1.0)) * span / rows;
        /* rows i: alone; rows i+1..i+4: four at a time */
        assert_int_equal(mlp2_predict(net, ws, 1, x, y), MLP2_OK);
        assert_int_equal(mlp2_predict(net, ws, 4, x + 1, y + h), MLP2_OK);
        for (size_t k = 0; k < 5; k++)
            for (size_t j = 0; j < h; j++) {
                const double z = x[k] + b[j];
                if (z >= Z_LO && z <= Z_HI)
                    check_one(&s, z, y[k * h + j]);
            }
    }
    print_message("rows path: %zu points (%zu below -708), worst %.2f ulp at z = %.17g\n", s.checked, s.tail,
                  s.worst_ulp, s.worst_z);
    assert_true(s.checked > h * rows / 2);
    mlp2_workspace_free(ws);
    mlp2_free(net);
}

/* Values that a wrong saturation or a wrong tail would miss, checked one by one
 * with a single-row predict (rows = 1 takes the small path for 1-1-1). */
static void test_known_values(void **state)
{
    (void)state;
    static const struct {
        double z, want; /* sigmoid(z), correctly rounded (Python decimal, 50 digits) */
    } cases[] = {
        {-100.0, 3.720075976020836e-44},
        {-700.0, 9.85967654375977e-305},
        {-40.0, 4.248354255291589e-18},
        {30.0, 0.9999999999999064},
        {33.0, 0.9999999999999953}, /* exp's saturation moved to -30 gives 1 */
        {0.0, 0.5},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const double b = cases[k].z;
        mlp2 *net = selector_net(1, &b);
        double x = 0.0, y = -1.0;
        assert_int_equal(mlp2_predict(net, NULL, 1, &x, &y), MLP2_OK);
        /* the hard-coded values agree with the long double reference ... */
        if (long_double_is_extended())
            assert_true(fabsl((long double)cases[k].want - ref_sigmoid(b)) <= 0.5L * DBL_EPSILON * cases[k].want);
        /* ... and the library with both, to 4 ulp */
        if (!(fabs(y - cases[k].want) <= 4 * DBL_EPSILON * cases[k].want)) {
            print_error("sigmoid(%g) = %.17g, want %.17g\n", b, y, cases[k].want);
            fail();
        }
        mlp2_free(net);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_values),
        cmocka_unit_test(test_blas_path),
        cmocka_unit_test(test_portable),
        cmocka_unit_test(test_small_path),
        cmocka_unit_test(test_rows_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
