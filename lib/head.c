/* head.c - the output heads (linear, softmax, sigmoid): predictions, the
 * loss with the output error delta2 = (A2 - Y)/m in one fused pass, the
 * checks of the targets, and the label helpers mlp2_onehot and
 * mlp2_classify.
 *
 * The cross-entropies are computed from Z = Z2 + b2, never from A2, so that
 * they cannot overflow or take log(0):
 *   softmax: -sum_j Y_j log softmax(Z)_j = sum_j Y_j (mx - Z_j) + (sum_j Y_j) log s,
 *            with mx = max_j Z_j and s = sum_j exp(Z_j - mx) in [1, n_out];
 *            every term is >= 0, so nothing cancels;
 *   sigmoid: -[Y log sigmoid(Z) + (1 - Y) log(1 - sigmoid(Z))] = softplus(Z) - Y Z.
 * The linear head is kernels.c's squared error (the seed's code). */
#include "internal.h"
#include "elementwise.h"

#include <math.h>

double mlp2__loss_scale(mlp2_head h)
{
    return h == MLP2_HEAD_LINEAR ? 0.5 : 1.0;
}

/* ---- softmax, one row of n contiguous outputs --------------------------- */

/* z = z + b and its maximum */
static inline double add_max(size_t n, double *restrict z, const double *restrict b)
{
    double mx = z[0] + b[0];
    for (size_t j = 0; j < n; j++) {
        z[j] += b[j];
        mx = z[j] > mx ? z[j] : mx;
    }
    return mx;
}

/* z = exp(z - mx) in place; returns their sum s */
static inline double exp_shift(size_t n, double *restrict z, double mx)
{
    double s = 0.0;
#pragma omp simd reduction(+ : s)
    for (size_t j = 0; j < n; j++) {
        z[j] = mlp2__exp(z[j] - mx);
        s += z[j];
    }
    return s;
}

/* One row: z = Z2 row, becomes delta2; returns -sum_j y_j log softmax(z + b)_j */
static inline double softmax_row_delta(size_t n, double *restrict z, const double *restrict b,
                                       const double *restrict y, double inv_m)
{
    const double mx = add_max(n, z, b);
    double t = 0.0, ysum = 0.0;
#pragma omp simd reduction(+ : t, ysum)
    for (size_t j = 0; j < n; j++) {
        t += y[j] * (mx - z[j]);
        ysum += y[j];
    }
    const double s = exp_shift(n, z, mx), inv_s = 1.0 / s;
    for (size_t j = 0; j < n; j++)
        z[j] = (z[j] * inv_s - y[j]) * inv_m; /* delta2 = (softmax - Y) / m */
    return t + ysum * log(s);
}

MLP2_CLONES
static double softmax_delta(size_t rows, size_t cols, double *restrict Z2, const double *restrict b,
                            const double *restrict Y, double inv_m)
{
    double S = 0.0;
    for (size_t i = 0; i < rows; i++)
        S += softmax_row_delta(cols, Z2 + i * cols, b, Y + i * cols, inv_m);
    return S;
}

MLP2_CLONES
static void softmax_out(size_t rows, size_t cols, double *restrict A, const double *restrict b)
{
    for (size_t i = 0; i < rows; i++) {
        double *restrict z = A + i * cols;
        const double inv_s = 1.0 / exp_shift(cols, z, add_max(cols, z, b));
        for (size_t j = 0; j < cols; j++)
            z[j] *= inv_s; /* A2 = exp(Z - mx) / s */
    }
}

/* ---- sigmoid head, element-wise ----------------------------------------- */

/* one element: z becomes delta2; returns softplus(z) - y z */
static inline double sigmoid_ce(double *restrict a, double zb, double y, double inv_m)
{
    const double e = mlp2__exp(-fabs(zb));
    const double loss = (zb > 0.0 ? zb : 0.0) + log1p_unit(e) - y * zb;
    *a = (sigmoid_from(zb, e) - y) * inv_m; /* delta2 = (sigmoid(Z) - Y) / m */
    return loss;
}

