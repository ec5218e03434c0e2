/* dataset.h - a training data set: a CSV table (or the embedded Franke
 * data) and which of its columns are inputs and which are targets. */
#ifndef MLP2_TOOLS_DATASET_H
#define MLP2_TOOLS_DATASET_H
#include <stddef.h>

#include "csv.h"

typedef struct dataset {
    const char *name; /* file name for messages */
    csv_table table;  /* the whole file (or the embedded data) */
    size_t *in_idx, *out_idx;
    size_t n_in, n_out;
} dataset;

void dataset_free(dataset *d);

/* Fill d->table with the embedded Franke data (columns x, y, f).  EXIT_OK or
 * EXIT_TRAIN (out of memory) after the message. */
int dataset_embedded(dataset *d);

/* Resolve a --target list (n_targets texts of names or 1-based indices
 * separated by commas; none: the last column) against d->table into
 * d->out_idx; every other column is an input.  EXIT_OK or an exit code after
 * the message. */
int dataset_select_targets(dataset *d, char *const *targets, size_t n_targets);

#endif
