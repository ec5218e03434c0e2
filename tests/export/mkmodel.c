/* mkmodel.c - writes a model whose parameters include -0.0, subnormals and
 * values near +-DBL_MAX (no column section: `mlp2` then takes the inputs and
 * outputs unscaled), for the export test.  The inputs it is run on lie in
 * [-1, 1]: every product and sum stays finite.
 * `mkmodel OUT.mlp2 identity [HIDDEN]`: a 1-1-1 network (sigmoid hidden
 * units, or the mlp2_hidden HIDDEN) whose output is exactly the library's
 * activation of its input (W1 = W2 = 1, biases 0: y = 0 + f(x) * 1 + 0). */
#include <float.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mlp2.h>

/* `mkmodel OUT.mlp2 spec HIDDEN HEAD N_IN N_HIDDEN N_OUT`: a network of those
 * kinds (mlp2_hidden, mlp2_head as numbers) with seeded parameters that are
 * not round numbers, saved; then each row of inputs on stdin (comma-separated)
 * gets its outputs by mlp2_predict_portable on stdout, printed as the
 * harness prints them, and for a classifier the class by mlp2_classify. */
static void print_number(double v, int last)
{
    char buf[64];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    fputs(buf, stdout);
    fputc(last ? '\n' : ',', stdout);
}

static int spec_model(const char *out, char **argv)
{
    mlp2_spec sp = {.hidden = (mlp2_hidden)atoi(argv[0]), .head = (mlp2_head)atoi(argv[1]),
                    .n_in = (size_t)atoi(argv[2]), .n_hidden = (size_t)atoi(argv[3]),
                    .n_out = (size_t)atoi(argv[4])};
    mlp2 *net;
    if (mlp2_create_spec(&net, &sp, 17) != MLP2_OK)
        return 2;
    const size_t np = mlp2_n_params(net), ni = sp.n_in, no = sp.n_out;
    double *theta = malloc(np * sizeof *theta), x[256], y[256];
    uint64_t s = 0x9e3779b97f4a7c15u;
    for (size_t i = 0; i < np; i++) {
        s = s * 6364136223846793005u + 1442695040888963407u;
        theta[i] = ((double)(s >> 11) / 9007199254740992.0 * 2.0 - 1.0) * 1.385;
    }
    if (!theta || ni > 256 || no > 256 || mlp2_set_params(net, theta) != MLP2_OK || mlp2_save(net, out) != MLP2_OK)
        return 1;
    char line[1 << 14];
    const int classifier = sp.head == MLP2_HEAD_SOFTMAX || (sp.head == MLP2_HEAD_SIGMOID && no == 1);
    while (fgets(line, sizeof line, stdin)) {
        char *p = line, *end;
        for (size_t k = 0; k < ni; k++, p = end + (*end == ','))
            x[k] = strtod(p, &end);
        size_t label;
        if (mlp2_predict_portable(net, NULL, 1, x, y) != MLP2_OK ||
            (classifier && mlp2_classify(sp.head, 1, no, y, &label) != MLP2_OK))
            return 1;
        for (size_t o = 0; o < no; o++)
            print_number(y[o], o + 1 == no && !classifier);
        if (classifier)
            printf("%zu\n", label);
    }
    free(theta);
    mlp2_free(net);
    return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    /* 2 inputs, 4 hidden units, 2 outputs */
    static const double theta[] = {
        /* W1, 2 x 4 */
        DBL_MAX / 4, -0.0, 4.9406564584124654e-324, -1.5,
        -DBL_MAX / 4, 2.2250738585072009e-308, -0.0, 0.75,
        /* b1 */
        -0.0, -4.9406564584124654e-324, 1e-310, 0.25,
        /* W2, 4 x 2 */
        DBL_MAX / 8, -0.0,
        -DBL_MAX / 8, -0.0,
        3.5e-320, -0.0,
        1.25, -0.0,
        /* b2 */
        -0.0, -0.0,
    };
    static const double identity[] = {1.0, 0.0, 1.0, 0.0};
    mlp2 *net;
    if (argc == 8 && strcmp(argv[2], "spec") == 0)
        return spec_model(argv[1], argv + 3);
    if ((argc == 3 || argc == 4) && strcmp(argv[2], "identity") == 0) {
        const mlp2_spec sp = {1, 1, 1, argc == 4 ? (mlp2_hidden)atoi(argv[3]) : MLP2_HIDDEN_SIGMOID,
                              MLP2_HEAD_LINEAR};
        if (mlp2_create_spec(&net, &sp, 1) != MLP2_OK || mlp2_set_params(net, identity) != MLP2_OK ||
            mlp2_save(net, argv[1]) != MLP2_OK)
            return 1;
        mlp2_free(net);
        return 0;
    }
    if (argc != 2 || mlp2_create(&net, 2, 4, 2, 1) != MLP2_OK)
        return 2;
    if (mlp2_n_params(net) != sizeof theta / sizeof theta[0] || mlp2_set_params(net, theta) != MLP2_OK ||
        mlp2_save(net, argv[1]) != MLP2_OK)
        return 1;
    mlp2_free(net);
    return 0;
}
