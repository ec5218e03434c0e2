/*
 * json-check - a strict JSON parser (RFC 8259) used by the benchmark's smoke
 * test: it parses a file mlp2-bench wrote with --json and checks what tools
 * rely on: a top-level object with "threads" and a non-empty "cells" array,
 * whose every cell has "shape", "batch" and "ops", and whose every op has a
 * positive "median_ns", "min_ns" <= "median_ns" and "ns_per_sample".
 *
 * Usage: json-check FILE [OP ...]   (each OP must be present in every cell)
 * Exit status 0 when the file parses and passes, 1 otherwise.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } jtype;

typedef struct jnode {
    jtype type;
    double num;
    char *str;          /* J_STR value */
    char *key;          /* member name inside an object */
    struct jnode *kids; /* first child (array element or object member) */
    struct jnode *next; /* next sibling */
} jnode;

typedef struct {
    const char *p, *end;
    const char *err;
    int depth;
} parser;

static void jfree(jnode *n)
{
    while (n) {
        jnode *nx = n->next;
        jfree(n->kids);
        free(n->str);
        free(n->key);
        free(n);
        n = nx;
    }
}

static void skip_ws(parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static jnode *fail(parser *ps, const char *msg)
{
    if (!ps->err)
        ps->err = msg;
    return NULL;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* A string at ps->p (on the opening quote); returns a malloc'd copy with
 * escapes kept as '?' except the simple ones (enough for checking). */
static char *parse_string(parser *ps)
{
    ps->p++;
    const char *s = ps->p;
    size_t len = 0;
    while (ps->p < ps->end && *ps->p != '"') {
        const unsigned char ch = (unsigned char)*ps->p;
        if (ch < 0x20) {
            fail(ps, "control character in string");
            return NULL;
        }
        if (ch == '\\') {
            ps->p++;
            if (ps->p >= ps->end || !strchr("\"\\/bfnrtu", *ps->p)) {
                fail(ps, "bad escape");
                return NULL;
            }
            if (*ps->p == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (ps->p + i >= ps->end || hexval(ps->p[i]) < 0) {
                        fail(ps, "bad \\u escape");
                        return NULL;
                    }
                ps->p += 4;
            }
        }
        ps->p++;
        len++;
    }
    if (ps->p >= ps->end) {
        fail(ps, "unterminated string");
        return NULL;
    }
    char *out = malloc(len + 1), *o = out;
    if (!out) {
        fail(ps, "out of memory");
        return NULL;
    }
    for (const char *q = s; q < ps->p; q++) {
        if (*q == '\\') {
            q++;
            *o++ = *q == 'u' ? '?' : *q == 'n' ? '\n' : *q == 't' ? '\t' : *q;
            if (*q == 'u')
                q += 4;
        } else {
            *o++ = *q;
        }
    }
    *o = '\0';
    ps->p++; /* closing quote */
    return out;
}

static bool parse_number(parser *ps, double *v)
{
    const char *s = ps->p;
    if (ps->p < ps->end && *ps->p == '-')
        ps->p++;
    if (ps->p >= ps->end || !(*ps->p >= '0' && *ps->p <= '9'))
        return false;
    if (*ps->p == '0')
        ps->p++;
    else
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
            ps->p++;
    if (ps->p < ps->end && *ps->p == '.') {
        ps->p++;
        if (ps->p >= ps->end || !(*ps->p >= '0' && *ps->p <= '9'))
            return false;
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
            ps->p++;
    }
    if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
        ps->p++;
        if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
            ps->p++;
        if (ps->p >= ps->end || !(*ps->p >= '0' && *ps->p <= '9'))
            return false;
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
            ps->p++;
    }
    char buf[64];
    const size_t len = (size_t)(ps->p - s);
    if (len >= sizeof buf)
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    *v = strtod(buf, NULL);
    return true;
}

static bool literal(parser *ps, const char *word)
{
    const size_t len = strlen(word);
    if ((size_t)(ps->end - ps->p) < len || strncmp(ps->p, word, len) != 0)
        return false;
    ps->p += len;
    return true;
}

static jnode *parse_value(parser *ps)
{
    skip_ws(ps);
    if (ps->p >= ps->end)
        return fail(ps, "unexpected end of input");
    if (++ps->depth > 64)
        return fail(ps, "nested too deeply");
    jnode *n = calloc(1, sizeof *n);
    if (!n)
        return fail(ps, "out of memory");
    const char c = *ps->p;
    if (c == '{' || c == '[') {
        const bool obj = c == '{';
        n->type = obj ? J_OBJ : J_ARR;
        ps->p++;
        skip_ws(ps);
        jnode **tail = &n->kids;
        if (ps->p < ps->end && *ps->p == (obj ? '}' : ']')) {
            ps->p++;
        } else {
            for (;;) {
                char *key = NULL;
                if (obj) {
                    skip_ws(ps);
                    if (ps->p >= ps->end || *ps->p != '"') {
                        jfree(n);
                        return fail(ps, "expected a member name");
                    }
                    if (!(key = parse_string(ps))) {
                        jfree(n);
                        return NULL;
                    }
                    skip_ws(ps);
                    if (ps->p >= ps->end || *ps->p != ':') {
                        free(key);
                        jfree(n);
                        return fail(ps, "expected ':'");
                    }
                    ps->p++;
                }
                jnode *kid = parse_value(ps);
                if (!kid) {
                    free(key);
                    jfree(n);
                    return NULL;
                }
                kid->key = key;
                *tail = kid;
                tail = &kid->next;
                skip_ws(ps);
                if (ps->p < ps->end && *ps->p == ',') {
                    ps->p++;
                    continue;
                }
                if (ps->p < ps->end && *ps->p == (obj ? '}' : ']')) {
                    ps->p++;
                    break;
                }
                jfree(n);
                return fail(ps, obj ? "expected ',' or '}'" : "expected ',' or ']'");
            }
        }
    } else if (c == '"') {
        n->type = J_STR;
        if (!(n->str = parse_string(ps))) {
            jfree(n);
            return NULL;
        }
    } else if (literal(ps, "true") || literal(ps, "false")) {
        n->type = J_BOOL;
    } else if (literal(ps, "null")) {
        n->type = J_NULL;
    } else {
        n->type = J_NUM;
        if (!parse_number(ps, &n->num)) {
            jfree(n);
            return fail(ps, "bad value");
        }
    }
    ps->depth--;
    return n;
}

static const jnode *member(const jnode *obj, const char *key)
{
    if (!obj || obj->type != J_OBJ)
        return NULL;
    for (const jnode *k = obj->kids; k; k = k->next)
        if (strcmp(k->key, key) == 0)
            return k;
    return NULL;
}

static bool positive(const jnode *n)
{
    return n && n->type == J_NUM && isfinite(n->num) && n->num > 0;
}

static int check(const jnode *root, int n_ops, char **ops)
{
    const jnode *cells = member(root, "cells");
    if (!positive(member(root, "threads")) || !cells || cells->type != J_ARR || !cells->kids) {
        fprintf(stderr, "json-check: no \"threads\" or empty \"cells\"\n");
        return 1;
    }
    int n = 0;
    for (const jnode *c = cells->kids; c; c = c->next, n++) {
        const jnode *sh = member(c, "shape"), *ops_n = member(c, "ops");
        if (!sh || sh->type != J_STR || !positive(member(c, "batch")) || !ops_n ||
            ops_n->type != J_OBJ || !ops_n->kids) {
            fprintf(stderr, "json-check: cell %d lacks shape, batch or ops\n", n);
            return 1;
        }
        for (const jnode *op = ops_n->kids; op; op = op->next) {
            const jnode *med = member(op, "median_ns"), *mn = member(op, "min_ns");
            if (!positive(med) || !positive(mn) || mn->num > med->num ||
                !positive(member(op, "ns_per_sample"))) {
                fprintf(stderr, "json-check: cell %d op %s: bad timings\n", n, op->key);
                return 1;
            }
        }
        for (int i = 0; i < n_ops; i++)
            if (!member(ops_n, ops[i])) {
                fprintf(stderr, "json-check: cell %d has no op %s\n", n, ops[i]);
                return 1;
            }
    }
    printf("json-check: %d cells ok\n", n);
    return 0;
}

/* Read and parse the JSON document in path ("-": stdin).  On success the
 * tree, with *buf the text it was read from (free both); NULL after a
 * message on stderr, prefixed with prog. */
static jnode *load_json(const char *prog, const char *path, char **buf)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    *buf = NULL;
    if (!f) {
        perror(path);
        return NULL;
    }
    size_t cap = 1 << 16, len = 0, got;
    char *b = malloc(cap);
    while (b && (got = fread(b + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            char *nb = realloc(b, cap *= 2);
            if (!nb)
                free(b);
            b = nb;
        }
    }
    const bool read_err = ferror(f) != 0;
    if (f != stdin)
        fclose(f);
    if (!b || read_err) {
        fprintf(stderr, "%s: cannot read %s\n", prog, path);
        free(b);
        return NULL;
    }
    parser ps = {.p = b, .end = b + len};
    jnode *root = parse_value(&ps);
    skip_ws(&ps);
    if (root && ps.p != ps.end)
        ps.err = "trailing characters";
    if (!root || ps.err) {
        fprintf(stderr, "%s: %s: %s at byte %zu\n", prog, path, ps.err ? ps.err : "parse error",
                (size_t)(ps.p - b));
        jfree(root);
        free(b);
        return NULL;
    }
    *buf = b;
    return root;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: json-check FILE [OP ...]\n");
        return 2;
    }
    char *buf;
    jnode *root = load_json("json-check", argv[1], &buf);
    if (!root)
        return 1;
    const int rc = check(root, argc - 2, argv + 2);
    jfree(root);
    free(buf);
    return rc;
}
