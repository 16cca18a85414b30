/* field: table-driven validation of the request bodies of svc-intelligence
 * (clients and signals). Prefix field_. No SQL or HTTP here.
 *
 * A table lists a body's fields in the order the store binds them. A body
 * holding a field not in its table is refused, and so is any value of the
 * wrong form: every error names the field and why, never echoing a value.
 * Values come out as text ready to bind as a parameter: times normalised to
 * RFC 3339 UTC with milliseconds, money as a decimal string. */
#ifndef INTEL_FIELD_H
#define INTEL_FIELD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "json.h"

#define FIELD_MAX        8
#define FIELD_SKEW_S     300        /* a "past" time may be this far ahead of the clock */
#define FIELD_MIN_TIME   946684800  /* 2000-01-01T00:00:00Z */
#define FIELD_MAX_TIME   4102444800 /* 2100-01-01T00:00:00Z */
#define FIELD_MONEY_MAX  "999999999999.99"
#define FIELD_OBJECT_MAX 4096 /* bytes of a details object's JSON */

typedef enum {
    FK_TEXT,      /* a string of 1..maxlen bytes */
    FK_ENUM,      /* one of allowed */
    FK_SLUG,      /* [a-z0-9][a-z0-9_-]{0,31} */
    FK_TIMEZONE,  /* an IANA time-zone name (tz.h) */
    FK_TIME,      /* RFC 3339 between 2000 and 2100 */
    FK_PAST_TIME, /* the same, and not after now (+ FIELD_SKEW_S) */
    FK_MONEY,     /* >= 0, at most 2 decimals, a string or a number */
    FK_MONEY_POS, /* the same, > 0 */
    FK_OBJECT,    /* a JSON object of at most FIELD_OBJECT_MAX bytes */
} field_kind;

typedef struct field_rule {
    const char *name;
    field_kind kind;
    size_t maxlen;              /* FK_TEXT */
    const char *const *allowed; /* FK_ENUM: NULL-terminated */
    bool required;              /* on create */
    const char *def;            /* on create when absent: this text; "now" for a time; NULL:
                                   SQL NULL */
} field_rule;

typedef struct field_values {
    const char *value[FIELD_MAX]; /* bound as $2.. (NULL: SQL NULL) */
    bool has[FIELD_MAX];          /* given in the body */
    int64_t when[FIELD_MAX];      /* times: seconds since the epoch (0 when none) */
    char buf[FIELD_MAX][40];      /* normalised times and money */
} field_values;

/* Validate body against rules[n] (n <= FIELD_MAX). create: required fields
 * must be there, defaults fill the others; otherwise (a change) at least one
 * field must be given and none may be null. now: the clock, seconds.
 * Strings in out point into body or out. */
js_status field_parse(json_object *body, const field_rule *rules, size_t n, bool create,
                      int64_t now, field_values *out, js_err *err);

/* Money text: digits, at most 12 before the point and 2 after. */
bool field_money_valid(const char *s, bool positive);
bool field_slug_valid(const char *s);

#endif
