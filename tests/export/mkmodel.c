/* mkmodel.c - writes a model whose parameters include -0.0, subnormals and
 * values near +-DBL_MAX (no column section: `mlp2` then takes the inputs and
 * outputs unscaled), for the export test.  The inputs it is run on lie in
 * [-1, 1]: every product and sum stays finite.
 * `mkmodel OUT.mlp2 identity`: a 1-1-1 network whose output is exactly the
 * library's sigmoid of its input (W1 = W2 = 1, biases 0: y = 0 + s * 1 + 0).
 * Usage: mkmodel OUT.mlp2 [identity] */
#include <float.h>
#include <stdio.h>
#include <string.h>

#include <mlp2.h>

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
    if (argc == 3 && strcmp(argv[2], "identity") == 0) {
        if (mlp2_create(&net, 1, 1, 1, 1) != MLP2_OK || mlp2_set_params(net, identity) != MLP2_OK ||
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
