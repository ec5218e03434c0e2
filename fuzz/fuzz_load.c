/* fuzz_load.c - mlp2_load_buffer on arbitrary bytes.
 *
 * Each input is loaded twice: as it is (almost always stopped by the
 * checksum or the header), and with its file-size field and CRC-32C
 * trailer rewritten to match, so that the fuzzer's mutations reach the
 * parameter and section parsing behind the checksum.  For every load:
 *   - the status is one the header documents for the loader;
 *   - on failure *out is untouched and nothing stays allocated;
 *   - the loader never holds more memory than a small multiple of the
 *     input's length ("never allocates more than the file could hold");
 *   - on success the model is well formed (sizes, kinds, n_params, finite
 *     parameters, 1..255-byte unique section names), predicts without
 *     crashing, and saving it again gives back exactly the input's bytes
 *     (a version-1 input: the version-2 file of the same model, which is
 *     the input with its header grown by the two kind fields).
 * Any violation aborts: libFuzzer keeps the input as a crash. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mlp2.h>

#include "bytes.h" /* ref_crc32c: independent of lib/crc32c.c */
#include "countalloc.h"

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "fuzz_load: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                             \
        }                                                                        \
    } while (0)

enum { OFF_FILE_SIZE = 24, MIN_LEN = 76 };

static ca_state ca;
static char tmp_path[128];

static void init_once(void)
{
    if (tmp_path[0])
        return;
    ca_install(&ca);
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(tmp_path, sizeof tmp_path, "%s/mlp2-fuzz-load-%ld.mlp2", dir, (long)getpid());
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    CHECK(f);
    CHECK(fseek(f, 0, SEEK_END) == 0);
    long n = ftell(f);
    CHECK(n >= 0);
    rewind(f);
    uint8_t *b = malloc((size_t)n + 1);
    CHECK(b);
    CHECK(fread(b, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* The checks on a model that loaded from data[0..size). */
static void check_model(mlp2 *net, const uint8_t *data, size_t size)
{
    const size_t ni = mlp2_n_in(net), nh = mlp2_n_hidden(net), no = mlp2_n_out(net);
    const size_t np = mlp2_n_params(net);
    CHECK(ni > 0 && nh > 0 && no > 0);
    CHECK(np == ni * nh + nh + nh * no + no);
    mlp2_spec spec;
    CHECK(mlp2_get_spec(net, &spec) == MLP2_OK);
    CHECK(spec.n_in == ni && spec.n_hidden == nh && spec.n_out == no);
    CHECK((unsigned)spec.hidden <= MLP2_HIDDEN_RELU && (unsigned)spec.head <= MLP2_HEAD_SIGMOID);
    CHECK(spec.head != MLP2_HEAD_SOFTMAX || no >= 2);
    const bool v1 = data[8] == 1; /* version 1: the kinds are the seed's */
    if (v1)
        CHECK(spec.hidden == MLP2_HIDDEN_SIGMOID && spec.head == MLP2_HEAD_LINEAR);
    CHECK(np <= size / 8); /* every parameter came from 8 bytes of the file */
    double *theta = malloc(np * sizeof(double));
    CHECK(theta);
    CHECK(mlp2_get_params(net, theta) == MLP2_OK);
    for (size_t i = 0; i < np; i++)
        CHECK(theta[i] - theta[i] == 0.0); /* finite */
    free(theta);

    const size_t ns = mlp2_section_count(net);
    for (size_t i = 0; i < ns; i++) {
        const char *name = mlp2_section_name(net, i);
        CHECK(name);
        size_t len = strlen(name);
        CHECK(len >= 1 && len <= 255);
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(name, mlp2_section_name(net, j)) != 0);
        const void *d;
        size_t dl;
        CHECK(mlp2_section_get(net, name, &d, &dl) == MLP2_OK);
        CHECK(dl <= size);
    }
    CHECK(mlp2_section_name(net, ns) == NULL);

    /* the model works: one row of zeros */
    double *x = calloc(ni, sizeof(double)), *y = malloc(no * sizeof(double));
    CHECK(x && y);
    mlp2_status st = mlp2_predict(net, NULL, 1, x, y);
    CHECK(st == MLP2_OK || st == MLP2_ENONFINITE);
    free(x);
    free(y);

    /* round trip: the loader accepts only what the saver writes */
    CHECK(mlp2_save(net, tmp_path) == MLP2_OK);
    size_t len;
    uint8_t *again = slurp(tmp_path, &len);
    unlink(tmp_path);
    if (!v1) {
        CHECK(len == size && memcmp(again, data, size) == 0);
    } else { /* bytes 0..71 but version, header size, file size and CRC; then 8 zero bytes; the rest */
        CHECK(len == size + 8 && again[8] == 2 && again[12] == 80);
        CHECK(memcmp(again + 32, data + 32, 40) == 0);
        static const uint8_t zero[8];
        CHECK(memcmp(again + 72, zero, 8) == 0);
        CHECK(memcmp(again + 80, data + 72, size - 76) == 0);
    }
    free(again);
}

static void load_one(const uint8_t *data, size_t size)
{
    const size_t base = ca.live;
    ca.peak_bytes = ca.live_bytes;
    mlp2 *const sentinel = (mlp2 *)(void *)&ca;
    mlp2 *net = sentinel;
    mlp2_status st = mlp2_load_buffer(&net, data, size);
    /* the loader's own memory, and the model: a small multiple of the input */
    CHECK(ca.peak_bytes <= 8 * size + 4096);
    if (st != MLP2_OK) {
        CHECK(st == MLP2_EFORMAT || st == MLP2_ENONFINITE);
        CHECK(net == sentinel);
        CHECK(ca.live == base);
        return;
    }
    CHECK(net != sentinel && net != NULL);
    check_model(net, data, size);
    mlp2_free(net);
    CHECK(ca.live == base);
    CHECK(ca.bad_frees == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init_once();
    load_one(data, size);
    if (size >= MIN_LEN) {
        uint8_t *fixed = malloc(size);
        CHECK(fixed);
        memcpy(fixed, data, size);
        for (int i = 0; i < 8; i++)
            fixed[OFF_FILE_SIZE + i] = (uint8_t)((uint64_t)size >> (8 * i));
        uint32_t c = ref_crc32c(fixed, size - 4);
        for (int i = 0; i < 4; i++)
            fixed[size - 4 + (size_t)i] = (uint8_t)(c >> (8 * i));
        load_one(fixed, size);
        free(fixed);
    }
    return 0;
}
