/* test_csv.c - the CSV reader and the number functions of tools/, as plain
 * functions over buffers.  Run with a comma-decimal locale in the environment
 * (LC_ALL=de_DE.UTF-8) to check that the process locale changes nothing. */
#include <locale.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "csv.h"
#include "num.h"

static csv_errcode parse(const char *text, csv_header_mode mode, csv_table *t, csv_error *e)
{
    csv_options o = {.header = mode};
    return csv_parse(text, strlen(text), &o, t, e);
}

static void expect_error(const char *text, csv_errcode code, size_t line, size_t col, const char *msg_part)
{
    csv_table t;
    csv_error e;
    csv_errcode got = parse(text, CSV_HEADER_AUTO, &t, &e);
    if (got != code || e.line != line || e.col != col || !strstr(e.msg, msg_part))
        fail_msg("input \"%s\": got %d at %zu:%zu \"%s\", want %d at %zu:%zu \"%s\"", text, got, e.line, e.col,
                 e.msg, code, line, col, msg_part);
    assert_null(t.data);
    assert_int_equal(t.rows, 0);
}

static void test_header_detection(void **state)
{
    (void)state;
    csv_table t;
    csv_error e;
    assert_int_equal(parse("x,y\n1,2\n3,4\n", CSV_HEADER_AUTO, &t, &e), CSV_OK);
    assert_true(t.has_header);
    assert_int_equal(t.rows, 2);
    assert_int_equal(t.cols, 2);
    assert_string_equal(t.names[1], "y");
    assert_true(t.data[3] == 4.0);
    assert_int_equal(t.line_of[1], 3);
    csv_free(&t);

    assert_int_equal(parse("1,2\n3,4\n", CSV_HEADER_AUTO, &t, &e), CSV_OK);
    assert_false(t.has_header);
    assert_int_equal(t.rows, 2);
    assert_string_equal(t.names[0], "c1");
    assert_true(t.data[0] == 1.0);
    csv_free(&t);

    /* forced */
    assert_int_equal(parse("1,2\n3,4\n", CSV_HEADER_YES, &t, &e), CSV_OK);
    assert_true(t.has_header);
    assert_int_equal(t.rows, 1);
    assert_string_equal(t.names[0], "1");
    csv_free(&t);
    assert_int_equal(parse("x,2\n3,4\n", CSV_HEADER_NO, &t, &e), CSV_ENOTNUM);
    assert_int_equal(e.line, 1);

    /* a first row of numbers and NaN is data with a missing value, not a header */
    assert_int_equal(parse("1,NaN\n3,4\n", CSV_HEADER_AUTO, &t, &e), CSV_EMISSING);
    assert_int_equal(e.line, 1);
    assert_int_equal(e.col, 3);
    /* an empty field does not make a numeric first row a header */
    assert_int_equal(parse("1,,3\n4,5,6\n", CSV_HEADER_AUTO, &t, &e), CSV_EMISSING);
    assert_int_equal(e.line, 1);
    assert_int_equal(e.col, 3);
    assert_non_null(strstr(e.msg, "missing value (empty field)"));
    assert_int_equal(e.field, 2);
    assert_string_equal(e.name, "");
    assert_int_equal(parse("\" \",2\n4,5\n", CSV_HEADER_AUTO, &t, &e), CSV_EMISSING);
    assert_int_equal(e.line, 1);
    assert_int_equal(parse(",\n4,5\n", CSV_HEADER_AUTO, &t, &e), CSV_EMISSING);
    assert_int_equal(e.line, 1);
    /* an empty header name gets the positional name */
    assert_int_equal(parse("x,,z\n1,2,3\n", CSV_HEADER_AUTO, &t, &e), CSV_OK);
    assert_string_equal(t.names[1], "c2");
    csv_free(&t);
}

