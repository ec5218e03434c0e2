/*
 * mlp2-bench - times libmlp2 across shapes and batch sizes, against the BLAS
 * bound (the same five dgemm calls alone) and against a plain-loops baseline.
 *
 * Operations per cell (shape n_in-n_hidden-n_out, batch m):
 *   predict  mlp2_predict
 *   grad     mlp2_loss_grad (loss and gradient)
 *   step     mlp2_sgd_step (loss, gradient, update): the training step
 *   gemm     the five cblas_dgemm calls of a step alone, same sizes, same
 *            OpenBLAS: X W1, A1 W2, A1^T D2, D2 W2^T, X^T D1.  The bound.
 *   loops    the whole training step in plain C loops, no BLAS (libm exp)
 *
 * Flops: the five gemms of a step do 2m(2 n_in n_hidden + 3 n_hidden n_out)
 * flops (forward X W1 and A1 W2; backward A1^T D2, D2 W2^T and X^T D1);
 * predict does the forward two, 2m(n_in n_hidden + n_hidden n_out).  GFLOP/s
 * is that count over the median time; element-wise work is not counted.
 *
 * Roofline.  Before the cells, the run measures the machine's limits on one
 * thread, each the best of many short samples (on a shared machine the
 * shortest sample is the one no other job stretched):
 *   peak     GFLOP/s of a square cblas_dgemm (512, --quick 256; best of 30);
 *   sigmoid  ns per element of the library's own sigmoid kernel (the BLAS
 *            path's, mlp2__bias_sigmoid) on a 32768-element row in L2;
 *   triad    GB/s of a STREAM triad a = b + s c on 3 x 128 MiB arrays
 *            (--quick 3 x 32 MiB), counting 24 bytes per element, timed in
 *            blocks of 2^17 elements over 3 passes (the fastest block).
 * Each cell's roofline time is max(flops / peak + n_sigmoid t_sigmoid,
 * bytes / bandwidth), with, for the step: flops = the five gemms plus 2 per
 * parameter (the update), n_sigmoid = m n_hidden, bytes = every parameter
 * read and written once (16 n_params) plus X and Y read once
 * (8 m (n_in + n_out)); for predict: the forward two gemms, the same
 * sigmoids, bytes 8 n_params + 8 m (n_in + n_out).  Everything else
 * (delta1, the bias adds, the workspace's traffic) is taken as free, so the
 * roofline is a lower bound; st/rf and pr/rf are step and predict over it.
 *
 * Timing: one warm-up call (more for fast calls), then samples of k calls
 * each (k chosen so a sample lasts >= 20 us) until at least min_reps samples
 * and the cell's time budget are reached.  median and min are per call.
 *
 * Usage: mlp2-bench [--shapes 2-3-1,784-512-10] [--batches 1,64,65536]
 *                   [--threads N] [--quick] [--budget SECONDS]
 *                   [--ops predict,grad,step,gemm,loops] [--max-mem GIB]
 *                   [--json FILE] [--plot FILE.svg]
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>
#include <mlp2.h>

#include "internal.h" /* the sigmoid kernel, for the roofline's sigmoid time */

/* ------------------------------------------------------------------------- */
/* Options                                                                   */
/* ------------------------------------------------------------------------- */

enum { OP_PREDICT, OP_GRAD, OP_STEP, OP_GEMM, OP_LOOPS, N_OPS };
static const char *const op_names[N_OPS] = {"predict", "grad", "step", "gemm", "loops"};

#define MAX_LIST 32

typedef struct {
    size_t ni, nh, no;
} shape;

typedef struct {
    shape shapes[MAX_LIST];
    size_t n_shapes;
    size_t batches[MAX_LIST];
    size_t n_batches;
    bool ops[N_OPS];
    int threads;
    double budget;      /* seconds per op per cell */
    int min_reps;
    double max_mem;     /* bytes for one cell's buffers */
    double loops_flops; /* skip the loops baseline above this many flops per call */
    const char *json, *plot;
    bool quick;         /* smaller machine-limit measurements too */
} options;

static void usage(FILE *f)
{
    fputs("usage: mlp2-bench [--shapes A-B-C,...] [--batches M,...] [--threads N] [--quick]\n"
          "                  [--budget SECONDS] [--ops predict,grad,step,gemm,loops]\n"
          "                  [--max-mem GIB] [--json FILE] [--plot FILE.svg]\n"
          "defaults: shapes 2-3-1,10-32-1,64-256-1,784-512-10; batches 1,4,16,...,65536;\n"
          "          threads 1; budget 0.25 s per op and cell (--quick: 0.02 s); max-mem 8 GiB\n",
          f);
}

static bool parse_size(const char *s, size_t *out)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || v == 0 || *s == '-')
        return false;
    *out = (size_t)v;
    return *end == '\0' || *end == ',' || *end == '-';
}

static bool parse_shapes(const char *s, options *o)
{
    o->n_shapes = 0;
    while (*s) {
        if (o->n_shapes == MAX_LIST)
            return false;
        shape *sh = &o->shapes[o->n_shapes++];
        size_t *dims[3] = {&sh->ni, &sh->nh, &sh->no};
        for (int d = 0; d < 3; d++) {
            if (!parse_size(s, dims[d]))
                return false;
            while (*s >= '0' && *s <= '9')
                s++;
            if (d < 2 && *s++ != '-')
                return false;
        }
        if (*s == ',')
            s++;
        else if (*s)
            return false;
    }
    return o->n_shapes > 0;
}

