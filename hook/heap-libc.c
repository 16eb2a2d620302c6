// SPDX-License-Identifier: MIT
/* heap.c as the process's malloc: linked into the musl build of the hook only,
 * where these definitions take the place of musl's (which keeps its own for its
 * internal allocations, through __libc_malloc). Every entry point a library may
 * call is here, so that no block of musl's allocator reaches heap.c's free(). */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>

#include "heap.h"

void *malloc(size_t size)
{
        return np_heap_malloc(size);
}

void *calloc(size_t n, size_t size)
{
        return np_heap_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
        return np_heap_realloc(p, size);
}

void free(void *p)
{
        np_heap_free(p);
}

void *aligned_alloc(size_t alignment, size_t size)
{
        return np_heap_aligned_alloc(alignment, size);
}

void *memalign(size_t alignment, size_t size)
{
        return np_heap_aligned_alloc(alignment, size);
}

int posix_memalign(void **ret_p, size_t alignment, size_t size)
{
        void *p;

        if (alignment < sizeof(void *))
                return EINVAL;
        p = np_heap_aligned_alloc(alignment, size);
        if (!p)
                return errno;
        *ret_p = p;
        return 0;
}

size_t malloc_usable_size(void *p)
{
        return np_heap_usable_size(p);
}
