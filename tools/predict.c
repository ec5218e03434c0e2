/* predict.c - `mlp2 predict`: a model's predictions for a CSV file, as
 * CSV, with --keep columns copied before them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "commands.h"
#include "common.h"
#include "num.h"
#include "outfile.h"

static const char predict_help[] =
    "Usage: mlp2 predict -m MODEL DATA.csv [-o OUT.csv] [OPTIONS]\n"
    "Write MODEL's predictions for each row of DATA.csv as CSV, with a header row\n"
    "of the target names, in the data's own units.  Columns are found by their\n"
    "header names, and columns the model does not use (its targets too) are not\n"
    "read, whatever they hold; without a header, DATA must have either the\n"
    "training data's columns in the same order or just the input columns in\n"
    "network order.  MODEL or DATA may be '-' for standard input (not both).\n"
    "\n"
    "  -m, --model MODEL      the model file (required)\n"
    "  -o, --output FILE      write to FILE (atomically) instead of stdout\n"
    "  -k, --keep COLS        copy these columns (an ID, say) to the output, as\n"
    "                         they are, before the predictions (names or 1-based\n"
    "                         indices, separated by commas; may be repeated)\n"
    "      --exact            one row at a time in the library's portable order\n"
    "                         (mlp2_predict_portable): the same bits on every\n"
    "                         machine, for any number of rows, and the bits of\n"
    "                         the code `mlp2 export` writes; slower than the\n"
    "                         default, which uses BLAS and may differ from it in\n"
    "                         the last bits\n"
    "      --proba            a classifier: one probability column per class,\n"
    "                         named after it, before the predicted label\n"
    "For a classifier (trained with --classify) the last column is the predicted\n"
    "label, spelled as in the training data, under the label column's name.\n";
static const char predict_help_tail[] =
    "  -h, --help             this help\n"
    "\n";

typedef struct predictions {
    const applied *a;
    int proba;
} predictions;

/* A classifier's rows: kept columns, probabilities (--proba), the label. */
static int write_classes(FILE *f, const predictions *pr)
{
    const applied *a = pr->a;
    const csv_table *t = &a->t;
    const size_t k = a->cls.n;
    for (size_t j = 0; j < t->n_text; j++) {
        put_csv_field(f, t->text_names[j]);
        fputc(',', f);
    }
    for (size_t j = 0; pr->proba && j < k; j++) {
        put_csv_field(f, a->cls.names[j]);
        fputc(',', f);
    }
    put_csv_field(f, a->cls.column);
    fputc('\n', f);
    char buf[NUM_BUF];
    for (size_t i = 0; i < t->rows && !ferror(f); i++) {
        for (size_t j = 0; j < t->n_text; j++) {
            put_csv_field(f, t->text[i * t->n_text + j]);
            fputc(',', f);
        }
        size_t best = 0;
        for (size_t j = 0; j < k; j++) {
            best = a->P[i * k + j] > a->P[i * k + best] ? j : best;
            if (pr->proba) {
                fputs(num_format(a->P[i * k + j], buf), f);
                fputc(',', f);
            }
        }
        put_csv_field(f, a->cls.names[best]);
        fputc('\n', f);
    }
    return ferror(f) ? -1 : 0;
}

static int write_predictions(FILE *f, void *ctx)
{
    const applied *a = ((const predictions *)ctx)->a;
    if (a->classifier)
        return write_classes(f, ctx);
    const columns *c = &a->c;
    const csv_table *t = &a->t;
    for (size_t j = 0; j < t->n_text; j++) {
        put_csv_field(f, t->text_names[j]);
        fputc(',', f);
    }
    for (size_t j = 0; j < c->n_out; j++) {
        put_csv_field(f, c->names[c->n_in + j]);
        fputc(j + 1 < c->n_out ? ',' : '\n', f);
    }
    char buf[NUM_BUF];
    for (size_t i = 0; i < t->rows && !ferror(f); i++) {
        for (size_t j = 0; j < t->n_text; j++) {
            put_csv_field(f, t->text[i * t->n_text + j]);
            fputc(',', f);
        }
        for (size_t j = 0; j < c->n_out; j++) {
            fputs(num_format(a->P[i * c->n_out + j], buf), f);
            fputc(j + 1 < c->n_out ? ',' : '\n', f);
        }
    }
    return ferror(f) ? -1 : 0;
}

int cmd_predict(int argc, char **argv)
{
    static const cli_option predict_options[] = {{"help", 'h', 0, U_HELP},     {"model", 'm', 1, U_MODEL},
                                                 {"output", 'o', 1, U_OUTPUT}, {"keep", 'k', 1, U_KEEP},
                                                 {"exact", 0, 0, U_EXACT},     {"proba", 0, 0, U_PROBA},
                                                 DATA_OPTIONS,
                                                 {0, 0, 0, 0}};
    use_opts o = {.cmd = "predict", .help = predict_help, .help_tail = predict_help_tail};
    applied a = {0};
    int rc = use_parse(&o, predict_options, argc, argv);
    if (rc == 0 && (rc = apply_model(&o, 0, &a)) == EXIT_OK) {
        predictions pr = {.a = &a, .proba = o.proba};
        if (o.proba && !a.classifier) {
            applied_free(&a);
            use_opts_free(&o);
            return cli_usage_error("predict", "--proba needs a classifier (a model trained with --classify)");
        }
        if (o.output) {
            rc = write_atomic(o.output, write_predictions, &pr);
        } else if (write_predictions(stdout, &pr) != 0 || fflush(stdout) != 0) {
            cli_error("cannot write to stdout: %s", strerror(errno));
            rc = EXIT_IO;
        }
    }
    applied_free(&a);
    use_opts_free(&o);
    return rc < 0 ? EXIT_OK : rc;
}
