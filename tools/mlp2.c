/* mlp2.c - the `mlp2` command: train, evaluate and run two-layer networks
 * on CSV data.  `mlp2 --help` is the manual. */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mlp2.h>

#include "cli.h"
#include "columns.h"
#include "csv.h"
#include "franke.h"
#include "metrics.h"
#include "num.h"
#include "plot.h"

#define SETTINGS_SECTION "cli.settings"

/* ------------------------------------------------------------------------- */
/* Help texts                                                                */
/* ------------------------------------------------------------------------- */

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

static const char main_help[] =
    "Usage: mlp2 COMMAND [OPTIONS] [ARGS]\n"
    "Train, evaluate and run a two-layer neural network (sigmoid hidden layer,\n"
    "linear output, mean squared error) on numeric CSV data.\n"
    "\n"
    "Commands:\n"
    "  train [DATA.csv] -o MODEL   train a network (no DATA: the embedded Franke data)\n"
    "  eval -m MODEL DATA.csv      MSE, RMSE, MAE and R^2 per target and overall\n"
    "  predict -m MODEL DATA.csv   write predictions as CSV\n"
    "  info MODEL                  sizes, scaling and training settings of a model\n"
    "\n"
    "  mlp2 COMMAND --help         help on one command\n"
    "  mlp2 --version              versions of the tool and the library\n"
    "\n"
    "CSV input: comma-separated numbers, one row per line (LF or CRLF), with an\n"
    "optional header row: the first row is taken as a header when one of its\n"
    "non-empty fields is not a number (--header / --no-header force it).\n"
    "Fields may be quoted (\"...\", with \"\" for a quote) and surrounded by\n"
    "spaces; empty lines at the end are ignored.  Numbers use '.' as the\n"
    "decimal point whatever the locale; NaN, Inf and empty fields are errors.\n"
    "DATA may be '-' for stdin.\n"
    "Without a header the columns are called c1, c2, ...\n"
    "\n";

static const char train_help[] =
    "Usage: mlp2 train [DATA.csv] -o MODEL [OPTIONS]\n"
    "Train a network on DATA.csv (by default the last column is the target and\n"
    "all the others are inputs) and save it to MODEL.  Without DATA it trains on\n"
    "the embedded default: Franke's function f(x, y) on the unit square, 400\n"
    "points drawn by a seeded generator (columns x, y -> f), with --hidden 3.\n"
    "\n"
    "Data:\n"
    "  -t, --target COLS      target columns: names or 1-based indices, separated\n"
    "                         by commas; may be repeated (default: the last column)\n"
    "      --header           the first row is a header\n"
    "      --no-header        the first row is data\n"
    "      --val FRACTION     hold out this fraction of the rows (chosen with the\n"
    "                         seed) for validation, in [0, 1) (default 0.2; 0: none)\n"
    "      --val-data FILE    validate on FILE instead (same columns)\n"
    "      --no-scale         do not standardise inputs and targets\n"
    "Network and training:\n"
    "      --hidden N         hidden units (default 3)\n"
    "      --epochs N         passes over the data (default 500)\n"
    "      --batch N          rows per step (default: 32, or all rows if fewer)\n"
    "      --optim NAME       sgd, momentum or adam (default adam)\n"
    "      --lr X             learning rate (default 0.01; 0.1 for sgd)\n"
    "      --momentum X       momentum for --optim momentum (default 0.9)\n"
    "      --weight-decay X   L2 penalty added to the gradient (default 0)\n"
    "      --lr-step N        multiply the learning rate by --lr-gamma every N epochs\n"
    "      --lr-gamma X       (default 0.5 when --lr-step is given)\n"
    "      --patience N       stop after N epochs without improvement of the\n"
    "                         validation loss (train loss without validation) and\n"
    "                         keep the best epoch's parameters (default 0: off)\n"
    "      --min-delta X      smallest change that counts as improvement (default 0)\n"
    "      --seed N           seed of the initial weights, shuffling and the\n"
    "                         validation split (default 42)\n"
    "      --threads N        BLAS threads\n"
    "Output:\n"
    "  -o, --output MODEL     the model file (required); written atomically, only\n"
    "                         after successful training\n"
    "      --plot FILE.svg    write the learning curve as an SVG chart (atomically,\n"
    "                         only when the model is written)\n"
    "      --save-on-interrupt  on Ctrl-C, save the model reached so far\n"
    "  -q, --quiet            no progress output\n"
    "  -h, --help             this help\n"
    "\n"
    "Inputs and targets are standardised with the training rows' mean and standard\n"
    "deviation; the scaling is stored in the model (section \"cli.columns\"), so\n"
    "eval and predict take and give values in the data's own units.  The loss shown\n"
    "during training is the library's: half the mean squared error, in standardised\n"
    "units, averaged over the targets' sum.\n"
    "\n"
    "Progress goes to stderr: a live line on a terminal, otherwise one record per\n"
    "epoch:  epoch=N/TOTAL train_loss=X val_loss=X epoch_seconds=X eta_seconds=X\n"
    "The summary (best epoch, metrics on train and validation data, the model's\n"
    "path) goes to stdout.  Ctrl-C stops after the current batch and saves nothing\n"
    "unless --save-on-interrupt is given; a failed run never touches an existing\n"
    "MODEL or --plot file.\n"
    "\n";

static const char eval_help[] =
    "Usage: mlp2 eval -m MODEL DATA.csv [OPTIONS]\n"
    "Print MSE, RMSE, MAE and R^2 of MODEL on DATA.csv, per target and overall,\n"
    "in the data's own units.  Overall MSE, RMSE and MAE pool all targets; overall\n"
    "R^2 is the mean of the targets' R^2.\n"
    "Columns are found by their header names; without a header, DATA must have\n"
    "the training data's columns in the same order.\n"
    "\n"
    "  -m, --model MODEL      the model file (required)\n"
    "      --header           the first row is a header\n"
    "      --no-header        the first row is data\n"
    "  -h, --help             this help\n"
    "\n";

static const char predict_help[] =
    "Usage: mlp2 predict -m MODEL DATA.csv [-o OUT.csv] [OPTIONS]\n"
    "Write MODEL's predictions for each row of DATA.csv as CSV, with a header row\n"
    "of the target names, in the data's own units.  Target columns present in\n"
    "DATA are ignored.  Columns are found by their header names; without a\n"
    "header, DATA must have either the training data's columns in the same order\n"
    "or just the input columns in network order.\n"
    "\n"
    "  -m, --model MODEL      the model file (required)\n"
    "  -o, --output FILE      write to FILE (atomically) instead of stdout\n"
    "      --header           the first row is a header\n"
    "      --no-header        the first row is data\n"
    "  -h, --help             this help\n"
    "\n";

static const char info_help[] =
    "Usage: mlp2 info MODEL\n"
    "Print a model's sizes, parameter count, file format version, the scaling of\n"
    "its inputs and targets, and the training settings stored with it.\n"
    "\n"
    "  -h, --help             this help\n"
    "\n";

static int print_help(const char *text)
{
    fputs(text, stdout);
    fputs(exit_codes_help, stdout);
    return fflush(stdout) == 0 && !ferror(stdout) ? EXIT_OK : EXIT_IO;
}

/* ------------------------------------------------------------------------- */
/* Small helpers                                                             */
/* ------------------------------------------------------------------------- */

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* %g-style text of x (locale-independent), in a rotating set of buffers so
 * that a few can appear in one printf. */
static const char *fmt(double x)
{
    static char bufs[8][NUM_BUF];
    static unsigned next;
    char *b = bufs[next++ % 8];
    if (isnan(x))
        return strcpy(b, "n/a");
    snprintf(b, NUM_BUF, "%.6g", x);
    return b;
}

static int parse_double_opt(const char *cmd, const char *opt, const char *v, double lo, double hi, int lo_open,
                            double *out)
{
    double d;
    if (num_parse_double(v, &d) != 0 || d < lo || d > hi || (lo_open && d == lo))
        return cli_usage_error(cmd, "invalid value '%s' for --%s", v, opt);
    *out = d;
    return 0;
}

