/* SPDX-License-Identifier: MIT */
/*
 * upstream: the HTTP client driven against a tiny evhttp server living in the
 * same event_base on 127.0.0.1 (no threads). Each test scripts the server's
 * answer, runs the loop until the done callback fires (or a watchdog does),
 * and looks at what was sent and what came back.
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
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <json-c/json.h>

#include "config.h"
#include "reply.h"
#include "upstream.h"

#define PASSWORD "pa\"ss/w\\ord-hunter2"
#define SECRET "sec-0123456789abcdef"
#define ACCESS_TOKEN "AT-secret-renew-me"
#define WATCHDOG_MS 5000
#define MAX_STALLED 8

#define TOKEN_BODY \
	"{\"accessToken\":\"AT-new\",\"mdAccessToken\":\"MD-new\"," \
	"\"expirationTime\":\"2099-01-01T00:00:00Z\",\"userId\":7," \
	"\"name\":\"trader\"}"

/* What the server saw of the last request. */
struct seen {
	int n;                        /* requests received */
	enum evhttp_cmd_type method;
	char uri[256];
	char content_type[128];
	char accept[128];
	char user_agent[128];
	char authorization[256];
	bool has_content_type;
	bool has_authorization;
	bool has_expect;
	char body[4096];
	size_t body_len;
};

/* How the server answers. */
struct script {
	bool stall;                   /* never answer */
	int status;
	const char *reason;
	const char *body;             /* NULL: empty */
	size_t body_len;              /* 0: strlen(body) */
	const char *header_name[4];
	const char *header_value[4];
};

struct ctx {
	struct event_base *base;
	struct evhttp *http;
	int port;
	struct script script;
	struct seen seen;
	struct evhttp_request *stalled[MAX_STALLED];
	unsigned n_stalled;

	struct config cfg;
	struct upstream *u;
	int n_done;
	struct reply reply;
	/* optional: what the done callback does besides recording */
	void (*after_done)(struct ctx *c);
	bool keep_running;            /* don't break the loop on done */

	struct event *watchdog;
	bool watchdog_fired;
	struct event *ticker;
	int ticks;
	int ticks_at_done;
};

/* Copy the value of header name into dst; false when absent. */
static bool
copy_header(struct evkeyvalq *h, const char *name, char *dst, size_t n)
{
	const char *v = evhttp_find_header(h, name);

	if (v == NULL)
		return false;
	snprintf(dst, n, "%s", v);
	return true;
}

/* The test server: record the request, answer as scripted. */
static void
server_handle(struct evhttp_request *req, void *arg)
{
	struct ctx *c = arg;
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	struct evbuffer *ib = evhttp_request_get_input_buffer(req);
	struct evbuffer *ob;
	struct seen *s = &c->seen;
	ev_ssize_t got;

	memset(s->body, 0, sizeof(s->body));
	s->n++;
	s->method = evhttp_request_get_command(req);
	snprintf(s->uri, sizeof(s->uri), "%s", evhttp_request_get_uri(req));
	s->has_content_type = copy_header(in, "Content-Type", s->content_type,
	    sizeof(s->content_type));
	copy_header(in, "Accept", s->accept, sizeof(s->accept));
	copy_header(in, "User-Agent", s->user_agent, sizeof(s->user_agent));
	s->has_authorization = copy_header(in, "Authorization",
	    s->authorization, sizeof(s->authorization));
	s->has_expect = evhttp_find_header(in, "Expect") != NULL;
	got = evbuffer_copyout(ib, s->body, sizeof(s->body) - 1);
	s->body_len = got > 0 ? (size_t)got : 0;

	if (c->script.stall) {
		assert_true(c->n_stalled < MAX_STALLED);
		c->stalled[c->n_stalled++] = req;
		return;
	}
	for (int i = 0; i < 4 && c->script.header_name[i] != NULL; i++)
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    c->script.header_name[i], c->script.header_value[i]);
	ob = evbuffer_new();
	assert_non_null(ob);
	if (c->script.body != NULL)
		evbuffer_add(ob, c->script.body, c->script.body_len != 0 ?
		    c->script.body_len : strlen(c->script.body));
	evhttp_send_reply(req, c->script.status, c->script.reason, ob);
	evbuffer_free(ob);
}

