// SPDX-License-Identifier: MIT
/* numapin-exporter: the /metrics endpoint for hosts where only the OCI hook runs
 * (podman, runc, CRI-O through hooks.d), where no numapin process stays
 * resident. It serves what the NRI plugin's --metrics-listen serves, from the
 * same core code, until SIGTERM or SIGINT. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/metrics-http.h"
#include "../core/metrics.h"
#include "../core/sandbox.h"

#define LISTEN_DEFAULT "127.0.0.1:9651"

static void usage(FILE *out)
{
        fprintf(out,
                "usage: numapin-exporter " NP_CONTEXT_USAGE " [--listen ADDR]\n"
                "  Serves the node's placements and NUMA locality in the Prometheus text format at\n"
                "  http://ADDR/metrics. ADDR: HOST:PORT, [IPV6]:PORT or :PORT (every interface);\n"
                "  default " LISTEN_DEFAULT ".\n");
}

int main(int argc, char **argv)
{
        static const struct option long_options[] = {
                NP_CONTEXT_LONG_OPTIONS,
                { "listen", required_argument, NULL, 'l' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_metrics_server_ struct np_metrics_server *server = NULL;
        _cleanup_metrics_ struct np_metrics *metrics = NULL;
        struct np_context_options options = { .source = NP_SOURCE_UNKNOWN };
        const char *listen = LISTEN_DEFAULT;
        struct np_diag diag = {};
        sigset_t stop;
        int c, sig, r;

        np_log_set_prefix("numapin-exporter");
        while ((c = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
                if (np_context_option(&options, c, optarg))
                        continue;
                switch (c) {
                case 'l':
                        listen = optarg;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (optind != argc) {
                np_log_error("unexpected argument '%s'", argv[optind]);
                return 2;
        }
        r = np_metrics_new(&options, &diag, &metrics);
        if (r < 0) {
                np_log_error("%s", diag.message[0] ? diag.message : strerror(-r));
                return 1;
        }
        np_log_set_level(np_metrics_config(metrics)->log_level);
        /* the endpoint keeps a folder open per container (memory.numa_stat) */
        np_metrics_raise_fd_limit();

        /* blocked before the server's thread starts, so that only sigwait() takes them */
        sigemptyset(&stop);
        sigaddset(&stop, SIGTERM);
        sigaddset(&stop, SIGINT);
        sigprocmask(SIG_BLOCK, &stop, NULL);
        signal(SIGPIPE, SIG_IGN);
        r = np_metrics_server_start(metrics, listen, &diag, &server);
        if (r < 0) {
                np_log_error("%s", diag.message);
                return 1;
        }
        np_log_info("serving http://%s/metrics (port %u)", listen, np_metrics_server_port(server));
        /* bound and serving: from here on only the calls of a scrape, on every thread */
        if (np_metrics_config(metrics)->seccomp) {
                r = np_sandbox_apply(NP_SANDBOX_EXPORTER, np_metrics_config(metrics)->monitor, &diag);
                if (r < 0)
                        np_log_warning("%s, continuing without a system call filter", diag.message);
                else
                        np_log_debug("seccomp: the %s allow-list is in force; other calls fail with %s",
                                     np_sandbox_profile_to_string(NP_SANDBOX_EXPORTER), strerror(NP_SANDBOX_ERRNO));
        }
        if (sigwait(&stop, &sig) == 0)
                np_log_info("%s: stopping", strsignal(sig));
        return 0;
}
