/* test_train.c - the training loop: it learns XOR and a sine, uses the last
 * partial batch, decays the learning rate, stops early and restores the best
 * parameters, obeys the callback and the cancel flag, survives a NaN
 * mid-training with finite parameters, and is bit-reproducible. */
#include <signal.h>
#include <stdbool.h>

#include <mlp2.h>

#include "testutil.h"

/* ---- helpers ------------------------------------------------------------ */

static size_t n_params(const mlp2 *net) { return mlp2_n_params(net); }

static double *params_of(const mlp2 *net)
{
    double *p = tu_alloc(n_params(net));
    assert_int_equal(mlp2_get_params(net, p), MLP2_OK);
    return p;
}

static void assert_params_equal(const mlp2 *a, const mlp2 *b)
{
    double *pa = params_of(a), *pb = params_of(b);
    assert_memory_equal(pa, pb, n_params(a) * sizeof(double));
    free(pa);
    free(pb);
}

static bool params_finite(const mlp2 *net)
{
    double *p = params_of(net);
    bool ok = true;
    for (size_t i = 0; i < n_params(net); i++)
        ok = ok && isfinite(p[i]);
    free(p);
    return ok;
}

static double loss_of(const mlp2 *net, size_t m, const double *X, const double *Y)
{
    double L = NAN;
    assert_int_equal(mlp2_loss_grad(net, NULL, m, X, Y, &L, NULL), MLP2_OK);
    return L;
}

static mlp2 *clone_of(const mlp2 *net)
{
    mlp2 *c = NULL;
    assert_int_equal(mlp2_clone(&c, net), MLP2_OK);
    return c;
}

static mlp2 *new_net(size_t n_in, size_t n_hidden, size_t n_out, uint64_t seed)
{
    mlp2 *net = NULL;
    assert_int_equal(mlp2_create(&net, n_in, n_hidden, n_out, seed), MLP2_OK);
    return net;
}

static void assert_params_differ(const mlp2 *a, const mlp2 *b)
{
    double *pa = params_of(a), *pb = params_of(b);
    assert_true(memcmp(pa, pb, n_params(a) * sizeof(double)) != 0);
    free(pa);
    free(pb);
}

/* net's parameters are still those saved in `before` */
static void assert_params_are(const mlp2 *net, const double *before)
{
    double *now = params_of(net);
    assert_memory_equal(now, before, n_params(net) * sizeof(double));
    free(now);
}

/* the defaults, with the default optimiser (Adam) at this learning rate */
static mlp2_train_config config(size_t epochs, size_t batch_size, double lr)
{
    mlp2_train_config c = mlp2_train_defaults();
    c.epochs = epochs;
    c.batch_size = batch_size;
    c.optim.lr = lr;
    return c;
}

/* the defaults, with plain SGD at this learning rate */
static mlp2_train_config sgd_config(size_t epochs, size_t batch_size, double lr)
{
    mlp2_train_config c = mlp2_train_defaults();
    c.epochs = epochs;
    c.batch_size = batch_size;
    c.optim = mlp2_optim_defaults(MLP2_OPTIM_SGD);
    c.optim.lr = lr;
    return c;
}

/* sin(x) at m points of [-3, 3], uniformly drawn: X m x 1, Y m x 1 */
static void sine_data(uint64_t seed, size_t m, double *X, double *Y, double amplitude)
{
    tu_rng r = tu_seed(seed);
    for (size_t i = 0; i < m; i++) {
        X[i] = tu_uniform(&r, -3.0, 3.0);
        Y[i] = amplitude * sin(X[i]);
    }
}

/* Records what the epoch callback saw; stops at stop_at (0: never); raises
 * *flag at raise_at; poisons *poison with NaN at poison_at. */
#define MAX_EPOCHS 4000
typedef struct {
    size_t calls, stop_at, raise_at, poison_at;
    size_t epoch[MAX_EPOCHS];
    double train[MAX_EPOCHS], val[MAX_EPOCHS];
    volatile sig_atomic_t *flag;
    double *poison;
} recorder;

static int record(void *user, size_t epoch, double train_loss, double val_loss)
{
    recorder *r = user;
    if (r->calls < MAX_EPOCHS) {
        r->epoch[r->calls] = epoch;
        r->train[r->calls] = train_loss;
        r->val[r->calls] = val_loss;
    }
    r->calls++;
    if (r->flag && epoch == r->raise_at)
        *r->flag = 1;
    if (r->poison && epoch == r->poison_at)
        *r->poison = NAN;
    return r->stop_at && epoch == r->stop_at;
}

