/* What decide*.c share: the slot arithmetic (decide.c) and the words
 * (decide_text.c). */
#ifndef INTEL_DECIDE_INTERNAL_H
#define INTEL_DECIDE_INTERNAL_H

#include "decide.h"

#define DECIDE_NSERVICE 2
extern const decide_window decide_service[DECIDE_NSERVICE];

/* now rounded up to the next quarter hour (UTC; now itself when on one). */
int64_t decide_first_slot(int64_t now);
/* The local minute of the day at instant at; *offset (may be NULL) gets
 * the zone's offset then. */
int decide_local_minute(const decide_zone *z, int64_t at, int *offset);
/* Whether the span [a, a + d) minutes meets window w, across midnight. */
bool decide_overlaps(int a, int d, decide_window w);
/* Minutes between two times of day, the short way round the clock. */
int decide_tod_distance(int a, int b);
/* Score s (its at and local set) for q. peak: the busiest hour's load (0:
 * no load data). start: the week's first slot, or -1 to leave out "sooner
 * is better". */
void decide_score(const decide_request *q, const decide_facts *f, double peak, int64_t start,
                  decide_slot *s);

/* r->risks from the facts. */
void decide_risks(const decide_request *q, const decide_facts *f, decide_result *r);
/* r->reasoning and r->alt_reasoning. other: the best slot at another time
 * of day, or NULL. */
void decide_explain(const decide_request *q, const decide_facts *f, double peak,
                    const decide_slot *other, decide_result *r);
void decide_daily_explain(const decide_request *q, const decide_facts *f, double peak,
                          const decide_daily *after, decide_daily *d);
/* Points of a daily slot at local minute `local` for keeping clear of
 * another daily job (after; NULL: 0). */
double decide_clear_of(const decide_daily *after, int local, int duration);

#endif