static void test_dialects(void **state)
{
    (void)state;
    csv_table t;
    csv_error e;
    const char *text = "\xEF\xBB\xBF \"a\" ,\t\"b \"\"q\"\", r\"\r\n"
                       " 1.5 , \" -2e3 \"\r\n"
                       "\"3\",4\r\n"
                       "\r\n  \n\n";
    assert_int_equal(parse(text, CSV_HEADER_AUTO, &t, &e), CSV_OK);
    assert_int_equal(t.rows, 2);
    assert_string_equal(t.names[0], "a");
    assert_string_equal(t.names[1], "b \"q\", r");
    assert_true(t.data[0] == 1.5 && t.data[1] == -2000 && t.data[2] == 3 && t.data[3] == 4);
    csv_free(&t);

    /* a header name spanning lines; the data line numbers follow */
    assert_int_equal(parse("\"multi\nline\",y\n1,2\n3,x\n", CSV_HEADER_AUTO, &t, &e), CSV_ENOTNUM);
    assert_int_equal(e.line, 4);
    assert_int_equal(e.col, 3);
    /* no final line end; a lone CR ends a line too */
    assert_int_equal(parse("1,2\r3,4", CSV_HEADER_AUTO, &t, &e), CSV_OK);
    assert_int_equal(t.rows, 2);
    assert_true(t.data[3] == 4);
    csv_free(&t);
    /* a single column */
    assert_int_equal(parse("v\n1\n2\n", CSV_HEADER_AUTO, &t, &e), CSV_OK);
    assert_int_equal(t.cols, 1);
    assert_int_equal(t.rows, 2);
    csv_free(&t);
    /* another delimiter */
    csv_options o = {.delim = ';'};
    assert_int_equal(csv_parse("a;b\n1.5;2\n", 10, &o, &t, &e), CSV_OK);
    assert_true(t.data[0] == 1.5);
    csv_free(&t);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("", CSV_EEMPTY, 1, 1, "empty file");
    expect_error("\xEF\xBB\xBF", CSV_EEMPTY, 1, 1, "empty file");
    expect_error(" \n\r\n\n", CSV_EEMPTY, 1, 1, "empty file");
    expect_error("a,b\n", CSV_EHEADERONLY, 2, 1, "no data rows");
    expect_error("a,b", CSV_EHEADERONLY, 1, 1, "no data rows");
    expect_error("a,b\n1,2\n3\n", CSV_EFIELDS, 3, 2, "expected 2 fields (as on line 1), found 1");
    expect_error("a,b\n1,2\n3,4,5,6\n", CSV_EFIELDS, 3, 5, "found 4");
    expect_error("a,b\n1,2\n\"3\"\n", CSV_EFIELDS, 3, 4, "found 1");
    expect_error("a,b\n1,2,\n", CSV_EFIELDS, 2, 5, "found 3");
    expect_error("a,b\n1, x \n", CSV_ENOTNUM, 2, 4, "not a number: \"x\"");
    expect_error("a,b\n1,\n", CSV_EMISSING, 2, 3, "missing value (empty field); --missing skip");
    expect_error("a,b\n1,\"\"\n", CSV_EMISSING, 2, 3, "empty field");
    expect_error("a,b\n1,NA\n", CSV_EMISSING, 2, 3, "missing value \"NA\"");
    expect_error("a,b\n1,n/a\n", CSV_EMISSING, 2, 3, "missing value \"n/a\"");
    expect_error("a,b\n1,?\n", CSV_EMISSING, 2, 3, "missing value \"?\"");
    expect_error("a,b\n1,nan\n", CSV_EMISSING, 2, 3, "missing value \"nan\"");
    expect_error("a,b\n1,NAN\n", CSV_EMISSING, 2, 3, "missing value");
    expect_error("a,b\n1,NAx\n", CSV_ENOTNUM, 2, 3, "not a number: \"NAx\"");
    expect_error("a,b\n1,2,5\n", CSV_EFIELDS, 2, 5, "found 3");
    expect_error("a,b\n1,inf\n", CSV_ENONFINITE, 2, 3, "not a finite number");
    expect_error("a,b\n1,-Infinity\n", CSV_ENONFINITE, 2, 3, "not a finite number");
    expect_error("a,b\n1,nan(0x1)\n", CSV_ENONFINITE, 2, 3, "not a finite number");
    expect_error("a,b\n1,-1e309\n", CSV_ENONFINITE, 2, 3, "too large");
    expect_error("a,b\n1,\"2\n", CSV_EQUOTE, 2, 3, "unterminated");
    expect_error("a,b\n1,\"2\" 3\n", CSV_EQUOTE, 2, 7, "after a closing quote");
    expect_error("a,b\n1,2\n\n3,4\n", CSV_EBLANK, 3, 1, "empty line");
    expect_error("\n1,2\n", CSV_EBLANK, 1, 1, "empty line");
    expect_error("a,a\n1,2\n", CSV_EHEADER, 1, 3, "duplicate column name \"a\"");
    expect_error("a,b\n1,2,5\n", CSV_EFIELDS, 2, 5, "");

    /* max_rows */
    csv_table t;
    csv_error e;
    csv_options o = {.max_rows = 2};
    assert_int_equal(csv_parse("1\n2\n3\n", 6, &o, &t, &e), CSV_ETOOBIG);
    assert_int_equal(e.line, 3);
    assert_null(t.data);
}

