// SPDX-License-Identifier: MIT
// Test workload for the NUMA VM: allocates and touches N MiB (argv[1], default 256), then
// prints on which nodes its pages are, from /proc/self/numa_maps: "N0=... N1=... total=...".
// "workload N [--membind NODE] [hold]": --membind allocates from NODE only (as
// numactl --membind does, with set_mempolicy), hold keeps the memory until killed.
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_NODES 64
#define MPOL_BIND 2

int main(int argc, char **argv)
{
        long mib = argc > 1 ? strtol(argv[1], NULL, 10) : 256;
        size_t size = (size_t)mib << 20;
        long page = sysconf(_SC_PAGESIZE);
        unsigned long pages[MAX_NODES] = {0}, total = 0;
        char line[4096], *tok, *save;
        FILE *f;

        bool hold = false;

        if (mib <= 0) {
                fprintf(stderr, "workload: bad size '%s'\n", argv[1]);
                return 2;
        }
        for (int i = 2; i < argc; i++) {
                if (strcmp(argv[i], "hold") == 0) {
                        hold = true;
                } else if (strcmp(argv[i], "--membind") == 0 && i + 1 < argc) {
                        unsigned long node = strtoul(argv[++i], NULL, 10), mask = 1UL << (node % 64);

                        if (syscall(SYS_set_mempolicy, MPOL_BIND, &mask, MAX_NODES + 1) < 0) {
                                perror("workload: set_mempolicy");
                                return 1;
                        }
                } else {
                        fprintf(stderr, "workload: unknown argument '%s'\n", argv[i]);
                        return 2;
                }
        }
        unsigned char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
                perror("workload: mmap");
                return 1;
        }
        for (size_t i = 0; i < size; i += (size_t)page)
                p[i] = 1;
        f = fopen("/proc/self/numa_maps", "r");
        if (!f) {
                perror("workload: /proc/self/numa_maps");
                return 1;
        }
        /* only the line of our mapping: it starts with its address in hex */
        while (fgets(line, sizeof(line), f)) {
                if (strtoul(line, NULL, 16) != (unsigned long)p)
                        continue;
                for (tok = strtok_r(line, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
                        unsigned int n;
                        unsigned long c;
                        if (sscanf(tok, "N%u=%lu", &n, &c) == 2 && n < MAX_NODES) {
                                pages[n] += c;
                                total += c;
                        }
                }
        }
        fclose(f);
        for (unsigned int n = 0; n < MAX_NODES; n++)
                if (pages[n])
                        printf("N%u=%lu ", n, pages[n]);
        printf("total=%lu\n", total);
        fflush(stdout);
        if (hold)
                for (;;)
                        pause();
        return total ? 0 : 1;
}
