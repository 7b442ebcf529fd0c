/* SPDX-License-Identifier: MIT */
/*
 * http: the engine driven against a tiny evhttp server living in the same
 * event_base on 127.0.0.1 (no threads). The server answers by path: whole
 * bodies, echoes, streams the test feeds chunk by chunk, and requests it
 * never answers. Every wait is bounded by a watchdog.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "http.h"

#define WATCHDOG_MS 5000
#define MAX_HELD 8
#define MAX_LINES 64

/* What one transfer saw. */
struct got {
	struct ctx *c;
	int n_done;
	struct http_result res;
	char body[4096];
	char error[CURL_ERROR_SIZE];
	char lines[MAX_LINES][256];
	int n_lines;
	int n_lines_at_done;
	char headers[16][256];
	int n_headers;
	long status_in_line;        /* http_xfer_status seen inside on_line */
	/* what to do from the callbacks */
	int refuse_at_line;         /* 1-based line number whose callback returns -1 */
	int cancel_at_line;         /* 1-based line number whose callback cancels cancel_what */
	struct http_xfer *cancel_what;
	struct http_xfer *self;
	bool cancel_self_in_done;
	bool chain;                 /* start another /whole transfer from on_done */
	bool free_in_done;          /* http_free the engine from on_done */
	struct got *chained;
};

struct ctx {
	struct event_base *base;
	struct evhttp *server;
	int port;
	int refused_port;
	struct http *http;
	struct evhttp_request *held[MAX_HELD];
	int n_held;
	struct evhttp_request *stream;
	int n_requests;
	char seen_body[4096];
	char seen_header[256];
	char seen_method[16];
	struct event *watchdog;
	bool watchdog_fired;
};

/* The test server: answer by path. */
static void
server_handle(struct evhttp_request *req, void *arg)
{
	struct ctx *c = arg;
	const char *uri = evhttp_request_get_uri(req);
	struct evbuffer *ob = evbuffer_new();
	struct evbuffer *ib = evhttp_request_get_input_buffer(req);
	const char *h;
	ev_ssize_t got;

	assert_non_null(ob);
	c->n_requests++;
	memset(c->seen_body, 0, sizeof(c->seen_body));
	got = evbuffer_copyout(ib, c->seen_body, sizeof(c->seen_body) - 1);
	(void)got;
	h = evhttp_find_header(evhttp_request_get_input_headers(req), "X-Test");
	snprintf(c->seen_header, sizeof(c->seen_header), "%s", h != NULL ? h : "");
	switch (evhttp_request_get_command(req)) {
	case EVHTTP_REQ_GET:
		strcpy(c->seen_method, "GET");
		break;
	case EVHTTP_REQ_POST:
		strcpy(c->seen_method, "POST");
		break;
	case EVHTTP_REQ_PUT:
		strcpy(c->seen_method, "PUT");
		break;
	default:
		strcpy(c->seen_method, "other");
		break;
	}

	if (strcmp(uri, "/whole") == 0) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "X-Answer", "42");
		evbuffer_add_printf(ob, "hello world");
		evhttp_send_reply(req, 200, "OK", ob);
	} else if (strcmp(uri, "/echo") == 0) {
		evbuffer_add(ob, c->seen_body, strlen(c->seen_body));
		evhttp_send_reply(req, 200, "OK", ob);
	} else if (strcmp(uri, "/error") == 0) {
		evbuffer_add_printf(ob, "{\"error\":\"no\"}");
		evhttp_send_reply(req, 503, "Unavailable", ob);
	} else if (strncmp(uri, "/big/", 5) == 0) {
		size_t n = strtoul(uri + 5, NULL, 10);

		for (size_t i = 0; i < n; i++)
			evbuffer_add(ob, "a", 1);
		evhttp_send_reply(req, 200, "OK", ob);
	} else if (strcmp(uri, "/stream") == 0) {
		assert_null(c->stream);
		c->stream = req;
		evhttp_send_reply_start(req, 200, "OK");
	} else if (strcmp(uri, "/hold") == 0) {
		assert_true(c->n_held < MAX_HELD);
		c->held[c->n_held++] = req;
	} else {
		evhttp_send_reply(req, 404, "Not Found", NULL);
	}
	evbuffer_free(ob);
}

