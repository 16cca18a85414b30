/* metrics: Prometheus registry and text exposition format 0.0.4. */
#include "metrics.h"

#include <sys/types.h>

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define MAX_FAMILIES   128
#define MAX_COLLECTORS 8
#define NCHAINS        512
#define OVERFLOW_VALUE "_overflow"
/* Bounds for a single render; a larger output means a cardinality bug. */
#define RENDER_INITIAL (16u * 1024)
#define RENDER_MAX     (64u * 1024 * 1024)

typedef enum { MT_COUNTER, MT_GAUGE, MT_HISTOGRAM } metric_type;

static const char *const type_names[] = {"counter", "gauge", "histogram"};

const double metrics_default_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                          0.1,    0.25,  0.5,    1,     2.5,  5,     10};
const size_t metrics_default_nbuckets =
    sizeof(metrics_default_buckets) / sizeof(metrics_default_buckets[0]);

typedef struct series {
    struct series *chain; /* next in the same hash chain */
    struct series *next;  /* next in creation order (render order) */
    uint64_t hash;
    double value; /* counter, gauge; histogram sum */
    uint64_t count;
    const char *values[METRICS_MAX_LABELS]; /* point into the allocation after counts */
    uint64_t counts[];                      /* histogram: per bucket, not cumulative, +Inf last */
} series;

struct metrics_family {
    metric_type type;
    char *name;
    char *help;
    size_t nlabels;
    char *labels[METRICS_MAX_LABELS];
    size_t nbounds;
    double bounds[METRICS_MAX_BUCKETS];
    pthread_mutex_t mu;
    size_t nchains;
    series **chains;
    series *first, *last;
    size_t nseries;
    bool overflow_logged;
};

typedef struct collector {
    metrics_collect_fn fn;
    void *ud;
} collector;

struct metrics_registry {
    pthread_mutex_t mu; /* guards the two arrays below (entries are only appended) */
    size_t nfamilies;
    metrics_family *families[MAX_FAMILIES];
    size_t ncollectors;
    collector collectors[MAX_COLLECTORS];
    /* metrics_register_process state: the families its collector sets. */
};

/* Prometheus names: [a-zA-Z_:][a-zA-Z0-9_:]* for metrics, the same without ':'
 * (and not starting with "__", reserved) for labels. The length bound keeps
 * every rendered fragment within buf_printf's buffer. */
static bool
valid_name(const char *s, bool metric)
{
    if (s == NULL || *s == '\0' || strlen(s) > METRICS_MAX_NAME || (*s >= '0' && *s <= '9')
        || (!metric && strncmp(s, "__", 2) == 0))
        return false;
    for (; *s; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')
              || *s == '_' || (metric && *s == ':')))
            return false;
    }
    return true;
}

/* A histogram named hist also owns the samples hist_bucket, hist_sum and hist_count. */
static bool
histogram_owns(const char *hist, const char *name)
{
    size_t n = strlen(hist);

    return strncmp(hist, name, n) == 0
           && (strcmp(name + n, "_bucket") == 0 || strcmp(name + n, "_sum") == 0
               || strcmp(name + n, "_count") == 0);
}

static bool
name_conflicts(const metrics_family *f, const char *name, metric_type type)
{
    return strcmp(f->name, name) == 0 || (f->type == MT_HISTOGRAM && histogram_owns(f->name, name))
           || (type == MT_HISTOGRAM && histogram_owns(name, f->name));
}

