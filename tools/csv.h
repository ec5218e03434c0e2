/* csv.h - a careful reader for numeric CSV files.
 *
 * What it accepts:
 *   - an optional header row: detected (the first row is a header when one
 *     of its fields is not a number), or forced either way;
 *   - LF or CRLF line ends, a UTF-8 byte-order mark, spaces and tabs around
 *     fields, and RFC 4180 quoted fields ("a ""b"", c" holds a "b", c);
 *   - empty (or blank) lines at the end of the file, which are ignored.
 * Every data field must be a finite number in the plain C decimal grammar
 * (see num.h), read the same under every locale.  Anything else is an error
 * with a line and a column (both 1-based; the column counts bytes from the
 * start of the line to the start of the offending field).
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

typedef struct csv_options {
    csv_header_mode header;
    char delim;      /* field separator; 0 means ',' */
    size_t max_rows; /* 0: no limit; more data rows than this is CSV_ETOOBIG */
} csv_options;

typedef struct csv_table {
    size_t rows, cols;
    double *data;    /* rows x cols, row-major */
    char **names;    /* cols names: the header's, or "c1".."cN" without one */
    int has_header;
    size_t *line_of; /* rows entries: the line where each data row starts */
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
    CSV_ETOOBIG      /* the table's size overflows, or exceeds max_rows */
} csv_errcode;

typedef struct csv_error {
    csv_errcode code;
    size_t line, col; /* 1-based; 0 when the error has no position */
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
