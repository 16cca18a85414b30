/* integ: the rules of an integration request; see integ.h. */
#include "integ.h"

#include <string.h>

#include "b64.h"

const char *const integ_statuses[] = {"active", "paused", "error", "disabled", NULL};

typedef enum { K_UUID, K_TEXT, K_STATUS, K_TOTP } kind;

/* One row per field: its name, form, bounds and what a request may do with
 * it. */
static const struct {
    const char *name;
    kind kind;
    size_t maxlen;
    bool required; /* on create */
    bool fixed;    /* cannot change after create */
    bool clearable;
} fields[INTEG_NFIELDS] = {
    [INTEG_CLIENT_ID] = {"client_id", K_UUID, 36, true, true, false},
    [INTEG_RESTAURANT_ID] = {"restaurant_id", K_TEXT, 127, true, true, false},
    [INTEG_TOAST_GUID] = {"toast_guid", K_UUID, 36, true, true, false},
    [INTEG_NAME] = {"name", K_TEXT, 255, true, false, false},
    [INTEG_STATUS] = {"status", K_STATUS, 16, false, false, false},
    [INTEG_API_CLIENT_ID] = {"api_client_id", K_TEXT, 255, true, false, false},
    [INTEG_API_CLIENT_SECRET] = {"api_client_secret", K_TEXT, INTEG_SECRET_MAX, true, false, false},
    [INTEG_USERNAME] = {"username", K_TEXT, 255, false, false, true},
    [INTEG_PASSWORD] = {"password", K_TEXT, INTEG_SECRET_MAX, false, false, true},
    [INTEG_TOTP_SECRET] = {"totp_secret", K_TOTP, 120, false, false, true},
};

const char *
integ_field_name(integ_field f)
{
    return f < INTEG_NFIELDS ? fields[f].name : "?";
}

bool
integ_field_secret(integ_field f)
{
    return f == INTEG_API_CLIENT_SECRET || f == INTEG_PASSWORD || f == INTEG_TOTP_SECRET;
}

bool
integ_status_known(const char *s)
{
    for (size_t i = 0; integ_statuses[i]; i++)
        if (strcmp(s, integ_statuses[i]) == 0)
            return true;
    return false;
}

/* A TOTP secret as authenticator apps show it: base32 of at least 10 bytes
 * (RFC 4226 asks for 128 bits; some issuers use 80). */
static bool
totp_secret_ok(const char *s)
{
    unsigned char key[128];
    size_t n = 0;
    bool ok = b64_base32_decode(s, key, sizeof(key), &n) == 0 && n >= 10;
    memset(key, 0, sizeof(key));
    return ok;
}

static js_status
parse_field(json_object *body, integ_field f, bool required, integ_input *out, js_err *err)
{
    const char *name = fields[f].name;
    js_status rc;
    switch (fields[f].kind) {
    case K_UUID:
        rc = js_get_uuid(body, name, required, &out->value[f], err);
        break;
    case K_STATUS:
        rc = js_get_enum(body, name, required, integ_statuses, &out->value[f], err);
        break;
    default:
        rc = js_get_string(body, name, required, 1, fields[f].maxlen, &out->value[f], err);
        if (rc == JS_OK && fields[f].kind == K_TOTP && !totp_secret_ok(out->value[f]))
            return js_fail(err, name,
                           "field '%s': must be a base32 secret of at least 16 "
                           "characters (A-Z, 2-7)",
                           name);
        break;
    }
    return rc;
}

js_status
integ_parse(json_object *body, bool create, integ_input *out, js_err *err)
{
    const char *known[INTEG_NFIELDS + 1];
    size_t given = 0;
    memset(out, 0, sizeof(*out));
    if (js_require_object(body, err) != JS_OK)
        return JS_INVALID;
    for (int f = 0; f < INTEG_NFIELDS; f++)
        known[f] = fields[f].name;
    known[INTEG_NFIELDS] = NULL;
    if (js_reject_unknown(body, known, err) != JS_OK)
        return JS_INVALID;
    for (int f = 0; f < INTEG_NFIELDS; f++) {
        json_object *v = NULL;
        bool present = json_object_object_get_ex(body, fields[f].name, &v);
        if (!create && present && fields[f].fixed)
            return js_fail(err, fields[f].name,
                           "field '%s': cannot be changed; create a new "
                           "integration instead",
                           fields[f].name);
        if (!create && present && !v) {
            if (!fields[f].clearable)
                return js_fail(err, fields[f].name, "field '%s': cannot be null", fields[f].name);
            out->has[f] = true; /* cleared */
            given++;
            continue;
        }
        js_status rc = parse_field(body, (integ_field)f, create && fields[f].required, out, err);
        if (rc == JS_INVALID)
            return rc;
        if (rc == JS_OK) {
            out->has[f] = true;
            given++;
        }
    }
    if (create && !out->has[INTEG_STATUS]) {
        out->value[INTEG_STATUS] = integ_statuses[0];
        out->has[INTEG_STATUS] = true;
    }
    if (!create && given == 0)
        return js_fail(err, "",
                       "nothing to change: give at least one of name, status or a "
                       "credential");
    return JS_OK;
}
