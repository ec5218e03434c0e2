/* pool.c - a persistent pool of worker threads, made with a multi-threaded
 * workspace and joined when it is freed.  No call creates a thread.
 *
 * A job is n_tasks independent tasks: the calling thread takes part as
 * thread 0, the workers are threads 1..n_threads-1, thread t runs tasks t,
 * t + n_threads, t + 2 n_threads, ..., and mlp2__pool_run returns when
 * every worker has checked out of the job.  The thread a task runs on only
 * picks which scratch it uses: what a task computes depends on the task
 * index alone, so the results never depend on the number of threads or on
 * the schedule (shard.c relies on it).
 *
 * Why tasks are dealt out in a fixed way rather than taken from a shared
 * counter by whichever thread is idle: the same rows go to the same
 * thread call after call, so they stay in its cache, and no counter's
 * line goes back and forth between the cores.  shard.c makes the tasks
 * equal and their number a power of two, so 2, 4, 8 and 16 threads get
 * equal shares.
 *
 * Handing a job over costs a futex wake when a worker sleeps (several
 * microseconds, more on a loaded machine), so a worker that has just
 * finished a job spins for a short while (POOL_SPIN polls) before it
 * sleeps: the training loop's next step usually comes within that window.
 * The caller spins the same way while it waits for the workers.  A job
 * handed to a spinning worker costs one round trip between the cores: an
 * empty job took 570-600 ns on the benchmark machine with the mutex, the
 * condition variables and one counter on every hand-over, 340-400 ns with
 * the layout below (a plain ping-pong between the two cores: 270-300 ns).
 */
#include "internal.h"

#include <pthread.h>
#include <stdatomic.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

/* Polls of a spinning thread before it sleeps: with PAUSE at about 40 ns
 * (Skylake and later), 2000 polls are about 80 us. */
#define POOL_SPIN 2000

/* Fields written by different threads sit at least a cache line apart, so
 * that a hand-over moves as few lines between cores as it can: the job's
 * line (written by the caller) and the check-out counter (the workers').
 * Padding, not alignas: the pool comes from the user's allocator, which
 * only promises malloc's alignment. */
#define LINE 64

struct mlp2_pool {
    /* the current job: written by the caller before gen moves on, read by
     * the workers after they see the new gen (release/acquire) */
    atomic_ulong gen;      /* job number; a worker runs each job once */
    mlp2_task_fn fn;
    void *arg;
    size_t n_tasks;
    char pad0[LINE];
    atomic_ulong checked_out; /* workers' check-outs, all jobs: n_started per job */
    char pad1[LINE];
    /* sleeping, between jobs (workers) or until the workers check out
     * (the caller) */
    atomic_size_t sleepers;     /* workers in, or on their way into, wait(wake) */
    atomic_bool caller_waits;   /* the caller is in, or on its way into, wait(done) */
    atomic_bool stop;           /* set (before gen moves on) to make the workers return */
    pthread_mutex_t mu;
    pthread_cond_t wake;
    pthread_cond_t done;
    size_t n_threads;      /* the caller plus the workers */
    size_t n_started;      /* workers running (== n_threads - 1 once made) */
    pthread_t *threads;    /* n_threads - 1 */
};

typedef struct {
    mlp2_pool *pool;
    size_t index; /* 1..n_threads-1 */
} worker_arg;

/* Thread t's share of the job: tasks t, t + n_threads, ... */
static void run_tasks(mlp2_pool *p, size_t thread)
{
    for (size_t t = thread; t < p->n_tasks; t += p->n_threads)
        p->fn(p->arg, t, thread);
}

/* Wait until gen differs from seen: spin first, then sleep.  The sleeper
 * count and gen are a Dekker pair (seq_cst on both sides): either the
 * caller sees this worker counted and wakes it, or this worker sees the
 * new gen and does not wait. */
static unsigned long wait_job(mlp2_pool *p, unsigned long seen)
{
    unsigned long g;
    for (int i = 0; i < POOL_SPIN; i++) {
        if ((g = atomic_load_explicit(&p->gen, memory_order_acquire)) != seen)
            return g;
        CPU_RELAX();
    }
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add(&p->sleepers, 1);
    while ((g = atomic_load(&p->gen)) == seen)
        pthread_cond_wait(&p->wake, &p->mu);
    atomic_fetch_sub(&p->sleepers, 1);
    pthread_mutex_unlock(&p->mu);
    return g;
}

