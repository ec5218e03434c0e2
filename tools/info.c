/* info.c - `mlp2 info`: what a model file holds, as text or JSON. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mlp2.h>

#include "cli.h"
#include "classify.h"
#include "kinds.h"
#include "commands.h"
#include "common.h"
#include "json.h"
#include "model.h"
#include "num.h"

enum { O_HELP = 1, O_JSON };

static const char info_help[] =
    "Usage: mlp2 info MODEL [--json]\n"
    "Print a model's sizes, parameter count, file format version, the scaling of\n"
    "its inputs and targets, the training settings stored with it, and its\n"
    "sections.  Only what the file holds is shown: a model made with the library\n"
    "alone has no columns or settings.  MODEL may be '-' for standard input.\n"
    "\n"
    "      --json             one JSON document, numbers in full precision\n"
    "  -h, --help             this help\n"
    "\n";

typedef struct info_opts {
    const char *model;
    int json;
} info_opts;

static int info_option(void *ctx, int id, const char *v)
{
    info_opts *o = ctx;
    (void)v;
    if (id == O_JSON) {
        o->json = 1;
        return 0;
    }
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

/* Text for a terminal: bytes below 0x20, 0x7f and '\' as \xNN (so a name
 * can hold no control sequence), the rest as it is. */
static void put_escaped(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == '\\')
            printf("\\x%02x", c);
        else
            putchar(c);
    }
}

static void put_str(const char *s)
{
    put_escaped(s, strlen(s));
}

/* Each key=value line of the settings section, with fn(key, klen, value, vlen). */
static void each_setting(const char *s, size_t len, void (*fn)(const char *, size_t, const char *, size_t, int),
                         int json)
{
    const char *end = s + len;
    int first = 1;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t l = nl ? (size_t)(nl - s) : (size_t)(end - s);
        const char *eq = memchr(s, '=', l);
        if (l > 0) {
            if (eq)
                fn(s, (size_t)(eq - s), eq + 1, l - (size_t)(eq - s) - 1, first);
            else
                fn(s, l, "", 0, first);
            first = 0;
        }
        s += l + 1;
    }
    (void)json;
}

static void text_setting(const char *k, size_t kl, const char *v, size_t vl, int first)
{
    (void)first;
    printf("  ");
    put_escaped(k, kl);
    printf("%*s ", kl < 16 ? (int)(16 - kl) : 0, "");
    put_escaped(v, vl);
    putchar('\n');
}

static void json_setting(const char *k, size_t kl, const char *v, size_t vl, int first)
{
    printf("%s\n    ", first ? "" : ",");
    json_string_n(stdout, k, kl);
    printf(": ");
    json_string_n(stdout, v, vl);
}

static void print_text(const char *path, unsigned long version, const mlp2 *net, const columns *c, int has_cols)
{
    printf("model:          ");
    put_str(path);
    printf("\nformat version: %lu\n", version);
    mlp2_spec spec = {0};
    mlp2_get_spec(net, &spec);
    printf("network:        %zu-%zu-%zu (inputs, %s hidden units, %s outputs)\n", mlp2_n_in(net),
           mlp2_n_hidden(net), mlp2_n_out(net), hidden_name(spec.hidden), head_name(spec.head));
    printf("parameters:     %zu\n", mlp2_n_params(net));
    classes cl = {0};
    int is_classifier = 0;
    if (classes_load(path, net, &cl, &is_classifier) == EXIT_OK && is_classifier) {
        printf("classes:        %zu in the label column \"", cl.n);
        put_str(cl.column);
        printf("\" (%s):", cl.numeric ? "numbers, matched by value" : "texts");
        for (size_t i = 0; i < cl.n; i++) {
            printf(" \"");
            put_str(cl.names[i]);
            printf("\"");
        }
        printf("\n");
    }
    classes_free(&cl);
    if (!has_cols) {
        printf("columns:        none stored (a model made with the library: eval and predict take the\n"
               "                inputs, then the targets, by position, unscaled)\n");
    } else {
        printf("scaling:        %s\n", (c->flags & COLUMNS_STANDARDISED)
                                           ? "standardised, network value = (value - mean) / std"
                                           : "none");
        printf("columns:        %zu read from the training data%s\n", c->n_src,
               (c->flags & COLUMNS_HEADER) ? ", found by header name" : ", found by position (no header)");
        printf("  %-6s %-20s %6s %24s %24s\n", "role", "name", "column", "mean", "std");
        char m[NUM_BUF], d[NUM_BUF];
        for (size_t i = 0; i < c->n_in + c->n_out; i++) {
            printf("  %-6s ", i < c->n_in ? "input" : is_classifier ? "class" : "target");
            put_str(c->names[i]);
            size_t l = strlen(c->names[i]);
            printf("%*s %6zu %24s %24s\n", l < 20 ? (int)(20 - l) : 0, "", c->src[i] + 1,
                   num_format(c->mean[i], m), num_format(c->scale[i], d));
        }
    }
    const void *data;
    size_t len;
    if (mlp2_section_get(net, SETTINGS_SECTION, &data, &len) == MLP2_OK) {
        printf("training settings:\n");
        each_setting(data, len, text_setting, 0);
    } else {
        printf("training settings: none stored\n");
    }
    size_t ns = mlp2_section_count(net);
    printf("sections:      ");
    for (size_t i = 0; i < ns; i++) {
        const char *name = mlp2_section_name(net, i);
        size_t l = 0;
        mlp2_section_get(net, name, &data, &l);
        printf(" ");
        put_str(name);
        printf(" (%zu bytes)", l);
    }
    printf("%s\n", ns ? "" : " none");
}

