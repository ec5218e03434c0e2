/* apply.c - running a model on a CSV file, for eval and predict (see
 * apply.h). */
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "common.h"
#include "model.h"

static int use_option(void *ctx, int id, const char *v)
{
    use_opts *o = ctx;
    switch (id) {
    case U_HELP: return print_help(o->help) == EXIT_OK ? -1 : EXIT_IO;
    case U_MODEL: o->model = v; return 0;
    case U_OUTPUT: o->output = v; return 0;
    case U_HEADER: o->header = CSV_HEADER_YES; return 0;
    case U_NO_HEADER: o->header = CSV_HEADER_NO; return 0;
    case U_EXACT: o->exact = 1; return 0;
    default: return EXIT_USAGE;
    }
}

static int use_arg(void *ctx, const char *a)
{
    use_opts *o = ctx;
    if (o->data)
        return cli_usage_error(o->cmd, "more than one data file ('%s' and '%s')", o->data, a);
    o->data = a;
    return 0;
}

int use_parse(use_opts *o, const cli_option *opts, int argc, char **argv)
{
    int rc = cli_parse(o->cmd, opts, argc, argv, use_option, use_arg, o);
    if (rc)
        return rc;
    if (!o->model)
        return cli_usage_error(o->cmd, "missing -m MODEL");
    if (!o->data)
        return cli_usage_error(o->cmd, "missing DATA.csv");
    if (o->output && (rc = check_output_dir(o->output)))
        return rc;
    return 0;
}

int apply_model(const use_opts *o, int need_targets, applied *a)
{
    int rc;
    memset(a, 0, sizeof *a);
    a->shown = strcmp(o->data, "-") == 0 ? "<stdin>" : o->data;
    csv_options copt = {.header = o->header};
    if ((rc = load_model(o->model, &a->net, &a->c)) || (rc = cli_read_csv(o->data, &copt, &a->t)))
        return rc;
    const columns *c = &a->c;
    a->idx = malloc((c->n_in + c->n_out) * sizeof *a->idx);
    if (!a->idx)
        return EXIT_DATA;
    if ((rc = bind_columns(a->shown, &a->t, c, need_targets, a->idx)))
        return rc;
    a->X = gather(&a->t, a->idx, c->n_in, c->mean, c->scale);
    a->P = a->X ? malloc(a->t.rows * c->n_out * sizeof *a->P) : NULL;
    if (!a->X || !a->P) {
        cli_error("%s: out of memory for %zu rows", a->shown, a->t.rows);
        return EXIT_DATA;
    }
    return (o->exact ? predict_units_exact : predict_units)(a->net, c, a->t.rows, a->X, a->P);
}

void applied_free(applied *a)
{
    free(a->X);
    free(a->P);
    free(a->idx);
    csv_free(&a->t);
    columns_free(&a->c);
    mlp2_free(a->net);
}
