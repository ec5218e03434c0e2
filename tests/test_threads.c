/* test_threads.c - one const model shared by several threads.
 *
 * The header promises that functions taking a `const mlp2 *` never write to
 * the model, so threads may share one as long as each has its own workspace
 * (or passes NULL).  Here THREADS threads each run ROUNDS rounds of
 * mlp2_predict and mlp2_loss_grad on the same model and data, with their own
 * workspace (same max_batch as the reference, so the chunking is the same)
 * and with a NULL workspace, plus the other const readers (get_params,
 * section_get, clone, blas_config).  Every result must be bit-identical (memcmp) to the
 * single-threaded reference computed first, and the model's parameters must
 * be unchanged at the end.  The threads start together at a barrier so that
 * they really overlap.
 *
 * scripts/test.sh also builds this test with -fsanitize=thread (clang) and
 * runs it there: TSan then checks that no two threads touch the same memory
 * without synchronisation, which the memcmp alone could miss.
 */
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mlp2.h>

#include "testutil.h"

#define THREADS 4
#define ROUNDS 6
#define N_IN 13
#define N_HID 29
#define N_OUT 3
#define M 150
#define MAX_BATCH 64 /* three chunks of X */

static mlp2 *net; /* written only before the threads start */
static double X[M * N_IN], Y[M * N_OUT];
static size_t n_params;
static double *ref_pred, *ref_grad, *ref_pred_nows, *ref_grad_nows, ref_loss, ref_loss_nows;
static pthread_barrier_t start;
static char blas_config[512]; /* mlp2_blas_config() as one thread saw it */

typedef struct result {
    int mismatches;
    int errors;
} result;

static void compute(const mlp2 *model, mlp2_workspace *ws, double *pred, double *loss, double *grad,
                    int *errors)
{
    if (mlp2_predict(model, ws, M, X, pred) != MLP2_OK)
        (*errors)++;
    if (mlp2_loss_grad(model, ws, M, X, Y, loss, grad) != MLP2_OK)
        (*errors)++;
}

static void *worker(void *arg)
{
    result *res = arg;
    const mlp2 *model = net; /* the threads see the model only through const */
    mlp2_workspace *ws = NULL;
    /* no cmocka assertion off the main thread: errors are counted instead */
    double *pred = calloc(M * N_OUT, sizeof(double)), *grad = calloc(n_params, sizeof(double));
    double *theta = calloc(n_params, sizeof(double)), *t2 = calloc(n_params, sizeof(double));
    double loss = 0.0;
    if (!pred || !grad || !theta || !t2 || mlp2_workspace_create(&ws, model, MAX_BATCH) != MLP2_OK)
        res->errors++;
    pthread_barrier_wait(&start);
    for (int r = 0; r < ROUNDS && ws && !res->errors; r++) {
        /* own workspace */
        compute(model, ws, pred, &loss, grad, &res->errors);
        res->mismatches += memcmp(pred, ref_pred, M * N_OUT * sizeof(double)) != 0;
        res->mismatches += memcmp(grad, ref_grad, n_params * sizeof(double)) != 0;
        res->mismatches += memcmp(&loss, &ref_loss, sizeof loss) != 0;
        /* a temporary workspace made inside each call */
        compute(model, NULL, pred, &loss, grad, &res->errors);
        res->mismatches += memcmp(pred, ref_pred_nows, M * N_OUT * sizeof(double)) != 0;
        res->mismatches += memcmp(grad, ref_grad_nows, n_params * sizeof(double)) != 0;
        res->mismatches += memcmp(&loss, &ref_loss_nows, sizeof loss) != 0;
        /* the other readers of a const model */
        const void *data = NULL;
        size_t len = 0;
        if (mlp2_section_get(model, "note", &data, &len) != MLP2_OK || len != 6 || memcmp(data, "hello", 6) != 0)
            res->mismatches++;
        if (mlp2_get_params(model, theta) != MLP2_OK)
            res->errors++;
        /* process-wide read-only queries, from every thread at once */
        if (strcmp(mlp2_blas_config(), blas_config) != 0 || mlp2_version_number() != MLP2_VERSION_NUMBER)
            res->mismatches++;
        mlp2 *copy = NULL;
        if (mlp2_clone(&copy, model) != MLP2_OK) {
            res->errors++;
        } else {
            mlp2_get_params(copy, t2);
            res->mismatches += memcmp(t2, theta, n_params * sizeof(double)) != 0;
            mlp2_free(copy);
        }
    }
    mlp2_workspace_free(ws);
    free(pred);
    free(grad);
    free(theta);
    free(t2);
    return NULL;
}

