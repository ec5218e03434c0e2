/* test_oom.c - allocation failure through every public entry point that
 * allocates (SQLite's test_malloc.c loop).
 *
 * The library's one allocation path is the allocator given to
 * mlp2_set_allocator().  Here it is countalloc.h's counting allocator.  For
 * each entry point and for k = 1, 2, ... the k-th allocation of the call is
 * made to fail (once, and in a second pass from then on), until the call
 * makes it through without meeting the failure.  Every failed call must
 *   - return MLP2_ENOMEM (mlp2_save may say MLP2_EIO instead),
 *   - leave everything it was given as it was: model parameters and
 *     sections, data arrays, output arrays and output pointers, the model
 *     file on disk and the folder around it,
 *   - and free all it allocated: the live block count returns to the
 *     baseline taken before the call (a leak check that needs no ASan).
 * The successful call's results are then freed and the count checked again.
 *
 * A second group checks the promise "no function allocates when given a
 * workspace": the calls of the hot path make zero allocation requests.
 */
#include <dirent.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "countalloc.h"
#include "snapshot.h"
#include "testutil.h"

#define N_IN 3
#define N_HID 5
#define N_OUT 2
#define M 11      /* training rows */
#define M_VAL 4   /* validation rows */
#define MAX_K 100000

static ca_state ca;

/* Everything an entry point is given or may write.  Set up fresh for each
 * entry point, with the counting allocator installed but disarmed. */
static struct fixture {
    mlp2 *net;
    mlp2 *cls; /* a classifier: ReLU hidden units, softmax head; targets Yc, Yvc */
    double Yc[M * N_OUT], Yvc[M_VAL * N_OUT];
    mlp2_workspace *ws;
    mlp2_optim *opt;
    double X[M * N_IN], Y[M * N_OUT], Xv[M_VAL * N_IN], Yv[M_VAL * N_OUT];
    double Yp[M * N_OUT], grad[128], loss;
    mlp2_train_report report;
    /* output pointers, preset to sentinels that a failed call must keep */
    mlp2 *out_net;
    mlp2_workspace *out_ws;
    mlp2_optim *out_opt;
    char dir[64], path[96];
    unsigned char *file; /* the saved model's bytes */
    size_t file_len;
} fx;

static char sentinel_obj[3];
#define NET_SENTINEL ((mlp2 *)(void *)&sentinel_obj[0])
#define WS_SENTINEL ((mlp2_workspace *)(void *)&sentinel_obj[1])
#define OPT_SENTINEL ((mlp2_optim *)(void *)&sentinel_obj[2])

/* ---- snapshots ---------------------------------------------------------- */

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? 2 * cap : 4096;
            unsigned char *g = realloc(buf, cap);
            assert_non_null(g);
            buf = g;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    assert_int_equal(ferror(f), 0);
    fclose(f);
    *len = n;
    return buf;
}

/* A byte image of the model: sizes, parameters, then each section's name
 * and data.  Two models are the same exactly when their images are. */
static void img_model(image *im, const mlp2 *net)
{
    size_t sz[4] = {mlp2_n_in(net), mlp2_n_hidden(net), mlp2_n_out(net), mlp2_section_count(net)};
    img_put(im, sz, sizeof sz);
    double theta[128];
    assert_true(mlp2_n_params(net) <= 128);
    /* get_params and section_get do not allocate: safe while armed */
    assert_int_equal(mlp2_get_params(net, theta), MLP2_OK);
    img_put(im, theta, mlp2_n_params(net) * sizeof(double));
    for (size_t i = 0; i < sz[3]; i++) {
        const char *name = mlp2_section_name(net, i);
        const void *data;
        size_t len;
        assert_non_null(name);
        assert_int_equal(mlp2_section_get(net, name, &data, &len), MLP2_OK);
        img_put(im, name, strlen(name) + 1);
        img_put(im, &len, sizeof len);
        img_put(im, data, len);
    }
}

