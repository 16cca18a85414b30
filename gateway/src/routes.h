/* routes: the gateway's route table. */
#ifndef GATEWAY_ROUTES_H
#define GATEWAY_ROUTES_H

#include <stddef.h>

#include "web.h"

extern const web_route gateway_routes[];
extern const size_t gateway_nroutes;

#endif
