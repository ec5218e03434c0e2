/*
 * fann_peer - FANN (Debian's libdoublefann) against libmlp2 on the same
 * network, the same weights and the same data, interleaved in one process.
 *
 * The network in FANN: fann_create_standard(3, n_in, n_hidden, n_out);
 *   hidden FANN_SIGMOID with steepness 0.5 (FANN's sigmoid is
 *   1/(1 + exp(-2 s x)), so s = 0.5 is libmlp2's 1/(1 + exp(-x)); its
 *   derivative 2 s a (1 - a) is then a (1 - a));
 *   output FANN_LINEAR, steepness 1; error function FANN_ERRORFUNC_LINEAR;
 *   learning momentum 0; learning rate 2^-10 (FANN keeps it as a float, so
 *   a power of two makes it the same number on both sides).
 * Operations per cell (shape, batch m):
 *   predict  mlp2_predict on m rows | fann_run on each of the m rows
 *   step     mlp2_sgd_step on m rows | m = 1: fann_train (incremental);
 *            m > 1: fann_train_epoch with FANN_TRAIN_BATCH (one update with
 *            the mean gradient: libmlp2's step)
 * Before timing, every cell checks that FANN computes libmlp2's step: both
 * start from libmlp2's weights (copied into FANN's connection array), and
 * FANN's outputs and its weights after one step must agree with libmlp2's
 * to 1e-10 relative (FANN clips its sigmoid derivative to a in [0.01, 0.99];
 * the data keep every unit inside that range).  A cell that does not agree
 * is reported and not timed.
 * Timing: rounds of (mlp2 predict, FANN predict, mlp2 step, FANN step), each
 * a sample of k calls (k so that a sample lasts >= 20 us), until min_reps
 * rounds and the budget; median per call.  Both step functions keep
 * training, so the weights drift the same way on both sides.
 *
 * Usage: fann_peer [--shapes 2-3-1,...] [--batches 1,64,...] [--budget S]
 *                  [--quick] [--json FILE]
 */
#include <doublefann.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mlp2.h>

#define MAX_LIST 32
#define MAX_REPS 2000
#define LR 0x1p-10

typedef struct {
    size_t ni, nh, no;
} shape;

typedef struct {
    shape shapes[MAX_LIST];
    size_t n_shapes, batches[MAX_LIST], n_batches;
    double budget;
    int min_reps;
    const char *json;
} options;

static bool parse_list(const char *s, size_t *out, size_t max, size_t *n, char sep_ok)
{
    *n = 0;
    while (*s) {
        char *end;
        unsigned long long v = strtoull(s, &end, 10);
        if (end == s || v == 0 || *n == max)
            return false;
        out[(*n)++] = (size_t)v;
        s = end;
        if (*s == ',' || *s == sep_ok)
            s++;
        else if (*s)
            return false;
    }
    return *n > 0;
}

static int parse_options(int argc, char **argv, options *o)
{
    *o = (options){.budget = 0.25, .min_reps = 7};
    const char *shapes = "2-3-1,10-32-1,64-256-1,784-512-10";
    const char *batches = "1,4,16,64,256,1024";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--quick") == 0) {
            o->budget = 0.02;
            o->min_reps = 3;
            continue;
        }
        if (!v)
            return -1;
        if (strcmp(a, "--shapes") == 0)
            shapes = v;
        else if (strcmp(a, "--batches") == 0)
            batches = v;
        else if (strcmp(a, "--budget") == 0)
            o->budget = atof(v);
        else if (strcmp(a, "--json") == 0)
            o->json = v;
        else if (strcmp(a, "--threads") != 0) /* accepted for run.sh; FANN has one */
            return -1;
        i++;
    }
    size_t dims[3 * MAX_LIST], nd;
    if (!parse_list(shapes, dims, 3 * MAX_LIST, &nd, '-') || nd % 3 != 0 ||
        !parse_list(batches, o->batches, MAX_LIST, &o->n_batches, ','))
        return -1;
    o->n_shapes = nd / 3;
    for (size_t s = 0; s < o->n_shapes; s++)
        o->shapes[s] = (shape){dims[3 * s], dims[3 * s + 1], dims[3 * s + 2]};
    return o->budget > 0 ? 0 : -1;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* ---- one cell: both networks, the data --------------------------------- */

