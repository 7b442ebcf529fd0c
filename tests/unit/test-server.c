/* SPDX-License-Identifier: MIT */
/*
 * The Varlink socket server (daemon/server.c), driven for real: a server on a
 * temporary socket in this test's own event loop, real client sockets, and a
 * broker faked here (broker_token, broker_report_rejected, broker_lifecycle:
 * the test's definitions keep broker.o out of the link) around a real
 * struct lifecycle that each test sets up.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "broker.h"
#include "config.h"
#include "lifecycle.h"
#include "log.h"
#include "server.h"
#include "timeutil.h"
#include "token.h"
#include "varlink.h"

#define NOBODY 65534
#define TIMEOUT_MS 5000

/* ---- the fake broker ---- */

static struct lifecycle fake_lc;
static enum lc_report fake_report = LC_REPORT_CURRENT;
static int64_t fake_reported = -1;
static unsigned fake_reports;

const struct token *
broker_token(struct broker *b)
{
	return lc_current(&fake_lc, time_now());
}

enum lc_report
broker_report_rejected(struct broker *b, int64_t generation)
{
	fake_reported = generation;
	fake_reports++;
	return fake_report;
}

const struct lifecycle *
broker_lifecycle(struct broker *b)
{
	return &fake_lc;
}

/* The fake broker works alone. */
const char *
broker_role(const struct broker *b)
{
	return "standalone";
}

/* No cluster, no leader. */
const char *
broker_leader(const struct broker *b)
{
	return NULL;
}

/* Hold a token of this generation, valid for another hour (or already expired). */
static void
fake_set_token(uint64_t generation, const char *access, bool expired)
{
	token_clear(&fake_lc.token);
	fake_lc.token.access_token = strdup(access);
	assert_non_null(fake_lc.token.access_token);
	fake_lc.token.expiration = expired ? time_now() - USEC_PER_SEC : time_now() + USEC_PER_HOUR;
	fake_lc.token.generation = generation;
	fake_lc.generation = generation;
	fake_lc.state = expired ? LC_EXPIRED : LC_VALID;
}

/* Drop the token, as the broker does on expiry or refusal. */
static void
fake_drop_token(enum lc_state state)
{
	token_clear(&fake_lc.token);
	fake_lc.state = state;
}

/* ---- the server under test ---- */

static struct event_base *base;
static struct server *srv;
static struct config cfg;
static char dir[64];
static char sock_path[128];
static char broker_dummy;
static struct rlimit nofile_limit;   /* restored after every test */
static int stderr_saved = -1;        /* stderr while a test captures it */
static char stderr_path[160];

#define BROKER ((struct broker *)&broker_dummy)

/* Run the loop for about ms milliseconds. */
static void
pump(int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

static int
setup(void **state)
{
	struct lc_params p = {
		.renew_before = 15 * USEC_PER_MIN,
		.retry_min = USEC_PER_SEC,
		.retry_max = 5 * USEC_PER_MIN,
		.lockout = USEC_PER_HOUR,
		.max_renewals = 12,
		.max_failed = 4,
	};

	lc_init(&fake_lc, &p, NULL, NULL);
	fake_report = LC_REPORT_CURRENT;
	fake_reported = -1;
	fake_reports = 0;

	snprintf(dir, sizeof(dir), "/tmp/test-server-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(sock_path, sizeof(sock_path), "%s/run/io.tvtokend.Broker", dir);
	memset(&cfg, 0, sizeof(cfg));
	cfg.socket = sock_path;
	cfg.socket_mode = 0660;
	cfg.max_clients = 16;

	base = event_base_new();
	if (base == NULL)
		return -1;
	srv = NULL;
	stderr_saved = -1;
	return getrlimit(RLIMIT_NOFILE, &nofile_limit);
}

static int
teardown(void **state)
{
	char sub[160];

	if (stderr_saved >= 0) {
		fflush(stderr);
		dup2(stderr_saved, STDERR_FILENO);
		close(stderr_saved);
		stderr_saved = -1;
		unlink(stderr_path);
	}

	setrlimit(RLIMIT_NOFILE, &nofile_limit);
	server_free(srv);
	srv = NULL;
	event_base_free(base);
	base = NULL;
	lc_free(&fake_lc);
	unlink(sock_path);
	snprintf(sub, sizeof(sub), "%s/run", dir);
	rmdir(sub);
	rmdir(dir);
	return 0;
}

/* Start the server on cfg. */
static void
start(void)
{
	assert_int_equal(server_new(base, &cfg, BROKER, -1, &srv), 0);
	assert_non_null(srv);
}

/* ---- a test client ---- */

struct tc {
	int fd;
	char buf[1 << 17];
	size_t len;
	bool eof;
};

/* Connect a non-blocking client to path. */
static struct tc *
tc_connect_to(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct tc *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	assert_true((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path) < sizeof(sun.sun_path));
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c->fd >= 0);
	assert_int_equal(connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(fcntl(c->fd, F_SETFL, O_NONBLOCK), 0);
	return c;
}

static struct tc *
tc_connect(void)
{
	return tc_connect_to(sock_path);
}

static void
tc_close(struct tc *c)
{
	if (c == NULL)
		return;
	close(c->fd);
	free(c);
}

/* Send raw bytes (the caller adds the NULs). */
static void
tc_send_raw(struct tc *c, const char *s, size_t n)
{
	size_t off = 0;
	ssize_t w;

	while (off < n) {
		w = send(c->fd, s + off, n - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EAGAIN) {
			pump(1);
			continue;
		}
		assert_true(w > 0);
		off += (size_t)w;
	}
}

/* Send raw bytes until done or the server hangs up; false when it did. */
static bool
tc_send_raw_try(struct tc *c, const char *s, size_t n)
{
	size_t off = 0;
	ssize_t w;

	while (off < n) {
		w = send(c->fd, s + off, n - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EAGAIN) {
			pump(1);
			continue;
		}
		if (w <= 0)
			return false;
		off += (size_t)w;
	}
	return true;
}

/* Send one message and its NUL. */
static void
tc_send(struct tc *c, const char *json)
{
	tc_send_raw(c, json, strlen(json) + 1);
}

/* Read what the socket has; false when nothing came. */
static bool
tc_fill(struct tc *c)
{
	ssize_t n;

	if (c->eof || c->len == sizeof(c->buf))
		return false;
	n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
		c->eof = true;
		return true;
	}
	if (n < 0)
		return false;
	c->len += (size_t)n;
	return true;
}

/* The next message as raw text (malloc'd), waiting up to ms; NULL on EOF or timeout. */
static char *
tc_next_raw(struct tc *c, int ms)
{
	usec_t deadline = time_monotonic() + (usec_t)ms * USEC_PER_MSEC;
	char *nul, *msg;
	size_t n;

	for (;;) {
		nul = memchr(c->buf, '\0', c->len);
		if (nul != NULL) {
			n = (size_t)(nul - c->buf);
			msg = strdup(c->buf);
			assert_non_null(msg);
			memmove(c->buf, nul + 1, c->len - n - 1);
			c->len -= n + 1;
			return msg;
		}
		if (c->eof || time_monotonic() > deadline)
			return NULL;
		pump(2);
		while (tc_fill(c))
			;
	}
}

/* The next message parsed, waiting up to ms; NULL on EOF or timeout. */
static struct json_object *
tc_next(struct tc *c, int ms)
{
	char *raw = tc_next_raw(c, ms);
	struct json_object *o;

	if (raw == NULL)
		return NULL;
	o = json_tokener_parse(raw);
	assert_non_null(o);
	free(raw);
	return o;
}

/* The next reply, which must come. */
static struct json_object *
tc_reply(struct tc *c)
{
	struct json_object *o = tc_next(c, TIMEOUT_MS);

	assert_non_null(o);
	return o;
}

/* Whether the server closed the connection within ms (no message may come first). */
static bool
tc_closed(struct tc *c, int ms)
{
	char *raw = tc_next_raw(c, ms);

	if (raw != NULL) {
		print_error("unexpected message: %s\n", raw);
		free(raw);
		return false;
	}
	return c->eof;
}

/* Nothing arrives for a while, and the connection stays open. */
static void
tc_assert_quiet(struct tc *c)
{
	char *raw = tc_next_raw(c, 100);

	if (raw != NULL)
		print_error("unexpected message: %s\n", raw);
	assert_null(raw);
	assert_false(c->eof);
}

/* The error name of a reply, or NULL. */
static const char *
j_error(struct json_object *o)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, "error", &v))
		return NULL;
	return json_object_get_string(v);
}

/* A member of a reply's parameters (NULL when absent). */
static struct json_object *
j_param(struct json_object *o, const char *key)
{
	struct json_object *p, *v;

	if (!json_object_object_get_ex(o, "parameters", &p) ||
	    !json_object_object_get_ex(p, key, &v))
		return NULL;
	return v;
}

/* A member of an object (NULL when absent). */
static struct json_object *
j_get(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

static bool
j_has(struct json_object *o, const char *key)
{
	return json_object_object_get_ex(o, key, NULL);
}

static bool
j_continues(struct json_object *o)
{
	struct json_object *v = j_get(o, "continues");

	return v != NULL && json_object_get_boolean(v);
}

/* Assert o is an error reply with this name. */
static void
assert_error(struct json_object *o, const char *name)
{
	const char *e = j_error(o);

	if (e == NULL || strcmp(e, name) != 0)
		print_error("reply: %s\n", json_object_to_json_string(o));
	assert_non_null(e);
	assert_string_equal(e, name);
}

/* Assert o is a (non-error) reply carrying the token of this generation and access text. */
static void
assert_token_reply(struct json_object *o, uint64_t generation, const char *access)
{
	struct json_object *t;

	if (j_error(o) != NULL)
		print_error("reply: %s\n", json_object_to_json_string(o));
	assert_null(j_error(o));
	t = j_param(o, "token");
	assert_non_null(t);
	assert_string_equal(json_object_get_string(j_get(t, "accessToken")), access);
	assert_int_equal(json_object_get_int64(j_get(t, "generation")), generation);
}

/* ---- org.varlink.service ---- */

static void
test_get_info_names_the_service_and_its_interfaces(void **state)
{
	struct tc *c;
	struct json_object *r, *ifs;

	start();
	c = tc_connect();
	tc_send(c, "{\"method\":\"org.varlink.service.GetInfo\"}");
	r = tc_reply(c);
	assert_null(j_error(r));
	assert_string_equal(json_object_get_string(j_param(r, "vendor")), "tvtokend");
	assert_string_equal(json_object_get_string(j_param(r, "product")), "tvtokend");
	assert_string_equal(json_object_get_string(j_param(r, "version")), TVTOKEND_VERSION);
	assert_string_equal(json_object_get_string(j_param(r, "url")), "https://github.com/tvtokend/tvtokend");
	ifs = j_param(r, "interfaces");
	assert_true(json_object_is_type(ifs, json_type_array));
	assert_int_equal(json_object_array_length(ifs), 2);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(ifs, 0)), "org.varlink.service");
	assert_string_equal(json_object_get_string(json_object_array_get_idx(ifs, 1)), "io.tvtokend.Broker");
	assert_false(j_has(r, "continues"));
	json_object_put(r);
	tc_close(c);
}

static void
test_broker_interface_description_is_the_contract_text(void **state)
{
	struct tc *c;
	struct json_object *r;
	const char *d;

	start();
	c = tc_connect();
	tc_send(c, "{\"method\":\"org.varlink.service.GetInterfaceDescription\","
		   "\"parameters\":{\"interface\":\"io.tvtokend.Broker\"}}");
	r = tc_reply(c);
	assert_null(j_error(r));
	d = json_object_get_string(j_param(r, "description"));
	assert_non_null(d);
	assert_true(strncmp(d, "# One shared Tradovate access token for every local process.\n"
			       "interface io.tvtokend.Broker\n", 90) == 0);
	assert_non_null(strstr(d, "method GetToken(wait: ?bool) -> (token: Token)\n"));
	assert_non_null(strstr(d, "method ReportRejected(generation: int) -> (token: Token)\n"));
	assert_non_null(strstr(d, "  failedRequestsLeftThisHour: int,\n"));
	assert_non_null(strstr(d, "# With \"more\": the current token, then one reply per change, until the client hangs up.\n"));
	assert_non_null(strstr(d, "\nerror NoToken (state: string, reason: string, retryAt: ?string)\n"));
	json_object_put(r);
	tc_close(c);
}