/* Everything a call may not change when it fails. */
static image snapshot(void)
{
    image im = {0};
    img_model(&im, fx.net);
    img_model(&im, fx.cls);
    mlp2_spec spec;
    assert_int_equal(mlp2_get_spec(fx.cls, &spec), MLP2_OK);
    img_put(&im, &spec.hidden, sizeof spec.hidden);
    img_put(&im, &spec.head, sizeof spec.head);
    img_put(&im, fx.Yc, sizeof fx.Yc);
    img_put(&im, fx.Yvc, sizeof fx.Yvc);
    img_put(&im, fx.X, sizeof fx.X);
    img_put(&im, fx.Y, sizeof fx.Y);
    img_put(&im, fx.Xv, sizeof fx.Xv);
    img_put(&im, fx.Yv, sizeof fx.Yv);
    img_put(&im, fx.Yp, sizeof fx.Yp);
    img_put(&im, fx.grad, sizeof fx.grad);
    img_put(&im, &fx.loss, sizeof fx.loss);
    img_put(&im, &fx.out_net, sizeof fx.out_net);
    img_put(&im, &fx.out_ws, sizeof fx.out_ws);
    img_put(&im, &fx.out_opt, sizeof fx.out_opt);
    img_put(&im, &fx.opt, sizeof fx.opt);
    img_put(&im, &fx.report, sizeof fx.report);
    uint64_t steps = mlp2_optim_steps(fx.opt);
    img_put(&im, &steps, sizeof steps);
    size_t flen = 0;
    unsigned char *f = read_file(fx.path, &flen);
    img_put(&im, &flen, sizeof flen);
    if (f)
        img_put(&im, f, flen);
    free(f);
    size_t nd = dir_entries(fx.dir);
    img_put(&im, &nd, sizeof nd);
    return im;
}

static void assert_same_image(const image *a, const image *b, const char *what, size_t k)
{
    if (a->n != b->n || memcmp(a->b, b->b, a->n) != 0) {
        print_error("%s: failure at allocation %zu changed its inputs\n", what, k);
        fail();
    }
}

/* ---- fixture ------------------------------------------------------------ */

static int setup(void **state)
{
    (void)state;
    ca_install(&ca);
    memset(&fx, 0, sizeof fx);
    tu_rng r = tu_seed(2718);
    tu_fill(&r, fx.X, M * N_IN, -1.3, 1.7);
    tu_fill(&r, fx.Y, M * N_OUT, -0.6, 0.9);
    tu_fill(&r, fx.Xv, M_VAL * N_IN, -1.3, 1.7);
    tu_fill(&r, fx.Yv, M_VAL * N_OUT, -0.6, 0.9);
    for (size_t i = 0; i < M * N_OUT; i++)
        fx.Yp[i] = -12345.678;
    for (size_t i = 0; i < 128; i++)
        fx.grad[i] = 9876.5;
    fx.loss = -1.0;
    memset(&fx.report, 0x5a, sizeof fx.report);

    assert_int_equal(mlp2_create(&fx.net, N_IN, N_HID, N_OUT, 31337), MLP2_OK);
    const char scale[] = "mean 0.25 sd 1.75";
    const unsigned char blob[5] = {0, 1, 2, 254, 255};
    assert_int_equal(mlp2_section_set(fx.net, "scale", scale, sizeof scale), MLP2_OK);
    assert_int_equal(mlp2_section_set(fx.net, "blob", blob, sizeof blob), MLP2_OK);
    assert_int_equal(mlp2_section_set(fx.net, "empty", NULL, 0), MLP2_OK);
    assert_int_equal(mlp2_workspace_create(&fx.ws, fx.net, 4), MLP2_OK);
    const mlp2_spec cs = {N_IN, N_HID, N_OUT, MLP2_HIDDEN_RELU, MLP2_HEAD_SOFTMAX};
    assert_int_equal(mlp2_create_spec(&fx.cls, &cs, 4), MLP2_OK);
    size_t labels[M];
    for (size_t i = 0; i < M; i++)
        labels[i] = fx.X[i * N_IN] > 0.2;
    assert_int_equal(mlp2_onehot(M, N_OUT, labels, fx.Yc), MLP2_OK);
    assert_int_equal(mlp2_onehot(M_VAL, N_OUT, labels, fx.Yvc), MLP2_OK);
    mlp2_optim_config oc = mlp2_optim_defaults(MLP2_OPTIM_ADAM);
    assert_int_equal(mlp2_optim_create(&fx.opt, fx.net, &oc), MLP2_OK);

    snprintf(fx.dir, sizeof fx.dir, "/tmp/mlp2-oom-XXXXXX");
    assert_non_null(mkdtemp(fx.dir));
    snprintf(fx.path, sizeof fx.path, "%s/model.mlp2", fx.dir);
    assert_int_equal(mlp2_save(fx.net, fx.path), MLP2_OK);
    fx.file = read_file(fx.path, &fx.file_len);
    assert_non_null(fx.file);

    fx.out_net = NET_SENTINEL;
    fx.out_ws = WS_SENTINEL;
    fx.out_opt = OPT_SENTINEL;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ca_disarm(&ca);
    mlp2_optim_free(fx.opt);
    mlp2_workspace_free(fx.ws);
    mlp2_free(fx.net);
    mlp2_free(fx.cls);
    assert_int_equal(ca.live, 0);
    assert_int_equal(ca.bad_frees, 0);
    free(fx.file);
    unlink(fx.path);
    assert_int_equal(dir_entries(fx.dir), 2); /* no temporary file left behind */
    rmdir(fx.dir);
    mlp2_set_allocator(NULL, NULL, NULL);
    return 0;
}