static bool parse_batches(const char *s, options *o)
{
    o->n_batches = 0;
    while (*s) {
        if (o->n_batches == MAX_LIST || !parse_size(s, &o->batches[o->n_batches++]))
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
        if (*s == ',')
            s++;
        else if (*s)
            return false;
    }
    return o->n_batches > 0;
}

static bool parse_ops(const char *s, options *o)
{
    for (int i = 0; i < N_OPS; i++)
        o->ops[i] = false;
    while (*s) {
        size_t len = strcspn(s, ",");
        int found = -1;
        for (int i = 0; i < N_OPS; i++)
            if (strlen(op_names[i]) == len && strncmp(s, op_names[i], len) == 0)
                found = i;
        if (found < 0)
            return false;
        o->ops[found] = true;
        s += len;
        if (*s == ',')
            s++;
    }
    return true;
}

static int parse_options(int argc, char **argv, options *o)
{
    *o = (options){.threads = 1, .budget = 0.25, .min_reps = 7, .max_mem = 8.0 * 1073741824.0,
                   .loops_flops = 4e9};
    parse_shapes("2-3-1,10-32-1,64-256-1,784-512-10", o);
    parse_batches("1,4,16,64,256,1024,4096,16384,65536", o);
    for (int i = 0; i < N_OPS; i++)
        o->ops[i] = true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = true, takes = true;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(a, "--quick") == 0) {
            o->budget = 0.02;
            o->min_reps = 3;
            o->quick = true;
            takes = false;
        } else if (!v) {
            ok = false;
        } else if (strcmp(a, "--shapes") == 0) {
            ok = parse_shapes(v, o);
        } else if (strcmp(a, "--batches") == 0) {
            ok = parse_batches(v, o);
        } else if (strcmp(a, "--ops") == 0) {
            ok = parse_ops(v, o);
        } else if (strcmp(a, "--threads") == 0) {
            o->threads = atoi(v);
            ok = o->threads >= 1;
        } else if (strcmp(a, "--budget") == 0) {
            o->budget = atof(v);
            ok = o->budget > 0;
        } else if (strcmp(a, "--max-mem") == 0) {
            o->max_mem = atof(v) * 1073741824.0;
            ok = o->max_mem > 0;
        } else if (strcmp(a, "--json") == 0) {
            o->json = v;
        } else if (strcmp(a, "--plot") == 0) {
            o->plot = v;
        } else {
            ok = false;
        }
        if (!ok) {
            fprintf(stderr, "mlp2-bench: bad option or value: %s%s%s\n", a, v && takes ? " " : "",
                    v && takes ? v : "");
            usage(stderr);
            return -1;
        }
        i += takes;
    }
    return 0;
}

/* ------------------------------------------------------------------------- */
/* Timing                                                                    */
/* ------------------------------------------------------------------------- */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct {
    double median, min, mad; /* seconds per call; mad: median absolute deviation */
    int reps;                /* samples taken */
    long calls;              /* calls per sample */
    bool done;               /* false: skipped */
    const char *why;         /* reason when skipped */
} timing;

typedef struct cell cell;
typedef int (*op_fn)(cell *c);

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_of(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

#define MAX_REPS 2000

/* Time fn on c: warm-up, then samples until min_reps and the budget are met
 * (at most 4x the budget once min_reps are in, at most MAX_REPS samples). */
static int time_op(op_fn fn, cell *c, const options *o, timing *t)
{
    static double samples[MAX_REPS], dev[MAX_REPS];
    double t0 = now();
    if (fn(c) != 0)
        return -1;
    double one = now() - t0;
    long k = 1;
    /* The first call may be slow only because it is the first (page
     * faults, symbol binding, cold caches): a second call decides.  Sized
     * from the first alone, 2-3-1's predict at m = 1 (19 ns) was timed one
     * call to a sample in about one run in four, clock reads included:
     * 50-56 ns. */
    if (one >= 20e-6 && one < o->budget / 4) {
        t0 = now();
        if (fn(c) != 0)
            return -1;
        one = now() - t0;
    }
    if (one < 20e-6) { /* fast call: warm up longer and group calls */
        t0 = now();
        long n = 0;
        while (now() - t0 < 0.01 && n < 100000) {
            if (fn(c) != 0)
                return -1;
            n++;
        }
        one = (now() - t0) / (double)n;
        k = (long)(20e-6 / one) + 1;
    }
    int n = 0;
    const double start = now();
    for (;;) {
        const double s0 = now();
        for (long j = 0; j < k; j++)
            if (fn(c) != 0)
                return -1;
        samples[n++] = (now() - s0) / (double)k;
        const double el = now() - start;
        if (n >= MAX_REPS || (n >= o->min_reps && el >= o->budget))
            break;
        if (n >= 3 && el >= 4 * o->budget + 1.0)
            break;
    }
    double mn = samples[0];
    for (int i = 1; i < n; i++)
        mn = samples[i] < mn ? samples[i] : mn;
    const double med = median_of(samples, n);
    for (int i = 0; i < n; i++)
        dev[i] = fabs(samples[i] - med);
    *t = (timing){.median = med, .min = mn, .mad = median_of(dev, n), .reps = n, .calls = k,
                  .done = true};
    return 0;
}

/* Deterministic data: a small LCG, values in [-1, 1) that are not round. */
static void fill(double *x, size_t n, uint64_t *state)
{
    for (size_t i = 0; i < n; i++) {
        *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
        x[i] = (double)(*state >> 11) * 0x1p-52 - 1.0;
    }
}

/* ------------------------------------------------------------------------- */
/* The machine's limits, for the roofline                                    */
/* ------------------------------------------------------------------------- */

typedef struct {
    double peak;  /* flop/s of a large square dgemm */
    double t_sig; /* seconds per element of the sigmoid kernel */
    double bw;    /* bytes/s of a STREAM triad */
    size_t gemm_n, sig_n, triad_n;
} limits;

/* The shortest of `samples` samples of fn(ctx), each of `calls` calls.
 * Short samples and the best of many: on a shared machine most samples are
 * stretched by other jobs, and the shortest is the machine's limit. */
static double best_of(void (*fn)(void *), void *ctx, int calls, int samples)
{
    fn(ctx); /* warm-up */
    double best = 1e300;
    for (int s = 0; s < samples; s++) {
        const double t0 = now();
        for (int i = 0; i < calls; i++)
            fn(ctx);
        const double t = (now() - t0) / calls;
        best = t < best ? t : best;
    }
    return best;
}

typedef struct {
    size_t n;
    double *a, *b, *c;
} arrays;

static void run_dgemm(void *p)
{
    const arrays *r = p;
    const int n = (int)r->n;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, r->a, n, r->b, n, 0.0, r->c,
                n);
}

