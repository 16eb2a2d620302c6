// SPDX-License-Identifier: MIT
/* A small JSON scanner over the original text: validates the grammar, gives the
 * byte span of a value found by key, steps through an object's members and
 * decodes a string with its exact bytes. It never builds a tree, so a rewrite
 * can change one value and keep every other byte of the document. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsontext.h"
#include "macro.h"

#define MAX_DEPTH 64

static bool is_ws(char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t skip_ws(const char *text, size_t size, size_t pos)
{
        while (pos < size && is_ws(text[pos]))
                pos++;
        return pos;
}

static int hex_digit(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* The code unit of the \uXXXX at text[pos] (pos at the backslash), or -1. */
static int32_t unicode_escape(const char *text, size_t size, size_t pos)
{
        int32_t unit = 0;

        if (pos + 6 > size || text[pos] != '\\' || text[pos + 1] != 'u')
                return -1;
        for (size_t i = pos + 2; i < pos + 6; i++) {
                int d = hex_digit(text[i]);
                if (d < 0)
                        return -1;
                unit = unit << 4 | d;
        }
        return unit;
}

/* A string at text[*pos] (its opening quote); *pos ends after the closing quote, or on
 * -EINVAL at the fault: the offending byte, or the end of a text that stops inside it.
 * One pass over its bytes: most strings are a few bytes long, where three memchr(3)
 * calls a run cost more than the bytes (a config.json holds 2000 strings). */
static int scan_string(const char *text, size_t size, size_t *pos)
{
        size_t i = *pos;

        if (i >= size || text[i] != '"')
                return -EINVAL;
        for (i++; i < size; i++) {
                char c = text[i];

                if (c == '"') {
                        *pos = i + 1;
                        return 0;
                }
                /* RFC 8259 wants control characters escaped; json-c, which validates the
                 * documents first, takes them raw, and so does the scanner (never a NUL) */
                if (c == '\0') {
                        *pos = i;
                        return -EINVAL;
                }
                if (c != '\\')
                        continue;
                *pos = i;
                if (i + 1 >= size || (text[i + 1] == 'u' && size - i < 6)) {
                        *pos = size;
                        return -EINVAL;
                }
                if (text[i + 1] == 'u') {
                        if (unicode_escape(text, size, i) < 0)
                                return -EINVAL;
                        i += 5;
                } else if (text[i + 1] != '\0' && strchr("\"\\/bfnrt", text[i + 1]))
                        i += 1;
                else
                        return -EINVAL;
        }
        *pos = size;
        return -EINVAL;
}

/* A number of any size (nothing is converted), in the forms json-c takes: RFC 8259's
 * and laxer ones (1., -.5, 00, NaN, -Infinity). The scanner follows json-c, which
 * validates every document first, so that it never refuses what json-c took. */
static int scan_number(const char *text, size_t size, size_t *pos)
{
        static const char *const words[] = { "Infinity", "NaN" };
        size_t i = *pos;
        bool digit = false;

        if (i < size && text[i] == '-')
                i++;
        for (size_t w = 0; w < ARRAY_SIZE(words); w++) {
                size_t len = strlen(words[w]);
                if (size - i >= len && memcmp(text + i, words[w], len) == 0) {
                        *pos = i + len;
                        return 0;
                }
        }
        for (; i < size && strchr("0123456789.eE+-", text[i]) && text[i] != '\0'; i++)
                digit = digit || (text[i] >= '0' && text[i] <= '9');
        if (!digit)
                return -EINVAL;
        *pos = i;
        return 0;
}

/* What np_jsontext_root_find() looks for, split into keys once. */
struct finder {
        struct np_jsontext_find *find;
        struct key {
                const char *bytes;
                size_t len;
        } keys[NP_JSONTEXT_FIND_MAX][NP_JSONTEXT_FIND_DEPTH];
        unsigned n_keys[NP_JSONTEXT_FIND_MAX];
};

static int key_is(const char *text, struct np_json_span k, const char *key, size_t key_len);
static int scan_value(const char *text, size_t size, size_t *pos, unsigned depth, struct finder *f, uint64_t paths);

/* The paths of `paths` (bits of f's) that go through the member whose key is k
 * (at `depth`) to a value deeper down, into *ret_below, and those that end
 * there, into *ret_found. */