static void
test_service_interface_description_lists_its_methods_and_errors(void **state)
{
	static const char *const want[] = {
		"interface org.varlink.service\n", "method GetInfo()", "interfaces: []string",
		"method GetInterfaceDescription(interface: string) -> (description: string)",
		"error InterfaceNotFound (interface: string)", "error MethodNotFound (method: string)",
		"error MethodNotImplemented (method: string)", "error InvalidParameter (parameter: string)",
		"error PermissionDenied ()", "error ExpectedMore ()",
	};
	struct tc *c;
	struct json_object *r;
	const char *d;
	size_t i;

	start();
	c = tc_connect();
	tc_send(c, "{\"method\":\"org.varlink.service.GetInterfaceDescription\","
		   "\"parameters\":{\"interface\":\"org.varlink.service\"}}");
	r = tc_reply(c);
	d = json_object_get_string(j_param(r, "description"));
	assert_non_null(d);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_non_null(strstr(d, want[i]));
	json_object_put(r);
	tc_close(c);
}

static void
test_description_of_an_unknown_interface_is_interface_not_found(void **state)
{
	struct tc *c;
	struct json_object *r;

	start();
	c = tc_connect();
	tc_send(c, "{\"method\":\"org.varlink.service.GetInterfaceDescription\","
		   "\"parameters\":{\"interface\":\"org.example.Nope\"}}");
	r = tc_reply(c);
	assert_error(r, "org.varlink.service.InterfaceNotFound");
	assert_string_equal(json_object_get_string(j_param(r, "interface")), "org.example.Nope");
	json_object_put(r);
	tc_close(c);
}

static void
test_an_unknown_method_is_method_not_found(void **state)
{
	struct tc *c;
	struct json_object *r;

	start();
	c = tc_connect();
	tc_send(c, "{\"method\":\"io.tvtokend.Broker.Explode\",\"parameters\":{}}");
	r = tc_reply(c);
	assert_error(r, "org.varlink.service.MethodNotFound");
	assert_string_equal(json_object_get_string(j_param(r, "method")), "io.tvtokend.Broker.Explode");
	json_object_put(r);
	tc_close(c);
}

static void
test_an_unknown_interface_is_interface_not_found(void **state)
{
	struct tc *c;
	struct json_object *r;

	start();
	c = tc_connect();
	tc_send(c, "{\"method\":\"org.example.Thing.GetToken\"}");
	r = tc_reply(c);
	assert_error(r, "org.varlink.service.InterfaceNotFound");
	assert_string_equal(json_object_get_string(j_param(r, "interface")), "org.example.Thing");
	json_object_put(r);
	tc_close(c);
}

static void
test_an_unknown_parameter_is_invalid_parameter(void **state)
{
	struct tc *c;
	struct json_object *r;

	start();
	c = tc_connect();
	tc_send(c, "{\"method\":\"io.tvtokend.Broker.GetToken\",\"parameters\":{\"wait\":false,\"hurry\":true}}");
	r = tc_reply(c);
	assert_error(r, "org.varlink.service.InvalidParameter");
	assert_string_equal(json_object_get_string(j_param(r, "parameter")), "hurry");
	json_object_put(r);
	tc_close(c);
}

static void
test_a_parameter_of_the_wrong_type_is_invalid_parameter(void **state)
{
	struct tc *c;
	struct json_object *r;

	start();
	c = tc_connect();
	tc_send(c, "{\"method\":\"io.tvtokend.Broker.ReportRejected\",\"parameters\":{\"generation\":\"3\"}}");
	r = tc_reply(c);
	assert_error(r, "org.varlink.service.InvalidParameter");
	assert_string_equal(json_object_get_string(j_param(r, "parameter")), "generation");
	json_object_put(r);
	assert_int_equal(fake_reports, 0);
	tc_close(c);
}

static void
test_a_missing_required_parameter_is_invalid_parameter(void **state)
{
	struct tc *c;
	struct json_object *r;

	start();
	c = tc_connect();
	tc_send(c, "{\"method\":\"io.tvtokend.Broker.ReportRejected\",\"parameters\":{}}");
	r = tc_reply(c);
	assert_error(r, "org.varlink.service.InvalidParameter");
	assert_string_equal(json_object_get_string(j_param(r, "parameter")), "generation");
	json_object_put(r);
	tc_close(c);
}

static void
test_a_call_with_a_non_string_method_is_invalid_parameter_method(void **state)
{
	struct tc *c;
	struct json_object *r;

	start();
	c = tc_connect();
	tc_send(c, "{\"method\":7}");
	r = tc_reply(c);
	assert_error(r, "org.varlink.service.InvalidParameter");
	assert_string_equal(json_object_get_string(j_param(r, "parameter")), "method");
	json_object_put(r);
	/* The connection is still served. */
	tc_send(c, "{\"method\":\"org.varlink.service.GetInfo\"}");
	r = tc_reply(c);
	assert_null(j_error(r));
	json_object_put(r);
	tc_close(c);
}

/* ---- GetToken ---- */

static void
test_get_token_returns_the_current_token(void **state)
{
	struct tc *c;
	struct json_object *r, *t;
	char when[TIME_RFC3339_MAX];

	fake_set_token(3, "tok-three", false);
	fake_lc.token.has_user_id = true;
	fake_lc.token.user_id = 12345;
	fake_lc.token.name = strdup("trader");
	start();
	c = tc_connect();
	tc_send(c, "{\"method\":\"io.tvtokend.Broker.GetToken\"}");
	r = tc_reply(c);
	assert_token_reply(r, 3, "tok-three");
	t = j_param(r, "token");
	assert_string_equal(json_object_get_string(j_get(t, "expirationTime")),
			    time_format_rfc3339(fake_lc.token.expiration, when));
	assert_int_equal(json_object_get_int64(j_get(t, "userId")), 12345);
	assert_string_equal(json_object_get_string(j_get(t, "name")), "trader");
	assert_true(j_get(t, "mdAccessToken") == NULL);
	assert_false(j_has(r, "continues"));
	json_object_put(r);
	tc_close(c);
}

static void
test_get_token_includes_the_market_data_token_when_held(void **state)
{
	struct tc *c;
	struct json_object *r, *t;

	fake_set_token(1, "tok-one", false);
	fake_lc.token.md_access_token = strdup("md-one");
	start();
	c = tc_connect();
	tc_send(c, "{\"method\":\"io.tvtokend.Broker.GetToken\",\"parameters\":{}}");
	r = tc_reply(c);
	t = j_param(r, "token");
	assert_string_equal(json_object_get_string(j_get(t, "mdAccessToken")), "md-one");
	assert_false(j_has(t, "userId"));
	assert_false(j_has(t, "name"));
	json_object_put(r);
	tc_close(c);
}

static void
test_get_token_without_a_token_is_no_token(void **state)
{
	struct tc *c;
	struct json_object *r;
	char when[TIME_RFC3339_MAX];

	fake_lc.state = LC_BACKOFF;
	fake_lc.retry_at = time_now() + 30 * USEC_PER_SEC;
	start();
	c = tc_connect();
	tc_send(c, "{\"method\":\"io.tvtokend.Broker.GetToken\"}");
	r = tc_reply(c);
	assert_error(r, "io.tvtokend.Broker.NoToken");
	assert_string_equal(json_object_get_string(j_param(r, "state")), "backoff");
	assert_string_equal(json_object_get_string(j_param(r, "reason")), lc_no_token_reason(&fake_lc));
	assert_string_equal(json_object_get_string(j_param(r, "retryAt")),
			    time_format_rfc3339(fake_lc.retry_at, when));
	json_object_put(r);
	tc_close(c);
}

static void
test_no_token_leaves_out_retry_at_when_nothing_is_scheduled(void **state)
{
	struct tc *c;
	struct json_object *r;

	fake_lc.state = LC_CREDENTIALS_REJECTED;
	start();
	c = tc_connect();
	tc_send(c, "{\"method\":\"io.tvtokend.Broker.GetToken\"}");
	r = tc_reply(c);
	assert_error(r, "io.tvtokend.Broker.NoToken");
	assert_string_equal(json_object_get_string(j_param(r, "state")), "credentials_rejected");
	assert_false(j_has(j_get(r, "parameters"), "retryAt"));
	json_object_put(r);
	tc_close(c);
}

static void
test_get_token_checks_expiry_when_it_replies(void **state)
{
	struct tc *c;
	struct json_object *r;

	/* Held but past its expiration: never served. */
	fake_set_token(2, "tok-stale", true);
	start();
	c = tc_connect();
	tc_send(c, "{\"method\":\"io.tvtokend.Broker.GetToken\"}");
	r = tc_reply(c);
	assert_error(r, "io.tvtokend.Broker.NoToken");
	json_object_put(r);
	tc_close(c);
}

static void
test_get_token_wait_is_answered_by_the_next_token(void **state)
{
	struct tc *c;
	struct json_object *r;

	fake_lc.state = LC_REQUESTING;
	start();
	c = tc_connect();
	tc_send(c, "{\"method\":\"io.tvtokend.Broker.GetToken\",\"parameters\":{\"wait\":true}}");
	tc_assert_quiet(c);
	fake_set_token(1, "tok-first", false);
	server_token_new(srv);
	r = tc_reply(c);
	assert_token_reply(r, 1, "tok-first");
	assert_false(j_has(r, "continues"));
	json_object_put(r);
	tc_close(c);
}

static void
test_get_token_wait_survives_a_token_loss(void **state)
{
	struct tc *c;
	struct json_object *r;

	fake_lc.state = LC_BACKOFF;
	start();
	c = tc_connect();
	tc_send(c, "{\"method\":\"io.tvtokend.Broker.GetToken\",\"parameters\":{\"wait\":true}}");
	tc_assert_quiet(c);
	server_token_lost(srv);
	tc_assert_quiet(c);
	fake_set_token(4, "tok-four", false);
	server_token_new(srv);
	r = tc_reply(c);
	assert_token_reply(r, 4, "tok-four");
	json_object_put(r);
	tc_close(c);
}

static void
test_get_token_wait_ends_with_no_token_when_the_broker_gives_up(void **state)
{
	struct tc *c;
	struct json_object *r;

	fake_lc.state = LC_REQUESTING;
	start();
	c = tc_connect();
	tc_send(c, "{\"method\":\"io.tvtokend.Broker.GetToken\",\"parameters\":{\"wait\":true}}");
	tc_assert_quiet(c);
	fake_lc.state = LC_CREDENTIALS_REJECTED;
	server_gave_up(srv);
	r = tc_reply(c);
	assert_error(r, "io.tvtokend.Broker.NoToken");
	assert_string_equal(json_object_get_string(j_param(r, "state")), "credentials_rejected");
	json_object_put(r);
	tc_close(c);
}

static void
test_get_token_wait_when_the_broker_has_given_up_is_no_token_at_once(void **state)
{
	struct tc *c;
	struct json_object *r;

	fake_lc.state = LC_LOCKED_OUT;
	start();
	c = tc_connect();
	tc_send(c, "{\"method\":\"io.tvtokend.Broker.GetToken\",\"parameters\":{\"wait\":true}}");
	r = tc_reply(c);
	assert_error(r, "io.tvtokend.Broker.NoToken");
	assert_string_equal(json_object_get_string(j_param(r, "state")), "locked_out");
	json_object_put(r);
	tc_close(c);
}

