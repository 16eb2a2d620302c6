// SPDX-License-Identifier: MIT
/* Small helpers of the harness: a monotonic clock, big-endian words, allocation
 * that dies on failure, checked number and cpulist parsing, and the arena the
 * runtime builds its protobuf messages in. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

#define CPUSET_WORDS 16 /* 1024 CPUs */

uint64_t now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void sleep_ms(unsigned int ms)
{
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

void put_be32(uint8_t *p, uint32_t v)
{
        p[0] = (uint8_t)(v >> 24);
        p[1] = (uint8_t)(v >> 16);
        p[2] = (uint8_t)(v >> 8);
        p[3] = (uint8_t)v;
}

uint32_t get_be32(const uint8_t *p)
{
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void *xmalloc(size_t size)
{
        void *p = malloc(size ? size : 1);

        if (!p)
                die("out of memory");
        return p;
}

void *xmemdup(const void *data, size_t len)
{
        void *p = xmalloc(len);

        if (len)
                memcpy(p, data, len);
        return p;
}

/* Copies src into dst (size bytes); false when it does not fit. */
bool copy_str(char *dst, size_t size, const char *src)
{
        return (size_t)snprintf(dst, size, "%s", src ? src : "") < size;
}

/* Decimal digits only, no sign, at most max. */
int parse_u64(const char *s, uint64_t max, uint64_t *ret)
{
        uint64_t v = 0;

        if (!*s)
                return -EINVAL;
        for (; *s; s++) {
                unsigned int digit;

                if (*s < '0' || *s > '9')
                        return -EINVAL;
                digit = (unsigned int)(*s - '0');
                if (v > (max - digit) / 10)
                        return -ERANGE;
                v = v * 10 + digit;
        }
        *ret = v;
        return 0;
}

int parse_i64(const char *s, int64_t *ret)
{
        bool negative = *s == '-';
        uint64_t v;
        int r;

        r = parse_u64(s + negative, negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, &v);
        if (r < 0)
                return r;
        *ret = negative ? (int64_t)(0 - v) : (int64_t)v;
        return 0;
}

/* A kernel cpulist ("0-3,8") as a bitmap; -EINVAL when malformed. */
static int cpulist_parse(const char *s, uint64_t set[CPUSET_WORDS])
{
        char buf[1024], *save = NULL, *range;

        memset(set, 0, CPUSET_WORDS * sizeof(uint64_t));
        if (!copy_str(buf, sizeof(buf), s))
                return -E2BIG;
        for (range = strtok_r(buf, ",", &save); range; range = strtok_r(NULL, ",", &save)) {
                char *dash = strchr(range, '-');
                uint64_t first, last;

                if (dash)
                        *dash = '\0';
                if (parse_u64(range, CPUSET_WORDS * 64 - 1, &first) < 0 ||
                    parse_u64(dash ? dash + 1 : range, CPUSET_WORDS * 64 - 1, &last) < 0 || last < first)
                        return -EINVAL;
                for (uint64_t cpu = first; cpu <= last; cpu++)
                        set[cpu / 64] |= 1ull << (cpu % 64);
        }
        return 0;
}

unsigned int cpulist_count(const char *s)
{
        uint64_t set[CPUSET_WORDS];
        unsigned int n = 0;

        if (cpulist_parse(s, set) < 0)
                return 0;
        for (size_t i = 0; i < CPUSET_WORDS; i++)
                n += (unsigned int)__builtin_popcountll(set[i]);
        return n;
}

bool cpulist_disjoint(const char *a, const char *b)
{
        uint64_t x[CPUSET_WORDS], y[CPUSET_WORDS];

        if (cpulist_parse(a, x) < 0 || cpulist_parse(b, y) < 0)
                return false;
        for (size_t i = 0; i < CPUSET_WORDS; i++)
                if (x[i] & y[i])
                        return false;
        return true;
}

/* The same CPUs, however written ("2,3" and "2-3"); false when either is malformed. */
bool cpulist_equal(const char *a, const char *b)
{
        uint64_t x[CPUSET_WORDS], y[CPUSET_WORDS];

        return cpulist_parse(a, x) == 0 && cpulist_parse(b, y) == 0 && memcmp(x, y, sizeof(x)) == 0;
}

/* ---- an arena for the protobuf messages the runtime builds ------------------------------- */

void *arena_alloc(struct arena *a, size_t size)
{
        void *p = calloc(1, size ? size : 1);

        if (!p)
                die("out of memory");
        if (a->n == a->cap) {
                size_t cap = a->cap ? a->cap * 2 : 64;
                void **grown = realloc(a->blocks, cap * sizeof(*grown));

                if (!grown)
                        die("out of memory");
                a->blocks = grown;
                a->cap = cap;
        }
        a->blocks[a->n++] = p;
        return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
        size_t len = strlen(s);

        return memcpy(arena_alloc(a, len + 1), s, len);
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
        char buf[4096];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        return arena_strdup(a, buf);
}

void arena_free(struct arena *a)
{
        for (size_t i = 0; i < a->n; i++)
                free(a->blocks[i]);
        free(a->blocks);
        *a = (struct arena){};
}
