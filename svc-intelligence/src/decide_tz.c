/* decide_tz: UTC offsets of IANA zones for the decision engine; see
 * decide.h.
 *
 * Why not localtime_r: it reads the zone from the process-wide TZ variable,
 * and changing TZ (setenv + tzset) while other threads read the environment
 * or call localtime is a data race. So the zone's TZif file (RFC 8536) is
 * read here: its 64-bit transition table (version 2 and later; the 32-bit
 * one for version 1 files) and its footer, the POSIX TZ rule that holds
 * after the last transition (slim files stop their table early and count
 * on it). A zone is parsed once and kept for the life of the process, in a
 * cache guarded by a mutex; a loaded zone is read-only, so any thread may
 * ask it offsets without a lock. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decide.h"
#include "tz.h"
#include "util.h"

#define TZ_FILE_MAX   (256 * 1024)
#define TZ_TRANS_MAX  4096
#define TZ_TYPES_MAX  256
#define TZ_CACHE_MAX  1024
#define TZ_NAME_LEN   64
#define DAY_S         86400
#define DEFAULT_RULE_ ",M3.2.0,M11.1.0" /* POSIX's default when a rule is missing */

typedef enum { RULE_MONTH, RULE_JULIAN1, RULE_JULIAN0 } rule_kind;

typedef struct tz_rule {
    rule_kind kind;
    int month, week, wday; /* RULE_MONTH: Mm.w.d */
    int day;               /* Jn (1..365, no Feb 29) or n (0..365) */
    int secs;              /* local time of the change */
} tz_rule;

typedef struct tz_posix {
    bool ok;
    int std_off, dst_off; /* seconds east of UTC */
    bool has_dst;
    tz_rule start, end;
} tz_posix;

struct decide_zone {
    char name[TZ_NAME_LEN + 1];
    size_t ntrans;
    int64_t *trans; /* UTC instants, ascending */
    int32_t *off;   /* the offset from trans[i] on */
    int32_t first;  /* the offset before trans[0] */
    tz_posix tail;  /* after the last transition, when ok */
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static decide_zone *cache[TZ_CACHE_MAX];
static size_t ncache;
static decide_zone utc_zone = {.name = "UTC"};

/* ---- calendar (proleptic Gregorian, days since 1970-01-01) ---- */

static int64_t
days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int64_t
year_of_days(int64_t z)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    return yoe + era * 400 + (m <= 2);
}

static bool
leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
month_days(int64_t y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : d[m - 1];
}

/* The day (since the epoch) a rule names in year y. */
static int64_t
rule_day(const tz_rule *r, int64_t y)
{
    int64_t jan1 = days_from_civil(y, 1, 1);
    if (r->kind == RULE_JULIAN0)
        return jan1 + r->day;
    if (r->kind == RULE_JULIAN1)
        return jan1 + r->day - 1 + (leap(y) && r->day >= 60);
    int64_t first = days_from_civil(y, r->month, 1);
    int wd_first = (int)(((first % 7) + 7 + 4) % 7); /* 1970-01-01 was a Thursday */
    int64_t d = first + (r->wday - wd_first + 7) % 7 + (int64_t)(r->week - 1) * 7;
    while (d - first >= month_days(y, r->month))
        d -= 7;
    return d;
}

/* ---- the POSIX TZ rule of the footer ---- */

static const char *
skip_name(const char *p)
{
    if (*p == '<') {
        const char *e = strchr(p, '>');
        return e ? e + 1 : NULL;
    }
    const char *s = p;
    while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
        p++;
    return p - s >= 3 ? p : NULL;
}

/* [+-]hh[:mm[:ss]] as seconds; hours up to 167 (RFC 8536 rule times). */
static const char *
parse_hms(const char *p, int *out)
{
    int sign = 1, h = 0, m = 0, s = 0, n = 0;
    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    for (; *p >= '0' && *p <= '9' && n < 3; p++, n++)
        h = h * 10 + (*p - '0');
    if (n == 0 || h > 167)
        return NULL;
    if (*p == ':') {
        if (!(p[1] >= '0' && p[1] <= '5' && p[2] >= '0' && p[2] <= '9'))
            return NULL;
        m = (p[1] - '0') * 10 + (p[2] - '0');
        p += 3;
        if (*p == ':') {
            if (!(p[1] >= '0' && p[1] <= '5' && p[2] >= '0' && p[2] <= '9'))
                return NULL;
            s = (p[1] - '0') * 10 + (p[2] - '0');
            p += 3;
        }
    }
    *out = sign * (h * 3600 + m * 60 + s);
    return p;
}

