/* toast_diff: the domain cost of comparing two menus, without PostgreSQL,
 * NATS or HTTP. Built by `make bench-toast` from svc-toast's menu*.c
 * (build/<B>/bench/toast_diff) and run by tests/bench/toast.py:
 *
 *     toast_diff BEFORE.json AFTER.json [RUNS]
 *
 * BEFORE and AFTER are Toast menus documents (GET /menus/v2/menus). Each is
 * turned into the model once; then RUNS times each of:
 *   diff          menu_diff(before, after) and the diff rendered as JSON text
 *   snapshot      menu_snapshot_text(after): canonical JSON and SHA-256
 *   from_snapshot the snapshot text of before parsed back into a model
 *   compare       what golden_compare does between the two database reads:
 *                 both snapshots parsed into models, the current one's
 *                 canonical text and SHA-256, the diff, rendered as JSON text
 * Before timing, it checks that the canonical text is what json-c writes for
 * the same snapshot and reads back to the same text. Prints one JSON object:
 * items, sizes and, per step, min/p50/max in ms. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "menu.h"

#define RUNS_MAX  1000
#define FILE_MAX  (256L * 1024 * 1024)
#define STEPS     4
#define PARSE_DEP 64

static const char *const step_names[STEPS] = {"diff", "snapshot", "from_snapshot", "compare"};

static double
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The whole file (malloc'd, NUL-terminated) or NULL. */
static char *
slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || n > FILE_MAX
        || fseek(f, 0, SEEK_SET) != 0 || !(buf = malloc((size_t)n + 1))
        || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    } else {
        buf[n] = '\0';
        *len = (size_t)n;
    }
    fclose(f);
    return buf;
}

static json_object *
parse(const char *text, size_t len)
{
    json_tokener *tok = json_tokener_new_ex(PARSE_DEP);
    json_object *o = NULL;
    if (!tok)
        return NULL;
    o = json_tokener_parse_ex(tok, text, (int)len);
    if (json_tokener_get_error(tok) != json_tokener_success) {
        json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tok);
    return o;
}

static menu_model *
model_of_file(const char *path)
{
    size_t len = 0;
    char *text = slurp(path, &len), err[256];
    json_object *doc = text ? parse(text, len) : NULL;
    menu_model *m = NULL;
    if (!doc || menu_from_toast(doc, &m, err, sizeof(err)) != 0) {
        fprintf(stderr, "toast_diff: %s: %s\n", path, doc ? err : "cannot read it as JSON");
        m = NULL;
    }
    json_object_put(doc);
    free(text);
    return m;
}

/* As golden.c reads a snapshot from the database or a golden copy. */
static menu_model *
model_of_snapshot(const char *text, size_t len)
{
    char err[256];
    menu_model *m = NULL;
    if (menu_from_snapshot_text(text, len, &m, err, sizeof(err)) != 0) {
        fprintf(stderr, "toast_diff: reading a snapshot: %s\n", err);
        return NULL;
    }
    return m;
}

/* The diff as the route renders it: 0, or -1. Its size in *bytes. */
static int
diff_text(const menu_model *a, const menu_model *b, size_t *bytes)
{
    json_object *d = menu_diff(a, b);
    size_t n = 0;
    if (!d || !json_object_to_json_string_length(d, JSON_C_TO_STRING_PLAIN, &n)) {
        json_object_put(d);
        return -1;
    }
    *bytes = n;
    json_object_put(d);
    return 0;
}

/* golden_compare without the database: both snapshots from text, the
 * current one's hash, the diff. */
static int
compare(const char *btext, size_t blen, const char *ctext, size_t clen, size_t *bytes)
{
    menu_model *base = model_of_snapshot(btext, blen), *cur = model_of_snapshot(ctext, clen);
    char *text = NULL, sha[MENU_SHA256_HEX];
    int rc = -1;
    if (base && cur && menu_snapshot_text(cur, &text, NULL, sha) == 0)
        rc = diff_text(base, cur, bytes);
    free(text);
    menu_model_free(base);
    menu_model_free(cur);
    return rc;
}

