/* rows.c - the latency path: the seed's equations one row at a time, for
 * m = 1 and very small batches (predict, loss_grad, sgd_step).
 *
 * At m = 1 a dgemm call, a tile transpose or a bias replicated for a
 * vector kernel costs more than the arithmetic it serves (2-3-1 does 9
 * multiply-adds).  Here each row goes through plain loops over the flat
 * parameter vector:
 *
 *     a1 = f(x W1 + b1)                row_forward (the activation: act_row)
 *     a2 = head(a1 W2 + b2)
 *     d2 = (a2 - y) / m                 row_output_error
 *     d1 = (W2 d2) .* f'(z1)            row_delta1 (the activation's derivative)
 *
 * for every kind of network: sigmoid (the seed's), tanh and ReLU hidden
 * units inline; a softmax or sigmoid head through head.c's kernels on the
 * one row (the linear head inline).
 *
 * and the gradient is the sum of the rows' outer products.  The sums run in
 * the order of the BLAS path's plain-loop products (k = 0, 1, ..., then the
 * bias), so results agree with it to rounding (tests/test_rows_path.c).
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
 * contract too, so their last bits may differ from the BLAS path's. */
#if defined(__GNUC__) && !defined(__clang__)
#define ROW_FMA __attribute__((optimize("fp-contract=fast")))
#else
#define ROW_FMA
#endif

/* MLP2_UPDATE_BOUND = 2^960: see the bound above */
#define UPDATE_BOUND MLP2_UPDATE_BOUND

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

/* a . b over n elements, four partial sums */
ROW_INLINE double dot4(size_t n, const double *restrict a, const double *restrict b)
{
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    size_t k = 0;
    for (; k + 4 <= n; k += 4) {
        s0 += a[k] * b[k];
        s1 += a[k + 1] * b[k + 1];
        s2 += a[k + 2] * b[k + 2];
        s3 += a[k + 3] * b[k + 3];
    }
    for (; k < n; k++)
        s0 += a[k] * b[k];
    return (s0 + s1) + (s2 + s3);
}

/* y = x W (x: n, W: n x p row-major, y: p), rows of W scaled and summed in
 * k order, as the plain-loop product does */
ROW_INLINE void row_times(size_t n, size_t p, const double *restrict x, const double *restrict W,
                             double *restrict y)
{
    if (p == 1) {
        y[0] = dot4(n, x, W);
        return;
    }
    for (size_t j = 0; j < p; j++)
        y[j] = x[0] * W[j];
    for (size_t k = 1; k < n; k++) {
        const double xk = x[k];
        const double *restrict w = W + k * p;
        for (size_t j = 0; j < p; j++)
            y[j] += xk * w[j];
    }
}

/* The hidden activation of one row, in place: a = f(z + b) */
ROW_INLINE void act_row(mlp2_hidden f, size_t n, double *restrict a, const double *restrict b)
{
    if (f == MLP2_HIDDEN_TANH)
        for (size_t j = 0; j < n; j++)
            a[j] = tanh_vec(a[j] + b[j]); /* A1 = tanh(Z1 + b1) */
    else if (f == MLP2_HIDDEN_RELU)
        for (size_t j = 0; j < n; j++)
            a[j] = a[j] + b[j] > 0.0 ? a[j] + b[j] : 0.0; /* A1 = max(Z1 + b1, 0) */
    else
        for (size_t j = 0; j < n; j++)
            a[j] = mlp2__sigmoid(a[j] + b[j]); /* A1 = sigmoid(Z1 + b1) */
}

/* a1 = act(x W1 + b1); a2 = a1 W2, plus b2 for the linear head (the other
 * heads add it in their kernel) */
ROW_INLINE void row_forward(const mlp2 *net, const double *restrict x, double *restrict a1,
                               double *restrict a2)
{
    const size_t ni = net->n_in, nh = net->n_hidden, no = net->n_out;
    const double *th = net->theta;
    /* Z1 = x W1 */
    row_times(ni, nh, x, th, a1);
    /* A1 = f(Z1 + b1) */
    act_row(net->hidden, nh, a1, th + mlp2__off_b1(net));
    /* A2 = A1 W2 + b2 */
    row_times(nh, no, a1, th + mlp2__off_W2(net), a2);
    if (net->head != MLP2_HEAD_LINEAR)
        return;
    const double *b2 = th + mlp2__off_b2(net);
    for (size_t o = 0; o < no; o++)
        a2[o] += b2[o];
}

/* The output error of one row, in place over a2 (row_forward's): d2 =
 * (A2 - y) * inv_m.  Returns this row's share of m L / mlp2__loss_scale:
 * ||a2 - y||^2 for the linear head, the cross-entropy for the others. */
