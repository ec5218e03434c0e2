/* test_mpi_train.c - mlp2_mpi_train on 1..4 ranks (run under mpirun by
 * mpi/tests/meson.build, always inside `timeout`).
 *
 * Every rank builds the same global data set and takes its own slice (the
 * slices are uneven, and for 3 and 4 ranks some ranks hold 0 or 1 row).  The
 * reference is mlp2_train on the whole data, computed on every rank from
 * the network rank 0 starts with (the other ranks start from other seeds,
 * so the broadcast of rank 0's parameters is checked too).  Checks:
 *   - parameters within 1e-10 relative of the reference, the same report;
 *   - bit-identical parameters on every rank (gathered, memcmp);
 *   - bit-identical from run to run;
 *   - a callback that stops on one rank only stops every rank;
 *   - a rank makes its pool's threads only when its share of the run pays
 *     for them (the rule of mlp2_train);
 *   - failures on one rank: NaN in its data, an allocator that always fails,
 *     a shape or configuration that differs, NULL data with rows: every rank
 *     returns the same status and keeps its model; a step that overflows
 *     (everywhere, or in the last rank's slice of the parameters only):
 *     every rank returns MLP2_ENONFINITE with the same finite parameters.
 * Exit status: 0 when every check passed on this rank, 1 otherwise (mpirun
 * then fails).
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mlp2_mpi.h>

#include "threadcount.h"

#define NI 5
#define NH 7
#define NO 2
#define M 157
#define MV 41
#define SEED 5

static int rank, size, failures;

#define CHECK(cond)                                                                            \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "rank %d: %s:%d: check failed: %s\n", rank, __FILE__, __LINE__, #cond); \
            failures++;                                                                        \
        }                                                                                      \
    } while (0)

static double X[M * NI], Y[M * NO], Xv[MV * NI], Yv[MV * NO];

static void make_data(void)
{
    unsigned long long s = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < M * NI; i++)
        X[i] = (double)((s = s * 6364136223846793005ull + 1442695040888963407ull) >> 11) * 0x1p-53 * 2.1 - 1.05;
    for (size_t i = 0; i < MV * NI; i++)
        Xv[i] = (double)((s = s * 6364136223846793005ull + 1442695040888963407ull) >> 11) * 0x1p-53 * 2.1 - 1.05;
    /* targets: a smooth function of the inputs, plus a little noise */
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < NO; j++)
            Y[i * NO + j] = sin(1.3 * X[i * NI + j] + 0.7 * X[i * NI + 4]) * (j + 0.5) + 0.01 * X[i * NI + 2];
    for (size_t i = 0; i < MV; i++)
        for (size_t j = 0; j < NO; j++)
            Yv[i * NO + j] = sin(1.3 * Xv[i * NI + j] + 0.7 * Xv[i * NI + 4]) * (j + 0.5) + 0.01 * Xv[i * NI + 2];
}

/* Rows [lo, hi) of n for this rank: uneven, with empty and 1-row ranks. */
static void my_rows(size_t n, size_t *lo, size_t *hi)
{
    static const double cut[5][5] = {
        {0, 1}, {0, 0.38, 1}, {0, 0, 0.63, 1}, {0, 0, 0.5, 0.5, 1}, {0},
    };
    size_t b[5] = {0};
    for (int r = 0; r <= size; r++)
        b[r] = (size_t)(cut[size - 1][r] * (double)n);
    if (size == 4)
        b[1] = 1; /* rank 0: one row; rank 2: none */
    *lo = b[rank];
    *hi = b[rank + 1];
}

static mlp2 *start_net(int seed_rank)
{
    mlp2 *net;
    if (mlp2_create(&net, NI, NH, NO, SEED + (uint64_t)seed_rank) != MLP2_OK)
        abort();
    return net;
}

static void params(const mlp2 *net, double *theta)
{
    mlp2_get_params(net, theta);
}

/* start_net(seed_rank) with hidden unit NH-1 off (its weights in 0, its
 * bias -1e4) and its weight to the last output 1e308: see the test of an
 * overflow in the last rank's slice in main. */
static mlp2 *slice_overflow_net(int seed_rank)
{
    mlp2 *net = start_net(seed_rank);
    double th[256];
    params(net, th);
    for (size_t i = 0; i < NI; i++)
        th[i * NH + NH - 1] = 0.0;                     /* W1[i][NH-1] */
    th[NI * NH + NH - 1] = -1e4;                       /* b1[NH-1] */
    th[NI * NH + NH + (NH - 1) * NO + NO - 1] = 1e308; /* W2[NH-1][NO-1] */
    CHECK(mlp2_set_params(net, th) == MLP2_OK);
    return net;
}

