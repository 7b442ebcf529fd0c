/* SPDX-License-Identifier: MIT */
/*
 * libtvtoken against a scripted fake broker.
 *
 * Each test gets a fresh directory with a listening socket in it, writes the
 * fake broker's script (accept, read a call, send bytes, hang up, ...), runs
 * it in a thread, and talks to it through the shared library exactly as a
 * client program would. The calls the fake broker received are checked
 * afterwards, byte for byte.
 *
 * explicit_bzero is defined here, so that the library's calls to it land here
 * and the test can see which memory was wiped.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <grp.h>

#include <cmocka.h>

#include "tvtoken.h"

/* ---- what the library wipes ---- */

struct wipe {
	const void *p;
	size_t n;
	char was[64];       /* what the first bytes held, NUL-terminated */
};

static struct wipe wipes[1024];
static size_t n_wipes;

void __explicit_bzero_chk(void *s, size_t n, size_t destlen);

/* Record and do a wipe: the library's explicit_bzero calls end up here. */
void
explicit_bzero(void *s, size_t n)
{
	volatile unsigned char *p = s;

	if (n_wipes < sizeof(wipes) / sizeof(wipes[0])) {
		size_t keep = n < sizeof(wipes[0].was) ? n : sizeof(wipes[0].was) - 1;

		wipes[n_wipes].p = s;
		wipes[n_wipes].n = n;
		memcpy(wipes[n_wipes].was, s, keep);
		wipes[n_wipes].was[keep] = '\0';
		n_wipes++;
	}
	while (n-- > 0)
		*p++ = 0;
}

/* The same, for a library built with _FORTIFY_SOURCE. */
void
__explicit_bzero_chk(void *s, size_t n, size_t destlen)
{
	(void)destlen;
	explicit_bzero(s, n);
}

/* Whether a wipe since the last reset covered [p, p + n). */
static bool
wiped(const void *p, size_t n)
{
	const char *c = p;
	size_t i;

	for (i = 0; i < n_wipes; i++) {
		const char *w = wipes[i].p;

		if (w <= c && c + n <= w + wipes[i].n)
			return true;
	}
	return false;
}

/* ---- the fake broker ---- */

enum fake_op {
	OP_END,
	OP_ACCEPT,          /* accept the next connection */
	OP_RECV,            /* read one call (up to its NUL) into calls[] */
	OP_SEND,            /* send len bytes at once */
	OP_SEND_BYTEWISE,   /* send len bytes one by one */
	OP_CLOSE,           /* hang up */
	OP_WAIT_EOF,        /* wait until the client hangs up */
	OP_SLEEP,           /* pause ms */
};

struct step {
	enum fake_op op;
	const char *data;
	size_t len;
	int ms;
};

/* A literal's bytes and its terminating NUL: one message, or several with "\0" between. */
#define ACCEPT() { OP_ACCEPT, NULL, 0, 0 }
#define RECV() { OP_RECV, NULL, 0, 0 }
#define SEND(lit) { OP_SEND, lit, sizeof(lit), 0 }
#define SEND_BYTEWISE(lit) { OP_SEND_BYTEWISE, lit, sizeof(lit), 0 }
#define SEND_BYTES(p, n) { OP_SEND, p, n, 0 }
#define CLOSE() { OP_CLOSE, NULL, 0, 0 }
#define WAIT_EOF() { OP_WAIT_EOF, NULL, 0, 0 }
#define SLEEP(ms) { OP_SLEEP, NULL, 0, ms }
#define END() { OP_END, NULL, 0, 0 }

#define FAKE_PATIENCE_MS 5000
#define FAKE_CALLS 8
#define FAKE_CALL_MAX 1024

struct fake {
	char dir[64];
	char path[108];            /* sizeof(sun_path) */
	int lfd;
	int fd;
	const struct step *steps;
	pthread_t thread;
	bool running;
	atomic_bool stop;
	char calls[FAKE_CALLS][FAKE_CALL_MAX];
	int n_calls;
	char failure[256];            /* "" while the script runs as written */
	tvtoken_client *client;
};

/* Note the first way the script could not run as written. */
static void
fake_fail(struct fake *f, int step, const char *what)
{
	if (f->failure[0] == '\0')
		snprintf(f->failure, sizeof(f->failure), "step %d: %s (%s)", step, what,
			 strerror(errno));
}

/* Wait until fd is ready, giving up after FAKE_PATIENCE_MS or when the test stops us. */
static bool
fake_ready(struct fake *f, int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };
	int waited, r;

	for (waited = 0; waited < FAKE_PATIENCE_MS; waited += 20) {
		if (atomic_load(&f->stop))
			return false;
		r = poll(&p, 1, 20);
		if (r > 0)
			return true;
		if (r < 0 && errno != EINTR)
			return false;
	}
	errno = ETIMEDOUT;
	return false;
}

/* Send n bytes, waiting for room as needed. */
static bool
fake_send(struct fake *f, const char *p, size_t n)
{
	ssize_t r;

	while (n > 0) {
		if (!fake_ready(f, f->fd, POLLOUT))
			return false;
		r = send(f->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0)
			return false;
		p += r;
		n -= (size_t)r;
	}
	return true;
}

/* Read one call, byte by byte so nothing after its NUL is taken. */
static bool
fake_recv(struct fake *f)
{
	char *buf = f->calls[f->n_calls % FAKE_CALLS];
	size_t n = 0;
	ssize_t r;
	char ch;

	for (;;) {
		if (!fake_ready(f, f->fd, POLLIN))
			return false;
		r = recv(f->fd, &ch, 1, MSG_DONTWAIT);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EPIPE;
			return false;
		}
		if (ch == '\0')
			break;
		if (n + 1 < FAKE_CALL_MAX)
			buf[n++] = ch;
	}
	buf[n] = '\0';
	f->n_calls++;
	return true;
}

/* Read and drop whatever comes until the client hangs up. */
static bool
fake_wait_eof(struct fake *f)
{
	char buf[256];
	ssize_t r;

	for (;;) {
		if (!fake_ready(f, f->fd, POLLIN))
			return false;
		r = recv(f->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno == ECONNRESET))
			return true;
		if (r < 0 && errno != EINTR && errno != EAGAIN)
			return false;
	}
}

