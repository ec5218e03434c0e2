/* made with libmlp2 at main 9e80092 (format version 1) */
#include "mlp2.h"
#include <stdio.h>
#include <math.h>
int main(void)
{
    mlp2 *net; mlp2_status st = mlp2_create(&net, 3, 4, 2, 20261129);
    if (st) return 1;
    double X[8*3], Y[8*2];
    for (int i = 0; i < 8; i++) {
        for (int j = 0; j < 3; j++) X[i*3+j] = sin(1.0 + i * 0.7 + j * 1.3);
        Y[i*2] = X[i*3] * X[i*3+1]; Y[i*2+1] = cos(X[i*3+2]);
    }
    for (int k = 0; k < 20; k++) if (mlp2_sgd_step(net, NULL, 8, X, Y, 0.5, NULL)) return 2;
    if (mlp2_section_set(net, "note", "v1 file, made before format 2", 29)) return 3;
    if (mlp2_save(net, "v1_model.mlp2")) return 4;
    double P[8*2]; if (mlp2_predict(net, NULL, 8, X, P)) return 5;
    double th[26]; mlp2_get_params(net, th);
    for (int i = 0; i < 8; i++) printf("X %a %a %a  P %a %a\n", X[i*3], X[i*3+1], X[i*3+2], P[i*2], P[i*2+1]);
    printf("np %zu\n", mlp2_n_params(net));
    return 0;
}