/* Every rank's theta equal to rank 0's, bit for bit. */
static bool same_everywhere(const double *theta, size_t n)
{
    double *all = rank == 0 ? malloc(n * (size_t)size * sizeof(double)) : NULL;
    MPI_Gather(theta, (int)n, MPI_DOUBLE, all, (int)n, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    int ok = 1;
    if (rank == 0)
        for (int r = 1; r < size; r++)
            ok &= memcmp(all, all + (size_t)r * n, n * sizeof(double)) == 0;
    MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
    free(all);
    return ok;
}

static double rel_diff(const double *a, const double *b, size_t n)
{
    double num = 0, den = 1e-300;
    for (size_t i = 0; i < n; i++) {
        num = fmax(num, fabs(a[i] - b[i]));
        den = fmax(den, fabs(b[i]));
    }
    return num / den;
}

static mlp2_status mpi_train(mlp2 *net, const mlp2_train_config *cfg, bool val, mlp2_train_report *rep)
{
    size_t lo, hi, vlo, vhi;
    my_rows(M, &lo, &hi);
    my_rows(MV, &vlo, &vhi);
    return mlp2_mpi_train(net, cfg, MPI_COMM_WORLD, hi - lo, hi > lo ? X + lo * NI : NULL,
                          hi > lo ? Y + lo * NO : NULL, val ? vhi - vlo : 0,
                          val && vhi > vlo ? Xv + vlo * NI : NULL, val && vhi > vlo ? Yv + vlo * NO : NULL,
                          rep);
}

/* on_epoch: the most threads seen during the run */
static int most_threads(void *user, size_t epoch, double tl, double vl)
{
    (void)epoch;
    (void)tl;
    (void)vl;
    int *most = user;
    const int n = thread_count();
    *most = n > *most ? n : *most;
    return 0;
}

/* A rank makes its pool only when its share of the run pays for it: the
 * rule of lib/train.c, epochs x local rows x (50 + NI NH + NH NO) >= 1e7,
 * over this rank's rows; 99 a row here.  4096 rows in one batch, so that
 * every rank with rows to spare has shards for a second thread.  1 epoch:
 * no rank makes a thread.  50 epochs: the ranks of 4096, 2580, 2540, 2048
 * and 2047 rows make one worker (1.01e7 and more), those of 1556, 1516, 1
 * and 0 rows none (7.7e6 and less).  The bits are those of threads = 1
 * either way (check_config). */
static void check_pool_rule(void)
{
    enum { MP = 4096 };
    size_t lo, hi;
    my_rows(MP, &lo, &hi);
    double *Xp = malloc(sizeof(double) * MP * NI), *Yp = malloc(sizeof(double) * MP * NO);
    CHECK(Xp && Yp);
    if (!Xp || !Yp)
        return;
    for (size_t i = 0; i < MP * NI; i++)
        Xp[i] = X[i % (M * NI)];
    for (size_t i = 0; i < MP * NO; i++)
        Yp[i] = Y[i % (M * NO)];
    const size_t epochs[] = {1, 50};
    for (size_t e = 0; e < 2; e++) {
        const int before = thread_count();
        if (before < 0) {
            fprintf(stderr, "rank %d: /proc/self/task unreadable: the pool rule is not checked (SKIP)\n", rank);
            break;
        }
        int most = 0;
        mlp2_train_config c = mlp2_train_defaults();
        c.epochs = epochs[e];
        c.batch_size = MP;
        c.threads = 2;
        c.on_epoch = most_threads;
        c.user = &most;
        mlp2 *net = start_net(0);
        CHECK(mlp2_mpi_train(net, &c, MPI_COMM_WORLD, hi - lo, Xp + lo * NI, Yp + lo * NO, 0, NULL, NULL,
                             NULL) == MLP2_OK);
        mlp2_free(net);
        const double work = (double)epochs[e] * (double)(hi - lo) * (50.0 + NI * NH + NH * NO);
        const int want = before + (work >= 1e7 ? 1 : 0);
        if (most != want)
            fprintf(stderr, "rank %d: %zu epochs over %zu rows: %d threads, want %d\n", rank, epochs[e],
                    hi - lo, most, want);
        CHECK(most == want);
    }
    free(Xp);
    free(Yp);
}

/* The equality checks for one configuration. */
static void check_config(const mlp2_train_config *cfg, bool val, const char *what)
{
    const size_t n = NI * NH + NH + NH * NO + NO;
    double ref[256], got[256], again[256];
    mlp2_train_report rref, rgot, ragain;
    mlp2 *net = start_net(0);
    CHECK(mlp2_train(net, cfg, M, X, Y, val ? MV : 0, val ? Xv : NULL, val ? Yv : NULL, &rref) == MLP2_OK);
    params(net, ref);
    mlp2_free(net);

    net = start_net(rank);
    CHECK(mpi_train(net, cfg, val, &rgot) == MLP2_OK);
    params(net, got);
    mlp2_free(net);
    const double d = rel_diff(got, ref, n);
    if (!(d <= 1e-10))
        fprintf(stderr, "rank %d: %s: relative difference %.3g from mlp2_train\n", rank, what, d);
    CHECK(d <= 1e-10);
    CHECK(rgot.epochs_run == rref.epochs_run);
    CHECK(rgot.best_epoch == rref.best_epoch);
    CHECK(rgot.reason == rref.reason);
    CHECK(fabs(rgot.final_train_loss - rref.final_train_loss) <= 1e-10 * fabs(rref.final_train_loss));
    CHECK(same_everywhere(got, n));
    double rep_bits[3] = {rgot.final_train_loss, rgot.final_val_loss, rgot.best_loss};
    CHECK(same_everywhere(rep_bits, 3));
    /* the run moved the parameters */
    net = start_net(0);
    double start[256];
    params(net, start);
    mlp2_free(net);
    CHECK(rel_diff(got, start, n) > 1e-3);

    net = start_net(rank);
    CHECK(mpi_train(net, cfg, val, &ragain) == MLP2_OK);
    params(net, again);
    mlp2_free(net);
    CHECK(memcmp(again, got, n * sizeof(double)) == 0);
}

static int stop_on_rank1(void *user, size_t epoch, double tl, double vl)
{
    (void)user;
    (void)tl;
    (void)vl;
    return rank == (size > 1 ? 1 : 0) && epoch == 3;
}

static void *fail_alloc(void *ud, size_t size_)
{
    (void)ud;
    (void)size_;
    return NULL;
}
static void plain_free(void *ud, void *p)
{
    (void)ud;
    free(p);
}

/* Every rank gets `want` from a call that fails on the last rank, and its
 * model is unchanged. */
static void check_failure(const char *what, mlp2_status want, int how)
{
    const int bad = size - 1;
    mlp2 *net = start_net(rank);
    double before[256], after[256];
    params(net, before);
    mlp2_train_config cfg = mlp2_train_defaults();
    cfg.epochs = 3;
    cfg.batch_size = 16;
    size_t lo, hi;
    my_rows(M, &lo, &hi);
    double *Xl = malloc((M * NI + 1) * sizeof(double));
    memcpy(Xl, X, sizeof X);
    mlp2 *use = net, *other = NULL;
    if (rank == bad) {
        if (how == 0 && hi > lo)
            Xl[lo * NI + 1] = NAN;
        if (how == 1)
            mlp2_set_allocator(fail_alloc, plain_free, NULL);
        if (how == 2) {
            mlp2_create(&other, NI, NH + 1, NO, 1);
            use = other;
        }
        if (how == 3)
            cfg.seed = 99;
    }
    mlp2_status st;
    if (how == 4 && rank == bad)
        st = mlp2_mpi_train(use, &cfg, MPI_COMM_WORLD, hi - lo + 1, NULL, NULL, 0, NULL, NULL, NULL);
    else
        st = mlp2_mpi_train(use, &cfg, MPI_COMM_WORLD, hi - lo, Xl + lo * NI, Y + lo * NO, 0, NULL, NULL, NULL);
    if (rank == bad && how == 1)
        mlp2_set_allocator(NULL, NULL, NULL);
    if (st != want)
        fprintf(stderr, "rank %d: %s: status %d, want %d\n", rank, what, (int)st, (int)want);
    CHECK(st == want);
    params(net, after);
    CHECK(memcmp(before, after, sizeof(double) * mlp2_n_params(net)) == 0);
    mlp2_free(other);
    mlp2_free(net);
    free(Xl);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (size > 4) {
        if (rank == 0)
            fprintf(stderr, "test_mpi_train: 1 to 4 ranks\n");
        MPI_Finalize();
        return 1;
    }
    make_data();

    /* Adam, shuffled, 5 epochs, no validation */
    mlp2_train_config a = mlp2_train_defaults();
    a.epochs = 5;
    a.batch_size = 16;
    a.optim.lr = 0.01;
    a.seed = 17;
    check_config(&a, false, "adam shuffled");
    /* the same with 2 threads per rank */
    a.threads = 2;
    check_config(&a, false, "adam shuffled, 2 threads");
    check_pool_rule();
    /* SGD with momentum, in order, validation, early stopping, a schedule */
    mlp2_train_config s = mlp2_train_defaults_for(MLP2_OPTIM_MOMENTUM);
    s.epochs = 40;
    s.batch_size = 23;
    s.shuffle = 0;
    s.optim.lr = 0.2;
    s.patience = 2;
    s.lr_step = 3;
    s.lr_gamma = 0.7;
    check_config(&s, true, "momentum, validation, early stop");

    /* a callback that stops on one rank stops all, at the same epoch */
    mlp2_train_config c = a;
    c.threads = 0;
    c.epochs = 10;
    c.on_epoch = stop_on_rank1;
    mlp2 *net = start_net(rank);
    mlp2_train_report rep;
    CHECK(mpi_train(net, &c, false, &rep) == MLP2_OK);
    CHECK(rep.reason == MLP2_STOP_CALLBACK && rep.epochs_run == 3);
    mlp2_free(net);

    /* failures on the last rank reach every rank */
    size_t lo, hi;
    my_rows(M, &lo, &hi);
    int last_has_rows = 0;
    if (rank == size - 1)
        last_has_rows = hi > lo;
    MPI_Bcast(&last_has_rows, 1, MPI_INT, size - 1, MPI_COMM_WORLD);
    if (last_has_rows)
        check_failure("NaN in one rank's data", MLP2_ENONFINITE, 0);
    check_failure("allocator failing on one rank", MLP2_ENOMEM, 1);
    if (size > 1) {
        check_failure("another shape on one rank", MLP2_EINVAL, 2);
        check_failure("another seed on one rank", MLP2_EINVAL, 3);
    }
    check_failure("rows but no data on one rank", MLP2_EINVAL, 4);

    /* a step that overflows: ENONFINITE everywhere, the same finite parameters */
    mlp2_train_config big = mlp2_train_defaults_for(MLP2_OPTIM_SGD);
    big.optim.lr = 1e300;
    big.epochs = 2;
    big.batch_size = 16;
    net = start_net(rank);
    CHECK(mpi_train(net, &big, false, &rep) == MLP2_ENONFINITE);
    CHECK(rep.reason == MLP2_STOP_NONFINITE);
    double th[256];
    params(net, th);
    for (size_t i = 0; i < mlp2_n_params(net); i++)
        CHECK(isfinite(th[i]));
    CHECK(same_everywhere(th, mlp2_n_params(net)));
    mlp2_free(net);

    /* an overflow in the last rank's slice of the parameters only (each
     * rank steps its slice): hidden unit NH-1 is off (its weights in 0, its
     * bias -1e4, so its activation is 0 or nearly) and its weight to the
     * last output is 1e308.  SGD with lr 1 and weight decay 3 makes every
     * parameter -2 theta - grad: finite everywhere but there, where
     * 3 theta overflows.  Every rank must refuse the first step: status
     * ENONFINITE, rank 0's parameters as they started, on every rank. */
    mlp2_train_config wd = mlp2_train_defaults_for(MLP2_OPTIM_SGD);
    wd.optim.lr = 1.0;
    wd.optim.weight_decay = 3.0;
    wd.batch_size = 16;
    double start[256];
    net = slice_overflow_net(0);
    params(net, start); /* what rank 0 starts from, and every rank keeps */
    mlp2_free(net);
    net = slice_overflow_net(rank);
    CHECK(mpi_train(net, &wd, false, &rep) == MLP2_ENONFINITE);
    CHECK(rep.reason == MLP2_STOP_NONFINITE && rep.epochs_run == 0);
    params(net, th);
    CHECK(memcmp(th, start, mlp2_n_params(net) * sizeof(double)) == 0);
    CHECK(same_everywhere(th, mlp2_n_params(net)));
    mlp2_free(net);

    int all;
    MPI_Allreduce(&failures, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0)
        printf("test_mpi_train: %d ranks, %s (%d failed checks)\n", size, all ? "FAILED" : "ok", all);
    MPI_Finalize();
    return failures ? 1 : 0;
}
