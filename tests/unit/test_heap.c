// SPDX-License-Identifier: MIT
/* The hook's allocator (hook/heap.c), called by its own names here: calloc()
 * leaves pages never handed out unwritten and clears a reused block; blocks are
 * aligned and never overlap; realloc() keeps the contents across classes and
 * mappings; freed memory is used again, so a long run stays in the memory of
 * one round; large and aligned blocks go back to the kernel when freed; a
 * double free stops the process with a message. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../hook/heap.h"

#define PAGE     4096u
#define N_BLOCKS 400

/* How many of the whole pages in [p, p + size) are resident. */
static size_t resident_pages(const void *p, size_t size)
{
        uintptr_t first = ((uintptr_t)p + PAGE - 1) & ~(uintptr_t)(PAGE - 1);
        uintptr_t last = ((uintptr_t)p + size) & ~(uintptr_t)(PAGE - 1);
        unsigned char vec[64];
        size_t n = 0;

        assert_true(last > first && (last - first) / PAGE <= sizeof(vec));
        assert_int_equal(mincore((void *)first, last - first, vec), 0);
        for (size_t i = 0; i < (last - first) / PAGE; i++)
                n += vec[i] & 1;
        return n;
}

static void test_heap_calloc_leaves_pages_never_handed_out_unwritten(void **state)
{
        size_t size = 40 * 1024;
        unsigned char *p = np_heap_calloc(1, size);

        assert_non_null(p);
        assert_int_equal(resident_pages(p, size), 0);
        p[size / 2] = 1;
        assert_int_equal(resident_pages(p, size), 1);
        for (size_t i = 0; i < size; i++)
                assert_int_equal(p[i], i == size / 2 ? 1 : 0);
        np_heap_free(p);
}

static void test_heap_calloc_clears_a_reused_block(void **state)
{
        unsigned char *p = np_heap_malloc(100), *q;

        assert_non_null(p);
        memset(p, 0xa5, 100);
        np_heap_free(p);
        q = np_heap_calloc(10, 10);
        assert_ptr_equal(q, p);
        for (size_t i = 0; i < 100; i++)
                assert_int_equal(q[i], 0);
        np_heap_free(q);
}

static void test_heap_calloc_refuses_a_size_that_overflows(void **state)
{
        errno = 0;
        assert_null(np_heap_calloc(SIZE_MAX / 2, 3));
        assert_int_equal(errno, ENOMEM);
}

static size_t size_of(unsigned int i)
{
        return (size_t)(i * 2654435761u) % 70000 + 1; /* 1 byte to past the largest class */
}

static void test_heap_blocks_are_aligned_and_never_overlap(void **state)
{
        unsigned char *blocks[N_BLOCKS];

        for (int round = 0; round < 2; round++) {
                for (unsigned int i = round; i < N_BLOCKS; i += 1 + round) {
                        blocks[i] = np_heap_malloc(size_of(i));
                        assert_non_null(blocks[i]);
                        assert_int_equal((uintptr_t)blocks[i] % 16, 0);
                        assert_true(np_heap_usable_size(blocks[i]) >= size_of(i));
                        memset(blocks[i], (int)(i & 0xff), size_of(i));
                }
                for (unsigned int i = 0; i < N_BLOCKS; i++)
                        for (size_t b = 0; b < size_of(i); b += 97)
                                assert_int_equal(blocks[i][b], i & 0xff);
                /* the first round's odd blocks go, the second round takes them again */
                for (unsigned int i = 1; round == 0 && i < N_BLOCKS; i += 2)
                        np_heap_free(blocks[i]);
        }
        for (unsigned int i = 0; i < N_BLOCKS; i++)
                np_heap_free(blocks[i]);
}

static void test_heap_realloc_keeps_the_contents(void **state)
{
        size_t sizes[] = { 10, 16, 17, 1000, 65536, 65537, 300000, 5000000 };
        unsigned char *p = NULL, *previous;
        size_t filled = 0;

        for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
                previous = p;
                p = np_heap_realloc(p, sizes[s]);
                assert_non_null(p);
                if (sizes[s] == 16)
                        assert_ptr_equal(p, previous); /* 10 bytes took the 16-byte class */
                for (size_t i = 0; i < filled; i++)
                        assert_int_equal(p[i], (unsigned char)(i * 7));
                for (size_t i = filled; i < sizes[s]; i++)
                        p[i] = (unsigned char)(i * 7);
                filled = sizes[s];
        }
        np_heap_free(p);
}

static void test_heap_freed_memory_is_used_again(void **state)
{
        size_t after_first = 0;

        for (int round = 0; round < 20000; round++) {
                void *p[8];

                for (unsigned int i = 0; i < 8; i++)
                        p[i] = np_heap_malloc(size_of(i * 31 + 5) % 9000 + 1);
                for (unsigned int i = 0; i < 8; i++)
                        np_heap_free(p[(i * 3) % 8]);
                if (round == 0)
                        after_first = np_heap_mapped();
        }
        assert_int_equal(np_heap_mapped(), after_first);
}

static void test_heap_large_and_aligned_blocks_go_back_when_freed(void **state)
{
        size_t before = np_heap_mapped();
        void *large = np_heap_malloc(1 << 20), *aligned[2];
        size_t alignments[] = { 64, 4096 };

        assert_non_null(large);
        assert_true(np_heap_mapped() >= before + (1 << 20));
        for (size_t i = 0; i < 2; i++) {
                aligned[i] = np_heap_aligned_alloc(alignments[i], 1000);
                assert_non_null(aligned[i]);
                assert_int_equal((uintptr_t)aligned[i] % alignments[i], 0);
                assert_true(np_heap_usable_size(aligned[i]) >= 1000);
                memset(aligned[i], 1, 1000);
        }
        np_heap_free(large);
        np_heap_free(aligned[0]);
        np_heap_free(aligned[1]);
        assert_int_equal(np_heap_mapped(), before);

        errno = 0;
        assert_null(np_heap_aligned_alloc(48, 10));
        assert_int_equal(errno, EINVAL);
        assert_null(np_heap_aligned_alloc(8192, 10));
        assert_int_equal(errno, EINVAL);
}

static void test_heap_double_free_stops_the_process_with_a_message(void **state)
{
        char message[256] = "";
        int fds[2], status;
        ssize_t n;
        pid_t pid;

        assert_int_equal(pipe(fds), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                void *p = np_heap_malloc(32);

                dup2(fds[1], STDERR_FILENO);
                np_heap_free(p);
                np_heap_free(p);
                _exit(0);
        }
        close(fds[1]);
        for (size_t got = 0; (n = read(fds[0], message + got, sizeof(message) - 1 - got)) > 0;)
                got += (size_t)n;
        close(fds[0]);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), SIGABRT);
        assert_string_equal(message, "numapin-hook: heap: a block freed twice\n");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_heap_calloc_leaves_pages_never_handed_out_unwritten),
                cmocka_unit_test(test_heap_calloc_clears_a_reused_block),
                cmocka_unit_test(test_heap_calloc_refuses_a_size_that_overflows),
                cmocka_unit_test(test_heap_blocks_are_aligned_and_never_overlap),
                cmocka_unit_test(test_heap_realloc_keeps_the_contents),
                cmocka_unit_test(test_heap_freed_memory_is_used_again),
                cmocka_unit_test(test_heap_large_and_aligned_blocks_go_back_when_freed),
                cmocka_unit_test(test_heap_double_free_stops_the_process_with_a_message),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
