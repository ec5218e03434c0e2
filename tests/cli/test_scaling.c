/* test_scaling.c - the command's standardisation, checked from outside:
 * `mlp2 train` is run on generated CSV files, and the scaling it stored in
 * the model (section "cli.columns", read back through the library and
 * columns_decode) must equal the training rows' mean and population
 * standard deviation computed here in long double, to within a few units of
 * rounding (1e-13 relative).  Then the targets are put on scales far from
 * the inputs' (1e7 and 1e-5, inputs around 0.5 and 1e6), and `predict` and
 * `eval` must answer in the targets' own units.
 *
 * Usage: test_cli_scaling /path/to/mlp2
 *
 * Catches: the mean or the standard deviation divided by the wrong row
 * count (all rows instead of the training rows, m - 1 instead of m);
 * predictions unscaled with an input's scale or mean; eval's or train's
 * metrics computed on targets unscaled the wrong way. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <mlp2.h>

#include "columns.h"
#include "csv.h"

extern char **environ;
static const char *mlp2_bin;
static char dir[256];

static const char *path_in(const char *name)
{
    static char bufs[8][512];
    static unsigned next;
    char *b = bufs[next++ % 8];
    snprintf(b, 512, "%s/%s", dir, name);
    return b;
}

/* Run mlp2 with args (NULL-terminated), stdout to out_name in dir; returns
 * the exit status. */
static int run(const char *out_name, const char *const *args)
{
    char *argv[32];
    size_t n = 0;
    argv[n++] = strdup(mlp2_bin); /* copies: exec's argv is not const */
    for (; args[n - 1] && n < 31; n++)
        argv[n] = strdup(args[n - 1]);
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, path_in(out_name), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, path_in("stderr.txt"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid;
    int rc = posix_spawn(&pid, mlp2_bin, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    for (size_t i = 0; i < n; i++)
        free(argv[i]);
    assert_int_equal(rc, 0);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) != 0) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "cat '%s' >&2", path_in("stderr.txt"));
        (void)system(cmd);
    }
    return WEXITSTATUS(status);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = NULL;
    size_t cap = 0, n = 0, got;
    do {
        if (n + 4096 > cap) {
            cap = 2 * cap + 4096;
            buf = realloc(buf, cap + 1);
            assert_non_null(buf);
        }
        got = fread(buf + n, 1, 4096, f);
        n += got;
    } while (got > 0);
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

static void read_csv(const char *path, csv_table *t)
{
    size_t len;
    char *buf = slurp(path, &len);
    csv_options opt = {.header = CSV_HEADER_YES};
    csv_error err;
    if (csv_parse(buf, len, &opt, t, &err) != CSV_OK) {
        print_error("%s:%zu:%zu: %s\n", path, err.line, err.col, err.msg);
        fail();
    }
    free(buf);
}

/* the model's stored column section */
static void stored_columns(const char *model, columns *c)
{
    mlp2 *net = NULL;
    assert_int_equal(mlp2_load(&net, path_in(model)), MLP2_OK);
    const void *data;
    size_t len;
    assert_int_equal(mlp2_section_get(net, COLUMNS_SECTION, &data, &len), MLP2_OK);
    const char *why = NULL;
    *c = (columns){0};
    assert_int_equal(columns_decode(data, len, c, &why), 0);
    mlp2_free(net);
}

/* mean and population standard deviation of column col over the rows
 * whose bit is set in keep (NULL: all), in long double, two passes */
static void reference_stats(const csv_table *t, size_t col, const unsigned char *keep, long double *mean,
                            long double *sd)
{
    long double s = 0, ss = 0;
    size_t m = 0;
    for (size_t i = 0; i < t->rows; i++)
        if (!keep || keep[i]) {
            s += t->data[i * t->cols + col];
            m++;
        }
    *mean = s / m;
    for (size_t i = 0; i < t->rows; i++)
        if (!keep || keep[i]) {
            const long double d = t->data[i * t->cols + col] - *mean;
            ss += d * d;
        }
    *sd = sqrtl(ss / m);
}

