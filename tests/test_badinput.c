/* test_badinput.c - the bad-input matrix: every public function against
 * NULL pointers, zero and overflowing sizes, a workspace or model of another
 * shape, NaN and +-Inf in every array argument, and out-of-range, zero or
 * NaN learning rates and hyper-parameters.
 *
 * It is a table, not a set of test functions.  Each row names a function, up
 * to two changes to an otherwise valid call, and the exact status the header
 * promises.  The driver builds the valid call from a fresh fixture, applies
 * the changes, takes a byte image of everything the call can reach (the
 * model's parameters and sections, a second model, the workspace's scratch,
 * the optimizer's step count, every input and output array, the output
 * pointers, the report, the model file and its folder), makes the call, and
 * checks the status and that the image is unchanged.  Rows whose change is an
 * array value (V_NONFINITE) are run nine times: NaN, +Inf and -Inf at the
 * first, a middle and the last element.  Each function also has a row with
 * no change that must succeed, so every failure comes from the one change.
 *
 * Rows with V_KIND first turn the fixture's model into a classifier (its
 * hidden activation and head set directly, its targets Y and Yv made one-hot
 * rows, valid for either head); V_ROW0 then puts a bad target row in.
 *
 * White-box only to reach the workspace's scratch block and the model's
 * kinds (lib/internal.h).
 */
#include <dirent.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "countalloc.h"
#include "internal.h"
#include "snapshot.h"
#include "testutil.h"

/* NAN and INFINITY are float constants: spelled as doubles, clang's
 * -Wdouble-promotion stays quiet */
#define DNAN ((double)NAN)
#define DINF ((double)INFINITY)

#define N_IN 3
#define N_HID 4
#define N_OUT 2
#define N_PAR (N_IN * N_HID + N_HID + N_HID * N_OUT + N_OUT)
#define M 6
#define M_VAL 3
#define MAX_BATCH 4 /* smaller than M: the calls go through two chunks */
#define ALLOC_LIMIT ((size_t)1 << 30) /* larger single requests fail: ENOMEM without touching the OS */

/* ---- the functions ------------------------------------------------------ */

typedef enum fn {
    F_CREATE, F_CLONE, F_GET_PARAMS, F_SET_PARAMS, F_WS_CREATE, F_PREDICT, F_LOSS_GRAD, F_SGD_STEP,
    F_OPTIM_CREATE, F_OPTIM_STEP, F_OPTIM_SET_LR, F_TRAIN, F_SECTION_SET, F_SECTION_GET,
    F_SECTION_REMOVE, F_SAVE, F_LOAD, F_LOAD_BUFFER, F_SET_ALLOCATOR, F_SET_BLAS_THREADS,
    F_CREATE_SPEC, F_GET_SPEC, F_ONEHOT, F_CLASSIFY, F_COUNT
} fn;

static const char *const fn_names[F_COUNT] = {
    [F_CREATE] = "mlp2_create", [F_CLONE] = "mlp2_clone", [F_GET_PARAMS] = "mlp2_get_params",
    [F_SET_PARAMS] = "mlp2_set_params", [F_WS_CREATE] = "mlp2_workspace_create",
    [F_PREDICT] = "mlp2_predict", [F_LOSS_GRAD] = "mlp2_loss_grad", [F_SGD_STEP] = "mlp2_sgd_step",
    [F_OPTIM_CREATE] = "mlp2_optim_create", [F_OPTIM_STEP] = "mlp2_optim_step",
    [F_OPTIM_SET_LR] = "mlp2_optim_set_lr", [F_TRAIN] = "mlp2_train",
    [F_SECTION_SET] = "mlp2_section_set", [F_SECTION_GET] = "mlp2_section_get",
    [F_SECTION_REMOVE] = "mlp2_section_remove", [F_SAVE] = "mlp2_save", [F_LOAD] = "mlp2_load",
    [F_LOAD_BUFFER] = "mlp2_load_buffer", [F_SET_ALLOCATOR] = "mlp2_set_allocator",
    [F_SET_BLAS_THREADS] = "mlp2_set_blas_threads", [F_CREATE_SPEC] = "mlp2_create_spec",
    [F_GET_SPEC] = "mlp2_get_spec", [F_ONEHOT] = "mlp2_onehot", [F_CLASSIFY] = "mlp2_classify",
};

/* ---- the arguments: one valid call of every function -------------------- */

typedef struct args {
    /* output pointers */
    mlp2 **out_net;
    mlp2_workspace **out_ws;
    mlp2_optim **out_opt;
    /* objects */
    mlp2 *net;
    mlp2_workspace *ws;
    mlp2_optim *opt;
    /* sizes */
    size_t n_in, n_hidden, n_out, max_batch, m, m_val, len, buf_len;
    /* arrays (inputs point into the fixture's copies, which a row may poison) */
    const double *X, *Y, *Xv, *Yv, *theta_in, *grad_in;
    double *Yp, *loss, *grad_out, *theta_out;
    /* scalars and configurations */
    double lr;
    mlp2_optim_config *ocfg;
    mlp2_train_config *tcfg;
    mlp2_train_report *report;
    /* sections and files */
    const char *name, *path;
    const void *data, *buf;
    const void **data_out;
    size_t *len_out;
    /* process-wide settings */
    mlp2_alloc_fn alloc_fn;
    mlp2_free_fn free_fn;
    int threads;
    /* kinds and labels */
    mlp2_spec *spec;      /* create_spec: sizes from n_in, n_hidden, n_out */
    mlp2_spec *spec_out;
    mlp2_head head;       /* classify */
    const size_t *labels; /* onehot: M labels of N_OUT classes, into Yp */
    size_t *labels_out;   /* classify: labels of Y taken as outputs */
} args;

/* Which argument a row changes. */
typedef enum arg {
    A_NONE,
    /* pointers (V_NULL) */
    A_OUT, A_NET, A_WS, A_OPT, A_X, A_Y, A_XV, A_YV, A_THETA_IN, A_GRAD_IN, A_YP, A_LOSS, A_GRAD_OUT,
    A_THETA_OUT, A_OCFG, A_TCFG, A_REPORT, A_NAME, A_PATH, A_DATA, A_BUF, A_DATA_OUT, A_LEN_OUT,
    A_ALLOC_FN, A_FREE_FN, A_SPEC, A_SPEC_OUT, A_LABELS, A_LABELS_OUT,
    /* sizes (V_SIZE) */
    A_N_IN, A_N_HIDDEN, A_N_OUT, A_MAX_BATCH, A_M, A_M_VAL, A_LEN, A_BUF_LEN, A_THREADS,
    /* doubles (V_DOUBLE) */
    A_LR, A_OC_LR, A_OC_MOMENTUM, A_OC_BETA1, A_OC_BETA2, A_OC_EPS, A_OC_WD, A_TC_LR_GAMMA,
    A_TC_MIN_DELTA, A_TC_OPT_LR,
    /* config integers (V_SIZE) */
    A_OC_KIND, A_TC_EPOCHS, A_TC_BATCH, A_TC_LR_STEP, A_TC_OPT_KIND, A_TC_SHUFFLE,
    A_SPEC_HIDDEN, A_SPEC_HEAD, A_HEAD, A_LABEL_LAST /* the last label's value */
} arg;

typedef enum vkind {
    V_NONE,
    V_NULL,      /* the pointer becomes NULL */
    V_SIZE,      /* a size or integer: .z */
    V_DOUBLE,    /* a double: .d */
    V_NONFINITE, /* NaN, +Inf, -Inf put in one element of the array (nine runs) */
    V_OTHER,     /* the workspace / model / optimizer of another shape */
    V_STRING,    /* a string: .s ("" or a long name made by the driver for "<256>") */
    V_BIG,       /* the model's parameters become 1e308: computations overflow */
    V_KIND,      /* the fixture's model gets head .z and hidden activation .d; Y, Yv one-hot */
    V_ROW0,      /* row 0 of Y or Yv becomes row0_presets[.z] */
} vkind;

/* bad (and edge) first rows of a 2-wide target */
static const double row0_presets[][2] = {
    {0.5, 0.4},           /* 0: sums to 0.9 */
    {1.5, -0.5},          /* 1: a negative entry, sums to 1 */
    {1.0 + 2e-9, 0.0},    /* 2: sums to 1 + 2e-9 */
    {1.0 + 5e-10, 0.0},   /* 3: within 1e-9 of 1: valid for softmax */
    {0.25, 0.75},         /* 4: soft labels: valid for both heads */
    {1.5, 0.0},           /* 5: above 1 */
    {-0.01, 1.0},         /* 6: below 0 */
    {0.0, 0.0},           /* 7: valid for sigmoid, not a probability row */
};

typedef struct change {
    arg a;
    vkind v;
    size_t z;
    double d;
    const char *s;
} change;

/* What a failed call may have written besides its status. */
enum {
    MAY_OUTPUTS = 1, /* output arrays are unspecified (a computed overflow) */
    MAY_WS = 2,      /* the workspace's scratch was used */
};

typedef struct row {
    fn f;
    change c[2];
    mlp2_status want;
    int may;
} row;

#define C(A, V, ...) {.a = (A), .v = (V), __VA_ARGS__}
#define NUL(A) C(A, V_NULL, .z = 0)
#define SZ(A, Z) C(A, V_SIZE, .z = (Z))
#define DBL(A, D) C(A, V_DOUBLE, .d = (D))
#define NONFIN(A) C(A, V_NONFINITE, .z = 0)
#define OTHER(A) C(A, V_OTHER, .z = 0)
#define STR(A, S) C(A, V_STRING, .s = (S))
#define KIND(HEAD, HID) C(A_NET, V_KIND, .z = (HEAD), .d = (HID))
#define ROW0(A, K) C(A, V_ROW0, .z = (K))
#define SMAX MLP2_HEAD_SOFTMAX
#define SIGM MLP2_HEAD_SIGMOID