static void
family_free(metrics_family *f)
{
    if (f == NULL)
        return;
    for (series *s = f->first, *next; s != NULL; s = next) {
        next = s->next;
        free(s);
    }
    free(f->chains);
    for (size_t i = 0; i < f->nlabels; i++)
        free(f->labels[i]);
    free(f->name);
    free(f->help);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

static int
check_family(metrics_registry *reg, const char *name, metric_type type, const char *const *labels,
             size_t nlabels)
{
    if (!valid_name(name, true)) {
        log_error("metrics: invalid metric name \"%s\"", name ? name : "(null)");
        return -1;
    }
    if (nlabels > METRICS_MAX_LABELS || (nlabels > 0 && labels == NULL)) {
        log_error("metrics: %s: bad label list", name);
        return -1;
    }
    for (size_t i = 0; i < nlabels; i++) {
        if (!valid_name(labels[i], false)
            || (type == MT_HISTOGRAM && strcmp(labels[i], "le") == 0)) {
            log_error("metrics: %s: invalid label name \"%s\"", name,
                      labels[i] ? labels[i] : "(null)");
            return -1;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(labels[i], labels[j]) == 0) {
                log_error("metrics: %s: duplicate label \"%s\"", name, labels[i]);
                return -1;
            }
        }
    }
    for (size_t i = 0; i < reg->nfamilies; i++) {
        if (name_conflicts(reg->families[i], name, type)) {
            log_error("metrics: %s: already registered", name);
            return -1;
        }
    }
    if (reg->nfamilies >= MAX_FAMILIES) {
        log_error("metrics: %s: registry full", name);
        return -1;
    }
    return 0;
}

static series *series_get(metrics_family *f, const char *const *values);

static metrics_family *
family_new(metrics_registry *reg, metric_type type, const char *name, const char *help,
           const char *const *labels, size_t nlabels, const double *bounds, size_t nbounds)
{
    metrics_family *f = NULL;
    bool ok = false;

    if (reg == NULL)
        return NULL;
    pthread_mutex_lock(&reg->mu);
    if (check_family(reg, name, type, labels, nlabels) != 0)
        goto out;
    f = calloc(1, sizeof(*f));
    if (f == NULL)
        goto out;
    pthread_mutex_init(&f->mu, NULL);
    f->type = type;
    f->name = strdup(name);
    f->help = strdup(help ? help : "");
    f->nchains = nlabels > 0 ? NCHAINS : 1;
    f->chains = calloc(f->nchains, sizeof(*f->chains));
    if (f->name == NULL || f->help == NULL || f->chains == NULL)
        goto out;
    for (; f->nlabels < nlabels; f->nlabels++) {
        f->labels[f->nlabels] = strdup(labels[f->nlabels]);
        if (f->labels[f->nlabels] == NULL)
            goto out;
    }
    f->nbounds = nbounds;
    if (nbounds > 0)
        memcpy(f->bounds, bounds, nbounds * sizeof(*bounds));
    /* A family without labels has exactly one series: create it now so it is
     * rendered (as zero) before its first use. */
    if (nlabels == 0 && series_get(f, NULL) == NULL)
        goto out;
    reg->families[reg->nfamilies++] = f;
    ok = true;
out:
    pthread_mutex_unlock(&reg->mu);
    if (!ok && f != NULL) {
        log_error("metrics: %s: out of memory", name);
        family_free(f);
        f = NULL;
    }
    return ok ? f : NULL;
}

metrics_registry *
metrics_registry_new(void)
{
    metrics_registry *reg = calloc(1, sizeof(*reg));

    if (reg != NULL)
        pthread_mutex_init(&reg->mu, NULL);
    return reg;
}

void
metrics_registry_free(metrics_registry *reg)
{
    if (reg == NULL)
        return;
    for (size_t i = 0; i < reg->nfamilies; i++)
        family_free(reg->families[i]);
    pthread_mutex_destroy(&reg->mu);
    free(reg);
}

metrics_family *
metrics_counter(metrics_registry *reg, const char *name, const char *help,
                const char *const *labels, size_t nlabels)
{
    return family_new(reg, MT_COUNTER, name, help, labels, nlabels, NULL, 0);
}

metrics_family *
metrics_gauge(metrics_registry *reg, const char *name, const char *help, const char *const *labels,
              size_t nlabels)
{
    return family_new(reg, MT_GAUGE, name, help, labels, nlabels, NULL, 0);
}

