// SPDX-License-Identifier: MIT
/* The NUMA node of a container's devices: sysfs's dev/char|block/MAJ:MIN resolved
 * below the sysfs root one component at a time (no link leads out of it), then
 * walked up to the first folder with a numa_node; NVIDIA GPUs, which have no sysfs
 * character device, through the driver's /proc/driver/nvidia/gpus/<bus>/information.
 * Every file read is bounded and must be a regular file: a FIFO is refused, never
 * waited on. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices.h"
#include "fileio.h"
#include "parse.h"
#include "topology.h"

#define NVIDIA_MAJOR         195
#define NVIDIA_MINOR_MODESET 254 /* /dev/nvidia-modeset */
#define NVIDIA_MINOR_CTL     255 /* /dev/nvidiactl */
#define NUMA_NODE_LIMIT      64
#define INFORMATION_LIMIT    16384
#define MAX_GPUS             1024 /* entries of driver/nvidia/gpus looked at */
#define MAX_DEPTH            64   /* folders below the sysfs root */
#define MAX_LINKS            40   /* links followed in one lookup, as the kernel's ELOOP */

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir)

/* A folder below the sysfs root, reached one component at a time: an fd per
 * level (fds[0] is the root), so that ".." and the walk up need no new lookup. */
struct sysfs_walk {
        int fds[MAX_DEPTH + 1];
        size_t depth;                   /* folders below the root */
        char path[PATH_MAX];            /* relative to the root, "" for the root */
        size_t path_len[MAX_DEPTH + 1]; /* strlen(path) at each level */
};

static void sysfs_walk_close(struct sysfs_walk *walk)
{
        for (size_t i = 0; i <= walk->depth; i++)
                closep(&walk->fds[i]);
        walk->depth = 0;
}

/* Follows `start` (relative, e.g. "dev/char/259:0") from the root folder
 * walk->fds[0], expanding links by hand: a link that is absolute or whose ".."
 * climbs above the root is refused with -EXDEV, a chain of more than MAX_LINKS
 * with -ELOOP. The result must be a folder. */
static int sysfs_walk_resolve(struct sysfs_walk *walk, const char *sysfs_root, const char *start,
                              struct np_diag *diag)
{
        char pending[PATH_MAX], link[PATH_MAX], rest[PATH_MAX];
        unsigned int links = 0;
        size_t pos = 0;

