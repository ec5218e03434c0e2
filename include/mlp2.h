/*
 * mlp2.h - a two-layer neural network trained and run through BLAS: by
 * default (the seed's network) a sigmoid hidden layer, linear output and
 * mean-squared-error loss; tanh or ReLU hidden units and softmax or sigmoid
 * heads with cross-entropy are other kinds (see mlp2_spec below).
 *
 * The seed's network, for a mini-batch X of m rows:
 *
 *     Z1 = X W1 + b1        X: m x n_in, W1: n_in x n_hidden, b1: n_hidden
 *     A1 = sigmoid(Z1)      A1: m x n_hidden
 *     A2 = A1 W2 + b2       W2: n_hidden x n_out, b2: n_out, A2: m x n_out
 *     L  = 1/(2m) * sum_ij (A2 - Y)_ij^2
 *
 * and its gradients:
 *
 *     delta2 = (A2 - Y) / m                    gW2 = A1^T delta2   gb2 = colsum(delta2)
 *     delta1 = (delta2 W2^T) .* A1 .* (1 - A1) gW1 = X^T delta1    gb1 = colsum(delta1)
 *
 * Conventions used by every function below:
 *   - All matrices are dense, row-major, with no padding between rows.
 *   - All parameters form one flat vector "theta" in the order
 *     W1 (row-major), b1, W2 (row-major), b2.  Gradients use the same layout.
 *   - Every function returns a status.  The library never prints, never exits
 *     and never aborts.  On any failure the model is left exactly as it was.
 *   - Input arrays are checked for NaN and Inf before anything is written; a
 *     non-finite input gives MLP2_ENONFINITE and no output is touched.
 *   - Caller-owned arrays must not overlap each other.
 *   - Thread safety: functions that take a `const mlp2 *` never write to the
 *     model, so any number of threads may use one model at once as long as
 *     each thread has its own workspace (or passes NULL).  A workspace, an
 *     optimizer and a non-const model belong to one thread at a time.
 *     mlp2_set_allocator() and mlp2_set_blas_threads() change process-wide
 *     settings and must not race with any other call.
 */
#ifndef MLP2_H
#define MLP2_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(MLP2_BUILDING) && defined(__GNUC__)
#define MLP2_API __attribute__((visibility("default")))
#else
#define MLP2_API
#endif

#define MLP2_VERSION_MAJOR 0
#define MLP2_VERSION_MINOR 1
#define MLP2_VERSION_PATCH 0
#define MLP2_VERSION_STRING "0.1.0"
/** MLP2_VERSION_NUMBER = major*10000 + minor*100 + patch. */
#define MLP2_VERSION_NUMBER \
    (MLP2_VERSION_MAJOR * 10000 + MLP2_VERSION_MINOR * 100 + MLP2_VERSION_PATCH)

/** The library's version string at run time, e.g. "0.1.0".  Static, never NULL. */
MLP2_API const char *mlp2_version(void);
/** The library's MLP2_VERSION_NUMBER at run time. */
MLP2_API int mlp2_version_number(void);

/* ------------------------------------------------------------------------- */
/* Status codes                                                              */
/* ------------------------------------------------------------------------- */

typedef enum mlp2_status {
    MLP2_OK = 0,      /* success */
    MLP2_EINVAL,      /* invalid argument: NULL pointer, zero size, bad option, mismatched shapes */
    MLP2_ENOMEM,      /* an allocation failed */
    MLP2_ERANGE,      /* a size (or a product of sizes) overflows size_t or the BLAS int range */
    MLP2_ENONFINITE,  /* NaN or Inf in an input, or a loss/gradient/update that is not finite */
    MLP2_EIO,         /* a file could not be opened, read, written, synced or renamed */
    MLP2_EFORMAT,     /* a model file is malformed: magic, version, sizes, length or checksum */
    MLP2_ENOENT       /* no such section (mlp2_section_get, mlp2_section_remove) */
} mlp2_status;

/** A static, human-readable description of s.  Never NULL, also for unknown codes. */
MLP2_API const char *mlp2_strerror(mlp2_status s);

/* ------------------------------------------------------------------------- */
/* Allocation                                                                */
/* ------------------------------------------------------------------------- */

/**
 * Replace the allocator used for every allocation the library makes.
 * @param[in] alloc_fn  returns a block of at least `size` bytes aligned for
 *                      double, or NULL on failure (size is never 0)
 * @param[in] free_fn   releases a block from alloc_fn; never called with NULL
 * @param[in] ud        passed through to both
 * Passing NULL for both functions restores malloc/free.
 * @returns MLP2_OK, or MLP2_EINVAL when exactly one function is NULL.
 * Process-wide: call it before any other mlp2 function (or when no mlp2
 * object is alive), never concurrently with other calls.  Objects must be
 * freed with the allocator that made them.
 */
typedef void *(*mlp2_alloc_fn)(void *ud, size_t size);
typedef void (*mlp2_free_fn)(void *ud, void *ptr);
MLP2_API mlp2_status mlp2_set_allocator(mlp2_alloc_fn alloc_fn, mlp2_free_fn free_fn, void *ud);

/* ------------------------------------------------------------------------- */
/* The model                                                                 */
/* ------------------------------------------------------------------------- */

typedef struct mlp2 mlp2;                     /* opaque: sizes + parameters */
typedef struct mlp2_workspace mlp2_workspace; /* opaque: scratch for batches up to max_batch rows */