static int parse_size_opt(const char *cmd, const char *opt, const char *v, unsigned long long lo,
                          unsigned long long hi, size_t *out)
{
    unsigned long long u;
    if (num_parse_size(v, lo, hi, &u) != 0)
        return cli_usage_error(cmd, "invalid value '%s' for --%s (an integer from %llu to %llu)", v, opt, lo, hi);
    *out = (size_t)u;
    return 0;
}

/* Write a file atomically: a temporary file in the same folder, flushed and
 * synced, then renamed over path.  While the temporary file exists, SIGINT,
 * SIGTERM and SIGHUP remove it before the process dies of the signal (a
 * signal that was ignored stays ignored). */
typedef int (*writer_fn)(FILE *f, void *ctx);

static const int cleanup_signals[] = {SIGINT, SIGTERM, SIGHUP};
enum { N_CLEANUP_SIGNALS = sizeof cleanup_signals / sizeof cleanup_signals[0] };
static char *volatile pending_tmp;            /* the temporary file, while it exists */
static volatile sig_atomic_t pending_tmp_set; /* pending_tmp is valid */

static void on_fatal_signal(int sig)
{
    if (pending_tmp_set)
        unlink(pending_tmp);
    pending_tmp_set = 0;
    signal(sig, SIG_DFL);
    raise(sig); /* delivered when the handler returns: the signal is blocked while it runs */
}

static void block_cleanup_signals(sigset_t *old)
{
    sigset_t set;
    sigemptyset(&set);
    for (int i = 0; i < N_CLEANUP_SIGNALS; i++)
        sigaddset(&set, cleanup_signals[i]);
    sigprocmask(SIG_BLOCK, &set, old);
}

static int write_atomic(const char *path, writer_fn write, void *ctx)
{
    size_t n = strlen(path);
    char *tmp = malloc(n + 8);
    if (!tmp) {
        cli_error("%s: out of memory", path);
        return EXIT_IO;
    }
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".XXXXXX", 8);

    /* the handlers go in, and the file is created, with the signals blocked */
    sigset_t old_mask;
    struct sigaction old_act[N_CLEANUP_SIGNALS], sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal_signal;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < N_CLEANUP_SIGNALS; i++)
        sigaddset(&sa.sa_mask, cleanup_signals[i]);
    block_cleanup_signals(&old_mask);
    int installed[N_CLEANUP_SIGNALS] = {0};
    for (int i = 0; i < N_CLEANUP_SIGNALS; i++)
        if (sigaction(cleanup_signals[i], NULL, &old_act[i]) == 0 && old_act[i].sa_handler != SIG_IGN)
            installed[i] = sigaction(cleanup_signals[i], &sa, NULL) == 0;
    int fd = mkstemp(tmp);
    int e = errno;
    if (fd >= 0) {
        pending_tmp = tmp;
        pending_tmp_set = 1;
    }
    sigprocmask(SIG_SETMASK, &old_mask, NULL);

    int ok = fd >= 0;
    FILE *f = NULL;
    if (ok) {
        mode_t mask = umask(0);
        umask(mask);
        fchmod(fd, 0666 & ~mask);
        f = fdopen(fd, "w");
        ok = f != NULL;
        if (!f) {
            e = errno;
            close(fd);
        }
    }
    if (ok)
        ok = write(f, ctx) == 0;
    if (ok)
        ok = fflush(f) == 0 && !ferror(f) && fsync(fileno(f)) == 0;
    if (f) {
        if (!ok)
            e = errno;
        if (fclose(f) != 0 && ok) {
            ok = 0;
            e = errno;
        }
    }
    /* rename or remove, then forget the file and put the handlers back */
    block_cleanup_signals(&old_mask);
    if (ok && rename(tmp, path) != 0) {
        ok = 0;
        e = errno;
    }
    if (!ok && fd >= 0)
        unlink(tmp);
    pending_tmp_set = 0;
    pending_tmp = NULL;
    for (int i = 0; i < N_CLEANUP_SIGNALS; i++)
        if (installed[i])
            sigaction(cleanup_signals[i], &old_act[i], NULL);
    sigprocmask(SIG_SETMASK, &old_mask, NULL);

    if (fd < 0)
        cli_error("%s: cannot create: %s", path, strerror(e));
    else if (!ok)
        cli_error("%s: cannot write: %s", path, strerror(e));
    free(tmp);
    return ok ? EXIT_OK : EXIT_IO;
}

/* The folder part of path exists and is writable (checked before training,
 * so a long run is not wasted on a typo). */
static int check_output_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    if (!dir) {
        cli_error("out of memory");
        return EXIT_IO;
    }
    int rc = EXIT_OK;
    if (access(dir, W_OK | X_OK) != 0) {
        cli_error("%s: cannot write there: %s: %s", path, dir, strerror(errno));
        rc = EXIT_IO;
    }
    free(dir);
    return rc;
}

/* ------------------------------------------------------------------------- */
/* Models with their columns                                                 */
/* ------------------------------------------------------------------------- */

static int load_model(const char *path, mlp2 **net, columns *cols)
{
    mlp2_status st = mlp2_load(net, path);
    if (st != MLP2_OK) {
        if (st == MLP2_EIO)
            cli_error("%s: cannot read the model: %s (%s)", path, mlp2_strerror(st),
                      errno ? strerror(errno) : "unknown cause");
        else
            cli_error("%s: not a usable model file: %s", path, mlp2_strerror(st));
        return st == MLP2_EIO ? EXIT_IO : st == MLP2_ENOMEM ? EXIT_TRAIN : EXIT_DATA;
    }
    const void *data;
    size_t len;
    if (mlp2_section_get(*net, COLUMNS_SECTION, &data, &len) != MLP2_OK) {
        /* a model made with the library alone: inputs then outputs, unscaled */
        size_t n_in = mlp2_n_in(*net), n_out = mlp2_n_out(*net);
        if (columns_alloc(cols, n_in, n_out) != 0) {
            cli_error("out of memory");
            return EXIT_TRAIN;
        }
        cols->n_src = n_in + n_out;
        for (size_t i = 0; i < n_in + n_out; i++) {
            char name[32];
            snprintf(name, sizeof name, "c%zu", i + 1);
            cols->src[i] = i;
            if (!(cols->names[i] = strdup(name))) {
                cli_error("out of memory");
                return EXIT_TRAIN;
            }
        }
        return EXIT_OK;
    }
    const char *why = "";
    int rc = columns_decode(data, len, cols, &why);
    if (rc == -2) {
        cli_error("out of memory");
        return EXIT_TRAIN;
    }
    if (rc != 0 || cols->n_in != mlp2_n_in(*net) || cols->n_out != mlp2_n_out(*net)) {
        cli_error("%s: %s", path, rc ? why : "the column section does not match the network's sizes");
        return EXIT_DATA;
    }
    return EXIT_OK;
}

/* Find the model's columns in a data table.  idx[i] for the n_in inputs, then
 * (when need_targets) the n_out targets. */
static int bind_columns(const char *path, const csv_table *t, const columns *c, int need_targets, size_t *idx)
{
    size_t n = c->n_in + (need_targets ? c->n_out : 0);
    if (t->has_header) {
        size_t found = 0;
        for (size_t i = 0; i < n; i++) {
            long j = csv_find(t, c->names[i]);
            if (j >= 0)
                idx[i] = (size_t)j, found++;
        }
        if (found == n)
            return EXIT_OK;
        if (c->flags & COLUMNS_HEADER) {
            for (size_t i = 0; i < n; i++)
                if (csv_find(t, c->names[i]) < 0) {
                    fprintf(stderr, "%s:1:1: no %s column named \"%s\" (the model needs:", path,
                            i < c->n_in ? "input" : "target", c->names[i]);
                    for (size_t k = 0; k < n; k++)
                        fprintf(stderr, " %s", c->names[k]);
                    fputs(")\n", stderr);
                    return EXIT_DATA;
                }
        }
    }
    /* by position */
    if (t->cols == c->n_src) {
        for (size_t i = 0; i < n; i++)
            idx[i] = c->src[i];
        return EXIT_OK;
    }
    if (!need_targets && t->cols == c->n_in) {
        for (size_t i = 0; i < n; i++)
            idx[i] = i;
        return EXIT_OK;
    }
    if (need_targets)
        fprintf(stderr, "%s:1:1: found %zu columns; without matching header names the data must have the"
                        " training data's %zu columns\n", path, t->cols, c->n_src);
    else
        fprintf(stderr, "%s:1:1: found %zu columns; without matching header names the data must have the"
                        " training data's %zu columns or the model's %zu inputs\n", path, t->cols, c->n_src, c->n_in);
    return EXIT_DATA;
}

