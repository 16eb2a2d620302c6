/* SPDX-License-Identifier: MIT */
/* The /metrics endpoint: GNU libmicrohttpd serving np_metrics_render() from a
 * thread of its own, so that a scrape (or a client that connects and sends
 * nothing) never holds up the process's own work. Bounded: a request's headers
 * are limited in size, idle connections are closed, concurrent ones capped. */
#pragma once

#include <stdint.h>
#include <sys/socket.h>

#include "log.h"
#include "macro.h"
#include "metrics.h"

#define NP_METRICS_PORT_DEFAULT     9651
#define NP_METRICS_CONNECTIONS      256      /* at once; more wait in the listen queue */
#define NP_METRICS_IDLE_SECONDS     10       /* a connection that sends nothing for this long is closed */
#define NP_METRICS_REQUEST_MAX      (16 * 1024) /* bytes of a request's line and headers */

struct np_metrics_server;

/* An address as --metrics-listen and --listen take it: HOST:PORT (an IPv4
 * address or "localhost"), [IPV6]:PORT, or :PORT for every interface. Port 0
 * takes any free port (np_metrics_server_port() tells which). */
int np_metrics_address_parse(const char *address, struct sockaddr_storage *ret_addr, socklen_t *ret_len,
                             struct np_diag *diag);

/* Binds `address` (an address in use is refused with a message saying so) and
 * serves GET /metrics from `metrics` until stopped. `metrics` stays the caller's. */
int np_metrics_server_start(struct np_metrics *metrics, const char *address, struct np_diag *diag,
                            struct np_metrics_server **ret_server);
void np_metrics_server_stop(struct np_metrics_server *server);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct np_metrics_server *, np_metrics_server_stop)
#define _cleanup_metrics_server_ _cleanup_(np_metrics_server_stopp)

uint16_t np_metrics_server_port(const struct np_metrics_server *server);