#define BIG_SIZE (SIZE_MAX / 2)
#define OVER_INT ((size_t)INT_MAX + 1)
#define K_MOM MLP2_OPTIM_MOMENTUM
#define K_ADAM MLP2_OPTIM_ADAM

static const row table[] = {
    /* mlp2_create(out, n_in, n_hidden, n_out, seed) */
    {F_CREATE, {{0}}, MLP2_OK, 0},
    {F_CREATE, {NUL(A_OUT)}, MLP2_EINVAL, 0},
    {F_CREATE, {SZ(A_N_IN, 0)}, MLP2_EINVAL, 0},
    {F_CREATE, {SZ(A_N_HIDDEN, 0)}, MLP2_EINVAL, 0},
    {F_CREATE, {SZ(A_N_OUT, 0)}, MLP2_EINVAL, 0},
    {F_CREATE, {SZ(A_N_IN, BIG_SIZE)}, MLP2_ERANGE, 0},
    {F_CREATE, {SZ(A_N_HIDDEN, BIG_SIZE)}, MLP2_ERANGE, 0},
    {F_CREATE, {SZ(A_N_OUT, BIG_SIZE)}, MLP2_ERANGE, 0},
    {F_CREATE, {SZ(A_N_IN, OVER_INT)}, MLP2_ERANGE, 0},
    {F_CREATE, {SZ(A_N_HIDDEN, OVER_INT)}, MLP2_ERANGE, 0},
    {F_CREATE, {SZ(A_N_OUT, OVER_INT)}, MLP2_ERANGE, 0},
    {F_CREATE, {SZ(A_N_IN, SIZE_MAX)}, MLP2_ERANGE, 0},
    /* each size fits in int, the parameter count's bytes overflow size_t */
    {F_CREATE, {SZ(A_N_IN, INT_MAX), SZ(A_N_HIDDEN, INT_MAX)}, MLP2_ERANGE, 0},
    {F_CREATE, {SZ(A_N_HIDDEN, INT_MAX), SZ(A_N_OUT, INT_MAX)}, MLP2_ERANGE, 0},
    /* representable but too large for memory: the allocator refuses */
    {F_CREATE, {SZ(A_N_IN, (size_t)1 << 28), SZ(A_N_HIDDEN, (size_t)1 << 28)}, MLP2_ENOMEM, 0},
    {F_CREATE, {SZ(A_N_IN, INT_MAX)}, MLP2_ENOMEM, 0},

    /* mlp2_clone(out, src) */
    {F_CLONE, {{0}}, MLP2_OK, 0},
    {F_CLONE, {NUL(A_OUT)}, MLP2_EINVAL, 0},
    {F_CLONE, {NUL(A_NET)}, MLP2_EINVAL, 0},

    /* mlp2_get_params(net, theta) */
    {F_GET_PARAMS, {{0}}, MLP2_OK, 0},
    {F_GET_PARAMS, {NUL(A_NET)}, MLP2_EINVAL, 0},
    {F_GET_PARAMS, {NUL(A_THETA_OUT)}, MLP2_EINVAL, 0},

    /* mlp2_set_params(net, theta) */
    {F_SET_PARAMS, {{0}}, MLP2_OK, 0},
    {F_SET_PARAMS, {NUL(A_NET)}, MLP2_EINVAL, 0},
    {F_SET_PARAMS, {NUL(A_THETA_IN)}, MLP2_EINVAL, 0},
    {F_SET_PARAMS, {NONFIN(A_THETA_IN)}, MLP2_ENONFINITE, 0},
    {F_SET_PARAMS, {DBL(A_THETA_IN, DBL_MAX)}, MLP2_OK, 0}, /* large but finite is accepted */

    /* mlp2_workspace_create(out, net, max_batch) */
    {F_WS_CREATE, {{0}}, MLP2_OK, 0},
    {F_WS_CREATE, {NUL(A_OUT)}, MLP2_EINVAL, 0},
    {F_WS_CREATE, {NUL(A_NET)}, MLP2_EINVAL, 0},
    {F_WS_CREATE, {SZ(A_MAX_BATCH, 0)}, MLP2_EINVAL, 0},
    {F_WS_CREATE, {SZ(A_MAX_BATCH, OVER_INT)}, MLP2_ERANGE, 0},
    {F_WS_CREATE, {SZ(A_MAX_BATCH, BIG_SIZE)}, MLP2_ERANGE, 0},
    {F_WS_CREATE, {SZ(A_MAX_BATCH, SIZE_MAX)}, MLP2_ERANGE, 0},
    {F_WS_CREATE, {SZ(A_MAX_BATCH, INT_MAX)}, MLP2_ENOMEM, 0},

    /* mlp2_predict(net, ws, m, X, Y) */
    {F_PREDICT, {{0}}, MLP2_OK, 0},
    {F_PREDICT, {NUL(A_WS)}, MLP2_OK, 0}, /* a temporary workspace */
    {F_PREDICT, {NONFIN(A_YP)}, MLP2_OK, 0}, /* garbage in the output is overwritten */
    {F_PREDICT, {NUL(A_NET)}, MLP2_EINVAL, 0},
    {F_PREDICT, {NUL(A_X)}, MLP2_EINVAL, 0},
    {F_PREDICT, {NUL(A_YP)}, MLP2_EINVAL, 0},
    {F_PREDICT, {SZ(A_M, 0)}, MLP2_EINVAL, 0},
    {F_PREDICT, {SZ(A_M, BIG_SIZE)}, MLP2_ERANGE, 0},
    {F_PREDICT, {SZ(A_M, SIZE_MAX)}, MLP2_ERANGE, 0},
    {F_PREDICT, {SZ(A_M, BIG_SIZE), NUL(A_WS)}, MLP2_ERANGE, 0},
    {F_PREDICT, {OTHER(A_WS)}, MLP2_EINVAL, 0},
    {F_PREDICT, {NONFIN(A_X)}, MLP2_ENONFINITE, 0},
    {F_PREDICT, {NONFIN(A_X), NUL(A_WS)}, MLP2_ENONFINITE, 0},
    {F_PREDICT, {C(A_NET, V_BIG, .z = 0)}, MLP2_ENONFINITE, MAY_OUTPUTS | MAY_WS},

    /* mlp2_loss_grad(net, ws, m, X, Y, loss, grad) */
    {F_LOSS_GRAD, {{0}}, MLP2_OK, 0},
    {F_LOSS_GRAD, {NUL(A_WS)}, MLP2_OK, 0},
    {F_LOSS_GRAD, {NUL(A_LOSS)}, MLP2_OK, 0},
    {F_LOSS_GRAD, {NUL(A_GRAD_OUT)}, MLP2_OK, 0},
    {F_LOSS_GRAD, {NONFIN(A_GRAD_OUT)}, MLP2_OK, 0},
    {F_LOSS_GRAD, {NUL(A_LOSS), NUL(A_GRAD_OUT)}, MLP2_EINVAL, 0},
    {F_LOSS_GRAD, {NUL(A_NET)}, MLP2_EINVAL, 0},
    {F_LOSS_GRAD, {NUL(A_X)}, MLP2_EINVAL, 0},
    {F_LOSS_GRAD, {NUL(A_Y)}, MLP2_EINVAL, 0},
    {F_LOSS_GRAD, {SZ(A_M, 0)}, MLP2_EINVAL, 0},
    {F_LOSS_GRAD, {SZ(A_M, BIG_SIZE)}, MLP2_ERANGE, 0},
    {F_LOSS_GRAD, {SZ(A_M, SIZE_MAX), NUL(A_WS)}, MLP2_ERANGE, 0},
    {F_LOSS_GRAD, {OTHER(A_WS)}, MLP2_EINVAL, 0},
    {F_LOSS_GRAD, {NONFIN(A_X)}, MLP2_ENONFINITE, 0},
    {F_LOSS_GRAD, {NONFIN(A_Y)}, MLP2_ENONFINITE, 0},
    {F_LOSS_GRAD, {NONFIN(A_Y), NUL(A_WS)}, MLP2_ENONFINITE, 0},
    {F_LOSS_GRAD, {C(A_NET, V_BIG, .z = 0)}, MLP2_ENONFINITE, MAY_OUTPUTS | MAY_WS},

    /* mlp2_sgd_step(net, ws, m, X, Y, lr, loss) */
    {F_SGD_STEP, {{0}}, MLP2_OK, 0},
    {F_SGD_STEP, {NUL(A_WS)}, MLP2_OK, 0},
    {F_SGD_STEP, {NUL(A_LOSS)}, MLP2_OK, 0},
    {F_SGD_STEP, {DBL(A_LR, DBL_TRUE_MIN)}, MLP2_OK, 0},
    {F_SGD_STEP, {NUL(A_NET)}, MLP2_EINVAL, 0},
    {F_SGD_STEP, {NUL(A_X)}, MLP2_EINVAL, 0},
    {F_SGD_STEP, {NUL(A_Y)}, MLP2_EINVAL, 0},
    {F_SGD_STEP, {SZ(A_M, 0)}, MLP2_EINVAL, 0},
    {F_SGD_STEP, {SZ(A_M, BIG_SIZE)}, MLP2_ERANGE, 0},
    {F_SGD_STEP, {OTHER(A_WS)}, MLP2_EINVAL, 0},
    {F_SGD_STEP, {NONFIN(A_X)}, MLP2_ENONFINITE, 0},
    {F_SGD_STEP, {NONFIN(A_Y)}, MLP2_ENONFINITE, 0},
    {F_SGD_STEP, {DBL(A_LR, 0.0)}, MLP2_EINVAL, 0},
    {F_SGD_STEP, {DBL(A_LR, -0.0)}, MLP2_EINVAL, 0},
    {F_SGD_STEP, {DBL(A_LR, -0.25)}, MLP2_EINVAL, 0},
    {F_SGD_STEP, {DBL(A_LR, DNAN)}, MLP2_ENONFINITE, 0},
    {F_SGD_STEP, {DBL(A_LR, DINF)}, MLP2_ENONFINITE, 0},
    {F_SGD_STEP, {DBL(A_LR, -DINF)}, MLP2_ENONFINITE, 0},
    /* an update that would overflow a parameter: refused, model unchanged */
    {F_SGD_STEP, {DBL(A_LR, DBL_MAX), DBL(A_Y, 1e6)}, MLP2_ENONFINITE, MAY_OUTPUTS | MAY_WS},
    {F_SGD_STEP, {C(A_NET, V_BIG, .z = 0)}, MLP2_ENONFINITE, MAY_OUTPUTS | MAY_WS},

    /* mlp2_optim_create(out, net, cfg) */
    {F_OPTIM_CREATE, {{0}}, MLP2_OK, 0},
    {F_OPTIM_CREATE, {SZ(A_OC_KIND, MLP2_OPTIM_SGD)}, MLP2_OK, 0},
    {F_OPTIM_CREATE, {SZ(A_OC_KIND, K_MOM)}, MLP2_OK, 0},
    {F_OPTIM_CREATE, {SZ(A_OC_KIND, K_MOM), DBL(A_OC_MOMENTUM, 0.0)}, MLP2_OK, 0},
    {F_OPTIM_CREATE, {DBL(A_OC_BETA1, 0.0), DBL(A_OC_BETA2, 0.0)}, MLP2_OK, 0},
    /* fields a kind does not use are ignored */
    {F_OPTIM_CREATE, {SZ(A_OC_KIND, MLP2_OPTIM_SGD), DBL(A_OC_EPS, DNAN)}, MLP2_OK, 0},
    {F_OPTIM_CREATE, {SZ(A_OC_KIND, MLP2_OPTIM_SGD), DBL(A_OC_MOMENTUM, 7.0)}, MLP2_OK, 0},
    {F_OPTIM_CREATE, {DBL(A_OC_MOMENTUM, DNAN)}, MLP2_OK, 0}, /* Adam ignores momentum */
    {F_OPTIM_CREATE, {NUL(A_OUT)}, MLP2_EINVAL, 0},
    {F_OPTIM_CREATE, {NUL(A_NET)}, MLP2_EINVAL, 0},
    {F_OPTIM_CREATE, {NUL(A_OCFG)}, MLP2_EINVAL, 0},
    {F_OPTIM_CREATE, {SZ(A_OC_KIND, 3)}, MLP2_EINVAL, 0},
    {F_OPTIM_CREATE, {SZ(A_OC_KIND, 1000)}, MLP2_EINVAL, 0},
    {F_OPTIM_CREATE, {DBL(A_OC_LR, 0.0)}, MLP2_EINVAL, 0},
    {F_OPTIM_CREATE, {DBL(A_OC_LR, -1e-3)}, MLP2_EINVAL, 0},
    {F_OPTIM_CREATE, {DBL(A_OC_LR, DNAN)}, MLP2_EINVAL, 0},
    {F_OPTIM_CREATE, {DBL(A_OC_LR, DINF)}, MLP2_EINVAL, 0},
    {F_OPTIM_CREATE, {SZ(A_OC_KIND, MLP2_OPTIM_SGD), DBL(A_OC_LR, 0.0)}, MLP2_EINVAL, 0},
    {F_OPTIM_CREATE, {SZ(A_OC_KIND, MLP2_OPTIM_SGD), DBL(A_OC_LR, DNAN)}, MLP2_EINVAL, 0},
    {F_OPTIM_CREATE, {DBL(A_OC_WD, -0.01)}, MLP2_EINVAL, 0},
    {F_OPTIM_CREATE, {DBL(A_OC_WD, DNAN)}, MLP2_EINVAL, 0},
    {F_OPTIM_CREATE, {DBL(A_OC_WD, DINF)}, MLP2_EINVAL, 0},
    {F_OPTIM_CREATE, {SZ(A_OC_KIND, MLP2_OPTIM_SGD), DBL(A_OC_WD, -1.0)}, MLP2_EINVAL, 0},
    {F_OPTIM_CREATE, {SZ(A_OC_KIND, K_MOM), DBL(A_OC_MOMENTUM, -0.1)}, MLP2_EINVAL, 0},
    {F_OPTIM_CREATE, {SZ(A_OC_KIND, K_MOM), DBL(A_OC_MOMENTUM, 1.0)}, MLP2_EINVAL, 0},
    {F_OPTIM_CREATE, {SZ(A_OC_KIND, K_MOM), DBL(A_OC_MOMENTUM, DNAN)}, MLP2_EINVAL, 0},
    {F_OPTIM_CREATE, {SZ(A_OC_KIND, K_MOM), DBL(A_OC_MOMENTUM, DINF)}, MLP2_EINVAL, 0},
    {F_OPTIM_CREATE, {SZ(A_OC_KIND, K_MOM), DBL(A_OC_LR, -2.0)}, MLP2_EINVAL, 0},
    {F_OPTIM_CREATE, {DBL(A_OC_BETA1, -0.1)}, MLP2_EINVAL, 0},
    {F_OPTIM_CREATE, {DBL(A_OC_BETA1, 1.0)}, MLP2_EINVAL, 0},
    {F_OPTIM_CREATE, {DBL(A_OC_BETA1, DNAN)}, MLP2_EINVAL, 0},
    {F_OPTIM_CREATE, {DBL(A_OC_BETA2, -0.1)}, MLP2_EINVAL, 0},
    {F_OPTIM_CREATE, {DBL(A_OC_BETA2, 1.0)}, MLP2_EINVAL, 0},
    {F_OPTIM_CREATE, {DBL(A_OC_BETA2, DNAN)}, MLP2_EINVAL, 0},
    {F_OPTIM_CREATE, {DBL(A_OC_EPS, 0.0)}, MLP2_EINVAL, 0},
    {F_OPTIM_CREATE, {DBL(A_OC_EPS, -1e-8)}, MLP2_EINVAL, 0},
    {F_OPTIM_CREATE, {DBL(A_OC_EPS, DNAN)}, MLP2_EINVAL, 0},
    {F_OPTIM_CREATE, {DBL(A_OC_EPS, DINF)}, MLP2_EINVAL, 0},

    /* mlp2_optim_step(opt, net, grad) */
    {F_OPTIM_STEP, {{0}}, MLP2_OK, 0},
    {F_OPTIM_STEP, {NUL(A_OPT)}, MLP2_EINVAL, 0},
    {F_OPTIM_STEP, {NUL(A_NET)}, MLP2_EINVAL, 0},
    {F_OPTIM_STEP, {NUL(A_GRAD_IN)}, MLP2_EINVAL, 0},
    {F_OPTIM_STEP, {OTHER(A_NET)}, MLP2_EINVAL, 0},
    {F_OPTIM_STEP, {NONFIN(A_GRAD_IN)}, MLP2_ENONFINITE, 0},
    {F_OPTIM_STEP, {DBL(A_GRAD_IN, 1e308), C(A_NET, V_BIG, .z = 0)}, MLP2_ENONFINITE, 0},

    /* mlp2_optim_set_lr(opt, lr) */
    {F_OPTIM_SET_LR, {{0}}, MLP2_OK, 0},
    {F_OPTIM_SET_LR, {NUL(A_OPT)}, MLP2_EINVAL, 0},
    {F_OPTIM_SET_LR, {DBL(A_LR, 0.0)}, MLP2_EINVAL, 0},
    {F_OPTIM_SET_LR, {DBL(A_LR, -0.5)}, MLP2_EINVAL, 0},
    {F_OPTIM_SET_LR, {DBL(A_LR, DNAN)}, MLP2_EINVAL, 0},
    {F_OPTIM_SET_LR, {DBL(A_LR, DINF)}, MLP2_EINVAL, 0},
    {F_OPTIM_SET_LR, {DBL(A_LR, -DINF)}, MLP2_EINVAL, 0},

    /* mlp2_train(net, cfg, m, X, Y, m_val, Xv, Yv, report) */
    {F_TRAIN, {{0}}, MLP2_OK, 0},
    {F_TRAIN, {NUL(A_REPORT)}, MLP2_OK, 0},
    {F_TRAIN, {SZ(A_TC_BATCH, 1000)}, MLP2_OK, 0}, /* larger than m: one batch */
    {F_TRAIN, {SZ(A_TC_LR_STEP, 0), DBL(A_TC_LR_GAMMA, DNAN)}, MLP2_OK, 0}, /* gamma unused */
    {F_TRAIN, {SZ(A_M_VAL, 0), NUL(A_XV)}, MLP2_EINVAL, 0}, /* Yv without m_val */
    {F_TRAIN, {NUL(A_NET)}, MLP2_EINVAL, 0},
    {F_TRAIN, {NUL(A_TCFG)}, MLP2_EINVAL, 0},
    {F_TRAIN, {NUL(A_X)}, MLP2_EINVAL, 0},
    {F_TRAIN, {NUL(A_Y)}, MLP2_EINVAL, 0},
    {F_TRAIN, {NUL(A_XV)}, MLP2_EINVAL, 0},
    {F_TRAIN, {NUL(A_YV)}, MLP2_EINVAL, 0},
    {F_TRAIN, {SZ(A_M, 0)}, MLP2_EINVAL, 0},
    {F_TRAIN, {SZ(A_M_VAL, 0)}, MLP2_EINVAL, 0},
    {F_TRAIN, {SZ(A_TC_EPOCHS, 0)}, MLP2_EINVAL, 0},
    {F_TRAIN, {SZ(A_TC_BATCH, 0)}, MLP2_EINVAL, 0},
    {F_TRAIN, {DBL(A_TC_LR_GAMMA, 0.0)}, MLP2_EINVAL, 0},
    {F_TRAIN, {DBL(A_TC_LR_GAMMA, -0.5)}, MLP2_EINVAL, 0},
    {F_TRAIN, {DBL(A_TC_LR_GAMMA, 1.5)}, MLP2_EINVAL, 0},
    {F_TRAIN, {DBL(A_TC_LR_GAMMA, DNAN)}, MLP2_EINVAL, 0},
    {F_TRAIN, {DBL(A_TC_LR_GAMMA, DINF)}, MLP2_EINVAL, 0},
    {F_TRAIN, {DBL(A_TC_MIN_DELTA, -1e-6)}, MLP2_EINVAL, 0},
    {F_TRAIN, {DBL(A_TC_MIN_DELTA, DNAN)}, MLP2_EINVAL, 0},
    {F_TRAIN, {DBL(A_TC_MIN_DELTA, DINF)}, MLP2_EINVAL, 0},
    {F_TRAIN, {DBL(A_TC_OPT_LR, 0.0)}, MLP2_EINVAL, 0},
    {F_TRAIN, {DBL(A_TC_OPT_LR, -0.1)}, MLP2_EINVAL, 0},
    {F_TRAIN, {DBL(A_TC_OPT_LR, DNAN)}, MLP2_EINVAL, 0},
    {F_TRAIN, {SZ(A_TC_OPT_KIND, 17)}, MLP2_EINVAL, 0},
    {F_TRAIN, {NONFIN(A_X)}, MLP2_ENONFINITE, 0},
    {F_TRAIN, {NONFIN(A_Y)}, MLP2_ENONFINITE, 0},
    {F_TRAIN, {NONFIN(A_XV)}, MLP2_ENONFINITE, 0},
    {F_TRAIN, {NONFIN(A_YV)}, MLP2_ENONFINITE, 0},
    {F_TRAIN, {SZ(A_M, BIG_SIZE), SZ(A_TC_SHUFFLE, 0)}, MLP2_ERANGE, 0},
    {F_TRAIN, {SZ(A_M, BIG_SIZE)}, MLP2_ERANGE, 0}, /* shuffled: checked before the permutation is allocated */
    {F_TRAIN, {SZ(A_M, SIZE_MAX), NUL(A_REPORT)}, MLP2_ERANGE, 0},
    {F_TRAIN, {SZ(A_M_VAL, BIG_SIZE)}, MLP2_ERANGE, 0},

    /* mlp2_section_set(net, name, data, len) */
    {F_SECTION_SET, {{0}}, MLP2_OK, 0},
    {F_SECTION_SET, {NUL(A_DATA), SZ(A_LEN, 0)}, MLP2_OK, 0},
    {F_SECTION_SET, {STR(A_NAME, "<255>")}, MLP2_OK, 0},
    {F_SECTION_SET, {NUL(A_NET)}, MLP2_EINVAL, 0},
    {F_SECTION_SET, {NUL(A_NAME)}, MLP2_EINVAL, 0},
    {F_SECTION_SET, {NUL(A_DATA)}, MLP2_EINVAL, 0},
    {F_SECTION_SET, {STR(A_NAME, "")}, MLP2_EINVAL, 0},
    {F_SECTION_SET, {STR(A_NAME, "<256>")}, MLP2_EINVAL, 0},
    {F_SECTION_SET, {SZ(A_LEN, (size_t)UINT32_MAX + 1)}, MLP2_ERANGE, 0},
    {F_SECTION_SET, {SZ(A_LEN, SIZE_MAX)}, MLP2_ERANGE, 0},

    /* mlp2_section_get(net, name, data, len) */
    {F_SECTION_GET, {{0}}, MLP2_OK, 0},
    {F_SECTION_GET, {NUL(A_NET)}, MLP2_EINVAL, 0},
    {F_SECTION_GET, {NUL(A_NAME)}, MLP2_EINVAL, 0},
    {F_SECTION_GET, {NUL(A_DATA_OUT)}, MLP2_EINVAL, 0},
    {F_SECTION_GET, {NUL(A_LEN_OUT)}, MLP2_EINVAL, 0},
    {F_SECTION_GET, {STR(A_NAME, "missing")}, MLP2_ENOENT, 0},
    {F_SECTION_GET, {STR(A_NAME, "")}, MLP2_EINVAL, 0},

    /* mlp2_section_remove(net, name) */
    {F_SECTION_REMOVE, {{0}}, MLP2_OK, 0},
    {F_SECTION_REMOVE, {NUL(A_NET)}, MLP2_EINVAL, 0},
    {F_SECTION_REMOVE, {NUL(A_NAME)}, MLP2_EINVAL, 0},
    {F_SECTION_REMOVE, {STR(A_NAME, "missing")}, MLP2_ENOENT, 0},

    /* mlp2_save(net, path): the existing file at the path survives failures */
    {F_SAVE, {{0}}, MLP2_OK, 0},
    {F_SAVE, {NUL(A_NET)}, MLP2_EINVAL, 0},
    {F_SAVE, {NUL(A_PATH)}, MLP2_EINVAL, 0},
    {F_SAVE, {STR(A_PATH, "<missing dir>")}, MLP2_EIO, 0},
    {F_SAVE, {STR(A_PATH, "<dir>")}, MLP2_EIO, 0},
    {F_SAVE, {STR(A_PATH, "")}, MLP2_EIO, 0},

    /* mlp2_load(out, path) */
    {F_LOAD, {{0}}, MLP2_OK, 0},
    {F_LOAD, {NUL(A_OUT)}, MLP2_EINVAL, 0},
    {F_LOAD, {NUL(A_PATH)}, MLP2_EINVAL, 0},
    {F_LOAD, {STR(A_PATH, "<missing>")}, MLP2_EIO, 0},
    {F_LOAD, {STR(A_PATH, "<dir>")}, MLP2_EIO, 0},
    {F_LOAD, {STR(A_PATH, "")}, MLP2_EIO, 0},
    {F_LOAD, {STR(A_PATH, "<empty>")}, MLP2_EFORMAT, 0},

    /* mlp2_load_buffer(out, buf, len) */
    {F_LOAD_BUFFER, {{0}}, MLP2_OK, 0},
    {F_LOAD_BUFFER, {NUL(A_OUT)}, MLP2_EINVAL, 0},
    {F_LOAD_BUFFER, {NUL(A_BUF)}, MLP2_EINVAL, 0},
    {F_LOAD_BUFFER, {NUL(A_BUF), SZ(A_BUF_LEN, 0)}, MLP2_EINVAL, 0},
    {F_LOAD_BUFFER, {SZ(A_BUF_LEN, 0)}, MLP2_EFORMAT, 0},
    {F_LOAD_BUFFER, {SZ(A_BUF_LEN, 1)}, MLP2_EFORMAT, 0},
    {F_LOAD_BUFFER, {SZ(A_BUF_LEN, 75)}, MLP2_EFORMAT, 0},

    /* process-wide settings */
    {F_SET_ALLOCATOR, {{0}}, MLP2_OK, 0},
    {F_SET_ALLOCATOR, {NUL(A_ALLOC_FN)}, MLP2_EINVAL, 0},
    {F_SET_ALLOCATOR, {NUL(A_FREE_FN)}, MLP2_EINVAL, 0},
    {F_SET_BLAS_THREADS, {{0}}, MLP2_OK, 0},
    {F_SET_BLAS_THREADS, {SZ(A_THREADS, 0)}, MLP2_EINVAL, 0},
    {F_SET_BLAS_THREADS, {SZ(A_THREADS, (size_t)-1)}, MLP2_EINVAL, 0},
    {F_SET_BLAS_THREADS, {SZ(A_THREADS, (size_t)INT_MIN)}, MLP2_EINVAL, 0},

    /* mlp2_create_spec(out, spec, seed) */
    {F_CREATE_SPEC, {{0}}, MLP2_OK, 0},
    {F_CREATE_SPEC, {SZ(A_SPEC_HEAD, SMAX), SZ(A_SPEC_HIDDEN, MLP2_HIDDEN_RELU)}, MLP2_OK, 0},
    {F_CREATE_SPEC, {SZ(A_SPEC_HEAD, SIGM), SZ(A_N_OUT, 1)}, MLP2_OK, 0},
    {F_CREATE_SPEC, {NUL(A_OUT)}, MLP2_EINVAL, 0},
    {F_CREATE_SPEC, {NUL(A_SPEC)}, MLP2_EINVAL, 0},
    {F_CREATE_SPEC, {SZ(A_SPEC_HIDDEN, 3)}, MLP2_EINVAL, 0},
    {F_CREATE_SPEC, {SZ(A_SPEC_HIDDEN, 1000)}, MLP2_EINVAL, 0},
    {F_CREATE_SPEC, {SZ(A_SPEC_HIDDEN, UINT_MAX)}, MLP2_EINVAL, 0}, /* -1 in a signed enum */
    {F_CREATE_SPEC, {SZ(A_SPEC_HEAD, 3)}, MLP2_EINVAL, 0},
    {F_CREATE_SPEC, {SZ(A_SPEC_HEAD, UINT_MAX)}, MLP2_EINVAL, 0},
    {F_CREATE_SPEC, {SZ(A_SPEC_HEAD, SMAX), SZ(A_N_OUT, 1)}, MLP2_EINVAL, 0},
    {F_CREATE_SPEC, {SZ(A_N_IN, 0)}, MLP2_EINVAL, 0},
    {F_CREATE_SPEC, {SZ(A_N_OUT, 0), SZ(A_SPEC_HEAD, SMAX)}, MLP2_EINVAL, 0},
    {F_CREATE_SPEC, {SZ(A_N_HIDDEN, OVER_INT)}, MLP2_ERANGE, 0},
    {F_CREATE_SPEC, {SZ(A_N_IN, INT_MAX), SZ(A_N_HIDDEN, INT_MAX)}, MLP2_ERANGE, 0},
    {F_CREATE_SPEC, {SZ(A_N_IN, INT_MAX)}, MLP2_ENOMEM, 0},

    /* mlp2_get_spec(net, spec) */
    {F_GET_SPEC, {{0}}, MLP2_OK, 0},
    {F_GET_SPEC, {NUL(A_NET)}, MLP2_EINVAL, 0},
    {F_GET_SPEC, {NUL(A_SPEC_OUT)}, MLP2_EINVAL, 0},

    /* mlp2_onehot(m, n_classes, labels, Y) */
    {F_ONEHOT, {{0}}, MLP2_OK, 0},
    {F_ONEHOT, {NUL(A_LABELS)}, MLP2_EINVAL, 0},
    {F_ONEHOT, {NUL(A_YP)}, MLP2_EINVAL, 0},
    {F_ONEHOT, {SZ(A_M, 0)}, MLP2_EINVAL, 0},
    {F_ONEHOT, {SZ(A_N_OUT, 0)}, MLP2_EINVAL, 0},
    {F_ONEHOT, {SZ(A_LABEL_LAST, N_OUT)}, MLP2_EINVAL, 0},
    {F_ONEHOT, {SZ(A_LABEL_LAST, SIZE_MAX)}, MLP2_EINVAL, 0},
    {F_ONEHOT, {SZ(A_M, SIZE_MAX)}, MLP2_ERANGE, 0},

    /* mlp2_classify(head, m, n_out, A2, labels) */
    {F_CLASSIFY, {{0}}, MLP2_OK, 0},
    {F_CLASSIFY, {SZ(A_HEAD, SIGM)}, MLP2_OK, 0},
    {F_CLASSIFY, {SZ(A_HEAD, SIGM), SZ(A_N_OUT, 1)}, MLP2_OK, 0},
    {F_CLASSIFY, {SZ(A_HEAD, MLP2_HEAD_LINEAR)}, MLP2_EINVAL, 0},
    {F_CLASSIFY, {SZ(A_HEAD, 3)}, MLP2_EINVAL, 0},
    {F_CLASSIFY, {SZ(A_HEAD, UINT_MAX)}, MLP2_EINVAL, 0},
    {F_CLASSIFY, {SZ(A_N_OUT, 1)}, MLP2_EINVAL, 0}, /* softmax over one output */
    {F_CLASSIFY, {SZ(A_N_OUT, 0)}, MLP2_EINVAL, 0},
    {F_CLASSIFY, {SZ(A_M, 0)}, MLP2_EINVAL, 0},
    {F_CLASSIFY, {NUL(A_Y)}, MLP2_EINVAL, 0},
    {F_CLASSIFY, {NUL(A_LABELS_OUT)}, MLP2_EINVAL, 0},
    {F_CLASSIFY, {SZ(A_M, SIZE_MAX)}, MLP2_ERANGE, 0},
    {F_CLASSIFY, {NONFIN(A_Y)}, MLP2_ENONFINITE, 0},
    {F_CLASSIFY, {NONFIN(A_Y), SZ(A_HEAD, SIGM)}, MLP2_ENONFINITE, 0},

    /* the classifiers: every kind accepts valid targets; a bad target is
     * MLP2_EINVAL with nothing changed (the data are checked before lr) */
    {F_PREDICT, {KIND(SMAX, MLP2_HIDDEN_TANH)}, MLP2_OK, 0},
    {F_PREDICT, {KIND(SIGM, MLP2_HIDDEN_RELU)}, MLP2_OK, 0},
    {F_LOSS_GRAD, {KIND(SMAX, MLP2_HIDDEN_SIGMOID)}, MLP2_OK, 0},
    {F_LOSS_GRAD, {KIND(SMAX, MLP2_HIDDEN_RELU), ROW0(A_Y, 3)}, MLP2_OK, 0},
    {F_LOSS_GRAD, {KIND(SMAX, MLP2_HIDDEN_TANH), ROW0(A_Y, 4)}, MLP2_OK, 0},
    {F_LOSS_GRAD, {KIND(SIGM, MLP2_HIDDEN_TANH), ROW0(A_Y, 7)}, MLP2_OK, 0},
    {F_LOSS_GRAD, {KIND(SMAX, MLP2_HIDDEN_TANH), ROW0(A_Y, 0)}, MLP2_EINVAL, 0},
    {F_LOSS_GRAD, {KIND(SMAX, MLP2_HIDDEN_RELU), ROW0(A_Y, 1)}, MLP2_EINVAL, 0},
    {F_LOSS_GRAD, {KIND(SMAX, MLP2_HIDDEN_SIGMOID), ROW0(A_Y, 2)}, MLP2_EINVAL, 0},
    {F_LOSS_GRAD, {KIND(SMAX, MLP2_HIDDEN_SIGMOID), ROW0(A_Y, 7)}, MLP2_EINVAL, 0},
    {F_LOSS_GRAD, {KIND(SIGM, MLP2_HIDDEN_RELU), ROW0(A_Y, 5)}, MLP2_EINVAL, 0},
    {F_LOSS_GRAD, {KIND(SIGM, MLP2_HIDDEN_TANH), ROW0(A_Y, 6)}, MLP2_EINVAL, 0},
    {F_LOSS_GRAD, {KIND(SIGM, MLP2_HIDDEN_TANH), NONFIN(A_Y)}, MLP2_ENONFINITE, 0},
    {F_LOSS_GRAD, {KIND(SIGM, MLP2_HIDDEN_SIGMOID), DBL(A_Y, 0.5)}, MLP2_OK, 0},
    {F_LOSS_GRAD, {KIND(SMAX, MLP2_HIDDEN_SIGMOID), DBL(A_Y, 0.5)}, MLP2_OK, 0},
    {F_LOSS_GRAD, {KIND(SMAX, MLP2_HIDDEN_SIGMOID), DBL(A_Y, 0.75)}, MLP2_EINVAL, 0},
    {F_SGD_STEP, {KIND(SMAX, MLP2_HIDDEN_RELU)}, MLP2_OK, 0},
    {F_SGD_STEP, {KIND(SMAX, MLP2_HIDDEN_RELU), ROW0(A_Y, 1)}, MLP2_EINVAL, 0},
    {F_SGD_STEP, {KIND(SIGM, MLP2_HIDDEN_TANH), ROW0(A_Y, 5)}, MLP2_EINVAL, 0},
    {F_SGD_STEP, {KIND(SIGM, MLP2_HIDDEN_TANH), ROW0(A_Y, 6)}, MLP2_EINVAL, 0},
    {F_TRAIN, {KIND(SMAX, MLP2_HIDDEN_TANH)}, MLP2_OK, 0},
    {F_TRAIN, {KIND(SIGM, MLP2_HIDDEN_RELU)}, MLP2_OK, 0},
    {F_TRAIN, {KIND(SMAX, MLP2_HIDDEN_TANH), ROW0(A_Y, 0)}, MLP2_EINVAL, 0},
    {F_TRAIN, {KIND(SMAX, MLP2_HIDDEN_TANH), ROW0(A_YV, 0)}, MLP2_EINVAL, 0},
    {F_TRAIN, {KIND(SMAX, MLP2_HIDDEN_RELU), ROW0(A_YV, 1)}, MLP2_EINVAL, 0},
    {F_TRAIN, {KIND(SIGM, MLP2_HIDDEN_RELU), ROW0(A_Y, 5)}, MLP2_EINVAL, 0},
    {F_TRAIN, {KIND(SIGM, MLP2_HIDDEN_SIGMOID), ROW0(A_YV, 6)}, MLP2_EINVAL, 0},
    {F_SAVE, {KIND(SIGM, MLP2_HIDDEN_RELU)}, MLP2_OK, 0},
    {F_CLONE, {KIND(SMAX, MLP2_HIDDEN_TANH)}, MLP2_OK, 0},
};

