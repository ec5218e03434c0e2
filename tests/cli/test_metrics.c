/* test_metrics.c - every metric of tools/metrics.c (the numbers `mlp2 eval`
 * and `mlp2 train` print), per target and overall, against values worked
 * out by hand, and against a plain long double re-computation on random
 * data of a shape where m, k and m*k are all different.
 *
 * Definitions (metrics.h): per target j, MSE = SSE_j / m, RMSE = sqrt(MSE),
 * MAE = SAE_j / m, R^2 = 1 - SSE_j / SST_j (SST around target j's mean; NaN
 * when SST = 0).  Overall: MSE, RMSE and MAE pool all m*k values; R^2 is the
 * mean of the k targets' R^2. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "metrics.h"

static void close_to(double got, double want, const char *what)
{
    if (!(fabs(got - want) <= 1e-15 * fabs(want))) {
        print_error("%s = %.17g, want %.17g\n", what, got, want);
        fail();
    }
}

/* m = 4 rows, k = 2 targets:
 *   target 0: errors 0.5, 0, -1, 1  -> SSE 2.25, SAE 2.5, mean 2.5, SST 5
 *   target 1: errors 2, -2, 3, 0    -> SSE 17,   SAE 7,   mean 25,  SST 500 */
static void test_by_hand(void **state)
{
    (void)state;
    const double Y[] = {1, 10, 2, 20, 3, 30, 4, 40};
    const double P[] = {1.5, 12, 2, 18, 2, 33, 5, 40};
    metrics per[2], all;
    metrics_compute(4, 2, P, Y, per, &all);
    close_to(per[0].mse, 2.25 / 4, "mse[0]");
    close_to(per[0].rmse, 0.75, "rmse[0]");
    close_to(per[0].mae, 2.5 / 4, "mae[0]");
    close_to(per[0].r2, 1 - 2.25 / 5, "r2[0]");
    close_to(per[1].mse, 17.0 / 4, "mse[1]");
    close_to(per[1].rmse, sqrt(17.0 / 4), "rmse[1]");
    close_to(per[1].mae, 7.0 / 4, "mae[1]");
    close_to(per[1].r2, 1 - 17.0 / 500, "r2[1]");
    /* overall: pooled over the 8 values; R^2 the mean of the two */
    close_to(all.mse, (2.25 + 17) / 8, "overall mse");
    close_to(all.rmse, sqrt((2.25 + 17) / 8), "overall rmse");
    close_to(all.mae, (2.5 + 7) / 8, "overall mae");
    close_to(all.r2, ((1 - 2.25 / 5) + (1 - 17.0 / 500)) / 2, "overall r2");

    /* per may be NULL: the same overall numbers */
    metrics all2;
    metrics_compute(4, 2, P, Y, NULL, &all2);
    assert_memory_equal(&all, &all2, sizeof all);
}

/* One row, one target: R^2 is undefined (SST = 0), the rest is |e|. */
static void test_single_value(void **state)
{
    (void)state;
    const double Y[] = {3.25}, P[] = {1.0};
    metrics per[1], all;
    metrics_compute(1, 1, P, Y, per, &all);
    close_to(per[0].mse, 2.25 * 2.25, "mse");
    close_to(per[0].rmse, 2.25, "rmse");
    close_to(per[0].mae, 2.25, "mae");
    assert_true(isnan(per[0].r2));
    assert_true(isnan(all.r2));
    close_to(all.mae, 2.25, "overall mae");
}

/* A constant target has R^2 NaN, and so has the overall R^2; the other
 * target is unaffected. */
static void test_constant_target(void **state)
{
    (void)state;
    const double Y[] = {7, 1, 7, 2, 7, 4}; /* target 0 constant */
    const double P[] = {7.5, 1, 6, 2, 7, 5};
    metrics per[2], all;
    metrics_compute(3, 2, P, Y, per, &all);
    assert_true(isnan(per[0].r2));
    assert_true(isnan(all.r2));
    close_to(per[0].mse, (0.25 + 1) / 3, "mse[0]");
    close_to(per[0].mae, 1.5 / 3, "mae[0]");
    /* target 1: mean 7/3, SST = (4/3)^2 + (1/3)^2 + (5/3)^2 = 42/9, SSE 1 */
    close_to(per[1].r2, 1 - 1 / (42.0 / 9), "r2[1]");
    close_to(all.mae, 2.5 / 6, "overall mae");
}

/* Random data, m = 37 rows and k = 5 targets with very different scales,
 * against a long double computation written out here. */
static void test_random_against_reference(void **state)
{
    (void)state;
    enum { m = 37, k = 5 };
    double Y[m * k], P[m * k];
    uint64_t s = 0x2545F4914F6CDD1Du;
    for (size_t i = 0; i < m * k; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        const double u = (double)(s >> 11) * 0x1.0p-53, scale = pow(10.0, (double)(i % k) * 2 - 3);
        Y[i] = scale * (u * 3.7 - 1.1);
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        P[i] = Y[i] + scale * ((double)(s >> 11) * 0x1.0p-53 - 0.45);
    }
    metrics per[k], all;
    metrics_compute(m, k, P, Y, per, &all);
    long double sse_all = 0, sae_all = 0, r2_sum = 0;
    for (size_t j = 0; j < k; j++) {
        long double mean = 0, sse = 0, sae = 0, sst = 0;
        for (size_t i = 0; i < m; i++)
            mean += Y[i * k + j];
        mean /= m;
        for (size_t i = 0; i < m; i++) {
            const long double e = (long double)P[i * k + j] - Y[i * k + j];
            sse += e * e;
            sae += fabsl(e);
            sst += (Y[i * k + j] - mean) * (Y[i * k + j] - mean);
        }
        const double tol = 1e-13;
        assert_true(fabsl(per[j].mse - sse / m) <= tol * sse / m);
        assert_true(fabsl(per[j].rmse - sqrtl(sse / m)) <= tol * sqrtl(sse / m));
        assert_true(fabsl(per[j].mae - sae / m) <= tol * sae / m);
        assert_true(fabsl(per[j].r2 - (1 - sse / sst)) <= tol);
        sse_all += sse;
        sae_all += sae;
        r2_sum += 1 - sse / sst;
    }
    assert_true(fabsl(all.mse - sse_all / (m * k)) <= 1e-13 * sse_all / (m * k));
    assert_true(fabsl(all.rmse - sqrtl(sse_all / (m * k))) <= 1e-13 * sqrtl(sse_all / (m * k)));
    assert_true(fabsl(all.mae - sae_all / (m * k)) <= 1e-13 * sae_all / (m * k));
    assert_true(fabsl(all.r2 - r2_sum / k) <= 1e-13);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_by_hand),
        cmocka_unit_test(test_single_value),
        cmocka_unit_test(test_constant_target),
        cmocka_unit_test(test_random_against_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
