/* mpi_train.h - `mlp2-mpi train`: the `mlp2 train` command (train.c) run
 * by every process of MPI_COMM_WORLD, each with its own rows (mpi_main.c,
 * mpi_read.c, mpi_trainset.c). */
#ifndef MLP2_TOOLS_MPI_TRAIN_H
#define MLP2_TOOLS_MPI_TRAIN_H
#include <stdio.h>

#include <mpi.h>

#include "mpi_read.h"
#include "train.h"

typedef struct mpi_ctx {
    MPI_Comm comm;
    int rank, size;
    FILE *err;              /* this process's own stderr (others' stderr is /dev/null) */
    size_t m_train, m_val;  /* rows held here */
} mpi_ctx;

/* Fill this process's X, Y, Xv, Yv (and P) from the rows read (D, and V
 * with --val-data whose columns v_idx are the inputs then the targets),
 * with s->m_train and s->m_val the global counts; standardise them.  The
 * same exit code on every process. */
int mpi_place_rows(mpi_ctx *m, const train_opts *o, train_state *s, const split_csv *D, const split_csv *V,
                   const size_t *v_idx);

#endif