/* ---- the fixture -------------------------------------------------------- */

static ca_state ca;
static char sentinel_obj[3];
#define NET_SENTINEL ((mlp2 *)(void *)&sentinel_obj[0])
#define WS_SENTINEL ((mlp2_workspace *)(void *)&sentinel_obj[1])
#define OPT_SENTINEL ((mlp2_optim *)(void *)&sentinel_obj[2])

static struct fixture {
    mlp2 *net, *net_other;
    mlp2_workspace *ws, *ws_other;
    mlp2_optim *opt;
    double X[M * N_IN], Y[M * N_OUT], Xv[M_VAL * N_IN], Yv[M_VAL * N_OUT];
    double theta_in[N_PAR], grad_in[N_PAR];
    double Yp[M * N_OUT], grad_out[N_PAR], theta_out[N_PAR], loss;
    mlp2_optim_config ocfg;
    mlp2_train_config tcfg;
    mlp2_train_report report;
    mlp2 *out_net;
    mlp2_workspace *out_ws;
    mlp2_optim *out_opt;
    const void *data_out;
    size_t len_out;
    char dir[64], path[96], missing_dir[128], missing[128], empty[128], name[260];
    unsigned char *file;
    size_t file_len;
    mlp2_spec spec, spec_out;
    size_t labels[M], labels_out[M * N_OUT];
} fx;

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
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    fclose(f);
    *len = n;
    return buf;
}

