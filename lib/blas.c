/* blas.c - the one seam between the library and BLAS (OpenBLAS via CBLAS).
 * Callers pass size_t; sizes were checked against INT_MAX when the model and
 * the workspace were made, so here they are only asserted. */
#include "internal.h"

#include <assert.h>
#include <cblas.h>
#include <limits.h>

bool mlp2__fits_int(size_t n)
{
    return n <= (size_t)INT_MAX;
}

void mlp2__gemm(bool transA, bool transB, size_t M, size_t N, size_t K, double alpha,
                const double *A, size_t lda, const double *B, size_t ldb, double beta, double *C,
                size_t ldc)
{
    assert(mlp2__fits_int(M) && mlp2__fits_int(N) && mlp2__fits_int(K));
    assert(mlp2__fits_int(lda) && mlp2__fits_int(ldb) && mlp2__fits_int(ldc));
    cblas_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                (int)M, (int)N, (int)K, alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
}

void mlp2__gemv_t(size_t M, size_t N, double alpha, const double *A, size_t lda, const double *x,
                  double beta, double *y)
{
    assert(mlp2__fits_int(M) && mlp2__fits_int(N) && mlp2__fits_int(lda));
    cblas_dgemv(CblasRowMajor, CblasTrans, (int)M, (int)N, alpha, A, (int)lda, x, 1, beta, y, 1);
}

void mlp2__axpy(size_t n, double alpha, const double *x, double *y)
{
    /* parameter vectors may exceed INT_MAX elements: go in int-sized pieces */
    while (n > 0) {
        size_t k = n > (size_t)INT_MAX ? (size_t)INT_MAX : n;
        cblas_daxpy((int)k, alpha, x, 1, y, 1);
        x += k;
        y += k;
        n -= k;
    }
}

mlp2_status mlp2_set_blas_threads(int n)
{
    if (n < 1)
        return MLP2_FAIL(MLP2_EINVAL);
    openblas_set_num_threads(n);
    return MLP2_OK;
}

int mlp2_blas_threads(void)
{
    return openblas_get_num_threads();
}

const char *mlp2_blas_config(void)
{
    const char *s = openblas_get_config();
    return s ? s : "unknown";
}

const char *mlp2_blas_core(void)
{
    const char *s = openblas_get_corename();
    return s ? s : "unknown";
}
