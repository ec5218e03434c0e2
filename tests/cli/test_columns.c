/* test_columns.c - the "cli.columns" model section (tools/columns.c): a
 * round trip, the byte layout of columns.h, and the decoder's refusal of
 * every field out of range.  A model file can come from anywhere, and eval
 * and predict divide by the stored scale: a zero, negative or NaN scale,
 * unknown flags or an unknown version must be refused, not used.
 * Each malformed case changes one field of a valid encoding. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "columns.h"

/* Offsets from columns.h: head of 24 bytes, then per record
 * src (4), mean (8), scale (8), len (4), name. */
enum { HEAD = 24, REC = 24 };

static void make(columns *c)
{
    assert_int_equal(columns_alloc(c, 2, 1), 0);
    c->flags = COLUMNS_STANDARDISED | COLUMNS_HEADER;
    c->n_src = 4;
    const char *names[] = {"alpha", "b", "target"};
    const size_t src[] = {0, 3, 1};
    const double mean[] = {0.125, -3.5e7, 2.75}, scale[] = {1.5, 4e-3, 1e9};
    for (size_t i = 0; i < 3; i++) {
        c->names[i] = strdup(names[i]);
        assert_non_null(c->names[i]);
        c->src[i] = src[i];
        c->mean[i] = mean[i];
        c->scale[i] = scale[i];
    }
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_f64(unsigned char *p, double d)
{
    uint64_t v;
    memcpy(&v, &d, sizeof v);
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void test_round_trip_and_layout(void **state)
{
    (void)state;
    columns c, d;
    make(&c);
    unsigned char *buf;
    size_t len;
    assert_int_equal(columns_encode(&c, &buf, &len), 0);
    assert_int_equal(len, HEAD + 3 * REC + 5 + 1 + 6);
    /* the layout, byte by byte where it matters */
    assert_memory_equal(buf, "MCOL", 4);
    assert_int_equal(buf[4], COLUMNS_VERSION);
    assert_int_equal(buf[8], 3);                  /* flags */
    assert_int_equal(buf[12], 2);                 /* n_in */
    assert_int_equal(buf[16], 1);                 /* n_out */
    assert_int_equal(buf[20], 4);                 /* n_src */
    assert_int_equal(buf[HEAD + REC + 5], 3);     /* second record's src */
    unsigned char want[8];
    put_f64(want, -3.5e7);
    assert_memory_equal(buf + HEAD + REC + 5 + 4, want, 8); /* its mean, little-endian */
    const char *why = NULL;
    assert_int_equal(columns_decode(buf, len, &d, &why), 0);
    assert_int_equal(d.flags, c.flags);
    assert_int_equal(d.n_in, 2);
    assert_int_equal(d.n_out, 1);
    assert_int_equal(d.n_src, 4);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(d.names[i], c.names[i]);
        assert_int_equal(d.src[i], c.src[i]);
        assert_memory_equal(&d.mean[i], &c.mean[i], sizeof(double));
        assert_memory_equal(&d.scale[i], &c.scale[i], sizeof(double));
    }
    free(buf);
    columns_free(&c);
    columns_free(&d);
}

typedef enum { U32, F64, TRUNCATE, APPEND } edit_kind;

typedef struct {
    const char *what;
    edit_kind kind;
    size_t at;    /* byte offset of the field */
    uint32_t u;   /* U32: the new value */
    double f;     /* F64: the new value */
} edit;

/* the first record starts at HEAD; its scale at HEAD + 12 */
static const edit bad_edits[] = {
    {"version 2", U32, 4, 2, 0},
    {"unknown flag 4", U32, 8, 3 | 4, 0},
    {"unknown flag 2^31", U32, 8, 0x80000000u, 0},
    {"n_in 0", U32, 12, 0, 0},
    {"n_out 0", U32, 16, 0, 0},
    {"n_src smaller than the columns", U32, 20, 2, 0},
    {"src out of range", U32, HEAD, 4, 0},
    {"src repeated", U32, HEAD, 1, 0},
    {"scale 0", F64, HEAD + 12, 0, 0.0},
    {"scale negative", F64, HEAD + 12, 0, -1.5},
    {"scale NaN", F64, HEAD + 12, 0, NAN},
    {"scale +Inf", F64, HEAD + 12, 0, INFINITY},
    {"mean NaN", F64, HEAD + 4, 0, NAN},
    {"mean -Inf", F64, HEAD + 4, 0, -INFINITY},
    {"name length 0", U32, HEAD + 20, 0, 0},
    {"name length past the end", U32, HEAD + 20, 1000, 0},
    {"truncated", TRUNCATE, 1, 0, 0},
    {"trailing byte", APPEND, 0, 0, 0},
};

static void test_malformed(void **state)
{
    (void)state;
    columns c;
    make(&c);
    unsigned char *good;
    size_t len;
    assert_int_equal(columns_encode(&c, &good, &len), 0);
    columns_free(&c);
    for (size_t k = 0; k < sizeof bad_edits / sizeof bad_edits[0]; k++) {
        const edit *e = &bad_edits[k];
        unsigned char *b = malloc(len + 1);
        assert_non_null(b);
        memcpy(b, good, len);
        size_t n = len;
        switch (e->kind) {
        case U32: put_u32(b + e->at, e->u); break;
        case F64: put_f64(b + e->at, e->f); break;
        case TRUNCATE: n = len - e->at; break;
        case APPEND: b[n++] = 'x'; break;
        }
        columns d;
        const char *why = NULL;
        const int rc = columns_decode(b, n, &d, &why);
        if (rc != -1 || !why) {
            print_error("%s: columns_decode returned %d, want -1 with a reason\n", e->what, rc);
            fail();
        }
        free(b);
    }
    /* a NUL inside a name */
    unsigned char *b = malloc(len);
    assert_non_null(b);
    memcpy(b, good, len);
    b[HEAD + REC + 2] = '\0'; /* inside "alpha" */
    columns d;
    const char *why = NULL;
    assert_int_equal(columns_decode(b, len, &d, &why), -1);
    free(b);
    free(good);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_and_layout),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
