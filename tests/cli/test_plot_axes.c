/* test_plot_axes.c - the learning curve's coordinates: epochs on a linear x
 * axis, losses on a logarithmic y axis (plot.h).  A geometric series of
 * losses must come out as points equally spaced in both x and y, falling
 * towards the bottom (SVG's y grows downwards); on a linear y axis the same
 * points would bunch up at the bottom. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plot.h"

/* the points of the path drawn in `color` */
static size_t path_points(const char *svg, const char *color, double *x, double *y, size_t max)
{
    char key[64];
    snprintf(key, sizeof key, "<path fill=\"none\" stroke=\"%s\"", color);
    const char *p = strstr(svg, key);
    assert_non_null(p);
    p = strstr(p, " d=\"");
    assert_non_null(p);
    p += 4;
    size_t n = 0;
    while (n < max && (*p == 'M' || *p == 'L')) {
        char *end;
        x[n] = strtod(p + 1, &end);
        y[n] = strtod(end, &end);
        assert_true(end > p + 1);
        n++;
        p = end;
        while (*p == ' ')
            p++;
    }
    return n;
}

static void test_geometric_losses_equally_spaced(void **state)
{
    (void)state;
    enum { n = 6 };
    const double train[n] = {3.0, 0.3, 0.03, 3e-3, 3e-4, 3e-5};
    const double val[n] = {5.0, 1.0, 0.2, 0.04, 0.008, 0.0016};
    char *svg = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&svg, &len);
    assert_non_null(f);
    assert_int_equal(plot_svg(f, train, val, n, 0, "axes"), 0);
    assert_int_equal(fclose(f), 0);
    const char *colors[2] = {"#1f77b4", "#ff7f0e"}; /* train, validation */
    for (int s = 0; s < 2; s++) {
        double x[n], y[n];
        assert_int_equal(path_points(svg, colors[s], x, y, n), n);
        const double dx = x[1] - x[0], dy = y[1] - y[0];
        assert_true(dx > 10);
        assert_true(dy > 10); /* smaller losses lower on the chart */
        for (int i = 1; i < n; i++) {
            /* coordinates are printed with 2 decimals */
            if (!(fabs(x[i] - x[i - 1] - dx) <= 0.011 && fabs(y[i] - y[i - 1] - dy) <= 0.011)) {
                print_error("series %d point %d: (%.2f, %.2f) after (%.2f, %.2f), steps %.2f %.2f\n", s, i, x[i],
                            y[i], x[i - 1], y[i - 1], dx, dy);
                fail();
            }
        }
    }
    /* one decade of train loss spans the same height as one decade of
     * validation loss (the same axis): train falls 10x per epoch, val 5x */
    double xt[n], yt[n], xv[n], yv[n];
    path_points(svg, colors[0], xt, yt, n);
    path_points(svg, colors[1], xv, yv, n);
    assert_true(fabs((yt[1] - yt[0]) / (yv[1] - yv[0]) - 1.0 / log10(5.0)) < 1e-3 * 1.0 / log10(5.0) + 0.01);
    free(svg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_geometric_losses_equally_spaced),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
