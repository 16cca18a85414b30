/* menu_internal: the model builder shared by menu.c, menu_parse.c (Toast's
 * document) and menu_snap_read.c (the snapshot's text), and menu_scan.c's
 * cursor over JSON text. */
#ifndef TOAST_MENU_INTERNAL_H
#define TOAST_MENU_INTERNAL_H

#include "menu.h"

typedef struct mb {
    menu_model *m;
    size_t cmenus, cgroups, citems, cmodgroups; /* room in m's arrays */
    char *err;
    size_t errlen;
    char where[128]; /* the entity being read, for messages */
} mb;

/* Start building: a new empty model in b->m, failures into err. 0 or -1. */
int mb_start(mb *b, menu_model **out, char *err, size_t errlen);
/* Finish building after rc (0 when the input was read): mb_finish, then *out
 * is the model (0), or the model is freed (-1). */
int mb_end(mb *b, int rc, bool merge_twice_listed, menu_model **out);
/* Record the first failure in err. Returns -1. */
int mb_fail(mb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* strdup that records a failure (NULL stays NULL). */
char *mb_dup(mb *b, const char *s);
/* One more zeroed entity at the end of its array, or NULL. */
menu_menu *mb_menu(mb *b);
menu_group *mb_group(mb *b);
menu_item *mb_item(mb *b);
menu_modgroup *mb_modgroup(mb *b);
int mb_strs_add(mb *b, menu_strs *l, const char *s);
/* Fields of o, naming b->where in failures. */
int mb_str(mb *b, json_object *o, const char *key, bool required, size_t max, const char **out);
int mb_price(mb *b, json_object *o, const char *key, menu_price *out);
int mb_int(mb *b, json_object *o, const char *key, int64_t *out);
/* Sort everything by guid and make the lists distinct; an item or group
 * listed twice is merged when merge_twice_listed, an error otherwise. */
int mb_finish(mb *b, bool merge_twice_listed);

/* ---- menu_scan.c: a cursor over JSON text (the snapshot's reader) ---- */

#define MS_KEY_MAX 32 /* bytes of a key with its NUL: longer ones are none of ours */

typedef struct mscan {
    const char *p, *start, *end; /* the cursor in [start, end) */
    mb *b;                       /* where failures are recorded */
    char *tmp;                   /* the last string read, decoded, NUL-terminated */
    size_t tmplen, tmpcap;
} mscan;

/* Record a syntax error at the cursor ("not valid JSON at byte n: what"). -1. */
int ms_fail(mscan *r, const char *what);
/* The next character after whitespace (the cursor left on it), 0 at the end. */
char ms_peek(mscan *r);
/* Take c after whitespace, or fail. 0 or -1. */
int ms_expect(mscan *r, char c);
/* Take null when it comes: 1 taken, 0 something else comes, -1. */
int ms_null(mscan *r);
/* The string at the cursor, decoded into r->tmp (r->tmplen bytes; a \u0000
 * is refused). 0 or -1. */
int ms_string(mscan *r);
/* The number at the cursor: *is_int and *i without fraction or exponent,
 * else *d. 0 or -1 (also out of range). */
int ms_number(mscan *r, bool *is_int, int64_t *i, double *d);
/* Skip the value at the cursor, nested at most 32 deep. 0 or -1. */
int ms_skip(mscan *r, int depth);
/* The next member of an object whose '{' was taken (*first true before the
 * first): 1 with its key in key ("" when longer than MS_KEY_MAX) and the
 * cursor at its value, 0 once the '}' is taken, -1. */
int ms_member(mscan *r, bool *first, char key[MS_KEY_MAX]);
/* The next element of an array whose '[' was taken: 1 with the cursor at it,
 * 0 once the ']' is taken, -1. */
int ms_element(mscan *r, bool *first);

#endif
