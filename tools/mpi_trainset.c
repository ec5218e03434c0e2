/* mpi_trainset.c - the matrices of `mlp2-mpi train` on each process: the
 * rows of its byte range (mpi_read.c), moved so that the processes' rows
 * concatenated in rank order are the training rows, then the validation
 * rows, in the order `mlp2 train` gives mlp2_train; standardised with
 * statistics merged across the processes (see mpi_train.h). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common.h"
#include "model.h"
#include "mpi_train.h"

/* The first index of process r's share of n items: floor(n * r / P). */
static size_t share(size_t n, int r, int p)
{
    return n / (size_t)p * (size_t)r + n % (size_t)p * (size_t)r / (size_t)p;
}

/* The process whose share of n (from lo) holds pos. */
static int owner(size_t pos, size_t n, int p)
{
    int lo = 0, hi = p - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (share(n, mid, p) <= pos)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

/* Copy row i of t (columns idx[0..k)) into out. */
static void take(const csv_table *t, size_t i, const size_t *idx, size_t k, double *out)
{
    for (size_t j = 0; j < k; j++)
        out[j] = t->data[i * t->cols + idx[j]];
}

/* Send every local row to the process that holds its place in the order
 * X (training rows) then Xv (validation rows): place = inv[global index]. */
static int move_rows(mpi_ctx *m, train_state *s, const csv_table *L, size_t row0, const size_t *inv, size_t n)
{
    const int p = m->size;
    const size_t n_in = s->d.n_in, n_out = s->d.n_out, w = 1 + n_in + n_out;
    int *cnt = calloc((size_t)p * 4, sizeof *cnt), *sdisp = cnt + p, *rcnt = cnt + 2 * p, *rdisp = cnt + 3 * p;
    double *send = malloc((L->rows ? L->rows : 1) * w * sizeof *send), *recv = NULL;
    int rc = cnt && send ? EXIT_OK : EXIT_TRAIN;
    if (rc == EXIT_OK && L->rows > (size_t)(INT32_MAX / 2) / w) { /* MPI counts are int */
        fprintf(m->err, "mlp2: %zu rows on one process: too many for MPI counts; use more processes\n", L->rows);
        rc = EXIT_DATA;
    }
    if ((rc = mpi_agree(m->comm, rc, NULL)))
        goto done;
    for (size_t i = 0; i < L->rows; i++) {
        size_t pos = inv[row0 + i];
        cnt[pos < s->m_train ? owner(pos, s->m_train, p) : owner(pos - s->m_train, n - s->m_train, p)] += (int)w;
    }
    MPI_Alltoall(cnt, 1, MPI_INT, rcnt, 1, MPI_INT, m->comm);
    long long st = 0, rt = 0;
    for (int r = 0; r < p; r++) {
        sdisp[r] = (int)st;
        rdisp[r] = (int)rt;
        st += cnt[r];
        rt += rcnt[r];
    }
    rc = st > INT32_MAX / 2 || rt > INT32_MAX / 2 ? EXIT_DATA : EXIT_OK;
    if (rc)
        fprintf(m->err, "mlp2: too many values on one process for MPI counts; use more processes\n");
    else if (!(recv = malloc((rt ? (size_t)rt : 1) * sizeof *recv)))
        rc = EXIT_TRAIN;
    if ((rc = mpi_agree(m->comm, rc, NULL)))
        goto done;
    int *at = malloc((size_t)p * sizeof *at);
    if (at)
        memcpy(at, sdisp, (size_t)p * sizeof *at);
    if ((rc = mpi_agree(m->comm, at ? EXIT_OK : EXIT_TRAIN, NULL))) {
        free(at);
        goto done;
    }
    for (size_t i = 0; i < L->rows; i++) {
        size_t pos = inv[row0 + i];
        int r = pos < s->m_train ? owner(pos, s->m_train, p) : owner(pos - s->m_train, n - s->m_train, p);
        double *row = send + at[r];
        at[r] += (int)w;
        row[0] = (double)pos; /* exact: n < 2^53 is checked */
        take(L, i, s->d.in_idx, n_in, row + 1);
        take(L, i, s->d.out_idx, n_out, row + 1 + n_in);
    }
    free(at);
    MPI_Alltoallv(send, cnt, sdisp, MPI_DOUBLE, recv, rcnt, rdisp, MPI_DOUBLE, m->comm);
    const size_t t0 = share(s->m_train, m->rank, p), v0 = s->m_train + share(n - s->m_train, m->rank, p);
    for (size_t i = 0; i < (size_t)rt / w; i++) {
        const double *row = recv + i * w;
        size_t pos = (size_t)row[0];
        double *x = pos < s->m_train ? s->X + (pos - t0) * n_in : s->Xv + (pos - v0) * n_in;
        double *y = pos < s->m_train ? s->Y + (pos - t0) * n_out : s->Yv + (pos - v0) * n_out;
        memcpy(x, row + 1, n_in * sizeof *x);
        memcpy(y, row + 1 + n_in, n_out * sizeof *y);
    }
done:
    free(cnt);
    free(send);
    free(recv);
    return rc;
}

/* Per column of the local m x w matrix A: n, mean and M2 of A / unit. */
static void local_moments(const double *A, size_t m, size_t w, size_t j, double unit, double *mean, double *m2)
{
    double s = 0, ss = 0;
    for (size_t i = 0; i < m; i++)
        s += A[i * w + j] / unit;
    *mean = m ? s / (double)m : 0;
    for (size_t i = 0; i < m; i++)
        ss += (A[i * w + j] / unit - *mean) * (A[i * w + j] / unit - *mean);
    *m2 = ss;
}

/* Mean and standard deviation of every training column over all processes:
 * each process's mean and M2 (two passes, values divided by a power of two
 * near the column's largest magnitude, as `mlp2 train` does), merged in rank
 * order with Chan et al.'s pairwise formula.  The same bits on every
 * process. */
static int global_stats(mpi_ctx *m, const train_state *s, double *mean, double *sd)
{
    const size_t n_in = s->d.n_in, n_out = s->d.n_out, k = n_in + n_out, ml = m->m_train;
    const int p = m->size;
    double *big = calloc(k, sizeof *big), *unit = calloc(k, sizeof *unit), *mine = malloc(2 * k * sizeof *mine);
    double *all = malloc((size_t)p * 2 * k * sizeof *all);
    unsigned long long *cnt = malloc((size_t)p * sizeof *cnt), n_me = ml;
    int rc = big && unit && mine && all && cnt ? EXIT_OK : EXIT_TRAIN;
    if ((rc = mpi_agree(m->comm, rc, NULL)))
        goto done;
    for (size_t c = 0; c < k; c++) {
        const double *A = c < n_in ? s->X : s->Y;
        size_t w = c < n_in ? n_in : n_out, j = c < n_in ? c : c - n_in;
        for (size_t i = 0; i < ml; i++)
            big[c] = fmax(big[c], fabs(A[i * w + j]));
    }
    MPI_Allreduce(MPI_IN_PLACE, big, (int)k, MPI_DOUBLE, MPI_MAX, m->comm);
    for (size_t c = 0; c < k; c++) {
        int ex = 0;
        frexp(big[c], &ex);
        unit[c] = big[c] > 0 ? ldexp(1.0, ex - 1) : 1.0;
        const double *A = c < n_in ? s->X : s->Y;
        size_t w = c < n_in ? n_in : n_out, j = c < n_in ? c : c - n_in;
        local_moments(A, ml, w, j, unit[c], &mine[2 * c], &mine[2 * c + 1]);
    }
    MPI_Allgather(mine, (int)(2 * k), MPI_DOUBLE, all, (int)(2 * k), MPI_DOUBLE, m->comm);
    MPI_Allgather(&n_me, 1, MPI_UNSIGNED_LONG_LONG, cnt, 1, MPI_UNSIGNED_LONG_LONG, m->comm);
    for (size_t c = 0; c < k; c++) {
        double na = 0, mu = 0, m2 = 0;
        for (int r = 0; r < p; r++) {
            double nb = (double)cnt[r], mb = all[(size_t)r * 2 * k + 2 * c], m2b = all[(size_t)r * 2 * k + 2 * c + 1];
            if (nb == 0)
                continue;
            double nab = na + nb, delta = mb - mu;
            mu += delta * (nb / nab);
            m2 += m2b + delta * delta * (na * nb / nab);
            na = nab;
        }
        mean[c] = mu * unit[c];
        sd[c] = sqrt(m2 / na) * unit[c];
    }
done:
    free(big);
    free(unit);
    free(mine);
    free(all);
    free(cnt);
    return rc;
}

/* The columns' names and scaling (from global statistics), then X, Y, Xv
 * and Yv standardised in place: as trainset.c's scale_columns. */
static int scale_all(mpi_ctx *m, const train_opts *o, train_state *s)
{
    const csv_table *t = &s->d.table;
    const size_t n_in = s->d.n_in, n_out = s->d.n_out, k = n_in + n_out;
    columns *c = &s->cols;
    double *mean = calloc(k, sizeof *mean), *sd = calloc(k, sizeof *sd);
    int rc = mean && sd && columns_alloc(c, n_in, n_out) == 0 ? EXIT_OK : EXIT_TRAIN;
    for (size_t j = 0; !rc && j < k; j++) {
        c->src[j] = j < n_in ? s->d.in_idx[j] : s->d.out_idx[j - n_in];
        if (!(c->names[j] = strdup(t->names[c->src[j]])))
            rc = EXIT_TRAIN;
    }
    if (rc)
        fprintf(m->err, "mlp2: out of memory\n");
    if ((rc = mpi_agree(m->comm, rc, NULL)) || (o->scale && (rc = global_stats(m, s, mean, sd))))
        goto done;
    c->flags = (o->scale ? COLUMNS_STANDARDISED : 0) | (t->has_header ? COLUMNS_HEADER : 0);
    c->n_src = t->cols;
    for (size_t j = 0; o->scale && j < k; j++) {
        if (!isfinite(mean[j]) || !isfinite(sd[j])) {
            cli_error("%s: column %zu (\"%s\"): the %s cannot be standardised: its mean or standard deviation is"
                      " not a finite double (use --no-scale or rescale the column)",
                      s->d.name, t->field_of[c->src[j]] + 1, c->names[j], j < n_in ? "input" : "target");
            rc = EXIT_DATA;
            goto done;
        }
        c->mean[j] = mean[j];
        c->scale[j] = (sd[j] > 0 && sd[j] > 1e-12 * fabs(mean[j])) ? sd[j] : 1.0;
    }
    for (size_t j = 0; j < k; j++) {
        int is_in = j < n_in;
        size_t jj = is_in ? j : j - n_in, w = is_in ? n_in : n_out;
        double *A = is_in ? s->X : s->Y, *B = is_in ? s->Xv : s->Yv;
        for (size_t i = 0; i < m->m_train; i++)
            A[i * w + jj] = standardise(A[i * w + jj], c->mean[j], c->scale[j]);
        for (size_t i = 0; i < m->m_val; i++)
            B[i * w + jj] = standardise(B[i * w + jj], c->mean[j], c->scale[j]);
    }
done:
    free(mean);
    free(sd);
    return rc;
}

/* Allocate this process's X, Y, Xv, Yv and P. */
static int alloc_local(mpi_ctx *m, train_state *s)
{
    const size_t n_in = s->d.n_in, n_out = s->d.n_out, mt = m->m_train ? m->m_train : 1, mv = m->m_val ? m->m_val : 1;
    s->X = malloc(mt * n_in * sizeof *s->X);
    s->Y = malloc(mt * n_out * sizeof *s->Y);
    s->Xv = malloc(mv * n_in * sizeof *s->Xv);
    s->Yv = malloc(mv * n_out * sizeof *s->Yv);
    s->P = malloc((mt > mv ? mt : mv) * n_out * sizeof *s->P);
    int rc = s->X && s->Y && s->Xv && s->Yv && s->P ? EXIT_OK : EXIT_TRAIN;
    if (rc)
        fprintf(m->err, "mlp2: %s: out of memory for %zu rows on this process\n", s->d.name, m->m_train + m->m_val);
    return mpi_agree(m->comm, rc, NULL);
}

/* Place the rows: with --val-data, the file's rows are the training rows
 * in file order and each process keeps its own; otherwise the seeded
 * permutation of trainset_permutation decides every row's place. */
int mpi_place_rows(mpi_ctx *m, const train_opts *o, train_state *s, const split_csv *D, const split_csv *V,
                   const size_t *v_idx)
{
    int rc;
    const size_t n = D->rows, n_in = s->d.n_in, n_out = s->d.n_out;
    m->m_train = share(s->m_train, m->rank + 1, m->size) - share(s->m_train, m->rank, m->size);
    m->m_val = o->val_data ? V->local.rows
                           : share(s->m_val, m->rank + 1, m->size) - share(s->m_val, m->rank, m->size);
    if ((rc = alloc_local(m, s)))
        return rc;
    if (o->val_data)
        for (size_t i = 0; i < V->local.rows; i++) {
            take(&V->local, i, v_idx, n_in, s->Xv + i * n_in);
            take(&V->local, i, v_idx + n_in, n_out, s->Yv + i * n_out);
        }
    size_t *perm = malloc(n * sizeof *perm), *inv = malloc(n * sizeof *inv);
    rc = perm && inv && n < ((size_t)1 << 53) ? EXIT_OK : EXIT_TRAIN;
    if (!rc) {
        if (!o->val_data && s->m_val)
            trainset_permutation(perm, n, o->seed);
        else
            for (size_t i = 0; i < n; i++)
                perm[i] = i;
        for (size_t i = 0; i < n; i++)
            inv[perm[i]] = i;
    } else {
        fprintf(m->err, "mlp2: out of memory for the permutation of %zu rows\n", n);
    }
    free(perm);
    if (!(rc = mpi_agree(m->comm, rc, NULL)) && !(rc = move_rows(m, s, &D->local, D->row0, inv, n)))
        rc = scale_all(m, o, s);
    free(inv);
    return rc;
}
