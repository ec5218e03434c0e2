/* test_par.c - multi-threaded workspaces (mlp2_workspace_create_mt): the
 * same bits for 1, 2, 3, 4 and 8 threads, agreement with the one-thread
 * workspace up to rounding, and no thread left behind by a failed create.
 *
 * White-box only to check that the sizes used really cut each chunk into
 * several shards (mlp2__shard_count): otherwise the bit-identity below would
 * hold trivially.
 *
 * scripts/test.sh runs this test under ThreadSanitizer too (stage tsan):
 * the pool's hand-over of jobs and the workers' writes to their own shards
 * are then checked for races.
 */
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "countalloc.h"
#include "threadcount.h"
#include "internal.h"
#include "testutil.h"

static const size_t thread_counts[] = {1, 2, 3, 4, 8};
#define N_COUNTS (sizeof thread_counts / sizeof thread_counts[0])

/* A data set for a shape, with values that are not round. */
typedef struct {
    size_t ni, nh, no, m, mb; /* shape, rows, max_batch */
    mlp2 *net;
    double *X, *Y;
} problem;

static void problem_make(problem *p, size_t ni, size_t nh, size_t no, size_t m, size_t mb, uint64_t seed)
{
    *p = (problem){.ni = ni, .nh = nh, .no = no, .m = m, .mb = mb};
    assert_int_equal(mlp2_create(&p->net, ni, nh, no, seed), MLP2_OK);
    p->X = malloc(m * ni * sizeof(double));
    p->Y = malloc(m * no * sizeof(double));
    assert_non_null(p->X);
    assert_non_null(p->Y);
    tu_rng r = tu_seed(seed + 7);
    tu_fill(&r, p->X, m * ni, -1.3, 1.7);
    tu_fill(&r, p->Y, m * no, -0.9, 1.1);
    /* the chunks of this problem must have several shards each */
    const size_t last = m % mb ? m % mb : mb;
    assert_true(mlp2__shard_count(p->net, mb) >= 2);
    assert_true(mlp2__shard_count(p->net, last) >= 2);
}

static void problem_free(problem *p)
{
    mlp2_free(p->net);
    free(p->X);
    free(p->Y);
}

/* BLAS path: chunks of 1200 rows and 800, 4 shards each */
static void blas_problem(problem *p) { problem_make(p, 64, 40, 3, 2000, 1200, 11); }
/* the BLAS path's fused tail (one output, sigmoid, linear: kernels.c's
 * mlp2__sigmoid_linear1_tail): chunks of 1400 rows, 4 shards each */
static void fused_problem(problem *p) { problem_make(p, 20, 30, 1, 4200, 1400, 14); }
/* small path: chunks of 20000 rows and 16000, several shards each */
static void small_problem(problem *p) { problem_make(p, 2, 3, 1, 36000, 20000, 12); }
/* the small path's tiled kernels (two outputs: not the lane kernel) */
static void small_tiled_problem(problem *p) { problem_make(p, 2, 3, 2, 36000, 20000, 15); }

static void check_loss_grad_predict(problem *p)
{
    const size_t np = mlp2_n_params(p->net), ny = p->m * p->no;
    double *g = malloc(np * sizeof(double)), *g1 = malloc(np * sizeof(double));
    double *P = malloc(ny * sizeof(double)), *P1 = malloc(ny * sizeof(double));
    double L = 0, L1 = 0;
    for (size_t c = 0; c < N_COUNTS; c++) {
        mlp2_workspace *ws;
        assert_int_equal(mlp2_workspace_create_mt(&ws, p->net, p->mb, thread_counts[c]), MLP2_OK);
        assert_int_equal(mlp2_workspace_threads(ws), thread_counts[c]);
        double *gg = c ? g : g1, *PP = c ? P : P1, *LL = c ? &L : &L1;
        for (int rep = 0; rep < 3; rep++) { /* the pool is reused: same bits each time */
            assert_int_equal(mlp2_loss_grad(p->net, ws, p->m, p->X, p->Y, LL, gg), MLP2_OK);
            assert_int_equal(mlp2_predict(p->net, ws, p->m, p->X, PP), MLP2_OK);
            if (c == 0)
                continue;
            assert_memory_equal(&L, &L1, sizeof L);
            assert_memory_equal(g, g1, np * sizeof(double));
            assert_memory_equal(P, P1, ny * sizeof(double));
        }
        mlp2_workspace_free(ws);
    }
    /* against the one-thread workspace (another summation order): equal up
     * to rounding, and the gradient is not trivially zero */
    mlp2_workspace *ws;
    assert_int_equal(mlp2_workspace_create(&ws, p->net, p->mb), MLP2_OK);
    assert_int_equal(mlp2_loss_grad(p->net, ws, p->m, p->X, p->Y, &L, g), MLP2_OK);
    assert_int_equal(mlp2_predict(p->net, ws, p->m, p->X, P), MLP2_OK);
    mlp2_workspace_free(ws);
    tu_assert_close(&L1, &L, 1, 1e-13, 0.0);
    tu_assert_close(g1, g, np, 1e-10, 1e-15);
    tu_assert_close(P1, P, ny, 1e-13, 1e-15);
    double gmax = 0.0;
    for (size_t i = 0; i < np; i++)
        gmax = fmax(gmax, fabs(g1[i]));
    assert_true(gmax > 1e-3);
    free(g);
    free(g1);
    free(P);
    free(P1);
}

