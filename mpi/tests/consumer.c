/* consumer.c - an MPI program built with only `pkg-config --cflags --libs
 * mlp2-mpi` (tests/install/run.sh): two ranks train y = 2x - 1 together and
 * must end with the same parameters and a small loss. */
#include <stdio.h>
#include <string.h>

#include <mlp2_mpi.h>

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    double X[50], Y[50];
    for (int i = 0; i < 50; i++) {
        X[i] = (rank * 50 + i) / (50.0 * size) - 0.5;
        Y[i] = 2 * X[i] - 1;
    }
    mlp2 *net;
    mlp2_train_config cfg = mlp2_train_defaults();
    cfg.epochs = 200;
    cfg.optim.lr = 0.01;
    mlp2_train_report rep;
    int ok = mlp2_create(&net, 1, 4, 1, 7 + (unsigned)rank) == MLP2_OK &&
             mlp2_mpi_train(net, &cfg, MPI_COMM_WORLD, 50, X, Y, 0, NULL, NULL, &rep) == MLP2_OK &&
             rep.final_train_loss < 1e-3;
    double theta[13], root[13];
    mlp2_get_params(net, theta);
    memcpy(root, theta, sizeof theta);
    MPI_Bcast(root, 13, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    ok = ok && memcmp(root, theta, sizeof theta) == 0;
    if (!ok)
        fprintf(stderr, "consumer: rank %d failed (loss %g)\n", rank, rep.final_train_loss);
    mlp2_free(net);
    MPI_Finalize();
    return ok ? 0 : 1;
}
