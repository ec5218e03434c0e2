/* dataopts.c - the data-reading options of every command (see dataopts.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataopts.h"
#include "num.h"

const char data_options_help[] =
    "      --header           the first row is a header\n"
    "      --no-header        the first row is data\n"
    "  -d, --delimiter SEP    the field separator: ',', ';', 'tab' or one other\n"
    "                         character (default: detected from the first line\n"
    "                         among comma, semicolon and tab)\n"
    "      --missing MODE     error (default) or skip: drop the rows with a\n"
    "                         missing value (empty, NA, N/A, NaN or ?)\n"
    "      --ignore COLS      do not read these columns (names or 1-based\n"
    "                         indices, separated by commas; may be repeated)\n";

int col_list_add(const char *cmd, const char *opt, col_list *l, const char *value)
{
    const char *s = value;
    for (;;) {
        size_t len = strcspn(s, ",");
        if (len == 0)
            return cli_usage_error(cmd, "bad --%s list '%s' (an empty name)", opt, value);
        char **items = realloc(l->items, (l->n + 1) * sizeof *items);
        if (items)
            l->items = items;
        int *used = realloc(l->used, (l->n + 1) * sizeof *used);
        if (used)
            l->used = used;
        char *tok = items && used ? strndup(s, len) : NULL;
        if (!tok) {
            cli_error("out of memory");
            return EXIT_TRAIN;
        }
        l->items[l->n] = tok;
        l->used[l->n++] = 0;
        if (s[len] == '\0')
            return 0;
        s += len + 1;
    }
}

void col_list_free(col_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    free(l->used);
    memset(l, 0, sizeof *l);
}

int col_list_match(const col_list *l, size_t index, const char *name)
{
    int hit = 0;
    for (size_t i = 0; i < l->n; i++) {
        unsigned long long u;
        if (strcmp(l->items[i], name) == 0 ||
            (num_parse_size(l->items[i], 1, SIZE_MAX, &u) == 0 && u == index + 1))
            l->used[i] = hit = 1;
    }
    return hit;
}

int col_list_check(const col_list *l, const char *opt, const char *shown, size_t n_fields)
{
    for (size_t i = 0; i < l->n; i++)
        if (!l->used[i]) {
            unsigned long long u;
            if (num_parse_size(l->items[i], 1, ~0ULL, &u) == 0)
                cli_error("%s: --%s %s: no such column (the data has %zu)", shown, opt, l->items[i], n_fields);
            else
                cli_error("%s: --%s: no column named \"%s\"", shown, opt, l->items[i]);
            return EXIT_DATA;
        }
    return EXIT_OK;
}

int data_option(const char *cmd, data_opts *d, int id, const char *v)
{
    switch (id) {
    case D_HEADER:
    case D_NO_HEADER:
        if (d->header_given)
            return cli_usage_error(cmd, "--header and --no-header cannot be used together or twice");
        d->header_given = 1;
        d->header = id == D_HEADER ? CSV_HEADER_YES : CSV_HEADER_NO;
        return 0;
    case D_DELIMITER:
        if (strcmp(v, "tab") == 0 || strcmp(v, "\\t") == 0)
            d->delim = '\t';
        else if (strlen(v) == 1 && v[0] != '"' && v[0] != '\n' && v[0] != '\r' && v[0] != ' ')
            d->delim = v[0];
        else
            return cli_usage_error(cmd, "invalid --delimiter '%s' (',', ';', 'tab' or one character other than"
                                        " a quote or a space)", v);
        return 0;
    case D_MISSING:
        if (strcmp(v, "error") == 0)
            d->missing = CSV_MISSING_ERROR;
        else if (strcmp(v, "skip") == 0)
            d->missing = CSV_MISSING_SKIP;
        else
            return cli_usage_error(cmd, "invalid --missing '%s' (error or skip)", v);
        return 0;
    case D_IGNORE: return col_list_add(cmd, "ignore", &d->ignore, v);
    default: return EXIT_USAGE;
    }
}

void data_opts_free(data_opts *d)
{
    col_list_free(&d->ignore);
}

typedef struct reader_ctx {
    const data_opts *d;
    csv_col_use (*use)(void *ctx, size_t index, const char *name, int has_header);
    void *ctx;
} reader_ctx;

static csv_col_use column_use(void *ctx, size_t index, const char *name, int has_header)
{
    const reader_ctx *r = ctx;
    if (col_list_match(&r->d->ignore, index, name))
        return CSV_COL_SKIP;
    return r->use ? r->use(r->ctx, index, name, has_header) : CSV_COL_NUMBER;
}

static const char *delim_name(char c, char buf[8])
{
    if (c == '\t')
        return "tab";
    snprintf(buf, 8, "'%c'", c);
    return buf;
}

int data_read(const data_opts *d, const char *path, csv_table *t,
              csv_col_use (*use)(void *ctx, size_t index, const char *name, int has_header), void *ctx)
{
    reader_ctx r = {.d = d, .use = use, .ctx = ctx};
    csv_options o = {.header = d->header, .delim = d->delim, .missing = d->missing, .column_use = column_use,
                     .ctx = &r};
    int rc = cli_read_csv(path, &o, t);
    if (rc)
        return rc;
    const char *shown = strcmp(path, "-") == 0 ? "<stdin>" : path;
    char buf[8];
    if ((rc = col_list_check(&d->ignore, "ignore", shown, t->n_fields))) {
        csv_free(t);
        return rc;
    }
    if (t->delim_detected && t->delim != ',')
        fprintf(stderr, "mlp2: %s: fields separated by %s (detected; --delimiter sets it)\n", shown,
                delim_name(t->delim, buf));
    if (t->skipped)
        fprintf(stderr, "mlp2: %s: %zu rows with a missing value dropped (--missing skip), %zu left\n", shown,
                t->skipped, t->rows);
    return EXIT_OK;
}
