/* testutil.h - small helpers shared by the tests (header-only).
 * The generator here is independent of the library's own. */
#ifndef MLP2_TESTUTIL_H
#define MLP2_TESTUTIL_H

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* PCG32 (O'Neill), for test data only. */
typedef struct {
    uint64_t state;
} tu_rng;

static inline uint32_t tu_next(tu_rng *r)
{
    uint64_t old = r->state;
    r->state = old * 6364136223846793005ULL + 1442695040888963407ULL;
    uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
    uint32_t rot = (uint32_t)(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((-rot) & 31));
}

static inline tu_rng tu_seed(uint64_t seed)
{
    tu_rng r = {seed * 2 + 1};
    tu_next(&r);
    return r;
}

/* uniform in [lo, hi): values that are not round numbers */
static inline double tu_uniform(tu_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * ((double)tu_next(r) / 4294967296.0);
}

static inline void tu_fill(tu_rng *r, double *x, size_t n, double lo, double hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = tu_uniform(r, lo, hi);
}

/* |a - b| <= atol + rtol*|b|, element by element, with a readable failure */
static inline void tu_assert_close_(const double *a, const double *b, size_t n, double rtol, double atol,
                                    const char *what, const char *file, int line)
{
    for (size_t i = 0; i < n; i++) {
        double d = fabs(a[i] - b[i]);
        if (!(d <= atol + rtol * fabs(b[i]))) {
            char msg[256];
            snprintf(msg, sizeof msg, "%s[%zu]: got %.17g, want %.17g (diff %.3g)", what, i, a[i], b[i], d);
            print_error("%s\n", msg);
            _fail(file, line);
        }
    }
}
#define tu_assert_close(a, b, n, rtol, atol) \
    tu_assert_close_((a), (b), (n), (rtol), (atol), #a, __FILE__, __LINE__)

/* max |a_i - b_i| / max(|b|_inf, tiny) */
static inline double tu_rel_err(const double *a, const double *b, size_t n)
{
    double num = 0.0, den = 1e-300;
    for (size_t i = 0; i < n; i++) {
        num = fmax(num, fabs(a[i] - b[i]));
        den = fmax(den, fabs(b[i]));
    }
    return num / den;
}

static inline double *tu_alloc(size_t n)
{
    double *p = calloc(n ? n : 1, sizeof(double));
    assert_non_null(p);
    return p;
}

#endif
