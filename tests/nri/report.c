// SPDX-License-Identifier: MIT
/* Reporting in the dialect tests/run.sh counts: each check one "ok - " or
 * "not ok - " line named after the scope (the scenario and the runtime), notes
 * as "# " lines, and die() for what the harness itself cannot do. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

unsigned int n_failed;
char scope[160]; /* what every check name starts with: the scenario and the runtime */

void set_scope(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(scope, sizeof(scope), fmt, ap);
        va_end(ap);
}

static void vreport(bool ok, bool quiet_ok, const char *name, const char *fmt, va_list ap)
{
        char why[2048] = "";

        if (ok && quiet_ok)
                return;
        if (!ok && fmt)
                vsnprintf(why, sizeof(why), fmt, ap);
        printf("%s - %s%s%s%s\n", ok ? "ok" : "not ok", scope, name, why[0] ? ": " : "", why);
        fflush(stdout);
        if (!ok)
                n_failed++;
}

/* A check: "ok - NAME" or "not ok - NAME: WHY". Returns ok. */
bool expect(bool ok, const char *name, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vreport(ok, false, name, fmt, ap);
        va_end(ap);
        return ok;
}

/* A step the checks depend on: reported only when it fails. */
bool require(bool ok, const char *name, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vreport(ok, true, name, fmt, ap);
        va_end(ap);
        return ok;
}

bool expect_str(const char *name, const char *want, const char *got)
{
        return expect(strcmp(want, got) == 0, name, "expected '%s', got '%s'", want, got);
}

void note(const char *fmt, ...)
{
        va_list ap;

        printf("# %s", scope);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        printf("\n");
        fflush(stdout);
}

/* A check name with values in it (two in use at once at most). */
const char *name_f(const char *fmt, ...)
{
        static char names[2][512];
        static unsigned int turn;
        char *name = names[turn++ % 2];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(name, sizeof(names[0]), fmt, ap);
        va_end(ap);
        return name;
}

void die(const char *fmt, ...)
{
        va_list ap;

        printf("not ok - %sharness: ", scope);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        printf("\n");
        exit(1);
}
