/* json: strict parsing and validation of request bodies over json-c. Prefix js_.
 *
 * Every getter names the offending field and why in *err, ready to be sent as a
 * 400 error message: "field 'priority': must be an integer between 1 and 5".
 * Getters return JS_OK when the field is present and valid, JS_ABSENT when it is
 * missing (or null) and optional (*out is then left untouched), and JS_INVALID
 * otherwise (also when a required field is missing). Strings returned point into
 * the json_object and live as long as it does. */
#ifndef BRAIN_JSON_H
#define BRAIN_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#define JS_MAX_DEPTH      32
#define JS_MAX_CONTAINERS 10000  /* objects and arrays in one document */
#define JS_MAX_ITEMS      100000 /* values in one document (counted by separators) */

typedef enum { JS_OK = 0, JS_ABSENT = 1, JS_INVALID = -1 } js_status;

typedef struct js_err {
    char field[128];   /* the field at fault, "" for the document itself */
    char message[384]; /* full human message, includes the field name */
} js_err;

/* Parse exactly len bytes as one JSON value (UTF-8, nesting at most
 * JS_MAX_DEPTH, at most JS_MAX_CONTAINERS objects and arrays and JS_MAX_ITEMS
 * values, so a body's memory stays a small multiple of its size; nothing but
 * whitespace after it). On success *out is a new
 * reference the caller puts. On failure: JS_INVALID and err says what and
 * where ("invalid JSON at byte 17: unexpected character").
 * Strict RFC 8259: NUL bytes, ill-formed UTF-8 (overlongs, surrogates), NaN,
 * Infinity, "1.", "-01" and raw control characters in strings are refused.
 * The document "null" is JS_OK with *out NULL (js_require_object refuses it).
 * JS_MAX_DEPTH counts arrays and objects: 32 nested "[" are accepted, 33 not. */
js_status js_parse(const char *buf, size_t len, json_object **out, js_err *err);

/* The document must be an object ("request body must be a JSON object"). */
js_status js_require_object(json_object *doc, js_err *err);

/* Strings: length in bytes within [minlen, maxlen]. */
js_status js_get_string(json_object *obj, const char *field, bool required, size_t minlen,
                        size_t maxlen, const char **out, js_err *err);
/* Integers (JSON numbers without fraction) within [min, max]. Integral numbers
 * written as 3.0 or 1e2 are accepted; 1.5, "3" and true are not. Numbers beyond
 * long long are refused, and so is -9223372036854775808 itself: json-c
 * saturates smaller numbers to it, so the two cannot be told apart. */
js_status js_get_int(json_object *obj, const char *field, bool required, long long min,
                     long long max, long long *out, js_err *err);
js_status js_get_double(json_object *obj, const char *field, bool required, double min, double max,
                        double *out, js_err *err);
js_status js_get_bool(json_object *obj, const char *field, bool required, bool *out, js_err *err);
/* One of the NULL-terminated allowed values; the message lists them. *out is
 * the matching entry of allowed (so it outlives obj). */
js_status js_get_enum(json_object *obj, const char *field, bool required,
                      const char *const *allowed, const char **out, js_err *err);
js_status js_get_uuid(json_object *obj, const char *field, bool required, const char **out,
                      js_err *err);
/* RFC 3339 timestamp string. */
js_status js_get_time(json_object *obj, const char *field, bool required, const char **out,
                      js_err *err);
/* Borrowed references to nested values. An object with a NUL character in
 * any string inside it is refused: PostgreSQL's jsonb and text cannot hold
 * one. */
js_status js_get_object(json_object *obj, const char *field, bool required, json_object **out,
                        js_err *err);
/* Whether v, or any value inside it, is a string with a NUL character. */
bool js_has_nul(json_object *v);
js_status js_get_array(json_object *obj, const char *field, bool required, size_t max_items,
                       json_object **out, js_err *err);

/* Fields not in the NULL-terminated known list are an error ("unknown field 'x'"). */
js_status js_reject_unknown(json_object *obj, const char *const *known, js_err *err);

/* Set err (field may be "" or NULL) with a printf-style message. Returns JS_INVALID. */
js_status js_fail(js_err *err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Compact text of obj, owned by obj (valid until obj changes or is put). */
const char *js_text(json_object *obj, size_t *len);

#endif