static void watch(mlp2_train_config *c, recorder *rec)
{
    c->on_epoch = record;
    c->user = rec;
}

/* Trains `start` for `epochs` epochs with c's settings but no patience,
 * min_delta or callback: it must end on net's parameters. */
static void assert_run_ends_on(const mlp2 *net, mlp2 *start, mlp2_train_config c, size_t epochs, size_t m,
                               const double *X, const double *Y, size_t mv, const double *Xv, const double *Yv)
{
    c.epochs = epochs;
    c.patience = 0;
    c.min_delta = 0;
    c.on_epoch = NULL;
    assert_int_equal(mlp2_train(start, &c, m, X, Y, mv, Xv, Yv, NULL), MLP2_OK);
    assert_params_equal(net, start);
}

static const double XOR_X[8] = {0, 0, 0, 1, 1, 0, 1, 1};
static const double XOR_Y[4] = {0, 1, 1, 0};

/* ---- learning ----------------------------------------------------------- */

static void test_defaults(void **state)
{
    (void)state;
    const mlp2_train_config c = mlp2_train_defaults();
    const mlp2_optim_config adam = mlp2_optim_defaults(MLP2_OPTIM_ADAM);
    assert_int_equal(c.epochs, 100);
    assert_int_equal(c.batch_size, 32);
    assert_true(c.shuffle);
    assert_int_equal(c.seed, 0);
    assert_int_equal(c.optim.kind, adam.kind);
    assert_true(c.optim.lr == adam.lr && c.optim.beta1 == adam.beta1 && c.optim.beta2 == adam.beta2 &&
                c.optim.eps == adam.eps && c.optim.weight_decay == adam.weight_decay);
    assert_int_equal(c.lr_step, 0);
    assert_true(c.lr_gamma == 1.0);
    assert_int_equal(c.patience, 0);
    assert_true(c.min_delta == 0.0);
    assert_null(c.on_epoch);
    assert_null(c.user);
    assert_null(c.cancel);
}

static void test_learns_xor(void **state)
{
    (void)state;
    mlp2 *net = new_net(2, 4, 1, 7);
    const double before = loss_of(net, 4, XOR_X, XOR_Y);
    mlp2_train_config c = config(3000, 2, 0.02);
    c.seed = 11;
    mlp2_train_report rep;
    assert_int_equal(mlp2_train(net, &c, 4, XOR_X, XOR_Y, 0, NULL, NULL, &rep), MLP2_OK);
    assert_int_equal(rep.reason, MLP2_STOP_EPOCHS);
    assert_int_equal(rep.epochs_run, 3000);
    assert_int_equal(rep.best_epoch, 3000);
    const double after = loss_of(net, 4, XOR_X, XOR_Y);
    assert_true(before > 0.05);
    assert_true(after < 1e-3);
    double out[4];
    assert_int_equal(mlp2_predict(net, NULL, 4, XOR_X, out), MLP2_OK);
    for (int i = 0; i < 4; i++)
        assert_true(fabs(out[i] - XOR_Y[i]) < 0.1);
    /* the reported train loss is a mean of losses measured during the last
     * epoch: near the final loss, not far above it */
    assert_true(rep.final_train_loss < 2e-3);
    assert_true(isnan(rep.final_val_loss));
    mlp2_free(net);
}

static void test_learns_sine(void **state)
{
    (void)state;
    enum { M = 96, MV = 40 };
    double X[M], Y[M], Xv[MV], Yv[MV];
    sine_data(1, M, X, Y, 1.0);
    sine_data(2, MV, Xv, Yv, 1.0);
    mlp2 *net = new_net(1, 12, 1, 3);
    const double before = loss_of(net, MV, Xv, Yv);
    mlp2_train_config c = config(1500, 16, 0.01);
    c.lr_step = 500;
    c.lr_gamma = 0.5;
    recorder rec = {0};
    watch(&c, &rec);
    mlp2_train_report rep;
    assert_int_equal(mlp2_train(net, &c, M, X, Y, MV, Xv, Yv, &rep), MLP2_OK);
    assert_int_equal(rep.reason, MLP2_STOP_EPOCHS);
    assert_int_equal(rec.calls, 1500);
    const double after = loss_of(net, MV, Xv, Yv);
    assert_true(before > 0.1);
    assert_true(after < 5e-4);
    /* the validation loss reported is the model's, bit for bit */
    assert_true(rep.final_val_loss == after);
    assert_true(rec.val[1499] == after);
    assert_true(rep.best_loss == after && rep.best_epoch == 1500);
    mlp2_free(net);
}