static void
test_get_token_more_streams_each_change_until_the_token_is_lost(void **state)
{
	struct tc *c;
	struct json_object *r;

	fake_set_token(1, "tok-a", false);
	start();
	c = tc_connect();
	tc_send(c, "{\"method\":\"io.tvtokend.Broker.GetToken\",\"more\":true}");
	r = tc_reply(c);
	assert_token_reply(r, 1, "tok-a");
	assert_true(j_continues(r));
	json_object_put(r);
	assert_int_equal(server_watchers(srv), 1);

	fake_set_token(2, "tok-b", false);
	server_token_new(srv);
	r = tc_reply(c);
	assert_token_reply(r, 2, "tok-b");
	assert_true(j_continues(r));
	json_object_put(r);

	fake_set_token(3, "tok-c", false);
	server_token_new(srv);
	r = tc_reply(c);
	assert_token_reply(r, 3, "tok-c");
	assert_true(j_continues(r));
	json_object_put(r);

	fake_drop_token(LC_EXPIRED);
	server_token_lost(srv);
	r = tc_reply(c);
	assert_error(r, "io.tvtokend.Broker.NoToken");
	assert_false(j_has(r, "continues"));
	assert_string_equal(json_object_get_string(j_param(r, "state")), "expired");
	json_object_put(r);
	pump(10);
	assert_int_equal(server_watchers(srv), 0);
	tc_close(c);
}

static void
test_a_stream_does_not_repeat_a_generation(void **state)
{
	struct tc *c;
	struct json_object *r;

	fake_set_token(5, "tok-5", false);
	start();
	c = tc_connect();
	tc_send(c, "{\"method\":\"io.tvtokend.Broker.GetToken\",\"more\":true}");
	r = tc_reply(c);
	assert_token_reply(r, 5, "tok-5");
	json_object_put(r);
	server_token_new(srv);
	tc_assert_quiet(c);
	tc_close(c);
}

static void
test_get_token_more_without_a_token_and_without_wait_is_no_token(void **state)
{
	struct tc *c;
	struct json_object *r;

	fake_lc.state = LC_REQUESTING;
	start();
	c = tc_connect();
	tc_send(c, "{\"method\":\"io.tvtokend.Broker.GetToken\",\"more\":true}");
	r = tc_reply(c);
	assert_error(r, "io.tvtokend.Broker.NoToken");
	json_object_put(r);
	tc_close(c);
}

static void
test_get_token_more_with_wait_waits_then_streams(void **state)
{
	struct tc *c;
	struct json_object *r;

	fake_lc.state = LC_REQUESTING;
	start();
	c = tc_connect();
	tc_send(c, "{\"method\":\"io.tvtokend.Broker.GetToken\",\"parameters\":{\"wait\":true},\"more\":true}");
	tc_assert_quiet(c);
	assert_int_equal(server_watchers(srv), 1);
	fake_set_token(1, "tok-1", false);
	server_token_new(srv);
	r = tc_reply(c);
	assert_token_reply(r, 1, "tok-1");
	assert_true(j_continues(r));
	json_object_put(r);
	fake_set_token(2, "tok-2", false);
	server_token_new(srv);
	r = tc_reply(c);
	assert_token_reply(r, 2, "tok-2");
	assert_true(j_continues(r));
	json_object_put(r);
	tc_close(c);
}

static void
test_hanging_up_ends_a_held_call(void **state)
{
	struct tc *c;

	fake_lc.state = LC_REQUESTING;
	start();
	c = tc_connect();
	tc_send(c, "{\"method\":\"io.tvtokend.Broker.GetToken\",\"parameters\":{\"wait\":true},\"more\":true}");
	pump(20);
	assert_int_equal(server_clients(srv), 1);
	assert_int_equal(server_watchers(srv), 1);
	tc_close(c);
	pump(20);
	assert_int_equal(server_clients(srv), 0);
	assert_int_equal(server_watchers(srv), 0);
	/* Nothing is written to the departed client. */
	fake_set_token(1, "tok-1", false);
	server_token_new(srv);
	pump(10);
}

static void
test_a_client_that_half_closes_still_gets_its_replies(void **state)
{
	static const char calls[] =
		"{\"method\":\"org.varlink.service.GetInfo\"}\0"
		"{\"method\":\"io.tvtokend.Broker.GetStatus\"}";
	struct tc *c;
	struct json_object *r;

	start();
	c = tc_connect();
	tc_send_raw(c, calls, sizeof(calls));
	assert_int_equal(shutdown(c->fd, SHUT_WR), 0);
	r = tc_reply(c);
	assert_string_equal(json_object_get_string(j_param(r, "vendor")), "tvtokend");
	json_object_put(r);
	r = tc_reply(c);
	assert_true(j_has(j_get(r, "parameters"), "watchers"));
	json_object_put(r);
	assert_true(tc_closed(c, TIMEOUT_MS));
	assert_int_equal(server_clients(srv), 0);
	tc_close(c);
}

/* ---- ReportRejected ---- */

static void
test_report_rejected_of_an_invalid_generation_is_invalid_parameter(void **state)
{
	struct tc *c;
	struct json_object *r;

	fake_set_token(2, "tok-2", false);
	fake_report = LC_REPORT_INVALID;
	start();
	c = tc_connect();
	tc_send(c, "{\"method\":\"io.tvtokend.Broker.ReportRejected\",\"parameters\":{\"generation\":9}}");
	r = tc_reply(c);
	assert_error(r, "org.varlink.service.InvalidParameter");
	assert_string_equal(json_object_get_string(j_param(r, "parameter")), "generation");
	assert_int_equal(fake_reported, 9);
	json_object_put(r);
	tc_close(c);
}

static void
test_report_rejected_without_a_token_is_no_token(void **state)
{
	struct tc *c;
	struct json_object *r;

	fake_lc.state = LC_BACKOFF;
	fake_report = LC_REPORT_NO_TOKEN;
	start();
	c = tc_connect();
	tc_send(c, "{\"method\":\"io.tvtokend.Broker.ReportRejected\",\"parameters\":{\"generation\":1}}");
	r = tc_reply(c);
	assert_error(r, "io.tvtokend.Broker.NoToken");
	json_object_put(r);
	tc_close(c);
}

static void
test_report_rejected_of_an_old_generation_returns_the_current_token(void **state)
{
	struct tc *c;
	struct json_object *r;

	fake_set_token(7, "tok-7", false);
	fake_report = LC_REPORT_CURRENT;
	start();
	c = tc_connect();
	tc_send(c, "{\"method\":\"io.tvtokend.Broker.ReportRejected\",\"parameters\":{\"generation\":6}}");
	r = tc_reply(c);
	assert_token_reply(r, 7, "tok-7");
	assert_int_equal(fake_reported, 6);
	json_object_put(r);
	tc_close(c);
}

static void
test_report_rejected_waits_for_the_renewed_token(void **state)
{
	struct tc *c;
	struct json_object *r;

	fake_set_token(7, "tok-7", false);
	fake_report = LC_REPORT_WAIT;
	start();
	c = tc_connect();
	tc_send(c, "{\"method\":\"io.tvtokend.Broker.ReportRejected\",\"parameters\":{\"generation\":7}}");
	tc_assert_quiet(c);
	fake_set_token(8, "tok-8", false);
	server_token_new(srv);
	r = tc_reply(c);
	assert_token_reply(r, 8, "tok-8");
	json_object_put(r);
	tc_close(c);
}

static void
test_report_rejected_waiting_survives_a_refused_renewal_and_gets_the_replacement(void **state)
{
	struct tc *c;
	struct json_object *r;

	fake_set_token(7, "tok-7", false);
	fake_report = LC_REPORT_WAIT;
	start();
	c = tc_connect();
	tc_send(c, "{\"method\":\"io.tvtokend.Broker.ReportRejected\",\"parameters\":{\"generation\":7}}");
	tc_assert_quiet(c);
	/* The renewal is refused: the token is dropped and a new one requested... */
	fake_drop_token(LC_REQUESTING);
	server_token_lost(srv);
	tc_assert_quiet(c);
	/* ...and the replacement answers the report. */
	fake_set_token(8, "tok-8", false);
	server_token_new(srv);
	r = tc_reply(c);
	assert_token_reply(r, 8, "tok-8");
	json_object_put(r);
	tc_close(c);
}

static void
test_report_rejected_waiting_gets_the_current_token_when_the_broker_gives_up(void **state)
{
	struct tc *c;
	struct json_object *r, *tok;

	fake_set_token(7, "tok-7", false);
	fake_report = LC_REPORT_WAIT;
	start();
	c = tc_connect();
	tc_send(c, "{\"method\":\"io.tvtokend.Broker.ReportRejected\",\"parameters\":{\"generation\":7}}");
	tc_assert_quiet(c);
	/* A lockout while the token is still valid: the renewal will not come, the token stays. */
	fake_lc.state = LC_LOCKED_OUT;
	server_gave_up(srv);
	r = tc_reply(c);
	assert_true(json_object_object_get_ex(r, "parameters", &tok));
	assert_true(json_object_object_get_ex(tok, "token", &tok));
	assert_string_equal(json_object_get_string(json_object_object_get(tok, "accessToken")), "tok-7");
	json_object_put(r);
	tc_close(c);
}

static void
test_report_rejected_waiting_ends_with_no_token_when_the_broker_gives_up_without_a_token(void **state)
{
	struct tc *c;
	struct json_object *r;

	fake_set_token(7, "tok-7", false);
	fake_report = LC_REPORT_WAIT;
	start();
	c = tc_connect();
	tc_send(c, "{\"method\":\"io.tvtokend.Broker.ReportRejected\",\"parameters\":{\"generation\":7}}");
	tc_assert_quiet(c);
	token_clear(&fake_lc.token);
	fake_lc.state = LC_LOCKED_OUT;
	server_gave_up(srv);
	r = tc_reply(c);
	assert_error(r, "io.tvtokend.Broker.NoToken");
	assert_string_equal(json_object_get_string(j_param(r, "state")), "locked_out");
	json_object_put(r);
	tc_close(c);
}

/* ---- GetStatus ---- */

static void
test_get_status_reports_every_field_and_never_a_token(void **state)
{
	static const char *const fields[] = {
		"state", "generation", "expirationTime", "nextRenewal", "retryAt", "lastError",
		"accessTokenRequests", "renewals", "failures", "renewalsLeftThisHour",
		"failedRequestsLeftThisHour", "clients", "watchers", "version", "role", "leader",
	};
	struct tc *c, *w;
	struct json_object *r, *p;
	char *raw, when[TIME_RFC3339_MAX];
	size_t i;

	fake_set_token(4, "SECRET-TOKEN-TEXT", false);
	fake_lc.token.md_access_token = strdup("SECRET-MD-TEXT");
	fake_lc.next_renewal = fake_lc.token.expiration - 15 * USEC_PER_MIN;
	fake_lc.n_requests = 3;
	fake_lc.n_renewals = 5;
	fake_lc.n_failures = 2;
	snprintf(fake_lc.last_error, sizeof(fake_lc.last_error), "HTTP 503");
	start();
	w = tc_connect();
	tc_send(w, "{\"method\":\"io.tvtokend.Broker.GetToken\",\"more\":true}");
	json_object_put(tc_reply(w));
	c = tc_connect();
	tc_send(c, "{\"method\":\"io.tvtokend.Broker.GetStatus\"}");
	raw = tc_next_raw(c, TIMEOUT_MS);
	assert_non_null(raw);
	assert_null(strstr(raw, "SECRET"));
	r = json_tokener_parse(raw);
	free(raw);
	assert_non_null(r);
	assert_null(j_error(r));
	p = j_get(r, "parameters");
	assert_int_equal(json_object_object_length(p), sizeof(fields) / sizeof(fields[0]));
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		assert_true(j_has(p, fields[i]));
	assert_string_equal(json_object_get_string(j_get(p, "state")), "valid");
	assert_int_equal(json_object_get_int64(j_get(p, "generation")), 4);
	assert_string_equal(json_object_get_string(j_get(p, "expirationTime")),
			    time_format_rfc3339(fake_lc.token.expiration, when));
	assert_string_equal(json_object_get_string(j_get(p, "nextRenewal")),
			    time_format_rfc3339(fake_lc.next_renewal, when));
	assert_null(j_get(p, "retryAt"));
	assert_string_equal(json_object_get_string(j_get(p, "lastError")), "HTTP 503");
	assert_int_equal(json_object_get_int64(j_get(p, "accessTokenRequests")), 3);
	assert_int_equal(json_object_get_int64(j_get(p, "renewals")), 5);
	assert_int_equal(json_object_get_int64(j_get(p, "failures")), 2);
	assert_int_equal(json_object_get_int64(j_get(p, "renewalsLeftThisHour")), 12);
	assert_int_equal(json_object_get_int64(j_get(p, "failedRequestsLeftThisHour")), 4);
	assert_int_equal(json_object_get_int64(j_get(p, "clients")), 2);
	assert_int_equal(json_object_get_int64(j_get(p, "watchers")), 1);
	assert_string_equal(json_object_get_string(j_get(p, "role")), "standalone");
	assert_true(j_has(p, "leader"));
	assert_null(j_get(p, "leader"));
	assert_string_equal(json_object_get_string(j_get(p, "version")), TVTOKEND_VERSION);
	json_object_put(r);
	tc_close(c);
	tc_close(w);
}

