/* mpi_read.c - mlp2-mpi's CSV reading: every process reads and parses only
 * its own byte range of the file (see mpi_read.h).
 *
 * How the file is cut.  Process r of P is given the nominal range
 * [a_r, a_{r+1}) with a_r = floor(size * r / P).  It counts the quote
 * characters in that range; an exclusive prefix sum (MPI_Exscan) gives the
 * number of quotes before a_r, whose parity says whether a_r is inside a
 * quoted field (RFC 4180: "" inside quotes counts twice).  The process's
 * rows are those that start in [s_r, s_{r+1}), s_r being the first line
 * start at or after a_r whose line end is outside quotes.  So a quoted
 * field holding a line end is never cut.  If quotes are used in a way that
 * defeats the count (a stray quote inside an unquoted field), a cut can
 * fall inside a quoted field: then the process before it ends inside an
 * open quote and its parse fails with "unterminated quoted field" (the
 * error names the cut), never a misread.
 *
 * The header (the first record, when the first records say there is one)
 * is read by every process and put in front of its range, so every process
 * parses with the same columns; line numbers are mapped back to the file's
 * with an exclusive prefix sum of the line ends of the ranges. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "mpi_read.h"

enum { BLOCK = 1 << 16 };

void split_csv_free(split_csv *s)
{
    csv_free(&s->probe);
    csv_free(&s->local);
}

int mpi_agree(MPI_Comm comm, int rc, int *who)
{
    int p = 1;
    MPI_Comm_size(comm, &p);
    int *all = malloc((size_t)p * sizeof *all);
    int out = EXIT_OK, w = -1;
    if (!all) { /* cannot list them: the largest code, from whoever had it */
        MPI_Allreduce(&rc, &out, 1, MPI_INT, MPI_MAX, comm);
        if (who)
            *who = -1;
        return out;
    }
    MPI_Allgather(&rc, 1, MPI_INT, all, 1, MPI_INT, comm);
    for (int i = 0; i < p && w < 0; i++)
        if (all[i] != EXIT_OK) {
            out = all[i];
            w = i;
        }
    free(all);
    if (who)
        *who = w;
    return out;
}

