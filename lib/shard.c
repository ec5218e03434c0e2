/* shard.c - a batch split into shards for the worker threads of a
 * multi-threaded workspace (mlp2_workspace_create_mt), with results that do
 * not depend on the number of threads.
 *
 * The rule, and why the bits cannot depend on the thread count:
 *  - Rows are worked through in chunks of max_batch, as on one thread.  A
 *    chunk of `rows` rows is cut into S = mlp2__shard_count(net, rows)
 *    shards of nearly equal size (shard s holds rows [s rows/S, (s+1) rows/S)).
 *    S depends on the shape and on rows only, never on the thread count.
 *  - Each shard runs the single-thread pass of pass.c on its rows (the same
 *    code, the same 1/m scaling of the whole batch) into its own gradient:
 *    shard 0 into the caller's gradient (beta 0 for the first chunk, 1
 *    after), shard s > 0 into partial buffer s-1 (beta 0).
 *  - The shard gradients are then added in one fixed pairwise tree over
 *    s = 0..S-1 (stride 1, 2, 4, ...: g0 += g1, g2 += g3, ..., then g0 += g2,
 *    ...), the chunk's sums of squares in the same tree, and the chunks in
 *    their order.  The tree is run slice by slice of the parameter vector;
 *    the slices are independent and each runs the whole tree, so which
 *    thread adds a slice changes nothing.
 *  - Which thread runs a shard only decides whose scratch (A1, D1, A2) it
 *    uses.  While shards run, OpenBLAS is held at one thread (see blas.c),
 *    for every thread count including one, so every shard calls the same
 *    single-threaded BLAS code.  A chunk of one shard runs on the calling
 *    thread with BLAS as the process set it (mlp2_set_blas_threads):
 *    that is the rule between data-parallel workers and OpenBLAS's threads.
 */
#include "internal.h"

/* Shards per chunk, at most.  With 16 shards a 16-core machine stays busy
 * on one chunk; the price is up to 15 partial gradients in the workspace. */
#define MLP2_MAX_SHARDS 16
/* Parameters per slice of the reduction: a slice of 16 leaves, 4096
 * doubles each, is 512 KiB and stays in L2. */
#define REDUCE_SLICE 4096

struct mlp2_shards {
    mlp2_pool *pool;
    size_t n_made;       /* threads in the pool: min(n_threads, shards of a max_batch chunk) */
    mlp2_workspace *sub; /* n_made scratch views: sub[0] is the workspace's own */
    size_t n_partial;    /* partial gradients: mlp2__shard_count(net, max_batch) - 1 */
    double *partial;     /* n_partial x n_params */
    double *block;       /* scratch of threads 1.. and the partials, one allocation */
};

/*
 * Rows per shard, from the shape only.  A shard costs a fixed overhead --
 * handing it to a worker and checking it out (one round trip between two
 * cores, about 0.4 us when the worker spins: pool.c) and one more pass of
 * the reduction over the n_params gradient (memory-bound: about 10
 * multiply-adds' time per parameter) -- and a shard of r rows computes
 * r (50 + w) multiply-add equivalents, w = n_in n_hidden + n_hidden n_out
 * (the 50 is the per-row work outside the products: sigmoid, residual).
 * A shard gets enough rows for the overhead to stay near 1/16 of its work:
 *     r = 16 (1500 + 10 n_params) / (50 + w),   at least 64.
 * For 784-512-10 that is 160 rows, for 64-256-1 163, for 10-32-1 212, for
 * 2-3-1 442.  The constants were measured with mlp2-par-bench on the
 * benchmark machine (docs/SCALING.md).  The fixed term was 20000 while a
 * hand-over cost 0.6 us and the caller checked predict's outputs after the
 * workers had written them (shard.c, predict_task): 2-3-1 then needed
 * 5459-row shards, and batches of 1024 and 4096 rows ran on one thread.
 * At least 64 rows: batches of m <= 127 rows are one shard, on the
 * calling thread, so small batches never pay for threads.
 */