/* ---- the entry points --------------------------------------------------- */

static mlp2_status op_create(void) { return mlp2_create(&fx.out_net, N_IN, N_HID, N_OUT, 99); }
static mlp2_status op_clone(void) { return mlp2_clone(&fx.out_net, fx.net); }
static mlp2_status op_workspace(void) { return mlp2_workspace_create(&fx.out_ws, fx.net, 7); }
static mlp2_status op_predict(void) { return mlp2_predict(fx.net, NULL, M, fx.X, fx.Yp); }
static mlp2_status op_loss_grad(void)
{
    return mlp2_loss_grad(fx.net, NULL, M, fx.X, fx.Y, &fx.loss, fx.grad);
}
static mlp2_status op_loss_only(void) { return mlp2_loss_grad(fx.net, NULL, M, fx.X, fx.Y, &fx.loss, NULL); }
static mlp2_status op_sgd_step(void) { return mlp2_sgd_step(fx.net, NULL, M, fx.X, fx.Y, 0.05, &fx.loss); }

static mlp2_status optim_kind(mlp2_optim_kind kind)
{
    mlp2_optim_config oc = mlp2_optim_defaults(kind);
    oc.weight_decay = 0.01;
    return mlp2_optim_create(&fx.out_opt, fx.net, &oc);
}
static mlp2_status op_optim_sgd(void) { return optim_kind(MLP2_OPTIM_SGD); }
static mlp2_status op_optim_momentum(void) { return optim_kind(MLP2_OPTIM_MOMENTUM); }
static mlp2_status op_optim_adam(void) { return optim_kind(MLP2_OPTIM_ADAM); }

static mlp2_status train(mlp2_optim_kind kind, bool val, bool shuffle)
{
    mlp2_train_config tc = mlp2_train_defaults();
    tc.epochs = 4;
    tc.batch_size = 3;
    tc.shuffle = shuffle;
    tc.seed = 5;
    tc.optim = mlp2_optim_defaults(kind);
    tc.optim.lr = 0.05;
    tc.patience = val ? 2 : 0;
    tc.lr_step = 2;
    tc.lr_gamma = 0.5;
    return mlp2_train(fx.net, &tc, M, fx.X, fx.Y, val ? M_VAL : 0, val ? fx.Xv : NULL,
                      val ? fx.Yv : NULL, &fx.report);
}
static mlp2_status op_train_plain(void) { return train(MLP2_OPTIM_SGD, false, false); }
static mlp2_status op_train_full(void) { return train(MLP2_OPTIM_ADAM, true, true); }
static mlp2_status op_train_momentum(void) { return train(MLP2_OPTIM_MOMENTUM, false, true); }

