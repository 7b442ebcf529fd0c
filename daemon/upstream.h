/* SPDX-License-Identifier: MIT */
/*
 * HTTP to Tradovate on the process's HTTP engine (http.h).
 * At most one request is in flight. Nothing here blocks the loop.
 */
#ifndef TVTOKEND_UPSTREAM_H
#define TVTOKEND_UPSTREAM_H

#include <stdbool.h>

#include "reply.h"

struct event_base;
struct config;
struct upstream;
struct http;

/* Called from the event loop when a request finished; r is the caller's to consume (reply_clear after). */
typedef void (*upstream_done_fn)(struct reply *r, void *arg);

/* On an HTTP engine of its own. Returns 0 or negative errno. curl_global_init is the caller's (main) job. */
int upstream_new(struct event_base *base, upstream_done_fn done, void *arg, struct upstream **out);

/* On the engine h, shared with others (borrowed: it must outlive the upstream). */
int upstream_new_on(struct http *h, upstream_done_fn done, void *arg, struct upstream **out);

/* Take what the requests need from cfg (copied, secrets included). May be called again on reload. */
int upstream_configure(struct upstream *u, const struct config *cfg);

/* POST /auth/accesstokenrequest; p_ticket NULL or the penalty ticket to add. 0 or -errno (-EBUSY when in flight). */
int upstream_request_token(struct upstream *u, const char *p_ticket);

/*
 * GET /auth/renewaccesstoken with Authorization: Bearer access_token; the
 * server's texts are also checked for md_access_token (may be NULL), the
 * market-data token held with it. 0 or -errno.
 */
int upstream_renew(struct upstream *u, const char *access_token, const char *md_access_token);

bool upstream_busy(const struct upstream *u);

/* Abort the request in flight, if any; its done callback is not called. */
void upstream_cancel(struct upstream *u);

/* Cancel, free; NULL-safe. */
void upstream_free(struct upstream *u);

#endif
