/* classify.c - a softmax classifier with tanh hidden units: three classes
 * of points in the plane (which third of the angle around the origin a
 * point falls in), one-hot targets from class indices, training, and
 * predicted classes from the probabilities.  Exits 1 unless it gets at
 * least 95% of held-out points right. */
#include <math.h>
#include <stdio.h>

#include <mlp2.h>

#define M 600    /* training points */
#define M_TEST 300
#define K 3      /* classes */

/* m points spread over angles and radii; the class is the sector of the angle */
static void make(size_t m, size_t offset, double *X, size_t *label)
{
    for (size_t i = 0; i < m; i++) {
        const double t = 6.283185307179586 * (double)((i * 37 + offset) % 997) / 997.0;
        const double r = 0.2 + 0.8 * (double)((i * 101 + offset) % 89) / 89.0;
        X[2 * i] = r * cos(t);
        X[2 * i + 1] = r * sin(t);
        label[i] = (size_t)(t / (6.283185307179586 / K)) % K;
    }
}

int main(void)
{
    static double X[M * 2], Y[M * K], Xt[M_TEST * 2], P[M_TEST * K];
    static size_t label[M], label_t[M_TEST], pred[M_TEST];
    make(M, 0, X, label);
    make(M_TEST, 500, Xt, label_t);

    const mlp2_spec spec = {.n_in = 2, .n_hidden = 16, .n_out = K,
                            .hidden = MLP2_HIDDEN_TANH, .head = MLP2_HEAD_SOFTMAX};
    mlp2 *net = NULL;
    mlp2_status st = mlp2_create_spec(&net, &spec, /*seed*/ 1);
    if (st == MLP2_OK)
        st = mlp2_onehot(M, K, label, Y); /* class indices -> one-hot rows */
    mlp2_train_config cfg = mlp2_train_defaults();
    cfg.epochs = 300;
    cfg.optim.lr = 0.01;
    mlp2_train_report rep;
    if (st == MLP2_OK)
        st = mlp2_train(net, &cfg, M, X, Y, 0, NULL, NULL, &rep);
    if (st == MLP2_OK)
        st = mlp2_predict(net, NULL, M_TEST, Xt, P); /* class probabilities */
    if (st == MLP2_OK)
        st = mlp2_classify(MLP2_HEAD_SOFTMAX, M_TEST, K, P, pred); /* argmax */
    if (st != MLP2_OK) {
        fprintf(stderr, "classify: %s\n", mlp2_strerror(st));
        mlp2_free(net);
        return 1;
    }
    size_t right = 0;
    for (size_t i = 0; i < M_TEST; i++)
        right += pred[i] == label_t[i];
    printf("cross-entropy %.4f after %zu epochs; test accuracy %.1f%%\n", rep.final_train_loss,
           rep.epochs_run, 100.0 * (double)right / M_TEST);
    mlp2_free(net);
    return right >= 0.95 * M_TEST ? 0 : 1;
}
