/* SPDX-License-Identifier: MIT */
/*
 * libtvtoken: a small blocking Varlink client for io.tvtokend.Broker.
 *
 * One call is in flight per handle at a time, so replies need no matching:
 * the next message on the connection answers the call just sent. Received
 * bytes collect in one buffer of TVTOKEN_MESSAGE_MAX + 1 bytes and are framed
 * on the NUL byte; a message that does not fit is a protocol error. Deadlines
 * are kept with poll() against CLOCK_MONOTONIC; the socket stays blocking and
 * every send and recv is MSG_DONTWAIT, so nothing waits past a deadline.
 *
 * Replies may carry tokens: consumed bytes are wiped from the buffer, every
 * string of a parsed reply is wiped before json-c frees it, and tokens handed
 * out are wiped by tvtoken_token_free().
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "tvtoken.h"

#define TVTOKEN_EXPORT __attribute__((visibility("default")))

#define BROKER "io.tvtokend.Broker"
#define ERROR_NO_TOKEN BROKER ".NoToken"
#define ERROR_PERMISSION_DENIED "org.varlink.service.PermissionDenied"

#define CALL_GET_NOWAIT \
	"{\"method\":\"" BROKER ".GetToken\",\"parameters\":{\"wait\":false}}"
#define CALL_GET_WAIT \
	"{\"method\":\"" BROKER ".GetToken\",\"parameters\":{\"wait\":true}}"
#define CALL_WATCH_NOWAIT \
	"{\"method\":\"" BROKER ".GetToken\",\"parameters\":{\"wait\":false},\"more\":true}"
#define CALL_WATCH_WAIT \
	"{\"method\":\"" BROKER ".GetToken\",\"parameters\":{\"wait\":true},\"more\":true}"
#define CALL_STATUS \
	"{\"method\":\"" BROKER ".GetStatus\",\"parameters\":{}}"
#define CALL_REPORT_FMT \
	"{\"method\":\"" BROKER ".ReportRejected\",\"parameters\":{\"generation\":%" PRId64 "}}"

/* A message and its NUL. */
#define IN_SIZE (TVTOKEN_MESSAGE_MAX + 1)

enum watch_state {
	WATCH_NONE,
	WATCH_RUNNING,
	WATCH_ENDED,          /* the last reply came without "continues" */
};

struct tvtoken_client {
	char *path;
	int fd;                     /* -1: not connected */
	enum watch_state watch;
	char *in;                   /* IN_SIZE bytes */
	size_t in_len;
	char error_name[128];
	char error_reason[256];
};

/* CLOCK_MONOTONIC now, in milliseconds. */
static int64_t
clock_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The deadline timeout_ms from now; -1 (wait forever) stays -1. */
static int64_t
deadline_after(int timeout_ms)
{
	if (timeout_ms < 0)
		return -1;
	return clock_now_ms() + timeout_ms;
}