/**
 * Create a network with n_in inputs, n_hidden sigmoid units and n_out linear
 * outputs.
 * Initialisation (bit-identical on every IEEE-754 platform for a given seed):
 *   W1 ~ U(-a1, a1), a1 = sqrt(6 / (n_in + n_hidden))      (Glorot/Xavier uniform)
 *   W2 ~ U(-a2, a2), a2 = sqrt(6 / (n_hidden + n_out))
 *   b1 = 0, b2 = 0
 * The uniforms come from the library's own xoshiro256** generator seeded
 * through splitmix64 with `seed`, drawn in theta order (W1 row by row, then W2).
 * @param[out] out  receives the new model; untouched on failure
 * @returns MLP2_OK; MLP2_EINVAL for out == NULL or a zero size; MLP2_ERANGE
 *          when a size exceeds INT_MAX or the parameter count overflows;
 *          MLP2_ENOMEM.
 */
MLP2_API mlp2_status mlp2_create(mlp2 **out, size_t n_in, size_t n_hidden, size_t n_out, uint64_t seed);
/* ------------------------------------------------------------------------- */
/* Kinds of network: hidden activation and output head                       */
/* ------------------------------------------------------------------------- */

/**
 * The hidden activation, A1 = f(Z1) with Z1 = X W1 + b1, and its derivative
 * as the backward pass uses it, written in A1:
 *   MLP2_HIDDEN_SIGMOID  f = 1/(1 + exp(-z))   f' = A1 (1 - A1)
 *   MLP2_HIDDEN_TANH     f = tanh(z)           f' = 1 - A1^2
 *   MLP2_HIDDEN_RELU     f = max(z, 0)         f' = 1 where A1 > 0, else 0 (as PyTorch)
 */
typedef enum mlp2_hidden { MLP2_HIDDEN_SIGMOID = 0, MLP2_HIDDEN_TANH, MLP2_HIDDEN_RELU } mlp2_hidden;
/**
 * The output head, with Z2 = A1 W2 + b2 (m x n_out), A2 = what mlp2_predict
 * returns, L the loss, a sum over all m rows and n_out outputs; in every
 * case the output error is delta2 = (A2 - Y) / m and the rest of the
 * backward pass is the seed's:
 *   MLP2_HEAD_LINEAR   A2 = Z2                     L = 1/(2m) sum (A2 - Y)^2
 *   MLP2_HEAD_SOFTMAX  A2 = softmax of each row    L = -(1/m) sum Y log A2
 *   MLP2_HEAD_SIGMOID  A2 = sigmoid(Z2)            L = -(1/m) sum [Y log A2 + (1 - Y) log(1 - A2)]
 * Targets: linear, any finite Y.  Softmax: n_out >= 2 and every row of Y a
 * probability vector (entries >= 0 summing to 1 within 1e-9: one-hot rows
 * or soft labels).  Sigmoid: every entry of Y in [0, 1] (several outputs:
 * multi-label).  Other targets: MLP2_EINVAL, nothing changed.
 * Numerics: the softmax subtracts the row maximum; the cross-entropies are
 * computed from Z2 as log-sum-exp(Z2) - sum Y Z2 (softmax) and softplus(Z2)
 * - Y Z2 (sigmoid), softplus(z) = max(z, 0) + log1p(exp(-|z|)), so that the
 * loss is finite for every finite Z2 (a confidently wrong output gives a
 * large loss, never Inf or log(0)).
 */
typedef enum mlp2_head { MLP2_HEAD_LINEAR = 0, MLP2_HEAD_SOFTMAX, MLP2_HEAD_SIGMOID } mlp2_head;

typedef struct mlp2_spec {
    size_t n_in, n_hidden, n_out;
    mlp2_hidden hidden;   /* MLP2_HIDDEN_SIGMOID: the seed's network */
    mlp2_head head;       /* MLP2_HEAD_LINEAR: linear output and squared error, the seed's network */
} mlp2_spec;

/**
 * Create a network of any kind.  Initialisation (bit-identical on every
 * IEEE-754 platform for a given seed; the generator as for mlp2_create):
 *   W1 ~ U(-a1, a1), a1 = sqrt(6 / (n_in + n_hidden))  sigmoid, tanh (Glorot uniform)
 *                    a1 = sqrt(6 / n_in)               ReLU (He uniform)
 *   W2 ~ U(-a2, a2), a2 = sqrt(6 / (n_hidden + n_out)) every head (Glorot uniform)
 *   b1 = 0, b2 = 0
 * mlp2_create(&net, a, b, c, seed) is mlp2_create_spec with {a, b, c,
 * MLP2_HIDDEN_SIGMOID, MLP2_HEAD_LINEAR} and gives the same bits.
 * @returns MLP2_OK; MLP2_EINVAL (NULL, a zero size, an unknown kind, a
 *          softmax head with n_out < 2); MLP2_ERANGE and MLP2_ENOMEM as
 *          mlp2_create.  *out is untouched on failure.
 */
MLP2_API mlp2_status mlp2_create_spec(mlp2 **out, const mlp2_spec *spec, uint64_t seed);
/** The sizes and kinds of net.  MLP2_OK, or MLP2_EINVAL for a NULL argument. */
MLP2_API mlp2_status mlp2_get_spec(const mlp2 *net, mlp2_spec *spec);

