/* export.c - `mlp2 export`: a model as dependency-free C99 source (and a
 * header), through the library's mlp2_export_c, with the command's column
 * scaling built in so that NAME_predict works in the data's own units. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mlp2.h>

#include "classify.h"
#include "cli.h"
#include "commands.h"
#include "common.h"
#include "model.h"
#include "outfile.h"

enum { O_HELP = 1, O_OUTPUT, O_HEADER_FILE, O_NAME, O_EXP, O_FLOAT };

static const char export_help[] =
    "Usage: mlp2 export MODEL -o NAME.c [--header NAME.h] [OPTIONS]\n"
    "Write MODEL as C99 source that needs nothing but <math.h>: the parameters as\n"
    "hexadecimal constants (bit-exact), the model's input and output scaling, and\n"
    "    void NAME_predict(const double *x, double *y);\n"
    "which takes one row of the model's inputs in the data's own units (network\n"
    "order, as `mlp2 info` lists them) and gives its outputs, like `mlp2 predict`.\n"
    "For a classifier also int NAME_classify(const double *x), the predicted\n"
    "class's index, and NAME_classes[], the class names as in the training data.\n"
    "No allocation, no written global state, no libmlp2, no BLAS.\n"
    "With --exp own (the default) the results are the bits of\n"
    "`mlp2 predict --exact` on every IEEE-754 machine; plain `mlp2 predict` goes\n"
    "through BLAS and agrees with them up to rounding (see docs/CLI.md).\n"
    "\n"
    "  -o, --output FILE.c    the source file (required); written atomically\n"
    "      --header FILE.h    also write a header with the prototype and the sizes\n"
    "                         (NAME_N_IN, NAME_N_OUT, upper case); the source then\n"
    "                         includes it by its file name\n"
    "      --name NAME        prefix of the exported names: a C identifier of at\n"
    "                         most 63 characters (default: the stem of FILE.c,\n"
    "                         with other characters turned into '_')\n"
    "      --exp own|libm     the hidden units' exp: the library's own algorithm\n"
    "                         written out (bit-identical), or the target's libm\n"
    "      --float            float parameters, arithmetic and API, for small\n"
    "                         targets (error measured in docs/CLI.md)\n"
    "  -h, --help             this help\n"
    "\n"
    "Build the file in an ISO C mode (-std=c99 or later), without -ffast-math.\n"
    "SOURCE_DATE_EPOCH, when set, is the export time written in the comment.\n"
    "\n";

typedef struct export_opts {
    const char *model, *output, *header, *name;
    mlp2_export_exp exp;
    int use_float;
} export_opts;

static int export_option(void *ctx, int id, const char *v)
{
    export_opts *o = ctx;
    switch (id) {
    case O_HELP:
        return print_help(export_help) == EXIT_OK ? -1 : EXIT_IO;
    case O_OUTPUT:
        o->output = v;
        return 0;
    case O_HEADER_FILE:
        o->header = v;
        return 0;
    case O_NAME:
        o->name = v;
        return 0;
    case O_EXP:
        if (strcmp(v, "own") == 0)
            o->exp = MLP2_EXPORT_EXP_OWN;
        else if (strcmp(v, "libm") == 0)
            o->exp = MLP2_EXPORT_EXP_LIBM;
        else
            return cli_usage_error("export", "invalid value '%s' for --exp (own or libm)", v);
        return 0;
    case O_FLOAT:
        o->use_float = 1;
        return 0;
    default:
        return EXIT_USAGE;
    }
}

static int export_arg(void *ctx, const char *a)
{
    export_opts *o = ctx;
    if (o->model)
        return cli_usage_error("export", "more than one model ('%s' and '%s')", o->model, a);
    o->model = a;
    return 0;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* The default name: the stem of the output file, each character that cannot
 * be in an identifier turned into '_', "m" in front of a leading digit or of
 * a reserved start ("__", "_" and a capital), at most 63 characters. */
static void default_name(const char *output, char name[64])
{
    const char *b = base_name(output), *dot = strrchr(b, '.');
    size_t n = dot && dot != b ? (size_t)(dot - b) : strlen(b), k = 0;
    if (n == 0 || (b[0] >= '0' && b[0] <= '9') || (b[0] == '_' && n > 1 && (b[1] == '_' || (b[1] >= 'A' && b[1] <= 'Z'))))
        name[k++] = 'm';
    for (size_t i = 0; i < n && k < 63; i++) {
        const char c = b[i];
        const int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        name[k++] = ok ? c : '_';
    }
    name[k] = '\0';
}

/* The model's path for the comment block: one line, no end of comment. */
static void comment_text(const char *s, char *buf, size_t n)
{
    one_line(s, buf, n);
    for (char *p = buf; (p = strstr(p, "*/")) != NULL;)
        p[1] = '?';
}

