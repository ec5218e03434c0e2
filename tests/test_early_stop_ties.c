/* test_early_stop_ties.c - early stopping on an exact plateau: a loss equal
 * to the best so far is not an improvement.
 *
 * With patience 2, a monitored loss that stays exactly the same from epoch 1
 * on must stop training after epoch 3 (epoch 1 improves on nothing; epochs 2
 * and 3 tie), with best_epoch 1.  A `<=` in the comparison would count every
 * tie as an improvement and run all the epochs.
 *
 * Two ways to an exact plateau, each asserted (the callback records every
 * epoch's losses, and they must be the same bits, or the test proves
 * nothing):
 *   - a learning rate so small (1e-300) that theta - lr*g rounds back to
 *     theta for every parameter (all of them are set well away from 0);
 *   - targets equal to the model's own predictions: the residual and so the
 *     gradient are exactly zero, and Adam's step 0 / (0 + eps) is zero. */
#include <stdbool.h>
#include <string.h>

#include <mlp2.h>

#include "testutil.h"

#define NI 2
#define NH 3
#define NO 1
#define M 40
#define EPOCHS 10

typedef struct {
    size_t calls;
    double train[EPOCHS + 1], val[EPOCHS + 1];
} curve;

static int record(void *user, size_t epoch, double train_loss, double val_loss)
{
    curve *c = user;
    assert_true(epoch >= 1 && epoch <= EPOCHS);
    c->train[epoch] = train_loss;
    c->val[epoch] = val_loss;
    c->calls++;
    return 0;
}

/* parameters away from zero, so that a 1e-300 step rounds away */
static mlp2 *make_net(void)
{
    mlp2 *net = NULL;
    assert_int_equal(mlp2_create(&net, NI, NH, NO, 21), MLP2_OK);
    double theta[NI * NH + NH + NH * NO + NO];
    assert_int_equal(mlp2_n_params(net), sizeof theta / sizeof theta[0]);
    tu_rng r = tu_seed(4);
    for (size_t i = 0; i < sizeof theta / sizeof theta[0]; i++)
        theta[i] = (tu_next(&r) & 1 ? 1 : -1) * tu_uniform(&r, 0.2, 1.3);
    assert_int_equal(mlp2_set_params(net, theta), MLP2_OK);
    return net;
}

/* train with patience 2 and check the run stopped after epoch 3 on an
 * exact plateau of the monitored loss */
static void expect_stop_after_3(mlp2 *net, mlp2_train_config *cfg, const double *X, const double *Y,
                                size_t m_val, const double *Xv, const double *Yv)
{
    curve c = {0};
    cfg->epochs = EPOCHS;
    cfg->patience = 2;
    cfg->min_delta = 0.0;
    cfg->on_epoch = record;
    cfg->user = &c;
    mlp2_train_report rep;
    double before[NI * NH + NH + NH * NO + NO], after[sizeof before / sizeof before[0]];
    assert_int_equal(mlp2_get_params(net, before), MLP2_OK);
    assert_int_equal(mlp2_train(net, cfg, M, X, Y, m_val, Xv, Yv, &rep), MLP2_OK);
    assert_int_equal(mlp2_get_params(net, after), MLP2_OK);

    /* the premise: a plateau, the same bits in every epoch that ran */
    const double *mon = m_val ? c.val : c.train;
    assert_true(c.calls >= 3);
    for (size_t e = 2; e <= c.calls; e++)
        assert_memory_equal(&mon[e], &mon[1], sizeof(double));
    assert_memory_equal(before, after, sizeof before);

    /* ties are not improvements: stop after epoch 1 + patience */
    assert_int_equal(rep.reason, MLP2_STOP_EARLY);
    assert_int_equal(rep.epochs_run, 3);
    assert_int_equal(c.calls, 3);
    assert_int_equal(rep.best_epoch, 1);
    assert_memory_equal(&rep.best_loss, &mon[1], sizeof(double));
}

static void make_data(double *X, double *Y, size_t m, uint64_t seed)
{
    tu_rng r = tu_seed(seed);
    tu_fill(&r, X, m * NI, -1.3, 1.7);
    for (size_t i = 0; i < m; i++)
        Y[i] = sin(2.1 * X[i * NI]) + 0.4 * X[i * NI + 1];
}

/* the training loss is monitored (no validation set) */
static void test_train_loss_plateau(void **state)
{
    (void)state;
    double X[M * NI], Y[M];
    make_data(X, Y, M, 1);
    mlp2 *net = make_net();
    mlp2_train_config cfg = mlp2_train_defaults();
    cfg.optim = mlp2_optim_defaults(MLP2_OPTIM_SGD);
    cfg.optim.lr = 1e-300;
    cfg.batch_size = 8;
    cfg.shuffle = 0; /* the epoch's loss sums batch losses: the same batches, the same bits */
    expect_stop_after_3(net, &cfg, X, Y, 0, NULL, NULL);
    mlp2_free(net);
}

/* the validation loss is monitored */
static void test_val_loss_plateau(void **state)
{
    (void)state;
    double X[M * NI], Y[M], Xv[M * NI], Yv[M];
    make_data(X, Y, M, 2);
    make_data(Xv, Yv, M, 3);
    mlp2 *net = make_net();
    mlp2_train_config cfg = mlp2_train_defaults();
    cfg.optim = mlp2_optim_defaults(MLP2_OPTIM_MOMENTUM);
    cfg.optim.lr = 1e-300;
    cfg.batch_size = 16;
    expect_stop_after_3(net, &cfg, X, Y, M, Xv, Yv);
    mlp2_free(net);
}

/* a converged model: targets are its own predictions, the gradient is zero */
static void test_converged_plateau(void **state)
{
    (void)state;
    double X[M * NI], Y[M];
    make_data(X, Y, M, 5);
    mlp2 *net = make_net();
    assert_int_equal(mlp2_predict(net, NULL, M, X, Y), MLP2_OK);
    mlp2_train_config cfg = mlp2_train_defaults(); /* Adam, lr 1e-3 */
    cfg.batch_size = M;
    expect_stop_after_3(net, &cfg, X, Y, 0, NULL, NULL);
    mlp2_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_train_loss_plateau),
        cmocka_unit_test(test_val_loss_plateau),
        cmocka_unit_test(test_converged_plateau),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