/* the stored scaling of every column of c against the rows of t in keep */
static void check_stats(const columns *c, const csv_table *t, const unsigned char *keep)
{
    for (size_t k = 0; k < c->n_in + c->n_out; k++) {
        const long col = csv_find(t, c->names[k]);
        assert_true(col >= 0);
        long double mean, sd, big = 0;
        reference_stats(t, (size_t)col, keep, &mean, &sd);
        for (size_t i = 0; i < t->rows; i++)
            big = fmaxl(big, fabsl(t->data[i * t->cols + (size_t)col]));
        const long double want_scale = sd > 1e-12L * fabsl(mean) ? sd : 1.0L;
        if (!(fabsl(c->mean[k] - mean) <= 1e-13L * big && fabsl(c->scale[k] - want_scale) <= 1e-13L * want_scale)) {
            print_error("column %s: stored mean %.17g scale %.17g, want %.17Lg and %.17Lg\n", c->names[k],
                        c->mean[k], c->scale[k], mean, want_scale);
            fail();
        }
    }
}

/* ---- data ------------------------------------------------------------- */

static uint64_t rng_state = 88172645463325252u;
static double uniform(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) * 0x1.0p-53;
}

/* Inputs a in [0, 1) and b around 1e6, a constant column c; targets big
 * (about 3e7 +- 2e6) and tiny (about 1e-5), smooth functions of a and b. */
static double f_big(double a, double b) { return 3e7 + 2e6 * (sin(3 * a) + 0.5 * (b - 1e6) / 1e4 * (b - 1e6) / 1e4); }
static double f_tiny(double a, double b) { return 1e-5 * (cos(2 * (b - 1e6) / 1e4) + a); }

static void write_data(const char *name, size_t rows)
{
    FILE *f = fopen(path_in(name), "w");
    assert_non_null(f);
    fprintf(f, "a,b,c,big,tiny\n");
    for (size_t i = 0; i < rows; i++) {
        const double a = uniform(), b = 1e6 + 1e4 * uniform();
        fprintf(f, "%.17g,%.17g,7.3,%.17g,%.17g\n", a, b, f_big(a, b), f_tiny(a, b));
    }
    assert_int_equal(fclose(f), 0);
}

/* ---- tests ------------------------------------------------------------ */

/* --val-data: the training rows are the training file's rows. */
static void test_stats_val_data(void **state)
{
    (void)state;
    write_data("train.csv", 150);
    write_data("val.csv", 60);
    const char *args[] = {"train", path_in("train.csv"), "--val-data", path_in("val.csv"), "-t", "big,tiny",
                          "-o", path_in("m.mlp2"), "--epochs", "1", "-q", NULL};
    assert_int_equal(run("out.txt", args), 0);
    columns c;
    stored_columns("m.mlp2", &c);
    assert_int_equal(c.n_in, 3);
    assert_int_equal(c.n_out, 2);
    csv_table t = {0};
    read_csv(path_in("train.csv"), &t);
    check_stats(&c, &t, NULL);
    /* the constant column is only centred */
    assert_true(c.scale[2] == 1.0);
    csv_free(&t);
    columns_free(&c);
}

/* --val FRACTION: the split is the command's; the column id = 2^i makes
 * the stored mean of id reveal which rows trained (their sum of distinct
 * powers of two is exact), and every column must then match those rows. */
static void test_stats_val_split(void **state)
{
    (void)state;
    enum { n = 40 };
    FILE *f = fopen(path_in("split.csv"), "w");
    assert_non_null(f);
    fprintf(f, "id,a,y\n");
    for (int i = 0; i < n; i++)
        fprintf(f, "%.17g,%.17g,%.17g\n", ldexp(1.0, i), 3 * uniform() - 1, 1e3 * uniform());
    assert_int_equal(fclose(f), 0);
    const char *args[] = {"train", path_in("split.csv"), "--val", "0.27", "-o", path_in("s.mlp2"),
                          "--epochs", "1", "-q", NULL};
    assert_int_equal(run("out.txt", args), 0);
    columns c;
    stored_columns("s.mlp2", &c);
    assert_int_equal(c.n_in, 2);
    assert_string_equal(c.names[0], "id");
    const size_t m_train = n - 11; /* round(0.27 * 40) = round(10.8) rows held out (docs/CLI.md) */
    const long double sum = roundl((long double)c.mean[0] * m_train);
    assert_true(sum >= 1 && sum < 0x1p40L);
    uint64_t bits = (uint64_t)sum;
    unsigned char keep[n];
    size_t count = 0;
    for (int i = 0; i < n; i++) {
        keep[i] = (bits >> i) & 1;
        count += keep[i];
    }
    if (count != m_train) {
        print_error("the stored mean of id, %.17g, is not the mean of %zu distinct powers of two\n", c.mean[0],
                    m_train);
        fail();
    }
    csv_table t = {0};
    read_csv(path_in("split.csv"), &t);
    check_stats(&c, &t, keep);
    csv_free(&t);
    columns_free(&c);
}

