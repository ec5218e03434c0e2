/* franke.c - the embedded default data set (see franke.h). */
#include "franke.h"

#include <math.h>

double franke(double x, double y)
{
    const double a = 9 * x, b = 9 * y;
    return 0.75 * exp(-((a - 2) * (a - 2) + (b - 2) * (b - 2)) / 4) +
           0.75 * exp(-(a + 1) * (a + 1) / 49 - (b + 1) / 10) +
           0.5 * exp(-((a - 7) * (a - 7) + (b - 3) * (b - 3)) / 4) -
           0.2 * exp(-(a - 4) * (a - 4) - (b - 7) * (b - 7));
}

/* splitmix64 (Steele, Lea, Flood 2014) */
static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static double uniform(uint64_t *s) { return (double)(splitmix64(s) >> 11) * 0x1.0p-53; }

void franke_sample(size_t rows, uint64_t seed, double *X, double *Y)
{
    uint64_t s = seed;
    for (size_t i = 0; i < rows; i++) {
        X[2 * i] = uniform(&s);
        X[2 * i + 1] = uniform(&s);
        Y[i] = franke(X[2 * i], X[2 * i + 1]);
    }
}
