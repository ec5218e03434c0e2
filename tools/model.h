/* model.h - a network with the columns `mlp2` keeps beside it: loading a
 * model, finding its columns in a data table, and predicting in the data's
 * own units. */
#ifndef MLP2_TOOLS_MODEL_H
#define MLP2_TOOLS_MODEL_H
#include <stddef.h>

#include <mlp2.h>

#include "columns.h"
#include "csv.h"

/* Load the model at path ("-": standard input, read to its end) with its
 * columns (a model made with the library alone gets inputs then outputs by
 * position, c1, c2, ..., unscaled) and, when version is not NULL, the file
 * format version of its header.  EXIT_OK, or an exit code after the
 * message. */
int load_model(const char *path, mlp2 **net, columns *cols, unsigned long *version);

/* Find the model's columns in a data table: idx[i] for the n_in inputs, then
 * (when need_targets) the n_out targets.  EXIT_OK or EXIT_DATA after the
 * message. */
int bind_columns(const char *path, const csv_table *t, const columns *c, int need_targets, size_t *idx);

/* (x - mean) / scale, also when x - mean alone would overflow. */
double standardise(double x, double mean, double scale);

/* A malloc'ed rows x k matrix: (columns idx[0..k) of t - mean) / scale;
 * NULL when out of memory. */
double *gather(const csv_table *t, const size_t *idx, size_t k, const double *mean, const double *scale);

/* Predictions P (m x n_out) in the data's units for m standardised input
 * rows Xs.  EXIT_OK, or an exit code after the message. */
int predict_units(const mlp2 *net, const columns *c, size_t m, const double *Xs, double *P);
/* The same one row at a time through mlp2_predict_portable: the bits of the
 * code `mlp2 export` writes (predict --exact). */
int predict_units_exact(const mlp2 *net, const columns *c, size_t m, const double *Xs, double *P);

#endif
