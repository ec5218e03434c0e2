/* csv.h - a careful reader for numeric CSV files.
 *
 * What it accepts:
 *   - an optional header row: detected (the first row is a header when one
 *     of its fields is not a number), or forced either way;
 *   - LF or CRLF line ends, a UTF-8 byte-order mark, spaces and tabs around
 *     fields (but never the separator: with tab as the separator a tab
 *     always ends a field, "1\t\t3" has an empty field and a line of tabs
 *     is a row of empty fields), and RFC 4180 quoted fields ("a ""b"", c"
 *     holds a "b", c);
 *   - empty (or blank) lines at the end of the file, which are ignored.
 *   - a field separator given, or detected from the first line: the most
 *     frequent of comma, semicolon and tab outside quotes (comma on a tie or
 *     when there is none);
 *   - columns chosen by the caller: read as numbers, skipped whatever their
 *     content, or kept as text (csv_options.column_use).
 * Every field of a number column must be a finite number in the plain C
 * decimal grammar (see num.h), read the same under every locale, or a
 * missing value: an empty field, NA, N/A, NaN (any case) or ?, which is an
 * error or drops its row (csv_options.missing).  Anything else is an error
 * with a line, the 1-based CSV field and, with a header, the column's name
 * (and a byte column, for tests and tools that want it).
 *
 * csv_parse is a pure function of its buffer and options: no I/O, no global
 * state, so a fuzzer can drive it directly. */
#ifndef MLP2_TOOLS_CSV_H
#define MLP2_TOOLS_CSV_H

#include <stddef.h>

typedef enum csv_header_mode {
    CSV_HEADER_AUTO = 0, /* header when some first-row field is not a number */
    CSV_HEADER_YES,      /* the first row is always a header */
    CSV_HEADER_NO        /* the first row is always data */
} csv_header_mode;

typedef enum csv_missing_mode {
    CSV_MISSING_ERROR = 0, /* a missing value is CSV_EMISSING */
    CSV_MISSING_SKIP       /* a row with a missing value (in a number column) is dropped */
} csv_missing_mode;

typedef enum csv_col_use {
    CSV_COL_NUMBER = 0, /* read as a number */
    CSV_COL_SKIP,       /* not read: any content */
    CSV_COL_TEXT,       /* kept as text (unquoted) in csv_table.text */
    CSV_COL_BOTH        /* both: a number column and a text column */
} csv_col_use;

typedef struct csv_options {
    csv_header_mode header;
    char delim;      /* field separator; 0: detect (see above) */
    size_t max_rows; /* 0: no limit; more data rows than this is CSV_ETOOBIG */
    csv_missing_mode missing;
    /* Called once per field of a row, in order, when the header is known:
     * index 0-based, name the header's or "c<index+1>", has_header.  NULL:
     * every column is a number.  With CSV_HEADER_AUTO it is also asked
     * (name "c<index+1>", has_header 0) which first-row fields count in
     * the header detection: those it would skip or keep as text do not. */
    csv_col_use (*column_use)(void *ctx, size_t index, const char *name, int has_header);
    void *ctx;
} csv_options;

typedef struct csv_table {
    size_t rows, cols; /* data rows; number columns */
    double *data;      /* rows x cols, row-major */
    char **names;      /* cols names: the header's, or "c1".."cN" without one */
    size_t *field_of;  /* cols entries: each number column's 0-based field in the file */
    int has_header;
    size_t *line_of;   /* rows entries: the line where each data row starts */
    size_t n_fields;   /* fields per row in the file */
    char delim;        /* the separator used */
    int delim_detected; /* it was detected (no csv_options.delim) */
    size_t skipped;    /* rows dropped for a missing value (CSV_MISSING_SKIP) */
    size_t n_text;     /* CSV_COL_TEXT columns */
    char **text_names; /* n_text names */
    char **text;       /* rows x n_text field texts */
} csv_table;

typedef enum csv_errcode {
    CSV_OK = 0,
    CSV_EEMPTY,      /* no rows at all (empty or blank file) */
    CSV_EHEADERONLY, /* a header and no data rows */
    CSV_EFIELDS,     /* a row with a different number of fields than the first */
    CSV_ENOTNUM,     /* a data field that is not a number (also an empty field) */
    CSV_ENONFINITE,  /* NaN, Inf, or a value too large for a double */
    CSV_EQUOTE,      /* an unterminated quote, or text after a closing quote */
    CSV_EBLANK,      /* an empty line followed by more data */
    CSV_EHEADER,     /* a header with duplicate names */
    CSV_ENOMEM,      /* out of memory */
    CSV_ETOOBIG,     /* the table's size overflows, or exceeds max_rows */
    CSV_EMISSING     /* a missing value in a number column (CSV_MISSING_ERROR) */
} csv_errcode;

typedef struct csv_error {
    csv_errcode code;
    size_t line, col; /* 1-based; 0 when the error has no position */
    size_t field;     /* 1-based CSV field of the error; 0 when not about one field */
    char name[64];    /* that field's header name (shortened), "" without a header */
    char msg[256];    /* what went wrong, without the position */
} csv_error;

/* Parse buf[0..len).  On success fills *out (free it with csv_free) and
 * returns CSV_OK; on failure *out is left empty, *err describes the first
 * error, and its code is returned.  The reader runs under a thread-local
 * "C" locale for numbers. */
csv_errcode csv_parse(const char *buf, size_t len, const csv_options *opt, csv_table *out, csv_error *err);

/* Frees everything in t and empties it.  NULL or empty: no-op. */
void csv_free(csv_table *t);

/* Index of the column named `name`, or -1. */
long csv_find(const csv_table *t, const char *name);

#endif
