/* test_io.c - the model file (docs/FORMAT.md): bit-exact round trips, the
 * bytes on disk against an encoder written here from the document, every
 * byte flip and truncation rejected, crafted sizes, and saves that fail
 * cleanly.  White-box only for mlp2__crc32c. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "bytes.h"
#include "testutil.h"

/* ---- helpers ------------------------------------------------------------ */

static char sentinel_obj;
#define SENTINEL ((mlp2 *)(void *)&sentinel_obj)

static void fix_crc(unsigned char *b, size_t len)
{
    wr32(b + len - 4, ref_crc32c(b, len - 4));
}

/* An encoder written from docs/FORMAT.md alone. */
typedef struct {
    const char *name;
    size_t name_len;
    const void *data;
    size_t len;
} tsec;

typedef struct {
    uint64_t n_in, n_hidden, n_out, n_params; /* as written in the header */
    const double *theta;
    size_t n_theta; /* doubles actually written */
    const tsec *sec;
    size_t n_sec;
} tfile;

#define HDR 80 /* the header size of version 2 */

/* version 1 (no kinds, 72-byte header) or 2 (the kinds at 72 and 76) */
static unsigned char *tenc_v(const tfile *f, uint32_t version, uint32_t hidden, uint32_t head, size_t *len)
{
    const uint32_t hs = version == 1 ? 72 : HDR;
    size_t n = hs + 8 * f->n_theta + 4;
    for (size_t i = 0; i < f->n_sec; i++)
        n += 4 + f->sec[i].name_len + 8 + f->sec[i].len;
    unsigned char *b = calloc(n, 1), *p = b;
    assert_non_null(b);
    static const unsigned char magic[8] = {0x89, 0x4D, 0x4C, 0x50, 0x32, 0x0D, 0x0A, 0x1A};
    memcpy(p, magic, 8);
    wr32(p + 8, version); /* version */
    wr32(p + 12, hs);     /* header size */
    wr32(p + 16, 0);  /* flags */
    wr32(p + 20, 0);  /* reserved */
    wr64(p + 24, n);
    wr64(p + 32, f->n_in);
    wr64(p + 40, f->n_hidden);
    wr64(p + 48, f->n_out);
    wr64(p + 56, f->n_params);
    wr64(p + 64, f->n_sec);
    if (version == 2) {
        wr32(p + 72, hidden);
        wr32(p + 76, head);
    }
    p += hs;
    for (size_t i = 0; i < f->n_theta; i++, p += 8) {
        uint64_t u;
        memcpy(&u, &f->theta[i], 8);
        wr64(p, u);
    }
    for (size_t i = 0; i < f->n_sec; i++) {
        wr32(p, (uint32_t)f->sec[i].name_len);
        memcpy(p + 4, f->sec[i].name, f->sec[i].name_len);
        p += 4 + f->sec[i].name_len;
        wr64(p, f->sec[i].len);
        p += 8;
        if (f->sec[i].len)
            memcpy(p, f->sec[i].data, f->sec[i].len);
        p += f->sec[i].len;
    }
    fix_crc(b, n);
    *len = n;
    return b;
}

/* the current version, sigmoid hidden units and a linear head */
static unsigned char *tenc(const tfile *f, size_t *len)
{
    return tenc_v(f, 2, 0, 0, len);
}

/* A counting allocator: live blocks and bytes, peak, failure injection. */
typedef struct {
    size_t calls, fail_at, live, live_bytes, peak, biggest;
} tally;

typedef union {
    size_t size;
    max_align_t align;
} thead;

static void *t_alloc(void *ud, size_t n)
{
    tally *t = ud;
    t->calls++;
    if (t->fail_at && t->calls == t->fail_at)
        return NULL;
    if (n > t->biggest)
        t->biggest = n;
    if (n > ((size_t)1 << 32)) /* nothing in these tests needs 4 GiB */
        return NULL;
    thead *h = malloc(sizeof *h + n);
    if (!h)
        return NULL;
    h->size = n;
    t->live++;
    t->live_bytes += n;
    if (t->live_bytes > t->peak)
        t->peak = t->live_bytes;
    return h + 1;
}

static void t_free(void *ud, void *p)
{
    tally *t = ud;
    thead *h = (thead *)p - 1;
    t->live--;
    t->live_bytes -= h->size;
    free(h);
}

static void tally_install(tally *t)
{
    memset(t, 0, sizeof *t);
    assert_int_equal(mlp2_set_allocator(t_alloc, t_free, t), MLP2_OK);
}

static void tally_remove(void)
{
    assert_int_equal(mlp2_set_allocator(NULL, NULL, NULL), MLP2_OK);
}

/* load_buffer must give `want`, leave *out alone and allocate nothing that
 * outlives the call */
static void expect_load_(const unsigned char *b, size_t len, mlp2_status want, const char *file, int line)
{
    tally t;
    tally_install(&t);
    mlp2 *out = SENTINEL;
    mlp2_status st = mlp2_load_buffer(&out, b, len);
    tally_remove();
    if (st != want || out != SENTINEL || t.live != 0 || (len > 0 && t.peak > 3 * len)) {
        print_error("load_buffer(len %zu): got %s, want %s; out %s; %zu blocks leaked; peak %zu bytes\n",
                    len, mlp2_strerror(st), mlp2_strerror(want), out == SENTINEL ? "untouched" : "WRITTEN",
                    t.live, t.peak);
        _fail(file, line);
    }
}
#define expect_load(b, len, want) expect_load_((b), (len), (want), __FILE__, __LINE__)

/* ---- files and folders ---------------------------------------------------- */