static mlp2_status op_save(void) { return mlp2_save(fx.net, fx.path); }

/* the classifier's kinds through every allocating call */
static mlp2_status op_create_spec(void)
{
    const mlp2_spec s = {N_IN, N_HID, N_OUT, MLP2_HIDDEN_TANH, MLP2_HEAD_SIGMOID};
    return mlp2_create_spec(&fx.out_net, &s, 99);
}
static mlp2_status op_clone_cls(void) { return mlp2_clone(&fx.out_net, fx.cls); }
static mlp2_status op_predict_cls(void) { return mlp2_predict(fx.cls, NULL, M, fx.X, fx.Yp); }
static mlp2_status op_loss_grad_cls(void)
{
    return mlp2_loss_grad(fx.cls, NULL, M, fx.X, fx.Yc, &fx.loss, fx.grad);
}
static mlp2_status op_sgd_step_cls(void) { return mlp2_sgd_step(fx.cls, NULL, M, fx.X, fx.Yc, 0.05, &fx.loss); }
static mlp2_status op_train_cls(void)
{
    mlp2_train_config tc = mlp2_train_defaults();
    tc.epochs = 3;
    tc.batch_size = 4;
    tc.patience = 2;
    return mlp2_train(fx.cls, &tc, M, fx.X, fx.Yc, M_VAL, fx.Xv, fx.Yvc, &fx.report);
}
static mlp2_status op_save_cls(void) { return mlp2_save(fx.cls, fx.path); }
/* a version-1 file (tests/data), whose header is shorter */
static mlp2_status op_load_v1(void)
{
    const char *dir = getenv("MLP2_TEST_DATA");
    char path[4096];
    snprintf(path, sizeof path, "%s/v1_model.mlp2", dir ? dir : ".");
    return mlp2_load(&fx.out_net, path);
}
static mlp2_status op_load(void) { return mlp2_load(&fx.out_net, fx.path); }
static mlp2_status op_load_buffer(void) { return mlp2_load_buffer(&fx.out_net, fx.file, fx.file_len); }

static mlp2_status op_section_new(void)
{
    static const char data[] = "a new section";
    return mlp2_section_set(fx.net, "new", data, sizeof data);
}
static mlp2_status op_section_replace(void)
{
    static const char data[] = "mean 1.5 sd 2.5 replaced";
    return mlp2_section_set(fx.net, "scale", data, sizeof data);
}
static mlp2_status op_section_new_empty(void) { return mlp2_section_set(fx.net, "nothing", NULL, 0); }

/* Free what a successful call produced (outputs that own memory). */
static void release_outputs(void)
{
    if (fx.out_net != NET_SENTINEL)
        mlp2_free(fx.out_net);
    if (fx.out_ws != WS_SENTINEL)
        mlp2_workspace_free(fx.out_ws);
    if (fx.out_opt != OPT_SENTINEL)
        mlp2_optim_free(fx.out_opt);
    fx.out_net = NET_SENTINEL;
    fx.out_ws = WS_SENTINEL;
    fx.out_opt = OPT_SENTINEL;
}

typedef struct oom_case {
    const char *name;
    mlp2_status (*run)(void);
    mlp2_status alt; /* a second acceptable failure status (MLP2_OK: none) */
    bool persistent;
    bool keeps;      /* success adds memory to the model (freed at teardown) */
} oom_case;

