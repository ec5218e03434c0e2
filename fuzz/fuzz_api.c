/* fuzz_api.c - arbitrary sizes, parameters, data and hyper-parameters
 * through create / set_params / workspace / predict / loss_grad / sgd_step /
 * optimizer steps / train.
 *
 * The bytes are decoded into small sizes (so that every input runs fast)
 * and into doubles that are mostly ordinary, sometimes raw bit patterns and
 * sometimes chosen specials (NaN, +-Inf, +-0, DBL_MAX, subnormals).  Every
 * call must either succeed with finite outputs or return a status the header
 * documents for it; a failed call leaves the parameters as they were; the
 * status for a non-finite input or a bad hyper-parameter is the exact one
 * documented; predict and loss_grad agree on the loss; and nothing leaks
 * (the counting allocator is back to zero live blocks at the end).  Any
 * violation aborts.
 *
 * The kind of network comes from the input's last byte (read, not consumed,
 * so that every older corpus input now runs on some kind): hidden activation
 * b % 3, head (b / 3) % 3; bit 7 set keeps the decoded targets as they are
 * (mostly invalid for a classification head: MLP2_EINVAL, nothing changed),
 * clear maps them onto valid ones (entries in [0, 1], or probability rows). */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mlp2.h>

#include "countalloc.h"

/* NAN and INFINITY are float constants: spelled as doubles, clang's
 * -Wdouble-promotion stays quiet */
#define DNAN ((double)NAN)
#define DINF ((double)INFINITY)

#define CHECK(cond)                                                             \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "fuzz_api: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                            \
        }                                                                       \
    } while (0)

typedef struct reader {
    const uint8_t *p;
    size_t n;
} reader;

static uint8_t u8(reader *r)
{
    if (r->n == 0)
        return 0;
    r->n--;
    return *r->p++;
}

static uint64_t u64(reader *r)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)u8(r) << (8 * i);
    return v;
}

/* A double: 3/4 of the time an ordinary value in about [-8, 8) with 16
 * bits of fraction, else a raw bit pattern or a special value. */
static double val(reader *r)
{
    static const double special[16] = {
        0.0, -0.0, DNAN, DINF, -DINF, DBL_MAX, -DBL_MAX, DBL_MIN,
        DBL_TRUE_MIN, 1e300, -1e300, 1e-300, 1e154, 709.5, -745.0, 1.0,
    };
    const uint8_t b = u8(r);
    if (b < 192) {
        const unsigned frac = (unsigned)u8(r) << 8 | u8(r);
        return ((double)b - 96.0) / 12.0 + (double)frac / 65536.0 / 12.0;
    }
    if (b < 224) {
        uint64_t u = u64(r);
        double x;
        memcpy(&x, &u, sizeof x);
        return x;
    }
    return special[b & 15];
}

static bool all_finite(const double *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return false;
    return true;
}

static void fill(reader *r, double *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = val(r);
}

static bool valid_optim(const mlp2_optim_config *c)
{
    if (!(isfinite(c->lr) && c->lr > 0) || !(isfinite(c->weight_decay) && c->weight_decay >= 0))
        return false;
    switch (c->kind) {
    case MLP2_OPTIM_SGD: return true;
    case MLP2_OPTIM_MOMENTUM: return c->momentum >= 0 && c->momentum < 1;
    case MLP2_OPTIM_ADAM:
        return c->beta1 >= 0 && c->beta1 < 1 && c->beta2 >= 0 && c->beta2 < 1 && isfinite(c->eps) && c->eps > 0;
    }
    return false;
}

static ca_state ca;

#define MAX_HIDDEN 8 /* hidden units of a decoded network, at most */

typedef struct run {
    mlp2 *net;
    mlp2_workspace *ws;
    size_t ni, nh, no, np, m;
    double *X, *Y, *Yp, *grad, *before, *after;
    bool finite_data;
    mlp2_hidden hidden;
    mlp2_head head;
    bool valid_targets; /* finite_data, and Y valid for the head */
} run;

