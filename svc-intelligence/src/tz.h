/* tz: IANA time-zone names (clients' timezone). Prefix tz_. */
#ifndef INTEL_TZ_H
#define INTEL_TZ_H

#include <stdbool.h>

/* True when name is an IANA zone of the system's time-zone database
 * ($TZDIR, else /usr/share/zoneinfo): "Area/Location" parts of letters,
 * digits, '_', '-' and '+', and a TZif file by that name. "UTC" is always
 * valid, even without the database. */
bool tz_valid(const char *name);

#endif
