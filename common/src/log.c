/* log: one JSON object per line (DESIGN section 4), built in a stack buffer and
 * written with one write(2). Into a pipe (containers) or a file opened for
 * appending, the kernel writes a line of at most PIPE_BUF bytes whole, so
 * such lines go out side by side (a shared lock); a longer line, or any line
 * into another kind of output (a file written at an offset that threads
 * share), is written alone (the exclusive lock). */
#include "log.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "util.h"

#define LINE_MAX_BYTES 8192
#define MSG_MAX_BYTES  2048
#define REQID_MAX      129 /* 128 characters, as web accepts, and the NUL */
#define SERVICE_MAX    64

/* Enough to close any line that had to be cut short. */
static const char tail_truncated[] = ",\"truncated\":true}\n";
#define TAIL_RESERVE (sizeof(tail_truncated) - 1)

static const char *const level_names[] = {"debug", "info", "warn", "error"};

/* Field keys holding one of these anywhere are never written. */
static const char *const secret_words[] = {"password", "passwd", "authorization",
                                           "api_key",  "apikey", "api-key"};
/* Keys ending in one of these (or its plural) are never written: "access_token",
 * "client_secret", "credentials"; but "tokens_used" or "token_count" are
 * figures, not secrets, and stay readable. */
static const char *const secret_suffixes[] = {"token", "secret", "credential", "cookie"};

static char service_name[SERVICE_MAX];
static int min_level = LOGL_INFO; /* read and written with __atomic builtins */
static int out_fd = STDOUT_FILENO;
static bool out_whole; /* out_fd writes short lines whole (a pipe, or O_APPEND) */
static pthread_rwlock_t write_lock = PTHREAD_RWLOCK_INITIALIZER;
static __thread char request_id[REQID_MAX];

/* Does the kernel write each short line to fd whole, whatever other threads
 * write at the same time? */
static bool
writes_whole(int fd)
{
    struct stat st;
    int fl = fcntl(fd, F_GETFL);

    if (fstat(fd, &st) != 0)
        return false;
    return S_ISFIFO(st.st_mode) || (S_ISREG(st.st_mode) && fl >= 0 && (fl & O_APPEND) != 0);
}

void
log_init(const char *service, log_level min)
{
    util_strlcpy(service_name, service != NULL ? service : "", sizeof(service_name));
    log_set_level(min);
    __atomic_store_n(&out_whole, writes_whole(__atomic_load_n(&out_fd, __ATOMIC_RELAXED)),
                     __ATOMIC_RELAXED);
}

void
log_set_level(log_level min)
{
    int v = (int)min;

    if (v < LOGL_DEBUG)
        v = LOGL_DEBUG;
    if (v > LOGL_ERROR)
        v = LOGL_ERROR;
    __atomic_store_n(&min_level, v, __ATOMIC_RELAXED);
}

int
log_level_parse(const char *s, log_level *out)
{
    if (s == NULL || out == NULL)
        return -1;
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (log_level)i;
            return 0;
        }
    }
    return -1;
}

void
log_set_fd(int fd)
{
    int v = fd >= 0 ? fd : STDOUT_FILENO;

    __atomic_store_n(&out_whole, writes_whole(v), __ATOMIC_RELAXED);
    __atomic_store_n(&out_fd, v, __ATOMIC_RELAXED);
}

void
log_set_request_id(const char *id)
{
    util_strlcpy(request_id, id != NULL ? id : "", sizeof(request_id));
}

const char *
log_request_id(void)
{
    return request_id;
}

bool
log_enabled(log_level lvl)
{
    return (int)lvl >= __atomic_load_n(&min_level, __ATOMIC_RELAXED);
}

/* Escape src[0..srclen) into at most room bytes of dst (not terminated).
 * Returns the bytes written; *consumed says how much of src made it, so a
 * caller can tell the output was cut. Never splits an escape or a character. */
