/* info.c - `mlp2 info`: what a model file holds. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mlp2.h>

#include "cli.h"
#include "commands.h"
#include "common.h"
#include "model.h"

enum { O_HELP = 1 };

static const char info_help[] =
    "Usage: mlp2 info MODEL\n"
    "Print a model's sizes, parameter count, file format version, the scaling of\n"
    "its inputs and targets, and the training settings stored with it.\n"
    "\n"
    "  -h, --help             this help\n"
    "\n";

typedef struct info_opts {
    const char *model;
} info_opts;

static int info_option(void *ctx, int id, const char *v)
{
    (void)ctx;
    (void)v;
    return id == O_HELP ? (print_help(info_help) == EXIT_OK ? -1 : EXIT_IO) : EXIT_USAGE;
}

static int info_arg(void *ctx, const char *a)
{
    info_opts *o = ctx;
    if (o->model)
        return cli_usage_error("info", "more than one model ('%s' and '%s')", o->model, a);
    o->model = a;
    return 0;
}

/* The format version as written in the file's header (bytes 8..11, see
 * docs/FORMAT.md), or 0 if it cannot be read. */
static unsigned long file_format_version(const char *path)
{
    unsigned char h[12];
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t n = fread(h, 1, sizeof h, f);
    fclose(f);
    if (n != sizeof h)
        return 0;
    return (unsigned long)h[8] | (unsigned long)h[9] << 8 | (unsigned long)h[10] << 16 | (unsigned long)h[11] << 24;
}

int cmd_info(int argc, char **argv)
{
    static const cli_option opts[] = {{"help", 'h', 0, O_HELP}, {0, 0, 0, 0}};
    info_opts o = {0};
    int rc = cli_parse("info", opts, argc, argv, info_option, info_arg, &o);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    if (!o.model)
        return cli_usage_error("info", "missing MODEL");
    mlp2 *net = NULL;
    columns c = {0};
    if ((rc = load_model(o.model, &net, &c)))
        goto done;
    size_t n_in = mlp2_n_in(net), n_h = mlp2_n_hidden(net), n_out = mlp2_n_out(net);
    printf("model:          %s\n", o.model);
    printf("format version: %lu\n", file_format_version(o.model));
    printf("network:        %zu-%zu-%zu (inputs, sigmoid hidden units, linear outputs)\n", n_in, n_h, n_out);
    printf("parameters:     %zu\n", mlp2_n_params(net));
    const void *data;
    size_t len;
    int has_cols = mlp2_section_get(net, COLUMNS_SECTION, &data, &len) == MLP2_OK;
    printf("scaling:        %s\n", !has_cols                           ? "none (no column section: a library-made model)"
                                   : (c.flags & COLUMNS_STANDARDISED) ? "standardised, network value = (value - mean) / std"
                                                                       : "none");
    printf("columns:        %zu in the training data%s\n", c.n_src,
           (c.flags & COLUMNS_HEADER) ? ", found by header name" : ", found by position (no header)");
    printf("  %-6s %-20s %6s %14s %14s\n", "role", "name", "column", "mean", "std");
    for (size_t i = 0; i < c.n_in + c.n_out; i++)
        printf("  %-6s %-20s %6zu %14s %14s\n", i < c.n_in ? "input" : "target", c.names[i], c.src[i] + 1,
               fmt(c.mean[i]), fmt(c.scale[i]));
    if (mlp2_section_get(net, SETTINGS_SECTION, &data, &len) == MLP2_OK) {
        printf("training settings:\n");
        const char *s = data, *end = s + len;
        while (s < end) {
            const char *nl = memchr(s, '\n', (size_t)(end - s));
            size_t l = nl ? (size_t)(nl - s) : (size_t)(end - s);
            const char *eq = memchr(s, '=', l);
            if (eq)
                printf("  %-16.*s %.*s\n", (int)(eq - s), s, (int)(l - (size_t)(eq - s) - 1), eq + 1);
            else
                printf("  %.*s\n", (int)l, s);
            s += l + 1;
        }
    } else {
        printf("training settings: none stored\n");
    }
    size_t ns = mlp2_section_count(net);
    printf("sections:      ");
    for (size_t i = 0; i < ns; i++) {
        const char *name = mlp2_section_name(net, i);
        const void *d;
        size_t l = 0;
        mlp2_section_get(net, name, &d, &l);
        printf(" %s (%zu bytes)", name, l);
    }
    printf("%s\n", ns ? "" : " none");
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("cannot write to stdout: %s", strerror(errno));
        rc = EXIT_IO;
    }
done:
    columns_free(&c);
    mlp2_free(net);
    return rc;
}