/* ---- the mechanics, checked against manual steps ------------------------- */

/* m = 10, batch 4: batches of rows 0-3, 4-7 and 8-9 (the partial one). */
static void test_partial_batch(void **state)
{
    (void)state;
    enum { M = 10, NI = 3, NO = 2 };
    double X[M * NI], Y[M * NO];
    tu_rng r = tu_seed(5);
    tu_fill(&r, X, M * NI, -1.4, 1.6);
    tu_fill(&r, Y, M * NO, -0.9, 1.1);
    mlp2 *net = new_net(NI, 5, NO, 8);
    mlp2 *manual = clone_of(net);

    mlp2_train_config c = sgd_config(1, 4, 0.37);
    c.shuffle = 0;
    mlp2_train_report rep;
    assert_int_equal(mlp2_train(net, &c, M, X, Y, 0, NULL, NULL, &rep), MLP2_OK);

    double L[3];
    const size_t r0[3] = {0, 4, 8}, rows[3] = {4, 4, 2};
    for (int b = 0; b < 3; b++)
        assert_int_equal(mlp2_sgd_step(manual, NULL, rows[b], X + r0[b] * NI, Y + r0[b] * NO, 0.37, &L[b]),
                         MLP2_OK);
    assert_params_equal(net, manual);
    /* the epoch's loss: batch losses weighted by rows */
    double sum = 0.0;
    for (int b = 0; b < 3; b++)
        sum += L[b] * (double)rows[b];
    assert_true(rep.final_train_loss == sum / M);
    assert_int_equal(rep.epochs_run, 1);

    /* without the last batch the result would differ */
    mlp2 *two = clone_of(manual);
    assert_int_equal(mlp2_sgd_step(two, NULL, 2, X + 8 * NI, Y + 8 * NO, 0.37, NULL), MLP2_OK);
    assert_params_differ(two, manual);
    mlp2_free(two);
    mlp2_free(net);
    mlp2_free(manual);
}

/* Step decay: lr *= gamma after every lr_step epochs (torch's StepLR). */
static void test_step_decay(void **state)
{
    (void)state;
    enum { M = 12 };
    double X[M], Y[M];
    sine_data(9, M, X, Y, 1.0);
    mlp2 *net = new_net(1, 4, 1, 2);
    mlp2 *manual = clone_of(net), *constant = clone_of(net);
    mlp2_train_config c = sgd_config(7, 100, 0.3); /* one full batch per epoch, rows in order */
    c.shuffle = 0;
    c.lr_step = 2;
    c.lr_gamma = 0.5;
    assert_int_equal(mlp2_train(net, &c, M, X, Y, 0, NULL, NULL, NULL), MLP2_OK);
    const double lrs[7] = {0.3, 0.3, 0.15, 0.15, 0.075, 0.075, 0.0375};
    for (int e = 0; e < 7; e++)
        assert_int_equal(mlp2_sgd_step(manual, NULL, M, X, Y, lrs[e], NULL), MLP2_OK);
    assert_params_equal(net, manual);
    /* lr_gamma is ignored without lr_step, and then the lr stays */
    c.lr_step = 0;
    c.lr_gamma = NAN;
    mlp2 *t = clone_of(constant);
    assert_int_equal(mlp2_train(t, &c, M, X, Y, 0, NULL, NULL, NULL), MLP2_OK);
    for (int e = 0; e < 7; e++)
        assert_int_equal(mlp2_sgd_step(constant, NULL, M, X, Y, 0.3, NULL), MLP2_OK);
    assert_params_equal(t, constant);
    mlp2_free(t);
    mlp2_free(net);
    mlp2_free(manual);
    mlp2_free(constant);
}

/* Shuffling permutes the rows: one full batch gives the same step as the
 * unshuffled batch, up to the order of the sums. */
static void test_shuffle_is_permutation(void **state)
{
    (void)state;
    enum { M = 37, NI = 3 };
    double X[M * NI], Y[M];
    tu_rng r = tu_seed(6);
    tu_fill(&r, X, M * NI, -2.0, 2.0);
    tu_fill(&r, Y, M, -1.0, 1.0);
    mlp2 *a = new_net(NI, 6, 1, 4);
    mlp2 *b = clone_of(a);
    mlp2_train_config c = sgd_config(3, M, 0.5);
    c.shuffle = 1;
    assert_int_equal(mlp2_train(a, &c, M, X, Y, 0, NULL, NULL, NULL), MLP2_OK);
    c.shuffle = 0;
    assert_int_equal(mlp2_train(b, &c, M, X, Y, 0, NULL, NULL, NULL), MLP2_OK);
    double *pa = params_of(a), *pb = params_of(b);
    assert_true(tu_rel_err(pa, pb, n_params(a)) < 1e-13);
    free(pa);
    free(pb);
    mlp2_free(a);
    mlp2_free(b);
}

