/* util: UUIDs, RFC 3339 time, strict number parsing, constant-time comparison,
 * UTF-8 checks. Nothing here allocates; the only state is each thread's
 * buffer of random bytes for UUIDs. */
#include "util.h"

#include <sys/random.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static const char hex_digits[] = "0123456789abcdef";

/* Random bytes for UUIDs, drawn from the kernel 512 at a time per thread
 * (a request id per request made getrandom one system call of each). A
 * child of fork starts with an empty buffer, so parent and child never hand
 * out the same bytes. */
#define UTIL_RAND_BUF 512
static _Thread_local unsigned char util_rand[UTIL_RAND_BUF];
static _Thread_local size_t util_rand_left;
static pthread_once_t util_rand_once = PTHREAD_ONCE_INIT;

static void
util_rand_forget(void)
{
    util_rand_left = 0;
}

static void
util_rand_init(void)
{
    (void)pthread_atfork(NULL, NULL, util_rand_forget);
}

static int
util_random(unsigned char *out, size_t len)
{
    pthread_once(&util_rand_once, util_rand_init);
    if (util_rand_left < len) {
        size_t got = 0;
        while (got < sizeof(util_rand)) {
            ssize_t n = getrandom(util_rand + got, sizeof(util_rand) - got, 0);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                return -1;
            }
            got += (size_t)n;
        }
        util_rand_left = sizeof(util_rand);
    }
    unsigned char *src = util_rand + sizeof(util_rand) - util_rand_left;
    memcpy(out, src, len);
    explicit_bzero(src, len); /* handed out once */
    util_rand_left -= len;
    return 0;
}

int
util_uuid_v4(char out[UTIL_UUID_LEN + 1])
{
    unsigned char b[16];

    if (util_random(b, sizeof(b)) != 0)
        return -1;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* variant 10xx (RFC 4122) */

    size_t o = 0;
    for (size_t i = 0; i < sizeof(b); i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex_digits[b[i] >> 4];
        out[o++] = hex_digits[b[i] & 0x0f];
    }
    out[o] = '\0';
    return 0;
}

static bool
is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool
util_uuid_valid(const char *s)
{
    if (s == NULL)
        return false;
    for (size_t i = 0; i < UTIL_UUID_LEN; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return false;
        } else if (!is_hex(s[i])) {
            return false; /* also stops at an early NUL */
        }
    }
    return s[UTIL_UUID_LEN] == '\0';
}

/* Write v as exactly width decimal digits (v is known to fit). */
static char *
put_digits(char *p, unsigned v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + width;
}

void
util_rfc3339(const struct timespec *ts, char out[UTIL_RFC3339_LEN + 1])
{
    struct tm tm;
    time_t sec = ts->tv_sec;
    long nsec = ts->tv_nsec;

    if (nsec < 0)
        nsec = 0;
    if (nsec > 999999999)
        nsec = 999999999;
    /* Four-digit years only: clamp anything outside 0000..9999 rather than
     * write a malformed timestamp. */
    if (gmtime_r(&sec, &tm) == NULL || tm.tm_year + 1900 > 9999) {
        tm = (struct tm){.tm_year = 9999 - 1900,
                         .tm_mon = 11,
                         .tm_mday = 31,
                         .tm_hour = 23,
                         .tm_min = 59,
                         .tm_sec = 59};
        nsec = 999999999;
    } else if (tm.tm_year + 1900 < 0) {
        tm = (struct tm){.tm_year = -1900, .tm_mon = 0, .tm_mday = 1};
        nsec = 0;
    }

    char *p = out;
    p = put_digits(p, (unsigned)(tm.tm_year + 1900), 4);
    *p++ = '-';
    p = put_digits(p, (unsigned)(tm.tm_mon + 1), 2);
    *p++ = '-';
    p = put_digits(p, (unsigned)tm.tm_mday, 2);
    *p++ = 'T';
    p = put_digits(p, (unsigned)tm.tm_hour, 2);
    *p++ = ':';
    p = put_digits(p, (unsigned)tm.tm_min, 2);
    *p++ = ':';
    /* tm_sec can be 60 only for leap seconds, which gmtime never produces. */
    p = put_digits(p, (unsigned)tm.tm_sec, 2);
    *p++ = '.';
    p = put_digits(p, (unsigned)(nsec / 1000000), 3);
    *p++ = 'Z';
    *p = '\0';
}

void
util_now_rfc3339(char out[UTIL_RFC3339_LEN + 1])
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    util_rfc3339(&ts, out);
}

/* Read exactly n decimal digits at *p. */
static int
read_digits(const char **p, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

static bool
is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm),
 * so parsing does not depend on the process's time zone as mktime would. */