/* value of the first number after `name` on the first line (after the line
 * starting with `after`, if given) whose first word is name */
static double table_value(const char *file, const char *after, const char *name)
{
    size_t len;
    char *buf = slurp(path_in(file), &len);
    char *p = buf;
    if (after) {
        p = strstr(buf, after);
        assert_non_null(p);
    }
    double v = NAN;
    for (char *line = p; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        char word[64];
        double x;
        if (sscanf(line, " %63s %lf", word, &x) == 2 && strcmp(word, name) == 0) {
            v = x;
            break;
        }
    }
    free(buf);
    if (isnan(v)) {
        print_error("%s: no line for %s\n", file, name);
        fail();
    }
    return v;
}

/* Targets on scales far from the inputs': predictions in the targets' units
 * fit the true function, and eval's and train's MSE agree with the MSE of
 * predict's output computed here. */
static void test_target_scale(void **state)
{
    (void)state;
    write_data("fit.csv", 200);
    write_data("check.csv", 80);
    const char *train_args[] = {"train", path_in("fit.csv"), "--val-data", path_in("check.csv"), "-t",
                                "big,tiny", "-o", path_in("f.mlp2"), "--hidden", "10", "--epochs", "300",
                                "--seed", "3", "-q", NULL};
    assert_int_equal(run("train_out.txt", train_args), 0);
    const char *pred_args[] = {"predict", "-m", path_in("f.mlp2"), path_in("check.csv"), "-o",
                               path_in("pred.csv"), NULL};
    assert_int_equal(run("out.txt", pred_args), 0);
    const char *eval_args[] = {"eval", "-m", path_in("f.mlp2"), path_in("check.csv"), NULL};
    assert_int_equal(run("eval_out.txt", eval_args), 0);

    csv_table truth = {0}, pred = {0};
    read_csv(path_in("check.csv"), &truth);
    read_csv(path_in("pred.csv"), &pred);
    assert_int_equal(pred.rows, truth.rows);
    const char *names[2] = {"big", "tiny"};
    for (int j = 0; j < 2; j++) {
        const long tc = csv_find(&truth, names[j]), pc = csv_find(&pred, names[j]);
        assert_true(tc >= 0 && pc >= 0);
        long double mean, sd, sse = 0;
        reference_stats(&truth, (size_t)tc, NULL, &mean, &sd);
        for (size_t i = 0; i < truth.rows; i++) {
            const long double e = (long double)pred.data[i * pred.cols + (size_t)pc] - truth.data[i * truth.cols + (size_t)tc];
            sse += e * e;
        }
        const double mse = (double)(sse / truth.rows), rmse = sqrt(mse);
        print_message("%s: target sd %.3Lg, prediction RMSE %.3g\n", names[j], sd, rmse);
        /* a fit: the error is a small part of the target's spread (a model
         * answering in the wrong units is off by the spread or more) */
        assert_true(rmse < 0.2 * (double)sd);
        /* eval's and train's validation MSE are this one (printed to 6 digits) */
        const double ev = table_value("eval_out.txt", NULL, names[j]);
        const double tv = table_value("train_out.txt", "\nvalidation (", names[j]);
        if (!(fabs(ev - mse) <= 1e-5 * mse && fabs(tv - mse) <= 1e-5 * mse)) {
            print_error("%s: eval MSE %.17g, train's validation MSE %.17g, predict's %.17g\n", names[j], ev, tv,
                        mse);
            fail();
        }
    }
    csv_free(&truth);
    csv_free(&pred);
}

static int setup(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/mlp2-scaling-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s /path/to/mlp2\n", argv[0]);
        return 2;
    }
    mlp2_bin = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stats_val_data),
        cmocka_unit_test(test_stats_val_split),
        cmocka_unit_test(test_target_scale),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
