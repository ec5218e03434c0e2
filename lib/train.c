/* train.c - mini-batch training: seeded shuffling, an optimizer step per
 * batch, step decay of the learning rate, validation with early stopping,
 * a per-epoch callback, and a report.  Everything is allocated once, before
 * the first batch. */
#include "internal.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

mlp2_train_config mlp2_train_defaults(void)
{
    return mlp2_train_defaults_for(MLP2_OPTIM_ADAM);
}

mlp2_train_config mlp2_train_defaults_for(mlp2_optim_kind kind)
{
    return (mlp2_train_config){
        .epochs = 100,
        .batch_size = 32,
        .shuffle = 1,
        .seed = 0,
        .optim = mlp2_optim_defaults(kind),
        .lr_step = 0,
        .lr_gamma = 1.0,
        .patience = 0,
        .min_delta = 0.0,
        .on_epoch = NULL,
        .user = NULL,
        .cancel = NULL,
        .threads = 0,
    };
}

/* Everything a run needs, made once. */
typedef struct {
    mlp2_workspace *ws; /* rows: max(batch, min(m_val, 1024)); ws->grad is the gradient */
    mlp2_optim *opt;
    double *block;      /* Xb | Yb | best, one allocation */
    double *Xb, *Yb;    /* batch x n_in, batch x n_out: the gathered rows (shuffle only) */
    double *best;       /* n_params: the best parameters seen (patience > 0 only) */
    size_t *perm;       /* m row indices (shuffle only) */
} run_mem;

static void run_free(run_mem *r)
{
    mlp2_workspace_free(r->ws);
    mlp2_optim_free(r->opt);
    mlp2__free(r->block);
    mlp2__free(r->perm);
}

/* The first invalid optimizer field of c, or NULL.  mlp2_optim_create's own
 * check stays the one rule: each field is tried alone in the kind's valid
 * defaults, so the name given is a field that is invalid by itself. */
static const char *optim_field(const mlp2_optim_config *c)
{
    if (mlp2__optim_check_config(c) == MLP2_OK)
        return NULL;
    const mlp2_optim_config d = mlp2_optim_defaults(c->kind);
    if (mlp2__optim_check_config(&d) != MLP2_OK)
        return "optim.kind";
    static const struct {
        const char *name;
        size_t offset;
    } fields[] = {
        {"optim.lr", offsetof(mlp2_optim_config, lr)},
        {"optim.weight_decay", offsetof(mlp2_optim_config, weight_decay)},
        {"optim.momentum", offsetof(mlp2_optim_config, momentum)},
        {"optim.beta1", offsetof(mlp2_optim_config, beta1)},
        {"optim.beta2", offsetof(mlp2_optim_config, beta2)},
        {"optim.eps", offsetof(mlp2_optim_config, eps)},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        mlp2_optim_config t = d;
        memcpy((char *)&t + fields[i].offset, (const char *)c + fields[i].offset, sizeof(double));
        if (mlp2__optim_check_config(&t) != MLP2_OK)
            return fields[i].name;
    }
    return "optim"; /* invalid only in combination (no such rule today) */
}

mlp2_status mlp2_train_config_check(const mlp2_train_config *c, const char **field)
{
    const char *bad = NULL;
    if (!c)
        bad = "cfg";
    else if (c->epochs == 0)
        bad = "epochs";
    else if (c->batch_size == 0)
        bad = "batch_size";
    else if (c->lr_step > 0 && !(c->lr_gamma > 0.0 && c->lr_gamma <= 1.0)) /* false for NaN */
        bad = "lr_gamma";
    else if (!(isfinite(c->min_delta) && c->min_delta >= 0.0))
        bad = "min_delta";
    else if (c->threads > MLP2_MAX_THREADS)
        bad = "threads";
    else
        bad = optim_field(&c->optim);
    if (field)
        *field = bad;
    return bad ? MLP2_FAIL(MLP2_EINVAL) : MLP2_OK;
}

/* rows x cols doubles, finite; ERANGE when rows*cols overflows */
static mlp2_status check_data(size_t rows, size_t cols, const double *A)
{
    size_t n;
    if (!mlp2__mul(rows, cols, &n))
        return MLP2_FAIL(MLP2_ERANGE);
    return mlp2__all_finite(n, A) ? MLP2_OK : MLP2_FAIL(MLP2_ENONFINITE);
}

/* The threads of a run of cfg->threads >= 1 (mlp2_train's, and each
 * rank's of mlp2_mpi_train over its own rows): 1 when the whole run is too
 * short to pay for making and joining the pool's threads (50-100 us on the
 * benchmark machine).  The run then keeps its shards and runs them on the
 * calling thread: the same bits, since every thread count gives them.
 * The work is counted as in shard.c, 50 + w multiply-add equivalents a
 * row, w = n_in n_hidden + n_hidden n_out, for every row of every epoch
 * (an upper bound: early stopping may end the run sooner); below 1e7,
 * about a millisecond, no thread is made.  Measured (mlp2-par-bench --ops
 * epoch, one epoch in batches of 1024 rows, pool made for every call):
 * 2-3-1 over 1024 rows took 87.5 ns a row on two threads against 6.6 on
 * one, over 4096 rows 24.7 against 6.4; 64-256-1 over 1024 rows (1.7e7)
 * was 1.70x faster on two. */