/* What is timed must be right: the canonical text is what json-c writes for
 * menu_snapshot(), and reading it back gives the same text. */
static int
check(const menu_model *m, const char *text, size_t len)
{
    json_object *snap = menu_snapshot(m);
    menu_model *back = NULL;
    char *again = NULL, sha[MENU_SHA256_HEX];
    size_t n = 0;
    const char *jc = snap ? json_object_to_json_string_length(
                         snap, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n)
                          : NULL;
    int rc = -1;
    if (!jc || n != len || memcmp(jc, text, len) != 0)
        fprintf(stderr, "toast_diff: the snapshot's text differs from json-c's\n");
    else if (!(back = model_of_snapshot(text, len))
             || menu_snapshot_text(back, &again, &n, sha) != 0 || n != len
             || memcmp(again, text, len) != 0)
        fprintf(stderr, "toast_diff: the snapshot read back gives another text\n");
    else
        rc = 0;
    free(again);
    menu_model_free(back);
    json_object_put(snap);
    return rc;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void
print_step(const char *name, double *t, int runs, int last)
{
    qsort(t, (size_t)runs, sizeof(*t), cmp_double);
    printf("\"%s\":{\"min_ms\":%.3f,\"p50_ms\":%.3f,\"max_ms\":%.3f}%s", name, t[0], t[runs / 2],
           t[runs - 1], last ? "" : ",");
}

int
main(int argc, char **argv)
{
    static double t[STEPS][RUNS_MAX];
    menu_model *a = NULL, *b = NULL;
    char *atext = NULL, *btext = NULL, sha[MENU_SHA256_HEX];
    size_t alen = 0, blen = 0, bytes = 0;
    int runs = argc > 3 ? atoi(argv[3]) : 20, rc = 1;
    if (argc < 3 || runs < 1 || runs > RUNS_MAX) {
        fprintf(stderr, "usage: toast_diff BEFORE.json AFTER.json [RUNS (1-%d)]\n", RUNS_MAX);
        return 2;
    }
    if (!(a = model_of_file(argv[1])) || !(b = model_of_file(argv[2])))
        goto out;
    if (menu_snapshot_text(a, &atext, &alen, sha) != 0
        || menu_snapshot_text(b, &btext, &blen, sha) != 0 || check(b, btext, blen) != 0)
        goto out;
    for (int i = 0; i < runs; i++) {
        char *text = NULL;
        menu_model *m = NULL;
        double t0 = now_ms();
        if (diff_text(a, b, &bytes) != 0)
            goto out;
        double t1 = now_ms();
        if (menu_snapshot_text(b, &text, NULL, sha) != 0)
            goto out;
        free(text);
        double t2 = now_ms();
        if (!(m = model_of_snapshot(atext, alen)))
            goto out;
        menu_model_free(m);
        double t3 = now_ms();
        if (compare(atext, alen, btext, blen, &bytes) != 0)
            goto out;
        double t4 = now_ms();
        t[0][i] = t1 - t0;
        t[1][i] = t2 - t1;
        t[2][i] = t3 - t2;
        t[3][i] = t4 - t3;
    }
    printf("{\"items_before\":%zu,\"items_after\":%zu,\"snapshot_bytes\":%zu,\"diff_bytes\":%zu,"
           "\"runs\":%d,",
           a->nitems, b->nitems, blen, bytes, runs);
    for (int s = 0; s < STEPS; s++)
        print_step(step_names[s], t[s], runs, s == STEPS - 1);
    printf("}\n");
    rc = 0;
out:
    if (rc != 0)
        fprintf(stderr, "toast_diff: a step failed\n");
    free(atext);
    free(btext);
    menu_model_free(a);
    menu_model_free(b);
    return rc;
}