/**
 * Class indices to one-hot rows: Y (m x n_classes) gets Y[i][labels[i]] = 1
 * and 0 elsewhere.
 * @returns MLP2_OK; MLP2_EINVAL (NULL, m or n_classes 0, or any label >=
 *          n_classes: Y untouched); MLP2_ERANGE (m * n_classes overflows).
 */
MLP2_API mlp2_status mlp2_onehot(size_t m, size_t n_classes, const size_t *labels, double *Y);
/**
 * Outputs A2 (m x n_out, as mlp2_predict gives them) to predicted classes.
 *   MLP2_HEAD_SOFTMAX: labels[i] = the argmax of row i (the first one on a
 *                      tie); m labels.
 *   MLP2_HEAD_SIGMOID: labels[i*n_out + j] = 1 when A2[i][j] > 0.5, else 0
 *                      (0.5 itself gives 0, as scikit-learn); m * n_out labels.
 * @returns MLP2_OK; MLP2_EINVAL (NULL, m or n_out 0, a linear or unknown
 *          head, softmax with n_out < 2); MLP2_ERANGE (m * n_out overflows);
 *          MLP2_ENONFINITE (a NaN or Inf in A2: labels untouched).
 */
MLP2_API mlp2_status mlp2_classify(mlp2_head head, size_t m, size_t n_out, const double *A2, size_t *labels);

/** Free a model and everything attached to it.  NULL: no-op. */
MLP2_API void mlp2_free(mlp2 *net);
/**
 * A deep copy of src (parameters and attached sections).
 * @returns MLP2_OK, MLP2_EINVAL (NULL argument), MLP2_ENOMEM.
 */
MLP2_API mlp2_status mlp2_clone(mlp2 **out, const mlp2 *src);

/** Sizes.  A NULL model gives 0. */
MLP2_API size_t mlp2_n_in(const mlp2 *net);
MLP2_API size_t mlp2_n_hidden(const mlp2 *net);
MLP2_API size_t mlp2_n_out(const mlp2 *net);
/** n_in*n_hidden + n_hidden + n_hidden*n_out + n_out (0 for NULL). */
MLP2_API size_t mlp2_n_params(const mlp2 *net);

/**
 * Copy all parameters out, in the theta layout.
 * @param[out] theta  n_params doubles
 * @returns MLP2_OK, MLP2_EINVAL (NULL argument).
 */
MLP2_API mlp2_status mlp2_get_params(const mlp2 *net, double *theta);
/**
 * Replace all parameters.
 * @param[in] theta  n_params doubles in the theta layout
 * @returns MLP2_OK, MLP2_EINVAL (NULL argument), MLP2_ENONFINITE (any NaN or
 *          Inf; the model is unchanged).
 */
MLP2_API mlp2_status mlp2_set_params(mlp2 *net, const double *theta);

/* ------------------------------------------------------------------------- */
/* Workspace                                                                 */
/* ------------------------------------------------------------------------- */

/**
 * Scratch space for batches of up to max_batch rows of net's shape.  Made
 * once, reused by every call: no function allocates when given a workspace.
 * Holds about max_batch*(2*n_hidden + n_out + 1) + n_params doubles.
 * A workspace fits any model with the same (n_in, n_hidden, n_out).
 * Its contents are scratch that no caller reads: any call given it may
 * change them, a call that fails too (mlp2_sgd_step may compute on the
 * rows before a non-finite value in a later block refuses the step).
 * @returns MLP2_OK; MLP2_EINVAL (NULL, max_batch == 0); MLP2_ERANGE (max_batch
 *          above INT_MAX or a buffer size overflows); MLP2_ENOMEM.
 */
MLP2_API mlp2_status mlp2_workspace_create(mlp2_workspace **out, const mlp2 *net, size_t max_batch);
/** The largest thread count mlp2_workspace_create_mt accepts. */
#define MLP2_MAX_THREADS 1024
/**
 * A workspace that splits every batch among n_threads threads: the calling
 * thread and a pool of n_threads - 1 worker threads made here, kept for the
 * workspace's life and joined by mlp2_workspace_free.  No other call makes
 * or joins threads.  mlp2_predict, mlp2_loss_grad, mlp2_sgd_step and
 * mlp2_train (mlp2_train_config.threads) use it.
 *
 * Deterministic whatever the thread count: each chunk of up to max_batch
 * rows is cut into shards whose number depends only on the chunk's rows and
 * net's shape (from 1 for small chunks up to 16); every shard's partial
 * gradient goes to its own buffer and they are added in one fixed pairwise
 * tree.  So for the same inputs and max_batch, the loss, the gradient, the
 * predictions and every step are bit-identical for n_threads = 1, 2, 3, ...
 * They agree with a workspace from mlp2_workspace_create up to rounding
 * (bit-identical when a chunk is one shard).
 *
 * While the shards of a chunk run, OpenBLAS is held at one thread
 * (process-wide; the count set by mlp2_set_blas_threads is put back when
 * the last such call ends).  A chunk of a single shard runs on the calling
 * thread with OpenBLAS's own threads as set: for small batches the workers
 * stay idle and cost nothing.  See docs/SCALING.md for the rule and figures.
 *
 * The pool holds min(n_threads, S) threads, the caller's included, where
 * S (at most 16) is the number of shards of a max_batch chunk: threads
 * beyond S would never get work, and when S == 1 no thread is made at all
 * (the workspace then computes exactly as mlp2_workspace_create's).
 * Holds the memory of mlp2_workspace_create, plus, per extra thread of the
 * pool, max_batch*(2*n_hidden + n_out) doubles, plus S - 1 partial
 * gradients of n_params doubles.
 * Like any workspace it belongs to one calling thread at a time.
 * @param[in] n_threads  1 .. MLP2_MAX_THREADS
 * @returns as mlp2_workspace_create, plus MLP2_EINVAL for n_threads == 0 or
 *          above MLP2_MAX_THREADS, and MLP2_ENOMEM when a thread cannot be
 *          made (then no thread is left running).
 */
