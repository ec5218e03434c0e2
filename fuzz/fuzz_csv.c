/* fuzz_csv.c - the command's CSV reader (tools/csv.c) on arbitrary bytes.
 *
 * The first byte chooses the options (header mode, delimiter, row limit);
 * the rest is the file.  On success the table must be well formed: at least
 * one row and one column, every value finite, every column named with a
 * unique name that csv_find gives back, row lines increasing, the row limit
 * kept.  On failure the error code is the one returned, its message is a
 * terminated string, and the table is left empty.  Parsing twice gives the
 * same result (the reader is a pure function of its input).  Any violation
 * aborts. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

#define CHECK(cond)                                                             \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "fuzz_csv: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                            \
        }                                                                       \
    } while (0)

/* Column choices of the reader: the first column a number, then skipped,
 * text, kept both ways, in turn. */
static csv_col_use column_use(void *ctx, size_t index, const char *name, int has_header)
{
    (void)ctx, (void)name, (void)has_header;
    static const csv_col_use uses[4] = {CSV_COL_NUMBER, CSV_COL_SKIP, CSV_COL_TEXT, CSV_COL_BOTH};
    return uses[index % 4];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char delims[8] = {0, ',', ';', '\t', '|', ',', ';', '\t'}; /* the usual ones */
    if (size == 0)
        return 0;
    const uint8_t o = data[0];
    const csv_options opt = {
        .header = (csv_header_mode)(o % 3),
        .delim = delims[(o >> 2) & 7],
        .max_rows = (o >> 5) == 7 ? 3 : 0,
        .missing = (o >> 5) & 1 ? CSV_MISSING_SKIP : CSV_MISSING_ERROR,
        .column_use = (o >> 6) == 1 ? column_use : NULL,
    };
    /* an exact-size copy without the option byte, so reads past the end trip ASan */
    const size_t len = size - 1;
    char *buf = malloc(len ? len : 1);
    CHECK(buf);
    if (len)
        memcpy(buf, data + 1, len);

    csv_table t, t2;
    csv_error err, err2;
    memset(&t, 0x5a, sizeof t); /* the parser must not depend on *out's contents */
    memset(&err, 0x5a, sizeof err);
    csv_errcode rc = csv_parse(buf, len, &opt, &t, &err);
    CHECK(rc >= CSV_OK && rc <= CSV_EMISSING);
    if (rc == CSV_OK) {
        CHECK(t.rows >= 1 && t.cols >= 1);
        CHECK(t.data && t.names && t.line_of && t.field_of);
        CHECK(t.cols <= t.n_fields && (t.n_text == 0 || t.text));
        for (size_t i = 0; i < t.rows * t.n_text; i++)
            CHECK(t.text[i]);
        CHECK(opt.max_rows == 0 || t.rows <= opt.max_rows);
        CHECK(t.rows <= len); /* each row took at least one byte */
        for (size_t i = 0; i < t.rows * t.cols; i++)
            CHECK(isfinite(t.data[i]));
        for (size_t j = 0; j < t.cols; j++) {
            CHECK(t.names[j]);
            CHECK(csv_find(&t, t.names[j]) == (long)j);
        }
        CHECK(t.line_of[0] >= 1);
        for (size_t i = 1; i < t.rows; i++)
            CHECK(t.line_of[i] > t.line_of[i - 1]);
        if (opt.header == CSV_HEADER_YES)
            CHECK(t.has_header);
        if (opt.header == CSV_HEADER_NO)
            CHECK(!t.has_header);
    } else {
        CHECK(err.code == rc);
        CHECK(memchr(err.msg, 0, sizeof err.msg) != NULL);
        CHECK(t.rows == 0 && t.cols == 0 && t.data == NULL && t.names == NULL && t.line_of == NULL);
    }
    CHECK(csv_find(&t, "") < (long)t.cols);

    /* determinism */
    memset(&t2, 0, sizeof t2);
    csv_errcode rc2 = csv_parse(buf, len, &opt, &t2, &err2);
    CHECK(rc2 == rc);
    if (rc == CSV_OK) {
        CHECK(t2.rows == t.rows && t2.cols == t.cols && t2.has_header == t.has_header);
        CHECK(memcmp(t2.data, t.data, t.rows * t.cols * sizeof(double)) == 0);
        for (size_t j = 0; j < t.cols; j++)
            CHECK(strcmp(t2.names[j], t.names[j]) == 0);
    } else {
        CHECK(err2.line == err.line && err2.col == err.col);
        CHECK(strcmp(err2.msg, err.msg) == 0);
    }
    csv_free(&t);
    csv_free(&t2);
    CHECK(t.rows == 0 && t.data == NULL); /* csv_free empties the table */
    free(buf);
    return 0;
}