static void run_sigmoid(void *p)
{
    const arrays *r = p;
    mlp2__bias_sigmoid(1, r->n, r->a, r->b); /* a = sigmoid(a + b) */
}

static void triad(size_t n, double *restrict a, const double *restrict b, const double *restrict c)
{
    for (size_t i = 0; i < n; i++)
        a[i] = b[i] + 0.5 * c[i];
}

/* Triad bandwidth: 3 passes over the arrays (far larger than the caches),
 * each timed in blocks of TRIAD_BLOCK elements; the fastest block gives
 * the bandwidth (a block of 3 MiB of traffic takes well under a
 * scheduler's time slice). */
#define TRIAD_BLOCK ((size_t)1 << 17)
static double triad_bw(const arrays *r)
{
    double best = 1e300;
    triad(r->n, r->a, r->b, r->c); /* touch every page */
    for (int pass = 0; pass < 3; pass++)
        for (size_t i = 0; i + TRIAD_BLOCK <= r->n; i += TRIAD_BLOCK) {
            const double t0 = now();
            triad(TRIAD_BLOCK, r->a + i, r->b + i, r->c + i);
            const double t = now() - t0;
            best = t < best ? t : best;
        }
    return 24.0 * (double)TRIAD_BLOCK / best;
}

static int measure_limits(limits *l, bool quick)
{
    uint64_t st = 12345;
    l->gemm_n = quick ? 256 : 512;
    l->sig_n = 32768;
    l->triad_n = quick ? (size_t)1 << 22 : (size_t)1 << 24;
    const size_t big = l->triad_n > l->gemm_n * l->gemm_n ? l->triad_n : l->gemm_n * l->gemm_n;
    arrays r = {.a = malloc(big * sizeof(double)), .b = malloc(big * sizeof(double)),
                .c = malloc(big * sizeof(double))};
    if (!r.a || !r.b || !r.c) {
        free(r.a);
        free(r.b);
        free(r.c);
        return -1;
    }
    fill(r.a, big, &st);
    fill(r.b, big, &st);
    fill(r.c, big, &st);
    r.n = l->gemm_n;
    const double tg = best_of(run_dgemm, &r, 1, quick ? 10 : 30);
    l->peak = 2.0 * (double)r.n * (double)r.n * (double)r.n / tg;
    r.n = l->sig_n;
    for (size_t i = 0; i < r.n; i++)
        r.b[i] = 0.0;
    l->t_sig = best_of(run_sigmoid, &r, 2, quick ? 10 : 50) / (double)r.n;
    r.n = l->triad_n;
    l->bw = triad_bw(&r);
    free(r.a);
    free(r.b);
    free(r.c);
    return 0;
}

/* ------------------------------------------------------------------------- */
/* The operations                                                            */
/* ------------------------------------------------------------------------- */

struct cell {
    shape s;
    size_t m;
    mlp2 *net;
    mlp2_workspace *ws;
    double *X, *Y, *P;                  /* inputs, targets, predictions */
    double *W1, *b1, *W2, *b2;          /* parameters for gemm and loops */
    double *A1, *A2, *D1, *gW1, *gW2;   /* their scratch */
    double *gb1, *gb2;
    double lr, loss;
    timing t[N_OPS];
};

static int op_predict(cell *c)
{
    return mlp2_predict(c->net, c->ws, c->m, c->X, c->P) != MLP2_OK;
}

static int op_grad(cell *c)
{
    return mlp2_loss_grad(c->net, c->ws, c->m, c->X, c->Y, &c->loss, c->gW1) != MLP2_OK;
}

static int op_step(cell *c)
{
    return mlp2_sgd_step(c->net, c->ws, c->m, c->X, c->Y, c->lr, &c->loss) != MLP2_OK;
}

