/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the Varlink framing, call parsing and dispatch of the
 * daemon (daemon/varlink.c, daemon/server.c), against a broker faked here
 * as tests/unit/test-server.c does.
 *
 * The input's first byte sets the scene (whether a token is held, what a
 * ReportRejected gets, whether the client half-closes after sending, which
 * broker events follow); the rest is sent as it is, in pieces, on a
 * connection the server serves (a socketpair handed to server_add_client),
 * with the event loop run in between. It checks:
 *  - every framed message reads alike through the scanner and through
 *    json-c alone (varlink_parse_call vs varlink_parse_call_jsonc);
 *  - every reply is one JSON object in valid UTF-8, ending at its one NUL,
 *    with "parameters" an object, and "error" a string when present;
 *  - no token leaks into an error reply (unless the client sent it itself);
 *  - the server's counters come back to zero once the client is gone.
 * Nothing is read from or written to the file system.
 *
 * Links, unchanged: daemon/server.c varlink.c peer.c log.c lifecycle.c
 * reply.c token.c timeutil.c (not broker.c: the fake below stands in for
 * it), with libevent, json-c and libsystemd. Built and run by hand with:
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *     '-DTVTOKEND_VERSION="fuzz"' -Idaemon tests/fuzz/fuzz-varlink.c \
 *     daemon/server.c daemon/varlink.c daemon/peer.c daemon/log.c \
 *     daemon/lifecycle.c daemon/reply.c daemon/token.c daemon/timeutil.c \
 *     $(pkg-config --cflags --libs libevent json-c libsystemd) -o fuzz-varlink
 *   ./fuzz-varlink -max_len=70000 -timeout=10 tests/fuzz/corpus/varlink
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

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

/* Replies read per input, at most: enough for every reply a 64 KiB input can earn a few times over. */
#define FUZZ_REPLIES_MAX (8 * 1024 * 1024)
#define FUZZ_TOKEN "tok-fuzz-secret-0123456789"

/* ---- the fake broker ---- */

static struct lifecycle fake_lc;
static enum lc_report fake_report;

/* The token valid now, or NULL. */
const struct token *
broker_token(struct broker *b)
{
	return lc_current(&fake_lc, time_now());
}

/* What the scene says a report gets. */
enum lc_report
broker_report_rejected(struct broker *b, int64_t generation)
{
	return fake_report;
}

/* The fake lifecycle. */
const struct lifecycle *
broker_lifecycle(struct broker *b)
{
	return &fake_lc;
}

/* The broker works alone. */
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

/* ---- the server, made once ---- */

static struct event_base *base;
static struct server *srv;
static struct varlink_parser *parser;
static char broker_dummy;

/* Hold a token of this generation (expired or not), or none. */
static void
fuzz_set_token(uint64_t generation, bool held, bool expired)
{
	token_clear(&fake_lc.token);
	fake_lc.generation = generation;
	if (!held) {
		fake_lc.state = LC_REQUESTING;
		return;
	}
	fake_lc.token.access_token = strdup(FUZZ_TOKEN);
	if (fake_lc.token.access_token == NULL)
		abort();
	fake_lc.token.expiration = expired ? time_now() - USEC_PER_SEC : time_now() + USEC_PER_HOUR;
	fake_lc.token.generation = generation;
	fake_lc.state = expired ? LC_EXPIRED : LC_VALID;
}

/* A listening socket in the abstract namespace: no file to clean up. */
static int
fuzz_listener(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	socklen_t len;

	if (fd < 0)
		abort();
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
			  (size_t)snprintf(sun.sun_path + 1, sizeof(sun.sun_path) - 1,
					   "tvtokend-fuzz-%d", (int)getpid()));
	if (bind(fd, (struct sockaddr *)&sun, len) < 0 || listen(fd, 16) < 0)
		abort();
	return fd;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Make the event loop, the server and a parser, once. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct lc_params p = {
		.renew_before = 15 * USEC_PER_MIN,
		.retry_min = USEC_PER_SEC,
		.retry_max = 5 * USEC_PER_MIN,
		.lockout = USEC_PER_HOUR,
		.max_renewals = 12,
		.max_failed = 4,
	};
	struct config cfg;

	log_init(LOG_TARGET_STDERR, false);
	lc_init(&fake_lc, &p, NULL, NULL);
	memset(&cfg, 0, sizeof(cfg));
	cfg.max_clients = 16;
	base = event_base_new();
	if (base == NULL || server_new(base, &cfg, (struct broker *)&broker_dummy, fuzz_listener(), &srv) < 0 ||
	    varlink_parser_new(&parser) < 0)
		abort();
	return 0;
}

/* ---- checks ---- */

/* The scanner and json-c read msg alike. */
static void
fuzz_check_parse(const char *msg, size_t len)
{
	struct varlink_call a, b;
	int ra, rb;
	size_t k;

	ra = varlink_parse_call(parser, msg, len, &a);
	rb = varlink_parse_call_jsonc(parser, msg, len, &b);
	if (ra != rb)
		abort();
	if (ra == 0) {
		if (a.method.len != b.method.len || memcmp(a.method.p, b.method.p, a.method.len) != 0 ||
		    a.more != b.more || a.oneway != b.oneway || a.n_params != b.n_params)
			abort();
		for (k = 0; k < a.n_params; k++) {
			const struct varlink_param *x = &a.params[k], *y = &b.params[k];

			if (x->name.len != y->name.len || memcmp(x->name.p, y->name.p, x->name.len) != 0 ||
			    x->type != y->type ||
			    (x->type == VARLINK_BOOL && x->b != y->b) ||
			    (x->type == VARLINK_INT && x->i != y->i) ||
			    (x->type == VARLINK_STRING &&
			     (x->s.len != y->s.len || memcmp(x->s.p, y->s.p, x->s.len) != 0)))
				abort();
		}
	} else if (ra == -EINVAL || ra == -ELOOP) {
		if (a.bad.len != b.bad.len || memcmp(a.bad.p, b.bad.p, a.bad.len) != 0)
			abort();
	}
	varlink_call_clear(&a);
	varlink_call_clear(&b);
}

