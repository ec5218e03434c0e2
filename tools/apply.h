/* apply.h - what `mlp2 eval` and `mlp2 predict` share: their common options,
 * and running a model on a CSV file. */
#ifndef MLP2_TOOLS_APPLY_H
#define MLP2_TOOLS_APPLY_H
#include <stddef.h>

#include <mlp2.h>

#include "classes.h"
#include "cli.h"
#include "columns.h"
#include "csv.h"
#include "dataopts.h"

enum { U_HELP = 1, U_MODEL, U_OUTPUT, U_KEEP, U_JSON, U_CSV, U_EXACT, U_PROBA };

typedef struct use_opts {
    const char *model, *data, *output, *cmd;
    const char *help, *help_tail; /* the command's help, around the data options */
    data_opts dopt;   /* --header, --delimiter, --missing, --ignore */
    col_list keep;    /* predict --keep */
    int json, csv;    /* eval --json, --csv */
    int exact;        /* predict --exact: mlp2_predict_portable, the order of `mlp2 export` */
    int proba;        /* predict --proba: a classifier's class probabilities too */
} use_opts;

/* Parse the command line of cmd (o->cmd, o->help and o->help_tail set) with the option
 * table opts; checks that -m MODEL and DATA are given.  0, -1 after --help,
 * or an exit code after the message.  use_opts_free in any case. */
int use_parse(use_opts *o, const cli_option *opts, int argc, char **argv);
void use_opts_free(use_opts *o);

/* A model run on a data file. */
typedef struct applied {
    const char *shown; /* the data's name in messages */
    mlp2 *net;
    columns c;
    csv_table t; /* the columns the model uses, and the --keep columns as text */
    size_t *idx; /* the model's columns in t: inputs, then targets */
    double *X;   /* standardised inputs, t.rows x n_in */
    double *P;   /* predictions in the data's units, t.rows x n_out */
    int classifier; /* the model has classes: P holds class probabilities */
    classes cls;    /* its classes and label column */
    long label_col; /* the label column among t's text columns, or -1 when absent */
} applied;

/* Load o->model ("-": standard input), read o->data (only the columns the
 * model uses when both have header names: the others are not read, whatever
 * they hold), find the model's columns (the targets too when need_targets)
 * and predict.  EXIT_OK or an exit code after the message; applied_free in
 * any case. */
int apply_model(const use_opts *o, int need_targets, applied *a);
void applied_free(applied *a);

#endif