/* The five dgemm calls of a training step, nothing else. */
static int op_gemm(cell *c)
{
    const int m = (int)c->m, ni = (int)c->s.ni, nh = (int)c->s.nh, no = (int)c->s.no;
    const CBLAS_LAYOUT R = CblasRowMajor;
    const CBLAS_TRANSPOSE N = CblasNoTrans, T = CblasTrans;
    cblas_dgemm(R, N, N, m, nh, ni, 1.0, c->X, ni, c->W1, nh, 0.0, c->A1, nh);   /* Z1 = X W1 */
    cblas_dgemm(R, N, N, m, no, nh, 1.0, c->A1, nh, c->W2, no, 0.0, c->A2, no);  /* Z2 = A1 W2 */
    cblas_dgemm(R, T, N, nh, no, m, 1.0, c->A1, nh, c->A2, no, 0.0, c->gW2, no); /* gW2 = A1^T D2 */
    cblas_dgemm(R, N, T, m, nh, no, 1.0, c->A2, no, c->W2, no, 0.0, c->D1, nh);  /* D1 = D2 W2^T */
    cblas_dgemm(R, T, N, ni, nh, m, 1.0, c->X, ni, c->D1, nh, 0.0, c->gW1, nh);  /* gW1 = X^T D1 */
    return 0;
}

/* A training step as plain loops, the way one writes it without BLAS. */
static int op_loops(cell *c)
{
    const size_t m = c->m, ni = c->s.ni, nh = c->s.nh, no = c->s.no;
    double *A1 = c->A1, *A2 = c->A2, *D1 = c->D1, *gW1 = c->gW1, *gW2 = c->gW2;
    double *gb1 = c->gb1, *gb2 = c->gb2;
    const double *X = c->X, *Y = c->Y;
    double sse = 0.0;
    for (size_t i = 0; i < m; i++) {
        for (size_t j = 0; j < nh; j++)
            A1[i * nh + j] = c->b1[j];
        for (size_t k = 0; k < ni; k++)
            for (size_t j = 0; j < nh; j++)
                A1[i * nh + j] += X[i * ni + k] * c->W1[k * nh + j];
        for (size_t j = 0; j < nh; j++)
            A1[i * nh + j] = 1.0 / (1.0 + exp(-A1[i * nh + j]));
        for (size_t o = 0; o < no; o++) {
            double a = c->b2[o];
            for (size_t j = 0; j < nh; j++)
                a += A1[i * nh + j] * c->W2[j * no + o];
            const double r = a - Y[i * no + o];
            sse += r * r;
            A2[i * no + o] = r / (double)m;
        }
    }
    memset(gW1, 0, ni * nh * sizeof *gW1);
    memset(gW2, 0, nh * no * sizeof *gW2);
    memset(gb1, 0, nh * sizeof *gb1);
    memset(gb2, 0, no * sizeof *gb2);
    for (size_t i = 0; i < m; i++) {
        for (size_t j = 0; j < nh; j++) {
            double d = 0.0;
            for (size_t o = 0; o < no; o++) {
                gW2[j * no + o] += A1[i * nh + j] * A2[i * no + o];
                d += A2[i * no + o] * c->W2[j * no + o];
            }
            D1[i * nh + j] = d * A1[i * nh + j] * (1.0 - A1[i * nh + j]);
            gb1[j] += D1[i * nh + j];
        }
        for (size_t o = 0; o < no; o++)
            gb2[o] += A2[i * no + o];
        for (size_t k = 0; k < ni; k++)
            for (size_t j = 0; j < nh; j++)
                gW1[k * nh + j] += X[i * ni + k] * D1[i * nh + j];
    }
    const double lr = c->lr;
    for (size_t q = 0; q < ni * nh; q++)
        c->W1[q] -= lr * gW1[q];
    for (size_t q = 0; q < nh * no; q++)
        c->W2[q] -= lr * gW2[q];
    for (size_t j = 0; j < nh; j++)
        c->b1[j] -= lr * gb1[j];
    for (size_t o = 0; o < no; o++)
        c->b2[o] -= lr * gb2[o];
    c->loss = 0.5 * sse / (double)m;
    return 0;
}

static const op_fn op_fns[N_OPS] = {op_predict, op_grad, op_step, op_gemm, op_loops};

/* Flops of the five gemms (or of the forward two, for predict). */
static double flops(const shape *s, size_t m, int op)
{
    const double md = (double)m, a = (double)(s->ni * s->nh), b = (double)(s->nh * s->no);
    return op == OP_PREDICT ? 2.0 * md * (a + b) : 2.0 * md * (2.0 * a + 3.0 * b);
}

/* The roofline time of predict or step, in seconds per call (see the top). */
static double roofline(const limits *l, const shape *s, size_t m, int op)
{
    const double md = (double)m, ni = (double)s->ni, nh = (double)s->nh, no = (double)s->no;
    const double np = ni * nh + nh + nh * no + no;
    const double fl = op == OP_PREDICT ? flops(s, m, OP_PREDICT) : flops(s, m, OP_STEP) + 2.0 * np;
    const double bytes = (op == OP_PREDICT ? 8.0 : 16.0) * np + 8.0 * md * (ni + no);
    const double compute = fl / l->peak + md * nh * l->t_sig;
    const double memory = bytes / l->bw;
    return compute > memory ? compute : memory;
}

/* Bytes of the buffers one cell allocates. */
static double cell_bytes(const shape *s, size_t m)
{
    const double md = (double)m, ni = (double)s->ni, nh = (double)s->nh, no = (double)s->no;
    const double params = ni * nh + nh + nh * no + no;
    /* X, Y, P; workspace; gemm/loops scratch A1, A2, D1; parameter copies and gradients */
    return 8.0 * (md * (ni + 2 * no) + md * (2 * nh + no + 1) + params + md * (2 * nh + no) +
                  3 * params);
}

