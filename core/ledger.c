// SPDX-License-Identifier: MIT
/* The allocation state: records are JSON files written through a temporary
 * file and rename(), loaded and changed only under the state dir's lock, so
 * concurrent hooks never hand out an exclusive CPU twice. A record that cannot
 * be read stops placement (fail closed) with a message naming the file. */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>

#include "fileio.h"
#include "ledger.h"

#define RECORD_LIMIT (256 * 1024)

/* One record as the ledger holds it in memory, in one allocation: its scalars,
 * then its four CPU lists as the 64-bit words from the first nonzero one to the
 * last (none for an empty list), then its strings, each at its length. A few
 * hundred bytes where a struct np_record takes some 10 KiB. */
enum {
        LIST_NODES,
        LIST_CPUS,
        LIST_MEMS,
        LIST_EXCLUSIVE,
        N_LISTS
};
enum {
        TEXT_ID,
        TEXT_CGROUP,
        TEXT_POD_SCOPE,
        TEXT_MONITOR_DIR,
        TEXT_NAMESPACE,
        TEXT_POD,
        TEXT_CONTAINER,
        N_TEXTS
};

struct packed_record {
        enum np_policy policy;
        enum np_source source;
        bool write_mems;
        bool monitor_on;
        int pid;
        int64_t created;
        struct np_demand demand;
        uint32_t monitor_slot;
        uint64_t monitor_cgroup_id;
        struct {
                uint8_t first, n; /* words[first, first + n) of the list, at `at` in words[] */
                uint16_t at;
        } lists[N_LISTS];
        struct file_id {
                uint64_t ino; /* 0: not known yet (read from JSON, or just written) */
                int64_t size, mtime_ns, ctime_ns;
        } file; /* its JSON file as last seen, which ledger.cache checks */
        uint16_t n_words;
        uint16_t texts[N_TEXTS]; /* where each string starts after the words; TEXT_ID at 0 */
        uint64_t words[];
};

struct np_ledger {
        int lock_fd;
        int records_fd;    /* -1 for the empty ledger of a state dir not made yet */
        int state_fd;      /* the state dir, where ledger.cache is */
        bool cache_dirty;  /* the records differ from ledger.cache, or it failed its checks */
        bool loaded;       /* the records were read under this lock: write_cache() may write */
        bool from_cache;   /* ... and taken from ledger.cache */
        bool cache_unsafe; /* a change could not bump the generation: ledger.cache must go */
        bool exclusive;
        bool locked;
        uint64_t generation; /* bumped by every change, kept in the lock file */
        /* when these records were last looked at for gone containers (CLOCK_REALTIME,
         * kept in ledger.cache; 0: unknown, as for records read from their JSON) */
        uint64_t reclaimed_at_ns;
        bool repin_pending; /* kept in the lock file after the generation */
        /* a put that answers first (np_ledger_defer_writes): the record's text is in the
         * lock file, its file in containers/ is written at np_ledger_settle() */
        bool defer;
        char *intent; /* that text while its file is not written yet, NULL: none */
        size_t intent_size;
        char intent_name[NP_ID_MAX + 8];
        uint64_t lock_intent_size, lock_intent_hash; /* what the lock file said at the lock */
        char state_dir[PATH_MAX];
        bool usage_valid;  /* `usage` sums the records (kept up to date as records are added) */
        bool usage_summed; /* `usage` was written: not the zeros of the ledger's calloc() */
        struct np_usage usage;
        size_t n_records;
        size_t capacity;
        struct packed_record **records; /* sorted by id; each its own allocation, so that
                                         * inserting moves pointers, not records */
        struct np_record found;         /* what np_ledger_find() last handed out */
        struct np_record iterated;      /* what np_ledger_next() last handed out */
};

static const char *packed_text(const struct packed_record *packed, unsigned int which)
{
        return (const char *)(packed->words + packed->n_words) + packed->texts[which];
}

static const char *packed_id(const struct packed_record *packed)
{
        return packed_text(packed, TEXT_ID);
}

static bool packed_list_empty(const struct packed_record *packed, unsigned int which)
{
        return packed->lists[which].n == 0;
}

static void packed_list(const struct packed_record *packed, unsigned int which, struct np_cpulist *ret_list)
{
        memset(ret_list, 0, sizeof(*ret_list));
        memcpy(ret_list->bits + packed->lists[which].first, packed->words + packed->lists[which].at,
               packed->lists[which].n * sizeof(uint64_t));
}

static bool packed_lists_equal(const struct packed_record *a, const struct packed_record *b, unsigned int which)
{
        return a->lists[which].first == b->lists[which].first && a->lists[which].n == b->lists[which].n &&
               memcmp(a->words + a->lists[which].at, b->words + b->lists[which].at,
                      a->lists[which].n * sizeof(uint64_t)) == 0;
}

/* A record packed, NULL when out of memory. */
static struct packed_record *pack(const struct np_record *record)
{
        const struct np_cpulist *lists[N_LISTS] = { &record->nodes, &record->cpus, &record->mems,
                                                    &record->exclusive_cpus };
        const char *texts[N_TEXTS] = { record->id,
                                       record->cgroup,
                                       record->pod_scope,
                                       record->monitor.dir,
                                       record->names.namespace,
                                       record->names.pod,
                                       record->names.container };
        struct packed_record header = { .policy = record->policy,
                                        .source = record->source,
                                        .write_mems = record->write_mems,
                                        .monitor_on = record->monitor.on,
                                        .pid = record->pid,
                                        .created = record->created,
                                        .demand = record->demand,
                                        .monitor_slot = record->monitor.slot,
                                        .monitor_cgroup_id = record->monitor.cgroup_id };
        size_t lengths[N_TEXTS], text_size = 0;
        struct packed_record *packed;
        char *text;

        for (unsigned int i = 0; i < N_LISTS; i++) {
                unsigned int first = 0, last = NP_CPULIST_WORDS;

                while (first < NP_CPULIST_WORDS && !lists[i]->bits[first])
                        first++;
                while (last > first && !lists[i]->bits[last - 1])
                        last--;
                header.lists[i].first = (uint8_t)(first < NP_CPULIST_WORDS ? first : 0);
                header.lists[i].n = (uint8_t)(last - first);
                header.lists[i].at = header.n_words;
                header.n_words += header.lists[i].n;
        }
        for (unsigned int i = 0; i < N_TEXTS; i++) {
                lengths[i] = strnlen(texts[i], PATH_MAX - 1);
                header.texts[i] = (uint16_t)text_size;
                text_size += lengths[i] + 1;
        }
        packed = malloc(sizeof(*packed) + header.n_words * sizeof(uint64_t) + text_size);
        if (!packed)
                return NULL;
        *packed = header;
        for (unsigned int i = 0; i < N_LISTS; i++)
                memcpy(packed->words + header.lists[i].at, lists[i]->bits + header.lists[i].first,
                       header.lists[i].n * sizeof(uint64_t));
        text = (char *)(packed->words + header.n_words);
        for (unsigned int i = 0; i < N_TEXTS; i++) {
                memcpy(text + header.texts[i], texts[i], lengths[i]);
                text[header.texts[i] + lengths[i]] = '\0';
        }
        return packed;
}

static void copy_text(char *to, size_t size, const struct packed_record *packed, unsigned int which)
{
        snprintf(to, size, "%s", packed_text(packed, which));
}

static void unpack(const struct packed_record *packed, struct np_record *ret_record)
{
        ret_record->policy = packed->policy;
        ret_record->source = packed->source;
        ret_record->write_mems = packed->write_mems;
        ret_record->pid = packed->pid;
        ret_record->created = packed->created;
        ret_record->demand = packed->demand;
        ret_record->monitor = (struct np_record_monitor){ .on = packed->monitor_on,
                                                          .slot = packed->monitor_slot,
                                                          .cgroup_id = packed->monitor_cgroup_id };
        packed_list(packed, LIST_NODES, &ret_record->nodes);
        packed_list(packed, LIST_CPUS, &ret_record->cpus);
        packed_list(packed, LIST_MEMS, &ret_record->mems);
        packed_list(packed, LIST_EXCLUSIVE, &ret_record->exclusive_cpus);
        copy_text(ret_record->id, sizeof(ret_record->id), packed, TEXT_ID);
        copy_text(ret_record->cgroup, sizeof(ret_record->cgroup), packed, TEXT_CGROUP);
        copy_text(ret_record->pod_scope, sizeof(ret_record->pod_scope), packed, TEXT_POD_SCOPE);
        copy_text(ret_record->monitor.dir, sizeof(ret_record->monitor.dir), packed, TEXT_MONITOR_DIR);
        copy_text(ret_record->names.namespace, sizeof(ret_record->names.namespace), packed, TEXT_NAMESPACE);
        copy_text(ret_record->names.pod, sizeof(ret_record->names.pod), packed, TEXT_POD);
        copy_text(ret_record->names.container, sizeof(ret_record->names.container), packed, TEXT_CONTAINER);
}

/* A packed record's share of the usage sum. */
static struct np_cpuwords packed_words(const struct packed_record *packed, unsigned int which)
{
        return (struct np_cpuwords){ .words = packed->words + packed->lists[which].at,
                                     .first = packed->lists[which].first,
                                     .n = packed->lists[which].n };
}

