/* report.h - the metrics table printed by `mlp2 train` and `mlp2 eval`. */
#ifndef MLP2_TOOLS_REPORT_H
#define MLP2_TOOLS_REPORT_H
#include <stddef.h>
#include <stdio.h>

#include "columns.h"

/* MSE, RMSE, MAE and R^2 per target of c and overall, for m rows of
 * predictions P and targets Y (m x n_out, data units), each line starting
 * with indent. */
void print_metrics_table(FILE *f, const columns *c, size_t m, const double *P, const double *Y, const char *indent);

#endif