ROW_INLINE double row_output_error(const mlp2 *net, double *restrict a2, const double *restrict y,
                                      double inv_m)
{
    const size_t no = net->n_out;
    if (net->head != MLP2_HEAD_LINEAR)
        return mlp2__head_delta(net->head, 1, no, a2, net->theta + mlp2__off_b2(net), y, inv_m);
    double s = 0.0;
    for (size_t o = 0; o < no; o++) {
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

ROW_INLINE void row_delta1(mlp2_hidden f, size_t nh, size_t no, const double *restrict W2,
                              const double *restrict d2, const double *restrict a1,
                              double *restrict d1)
{
    if (no == 1) {
        for (size_t j = 0; j < nh; j++)
            d1[j] = row_deriv(f, W2[j] * d2[0], a1[j]);
        return;
    }
    for (size_t j = 0; j < nh; j++) {
        const double *restrict w = W2 + j * no;
        double s = w[0] * d2[0];
        for (size_t o = 1; o < no; o++)
            s += w[o] * d2[o];
        d1[j] = row_deriv(f, s, a1[j]);
    }
}

/* This row's share of the gradient bound: max(1, |x|, |a1|) max(|d1|, |d2|) */
ROW_INLINE double row_bound(const mlp2 *net, const double *x, const double *a1,
                               const double *d1, const double *d2)
{
    const int64_t one = mag(1.0);
    const int64_t s = imax(one, imax(mag_max(net->n_in, x), mag_max(net->n_hidden, a1)));
    const int64_t d = imax(mag_max(net->n_hidden, d1), mag_max(net->n_out, d2));
    return mlp2__double_of((uint64_t)s) * mlp2__double_of((uint64_t)d);
}

/* The outer products of one row into grad (first: = instead of +=):
 * gW1 (+)= x^T d1, gb1 (+)= d1, gW2 (+)= a1^T d2, gb2 (+)= d2; first: = */
ROW_INLINE void row_accumulate(const mlp2 *net, const double *restrict x,
                                  const double *restrict a1, const double *restrict d1,
                                  const double *restrict d2, bool first, double *restrict grad)
{
    const size_t ni = net->n_in, nh = net->n_hidden, no = net->n_out;
    double *gW1 = grad, *gb1 = grad + mlp2__off_b1(net);
    double *gW2 = grad + mlp2__off_W2(net), *gb2 = grad + mlp2__off_b2(net);
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
ROW_INLINE void row_update(mlp2 *net, const double *restrict x, const double *restrict a1,
                              const double *restrict d1, const double *restrict d2, double lr)
{
    const size_t ni = net->n_in, nh = net->n_hidden, no = net->n_out;
    double *th = net->theta;
    double *restrict W1 = th, *restrict b1 = th + mlp2__off_b1(net);
    double *restrict W2 = th + mlp2__off_W2(net), *restrict b2 = th + mlp2__off_b2(net);
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

MLP2_CLONES ROW_FMA
void mlp2__rows_predict(const mlp2 *net, mlp2_workspace *ws, size_t m, const double *X, double *A2)
{
    const size_t ni = net->n_in, no = net->n_out;
    for (size_t i = 0; i < m; i++) {
        row_forward(net, X + i * ni, ws->A1, A2 + i * no);
        if (net->head != MLP2_HEAD_LINEAR) /* A2 = head(Z2 + b2) */
            mlp2__head_out(net->head, 1, no, A2 + i * no, net->theta + mlp2__off_b2(net));
    }
}

/* Loss and (grad != NULL) gradient over m rows into grad; *bound gets G. */
MLP2_CLONES ROW_FMA
static double rows_loss_grad(const mlp2 *net, mlp2_workspace *ws, size_t m, const double *X,
                             const double *Y, double *grad, double *bound)
{
    const size_t ni = net->n_in, nh = net->n_hidden, no = net->n_out;
    const double *W2 = net->theta + mlp2__off_W2(net);
    const double inv_m = 1.0 / (double)m;
    double *a1 = ws->A1, *d2 = ws->A2, *d1 = ws->D1;
    double sse = 0.0, G = 0.0;
    for (size_t i = 0; i < m; i++) {
        const double *x = X + i * ni;
        row_forward(net, x, a1, d2);
        /* sse += the loss terms (linear: ||A2 - Y||^2);  delta2 = (A2 - Y)/m, in place */
        sse += row_output_error(net, d2, Y + i * no, inv_m);
        if (!grad)
            continue;
        /* delta1 = (delta2 W2^T) .* f'(Z1) */
        row_delta1(net->hidden, nh, no, W2, d2, a1, d1);
        G += row_bound(net, x, a1, d1, d2);
        row_accumulate(net, x, a1, d1, d2, i == 0, grad);
    }
    *bound = G;
    return sse;
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

/* One row: forward, errors and bound, then the update in one pass. */
MLP2_CLONES ROW_FMA
static mlp2_status rows_step1(mlp2 *net, mlp2_workspace *ws, const double *x, const double *y,
                              double lr, double *loss)
{
    const size_t nh = net->n_hidden, no = net->n_out;
    double *a1 = ws->A1, *d2 = ws->A2, *d1 = ws->D1;
    row_forward(net, x, a1, d2);
    /* linear: L = 1/2 ||a2 - y||^2 (else the cross-entropy);  delta2 = a2 - y */
    const double L = mlp2__loss_scale(net->head) * row_output_error(net, d2, y, 1.0);
    if (!isfinite(L))
        return MLP2_FAIL(MLP2_ENONFINITE);
    /* delta1 = (delta2 W2^T) .* f'(Z1), with W2 before the update */
    row_delta1(net->hidden, nh, no, net->theta + mlp2__off_W2(net), d2, a1, d1);
    if (lr * row_bound(net, x, a1, d1, d2) <= UPDATE_BOUND) {
        row_update(net, x, a1, d1, d2, lr);
    } else {
        row_accumulate(net, x, a1, d1, d2, true, ws->grad);
        mlp2_status st = careful_update(net, lr, ws->grad);
        if (st != MLP2_OK)
            return st;
    }
    *loss = L;
    return MLP2_OK;
}

mlp2_status mlp2__rows_sgd_step(mlp2 *net, mlp2_workspace *ws, size_t m, const double *X,
                                const double *Y, double lr, double *loss)
{
    if (m == 1)
        return rows_step1(net, ws, X, Y, lr, loss);
    double G;
    const double L = mlp2__loss_scale(net->head) / (double)m * rows_loss_grad(net, ws, m, X, Y, ws->grad, &G);
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