static const char *
parse_int(const char *p, int lo, int hi, int *out)
{
    int v = 0, n = 0;
    for (; *p >= '0' && *p <= '9' && n < 4; p++, n++)
        v = v * 10 + (*p - '0');
    if (n == 0 || v < lo || v > hi)
        return NULL;
    *out = v;
    return p;
}

static const char *
parse_rule(const char *p, tz_rule *r)
{
    memset(r, 0, sizeof(*r));
    r->secs = 7200;
    if (*p == 'M') {
        r->kind = RULE_MONTH;
        if (!(p = parse_int(p + 1, 1, 12, &r->month)) || *p++ != '.'
            || !(p = parse_int(p, 1, 5, &r->week)) || *p++ != '.'
            || !(p = parse_int(p, 0, 6, &r->wday)))
            return NULL;
    } else if (*p == 'J') {
        r->kind = RULE_JULIAN1;
        if (!(p = parse_int(p + 1, 1, 365, &r->day)))
            return NULL;
    } else {
        r->kind = RULE_JULIAN0;
        if (!(p = parse_int(p, 0, 365, &r->day)))
            return NULL;
    }
    if (*p == '/')
        p = parse_hms(p + 1, &r->secs);
    return p;
}

static bool
parse_posix(const char *p, tz_posix *z)
{
    int off = 0;
    memset(z, 0, sizeof(*z));
    if (!(p = skip_name(p)) || !(p = parse_hms(p, &off)))
        return false;
    z->std_off = -off; /* POSIX counts west of Greenwich */
    if (*p) {
        z->has_dst = true;
        if (!(p = skip_name(p)))
            return false;
        z->dst_off = z->std_off + 3600;
        if (*p && *p != ',') {
            if (!(p = parse_hms(p, &off)))
                return false;
            z->dst_off = -off;
        }
        if (!*p)
            p = DEFAULT_RULE_;
        if (*p++ != ',' || !(p = parse_rule(p, &z->start)) || *p++ != ','
            || !(p = parse_rule(p, &z->end)))
            return false;
    }
    z->ok = *p == '\0';
    return z->ok;
}

static int32_t
posix_offset(const tz_posix *z, int64_t t)
{
    if (!z->has_dst)
        return z->std_off;
    int64_t y = year_of_days((t + z->std_off) / DAY_S - ((t + z->std_off) % DAY_S < 0));
    /* The start is in standard time, the end in daylight time. */
    int64_t start = rule_day(&z->start, y) * DAY_S + z->start.secs - z->std_off;
    int64_t end = rule_day(&z->end, y) * DAY_S + z->end.secs - z->dst_off;
    bool dst = start < end ? (t >= start && t < end) : !(t >= end && t < start);
    return dst ? z->dst_off : z->std_off;
}

/* ---- the TZif file ---- */

static uint32_t
be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t
be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

typedef struct tzif_hdr {
    uint32_t isut, isstd, leap, time, type, chars;
} tzif_hdr;

static bool
read_hdr(const unsigned char *p, size_t len, tzif_hdr *h)
{
    if (len < 44 || memcmp(p, "TZif", 4) != 0)
        return false;
    *h = (tzif_hdr){be32(p + 20), be32(p + 24), be32(p + 28),
                    be32(p + 32), be32(p + 36), be32(p + 40)};
    return h->time <= TZ_TRANS_MAX && h->type >= 1 && h->type <= TZ_TYPES_MAX && h->chars <= 4096
           && h->leap <= 4096 && h->isut <= h->type && h->isstd <= h->type;
}

static size_t
block_len(const tzif_hdr *h, size_t tsize)
{
    return h->time * tsize + h->time + h->type * 6 + h->chars + h->leap * (tsize + 4) + h->isstd
           + h->isut;
}