/* The workspace's buffers by name (lib/internal.h), with their lengths. */
typedef struct ws_buf {
    double *p;
    size_t n;
} ws_buf;

static size_t ws_bufs(const mlp2_workspace *ws, ws_buf b[5])
{
    b[0] = (ws_buf){ws->A1, ws->max_batch * ws->n_hidden};
    b[1] = (ws_buf){ws->D1, ws->max_batch * ws->n_hidden};
    b[2] = (ws_buf){ws->A2, ws->max_batch * ws->n_out};
    b[3] = (ws_buf){ws->grad, ws->n_params};
    b[4] = (ws_buf){ws->ones, ws->max_batch};
    return 5;
}

/* Scratch starts uninitialised: give it defined contents (not the ones
 * vector, which is part of the workspace's state) so that snapshots compare
 * values, and valgrind has nothing to say. */
static void ws_fill(mlp2_workspace *ws)
{
    ws_buf b[5];
    ws_bufs(ws, b);
    for (size_t k = 0; k < 4; k++)
        for (size_t i = 0; i < b[k].n; i++)
            b[k].p[i] = 0.0625 * (double)((i + k) % 17);
}

static void fixture_make(void)
{
    ca_install(&ca);
    ca.limit = ALLOC_LIMIT;
    memset(&fx, 0, sizeof fx);
    tu_rng r = tu_seed(1618);
    tu_fill(&r, fx.X, M * N_IN, -1.4, 1.9);
    tu_fill(&r, fx.Y, M * N_OUT, -0.7, 1.1);
    tu_fill(&r, fx.Xv, M_VAL * N_IN, -1.4, 1.9);
    tu_fill(&r, fx.Yv, M_VAL * N_OUT, -0.7, 1.1);
    tu_fill(&r, fx.theta_in, N_PAR, -0.8, 0.8);
    tu_fill(&r, fx.grad_in, N_PAR, -0.3, 0.3);
    for (size_t i = 0; i < M * N_OUT; i++)
        fx.Yp[i] = -777.125;
    for (size_t i = 0; i < N_PAR; i++)
        fx.grad_out[i] = fx.theta_out[i] = 555.5;
    fx.loss = -3.5;
    memset(&fx.report, 0xa5, sizeof fx.report);

    assert_int_equal(mlp2_create(&fx.net, N_IN, N_HID, N_OUT, 4242), MLP2_OK);
    assert_int_equal(mlp2_create(&fx.net_other, N_IN, N_HID + 1, N_OUT, 4243), MLP2_OK);
    assert_int_equal(mlp2_section_set(fx.net, "scale", "0.5 2.25", 9), MLP2_OK);
    assert_int_equal(mlp2_section_set(fx.net, "labels", "y1,y2", 6), MLP2_OK);
    assert_int_equal(mlp2_workspace_create(&fx.ws, fx.net, MAX_BATCH), MLP2_OK);
    assert_int_equal(mlp2_workspace_create(&fx.ws_other, fx.net_other, MAX_BATCH), MLP2_OK);
    ws_fill(fx.ws);
    ws_fill(fx.ws_other);
    fx.ocfg = mlp2_optim_defaults(MLP2_OPTIM_ADAM);
    fx.ocfg.lr = 0.01;
    fx.ocfg.momentum = 0.5;
    assert_int_equal(mlp2_optim_create(&fx.opt, fx.net, &fx.ocfg), MLP2_OK);

    fx.tcfg = mlp2_train_defaults();
    fx.tcfg.epochs = 3;
    fx.tcfg.batch_size = 4;
    fx.tcfg.optim = mlp2_optim_defaults(MLP2_OPTIM_MOMENTUM);
    fx.tcfg.lr_step = 1;
    fx.tcfg.lr_gamma = 0.5;
    fx.tcfg.patience = 2;
    fx.tcfg.min_delta = 1e-9;

    fx.out_net = NET_SENTINEL;
    fx.out_ws = WS_SENTINEL;
    fx.out_opt = OPT_SENTINEL;
    memset(&fx.spec_out, 0x3c, sizeof fx.spec_out);
    for (size_t i = 0; i < M; i++)
        fx.labels[i] = (i * 7) % N_OUT;
    for (size_t i = 0; i < M * N_OUT; i++)
        fx.labels_out[i] = 4321;
    fx.data_out = &sentinel_obj[0];
    fx.len_out = 12345;

    snprintf(fx.dir, sizeof fx.dir, "/tmp/mlp2-bad-XXXXXX");
    assert_non_null(mkdtemp(fx.dir));
    snprintf(fx.path, sizeof fx.path, "%s/model.mlp2", fx.dir);
    snprintf(fx.missing_dir, sizeof fx.missing_dir, "%s/no/such/dir/model.mlp2", fx.dir);
    snprintf(fx.missing, sizeof fx.missing, "%s/missing.mlp2", fx.dir);
    snprintf(fx.empty, sizeof fx.empty, "%s/empty.mlp2", fx.dir);
    assert_int_equal(mlp2_save(fx.net, fx.path), MLP2_OK);
    FILE *f = fopen(fx.empty, "wb");
    assert_non_null(f);
    fclose(f);
    fx.file = read_file(fx.path, &fx.file_len);
    assert_non_null(fx.file);
}

