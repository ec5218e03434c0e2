/*
 * mlp2-ab - two builds of libmlp2, old and new, alternated in one process,
 * for before/after ratios on a noisy shared machine.
 *
 * Both libraries are opened with dlopen (RTLD_LOCAL: each keeps its own
 * symbols; two copies of one file count as one library, so copy a build's
 * libmlp2.so elsewhere to compare it with itself).  Each gets the same model
 * (the same seed), its own workspace and the same data.  One round times
 * one sample of A and one of B, in turn, the order swapped every round (a
 * sample is k calls, k chosen for >= 2 ms per sample after warm-up calls);
 * the ratio B/A is taken round by round, so that the machine's drift, which
 * here moves absolute times by 5-15% within minutes, falls out of it.
 * Printed: the medians of A and B (ns a row) and the median of the per-round
 * ratios with its quartiles.  Compare a library with a copy of itself first:
 * the quartiles show how far apart two equal libraries land.
 *
 * Usage: mlp2-ab LIB_A LIB_B SHAPE M OP [ROUNDS [THREADS]]
 *   SHAPE    n_in-n_hidden-n_out, e.g. 10-32-1
 *   OP       predict or step (mlp2_sgd_step, lr 1e-9: the model barely
 *            moves, so every sample computes the same thing)
 *   ROUNDS   default 31
 *   THREADS  0 (default): mlp2_workspace_create; N: mlp2_workspace_create_mt
 * Run with OPENBLAS_NUM_THREADS=1 for single-thread figures.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mlp2.h"

typedef struct {
    mlp2 *net;
    mlp2_workspace *ws;
    mlp2_status (*step)(mlp2 *, mlp2_workspace *, size_t, const double *, const double *, double, double *);
    mlp2_status (*predict)(const mlp2 *, mlp2_workspace *, size_t, const double *, double *);
} lib;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void *sym(void *h, const char *name)
{
    void *p = dlsym(h, name);
    if (!p) {
        fprintf(stderr, "mlp2-ab: %s\n", dlerror());
        exit(1);
    }
    return p;
}

static lib open_lib(const char *path, size_t ni, size_t nh, size_t no, size_t m, size_t threads)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "mlp2-ab: %s\n", dlerror());
        exit(1);
    }
    /* a function pointer from dlsym: POSIX's way, through a void * object */
    lib l;
    mlp2_status (*create)(mlp2 **, size_t, size_t, size_t, uint64_t);
    mlp2_status (*ws_create)(mlp2_workspace **, const mlp2 *, size_t);
    mlp2_status (*ws_create_mt)(mlp2_workspace **, const mlp2 *, size_t, size_t);
    *(void **)&create = sym(h, "mlp2_create");
    *(void **)&ws_create = sym(h, "mlp2_workspace_create");
    *(void **)&ws_create_mt = sym(h, "mlp2_workspace_create_mt");
    *(void **)&l.step = sym(h, "mlp2_sgd_step");
    *(void **)&l.predict = sym(h, "mlp2_predict");
    mlp2_status st = create(&l.net, ni, nh, no, 1);
    if (st == MLP2_OK)
        st = threads == 0 ? ws_create(&l.ws, l.net, m) : ws_create_mt(&l.ws, l.net, m, threads);
    if (st != MLP2_OK) {
        fprintf(stderr, "mlp2-ab: %s: cannot make the model or its workspace (status %d)\n", path, (int)st);
        exit(1);
    }
    return l;
}

typedef struct {
    size_t m;
    const double *X, *Y;
    double *P;
    int step;
} job;

static void run(const lib *l, const job *j, long k)
{
    for (long i = 0; i < k; i++) {
        const mlp2_status st = j->step ? l->step(l->net, l->ws, j->m, j->X, j->Y, 1e-9, NULL)
                                       : l->predict(l->net, l->ws, j->m, j->X, j->P);
        if (st != MLP2_OK) {
            fprintf(stderr, "mlp2-ab: a call failed (status %d)\n", (int)st);
            exit(1);
        }
    }
}

static int cmp(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    size_t ni, nh, no;
    if (argc < 6 || sscanf(argv[3], "%zu-%zu-%zu", &ni, &nh, &no) != 3 ||
        (strcmp(argv[5], "step") && strcmp(argv[5], "predict"))) {
        fprintf(stderr, "usage: mlp2-ab LIB_A LIB_B SHAPE M predict|step [ROUNDS [THREADS]]\n");
        return 2;
    }
    const size_t m = strtoul(argv[4], NULL, 10), threads = argc > 7 ? strtoul(argv[7], NULL, 10) : 0;
    const int rounds = argc > 6 ? atoi(argv[6]) : 31;
    if (m == 0 || rounds < 1 || ni == 0 || nh == 0 || no == 0) {
        fprintf(stderr, "mlp2-ab: M, ROUNDS and the shape's sizes must be positive\n");
        return 2;
    }
    lib a = open_lib(argv[1], ni, nh, no, m, threads), b = open_lib(argv[2], ni, nh, no, m, threads);
    if (a.step == b.step) {
        fprintf(stderr, "mlp2-ab: LIB_A and LIB_B are one library: copy one of them elsewhere\n");
        return 2;
    }
    double *X = malloc(m * ni * sizeof *X), *Y = malloc(m * no * sizeof *Y), *P = malloc(m * no * sizeof *P);
    double *ta = malloc((size_t)rounds * sizeof *ta), *tb = malloc((size_t)rounds * sizeof *tb);
    double *ratio = malloc((size_t)rounds * sizeof *ratio);
    if (!X || !Y || !P || !ta || !tb || !ratio) {
        fprintf(stderr, "mlp2-ab: out of memory\n");
        return 1;
    }
    srand(1);
    for (size_t i = 0; i < m * ni; i++)
        X[i] = (double)rand() / RAND_MAX - 0.5;
    for (size_t i = 0; i < m * no; i++)
        Y[i] = (double)rand() / RAND_MAX - 0.5;
    const job j = {.m = m, .X = X, .Y = Y, .P = P, .step = !strcmp(argv[5], "step")};
    run(&a, &j, 2); /* warm-up: pages, symbol binding, the workers */
    run(&b, &j, 2);
    long k = 1;
    for (;;) {
        const double t0 = now();
        run(&a, &j, k);
        if (now() - t0 > 2e-3)
            break;
        k *= 2;
    }
    for (int r = 0; r < rounds; r++) {
        for (int s = 0; s < 2; s++) {
            const int is_b = (r + s) & 1;
            const double t0 = now();
            run(is_b ? &b : &a, &j, k);
            const double t = (now() - t0) / (double)k / (double)m * 1e9;
            if (is_b)
                tb[r] = t;
            else
                ta[r] = t;
        }
        ratio[r] = tb[r] / ta[r];
    }
    qsort(ta, (size_t)rounds, sizeof *ta, cmp);
    qsort(tb, (size_t)rounds, sizeof *tb, cmp);
    qsort(ratio, (size_t)rounds, sizeof *ratio, cmp);
    printf("%zu-%zu-%zu m=%zu %s threads=%zu: A %.2f B %.2f ns a row (medians); B/A %.3f "
           "[quartiles %.3f %.3f] (%d rounds of %ld calls each)\n",
           ni, nh, no, m, argv[5], threads, ta[rounds / 2], tb[rounds / 2], ratio[rounds / 2],
           ratio[rounds / 4], ratio[3 * rounds / 4], rounds, k);
    free(X);
    free(Y);
    free(P);
    free(ta);
    free(tb);
    free(ratio);
    return 0;
}
