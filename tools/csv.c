/* csv.c - the numeric CSV reader (see csv.h). */
#include "csv.h"

#include "num.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { END_DELIM, END_LINE, END_FILE } field_end;

typedef struct lexer {
    const char *buf;
    size_t len, pos;
    size_t line, line_start; /* current line number and the offset where it starts */
    char delim;
    char *scratch; /* unescaped text of quoted fields */
    size_t scap;
} lexer;

typedef struct field {
    const char *text; /* into buf or lexer.scratch: valid until the next field */
    size_t len;
    size_t line, col;
    int quoted;
    field_end end;
} field;

#if defined(__GNUC__)
__attribute__((format(printf, 5, 6)))
#endif
static csv_errcode fail(csv_error *err, csv_errcode code, size_t line, size_t col, const char *fmt, ...)
{
    err->code = code;
    err->line = line;
    err->col = col;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

/* A short printable excerpt of a field for messages. */
static const char *excerpt(const char *s, size_t len, char out[48])
{
    size_t n = len < 40 ? len : 40, j = 0;
    for (size_t i = 0; i < n; i++)
        out[j++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (len > n) {
        memcpy(out + j, "...", 3);
        j += 3;
    }
    out[j] = '\0';
    return out;
}

static int is_blank(char c) { return c == ' ' || c == '\t'; }

/* Consume a line end at pos (LF, CRLF or a lone CR); return 1 if there was one. */
static int eat_eol(lexer *lx)
{
    if (lx->pos >= lx->len)
        return 0;
    if (lx->buf[lx->pos] == '\n') {
        lx->pos++;
    } else if (lx->buf[lx->pos] == '\r') {
        lx->pos++;
        if (lx->pos < lx->len && lx->buf[lx->pos] == '\n')
            lx->pos++;
    } else {
        return 0;
    }
    lx->line++;
    lx->line_start = lx->pos;
    return 1;
}

static int at_eol(const lexer *lx)
{
    return lx->pos < lx->len && (lx->buf[lx->pos] == '\n' || lx->buf[lx->pos] == '\r');
}

static int scratch_push(lexer *lx, size_t n, char c)
{
    if (n >= lx->scap) {
        size_t cap = lx->scap ? lx->scap * 2 : 64;
        if (cap <= n)
            return -1;
        char *p = realloc(lx->scratch, cap);
        if (!p)
            return -1;
        lx->scratch = p;
        lx->scap = cap;
    }
    lx->scratch[n] = c;
    return 0;
}

/* Read the field at pos, and the separator or line end after it. */
static csv_errcode next_field(lexer *lx, field *f, csv_error *err)
{
    while (lx->pos < lx->len && is_blank(lx->buf[lx->pos]))
        lx->pos++;
    f->line = lx->line;
    f->col = lx->pos - lx->line_start + 1;
    f->quoted = 0;
    if (lx->pos < lx->len && lx->buf[lx->pos] == '"') {
        f->quoted = 1;
        size_t n = 0;
        lx->pos++;
        for (;;) {
            if (lx->pos >= lx->len)
                return fail(err, CSV_EQUOTE, f->line, f->col, "unterminated quoted field");
            char c = lx->buf[lx->pos];
            if (c == '"') {
                if (lx->pos + 1 < lx->len && lx->buf[lx->pos + 1] == '"') {
                    lx->pos += 2;
                } else {
                    lx->pos++;
                    break;
                }
            } else if (c == '\n' || c == '\r') {
                size_t before = lx->pos;
                eat_eol(lx); /* counts the line inside the quotes */
                for (size_t i = before; i < lx->pos; i++)
                    if (scratch_push(lx, n++, lx->buf[i]) != 0)
                        return fail(err, CSV_ENOMEM, f->line, f->col, "out of memory");
                continue;
            } else {
                lx->pos++;
            }
            if (scratch_push(lx, n++, c) != 0)
                return fail(err, CSV_ENOMEM, f->line, f->col, "out of memory");
        }
        f->text = lx->scratch ? lx->scratch : "";
        f->len = n;
        while (lx->pos < lx->len && is_blank(lx->buf[lx->pos]))
            lx->pos++;
        if (lx->pos < lx->len && lx->buf[lx->pos] != lx->delim && !at_eol(lx))
            return fail(err, CSV_EQUOTE, lx->line, lx->pos - lx->line_start + 1,
                        "unexpected character after a closing quote");
    } else {
        size_t start = lx->pos;
        while (lx->pos < lx->len && lx->buf[lx->pos] != lx->delim && !at_eol(lx))
            lx->pos++;
        size_t end = lx->pos;
        while (end > start && is_blank(lx->buf[end - 1]))
            end--;
        f->text = lx->buf + start;
        f->len = end - start;
    }
    if (lx->pos >= lx->len) {
        f->end = END_FILE;
    } else if (lx->buf[lx->pos] == lx->delim) {
        lx->pos++;
        f->end = END_DELIM;
    } else {
        eat_eol(lx);
        f->end = END_LINE;
    }
    return CSV_OK;
}

/* Is the line at pos empty or blank?  If so, also: is everything after it blank? */
static int blank_line(const lexer *lx, int *rest_blank)
{
    size_t i = lx->pos;
    while (i < lx->len && is_blank(lx->buf[i]))
        i++;
    if (i < lx->len && lx->buf[i] != '\n' && lx->buf[i] != '\r')
        return 0;
    while (i < lx->len && (is_blank(lx->buf[i]) || lx->buf[i] == '\n' || lx->buf[i] == '\r'))
        i++;
    *rest_blank = i >= lx->len;
    return 1;
}

static csv_errcode to_number(const field *f, double *out, csv_error *err)
{
    const char *s = f->text;
    size_t n = f->len;
    if (f->quoted) { /* spaces inside quotes are allowed around a number too */
        while (n > 0 && is_blank(*s))
            s++, n--;
        while (n > 0 && is_blank(s[n - 1]))
            n--;
    }
    char ex[48];
    switch (num_parse(s, n, out)) {
    case NUM_OK:
        return CSV_OK;
    case NUM_NONFINITE:
        return fail(err, CSV_ENONFINITE, f->line, f->col, "NaN and Inf are not allowed: \"%s\"", excerpt(s, n, ex));
    case NUM_OVERFLOW:
        return fail(err, CSV_ENONFINITE, f->line, f->col, "number too large for a double: \"%s\"",
                    excerpt(s, n, ex));
    case NUM_NOMEM:
        return fail(err, CSV_ENOMEM, f->line, f->col, "out of memory");
    case NUM_SYNTAX:
    default:
        if (n == 0)
            return fail(err, CSV_ENOTNUM, f->line, f->col, "empty field (missing value)");
        return fail(err, CSV_ENOTNUM, f->line, f->col, "not a number: \"%s\"", excerpt(s, n, ex));
    }
}

/* Growable storage for the table being built. */
typedef struct builder {
    csv_table *t;
    size_t cap_vals, cap_rows;
    const csv_options *opt;
} builder;

static csv_errcode start_row(builder *b, size_t line, csv_error *err)
{
    csv_table *t = b->t;
    if (b->opt->max_rows && t->rows >= b->opt->max_rows)
        return fail(err, CSV_ETOOBIG, line, 1, "more than %zu data rows", b->opt->max_rows);
    if (t->rows == b->cap_rows) {
        size_t cap = b->cap_rows ? b->cap_rows * 2 : 256;
        if (cap < b->cap_rows || cap > SIZE_MAX / sizeof(size_t))
            return fail(err, CSV_ETOOBIG, line, 1, "too many rows to hold in memory");
        size_t *p = realloc(t->line_of, cap * sizeof *p);
        if (!p)
            return fail(err, CSV_ENOMEM, line, 1, "out of memory after %zu rows", t->rows);
        t->line_of = p;
        b->cap_rows = cap;
    }
    t->line_of[t->rows] = line;
    return CSV_OK;
}

static csv_errcode push_value(builder *b, size_t index, double v, const field *f, csv_error *err)
{
    csv_table *t = b->t;
    if (index >= b->cap_vals) {
        size_t cap = b->cap_vals ? b->cap_vals * 2 : 1024;
        if (cap < b->cap_vals || cap > SIZE_MAX / sizeof(double))
            return fail(err, CSV_ETOOBIG, f->line, f->col, "too many values to hold in memory");
        double *p = realloc(t->data, cap * sizeof *p);
        if (!p)
            return fail(err, CSV_ENOMEM, f->line, f->col, "out of memory after %zu rows (%zu values)", t->rows,
                        index);
        t->data = p;
        b->cap_vals = cap;
    }
    t->data[index] = v;
    return CSV_OK;
}

static char *dup_text(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        if (n)
            memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* The first row, kept as text until we know whether it is a header. */
typedef struct first_row {
    char **text;
    size_t *len, *col;
    int *quoted;
    size_t n, cap, line;
} first_row;

static void first_row_free(first_row *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->text[i]);
    free(r->text);
    free(r->len);
    free(r->col);
    free(r->quoted);
    memset(r, 0, sizeof *r);
}

static csv_errcode read_first_row(lexer *lx, first_row *r, csv_error *err)
{
    r->line = lx->line;
    field f;
    do {
        csv_errcode e = next_field(lx, &f, err);
        if (e)
            return e;
        if (r->n == r->cap) {
            size_t cap = r->cap ? r->cap * 2 : 16;
            char **t = realloc(r->text, cap * sizeof *t);
            if (t)
                r->text = t;
            size_t *l = realloc(r->len, cap * sizeof *l);
            if (l)
                r->len = l;
            size_t *c = realloc(r->col, cap * sizeof *c);
            if (c)
                r->col = c;
            int *q = realloc(r->quoted, cap * sizeof *q);
            if (q)
                r->quoted = q;
            if (!t || !l || !c || !q)
                return fail(err, CSV_ENOMEM, f.line, f.col, "out of memory");
            r->cap = cap;
        }
        r->text[r->n] = dup_text(f.text, f.len);
        if (!r->text[r->n])
            return fail(err, CSV_ENOMEM, f.line, f.col, "out of memory");
        r->len[r->n] = f.len;
        r->col[r->n] = f.col;
        r->quoted[r->n] = f.quoted;
        r->n++;
    } while (f.end == END_DELIM);
    return CSV_OK;
}

/* Is the first row data rather than a header?  It is a header only when one
 * of its fields is non-empty and not a number: empty fields (missing values)
 * and spelled-out NaN/Inf do not make a header, they are reported as errors
 * of the data row. */
static int looks_numeric(const first_row *r)
{
    for (size_t i = 0; i < r->n; i++) {
        size_t k = 0;
        while (k < r->len[i] && is_blank(r->text[i][k])) /* quoted fields keep their spaces */
            k++;
        if (k == r->len[i])
            continue;
        field f = {.text = r->text[i], .len = r->len[i], .quoted = r->quoted[i]};
        double v;
        csv_error scratch;
        csv_errcode e = to_number(&f, &v, &scratch);
        if (e != CSV_OK && e != CSV_ENONFINITE)
            return 0;
    }
    return 1;
}

static csv_errcode make_names(csv_table *t, const first_row *r, int header, csv_error *err)
{
    t->names = calloc(t->cols, sizeof *t->names);
    if (!t->names)
        return fail(err, CSV_ENOMEM, r->line, 1, "out of memory");
    for (size_t i = 0; i < t->cols; i++) {
        if (header && r->len[i] > 0) {
            t->names[i] = dup_text(r->text[i], r->len[i]);
        } else {
            char tmp[32];
            snprintf(tmp, sizeof tmp, "c%zu", i + 1);
            t->names[i] = dup_text(tmp, strlen(tmp));
        }
        if (!t->names[i])
            return fail(err, CSV_ENOMEM, r->line, 1, "out of memory");
        for (size_t j = 0; j < i; j++)
            if (strcmp(t->names[j], t->names[i]) == 0) {
                char ex[48];
                return fail(err, CSV_EHEADER, r->line, header ? r->col[i] : 1,
                            "duplicate column name \"%s\" (columns %zu and %zu)",
                            excerpt(t->names[i], strlen(t->names[i]), ex), j + 1, i + 1);
            }
    }
    return CSV_OK;
}

static csv_errcode parse(lexer *lx, const csv_options *opt, csv_table *t, csv_error *err)
{
    builder b = {.t = t, .opt = opt};
    if (lx->len >= 3 && memcmp(lx->buf, "\xEF\xBB\xBF", 3) == 0)
        lx->pos = lx->line_start = 3;

    int rest_blank = 0;
    /* leading blank lines are as good as an empty file only when nothing follows */
    if (blank_line(lx, &rest_blank)) {
        if (rest_blank)
            return fail(err, CSV_EEMPTY, 1, 1, "empty file: no header and no data");
        return fail(err, CSV_EBLANK, lx->line, 1, "empty line before the first row");
    }

    first_row r = {0};
    csv_errcode e = read_first_row(lx, &r, err);
    if (e) {
        first_row_free(&r);
        return e;
    }
    t->cols = r.n;
    int header = opt->header == CSV_HEADER_YES || (opt->header == CSV_HEADER_AUTO && !looks_numeric(&r));
    t->has_header = header;
    e = make_names(t, &r, header, err);
    if (!e && !header) {
        e = start_row(&b, r.line, err);
        for (size_t i = 0; !e && i < r.n; i++) {
            field f = {.text = r.text[i], .len = r.len[i], .line = r.line, .col = r.col[i], .quoted = r.quoted[i]};
            double v = 0;
            e = to_number(&f, &v, err);
            if (!e)
                e = push_value(&b, i, v, &f, err);
        }
        if (!e)
            t->rows = 1;
    }
    size_t first_line = r.line;
    first_row_free(&r);
    if (e)
        return e;

    while (lx->pos < lx->len) {
        if (blank_line(lx, &rest_blank)) {
            if (rest_blank)
                break;
            return fail(err, CSV_EBLANK, lx->line, 1, "empty line in the middle of the data");
        }
        size_t row_line = lx->line;
        if ((e = start_row(&b, row_line, err)))
            return e;
        size_t base, k = 0;
        if (t->rows > SIZE_MAX / t->cols - 1)
            return fail(err, CSV_ETOOBIG, row_line, 1, "too many values to hold in memory");
        base = t->rows * t->cols;
        field f;
        do {
            if ((e = next_field(lx, &f, err)))
                return e;
            if (k >= t->cols) { /* count the rest of the line for the message */
                size_t line = f.line, col = f.col, found = k + 1;
                while (f.end == END_DELIM) {
                    if ((e = next_field(lx, &f, err)))
                        return e;
                    found++;
                }
                return fail(err, CSV_EFIELDS, line, col, "expected %zu fields (as on line %zu), found %zu",
                            t->cols, first_line, found);
            }
            double v = 0;
            if ((e = to_number(&f, &v, err)) || (e = push_value(&b, base + k, v, &f, err)))
                return e;
            k++;
        } while (f.end == END_DELIM);
        if (k < t->cols) {
            size_t end_col = f.col + f.len + (f.quoted ? 2 : 0);
            return fail(err, CSV_EFIELDS, row_line, end_col, "expected %zu fields (as on line %zu), found %zu",
                        t->cols, first_line, k);
        }
        t->rows++;
    }
    if (t->rows == 0)
        return fail(err, CSV_EHEADERONLY, lx->line, 1, "no data rows after the header");
    return CSV_OK;
}

csv_errcode csv_parse(const char *buf, size_t len, const csv_options *opt, csv_table *out, csv_error *err)
{
    static const csv_options defaults = {CSV_HEADER_AUTO, ',', 0};
    if (!opt)
        opt = &defaults;
    memset(out, 0, sizeof *out);
    memset(err, 0, sizeof *err);
    lexer lx = {.buf = buf ? buf : "", .len = buf ? len : 0, .line = 1, .delim = opt->delim ? opt->delim : ','};
    csv_errcode e = parse(&lx, opt, out, err);
    free(lx.scratch);
    if (e)
        csv_free(out);
    return e;
}

void csv_free(csv_table *t)
{
    if (!t)
        return;
    if (t->names)
        for (size_t i = 0; i < t->cols; i++)
            free(t->names[i]);
    free(t->names);
    free(t->data);
    free(t->line_of);
    memset(t, 0, sizeof *t);
}

long csv_find(const csv_table *t, const char *name)
{
    for (size_t i = 0; t->names && i < t->cols; i++)
        if (strcmp(t->names[i], name) == 0)
            return (long)i;
    return -1;
}
