/* franke.h - the embedded default data set of `mlp2 train`.
 *
 * Franke's test function on the unit square (R. Franke, 1979):
 *   f(x, y) = 0.75 exp(-((9x-2)^2 + (9y-2)^2) / 4)
 *           + 0.75 exp(-(9x+1)^2 / 49 - (9y+1) / 10)
 *           + 0.5  exp(-((9x-7)^2 + (9y-3)^2) / 4)
 *           - 0.2  exp(-(9x-4)^2 - (9y-7)^2)
 * sampled at FRANKE_ROWS points (x, y) drawn uniformly from [0, 1)^2 by a
 * splitmix64 generator seeded with FRANKE_SEED (x first, then y, each from
 * the top 53 bits of one output).  No noise: the same bits everywhere. */
#ifndef MLP2_TOOLS_FRANKE_H
#define MLP2_TOOLS_FRANKE_H

#include <stddef.h>
#include <stdint.h>

#define FRANKE_ROWS 400
#define FRANKE_SEED UINT64_C(20240229)

double franke(double x, double y);

/* X: rows x 2 (x, y), row-major; Y: rows values f(x, y). */
void franke_sample(size_t rows, uint64_t seed, double *X, double *Y);

#endif