/* Run the script. */
static void *
fake_thread(void *arg)
{
	struct fake *f = arg;
	const struct step *s;
	size_t i;
	int n;

	for (n = 0, s = f->steps; s->op != OP_END; n++, s++) {
		switch (s->op) {
		case OP_ACCEPT:
			if (!fake_ready(f, f->lfd, POLLIN)) {
				fake_fail(f, n, "no connection");
				return NULL;
			}
			f->fd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
			if (f->fd < 0) {
				fake_fail(f, n, "accept");
				return NULL;
			}
			break;
		case OP_RECV:
			if (!fake_recv(f)) {
				fake_fail(f, n, "no call");
				return NULL;
			}
			break;
		case OP_SEND:
			if (!fake_send(f, s->data, s->len)) {
				fake_fail(f, n, "send");
				return NULL;
			}
			break;
		case OP_SEND_BYTEWISE:
			for (i = 0; i < s->len; i++) {
				if (!fake_send(f, s->data + i, 1)) {
					fake_fail(f, n, "send");
					return NULL;
				}
				usleep(100);
			}
			break;
		case OP_CLOSE:
			close(f->fd);
			f->fd = -1;
			break;
		case OP_WAIT_EOF:
			if (!fake_wait_eof(f)) {
				fake_fail(f, n, "the client did not hang up");
				return NULL;
			}
			break;
		case OP_SLEEP:
			usleep((useconds_t)s->ms * 1000);
			break;
		case OP_END:
			break;
		}
	}
	return NULL;
}

/* Start the script in its thread. */
static void
fake_run(struct fake *f, const struct step *steps)
{
	f->steps = steps;
	assert_int_equal(pthread_create(&f->thread, NULL, fake_thread, f), 0);
	f->running = true;
}

/* Wait for the script to end; it must have run as written. */
static void
fake_join(struct fake *f)
{
	if (f->running)
		pthread_join(f->thread, NULL);
	f->running = false;
	assert_string_equal(f->failure, "");
}

/* A fresh directory with a listening socket, and a handle for it. */
static int
setup(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct fake *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->fd = -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/tvtoken-test-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/io.tvtokend.Broker", f->dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
	f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f->lfd >= 0);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->lfd, 8), 0);
	assert_int_equal(tvtoken_open(f->path, &f->client), 0);
	n_wipes = 0;
	*state = f;
	return 0;
}

