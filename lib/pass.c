/* pass.c - the forward and backward passes of the seed's network, chunked by
 * the workspace, and the public entry points built on them. */
#include "internal.h"

#include <math.h>

static const double *W1(const mlp2 *n) { return n->theta; }
static const double *b1(const mlp2 *n) { return n->theta + mlp2__off_b1(n); }
static const double *W2(const mlp2 *n) { return n->theta + mlp2__off_W2(n); }
static const double *b2(const mlp2 *n) { return n->theta + mlp2__off_b2(n); }

void mlp2__forward(const mlp2 *net, mlp2_workspace *ws, size_t rows, const double *X, double *Z2)
{
    const size_t ni = net->n_in, nh = net->n_hidden, no = net->n_out;
    /* Z1 = X W1 */
    mlp2__gemm(false, false, rows, nh, ni, 1.0, X, ni, W1(net), nh, 0.0, ws->A1, nh);
    /* A1 = sigmoid(Z1 + b1), in place */
    mlp2__bias_sigmoid(rows, nh, ws->A1, b1(net));
    /* Z2 = A1 W2 (b2 is added by the caller's kernel) */
    mlp2__gemm(false, false, rows, no, nh, 1.0, ws->A1, nh, W2(net), no, 0.0, Z2, no);
}

/* Backward pass for one chunk whose delta2 is in ws->A2; beta 0 starts the
 * gradient, beta 1 adds to it. */
static void backward(const mlp2 *net, mlp2_workspace *ws, size_t rows, const double *X, double beta,
                     double *grad)
{
    const size_t ni = net->n_in, nh = net->n_hidden, no = net->n_out;
    const double *D2 = ws->A2;
    double *gW1 = grad, *gb1 = grad + mlp2__off_b1(net);
    double *gW2 = grad + mlp2__off_W2(net), *gb2 = grad + mlp2__off_b2(net);
    /* gW2 = A1^T delta2 */
    mlp2__gemm(true, false, nh, no, rows, 1.0, ws->A1, nh, D2, no, beta, gW2, no);
    /* gb2 = colsum(delta2) = delta2^T 1 */
    mlp2__gemv_t(rows, no, 1.0, D2, no, ws->ones, beta, gb2);
    /* D1 = delta2 W2^T */
    mlp2__gemm(false, true, rows, nh, no, 1.0, D2, no, W2(net), no, 0.0, ws->D1, nh);
    /* delta1 = D1 .* A1 .* (1 - A1), in place */
    mlp2__delta1(rows * nh, ws->D1, ws->A1);
    /* gW1 = X^T delta1 */
    mlp2__gemm(true, false, ni, nh, rows, 1.0, X, ni, ws->D1, nh, beta, gW1, nh);
    /* gb1 = colsum(delta1) = delta1^T 1 */
    mlp2__gemv_t(rows, nh, 1.0, ws->D1, nh, ws->ones, beta, gb1);
}

mlp2_status mlp2__loss_grad(const mlp2 *net, mlp2_workspace *ws, size_t m, const double *X,
                            const double *Y, double *loss, double *grad)
{
    const size_t ni = net->n_in, no = net->n_out, mb = ws->max_batch;
    const double inv_m = 1.0 / (double)m;
    double sse = 0.0;
    for (size_t r0 = 0; r0 < m; r0 += mb) {
        const size_t rows = m - r0 < mb ? m - r0 : mb;
        const double *Xc = X + r0 * ni;
        mlp2__forward(net, ws, rows, Xc, ws->A2);
        /* A2 = Z2 + b2;  sse += ||A2 - Y||^2;  delta2 = (A2 - Y)/m, in place */
        sse += mlp2__residual_delta2(rows, no, ws->A2, b2(net), Y + r0 * no, inv_m);
        if (grad)
            backward(net, ws, rows, Xc, r0 == 0 ? 0.0 : 1.0, grad);
    }
    const double L = 0.5 * inv_m * sse; /* L = 1/(2m) ||A2 - Y||^2 */
    if (loss)
        *loss = L;
    if (!isfinite(L) || (grad && !mlp2__all_finite(net->n_params, grad)))
        return MLP2_FAIL(MLP2_ENONFINITE);
    return MLP2_OK;
}

/* ---- public entry points ------------------------------------------------ */

