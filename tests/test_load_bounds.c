/* test_load_bounds.c - the loader never reads outside the bytes it is
 * given, whatever the header claims.  Each file is placed at the very end
 * of a readable page followed by an inaccessible one, so a read past the
 * end is a crash here even in a release build (no sanitizer needed).
 *
 * The files: every truncation of a valid model with sections, and headers
 * whose parameter and section counts disagree with the length (the checksum
 * recomputed, so only the size checks stand between the header and a read
 * past the end).  A size check that compared the parameter count with bytes
 * instead of doubles passes such a header and walks past the buffer. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include <stdbool.h>
#include <sys/mman.h>
#include <unistd.h>

#include <mlp2.h>

#include "bytes.h"
#include "testutil.h"

/* a readable page followed by a PROT_NONE page */
static unsigned char *page_end;
static size_t page;

static int setup(void **state)
{
    (void)state;
    page = (size_t)sysconf(_SC_PAGESIZE);
    unsigned char *p = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED || mprotect(p + page, page, PROT_NONE) != 0)
        return -1;
    page_end = p + page;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return munmap(page_end - page, 2 * page);
}

/* load len bytes placed flush against the guard page */
static mlp2_status load_at_end(const unsigned char *bytes, size_t len, mlp2 **out)
{
    assert_true(len <= page);
    unsigned char *p = page_end - len;
    memcpy(p, bytes, len);
    return mlp2_load_buffer(out, p, len);
}

/* a saved model's bytes (2-3-1, with two sections) */
static unsigned char *saved_model(size_t *len)
{
    mlp2 *net = NULL;
    assert_int_equal(mlp2_create(&net, 2, 3, 1, 4), MLP2_OK);
    assert_int_equal(mlp2_section_set(net, "a", "xyz", 3), MLP2_OK);
    assert_int_equal(mlp2_section_set(net, "bee", "", 0), MLP2_OK);
    char path[] = "/tmp/mlp2-bounds-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(mlp2_save(net, path), MLP2_OK);
    mlp2_free(net);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char *b = malloc(4096);
    assert_non_null(b);
    *len = fread(b, 1, 4096, f);
    fclose(f);
    unlink(path);
    assert_true(*len > 76 && *len < 4096);
    return b;
}

static void test_truncations(void **state)
{
    (void)state;
    size_t len;
    unsigned char *b = saved_model(&len);
    mlp2 *net = NULL;
    assert_int_equal(load_at_end(b, len, &net), MLP2_OK);
    mlp2_free(net);
    for (size_t n = 0; n < len; n++) {
        net = NULL;
        assert_int_equal(load_at_end(b, n, &net), MLP2_EFORMAT);
        assert_null(net);
    }
    free(b);
}

/* Headers of both versions (1: 72 bytes, no kinds; 2: 80 bytes, the kinds
 * of the saved model, sigmoid and linear) with n_in = n_out = 1, n_hidden h
 * (np = 3h + 1 parameters) and n_sections s, over every length from the
 * minimum to past the honest one; the body is filled with bytes that parse
 * as small sections (name length 1, name 'a', data length 0), so that a
 * loader that starts walking sections where there are none keeps walking. */
static void test_inconsistent_headers(void **state)
{
    (void)state;
    size_t vlen;
    unsigned char *valid = saved_model(&vlen);
    unsigned char *b = calloc(1, 1024);
    assert_non_null(b);
    size_t checked = 0, refused_short = 0;
    for (uint32_t version = 1; version <= 2; version++) {
        const size_t hs = version == 1 ? 72 : 80, min = hs + 4;
        for (uint64_t h = 1; h <= 3; h++) {
            const uint64_t np = 3 * h + 1;
            const uint64_t sections[] = {0, 1, 2, 7, 1000, (uint64_t)1 << 40};
            for (size_t si = 0; si < sizeof sections / sizeof sections[0]; si++) {
                for (size_t len = min; len <= min + 8 * np + 60; len++) {
                    memcpy(b, valid, hs); /* magic, flags; version 2: the kinds */
                    wr32(b + 8, version);
                    wr32(b + 12, (uint32_t)hs);
                    wr64(b + 24, len);
                    wr64(b + 32, 1);
                    wr64(b + 40, h);
                    wr64(b + 48, 1);
                    wr64(b + 56, np);
                    wr64(b + 64, sections[si]);
                    for (size_t i = hs; i + 4 <= len; i++) {
                        const size_t k = (i - hs) % 13; /* u32 1, 'a', u64 0 */
                        b[i] = k == 0 ? 1 : k == 4 ? 'a' : 0;
                    }
                    wr32(b + len - 4, ref_crc32c(b, len - 4));
                    mlp2 *net = NULL;
                    const mlp2_status st = load_at_end(b, len, &net);
                    /* too short for its parameters: refused, never read past */
                    if (len < min + 8 * np) {
                        assert_int_equal(st, MLP2_EFORMAT);
                        refused_short++;
                    }
                    assert_true(st == MLP2_OK || st == MLP2_EFORMAT);
                    mlp2_free(net);
                    checked++;
                }
            }
        }
    }
    print_message("%zu crafted headers (%zu too short), none read past its buffer\n", checked,
                  refused_short);
    free(b);
    free(valid);
}

/* The crafted headers are not refused for something else first: with
 * sections 0 and the honest length, each version's header loads. */
static void test_crafted_header_loads(void **state)
{
    (void)state;
    size_t vlen;
    unsigned char *valid = saved_model(&vlen);
    unsigned char b[256];
    for (uint32_t version = 1; version <= 2; version++) {
        const size_t hs = version == 1 ? 72 : 80, np = 3 * 2 + 1, len = hs + 8 * np + 4;
        memset(b, 0, sizeof b);
        memcpy(b, valid, hs);
        wr32(b + 8, version);
        wr32(b + 12, (uint32_t)hs);
        wr64(b + 24, len);
        wr64(b + 32, 1);
        wr64(b + 40, 2);
        wr64(b + 48, 1);
        wr64(b + 56, np);
        wr64(b + 64, 0);
        wr32(b + len - 4, ref_crc32c(b, len - 4));
        mlp2 *net = NULL;
        assert_int_equal(load_at_end(b, len, &net), MLP2_OK);
        assert_int_equal(mlp2_n_params(net), np);
        mlp2_free(net);
    }
    free(valid);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_inconsistent_headers),
        cmocka_unit_test(test_crafted_header_loads),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