static void test_loss_grad_predict_blas(void **state)
{
    (void)state;
    problem p;
    blas_problem(&p);
    check_loss_grad_predict(&p);
    problem_free(&p);
}

static void test_loss_grad_predict_fused(void **state)
{
    (void)state;
    problem p;
    fused_problem(&p);
    check_loss_grad_predict(&p);
    problem_free(&p);
}

static void test_loss_grad_predict_small(void **state)
{
    (void)state;
    problem p;
    small_problem(&p);
    check_loss_grad_predict(&p);
    problem_free(&p);
}

/* 20 steps of SGD (mlp2_sgd_step) or Adam (mlp2_loss_grad + mlp2_optim_step)
 * from the same start; theta after them into out. */
static void steps(problem *p, size_t threads, bool adam, double *out)
{
    const size_t np = mlp2_n_params(p->net);
    mlp2 *net;
    mlp2_workspace *ws;
    mlp2_optim *opt;
    double *g = malloc(np * sizeof(double)), loss;
    assert_int_equal(mlp2_clone(&net, p->net), MLP2_OK);
    assert_int_equal(mlp2_workspace_create_mt(&ws, net, p->mb, threads), MLP2_OK);
    mlp2_optim_config oc = mlp2_optim_defaults(MLP2_OPTIM_ADAM);
    oc.lr = 0.01;
    assert_int_equal(mlp2_optim_create(&opt, net, &oc), MLP2_OK);
    for (int k = 0; k < 20; k++) {
        if (adam) {
            assert_int_equal(mlp2_loss_grad(net, ws, p->m, p->X, p->Y, &loss, g), MLP2_OK);
            assert_int_equal(mlp2_optim_step(opt, net, g), MLP2_OK);
        } else {
            assert_int_equal(mlp2_sgd_step(net, ws, p->m, p->X, p->Y, 0.05, &loss), MLP2_OK);
        }
    }
    assert_int_equal(mlp2_get_params(net, out), MLP2_OK);
    mlp2_optim_free(opt);
    mlp2_workspace_free(ws);
    mlp2_free(net);
    free(g);
}

static void test_steps(void **state)
{
    (void)state;
    problem p;
    blas_problem(&p);
    const size_t np = mlp2_n_params(p.net);
    double *ref = malloc(np * sizeof(double)), *th = malloc(np * sizeof(double));
    double *start = malloc(np * sizeof(double));
    assert_int_equal(mlp2_get_params(p.net, start), MLP2_OK);
    for (int adam = 0; adam <= 1; adam++) {
        steps(&p, 1, adam, ref);
        /* the steps moved the parameters */
        double moved = 0.0;
        for (size_t i = 0; i < np; i++)
            moved = fmax(moved, fabs(ref[i] - start[i]));
        assert_true(moved > 1e-3);
        for (size_t c = 1; c < N_COUNTS; c++) {
            steps(&p, thread_counts[c], adam, th);
            assert_memory_equal(th, ref, np * sizeof(double));
        }
    }
    free(ref);
    free(th);
    free(start);
    problem_free(&p);
}

/* mlp2_sgd_step on one chunk of a large shape, where a one-thread
 * workspace folds the update into the backward products (pass.c's
 * blas_step): a multi-threaded workspace shards it instead, with the same
 * bits for every thread count. */
static void test_sgd_one_chunk(void **state)
{
    (void)state;
    problem p;
    problem_make(&p, 200, 200, 200, 340, 340, 13);
    /* the one-pass step's condition holds at this size */
    assert_true(p.m * (p.ni + p.nh + p.no) <= 3 * mlp2_n_params(p.net));
    const size_t np = mlp2_n_params(p.net);
    double *ref = malloc(np * sizeof(double)), *th = malloc(np * sizeof(double));
    for (size_t c = 0; c < N_COUNTS; c++) {
        mlp2 *net;
        mlp2_workspace *ws;
        assert_int_equal(mlp2_clone(&net, p.net), MLP2_OK);
        assert_int_equal(mlp2_workspace_create_mt(&ws, net, p.mb, thread_counts[c]), MLP2_OK);
        for (int k = 0; k < 5; k++)
            assert_int_equal(mlp2_sgd_step(net, ws, p.m, p.X, p.Y, 0.05, NULL), MLP2_OK);
        assert_int_equal(mlp2_get_params(net, c ? th : ref), MLP2_OK);
        if (c)
            assert_memory_equal(th, ref, np * sizeof(double));
        mlp2_workspace_free(ws);
        mlp2_free(net);
    }
    /* and it agrees with the one-thread workspace's folded step */
    mlp2 *net;
    mlp2_workspace *ws;
    assert_int_equal(mlp2_clone(&net, p.net), MLP2_OK);
    assert_int_equal(mlp2_workspace_create(&ws, net, p.mb), MLP2_OK);
    for (int k = 0; k < 5; k++)
        assert_int_equal(mlp2_sgd_step(net, ws, p.m, p.X, p.Y, 0.05, NULL), MLP2_OK);
    assert_int_equal(mlp2_get_params(net, th), MLP2_OK);
    tu_assert_close(th, ref, np, 1e-9, 1e-12);
    mlp2_workspace_free(ws);
    mlp2_free(net);
    free(ref);
    free(th);
    problem_free(&p);
}

