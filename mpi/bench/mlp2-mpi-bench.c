/* mlp2-mpi-bench - seconds per epoch of mlp2_mpi_train (docs/SCALING.md).
 *
 * Every rank makes its share of a synthetic global data set (M rows of the
 * shape, split evenly in rank order), then rank 0 reports the median, min
 * and max over R epochs (each one mlp2_mpi_train call of one epoch, after
 * one warm-up call).  Run it under mpirun with different -np, interleaved
 * (mpi/bench/run.sh), and compare medians.
 *
 * Usage: mpirun -np P mlp2-mpi-bench [SHAPE [M [BATCH [R [THREADS]]]]]
 *        defaults: 784-512-10 8192 1024 7 0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mlp2_mpi.h>

static int cmp(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    size_t ni = 784, nh = 512, no = 10, M = 8192, B = 1024, threads = 0;
    int R = 7;
    if (argc > 1 && sscanf(argv[1], "%zu-%zu-%zu", &ni, &nh, &no) != 3)
        return 2;
    if (argc > 2)
        M = (size_t)atol(argv[2]);
    if (argc > 3)
        B = (size_t)atol(argv[3]);
    if (argc > 4)
        R = atoi(argv[4]);
    if (argc > 5)
        threads = (size_t)atol(argv[5]);
    if (R < 1 || R > 100 || M == 0 || B == 0)
        return 2;
    const size_t lo = M * (size_t)rank / (size_t)size, hi = M * (size_t)(rank + 1) / (size_t)size;
    const size_t m = hi - lo;
    double *X = malloc((m ? m : 1) * ni * sizeof(double)), *Y = malloc((m ? m : 1) * no * sizeof(double));
    unsigned long long s = 12345 + lo;
    for (size_t i = 0; i < m * ni; i++)
        X[i] = (double)((s = s * 6364136223846793005ull + 1442695040888963407ull) >> 11) * 0x1p-53 - 0.5;
    for (size_t i = 0; i < m * no; i++)
        Y[i] = (double)((s = s * 6364136223846793005ull + 1442695040888963407ull) >> 11) * 0x1p-53 - 0.5;
    mlp2 *net;
    if (mlp2_create(&net, ni, nh, no, 1) != MLP2_OK)
        return 1;
    mlp2_train_config cfg = mlp2_train_defaults();
    cfg.epochs = 1;
    cfg.batch_size = B;
    cfg.optim.lr = 1e-4;
    cfg.threads = threads;
    double t[101];
    for (int r = 0; r <= R; r++) {
        MPI_Barrier(MPI_COMM_WORLD);
        const double t0 = MPI_Wtime();
        if (mlp2_mpi_train(net, &cfg, MPI_COMM_WORLD, m, X, Y, 0, NULL, NULL, NULL) != MLP2_OK)
            return 1;
        t[r] = MPI_Wtime() - t0;
    }
    if (rank == 0) {
        qsort(t + 1, (size_t)R, sizeof(double), cmp); /* t[0] was the warm-up */
        printf("np %d shape %zu-%zu-%zu M %zu batch %zu threads %zu: epoch median %.4f s min %.4f max %.4f (%d epochs)\n",
               size, ni, nh, no, M, B, threads, t[1 + R / 2], t[1], t[R], R);
    }
    mlp2_free(net);
    free(X);
    free(Y);
    MPI_Finalize();
    return 0;
}
