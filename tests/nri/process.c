// SPDX-License-Identifier: MIT
/* The plugin process as a runtime runs it: external, on a socket the runtime
 * listens on and accepts from, or pre-installed, on a socketpair as fd 3; waited
 * for and stopped. And the processes and sockets to clean up on exit. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static pid_t children[64];
static char socket_dirs[16][64];
static size_t n_socket_dirs;

static void remember_child(pid_t pid)
{
        for (size_t i = 0; i < sizeof(children) / sizeof(children[0]); i++)
                if (children[i] == 0) {
                        children[i] = pid;
                        return;
                }
}

static void forget_child(pid_t pid)
{
        for (size_t i = 0; i < sizeof(children) / sizeof(children[0]); i++)
                if (children[i] == pid)
                        children[i] = 0;
}

void cleanup(void)
{
        char path[PATH_MAX];

        for (size_t i = 0; i < sizeof(children) / sizeof(children[0]); i++)
                if (children[i] > 0) {
                        kill(children[i], SIGKILL);
                        waitpid(children[i], NULL, 0);
                        children[i] = 0;
                }
        for (size_t i = 0; i < n_socket_dirs; i++) {
                snprintf(path, sizeof(path), "%s/nri.sock", socket_dirs[i]);
                unlink(path);
                rmdir(socket_dirs[i]);
        }
        n_socket_dirs = 0;
}

void log_line(const struct runtime *rt, const char *what)
{
        FILE *f;

        if (!rt->o->log || !(f = fopen(rt->o->log, "ae")))
                return;
        fprintf(f, "--- nri-harness: %s%s\n", scope, what);
        fclose(f);
}

pid_t spawn(const struct runtime *rt, const char *const *extra, int fd3)
{
        const struct options *o = rt->o;
        static char env_name[160], env_idx[32];
        char *argv[96], *envp[8] = { env_name, env_idx, "NRI_PLUGIN_SOCKET=3", NULL };
        extern char **environ;
        char **env = environ;
        int n = 0, log_fd, null_fd;
        pid_t pid;

        argv[n++] = (char *)o->plugin;
        if (!rt->preinstalled) {
                argv[n++] = "--socket";
                argv[n++] = (char *)rt->sock_path;
        }
        argv[n++] = "--state-dir";
        argv[n++] = (char *)rt->state_dir;
        for (int i = 0; i < o->n_plugin_args && n < 80; i++)
                argv[n++] = o->plugin_args[i];
        for (size_t i = 0; extra && extra[i] && n < 94; i++)
                argv[n++] = (char *)extra[i];
        argv[n] = NULL;
        if (rt->preinstalled) {
                /* exactly the runtime's three variables: NRI_PLUGIN_NAME, _IDX and _SOCKET */
                snprintf(env_name, sizeof(env_name), "NRI_PLUGIN_NAME=%s", rt->name);
                snprintf(env_idx, sizeof(env_idx), "NRI_PLUGIN_IDX=%s", rt->idx);
                /* and a sanitizer build's options (make test-asan), for its runtime only */
                for (size_t i = 0, k = 3; environ[i] && k < 7; i++)
                        if (!strncmp(environ[i], "ASAN_OPTIONS=", 13) || !strncmp(environ[i], "UBSAN_OPTIONS=", 14) ||
                            !strncmp(environ[i], "LSAN_OPTIONS=", 13))
                                envp[k++] = environ[i];
                env = envp;
        } else
                unsetenv("NRI_PLUGIN_SOCKET");

        log_fd = open(o->log ? o->log : "/dev/null", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (log_fd < 0 || null_fd < 0)
                die("cannot open %s: %s", o->log ? o->log : "/dev/null", strerror(errno));
        pid = fork();
        if (pid < 0)
                die("fork: %s", strerror(errno));
        if (pid == 0) {
                /* a plugin outliving the harness would reconnect forever */
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                dup2(null_fd, 0);
                dup2(null_fd, 1);
                dup2(log_fd, 2);
                if (fd3 == 3)
                        fcntl(3, F_SETFD, 0);
                else if (fd3 >= 0)
                        dup2(fd3, 3); /* the copy is not close-on-exec: Go's ExtraFiles[0] */
                execve(argv[0], argv, env);
                _exit(127);
        }
        close(log_fd);
        close(null_fd);
        remember_child(pid);
        return pid;
}

bool plugin_alive(struct runtime *rt)
{
        int status;

        if (rt->pid <= 0)
                return false;
        if (waitpid(rt->pid, &status, WNOHANG) == rt->pid) {
                forget_child(rt->pid);
                rt->exit_status = status;
                rt->pid = 0;
                return false;
        }
        return true;
}