static int follow(const char *text, struct np_json_span k, unsigned depth, const struct finder *f, uint64_t paths,
                  uint64_t *ret_below, uint64_t *ret_found)
{
        *ret_below = *ret_found = 0;
        for (unsigned i = 0; paths; i++, paths >>= 1) {
                int r;

                if (!(paths & 1))
                        continue;
                r = key_is(text, k, f->keys[i][depth].bytes, f->keys[i][depth].len);
                if (r < 0)
                        return r;
                if (r == 0)
                        continue;
                if (f->n_keys[i] == depth + 1)
                        *ret_found |= UINT64_C(1) << i;
                else
                        *ret_below |= UINT64_C(1) << i;
        }
        return 0;
}

/* An object or array at text[*pos]: members or elements until the closing bracket.
 * *pos moves along, so that on -EINVAL it is where scanning stopped. */
static int scan_container(const char *text, size_t size, size_t *pos, unsigned depth, struct finder *f, uint64_t paths)
{
        char close = text[*pos] == '{' ? '}' : ']';
        int r;

        if (depth >= MAX_DEPTH)
                return -EINVAL;
        if (close == ']')
                paths = 0; /* paths lead through objects only */
        *pos = skip_ws(text, size, *pos + 1);
        if (*pos < size && text[*pos] == close) {
                (*pos)++;
                return 0;
        }
        for (;;) {
                uint64_t below = 0, found = 0;
                size_t start;

                if (close == '}') {
                        struct np_json_span k = { *pos, 0 };

                        r = scan_string(text, size, pos);
                        if (r < 0)
                                return r;
                        k.end = *pos;
                        if (paths) {
                                r = follow(text, k, depth, f, paths, &below, &found);
                                if (r < 0)
                                        return r;
                        }
                        *pos = skip_ws(text, size, *pos);
                        if (*pos >= size || text[*pos] != ':')
                                return -EINVAL;
                        *pos = skip_ws(text, size, *pos + 1);
                }
                start = *pos;
                r = scan_value(text, size, pos, depth + 1, f, below);
                if (r < 0)
                        return r;
                for (unsigned i = 0; found; i++, found >>= 1) {
                        struct np_json_span *value = &f->find->values[i];

                        if (!(found & 1))
                                continue;
                        if (value->end) {
                                f->find->twice = i;
                                return -EEXIST;
                        }
                        *value = (struct np_json_span){ start, *pos };
                }
                *pos = skip_ws(text, size, *pos);
                if (*pos < size && text[*pos] == close) {
                        (*pos)++;
                        return 0;
                }
                if (*pos >= size || text[*pos] != ',')
                        return -EINVAL;
                *pos = skip_ws(text, size, *pos + 1);
        }
}

/* One value at text[*pos] (no whitespace before it); *pos ends right after it. On
 * -EINVAL *pos is where scanning stopped. */
static int scan_value(const char *text, size_t size, size_t *pos, unsigned depth, struct finder *f, uint64_t paths)
{
        static const char *const literals[] = { "true", "false", "null" };

        if (*pos >= size)
                return -EINVAL;
        switch (text[*pos]) {
        case '{':
        case '[':
                return scan_container(text, size, pos, depth, f, paths);
        case '"':
                return scan_string(text, size, pos);
        case '-':
        case '0' ... '9':
        case 'I':
        case 'N':
                return scan_number(text, size, pos);
        default:
                for (size_t i = 0; i < ARRAY_SIZE(literals); i++) {
                        size_t len = strlen(literals[i]), left = size - *pos;
                        if (memcmp(text + *pos, literals[i], MIN(len, left)) != 0)
                                continue;
                        *pos += MIN(len, left); /* at the end if the text stops inside it */
                        return left >= len ? 0 : -EINVAL;
                }
                return -EINVAL;
        }
}

static int scan_root(const char *text, size_t size, struct finder *f, uint64_t paths, struct np_json_span *ret_root,
                     size_t *ret_offset)
{
        size_t start = skip_ws(text, size, 0), pos = start;
        int r;

        r = scan_value(text, size, &pos, 0, f, paths);
        if (r == 0 && skip_ws(text, size, pos) != size) {
                pos = skip_ws(text, size, pos); /* where the trailing data starts */
                r = -EINVAL;
        }
        if (r < 0) {
                if (ret_offset)
                        *ret_offset = pos;
                return r;
        }
        *ret_root = (struct np_json_span){ start, pos };
        return 0;
}