/* Push a chunk of the open stream. */
static void
stream_send(struct ctx *c, const char *text)
{
	struct evbuffer *b = evbuffer_new();

	assert_non_null(c->stream);
	assert_non_null(b);
	evbuffer_add(b, text, strlen(text));
	evhttp_send_reply_chunk(c->stream, b);
	evbuffer_free(b);
}

/* End the open stream. */
static void
stream_end(struct ctx *c)
{
	assert_non_null(c->stream);
	evhttp_send_reply_end(c->stream);
	c->stream = NULL;
}

/* Watchdog: a test that hangs fails instead. */
static void
on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	struct ctx *c = arg;

	c->watchdog_fired = true;
}

/* Turn the loop until *flag reaches want or the watchdog fires; assert it did not. */
static void
run_until(struct ctx *c, const int *flag, int want)
{
	struct timeval tv = { WATCHDOG_MS / 1000, (WATCHDOG_MS % 1000) * 1000 };

	c->watchdog_fired = false;
	assert_int_equal(evtimer_add(c->watchdog, &tv), 0);
	while (*flag < want && !c->watchdog_fired)
		event_base_loop(c->base, EVLOOP_ONCE);
	evtimer_del(c->watchdog);
	assert_false(c->watchdog_fired);
}

/* Turn the loop for ms milliseconds. */
static void
run_for(struct ctx *c, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	c->watchdog_fired = false;
	assert_int_equal(evtimer_add(c->watchdog, &tv), 0);
	while (!c->watchdog_fired)
		event_base_loop(c->base, EVLOOP_ONCE);
}

static void on_done(struct http_xfer *x, const struct http_result *res, void *arg);
static int on_line(struct http_xfer *x, const char *line, size_t len, void *arg);
static int on_header(struct http_xfer *x, const char *line, size_t len, void *arg);

/* A request for path on the test server, answered into g. */
static struct http_request
request(struct ctx *c, const char *path, struct got *g, char *url, size_t url_len)
{
	struct http_request req;

	snprintf(url, url_len, "http://127.0.0.1:%d%s", c->port, path);
	memset(&req, 0, sizeof(req));
	req.url = url;
	req.timeout = 3 * USEC_PER_SEC;
	req.on_done = on_done;
	req.on_header = on_header;
	req.arg = g;
	g->c = c;
	return req;
}

/* Start a GET of path into g. */
static struct http_xfer *
start(struct ctx *c, const char *path, struct got *g)
{
	char url[128];
	struct http_request req = request(c, path, g, url, sizeof(url));
	struct http_xfer *x = NULL;

	assert_int_equal(http_start(c->http, &req, &x), 0);
	g->self = x;
	return x;
}

/* Start a line-mode GET of path into g, with the given bounds. */
static struct http_xfer *
start_lines(struct ctx *c, const char *path, struct got *g, size_t max_line, size_t max_total)
{
	char url[128];
	struct http_request req = request(c, path, g, url, sizeof(url));
	struct http_xfer *x = NULL;

	req.mode = HTTP_BODY_LINES;
	req.on_line = on_line;
	req.timeout = 0;
	req.max_body = max_line;
	req.max_total = max_total;
	assert_int_equal(http_start(c->http, &req, &x), 0);
	g->self = x;
	return x;
}

static void
on_done(struct http_xfer *x, const struct http_result *res, void *arg)
{
	struct got *g = arg;

	assert_ptr_equal(x, g->self);
	g->n_done++;
	g->res = *res;
	g->n_lines_at_done = g->n_lines;
	snprintf(g->error, sizeof(g->error), "%s", res->error);
	g->res.error = g->error;
	memset(g->body, 0, sizeof(g->body));
	if (res->body != NULL) {
		assert_true(res->body_len < sizeof(g->body));
		memcpy(g->body, res->body, res->body_len);
		assert_int_equal(res->body[res->body_len], '\0');
	}
	g->res.body = NULL;
	if (g->cancel_self_in_done)
		http_cancel(x);
	if (g->chain && g->chained != NULL)
		start(g->c, "/whole", g->chained);
	if (g->free_in_done) {
		http_free(g->c->http);
		g->c->http = NULL;
	}
}