static void shared_const_model(void **state)
{
    (void)state;
    assert_int_equal(mlp2_create(&net, N_IN, N_HID, N_OUT, 20240229), MLP2_OK);
    assert_int_equal(mlp2_section_set(net, "note", "hello", 6), MLP2_OK);
    n_params = mlp2_n_params(net);
    tu_rng r = tu_seed(6);
    tu_fill(&r, X, M * N_IN, -2.1, 2.3);
    tu_fill(&r, Y, M * N_OUT, -1.05, 0.95);
    /* parameters that are not the initial ones, with non-zero biases */
    double *theta0 = tu_alloc(n_params), *theta1 = tu_alloc(n_params);
    tu_fill(&r, theta0, n_params, -0.9, 0.9);
    assert_int_equal(mlp2_set_params(net, theta0), MLP2_OK);

    snprintf(blas_config, sizeof blas_config, "%s", mlp2_blas_config());
    /* the single-threaded reference */
    mlp2_workspace *ws = NULL;
    assert_int_equal(mlp2_workspace_create(&ws, net, MAX_BATCH), MLP2_OK);
    ref_pred = tu_alloc(M * N_OUT);
    ref_grad = tu_alloc(n_params);
    ref_pred_nows = tu_alloc(M * N_OUT);
    ref_grad_nows = tu_alloc(n_params);
    int errors = 0;
    compute(net, ws, ref_pred, &ref_loss, ref_grad, &errors);
    compute(net, NULL, ref_pred_nows, &ref_loss_nows, ref_grad_nows, &errors);
    assert_int_equal(errors, 0);
    mlp2_workspace_free(ws);
    /* the reference is not trivially zero */
    assert_true(ref_loss > 1e-3);
    double gmax = 0.0;
    for (size_t i = 0; i < n_params; i++)
        gmax = fmax(gmax, fabs(ref_grad[i]));
    assert_true(gmax > 1e-4);

    pthread_t th[THREADS];
    result res[THREADS];
    memset(res, 0, sizeof res);
    assert_int_equal(pthread_barrier_init(&start, NULL, THREADS), 0);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, worker, &res[i]), 0);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    pthread_barrier_destroy(&start);
    for (int i = 0; i < THREADS; i++) {
        if (res[i].errors || res[i].mismatches)
            print_error("thread %d: %d errors, %d results differing from one thread's\n", i,
                        res[i].errors, res[i].mismatches);
        assert_int_equal(res[i].errors, 0);
        assert_int_equal(res[i].mismatches, 0);
    }
    /* nothing wrote to the model */
    assert_int_equal(mlp2_get_params(net, theta1), MLP2_OK);
    assert_memory_equal(theta0, theta1, n_params * sizeof(double));

    free(theta0);
    free(theta1);
    free(ref_pred);
    free(ref_grad);
    free(ref_pred_nows);
    free(ref_grad_nows);
    mlp2_free(net);
}

/* Each thread owns its model, workspace and optimizer: training the same
 * model in several threads at once gives the same bits as in one. */
typedef struct trainer {
    double theta[N_IN * N_HID + N_HID + N_HID * N_OUT + N_OUT];
    int errors;
} trainer;

static void train_one(trainer *t)
{
    mlp2 *own = NULL;
    mlp2_workspace *ws = NULL;
    mlp2_optim *opt = NULL;
    mlp2_optim_config oc = mlp2_optim_defaults(MLP2_OPTIM_ADAM);
    if (mlp2_create(&own, N_IN, N_HID, N_OUT, 11) != MLP2_OK ||
        mlp2_workspace_create(&ws, own, MAX_BATCH) != MLP2_OK ||
        mlp2_optim_create(&opt, own, &oc) != MLP2_OK) {
        t->errors++;
    } else {
        double *grad = calloc(mlp2_n_params(own), sizeof(double)), loss;
        for (int s = 0; s < 20 && grad; s++) {
            if (mlp2_loss_grad(own, ws, M, X, Y, &loss, grad) != MLP2_OK ||
                mlp2_optim_step(opt, own, grad) != MLP2_OK ||
                mlp2_sgd_step(own, ws, M, X, Y, 0.01, NULL) != MLP2_OK)
                t->errors++;
        }
        if (!grad)
            t->errors++;
        free(grad);
        mlp2_get_params(own, t->theta);
    }
    mlp2_optim_free(opt);
    mlp2_workspace_free(ws);
    mlp2_free(own);
}

static void *train_worker(void *arg)
{
    pthread_barrier_wait(&start);
    train_one(arg);
    return NULL;
}

static void separate_models(void **state)
{
    (void)state;
    tu_rng r = tu_seed(7);
    tu_fill(&r, X, M * N_IN, -2.1, 2.3);
    tu_fill(&r, Y, M * N_OUT, -1.05, 0.95);
    static trainer ref, t[THREADS];
    train_one(&ref);
    assert_int_equal(ref.errors, 0);
    pthread_t th[THREADS];
    assert_int_equal(pthread_barrier_init(&start, NULL, THREADS), 0);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, train_worker, &t[i]), 0);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    pthread_barrier_destroy(&start);
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(t[i].errors, 0);
        assert_memory_equal(t[i].theta, ref.theta, sizeof ref.theta);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shared_const_model),
        cmocka_unit_test(separate_models),
    };
    return cmocka_run_group_tests_name("threads", tests, NULL, NULL);
}