int np_jsontext_root(const char *text, size_t size, struct np_json_span *ret_root, size_t *ret_offset)
{
        return scan_root(text, size, NULL, 0, ret_root, ret_offset);
}

int np_jsontext_root_find(const char *text, size_t size, struct np_jsontext_find *find, struct np_json_span *ret_root,
                          size_t *ret_offset)
{
        struct finder f = { .find = find };

        if (find->n > NP_JSONTEXT_FIND_MAX)
                return -E2BIG;
        for (size_t i = 0; i < find->n; i++) {
                const char *key = find->paths[i];

                for (;;) {
                        const char *dot = strchr(key, '.');
                        size_t len = dot ? (size_t)(dot - key) : strlen(key);

                        if (f.n_keys[i] == NP_JSONTEXT_FIND_DEPTH || len == 0)
                                return -E2BIG;
                        f.keys[i][f.n_keys[i]++] = (struct key){ key, len };
                        if (!dot)
                                break;
                        key = dot + 1;
                }
                find->values[i] = (struct np_json_span){};
        }
        return scan_root(text, size, &f, find->n == 64 ? UINT64_MAX : (UINT64_C(1) << find->n) - 1, ret_root,
                         ret_offset);
}

/* Where the next member or element of the container span starts, after the one
 * ending at `cursor` (0: the first): 1, 0 at the closing bracket, -EINVAL. */
static int next_entry(const char *text, struct np_json_span container, char open, size_t cursor, size_t *ret_pos)
{
        size_t size = container.end, i;

        if (!np_jsontext_is(text, container, open) || (cursor != 0 && (cursor <= container.start || cursor > size)))
                return -EINVAL;
        i = skip_ws(text, size, cursor == 0 ? container.start + 1 : cursor);
        if (i < size && text[i] == (open == '{' ? '}' : ']'))
                return 0;
        if (cursor != 0) {
                if (i >= size || text[i] != ',')
                        return -EINVAL;
                i = skip_ws(text, size, i + 1);
        }
        *ret_pos = i;
        return 1;
}

int np_jsontext_next(const char *text, struct np_json_span object, size_t *cursor, struct np_json_span *ret_key,
                     struct np_json_span *ret_value)
{
        size_t size = object.end, i;
        struct np_json_span key, value;
        int r;

        r = next_entry(text, object, '{', *cursor, &i);
        if (r <= 0)
                return r;
        key.start = i;
        r = scan_string(text, size, &i);
        if (r < 0)
                return r;
        key.end = i;
        i = skip_ws(text, size, i);
        if (i >= size || text[i] != ':')
                return -EINVAL;
        value.start = i = skip_ws(text, size, i + 1);
        r = scan_value(text, size, &i, 1, NULL, 0);
        if (r < 0)
                return r;
        value.end = i;
        *cursor = i;
        *ret_key = key;
        *ret_value = value;
        return 1;
}

int np_jsontext_next_item(const char *text, struct np_json_span array, size_t *cursor, struct np_json_span *ret_value)
{
        size_t size = array.end, i;
        struct np_json_span value;
        int r;

        r = next_entry(text, array, '[', *cursor, &i);
        if (r <= 0)
                return r;
        value.start = i;
        r = scan_value(text, size, &i, 1, NULL, 0);
        if (r < 0)
                return r;
        value.end = i;
        *cursor = i;
        *ret_value = value;
        return 1;
}

/* Whether the key span holds exactly the bytes of `key`: compared in place, and
 * decoded only when it has escapes (which only make it longer than its bytes). */
static int key_is(const char *text, struct np_json_span k, const char *key, size_t key_len)
{
        _cleanup_free_ char *name = NULL;
        size_t len, raw = k.end - k.start - 2;
        int r;

        if (raw < key_len)
                return 0;
        if (!memchr(text + k.start + 1, '\\', raw))
                return raw == key_len && memcmp(text + k.start + 1, key, key_len) == 0;
        r = np_jsontext_string(text, k, &name, &len);
        if (r < 0)
                return r;
        return len == key_len && memcmp(name, key, len) == 0;
}

