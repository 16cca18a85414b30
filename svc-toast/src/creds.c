/* creds: secrets sealed with Fernet; see creds.h. toast_integration_load and
 * toast_integration_wipe (toast.h) live here too: they are the one place where
 * a stored integration's secrets become plain text. */
#include "creds.h"

#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "integ.h"
#include "log.h"
#include "store.h"
#include "toast.h"
#include "util.h"

void
creds_wipe(void *p, size_t n)
{
    OPENSSL_cleanse(p, n);
}

int
creds_seal(const fernet_keys *keys, const char *plain, char *out, size_t cap)
{
    size_t n = strlen(plain);
    if (n > INTEG_SECRET_MAX || fernet_token_len(n) >= cap)
        return -1;
    fernet_status st = fernet_encrypt(keys, plain, n, (int64_t)time(NULL), NULL, out, cap);
    if (st != FERNET_OK) {
        log_error("encrypting a credential failed: %s", fernet_status_name(st));
        return -1;
    }
    return 0;
}

int
creds_open(const fernet_keys *keys, const char *token, char *out, size_t cap)
{
    size_t len = 0;
    fernet_status st =
        fernet_decrypt(keys, token, (int64_t)time(NULL), 0, (unsigned char *)out, cap, &len, NULL);
    if (st != FERNET_OK) {
        /* Only the reason: the token is ciphertext, but it is still a secret. */
        log_error("decrypting a stored credential failed (%s): is ENCRYPTION_KEYS missing the "
                  "key it was written with?",
                  fernet_status_name(st));
        out[0] = '\0';
        return -1;
    }
    return 0;
}

int
creds_reseal(const fernet_keys *keys, const char *token, char *out, size_t cap)
{
    char plain[INTEG_SECRET_MAX + 1];
    int rc = -1;
    if (creds_open(keys, token, plain, sizeof(plain)) != 0)
        goto out;
    rc = creds_seal(keys, plain, out, cap);
out:
    creds_wipe(plain, sizeof(plain));
    return rc;
}

void
toast_integration_wipe(toast_integration *ti)
{
    if (!ti)
        return;
    creds_wipe(ti->api_client_secret, sizeof(ti->api_client_secret));
    creds_wipe(ti->password, sizeof(ti->password));
    creds_wipe(ti->totp_secret, sizeof(ti->totp_secret));
}

/* Decrypt one stored token (NULL or "" when the secret is not set). */
static int
open_opt(const fernet_keys *keys, const char *token, char *out, size_t cap, bool *has)
{
    out[0] = '\0';
    *has = token && token[0];
    return *has ? creds_open(keys, token, out, cap) : 0;
}

int
toast_integration_load(toast *t, const char *id, toast_integration *ti)
{
    store_integ_row row;
    int rc = -1;
    memset(ti, 0, sizeof(*ti));
    store_status st = store_integ_load(toast_store(t), id, &row);
    if (st == ST_NOT_FOUND)
        return 1;
    if (st != ST_OK)
        return -1;
    util_strlcpy(ti->id, row.id, sizeof(ti->id));
    util_strlcpy(ti->client_id, row.client_id, sizeof(ti->client_id));
    util_strlcpy(ti->restaurant_id, row.restaurant_id, sizeof(ti->restaurant_id));
    util_strlcpy(ti->toast_guid, row.toast_guid, sizeof(ti->toast_guid));
    util_strlcpy(ti->name, row.name, sizeof(ti->name));
    util_strlcpy(ti->status, row.status, sizeof(ti->status));
    util_strlcpy(ti->api_client_id, row.api_client_id, sizeof(ti->api_client_id));
    util_strlcpy(ti->username, row.username, sizeof(ti->username));
    if (open_opt(&t->keys, row.enc[0], ti->api_client_secret, sizeof(ti->api_client_secret),
                 &ti->has_api_client_secret)
            != 0
        || open_opt(&t->keys, row.enc[1], ti->password, sizeof(ti->password), &ti->has_password)
               != 0
        || open_opt(&t->keys, row.enc[2], ti->totp_secret, sizeof(ti->totp_secret), &ti->has_totp)
               != 0) {
        log_msg(LOGL_ERROR, LOG_FIELDS(LF_STR("integration_id", id)),
                "the integration's credentials could not be decrypted");
        toast_integration_wipe(ti);
        goto out;
    }
    rc = 0;
out:
    creds_wipe(&row, sizeof(row));
    return rc;
}