/* A whole mlp2_train with validation and early stopping. */
static void train(problem *p, size_t threads, double *theta, mlp2_train_report *rep)
{
    mlp2 *net;
    assert_int_equal(mlp2_clone(&net, p->net), MLP2_OK);
    mlp2_train_config cfg = mlp2_train_defaults();
    cfg.epochs = 60;
    cfg.batch_size = 700; /* 4 shards a batch; the last batch of 100 rows: 1 */
    cfg.optim.lr = 0.02;
    cfg.patience = 3;
    cfg.threads = threads;
    /* rows 0..1499 train, 1500..1999 validate (one chunk of 500 rows, 2 shards) */
    const size_t mt = 1500, mv = p->m - mt;
    assert_int_equal(mlp2_train(net, &cfg, mt, p->X, p->Y, mv, p->X + mt * p->ni, p->Y + mt * p->no, rep),
                     MLP2_OK);
    assert_int_equal(mlp2_get_params(net, theta), MLP2_OK);
    mlp2_free(net);
}

static void test_train(void **state)
{
    (void)state;
    problem p;
    blas_problem(&p);
    assert_true(mlp2__shard_count(p.net, 700) >= 2);
    const size_t np = mlp2_n_params(p.net);
    double *ref = malloc(np * sizeof(double)), *th = malloc(np * sizeof(double));
    mlp2_train_report r0, r;
    train(&p, 1, ref, &r0);
    assert_int_equal(r0.reason, MLP2_STOP_EARLY); /* the early stop is exercised */
    assert_true(r0.best_epoch >= 2);
    for (size_t c = 1; c < N_COUNTS; c++) {
        train(&p, thread_counts[c], th, &r);
        assert_memory_equal(th, ref, np * sizeof(double));
        /* field by field: the struct has padding */
        assert_int_equal(r.epochs_run, r0.epochs_run);
        assert_int_equal(r.best_epoch, r0.best_epoch);
        assert_int_equal(r.reason, r0.reason);
        assert_memory_equal(&r.best_loss, &r0.best_loss, sizeof(double));
        assert_memory_equal(&r.final_train_loss, &r0.final_train_loss, sizeof(double));
        assert_memory_equal(&r.final_val_loss, &r0.final_val_loss, sizeof(double));
    }
    free(ref);
    free(th);
    problem_free(&p);
}

static void test_bad_args(void **state)
{
    (void)state;
    mlp2 *net;
    mlp2_workspace *ws = (mlp2_workspace *)(void *)&ws;
    mlp2_workspace *const sentinel = ws;
    assert_int_equal(mlp2_create(&net, 3, 4, 2, 1), MLP2_OK);
    assert_int_equal(mlp2_workspace_create_mt(&ws, net, 8, 0), MLP2_EINVAL);
    assert_int_equal(mlp2_workspace_create_mt(&ws, net, 8, MLP2_MAX_THREADS + 1), MLP2_EINVAL);
    assert_int_equal(mlp2_workspace_create_mt(&ws, net, 0, 2), MLP2_EINVAL);
    assert_int_equal(mlp2_workspace_create_mt(&ws, NULL, 8, 2), MLP2_EINVAL);
    assert_int_equal(mlp2_workspace_create_mt(NULL, net, 8, 2), MLP2_EINVAL);
    assert_ptr_equal(ws, sentinel);
    assert_int_equal(mlp2_workspace_threads(NULL), 0);
    mlp2_train_config cfg = mlp2_train_defaults();
    cfg.threads = MLP2_MAX_THREADS + 1;
    double X[6] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6}, Y[4] = {0.1, 0.2, 0.3, 0.4};
    assert_int_equal(mlp2_train(net, &cfg, 2, X, Y, 0, NULL, NULL, NULL), MLP2_EINVAL);
    mlp2_free(net);
}

/* Two caller threads, each with its own 2-thread workspace, at the same
 * time on one const model: both get the reference bits (the pools are
 * independent; the hold on OpenBLAS's thread count is shared). */
typedef struct {
    const problem *p;
    const double *ref_g;
    double ref_L;
    int bad;
} caller_arg;

static void *caller(void *arg)
{
    caller_arg *a = arg;
    const size_t np = mlp2_n_params(a->p->net);
    double *g = malloc(np * sizeof(double)), L;
    mlp2_workspace *ws;
    if (!g || mlp2_workspace_create_mt(&ws, a->p->net, a->p->mb, 2) != MLP2_OK) {
        a->bad++;
        free(g);
        return NULL;
    }
    for (int r = 0; r < 4; r++) {
        a->bad += mlp2_loss_grad(a->p->net, ws, a->p->m, a->p->X, a->p->Y, &L, g) != MLP2_OK;
        a->bad += memcmp(g, a->ref_g, np * sizeof(double)) != 0 || memcmp(&L, &a->ref_L, sizeof L) != 0;
    }
    mlp2_workspace_free(ws);
    free(g);
    return NULL;
}

