/* metrics.h - regression metrics in the data's own units. */
#ifndef MLP2_TOOLS_METRICS_H
#define MLP2_TOOLS_METRICS_H

#include <stddef.h>

typedef struct metrics {
    double mse, rmse, mae, r2; /* r2 is NaN when the targets are constant */
} metrics;

/* Per target j < k (per[j]) and overall, for m rows of predictions P and
 * targets Y (both m x k, row-major).  Overall MSE, RMSE and MAE pool every
 * value; overall R^2 is the mean of the targets' R^2 (scikit-learn's
 * "uniform_average"), NaN if any is NaN.  R^2 = 1 - SSE / SST with SST
 * taken around each target's own mean.  per may be NULL. */
void metrics_compute(size_t m, size_t k, const double *P, const double *Y, metrics *per, metrics *overall);

#endif
