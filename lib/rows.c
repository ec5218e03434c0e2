/* rows.c - the latency path: the seed's equations one row at a time, for
 * m = 1 and very small batches (predict, loss_grad, sgd_step).
 *
 * At m = 1 a dgemm call, a tile transpose or a bias replicated for a
 * vector kernel costs more than the arithmetic it serves (2-3-1 does 9
 * multiply-adds).  Here each row goes through plain loops over the flat
 * parameter vector:
 *
 *     a1 = f(b1 + x W1)                row_forward (the activation: act_row)
 *     a2 = head(b2 + a1 W2)
 *     d2 = (a2 - y) / m                 row_output_error
 *     d1 = (W2 d2) .* f'(z1)            row_delta1 (the activation's derivative)
 *
 * for every kind of network: sigmoid (the seed's), tanh and ReLU hidden
 * units inline; a softmax or sigmoid head through head.c's kernels on the
 * one row (the linear head inline).
 *
 * and the gradient is the sum of the rows' outer products.  Each sum starts
 * from its bias and adds the terms in k order (b + x_0 w_0 + x_1 w_1 + ...,
 * one chain of fused multiply-adds, the shortest at one row), so results
 * agree with the BLAS path to rounding (tests/test_rows_path.c).
 *
 * The update in one pass.  With finite x, a1, d1, d2, every gradient entry
 * is bounded by G = sum over rows of max(1, |x|, |a1|) max(|d1|, |d2|).
 * If lr G <= 2^960 the update lr g is below half an ulp of DBL_MAX (2^970)
 * with a wide margin for rounding, so theta - lr g cannot overflow whatever
 * the (finite) theta: the step may write without checking first.  At m = 1
 * the gradient is never stored: each parameter is read and written once,
 * theta - lr (a1_j d2_o), the careful path's expression (up to the FMA
 * contraction below).
 * When the bound fails (a huge lr or gradient) the step takes the careful
 * path, which checks every new parameter before writing any. */
#include "internal.h"
#include "elementwise.h"

#include <math.h>

/* The helpers are inlined into each instruction-set clone of the entry
 * points, so that their loops use its vector width */
#if defined(__GNUC__)
#define ROW_INLINE static inline __attribute__((always_inline))
#else
#define ROW_INLINE static inline
#endif

/* At one row the call is bound by the latency of the sigmoid's exp
 * polynomial: contracted into fused multiply-adds it is about a third
 * shorter (2-3-1 predict 49 -> 39 ns, 10-32-1 step 275 -> 215 ns), as in
 * the small path's sigmoid kernel (kernels.c).  The sums and the update
 * contract too, so their last bits may differ from the BLAS path's.
 *
 * Each entry point is built three ways from the same inline helpers, and
 * the shape picks one (see the end of the file):
 *   ROW_VEC     the loops over hidden units vectorised: from ROWS_VEC_MIN
 *               hidden units up (4-8-1 predict 37 ns, 51 ns without);
 *   ROW_SCALAR  not vectorised: below it, where the vector loops' set-up,
 *               remainder code and branches cost more than the arithmetic
 *               (4-6-1 predict 42 ns, 48 ns vectorised; 2-3-1 step 48 ns,
 *               60 ns vectorised);
 *   tiny        ROW_SCALAR with the sizes as constants (TINY_MAX).
 * They do the same operations in the same order, but the compiler fuses
 * multiplies and adds differently in vector and scalar code, so their last
 * bits may differ (measured: they do for most shapes); a shape always takes
 * the same build, so results stay deterministic. */
#if defined(__GNUC__) && !defined(__clang__)
#define ROW_VEC __attribute__((optimize("fp-contract=fast")))
#define ROW_SCALAR __attribute__((optimize("fp-contract=fast", "no-tree-vectorize")))
#else
#define ROW_VEC
#define ROW_SCALAR
#endif
#define ROWS_VEC_MIN 8

/* MLP2_UPDATE_BOUND = 2^960: see the bound above */
#define UPDATE_BOUND MLP2_UPDATE_BOUND

/* What one row's code needs of the model, as values: the shape, the kinds
 * and theta.  The entry points for tiny layers (see TINY_MAX) pass the
 * sizes and kinds as constants, and the loops over units unroll into
 * registers. */