static void
test_get_status_without_a_token_has_nulls(void **state)
{
	struct tc *c;
	struct json_object *r, *p;

	fake_lc.state = LC_STARTING;
	start();
	c = tc_connect();
	tc_send(c, "{\"method\":\"io.tvtokend.Broker.GetStatus\",\"parameters\":{}}");
	r = tc_reply(c);
	p = j_get(r, "parameters");
	assert_string_equal(json_object_get_string(j_get(p, "state")), "starting");
	assert_true(j_has(p, "expirationTime") && j_get(p, "expirationTime") == NULL);
	assert_true(j_has(p, "nextRenewal") && j_get(p, "nextRenewal") == NULL);
	assert_true(j_has(p, "lastError") && j_get(p, "lastError") == NULL);
	assert_int_equal(json_object_get_int64(j_get(p, "generation")), 0);
	assert_int_equal(json_object_get_int64(j_get(p, "clients")), 1);
	assert_int_equal(json_object_get_int64(j_get(p, "watchers")), 0);
	json_object_put(r);
	tc_close(c);
}

/* ---- framing and ordering ---- */

static void
test_pipelined_calls_are_answered_in_order(void **state)
{
	static const char calls[] =
		"{\"method\":\"org.varlink.service.GetInfo\"}\0"
		"{\"method\":\"io.tvtokend.Broker.Nope\"}\0"
		"{\"method\":\"io.tvtokend.Broker.GetToken\"}\0"
		"{\"method\":\"io.tvtokend.Broker.GetStatus\"}";
	struct tc *c;
	struct json_object *r;

	fake_set_token(1, "tok-1", false);
	start();
	c = tc_connect();
	tc_send_raw(c, calls, sizeof(calls));
	r = tc_reply(c);
	assert_string_equal(json_object_get_string(j_param(r, "vendor")), "tvtokend");
	json_object_put(r);
	r = tc_reply(c);
	assert_error(r, "org.varlink.service.MethodNotFound");
	json_object_put(r);
	r = tc_reply(c);
	assert_token_reply(r, 1, "tok-1");
	json_object_put(r);
	r = tc_reply(c);
	assert_string_equal(json_object_get_string(j_param(r, "state")), "valid");
	json_object_put(r);
	tc_close(c);
}

static void
test_calls_behind_a_held_call_wait_for_it(void **state)
{
	static const char calls[] =
		"{\"method\":\"io.tvtokend.Broker.GetToken\",\"parameters\":{\"wait\":true}}\0"
		"{\"method\":\"org.varlink.service.GetInfo\"}";
	struct tc *c;
	struct json_object *r;

	fake_lc.state = LC_REQUESTING;
	start();
	c = tc_connect();
	tc_send_raw(c, calls, sizeof(calls));
	tc_assert_quiet(c);
	fake_set_token(1, "tok-1", false);
	server_token_new(srv);
	r = tc_reply(c);
	assert_token_reply(r, 1, "tok-1");
	json_object_put(r);
	r = tc_reply(c);
	assert_string_equal(json_object_get_string(j_param(r, "vendor")), "tvtokend");
	json_object_put(r);
	tc_close(c);
}

static void
test_a_oneway_call_gets_no_reply(void **state)
{
	static const char calls[] =
		"{\"method\":\"io.tvtokend.Broker.ReportRejected\",\"parameters\":{\"generation\":1},\"oneway\":true}\0"
		"{\"method\":\"org.varlink.service.GetInfo\",\"oneway\":true}\0"
		"{\"method\":\"io.tvtokend.Broker.GetStatus\"}";
	struct tc *c;
	struct json_object *r;

	fake_set_token(1, "tok-1", false);
	fake_report = LC_REPORT_WAIT;
	start();
	c = tc_connect();
	tc_send_raw(c, calls, sizeof(calls));
	r = tc_reply(c);
	assert_true(j_has(j_get(r, "parameters"), "renewalsLeftThisHour"));
	json_object_put(r);
	/* The oneway report still reached the broker. */
	assert_int_equal(fake_reports, 1);
	assert_int_equal(fake_reported, 1);
	tc_assert_quiet(c);
	tc_close(c);
}

static void
test_non_json_closes_only_that_connection(void **state)
{
	struct tc *bad, *good;
	struct json_object *r;

	start();
	good = tc_connect();
	bad = tc_connect();
	tc_send(bad, "this is not json");
	assert_true(tc_closed(bad, TIMEOUT_MS));
	tc_send(good, "{\"method\":\"org.varlink.service.GetInfo\"}");
	r = tc_reply(good);
	assert_null(j_error(r));
	json_object_put(r);
	assert_int_equal(server_clients(srv), 1);
	tc_close(bad);
	tc_close(good);
}

static void
test_a_json_array_closes_the_connection(void **state)
{
	struct tc *c;

	start();
	c = tc_connect();
	tc_send(c, "[{\"method\":\"org.varlink.service.GetInfo\"}]");
	assert_true(tc_closed(c, TIMEOUT_MS));
	tc_close(c);
}

static void
test_a_message_over_64_kib_closes_the_connection(void **state)
{
	struct tc *big, *good;
	struct json_object *r;
	char *s;
	size_t n = VARLINK_MESSAGE_MAX + 100;

	start();
	good = tc_connect();
	big = tc_connect();
	s = malloc(n);
	assert_non_null(s);
	memset(s, ' ', n);   /* white space: valid JSON so far, never ending */
	s[0] = '{';
	tc_send_raw_try(big, s, n);
	free(s);
	assert_true(tc_closed(big, TIMEOUT_MS));
	tc_send(good, "{\"method\":\"org.varlink.service.GetInfo\"}");
	r = tc_reply(good);
	assert_null(j_error(r));
	json_object_put(r);
	tc_close(big);
	tc_close(good);
}

static void
test_a_message_of_exactly_64_kib_is_served(void **state)
{
	static const char head[] = "{\"method\":\"org.varlink.service.GetInfo\"";
	struct tc *c;
	struct json_object *r;
	char *s;
	size_t n = VARLINK_MESSAGE_MAX;

	start();
	c = tc_connect();
	s = malloc(n + 1);
	assert_non_null(s);
	memset(s, ' ', n);
	memcpy(s, head, strlen(head));
	s[n - 1] = '}';
	s[n] = '\0';
	tc_send_raw(c, s, n + 1);
	free(s);
	r = tc_reply(c);
	assert_null(j_error(r));
	json_object_put(r);
	tc_close(c);
}

static void
test_too_much_queued_behind_a_held_call_drops_the_client(void **state)
{
	struct tc *c;
	char *s;
	size_t i, n = 4096;

	fake_lc.state = LC_REQUESTING;
	start();
	c = tc_connect();
	tc_send(c, "{\"method\":\"io.tvtokend.Broker.GetToken\",\"parameters\":{\"wait\":true}}");
	s = malloc(n);
	assert_non_null(s);
	memset(s, ' ', n);
	memcpy(s, "{}", 2);
	s[n - 1] = '\0';
	/* Small complete messages, none larger than allowed, but far too many while held. */
	for (i = 0; i < 64 && !c->eof; i++) {
		if (!tc_send_raw_try(c, s, n))
			break;
		pump(1);
		while (tc_fill(c))
			;
	}
	free(s);
	assert_true(tc_closed(c, TIMEOUT_MS));
	tc_close(c);
}

static void
test_beyond_max_clients_new_connections_are_closed_at_once(void **state)
{
	struct tc *a, *b, *extra;
	struct json_object *r;

	cfg.max_clients = 2;
	start();
	a = tc_connect();
	b = tc_connect();
	pump(20);
	assert_int_equal(server_clients(srv), 2);
	extra = tc_connect();
	assert_true(tc_closed(extra, TIMEOUT_MS));
	assert_int_equal(server_clients(srv), 2);
	tc_send(b, "{\"method\":\"org.varlink.service.GetInfo\"}");
	r = tc_reply(b);
	assert_null(j_error(r));
	json_object_put(r);
	/* A place freed is a place taken. */
	tc_close(a);
	tc_close(extra);
	pump(20);
	extra = tc_connect();
	tc_send(extra, "{\"method\":\"org.varlink.service.GetInfo\"}");
	r = tc_reply(extra);
	assert_null(j_error(r));
	json_object_put(r);
	tc_close(b);
	tc_close(extra);
}

static void
test_a_watcher_that_does_not_read_is_dropped(void **state)
{
	struct tc *w, *other;
	struct json_object *r;
	char *big;
	size_t n = 8192;
	uint64_t g;

	big = malloc(n + 1);
	assert_non_null(big);
	memset(big, 'x', n);
	big[n] = '\0';
	fake_set_token(1, big, false);
	start();
	w = tc_connect();
	other = tc_connect();
	tc_send(w, "{\"method\":\"io.tvtokend.Broker.GetToken\",\"more\":true}");
	pump(20);
	assert_int_equal(server_watchers(srv), 1);
	/* The watcher never reads: its output piles up past the cap, and not beyond. */
	for (g = 2; g < 400 && server_watchers(srv) == 1; g++) {
		fake_set_token(g, big, false);
		server_token_new(srv);
		pump(1);
	}
	assert_true(g < 400);
	/* Dropped once the kernel buffer and SERVER_OUTPUT_MAX were full, not before. */
	assert_true((g - 1) * n > SERVER_OUTPUT_MAX);
	pump(20);
	assert_int_equal(server_watchers(srv), 0);
	assert_int_equal(server_clients(srv), 1);
	tc_send(other, "{\"method\":\"org.varlink.service.GetInfo\"}");
	r = tc_reply(other);
	assert_null(j_error(r));
	json_object_put(r);
	free(big);
	tc_close(w);
	tc_close(other);
}

