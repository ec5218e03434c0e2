/*
 * elementwise.h - the inline pieces of the vectorised element-wise kernels,
 * shared by kernels.c (the seed's sigmoid and squared error) and activ.c
 * (the other activations and the classification heads).  Everything here is
 * branch-free so that loops calling it vectorise.
 */
#ifndef MLP2_ELEMENTWISE_H
#define MLP2_ELEMENTWISE_H

#include "internal.h"

#include <math.h>
#include <string.h>

#if defined(__GNUC__) && !defined(__clang__)
#define MLP2_FMA __attribute__((optimize("fp-contract=fast")))
#else
#define MLP2_FMA
#endif

/* tanh(x), branch-free.  For |x| < 0.5 its Taylor series to x^37 (the
 * terms left out are below 1e-18 relative); above, 1 - 2/(exp(2|x|) + 1)
 * with the sign of x, which rounds to exactly 1 for |x| > 19.1 and stays 1
 * where exp saturates to +Inf.  Error: a few ulps (tests/test_class.c
 * checks it against the C library's tanh). */
static inline double tanh_vec(double x)
{
    const double ax = fabs(x), x2 = x * x;
    double p = 0x1.2efe8db3aff1fp-24; /* x^37: Taylor coefficients, high to low */
    p = p * x2 - 0x1.75cde6563fed9p-23;
    p = p * x2 + 0x1.cd299de4ae6bbp-22;
    p = p * x2 - 0x1.1c77df95c1c0dp-20;
    p = p * x2 + 0x1.5ef2da474e5b7p-19;
    p = p * x2 - 0x1.b0f72d3ee24e9p-18;
    p = p * x2 + 0x1.0b132d39a6050p-16;
    p = p * x2 - 0x1.497d8eea25259p-15;
    p = p * x2 + 0x1.967e18afcafadp-14;
    p = p * x2 - 0x1.f57d7734d1664p-13;
    p = p * x2 + 0x1.3558248036744p-11;
    p = p * x2 - 0x1.7da36452b75e3p-10;
    p = p * x2 + 0x1.d6d3d0e157de0p-9;
    p = p * x2 - 0x1.226e355e6c23dp-7;
    p = p * x2 + 0x1.664f4882c10fap-6;
    p = p * x2 - 0x1.ba1ba1ba1ba1cp-5;
    p = p * x2 + 0x1.1111111111111p-3;
    p = p * x2 - 0x1.5555555555555p-2;
    p = p * x2 + 1.0;
    const double small = x * p;
    const double big = copysign(1.0 - 2.0 / (mlp2__exp(2.0 * ax) + 1.0), x);
    return ax < 0.5 ? small : big;
}

/* log(1 + t) for t in [0, 1], branch-free: 2 atanh(s) with s = t/(2 + t)
 * in [0, 1/3], as its series s + s^3/3 + ... + s^35/35 (the rest is below
 * 1e-18 relative).  No cancellation: t below 2^-53 gives t, not 0. */
static inline double log1p_unit(double t)
{
    const double s = t / (2.0 + t), s2 = s * s;
    double p = 1.0 / 35.0;
    for (int k = 33; k >= 1; k -= 2) /* unrolled by the compiler: constant bounds */
        p = p * s2 + 1.0 / (double)k;
    return 2.0 * s * p;
}

/* softplus(z) = log(1 + exp(z)) = max(z, 0) + log1p(exp(-|z|)): finite for
 * every finite z, never log(0) */
static inline double softplus(double z)
{
    return (z > 0.0 ? z : 0.0) + log1p_unit(mlp2__exp(-fabs(z)));
}

/* sigmoid(z) from e = exp(-|z|): 1/(1 + e) for z >= 0, e/(1 + e) below, so
 * that one exp serves softplus and sigmoid together */
static inline double sigmoid_from(double z, double e)
{
    const double r = 1.0 / (1.0 + e);
    return z >= 0.0 ? r : e * r;
}

/*
 * Row-broadcast kernels.  With few columns the per-row inner loop is too
 * short to vectorise, so the bias is laid out as a tile of TILE_ROWS rows
 * and the matrix walked in tiles of TILE_ROWS*cols contiguous elements.
 */
#define TILE_ROWS 8
#define NARROW 16 /* below this many columns, use the tile */

typedef struct {
    double v[TILE_ROWS * NARROW];
    size_t len;
} bias_tile;

static inline void make_tile(bias_tile *t, size_t cols, const double *b)
{
    t->len = TILE_ROWS * cols;
    for (size_t r = 0; r < TILE_ROWS; r++)
        memcpy(t->v + r * cols, b, cols * sizeof(double));
}

/* Walk the rows x cols matrix in stripes, each with its bias vector: for wide
 * matrices a stripe is one row and the bias b; for narrow ones a stripe is
 * TILE_ROWS rows and the bias the tile.  The remainder rows go one by one. */
#define FOR_EACH_STRIPE(rows, cols, b, BODY)                                     \
    do {                                                                         \
        size_t row_ = 0;                                                         \
        if ((cols) < NARROW) {                                                   \
            bias_tile tile_;                                                     \
            make_tile(&tile_, (cols), (b));                                      \
            for (; row_ + TILE_ROWS <= (rows); row_ += TILE_ROWS) {              \
                const size_t off = row_ * (cols), len = tile_.len;               \
                const double *restrict bb = tile_.v;                             \
                BODY                                                             \
            }                                                                    \
        }                                                                        \
        for (; row_ < (rows); row_++) {                                          \
            const size_t off = row_ * (cols), len = (cols);                      \
            const double *restrict bb = (b);                                     \
            BODY                                                                 \
        }                                                                        \
    } while (0)

#endif