/* Frame the sent bytes as the server does and check each message's parse. */
static void
fuzz_check_messages(const char *buf, size_t len)
{
	size_t off = 0, mlen;
	char *msg;

	while (off < len && varlink_frame(buf + off, len - off, &mlen) == 1) {
		/* A copy with its NUL, so that nothing reads past it unnoticed. */
		msg = malloc(mlen + 1);
		if (msg == NULL)
			abort();
		memcpy(msg, buf + off, mlen);
		msg[mlen] = '\0';
		fuzz_check_parse(msg, mlen);
		free(msg);
		off += mlen + 1;
	}
}

/* One reply: a JSON object in valid UTF-8 with the members a reply has; sent: what the client sent. */
static void
fuzz_check_reply(const char *msg, size_t len, const char *sent, size_t sent_len)
{
	struct json_tokener *tok;
	struct json_object *o, *v;

	if (!varlink_utf8_valid(msg, len))
		abort();
	tok = json_tokener_new();
	if (tok == NULL)
		abort();
	o = json_tokener_parse_ex(tok, msg, (int)len);
	if (o == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "parameters", &v) || !json_object_is_type(v, json_type_object))
		abort();
	if (json_object_object_get_ex(o, "error", &v)) {
		if (!json_object_is_type(v, json_type_string) ||
		    (memmem(msg, len, FUZZ_TOKEN, strlen(FUZZ_TOKEN)) != NULL &&
		     memmem(sent, sent_len, FUZZ_TOKEN, strlen(FUZZ_TOKEN)) == NULL))
			abort();
	}
	json_object_put(o);
	json_tokener_free(tok);
}

/* Run the loop without waiting, a few turns (the server's next-turn work included). */
static void
fuzz_pump(void)
{
	int i;

	for (i = 0; i < 4; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
}

/* Read what the server sent; false when it closed the connection. */
static bool
fuzz_read(int fd, char *out, size_t *len)
{
	ssize_t n;

	for (;;) {
		if (*len == FUZZ_REPLIES_MAX) {
			char sink[4096];

			n = recv(fd, sink, sizeof(sink), MSG_DONTWAIT);
		} else {
			n = recv(fd, out + *len, FUZZ_REPLIES_MAX - *len, MSG_DONTWAIT);
			if (n > 0)
				*len += (size_t)n;
		}
		if (n == 0)
			return false;
		if (n < 0)
			return !(errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Send the input as one client and check what comes back. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *replies;
	const char *buf;
	size_t len, off = 0, rlen = 0, mlen, quiet;
	uint8_t scene;
	bool open = true;
	int sv[2];
	ssize_t n;

	if (size < 1)
		return 0;
	if (replies == NULL && (replies = malloc(FUZZ_REPLIES_MAX)) == NULL)
		abort();
	scene = data[0];
	buf = (const char *)data + 1;
	len = size - 1;
	fuzz_check_messages(buf, len);

	fuzz_set_token(1 + (scene >> 6), scene & 1, scene & 2);
	fake_report = (enum lc_report)((scene >> 2) & 3);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	if (server_add_client(srv, sv[0]) < 0)
		abort();
	if (fcntl(sv[1], F_SETFL, O_NONBLOCK) < 0)
		abort();

	/* Send in pieces, reading as we go: the server may hold back until we read. */
	for (quiet = 0; off < len && open && quiet < 64; ) {
		n = send(sv[1], buf + off, len - off > 4096 ? 4096 : len - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			quiet = 0;
		} else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			break;
		} else {
			quiet++;
		}
		fuzz_pump();
		open = fuzz_read(sv[1], replies, &rlen);
	}
	if (open && (scene & 0x10))
		shutdown(sv[1], SHUT_WR);
	for (quiet = 0; open && quiet < 8; quiet++) {
		size_t before = rlen;

		fuzz_pump();
		open = fuzz_read(sv[1], replies, &rlen);
		if (rlen != before)
			quiet = 0;
	}
	/* What the broker may do next, to whatever the client still holds. */
	if (open && (scene & 0x20)) {
		fuzz_set_token(9, true, false);
		server_token_new(srv);
	}
	if (open && (scene & 0x40)) {
		fuzz_set_token(9, false, false);
		server_token_lost(srv);
		server_gave_up(srv);
	}
	fuzz_pump();
	fuzz_read(sv[1], replies, &rlen);
	close(sv[1]);
	fuzz_pump();

	/* Every reply, up to what was kept. */
	for (off = 0; off < rlen && varlink_frame(replies + off, rlen - off, &mlen) == 1; off += mlen + 1)
		fuzz_check_reply(replies + off, mlen, buf, len);
	if (rlen < FUZZ_REPLIES_MAX && off != rlen)
		abort();   /* a reply without its NUL */

	/* The client is gone: nothing of it is left. */
	if (server_clients(srv) != 0 || server_watchers(srv) != 0 || server_pending(srv) != 0)
		abort();
	token_clear(&fake_lc.token);
	return 0;
}
