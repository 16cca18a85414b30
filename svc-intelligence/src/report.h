/* report: a client health report, rendered as JSON and as CSV (issue 6,
 * README "Reports"). Prefix report_. Pure: the store gathers the parts
 * (store_report_data), these functions only arrange and render them, so the
 * same parts and `now` give the same bytes.
 *
 * The CSV has one header line and four columns, `section,item,field,value`,
 * one row per figure (README "Reports" lists the sections). Fields are
 * quoted per RFC 4180 (a field holding a comma, a double quote, CR or LF is
 * put in double quotes, with each double quote doubled; lines end in CRLF).
 * A text value that a spreadsheet would take for a formula (starting with
 * =, +, -, @, tab or CR) gets a leading apostrophe; numbers are written as
 * they are. */
#ifndef INTEL_REPORT_H
#define INTEL_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#define REPORT_DAYS_DEFAULT 30
#define REPORT_DAYS_MAX     365
#define REPORT_CSV_MAX      (32 * 1024 * 1024) /* bytes: a longer CSV is refused */

/* The report document: {client, window:{days, from, to}, generated_at,
 * latest_score, history, alerts, recommendations}. data (borrowed) is what
 * store_report_data gives; now_ms is milliseconds since the epoch (the
 * moment the parts were read as of). A new object. */
json_object *report_build(json_object *data, int64_t now_ms, int days);

/* The CSV of a report document: a new NUL-terminated string (free it), or
 * NULL when it would be longer than REPORT_CSV_MAX or memory ran out. */
char *report_csv(json_object *doc);

/* A growable text with a ceiling, for the CSV. */
typedef struct report_buf {
    char *data;
    size_t len, cap;
    bool failed; /* out of memory or over REPORT_CSV_MAX: the text is incomplete */
} report_buf;

/* Append one field, quoted when it must be; text: guard it against being
 * read as a formula. */
void report_csv_cell(report_buf *b, const char *s, bool text);
void report_buf_free(report_buf *b);

#endif
