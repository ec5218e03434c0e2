/* quickstart.c - the README's API example: train, predict, save, load. */
#include <math.h>
#include <stdio.h>

#include <mlp2.h>

#define M 200

int main(void)
{
    /* y = sin(2 pi x0) * x1 on 200 points of the unit square */
    double X[M * 2], Y[M];
    for (int i = 0; i < M; i++) {
        X[2 * i] = (i % 20) / 19.0;
        X[2 * i + 1] = (i / 20) / 9.0;
        Y[i] = sin(6.283185307179586 * X[2 * i]) * X[2 * i + 1];
    }

    mlp2 *net = NULL, *back = NULL;
    mlp2_status st = mlp2_create(&net, 2, 16, 1, /*seed*/ 7);
    if (st != MLP2_OK)
        goto fail;

    mlp2_train_config cfg = mlp2_train_defaults(); /* Adam, lr 1e-3, batch 32 */
    cfg.epochs = 2000;
    cfg.optim.lr = 0.01;
    mlp2_train_report rep;
    st = mlp2_train(net, &cfg, M, X, Y, 0, NULL, NULL, &rep);
    if (st != MLP2_OK)
        goto fail;
    printf("trained %zu epochs, final loss %.2e\n", rep.epochs_run, rep.final_train_loss);

    double y[1], x[2] = {0.25, 0.8}; /* sin(pi/2) * 0.8 = 0.8 */
    if ((st = mlp2_predict(net, NULL, 1, x, y)) != MLP2_OK)
        goto fail;
    printf("f(0.25, 0.8) = %.3f (exact 0.800)\n", y[0]);

    if ((st = mlp2_save(net, "quickstart.mlp2")) != MLP2_OK ||
        (st = mlp2_load(&back, "quickstart.mlp2")) != MLP2_OK)
        goto fail;
    double y2[1];
    if ((st = mlp2_predict(back, NULL, 1, x, y2)) != MLP2_OK)
        goto fail;
    printf("reloaded model agrees: %s\n", y2[0] == y[0] ? "yes" : "no");
    mlp2_free(back);
    mlp2_free(net);
    return fabs(y[0] - 0.8) < 0.05 && y2[0] == y[0] ? 0 : 1;

fail:
    fprintf(stderr, "quickstart: %s\n", mlp2_strerror(st));
    mlp2_free(back);
    mlp2_free(net);
    return 1;
}