static int
on_line(struct http_xfer *x, const char *line, size_t len, void *arg)
{
	struct got *g = arg;
	int n;

	assert_true(g->n_lines < MAX_LINES);
	assert_true(len > 0);
	assert_true(len < sizeof(g->lines[0]));
	memcpy(g->lines[g->n_lines], line, len);
	g->lines[g->n_lines][len] = '\0';
	n = ++g->n_lines;
	g->status_in_line = http_xfer_status(x);
	if (n == g->cancel_at_line)
		http_cancel(g->cancel_what);
	if (n == g->refuse_at_line)
		return -1;
	return 0;
}

static int
on_header(struct http_xfer *x, const char *line, size_t len, void *arg)
{
	struct got *g = arg;

	if (g->n_headers < 16) {
		snprintf(g->headers[g->n_headers], sizeof(g->headers[0]), "%.*s", (int)len, line);
		g->n_headers++;
	}
	return 0;
}

/* The port a bound socket got. */
static int
bound_port(int fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	return ntohs(sin.sin_port);
}

/* A port on 127.0.0.1 where nothing listens (bound, then closed). */
static int
dead_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	assert_true(fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	port = bound_port(fd);
	close(fd);
	return port;
}

static int
setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	struct evhttp_bound_socket *bs;

	assert_non_null(c);
	c->base = event_base_new();
	assert_non_null(c->base);
	c->server = evhttp_new(c->base);
	assert_non_null(c->server);
	evhttp_set_allowed_methods(c->server, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT);
	evhttp_set_gencb(c->server, server_handle, c);
	bs = evhttp_bind_socket_with_handle(c->server, "127.0.0.1", 0);
	assert_non_null(bs);
	c->port = bound_port(evhttp_bound_socket_get_fd(bs));
	c->refused_port = dead_port();
	c->watchdog = evtimer_new(c->base, on_watchdog, c);
	assert_non_null(c->watchdog);
	assert_int_equal(http_new(c->base, &c->http), 0);
	*state = c;
	return 0;
}

static int
teardown(void **state)
{
	struct ctx *c = *state;

	http_free(c->http);
	for (int i = 0; i < c->n_held; i++)
		evhttp_send_reply(c->held[i], 500, "Gone", NULL);
	if (c->stream != NULL)
		evhttp_send_reply_end(c->stream);
	evhttp_free(c->server);
	event_free(c->watchdog);
	event_base_free(c->base);
	free(c);
	return 0;
}

static void
whole_body_status_and_headers_arrive_at_the_end(void **state)
{
	struct ctx *c = *state;
	struct got g = { 0 };
	bool answer = false;

	start(c, "/whole", &g);
	assert_int_equal(http_active(c->http), 1);
	run_until(c, &g.n_done, 1);
	assert_int_equal(g.res.curl_code, CURLE_OK);
	assert_int_equal(g.res.status, 200);
	assert_true(g.res.sent);
	assert_false(g.res.too_large);
	assert_string_equal(g.body, "hello world");
	assert_string_equal(g.error, "");
	assert_string_equal(c->seen_method, "GET");
	assert_true(g.n_headers >= 2);
	assert_memory_equal(g.headers[0], "HTTP/1.1 200", 12);
	for (int i = 0; i < g.n_headers; i++)
		if (strcmp(g.headers[i], "X-Answer: 42") == 0)
			answer = true;
	assert_true(answer);
	assert_int_equal(http_active(c->http), 0);
}

static void
body_and_headers_of_a_request_reach_the_server(void **state)
{
	struct ctx *c = *state;
	static const char *const headers[] = { "X-Test: yes please", "Content-Type: text/plain",
	    NULL };
	struct got g = { 0 };
	char url[128];
	struct http_request req = request(c, "/echo", &g, url, sizeof(url));

	req.body = "payload\0with a NUL";
	req.body_len = 7;
	req.headers = headers;
	assert_int_equal(http_start(c->http, &req, &g.self), 0);
	run_until(c, &g.n_done, 1);
	assert_string_equal(c->seen_method, "POST");
	assert_string_equal(c->seen_header, "yes please");
	assert_string_equal(g.body, "payload");
}