/* ---- determinism --------------------------------------------------------- */

static void test_reproducible(void **state)
{
    (void)state;
    enum { M = 50, MV = 20 };
    double X[M], Y[M], Xv[MV], Yv[MV];
    sine_data(3, M, X, Y, 1.0);
    sine_data(4, MV, Xv, Yv, 1.0);
    mlp2 *a = new_net(1, 8, 1, 12);
    mlp2 *b = clone_of(a), *d = clone_of(a), *u = clone_of(a);
    mlp2_train_config c = mlp2_train_defaults();
    c.epochs = 30;
    c.batch_size = 7; /* 7 full batches and a partial one of 1 */
    c.seed = 0x5eed;
    c.patience = 100;
    mlp2_train_report ra, rb, rd;
    assert_int_equal(mlp2_train(a, &c, M, X, Y, MV, Xv, Yv, &ra), MLP2_OK);
    assert_int_equal(mlp2_train(b, &c, M, X, Y, MV, Xv, Yv, &rb), MLP2_OK);
    assert_params_equal(a, b);
    assert_int_equal(ra.epochs_run, rb.epochs_run);
    assert_int_equal(ra.best_epoch, rb.best_epoch);
    assert_int_equal(ra.reason, rb.reason);
    assert_true(ra.best_loss == rb.best_loss && ra.final_train_loss == rb.final_train_loss &&
                ra.final_val_loss == rb.final_val_loss);
    c.seed = 0x5eee;
    assert_int_equal(mlp2_train(d, &c, M, X, Y, MV, Xv, Yv, &rd), MLP2_OK);
    assert_params_differ(a, d);
    /* and shuffling changed the path: unshuffled is different again */
    c.shuffle = 0;
    assert_int_equal(mlp2_train(u, &c, M, X, Y, MV, Xv, Yv, NULL), MLP2_OK);
    assert_params_differ(a, u);
    mlp2_free(a);
    mlp2_free(b);
    mlp2_free(d);
    mlp2_free(u);
}

/* ---- early stopping ------------------------------------------------------ */

/* Validation targets of half the amplitude: the validation loss falls while
 * the model grows towards them, then rises as it fits the training sine. */
static void test_early_stopping(void **state)
{
    (void)state;
    enum { M = 64, MV = 30, PATIENCE = 6 };
    double X[M], Y[M], Xv[MV], Yv[MV];
    sine_data(21, M, X, Y, 1.0);
    sine_data(22, MV, Xv, Yv, 0.5);
    mlp2 *net = new_net(1, 10, 1, 5);
    mlp2 *again = clone_of(net);
    mlp2_train_config c = config(2000, 8, 0.002); /* lr slow enough that the best epoch is well inside */
    c.patience = PATIENCE;
    recorder rec = {0};
    watch(&c, &rec);
    mlp2_train_report rep;
    assert_int_equal(mlp2_train(net, &c, M, X, Y, MV, Xv, Yv, &rep), MLP2_OK);
    assert_int_equal(rep.reason, MLP2_STOP_EARLY);
    assert_true(rep.best_epoch >= 5);
    assert_int_equal(rep.epochs_run, rep.best_epoch + PATIENCE);
    assert_int_equal(rec.calls, rep.epochs_run);
    /* best_loss is the smallest validation loss seen, at best_epoch */
    for (size_t e = 0; e < rec.calls; e++) {
        assert_int_equal(rec.epoch[e], e + 1);
        assert_true(rec.val[e] >= rep.best_loss);
    }
    assert_true(rec.val[rep.best_epoch - 1] == rep.best_loss);
    assert_true(rep.final_val_loss == rec.val[rec.calls - 1]);
    assert_true(rep.final_val_loss > rep.best_loss);
    /* the model holds the best parameters: its validation loss is best_loss,
     * and they are those of a run that ends at best_epoch */
    assert_true(loss_of(net, MV, Xv, Yv) == rep.best_loss);
    assert_run_ends_on(net, again, c, rep.best_epoch, M, X, Y, MV, Xv, Yv);
    mlp2_free(net);
    mlp2_free(again);
}

