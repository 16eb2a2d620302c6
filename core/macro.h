/* SPDX-License-Identifier: MIT */
/* Cleanup attributes and ownership helpers shared by every numapin source file,
 * in the style of systemd and crun: a variable declared with _cleanup_* is freed
 * when it leaves scope, and TAKE_PTR()/TAKE_FD() hand ownership out. */
#pragma once

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f)    __attribute__((cleanup(f)))
#define _cleanup_free_  _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _unused_        __attribute__((unused))
#define _printf_(a, b)  __attribute__((format(printf, a, b)))
#define _warn_unused_   __attribute__((warn_unused_result))
#define _noinline_      __attribute__((noinline))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b)     ((a) < (b) ? (a) : (b))
#define MAX(a, b)     ((a) > (b) ? (a) : (b))

static inline void freep(void *p)
{
        free(*(void **)p);
}

static inline void closep(int *fd)
{
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}

#define TAKE_PTR(p)                                                                                                    \
        ({                                                                                                             \
                __typeof__(p) _taken = (p);                                                                            \
                (p) = NULL;                                                                                            \
                _taken;                                                                                                \
        })

#define TAKE_FD(fd)                                                                                                    \
        ({                                                                                                             \
                int _taken = (fd);                                                                                     \
                (fd) = -1;                                                                                             \
                _taken;                                                                                                \
        })

/* Defines `fnp(type **)` that calls `fn(type *)` on a non-NULL pointer. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, fn)                                                                          \
        static inline void fn##p(type *p)                                                                              \
        {                                                                                                              \
                if (*p)                                                                                                \
                        fn(*p);                                                                                        \
        }
