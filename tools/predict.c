/* predict.c - `mlp2 predict`: a model's predictions for a CSV file, as
 * CSV. */
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
    "of the target names, in the data's own units.  Target columns present in\n"
    "DATA are ignored.  Columns are found by their header names; without a\n"
    "header, DATA must have either the training data's columns in the same order\n"
    "or just the input columns in network order.\n"
    "\n"
    "  -m, --model MODEL      the model file (required)\n"
    "  -o, --output FILE      write to FILE (atomically) instead of stdout\n"
    "      --header           the first row is a header\n"
    "      --no-header        the first row is data\n"
    "      --exact            one row at a time in the library's portable order\n"
    "                         (mlp2_predict_portable): the same bits on every\n"
    "                         machine, for any number of rows, and the bits of\n"
    "                         the code `mlp2 export` writes; slower than the\n"
    "                         default, which uses BLAS and may differ from it in\n"
    "                         the last bits\n"
    "  -h, --help             this help\n"
    "\n";

typedef struct predictions {
    const columns *c;
    size_t m;
    const double *P;
} predictions;

static int write_predictions(FILE *f, void *ctx)
{
    const predictions *p = ctx;
    const columns *c = p->c;
    for (size_t j = 0; j < c->n_out; j++) {
        const char *name = c->names[c->n_in + j];
        int quote = strpbrk(name, ",\"\r\n") != NULL || name[0] == ' ' || name[strlen(name) - 1] == ' ';
        if (j)
            fputc(',', f);
        if (quote) {
            fputc('"', f);
            for (const char *s = name; *s; s++) {
                if (*s == '"')
                    fputc('"', f);
                fputc(*s, f);
            }
            fputc('"', f);
        } else {
            fputs(name, f);
        }
    }
    fputc('\n', f);
    char buf[NUM_BUF];
    for (size_t i = 0; i < p->m && !ferror(f); i++)
        for (size_t j = 0; j < c->n_out; j++) {
            fputs(num_format(p->P[i * c->n_out + j], buf), f);
            fputc(j + 1 < c->n_out ? ',' : '\n', f);
        }
    return ferror(f) ? -1 : 0;
}

int cmd_predict(int argc, char **argv)
{
    static const cli_option predict_options[] = {{"help", 'h', 0, U_HELP},         {"model", 'm', 1, U_MODEL},
                                                 {"output", 'o', 1, U_OUTPUT},     {"header", 0, 0, U_HEADER},
                                                 {"no-header", 0, 0, U_NO_HEADER}, {"exact", 0, 0, U_EXACT},
                                                 {0, 0, 0, 0}};
    use_opts o = {.cmd = "predict", .help = predict_help};
    int rc = use_parse(&o, predict_options, argc, argv);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    applied a;
    if ((rc = apply_model(&o, 0, &a)) == EXIT_OK) {
        predictions pr = {.c = &a.c, .m = a.t.rows, .P = a.P};
        if (o.output) {
            rc = write_atomic(o.output, write_predictions, &pr);
        } else if (write_predictions(stdout, &pr) != 0 || fflush(stdout) != 0) {
            cli_error("cannot write to stdout: %s", strerror(errno));
            rc = EXIT_IO;
        }
    }
    applied_free(&a);
    return rc;
}
