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
 *  5. per batch, the step cut into slices: the parameter vector is cut into
 *     P contiguous slices [np r / P, np (r+1) / P), and rank r owns slice r.
 *     - MPI_Allgather of every rank's header [status, sum of squares,
 *       cancel], and MPI_Alltoallv of the partial gradients, so that rank r
 *       holds every rank's part of slice r;
 *     - each rank combines the headers, and sums the parts of its slice,
 *       over a fixed binary tree of the ranks (at level k, the value of
 *       rank s adds that of rank s + 2^k, for s a multiple of 2^(k+1): the
 *       same pairwise tree in rank order as lib/shard.c uses over shards),
 *       so every rank has the same header, bit for bit;
 *     - each rank checks the optimizer step of its slice (every new value
 *       finite), an MPI_Allreduce MAX of "bad" makes the answer common, and
 *       only if no slice is bad does each rank write its slice (parameters
 *       and its slice of the optimizer state);
 *     - MPI_Allgatherv in place puts the slices together: every rank holds
 *       every slice's bits as its owner wrote them.
 *     Per rank this sends and receives (P-1)/P of the gradient and of the
 *     parameters, and the optimizer's passes cost 1/P of a whole step;
 *  6. per epoch: an MPI_Allgather of the validation headers, combined the
 *     same way, and an MPI_Allreduce of the callback's answer.
 * A rank that fails keeps taking part with its failing status, so the
 * others learn of it in the same collective and nobody waits forever.
 *
 * Every rank keeps a whole optimizer (mlp2_optim_create) but uses only its
 * slice of the state: the memory of one process's optimizer, on every rank.
 * The slice passes are libmlp2's own (lib/internal.h, mlp2__mpi_*): the same
 * expressions, so the same bits, as mlp2_optim_step on the whole vector.
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

/* The slices of the parameter vector: rank r owns [slice_lo(r), slice_lo(r+1)). */
static size_t slice_lo(size_t np, int r, int P)
{
    return np * (size_t)r / (size_t)P;
}

typedef struct {
    MPI_Comm comm;
    int rank, size;
    size_t ni, no, np;
    size_t m, lo, m_val;    /* global rows; this rank's first global row; global validation rows */
    size_t batch;           /* global batch rows */
    size_t s_lo, s_hi;      /* this rank's slice of the parameters */
    mlp2_workspace *ws;
    mlp2_optim *opt;        /* the whole state; this rank steps its slice of it */
    size_t *perm;           /* m global indices (shuffle only) */
    double *Xb, *Yb;        /* this rank's rows of a shuffled batch */
    double *v;              /* HDR + np: this rank's header and partial gradient */
    double *hdrs;           /* HDR per rank, in rank order */
    double *parts;          /* (s_hi - s_lo) per rank: every rank's part of this slice */
    int *cnt, *dsp;         /* per rank: its slice's length and first element */
    int *rcnt, *rdsp;       /* per rank: s_hi - s_lo, and where its part goes in parts */
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
    free(r->hdrs);
    free(r->parts);
    free(r->cnt);
    free(r->best);
}

static mlp2_status run_alloc(run *r, const mlp2 *net, const mlp2_train_config *cfg, size_t m_local,
                             size_t m_val_local)
{
    const size_t local_batch = r->batch < m_local ? r->batch : m_local;
    const size_t val_rows = m_val_local < 1024 ? m_val_local : 1024;
    size_t rows = local_batch > val_rows ? local_batch : val_rows;
    rows = rows ? rows : 1;
    /* threads >= 1: a pool, unless this rank's share of the run is too
     * short to pay for it (mlp2_train's rule, over the local rows; the bits
     * are the same either way) */
    mlp2_status st = cfg->threads >= 1
                         ? mlp2_workspace_create_mt(&r->ws, net, rows,
                                                    mlp2__mpi_run_threads(net, cfg, m_local, m_val_local))
                         : mlp2_workspace_create(&r->ws, net, rows);
    if (st != MLP2_OK)
        return st;
    if ((st = mlp2_optim_create(&r->opt, net, &cfg->optim)) != MLP2_OK)
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
    const size_t P = (size_t)r->size, len = r->s_hi - r->s_lo;
    r->v = malloc((HDR + r->np) * sizeof(double));
    r->hdrs = malloc(P * HDR * sizeof(double));
    r->parts = malloc((len > 0 ? P * len : 1) * sizeof(double)); /* P * len <= np + P */
    r->cnt = malloc(4 * P * sizeof(int));
    if (!r->v || !r->hdrs || !r->parts || !r->cnt)
        return MLP2_ENOMEM;
    r->dsp = r->cnt + P;
    r->rcnt = r->dsp + P;
    r->rdsp = r->rcnt + P;
    for (int o = 0; o < r->size; o++) { /* counts fit in int: np <= INT_MAX - HDR */
        r->cnt[o] = (int)(slice_lo(r->np, o + 1, r->size) - slice_lo(r->np, o, r->size));
        r->dsp[o] = (int)slice_lo(r->np, o, r->size);
        r->rcnt[o] = (int)len;
        r->rdsp[o] = (int)((size_t)o * len);
    }
    if (cfg->patience > 0 && !(r->best = malloc(r->np * sizeof(double))))
        return MLP2_ENOMEM;
    return MLP2_OK;
}