static void usage_add_packed(struct np_usage *usage, const struct packed_record *packed)
{
        np_usage_add_words(usage, packed->policy, packed_words(packed, LIST_NODES),
                           packed_words(packed, LIST_EXCLUSIVE), &packed->demand);
}

/* The record a deferred put left waiting is no longer this process's to write. */
static void forget_intent(struct np_ledger *ledger)
{
        free(ledger->intent);
        ledger->intent = NULL;
        ledger->intent_size = 0;
}

static void drop_all(struct np_ledger *ledger)
{
        for (size_t i = 0; i < ledger->n_records; i++)
                free(ledger->records[i]);
        free(ledger->records);
        ledger->records = NULL;
        ledger->n_records = ledger->capacity = 0;
        ledger->usage_valid = false;
        ledger->reclaimed_at_ns = 0;
}

/* Room for one more record pointer, the array growing by doubling. */
static int reserve_one(struct np_ledger *ledger)
{
        struct packed_record **grown;
        size_t capacity;

        if (ledger->n_records < ledger->capacity)
                return 0;
        capacity = ledger->capacity ? ledger->capacity * 2 : 16;
        grown = realloc(ledger->records, capacity * sizeof(*grown));
        if (!grown)
                return -ENOMEM;
        ledger->records = grown;
        ledger->capacity = capacity;
        return 0;
}

/* --- ledger.cache: the packed records in one file ----------------------------------
 * Reading the records' JSON costs some 25 us a record (four system calls and a
 * parse), which a node with 100 containers paid on every create and every stop.
 * The holder of the exclusive lock therefore leaves the packed records in one
 * file as it unlocks, and the next open takes them from there when the file is
 * provably a copy of what containers/ holds:
 *  - its generation is the lock file's: every change bumps the generation before
 *    it touches containers/, so a change by any process, or one killed half-way,
 *    breaks it;
 *  - containers/ is the directory it was written beside and unchanged since
 *    (device, inode, size, links, mtime and ctime), and each record's file the one
 *    it was copied from (inode, size, mtime and ctime): a record added, removed or
 *    edited by hand breaks it;
 *  - its layout is this build's, its checksum matches, and every record passes
 *    bounds checks, with ids valid and in strictly ascending order.
 * Anything else and the JSON records are read, as without a cache, and the cache
 * is written anew. The JSON files stay the truth; the cache is only their copy.
 * It also says when its records were last looked at for gone containers, so that
 * a hook need not look again within the interval (np_ledger_reclaimed_within). */
#define CACHE_NAME        "ledger.cache"
#define CACHE_VERSION     2 /* bumped with struct packed_record or the header */
#define CACHE_MIN_RECORDS 4 /* fewer: their JSON costs less than writing the cache */
#define CACHE_LIMIT       (64 * 1024 * 1024)

static const char cache_magic[8] = "NPLEDGR";

struct cache_header {
        char magic[8];
        uint32_t version;
        uint32_t layout; /* sizeof(struct packed_record) << 16 | NP_CPULIST_WORDS */
        uint64_t generation;
        uint64_t dir_dev, dir_ino, dir_size, dir_nlink;
        int64_t dir_mtime_sec, dir_mtime_nsec, dir_ctime_sec, dir_ctime_nsec;
        uint64_t n_records;
        uint64_t reclaimed_at_ns; /* the records' last look for gone containers */
        uint64_t payload_size;    /* after the header: per record its size (a uint64_t), then
                                   * the record, padded to 8 bytes */
        uint64_t checksum;        /* of reclaimed_at_ns and the payload, 8 bytes at a time */
};

#define CACHE_LAYOUT ((uint32_t)(sizeof(struct packed_record) << 16 | NP_CPULIST_WORDS))

/* The file name of the record of `id` ("<id>.json"): a copy, not snprintf(),
 * for a hook names every record's file when it checks the cache (some 1000
 * instructions of printf a record). Ids longer than NP_ID_MAX are cut, as
 * snprintf() would; valid ones never are. */
#define RECORD_NAME_MAX (NP_ID_MAX + 8)
static const char *record_name(char name[static RECORD_NAME_MAX], const char *id)
{
        size_t len = strnlen(id, NP_ID_MAX);

        memcpy(name, id, len);
        memcpy(name + len, ".json", sizeof(".json"));
        return name;
}

