/* tz: IANA time-zone names; see tz.h. The name is checked character by
 * character before it is used as a path, so it cannot leave the database's
 * directory ("..", absolute paths and other characters are refused). */
#include "tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TZ_NAME_MAX 64

static bool
name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > TZ_NAME_MAX || name[0] == '/' || name[n - 1] == '/')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool part_start = i == 0 || name[i - 1] == '/';
        if (c == '/' && part_start)
            return false; /* an empty part */
        if (part_start && !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
            return false; /* each part starts with a letter: no ".", no "-" */
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'
              || c == '-' || c == '+' || c == '/'))
            return false;
    }
    return true;
}

bool
tz_valid(const char *name)
{
    char path[512], magic[4];
    if (!name || !name_ok(name))
        return false;
    if (strcmp(name, "UTC") == 0)
        return true;
    /* Not zones a client lives in: the database's own files and aliases of
     * the local clock. */
    if (strcmp(name, "localtime") == 0 || strcmp(name, "posixrules") == 0
        || strcmp(name, "Factory") == 0)
        return false;
    const char *dir = getenv("TZDIR");
    snprintf(path, sizeof(path), "%s/%s", dir && dir[0] ? dir : "/usr/share/zoneinfo", name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    size_t got = fread(magic, 1, sizeof(magic), f);
    fclose(f);
    return got == sizeof(magic) && memcmp(magic, "TZif", 4) == 0;
}
