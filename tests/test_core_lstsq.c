/* test_core_lstsq.c - with W1 and b1 held fixed the network is linear in
 * (W2, b2), so gradient descent on W2 and b2 alone must converge to the
 * least-squares solution of [A1, 1] beta = Y, which LAPACKE_dgels gives
 * independently.  A1 is computed here with plain loops and libm's exp. */
#include <lapacke.h>

#include <mlp2.h>

#include "testutil.h"

#define NI 3
#define NH 4
#define NO 2
#define M 40
#define NP (NI * NH + NH + NH * NO + NO)
#define OFF_W2 (NI * NH + NH)

static void test_converges_to_dgels(void **state)
{
    (void)state;
    tu_rng r = tu_seed(2718);
    double X[M * NI], Y[M * NO], th[NP];
    tu_fill(&r, X, M * NI, -2.0, 2.0);
    tu_fill(&r, Y, M * NO, -1.3, 1.7);
    tu_fill(&r, th, NP, -1.1, 1.1);

    /* D = [A1, 1], A1 = sigmoid(X W1 + b1) */
    double D[M * (NH + 1)], B[M * NO];
    for (size_t i = 0; i < M; i++) {
        for (size_t j = 0; j < NH; j++) {
            double z = th[NI * NH + j];
            for (size_t k = 0; k < NI; k++)
                z += X[i * NI + k] * th[k * NH + j];
            D[i * (NH + 1) + j] = 1.0 / (1.0 + exp(-z));
        }
        D[i * (NH + 1) + NH] = 1.0;
    }
    memcpy(B, Y, sizeof B);

    /* the step size from the Hessian of L in (W2, b2): H = D^T D / m, same
     * for each output column; lr = 1/lambda_max is stable */
    double H[(NH + 1) * (NH + 1)], eig[NH + 1];
    for (size_t a = 0; a <= NH; a++)
        for (size_t b = 0; b <= NH; b++) {
            double s = 0.0;
            for (size_t i = 0; i < M; i++)
                s += D[i * (NH + 1) + a] * D[i * (NH + 1) + b];
            H[a * (NH + 1) + b] = s / M;
        }
    assert_int_equal(LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'N', 'U', NH + 1, H, NH + 1, eig), 0);
    const double lr = 1.0 / eig[NH], kappa = eig[NH] / eig[0];
    assert_true(kappa < 1e6); /* well enough conditioned to converge here */

    /* beta = argmin ||D beta - Y||: first NH rows -> W2, last row -> b2 */
    double Dcopy[M * (NH + 1)];
    memcpy(Dcopy, D, sizeof D);
    assert_int_equal(LAPACKE_dgels(LAPACK_ROW_MAJOR, 'N', M, NH + 1, NO, Dcopy, NH + 1, B, NO), 0);

    mlp2 *net;
    mlp2_workspace *ws;
    assert_int_equal(mlp2_create(&net, NI, NH, NO, 1), MLP2_OK);
    assert_int_equal(mlp2_set_params(net, th), MLP2_OK);
    assert_int_equal(mlp2_workspace_create(&ws, net, M), MLP2_OK);
    double g[NP], loss = 0.0, first = 0.0;
    /* error shrinks like (1 - 1/kappa)^k: enough steps for 1e-10 */
    const size_t steps = (size_t)(kappa * 30.0) + 100;
    for (size_t k = 0; k < steps; k++) {
        assert_int_equal(mlp2_loss_grad(net, ws, M, X, Y, &loss, g), MLP2_OK);
        if (k == 0)
            first = loss;
        for (size_t i = OFF_W2; i < NP; i++) /* W2 and b2 only; W1, b1 fixed */
            th[i] -= lr * g[i];
        assert_int_equal(mlp2_set_params(net, th), MLP2_OK);
    }
    const double *W2 = th + OFF_W2, *b2 = th + OFF_W2 + NH * NO;
    tu_assert_close(W2, B, NH * NO, 1e-8, 1e-9);
    tu_assert_close(b2, B + NH * NO, NO, 1e-8, 1e-9);

    /* the loss at the optimum is the least-squares residual / (2m) */
    double res = 0.0;
    for (size_t i = 0; i < M; i++)
        for (size_t o = 0; o < NO; o++) {
            double p = b2[o];
            for (size_t j = 0; j < NH; j++)
                p += D[i * (NH + 1) + j] * W2[j * NO + o];
            res += (p - Y[i * NO + o]) * (p - Y[i * NO + o]);
        }
    assert_int_equal(mlp2_loss_grad(net, ws, M, X, Y, &loss, NULL), MLP2_OK);
    const double want = res / (2.0 * M);
    tu_assert_close(&loss, &want, 1, 1e-12, 0.0);
    assert_true(loss < first);
    mlp2_workspace_free(ws);
    mlp2_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_converges_to_dgels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
