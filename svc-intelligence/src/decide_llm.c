/* decide_llm: rephrasing a decision's reasoning; see decide_llm.h. */
#include "decide_llm.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "json.h"
#include "log.h"

#define ANSWER_MAX (64 * 1024) /* bytes of the endpoint's answer */
#define TEXT_MAX   4000        /* characters of a rephrased reasoning */

/* The key is read here, not through the configuration table: cfg_log
 * would show a non-secret variable's value, and a secret one is required in
 * production, where rephrasing is optional. */
static pthread_once_t once = PTHREAD_ONCE_INIT;
static char api_key[512];

static void
init_once(void)
{
    const char *k = getenv("LLM_API_KEY"), *file = getenv("LLM_API_KEY_FILE");
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (k && k[0]) {
        snprintf(api_key, sizeof(api_key), "%s", k);
    } else if (file && file[0]) {
        FILE *f = fopen(file, "r");
        size_t n = f ? fread(api_key, 1, sizeof(api_key) - 1, f) : 0;
        if (f)
            fclose(f);
        api_key[n] = '\0';
        while (n > 0 && (api_key[n - 1] == '\n' || api_key[n - 1] == '\r'))
            api_key[--n] = '\0';
        if (!f)
            log_msg(LOGL_WARN, NULL, "LLM_API_KEY_FILE cannot be read: no key sent");
    }
}

static const char *const instructions =
    "Rephrase this explanation of a scheduling decision for a restaurant's operations team in "
    "plain, friendly words. Keep every date, time, time zone, number and fact exactly as given "
    "and add nothing new. Answer with the rephrased text only.";

typedef struct answer {
    char *buf;
    size_t len;
    bool too_big;
} answer;

static size_t
on_data(char *p, size_t size, size_t n, void *ud)
{
    answer *a = ud;
    size_t k = size * n;
    if (a->len + k > ANSWER_MAX) {
        a->too_big = true;
        return 0; /* stops the transfer */
    }
    memcpy(a->buf + a->len, p, k);
    a->len += k;
    return k;
}

/* The request's body: a new object. */
static json_object *
chat_body(const char *model, const char *text)
{
    json_object *b = json_object_new_object(), *msgs = json_object_new_array();
    json_object *sys = json_object_new_object(), *user = json_object_new_object();
    json_object_object_add(sys, "role", json_object_new_string("system"));
    json_object_object_add(sys, "content", json_object_new_string(instructions));
    json_object_object_add(user, "role", json_object_new_string("user"));
    json_object_object_add(user, "content", json_object_new_string(text));
    json_object_array_add(msgs, sys);
    json_object_array_add(msgs, user);
    json_object_object_add(b, "model", json_object_new_string(model));
    json_object_object_add(b, "messages", msgs);
    json_object_object_add(b, "temperature", json_object_new_double(0));
    return b;
}

/* choices[0].message.content of an answer, or NULL. */
static const char *
content_of(json_object *o)
{
    json_object *choices = NULL, *msg = NULL, *content = NULL;
    if (!json_object_object_get_ex(o, "choices", &choices)
        || !json_object_is_type(choices, json_type_array) || json_object_array_length(choices) < 1
        || !json_object_object_get_ex(json_object_array_get_idx(choices, 0), "message", &msg)
        || !json_object_object_get_ex(msg, "content", &content)
        || !json_object_is_type(content, json_type_string))
        return NULL;
    size_t n = strlen(json_object_get_string(content));
    return n > 0 && n <= TEXT_MAX ? json_object_get_string(content) : NULL;
}

/* POST body to url; the answer's JSON, or NULL (why in *why). */
static json_object *
post(const char *url, const char *key, long timeout_ms, const char *body, const char **why)
{
    answer a = {.buf = malloc(ANSWER_MAX)};
    char auth[1024];
    long code = 0;
    json_object *o = NULL;
    js_err err;
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    CURL *c = curl_easy_init();
    *why = "cannot start a request";
    if (!c || !a.buf || !h)
        goto out;
    if (key && key[0]
        && snprintf(auth, sizeof(auth), "Authorization: Bearer %s", key) < (int)sizeof(auth))
        h = curl_slist_append(h, auth);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    if (rc != CURLE_OK)
        *why = a.too_big ? "answer too large" : curl_easy_strerror(rc);
    else if (code != 200)
        *why = "the endpoint answered an error status";
    else if (js_parse(a.buf, a.len, &o, &err) != JS_OK)
        *why = "the answer is not JSON";
    memset(auth, 0, sizeof(auth));
out:
    curl_slist_free_all(h);
    if (c)
        curl_easy_cleanup(c);
    free(a.buf);
    return o;
}

void
decide_llm_rephrase(const cfg *c, json_object *resp)
{
    const char *base = c ? cfg_str(c, "LLM_BASE_URL") : NULL;
    json_object *reasoning = NULL;
    if (!base || !base[0] || !json_object_object_get_ex(resp, "reasoning", &reasoning))
        return;
    char url[1024];
    size_t n = strlen(base);
    pthread_once(&once, init_once);
    if (snprintf(url, sizeof(url), "%.*s/chat/completions",
                 (int)(n && base[n - 1] == '/' ? n - 1 : n), base)
        >= (int)sizeof(url))
        return;
    json_object *body = chat_body(cfg_str(c, "LLM_MODEL"), json_object_get_string(reasoning));
    const char *why = NULL;
    json_object *ans = post(url, api_key, cfg_int(c, "LLM_TIMEOUT_MS"), js_text(body, NULL), &why);
    const char *text = ans ? content_of(ans) : NULL;
    if (text) {
        json_object_object_add(resp, "reasoning_deterministic", json_object_get(reasoning));
        json_object_object_add(resp, "reasoning", json_object_new_string(text));
    } else {
        log_msg(LOGL_WARN, LOG_FIELDS(LF_STR("error", ans ? "no text in the answer" : why)),
                "reasoning not rephrased: the deterministic text stays");
    }
    json_object_put(ans);
    json_object_put(body);
}