/* Upstream's done callback: keep the reply, stop the loop. */
static void
on_done(struct reply *r, void *arg)
{
	struct ctx *c = arg;

	reply_clear(&c->reply);
	c->reply = *r;
	memset(r, 0, sizeof(*r));
	c->n_done++;
	c->ticks_at_done = c->ticks;
	if (c->after_done != NULL)
		c->after_done(c);
	if (!c->keep_running)
		event_base_loopbreak(c->base);
}

/* Watchdog: a test that hangs fails instead. */
static void
on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	struct ctx *c = arg;

	c->watchdog_fired = true;
	event_base_loopbreak(c->base);
}

/* A periodic timer that proves the loop is turning. */
static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct ctx *c = arg;

	c->ticks++;
}

/* Run the loop until done (or watchdog); assert the watchdog did not fire. */
static void
run(struct ctx *c)
{
	struct timeval tv = { WATCHDOG_MS / 1000, (WATCHDOG_MS % 1000) * 1000 };

	c->watchdog_fired = false;
	assert_int_equal(evtimer_add(c->watchdog, &tv), 0);
	assert_int_equal(event_base_dispatch(c->base), 0);
	evtimer_del(c->watchdog);
	assert_false(c->watchdog_fired);
}

/* Run the loop for ms milliseconds whatever happens. */
static void
run_for(struct ctx *c, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	assert_int_equal(event_base_loopexit(c->base, &tv), 0);
	c->keep_running = true;
	assert_int_equal(event_base_dispatch(c->base), 0);
	c->keep_running = false;
}

/* Fill c->cfg by hand (config_load is not used here). */
static void
make_config(struct ctx *c, int port, usec_t timeout)
{
	char url[64];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1", port);
	memset(&c->cfg, 0, sizeof(c->cfg));
	c->cfg.base_url = strdup(url);
	c->cfg.name = strdup("trader");
	c->cfg.app_id = strdup("tvtokend-test");
	c->cfg.client_id = 1234;
	c->cfg.app_version = strdup("1.0");
	c->cfg.device_id = strdup("dev-0001");
	c->cfg.password = strdup(PASSWORD);
	c->cfg.secret = strdup(SECRET);
	c->cfg.request_timeout = timeout;
	assert_non_null(c->cfg.base_url);
	assert_non_null(c->cfg.name);
	assert_non_null(c->cfg.app_id);
	assert_non_null(c->cfg.app_version);
	assert_non_null(c->cfg.device_id);
	assert_non_null(c->cfg.password);
	assert_non_null(c->cfg.secret);
}