static void test_numbers(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        num_status st;
        double v;
    } cases[] = {
        {"0", NUM_OK, 0},          {"-0", NUM_OK, -0.0},     {"+1", NUM_OK, 1},
        {".5", NUM_OK, 0.5},       {"5.", NUM_OK, 5},        {"0.1", NUM_OK, 0.1},
        {"1e-400", NUM_OK, 0},     {"1E+2", NUM_OK, 100},    {"2.2250738585072011e-308", NUM_OK, 2.2250738585072011e-308},
        {"1.7976931348623157e308", NUM_OK, 1.7976931348623157e308},
        {"1e309", NUM_OVERFLOW, 0}, {"nan", NUM_NONFINITE, 0}, {"-INF", NUM_NONFINITE, 0},
        {"", NUM_SYNTAX, 0},       {".", NUM_SYNTAX, 0},     {"-", NUM_SYNTAX, 0},
        {"1e", NUM_SYNTAX, 0},     {"e5", NUM_SYNTAX, 0},    {"1,5", NUM_SYNTAX, 0},
        {"0x1p3", NUM_SYNTAX, 0},  {"1_000", NUM_SYNTAX, 0}, {" 1", NUM_SYNTAX, 0},
        {"1 ", NUM_SYNTAX, 0},     {"--1", NUM_SYNTAX, 0},   {"infinity1", NUM_SYNTAX, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double v = 12345;
        num_status st = num_parse(cases[i].s, strlen(cases[i].s), &v);
        if (st != cases[i].st)
            fail_msg("\"%s\": status %d, want %d", cases[i].s, st, cases[i].st);
        if (st == NUM_OK && (v != cases[i].v || signbit(v) != signbit(cases[i].v)))
            fail_msg("\"%s\": %.17g, want %.17g", cases[i].s, v, cases[i].v);
    }
    /* a very long number (heap copy) */
    char lng[400];
    memset(lng, '0', sizeof lng);
    lng[0] = '1';
    lng[1] = '.';
    double v;
    assert_int_equal(num_parse(lng, sizeof lng, &v), NUM_OK);
    assert_true(v == 1.0);
    /* formatting round-trips, shortest first */
    char buf[NUM_BUF];
    assert_string_equal(num_format(0.1, buf), "0.1");
    assert_string_equal(num_format(2.5, buf), "2.5");
    assert_string_equal(num_format(-1e-300, buf), "-1e-300");
    const double xs[] = {1.0 / 3, 2.0 / 3, 1e300 / 7, 5e-324, -123456.789};
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
        num_format(xs[i], buf);
        assert_int_equal(num_parse(buf, strlen(buf), &v), NUM_OK);
        assert_true(v == xs[i]);
    }
    unsigned long long u;
    assert_int_equal(num_parse_size("42", 1, 100, &u), 0);
    assert_int_equal(u, 42);
    assert_int_equal(num_parse_size("0", 1, 100, &u), -1);
    assert_int_equal(num_parse_size("-1", 0, 100, &u), -1);
    assert_int_equal(num_parse_size("99999999999999999999999", 0, ~0ULL, &u), -1);
    assert_int_equal(num_parse_double("1e3", &v), 0);
    assert_int_equal(num_parse_double("1e3x", &v), -1);
}