/* The checks shared by every batch function: pointers, m, overflow of the
 * array sizes, the workspace's shape, finite inputs.  Y may be NULL (predict
 * checks only X). */
static mlp2_status check_batch(const mlp2 *net, const mlp2_workspace *ws, size_t m, const double *X,
                               const double *Y)
{
    if (!net || !X || m == 0)
        return MLP2_FAIL(MLP2_EINVAL);
    if (ws && mlp2__ws_check(ws, net) != MLP2_OK)
        return MLP2_FAIL(MLP2_EINVAL);
    size_t nx, ny;
    if (!mlp2__mul(m, net->n_in, &nx) || !mlp2__mul(m, net->n_out, &ny))
        return MLP2_FAIL(MLP2_ERANGE);
    if (!mlp2__all_finite(nx, X) || (Y && !mlp2__all_finite(ny, Y)))
        return MLP2_FAIL(MLP2_ENONFINITE);
    return MLP2_OK;
}

/* The caller's workspace, or a temporary one of up to 1024 rows. */
static mlp2_status use_ws(const mlp2 *net, mlp2_workspace *ws, size_t m, mlp2_workspace **use)
{
    if (ws) {
        *use = ws;
        return MLP2_OK;
    }
    return mlp2_workspace_create(use, net, m < 1024 ? m : 1024);
}

mlp2_status mlp2_predict(const mlp2 *net, mlp2_workspace *ws, size_t m, const double *X, double *Y)
{
    mlp2_status st = Y ? check_batch(net, ws, m, X, NULL) : MLP2_FAIL(MLP2_EINVAL);
    mlp2_workspace *w;
    if (st != MLP2_OK || (st = use_ws(net, ws, m, &w)) != MLP2_OK)
        return st;
    const size_t ni = net->n_in, no = net->n_out, mb = w->max_batch;
    for (size_t r0 = 0; r0 < m; r0 += mb) {
        const size_t rows = m - r0 < mb ? m - r0 : mb;
        double *Yc = Y + r0 * no;
        mlp2__forward(net, w, rows, X + r0 * ni, Yc);
        /* A2 = Z2 + b2, in place */
        mlp2__bias_add(rows, no, Yc, b2(net));
    }
    if (w != ws)
        mlp2_workspace_free(w);
    if (!mlp2__all_finite(m * no, Y))
        return MLP2_FAIL(MLP2_ENONFINITE);
    return MLP2_OK;
}

mlp2_status mlp2_loss_grad(const mlp2 *net, mlp2_workspace *ws, size_t m, const double *X,
                           const double *Y, double *loss, double *grad)
{
    mlp2_status st = Y && (loss || grad) ? check_batch(net, ws, m, X, Y) : MLP2_FAIL(MLP2_EINVAL);
    mlp2_workspace *w;
    if (st != MLP2_OK || (st = use_ws(net, ws, m, &w)) != MLP2_OK)
        return st;
    st = mlp2__loss_grad(net, w, m, X, Y, loss, grad);
    if (w != ws)
        mlp2_workspace_free(w);
    return st;
}

mlp2_status mlp2_sgd_step(mlp2 *net, mlp2_workspace *ws, size_t m, const double *X, const double *Y,
                          double lr, double *loss)
{
    mlp2_status st = Y ? check_batch(net, ws, m, X, Y) : MLP2_FAIL(MLP2_EINVAL);
    if (st != MLP2_OK)
        return st;
    if (!isfinite(lr))
        return MLP2_FAIL(MLP2_ENONFINITE);
    if (!(lr > 0.0))
        return MLP2_FAIL(MLP2_EINVAL);
    mlp2_workspace *w;
    if ((st = use_ws(net, ws, m, &w)) != MLP2_OK)
        return st;
    double L;
    st = mlp2__loss_grad(net, w, m, X, Y, &L, w->grad);
    if (st == MLP2_OK && !mlp2__step_finite(net->n_params, net->theta, lr, w->grad))
        st = MLP2_FAIL(MLP2_ENONFINITE);
    if (st == MLP2_OK) {
        /* theta -= lr * grad */
        mlp2__axpy(net->n_params, -lr, w->grad, net->theta);
        if (loss)
            *loss = L;
    }
    if (w != ws)
        mlp2_workspace_free(w);
    return st;
}