/* min_delta: an improvement must beat the best by more than min_delta. */
static void test_min_delta(void **state)
{
    (void)state;
    enum { M = 32, MV = 16 };
    double X[M], Y[M], Xv[MV], Yv[MV];
    sine_data(31, M, X, Y, 1.0);
    sine_data(32, MV, Xv, Yv, 1.0);
    mlp2 *net = new_net(1, 6, 1, 5);
    mlp2 *one = clone_of(net);
    mlp2_train_config c = config(100, 8, 0.01);
    c.patience = 4;
    c.min_delta = 1e9; /* nothing beats epoch 1 by that much */
    recorder rec = {0};
    watch(&c, &rec);
    mlp2_train_report rep;
    assert_int_equal(mlp2_train(net, &c, M, X, Y, MV, Xv, Yv, &rep), MLP2_OK);
    assert_int_equal(rep.reason, MLP2_STOP_EARLY);
    assert_int_equal(rep.best_epoch, 1);
    assert_int_equal(rep.epochs_run, 5);
    assert_true(rec.val[4] < rec.val[0]); /* it did improve, by less than min_delta */
    assert_true(rep.best_loss == rec.val[0]);
    assert_run_ends_on(net, one, c, 1, M, X, Y, MV, Xv, Yv);
    mlp2_free(net);
    mlp2_free(one);
}

/* Without a validation set the train loss is monitored; with patience > 0
 * the best epoch's parameters come back even when all epochs ran. */
static void test_best_on_train_loss(void **state)
{
    (void)state;
    enum { M = 40 };
    double X[M], Y[M];
    sine_data(41, M, X, Y, 1.0);
    mlp2 *net = new_net(1, 8, 1, 6);
    mlp2 *again = clone_of(net);
    mlp2_train_config c = mlp2_train_defaults();
    c.epochs = 40;
    c.batch_size = 3;
    c.optim = mlp2_optim_defaults(MLP2_OPTIM_MOMENTUM);
    c.optim.lr = 0.3; /* noisy: the train loss goes up and down */
    c.patience = 1000;
    recorder rec = {0};
    watch(&c, &rec);
    mlp2_train_report rep;
    assert_int_equal(mlp2_train(net, &c, M, X, Y, 0, NULL, NULL, &rep), MLP2_OK);
    assert_int_equal(rep.reason, MLP2_STOP_EPOCHS);
    assert_int_equal(rep.epochs_run, 40);
    size_t arg = 0;
    for (size_t e = 1; e < 40; e++) {
        assert_true(isnan(rec.val[e]));
        if (rec.train[e] < rec.train[arg])
            arg = e;
    }
    assert_int_equal(rep.best_epoch, arg + 1);
    assert_true(rep.best_loss == rec.train[arg]);
    assert_true(rep.final_train_loss == rec.train[39]);
    assert_run_ends_on(net, again, c, rep.best_epoch, M, X, Y, 0, NULL, NULL);
    mlp2_free(net);
    mlp2_free(again);
}

/* ---- callback and cancel -------------------------------------------------- */

static void test_callback_stop(void **state)
{
    (void)state;
    enum { M = 20 };
    double X[M], Y[M];
    sine_data(51, M, X, Y, 1.0);
    mlp2 *net = new_net(1, 5, 1, 1);
    mlp2 *three = clone_of(net);
    mlp2_train_config c = mlp2_train_defaults();
    c.epochs = 50;
    c.batch_size = 6;
    recorder rec = {.stop_at = 3};
    watch(&c, &rec);
    mlp2_train_report rep;
    assert_int_equal(mlp2_train(net, &c, M, X, Y, 0, NULL, NULL, &rep), MLP2_OK);
    assert_int_equal(rep.reason, MLP2_STOP_CALLBACK);
    assert_int_equal(rep.epochs_run, 3);
    assert_int_equal(rec.calls, 3);
    for (size_t e = 0; e < 3; e++) {
        assert_int_equal(rec.epoch[e], e + 1);
        assert_true(isfinite(rec.train[e]) && rec.train[e] > 0.0);
        assert_true(isnan(rec.val[e]));
    }
    assert_true(rep.final_train_loss == rec.train[2]);
    assert_int_equal(rep.best_epoch, 3);
    /* exactly three epochs ran */
    assert_run_ends_on(net, three, c, 3, M, X, Y, 0, NULL, NULL);
    mlp2_free(net);
    mlp2_free(three);
}

/* The flag is checked after every batch: raised by the callback after epoch
 * 2, training stops after the first batch of epoch 3. */
