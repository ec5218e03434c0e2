/*
 * mlp2-par-bench - threads against one thread, interleaved, for ratios on a
 * noisy shared machine.
 *
 * For each shape and batch m, four set-ups run the same operation on the
 * same model and data:
 *   1t       mlp2_workspace_create, OpenBLAS 1 thread (today's single thread)
 *   blasN    mlp2_workspace_create, OpenBLAS N threads (BLAS's own threads)
 *   mt1      mlp2_workspace_create_mt(1), OpenBLAS 1 thread (shards, one thread)
 *   mtN      mlp2_workspace_create_mt(N), OpenBLAS 1 thread
 * blasN runs only with --blas: OpenBLAS's threads keep spinning for a while
 * after each call and would slow whatever runs next, so that column is
 * best measured in a run of its own (--blas alone skips nothing, it only
 * adds the column; read it with that in mind).
 * One round times one sample of each set-up in turn (a sample is k calls,
 * k chosen for >= 2 ms per sample, after one untimed call that wakes the
 * set-up's workers and warms its caches); rounds repeat until --rounds.  Medians
 * per set-up, and ratios of medians against 1t, are printed, with the
 * spread (median absolute deviation / median) of the 1t samples as the
 * noise figure.  Interleaving puts every set-up through the same machine
 * load, so the ratios hold up where absolute times drift.
 *
 * Operations: predict (mlp2_predict), step (mlp2_sgd_step), epoch (one
 * mlp2_train epoch over m rows in batches of --batch rows, Adam, no
 * shuffle: here m is the epoch's rows).
 *
 * Usage: mlp2-par-bench [--threads N] [--rounds R] [--blas 0|1] [--shapes A-B-C,...]
 *                       [--batches M,...] [--ops predict,step,epoch] [--batch B]
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mlp2.h>

#define N_SETUPS 4
#define MAX_ROUNDS 200
enum { OP_PREDICT, OP_STEP, OP_EPOCH, N_OPS };
static const char *const op_names[N_OPS] = {"predict", "step", "epoch"};

typedef struct {
    size_t ni, nh, no, m, batch;
    mlp2 *net;
    mlp2_workspace *ws[N_SETUPS];
    int blas[N_SETUPS];
    double *X, *Y, *P;
    int op;
} cell;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static int run(cell *c, int s)
{
    if (mlp2_blas_threads() != c->blas[s])
        mlp2_set_blas_threads(c->blas[s]);
    if (c->op == OP_PREDICT)
        return mlp2_predict(c->net, c->ws[s], c->m, c->X, c->P) != MLP2_OK;
    if (c->op == OP_STEP)
        return mlp2_sgd_step(c->net, c->ws[s], c->m, c->X, c->Y, 1e-6, NULL) != MLP2_OK;
    mlp2_train_config cfg = mlp2_train_defaults();
    cfg.epochs = 1;
    cfg.batch_size = c->batch;
    cfg.shuffle = 0;
    cfg.optim.lr = 1e-6;
    cfg.threads = mlp2_workspace_threads(c->ws[s]);
    if (s == 0 || s == 1)
        cfg.threads = 0; /* the plain workspace */
    return mlp2_train(c->net, &cfg, c->m, c->X, c->Y, 0, NULL, NULL, NULL) != MLP2_OK;
}

static void fill(double *x, size_t n, unsigned long long *st)
{
    for (size_t i = 0; i < n; i++) {
        *st = *st * 6364136223846793005ULL + 1442695040888963407ULL;
        x[i] = (double)(*st >> 11) * 0x1p-52 - 1.0;
    }
}

static bool with_blas;