        if (strlen(start) >= sizeof(pending))
                return np_diag_fail(diag, -ENAMETOOLONG, "sysfs: %s/%s: path too long", sysfs_root, start);
        strcpy(pending, start);
        while (pending[pos]) {
                char component[NAME_MAX + 1];
                size_t len = strcspn(pending + pos, "/");
                _cleanup_close_ int fd = -1;
                struct stat st;

                if (len > NAME_MAX)
                        return np_diag_fail(diag, -ENAMETOOLONG, "sysfs: %s/%s: a name is too long", sysfs_root,
                                            start);
                memcpy(component, pending + pos, len);
                component[len] = '\0';
                pos += len;
                pos += strspn(pending + pos, "/");
                if (len == 0 || strcmp(component, ".") == 0)
                        continue;
                if (strcmp(component, "..") == 0) {
                        if (walk->depth == 0)
                                return np_diag_fail(diag, -EXDEV,
                                                    "sysfs: %s/%s leads outside the sysfs root %s; expected links "
                                                    "that stay below it",
                                                    sysfs_root, start, sysfs_root);
                        closep(&walk->fds[walk->depth]);
                        walk->depth--;
                        walk->path[walk->path_len[walk->depth]] = '\0';
                        continue;
                }
                fd = openat(walk->fds[walk->depth], component, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0) {
                        int r = -errno;

                        return np_diag_fail(diag, r, "sysfs: %s/%s: %s", sysfs_root, start,
                                            r == -ENOENT ? "does not exist" : strerror(-r));
                }
                if (fstat(fd, &st) < 0)
                        return np_diag_fail(diag, -errno, "sysfs: %s/%s: %s", sysfs_root, start, strerror(errno));
                if (S_ISLNK(st.st_mode)) {
                        ssize_t n;
                        int size;

                        if (++links > MAX_LINKS)
                                return np_diag_fail(diag, -ELOOP, "sysfs: %s/%s: more than %d links", sysfs_root,
                                                    start, MAX_LINKS);
                        n = readlinkat(fd, "", link, sizeof(link) - 1);
                        if (n < 0)
                                return np_diag_fail(diag, -errno, "sysfs: %s/%s: %s", sysfs_root, start,
                                                    strerror(errno));
                        link[n] = '\0';
                        if (link[0] == '/')
                                return np_diag_fail(diag, -EXDEV,
                                                    "sysfs: %s/%s leads outside the sysfs root %s (an absolute "
                                                    "link); expected links that stay below it",
                                                    sysfs_root, start, sysfs_root);
                        /* the link's target replaces the component, before what is left */
                        size = snprintf(rest, sizeof(rest), "%s%s%s", link, pending[pos] ? "/" : "", pending + pos);
                        if (size < 0 || (size_t)size >= sizeof(rest))
                                return np_diag_fail(diag, -ENAMETOOLONG, "sysfs: %s/%s: path too long", sysfs_root,
                                                    start);
                        memcpy(pending, rest, (size_t)size + 1);
                        pos = 0;
                        continue;
                }
                if (!S_ISDIR(st.st_mode))
                        return np_diag_fail(diag, -ENOTDIR, "sysfs: %s/%s: not a folder; expected a device's folder",
                                            sysfs_root, start);
                if (walk->depth == MAX_DEPTH ||
                    walk->path_len[walk->depth] + 1 + len + 1 > sizeof(walk->path))
                        return np_diag_fail(diag, -ENAMETOOLONG, "sysfs: %s/%s: more than %d folders deep",
                                            sysfs_root, start, MAX_DEPTH);
                {
                        size_t used = walk->path_len[walk->depth];

                        if (used > 0)
                                walk->path[used++] = '/';
                        memcpy(walk->path + used, component, len + 1);
                        walk->depth++;
                        walk->fds[walk->depth] = TAKE_FD(fd);
                        walk->path_len[walk->depth] = used + len;
                }
        }
        return 0;
}

/* Reads numa_node in the folder `dirfd`: -ENOENT when there is none, else the
 * node or -1. `where` is the folder's path, for messages. */
static int read_numa_node(int dirfd, const char *where, struct np_diag *diag, int *ret_node)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int fd = -1;
        char quoted[80];
        uint64_t value;
        int r;

        fd = np_open_regular_at(dirfd, "numa_node", O_RDONLY | O_NOFOLLOW);
        if (fd == -ENOENT)
                return fd;
        if (fd < 0)
                return np_diag_fail(diag, fd, "sysfs: cannot read %s/numa_node: %s", where,
                                    fd == -ELOOP ? "a symbolic link; expected a regular file"
                                                 : np_file_strerror_at(dirfd, "numa_node", fd));
        r = np_read_fd(fd, NUMA_NODE_LIMIT, &text, NULL);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return np_diag_fail(diag, r, "sysfs: cannot read %s/numa_node: %s", where,
                                    r == -EFBIG ? "longer than a node number" : strerror(-r));
        if (strcmp(text, "-1\n") == 0 || strcmp(text, "-1") == 0) {
                *ret_node = -1;
                return 0;
        }
        r = np_parse_sysfs_u64(text, NP_MAX_NODES - 1, &value);
        if (r < 0)
                return np_diag_fail(diag, -EINVAL,
                                    "sysfs: %s/numa_node holds '%s'; expected -1 or a node number from 0 to %d", where,
                                    np_log_quote(quoted, sizeof(quoted), text), NP_MAX_NODES - 1);
        *ret_node = (int)value;
        return 0;
}

/* The NUMA node of the device folder `start` names (a link below the root): the
 * first numa_node from the folder up, below devices/. */
