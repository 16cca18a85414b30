/* log: structured logging, one JSON object per line on stdout (DESIGN section 4).
 * Prefix log_. Thread-safe; each line is written with a single write(2).
 *
 *   log_info("listening on port %d", port);
 *   log_msg(LOGL_INFO, LOG_FIELDS(LF_STR("integration_id", id), LF_INT("duration_ms", 42)),
 *           "health check done");
 *
 * Fields whose key names a secret are written as "[redacted]" whatever their
 * value: keys holding password, passwd, authorization, api_key, apikey or
 * api-key anywhere, and keys ending in token, secret, credential or cookie (or
 * their plurals), any case. "token_count" or "tokens_used" stay readable. Non-finite
 * doubles are written as null. A line cut to fit 8 KiB, or whose message was cut
 * at 2 KiB, carries "truncated":true and is still one valid JSON object. */
#ifndef BRAIN_LOG_H
#define BRAIN_LOG_H

#include <stdbool.h>
#include <stddef.h>

typedef enum { LOGL_DEBUG = 0, LOGL_INFO, LOGL_WARN, LOGL_ERROR } log_level;

/* LOG_F_PRESENCE writes "[set]" or "[unset]" (v.b): it says whether a secret is
 * configured without ever carrying it, so it is the one type never redacted. */
typedef enum {
    LOG_F_END = 0,
    LOG_F_STR,
    LOG_F_INT,
    LOG_F_DOUBLE,
    LOG_F_BOOL,
    LOG_F_PRESENCE
} log_field_type;

typedef struct log_field {
    const char *key;
    log_field_type type;
    union {
        const char *s;
        long long i;
        double d;
        bool b;
    } v;
} log_field;

#define LF_STR(k, val)         ((log_field){.key = (k), .type = LOG_F_STR, .v.s = (val)})
#define LF_INT(k, val)         ((log_field){.key = (k), .type = LOG_F_INT, .v.i = (long long)(val)})
#define LF_DOUBLE(k, val)      ((log_field){.key = (k), .type = LOG_F_DOUBLE, .v.d = (double)(val)})
#define LF_BOOL(k, val)        ((log_field){.key = (k), .type = LOG_F_BOOL, .v.b = (val)})
#define LF_PRESENCE(k, is_set) ((log_field){.key = (k), .type = LOG_F_PRESENCE, .v.b = (is_set)})
/* A field list ends with a zeroed entry; LOG_FIELDS adds it. */
#define LOG_FIELDS(...) ((const log_field[]){__VA_ARGS__, {0}})

/* Set the service name written on every line and the minimum level. Call once,
 * before any thread starts; the name is copied. */
void log_init(const char *service, log_level min);

/* Change the minimum level at run time. */
void log_set_level(log_level min);

/* Parse "debug"|"info"|"warn"|"error" (case-insensitive). Returns 0 or -1. */
int log_level_parse(const char *s, log_level *out);

/* Direct output to fd instead of stdout (tests). */
void log_set_fd(int fd);

/* The request id of the calling thread, written on its lines; NULL or "" clears
 * it. The id is copied (at most 128 bytes). log_request_id() never returns NULL. */
void log_set_request_id(const char *request_id);
const char *log_request_id(void);

/* Write one line if lvl is enabled. fields may be NULL. The formatted message
 * is truncated at 2 KiB and the whole line at 8 KiB. */
void log_msg(log_level lvl, const log_field *fields, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

bool log_enabled(log_level lvl);

/* An event loop's thread holds its debug and info lines (log_hold(true))
 * and writes them together at log_flush(), once per round of events: one
 * write(2) for many requests' access lines. Lines stay whole and in order;
 * warn and error lines are never held (they flush what was). log_hold(false)
 * flushes too. */
void log_hold(bool on);
void log_flush(void);

#define log_debug(...) log_msg(LOGL_DEBUG, NULL, __VA_ARGS__)
#define log_info(...)  log_msg(LOGL_INFO, NULL, __VA_ARGS__)
#define log_warn(...)  log_msg(LOGL_WARN, NULL, __VA_ARGS__)
#define log_error(...) log_msg(LOGL_ERROR, NULL, __VA_ARGS__)

/* Escape src as the inside of a JSON string into dst (always terminated when
 * cap > 0): quote, backslash and control characters escaped, invalid UTF-8
 * replaced by U+FFFD. Returns the number of bytes written, excluding the NUL;
 * stops early rather than split an escape when dst is full. */
size_t log_json_escape(char *dst, size_t cap, const char *src);

#endif
