/* testlib: a libcurl HTTP client and a web server on a free port, for tests of
 * web.c and of the daemons' handlers. */
#include <netinet/in.h>
#include <sys/socket.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cmocka.h>

#include "testlib.h"
#include "util.h"

/* ---- client ---- */

long
tl_raw_exchange(int port, const char *head, size_t body_len, const char *tail, char *out,
                size_t cap)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    char chunk[16384];
    size_t got = 0;
    long rc = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0 && cap > 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    memset(chunk, ' ', sizeof(chunk));
    if (send(fd, head, strlen(head), MSG_NOSIGNAL) != (ssize_t)strlen(head))
        rc = -errno;
    for (size_t sent = 0; rc == 0 && sent < body_len;) {
        size_t n = body_len - sent < sizeof(chunk) ? body_len - sent : sizeof(chunk);
        ssize_t w = send(fd, chunk, n, MSG_NOSIGNAL);
        if (w < 0)
            rc = -errno;
        else
            sent += (size_t)w;
    }
    if (rc == 0 && tail != NULL
        && send(fd, tail, strlen(tail), MSG_NOSIGNAL) != (ssize_t)strlen(tail))
        rc = -errno;
    while (rc == 0) {
        ssize_t n = recv(fd, out + got, cap - 1 - got, 0);
        if (n < 0)
            rc = -errno;
        else if (n == 0 || (got += (size_t)n) == cap - 1)
            break;
    }
    out[got] = '\0';
    close(fd);
    return rc < 0 ? rc : (long)got;
}

static size_t
on_body(char *p, size_t sz, size_t n, void *ud)
{
    tl_resp *r = ud;
    size_t len = sz * n, room = sizeof(r->body) - 1 - r->len;

    memcpy(r->body + r->len, p, len < room ? len : room);
    r->len += len < room ? len : room;
    r->body[r->len] = '\0';
    return len;
}

static size_t
on_header(char *p, size_t sz, size_t n, void *ud)
{
    tl_resp *r = ud;
    size_t len = sz * n, room = sizeof(r->headers) - 1 - r->hlen;

    if (len > 5 && strncmp(p, "HTTP/", 5) == 0) { /* a new response (after 100): start over */
        r->continued |= strncmp(p, "HTTP/1.1 100 ", 13) == 0;
        r->hlen = 0;
        room = sizeof(r->headers) - 1;
    }
    memcpy(r->headers + r->hlen, p, len < room ? len : room);
    r->hlen += len < room ? len : room;
    r->headers[r->hlen] = '\0';
    return len;
}

/* Body streamed with an unknown size, so curl sends it chunked. */
typedef struct upload {
    size_t left;
} upload;

static size_t
on_read(char *p, size_t sz, size_t n, void *ud)
{
    upload *u = ud;
    size_t len = sz * n < u->left ? sz * n : u->left;

    memset(p, 'x', len);
    u->left -= len;
    return len;
}

CURLcode
tl_http_on(CURL *h, int port, const char *method, const char *path, const char *const *hdrs,
           const char *body, size_t blen, size_t chunked, tl_resp *out)
{
    CURL *own = h == NULL ? curl_easy_init() : NULL;
    struct curl_slist *list = NULL;
    char url[512];
    upload up = {chunked};
    CURLcode rc;

    if (own != NULL)
        h = own;
    memset(out, 0, sizeof(*out));
    if (h == NULL)
        return CURLE_FAILED_INIT;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, out);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    else
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (chunked > 0) {
        list = curl_slist_append(list, "Transfer-Encoding: chunked");
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, &up);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    } else if (body != NULL) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
    }
    for (size_t i = 0; hdrs != NULL && hdrs[i] != NULL; i++)
        list = curl_slist_append(list, hdrs[i]);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
    rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &out->connects);
    curl_slist_free_all(list);
    curl_easy_cleanup(own);
    return rc;
}

long
tl_http(int port, const char *method, const char *path, const char *const *hdrs, const char *body,
        tl_resp *out)
{
    CURLcode rc =
        tl_http_on(NULL, port, method, path, hdrs, body, body != NULL ? strlen(body) : 0, 0, out);

    assert_int_equal(rc, CURLE_OK);
    return out->status;
}

const char *
tl_header(const tl_resp *r, const char *name, char *buf, size_t cap)
{
    size_t n = strlen(name);

    for (const char *l = r->headers; l != NULL && *l != '\0';
         l = strchr(l, '\n'), l = l ? l + 1 : l) {
        if (strncasecmp(l, name, n) == 0 && l[n] == ':') {
            const char *v = l + n + 1 + strspn(l + n + 1, " ");
            size_t len = strcspn(v, "\r\n");
            snprintf(buf, cap, "%.*s", (int)len, v);
            return buf;
        }
    }
    return NULL;
}

void
tl_assert_header(const tl_resp *r, const char *name, const char *want)
{
    char buf[256];
    const char *got = tl_header(r, name, buf, sizeof(buf));

    if (want == NULL) {
        assert_null(got);
        return;
    }
    assert_non_null(got);
    assert_string_equal(got, want);
}

json_object *
tl_body_json(const tl_resp *r)
{
    json_object *o = json_tokener_parse(r->body);

    assert_non_null(o);
    return o;
}

const char *
tl_jstr(json_object *o, const char *a, const char *b)
{
    json_object *v = NULL;

    assert_true(json_object_object_get_ex(o, a, &v));
    if (b != NULL)
        assert_true(json_object_object_get_ex(v, b, &v));
    return json_object_get_string(v);
}

/* ---- server ---- */

void
tl_server_start(tl_server *f, const tl_server_cfg *cfg)
{
    char err[256] = "";

    memset(f, 0, sizeof(*f));
    f->reg = metrics_registry_new();
    assert_non_null(f->reg);
    web_config wc = {.service = cfg->service != NULL ? cfg->service : "test",
                     .threads = cfg->threads > 0 ? cfg->threads : 8,
                     .internal_token = cfg->token,
                     .metrics = f->reg};
    f->srv = web_server_new(&wc);
    assert_non_null(f->srv);
    if (cfg->nroutes > 0)
        assert_int_equal(web_server_add_routes(f->srv, cfg->routes, cfg->nroutes), 0);
    if (cfg->nws > 0)
        assert_int_equal(web_server_add_ws(f->srv, cfg->ws, cfg->nws), 0);
    if (web_server_start(f->srv, err, sizeof(err)) != 0)
        fail_msg("web_server_start: %s", err);
    f->port = web_server_port(f->srv);
    assert_true(f->port > 0);
    web_server_set_ready(f->srv, cfg->ready);
}

void
tl_server_stop(tl_server *f)
{
    web_server_free(f->srv);
    metrics_registry_free(f->reg);
    f->srv = NULL;
    f->reg = NULL;
}

bool
tl_metrics_wait(metrics_registry *reg, const char *want, long ms)
{
    for (int64_t end = tl_deadline(ms); util_mono_ns() < end; tl_pause_ms(5)) {
        char *text = NULL;
        size_t len = 0;
        assert_int_equal(metrics_render(reg, &text, &len), 0);
        bool found = strstr(text, want) != NULL;
        if (!found && util_mono_ns() + 10000000 >= end)
            fprintf(stderr, "metrics:\n%s\n", text);
        free(text);
        if (found)
            return true;
    }
    return false;
}
