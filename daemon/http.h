/* SPDX-License-Identifier: MIT */
/*
 * The process's one HTTP engine: libcurl's multi interface on the libevent
 * loop, several transfers at once, each with its own options and callbacks.
 * Nothing here blocks, and no user callback ever runs inside a libcurl
 * callback that could not cope with it (see http.c).
 */
#ifndef TVTOKEND_HTTP_H
#define TVTOKEND_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "timeutil.h"

struct event_base;
struct http;
struct http_xfer;

enum http_body_mode {
	HTTP_BODY_WHOLE,            /* the whole body, up to max_body, handed over at the end */
	HTTP_BODY_LINES,            /* each complete line to on_line as it arrives (streams) */
};

struct http_result {
	int curl_code;              /* CURLcode; 0 (CURLE_OK) when the transfer completed */
	long status;                /* HTTP status of the final response; 0 without one */
	bool sent;                  /* the request went out (curl sent bytes of it) */
	bool too_large;             /* aborted: the body, a line or the stream passed its bound */
	bool aborted;               /* aborted by a callback's negative return */
	const char *error;          /* what went wrong, for logs (never NULL, "" on success) */
	const char *body;           /* HTTP_BODY_WHOLE: the body, NUL-terminated; NULL when empty */
	size_t body_len;
	usec_t duration;            /* from start to end, monotonic */
	usec_t pretransfer;         /* from start until the request was about to go out; 0: never */
};

/* A header line of the final response or of an interim one ("HTTP/..." starts each); <0 aborts. */
typedef int (*http_header_fn)(struct http_xfer *x, const char *line, size_t len, void *arg);
/* HTTP_BODY_LINES: one complete line, without its "\n" or "\r\n", never empty; <0 aborts. */
typedef int (*http_line_fn)(struct http_xfer *x, const char *line, size_t len, void *arg);
/* The end of a transfer that was not cancelled; x is freed when this returns. */
typedef void (*http_done_fn)(struct http_xfer *x, const struct http_result *res, void *arg);

struct http_request {
	const char *url;
	const char *method;         /* NULL: POST when there is a body, GET otherwise */
	const char *body;           /* copied; the copy is wiped when freed */
	size_t body_len;
	const char *const *headers; /* NULL or a NULL-terminated list of "Name: value"; copied, wiped */
	usec_t timeout;             /* whole transfer; 0: none (long-polls and streams) */
	usec_t connect_timeout;     /* 0: HTTP_DEFAULT_CONNECT_TIMEOUT */
	unsigned keepalive_idle;    /* seconds idle before TCP keep-alive probes; 0: no probes */
	const char *ca_file;        /* NULL: the system store */
	const char *cert_file;      /* client certificate and key (PEM), both or neither */
	const char *key_file;
	bool reuse;                 /* may take and leave a pooled connection */
	bool no_proxy;              /* never use a proxy, whatever the environment says */
	enum http_body_mode mode;
	size_t max_body;            /* WHOLE: largest body; LINES: longest line (0: the default) */
	size_t max_total;           /* LINES: most bytes over the whole stream (0: the default) */
	http_header_fn on_header;   /* optional */
	http_line_fn on_line;       /* required for HTTP_BODY_LINES */
	http_done_fn on_done;       /* required */
	void *arg;
};

#define HTTP_DEFAULT_CONNECT_TIMEOUT (10 * USEC_PER_SEC)
#define HTTP_DEFAULT_MAX_BODY (64 * 1024)
#define HTTP_DEFAULT_MAX_TOTAL (16 * 1024 * 1024)
/* Transfers in flight at once, over all users of the engine. */
#define HTTP_MAX_XFERS 256

/* One engine on base. curl_global_init is the caller's (main's) job. 0 or -errno. */
int http_new(struct event_base *base, struct http **out);

/*
 * Start a transfer; *out (optional) is valid until its on_done returns or it is
 * cancelled. Nothing is called back from inside http_start. 0 or -errno
 * (-EINVAL bad request, -ENOBUFS too many transfers, -ENOMEM).
 */
int http_start(struct http *h, const struct http_request *req, struct http_xfer **out);

/*
 * Stop a transfer; its callbacks are never called again. Safe from any
 * callback, its own included; the memory is released on a later loop turn.
 */
void http_cancel(struct http_xfer *x);

/* The status line's code seen so far (inside on_line: of the response being read), or 0. */
long http_xfer_status(const struct http_xfer *x);

/* Transfers started and not yet finished or reaped (for tests and bounds). */
unsigned http_active(const struct http *h);

/*
 * Cancel everything without calling back, then tear down; NULL-safe. From a
 * transfer's callback, the teardown waits until libcurl has returned.
 */
void http_free(struct http *h);

/*
 * The line splitter behind HTTP_BODY_LINES, exposed for the fuzzer and tests:
 * feed bytes, get complete lines; a line longer than max_line or a stream
 * longer than max_total is an error (-EMSGSIZE), after which it takes nothing.
 */
struct http_lines {
	char *buf;                  /* the incomplete last line; wiped when freed */
	size_t len;
	size_t cap;
	size_t max_line;
	size_t max_total;
	size_t total;
	bool failed;
};

/* Start empty with these bounds. */
void http_lines_init(struct http_lines *l, size_t max_line, size_t max_total);

/* Split data into lines for fn; fn's negative return stops and is returned. 0 or -errno. */
int http_lines_feed(struct http_lines *l, const char *data, size_t len,
    int (*fn)(const char *line, size_t len, void *arg), void *arg);

/* Hand over what is left without a final newline, if anything; 0 or fn's error. */
int http_lines_finish(struct http_lines *l,
    int (*fn)(const char *line, size_t len, void *arg), void *arg);

/* Wipe and free the buffer. */
void http_lines_clear(struct http_lines *l);

#endif