/* Y valid for the head, as mlp2.h states it, checked plainly */
static bool targets_ok(const run *u)
{
    for (size_t i = 0; i < u->m; i++) {
        double sum = 0.0;
        for (size_t j = 0; j < u->no; j++) {
            const double y = u->Y[i * u->no + j];
            if (u->head == MLP2_HEAD_SIGMOID && !(y >= 0.0 && y <= 1.0))
                return false;
            if (u->head == MLP2_HEAD_SOFTMAX && !(y >= 0.0))
                return false;
            sum += y;
        }
        if (u->head == MLP2_HEAD_SOFTMAX && !(fabs(sum - 1.0) <= 1e-9))
            return false;
    }
    return true;
}

/* Map finite targets onto valid ones for the head (non-finite ones stay) */
static void make_valid(run *u)
{
    for (size_t i = 0; i < u->m; i++) {
        double *y = u->Y + i * u->no, sum = 0.0;
        for (size_t j = 0; j < u->no; j++) {
            if (u->head == MLP2_HEAD_LINEAR || !isfinite(y[j]))
                continue;
            y[j] = fabs(y[j]);
            if (u->head == MLP2_HEAD_SIGMOID)
                y[j] = y[j] / (1.0 + y[j]);
            sum += y[j];
        }
        if (u->head != MLP2_HEAD_SOFTMAX || !all_finite(y, u->no))
            continue;
        for (size_t j = 0; j < u->no; j++) /* a probability row; one-hot if it sums to 0 or Inf */
            y[j] = sum > 0.0 && isfinite(sum) ? y[j] / sum : (double)(j == 0);
    }
}

/* -(1/m) sum Y log A2 (softmax) or the binary cross-entropy (sigmoid) of
 * predict's output, plainly; NaN when an output is too close to 0 or 1 for
 * the plain formula to be accurate */
static double plain_cross_entropy(const run *u)
{
    double s = 0.0;
    for (size_t i = 0; i < u->m * u->no; i++) {
        const double p = u->Yp[i], y = u->Y[i];
        if (!(p >= 1e-6 && p <= 1.0 - 1e-6))
            return DNAN;
        s -= u->head == MLP2_HEAD_SOFTMAX ? y * log(p) : y * log(p) + (1.0 - y) * log(1.0 - p);
    }
    return s / (double)u->m;
}

/* How far two correct ways of computing the loss may lie apart:
 * (1/m) sum_i sum_k (|A2_ik - Y_ik| + 1 + e_ik) e_ik, each e_ik a plain bound
 * on the rounding of output k of row i before the head, summed to first
 * order through the network (A1 = f(X W1 + b1): |a| <= 1 for sigmoid and
 * tanh, |a| <= |z| for ReLU, f' <= 1; n + 2 roundings for a sum of n
 * products; 16 ulps for f itself; each rounding also up to DBL_TRUE_MIN
 * absolute, for results below the normal range, where eps times the
 * magnitude says nothing).  predict and loss_grad sum in different
 * orders (BLAS, the fused tail, the lanes, the rows path), so where the
 * outputs cancel (weights of 1e306 and -1e306 on two equal units) they may
 * differ by far more than 1e-9 of the loss and both be right to rounding.
 * The loss moves by at most (|r| + e/2) e for an output off by e (linear:
 * r = A2 - Y) and by |A2_k - Y_k| e_k per logit for the cross-entropies
 * (their derivative in the logits); the 1 covers both.  Inf when a sum of
 * magnitudes overflows: no check is possible there; a zero weight stops an
 * infinite bound (mul0: 0 Inf is 0 here, not NaN). */
static double mul0(double a, double b)
{
    return a == 0.0 || b == 0.0 ? 0.0 : a * b;
}