static void
method_may_be_chosen(void **state)
{
	struct ctx *c = *state;
	struct got g = { 0 };
	char url[128];
	struct http_request req = request(c, "/echo", &g, url, sizeof(url));

	req.method = "PUT";
	req.body = "x";
	req.body_len = 1;
	assert_int_equal(http_start(c->http, &req, &g.self), 0);
	run_until(c, &g.n_done, 1);
	assert_string_equal(c->seen_method, "PUT");
}

static void
error_status_comes_with_its_body(void **state)
{
	struct ctx *c = *state;
	struct got g = { 0 };

	start(c, "/error", &g);
	run_until(c, &g.n_done, 1);
	assert_int_equal(g.res.curl_code, CURLE_OK);
	assert_int_equal(g.res.status, 503);
	assert_string_equal(g.body, "{\"error\":\"no\"}");
}

static void
several_transfers_run_at_once(void **state)
{
	struct ctx *c = *state;
	struct got held[3] = { 0 }, quick = { 0 };

	for (int i = 0; i < 3; i++)
		start(c, "/hold", &held[i]);
	start(c, "/whole", &quick);
	run_until(c, &quick.n_done, 1);
	/* The held ones are still running while the quick one finished. */
	while (c->n_held < 3)
		event_base_loop(c->base, EVLOOP_ONCE);
	assert_int_equal(http_active(c->http), 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(held[i].n_done, 0);
	for (int i = 0; i < 3; i++) {
		struct evbuffer *b = evbuffer_new();

		evbuffer_add_printf(b, "released %d", i);
		evhttp_send_reply(c->held[i], 200, "OK", b);
		evbuffer_free(b);
	}
	c->n_held = 0;
	for (int i = 0; i < 3; i++) {
		run_until(c, &held[i].n_done, 1);
		assert_int_equal(held[i].res.status, 200);
		assert_memory_equal(held[i].body, "released ", 9);
	}
}

static void
stream_lines_arrive_as_they_are_sent(void **state)
{
	struct ctx *c = *state;
	struct got g = { 0 };

	start_lines(c, "/stream", &g, 0, 0);
	while (c->stream == NULL)
		event_base_loop(c->base, EVLOOP_ONCE);
	stream_send(c, "{\"a\":1}\n{\"b\"");
	run_until(c, &g.n_lines, 1);
	assert_string_equal(g.lines[0], "{\"a\":1}");
	assert_int_equal(g.status_in_line, 200);
	stream_send(c, ":2}\r\n\n\r\n{\"c\":3}\n");
	run_until(c, &g.n_lines, 3);
	assert_string_equal(g.lines[1], "{\"b\":2}");
	assert_string_equal(g.lines[2], "{\"c\":3}");
	assert_int_equal(g.n_done, 0);
	stream_send(c, "tail without newline");
	stream_end(c);
	run_until(c, &g.n_done, 1);
	assert_int_equal(g.n_lines, 4);
	assert_string_equal(g.lines[3], "tail without newline");
	assert_int_equal(g.res.curl_code, CURLE_OK);
	assert_int_equal(g.res.status, 200);
	assert_null(g.res.body);
}

static void
line_longer_than_its_bound_ends_the_stream_too_large(void **state)
{
	struct ctx *c = *state;
	struct got g = { 0 };

	start_lines(c, "/stream", &g, 16, 0);
	while (c->stream == NULL)
		event_base_loop(c->base, EVLOOP_ONCE);
	stream_send(c, "0123456789abcdef\n0123456789");
	run_until(c, &g.n_lines, 1);
	stream_send(c, "abcdefg\n");
	run_until(c, &g.n_done, 1);
	assert_int_equal(g.n_lines, 1);
	assert_true(g.res.too_large);
	assert_int_not_equal(g.res.curl_code, CURLE_OK);
	assert_string_equal(g.error, "reply too large");
}

static void
stream_longer_than_its_total_ends_too_large(void **state)
{
	struct ctx *c = *state;
	struct got g = { 0 };

	start_lines(c, "/stream", &g, 64, 40);
	while (c->stream == NULL)
		event_base_loop(c->base, EVLOOP_ONCE);
	stream_send(c, "line one\nline two\n");
	run_until(c, &g.n_lines, 2);
	stream_send(c, "line three\nline four is too much\n");
	run_until(c, &g.n_done, 1);
	assert_true(g.res.too_large);
	assert_int_equal(g.n_lines, 2);
}

static void
body_larger_than_its_bound_is_too_large(void **state)
{
	struct ctx *c = *state;
	struct got g = { 0 }, ok = { 0 };
	char url[128];
	struct http_request req = request(c, "/big/1000", &g, url, sizeof(url));

	req.max_body = 999;
	assert_int_equal(http_start(c->http, &req, &g.self), 0);
	run_until(c, &g.n_done, 1);
	assert_true(g.res.too_large);
	assert_null(g.res.body);

	req = request(c, "/big/1000", &ok, url, sizeof(url));
	req.max_body = 1000;
	assert_int_equal(http_start(c->http, &req, &ok.self), 0);
	run_until(c, &ok.n_done, 1);
	assert_false(ok.res.too_large);
	assert_int_equal(strlen(ok.body), 1000);
}

static void
refusing_a_line_ends_the_transfer_as_aborted(void **state)
{
	struct ctx *c = *state;
	struct got g = { .refuse_at_line = 2 };

	start_lines(c, "/stream", &g, 0, 0);
	while (c->stream == NULL)
		event_base_loop(c->base, EVLOOP_ONCE);
	stream_send(c, "one\ntwo\nthree\n");
	run_until(c, &g.n_done, 1);
	assert_int_equal(g.n_lines, 2);
	assert_true(g.res.aborted);
	assert_string_equal(g.error, "stopped by its reader");
}

static void
cancel_from_its_own_line_callback_stops_every_callback(void **state)
{
	struct ctx *c = *state;
	struct got g = { .cancel_at_line = 1 };

	g.cancel_what = start_lines(c, "/stream", &g, 0, 0);
	while (c->stream == NULL)
		event_base_loop(c->base, EVLOOP_ONCE);
	stream_send(c, "one\ntwo\n");
	run_until(c, &g.n_lines, 1);
	run_for(c, 200);
	assert_int_equal(g.n_lines, 1);
	assert_int_equal(g.n_done, 0);
	assert_int_equal(http_active(c->http), 0);
}

static void
cancel_of_another_transfer_from_a_callback_is_safe(void **state)
{
	struct ctx *c = *state;
	struct got victim = { 0 }, g = { .cancel_at_line = 1 };

	g.cancel_what = start(c, "/hold", &victim);
	start_lines(c, "/stream", &g, 0, 0);
	while (c->stream == NULL || c->n_held < 1)
		event_base_loop(c->base, EVLOOP_ONCE);
	stream_send(c, "one\n");
	run_until(c, &g.n_lines, 1);
	stream_end(c);
	run_until(c, &g.n_done, 1);
	assert_int_equal(victim.n_done, 0);
	assert_int_equal(g.res.status, 200);
}

static void
cancel_inside_done_and_a_new_transfer_from_done_are_safe(void **state)
{
	struct ctx *c = *state;
	struct got next = { 0 }, g = { .cancel_self_in_done = true, .chain = true,
	    .chained = &next };

	start(c, "/whole", &g);
	run_until(c, &g.n_done, 1);
	run_until(c, &next.n_done, 1);
	assert_string_equal(next.body, "hello world");
	assert_int_equal(g.n_done, 1);
}

static void
engine_may_be_freed_from_a_done_callback(void **state)
{
	struct ctx *c = *state;
	struct got other = { 0 }, g = { .free_in_done = true };

	/* Another transfer is held by the server: it must never call back. */
	start(c, "/hold", &other);
	while (c->n_held < 1)
		event_base_loop(c->base, EVLOOP_ONCE);
	start(c, "/whole", &g);
	run_until(c, &g.n_done, 1);
	assert_null(c->http);
	assert_string_equal(g.body, "hello world");
	/* Whatever is left on the loop must not touch the freed engine. */
	run_for(c, 100);
	assert_int_equal(other.n_done, 0);
	assert_int_equal(g.n_done, 1);
}

static void
cancel_before_the_reply_means_no_callback(void **state)
{
	struct ctx *c = *state;
	struct got g = { 0 };
	struct http_xfer *x = start(c, "/hold", &g);

	while (c->n_held < 1)
		event_base_loop(c->base, EVLOOP_ONCE);
	http_cancel(x);
	http_cancel(x);     /* twice is harmless before the reap */
	assert_int_equal(http_active(c->http), 0);
	run_for(c, 100);
	assert_int_equal(g.n_done, 0);
}

static void
refused_connection_was_never_sent(void **state)
{
	struct ctx *c = *state;
	struct got g = { 0 };
	char url[128];
	struct http_request req = request(c, "/whole", &g, url, sizeof(url));

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/whole", c->refused_port);
	assert_int_equal(http_start(c->http, &req, &g.self), 0);
	run_until(c, &g.n_done, 1);
	assert_int_equal(g.res.curl_code, CURLE_COULDNT_CONNECT);
	assert_false(g.res.sent);
	assert_int_equal(g.res.status, 0);
	assert_string_not_equal(g.error, "");
}

static void
timeout_after_sending_says_it_was_sent(void **state)
{
	struct ctx *c = *state;
	struct got g = { 0 };
	char url[128];
	struct http_request req = request(c, "/hold", &g, url, sizeof(url));

	req.timeout = 300 * USEC_PER_MSEC;
	assert_int_equal(http_start(c->http, &req, &g.self), 0);
	run_until(c, &g.n_done, 1);
	assert_int_equal(g.res.curl_code, CURLE_OPERATION_TIMEDOUT);
	assert_true(g.res.sent);
	assert_true(g.res.pretransfer > 0);
}

static void
stream_without_a_timeout_outlives_a_short_one(void **state)
{
	struct ctx *c = *state;
	struct got g = { 0 }, quick = { 0 };
	char url[128];
	struct http_request req = request(c, "/hold", &quick, url, sizeof(url));

	start_lines(c, "/stream", &g, 0, 0);
	req.timeout = 200 * USEC_PER_MSEC;
	assert_int_equal(http_start(c->http, &req, &quick.self), 0);
	run_until(c, &quick.n_done, 1);
	run_for(c, 300);
	assert_int_equal(g.n_done, 0);
	stream_send(c, "still here\n");
	run_until(c, &g.n_lines, 1);
}

static void
invalid_requests_are_refused_before_anything_starts(void **state)
{
	struct ctx *c = *state;
	static const char *const bad_header[] = { "X-Evil: a\r\nX-Injected: b", NULL };
	static const char *const no_colon[] = { "NoColon", NULL };
	struct got g = { 0 };
	char url[128];
	struct http_request req = request(c, "/whole", &g, url, sizeof(url)), r;

	r = req;
	r.headers = bad_header;
	assert_int_equal(http_start(c->http, &r, NULL), -EINVAL);
	r = req;
	r.headers = no_colon;
	assert_int_equal(http_start(c->http, &r, NULL), -EINVAL);
	r = req;
	r.cert_file = "/nonexistent/cert.pem";
	assert_int_equal(http_start(c->http, &r, NULL), -EINVAL);
	r = req;
	r.mode = HTTP_BODY_LINES;
	assert_int_equal(http_start(c->http, &r, NULL), -EINVAL);
	r = req;
	r.on_done = NULL;
	assert_int_equal(http_start(c->http, &r, NULL), -EINVAL);
	r = req;
	r.url = NULL;
	assert_int_equal(http_start(c->http, &r, NULL), -EINVAL);
	assert_int_equal(http_active(c->http), 0);
}

static void
transfers_beyond_the_limit_are_refused(void **state)
{
	struct ctx *c = *state;
	struct got g = { 0 };
	char url[128];
	struct http_request req = request(c, "/whole", &g, url, sizeof(url));

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/whole", c->refused_port);
	for (int i = 0; i < HTTP_MAX_XFERS; i++)
		assert_int_equal(http_start(c->http, &req, NULL), 0);
	assert_int_equal(http_start(c->http, &req, NULL), -ENOBUFS);
	assert_int_equal(http_active(c->http), HTTP_MAX_XFERS);
	/* teardown's http_free ends them all without calling back */
}

/* Collect lines for the splitter tests. */
struct collected {
	char text[512];
	int n;
	int stop_at;
};

static int
collect(const char *line, size_t len, void *arg)
{
	struct collected *col = arg;
	size_t used = strlen(col->text);

	snprintf(col->text + used, sizeof(col->text) - used, "[%.*s]", (int)len, line);
	col->n++;
	return col->n == col->stop_at ? -42 : 0;
}

static void
splitter_joins_pieces_and_strips_line_ends(void **state)
{
	static const char *const pieces[] = { "ab", "c\nd", "", "\r", "\n\n\nef", "\r\ng" };
	struct http_lines l;
	struct collected col = { .stop_at = -1 };

	http_lines_init(&l, 64, 1024);
	for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++)
		assert_int_equal(http_lines_feed(&l, pieces[i], strlen(pieces[i]), collect, &col), 0);
	assert_string_equal(col.text, "[abc][d][ef]");
	assert_int_equal(http_lines_finish(&l, collect, &col), 0);
	assert_string_equal(col.text, "[abc][d][ef][g]");
	assert_int_equal(http_lines_finish(&l, collect, &col), 0);
	assert_int_equal(col.n, 4);
	http_lines_clear(&l);
}

