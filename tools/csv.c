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

/* Padding around a field: a blank that is not the separator (with tab as
 * the separator, a tab always ends a field: "1\t\t3" has an empty field,
 * and "\"a\"\tb" two fields) */
static int is_pad(const lexer *lx, char c) { return is_blank(c) && c != lx->delim; }

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
    while (lx->pos < lx->len && is_pad(lx, lx->buf[lx->pos]))
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
        while (lx->pos < lx->len && is_pad(lx, lx->buf[lx->pos]))
            lx->pos++;
        if (lx->pos < lx->len && lx->buf[lx->pos] != lx->delim && !at_eol(lx))
            return fail(err, CSV_EQUOTE, lx->line, lx->pos - lx->line_start + 1,
                        "unexpected character after a closing quote");
    } else {
        size_t start = lx->pos;
        while (lx->pos < lx->len && lx->buf[lx->pos] != lx->delim && !at_eol(lx))
            lx->pos++;
        size_t end = lx->pos;
        while (end > start && is_pad(lx, lx->buf[end - 1]))
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
    while (i < lx->len && is_pad(lx, lx->buf[i]))
        i++;
    if (i < lx->len && lx->buf[i] != '\n' && lx->buf[i] != '\r')
        return 0;
    while (i < lx->len && (is_pad(lx, lx->buf[i]) || lx->buf[i] == '\n' || lx->buf[i] == '\r'))
        i++;
    *rest_blank = i >= lx->len;
    return 1;
}

/* An empty field, NA, N/A, NaN (any case) or ?: a missing value. */
static int is_missing(const char *s, size_t n)
{
    static const char *const marks[] = {"na", "n/a", "nan", "?"};
    if (n == 0)
        return 1;
    for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++) {
        size_t k = strlen(marks[i]), j = 0;
        while (j < k && j < n && (s[j] | 0x20) == marks[i][j])
            j++;
        if (j == k && n == k)
            return 1;
    }
    return 0;
}

/* A separator other than delim inside a field: the likely cause of a "not a
 * number" error. */
static const char *other_separator(const char *s, size_t n, char delim)
{
    static const char seps[] = {',', ';', '\t', '|'};
    static const char *const names[] = {"','", "';'", "tab", "'|'"};
    for (size_t i = 0; i < sizeof seps; i++)
        if (seps[i] != delim && memchr(s, seps[i], n))
            return names[i];
    return NULL;
}

static csv_errcode to_number(const field *f, char delim, double *out, csv_error *err)
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
    const char *sep;
    switch (num_parse(s, n, out)) {
    case NUM_OK:
        return CSV_OK;
    case NUM_NONFINITE:
        if (is_missing(s, n))
            break;
        return fail(err, CSV_ENONFINITE, f->line, f->col, "not a finite number: \"%s\"", excerpt(s, n, ex));
    case NUM_OVERFLOW:
        return fail(err, CSV_ENONFINITE, f->line, f->col, "number too large for a double: \"%s\"",
                    excerpt(s, n, ex));
    case NUM_NOMEM:
        return fail(err, CSV_ENOMEM, f->line, f->col, "out of memory");
    case NUM_SYNTAX:
    default:
        if (is_missing(s, n))
            break;
        if ((sep = other_separator(s, n, delim)))
            return fail(err, CSV_ENOTNUM, f->line, f->col,
                        "not a number: \"%s\" (is %s the field separator?  --delimiter sets it)", excerpt(s, n, ex),
                        sep);
        return fail(err, CSV_ENOTNUM, f->line, f->col, "not a number: \"%s\"", excerpt(s, n, ex));
    }
    if (n == 0)
        return fail(err, CSV_EMISSING, f->line, f->col, "missing value (empty field); --missing skip drops such rows");
    return fail(err, CSV_EMISSING, f->line, f->col, "missing value \"%s\"; --missing skip drops such rows",
                excerpt(s, n, ex));
}

/* Growable storage for the table being built. */
typedef struct builder {
    csv_table *t;
    size_t cap_vals, cap_rows, cap_text;
    const csv_options *opt;
    char delim;
    char **all_names;   /* n_fields names: header or c<N> */
    unsigned char *use; /* n_fields csv_col_use */
    size_t *slot;       /* n_fields: index among the number columns */
    size_t *tslot;      /* n_fields: index among the text columns */
    int drop;           /* the current row has a missing value (CSV_MISSING_SKIP) */
} builder;

/* Say which field (and column name) an error is about. */
static csv_errcode at_field(const builder *b, size_t k, csv_error *err)
{
    err->field = k + 1;
    if (b->t->has_header && b->all_names && k < b->t->n_fields) {
        char ex[48];
        snprintf(err->name, sizeof err->name, "%s", excerpt(b->all_names[k], strlen(b->all_names[k]), ex));
    }
    return err->code;
}