/* (x - mean) / scale, also when x - mean alone would overflow */
static double standardise(double x, double mean, double scale)
{
    double d = x - mean;
    return isfinite(d) ? d / scale : x / scale - mean / scale;
}

/* out (m x k) = (columns idx[0..k) of t - mean) / scale */
static double *gather(const csv_table *t, const size_t *idx, size_t k, const double *mean, const double *scale)
{
    if (t->rows > SIZE_MAX / sizeof(double) / k)
        return NULL;
    double *out = malloc(t->rows * k * sizeof *out);
    if (!out)
        return NULL;
    for (size_t i = 0; i < t->rows; i++)
        for (size_t j = 0; j < k; j++)
            out[i * k + j] = standardise(t->data[i * t->cols + idx[j]], mean[j], scale[j]);
    return out;
}

/* Predictions in the data's units for m standardised input rows. */
static int predict_units(const mlp2 *net, const columns *c, size_t m, const double *Xs, double *P)
{
    mlp2_status st = mlp2_predict(net, NULL, m, Xs, P);
    if (st != MLP2_OK) {
        cli_error("prediction failed: %s", mlp2_strerror(st));
        return st == MLP2_ENONFINITE ? EXIT_DATA : EXIT_TRAIN;
    }
    const size_t k = c->n_out;
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < k; j++)
            P[i * k + j] = P[i * k + j] * c->scale[c->n_in + j] + c->mean[c->n_in + j];
    return EXIT_OK;
}

/* ------------------------------------------------------------------------- */
/* train                                                                     */
/* ------------------------------------------------------------------------- */

enum {
    O_HELP = 1, O_OUTPUT, O_MODEL, O_TARGET, O_HEADER, O_NO_HEADER, O_VAL, O_VAL_DATA, O_NO_SCALE, O_HIDDEN,
    O_EPOCHS, O_BATCH, O_OPTIM, O_LR, O_MOMENTUM, O_WD, O_LR_STEP, O_LR_GAMMA, O_PATIENCE, O_MIN_DELTA, O_SEED,
    O_THREADS, O_PLOT, O_SAVE_INT, O_QUIET
};

typedef struct train_opts {
    const char *data, *val_data, *output, *plot;
    char **targets;
    size_t n_targets;
    csv_header_mode header;
    double val, lr, momentum, weight_decay, lr_gamma, min_delta;
    int lr_given, batch_given, val_given, scale, save_on_interrupt, quiet;
    size_t hidden, epochs, batch, lr_step, patience, threads;
    uint64_t seed;
    mlp2_optim_kind optim;
} train_opts;

static int train_option(void *ctx, int id, const char *v)
{
    train_opts *o = ctx;
    const char *c = "train";
    size_t z = 0;
    switch (id) {
    case O_HELP: return print_help(train_help) == EXIT_OK ? -1 : EXIT_IO;
    case O_OUTPUT: o->output = v; return 0;
    case O_TARGET: o->targets[o->n_targets++] = (char *)(uintptr_t)v; return 0;
    case O_HEADER: o->header = CSV_HEADER_YES; return 0;
    case O_NO_HEADER: o->header = CSV_HEADER_NO; return 0;
    case O_VAL:
        o->val_given = 1;
        if (parse_double_opt(c, "val", v, 0, 1, 0, &o->val))
            return EXIT_USAGE;
        return o->val >= 1 ? cli_usage_error(c, "--val must be below 1 (a fraction of the rows)") : 0;
    case O_VAL_DATA: o->val_data = v; return 0;
    case O_NO_SCALE: o->scale = 0; return 0;
    case O_HIDDEN: return parse_size_opt(c, "hidden", v, 1, 1000000, &o->hidden);
    case O_EPOCHS: return parse_size_opt(c, "epochs", v, 1, 100000000, &o->epochs);
    case O_BATCH: o->batch_given = 1; return parse_size_opt(c, "batch", v, 1, 1u << 30, &o->batch);
    case O_OPTIM:
        if (strcmp(v, "sgd") == 0)
            o->optim = MLP2_OPTIM_SGD;
        else if (strcmp(v, "momentum") == 0)
            o->optim = MLP2_OPTIM_MOMENTUM;
        else if (strcmp(v, "adam") == 0)
            o->optim = MLP2_OPTIM_ADAM;
        else
            return cli_usage_error(c, "unknown optimizer '%s' (sgd, momentum or adam)", v);
        return 0;
    case O_LR: o->lr_given = 1; return parse_double_opt(c, "lr", v, 0, 1e6, 1, &o->lr);
    case O_MOMENTUM: return parse_double_opt(c, "momentum", v, 0, 0.999999, 0, &o->momentum);
    case O_WD: return parse_double_opt(c, "weight-decay", v, 0, 1e6, 0, &o->weight_decay);
    case O_LR_STEP: return parse_size_opt(c, "lr-step", v, 1, 100000000, &o->lr_step);
    case O_LR_GAMMA: return parse_double_opt(c, "lr-gamma", v, 0, 1, 1, &o->lr_gamma);
    case O_PATIENCE: return parse_size_opt(c, "patience", v, 0, 100000000, &o->patience);
    case O_MIN_DELTA: return parse_double_opt(c, "min-delta", v, 0, 1e300, 0, &o->min_delta);
    case O_SEED:
        if (parse_size_opt(c, "seed", v, 0, SIZE_MAX, &z))
            return EXIT_USAGE;
        o->seed = z;
        return 0;
    case O_THREADS: return parse_size_opt(c, "threads", v, 1, 1024, &o->threads);
    case O_PLOT: o->plot = v; return 0;
    case O_SAVE_INT: o->save_on_interrupt = 1; return 0;
    case O_QUIET: o->quiet = 1; return 0;
    default: return EXIT_USAGE;
    }
}

static int train_arg(void *ctx, const char *a)
{
    train_opts *o = ctx;
    if (o->data)
        return cli_usage_error("train", "more than one data file ('%s' and '%s')", o->data, a);
    o->data = a;
    return 0;
}

/* ---- the data set: inputs and targets, split into train and validation --- */

typedef struct dataset {
    const char *name; /* file name for messages */
    csv_table table;  /* the whole file (or the embedded data) */
    size_t *in_idx, *out_idx;
    size_t n_in, n_out;
} dataset;

static void dataset_free(dataset *d)
{
    csv_free(&d->table);
    free(d->in_idx);
    free(d->out_idx);
}

static int embedded_data(dataset *d)
{
    csv_table *t = &d->table;
    memset(t, 0, sizeof *t);
    t->rows = FRANKE_ROWS;
    t->cols = 3;
    t->has_header = 1;
    t->data = malloc(FRANKE_ROWS * 3 * sizeof *t->data);
    double *X = malloc(FRANKE_ROWS * 2 * sizeof *X), *Y = malloc(FRANKE_ROWS * sizeof *Y);
    t->names = calloc(3, sizeof *t->names);
    int ok = t->data && X && Y && t->names;
    if (ok) {
        franke_sample(FRANKE_ROWS, FRANKE_SEED, X, Y);
        for (size_t i = 0; i < FRANKE_ROWS; i++) {
            t->data[3 * i] = X[2 * i];
            t->data[3 * i + 1] = X[2 * i + 1];
            t->data[3 * i + 2] = Y[i];
        }
        const char *names[3] = {"x", "y", "f"};
        for (int j = 0; j < 3 && ok; j++)
            ok = (t->names[j] = strdup(names[j])) != NULL;
    }
    free(X);
    free(Y);
    if (!ok) {
        cli_error("out of memory");
        return EXIT_TRAIN;
    }
    d->name = "<embedded Franke data>";
    return EXIT_OK;
}

