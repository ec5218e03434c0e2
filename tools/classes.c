/* classes.c - class labels: building the sorted set from the training
 * labels, finding a label's class, and the "cli.classes" section (see
 * classes.h). */
#include "classes.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "num.h"

void classes_free(classes *c)
{
    if (!c)
        return;
    for (size_t i = 0; c->names && i < c->n; i++)
        free(c->names[i]);
    free(c->names);
    free(c->values);
    free(c->column);
    *c = (classes){0};
}

static int parse_label(const char *s, double *v)
{
    return num_parse(s, strlen(s), v) == NUM_OK ? 0 : -1;
}

/* A label and where it came from, for sorting. */
typedef struct item {
    const char *text;
    double value;
    size_t row;
} item;

static int cmp_text(const void *a, const void *b)
{
    const item *x = a, *y = b;
    int r = strcmp(x->text, y->text);
    return r ? r : (x->row > y->row) - (x->row < y->row);
}

/* by value, then by row: the first of a run of equal values is its first
 * spelling in the data */
static int cmp_value(const void *a, const void *b)
{
    const item *x = a, *y = b;
    if (x->value != y->value)
        return x->value < y->value ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

static int same(const classes *c, const item *a, const item *b)
{
    return c->numeric ? a->value == b->value : strcmp(a->text, b->text) == 0;
}

int classes_build(classes *c, const char *const *labels, size_t m, size_t stride)
{
    *c = (classes){.numeric = 1};
    item *it = malloc((m ? m : 1) * sizeof *it);
    if (!it)
        return -1;
    for (size_t i = 0; i < m; i++) {
        it[i] = (item){.text = labels[i * stride], .row = i};
        if (c->numeric && parse_label(it[i].text, &it[i].value) != 0)
            c->numeric = 0;
    }
    qsort(it, m, sizeof *it, c->numeric ? cmp_value : cmp_text);
    size_t n = 0;
    for (size_t i = 0; i < m; i++)
        n += i == 0 || !same(c, &it[i - 1], &it[i]);
    int rc = n > CLASSES_MAX ? -2 : 0;
    if (rc == 0 && (!(c->names = calloc(n ? n : 1, sizeof *c->names)) ||
                    (c->numeric && !(c->values = malloc((n ? n : 1) * sizeof *c->values)))))
        rc = -1;
    for (size_t i = 0; rc == 0 && i < m; i++) {
        if (i > 0 && same(c, &it[i - 1], &it[i]))
            continue;
        if (!(c->names[c->n] = strdup(it[i].text)))
            rc = -1;
        else if (c->numeric)
            c->values[c->n] = it[i].value;
        c->n++;
    }
    free(it);
    if (rc != 0)
        classes_free(c);
    return rc;
}

long classes_find(const classes *c, const char *label)
{
    double v = 0;
    if (c->numeric && parse_label(label, &v) != 0)
        return -1;
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = c->numeric ? (c->values[mid] > v) - (c->values[mid] < v) : strcmp(c->names[mid], label);
        if (r == 0)
            return (long)mid;
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int classes_encode(const classes *c, unsigned char **buf, size_t *len)
{
    const char *col = c->column ? c->column : "";
    size_t n = 16 + 4 + strlen(col);
    if (strlen(col) == 0 || strlen(col) > 65535)
        return -1;
    for (size_t i = 0; i < c->n; i++) {
        size_t l = strlen(c->names[i]);
        if (l == 0 || l > 65535)
            return -1;
        n += 4 + l;
    }
    unsigned char *b = malloc(n), *p = b + 16;
    if (!b)
        return -1;
    put32(p, (uint32_t)strlen(col));
    memcpy(p + 4, col, strlen(col));
    p += 4 + strlen(col);
    memcpy(b, "MCLS", 4);
    put32(b + 4, CLASSES_VERSION);
    put32(b + 8, c->numeric ? 1u : 0u);
    put32(b + 12, (uint32_t)c->n);
    for (size_t i = 0; i < c->n; i++) {
        size_t l = strlen(c->names[i]);
        put32(p, (uint32_t)l);
        memcpy(p + 4, c->names[i], l);
        p += 4 + l;
    }
    *buf = b;
    *len = n;
    return 0;
}

/* the records after the 16-byte head, checked and copied into c */
static int decode_names(const unsigned char *buf, size_t len, classes *c, const char **why)
{
    size_t off = 16;
    if (len - off < 4 || get32(buf + off) == 0 || get32(buf + off) > 65535 || len - off - 4 < get32(buf + off) ||
        memchr(buf + off + 4, 0, get32(buf + off))) {
        *why = "a bad label column name";
        return -1;
    }
    if (!(c->column = malloc(get32(buf + off) + 1)))
        return -2;
    memcpy(c->column, buf + off + 4, get32(buf + off));
    c->column[get32(buf + off)] = '\0';
    off += 4 + get32(buf + off);
    for (size_t i = 0; i < c->n; i++) {
        if (len - off < 4 || get32(buf + off) == 0 || get32(buf + off) > 65535 ||
            len - off - 4 < get32(buf + off)) {
            *why = "a class name is empty, too long or runs past the end";
            return -1;
        }
        size_t l = get32(buf + off);
        if (memchr(buf + off + 4, 0, l)) {
            *why = "a class name holds a zero byte";
            return -1;
        }
        if (!(c->names[i] = malloc(l + 1)))
            return -2;
        memcpy(c->names[i], buf + off + 4, l);
        c->names[i][l] = '\0';
        off += 4 + l;
        if (c->numeric && parse_label(c->names[i], &c->values[i]) != 0) {
            *why = "a numeric class name is not a number";
            return -1;
        }
        if (i > 0 && (c->numeric ? !(c->values[i - 1] < c->values[i]) : strcmp(c->names[i - 1], c->names[i]) >= 0)) {
            *why = "the class names are not in increasing order";
            return -1;
        }
    }
    if (off != len) {
        *why = "bytes left after the last class";
        return -1;
    }
    return 0;
}

int classes_decode(const unsigned char *buf, size_t len, classes *c, const char **why)
{
    *c = (classes){0};
    *why = "";
    if (len < 16 || memcmp(buf, "MCLS", 4) != 0) {
        *why = "not a class list";
        return -1;
    }
    uint32_t version = get32(buf + 4), flags = get32(buf + 8), n = get32(buf + 12);
    if (version != CLASSES_VERSION || (flags & ~1u) != 0) {
        *why = "an unknown version or flag";
        return -1;
    }
    if (n < 2 || n > CLASSES_MAX || n > (len - 16) / 5) {
        *why = "a class count out of range";
        return -1;
    }
    c->n = n;
    c->numeric = (int)(flags & 1u);
    if (!(c->names = calloc(n, sizeof *c->names)) || (c->numeric && !(c->values = malloc(n * sizeof(double))))) {
        classes_free(c);
        return -2;
    }
    int rc = decode_names(buf, len, c, why);
    if (rc != 0)
        classes_free(c);
    return rc;
}