static void json_column(const columns *c, size_t i, int last)
{
    printf("      {\"name\": ");
    json_string(stdout, c->names[i]);
    printf(", \"column\": %zu, \"mean\": ", c->src[i] + 1);
    json_number(stdout, c->mean[i]);
    printf(", \"std\": ");
    json_number(stdout, c->scale[i]);
    printf("}%s\n", last ? "" : ",");
}

static void print_json(const char *path, unsigned long version, const mlp2 *net, const columns *c, int has_cols)
{
    printf("{\n  \"model\": ");
    json_string(stdout, path);
    printf(",\n  \"format_version\": %lu,\n", version);
    printf("  \"network\": {\"inputs\": %zu, \"hidden\": %zu, \"outputs\": %zu, \"parameters\": %zu},\n",
           mlp2_n_in(net), mlp2_n_hidden(net), mlp2_n_out(net), mlp2_n_params(net));
    if (!has_cols) {
        printf("  \"columns\": null,\n");
    } else {
        printf("  \"columns\": {\n    \"standardised\": %s,\n    \"by_header\": %s,\n    \"read\": %zu,\n",
               (c->flags & COLUMNS_STANDARDISED) ? "true" : "false", (c->flags & COLUMNS_HEADER) ? "true" : "false",
               c->n_src);
        printf("    \"inputs\": [\n");
        for (size_t i = 0; i < c->n_in; i++)
            json_column(c, i, i + 1 == c->n_in);
        printf("    ],\n    \"targets\": [\n");
        for (size_t i = c->n_in; i < c->n_in + c->n_out; i++)
            json_column(c, i, i + 1 == c->n_in + c->n_out);
        printf("    ]\n  },\n");
    }
    const void *data;
    size_t len;
    if (mlp2_section_get(net, SETTINGS_SECTION, &data, &len) == MLP2_OK) {
        printf("  \"settings\": {");
        each_setting(data, len, json_setting, 1);
        printf("\n  },\n");
    } else {
        printf("  \"settings\": null,\n");
    }
    size_t ns = mlp2_section_count(net);
    printf("  \"sections\": [");
    for (size_t i = 0; i < ns; i++) {
        const char *name = mlp2_section_name(net, i);
        size_t l = 0;
        mlp2_section_get(net, name, &data, &l);
        printf("%s\n    {\"name\": ", i ? "," : "");
        json_string(stdout, name);
        printf(", \"bytes\": %zu}", l);
    }
    printf("%s]\n}\n", ns ? "\n  " : "");
}

int cmd_info(int argc, char **argv)
{
    static const cli_option opts[] = {{"help", 'h', 0, O_HELP}, {"json", 0, 0, O_JSON}, {0, 0, 0, 0}};
    info_opts o = {0};
    int rc = cli_parse("info", opts, argc, argv, info_option, info_arg, &o);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    if (!o.model)
        return cli_usage_error("info", "missing MODEL");
    mlp2 *net = NULL;
    columns c = {0};
    unsigned long version = 0;
    if ((rc = load_model(o.model, &net, &c, &version)) == EXIT_OK) {
        const void *data;
        size_t len;
        int has_cols = mlp2_section_get(net, COLUMNS_SECTION, &data, &len) == MLP2_OK;
        const char *shown = strcmp(o.model, "-") == 0 ? "<stdin>" : o.model;
        if (o.json)
            print_json(shown, version, net, &c, has_cols);
        else
            print_text(shown, version, net, &c, has_cols);
        if (fflush(stdout) != 0 || ferror(stdout)) {
            cli_error("cannot write to stdout: %s", strerror(errno));
            rc = EXIT_IO;
        }
    }
    columns_free(&c);
    mlp2_free(net);
    return rc;
}
