/* util: small helpers every daemon needs: UUIDs, RFC 3339 time, strict number
 * parsing, constant-time comparison. Prefix util_. No allocation anywhere. */
#ifndef BRAIN_UTIL_H
#define BRAIN_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define UTIL_UUID_LEN    36 /* without the terminating NUL */
#define UTIL_RFC3339_LEN 24 /* "2026-11-21T10:00:00.123Z" */

/* Write a random (version 4) UUID, lowercase, into out[UTIL_UUID_LEN + 1].
 * Returns 0, or -1 if the kernel's random source failed. */
int util_uuid_v4(char out[UTIL_UUID_LEN + 1]);

/* True if s is a canonical 8-4-4-4-12 hex UUID (either case). */
bool util_uuid_valid(const char *s);

/* Format ts (UTC) as "YYYY-MM-DDTHH:MM:SS.mmmZ" into out[UTIL_RFC3339_LEN + 1]. */
void util_rfc3339(const struct timespec *ts, char out[UTIL_RFC3339_LEN + 1]);

/* The current wall-clock time, formatted as util_rfc3339(). */
void util_now_rfc3339(char out[UTIL_RFC3339_LEN + 1]);

/* Parse an RFC 3339 timestamp ("2026-11-21T10:00:00Z", optional fraction,
 * "Z" or "+hh:mm"/"-hh:mm" offset) into ts (UTC). Returns 0 or -1 if invalid. */
int util_rfc3339_parse(const char *s, struct timespec *ts);

/* Monotonic clock in nanoseconds: for durations, never for timestamps. */
int64_t util_mono_ns(void);

/* Wall clock in milliseconds since the epoch. */
int64_t util_now_ms(void);

/* Strict decimal parse of the whole string s into [min, max]: no sign games,
 * no trailing characters, no overflow. Returns 0 or -1. */
int util_parse_long(const char *s, long min, long max, long *out);

/* Constant-time equality of two NUL-terminated secrets: the time taken does
 * not depend on where they differ (it does depend on the length of b). */
bool util_secret_equal(const char *a, const char *b);

/* v in decimal into out (at least 21 bytes), NUL-terminated, without
 * printf (access lines and metrics format several per request). Returns
 * its length. */
size_t util_utoa(unsigned long long v, char *out);

/* Bounded copy: copies at most cap-1 bytes and always terminates (cap > 0).
 * Returns the length of src, so a result >= cap means it was truncated. */
size_t util_strlcpy(char *dst, const char *src, size_t cap);

/* Length (1 to 4) of the well-formed UTF-8 sequence at the start of the n bytes
 * at s, or 0 if it is ill-formed: a stray continuation byte, an overlong form,
 * a surrogate (U+D800..U+DFFF), above U+10FFFF, or cut short by n. */
size_t util_utf8_seq_len(const char *s, size_t n);

/* True if the len bytes at s are well-formed UTF-8 (NUL bytes count as valid).
 * If not and bad_at is non-NULL, *bad_at is the offset of the first bad byte. */
bool util_utf8_valid(const char *s, size_t len, size_t *bad_at);

#endif