enum { MLP2_PREDICT, FANN_PREDICT, MLP2_STEP, FANN_STEP, N_OPS };
static const char *const op_names[N_OPS] = {"mlp2_predict", "fann_run", "mlp2_step", "fann_train"};

typedef struct {
    shape s;
    size_t m, np;
    mlp2 *net;
    mlp2_workspace *ws;
    struct fann *ann;
    struct fann_train_data *data; /* the m rows, for fann_train_epoch */
    double *X, *Y, *P, *theta;
    size_t *map;                  /* FANN connection i holds theta[map[i]] */
} cell;

/* map[i]: the theta index of FANN's connection i (weights[i]) */
static int build_map(cell *c)
{
    const size_t ni = c->s.ni, nh = c->s.nh, no = c->s.no;
    const unsigned n = fann_get_total_connections(c->ann);
    if (n != c->np)
        return -1;
    struct fann_connection *con = malloc(n * sizeof *con);
    c->map = malloc(n * sizeof *c->map);
    if (!con || !c->map) {
        free(con);
        return -1;
    }
    fann_get_connection_array(c->ann, con);
    /* neurons: inputs 0..ni-1, bias ni; hidden ni+1..ni+nh, bias ni+nh+1;
     * outputs ni+nh+2.. */
    const size_t h0 = ni + 1, o0 = ni + nh + 2;
    const size_t off_b1 = ni * nh, off_W2 = off_b1 + nh, off_b2 = off_W2 + nh * no;
    for (unsigned i = 0; i < n; i++) {
        const size_t from = con[i].from_neuron, to = con[i].to_neuron;
        if (to >= h0 && to < h0 + nh)
            c->map[i] = from < ni ? from * nh + (to - h0) : off_b1 + (to - h0);
        else if (to >= o0 && to < o0 + no)
            c->map[i] = from >= h0 && from < h0 + nh ? off_W2 + (from - h0) * no + (to - o0)
                                                    : off_b2 + (to - o0);
        else {
            free(con);
            return -1;
        }
    }
    free(con);
    return 0;
}

/* FANN's weights = libmlp2's theta (in FANN's connection order) */
static void copy_to_fann(cell *c, const double *theta)
{
    for (size_t i = 0; i < c->np; i++)
        c->ann->weights[i] = theta[c->map[i]];
}

static void fill(double *x, size_t n, uint64_t *st, double scale)
{
    for (size_t i = 0; i < n; i++) {
        *st = *st * 6364136223846793005ULL + 1442695040888963407ULL;
        x[i] = scale * ((double)(*st >> 11) * 0x1p-52 - 1.0);
    }
}

static void cell_free(cell *c)
{
    mlp2_workspace_free(c->ws);
    mlp2_free(c->net);
    if (c->ann)
        fann_destroy(c->ann);
    if (c->data)
        fann_destroy_train(c->data);
    free(c->X);
    free(c->Y);
    free(c->P);
    free(c->theta);
    free(c->map);
}

static int cell_init(cell *c, const shape *s, size_t m)
{
    memset(c, 0, sizeof *c);
    c->s = *s;
    c->m = m;
    const size_t ni = s->ni, nh = s->nh, no = s->no;
    if (mlp2_create(&c->net, ni, nh, no, 42) != MLP2_OK ||
        mlp2_workspace_create(&c->ws, c->net, m) != MLP2_OK)
        return -1;
    c->np = mlp2_n_params(c->net);
    c->ann = fann_create_standard(3, (unsigned)ni, (unsigned)nh, (unsigned)no);
    c->data = fann_create_train((unsigned)m, (unsigned)ni, (unsigned)no);
    c->X = malloc(m * ni * sizeof(double));
    c->Y = malloc(m * no * sizeof(double));
    c->P = malloc(m * no * sizeof(double));
    c->theta = malloc(c->np * sizeof(double));
    if (!c->ann || !c->data || !c->X || !c->Y || !c->P || !c->theta)
        return -1;
    fann_set_activation_function_hidden(c->ann, FANN_SIGMOID);
    fann_set_activation_steepness_hidden(c->ann, 0.5);
    fann_set_activation_function_output(c->ann, FANN_LINEAR);
    fann_set_activation_steepness_output(c->ann, 1.0);
    fann_set_train_error_function(c->ann, FANN_ERRORFUNC_LINEAR);
    fann_set_learning_momentum(c->ann, 0.0f);
    fann_set_learning_rate(c->ann, (float)LR);
    fann_set_training_algorithm(c->ann, m == 1 ? FANN_TRAIN_INCREMENTAL : FANN_TRAIN_BATCH);
    uint64_t st = 0x2545f4914f6cdd1dULL ^ (m * 31 + ni * 7 + nh * 3 + no);
    fill(c->X, m * ni, &st, 1.0);
    fill(c->Y, m * no, &st, 1.0);
    for (size_t i = 0; i < m; i++) {
        memcpy(c->data->input[i], c->X + i * ni, ni * sizeof(double));
        memcpy(c->data->output[i], c->Y + i * no, no * sizeof(double));
    }
    if (build_map(c) != 0)
        return -1;
    mlp2_get_params(c->net, c->theta);
    copy_to_fann(c, c->theta);
    return 0;
}

