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
 * Both libraries are opened before either makes its model and workspace,
 * and the second half of the rounds runs on a new model and workspace for
 * each, B's made first: the placement of the objects alone moved the ratio
 * of two copies of one build by up to 30% (100-128-1 at 2 rows: the second
 * made was the slower, 1.28-1.30), so that each half carries the opposite
 * placement, and both halves' medians are printed.  The order of loading
 * the libraries still moves some cells by 5-9% (10-32-1 at 4 rows): run
 * both A B and B A, and take both into account.
 * Printed: the medians of A and B (ns a row), the median of the per-round
 * ratios with its quartiles, and whether the two give the same bits for
 * the model's predictions, and for its loss and gradient (mlp2_loss_grad),
 * checked once, before the timing.  Compare a library with a copy of
 * itself first: the quartiles show how far apart two equal libraries land.
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
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mlp2.h"

typedef struct {
    const char *path;
    mlp2 *net;
    mlp2_workspace *ws;
    mlp2_status (*create)(mlp2 **, size_t, size_t, size_t, uint64_t);
    void (*free)(mlp2 *);
    mlp2_status (*ws_create)(mlp2_workspace **, const mlp2 *, size_t);
    mlp2_status (*ws_create_mt)(mlp2_workspace **, const mlp2 *, size_t, size_t);
    void (*ws_free)(mlp2_workspace *);
    mlp2_status (*step)(mlp2 *, mlp2_workspace *, size_t, const double *, const double *, double, double *);
    mlp2_status (*predict)(const mlp2 *, mlp2_workspace *, size_t, const double *, double *);
    mlp2_status (*loss_grad)(const mlp2 *, mlp2_workspace *, size_t, const double *, const double *,
                             double *, double *);
    size_t (*n_params)(const mlp2 *);
} lib;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* A function pointer from dlsym, copied out of the void * it comes as
 * (ISO C has no conversion between the two; POSIX promises the bits). */
static void sym(void *h, const char *name, void *fn, size_t size)
{
    void *p = dlsym(h, name);
    if (!p || size != sizeof p) {
        fprintf(stderr, "mlp2-ab: %s: %s\n", name, p ? "not a plain pointer" : dlerror());
        exit(1);
    }
    memcpy(fn, &p, size);
}

static lib open_lib(const char *path)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "mlp2-ab: %s\n", dlerror());
        exit(1);
    }
    lib l = {.path = path};
    sym(h, "mlp2_create", &l.create, sizeof l.create);
    sym(h, "mlp2_free", &l.free, sizeof l.free);
    sym(h, "mlp2_workspace_create", &l.ws_create, sizeof l.ws_create);
    sym(h, "mlp2_workspace_create_mt", &l.ws_create_mt, sizeof l.ws_create_mt);
    sym(h, "mlp2_workspace_free", &l.ws_free, sizeof l.ws_free);
    sym(h, "mlp2_sgd_step", &l.step, sizeof l.step);
    sym(h, "mlp2_predict", &l.predict, sizeof l.predict);
    sym(h, "mlp2_loss_grad", &l.loss_grad, sizeof l.loss_grad);
    sym(h, "mlp2_n_params", &l.n_params, sizeof l.n_params);
    return l;
}

/* the model (the same seed for both libraries) and its workspace */
static void make_objects(lib *l, size_t ni, size_t nh, size_t no, size_t m, size_t threads)
{
    mlp2_status st = l->create(&l->net, ni, nh, no, 1);
    if (st == MLP2_OK)
        st = threads == 0 ? l->ws_create(&l->ws, l->net, m) : l->ws_create_mt(&l->ws, l->net, m, threads);
    if (st != MLP2_OK) {
        fprintf(stderr, "mlp2-ab: %s: cannot make the model or its workspace (status %d)\n", l->path, (int)st);
        exit(1);
    }
}