static void test_cancel(void **state)
{
    (void)state;
    enum { M = 20, B = 6 };
    double X[M], Y[M];
    sine_data(61, M, X, Y, 1.0);
    mlp2 *net = new_net(1, 5, 1, 1);
    mlp2 *manual = clone_of(net), *first = clone_of(net), *restored = clone_of(net);
    volatile sig_atomic_t flag = 0;
    mlp2_train_config c = sgd_config(50, B, 0.2);
    c.shuffle = 0;
    c.cancel = &flag;
    recorder rec = {.raise_at = 2, .flag = &flag};
    watch(&c, &rec);
    mlp2_train_report rep;
    assert_int_equal(mlp2_train(net, &c, M, X, Y, 0, NULL, NULL, &rep), MLP2_OK);
    assert_int_equal(rep.reason, MLP2_STOP_CANCELLED);
    assert_int_equal(rep.epochs_run, 2);
    assert_int_equal(rec.calls, 2);
    assert_true(rep.final_train_loss == rec.train[1]);
    /* two epochs of 4 batches, then one more batch */
    for (int e = 0; e < 2; e++)
        for (size_t r0 = 0; r0 < M; r0 += B)
            assert_int_equal(mlp2_sgd_step(manual, NULL, M - r0 < B ? M - r0 : B, X + r0, Y + r0, 0.2, NULL),
                             MLP2_OK);
    assert_int_equal(mlp2_sgd_step(manual, NULL, B, X, Y, 0.2, NULL), MLP2_OK);
    assert_params_equal(net, manual);

    /* raised before the start: one batch runs, no epoch completes */
    c.on_epoch = NULL;
    flag = 1;
    assert_int_equal(mlp2_train(first, &c, M, X, Y, 0, NULL, NULL, &rep), MLP2_OK);
    assert_int_equal(rep.reason, MLP2_STOP_CANCELLED);
    assert_int_equal(rep.epochs_run, 0);
    assert_int_equal(rep.best_epoch, 0);
    assert_true(isnan(rep.final_train_loss) && isnan(rep.final_val_loss) && isnan(rep.best_loss));
    mlp2 *one = clone_of(restored);
    assert_int_equal(mlp2_sgd_step(one, NULL, B, X, Y, 0.2, NULL), MLP2_OK);
    assert_params_equal(first, one);
    /* with patience > 0 the best parameters are epoch 0's: the initial ones */
    mlp2 *initial = clone_of(restored);
    c.patience = 3;
    assert_int_equal(mlp2_train(restored, &c, M, X, Y, 0, NULL, NULL, &rep), MLP2_OK);
    assert_int_equal(rep.reason, MLP2_STOP_CANCELLED);
    assert_int_equal(rep.best_epoch, 0);
    assert_params_equal(restored, initial);
    mlp2_free(one);
    mlp2_free(initial);
    mlp2_free(net);
    mlp2_free(manual);
    mlp2_free(first);
    mlp2_free(restored);
}

/* ---- non-finite values mid-training ------------------------------------- */

/* The callback poisons a training row after epoch 3 (the library only reads
 * the data; this stands for memory corrupted behind its back).  The first
 * batch of epoch 4 holds that row: training stops there with the parameters
 * of epoch 3, finite. */
static void test_nan_mid_training(void **state)
{
    (void)state;
    enum { M = 24, MV = 10 };
    double X[M], Y[M], Xv[MV], Yv[MV];
    sine_data(71, M, X, Y, 1.0);
    sine_data(72, MV, Xv, Yv, 1.0);
    for (int patience = 0; patience <= 2; patience += 2) {
        for (int shuffle = 0; shuffle <= 1; shuffle++) {
            double Xp[M];
            memcpy(Xp, X, sizeof Xp);
            mlp2 *net = new_net(1, 6, 1, 9);
            mlp2 *three = clone_of(net);
            mlp2_train_config c = config(20, 5, 0.01);
            c.shuffle = shuffle;
            c.patience = (size_t)patience;
            recorder rec = {.poison_at = 3, .poison = &Xp[0]};
            watch(&c, &rec);
            mlp2_train_report rep;
            assert_int_equal(mlp2_train(net, &c, M, Xp, Y, MV, Xv, Yv, &rep), MLP2_ENONFINITE);
            assert_int_equal(rep.reason, MLP2_STOP_NONFINITE);
            assert_int_equal(rep.epochs_run, 3);
            assert_int_equal(rec.calls, 3);
            assert_true(params_finite(net));
            assert_true(rep.final_val_loss == rec.val[2]);
            if (!shuffle || patience) {
                /* unshuffled, row 0 is in the first batch: the parameters are
                 * epoch 3's; with patience they are the best epoch's */
                if (!patience)
                    assert_int_equal(rep.best_epoch, 3);
                assert_true(rep.best_epoch >= 1 && rep.best_epoch <= 3);
                assert_true(rep.best_loss == rec.val[rep.best_epoch - 1]);
                assert_run_ends_on(net, three, c, rep.best_epoch, M, X, Y, MV, Xv, Yv);
            }
            mlp2_free(net);
            mlp2_free(three);
        }
    }
}