static char *path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static char *make_tmpdir(void)
{
    char tmpl[] = "/tmp/mlp2_test_io_XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    char *d = malloc(sizeof tmpl);
    assert_non_null(d);
    memcpy(d, tmpl, sizeof tmpl);
    return d;
}

static void remove_tree(const char *path)
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
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                    continue;
                char *p = path_join(path, e->d_name);
                remove_tree(p);
                free(p);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

/* The folder's entries, sorted and joined by '|' (for exact comparisons). */
static void listing(const char *dir, char *out, size_t cap)
{
    char names[32][256];
    size_t n = 0;
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        assert_true(n < 32);
        snprintf(names[n++], 256, "%s", e->d_name);
    }
    closedir(d);
    for (size_t i = 1; i < n; i++) /* insertion sort */
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char t[256];
            memcpy(t, names[j], 256);
            memcpy(names[j], names[j - 1], 256);
            memcpy(names[j - 1], t, 256);
        }
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (i)
            strncat(out, "|", cap - strlen(out) - 1);
        strncat(out, names[i], cap - strlen(out) - 1);
    }
}

/* the folder holds exactly these entries (as listing() writes them) */
static void assert_listing(const char *dir, const char *want)
{
    char ls[1024];
    listing(dir, ls, sizeof ls);
    assert_string_equal(ls, want);
}