/* Stop the fake broker and remove its directory. */
static int
teardown(void **state)
{
	struct fake *f = *state;

	f->client = tvtoken_close(f->client);
	atomic_store(&f->stop, true);
	if (f->running)
		pthread_join(f->thread, NULL);
	if (f->fd >= 0)
		close(f->fd);
	close(f->lfd);
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

#define CALL_GET_NOWAIT "{\"method\":\"io.tvtokend.Broker.GetToken\",\"parameters\":{\"wait\":false}}"
#define CALL_GET_WAIT "{\"method\":\"io.tvtokend.Broker.GetToken\",\"parameters\":{\"wait\":true}}"

#define TOKEN_3_PARAMS "\"parameters\":{\"token\":{\"accessToken\":\"acc-3\"," \
	"\"mdAccessToken\":\"md-3\",\"expirationTime\":\"2026-11-28T14:30:00Z\"," \
	"\"userId\":7,\"name\":\"trader\",\"generation\":3}}"
#define TOKEN_4_PARAMS "\"parameters\":{\"token\":{\"accessToken\":\"acc-4\"," \
	"\"expirationTime\":\"2026-11-28T16:00:00Z\",\"generation\":4}}"
#define TOKEN_3 "{" TOKEN_3_PARAMS "}"
#define TOKEN_4 "{" TOKEN_4_PARAMS "}"
#define STREAM_3 "{" TOKEN_3_PARAMS ",\"continues\":true}"
#define STREAM_4 "{" TOKEN_4_PARAMS ",\"continues\":true}"
#define NO_TOKEN "{\"error\":\"io.tvtokend.Broker.NoToken\",\"parameters\":" \
	"{\"state\":\"backoff\",\"reason\":\"token expired\",\"retryAt\":\"2026-11-28T14:31:00Z\"}}"

/* Milliseconds on CLOCK_MONOTONIC. */
static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Get once, expecting the given error, against a script answering with reply. */
static void
expect_get_fails(struct fake *f, const struct step *steps, int err)
{
	tvtoken_token *t = NULL;

	fake_run(f, steps);
	assert_int_equal(tvtoken_get(f->client, 0, &t), err);
	assert_null(t);
	fake_join(f);
}

/* ---- GetToken ---- */

static void
get_without_wait_sends_wait_false_and_returns_the_token(void **state)
{
	struct fake *f = *state;
	const struct step steps[] = { ACCEPT(), RECV(), SEND(TOKEN_3), WAIT_EOF(), END() };
	tvtoken_token *t;

	fake_run(f, steps);
	assert_int_equal(tvtoken_get(f->client, 0, &t), 0);
	f->client = tvtoken_close(f->client);
	fake_join(f);
	assert_string_equal(f->calls[0], CALL_GET_NOWAIT);
	assert_string_equal(t->access_token, "acc-3");
	assert_string_equal(t->md_access_token, "md-3");
	assert_string_equal(t->expiration_time, "2026-11-28T14:30:00Z");
	assert_true(t->has_user_id);
	assert_int_equal(t->user_id, 7);
	assert_string_equal(t->name, "trader");
	assert_int_equal(t->generation, 3);
	tvtoken_token_free(t);
}

static void
get_with_timeout_sends_wait_true(void **state)
{
	struct fake *f = *state;
	const struct step steps[] = { ACCEPT(), RECV(), SEND(TOKEN_3), END() };
	tvtoken_token *t;

	fake_run(f, steps);
	assert_int_equal(tvtoken_get(f->client, 2000, &t), 0);
	fake_join(f);
	assert_string_equal(f->calls[0], CALL_GET_WAIT);
	tvtoken_token_free(t);
}

static void
get_waiting_forever_sends_wait_true(void **state)
{
	struct fake *f = *state;
	const struct step steps[] = { ACCEPT(), RECV(), SLEEP(200), SEND(TOKEN_3), END() };
	tvtoken_token *t;

	fake_run(f, steps);
	assert_int_equal(tvtoken_get(f->client, -1, &t), 0);
	fake_join(f);
	assert_string_equal(f->calls[0], CALL_GET_WAIT);
	assert_int_equal(t->generation, 3);
	tvtoken_token_free(t);
}

static void
optional_token_fields_may_be_null_or_absent(void **state)
{
	struct fake *f = *state;
	const struct step steps[] = { ACCEPT(), RECV(),
		SEND("{\"parameters\":{\"token\":{\"accessToken\":\"a\",\"mdAccessToken\":null,"
		     "\"expirationTime\":\"2026-11-28T14:30:00Z\",\"userId\":null,\"generation\":1}}}"),
		END() };
	tvtoken_token *t;

	fake_run(f, steps);
	assert_int_equal(tvtoken_get(f->client, 0, &t), 0);
	fake_join(f);
	assert_null(t->md_access_token);
	assert_false(t->has_user_id);
	assert_null(t->name);
	tvtoken_token_free(t);
}

static void
calls_on_one_connection_reuse_it(void **state)
{
	struct fake *f = *state;
	const struct step steps[] = { ACCEPT(), RECV(), SEND(TOKEN_3), RECV(), SEND(TOKEN_4),
		END() };
	tvtoken_token *a, *b;

	fake_run(f, steps);
	assert_int_equal(tvtoken_get(f->client, 0, &a), 0);
	assert_int_equal(tvtoken_get(f->client, 0, &b), 0);
	fake_join(f);
	assert_int_equal(a->generation, 3);
	assert_int_equal(b->generation, 4);
	tvtoken_token_free(a);
	tvtoken_token_free(b);
}

/* ---- framing ---- */

static void
reply_split_byte_by_byte_is_put_together(void **state)
{
	struct fake *f = *state;
	const struct step steps[] = { ACCEPT(), RECV(), SEND_BYTEWISE(TOKEN_3), END() };
	tvtoken_token *t;

	fake_run(f, steps);
	assert_int_equal(tvtoken_get(f->client, 0, &t), 0);
	fake_join(f);
	assert_string_equal(t->access_token, "acc-3");
	assert_int_equal(t->generation, 3);
	tvtoken_token_free(t);
}

static void
two_replies_in_one_write_are_both_delivered(void **state)
{
	struct fake *f = *state;
	const struct step steps[] = { ACCEPT(), RECV(), SEND(STREAM_3 "\0" STREAM_4), END() };
	tvtoken_token *a, *b;

	fake_run(f, steps);
	assert_int_equal(tvtoken_watch(f->client, 0), 0);
	assert_int_equal(tvtoken_watch_next(f->client, 2000, &a), 0);
	fake_join(f);
	/* The second is already here: no wait needed. */
	assert_int_equal(tvtoken_watch_next(f->client, 0, &b), 0);
	assert_int_equal(a->generation, 3);
	assert_int_equal(b->generation, 4);
	tvtoken_token_free(a);
	tvtoken_token_free(b);
}

/* A token reply whose name pads the message to exactly size bytes before its NUL. */
static char *
padded_reply(size_t size, size_t *name_len)
{
	static const char head[] = "{\"parameters\":{\"token\":{\"accessToken\":\"acc\","
		"\"expirationTime\":\"2026-11-28T14:30:00Z\",\"generation\":1,\"name\":\"";
	static const char tail[] = "\"}}}";
	char *p = malloc(size + 1);

	assert_non_null(p);
	*name_len = size - (sizeof(head) - 1) - (sizeof(tail) - 1);
	memcpy(p, head, sizeof(head) - 1);
	memset(p + sizeof(head) - 1, 'n', *name_len);
	memcpy(p + size - (sizeof(tail) - 1), tail, sizeof(tail) - 1);
	p[size] = '\0';
	return p;
}

static void
reply_of_64_KiB_is_accepted(void **state)
{
	struct fake *f = *state;
	size_t name_len;
	char *reply = padded_reply(TVTOKEN_MESSAGE_MAX, &name_len);
	/* The NUL comes later, after the buffer already holds every other byte. */
	const struct step steps[] = { ACCEPT(), RECV(),
		SEND_BYTES(reply, TVTOKEN_MESSAGE_MAX), SLEEP(100), SEND(""), END() };
	tvtoken_token *t;

	fake_run(f, steps);
	assert_int_equal(tvtoken_get(f->client, 0, &t), 0);
	fake_join(f);
	assert_int_equal(strlen(t->name), name_len);
	tvtoken_token_free(t);
	free(reply);
}

static void
reply_over_64_KiB_is_a_protocol_error(void **state)
{
	struct fake *f = *state;
	size_t name_len;
	char *reply = padded_reply(TVTOKEN_MESSAGE_MAX + 1, &name_len);
	const struct step steps[] = { ACCEPT(), RECV(),
		SEND_BYTES(reply, TVTOKEN_MESSAGE_MAX + 2), WAIT_EOF(), END() };

	expect_get_fails(f, steps, TVTOKEN_E_PROTOCOL);
	assert_int_equal(tvtoken_fd(f->client), -1);
	free(reply);
}

static void
endless_reply_without_nul_is_a_protocol_error(void **state)
{
	struct fake *f = *state;
	char *junk = malloc(4 * TVTOKEN_MESSAGE_MAX);
	const struct step steps[] = { ACCEPT(), RECV(),
		SEND_BYTES(junk, TVTOKEN_MESSAGE_MAX + 1), WAIT_EOF(), END() };

	assert_non_null(junk);
	memset(junk, ' ', 4 * TVTOKEN_MESSAGE_MAX);
	expect_get_fails(f, steps, TVTOKEN_E_PROTOCOL);
	free(junk);
}

static void
reply_that_is_not_json_is_a_protocol_error(void **state)
{
	const struct step steps[] = { ACCEPT(), RECV(), SEND("{\"parameters\":"), WAIT_EOF(),
		END() };

	expect_get_fails(*state, steps, TVTOKEN_E_PROTOCOL);
}

static void
reply_in_lax_json_is_a_protocol_error(void **state)
{
	const struct step steps[] = { ACCEPT(), RECV(),
		SEND("{'parameters':{'token':{'accessToken':'a',"
		     "'expirationTime':'2026-11-28T14:30:00Z','generation':1}}}"),
		WAIT_EOF(), END() };

	expect_get_fails(*state, steps, TVTOKEN_E_PROTOCOL);
}

static void
reply_that_is_not_an_object_is_a_protocol_error(void **state)
{
	const struct step steps[] = { ACCEPT(), RECV(), SEND("[1,2]"), WAIT_EOF(), END() };

	expect_get_fails(*state, steps, TVTOKEN_E_PROTOCOL);
}

static void
token_field_of_the_wrong_type_is_a_protocol_error(void **state)
{
	const struct step steps[] = { ACCEPT(), RECV(),
		SEND("{\"parameters\":{\"token\":{\"accessToken\":42,"
		     "\"expirationTime\":\"2026-11-28T14:30:00Z\",\"generation\":1}}}"),
		WAIT_EOF(), END() };

	expect_get_fails(*state, steps, TVTOKEN_E_PROTOCOL);
}

static void
token_without_generation_is_a_protocol_error(void **state)
{
	const struct step steps[] = { ACCEPT(), RECV(),
		SEND("{\"parameters\":{\"token\":{\"accessToken\":\"a\","
		     "\"expirationTime\":\"2026-11-28T14:30:00Z\"}}}"),
		WAIT_EOF(), END() };

	expect_get_fails(*state, steps, TVTOKEN_E_PROTOCOL);
}

static void
token_with_an_escaped_nul_is_a_protocol_error(void **state)
{
	const struct step steps[] = { ACCEPT(), RECV(),
		SEND("{\"parameters\":{\"token\":{\"accessToken\":\"a\\u0000b\","
		     "\"expirationTime\":\"2026-11-28T14:30:00Z\",\"generation\":1}}}"),
		WAIT_EOF(), END() };

	expect_get_fails(*state, steps, TVTOKEN_E_PROTOCOL);
}

static void
continues_on_a_plain_call_is_a_protocol_error(void **state)
{
	const struct step steps[] = { ACCEPT(), RECV(), SEND(STREAM_3), WAIT_EOF(), END() };

	expect_get_fails(*state, steps, TVTOKEN_E_PROTOCOL);
}

/* ---- errors ---- */

static void
no_token_gives_its_code_name_and_reason(void **state)
{
	struct fake *f = *state;
	const struct step steps[] = { ACCEPT(), RECV(), SEND(NO_TOKEN), END() };

	expect_get_fails(f, steps, TVTOKEN_E_NOTOKEN);
	assert_string_equal(tvtoken_error_name(f->client), "io.tvtokend.Broker.NoToken");
	assert_string_equal(tvtoken_error_reason(f->client),
			    "token expired (state backoff, retry at 2026-11-28T14:31:00Z)");
}

static void
no_token_without_retry_names_the_state(void **state)
{
	struct fake *f = *state;
	const struct step steps[] = { ACCEPT(), RECV(),
		SEND("{\"error\":\"io.tvtokend.Broker.NoToken\",\"parameters\":{\"state\":"
		     "\"credentials_rejected\",\"reason\":\"credentials rejected\",\"retryAt\":null}}"),
		END() };

	expect_get_fails(f, steps, TVTOKEN_E_NOTOKEN);
	assert_string_equal(tvtoken_error_reason(f->client),
			    "credentials rejected (state credentials_rejected)");
}

static void
control_characters_in_a_reason_are_replaced(void **state)
{
	struct fake *f = *state;
	const struct step steps[] = { ACCEPT(), RECV(),
		SEND("{\"error\":\"io.tvtokend.Broker.NoToken\",\"parameters\":{\"state\":"
		     "\"expired\",\"reason\":\"gone\\u001b[2J\\nnow\"}}"),
		END() };

	expect_get_fails(f, steps, TVTOKEN_E_NOTOKEN);
	assert_string_equal(tvtoken_error_reason(f->client), "gone?[2J?now (state expired)");
}

static void
success_clears_the_last_error(void **state)
{
	struct fake *f = *state;
	const struct step steps[] = { ACCEPT(), RECV(), SEND(NO_TOKEN), RECV(), SEND(TOKEN_3),
		END() };
	tvtoken_token *t;

	fake_run(f, steps);
	assert_int_equal(tvtoken_get(f->client, 0, &t), TVTOKEN_E_NOTOKEN);
	assert_int_equal(tvtoken_get(f->client, 0, &t), 0);
	fake_join(f);
	assert_string_equal(tvtoken_error_name(f->client), "");
	assert_string_equal(tvtoken_error_reason(f->client), "");
	tvtoken_token_free(t);
}

static void
permission_denied_reply_gives_access_and_hangs_up(void **state)
{
	struct fake *f = *state;
	const struct step steps[] = { ACCEPT(), RECV(),
		SEND("{\"error\":\"org.varlink.service.PermissionDenied\",\"parameters\":{}}"),
		WAIT_EOF(), END() };

	expect_get_fails(f, steps, TVTOKEN_E_ACCESS);
	assert_string_equal(tvtoken_error_name(f->client), "org.varlink.service.PermissionDenied");
	assert_int_equal(tvtoken_fd(f->client), -1);
}

static void
other_varlink_error_gives_remote_with_its_parameters(void **state)
{
	struct fake *f = *state;
	const struct step steps[] = { ACCEPT(), RECV(),
		SEND("{\"error\":\"org.varlink.service.InvalidParameter\","
		     "\"parameters\":{\"parameter\":\"wait\"}}"),
		END() };

	expect_get_fails(f, steps, TVTOKEN_E_REMOTE);
	assert_string_equal(tvtoken_error_name(f->client), "org.varlink.service.InvalidParameter");
	assert_string_equal(tvtoken_error_reason(f->client), "parameter: wait");
}

static void
broker_hanging_up_before_replying_gives_closed(void **state)
{
	struct fake *f = *state;
	const struct step steps[] = { ACCEPT(), RECV(), CLOSE(), END() };

	expect_get_fails(f, steps, TVTOKEN_E_CLOSED);
	assert_int_equal(tvtoken_fd(f->client), -1);
}

static void
missing_socket_gives_connect(void **state)
{
	struct fake *f = *state;
	tvtoken_client *c;
	tvtoken_token *t = NULL;
	char path[160];

	snprintf(path, sizeof(path), "%s/nothing-here", f->dir);
	assert_int_equal(tvtoken_open(path, &c), 0);
	assert_int_equal(tvtoken_get(c, 0, &t), TVTOKEN_E_CONNECT);
	assert_null(t);
	assert_string_equal(tvtoken_error_reason(c), strerror(ENOENT));
	assert_string_equal(tvtoken_error_name(c), "");
	tvtoken_close(c);
}

static void
socket_in_a_missing_directory_gives_connect(void **state)
{
	struct fake *f = *state;
	tvtoken_client *c;
	tvtoken_token *t;
	char path[160];

	snprintf(path, sizeof(path), "%s/no-dir/io.tvtokend.Broker", f->dir);
	assert_int_equal(tvtoken_open(path, &c), 0);
	assert_int_equal(tvtoken_get(c, 0, &t), TVTOKEN_E_CONNECT);
	tvtoken_close(c);
}

static void
socket_nobody_listens_on_gives_connect(void **state)
{
	struct fake *f = *state;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	tvtoken_client *c;
	char *json = NULL;
	int fd;

	/* Bound but not listening: what a broker that died leaves behind. */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/dead", f->dir);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(tvtoken_open(sa.sun_path, &c), 0);
	assert_int_equal(tvtoken_status(c, &json), TVTOKEN_E_CONNECT);
	assert_null(json);
	assert_string_equal(tvtoken_error_reason(c), strerror(ECONNREFUSED));
	tvtoken_close(c);
	close(fd);
	unlink(sa.sun_path);
}

static void
socket_we_may_not_write_gives_access(void **state)
{
	struct fake *f = *state;
	int status;
	pid_t pid;

	/* Root passes permission checks: the check runs as nobody, in a child. */
	assert_int_equal(chmod(f->dir, 0755), 0);
	assert_int_equal(chmod(f->path, 0), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		tvtoken_client *c;
		tvtoken_token *t;
		int r;

		if (geteuid() == 0 &&
		    (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0))
			_exit(100);
		if (tvtoken_open(f->path, &c) < 0)
			_exit(101);
		r = tvtoken_get(c, 0, &t);
		_exit(r == TVTOKEN_E_ACCESS ? 0 : 102 + -r);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- time-outs and reconnecting ---- */

static void
get_that_times_out_gives_timeout_and_hangs_up(void **state)
{
	struct fake *f = *state;
	const struct step steps[] = { ACCEPT(), RECV(), WAIT_EOF(), END() };
	tvtoken_token *t = NULL;
	long start, took;

	fake_run(f, steps);
	start = now_ms();
	assert_int_equal(tvtoken_get(f->client, 200, &t), TVTOKEN_E_TIMEOUT);
	took = now_ms() - start;
	fake_join(f);
	assert_null(t);
	assert_true(took >= 200);
	assert_true(took < 3000);
	assert_int_equal(tvtoken_fd(f->client), -1);
}

static void
call_after_a_timeout_reconnects(void **state)
{
	struct fake *f = *state;
	const struct step steps[] = { ACCEPT(), RECV(), WAIT_EOF(), CLOSE(),
		ACCEPT(), RECV(), SEND(TOKEN_3), END() };
	tvtoken_token *t;

	fake_run(f, steps);
	assert_int_equal(tvtoken_get(f->client, 100, &t), TVTOKEN_E_TIMEOUT);
	assert_int_equal(tvtoken_get(f->client, 0, &t), 0);
	fake_join(f);
	assert_int_equal(f->n_calls, 2);
	assert_string_equal(f->calls[0], CALL_GET_WAIT);
	assert_string_equal(f->calls[1], CALL_GET_NOWAIT);
	tvtoken_token_free(t);
}

static void
restarted_broker_is_reached_on_a_new_connection(void **state)
{
	struct fake *f = *state;
	const struct step steps[] = { ACCEPT(), RECV(), SEND(TOKEN_3), CLOSE(),
		ACCEPT(), RECV(), SEND(TOKEN_4), END() };
	tvtoken_token *a, *b;

	fake_run(f, steps);
	assert_int_equal(tvtoken_get(f->client, 0, &a), 0);
	usleep(50 * 1000);
	assert_int_equal(tvtoken_get(f->client, 0, &b), 0);
	fake_join(f);
	assert_int_equal(b->generation, 4);
	tvtoken_token_free(a);
	tvtoken_token_free(b);
}

static void
kept_connection_closed_before_the_reply_is_retried_once(void **state)
{
	struct fake *f = *state;
	const struct step steps[] = { ACCEPT(), RECV(), SEND(TOKEN_3), RECV(), CLOSE(),
		ACCEPT(), RECV(), SEND(TOKEN_4), END() };
	tvtoken_token *a, *b;

	fake_run(f, steps);
	assert_int_equal(tvtoken_get(f->client, 0, &a), 0);
	assert_int_equal(tvtoken_get(f->client, 0, &b), 0);
	fake_join(f);
	assert_int_equal(f->n_calls, 3);
	assert_string_equal(f->calls[2], CALL_GET_NOWAIT);
	assert_int_equal(b->generation, 4);
	tvtoken_token_free(a);
	tvtoken_token_free(b);
}

/* ---- the watch stream ---- */

static void
watch_delivers_tokens_while_the_broker_continues(void **state)
{
	struct fake *f = *state;
	const struct step steps[] = { ACCEPT(), RECV(), SEND(STREAM_3), SLEEP(100),
		SEND(STREAM_4), END() };
	tvtoken_token *a, *b;

	fake_run(f, steps);
	assert_int_equal(tvtoken_watch(f->client, 0), 0);
	assert_int_equal(tvtoken_watch_next(f->client, 2000, &a), 0);
	assert_int_equal(tvtoken_watch_next(f->client, 2000, &b), 0);
	fake_join(f);
	assert_string_equal(f->calls[0], "{\"method\":\"io.tvtokend.Broker.GetToken\","
			    "\"parameters\":{\"wait\":false},\"more\":true}");
	assert_string_equal(a->access_token, "acc-3");
	assert_string_equal(b->access_token, "acc-4");
	tvtoken_token_free(a);
	tvtoken_token_free(b);
}

static void
watch_with_wait_asks_the_broker_to_wait(void **state)
{
	struct fake *f = *state;
	const struct step steps[] = { ACCEPT(), RECV(), SEND(STREAM_3), END() };
	tvtoken_token *t;

	fake_run(f, steps);
	assert_int_equal(tvtoken_watch(f->client, 1), 0);
	assert_int_equal(tvtoken_watch_next(f->client, 2000, &t), 0);
	fake_join(f);
	assert_string_equal(f->calls[0], "{\"method\":\"io.tvtokend.Broker.GetToken\","
			    "\"parameters\":{\"wait\":true},\"more\":true}");
	tvtoken_token_free(t);
}

static void
watch_next_timing_out_leaves_the_stream_running(void **state)
{
	struct fake *f = *state;
	const struct step steps[] = { ACCEPT(), RECV(), SEND(STREAM_3), SLEEP(400),
		SEND(STREAM_4), END() };
	tvtoken_token *t;

	fake_run(f, steps);
	assert_int_equal(tvtoken_watch(f->client, 0), 0);
	assert_int_equal(tvtoken_watch_next(f->client, 2000, &t), 0);
	tvtoken_token_free(t);
	assert_int_equal(tvtoken_watch_next(f->client, 0, &t), TVTOKEN_E_TIMEOUT);
	assert_int_equal(tvtoken_watch_next(f->client, 50, &t), TVTOKEN_E_TIMEOUT);
	assert_int_equal(tvtoken_watch_next(f->client, 2000, &t), 0);
	fake_join(f);
	assert_int_equal(t->generation, 4);
	tvtoken_token_free(t);
}

static void
watch_fd_is_readable_when_a_token_arrives(void **state)
{
	struct fake *f = *state;
	const struct step steps[] = { ACCEPT(), RECV(), SLEEP(100), SEND(STREAM_3), END() };
	struct pollfd p = { .events = POLLIN };
	tvtoken_token *t;

	fake_run(f, steps);
	assert_int_equal(tvtoken_watch(f->client, 0), 0);
	p.fd = tvtoken_fd(f->client);
	assert_true(p.fd >= 0);
	assert_int_equal(poll(&p, 1, 2000), 1);
	assert_int_equal(tvtoken_watch_next(f->client, 0, &t), 0);
	fake_join(f);
	assert_int_equal(t->generation, 3);
	tvtoken_token_free(t);
}

static void
watch_ended_by_no_token_gives_notoken_and_frees_the_handle(void **state)
{
	struct fake *f = *state;
	const struct step steps[] = { ACCEPT(), RECV(), SEND(STREAM_3), SEND(NO_TOKEN),
		RECV(), SEND(TOKEN_4), END() };
	tvtoken_token *t;

	fake_run(f, steps);
	assert_int_equal(tvtoken_watch(f->client, 0), 0);
	assert_int_equal(tvtoken_watch_next(f->client, 2000, &t), 0);
	tvtoken_token_free(t);
	assert_int_equal(tvtoken_watch_next(f->client, 2000, &t), TVTOKEN_E_NOTOKEN);
	assert_string_equal(tvtoken_error_reason(f->client),
			    "token expired (state backoff, retry at 2026-11-28T14:31:00Z)");
	assert_int_equal(tvtoken_watch_next(f->client, 0, &t), TVTOKEN_E_INVAL);
	/* The same connection takes calls again. */
	assert_int_equal(tvtoken_get(f->client, 0, &t), 0);
	fake_join(f);
	assert_int_equal(t->generation, 4);
	tvtoken_token_free(t);
}

static void
watch_ended_by_a_last_reply_gives_the_token_then_closed(void **state)
{
	struct fake *f = *state;
	const struct step steps[] = { ACCEPT(), RECV(), SEND(TOKEN_3), END() };
	tvtoken_token *t;

	fake_run(f, steps);
	assert_int_equal(tvtoken_watch(f->client, 0), 0);
	assert_int_equal(tvtoken_watch_next(f->client, 2000, &t), 0);
	tvtoken_token_free(t);
	assert_int_equal(tvtoken_watch_next(f->client, 0, &t), TVTOKEN_E_CLOSED);
	fake_join(f);
}

static void
broker_hanging_up_a_watch_gives_closed(void **state)
{
	struct fake *f = *state;
	const struct step steps[] = { ACCEPT(), RECV(), SEND(STREAM_3), CLOSE(), END() };
	tvtoken_token *t;

	fake_run(f, steps);
	assert_int_equal(tvtoken_watch(f->client, 0), 0);
	assert_int_equal(tvtoken_watch_next(f->client, 2000, &t), 0);
	tvtoken_token_free(t);
	assert_int_equal(tvtoken_watch_next(f->client, 2000, &t), TVTOKEN_E_CLOSED);
	fake_join(f);
	assert_int_equal(tvtoken_fd(f->client), -1);
}

static void
other_calls_are_refused_while_watching(void **state)
{
	struct fake *f = *state;
	const struct step steps[] = { ACCEPT(), RECV(), END() };
	tvtoken_token *t = NULL;
	char *json = NULL;

	fake_run(f, steps);
	assert_int_equal(tvtoken_watch(f->client, 0), 0);
	fake_join(f);
	assert_int_equal(tvtoken_get(f->client, 0, &t), TVTOKEN_E_INVAL);
	assert_int_equal(tvtoken_status(f->client, &json), TVTOKEN_E_INVAL);
	assert_int_equal(tvtoken_watch(f->client, 0), TVTOKEN_E_INVAL);
	assert_null(t);
	assert_null(json);
}

static void
watch_next_without_a_watch_is_invalid(void **state)
{
	struct fake *f = *state;
	tvtoken_token *t = NULL;

	assert_int_equal(tvtoken_watch_next(f->client, 0, &t), TVTOKEN_E_INVAL);
	assert_null(t);
}

/* ---- ReportRejected and GetStatus ---- */

static void
report_rejected_sends_the_given_generation(void **state)
{
	struct fake *f = *state;
	const struct step steps[] = { ACCEPT(), RECV(), SEND(TOKEN_4), END() };
	tvtoken_token *t;

	fake_run(f, steps);
	assert_int_equal(tvtoken_report_rejected(f->client, 3, 2000, &t), 0);
	fake_join(f);
	assert_int_equal(f->n_calls, 1);
	assert_string_equal(f->calls[0], "{\"method\":\"io.tvtokend.Broker.ReportRejected\","
			    "\"parameters\":{\"generation\":3}}");
	assert_int_equal(t->generation, 4);
	tvtoken_token_free(t);
}

static void
report_rejected_without_generation_reports_the_current_one(void **state)
{
	struct fake *f = *state;
	const struct step steps[] = { ACCEPT(), RECV(), SEND(TOKEN_3), RECV(), SEND(TOKEN_4),
		END() };
	tvtoken_token *t;

	fake_run(f, steps);
	assert_int_equal(tvtoken_report_rejected(f->client, -1, -1, &t), 0);
	fake_join(f);
	assert_int_equal(f->n_calls, 2);
	assert_string_equal(f->calls[0], CALL_GET_NOWAIT);
	assert_string_equal(f->calls[1], "{\"method\":\"io.tvtokend.Broker.ReportRejected\","
			    "\"parameters\":{\"generation\":3}}");
	assert_string_equal(t->access_token, "acc-4");
	tvtoken_token_free(t);
}

static void
report_rejected_without_a_timeout_is_invalid(void **state)
{
	struct fake *f = *state;
	tvtoken_token *t = NULL;

	assert_int_equal(tvtoken_report_rejected(f->client, 3, 0, &t), TVTOKEN_E_INVAL);
	assert_null(t);
}

static void
status_returns_the_parameters_as_json(void **state)
{
	struct fake *f = *state;
	const struct step steps[] = { ACCEPT(), RECV(),
		SEND("{\"parameters\":{\"state\":\"valid\",\"generation\":3,\"retryAt\":null,"
		     "\"lastError\":\"a/b\",\"clients\":1}}"),
		END() };
	char *json;

	fake_run(f, steps);
	assert_int_equal(tvtoken_status(f->client, &json), 0);
	fake_join(f);
	assert_string_equal(f->calls[0], "{\"method\":\"io.tvtokend.Broker.GetStatus\","
			    "\"parameters\":{}}");
	assert_string_equal(json, "{\"state\":\"valid\",\"generation\":3,\"retryAt\":null,"
			    "\"lastError\":\"a/b\",\"clients\":1}");
	free(json);
}

static void
status_without_parameters_is_a_protocol_error(void **state)
{
	struct fake *f = *state;
	const struct step steps[] = { ACCEPT(), RECV(), SEND("{\"parameters\":7}"), WAIT_EOF(),
		END() };
	char *json = NULL;

	fake_run(f, steps);
	assert_int_equal(tvtoken_status(f->client, &json), TVTOKEN_E_PROTOCOL);
	fake_join(f);
	assert_null(json);
}

/* ---- the handle ---- */

static void
socket_path_defaults_to_the_environment_then_the_broker(void **state)
{
	tvtoken_client *c;

	(void)state;
	assert_int_equal(setenv(TVTOKEN_SOCKET_ENV, "/tmp/elsewhere.sock", 1), 0);
	assert_int_equal(tvtoken_open(NULL, &c), 0);
	assert_string_equal(tvtoken_socket_path(c), "/tmp/elsewhere.sock");
	tvtoken_close(c);
	assert_int_equal(tvtoken_open("/tmp/given.sock", &c), 0);
	assert_string_equal(tvtoken_socket_path(c), "/tmp/given.sock");
	tvtoken_close(c);
	assert_int_equal(setenv(TVTOKEN_SOCKET_ENV, "", 1), 0);
	assert_int_equal(tvtoken_open(NULL, &c), 0);
	assert_string_equal(tvtoken_socket_path(c), "/run/tvtokend/io.tvtokend.Broker");
	tvtoken_close(c);
	assert_int_equal(unsetenv(TVTOKEN_SOCKET_ENV), 0);
	assert_int_equal(tvtoken_open(NULL, &c), 0);
	assert_string_equal(tvtoken_socket_path(c), TVTOKEN_SOCKET_DEFAULT);
	tvtoken_close(c);
}

static void
tvtoken_socket_environment_reaches_the_broker(void **state)
{
	struct fake *f = *state;
	const struct step steps[] = { ACCEPT(), RECV(), SEND(TOKEN_3), END() };
	tvtoken_client *c;
	tvtoken_token *t;

	assert_int_equal(setenv(TVTOKEN_SOCKET_ENV, f->path, 1), 0);
	assert_int_equal(tvtoken_open(NULL, &c), 0);
	unsetenv(TVTOKEN_SOCKET_ENV);
	fake_run(f, steps);
	assert_int_equal(tvtoken_get(c, 0, &t), 0);
	fake_join(f);
	assert_int_equal(t->generation, 3);
	tvtoken_token_free(t);
	tvtoken_close(c);
}

static void
open_refuses_empty_and_overlong_paths(void **state)
{
	tvtoken_client *c = NULL;
	char path[200];

	(void)state;
	memset(path, 'x', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	assert_int_equal(tvtoken_open("", &c), TVTOKEN_E_INVAL);
	assert_int_equal(tvtoken_open(path, &c), TVTOKEN_E_INVAL);
	assert_null(c);
}

static void
handle_connects_on_first_call_with_a_cloexec_fd(void **state)
{
	struct fake *f = *state;
	const struct step steps[] = { ACCEPT(), RECV(), SEND(TOKEN_3), END() };
	tvtoken_token *t;
	int fd;

	assert_int_equal(tvtoken_fd(f->client), -1);
	fake_run(f, steps);
	assert_int_equal(tvtoken_get(f->client, 0, &t), 0);
	fake_join(f);
	fd = tvtoken_fd(f->client);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	tvtoken_token_free(t);
}

static void
token_free_wipes_every_string(void **state)
{
	struct fake *f = *state;
	const struct step steps[] = { ACCEPT(), RECV(), SEND(TOKEN_3), END() };
	const char *s[4];
	size_t len[4], i;
	tvtoken_token *t;

	fake_run(f, steps);
	assert_int_equal(tvtoken_get(f->client, 0, &t), 0);
	fake_join(f);
	s[0] = t->access_token;
	s[1] = t->md_access_token;
	s[2] = t->expiration_time;
	s[3] = t->name;
	for (i = 0; i < 4; i++)
		len[i] = strlen(s[i]);
	n_wipes = 0;
	assert_null(tvtoken_token_free(t));
	for (i = 0; i < 4; i++)
		assert_true(wiped(s[i], len[i]));
}

static void
received_token_bytes_are_wiped_from_the_buffer(void **state)
{
	struct fake *f = *state;
	const struct step steps[] = { ACCEPT(), RECV(), SEND(TOKEN_3), END() };
	tvtoken_token *t;
	bool whole = false;
	size_t i;

	fake_run(f, steps);
	n_wipes = 0;
	assert_int_equal(tvtoken_get(f->client, 0, &t), 0);
	fake_join(f);
	/* The whole message, its NUL included, was wiped where it was received. */
	for (i = 0; i < n_wipes; i++)
		if (wipes[i].n >= sizeof(TOKEN_3) && strncmp(wipes[i].was, TOKEN_3,
							      sizeof(wipes[i].was) - 1) == 0)
			whole = true;
	assert_true(whole);
	tvtoken_token_free(t);
}

static void
parsed_copy_of_the_token_is_wiped(void **state)
{
	struct fake *f = *state;
	const struct step steps[] = { ACCEPT(), RECV(), SEND(TOKEN_3), END() };
	tvtoken_token *t;
	bool access = false, md = false;
	size_t i;

	fake_run(f, steps);
	n_wipes = 0;
	assert_int_equal(tvtoken_get(f->client, 0, &t), 0);
	fake_join(f);
	for (i = 0; i < n_wipes; i++) {
		if (wipes[i].n == strlen("acc-3") && strcmp(wipes[i].was, "acc-3") == 0)
			access = true;
		if (wipes[i].n == strlen("md-3") && strcmp(wipes[i].was, "md-3") == 0)
			md = true;
	}
	assert_true(access);
	assert_true(md);
	tvtoken_token_free(t);
}

static void
strerror_has_a_distinct_sentence_for_every_code(void **state)
{
	const int codes[] = { TVTOKEN_E_CONNECT, TVTOKEN_E_ACCESS, TVTOKEN_E_NOTOKEN,
		TVTOKEN_E_TIMEOUT, TVTOKEN_E_PROTOCOL, TVTOKEN_E_REMOTE, TVTOKEN_E_CLOSED,
		TVTOKEN_E_NOMEM, TVTOKEN_E_INVAL, 0 };
	size_t n = sizeof(codes) / sizeof(codes[0]), i, j;

	(void)state;
	for (i = 0; i < n; i++) {
		assert_true(strlen(tvtoken_strerror(codes[i])) > 0);
		assert_string_not_equal(tvtoken_strerror(codes[i]), tvtoken_strerror(-1000));
		for (j = 0; j < i; j++)
			assert_string_not_equal(tvtoken_strerror(codes[i]),
						tvtoken_strerror(codes[j]));
	}
}

static void
close_takes_null(void **state)
{
	(void)state;
	assert_null(tvtoken_close(NULL));
	assert_null(tvtoken_token_free(NULL));
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

/* Every test gets its own directory, socket and handle (setup, teardown). */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(get_without_wait_sends_wait_false_and_returns_the_token),
		T(get_with_timeout_sends_wait_true),
		T(get_waiting_forever_sends_wait_true),
		T(optional_token_fields_may_be_null_or_absent),
		T(calls_on_one_connection_reuse_it),
		T(reply_split_byte_by_byte_is_put_together),
		T(two_replies_in_one_write_are_both_delivered),
		T(reply_of_64_KiB_is_accepted),
		T(reply_over_64_KiB_is_a_protocol_error),
		T(endless_reply_without_nul_is_a_protocol_error),
		T(reply_that_is_not_json_is_a_protocol_error),
		T(reply_in_lax_json_is_a_protocol_error),
		T(reply_that_is_not_an_object_is_a_protocol_error),
		T(token_field_of_the_wrong_type_is_a_protocol_error),
		T(token_without_generation_is_a_protocol_error),
		T(token_with_an_escaped_nul_is_a_protocol_error),
		T(continues_on_a_plain_call_is_a_protocol_error),
		T(no_token_gives_its_code_name_and_reason),
		T(no_token_without_retry_names_the_state),
		T(control_characters_in_a_reason_are_replaced),
		T(success_clears_the_last_error),
		T(permission_denied_reply_gives_access_and_hangs_up),
		T(other_varlink_error_gives_remote_with_its_parameters),
		T(broker_hanging_up_before_replying_gives_closed),
		T(missing_socket_gives_connect),
		T(socket_in_a_missing_directory_gives_connect),
		T(socket_nobody_listens_on_gives_connect),
		T(socket_we_may_not_write_gives_access),
		T(get_that_times_out_gives_timeout_and_hangs_up),
		T(call_after_a_timeout_reconnects),
		T(restarted_broker_is_reached_on_a_new_connection),
		T(kept_connection_closed_before_the_reply_is_retried_once),
		T(watch_delivers_tokens_while_the_broker_continues),
		T(watch_with_wait_asks_the_broker_to_wait),
		T(watch_next_timing_out_leaves_the_stream_running),
		T(watch_fd_is_readable_when_a_token_arrives),
		T(watch_ended_by_no_token_gives_notoken_and_frees_the_handle),
		T(watch_ended_by_a_last_reply_gives_the_token_then_closed),
		T(broker_hanging_up_a_watch_gives_closed),
		T(other_calls_are_refused_while_watching),
		T(watch_next_without_a_watch_is_invalid),
		T(report_rejected_sends_the_given_generation),
		T(report_rejected_without_generation_reports_the_current_one),
		T(report_rejected_without_a_timeout_is_invalid),
		T(status_returns_the_parameters_as_json),
		T(status_without_parameters_is_a_protocol_error),
		T(socket_path_defaults_to_the_environment_then_the_broker),
		T(tvtoken_socket_environment_reaches_the_broker),
		T(open_refuses_empty_and_overlong_paths),
		T(handle_connects_on_first_call_with_a_cloexec_fd),
		T(token_free_wipes_every_string),
		T(received_token_bytes_are_wiped_from_the_buffer),
		T(parsed_copy_of_the_token_is_wiped),
		T(strerror_has_a_distinct_sentence_for_every_code),
		T(close_takes_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