/* Waits up to timeout_ms for the plugin to exit; true when it did. */
bool plugin_wait(struct runtime *rt, unsigned int timeout_ms)
{
        for (unsigned int waited = 0; plugin_alive(rt); waited += 10) {
                if (waited >= timeout_ms)
                        return false;
                sleep_ms(10);
        }
        return true;
}

const char *exit_text(int status)
{
        static char text[64];

        if (WIFEXITED(status))
                snprintf(text, sizeof(text), "exited with status %d", WEXITSTATUS(status));
        else if (WIFSIGNALED(status))
                snprintf(text, sizeof(text), "killed by signal %d", WTERMSIG(status));
        else
                snprintf(text, sizeof(text), "status 0x%x", status);
        return text;
}

/* Sends sig and waits up to 3 s (then SIGKILL); true when the plugin exited on its own. */
bool plugin_stop(struct runtime *rt, int sig)
{
        if (rt->pid <= 0)
                return true;
        kill(rt->pid, sig);
        if (plugin_wait(rt, 3000))
                return true;
        kill(rt->pid, SIGKILL);
        plugin_wait(rt, 3000);
        return false;
}

void runtime_clear(struct runtime *rt)
{
        if (rt->pid > 0)
                plugin_stop(rt, SIGKILL);
        peer_close(&rt->peer);
        if (rt->listen_fd >= 0)
                close(rt->listen_fd);
        rt->listen_fd = -1;
        if (rt->sock_path[0])
                unlink(rt->sock_path);
}

/* As the runtime: a stale socket removed, a fresh one listening, in a short path. */
void runtime_socket_path(struct runtime *rt)
{
        if (!rt->sock_dir[0]) {
                strcpy(rt->sock_dir, "/tmp/nrih.XXXXXX");
                if (!mkdtemp(rt->sock_dir))
                        die("mkdtemp: %s", strerror(errno));
                if (n_socket_dirs < sizeof(socket_dirs) / sizeof(socket_dirs[0]))
                        strcpy(socket_dirs[n_socket_dirs++], rt->sock_dir);
                snprintf(rt->sock_path, sizeof(rt->sock_path), "%s/nri.sock", rt->sock_dir);
        }
}

void runtime_listen(struct runtime *rt)
{
        struct sockaddr_un addr = { .sun_family = AF_UNIX };
        int fd;

        runtime_socket_path(rt);
        unlink(rt->sock_path);
        strcpy(addr.sun_path, rt->sock_path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 16) < 0)
                die("cannot listen on %s: %s", rt->sock_path, strerror(errno));
        rt->listen_fd = fd;
}

/* The runtime goes away: its connection and its socket. */
void runtime_unlisten(struct runtime *rt)
{
        session_reset(rt, -1);
        if (rt->listen_fd >= 0)
                close(rt->listen_fd);
        rt->listen_fd = -1;
        unlink(rt->sock_path);
}

/* Accepts the plugin's connection; the time it took, or -ETIMEDOUT. */
int64_t runtime_accept(struct runtime *rt, int timeout_ms)
{
        struct pollfd pfd = { .fd = rt->listen_fd, .events = POLLIN };
        uint64_t start = now_ns();
        int fd;

        if (poll(&pfd, 1, timeout_ms) <= 0)
                return -ETIMEDOUT;
        fd = accept4(rt->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
                return -errno;
        session_reset(rt, fd);
        return (int64_t)((now_ns() - start) / 1000000);
}

bool runtime_start_external(struct runtime *rt, const char *const *extra)
{
        int64_t r;

        runtime_listen(rt);
        log_line(rt, "starting an external plugin");
        rt->pid = spawn(rt, extra, -1);
        r = runtime_accept(rt, REGISTRATION_TIMEOUT_MS);
        return require(r >= 0, "the plugin connects to the runtime's socket", "%s",
                       r == -ETIMEDOUT ? "no connection within 5 s" : strerror((int)-r));
}

/* As a runtime starts a pre-installed plugin: a socketpair, the peer as fd 3,
 * only NRI_PLUGIN_NAME, NRI_PLUGIN_IDX and NRI_PLUGIN_SOCKET in the environment. */
void runtime_start_preinstalled(struct runtime *rt, const char *name, const char *idx, const char *const *extra)
{
        int sv[2];

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                die("socketpair: %s", strerror(errno));
        rt->preinstalled = true;
        copy_str(rt->name, sizeof(rt->name), name);
        copy_str(rt->idx, sizeof(rt->idx), idx);
        log_line(rt, "starting a pre-installed plugin");
        rt->pid = spawn(rt, extra, sv[1]);
        close(sv[1]);
        session_reset(rt, sv[0]);
        rt->name[0] = rt->idx[0] = '\0'; /* from now on, what the plugin registers with */
}
