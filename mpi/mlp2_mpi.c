/* mlp2_mpi.c - mlp2_train over the ranks of an MPI communicator.
 *
 * Built on libmlp2's public API, plus the library's seeded generator
 * (lib/rng.c, compiled in here too) so that the global permutation of every
 * epoch is the one mlp2_train draws.  The training loop mirrors
 * lib/train.c's decision for decision; only where the batch gradient comes
 * from differs.
 *
 * Every rank runs the same sequence of collectives, whatever happens on it:
 *  1. one MPI_Allreduce of the local status of the arguments and data (the
 *     key rank*256 + status, MIN: the lowest failing rank wins, an exact
 *     integer reduction, so every rank gets the same answer);
 *  2. MPI_Allreduce MIN and MAX of the shape and a digest of the
 *     configuration, and MPI_Exscan / MPI_Allreduce of the row counts;
 *  3. one MPI_Allreduce of the allocation status;
 *  4. MPI_Bcast of rank 0's parameters;
 *  5. per batch: a reduction of [status, sum of squares, cancel, partial
 *     gradient] to rank 0 over a fixed binary tree of the ranks (rank r
 *     adds what rank r + 2^k sends, for k = 0, 1, ...: the same pairwise
 *     tree in rank order as lib/shard.c uses over shards), then rank 0
 *     takes the optimizer step and broadcasts [status, loss, cancel, theta];
 *  6. per epoch: the same reduction for the validation loss, and an
 *     MPI_Allreduce of the callback's answer.
 * A rank that fails keeps taking part with its failing status, so the
 * others learn of it in the same collective and nobody waits forever.
 *
 * MPI is called from the calling thread only (MPI_THREAD_FUNNELED is
 * enough, also with cfg->threads > 1).  The buffers of this file come from
 * malloc, not from mlp2_set_allocator's allocator; everything libmlp2
 * allocates (workspace, optimizer) goes through that allocator.
 */
#include "mlp2_mpi.h"

#include "internal.h" /* mlp2_rng only */

#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define HDR 3 /* doubles before the gradient: status, sum of squares, cancel */

typedef struct {
    MPI_Comm comm;
    int rank, size;
    size_t ni, no, np;
    size_t m, lo, m_val;    /* global rows; this rank's first global row; global validation rows */
    size_t batch;           /* global batch rows */
    mlp2_workspace *ws;
    mlp2_optim *opt;        /* rank 0 only */
    size_t *perm;           /* m global indices (shuffle only) */
    double *Xb, *Yb;        /* this rank's rows of a shuffled batch */
    double *v, *tmp;        /* HDR + np: the reduced vector and a receive buffer */
    double *best;           /* np (patience > 0) */
} run;

/* ---- agreement on a status -------------------------------------------- */

/* The status of the lowest rank whose st is not MLP2_OK, on every rank. */
static mlp2_status agree(const run *r, mlp2_status st)
{
    int key = st == MLP2_OK ? INT_MAX : r->rank * 256 + (int)st, all;
    MPI_Allreduce(&key, &all, 1, MPI_INT, MPI_MIN, r->comm);
    return all == INT_MAX ? MLP2_OK : (mlp2_status)(all % 256);
}

/* ---- local checks ------------------------------------------------------ */

static bool finite_rows(size_t rows, size_t cols, const double *A, mlp2_status *st)
{
    if (cols != 0 && rows > SIZE_MAX / cols) {
        *st = MLP2_ERANGE;
        return false;
    }
    for (size_t i = 0; i < rows * cols; i++)
        if (!isfinite(A[i])) {
            *st = MLP2_ENONFINITE;
            return false;
        }
    return true;
}

static mlp2_status local_checks(const mlp2 *net, const mlp2_train_config *cfg, size_t m_local,
                                const double *X, const double *Y, size_t m_val_local,
                                const double *Xv, const double *Yv)
{
    if (!net || !cfg || (m_local > 0 && (!X || !Y)) || (m_val_local > 0 && (!Xv || !Yv)) ||
        mlp2_train_config_check(cfg, NULL) != MLP2_OK)
        return MLP2_EINVAL;
    mlp2_status st = MLP2_OK;
    const size_t ni = mlp2_n_in(net), no = mlp2_n_out(net);
    if (m_local > 0 && (!finite_rows(m_local, ni, X, &st) || !finite_rows(m_local, no, Y, &st)))
        return st;
    if (m_val_local > 0 && (!finite_rows(m_val_local, ni, Xv, &st) || !finite_rows(m_val_local, no, Yv, &st)))
        return st;
    if (mlp2_n_params(net) > (size_t)INT_MAX - HDR)
        return MLP2_ERANGE; /* MPI counts are int */
    return MLP2_OK;
}