static void
splitter_refuses_a_line_over_its_bound_even_across_pieces(void **state)
{
	struct http_lines l;
	struct collected col = { .stop_at = -1 };

	http_lines_init(&l, 4, 1024);
	assert_int_equal(http_lines_feed(&l, "abcd\nab", 7, collect, &col), 0);
	assert_int_equal(http_lines_feed(&l, "cde\n", 4, collect, &col), -EMSGSIZE);
	/* Once failed, it takes nothing more. */
	assert_int_equal(http_lines_feed(&l, "x\n", 2, collect, &col), -EMSGSIZE);
	assert_string_equal(col.text, "[abcd]");
	http_lines_clear(&l);

	http_lines_init(&l, 4, 1024);
	assert_int_equal(http_lines_feed(&l, "abcde\n", 6, collect, &col), -EMSGSIZE);
	http_lines_clear(&l);
}

static void
splitter_refuses_more_than_its_total(void **state)
{
	struct http_lines l;
	struct collected col = { .stop_at = -1 };

	http_lines_init(&l, 64, 10);
	assert_int_equal(http_lines_feed(&l, "12345\n789", 9, collect, &col), 0);
	assert_int_equal(http_lines_feed(&l, "0", 1, collect, &col), 0);
	assert_int_equal(http_lines_feed(&l, "\n", 1, collect, &col), -EMSGSIZE);
	assert_string_equal(col.text, "[12345]");
	http_lines_clear(&l);
}