static size_t
escape_into(char *dst, size_t room, const char *src, size_t srclen, size_t *consumed)
{
    static const char replacement[] = "\xef\xbf\xbd"; /* U+FFFD */
    size_t in = 0, out = 0;

    while (in < srclen) {
        unsigned char c = (unsigned char)src[in];
        char esc[8];
        const char *piece = esc;
        size_t plen, step = 1;

        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            plen = 2;
        } else if (c < 0x20) {
            static const char short_esc[] = {
                ['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't'};
            if (c < sizeof(short_esc) && short_esc[c] != 0) {
                esc[0] = '\\';
                esc[1] = short_esc[c];
                plen = 2;
            } else {
                memcpy(esc, "\\u00", 4);
                esc[4] = "0123456789abcdef"[c >> 4];
                esc[5] = "0123456789abcdef"[c & 0x0f];
                plen = 6;
            }
        } else if (c < 0x80) {
            piece = (const char *)&src[in];
            plen = 1;
        } else {
            step = util_utf8_seq_len(src + in, srclen - in);
            if (step == 0) {
                piece = replacement;
                plen = sizeof(replacement) - 1;
                step = 1;
            } else {
                piece = src + in;
                plen = step;
            }
        }
        if (plen > room - out)
            break;
        memcpy(dst + out, piece, plen);
        out += plen;
        in += step;
    }
    if (consumed != NULL)
        *consumed = in;
    return out;
}

size_t
log_json_escape(char *dst, size_t cap, const char *src)
{
    if (cap == 0)
        return 0;
    if (src == NULL)
        src = "";
    size_t n = escape_into(dst, cap - 1, src, strlen(src), NULL);
    dst[n] = '\0';
    return n;
}

/* A line being built. Everything but the closing tail stays below limit, so
 * a cut line can always be closed. */
typedef struct line {
    char buf[LINE_MAX_BYTES];
    size_t len;
    size_t limit;
    bool truncated;
} line;

static int
put_raw(line *l, const char *s, size_t n)
{
    if (n > l->limit - l->len)
        return -1;
    memcpy(l->buf + l->len, s, n);
    l->len += n;
    return 0;
}

static int
put_lit(line *l, const char *s)
{
    return put_raw(l, s, strlen(s));
}

/* A quoted, escaped string; cut (and the line marked) if it does not fit.
 * keep is room to leave free after it. Fails only when the quotes do not fit. */
static int
put_string(line *l, const char *s, size_t keep)
{
    size_t consumed, n, srclen = strlen(s);

    if (l->limit - l->len < keep + 2)
        return -1;
    l->buf[l->len++] = '"';
    n = escape_into(l->buf + l->len, l->limit - l->len - keep - 1, s, srclen, &consumed);
    l->len += n;
    l->buf[l->len++] = '"';
    if (consumed < srclen)
        l->truncated = true;
    return 0;
}

static bool key_is_secret_uncached(const char *key);

/* What key_is_secret said of the keys seen last, by address (keys are
 * nearly always literals) and checked against a copy of the text, so a
 * buffer reused for another key is never taken for the one before. */
typedef struct secret_memo {
    const char *key;
    char text[40];
    bool secret;
} secret_memo;
static __thread secret_memo secret_memos[32];

static bool
key_is_secret(const char *key)
{
    secret_memo *m = &secret_memos[((uintptr_t)key >> 3) & 31];
    if (m->key == key && strcmp(m->text, key) == 0)
        return m->secret;
    bool secret = key_is_secret_uncached(key);
    size_t len = strlen(key);
    if (len < sizeof(m->text)) {
        m->key = key;
        memcpy(m->text, key, len + 1);
        m->secret = secret;
    }
    return secret;
}

static bool
key_is_secret_uncached(const char *key)
{
    /* Keys are short: looked at in lower case (strcasestr costs more than
     * the rest of an access line). */
    char low[64];
    size_t klen = strlen(key);
    if (klen < sizeof(low)) {
        for (size_t i = 0; i <= klen; i++)
            low[i] = (char)(key[i] >= 'A' && key[i] <= 'Z' ? key[i] | 0x20 : key[i]);
        for (size_t i = 0; i < sizeof(secret_words) / sizeof(secret_words[0]); i++)
            if (strstr(low, secret_words[i]) != NULL)
                return true;
    } else {
        for (size_t i = 0; i < sizeof(secret_words) / sizeof(secret_words[0]); i++)
            if (strcasestr(key, secret_words[i]) != NULL)
                return true;
    }
    for (size_t i = 0; i < sizeof(secret_suffixes) / sizeof(secret_suffixes[0]); i++) {
        size_t wlen = strlen(secret_suffixes[i]);
        for (size_t plural = 0; plural <= 1; plural++) {
            if (klen < wlen + plural)
                continue;
            const char *tail = key + klen - wlen - plural;
            if (strncasecmp(tail, secret_suffixes[i], wlen) == 0
                && (plural == 0 || (tail[wlen] | 0x20) == 's'))
                return true;
        }
    }
    return false;
}

/* v in decimal into out (at least 22 bytes). */
static void
format_int(char *out, long long v)
{
    if (v < 0)
        *out++ = '-';
    util_utoa(v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v, out);
}

/* Shortest of %.15g / %.17g that reads back as the same double. */
static void
format_double(char *out, size_t cap, double d)
{
    if (!isfinite(d)) {
        util_strlcpy(out, "null", cap);
        return;
    }
    /* Durations in milliseconds to the microsecond (k / 1000, exactly what
     * %.15g would print): written without printf and strtod. */
    double k = nearbyint(d * 1000.0);
    if (fabs(k) < 1e12 && k / 1000.0 == d && !(d == 0 && signbit(d)) && cap >= 48) {
        long long ki = (long long)k, whole = ki / 1000, frac = ki % 1000;
        if (frac < 0)
            frac = -frac;
        if (ki < 0 && whole == 0)
            *out++ = '-';
        format_int(out, whole);
        if (frac != 0) {
            size_t n = strlen(out);
            out[n++] = '.';
            out[n++] = (char)('0' + frac / 100);
            out[n++] = (char)('0' + frac / 10 % 10);
            out[n++] = (char)('0' + frac % 10);
            while (out[n - 1] == '0')
                n--;
            out[n] = '\0';
        }
        return;
    }
    snprintf(out, cap, "%.15g", d);
    if (strtod(out, NULL) != d)
        snprintf(out, cap, "%.17g", d);
}

static int
put_value(line *l, const log_field *f)
{
    char num[48];

    if (f->type == LOG_F_PRESENCE)
        return put_lit(l, f->v.b ? "\"[set]\"" : "\"[unset]\"");
    if (key_is_secret(f->key))
        return put_lit(l, "\"[redacted]\"");
    switch (f->type) {
    case LOG_F_STR:
        if (f->v.s == NULL)
            return put_lit(l, "null");
        return put_string(l, f->v.s, 0);
    case LOG_F_INT:
        format_int(num, f->v.i);
        return put_lit(l, num);
    case LOG_F_DOUBLE:
        format_double(num, sizeof(num), f->v.d);
        return put_lit(l, num);
    case LOG_F_BOOL:
        return put_lit(l, f->v.b ? "true" : "false");
    default:
        return put_lit(l, "null");
    }
}

/* ,"key":value, or nothing at all if it does not fit whole. A string value cut
 * to fit is still kept: the start of a long value is worth having. */
static void
put_field(line *l, const log_field *f)
{
    size_t start = l->len, consumed;
    size_t klen = strlen(f->key);

    if (put_lit(l, ",\"") != 0)
        goto drop;
    l->len += escape_into(l->buf + l->len, l->limit - l->len, f->key, klen, &consumed);
    if (consumed < klen || put_lit(l, "\":") != 0 || put_value(l, f) != 0)
        goto drop;
    return;
drop:
    l->len = start;
    l->truncated = true;
}

static void
write_line(const char *buf, size_t len)
{
    int fd = __atomic_load_n(&out_fd, __ATOMIC_RELAXED);
    size_t off = 0;

    if (len <= PIPE_BUF && __atomic_load_n(&out_whole, __ATOMIC_RELAXED))
        pthread_rwlock_rdlock(&write_lock);
    else
        pthread_rwlock_wrlock(&write_lock);
    while (off < len) {
        ssize_t n = write(fd, buf + off, len - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break; /* nowhere left to report a failed log write */
        }
        off += (size_t)n;
    }
    pthread_rwlock_unlock(&write_lock);
}

/* Lines held by the calling thread (log_hold), whole, at most PIPE_BUF
 * bytes in all: they go out in one write. */
static __thread char held[PIPE_BUF];
static __thread size_t held_len;
static __thread bool holding;

void
log_flush(void)
{
    if (held_len > 0)
        write_line(held, held_len);
    held_len = 0;
}

void
log_hold(bool on)
{
    if (!on)
        log_flush();
    holding = on;
}

/* A finished line: held when the thread holds its lines and it is an
 * ordinary one, else written now (after what was held, in order). */
static void
emit_line(log_level lvl, const char *buf, size_t len)
{
    if (holding && lvl <= LOGL_INFO && len <= sizeof(held)) {
        if (held_len + len > sizeof(held))
            log_flush();
        memcpy(held + held_len, buf, len);
        held_len += len;
        return;
    }
    log_flush();
    write_line(buf, len);
}

void
log_msg(log_level lvl, const log_field *fields, const char *fmt, ...)
{
    char msg[MSG_MAX_BYTES];
    char ts[UTIL_RFC3339_LEN + 1];
    line l;
    va_list ap;
    int saved_errno = errno;

    if (!log_enabled(lvl))
        return;
    if (lvl < LOGL_DEBUG || lvl > LOGL_ERROR)
        lvl = LOGL_ERROR;

    int n;
    if (strchr(fmt, '%') == NULL) { /* a plain message ("request"): no printf */
        n = (int)util_strlcpy(msg, fmt, sizeof(msg));
    } else {
        va_start(ap, fmt);
        n = vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
    }
    l.len = 0;
    l.limit = sizeof(l.buf) - TAIL_RESERVE;
    l.truncated = false;
    if (n < 0)
        msg[0] = '\0';
    else if ((size_t)n >= sizeof(msg))
        l.truncated = true;

    util_now_rfc3339(ts);
    const char *svc = service_name[0] != '\0' ? service_name : program_invocation_short_name;

    /* The fixed part is short (service names are at most 63 bytes), so it
     * always fits; the message gets what is left after the request id. */
    put_lit(&l, "{\"ts\":\"");
    put_lit(&l, ts);
    put_lit(&l, "\",\"level\":\"");
    put_lit(&l, level_names[lvl]);
    put_lit(&l, "\",\"service\":");
    put_string(&l, svc, 0);
    put_lit(&l, ",\"msg\":");
    size_t rid_room = request_id[0] != '\0' ? sizeof(",\"request_id\":\"\"") + 6 * REQID_MAX : 0;
    put_string(&l, msg, rid_room);
    if (request_id[0] != '\0') {
        put_lit(&l, ",\"request_id\":");
        put_string(&l, request_id, 0);
    }
    for (const log_field *f = fields; f != NULL && f->type != LOG_F_END; f++) {
        if (f->key != NULL)
            put_field(&l, f);
    }

    /* limit kept TAIL_RESERVE bytes free for this. */
    if (l.truncated) {
        memcpy(l.buf + l.len, tail_truncated, TAIL_RESERVE);
        l.len += TAIL_RESERVE;
    } else {
        memcpy(l.buf + l.len, "}\n", 2);
        l.len += 2;
    }
    emit_line(lvl, l.buf, l.len);
    errno = saved_errno;
}
