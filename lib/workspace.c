/* workspace.c - scratch for batches of up to max_batch rows, made once. */
#include "internal.h"

mlp2_status mlp2_workspace_create(mlp2_workspace **out, const mlp2 *net, size_t max_batch)
{
    if (!out || !net || max_batch == 0)
        return MLP2_FAIL(MLP2_EINVAL);
    /* every BLAS dimension and leading dimension must fit in int */
    size_t nh, no, total;
    if (!mlp2__fits_int(max_batch) || !mlp2__mul(max_batch, net->n_hidden, &nh) ||
        !mlp2__mul(max_batch, net->n_out, &no) || !mlp2__add(nh, nh, &total) ||
        !mlp2__add(total, no, &total) || !mlp2__add(total, max_batch, &total) ||
        !mlp2__add(total, net->n_params, &total) || total > SIZE_MAX / sizeof(double))
        return MLP2_FAIL(MLP2_ERANGE);

    mlp2_workspace *ws = mlp2__alloc(sizeof *ws);
    if (!ws)
        return MLP2_FAIL(MLP2_ENOMEM);
    /* one block: A1 | D1 | A2 | ones | grad */
    double *block = mlp2__alloc_array(total, sizeof(double));
    if (!block) {
        mlp2__free(ws);
        return MLP2_FAIL(MLP2_ENOMEM);
    }
    *ws = (mlp2_workspace){
        .n_in = net->n_in,
        .n_hidden = net->n_hidden,
        .n_out = net->n_out,
        .n_params = net->n_params,
        .max_batch = max_batch,
        .A1 = block,
        .D1 = block + nh,
        .A2 = block + 2 * nh,
        .ones = block + 2 * nh + no,
        .grad = block + 2 * nh + no + max_batch,
        .threads = 1,
        .mt = NULL,
    };
    for (size_t i = 0; i < max_batch; i++)
        ws->ones[i] = 1.0;
    *out = ws;
    return MLP2_OK;
}

mlp2_status mlp2_workspace_create_mt(mlp2_workspace **out, const mlp2 *net, size_t max_batch,
                                     size_t n_threads)
{
    if (!out || !net || max_batch == 0 || n_threads == 0 || n_threads > MLP2_MAX_THREADS)
        return MLP2_FAIL(MLP2_EINVAL);
    mlp2_workspace *ws;
    mlp2_status st = mlp2_workspace_create(&ws, net, max_batch);
    if (st != MLP2_OK)
        return st;
    ws->threads = n_threads;
    /* When every chunk is one shard (a max_batch chunk is), the sharded
     * path would compute on the calling thread exactly what the plain one
     * does: no shards, no threads, nothing to make. */
    if (mlp2__shard_count(net, max_batch) == 1) {
        *out = ws;
        return MLP2_OK;
    }
    /* the threads and their scratch (shard.c): even one thread takes the
     * sharded path, so that 1 and N threads give the same bits */
    if ((st = mlp2__shards_create(&ws->mt, ws, net, n_threads)) != MLP2_OK) {
        mlp2_workspace_free(ws);
        return st;
    }
    *out = ws;
    return MLP2_OK;
}

size_t mlp2_workspace_threads(const mlp2_workspace *ws)
{
    return ws ? ws->threads : 0;
}

void mlp2_workspace_free(mlp2_workspace *ws)
{
    if (!ws)
        return;
    mlp2__shards_free(ws->mt); /* joins the threads first */
    mlp2__free(ws->A1); /* the start of the block */
    mlp2__free(ws);
}

size_t mlp2_workspace_max_batch(const mlp2_workspace *ws)
{
    return ws ? ws->max_batch : 0;
}

mlp2_status mlp2__ws_check(const mlp2_workspace *ws, const mlp2 *net)
{
    return mlp2__ws_fits(ws, net) ? MLP2_OK : MLP2_FAIL(MLP2_EINVAL);
}