/* The identity of a record's JSON file, as the cache keeps it. */
static int file_identity(const struct np_ledger *ledger, const struct packed_record *packed, struct file_id *ret)
{
        char name[RECORD_NAME_MAX];
        struct stat st;

        record_name(name, packed_id(packed));
        if (fstatat(ledger->records_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        ret->ino = st.st_ino;
        ret->size = st.st_size;
        ret->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
        ret->ctime_ns = (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec;
        return 0;
}

static size_t pad8(size_t n)
{
        return (n + 7) & ~(size_t)7;
}

static size_t packed_size(const struct packed_record *packed)
{
        const char *last = packed_text(packed, N_TEXTS - 1);

        return (size_t)(last - (const char *)packed) + strlen(last) + 1;
}

/* Of the payload and the header's reclaim time, the one header word that no
 * check of the lock file or containers/ stands behind. */
static uint64_t cache_checksum(uint64_t reclaimed_at_ns, const void *payload, size_t size)
{
        const unsigned char *p = payload;
        uint64_t h = (0xcbf29ce484222325ULL ^ reclaimed_at_ns) * 0x100000001b3ULL;

        for (size_t i = 0; i + 8 <= size; i += 8) {
                uint64_t word;

                memcpy(&word, p + i, sizeof(word));
                h = (h ^ word) * 0x100000001b3ULL;
                h ^= h >> 29;
        }
        return h;
}

/* The identity of containers/, as the cache records it. */
static int cache_identity(const struct np_ledger *ledger, struct cache_header *ret)
{
        struct stat dir;

        if (fstat(ledger->records_fd, &dir) < 0)
                return -errno;
        ret->dir_dev = dir.st_dev;
        ret->dir_ino = dir.st_ino;
        ret->dir_size = (uint64_t)dir.st_size;
        ret->dir_nlink = dir.st_nlink;
        ret->dir_mtime_sec = dir.st_mtim.tv_sec;
        ret->dir_mtime_nsec = dir.st_mtim.tv_nsec;
        ret->dir_ctime_sec = dir.st_ctim.tv_sec;
        ret->dir_ctime_nsec = dir.st_ctim.tv_nsec;
        return 0;
}

static bool same_identity(const struct cache_header *a, const struct cache_header *b)
{
        return a->dir_dev == b->dir_dev && a->dir_ino == b->dir_ino && a->dir_size == b->dir_size &&
               a->dir_nlink == b->dir_nlink && a->dir_mtime_sec == b->dir_mtime_sec &&
               a->dir_mtime_nsec == b->dir_mtime_nsec && a->dir_ctime_sec == b->dir_ctime_sec &&
               a->dir_ctime_nsec == b->dir_ctime_nsec;
}

/* Whether `size` bytes at `packed` (aligned, copied out of the cache) are a whole
 * packed record: every list and string inside it, each string within its field
 * of struct np_record, the id valid and the enums known. */
static bool packed_valid(const struct packed_record *packed, size_t size)
{
        static const size_t text_max[N_TEXTS] = {
                [TEXT_ID] = NP_ID_MAX,
                [TEXT_CGROUP] = PATH_MAX - 1,
                [TEXT_POD_SCOPE] = NP_ID_MAX,
                [TEXT_MONITOR_DIR] = sizeof(((struct np_record *)NULL)->monitor.dir) - 1,
                [TEXT_NAMESPACE] = NP_NAMESPACE_MAX,
                [TEXT_POD] = NP_POD_NAME_MAX,
                [TEXT_CONTAINER] = NP_CONTAINER_NAME_MAX,
        };
        size_t words_end, text_size;
        const char *text;

        if (size < sizeof(*packed))
                return false;
        words_end = sizeof(*packed) + (size_t)packed->n_words * sizeof(uint64_t);
        if (words_end >= size)
                return false;
        text = (const char *)packed + words_end;
        text_size = size - words_end;
        if (text[text_size - 1] != '\0' || packed->texts[TEXT_ID] != 0)
                return false;
        for (unsigned int i = 0; i < N_LISTS; i++)
                if ((size_t)packed->lists[i].first + packed->lists[i].n > NP_CPULIST_WORDS ||
                    (size_t)packed->lists[i].at + packed->lists[i].n > packed->n_words)
                        return false;
        for (unsigned int i = 0; i < N_TEXTS; i++)
                if (packed->texts[i] >= text_size || strlen(text + packed->texts[i]) > text_max[i])
                        return false;
        /* the last string ends the record, as pack() lays them out */
        if (packed_size(packed) != size)
                return false;
        /* the flags as bytes: a bool holding another value than 0 or 1 is not one */
        return np_id_valid(text) && (unsigned int)packed->policy <= NP_POLICY_INTERLEAVE &&
               (unsigned int)packed->source <= NP_SOURCE_PLAN && packed->pid >= 0 &&
               *(const unsigned char *)&packed->write_mems <= 1 && *(const unsigned char *)&packed->monitor_on <= 1;
}

/* Takes the records from ledger.cache: 0, or <0 when the cache is missing, stale
 * or damaged (the ledger then holds no records). */
static int load_cache(struct np_ledger *ledger)
{
        _cleanup_free_ char *data = NULL;
        struct cache_header header, now;
        size_t size, at;
        int r;

        r = np_read_file_at(ledger->state_fd, CACHE_NAME, CACHE_LIMIT, &data, &size);
        if (r < 0)
                return r;
        if (size < sizeof(header))
                return -EINVAL;
        memcpy(&header, data, sizeof(header));
        if (memcmp(header.magic, cache_magic, sizeof(cache_magic)) != 0 || header.version != CACHE_VERSION ||
            header.layout != CACHE_LAYOUT || header.generation != ledger->generation ||
            header.payload_size != size - sizeof(header) ||
            header.n_records > header.payload_size / (sizeof(uint64_t) + sizeof(struct packed_record)))
                return -ESTALE;
        r = cache_identity(ledger, &now);
        if (r < 0)
                return r;
        if (!same_identity(&header, &now) ||
            cache_checksum(header.reclaimed_at_ns, data + sizeof(header), header.payload_size) != header.checksum)
                return -ESTALE;
        ledger->reclaimed_at_ns = header.reclaimed_at_ns;
        at = sizeof(header);
        for (uint64_t i = 0; i < header.n_records; i++) {
                struct packed_record *packed;
                struct file_id file;
                uint64_t record_size;

                if (size - at < sizeof(record_size))
                        return -EINVAL;
                memcpy(&record_size, data + at, sizeof(record_size));
                at += sizeof(record_size);
                if (record_size > size - at || record_size > RECORD_LIMIT || reserve_one(ledger) < 0)
                        return -EINVAL;
                packed = malloc(record_size);
                if (!packed)
                        return -ENOMEM;
                memcpy(packed, data + at, record_size);
                ledger->records[ledger->n_records++] = packed;
                if (!packed_valid(packed, record_size) ||
                    (i > 0 && strcmp(packed_id(ledger->records[i - 1]), packed_id(packed)) >= 0))
                        return -EINVAL;
                if (file_identity(ledger, packed, &file) < 0 || file.ino != packed->file.ino ||
                    file.size != packed->file.size || file.mtime_ns != packed->file.mtime_ns ||
                    file.ctime_ns != packed->file.ctime_ns)
                        return -ESTALE;
                at += pad8(record_size);
                if (at > size)
                        return -EINVAL;
        }
        return at == size ? 0 : -EINVAL;
}

int np_ledger_cache_seal(void *image, size_t size)
{
        struct cache_header header;

        if (size < sizeof(header))
                return -EINVAL;
        memcpy(&header, image, sizeof(header));
        header.checksum = cache_checksum(header.reclaimed_at_ns, (char *)image + sizeof(header), size - sizeof(header));
        memcpy(image, &header, sizeof(header));
        return 0;
}

/* Leaves the records in ledger.cache for the next open, under the exclusive lock,
 * when they changed or were read from their JSON, by a process that read them
 * under this lock: a hook, numapinctl. The NRI plugin, which keeps its records
 * between locks, writes it only after taking in another process's change, not
 * at each of its own (a cache of 1000 records would double a CreateContainer). */
static void write_cache(struct np_ledger *ledger)
{
        _cleanup_free_ char *data = NULL;
        struct cache_header header = { .version = CACHE_VERSION,
                                       .layout = CACHE_LAYOUT,
                                       .generation = ledger->generation,
                                       .n_records = ledger->n_records,
                                       .reclaimed_at_ns = ledger->reclaimed_at_ns };
        size_t size = sizeof(header), at;
        int r;

        if (!ledger->exclusive || ledger->state_fd < 0)
                return;
        if (ledger->cache_unsafe) {
                /* its generation may be the lock file's although the records changed */
                if (unlinkat(ledger->state_fd, CACHE_NAME, 0) < 0 && errno != ENOENT)
                        np_log_warning("ledger: cannot remove %s/%s: %s", ledger->state_dir, CACHE_NAME,
                                       strerror(errno));
                ledger->cache_unsafe = ledger->cache_dirty = false;
                return;
        }
        if (!ledger->cache_dirty || !ledger->loaded || ledger->intent)
                return; /* a record waiting for its file: no file to check it by yet */
        /* a smaller ledger leaves the old cache behind: its generation is past. What a
         * process killed while writing one left goes: only a next cache reuses its name */
        if (ledger->n_records < CACHE_MIN_RECORDS) {
                if (np_write_file_replace_discard_at(ledger->state_fd, CACHE_NAME) < 0)
                        np_log_debug("ledger: cannot remove the temporary file of %s/%s", ledger->state_dir,
                                     CACHE_NAME);
                return;
        }
        ledger->cache_dirty = ledger->loaded = false;
        for (size_t i = 0; i < ledger->n_records; i++)
                size += sizeof(uint64_t) + pad8(packed_size(ledger->records[i]));
        data = calloc(1, size);
        if (!data || cache_identity(ledger, &header) < 0)
                return;
        memcpy(header.magic, cache_magic, sizeof(cache_magic));
        at = sizeof(header);
        for (size_t i = 0; i < ledger->n_records; i++) {
                struct packed_record *packed = ledger->records[i];
                uint64_t record_size = packed_size(packed);

                /* the files this process read or wrote itself, seen now; the others as
                 * they were when checked, so that a hand edit since still shows. A file
                 * that cannot be told: no cache (the next open reads the JSON) */
                if (packed->file.ino == 0 && file_identity(ledger, packed, &packed->file) < 0)
                        return;
                memcpy(data + at, &record_size, sizeof(record_size));
                memcpy(data + at + sizeof(record_size), packed, record_size);
                at += sizeof(record_size) + pad8(record_size);
        }
        header.payload_size = size - sizeof(header);
        header.checksum = cache_checksum(header.reclaimed_at_ns, data + sizeof(header), header.payload_size);
        memcpy(data, &header, sizeof(header));
        r = np_write_file_own_at(ledger->state_fd, CACHE_NAME, data, size, 0644);
        /* something else in its place (a FIFO, a symlink): the cache is numapin's own name */
        if (r == -EINVAL && unlinkat(ledger->state_fd, CACHE_NAME, 0) == 0)
                r = np_write_file_own_at(ledger->state_fd, CACHE_NAME, data, size, 0644);
        if (r < 0)
                np_log_debug("ledger: cannot write %s/%s: %s", ledger->state_dir, CACHE_NAME, strerror(-r));
}

void np_ledger_close(struct np_ledger *ledger)
{
        if (!ledger)
                return;
        if (ledger->locked)
                write_cache(ledger);
        if (ledger->state_fd >= 0)
                close(ledger->state_fd);
        if (ledger->lock_fd >= 0)
                close(ledger->lock_fd); /* releases the flock */
        if (ledger->records_fd >= 0)
                close(ledger->records_fd);
        drop_all(ledger);
        forget_intent(ledger);
        free(ledger);
}

static int get_list(struct json_object *obj, const char *key, const char *what, struct np_diag *diag,
                    struct np_cpulist *ret_list)
{
        const char *s;
        char field[512];
        int r;

        r = np_json_get_string(obj, key, NP_CPULIST_BUFSIZE, what, diag, &s);
        if (r == -ENOENT)
                return np_diag_fail(diag, -EINVAL, "%s: field '%s' is missing", what, key);
        if (r < 0)
                return r;
        snprintf(field, sizeof(field), "%s field '%s'", what, key);
        return np_cpulist_parse(s, NP_CPULIST_MAX, field, diag, ret_list);
}

int np_names_from_json(struct json_object *obj, const char *what, struct np_diag *diag, struct np_names *ret_names)
{
        static const struct {
                const char *key;
                size_t offset, max;
        } fields[] = {
                { "namespace", offsetof(struct np_names, namespace), NP_NAMESPACE_MAX },
                { "pod", offsetof(struct np_names, pod), NP_POD_NAME_MAX },
                { "container", offsetof(struct np_names, container), NP_CONTAINER_NAME_MAX },
        };
        struct json_object *names;
        const char *s;
        int r;

        r = np_json_get(obj, "kubernetes", json_type_object, what, diag, &names);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
                r = np_json_get_string(names, fields[i].key, fields[i].max, what, diag, &s);
                if (r == -ENOENT)
                        continue;
                if (r < 0 || !np_name_valid(s, fields[i].max))
                        return np_diag_fail(
                                diag, -EINVAL,
                                "%s: field 'kubernetes.%s': expected 1-%zu of A-Z a-z 0-9 _ . - starting with a letter or digit",
                                what, fields[i].key, fields[i].max);
                strcpy((char *)ret_names + fields[i].offset, s);
        }
        return 0;
}

static int record_from_json(struct json_object *obj, const char *what, struct np_diag *diag,
                            struct np_record *ret_record)
{
        struct np_record rec = {};
        struct json_object *value;
        const char *s;
        int64_t n;
        int r;

        if (!json_object_is_type(obj, json_type_object))
                return np_diag_fail(diag, -EINVAL, "%s: expected a JSON object", what);
        r = np_json_get_string(obj, "id", NP_ID_MAX, what, diag, &s);
        if (r < 0 || !np_id_valid(s))
                return np_diag_fail(diag, -EINVAL, "%s: field 'id' is missing or not a container id", what);
        strcpy(rec.id, s);
        r = np_json_get_string(obj, "policy", 32, what, diag, &s);
        if (r < 0 || np_policy_from_string(s, &rec.policy) < 0)
                return np_diag_fail(diag, -EINVAL, "%s: field 'policy' is missing or unknown", what);
        if ((r = get_list(obj, "nodes", what, diag, &rec.nodes)) < 0 ||
            (r = get_list(obj, "cpus", what, diag, &rec.cpus)) < 0 ||
            (r = get_list(obj, "mems", what, diag, &rec.mems)) < 0 ||
            (r = get_list(obj, "exclusive_cpus", what, diag, &rec.exclusive_cpus)) < 0)
                return r;
        if (np_json_get(obj, "write_mems", json_type_boolean, what, diag, &value) == 0)
                rec.write_mems = json_object_get_boolean(value);
        r = np_json_get_int64(obj, "cpu_millis", 0, INT64_MAX, what, diag, &n);
        if (r < 0 && r != -ENOENT)
                return r;
        rec.demand.cpu_millis = r == 0 ? (uint64_t)n : 0;
        r = np_json_get_int64(obj, "memory_bytes", 0, INT64_MAX, what, diag, &n);
        if (r < 0 && r != -ENOENT)
                return r;
        rec.demand.memory_bytes = r == 0 ? (uint64_t)n : 0;
        r = np_json_get_string(obj, "cgroup", PATH_MAX - 1, what, diag, &s);
        if (r == 0)
                strcpy(rec.cgroup, s);
        else if (r != -ENOENT)
                return r;
        r = np_json_get_int64(obj, "pid", 0, INT32_MAX, what, diag, &n);
        if (r < 0 && r != -ENOENT)
                return r;
        rec.pid = r == 0 ? (int)n : 0;
        r = np_json_get_int64(obj, "created", 0, INT64_MAX, what, diag, &n);
        if (r < 0 && r != -ENOENT)
                return r;
        rec.created = r == 0 ? n : 0;
        r = np_json_get_string(obj, "source", 32, what, diag, &s);
        rec.source = r == 0 ? np_source_from_string(s) : NP_SOURCE_UNKNOWN;
        r = np_names_from_json(obj, what, diag, &rec.names);
        if (r < 0)
                return r;
        r = np_json_get_string(obj, "pod_scope", NP_ID_MAX, what, diag, &s);
        if (r == 0 && !np_id_valid(s))
                return np_diag_fail(diag, -EINVAL, "%s: field 'pod_scope' is not a pod sandbox id", what);
        if (r == 0)
                strcpy(rec.pod_scope, s);
        else if (r != -ENOENT)
                return r;
        r = np_json_get(obj, "monitor", json_type_object, what, diag, &value);
        if (r == 0) {
                uint64_t id;

                if (np_json_get_int64(value, "slot", 0, UINT32_MAX, what, diag, &n) < 0 ||
                    np_json_get_uint64(value, "cgroup_id", what, diag, &id) < 0 ||
                    np_json_get_string(value, "dir", sizeof(rec.monitor.dir) - 1, what, diag, &s) < 0 || s[0] != '/')
                        return np_diag_fail(diag, -EINVAL, "%s: field 'monitor' needs slot, cgroup_id and dir", what);
                rec.monitor.on = true;
                rec.monitor.slot = (uint32_t)n;
                rec.monitor.cgroup_id = id;
                strcpy(rec.monitor.dir, s);
        } else if (r != -ENOENT)
                return r;
        *ret_record = rec;
        return 0;
}

int np_record_read(int dir_fd, const char *name, const char *what, struct np_diag *diag, struct np_record *ret_record)
{
        _cleanup_json_ struct json_object *obj = NULL;
        _cleanup_free_ char *text = NULL;
        char id[NP_ID_MAX + 8];
        size_t size;
        int r;

        r = np_read_file_at(dir_fd, name, RECORD_LIMIT, &text, &size);
        if (r < 0)
                return np_diag_fail(diag, r, "%s: %s", what, np_file_strerror_at(dir_fd, name, r));
        r = np_json_parse(text, size, RECORD_LIMIT, what, diag, &obj);
        if (r == 0)
                r = record_from_json(obj, what, diag, ret_record);
        if (r < 0)
                return r;
        snprintf(id, sizeof(id), "%s.json", ret_record->id);
        if (strcmp(id, name) != 0)
                return np_diag_fail(diag, -EINVAL, "%s: its id does not match its file name", what);
        return 0;
}

static int compare_records(const void *a, const void *b)
{
        return strcmp(packed_id(*(const struct packed_record *const *)a),
                      packed_id(*(const struct packed_record *const *)b));
}

static int load_records(struct np_ledger *ledger, const char *state_dir, struct np_diag *diag)
{
        struct np_dir_names names;
        const char *name;
        int r = 0;

        ledger->loaded = true;
        r = load_cache(ledger);
        ledger->from_cache = r == 0;
        if (r == 0) {
                ledger->cache_dirty = false;
                return 0;
        }
        if (r != -ENOENT)
                np_log_debug("ledger: %s/%s not used (%s): reading the records", state_dir, CACHE_NAME,
                             r == -ESTALE ? "older than the records" : strerror(-r));
        drop_all(ledger);
        ledger->cache_dirty = true;
        r = 0;

        r = np_dir_names_start(&names, ledger->records_fd);
        while (r == 0 && (name = np_dir_names_next(&names, &r))) {
                char what[PATH_MAX + 64];
                size_t len = strlen(name);
                _cleanup_free_ struct np_record *record = NULL;

                /* under the lock every writer here holds: a temporary file is a killed one's */
                if (ledger->exclusive && np_temporary_name(name)) {
                        if (unlinkat(ledger->records_fd, name, 0) == 0)
                                np_log_debug("removed %s/containers/%s, left by a process killed mid-write", state_dir,
                                             name);
                        continue;
                }
                if (name[0] == '.' || len <= 5 || strcmp(name + len - 5, ".json") != 0)
                        continue;
                snprintf(what, sizeof(what), "ledger record %s/containers/%s", state_dir, name);
                record = malloc(sizeof(*record));
                r = record && reserve_one(ledger) == 0 ? 0 : -ENOMEM;
                if (r == 0)
                        r = np_record_read(ledger->records_fd, name, what, diag, record);
                if (r < 0)
                        break;
                ledger->records[ledger->n_records] = pack(record);
                if (!ledger->records[ledger->n_records]) {
                        r = -ENOMEM;
                        break;
                }
                ledger->n_records++;
        }
        if (r < 0 && diag && !diag->message[0])
                np_diag_fail(diag, r, "ledger: cannot read the records in %s/containers: %s", state_dir, strerror(-r));
        else if (r < 0 && diag && diag->error == r)
                snprintf(diag->message + strlen(diag->message), sizeof(diag->message) - strlen(diag->message),
                         " (remove the record with 'numapinctl release ID')");
        if (r == 0 && ledger->n_records > 1)
                qsort(ledger->records, ledger->n_records, sizeof(*ledger->records), compare_records);
        return r;
}

/* The lock file's words: the generation, the pending re-pin mark, then the
 * record a deferred put left (its size, 0: none, and its hash), whose text
 * follows. All of it is written by one pwritev(): a holder killed during it
 * leaves a text that does not match its hash, which the next holder ignores
 * (that holder never answered its caller). */
struct lock_header {
        uint64_t generation;
        uint64_t repin_pending;
        uint64_t intent_size;
        uint64_t intent_hash;
};

#define INTENT_LIMIT (64 * 1024)

/* FNV-1a: a torn write's check, not a defence against a forger (who could
 * write the record file itself). */
static uint64_t text_hash(const char *text, size_t size)
{
        uint64_t hash = 0xcbf29ce484222325ull;

        for (size_t i = 0; i < size; i++)
                hash = (hash ^ (unsigned char)text[i]) * 0x100000001b3ull;
        return hash;
}

/* The next generation in the lock file, with `text` as the record waiting for
 * its file (NULL: none, which also ends one that was waiting). */
static int write_lock_header(struct np_ledger *ledger, const char *text, size_t size)
{
        struct lock_header header = { .generation = ledger->generation + 1,
                                      .repin_pending = ledger->repin_pending,
                                      .intent_size = text ? size : 0,
                                      .intent_hash = text ? text_hash(text, size) : 0 };
        struct iovec iov[2] = { { &header, sizeof(header) }, { (void *)text, text ? size : 0 } };
        ssize_t n;

        ledger->generation++;
        ledger->cache_dirty = true;
        n = text ? pwritev(ledger->lock_fd, iov, 2, 0) : pwrite(ledger->lock_fd, &header, sizeof(header), 0);
        if (n != (ssize_t)(sizeof(header) + header.intent_size)) {
                ledger->cache_unsafe = true;
                return n < 0 ? -errno : -EIO;
        }
        return 0;
}

static int take_intent(struct np_ledger *ledger, struct np_diag *diag);

/* Every change bumps a counter kept in the lock file, so that a process which
 * keeps the records loaded between changes (the NRI plugin) sees when another
 * one (the hook, numapinctl) has changed them. It is bumped before containers/
 * changes, so that ledger.cache is stale from the first byte of a change on, even
 * for a process killed half-way; a change that fails after it leaves memory and
 * containers/ apart, and marks the cache unsafe. */
static void bump_generation(struct np_ledger *ledger)
{
        int r = write_lock_header(ledger, NULL, 0);

        if (r < 0)
                np_log_debug("cannot record the ledger's generation: %s", strerror(-r));
}

static uint64_t read_generation(int lock_fd)
{
        uint64_t generation = 0;

        if (pread(lock_fd, &generation, sizeof(generation), 0) != (ssize_t)sizeof(generation))
                return 0;
        return generation;
}

/* The lock file's second word: nonzero from the first change of who holds CPUs
 * (or of a shared container's CPUs) until the re-pins it calls for are applied. */
#define REPIN_PENDING_OFFSET ((off_t)offsetof(struct lock_header, repin_pending))

/* The lock file's words in one read, as every lock of the ledger needs them
 * (a file of an older numapin has two: no record waits). */
static void read_lock_words(struct np_ledger *ledger, uint64_t *ret_generation)
{
        struct lock_header header = {};
        ssize_t n = pread(ledger->lock_fd, &header, sizeof(header), 0);

        *ret_generation = n >= (ssize_t)sizeof(header.generation) ? header.generation : 0;
        ledger->repin_pending = n >= (ssize_t)offsetof(struct lock_header, intent_size) && header.repin_pending != 0;
        ledger->lock_intent_size = n == (ssize_t)sizeof(header) ? header.intent_size : 0;
        ledger->lock_intent_hash = header.intent_hash;
}

static int write_repin_pending(struct np_ledger *ledger, bool pending)
{
        uint64_t word = pending;

        if (ledger->repin_pending == pending)
                return 0;
        if (pwrite(ledger->lock_fd, &word, sizeof(word), REPIN_PENDING_OFFSET) != (ssize_t)sizeof(word))
                return errno ? -errno : -EIO;
        ledger->repin_pending = pending;
        return 0;
}

bool np_ledger_repin_pending(const struct np_ledger *ledger)
{
        return ledger->repin_pending;
}

int np_ledger_repin_done(struct np_ledger *ledger)
{
        if (!ledger->exclusive || !ledger->locked)
                return -EPERM;
        return write_repin_pending(ledger, false);
}

uint64_t np_ledger_generation(const char *state_dir)
{
        char path[PATH_MAX + 8];
        uint64_t generation;
        int fd;

        snprintf(path, sizeof(path), "%s/lock", state_dir);
        fd = openat(AT_FDCWD, path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return 0;
        generation = read_generation(fd);
        close(fd);
        return generation;
}

/* A state dir that holds no ledger yet, read: nothing placed. */
static int empty_ledger(const char *state_dir, struct np_ledger **ret_ledger)
{
        struct np_ledger *ledger = calloc(1, sizeof(*ledger));

        if (!ledger)
                return -ENOMEM;
        ledger->lock_fd = ledger->records_fd = ledger->state_fd = -1;
        snprintf(ledger->state_dir, sizeof(ledger->state_dir), "%s", state_dir);
        *ret_ledger = ledger;
        return 0;
}

int np_ledger_open(const char *state_dir, bool exclusive, struct np_diag *diag, struct np_ledger **ret_ledger)
{
        _cleanup_ledger_ struct np_ledger *ledger = NULL;
        _cleanup_close_ int dir_fd = -1;
        struct stat st;
        int r;

        if (state_dir[0] != '/')
                return np_diag_fail(diag, -EINVAL, "state dir '%s': expected an absolute path", state_dir);
        dir_fd = openat(AT_FDCWD, state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0 && errno == ENOENT && exclusive) {
                if (mkdir(state_dir, 0755) < 0 && errno != EEXIST)
                        return np_diag_fail(diag, -errno, "state dir %s: cannot create it: %s", state_dir,
                                            strerror(errno));
                dir_fd = openat(AT_FDCWD, state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        }
        if (dir_fd < 0 && errno == ENOENT && !exclusive)
                return empty_ledger(state_dir, ret_ledger);
        if (dir_fd < 0)
                return np_diag_fail(diag, -errno, "state dir %s: %s", state_dir, strerror(errno));
        if (!exclusive &&
            (faccessat(dir_fd, "lock", F_OK, AT_SYMLINK_NOFOLLOW) < 0 ||
             faccessat(dir_fd, "containers", F_OK, AT_SYMLINK_NOFOLLOW) < 0) &&
            errno == ENOENT)
                return empty_ledger(state_dir, ret_ledger);
        if (exclusive && faccessat(dir_fd, "containers", F_OK, AT_SYMLINK_NOFOLLOW) < 0 &&
            mkdirat(dir_fd, "containers", 0755) < 0 && errno != EEXIST)
                return np_diag_fail(diag, -errno, "state dir %s/containers: cannot create it: %s", state_dir,
                                    strerror(errno));

        ledger = calloc(1, sizeof(*ledger));
        if (!ledger)
                return -ENOMEM;
        ledger->lock_fd = ledger->records_fd = ledger->state_fd = -1;
        ledger->exclusive = exclusive;
        /* O_NONBLOCK: a FIFO in its place must not hang the open; flock() and pread() ignore it */
        ledger->lock_fd = openat(dir_fd, "lock",
                                 (exclusive ? O_RDWR | O_CREAT : O_RDONLY) | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (ledger->lock_fd < 0)
                return np_diag_fail(diag, -errno, "state dir %s/lock: %s", state_dir, strerror(errno));
        if (fstat(ledger->lock_fd, &st) < 0)
                return np_diag_fail(diag, -errno, "state dir %s/lock: %s", state_dir, strerror(errno));
        if (!S_ISREG(st.st_mode))
                return np_diag_fail(diag, -EINVAL, "state dir %s/lock: %s", state_dir,
                                    np_file_strerror_at(dir_fd, "lock", -EINVAL));
        while (flock(ledger->lock_fd, exclusive ? LOCK_EX : LOCK_SH) < 0)
                if (errno != EINTR)
                        return np_diag_fail(diag, -errno, "state dir %s/lock: cannot lock: %s", state_dir,
                                            strerror(errno));
        ledger->locked = true;
        read_lock_words(ledger, &ledger->generation);
        snprintf(ledger->state_dir, sizeof(ledger->state_dir), "%s", state_dir);
        ledger->records_fd = openat(dir_fd, "containers", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (ledger->records_fd < 0)
                return np_diag_fail(diag, -errno, "state dir %s/containers: %s", state_dir, strerror(errno));
        ledger->state_fd = TAKE_FD(dir_fd);
        r = load_records(ledger, state_dir, diag);
        if (r == 0)
                r = take_intent(ledger, diag);
        if (r < 0)
                return r;
        *ret_ledger = TAKE_PTR(ledger);
        return 0;
}

void np_ledger_unlock(struct np_ledger *ledger)
{
        if (ledger->locked) {
                write_cache(ledger);
                ledger->loaded = false;
                (void)flock(ledger->lock_fd, LOCK_UN);
        }
        ledger->locked = false;
}

int np_ledger_relock(struct np_ledger *ledger, struct np_diag *diag)
{
        uint64_t generation;
        int r;

        if (ledger->locked || ledger->lock_fd < 0)
                return 0;
        while (flock(ledger->lock_fd, ledger->exclusive ? LOCK_EX : LOCK_SH) < 0)
                if (errno != EINTR)
                        return np_diag_fail(diag, -errno, "state dir %s/lock: cannot lock: %s", ledger->state_dir,
                                            strerror(errno));
        ledger->locked = true;
        read_lock_words(ledger, &generation);
        if (generation == ledger->generation)
                return 0;      /* a record this process left waiting is still its to write */
        forget_intent(ledger); /* the holder since wrote it */
        drop_all(ledger);
        ledger->generation = generation;
        r = load_records(ledger, ledger->state_dir, diag);
        if (r == 0)
                r = take_intent(ledger, diag);
        return r < 0 ? r : 1;
}

/* The index at which a record with `id` belongs in the sorted records. */
static size_t insertion_point(const struct np_ledger *ledger, const char *id)
{
        size_t low = 0, high = ledger->n_records;

        while (low < high) {
                size_t middle = low + (high - low) / 2;

                if (strcmp(packed_id(ledger->records[middle]), id) < 0)
                        low = middle + 1;
                else
                        high = middle;
        }
        return low;
}

/* The index of the record with `id`, or -1. */
static ssize_t index_of(const struct np_ledger *ledger, const char *id)
{
        size_t at;

        if (strlen(id) > NP_ID_MAX)
                return -1;
        at = insertion_point(ledger, id);
        return at < ledger->n_records && strcmp(packed_id(ledger->records[at]), id) == 0 ? (ssize_t)at : -1;
}

const struct np_record *np_ledger_find(const struct np_ledger *ledger, const char *id)
{
        struct np_ledger *cache = (struct np_ledger *)ledger; /* the slot is a copy, not a change */
        ssize_t at = index_of(ledger, id);

        if (at < 0)
                return NULL;
        unpack(ledger->records[at], &cache->found);
        return &cache->found;
}

const struct np_record *np_ledger_next(const struct np_ledger *ledger, const struct np_record *previous)
{
        struct np_ledger *cache = (struct np_ledger *)ledger; /* the slot is a copy, not a change */
        ssize_t at = previous ? index_of(ledger, previous->id) : -1;
        size_t next = (size_t)(at + 1);

        if ((previous && at < 0) || next >= ledger->n_records)
                return NULL;
        unpack(ledger->records[next], &cache->iterated);
        return &cache->iterated;
}

size_t np_ledger_count(const struct np_ledger *ledger)
{
        return ledger->n_records;
}

bool np_ledger_read_from_cache(const struct np_ledger *ledger)
{
        return ledger->from_cache;
}

const char *np_ledger_dir(const struct np_ledger *ledger)
{
        return ledger->state_dir;
}

/* Takes a record out of the usage sum: in place for a shared one, by summing
 * again (later) for one that holds CPUs exclusively. */
static void usage_forget(struct np_ledger *ledger, const struct packed_record *packed)
{
        struct np_cpulist nodes;

        if (!ledger->usage_valid)
                return;
        if (packed_list_empty(packed, LIST_EXCLUSIVE)) {
                packed_list(packed, LIST_NODES, &nodes);
                np_usage_remove_shared(&ledger->usage, packed->policy, &nodes, &packed->demand);
        } else
                ledger->usage_valid = false;
}

static void drop_at(struct np_ledger *ledger, size_t index)
{
        usage_forget(ledger, ledger->records[index]);
        free(ledger->records[index]);
        memmove(&ledger->records[index], &ledger->records[index + 1],
                (ledger->n_records - index - 1) * sizeof(*ledger->records));
        ledger->n_records--;
}

/* The packed form of `record` in the records: in place of the one at `existing`
 * (>= 0), or inserted in id order (room for it reserved). */
static void keep(struct np_ledger *ledger, ssize_t existing, struct packed_record *packed,
                 const struct np_record *record)
{
        size_t at;

        if (existing >= 0) {
                usage_forget(ledger, ledger->records[existing]);
                free(ledger->records[existing]);
                ledger->records[existing] = packed;
        } else {
                /* kept sorted by id: inserted in place */
                at = insertion_point(ledger, record->id);
                memmove(&ledger->records[at + 1], &ledger->records[at],
                        (ledger->n_records - at) * sizeof(*ledger->records));
                ledger->records[at] = packed;
                ledger->n_records++;
        }
        if (ledger->usage_valid)
                np_usage_add(&ledger->usage, record->policy, &record->nodes, &record->exclusive_cpus, &record->demand);
}

/* Before a change of containers/: the file of the record a deferred put left
 * waiting is written, or not at all when the change removes the file
 * `removed` names (NULL: none). The lock file still holds the record until
 * the change's own write of it. */
static int write_intent_file(struct np_ledger *ledger, const char *removed)
{
        int r = 0;

        if (!ledger->intent)
                return 0;
        if (!removed || strcmp(removed, ledger->intent_name) != 0)
                r = np_write_file_own_at(ledger->records_fd, ledger->intent_name, ledger->intent, ledger->intent_size,
                                         0644);
        if (r < 0)
                return r;
        forget_intent(ledger);
        return 0;
}

/* The record a holder of the lock left waiting in the lock file (a deferred
 * put answered before its file was written), over what containers/ holds; the
 * holder of the exclusive lock writes its file. A torn one is dropped. */
static int take_intent(struct np_ledger *ledger, struct np_diag *diag)
{
        _cleanup_json_ struct json_object *obj = NULL;
        _cleanup_free_ char *text = NULL;
        _cleanup_free_ struct np_record *record = NULL;
        struct packed_record *packed;
        size_t size = ledger->lock_intent_size;
        char what[PATH_MAX + 64];
        ssize_t n, existing;
        int r;

        forget_intent(ledger);
        if (size == 0)
                return 0;
        text = size <= INTENT_LIMIT ? malloc(size) : NULL;
        record = malloc(sizeof(*record));
        if (!record || (!text && size <= INTENT_LIMIT))
                return -ENOMEM;
        n = text ? pread(ledger->lock_fd, text, size, sizeof(struct lock_header)) : -1;
        if (n != (ssize_t)size || text_hash(text, size) != ledger->lock_intent_hash) {
                np_log_debug("ledger: %s/lock holds a torn record (a holder killed while writing it): dropped",
                             ledger->state_dir);
                if (ledger->exclusive)
                        bump_generation(ledger);
                return 0;
        }
        snprintf(what, sizeof(what), "ledger record waiting in %s/lock", ledger->state_dir);
        r = np_json_parse(text, size, INTENT_LIMIT, what, diag, &obj);
        if (r == 0)
                r = record_from_json(obj, what, diag, record);
        if (r < 0)
                return r;
        existing = index_of(ledger, record->id);
        packed = pack(record);
        if (!packed || (existing < 0 && reserve_one(ledger) < 0)) {
                free(packed);
                return -ENOMEM;
        }
        keep(ledger, existing, packed, record);
        if (!ledger->exclusive)
                return 0; /* the record counts; its file is the next writer's */
        ledger->intent = TAKE_PTR(text);
        ledger->intent_size = size;
        snprintf(ledger->intent_name, sizeof(ledger->intent_name), "%s.json", record->id);
        r = write_intent_file(ledger, NULL);
        if (r < 0) {
                np_log_debug("ledger: cannot write %s/containers/%s: %s", ledger->state_dir, ledger->intent_name,
                             strerror(-r));
                return 0; /* still waiting in the lock file, and in memory */
        }
        bump_generation(ledger);
        return 0;
}

void np_ledger_defer_writes(struct np_ledger *ledger, bool defer)
{
        ledger->defer = defer;
}

bool np_ledger_unsettled(const struct np_ledger *ledger)
{
        return ledger->intent != NULL;
}

int np_ledger_settle(struct np_ledger *ledger)
{
        int r;

        if (!ledger->intent)
                return 0;
        if (!ledger->exclusive || !ledger->locked)
                return -EPERM;
        r = write_intent_file(ledger, NULL);
        if (r < 0)
                return r;
        /* the record is the same, its file new: a reader of the files looks again */
        bump_generation(ledger);
        return 0;
}

int np_ledger_remove(struct np_ledger *ledger, const char *id)
{
        char name[RECORD_NAME_MAX];
        ssize_t at;
        int r;

        if (!ledger->exclusive || !ledger->locked)
                return -EPERM;
        at = index_of(ledger, id);
        if (at < 0)
                return -ENOENT;
        if (!packed_list_empty(ledger->records[at], LIST_EXCLUSIVE)) {
                r = write_repin_pending(ledger, true);
                if (r < 0)
                        return r;
        }
        record_name(name, id);
        r = write_intent_file(ledger, name);
        if (r < 0)
                return r;
        bump_generation(ledger);
        if (unlinkat(ledger->records_fd, name, 0) < 0 && errno != ENOENT) {
                r = -errno;
                ledger->cache_unsafe = true;
                return r;
        }
        drop_at(ledger, (size_t)at);
        return 0;
}

/* A record written in place of `old` (NULL: a new one) that changes who holds
 * CPUs exclusively, or a shared container's CPUs once placed: the cgroups
 * catch up after the write, so a re-pin is pending until they have. */
static bool repins_others(const struct packed_record *old, const struct packed_record *packed)
{
        if (!old)
                return !packed_list_empty(packed, LIST_EXCLUSIVE);
        return !packed_lists_equal(old, packed, LIST_EXCLUSIVE) || !packed_lists_equal(old, packed, LIST_CPUS);
}

int np_ledger_put(struct np_ledger *ledger, const struct np_record *record)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_free_ struct packed_record *packed = NULL;
        char name[RECORD_NAME_MAX];
        ssize_t existing;
        size_t size;
        int r;

        if (!ledger->exclusive || !ledger->locked)
                return -EPERM;
        if (!np_id_valid(record->id))
                return -EINVAL;
        r = np_record_to_text(record, &text, &size);
        if (r < 0)
                return r;
        packed = pack(record);
        existing = index_of(ledger, record->id);
        if (!packed || (existing < 0 && reserve_one(ledger) < 0))
                return -ENOMEM;
        if (repins_others(existing >= 0 ? ledger->records[existing] : NULL, packed)) {
                r = write_repin_pending(ledger, true);
                if (r < 0)
                        return r;
        }
        record_name(name, record->id);
        r = write_intent_file(ledger, NULL);
        if (r < 0)
                return r;
        if (ledger->defer && size <= INTENT_LIMIT) {
                /* answered once the lock file holds it: its file waits for np_ledger_settle() */
                r = write_lock_header(ledger, text, size);
                if (r < 0)
                        return r;
                ledger->intent = TAKE_PTR(text);
                ledger->intent_size = size;
                snprintf(ledger->intent_name, sizeof(ledger->intent_name), "%s", name);
        } else {
                /* one writer at a time, the holder of the exclusive lock: the fixed temporary name
                 * (no O_TMPFILE, link and unlink of a per-pid one); one a killed holder left is
                 * reused by the next write or removed by the next exclusive open */
                bump_generation(ledger);
                r = np_write_file_own_at(ledger->records_fd, name, text, size, 0644);
                if (r < 0) {
                        ledger->cache_unsafe = true;
                        return r;
                }
        }
        keep(ledger, existing, TAKE_PTR(packed), record);
        return 0;
}

static uint64_t realtime_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool container_gone(const struct packed_record *packed)
{
        const char *cgroup = packed_text(packed, TEXT_CGROUP);
        struct stat st;
        bool pid_alive, cgroup_exists;

        if (packed->pid <= 0 && cgroup[0] == '\0')
                return false; /* a plan record: kept until released */
        pid_alive = packed->pid > 0 && (kill(packed->pid, 0) == 0 || errno == EPERM);
        if (pid_alive)
                return false;
        cgroup_exists = cgroup[0] != '\0' && stat(cgroup, &st) == 0;
        return !cgroup_exists;
}

int np_ledger_reclaim(struct np_ledger *ledger, struct np_record **ret_gone, size_t *ret_n_gone)
{
        _cleanup_free_ struct np_record *gone = NULL;
        size_t n_gone = 0;
        int r;

        if (!ledger->exclusive || !ledger->locked)
                return -EPERM;
        /* kept in the cache written at the unlock: the next process may skip a look */
        ledger->reclaimed_at_ns = realtime_ns();
        ledger->cache_dirty = true;
        for (size_t i = 0; i < ledger->n_records;) {
                char name[RECORD_NAME_MAX];
                struct np_record *grown;

                if (!container_gone(ledger->records[i])) {
                        i++;
                        continue;
                }
                if (ret_gone) {
                        grown = realloc(gone, (n_gone + 1) * sizeof(*gone));
                        if (!grown)
                                return -ENOMEM;
                        gone = grown;
                        unpack(ledger->records[i], &gone[n_gone]);
                }
                record_name(name, packed_id(ledger->records[i]));
                r = write_intent_file(ledger, name);
                if (r < 0)
                        return r;
                bump_generation(ledger);
                if (unlinkat(ledger->records_fd, name, 0) < 0 && errno != ENOENT) {
                        r = -errno;
                        ledger->cache_unsafe = true;
                        return r;
                }
                np_log_debug("reclaimed the record of container '%s': its pid and cgroup are gone",
                             packed_id(ledger->records[i]));
                n_gone++;
                drop_at(ledger, i);
        }
        if (ret_gone)
                *ret_gone = TAKE_PTR(gone);
        if (ret_n_gone)
                *ret_n_gone = n_gone;
        return 0;
}

bool np_ledger_reclaimed_within(const struct np_ledger *ledger, uint64_t interval_ns)
{
        uint64_t now = realtime_ns();

        /* a clock set back since: looked at again */
        return ledger->reclaimed_at_ns && now >= ledger->reclaimed_at_ns && now - ledger->reclaimed_at_ns < interval_ns;
}

const struct np_cpulist *np_ledger_exclusive_cpus(const struct np_ledger *ledger)
{
        return &np_ledger_usage(ledger)->exclusive_cpus;
}

const struct np_usage *np_ledger_usage(const struct np_ledger *ledger)
{
        struct np_ledger *cache = (struct np_ledger *)ledger; /* the sum is a cache, not a change */

        if (!ledger->usage_valid) {
                /* a first sum adds to the zeros the ledger was allocated with: 25 KiB
                 * of zeros written over them would fault in all seven pages for a hook */
                if (cache->usage_summed)
                        np_usage_init(&cache->usage);
                cache->usage_summed = true;
                for (size_t i = 0; i < ledger->n_records; i++)
                        usage_add_packed(&cache->usage, ledger->records[i]);
                cache->usage_valid = true;
        }
        return &ledger->usage;
}

/* Exclusive means no other container runs there: a placement that would take
 * the last CPUs a shared container may use is refused, naming it. Only the
 * nodes the placement leaves without a shared CPU are looked at. */
static int leaves_shared_cpus(const struct np_ledger *ledger, const struct np_topology *topology,
                              const struct np_config *config, const char *id, const struct np_placement *placement,
                              struct np_diag *diag)
{
        struct np_cpulist exclusive = *np_ledger_exclusive_cpus(ledger), emptied = {}, pool;

        np_cpulist_or(&exclusive, &placement->exclusive_cpus);
        NP_CPULIST_FOREACH(node, &placement->nodes) {
                struct np_cpulist one = {};

                np_cpulist_set(&one, node);
                np_policy_shared_cpus(topology, config, &exclusive, &one, &pool);
                if (np_cpulist_empty(&pool))
                        np_cpulist_set(&emptied, node);
        }
        if (np_cpulist_empty(&emptied))
                return 0;
        for (size_t i = 0; i < ledger->n_records; i++) {
                const struct packed_record *rec = ledger->records[i];
                struct np_cpulist rec_nodes;
                const struct np_cpulist *nodes = rec->policy == NP_POLICY_NONE ? &topology->node_ids : &rec_nodes;
                char cpus[NP_CPULIST_BRIEF], node_list[NP_CPULIST_BRIEF];

                if (!packed_list_empty(rec, LIST_EXCLUSIVE))
                        continue;
                packed_list(rec, LIST_NODES, &rec_nodes);
                if (!np_cpulist_intersects(nodes, &emptied))
                        continue;
                np_policy_shared_cpus(topology, config, &exclusive, nodes, &pool);
                if (!np_cpulist_empty(&pool))
                        continue;
                return np_diag_fail(diag, -ENOSPC,
                                    "container '%s': exclusive CPUs %s would leave shared container '%s' (nodes %s) "
                                    "no CPU to run on; expected fewer exclusive CPUs or other nodes",
                                    id, np_cpulist_brief(&placement->exclusive_cpus, cpus, sizeof(cpus)),
                                    packed_id(rec), np_cpulist_brief(nodes, node_list, sizeof(node_list)));
        }
        return 0;
}

int np_ledger_place(const struct np_ledger *ledger, const struct np_topology *topology, const struct np_config *config,
                    const char *id, const struct np_request *request, const struct np_demand *demand,
                    unsigned int flags, struct np_diag *diag, struct np_placement *ret_placement)
{
        ssize_t existing = index_of(ledger, id);
        struct np_request pod_request = *request;
        int r;

        if (existing >= 0) {
                /* from the packed record: the slots np_ledger_find() and np_ledger_next() fill stay as they are */
                const struct packed_record *packed = ledger->records[existing];

                *ret_placement = (struct np_placement){ .policy = packed->policy,
                                                        .write_mems = packed->write_mems,
                                                        .demand = packed->demand };
                packed_list(packed, LIST_NODES, &ret_placement->nodes);
                packed_list(packed, LIST_CPUS, &ret_placement->cpus);
                packed_list(packed, LIST_MEMS, &ret_placement->mems);
                packed_list(packed, LIST_EXCLUSIVE, &ret_placement->exclusive_cpus);
                snprintf(ret_placement->reason, sizeof(ret_placement->reason), "already placed");
                return 1;
        }
        np_ledger_pod_nodes(ledger, id, &pod_request);
        r = np_policy_place(topology, config, np_ledger_usage(ledger), &pod_request, demand, flags, diag,
                            ret_placement);
        if (r == 0 && !np_cpulist_empty(&ret_placement->exclusive_cpus))
                r = leaves_shared_cpus(ledger, topology, config, id, ret_placement, diag);
        return r < 0 ? r : 0;
}

void np_ledger_pod_nodes(const struct np_ledger *ledger, const char *id, struct np_request *request)
{
        request->pod_nodes_fixed = false;
        np_cpulist_zero(&request->pod_nodes);
        if (request->scope != NP_SCOPE_POD || !request->pod_id[0])
                return;
        for (size_t i = 0; i < ledger->n_records; i++) {
                const struct packed_record *packed = ledger->records[i];
                struct np_cpulist nodes;

                if (strcmp(packed_text(packed, TEXT_POD_SCOPE), request->pod_id) != 0 ||
                    (id && strcmp(packed_id(packed), id) == 0))
                        continue;
                packed_list(packed, LIST_NODES, &nodes);
                np_cpulist_or(&request->pod_nodes, &nodes);
                request->pod_nodes_fixed = true;
        }
}

void np_record_placement(const struct np_record *record, struct np_placement *ret_placement)
{
        *ret_placement = (struct np_placement){ .policy = record->policy,
                                                .nodes = record->nodes,
                                                .cpus = record->cpus,
                                                .mems = record->mems,
                                                .exclusive_cpus = record->exclusive_cpus,
                                                .write_mems = record->write_mems,
                                                .demand = record->demand };
        snprintf(ret_placement->reason, sizeof(ret_placement->reason), "already placed");
}

void np_record_from_placement(struct np_record *record, const char *id, const struct np_placement *placement,
                              enum np_source source)
{
        memset(record, 0, sizeof(*record));
        snprintf(record->id, sizeof(record->id), "%s", id);
        record->policy = placement->policy;
        record->nodes = placement->nodes;
        record->cpus = placement->cpus;
        record->mems = placement->mems;
        record->exclusive_cpus = placement->exclusive_cpus;
        record->write_mems = placement->write_mems;
        record->demand = placement->demand;
        record->created = (int64_t)time(NULL);
        record->source = source;
}

int np_names_to_json(const struct np_names *names, struct json_object *obj)
{
        struct json_object *o;

        if (!names->namespace[0] && !names->pod[0] && !names->container[0])
                return 0;
        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        if (names->namespace[0])
                json_object_object_add(o, "namespace", json_object_new_string(names->namespace));
        if (names->pod[0])
                json_object_object_add(o, "pod", json_object_new_string(names->pod));
        if (names->container[0])
                json_object_object_add(o, "container", json_object_new_string(names->container));
        return json_object_object_add(obj, "kubernetes", o) < 0 ? -ENOMEM : 0;
}

static int add_list(struct json_object *obj, const char *key, const struct np_cpulist *list)
{
        _cleanup_free_ char *text = NULL;
        int r = np_cpulist_format_alloc(list, &text);

        if (r < 0)
                return r;
        return json_object_object_add(obj, key, json_object_new_string(text)) < 0 ? -ENOMEM : 0;
}

int np_record_to_json(const struct np_record *rec, struct json_object **ret_object)
{
        _cleanup_json_ struct json_object *obj = json_object_new_object();
        int r = 0;

        if (!obj)
                return -ENOMEM;
        json_object_object_add(obj, "id", json_object_new_string(rec->id));
        json_object_object_add(obj, "policy", json_object_new_string(np_policy_to_string(rec->policy)));
        if ((r = add_list(obj, "nodes", &rec->nodes)) < 0 || (r = add_list(obj, "cpus", &rec->cpus)) < 0 ||
            (r = add_list(obj, "mems", &rec->mems)) < 0 ||
            (r = add_list(obj, "exclusive_cpus", &rec->exclusive_cpus)) < 0)
                return r;
        json_object_object_add(obj, "write_mems", json_object_new_boolean(rec->write_mems));
        json_object_object_add(obj, "cpu_millis", json_object_new_int64((int64_t)rec->demand.cpu_millis));
        json_object_object_add(obj, "memory_bytes", json_object_new_int64((int64_t)rec->demand.memory_bytes));
        json_object_object_add(obj, "cgroup", json_object_new_string(rec->cgroup));
        json_object_object_add(obj, "pid", json_object_new_int(rec->pid));
        json_object_object_add(obj, "created", json_object_new_int64(rec->created));
        json_object_object_add(obj, "source", json_object_new_string(np_source_to_string(rec->source)));
        r = np_names_to_json(&rec->names, obj);
        if (r < 0)
                return r;
        if (rec->pod_scope[0])
                json_object_object_add(obj, "pod_scope", json_object_new_string(rec->pod_scope));
        if (rec->monitor.on) {
                struct json_object *monitor = json_object_new_object();

                if (!monitor)
                        return -ENOMEM;
                json_object_object_add(monitor, "dir", json_object_new_string(rec->monitor.dir));
                json_object_object_add(monitor, "slot", json_object_new_int64(rec->monitor.slot));
                json_object_object_add(monitor, "cgroup_id", json_object_new_uint64(rec->monitor.cgroup_id));
                json_object_object_add(obj, "monitor", monitor);
        }
        *ret_object = TAKE_PTR(obj);
        return 0;
}

/* --- the record's text, written directly ---------------------------------------------- */
/* np_record_to_text() writes what np_json_to_string() makes of np_record_to_json(),
 * byte for byte (test_ledger compares them): json-c's object tree and printbuf
 * were a third of an NRI CreateContainer's instructions. */
struct record_text {
        char *buf;
        size_t len, size;
        bool failed; /* out of memory */
        bool first;  /* no member yet in the object being written */
        unsigned int depth;
};

static void put_bytes(struct record_text *t, const char *bytes, size_t n)
{
        if (t->failed)
                return;
        if (t->size - t->len <= n) { /* room for the NUL too */
                size_t size = MAX(t->size * 2, t->len + n + 1);
                char *grown = realloc(t->buf, size);

                if (!grown) {
                        t->failed = true;
                        return;
                }
                t->buf = grown;
                t->size = size;
        }
        memcpy(t->buf + t->len, bytes, n);
        t->len += n;
        t->buf[t->len] = '\0';
}

/* A JSON string, escaped as json-c escapes it with JSON_C_TO_STRING_NOSLASHESCAPE:
 * the two-character escapes, \u00xx for the other control characters, every
 * other byte as it is. */
static void put_string(struct record_text *t, const char *s)
{
        static const char hex[] = "0123456789abcdef", named[] = "\b\f\n\r\t\"\\", names[] = "bfnrt\"\\";
        const char *run = s;

        put_bytes(t, "\"", 1);
        for (;; s++) {
                unsigned char c = (unsigned char)*s;
                const char *name;

                if (c >= 0x20 && c != '"' && c != '\\')
                        continue;
                put_bytes(t, run, (size_t)(s - run));
                if (c == '\0')
                        break;
                run = s + 1;
                name = memchr(named, c, sizeof(named) - 1);
                if (name)
                        put_bytes(t, (const char[]){ '\\', names[name - named] }, 2);
                else
                        put_bytes(t, (const char[]){ '\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf] }, 6);
        }
        put_bytes(t, "\"", 1);
}

/* `"key": ` on a line of its own, indented as json-c indents (two spaces a
 * level), in one piece: the keys are numapin's own short names, with no byte
 * to escape. */
static void put_key(struct record_text *t, const char *key)
{
        char line[64];
        size_t n = 0, len = strlen(key), indent = MIN(2 * t->depth, 8);

        if (len > sizeof(line) - indent - 6) { /* ",\n" indent '"' key '": ' */
                t->failed = true;
                return;
        }
        if (!t->first)
                line[n++] = ',';
        line[n++] = '\n';
        memset(line + n, ' ', indent);
        n += indent;
        line[n++] = '"';
        memcpy(line + n, key, len);
        n += len;
        memcpy(line + n, "\": ", 3);
        put_bytes(t, line, n + 3);
        t->first = false;
}

static void put_string_member(struct record_text *t, const char *key, const char *value)
{
        put_key(t, key);
        put_string(t, value);
}

/* An integer member in decimal, a '-' first when `negative`. */
static void put_number_member(struct record_text *t, const char *key, bool negative, uint64_t magnitude)
{
        char digits[21];
        size_t at = sizeof(digits);

        do {
                digits[--at] = (char)('0' + magnitude % 10);
                magnitude /= 10;
        } while (magnitude);
        if (negative)
                digits[--at] = '-';
        put_key(t, key);
        put_bytes(t, digits + at, sizeof(digits) - at);
}

static void put_int_member(struct record_text *t, const char *key, int64_t value)
{
        /* the magnitude of INT64_MIN too, in unsigned arithmetic */
        put_number_member(t, key, value < 0, value < 0 ? 0 - (uint64_t)value : (uint64_t)value);
}

static void open_object(struct record_text *t)
{
        put_bytes(t, "{", 1);
        t->depth++;
        t->first = true;
}

static void close_object(struct record_text *t)
{
        static const char spaces[] = "        ";

        t->depth--;
        put_bytes(t, "\n", 1);
        put_bytes(t, spaces, MIN(2 * t->depth, sizeof(spaces) - 1));
        put_bytes(t, "}", 1);
        t->first = false;
}

static int put_list_member(struct record_text *t, const char *key, const struct np_cpulist *list)
{
        _cleanup_free_ char *text = NULL;
        char small[256]; /* most lists: no allocation */
        int r;

        if (np_cpulist_format(list, small, sizeof(small)) == 0) {
                put_string_member(t, key, small);
                return 0;
        }
        r = np_cpulist_format_alloc(list, &text);
        if (r < 0)
                return r;
        put_string_member(t, key, text);
        return 0;
}

int np_record_to_text(const struct np_record *rec, char **ret_text, size_t *ret_size)
{
        struct record_text t = { .buf = malloc(1024), .size = 1024 }; /* a record's usual size */
        const struct np_names *names = &rec->names;
        int r;

        if (!t.buf)
                return -ENOMEM;
        open_object(&t);
        put_string_member(&t, "id", rec->id);
        put_string_member(&t, "policy", np_policy_to_string(rec->policy));
        if ((r = put_list_member(&t, "nodes", &rec->nodes)) < 0 || (r = put_list_member(&t, "cpus", &rec->cpus)) < 0 ||
            (r = put_list_member(&t, "mems", &rec->mems)) < 0 ||
            (r = put_list_member(&t, "exclusive_cpus", &rec->exclusive_cpus)) < 0) {
                free(t.buf);
                return r;
        }
        put_key(&t, "write_mems");
        put_bytes(&t, rec->write_mems ? "true" : "false", rec->write_mems ? 4 : 5);
        put_int_member(&t, "cpu_millis", (int64_t)rec->demand.cpu_millis);
        put_int_member(&t, "memory_bytes", (int64_t)rec->demand.memory_bytes);
        put_string_member(&t, "cgroup", rec->cgroup);
        put_int_member(&t, "pid", rec->pid);
        put_int_member(&t, "created", rec->created);
        put_string_member(&t, "source", np_source_to_string(rec->source));
        if (names->namespace[0] || names->pod[0] || names->container[0]) {
                put_key(&t, "kubernetes");
                open_object(&t);
                if (names->namespace[0])
                        put_string_member(&t, "namespace", names->namespace);
                if (names->pod[0])
                        put_string_member(&t, "pod", names->pod);
                if (names->container[0])
                        put_string_member(&t, "container", names->container);
                close_object(&t);
        }
        if (rec->pod_scope[0])
                put_string_member(&t, "pod_scope", rec->pod_scope);
        if (rec->monitor.on) {
                put_key(&t, "monitor");
                open_object(&t);
                put_string_member(&t, "dir", rec->monitor.dir);
                put_int_member(&t, "slot", rec->monitor.slot);
                put_number_member(&t, "cgroup_id", false, rec->monitor.cgroup_id);
                close_object(&t);
        }
        close_object(&t);
        put_bytes(&t, "\n", 1);
        if (t.failed) {
                free(t.buf);
                return -ENOMEM;
        }
        *ret_text = t.buf;
        *ret_size = t.len;
        return 0;
}
