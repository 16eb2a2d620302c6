// SPDX-License-Identifier: MIT
/* The NRI call arena (nri/arena.c): a CreateContainerRequest unpacked through it
 * reads as one unpacked with malloc, also when it outgrows the first block; the
 * memory it hands out is aligned and never overlaps; a reset gives it all back
 * and the arena serves the next call. */
#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../nri/arena.h"
#include "nri.pb-c.h"

/* A packed CreateContainerRequest whose container has `n` annotations. */
static uint8_t *packed_request(size_t n, size_t *ret_len)
{
        Nri__CreateContainerRequest request = NRI__CREATE_CONTAINER_REQUEST__INIT;
        Nri__PodSandbox pod = NRI__POD_SANDBOX__INIT;
        Nri__Container container = NRI__CONTAINER__INIT;
        Nri__Container__AnnotationsEntry *entries = calloc(n, sizeof(*entries));
        Nri__Container__AnnotationsEntry **list = calloc(n, sizeof(*list));
        char(*keys)[32] = calloc(n, sizeof(*keys));
        uint8_t *buf;

        assert_non_null(entries);
        assert_non_null(list);
        assert_non_null(keys);
        pod.id = "pod-1";
        pod.name = "web";
        pod.namespace_ = "default";
        container.id = "ctr-1";
        container.pod_sandbox_id = "pod-1";
        container.name = "app";
        for (size_t i = 0; i < n; i++) {
                nri__container__annotations_entry__init(&entries[i]);
                snprintf(keys[i], sizeof(keys[i]), "key-%zu.numapin.io/pod", i);
                entries[i].key = (ProtobufCBinaryData){ .len = strlen(keys[i]), .data = (uint8_t *)keys[i] };
                entries[i].value = (ProtobufCBinaryData){ .len = 4, .data = (uint8_t *)(i % 2 ? "bind" : "auto") };
                list[i] = &entries[i];
        }
        container.n_annotations = n;
        container.annotations = list;
        request.pod = &pod;
        request.container = &container;
        *ret_len = nri__create_container_request__get_packed_size(&request);
        buf = malloc(*ret_len ? *ret_len : 1);
        assert_non_null(buf);
        nri__create_container_request__pack(&request, buf);
        free(keys);
        free(list);
        free(entries);
        return buf;
}

static void assert_same_request(const Nri__CreateContainerRequest *a, const Nri__CreateContainerRequest *b)
{
        assert_string_equal(a->pod->id, b->pod->id);
        assert_string_equal(a->pod->namespace_, b->pod->namespace_);
        assert_string_equal(a->container->id, b->container->id);
        assert_string_equal(a->container->name, b->container->name);
        assert_int_equal(a->container->n_annotations, b->container->n_annotations);
        for (size_t i = 0; i < a->container->n_annotations; i++) {
                const Nri__Container__AnnotationsEntry *x = a->container->annotations[i],
                                                       *y = b->container->annotations[i];

                assert_int_equal(x->key.len, y->key.len);
                assert_memory_equal(x->key.data, y->key.data, x->key.len);
                assert_int_equal(x->value.len, y->value.len);
                assert_memory_equal(x->value.data, y->value.data, x->value.len);
        }
}

static void test_arena_unpacks_a_request_as_malloc_does(void **state)
{
        struct nri_arena arena;

        nri_arena_init(&arena);
        /* a few annotations, then far more than the first block holds */
        for (size_t n = 0; n <= 4000; n = n ? n * 4 : 3) {
                size_t len;
                uint8_t *buf = packed_request(n, &len);
                Nri__CreateContainerRequest *by_malloc = nri__create_container_request__unpack(NULL, len, buf);
                Nri__CreateContainerRequest *by_arena =
                        nri__create_container_request__unpack(&arena.allocator, len, buf);

                assert_non_null(by_malloc);
                assert_non_null(by_arena);
                assert_same_request(by_arena, by_malloc);
                nri__create_container_request__free_unpacked(by_malloc, NULL);
                nri_arena_reset(&arena);
                free(buf);
        }
        nri_arena_free(&arena);
}

static void test_arena_hands_out_aligned_memory_that_never_overlaps(void **state)
{
        struct nri_arena arena;
        struct {
                unsigned char *p;
                size_t size;
        } got[300];

        nri_arena_init(&arena);
        for (int round = 0; round < 2; round++) {
                for (size_t i = 0; i < 300; i++) {
                        size_t size = (i * 37) % 700 + 1;

                        if (i == 150)
                                size = 100000; /* larger than any block so far */
                        got[i].p = arena.allocator.alloc(arena.allocator.allocator_data, size);
                        got[i].size = size;
                        assert_non_null(got[i].p);
                        assert_int_equal((uintptr_t)got[i].p % alignof(max_align_t), 0);
                        memset(got[i].p, (int)(i & 0xff), size);
                        arena.allocator.free(arena.allocator.allocator_data, got[i].p); /* does nothing */
                }
                /* each block still holds what was written to it */
                for (size_t i = 0; i < 300; i++)
                        for (size_t j = 0; j < got[i].size; j++)
                                assert_int_equal(got[i].p[j], (unsigned char)(i & 0xff));
                nri_arena_reset(&arena);
        }
        /* a size no block could hold is refused, not wrapped around */
        assert_null(arena.allocator.alloc(arena.allocator.allocator_data, SIZE_MAX - 8));
        nri_arena_free(&arena);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_arena_unpacks_a_request_as_malloc_does),
                cmocka_unit_test(test_arena_hands_out_aligned_memory_that_never_overlaps),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