/* one stripe of len elements and their biases */
static inline double sigmoid_stripe(size_t len, double *restrict z, const double *restrict bb,
                                    const double *restrict y, double inv_m)
{
    double s = 0.0;
#pragma omp simd reduction(+ : s)
    for (size_t j = 0; j < len; j++)
        s += sigmoid_ce(z + j, z[j] + bb[j], y[j], inv_m);
    return s;
}

MLP2_CLONES
static double sigmoid_delta(size_t rows, size_t cols, double *restrict Z2, const double *restrict b,
                            const double *restrict Y, double inv_m)
{
    double S = 0.0;
    FOR_EACH_STRIPE(rows, cols, b, { S += sigmoid_stripe(len, Z2 + off, bb, Y + off, inv_m); });
    return S;
}

double mlp2__head_delta(mlp2_head h, size_t rows, size_t cols, double *Z2, const double *b,
                        const double *Y, double inv_m)
{
    switch (h) {
    case MLP2_HEAD_SOFTMAX:
        return softmax_delta(rows, cols, Z2, b, Y, inv_m);
    case MLP2_HEAD_SIGMOID:
        return sigmoid_delta(rows, cols, Z2, b, Y, inv_m);
    default:
        return mlp2__residual_delta2(rows, cols, Z2, b, Y, inv_m);
    }
}

void mlp2__head_out(mlp2_head h, size_t rows, size_t cols, double *A, const double *b)
{
    switch (h) {
    case MLP2_HEAD_SOFTMAX:
        softmax_out(rows, cols, A, b);
        break;
    case MLP2_HEAD_SIGMOID:
        mlp2__bias_sigmoid(rows, cols, A, b); /* A2 = sigmoid(Z2 + b2) */
        break;
    default:
        mlp2__bias_add(rows, cols, A, b);
    }
}

/* ---- the small path's transposed tiles: a row per output, a column per
 * sample, so that the loops run along the samples ------------------------- */

MLP2_CLONES
static double sigmoid_delta_rows(size_t rows, size_t cols, double *restrict Z2, const double *restrict b,
                                 const double *restrict Y, double inv_m)
{
    double S = 0.0;
    for (size_t i = 0; i < rows; i++) {
        double *restrict z = Z2 + i * cols;
        const double *restrict y = Y + i * cols;
        const double bi = b[i];
        double s = 0.0;
#pragma omp simd reduction(+ : s)
        for (size_t j = 0; j < cols; j++)
            s += sigmoid_ce(z + j, z[j] + bi, y[j], inv_m);
        S += s;
    }
    return S;
}

/* Softmax down each column of Z (rows outputs x cols samples, cols <=
 * MLP2_SMALL_MAX_TILE): the same three passes as softmax_row_delta, each
 * one a sweep over the rows with the samples' running values in arrays. */
MLP2_CLONES
static double softmax_delta_rows(size_t rows, size_t cols, double *restrict Z, const double *restrict b,
                                 const double *restrict Y, double inv_m)
{
    double mx[MLP2_SMALL_MAX_TILE], t[MLP2_SMALL_MAX_TILE], ys[MLP2_SMALL_MAX_TILE];
    double s[MLP2_SMALL_MAX_TILE];
    for (size_t j = 0; j < cols; j++) {
        mx[j] = Z[j] + b[0];
        t[j] = ys[j] = s[j] = 0.0;
    }
    for (size_t i = 0; i < rows; i++) { /* Z = Z2 + b2; mx = column maxima */
        double *restrict z = Z + i * cols;
        for (size_t j = 0; j < cols; j++) {
            z[j] += b[i];
            mx[j] = z[j] > mx[j] ? z[j] : mx[j];
        }
    }
    for (size_t i = 0; i < rows; i++) { /* t = sum Y (mx - Z); Z = exp(Z - mx); s = sum */
        double *restrict z = Z + i * cols;
        const double *restrict y = Y + i * cols;
        for (size_t j = 0; j < cols; j++) {
            t[j] += y[j] * (mx[j] - z[j]);
            ys[j] += y[j];
            z[j] = mlp2__exp(z[j] - mx[j]);
            s[j] += z[j];
        }
    }
    double S = 0.0;
    for (size_t j = 0; j < cols; j++) {
        S += t[j] + ys[j] * log(s[j]);
        s[j] = inv_m / s[j];
    }
    for (size_t i = 0; i < rows; i++) { /* delta2 = (softmax - Y) / m */
        double *restrict z = Z + i * cols;
        const double *restrict y = Y + i * cols;
        for (size_t j = 0; j < cols; j++)
            z[j] = z[j] * s[j] - y[j] * inv_m;
    }
    return S;
}