static double rounding_slack(const run *u, const double *theta)
{
    const double eps = DBL_EPSILON;
    const double *W1 = theta, *b1 = W1 + u->ni * u->nh, *W2 = b1 + u->nh, *b2 = W2 + u->nh * u->no;
    double amax[MAX_HIDDEN], aerr[MAX_HIDDEN], slack = 0.0;
    for (size_t i = 0; i < u->m; i++) {
        const double *x = u->X + i * u->ni;
        for (size_t j = 0; j < u->nh; j++) {
            double zabs = fabs(b1[j]);
            for (size_t l = 0; l < u->ni; l++)
                zabs += mul0(fabs(x[l]), fabs(W1[l * u->nh + j]));
            const double zerr = (double)(u->ni + 2) * (eps * zabs + DBL_TRUE_MIN);
            amax[j] = u->hidden == MLP2_HIDDEN_RELU ? zabs : 1.0;
            aerr[j] = zerr + 16.0 * (eps * amax[j] + DBL_TRUE_MIN);
        }
        for (size_t k = 0; k < u->no; k++) {
            double oabs = fabs(b2[k]), oerr = 0.0;
            for (size_t j = 0; j < u->nh; j++) {
                oabs += mul0(fabs(W2[j * u->no + k]), amax[j]);
                oerr += mul0(fabs(W2[j * u->no + k]), aerr[j]);
            }
            const double e = oerr + (double)(u->nh + 2) * (eps * oabs + DBL_TRUE_MIN);
            const size_t ik = i * u->no + k;
            slack += mul0(fabs(u->Yp[ik] - u->Y[ik]) + 1.0 + e, e);
        }
    }
    /* 2: the two computations may each be e off, in opposite directions */
    return 2.0 * slack / (double)u->m;
}

/* The parameters are as they were before the last call. */
static void check_unchanged(run *u)
{
    CHECK(mlp2_get_params(u->net, u->after) == MLP2_OK);
    CHECK(memcmp(u->before, u->after, u->np * sizeof(double)) == 0);
}

static void snap(run *u)
{
    CHECK(mlp2_get_params(u->net, u->before) == MLP2_OK);
}

static void forward_backward(run *u)
{
    /* predict */
    snap(u);
    mlp2_status st = mlp2_predict(u->net, u->ws, u->m, u->X, u->Yp);
    check_unchanged(u);
    if (!u->finite_data && !all_finite(u->X, u->m * u->ni))
        CHECK(st == MLP2_ENONFINITE);
    CHECK(st == MLP2_OK || st == MLP2_ENONFINITE);
    if (st == MLP2_OK)
        CHECK(all_finite(u->Yp, u->m * u->no));
    const bool pred_ok = st == MLP2_OK;

    /* loss and gradient */
    double loss = DNAN;
    st = mlp2_loss_grad(u->net, u->ws, u->m, u->X, u->Y, &loss, u->grad);
    check_unchanged(u);
    if (!u->finite_data)
        CHECK(st == MLP2_ENONFINITE);
    else if (!u->valid_targets)
        CHECK(st == MLP2_EINVAL && isnan(loss)); /* loss untouched */
    CHECK(st == MLP2_OK || st == MLP2_ENONFINITE || (st == MLP2_EINVAL && !u->valid_targets));
    if (st == MLP2_OK && u->head != MLP2_HEAD_LINEAR) {
        CHECK(isfinite(loss) && loss >= 0);
        CHECK(all_finite(u->grad, u->np));
        const double ref = pred_ok ? plain_cross_entropy(u) : DNAN;
        if (!isnan(ref))
            CHECK(fabs(ref - loss) <= 1e-9 * fabs(ref) + 1e-12 + rounding_slack(u, u->after));
    } else if (st == MLP2_OK) {
        CHECK(isfinite(loss) && loss >= 0);
        CHECK(all_finite(u->grad, u->np));
        if (pred_ok && loss < 1e200) {
            /* the loss of predict's output, computed plainly */
            double sse = 0;
            for (size_t i = 0; i < u->m * u->no; i++)
                sse += (u->Yp[i] - u->Y[i]) * (u->Yp[i] - u->Y[i]);
            const double ref = sse / (2.0 * (double)u->m);
            CHECK(fabs(ref - loss) <= 1e-9 * fabs(ref) + 1e-300 + rounding_slack(u, u->after));
        }
    }
    /* loss only */
    double loss2 = DNAN;
    mlp2_status st2 = mlp2_loss_grad(u->net, u->ws, u->m, u->X, u->Y, &loss2, NULL);
    CHECK(st2 == MLP2_OK || st2 == MLP2_ENONFINITE || (st2 == MLP2_EINVAL && !u->valid_targets));
    if (st == MLP2_OK && st2 == MLP2_OK)
        CHECK(memcmp(&loss, &loss2, sizeof loss) == 0);
}

