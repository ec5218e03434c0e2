/* trainset.c - the matrices `mlp2 train` trains on: the data read, split
 * into training and validation rows with a seeded permutation, and
 * standardised with the training rows' statistics (see train.h). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common.h"
#include "model.h"
#include "train.h"

/* splitmix64 for the validation split (the library has its own generator for
 * initialisation and shuffling). */
static uint64_t split_next(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

void trainset_permutation(size_t *perm, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    uint64_t st = seed ^ UINT64_C(0x5EED5EED5EED5EED);
    for (size_t i = n - 1; n > 0 && i > 0; i--) {
        size_t j = (size_t)(split_next(&st) % (i + 1)); /* bias below 2^-40 for any real n */
        size_t tmp = perm[i];
        perm[i] = perm[j];
        perm[j] = tmp;
    }
}

/* Copy row r of table columns idx[0..k) into out. */
static void copy_row(const csv_table *t, size_t r, const size_t *idx, size_t k, double *out)
{
    for (size_t j = 0; j < k; j++)
        out[j] = t->data[r * t->cols + idx[j]];
}

/* Read --val-data and find the training columns in it: s->dv.in_idx holds
 * the inputs, then the targets. */
static int read_val_data(const train_opts *o, train_state *s)
{
    int rc;
    const csv_table *t = &s->d.table;
    const size_t n_in = s->d.n_in, n_out = s->d.n_out;
    s->dv.name = o->val_data;
    if ((rc = data_read(&o->dopt, o->val_data, &s->dv.table, NULL, NULL)))
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
                cli_error("%s: no column named \"%s\" (as in %s)", o->val_data, t->names[src], s->d.name);
            else
                cli_error("%s: found %zu columns, but %s has %zu", o->val_data, tv->cols, s->d.name, t->cols);
            return EXIT_DATA;
        }
        s->dv.in_idx[i] = (size_t)j;
    }
    s->m_val = tv->rows;
    return EXIT_OK;
}

/* The numbers of training and validation rows (n data rows; n_val_file rows
 * of --val-data, which when given is the whole validation set), and the
 * batch size.  Shared with mlp2-mpi, which counts rows across ranks. */
int trainset_split_counts(const train_opts *o, train_state *s, size_t n, size_t n_val_file)
{
    s->m_train = n;
    s->m_val = n_val_file;
    if (!o->val_data) {
        double v = o->val_given ? o->val : 0.2;
        s->m_val = (size_t)floor(v * (double)n + 0.5);
        if (v > 0 && s->m_val == 0) {
            cli_error("%s: only %zu data rows: --val %s leaves no validation rows (use --val 0 for none)", s->d.name,
                      n, fmt(v));
            return EXIT_DATA;
        }
        if (s->m_val >= n) {
            cli_error("%s: only %zu data rows: --val %s leaves no training rows", s->d.name, n, fmt(v));
            return EXIT_DATA;
        }
        s->m_train = n - s->m_val;
    }
    s->batch = o->batch_given ? o->batch : (s->m_train < 32 ? s->m_train : 32);
    if (s->batch > s->m_train) {
        cli_error("%s: only %zu training rows%s, fewer than --batch %zu", s->d.name, s->m_train,
                  s->m_val && !o->val_data ? " after the validation split" : "", s->batch);
        return EXIT_DATA;
    }
    return EXIT_OK;
}

/* The split of this process's table (--val-data read first, when given). */
static int choose_split(const train_opts *o, train_state *s)
{
    int rc;
    s->m_val = 0;
    if (o->val_data && (rc = read_val_data(o, s)))
        return rc;
    return trainset_split_counts(o, s, s->d.table.rows, o->val_data ? s->m_val : 0);
}

/* X, Y, Xv, Yv in the data's units: a seeded permutation puts the
 * validation rows last. */
static int fill_matrices(const train_opts *o, train_state *s)
{
    const csv_table *t = &s->d.table;
    const size_t n_in = s->d.n_in, n_out = s->d.n_out, n = t->rows, m_train = s->m_train, m_val = s->m_val;
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
    if (!o->val_data && m_val) {
        trainset_permutation(s->perm, n, o->seed);
    } else {
        for (size_t i = 0; i < n; i++)
            s->perm[i] = i;
    }
    for (size_t i = 0; i < m_train; i++) {
        copy_row(t, s->perm[i], s->d.in_idx, n_in, s->X + i * n_in);
        if (s->classify) /* one-hot rows of the classes */
            for (size_t j = 0; j < n_out; j++)
                s->Y[i * n_out + j] = j == s->row_class[s->perm[i]];
        else
            copy_row(t, s->perm[i], s->d.out_idx, n_out, s->Y + i * n_out);
    }
    for (size_t i = 0; i < m_val; i++) {
        if (s->classify) {
            copy_row(t, s->perm[m_train + i], s->d.in_idx, n_in, s->Xv + i * n_in);
            for (size_t j = 0; j < n_out; j++)
                s->Yv[i * n_out + j] = j == s->row_class[s->perm[m_train + i]];
        } else if (o->val_data) {
            copy_row(&s->dv.table, i, s->dv.in_idx, n_in, s->Xv + i * n_in);
            copy_row(&s->dv.table, i, s->dv.in_idx + n_in, n_out, s->Yv + i * n_out);
        } else {
            copy_row(t, s->perm[m_train + i], s->d.in_idx, n_in, s->Xv + i * n_in);
            copy_row(t, s->perm[m_train + i], s->d.out_idx, n_out, s->Yv + i * n_out);
        }
    }
    return EXIT_OK;
}