static void fixture_free(void)
{
    mlp2_set_allocator(ca_alloc, ca_free, &ca); /* a row may have swapped it */
    if (fx.out_net != NET_SENTINEL)
        mlp2_free(fx.out_net);
    if (fx.out_ws != WS_SENTINEL)
        mlp2_workspace_free(fx.out_ws);
    if (fx.out_opt != OPT_SENTINEL)
        mlp2_optim_free(fx.out_opt);
    mlp2_optim_free(fx.opt);
    mlp2_workspace_free(fx.ws);
    mlp2_workspace_free(fx.ws_other);
    mlp2_free(fx.net);
    mlp2_free(fx.net_other);
    assert_int_equal(ca.live, 0); /* no leak on any path */
    assert_int_equal(ca.bad_frees, 0);
    free(fx.file);
    unlink(fx.path);
    unlink(fx.empty);
    assert_int_equal(dir_entries(fx.dir), 2); /* no temporary file left behind */
    rmdir(fx.dir);
    mlp2_set_allocator(NULL, NULL, NULL);
    mlp2_set_blas_threads(1);
}

static args valid_args(void)
{
    return (args){
        .out_net = &fx.out_net,
        .out_ws = &fx.out_ws,
        .out_opt = &fx.out_opt,
        .net = fx.net,
        .ws = fx.ws,
        .opt = fx.opt,
        .n_in = N_IN,
        .n_hidden = N_HID,
        .n_out = N_OUT,
        .max_batch = 5,
        .m = M,
        .m_val = M_VAL,
        .len = 5,
        .buf_len = fx.file_len,
        .X = fx.X,
        .Y = fx.Y,
        .Xv = fx.Xv,
        .Yv = fx.Yv,
        .theta_in = fx.theta_in,
        .grad_in = fx.grad_in,
        .Yp = fx.Yp,
        .loss = &fx.loss,
        .grad_out = fx.grad_out,
        .theta_out = fx.theta_out,
        .lr = 0.125,
        .spec = &fx.spec,
        .spec_out = &fx.spec_out,
        .head = MLP2_HEAD_SOFTMAX,
        .labels = fx.labels,
        .labels_out = fx.labels_out,
        .ocfg = &fx.ocfg,
        .tcfg = &fx.tcfg,
        .report = &fx.report,
        .name = "scale",
        .path = fx.path,
        .data = "abcde",
        .buf = fx.file,
        .data_out = &fx.data_out,
        .len_out = &fx.len_out,
        .alloc_fn = ca_alloc,
        .free_fn = ca_free,
        .threads = 1,
    };
}