/* FNV-1a over 64-bit words */
static uint64_t mix(uint64_t h, uint64_t w)
{
    for (int i = 0; i < 8; i++) {
        h ^= (w >> (8 * i)) & 0xff;
        h *= 0x100000001b3ull;
    }
    return h;
}

static uint64_t dbits(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

/* The fields every rank must agree on (threads, callback, user and cancel
 * may differ). */
static uint64_t cfg_digest(const mlp2_train_config *c)
{
    uint64_t h = 0xcbf29ce484222325ull;
    const uint64_t w[] = {c->epochs, c->batch_size, (uint64_t)(c->shuffle != 0), c->seed,
                          (uint64_t)c->optim.kind, dbits(c->optim.lr), dbits(c->optim.momentum),
                          dbits(c->optim.beta1), dbits(c->optim.beta2), dbits(c->optim.eps),
                          dbits(c->optim.weight_decay), c->lr_step, dbits(c->lr_gamma), c->patience,
                          dbits(c->min_delta)};
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
        h = mix(h, w[i]);
    return h;
}

/* Shapes, configuration and row counts, agreed.  MLP2_OK or MLP2_EINVAL /
 * MLP2_ERANGE on every rank. */
static mlp2_status agree_sizes(run *r, const mlp2 *net, const mlp2_train_config *cfg, size_t m_local,
                               size_t m_val_local)
{
    uint64_t mine[4] = {mlp2_n_in(net), mlp2_n_hidden(net), mlp2_n_out(net), cfg_digest(cfg)};
    uint64_t lo[4], hi[4];
    MPI_Allreduce(mine, lo, 4, MPI_UINT64_T, MPI_MIN, r->comm);
    MPI_Allreduce(mine, hi, 4, MPI_UINT64_T, MPI_MAX, r->comm);
    if (memcmp(lo, hi, sizeof lo) != 0)
        return MLP2_EINVAL; /* the same on every rank: lo and hi are */
    uint64_t counts[2] = {m_local, m_val_local}, total[2], maxc[2], off = 0;
    MPI_Allreduce(counts, total, 2, MPI_UINT64_T, MPI_SUM, r->comm);
    MPI_Allreduce(counts, maxc, 2, MPI_UINT64_T, MPI_MAX, r->comm);
    MPI_Exscan(&counts[0], &off, 1, MPI_UINT64_T, MPI_SUM, r->comm);
    if (r->rank == 0)
        off = 0; /* MPI_Exscan leaves rank 0's result undefined */
    /* the sums wrapped around if they fall below the largest term */
    /* no term exceeds maxc, so the sums cannot wrap when size * maxc fits */
    const uint64_t P = (uint64_t)r->size;
    if (maxc[0] > UINT64_MAX / P || maxc[1] > UINT64_MAX / P || total[0] > SIZE_MAX || total[1] > SIZE_MAX)
        return MLP2_ERANGE;
    if (total[0] == 0)
        return MLP2_EINVAL; /* no training rows anywhere */
    r->m = (size_t)total[0];
    r->m_val = (size_t)total[1];
    r->lo = (size_t)off;
    return MLP2_OK;
}

/* ---- memory ------------------------------------------------------------ */

static void run_free(run *r)
{
    mlp2_workspace_free(r->ws);
    mlp2_optim_free(r->opt);
    free(r->perm);
    free(r->Xb);
    free(r->v);
    free(r->best);
}

static mlp2_status run_alloc(run *r, const mlp2 *net, const mlp2_train_config *cfg, size_t m_local,
                             size_t m_val_local)
{
    const size_t local_batch = r->batch < m_local ? r->batch : m_local;
    const size_t val_rows = m_val_local < 1024 ? m_val_local : 1024;
    size_t rows = local_batch > val_rows ? local_batch : val_rows;
    rows = rows ? rows : 1;
    mlp2_status st = cfg->threads >= 1 ? mlp2_workspace_create_mt(&r->ws, net, rows, cfg->threads)
                                       : mlp2_workspace_create(&r->ws, net, rows);
    if (st != MLP2_OK)
        return st;
    if (r->rank == 0 && (st = mlp2_optim_create(&r->opt, net, &cfg->optim)) != MLP2_OK)
        return st;
    const size_t lb = local_batch ? local_batch : 1;
    if (cfg->shuffle) {
        if (r->m > SIZE_MAX / sizeof(size_t) || lb > SIZE_MAX / sizeof(double) / (r->ni + r->no))
            return MLP2_ERANGE;
        r->perm = malloc(r->m * sizeof(size_t));
        r->Xb = malloc(lb * (r->ni + r->no) * sizeof(double));
        if (!r->perm || !r->Xb)
            return MLP2_ENOMEM;
        r->Yb = r->Xb + lb * r->ni;
    }
    r->v = malloc(2 * (HDR + r->np) * sizeof(double));
    if (!r->v)
        return MLP2_ENOMEM;
    r->tmp = r->v + HDR + r->np;
    if (cfg->patience > 0 && !(r->best = malloc(r->np * sizeof(double))))
        return MLP2_ENOMEM;
    return MLP2_OK;
}

/* ---- the reduction ----------------------------------------------------- */

/* v (len doubles: status, sum of squares, cancel, then values to add) of
 * every rank combined on rank 0 over a fixed binary tree: at level k, rank
 * r with r % 2^(k+1) == 0 receives from r + 2^k and combines, lower ranks
 * on the left.  The status is the lowest failing rank's, cancel an OR, the
 * rest sums: the same bits for the same inputs, run after run. */
static void tree_reduce(run *r, size_t len)
{
    double *v = r->v, *t = r->tmp;
    for (int step = 1; step < r->size; step *= 2) {
        if (r->rank % (2 * step) != 0) {
            MPI_Send(v, (int)len, MPI_DOUBLE, r->rank - step, 0, r->comm);
            return; /* this rank's part is handed on */
        }
        if (r->rank + step >= r->size)
            continue;
        MPI_Recv(t, (int)len, MPI_DOUBLE, r->rank + step, 0, r->comm, MPI_STATUS_IGNORE);
        if (v[0] == 0.0)
            v[0] = t[0];
        v[2] = v[2] != 0.0 || t[2] != 0.0 ? 1.0 : 0.0;
        v[1] += t[1];
        for (size_t i = HDR; i < len; i++)
            v[i] += t[i];
    }
}

/* ---- one epoch --------------------------------------------------------- */

/* This rank's rows of global batch [r0, r0 + rows): their partial sum into
 * r->v (gradient already divided by the global batch rows). */
static void partial(run *r, mlp2 *net, const mlp2_train_config *cfg, size_t r0, size_t rows,
                    size_t m_local, const double *X, const double *Y)
{
    double *v = r->v, *g = v + HDR;
    const double *Xb = NULL, *Yb = NULL;
    size_t k = 0;
    if (cfg->shuffle) {
        for (size_t i = r0; i < r0 + rows; i++) {
            const size_t idx = r->perm[i];
            if (idx < r->lo || idx - r->lo >= m_local)
                continue;
            memcpy(r->Xb + k * r->ni, X + (idx - r->lo) * r->ni, r->ni * sizeof(double));
            memcpy(r->Yb + k * r->no, Y + (idx - r->lo) * r->no, r->no * sizeof(double));
            k++;
        }
        Xb = r->Xb;
        Yb = r->Yb;
    } else {
        /* global rows [r0, r0 + rows) meet this rank's [lo, lo + m_local) */
        const size_t a = r0 > r->lo ? r0 : r->lo;
        const size_t b = r0 + rows < r->lo + m_local ? r0 + rows : r->lo + m_local;
        if (a < b) {
            k = b - a;
            Xb = X + (a - r->lo) * r->ni;
            Yb = Y + (a - r->lo) * r->no;
        }
    }
    v[0] = 0.0;
    v[1] = 0.0;
    v[2] = cfg->cancel && *cfg->cancel ? 1.0 : 0.0;
    if (k == 0) {
        memset(g, 0, r->np * sizeof(double));
        return;
    }
    double L;
    /* L = 1/(2k) ||A2 - Y||^2 over the local rows, g its gradient */
    const mlp2_status st = mlp2_loss_grad(net, r->ws, k, Xb, Yb, &L, g);
    if (st != MLP2_OK) {
        v[0] = (double)st;
        return;
    }
    /* as parts of the global batch: sum of squares 2kL, gradient k/rows g */
    v[1] = 2.0 * (double)k * L;
    const double s = (double)k / (double)rows;
    for (size_t i = 0; i < r->np; i++)
        g[i] *= s;
}

/* Rank 0: the batch loss and the optimizer step on the reduced gradient;
 * then everyone gets [status, loss, cancel, theta]. */
static mlp2_status step(run *r, mlp2 *net, size_t rows, double *loss, bool *cancel)
{
    double *v = r->v;
    if (r->rank == 0) {
        mlp2_status st = (mlp2_status)(int)v[0];
        const double L = 0.5 * v[1] / (double)rows; /* L = 1/(2 rows) ||A2 - Y||^2 */
        if (st == MLP2_OK && !isfinite(L))
            st = MLP2_ENONFINITE;
        if (st == MLP2_OK)
            st = mlp2_optim_step(r->opt, net, v + HDR);
        v[0] = (double)st;
        v[1] = L;
        mlp2_get_params(net, v + HDR);
    }
    MPI_Bcast(v, (int)(HDR + r->np), MPI_DOUBLE, 0, r->comm);
    const mlp2_status st = (mlp2_status)(int)v[0];
    if (st == MLP2_OK && r->rank != 0)
        mlp2_set_params(net, v + HDR); /* rank 0's bits: finite, it checked them */
    *loss = v[1];
    *cancel = v[2] != 0.0;
    return st;
}

typedef enum { EPOCH_DONE, EPOCH_CANCELLED, EPOCH_NONFINITE } epoch_end;

static epoch_end run_epoch(run *r, mlp2 *net, const mlp2_train_config *cfg, mlp2_rng *rng,
                           size_t m_local, const double *X, const double *Y, double *train_loss)
{
    if (cfg->shuffle) {
        /* the permutation of lib/train.c: Fisher-Yates from the identity */
        for (size_t i = 0; i < r->m; i++)
            r->perm[i] = i;
        for (size_t i = r->m - 1; i > 0; i--) {
            const size_t j = (size_t)mlp2__rng_below(rng, (uint64_t)i + 1);
            const size_t t = r->perm[i];
            r->perm[i] = r->perm[j];
            r->perm[j] = t;
        }
    }
    double sum = 0.0;
    for (size_t r0 = 0; r0 < r->m; r0 += r->batch) {
        const size_t rows = r->m - r0 < r->batch ? r->m - r0 : r->batch;
        partial(r, net, cfg, r0, rows, m_local, X, Y);
        tree_reduce(r, HDR + r->np);
        double L;
        bool cancel;
        if (step(r, net, rows, &L, &cancel) != MLP2_OK)
            return EPOCH_NONFINITE;
        sum += L * (double)rows;
        if (cancel)
            return EPOCH_CANCELLED;
    }
    *train_loss = sum / (double)r->m;
    return isfinite(*train_loss) ? EPOCH_DONE : EPOCH_NONFINITE;
}

/* The global validation loss (MLP2_ENONFINITE on every rank if it is not
 * finite anywhere). */
static mlp2_status validate(run *r, const mlp2 *net, size_t m_val_local, const double *Xv,
                            const double *Yv, double *val_loss)
{
    double *v = r->v;
    v[0] = v[1] = v[2] = 0.0;
    if (m_val_local > 0) {
        double L;
        const mlp2_status st = mlp2_loss_grad(net, r->ws, m_val_local, Xv, Yv, &L, NULL);
        v[0] = (double)st;
        v[1] = 2.0 * (double)m_val_local * L;
    }
    tree_reduce(r, HDR);
    if (r->rank == 0) {
        v[1] = 0.5 * v[1] / (double)r->m_val;
        if (v[0] == 0.0 && !isfinite(v[1]))
            v[0] = (double)MLP2_ENONFINITE;
    }
    MPI_Bcast(v, 2, MPI_DOUBLE, 0, r->comm);
    *val_loss = v[1];
    return (mlp2_status)(int)v[0];
}

/* ---- the loop ---------------------------------------------------------- */

static mlp2_status train(run *r, mlp2 *net, const mlp2_train_config *cfg, size_t m_local,
                         const double *X, const double *Y, size_t m_val_local, const double *Xv,
                         const double *Yv, mlp2_train_report *rep)
{
    mlp2_rng rng;
    mlp2__rng_seed(&rng, cfg->seed);
    if (r->best)
        mlp2_get_params(net, r->best);
    double best = INFINITY, lr = cfg->optim.lr;
    size_t stale = 0;
    for (size_t epoch = 1; epoch <= cfg->epochs; epoch++) {
        double train_loss = NAN, val_loss = NAN;
        const epoch_end e = run_epoch(r, net, cfg, &rng, m_local, X, Y, &train_loss);
        if (e == EPOCH_CANCELLED) {
            rep->reason = MLP2_STOP_CANCELLED;
            break;
        }
        /* every rank reaches here with the same e, so the collective in
         * validate() is called by all or by none */
        if (e == EPOCH_NONFINITE ||
            (r->m_val > 0 && validate(r, net, m_val_local, Xv, Yv, &val_loss) != MLP2_OK)) {
            rep->reason = MLP2_STOP_NONFINITE;
            break;
        }
        rep->epochs_run = epoch;
        rep->final_train_loss = train_loss;
        rep->final_val_loss = val_loss;
        const double monitored = r->m_val > 0 ? val_loss : train_loss;
        if (monitored < best - cfg->min_delta) {
            best = monitored;
            stale = 0;
            if (r->best) {
                mlp2_get_params(net, r->best);
                rep->best_epoch = epoch;
                rep->best_loss = monitored;
            }
        } else {
            stale++;
        }
        if (!r->best) {
            rep->best_epoch = epoch;
            rep->best_loss = monitored;
        }
        int stop = cfg->on_epoch && cfg->on_epoch(cfg->user, epoch, train_loss, val_loss) ? 1 : 0, any;
        MPI_Allreduce(&stop, &any, 1, MPI_INT, MPI_MAX, r->comm);
        if (any) {
            rep->reason = MLP2_STOP_CALLBACK;
            break;
        }
        if (cfg->patience > 0 && stale >= cfg->patience) {
            rep->reason = MLP2_STOP_EARLY;
            break;
        }
        if (cfg->lr_step > 0 && epoch % cfg->lr_step == 0 && lr * cfg->lr_gamma > 0.0) {
            lr *= cfg->lr_gamma;
            if (r->opt)
                mlp2_optim_set_lr(r->opt, lr);
        }
    }
    if (r->best)
        mlp2_set_params(net, r->best);
    return rep->reason == MLP2_STOP_NONFINITE ? MLP2_ENONFINITE : MLP2_OK;
}

mlp2_status mlp2_mpi_train(mlp2 *net, const mlp2_train_config *cfg, MPI_Comm comm, size_t m_local,
                           const double *X, const double *Y, size_t m_val_local, const double *Xv,
                           const double *Yv, mlp2_train_report *report)
{
    if (comm == MPI_COMM_NULL)
        return MLP2_EINVAL;
    run r = {.comm = comm};
    MPI_Comm_rank(comm, &r.rank);
    MPI_Comm_size(comm, &r.size);
    /* 1. arguments and data; 2. shapes, configuration, rows */
    mlp2_status st = agree(&r, local_checks(net, cfg, m_local, X, Y, m_val_local, Xv, Yv));
    if (st != MLP2_OK || (st = agree_sizes(&r, net, cfg, m_local, m_val_local)) != MLP2_OK)
        return st;
    r.ni = mlp2_n_in(net);
    r.no = mlp2_n_out(net);
    r.np = mlp2_n_params(net);
    r.batch = cfg->batch_size < r.m ? cfg->batch_size : r.m;
    /* 3. memory, on every rank or on none */
    if ((st = agree(&r, run_alloc(&r, net, cfg, m_local, m_val_local))) != MLP2_OK) {
        run_free(&r);
        return st;
    }
    /* 4. rank 0's parameters everywhere: nothing can fail from here on
     * but a non-finite loss or step */
    if (r.rank == 0)
        mlp2_get_params(net, r.v);
    MPI_Bcast(r.v, (int)r.np, MPI_DOUBLE, 0, comm);
    if (r.rank != 0)
        mlp2_set_params(net, r.v);
    mlp2_train_report rep = {
        .best_loss = NAN, .final_train_loss = NAN, .final_val_loss = NAN, .reason = MLP2_STOP_EPOCHS};
    st = train(&r, net, cfg, m_local, X, Y, m_val_local, Xv, Yv, &rep);
    run_free(&r);
    if (report)
        *report = rep;
    return st;
}