/* The earlier of two deadlines, -1 meaning none. */
static int64_t
deadline_min(int64_t a, int64_t b)
{
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

/* Milliseconds left before deadline, as poll() wants them: -1 for none, 0 once passed. */
static int
deadline_left(int64_t deadline)
{
	int64_t left;

	if (deadline < 0)
		return -1;
	left = deadline - clock_now_ms();
	if (left <= 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

/* Append formatted text to a NUL-terminated buffer, cutting it at the buffer's end. */
static void __attribute__((format(printf, 3, 4)))
text_append(char *buf, size_t size, const char *fmt, ...)
{
	size_t n = strnlen(buf, size);
	va_list ap;

	if (n + 1 >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + n, size - n, fmt, ap);
	va_end(ap);
}

/* Replace control characters, so that a reason can be printed as it is. */
static void
text_sanitize(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

/* Forget what the last call left behind. */
static void
client_error_clear(tvtoken_client *c)
{
	c->error_name[0] = '\0';
	c->error_reason[0] = '\0';
}

/* Keep the system's text for errno e as the error reason. */
static void
client_error_errno(tvtoken_client *c, int e)
{
	char buf[128];

	snprintf(c->error_reason, sizeof(c->error_reason), "%s",
		 strerror_r(e, buf, sizeof(buf)));
}

/* Hang up, wiping whatever was received and not consumed. */
static void
client_disconnect(tvtoken_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	explicit_bzero(c->in, c->in_len);
	c->in_len = 0;
}

/* Connect to the broker's socket before deadline. */
static int
client_connect(tvtoken_client *c, int64_t deadline)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, e;

	memcpy(sa.sun_path, c->path, strlen(c->path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		e = errno;
		client_error_errno(c, e);
		return (e == ENOMEM || e == ENOBUFS) ? TVTOKEN_E_NOMEM : TVTOKEN_E_CONNECT;
	}
	/* connect() waits while the broker's backlog is full; SO_SNDTIMEO bounds that. */
	if (deadline >= 0) {
		int left = deadline_left(deadline);
		struct timeval tv;

		if (left == 0)
			left = 1;
		tv.tv_sec = left / 1000;
		tv.tv_usec = (left % 1000) * 1000;
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		e = errno;
		if (e == EINTR)
			continue;
		close(fd);
		client_error_errno(c, e);
		switch (e) {
		case EACCES:
		case EPERM:
			return TVTOKEN_E_ACCESS;
		case EAGAIN:
		case EINPROGRESS:
			return TVTOKEN_E_TIMEOUT;
		case ENOMEM:
		case ENOBUFS:
			return TVTOKEN_E_NOMEM;
		default:
			return TVTOKEN_E_CONNECT;
		}
	}
	c->fd = fd;
	c->in_len = 0;
	return 0;
}

/* Wait until the socket is ready for events, or deadline passes. */
static int
client_wait(tvtoken_client *c, short events, int64_t deadline)
{
	struct pollfd p = { .fd = c->fd, .events = events };
	int r;

	for (;;) {
		r = poll(&p, 1, deadline_left(deadline));
		if (r > 0)
			return 0;       /* errors and hang-ups show in the next send/recv */
		if (r == 0)
			return TVTOKEN_E_TIMEOUT;
		if (errno == ENOMEM)
			return TVTOKEN_E_NOMEM;
		if (errno != EINTR)
			return TVTOKEN_E_CLOSED;
	}
}

/* Send len bytes before deadline. */
static int
client_send(tvtoken_client *c, const char *buf, size_t len, int64_t deadline)
{
	size_t off = 0;
	ssize_t n;
	int r;

	while (off < len) {
		n = send(c->fd, buf + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n >= 0) {
			off += (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			r = client_wait(c, POLLOUT, deadline);
			if (r < 0)
				return r;
			continue;
		}
		if (errno == ENOMEM || errno == ENOBUFS)
			return TVTOKEN_E_NOMEM;
		return TVTOKEN_E_CLOSED;
	}
	return 0;
}

/*
 * Wait for the next complete message before deadline: 0 with *len, the
 * message being c->in[0 .. *len) followed by its NUL.
 */
static int
client_receive(tvtoken_client *c, int64_t deadline, size_t *len)
{
	size_t searched = 0;
	char *nul;
	ssize_t n;
	int r;

	for (;;) {
		nul = memchr(c->in + searched, '\0', c->in_len - searched);
		if (nul != NULL) {
			*len = (size_t)(nul - c->in);
			return 0;
		}
		searched = c->in_len;
		if (c->in_len >= IN_SIZE)
			return TVTOKEN_E_PROTOCOL;
		n = recv(c->fd, c->in + c->in_len, IN_SIZE - c->in_len, MSG_DONTWAIT);
		if (n > 0) {
			c->in_len += (size_t)n;
			continue;
		}
		if (n == 0)
			return TVTOKEN_E_CLOSED;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			r = client_wait(c, POLLIN, deadline);
			if (r < 0)
				return r;
			continue;
		}
		if (errno == ENOMEM || errno == ENOBUFS)
			return TVTOKEN_E_NOMEM;
		return TVTOKEN_E_CLOSED;
	}
}

/* Drop the first message (len bytes and its NUL) from the buffer, wiping its bytes. */
static void
client_consume(tvtoken_client *c, size_t len)
{
	size_t used = len + 1;

	memmove(c->in, c->in + used, c->in_len - used);
	explicit_bzero(c->in + c->in_len - used, used);
	c->in_len -= used;
}

/*
 * Connect if needed and send call with its NUL. A kept connection that turns
 * out dead (the broker restarted) is replaced once; *fresh tells whether the
 * connection was made for this call.
 */
static int
client_send_call(tvtoken_client *c, const char *call, int64_t deadline, bool *fresh)
{
	size_t len = strlen(call) + 1;
	int attempt, r = 0;

	for (attempt = 0; attempt < 2; attempt++) {
		*fresh = c->fd < 0;
		if (*fresh) {
			r = client_connect(c, deadline);
			if (r < 0)
				return r;
		}
		r = client_send(c, call, len, deadline);
		if (r == 0)
			return 0;
		client_disconnect(c);
		if (r != TVTOKEN_E_CLOSED || *fresh)
			return r;
	}
	return r;
}

/* Overwrite every string of a parsed reply: it may carry a token. */
static void
json_wipe(struct json_object *o)
{
	size_t i, n;

	switch (json_object_get_type(o)) {
	case json_type_string:
		explicit_bzero((char *)json_object_get_string(o),
			       (size_t)json_object_get_string_len(o));
		break;
	case json_type_object: {
		json_object_object_foreach(o, key, val) {
			(void)key;
			json_wipe(val);
		}
		break;
	}
	case json_type_array:
		n = json_object_array_length(o);
		for (i = 0; i < n; i++)
			json_wipe(json_object_array_get_idx(o, i));
		break;
	default:
		break;
	}
}

/* Wipe and release a parsed reply (NULL is fine). */
static void
json_release(struct json_object *o)
{
	if (o == NULL)
		return;
	json_wipe(o);
	json_object_put(o);
}

/* Parse one message into a JSON object: 0 with *out, or TVTOKEN_E_PROTOCOL. */
static int
message_parse(const char *msg, size_t len, struct json_object **out)
{
	struct json_tokener *tok;
	struct json_object *o;
	enum json_tokener_error err;
	size_t end;

	if (len == 0 || len > TVTOKEN_MESSAGE_MAX)
		return TVTOKEN_E_PROTOCOL;
	tok = json_tokener_new();
	if (tok == NULL)
		return TVTOKEN_E_NOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, msg, (int)len);
	err = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	while (end < len && strchr(" \t\r\n", msg[end]) != NULL)
		end++;
	if (o == NULL || err != json_tokener_success || end != len ||
	    !json_object_is_type(o, json_type_object)) {
		json_release(o);
		return TVTOKEN_E_PROTOCOL;
	}
	*out = o;
	return 0;
}

/* The string member key of o, or NULL when it is missing or not a string. */
static const char *
json_string_member(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* Remember an error reply's name and a readable reason; returns its error code. */
static int
client_error_reply(tvtoken_client *c, const char *name, struct json_object *params)
{
	const char *reason, *state, *retry;

	snprintf(c->error_name, sizeof(c->error_name), "%s", name);
	if (strcmp(name, ERROR_NO_TOKEN) == 0) {
		reason = json_string_member(params, "reason");
		state = json_string_member(params, "state");
		retry = json_string_member(params, "retryAt");
		text_append(c->error_reason, sizeof(c->error_reason), "%s",
			    reason != NULL ? reason : "no valid token");
		if (state != NULL && retry != NULL)
			text_append(c->error_reason, sizeof(c->error_reason),
				    " (state %s, retry at %s)", state, retry);
		else if (state != NULL)
			text_append(c->error_reason, sizeof(c->error_reason),
				    " (state %s)", state);
		else if (retry != NULL)
			text_append(c->error_reason, sizeof(c->error_reason),
				    " (retry at %s)", retry);
		text_sanitize(c->error_reason);
		return TVTOKEN_E_NOTOKEN;
	}
	if (strcmp(name, ERROR_PERMISSION_DENIED) == 0) {
		snprintf(c->error_reason, sizeof(c->error_reason),
			 "the broker does not admit this user");
		return TVTOKEN_E_ACCESS;
	}
	if (params != NULL) {
		json_object_object_foreach(params, key, val) {
			const char *sep = c->error_reason[0] != '\0' ? ", " : "";

			if (json_object_is_type(val, json_type_string))
				text_append(c->error_reason, sizeof(c->error_reason),
					    "%s%s: %s", sep, key, json_object_get_string(val));
			else if (json_object_is_type(val, json_type_int))
				text_append(c->error_reason, sizeof(c->error_reason),
					    "%s%s: %" PRId64, sep, key, json_object_get_int64(val));
		}
	}
	text_sanitize(c->error_name);
	text_sanitize(c->error_reason);
	return TVTOKEN_E_REMOTE;
}

/*
 * Check the frame of a reply: 0 with *params (borrowed from o) and
 * *continues for a success, the error's code for an error reply.
 */
static int
client_reply_check(tvtoken_client *c, struct json_object *o, struct json_object **params,
		   bool *continues)
{
	struct json_object *v, *p = NULL;
	bool cont = false;

	if (json_object_object_get_ex(o, "continues", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			return TVTOKEN_E_PROTOCOL;
		cont = json_object_get_boolean(v);
	}
	if (json_object_object_get_ex(o, "parameters", &p) && p != NULL &&
	    !json_object_is_type(p, json_type_object))
		return TVTOKEN_E_PROTOCOL;
	if (json_object_object_get_ex(o, "error", &v)) {
		if (!json_object_is_type(v, json_type_string) ||
		    json_object_get_string_len(v) == 0)
			return TVTOKEN_E_PROTOCOL;
		return client_error_reply(c, json_object_get_string(v), p);
	}
	if (p == NULL)
		return TVTOKEN_E_PROTOCOL;
	*params = p;
	*continues = cont;
	return 0;
}

/* Copy the optional (or required) string member key of o into *out; NULL when absent or null. */
static int
token_string(struct json_object *o, const char *key, bool required, char **out)
{
	struct json_object *v;
	const char *s;
	char *copy;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL) {
		if (required)
			return TVTOKEN_E_PROTOCOL;
		*out = NULL;
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return TVTOKEN_E_PROTOCOL;
	s = json_object_get_string(v);
	/* An escaped NUL inside would cut the copy short. */
	if (strlen(s) != (size_t)json_object_get_string_len(v))
		return TVTOKEN_E_PROTOCOL;
	copy = strdup(s);
	if (copy == NULL)
		return TVTOKEN_E_NOMEM;
	*out = copy;
	return 0;
}

/* Read the optional (or required) integer member key of o; *present says whether it was there. */
static int
token_int(struct json_object *o, const char *key, bool required, int64_t *out, int *present)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL) {
		if (required)
			return TVTOKEN_E_PROTOCOL;
		*present = 0;
		return 0;
	}
	if (!json_object_is_type(v, json_type_int))
		return TVTOKEN_E_PROTOCOL;
	*out = json_object_get_int64(v);
	*present = 1;
	return 0;
}

/* Build a token from the parameters of a GetToken or ReportRejected reply. */
static int
token_from_params(struct json_object *params, tvtoken_token **out)
{
	struct json_object *o;
	tvtoken_token *t;
	int have_generation, r;

	if (!json_object_object_get_ex(params, "token", &o) ||
	    !json_object_is_type(o, json_type_object))
		return TVTOKEN_E_PROTOCOL;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return TVTOKEN_E_NOMEM;
	r = token_string(o, "accessToken", true, &t->access_token);
	if (r == 0)
		r = token_string(o, "mdAccessToken", false, &t->md_access_token);
	if (r == 0)
		r = token_string(o, "expirationTime", true, &t->expiration_time);
	if (r == 0)
		r = token_string(o, "name", false, &t->name);
	if (r == 0)
		r = token_int(o, "userId", false, &t->user_id, &t->has_user_id);
	if (r == 0)
		r = token_int(o, "generation", true, &t->generation, &have_generation);
	if (r == 0 && (t->access_token[0] == '\0' || t->generation < 0))
		r = TVTOKEN_E_PROTOCOL;
	if (r < 0) {
		tvtoken_token_free(t);
		return r;
	}
	*out = t;
	return 0;
}

/*
 * Make one plain call and wait for its reply before deadline: 0 with *reply
 * (release with json_release) and *params borrowed from it. Time-outs,
 * hang-ups, bad replies and PermissionDenied leave the handle disconnected.
 */
static int
client_call(tvtoken_client *c, const char *call, int64_t deadline,
	    struct json_object **reply, struct json_object **params)
{
	struct json_object *o, *p;
	bool fresh, cont;
	size_t len;
	int attempt, r;

	if (c->watch == WATCH_RUNNING)
		return TVTOKEN_E_INVAL;
	c->watch = WATCH_NONE;
	client_error_clear(c);
	for (attempt = 0; attempt < 2; attempt++) {
		r = client_send_call(c, call, deadline, &fresh);
		if (r < 0)
			return r;
		r = client_receive(c, deadline, &len);
		if (r == 0)
			break;
		client_disconnect(c);
		/* A kept connection the broker closed before answering: try a new one. */
		if (r != TVTOKEN_E_CLOSED || fresh)
			return r;
	}
	if (r < 0)
		return r;
	r = message_parse(c->in, len, &o);
	client_consume(c, len);
	if (r < 0) {
		client_disconnect(c);
		return r;
	}
	r = client_reply_check(c, o, &p, &cont);
	if (r == 0 && cont)
		r = TVTOKEN_E_PROTOCOL;
	if (r < 0) {
		if (r == TVTOKEN_E_PROTOCOL || r == TVTOKEN_E_ACCESS)
			client_disconnect(c);
		json_release(o);
		return r;
	}
	*reply = o;
	*params = p;
	return 0;
}

/* Make a call answered by a token. */
static int
client_call_token(tvtoken_client *c, const char *call, int64_t deadline, tvtoken_token **out)
{
	struct json_object *o, *p;
	int r;

	r = client_call(c, call, deadline, &o, &p);
	if (r < 0)
		return r;
	r = token_from_params(p, out);
	json_release(o);
	if (r == TVTOKEN_E_PROTOCOL)
		client_disconnect(c);
	return r;
}

/* Make a handle for the broker at path, $TVTOKEN_SOCKET, or the default socket. */
TVTOKEN_EXPORT int
tvtoken_open(const char *path, tvtoken_client **out)
{
	struct sockaddr_un sa;
	tvtoken_client *c;

	if (out == NULL)
		return TVTOKEN_E_INVAL;
	if (path == NULL) {
		path = secure_getenv(TVTOKEN_SOCKET_ENV);
		if (path == NULL || path[0] == '\0')
			path = TVTOKEN_SOCKET_DEFAULT;
	}
	if (path[0] == '\0' || strlen(path) >= sizeof(sa.sun_path))
		return TVTOKEN_E_INVAL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return TVTOKEN_E_NOMEM;
	c->fd = -1;
	c->path = strdup(path);
	c->in = calloc(1, IN_SIZE);
	if (c->path == NULL || c->in == NULL) {
		free(c->path);
		free(c->in);
		free(c);
		return TVTOKEN_E_NOMEM;
	}
	*out = c;
	return 0;
}

/* Hang up and free the handle, wiping its buffer. */
TVTOKEN_EXPORT tvtoken_client *
tvtoken_close(tvtoken_client *c)
{
	if (c == NULL)
		return NULL;
	client_disconnect(c);
	explicit_bzero(c->in, IN_SIZE);
	free(c->in);
	free(c->path);
	free(c);
	return NULL;
}

/* The socket path the handle talks to. */
TVTOKEN_EXPORT const char *
tvtoken_socket_path(const tvtoken_client *c)
{
	return c != NULL ? c->path : "";
}

/* Ask for the current token, waiting for one as timeout_ms says. */
TVTOKEN_EXPORT int
tvtoken_get(tvtoken_client *c, int timeout_ms, tvtoken_token **out)
{
	if (c == NULL || out == NULL || timeout_ms < -1)
		return TVTOKEN_E_INVAL;
	if (timeout_ms == 0)
		return client_call_token(c, CALL_GET_NOWAIT,
					 deadline_after(TVTOKEN_CALL_TIMEOUT_MS), out);
	return client_call_token(c, CALL_GET_WAIT, deadline_after(timeout_ms), out);
}

/* Report a generation as refused by Tradovate and take the token to use now. */
TVTOKEN_EXPORT int
tvtoken_report_rejected(tvtoken_client *c, int64_t generation, int timeout_ms,
			tvtoken_token **out)
{
	char call[160];
	tvtoken_token *current;
	int64_t deadline;
	int r;

	if (c == NULL || out == NULL || timeout_ms == 0 || timeout_ms < -1)
		return TVTOKEN_E_INVAL;
	deadline = deadline_after(timeout_ms);
	if (generation < 0) {
		r = client_call_token(c, CALL_GET_NOWAIT,
				      deadline_min(deadline,
						   deadline_after(TVTOKEN_CALL_TIMEOUT_MS)),
				      &current);
		if (r < 0)
			return r;
		generation = current->generation;
		tvtoken_token_free(current);
	}
	snprintf(call, sizeof(call), CALL_REPORT_FMT, generation);
	return client_call_token(c, call, deadline, out);
}

/* Ask for the broker's state, as the JSON text of GetStatus's parameters. */
TVTOKEN_EXPORT int
tvtoken_status(tvtoken_client *c, char **json_out)
{
	struct json_object *o, *p;
	const char *text;
	char *copy;
	int r;

	if (c == NULL || json_out == NULL)
		return TVTOKEN_E_INVAL;
	r = client_call(c, CALL_STATUS, deadline_after(TVTOKEN_CALL_TIMEOUT_MS), &o, &p);
	if (r < 0)
		return r;
	text = json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN |
					      JSON_C_TO_STRING_NOSLASHESCAPE);
	copy = text != NULL ? strdup(text) : NULL;
	json_release(o);
	if (copy == NULL)
		return TVTOKEN_E_NOMEM;
	*json_out = copy;
	return 0;
}

/* Start a stream of tokens: the current one, then one per change. */
TVTOKEN_EXPORT int
tvtoken_watch(tvtoken_client *c, int wait)
{
	bool fresh;
	int r;

	if (c == NULL || c->watch == WATCH_RUNNING)
		return TVTOKEN_E_INVAL;
	c->watch = WATCH_NONE;
	client_error_clear(c);
	r = client_send_call(c, wait ? CALL_WATCH_WAIT : CALL_WATCH_NOWAIT,
			     deadline_after(TVTOKEN_CALL_TIMEOUT_MS), &fresh);
	if (r < 0)
		return r;
	c->watch = WATCH_RUNNING;
	return 0;
}

/* The handle's socket, or -1 while not connected. */
TVTOKEN_EXPORT int
tvtoken_fd(const tvtoken_client *c)
{
	return c != NULL ? c->fd : -1;
}

/* Take the next token of the watch stream, waiting at most timeout_ms. */
TVTOKEN_EXPORT int
tvtoken_watch_next(tvtoken_client *c, int timeout_ms, tvtoken_token **out)
{
	struct json_object *o, *p;
	tvtoken_token *t;
	bool cont;
	size_t len;
	int r;

	if (c == NULL || out == NULL || timeout_ms < -1)
		return TVTOKEN_E_INVAL;
	if (c->watch == WATCH_ENDED) {
		c->watch = WATCH_NONE;
		return TVTOKEN_E_CLOSED;
	}
	if (c->watch != WATCH_RUNNING)
		return TVTOKEN_E_INVAL;
	client_error_clear(c);
	r = client_receive(c, deadline_after(timeout_ms), &len);
	if (r == TVTOKEN_E_TIMEOUT)
		return r;
	if (r < 0)
		goto hang_up;
	r = message_parse(c->in, len, &o);
	client_consume(c, len);
	if (r < 0)
		goto hang_up;
	r = client_reply_check(c, o, &p, &cont);
	if (r == 0)
		r = token_from_params(p, &t);
	json_release(o);
	if (r == TVTOKEN_E_NOTOKEN || r == TVTOKEN_E_REMOTE) {
		/* The stream is over; the connection itself is still good. */
		c->watch = WATCH_NONE;
		return r;
	}
	if (r < 0)
		goto hang_up;
	c->watch = cont ? WATCH_RUNNING : WATCH_ENDED;
	*out = t;
	return 0;

hang_up:
	client_disconnect(c);
	c->watch = WATCH_NONE;
	return r;
}

/* Wipe and free a token. */
TVTOKEN_EXPORT tvtoken_token *
tvtoken_token_free(tvtoken_token *t)
{
	char **s[4];
	size_t i;

	if (t == NULL)
		return NULL;
	s[0] = &t->access_token;
	s[1] = &t->md_access_token;
	s[2] = &t->expiration_time;
	s[3] = &t->name;
	for (i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		if (*s[i] == NULL)
			continue;
		explicit_bzero(*s[i], strlen(*s[i]));
		free(*s[i]);
	}
	explicit_bzero(t, sizeof(*t));
	free(t);
	return NULL;
}

/* A sentence for an error code. */
TVTOKEN_EXPORT const char *
tvtoken_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case TVTOKEN_E_CONNECT:
		return "cannot connect to the token broker";
	case TVTOKEN_E_ACCESS:
		return "permission denied by the token broker";
	case TVTOKEN_E_NOTOKEN:
		return "the token broker has no valid token";
	case TVTOKEN_E_TIMEOUT:
		return "timed out waiting for the token broker";
	case TVTOKEN_E_PROTOCOL:
		return "the token broker sent an invalid reply";
	case TVTOKEN_E_REMOTE:
		return "the token broker answered with an error";
	case TVTOKEN_E_CLOSED:
		return "the token broker closed the connection";
	case TVTOKEN_E_NOMEM:
		return "out of memory";
	case TVTOKEN_E_INVAL:
		return "invalid argument";
	default:
		return "unknown error";
	}
}

/* The Varlink error name of the last failed call, or "". */
TVTOKEN_EXPORT const char *
tvtoken_error_name(const tvtoken_client *c)
{
	return c != NULL ? c->error_name : "";
}

/* Details of the last failure, or "". */
TVTOKEN_EXPORT const char *
tvtoken_error_reason(const tvtoken_client *c)
{
	return c != NULL ? c->error_reason : "";
}
