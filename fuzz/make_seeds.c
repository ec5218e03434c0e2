/* make_seeds.c - writes the valid model files of the fuzz_load seed corpus,
 * or checks them.
 *
 *   make_seeds write DIR   save the seed models as DIR/valid-*.mlp2
 *   make_seeds check DIR   each DIR/valid-*.mlp2 loads, and is byte for byte
 *                          what this library saves for the same model today
 *
 * "check" runs as a test (suite fuzz): when the file format changes, it
 * fails until the corpus is rewritten (and docs/FORMAT.md's version bumped),
 * so the fuzzer never starts from files the loader no longer accepts.
 * The corpus also keeps v1-*.mlp2: the same models as saved in format
 * version 1, which the loader still reads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mlp2.h>

typedef struct seed {
    const char *file;
    size_t n_in, n_hidden, n_out;
    uint64_t seed;
    int sections; /* 0: none; 1: "scale" with text and "empty" with no data; 2: binary blob */
    double bias;  /* added to every parameter, so that the biases are not all zero */
    mlp2_hidden hidden;
    mlp2_head head;
} seed;

static const seed seeds[] = {
    {"valid-2-3-1.mlp2", 2, 3, 1, 1, 0, 0.0, MLP2_HIDDEN_SIGMOID, MLP2_HEAD_LINEAR},
    {"valid-3-4-2-sections.mlp2", 3, 4, 2, 2, 1, 0.125, MLP2_HIDDEN_SIGMOID, MLP2_HEAD_LINEAR},
    {"valid-1-1-1.mlp2", 1, 1, 1, 3, 0, -0.5, MLP2_HIDDEN_SIGMOID, MLP2_HEAD_LINEAR},
    {"valid-4-2-3-blob.mlp2", 4, 2, 3, 4, 2, 1e-3, MLP2_HIDDEN_SIGMOID, MLP2_HEAD_LINEAR},
    {"valid-3-5-3-tanh-softmax.mlp2", 3, 5, 3, 5, 1, 0.25, MLP2_HIDDEN_TANH, MLP2_HEAD_SOFTMAX},
    {"valid-2-4-1-relu-sigmoid.mlp2", 2, 4, 1, 6, 0, -0.125, MLP2_HIDDEN_RELU, MLP2_HEAD_SIGMOID},
    {"valid-4-3-2-relu-softmax.mlp2", 4, 3, 2, 7, 2, 0.0, MLP2_HIDDEN_RELU, MLP2_HEAD_SOFTMAX},
    {"valid-2-2-3-tanh-linear.mlp2", 2, 2, 3, 8, 0, 0.5, MLP2_HIDDEN_TANH, MLP2_HEAD_LINEAR},
};

static int make(const seed *s, mlp2 **out)
{
    mlp2 *net = NULL;
    const mlp2_spec spec = {s->n_in, s->n_hidden, s->n_out, s->hidden, s->head};
    if (mlp2_create_spec(&net, &spec, s->seed) != MLP2_OK)
        return -1;
    size_t np = mlp2_n_params(net);
    double *theta = malloc(np * sizeof(double));
    if (!theta)
        return -1;
    mlp2_get_params(net, theta);
    for (size_t i = 0; i < np; i++)
        theta[i] += s->bias;
    mlp2_status st = mlp2_set_params(net, theta);
    free(theta);
    if (s->sections == 1) {
        static const char scale[] = "x: mean 0.5 sd 0.29; y: mean -0.1 sd 1.7";
        if (st == MLP2_OK)
            st = mlp2_section_set(net, "scale", scale, sizeof scale - 1);
        if (st == MLP2_OK)
            st = mlp2_section_set(net, "empty", NULL, 0);
    } else if (s->sections == 2) {
        unsigned char blob[40];
        for (size_t i = 0; i < sizeof blob; i++)
            blob[i] = (unsigned char)(i * 37 + 11);
        if (st == MLP2_OK)
            st = mlp2_section_set(net, "blob", blob, sizeof blob);
    }
    if (st != MLP2_OK) {
        mlp2_free(net);
        return -1;
    }
    *out = net;
    return 0;
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *b = malloc(1 << 16);
    size_t n = b ? fread(b, 1, 1 << 16, f) : 0;
    fclose(f);
    *len = n;
    return b;
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "write") != 0 && strcmp(argv[1], "check") != 0)) {
        fprintf(stderr, "usage: %s write|check DIR\n", argv[0]);
        return 2;
    }
    const int check = strcmp(argv[1], "check") == 0;
    int bad = 0;
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        const seed *s = &seeds[i];
        char path[4096], tmp[4096];
        snprintf(path, sizeof path, "%s/%s", argv[2], s->file);
        mlp2 *net = NULL;
        if (make(s, &net) != 0) {
            fprintf(stderr, "%s: cannot build the model\n", s->file);
            return 1;
        }
        if (!check) {
            mlp2_status st = mlp2_save(net, path);
            mlp2_free(net);
            if (st != MLP2_OK) {
                fprintf(stderr, "%s: %s\n", path, mlp2_strerror(st));
                return 1;
            }
            continue;
        }
        snprintf(tmp, sizeof tmp, "/tmp/mlp2-seed-%ld-%zu.mlp2", (long)getpid(), i);
        mlp2 *loaded = NULL;
        mlp2_status st = mlp2_load(&loaded, path);
        mlp2_status st2 = mlp2_save(net, tmp);
        size_t la = 0, lb = 0;
        unsigned char *a = slurp(path, &la), *b = slurp(tmp, &lb);
        unlink(tmp);
        if (st != MLP2_OK || st2 != MLP2_OK || !a || !b || la != lb || memcmp(a, b, la) != 0) {
            fprintf(stderr, "%s: does not match what this library saves (load: %s); "
                            "rewrite the corpus with `make_seeds write fuzz/corpus/load`\n",
                    path, mlp2_strerror(st));
            bad++;
        } else {
            printf("%s: loads, and matches the library's own save\n", s->file);
        }
        free(a);
        free(b);
        mlp2_free(loaded);
        mlp2_free(net);
    }
    return bad ? 1 : 0;
}
