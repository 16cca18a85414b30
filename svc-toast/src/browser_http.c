/* browser_http: one JSON exchange with the browser-automation service over
 * libcurl; see browser.h. Answers are bounded (BODY_MAX) and never logged:
 * the request carries credentials. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "browser.h"
#include "json.h"

#define BODY_MAX (1024 * 1024)

typedef struct buf {
    char *p;
    size_t n;
} buf;

static size_t
on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    buf *b = ud;
    size_t len = size * nmemb;
    if (b->n + len > BODY_MAX)
        return 0; /* stops the transfer: CURLE_WRITE_ERROR */
    char *p = realloc(b->p, b->n + len + 1);
    if (!p)
        return 0;
    memcpy(p + b->n, data, len);
    b->p = p;
    b->n += len;
    p[b->n] = '\0';
    return len;
}

int
browser_http(const char *method, const char *url, const char *body, long timeout_ms, long *status,
             json_object **out, char *err, size_t errlen)
{
    buf b = {NULL, 0};
    struct curl_slist *hdr = NULL;
    int rc = -1;
    js_err je;
    *out = NULL;
    *status = 0;
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(err, errlen, "could not start an HTTP client");
        return -1;
    }
    hdr = curl_slist_append(hdr, "Content-Type: application/json");
    hdr = curl_slist_append(hdr, "Accept: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        snprintf(err, errlen, "%s %s: %s", method, url, curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    if (b.n && js_parse(b.p, b.n, out, &je) != JS_OK)
        *out = NULL;
    rc = 0;
out:
    free(b.p);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(c);
    return rc;
}