#define RUN_POOL_WORK 1e7
size_t mlp2__mpi_run_threads(const mlp2 *net, const mlp2_train_config *cfg, size_t m, size_t m_val)
{
    const double w = 50.0 + (double)net->n_in * (double)net->n_hidden + (double)net->n_hidden * (double)net->n_out;
    const double work = (double)cfg->epochs * ((double)m + (double)m_val) * w;
    return work >= RUN_POOL_WORK ? cfg->threads : 1;
}

static mlp2_status run_alloc(run_mem *r, const mlp2 *net, const mlp2_train_config *cfg, size_t m,
                             size_t batch, size_t m_val)
{
    mlp2_status st = mlp2_optim_create(&r->opt, net, &cfg->optim);
    if (st != MLP2_OK)
        return st;
    /* validation goes through the same workspace in chunks of its rows */
    const size_t val_rows = m_val < 1024 ? m_val : 1024;
    const size_t ws_rows = batch > val_rows ? batch : val_rows;
    /* threads >= 1: the batches are split among a pool made here, once */
    st = cfg->threads >= 1
             ? mlp2_workspace_create_mt(&r->ws, net, ws_rows, mlp2__mpi_run_threads(net, cfg, m, m_val))
             : mlp2_workspace_create(&r->ws, net, ws_rows);
    if (st != MLP2_OK)
        return st;
    size_t nx = 0, ny = 0, nb = 0, total;
    if (cfg->shuffle && (!mlp2__mul(batch, net->n_in, &nx) || !mlp2__mul(batch, net->n_out, &ny)))
        return MLP2_FAIL(MLP2_ERANGE);
    if (cfg->patience > 0)
        nb = net->n_params;
    if (!mlp2__add(nx, ny, &total) || !mlp2__add(total, nb, &total))
        return MLP2_FAIL(MLP2_ERANGE);
    if (total > 0) {
        r->block = mlp2__alloc_array(total, sizeof(double));
        if (!r->block)
            return MLP2_FAIL(MLP2_ENOMEM);
        r->Xb = r->block;
        r->Yb = r->block + nx;
        r->best = nb ? r->block + nx + ny : NULL;
    }
    if (cfg->shuffle) {
        r->perm = mlp2__alloc_array(m, sizeof(size_t));
        if (!r->perm)
            return MLP2_FAIL(MLP2_ENOMEM);
    }
    return MLP2_OK;
}