typedef struct {
    size_t ni, nh, no;
    mlp2_hidden f;
    mlp2_head h;
    double *th;
} dims;

ROW_INLINE dims dims_of(const mlp2 *net)
{
    return (dims){net->n_in, net->n_hidden, net->n_out, net->hidden, net->head, net->theta};
}

/* theta's parts (mlp2__off_b1 and so on) */
ROW_INLINE double *W1_of(dims d) { return d.th; }
ROW_INLINE double *b1_of(dims d) { return d.th + d.ni * d.nh; }
ROW_INLINE double *W2_of(dims d) { return d.th + d.ni * d.nh + d.nh; }
ROW_INLINE double *b2_of(dims d) { return d.th + d.ni * d.nh + d.nh + d.nh * d.no; }

/* |x| as an integer with the order of |x| (NaN above Inf): maxima of it
 * vectorise without -ffast-math */
ROW_INLINE int64_t mag(double x)
{
    return (int64_t)(mlp2__bits_of(x) & 0x7fffffffffffffffu);
}

ROW_INLINE int64_t imax(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

/* max |x_i| over n elements, as magnitude bits */
ROW_INLINE int64_t mag_max(size_t n, const double *restrict x)
{
    int64_t m = 0;
    for (size_t i = 0; i < n; i++)
        m = imax(m, mag(x[i]));
    return m;
}

/* c + a . b over n elements: four partial sums, the first started from c
 * (a short dot is then one chain of fused multiply-adds from the bias) */
ROW_INLINE double dot4(size_t n, const double *restrict a, const double *restrict b, double c)
{
    double s0 = c, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    size_t k = 0;
    for (; k + 4 <= n; k += 4) {
        s0 += a[k] * b[k];
        s1 += a[k + 1] * b[k + 1];
        s2 += a[k + 2] * b[k + 2];
        s3 += a[k + 3] * b[k + 3];
    }
    for (; k < n; k++)
        s0 += a[k] * b[k];
    return n < 4 ? s0 : (s0 + s1) + (s2 + s3);
}

/* y = c + x W (x: n, W: n x p row-major, c and y: p; with_c false: c is
 * not read, y = x W), rows of W scaled and added in k order onto the bias */
ROW_INLINE void row_times(size_t n, size_t p, const double *restrict x, const double *restrict W,
                          const double *restrict c, bool with_c, double *restrict y)
{
    if (p == 1) {
        y[0] = dot4(n, x, W, with_c ? c[0] : 0.0);
        return;
    }
    for (size_t j = 0; j < p; j++)
        y[j] = (with_c ? c[j] : 0.0) + x[0] * W[j];
    for (size_t k = 1; k < n; k++) {
        const double xk = x[k];
        const double *restrict w = W + k * p;
        for (size_t j = 0; j < p; j++)
            y[j] += xk * w[j];
    }
}

/* The hidden activation of one row, in place: a = f(z), z = x W1 + b1 */
ROW_INLINE void act_row(mlp2_hidden f, size_t n, double *restrict a)
{
    if (f == MLP2_HIDDEN_TANH)
        for (size_t j = 0; j < n; j++)
            a[j] = tanh_vec(a[j]); /* A1 = tanh(Z1 + b1) */
    else if (f == MLP2_HIDDEN_RELU)
        for (size_t j = 0; j < n; j++)
            a[j] = a[j] > 0.0 ? a[j] : 0.0; /* A1 = max(Z1 + b1, 0) */
    else
        for (size_t j = 0; j < n; j++)
            a[j] = mlp2__sigmoid(a[j]); /* A1 = sigmoid(Z1 + b1) */
}

/* a1 = act(b1 + x W1); a2 = a1 W2, started from b2 for the linear head (the
 * other heads add it in their kernel) */
ROW_INLINE void row_forward(dims d, const double *restrict x, double *restrict a1, double *restrict a2)
{
    /* Z1 + b1 = b1 + x W1 */
    row_times(d.ni, d.nh, x, W1_of(d), b1_of(d), true, a1);
    /* A1 = f(Z1 + b1) */
    act_row(d.f, d.nh, a1);
    /* A2 = b2 + A1 W2 (linear head) */
    row_times(d.nh, d.no, a1, W2_of(d), b2_of(d), d.h == MLP2_HEAD_LINEAR, a2);
}

/* The output error of one row, in place over a2 (row_forward's): d2 =
 * (A2 - y) * inv_m.  Returns this row's share of m L / mlp2__loss_scale:
 * ||a2 - y||^2 for the linear head, the cross-entropy for the others. */
ROW_INLINE double row_output_error(dims d, double *restrict a2, const double *restrict y, double inv_m)
{
    if (d.h != MLP2_HEAD_LINEAR)
        return mlp2__head_delta(d.h, 1, d.no, a2, b2_of(d), y, inv_m);
    double s = 0.0;
    for (size_t o = 0; o < d.no; o++) {
        const double r = a2[o] - y[o]; /* A2 - Y */
        s += r * r;
        a2[o] = r * inv_m; /* delta2 = (A2 - Y) / m */
    }
    return s;
}

/* d1 = (W2 d2) .* f'(z1), f' written in a1 as activ.c's kernels do */
ROW_INLINE double row_deriv(mlp2_hidden f, double s, double a)
{
    if (f == MLP2_HIDDEN_TANH)
        return s * (1.0 - a * a);
    if (f == MLP2_HIDDEN_RELU)
        return a > 0.0 ? s : 0.0;
    return s * (a * (1.0 - a));
}

ROW_INLINE void row_delta1(dims d, const double *restrict d2, const double *restrict a1,
                           double *restrict d1)
{
    const double *restrict W2 = W2_of(d);
    if (d.no == 1) {
        for (size_t j = 0; j < d.nh; j++)
            d1[j] = row_deriv(d.f, W2[j] * d2[0], a1[j]);
        return;
    }
    for (size_t j = 0; j < d.nh; j++) {
        const double *restrict w = W2 + j * d.no;
        double s = w[0] * d2[0];
        for (size_t o = 1; o < d.no; o++)
            s += w[o] * d2[o];
        d1[j] = row_deriv(d.f, s, a1[j]);
    }
}

/* This row's share of the gradient bound: max(1, |x|, |a1|) max(|d1|, |d2|) */
ROW_INLINE double row_bound(dims d, const double *x, const double *a1, const double *d1,
                            const double *d2)
{
    const int64_t one = mag(1.0);
    const int64_t s = imax(one, imax(mag_max(d.ni, x), mag_max(d.nh, a1)));
    const int64_t e = imax(mag_max(d.nh, d1), mag_max(d.no, d2));
    return mlp2__double_of((uint64_t)s) * mlp2__double_of((uint64_t)e);
}

/* The outer products of one row into grad (first: = instead of +=):
 * gW1 (+)= x^T d1, gb1 (+)= d1, gW2 (+)= a1^T d2, gb2 (+)= d2; first: = */
ROW_INLINE void row_accumulate(dims d, const double *restrict x, const double *restrict a1,
                               const double *restrict d1, const double *restrict d2, bool first,
                               double *restrict grad)
{
    const size_t ni = d.ni, nh = d.nh, no = d.no;
    double *gW1 = grad, *gb1 = grad + ni * nh;
    double *gW2 = gb1 + nh, *gb2 = gW2 + nh * no;
    for (size_t k = 0; k < ni; k++) {
        double *restrict g = gW1 + k * nh;
        const double xk = x[k];
        if (first)
            for (size_t j = 0; j < nh; j++)
                g[j] = xk * d1[j]; /* gW1 = X^T delta1 */
        else
            for (size_t j = 0; j < nh; j++)
                g[j] += xk * d1[j];
    }
    for (size_t j = 0; j < nh; j++)
        gb1[j] = first ? d1[j] : gb1[j] + d1[j]; /* gb1 = colsum(delta1) */
    for (size_t j = 0; j < nh; j++) {
        double *restrict g = gW2 + j * no;
        const double aj = a1[j];
        if (first)
            for (size_t o = 0; o < no; o++)
                g[o] = aj * d2[o]; /* gW2 = A1^T delta2 */
        else
            for (size_t o = 0; o < no; o++)
                g[o] += aj * d2[o];
    }
    for (size_t o = 0; o < no; o++)
        gb2[o] = first ? d2[o] : gb2[o] + d2[o]; /* gb2 = colsum(delta2) */
}

/* theta -= lr * grad for one row's gradient, never stored: each parameter
 * is read and written once.  g = x_k d1_j (and so on) is rounded before the
 * update, as the careful path rounds the stored gradient. */
ROW_INLINE void row_update(dims d, const double *restrict x, const double *restrict a1,
                           const double *restrict d1, const double *restrict d2, double lr)
{
    const size_t ni = d.ni, nh = d.nh, no = d.no;
    double *restrict W1 = W1_of(d), *restrict b1 = b1_of(d);
    double *restrict W2 = W2_of(d), *restrict b2 = b2_of(d);
    for (size_t k = 0; k < ni; k++) {
        double *restrict w = W1 + k * nh;
        const double xk = x[k];
        for (size_t j = 0; j < nh; j++) {
            const double g = xk * d1[j];
            w[j] = w[j] - lr * g; /* W1 -= lr X^T delta1 */
        }
    }
    for (size_t j = 0; j < nh; j++)
        b1[j] = b1[j] - lr * d1[j]; /* b1 -= lr colsum(delta1) */
    for (size_t j = 0; j < nh; j++) {
        double *restrict w = W2 + j * no;
        const double aj = a1[j];
        for (size_t o = 0; o < no; o++) {
            const double g = aj * d2[o];
            w[o] = w[o] - lr * g; /* W2 -= lr A1^T delta2 */
        }
    }
    for (size_t o = 0; o < no; o++)
        b2[o] = b2[o] - lr * d2[o]; /* b2 -= lr colsum(delta2) */
}

/* ---- the entry points (ws: A1, A2, D1 hold one row; grad the gradient) -- */

/* The bodies take their one-row scratch (a1, d1: n_hidden; d2: n_out) from
 * the workspace, or from the stack for tiny layers (kept in registers). */
/* predict_rows returns whether every output is finite, checked as each row
 * is made.  With the linear head the check takes the outputs from the
 * registers they were computed in; before, the caller checked them after
 * the call, and its load of the first output waited for the store
 * (mlp2-ab, 2-3-1 predict at one row: 0.95 of the time in both load
 * orders; in fann_peer's loop, where calls overlap, the same 20 ns). */
ROW_INLINE bool predict_rows(dims d, double *restrict a1, size_t m, const double *X, double *A2)
{
    uint64_t bad = 0;
    for (size_t i = 0; i < m; i++) {
        double *y = A2 + i * d.no;
        row_forward(d, X + i * d.ni, a1, y);
        if (d.h != MLP2_HEAD_LINEAR) /* A2 = head(Z2 + b2) */
            mlp2__head_out(d.h, 1, d.no, y, b2_of(d));
        for (size_t o = 0; o < d.no; o++)
            bad |= mlp2__nonfinite_bit(y[o]);
    }
    return (bad >> 63) == 0;
}

/* Loss and (grad != NULL) gradient over m rows into grad; *bound gets G. */
ROW_INLINE double loss_grad_rows(dims d, double *restrict a1, double *restrict d1, double *restrict d2,
                                 size_t m, const double *X, const double *Y, double *grad, double *bound)
{
    const double inv_m = 1.0 / (double)m;
    double sse = 0.0, G = 0.0;
    for (size_t i = 0; i < m; i++) {
        const double *x = X + i * d.ni;
        row_forward(d, x, a1, d2);
        /* sse += the loss terms (linear: ||A2 - Y||^2);  delta2 = (A2 - Y)/m, in place */
        sse += row_output_error(d, d2, Y + i * d.no, inv_m);
        if (!grad)
            continue;
        /* delta1 = (delta2 W2^T) .* f'(Z1) */
        row_delta1(d, d2, a1, d1);
        G += row_bound(d, x, a1, d1, d2);
        row_accumulate(d, x, a1, d1, d2, i == 0, grad);
    }
    *bound = G;
    return sse;
}

/* The careful update: check every new parameter, then write (model
 * unchanged on failure). */
static mlp2_status careful_update(mlp2 *net, double lr, const double *grad)
{
    if (!mlp2__step_finite(net->n_params, net->theta, lr, grad))
        return MLP2_FAIL(MLP2_ENONFINITE);
    /* theta -= lr * grad */
    mlp2__sgd_update(net->n_params, net->theta, lr, grad);
    return MLP2_OK;
}

/* One row: forward, errors and bound, then the update in one pass, or the
 * gradient in ws->grad for the careful update when the bound fails. */
typedef enum { STEP_DONE, STEP_NONFINITE_LOSS, STEP_CAREFUL } step_result;

ROW_INLINE step_result step_row(dims d, double *restrict a1, double *restrict d1, double *restrict d2,
                        mlp2_workspace *ws, const double *x, const double *y, double lr, double *loss)
{
    row_forward(d, x, a1, d2);
    /* linear: L = 1/2 ||a2 - y||^2 (else the cross-entropy);  delta2 = a2 - y */
    const double L = (d.h == MLP2_HEAD_LINEAR ? 0.5 : mlp2__loss_scale(d.h)) *
                     row_output_error(d, d2, y, 1.0);
    if (!isfinite(L))
        return STEP_NONFINITE_LOSS;
    *loss = L;
    /* delta1 = (delta2 W2^T) .* f'(Z1), with W2 before the update */
    row_delta1(d, d2, a1, d1);
    if (lr * row_bound(d, x, a1, d1, d2) <= UPDATE_BOUND) {
        row_update(d, x, a1, d1, d2, lr);
        return STEP_DONE;
    }
    row_accumulate(d, x, a1, d1, d2, true, ws->grad);
    return STEP_CAREFUL;
}

/* ---- the builds of each entry point ------------------------------------- */

/* Tiny layers of the seed's network (sigmoid units, one linear output, at
 * most TINY_MAX hidden units) get code with the sizes as constants: every
 * loop over units unrolls, the row stays in registers. */
#define TINY_MAX 4
static bool tiny(const mlp2 *net)
{
    return net->n_hidden <= TINY_MAX && net->n_out == 1 && net->hidden == MLP2_HIDDEN_SIGMOID &&
           net->head == MLP2_HEAD_LINEAR;
}

/* CALL once per hidden-layer width 1..TINY_MAX, with d's sizes and kinds constant */
#define TINY_SWITCH(d, CALL)                                                               \
    do {                                                                                   \
        (d).no = 1;                                                                        \
        (d).f = MLP2_HIDDEN_SIGMOID;                                                       \
        (d).h = MLP2_HEAD_LINEAR;                                                          \
        switch ((d).nh) {                                                                  \
        case 1: (d).nh = 1; CALL; break;                                                   \
        case 2: (d).nh = 2; CALL; break;                                                   \
        case 3: (d).nh = 3; CALL; break;                                                   \
        default: (d).nh = 4; CALL; break;                                                  \
        }                                                                                  \
    } while (0)

MLP2_CLONES ROW_VEC
static bool predict_vec(const mlp2 *net, mlp2_workspace *ws, size_t m, const double *X, double *A2)
{
    return predict_rows(dims_of(net), ws->A1, m, X, A2);
}

MLP2_CLONES ROW_SCALAR
static bool predict_scalar(const mlp2 *net, mlp2_workspace *ws, size_t m, const double *X, double *A2)
{
    return predict_rows(dims_of(net), ws->A1, m, X, A2);
}

MLP2_CLONES ROW_SCALAR
static bool predict_tiny(const mlp2 *net, mlp2_workspace *ws, size_t m, const double *X, double *A2)
{
    (void)ws;
    dims d = dims_of(net);
    double a1[TINY_MAX];
    bool finite;
    TINY_SWITCH(d, finite = predict_rows(d, a1, m, X, A2));
    return finite;
}

MLP2_CLONES ROW_VEC
static double loss_grad_vec(const mlp2 *net, mlp2_workspace *ws, size_t m, const double *X,
                            const double *Y, double *grad, double *bound)
{
    return loss_grad_rows(dims_of(net), ws->A1, ws->D1, ws->A2, m, X, Y, grad, bound);
}

MLP2_CLONES ROW_SCALAR
static double loss_grad_scalar(const mlp2 *net, mlp2_workspace *ws, size_t m, const double *X,
                               const double *Y, double *grad, double *bound)
{
    return loss_grad_rows(dims_of(net), ws->A1, ws->D1, ws->A2, m, X, Y, grad, bound);
}

MLP2_CLONES ROW_SCALAR
static double loss_grad_tiny(const mlp2 *net, mlp2_workspace *ws, size_t m, const double *X,
                             const double *Y, double *grad, double *bound)
{
    (void)ws;
    dims d = dims_of(net);
    double a1[TINY_MAX], d1[TINY_MAX], d2[1], r;
    TINY_SWITCH(d, r = loss_grad_rows(d, a1, d1, d2, m, X, Y, grad, bound));
    return r;
}

MLP2_CLONES ROW_VEC
static step_result step_vec(mlp2 *net, mlp2_workspace *ws, const double *x, const double *y, double lr,
                    double *loss)
{
    return step_row(dims_of(net), ws->A1, ws->D1, ws->A2, ws, x, y, lr, loss);
}

MLP2_CLONES ROW_SCALAR
static step_result step_scalar(mlp2 *net, mlp2_workspace *ws, const double *x, const double *y, double lr,
                       double *loss)
{
    return step_row(dims_of(net), ws->A1, ws->D1, ws->A2, ws, x, y, lr, loss);
}

MLP2_CLONES ROW_SCALAR
static step_result step_tiny(mlp2 *net, mlp2_workspace *ws, const double *x, const double *y, double lr,
                     double *loss)
{
    dims d = dims_of(net);
    double a1[TINY_MAX], d1[TINY_MAX], d2[1];
    step_result r;
    TINY_SWITCH(d, r = step_row(d, a1, d1, d2, ws, x, y, lr, loss));
    return r;
}

static bool vec_build(const mlp2 *net)
{
    return net->n_hidden >= ROWS_VEC_MIN;
}

bool mlp2__rows_predict(const mlp2 *net, mlp2_workspace *ws, size_t m, const double *X, double *A2)
{
    return (tiny(net) ? predict_tiny : vec_build(net) ? predict_vec : predict_scalar)(net, ws, m, X, A2);
}

static double rows_loss_grad(const mlp2 *net, mlp2_workspace *ws, size_t m, const double *X,
                             const double *Y, double *grad, double *bound)
{
    return (tiny(net) ? loss_grad_tiny : vec_build(net) ? loss_grad_vec : loss_grad_scalar)(net, ws, m, X, Y,
                                                                                           grad, bound);
}

mlp2_status mlp2__rows_loss_grad(const mlp2 *net, mlp2_workspace *ws, size_t m, const double *X,
                                 const double *Y, double *loss, double *grad)
{
    double G;
    const double L = mlp2__loss_scale(net->head) / (double)m * rows_loss_grad(net, ws, m, X, Y, grad, &G);
    if (loss)
        *loss = L;
    if (!isfinite(L))
        return MLP2_FAIL(MLP2_ENONFINITE);
    /* every |g| <= G (1 + tiny): finite without looking when G is */
    if (grad && !(G <= UPDATE_BOUND) && !mlp2__all_finite(net->n_params, grad))
        return MLP2_FAIL(MLP2_ENONFINITE);
    return MLP2_OK;
}

mlp2_status mlp2__rows_sgd_step(mlp2 *net, mlp2_workspace *ws, size_t m, const double *X,
                                const double *Y, double lr, double *loss)
{
    double L;
    if (m == 1) {
        const step_result r =
            (tiny(net) ? step_tiny : vec_build(net) ? step_vec : step_scalar)(net, ws, X, Y, lr, &L);
        if (r == STEP_NONFINITE_LOSS)
            return MLP2_FAIL(MLP2_ENONFINITE);
        if (r == STEP_CAREFUL) { /* the bound failed: ws->grad holds the gradient */
            mlp2_status st = careful_update(net, lr, ws->grad);
            if (st != MLP2_OK)
                return st;
        }
        *loss = L;
        return MLP2_OK;
    }
    double G;
    L = mlp2__loss_scale(net->head) / (double)m * rows_loss_grad(net, ws, m, X, Y, ws->grad, &G);
    if (!isfinite(L))
        return MLP2_FAIL(MLP2_ENONFINITE);
    if (lr * G <= UPDATE_BOUND) {
        /* theta -= lr * grad: finite by the bound, one pass */
        mlp2__sgd_update(net->n_params, net->theta, lr, ws->grad);
    } else {
        mlp2_status st = careful_update(net, lr, ws->grad);
        if (st != MLP2_OK)
            return st;
    }
    *loss = L;
    return MLP2_OK;
}
