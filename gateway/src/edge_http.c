/* edge_http: see edge_http.h. */
#include "edge_http.h"

#include <string.h>
#include <strings.h>

#include "upclient_internal.h"

size_t
eh_head_end(const char *buf, size_t len)
{
    const char *p = buf, *end = buf + len;
    while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        p++;
        if (p < end && *p == '\n')
            return (size_t)(p + 1 - buf);
        if (p + 1 < end && p[0] == '\r' && p[1] == '\n')
            return (size_t)(p + 2 - buf);
        if (p >= end)
            break;
    }
    return 0;
}

/* The line at *at, which must end in CR LF: NUL-terminated in place, *at
 * moved past it. NULL when it does not. */
static char *
eh_line(char *buf, size_t head_len, size_t *at)
{
    char *s = buf + *at, *nl = memchr(s, '\n', head_len - *at);
    if (nl == NULL || nl == s || nl[-1] != '\r')
        return NULL;
    nl[-1] = '\0';
    *at = (size_t)(nl + 1 - buf);
    return s;
}

static bool
eh_visible(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
            return false;
    return true;
}

static bool
eh_field_value(const char *s)
{
    for (; *s; s++)
        if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
            return false;
    return true;
}

/* One "Name: value" line into ri; false when the edge should not take it. */
static bool
eh_header(char *line, struct mg_request_info *ri, int *lengths)
{
    size_t n = 0;
    while (upc__tchar((unsigned char)line[n]))
        n++;
    if (n == 0 || line[n] != ':' || ri->num_headers >= MG_MAX_HEADERS - 1)
        return false;
    line[n] = '\0';
    char *v = line + n + 1;
    v += strspn(v, " \t");
    size_t vl = strlen(v);
    while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
        v[--vl] = '\0';
    if (!eh_field_value(v))
        return false;
    if (strcasecmp(line, "Transfer-Encoding") == 0 || strcasecmp(line, "Upgrade") == 0
        || strcasecmp(line, "Expect") == 0)
        return false;
    if (strcasecmp(line, "Content-Length") == 0) {
        size_t d = strspn(v, "0123456789");
        if (d == 0 || d > 18 || v[d] != '\0' || ++*lengths > 1)
            return false;
        long long cl = 0;
        for (size_t i = 0; i < d; i++)
            cl = cl * 10 + (v[i] - '0');
        ri->content_length = cl;
    }
    ri->http_headers[ri->num_headers].name = line;
    ri->http_headers[ri->num_headers].value = v;
    ri->num_headers++;
    return true;
}

bool
eh_parse(char *buf, size_t head_len, struct mg_request_info *ri)
{
    size_t at = 0;
    int lengths = 0;
    char *line = eh_line(buf, head_len, &at);
    if (line == NULL)
        return false;
    /* METHOD SP target SP HTTP/1.x */
    char *sp1 = strchr(line, ' ');
    if (sp1 == NULL || sp1 == line || (size_t)(sp1 - line) > UPC_MAX_METHOD)
        return false;
    *sp1 = '\0';
    char *target = sp1 + 1, *sp2 = strchr(target, ' ');
    if (sp2 == NULL || !upc__token(line, strlen(line)))
        return false;
    *sp2 = '\0';
    const char *version = sp2 + 1;
    if (target[0] != '/' || !eh_visible(target)
        || (strcmp(version, "HTTP/1.1") != 0 && strcmp(version, "HTTP/1.0") != 0))
        return false;
    ri->request_method = line;
    ri->http_version = version + 5;
    ri->request_uri = ri->local_uri = ri->local_uri_raw = target;
    char *q = strchr(target, '?');
    ri->query_string = NULL;
    if (q != NULL) {
        *q = '\0';
        ri->query_string = q + 1;
    }
    ri->num_headers = 0;
    ri->content_length = 0;
    for (;;) {
        if (at + 2 == head_len && buf[at] == '\r' && buf[at + 1] == '\n')
            return true;
        if ((line = eh_line(buf, head_len, &at)) == NULL || !eh_header(line, ri, &lengths))
            return false;
    }
}

bool
eh_path_plain(const char *path)
{
    static const char ok[] = "-._~!$&'()*+,;=:@/";
    if (path[0] != '/')
        return false;
    for (const char *p = path; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
              || (c != '\0' && strchr(ok, c) != NULL)))
            return false;
        if (c == '/') {
            /* the segment that follows: not empty, ".", or ".." */
            const char *s = p + 1;
            size_t n = strcspn(s, "/");
            if ((n == 0 && s[0] == '/') || (n == 1 && s[0] == '.')
                || (n == 2 && s[0] == '.' && s[1] == '.'))
                return false;
        }
    }
    return true;
}