static size_t shard_rows(const mlp2 *net)
{
    const double w = (double)net->n_in * (double)net->n_hidden + (double)net->n_hidden * (double)net->n_out;
    const double r = 16.0 * (1500.0 + 10.0 * (double)net->n_params) / (50.0 + w);
    if (!(r < 1e15)) /* huge and NaN-free: a shard of the whole chunk */
        return SIZE_MAX;
    return r < (double)MLP2_SHARD_MIN_ROWS ? MLP2_SHARD_MIN_ROWS : (size_t)r;
}

/* As many shards as rows / shard_rows allows, at most MLP2_MAX_SHARDS,
 * rounded down to a power of two: the shards are equal (to a row), so 2,
 * 4, 8 and 16 threads get equal shares of them.  (5 shards, as 64-256-1 at
 * m = 1024 had before, left one of 2 threads 3 shards, the other 2: step
 * 1.37-1.38x faster with 2 threads than with 1.) */
size_t mlp2__shard_count(const mlp2 *net, size_t rows)
{
    const size_t s = rows / shard_rows(net);
    size_t p = 1;
    while (p < MLP2_MAX_SHARDS && 2 * p <= s)
        p *= 2;
    return p;
}

mlp2_status mlp2__shards_create(mlp2_shards **out, mlp2_workspace *ws, const mlp2 *net,
                                size_t n_threads)
{
    const size_t mb = ws->max_batch, np = net->n_params;
    const size_t n_partial = mlp2__shard_count(net, mb) - 1;
    /* No chunk has more shards than a max_batch one, so threads beyond
     * that would never get work: the pool holds at most that many, and a
     * workspace whose chunks are all one shard makes no thread at all
     * (mlp2_train with threads >= 1 on small batches then costs no more
     * than on one thread: creating and joining a thread takes tens of
     * microseconds, more than a whole small epoch). */
    const size_t n_made = n_threads < n_partial + 1 ? n_threads : n_partial + 1;
    /* per extra thread: A1 | D1 (max_batch x n_hidden each) | A2 (max_batch x n_out) */
    size_t nh, no, per, scratch, parts, total, subs;
    if (!mlp2__mul(mb, net->n_hidden, &nh) || !mlp2__mul(mb, net->n_out, &no) ||
        !mlp2__add(nh, nh, &per) || !mlp2__add(per, no, &per) ||
        !mlp2__mul(per, n_made - 1, &scratch) || !mlp2__mul(n_partial, np, &parts) ||
        !mlp2__add(scratch, parts, &total) || total > SIZE_MAX / sizeof(double) ||
        !mlp2__mul(n_made, sizeof(mlp2_workspace), &subs) ||
        !mlp2__add(subs, sizeof(mlp2_shards), &subs))
        return MLP2_FAIL(MLP2_ERANGE);
    mlp2_shards *sh = mlp2__alloc(subs);
    if (!sh)
        return MLP2_FAIL(MLP2_ENOMEM);
    *sh = (mlp2_shards){.n_made = n_made, .n_partial = n_partial,
                        .sub = (mlp2_workspace *)(void *)(sh + 1)};
    if (total > 0 && !(sh->block = mlp2__alloc_array(total, sizeof(double)))) {
        mlp2__free(sh);
        return MLP2_FAIL(MLP2_ENOMEM);
    }
    for (size_t t = 0; t < n_made; t++) {
        mlp2_workspace *s = &sh->sub[t];
        *s = *ws; /* shape, max_batch and the shared (read-only) ones vector */
        s->grad = NULL;
        s->mt = NULL;
        if (t > 0) {
            double *b = sh->block + (t - 1) * per;
            s->A1 = b;
            s->D1 = b + nh;
            s->A2 = b + 2 * nh;
        }
    }
    sh->partial = n_partial ? sh->block + scratch : NULL;
    /* the threads last: a failure above has none to join (and no pool at
     * all for one thread: mlp2__pool_run then runs the tasks in turn) */
    mlp2_status st = n_made > 1 ? mlp2__pool_create(&sh->pool, n_made) : MLP2_OK;
    if (st != MLP2_OK) {
        mlp2__free(sh->block);
        mlp2__free(sh);
        return st;
    }
    *out = sh;
    return MLP2_OK;
}

