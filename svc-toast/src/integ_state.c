/* integ_state: the accessors of the daemon's state; see integ_state.h. */
#include "integ_state.h"

toast *
toast_of(const void *a)
{
    toast_svc *s = app_data(a);
    return s ? &s->t : NULL;
}

store *
toast_store(const toast *t)
{
    return ((const toast_svc *)t)->store;
}

const health_cfg *
health_cfg_of(const toast *t)
{
    return &((const toast_svc *)t)->health;
}