static void one_input(reader *r, uint8_t kind)
{
    run u = {0};
    u.ni = 1 + u8(r) % 6;
    u.nh = 1 + u8(r) % MAX_HIDDEN;
    u.no = 1 + u8(r) % 4;
    u.m = 1 + u8(r) % 12;
    const size_t max_batch = u8(r) % 14; /* 0: ws == NULL */
    const uint64_t seed = u64(r);
    mlp2_spec spec = {u.ni, u.nh, u.no, (mlp2_hidden)(kind % 3), (mlp2_head)(kind / 3 % 3)};
    u.hidden = spec.hidden;
    u.head = spec.head;
    if (spec.head == MLP2_HEAD_SOFTMAX && u.no == 1) {
        mlp2 *sentinel = (mlp2 *)(void *)&ca;
        u.net = sentinel;
        CHECK(mlp2_create_spec(&u.net, &spec, seed) == MLP2_EINVAL && u.net == sentinel);
        u.no = spec.n_out = 2;
    }
    CHECK(mlp2_create_spec(&u.net, &spec, seed) == MLP2_OK);
    mlp2_spec got;
    CHECK(mlp2_get_spec(u.net, &got) == MLP2_OK && memcmp(&got, &spec, sizeof got) == 0);
    u.np = mlp2_n_params(u.net);
    CHECK(u.np == u.ni * u.nh + u.nh + u.nh * u.no + u.no);
    if (max_batch > 0) {
        CHECK(mlp2_workspace_create(&u.ws, u.net, max_batch) == MLP2_OK);
        CHECK(mlp2_workspace_max_batch(u.ws) == max_batch);
    }
    double *theta = malloc(u.np * sizeof(double));
    u.grad = malloc(u.np * sizeof(double));
    u.before = malloc(u.np * sizeof(double));
    u.after = malloc(u.np * sizeof(double));
    u.X = malloc(u.m * u.ni * sizeof(double));
    u.Y = malloc(u.m * u.no * sizeof(double));
    u.Yp = malloc(u.m * u.no * sizeof(double));
    CHECK(theta && u.grad && u.before && u.after && u.X && u.Y && u.Yp);

    /* parameters: the seeded ones, or decoded ones through set_params */
    if (u8(r) & 1) {
        fill(r, theta, u.np);
        snap(&u);
        mlp2_status st = mlp2_set_params(u.net, theta);
        if (all_finite(theta, u.np)) {
            CHECK(st == MLP2_OK);
            CHECK(mlp2_get_params(u.net, u.after) == MLP2_OK);
            CHECK(memcmp(theta, u.after, u.np * sizeof(double)) == 0);
        } else {
            CHECK(st == MLP2_ENONFINITE);
            check_unchanged(&u);
        }
    }
    fill(r, u.X, u.m * u.ni);
    fill(r, u.Y, u.m * u.no);
    if (!(kind & 0x80))
        make_valid(&u);
    u.finite_data = all_finite(u.X, u.m * u.ni) && all_finite(u.Y, u.m * u.no);
    u.valid_targets = u.finite_data && targets_ok(&u);

    forward_backward(&u);

    /* plain gradient steps */
    const int sgd_steps = u8(r) % 4;
    for (int s = 0; s < sgd_steps; s++) {
        const double lr = val(r);
        double loss = DNAN;
        snap(&u);
        mlp2_status st = mlp2_sgd_step(u.net, u.ws, u.m, u.X, u.Y, lr, &loss);
        if (!u.finite_data)
            CHECK(st == MLP2_ENONFINITE);
        else if (!u.valid_targets) /* the data are checked before lr */
            CHECK(st == MLP2_EINVAL);
        else if (!isfinite(lr))
            CHECK(st == MLP2_ENONFINITE);
        else if (!(lr > 0))
            CHECK(st == MLP2_EINVAL);
        CHECK(st == MLP2_OK || st == MLP2_ENONFINITE || st == MLP2_EINVAL);
        if (st == MLP2_OK) {
            CHECK(isfinite(loss));
            CHECK(mlp2_get_params(u.net, u.after) == MLP2_OK);
            CHECK(all_finite(u.after, u.np));
        } else {
            check_unchanged(&u);
        }
    }

    /* an optimizer with decoded hyper-parameters */
    mlp2_optim_config oc = {
        .kind = (mlp2_optim_kind)(u8(r) % 4), /* 3 is not a kind */
        .lr = val(r), .momentum = val(r), .beta1 = val(r), .beta2 = val(r),
        .eps = val(r), .weight_decay = val(r),
    };
    if (u8(r) & 1) { /* often the defaults, so that steps happen */
        const double lr = oc.lr;
        oc = mlp2_optim_defaults(oc.kind);
        if (isfinite(lr) && lr > 0 && lr < 10)
            oc.lr = lr;
    }
    mlp2_optim *opt = NULL;
    mlp2_status st = mlp2_optim_create(&opt, u.net, &oc);
    CHECK(st == (valid_optim(&oc) ? MLP2_OK : MLP2_EINVAL));
    const int opt_steps = u8(r) % 5;
    for (int s = 0; s < opt_steps && opt; s++) {
        /* the gradient at the current parameters, or decoded values */
        if (u8(r) & 1 || mlp2_loss_grad(u.net, u.ws, u.m, u.X, u.Y, NULL, u.grad) != MLP2_OK)
            fill(r, u.grad, u.np);
        const uint64_t t = mlp2_optim_steps(opt);
        snap(&u);
        st = mlp2_optim_step(opt, u.net, u.grad);
        if (!all_finite(u.grad, u.np))
            CHECK(st == MLP2_ENONFINITE);
        CHECK(st == MLP2_OK || st == MLP2_ENONFINITE);
        if (st == MLP2_OK) {
            CHECK(mlp2_optim_steps(opt) == t + 1);
            CHECK(mlp2_get_params(u.net, u.after) == MLP2_OK);
            CHECK(all_finite(u.after, u.np));
        } else {
            CHECK(mlp2_optim_steps(opt) == t);
            check_unchanged(&u);
        }
    }
    mlp2_optim_free(opt);

    forward_backward(&u);

    /* a short training run */
    if (u8(r) & 1) {
        mlp2_train_config tc = mlp2_train_defaults();
        tc.epochs = 1 + u8(r) % 3;
        tc.batch_size = 1 + u8(r) % (u.m + 1);
        tc.shuffle = u8(r) & 1;
        tc.seed = u8(r);
        tc.optim = oc;
        tc.patience = u8(r) % 3;
        tc.lr_step = u8(r) % 3;
        tc.lr_gamma = val(r);
        tc.min_delta = fabs(val(r));
        const size_t m_val = u8(r) % 3 ? 0 : u.m;
        const bool cfg_ok = valid_optim(&oc) && (tc.lr_step == 0 || (tc.lr_gamma > 0 && tc.lr_gamma <= 1)) &&
                            isfinite(tc.min_delta);
        mlp2_train_report rep;
        snap(&u);
        st = mlp2_train(u.net, &tc, u.m, u.X, u.Y, m_val, m_val ? u.X : NULL, m_val ? u.Y : NULL, &rep);
        if (!cfg_ok)
            CHECK(st == MLP2_EINVAL);
        else if (!u.finite_data)
            CHECK(st == MLP2_ENONFINITE);
        else if (!u.valid_targets)
            CHECK(st == MLP2_EINVAL);
        CHECK(st == MLP2_OK || st == MLP2_ENONFINITE || st == MLP2_EINVAL);
        if (st == MLP2_EINVAL || (st == MLP2_ENONFINITE && !u.finite_data))
            check_unchanged(&u);
        /* whatever happened, the model holds finite parameters */
        CHECK(mlp2_get_params(u.net, u.after) == MLP2_OK);
        CHECK(all_finite(u.after, u.np));
        if (st == MLP2_OK)
            CHECK(rep.epochs_run >= 1 && rep.epochs_run <= tc.epochs);
    }

    free(theta);
    free(u.grad);
    free(u.before);
    free(u.after);
    free(u.X);
    free(u.Y);
    free(u.Yp);
    mlp2_workspace_free(u.ws);
    mlp2_free(u.net);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool installed;
    if (!installed) {
        ca_install(&ca);
        installed = true;
    }
    reader r = {data, size};
    one_input(&r, size ? data[size - 1] : 0);
    CHECK(ca.live == 0);
    CHECK(ca.bad_frees == 0);
    return 0;
}