void mlp2__shards_free(mlp2_shards *sh)
{
    if (!sh)
        return;
    mlp2__pool_free(sh->pool); /* joins the workers */
    mlp2__free(sh->block);
    mlp2__free(sh);
}

/* ---- loss and gradient -------------------------------------------------- */

typedef struct {
    const mlp2 *net;
    mlp2_shards *sh;
    size_t rows, S;       /* the chunk's rows and shards */
    const double *X, *Y;  /* the chunk's first row */
    double *A2;           /* predict: the chunk's first output row */
    bool check;           /* each shard checks its rows of X and Y, block by block */
    double inv_m, beta;   /* 1/m of the whole batch; beta of shard 0's gradient */
    double *grad;         /* leaf 0 of the tree (NULL: loss only) */
    mlp2_path path;
    double sse[MLP2_MAX_SHARDS];
    bool finite[MLP2_MAX_SHARDS]; /* predict: shard s's outputs are finite */
} chunk_job;

/* a[i] += b[i] */
static void add_into(size_t n, double *restrict a, const double *restrict b)
{
    for (size_t i = 0; i < n; i++)
        a[i] += b[i];
}

/* Leaf s of the tree: the caller's gradient for s == 0, else a partial. */
static double *leaf(const chunk_job *j, size_t s)
{
    return s == 0 ? j->grad : j->sh->partial + (s - 1) * j->net->n_params;
}

static void grad_task(void *arg, size_t s, size_t thread)
{
    chunk_job *j = arg;
    const size_t a = mlp2__part_start(j->rows, j->S, s), b = mlp2__part_start(j->rows, j->S, s + 1);
    const size_t ni = j->net->n_in, no = j->net->n_out;
    /* with check, NaN for a non-finite value in the shard's rows: the loss
     * is NaN and the step is refused */
    j->sse[s] = mlp2__chunk_sse_grad(j->net, &j->sh->sub[thread], b - a, j->X + a * ni, j->Y + a * no,
                                     j->inv_m, s == 0 ? j->beta : 0.0, j->grad ? leaf(j, s) : NULL,
                                     j->path, j->check);
}

/* g0 += g1, g2 += g3, ...; then g0 += g2, ...: the fixed pairwise tree over
 * the S leaves, on parameters [p0, p1) */
static void reduce_task(void *arg, size_t slice, size_t thread)
{
    (void)thread;
    const chunk_job *j = arg;
    const size_t np = j->net->n_params, p0 = slice * REDUCE_SLICE;
    const size_t n = np - p0 < REDUCE_SLICE ? np - p0 : REDUCE_SLICE;
    for (size_t stride = 1; stride < j->S; stride *= 2)
        for (size_t i = 0; i + stride < j->S; i += 2 * stride)
            add_into(n, leaf(j, i) + p0, leaf(j, i + stride) + p0);
}

/* The same tree over the shards' sums of squares. */
static double tree_sum(double *v, size_t S)
{
    for (size_t stride = 1; stride < S; stride *= 2)
        for (size_t i = 0; i + stride < S; i += 2 * stride)
            v[i] += v[i + stride];
    return v[0];
}