/* Free what make_config allocated. */
static void
free_config(struct config *cfg)
{
	free(cfg->base_url);
	free(cfg->name);
	free(cfg->app_id);
	free(cfg->app_version);
	free(cfg->device_id);
	free(cfg->password);
	free(cfg->secret);
	memset(cfg, 0, sizeof(*cfg));
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

/* A fresh loop, test server and configured upstream for every test. */
static int
setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	struct evhttp_bound_socket *bs;

	assert_non_null(c);
	c->base = event_base_new();
	assert_non_null(c->base);
	c->http = evhttp_new(c->base);
	assert_non_null(c->http);
	evhttp_set_allowed_methods(c->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
	evhttp_set_gencb(c->http, server_handle, c);
	bs = evhttp_bind_socket_with_handle(c->http, "127.0.0.1", 0);
	assert_non_null(bs);
	c->port = bound_port(evhttp_bound_socket_get_fd(bs));
	c->script.status = 200;
	c->script.reason = "OK";
	c->script.body = TOKEN_BODY;
	c->watchdog = evtimer_new(c->base, on_watchdog, c);
	assert_non_null(c->watchdog);
	c->ticker = event_new(c->base, -1, EV_PERSIST, on_tick, c);
	assert_non_null(c->ticker);

	make_config(c, c->port, 2 * USEC_PER_SEC);
	assert_int_equal(upstream_new(c->base, on_done, c, &c->u), 0);
	assert_int_equal(upstream_configure(c->u, &c->cfg), 0);
	*state = c;
	return 0;
}

/* Tear down in the order main does: upstream first, the loop last. */
static int
teardown(void **state)
{
	struct ctx *c = *state;

	upstream_free(c->u);
	reply_clear(&c->reply);
	free_config(&c->cfg);
	/* A held request is answered (or freed, if its client is gone). */
	for (unsigned i = 0; i < c->n_stalled; i++)
		evhttp_send_reply(c->stalled[i], 500, "Gone", NULL);
	evhttp_free(c->http);
	event_free(c->watchdog);
	event_free(c->ticker);
	event_base_free(c->base);
	free(c);
	return 0;
}

/* Parse what the server received as a JSON object. */
static struct json_object *
seen_json(const struct ctx *c)
{
	struct json_object *o = json_tokener_parse(c->seen.body);

	assert_non_null(o);
	assert_true(json_object_is_type(o, json_type_object));
	return o;
}

/* Assert string member key of o equals want. */
static void
assert_json_string(struct json_object *o, const char *key, const char *want)
{
	struct json_object *v;

	assert_true(json_object_object_get_ex(o, key, &v));
	assert_true(json_object_is_type(v, json_type_string));
	assert_string_equal(json_object_get_string(v), want);
}

/* ---- what is sent ---- */

static void
token_request_posts_to_accesstokenrequest(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(upstream_request_token(c->u, NULL), 0);
	run(c);
	assert_int_equal(c->seen.n, 1);
	assert_int_equal(c->seen.method, EVHTTP_REQ_POST);
	assert_string_equal(c->seen.uri, "/v1/auth/accesstokenrequest");
}

static void
token_request_body_has_exactly_the_contract_fields(void **state)
{
	struct ctx *c = *state;
	struct json_object *o, *cid;

	assert_int_equal(upstream_request_token(c->u, NULL), 0);
	run(c);
	o = seen_json(c);
	assert_int_equal(json_object_object_length(o), 7);
	assert_json_string(o, "name", "trader");
	assert_json_string(o, "password", PASSWORD);
	assert_json_string(o, "appId", "tvtokend-test");
	assert_json_string(o, "appVersion", "1.0");
	assert_json_string(o, "sec", SECRET);
	assert_json_string(o, "deviceId", "dev-0001");
	assert_true(json_object_object_get_ex(o, "cid", &cid));
	assert_true(json_object_is_type(cid, json_type_int));
	assert_int_equal(json_object_get_int64(cid), 1234);
	assert_false(json_object_object_get_ex(o, "p-ticket", NULL));
	json_object_put(o);
}

static void
token_request_sends_json_content_type_accept_and_user_agent(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(upstream_request_token(c->u, NULL), 0);
	run(c);
	assert_true(c->seen.has_content_type);
	assert_string_equal(c->seen.content_type, "application/json");
	assert_string_equal(c->seen.accept, "application/json");
	assert_string_equal(c->seen.user_agent, "tvtokend/" TVTOKEND_VERSION);
	assert_false(c->seen.has_authorization);
	assert_false(c->seen.has_expect);
}

static void
penalty_resend_is_the_same_body_plus_p_ticket(void **state)
{
	struct ctx *c = *state;
	struct json_object *first, *again;

	assert_int_equal(upstream_request_token(c->u, NULL), 0);
	run(c);
	first = seen_json(c);
	assert_int_equal(upstream_request_token(c->u, "TICKET-42"), 0);
	run(c);
	again = seen_json(c);
	assert_int_equal(c->seen.n, 2);
	assert_json_string(again, "p-ticket", "TICKET-42");
	json_object_object_del(again, "p-ticket");
	assert_true(json_object_equal(first, again));
	json_object_put(first);
	json_object_put(again);
}

static void
renewal_gets_renewaccesstoken_with_bearer_and_accept(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(upstream_renew(c->u, ACCESS_TOKEN, NULL), 0);
	run(c);
	assert_int_equal(c->seen.method, EVHTTP_REQ_GET);
	assert_string_equal(c->seen.uri, "/v1/auth/renewaccesstoken");
	assert_true(c->seen.has_authorization);
	assert_string_equal(c->seen.authorization, "Bearer " ACCESS_TOKEN);
	assert_string_equal(c->seen.accept, "application/json");
	assert_string_equal(c->seen.user_agent, "tvtokend/" TVTOKEND_VERSION);
	assert_false(c->seen.has_content_type);
	assert_int_equal(c->seen.body_len, 0);
	assert_null(strstr(c->seen.uri, ACCESS_TOKEN));
}

static void
base_url_with_trailing_slash_gives_the_same_path(void **state)
{
	struct ctx *c = *state;
	char url[64];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/", c->port);
	free(c->cfg.base_url);
	c->cfg.base_url = strdup(url);
	assert_non_null(c->cfg.base_url);
	assert_int_equal(upstream_configure(c->u, &c->cfg), 0);
	assert_int_equal(upstream_renew(c->u, ACCESS_TOKEN, NULL), 0);
	run(c);
	assert_string_equal(c->seen.uri, "/v1/auth/renewaccesstoken");
}

/* ---- what comes back ---- */

static void
token_reply_is_classified_success(void **state)
{
	struct ctx *c = *state;

	c->script.header_name[0] = "Content-Type";
	c->script.header_value[0] = "application/json";
	assert_int_equal(upstream_request_token(c->u, NULL), 0);
	run(c);
	assert_int_equal(c->n_done, 1);
	assert_int_equal(c->reply.kind, REPLY_KIND_REQUEST);
	assert_int_equal(c->reply.outcome, REPLY_SUCCESS);
	assert_int_equal(c->reply.http_status, 200);
	assert_string_equal(c->reply.token.access_token, "AT-new");
	assert_string_equal(c->reply.token.md_access_token, "MD-new");
	assert_int_equal(c->reply.token.user_id, 7);
	assert_true(c->reply.duration > 0);
	assert_true(c->reply.duration < 2 * USEC_PER_SEC);
	assert_false(upstream_busy(c->u));
}

static void
renewal_401_is_classified_as_a_renewal(void **state)
{
	struct ctx *c = *state;

	c->script.status = 401;
	c->script.reason = "Unauthorized";
	c->script.body = NULL;
	assert_int_equal(upstream_renew(c->u, ACCESS_TOKEN, NULL), 0);
	run(c);
	assert_int_equal(c->reply.kind, REPLY_KIND_RENEWAL);
	assert_int_equal(c->reply.outcome, REPLY_REFUSED);
	assert_int_equal(c->reply.http_status, 401);
}

static void
retry_after_and_date_headers_reach_classification(void **state)
{
	struct ctx *c = *state;
	usec_t before = time_now();

	c->script.status = 429;
	c->script.reason = "Too Many Requests";
	c->script.body = NULL;
	c->script.header_name[0] = "Retry-After";
	c->script.header_value[0] = "120";
	c->script.header_name[1] = "Date";
	c->script.header_value[1] = "Sun, 06 Nov 1994 08:49:37 GMT";
	assert_int_equal(upstream_request_token(c->u, NULL), 0);
	run(c);
	assert_int_equal(c->reply.outcome, REPLY_RATE_LIMITED);
	assert_int_equal(c->reply.server_date,
	    (usec_t)784111777 * USEC_PER_SEC);
	assert_true(c->reply.retry_after >= before + 120 * USEC_PER_SEC);
	assert_true(c->reply.retry_after <= time_now() + 120 * USEC_PER_SEC);
}

static void
redirect_is_not_followed(void **state)
{
	struct ctx *c = *state;

	c->script.status = 302;
	c->script.reason = "Found";
	c->script.header_name[0] = "Location";
	c->script.header_value[0] = "/v1/auth/elsewhere";
	assert_int_equal(upstream_renew(c->u, ACCESS_TOKEN, NULL), 0);
	run(c);
	assert_int_equal(c->seen.n, 1);
	assert_int_equal(c->reply.outcome, REPLY_TRANSIENT);
	assert_int_equal(c->reply.http_status, 302);
}

static void
reply_of_exactly_64_kib_is_read(void **state)
{
	struct ctx *c = *state;
	size_t n = 64 * 1024, len = strlen(TOKEN_BODY);
	char *body = malloc(n);

	assert_non_null(body);
	memcpy(body, TOKEN_BODY, len);
	memset(body + len, ' ', n - len);
	c->script.body = body;
	c->script.body_len = n;
	assert_int_equal(upstream_request_token(c->u, NULL), 0);
	run(c);
	assert_int_equal(c->reply.outcome, REPLY_SUCCESS);
	free(body);
}

static void
reply_over_64_kib_is_transient(void **state)
{
	struct ctx *c = *state;
	size_t n = 64 * 1024 + 1, len = strlen(TOKEN_BODY);
	char *body = malloc(n);

	assert_non_null(body);
	memcpy(body, TOKEN_BODY, len);
	memset(body + len, ' ', n - len);
	c->script.body = body;
	c->script.body_len = n;
	assert_int_equal(upstream_request_token(c->u, NULL), 0);
	run(c);
	assert_int_equal(c->reply.outcome, REPLY_TRANSIENT);
	assert_null(c->reply.token.access_token);
	assert_non_null(strstr(c->reply.error, "too large"));
	assert_true(reply_counts_as_failed_request(&c->reply));
	free(body);
}

static void
stalled_server_hits_the_timeout_as_transient(void **state)
{
	struct ctx *c = *state;

	c->cfg.request_timeout = 300 * USEC_PER_MSEC;
	assert_int_equal(upstream_configure(c->u, &c->cfg), 0);
	c->script.stall = true;
	assert_int_equal(upstream_request_token(c->u, NULL), 0);
	run(c);
	assert_int_equal(c->seen.n, 1);
	assert_int_equal(c->reply.outcome, REPLY_TRANSIENT);
	assert_int_equal(c->reply.http_status, 0);
	/* The request had been sent: it counts against the hourly ceiling. */
	assert_true(reply_counts_as_failed_request(&c->reply));
	assert_true(c->reply.duration >= 300 * USEC_PER_MSEC);
	assert_true(c->reply.duration < 2 * USEC_PER_SEC);
}

static void
loop_keeps_ticking_while_a_request_stalls(void **state)
{
	struct ctx *c = *state;
	struct timeval tick = { 0, 20 * 1000 };

	c->cfg.request_timeout = 300 * USEC_PER_MSEC;
	assert_int_equal(upstream_configure(c->u, &c->cfg), 0);
	c->script.stall = true;
	assert_int_equal(event_add(c->ticker, &tick), 0);
	assert_int_equal(upstream_request_token(c->u, NULL), 0);
	run(c);
	event_del(c->ticker);
	assert_int_equal(c->n_done, 1);
	/* 300 ms of 20 ms ticks: a blocked loop would have seen one or two. */
	assert_true(c->ticks_at_done >= 8);
}

static void
connection_refused_is_connect_failed(void **state)
{
	struct ctx *c = *state;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char url[64];

	/* Bound but never listening: connecting there is refused. */
	assert_true(fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1", bound_port(fd));
	free(c->cfg.base_url);
	c->cfg.base_url = strdup(url);
	assert_non_null(c->cfg.base_url);
	assert_int_equal(upstream_configure(c->u, &c->cfg), 0);
	assert_int_equal(upstream_request_token(c->u, NULL), 0);
	run(c);
	close(fd);
	assert_int_equal(c->reply.outcome, REPLY_CONNECT_FAILED);
	assert_int_equal(c->reply.http_status, 0);
	assert_false(reply_counts_as_failed_request(&c->reply));
	assert_true(strncmp(c->reply.error, "connect failed: ", 16) == 0);
	assert_null(strstr(c->reply.error, "hunter2"));
	assert_null(strstr(c->reply.error, SECRET));
}

static void
error_text_never_holds_the_token(void **state)
{
	struct ctx *c = *state;

	c->cfg.request_timeout = 200 * USEC_PER_MSEC;
	assert_int_equal(upstream_configure(c->u, &c->cfg), 0);
	c->script.stall = true;
	assert_int_equal(upstream_renew(c->u, ACCESS_TOKEN, NULL), 0);
	run(c);
	assert_int_equal(c->reply.outcome, REPLY_TRANSIENT);
	assert_true(c->reply.error[0] != '\0');
	assert_null(strstr(c->reply.error, ACCESS_TOKEN));
	assert_null(strstr(c->reply.error, "hunter2"));
}

/*
 * A raw TCP server on the same loop: it reads what arrives first, answers
 * with `answer` (not HTTP), and closes.
 */
struct raw_server {
	int lfd;
	struct event *accept_ev;
	struct event *conn_ev;
	int cfd;
	const char *answer;
	size_t got;
};

/* Read the request's first bytes, answer, close. */
static void
raw_conn_cb(evutil_socket_t fd, short what, void *arg)
{
	struct raw_server *rs = arg;
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n > 0)
		rs->got += (size_t)n;
	if (write(fd, rs->answer, strlen(rs->answer)) < 0)
		fail_msg("raw server write: %s", strerror(errno));
	event_del(rs->conn_ev);
	close(fd);
	rs->cfd = -1;
}

/* Accept the one connection the test makes. */
static void
raw_accept_cb(evutil_socket_t fd, short what, void *arg)
{
	struct raw_server *rs = arg;
	struct event_base *base = event_get_base(rs->accept_ev);

	rs->cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(rs->cfd >= 0);
	rs->conn_ev = event_new(base, rs->cfd, EV_READ, raw_conn_cb, rs);
	assert_non_null(rs->conn_ev);
	assert_int_equal(event_add(rs->conn_ev, NULL), 0);
}

/* Listen on 127.0.0.1 and point the upstream at it. */
static void
raw_server_start(struct ctx *c, struct raw_server *rs, const char *answer)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	char url[64];

	memset(rs, 0, sizeof(*rs));
	rs->cfd = -1;
	rs->answer = answer;
	rs->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	assert_true(rs->lfd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(rs->lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(rs->lfd, 4), 0);
	rs->accept_ev = event_new(c->base, rs->lfd, EV_READ | EV_PERSIST, raw_accept_cb, rs);
	assert_non_null(rs->accept_ev);
	assert_int_equal(event_add(rs->accept_ev, NULL), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1", bound_port(rs->lfd));
	free(c->cfg.base_url);
	c->cfg.base_url = strdup(url);
	assert_non_null(c->cfg.base_url);
	assert_int_equal(upstream_configure(c->u, &c->cfg), 0);
}

static void
raw_server_stop(struct raw_server *rs)
{
	if (rs->conn_ev != NULL)
		event_free(rs->conn_ev);
	if (rs->cfd >= 0)
		close(rs->cfd);
	event_free(rs->accept_ev);
	close(rs->lfd);
}

static void
garbage_instead_of_http_reached_the_server_and_counts(void **state)
{
	struct ctx *c = *state;
	struct raw_server rs;

	/* curl: CURLE_UNSUPPORTED_PROTOCOL, "Received HTTP/0.9 when not allowed". */
	raw_server_start(c, &rs, "garbage\r\n");
	assert_int_equal(upstream_request_token(c->u, NULL), 0);
	run(c);
	raw_server_stop(&rs);
	assert_true(rs.got > 0);
	assert_int_equal(c->reply.outcome, REPLY_TRANSIENT);
	assert_true(reply_counts_as_failed_request(&c->reply));
	assert_true(strncmp(c->reply.error, "request failed: ", 16) == 0);
}

static void
garbage_reply_to_a_renewal_was_sent(void **state)
{
	struct ctx *c = *state;
	struct raw_server rs;

	raw_server_start(c, &rs, "HTTP/9.9 what\r\n\r\n");
	assert_int_equal(upstream_renew(c->u, ACCESS_TOKEN, NULL), 0);
	run(c);
	raw_server_stop(&rs);
	assert_true(rs.got > 0);
	assert_int_equal(c->reply.kind, REPLY_KIND_RENEWAL);
	assert_int_equal(c->reply.outcome, REPLY_TRANSIENT);
}

static void
no_descriptor_left_is_not_sent(void **state)
{
	struct ctx *c = *state;
	struct rlimit saved, tight;
	int probe;

	/* Leave no free descriptor: curl cannot even open its socket (EMFILE). */
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
	probe = dup(0);
	assert_true(probe >= 0);
	close(probe);
	tight = saved;
	tight.rlim_cur = (rlim_t)probe;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &tight), 0);
	assert_int_equal(upstream_request_token(c->u, NULL), 0);
	run(c);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
	assert_int_equal(c->seen.n, 0);
	assert_int_equal(c->reply.outcome, REPLY_CONNECT_FAILED);
	assert_false(reply_counts_as_failed_request(&c->reply));
}