MLP2_API mlp2_status mlp2_workspace_create_mt(mlp2_workspace **out, const mlp2 *net, size_t max_batch,
                                              size_t n_threads);
/** Free a workspace; joins its worker threads first.  NULL: no-op. */
MLP2_API void mlp2_workspace_free(mlp2_workspace *ws);
/** The threads asked for: n_threads of mlp2_workspace_create_mt (the pool
 *  may hold fewer, see there), 1 for mlp2_workspace_create, 0 for NULL. */
MLP2_API size_t mlp2_workspace_threads(const mlp2_workspace *ws);
/** The max_batch a workspace was made for (0 for NULL). */
MLP2_API size_t mlp2_workspace_max_batch(const mlp2_workspace *ws);

/* ------------------------------------------------------------------------- */
/* Forward and backward                                                      */
/* ------------------------------------------------------------------------- */

/**
 * A2 = head(f(X W1 + b1) W2 + b2) for net's kinds (mlp2_hidden, mlp2_head);
 * the seed's network: A2 = sigmoid(X W1 + b1) W2 + b2.
 * The sigmoid is the library's own vectorised one, within a few ulps of
 * 1/(1+exp(-z)); for z > 708 it is exactly 1 and for z < -708 exactly 0
 * (the true value is then below 3.3e-308).
 * @param[in]     net  the model (not written)
 * @param[in,out] ws   workspace of net's shape, or NULL: a temporary one of
 *                     min(m, 1024) rows is made and freed inside the call
 * @param[in]     m    number of rows, > 0.  When m > max_batch the rows are
 *                     worked through in chunks of max_batch; the result equals
 *                     one pass up to rounding.
 * @param[in]     X    m x n_in, row-major, finite
 * @param[out]    Y    m x n_out, row-major
 * @returns MLP2_OK; MLP2_EINVAL (NULL, m == 0, workspace of another shape);
 *          MLP2_ERANGE (m * n_in or m * n_out overflows size_t);
 *          MLP2_ENONFINITE (non-finite X: Y untouched; or an output that
 *          overflows: Y unspecified); MLP2_ENOMEM (ws == NULL only).
 * Thread-safe on a shared model with one workspace per thread.
 */
MLP2_API mlp2_status mlp2_predict(const mlp2 *net, mlp2_workspace *ws, size_t m, const double *X, double *Y);

/**
 * The loss L of net's head (linear: 1/(2m) ||A2 - Y||_F^2; the
 * cross-entropies of mlp2_head) and, when grad != NULL, its gradient with
 * respect to theta.
 * @param[in]  X     m x n_in, row-major, finite
 * @param[in]  Y     m x n_out targets, row-major, finite, valid for the head
 *                   (see mlp2_head: probability rows for softmax, [0, 1]
 *                   for sigmoid)
 * @param[out] loss  may be NULL when grad is not
 * @param[out] grad  n_params doubles in the theta layout, or NULL
 * ws, m and chunking as for mlp2_predict.  Chunks accumulate into one
 * gradient, equal to one pass up to rounding.
 * @returns MLP2_OK; MLP2_EINVAL (NULL X/Y/net, loss and grad both NULL, m == 0,
 *          workspace of another shape, targets not valid for the head:
 *          outputs untouched); MLP2_ERANGE (m * n_in or m * n_out
 *          overflows size_t); MLP2_ENONFINITE (non-finite X or Y:
 *          outputs untouched; a loss or gradient that overflows: outputs
 *          unspecified); MLP2_ENOMEM (ws == NULL only).
 * Thread-safe on a shared model with one workspace per thread.
 */
MLP2_API mlp2_status mlp2_loss_grad(const mlp2 *net, mlp2_workspace *ws, size_t m, const double *X,
                                    const double *Y, double *loss, double *grad);

/**
 * One plain gradient-descent step, theta -= lr * grad(theta).
 * @param[in]  lr    finite and > 0
 * @param[out] loss  if non-NULL, the loss before the step
 * The gradient lives in the workspace: no allocation when ws != NULL.
 * @returns as mlp2_loss_grad (X and Y are checked first, then lr), plus
 *          MLP2_EINVAL for lr <= 0 and MLP2_ENONFINITE for a non-finite lr or an update that would make a
 *          parameter non-finite.  On any failure the model is unchanged.
 */
MLP2_API mlp2_status mlp2_sgd_step(mlp2 *net, mlp2_workspace *ws, size_t m, const double *X, const double *Y,
                                   double lr, double *loss);

/* ------------------------------------------------------------------------- */
/* Optimizers (the update rules of torch.optim, exactly)                    */
/* ------------------------------------------------------------------------- */