static unsigned char *read_bytes(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    unsigned char *b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

static void write_bytes(const char *path, const unsigned char *b, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (len)
        assert_int_equal(fwrite(b, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* ---- models --------------------------------------------------------------- */

static const unsigned char bin_data[] = {0x00, 0x01, 0x00, 0xFF, 0x7F, 0x00, 0x80, 0x00};

/* A model with awkward parameter values and, if asked, sections holding
 * binary data (zero bytes, an empty one, a 255-byte name, a UTF-8 name). */
static mlp2 *make_model(size_t ni, size_t nh, size_t no, uint64_t seed, bool sections)
{
    mlp2 *net;
    assert_int_equal(mlp2_create(&net, ni, nh, no, seed), MLP2_OK);
    size_t np = mlp2_n_params(net);
    double *th = tu_alloc(np);
    tu_rng r = tu_seed(seed);
    tu_fill(&r, th, np, -3.7, 3.7);
    const double odd[] = {-0.0, 5e-324, DBL_MAX, -DBL_MIN, 1.0 / 3.0, -2.385e-300, 1e308};
    for (size_t i = 0; i < np && i < sizeof odd / sizeof odd[0]; i++)
        th[i] = odd[i];
    assert_int_equal(mlp2_set_params(net, th), MLP2_OK);
    free(th);
    if (sections) {
        char long_name[256];
        memset(long_name, 'n', 255);
        long_name[255] = '\0';
        unsigned char big[1000];
        for (size_t i = 0; i < sizeof big; i++)
            big[i] = (unsigned char)tu_next(&r);
        assert_int_equal(mlp2_section_set(net, "scale", bin_data, sizeof bin_data), MLP2_OK);
        assert_int_equal(mlp2_section_set(net, "empty", NULL, 0), MLP2_OK);
        assert_int_equal(mlp2_section_set(net, long_name, big, sizeof big), MLP2_OK);
        assert_int_equal(mlp2_section_set(net, "\xC3\xA9t\xC3\xA9 \x01", bin_data, 1), MLP2_OK);
    }
    return net;
}

static void assert_same_model(const mlp2 *a, const mlp2 *b)
{
    assert_int_equal(mlp2_n_in(a), mlp2_n_in(b));
    assert_int_equal(mlp2_n_hidden(a), mlp2_n_hidden(b));
    assert_int_equal(mlp2_n_out(a), mlp2_n_out(b));
    size_t np = mlp2_n_params(a);
    assert_int_equal(np, mlp2_n_params(b));
    double *ta = tu_alloc(np), *tb = tu_alloc(np);
    assert_int_equal(mlp2_get_params(a, ta), MLP2_OK);
    assert_int_equal(mlp2_get_params(b, tb), MLP2_OK);
    assert_memory_equal(ta, tb, np * sizeof(double)); /* bit for bit, -0.0 and denormals included */
    free(ta);
    free(tb);
    size_t ns = mlp2_section_count(a);
    assert_int_equal(ns, mlp2_section_count(b));
    for (size_t i = 0; i < ns; i++) {
        const char *name = mlp2_section_name(a, i);
        assert_string_equal(name, mlp2_section_name(b, i)); /* order kept */
        const void *da, *db;
        size_t la, lb;
        assert_int_equal(mlp2_section_get(a, name, &da, &la), MLP2_OK);
        assert_int_equal(mlp2_section_get(b, name, &db, &lb), MLP2_OK);
        assert_int_equal(la, lb);
        if (la)
            assert_memory_equal(da, db, la);
    }
}

/* The bytes mlp2_save writes for net. */
static unsigned char *saved_bytes(const mlp2 *net, size_t *len)
{
    char *dir = make_tmpdir(), *path = path_join(dir, "m.mlp2");
    assert_int_equal(mlp2_save(net, path), MLP2_OK);
    unsigned char *b = read_bytes(path, len);
    remove_tree(dir);
    free(path);
    free(dir);
    return b;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_crc32c(void **state)
{
    (void)state;
    /* the check value of CRC-32C (Castagnoli) */
    assert_int_equal(mlp2__crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(ref_crc32c((const unsigned char *)"123456789", 9), 0xE3069283u);
    assert_int_equal(mlp2__crc32c(0, "", 0), 0);
    /* 32 zero bytes: a published test vector (RFC 3720, B.4) */
    unsigned char z[32] = {0};
    assert_int_equal(mlp2__crc32c(0, z, sizeof z), 0x8A9136AAu);
    /* chaining, and agreement with the bitwise version on random data */
    tu_rng r = tu_seed(7);
    unsigned char buf[777];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)tu_next(&r);
    for (size_t n = 0; n <= sizeof buf; n += 37) {
        uint32_t whole = mlp2__crc32c(0, buf, n);
        assert_int_equal(whole, ref_crc32c(buf, n));
        assert_int_equal(mlp2__crc32c(mlp2__crc32c(0, buf, n / 3), buf + n / 3, n - n / 3), whole);
    }
}

static void test_round_trip(void **state)
{
    (void)state;
    const size_t shapes[][3] = {{1, 1, 1}, {3, 5, 2}, {17, 9, 4}, {2, 64, 1}, {40, 3, 11}};
    char *dir = make_tmpdir(), *path = path_join(dir, "model.mlp2");
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        for (int with_sections = 0; with_sections <= 1; with_sections++) {
            mlp2 *a = make_model(shapes[k][0], shapes[k][1], shapes[k][2], 100 + k, with_sections);
            assert_int_equal(mlp2_save(a, path), MLP2_OK);
            mlp2 *b = NULL;
            assert_int_equal(mlp2_load(&b, path), MLP2_OK);
            assert_same_model(a, b);
            /* the loaded model saves to the same bytes */
            size_t la, lb;
            unsigned char *ba = read_bytes(path, &la);
            assert_int_equal(mlp2_save(b, path), MLP2_OK);
            unsigned char *bb = read_bytes(path, &lb);
            assert_int_equal(la, lb);
            assert_memory_equal(ba, bb, la);
            /* and the same through a buffer */
            mlp2 *c = NULL;
            assert_int_equal(mlp2_load_buffer(&c, ba, la), MLP2_OK);
            assert_same_model(a, c);
            if (with_sections) {
                const void *d;
                size_t n;
                assert_int_equal(mlp2_section_get(c, "empty", &d, &n), MLP2_OK);
                assert_int_equal(n, 0);
                assert_int_equal(mlp2_section_get(c, "scale", &d, &n), MLP2_OK);
                assert_int_equal(n, sizeof bin_data);
                assert_memory_equal(d, bin_data, sizeof bin_data);
            }
            free(ba);
            free(bb);
            mlp2_free(a);
            mlp2_free(b);
            mlp2_free(c);
        }
    }
    assert_listing(dir, "model.mlp2"); /* no temporary file left */
    remove_tree(dir);
    free(path);
    free(dir);
}

/* The saved bytes, field by field as docs/FORMAT.md describes them, read
 * directly and compared with an encoder written from the document. */
static void test_layout(void **state)
{
    (void)state;
    mlp2 *net;
    assert_int_equal(mlp2_create(&net, 2, 3, 1, 5), MLP2_OK);
    double th[13];
    tu_rng r = tu_seed(3);
    tu_fill(&r, th, 13, -1.0, 1.0);
    th[0] = 1.0;  /* 0x3FF0000000000000 */
    th[1] = -2.5; /* 0xC004000000000000 */
    assert_int_equal(mlp2_set_params(net, th), MLP2_OK);
    assert_int_equal(mlp2_section_set(net, "scale", bin_data, 3), MLP2_OK);
    size_t len;
    unsigned char *b = saved_bytes(net, &len);

    const size_t want_len = HDR + 13 * 8 + (4 + 5 + 8 + 3) + 4;
    assert_int_equal(len, want_len);
    static const unsigned char head[] = {
        0x89, 'M', 'L', 'P', '2', '\r', '\n', 0x1A, /* magic */
        2, 0, 0, 0,                                 /* version */
        80, 0, 0, 0,                                /* header size */
        0, 0, 0, 0,                                 /* flags */
        0, 0, 0, 0,                                 /* reserved */
        (unsigned char)want_len, 0, 0, 0, 0, 0, 0, 0, /* file size (< 256 here) */
        2, 0, 0, 0, 0, 0, 0, 0,                     /* n_in */
        3, 0, 0, 0, 0, 0, 0, 0,                     /* n_hidden */
        1, 0, 0, 0, 0, 0, 0, 0,                     /* n_out */
        13, 0, 0, 0, 0, 0, 0, 0,                    /* n_params */
        1, 0, 0, 0, 0, 0, 0, 0,                     /* n_sections */
        0, 0, 0, 0,                                 /* hidden: sigmoid */
        0, 0, 0, 0,                                 /* head: linear */
        0, 0, 0, 0, 0, 0, 0xF0, 0x3F,               /* theta[0] = 1.0 */
        0, 0, 0, 0, 0, 0, 0x04, 0xC0,               /* theta[1] = -2.5 */
    };
    assert_memory_equal(b, head, sizeof head);
    const unsigned char *s = b + HDR + 13 * 8;
    static const unsigned char sec[] = {5, 0, 0, 0, 's', 'c', 'a', 'l', 'e', 3, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x01, 0x00};
    assert_memory_equal(s, sec, sizeof sec);
    assert_int_equal(rd32(b + len - 4), ref_crc32c(b, len - 4));

    /* the whole file equals the document's encoding */
    tsec ts = {"scale", 5, bin_data, 3};
    tfile tf = {2, 3, 1, 13, th, 13, &ts, 1};
    size_t tlen;
    unsigned char *t = tenc(&tf, &tlen);
    assert_int_equal(tlen, len);
    assert_memory_equal(t, b, len);
    /* a bigger model: every size field little-endian, read back directly */
    mlp2 *big = make_model(300, 2, 1, 9, true);
    size_t blen;
    unsigned char *bb = saved_bytes(big, &blen);
    assert_int_equal(rd64(bb + 24), blen);
    assert_int_equal(rd64(bb + 32), 300);
    assert_int_equal(bb[32], 300 & 0xFF);
    assert_int_equal(bb[33], 300 >> 8);
    assert_int_equal(rd64(bb + 56), mlp2_n_params(big));
    assert_int_equal(rd64(bb + 64), 4);
    free(bb);
    mlp2_free(big);
    free(t);
    free(b);
    mlp2_free(net);
}

/* A small model with sections, saved, as bytes. */
static unsigned char *small_file(size_t *len)
{
    mlp2 *net;
    assert_int_equal(mlp2_create(&net, 2, 3, 1, 11), MLP2_OK);
    assert_int_equal(mlp2_section_set(net, "scale", bin_data, sizeof bin_data), MLP2_OK);
    assert_int_equal(mlp2_section_set(net, "e", NULL, 0), MLP2_OK);
    unsigned char *b = saved_bytes(net, len);
    mlp2_free(net);
    return b;
}

static void test_every_byte_flip(void **state)
{
    (void)state;
    size_t len;
    unsigned char *b = small_file(&len);
    {
        mlp2 *ok = NULL;
        assert_int_equal(mlp2_load_buffer(&ok, b, len), MLP2_OK);
        mlp2_free(ok);
    }
    /* every byte, every change of it: the checksum (or an earlier check) catches it */
    for (size_t i = 0; i < len; i++) {
        for (unsigned x = 1; x < 256; x++) {
            b[i] ^= (unsigned char)x;
            mlp2 *out = SENTINEL;
            mlp2_status st = mlp2_load_buffer(&out, b, len);
            if (st != MLP2_EFORMAT || out != SENTINEL)
                fail_msg("byte %zu ^ 0x%02x: got %s", i, x, mlp2_strerror(st));
            b[i] ^= (unsigned char)x;
        }
    }
    /* a few through real files */
    char *dir = make_tmpdir(), *path = path_join(dir, "flip.mlp2");
    const size_t at[] = {0, 9, 30, 72, 79, HDR + 7, len - 20, len - 1};
    for (size_t k = 0; k < sizeof at / sizeof at[0]; k++) {
        b[at[k]] ^= 0x10;
        write_bytes(path, b, len);
        mlp2 *out = SENTINEL;
        assert_int_equal(mlp2_load(&out, path), MLP2_EFORMAT);
        assert_ptr_equal(out, SENTINEL);
        b[at[k]] ^= 0x10;
    }
    remove_tree(dir);
    free(path);
    free(dir);
    free(b);
}

static void test_every_truncation(void **state)
{
    (void)state;
    size_t len;
    unsigned char *b = small_file(&len);
    for (size_t n = 0; n < len; n++) {
        /* an exact-size copy, so that reading past n would be caught by sanitizers */
        unsigned char *c = malloc(n ? n : 1);
        assert_non_null(c);
        memcpy(c, b, n);
        expect_load(c, n, MLP2_EFORMAT);
        free(c);
    }
    char *dir = make_tmpdir(), *path = path_join(dir, "cut.mlp2");
    const size_t cut[] = {0, 1, 8, 71, 72, 75, 76, 79, 80, 83, 84, len / 2, len - 4, len - 1};
    for (size_t k = 0; k < sizeof cut / sizeof cut[0]; k++) {
        write_bytes(path, b, cut[k]);
        mlp2 *out = SENTINEL;
        assert_int_equal(mlp2_load(&out, path), MLP2_EFORMAT);
        assert_ptr_equal(out, SENTINEL);
    }
    remove_tree(dir);
    free(path);
    free(dir);
    free(b);
}

static void test_trailing_garbage(void **state)
{
    (void)state;
    size_t len;
    unsigned char *b = small_file(&len);
    unsigned char *g = malloc(2 * len);
    assert_non_null(g);
    memcpy(g, b, len);
    memcpy(g + len, b, len); /* the file twice */
    expect_load(g, len + 1, MLP2_EFORMAT);
    expect_load(g, len + 8, MLP2_EFORMAT);
    expect_load(g, 2 * len, MLP2_EFORMAT);
    char *dir = make_tmpdir(), *path = path_join(dir, "tail.mlp2");
    g[len] = 0;
    write_bytes(path, g, len + 1);
    mlp2 *out = SENTINEL;
    assert_int_equal(mlp2_load(&out, path), MLP2_EFORMAT);
    assert_ptr_equal(out, SENTINEL);
    /* extra bytes between the last section and the checksum, with the file
     * size and checksum made consistent: still rejected */
    unsigned char *h = calloc(len + 5, 1);
    assert_non_null(h);
    memcpy(h, b, len - 4);
    wr64(h + 24, len + 5);
    fix_crc(h, len + 5);
    expect_load(h, len + 5, MLP2_EFORMAT);
    free(h);
    remove_tree(dir);
    free(path);
    free(dir);
    free(g);
    free(b);
}

/* Header fields rewritten with a valid checksum. */
static void test_crafted_header(void **state)
{
    (void)state;
    size_t len;
    unsigned char *b = small_file(&len);
    unsigned char *c = malloc(len);
    assert_non_null(c);
    struct {
        size_t off;
        int width;
        uint64_t value;
        mlp2_status want;
    } cases[] = {
        {8, 4, 3, MLP2_EFORMAT},                      /* a version this library does not know */
        {8, 4, 1, MLP2_EFORMAT},                      /* version 1 with version 2's header */
        {8, 4, 0, MLP2_EFORMAT},
        {8, 4, 0xFFFFFFFFu, MLP2_EFORMAT},
        {12, 4, 72, MLP2_EFORMAT},                    /* header size */
        {12, 4, 88, MLP2_EFORMAT},
        {72, 4, 3, MLP2_EFORMAT},                     /* hidden activation: unknown */
        {72, 4, 0x80000000u, MLP2_EFORMAT},
        {76, 4, 3, MLP2_EFORMAT},                     /* head: unknown */
        {76, 4, 1, MLP2_EFORMAT},                     /* softmax head with n_out = 1 */
        {76, 4, UINT32_MAX, MLP2_EFORMAT},
        {16, 4, 1, MLP2_EFORMAT},                     /* flags */
        {20, 4, 1, MLP2_EFORMAT},                     /* reserved */
        {24, 8, 0, MLP2_EFORMAT},                     /* file size */
        {24, 8, (uint64_t)len - 1, MLP2_EFORMAT},
        {24, 8, UINT64_MAX, MLP2_EFORMAT},
        {32, 8, (uint64_t)1 << 40, MLP2_EFORMAT},     /* n_in = 2^40 */
        {32, 8, UINT64_MAX, MLP2_EFORMAT},
        {32, 8, 0, MLP2_EFORMAT},
        {32, 8, 3, MLP2_EFORMAT},                     /* shape and n_params disagree */
        {40, 8, (uint64_t)1 << 31, MLP2_EFORMAT},     /* n_hidden above INT_MAX */
        {48, 8, (uint64_t)1 << 62, MLP2_EFORMAT},
        {56, 8, 14, MLP2_EFORMAT},                    /* n_params */
        {56, 8, (uint64_t)1 << 61, MLP2_EFORMAT},
        {64, 8, 3, MLP2_EFORMAT},                     /* one section more than present */
        {64, 8, 1, MLP2_EFORMAT},                     /* one less: bytes left over */
        {64, 8, 0, MLP2_EFORMAT},
        {64, 8, (uint64_t)1 << 60, MLP2_EFORMAT},
        {64, 8, UINT64_MAX, MLP2_EFORMAT},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        memcpy(c, b, len);
        if (cases[k].width == 4)
            wr32(c + cases[k].off, (uint32_t)cases[k].value);
        else
            wr64(c + cases[k].off, cases[k].value);
        fix_crc(c, len);
        tally t;
        tally_install(&t);
        mlp2 *out = SENTINEL;
        mlp2_status st = mlp2_load_buffer(&out, c, len);
        tally_remove();
        if (st != cases[k].want || out != SENTINEL)
            fail_msg("case %zu (offset %zu = %llu): got %s", k, cases[k].off,
                     (unsigned long long)cases[k].value, mlp2_strerror(st));
        assert_int_equal(t.calls, 0); /* rejected before any allocation */
    }
    /* the magic */
    memcpy(c, b, len);
    c[1] = 'm';
    fix_crc(c, len);
    expect_load(c, len, MLP2_EFORMAT);
    free(c);
    free(b);
}

/* Shapes whose parameters would need far more memory than the file holds:
 * rejected without allocating. */
static void test_absurd_sizes(void **state)
{
    (void)state;
    double th[4] = {0.25, -0.5, 0.75, -1.0};
    const uint64_t shapes[][4] = {
        {1000000, 1000000, 1, 1000000ull * 1000000 + 1000000 + 1000000 + 1}, /* 8 TB of params */
        {(uint64_t)1 << 40, 1, 1, ((uint64_t)1 << 40) + 3},
        {(uint64_t)1 << 31, (uint64_t)1 << 31, 1, 0},
        {65536, 65536, 65536, 0},
        {INT32_MAX, INT32_MAX, INT32_MAX, 0},
        {2, 1, 1, 5}, /* consistent, but only 4 doubles present */
    };
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        tfile f = {shapes[k][0], shapes[k][1], shapes[k][2], shapes[k][3], th, 4, NULL, 0};
        size_t len;
        unsigned char *b = tenc(&f, &len);
        tally t;
        tally_install(&t);
        mlp2 *out = SENTINEL;
        mlp2_status st = mlp2_load_buffer(&out, b, len);
        tally_remove();
        if (st != MLP2_EFORMAT || out != SENTINEL || t.calls != 0)
            fail_msg("shape %zu: got %s after %zu allocations", k, mlp2_strerror(st), t.calls);
        free(b);
    }
    /* through a file too: nothing bigger than the file is allocated */
    tfile f = {1000000, 1000000, 1, 1000000ull * 1000000 + 2000001, th, 4, NULL, 0};
    size_t len;
    unsigned char *b = tenc(&f, &len);
    char *dir = make_tmpdir(), *path = path_join(dir, "absurd.mlp2");
    write_bytes(path, b, len);
    tally t;
    tally_install(&t);
    mlp2 *out = SENTINEL;
    assert_int_equal(mlp2_load(&out, path), MLP2_EFORMAT);
    tally_remove();
    assert_ptr_equal(out, SENTINEL);
    assert_true(t.biggest <= len);
    assert_int_equal(t.live, 0);
    remove_tree(dir);
    free(path);
    free(dir);
    free(b);
}

static void test_nonfinite_params(void **state)
{
    (void)state;
    double th[4] = {0.25, -0.5, 0.75, -1.0};
    const double bad[] = {(double)NAN, -(double)NAN, (double)INFINITY, -(double)INFINITY};
    for (size_t k = 0; k < 4; k++) {
        for (size_t at = 0; at < 4; at += 3) {
            double t[4];
            memcpy(t, th, sizeof t);
            t[at] = bad[k];
            tfile f = {1, 1, 1, 4, t, 4, NULL, 0};
            size_t len;
            unsigned char *b = tenc(&f, &len);
            expect_load(b, len, MLP2_ENONFINITE);
            free(b);
        }
    }
    /* the same file with finite values loads: the encoder is right */
    tfile f = {1, 1, 1, 4, th, 4, NULL, 0};
    size_t len;
    unsigned char *b = tenc(&f, &len);
    mlp2 *net = NULL;
    assert_int_equal(mlp2_load_buffer(&net, b, len), MLP2_OK);
    double got[4];
    assert_int_equal(mlp2_get_params(net, got), MLP2_OK);
    assert_memory_equal(got, th, sizeof th);
    mlp2_free(net);
    free(b);
}

static void test_crafted_sections(void **state)
{
    (void)state;
    double th[4] = {0.25, -0.5, 0.75, -1.0};
    char n255[255], n256[256];
    memset(n255, 'x', sizeof n255);
    memset(n256, 'x', sizeof n256);
    struct {
        tsec s[3];
        size_t n;
        mlp2_status want;
    } cases[] = {
        {{{"a", 1, "xyz", 3}, {"b", 1, "", 0}}, 2, MLP2_OK},
        {{{n255, 255, "", 0}}, 1, MLP2_OK},
        {{{"", 0, "xyz", 3}}, 1, MLP2_EFORMAT},          /* empty name */
        {{{n256, 256, "", 0}}, 1, MLP2_EFORMAT},         /* name too long */
        {{{"a\0b", 3, "", 0}}, 1, MLP2_EFORMAT},         /* NUL in the name */
        {{{"ab\0", 3, "", 0}}, 1, MLP2_EFORMAT},         /* NUL at its end */
        {{{"a", 1, "x", 1}, {"a", 1, "y", 1}}, 2, MLP2_EFORMAT}, /* duplicate */
        {{{"a", 1, "x", 1}, {"b", 1, "y", 1}, {"a", 1, "", 0}}, 3, MLP2_EFORMAT},
        {{{"ab", 2, "", 0}, {"a", 1, "", 0}, {"abc", 3, "", 0}}, 3, MLP2_OK}, /* prefixes differ */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        tfile f = {1, 1, 1, 4, th, 4, cases[k].s, cases[k].n};
        size_t len;
        unsigned char *b = tenc(&f, &len);
        if (cases[k].want == MLP2_OK) {
            mlp2 *net = NULL;
            assert_int_equal(mlp2_load_buffer(&net, b, len), MLP2_OK);
            assert_int_equal(mlp2_section_count(net), cases[k].n);
            for (size_t i = 0; i < cases[k].n; i++) {
                const char *nm = mlp2_section_name(net, i);
                assert_int_equal(strlen(nm), cases[k].s[i].name_len);
                assert_memory_equal(nm, cases[k].s[i].name, cases[k].s[i].name_len);
            }
            mlp2_free(net);
        } else {
            expect_load(b, len, cases[k].want);
        }
        free(b);
    }
    /* a section length that runs past the end, with a valid checksum */
    tsec one = {"a", 1, "xyz", 3};
    tfile f = {1, 1, 1, 4, th, 4, &one, 1};
    size_t len;
    unsigned char *b = tenc(&f, &len);
    const size_t dlen_at = HDR + 32 + 4 + 1;
    const uint64_t lens[] = {4, 7, (uint64_t)1 << 32, (uint64_t)1 << 40, UINT64_MAX};
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        wr64(b + dlen_at, lens[k]);
        fix_crc(b, len);
        expect_load(b, len, MLP2_EFORMAT);
    }
    wr64(b + dlen_at, 2); /* shorter: a byte left before the checksum */
    fix_crc(b, len);
    expect_load(b, len, MLP2_EFORMAT);
    wr32(b + HDR + 32, 0xFFFFFFFFu); /* name length */
    wr64(b + dlen_at, 3);
    fix_crc(b, len);
    expect_load(b, len, MLP2_EFORMAT);
    free(b);
}

/* Many sections: order kept, a duplicate found among them, memory bounded
 * by a small multiple of the file's length. */
static void test_many_sections(void **state)
{
    (void)state;
    enum { N = 2000 };
    double th[4] = {0.25, -0.5, 0.75, -1.0};
    static char names[N][2];
    static tsec s[N];
    for (size_t i = 0; i < N; i++) {
        names[i][0] = (char)('A' + (i * 7919) % 53);
        names[i][1] = (char)('A' + (i * 7919) / 53 % 53);
        s[i] = (tsec){names[i], 2, "", 0};
    }
    tfile f = {1, 1, 1, 4, th, 4, s, N};
    size_t len;
    unsigned char *b = tenc(&f, &len);
    tally t;
    tally_install(&t);
    mlp2 *net = NULL;
    assert_int_equal(mlp2_load_buffer(&net, b, len), MLP2_OK);
    assert_int_equal(mlp2_section_count(net), N);
    for (size_t i = 0; i < N; i++)
        assert_memory_equal(mlp2_section_name(net, i), names[i], 2);
    mlp2_free(net);
    tally_remove();
    assert_int_equal(t.live, 0);
    assert_true(t.peak <= 3 * len);
    free(b);
    /* the last name made equal to one far before it */
    names[N - 1][0] = names[17][0];
    names[N - 1][1] = names[17][1];
    b = tenc(&f, &len);
    expect_load(b, len, MLP2_EFORMAT);
    free(b);
}

/* the file holds exactly these bytes */
static void assert_bytes(const char *path, const unsigned char *want, size_t want_len)
{
    size_t n;
    unsigned char *now = read_bytes(path, &n);
    assert_int_equal(n, want_len);
    assert_memory_equal(now, want, n);
    free(now);
}

/* the file loads, as the same model as `want` */
static void assert_file_holds(const char *path, const mlp2 *want)
{
    mlp2 *back = NULL;
    assert_int_equal(mlp2_load(&back, path), MLP2_OK);
    assert_same_model(back, want);
    mlp2_free(back);
}

/* The folder's content, and the old file, after a save that must fail. */
static void expect_failed_save(const mlp2 *net, const char *path, const char *dir, const char *want_ls,
                               const char *old_path, const unsigned char *old, size_t old_len)
{
    assert_int_equal(mlp2_save(net, path), MLP2_EIO);
    assert_listing(dir, want_ls);
    if (old_path)
        assert_bytes(old_path, old, old_len);
}

static void test_save_missing_folder(void **state)
{
    (void)state;
    mlp2 *net = make_model(3, 4, 2, 1, true);
    char *dir = make_tmpdir(), *path = path_join(dir, "nope/m.mlp2");
    expect_failed_save(net, path, dir, "", NULL, NULL, 0);
    free(path);
    /* a "folder" that is a regular file */
    char *file = path_join(dir, "plain");
    static const unsigned char text[] = "not a folder";
    write_bytes(file, text, sizeof text);
    path = path_join(dir, "plain/m.mlp2");
    expect_failed_save(net, path, dir, "plain", file, text, sizeof text);
    free(path);
    free(file);
    remove_tree(dir);
    free(dir);
    mlp2_free(net);
}

/* Saving over a folder: the rename fails, the temporary file goes. */
static void test_save_over_folder(void **state)
{
    (void)state;
    mlp2 *net = make_model(3, 4, 2, 1, true);
    char *dir = make_tmpdir(), *path = path_join(dir, "m.mlp2");
    assert_int_equal(mkdir(path, 0700), 0);
    expect_failed_save(net, path, dir, "m.mlp2", NULL, NULL, 0);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    remove_tree(dir);
    free(path);
    free(dir);
    mlp2_free(net);
}

/* A write that fails midway (the file-size limit stands in for a full
 * disk; it binds root too): MLP2_EIO, old file intact, no temporary. */
static void test_save_no_space(void **state)
{
    (void)state;
    mlp2 *old = make_model(2, 2, 1, 1, false);
    mlp2 *net = make_model(30, 20, 5, 2, true); /* about 7 KB */
    char *dir = make_tmpdir(), *path = path_join(dir, "m.mlp2");
    assert_int_equal(mlp2_save(old, path), MLP2_OK);
    size_t old_len;
    unsigned char *old_bytes = read_bytes(path, &old_len);

    struct rlimit saved, low;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
    low = saved;
    low.rlim_cur = 4096;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &low), 0);
    mlp2_status st = mlp2_save(net, path);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
    signal(SIGXFSZ, prev);
    assert_int_equal(st, MLP2_EIO);

    assert_listing(dir, "m.mlp2");
    assert_bytes(path, old_bytes, old_len);
    assert_file_holds(path, old);
    /* and with the limit lifted the same save works */
    assert_int_equal(mlp2_save(net, path), MLP2_OK);
    assert_file_holds(path, net);
    free(old_bytes);
    remove_tree(dir);
    free(path);
    free(dir);
    mlp2_free(net);
    mlp2_free(old);
}

