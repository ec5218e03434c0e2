/* test_plot.c - the SVG learning curve of tools/plot.c, rendered to memory. */
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

static char *render(const double *train, const double *val, size_t n, size_t best)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(plot_svg(f, train, val, n, best, "test"), 0);
    assert_int_equal(fclose(f), 0);
    assert_non_null(strstr(buf, "</svg>\n"));
    return buf;
}

static size_t count(const char *s, const char *what)
{
    size_t k = 0;
    for (const char *p = s; (p = strstr(p, what)) != NULL; p += strlen(what))
        k++;
    return k;
}

/* ~300 decades of loss: at most about 8 labelled decades and no minor lines */
static void test_huge_range(void **state)
{
    (void)state;
    enum { N = 60 };
    double train[N], val[N];
    for (int i = 0; i < N; i++) {
        train[i] = pow(10, 300 - 5 * i);
        val[i] = 2 * train[i];
    }
    char *svg = render(train, val, N, N);
    size_t labels = count(svg, "text-anchor=\"end\""); /* the y labels */
    assert_true(labels >= 2);
    assert_true(labels <= 10);
    /* y grid lines start at the left axis (x = 80): one per label, no minor ones */
    assert_int_equal(count(svg, "<line x1=\"80.00\" y1=\""), labels);
    free(svg);
    /* a small range keeps every decade and its minor lines */
    for (int i = 0; i < N; i++)
        train[i] = 1.0 / (i + 1), val[i] = 2 * train[i];
    svg = render(train, val, N, N);
    assert_true(count(svg, "text-anchor=\"end\"") >= 3);
    assert_true(count(svg, "stroke=\"#eee\"") > 10);
    free(svg);
}

/* x position of the best-epoch line */
static double best_x(const char *svg)
{
    const char *p = strstr(svg, "stroke=\"#2ca02c\" stroke-dasharray=\"4 3\"/>\n");
    assert_non_null(p);
    const char *l = p;
    while (l > svg && strncmp(l, "<line x1=\"", 10) != 0)
        l--;
    return strtod(l + 10, NULL);
}

/* one epoch: the point and the best-epoch line are in the middle, not on the axis */
static void test_one_epoch(void **state)
{
    (void)state;
    double train[1] = {0.5}, val[1] = {0.7};
    char *svg = render(train, val, 1, 1);
    double x = best_x(svg);
    assert_true(x > 300 && x < 500); /* the plot area spans 80..730 */
    assert_non_null(strstr(svg, "<circle"));
    free(svg);
    /* many epochs: the first and last epochs are off the axes too */
    double t[100], v[100];
    for (int i = 0; i < 100; i++)
        t[i] = 1.0 / (i + 1), v[i] = 2 * t[i];
    svg = render(t, v, 100, 1);
    x = best_x(svg);
    assert_true(x > 81 && x < 90);
    free(svg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_huge_range), cmocka_unit_test(test_one_epoch)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