typedef struct mlp2_optim mlp2_optim;
typedef enum { MLP2_OPTIM_SGD, MLP2_OPTIM_MOMENTUM, MLP2_OPTIM_ADAM } mlp2_optim_kind;
/**
 * With g = grad + weight_decay * theta (weight decay on every parameter):
 *   SGD:      theta -= lr * g
 *   MOMENTUM: v = g on the first step, then v = momentum * v + g;  theta -= lr * v
 *             (torch.optim.SGD, dampening 0, not Nesterov)
 *   ADAM:     m = beta1 m + (1-beta1) g;  v = beta2 v + (1-beta2) g^2;
 *             theta -= lr/(1-beta1^t) * m / (sqrt(v)/sqrt(1-beta2^t) + eps)
 *             (torch.optim.Adam, amsgrad off)
 * Valid values: lr > 0; weight_decay >= 0; MOMENTUM: 0 <= momentum < 1;
 * ADAM: 0 <= beta1 < 1, 0 <= beta2 < 1, eps > 0.  All finite.  Fields a kind
 * does not use are ignored.
 */
typedef struct mlp2_optim_config {
    mlp2_optim_kind kind;
    double lr, momentum, beta1, beta2, eps, weight_decay;
} mlp2_optim_config;

/**
 * Sensible defaults for a kind: SGD lr 0.01; MOMENTUM lr 0.01, momentum 0.9;
 * ADAM lr 0.001, beta1 0.9, beta2 0.999, eps 1e-8; weight_decay 0.
 * An unknown kind gives the SGD defaults with that kind (rejected by create).
 */
MLP2_API mlp2_optim_config mlp2_optim_defaults(mlp2_optim_kind kind);
/**
 * An optimizer for models of net's shape; its state (velocity, moments, step
 * count) starts empty.
 * @returns MLP2_OK; MLP2_EINVAL (NULL, unknown kind, a value outside its valid
 *          range or non-finite); MLP2_ENOMEM.
 */
MLP2_API mlp2_status mlp2_optim_create(mlp2_optim **out, const mlp2 *net, const mlp2_optim_config *cfg);
/**
 * Apply one update to net with the gradient grad (n_params doubles, theta
 * layout).  No allocation.
 * @returns MLP2_OK; MLP2_EINVAL (NULL, net of another shape); MLP2_ENONFINITE
 *          (non-finite grad, or an update that would make a parameter or the
 *          optimizer state non-finite): net and optimizer state unchanged.
 */
MLP2_API mlp2_status mlp2_optim_step(mlp2_optim *opt, mlp2 *net, const double *grad);
/** Change the learning rate (for schedules).  MLP2_EINVAL unless lr is finite and > 0. */
MLP2_API mlp2_status mlp2_optim_set_lr(mlp2_optim *opt, double lr);
/** Forget all state: the next step is step 1 again.  NULL: no-op. */
MLP2_API void mlp2_optim_reset(mlp2_optim *opt);
/** Steps taken since create or reset (0 for NULL). */
MLP2_API uint64_t mlp2_optim_steps(const mlp2_optim *opt);
/** NULL: no-op. */
MLP2_API void mlp2_optim_free(mlp2_optim *opt);

/* ------------------------------------------------------------------------- */
/* Training loop                                                             */
/* ------------------------------------------------------------------------- */

typedef enum mlp2_stop_reason {
    MLP2_STOP_EPOCHS = 0,  /* ran all the epochs asked for */
    MLP2_STOP_EARLY,       /* validation (or train) loss did not improve for `patience` epochs */
    MLP2_STOP_CALLBACK,    /* the epoch callback returned non-zero */
    MLP2_STOP_CANCELLED,   /* *cancel became non-zero (checked after every batch) */
    MLP2_STOP_NONFINITE    /* a loss or update was not finite: training returned MLP2_ENONFINITE */
} mlp2_stop_reason;

/**
 * Called after every epoch (1-based).  val_loss is NaN when there is no
 * validation set.  Return non-zero to stop training.
 */
typedef int (*mlp2_epoch_fn)(void *user, size_t epoch, double train_loss, double val_loss);

typedef struct mlp2_train_config {
    size_t epochs;          /* > 0 */
    size_t batch_size;      /* > 0; the last partial batch of an epoch is used too */
    int shuffle;            /* non-zero: a new permutation of the rows every epoch */
    uint64_t seed;          /* seed of the shuffling generator */
    mlp2_optim_config optim;
    size_t lr_step;         /* step decay: every lr_step epochs lr *= lr_gamma; 0 = constant lr */
    double lr_gamma;        /* in (0, 1] when lr_step > 0 */
    size_t patience;        /* early stopping after `patience` epochs without improvement; 0 = off */
    double min_delta;       /* an improvement must lower the monitored loss by more than this (>= 0) */
    mlp2_epoch_fn on_epoch; /* may be NULL */
    void *user;             /* passed to on_epoch */
    const volatile sig_atomic_t *cancel; /* may be NULL; non-zero stops after the current batch */
    size_t threads;         /* 0: one thread, BLAS threads as set (mlp2_workspace_create);
                               >= 1: up to this many threads (mlp2_workspace_create_mt), the
                               same bits for every count >= 1; at most MLP2_MAX_THREADS.  A
                               run whose work, epochs x (m + m_val) x (50 + n_in n_hidden +
                               n_hidden n_out), is below 1e7 makes no thread */
} mlp2_train_config;

typedef struct mlp2_train_report {
    size_t epochs_run;        /* epochs completed */
    size_t best_epoch;        /* patience > 0: the epoch whose parameters the model holds at the end
                                 (0: the initial ones).  patience == 0: the last completed epoch;
                                 after a cancel or a non-finite stop the model also holds the
                                 steps taken in the unfinished epoch that followed it */
    double best_loss;         /* the monitored loss at best_epoch (NaN for epoch 0) */
    double final_train_loss;  /* mean training loss of the last completed epoch (NaN if none) */
    double final_val_loss;    /* validation loss after the last completed epoch (NaN if none) */
    mlp2_stop_reason reason;
} mlp2_train_report;

