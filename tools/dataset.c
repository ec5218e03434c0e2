/* dataset.c - the training data set and its target columns (see
 * dataset.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dataset.h"
#include "franke.h"
#include "num.h"

void dataset_free(dataset *d)
{
    csv_free(&d->table);
    free(d->in_idx);
    free(d->out_idx);
}

int dataset_embedded(dataset *d)
{
    csv_table *t = &d->table;
    memset(t, 0, sizeof *t);
    t->rows = FRANKE_ROWS;
    t->cols = 3;
    t->has_header = 1;
    t->data = malloc(FRANKE_ROWS * 3 * sizeof *t->data);
    double *X = malloc(FRANKE_ROWS * 2 * sizeof *X), *Y = malloc(FRANKE_ROWS * sizeof *Y);
    t->n_fields = 3;
    t->delim = ',';
    t->names = calloc(3, sizeof *t->names);
    t->field_of = calloc(3, sizeof *t->field_of);
    int ok = t->data && X && Y && t->names && t->field_of;
    if (ok) {
        franke_sample(FRANKE_ROWS, FRANKE_SEED, X, Y);
        for (size_t i = 0; i < FRANKE_ROWS; i++) {
            t->data[3 * i] = X[2 * i];
            t->data[3 * i + 1] = X[2 * i + 1];
            t->data[3 * i + 2] = Y[i];
        }
        const char *names[3] = {"x", "y", "f"};
        for (int j = 0; j < 3 && ok; j++) {
            t->field_of[j] = (size_t)j;
            ok = (t->names[j] = strdup(names[j])) != NULL;
        }
    }
    free(X);
    free(Y);
    if (!ok) {
        cli_error("out of memory");
        return EXIT_TRAIN;
    }
    d->name = "<embedded Franke data>";
    return EXIT_OK;
}

/* Resolve the --target list against the table. */
int dataset_select_targets(dataset *d, char *const *targets, size_t n_targets)
{
    const csv_table *t = &d->table;
    int *is_target = calloc(t->cols, sizeof *is_target);
    d->in_idx = malloc(t->cols * sizeof *d->in_idx);
    d->out_idx = malloc(t->cols * sizeof *d->out_idx);
    if (!is_target || !d->in_idx || !d->out_idx) {
        free(is_target);
        cli_error("out of memory");
        return EXIT_TRAIN;
    }
    int rc = EXIT_OK;
    d->n_out = 0;
    if (n_targets == 0) {
        d->out_idx[d->n_out++] = t->cols - 1;
        is_target[t->cols - 1] = 1;
    }
    for (size_t i = 0; i < n_targets && rc == EXIT_OK; i++) {
        const char *s = targets[i];
        while (rc == EXIT_OK) {
            size_t len = strcspn(s, ",");
            if (len == 0) {
                rc = cli_usage_error("train", "bad --target list '%s'", targets[i]);
                break;
            }
            char *tok = strndup(s, len);
            if (!tok) {
                cli_error("out of memory");
                rc = EXIT_TRAIN;
                break;
            }
            /* a name first (c1, c2, ... without a header), then an index */
            long j = csv_find(t, tok);
            unsigned long long u;
            if (j < 0 && num_parse_size(tok, 1, t->n_fields, &u) == 0) /* the file's field u */
                for (size_t k = 0; k < t->cols; k++)
                    if (t->field_of[k] + 1 == u)
                        j = (long)k;
            if (j < 0) {
                if (num_parse_size(tok, 1, ~0ULL, &u) == 0)
                    fprintf(stderr, "mlp2: %s: target column %s does not exist: the data has %zu columns\n",
                            d->name, tok, t->n_fields);
                else {
                    fprintf(stderr, "mlp2: %s: target column \"%s\" does not exist; the columns are:", d->name, tok);
                    for (size_t k = 0; k < t->cols; k++)
                        fprintf(stderr, "%s %s", k ? "," : "", t->names[k]);
                    fputc('\n', stderr);
                }
                rc = EXIT_DATA;
                free(tok);
                break;
            }
            if (is_target[j]) {
                rc = cli_usage_error("train", "target column '%s' given twice", tok);
                free(tok);
                break;
            }
            free(tok);
            is_target[j] = 1;
            d->out_idx[d->n_out++] = (size_t)j;
            if (s[len] == '\0')
                break;
            s += len + 1;
        }
    }
    d->n_in = 0;
    for (size_t j = 0; j < t->cols; j++)
        if (!is_target[j])
            d->in_idx[d->n_in++] = j;
    free(is_target);
    if (rc == EXIT_OK && d->n_in == 0) {
        fprintf(stderr, "mlp2: %s: no input columns left: all %zu columns are targets\n", d->name, t->cols);
        rc = EXIT_DATA;
    }
    return rc;
}