/* ---- busy, cancel, configure ---- */

static void
second_request_while_busy_is_ebusy(void **state)
{
	struct ctx *c = *state;

	assert_false(upstream_busy(c->u));
	assert_int_equal(upstream_request_token(c->u, NULL), 0);
	assert_true(upstream_busy(c->u));
	assert_int_equal(upstream_request_token(c->u, NULL), -EBUSY);
	assert_int_equal(upstream_renew(c->u, ACCESS_TOKEN, NULL), -EBUSY);
	run(c);
	assert_int_equal(c->n_done, 1);
	assert_int_equal(c->seen.n, 1);
}

/* Timer: cancel the request in flight. */
static void
on_cancel_timer(evutil_socket_t fd, short what, void *arg)
{
	struct ctx *c = arg;

	assert_true(upstream_busy(c->u));
	upstream_cancel(c->u);
	assert_false(upstream_busy(c->u));
}

static void
cancel_does_not_call_back(void **state)
{
	struct ctx *c = *state;
	struct timeval at = { 0, 50 * 1000 };
	struct event *ev = evtimer_new(c->base, on_cancel_timer, c);

	assert_non_null(ev);
	c->cfg.request_timeout = 300 * USEC_PER_MSEC;
	assert_int_equal(upstream_configure(c->u, &c->cfg), 0);
	c->script.stall = true;
	assert_int_equal(upstream_request_token(c->u, NULL), 0);
	assert_int_equal(evtimer_add(ev, &at), 0);
	/* Well past the request's own timeout. */
	run_for(c, 600);
	event_free(ev);
	assert_int_equal(c->seen.n, 1);
	assert_int_equal(c->n_done, 0);
	assert_false(upstream_busy(c->u));
}