static void test_two_callers(void **state)
{
    (void)state;
    problem p;
    blas_problem(&p);
    const size_t np = mlp2_n_params(p.net);
    double *ref = malloc(np * sizeof(double)), L;
    mlp2_workspace *ws;
    assert_int_equal(mlp2_workspace_create_mt(&ws, p.net, p.mb, 1), MLP2_OK);
    assert_int_equal(mlp2_loss_grad(p.net, ws, p.m, p.X, p.Y, &L, ref), MLP2_OK);
    mlp2_workspace_free(ws);
    /* OpenBLAS at 2 threads: the workspaces must hold it at 1 while their
     * shards run, and put 2 back */
    const int blas_before = mlp2_blas_threads();
    assert_int_equal(mlp2_set_blas_threads(2), MLP2_OK);
    const int blas0 = mlp2_blas_threads();
    caller_arg a[2] = {{&p, ref, L, 0}, {&p, ref, L, 0}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, caller, &a[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(a[0].bad, 0);
    assert_int_equal(a[1].bad, 0);
    /* the hold on OpenBLAS's thread count is released, the count restored */
    assert_int_equal(mlp2_blas_threads(), blas0);
    mlp2_set_blas_threads(blas_before);
    free(ref);
    problem_free(&p);
}

static void sleep_10ms(void)
{
    nanosleep(&(struct timespec){.tv_nsec = 10000000}, NULL);
}

/* thread_count() once it equals want, or its last value after about 2 s.
 * A joined thread can stay listed in /proc/self/task for a moment after
 * pthread_join returns (the kernel wakes the joiner before it reaps the
 * thread), so a count taken at once may be one too high: polling, the
 * count only moves towards the truth. */
static int threads_now(int want)
{
    int n = thread_count();
    for (int i = 0; i < 200 && n != want && n >= 0; i++) {
        sleep_10ms();
        n = thread_count();
    }
    return n;
}

/* The threads of the process before a test, none of an earlier test's
 * joined threads among them: the least of counts taken 10 ms apart. */
static int threads_before(void)
{
    int n = thread_count();
    for (int i = 0; i < 10 && n >= 0; i++) {
        sleep_10ms();
        const int k = thread_count();
        n = k < n ? k : n;
    }
    return n;
}

/* The allocation-failure loop over mlp2_workspace_create_mt: every failed
 * create returns MLP2_ENOMEM, keeps *out, frees every block and leaves no
 * thread running; the first create that gets through works. */
static void test_oom_create_mt(void **state)
{
    (void)state;
    static ca_state ca;
    mlp2 *net;
    assert_int_equal(mlp2_create(&net, 64, 40, 3, 3), MLP2_OK);
    /* chunks of 1200 rows have at least 4 shards: a pool of all 4 threads */
    assert_true(mlp2__shard_count(net, 1200) >= 4);
    const int threads0 = threads_before();
    if (threads0 < 0)
        skip();
    ca_install(&ca);
    const size_t live0 = ca.live;
    size_t k = 1;
    for (;; k++) {
        mlp2_workspace *ws = (mlp2_workspace *)(void *)&ws, *const sentinel = ws;
        ca_arm(&ca, k, false);
        const mlp2_status st = mlp2_workspace_create_mt(&ws, net, 1200, 4);
        ca_disarm(&ca);
        if (!ca.failed) {
            assert_int_equal(st, MLP2_OK);
            assert_int_equal(threads_now(threads0 + 3), threads0 + 3);
            mlp2_workspace_free(ws);
            break;
        }
        assert_int_equal(st, MLP2_ENOMEM);
        assert_ptr_equal(ws, sentinel);
        assert_int_equal(ca.live, live0);
        assert_int_equal(threads_now(threads0), threads0);
    }
    assert_true(k >= 4); /* workspace struct and block, shard block, pool */
    assert_int_equal(ca.live, live0);
    assert_int_equal(threads_now(threads0), threads0);
    assert_int_equal(ca.bad_frees, 0);
    mlp2_set_allocator(NULL, NULL, NULL);
    mlp2_free(net);
}

/* Optimizer steps of a model of more than 8192 parameters go through the
 * workspace's threads in ranges (mlp2__optim_step_ws, as mlp2_train calls
 * it): for each kind, three steps give the bits of mlp2_optim_step on one
 * thread, at every thread count; a step with an Inf in the last range
 * fails and changes nothing (the next step lands where a fresh run's
 * does). */
static void test_optim_ranges(void **state)
{
    (void)state;
    mlp2 *net0;
    assert_int_equal(mlp2_create(&net0, 100, 90, 2, 21), MLP2_OK);
    const size_t np = mlp2_n_params(net0), mb = 400;
    assert_true(np > 2 * 4096);
    assert_true(mlp2__shard_count(net0, mb) >= 2); /* the workspace has a pool */
    double *g = malloc(np * sizeof(double)), *ref = malloc(np * sizeof(double));
    double *th = malloc(np * sizeof(double));
    assert_non_null(g);
    assert_non_null(ref);
    assert_non_null(th);
    tu_rng r = tu_seed(77);
    tu_fill(&r, g, np, -2.0, 2.0);
    const mlp2_optim_kind kinds[] = {MLP2_OPTIM_SGD, MLP2_OPTIM_SGD, MLP2_OPTIM_MOMENTUM, MLP2_OPTIM_ADAM};
    for (size_t ki = 0; ki < 4; ki++) {
        mlp2_optim_config oc = mlp2_optim_defaults(kinds[ki]);
        oc.lr = 0.01;
        if (ki == 1)
            oc.weight_decay = 0.1;
        /* the reference: the public step, one thread */
        mlp2 *net;
        mlp2_optim *opt;
        assert_int_equal(mlp2_clone(&net, net0), MLP2_OK);
        assert_int_equal(mlp2_optim_create(&opt, net, &oc), MLP2_OK);
        for (int step = 0; step < 3; step++)
            assert_int_equal(mlp2_optim_step(opt, net, g), MLP2_OK);
        assert_int_equal(mlp2_get_params(net, ref), MLP2_OK);
        mlp2_optim_free(opt);
        mlp2_free(net);
        for (size_t c = 0; c < N_COUNTS; c++) {
            mlp2_workspace *ws;
            assert_int_equal(mlp2_clone(&net, net0), MLP2_OK);
            assert_int_equal(mlp2_optim_create(&opt, net, &oc), MLP2_OK);
            assert_int_equal(mlp2_workspace_create_mt(&ws, net, mb, thread_counts[c]), MLP2_OK);
            assert_int_equal(mlp2__optim_step_ws(opt, net, g, ws), MLP2_OK);
            /* a failing step between the first and the second: nothing moves */
            double keep = g[np - 1];
            g[np - 1] = INFINITY;
            assert_int_equal(mlp2_get_params(net, th), MLP2_OK);
            assert_int_equal(mlp2__optim_step_ws(opt, net, g, ws), MLP2_ENONFINITE);
            g[np - 1] = keep;
            double *after = malloc(np * sizeof(double));
            assert_non_null(after);
            assert_int_equal(mlp2_get_params(net, after), MLP2_OK);
            assert_memory_equal(after, th, np * sizeof(double));
            free(after);
            for (int step = 1; step < 3; step++)
                assert_int_equal(mlp2__optim_step_ws(opt, net, g, ws), MLP2_OK);
            assert_int_equal(mlp2_get_params(net, th), MLP2_OK);
            assert_memory_equal(th, ref, np * sizeof(double));
            assert_int_equal(mlp2_optim_steps(opt), 3);
            mlp2_workspace_free(ws);
            mlp2_optim_free(opt);
            mlp2_free(net);
        }
    }
    free(g);
    free(ref);
    free(th);
    mlp2_free(net0);
}

/* The pool holds no more threads than a max_batch chunk has shards: none
 * when every chunk is one shard (and then the bits are those of a plain
 * workspace), one worker for two shards, however many threads are asked. */
static void test_pool_size(void **state)
{
    (void)state;
    const int threads0 = threads_before();
    if (threads0 < 0)
        skip();
    problem p;
    problem_make(&p, 64, 40, 3, 2000, 1200, 11);
    const size_t np = mlp2_n_params(p.net);
    double *g = malloc(np * sizeof(double)), *g1 = malloc(np * sizeof(double)), L, L1;
    assert_non_null(g);
    assert_non_null(g1);
    const size_t one = 64, two = 2 * 300; /* rows of one chunk: 1 shard, 2 shards */
    assert_int_equal(mlp2__shard_count(p.net, one), 1);
    assert_int_equal(mlp2__shard_count(p.net, two), 2);
    mlp2_workspace *ws, *plain;
    assert_int_equal(mlp2_workspace_create_mt(&ws, p.net, one, 8), MLP2_OK);
    assert_int_equal(mlp2_workspace_threads(ws), 8);
    assert_int_equal(threads_now(threads0), threads0);
    assert_int_equal(mlp2_workspace_create(&plain, p.net, one), MLP2_OK);
    assert_int_equal(mlp2_loss_grad(p.net, ws, 300, p.X, p.Y, &L, g), MLP2_OK);
    assert_int_equal(mlp2_loss_grad(p.net, plain, 300, p.X, p.Y, &L1, g1), MLP2_OK);
    assert_memory_equal(&L, &L1, sizeof L);
    assert_memory_equal(g, g1, np * sizeof(double));
    mlp2_workspace_free(plain);
    mlp2_workspace_free(ws);
    assert_int_equal(mlp2_workspace_create_mt(&ws, p.net, two, 8), MLP2_OK);
    assert_int_equal(threads_now(threads0 + 1), threads0 + 1);
    mlp2_workspace_free(ws);
    assert_int_equal(threads_now(threads0), threads0);
    free(g);
    free(g1);
    problem_free(&p);
}

/* mlp2_train makes its pool only when the run's work pays for the threads
 * (lib/train.c, run_threads: epochs x rows x (50 + w) >= 1e7): one epoch
 * of 2-3-1 over 1024 rows (6e4) runs its two shards on the calling thread,
 * 200 epochs (1.2e7) make a worker.  The epoch callback counts the
 * process's threads while the run's workspace is alive.  Both runs give
 * the bits of threads = 1. */
static int count_threads(void *user, size_t epoch, double train_loss, double val_loss)
{
    (void)epoch, (void)train_loss, (void)val_loss;
    int *most = user;
    const int n = thread_count();
    *most = n > *most ? n : *most;
    return 0;
}

static void test_train_pool_pays(void **state)
{
    (void)state;
    const int threads0 = threads_before();
    if (threads0 < 0)
        skip();
    problem p;
    problem_make(&p, 2, 3, 1, 1024, 1024, 21);
    const size_t np = mlp2_n_params(p.net), epochs[] = {1, 200};
    double *th = malloc(np * sizeof(double)), *th1 = malloc(np * sizeof(double));
    for (size_t e = 0; e < 2; e++) {
        int most = 0;
        mlp2_train_config cfg = mlp2_train_defaults();
        cfg.epochs = epochs[e];
        cfg.batch_size = 1024;
        cfg.on_epoch = count_threads;
        cfg.user = &most;
        mlp2 *a, *b;
        assert_int_equal(mlp2_clone(&a, p.net), MLP2_OK);
        assert_int_equal(mlp2_clone(&b, p.net), MLP2_OK);
        cfg.threads = 2;
        assert_int_equal(mlp2_train(a, &cfg, p.m, p.X, p.Y, 0, NULL, NULL, NULL), MLP2_OK);
        assert_int_equal(most, e == 0 ? threads0 : threads0 + 1);
        cfg.threads = 1;
        assert_int_equal(mlp2_train(b, &cfg, p.m, p.X, p.Y, 0, NULL, NULL, NULL), MLP2_OK);
        assert_int_equal(mlp2_get_params(a, th), MLP2_OK);
        assert_int_equal(mlp2_get_params(b, th1), MLP2_OK);
        assert_memory_equal(th, th1, np * sizeof(double));
        mlp2_free(a);
        mlp2_free(b);
        assert_int_equal(threads_now(threads0), threads0);
    }
    free(th);
    free(th1);
    problem_free(&p);
}

/* Shard counts are powers of two up to 16, never fewer for more rows, so
 * that 2, 4, 8 and 16 threads share a chunk's shards equally. */
static void test_shard_counts(void **state)
{
    (void)state;
    mlp2 *net;
    assert_int_equal(mlp2_create(&net, 64, 256, 1, 3), MLP2_OK);
    size_t last = 1, seen = 0;
    for (size_t rows = 1; rows <= 20000; rows += 7) {
        const size_t s = mlp2__shard_count(net, rows);
        assert_true(s >= 1 && s <= 16 && (s & (s - 1)) == 0);
        assert_true(s >= last);
        seen |= s;
        last = s;
    }
    assert_int_equal(seen, 1 | 2 | 4 | 8 | 16); /* every count is reached */
    mlp2_free(net);
}

/* A NaN or an Inf in X or Y, wherever it sits (the first value, the last
 * chunk's last, a value in the middle, which is in a chunk's second block
 * of rows): every thread count, and a plain workspace, returns
 * MLP2_ENONFINITE with the outputs untouched and the model unchanged.
 * The check runs in ranges on the workers when the batch is sharded
 * (pass.c, finite_ws), or, for mlp2_sgd_step with the linear head, block
 * by block as the gradient is computed (pass.c, mlp2__chunk_sse_grad and
 * step_checks_in_pass), in the shards or on the one thread; a range or a
 * block that missed its values would pass.  (For the step, the arithmetic
 * would also end in a NaN or an Inf and a refused step; the check makes
 * that a rule, not a result.) */
static void check_nonfinite(problem *p)
{
    const size_t np = mlp2_n_params(p->net), nx = p->m * p->ni, ny = p->m * p->no;
    double *theta = malloc(np * sizeof(double)), *after = malloc(np * sizeof(double));
    double *g = malloc(np * sizeof(double)), *P = malloc(ny * sizeof(double));
    assert_int_equal(mlp2_get_params(p->net, theta), MLP2_OK);
    const struct {
        bool in_x;
        size_t at;
        double v;
    } bad[] = {{true, 0, (double)NAN}, {true, nx - 1, (double)INFINITY}, {true, nx / 2 + 1, (double)NAN},
               {false, 0, (double)-INFINITY}, {false, ny - 1, (double)NAN}, {false, ny / 3, (double)NAN}};
    for (size_t c = 0; c <= N_COUNTS; c++) { /* c == N_COUNTS: mlp2_workspace_create */
        mlp2_workspace *ws;
        assert_int_equal(c < N_COUNTS ? mlp2_workspace_create_mt(&ws, p->net, p->mb, thread_counts[c])
                                      : mlp2_workspace_create(&ws, p->net, p->mb),
                         MLP2_OK);
        for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
            double *v = bad[k].in_x ? p->X + bad[k].at : p->Y + bad[k].at, keep = *v;
            *v = bad[k].v;
            double L = 42.0;
            for (size_t i = 0; i < np; i++)
                g[i] = 42.0;
            for (size_t i = 0; i < ny; i++)
                P[i] = 42.0;
            assert_int_equal(mlp2_loss_grad(p->net, ws, p->m, p->X, p->Y, &L, g), MLP2_ENONFINITE);
            assert_true(L == 42.0);
            for (size_t i = 0; i < np; i++)
                assert_true(g[i] == 42.0);
            if (bad[k].in_x) {
                assert_int_equal(mlp2_predict(p->net, ws, p->m, p->X, P), MLP2_ENONFINITE);
                for (size_t i = 0; i < ny; i++)
                    assert_true(P[i] == 42.0);
            }
            assert_int_equal(mlp2_sgd_step(p->net, ws, p->m, p->X, p->Y, 0.1, &L), MLP2_ENONFINITE);
            assert_true(L == 42.0); /* the loss output untouched */
            /* a bad lr as well: the data's status first (the step checks
             * the data in the gradient's pass when lr is good, pass.c) */
            assert_int_equal(mlp2_sgd_step(p->net, ws, p->m, p->X, p->Y, -1.0, &L), MLP2_ENONFINITE);
            assert_true(L == 42.0);
            assert_int_equal(mlp2_get_params(p->net, after), MLP2_OK);
            assert_memory_equal(after, theta, np * sizeof(double));
            *v = keep;
        }
        /* and with the data finite again, every call succeeds */
        assert_int_equal(mlp2_loss_grad(p->net, ws, p->m, p->X, p->Y, NULL, g), MLP2_OK);
        assert_int_equal(mlp2_predict(p->net, ws, p->m, p->X, P), MLP2_OK);
        mlp2_workspace_free(ws);
    }
    free(theta);
    free(after);
    free(g);
    free(P);
}

static void test_nonfinite_small(void **state)
{
    (void)state;
    problem p;
    small_problem(&p);
    check_nonfinite(&p);
    problem_free(&p);
}

static void test_nonfinite_blas(void **state)
{
    (void)state;
    problem p;
    blas_problem(&p);
    check_nonfinite(&p);
    problem_free(&p);
}

static void test_nonfinite_fused(void **state)
{
    (void)state;
    problem p;
    fused_problem(&p);
    check_nonfinite(&p);
    problem_free(&p);
}

/* White box: mlp2__chunk_sse_grad with check computes no block that holds
 * a non-finite value.  The statuses cannot show it (the arithmetic on a
 * NaN or an Inf ends in a refused step anyway), the gradient can: a NaN in
 * the chunk's last row, or in X in its middle, leaves a gradient of the
 * blocks before it, all finite, where computing that block puts NaNs in
 * it.  Without check (the control) the same call must leave a non-finite
 * gradient (and a NaN's, a NaN sum of squares).  The value goes to a row's
 * first input and to its last; +-Inf as well as NaN, since the lane kernel
 * checks its sums rather than the data (pass.c, small_seed_chunk): an
 * infinite input saturates the hidden units, where the sums of squares
 * stay finite and only gW1 (Inf x 0) shows it. */
static void check_block_check(problem *p)
{
    const size_t np = mlp2_n_params(p->net), rows = p->mb, ni = p->ni, no = p->no;
    double *g = malloc(np * sizeof(double)), *before = malloc(np * sizeof(double));
    mlp2_workspace *ws;
    assert_int_equal(mlp2_workspace_create(&ws, p->net, rows), MLP2_OK);
    double *const bad[] = {p->Y + (rows - 1) * no, p->X + (rows / 2 + 1) * ni, p->Y, p->X,
                           p->X + (rows / 3) * ni + ni - 1}; /* (a row's last input) */
    const double values[] = {(double)NAN, (double)INFINITY, -(double)INFINITY};
    for (size_t kv = 0; kv < 3 * sizeof bad / sizeof bad[0]; kv++) {
        const size_t k = kv / 3;
        const double keep = *bad[k], value = values[kv % 3];
        *bad[k] = value;
        for (int check = 1; check >= 0; check--) {
            for (size_t i = 0; i < np; i++)
                g[i] = 42.0;
            const double sse = mlp2__chunk_sse_grad(p->net, ws, rows, p->X, p->Y, 1.0 / (double)rows, 0.0, g,
                                                    MLP2_PATH_AUTO, check);
            assert_true(isnan(sse) || (!check && !isnan(value)));
            bool all_finite = true;
            for (size_t i = 0; i < np; i++)
                all_finite = all_finite && isfinite(g[i]);
            assert_true(all_finite == (check == 1));
        }
        /* the loss alone, checked: NaN too (the lane kernel's sums of
         * squares alone may stay finite for an infinite input, so without
         * the gradient the data are checked first) */
        assert_true(isnan(mlp2__chunk_sse_grad(p->net, ws, rows, p->X, p->Y, 1.0 / (double)rows, 0.0, NULL,
                                               MLP2_PATH_AUTO, true)));
        /* and mlp2_sgd_step on this workspace, which passes check to it
         * (step_checks_in_pass) where the step goes through the
         * workspace's gradient: that gradient keeps no NaN (finite
         * before: 42, then a step on the good rows); the small path's
         * fused step, lanes_step, keeps its gradient on the stack and
         * checks no sums (its loss's and update's checks refuse the
         * step), so there only the parameters show it: the refused step
         * leaves them as they were */
        for (size_t i = 0; i < np; i++)
            ws->grad[i] = 42.0;
        *bad[k] = keep;
        assert_int_equal(mlp2_sgd_step(p->net, ws, rows, p->X, p->Y, 1e-3, NULL), MLP2_OK);
        assert_int_equal(mlp2_get_params(p->net, before), MLP2_OK);
        *bad[k] = value;
        assert_int_equal(mlp2_sgd_step(p->net, ws, rows, p->X, p->Y, 1e-3, NULL), MLP2_ENONFINITE);
        for (size_t i = 0; i < np; i++)
            assert_true(isfinite(ws->grad[i]));
        assert_int_equal(mlp2_get_params(p->net, g), MLP2_OK);
        assert_memory_equal(before, g, np * sizeof(double));
        *bad[k] = keep;
    }
    mlp2_workspace_free(ws);
    free(g);
    free(before);
}

static void test_block_check(void **state)
{
    (void)state;
    problem p;
    blas_problem(&p); /* chunks of 1200 rows: blocks of 600 */
    check_block_check(&p);
    problem_free(&p);
    fused_problem(&p); /* chunks of 1400 rows: blocks of 700 */
    check_block_check(&p);
    problem_free(&p);
    small_problem(&p); /* the small path's lane kernel: its sums */
    check_block_check(&p);
    problem_free(&p);
    small_tiled_problem(&p); /* its tiled kernels: the whole chunk first */
    check_block_check(&p);
    problem_free(&p);
}

/* Finite inputs whose outputs overflow in one row only, wherever that row
 * sits (the first, the first of the last shard, one in the middle, the
 * last): every thread count returns MLP2_ENONFINITE, and MLP2_OK when no
 * row overflows.  Each shard checks its own outputs on the thread that
 * wrote them (shard.c, predict_task); a shard whose check were lost would
 * pass its Inf.  W1's first row is 60 and the rest 0: a row with x0 = +1
 * has every hidden unit near 1 and A2 = 1e308 sum A1 > DBL_MAX; x0 = -1
 * gives A1 near 1e-26 and a finite A2. */
static void check_predict_overflow(problem *p)
{
    const size_t np = mlp2_n_params(p->net), ni = p->ni, nh = p->nh, m = p->mb, S = mlp2__shard_count(p->net, m);
    assert_true(S >= 4);
    double *theta = calloc(np, sizeof(double)), *P = malloc(m * p->no * sizeof(double));
    double *X = calloc(m * ni, sizeof(double));
    for (size_t h = 0; h < nh; h++)
        theta[h] = 60.0; /* W1[0][h] */
    for (size_t k = mlp2__off_W2(p->net); k < mlp2__off_b2(p->net); k++)
        theta[k] = 1e308; /* W2; b1 = b2 = 0 */
    assert_int_equal(mlp2_set_params(p->net, theta), MLP2_OK);
    for (size_t i = 0; i < m; i++)
        X[i * ni] = -1.0;
    const size_t rows[] = {0, mlp2__part_start(m, S, S - 1), m / 2 + 1, m - 1};
    for (size_t c = 0; c < N_COUNTS; c++) {
        mlp2_workspace *ws;
        assert_int_equal(mlp2_workspace_create_mt(&ws, p->net, m, thread_counts[c]), MLP2_OK);
        assert_int_equal(mlp2_predict(p->net, ws, m, X, P), MLP2_OK);
        for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
            X[rows[k] * ni] = 1.0;
            assert_int_equal(mlp2_predict(p->net, ws, m, X, P), MLP2_ENONFINITE);
            X[rows[k] * ni] = -1.0;
        }
        mlp2_workspace_free(ws);
    }
    free(theta);
    free(P);
    free(X);
}

static void test_predict_overflow(void **state)
{
    (void)state;
    problem p;
    small_problem(&p);
    check_predict_overflow(&p);
    problem_free(&p);
    blas_problem(&p);
    check_predict_overflow(&p);
    problem_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_args),
        cmocka_unit_test(test_loss_grad_predict_blas),
        cmocka_unit_test(test_loss_grad_predict_fused),
        cmocka_unit_test(test_loss_grad_predict_small),
        cmocka_unit_test(test_steps),
        cmocka_unit_test(test_sgd_one_chunk),
        cmocka_unit_test(test_train),
        cmocka_unit_test(test_two_callers),
        cmocka_unit_test(test_oom_create_mt),
        cmocka_unit_test(test_pool_size),
        cmocka_unit_test(test_train_pool_pays),
        cmocka_unit_test(test_shard_counts),
        cmocka_unit_test(test_optim_ranges),
        cmocka_unit_test(test_nonfinite_small),
        cmocka_unit_test(test_nonfinite_blas),
        cmocka_unit_test(test_nonfinite_fused),
        cmocka_unit_test(test_block_check),
        cmocka_unit_test(test_predict_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
