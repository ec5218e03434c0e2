/* eval.c - `mlp2 eval`: a model's errors on a CSV file with targets, as a
 * table, JSON or CSV. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "classify.h"
#include "classreport.h"
#include "commands.h"
#include "common.h"
#include "json.h"
#include "metrics.h"
#include "model.h"
#include "num.h"
#include "report.h"

static const char eval_help[] =
    "Usage: mlp2 eval -m MODEL DATA.csv [OPTIONS]\n"
    "Print MSE, RMSE, MAE and R^2 of MODEL on DATA.csv, per target and overall,\n"
    "in the data's own units.  Overall MSE, RMSE and MAE pool all targets; overall\n"
    "R^2 is the mean of the targets' R^2.\n"
    "Columns are found by their header names, and columns the model does not use\n"
    "are not read, whatever they hold; without a header, DATA must have the\n"
    "training data's columns in the same order.  MODEL or DATA may be '-' for\n"
    "standard input (not both).\n"
    "For a classifier (a model trained with --classify) it prints the accuracy,\n"
    "the log loss, precision, recall, F1 and support per class with their macro\n"
    "averages, and the confusion matrix; DATA needs the label column.\n"
    "\n"
    "  -m, --model MODEL      the model file (required)\n"
    "      --json             one JSON document, numbers in full precision\n"
    "      --csv              CSV: a header row, then one row per target\n"
    "                         (target,mse,rmse,mae,r2; r2 empty when undefined)\n";
static const char eval_help_tail[] =
    "  -h, --help             this help\n"
    "\n";

static void json_metrics(const metrics *m)
{
    printf("{\"mse\": ");
    json_number(stdout, m->mse);
    printf(", \"rmse\": ");
    json_number(stdout, m->rmse);
    printf(", \"mae\": ");
    json_number(stdout, m->mae);
    printf(", \"r2\": ");
    json_number(stdout, m->r2);
    printf("}");
}

static void print_json(const use_opts *o, const applied *a, const metrics *per, const metrics *all)
{
    const columns *c = &a->c;
    printf("{\n  \"model\": ");
    json_string(stdout, strcmp(o->model, "-") == 0 ? "<stdin>" : o->model);
    printf(",\n  \"data\": ");
    json_string(stdout, a->shown);
    printf(",\n  \"rows\": %zu,\n  \"rows_dropped\": %zu,\n  \"targets\": [", a->t.rows, a->t.skipped);
    for (size_t j = 0; j < c->n_out; j++) {
        printf("%s\n    {\"name\": ", j ? "," : "");
        json_string(stdout, c->names[c->n_in + j]);
        printf(", \"metrics\": ");
        json_metrics(&per[j]);
        printf("}");
    }
    printf("\n  ],\n  \"overall\": ");
    json_metrics(all);
    printf("\n}\n");
}

static void print_csv(const applied *a, const metrics *per)
{
    const columns *c = &a->c;
    char b[4][NUM_BUF];
    printf("target,mse,rmse,mae,r2\n");
    for (size_t j = 0; j < c->n_out; j++) {
        put_csv_field(stdout, c->names[c->n_in + j]);
        printf(",%s,%s,%s,%s\n", num_format(per[j].mse, b[0]), num_format(per[j].rmse, b[1]),
               num_format(per[j].mae, b[2]), isnan(per[j].r2) ? "" : num_format(per[j].r2, b[3]));
    }
}

/* The targets of the data, in its units. */
static double *targets_of(const applied *a)
{
    const columns *c = &a->c;
    double *ones = malloc(c->n_out * sizeof *ones), *zeros = calloc(c->n_out, sizeof *zeros), *Y = NULL;
    if (ones && zeros) {
        for (size_t j = 0; j < c->n_out; j++)
            ones[j] = 1;
        Y = gather(&a->t, a->idx + c->n_in, c->n_out, zeros, ones);
    }
    free(ones);
    free(zeros);
    return Y;
}