/* ---- the operations ----------------------------------------------------- */

static int run_op(cell *c, int op)
{
    const size_t ni = c->s.ni, no = c->s.no;
    double L;
    switch (op) {
    case MLP2_PREDICT:
        return mlp2_predict(c->net, c->ws, c->m, c->X, c->P) != MLP2_OK;
    case FANN_PREDICT:
        for (size_t i = 0; i < c->m; i++)
            memcpy(c->P + i * no, fann_run(c->ann, c->X + i * ni), no * sizeof(double));
        return 0;
    case MLP2_STEP:
        return mlp2_sgd_step(c->net, c->ws, c->m, c->X, c->Y, LR, &L) != MLP2_OK;
    case FANN_STEP:
        if (c->m == 1)
            fann_train(c->ann, c->X, c->Y);
        else
            fann_train_epoch(c->ann, c->data);
        return 0;
    }
    return 1;
}

/* max |a - b| / max |b| */
static double rel_err(const double *a, const double *b, size_t n)
{
    double num = 0.0, den = 1e-300;
    for (size_t i = 0; i < n; i++) {
        num = fmax(num, fabs(a[i] - b[i]));
        den = fmax(den, fabs(b[i]));
    }
    return num / den;
}

/* FANN computes libmlp2's predictions and step on the same weights.
 * *e_pred, *e_step: the relative differences. */
static int verify(cell *c, double *e_pred, double *e_step)
{
    const size_t m = c->m, no = c->s.no;
    double *P2 = malloc(m * no * sizeof(double)), *fw = malloc(c->np * sizeof(double));
    if (!P2 || !fw) {
        free(P2);
        free(fw);
        return -1;
    }
    int rc = run_op(c, MLP2_PREDICT);
    memcpy(P2, c->P, m * no * sizeof(double));
    rc |= run_op(c, FANN_PREDICT);
    *e_pred = rel_err(c->P, P2, m * no);
    rc |= run_op(c, MLP2_STEP);
    rc |= run_op(c, FANN_STEP);
    mlp2_get_params(c->net, c->theta);
    for (size_t i = 0; i < c->np; i++)
        fw[c->map[i]] = c->ann->weights[i];
    *e_step = rel_err(fw, c->theta, c->np);
    free(P2);
    free(fw);
    return rc;
}

typedef struct {
    double median;
    bool done;
} timing;

/* calls per sample, so that a sample lasts >= 20 us */
static long calls_for(cell *c, int op)
{
    const double t0 = now();
    long n = 0;
    while (now() - t0 < 0.005 && n < 100000) {
        run_op(c, op);
        n++;
    }
    const double one = (now() - t0) / (double)n;
    return one < 20e-6 ? (long)(20e-6 / one) + 1 : 1;
}

