/* cli.h - shared pieces of the `mlp2` command: exit codes, messages,
 * option parsing, and file reading and writing. */
#ifndef MLP2_TOOLS_CLI_H
#define MLP2_TOOLS_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "csv.h"

/* Exit codes (documented in `mlp2 --help`). */
enum {
    EXIT_OK = 0,
    EXIT_TRAIN = 1,       /* training failed: non-finite loss, out of memory */
    EXIT_USAGE = 2,       /* bad command line */
    EXIT_DATA = 3,        /* bad input: CSV or model file content, data too large */
    EXIT_IO = 4,          /* a file could not be opened, read or written */
    EXIT_INTERRUPT = 130  /* stopped by SIGINT (128 + 2) */
};

#if defined(__GNUC__)
#define CLI_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CLI_PRINTF(a, b)
#endif

/* "mlp2: <message>\n" on stderr. */
void cli_error(const char *fmt, ...) CLI_PRINTF(1, 2);
/* "mlp2 <cmd>: <message>\nTry 'mlp2 <cmd> --help'.\n" on stderr; returns EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) CLI_PRINTF(2, 3);

/* Command-line options.  An option table ends with a zero entry. */
typedef struct cli_option {
    const char *name; /* long name without "--" */
    char short_name;  /* 0: none */
    int has_arg;
    int id;
} cli_option;

/* Calls on_option(ctx, id, value) for each option (value NULL when it takes
 * none) and on_arg(ctx, arg) for each operand, in order; "--" ends options;
 * "--name=value", "--name value", "-o value" and "-ovalue" are accepted.
 * Stops at the first non-zero return of a callback and returns it; prints
 * usage errors itself and returns EXIT_USAGE. */
int cli_parse(const char *cmd, const cli_option *opts, int argc, char **argv,
              int (*on_option)(void *ctx, int id, const char *value), int (*on_arg)(void *ctx, const char *arg),
              void *ctx);

/* Read all of path ("-": standard input, to its end) into a malloc'ed
 * buffer.  EXIT_OK, or EXIT_IO / EXIT_DATA after the message. */
int cli_slurp(const char *path, char **buf, size_t *len);

/* Read a whole CSV file ("-" is standard input) into t.  On failure prints
 * "path:LINE: column N ("name"): message" for an error in one field,
 * "path:LINE: message" for one about a line, "path: message" for one about
 * the file as a whole, and returns EXIT_DATA or EXIT_IO. */
int cli_read_csv(const char *path, const csv_options *opt, csv_table *t);

#endif
