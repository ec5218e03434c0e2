/* main.c - the `mlp2` command: train, evaluate and run two-layer networks
 * on CSV data.  `mlp2 --help` is the manual.  Each command lives in its own
 * file (see commands.h); this one only dispatches. */
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include <mlp2.h>

#include "cli.h"
#include "commands.h"
#include "common.h"

static const char main_help[] =
    "Usage: mlp2 COMMAND [OPTIONS] [ARGS]\n"
    "Train, evaluate and run a two-layer neural network on CSV data: regression\n"
    "(by default a sigmoid hidden layer, linear outputs, mean squared error) or\n"
    "classification (--classify: a softmax over the classes, cross-entropy).\n"
    "\n"
    "Commands:\n"
    "  train [DATA.csv] -o MODEL   train a network (no DATA: the embedded Franke data)\n"
    "  eval -m MODEL DATA.csv      MSE, RMSE, MAE and R^2 per target and overall\n"
    "  predict -m MODEL DATA.csv   write predictions as CSV\n"
    "  info MODEL                  sizes, scaling, training settings and sections\n"
    "  export MODEL -o NAME.c      the network as dependency-free C99 source\n"
    "\n"
    "  mlp2 COMMAND --help         help on one command\n"
    "  mlp2 --version              versions of the tool and the library\n"
    "\n"
    "CSV input: numbers separated by commas (or by semicolons or tabs, detected\n"
    "from the first line; --delimiter sets the separator), one row per line (LF\n"
    "or CRLF), with an optional header row: the first row is taken as a header\n"
    "when one of its fields is neither a number nor a missing value (--header /\n"
    "--no-header force it).  Fields may be quoted (\"...\", with \"\" for a quote)\n"
    "and surrounded by spaces; empty lines at the end are ignored.  Numbers use\n"
    "'.' as the decimal point whatever the locale; Inf is an error; an empty\n"
    "field, NA, N/A, NaN or ? is a missing value: an error, or a dropped row with\n"
    "--missing skip.  --ignore drops columns.  Data errors read\n"
    "FILE:LINE: column N (\"name\"): ... with N the CSV field.\n"
    "DATA (or a MODEL) may be '-' for standard input.\n"
    "Without a header the columns are called c1, c2, ...\n"
    "\n";

/* The commands, by name. */
static const struct command {
    const char *name;
    int (*run)(int argc, char **argv);
} commands[] = {
    {"train", cmd_train},
    {"eval", cmd_eval},
    {"predict", cmd_predict},
    {"info", cmd_info},
    {"export", cmd_export},
};

static int dispatch(int argc, char **argv)
{
    const char *cmd = argv[1];
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(cmd, commands[i].name) == 0)
            return commands[i].run(argc - 2, argv + 2);
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0)
        return print_help(main_help);
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
        printf("mlp2 %s (libmlp2 %s, model format %d)\n%s\n", MLP2_VERSION_STRING, mlp2_version(),
               MLP2_FORMAT_VERSION, mlp2_blas_config());
        return fflush(stdout) == 0 ? EXIT_OK : EXIT_IO;
    }
    if (cmd[0] == '-')
        return cli_usage_error(NULL, "unknown option '%s'", cmd);
    return cli_usage_error(NULL, "unknown command '%s'", cmd);
}

int main(int argc, char **argv)
{
    /* Every number this program reads or writes uses '.': run this thread
     * under the "C" locale whatever the environment (the CSV reader and the
     * number formatter also make sure of it themselves). */
    locale_t c_loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (c_loc)
        uselocale(c_loc);
    if (argc < 2) {
        fputs(main_help, stderr);
        return EXIT_USAGE;
    }
    int rc = dispatch(argc, argv);
    if (c_loc) {
        uselocale(LC_GLOBAL_LOCALE);
        freelocale(c_loc);
    }
    return rc;
}