metrics_family *
metrics_histogram(metrics_registry *reg, const char *name, const char *help,
                  const char *const *labels, size_t nlabels, const double *buckets, size_t nbuckets)
{
    if (buckets == NULL) {
        buckets = metrics_default_buckets;
        nbuckets = metrics_default_nbuckets;
    }
    if (nbuckets > METRICS_MAX_BUCKETS) {
        log_error("metrics: %s: more than %d buckets", name ? name : "(null)", METRICS_MAX_BUCKETS);
        return NULL;
    }
    for (size_t i = 0; i < nbuckets; i++) {
        if (!isfinite(buckets[i]) || (i > 0 && !(buckets[i] > buckets[i - 1]))) {
            log_error("metrics: %s: buckets must be finite and strictly increasing",
                      name ? name : "(null)");
            return NULL;
        }
    }
    return family_new(reg, MT_HISTOGRAM, name, help, labels, nlabels, buckets, nbuckets);
}

/* FNV-1a over the values, each followed by a 0xff byte (never part of UTF-8),
 * so ("ab","c") and ("a","bc") hash differently. */
static uint64_t
tuple_hash(const char *const *values, size_t n)
{
    uint64_t h = 14695981039346656037ULL;

    for (size_t i = 0; i < n; i++) {
        for (const unsigned char *p = (const unsigned char *)values[i]; *p; p++) {
            h ^= *p;
            h *= 1099511628211ULL;
        }
        h ^= 0xff;
        h *= 1099511628211ULL;
    }
    return h;
}

static series *
series_find(const metrics_family *f, const char *const *values, uint64_t h)
{
    for (series *s = f->chains[h % f->nchains]; s != NULL; s = s->chain) {
        size_t i = 0;

        if (s->hash != h)
            continue;
        while (i < f->nlabels && strcmp(s->values[i], values[i]) == 0)
            i++;
        if (i == f->nlabels)
            return s;
    }
    return NULL;
}

static series *
series_create(metrics_family *f, const char *const *values, uint64_t h)
{
    size_t ncounts = f->type == MT_HISTOGRAM ? f->nbounds + 1 : 0;
    size_t size = sizeof(series) + ncounts * sizeof(uint64_t);
    size_t lens[METRICS_MAX_LABELS];
    series *s;
    char *p;

    for (size_t i = 0; i < f->nlabels; i++) {
        lens[i] = strlen(values[i]) + 1;
        size += lens[i];
    }
    s = calloc(1, size);
    if (s == NULL)
        return NULL;
    s->hash = h;
    p = (char *)(s->counts + ncounts);
    for (size_t i = 0; i < f->nlabels; i++) {
        memcpy(p, values[i], lens[i]);
        s->values[i] = p;
        p += lens[i];
    }
    s->chain = f->chains[h % f->nchains];
    f->chains[h % f->nchains] = s;
    if (f->last != NULL)
        f->last->next = s;
    else
        f->first = s;
    f->last = s;
    f->nseries++;
    return s;
}

/* The series for values, created if needed; NULL when out of memory. Called
 * with f->mu held (or before f is published). */
static series *
series_get(metrics_family *f, const char *const *values)
{
    const char *vals[METRICS_MAX_LABELS];
    uint64_t h;
    series *s;

    for (size_t i = 0; i < f->nlabels; i++)
        vals[i] = (values != NULL && values[i] != NULL) ? values[i] : "";
    h = tuple_hash(vals, f->nlabels);
    s = series_find(f, vals, h);
    if (s != NULL)
        return s;
    if (f->nseries >= METRICS_MAX_SERIES) {
        if (!f->overflow_logged) {
            log_error("metrics: %s: more than %d series, counting new ones as " OVERFLOW_VALUE,
                      f->name, METRICS_MAX_SERIES);
            f->overflow_logged = true;
        }
        for (size_t i = 0; i < f->nlabels; i++)
            vals[i] = OVERFLOW_VALUE;
        h = tuple_hash(vals, f->nlabels);
        s = series_find(f, vals, h);
        if (s != NULL)
            return s;
    }
    return series_create(f, vals, h);
}

typedef enum { OP_INC, OP_SET, OP_ADD, OP_OBSERVE } metric_op;

