/* classify.c - labels and classes for the `mlp2` commands (see classify.h). */
#include "classify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "num.h"

csv_col_use label_use(void *ctx, size_t index, const char *name, int has_header)
{
    const label_pick *p = ctx;
    (void)has_header;
    int hit = 0;
    if (p->n_targets == 0)
        hit = index + 1 == p->table->n_fields;
    for (size_t i = 0; i < p->n_targets && !hit; i++) {
        unsigned long long u;
        hit = strcmp(p->targets[i], name) == 0 ||
              (num_parse_size(p->targets[i], 1, ~0ULL, &u) == 0 && u == index + 1);
    }
    return hit ? CSV_COL_TEXT : (csv_col_use)p->others;
}

/* a missing value as the CSV reader knows them: empty, NA, N/A, NaN, ? */
static int missing_text(const char *s)
{
    return !s[0] || strcasecmp(s, "NA") == 0 || strcasecmp(s, "N/A") == 0 || strcasecmp(s, "NaN") == 0 ||
           strcmp(s, "?") == 0;
}

int labels_have_text(const csv_table *t)
{
    double v;
    if (t->n_fields < 2) /* a label and nothing to learn it from: not a classifier (a wrong separator?) */
        return 0;
    for (size_t i = 0; t->n_text && i < t->rows; i++) {
        const char *s = t->text[i * t->n_text];
        if (!missing_text(s) && num_parse(s, strlen(s), &v) == NUM_SYNTAX)
            return 1;
    }
    return 0;
}

static int empty_label(const char *shown, const csv_table *t, size_t row)
{
    fprintf(stderr, "%s:%zu: column \"%s\": an empty class label\n", shown, t->line_of[row], t->text_names[0]);
    return EXIT_DATA;
}

int labels_classes(const char *shown, const csv_table *t, classes *c, size_t *row_class)
{
    for (size_t i = 0; i < t->rows; i++)
        if (!t->text[i * t->n_text][0])
            return empty_label(shown, t, i);
    int rc = classes_build(c, (const char *const *)t->text, t->rows, t->n_text);
    if (rc == -2) {
        cli_error("%s: more than %u distinct labels in column \"%s\": is it really a class?", shown, CLASSES_MAX,
                  t->text_names[0]);
        return EXIT_DATA;
    }
    if (rc != 0 || !(c->column = strdup(t->text_names[0]))) {
        cli_error("out of memory");
        return EXIT_TRAIN;
    }
    if (c->n < 2) {
        cli_error("%s: column \"%s\" holds one label only (\"%s\"): a classifier needs at least 2 classes", shown,
                  t->text_names[0], c->names[0]);
        return EXIT_DATA;
    }
    return labels_lookup(shown, t, 0, c, row_class);
}

int labels_lookup(const char *shown, const csv_table *t, size_t col, const classes *c, size_t *row_class)
{
    for (size_t i = 0; i < t->rows; i++) {
        const char *s = t->text[i * t->n_text + col];
        long k = classes_find(c, s);
        if (k < 0) {
            fprintf(stderr, "%s:%zu: column \"%s\": the label \"%s\" is not one of the model's %zu classes (none of"
                            " the training rows had it)\n",
                    shown, t->line_of[i], t->text_names[col], s, c->n);
            return EXIT_DATA;
        }
        row_class[i] = (size_t)k;
    }
    return EXIT_OK;
}

int classes_store(mlp2 *net, const classes *c)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    if (classes_encode(c, &buf, &len) != 0) {
        cli_error("cannot store the classes (out of memory, or a label longer than 65535 bytes)");
        return EXIT_DATA;
    }
    mlp2_status st = mlp2_section_set(net, CLASSES_SECTION, buf, len);
    free(buf);
    if (st != MLP2_OK) {
        cli_error("cannot store the classes: %s", mlp2_strerror(st));
        return EXIT_TRAIN;
    }
    return EXIT_OK;
}

int classes_load(const char *path, const mlp2 *net, classes *c, int *found)
{
    const void *data;
    size_t len;
    *found = 0;
    if (mlp2_section_get(net, CLASSES_SECTION, &data, &len) != MLP2_OK)
        return EXIT_OK;
    const char *why = "";
    int rc = classes_decode(data, len, c, &why);
    if (rc == -2) {
        cli_error("out of memory");
        return EXIT_DATA;
    }
    mlp2_spec spec;
    mlp2_get_spec(net, &spec);
    if (rc != 0 || spec.head != MLP2_HEAD_SOFTMAX || c->n != spec.n_out) {
        cli_error("%s: section \"%s\" is malformed: %s", path, CLASSES_SECTION,
                  rc ? why : "its class count does not match the network's softmax outputs");
        classes_free(c);
        return EXIT_DATA;
    }
    *found = 1;
    return EXIT_OK;
}

void argmax_rows(size_t m, size_t k, const double *P, size_t *pred)
{
    for (size_t i = 0; i < m; i++) {
        size_t best = 0;
        for (size_t j = 1; j < k; j++)
            best = P[i * k + j] > P[i * k + best] ? j : best;
        pred[i] = best;
    }
}