static int bench_cell(cell *c, int threads, int rounds)
{
    static double t[N_SETUPS][MAX_ROUNDS];
    long k = 1;
    /* warm up every set-up, and size k from the one-thread time */
    for (int s = 0; s < N_SETUPS; s++)
        if ((s != 1 || with_blas) && run(c, s))
            return -1;
    double t0 = now();
    if (run(c, 0))
        return -1;
    const double one = now() - t0;
    k = one < 2e-3 ? (long)(2e-3 / (one > 1e-7 ? one : 1e-7)) + 1 : 1;
    for (int r = 0; r < rounds; r++) {
        for (int s = 0; s < N_SETUPS; s++) {
            if (s == 1 && !with_blas) {
                t[s][r] = NAN;
                continue;
            }
            /* one untimed call first: the set-ups before this one ran
             * for milliseconds, long enough for this one's workers to
             * fall asleep and for its data to leave the caches.  The
             * sample then measures calls that follow one another, as a
             * training loop's steps do. */
            if (run(c, s))
                return -1;
            t0 = now();
            for (long j = 0; j < k; j++)
                if (run(c, s))
                    return -1;
            t[s][r] = (now() - t0) / (double)k;
        }
    }
    double med[N_SETUPS], dev[MAX_ROUNDS];
    for (int s = 0; s < N_SETUPS; s++) {
        double v[MAX_ROUNDS];
        memcpy(v, t[s], (size_t)rounds * sizeof(double));
        med[s] = median(v, rounds);
    }
    for (int r = 0; r < rounds; r++)
        dev[r] = fabs(t[0][r] - med[0]);
    const double noise = median(dev, rounds) / med[0];
    /* per-round ratio 1t / mtN, its spread across rounds */
    double rr[MAX_ROUNDS];
    for (int r = 0; r < rounds; r++)
        rr[r] = t[0][r] / t[3][r];
    const double rmed = median(rr, rounds);
    printf("%-8s %4zu-%zu-%-4zu %7zu %11.1f %11.1f %11.1f %11.1f   %6.3f %6.3f %6.3f   %5.1f%%  [%5.2f..%5.2f]\n",
           op_names[c->op], c->ni, c->nh, c->no, c->m, med[0] * 1e9 / (double)c->m,
           med[1] * 1e9 / (double)c->m, med[2] * 1e9 / (double)c->m, med[3] * 1e9 / (double)c->m,
           med[0] / med[1], med[0] / med[2], med[0] / med[3], 100.0 * noise, rr[0], rr[rounds - 1]);
    (void)rmed;
    (void)threads;
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    int threads = 2, rounds = 15;
    size_t batch = 1024;
    const char *shapes = "784-512-10,64-256-1,2-3-1", *batches = "64,1024,4096,65536";
    const char *ops = "predict,step,epoch";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--threads"))
            threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--rounds"))
            rounds = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--shapes"))
            shapes = argv[i + 1];
        else if (!strcmp(argv[i], "--batches"))
            batches = argv[i + 1];
        else if (!strcmp(argv[i], "--ops"))
            ops = argv[i + 1];
        else if (!strcmp(argv[i], "--blas"))
            with_blas = atoi(argv[i + 1]) != 0;
        else if (!strcmp(argv[i], "--batch"))
            batch = (size_t)atol(argv[i + 1]);
        else {
            fprintf(stderr, "mlp2-par-bench: bad option %s\n", argv[i]);
            return 2;
        }
    }
    if (threads < 1 || rounds < 3 || rounds > MAX_ROUNDS || batch == 0) {
        fprintf(stderr, "mlp2-par-bench: bad --threads, --rounds (3..%d) or --batch\n", MAX_ROUNDS);
        return 2;
    }
    printf("mlp2-par-bench: N = %d threads, %d interleaved rounds; ns/sample (medians); "
           "ratios = 1t time / set-up time\n", threads, rounds);
    printf("%-8s %-11s %7s %11s %11s %11s %11s   %6s %6s %6s   %6s  %s\n", "op", "shape", "m", "1t",
           "blasN", "mt1", "mtN", "blasN", "mt1", "mtN", "noise", "1t/mtN per round [min..max]");
    for (int op = 0; op < N_OPS; op++) {
        if (!strstr(ops, op_names[op]))
            continue;
        for (const char *sp = shapes; *sp;) {
            cell c = {.op = op, .batch = batch};
            if (sscanf(sp, "%zu-%zu-%zu", &c.ni, &c.nh, &c.no) != 3)
                return 2;
            for (const char *bp = batches; *bp;) {
                c.m = (size_t)atol(bp);
                const size_t mb = op == OP_EPOCH ? (batch < c.m ? batch : c.m) : c.m;
                if (mlp2_create(&c.net, c.ni, c.nh, c.no, 42) != MLP2_OK)
                    return 1;
                c.blas[0] = 1;
                c.blas[1] = threads;
                c.blas[2] = 1;
                c.blas[3] = 1;
                if (mlp2_workspace_create(&c.ws[0], c.net, mb) || mlp2_workspace_create(&c.ws[1], c.net, mb) ||
                    mlp2_workspace_create_mt(&c.ws[2], c.net, mb, 1) ||
                    mlp2_workspace_create_mt(&c.ws[3], c.net, mb, (size_t)threads))
                    return 1;
                c.X = malloc(c.m * c.ni * sizeof(double));
                c.Y = malloc(c.m * c.no * sizeof(double));
                c.P = malloc(c.m * c.no * sizeof(double));
                if (!c.X || !c.Y || !c.P)
                    return 1;
                unsigned long long st = 12345;
                fill(c.X, c.m * c.ni, &st);
                fill(c.Y, c.m * c.no, &st);
                if (bench_cell(&c, threads, rounds))
                    return 1;
                for (int s = 0; s < N_SETUPS; s++)
                    mlp2_workspace_free(c.ws[s]);
                mlp2_free(c.net);
                free(c.X);
                free(c.Y);
                free(c.P);
                bp = strchr(bp, ',');
                bp = bp ? bp + 1 : "";
            }
            sp = strchr(sp, ',');
            sp = sp ? sp + 1 : "";
        }
    }
    return 0;
}