/* ---- applying a change -------------------------------------------------- */

/* The array an A_* names, for V_NONFINITE / V_DOUBLE fills. */
static double *array_of(arg a, size_t *n)
{
    switch (a) {
    case A_X: *n = M * N_IN; return fx.X;
    case A_Y: *n = M * N_OUT; return fx.Y;
    case A_XV: *n = M_VAL * N_IN; return fx.Xv;
    case A_YV: *n = M_VAL * N_OUT; return fx.Yv;
    case A_THETA_IN: *n = N_PAR; return fx.theta_in;
    case A_GRAD_IN: *n = N_PAR; return fx.grad_in;
    case A_YP: *n = M * N_OUT; return fx.Yp;
    case A_GRAD_OUT: *n = N_PAR; return fx.grad_out;
    default: *n = 0; return NULL;
    }
}

static void set_null(args *g, arg a)
{
    switch (a) {
    case A_OUT: g->out_net = NULL; g->out_ws = NULL; g->out_opt = NULL; break;
    case A_NET: g->net = NULL; break;
    case A_WS: g->ws = NULL; break;
    case A_OPT: g->opt = NULL; break;
    case A_X: g->X = NULL; break;
    case A_Y: g->Y = NULL; break;
    case A_XV: g->Xv = NULL; break;
    case A_YV: g->Yv = NULL; break;
    case A_THETA_IN: g->theta_in = NULL; break;
    case A_GRAD_IN: g->grad_in = NULL; break;
    case A_YP: g->Yp = NULL; break;
    case A_LOSS: g->loss = NULL; break;
    case A_GRAD_OUT: g->grad_out = NULL; break;
    case A_THETA_OUT: g->theta_out = NULL; break;
    case A_OCFG: g->ocfg = NULL; break;
    case A_TCFG: g->tcfg = NULL; break;
    case A_REPORT: g->report = NULL; break;
    case A_NAME: g->name = NULL; break;
    case A_PATH: g->path = NULL; break;
    case A_DATA: g->data = NULL; break;
    case A_BUF: g->buf = NULL; break;
    case A_DATA_OUT: g->data_out = NULL; break;
    case A_LEN_OUT: g->len_out = NULL; break;
    case A_ALLOC_FN: g->alloc_fn = NULL; break;
    case A_FREE_FN: g->free_fn = NULL; break;
    case A_SPEC: g->spec = NULL; break;
    case A_SPEC_OUT: g->spec_out = NULL; break;
    case A_LABELS: g->labels = NULL; break;
    case A_LABELS_OUT: g->labels_out = NULL; break;
    default: fail_msg("no pointer argument %d", (int)a);
    }
}

