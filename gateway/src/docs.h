/* docs: the gateway's API documentation. Prefix docs_.
 *   GET /openapi.json  the OpenAPI 3.1 description (OPENAPI_FILE, read once
 *                      at start; gateway/openapi.json in the repository);
 *   GET /docs, /docs/<file>  Swagger UI: our own index.html and initializer (which
 *                      point at /openapi.json) plus the files of the npm
 *                      package swagger-ui-dist in DOCS_DIR (make swagger-ui).
 * Files are served by this handler from that one folder only, never through
 * civetweb's document_root (CVE-2025-55763): a name is one path segment of
 * [A-Za-z0-9._-] not starting with '.', with a known extension, opened
 * without following a symbolic link. Without the folder, /docs answers 503. */
#ifndef GATEWAY_DOCS_H
#define GATEWAY_DOCS_H

#include "web.h"

/* Once, before serving. A missing or invalid OPENAPI_FILE, or a missing
 * DOCS_DIR, is logged and answered 503 later; not a reason to stop the
 * gateway. Returns 0 or -1 (out of memory). */
int docs_init(const char *openapi_file, const char *docs_dir);
void docs_cleanup(void);

/* web_handlers of GET /openapi.json and GET /docs and /docs/<file>. */
int docs_handle_openapi(web_req *r);
int docs_handle_ui(web_req *r);

#endif
