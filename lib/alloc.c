/* alloc.c - the library's single allocation path, replaceable by the user. */
#include "internal.h"

#include <stdlib.h>

static void *default_alloc(void *ud, size_t size)
{
    (void)ud;
    return malloc(size);
}

static void default_free(void *ud, void *p)
{
    (void)ud;
    free(p);
}

static struct {
    mlp2_alloc_fn alloc;
    mlp2_free_fn free;
    void *ud;
} allocator = {default_alloc, default_free, NULL};

mlp2_status mlp2_set_allocator(mlp2_alloc_fn alloc_fn, mlp2_free_fn free_fn, void *ud)
{
    if (!alloc_fn && !free_fn) {
        allocator.alloc = default_alloc;
        allocator.free = default_free;
        allocator.ud = NULL;
        return MLP2_OK;
    }
    if (!alloc_fn || !free_fn)
        return MLP2_FAIL(MLP2_EINVAL);
    allocator.alloc = alloc_fn;
    allocator.free = free_fn;
    allocator.ud = ud;
    return MLP2_OK;
}

void *mlp2__alloc(size_t size)
{
    if (size == 0)
        return NULL;
    return allocator.alloc(allocator.ud, size);
}

void *mlp2__alloc_array(size_t n, size_t sz)
{
    size_t bytes;
    if (!mlp2__mul(n, sz, &bytes))
        return NULL;
    return mlp2__alloc(bytes);
}

void mlp2__free(void *p)
{
    if (p)
        allocator.free(allocator.ud, p);
}