int np_jsontext_members(const char *text, struct np_json_span object, const char *const *keys, size_t n,
                        struct np_json_span *ret_values, size_t *ret_twice)
{
        struct np_json_span k, v;
        size_t cursor = 0;
        int r;

        for (size_t i = 0; i < n; i++)
                ret_values[i] = (struct np_json_span){};
        while ((r = np_jsontext_next(text, object, &cursor, &k, &v)) > 0)
                for (size_t i = 0; i < n; i++) {
                        r = key_is(text, k, keys[i], strlen(keys[i]));
                        if (r < 0)
                                return r;
                        if (r == 0)
                                continue;
                        if (ret_values[i].end) {
                                if (ret_twice)
                                        *ret_twice = i;
                                return -EEXIST;
                        }
                        ret_values[i] = v;
                        break;
                }
        return r;
}

int np_jsontext_member(const char *text, struct np_json_span object, const char *key, struct np_json_span *ret_value)
{
        struct np_json_span k, v, found = {};
        size_t cursor = 0, key_len = strlen(key);
        bool seen = false;
        int r;

        while ((r = np_jsontext_next(text, object, &cursor, &k, &v)) > 0) {
                r = key_is(text, k, key, key_len);
                if (r < 0)
                        return r;
                if (r == 0)
                        continue;
                if (seen)
                        return -EEXIST;
                seen = true;
                found = v;
        }
        if (r < 0)
                return r;
        if (!seen)
                return -ENOENT;
        *ret_value = found;
        return 0;
}

static size_t put_utf8(char *out, uint32_t cp)
{
        if (cp < 0x80) {
                out[0] = (char)cp;
                return 1;
        }
        if (cp < 0x800) {
                out[0] = (char)(0xc0 | cp >> 6);
                out[1] = (char)(0x80 | (cp & 0x3f));
                return 2;
        }
        if (cp < 0x10000) { /* a lone surrogate too: the bytes say what was there */
                out[0] = (char)(0xe0 | cp >> 12);
                out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
                out[2] = (char)(0x80 | (cp & 0x3f));
                return 3;
        }
        out[0] = (char)(0xf0 | cp >> 18);
        out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[3] = (char)(0x80 | (cp & 0x3f));
        return 4;
}

int np_jsontext_string(const char *text, struct np_json_span string, char **ret_bytes, size_t *ret_len)
{
        _cleanup_free_ char *out = NULL;
        size_t o = 0, end = string.end - 1, pos = string.start;

        /* the span must be exactly one string */
        if (!np_jsontext_is(text, string, '"') || scan_string(text, string.end, &pos) < 0 || pos != string.end)
                return -EINVAL;
        /* decoded bytes never outnumber the escaped ones: "\u00e9" (6) gives 2 */
        out = malloc(string.end - string.start);
        if (!out)
                return -ENOMEM;
        for (size_t i = string.start + 1; i < end; i++) {
                int32_t unit, low;

                if (text[i] != '\\') {
                        out[o++] = text[i];
                        continue;
                }
                switch (text[i + 1]) {
                case 'b':
                        out[o++] = '\b';
                        break;
                case 'f':
                        out[o++] = '\f';
                        break;
                case 'n':
                        out[o++] = '\n';
                        break;
                case 'r':
                        out[o++] = '\r';
                        break;
                case 't':
                        out[o++] = '\t';
                        break;
                case 'u':
                        unit = unicode_escape(text, end, i);
                        low = unit >= 0xd800 && unit < 0xdc00 ? unicode_escape(text, end, i + 6) : -1;
                        if (low >= 0xdc00 && low < 0xe000) {
                                o += put_utf8(out + o,
                                              0x10000 + (((uint32_t)unit - 0xd800) << 10) + ((uint32_t)low - 0xdc00));
                                i += 6;
                        } else
                                o += put_utf8(out + o, (uint32_t)unit);
                        i += 4;
                        break;
                default: /* " \ / */
                        out[o++] = text[i + 1];
                        break;
                }
                i++;
        }
        out[o] = '\0';
        *ret_len = o;
        *ret_bytes = TAKE_PTR(out);
        return 0;
}