static void cell_free(cell *c)
{
    mlp2_workspace_free(c->ws);
    mlp2_free(c->net);
    double *bufs[] = {c->X, c->Y, c->P, c->W1, c->A1, c->A2, c->D1, c->gW1};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        free(bufs[i]);
    c->net = NULL;
    c->ws = NULL;
}

/* --threads N: N > 1 gives every cell a workspace of N threads
 * (mlp2_workspace_create_mt) with OpenBLAS held at one thread; 1 is the
 * plain workspace.  The thread count is an axis of the results: compare runs
 * with --threads 1 and N (mlp2-par-bench interleaves them in one run). */
static int bench_threads = 1;

static int cell_init(cell *c, const shape *s, size_t m)
{
    memset(c, 0, sizeof *c);
    c->s = *s;
    c->m = m;
    c->lr = 1e-3;
    const size_t ni = s->ni, nh = s->nh, no = s->no, np = ni * nh + nh + nh * no + no;
    if (mlp2_create(&c->net, ni, nh, no, 42) != MLP2_OK ||
        (bench_threads > 1 ? mlp2_workspace_create_mt(&c->ws, c->net, m, (size_t)bench_threads)
                           : mlp2_workspace_create(&c->ws, c->net, m)) != MLP2_OK)
        return -1;
    c->X = malloc(m * ni * sizeof(double));
    c->Y = malloc(m * no * sizeof(double));
    c->P = malloc(m * no * sizeof(double));
    c->W1 = malloc(np * sizeof(double));   /* W1 | b1 | W2 | b2, like theta */
    c->gW1 = malloc(np * sizeof(double));  /* gW1 | gb1 | gW2 | gb2 */
    c->A1 = malloc(m * nh * sizeof(double));
    c->D1 = malloc(m * nh * sizeof(double));
    c->A2 = malloc(m * no * sizeof(double));
    if (!c->X || !c->Y || !c->P || !c->W1 || !c->gW1 || !c->A1 || !c->D1 || !c->A2)
        return -1;
    c->b1 = c->W1 + ni * nh;
    c->W2 = c->b1 + nh;
    c->b2 = c->W2 + nh * no;
    c->gb1 = c->gW1 + ni * nh;
    c->gW2 = c->gb1 + nh;
    c->gb2 = c->gW2 + nh * no;
    uint64_t st = 0x2545f4914f6cdd1dULL ^ (m * 31 + ni * 7 + nh * 3 + no);
    fill(c->X, m * ni, &st);
    fill(c->Y, m * no, &st);
    mlp2_get_params(c->net, c->W1);
    /* touch every scratch page once, outside the timings */
    memset(c->P, 0, m * no * sizeof(double));
    memset(c->A1, 0, m * nh * sizeof(double));
    memset(c->D1, 0, m * nh * sizeof(double));
    memset(c->A2, 0, m * no * sizeof(double));
    return 0;
}

/* ------------------------------------------------------------------------- */
/* Machine description                                                       */
/* ------------------------------------------------------------------------- */

static void cpu_model(char *buf, size_t len)
{
    snprintf(buf, len, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
            const char *p = strchr(line, ':');
            if (p) {
                p++;
                while (*p == ' ' || *p == '\t')
                    p++;
                snprintf(buf, len, "%s", p);
                buf[strcspn(buf, "\n")] = '\0';
            }
            break;
        }
    }
    fclose(f);
}

/* Write s as a JSON string (quotes and escapes). */
static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        const unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static void shape_name(const shape *s, char *buf, size_t len)
{
    snprintf(buf, len, "%zu-%zu-%zu", s->ni, s->nh, s->no);
}

/* ------------------------------------------------------------------------- */
/* Output: table, JSON, SVG                                                  */
/* ------------------------------------------------------------------------- */

static double nsps(const timing *t, size_t m)
{
    return t->median * 1e9 / (double)m;
}

static void print_header(void)
{
    printf("%-11s %6s | %9s %9s %9s %9s %9s | %9s %6s %6s | %9s %6s %6s | %7s %7s | %6s\n", "shape",
           "batch", "predict", "grad", "step", "step min", "gemm", "loops", "st/gm", "lp/st", "roof",
           "st/rf", "pr/rf", "step", "gemm", "MAD");
    printf("%-11s %6s | %49s | %9s %6s %6s | %9s %13s | %15s | %6s\n", "", "",
           "ns per sample (median; step min)", "ns/sample", "", "", "step ns/s", "", "GFLOP/s", "step");
    puts("-------------------------------------------------------------------------------------"
         "-------------------------------------------------------------");
}

static void print_ns(double v, bool ok)
{
    if (!ok)
        printf(" %9s", "-");
    else if (v >= 99999.5)
        printf(" %9.3g", v);
    else if (v >= 100)
        printf(" %9.0f", v);
    else
        printf(" %9.2f", v);
}

static void print_ratio(double v, bool ok)
{
    if (ok)
        printf(" %6.2f", v);
    else
        printf(" %6s", "-");
}

