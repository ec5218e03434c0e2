/* countalloc.h - a counting allocator for mlp2_set_allocator (header-only),
 * shared by the allocation-failure, bad-input and fuzz tests.
 *
 * It counts every allocation, tracks the blocks and bytes still live, can
 * make the k-th allocation fail (once, or from then on) and refuses any
 * single request above a size limit.  Each block carries a header with its
 * size and a magic word, so a free of a block it did not make, or a double
 * free, is caught (ca_state.bad_frees) instead of corrupting the heap. */
#ifndef MLP2_COUNTALLOC_H
#define MLP2_COUNTALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mlp2.h>

typedef struct ca_state {
    size_t calls;       /* allocation requests seen (failed ones included) */
    size_t fail_at;     /* 1-based request number that fails; 0: none */
    bool persistent;    /* fail every request from fail_at on, not only that one */
    bool failed;        /* an injected failure happened */
    size_t limit;       /* refuse single requests above this many bytes; 0: no limit */
    size_t live;        /* blocks allocated and not yet freed */
    size_t live_bytes;  /* their total size */
    size_t peak_bytes;  /* the largest live_bytes seen */
    size_t bad_frees;   /* frees of blocks this allocator did not hand out */
} ca_state;

#define CA_MAGIC 0x6d6c7032616c6c63ull /* "mlp2allc" */
#define CA_FREED 0x6465616464656164ull

typedef union ca_header {
    struct {
        uint64_t magic;
        size_t size;
    } h;
    max_align_t align; /* keeps the user block aligned for double */
} ca_header;

static inline void *ca_alloc(void *ud, size_t size)
{
    ca_state *s = ud;
    s->calls++;
    if (s->fail_at && (s->calls == s->fail_at || (s->persistent && s->calls > s->fail_at))) {
        s->failed = true;
        return NULL;
    }
    if ((s->limit && size > s->limit) || size > SIZE_MAX - sizeof(ca_header))
        return NULL;
    ca_header *p = malloc(sizeof(ca_header) + size);
    if (!p)
        return NULL;
    p->h.magic = CA_MAGIC;
    p->h.size = size;
    s->live++;
    s->live_bytes += size;
    if (s->live_bytes > s->peak_bytes)
        s->peak_bytes = s->live_bytes;
    return p + 1;
}

static inline void ca_free(void *ud, void *ptr)
{
    ca_state *s = ud;
    if (!ptr) { /* the allocator contract says never NULL */
        s->bad_frees++;
        return;
    }
    ca_header *p = (ca_header *)ptr - 1;
    if (p->h.magic != CA_MAGIC || s->live == 0) {
        s->bad_frees++;
        return;
    }
    p->h.magic = CA_FREED;
    s->live--;
    s->live_bytes -= p->h.size;
    free(p);
}

/* Install s as the library's allocator (with no failure armed). */
static inline void ca_install(ca_state *s)
{
    memset(s, 0, sizeof *s);
    mlp2_set_allocator(ca_alloc, ca_free, s);
}

/* Arm a failure of request number k counted from now (k >= 1). */
static inline void ca_arm(ca_state *s, size_t k, bool persistent)
{
    s->calls = 0;
    s->fail_at = k;
    s->persistent = persistent;
    s->failed = false;
}

static inline void ca_disarm(ca_state *s)
{
    s->fail_at = 0;
    s->persistent = false;
}

#endif
