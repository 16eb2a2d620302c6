/* SPDX-License-Identifier: MIT */
/* The node's placements and their measured NUMA locality in the Prometheus text
 * exposition format (version 0.0.4), for the /metrics endpoint of the NRI
 * plugin and of numapin-exporter, and for `numapinctl metrics`: per container
 * (labelled container_id, namespace, pod, container), per NUMA node, the
 * monitor, and the operations counters. Read from the state dir without its
 * lock (records are replaced whole), the pinned BPF maps and sysfs, so that a
 * scrape never waits for a placement nor holds one up. */
#pragma once

#include <stddef.h>

#include "context.h"
#include "log.h"
#include "macro.h"

#define NP_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* A renderer with what it keeps between scrapes (the records parsed, the pinned
 * sets opened): one per resident process; its calls are serialised inside. */
struct np_metrics;

/* Opens its own context from `options` (topology read anew at each scrape). */
int np_metrics_new(const struct np_context_options *options, struct np_diag *diag, struct np_metrics **ret_metrics);
void np_metrics_free(struct np_metrics *metrics);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct np_metrics *, np_metrics_free)
#define _cleanup_metrics_ _cleanup_(np_metrics_freep)

/* Raises the process's soft limit of open files to its hard limit: a renderer
 * keeps one O_PATH folder open per container it reads memory.numa_stat of. */
void np_metrics_raise_fd_limit(void);

/* The config it reads with (for the front-end's log level). */
const struct np_config *np_metrics_config(const struct np_metrics *metrics);

/* A config that arrives later (the NRI plugin's, in Configure), as
 * np_context_set_config takes it. */
int np_metrics_set_config(struct np_metrics *metrics, const char *text, size_t size, const char *what,
                          struct np_diag *diag);

/* The exposition text, freed with np_metrics_text_free(). A part that cannot be
 * read (a damaged record, a pinned set gone) is left out and logged at debug
 * level; only a failure to allocate fails the whole. */
int np_metrics_render(struct np_metrics *metrics, char **ret_text, size_t *ret_size);
/* (a void * for libmicrohttpd's free callback; NULL is nothing) */
void np_metrics_text_free(void *text);
