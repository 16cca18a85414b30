/* syshealth_http: every service's GET /health/detailed at once over one curl
 * multi handle; see syshealth.h. An error names what went wrong (curl's own
 * words, never the address asked), so the report may be shown to any
 * operator. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "json.h"
#include "syshealth.h"

#define BODY_MAX (64 * 1024) /* a health report is a few hundred bytes */

typedef struct probe {
    CURL *h;
    struct curl_slist *hdrs;
    char body[BODY_MAX + 1];
    size_t len;
    bool too_big;
    CURLcode result;
    bool done;
} probe;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

/* curl_global_init is not thread-safe: once, before any handle. */
static void
curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t
on_body(char *data, size_t size, size_t n, void *ud)
{
    probe *p = ud;
    size_t len = size * n;
    if (p->len + len > BODY_MAX) {
        p->too_big = true;
        return 0; /* aborts the transfer */
    }
    memcpy(p->body + p->len, data, len);
    p->len += len;
    p->body[p->len] = '\0';
    return len;
}

static bool
probe_start(CURLM *m, probe *p, const char *base, const syshealth_cfg *conf)
{
    char url[SYSHEALTH_URL_MAX + 32], tok[300];
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    snprintf(url, sizeof(url), "%.*s/health/detailed", (int)n, base);
    p->h = curl_easy_init();
    if (!p->h)
        return false;
    if (conf->token[0]) {
        snprintf(tok, sizeof(tok), "X-Internal-Token: %s", conf->token);
        p->hdrs = curl_slist_append(NULL, tok);
    }
    curl_easy_setopt(p->h, CURLOPT_URL, url);
    curl_easy_setopt(p->h, CURLOPT_HTTPHEADER, p->hdrs);
    curl_easy_setopt(p->h, CURLOPT_TIMEOUT_MS, (long)conf->timeout_ms);
    curl_easy_setopt(p->h, CURLOPT_CONNECTTIMEOUT_MS, (long)conf->timeout_ms);
    curl_easy_setopt(p->h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(p->h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(p->h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(p->h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(p->h, CURLOPT_WRITEDATA, p);
    curl_easy_setopt(p->h, CURLOPT_PRIVATE, p);
    return curl_multi_add_handle(m, p->h) == CURLM_OK;
}

static void
run_all(CURLM *m, int timeout_ms)
{
    int running = 1;
    while (running > 0) {
        if (curl_multi_perform(m, &running) != CURLM_OK)
            break;
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left))) {
            probe *p = NULL;
            if (msg->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&p);
            p->result = msg->data.result;
            p->done = true;
        }
        if (running > 0 && curl_multi_poll(m, NULL, 0, timeout_ms, NULL) != CURLM_OK)
            break;
    }
}

static bool
status_known(const char *s)
{
    return s
           && (strcmp(s, "healthy") == 0 || strcmp(s, "degraded") == 0
               || strcmp(s, "unhealthy") == 0);
}

static json_object *
down(json_object *o, const char *why)
{
    json_object_object_add(o, "status", json_object_new_string("down"));
    json_object_object_add(o, "error", json_object_new_string(why));
    return o;
}

/* One service's entry from its finished probe. */
static json_object *
probe_render(probe *p)
{
    json_object *o = json_object_new_object(), *doc = NULL, *st = NULL;
    long code = 0;
    curl_off_t us = 0;
    js_err je;
    if (!p->h)
        return down(o, "could not start the request");
    curl_easy_getinfo(p->h, CURLINFO_TOTAL_TIME_T, &us);
    json_object_object_add(o, "latency_ms", json_object_new_int64((int64_t)(us / 1000)));
    if (!p->done || p->result != CURLE_OK)
        return down(o, p->too_big ? "answer too large"
                       : !p->done ? "no answer in time"
                                  : curl_easy_strerror(p->result));
    curl_easy_getinfo(p->h, CURLINFO_RESPONSE_CODE, &code);
    json_object_object_add(o, "http_status", json_object_new_int((int)code));
    if (js_parse(p->body, p->len, &doc, &je) != JS_OK || !json_object_is_type(doc, json_type_object)
        || !json_object_object_get_ex(doc, "status", &st)
        || !status_known(json_object_get_string(st))) {
        json_object_put(doc);
        return down(o, "the answer is not a health report");
    }
    json_object_object_add(o, "status", json_object_get(st));
    json_object_put(doc);
    return o;
}

json_object *
syshealth_services(const syshealth_cfg *conf)
{
    static probe none;
    probe *p = calloc(SH_NSERVICES, sizeof(*p));
    json_object *out = json_object_new_object();
    CURLM *m = NULL;
    pthread_once(&curl_once, curl_init);
    if (p && curl_init_rc == CURLE_OK && (m = curl_multi_init())) {
        for (int i = 0; i < SH_NSERVICES; i++)
            if (conf->url[i][0])
                probe_start(m, &p[i], conf->url[i], conf);
        run_all(m, conf->timeout_ms);
    }
    for (int i = 0; i < SH_NSERVICES; i++) {
        json_object *o;
        if (!conf->url[i][0]) {
            o = json_object_new_object();
            json_object_object_add(o, "status", json_object_new_string("not_configured"));
        } else {
            o = probe_render(p ? &p[i] : &none);
        }
        json_object_object_add(out, syshealth_service_names[i], o);
    }
    for (int i = 0; p && i < SH_NSERVICES; i++) {
        if (p[i].h) {
            if (m)
                curl_multi_remove_handle(m, p[i].h);
            curl_easy_cleanup(p[i].h);
        }
        curl_slist_free_all(p[i].hdrs);
    }
    curl_multi_cleanup(m);
    free(p);
    return out;
}
