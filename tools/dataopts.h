/* dataopts.h - the options every `mlp2` command has for reading its CSV
 * data: --header/--no-header, --delimiter, --missing and --ignore; and
 * reading a data file with them. */
#ifndef MLP2_TOOLS_DATAOPTS_H
#define MLP2_TOOLS_DATAOPTS_H
#include <stddef.h>

#include "cli.h"
#include "csv.h"

/* Option ids, apart from each command's own (which stay below 100). */
enum { D_HEADER = 100, D_NO_HEADER, D_DELIMITER, D_MISSING, D_IGNORE };

/* For a command's option table. */
#define DATA_OPTIONS                                                                                           \
    {"header", 0, 0, D_HEADER}, {"no-header", 0, 0, D_NO_HEADER}, {"delimiter", 'd', 1, D_DELIMITER},         \
        {"missing", 0, 1, D_MISSING}, {"ignore", 0, 1, D_IGNORE}

/* The help lines of those options. */
extern const char data_options_help[];

/* A list of columns (--ignore, --keep): names or 1-based indices, separated
 * by commas; the option may be repeated. */
typedef struct col_list {
    char **items;   /* malloc'ed tokens */
    int *used;      /* each token matched a column */
    size_t n;
} col_list;

int col_list_add(const char *cmd, const char *opt, col_list *l, const char *value);
void col_list_free(col_list *l);
/* Does a token name the column index (0-based) called name?  A token
 * matches the column of that name, and a number also the column at that
 * 1-based position.  Marks the tokens that matched. */
int col_list_match(const col_list *l, size_t index, const char *name);
/* After reading: a token that matched no column is an error (EXIT_DATA,
 * message given); n_fields is the file's field count. */
int col_list_check(const col_list *l, const char *opt, const char *shown, size_t n_fields);

typedef struct data_opts {
    csv_header_mode header;
    int header_given;
    char delim; /* 0: detect */
    csv_missing_mode missing;
    col_list ignore;
} data_opts;

/* Handle a D_* option; 0, or EXIT_USAGE after the message. */
int data_option(const char *cmd, data_opts *d, int id, const char *value);
void data_opts_free(data_opts *d);

/* Read path ("-": stdin) with d's header, separator and missing-value
 * choices and the column choice use (NULL: every column not ignored is a
 * number; --ignore is applied before use is asked).  Reports a detected
 * separator other than ',' and rows dropped for missing values on stderr.
 * EXIT_OK, or an exit code after the message. */
int data_read(const data_opts *d, const char *path, csv_table *t,
              csv_col_use (*use)(void *ctx, size_t index, const char *name, int has_header), void *ctx);

#endif