static void
update(metrics_family *f, const char *const *values, metric_op op, double v)
{
    series *s;

    pthread_mutex_lock(&f->mu);
    s = series_get(f, values);
    if (s == NULL)
        goto out;
    switch (op) {
    case OP_INC:
    case OP_ADD:
        s->value += v;
        break;
    case OP_SET:
        s->value = v;
        break;
    case OP_OBSERVE: {
        size_t i = 0;

        while (i < f->nbounds && v > f->bounds[i])
            i++;
        s->counts[i]++;
        s->count++;
        s->value += v;
        break;
    }
    }
out:
    pthread_mutex_unlock(&f->mu);
}

void
metrics_inc(metrics_family *f, const char *const *label_values, double v)
{
    /* !(v >= 0) also rejects NaN, which would poison the counter for good. */
    if (f == NULL || f->type != MT_COUNTER || !(v >= 0))
        return;
    update(f, label_values, OP_INC, v);
}

void
metrics_set(metrics_family *f, const char *const *label_values, double v)
{
    if (f == NULL || f->type != MT_GAUGE)
        return;
    update(f, label_values, OP_SET, v);
}

void
metrics_add(metrics_family *f, const char *const *label_values, double delta)
{
    if (f == NULL || f->type != MT_GAUGE)
        return;
    update(f, label_values, OP_ADD, delta);
}

void
metrics_observe(metrics_family *f, const char *const *label_values, double v)
{
    if (f == NULL || f->type != MT_HISTOGRAM || isnan(v))
        return;
    update(f, label_values, OP_OBSERVE, v);
}

int
metrics_on_collect(metrics_registry *reg, metrics_collect_fn fn, void *ud)
{
    int rc = -1;

    if (reg == NULL || fn == NULL)
        return -1;
    pthread_mutex_lock(&reg->mu);
    if (reg->ncollectors < MAX_COLLECTORS) {
        reg->collectors[reg->ncollectors++] = (collector){fn, ud};
        rc = 0;
    }
    pthread_mutex_unlock(&reg->mu);
    if (rc != 0)
        log_error("metrics: more than %d collect callbacks", MAX_COLLECTORS);
    return rc;
}

/* Counters whose value is kept elsewhere (the kernel's CPU time) are copied in
 * whole; a value lower than the current one is ignored so the counter never
 * goes back. */
void
metrics_counter_set(metrics_family *f, const char *const *label_values, double v)
{
    if (f == NULL || f->type != MT_COUNTER)
        return;
    series *se = series_get(f, label_values);
    if (se == NULL)
        return;
    pthread_mutex_lock(&f->mu);
    if (v > se->value)
        se->value = v;
    pthread_mutex_unlock(&f->mu);
}

/* ---- rendering -------------------------------------------------------------- */

typedef struct buf {
    char *p;
    size_t len, cap;
    bool failed;
} buf;

