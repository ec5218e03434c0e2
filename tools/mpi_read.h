/* mpi_read.h - mlp2-mpi: each process reads only its own byte range of a
 * CSV file, cut at line ends outside quotes (see mpi_read.c). */
#ifndef MLP2_TOOLS_MPI_READ_H
#define MLP2_TOOLS_MPI_READ_H
#include <stddef.h>
#include <stdio.h>

#include <mpi.h>

#include "csv.h"
#include "dataopts.h"

typedef struct split_csv {
    csv_table probe;   /* the first records: header, separator, columns (not the data) */
    csv_table local;   /* this process's rows, in file order (rows may be 0) */
    size_t row0;       /* global index (after dropped rows) of local row 0 */
    size_t rows;       /* data rows of the whole file */
    size_t skipped;    /* rows dropped for a missing value, whole file */
} split_csv;

/* A collective call: read path with d's options, process r of P taking the
 * rows that start in its byte range.  The header and the separator come
 * from the file's first records, which every process reads.  A data error
 * is printed to err by the process that finds it, with the file's global
 * line; other messages go to stderr.  Returns the same exit code on every
 * process (EXIT_OK or one after the message). */
int mpi_read_csv(MPI_Comm comm, const data_opts *d, const char *path, split_csv *out, FILE *err);

void split_csv_free(split_csv *s);

/* The exit code of the lowest process whose rc is not EXIT_OK (EXIT_OK if
 * none), on every process; *who gets that process (may be NULL). */
int mpi_agree(MPI_Comm comm, int rc, int *who);

#endif
