/* What abus.c and abus_in.c share. */
#ifndef AUTOMATION_ABUS_INTERNAL_H
#define AUTOMATION_ABUS_INTERNAL_H

#include "abus.h"

#define ABUS_MAX_PUBLISHERS 16

struct abus_route;
struct abus_pool;

/* What a subscription's handler is given: its abus and its route. */
typedef struct abus_binding {
    abus *ab;
    const struct abus_route *route;
} abus_binding;

#define ABUS_MAX_ROUTES 8

struct abus {
    svc *s;
    bus *b;
    struct abus_out *out;
    struct abus_pool *pool;
    abus_binding bind[ABUS_MAX_ROUTES];
};

#endif