static void print_row(const cell *c, const limits *l)
{
    char name[64];
    shape_name(&c->s, name, sizeof name);
    const timing *t = c->t;
    const size_t m = c->m;
    printf("%-11s %6zu |", name, m);
    print_ns(nsps(&t[OP_PREDICT], m), t[OP_PREDICT].done);
    print_ns(nsps(&t[OP_GRAD], m), t[OP_GRAD].done);
    print_ns(nsps(&t[OP_STEP], m), t[OP_STEP].done);
    print_ns(t[OP_STEP].min * 1e9 / (double)m, t[OP_STEP].done);
    print_ns(nsps(&t[OP_GEMM], m), t[OP_GEMM].done);
    printf(" |");
    print_ns(nsps(&t[OP_LOOPS], m), t[OP_LOOPS].done);
    print_ratio(t[OP_STEP].median / t[OP_GEMM].median, t[OP_STEP].done && t[OP_GEMM].done);
    print_ratio(t[OP_LOOPS].median / t[OP_STEP].median, t[OP_STEP].done && t[OP_LOOPS].done);
    printf(" |");
    const double rs = roofline(l, &c->s, m, OP_STEP), rp = roofline(l, &c->s, m, OP_PREDICT);
    print_ns(rs * 1e9 / (double)m, true);
    print_ratio(t[OP_STEP].median / rs, t[OP_STEP].done);
    print_ratio(t[OP_PREDICT].median / rp, t[OP_PREDICT].done);
    printf(" |");
    const bool sd = t[OP_STEP].done, gd = t[OP_GEMM].done;
    if (sd)
        printf(" %7.2f", flops(&c->s, m, OP_STEP) / t[OP_STEP].median * 1e-9);
    else
        printf(" %7s", "-");
    if (gd)
        printf(" %7.2f", flops(&c->s, m, OP_GEMM) / t[OP_GEMM].median * 1e-9);
    else
        printf(" %7s", "-");
    printf(" |");
    if (sd)
        printf(" %5.1f%%", 100.0 * t[OP_STEP].mad / t[OP_STEP].median);
    else
        printf(" %6s", "-");
    printf("\n");
    fflush(stdout);
}

typedef struct {
    char cpu[256];
    int threads;
    const char *core, *config;
} machine;

static int write_json(const char *path, const machine *mc, const options *o, const limits *l,
                      const cell *cells, size_t n)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return -1;
    }
    fprintf(f, "{\n  \"tool\": \"mlp2-bench\",\n  \"mlp2_version\": ");
    json_str(f, mlp2_version());
    fprintf(f, ",\n  \"cpu\": ");
    json_str(f, mc->cpu);
    fprintf(f, ",\n  \"threads\": %d,\n  \"openblas_core\": ", mc->threads);
    json_str(f, mc->core);
    fprintf(f, ",\n  \"openblas_config\": ");
    json_str(f, mc->config);
    fprintf(f, ",\n  \"budget_s\": %g,\n  \"min_reps\": %d,\n", o->budget, o->min_reps);
    fprintf(f, "  \"flops\": \"step, grad, gemm, loops: 2m(2 n_in n_hidden + 3 n_hidden n_out); "
               "predict: 2m(n_in n_hidden + n_hidden n_out)\",\n");
    fprintf(f, "  \"limits\": {\"dgemm_gflops\": %.6g, \"dgemm_n\": %zu, \"sigmoid_ns\": %.6g, "
               "\"sigmoid_n\": %zu, \"triad_gbs\": %.6g, \"triad_n\": %zu},\n",
            l->peak * 1e-9, l->gemm_n, l->t_sig * 1e9, l->sig_n, l->bw * 1e-9, l->triad_n);
    fprintf(f, "  \"roofline\": \"max(flops / peak + m n_hidden t_sigmoid, bytes / triad bandwidth); "
               "step: flops of the five gemms + 2 n_params, bytes 16 n_params + 8 m (n_in + n_out); "
               "predict: flops of the forward two gemms, bytes 8 n_params + 8 m (n_in + n_out)\",\n");
    fprintf(f, "  \"cells\": [");
    for (size_t i = 0; i < n; i++) {
        const cell *c = &cells[i];
        char name[64];
        shape_name(&c->s, name, sizeof name);
        fprintf(f, "%s\n    {\"shape\": \"%s\", \"n_in\": %zu, \"n_hidden\": %zu, \"n_out\": %zu, "
                   "\"batch\": %zu,\n     \"ops\": {",
                i ? "," : "", name, c->s.ni, c->s.nh, c->s.no, c->m);
        bool first = true;
        for (int op = 0; op < N_OPS; op++) {
            const timing *t = &c->t[op];
            if (!t->done)
                continue;
            const double fl = flops(&c->s, c->m, op);
            fprintf(f, "%s\n       \"%s\": {\"median_ns\": %.6g, \"min_ns\": %.6g, \"mad_ns\": %.6g, "
                       "\"reps\": %d, \"calls_per_rep\": %ld, \"ns_per_sample\": %.6g, "
                       "\"min_ns_per_sample\": %.6g, \"gflops\": %.6g}",
                    first ? "" : ",", op_names[op], t->median * 1e9, t->min * 1e9, t->mad * 1e9,
                    t->reps, t->calls, nsps(t, c->m), t->min * 1e9 / (double)c->m,
                    fl / t->median * 1e-9);
            first = false;
        }
        fprintf(f, "}");
        const double rs = roofline(l, &c->s, c->m, OP_STEP), rp = roofline(l, &c->s, c->m, OP_PREDICT);
        fprintf(f, ",\n     \"roofline_step_ns\": %.6g, \"roofline_predict_ns\": %.6g", rs * 1e9, rp * 1e9);
        if (c->t[OP_STEP].done)
            fprintf(f, ", \"ratio_step_roofline\": %.6g", c->t[OP_STEP].median / rs);
        if (c->t[OP_PREDICT].done)
            fprintf(f, ", \"ratio_predict_roofline\": %.6g", c->t[OP_PREDICT].median / rp);
        if (c->t[OP_STEP].done && c->t[OP_GEMM].done)
            fprintf(f, ",\n     \"ratio_step_gemm\": %.6g, \"ratio_step_gemm_min\": %.6g",
                    c->t[OP_STEP].median / c->t[OP_GEMM].median, c->t[OP_STEP].min / c->t[OP_GEMM].min);
        fprintf(f, "}");
    }
    fprintf(f, "\n  ]\n}\n");
    if (fclose(f) != 0) {
        perror(path);
        return -1;
    }
    return 0;
}