static void
buf_put(buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : RENDER_INITIAL;
        char *p;

        while (cap < b->len + n + 1 && cap <= RENDER_MAX)
            cap *= 2;
        if (cap > RENDER_MAX || (p = realloc(b->p, cap)) == NULL) {
            b->failed = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
buf_printf(buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        b->failed = true; /* only names and numbers go through here: never that long */
    else
        buf_put(b, tmp, (size_t)n);
}

/* Copy s with \\ and \n escaped, and \" too when quotes is set (label values). */
static void
buf_escaped(buf *b, const char *s, bool quotes)
{
    const char *run = s;

    for (; *s; s++) {
        const char *esc = *s == '\\'              ? "\\\\"
                          : *s == '\n'            ? "\\n"
                          : (quotes && *s == '"') ? "\\\""
                                                  : NULL;
        if (esc == NULL)
            continue;
        buf_put(b, run, (size_t)(s - run));
        buf_put(b, esc, strlen(esc));
        run = s + 1;
    }
    buf_put(b, run, (size_t)(s - run));
}

/* Integers below 2^53 print without an exponent; anything else prints with
 * the fewest digits that read back as the same double ("0.005", not
 * "0.0050000000000000001"). */
static void
format_value(double v, char out[32])
{
    if (isnan(v)) {
        snprintf(out, 32, "NaN");
    } else if (isinf(v)) {
        snprintf(out, 32, v > 0 ? "+Inf" : "-Inf");
    } else if (v == floor(v) && fabs(v) < 9007199254740992.0) {
        snprintf(out, 32, "%.0f", v == 0 ? 0.0 : v);
    } else {
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(out, 32, "%.*g", prec, v);
            if (strtod(out, NULL) == v)
                break;
        }
    }
}

/* name{l1="v1",...[,le="le"]} value\n */
static void
render_sample(buf *b, const metrics_family *f, const series *s, const char *suffix, const char *le,
              const char *value)
{
    bool braces = f->nlabels > 0 || le != NULL;

    buf_printf(b, "%s%s%s", f->name, suffix, braces ? "{" : "");
    for (size_t i = 0; i < f->nlabels; i++) {
        buf_printf(b, "%s%s=\"", i > 0 ? "," : "", f->labels[i]);
        buf_escaped(b, s->values[i], true);
        buf_put(b, "\"", 1);
    }
    if (le != NULL)
        buf_printf(b, "%sle=\"%s\"", f->nlabels > 0 ? "," : "", le);
    buf_printf(b, "%s %s\n", braces ? "}" : "", value);
}

static void
render_family(buf *b, metrics_family *f)
{
    char num[32], le[32];

    buf_printf(b, "# HELP %s ", f->name);
    buf_escaped(b, f->help, false);
    buf_printf(b, "\n# TYPE %s %s\n", f->name, type_names[f->type]);
    pthread_mutex_lock(&f->mu);
    for (const series *s = f->first; s != NULL; s = s->next) {
        uint64_t cumulative = 0;

        if (f->type != MT_HISTOGRAM) {
            format_value(s->value, num);
            render_sample(b, f, s, "", NULL, num);
            continue;
        }
        for (size_t i = 0; i <= f->nbounds; i++) {
            cumulative += s->counts[i];
            snprintf(num, sizeof(num), "%" PRIu64, cumulative);
            format_value(i < f->nbounds ? f->bounds[i] : INFINITY, le);
            render_sample(b, f, s, "_bucket", le, num);
        }
        format_value(s->value, num);
        render_sample(b, f, s, "_sum", NULL, num);
        snprintf(num, sizeof(num), "%" PRIu64, s->count);
        render_sample(b, f, s, "_count", NULL, num);
    }
    pthread_mutex_unlock(&f->mu);
}

int
metrics_render(metrics_registry *reg, char **out, size_t *len)
{
    collector collectors[MAX_COLLECTORS];
    size_t ncollectors, nfamilies;
    buf b = {0};

    if (out != NULL)
        *out = NULL;
    if (len != NULL)
        *len = 0;
    if (reg == NULL || out == NULL)
        return -1;
    /* Callbacks run with no lock held: they set metrics of this registry. */
    pthread_mutex_lock(&reg->mu);
    ncollectors = reg->ncollectors;
    memcpy(collectors, reg->collectors, ncollectors * sizeof(collectors[0]));
    pthread_mutex_unlock(&reg->mu);
    for (size_t i = 0; i < ncollectors; i++)
        collectors[i].fn(reg, collectors[i].ud);

    pthread_mutex_lock(&reg->mu);
    nfamilies = reg->nfamilies;
    pthread_mutex_unlock(&reg->mu);
    buf_put(&b, "", 0); /* an empty registry still gives an empty string */
    /* families[] entries below nfamilies never change, so no lock is needed. */
    for (size_t i = 0; i < nfamilies && !b.failed; i++)
        render_family(&b, reg->families[i]);
    if (b.failed) {
        log_error("metrics: render failed (out of memory or over %u bytes)", RENDER_MAX);
        free(b.p);
        return -1;
    }
    *out = b.p;
    if (len != NULL)
        *len = b.len;
    return 0;
}
