/*
 * io.c - the model file: mlp2_save (through the atomic writer of
 * lib/atomic.c), mlp2_load and mlp2_load_buffer.  The format is documented byte by byte in docs/FORMAT.md;
 * this file and that document change together.
 */
#include "internal.h"
#include "atomic.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif

/* ---- layout (docs/FORMAT.md, versions 1 and 2) -------------------------- */

static const unsigned char file_magic[8] = {0x89, 'M', 'L', 'P', '2', '\r', '\n', 0x1A};

enum {
    OFF_VERSION = 8,     /* u32 */
    OFF_HEADER_SIZE = 12, /* u32 */
    OFF_FLAGS = 16,      /* u32 */
    OFF_RESERVED = 20,   /* u32 */
    OFF_FILE_SIZE = 24,  /* u64 */
    OFF_N_IN = 32,       /* u64 */
    OFF_N_HIDDEN = 40,   /* u64 */
    OFF_N_OUT = 48,      /* u64 */
    OFF_N_PARAMS = 56,   /* u64 */
    OFF_N_SECTIONS = 64, /* u64 */
    OFF_HIDDEN = 72,     /* u32, version 2: mlp2_hidden */
    OFF_HEAD = 76,       /* u32, version 2: mlp2_head */
    HEADER_SIZE_V1 = 72, /* version 1: no kinds, sigmoid hidden units and a linear head */
    HEADER_SIZE = 80,    /* version 2, the one written */
    CRC_SIZE = 4,
    MIN_FILE_SIZE = HEADER_SIZE_V1 + CRC_SIZE,
    SECTION_FIXED = 4 + 8, /* name length (u32) + data length (u64) */
    SECTION_MIN = SECTION_FIXED + 1,
    NAME_MAX_LEN = 255
};

/* Little-endian encoding, byte by byte: the same bytes on every host. */
static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* IEEE-754 binary64 through its bit pattern */
static void put_f64(unsigned char *p, double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    put_u64(p, u);
}

