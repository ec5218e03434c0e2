/* eval.c - `mlp2 eval`: a model's errors on a CSV file with targets. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "commands.h"
#include "common.h"
#include "model.h"
#include "report.h"

static const char eval_help[] =
    "Usage: mlp2 eval -m MODEL DATA.csv [OPTIONS]\n"
    "Print MSE, RMSE, MAE and R^2 of MODEL on DATA.csv, per target and overall,\n"
    "in the data's own units.  Overall MSE, RMSE and MAE pool all targets; overall\n"
    "R^2 is the mean of the targets' R^2.\n"
    "Columns are found by their header names; without a header, DATA must have\n"
    "the training data's columns in the same order.\n"
    "\n"
    "  -m, --model MODEL      the model file (required)\n"
    "      --header           the first row is a header\n"
    "      --no-header        the first row is data\n"
    "  -h, --help             this help\n"
    "\n";

int cmd_eval(int argc, char **argv)
{
    static const cli_option eval_options[] = {{"help", 'h', 0, U_HELP},
                                              {"model", 'm', 1, U_MODEL},
                                              {"header", 0, 0, U_HEADER},
                                              {"no-header", 0, 0, U_NO_HEADER},
                                              {0, 0, 0, 0}};
    use_opts o = {.cmd = "eval", .help = eval_help};
    int rc = use_parse(&o, eval_options, argc, argv);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    applied a;
    double *Y = NULL;
    if ((rc = apply_model(&o, 1, &a)))
        goto done;
    const columns *c = &a.c;
    double *ones = malloc(c->n_out * sizeof *ones), *zeros = calloc(c->n_out, sizeof *zeros);
    if (ones && zeros) {
        for (size_t j = 0; j < c->n_out; j++)
            ones[j] = 1;
        Y = gather(&a.t, a.idx + c->n_in, c->n_out, zeros, ones);
    }
    free(ones);
    free(zeros);
    if (!Y) {
        cli_error("out of memory");
        rc = EXIT_DATA;
        goto done;
    }
    printf("%s on %s (%zu rows):\n", o.model, a.shown, a.t.rows);
    print_metrics_table(stdout, c, a.t.rows, a.P, Y, "  ");
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("cannot write to stdout: %s", strerror(errno));
        rc = EXIT_IO;
    }
done:
    free(Y);
    applied_free(&a);
    return rc;
}