/* Log-log plot of ns per sample against batch, one line per op and shape:
 * colour by shape, dash pattern by operation. */
static int write_svg(const char *path, const machine *mc, const options *o, const cell *cells,
                     size_t n)
{
    static const char *const colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                          "#ff7f0e", "#8c564b", "#e377c2", "#17becf"};
    static const char *const dashes[N_OPS] = {"2,3", "6,3", "", "1,0", "10,3,2,3"};
    static const double widths[N_OPS] = {1.4, 1.4, 2.4, 1.0, 1.4};
    double xmin = 1e300, xmax = 0, ymin = 1e300, ymax = 0;
    for (size_t i = 0; i < n; i++)
        for (int op = 0; op < N_OPS; op++)
            if (cells[i].t[op].done) {
                const double x = (double)cells[i].m, y = nsps(&cells[i].t[op], cells[i].m);
                xmin = x < xmin ? x : xmin;
                xmax = x > xmax ? x : xmax;
                ymin = y < ymin ? y : ymin;
                ymax = y > ymax ? y : ymax;
            }
    if (xmax == 0)
        return 0;
    const double lx0 = floor(log10(xmin)), lx1 = fmax(ceil(log10(xmax)), lx0 + 1);
    const double ly0 = floor(log10(ymin)), ly1 = fmax(ceil(log10(ymax)), ly0 + 1);
    const double W = 900, H = 600, left = 80, right = 250, top = 50, bottom = 60;
    const double pw = W - left - right, ph = H - top - bottom;
#define PX(x) (left + (log10(x) - lx0) / (lx1 - lx0) * pw)
#define PY(y) (top + ph - (log10(y) - ly0) / (ly1 - ly0) * ph)
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return -1;
    }
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
               "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"12\">\n",
            W, H, W, H);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    fprintf(f, "<text x=\"%.0f\" y=\"22\" font-size=\"15\" text-anchor=\"middle\">libmlp2: time per "
               "sample against batch size (%d thread%s, OpenBLAS %s)</text>\n",
            left + pw / 2, mc->threads, mc->threads == 1 ? "" : "s", mc->core);
    fprintf(f, "<text x=\"%.0f\" y=\"38\" font-size=\"11\" text-anchor=\"middle\" fill=\"#555\">",
            left + pw / 2);
    for (const char *p = mc->cpu; *p; p++)
        if (*p != '<' && *p != '>' && *p != '&')
            fputc(*p, f);
    fprintf(f, "; median of repeated timings</text>\n");
    /* grid and ticks: decades, with 2 and 5 as minor lines */
    for (double d = lx0; d <= lx1 + 1e-9; d++) {
        for (int mnr = 1; mnr <= (d < lx1 ? 9 : 1); mnr++) {
            const double x = PX(mnr * pow(10, d));
            fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n", x, top,
                    x, top + ph, mnr == 1 ? "#ccc" : "#eee");
        }
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">10<tspan dy=\"-6\" "
                   "font-size=\"9\">%.0f</tspan></text>\n",
                PX(pow(10, d)), top + ph + 18, d);
    }
    for (double d = ly0; d <= ly1 + 1e-9; d++) {
        for (int mnr = 1; mnr <= (d < ly1 ? 9 : 1); mnr++) {
            const double y = PY(mnr * pow(10, d));
            fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n", left,
                    y, left + pw, y, mnr == 1 ? "#ccc" : "#eee");
        }
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">10<tspan dy=\"-6\" "
                   "font-size=\"9\">%.0f</tspan></text>\n",
                left - 8, PY(pow(10, d)) + 4, d);
    }
    fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" "
               "stroke=\"black\"/>\n",
            left, top, pw, ph);
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">batch size m (rows)</text>\n",
            left + pw / 2, H - 15);
    fprintf(f, "<text transform=\"translate(22 %.0f) rotate(-90)\" text-anchor=\"middle\">"
               "ns per sample</text>\n",
            top + ph / 2);
    /* one polyline per (shape, op) */
    for (size_t si = 0; si < o->n_shapes; si++) {
        const char *col = colours[si % (sizeof colours / sizeof colours[0])];
        for (int op = 0; op < N_OPS; op++) {
            int pts = 0;
            for (size_t i = 0; i < n; i++) {
                const cell *c = &cells[i];
                if (memcmp(&c->s, &o->shapes[si], sizeof(shape)) != 0 || !c->t[op].done)
                    continue;
                if (pts++ == 0)
                    fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\"%s%s%s "
                               "points=\"",
                            col, widths[op], *dashes[op] ? " stroke-dasharray=\"" : "", dashes[op],
                            *dashes[op] ? "\"" : "");
                fprintf(f, "%.1f,%.1f ", PX((double)c->m), PY(nsps(&c->t[op], c->m)));
            }
            if (pts)
                fprintf(f, "\"%s/>\n", op == OP_GEMM ? " opacity=\"0.55\"" : "");
        }
    }
    /* legend: shapes by colour, operations by dash */
    double ly = top + 10;
    const double lx = left + pw + 20;
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" font-weight=\"bold\">shape (colour)</text>\n", lx, ly);
    for (size_t si = 0; si < o->n_shapes; si++) {
        char name[64];
        shape_name(&o->shapes[si], name, sizeof name);
        ly += 18;
        fprintf(f, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"%s\" "
                   "stroke-width=\"3\"/><text x=\"%.0f\" y=\"%.0f\">%s</text>\n",
                lx, ly - 4, lx + 30, ly - 4, colours[si % (sizeof colours / sizeof colours[0])],
                lx + 38, ly, name);
    }
    ly += 30;
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" font-weight=\"bold\">operation (line)</text>\n", lx, ly);
    static const char *const op_desc[N_OPS] = {"predict", "loss_grad", "training step (sgd_step)",
                                               "5 dgemm alone (bound)", "plain loops, no BLAS"};
    for (int op = 0; op < N_OPS; op++) {
        if (!o->ops[op])
            continue;
        ly += 18;
        fprintf(f, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"black\" "
                   "stroke-width=\"%.1f\"%s%s%s%s/><text x=\"%.0f\" y=\"%.0f\">%s</text>\n",
                lx, ly - 4, lx + 30, ly - 4, widths[op], *dashes[op] ? " stroke-dasharray=\"" : "",
                dashes[op], *dashes[op] ? "\"" : "", op == OP_GEMM ? " opacity=\"0.55\"" : "",
                lx + 38, ly, op_desc[op]);
    }