static int64_t
days_from_civil(int y, int m, int d)
{
    int64_t yy = y - (m <= 2);
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}

int
util_rfc3339_parse(const char *s, struct timespec *ts)
{
    int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
    long nsec = 0;
    const char *p = s;

    if (s == NULL || ts == NULL)
        return -1;
    if (read_digits(&p, 4, &y) || *p++ != '-' || read_digits(&p, 2, &mo) || *p++ != '-'
        || read_digits(&p, 2, &d))
        return -1;
    if (*p != 'T' && *p != 't')
        return -1;
    p++;
    if (read_digits(&p, 2, &h) || *p++ != ':' || read_digits(&p, 2, &mi) || *p++ != ':'
        || read_digits(&p, 2, &sec))
        return -1;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return -1;
        /* Any number of digits; those beyond nanoseconds are dropped. */
        int kept = 0;
        for (; *p >= '0' && *p <= '9'; p++) {
            if (kept < 9) {
                nsec = nsec * 10 + (*p - '0');
                kept++;
            }
        }
        for (; kept < 9; kept++)
            nsec *= 10;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p++ == '+' ? 1 : -1;
        if (read_digits(&p, 2, &oh) || *p++ != ':' || read_digits(&p, 2, &om))
            return -1;
    } else {
        return -1;
    }
    if (*p != '\0')
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59
        || oh > 23 || om > 59)
        return -1;

    int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
    t -= sign * (oh * 3600 + om * 60);
    ts->tv_sec = (time_t)t;
    ts->tv_nsec = nsec;
    return 0;
}

int64_t
util_mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t
util_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
util_parse_long(const char *s, long min, long max, long *out)
{
    const char *p = s;
    char *end;
    long v;

    if (s == NULL || out == NULL || min > max)
        return -1;
    /* strtol would skip spaces and take '+': only an optional '-' then digits. */
    if (*p == '-')
        p++;
    if (*p < '0' || *p > '9')
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

bool
util_secret_equal(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return false;

    size_t la = strlen(a), lb = strlen(b);
    /* volatile keeps the compiler from turning the loop into an early exit. */
    volatile unsigned char diff = (unsigned char)(la != lb);

    for (size_t i = 0; i < lb; i++) {
        /* Past the end of a, compare with b's own byte xor 0xff: a difference
         * already counted by the length check, at the same cost per byte. */
        unsigned char ca = i < la ? (unsigned char)a[i] : (unsigned char)~b[i];
        diff |= (unsigned char)(ca ^ (unsigned char)b[i]);
    }
    return diff == 0;
}

size_t
util_strlcpy(char *dst, const char *src, size_t cap)
{
    size_t len = strlen(src);

    if (cap > 0) {
        size_t n = len < cap - 1 ? len : cap - 1;
        memcpy(dst, src, n);
        dst[n] = '\0';
    }
    return len;
}

static bool
is_cont(unsigned char c)
{
    return (c & 0xc0) == 0x80;
}

size_t
util_utf8_seq_len(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
    size_t len;

    if (n == 0)
        return 0;
    if (u[0] < 0x80)
        return 1;
    if (u[0] >= 0xc2 && u[0] <= 0xdf) {
        len = 2;
    } else if (u[0] >= 0xe0 && u[0] <= 0xef) {
        len = 3;
        if (u[0] == 0xe0)
            lo = 0xa0; /* overlong */
        else if (u[0] == 0xed)
            hi = 0x9f; /* surrogates */
    } else if (u[0] >= 0xf0 && u[0] <= 0xf4) {
        len = 4;
        if (u[0] == 0xf0)
            lo = 0x90; /* overlong */
        else if (u[0] == 0xf4)
            hi = 0x8f; /* above U+10FFFF */
    } else {
        return 0; /* continuation byte, C0/C1 overlongs, F5..FF */
    }
    if (n < len || u[1] < lo || u[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++) {
        if (!is_cont(u[i]))
            return 0;
    }
    return len;
}

bool
util_utf8_valid(const char *s, size_t len, size_t *bad_at)
{
    size_t i = 0;

    while (i < len) {
        if ((unsigned char)s[i] < 0x80) {
            i++;
            continue;
        }
        size_t n = util_utf8_seq_len(s + i, len - i);
        if (n == 0) {
            if (bad_at != NULL)
                *bad_at = i;
            return false;
        }
        i += n;
    }
    return true;
}

size_t
util_utoa(unsigned long long v, char *out)
{
    char tmp[21];
    size_t n = 0, len;
    do
        tmp[n++] = (char)('0' + v % 10);
    while ((v /= 10) > 0);
    len = n;
    while (n > 0)
        *out++ = tmp[--n];
    *out = '\0';
    return len;
}
