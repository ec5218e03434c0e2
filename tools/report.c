/* report.c - the metrics table (see report.h). */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "metrics.h"
#include "report.h"

void print_metrics_table(FILE *f, const columns *c, size_t m, const double *P, const double *Y,
                         const char *indent)
{
    metrics *per = malloc(c->n_out * sizeof *per), all;
    if (!per) {
        fprintf(f, "%s(out of memory)\n", indent);
        return;
    }
    metrics_compute(m, c->n_out, P, Y, per, &all);
    size_t w = 7;
    for (size_t j = 0; j < c->n_out; j++)
        if (strlen(c->names[c->n_in + j]) > w)
            w = strlen(c->names[c->n_in + j]);
    fprintf(f, "%s%-*s %12s %12s %12s %12s\n", indent, (int)w, "target", "MSE", "RMSE", "MAE", "R^2");
    for (size_t j = 0; j < c->n_out; j++) {
        char name[256]; /* on one line, no control bytes (names come from files) */
        fprintf(f, "%s%-*s %12s %12s %12s %12s\n", indent, (int)w, one_line(c->names[c->n_in + j], name, sizeof name),
                fmt(per[j].mse), fmt(per[j].rmse), fmt(per[j].mae), fmt(per[j].r2));
    }
    fprintf(f, "%s%-*s %12s %12s %12s %12s\n", indent, (int)w, "overall", fmt(all.mse), fmt(all.rmse),
                fmt(all.mae), fmt(all.r2));
    free(per);
}
