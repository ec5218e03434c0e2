/* test_options.c - the command's option parser (cli_parse in tools/cli.c)
 * as a plain function: every accepted spelling gives the same calls, and
 * every malformed command line is a usage error (EXIT_USAGE) before any
 * option is acted on wrongly.  (Usage messages go to stderr.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cli.h"

enum { O_QUIET = 1, O_OUTPUT, O_HIDDEN };

static const cli_option opts[] = {
    {"quiet", 'q', 0, O_QUIET},
    {"output", 'o', 1, O_OUTPUT},
    {"hidden", 0, 1, O_HIDDEN},
    {0, 0, 0, 0},
};

/* what the callbacks saw, as text: "q o=FILE h=N arg=X ..." */
typedef struct {
    char log[512];
} seen;

static void add(seen *s, const char *t)
{
    strncat(s->log, t, sizeof s->log - strlen(s->log) - 1);
    strncat(s->log, " ", sizeof s->log - strlen(s->log) - 1);
}

static int on_option(void *ctx, int id, const char *v)
{
    char b[128];
    switch (id) {
    case O_QUIET: snprintf(b, sizeof b, "q%s", v ? "(value!)" : ""); break;
    case O_OUTPUT: snprintf(b, sizeof b, "o=%s", v ? v : "(null)"); break;
    case O_HIDDEN: snprintf(b, sizeof b, "h=%s", v ? v : "(null)"); break;
    default: snprintf(b, sizeof b, "?%d", id); break;
    }
    add(ctx, b);
    return 0;
}

static int on_arg(void *ctx, const char *a)
{
    char b[128];
    snprintf(b, sizeof b, "arg=%s", a);
    add(ctx, b);
    return 0;
}

/* parse a command line given as one string of space-separated words */
static int parse(const char *line, seen *s)
{
    static char buf[256];
    char *argv[32];
    int argc = 0;
    snprintf(buf, sizeof buf, "%s", line);
    for (char *t = strtok(buf, " "); t && argc < 31; t = strtok(NULL, " "))
        argv[argc++] = t;
    argv[argc] = NULL;
    memset(s, 0, sizeof *s);
    return cli_parse("test", opts, argc, argv, on_option, on_arg, s);
}

static void expect_ok(const char *line, const char *want)
{
    seen s;
    const int rc = parse(line, &s);
    if (rc != 0 || strcmp(s.log, want) != 0) {
        print_error("'%s': rc %d, calls \"%s\", want 0 and \"%s\"\n", line, rc, s.log, want);
        fail();
    }
}

static void expect_usage(const char *line)
{
    seen s;
    const int rc = parse(line, &s);
    if (rc != EXIT_USAGE) {
        print_error("'%s': rc %d (calls \"%s\"), want a usage error %d\n", line, rc, s.log, EXIT_USAGE);
        fail();
    }
}

static void test_spellings(void **state)
{
    (void)state;
    expect_ok("-q", "q ");
    expect_ok("--quiet", "q ");
    expect_ok("-o m.mlp2", "o=m.mlp2 ");
    expect_ok("-om.mlp2", "o=m.mlp2 ");
    expect_ok("--output m.mlp2", "o=m.mlp2 ");
    expect_ok("--output=m.mlp2", "o=m.mlp2 ");
    expect_ok("--hidden=8 data.csv -q", "h=8 arg=data.csv q ");
    expect_ok("- -q", "arg=- q ");         /* "-" alone is an operand (stdin) */
    expect_ok("-- -q --x", "arg=-q arg=--x "); /* after "--", operands only */
    expect_ok("-o -q", "o=-q ");          /* a value may start with '-' */
}

static void test_usage_errors(void **state)
{
    (void)state;
    expect_usage("-qo");         /* flags cannot be bundled */
    expect_usage("-qx");
    expect_usage("--quiet=yes"); /* takes no value */
    expect_usage("--output");    /* needs a value */
    expect_usage("-o");
    expect_usage("--nope");
    expect_usage("-x");
    expect_usage("--outpu=m");   /* no abbreviations */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spellings),
        cmocka_unit_test(test_usage_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