static int sysfs_numa_node(const char *sysfs_root, const char *start, struct np_diag *diag, int *ret_node,
                           char *ret_where, size_t where_size)
{
        _cleanup_(sysfs_walk_close) struct sysfs_walk walk = { .fds = { -1 } };
        char where[PATH_MAX + PATH_MAX];
        int r;

        walk.fds[0] = openat(AT_FDCWD, sysfs_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (walk.fds[0] < 0)
                return np_diag_fail(diag, -errno, "sysfs root '%s': %s", sysfs_root, strerror(errno));
        r = sysfs_walk_resolve(&walk, sysfs_root, start, diag);
        if (r < 0)
                return r;
        if (walk.depth < 1 || walk.path_len[1] != strlen("devices") || strncmp(walk.path, "devices", 7) != 0)
                return np_diag_fail(diag, -EINVAL, "sysfs: %s/%s leads to %s/%s; expected a folder below %s/devices",
                                    sysfs_root, start, sysfs_root, walk.path, sysfs_root);
        /* from the device's folder up to, not including, devices/ */
        for (size_t level = walk.depth; level >= 2; level--) {
                int node = -1;

                snprintf(where, sizeof(where), "%s/%.*s", sysfs_root, (int)walk.path_len[level], walk.path);
                r = read_numa_node(walk.fds[level], where, diag, &node);
                if (r == -ENOENT)
                        continue;
                if (r < 0)
                        return r;
                if (ret_where && where_size)
                        snprintf(ret_where, where_size, "%s", where);
                *ret_node = node;
                return 0;
        }
        if (ret_where && where_size)
                snprintf(ret_where, where_size, "%s/%s", sysfs_root, walk.path);
        *ret_node = -1;
        return 0;
}

/* Whether `s` is a PCI function address as sysfs names it: DDDD:BB:DD.F in
 * lowercase hex (a domain of 4 to 8 digits, as VMD's). */
static bool pci_address_valid(const char *s)
{
        size_t n = strspn(s, "0123456789abcdef");

        if (n < 4 || n > 8 || s[n] != ':')
                return false;
        s += n + 1;
        if (strspn(s, "0123456789abcdef") != 2 || s[2] != ':')
                return false;
        s += 3;
        if (strspn(s, "0123456789abcdef") != 2 || s[2] != '.')
                return false;
        return s[3] >= '0' && s[3] <= '7' && s[4] == '\0';
}

/* The value of the line "LABEL<spaces and tabs>VALUE" of the driver's
 * information file, without the blanks around it; false when absent or too long. */
static bool information_field(const char *text, const char *label, char *buf, size_t size)
{
        size_t label_len = strlen(label);

        for (const char *line = text; line && *line;) {
                const char *end = strchr(line, '\n'), *next = end ? end + 1 : NULL;

                if (!end)
                        end = line + strlen(line);
                if ((size_t)(end - line) >= label_len && strncmp(line, label, label_len) == 0) {
                        const char *p = line + label_len, *q = end;

                        while (p < q && (*p == ' ' || *p == '\t'))
                                p++;
                        while (q > p && (q[-1] == ' ' || q[-1] == '\t' || q[-1] == '\r'))
                                q--;
                        if ((size_t)(q - p) >= size)
                                return false;
                        memcpy(buf, p, (size_t)(q - p));
                        buf[q - p] = '\0';
                        return true;
                }
                line = next;
        }
        return false;
}

/* An NVIDIA GPU's node: the information file whose Device Minor is `minor` names
 * its Bus Location, whose bus/pci/devices/<bus>/numa_node is read. -ENOENT when
 * no GPU has the minor. */
static int nvidia_numa_node(const char *sysfs_root, const char *proc_root, unsigned int minor, struct np_diag *diag,
                            int *ret_node, char *ret_where, size_t where_size)
{
        _cleanup_close_ int proc_fd = -1, gpus_fd = -1;
        _cleanup_(closedirp) DIR *gpus = NULL;
        struct dirent *entry;
        char gpus_path[PATH_MAX];
        int error = 0;
        struct np_diag first = {};

        snprintf(gpus_path, sizeof(gpus_path), "%s/driver/nvidia/gpus", proc_root);
        proc_fd = openat(AT_FDCWD, proc_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (proc_fd < 0)
                return np_diag_fail(diag, -errno, "proc root '%s': %s", proc_root, strerror(errno));
        gpus_fd = np_open_dir_at(proc_fd, "driver/nvidia/gpus");
        if (gpus_fd < 0)
                return np_diag_fail(diag, gpus_fd == -ENOTDIR ? -ENOENT : gpus_fd, "%s: %s (no NVIDIA driver?)",
                                    gpus_path, strerror(-gpus_fd));
        gpus = fdopendir(gpus_fd);
        if (!gpus)
                return np_diag_fail(diag, -errno, "%s: %s", gpus_path, strerror(errno));
        gpus_fd = -1; /* the DIR owns it */
        for (unsigned int seen = 0; seen < MAX_GPUS && (entry = readdir(gpus)); seen++) {
                _cleanup_free_ char *text = NULL;
                char path[NAME_MAX + 16], value[64], bus[64], start[128], quoted[80];
                struct np_diag local = {};
                uint32_t device_minor;
                int r;

                if (entry->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof(path), "%s/information", entry->d_name);
                r = np_read_file_at(dirfd(gpus), path, INFORMATION_LIMIT, &text, NULL);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        /* one unreadable GPU does not hide the others; it is the answer only if none matches */
                        if (!error)
                                error = np_diag_fail(&first, r, "cannot read %s/%s: %s", gpus_path, path,
                                                     np_file_strerror_at(dirfd(gpus), path, r));
                        continue;
                }
                if (!information_field(text, "Device Minor:", value, sizeof(value)) ||
                    np_parse_u32(value, 0, UINT32_MAX, &device_minor) < 0) {
                        if (!error)
                                error = np_diag_fail(&first, -EINVAL,
                                                     "%s/%s lacks a valid 'Device Minor: N' line", gpus_path, path);
                        continue;
                }
                if (device_minor != minor)
                        continue;
                if (!information_field(text, "Bus Location:", bus, sizeof(bus)) || !pci_address_valid(bus))
                        return np_diag_fail(diag, -EINVAL,
                                            "%s/%s: Bus Location '%s' is not a PCI address; expected DDDD:BB:DD.F",
                                            gpus_path, path,
                                            information_field(text, "Bus Location:", bus, sizeof(bus))
                                                    ? np_log_quote(quoted, sizeof(quoted), bus)
                                                    : "");
                snprintf(start, sizeof(start), "bus/pci/devices/%s", bus);
                r = sysfs_numa_node(sysfs_root, start, &local, ret_node, NULL, 0);
                if (r < 0) {
                        if (diag)
                                *diag = local;
                        return r;
                }
                if (ret_where && where_size)
                        snprintf(ret_where, where_size, "%s", bus);
                return 0;
        }
        if (error) {
                if (diag)
                        *diag = first;
                return error;
        }
        return np_diag_fail(diag, -ENOENT, "%s: no GPU with Device Minor %u", gpus_path, minor);
}

int np_device_numa_node(const char *sysfs_root, const char *proc_root, const struct np_device *device,
                        struct np_diag *diag, int *ret_node, char *ret_where, size_t where_size)
{
        char type = device->type == 'u' ? 'c' : device->type, start[64];
        int r;

        if (!sysfs_root)
                sysfs_root = "/sys";
        if (!proc_root)
                proc_root = "/proc";
        if (type == 'p') {
                /* a FIFO: no device behind it */
                if (ret_where && where_size)
                        snprintf(ret_where, where_size, "a FIFO");
                *ret_node = -1;
                return 0;
        }
        if (type != 'c' && type != 'b')
                return np_diag_fail(diag, -EINVAL, "device type '%c' is not c, u, b or p", device->type);
        if (type == 'c' && device->major == NVIDIA_MAJOR && device->minor <= NVIDIA_MINOR_CTL) {
                struct np_diag nvidia_diag = {};

                if (device->minor >= NVIDIA_MINOR_MODESET) {
                        /* nvidiactl and nvidia-modeset serve every GPU */
                        if (ret_where && where_size)
                                snprintf(ret_where, where_size, "%s",
                                         device->minor == NVIDIA_MINOR_CTL ? "nvidiactl" : "nvidia-modeset");
                        *ret_node = -1;
                        return 0;
                }
                r = nvidia_numa_node(sysfs_root, proc_root, device->minor, &nvidia_diag, ret_node, ret_where,
                                     where_size);
                if (r != -ENOENT) {
                        if (r < 0 && diag)
                                *diag = nvidia_diag;
                        return r;
                }
                /* a driver that registers its GPUs in sysfs after all */
                snprintf(start, sizeof(start), "dev/char/%u:%u", device->major, device->minor);
                r = sysfs_numa_node(sysfs_root, start, NULL, ret_node, ret_where, where_size);
                if (r < 0 && diag)
                        *diag = nvidia_diag;
                return r;
        }
        snprintf(start, sizeof(start), "dev/%s/%u:%u", type == 'b' ? "block" : "char", device->major, device->minor);
        return sysfs_numa_node(sysfs_root, start, diag, ret_node, ret_where, where_size);
}

/* A note built in a buffer of fixed size: entries joined by ", ", and "..." at
 * the end when one did not fit. */
struct note {
        char *text;
        size_t size;
        size_t used;
        bool cut;
};

static void note_add(struct note *note, const char *fmt, ...) _printf_(2, 3);
static void note_add(struct note *note, const char *fmt, ...)
{
        char entry[sizeof(((struct np_diag *)NULL)->message) + 512];
        size_t len, sep;
        va_list ap;

        if (note->cut || note->size == 0)
                return;
        va_start(ap, fmt);
        vsnprintf(entry, sizeof(entry), fmt, ap);
        va_end(ap);
        len = strlen(entry);
        sep = note->used ? 2 : 0;
        if (note->used + sep + len >= note->size) {
                note->cut = true;
                return;
        }
        memcpy(note->text + note->used, ", ", sep);
        memcpy(note->text + note->used + sep, entry, len + 1);
        note->used += sep + len;
}

/* Joins the found and the left-out parts into `out` (size > 0). A cut ends the
 * note with "...": a cut found part ends it there, so that the dots stand where
 * entries are missing. */
static void note_join(const struct note *found, const struct note *left, char *out, size_t size)
{
        const size_t dots = strlen("...");
        bool cut = found->cut || left->cut;
        int n;

        if (found->cut)
                n = snprintf(out, size, "%s", found->text);
        else
                n = snprintf(out, size, "%s%s%s", found->text, found->used && left->used ? ", " : "", left->text);
        if (n < 0 || (size_t)n >= size)
                cut = true;
        if (!cut)
                return;
        if (size <= dots) {
                out[0] = '\0';
                return;
        }
        n = (int)strlen(out);
        if ((size_t)n + dots >= size)
                n = (int)(size - dots - 1);
        memcpy(out + n, "...", dots + 1);
}

int np_devices_nodes(const char *sysfs_root, const char *proc_root, const struct np_device *devices, size_t n_devices,
                     struct np_cpulist *ret_nodes, char *note, size_t note_size)
{
        _cleanup_free_ char *found_text = NULL, *left_text = NULL;
        struct note found = {}, left = {};
        struct np_cpulist nodes;

        np_cpulist_zero(&nodes);
        if (note && note_size > 0) {
                found_text = calloc(1, note_size);
                left_text = calloc(1, note_size);
                if (!found_text || !left_text)
                        return -ENOMEM;
                found = (struct note){ .text = found_text, .size = note_size };
                left = (struct note){ .text = left_text, .size = note_size };
        }
        for (size_t i = 0; i < n_devices; i++) {
                const struct np_device *device = &devices[i];
                struct np_diag diag = {};
                char name[256], quoted[200];
                int node = -1, r;

                if (device->path)
                        snprintf(name, sizeof(name), "%s", np_log_quote(quoted, sizeof(quoted), device->path));
                else
                        snprintf(name, sizeof(name), "device %c %u:%u", device->type, device->major, device->minor);
                r = np_device_numa_node(sysfs_root, proc_root, device, &diag, &node, NULL, 0);
                if (r == -ENOMEM)
                        return r;
                if (r == 0 && node >= 0) {
                        np_cpulist_set(&nodes, (unsigned int)node);
                        note_add(&found, "%s on node %d", name, node);
                } else if (r == 0) {
                        note_add(&left, "%s has no NUMA node", name);
                } else if (r == -ENOENT && (device->type == 'c' || device->type == 'u') &&
                           device->major == NVIDIA_MAJOR) {
                        note_add(&left, "%s (c %u:%u) is not a GPU the NVIDIA driver lists", name, device->major,
                                 device->minor);
                } else if (r == -ENOENT && device->path) {
                        note_add(&left, "%s (%c %u:%u) is not in sysfs", name, device->type, device->major,
                                 device->minor);
                } else if (r == -ENOENT) {
                        note_add(&left, "%s is not in sysfs", name);
                } else {
                        note_add(&left, "%s: %s", name, diag.message);
                }
        }
        if (note && note_size > 0)
                note_join(&found, &left, note, note_size);
        *ret_nodes = nodes;
        return 0;
}
