// SPDX-License-Identifier: MIT
/* A bump allocator for protobuf-c, reset after each NRI call (arena.h). */
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>

#include "arena.h"

#define FIRST_BLOCK 32768 /* a CreateContainerRequest of a busy pod fits */
#define KEPT_BLOCK  65536 /* the most kept between calls */
#define ALIGNMENT   alignof(max_align_t)

struct nri_arena_block {
        struct nri_arena_block *next; /* older */
        size_t size;                  /* of data */
        alignas(max_align_t) unsigned char data[];
};

static void *arena_alloc(void *allocator_data, size_t size)
{
        struct nri_arena *arena = allocator_data;
        struct nri_arena_block *block = arena->blocks;
        size_t rounded;

        if (size > SIZE_MAX / 4)
                return NULL;
        rounded = (size + ALIGNMENT - 1) & ~(ALIGNMENT - 1);
        if (!block || block->size - arena->used < rounded) {
                size_t grown = block ? block->size * 2 : FIRST_BLOCK;

                if (grown < rounded)
                        grown = rounded;
                block = malloc(sizeof(*block) + grown);
                if (!block)
                        return NULL;
                block->size = grown;
                block->next = arena->blocks;
                arena->blocks = block;
                arena->used = 0;
        }
        arena->used += rounded;
        return block->data + arena->used - rounded;
}

static void arena_free(void *allocator_data, void *pointer)
{
        /* the whole arena goes at its reset */
}

void nri_arena_init(struct nri_arena *arena)
{
        *arena = (struct nri_arena){ .allocator = {
                                             .alloc = arena_alloc, .free = arena_free, .allocator_data = arena } };
}

static void free_blocks(struct nri_arena_block *block)
{
        while (block) {
                struct nri_arena_block *next = block->next;

                free(block);
                block = next;
        }
}

void nri_arena_reset(struct nri_arena *arena)
{
        struct nri_arena_block *kept = arena->blocks; /* the newest, and the largest */

#ifdef NP_SANITIZE
        kept = NULL;
#endif
        if (kept && kept->size > KEPT_BLOCK)
                kept = NULL;
        free_blocks(kept ? kept->next : arena->blocks);
        if (kept)
                kept->next = NULL;
        arena->blocks = kept;
        arena->used = 0;
}

void nri_arena_free(struct nri_arena *arena)
{
        free_blocks(arena->blocks);
        arena->blocks = NULL;
        arena->used = 0;
}
