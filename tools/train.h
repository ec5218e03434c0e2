/* train.h - the parts of `mlp2 train` shared by train.c (the command),
 * trainset.c (its matrices) and settings.c (what it stores in the model). */
#ifndef MLP2_TOOLS_TRAIN_H
#define MLP2_TOOLS_TRAIN_H
#include <stddef.h>
#include <stdint.h>

#include <mlp2.h>

#include "classify.h"
#include "columns.h"
#include "csv.h"
#include "dataopts.h"
#include "dataset.h"
#include "progress.h"

/* The options of `mlp2 train`. */
typedef struct train_opts {
    const char *data, *val_data, *output, *plot;
    char **targets;
    size_t n_targets;
    data_opts dopt; /* --header, --delimiter, --missing, --ignore */
    double val, lr, momentum, weight_decay, lr_gamma, min_delta;
    int lr_given, batch_given, val_given, scale, save_on_interrupt, quiet;
    int momentum_given, lr_gamma_given, min_delta_given, patience_given, last_epoch;
    size_t hidden, epochs, batch, lr_step, patience, threads, log_every;
    uint64_t seed;
    mlp2_optim_kind optim;
    int classify;           /* --classify (or implied by a text label column) */
    mlp2_hidden hidden_act; /* --hidden-act */
    int head_given;
    mlp2_head head;         /* --head */
} train_opts;

/* The default --patience when there is validation data: chosen by
 * measurement on five data sets (docs/CLI.md, "Default patience"). */
#define DEFAULT_PATIENCE 50

/* Everything train allocates, freed in one place by train_state_free. */
typedef struct train_state {
    dataset d, dv;          /* the data, and the --val-data file */
    size_t m_train, m_val;  /* training and validation rows */
    size_t batch;           /* rows per step */
    columns cols;           /* names and scaling of inputs and targets */
    double *X, *Y, *Xv, *Yv, *P; /* standardised matrices; P: predictions */
    size_t *perm;
    mlp2 *net;
    progress prog;
    int classify;       /* a classifier: a label column, a softmax head */
    classes cls;        /* its classes */
    size_t *row_class;  /* the class of each row of d.table */
    size_t label_field; /* the label column's 0-based field in the file */
} train_state;

void train_state_free(train_state *s);

/* How `mlp2 train` runs: alone (cmd_train), or as one process of many
 * (mlp2-mpi, tools/mpi_train.c). */
typedef struct train_backend {
    int root; /* this process prints the summary and writes the model and the chart */
    /* fill s (trainset_build alone); EXIT_OK or an exit code, the same on every process */
    int (*build)(const train_opts *o, train_state *s);
    mlp2_status (*train)(train_state *s, const mlp2_train_config *cfg, mlp2_train_report *rep);
    /* every process passes its exit code; all get the same one back (alone: rc) */
    int (*agree)(int rc);
    /* rows of part (0 training, 1 validation) held here; NULL: s->m_train, s->m_val */
    size_t (*local_rows)(const train_state *s, int part);
    /* with ok from every process, the m x k predictions P and targets Y of
     * each gathered on the root in global row order (*Pg, *Yg malloc'ed);
     * returns 1 when the root has them.  NULL: no gathering. */
    int (*gather)(int ok, size_t m, size_t k, const double *P, const double *Y, double **Pg, double **Yg);
} train_backend;

/* The command `train` with argc/argv after the command's name, run by b. */
int train_command(int argc, char **argv, const train_backend *b);

/* trainset.c: the seeded permutation of the validation split (validation
 * rows last), the same for every caller of the same n and seed. */
void trainset_permutation(size_t *perm, size_t n, uint64_t seed);
int trainset_split_counts(const train_opts *o, train_state *s, size_t n, size_t n_val_file);

/* trainset.c: read the data (and --val-data), choose the split and the batch
 * size, fill X, Y, Xv, Yv and standardise them with the training rows' mean
 * and standard deviation.  EXIT_OK or an exit code after the message. */
int trainset_build(const train_opts *o, train_state *s);

/* settings.c: store the columns ("cli.columns") and the training settings
 * ("cli.settings") in the network.  EXIT_OK or an exit code after the
 * message. */
int store_sections(mlp2 *net, const columns *cols, const train_opts *o, const mlp2_train_config *cfg,
                   size_t m_train, size_t m_val, const mlp2_train_report *rep);

/* trainset.c: whether there will be validation data (--val 0 is the only
 * way to have none), whether the run keeps the best epoch's parameters (otherwise the last
 * epoch's), and the patience of its early stopping (0: none). */
int has_validation(const train_opts *o);
int keeps_best(const train_opts *o);
size_t stop_patience(const train_opts *o);

#endif