/* Resolve the --target list against the table. */
static int select_columns(const train_opts *o, dataset *d)
{
    const csv_table *t = &d->table;
    int *is_target = calloc(t->cols, sizeof *is_target);
    d->in_idx = malloc(t->cols * sizeof *d->in_idx);
    d->out_idx = malloc(t->cols * sizeof *d->out_idx);
    if (!is_target || !d->in_idx || !d->out_idx) {
        free(is_target);
        cli_error("out of memory");
        return EXIT_TRAIN;
    }
    int rc = EXIT_OK;
    d->n_out = 0;
    if (o->n_targets == 0) {
        d->out_idx[d->n_out++] = t->cols - 1;
        is_target[t->cols - 1] = 1;
    }
    for (size_t i = 0; i < o->n_targets && rc == EXIT_OK; i++) {
        const char *s = o->targets[i];
        while (rc == EXIT_OK) {
            size_t len = strcspn(s, ",");
            if (len == 0) {
                rc = cli_usage_error("train", "bad --target list '%s'", o->targets[i]);
                break;
            }
            char *tok = strndup(s, len);
            if (!tok) {
                cli_error("out of memory");
                rc = EXIT_TRAIN;
                break;
            }
            /* a name first (c1, c2, ... without a header), then an index */
            long j = csv_find(t, tok);
            unsigned long long u;
            if (j < 0 && num_parse_size(tok, 1, t->cols, &u) == 0)
                j = (long)u - 1;
            if (j < 0) {
                if (num_parse_size(tok, 1, ~0ULL, &u) == 0)
                    fprintf(stderr, "%s:1:1: target column %s does not exist: the data has %zu columns\n",
                            d->name, tok, t->cols);
                else {
                    fprintf(stderr, "%s:1:1: target column \"%s\" does not exist; the columns are:", d->name, tok);
                    for (size_t k = 0; k < t->cols; k++)
                        fprintf(stderr, "%s %s", k ? "," : "", t->names[k]);
                    fputc('\n', stderr);
                }
                rc = EXIT_DATA;
                free(tok);
                break;
            }
            if (is_target[j]) {
                rc = cli_usage_error("train", "target column '%s' given twice", tok);
                free(tok);
                break;
            }
            free(tok);
            is_target[j] = 1;
            d->out_idx[d->n_out++] = (size_t)j;
            if (s[len] == '\0')
                break;
            s += len + 1;
        }
    }
    d->n_in = 0;
    for (size_t j = 0; j < t->cols; j++)
        if (!is_target[j])
            d->in_idx[d->n_in++] = j;
    free(is_target);
    if (rc == EXIT_OK && d->n_in == 0) {
        fprintf(stderr, "%s:1:1: no input columns left: all %zu columns are targets\n", d->name, t->cols);
        rc = EXIT_DATA;
    }
    return rc;
}

/* The line just after the last data row: where more rows were needed. */
static size_t end_line(const csv_table *t)
{
    return t->line_of && t->rows ? t->line_of[t->rows - 1] + 1 : 1;
}

/* splitmix64 for the validation split (the library has its own generator for
 * initialisation and shuffling). */
