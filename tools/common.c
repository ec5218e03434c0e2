/* common.c - small helpers shared by the `mlp2` commands (see common.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "atomic.h"
#include "cli.h"
#include "common.h"
#include "num.h"

static const char exit_codes_help[] =
    "Exit status:\n"
    "  0    success\n"
    "  1    training failed (a loss or update that is not finite, out of memory);\n"
    "       no model file is written\n"
    "  2    usage error (unknown option, bad value, missing argument)\n"
    "  3    bad data: a CSV or model file that cannot be used, or data too large\n"
    "       for memory; the message names the file, line and column\n"
    "  4    I/O error: a file cannot be opened, read or written\n"
    "  130  interrupted by Ctrl-C (SIGINT)\n";


int print_help(const char *text)
{
    fputs(text, stdout);
    fputs(exit_codes_help, stdout);
    return fflush(stdout) == 0 && !ferror(stdout) ? EXIT_OK : EXIT_IO;
}

int print_help3(const char *head, const char *middle, const char *tail)
{
    fputs(head, stdout);
    fputs(middle, stdout);
    return print_help(tail);
}

double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* %g-style text of x (locale-independent), in a rotating set of buffers so
 * that a few can appear in one printf. */
const char *fmt(double x)
{
    static char bufs[8][NUM_BUF];
    static unsigned next;
    char *b = bufs[next++ % 8];
    if (isnan(x))
        return strcpy(b, "n/a");
    snprintf(b, NUM_BUF, "%.6g", x);
    return b;
}

int parse_double_opt(const char *cmd, const char *opt, const char *v, double lo, double hi, int lo_open,
                     double *out)
{
    double d;
    if (num_parse_double(v, &d) != 0 || d < lo || d > hi || (lo_open && d == lo))
        return cli_usage_error(cmd, "invalid value '%s' for --%s", v, opt);
    *out = d;
    return 0;
}

int parse_size_opt(const char *cmd, const char *opt, const char *v, unsigned long long lo,
                   unsigned long long hi, size_t *out)
{
    unsigned long long u;
    if (num_parse_size(v, lo, hi, &u) != 0)
        return cli_usage_error(cmd, "invalid value '%s' for --%s (an integer from %llu to %llu)", v, opt, lo, hi);
    *out = (size_t)u;
    return 0;
}

/* The folder part of path exists and is writable (checked before training,
 * so a long run is not wasted on a typo). */
int check_output_dir(const char *path)
{
    bool read_only;
    if (strcmp(path, "-") == 0 || mlp2__afile_check(path, &read_only) == 0)
        return EXIT_OK;
    int e = errno;
    if (read_only) {
        cli_error("%s: a read-only file is not replaced (make it writable, or remove it, to replace it)", path);
        return EXIT_IO;
    }
    const char *slash = strrchr(path, '/');
    if (!slash)
        cli_error("%s: cannot write there: .: %s", path, strerror(e));
    else
        cli_error("%s: cannot write there: %.*s: %s", path, slash == path ? 1 : (int)(slash - path), path,
                  strerror(e));
    return EXIT_IO;
}

/* A value on one line: newlines and other control bytes become '?'. */
const char *one_line(const char *s, char *buf, size_t n)
{
    size_t i = 0;
    for (; s[i] && i + 1 < n; i++)
        buf[i] = (unsigned char)s[i] < 0x20 ? '?' : s[i];
    buf[i] = '\0';
    return buf;
}

const char *optim_name(mlp2_optim_kind k)
{
    return k == MLP2_OPTIM_SGD ? "sgd" : k == MLP2_OPTIM_MOMENTUM ? "momentum" : "adam";
}

void put_csv_field(FILE *f, const char *s)
{
    size_t n = strlen(s);
    int quote = strpbrk(s, ",\"\r\n") != NULL || (n > 0 && (s[0] == ' ' || s[n - 1] == ' '));
    if (!quote) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}
