/* docs: /openapi.json and Swagger UI under /docs (see docs.h). */
#include "docs.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "log.h"

#define DOCS_MAX_FILE (4u * 1024 * 1024) /* swagger-ui-bundle.js is 1.7 MB */
#define DOCS_MAX_NAME 128

/* Ours, not the package's: the package's index.html and initializer point at
 * a demo API. BaseLayout has no URL bar, so the page cannot be made to load
 * another description. */
static const char docs_index[] =
    "<!DOCTYPE html>\n"
    "<html lang=\"en\">\n"
    "<head>\n"
    "<meta charset=\"utf-8\">\n"
    "<title>Brain API</title>\n"
    "<link rel=\"stylesheet\" href=\"/docs/swagger-ui.css\">\n"
    "<link rel=\"icon\" type=\"image/png\" href=\"/docs/favicon-32x32.png\">\n"
    "</head>\n"
    "<body>\n"
    "<div id=\"swagger-ui\"></div>\n"
    "<script src=\"/docs/swagger-ui-bundle.js\"></script>\n"
    "<script src=\"/docs/swagger-initializer.js\"></script>\n"
    "</body>\n"
    "</html>\n";

static const char docs_initializer[] = "window.onload = function () {\n"
                                       "  window.ui = SwaggerUIBundle({\n"
                                       "    url: \"/openapi.json\",\n"
                                       "    dom_id: \"#swagger-ui\",\n"
                                       "    deepLinking: true,\n"
                                       "    presets: [SwaggerUIBundle.presets.apis],\n"
                                       "    layout: \"BaseLayout\"\n"
                                       "  });\n"
                                       "};\n";

static const struct {
    const char *ext;
    const char *type;
} docs_types[] = {
    {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},   {".png", "image/png"},
    {".txt", "text/plain; charset=utf-8"},
};

static char *docs_openapi; /* the description's text, NULL when unavailable */
static size_t docs_openapi_len;
static int docs_dirfd = -1;

/* Read the regular file open on fd (at most DOCS_MAX_FILE bytes) into a new
 * buffer. Returns 0, -1 (I/O, out of memory) or 1 (not a regular file with
 * one link, or too large). */
static int
docs_read_fd(int fd, char **out, size_t *len)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -1;
    /* A hard link could bring in a file from elsewhere. */
    if (!S_ISREG(st.st_mode) || st.st_nlink != 1 || st.st_size < 0
        || (unsigned long long)st.st_size > DOCS_MAX_FILE)
        return 1;
    size_t n = (size_t)st.st_size, got = 0;
    char *buf = malloc(n + 1);
    if (buf == NULL)
        return -1;
    while (got < n) {
        ssize_t k = read(fd, buf + got, n - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    buf[got] = '\0';
    *out = buf;
    *len = got;
    return 0;
}

static void
docs_load_openapi(const char *path)
{
    char *text = NULL;
    size_t len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        log_error("OPENAPI_FILE %s cannot be opened (%s): /openapi.json will answer 503", path,
                  strerror(errno));
        return;
    }
    int rc = docs_read_fd(fd, &text, &len);
    close(fd);
    json_object *doc = rc == 0 ? json_tokener_parse(text) : NULL;
    json_object *version = NULL;
    if (doc == NULL || !json_object_object_get_ex(doc, "openapi", &version)
        || !json_object_is_type(version, json_type_string)) {
        log_error("OPENAPI_FILE %s is not an OpenAPI description in JSON: /openapi.json will "
                  "answer 503",
                  path);
        free(text);
    } else {
        docs_openapi = text;
        docs_openapi_len = len;
    }
    json_object_put(doc);
}

int
docs_init(const char *openapi_file, const char *docs_dir)
{
    docs_load_openapi(openapi_file);
    docs_dirfd = open(docs_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (docs_dirfd < 0)
        log_warn("DOCS_DIR %s is not a folder (%s): /docs will answer 503 until Swagger UI is "
                 "installed there (make swagger-ui) and the gateway restarted",
                 docs_dir, strerror(errno));
    return 0;
}

void
docs_cleanup(void)
{
    free(docs_openapi);
    docs_openapi = NULL;
    if (docs_dirfd >= 0)
        close(docs_dirfd);
    docs_dirfd = -1;
}

int
docs_handle_openapi(web_req *r)
{
    if (docs_openapi == NULL)
        return web_reply_error(r, 503, "unavailable", "the API description is not available");
    const char *extra[] = {"Cache-Control: no-cache", NULL};
    return web_reply(r, 200, "application/json", docs_openapi, docs_openapi_len, extra);
}

/* The Content-Type of a file name that may be served, or NULL. One segment
 * of safe characters only: no '/', '\\', '%', control character or leading
 * dot, so there is no ".." and no way out of the folder by name. */
static const char *
docs_type_of(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > DOCS_MAX_NAME || name[0] == '.')
        return NULL;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.'
              || c == '-' || c == '_'))
            return NULL;
    }
    for (size_t i = 0; i < sizeof(docs_types) / sizeof(docs_types[0]); i++) {
        size_t el = strlen(docs_types[i].ext);
        if (n > el && strcmp(name + n - el, docs_types[i].ext) == 0)
            return docs_types[i].type;
    }
    return NULL;
}

static int
docs_not_found(web_req *r)
{
    return web_reply_error(r, 404, "not_found", "no such file under /docs");
}

int
docs_handle_ui(web_req *r)
{
    /* The raw path (not the route's "*" parameter, which is cut at 255
     * bytes): "/docs", "/docs/" or "/docs/<name>". */
    const char *path = web_path(r);
    const char *name = path[5] == '/' ? path + 6 : "";
    static const char *const ours[] = {"Cache-Control: no-cache", "X-Content-Type-Options: nosniff",
                                       NULL};
    if (docs_dirfd < 0)
        return web_reply_error(r, 503, "unavailable",
                               "Swagger UI is not installed on this gateway (make swagger-ui); "
                               "the API description is at /openapi.json");
    if (name[0] == '\0' || strcmp(name, "index.html") == 0) {
        static const char *const page[] = {
            "Cache-Control: no-cache", "X-Content-Type-Options: nosniff",
            "Content-Security-Policy: default-src 'self'; img-src 'self' data:; "
            "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
            NULL};
        return web_reply(r, 200, "text/html; charset=utf-8", docs_index, sizeof(docs_index) - 1,
                         page);
    }
    if (strcmp(name, "swagger-initializer.js") == 0)
        return web_reply(r, 200, "text/javascript; charset=utf-8", docs_initializer,
                         sizeof(docs_initializer) - 1, ours);
    const char *type = docs_type_of(name);
    if (type == NULL)
        return docs_not_found(r);
    int fd = openat(docs_dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return docs_not_found(r); /* absent, or a symbolic link (ELOOP) */
    char *data = NULL;
    size_t len = 0;
    int rc = docs_read_fd(fd, &data, &len);
    close(fd);
    if (rc > 0)
        return docs_not_found(r);
    if (rc < 0)
        return web_reply_error(r, 500, "internal_error", "the file could not be read");
    /* The package's files change only with its pinned version. */
    static const char *const pkg[] = {"Cache-Control: public, max-age=3600",
                                      "X-Content-Type-Options: nosniff", NULL};
    rc = web_reply(r, 200, type, data, len, pkg);
    free(data);
    return rc;
}