/* A read-only folder.  Root writes through mode 0555, so under root this
 * case cannot be provoked with permissions and is skipped (the missing
 * folder, the file-size limit and the rename onto a folder still cover the
 * failure paths). */
static void test_save_readonly_folder(void **state)
{
    (void)state;
    mlp2 *old = make_model(2, 2, 1, 1, true), *net = make_model(3, 3, 3, 2, true);
    char *dir = make_tmpdir(), *path = path_join(dir, "m.mlp2");
    assert_int_equal(mlp2_save(old, path), MLP2_OK);
    size_t old_len;
    unsigned char *old_bytes = read_bytes(path, &old_len);
    assert_int_equal(chmod(dir, 0555), 0);
    char *probe = path_join(dir, "probe");
    int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0600);
    bool writable = fd >= 0;
    if (writable) {
        close(fd);
        unlink(probe);
    } else {
        expect_failed_save(net, path, dir, "m.mlp2", path, old_bytes, old_len);
    }
    chmod(dir, 0700);
    free(probe);
    free(old_bytes);
    remove_tree(dir);
    free(path);
    free(dir);
    mlp2_free(net);
    mlp2_free(old);
    if (writable)
        skip(); /* running as root: mode 0555 does not stop writes */
}

/* A folder that may be written but not listed (mode 0300): the save works,
 * only the folder cannot be opened for its fsync.  (Under root the folder
 * opens anyway; the save must work all the same.) */