/* Mean and standard deviation of column j of the m x w matrix A.  Two passes
 * over the values divided by a power of two near their largest magnitude: no
 * overflow even near DBL_MAX, and (the division being exact) the same bits as
 * without it for ordinary data. */
static void column_stats(const double *A, size_t m, size_t w, size_t j, double *mean_out, double *sd_out)
{
    double big = 0;
    for (size_t i = 0; i < m; i++)
        big = fmax(big, fabs(A[i * w + j]));
    int ex = 0;
    frexp(big, &ex);
    const double unit = big > 0 ? ldexp(1.0, ex - 1) : 1.0; /* big / unit in [1, 2) */
    double mean = 0, ss = 0;
    for (size_t i = 0; i < m; i++)
        mean += A[i * w + j] / unit;
    mean /= (double)m;
    for (size_t i = 0; i < m; i++)
        ss += (A[i * w + j] / unit - mean) * (A[i * w + j] / unit - mean);
    *sd_out = sqrt(ss / (double)m) * unit;
    *mean_out = mean * unit;
}

/* The columns' names and scaling, from the training rows only; then X, Y,
 * Xv and Yv are standardised in place. */
static int scale_columns(const train_opts *o, train_state *s)
{
    const csv_table *t = &s->d.table;
    const size_t n_in = s->d.n_in, n_out = s->d.n_out;
    columns *c = &s->cols;
    if (columns_alloc(c, n_in, n_out) != 0) {
        cli_error("out of memory");
        return EXIT_TRAIN;
    }
    c->flags = (o->scale ? COLUMNS_STANDARDISED : 0) | (t->has_header ? COLUMNS_HEADER : 0);
    c->n_src = t->cols + (s->classify ? n_out : 0);
    /* a classifier's targets are its classes: records after the number
     * columns, named after the class, unscaled (classify.h); a sigmoid
     * head's targets are 0..1, unscaled too */
    const int raw_targets = s->classify || (o->head_given && o->head == MLP2_HEAD_SIGMOID);
    for (size_t k = 0; k < n_in + n_out; k++) {
        int is_in = k < n_in;
        size_t j = is_in ? k : k - n_in, w = is_in ? n_in : n_out;
        c->src[k] = is_in ? s->d.in_idx[j] : s->classify ? t->cols + j : s->d.out_idx[j];
        if (!(c->names[k] = strdup(!is_in && s->classify ? s->cls.names[j] : t->names[c->src[k]]))) {
            cli_error("out of memory");
            return EXIT_TRAIN;
        }
        if (!o->scale || (!is_in && raw_targets))
            continue;
        double mean, sd;
        column_stats(is_in ? s->X : s->Y, s->m_train, w, j, &mean, &sd);
        if (!isfinite(mean) || !isfinite(sd)) {
            cli_error("%s: column %zu (\"%s\"): the %s cannot be standardised: its mean or standard deviation is"
                      " not a finite double (use --no-scale or rescale the column)",
                      s->d.name, t->field_of[c->src[k]] + 1, c->names[k], is_in ? "input" : "target");
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
        for (size_t i = 0; i < s->m_train; i++)
            A[i * w + j] = standardise(A[i * w + j], c->mean[k], c->scale[k]);
        for (size_t i = 0; i < s->m_val; i++)
            B[i * w + j] = standardise(B[i * w + j], c->mean[k], c->scale[k]);
    }
    return EXIT_OK;
}

/* Whether there will be validation data (--val 0 is the only way to have
 * none: a split that leaves no rows is an error). */
int has_validation(const train_opts *o)
{
    return o->val_data || !o->val_given || o->val > 0;
}

int keeps_best(const train_opts *o)
{
    return !o->last_epoch && (has_validation(o) || o->patience_given);
}

size_t stop_patience(const train_opts *o)
{
    if (o->last_epoch)
        return 0;
    if (o->patience_given)
        return o->patience;
    return has_validation(o) ? DEFAULT_PATIENCE : 0;
}

/* A classifier's data: the label column as text, every other column an
 * input; the classes of all its rows (training and validation). */
static int read_classes(const train_opts *o, train_state *s)
{
    int rc;
    csv_table *t = &s->d.table;
    label_pick p = {t, o->targets, o->n_targets, CSV_COL_NUMBER};
    if ((rc = data_read(&o->dopt, o->data, t, label_use, &p)))
        return rc;
    if (t->n_text != 1) {
        cli_error("%s: --classify takes one label column (%zu given)", s->d.name, t->n_text);
        return t->n_text ? EXIT_USAGE : EXIT_DATA;
    }
    if (t->cols == 0) {
        cli_error("%s: no input columns besides the label column \"%s\"", s->d.name, t->text_names[0]);
        return EXIT_DATA;
    }
    s->row_class = malloc(t->rows * sizeof *s->row_class);
    s->d.in_idx = malloc(t->cols * sizeof *s->d.in_idx);
    if (!s->row_class || !s->d.in_idx) {
        cli_error("out of memory");
        return EXIT_TRAIN;
    }
    if ((rc = labels_classes(s->d.name, t, &s->cls, s->row_class)))
        return rc;
    for (size_t j = 0; j < t->cols; j++)
        s->d.in_idx[j] = j;
    s->d.n_in = t->cols;
    s->d.n_out = s->cls.n;
    return EXIT_OK;
}

/* The probe's columns: --ignore'd ones skipped, the label column as text */
typedef struct probe_ctx {
    const data_opts *d;
    label_pick pick;
} probe_ctx;

static csv_col_use probe_use(void *ctx, size_t index, const char *name, int has_header)
{
    probe_ctx *p = ctx;
    if (col_list_match(&p->d->ignore, index, name))
        return CSV_COL_SKIP;
    return label_use(&p->pick, index, name, has_header);
}

/* Is the data a classification problem: --classify, --head softmax, or a
 * label column holding text (a note says so).  A first, silent read with
 * the label column as text and the others as numbers, as the classifier
 * would read them (so the header is detected the same way); any error in
 * it is left to the real read to report.  Not for standard input, which
 * cannot be read twice: there --classify decides. */
static int wants_classes(const train_opts *o, train_state *s, int *classify)
{
    *classify = o->classify || (o->head_given && o->head == MLP2_HEAD_SOFTMAX);
    if (*classify || o->head_given || strcmp(o->data, "-") == 0)
        return EXIT_OK;
    char *buf = NULL;
    size_t len = 0;
    int rc = cli_slurp(o->data, &buf, &len);
    if (rc)
        return rc;
    csv_table probe = {0};
    probe_ctx p = {&o->dopt, {&probe, o->targets, o->n_targets, CSV_COL_NUMBER}};
    csv_options co = {.header = o->dopt.header, .delim = o->dopt.delim, .missing = o->dopt.missing,
                      .column_use = probe_use, .ctx = &p};
    csv_error err;
    const csv_errcode e = csv_parse(buf, len, &co, &probe, &err);
    free(buf);
    if (e == CSV_OK && probe.n_text == 1 && labels_have_text(&probe)) {
        *classify = 1;
        fprintf(stderr, "mlp2: %s: the target column \"%s\" holds text: training a classifier (as with"
                        " --classify)\n", s->d.name, probe.text_names[0]);
    }
    csv_free(&probe);
    return EXIT_OK;
}

int trainset_build(const train_opts *o, train_state *s)
{
    int rc;
    if (o->data) {
        s->d.name = strcmp(o->data, "-") == 0 ? "<stdin>" : o->data;
        if ((rc = wants_classes(o, s, &s->classify)))
            return rc;
        if (s->classify) {
            if ((rc = read_classes(o, s)) || (rc = choose_split(o, s)) || (rc = fill_matrices(o, s)) ||
                (rc = scale_columns(o, s)))
                return rc;
            return EXIT_OK;
        }
        if ((rc = data_read(&o->dopt, o->data, &s->d.table, NULL, NULL)))
            return rc;
    } else if ((rc = dataset_embedded(&s->d))) {
        return rc;
    }
    if ((rc = dataset_select_targets(&s->d, o->targets, o->n_targets)))
        return rc;
    if ((rc = choose_split(o, s)) || (rc = fill_matrices(o, s)) || (rc = scale_columns(o, s)))
        return rc;
    if (o->head_given && o->head == MLP2_HEAD_SIGMOID) /* multi-label: every target 0..1 */
        for (size_t i = 0; i < (s->m_train + s->m_val) * s->d.n_out; i++) {
            const size_t mt = s->m_train * s->d.n_out;
            const double y = i < mt ? s->Y[i] : s->Yv[i - mt];
            if (!(y >= 0.0 && y <= 1.0)) {
                cli_error("%s: --head sigmoid needs every target in [0, 1] (0/1 labels or probabilities);"
                          " found %s", s->d.name, fmt(y));
                return EXIT_DATA;
            }
        }
    return EXIT_OK;
}