/**
 * Defaults: 100 epochs, batch 32, shuffle on, seed 0, Adam defaults,
 * no schedule (lr_step 0, lr_gamma 1), no early stopping, no callback,
 * threads 0.
 * The same as mlp2_train_defaults_for(MLP2_OPTIM_ADAM).
 */
MLP2_API mlp2_train_config mlp2_train_defaults(void);
/**
 * The same defaults with the optimizer `kind` and its defaults
 * (mlp2_optim_defaults(kind): for example SGD's lr 0.01, not Adam's 0.001).
 * Setting cfg.optim.kind alone after mlp2_train_defaults() keeps Adam's
 * values; use this, or assign cfg.optim = mlp2_optim_defaults(kind).
 */
MLP2_API mlp2_train_config mlp2_train_defaults_for(mlp2_optim_kind kind);
/**
 * Check a training configuration as mlp2_train does, and name the first
 * invalid field.
 * @param[out] field  may be NULL; set to NULL when cfg is valid, otherwise
 *                    to a static string naming the field as it is spelled in
 *                    C: "epochs", "batch_size", "lr_gamma", "min_delta",
 *                    "optim.kind", "optim.lr", "optim.weight_decay",
 *                    "optim.momentum", "optim.beta1", "optim.beta2",
 *                    "optim.eps", "threads" ("cfg" when cfg is NULL)
 * @returns MLP2_OK, or MLP2_EINVAL.
 */
MLP2_API mlp2_status mlp2_train_config_check(const mlp2_train_config *cfg, const char **field);
/**
 * A static lower-case name of r: "epochs", "early-stopping", "callback",
 * "cancelled", "non-finite"; "unknown" for any other value.  Never NULL.
 */
MLP2_API const char *mlp2_stop_reason_name(mlp2_stop_reason r);

/**
 * Mini-batch training of net on (X, Y), with an optional validation set.
 * @param[in]  X, Y       m x n_in and m x n_out, row-major, finite, Y (and Yv)
 *                        valid for the head (see mlp2_head); m > 0
 * @param[in]  Xv, Yv     m_val rows for validation, or NULL with m_val == 0
 * @param[out] report     may be NULL; written when training ran (MLP2_OK, or
 *                        MLP2_ENONFINITE with reason MLP2_STOP_NONFINITE),
 *                        untouched on every other failure
 * Every epoch: the rows are visited in a fresh seeded permutation (or in
 * order), in batches of batch_size (the last one may be shorter); each batch
 * takes one optimizer step on its mean loss.  The epoch's train loss is the
 * mean of the batch losses (each measured before its step) weighted by batch
 * rows.  The monitored loss is the validation loss when there is a
 * validation set, otherwise the epoch's train loss; the first completed
 * epoch always counts as an improvement.  When patience > 0 the
 * parameters of the best monitored epoch are restored at the end, whatever
 * ended training.  Same inputs and seed: bit-identical result.
 * All memory is allocated once at the start.
 * @returns MLP2_OK (also after early, callback or cancel stops; see
 *          report->reason); MLP2_EINVAL (NULL, zero sizes, invalid config,
 *          targets not valid for the head: nothing changes);
 *          MLP2_ENONFINITE (non-finite data: nothing changes; a loss or
 *          update that is not finite mid-training: the model keeps the last
 *          finite parameters, or the best ones when patience > 0);
 *          MLP2_ERANGE (m times a width overflows, or a batch above INT_MAX
 *          rows: model unchanged); MLP2_ENOMEM (model unchanged).
 */
MLP2_API mlp2_status mlp2_train(mlp2 *net, const mlp2_train_config *cfg, size_t m, const double *X,
                                const double *Y, size_t m_val, const double *Xv, const double *Yv,
                                mlp2_train_report *report);

/* ------------------------------------------------------------------------- */
/* Model file                                                                */
/* ------------------------------------------------------------------------- */

/**
 * Named sections: application data kept with the model and saved in its file
 * (for example the command-line tool's data scaling).
 * Order: sections are kept, listed (mlp2_section_name), saved and loaded in
 * the order they were first set; replacing a section's data keeps its place;
 * removing one moves the later ones up by one.
 * @param[in] name  a NUL-terminated name of 1..255 bytes
 * @param[in] data  len bytes (copied); may be NULL when len == 0
 * Setting an existing name replaces its data.
 * @returns MLP2_OK, MLP2_EINVAL, MLP2_ERANGE (len > 2^32 - 1), MLP2_ENOMEM
 *          (the model keeps its old sections).
 */
MLP2_API mlp2_status mlp2_section_set(mlp2 *net, const char *name, const void *data, size_t len);
/**
 * Look up a section.  *data points into the model and stays valid until the
 * section is changed or the model freed.
 * @returns MLP2_OK, MLP2_EINVAL (NULL argument, or a name that is not 1..255
 *          bytes), MLP2_ENOENT (no section of that name).
 */
MLP2_API mlp2_status mlp2_section_get(const mlp2 *net, const char *name, const void **data, size_t *len);
/** Remove a section.  MLP2_OK, MLP2_EINVAL (NULL, or a name that is not
 *  1..255 bytes), or MLP2_ENOENT when it does not exist. */