/* Fail allocation k, for k = 1, 2, ... until the call succeeds. */
static void oom_loop(void **state)
{
    const oom_case *c = *state;
    assert_non_null(c);
    size_t k;
    for (k = 1; k <= MAX_K; k++) {
        const size_t baseline = ca.live, baseline_bytes = ca.live_bytes;
        image before = snapshot();
        ca_arm(&ca, k, c->persistent);
        mlp2_status st = c->run();
        ca_disarm(&ca);
        if (!ca.failed) {
            /* the call got through all its allocations */
            if (st != MLP2_OK)
                print_error("%s: status %d without an injected failure\n", c->name, (int)st);
            assert_int_equal(st, MLP2_OK);
            release_outputs();
            if (!c->keeps) {
                assert_int_equal(ca.live, baseline);
                assert_int_equal(ca.live_bytes, baseline_bytes);
            }
            free(before.b);
            break;
        }
        if (st != MLP2_ENOMEM && (c->alt == MLP2_OK || st != c->alt)) {
            print_error("%s: allocation %zu failed, status %d (%s)\n", c->name, k, (int)st,
                        mlp2_strerror(st));
            fail();
        }
        image after = snapshot();
        assert_same_image(&before, &after, c->name, k);
        free(before.b);
        free(after.b);
        if (ca.live != baseline)
            print_error("%s: allocation %zu failed and %zu blocks leaked\n", c->name, k, ca.live - baseline);
        assert_int_equal(ca.live, baseline);
        assert_int_equal(ca.bad_frees, 0);
    }
    print_message("%s: %zu allocations, each made to fail in turn\n", c->name, k - 1);
    assert_true(k > 1);      /* the entry point does allocate: the loop tested something */
    assert_true(k <= MAX_K); /* and it came to an end */
}

/* ---- calls that must not allocate at all -------------------------------- */

static void no_alloc_hot_path(void **state)
{
    (void)state;
    double theta[128], loss;
    const void *data;
    size_t len;
    ca_arm(&ca, 1, true); /* any request fails and is counted */
    assert_int_equal(mlp2_predict(fx.net, fx.ws, M, fx.X, fx.Yp), MLP2_OK);
    assert_int_equal(mlp2_loss_grad(fx.net, fx.ws, M, fx.X, fx.Y, &loss, fx.grad), MLP2_OK);
    assert_int_equal(mlp2_sgd_step(fx.net, fx.ws, M, fx.X, fx.Y, 0.05, &loss), MLP2_OK);
    /* a classifier with the same shape uses the same workspace */
    size_t labels[M];
    assert_int_equal(mlp2_predict(fx.cls, fx.ws, M, fx.X, fx.Yp), MLP2_OK);
    assert_int_equal(mlp2_loss_grad(fx.cls, fx.ws, M, fx.X, fx.Yc, &loss, fx.grad), MLP2_OK);
    assert_int_equal(mlp2_sgd_step(fx.cls, fx.ws, M, fx.X, fx.Yc, 0.05, &loss), MLP2_OK);
    assert_int_equal(mlp2_classify(MLP2_HEAD_SOFTMAX, M, N_OUT, fx.Yp, labels), MLP2_OK);
    assert_int_equal(mlp2_onehot(M, N_OUT, labels, fx.Yp), MLP2_OK);
    assert_int_equal(mlp2_optim_step(fx.opt, fx.net, fx.grad), MLP2_OK);
    assert_int_equal(mlp2_optim_set_lr(fx.opt, 0.002), MLP2_OK);
    assert_int_equal(mlp2_get_params(fx.net, theta), MLP2_OK);
    assert_int_equal(mlp2_set_params(fx.net, theta), MLP2_OK);
    assert_int_equal(mlp2_section_get(fx.net, "scale", &data, &len), MLP2_OK);
    assert_int_equal(mlp2_section_remove(fx.net, "blob"), MLP2_OK);
    mlp2_optim_reset(fx.opt);
    ca_disarm(&ca);
    assert_int_equal(ca.calls, 0);
    assert_int_equal(ca.failed, false);
}

/* The allocator is process-wide and the objects made with it are freed
 * with it: swapping it back to malloc/free after all of them are freed
 * works, and a half-given allocator is refused. */