static void
splitter_stops_when_the_reader_refuses(void **state)
{
	struct http_lines l;
	struct collected col = { .stop_at = 2 };

	http_lines_init(&l, 64, 1024);
	assert_int_equal(http_lines_feed(&l, "a\nb\nc\n", 6, collect, &col), -42);
	assert_string_equal(col.text, "[a][b]");
	http_lines_clear(&l);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(whole_body_status_and_headers_arrive_at_the_end),
		T(body_and_headers_of_a_request_reach_the_server),
		T(method_may_be_chosen),
		T(error_status_comes_with_its_body),
		T(several_transfers_run_at_once),
		T(stream_lines_arrive_as_they_are_sent),
		T(line_longer_than_its_bound_ends_the_stream_too_large),
		T(stream_longer_than_its_total_ends_too_large),
		T(body_larger_than_its_bound_is_too_large),
		T(refusing_a_line_ends_the_transfer_as_aborted),
		T(cancel_from_its_own_line_callback_stops_every_callback),
		T(cancel_of_another_transfer_from_a_callback_is_safe),
		T(cancel_inside_done_and_a_new_transfer_from_done_are_safe),
		T(cancel_before_the_reply_means_no_callback),
		T(engine_may_be_freed_from_a_done_callback),
		T(refused_connection_was_never_sent),
		T(timeout_after_sending_says_it_was_sent),
		T(stream_without_a_timeout_outlives_a_short_one),
		T(invalid_requests_are_refused_before_anything_starts),
		T(transfers_beyond_the_limit_are_refused),
		cmocka_unit_test(splitter_joins_pieces_and_strips_line_ends),
		cmocka_unit_test(splitter_refuses_a_line_over_its_bound_even_across_pieces),
		cmocka_unit_test(splitter_refuses_more_than_its_total),
		cmocka_unit_test(splitter_stops_when_the_reader_refuses),
	};
	int r;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	r = cmocka_run_group_tests_name("http", tests, NULL, NULL);
	curl_global_cleanup();
	return r;
}