static double get_f64(const unsigned char *p)
{
    uint64_t u = get_u64(p);
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* ---- serialisation ------------------------------------------------------ */

/* Total file size for net; false if it does not fit in size_t. */
static bool encoded_size(const mlp2 *net, size_t *out)
{
    size_t n = HEADER_SIZE + CRC_SIZE, t;
    if (!mlp2__mul(net->n_params, 8, &t) || !mlp2__add(n, t, &n))
        return false;
    for (size_t i = 0; i < net->n_sections; i++) {
        const mlp2_section *s = &net->sections[i];
        if (!mlp2__add(n, SECTION_FIXED, &n) || !mlp2__add(n, strlen(s->name), &n) ||
            !mlp2__add(n, s->len, &n))
            return false;
    }
    *out = n;
    return true;
}

static void encode(const mlp2 *net, unsigned char *buf, size_t size)
{
    memcpy(buf, file_magic, sizeof file_magic);
    put_u32(buf + OFF_VERSION, MLP2_FORMAT_VERSION);
    put_u32(buf + OFF_HEADER_SIZE, HEADER_SIZE);
    put_u32(buf + OFF_FLAGS, 0);
    put_u32(buf + OFF_RESERVED, 0);
    put_u64(buf + OFF_FILE_SIZE, (uint64_t)size);
    put_u64(buf + OFF_N_IN, (uint64_t)net->n_in);
    put_u64(buf + OFF_N_HIDDEN, (uint64_t)net->n_hidden);
    put_u64(buf + OFF_N_OUT, (uint64_t)net->n_out);
    put_u64(buf + OFF_N_PARAMS, (uint64_t)net->n_params);
    put_u64(buf + OFF_N_SECTIONS, (uint64_t)net->n_sections);
    put_u32(buf + OFF_HIDDEN, (uint32_t)net->hidden);
    put_u32(buf + OFF_HEAD, (uint32_t)net->head);
    unsigned char *p = buf + HEADER_SIZE;
    for (size_t i = 0; i < net->n_params; i++, p += 8)
        put_f64(p, net->theta[i]);
    for (size_t i = 0; i < net->n_sections; i++) {
        const mlp2_section *s = &net->sections[i];
        size_t nlen = strlen(s->name); /* 1..255, guaranteed by mlp2_section_set */
        put_u32(p, (uint32_t)nlen);
        memcpy(p + 4, s->name, nlen);
        p += 4 + nlen;
        put_u64(p, (uint64_t)s->len);
        p += 8;
        if (s->len)
            memcpy(p, s->data, s->len);
        p += s->len;
    }
    assert(p == buf + size - CRC_SIZE);
    put_u32(p, mlp2__crc32c(0, buf, size - CRC_SIZE));
}

/* ---- parsing: nothing in the data is trusted ---------------------------- */

typedef struct header {
    size_t header_size, n_in, n_hidden, n_out, n_params, n_sections;
    mlp2_hidden hidden;
    mlp2_head head;
} header;

/* The version's header size and kinds: version 1 has no kinds (sigmoid
 * hidden units, linear head); version 2 stores them, and a value this
 * library does not know is a format error.  b holds len bytes (at least
 * HEADER_SIZE when len > HEADER_SIZE). */
static mlp2_status parse_kinds(const unsigned char *b, size_t len, header *h)
{
    const uint32_t version = get_u32(b + OFF_VERSION);
    h->hidden = MLP2_HIDDEN_SIGMOID;
    h->head = MLP2_HEAD_LINEAR;
    h->header_size = version == 1 ? HEADER_SIZE_V1 : HEADER_SIZE;
    if ((version != 1 && version != MLP2_FORMAT_VERSION) || len < h->header_size + CRC_SIZE ||
        get_u32(b + OFF_HEADER_SIZE) != h->header_size)
        return MLP2_FAIL(MLP2_EFORMAT);
    if (version == 1)
        return MLP2_OK;
    const uint32_t hidden = get_u32(b + OFF_HIDDEN), head = get_u32(b + OFF_HEAD);
    if (hidden > MLP2_HIDDEN_RELU || head > MLP2_HEAD_SIGMOID)
        return MLP2_FAIL(MLP2_EFORMAT);
    h->hidden = (mlp2_hidden)hidden;
    h->head = (mlp2_head)head;
    return MLP2_OK;
}

/*
 * Everything that can be checked from the header and the real length len:
 * magic, version, fixed fields, kinds, file size, shape, and that the
 * parameters and sections could fit in len.  b holds the first
 * min(len, HEADER_SIZE) bytes.
 */
static mlp2_status parse_header(const unsigned char *b, size_t len, header *h)
{
    if (len < MIN_FILE_SIZE || memcmp(b, file_magic, sizeof file_magic) != 0)
        return MLP2_FAIL(MLP2_EFORMAT);
    if (parse_kinds(b, len, h) != MLP2_OK || get_u32(b + OFF_FLAGS) != 0 || get_u32(b + OFF_RESERVED) != 0)
        return MLP2_FAIL(MLP2_EFORMAT);
    /* truncation and trailing bytes */
    if (get_u64(b + OFF_FILE_SIZE) != (uint64_t)len)
        return MLP2_FAIL(MLP2_EFORMAT);
    uint64_t n_in = get_u64(b + OFF_N_IN), n_hidden = get_u64(b + OFF_N_HIDDEN);
    uint64_t n_out = get_u64(b + OFF_N_OUT), n_params = get_u64(b + OFF_N_PARAMS);
    uint64_t n_sections = get_u64(b + OFF_N_SECTIONS);
    if (n_in > SIZE_MAX || n_hidden > SIZE_MAX || n_out > SIZE_MAX)
        return MLP2_FAIL(MLP2_EFORMAT);
    size_t np;
    const mlp2_spec spec = {.n_in = (size_t)n_in, .n_hidden = (size_t)n_hidden, .n_out = (size_t)n_out,
                            .hidden = h->hidden, .head = h->head};
    if (mlp2__check_shape(spec.n_in, spec.n_hidden, spec.n_out, &np) != MLP2_OK ||
        n_params != (uint64_t)np || mlp2__check_kinds(&spec) != MLP2_OK)
        return MLP2_FAIL(MLP2_EFORMAT);
    /* the body must hold np doubles, then n_sections entries of >= SECTION_MIN bytes */
    size_t body = len - h->header_size - CRC_SIZE;
    if (np > body / 8)
        return MLP2_FAIL(MLP2_EFORMAT);
    if (n_sections > (uint64_t)((body - np * 8) / SECTION_MIN))
        return MLP2_FAIL(MLP2_EFORMAT);
    h->n_in = spec.n_in;
    h->n_hidden = spec.n_hidden;
    h->n_out = spec.n_out;
    h->n_params = np;
    h->n_sections = (size_t)n_sections;
    return MLP2_OK;
}

typedef struct cursor {
    const unsigned char *p;
    size_t left;
} cursor;

/* The next n bytes, or NULL when fewer remain. */
static const unsigned char *take(cursor *c, size_t n)
{
    if (n > c->left)
        return NULL;
    const unsigned char *p = c->p;
    c->p += n;
    c->left -= n;
    return p;
}

typedef struct entry {
    const unsigned char *name, *data;
    size_t name_len, data_len;
} entry;

/* One section entry, bounds- and rule-checked; false when malformed. */
static bool next_section(cursor *c, entry *e)
{
    *e = (entry){.name = NULL};
    const unsigned char *p = take(c, 4);
    if (!p)
        return false;
    uint32_t nlen = get_u32(p);
    if (nlen == 0 || nlen > NAME_MAX_LEN || !(e->name = take(c, nlen)) || memchr(e->name, 0, nlen))
        return false;
    if (!(p = take(c, 8)))
        return false;
    uint64_t dlen = get_u64(p);
    if (dlen > UINT32_MAX || dlen > (uint64_t)c->left) /* UINT32_MAX: mlp2_section_set's limit */
        return false;
    e->name_len = nlen;
    e->data_len = (size_t)dlen;
    e->data = take(c, e->data_len);
    return true;
}

/* Copy n validated sections starting at c into net (which has none). */
static mlp2_status build_sections(mlp2 *net, cursor c, size_t n)
{
    if (n == 0)
        return MLP2_OK;
    net->sections = mlp2__alloc_array(n, sizeof *net->sections);
    if (!net->sections)
        return MLP2_FAIL(MLP2_ENOMEM);
    memset(net->sections, 0, n * sizeof *net->sections);
    net->n_sections = n; /* mlp2_free copes with the NULL entries of a partial build */
    for (size_t i = 0; i < n; i++) {
        entry e;
        bool ok = next_section(&c, &e);
        assert(ok);
        (void)ok;
        mlp2_section *s = &net->sections[i];
        s->name = mlp2__alloc(e.name_len + 1);
        if (!s->name)
            return MLP2_FAIL(MLP2_ENOMEM);
        memcpy(s->name, e.name, e.name_len);
        s->name[e.name_len] = '\0';
        if (e.data_len > 0) {
            s->data = mlp2__alloc(e.data_len);
            if (!s->data)
                return MLP2_FAIL(MLP2_ENOMEM);
            memcpy(s->data, e.data, e.data_len);
        }
        s->len = e.data_len;
    }
    return MLP2_OK;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* MLP2_EFORMAT when two sections of net share a name.  Sorting keeps this
 * O(n log n) for files with many sections; the n pointers it sorts take less
 * room than the n entries (>= 13 bytes each) took in the file. */
static mlp2_status check_unique_names(const mlp2 *net)
{
    size_t n = net->n_sections;
    if (n < 2)
        return MLP2_OK;
    const char **names = mlp2__alloc_array(n, sizeof *names);
    if (!names)
        return MLP2_FAIL(MLP2_ENOMEM);
    for (size_t i = 0; i < n; i++)
        names[i] = net->sections[i].name;
    qsort(names, n, sizeof *names, name_cmp);
    mlp2_status st = MLP2_OK;
    for (size_t i = 1; i < n && st == MLP2_OK; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            st = MLP2_FAIL(MLP2_EFORMAT);
    mlp2__free(names);
    return st;
}

mlp2_status mlp2_load_buffer(mlp2 **out, const void *buf, size_t len)
{
    if (!out || !buf)
        return MLP2_FAIL(MLP2_EINVAL);
    const unsigned char *b = buf;
    header h;
    mlp2_status st = parse_header(b, len, &h);
    if (st != MLP2_OK)
        return st;
    /* the checksum, before anything is allocated */
    if (get_u32(b + len - CRC_SIZE) != mlp2__crc32c(0, b, len - CRC_SIZE))
        return MLP2_FAIL(MLP2_EFORMAT);
    /* walk the sections; they must end exactly at the checksum */
    const size_t sec_off = h.header_size + h.n_params * 8;
    const cursor sections = {b + sec_off, len - CRC_SIZE - sec_off};
    cursor c = sections;
    for (size_t i = 0; i < h.n_sections; i++) {
        entry e;
        if (!next_section(&c, &e))
            return MLP2_FAIL(MLP2_EFORMAT);
    }
    if (c.left != 0)
        return MLP2_FAIL(MLP2_EFORMAT);

    /* Every size is now known to fit in len: allocations stay within a
     * small multiple of the file's length, whatever the file says. */
    mlp2 *net;
    st = mlp2__alloc_model(&net, h.n_in, h.n_hidden, h.n_out);
    if (st != MLP2_OK)
        return st;
    net->hidden = h.hidden;
    net->head = h.head;
    for (size_t i = 0; i < h.n_params; i++)
        net->theta[i] = get_f64(b + h.header_size + 8 * i);
    st = build_sections(net, sections, h.n_sections);
    if (st == MLP2_OK)
        st = check_unique_names(net);
    if (st == MLP2_OK && !mlp2__all_finite(net->n_params, net->theta))
        st = MLP2_FAIL(MLP2_ENONFINITE);
    if (st != MLP2_OK) {
        mlp2_free(net);
        return st;
    }
    *out = net;
    return MLP2_OK;
}

/* ---- files -------------------------------------------------------------- */

/* Largest count passed to one read()/write(): well under SSIZE_MAX everywhere. */
#define IO_CHUNK ((size_t)1 << 30)

/* Read up to n bytes; *got is what arrived before end of file. */
static bool read_all(int fd, unsigned char *p, size_t n, size_t *got)
{
    size_t done = 0;
    while (done < n) {
        size_t want = n - done;
        ssize_t r = read(fd, p + done, want < IO_CHUNK ? want : IO_CHUNK);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return false;
        if (r == 0)
            break;
        done += (size_t)r;
    }
    *got = done;
    return true;
}

/* Write buf to path with the project's one atomic writer (lib/atomic.c);
 * MLP2_EIO, errno telling why, on any failure. */
static mlp2_status write_atomic(const char *path, const unsigned char *buf, size_t size)
{
    mlp2__afile a;
    if (mlp2__afile_open(&a, path) != 0)
        return MLP2_FAIL(MLP2_EIO);
    if (mlp2__write_all(a.fd, buf, size) != 0) {
        mlp2__afile_abort(&a);
        return MLP2_FAIL(MLP2_EIO);
    }
    return mlp2__afile_commit(&a) == 0 ? MLP2_OK : MLP2_FAIL(MLP2_EIO);
}

mlp2_status mlp2_save(const mlp2 *net, const char *path)
{
    if (!net || !path)
        return MLP2_FAIL(MLP2_EINVAL);
    size_t size;
    if (!encoded_size(net, &size))
        return MLP2_FAIL(MLP2_ENOMEM);
    unsigned char *buf = mlp2__alloc(size);
    if (!buf)
        return MLP2_FAIL(MLP2_ENOMEM);
    encode(net, buf, size);
    mlp2_status st = write_atomic(path, buf, size);
    mlp2__free(buf);
    return st;
}

/*
 * Read the open file fd whole into *buf (len bytes).  The header is read and
 * checked against the file's real size first, so a file is only read into
 * memory when its header agrees with its length; whatever it claims, no more
 * than that length is ever allocated.
 */
static mlp2_status read_model_file(int fd, unsigned char **buf, size_t *len)
{
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
        return MLP2_FAIL(MLP2_EIO);
    /* too short, or too long to be a model on this host */
    if (sb.st_size < MIN_FILE_SIZE || (uintmax_t)sb.st_size > SIZE_MAX)
        return MLP2_FAIL(MLP2_EFORMAT);
    size_t size = (size_t)sb.st_size, got;
    unsigned char head[HEADER_SIZE];
    const size_t want = size < sizeof head ? size : sizeof head; /* a version-1 file may be shorter */
    header h;
    if (!read_all(fd, head, want, &got))
        return MLP2_FAIL(MLP2_EIO);
    if (got < want)
        return MLP2_FAIL(MLP2_EFORMAT); /* shrank since fstat */
    mlp2_status st = parse_header(head, size, &h);
    if (st != MLP2_OK)
        return st;
    unsigned char *b = mlp2__alloc(size);
    if (!b)
        return MLP2_FAIL(MLP2_ENOMEM);
    memcpy(b, head, want);
    if (!read_all(fd, b + want, size - want, &got)) {
        mlp2__free(b);
        return MLP2_FAIL(MLP2_EIO);
    }
    *buf = b;
    *len = want + got; /* a file that shrank meanwhile parses as truncated */
    return MLP2_OK;
}

mlp2_status mlp2_load(mlp2 **out, const char *path)
{
    if (!out || !path)
        return MLP2_FAIL(MLP2_EINVAL);
    /* O_NONBLOCK: a FIFO at path must not block the open (it is then
     * refused as not a regular file) */
    int fd;
    do
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return MLP2_FAIL(MLP2_EIO);
    unsigned char *buf = NULL;
    size_t len = 0;
    mlp2_status st = read_model_file(fd, &buf, &len);
    close(fd); /* opened read-only here: nothing left to report */
    if (st != MLP2_OK)
        return st;
    st = mlp2_load_buffer(out, buf, len);
    mlp2__free(buf);
    return st;
}