static void set_size(args *g, arg a, size_t z)
{
    switch (a) {
    case A_N_IN: g->n_in = z; break;
    case A_N_HIDDEN: g->n_hidden = z; break;
    case A_N_OUT: g->n_out = z; break;
    case A_MAX_BATCH: g->max_batch = z; break;
    case A_M: g->m = z; break;
    case A_M_VAL: g->m_val = z; break;
    case A_LEN: g->len = z; break;
    case A_BUF_LEN: g->buf_len = z; break;
    case A_THREADS: g->threads = (int)(long long)z; break;
    case A_OC_KIND: fx.ocfg.kind = (mlp2_optim_kind)z; break;
    case A_TC_EPOCHS: fx.tcfg.epochs = z; break;
    case A_TC_BATCH: fx.tcfg.batch_size = z; break;
    case A_TC_LR_STEP: fx.tcfg.lr_step = z; break;
    case A_TC_OPT_KIND: fx.tcfg.optim.kind = (mlp2_optim_kind)z; break;
    case A_TC_SHUFFLE: fx.tcfg.shuffle = (int)z; break;
    case A_SPEC_HIDDEN: fx.spec.hidden = (mlp2_hidden)z; break;
    case A_SPEC_HEAD: fx.spec.head = (mlp2_head)z; break;
    case A_HEAD: g->head = (mlp2_head)z; break;
    case A_LABEL_LAST: fx.labels[M - 1] = z; break;
    default: fail_msg("no size argument %d", (int)a);
    }
}

static void set_double(args *g, arg a, double d)
{
    size_t n;
    double *arr = array_of(a, &n);
    if (arr) {
        for (size_t i = 0; i < n; i++)
            arr[i] = d;
        return;
    }
    switch (a) {
    case A_LR: g->lr = d; break;
    case A_OC_LR: fx.ocfg.lr = d; break;
    case A_OC_MOMENTUM: fx.ocfg.momentum = d; break;
    case A_OC_BETA1: fx.ocfg.beta1 = d; break;
    case A_OC_BETA2: fx.ocfg.beta2 = d; break;
    case A_OC_EPS: fx.ocfg.eps = d; break;
    case A_OC_WD: fx.ocfg.weight_decay = d; break;
    case A_TC_LR_GAMMA: fx.tcfg.lr_gamma = d; break;
    case A_TC_MIN_DELTA: fx.tcfg.min_delta = d; break;
    case A_TC_OPT_LR: fx.tcfg.optim.lr = d; break;
    default: fail_msg("no double argument %d", (int)a);
    }
}

static void set_string(args *g, arg a, const char *s)
{
    if (strcmp(s, "<255>") == 0 || strcmp(s, "<256>") == 0) {
        size_t n = s[3] == '5' ? 255 : 256;
        memset(fx.name, 'n', n);
        fx.name[n] = '\0';
        s = fx.name;
    } else if (strcmp(s, "<missing dir>") == 0) {
        s = fx.missing_dir;
    } else if (strcmp(s, "<missing>") == 0) {
        s = fx.missing;
    } else if (strcmp(s, "<dir>") == 0) {
        s = fx.dir;
    } else if (strcmp(s, "<empty>") == 0) {
        s = fx.empty;
    }
    switch (a) {
    case A_NAME: g->name = s; break;
    case A_PATH: g->path = s; break;
    default: fail_msg("no string argument %d", (int)a);
    }
}

/* v: which non-finite value (0 NaN, 1 +Inf, 2 -Inf); pos: first/middle/last */
static void apply(args *g, const change *c, int v, int pos)
{
    static const double bad[3] = {DNAN, DINF, -DINF};
    switch (c->v) {
    case V_NONE: break;
    case V_NULL: set_null(g, c->a); break;
    case V_SIZE: set_size(g, c->a, c->z); break;
    case V_DOUBLE: set_double(g, c->a, c->d); break;
    case V_STRING: set_string(g, c->a, c->s); break;
    case V_NONFINITE: {
        size_t n;
        double *arr = array_of(c->a, &n);
        assert_non_null(arr);
        arr[pos == 0 ? 0 : pos == 1 ? n / 2 : n - 1] = bad[v];
        break;
    }
    case V_OTHER:
        if (c->a == A_WS)
            g->ws = fx.ws_other;
        else if (c->a == A_NET)
            g->net = fx.net_other;
        else
            fail_msg("no other-shape argument %d", (int)c->a);
        break;
    case V_BIG: {
        /* set through the API while the model is ours; snapshot follows */
        double th[N_PAR];
        for (size_t i = 0; i < N_PAR; i++)
            th[i] = i % 2 ? 1e308 : -1e308;
        assert_int_equal(mlp2_set_params(fx.net, th), MLP2_OK);
        break;
    }
    case V_KIND:
        fx.net->head = (mlp2_head)c->z;
        fx.net->hidden = (mlp2_hidden)c->d;
        for (size_t i = 0; i < M * N_OUT; i++)
            fx.Y[i] = i % N_OUT == (i / N_OUT) % N_OUT;
        for (size_t i = 0; i < M_VAL * N_OUT; i++)
            fx.Yv[i] = i % N_OUT == (i / N_OUT + 1) % N_OUT;
        break;
    case V_ROW0: {
        size_t n;
        double *arr = array_of(c->a, &n);
        if (!arr)
            fail_msg("no array argument %d", (int)c->a);
        else
            memcpy(arr, row0_presets[c->z], sizeof row0_presets[0]);
        break;
    }
    }
}

/* ---- the call ----------------------------------------------------------- */

static mlp2_status call(fn f, const args *g)
{
    switch (f) {
    case F_CREATE: return mlp2_create(g->out_net, g->n_in, g->n_hidden, g->n_out, 77);
    case F_CLONE: return mlp2_clone(g->out_net, g->net);
    case F_GET_PARAMS: return mlp2_get_params(g->net, g->theta_out);
    case F_SET_PARAMS: return mlp2_set_params(g->net, g->theta_in);
    case F_WS_CREATE: return mlp2_workspace_create(g->out_ws, g->net, g->max_batch);
    case F_PREDICT: return mlp2_predict(g->net, g->ws, g->m, g->X, g->Yp);
    case F_LOSS_GRAD: return mlp2_loss_grad(g->net, g->ws, g->m, g->X, g->Y, g->loss, g->grad_out);
    case F_SGD_STEP: return mlp2_sgd_step(g->net, g->ws, g->m, g->X, g->Y, g->lr, g->loss);
    case F_OPTIM_CREATE: return mlp2_optim_create(g->out_opt, g->net, g->ocfg);
    case F_OPTIM_STEP: return mlp2_optim_step(g->opt, g->net, g->grad_in);
    case F_OPTIM_SET_LR: return mlp2_optim_set_lr(g->opt, g->lr);
    case F_TRAIN:
        return mlp2_train(g->net, g->tcfg, g->m, g->X, g->Y, g->m_val, g->Xv, g->Yv, g->report);
    case F_SECTION_SET: return mlp2_section_set(g->net, g->name, g->data, g->len);
    case F_SECTION_GET: return mlp2_section_get(g->net, g->name, g->data_out, g->len_out);
    case F_SECTION_REMOVE: return mlp2_section_remove(g->net, g->name);
    case F_SAVE: return mlp2_save(g->net, g->path);
    case F_LOAD: return mlp2_load(g->out_net, g->path);
    case F_LOAD_BUFFER: return mlp2_load_buffer(g->out_net, g->buf, g->buf_len);
    case F_SET_ALLOCATOR: return mlp2_set_allocator(g->alloc_fn, g->free_fn, &ca);
    case F_SET_BLAS_THREADS: return mlp2_set_blas_threads(g->threads);
    case F_CREATE_SPEC:
        if (g->spec) {
            g->spec->n_in = g->n_in;
            g->spec->n_hidden = g->n_hidden;
            g->spec->n_out = g->n_out;
        }
        return mlp2_create_spec(g->out_net, g->spec, 77);
    case F_GET_SPEC: return mlp2_get_spec(g->net, g->spec_out);
    case F_ONEHOT: return mlp2_onehot(g->m, g->n_out, g->labels, g->Yp);
    case F_CLASSIFY: return mlp2_classify(g->head, g->m, g->n_out, g->Y, g->labels_out);
    case F_COUNT: break;
    }
    fail_msg("unknown function %d", (int)f);
    return MLP2_EINVAL;
}

/* ---- snapshots ---------------------------------------------------------- */

static void put_model(image *im, const mlp2 *net)
{
    size_t sz[4] = {mlp2_n_in(net), mlp2_n_hidden(net), mlp2_n_out(net), mlp2_section_count(net)};
    img_put(im, sz, sizeof sz);
    img_put(im, &net->hidden, sizeof net->hidden);
    img_put(im, &net->head, sizeof net->head);
    img_put(im, net->theta, net->n_params * sizeof(double));
    for (size_t i = 0; i < sz[3]; i++) {
        const mlp2_section *s = &net->sections[i];
        img_put(im, s->name, strlen(s->name) + 1);
        img_put(im, &s->len, sizeof s->len);
        img_put(im, s->data, s->len);
    }
}

/* Structs go in field by field: their padding bytes are not values. */
#define PUT(im, x) img_put((im), &(x), sizeof(x))

static void put_ws(image *im, const mlp2_workspace *ws)
{
    PUT(im, ws->n_in);
    PUT(im, ws->n_hidden);
    PUT(im, ws->n_out);
    PUT(im, ws->n_params);
    PUT(im, ws->max_batch);
    ws_buf b[5];
    for (size_t k = 0, n = ws_bufs(ws, b); k < n; k++)
        img_put(im, b[k].p, b[k].n * sizeof(double));
}

static void put_ocfg(image *im, const mlp2_optim_config *c)
{
    PUT(im, c->kind);
    PUT(im, c->lr);
    PUT(im, c->momentum);
    PUT(im, c->beta1);
    PUT(im, c->beta2);
    PUT(im, c->eps);
    PUT(im, c->weight_decay);
}