/* The process locale (from the environment) must not change anything. */
static void test_locale(void **state)
{
    (void)state;
    if (!setlocale(LC_ALL, ""))
        skip();
    const char *dp = localeconv()->decimal_point;
    print_message("locale %s, decimal point '%s'\n", setlocale(LC_NUMERIC, NULL), dp);
    if (strcmp(dp, ",") == 0) /* the locale is really in force: strtod stops at '.' */
        assert_true(strtod("2.5", NULL) == 2.0);
    csv_table t;
    csv_error e;
    assert_int_equal(parse("a,b\n2.5,-0.125e1\n", CSV_HEADER_AUTO, &t, &e), CSV_OK);
    assert_true(t.data[0] == 2.5 && t.data[1] == -1.25);
    csv_free(&t);
    assert_int_equal(parse("a;b\n1;2,5\n", CSV_HEADER_AUTO, &t, &e), CSV_ENOTNUM);
    char buf[NUM_BUF];
    assert_string_equal(num_format(2.5, buf), "2.5");
    setlocale(LC_ALL, "C");
}

/* Random and truncated inputs never crash and always clean up. */
static void test_garbage(void **state)
{
    (void)state;
    uint64_t s = 0x9E3779B97F4A7C15u;
    const char alphabet[] = "0123456789.,-+eE\" \t\r\nnaix";
    char buf[64];
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = (size_t)(iter % 64);
        for (size_t i = 0; i < len; i++) {
            s = s * 6364136223846793005u + 1442695040888963407u;
            buf[i] = alphabet[(s >> 33) % (sizeof alphabet - 1)];
        }
        csv_table t;
        csv_error e;
        csv_errcode c = csv_parse(buf, len, NULL, &t, &e);
        if (c == CSV_OK) {
            assert_non_null(t.data);
            assert_true(t.rows > 0 && t.cols > 0);
            for (size_t i = 0; i < t.rows * t.cols; i++)
                assert_true(isfinite(t.data[i]));
            csv_free(&t);
        } else {
            assert_true(e.line >= 1 && e.col >= 1 && e.msg[0] != '\0');
            assert_null(t.data);
        }
    }
    const char *good = "\"x\",y\r\n1.5,\"2\"\r\n3,4\r\n";
    for (size_t n = 0; n <= strlen(good); n++) {
        csv_table t;
        csv_error e;
        if (csv_parse(good, n, NULL, &t, &e) == CSV_OK)
            csv_free(&t);
    }
}

static csv_errcode parse_opt(const char *text, const csv_options *o, csv_table *t, csv_error *e)
{
    return csv_parse(text, strlen(text), o, t, e);
}

/* The separator: detected from the first line, or given. */
static void test_delimiters(void **state)
{
    (void)state;
    csv_table t;
    csv_error e;
    csv_options o = {0};
    assert_int_equal(parse_opt("a;b;c\n1,5;2;3\n", &o, &t, &e), CSV_ENOTNUM); /* decimal comma: not a number */
    assert_non_null(strstr(e.msg, "is ',' the field separator?"));
    assert_int_equal(parse_opt("a;b;c\n1.5;2;3\n", &o, &t, &e), CSV_OK);
    assert_int_equal(t.delim, ';');
    assert_true(t.delim_detected);
    assert_int_equal(t.cols, 3);
    assert_true(t.data[0] == 1.5 && t.data[2] == 3);
    csv_free(&t);
    assert_int_equal(parse_opt("a\tb\n1\t2\n", &o, &t, &e), CSV_OK);
    assert_int_equal(t.delim, '\t');
    csv_free(&t);
    /* commas inside quotes do not count; a tie goes to the comma */
    assert_int_equal(parse_opt("\"x,y,z\";b\n1;2\n", &o, &t, &e), CSV_OK);
    assert_int_equal(t.delim, ';');
    csv_free(&t);
    assert_int_equal(parse_opt("a,b;c\n1,2;3\n", &o, &t, &e), CSV_ENOTNUM);
    assert_int_equal(e.field, 2);
    assert_string_equal(e.name, "b;c");
    assert_non_null(strstr(e.msg, "is ';' the field separator?"));
    assert_int_equal(parse_opt("v\n1\n", &o, &t, &e), CSV_OK);
    assert_int_equal(t.delim, ',');
    csv_free(&t);
    /* given: no detection; a file of another separator reads as one column */
    o.delim = ',';
    assert_int_equal(parse_opt("a;b\n1;2\n", &o, &t, &e), CSV_ENOTNUM);
    assert_non_null(strstr(e.msg, "not a number: \"1;2\" (is ';' the field separator?"));
    o.delim = '|';
    assert_int_equal(parse_opt("a|b\n1|2\n", &o, &t, &e), CSV_OK);
    assert_false(t.delim_detected);
    assert_int_equal(t.cols, 2);
    csv_free(&t);
}