static void
cancel_allows_a_new_request(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(upstream_request_token(c->u, NULL), 0);
	upstream_cancel(c->u);
	upstream_cancel(c->u);
	assert_false(upstream_busy(c->u));
	assert_int_equal(upstream_renew(c->u, ACCESS_TOKEN, NULL), 0);
	run(c);
	assert_int_equal(c->n_done, 1);
	assert_int_equal(c->reply.kind, REPLY_KIND_RENEWAL);
	assert_int_equal(c->seen.method, EVHTTP_REQ_GET);
}

static void
free_with_a_request_in_flight_does_not_call_back(void **state)
{
	struct ctx *c = *state;

	c->script.stall = true;
	assert_int_equal(upstream_request_token(c->u, NULL), 0);
	run_for(c, 100);
	assert_int_equal(c->seen.n, 1);
	upstream_free(c->u);
	c->u = NULL;
	run_for(c, 50);
	assert_int_equal(c->n_done, 0);
}

static void
request_before_configure_is_einval(void **state)
{
	struct ctx *c = *state;
	struct upstream *u;

	assert_int_equal(upstream_new(c->base, on_done, c, &u), 0);
	assert_int_equal(upstream_request_token(u, NULL), -EINVAL);
	assert_int_equal(upstream_renew(u, ACCESS_TOKEN, NULL), -EINVAL);
	assert_false(upstream_busy(u));
	upstream_free(u);
	upstream_free(NULL);
}