#undef PX
#undef PY
    fprintf(f, "</svg>\n");
    if (fclose(f) != 0) {
        perror(path);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    options o;
    if (parse_options(argc, argv, &o) != 0)
        return 2;
    bench_threads = o.threads;
    if (mlp2_set_blas_threads(1) != MLP2_OK)
        return 2;
    machine mc = {.threads = o.threads, .core = mlp2_blas_core(),
                  .config = mlp2_blas_config()};
    cpu_model(mc.cpu, sizeof mc.cpu);
    printf("mlp2-bench: libmlp2 %s\n", mlp2_version());
    printf("cpu:       %s\n", mc.cpu);
    printf("threads:   %d (libmlp2 workspace threads; OpenBLAS 1)\n", mc.threads);
    printf("openblas:  core %s; %s\n", mc.core, mc.config);
    printf("timing:    median and min per call after warm-up; >= %d samples and %.3g s per op and "
           "cell\n",
           o.min_reps, o.budget);
    printf("flops:     five gemms 2m(2 n_in n_hidden + 3 n_hidden n_out); st/gm = step / gemm-only; "
           "lp/st = loops / step\n");
    limits lim;
    if (measure_limits(&lim, o.quick) != 0)
        return 1;
    printf("limits:    dgemm %.1f GFLOP/s (%zu^3); sigmoid %.3f ns/element (%zu); triad %.1f GB/s "
           "(3 x %zu MiB); best of many short samples\n",
           lim.peak * 1e-9, lim.gemm_n, lim.t_sig * 1e9, lim.sig_n, lim.bw * 1e-9,
           lim.triad_n * sizeof(double) >> 20);
    printf("roofline:  max(flops/peak + m n_hidden t_sigmoid, bytes/triad); step: five gemms + 2 "
           "n_params flops,\n"
           "           16 n_params + 8 m (n_in + n_out) bytes (parameters read and written once, data "
           "read once);\n"
           "           predict: forward gemms, 8 n_params + 8 m (n_in + n_out) bytes.  st/rf, pr/rf = "
           "step, predict / roofline\n\n");
    print_header();

    const size_t total = o.n_shapes * o.n_batches;
    cell *cells = calloc(total, sizeof *cells);
    if (!cells)
        return 1;
    size_t n = 0;
    int rc = 0;
    for (size_t si = 0; si < o.n_shapes && rc == 0; si++) {
        for (size_t bi = 0; bi < o.n_batches && rc == 0; bi++) {
            const shape *s = &o.shapes[si];
            const size_t m = o.batches[bi];
            cell *c = &cells[n];
            if (cell_bytes(s, m) > o.max_mem) {
                char name[64];
                shape_name(s, name, sizeof name);
                printf("%-11s %6zu | skipped: needs %.1f GiB of buffers (--max-mem)\n", name, m,
                       cell_bytes(s, m) / 1073741824.0);
                continue;
            }
            if (cell_init(c, s, m) != 0) {
                fprintf(stderr, "mlp2-bench: cannot set up %zu-%zu-%zu at batch %zu\n", s->ni, s->nh,
                        s->no, m);
                cell_free(c);
                rc = 1;
                break;
            }
            for (int op = 0; op < N_OPS && rc == 0; op++) {
                if (!o.ops[op])
                    continue;
                if (op == OP_LOOPS && flops(s, m, op) > o.loops_flops)
                    continue; /* the plain loops would take seconds per call */
                if (time_op(op_fns[op], c, &o, &c->t[op]) != 0) {
                    fprintf(stderr, "mlp2-bench: %s failed at %zu-%zu-%zu, batch %zu\n", op_names[op],
                            s->ni, s->nh, s->no, m);
                    rc = 1;
                }
            }
            cell_free(c);
            n++;
            if (rc == 0)
                print_row(c, &lim);
        }
    }
    if (rc == 0 && o.json)
        rc = write_json(o.json, &mc, &o, &lim, cells, n) != 0;
    if (rc == 0 && o.plot)
        rc = write_svg(o.plot, &mc, &o, cells, n) != 0;
    free(cells);
    return rc;
}
