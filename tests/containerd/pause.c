// SPDX-License-Identifier: MIT
// The pod sandbox's process for tests/e2e/containerd.sh, as Kubernetes' pause: it waits
// for a signal, reaps children, and exits 0 on SIGTERM or SIGINT. Built with cc -static.
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void leave(int sig) {
        (void) sig;
        _exit(0);
}

static void reap(int sig) {
        (void) sig;
        while (waitpid(-1, NULL, WNOHANG) > 0)
                ;
}

int main(void) {
        signal(SIGTERM, leave);
        signal(SIGINT, leave);
        signal(SIGCHLD, reap);
        for (;;)
                pause();
}