static void
configure_without_secrets_is_einval(void **state)
{
	struct ctx *c = *state;
	char *secret = c->cfg.secret;

	c->cfg.secret = NULL;
	assert_int_equal(upstream_configure(c->u, &c->cfg), -EINVAL);
	c->cfg.secret = secret;
	/* The previous configuration is still in force. */
	assert_int_equal(upstream_request_token(c->u, NULL), 0);
	run(c);
	assert_int_equal(c->reply.outcome, REPLY_SUCCESS);
}

static void
configure_copies_the_config(void **state)
{
	struct ctx *c = *state;
	struct json_object *o;

	/* Overwrite and free the caller's copy: upstream must not need it. */
	explicit_bzero(c->cfg.password, strlen(c->cfg.password));
	explicit_bzero(c->cfg.name, strlen(c->cfg.name));
	free_config(&c->cfg);
	make_config(c, 1, USEC_PER_SEC);
	assert_int_equal(upstream_request_token(c->u, NULL), 0);
	run(c);
	o = seen_json(c);
	assert_json_string(o, "password", PASSWORD);
	assert_json_string(o, "name", "trader");
	json_object_put(o);
}

static void
reconfigure_replaces_the_credentials(void **state)
{
	struct ctx *c = *state;
	struct json_object *o;

	free(c->cfg.password);
	c->cfg.password = strdup("new-password");
	assert_non_null(c->cfg.password);
	assert_int_equal(upstream_configure(c->u, &c->cfg), 0);
	assert_int_equal(upstream_request_token(c->u, NULL), 0);
	run(c);
	o = seen_json(c);
	assert_json_string(o, "password", "new-password");
	json_object_put(o);
}

