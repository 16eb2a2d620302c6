/* SPDX-License-Identifier: MIT */
/* Memory for the messages of one NRI call: protobuf-c unpacks a request into
 * some thirty separate allocations (its pod, container, labels, annotations,
 * mounts...), and frees them one by one again. Through an arena's allocator
 * they are cut from one block that stays between calls, and all go at once
 * when the call is served. */
#pragma once

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

struct nri_arena_block;

struct nri_arena {
        ProtobufCAllocator allocator;   /* hands out the arena's memory; its free does nothing */
        struct nri_arena_block *blocks; /* the newest first */
        size_t used;                    /* of the newest block */
};

void nri_arena_init(struct nri_arena *arena);
/* Everything handed out is gone. The first block stays for the next call, unless
 * it grew past a size an idle plugin should not hold (and never in the sanitizer
 * build, where a use after the reset is then an error the sanitizer reports). */
void nri_arena_reset(struct nri_arena *arena);
void nri_arena_free(struct nri_arena *arena);