/* When: SOURCE_DATE_EPOCH (for reproducible builds) or now, in UTC. */
static void export_time(char buf[32])
{
    time_t t = time(NULL);
    const char *e = getenv("SOURCE_DATE_EPOCH");
    if (e && *e) {
        char *end;
        errno = 0;
        long long v = strtoll(e, &end, 10);
        if (!*end && errno == 0 && v >= 0)
            t = (time_t)v;
    }
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        strcpy(buf, "unknown");
}

typedef struct export_job {
    const mlp2 *net;
    const mlp2_export_options *opt;
    mlp2_export_part part;
} export_job;

static int write_part(FILE *f, void *ctx)
{
    const export_job *j = ctx;
    return mlp2_export_c(j->net, j->opt, j->part, f) == MLP2_OK ? 0 : -1;
}

/* Options and paths, before anything is read or written. */
static int check_opts(const export_opts *o, char name[64])
{
    if (!o->model)
        return cli_usage_error("export", "missing MODEL");
    if (!o->output)
        return cli_usage_error("export", "missing -o FILE.c");
    if (o->header && strcmp(o->header, o->output) == 0)
        return cli_usage_error("export", "--header and -o name the same file '%s'", o->output);
    if (strcmp(o->output, o->model) == 0 || (o->header && strcmp(o->header, o->model) == 0))
        return cli_usage_error("export", "the output would overwrite the model '%s'", o->model);
    if (o->header && strpbrk(base_name(o->header), "\"\\"))
        return cli_usage_error("export", "--header '%s': the file name cannot be #included (it has a quote or "
                                         "backslash)", o->header);
    if (o->name) {
        if (!mlp2_export_name_ok(o->name))
            return cli_usage_error("export", "--name '%s' is not usable as a C identifier prefix: use 1 to 63 "
                                             "letters, digits and '_', not starting with a digit, '__' or '_' and "
                                             "a capital", o->name);
        strcpy(name, o->name);
    } else {
        default_name(o->output, name);
    }
    const io_file files[] = {{"MODEL", o->model, 0}, {"-o", o->output, 1}, {"--header", o->header, 1}};
    int rc = check_distinct("export", files, sizeof files / sizeof files[0]);
    if (rc == EXIT_OK)
        rc = check_output_dir(o->output);
    if (rc == EXIT_OK && o->header)
        rc = check_output_dir(o->header);
    return rc;
}

int cmd_export(int argc, char **argv)
{
    static const cli_option opts[] = {{"help", 'h', 0, O_HELP},       {"output", 'o', 1, O_OUTPUT},
                                      {"header", 0, 1, O_HEADER_FILE}, {"name", 0, 1, O_NAME},
                                      {"exp", 0, 1, O_EXP},            {"float", 0, 0, O_FLOAT},
                                      {0, 0, 0, 0}};
    export_opts o = {0};
    char name[64], model_text[512], when[32];
    int rc = cli_parse("export", opts, argc, argv, export_option, export_arg, &o);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    if ((rc = check_opts(&o, name)))
        return rc;
    mlp2 *net = NULL;
    columns c = {0};
    classes cls = {0};
    int is_classifier = 0;
    if ((rc = load_model(o.model, &net, &c, NULL)) || (rc = classes_load(o.model, net, &cls, &is_classifier)))
        goto done;
    comment_text(o.model, model_text, sizeof model_text);
    export_time(when);
    const size_t ni = c.n_in;
    mlp2_export_options eo = {.name = name, .exp = o.exp, .use_float = o.use_float,
                              .header = o.header ? base_name(o.header) : NULL,
                              .in_mean = c.mean, .in_scale = c.scale,
                              .out_mean = c.mean + ni, .out_scale = c.scale + ni,
                              .model_file = model_text, .exported = when,
                              .class_names = is_classifier ? (const char *const *)cls.names : NULL};
    /* everything is checked (a dry run) before a file is touched */
    for (int p = 0; p < 2; p++) {
        mlp2_status st = mlp2_export_c_buffer(net, &eo, p ? MLP2_EXPORT_HEADER : MLP2_EXPORT_SOURCE, NULL, 0, NULL);
        if (st == MLP2_ERANGE) {
            cli_error("%s: a parameter or scaling value is beyond float's range (or a scale rounds to 0): "
                      "it cannot be exported with --float", o.model);
            rc = EXIT_DATA;
            goto done;
        }
        if (st != MLP2_OK) {
            cli_error("%s: cannot export: %s", o.model, mlp2_strerror(st));
            rc = EXIT_DATA;
            goto done;
        }
    }
    export_job src = {net, &eo, MLP2_EXPORT_SOURCE}, hdr = {net, &eo, MLP2_EXPORT_HEADER};
    if ((rc = write_atomic(o.output, write_part, &src)) == EXIT_OK && o.header &&
        (rc = write_atomic(o.header, write_part, &hdr)) != EXIT_OK)
        cli_error("%s was written, but the header %s was not", o.output, o.header);
done:
    classes_free(&cls);
    columns_free(&c);
    mlp2_free(net);
    return rc;
}
