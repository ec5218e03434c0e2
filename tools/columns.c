/* columns.c - the "cli.columns" model section (layout in columns.h). */
#include "columns.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int columns_alloc(columns *c, size_t n_in, size_t n_out)
{
    memset(c, 0, sizeof *c);
    size_t n = n_in + n_out;
    c->n_in = n_in;
    c->n_out = n_out;
    c->src = calloc(n, sizeof *c->src);
    c->mean = calloc(n, sizeof *c->mean);
    c->scale = calloc(n, sizeof *c->scale);
    c->names = calloc(n, sizeof *c->names);
    if (!c->src || !c->mean || !c->scale || !c->names) {
        columns_free(c);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        c->scale[i] = 1.0;
    return 0;
}

void columns_free(columns *c)
{
    if (!c)
        return;
    if (c->names)
        for (size_t i = 0; i < c->n_in + c->n_out; i++)
            free(c->names[i]);
    free(c->names);
    free(c->src);
    free(c->mean);
    free(c->scale);
    memset(c, 0, sizeof *c);
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

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static double get_f64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    double d;
    memcpy(&d, &v, sizeof d);
    return d;
}

enum { HEAD = 24, REC_FIXED = 4 + 8 + 8 + 4, NAME_MAX_LEN = 65535 };

int columns_encode(const columns *c, unsigned char **buf, size_t *len)
{
    size_t n = c->n_in + c->n_out, total = HEAD;
    if (c->n_in > UINT32_MAX || c->n_out > UINT32_MAX || c->n_src > UINT32_MAX)
        return -1;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(c->names[i]);
        if (l < 1 || l > NAME_MAX_LEN || c->src[i] > UINT32_MAX)
            return -1;
        total += REC_FIXED + l;
    }
    unsigned char *p = malloc(total);
    if (!p)
        return -1;
    memcpy(p, "MCOL", 4);
    put_u32(p + 4, COLUMNS_VERSION);
    put_u32(p + 8, c->flags);
    put_u32(p + 12, (uint32_t)c->n_in);
    put_u32(p + 16, (uint32_t)c->n_out);
    put_u32(p + 20, (uint32_t)c->n_src);
    size_t at = HEAD;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(c->names[i]);
        put_u32(p + at, (uint32_t)c->src[i]);
        put_f64(p + at + 4, c->mean[i]);
        put_f64(p + at + 12, c->scale[i]);
        put_u32(p + at + 20, (uint32_t)l);
        memcpy(p + at + REC_FIXED, c->names[i], l);
        at += REC_FIXED + l;
    }
    *buf = p;
    *len = total;
    return 0;
}

static int bad(const char **why, const char *reason)
{
    *why = reason;
    return -1;
}

int columns_decode(const unsigned char *buf, size_t len, columns *c, const char **why)
{
    memset(c, 0, sizeof *c);
    if (len < HEAD || memcmp(buf, "MCOL", 4) != 0)
        return bad(why, "not a column section");
    if (get_u32(buf + 4) != COLUMNS_VERSION)
        return bad(why, "unknown column section version");
    uint32_t flags = get_u32(buf + 8);
    if (flags & ~(COLUMNS_STANDARDISED | COLUMNS_HEADER))
        return bad(why, "unknown flags in the column section");
    size_t n_in = get_u32(buf + 12), n_out = get_u32(buf + 16), n_src = get_u32(buf + 20);
    size_t n = n_in + n_out;
    /* each record takes at least REC_FIXED + 1 bytes: bound n before allocating */
    if (n_in == 0 || n_out == 0 || n > (len - HEAD) / (REC_FIXED + 1) || n > n_src)
        return bad(why, "bad column counts");
    if (columns_alloc(c, n_in, n_out) != 0)
        return -2;
    c->flags = flags;
    c->n_src = n_src;
    size_t at = HEAD;
    for (size_t i = 0; i < n; i++) {
        if (len - at < REC_FIXED)
            goto malformed;
        size_t src = get_u32(buf + at), l = get_u32(buf + at + 20);
        double mean = get_f64(buf + at + 4), scale = get_f64(buf + at + 12);
        if (src >= n_src || !isfinite(mean) || !isfinite(scale) || !(scale > 0) || l < 1 || l > len - at - REC_FIXED)
            goto malformed;
        for (size_t j = 0; j < i; j++)
            if (c->src[j] == src)
                goto malformed;
        c->names[i] = malloc(l + 1);
        if (!c->names[i]) {
            columns_free(c);
            return -2;
        }
        memcpy(c->names[i], buf + at + REC_FIXED, l);
        c->names[i][l] = '\0';
        if (strlen(c->names[i]) != l)
            goto malformed;
        c->src[i] = src;
        c->mean[i] = mean;
        c->scale[i] = scale;
        at += REC_FIXED + l;
    }
    if (at != len)
        goto malformed;
    return 0;
malformed:
    columns_free(c);
    return bad(why, "malformed column section");
}