double mlp2__head_delta_rows(mlp2_head h, size_t rows, size_t cols, double *Z2, const double *b,
                             const double *Y, double inv_m)
{
    switch (h) {
    case MLP2_HEAD_SOFTMAX:
        return softmax_delta_rows(rows, cols, Z2, b, Y, inv_m);
    case MLP2_HEAD_SIGMOID:
        return sigmoid_delta_rows(rows, cols, Z2, b, Y, inv_m);
    default:
        return mlp2__residual_delta2_rows(rows, cols, Z2, b, Y, inv_m);
    }
}

/* ---- targets ------------------------------------------------------------ */

/* every entry in [0, 1] */
MLP2_CLONES
static bool unit_interval(size_t n, const double *restrict Y)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++)
        bad |= (Y[i] < 0.0) | (Y[i] > 1.0);
    return !bad;
}

/* every row >= 0 and summing to 1 within 1e-9 */
MLP2_CLONES
static bool probability_rows(size_t m, size_t n, const double *restrict Y)
{
    int bad = 0;
    for (size_t i = 0; i < m; i++) {
        const double *restrict y = Y + i * n;
        double sum = 0.0;
        for (size_t j = 0; j < n; j++) {
            bad |= y[j] < 0.0;
            sum += y[j];
        }
        bad |= !(fabs(sum - 1.0) <= 1e-9);
    }
    return !bad;
}

mlp2_status mlp2__check_targets(mlp2_head h, size_t m, size_t n_out, const double *Y)
{
    bool ok = true;
    if (h == MLP2_HEAD_SOFTMAX)
        ok = probability_rows(m, n_out, Y);
    else if (h == MLP2_HEAD_SIGMOID)
        ok = unit_interval(m * n_out, Y);
    return ok ? MLP2_OK : MLP2_FAIL(MLP2_EINVAL);
}

/* ---- label helpers ------------------------------------------------------ */

mlp2_status mlp2_onehot(size_t m, size_t n_classes, const size_t *labels, double *Y)
{
    size_t n;
    if (!labels || !Y || m == 0 || n_classes == 0)
        return MLP2_FAIL(MLP2_EINVAL);
    if (!mlp2__mul(m, n_classes, &n))
        return MLP2_FAIL(MLP2_ERANGE);
    for (size_t i = 0; i < m; i++)
        if (labels[i] >= n_classes)
            return MLP2_FAIL(MLP2_EINVAL);
    memset(Y, 0, n * sizeof *Y);
    for (size_t i = 0; i < m; i++)
        Y[i * n_classes + labels[i]] = 1.0;
    return MLP2_OK;
}

mlp2_status mlp2_classify(mlp2_head head, size_t m, size_t n_out, const double *A2, size_t *labels)
{
    size_t n;
    if (!A2 || !labels || m == 0 || n_out == 0)
        return MLP2_FAIL(MLP2_EINVAL);
    if (head != MLP2_HEAD_SOFTMAX && head != MLP2_HEAD_SIGMOID)
        return MLP2_FAIL(MLP2_EINVAL);
    if (head == MLP2_HEAD_SOFTMAX && n_out < 2)
        return MLP2_FAIL(MLP2_EINVAL);
    if (!mlp2__mul(m, n_out, &n))
        return MLP2_FAIL(MLP2_ERANGE);
    if (!mlp2__all_finite(n, A2))
        return MLP2_FAIL(MLP2_ENONFINITE);
    if (head == MLP2_HEAD_SIGMOID) {
        for (size_t i = 0; i < n; i++)
            labels[i] = A2[i] > 0.5;
        return MLP2_OK;
    }
    for (size_t i = 0; i < m; i++) {
        const double *a = A2 + i * n_out;
        size_t best = 0;
        for (size_t j = 1; j < n_out; j++)
            best = a[j] > a[best] ? j : best;
        labels[i] = best;
    }
    return MLP2_OK;
}
