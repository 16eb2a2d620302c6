// SPDX-License-Identifier: MIT
/* The baseline for the hook benchmark: an OCI hook that only reads its state
 * from stdin and exits 0, the least any hook must do. */
#include <unistd.h>

int main(void)
{
        char buf[65536];

        while (read(STDIN_FILENO, buf, sizeof(buf)) > 0)
                ;
        return 0;
}
