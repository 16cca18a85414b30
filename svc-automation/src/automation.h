/* The daemon's state, shared by its adapters (app_data of the app). */
#ifndef AUTOMATION_H
#define AUTOMATION_H

#include "app.h"
#include "live.h"

/* The live-update registry of the daemon whose app is a (web_app or
 * web_ws_app give the app). */
live *automation_live(const void *a);

#endif
