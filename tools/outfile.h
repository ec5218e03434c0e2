/* outfile.h - files the `mlp2` command writes atomically (the model's chart,
 * predict -o): all or nothing, also when a signal ends the process. */
#ifndef MLP2_TOOLS_OUTFILE_H
#define MLP2_TOOLS_OUTFILE_H
#include <stdio.h>

/* Writes the file's content to f; 0 on success. */
typedef int (*writer_fn)(FILE *f, void *ctx);

/* Write a file atomically: a temporary file in the same folder, flushed and
 * synced, then renamed over path.  While the temporary file exists, SIGINT,
 * SIGTERM and SIGHUP remove it before the process dies of the signal (a
 * signal that was ignored stays ignored).  Returns EXIT_OK, or EXIT_IO after
 * printing "mlp2: PATH: cannot create|write: REASON"; path is then as it was. */
int write_atomic(const char *path, writer_fn write, void *ctx);

#endif