static int report(const use_opts *o, const applied *a, const double *Y)
{
    const columns *c = &a->c;
    if (!o->json && !o->csv) {
        printf("%s on %s (%zu rows", strcmp(o->model, "-") == 0 ? "<stdin>" : o->model, a->shown, a->t.rows);
        if (a->t.skipped)
            printf("; %zu dropped for a missing value", a->t.skipped);
        printf("):\n");
        print_metrics_table(stdout, c, a->t.rows, a->P, Y, "  ");
        return EXIT_OK;
    }
    metrics *per = malloc(c->n_out * sizeof *per), all;
    if (!per) {
        cli_error("out of memory");
        return EXIT_TRAIN;
    }
    metrics_compute(a->t.rows, c->n_out, a->P, Y, per, &all);
    if (o->json)
        print_json(o, a, per, &all);
    else
        print_csv(a, per);
    free(per);
    return EXIT_OK;
}

/* A classifier's report: the labels of DATA against the predicted classes. */
static int class_eval(const use_opts *o, const applied *a)
{
    const size_t m = a->t.rows, k = a->cls.n;
    if (o->json || o->csv)
        return cli_usage_error("eval", "--json and --csv are not available for classifiers yet");
    if (a->label_col < 0) {
        cli_error("%s: no label column \"%s\" (the model is a classifier: eval needs the true classes)", a->shown,
                  a->cls.column);
        return EXIT_DATA;
    }
    size_t *truth = malloc((m ? m : 1) * sizeof *truth), *pred = malloc((m ? m : 1) * sizeof *pred);
    double *pt = malloc((m ? m : 1) * sizeof *pt);
    class_report r = {0};
    int rc = !truth || !pred || !pt ? EXIT_TRAIN : labels_lookup(a->shown, &a->t, (size_t)a->label_col, &a->cls, truth);
    if (rc == EXIT_OK) {
        argmax_rows(m, k, a->P, pred);
        for (size_t i = 0; i < m; i++)
            pt[i] = a->P[i * k + truth[i]];
        if (class_report_compute(&r, k, m, truth, pred, pt) != 0)
            rc = EXIT_TRAIN;
    }
    if (rc == EXIT_TRAIN)
        cli_error("out of memory");
    if (rc == EXIT_OK) {
        printf("%s on %s (%zu rows", strcmp(o->model, "-") == 0 ? "<stdin>" : o->model, a->shown, m);
        if (a->t.skipped)
            printf("; %zu dropped for a missing value", a->t.skipped);
        printf("):\n");
        class_report_print(stdout, &r, (const char *const *)a->cls.names);
    }
    class_report_free(&r);
    free(truth), free(pred), free(pt);
    return rc;
}

int cmd_eval(int argc, char **argv)
{
    static const cli_option eval_options[] = {{"help", 'h', 0, U_HELP}, {"model", 'm', 1, U_MODEL},
                                              {"json", 0, 0, U_JSON},   {"csv", 0, 0, U_CSV},
                                              DATA_OPTIONS,             {0, 0, 0, 0}};
    use_opts o = {.cmd = "eval", .help = eval_help, .help_tail = eval_help_tail};
    applied a = {0};
    double *Y = NULL;
    int rc = use_parse(&o, eval_options, argc, argv);
    if (rc == 0 && (rc = apply_model(&o, 1, &a)) == EXIT_OK) {
        if (a.classifier) {
            if ((rc = class_eval(&o, &a)) == EXIT_OK && (fflush(stdout) != 0 || ferror(stdout))) {
                cli_error("cannot write to stdout: %s", strerror(errno));
                rc = EXIT_IO;
            }
        } else if (!(Y = targets_of(&a))) {
            cli_error("out of memory");
            rc = EXIT_DATA;
        } else if ((rc = report(&o, &a, Y)) == EXIT_OK && (fflush(stdout) != 0 || ferror(stdout))) {
            cli_error("cannot write to stdout: %s", strerror(errno));
            rc = EXIT_IO;
        }
    }
    free(Y);
    applied_free(&a);
    use_opts_free(&o);
    return rc < 0 ? EXIT_OK : rc;
}