static void test_save_unreadable_folder(void **state)
{
    (void)state;
    mlp2 *net = make_model(3, 3, 2, 4, true);
    char *dir = make_tmpdir(), *path = path_join(dir, "m.mlp2");
    assert_int_equal(chmod(dir, 0300), 0);
    mlp2_status st = mlp2_save(net, path);
    mlp2 *back = NULL;
    mlp2_status st2 = mlp2_load(&back, path);
    assert_int_equal(chmod(dir, 0700), 0);
    assert_int_equal(st, MLP2_OK);
    assert_int_equal(st2, MLP2_OK);
    assert_same_model(back, net);
    mlp2_free(back);
    assert_listing(dir, "m.mlp2");
    remove_tree(dir);
    free(path);
    free(dir);
    mlp2_free(net);
}

/* A successful save replaces the file; its mode follows the umask. */
static void test_save_replaces(void **state)
{
    (void)state;
    mlp2 *a = make_model(2, 3, 1, 1, true), *b = make_model(4, 2, 3, 2, false);
    char *dir = make_tmpdir(), *path = path_join(dir, "m.mlp2");
    mode_t um = umask(027);
    assert_int_equal(mlp2_save(a, path), MLP2_OK);
    assert_int_equal(mlp2_save(b, path), MLP2_OK);
    umask(um);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0640);
    assert_file_holds(path, b);
    assert_listing(dir, "m.mlp2");
    /* a relative path (no folder part) works too */
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(dir), 0);
    assert_int_equal(mlp2_save(a, "rel.mlp2"), MLP2_OK);
    mlp2 *back = NULL;
    assert_int_equal(mlp2_load(&back, "rel.mlp2"), MLP2_OK);
    assert_int_equal(chdir(cwd), 0);
    assert_same_model(back, a);
    mlp2_free(back);
    assert_listing(dir, "m.mlp2|rel.mlp2");
    remove_tree(dir);
    free(path);
    free(dir);
    mlp2_free(a);
    mlp2_free(b);
}

