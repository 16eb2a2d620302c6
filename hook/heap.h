/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

/* The hook's allocator (heap.c); heap-libc.c makes it the process's malloc. */
void *np_heap_malloc(size_t size);
void *np_heap_calloc(size_t n, size_t size);
void *np_heap_realloc(void *p, size_t size);
void np_heap_free(void *p);
/* alignment: a power of two up to the page size; NULL with errno EINVAL otherwise */
void *np_heap_aligned_alloc(size_t alignment, size_t size);
size_t np_heap_usable_size(const void *p);
/* what the heap has mapped now, in bytes */
size_t np_heap_mapped(void);