double mlp2__sharded_sse_grad(const mlp2 *net, mlp2_workspace *ws, size_t m, const double *X,
                              const double *Y, double inv_m, double *grad, mlp2_path path, bool check)
{
    mlp2_shards *sh = ws->mt;
    const size_t ni = net->n_in, no = net->n_out, mb = ws->max_batch, np = net->n_params;
    double sse = 0.0;
    for (size_t r0 = 0; r0 < m; r0 += mb) {
        const size_t rows = m - r0 < mb ? m - r0 : mb;
        chunk_job j = {.net = net, .sh = sh, .rows = rows, .S = mlp2__shard_count(net, rows),
                       .X = X + r0 * ni, .Y = Y + r0 * no, .inv_m = inv_m,
                       .beta = r0 == 0 ? 0.0 : 1.0, .grad = grad, .path = path, .check = check};
        if (j.S == 1) {
            /* one shard: the calling thread, BLAS as the process set it */
            sse += mlp2__chunk_sse_grad(net, &sh->sub[0], rows, j.X, j.Y, inv_m, j.beta, grad, path, check);
            continue;
        }
        mlp2__blas_single_begin();
        mlp2__pool_run(sh->pool, j.S, grad_task, &j);
        const double chunk_sse = tree_sum(j.sse, j.S);
        /* (a shard that found a non-finite input stopped part-way: its leaf
         * holds no meaningful gradient, nothing to add) */
        if (grad && !(check && isnan(chunk_sse)))
            mlp2__pool_run(sh->pool, (np + REDUCE_SLICE - 1) / REDUCE_SLICE, reduce_task, &j);
        mlp2__blas_single_end();
        sse += chunk_sse;
    }
    return sse;
}

/* ---- predictions -------------------------------------------------------- */

/* The outputs are checked by the thread that wrote them, while they are in
 * its cache: a check on the calling thread afterwards pulled every
 * worker's output lines across (2-3-1, 4096 rows: the worker's shards ran
 * 20% slower than the caller's, the next call's stores waiting for lines
 * the check had left shared). */
static void predict_task(void *arg, size_t s, size_t thread)
{
    chunk_job *j = arg;
    const size_t a = mlp2__part_start(j->rows, j->S, s), b = mlp2__part_start(j->rows, j->S, s + 1);
    const size_t no = j->net->n_out;
    double *out = j->A2 + a * no;
    mlp2__chunk_predict(j->net, &j->sh->sub[thread], b - a, j->X + a * j->net->n_in, out, j->path);
    j->finite[s] = mlp2__all_finite((b - a) * no, out);
}

bool mlp2__sharded_predict(const mlp2 *net, mlp2_workspace *ws, size_t m, const double *X,
                           double *A2, mlp2_path path)
{
    mlp2_shards *sh = ws->mt;
    const size_t ni = net->n_in, no = net->n_out, mb = ws->max_batch;
    bool finite = true;
    for (size_t r0 = 0; r0 < m; r0 += mb) {
        const size_t rows = m - r0 < mb ? m - r0 : mb;
        chunk_job j = {.net = net, .sh = sh, .rows = rows, .S = mlp2__shard_count(net, rows),
                       .X = X + r0 * ni, .A2 = A2 + r0 * no, .path = path};
        if (j.S == 1) {
            mlp2__chunk_predict(net, &sh->sub[0], rows, j.X, j.A2, path);
            finite = mlp2__all_finite(rows * no, j.A2) && finite;
            continue;
        }
        mlp2__blas_single_begin();
        mlp2__pool_run(sh->pool, j.S, predict_task, &j);
        mlp2__blas_single_end();
        for (size_t s = 0; s < j.S; s++)
            finite = j.finite[s] && finite;
    }
    return finite;
}

/* ---- element-wise passes over the parameters ---------------------------- */

typedef struct {
    mlp2_range_fn fn;
    void *arg;
    size_t n;
} range_job;

static void range_task(void *arg, size_t t, size_t thread)
{
    (void)thread;
    const range_job *j = arg;
    const size_t lo = t * REDUCE_SLICE, hi = j->n - lo < REDUCE_SLICE ? j->n : lo + REDUCE_SLICE;
    j->fn(j->arg, lo, hi);
}

void mlp2__ws_for(mlp2_workspace *ws, size_t n, mlp2_range_fn fn, void *arg)
{
    mlp2_shards *sh = ws ? ws->mt : NULL;
    if (!sh || !sh->pool || n < 2 * REDUCE_SLICE) {
        fn(arg, 0, n);
        return;
    }
    range_job j = {.fn = fn, .arg = arg, .n = n};
    mlp2__pool_run(sh->pool, (n + REDUCE_SLICE - 1) / REDUCE_SLICE, range_task, &j);
}