/* CPU time this process has used, user and system. */
static usec_t
cpu_used(void)
{
	struct rusage ru;

	assert_int_equal(getrusage(RUSAGE_SELF, &ru), 0);
	return (usec_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * USEC_PER_SEC +
	       (usec_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static void
test_out_of_descriptors_pauses_accepting_for_a_second(void **state)
{
	struct rlimit low;
	struct tc *c;
	struct json_object *r;
	int fillers[256], n = 0, fd, i;
	usec_t cpu;

	start();
	c = tc_connect();
	/* Leave the server no descriptor for the connection it is about to accept. */
	low = nofile_limit;
	low.rlim_cur = (rlim_t)c->fd + 1;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	while (n < 256 && (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
		fillers[n++] = fd;
	assert_int_equal(errno, EMFILE);

	cpu = cpu_used();
	pump(300);
	/* Paused, not spinning on a listening socket that stays readable. */
	assert_true(cpu_used() - cpu < 150 * USEC_PER_MSEC);
	assert_int_equal(server_clients(srv), 0);

	for (i = 0; i < n; i++)
		close(fillers[i]);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &nofile_limit), 0);
	pump(1000);
	assert_int_equal(server_clients(srv), 1);
	tc_send(c, "{\"method\":\"org.varlink.service.GetInfo\"}");
	r = tc_reply(c);
	assert_null(j_error(r));
	json_object_put(r);
	tc_close(c);
}

/* ---- access ---- */

/* In a child running as nobody: call GetInfo and report what came back (exit status). */
static int
child_call_as_nobody(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	static const char call[] = "{\"method\":\"org.varlink.service.GetInfo\"}";
	char buf[4096];
	size_t len = 0;
	ssize_t n;
	int fd;

	alarm(10);
	if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
		return 10;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock_path) >= sizeof(sun.sun_path))
		return 16;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		return 11;
	if (write(fd, call, sizeof(call)) != (ssize_t)sizeof(call))
		return 12;
	while (len < sizeof(buf) - 1 && memchr(buf, '\0', len) == NULL) {
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			return 13;
		len += (size_t)n;
	}
	buf[len] = '\0';
	if (strstr(buf, "\"org.varlink.service.PermissionDenied\"") != NULL) {
		/* Then the connection closes. */
		if (read(fd, buf, sizeof(buf)) != 0)
			return 14;
		return 1;
	}
	if (strstr(buf, "\"vendor\":\"tvtokend\"") != NULL)
		return 0;
	return 15;
}

/* Fork a client running as nobody while the loop serves it; its exit status. */
static int
run_nobody_client(void)
{
	usec_t deadline = time_monotonic() + 10 * USEC_PER_SEC;
	pid_t pid;
	int status = 0;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_call_as_nobody());
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (time_monotonic() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			fail_msg("the child client hangs");
		}
		pump(5);
	}
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void
test_an_excluded_peer_gets_permission_denied_and_is_disconnected(void **state)
{
	uid_t users[] = { 4242 };

	if (geteuid() != 0)
		skip();
	assert_int_equal(chmod(dir, 0755), 0);
	cfg.socket_mode = 0666;
	cfg.allow_users = users;
	cfg.n_allow_users = 1;
	start();
	assert_int_equal(run_nobody_client(), 1);
	pump(20);
	assert_int_equal(server_clients(srv), 0);
}

static void
test_a_listed_peer_is_served(void **state)
{
	uid_t users[] = { 4242, NOBODY };

	if (geteuid() != 0)
		skip();
	assert_int_equal(chmod(dir, 0755), 0);
	cfg.socket_mode = 0666;
	cfg.allow_users = users;
	cfg.n_allow_users = 2;
	start();
	assert_int_equal(run_nobody_client(), 0);
}

static void
test_a_reload_that_excludes_a_peer_refuses_its_next_call(void **state)
{
	uid_t users[] = { NOBODY };
	uid_t none[] = { 4242 };
	struct config cfg2;

	if (geteuid() != 0)
		skip();
	assert_int_equal(chmod(dir, 0755), 0);
	cfg.socket_mode = 0666;
	cfg.allow_users = users;
	cfg.n_allow_users = 1;
	start();
	assert_int_equal(run_nobody_client(), 0);
	cfg2 = cfg;
	cfg2.allow_users = none;
	server_reload(srv, &cfg2);
	/* The server copied the lists: the caller's memory may go. */
	memset(&cfg2, 0, sizeof(cfg2));
	assert_int_equal(run_nobody_client(), 1);
}

static void
test_root_and_ourselves_are_admitted_whatever_the_lists_say(void **state)
{
	uid_t users[] = { 4242 };
	gid_t groups[] = { 4243 };
	struct tc *c;
	struct json_object *r;

	cfg.allow_users = users;
	cfg.n_allow_users = 1;
	cfg.allow_groups = groups;
	cfg.n_allow_groups = 1;
	start();
	c = tc_connect();
	tc_send(c, "{\"method\":\"org.varlink.service.GetInfo\"}");
	r = tc_reply(c);
	assert_null(j_error(r));
	json_object_put(r);
	tc_close(c);
}

/* ---- the socket file ---- */

