/* apply.c - running a model on a CSV file, for eval and predict (see
 * apply.h). */
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "classify.h"
#include "common.h"
#include "model.h"
#include "outfile.h"

static int use_option(void *ctx, int id, const char *v)
{
    use_opts *o = ctx;
    switch (id) {
    case U_HELP: return print_help3(o->help, data_options_help, o->help_tail) == EXIT_OK ? -1 : EXIT_IO;
    case U_MODEL: o->model = v; return 0;
    case U_OUTPUT: o->output = v; return 0;
    case U_EXACT: o->exact = 1; return 0;
    case U_PROBA: o->proba = 1; return 0;
    case U_KEEP: return col_list_add(o->cmd, "keep", &o->keep, v);
    case U_JSON: o->json = 1; return 0;
    case U_CSV: o->csv = 1; return 0;
    default: return data_option(o->cmd, &o->dopt, id, v);
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
    if (strcmp(o->model, "-") == 0 && strcmp(o->data, "-") == 0)
        return cli_usage_error(o->cmd, "the model and the data cannot both come from standard input ('-')");
    if (o->json && o->csv)
        return cli_usage_error(o->cmd, "--json and --csv cannot be used together");
    const io_file files[] = {{"-m", o->model, 0}, {"DATA", o->data, 0}, {"-o", o->output, 1}};
    if ((rc = check_distinct(o->cmd, files, sizeof files / sizeof files[0])))
        return rc;
    if (o->output && (rc = check_output_dir(o->output)))
        return rc;
    return 0;
}

void use_opts_free(use_opts *o)
{
    data_opts_free(&o->dopt);
    col_list_free(&o->keep);
}

typedef struct use_ctx {
    const columns *c;
    size_t n_needed;
    const col_list *keep;
    const char *label; /* a classifier's label column, read as text when present */
} use_ctx;

/* With header names on both sides only the model's columns are read (and
 * the --keep ones as text); otherwise every column not kept is a number,
 * to be matched by position. */
static csv_col_use apply_use(void *ctx, size_t index, const char *name, int has_header)
{
    const use_ctx *u = ctx;
    int keep = u->keep->n && col_list_match(u->keep, index, name);
    if (u->label && strcmp(name, u->label) == 0)
        return CSV_COL_TEXT;
    if (!has_header || !(u->c->flags & COLUMNS_HEADER))
        return keep ? CSV_COL_TEXT : CSV_COL_NUMBER;
    int need = 0;
    for (size_t i = 0; i < u->n_needed && !need; i++)
        need = strcmp(u->c->names[i], name) == 0;
    return keep && need ? CSV_COL_BOTH : keep ? CSV_COL_TEXT : need ? CSV_COL_NUMBER : CSV_COL_SKIP;
}

int apply_model(const use_opts *o, int need_targets, applied *a)
{
    int rc;
    memset(a, 0, sizeof *a);
    a->shown = strcmp(o->data, "-") == 0 ? "<stdin>" : o->data;
    if ((rc = load_model(o->model, &a->net, &a->c, NULL)))
        return rc;
    const columns *c = &a->c;
    if ((rc = classes_load(o->model, a->net, &a->cls, &a->classifier)))
        return rc;
    /* a classifier's targets are its classes: eval reads the label column as text */
    use_ctx u = {.c = c, .n_needed = c->n_in + (need_targets && !a->classifier ? c->n_out : 0), .keep = &o->keep,
                 .label = a->classifier && need_targets ? a->cls.column : NULL};
    if (a->classifier)
        need_targets = 0;
    if ((rc = data_read(&o->dopt, o->data, &a->t, apply_use, &u)) ||
        (rc = col_list_check(&o->keep, "keep", a->shown, a->t.n_fields)))
        return rc;
    a->idx = malloc((c->n_in + c->n_out) * sizeof *a->idx);
    if (!a->idx) {
        cli_error("out of memory");
        return EXIT_DATA;
    }
    if ((rc = bind_columns(a->shown, &a->t, c, need_targets, a->idx)))
        return rc;
    a->label_col = -1;
    for (size_t j = 0; a->classifier && j < a->t.n_text; j++)
        if (strcmp(a->t.text_names[j], a->cls.column) == 0)
            a->label_col = (long)j;
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
    classes_free(&a->cls);
    mlp2_free(a->net);
}