/* Errors name the CSV field and, with a header, its column name. */
static void test_error_fields(void **state)
{
    (void)state;
    csv_table t;
    csv_error e;
    assert_int_equal(parse("age,sex,bmi\n1,2,3\n4,5,\n", CSV_HEADER_AUTO, &t, &e), CSV_EMISSING);
    assert_int_equal(e.line, 3);
    assert_int_equal(e.field, 3);
    assert_string_equal(e.name, "bmi");
    /* field 3 although the byte column is 10 */
    assert_int_equal(parse("a,b,c\n11111,22222,x\n", CSV_HEADER_AUTO, &t, &e), CSV_ENOTNUM);
    assert_int_equal(e.field, 3);
    assert_int_equal(e.col, 13);
    assert_int_equal(parse("a,b\n1,\"2\n", CSV_HEADER_AUTO, &t, &e), CSV_EQUOTE);
    assert_int_equal(e.field, 2);
    assert_int_equal(parse("a,a\n1,2\n", CSV_HEADER_AUTO, &t, &e), CSV_EHEADER);
    assert_int_equal(e.field, 2);
    /* not about one field */
    assert_int_equal(parse("a,b\n1,2\n3\n", CSV_HEADER_AUTO, &t, &e), CSV_EFIELDS);
    assert_int_equal(e.field, 0);
}

static csv_col_use pick(void *ctx, size_t index, const char *name, int has_header)
{
    (void)has_header;
    (void)ctx;
    if (strcmp(name, "id") == 0)
        return CSV_COL_TEXT;
    return index == 1 ? CSV_COL_SKIP : CSV_COL_NUMBER;
}

static csv_col_use pick_by_index(void *ctx, size_t index, const char *name, int has_header)
{
    (void)ctx, (void)name, (void)has_header;
    return index == 1 ? CSV_COL_SKIP : index == 2 ? CSV_COL_TEXT : CSV_COL_NUMBER;
}

/* Columns read as numbers, skipped whatever their content, or kept as text;
 * rows with a missing value dropped on request. */
static void test_columns_and_missing(void **state)
{
    (void)state;
    csv_table t;
    csv_error e;
    csv_options o = {.column_use = pick};
    const char *text = "x,species,id,y\n1,setosa,\"a,1\",2\n3,,b2,4\n5,virginica,c3,\n7,x,d4,8\n";
    assert_int_equal(parse_opt(text, &o, &t, &e), CSV_EMISSING);
    assert_int_equal(e.line, 4);
    assert_int_equal(e.field, 4);
    assert_string_equal(e.name, "y");
    o.missing = CSV_MISSING_SKIP;
    assert_int_equal(parse_opt(text, &o, &t, &e), CSV_OK);
    assert_int_equal(t.n_fields, 4);
    assert_int_equal(t.cols, 2);
    assert_string_equal(t.names[0], "x");
    assert_string_equal(t.names[1], "y");
    assert_int_equal(t.field_of[0], 0);
    assert_int_equal(t.field_of[1], 3);
    assert_int_equal(t.rows, 3);
    assert_int_equal(t.skipped, 1);
    const double want[6] = {1, 2, 3, 4, 7, 8};
    assert_memory_equal(t.data, want, sizeof want);
    assert_int_equal(t.n_text, 1);
    assert_string_equal(t.text_names[0], "id");
    assert_string_equal(t.text[0], "a,1");
    assert_string_equal(t.text[1], "b2");
    assert_string_equal(t.text[2], "d4");
    assert_int_equal(t.line_of[2], 5);
    csv_free(&t);
    /* every row dropped */
    assert_int_equal(parse_opt("a,b\n1,\n,2\n", &(csv_options){.missing = CSV_MISSING_SKIP}, &t, &e), CSV_EMISSING);
    assert_non_null(strstr(e.msg, "all 2 have a missing value"));
    /* a skipped or text column does not make a headerless first row a header */
    csv_options pk = {.column_use = pick_by_index};
    assert_int_equal(parse_opt("7,x,id1,8\n9,y,id2,10\n", &pk, &t, &e), CSV_OK);
    assert_false(t.has_header);
    assert_int_equal(t.rows, 2);
    assert_string_equal(t.text[0], "id1");
    assert_true(t.data[0] == 7 && t.data[1] == 8);
    csv_free(&t);
    /* without the choice the first row is a header ("x" is not a number), so
     * the error is on line 2 */
    assert_int_equal(parse_opt("7,x,id1,8\n9,y,id2,10\n", &(csv_options){0}, &t, &e), CSV_ENOTNUM);
    assert_int_equal(e.line, 2);
    /* a headerless first row with a missing value is data, and can be dropped */
    assert_int_equal(parse_opt("1,NA\n3,4\n", &(csv_options){.missing = CSV_MISSING_SKIP}, &t, &e), CSV_OK);
    assert_int_equal(t.rows, 1);
    assert_true(t.data[0] == 3 && t.data[1] == 4);
    csv_free(&t);
}

