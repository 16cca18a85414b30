/* menu: building the menu model from Toast's document or from a snapshot,
 * lookups, prices and Toast's times; see menu.h. The canonical JSON and the
 * diff are in menu_diff.c. */
#include "menu.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "menu_internal.h"

/* ---- building ---- */

int
mb_fail(mb *b, const char *fmt, ...)
{
    va_list ap;
    /* The first failure is the one worth telling. */
    if (b->err[0] == '\0') {
        va_start(ap, fmt);
        vsnprintf(b->err, b->errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Grow *arr (of n elements of size sz, room for *cap) for one more. */
static void *
grow(mb *b, void *arr, size_t n, size_t *cap, size_t sz)
{
    if (n < *cap)
        return arr;
    size_t nc = *cap ? *cap * 2 : 16;
    void *p = realloc(arr, nc * sz);
    if (!p) {
        mb_fail(b, "out of memory");
        return NULL;
    }
    memset((char *)p + n * sz, 0, (nc - n) * sz);
    *cap = nc;
    return p;
}

char *
mb_dup(mb *b, const char *s)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        mb_fail(b, "out of memory");
    return d;
}

menu_menu *
mb_menu(mb *b)
{
    menu_model *m = b->m;
    menu_menu *p = grow(b, m->menus, m->nmenus, &b->cmenus, sizeof(*p));
    if (!p)
        return NULL;
    m->menus = p;
    return &p[m->nmenus++];
}

menu_group *
mb_group(mb *b)
{
    menu_model *m = b->m;
    menu_group *p = grow(b, m->groups, m->ngroups, &b->cgroups, sizeof(*p));
    if (!p)
        return NULL;
    m->groups = p;
    return &p[m->ngroups++];
}

menu_item *
mb_item(mb *b)
{
    menu_model *m = b->m;
    menu_item *p = grow(b, m->items, m->nitems, &b->citems, sizeof(*p));
    if (!p)
        return NULL;
    m->items = p;
    return &p[m->nitems++];
}

menu_modgroup *
mb_modgroup(mb *b)
{
    menu_model *m = b->m;
    menu_modgroup *p = grow(b, m->modgroups, m->nmodgroups, &b->cmodgroups, sizeof(*p));
    if (!p)
        return NULL;
    m->modgroups = p;
    return &p[m->nmodgroups++];
}

int
mb_strs_add(mb *b, menu_strs *l, const char *s)
{
    if (l->n >= MENU_LIST_MAX)
        return mb_fail(b, "a list holds more than %d entries", MENU_LIST_MAX);
    /* Lists are short: grow by one, sorted and made distinct at the end. */
    char **v = realloc(l->v, (l->n + 1) * sizeof(*v));
    if (!v)
        return mb_fail(b, "out of memory");
    l->v = v;
    if (!(v[l->n] = mb_dup(b, s)))
        return -1;
    l->n++;
    return 0;
}

/* A string field: 0 with *out (NULL when absent or null), -1 when it is not
 * a string or too long. */
int
mb_str(mb *b, json_object *o, const char *key, bool required, size_t max, const char **out)
{
    json_object *v = NULL;
    *out = NULL;
    if (!json_object_object_get_ex(o, key, &v) || !v) {
        if (required)
            return mb_fail(b, "%s: '%s' is missing", b->where, key);
        return 0;
    }
    if (!json_object_is_type(v, json_type_string))
        return mb_fail(b, "%s: '%s' must be a string", b->where, key);
    if ((size_t)json_object_get_string_len(v) > max || (required && !json_object_get_string_len(v)))
        return mb_fail(b, "%s: '%s' must be 1 to %zu bytes", b->where, key, max);
    *out = json_object_get_string(v);
    return 0;
}

int
mb_price(mb *b, json_object *o, const char *key, menu_price *out)
{
    json_object *v = NULL;
    out->set = false;
    if (!json_object_object_get_ex(o, key, &v) || !v)
        return 0;
    if (json_object_is_type(v, json_type_int)) {
        int64_t i = json_object_get_int64(v);
        if (i > INT64_MAX / 10000 || i < INT64_MIN / 10000)
            return mb_fail(b, "%s: '%s' is out of range", b->where, key);
        out->v = i * 10000;
    } else if (json_object_is_type(v, json_type_double)) {
        double d = json_object_get_double(v) * 10000.0;
        if (!isfinite(d) || fabs(d) > 9e15)
            return mb_fail(b, "%s: '%s' is out of range", b->where, key);
        out->v = llround(d);
    } else if (!json_object_is_type(v, json_type_string)
               || menu_price_parse(json_object_get_string(v), &out->v) != 0) {
        return mb_fail(b, "%s: '%s' must be a price", b->where, key);
    }
    out->set = true;
    return 0;
}

int
mb_int(mb *b, json_object *o, const char *key, int64_t *out)
{
    json_object *v = NULL;
    *out = -1;
    if (!json_object_object_get_ex(o, key, &v) || !v)
        return 0;
    if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0
        || json_object_get_int64(v) > 1000000)
        return mb_fail(b, "%s: '%s' must be an integer from 0 to 1000000", b->where, key);
    *out = json_object_get_int64(v);
    return 0;
}

/* ---- finishing: sort, merge what Toast lists twice ---- */

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
strs_free(menu_strs *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static void
strs_finish(menu_strs *l)
{
    size_t k = 0;
    if (l->n > 1)
        qsort(l->v, l->n, sizeof(*l->v), cmp_str);
    for (size_t i = 0; i < l->n; i++) {
        if (k > 0 && strcmp(l->v[k - 1], l->v[i]) == 0)
            free(l->v[i]);
        else
            l->v[k++] = l->v[i];
    }
    l->n = k;
}

/* Move the entries of src into dst (src is left empty). */
static int
strs_merge(mb *b, menu_strs *dst, menu_strs *src)
{
    for (size_t i = 0; i < src->n; i++)
        if (mb_strs_add(b, dst, src->v[i]) != 0)
            return -1;
    strs_free(src);
    return 0;
}

/* Entities sort by guid; an item or group listed twice sorts by the group
 * (or menu) it was found in, so that the one kept is always the same. */
static int
cmp_item(const void *a, const void *b)
{
    const menu_item *x = a, *y = b;
    int c = strcmp(x->guid, y->guid);
    if (c || !x->groups.n || !y->groups.n)
        return c;
    return strcmp(x->groups.v[0], y->groups.v[0]);
}

static int
cmp_group(const void *a, const void *b)
{
    const menu_group *x = a, *y = b;
    int c = strcmp(x->guid, y->guid);
    return c ? c : strcmp(x->menu_guid ? x->menu_guid : "", y->menu_guid ? y->menu_guid : "");
}

static int
cmp_menu(const void *a, const void *b)
{
    return strcmp(((const menu_menu *)a)->guid, ((const menu_menu *)b)->guid);
}

static int
cmp_modgroup(const void *a, const void *b)
{
    return strcmp(((const menu_modgroup *)a)->guid, ((const menu_modgroup *)b)->guid);
}

static void
item_free(menu_item *it)
{
    free(it->guid);
    free(it->name);
    free(it->pricing_strategy);
    free(it->plu);
    free(it->sku);
    strs_free(&it->groups);
    strs_free(&it->modifiers);
    strs_free(&it->visibility);
}

static void
group_free(menu_group *g)
{
    free(g->guid);
    free(g->name);
    free(g->menu_guid);
    free(g->parent_guid);
}

static void
modgroup_free(menu_modgroup *g)
{
    free(g->guid);
    free(g->name);
    for (size_t i = 0; i < g->noptions; i++) {
        free(g->options[i].guid);
        free(g->options[i].name);
    }
    free(g->options);
}

int
mb_finish(mb *b, bool merge_twice_listed)
{
    menu_model *m = b->m;
    size_t k = 0;
    for (size_t i = 0; i < m->nitems; i++) {
        strs_finish(&m->items[i].groups);
        strs_finish(&m->items[i].modifiers);
        strs_finish(&m->items[i].visibility);
    }
    if (m->nitems > 1)
        qsort(m->items, m->nitems, sizeof(*m->items), cmp_item);
    if (m->ngroups > 1)
        qsort(m->groups, m->ngroups, sizeof(*m->groups), cmp_group);
    if (m->nmenus > 1)
        qsort(m->menus, m->nmenus, sizeof(*m->menus), cmp_menu);
    if (m->nmodgroups > 1)
        qsort(m->modgroups, m->nmodgroups, sizeof(*m->modgroups), cmp_modgroup);
    for (size_t i = 0; i < m->nitems; i++) {
        if (k > 0 && strcmp(m->items[k - 1].guid, m->items[i].guid) == 0) {
            if (!merge_twice_listed)
                return mb_fail(b, "item %s is listed twice", m->items[i].guid);
            if (strs_merge(b, &m->items[k - 1].groups, &m->items[i].groups) != 0)
                return -1;
            strs_finish(&m->items[k - 1].groups);
            item_free(&m->items[i]);
        } else {
            m->items[k++] = m->items[i];
        }
    }
    m->nitems = k;
    k = 0;
    for (size_t i = 0; i < m->ngroups; i++) {
        if (k > 0 && strcmp(m->groups[k - 1].guid, m->groups[i].guid) == 0) {
            if (!merge_twice_listed)
                return mb_fail(b, "group %s is listed twice", m->groups[i].guid);
            group_free(&m->groups[i]);
        } else {
            m->groups[k++] = m->groups[i];
        }
    }
    m->ngroups = k;
    for (size_t i = 1; i < m->nmenus; i++)
        if (strcmp(m->menus[i - 1].guid, m->menus[i].guid) == 0)
            return mb_fail(b, "menu %s is listed twice", m->menus[i].guid);
    for (size_t i = 1; i < m->nmodgroups; i++)
        if (strcmp(m->modgroups[i - 1].guid, m->modgroups[i].guid) == 0)
            return mb_fail(b, "modifier group %s is listed twice", m->modgroups[i].guid);
    return 0;
}

int
mb_start(mb *b, menu_model **out, char *err, size_t errlen)
{
    memset(b, 0, sizeof(*b));
    b->err = err;
    b->errlen = errlen;
    err[0] = '\0';
    *out = NULL;
    b->m = calloc(1, sizeof(*b->m));
    return b->m ? 0 : mb_fail(b, "out of memory");
}

int
mb_end(mb *b, int rc, bool merge_twice_listed, menu_model **out)
{
    if (rc == 0)
        rc = mb_finish(b, merge_twice_listed);
    if (rc != 0) {
        menu_model_free(b->m);
        return -1;
    }
    *out = b->m;
    return 0;
}

void
menu_model_free(menu_model *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nmenus; i++) {
        free(m->menus[i].guid);
        free(m->menus[i].name);
    }
    for (size_t i = 0; i < m->ngroups; i++)
        group_free(&m->groups[i]);
    for (size_t i = 0; i < m->nitems; i++)
        item_free(&m->items[i]);
    for (size_t i = 0; i < m->nmodgroups; i++)
        modgroup_free(&m->modgroups[i]);
    free(m->menus);
    free(m->groups);
    free(m->items);
    free(m->modgroups);
    free(m);
}

/* ---- lookups ---- */

static int
cmp_key(const void *key, const void *elem)
{
    /* Every entity starts with its guid. */
    return strcmp(key, *(char *const *)elem);
}

const menu_item *
menu_find_item(const menu_model *m, const char *guid)
{
    if (!m->nitems)
        return NULL;
    return bsearch(guid, m->items, m->nitems, sizeof(*m->items), cmp_key);
}

const menu_group *
menu_find_group(const menu_model *m, const char *guid)
{
    if (!m->ngroups)
        return NULL;
    return bsearch(guid, m->groups, m->ngroups, sizeof(*m->groups), cmp_key);
}

const menu_modgroup *
menu_find_modgroup(const menu_model *m, const char *guid)
{
    if (!m->nmodgroups)
        return NULL;
    return bsearch(guid, m->modgroups, m->nmodgroups, sizeof(*m->modgroups), cmp_key);
}

const menu_menu *
menu_find_menu_named(const menu_model *m, const char *name)
{
    for (size_t i = 0; i < m->nmenus; i++)
        if (m->menus[i].name && strcmp(m->menus[i].name, name) == 0)
            return &m->menus[i];
    return NULL;
}

/* ---- prices and times ---- */

int
menu_price_parse(const char *s, int64_t *out)
{
    bool neg = false;
    int64_t v = 0;
    int frac = -1;
    if (*s == '-') {
        neg = true;
        s++;
    }
    if (*s < '0' || *s > '9')
        return -1;
    for (; *s; s++) {
        if (*s == '.' && frac < 0) {
            frac = 0;
            continue;
        }
        if (*s < '0' || *s > '9' || frac >= 4 || v > (INT64_MAX / 10 - 9) / 10000)
            return -1;
        v = v * 10 + (*s - '0');
        if (frac >= 0)
            frac++;
    }
    if (frac == 0)
        return -1; /* "12." */
    for (int i = frac < 0 ? 0 : frac; i < 4; i++)
        v *= 10;
    *out = neg ? -v : v;
    return 0;
}

void
menu_price_format(int64_t v, char out[MENU_PRICE_LEN])
{
    uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    unsigned frac = (unsigned)(a % 10000);
    int len = snprintf(out, MENU_PRICE_LEN, "%s%llu.%04u", v < 0 ? "-" : "",
                       (unsigned long long)(a / 10000), frac);
    /* Keep two decimals at least: 12.5000 -> 12.50, 0.1250 -> 0.125. */
    while (len > 0 && out[len - 1] == '0' && out[len - 3] != '.') {
        out[--len] = '\0';
    }
}

int
menu_time_parse(const char *s, int64_t *ms)
{
    struct tm tm = {0};
    int used = 0, frac_ms = 0, off = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &used)
            != 6
        || used != 19)
        return -1;
    s += used;
    if (*s == '.') {
        int digits = 0;
        for (s++; *s >= '0' && *s <= '9'; s++, digits++)
            if (digits < 3)
                frac_ms = frac_ms * 10 + (*s - '0');
        if (digits == 0)
            return -1;
        for (; digits < 3; digits++)
            frac_ms *= 10;
    }
    if (*s == 'Z' && s[1] == '\0') {
        off = 0;
    } else if ((*s == '+' || *s == '-') && strlen(s) >= 5) {
        /* "+0000" as Toast writes it, or "+00:00". */
        int h = 0, mi = 0, n = 0;
        if ((sscanf(s + 1, "%2d:%2d%n", &h, &mi, &n) != 2 || n != 5 || s[6] != '\0')
            && (sscanf(s + 1, "%2d%2d%n", &h, &mi, &n) != 2 || n != 4 || s[5] != '\0'))
            return -1;
        off = (h * 60 + mi) * 60 * (*s == '-' ? -1 : 1);
    } else {
        return -1;
    }
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23
        || tm.tm_min > 59 || tm.tm_sec > 60)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    errno = 0;
    time_t t = timegm(&tm);
    if (t == (time_t)-1 && errno)
        return -1;
    *ms = ((int64_t)t - off) * 1000 + frac_ms;
    return 0;
}
