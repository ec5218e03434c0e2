/* outfile.h - every file the `mlp2` command writes goes through the
 * project's one atomic writer (lib/atomic.c, docs/FORMAT.md "How files are
 * written"): all or nothing, also when SIGINT, SIGTERM or SIGHUP ends the
 * process during the write; and no output may name an input. */
#ifndef MLP2_TOOLS_OUTFILE_H
#define MLP2_TOOLS_OUTFILE_H
#include <stddef.h>
#include <stdio.h>

#include <mlp2.h>

/* Writes the file's content to f; 0 on success. */
typedef int (*writer_fn)(FILE *f, void *ctx);

/* Write path ("-": standard output) atomically with write(f, ctx).  While
 * the write runs, SIGINT, SIGTERM and SIGHUP remove the command's temporary
 * files before the process dies of the signal (a signal that was ignored
 * stays ignored).  Returns EXIT_OK, or EXIT_IO after printing
 * "mlp2: PATH: cannot create|write: REASON"; path is then as it was. */
int write_atomic(const char *path, writer_fn write, void *ctx);

/* mlp2_save(net, path) under the same signal guard.  EXIT_OK; EXIT_IO or
 * EXIT_TRAIN (out of memory) after "mlp2: PATH: cannot save the model: ...". */
int save_model(const mlp2 *net, const char *path);

/* One file on the command line: its option ("-o", "DATA.csv", ...), its
 * path (NULL: not given; "-": a standard stream, not compared), and
 * whether the command writes it. */
typedef struct io_file {
    const char *option;
    const char *path;
    int output;
} io_file;

/* Before anything is read: no output is the same file as an input or as
 * another output (same device and inode, or, for a file that does not
 * exist yet, the same path).  EXIT_OK, or EXIT_USAGE after a usage error
 * naming both options. */
int check_distinct(const char *cmd, const io_file *f, size_t n);

#endif