/* Tab as the separator: a tab always ends a field, even where tabs are
 * padding for the other separators (next to quotes, at a field's start, on
 * a line of empty fields). */
static void test_tab_separator(void **state)
{
    (void)state;
    csv_table t;
    csv_error e;
    csv_options o = {0};
    /* quoted names, then tabs: two fields each (the tab after a closing
     * quote is the separator, not padding) */
    assert_int_equal(parse_opt("\"a\"\t\"b c\"\n1\t\"2\"\n", &o, &t, &e), CSV_OK);
    assert_int_equal(t.delim, '\t');
    assert_int_equal(t.cols, 2);
    assert_string_equal(t.names[1], "b c");
    assert_true(t.data[0] == 1 && t.data[1] == 2);
    csv_free(&t);
    /* an empty middle field is missing, not swallowed as padding */
    const char *text = "a\tb\tc\n1\t\t3\n4\t5\t6\n";
    assert_int_equal(parse_opt(text, &o, &t, &e), CSV_EMISSING);
    assert_int_equal(e.line, 2);
    assert_int_equal(e.field, 2);
    o.missing = CSV_MISSING_SKIP;
    assert_int_equal(parse_opt(text, &o, &t, &e), CSV_OK);
    assert_int_equal(t.rows, 1);
    assert_int_equal(t.skipped, 1);
    assert_true(t.data[0] == 4 && t.data[2] == 6);
    csv_free(&t);
    /* a line of tabs alone is a row of empty fields, not a blank line */
    o.missing = CSV_MISSING_ERROR;
    assert_int_equal(parse_opt("a\tb\n1\t2\n\t\n", &o, &t, &e), CSV_EMISSING);
    assert_int_equal(e.line, 3);
    /* ... and so is not a blank line in the middle of the data */
    assert_int_equal(parse_opt("a\tb\n1\t2\n\n\t\n", &o, &t, &e), CSV_EBLANK);
    assert_int_equal(e.line, 3);
    /* spaces are still padding */
    assert_int_equal(parse_opt("a\tb\n 1 \t \"2\" \n", &o, &t, &e), CSV_OK);
    assert_true(t.data[0] == 1 && t.data[1] == 2);
    csv_free(&t);
    /* a leading tab counts in the detection (an index column without a
     * name, as pandas writes it), and names an empty header field c1 */
    assert_int_equal(parse_opt("\ty\n0\t1.5\n1\t2.5\n", &o, &t, &e), CSV_OK);
    assert_int_equal(t.delim, '\t');
    assert_true(t.has_header);
    assert_int_equal(t.cols, 2);
    assert_string_equal(t.names[1], "y");
    assert_true(t.data[0] == 0 && t.data[1] == 1.5 && t.data[3] == 2.5);
    csv_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_detection), cmocka_unit_test(test_dialects), cmocka_unit_test(test_errors),
        cmocka_unit_test(test_numbers),          cmocka_unit_test(test_locale),   cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_delimiters),       cmocka_unit_test(test_error_fields),
        cmocka_unit_test(test_columns_and_missing), cmocka_unit_test(test_tab_separator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