/* A learning rate far too large: the parameters grow until the loss
 * overflows.  Training stops with finite parameters. */
static void test_divergence(void **state)
{
    (void)state;
    enum { M = 16 };
    double X[M], Y[M];
    sine_data(81, M, X, Y, 1e150);
    mlp2 *net = new_net(1, 3, 1, 2);
    mlp2_train_config c = sgd_config(1000, 4, 10.0);
    mlp2_train_report rep;
    assert_int_equal(mlp2_train(net, &c, M, X, Y, 0, NULL, NULL, &rep), MLP2_ENONFINITE);
    assert_int_equal(rep.reason, MLP2_STOP_NONFINITE);
    assert_true(rep.epochs_run < 1000);
    assert_true(params_finite(net));
    double *p = params_of(net);
    double big = 0.0;
    for (size_t i = 0; i < n_params(net); i++)
        big = fmax(big, fabs(p[i]));
    assert_true(big > 1e150); /* it did diverge */
    free(p);
    mlp2_free(net);
}

/* ---- errors --------------------------------------------------------------- */

static void test_config_errors(void **state)
{
    (void)state;
    enum { M = 8 };
    double X[M * 2], Y[M], Xv[4 * 2], Yv[4];
    tu_rng r = tu_seed(90);
    tu_fill(&r, X, M * 2, -1, 1);
    tu_fill(&r, Y, M, -1, 1);
    tu_fill(&r, Xv, 8, -1, 1);
    tu_fill(&r, Yv, 4, -1, 1);
    mlp2 *net = new_net(2, 3, 1, 1);
    double *before = params_of(net);
    mlp2_train_report rep, sentinel;
    memset(&sentinel, 0xa5, sizeof sentinel);
    memset(&rep, 0xa5, sizeof rep);
    const mlp2_train_config ok = mlp2_train_defaults();
    mlp2_train_config c = ok;

#define EXPECT(status, ...)                                                    \
    do {                                                                       \
        assert_int_equal(mlp2_train(__VA_ARGS__, &rep), (status));             \
        assert_memory_equal(&rep, &sentinel, sizeof rep);                      \
        assert_params_are(net, before);                                        \
    } while (0)

    EXPECT(MLP2_EINVAL, NULL, &c, M, X, Y, 0, NULL, NULL);
    EXPECT(MLP2_EINVAL, net, NULL, M, X, Y, 0, NULL, NULL);
    EXPECT(MLP2_EINVAL, net, &c, 0, X, Y, 0, NULL, NULL);
    EXPECT(MLP2_EINVAL, net, &c, M, NULL, Y, 0, NULL, NULL);
    EXPECT(MLP2_EINVAL, net, &c, M, X, NULL, 0, NULL, NULL);
    EXPECT(MLP2_EINVAL, net, &c, M, X, Y, 4, NULL, Yv);
    EXPECT(MLP2_EINVAL, net, &c, M, X, Y, 4, Xv, NULL);
    EXPECT(MLP2_EINVAL, net, &c, M, X, Y, 0, Xv, Yv); /* m_val forgotten */

    c = ok;
    c.epochs = 0;
    EXPECT(MLP2_EINVAL, net, &c, M, X, Y, 0, NULL, NULL);
    c = ok;
    c.batch_size = 0;
    EXPECT(MLP2_EINVAL, net, &c, M, X, Y, 0, NULL, NULL);
    const double bad_gamma[] = {0.0, -0.5, 1.0000000000000002, 2.0, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad_gamma / sizeof *bad_gamma; i++) {
        c = ok;
        c.lr_step = 3;
        c.lr_gamma = bad_gamma[i];
        EXPECT(MLP2_EINVAL, net, &c, M, X, Y, 0, NULL, NULL);
    }
    const double bad_delta[] = {-1e-300, -1.0, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad_delta / sizeof *bad_delta; i++) {
        c = ok;
        c.min_delta = bad_delta[i];
        EXPECT(MLP2_EINVAL, net, &c, M, X, Y, 0, NULL, NULL);
    }
    c = ok;
    c.optim.lr = -1.0;
    EXPECT(MLP2_EINVAL, net, &c, M, X, Y, 0, NULL, NULL);
    c = ok;
    c.optim.kind = (mlp2_optim_kind)9;
    EXPECT(MLP2_EINVAL, net, &c, M, X, Y, 0, NULL, NULL);
    c = ok;
    c.optim.beta2 = 1.0;
    EXPECT(MLP2_EINVAL, net, &c, M, X, Y, 0, NULL, NULL);

    /* non-finite data, wherever it is: nothing changes */
    c = ok;
    double *arrays[4] = {X, Y, Xv, Yv};
    const size_t last[4] = {M * 2 - 1, M - 1, 7, 3};
    const double poison[2] = {NAN, -INFINITY};
    for (int a = 0; a < 4; a++)
        for (int p = 0; p < 2; p++) {
            const double keep = arrays[a][last[a]];
            arrays[a][last[a]] = poison[p];
            EXPECT(MLP2_ENONFINITE, net, &c, M, X, Y, 4, Xv, Yv);
            arrays[a][last[a]] = keep;
        }
#undef EXPECT

    /* and the report may be NULL */
    c.epochs = 2;
    assert_int_equal(mlp2_train(net, &c, M, X, Y, 4, Xv, Yv, NULL), MLP2_OK);
    free(before);
    mlp2_free(net);
}

