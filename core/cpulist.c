// SPDX-License-Identifier: MIT
/* The id set used for CPUs and NUMA nodes, and its kernel list syntax. Parsing
 * is strict: decimal ids, ascending ranges, no empty elements, no duplicates
 * hidden by overlapping ranges going unnoticed (they are simply merged). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpulist.h"

void np_cpulist_zero(struct np_cpulist *list)
{
        memset(list, 0, sizeof(*list));
}

void np_cpulist_clear(struct np_cpulist *list, unsigned int id)
{
        if (id < NP_CPULIST_MAX)
                list->bits[id / 64] &= ~(UINT64_C(1) << (id % 64));
}

unsigned int np_cpulist_count(const struct np_cpulist *list)
{
        unsigned int n = 0;

        for (size_t i = 0; i < NP_CPULIST_WORDS; i++)
                n += np_popcount64(list->bits[i]);
        return n;
}

bool np_cpulist_empty(const struct np_cpulist *list)
{
        for (size_t i = 0; i < NP_CPULIST_WORDS; i++)
                if (list->bits[i])
                        return false;
        return true;
}

bool np_cpulist_equal(const struct np_cpulist *a, const struct np_cpulist *b)
{
        return memcmp(a->bits, b->bits, sizeof(a->bits)) == 0;
}

bool np_cpulist_is_subset(const struct np_cpulist *sub, const struct np_cpulist *super)
{
        for (size_t i = 0; i < NP_CPULIST_WORDS; i++)
                if (sub->bits[i] & ~super->bits[i])
                        return false;
        return true;
}

bool np_cpulist_intersects(const struct np_cpulist *a, const struct np_cpulist *b)
{
        for (size_t i = 0; i < NP_CPULIST_WORDS; i++)
                if (a->bits[i] & b->bits[i])
                        return true;
        return false;
}

void np_cpulist_and(struct np_cpulist *dst, const struct np_cpulist *src)
{
        for (size_t i = 0; i < NP_CPULIST_WORDS; i++)
                dst->bits[i] &= src->bits[i];
}

void np_cpulist_or(struct np_cpulist *dst, const struct np_cpulist *src)
{
        for (size_t i = 0; i < NP_CPULIST_WORDS; i++)
                dst->bits[i] |= src->bits[i];
}

void np_cpulist_andnot(struct np_cpulist *dst, const struct np_cpulist *src)
{
        for (size_t i = 0; i < NP_CPULIST_WORDS; i++)
                dst->bits[i] &= ~src->bits[i];
}

int np_cpulist_next(const struct np_cpulist *list, unsigned int from)
{
        size_t w = from / 64;
        uint64_t word;

        if (from >= NP_CPULIST_MAX)
                return -1;
        word = list->bits[w] & (~UINT64_C(0) << (from % 64));
        while (!word) { /* whole words from here: a FOREACH's last call scans them all */
                if (++w == NP_CPULIST_WORDS)
                        return -1;
                word = list->bits[w];
        }
        return (int)(w * 64 + (size_t)__builtin_ctzll(word));
}

struct np_cpuwords np_cpulist_words(const struct np_cpulist *list)
{
        unsigned int first = 0, end = NP_CPULIST_WORDS;

        while (first < end && !list->bits[first])
                first++;
        while (end > first && !list->bits[end - 1])
                end--;
        return (struct np_cpuwords){ .words = list->bits + first, .first = first, .n = end - first };
}

unsigned int np_cpuwords_count(struct np_cpuwords w)
{
        unsigned int n = 0;

        for (unsigned int i = 0; i < w.n; i++)
                n += np_popcount64(w.words[i]);
        return n;
}

void np_cpulist_or_words(struct np_cpulist *dst, struct np_cpuwords src)
{
        for (unsigned int i = 0; i < src.n; i++)
                dst->bits[src.first + i] |= src.words[i];
}

int np_cpuwords_next(struct np_cpuwords w, unsigned int from)
{
        unsigned int i = from / 64 < w.first ? 0 : from / 64 - w.first;
        uint64_t word;

        if (i >= w.n)
                return -1;
        word = w.words[i] & (from / 64 < w.first ? ~UINT64_C(0) : ~UINT64_C(0) << (from % 64));
        while (!word) {
                if (++i == w.n)
                        return -1;
                word = w.words[i];
        }
        return (int)((w.first + i) * 64 + (unsigned int)__builtin_ctzll(word));
}

/* Parses one id of an element; `end` is where the digits stop. Decimal only,
 * without a leading zero; only a long number is -ERANGE, not a long word. The
 * digits are read here, not by np_parse_u32(): a first start reads 500 lists. */
static int parse_id(const char *start, const char *end, unsigned int limit, unsigned int *ret_id)
{
        size_t len = (size_t)(end - start);
        uint32_t id = 0;

        if (len == 0 || (len > 1 && start[0] == '0'))
                return -EINVAL;
        for (const char *p = start; p < end; p++)
                if (*p < '0' || *p > '9')
                        return -EINVAL;
        if (len > 7) /* beyond any CPU or node id */
                return -ERANGE;
        for (const char *p = start; p < end; p++)
                id = id * 10 + (uint32_t)(*p - '0');
        if (id > limit - 1)
                return -ERANGE;
        *ret_id = id;
        return 0;
}

int np_cpulist_parse(const char *s, unsigned int limit, const char *what, struct np_diag *diag,
                     struct np_cpulist *ret_list)
{
        struct np_cpulist list;
        char quoted[128];
        const char *p = s;
        size_t len = strlen(s);

