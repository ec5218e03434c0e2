/* test_user_api.c - the parts of the API met when writing a small program
 * from the header alone: names of stop reasons, training defaults per
 * optimizer, naming the invalid field of a training configuration,
 * MLP2_ENOENT for a missing section, and the order of sections.
 * Expected values are the ones the header documents, written out here. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mlp2.h>

#include "testutil.h"

static void test_stop_reason_names(void **state)
{
    (void)state;
    assert_string_equal(mlp2_stop_reason_name(MLP2_STOP_EPOCHS), "epochs");
    assert_string_equal(mlp2_stop_reason_name(MLP2_STOP_EARLY), "early-stopping");
    assert_string_equal(mlp2_stop_reason_name(MLP2_STOP_CALLBACK), "callback");
    assert_string_equal(mlp2_stop_reason_name(MLP2_STOP_CANCELLED), "cancelled");
    assert_string_equal(mlp2_stop_reason_name(MLP2_STOP_NONFINITE), "non-finite");
    assert_string_equal(mlp2_stop_reason_name((mlp2_stop_reason)5), "unknown");
    assert_string_equal(mlp2_stop_reason_name((mlp2_stop_reason)-1), "unknown");
    /* static: the same pointer every time */
    assert_ptr_equal(mlp2_stop_reason_name(MLP2_STOP_EARLY), mlp2_stop_reason_name(MLP2_STOP_EARLY));
}

static void assert_optim_equal(const mlp2_optim_config *a, const mlp2_optim_config *b)
{
    assert_int_equal(a->kind, b->kind);
    assert_true(a->lr == b->lr && a->momentum == b->momentum && a->beta1 == b->beta1 && a->beta2 == b->beta2 &&
                a->eps == b->eps && a->weight_decay == b->weight_decay);
}

/* Everything but the optimizer is mlp2_train_defaults()'s; the optimizer is
 * the kind's own defaults (values from the header's documentation). */
static void test_train_defaults_for(void **state)
{
    (void)state;
    const mlp2_train_config base = mlp2_train_defaults();
    const double doc_lr[3] = {0.01, 0.01, 0.001}; /* SGD, MOMENTUM, ADAM */
    for (int k = MLP2_OPTIM_SGD; k <= MLP2_OPTIM_ADAM; k++) {
        mlp2_train_config c = mlp2_train_defaults_for((mlp2_optim_kind)k);
        mlp2_optim_config o = mlp2_optim_defaults((mlp2_optim_kind)k);
        assert_optim_equal(&c.optim, &o);
        assert_true(c.optim.lr == doc_lr[k]);
        assert_int_equal(c.epochs, base.epochs);
        assert_int_equal(c.batch_size, base.batch_size);
        assert_int_equal(c.shuffle, base.shuffle);
        assert_int_equal(c.seed, base.seed);
        assert_int_equal(c.lr_step, base.lr_step);
        assert_true(c.lr_gamma == base.lr_gamma && c.min_delta == base.min_delta);
        assert_int_equal(c.patience, base.patience);
        assert_null(c.on_epoch);
        assert_null(c.user);
        assert_null(c.cancel);
        assert_int_equal(mlp2_train_config_check(&c, NULL), MLP2_OK);
    }
    mlp2_train_config adam = mlp2_train_defaults_for(MLP2_OPTIM_ADAM);
    assert_optim_equal(&adam.optim, &base.optim);
    assert_true(mlp2_train_defaults_for(MLP2_OPTIM_MOMENTUM).optim.momentum == 0.9);
}

typedef struct {
    const char *field;                  /* expected name */
    void (*spoil)(mlp2_train_config *); /* makes exactly that field invalid */
} bad_case;

static void no_epochs(mlp2_train_config *c) { c->epochs = 0; }
static void no_batch(mlp2_train_config *c) { c->batch_size = 0; }
static void gamma_zero(mlp2_train_config *c) { c->lr_step = 5, c->lr_gamma = 0.0; }
static void gamma_nan(mlp2_train_config *c) { c->lr_step = 5, c->lr_gamma = NAN; }
static void gamma_big(mlp2_train_config *c) { c->lr_step = 5, c->lr_gamma = 1.5; }
static void delta_neg(mlp2_train_config *c) { c->min_delta = -1e-9; }
static void delta_inf(mlp2_train_config *c) { c->min_delta = INFINITY; }
static void kind_bad(mlp2_train_config *c) { c->optim.kind = (mlp2_optim_kind)7; }
static void lr_zero(mlp2_train_config *c) { c->optim.lr = 0.0; }
static void lr_nan(mlp2_train_config *c) { c->optim.lr = NAN; }
static void wd_neg(mlp2_train_config *c) { c->optim.weight_decay = -0.5; }
static void mom_one(mlp2_train_config *c) { c->optim = mlp2_optim_defaults(MLP2_OPTIM_MOMENTUM), c->optim.momentum = 1; }
static void beta1_bad(mlp2_train_config *c) { c->optim.beta1 = 1.0; }
static void beta2_bad(mlp2_train_config *c) { c->optim.beta2 = -0.1; }
static void eps_bad(mlp2_train_config *c) { c->optim.eps = 0.0; }
/* two bad fields: the first in the documented order is named */
static void two_bad(mlp2_train_config *c) { c->batch_size = 0, c->optim.lr = -1; }