static void
renew_refuses_a_token_that_would_break_the_header(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(upstream_renew(c->u, "AT\r\nX-Evil: 1", NULL), -EINVAL);
	assert_int_equal(upstream_renew(c->u, "", NULL), -EINVAL);
	assert_int_equal(upstream_renew(c->u, NULL, NULL), -EINVAL);
	assert_false(upstream_busy(c->u));
	assert_int_equal(c->seen.n, 0);
}

/* ---- the done callback may do anything ---- */

/* After the first reply, send a renewal from inside the callback. */
static void
send_next_from_callback(struct ctx *c)
{
	if (c->n_done == 1) {
		assert_false(upstream_busy(c->u));
		assert_int_equal(upstream_renew(c->u, ACCESS_TOKEN, NULL), 0);
		c->keep_running = true;
	} else {
		c->keep_running = false;
	}
}

static void
done_callback_may_send_the_next_request(void **state)
{
	struct ctx *c = *state;

	c->after_done = send_next_from_callback;
	assert_int_equal(upstream_request_token(c->u, NULL), 0);
	run(c);
	assert_int_equal(c->n_done, 2);
	assert_int_equal(c->seen.n, 2);
	assert_int_equal(c->seen.method, EVHTTP_REQ_GET);
	assert_int_equal(c->reply.kind, REPLY_KIND_RENEWAL);
	assert_int_equal(c->reply.outcome, REPLY_SUCCESS);
}