/* Read [off, off + n) of fd into buf; 0 or -1 (errno set). */
static int read_at(int fd, char *buf, size_t n, uint64_t off)
{
    while (n > 0) {
        ssize_t k = pread(fd, buf, n, (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            if (k == 0)
                errno = EIO; /* the file shrank */
            return -1;
        }
        buf += k;
        n -= (size_t)k;
        off += (uint64_t)k;
    }
    return 0;
}

/* The first position p >= from (p > 0) where byte p-1 is a line feed
 * outside quotes, given the parity q of the quotes before from - 1; size
 * when there is none.  from >= 1. */
static int next_cut(int fd, uint64_t size, uint64_t from, unsigned q, uint64_t *cut)
{
    char buf[BLOCK];
    uint64_t pos = from - 1;
    while (pos < size) {
        size_t n = size - pos < BLOCK ? (size_t)(size - pos) : BLOCK;
        if (read_at(fd, buf, n, pos))
            return -1;
        for (size_t i = 0; i < n; i++) {
            if (buf[i] == '\n' && !(q & 1)) {
                *cut = pos + i + 1;
                return 0;
            }
            q += buf[i] == '"';
        }
        pos += n;
    }
    *cut = size;
    return 0;
}

/* Quote characters in [lo, hi). */
static int count_quotes(int fd, uint64_t lo, uint64_t hi, uint64_t *q)
{
    char buf[BLOCK];
    *q = 0;
    for (uint64_t pos = lo; pos < hi;) {
        size_t n = hi - pos < BLOCK ? (size_t)(hi - pos) : BLOCK;
        if (read_at(fd, buf, n, pos))
            return -1;
        for (size_t i = 0; i < n; i++)
            *q += buf[i] == '"';
        pos += n;
    }
    return 0;
}

/* Line ends as the CSV reader counts them: LF, CRLF, lone CR. */
static size_t count_lines(const char *b, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += b[i] == '\n' || (b[i] == '\r' && (i + 1 == n || b[i + 1] != '\n'));
    return k;
}

typedef struct col_ctx {
    const data_opts *d;
} col_ctx;

static csv_col_use column_use(void *ctx, size_t index, const char *name, int has_header)
{
    (void)has_header;
    const col_ctx *c = ctx;
    return col_list_match(&c->d->ignore, index, name) ? CSV_COL_SKIP : CSV_COL_NUMBER;
}

/* Print a parse error like cli_read_csv, with line + shift. */
static void print_csv_error(FILE *f, const char *path, const csv_error *e, long long shift, const char *extra)
{
    csv_errcode c = e->code;
    int whole = c == CSV_EEMPTY || c == CSV_EHEADERONLY || c == CSV_ENOMEM || (c == CSV_EMISSING && !e->field);
    long long line = (long long)e->line + shift;
    if (e->line && e->field && e->name[0])
        fprintf(f, "%s:%lld: column %zu (\"%s\"): %s%s\n", path, line, e->field, e->name, e->msg, extra);
    else if (e->line && e->field)
        fprintf(f, "%s:%lld: column %zu: %s%s\n", path, line, e->field, e->msg, extra);
    else if (e->line && !whole)
        fprintf(f, "%s:%lld: %s%s\n", path, line, e->msg, extra);
    else
        fprintf(f, "%s: %s%s\n", path, e->msg, extra);
    fflush(f);
}

/* The first records of the file (2, 4, 8, ... until they hold a data row),
 * parsed with the user's options: header, separator and columns.  *hdr_len
 * gets the length of the first record when it is a header, else 0. */
static int probe(int fd, uint64_t size, const csv_options *opt, const char *path, csv_table *t,
                 size_t *hdr_len)
{
    for (size_t k = 2;; k *= 2) {
        uint64_t end = 0, first = 0;
        for (size_t i = 0; i < k && end < size; i++) {
            /* quotes before end: records end outside quotes, so even */
            if (next_cut(fd, size, end + 1, 0, &end))
                goto io_error;
            if (i == 0)
                first = end;
        }
        char *buf = malloc(end ? (size_t)end : 1);
        if (!buf) {
            cli_error("out of memory");
            return EXIT_TRAIN;
        }
        if (read_at(fd, buf, (size_t)end, 0)) {
            free(buf);
            goto io_error;
        }
        csv_error err;
        csv_errcode e = csv_parse(buf, (size_t)end, opt, t, &err);
        free(buf);
        /* every row so far dropped (--missing skip), or nothing but blank
         * lines so far (which may be rows of empty fields once a later line
         * shows tab as the separator, as for mlp2): read more */
        if (((e == CSV_EMISSING && !err.field) || e == CSV_EEMPTY) && end < size)
            continue;
        if (e != CSV_OK) {
            print_csv_error(stderr, path, &err, 0, "");
            return EXIT_DATA;
        }
        *hdr_len = t->has_header ? (size_t)first : 0;
        return EXIT_OK;
    }
io_error:
    cli_error("%s: cannot read: %s", path, strerror(errno));
    return EXIT_IO;
}

/* The cut points: cuts[r] for r = 0..P, cuts[P] = size. */
static int find_cuts(MPI_Comm comm, int fd, uint64_t size, uint64_t data0, uint64_t *cuts, int *io_err)
{
    int r = 0, p = 1;
    MPI_Comm_rank(comm, &r);
    MPI_Comm_size(comm, &p);
    uint64_t a = size / (uint64_t)p * (uint64_t)r + size % (uint64_t)p * (uint64_t)r / (uint64_t)p;
    uint64_t b = size / (uint64_t)p * (uint64_t)(r + 1) + size % (uint64_t)p * (uint64_t)(r + 1) / (uint64_t)p;
    uint64_t q = 0, before = 0, cut = 0;
    *io_err = count_quotes(fd, a, b, &q) ? errno : 0;
    MPI_Exscan(&q, &before, 1, MPI_UINT64_T, MPI_SUM, comm);
    if (r == 0)
        before = 0;
    if (!*io_err && r > 0) {
        /* parity before a - 1: remove byte a - 1 if it is a quote */
        char c = 0;
        if (read_at(fd, &c, 1, a - 1) || next_cut(fd, size, a, (unsigned)((before - (c == '"')) & 1), &cut))
            *io_err = errno ? errno : EIO;
    }
    if (cut < data0)
        cut = data0;
    MPI_Allgather(&cut, 1, MPI_UINT64_T, cuts, 1, MPI_UINT64_T, comm);
    cuts[0] = data0;
    cuts[p] = size;
    for (int i = 1; i <= p; i++) /* each cut is at or after its nominal point, so ordered; keep it so */
        if (cuts[i] < cuts[i - 1])
            cuts[i] = cuts[i - 1];
    return *io_err ? EXIT_IO : EXIT_OK;
}

/* Is c blank for the end of a chunk (what the CSV reader skips in blank
 * lines)?  Not the separator: with tabs, a trailing tab ends a field ("1\t"
 * is 1 and an empty field), as in the reader (csv.c, is_pad). */
static int is_space(char c, char delim)
{
    return c == '\r' || c == '\n' || ((c == ' ' || c == '\t') && c != delim);
}

typedef struct chunk {
    char *buf;           /* header, the range without its trailing blank lines, then a row of zeros */
    size_t len;
    size_t hdr_lines;    /* line ends in the header */
    size_t blank_line;   /* global line of the first blank line at the range's end; 0: none */
    int content;         /* the range holds something other than blanks */
} chunk;

/* Build this process's buffer: the header, the range [lo, hi) of the file
 * without its trailing blank lines, and a row of zeros that makes the
 * parse succeed with the right column layout even when the range holds no
 * row (it is dropped after the parse).  *lines gets the line ends of the
 * range. */
static int make_chunk(int fd, const csv_table *pt, size_t hdr_len, uint64_t lo, uint64_t hi, chunk *c,
                      size_t *lines)
{
    size_t n = (size_t)(hi - lo), zeros = 2 * pt->n_fields + 2;
    c->buf = malloc(hdr_len + n + zeros + 1);
    if (!c->buf)
        return EXIT_TRAIN;
    if (read_at(fd, c->buf, hdr_len, 0) || read_at(fd, c->buf + hdr_len, n, lo))
        return EXIT_IO;
    c->hdr_lines = count_lines(c->buf, hdr_len);
    char *r = c->buf + hdr_len;
    *lines = count_lines(r, n);
    size_t keep = n;
    while (keep > 0 && is_space(r[keep - 1], pt->delim))
        keep--;
    c->content = keep > 0;
    size_t kept_lines = count_lines(r, keep), tail_lines = *lines - kept_lines;
    /* with content, the first line end of the tail ends its last row */
    c->blank_line = tail_lines > (size_t)c->content ? kept_lines + (size_t)c->content + 1 : 0;
    size_t len = hdr_len + keep;
    if (keep > 0)
        c->buf[len++] = '\n';
    for (size_t i = 0; i < pt->n_fields; i++) {
        c->buf[len++] = '0';
        if (i + 1 < pt->n_fields)
            c->buf[len++] = pt->delim;
    }
    c->buf[len++] = '\n';
    c->len = len;
    return EXIT_OK;
}

/* Parse this process's chunk; the row of zeros is dropped. */
static int parse_chunk(const chunk *c, const csv_options *opt, const char *path, long long shift, int more_after,
                       csv_table *t, FILE *err_out)
{
    csv_error err;
    csv_errcode e = csv_parse(c->buf, c->len, opt, t, &err);
    if (e != CSV_OK) {
        /* a cut inside a quoted field shows as an open quote at the end */
        const char *hint = e == CSV_EQUOTE && more_after
                               ? " (mlp2-mpi cuts the file at line ends outside quotes, counting quote characters;"
                                 " a quote inside an unquoted field defeats that count)"
                               : "";
        print_csv_error(err_out, path, &err, shift, hint);
        return e == CSV_ENOMEM ? EXIT_TRAIN : EXIT_DATA;
    }
    t->rows--; /* the row of zeros */
    for (size_t i = 0; i < t->rows; i++)
        t->line_of[i] = (size_t)((long long)t->line_of[i] + shift);
    return EXIT_OK;
}

/* After every process parsed: the blank-line check across cuts, and the
 * global row counts. */
static int combine(MPI_Comm comm, const chunk *c, const char *path, split_csv *out)
{
    int r = 0, p = 1;
    MPI_Comm_rank(comm, &r);
    MPI_Comm_size(comm, &p);
    unsigned long long mine[2] = {c->blank_line, (unsigned long long)c->content};
    unsigned long long *all = malloc((size_t)p * 2 * sizeof *all);
    int rc = all ? EXIT_OK : EXIT_TRAIN;
    if ((rc = mpi_agree(comm, rc, NULL)))
        return rc;
    MPI_Allgather(mine, 2, MPI_UNSIGNED_LONG_LONG, all, 2, MPI_UNSIGNED_LONG_LONG, comm);
    /* a blank line at the end of one range with data in a later one: in the middle */
    for (int i = 0; i < p && rc == EXIT_OK; i++)
        for (int j = i + 1; all[2 * i] && j < p && rc == EXIT_OK; j++)
            if (all[2 * j + 1]) {
                if (r == 0)
                    fprintf(stderr, "%s:%llu: empty line in the middle of the data\n", path, all[2 * i]);
                rc = EXIT_DATA;
            }
    free(all);
    if (rc)
        return rc;
    unsigned long long v[2] = {out->local.rows, out->local.skipped}, g[2], before = 0;
    MPI_Allreduce(v, g, 2, MPI_UNSIGNED_LONG_LONG, MPI_SUM, comm);
    MPI_Exscan(v, &before, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM, comm);
    out->row0 = r == 0 ? 0 : (size_t)before;
    out->rows = (size_t)g[0];
    out->skipped = (size_t)g[1];
    if (out->rows == 0) {
        if (r == 0)
            fprintf(stderr, "%s: %s\n", path,
                    out->skipped ? "no data rows left: every row has a missing value" : "no data rows after the header");
        return EXIT_DATA;
    }
    return EXIT_OK;
}

int mpi_read_csv(MPI_Comm comm, const data_opts *d, const char *path, split_csv *out, FILE *err_out)
{
    int r = 0, p = 1, rc = EXIT_OK, io = 0;
    MPI_Comm_rank(comm, &r);
    MPI_Comm_size(comm, &p);
    memset(out, 0, sizeof *out);
    col_ctx cc = {.d = d};
    csv_options opt = {.header = d->header, .delim = d->delim, .missing = d->missing, .column_use = column_use,
                       .ctx = &cc};
    struct stat sb;
    int fd = open(path, O_RDONLY);
    if (fd < 0 || fstat(fd, &sb) != 0) {
        cli_error("%s: cannot open: %s", path, strerror(errno));
        rc = EXIT_IO;
    }
    uint64_t size = rc ? 0 : (uint64_t)sb.st_size;
    size_t hdr_len = 0;
    if (!rc && (rc = probe(fd, size, &opt, path, &out->probe, &hdr_len)) == EXIT_OK)
        rc = col_list_check(&d->ignore, "ignore", path, out->probe.n_fields);
    uint64_t *cuts = malloc(((size_t)p + 1) * sizeof *cuts);
    if (!rc && !cuts)
        rc = EXIT_TRAIN;
    if ((rc = mpi_agree(comm, rc, NULL)))
        goto done;
    rc = find_cuts(comm, fd, size, hdr_len, cuts, &io);
    if (rc)
        fprintf(err_out, "mlp2: %s: cannot read: %s\n", path, strerror(io));
    if ((rc = mpi_agree(comm, rc, NULL)))
        goto done;
    chunk c = {0};
    size_t lines = 0;
    rc = make_chunk(fd, &out->probe, hdr_len, cuts[r], cuts[r + 1], &c, &lines);
    if (rc)
        fprintf(err_out, "mlp2: %s: %s\n", path, rc == EXIT_IO ? strerror(errno) : "out of memory");
    unsigned long long mine = lines, before = 0;
    MPI_Exscan(&mine, &before, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM, comm);
    if (r == 0)
        before = 0;
    /* buffer line L is file line L - hdr_lines + (line ends before the
     * range: the header's and the earlier ranges') */
    long long shift = (long long)before;
    if (c.blank_line)
        c.blank_line += c.hdr_lines + (size_t)before;
    if (!rc) {
        opt.header = out->probe.has_header ? CSV_HEADER_YES : CSV_HEADER_NO;
        opt.delim = out->probe.delim;
        rc = parse_chunk(&c, &opt, path, shift, r + 1 < p && cuts[r + 1] < size, &out->local, err_out);
    }
    if (!(rc = mpi_agree(comm, rc, NULL)))
        rc = combine(comm, &c, path, out);
    free(c.buf);
done:
    free(cuts);
    if (fd >= 0)
        close(fd);
    if (rc)
        split_csv_free(out);
    return rc;
}
