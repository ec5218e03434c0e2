/* metrics.c - MSE, RMSE, MAE and R^2 (see metrics.h). */
#include "metrics.h"

#include <math.h>

void metrics_compute(size_t m, size_t k, const double *P, const double *Y, metrics *per, metrics *overall)
{
    double sse_all = 0, sae_all = 0, r2_sum = 0;
    for (size_t j = 0; j < k; j++) {
        double mean = 0, sse = 0, sae = 0, sst = 0;
        for (size_t i = 0; i < m; i++)
            mean += Y[i * k + j];
        mean /= (double)m;
        for (size_t i = 0; i < m; i++) {
            double e = P[i * k + j] - Y[i * k + j], d = Y[i * k + j] - mean;
            sse += e * e;
            sae += fabs(e);
            sst += d * d;
        }
        metrics t = {.mse = sse / (double)m, .mae = sae / (double)m, .r2 = sst > 0 ? 1 - sse / sst : (double)NAN};
        t.rmse = sqrt(t.mse);
        if (per)
            per[j] = t;
        sse_all += sse;
        sae_all += sae;
        r2_sum += t.r2;
    }
    double n = (double)m * (double)k;
    overall->mse = sse_all / n;
    overall->rmse = sqrt(overall->mse);
    overall->mae = sae_all / n;
    overall->r2 = r2_sum / (double)k;
}
