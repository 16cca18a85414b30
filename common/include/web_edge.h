/* web_edge: the request pipeline of web.h for an event loop of the daemon's
 * own (the gateway's edge), which reads requests itself and cannot block.
 * The loop parses a request's head into a struct mg_request_info (civetweb's
 * public struct, pointing into the loop's buffers) and reads its whole body;
 * then the same code as for a civetweb request runs: the request id, the
 * framing and URI checks, the before hook, routing, guards, JSON bodies, the
 * replies in the error shape, the access-log line and the request metrics.
 * Replies are not written to a socket but collected in the request's output
 * buffer, which the loop sends. Prefix web_edge_. */
#ifndef BRAIN_WEB_EDGE_H
#define BRAIN_WEB_EDGE_H

#include <stdbool.h>
#include <stddef.h>

#include <civetweb.h>

#include "web.h"

/* One per connection of the loop, reused request after request. */
web_req *web_edge_req_new(void);
void web_edge_req_free(web_req *r); /* NULL ok */

/* Begin a request: ri (and the strings it points to) and body stay valid
 * until web_edge_req_end. Counts as in flight for web_server_stop's drain. */
void web_edge_req_begin(web_req *r, web_server *s, const struct mg_request_info *ri, char *body,
                        size_t body_len);
/* The route the request reaches, or NULL (no route, or another method):
 * lets the loop choose before anything runs. Kept for web_edge_req_prepare. */
const web_route *web_edge_req_route(web_req *r);
/* The loop does not serve the request after all (it goes to civetweb): as
 * if it had not begun; nothing is logged or counted. */
void web_edge_req_cancel(web_req *r);
/* Everything before the handler (web.h's pipeline). true: the matched
 * route's handler should run (web_edge_req_handler); false: answered, or
 * deferred (web_edge_req_deferred). */
bool web_edge_req_prepare(web_req *r);
/* After web_edge_req_prepare said false: the before hook deferred the
 * request (web_defer). The loop cancels it and hands the connection to
 * civetweb, the request's bytes untouched. */
bool web_edge_req_deferred(const web_req *r);
web_handler web_edge_req_handler(const web_req *r);
/* The answer so far (status line, headers, body), and whether the
 * connection may carry another request. NULL when it could not be made. */
const char *web_edge_req_output(const web_req *r, size_t *len, bool *keep);
/* After the answer went out (or could not): a 500 when nothing answered,
 * the access-log line, the metrics; the request's state is released. */
void web_edge_req_end(web_req *r);

#endif