/* ---- the reduction ----------------------------------------------------- */

/* P blocks of len values, block s from rank s, combined into block 0 over
 * a fixed binary tree of the ranks: at level k, block s (s a multiple of
 * 2^(k+1)) takes in block s + 2^k, the lower rank on the left.  Headers
 * (len HDR) combine as: status the lowest failing rank's, sum of squares
 * a sum, cancel an OR; values (hdr false) as sums.  The same bits for the
 * same inputs on every rank, run after run. */
static void tree_combine(double *b, size_t len, int P, bool hdr)
{
    for (int step = 1; step < P; step *= 2)
        for (int s = 0; s + step < P; s += 2 * step) {
            double *x = b + (size_t)s * len;
            const double *y = b + (size_t)(s + step) * len;
            if (!hdr) {
                for (size_t i = 0; i < len; i++)
                    x[i] += y[i];
                continue;
            }
            if (x[0] == 0.0)
                x[0] = y[0];
            x[1] += y[1];
            x[2] = x[2] != 0.0 || y[2] != 0.0 ? 1.0 : 0.0;
        }
}

/* Every rank's header r->v[0..HDR) gathered and combined: the global one,
 * the same on every rank, in r->hdrs[0..HDR). */
static const double *global_header(run *r)
{
    MPI_Allgather(r->v, HDR, MPI_DOUBLE, r->hdrs, HDR, MPI_DOUBLE, r->comm);
    tree_combine(r->hdrs, HDR, r->size, true);
    return r->hdrs;
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
        memset(g, 0, r->np * sizeof(double)); /* sent all the same: defined bytes */
        return;
    }
    /* as parts of the global batch: sum of squares 2kL, gradient k/rows g */
    v[1] = 2.0 * (double)k * L;
    const double s = (double)k / (double)rows;
    for (size_t i = 0; i < r->np; i++)
        g[i] *= s;
}

/* The batch's global header and this rank's slice of the summed gradient
 * (steps 5 of the list at the top); then the step, slice by slice, if the
 * status is MLP2_OK and every slice's new values are finite.  The status,
 * loss and cancel flag are the same on every rank. */
static mlp2_status step(run *r, mlp2 *net, size_t rows, double *loss, bool *cancel)
{
    /* parts[s*len ...] = rank s's part of this rank's slice of the gradient */
    MPI_Alltoallv(r->v + HDR, r->cnt, r->dsp, MPI_DOUBLE, r->parts, r->rcnt, r->rdsp, MPI_DOUBLE,
                  r->comm);
    const double *h = global_header(r);
    const size_t len = r->s_hi - r->s_lo;
    tree_combine(r->parts, len, r->size, false); /* this slice of sum_s g_s */
    mlp2_status st = (mlp2_status)(int)h[0];
    *loss = 0.5 * h[1] / (double)rows; /* L = 1/(2 rows) ||A2 - Y||^2 */
    *cancel = h[2] != 0.0;
    if (st == MLP2_OK && !isfinite(*loss))
        st = MLP2_ENONFINITE;
    if (st != MLP2_OK)
        return st; /* the same on every rank: nobody steps */
    int bad = mlp2__mpi_optim_check(r->opt, net, r->parts, r->s_lo, r->s_hi, r->ws) ? 0 : 1, any;
    MPI_Allreduce(&bad, &any, 1, MPI_INT, MPI_MAX, r->comm);
    if (any)
        return MLP2_ENONFINITE; /* no slice written anywhere */
    mlp2__mpi_optim_write(r->opt, net, r->parts, r->s_lo, r->s_hi, r->ws);
    MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, mlp2__mpi_params(net), r->cnt, r->dsp,
                   MPI_DOUBLE, r->comm);
    return MLP2_OK;
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
    const double *h = global_header(r);
    *val_loss = 0.5 * h[1] / (double)r->m_val;
    if (h[0] == 0.0 && !isfinite(*val_loss))
        return MLP2_ENONFINITE;
    return (mlp2_status)(int)h[0];
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
    r.s_lo = slice_lo(r.np, r.rank, r.size);
    r.s_hi = slice_lo(r.np, r.rank + 1, r.size);
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