static void test_config_check(void **state)
{
    (void)state;
    static const bad_case cases[] = {
        {"epochs", no_epochs},       {"batch_size", no_batch},  {"lr_gamma", gamma_zero},
        {"lr_gamma", gamma_nan},     {"lr_gamma", gamma_big},   {"min_delta", delta_neg},
        {"min_delta", delta_inf},    {"optim.kind", kind_bad},  {"optim.lr", lr_zero},
        {"optim.lr", lr_nan},        {"optim.weight_decay", wd_neg}, {"optim.momentum", mom_one},
        {"optim.beta1", beta1_bad},  {"optim.beta2", beta2_bad}, {"optim.eps", eps_bad},
        {"batch_size", two_bad},
    };
    mlp2 *net = NULL;
    assert_int_equal(mlp2_create(&net, 1, 2, 1, 3), MLP2_OK);
    const double X[4] = {0, 1, 2, 3}, Y[4] = {1, 0, 1, 0};
    const char *field = "not set";
    mlp2_train_config ok = mlp2_train_defaults();
    ok.epochs = 2;
    assert_int_equal(mlp2_train_config_check(&ok, &field), MLP2_OK);
    assert_null(field);
    /* a gamma outside (0, 1] is fine while there is no schedule */
    ok.lr_gamma = 7;
    assert_int_equal(mlp2_train_config_check(&ok, &field), MLP2_OK);
    /* momentum is not Adam's field: ignored there */
    ok.optim.momentum = 5;
    assert_int_equal(mlp2_train_config_check(&ok, &field), MLP2_OK);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mlp2_train_config c = mlp2_train_defaults();
        c.epochs = 2;
        cases[i].spoil(&c);
        field = NULL;
        assert_int_equal(mlp2_train_config_check(&c, &field), MLP2_EINVAL);
        assert_non_null(field);
        if (strcmp(field, cases[i].field) != 0)
            fail_msg("case %zu: named '%s', expected '%s'", i, field, cases[i].field);
        assert_int_equal(mlp2_train_config_check(&c, NULL), MLP2_EINVAL);
        /* mlp2_train refuses the same configurations */
        assert_int_equal(mlp2_train(net, &c, 4, X, Y, 0, NULL, NULL, NULL), MLP2_EINVAL);
    }
    assert_int_equal(mlp2_train_config_check(NULL, &field), MLP2_EINVAL);
    assert_string_equal(field, "cfg");
    mlp2_free(net);
}

static void test_enoent(void **state)
{
    (void)state;
    mlp2 *net = NULL;
    const void *d = NULL;
    size_t len = 0;
    assert_int_equal(mlp2_create(&net, 1, 1, 1, 1), MLP2_OK);
    assert_int_equal(mlp2_section_get(net, "nope", &d, &len), MLP2_ENOENT);
    assert_int_equal(mlp2_section_remove(net, "nope"), MLP2_ENOENT);
    /* arguments that are wrong stay MLP2_EINVAL, also when nothing exists */
    assert_int_equal(mlp2_section_get(NULL, "nope", &d, &len), MLP2_EINVAL);
    assert_int_equal(mlp2_section_get(net, NULL, &d, &len), MLP2_EINVAL);
    assert_int_equal(mlp2_section_get(net, "", &d, &len), MLP2_EINVAL);
    assert_int_equal(mlp2_section_remove(net, ""), MLP2_EINVAL);
    assert_int_equal(mlp2_section_remove(NULL, "nope"), MLP2_EINVAL);
    assert_string_equal(mlp2_strerror(MLP2_ENOENT), "no such section");
    assert_int_equal(MLP2_ENOENT, MLP2_EFORMAT + 1);
    mlp2_free(net);
}

static void assert_names(const mlp2 *net, const char *const *want, size_t n)
{
    assert_int_equal(mlp2_section_count(net), n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(mlp2_section_name(net, i), want[i]);
    assert_null(mlp2_section_name(net, n));
}

/* Insertion order, a replacement keeps its place, the file keeps the order. */
static void test_section_order(void **state)
{
    (void)state;
    mlp2 *net = NULL, *back = NULL;
    assert_int_equal(mlp2_create(&net, 2, 2, 1, 1), MLP2_OK);
    const char *names[] = {"zeta", "alpha", "mid"};
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(mlp2_section_set(net, names[i], names[i], strlen(names[i])), MLP2_OK);
    assert_names(net, names, 3);
    assert_int_equal(mlp2_section_set(net, "zeta", "new", 3), MLP2_OK); /* replace the first */
    assert_names(net, names, 3);
    char path[] = "/tmp/mlp2_order_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(mlp2_save(net, path), MLP2_OK);
    assert_int_equal(mlp2_load(&back, path), MLP2_OK);
    unlink(path);
    assert_names(back, names, 3);
    const void *d;
    size_t len;
    assert_int_equal(mlp2_section_get(back, "zeta", &d, &len), MLP2_OK);
    assert_int_equal(len, 3);
    assert_memory_equal(d, "new", 3);
    assert_int_equal(mlp2_section_remove(back, "zeta"), MLP2_OK);
    assert_names(back, names + 1, 2);
    assert_int_equal(mlp2_section_set(back, "zeta", "z", 1), MLP2_OK); /* set again: now last */
    const char *after[] = {"alpha", "mid", "zeta"};
    assert_names(back, after, 3);
    mlp2_free(net);
    mlp2_free(back);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stop_reason_names), cmocka_unit_test(test_train_defaults_for),
        cmocka_unit_test(test_config_check),      cmocka_unit_test(test_enoent),
        cmocka_unit_test(test_section_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
