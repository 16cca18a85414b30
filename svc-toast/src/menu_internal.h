/* menu_internal: the model builder shared by menu.c and menu_parse.c. */
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

#endif