static void free_objects(lib *l)
{
    l->ws_free(l->ws);
    l->free(l->net);
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
    if (m == 0 || rounds < 1 || ni == 0 || nh == 0 || no == 0 || argv[4][0] == '-' ||
        m > ((size_t)1 << 40) / (ni + no)) {
        fprintf(stderr, "mlp2-ab: M, ROUNDS and the shape's sizes must be positive, M x (n_in + n_out) "
                        "at most 2^40\n");
        return 2;
    }
    lib a = open_lib(argv[1]), b = open_lib(argv[2]);
    if (a.step == b.step) {
        fprintf(stderr, "mlp2-ab: LIB_A and LIB_B are one library: copy one of them elsewhere\n");
        return 2;
    }
    make_objects(&a, ni, nh, no, m, threads);
    make_objects(&b, ni, nh, no, m, threads);
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
    /* the two libraries' predictions for the same model and rows: the same
     * bits or not (a change meant to keep the bits must print "yes") */
    double *PB = malloc(m * no * sizeof *PB);
    if (!PB || a.predict(a.net, a.ws, m, X, P) != MLP2_OK || b.predict(b.net, b.ws, m, X, PB) != MLP2_OK) {
        fprintf(stderr, "mlp2-ab: predict failed\n");
        return 1;
    }
    const int same_bits = memcmp(P, PB, m * no * sizeof *P) == 0;
    free(PB);
    /* and their loss and gradient (a change to the backward pass) */
    const size_t np = a.n_params(a.net);
    double *GA = malloc(np * sizeof *GA), *GB = malloc(np * sizeof *GB), la, lb;
    if (!GA || !GB || a.loss_grad(a.net, a.ws, m, X, Y, &la, GA) != MLP2_OK ||
        b.loss_grad(b.net, b.ws, m, X, Y, &lb, GB) != MLP2_OK) {
        fprintf(stderr, "mlp2-ab: loss_grad failed\n");
        return 1;
    }
    const int same_grad = memcmp(&la, &lb, sizeof la) == 0 && memcmp(GA, GB, np * sizeof *GA) == 0;
    free(GA);
    free(GB);
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
    const int half = rounds / 2;
    for (int r = 0; r < rounds; r++) {
        if (r == half && half > 0) {
            /* the second half with B's model and workspace made first */
            free_objects(&b); /* B's freed first, so that B, made first, */
            free_objects(&a); /* gets what A had (malloc reuses the last freed) */
            make_objects(&b, ni, nh, no, m, threads);
            make_objects(&a, ni, nh, no, m, threads);
            run(&a, &j, 2);
            run(&b, &j, 2);
        }
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
    /* each half's median ratio, before the whole is sorted */
    qsort(ratio, (size_t)half, sizeof *ratio, cmp);
    qsort(ratio + half, (size_t)(rounds - half), sizeof *ratio, cmp);
    const double first = half > 0 ? ratio[half / 2] : (double)NAN, second = ratio[half + (rounds - half) / 2];
    qsort(ta, (size_t)rounds, sizeof *ta, cmp);
    qsort(tb, (size_t)rounds, sizeof *tb, cmp);
    qsort(ratio, (size_t)rounds, sizeof *ratio, cmp);
    printf("%zu-%zu-%zu m=%zu %s threads=%zu: A %.2f B %.2f ns a row (medians); B/A %.3f "
           "[quartiles %.3f %.3f] (%d rounds of %ld calls each; by half %.3f %.3f); predictions the "
           "same bits: %s; loss and gradient: %s\n",
           ni, nh, no, m, argv[5], threads, ta[rounds / 2], tb[rounds / 2], ratio[rounds / 2],
           ratio[rounds / 4], ratio[3 * rounds / 4], rounds, k, first, second, same_bits ? "yes" : "no",
           same_grad ? "yes" : "no");
    free(X);
    free(Y);
    free(P);
    free(ta);
    free(tb);
    free(ratio);
    return 0;
}