static void *worker_main(void *arg)
{
    worker_arg *w = arg;
    mlp2_pool *p = w->pool;
    const size_t index = w->index;
    unsigned long seen = 0;
    for (;;) {
        seen = wait_job(p, seen);
        if (atomic_load_explicit(&p->stop, memory_order_acquire))
            return NULL;
        run_tasks(p, index);
        /* the last worker out wakes the caller if it sleeps (the same
         * Dekker pair as wait_job's, with checked_out and caller_waits).
         * A counter that only grows: the caller never writes its line,
         * which would cost a round trip on the next hand-over. */
        if (atomic_fetch_add(&p->checked_out, 1) + 1 == seen * (unsigned long)p->n_started &&
            atomic_load(&p->caller_waits)) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
}

/* Stop and join the workers that were started. */
static void stop_workers(mlp2_pool *p)
{
    pthread_mutex_lock(&p->mu);
    atomic_store_explicit(&p->stop, true, memory_order_release);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_acq_rel);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (size_t i = 0; i < p->n_started; i++)
        pthread_join(p->threads[i], NULL);
    p->n_started = 0;
}

mlp2_status mlp2__pool_create(mlp2_pool **out, size_t n_threads)
{
    if (n_threads < 1)
        return MLP2_FAIL(MLP2_EINVAL);
    const size_t n_workers = n_threads - 1;
    /* one block: the pool | its worker_args | its pthread_t's */
    size_t bytes = sizeof(mlp2_pool), wa, th;
    if (!mlp2__mul(n_workers, sizeof(worker_arg), &wa) || !mlp2__mul(n_workers, sizeof(pthread_t), &th) ||
        !mlp2__add(bytes, wa, &bytes) || !mlp2__add(bytes, th, &bytes))
        return MLP2_FAIL(MLP2_ERANGE);
    mlp2_pool *p = mlp2__alloc(bytes);
    if (!p)
        return MLP2_FAIL(MLP2_ENOMEM);
    worker_arg *args = (worker_arg *)(void *)(p + 1);
    *p = (mlp2_pool){.n_threads = n_threads, .threads = (pthread_t *)(void *)(args + n_workers)};
    atomic_init(&p->gen, 0);
    atomic_init(&p->stop, false);
    atomic_init(&p->checked_out, 0);
    atomic_init(&p->sleepers, 0);
    atomic_init(&p->caller_waits, false);
    if (pthread_mutex_init(&p->mu, NULL) != 0) {
        mlp2__free(p);
        return MLP2_FAIL(MLP2_ENOMEM);
    }
    if (pthread_cond_init(&p->wake, NULL) != 0) {
        pthread_mutex_destroy(&p->mu);
        mlp2__free(p);
        return MLP2_FAIL(MLP2_ENOMEM);
    }
    if (pthread_cond_init(&p->done, NULL) != 0) {
        pthread_cond_destroy(&p->wake);
        pthread_mutex_destroy(&p->mu);
        mlp2__free(p);
        return MLP2_FAIL(MLP2_ENOMEM);
    }
    for (size_t i = 0; i < n_workers; i++) {
        args[i] = (worker_arg){.pool = p, .index = i + 1};
        if (pthread_create(&p->threads[i], NULL, worker_main, &args[i]) != 0) {
            /* no thread is left behind: join those already running */
            mlp2__pool_free(p);
            return MLP2_FAIL(MLP2_ENOMEM);
        }
        p->n_started++;
    }
    *out = p;
    return MLP2_OK;
}

void mlp2__pool_free(mlp2_pool *p)
{
    if (!p)
        return;
    stop_workers(p);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->mu);
    mlp2__free(p);
}

void mlp2__pool_run(mlp2_pool *p, size_t n_tasks, mlp2_task_fn fn, void *arg)
{
    if (n_tasks == 0)
        return;
    if (!p || p->n_started == 0 || n_tasks == 1) {
        /* one thread, or one task: no hand-over at all */
        for (size_t t = 0; t < n_tasks; t++)
            fn(arg, t, 0);
        return;
    }
    p->fn = fn;
    p->arg = arg;
    p->n_tasks = n_tasks;
    const unsigned long g = atomic_load_explicit(&p->gen, memory_order_relaxed) + 1;
    const unsigned long all_out = g * (unsigned long)p->n_started; /* both sides wrap alike */
    atomic_store(&p->gen, g);
    if (atomic_load(&p->sleepers) != 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->mu);
    }

    run_tasks(p, 0);

    /* every worker checks out before the job's arguments go out of scope */
    for (int i = 0; i < POOL_SPIN; i++) {
        if (atomic_load_explicit(&p->checked_out, memory_order_acquire) == all_out)
            return;
        CPU_RELAX();
    }
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->caller_waits, true);
    while (atomic_load(&p->checked_out) != all_out)
        pthread_cond_wait(&p->done, &p->mu);
    atomic_store(&p->caller_waits, false);
    pthread_mutex_unlock(&p->mu);
}