static void
test_the_socket_is_created_with_its_parent_and_mode(void **state)
{
	struct stat st;
	char parent[160];

	mode_t old_mask = umask(077);   /* neither the directory nor the socket depends on it */

	cfg.socket_mode = 0640;
	start();
	umask(old_mask);
	assert_int_equal(lstat(sock_path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0640);
	snprintf(parent, sizeof(parent), "%s/run", dir);
	assert_int_equal(stat(parent, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0755);
}

static void
test_the_socket_file_is_removed_at_free(void **state)
{
	start();
	assert_int_equal(access(sock_path, F_OK), 0);
	server_free(srv);
	srv = NULL;
	assert_int_equal(access(sock_path, F_OK), -1);
	assert_int_equal(errno, ENOENT);
}

/* Bind (and optionally listen on) a socket at sock_path ourselves. */
static int
own_socket(bool listening)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char parent[160];
	int fd;

	snprintf(parent, sizeof(parent), "%s/run", dir);
	mkdir(parent, 0755);
	assert_true((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock_path) < sizeof(sun.sun_path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	if (listening)
		assert_int_equal(listen(fd, 4), 0);
	return fd;
}

static void
test_a_stale_socket_file_is_replaced(void **state)
{
	struct tc *c;
	struct json_object *r;

	close(own_socket(false));
	assert_int_equal(access(sock_path, F_OK), 0);
	start();
	c = tc_connect();
	tc_send(c, "{\"method\":\"org.varlink.service.GetInfo\"}");
	r = tc_reply(c);
	assert_null(j_error(r));
	json_object_put(r);
	tc_close(c);
}

static void
test_a_live_socket_is_refused_with_eaddrinuse(void **state)
{
	struct server *second = NULL;

	start();
	assert_int_equal(server_new(base, &cfg, BROKER, -1, &second), -EADDRINUSE);
	assert_null(second);
	/* The first server's socket is still there and served. */
	assert_int_equal(access(sock_path, F_OK), 0);
	server_free(srv);
	srv = NULL;
	assert_int_equal(access(sock_path, F_OK), -1);
}

static void
test_a_live_socket_of_someone_else_is_refused_and_left_alone(void **state)
{
	struct server *s = NULL;
	int fd = own_socket(true);

	assert_int_equal(server_new(base, &cfg, BROKER, -1, &s), -EADDRINUSE);
	assert_null(s);
	assert_int_equal(access(sock_path, F_OK), 0);
	close(fd);
}

static void
test_a_file_that_is_not_a_socket_is_an_error(void **state)
{
	struct server *s = NULL;
	char parent[160];
	int fd;

	snprintf(parent, sizeof(parent), "%s/run", dir);
	assert_int_equal(mkdir(parent, 0755), 0);
	fd = open(sock_path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(server_new(base, &cfg, BROKER, -1, &s), -EEXIST);
	assert_null(s);
	assert_int_equal(access(sock_path, F_OK), 0);
}

static void
test_a_socket_from_systemd_is_served_and_its_file_kept(void **state)
{
	struct tc *c;
	struct json_object *r;
	int fd = own_socket(true);

	cfg.socket = NULL;   /* Socket= is ignored */
	assert_int_equal(server_new(base, &cfg, BROKER, fd, &srv), 0);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	c = tc_connect();
	tc_send(c, "{\"method\":\"org.varlink.service.GetInfo\"}");
	r = tc_reply(c);
	assert_null(j_error(r));
	json_object_put(r);
	tc_close(c);
	server_free(srv);
	srv = NULL;
	assert_int_equal(access(sock_path, F_OK), 0);
}

/* ---- protocol corners: what a reply echoes is always valid JSON and UTF-8 ---- */

/* The next reply as raw bytes, checked: one message, valid UTF-8, no NUL before its end. */
static char *
tc_reply_raw_checked(struct tc *c, size_t *len)
{
	char *raw = tc_next_raw(c, TIMEOUT_MS);

	assert_non_null(raw);
	*len = strlen(raw);
	assert_true(varlink_utf8_valid(raw, *len));
	return raw;
}

static void
test_a_method_name_with_a_nul_is_not_run_and_is_named_in_full(void **state)
{
	static const char full[] = "io.tvtokend.Broker.GetToken\0x";
	struct tc *c;
	struct json_object *r, *v;
	char *raw;
	size_t len;

	fake_set_token(1, "tok-1", false);
	start();
	c = tc_connect();
	tc_send(c, "{\"method\":\"io.tvtokend.Broker.GetToken\\u0000x\"}");
	raw = tc_reply_raw_checked(c, &len);
	assert_null(strstr(raw, "tok-1"));
	assert_non_null(strstr(raw, "GetToken\\u0000x"));
	r = json_tokener_parse(raw);
	assert_non_null(r);
	assert_error(r, "org.varlink.service.MethodNotFound");
	v = j_param(r, "method");
	assert_int_equal(json_object_get_string_len(v), sizeof(full) - 1);
	assert_memory_equal(json_object_get_string(v), full, sizeof(full) - 1);
	json_object_put(r);
	free(raw);
	/* The connection goes on. */
	tc_send(c, "{\"method\":\"io.tvtokend.Broker.GetToken\"}");
	r = tc_reply(c);
	assert_token_reply(r, 1, "tok-1");
	json_object_put(r);
	tc_close(c);
}

static void
test_an_interface_name_with_a_nul_is_interface_not_found(void **state)
{
	struct tc *c;
	struct json_object *r;
	char *raw;
	size_t len;

	start();
	c = tc_connect();
	tc_send(c, "{\"method\":\"org.varlink.service.GetInterfaceDescription\","
		   "\"parameters\":{\"interface\":\"io.tvtokend.Broker\\u0000\"}}");
	raw = tc_reply_raw_checked(c, &len);
	r = json_tokener_parse(raw);
	assert_error(r, "org.varlink.service.InterfaceNotFound");
	assert_int_equal(json_object_get_string_len(j_param(r, "interface")), strlen("io.tvtokend.Broker") + 1);
	json_object_put(r);
	free(raw);
	tc_close(c);
}

static void
test_a_parameter_name_with_a_nul_is_invalid_parameter(void **state)
{
	struct tc *c;
	struct json_object *r;

	fake_lc.state = LC_REQUESTING;
	start();
	c = tc_connect();
	/* Read as "wait" it would hold the call. */
	tc_send(c, "{\"method\":\"io.tvtokend.Broker.GetToken\",\"parameters\":{\"wait\\u0000x\":true}}");
	r = tc_reply(c);
	assert_error(r, "org.varlink.service.InvalidParameter");
	assert_int_equal(json_object_get_string_len(j_param(r, "parameter")), 6);
	json_object_put(r);
	tc_close(c);
}

static void
test_an_overlong_utf8_sequence_closes_the_connection_without_a_reply(void **state)
{
	struct tc *c;

	start();
	c = tc_connect();
	tc_send(c, "{\"method\":\"io.tvtokend.\xc0\xae" "Broker.Nope\"}");
	assert_true(tc_closed(c, TIMEOUT_MS));
	tc_close(c);
}

static void
test_escapes_that_are_not_characters_are_echoed_as_valid_utf8(void **state)
{
	struct tc *c;
	struct json_object *r;
	char *raw;
	size_t len;

	start();
	c = tc_connect();
	/* A lone surrogate and control characters, escaped: valid JSON, echoed in the error. */
	tc_send(c, "{\"method\":\"io.tvtokend.Broker.N\\ud800o\\u0001\\u001f\\\"\"}");
	raw = tc_reply_raw_checked(c, &len);
	r = json_tokener_parse(raw);
	assert_non_null(r);
	assert_error(r, "org.varlink.service.MethodNotFound");
	assert_string_equal(json_object_get_string(j_param(r, "method")),
			    "io.tvtokend.Broker.N\xef\xbf\xbdo\001\037\"");
	json_object_put(r);
	free(raw);
	tc_close(c);
}

/* A call whose "parameters" member "wait" holds arrays nested to depth levels in all. */
static char *
deep_call(unsigned depth)
{
	static const char head[] = "{\"method\":\"io.tvtokend.Broker.GetToken\",\"parameters\":{\"wait\":";
	size_t n = sizeof(head) - 1, i;
	char *s = malloc(n + 2 * depth + 3);

	assert_non_null(s);
	memcpy(s, head, n);
	for (i = 0; i + 2 < depth; i++)
		s[n++] = '[';
	for (i = 0; i + 2 < depth; i++)
		s[n++] = ']';
	s[n++] = '}';
	s[n++] = '}';
	s[n] = '\0';
	return s;
}

static void
test_a_call_nested_too_deep_gets_invalid_parameter_then_the_connection_closes(void **state)
{
	struct tc *c;
	struct json_object *r;
	char *s;

	start();
	c = tc_connect();
	s = deep_call(VARLINK_DEPTH_MAX);
	tc_send(c, s);
	free(s);
	r = tc_reply(c);
	assert_error(r, "org.varlink.service.InvalidParameter");
	assert_string_equal(json_object_get_string(j_param(r, "parameter")), "wait");
	json_object_put(r);
	/* One level more cannot be read: the error comes first, then the close. */
	s = deep_call(VARLINK_DEPTH_MAX + 1);
	tc_send(c, s);
	free(s);
	r = tc_reply(c);
	assert_error(r, "org.varlink.service.InvalidParameter");
	assert_string_equal(json_object_get_string(j_param(r, "parameter")), "wait");
	json_object_put(r);
	assert_true(tc_closed(c, TIMEOUT_MS));
	tc_close(c);
}

static void
test_get_info_and_descriptions_stay_the_same_across_calls(void **state)
{
	struct tc *c;
	char *a, *b;
	size_t la, lb;

	start();
	c = tc_connect();
	tc_send(c, "{\"method\":\"org.varlink.service.GetInfo\"}");
	tc_send(c, "{\"method\":\"org.varlink.service.GetInfo\"}");
	a = tc_reply_raw_checked(c, &la);
	b = tc_reply_raw_checked(c, &lb);
	assert_string_equal(a, b);
	assert_non_null(strstr(a, "\"url\":\"https://github.com/tvtokend/tvtokend\""));
	free(a);
	free(b);
	tc_close(c);
}

static void
test_a_token_reply_is_written_anew_for_each_generation(void **state)
{
	struct tc *c;
	struct json_object *r;

	fake_set_token(1, "tok-1", false);
	start();
	c = tc_connect();
	tc_send(c, "{\"method\":\"io.tvtokend.Broker.GetToken\"}");
	r = tc_reply(c);
	assert_token_reply(r, 1, "tok-1");
	json_object_put(r);
	fake_set_token(2, "tok-2", false);
	tc_send(c, "{\"method\":\"io.tvtokend.Broker.GetToken\"}");
	r = tc_reply(c);
	assert_token_reply(r, 2, "tok-2");
	json_object_put(r);
	/* Dropped and replaced under the same generation (a restored state file): the new one. */
	fake_drop_token(LC_REQUESTING);
	server_token_lost(srv);
	fake_set_token(2, "tok-2b", false);
	tc_send(c, "{\"method\":\"io.tvtokend.Broker.GetToken\"}");
	r = tc_reply(c);
	assert_token_reply(r, 2, "tok-2b");
	json_object_put(r);
	tc_close(c);
}

static void
test_watchers_are_counted_until_their_stream_ends(void **state)
{
	struct tc *a, *b;

	fake_set_token(1, "tok-1", false);
	start();
	a = tc_connect();
	b = tc_connect();
	tc_send(a, "{\"method\":\"io.tvtokend.Broker.GetToken\",\"more\":true}");
	tc_send(b, "{\"method\":\"io.tvtokend.Broker.GetToken\",\"more\":true}");
	pump(20);
	assert_int_equal(server_watchers(srv), 2);
	tc_close(a);
	pump(20);
	assert_int_equal(server_watchers(srv), 1);
	fake_drop_token(LC_EXPIRED);
	server_token_lost(srv);
	pump(20);
	assert_int_equal(server_watchers(srv), 0);
	assert_int_equal(server_clients(srv), 1);
	tc_close(b);
}

/* ---- back-pressure and memory ---- */

/* Call i of a pipelined batch: mixed (it names i in its reply, or has a large reply), or descriptions only. */
static size_t
batch_call(char *buf, size_t size, unsigned i, bool mixed)
{
	int n;

	if (mixed && i % 3 == 0)
		n = snprintf(buf, size, "{\"method\":\"io.tvtokend.Broker.GetStatus\"}");
	else if (mixed && i % 3 == 1)
		n = snprintf(buf, size, "{\"method\":\"io.tvtokend.Broker.Nope%u\"}", i);
	else
		n = snprintf(buf, size, "{\"method\":\"org.varlink.service.GetInterfaceDescription\","
				       "\"parameters\":{\"interface\":\"io.tvtokend.Broker\"}}");
	assert_true(n > 0 && (size_t)n < size);
	return (size_t)n + 1;   /* with the NUL */
}

/* Check that reply r answers call i of batch_call. */
static void
assert_batch_reply(struct json_object *r, unsigned i, bool mixed)
{
	char name[64];

	if (mixed && i % 3 == 0) {
		assert_null(j_error(r));
		assert_non_null(j_param(r, "renewalsLeftThisHour"));
	} else if (mixed && i % 3 == 1) {
		assert_error(r, "org.varlink.service.MethodNotFound");
		snprintf(name, sizeof(name), "io.tvtokend.Broker.Nope%u", i);
		assert_string_equal(json_object_get_string(j_param(r, "method")), name);
	} else {
		assert_null(j_error(r));
		assert_non_null(strstr(json_object_get_string(j_param(r, "description")),
				       "interface io.tvtokend.Broker\n"));
	}
}

/* n calls of batch_call in one buffer; its size in *len. */
static char *
batch(unsigned n, bool mixed, size_t *len)
{
	char *buf = malloc((size_t)n * 160);
	unsigned i;

	assert_non_null(buf);
	*len = 0;
	for (i = 0; i < n; i++)
		*len += batch_call(buf + *len, 160, i, mixed);
	return buf;
}

/* Read n replies of batch_call in order. */
static void
tc_read_batch(struct tc *c, unsigned n, bool mixed)
{
	struct json_object *r;
	unsigned i;

	for (i = 0; i < n; i++) {
		r = tc_next(c, TIMEOUT_MS);
		if (r == NULL)
			fail_msg("reply %u of %u did not come", i, n);
		assert_batch_reply(r, i, mixed);
		json_object_put(r);
	}
}

/* Send what the socket takes now, without waiting; the new offset. */
static size_t
tc_send_some(struct tc *c, const char *buf, size_t off, size_t len)
{
	ssize_t w;

	while (off < len) {
		w = send(c->fd, buf + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		assert_true(w > 0);
		off += (size_t)w;
	}
	return off;
}

/* The most a client with nothing held may hold in the server: its output bound, one reply, its input. */
#define ONE_CLIENT_MAX (2 * SERVER_OUTPUT_HIGH + 2 * 65537 + 4096)

/*
 * Pipeline n batch calls without reading until the server stops reading
 * (its buffers bounded meanwhile), then read every reply in order while
 * sending the rest.
 */
static void
pipeline_without_reading(struct tc *c, unsigned n, bool mixed)
{
	usec_t deadline = time_monotonic() + 60 * USEC_PER_SEC;
	struct json_object *r;
	size_t len, off = 0, stalled = 0;
	char *calls = batch(n, mixed, &len);
	unsigned got = 0;

	/* Send until the socket takes nothing, twice in a row with the server running between. */
	while (off < len && stalled < 2 && time_monotonic() < deadline) {
		size_t before = off;

		off = tc_send_some(c, calls, off, len);
		pump(50);
		stalled = off == before ? stalled + 1 : 0;
		assert_true(server_pending(srv) <= ONE_CLIENT_MAX);
	}
	assert_true(server_pending(srv) <= ONE_CLIENT_MAX);
	assert_int_equal(server_clients(srv), 1);
	/* Now read: every reply, in order, the rest of the calls sent as room appears. */
	while (got < n) {
		assert_true(time_monotonic() < deadline);
		off = tc_send_some(c, calls, off, len);
		r = tc_next(c, 50);
		if (r == NULL) {
			assert_false(c->eof);
			continue;
		}
		assert_batch_reply(r, got, mixed);
		json_object_put(r);
		got++;
	}
	assert_int_equal(off, len);
	free(calls);
}

static void
test_a_client_that_pipelines_faster_than_it_reads_gets_every_reply_in_order(void **state)
{
	struct tc *c;

	fake_set_token(1, "tok-1", false);
	start();
	c = tc_connect();
	pipeline_without_reading(c, 2000, true);
	tc_assert_quiet(c);
	assert_int_equal(server_pending(srv), 0);
	tc_close(c);
}

static void
test_300_pipelined_interface_descriptions_all_arrive(void **state)
{
	struct tc *c;

	start();
	c = tc_connect();
	pipeline_without_reading(c, 300, false);
	tc_assert_quiet(c);
	tc_close(c);
}

static void
test_a_client_that_never_reads_is_not_read_either_and_others_are_served(void **state)
{
	struct tc *hog, *other;
	struct json_object *r;
	char *calls;
	size_t len, off = 0, stalled = 0;
	unsigned rounds;

	start();
	hog = tc_connect();
	other = tc_connect();
	calls = batch(8000, false, &len);
	for (rounds = 0; rounds < 400 && stalled < 3 && off < len; rounds++) {
		size_t before = off;

		off = tc_send_some(hog, calls, off, len);
		pump(20);
		stalled = off == before ? stalled + 1 : 0;
	}
	free(calls);
	/* The socket took no more: the server is not reading it, and holds little for it. */
	assert_int_equal(stalled, 3);
	assert_true(server_pending(srv) <= ONE_CLIENT_MAX);
	assert_int_equal(server_clients(srv), 2);
	tc_send(other, "{\"method\":\"io.tvtokend.Broker.GetStatus\"}");
	r = tc_reply(other);
	assert_int_equal(json_object_get_int(j_param(r, "clients")), 2);
	json_object_put(r);
	tc_close(hog);
	tc_close(other);
}

/* Read the file at path into a malloc'd string. */
static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	char *s;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	s = calloc(1, (size_t)n + 1);
	assert_non_null(s);
	assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return s;
}

/* Send what the server logs to a file (log.c writes to stderr here). */
static void
capture_stderr(void)
{
	int fd;

	snprintf(stderr_path, sizeof(stderr_path), "%s/stderr", dir);
	fflush(stderr);
	fd = open(stderr_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	stderr_saved = dup(STDERR_FILENO);
	assert_true(stderr_saved >= 0);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	close(fd);
}

/* Stop capturing; what was logged (malloc'd). */
static char *
captured_stderr(void)
{
	char *s;

	fflush(stderr);
	dup2(stderr_saved, STDERR_FILENO);
	close(stderr_saved);
	stderr_saved = -1;
	s = slurp(stderr_path);
	unlink(stderr_path);
	return s;
}

/* How many times needle occurs in s. */
static unsigned
count_of(const char *s, const char *needle)
{
	unsigned n = 0;

	while ((s = strstr(s, needle)) != NULL) {
		n++;
		s += strlen(needle);
	}
	return n;
}

static void
test_past_max_pending_output_the_largest_clients_are_dropped_and_the_rest_served(void **state)
{
	enum { HOGS = 64 };
	struct tc *hogs[HOGS], *modest, *fresh;
	struct json_object *r;
	char *calls, *log;
	size_t len;
	unsigned i;

	cfg.max_clients = 128;
	cfg.max_pending_output = 1024 * 1024;
	fake_set_token(1, "tok-1", false);
	start();
	capture_stderr();
	modest = tc_connect();
	/* Three calls and no reading: well within its share. */
	calls = batch(3, true, &len);
	tc_send_raw(modest, calls, len);
	free(calls);
	pump(20);
	/* 150 descriptions each, never read: more than the kernel holds for them. */
	calls = batch(150, false, &len);
	for (i = 0; i < HOGS; i++) {
		hogs[i] = tc_connect();
		assert_true(tc_send_raw_try(hogs[i], calls, len));
	}
	free(calls);
	pump(500);
	/* Bounded in total, by dropping the largest: some of the hogs, not the modest one. */
	assert_true(server_pending(srv) <= 1024 * 1024);
	assert_true(server_clients(srv) < HOGS + 1);
	assert_true(server_clients(srv) >= 2);
	/* Someone new is answered at once. */
	fresh = tc_connect();
	tc_send(fresh, "{\"method\":\"io.tvtokend.Broker.GetStatus\"}");
	r = tc_reply(fresh);
	assert_string_equal(json_object_get_string(j_param(r, "state")), "valid");
	json_object_put(r);
	tc_read_batch(modest, 3, true);
	log = captured_stderr();
	assert_true(count_of(log, "all clients hold more than MaxPendingOutput=1024K: dropped") >= 1);
	free(log);
	for (i = 0; i < HOGS; i++)
		tc_close(hogs[i]);
	tc_close(modest);
	tc_close(fresh);
}

/* ---- connections per user ---- */

/* A child running as nobody that holds connections open, driven through two pipes. */
struct nobody {
	pid_t pid;
	int to;      /* 'q': report which connections are closed; '0'..'9': one byte on that one; 'x': exit */
	int from;    /* 'r' when connected; then one 'o' or 'c' per connection */
};

/* In the child: send what the socket takes now of reps copies of the len bytes at msg. */
static void
nobody_send(int fd, const char *msg, size_t len, unsigned reps)
{
	size_t total = len * reps, off = 0;
	ssize_t k;

	while (off < total) {
		k = send(fd, msg + off % len, len - off % len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k <= 0)
			return;
		off += (size_t)k;
	}
}

/*
 * In the child: connect n times (sending reps copies of the len bytes at
 * call on each, if any), then answer the parent.
 */
static int
nobody_child(unsigned n, const char *call, size_t len, unsigned reps, int in, int out)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fds[256];
	char cmd, buf[4096];
	unsigned i;
	ssize_t k;
	bool closed;

	alarm(30);
	if (n > 256 || setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
		return 10;
	if (strlen(sock_path) >= sizeof(sun.sun_path))
		return 15;
	memcpy(sun.sun_path, sock_path, strlen(sock_path) + 1);
	for (i = 0; i < n; i++) {
		fds[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fds[i] < 0 || connect(fds[i], (struct sockaddr *)&sun, sizeof(sun)) < 0)
			return 11;
		if (call != NULL)
			nobody_send(fds[i], call, len, reps);
	}
	if (write(out, "r", 1) != 1)
		return 13;
	while (read(in, &cmd, 1) == 1) {
		if (cmd == 'x')
			return 0;
		if (cmd >= '0' && cmd <= '9') {
			if ((unsigned)(cmd - '0') < n)
				nobody_send(fds[cmd - '0'], "{", 1, 1);
			if (write(out, "s", 1) != 1)
				return 14;
			continue;
		}
		for (i = 0; i < n; i++) {
			/*
			 * Closed: end of file once what came is read, or a reset
			 * when the server closed with our calls still unread.
			 */
			do
				k = recv(fds[i], buf, sizeof(buf), MSG_DONTWAIT);
			while (k > 0);
			closed = k == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
			if (write(out, closed ? "c" : "o", 1) != 1)
				return 14;
		}
	}
	return 0;
}

/* Read one byte from the child while the loop runs. */
static char
nobody_read(struct nobody *nb)
{
	usec_t deadline = time_monotonic() + 10 * USEC_PER_SEC;
	struct pollfd p = { .fd = nb->from, .events = POLLIN };
	char ch;

	while (poll(&p, 1, 0) == 0) {
		if (time_monotonic() > deadline)
			fail_msg("the nobody child does not answer");
		pump(5);
	}
	assert_int_equal(read(nb->from, &ch, 1), 1);
	return ch;
}

/*
 * Start a child as nobody holding n connections, each sent reps copies of
 * the len bytes at call (if any); returns when connected.
 */
static void
nobody_start_raw(struct nobody *nb, unsigned n, const char *call, size_t len, unsigned reps)
{
	int to[2], from[2];

	assert_int_equal(pipe2(to, O_CLOEXEC), 0);
	assert_int_equal(pipe2(from, O_CLOEXEC), 0);
	nb->pid = fork();
	assert_true(nb->pid >= 0);
	if (nb->pid == 0) {
		close(to[1]);
		close(from[0]);
		_exit(nobody_child(n, call, len, reps, to[0], from[1]));
	}
	close(to[0]);
	close(from[1]);
	nb->to = to[1];
	nb->from = from[0];
	assert_int_equal(nobody_read(nb), 'r');
	pump(50);
}

/* Start a child as nobody holding n connections (each sent call and its NUL, if any). */
static void
nobody_start(struct nobody *nb, unsigned n, const char *call)
{
	nobody_start_raw(nb, n, call, call != NULL ? strlen(call) + 1 : 0, 1);
}

/* Have the child send one byte ("{") on its connection i. */
static void
nobody_poke(struct nobody *nb, unsigned i)
{
	char cmd = (char)('0' + i);

	assert_true(i < 10);
	assert_int_equal(write(nb->to, &cmd, 1), 1);
	assert_int_equal(nobody_read(nb), 's');
	pump(20);
}

/* Which of the child's connections the server closed: a string of 'o' and 'c'. */
static void
nobody_states(struct nobody *nb, char *states, unsigned n)
{
	unsigned i;

	pump(20);
	assert_int_equal(write(nb->to, "q", 1), 1);
	for (i = 0; i < n; i++)
		states[i] = nobody_read(nb);
	states[n] = '\0';
}

/* Let the child go. */
static void
nobody_stop(struct nobody *nb)
{
	int status;

	assert_int_equal(write(nb->to, "x", 1), 1);
	close(nb->to);
	close(nb->from);
	while (waitpid(nb->pid, &status, WNOHANG) == 0)
		pump(5);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* Open the socket to nobody. */
static void
open_to_nobody(void)
{
	assert_int_equal(chmod(dir, 0755), 0);
	cfg.socket_mode = 0666;
}

static void
test_max_clients_per_user_closes_a_users_connections_beyond_it(void **state)
{
	struct nobody nb;
	struct tc *root[4];
	struct json_object *r;
	char states[8], *log;
	unsigned i;

	if (geteuid() != 0)
		skip();
	open_to_nobody();
	cfg.max_clients_per_user = 3;
	start();
	capture_stderr();
	nobody_start(&nb, 5, NULL);
	assert_int_equal(server_clients(srv), 3);
	nobody_states(&nb, states, 5);
	assert_string_equal(states, "ooocc");
	/* Root is not counted against any limit of its own. */
	for (i = 0; i < 4; i++)
		root[i] = tc_connect();
	pump(50);
	for (i = 0; i < 4; i++) {
		tc_send(root[i], "{\"method\":\"io.tvtokend.Broker.GetStatus\"}");
		r = tc_reply(root[i]);
		assert_int_equal(json_object_get_int(j_param(r, "clients")), 7);
		json_object_put(r);
	}
	nobody_stop(&nb);
	log = captured_stderr();
	assert_int_equal(count_of(log, "uid 65534 has MaxClientsPerUser=3 connections open"), 2);
	free(log);
	for (i = 0; i < 4; i++)
		tc_close(root[i]);
}

static void
test_a_full_table_makes_room_for_root_by_closing_the_longest_idle_connection_of_another_user(void **state)
{
	struct nobody nb;
	struct tc *a, *b;
	struct json_object *r;
	char states[8];

	if (geteuid() != 0)
		skip();
	open_to_nobody();
	cfg.max_clients = 3;
	start();
	nobody_start(&nb, 3, NULL);
	assert_int_equal(server_clients(srv), 3);
	a = tc_connect();
	tc_send(a, "{\"method\":\"org.varlink.service.GetInfo\"}");
	r = tc_reply(a);
	assert_null(j_error(r));
	json_object_put(r);
	b = tc_connect();
	tc_send(b, "{\"method\":\"org.varlink.service.GetInfo\"}");
	r = tc_reply(b);
	assert_null(j_error(r));
	json_object_put(r);
	assert_int_equal(server_clients(srv), 3);
	/* The two that waited longest went, in order. */
	nobody_states(&nb, states, 3);
	assert_string_equal(states, "cco");
	nobody_stop(&nb);
	tc_close(a);
	tc_close(b);
}

static void
test_a_full_table_of_busy_connections_closes_roots_new_one(void **state)
{
	struct nobody nb;
	struct tc *extra;
	char states[8];

	if (geteuid() != 0)
		skip();
	open_to_nobody();
	fake_set_token(1, "tok-1", false);
	cfg.max_clients = 2;
	start();
	/* Watchers are busy, however quiet. */
	nobody_start(&nb, 2, "{\"method\":\"io.tvtokend.Broker.GetToken\",\"more\":true}");
	assert_int_equal(server_watchers(srv), 2);
	extra = tc_connect();
	assert_true(tc_closed(extra, TIMEOUT_MS));
	nobody_states(&nb, states, 2);
	assert_string_equal(states, "oo");
	nobody_stop(&nb);
	tc_close(extra);
}

static void
test_a_full_table_of_roots_own_idle_connections_closes_its_new_one(void **state)
{
	struct tc *a, *b, *extra;

	/* CONTRACT §7: beyond MaxClients= new connections are closed at once, root's too. */
	cfg.max_clients = 2;
	start();
	a = tc_connect();
	tc_send_raw(a, "{", 1);
	b = tc_connect();
	pump(50);
	assert_int_equal(server_clients(srv), 2);
	extra = tc_connect();
	assert_true(tc_closed(extra, TIMEOUT_MS));
	assert_int_equal(server_clients(srv), 2);
	tc_close(a);
	tc_close(b);
	tc_close(extra);
}

static void
test_a_full_table_makes_room_for_root_by_closing_a_connection_that_sent_half_a_message(void **state)
{
	struct nobody nb;
	struct tc *a;
	struct json_object *r;
	char states[8];

	if (geteuid() != 0)
		skip();
	open_to_nobody();
	cfg.max_clients = 3;
	start();
	/* Issue 7: one byte of a message that never ends must not lock root out. */
	nobody_start_raw(&nb, 3, "{", 1, 1);
	assert_int_equal(server_clients(srv), 3);
	assert_true(server_pending(srv) > 0);
	a = tc_connect();
	tc_send(a, "{\"method\":\"org.varlink.service.GetInfo\"}");
	r = tc_reply(a);
	assert_null(j_error(r));
	json_object_put(r);
	assert_int_equal(server_clients(srv), 3);
	nobody_states(&nb, states, 3);
	assert_string_equal(states, "coo");
	nobody_stop(&nb);
	tc_close(a);
}

static void
test_of_connections_with_half_a_message_the_one_silent_longest_makes_room_first(void **state)
{
	struct nobody nb;
	struct tc *a, *b;
	struct json_object *r;
	char states[8];

	if (geteuid() != 0)
		skip();
	open_to_nobody();
	cfg.max_clients = 3;
	start();
	nobody_start_raw(&nb, 3, "{", 1, 1);
	/* The first sends one more byte: the second is now silent longest, then the third. */
	nobody_poke(&nb, 0);
	a = tc_connect();
	tc_send(a, "{\"method\":\"org.varlink.service.GetInfo\"}");
	r = tc_reply(a);
	assert_null(j_error(r));
	json_object_put(r);
	nobody_states(&nb, states, 3);
	assert_string_equal(states, "oco");
	b = tc_connect();
	tc_send(b, "{\"method\":\"org.varlink.service.GetInfo\"}");
	r = tc_reply(b);
	assert_null(j_error(r));
	json_object_put(r);
	nobody_states(&nb, states, 3);
	assert_string_equal(states, "occ");
	nobody_stop(&nb);
	tc_close(a);
	tc_close(b);
}

static void
test_a_full_table_makes_room_for_root_by_closing_a_connection_that_does_not_read_its_replies(void **state)
{
	static const char call[] = "{\"method\":\"org.varlink.service.GetInterfaceDescription\","
		"\"parameters\":{\"interface\":\"io.tvtokend.Broker\"}}";
	struct nobody nb;
	struct tc *a;
	struct json_object *r;
	char states[8];
	int i;

	if (geteuid() != 0)
		skip();
	open_to_nobody();
	cfg.max_clients = 2;
	start();
	/* Pipelined calls whose replies are never read: the server holds some of them. */
	nobody_start_raw(&nb, 2, call, sizeof(call), 1000);
	for (i = 0; i < 100 && server_pending(srv) == 0; i++)
		pump(10);
	assert_true(server_pending(srv) > 0);
	assert_int_equal(server_clients(srv), 2);
	a = tc_connect();
	tc_send(a, "{\"method\":\"org.varlink.service.GetInfo\"}");
	r = tc_reply(a);
	assert_null(j_error(r));
	json_object_put(r);
	assert_int_equal(server_clients(srv), 2);
	nobody_states(&nb, states, 2);
	assert_int_equal(count_of(states, "c"), 1);
	nobody_stop(&nb);
	tc_close(a);
}

static void
test_an_excluded_peer_that_never_ends_its_call_makes_room_for_root(void **state)
{
	uid_t users[] = { 4242 };
	struct nobody nb;
	struct tc *a;
	struct json_object *r;
	char states[8];

	if (geteuid() != 0)
		skip();
	open_to_nobody();
	cfg.allow_users = users;
	cfg.n_allow_users = 1;
	cfg.max_clients = 2;
	start();
	nobody_start_raw(&nb, 2, "{\"method\":", 10, 1);
	assert_int_equal(server_clients(srv), 2);
	a = tc_connect();
	tc_send(a, "{\"method\":\"org.varlink.service.GetInfo\"}");
	r = tc_reply(a);
	assert_null(j_error(r));
	json_object_put(r);
	nobody_states(&nb, states, 2);
	assert_string_equal(states, "co");
	nobody_stop(&nb);
	tc_close(a);
}

static void
test_client_denied_lines_are_rate_limited_with_a_summary(void **state)
{
	uid_t users[] = { 4242 };
	struct nobody nb;
	char states[64], *log;

	if (geteuid() != 0)
		skip();
	open_to_nobody();
	cfg.allow_users = users;
	cfg.n_allow_users = 1;
	cfg.max_clients = 64;
	start();
	capture_stderr();
	nobody_start(&nb, 40, "{\"method\":\"org.varlink.service.GetInfo\"}");
	/* Every one was refused and closed... */
	nobody_states(&nb, states, 40);
	assert_int_equal(count_of(states, "c"), 40);
	nobody_stop(&nb);
	/* ...but only the first few said so; the summary comes at the end of the interval (or at exit). */
	server_free(srv);
	srv = NULL;
	log = captured_stderr();
	assert_int_equal(count_of(log, "client_denied: pid"), 10);
	assert_int_equal(count_of(log, "client_denied: suppressed 30 more messages like this"), 1);
	free(log);
}

static void
test_replies_before_a_message_that_is_not_json_still_arrive(void **state)
{
	static const char calls[] =
		"{\"method\":\"org.varlink.service.GetInfo\"}\0"
		"{\"method\":\"io.tvtokend.Broker.GetStatus\"}\0"
		"not json\0"
		"{\"method\":\"org.varlink.service.GetInfo\"}";
	struct tc *c;
	struct json_object *r;

	start();
	c = tc_connect();
	tc_send_raw(c, calls, sizeof(calls));
	r = tc_reply(c);
	assert_string_equal(json_object_get_string(j_param(r, "vendor")), "tvtokend");
	json_object_put(r);
	r = tc_reply(c);
	assert_non_null(j_param(r, "state"));
	json_object_put(r);
	/* Nothing for the message that is not JSON, nor after it. */
	assert_true(tc_closed(c, TIMEOUT_MS));
	tc_close(c);
}

static void
test_a_connected_socket_handed_over_is_served_like_an_accepted_one(void **state)
{
	struct json_object *r;
	struct tc c = { .fd = -1 };
	int sv[2];

	fake_set_token(3, "tok-3", false);
	start();
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(server_add_client(srv, sv[0]), 0);
	assert_true(fcntl(sv[0], F_GETFL) & O_NONBLOCK);
	assert_int_equal(server_clients(srv), 1);
	c.fd = sv[1];
	assert_int_equal(fcntl(c.fd, F_SETFL, O_NONBLOCK), 0);
	tc_send(&c, "{\"method\":\"io.tvtokend.Broker.GetToken\"}");
	r = tc_reply(&c);
	assert_token_reply(r, 3, "tok-3");
	json_object_put(r);
	close(sv[1]);
	pump(20);
	assert_int_equal(server_clients(srv), 0);
}

static void
test_calls_beyond_one_turn_are_handled_on_the_next(void **state)
{
	static const char oneway[] = "{\"method\":\"io.tvtokend.Broker.GetStatus\",\"oneway\":true}";
	static const char last[] = "{\"method\":\"org.varlink.service.GetInfo\"}";
	struct tc *c, *other;
	struct json_object *r;
	size_t i, n = 1000, len = 0;
	char *calls = malloc(n * sizeof(oneway) + sizeof(last));

	assert_non_null(calls);
	for (i = 0; i < n; i++) {
		memcpy(calls + len, oneway, sizeof(oneway));
		len += sizeof(oneway);
	}
	memcpy(calls + len, last, sizeof(last));
	len += sizeof(last);
	start();
	c = tc_connect();
	other = tc_connect();
	assert_true(tc_send_raw_try(c, calls, len));
	free(calls);
	/* Someone else is served meanwhile... */
	tc_send(other, "{\"method\":\"org.varlink.service.GetInfo\"}");
	r = tc_reply(other);
	assert_null(j_error(r));
	json_object_put(r);
	/* ...and the 1,001st call, after 1,000 without a reply, gets the one reply. */
	r = tc_reply(c);
	assert_string_equal(json_object_get_string(j_param(r, "vendor")), "tvtokend");
	json_object_put(r);
	tc_assert_quiet(c);
	tc_close(c);
	tc_close(other);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_get_info_names_the_service_and_its_interfaces),
		T(test_broker_interface_description_is_the_contract_text),
		T(test_service_interface_description_lists_its_methods_and_errors),
		T(test_description_of_an_unknown_interface_is_interface_not_found),
		T(test_an_unknown_method_is_method_not_found),
		T(test_an_unknown_interface_is_interface_not_found),
		T(test_an_unknown_parameter_is_invalid_parameter),
		T(test_a_parameter_of_the_wrong_type_is_invalid_parameter),
		T(test_a_missing_required_parameter_is_invalid_parameter),
		T(test_a_call_with_a_non_string_method_is_invalid_parameter_method),
		T(test_get_token_returns_the_current_token),
		T(test_get_token_includes_the_market_data_token_when_held),
		T(test_get_token_without_a_token_is_no_token),
		T(test_no_token_leaves_out_retry_at_when_nothing_is_scheduled),
		T(test_get_token_checks_expiry_when_it_replies),
		T(test_get_token_wait_is_answered_by_the_next_token),
		T(test_get_token_wait_survives_a_token_loss),
		T(test_get_token_wait_ends_with_no_token_when_the_broker_gives_up),
		T(test_get_token_wait_when_the_broker_has_given_up_is_no_token_at_once),
		T(test_get_token_more_streams_each_change_until_the_token_is_lost),
		T(test_a_stream_does_not_repeat_a_generation),
		T(test_get_token_more_without_a_token_and_without_wait_is_no_token),
		T(test_get_token_more_with_wait_waits_then_streams),
		T(test_hanging_up_ends_a_held_call),
		T(test_a_client_that_half_closes_still_gets_its_replies),
		T(test_report_rejected_of_an_invalid_generation_is_invalid_parameter),
		T(test_report_rejected_without_a_token_is_no_token),
		T(test_report_rejected_of_an_old_generation_returns_the_current_token),
		T(test_report_rejected_waits_for_the_renewed_token),
		T(test_report_rejected_waiting_survives_a_refused_renewal_and_gets_the_replacement),
		T(test_report_rejected_waiting_gets_the_current_token_when_the_broker_gives_up),
		T(test_report_rejected_waiting_ends_with_no_token_when_the_broker_gives_up_without_a_token),
		T(test_get_status_reports_every_field_and_never_a_token),
		T(test_get_status_without_a_token_has_nulls),
		T(test_pipelined_calls_are_answered_in_order),
		T(test_calls_behind_a_held_call_wait_for_it),
		T(test_a_oneway_call_gets_no_reply),
		T(test_non_json_closes_only_that_connection),
		T(test_a_json_array_closes_the_connection),
		T(test_a_message_over_64_kib_closes_the_connection),
		T(test_a_message_of_exactly_64_kib_is_served),
		T(test_too_much_queued_behind_a_held_call_drops_the_client),
		T(test_beyond_max_clients_new_connections_are_closed_at_once),
		T(test_a_watcher_that_does_not_read_is_dropped),
		T(test_out_of_descriptors_pauses_accepting_for_a_second),
		T(test_an_excluded_peer_gets_permission_denied_and_is_disconnected),
		T(test_a_listed_peer_is_served),
		T(test_a_reload_that_excludes_a_peer_refuses_its_next_call),
		T(test_root_and_ourselves_are_admitted_whatever_the_lists_say),
		T(test_the_socket_is_created_with_its_parent_and_mode),
		T(test_the_socket_file_is_removed_at_free),
		T(test_a_stale_socket_file_is_replaced),
		T(test_a_live_socket_is_refused_with_eaddrinuse),
		T(test_a_live_socket_of_someone_else_is_refused_and_left_alone),
		T(test_a_file_that_is_not_a_socket_is_an_error),
		T(test_a_socket_from_systemd_is_served_and_its_file_kept),
		T(test_a_method_name_with_a_nul_is_not_run_and_is_named_in_full),
		T(test_an_interface_name_with_a_nul_is_interface_not_found),
		T(test_a_parameter_name_with_a_nul_is_invalid_parameter),
		T(test_an_overlong_utf8_sequence_closes_the_connection_without_a_reply),
		T(test_escapes_that_are_not_characters_are_echoed_as_valid_utf8),
		T(test_a_call_nested_too_deep_gets_invalid_parameter_then_the_connection_closes),
		T(test_get_info_and_descriptions_stay_the_same_across_calls),
		T(test_a_token_reply_is_written_anew_for_each_generation),
		T(test_watchers_are_counted_until_their_stream_ends),
		T(test_a_client_that_pipelines_faster_than_it_reads_gets_every_reply_in_order),
		T(test_300_pipelined_interface_descriptions_all_arrive),
		T(test_a_client_that_never_reads_is_not_read_either_and_others_are_served),
		T(test_past_max_pending_output_the_largest_clients_are_dropped_and_the_rest_served),
		T(test_max_clients_per_user_closes_a_users_connections_beyond_it),
		T(test_a_full_table_makes_room_for_root_by_closing_the_longest_idle_connection_of_another_user),
		T(test_a_full_table_of_busy_connections_closes_roots_new_one),
		T(test_a_full_table_of_roots_own_idle_connections_closes_its_new_one),
		T(test_a_full_table_makes_room_for_root_by_closing_a_connection_that_sent_half_a_message),
		T(test_of_connections_with_half_a_message_the_one_silent_longest_makes_room_first),
		T(test_a_full_table_makes_room_for_root_by_closing_a_connection_that_does_not_read_its_replies),
		T(test_an_excluded_peer_that_never_ends_its_call_makes_room_for_root),
		T(test_client_denied_lines_are_rate_limited_with_a_summary),
		T(test_replies_before_a_message_that_is_not_json_still_arrive),
		T(test_a_connected_socket_handed_over_is_served_like_an_accepted_one),
		T(test_calls_beyond_one_turn_are_handled_on_the_next),
	};

	log_init(LOG_TARGET_STDERR, getenv("TEST_DEBUG") != NULL);
	/* As the daemon does (main.c): a write to a client that went away is EPIPE, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
