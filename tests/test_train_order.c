/* test_train_order.c - the order in which mlp2_train visits the rows, pinned
 * (white box): each epoch is the Fisher-Yates shuffle of the identity drawn
 * from the library's generator seeded once with cfg->seed,
 *     for i = m-1 down to 1: j = mlp2__rng_below(rng, i+1); swap(perm[i], perm[j])
 * and batch b holds rows perm[b*batch ..].  Models trained with a given seed
 * stay reproducible across releases only while this order holds. */
#include <stdbool.h>

#include "internal.h"
#include "testutil.h"

enum { M = 7, NI = 2, NO = 2, BATCH = 3, EPOCHS = 3 };

static void test_visit_order(void **state)
{
    (void)state;
    double X[M * NI], Y[M * NO];
    tu_rng r = tu_seed(3);
    tu_fill(&r, X, M * NI, -1.7, 1.3);
    tu_fill(&r, Y, M * NO, -0.6, 0.8);
    mlp2 *net = NULL, *manual = NULL;
    assert_int_equal(mlp2_create(&net, NI, 4, NO, 21), MLP2_OK);
    assert_int_equal(mlp2_clone(&manual, net), MLP2_OK);

    mlp2_train_config c = mlp2_train_defaults();
    c.epochs = EPOCHS;
    c.batch_size = BATCH;
    c.seed = 0xfeedbeef;
    c.optim = mlp2_optim_defaults(MLP2_OPTIM_SGD);
    c.optim.lr = 0.25;
    assert_int_equal(mlp2_train(net, &c, M, X, Y, 0, NULL, NULL, NULL), MLP2_OK);

    mlp2_rng rng;
    mlp2__rng_seed(&rng, c.seed);
    size_t perm[M], first[M] = {0};
    bool moved = false, differs = false;
    for (int e = 0; e < EPOCHS; e++) {
        for (size_t i = 0; i < M; i++)
            perm[i] = i;
        for (size_t i = M - 1; i > 0; i--) {
            const size_t j = (size_t)mlp2__rng_below(&rng, i + 1);
            const size_t t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        for (size_t i = 0; i < M; i++) {
            moved = moved || perm[i] != i;
            if (e == 0)
                first[i] = perm[i];
            else
                differs = differs || perm[i] != first[i];
        }
        for (size_t r0 = 0; r0 < M; r0 += BATCH) {
            const size_t rows = M - r0 < BATCH ? M - r0 : BATCH;
            double Xb[BATCH * NI], Yb[BATCH * NO];
            for (size_t i = 0; i < rows; i++) {
                memcpy(Xb + i * NI, X + perm[r0 + i] * NI, NI * sizeof(double));
                memcpy(Yb + i * NO, Y + perm[r0 + i] * NO, NO * sizeof(double));
            }
            assert_int_equal(mlp2_sgd_step(manual, NULL, rows, Xb, Yb, 0.25, NULL), MLP2_OK);
        }
    }
    assert_true(moved && differs); /* the order was not trivially the identity */
    assert_memory_equal(net->theta, manual->theta, net->n_params * sizeof(double));
    mlp2_free(net);
    mlp2_free(manual);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_visit_order),
    };
    return cmocka_run_group_tests_name("train_order", tests, NULL, NULL);
}