static csv_errcode start_row(builder *b, size_t line, csv_error *err)
{
    csv_table *t = b->t;
    b->drop = 0;
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

static csv_errcode push_text(builder *b, size_t index, const field *f, csv_error *err)
{
    csv_table *t = b->t;
    if (index >= b->cap_text) {
        size_t cap = b->cap_text ? b->cap_text * 2 : 256;
        while (cap <= index)
            cap *= 2;
        char **p = cap <= SIZE_MAX / sizeof *p ? realloc(t->text, cap * sizeof *p) : NULL;
        if (!p)
            return fail(err, CSV_ENOMEM, f->line, f->col, "out of memory after %zu rows", t->rows);
        memset(p + b->cap_text, 0, (cap - b->cap_text) * sizeof *p);
        t->text = p;
        b->cap_text = cap;
    }
    free(t->text[index]);
    if (!(t->text[index] = dup_text(f->text, f->len)))
        return fail(err, CSV_ENOMEM, f->line, f->col, "out of memory after %zu rows", t->rows);
    return CSV_OK;
}

/* Field k of the current data row. */
static csv_errcode take_field(builder *b, size_t k, const field *f, csv_error *err)
{
    csv_table *t = b->t;
    csv_errcode e = CSV_OK;
    double v = 0;
    const int use = b->use[k];
    if (use == CSV_COL_SKIP)
        return CSV_OK;
    if (use == CSV_COL_TEXT || use == CSV_COL_BOTH)
        e = push_text(b, t->rows * t->n_text + b->tslot[k], f, err);
    if (!e && use != CSV_COL_TEXT) {
        e = to_number(f, b->delim, &v, err);
        if (e == CSV_EMISSING && b->opt->missing == CSV_MISSING_SKIP) {
            b->drop = 1;
            return CSV_OK;
        }
        if (!e)
            e = push_value(b, t->rows * t->cols + b->slot[k], v, f, err);
    }
    return e ? at_field(b, k, err) : CSV_OK;
}

/* The row is complete: keep it, or drop it for a missing value. */
static void end_row(builder *b)
{
    csv_table *t = b->t;
    if (!b->drop) {
        t->rows++;
        return;
    }
    t->skipped++;
    for (size_t j = 0; j < t->n_text && t->rows * t->n_text + j < b->cap_text; j++) {
        free(t->text[t->rows * t->n_text + j]);
        t->text[t->rows * t->n_text + j] = NULL;
    }
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

static csv_errcode grow_first_row(first_row *r, const field *f, csv_error *err)
{
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
        return fail(err, CSV_ENOMEM, f->line, f->col, "out of memory");
    r->cap = cap;
    return CSV_OK;
}

static csv_errcode read_first_row(lexer *lx, first_row *r, csv_error *err)
{
    r->line = lx->line;
    field f;
    do {
        csv_errcode e = next_field(lx, &f, err);
        if (e) {
            err->field = r->n + 1;
            return e;
        }
        if (r->n == r->cap && (e = grow_first_row(r, &f, err)))
            return e;
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
 * of its fields is not a number: missing values and spelled-out Inf do not
 * make a header, they are reported as errors of the data row.  Fields the
 * caller does not read as numbers (asked as headerless columns c1, c2, ...)
 * do not count: an ID column does not make a headerless file's first row a
 * header. */
static csv_errcode looks_numeric(const first_row *r, const csv_options *opt, char delim, int *numeric,
                                 csv_error *err)
{
    *numeric = 1;
    for (size_t i = 0; i < r->n; i++) {
        if (opt->column_use) {
            char name[32];
            snprintf(name, sizeof name, "c%zu", i + 1);
            csv_col_use u = opt->column_use(opt->ctx, i, name, 0);
            if (u == CSV_COL_SKIP || u == CSV_COL_TEXT)
                continue;
        }
        field f = {.text = r->text[i], .len = r->len[i], .line = r->line, .col = r->col[i], .quoted = r->quoted[i]};
        double v;
        csv_error scratch;
        csv_errcode e = to_number(&f, delim, &v, &scratch);
        if (e == CSV_ENOMEM) { /* (a number too long to copy): not a header, an error */
            *err = scratch;
            return e;
        }
        if (e != CSV_OK && e != CSV_ENONFINITE && e != CSV_EMISSING) {
            *numeric = 0;
            break;
        }
    }
    return CSV_OK;
}

/* Names of every field, then which are read and how (the caller's choice). */
static csv_errcode plan_columns(builder *b, const first_row *r, int header, csv_error *err)
{
    csv_table *t = b->t;
    const size_t n = r->n;
    b->all_names = calloc(n, sizeof *b->all_names);
    b->use = calloc(n, 1);
    b->slot = calloc(n, sizeof *b->slot);
    b->tslot = calloc(n, sizeof *b->tslot);
    if (!b->all_names || !b->use || !b->slot || !b->tslot)
        return fail(err, CSV_ENOMEM, r->line, 1, "out of memory");
    for (size_t i = 0; i < n; i++) {
        char tmp[32];
        snprintf(tmp, sizeof tmp, "c%zu", i + 1);
        int own = header && r->len[i] > 0;
        if (!(b->all_names[i] = own ? dup_text(r->text[i], r->len[i]) : dup_text(tmp, strlen(tmp))))
            return fail(err, CSV_ENOMEM, r->line, 1, "out of memory");
        for (size_t j = 0; j < i; j++)
            if (strcmp(b->all_names[j], b->all_names[i]) == 0) {
                char ex[48];
                fail(err, CSV_EHEADER, r->line, header ? r->col[i] : 1, "duplicate column name \"%s\" (columns %zu and %zu)",
                     excerpt(b->all_names[i], strlen(b->all_names[i]), ex), j + 1, i + 1);
                return at_field(b, i, err);
            }
        csv_col_use u = b->opt->column_use ? b->opt->column_use(b->opt->ctx, i, b->all_names[i], header)
                                           : CSV_COL_NUMBER;
        b->use[i] = (unsigned char)u;
        if (u == CSV_COL_NUMBER || u == CSV_COL_BOTH)
            b->slot[i] = t->cols++;
        if (u == CSV_COL_TEXT || u == CSV_COL_BOTH)
            b->tslot[i] = t->n_text++;
    }
    t->names = calloc(t->cols ? t->cols : 1, sizeof *t->names);
    t->field_of = calloc(t->cols ? t->cols : 1, sizeof *t->field_of);
    t->text_names = calloc(t->n_text ? t->n_text : 1, sizeof *t->text_names);
    if (!t->names || !t->field_of || !t->text_names)
        return fail(err, CSV_ENOMEM, r->line, 1, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const int u = b->use[i], num = u == CSV_COL_NUMBER || u == CSV_COL_BOTH;
        const int txt = u == CSV_COL_TEXT || u == CSV_COL_BOTH;
        if (num)
            t->field_of[b->slot[i]] = i;
        if ((num && !(t->names[b->slot[i]] = dup_text(b->all_names[i], strlen(b->all_names[i])))) ||
            (txt && !(t->text_names[b->tslot[i]] = dup_text(b->all_names[i], strlen(b->all_names[i])))))
            return fail(err, CSV_ENOMEM, r->line, 1, "out of memory");
    }
    return CSV_OK;
}

/* The most frequent of ',', ';' and tab outside quotes on the first line
 * that is not blank; ',' on a tie or when there is none. */
static char detect_delim(const lexer *lx)
{
    size_t i = lx->pos, line = i, count[3] = {0, 0, 0};
    /* blank lines skipped, but the count from the start of the first other
     * line: its leading tabs may be separators ("\ty" over an index column) */
    for (; i < lx->len && (is_blank(lx->buf[i]) || lx->buf[i] == '\n' || lx->buf[i] == '\r'); i++)
        if (lx->buf[i] == '\n' || lx->buf[i] == '\r')
            line = i + 1;
    i = line;
    int quoted = 0;
    for (; i < lx->len && (quoted || (lx->buf[i] != '\n' && lx->buf[i] != '\r')); i++) {
        char c = lx->buf[i];
        if (c == '"')
            quoted = !quoted;
        else if (!quoted)
            count[0] += c == ',', count[1] += c == ';', count[2] += c == '\t';
    }
    if (count[1] > count[0] && count[1] >= count[2])
        return ';';
    if (count[2] > count[0] && count[2] > count[1])
        return '\t';
    return ',';
}

/* One data row after the first: each field, then the count checked. */
static csv_errcode read_row(lexer *lx, builder *b, size_t first_line, csv_error *err)
{
    csv_table *t = b->t;
    size_t row_line = lx->line, k = 0;
    csv_errcode e;
    if ((e = start_row(b, row_line, err)))
        return e;
    if (t->rows > SIZE_MAX / (t->cols + t->n_text + 1) - 1)
        return fail(err, CSV_ETOOBIG, row_line, 1, "too many values to hold in memory");
    field f;
    do {
        if ((e = next_field(lx, &f, err)))
            return k < t->n_fields ? at_field(b, k, err) : e;
        if (k >= t->n_fields) { /* count the rest of the line for the message */
            size_t line = f.line, col = f.col, found = k + 1;
            while (f.end == END_DELIM) {
                if ((e = next_field(lx, &f, err)))
                    return e;
                found++;
            }
            return fail(err, CSV_EFIELDS, line, col, "expected %zu fields (as on line %zu), found %zu", t->n_fields,
                        first_line, found);
        }
        if ((e = take_field(b, k, &f, err)))
            return e;
        k++;
    } while (f.end == END_DELIM);
    if (k < t->n_fields) {
        size_t end_col = f.col + f.len + (f.quoted ? 2 : 0);
        return fail(err, CSV_EFIELDS, row_line, end_col, "expected %zu fields (as on line %zu), found %zu",
                    t->n_fields, first_line, k);
    }
    end_row(b);
    return CSV_OK;
}

/* The first row: a header, or the first data row. */
static csv_errcode first_row_in(lexer *lx, builder *b, size_t *first_line, csv_error *err)
{
    csv_table *t = b->t;
    first_row r = {0};
    csv_errcode e = read_first_row(lx, &r, err);
    if (!e) {
        const csv_header_mode h = b->opt->header;
        t->n_fields = r.n;
        int numeric = 1;
        if (h == CSV_HEADER_AUTO)
            e = looks_numeric(&r, b->opt, b->delim, &numeric, err);
        t->has_header = h == CSV_HEADER_YES || !numeric; /* (numeric stays 1 unless AUTO) */
        if (!e)
            e = plan_columns(b, &r, t->has_header, err);
    }
    if (!e && !t->has_header) {
        e = start_row(b, r.line, err);
        for (size_t i = 0; !e && i < r.n; i++) {
            field f = {.text = r.text[i], .len = r.len[i], .line = r.line, .col = r.col[i], .quoted = r.quoted[i]};
            e = take_field(b, i, &f, err);
        }
        if (!e)
            end_row(b);
    }
    *first_line = r.line;
    first_row_free(&r);
    return e;
}

static csv_errcode parse(lexer *lx, builder *b, csv_error *err)
{
    csv_table *t = b->t;
    if (lx->len >= 3 && memcmp(lx->buf, "\xEF\xBB\xBF", 3) == 0)
        lx->pos = lx->line_start = 3;
    if (!b->opt->delim) {
        lx->delim = detect_delim(lx);
        t->delim_detected = 1;
    }
    t->delim = b->delim = lx->delim;

    int rest_blank = 0;
    /* leading blank lines are as good as an empty file only when nothing follows */
    if (blank_line(lx, &rest_blank)) {
        if (rest_blank)
            return fail(err, CSV_EEMPTY, 1, 1, "empty file: no header and no data");
        return fail(err, CSV_EBLANK, lx->line, 1, "empty line before the first row");
    }
    size_t first_line;
    csv_errcode e = first_row_in(lx, b, &first_line, err);
    while (!e && lx->pos < lx->len) {
        if (blank_line(lx, &rest_blank)) {
            if (rest_blank)
                break;
            return fail(err, CSV_EBLANK, lx->line, 1, "empty line in the middle of the data");
        }
        e = read_row(lx, b, first_line, err);
    }
    if (e)
        return e;
    if (t->rows == 0 && t->skipped)
        return fail(err, CSV_EMISSING, lx->line, 1, "no data rows left: all %zu have a missing value", t->skipped);
    if (t->rows == 0)
        return fail(err, CSV_EHEADERONLY, lx->line, 1, "no data rows after the header");
    return CSV_OK;
}

csv_errcode csv_parse(const char *buf, size_t len, const csv_options *opt, csv_table *out, csv_error *err)
{
    static const csv_options defaults = {.header = CSV_HEADER_AUTO, .delim = ','};
    if (!opt)
        opt = &defaults;
    memset(out, 0, sizeof *out);
    memset(err, 0, sizeof *err);
    lexer lx = {.buf = buf ? buf : "", .len = buf ? len : 0, .line = 1, .delim = opt->delim};
    builder b = {.t = out, .opt = opt};
    csv_errcode e = parse(&lx, &b, err);
    free(lx.scratch);
    for (size_t i = 0; b.all_names && i < out->n_fields; i++)
        free(b.all_names[i]);
    free(b.all_names);
    free(b.use);
    free(b.slot);
    free(b.tslot);
    if (e) { /* the texts of a row that was not finished */
        for (size_t i = out->rows * out->n_text; i < (out->rows + 1) * out->n_text && i < b.cap_text; i++)
            free(out->text[i]);
        csv_free(out);
    }
    return e;
}

static void free_strings(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

void csv_free(csv_table *t)
{
    if (!t)
        return;
    free_strings(t->names, t->cols);
    free_strings(t->text_names, t->n_text);
    free_strings(t->text, t->rows * t->n_text);
    free(t->field_of);
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
