// SPDX-License-Identifier: MIT
/* The hook's allocator: a process that lives a millisecond, one thread, a few
 * hundred allocations. Blocks come in power-of-two classes from 16 bytes to
 * 64 KiB, carved in order from 1 MiB mappings and kept on a list per class once
 * freed; larger blocks are mappings of their own. A block never handed out
 * before is still the kernel's zero page, so calloc() clears only reused ones
 * and a page faults in only when it is written. musl's allocator took 24 more
 * faults a run in the hook (each ~2.5 us on a virtual machine): it faults twice
 * on fresh pages, reading a slot's header before writing it, and clears what
 * calloc() returns. Not thread-safe: the hook starts no thread. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "heap.h"

#define MIN_SHIFT  4
#define MAX_SHIFT  16
#define N_CLASSES  (MAX_SHIFT - MIN_SHIFT + 1)
#define MAPPED     N_CLASSES /* the class of a block that is a mapping of its own */
#define CHUNK_SIZE ((size_t)1 << 20)
#define PAGE_SIZE  4096u

enum {
        LIVE = 0x6e70686c,  /* "nphl" */
        FREED = 0x6e706866, /* "nphf" */
};

/* Before every block, 16 bytes, so that what follows is aligned for any type. */
struct block {
        uint16_t size_class;
        uint16_t lead; /* MAPPED: bytes of the mapping before this header */
        uint32_t state;
        size_t size; /* its class's size; MAPPED: the mapping's length */
};

struct freed {
        struct freed *next;
};

static struct {
        char *next, *end; /* the current chunk's part never handed out */
        struct freed *lists[N_CLASSES];
        size_t mapped;
} heap;

/* A block's header is damaged, or it was freed before: nothing is safe any more. */
static _Noreturn void corrupt(const char *what)
{
        static const char prefix[] = "numapin-hook: heap: ";
        char line[128];
        size_t n = sizeof(prefix) - 1, length = strlen(what);

        memcpy(line, prefix, n);
        memcpy(line + n, what, length);
        line[n + length] = '\n';
        (void)!write(STDERR_FILENO, line, n + length + 1);
        abort();
}

static struct block *block_of(const void *p)
{
        struct block *block = (struct block *)p - 1;

        if (block->state == FREED)
                corrupt("a block freed twice");
        if (block->state != LIVE || block->size_class > MAPPED)
                corrupt("a pointer it did not hand out");
        return block;
}

static unsigned int class_of(size_t size)
{
        if (size <= (size_t)1 << MIN_SHIFT)
                return 0;
        return (unsigned int)(64 - __builtin_clzl(size - 1)) - MIN_SHIFT;
}

static void *map(size_t length)
{
        void *p = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

        if (p == MAP_FAILED) {
                errno = ENOMEM;
                return NULL;
        }
        heap.mapped += length;
        return p;
}

/* A mapping whose payload, `alignment`-aligned, holds `size` bytes. */
static void *map_block(size_t size, size_t alignment)
{
        size_t lead = alignment > sizeof(struct block) ? alignment - sizeof(struct block) : 0;
        size_t length;
        struct block *block;
        char *p;

        if (size > SIZE_MAX - lead - sizeof(struct block) - PAGE_SIZE) {
                errno = ENOMEM;
                return NULL;
        }
        length = (lead + sizeof(struct block) + size + PAGE_SIZE - 1) & ~(size_t)(PAGE_SIZE - 1);
        p = map(length);
        if (!p)
                return NULL;
        block = (struct block *)(p + lead);
        *block = (struct block){ .size_class = MAPPED, .lead = (uint16_t)lead, .state = LIVE, .size = length };
        return block + 1;
}

/* A block of `size` bytes; *ret_fresh tells whether it was never handed out. */
static void *allocate(size_t size, bool *ret_fresh)
{
        unsigned int size_class;
        size_t need;
        struct block *block;

        *ret_fresh = true;
        if (size > (size_t)1 << MAX_SHIFT)
                return map_block(size, 0);
        size_class = class_of(size);
        if (heap.lists[size_class]) {
                struct freed *reused = heap.lists[size_class];

                heap.lists[size_class] = reused->next;
                block = (struct block *)reused - 1;
                block->state = LIVE;
                *ret_fresh = false;
                return block + 1;
        }
        need = sizeof(struct block) + ((size_t)1 << (size_class + MIN_SHIFT));
        if ((size_t)(heap.end - heap.next) < need) {
                /* the rest of the old chunk, under 64 KiB, is never written: it costs no memory */
                char *chunk = map(CHUNK_SIZE);

                if (!chunk)
                        return NULL;
                /* where transparent huge pages are "always", one write would clear 2 MiB */
                (void)madvise(chunk, CHUNK_SIZE, MADV_NOHUGEPAGE);
                heap.next = chunk;
                heap.end = chunk + CHUNK_SIZE;
        }
        block = (struct block *)heap.next;
        heap.next += need;
        block->size_class = (uint16_t)size_class;
        block->lead = 0;
        block->state = LIVE;
        block->size = (size_t)1 << (size_class + MIN_SHIFT);
        return block + 1;
}

void *np_heap_malloc(size_t size)
{
        bool fresh;

        return allocate(size, &fresh);
}

void *np_heap_calloc(size_t n, size_t size)
{
        bool fresh;
        void *p;

        if (size && n > SIZE_MAX / size) {
                errno = ENOMEM;
                return NULL;
        }
        p = allocate(n * size, &fresh);
        if (p && !fresh)
                memset(p, 0, n * size);
        return p;
}

void np_heap_free(void *p)
{
        struct block *block;
        struct freed *freed;

        if (!p)
                return;
        block = block_of(p);
        if (block->size_class == MAPPED) {
                heap.mapped -= block->size;
                munmap((char *)block - block->lead, block->size);
                return;
        }
        block->state = FREED;
        freed = p;
        freed->next = heap.lists[block->size_class];
        heap.lists[block->size_class] = freed;
}

size_t np_heap_usable_size(const void *p)
{
        const struct block *block;

        if (!p)
                return 0;
        block = block_of(p);
        if (block->size_class == MAPPED)
                return block->size - block->lead - sizeof(struct block);
        return block->size;
}

void *np_heap_realloc(void *p, size_t size)
{
        size_t usable = np_heap_usable_size(p);
        struct block *block;
        void *moved;

        if (!p)
                return np_heap_malloc(size);
        if (size <= usable)
                return p;
        block = block_of(p);
        if (block->size_class == MAPPED && block->lead == 0 && size <= SIZE_MAX - sizeof(struct block) - PAGE_SIZE) {
                size_t length = (sizeof(struct block) + size + PAGE_SIZE - 1) & ~(size_t)(PAGE_SIZE - 1);

                block = mremap(block, block->size, length, MREMAP_MAYMOVE);
                if (block == MAP_FAILED) {
                        errno = ENOMEM;
                        return NULL;
                }
                heap.mapped += length - block->size;
                block->size = length;
                return block + 1;
        }
        moved = np_heap_malloc(size);
        if (!moved)
                return NULL;
        memcpy(moved, p, usable);
        np_heap_free(p);
        return moved;
}

void *np_heap_aligned_alloc(size_t alignment, size_t size)
{
        if (alignment == 0 || (alignment & (alignment - 1)) != 0 || alignment > PAGE_SIZE) {
                errno = EINVAL;
                return NULL;
        }
        if (alignment <= sizeof(struct block))
                return np_heap_malloc(size);
        return map_block(size, alignment);
}

size_t np_heap_mapped(void)
{
        return heap.mapped;
}
