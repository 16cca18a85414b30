/* edge_http: the request heads the gateway's event loop (edge.c) serves
 * itself, parsed in place. The parser is deliberately narrow: anything it
 * does not accept is not an error here, it goes to civetweb, which answers
 * it as it always did (its 400s, 413s, 431s, WebSocket upgrades). Prefix
 * eh_. */
#ifndef GATEWAY_EDGE_HTTP_H
#define GATEWAY_EDGE_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <civetweb.h>

#define EH_MAX_HEAD 16384 /* bytes of a request line and headers (civetweb's limit) */

/* The length of the head at the start of buf[0..len) (through its empty
 * line), or 0 while it has not ended. */
size_t eh_head_end(const char *buf, size_t len);

/* Parse the head buf[0..head_len) in place (lines are NUL-terminated) into
 * ri: method, target (path in local_uri, query in query_string, NULL when
 * none), version, headers and content_length (0 when absent). Accepted:
 * "TOKEN SP /target SP HTTP/1.1 or HTTP/1.0" and "Name: value" lines, each
 * ending in CR LF, fewer than MG_MAX_HEADERS of them, values without
 * control characters but tab, at most one Content-Length of digits, and no
 * Transfer-Encoding, Upgrade or Expect. false for anything else. ri's
 * remote fields are left alone. */
bool eh_parse(char *buf, size_t head_len, struct mg_request_info *ri);

/* A path that means what it says: only unreserved and sub-delimiter
 * characters, '/', ':' and '@' (no '%'), no empty, "." or ".." segment. A
 * path civetweb would normalise or decode goes to civetweb. */
bool eh_path_plain(const char *path);

#endif
