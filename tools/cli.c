/* cli.c - messages, option parsing and CSV file loading for `mlp2`. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("mlp2: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "mlp2%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'mlp2%s%s --help'.\n", cmd ? " " : "", cmd ? cmd : "");
    va_end(ap);
    return EXIT_USAGE;
}

static const cli_option *find_long(const cli_option *opts, const char *name, size_t len)
{
    for (; opts->name; opts++)
        if (strlen(opts->name) == len && strncmp(opts->name, name, len) == 0)
            return opts;
    return NULL;
}

static const cli_option *find_short(const cli_option *opts, char c)
{
    for (; opts->name; opts++)
        if (opts->short_name == c)
            return opts;
    return NULL;
}

int cli_parse(const char *cmd, const cli_option *opts, int argc, char **argv,
              int (*on_option)(void *ctx, int id, const char *value), int (*on_arg)(void *ctx, const char *arg),
              void *ctx)
{
    int only_args = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int rc;
        if (only_args || a[0] != '-' || a[1] == '\0') { /* "-" alone is an operand (stdin) */
            if ((rc = on_arg(ctx, a)))
                return rc;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_args = 1;
            continue;
        }
        const cli_option *o;
        const char *value = NULL;
        if (a[1] == '-') {
            const char *name = a + 2, *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            if (!(o = find_long(opts, name, len)))
                return cli_usage_error(cmd, "unknown option '--%.*s'", (int)len, name);
            if (eq && !o->has_arg)
                return cli_usage_error(cmd, "option '--%s' takes no value", o->name);
            if (eq)
                value = eq + 1;
        } else {
            if (!(o = find_short(opts, a[1])))
                return cli_usage_error(cmd, "unknown option '-%c'", a[1]);
            if (a[2] != '\0') {
                if (!o->has_arg)
                    return cli_usage_error(cmd, "option '-%c' takes no value (options cannot be bundled)", a[1]);
                value = a + 2;
            }
        }
        if (o->has_arg && !value) {
            if (i + 1 >= argc)
                return cli_usage_error(cmd, "option '--%s' needs a value", o->name);
            value = argv[++i];
        }
        if ((rc = on_option(ctx, o->id, value)))
            return rc;
    }
    return 0;
}

/* Read all of fd into a malloc'ed buffer. */
static int slurp(int fd, const char *path, char **out, size_t *out_len)
{
    struct stat st;
    size_t cap = 1 << 16, len = 0;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        if ((uintmax_t)st.st_size >= (uintmax_t)SIZE_MAX) {
            cli_error("%s: too large to load: %jd bytes", path, (intmax_t)st.st_size);
            return EXIT_DATA;
        }
        cap = (size_t)st.st_size + 1;
    }
    char *buf = malloc(cap);
    if (!buf) {
        cli_error("%s: too large to load into memory (%zu bytes): out of memory", path, cap - 1);
        return EXIT_DATA;
    }
    for (;;) {
        if (len == cap) {
            size_t ncap = cap * 2;
            char *p = ncap > cap ? realloc(buf, ncap) : NULL;
            if (!p) {
                free(buf);
                cli_error("%s: too large to load into memory (more than %zu bytes): out of memory", path, len);
                return EXIT_DATA;
            }
            buf = p;
            cap = ncap;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            free(buf);
            cli_error("%s: cannot read: %s", path, strerror(e));
            return EXIT_IO;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    *out = buf;
    *out_len = len;
    return EXIT_OK;
}

int cli_slurp(const char *path, char **buf, size_t *len)
{
    int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY);
    const char *shown = fd == STDIN_FILENO ? "<stdin>" : path;
    if (fd < 0) {
        cli_error("%s: cannot open: %s", path, strerror(errno));
        return EXIT_IO;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        cli_error("%s: is a directory", path);
        return EXIT_IO;
    }
    int rc = slurp(fd, shown, buf, len);
    if (fd != STDIN_FILENO)
        close(fd);
    return rc;
}

int cli_read_csv(const char *path, const csv_options *opt, csv_table *t)
{
    const char *shown = strcmp(path, "-") == 0 ? "<stdin>" : path;
    char *buf = NULL;
    size_t len = 0;
    int rc = cli_slurp(path, &buf, &len);
    if (rc)
        return rc;
    csv_error err;
    csv_errcode e = csv_parse(buf, len, opt, t, &err);
    free(buf);
    if (e == CSV_OK)
        return EXIT_OK;
    /* about one field: file:LINE: column N ("name"): ...; about a line:
     * file:LINE: ...; about the data set as a whole: file: ... */
    int whole = e == CSV_EEMPTY || e == CSV_EHEADERONLY || e == CSV_ENOMEM || (e == CSV_EMISSING && !err.field);
    if (err.line && err.field && err.name[0])
        fprintf(stderr, "%s:%zu: column %zu (\"%s\"): %s\n", shown, err.line, err.field, err.name, err.msg);
    else if (err.line && err.field)
        fprintf(stderr, "%s:%zu: column %zu: %s\n", shown, err.line, err.field, err.msg);
    else if (err.line && !whole)
        fprintf(stderr, "%s:%zu: %s\n", shown, err.line, err.msg);
    else
        fprintf(stderr, "%s: %s\n", shown, err.msg);
    return EXIT_DATA;
}
