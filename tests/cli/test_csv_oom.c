/* test_csv_oom.c - csv_parse when memory runs out: every malloc, calloc and
 * realloc of a parse fails in turn.  Each failure must give CSV_ENOMEM with
 * an empty table and nothing left allocated; once the failure comes after
 * the last allocation, the parse must give the same table as one that
 * never failed.
 *
 * The allocation calls of the tools' sources and of this file go through
 * the wrappers below (linked with -Wl,--wrap=malloc,--wrap=calloc,
 * --wrap=realloc,--wrap=free; tests/cli/meson.build): libmlp2, cmocka and
 * the C library keep the real ones.  The wrappers count the live blocks,
 * so a leak on an error path shows as a count that does not come back. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "csv.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);

static long calls;          /* allocation calls since the count was reset */
static long fail_at = -1;   /* the call that fails (0-based); -1: none */
static long live;           /* blocks allocated through the wrappers and not freed */

static int fails_now(void)
{
    return calls++ == fail_at;
}

void *__wrap_malloc(size_t n)
{
    if (fails_now())
        return NULL;
    void *p = __real_malloc(n);
    live += p != NULL;
    return p;
}

void *__wrap_calloc(size_t n, size_t size)
{
    if (fails_now())
        return NULL;
    void *p = __real_calloc(n, size);
    live += p != NULL;
    return p;
}

/* (the reader never asks for 0 bytes, whose meaning differs between C
 * libraries; a realloc that fails leaves the old block live) */
void *__wrap_realloc(void *p, size_t n)
{
    if (fails_now())
        return NULL;
    void *q = __real_realloc(p, n);
    live += q != NULL && p == NULL;
    return q;
}

void __wrap_free(void *p)
{
    live -= p != NULL;
    __real_free(p);
}

/* CSV_COL_TEXT for a column named "label", else a number column */
static csv_col_use label_as_text(void *ctx, size_t index, const char *name, int has_header)
{
    (void)ctx;
    (void)index;
    return has_header && strcmp(name, "label") == 0 ? CSV_COL_TEXT : CSV_COL_NUMBER;
}

static void expect_same(const csv_table *a, const csv_table *b)
{
    assert_int_equal(a->rows, b->rows);
    assert_int_equal(a->cols, b->cols);
    assert_int_equal(a->n_text, b->n_text);
    assert_int_equal(a->has_header, b->has_header);
    assert_int_equal(a->skipped, b->skipped);
    assert_int_equal(a->delim, b->delim);
    assert_memory_equal(a->data, b->data, a->rows * a->cols * sizeof(double));
    assert_memory_equal(a->line_of, b->line_of, a->rows * sizeof(size_t));
    for (size_t j = 0; j < a->cols; j++)
        assert_string_equal(a->names[j], b->names[j]);
    for (size_t j = 0; j < a->n_text; j++)
        assert_string_equal(a->text_names[j], b->text_names[j]);
    for (size_t i = 0; i < a->rows * a->n_text; i++)
        assert_string_equal(a->text[i], b->text[i]);
}

/* Parse text once without a failure (the reference, and the number of
 * allocation calls), then with each of those calls failing in turn. */
static void check_every_failure(const char *text, const csv_options *opt)
{
    const size_t len = strlen(text);
    csv_table ref, t;
    csv_error e;
    fail_at = -1;
    calls = 0;
    const long live0 = live;
    assert_int_equal(csv_parse(text, len, opt, &ref, &e), CSV_OK);
    const long n = calls;
    assert_true(n >= 3); /* the loop below is about something */
    const long live_ref = live;
    for (long k = 0; k <= n; k++) {
        calls = 0;
        fail_at = k;
        const csv_errcode got = csv_parse(text, len, opt, &t, &e);
        fail_at = -1;
        if (k < n) {
            if (got != CSV_ENOMEM)
                fail_msg("allocation %ld of %ld failed: status %d (%s), want CSV_ENOMEM", k, n, got, e.msg);
            assert_int_equal(e.code, CSV_ENOMEM);
            assert_null(t.data);
            assert_int_equal(t.rows, 0);
            if (live != live_ref)
                fail_msg("allocation %ld of %ld failed: %ld blocks left allocated", k, n, live - live_ref);
        } else {
            assert_int_equal(got, CSV_OK); /* the failure came after the last call */
            expect_same(&t, &ref);
            csv_free(&t);
        }
    }
    csv_free(&ref);
    assert_int_equal(live, live0);
}

static void test_header_text_missing(void **state)
{
    (void)state;
    /* a header, a text column (first, so that a failure later in a row
     * finds that row's text copied), a quoted field holding the separator
     * and a quote, and a row dropped for its missing value */
    const char *text = "label,x,y\na,1,2\n\"b,\"\"c\"\"\",3,4\nd,5,NA\ne,7,8\n";
    const csv_options opt = {.header = CSV_HEADER_AUTO, .missing = CSV_MISSING_SKIP,
                             .column_use = label_as_text};
    check_every_failure(text, &opt);
}

static void test_many_rows(void **state)
{
    (void)state;
    /* enough rows for the arrays to grow several times; no header, the
     * separator (semicolon) detected */
    char *text = malloc(600 * 32);
    assert_non_null(text);
    size_t at = 0;
    for (int i = 0; i < 600; i++)
        at += (size_t)snprintf(text + at, 32, "%d;%d.5;-%de3\n", i, 2 * i, i);
    const csv_options opt = {.header = CSV_HEADER_AUTO};
    check_every_failure(text, &opt);
    free(text);
}

static void test_quoted_header_crlf(void **state)
{
    (void)state;
    /* a byte-order mark, quoted header names, CRLF line ends, tabs */
    const char *text = "\xEF\xBB\xBF\"a b\"\t\"c\"\r\n1\t2\r\n3\t4\r\n";
    const csv_options opt = {.header = CSV_HEADER_YES};
    check_every_failure(text, &opt);
}

static void test_long_fields(void **state)
{
    (void)state;
    /* a number of 151 characters in the first row, which the header
     * detection reads (a copy of a number that long is allocated: a
     * failure there must not make the row a header), then 20 fields (the
     * first row's arrays grow), then a quoted field of 90 bytes holding a
     * line end (the lexer's scratch grows) */
    char text[1024];
    size_t at = (size_t)snprintf(text, sizeof text, "0.");
    for (int i = 0; i < 149; i++)
        text[at++] = (char)('0' + i % 10);
    at += (size_t)snprintf(text + at, sizeof text - at, ",2\n3,4\n");
    const csv_options opt = {.header = CSV_HEADER_AUTO};
    check_every_failure(text, &opt);
    at = 0;
    for (int j = 0; j < 20; j++)
        at += (size_t)snprintf(text + at, sizeof text - at, "%sc%d", j ? "," : "", j);
    at += (size_t)snprintf(text + at, sizeof text - at, "\n");
    for (int j = 0; j < 20; j++)
        at += (size_t)snprintf(text + at, sizeof text - at, "%s%d", j ? "," : "", j);
    snprintf(text + at, sizeof text - at, "\n");
    check_every_failure(text, &opt);
    const csv_options skip_note = {.header = CSV_HEADER_AUTO, .column_use = label_as_text};
    check_every_failure("x,label\n1,\"a long note of ninety bytes or so, which holds a line end here:\n"
                        "and goes on to its end\"\n2,b\n",
                        &skip_note);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_text_missing),
        cmocka_unit_test(test_many_rows),
        cmocka_unit_test(test_quoted_header_crlf),
        cmocka_unit_test(test_long_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
