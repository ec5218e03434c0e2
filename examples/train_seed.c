/* train_seed.c - the seed's 2-3-1 network learning a small embedded data set.
 *
 * The data: Franke's function on a 8 x 8 grid of the unit square (64 rows),
 *   f(x, y) = 0.75 exp(-((9x-2)^2 + (9y-2)^2)/4) + 0.75 exp(-(9x+1)^2/49 - (9y+1)/10)
 *           + 0.5 exp(-((9x-7)^2 + (9y-3)^2)/4) - 0.2 exp(-(9x-4)^2 - (9y-7)^2)
 * Full-batch gradient descent with mlp2_sgd_step; the loss is printed as it falls. */
#include <math.h>
#include <stdio.h>

#include <mlp2.h>

#define GRID 8
#define M (GRID * GRID)

static double franke(double x, double y)
{
    return 0.75 * exp(-(pow(9 * x - 2, 2) + pow(9 * y - 2, 2)) / 4) +
           0.75 * exp(-pow(9 * x + 1, 2) / 49 - (9 * y + 1) / 10) +
           0.5 * exp(-(pow(9 * x - 7, 2) + pow(9 * y - 3, 2)) / 4) -
           0.2 * exp(-pow(9 * x - 4, 2) - pow(9 * y - 7, 2));
}

int main(void)
{
    double X[M * 2], Y[M];
    for (int i = 0; i < GRID; i++)
        for (int j = 0; j < GRID; j++) {
            const int r = i * GRID + j;
            X[2 * r] = i / (GRID - 1.0);
            X[2 * r + 1] = j / (GRID - 1.0);
            Y[r] = franke(X[2 * r], X[2 * r + 1]);
        }

    mlp2 *net = NULL;
    mlp2_workspace *ws = NULL;
    mlp2_status st = mlp2_create(&net, 2, 3, 1, 42);
    if (st == MLP2_OK)
        st = mlp2_workspace_create(&ws, net, M);
    if (st != MLP2_OK) {
        fprintf(stderr, "train_seed: %s\n", mlp2_strerror(st));
        mlp2_free(net);
        return 1;
    }
    printf("libmlp2 %s: 2-3-1 network, Franke's function on an %dx%d grid, full-batch SGD, lr 0.5\n",
           mlp2_version(), GRID, GRID);
    double loss = 0.0, first = 0.0;
    const int steps = 20000;
    for (int step = 0; step <= steps && st == MLP2_OK; step++) {
        st = mlp2_sgd_step(net, ws, M, X, Y, 0.5, &loss);
        if (step == 0)
            first = loss;
        if (step % 2000 == 0)
            printf("step %6d  loss %.6f\n", step, loss);
    }
    if (st != MLP2_OK)
        fprintf(stderr, "train_seed: %s\n", mlp2_strerror(st));
    else
        printf("loss fell from %.6f to %.6f (%.1fx)\n", first, loss, first / loss);
    mlp2_workspace_free(ws);
    mlp2_free(net);
    return st == MLP2_OK ? 0 : 1;
}