/* Free the upstream from inside its own done callback. */
static void
free_from_callback(struct ctx *c)
{
	upstream_free(c->u);
	c->u = NULL;
}

static void
done_callback_may_free_the_upstream(void **state)
{
	struct ctx *c = *state;

	c->after_done = free_from_callback;
	assert_int_equal(upstream_request_token(c->u, NULL), 0);
	run(c);
	assert_int_equal(c->n_done, 1);
	assert_null(c->u);
	/* Whatever is left on the loop must not touch the freed upstream. */
	run_for(c, 50);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(token_request_posts_to_accesstokenrequest),
		T(token_request_body_has_exactly_the_contract_fields),
		T(token_request_sends_json_content_type_accept_and_user_agent),
		T(penalty_resend_is_the_same_body_plus_p_ticket),
		T(renewal_gets_renewaccesstoken_with_bearer_and_accept),
		T(base_url_with_trailing_slash_gives_the_same_path),
		T(token_reply_is_classified_success),
		T(renewal_401_is_classified_as_a_renewal),
		T(retry_after_and_date_headers_reach_classification),
		T(redirect_is_not_followed),
		T(reply_of_exactly_64_kib_is_read),
		T(reply_over_64_kib_is_transient),
		T(stalled_server_hits_the_timeout_as_transient),
		T(loop_keeps_ticking_while_a_request_stalls),
		T(connection_refused_is_connect_failed),
		T(error_text_never_holds_the_token),
		T(garbage_instead_of_http_reached_the_server_and_counts),
		T(garbage_reply_to_a_renewal_was_sent),
		T(no_descriptor_left_is_not_sent),
		T(second_request_while_busy_is_ebusy),
		T(cancel_does_not_call_back),
		T(cancel_allows_a_new_request),
		T(free_with_a_request_in_flight_does_not_call_back),
		T(request_before_configure_is_einval),
		T(configure_without_secrets_is_einval),
		T(configure_copies_the_config),
		T(reconfigure_replaces_the_credentials),
		T(renew_refuses_a_token_that_would_break_the_header),
		T(done_callback_may_send_the_next_request),
		T(done_callback_may_free_the_upstream),
#undef T
	};
	static const char *const proxies[] = {
		"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
		"all_proxy", "ALL_PROXY",
	};
	int failed;

	/* The test server is local: no proxy from the environment may step in. */
	for (size_t i = 0; i < sizeof(proxies) / sizeof(proxies[0]); i++)
		unsetenv(proxies[i]);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return failed;
}
