/* metrics: Prometheus counters, gauges and histograms with labels, rendered in
 * text exposition format 0.0.4. Prefix metrics_. Thread-safe.
 *
 * A family is registered once at start (name, help, label names); series are
 * created on first use of a label-value tuple. Each family holds at most
 * METRICS_MAX_SERIES series: beyond that, new tuples are counted into one
 * series whose label values are all "_overflow", so a bug cannot exhaust memory.
 * Label values are passed as an array with one entry per label name (NULL when
 * the family has no labels); they are copied. A NULL entry counts as "".
 * A family without labels has its one series from the start, so it renders
 * as 0 before first use.
 *
 * Updates on a NULL family (a failed registration, already logged) or of the
 * wrong kind (metrics_set on a counter) are ignored. */
#ifndef BRAIN_METRICS_H
#define BRAIN_METRICS_H

#include <stddef.h>

#define METRICS_MAX_LABELS  6
#define METRICS_MAX_SERIES  2000
#define METRICS_MAX_BUCKETS 24
#define METRICS_MAX_NAME    200 /* bytes, for metric and label names */

typedef struct metrics_registry metrics_registry;
typedef struct metrics_family metrics_family;

/* Called at the start of every render, to set gauges computed on demand. */
typedef void (*metrics_collect_fn)(metrics_registry *reg, void *ud);

metrics_registry *metrics_registry_new(void);
void metrics_registry_free(metrics_registry *reg); /* accepts NULL; frees its families */

/* Register a family. name ([a-zA-Z_:][a-zA-Z0-9_:]*) and label names
 * ([a-zA-Z_][a-zA-Z0-9_]*, not starting with "__", distinct, "le" not allowed
 * on a histogram) must be valid Prometheus names of at most METRICS_MAX_NAME
 * bytes, and name must be unique in the registry (a histogram "x" also takes
 * x_bucket, x_sum and x_count); returns NULL otherwise (a programming error,
 * logged). At most 128 families per registry. labels is an array of nlabels
 * names, copied. The family is owned by the registry. */
metrics_family *metrics_counter(metrics_registry *reg, const char *name, const char *help,
                                const char *const *labels, size_t nlabels);
metrics_family *metrics_gauge(metrics_registry *reg, const char *name, const char *help,
                              const char *const *labels, size_t nlabels);
/* buckets: at most METRICS_MAX_BUCKETS finite, strictly increasing upper
 * bounds, +Inf is implied; NULL gives metrics_default_buckets (0.5 ms .. 10 s:
 * 0.0005 0.001 0.0025 0.005 0.01 0.025 0.05 0.1 0.25 0.5 1 2.5 5 10, for
 * request durations in seconds). */
metrics_family *metrics_histogram(metrics_registry *reg, const char *name, const char *help,
                                  const char *const *labels, size_t nlabels, const double *buckets,
                                  size_t nbuckets);

extern const double metrics_default_buckets[];
extern const size_t metrics_default_nbuckets;

/* Counter: add v (v >= 0; negative values are ignored). */
void metrics_inc(metrics_family *f, const char *const *label_values, double v);
/* Gauge: set to v, or add delta (may be negative). */
void metrics_set(metrics_family *f, const char *const *label_values, double v);
void metrics_add(metrics_family *f, const char *const *label_values, double delta);
/* Counter whose value is kept elsewhere (the kernel's CPU time, say): copy it
 * in; a value lower than the current one is ignored. */
void metrics_counter_set(metrics_family *f, const char *const *label_values, double v);
/* Histogram: record one observation (NaN is ignored). */
void metrics_observe(metrics_family *f, const char *const *label_values, double v);

/* Register a collect callback (at most 8; returns 0 or -1). Callbacks run in
 * registration order at the start of every render, with no lock held. */
int metrics_on_collect(metrics_registry *reg, metrics_collect_fn fn, void *ud);

/* Register process_resident_memory_bytes, process_cpu_seconds_total,
 * process_start_time_seconds and process_open_fds, read from /proc at render
 * (the start time once, here). Returns 0, or -1 if already registered or /proc
 * is unreadable. */
int metrics_register_process(metrics_registry *reg);

/* Render the whole registry as text format 0.0.4: families in registration
 * order, "# HELP" (help text with \\ and \n escaped) and "# TYPE" lines, then
 * the series in creation order, label values escaped (\\, \", \n). Values
 * that are integers below 2^53 print as integers ("42"), others with the
 * fewest digits that read back exactly ("0.005"), and "+Inf", "-Inf", "NaN".
 * Histograms print cumulative name_bucket{...,le="..."} lines up to
 * le="+Inf", then name_sum and name_count.
 * *out is malloc'd and NUL-terminated; the caller frees it. Returns 0, or -1
 * (out of memory, or output over 64 MiB) with *out NULL. len may be NULL. */
int metrics_render(metrics_registry *reg, char **out, size_t *len);

#endif