MLP2_API mlp2_status mlp2_section_remove(mlp2 *net, const char *name);
/** Number of sections, and the name of section i (NULL when out of range). */
MLP2_API size_t mlp2_section_count(const mlp2 *net);
MLP2_API const char *mlp2_section_name(const mlp2 *net, size_t i);

/** The model file format version this library writes (see docs/FORMAT.md). */
#define MLP2_FORMAT_VERSION 2

/**
 * Save net (sizes, parameters, sections) to path, atomically: readers of
 * path see the old file or the complete new one, never a mix, whatever
 * kills the process (docs/FORMAT.md, "How files are written").  The data
 * goes to a temporary file in the target's folder (unnamed where the file
 * system allows it), is fsync'ed, renamed over path, and the folder is
 * fsync'ed.  Temporary files left by killed saves (same host, writer gone)
 * are removed.  A symbolic link is written through (the link stays); a
 * FIFO, a character device or /dev/fd/N, /proc/self/fd/N is written
 * straight through.  The replaced file's mode is kept, and its owner where
 * permitted.  A read-only file (no write permission bit, or not writable by
 * the caller) is not replaced: MLP2_EIO with errno EACCES.  Thread-safe for
 * different paths.
 * @returns MLP2_OK; MLP2_EINVAL (NULL); MLP2_EIO (any failure to create,
 *          write, sync or rename, errno telling why: an existing file at
 *          path is left as it was, and no temporary file is left behind;
 *          only when the last step, the fsync of the folder after the
 *          rename, fails is the new file already in place); MLP2_ENOMEM.
 */
MLP2_API mlp2_status mlp2_save(const mlp2 *net, const char *path);
/**
 * Load a model saved by mlp2_save.  The file is never trusted: sizes are
 * checked against its real length before anything is allocated.
 * @returns MLP2_OK; MLP2_EINVAL (NULL); MLP2_EIO (cannot open or read);
 *          MLP2_EFORMAT (wrong magic, unknown version, overflowing or
 *          inconsistent sizes, truncation, trailing bytes, checksum
 *          mismatch); MLP2_ENONFINITE (a non-finite parameter);
 *          MLP2_ENOMEM.  *out is untouched on failure.
 */
MLP2_API mlp2_status mlp2_load(mlp2 **out, const char *path);
/** The same, from a memory buffer of len bytes. */
MLP2_API mlp2_status mlp2_load_buffer(mlp2 **out, const void *buf, size_t len);

/* ------------------------------------------------------------------------- */
/* BLAS                                                                      */
/* ------------------------------------------------------------------------- */

/** Set the number of threads OpenBLAS uses (process-wide).  MLP2_EINVAL for n < 1. */
MLP2_API mlp2_status mlp2_set_blas_threads(int n);
/** The number of threads OpenBLAS uses. */
MLP2_API int mlp2_blas_threads(void);
/** OpenBLAS's configuration string and chosen core type.  Static, never NULL. */
MLP2_API const char *mlp2_blas_config(void);
MLP2_API const char *mlp2_blas_core(void);

/* ------------------------------------------------------------------------- */
/* Export as C source                                                        */
/* ------------------------------------------------------------------------- */

/**
 * Y for m rows, one row at a time in a fixed, documented order: the order of
 * the C source that mlp2_export_c writes, so that the exported code's
 * NAME_predict (with MLP2_EXPORT_EXP_OWN, in double) gives exactly these bits.
 * For each row x (network units):
 *     h[j] = 0.0;  for k = 0..n_in-1:  h[j] = h[j] + x[k] * W1[k][j]   (no FMA)
 *     h[j] = f(h[j] + b1[j])            the library's own activation: tanh and ReLU by
 *                                       mlp2_predict's kernels; the sigmoid by the same
 *                                       expressions without FMA contraction
 *     y[o] = 0.0;  for j = 0..n_hidden-1: y[o] = y[o] + h[j] * W2[j][o] (no FMA)
 *     linear head:  y[o] = y[o] + b2[o]
 *     sigmoid head: y[o] = sigmoid(y[o] + b2[o])    (the library's sigmoid, no FMA)
 *     softmax head: z = y + b2; mx = max z; e[o] = exp(z[o] - mx) (the
 *                   library's exp); s = e[0] + e[1] + ... in index order
 *                   from +0.0; y[o] = e[o] * (1/s)
 * A row's result depends on that row alone, not on m, the other rows, the
 * BLAS library or the number of threads.  mlp2_predict, which goes through
 * BLAS in batches, agrees with it up to rounding only: its last bits depend
 * on the BLAS kernel (its blocking and FMA use), on the batch a row is in,
 * and on the CPU (its sigmoid uses FMA where the CPU has it).
 * Slower than mlp2_predict for large shapes (plain loops, no BLAS).
 * Arguments, statuses and thread safety as for mlp2_predict; with ws == NULL
 * a temporary workspace of one row is made and freed inside the call.
 */
MLP2_API mlp2_status mlp2_predict_portable(const mlp2 *net, mlp2_workspace *ws, size_t m, const double *X,
                                           double *Y);

/** The exp (and tanh) of the exported code. */
typedef enum mlp2_export_exp {
    MLP2_EXPORT_EXP_OWN = 0, /* the library's own exp algorithm, written out in the source (default) */
    MLP2_EXPORT_EXP_LIBM     /* exp() and tanh() (expf(), tanhf() with use_float) from the target's libm */
} mlp2_export_exp;