/* Allocation failure at every allocation training makes: ENOMEM, the model
 * unchanged, nothing leaked.  All allocation happens before the first batch,
 * so the count does not grow with the epochs. */
typedef struct {
    size_t calls, fail_at, live;
} counter;

static void *count_alloc(void *ud, size_t size)
{
    counter *k = ud;
    if (++k->calls == k->fail_at)
        return NULL;
    void *p = malloc(size);
    if (p)
        k->live++;
    return p;
}

static void count_free(void *ud, void *p)
{
    counter *k = ud;
    k->live--;
    free(p);
}

static size_t allocations(mlp2 *net, const mlp2_train_config *c, size_t fail_at, mlp2_status *st,
                          size_t m, const double *X, const double *Y, size_t mv, const double *Xv,
                          const double *Yv)
{
    counter k = {.fail_at = fail_at};
    assert_int_equal(mlp2_set_allocator(count_alloc, count_free, &k), MLP2_OK);
    *st = mlp2_train(net, c, m, X, Y, mv, Xv, Yv, NULL);
    assert_int_equal(mlp2_set_allocator(NULL, NULL, NULL), MLP2_OK);
    assert_int_equal(k.live, 0);
    return k.calls;
}

static void test_out_of_memory(void **state)
{
    (void)state;
    enum { M = 30, MV = 9 };
    double X[M], Y[M], Xv[MV], Yv[MV];
    sine_data(91, M, X, Y, 1.0);
    sine_data(92, MV, Xv, Yv, 1.0);
    mlp2 *net = new_net(1, 4, 1, 1);
    mlp2 *copy = clone_of(net);
    double *before = params_of(net);
    mlp2_train_config c = mlp2_train_defaults();
    c.batch_size = 4;
    c.patience = 5;
    mlp2_status st;
    c.epochs = 1;
    const size_t n1 = allocations(copy, &c, 0, &st, M, X, Y, MV, Xv, Yv);
    assert_int_equal(st, MLP2_OK);
    c.epochs = 25;
    const size_t n25 = allocations(copy, &c, 0, &st, M, X, Y, MV, Xv, Yv);
    assert_int_equal(st, MLP2_OK);
    assert_int_equal(n1, n25); /* no allocation per epoch or batch */
    assert_true(n1 >= 4);
    for (size_t k = 1; k <= n25; k++) {
        assert_int_equal(allocations(net, &c, k, &st, M, X, Y, MV, Xv, Yv), k);
        assert_int_equal(st, MLP2_ENOMEM);
        assert_params_are(net, before);
    }
    free(before);
    mlp2_free(net);
    mlp2_free(copy);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_learns_xor),
        cmocka_unit_test(test_learns_sine),
        cmocka_unit_test(test_partial_batch),
        cmocka_unit_test(test_step_decay),
        cmocka_unit_test(test_shuffle_is_permutation),
        cmocka_unit_test(test_reproducible),
        cmocka_unit_test(test_early_stopping),
        cmocka_unit_test(test_min_delta),
        cmocka_unit_test(test_best_on_train_loss),
        cmocka_unit_test(test_callback_stop),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_nan_mid_training),
        cmocka_unit_test(test_divergence),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests_name("train", tests, NULL, NULL);
}
