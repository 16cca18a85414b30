/* testlib: time and environment helpers for the unit tests. */
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "util.h"

void
tl_pause_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

int64_t
tl_deadline(long ms)
{
    return util_mono_ns() + (int64_t)ms * 1000000;
}

const char *
tl_require_env(const char *name)
{
    const char *v = getenv(name);

    if (v == NULL || v[0] == '\0') {
        printf("skipped: needs %s\n", name);
        return NULL;
    }
    return v;
}