/* A fresh uniform permutation of 0..m-1 (Fisher-Yates, from the identity). */
static void shuffle(mlp2_rng *rng, size_t m, size_t *perm)
{
    for (size_t i = 0; i < m; i++)
        perm[i] = i;
    for (size_t i = m - 1; i > 0; i--) {
        const size_t j = (size_t)mlp2__rng_below(rng, (uint64_t)i + 1);
        const size_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

/* Rows idx[0..rows) of A (cols wide) into B, contiguous. */
static void gather(size_t rows, size_t cols, const size_t *idx, const double *A, double *B)
{
    for (size_t i = 0; i < rows; i++)
        memcpy(B + i * cols, A + idx[i] * cols, cols * sizeof(double));
}

/* What happened during one epoch's batches. */
typedef enum { EPOCH_DONE, EPOCH_CANCELLED, EPOCH_NONFINITE } epoch_end;

/* One pass over the data: a batch at a time, loss and gradient at the
 * current parameters, then one optimizer step.  *train_loss: the mean of the
 * batch losses weighted by batch rows. */
static epoch_end run_epoch(mlp2 *net, const mlp2_train_config *cfg, run_mem *r, mlp2_rng *rng,
                           size_t m, size_t batch, const double *X, const double *Y,
                           double *train_loss)
{
    const size_t ni = net->n_in, no = net->n_out;
    if (cfg->shuffle)
        shuffle(rng, m, r->perm);
    double sum = 0.0; /* sum over batches of loss * rows */
    for (size_t r0 = 0; r0 < m; r0 += batch) {
        const size_t rows = m - r0 < batch ? m - r0 : batch;
        const double *Xb = X + r0 * ni, *Yb = Y + r0 * no;
        if (cfg->shuffle) {
            gather(rows, ni, r->perm + r0, X, r->Xb);
            gather(rows, no, r->perm + r0, Y, r->Yb);
            Xb = r->Xb;
            Yb = r->Yb;
        }
        double L;
        /* L = 1/(2 rows) ||A2 - Yb||^2 and its gradient, at the current theta */
        /* the optimizer's step refuses a non-finite gradient: no separate check */
        if (mlp2__loss_grad_for_step(net, r->ws, rows, Xb, Yb, &L, r->ws->grad) != MLP2_OK ||
            mlp2__optim_step_ws(r->opt, net, r->ws->grad, r->ws) != MLP2_OK)
            return EPOCH_NONFINITE;
        sum += L * (double)rows;
        if (cfg->cancel && *cfg->cancel)
            return EPOCH_CANCELLED;
    }
    *train_loss = sum / (double)m;
    return isfinite(*train_loss) ? EPOCH_DONE : EPOCH_NONFINITE;
}

mlp2_status mlp2_train(mlp2 *net, const mlp2_train_config *cfg, size_t m, const double *X,
                       const double *Y, size_t m_val, const double *Xv, const double *Yv,
                       mlp2_train_report *report)
{
    /* arguments and configuration, then the data, then memory; the model is
     * not touched before all of them succeed */
    if (!net || !cfg || !X || !Y || m == 0 || (m_val == 0) != (Xv == NULL) ||
        (m_val == 0) != (Yv == NULL) || mlp2_train_config_check(cfg, NULL) != MLP2_OK)
        return MLP2_FAIL(MLP2_EINVAL);
    mlp2_status st;
    run_mem r = {0};
    const size_t batch = cfg->batch_size < m ? cfg->batch_size : m;
    if ((st = check_data(m, net->n_in, X)) != MLP2_OK ||
        (st = check_data(m, net->n_out, Y)) != MLP2_OK ||
        (m_val > 0 && ((st = check_data(m_val, net->n_in, Xv)) != MLP2_OK ||
                       (st = check_data(m_val, net->n_out, Yv)) != MLP2_OK)))
        return st;
    /* targets valid for the head (sizes checked above) */
    if ((st = mlp2__check_targets(net->head, m, net->n_out, Y)) != MLP2_OK ||
        (m_val > 0 && (st = mlp2__check_targets(net->head, m_val, net->n_out, Yv)) != MLP2_OK))
        return st;
    if ((st = run_alloc(&r, net, cfg, m, batch, m_val)) != MLP2_OK) {
        run_free(&r);
        return st;
    }

    mlp2_rng rng;
    mlp2__rng_seed(&rng, cfg->seed);
    const size_t n = net->n_params;
    mlp2_train_report rep = {
        .best_epoch = 0,
        .best_loss = NAN, /* epoch 0 (the initial parameters) is not measured */
        .final_train_loss = NAN,
        .final_val_loss = NAN,
        .reason = MLP2_STOP_EPOCHS,
    };
    if (r.best)
        memcpy(r.best, net->theta, n * sizeof(double));
    double best = INFINITY; /* the monitored loss to beat; the first epoch always does */
    double lr = cfg->optim.lr;
    size_t stale = 0; /* epochs since the last improvement */

    for (size_t epoch = 1; epoch <= cfg->epochs; epoch++) {
        double train_loss = NAN, val_loss = NAN;
        const epoch_end e = run_epoch(net, cfg, &r, &rng, m, batch, X, Y, &train_loss);
        if (e == EPOCH_CANCELLED) {
            rep.reason = MLP2_STOP_CANCELLED;
            break;
        }
        /* the validation loss at the epoch's final parameters */
        if (e == EPOCH_NONFINITE ||
            (m_val > 0 && mlp2__loss_grad(net, r.ws, m_val, Xv, Yv, &val_loss, NULL) != MLP2_OK)) {
            rep.reason = MLP2_STOP_NONFINITE;
            break;
        }
        rep.epochs_run = epoch;
        rep.final_train_loss = train_loss;
        rep.final_val_loss = val_loss;
        const double monitored = m_val > 0 ? val_loss : train_loss;
        if (monitored < best - cfg->min_delta) {
            best = monitored;
            stale = 0;
            if (r.best) {
                memcpy(r.best, net->theta, n * sizeof(double));
                rep.best_epoch = epoch;
                rep.best_loss = monitored;
            }
        } else {
            stale++;
        }
        if (!r.best) { /* no restore: the model holds this epoch's parameters */
            rep.best_epoch = epoch;
            rep.best_loss = monitored;
        }

        if (cfg->on_epoch && cfg->on_epoch(cfg->user, epoch, train_loss, val_loss)) {
            rep.reason = MLP2_STOP_CALLBACK;
            break;
        }
        if (cfg->patience > 0 && stale >= cfg->patience) {
            rep.reason = MLP2_STOP_EARLY;
            break;
        }
        /* step decay (torch's StepLR): lr *= gamma after every lr_step epochs;
         * an lr that would underflow to 0 is kept */
        if (cfg->lr_step > 0 && epoch % cfg->lr_step == 0 && lr * cfg->lr_gamma > 0.0) {
            lr *= cfg->lr_gamma;
            mlp2_optim_set_lr(r.opt, lr);
        }
    }

    if (r.best)
        memcpy(net->theta, r.best, n * sizeof(double));
    run_free(&r);
    if (report)
        *report = rep;
    return rep.reason == MLP2_STOP_NONFINITE ? MLP2_FAIL(MLP2_ENONFINITE) : MLP2_OK;
}
