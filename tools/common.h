/* common.h - small helpers every `mlp2` command uses: help output, option
 * values, number text, output folders and the names of library enums. */
#ifndef MLP2_TOOLS_COMMON_H
#define MLP2_TOOLS_COMMON_H
#include <stddef.h>
#include <stdio.h>

#include <mlp2.h>

/* The model section with the training settings, lines of key=value. */
#define SETTINGS_SECTION "cli.settings"

/* Print text and the exit-status table to stdout; EXIT_OK or EXIT_IO. */
int print_help(const char *text);
/* The same for head, then middle, then tail (middle: shared option lines). */
int print_help3(const char *head, const char *middle, const char *tail);

/* Seconds on a monotonic clock. */
double now_seconds(void);

/* "%.6g" text of x ("n/a" for NaN), locale-independent, in a rotating set of
 * 8 buffers so that a few can appear in one printf. */
const char *fmt(double x);

/* Parse an option's value into [lo, hi] (lo excluded when lo_open) or an
 * integer in [lo, hi].  0, or EXIT_USAGE after the usage message. */
int parse_double_opt(const char *cmd, const char *opt, const char *v, double lo, double hi, int lo_open,
                     double *out);
int parse_size_opt(const char *cmd, const char *opt, const char *v, unsigned long long lo, unsigned long long hi,
                   size_t *out);

/* path can be written (lib/atomic.c's mlp2__afile_check): its folder exists
 * and is writable, and it is not a folder or a read-only file.  Checked
 * before training, so a long run is not wasted on a typo.  EXIT_OK or
 * EXIT_IO. */
int check_output_dir(const char *path);

/* s as one CSV field: quoted (with "" for a quote) when it holds a comma,
 * a quote, a line end, or spaces at either end. */
void put_csv_field(FILE *f, const char *s);

/* s on one line in buf[n]: newlines and other control bytes become '?'. */
const char *one_line(const char *s, char *buf, size_t n);

/* The command-line name of an optimizer. */
const char *optim_name(mlp2_optim_kind k);

#endif