static void test_load_errors(void **state)
{
    (void)state;
    mlp2 *net = make_model(2, 2, 2, 3, false);
    char *dir = make_tmpdir(), *path = path_join(dir, "m.mlp2"), *missing = path_join(dir, "missing");
    assert_int_equal(mlp2_save(net, path), MLP2_OK);
    mlp2 *out = SENTINEL;
    assert_int_equal(mlp2_load(&out, missing), MLP2_EIO);
    assert_int_equal(mlp2_load(&out, dir), MLP2_EIO); /* a folder */
    assert_ptr_equal(out, SENTINEL);
    /* a FIFO with no writer: refused at once, not waited on (a blocking
     * open would hang here until the test's timeout) */
    char *fifo = path_join(dir, "fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(mlp2_load(&out, fifo), MLP2_EIO);
    assert_ptr_equal(out, SENTINEL);
    unlink(fifo);
    free(fifo);
    write_bytes(missing, NULL, 0);
    assert_int_equal(mlp2_load(&out, missing), MLP2_EFORMAT); /* empty file */
    assert_ptr_equal(out, SENTINEL);
    /* NULL arguments */
    unsigned char byte = 0;
    assert_int_equal(mlp2_load(NULL, path), MLP2_EINVAL);
    assert_int_equal(mlp2_load(&out, NULL), MLP2_EINVAL);
    assert_int_equal(mlp2_load_buffer(NULL, &byte, 1), MLP2_EINVAL);
    assert_int_equal(mlp2_load_buffer(&out, NULL, 0), MLP2_EINVAL);
    assert_int_equal(mlp2_load_buffer(&out, NULL, 100), MLP2_EINVAL);
    assert_int_equal(mlp2_save(NULL, path), MLP2_EINVAL);
    assert_int_equal(mlp2_save(net, NULL), MLP2_EINVAL);
    assert_ptr_equal(out, SENTINEL);
    remove_tree(dir);
    free(missing);
    free(path);
    free(dir);
    mlp2_free(net);
}

/* Allocation k fails, for every k: MLP2_ENOMEM, nothing leaked, the old
 * file intact, *out untouched. */
static void test_out_of_memory(void **state)
{
    (void)state;
    mlp2 *old = make_model(2, 2, 1, 1, false), *net = make_model(3, 4, 2, 5, true);
    char *dir = make_tmpdir(), *path = path_join(dir, "m.mlp2");
    assert_int_equal(mlp2_save(old, path), MLP2_OK);
    size_t old_len;
    unsigned char *old_bytes = read_bytes(path, &old_len);
    tally t;
    size_t k;
    for (k = 1;; k++) {
        tally_install(&t);
        t.fail_at = k;
        mlp2_status st = mlp2_save(net, path);
        tally_remove();
        assert_int_equal(t.live, 0);
        if (st == MLP2_OK)
            break;
        assert_int_equal(st, MLP2_ENOMEM);
        assert_listing(dir, "m.mlp2");
        assert_bytes(path, old_bytes, old_len);
    }
    assert_true(k > 1);
    for (k = 1;; k++) {
        tally_install(&t);
        t.fail_at = k;
        mlp2 *out = SENTINEL;
        mlp2_status st = mlp2_load(&out, path);
        if (st == MLP2_OK) {
            assert_same_model(out, net);
            mlp2_free(out);
            tally_remove();
            assert_int_equal(t.live, 0);
            break;
        }
        tally_remove();
        assert_int_equal(st, MLP2_ENOMEM);
        assert_ptr_equal(out, SENTINEL);
        assert_int_equal(t.live, 0);
    }
    assert_true(k > 4); /* file buffer, model, parameters, sections... */
    free(old_bytes);
    remove_tree(dir);
    free(path);
    free(dir);
    mlp2_free(net);
    mlp2_free(old);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_every_byte_flip),
        cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_trailing_garbage),
        cmocka_unit_test(test_crafted_header),
        cmocka_unit_test(test_absurd_sizes),
        cmocka_unit_test(test_nonfinite_params),
        cmocka_unit_test(test_crafted_sections),
        cmocka_unit_test(test_many_sections),
        cmocka_unit_test(test_save_missing_folder),
        cmocka_unit_test(test_save_over_folder),
        cmocka_unit_test(test_save_no_space),
        cmocka_unit_test(test_save_readonly_folder),
        cmocka_unit_test(test_save_unreadable_folder),
        cmocka_unit_test(test_save_replaces),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
