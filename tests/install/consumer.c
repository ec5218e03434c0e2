/* consumer.c - a program outside the project using the installed library,
 * compiled with nothing but `pkg-config --cflags --libs mlp2` (see run.sh).
 * It checks that the installed header and library agree on the version,
 * and that the basic life cycle works: create, train, predict, save, load. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <mlp2.h>

#define CHECK(cond)                                                     \
    do {                                                                \
        if (!(cond)) {                                                  \
            fprintf(stderr, "consumer: line %d: %s\n", __LINE__, #cond); \
            return 1;                                                   \
        }                                                               \
    } while (0)

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "consumer-model.mlp2";
    CHECK(strcmp(mlp2_version(), MLP2_VERSION_STRING) == 0);
    CHECK(mlp2_version_number() == MLP2_VERSION_NUMBER);
    CHECK(strcmp(mlp2_strerror(MLP2_ENOMEM), "out of memory") == 0);

    /* y = x1 - x2 on four points */
    const double X[8] = {0.1, 0.2, 0.9, 0.3, 0.4, 0.8, 0.7, 0.6};
    const double Y[4] = {-0.1, 0.6, -0.4, 0.1};
    mlp2 *net = NULL, *back = NULL;
    CHECK(mlp2_create(&net, 2, 3, 1, 7) == MLP2_OK);
    CHECK(mlp2_n_params(net) == 2 * 3 + 3 + 3 * 1 + 1);
    mlp2_train_config tc = mlp2_train_defaults();
    tc.epochs = 200;
    tc.batch_size = 4;
    tc.optim.lr = 0.05;
    mlp2_train_report rep;
    double before = 0.0, after = 0.0;
    CHECK(mlp2_loss_grad(net, NULL, 4, X, Y, &before, NULL) == MLP2_OK);
    CHECK(mlp2_train(net, &tc, 4, X, Y, 0, NULL, NULL, &rep) == MLP2_OK);
    CHECK(rep.epochs_run == 200);
    CHECK(mlp2_loss_grad(net, NULL, 4, X, Y, &after, NULL) == MLP2_OK);
    CHECK(after < before);

    double p1[4], p2[4];
    CHECK(mlp2_predict(net, NULL, 4, X, p1) == MLP2_OK);
    CHECK(mlp2_section_set(net, "origin", "consumer", 8) == MLP2_OK);
    CHECK(mlp2_save(net, path) == MLP2_OK);
    CHECK(mlp2_load(&back, path) == MLP2_OK);
    CHECK(mlp2_predict(back, NULL, 4, X, p2) == MLP2_OK);
    CHECK(memcmp(p1, p2, sizeof p1) == 0);
    const void *d;
    size_t n;
    CHECK(mlp2_section_get(back, "origin", &d, &n) == MLP2_OK && n == 8 && memcmp(d, "consumer", 8) == 0);
    mlp2_free(back);
    mlp2_free(net);
    remove(path);
    printf("consumer: libmlp2 %s (%s), loss %.4g -> %.4g, save/load round trip exact\n", mlp2_version(),
           mlp2_blas_core(), before, after);
    return 0;
}
