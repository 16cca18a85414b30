/* menu_snap: the canonical snapshot's text, written straight from the model;
 * see menu.h. menu_snap_read.c reads it back.
 *
 * Why not json-c here: a 5,000-item menu is about 1.6 MB of snapshot and
 * 100,000 JSON values. As json-c objects those are as many small allocations
 * to make and then free, and that cost more than all the rest of a
 * golden-copy compare (tests/bench/toast.py measures it). The text written
 * here is byte for byte what json-c writes for menu_snapshot() with
 * JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE (the bench program
 * tests/bench/toast_diff.c checks it), so the digests of golden copies
 * captured before stay valid. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "menu_internal.h"

#define TEXT_MAX   ((size_t)512 * 1024 * 1024) /* bound of a snapshot's text */
#define TEXT_START (64 * 1024)

/* ---- writing ---- */

typedef struct sbuf {
    char *p;
    size_t n, cap;
    bool failed; /* out of memory or beyond TEXT_MAX */
} sbuf;

static void
sb_put(sbuf *s, const char *p, size_t n)
{
    if (s->failed)
        return;
    if (n > TEXT_MAX - s->n) {
        s->failed = true;
        return;
    }
    if (s->n + n >= s->cap) {
        size_t nc = s->cap ? s->cap : TEXT_START;
        while (nc <= s->n + n)
            nc *= 2;
        char *q = realloc(s->p, nc);
        if (!q) {
            s->failed = true;
            return;
        }
        s->p = q;
        s->cap = nc;
    }
    memcpy(s->p + s->n, p, n);
    s->n += n;
}

#define SB_LIT(s, lit) sb_put(s, lit, sizeof(lit) - 1)

/* The comma before every entry of a list but the first. */
static void
sb_sep(sbuf *s, size_t i)
{
    if (i)
        SB_LIT(s, ",");
}

/* A string as json-c escapes it (without escaping '/'), or null. */
static void
sb_str(sbuf *s, const char *v)
{
    static const char hex[] = "0123456789abcdef";
    const char *run = v;
    if (!v) {
        SB_LIT(s, "null");
        return;
    }
    SB_LIT(s, "\"");
    for (const char *c = v; *c; c++) {
        unsigned char u = (unsigned char)*c;
        char esc[7] = {'\\', 0, 0, 0, 0, 0, 0};
        size_t n = 2;
        switch (u) {
        case '\b':
            esc[1] = 'b';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '"':
        case '\\':
            esc[1] = (char)u;
            break;
        default:
            if (u >= 0x20)
                continue;
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[u >> 4];
            esc[5] = hex[u & 0xf];
            n = 6;
        }
        sb_put(s, run, (size_t)(c - run));
        sb_put(s, esc, n);
        run = c + 1;
    }
    sb_put(s, run, strlen(run));
    SB_LIT(s, "\"");
}

static void
sb_price(sbuf *s, const menu_price *p)
{
    char b[MENU_PRICE_LEN];
    if (!p->set) {
        SB_LIT(s, "null");
        return;
    }
    menu_price_format(p->v, b);
    sb_str(s, b);
}

static void
sb_int(sbuf *s, int64_t v)
{
    char b[24];
    if (v < 0) {
        SB_LIT(s, "null");
        return;
    }
    int n = snprintf(b, sizeof(b), "%" PRId64, v);
    sb_put(s, b, (size_t)n);
}

static void
sb_strs(sbuf *s, const menu_strs *l)
{
    SB_LIT(s, "[");
    for (size_t i = 0; i < l->n; i++) {
        sb_sep(s, i);
        sb_str(s, l->v[i]);
    }
    SB_LIT(s, "]");
}

/* The lists, each "[...]"; in every entry the keys in sorted order, as
 * menu_snapshot() adds them. */
static void
w_groups(sbuf *s, const menu_model *m)
{
    SB_LIT(s, "[");
    for (size_t i = 0; i < m->ngroups; i++) {
        const menu_group *g = &m->groups[i];
        sb_sep(s, i);
        SB_LIT(s, "{\"guid\":");
        sb_str(s, g->guid);
        SB_LIT(s, ",\"menu_guid\":");
        sb_str(s, g->menu_guid);
        SB_LIT(s, ",\"name\":");
        sb_str(s, g->name);
        SB_LIT(s, ",\"parent_guid\":");
        sb_str(s, g->parent_guid);
        SB_LIT(s, "}");
    }
    SB_LIT(s, "]");
}