        if (limit == 0 || limit > NP_CPULIST_MAX)
                limit = NP_CPULIST_MAX;
        if (len > 0 && s[len - 1] == '\n')
                len--;
        np_cpulist_zero(&list);
        if (len == 0) {
                *ret_list = list;
                return 0;
        }
        while (p < s + len) {
                const char *comma = memchr(p, ',', (size_t)(s + len - p));
                const char *elem_end = comma ? comma : s + len;
                const char *dash = memchr(p, '-', (size_t)(elem_end - p));
                unsigned int first, last;
                int r;

                r = parse_id(p, dash ? dash : elem_end, limit, &first);
                if (r == 0)
                        last = first;
                if (r == 0 && dash)
                        r = parse_id(dash + 1, elem_end, limit, &last);
                if (r == -ERANGE)
                        return np_diag_fail(diag, -ERANGE, "%s: '%s' has an id beyond %u; expected ids 0-%u", what,
                                            np_log_quote(quoted, sizeof(quoted), s), limit - 1, limit - 1);
                if (r < 0)
                        return np_diag_fail(diag, -EINVAL,
                                            "%s: '%s' is not a list; expected decimal ids and ranges such as '0,2-3'",
                                            what, np_log_quote(quoted, sizeof(quoted), s));
                if (last < first)
                        return np_diag_fail(diag, -EINVAL, "%s: '%s' has a descending range %u-%u; expected low-high",
                                            what, np_log_quote(quoted, sizeof(quoted), s), first, last);
                for (unsigned int id = first; id <= last; id++)
                        np_cpulist_set(&list, id);
                if (!comma)
                        break;
                p = comma + 1;
                if (p == s + len)
                        return np_diag_fail(diag, -EINVAL,
                                            "%s: '%s' ends with a comma; expected ids and ranges such as '0,2-3'", what,
                                            np_log_quote(quoted, sizeof(quoted), s));
        }
        *ret_list = list;
        return 0;
}

/* The lowest id >= `from` not in the list; NP_CPULIST_MAX when there is none. */
static unsigned int next_absent(const struct np_cpulist *list, unsigned int from)
{
        size_t w = from / 64;
        uint64_t word;

        if (from >= NP_CPULIST_MAX)
                return NP_CPULIST_MAX;
        word = ~list->bits[w] & (~UINT64_C(0) << (from % 64));
        while (!word) {
                if (++w == NP_CPULIST_WORDS)
                        return NP_CPULIST_MAX;
                word = ~list->bits[w];
        }
        return (unsigned int)(w * 64 + (size_t)__builtin_ctzll(word));
}

/* Writes the decimal digits of `id` at `out`; returns how many. */
static size_t put_id(char *out, unsigned int id)
{
        char digits[10];
        size_t n = 0;

        do {
                digits[n++] = (char)('0' + id % 10);
                id /= 10;
        } while (id);
        for (size_t i = 0; i < n; i++)
                out[i] = digits[n - 1 - i];
        return n;
}

/* A range at a time, its end found a word at a time, its digits written
 * without printf: the front-ends format several lists per placement. With
 * `brief`, a list that does not fit is cut after the last range that fits with
 * room for ",...", which ends it. Returns the length, or -ENOBUFS. */
static int format(const struct np_cpulist *list, char *buf, size_t size, bool brief)
{
        static const char more[] = ",...";
        size_t used = 0;

        if (size < (brief ? sizeof(more) : 1))
                return -ENOBUFS;
        buf[0] = '\0';
        for (int id = np_cpulist_next(list, 0); id >= 0;) {
                unsigned int end = next_absent(list, (unsigned int)id); /* one past the range */
                int next = end < NP_CPULIST_MAX ? np_cpulist_next(list, end) : -1;
                char item[24]; /* ",8190-8191" */
                size_t n = 0, room = size - used;

                if (used)
                        item[n++] = ',';
                n += put_id(item + n, (unsigned int)id);
                if (end - 1 > (unsigned int)id) {
                        item[n++] = '-';
                        n += put_id(item + n, end - 1);
                }
                if (brief && next >= 0)
                        room -= sizeof(more) - 1; /* a range before the last leaves room for the mark */
                if (n >= room) {
                        const char *tail = used ? more : more + 1; /* "..." alone when no range fits */

                        if (!brief) {
                                buf[0] = '\0';
                                return -ENOBUFS;
                        }
                        if (next < 0 && size - used < strlen(tail) + 1)
                                return -ENOBUFS; /* cannot happen: the ranges before left room */
                        memcpy(buf + used, tail, strlen(tail) + 1);
                        return (int)(used + strlen(tail));
                }
                memcpy(buf + used, item, n);
                used += n;
                buf[used] = '\0';
                id = next;
        }
        return (int)used;
}

int np_cpulist_format(const struct np_cpulist *list, char *buf, size_t size)
{
        int r = format(list, buf, size, false);

        return r < 0 ? r : 0;
}

const char *np_cpulist_brief(const struct np_cpulist *list, char *buf, size_t size)
{
        if (format(list, buf, size, true) < 0 && size > 0)
                buf[0] = '\0';
        return buf;
}

int np_cpulist_format_alloc(const struct np_cpulist *list, char **ret_text)
{
        char small[256], *text;

        /* most lists are short: formatted once on the stack, then copied at their size */
        if (format(list, small, sizeof(small), false) >= 0)
                text = strdup(small);
        else if ((text = malloc(NP_CPULIST_BUFSIZE)))
                (void)format(list, text, NP_CPULIST_BUFSIZE, false); /* any list fits */
        if (!text)
                return -ENOMEM;
        *ret_text = text;
        return 0;
}
