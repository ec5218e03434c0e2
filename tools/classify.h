/* classify.h - what `mlp2 train --classify`, `eval` and `predict` add for
 * classifiers: reading a label column as text, the classes stored in the
 * model ("cli.classes", see classes.h), one-hot targets, and the
 * classification metrics.
 *
 * A classifier is a softmax network with one output per class (two classes
 * too: a softmax with 2 outputs, so that every classifier has one
 * probability per class and the same code path).  Its "cli.columns" holds
 * the inputs as usual and one target record per class: the label column,
 * unscaled, named after the class, so the network's outputs are the class
 * probabilities in class order. */
#ifndef MLP2_TOOLS_CLASSIFY_H
#define MLP2_TOOLS_CLASSIFY_H
#include <stddef.h>

#include <mlp2.h>

#include "classes.h"
#include "columns.h"
#include "csv.h"

/* Which field of a file is the label column: the --target tokens (names or
 * 1-based indices; one column) or, with none, the last field.  table is the
 * table being read (its n_fields is known when the callback runs). */
typedef struct label_pick {
    const csv_table *table;
    char *const *targets;
    size_t n_targets;
    int others; /* what the other fields are (CSV_COL_NUMBER) */
} label_pick;

/* A csv column_use callback (ctx: label_pick): the label column as text. */
csv_col_use label_use(void *ctx, size_t index, const char *name, int has_header);

/* Does the label column of t (its one text column) hold a text that is not
 * a number?  Missing values (empty, NA, N/A, NaN, ?), Inf and numbers too
 * large for a double do not count, nor does a file of one column. */
int labels_have_text(const csv_table *t);

/* The classes of t's label column (its text column 0), rows [0, t->rows),
 * and each row's class in row_class (t->rows entries).  A missing (empty)
 * label is an error naming the line.  EXIT_OK or an exit code after the
 * message. */
int labels_classes(const char *shown, const csv_table *t, classes *c, size_t *row_class);

/* Each row's class in row_class; a label that is not a class of c is an
 * error that names it and its line.  EXIT_OK or EXIT_DATA after the message. */
int labels_lookup(const char *shown, const csv_table *t, size_t col, const classes *c, size_t *row_class);

/* Store and load the "cli.classes" section.  EXIT_OK or an exit code after
 * the message; load: *found 0 when the model has no classes (not a
 * classifier made by `mlp2`). */
int classes_store(mlp2 *net, const classes *c);
int classes_load(const char *path, const mlp2 *net, classes *c, int *found);

/* The predicted class of each of m rows of probabilities P (m x k): the
 * first largest. */
void argmax_rows(size_t m, size_t k, const double *P, size_t *pred);

#endif
