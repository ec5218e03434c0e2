/*
 * futil.h - small helpers of the crash-safety tests (tests/fault/): plain C,
 * so that they also work in forked children.  A failed CHECK prints where
 * and exits 1.
 */
#ifndef MLP2_TESTS_FUTIL_H
#define MLP2_TESTS_FUTIL_H

#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mlp2.h>

#define CHECK(c)                                                                                                    \
    do {                                                                                                             \
        if (!(c)) {                                                                                                  \
            fprintf(stderr, "%s:%d: check failed: %s (errno %d: %s)\n", __FILE__, __LINE__, #c, errno,            \
                    strerror(errno));                                                                                \
            exit(1);                                                                                                 \
        }                                                                                                            \
    } while (0)

static inline char *fu_join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    CHECK(p);
    snprintf(p, n, "%s/%s", a, b);
    return p;
}

/* A fresh folder under $TMPDIR (or /tmp). */
static inline char *fu_tmpdir(const char *tag)
{
    const char *base = getenv("TMPDIR");
    char *t = fu_join(base && *base ? base : "/tmp", "mlp2_XXXXXX");
    (void)tag;
    CHECK(mkdtemp(t));
    return t;
}

static inline void fu_rmtree(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return;
    if (S_ISDIR(sb.st_mode)) {
        chmod(path, 0700);
        DIR *d = opendir(path);
        if (d) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                    char *p = fu_join(path, e->d_name);
                    fu_rmtree(p);
                    free(p);
                }
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

static int fu_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The folder's entries, sorted, joined by '|', into out. */
static inline void fu_listing(const char *dir, char *out, size_t cap)
{
    char *names[4096];
    size_t n = 0;
    DIR *d = opendir(dir);
    CHECK(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && n < 4096)
            CHECK((names[n++] = strdup(e->d_name)));
    closedir(d);
    qsort(names, n, sizeof *names, fu_cmp);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (i)
            strncat(out, "|", cap - strlen(out) - 1);
        strncat(out, names[i], cap - strlen(out) - 1);
        free(names[i]);
    }
}

#define CHECK_LISTING(dir, want)                                                                                   \
    do {                                                                                                             \
        char ls_[8192];                                                                                              \
        fu_listing(dir, ls_, sizeof ls_);                                                                            \
        if (strcmp(ls_, want) != 0) {                                                                                \
            fprintf(stderr, "%s:%d: folder holds \"%s\", expected \"%s\"\n", __FILE__, __LINE__, ls_, want);       \
            exit(1);                                                                                                 \
        }                                                                                                            \
    } while (0)

/* Whole file into a malloc'ed buffer (NULL when it cannot be read). */
static inline unsigned char *fu_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    unsigned char *b = malloc(cap);
    CHECK(b);
    size_t got;
    while ((got = fread(b + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            CHECK((b = realloc(b, cap *= 2)));
        }
    }
    fclose(f);
    *len = n;
    return b;
}

static inline void fu_write(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    CHECK(f);
    CHECK(fwrite(p, 1, n, f) == n);
    CHECK(fclose(f) == 0);
}

/* A model whose parameters are all distinct, not round, and depend on seed. */
static inline mlp2 *fu_model(size_t ni, size_t nh, size_t no, uint64_t seed)
{
    mlp2 *net;
    CHECK(mlp2_create(&net, ni, nh, no, seed) == MLP2_OK);
    size_t np = mlp2_n_params(net);
    double *th = malloc(np * sizeof *th);
    CHECK(th);
    uint64_t s = seed * 0x9E3779B97F4A7C15u + 1;
    for (size_t i = 0; i < np; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        th[i] = ((double)(s >> 11) / 9007199254740992.0 - 0.5) * 7.385;
    }
    CHECK(mlp2_set_params(net, th) == MLP2_OK);
    free(th);
    CHECK(mlp2_section_set(net, "note", "saved by a test", 15) == MLP2_OK);
    return net;
}

/* The file at path loads and has exactly net's parameters (bit for bit). */
static inline bool fu_holds(const char *path, const mlp2 *net)
{
    mlp2 *back = NULL;
    if (mlp2_load(&back, path) != MLP2_OK)
        return false;
    size_t np = mlp2_n_params(net);
    bool same = mlp2_n_params(back) == np && mlp2_n_in(back) == mlp2_n_in(net);
    if (same) {
        double *a = malloc(np * sizeof *a), *b = malloc(np * sizeof *b);
        CHECK(a && b);
        mlp2_get_params(net, a);
        mlp2_get_params(back, b);
        same = memcmp(a, b, np * sizeof *a) == 0;
        free(a);
        free(b);
    }
    mlp2_free(back);
    return same;
}

#endif