static void allocator_contract(void **state)
{
    (void)state;
    assert_int_equal(mlp2_set_allocator(ca_alloc, NULL, &ca), MLP2_EINVAL);
    assert_int_equal(mlp2_set_allocator(NULL, ca_free, &ca), MLP2_EINVAL);
    /* still the counting allocator after the refusals */
    const size_t before = ca.calls;
    mlp2 *n = NULL;
    assert_int_equal(mlp2_create(&n, 2, 2, 1, 1), MLP2_OK);
    assert_true(ca.calls > before);
    mlp2_free(n);
}

static const oom_case cases[] = {
    {"mlp2_create", op_create, MLP2_OK, false, false},
    {"mlp2_clone", op_clone, MLP2_OK, false, false},
    {"mlp2_workspace_create", op_workspace, MLP2_OK, false, false},
    {"mlp2_predict (ws NULL)", op_predict, MLP2_OK, false, false},
    {"mlp2_loss_grad (ws NULL)", op_loss_grad, MLP2_OK, false, false},
    {"mlp2_loss_grad (ws NULL, loss only)", op_loss_only, MLP2_OK, false, false},
    {"mlp2_sgd_step (ws NULL)", op_sgd_step, MLP2_OK, false, false},
    {"mlp2_optim_create (SGD)", op_optim_sgd, MLP2_OK, false, false},
    {"mlp2_optim_create (momentum)", op_optim_momentum, MLP2_OK, false, false},
    {"mlp2_optim_create (Adam)", op_optim_adam, MLP2_OK, false, false},
    {"mlp2_train (SGD, in order)", op_train_plain, MLP2_OK, false, false},
    {"mlp2_train (Adam, shuffled, validation, patience)", op_train_full, MLP2_OK, false, false},
    {"mlp2_train (momentum, shuffled)", op_train_momentum, MLP2_OK, false, false},
    {"mlp2_save", op_save, MLP2_EIO, false, false},
    {"mlp2_load", op_load, MLP2_OK, false, false},
    {"mlp2_load_buffer", op_load_buffer, MLP2_OK, false, false},
    {"mlp2_section_set (new)", op_section_new, MLP2_OK, false, true},
    {"mlp2_section_set (replace)", op_section_replace, MLP2_OK, false, true},
    {"mlp2_section_set (new, empty)", op_section_new_empty, MLP2_OK, false, true},
    {"mlp2_create_spec (tanh, sigmoid head)", op_create_spec, MLP2_OK, false, false},
    {"mlp2_clone (ReLU, softmax)", op_clone_cls, MLP2_OK, false, false},
    {"mlp2_predict (softmax, ws NULL)", op_predict_cls, MLP2_OK, false, false},
    {"mlp2_loss_grad (softmax, ws NULL)", op_loss_grad_cls, MLP2_OK, false, false},
    {"mlp2_sgd_step (softmax, ws NULL)", op_sgd_step_cls, MLP2_OK, false, false},
    {"mlp2_train (softmax, validation)", op_train_cls, MLP2_OK, false, false},
    {"mlp2_save (softmax)", op_save_cls, MLP2_EIO, false, false},
    {"mlp2_load (version-1 file)", op_load_v1, MLP2_OK, false, false},
};
#define N_CASES (sizeof cases / sizeof cases[0])

int main(void)
{
    /* each entry point twice: the k-th allocation fails once, then the
     * k-th and every later one fails */
    static oom_case both[2 * N_CASES];
    static char names[2 * N_CASES][96];
    struct CMUnitTest tests[2 * N_CASES + 2];
    size_t n = 0;
    for (size_t i = 0; i < 2 * N_CASES; i++) {
        both[i] = cases[i / 2];
        both[i].persistent = i % 2 == 1;
        snprintf(names[i], sizeof names[i], "%s%s", both[i].name, both[i].persistent ? " [persistent]" : "");
        both[i].name = names[i];
        tests[n++] = (struct CMUnitTest){names[i], oom_loop, setup, teardown, &both[i]};
    }
    tests[n++] = (struct CMUnitTest)cmocka_unit_test_setup_teardown(no_alloc_hot_path, setup, teardown);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test_setup_teardown(allocator_contract, setup, teardown);
    return _cmocka_run_group_tests("oom", tests, n, NULL, NULL);
}
