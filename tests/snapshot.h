/* snapshot.h - a growing byte image for "nothing changed" checks
 * (header-only), shared by test_badinput.c and test_oom.c.
 *
 * Only the buffer and the folder count are shared: what goes into an image
 * stays with each test (test_badinput.c reads the model through
 * lib/internal.h, test_oom.c only through the public API). */
#ifndef MLP2_SNAPSHOT_H
#define MLP2_SNAPSHOT_H

#include <dirent.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

typedef struct image {
    unsigned char *b;
    size_t n, cap;
} image;

/* append n bytes at p (the test's own realloc, not the library's allocator) */
static inline void img_put(image *im, const void *p, size_t n)
{
    if (im->n + n > im->cap) {
        im->cap = 2 * (im->n + n) + 256;
        im->b = realloc(im->b, im->cap);
        assert_non_null(im->b);
    }
    if (n)
        memcpy(im->b + im->n, p, n);
    im->n += n;
}

/* the folder's entry count, "." and ".." included */
static inline size_t dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n++;
    closedir(d);
    return n;
}

#endif