static uint64_t split_next(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* ---- progress and the learning curve ----------------------------------- */

typedef struct progress {
    int tty, quiet;
    size_t epochs, done;
    double t_start, t_prev, t_drawn;
    double *train, *val; /* the losses of epochs 1..recorded */
    size_t recorded, cap;
} progress;

/* Keep epoch's losses for the chart.  The history grows as needed (a huge
 * --epochs costs nothing up front); if memory runs out the chart just ends
 * there, training goes on. */
static void record(progress *p, size_t epoch, double train_loss, double val_loss)
{
    if (epoch != p->recorded + 1)
        return;
    if (p->recorded == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 1024;
        if (cap > p->epochs)
            cap = p->epochs;
        double *t = cap > p->cap && cap < SIZE_MAX / sizeof *t ? realloc(p->train, cap * sizeof *t) : NULL;
        if (t)
            p->train = t;
        double *v = t ? realloc(p->val, cap * sizeof *v) : NULL;
        if (v)
            p->val = v;
        if (!t || !v)
            return;
        p->cap = cap;
    }
    p->train[p->recorded] = train_loss;
    p->val[p->recorded] = val_loss;
    p->recorded++;
}

static void fmt_duration(double s, char *buf, size_t n)
{
    if (!(s >= 0) || s > 1e8)
        snprintf(buf, n, "?");
    else if (s < 60)
        snprintf(buf, n, "%.0fs", ceil(s));
    else if (s < 3600)
        snprintf(buf, n, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
    else
        snprintf(buf, n, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
}

static int on_epoch(void *user, size_t epoch, double train_loss, double val_loss)
{
    progress *p = user;
    double t = now_seconds(), dt = t - p->t_prev;
    p->t_prev = t;
    p->done = epoch;
    record(p, epoch, train_loss, val_loss);
    if (p->quiet)
        return 0;
    double per_epoch = (t - p->t_start) / (double)epoch, eta = per_epoch * (double)(p->epochs - epoch);
    if (!p->tty) {
        fprintf(stderr, "epoch=%zu/%zu train_loss=%s val_loss=%s epoch_seconds=%s eta_seconds=%s\n", epoch,
                p->epochs, fmt(train_loss), fmt(val_loss), fmt(dt), fmt(eta));
        return 0;
    }
    if (t - p->t_drawn < 0.1 && epoch != p->epochs)
        return 0;
    p->t_drawn = t;
    enum { BAR = 20 };
    char bar[BAR + 1], eta_text[32];
    size_t filled = (size_t)((double)BAR * (double)epoch / (double)p->epochs);
    for (size_t i = 0; i < BAR; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[BAR] = '\0';
    fmt_duration(eta, eta_text, sizeof eta_text);
    fprintf(stderr, "\r\033[Kepoch %zu/%zu [%s] train %s", epoch, p->epochs, bar, fmt(train_loss));
    if (!isnan(val_loss))
        fprintf(stderr, "  val %s", fmt(val_loss));
    fprintf(stderr, "  %s ms/epoch  ETA %s", fmt(per_epoch * 1e3), eta_text);
    fflush(stderr);
    return 0;
}

/* The recorded epoch with the lowest monitored loss (validation if any), 0 if none. */
static size_t lowest_epoch(const progress *p, int use_val)
{
    size_t best = 0;
    for (size_t i = 0; i < p->recorded; i++) {
        double v = use_val ? p->val[i] : p->train[i];
        if (isfinite(v) && (best == 0 || v < (use_val ? p->val[best - 1] : p->train[best - 1])))
            best = i + 1;
    }
    return best;
}

typedef struct plot_ctx {
    const progress *p;
    size_t best_epoch;
    const char *subtitle;
} plot_ctx;

static int write_plot(FILE *f, void *ctx)
{
    const plot_ctx *c = ctx;
    return plot_svg(f, c->p->train, c->p->val, c->p->recorded, c->best_epoch, c->subtitle);
}

/* ---- Ctrl-C ------------------------------------------------------------- */

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

/* Catch SIGINT once (a second Ctrl-C kills as usual); keep it ignored if it
 * was ignored when we started (as for background jobs of a shell). */
static void catch_sigint(struct sigaction *old)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND;
    if (sigaction(SIGINT, NULL, old) == 0 && old->sa_handler == SIG_IGN)
        return;
    sigaction(SIGINT, &sa, old);
}

/* ---- settings kept with the model ---------------------------------------- */

typedef struct textbuf {
    char *s;
    size_t len, cap;
    int failed;
} textbuf;

static void tb_printf(textbuf *b, const char *f, ...) CLI_PRINTF(2, 3);
static void tb_printf(textbuf *b, const char *f, ...)
{
    if (b->failed)
        return;
    va_list ap;
    for (;;) {
        va_start(ap, f);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, f, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = 1;
            return;
        }
        if (b->s && (size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap * 2 + (size_t)n + 64;
        char *p = realloc(b->s, cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
}

/* A value on one line: newlines and other control bytes become '?'. */
static const char *one_line(const char *s, char *buf, size_t n)
{
    size_t i = 0;
    for (; s[i] && i + 1 < n; i++)
        buf[i] = (unsigned char)s[i] < 0x20 ? '?' : s[i];
    buf[i] = '\0';
    return buf;
}

static const char *optim_name(mlp2_optim_kind k)
{
    return k == MLP2_OPTIM_SGD ? "sgd" : k == MLP2_OPTIM_MOMENTUM ? "momentum" : "adam";
}

static const char *stop_name(mlp2_stop_reason r)
{
    switch (r) {
    case MLP2_STOP_EPOCHS: return "epochs";
    case MLP2_STOP_EARLY: return "early-stopping";
    case MLP2_STOP_CALLBACK: return "callback";
    case MLP2_STOP_CANCELLED: return "interrupted";
    case MLP2_STOP_NONFINITE: return "non-finite";
    default: return "unknown";
    }
}

static int store_sections(mlp2 *net, const columns *cols, const train_opts *o, const mlp2_train_config *cfg,
                          const dataset *d, size_t m_train, size_t m_val, const mlp2_train_report *rep)
{
    unsigned char *blob = NULL;
    size_t len = 0;
    if (columns_encode(cols, &blob, &len) != 0) {
        cli_error("cannot store the column names (a name longer than 65535 bytes?) or out of memory");
        return EXIT_DATA;
    }
    mlp2_status st = mlp2_section_set(net, COLUMNS_SECTION, blob, len);
    free(blob);
    textbuf b = {0};
    char line[512];
    tb_printf(&b, "tool=mlp2 %s (libmlp2 %s)\n", MLP2_VERSION_STRING, mlp2_version());
    tb_printf(&b, "data=%s\n", o->data ? one_line(o->data, line, sizeof line) : "embedded:franke");
    tb_printf(&b, "rows_train=%zu\nrows_val=%zu\n", m_train, m_val);
    if (o->val_data)
        tb_printf(&b, "validation=file %s\n", one_line(o->val_data, line, sizeof line));
    else
        tb_printf(&b, "validation=%s\n", m_val ? "split" : "none");
    tb_printf(&b, "val_fraction=%s\n", fmt(o->val_data ? 0 : o->val));
    tb_printf(&b, "standardised=%s\n", o->scale ? "yes" : "no");
    tb_printf(&b, "hidden=%zu\nepochs=%zu\nbatch=%zu\nshuffle=yes\n", o->hidden, cfg->epochs, cfg->batch_size);
    tb_printf(&b, "optim=%s\nlr=%s\n", optim_name(cfg->optim.kind), fmt(cfg->optim.lr));
    if (cfg->optim.kind == MLP2_OPTIM_MOMENTUM)
        tb_printf(&b, "momentum=%s\n", fmt(cfg->optim.momentum));
    if (cfg->optim.kind == MLP2_OPTIM_ADAM)
        tb_printf(&b, "beta1=%s\nbeta2=%s\neps=%s\n", fmt(cfg->optim.beta1), fmt(cfg->optim.beta2),
                  fmt(cfg->optim.eps));
    tb_printf(&b, "weight_decay=%s\nlr_step=%zu\nlr_gamma=%s\n", fmt(cfg->optim.weight_decay), cfg->lr_step,
              fmt(cfg->lr_gamma));
    tb_printf(&b, "patience=%zu\nmin_delta=%s\nseed=%llu\n", cfg->patience, fmt(cfg->min_delta),
              (unsigned long long)o->seed);
    tb_printf(&b, "epochs_run=%zu\nbest_epoch=%zu\nstop=%s\n", rep->epochs_run, rep->best_epoch,
              stop_name(rep->reason));
    tb_printf(&b, "final_train_loss=%s\nfinal_val_loss=%s\n", fmt(rep->final_train_loss), fmt(rep->final_val_loss));
    (void)d;
    if (st == MLP2_OK && !b.failed)
        st = mlp2_section_set(net, SETTINGS_SECTION, b.s, b.len);
    free(b.s);
    if (st != MLP2_OK || b.failed) {
        cli_error("cannot store the model's settings: %s", b.failed ? "out of memory" : mlp2_strerror(st));
        return EXIT_TRAIN;
    }
    return EXIT_OK;
}

static void print_metrics_table(FILE *f, const columns *c, size_t m, const double *P, const double *Y,
                                const char *indent)
{
    metrics *per = malloc(c->n_out * sizeof *per), all;
    if (!per) {
        fprintf(f, "%s(out of memory)\n", indent);
        return;
    }
    metrics_compute(m, c->n_out, P, Y, per, &all);
    size_t w = 7;
    for (size_t j = 0; j < c->n_out; j++)
        if (strlen(c->names[c->n_in + j]) > w)
            w = strlen(c->names[c->n_in + j]);
    fprintf(f, "%s%-*s %12s %12s %12s %12s\n", indent, (int)w, "target", "MSE", "RMSE", "MAE", "R^2");
    for (size_t j = 0; j < c->n_out; j++)
        fprintf(f, "%s%-*s %12s %12s %12s %12s\n", indent, (int)w, c->names[c->n_in + j], fmt(per[j].mse),
                fmt(per[j].rmse), fmt(per[j].mae), fmt(per[j].r2));
    fprintf(f, "%s%-*s %12s %12s %12s %12s\n", indent, (int)w, "overall", fmt(all.mse), fmt(all.rmse),
                fmt(all.mae), fmt(all.r2));
    free(per);
}

/* Everything train allocates, freed in one place. */
typedef struct train_state {
    dataset d, dv;
    columns cols;
    double *X, *Y, *Xv, *Yv, *P;
    size_t *perm;
    mlp2 *net;
    progress prog;
} train_state;

static void train_state_free(train_state *s)
{
    dataset_free(&s->d);
    dataset_free(&s->dv);
    columns_free(&s->cols);
    free(s->X);
    free(s->Y);
    free(s->Xv);
    free(s->Yv);
    free(s->P);
    free(s->perm);
    free(s->prog.train);
    free(s->prog.val);
    mlp2_free(s->net);
}

/* Copy row r of table columns idx[0..k) into out. */
static void copy_row(const csv_table *t, size_t r, const size_t *idx, size_t k, double *out)
{
    for (size_t j = 0; j < k; j++)
        out[j] = t->data[r * t->cols + idx[j]];
}

static int run_train(train_opts *o, train_state *s)
{
    int rc;
    /* ---- checks that need no data */
    if (!o->output)
        return cli_usage_error("train", "missing -o MODEL (where to save the trained model)");
    if (o->val_data && o->val_given)
        return cli_usage_error("train", "--val and --val-data cannot be used together");
    if (!o->data && o->n_targets)
        return cli_usage_error("train", "--target needs a DATA file (the embedded data has one target, f)");
    if ((rc = check_output_dir(o->output)))
        return rc;
    if (o->plot && (rc = check_output_dir(o->plot)))
        return rc;
    if (o->threads && mlp2_set_blas_threads((int)o->threads) != MLP2_OK)
        return cli_usage_error("train", "invalid --threads %zu", o->threads);

    /* ---- data */
    csv_options copt = {.header = o->header};
    if (o->data) {
        s->d.name = strcmp(o->data, "-") == 0 ? "<stdin>" : o->data;
        if ((rc = cli_read_csv(o->data, &copt, &s->d.table)))
            return rc;
    } else if ((rc = embedded_data(&s->d))) {
        return rc;
    }
    if ((rc = select_columns(o, &s->d)))
        return rc;
    const csv_table *t = &s->d.table;
    const size_t n_in = s->d.n_in, n_out = s->d.n_out, n = t->rows;

    /* ---- split */
    size_t m_val = 0, m_train = n;
    if (o->val_data) {
        s->dv.name = o->val_data;
        if ((rc = cli_read_csv(o->val_data, &copt, &s->dv.table)))
            return rc;
        const csv_table *tv = &s->dv.table;
        s->dv.in_idx = malloc((n_in + n_out) * sizeof(size_t));
        if (!s->dv.in_idx) {
            cli_error("out of memory");
            return EXIT_TRAIN;
        }
        for (size_t i = 0; i < n_in + n_out; i++) {
            size_t src = i < n_in ? s->d.in_idx[i] : s->d.out_idx[i - n_in];
            long j = (tv->has_header && t->has_header) ? csv_find(tv, t->names[src])
                     : tv->cols == t->cols             ? (long)src
                                                       : -1;
            if (j < 0) {
                if (tv->has_header && t->has_header)
                    fprintf(stderr, "%s:1:1: no column named \"%s\" (as in %s)\n", o->val_data, t->names[src],
                            s->d.name);
                else
                    fprintf(stderr, "%s:1:1: found %zu columns, but %s has %zu\n", o->val_data, tv->cols,
                            s->d.name, t->cols);
                return EXIT_DATA;
            }
            s->dv.in_idx[i] = (size_t)j;
        }
        m_val = tv->rows;
    } else {
        double v = o->val_given ? o->val : 0.2;
        m_val = (size_t)floor(v * (double)n + 0.5);
        if (v > 0 && m_val == 0) {
            fprintf(stderr, "%s:%zu:1: only %zu data rows: --val %s leaves no validation rows (use --val 0 for"
                            " none)\n", s->d.name, end_line(t), n, fmt(v));
            return EXIT_DATA;
        }
        if (m_val >= n) {
            fprintf(stderr, "%s:%zu:1: only %zu data rows: --val %s leaves no training rows\n", s->d.name,
                    end_line(t), n, fmt(v));
            return EXIT_DATA;
        }
        m_train = n - m_val;
    }
    size_t batch = o->batch_given ? o->batch : (m_train < 32 ? m_train : 32);
    if (batch > m_train) {
        fprintf(stderr, "%s:%zu:1: only %zu training rows%s, fewer than --batch %zu\n", s->d.name, end_line(t),
                m_train, m_val && !o->val_data ? " after the validation split" : "", batch);
        return EXIT_DATA;
    }

    /* ---- matrices: a seeded permutation puts the validation rows last */
    s->perm = malloc(n * sizeof *s->perm);
    s->X = malloc(m_train * n_in * sizeof *s->X);
    s->Y = malloc(m_train * n_out * sizeof *s->Y);
    if (m_val) {
        s->Xv = malloc(m_val * n_in * sizeof *s->Xv);
        s->Yv = malloc(m_val * n_out * sizeof *s->Yv);
    }
    size_t m_max = m_train > m_val ? m_train : m_val;
    s->P = malloc(m_max * n_out * sizeof *s->P);
    if (!s->perm || !s->X || !s->Y || !s->P || (m_val && (!s->Xv || !s->Yv))) {
        if (o->val_data)
            cli_error("%s: out of memory for %zu rows (and %zu validation rows of %s)", s->d.name, n, m_val,
                      o->val_data);
        else
            cli_error("%s: out of memory for %zu rows", s->d.name, n);
        return EXIT_DATA;
    }
    for (size_t i = 0; i < n; i++)
        s->perm[i] = i;
    if (!o->val_data && m_val) {
        uint64_t st = o->seed ^ UINT64_C(0x5EED5EED5EED5EED);
        for (size_t i = n - 1; i > 0; i--) {
            size_t j = (size_t)(split_next(&st) % (i + 1)); /* bias below 2^-40 for any real n */
            size_t tmp = s->perm[i];
            s->perm[i] = s->perm[j];
            s->perm[j] = tmp;
        }
    }
    for (size_t i = 0; i < m_train; i++) {
        copy_row(t, s->perm[i], s->d.in_idx, n_in, s->X + i * n_in);
        copy_row(t, s->perm[i], s->d.out_idx, n_out, s->Y + i * n_out);
    }
    for (size_t i = 0; i < m_val; i++) {
        if (o->val_data) {
            copy_row(&s->dv.table, i, s->dv.in_idx, n_in, s->Xv + i * n_in);
            copy_row(&s->dv.table, i, s->dv.in_idx + n_in, n_out, s->Yv + i * n_out);
        } else {
            copy_row(t, s->perm[m_train + i], s->d.in_idx, n_in, s->Xv + i * n_in);
            copy_row(t, s->perm[m_train + i], s->d.out_idx, n_out, s->Yv + i * n_out);
        }
    }

    /* ---- scaling, from the training rows only */
    columns *c = &s->cols;
    if (columns_alloc(c, n_in, n_out) != 0) {
        cli_error("out of memory");
        return EXIT_TRAIN;
    }
    c->flags = (o->scale ? COLUMNS_STANDARDISED : 0) | (t->has_header ? COLUMNS_HEADER : 0);
    c->n_src = t->cols;
    for (size_t k = 0; k < n_in + n_out; k++) {
        int is_in = k < n_in;
        size_t j = is_in ? k : k - n_in, w = is_in ? n_in : n_out;
        double *A = is_in ? s->X : s->Y;
        c->src[k] = is_in ? s->d.in_idx[j] : s->d.out_idx[j];
        if (!(c->names[k] = strdup(t->names[c->src[k]]))) {
            cli_error("out of memory");
            return EXIT_TRAIN;
        }
        if (!o->scale)
            continue;
        /* Two passes over the values divided by a power of two near their
         * largest magnitude: no overflow even near DBL_MAX, and (the division
         * being exact) the same bits as without it for ordinary data. */
        double big = 0;
        for (size_t i = 0; i < m_train; i++)
            big = fmax(big, fabs(A[i * w + j]));
        int ex = 0;
        frexp(big, &ex);
        const double unit = big > 0 ? ldexp(1.0, ex - 1) : 1.0; /* big / unit in [1, 2) */
        double mean = 0, ss = 0;
        for (size_t i = 0; i < m_train; i++)
            mean += A[i * w + j] / unit;
        mean /= (double)m_train;
        for (size_t i = 0; i < m_train; i++)
            ss += (A[i * w + j] / unit - mean) * (A[i * w + j] / unit - mean);
        double sd = sqrt(ss / (double)m_train) * unit;
        mean *= unit;
        if (!isfinite(mean) || !isfinite(sd)) {
            fprintf(stderr, "%s:1:%zu: the %s column \"%s\" cannot be standardised: its mean or standard"
                            " deviation is not a finite double (use --no-scale or rescale the column)\n",
                    s->d.name, c->src[k] + 1, is_in ? "input" : "target", c->names[k]);
            return EXIT_DATA;
        }
        /* a constant column is only centred */
        c->mean[k] = mean;
        c->scale[k] = (sd > 0 && sd > 1e-12 * fabs(mean)) ? sd : 1.0;
    }
    for (size_t k = 0; k < n_in + n_out; k++) {
        int is_in = k < n_in;
        size_t j = is_in ? k : k - n_in, w = is_in ? n_in : n_out;
        double *A = is_in ? s->X : s->Y, *B = is_in ? s->Xv : s->Yv;
        for (size_t i = 0; i < m_train; i++)
            A[i * w + j] = standardise(A[i * w + j], c->mean[k], c->scale[k]);
        for (size_t i = 0; i < m_val; i++)
            B[i * w + j] = standardise(B[i * w + j], c->mean[k], c->scale[k]);
    }

    /* ---- network and training configuration */
    mlp2_status st = mlp2_create(&s->net, n_in, o->hidden, n_out, o->seed);
    if (st != MLP2_OK) {
        cli_error("cannot create a %zu-%zu-%zu network: %s", n_in, o->hidden, n_out, mlp2_strerror(st));
        return st == MLP2_ENOMEM ? EXIT_TRAIN : EXIT_USAGE;
    }
    mlp2_train_config cfg = mlp2_train_defaults();
    cfg.epochs = o->epochs;
    cfg.batch_size = batch;
    cfg.shuffle = 1;
    cfg.seed = o->seed;
    cfg.optim = mlp2_optim_defaults(o->optim);
    cfg.optim.lr = o->lr_given ? o->lr : o->optim == MLP2_OPTIM_SGD ? 0.1 : 0.01;
    cfg.optim.momentum = o->momentum;
    cfg.optim.weight_decay = o->weight_decay;
    cfg.lr_step = o->lr_step;
    cfg.lr_gamma = o->lr_step ? o->lr_gamma : 1.0;
    cfg.patience = o->patience;
    cfg.min_delta = o->min_delta;
    cfg.on_epoch = on_epoch;
    cfg.user = &s->prog;
    cfg.cancel = &interrupted;

    progress *p = &s->prog;
    p->tty = isatty(STDERR_FILENO);
    p->quiet = o->quiet;
    p->epochs = o->epochs;
    if (!o->quiet)
        fprintf(stderr, "mlp2: training a %zu-%zu-%zu network on %s: %zu training rows, %zu validation rows, "
                        "%s lr %s, batch %zu, %zu epochs\n",
                n_in, o->hidden, n_out, s->d.name, m_train, m_val, optim_name(o->optim), fmt(cfg.optim.lr), batch,
                o->epochs);

    struct sigaction old_sigint;
    catch_sigint(&old_sigint);
    p->t_start = p->t_prev = now_seconds();
    p->t_drawn = -1;
    mlp2_train_report rep;
    st = mlp2_train(s->net, &cfg, m_train, s->X, s->Y, m_val, s->Xv, s->Yv, &rep);
    double elapsed = now_seconds() - p->t_start;
    sigaction(SIGINT, &old_sigint, NULL);
    if (p->tty && !p->quiet && p->done > 0)
        fputc('\n', stderr);

    if (st != MLP2_OK) {
        if (st == MLP2_ENONFINITE)
            cli_error("training failed after %zu epochs: the loss or an update became non-finite (try a smaller "
                      "--lr); %s was not written",
                      p->done, o->output);
        else
            cli_error("training failed: %s; %s was not written", mlp2_strerror(st), o->output);
        return st == MLP2_EINVAL ? EXIT_USAGE : st == MLP2_ERANGE ? EXIT_DATA : EXIT_TRAIN;
    }
    if (rep.reason == MLP2_STOP_CANCELLED && !o->save_on_interrupt) {
        cli_error("interrupted during epoch %zu: nothing saved (--save-on-interrupt keeps the model reached)",
                  rep.epochs_run + 1);
        return EXIT_INTERRUPT;
    }

    /* ---- metrics in the data's units */
    if ((rc = store_sections(s->net, c, o, &cfg, &s->d, m_train, m_val, &rep)))
        return rc;
    st = mlp2_save(s->net, o->output);
    if (st != MLP2_OK) {
        cli_error("%s: cannot save the model: %s%s%s", o->output, mlp2_strerror(st), errno ? ": " : "",
                  errno ? strerror(errno) : "");
        return st == MLP2_ENOMEM ? EXIT_TRAIN : EXIT_IO;
    }

    /* the chart only from a run whose model was saved: a failed or
     * interrupted run leaves an existing chart alone, like the model */
    if (o->plot && p->recorded > 0) {
        char sub[160];
        snprintf(sub, sizeof sub, "%zu-%zu-%zu network, %s, lr %s, batch %zu", n_in, o->hidden, n_out,
                 optim_name(o->optim), fmt(cfg.optim.lr), batch);
        plot_ctx pc = {.p = p, .best_epoch = lowest_epoch(p, m_val > 0), .subtitle = sub};
        if (write_atomic(o->plot, write_plot, &pc) == EXIT_OK && !o->quiet)
            fprintf(stderr, "mlp2: learning curve written to %s\n", o->plot);
    }
    printf("%s after %zu epochs (%s s): %s\n", rep.reason == MLP2_STOP_CANCELLED ? "interrupted" : "finished",
           rep.epochs_run, fmt(elapsed),
           rep.reason == MLP2_STOP_EARLY       ? "early stopping"
           : rep.reason == MLP2_STOP_CANCELLED ? "saved because of --save-on-interrupt"
                                               : "all epochs run");
    size_t low = lowest_epoch(p, m_val > 0);
    if (cfg.patience || low == 0 || low == rep.best_epoch)
        printf("best epoch: %zu (%s loss %s)%s\n", rep.best_epoch, m_val ? "validation" : "train",
               fmt(rep.best_loss), cfg.patience ? ", its parameters are kept" : "");
    else
        printf("best epoch: %zu (%s loss %s); the model keeps the last epoch, %zu (%s loss %s): --patience keeps"
               " the best\n", low, m_val ? "validation" : "train", fmt(m_val ? p->val[low - 1] : p->train[low - 1]),
               rep.epochs_run, m_val ? "validation" : "train",
               fmt(m_val ? rep.final_val_loss : rep.final_train_loss));
    /* targets in units: undo the scaling of Y and Yv */
    const double *targets[2] = {s->Y, s->Yv};
    const double *inputs[2] = {s->X, s->Xv};
    size_t rows[2] = {m_train, m_val};
    const char *label[2] = {"train", "validation"};
    for (int part = 0; part < 2; part++) {
        if (rows[part] == 0)
            continue;
        double *Yu = malloc(rows[part] * n_out * sizeof *Yu);
        if (!Yu || predict_units(s->net, c, rows[part], inputs[part], s->P) != EXIT_OK) {
            free(Yu);
            continue;
        }
        for (size_t i = 0; i < rows[part]; i++)
            for (size_t j = 0; j < n_out; j++)
                Yu[i * n_out + j] = targets[part][i * n_out + j] * c->scale[n_in + j] + c->mean[n_in + j];
        printf("%s (%zu rows):\n", label[part], rows[part]);
        print_metrics_table(stdout, c, rows[part], s->P, Yu, "  ");
        free(Yu);
    }
    printf("model written to %s\n", o->output);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("cannot write the summary: %s", strerror(errno));
        return EXIT_IO;
    }
    return rep.reason == MLP2_STOP_CANCELLED ? EXIT_INTERRUPT : EXIT_OK;
}

static const cli_option train_options[] = {
    {"help", 'h', 0, O_HELP},        {"output", 'o', 1, O_OUTPUT},      {"target", 't', 1, O_TARGET},
    {"header", 0, 0, O_HEADER},      {"no-header", 0, 0, O_NO_HEADER},  {"val", 0, 1, O_VAL},
    {"val-data", 0, 1, O_VAL_DATA},  {"no-scale", 0, 0, O_NO_SCALE},    {"hidden", 0, 1, O_HIDDEN},
    {"epochs", 0, 1, O_EPOCHS},      {"batch", 0, 1, O_BATCH},          {"optim", 0, 1, O_OPTIM},
    {"lr", 0, 1, O_LR},              {"momentum", 0, 1, O_MOMENTUM},    {"weight-decay", 0, 1, O_WD},
    {"lr-step", 0, 1, O_LR_STEP},    {"lr-gamma", 0, 1, O_LR_GAMMA},    {"patience", 0, 1, O_PATIENCE},
    {"min-delta", 0, 1, O_MIN_DELTA}, {"seed", 0, 1, O_SEED},           {"threads", 0, 1, O_THREADS},
    {"plot", 0, 1, O_PLOT},          {"save-on-interrupt", 0, 0, O_SAVE_INT}, {"quiet", 'q', 0, O_QUIET},
    {0, 0, 0, 0}};

static int cmd_train(int argc, char **argv)
{
    train_opts o = {.hidden = 3, .epochs = 500, .batch = 32, .val = 0.2, .momentum = 0.9, .lr_gamma = 0.5,
                    .scale = 1, .seed = 42, .optim = MLP2_OPTIM_ADAM};
    o.targets = calloc((size_t)argc + 1, sizeof *o.targets);
    if (!o.targets) {
        cli_error("out of memory");
        return EXIT_TRAIN;
    }
    int rc = cli_parse("train", train_options, argc, argv, train_option, train_arg, &o);
    if (rc == 0) {
        train_state s;
        memset(&s, 0, sizeof s);
        rc = run_train(&o, &s);
        train_state_free(&s);
    }
    free(o.targets);
    return rc < 0 ? EXIT_OK : rc;
}

/* ------------------------------------------------------------------------- */
/* eval and predict                                                          */
/* ------------------------------------------------------------------------- */

typedef struct use_opts {
    const char *model, *data, *output, *cmd;
    csv_header_mode header;
} use_opts;

static int use_option(void *ctx, int id, const char *v)
{
    use_opts *o = ctx;
    switch (id) {
    case O_HELP:
        return print_help(strcmp(o->cmd, "eval") == 0 ? eval_help : predict_help) == EXIT_OK ? -1 : EXIT_IO;
    case O_MODEL: o->model = v; return 0;
    case O_OUTPUT: o->output = v; return 0;
    case O_HEADER: o->header = CSV_HEADER_YES; return 0;
    case O_NO_HEADER: o->header = CSV_HEADER_NO; return 0;
    default: return EXIT_USAGE;
    }
}

static int use_arg(void *ctx, const char *a)
{
    use_opts *o = ctx;
    if (o->data)
        return cli_usage_error(o->cmd, "more than one data file ('%s' and '%s')", o->data, a);
    o->data = a;
    return 0;
}

typedef struct predictions {
    const columns *c;
    size_t m;
    const double *P;
} predictions;

static int write_predictions(FILE *f, void *ctx)
{
    const predictions *p = ctx;
    const columns *c = p->c;
    for (size_t j = 0; j < c->n_out; j++) {
        const char *name = c->names[c->n_in + j];
        int quote = strpbrk(name, ",\"\r\n") != NULL || name[0] == ' ' || name[strlen(name) - 1] == ' ';
        if (j)
            fputc(',', f);
        if (quote) {
            fputc('"', f);
            for (const char *s = name; *s; s++) {
                if (*s == '"')
                    fputc('"', f);
                fputc(*s, f);
            }
            fputc('"', f);
        } else {
            fputs(name, f);
        }
    }
    fputc('\n', f);
    char buf[NUM_BUF];
    for (size_t i = 0; i < p->m && !ferror(f); i++)
        for (size_t j = 0; j < c->n_out; j++) {
            fputs(num_format(p->P[i * c->n_out + j], buf), f);
            fputc(j + 1 < c->n_out ? ',' : '\n', f);
        }
    return ferror(f) ? -1 : 0;
}

static int cmd_use(const char *cmd, int argc, char **argv)
{
    static const cli_option eval_options[] = {{"help", 'h', 0, O_HELP},
                                              {"model", 'm', 1, O_MODEL},
                                              {"header", 0, 0, O_HEADER},
                                              {"no-header", 0, 0, O_NO_HEADER},
                                              {0, 0, 0, 0}};
    static const cli_option predict_options[] = {{"help", 'h', 0, O_HELP},         {"model", 'm', 1, O_MODEL},
                                                 {"output", 'o', 1, O_OUTPUT},     {"header", 0, 0, O_HEADER},
                                                 {"no-header", 0, 0, O_NO_HEADER}, {0, 0, 0, 0}};
    const int is_eval = strcmp(cmd, "eval") == 0;
    use_opts o = {.cmd = cmd};
    int rc = cli_parse(cmd, is_eval ? eval_options : predict_options, argc, argv, use_option, use_arg, &o);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    if (!o.model)
        return cli_usage_error(cmd, "missing -m MODEL");
    if (!o.data)
        return cli_usage_error(cmd, "missing DATA.csv");
    if (o.output && (rc = check_output_dir(o.output)))
        return rc;

    mlp2 *net = NULL;
    columns c = {0};
    csv_table t = {0};
    double *X = NULL, *Y = NULL, *P = NULL;
    size_t *idx = NULL;
    const char *shown = strcmp(o.data, "-") == 0 ? "<stdin>" : o.data;
    csv_options copt = {.header = o.header};
    if ((rc = load_model(o.model, &net, &c)) || (rc = cli_read_csv(o.data, &copt, &t)))
        goto done;
    idx = malloc((c.n_in + c.n_out) * sizeof *idx);
    if (!idx) {
        rc = EXIT_DATA;
        goto done;
    }
    if ((rc = bind_columns(shown, &t, &c, is_eval, idx)))
        goto done;
    X = gather(&t, idx, c.n_in, c.mean, c.scale);
    P = X ? malloc(t.rows * c.n_out * sizeof *P) : NULL;
    if (!X || !P) {
        cli_error("%s: out of memory for %zu rows", shown, t.rows);
        rc = EXIT_DATA;
        goto done;
    }
    if ((rc = predict_units(net, &c, t.rows, X, P)))
        goto done;
    if (is_eval) {
        static const double zero_mean[1] = {0};
        (void)zero_mean;
        double *ones = malloc(c.n_out * sizeof *ones), *zeros = calloc(c.n_out, sizeof *zeros);
        if (ones && zeros) {
            for (size_t j = 0; j < c.n_out; j++)
                ones[j] = 1;
            Y = gather(&t, idx + c.n_in, c.n_out, zeros, ones);
        }
        free(ones);
        free(zeros);
        if (!Y) {
            cli_error("out of memory");
            rc = EXIT_DATA;
            goto done;
        }
        printf("%s on %s (%zu rows):\n", o.model, shown, t.rows);
        print_metrics_table(stdout, &c, t.rows, P, Y, "  ");
        if (fflush(stdout) != 0 || ferror(stdout)) {
            cli_error("cannot write to stdout: %s", strerror(errno));
            rc = EXIT_IO;
        }
    } else {
        predictions pr = {.c = &c, .m = t.rows, .P = P};
        if (o.output) {
            rc = write_atomic(o.output, write_predictions, &pr);
        } else if (write_predictions(stdout, &pr) != 0 || fflush(stdout) != 0) {
            cli_error("cannot write to stdout: %s", strerror(errno));
            rc = EXIT_IO;
        }
    }
done:
    free(X);
    free(Y);
    free(P);
    free(idx);
    csv_free(&t);
    columns_free(&c);
    mlp2_free(net);
    return rc;
}

/* ------------------------------------------------------------------------- */
/* info                                                                      */
/* ------------------------------------------------------------------------- */

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

static int cmd_info(int argc, char **argv)
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

/* ------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    /* Every number this program reads or writes uses '.': run this thread
     * under the "C" locale whatever the environment (the CSV reader and the
     * number formatter also make sure of it themselves). */
    locale_t c_loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (c_loc)
        uselocale(c_loc);

    int rc;
    if (argc < 2) {
        fputs(main_help, stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "train") == 0)
        rc = cmd_train(argc - 2, argv + 2);
    else if (strcmp(cmd, "eval") == 0 || strcmp(cmd, "predict") == 0)
        rc = cmd_use(cmd, argc - 2, argv + 2);
    else if (strcmp(cmd, "info") == 0)
        rc = cmd_info(argc - 2, argv + 2);
    else if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0)
        rc = print_help(main_help);
    else if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
        printf("mlp2 %s (libmlp2 %s, model format %d)\n%s\n", MLP2_VERSION_STRING, mlp2_version(),
               MLP2_FORMAT_VERSION, mlp2_blas_config());
        rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_IO;
    } else if (cmd[0] == '-')
        rc = cli_usage_error(NULL, "unknown option '%s'", cmd);
    else
        rc = cli_usage_error(NULL, "unknown command '%s'", cmd);
    if (c_loc) {
        uselocale(LC_GLOBAL_LOCALE);
        freelocale(c_loc);
    }
    return rc;
}
