/* activ.c - the hidden activations (sigmoid, tanh, ReLU): the forward
 * kernel A1 = f(Z1 + b1) and the backward one delta1 = D1 .* f'(Z1), with f'
 * written in A1.  Each is one fused pass, built like kernels.c's: contiguous
 * memory, restrict, branch-free bodies, one clone per instruction set.  The
 * sigmoid kernels are kernels.c's own (the seed's network runs exactly the
 * code it ran before). */
#include "internal.h"
#include "elementwise.h"

#include <math.h>

static inline double relu(double z)
{
    return z > 0.0 ? z : 0.0;
}

MLP2_CLONES
static void bias_tanh(size_t rows, size_t cols, double *restrict A, const double *restrict b)
{
    FOR_EACH_STRIPE(rows, cols, b, {
        double *restrict a = A + off;
        for (size_t j = 0; j < len; j++)
            a[j] = tanh_vec(a[j] + bb[j]); /* A1 = tanh(Z1 + b1) */
    });
}

MLP2_CLONES
static void bias_relu(size_t rows, size_t cols, double *restrict A, const double *restrict b)
{
    FOR_EACH_STRIPE(rows, cols, b, {
        double *restrict a = A + off;
        for (size_t j = 0; j < len; j++)
            a[j] = relu(a[j] + bb[j]); /* A1 = max(Z1 + b1, 0) */
    });
}

void mlp2__bias_act(mlp2_hidden f, size_t rows, size_t cols, double *A, const double *b)
{
    switch (f) {
    case MLP2_HIDDEN_TANH:
        bias_tanh(rows, cols, A, b);
        break;
    case MLP2_HIDDEN_RELU:
        bias_relu(rows, cols, A, b);
        break;
    default:
        mlp2__bias_sigmoid(rows, cols, A, b);
    }
}

/* The transposed tiles of the small path: b[i] is added to row i. */
MLP2_CLONES
static void bias_tanh_rows(size_t rows, size_t cols, double *restrict A, const double *restrict b)
{
    for (size_t i = 0; i < rows; i++) {
        double *restrict a = A + i * cols;
        const double bi = b[i];
        for (size_t j = 0; j < cols; j++)
            a[j] = tanh_vec(a[j] + bi);
    }
}

MLP2_CLONES
static void bias_relu_rows(size_t rows, size_t cols, double *restrict A, const double *restrict b)
{
    for (size_t i = 0; i < rows; i++) {
        double *restrict a = A + i * cols;
        const double bi = b[i];
        for (size_t j = 0; j < cols; j++)
            a[j] = relu(a[j] + bi);
    }
}

void mlp2__bias_act_rows(mlp2_hidden f, size_t rows, size_t cols, double *A, const double *b)
{
    switch (f) {
    case MLP2_HIDDEN_TANH:
        bias_tanh_rows(rows, cols, A, b);
        break;
    case MLP2_HIDDEN_RELU:
        bias_relu_rows(rows, cols, A, b);
        break;
    default:
        mlp2__bias_sigmoid_rows(rows, cols, A, b);
    }
}

MLP2_CLONES
static void delta1_tanh(size_t n, double *restrict D1, const double *restrict A1)
{
    for (size_t i = 0; i < n; i++)
        D1[i] = D1[i] * (1.0 - A1[i] * A1[i]); /* delta1 = D1 .* (1 - A1^2) */
}

MLP2_CLONES
static void delta1_relu(size_t n, double *restrict D1, const double *restrict A1)
{
    for (size_t i = 0; i < n; i++)
        D1[i] = A1[i] > 0.0 ? D1[i] : 0.0; /* delta1 = D1 .* [A1 > 0] */
}

void mlp2__act_delta1(mlp2_hidden f, size_t n, double *D1, const double *A1)
{
    switch (f) {
    case MLP2_HIDDEN_TANH:
        delta1_tanh(n, D1, A1);
        break;
    case MLP2_HIDDEN_RELU:
        delta1_relu(n, D1, A1);
        break;
    default:
        mlp2__delta1(n, D1, A1);
    }
}
