/* model.c - a network with its columns (see model.h). */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "model.h"

/* The whole model file ("-": standard input) through mlp2_load_buffer. */
static int read_model(const char *path, mlp2 **net, unsigned long *version)
{
    char *buf = NULL;
    size_t len = 0;
    const char *shown = strcmp(path, "-") == 0 ? "<stdin>" : path;
    int rc = cli_slurp(path, &buf, &len);
    if (rc)
        return rc;
    /* the format version, bytes 8..11 of the header (docs/FORMAT.md) */
    const unsigned char *h = (const unsigned char *)buf;
    if (version)
        *version = len >= 12 ? (unsigned long)h[8] | (unsigned long)h[9] << 8 | (unsigned long)h[10] << 16 |
                                   (unsigned long)h[11] << 24
                             : 0;
    mlp2_status st = mlp2_load_buffer(net, buf, len);
    free(buf);
    if (st != MLP2_OK) {
        cli_error("%s: not a usable model file: %s", shown, mlp2_strerror(st));
        return st == MLP2_ENOMEM ? EXIT_TRAIN : EXIT_DATA;
    }
    return EXIT_OK;
}

int load_model(const char *path, mlp2 **net, columns *cols, unsigned long *version)
{
    int rc0 = read_model(path, net, version);
    if (rc0)
        return rc0;
    const void *data;
    size_t len;
    if (mlp2_section_get(*net, COLUMNS_SECTION, &data, &len) != MLP2_OK) {
        /* a model made with the library alone: inputs then outputs, unscaled */
        size_t n_in = mlp2_n_in(*net), n_out = mlp2_n_out(*net);
        if (columns_alloc(cols, n_in, n_out) != 0) {
            cli_error("out of memory");
            return EXIT_TRAIN;
        }
        cols->n_src = n_in + n_out;
        for (size_t i = 0; i < n_in + n_out; i++) {
            char name[32];
            snprintf(name, sizeof name, "c%zu", i + 1);
            cols->src[i] = i;
            if (!(cols->names[i] = strdup(name))) {
                cli_error("out of memory");
                return EXIT_TRAIN;
            }
        }
        return EXIT_OK;
    }
    const char *why = "";
    int rc = columns_decode(data, len, cols, &why);
    if (rc == -2) {
        cli_error("out of memory");
        return EXIT_TRAIN;
    }
    if (rc != 0 || cols->n_in != mlp2_n_in(*net) || cols->n_out != mlp2_n_out(*net)) {
        cli_error("%s: %s", path, rc ? why : "the column section does not match the network's sizes");
        return EXIT_DATA;
    }
    return EXIT_OK;
}

/* Find the model's columns in a data table.  idx[i] for the n_in inputs, then
 * (when need_targets) the n_out targets. */
int bind_columns(const char *path, const csv_table *t, const columns *c, int need_targets, size_t *idx)
{
    size_t n = c->n_in + (need_targets ? c->n_out : 0);
    if (t->has_header) {
        size_t found = 0;
        for (size_t i = 0; i < n; i++) {
            long j = csv_find(t, c->names[i]);
            if (j >= 0)
                idx[i] = (size_t)j, found++;
        }
        if (found == n)
            return EXIT_OK;
        if (c->flags & COLUMNS_HEADER) {
            for (size_t i = 0; i < n; i++)
                if (csv_find(t, c->names[i]) < 0) {
                    fprintf(stderr, "mlp2: %s: no %s column named \"%s\" (the model needs:", path,
                            i < c->n_in ? "input" : "target", c->names[i]);
                    for (size_t k = 0; k < n; k++)
                        fprintf(stderr, "%s \"%s\"", k ? "," : "", c->names[k]);
                    fputs(")\n", stderr);
                    return EXIT_DATA;
                }
        }
    }
    /* by position */
    if (t->cols == c->n_src) {
        for (size_t i = 0; i < n; i++)
            idx[i] = c->src[i];
        return EXIT_OK;
    }
    if (!need_targets && t->cols == c->n_in) {
        for (size_t i = 0; i < n; i++)
            idx[i] = i;
        return EXIT_OK;
    }
    if (need_targets)
        cli_error("%s: found %zu columns; without matching header names the data must have the training data's"
                  " %zu columns", path, t->cols, c->n_src);
    else
        cli_error("%s: found %zu columns; without matching header names the data must have the training data's"
                  " %zu columns or the model's %zu inputs", path, t->cols, c->n_src, c->n_in);
    return EXIT_DATA;
}

/* (x - mean) / scale, also when x - mean alone would overflow */
double standardise(double x, double mean, double scale)
{
    double d = x - mean;
    return isfinite(d) ? d / scale : x / scale - mean / scale;
}

/* out (m x k) = (columns idx[0..k) of t - mean) / scale */
double *gather(const csv_table *t, const size_t *idx, size_t k, const double *mean, const double *scale)
{
    if (t->rows > SIZE_MAX / sizeof(double) / k)
        return NULL;
    double *out = malloc(t->rows * k * sizeof *out);
    if (!out)
        return NULL;
    for (size_t i = 0; i < t->rows; i++)
        for (size_t j = 0; j < k; j++)
            out[i * k + j] = standardise(t->data[i * t->cols + idx[j]], mean[j], scale[j]);
    return out;
}

/* Predictions in the data's units for m standardised input rows. */
typedef mlp2_status (*predict_fn)(const mlp2 *net, mlp2_workspace *ws, size_t m, const double *X, double *Y);

static int units(predict_fn predict, const mlp2 *net, const columns *c, size_t m, const double *Xs, double *P)
{
    mlp2_status st = predict(net, NULL, m, Xs, P);
    if (st != MLP2_OK) {
        cli_error("prediction failed: %s", mlp2_strerror(st));
        return st == MLP2_ENONFINITE ? EXIT_DATA : EXIT_TRAIN;
    }
    const size_t k = c->n_out;
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < k; j++)
            P[i * k + j] = P[i * k + j] * c->scale[c->n_in + j] + c->mean[c->n_in + j];
    return EXIT_OK;
}

int predict_units(const mlp2 *net, const columns *c, size_t m, const double *Xs, double *P)
{
    return units(mlp2_predict, net, c, m, Xs, P);
}

int predict_units_exact(const mlp2 *net, const columns *c, size_t m, const double *Xs, double *P)
{
    return units(mlp2_predict_portable, net, c, m, Xs, P);
}