static void
w_items(sbuf *s, const menu_model *m)
{
    SB_LIT(s, "[");
    for (size_t i = 0; i < m->nitems; i++) {
        const menu_item *it = &m->items[i];
        sb_sep(s, i);
        SB_LIT(s, "{\"groups\":");
        sb_strs(s, &it->groups);
        SB_LIT(s, ",\"guid\":");
        sb_str(s, it->guid);
        SB_LIT(s, ",\"modifiers\":");
        sb_strs(s, &it->modifiers);
        SB_LIT(s, ",\"name\":");
        sb_str(s, it->name);
        SB_LIT(s, ",\"plu\":");
        sb_str(s, it->plu);
        SB_LIT(s, ",\"price\":");
        sb_price(s, &it->price);
        SB_LIT(s, ",\"pricing_strategy\":");
        sb_str(s, it->pricing_strategy);
        SB_LIT(s, ",\"sku\":");
        sb_str(s, it->sku);
        SB_LIT(s, ",\"visibility\":");
        sb_strs(s, &it->visibility);
        SB_LIT(s, "}");
    }
    SB_LIT(s, "]");
}

static void
w_menus(sbuf *s, const menu_model *m)
{
    SB_LIT(s, "[");
    for (size_t i = 0; i < m->nmenus; i++) {
        sb_sep(s, i);
        SB_LIT(s, "{\"guid\":");
        sb_str(s, m->menus[i].guid);
        SB_LIT(s, ",\"name\":");
        sb_str(s, m->menus[i].name);
        SB_LIT(s, "}");
    }
    SB_LIT(s, "]");
}

static void
w_modgroups(sbuf *s, const menu_model *m)
{
    SB_LIT(s, "[");
    for (size_t i = 0; i < m->nmodgroups; i++) {
        const menu_modgroup *g = &m->modgroups[i];
        sb_sep(s, i);
        SB_LIT(s, "{\"guid\":");
        sb_str(s, g->guid);
        SB_LIT(s, ",\"max_selections\":");
        sb_int(s, g->max_sel);
        SB_LIT(s, ",\"min_selections\":");
        sb_int(s, g->min_sel);
        SB_LIT(s, ",\"name\":");
        sb_str(s, g->name);
        SB_LIT(s, ",\"options\":[");
        for (size_t k = 0; k < g->noptions; k++) {
            sb_sep(s, k);
            SB_LIT(s, "{\"guid\":");
            sb_str(s, g->options[k].guid);
            SB_LIT(s, ",\"name\":");
            sb_str(s, g->options[k].name);
            SB_LIT(s, ",\"price\":");
            sb_price(s, &g->options[k].price);
            SB_LIT(s, "}");
        }
        SB_LIT(s, "]}");
    }
    SB_LIT(s, "]");
}

/* The snapshot's keys in sorted order, the lists with their writers. */
static const struct {
    const char *key;
    void (*write)(sbuf *s, const menu_model *m);
} writers[] = {
    {"groups", w_groups},
    {"items", w_items},
    {"menus", w_menus},
    {"modifier_groups", w_modgroups},
};
#define NWRITERS (sizeof(writers) / sizeof(writers[0]))

static void
write_snapshot(sbuf *s, const menu_model *m)
{
    for (size_t i = 0; i < NWRITERS; i++) {
        sb_put(s, i ? "," : "{", 1);
        sb_str(s, writers[i].key);
        SB_LIT(s, ":");
        writers[i].write(s, m);
    }
    SB_LIT(s, ",\"version\":1}");
}

/* s's text with its NUL (not counted in *len), or NULL. */
static char *
sb_finish(sbuf *s, size_t *len)
{
    SB_LIT(s, "\0");
    if (s->failed) {
        free(s->p);
        return NULL;
    }
    if (len)
        *len = s->n - 1;
    return s->p;
}

char *
menu_snapshot_list(const menu_model *m, const char *key, size_t *len)
{
    sbuf s = {0};
    for (size_t i = 0; i < NWRITERS; i++) {
        if (strcmp(writers[i].key, key) == 0) {
            writers[i].write(&s, m);
            return sb_finish(&s, len);
        }
    }
    return NULL;
}

int
menu_snapshot_text(const menu_model *m, char **text, size_t *len, char sha256[MENU_SHA256_HEX])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    size_t n = 0;
    sbuf s = {0};
    write_snapshot(&s, m);
    *text = sb_finish(&s, &n);
    if (!*text)
        return -1;
    if (EVP_Digest(*text, n, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32) {
        free(*text);
        *text = NULL;
        return -1;
    }
    for (unsigned i = 0; i < mdlen; i++)
        snprintf(sha256 + 2 * i, 3, "%02x", md[i]);
    if (len)
        *len = n;
    return 0;
}
