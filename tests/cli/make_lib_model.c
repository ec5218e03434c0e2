/* make_lib_model - write a model the way a program using only the library
 * would: no "cli.columns" or "cli.settings" section, and one section whose
 * name holds terminal control bytes (to check that `mlp2 info` escapes it).
 * Usage: make_lib_model OUT.mlp2 */
#include <stdio.h>

#include <mlp2.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_lib_model OUT.mlp2\n");
        return 2;
    }
    mlp2 *net = NULL;
    mlp2_status st = mlp2_create(&net, 2, 4, 1, 11);
    if (st == MLP2_OK)
        st = mlp2_section_set(net, "notes\x1b[2J\x07", "hi", 2);
    if (st == MLP2_OK)
        st = mlp2_save(net, argv[1]);
    mlp2_free(net);
    if (st != MLP2_OK) {
        fprintf(stderr, "make_lib_model: %s\n", mlp2_strerror(st));
        return 1;
    }
    return 0;
}