static void time_cell(cell *c, const options *o, timing t[N_OPS])
{
    static double samples[N_OPS][MAX_REPS];
    long k[N_OPS];
    for (int op = 0; op < N_OPS; op++)
        k[op] = calls_for(c, op); /* also the warm-up */
    int n = 0;
    const double start = now();
    while (n < MAX_REPS) {
        for (int op = 0; op < N_OPS; op++) {
            const double s0 = now();
            for (long j = 0; j < k[op]; j++)
                run_op(c, op);
            samples[op][n] = (now() - s0) / (double)k[op];
        }
        n++;
        const double el = now() - start;
        if ((n >= o->min_reps && el >= N_OPS * o->budget) || (n >= 3 && el >= 4 * N_OPS * o->budget + 1))
            break;
    }
    for (int op = 0; op < N_OPS; op++) {
        qsort(samples[op], (size_t)n, sizeof(double), cmp_double);
        t[op].median = n % 2 ? samples[op][n / 2] : 0.5 * (samples[op][n / 2 - 1] + samples[op][n / 2]);
        t[op].done = true;
    }
}

int main(int argc, char **argv)
{
    options o;
    if (parse_options(argc, argv, &o) != 0) {
        fputs("usage: fann_peer [--shapes A-B-C,...] [--batches M,...] [--budget S] [--quick] "
              "[--json FILE]\n",
              stderr);
        return 2;
    }
    mlp2_set_blas_threads(1);
    FILE *js = o.json ? fopen(o.json, "w") : NULL;
    if (o.json && !js) {
        perror(o.json);
        return 1;
    }
    printf("fann_peer: libmlp2 %s against FANN 2.2 (libdoublefann), one thread, interleaved rounds\n",
           mlp2_version());
    printf("%-11s %6s | %10s %10s %10s %10s | %8s %8s | %9s %9s\n", "shape", "batch", "mlp2 pred",
           "fann_run", "mlp2 step", "fann step", "run/pred", "fann/st", "err pred", "err step");
    printf("%-11s %6s | %43s | %17s | %19s\n", "", "", "ns per call (median)", "FANN / mlp2",
           "check before timing");
    if (js)
        fprintf(js, "{\n  \"tool\": \"fann_peer\",\n  \"mlp2_version\": \"%s\",\n  \"cells\": [", mlp2_version());
    int rc = 0;
    bool first = true;
    for (size_t si = 0; si < o.n_shapes; si++)
        for (size_t bi = 0; bi < o.n_batches; bi++) {
            const shape *s = &o.shapes[si];
            const size_t m = o.batches[bi];
            cell c;
            if (cell_init(&c, s, m) != 0) {
                fprintf(stderr, "fann_peer: cannot set up %zu-%zu-%zu at batch %zu\n", s->ni, s->nh,
                        s->no, m);
                cell_free(&c);
                rc = 1;
                continue;
            }
            double ep = NAN, es = NAN;
            char name[64];
            snprintf(name, sizeof name, "%zu-%zu-%zu", s->ni, s->nh, s->no);
            if (verify(&c, &ep, &es) != 0 || !(ep <= 1e-10 && es <= 1e-10)) {
                printf("%-11s %6zu | FANN does not compute libmlp2's step here (predictions %.2g, "
                       "weights %.2g): not timed\n",
                       name, m, ep, es);
                cell_free(&c);
                rc = 1;
                continue;
            }
            timing t[N_OPS];
            time_cell(&c, &o, t);
            const double ns = 1e9;
            printf("%-11s %6zu | %10.4g %10.4g %10.4g %10.4g | %8.2f %8.2f | %9.2g %9.2g\n", name, m,
                   t[MLP2_PREDICT].median * ns, t[FANN_PREDICT].median * ns, t[MLP2_STEP].median * ns,
                   t[FANN_STEP].median * ns, t[FANN_PREDICT].median / t[MLP2_PREDICT].median,
                   t[FANN_STEP].median / t[MLP2_STEP].median, ep, es);
            fflush(stdout);
            if (js) {
                fprintf(js, "%s\n    {\"shape\": \"%s\", \"batch\": %zu, \"check_pred\": %.3g, "
                            "\"check_step\": %.3g, \"ops\": {",
                        first ? "" : ",", name, m, ep, es);
                for (int op = 0; op < N_OPS; op++)
                    fprintf(js, "%s\"%s\": {\"median_ns\": %.6g, \"ns_per_sample\": %.6g}", op ? ", " : "",
                            op_names[op], t[op].median * ns, t[op].median * ns / (double)m);
                fprintf(js, "}}");
                first = false;
            }
            cell_free(&c);
        }
    if (js) {
        fprintf(js, "\n  ]\n}\n");
        if (fclose(js) != 0)
            rc = 1;
    }
    return rc;
}