/** Which of the two files to write. */
typedef enum mlp2_export_part {
    MLP2_EXPORT_SOURCE = 0, /* NAME.c: parameters, scaling, NAME_predict (and NAME_classify) */
    MLP2_EXPORT_HEADER      /* NAME.h: the sizes as macros and the prototypes */
} mlp2_export_part;

typedef struct mlp2_export_options {
    const char *name;       /* prefix of every exported identifier: a C identifier of 1..63 characters,
                               not starting with "__" or "_" and a capital (mlp2_export_name_ok) */
    mlp2_export_exp exp;    /* MLP2_EXPORT_EXP_OWN or MLP2_EXPORT_EXP_LIBM */
    int use_float;          /* non-zero: float arrays, float arithmetic, float API */
    const char *header;     /* SOURCE only: the file name the source #includes for its prototypes,
                               or NULL: the source declares them itself */
    /* Scaling, as the command's "cli.columns": the network sees
     * (x - in_mean) / in_scale and NAME_predict returns y * out_scale + out_mean
     * (the same expressions as `mlp2 predict`, including its fallback
     * x/in_scale - in_mean/in_scale when x - in_mean overflows).  All four
     * NULL: no scaling.  Otherwise all four are given, finite, scales > 0. */
    const double *in_mean, *in_scale;   /* n_in each */
    const double *out_mean, *out_scale; /* n_out each */
    /* Provenance for the comment block; NULL leaves a line out.  Must not
     * contain a newline or the two characters star-slash. */
    const char *model_file; /* the model file the network came from */
    const char *exported;   /* when, e.g. "2026-01-31T12:00:00Z" */
    /* Classifiers (a softmax head, or a sigmoid head with one output): the
     * names of the n_out classes (softmax) or of classes 0 and 1 (sigmoid),
     * written as NAME_classes[]; NULL: none.  Any bytes; NUL-terminated. */
    const char *const *class_names;
} mlp2_export_options;

/** Non-zero when name is acceptable as mlp2_export_options.name. */
MLP2_API int mlp2_export_name_ok(const char *name);

/**
 * Write the network as dependency-free C99 source: the parameters as static
 * const arrays of hexadecimal floating constants (bit-exact in double), the
 * scaling, and
 *     void NAME_predict(const double *x, double *y);  x: n_in values, y: n_out values
 * (float *, with use_float), and for a single-label classifier (a softmax
 * head, or a sigmoid head with one output)
 *     int NAME_classify(const double *x);  the class index: the first largest
 *                                          output, or 1 when the output > 0.5
 * (mlp2_classify's rules) and, with class_names, NAME_classes[].  Every
 * activation and head is written out.  The code needs only <math.h>; it allocates
 * nothing, writes no global state, and uses (n_in + n_hidden) values of stack.
 * It compiles cleanly with -std=c99 -Wall -Wextra -Wpedantic under gcc and
 * clang, and turns floating-point contraction off (clang's FP_CONTRACT
 * pragma, gcc's optimize pragma); do not build it with -ffast-math.
 * Its results:
 *   - double, MLP2_EXPORT_EXP_OWN: on any IEEE-754 double target, the bits
 *     of mlp2_predict_portable on the scaled inputs, then scaled back;
 *   - double, MLP2_EXPORT_EXP_LIBM: within a few ulps of those in every
 *     unit (the libm's exp and tanh instead of the library's);
 *   - use_float: float rounding throughout; see docs/CLI.md for the
 *     measured error.  The float exp (own) is a float version of the same
 *     algorithm: Cody-Waite reduction, degree-7 Taylor polynomial.
 * NAME_predict does not check its input: NaN in gives NaN out.
 * @param[in] net   the model (not written)
 * @param[in] opt   the options (not written)
 * @param[in] part  MLP2_EXPORT_SOURCE or MLP2_EXPORT_HEADER
 * @param[in] f     an open stream, written and not closed
 * @returns MLP2_OK; MLP2_EINVAL (NULL argument, bad name, part or exp,
 *          scaling given in part or with a scale <= 0 or a non-finite value,
 *          class_names for a network that is not a single-label classifier
 *          or with a NULL name,
 *          a newline or star-slash in a provenance string); MLP2_ERANGE
 *          (use_float and a parameter or scaling value beyond FLT_MAX);
 *          MLP2_EIO (the stream reported an error: the output is partial).
 *          On any status but MLP2_EIO nothing has been written.
 * Thread-safe on a shared model.
 */
MLP2_API mlp2_status mlp2_export_c(const mlp2 *net, const mlp2_export_options *opt, mlp2_export_part part,
                                   FILE *f);
/**
 * The same text into a buffer of cap bytes, NUL-terminated, as snprintf.
 * @param[out] buf  cap bytes; or NULL with cap == 0: a length query, which
 *                  checks everything and writes nothing
 * @param[out] len  if non-NULL, the length of the whole text (without the NUL)
 * @returns as mlp2_export_c (MLP2_EIO only if the C library's vsnprintf
 *          fails), with MLP2_ERANGE also when buf != NULL and the text and
 *          its NUL do not fit in cap bytes (*len still tells the length, and
 *          buf holds the truncated text).
 */
MLP2_API mlp2_status mlp2_export_c_buffer(const mlp2 *net, const mlp2_export_options *opt,
                                          mlp2_export_part part, char *buf, size_t cap, size_t *len);

#ifdef __cplusplus
}
#endif
#endif /* MLP2_H */