static void put_tcfg(image *im, const mlp2_train_config *c)
{
    PUT(im, c->epochs);
    PUT(im, c->batch_size);
    PUT(im, c->shuffle);
    PUT(im, c->seed);
    put_ocfg(im, &c->optim);
    PUT(im, c->lr_step);
    PUT(im, c->lr_gamma);
    PUT(im, c->patience);
    PUT(im, c->min_delta);
    PUT(im, c->on_epoch);
    PUT(im, c->user);
    PUT(im, c->cancel);
}

/* Everything a failed call must leave as it was; with_outputs / with_ws
 * leave out what the row says may change. */
static image snapshot(bool outputs, bool ws)
{
    image im = {0};
    put_model(&im, fx.net);
    put_model(&im, fx.net_other);
    if (ws) {
        put_ws(&im, fx.ws);
        put_ws(&im, fx.ws_other);
    }
    uint64_t steps = mlp2_optim_steps(fx.opt);
    img_put(&im, &steps, sizeof steps);
    img_put(&im, fx.X, sizeof fx.X);
    img_put(&im, fx.Y, sizeof fx.Y);
    img_put(&im, fx.Xv, sizeof fx.Xv);
    img_put(&im, fx.Yv, sizeof fx.Yv);
    img_put(&im, fx.theta_in, sizeof fx.theta_in);
    img_put(&im, fx.grad_in, sizeof fx.grad_in);
    put_ocfg(&im, &fx.ocfg);
    put_tcfg(&im, &fx.tcfg);
    if (outputs) {
        img_put(&im, fx.Yp, sizeof fx.Yp);
        img_put(&im, fx.grad_out, sizeof fx.grad_out);
        img_put(&im, &fx.loss, sizeof fx.loss);
    }
    img_put(&im, fx.theta_out, sizeof fx.theta_out);
    img_put(&im, fx.labels, sizeof fx.labels);
    img_put(&im, fx.labels_out, sizeof fx.labels_out);
    PUT(&im, fx.spec_out.n_in);
    PUT(&im, fx.spec_out.n_hidden);
    PUT(&im, fx.spec_out.n_out);
    PUT(&im, fx.spec_out.hidden);
    PUT(&im, fx.spec_out.head);
    img_put(&im, &fx.out_net, sizeof fx.out_net);
    img_put(&im, &fx.out_ws, sizeof fx.out_ws);
    img_put(&im, &fx.out_opt, sizeof fx.out_opt);
    img_put(&im, &fx.data_out, sizeof fx.data_out);
    img_put(&im, &fx.len_out, sizeof fx.len_out);
    size_t flen = 0;
    unsigned char *f = read_file(fx.path, &flen);
    assert_non_null(f);
    img_put(&im, &flen, sizeof flen);
    img_put(&im, f, flen);
    free(f);
    size_t nd = dir_entries(fx.dir);
    img_put(&im, &nd, sizeof nd);
    return im;
}

/* A failed optim_step must leave the optimizer's moments as they were: the
 * next valid step matches the one a fresh twin (same history) takes. */
static void check_optim_state(void)
{
    mlp2 *a = NULL, *b = NULL;
    mlp2_optim *twin = NULL;
    assert_int_equal(mlp2_clone(&a, fx.net), MLP2_OK);
    assert_int_equal(mlp2_clone(&b, fx.net), MLP2_OK);
    assert_int_equal(mlp2_optim_steps(fx.opt), 0);
    assert_int_equal(mlp2_optim_create(&twin, fx.net, &fx.ocfg), MLP2_OK);
    double g[N_PAR], ta[N_PAR], tb[N_PAR];
    tu_rng r = tu_seed(99);
    tu_fill(&r, g, N_PAR, -0.2, 0.2);
    assert_int_equal(mlp2_optim_step(fx.opt, a, g), MLP2_OK);
    assert_int_equal(mlp2_optim_step(twin, b, g), MLP2_OK);
    assert_int_equal(mlp2_get_params(a, ta), MLP2_OK);
    assert_int_equal(mlp2_get_params(b, tb), MLP2_OK);
    assert_memory_equal(ta, tb, sizeof ta);
    mlp2_optim_free(twin);
    mlp2_free(a);
    mlp2_free(b);
}

/* ---- the driver --------------------------------------------------------- */

static void describe(char *buf, size_t n, const row *r, int v, int pos)
{
    static const char *const vals[3] = {"NaN", "+Inf", "-Inf"};
    static const char *const where[3] = {"first", "middle", "last"};
    int k = snprintf(buf, n, "%s", fn_names[r->f]);
    for (int i = 0; i < 2 && r->c[i].v != V_NONE && k > 0 && (size_t)k < n; i++) {
        const change *c = &r->c[i];
        switch (c->v) {
        case V_NULL: k += snprintf(buf + k, n - (size_t)k, " arg%d=NULL", (int)c->a); break;
        case V_SIZE: k += snprintf(buf + k, n - (size_t)k, " arg%d=%zu", (int)c->a, c->z); break;
        case V_DOUBLE: k += snprintf(buf + k, n - (size_t)k, " arg%d=%g", (int)c->a, c->d); break;
        case V_STRING: k += snprintf(buf + k, n - (size_t)k, " arg%d=\"%s\"", (int)c->a, c->s); break;
        case V_NONFINITE:
            k += snprintf(buf + k, n - (size_t)k, " arg%d[%s]=%s", (int)c->a, where[pos], vals[v]);
            break;
        case V_OTHER: k += snprintf(buf + k, n - (size_t)k, " arg%d=other shape", (int)c->a); break;
        case V_BIG: k += snprintf(buf + k, n - (size_t)k, " params=+-1e308"); break;
        case V_KIND:
            k += snprintf(buf + k, n - (size_t)k, " head=%zu hidden=%g", c->z, c->d);
            break;
        case V_ROW0: k += snprintf(buf + k, n - (size_t)k, " arg%d row 0=preset %zu", (int)c->a, c->z); break;
        case V_NONE: break;
        }
    }
}

static int run_one(const row *r, int v, int pos)
{
    char what[256];
    describe(what, sizeof what, r, v, pos);
    fixture_make();
    args g = valid_args();
    apply(&g, &r->c[0], v, pos);
    apply(&g, &r->c[1], v, pos);
    const bool outputs = !(r->may & MAY_OUTPUTS), ws = !(r->may & MAY_WS);
    image before = snapshot(outputs, ws);
    mlp2_status st = call(r->f, &g);
    int failures = 0;
    if (st != r->want) {
        print_error("FAIL %s: status %d (%s), want %d (%s)\n", what, (int)st, mlp2_strerror(st),
                    (int)r->want, mlp2_strerror(r->want));
        failures++;
    } else if (st != MLP2_OK) {
        image after = snapshot(outputs, ws);
        if (after.n != before.n || memcmp(after.b, before.b, before.n) != 0) {
            print_error("FAIL %s: returned %s but changed what it was given\n", what, mlp2_strerror(st));
            failures++;
        }
        free(after.b);
        if (r->f == F_OPTIM_STEP && failures == 0)
            check_optim_state();
    }
    free(before.b);
    fixture_free();
    return failures;
}

static void bad_input_matrix(void **state)
{
    (void)state;
    int failures = 0, runs = 0;
    bool seen[F_COUNT] = {false};
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        const row *r = &table[i];
        const bool nonfinite = r->c[0].v == V_NONFINITE || r->c[1].v == V_NONFINITE;
        for (int v = 0; v < (nonfinite ? 3 : 1); v++)
            for (int pos = 0; pos < (nonfinite ? 3 : 1); pos++, runs++)
                failures += run_one(r, v, pos);
        if (r->want == MLP2_OK && r->c[0].v == V_NONE)
            seen[r->f] = true;
    }
    for (int f = 0; f < F_COUNT; f++)
        if (!seen[f]) {
            print_error("FAIL %s has no valid-call row\n", fn_names[f]);
            failures++;
        }
    print_message("%d calls, %d failures\n", runs, failures);
    assert_int_equal(failures, 0);
}

/* The functions that return no status: NULL and out-of-range arguments give
 * the documented neutral answer. */
static void neutral_answers(void **state)
{
    (void)state;
    mlp2_free(NULL);
    mlp2_workspace_free(NULL);
    mlp2_optim_free(NULL);
    mlp2_optim_reset(NULL);
    assert_int_equal(mlp2_n_in(NULL), 0);
    assert_int_equal(mlp2_n_hidden(NULL), 0);
    assert_int_equal(mlp2_n_out(NULL), 0);
    assert_int_equal(mlp2_n_params(NULL), 0);
    assert_int_equal(mlp2_workspace_max_batch(NULL), 0);
    assert_int_equal(mlp2_optim_steps(NULL), 0);
    assert_int_equal(mlp2_section_count(NULL), 0);
    assert_null(mlp2_section_name(NULL, 0));
    fixture_make();
    assert_null(mlp2_section_name(fx.net, 2));
    assert_null(mlp2_section_name(fx.net, SIZE_MAX));
    assert_non_null(mlp2_section_name(fx.net, 1));
    fixture_free();
    const int codes[] = {-1, 7, 8, 1000, INT_MAX, INT_MIN};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const char *s = mlp2_strerror((mlp2_status)codes[i]);
        assert_non_null(s);
        assert_true(strlen(s) > 0);
    }
    for (int s = MLP2_OK; s <= MLP2_ENOENT; s++)
        assert_string_not_equal(mlp2_strerror((mlp2_status)s), mlp2_strerror((mlp2_status)1000));
    assert_non_null(mlp2_blas_config());
    assert_non_null(mlp2_blas_core());
    assert_true(mlp2_blas_threads() >= 1);
    /* an unknown optimizer kind gets the SGD defaults with that kind */
    mlp2_optim_config c = mlp2_optim_defaults((mlp2_optim_kind)9);
    assert_int_equal(c.kind, 9);
    assert_true(c.lr > 0.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bad_input_matrix),
        cmocka_unit_test(neutral_answers),
    };
    return cmocka_run_group_tests_name("badinput", tests, NULL, NULL);
}