/* Fill z from the data block at p (tsize: 4 or 8 bytes per time). */
static bool
read_block(const unsigned char *p, const tzif_hdr *h, size_t tsize, decide_zone *z)
{
    const unsigned char *times = p, *idx = p + h->time * tsize, *types = idx + h->time;
    z->trans = calloc(h->time ? h->time : 1, sizeof(*z->trans));
    z->off = calloc(h->time ? h->time : 1, sizeof(*z->off));
    if (!z->trans || !z->off)
        return false;
    z->first = (int32_t)be32(types); /* type 0 (RFC 8536 section 3.2) */
    for (uint32_t i = 0; i < h->time; i++) {
        if (idx[i] >= h->type)
            return false;
        z->trans[i] = tsize == 8 ? be64(times + 8 * i) : (int32_t)be32(times + 4 * i);
        z->off[i] = (int32_t)be32(types + 6 * idx[i]);
        if (i > 0 && z->trans[i] <= z->trans[i - 1])
            return false;
    }
    z->ntrans = h->time;
    return true;
}

static bool
parse_tzif(const unsigned char *p, size_t len, decide_zone *z)
{
    tzif_hdr h;
    if (!read_hdr(p, len, &h))
        return false;
    size_t v1 = 44 + block_len(&h, 4);
    if (v1 > len)
        return false;
    if (p[4] == '\0') /* version 1: the 32-bit table is all there is */
        return read_block(p + 44, &h, 4, z);
    const unsigned char *q = p + v1;
    size_t rest = len - v1;
    if (!read_hdr(q, rest, &h) || 44 + block_len(&h, 8) > rest)
        return false;
    if (!read_block(q + 44, &h, 8, z))
        return false;
    const char *foot = (const char *)q + 44 + block_len(&h, 8);
    size_t flen = rest - 44 - block_len(&h, 8);
    char rule[128];
    if (flen >= 2 && foot[0] == '\n') {
        const char *nl = memchr(foot + 1, '\n', flen - 1);
        size_t n = nl ? (size_t)(nl - foot - 1) : 0;
        if (nl && n > 0 && n < sizeof(rule)) {
            memcpy(rule, foot + 1, n);
            rule[n] = '\0';
            parse_posix(rule, &z->tail);
        }
    }
    return true;
}

static decide_zone *
load_file(const char *name)
{
    char path[512];
    const char *dir = getenv("TZDIR");
    snprintf(path, sizeof(path), "%s/%s", dir && dir[0] ? dir : "/usr/share/zoneinfo", name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *buf = malloc(TZ_FILE_MAX);
    size_t len = buf ? fread(buf, 1, TZ_FILE_MAX, f) : 0;
    fclose(f);
    decide_zone *z = calloc(1, sizeof(*z));
    if (!z || !buf || len == TZ_FILE_MAX || !parse_tzif(buf, len, z)) {
        if (z) {
            free(z->trans);
            free(z->off);
        }
        free(z);
        z = NULL;
    } else {
        util_strlcpy(z->name, name, sizeof(z->name));
    }
    free(buf);
    return z;
}

const decide_zone *
decide_zone_load(const char *name)
{
    if (!name || strlen(name) > TZ_NAME_LEN)
        return NULL;
    if (strcmp(name, "UTC") == 0)
        return &utc_zone;
    decide_zone *z = NULL;
    pthread_mutex_lock(&cache_lock);
    for (size_t i = 0; i < ncache && !z; i++)
        if (strcmp(cache[i]->name, name) == 0)
            z = cache[i];
    /* A name is checked (tz.h: it cannot leave the database's directory)
     * before its file is read, once. */
    if (!z && ncache < TZ_CACHE_MAX && tz_valid(name) && (z = load_file(name)) != NULL)
        cache[ncache++] = z;
    pthread_mutex_unlock(&cache_lock);
    return z;
}

const char *
decide_zone_name(const decide_zone *z)
{
    return z->name;
}

int
decide_zone_offset(const decide_zone *z, int64_t t)
{
    if (z->ntrans == 0)
        return z->tail.ok ? posix_offset(&z->tail, t) : z->first;
    if (t < z->trans[0])
        return z->first;
    if (t >= z->trans[z->ntrans - 1] && z->tail.ok)
        return posix_offset(&z->tail, t);
    size_t lo = 0, hi = z->ntrans; /* the last transition at or before t */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (z->trans[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return z->off[lo];
}
