/* apply.h - what `mlp2 eval` and `mlp2 predict` share: their common options,
 * and running a model on a CSV file. */
#ifndef MLP2_TOOLS_APPLY_H
#define MLP2_TOOLS_APPLY_H
#include <stddef.h>

#include <mlp2.h>

#include "cli.h"
#include "columns.h"
#include "csv.h"

enum { U_HELP = 1, U_MODEL, U_OUTPUT, U_HEADER, U_NO_HEADER, U_EXACT };

typedef struct use_opts {
    const char *model, *data, *output, *cmd;
    const char *help; /* the command's help text */
    csv_header_mode header;
    int exact; /* predict --exact: mlp2_predict_portable, the order of `mlp2 export` */
} use_opts;

/* Parse the command line of cmd (o->cmd and o->help set) with the option
 * table opts; checks that -m MODEL and DATA are given.  0, -1 after --help,
 * or an exit code after the message. */
int use_parse(use_opts *o, const cli_option *opts, int argc, char **argv);

/* A model run on a data file. */
typedef struct applied {
    const char *shown; /* the data's name in messages */
    mlp2 *net;
    columns c;
    csv_table t;
    size_t *idx; /* the model's columns in t: inputs, then targets */
    double *X;   /* standardised inputs, t.rows x n_in */
    double *P;   /* predictions in the data's units, t.rows x n_out */
} applied;

/* Load o->model, read o->data, find the model's columns (the targets too
 * when need_targets) and predict.  EXIT_OK or an exit code after the
 * message; applied_free in any case. */
int apply_model(const use_opts *o, int need_targets, applied *a);
void applied_free(applied *a);

#endif
