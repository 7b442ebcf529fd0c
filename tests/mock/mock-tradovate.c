/* SPDX-License-Identifier: MIT */
/*
 * mock-tradovate: a scriptable stand-in for Tradovate's two authentication
 * endpoints, for the README demo and the integration tests.
 *
 * One process, one libevent loop, one evhttp server on 127.0.0.1. Each
 * endpoint has a queue of scripted outcomes; a request takes the head of its
 * endpoint's queue, or gets the default behaviour (a small, honest model of
 * Tradovate) when the queue is empty. Every request on /v1 becomes one line of
 * the request log, which the bash tests compare with the sequence they expect.
 *
 * The mock prints no password, secret or token anywhere: stdout carries only
 * "listening on PORT", stderr only errors, the log only outcomes and statuses.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <json-c/json.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#define MOCK_MAX_BODY		(64 * 1024)	/* request bodies, script uploads */
#define MOCK_MAX_HEADERS	(16 * 1024)
#define MOCK_MAX_SCRIPT_FILE	(1024 * 1024)
#define MOCK_BIG_BODY		(100 * 1024)	/* the "big" outcome's body */
#define MOCK_GARBAGE_TEXT	"garbage\r\n"	/* the "garbage" outcome: no status line, HTTP/0.9 to a client */
#define MOCK_MAX_QUEUE		10000		/* outcomes queued per endpoint */
#define MOCK_MAX_LINE		1024		/* one script or config line */
#define MOCK_MAX_TOKENS		1024		/* issued tokens remembered for renewal */
#define MOCK_TOKEN_LEN		64
#define MOCK_TICKET_LEN		40
#define MOCK_LOG_MAX		(8 * 1024 * 1024)	/* request log kept in memory */
#define MOCK_MAX_SECONDS	(10.0 * 366 * 86400)
#define MOCK_MAX_STALL		3600.0
#define MOCK_IDLE_TIMEOUT	((int)MOCK_MAX_STALL + 60)
#define MOCK_BACKLOG		1024
#define MOCK_USER_ID		4242
#define MOCK_CAPTCHA_PTIME	"60"
#define MOCK_PASSWORD_LIFE	(90.0 * 86400)

#define MOCK_TEXT_CREDENTIALS	"Incorrect username or password. Please try again."
#define MOCK_TEXT_TICKET	"Invalid p-ticket"
#define MOCK_TEXT_EXPIRED	"Expired Access Token"
#define MOCK_TEXT_DENIED	"Access is denied"
#define MOCK_TEXT_UNAUTHORIZED	"Unauthorized"
#define MOCK_TEXT_LOCKED	"Too many failed attempts. The account is locked."

enum mock_endpoint {
	MOCK_EP_REQUEST,	/* POST /v1/auth/accesstokenrequest */
	MOCK_EP_RENEW,		/* GET /v1/auth/renewaccesstoken */
	MOCK_EP_COUNT,
};

static const char *const mock_endpoint_names[MOCK_EP_COUNT] = {
	[MOCK_EP_REQUEST] = "request",
	[MOCK_EP_RENEW] = "renew",
};

enum mock_kind {
	MOCK_OK,		/* default behaviour */
	MOCK_LIFETIME,		/* default behaviour, this token's lifetime */
	MOCK_STALL,		/* default behaviour, held back a while */
	MOCK_TOKEN,		/* a token whatever the credentials */
	MOCK_PARTIAL,		/* a token reply with only accessToken and expirationTime */
	MOCK_BIG,		/* a token reply padded to MOCK_BIG_BODY bytes */
	MOCK_ERRORTEXT,		/* 200 {"errorText"} */
	MOCK_NOTOKEN,		/* 200 {} */
	MOCK_MALFORMED,		/* 200 with a body that is not JSON */
	MOCK_PTICKET,		/* 200 time penalty */
	MOCK_CAPTCHA,		/* 200 captcha penalty */
	MOCK_CLOSE,		/* drop the connection, no reply */
	MOCK_GARBAGE,		/* "garbage\r\n" instead of an HTTP reply, then close */
	MOCK_JSON,		/* 200 with the argument as the JSON body */
	MOCK_STATUS,		/* 401, 423, 429 and any other 4xx/5xx */
};

enum mock_arg {
	MOCK_ARG_NONE,
	MOCK_ARG_SECONDS,	/* required, >= 0 */
	MOCK_ARG_POSITIVE,	/* required, > 0 */
	MOCK_ARG_SIGNED,	/* required, any sign */
	MOCK_ARG_OPT_SECONDS,	/* optional, >= 0 */
	MOCK_ARG_TEXT,		/* optional free text, rest of the line */
};

struct mock_outcome_spec {
	const char *word;
	enum mock_kind kind;
	enum mock_arg arg;
};

static const struct mock_outcome_spec mock_outcome_specs[] = {
	{ "ok",		MOCK_OK,	MOCK_ARG_NONE },
	{ "lifetime",	MOCK_LIFETIME,	MOCK_ARG_SIGNED },
	{ "stall",	MOCK_STALL,	MOCK_ARG_POSITIVE },
	{ "token",	MOCK_TOKEN,	MOCK_ARG_NONE },
	{ "partial",	MOCK_PARTIAL,	MOCK_ARG_NONE },
	{ "big",	MOCK_BIG,	MOCK_ARG_NONE },
	{ "errortext",	MOCK_ERRORTEXT,	MOCK_ARG_TEXT },
	{ "notoken",	MOCK_NOTOKEN,	MOCK_ARG_NONE },
	{ "malformed",	MOCK_MALFORMED,	MOCK_ARG_NONE },
	{ "pticket",	MOCK_PTICKET,	MOCK_ARG_SECONDS },
	{ "captcha",	MOCK_CAPTCHA,	MOCK_ARG_OPT_SECONDS },
	{ "close",	MOCK_CLOSE,	MOCK_ARG_NONE },
	{ "garbage",	MOCK_GARBAGE,	MOCK_ARG_NONE },
	{ "json",	MOCK_JSON,	MOCK_ARG_TEXT },
};

/* One scripted outcome, waiting in its endpoint's queue. */
struct mock_outcome {
	TAILQ_ENTRY(mock_outcome) entry;
	enum mock_kind kind;
	int status;		/* MOCK_STATUS */
	double seconds;		/* the numeric argument, when there is one */
	char *text;		/* the argument as written, or NULL */
	char word[16];		/* the outcome as written, for the log */
};

TAILQ_HEAD(mock_queue, mock_outcome);

/* A token the mock issued, remembered so that it can be renewed. */
struct mock_token {
	char value[MOCK_TOKEN_LEN];
	double expires;		/* on the server's clock */
};

/* What the mock answers to one request. */
struct mock_reply {
	int status;		/* 0: drop the connection without a reply */
	char *body;		/* may hold a token: wiped when cleared */
	size_t body_len;
	const char *content_type;
	char *retry_after;
	double stall;		/* seconds to hold the reply back */
	char note[128];		/* extra request-log fields, e.g. " reject=password" */
	bool garbage;		/* status 0: write MOCK_GARBAGE_TEXT before dropping the connection */
};

/* A reply held back by "stall", or a connection to drop on the next turn. */
struct mock_pending {
	TAILQ_ENTRY(mock_pending) entry;
	struct mock *m;
	struct evhttp_request *req;
	struct event *ev;
	struct mock_reply reply;
};

struct mock {
	/* command line */
	unsigned port;
	const char *port_file;
	const char *tls_cert;
	const char *tls_key;
	const char *log_path;
	const char *script_path;
	const char *user;
	const char *password;
	const char *app_id;
	const char *sec;
	long long cid;

	/* settings that POST /_mock/config may change */
	double lifetime;
	double date_offset;
	double date_header_offset;	/* added to the Date header only */
	bool no_date;

	struct event_base *base;
	struct evhttp *http;
	SSL_CTX *ssl;
	struct event *sigterm;
	struct event *sigint;

	struct mock_queue queue[MOCK_EP_COUNT];
	size_t queue_len[MOCK_EP_COUNT];
	TAILQ_HEAD(, mock_pending) pending;

	struct mock_token tokens[MOCK_MAX_TOKENS];
	size_t token_next;
	unsigned long serial;

	/* the last penalty ticket of each endpoint, and when a resend is allowed */
	char ticket[MOCK_EP_COUNT][MOCK_TICKET_LEN];
	bool ticket_captcha[MOCK_EP_COUNT];
	double ticket_ready[MOCK_EP_COUNT];

	struct evbuffer *log;
	int log_fd;
	bool log_failed;
};

static const char mock_usage[] =
	"usage: mock-tradovate [--listen 127.0.0.1] [--port N] [--port-file FILE]\n"
	"                      [--tls CERT KEY] [--lifetime SECONDS]\n"
	"                      [--date-offset SECONDS] [--no-date]\n"
	"                      [--log FILE] [--script FILE]\n"
	"                      [--user NAME] [--password PW] [--app-id ID]\n"
	"                      [--cid N] [--sec SEC]\n";

/* Print an error on stderr with the program's name in front. */
static void __attribute__((format(printf, 1, 2)))
mock_errx(const char *fmt, ...)
{
	va_list ap;

	fputs("mock-tradovate: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* CLOCK_REALTIME in seconds. */
static double mock_wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CLOCK_MONOTONIC in seconds, for penalty waits. */
static double mock_mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The server's own clock: the wall clock shifted by date-offset. */
static double mock_server_now(const struct mock *m)
{
	return mock_wall_now() + m->date_offset;
}

/* Format t (seconds since the epoch) as "2026-11-28T14:30:00.000Z". */
static int mock_format_iso(double t, char *buf, size_t len)
{
	long long ms = llround(t * 1000.0);
	long long rem = ms % 1000;
	time_t sec = (time_t)(ms / 1000);
	struct tm tm;
	int n;

	if (rem < 0) {
		rem += 1000;
		sec--;
	}
	if (gmtime_r(&sec, &tm) == NULL)
		return -EOVERFLOW;
	n = snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03lldZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
	    tm.tm_hour, tm.tm_min, tm.tm_sec, rem);
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	return 0;
}

/* Format t as an IMF-fixdate ("Sat, 28 Nov 2026 14:30:00 GMT") for the Date header. */
static int mock_format_http_date(double t, char *buf, size_t len)
{
	time_t sec = (time_t)floor(t);
	struct tm tm;

	if (gmtime_r(&sec, &tm) == NULL ||
	    strftime(buf, len, "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0)
		return -EOVERFLOW;
	return 0;
}

/* Parse a JSON-style decimal number of seconds ("90", "0.25", "-3"): no exponent, inf or nan. */
static int mock_parse_seconds(const char *s, bool allow_negative, double *out)
{
	const char *p = s;
	char *end;
	double d;

	if (*p == '-') {
		if (!allow_negative)
			return -EINVAL;
		p++;
	}
	/* JSON's grammar, so that the text can go into a reply verbatim. */
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (isdigit((unsigned char)*p))
			p++;
	else
		return -EINVAL;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p != '\0')
		return -EINVAL;
	errno = 0;
	d = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(d) || fabs(d) > MOCK_MAX_SECONDS)
		return -EINVAL;
	*out = d;
	return 0;
}

/* Parse a decimal integer in [min, max]. */
static int mock_parse_int(const char *s, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	if (!isdigit((unsigned char)*s) && *s != '-')
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Whether s holds only printable ASCII (it may go into a header or a JSON string). */
static bool mock_printable(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s > 0x7e)
			return false;
	return true;
}

/* Fill buf with 2 * n random hex digits and a NUL. */
static int mock_random_hex(char *buf, size_t buflen, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[32];
	size_t got = 0;
	ssize_t r;
	size_t i;

	if (n > sizeof(raw) || buflen < 2 * n + 1)
		return -EINVAL;
	while (got < n) {
		r = getrandom(raw + got, n - got, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)r;
	}
	for (i = 0; i < n; i++) {
		buf[2 * i] = hex[raw[i] >> 4];
		buf[2 * i + 1] = hex[raw[i] & 0xf];
	}
	buf[2 * n] = '\0';
	explicit_bzero(raw, sizeof(raw));
	return 0;
}

/* Write all of buf to fd, retrying short writes. */
static int mock_write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Release a reply's body (wiped: it may hold a token) and header copies. */
static void mock_reply_clear(struct mock_reply *r)
{
	if (r->body != NULL) {
		explicit_bzero(r->body, r->body_len);
		free(r->body);
	}
	free(r->retry_after);
	memset(r, 0, sizeof(*r));
}

/* Make the reply status + a copy of len bytes of body with the given type. */
static int mock_reply_raw(struct mock_reply *r, int status, const char *type,
    const char *body, size_t len)
{
	char *copy;

	copy = malloc(len + 1);
	if (copy == NULL)
		return -ENOMEM;
	memcpy(copy, body, len);
	copy[len] = '\0';
	r->status = status;
	r->body = copy;
	r->body_len = len;
	r->content_type = type;
	return 0;
}

/* Make the reply a short text/plain message. */
static int __attribute__((format(printf, 3, 4)))
mock_reply_text(struct mock_reply *r, int status, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	return mock_reply_raw(r, status, "text/plain; charset=utf-8", buf, (size_t)n);
}

/* Make the reply the JSON serialization of obj. */
static int mock_reply_json(struct mock_reply *r, int status, struct json_object *obj)
{
	const char *s;
	size_t len;

	s = json_object_to_json_string_length(obj,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (s == NULL)
		return -ENOMEM;
	return mock_reply_raw(r, status, "application/json", s, len);
}

/* Add a string member to obj. */
static int mock_json_add_string(struct json_object *obj, const char *key, const char *value)
{
	struct json_object *v = json_object_new_string(value);

	if (v == NULL || json_object_object_add(obj, key, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

/* Add a member to obj, taking v (which may be NULL after a failed allocation). */
static int mock_json_add(struct json_object *obj, const char *key, struct json_object *v)
{
	if (v == NULL || json_object_object_add(obj, key, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

/* Make the reply {"errorText": text} with the given status. */
static int mock_reply_error_text(struct mock_reply *r, int status, const char *text)
{
	struct json_object *obj = json_object_new_object();
	int rc;

	if (obj == NULL)
		return -ENOMEM;
	rc = mock_json_add_string(obj, "errorText", text);
	if (rc == 0)
		rc = mock_reply_json(r, status, obj);
	json_object_put(obj);
	return rc;
}

/* Issue a new token pair that expires lifetime seconds from now on the server's clock. */
static int mock_token_issue(struct mock *m, double lifetime, char tok[MOCK_TOKEN_LEN],
    char md[MOCK_TOKEN_LEN], double *expires)
{
	struct mock_token *slot;
	char hex1[17], hex2[17];
	unsigned long serial = m->serial + 1;
	size_t len;
	int rc;

	rc = mock_random_hex(hex1, sizeof(hex1), 8);
	if (rc == 0)
		rc = mock_random_hex(hex2, sizeof(hex2), 8);
	if (rc < 0)
		return rc;
	snprintf(tok, MOCK_TOKEN_LEN, "tok-%lu-%s", serial, hex1);
	snprintf(md, MOCK_TOKEN_LEN, "md-%lu-%s", serial, hex2);
	explicit_bzero(hex1, sizeof(hex1));
	explicit_bzero(hex2, sizeof(hex2));

	/* overwrites the whole slot: the token it held before is gone */
	slot = &m->tokens[m->token_next];
	len = strlen(tok);
	memcpy(slot->value, tok, len + 1);
	memset(slot->value + len + 1, 0, sizeof(slot->value) - len - 1);
	slot->expires = mock_server_now(m) + lifetime;
	m->token_next = (m->token_next + 1) % MOCK_MAX_TOKENS;
	m->serial = serial;
	*expires = slot->expires;
	return 0;
}

/* Find a token the mock issued; NULL when it never did (or forgot it long ago). */
static const struct mock_token *mock_token_find(const struct mock *m, const char *value)
{
	size_t i;

	if (strlen(value) >= MOCK_TOKEN_LEN)
		return NULL;
	for (i = 0; i < MOCK_MAX_TOKENS; i++)
		if (m->tokens[i].value[0] != '\0' && strcmp(m->tokens[i].value, value) == 0)
			return &m->tokens[i];
	return NULL;
}

/* Append `,"padding":"xxx…"` to a serialized object so that it is exactly size bytes. */
static int mock_pad_json(struct mock_reply *r, size_t size)
{
	static const char key[] = ",\"padding\":\"";
	size_t keylen = sizeof(key) - 1;
	size_t fill;
	char *body;
	size_t at;

	/* the object loses its '}' and gains key, fill, '"' and '}' */
	if (r->body_len < 2 || r->body_len + keylen + 1 > size)
		return -EINVAL;
	fill = size - r->body_len - keylen - 1;
	body = malloc(size + 1);
	if (body == NULL)
		return -ENOMEM;
	at = r->body_len - 1;
	memcpy(body, r->body, at);
	memcpy(body + at, key, keylen);
	at += keylen;
	memset(body + at, 'x', fill);
	at += fill;
	memcpy(body + at, "\"}", 2);
	at += 2;
	body[at] = '\0';
	explicit_bzero(r->body, r->body_len);
	free(r->body);
	r->body = body;
	r->body_len = at;
	return 0;
}

/*
 * A token reply, issued now: partial leaves out all but accessToken and
 * expirationTime (a renewal may do that), pad_to > 0 pads the body to that size.
 */
static int mock_reply_token(struct mock *m, double lifetime, bool partial, size_t pad_to,
    struct mock_reply *r)
{
	char tok[MOCK_TOKEN_LEN], md[MOCK_TOKEN_LEN];
	char expiry[64], pwexpiry[64];
	struct json_object *obj;
	double expires;
	int rc;

	rc = mock_token_issue(m, lifetime, tok, md, &expires);
	if (rc < 0)
		return rc;
	rc = mock_format_iso(expires, expiry, sizeof(expiry));
	if (rc == 0)
		rc = mock_format_iso(mock_server_now(m) + MOCK_PASSWORD_LIFE, pwexpiry,
		    sizeof(pwexpiry));
	obj = json_object_new_object();
	if (rc == 0 && obj == NULL)
		rc = -ENOMEM;
	if (rc == 0)
		rc = mock_json_add_string(obj, "accessToken", tok);
	if (rc == 0 && !partial)
		rc = mock_json_add_string(obj, "mdAccessToken", md);
	if (rc == 0)
		rc = mock_json_add_string(obj, "expirationTime", expiry);
	if (rc == 0 && !partial) {
		rc = mock_json_add_string(obj, "userStatus", "Active");
		if (rc == 0)
			rc = mock_json_add(obj, "userId", json_object_new_int(MOCK_USER_ID));
		if (rc == 0)
			rc = mock_json_add_string(obj, "name", m->user);
		if (rc == 0)
			rc = mock_json_add_string(obj, "passwordExpirationTime", pwexpiry);
		if (rc == 0)
			rc = mock_json_add(obj, "hasLive", json_object_new_boolean(0));
		if (rc == 0)
			rc = mock_json_add(obj, "hasSimPlus", json_object_new_boolean(0));
	}
	if (rc == 0)
		rc = mock_reply_json(r, 200, obj);
	if (rc == 0 && pad_to > 0)
		rc = mock_pad_json(r, pad_to);
	json_object_put(obj);
	explicit_bzero(tok, sizeof(tok));
	explicit_bzero(md, sizeof(md));
	return rc;
}

/*
 * A penalty: 200 {"p-ticket","p-time","p-captcha"}. The ticket becomes the
 * endpoint's last one, which a resend must carry once p-time has passed.
 */
static int mock_reply_ticket(struct mock *m, enum mock_endpoint ep, double seconds,
    const char *text, bool captcha, struct mock_reply *r)
{
	char ticket[MOCK_TICKET_LEN];
	struct json_object *obj;
	int rc;

	rc = mock_random_hex(ticket, sizeof(ticket), 16);
	if (rc < 0)
		return rc;
	obj = json_object_new_object();
	if (obj == NULL)
		return -ENOMEM;
	rc = mock_json_add_string(obj, "p-ticket", ticket);
	if (rc == 0)
		rc = mock_json_add(obj, "p-time", json_object_new_double_s(seconds, text));
	if (rc == 0)
		rc = mock_json_add(obj, "p-captcha", json_object_new_boolean(captcha));
	if (rc == 0)
		rc = mock_reply_json(r, 200, obj);
	json_object_put(obj);
	if (rc == 0) {
		memcpy(m->ticket[ep], ticket, sizeof(ticket));
		m->ticket_captcha[ep] = captcha;
		m->ticket_ready[ep] = mock_mono_now() + seconds;
	}
	return rc;
}

/* Whether obj[key] is a string equal to want (want NULL: any non-empty string). */
static bool mock_json_string_is(struct json_object *obj, const char *key, const char *want)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
		return false;
	if (want == NULL)
		return json_object_get_string_len(v) > 0;
	/* the length too: a "\u0000" inside must not cut the comparison short */
	return (size_t)json_object_get_string_len(v) == strlen(want) &&
	    strcmp(json_object_get_string(v), want) == 0;
}

/* Name the first field of a token request body that does not match the account, or NULL. */
static const char *mock_check_credentials(const struct mock *m, struct json_object *body)
{
	struct json_object *v;

	if (!mock_json_string_is(body, "name", m->user))
		return "name";
	if (!mock_json_string_is(body, "password", m->password))
		return "password";
	if (!mock_json_string_is(body, "appId", m->app_id))
		return "appId";
	if (!mock_json_string_is(body, "appVersion", NULL))
		return "appVersion";
	if (!json_object_object_get_ex(body, "cid", &v) || !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) != m->cid)
		return "cid";
	if (!mock_json_string_is(body, "sec", m->sec))
		return "sec";
	if (!mock_json_string_is(body, "deviceId", NULL))
		return "deviceId";
	return NULL;
}

/* Tradovate's answer to a token request as the mock models it: ticket, then credentials. */
static int mock_default_request(struct mock *m, struct json_object *body, double lifetime,
    struct mock_reply *r)
{
	const enum mock_endpoint ep = MOCK_EP_REQUEST;
	struct json_object *v;
	const char *bad;
	char remaining[32];
	double wait;

	if (body == NULL) {
		snprintf(r->note, sizeof(r->note), " reject=body");
		return mock_reply_error_text(r, 200, MOCK_TEXT_CREDENTIALS);
	}
	if (json_object_object_get_ex(body, "p-ticket", &v)) {
		if (!json_object_is_type(v, json_type_string) || m->ticket[ep][0] == '\0' ||
		    strcmp(json_object_get_string(v), m->ticket[ep]) != 0) {
			snprintf(r->note, sizeof(r->note), " reject=pticket");
			return mock_reply_error_text(r, 200, MOCK_TEXT_TICKET);
		}
		if (m->ticket_captcha[ep]) {
			/* nobody solved the captcha: the same answer again */
			snprintf(r->note, sizeof(r->note), " reject=captcha");
			return mock_reply_ticket(m, ep, 60, MOCK_CAPTCHA_PTIME, true, r);
		}
		wait = m->ticket_ready[ep] - mock_mono_now();
		if (wait > 0) {
			/* resent before p-time passed: not handled, a new penalty for the rest */
			snprintf(remaining, sizeof(remaining), "%.3f", wait);
			snprintf(r->note, sizeof(r->note), " reject=early");
			return mock_reply_ticket(m, ep, strtod(remaining, NULL), remaining, false, r);
		}
	}
	bad = mock_check_credentials(m, body);
	if (bad != NULL) {
		snprintf(r->note, sizeof(r->note), " reject=%s", bad);
		return mock_reply_error_text(r, 200, MOCK_TEXT_CREDENTIALS);
	}
	return mock_reply_token(m, lifetime, false, 0, r);
}

/* Tradovate's answer to a renewal: a new token for a live one it issued, else 401. */
static int mock_default_renew(struct mock *m, struct evhttp_request *req, double lifetime,
    struct mock_reply *r)
{
	const char *auth;
	const struct mock_token *t;

	auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
	if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0 || auth[7] == '\0') {
		snprintf(r->note, sizeof(r->note), " reject=noauth");
		return mock_reply_error_text(r, 401, MOCK_TEXT_EXPIRED);
	}
	t = mock_token_find(m, auth + 7);
	if (t == NULL) {
		snprintf(r->note, sizeof(r->note), " reject=unknown");
		return mock_reply_error_text(r, 401, MOCK_TEXT_EXPIRED);
	}
	if (mock_server_now(m) >= t->expires) {
		snprintf(r->note, sizeof(r->note), " reject=expired");
		return mock_reply_error_text(r, 401, MOCK_TEXT_EXPIRED);
	}
	return mock_reply_token(m, lifetime, false, 0, r);
}

/* The default behaviour of an endpoint. */
static int mock_default(struct mock *m, enum mock_endpoint ep, struct evhttp_request *req,
    struct json_object *body, double lifetime, struct mock_reply *r)
{
	if (ep == MOCK_EP_REQUEST)
		return mock_default_request(m, body, lifetime, r);
	return mock_default_renew(m, req, lifetime, r);
}

/* A scripted HTTP status: 401 and 423 carry errorText, 429 nothing, the rest an HTML page. */
static int mock_reply_status(enum mock_endpoint ep, const struct mock_outcome *o,
    struct mock_reply *r)
{
	char page[128];
	int n;

	switch (o->status) {
	case 401:
		return mock_reply_error_text(r, 401,
		    ep == MOCK_EP_RENEW ? MOCK_TEXT_EXPIRED : MOCK_TEXT_UNAUTHORIZED);
	case 423:
		return mock_reply_error_text(r, 423, MOCK_TEXT_LOCKED);
	case 429:
		r->status = 429;
		if (o->text != NULL) {
			r->retry_after = strdup(o->text);
			if (r->retry_after == NULL)
				return -ENOMEM;
		}
		return 0;
	default:
		/* what a proxy in front of the API would send */
		n = snprintf(page, sizeof(page),
		    "<html><body><h1>%d</h1>mock-tradovate</body></html>\n", o->status);
		return mock_reply_raw(r, o->status, "text/html", page, (size_t)n);
	}
}

/* Build the reply that outcome o (NULL: default behaviour) gives this request. */
static int mock_apply(struct mock *m, enum mock_endpoint ep, const struct mock_outcome *o,
    struct evhttp_request *req, struct json_object *body, struct mock_reply *r)
{
	static const char malformed[] = "{\"accessToken\":\"";
	int rc;

	if (o == NULL)
		return mock_default(m, ep, req, body, m->lifetime, r);
	switch (o->kind) {
	case MOCK_OK:
		return mock_default(m, ep, req, body, m->lifetime, r);
	case MOCK_LIFETIME:
		return mock_default(m, ep, req, body, o->seconds, r);
	case MOCK_STALL:
		rc = mock_default(m, ep, req, body, m->lifetime, r);
		r->stall = o->seconds;
		return rc;
	case MOCK_TOKEN:
		return mock_reply_token(m, m->lifetime, false, 0, r);
	case MOCK_PARTIAL:
		return mock_reply_token(m, m->lifetime, true, 0, r);
	case MOCK_BIG:
		return mock_reply_token(m, m->lifetime, false, MOCK_BIG_BODY, r);
	case MOCK_ERRORTEXT:
		if (o->text != NULL)
			return mock_reply_error_text(r, 200, o->text);
		return mock_reply_error_text(r, 200,
		    ep == MOCK_EP_REQUEST ? MOCK_TEXT_CREDENTIALS : MOCK_TEXT_DENIED);
	case MOCK_NOTOKEN:
		return mock_reply_raw(r, 200, "application/json", "{}", 2);
	case MOCK_MALFORMED:
		return mock_reply_raw(r, 200, "application/json", malformed, sizeof(malformed) - 1);
	case MOCK_PTICKET:
		return mock_reply_ticket(m, ep, o->seconds, o->text, false, r);
	case MOCK_CAPTCHA:
		return mock_reply_ticket(m, ep, o->seconds, o->text, true, r);
	case MOCK_CLOSE:
		r->status = 0;
		return 0;
	case MOCK_GARBAGE:
		r->status = 0;
		r->garbage = true;
		return 0;
	case MOCK_JSON:
		if (o->text == NULL)
			return mock_reply_raw(r, 200, "application/json", "", 0);
		return mock_reply_raw(r, 200, "application/json", o->text, strlen(o->text));
	case MOCK_STATUS:
		return mock_reply_status(ep, o, r);
	}
	return -EINVAL;
}

/* Free an outcome; NULL-safe. */
static void mock_outcome_free(struct mock_outcome *o)
{
	if (o == NULL)
		return;
	free(o->text);
	free(o);
}

/* Drop every outcome of a queue. */
static void mock_queue_clear(struct mock_queue *q)
{
	struct mock_outcome *o;

	while ((o = TAILQ_FIRST(q)) != NULL) {
		TAILQ_REMOVE(q, o, entry);
		mock_outcome_free(o);
	}
}

/* Take the next scripted outcome of an endpoint, or NULL when its queue is empty. */
static struct mock_outcome *mock_queue_pop(struct mock *m, enum mock_endpoint ep)
{
	struct mock_outcome *o = TAILQ_FIRST(&m->queue[ep]);

	if (o != NULL) {
		TAILQ_REMOVE(&m->queue[ep], o, entry);
		m->queue_len[ep]--;
	}
	return o;
}

/* Split the next white-space separated word off *p; NULL at the end of the line. */
static char *mock_next_word(char **p)
{
	char *s = *p, *w;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0') {
		*p = s;
		return NULL;
	}
	w = s;
	while (*s != '\0' && *s != ' ' && *s != '\t')
		s++;
	if (*s != '\0')
		*s++ = '\0';
	*p = s;
	return w;
}

/* The rest of a line without its surrounding blanks, or NULL when nothing is left. */
static char *mock_rest(char *p)
{
	char *end;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0')
		return NULL;
	end = p + strlen(p);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	return p;
}

/* Check and store an outcome's argument according to its kind. */
static int mock_outcome_arg(struct mock_outcome *o, enum mock_arg arg, char *rest,
    char *err, size_t errlen)
{
	bool need = arg == MOCK_ARG_SECONDS || arg == MOCK_ARG_POSITIVE || arg == MOCK_ARG_SIGNED;

	if (rest == NULL) {
		if (need) {
			snprintf(err, errlen, "\"%s\" needs a number of seconds", o->word);
			return -EINVAL;
		}
		if (o->kind == MOCK_CAPTCHA) {
			o->seconds = 60;
			rest = MOCK_CAPTCHA_PTIME;
		} else {
			return 0;
		}
	} else if (arg == MOCK_ARG_NONE) {
		snprintf(err, errlen, "\"%s\" takes no argument", o->word);
		return -EINVAL;
	} else if (arg == MOCK_ARG_TEXT) {
		if (!mock_printable(rest)) {
			snprintf(err, errlen, "\"%s\": only printable ASCII, please", o->word);
			return -EINVAL;
		}
	} else if (mock_parse_seconds(rest, arg == MOCK_ARG_SIGNED, &o->seconds) < 0 ||
	    (arg == MOCK_ARG_POSITIVE && o->seconds <= 0) ||
	    (o->kind == MOCK_STALL && o->seconds > MOCK_MAX_STALL)) {
		snprintf(err, errlen, "\"%s\": bad number of seconds (like 5 or 0.5%s)", o->word,
		    o->kind == MOCK_STALL ? ", at most 3600" : "");
		return -EINVAL;
	}
	o->text = strdup(rest);
	if (o->text == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* Parse one script line ("renew 429 120") into its endpoint and a new outcome. */
static int mock_outcome_parse(char *line, enum mock_endpoint *ep, struct mock_outcome **out,
    char *err, size_t errlen)
{
	const struct mock_outcome_spec *spec = NULL;
	struct mock_outcome *o;
	enum mock_arg arg = MOCK_ARG_NONE;
	char *p = line, *epw, *word;
	long long status;
	size_t i;
	int which = -1;
	int rc;

	epw = mock_next_word(&p);
	word = mock_next_word(&p);
	if (epw == NULL || word == NULL) {
		snprintf(err, errlen, "expected \"ENDPOINT OUTCOME [ARG]\"");
		return -EINVAL;
	}
	for (i = 0; i < MOCK_EP_COUNT; i++)
		if (strcmp(epw, mock_endpoint_names[i]) == 0)
			which = (int)i;
	if (which < 0) {
		snprintf(err, errlen, "unknown endpoint \"%.32s\" (request or renew)", epw);
		return -EINVAL;
	}
	for (i = 0; i < sizeof(mock_outcome_specs) / sizeof(mock_outcome_specs[0]); i++)
		if (strcmp(word, mock_outcome_specs[i].word) == 0)
			spec = &mock_outcome_specs[i];
	o = calloc(1, sizeof(*o));
	if (o == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (spec != NULL) {
		o->kind = spec->kind;
		arg = spec->arg;
	} else if (strlen(word) == 3 && mock_parse_int(word, 400, 599, &status) == 0) {
		o->kind = MOCK_STATUS;
		o->status = (int)status;
		arg = status == 429 ? MOCK_ARG_TEXT : MOCK_ARG_NONE;
	} else {
		snprintf(err, errlen, "unknown outcome \"%.32s\"", word);
		free(o);
		return -EINVAL;
	}
	snprintf(o->word, sizeof(o->word), "%s", word);
	rc = mock_outcome_arg(o, arg, mock_rest(p), err, errlen);
	if (rc < 0) {
		mock_outcome_free(o);
		return rc;
	}
	*ep = (enum mock_endpoint)which;
	*out = o;
	return 0;
}

/*
 * Copy the next line of [*p, end) into line (without "\n", "\r\n" or the
 * surrounding blanks). Returns 1 for a line, 0 at the end, -E2BIG or -EINVAL.
 */
static int mock_next_line(const char **p, const char *end, char *line, size_t cap)
{
	const char *s = *p, *nl;
	size_t len;
	char *t;

	if (s >= end)
		return 0;
	nl = memchr(s, '\n', (size_t)(end - s));
	len = (size_t)((nl != NULL ? nl : end) - s);
	*p = nl != NULL ? nl + 1 : end;
	if (len >= cap)
		return -E2BIG;
	if (memchr(s, '\0', len) != NULL)
		return -EINVAL;
	memcpy(line, s, len);
	line[len] = '\0';
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
		line[--len] = '\0';
	t = line;
	while (*t == ' ' || *t == '\t')
		t++;
	memmove(line, t, strlen(t) + 1);
	return 1;
}

/* Report a bad line of a script or config text. */
static int mock_line_error(int rc, unsigned lineno, char *err, size_t errlen)
{
	if (rc == -E2BIG)
		snprintf(err, errlen, "line %u: longer than %d bytes", lineno, MOCK_MAX_LINE);
	else
		snprintf(err, errlen, "line %u: contains a NUL byte", lineno);
	return -EINVAL;
}

/* Parse a whole script and append its outcomes to the queues: all of it or, on error, none. */
static int mock_script_add(struct mock *m, const char *text, size_t len, size_t *added,
    char *err, size_t errlen)
{
	struct mock_queue staged[MOCK_EP_COUNT];
	size_t count[MOCK_EP_COUNT] = { 0 };
	const char *p = text, *end = text + len;
	char line[MOCK_MAX_LINE + 1], why[160];
	struct mock_outcome *o;
	enum mock_endpoint ep;
	unsigned lineno = 0;
	size_t i;
	int rc = 0;

	for (i = 0; i < MOCK_EP_COUNT; i++)
		TAILQ_INIT(&staged[i]);
	for (;;) {
		rc = mock_next_line(&p, end, line, sizeof(line));
		lineno++;
		if (rc == 0)
			break;
		if (rc < 0) {
			rc = mock_line_error(rc, lineno, err, errlen);
			goto out;
		}
		if (line[0] == '\0' || line[0] == '#')
			continue;
		rc = mock_outcome_parse(line, &ep, &o, why, sizeof(why));
		if (rc < 0) {
			snprintf(err, errlen, "line %u: %s", lineno, why);
			goto out;
		}
		TAILQ_INSERT_TAIL(&staged[ep], o, entry);
		if (m->queue_len[ep] + ++count[ep] > MOCK_MAX_QUEUE) {
			snprintf(err, errlen, "line %u: more than %d outcomes queued for %s",
			    lineno, MOCK_MAX_QUEUE, mock_endpoint_names[ep]);
			rc = -E2BIG;
			goto out;
		}
	}
	*added = 0;
	for (i = 0; i < MOCK_EP_COUNT; i++) {
		TAILQ_CONCAT(&m->queue[i], &staged[i], entry);
		m->queue_len[i] += count[i];
		*added += count[i];
	}
	rc = 0;
out:
	for (i = 0; i < MOCK_EP_COUNT; i++)
		mock_queue_clear(&staged[i]);
	return rc;
}

/* Apply "lifetime 3", "date-offset 5" or "date off" lines: all of them or, on error, none. */
static int mock_config_apply(struct mock *m, const char *text, size_t len, char *err, size_t errlen)
{
	const char *p = text, *end = text + len;
	char line[MOCK_MAX_LINE + 1];
	double lifetime = m->lifetime, offset = m->date_offset, header_offset = m->date_header_offset;
	bool no_date = m->no_date;
	unsigned lineno = 0;
	char *s, *key, *value;
	int rc;

	for (;;) {
		rc = mock_next_line(&p, end, line, sizeof(line));
		lineno++;
		if (rc == 0)
			break;
		if (rc < 0)
			return mock_line_error(rc, lineno, err, errlen);
		if (line[0] == '\0' || line[0] == '#')
			continue;
		s = line;
		key = mock_next_word(&s);
		value = mock_rest(s);
		if (value == NULL) {
			snprintf(err, errlen, "line %u: expected \"KEY VALUE\"", lineno);
			return -EINVAL;
		}
		if (strcmp(key, "lifetime") == 0) {
			if (mock_parse_seconds(value, false, &lifetime) < 0 || lifetime <= 0) {
				snprintf(err, errlen, "line %u: lifetime: seconds > 0, please", lineno);
				return -EINVAL;
			}
		} else if (strcmp(key, "date-offset") == 0) {
			if (mock_parse_seconds(value, true, &offset) < 0) {
				snprintf(err, errlen, "line %u: date-offset: seconds, please", lineno);
				return -EINVAL;
			}
		} else if (strcmp(key, "date-header-offset") == 0) {
			if (mock_parse_seconds(value, true, &header_offset) < 0) {
				snprintf(err, errlen, "line %u: date-header-offset: seconds, please", lineno);
				return -EINVAL;
			}
		} else if (strcmp(key, "date") == 0 && strcmp(value, "on") == 0) {
			no_date = false;
		} else if (strcmp(key, "date") == 0 && strcmp(value, "off") == 0) {
			no_date = true;
		} else {
			snprintf(err, errlen,
			    "line %u: unknown setting (lifetime, date-offset, date-header-offset, date on|off)",
			    lineno);
			return -EINVAL;
		}
	}
	m->lifetime = lifetime;
	m->date_offset = offset;
	m->date_header_offset = header_offset;
	m->no_date = no_date;
	return 0;
}

/* Append one line to the request log, in memory and in the --log file. */
static void mock_log_request(struct mock *m, const char *ep, const char *word, int status,
    bool ticket, const char *note)
{
	long long ms = (long long)floor(mock_wall_now() * 1000.0);
	char line[320], st[16];
	struct evbuffer_ptr nl;
	int n;
	int rc;

	if (status != 0)
		snprintf(st, sizeof(st), "%d", status);
	else
		snprintf(st, sizeof(st), "-");
	n = snprintf(line, sizeof(line), "%lld.%03lld %s %s %s%s%s\n", ms / 1000, ms % 1000,
	    ep, word, st, ticket ? " pticket=1" : "", note);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	evbuffer_add(m->log, line, (size_t)n);
	while (evbuffer_get_length(m->log) > MOCK_LOG_MAX) {
		/* keep the newest lines; a test never gets near this */
		nl = evbuffer_search(m->log, "\n", 1, NULL);
		if (nl.pos < 0)
			break;
		evbuffer_drain(m->log, (size_t)nl.pos + 1);
	}
	if (m->log_fd >= 0) {
		rc = mock_write_all(m->log_fd, line, (size_t)n);
		if (rc < 0 && !m->log_failed) {
			mock_errx("writing %s: %s", m->log_path, strerror(-rc));
			m->log_failed = true;
		}
	}
}

/* Whether a header value lists the media type want (case-insensitive, parameters ignored). */
static bool mock_header_has_type(const char *value, const char *want)
{
	size_t wlen = strlen(want);
	const char *p = value, *e;

	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		e = p;
		while (*e != '\0' && *e != ',' && *e != ';' && *e != ' ' && *e != '\t')
			e++;
		if ((size_t)(e - p) == wlen && strncasecmp(p, want, wlen) == 0)
			return true;
		p = e;
		while (*p != '\0' && *p != ',')
			p++;
	}
	return false;
}

/* List the headers a request lacks or has wrong ("accept,content-type"); empty when none. */
static void mock_check_headers(struct evhttp_request *req, enum mock_endpoint ep, char *bad,
    size_t len)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	const char *accept = evhttp_find_header(h, "Accept");
	const char *type = evhttp_find_header(h, "Content-Type");

	bad[0] = '\0';
	if (accept == NULL || !mock_header_has_type(accept, "application/json"))
		snprintf(bad, len, "accept");
	if (ep == MOCK_EP_REQUEST && (type == NULL || !mock_header_has_type(type, "application/json")))
		snprintf(bad + strlen(bad), len - strlen(bad), "%scontent-type",
		    bad[0] != '\0' ? "," : "");
}

/* Copy a request's body into a NUL-terminated buffer; NULL when too big or out of memory. */
static char *mock_request_body(struct evhttp_request *req, size_t *len)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);
	char *buf;

	if (n > MOCK_MAX_BODY)
		return NULL;
	buf = malloc(n + 1);
	if (buf == NULL)
		return NULL;
	if (evbuffer_copyout(in, buf, n) != (ev_ssize_t)n) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* The token request body as a JSON object, or NULL when it is not one; the raw text is wiped. */
static struct json_object *mock_parse_body(struct evhttp_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	struct json_object *obj = NULL;
	struct json_tokener *tok;
	unsigned char *raw;
	size_t len = 0, end;
	char *buf;

	buf = mock_request_body(req, &len);
	raw = evbuffer_pullup(in, -1);
	if (raw != NULL)
		explicit_bzero(raw, evbuffer_get_length(in));
	if (buf == NULL)
		return NULL;
	tok = json_tokener_new();
	if (tok != NULL && len > 0 && len <= INT_MAX) {
		json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
		obj = json_tokener_parse_ex(tok, buf, (int)len);
		end = json_tokener_get_parse_end(tok);
		while (end < len && isspace((unsigned char)buf[end]))
			end++;
		if (obj != NULL && (json_tokener_get_error(tok) != json_tokener_success ||
		    end != len || !json_object_is_type(obj, json_type_object))) {
			json_object_put(obj);
			obj = NULL;
		}
	}
	json_tokener_free(tok);
	explicit_bzero(buf, len);
	free(buf);
	return obj;
}

/* Drop a parsed token request body, wiping its password and secret first; NULL-safe. */
static void mock_body_free(struct json_object *body)
{
	static const char *const secrets[] = { "password", "sec" };
	struct json_object *v;
	size_t i;

	if (body == NULL)
		return;
	for (i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
		if (json_object_object_get_ex(body, secrets[i], &v) &&
		    json_object_is_type(v, json_type_string))
			explicit_bzero((char *)json_object_get_string(v),
			    (size_t)json_object_get_string_len(v));
	json_object_put(body);
}

/* The reason phrase of a status (libevent's own table lacks 423 and 429), or NULL. */
static const char *mock_reason(int status)
{
	static const struct {
		int status;
		const char *reason;
	} reasons[] = {
		{ 200, "OK" },
		{ 400, "Bad Request" },
		{ 401, "Unauthorized" },
		{ 403, "Forbidden" },
		{ 404, "Not Found" },
		{ 405, "Method Not Allowed" },
		{ 413, "Payload Too Large" },
		{ 423, "Locked" },
		{ 429, "Too Many Requests" },
		{ 500, "Internal Server Error" },
		{ 502, "Bad Gateway" },
		{ 503, "Service Unavailable" },
		{ 504, "Gateway Timeout" },
	};
	size_t i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].status == status)
			return reasons[i].reason;
	return NULL;	/* libevent picks a generic phrase */
}

/* Write the reply with its headers: Date on the server's clock unless switched off. */
static void mock_send(struct mock *m, struct evhttp_request *req, const struct mock_reply *r)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *out = evhttp_request_get_output_buffer(req);
	char date[64], length[32];

	if (r->content_type != NULL)
		evhttp_add_header(h, "Content-Type", r->content_type);
	if (r->retry_after != NULL)
		evhttp_add_header(h, "Retry-After", r->retry_after);
	if (!m->no_date &&
	    mock_format_http_date(mock_server_now(m) + m->date_header_offset, date, sizeof(date)) == 0) {
		evhttp_add_header(h, "Date", date);
	} else if (m->no_date) {
		/*
		 * libevent adds a Date header to every HTTP/1.1 reply that
		 * lacks one; an HTTP/1.0 reply (connection closed after it)
		 * is the only way to leave it out.
		 */
		req->minor = 0;
	}
	snprintf(length, sizeof(length), "%zu", r->body_len);
	evhttp_add_header(h, "Content-Length", length);
	if (r->body_len > 0 && evbuffer_add(out, r->body, r->body_len) < 0) {
		evhttp_send_reply(req, 500, mock_reason(500), NULL);
		return;
	}
	evhttp_send_reply(req, r->status, mock_reason(r->status), NULL);
}

/* Free a pending reply and its timer. */
static void mock_pending_free(struct mock_pending *p)
{
	if (p->ev != NULL)
		event_free(p->ev);
	mock_reply_clear(&p->reply);
	free(p);
}

/* A held reply is due, or a connection's turn to be dropped came: act, then forget it. */
static void mock_pending_fire(evutil_socket_t fd, short what, void *arg)
{
	struct mock_pending *p = arg;
	struct mock *m = p->m;
	struct evhttp_connection *conn;

	TAILQ_REMOVE(&m->pending, p, entry);
	if (p->reply.status == 0) {
		conn = evhttp_request_get_connection(p->req);
		if (conn != NULL && p->reply.garbage) {
			/* Straight onto the socket: evhttp only writes HTTP. Plain HTTP only. */
			evutil_socket_t sfd = bufferevent_getfd(evhttp_connection_get_bufferevent(conn));

			if (sfd >= 0 && write(sfd, MOCK_GARBAGE_TEXT, strlen(MOCK_GARBAGE_TEXT)) < 0)
				mock_errx("garbage: %s", strerror(errno));
		}
		if (conn != NULL)
			evhttp_connection_free(conn);
		else
			evhttp_request_free(p->req);
	} else {
		/* if the client hung up meanwhile, evhttp frees the request here */
		mock_send(m, p->req, &p->reply);
	}
	mock_pending_free(p);
}

/* Forget every held reply without sending it; the connections go with evhttp_free. */
static void mock_pending_abandon(struct mock *m)
{
	struct mock_pending *p;

	while ((p = TAILQ_FIRST(&m->pending)) != NULL) {
		TAILQ_REMOVE(&m->pending, p, entry);
		if (evhttp_request_get_connection(p->req) == NULL)
			evhttp_request_free(p->req);
		mock_pending_free(p);
	}
}

/*
 * Send r now, after its stall, or (status 0) drop the connection on the next
 * loop turn, never from inside evhttp's own callback. Takes r's contents.
 */
static void mock_deliver(struct mock *m, struct evhttp_request *req, struct mock_reply *r)
{
	struct mock_pending *p = NULL;
	struct timeval tv = { 0, 0 };
	struct mock_reply oom = { 0 };

	if (r->status != 0 && r->stall <= 0) {
		mock_send(m, req, r);
		mock_reply_clear(r);
		return;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		goto fail;
	p->ev = evtimer_new(m->base, mock_pending_fire, p);
	if (p->ev == NULL)
		goto fail;
	if (r->stall > 0) {
		tv.tv_sec = (time_t)r->stall;
		tv.tv_usec = (suseconds_t)((r->stall - (double)tv.tv_sec) * 1e6);
	}
	if (evtimer_add(p->ev, &tv) < 0)
		goto fail;
	p->m = m;
	p->req = req;
	p->reply = *r;
	memset(r, 0, sizeof(*r));
	TAILQ_INSERT_TAIL(&m->pending, p, entry);
	return;
fail:
	if (p != NULL)
		mock_pending_free(p);
	mock_reply_clear(r);
	mock_reply_text(&oom, 500, "mock-tradovate: out of memory\n");
	oom.status = 500;
	mock_send(m, req, &oom);
	mock_reply_clear(&oom);
}

/* One request on a Tradovate endpoint: check method and headers, take the next outcome, answer, log. */
static void mock_handle_auth(struct mock *m, struct evhttp_request *req, enum mock_endpoint ep)
{
	enum evhttp_cmd_type want = ep == MOCK_EP_REQUEST ? EVHTTP_REQ_POST : EVHTTP_REQ_GET;
	const char *name = mock_endpoint_names[ep];
	struct json_object *body = NULL;
	struct mock_reply r = { 0 };
	struct mock_outcome *o;
	bool ticket = false;
	char bad[64];
	int rc;

	if (evhttp_request_get_command(req) != want) {
		mock_reply_error_text(&r, 405, "Method Not Allowed");
		r.status = 405;
		mock_log_request(m, name, "badmethod", 405, false, "");
		mock_deliver(m, req, &r);
		return;
	}
	mock_check_headers(req, ep, bad, sizeof(bad));
	if (bad[0] != '\0') {
		/* the outcome stays queued for a request the client gets right */
		mock_reply_error_text(&r, 400, "Bad Request");
		r.status = 400;
		snprintf(r.note, sizeof(r.note), " bad=%s", bad);
		mock_log_request(m, name, "badheaders", 400, false, r.note);
		mock_deliver(m, req, &r);
		return;
	}
	if (ep == MOCK_EP_REQUEST) {
		body = mock_parse_body(req);
		ticket = body != NULL && json_object_object_get_ex(body, "p-ticket", NULL);
	}
	o = mock_queue_pop(m, ep);
	rc = mock_apply(m, ep, o, req, body, &r);
	if (rc < 0) {
		mock_reply_clear(&r);
		snprintf(r.note, sizeof(r.note), " error=%d", -rc);
		mock_reply_text(&r, 500, "mock-tradovate: %s\n", strerror(-rc));
		r.status = 500;
	}
	mock_log_request(m, name, o != NULL ? o->word : "ok", r.status, ticket, r.note);
	mock_deliver(m, req, &r);
	mock_outcome_free(o);
	mock_body_free(body);
}

/* List the outcomes still queued, one script line each. */
static int mock_reply_queues(struct mock *m, struct mock_reply *r)
{
	struct evbuffer *b = evbuffer_new();
	struct mock_outcome *o;
	size_t i, len;
	int rc;

	if (b == NULL)
		return -ENOMEM;
	for (i = 0; i < MOCK_EP_COUNT; i++)
		TAILQ_FOREACH(o, &m->queue[i], entry)
			evbuffer_add_printf(b, "%s %s%s%s\n", mock_endpoint_names[i], o->word,
			    o->text != NULL ? " " : "", o->text != NULL ? o->text : "");
	len = evbuffer_get_length(b);
	rc = mock_reply_raw(r, 200, "text/plain; charset=utf-8",
	    len > 0 ? (const char *)evbuffer_pullup(b, -1) : "", len);
	evbuffer_free(b);
	return rc;
}

/* The control endpoints under /_mock/ that the tests drive the mock with. */
static void mock_handle_control(struct mock *m, struct evhttp_request *req, const char *what)
{
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	bool script = strcmp(what, "script") == 0, config = strcmp(what, "config") == 0;
	struct mock_reply r = { 0 };
	char err[256];
	size_t len = 0, added = 0, i;
	char *text = NULL;
	int rc = 0;

	if (cmd == EVHTTP_REQ_POST && (script || config)) {
		text = mock_request_body(req, &len);
		if (text == NULL)
			rc = mock_reply_text(&r, 413, "body too large\n");
		else if (script && mock_script_add(m, text, len, &added, err, sizeof(err)) < 0)
			rc = mock_reply_text(&r, 400, "%s\n", err);
		else if (script)
			rc = mock_reply_text(&r, 200, "queued %zu\n", added);
		else if (mock_config_apply(m, text, len, err, sizeof(err)) < 0)
			rc = mock_reply_text(&r, 400, "%s\n", err);
		else
			rc = mock_reply_text(&r, 200, "ok\n");
	} else if (cmd == EVHTTP_REQ_GET && script) {
		rc = mock_reply_queues(m, &r);
	} else if (cmd == EVHTTP_REQ_GET && config) {
		rc = mock_reply_text(&r, 200, "lifetime %.3f\ndate-offset %.3f\ndate-header-offset %.3f\n"
		    "date %s\n", m->lifetime, m->date_offset, m->date_header_offset,
		    m->no_date ? "off" : "on");
	} else if (cmd == EVHTTP_REQ_GET && strcmp(what, "log") == 0) {
		len = evbuffer_get_length(m->log);
		rc = mock_reply_raw(&r, 200, "text/plain; charset=utf-8",
		    len > 0 ? (const char *)evbuffer_pullup(m->log, -1) : "", len);
	} else if (cmd == EVHTTP_REQ_POST && strcmp(what, "reset") == 0) {
		for (i = 0; i < MOCK_EP_COUNT; i++) {
			mock_queue_clear(&m->queue[i]);
			m->queue_len[i] = 0;
		}
		rc = mock_reply_text(&r, 200, "ok\n");
	} else if (script || config || strcmp(what, "log") == 0 || strcmp(what, "reset") == 0) {
		rc = mock_reply_text(&r, 405, "method not allowed\n");
	} else {
		rc = mock_reply_text(&r, 404, "no such control (script, config, log, reset)\n");
	}
	free(text);
	if (rc < 0) {
		mock_reply_clear(&r);
		r.status = 500;
	}
	mock_send(m, req, &r);
	mock_reply_clear(&r);
}

/* Route a request: the two /v1 endpoints, other /v1 paths (404, logged), /_mock/ controls. */
static void mock_route(struct evhttp_request *req, void *arg)
{
	struct mock *m = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	struct mock_reply r = { 0 };
	size_t i;

	if (path == NULL)
		path = "";
	if (strcmp(path, "/v1/auth/accesstokenrequest") == 0) {
		mock_handle_auth(m, req, MOCK_EP_REQUEST);
	} else if (strcmp(path, "/v1/auth/renewaccesstoken") == 0) {
		mock_handle_auth(m, req, MOCK_EP_RENEW);
	} else if (strncmp(path, "/_mock/", 7) == 0) {
		mock_handle_control(m, req, path + 7);
	} else {
		if (strncmp(path, "/v1/", 4) == 0 || strcmp(path, "/v1") == 0) {
			/* a client that builds its URLs wrong should show up in the log */
			snprintf(r.note, sizeof(r.note), " path=%.64s", path);
			for (i = 6; r.note[i] != '\0'; i++)
				if (r.note[i] <= 0x20 || r.note[i] >= 0x7f)
					r.note[i] = '?';
			mock_log_request(m, "other", "notfound", 404, false, r.note);
		}
		if (mock_reply_error_text(&r, 404, "Not Found") < 0)
			r.status = 404;
		mock_send(m, req, &r);
		mock_reply_clear(&r);
	}
}

/* Read a whole (small) file into a NUL-terminated buffer. */
static int mock_read_file(const char *path, size_t max, char **out, size_t *outlen)
{
	size_t len = 0;
	char *buf;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	buf = malloc(max + 2);
	if (buf == NULL) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		n = read(fd, buf + len, max + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len > max)
			break;
	}
	if (n < 0 || len > max) {
		n = n < 0 ? -errno : -EFBIG;
		close(fd);
		free(buf);
		return (int)n;
	}
	close(fd);
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
}

/* Write the port to path atomically: a temporary file in the same directory, then rename. */
static int mock_write_port_file(const char *path, unsigned port)
{
	char tmp[PATH_MAX], text[16];
	int fd, rc, n;

	n = snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = snprintf(text, sizeof(text), "%u\n", port);
	rc = mock_write_all(fd, text, (size_t)n);
	if (rc == 0 && fchmod(fd, 0644) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0)
		unlink(tmp);
	return rc;
}

/* Make an OpenSSL bufferevent for each accepted connection (evhttp's bevcb). */
static struct bufferevent *mock_tls_bev(struct event_base *base, void *arg)
{
	SSL_CTX *ctx = arg;
	struct bufferevent *bev;
	SSL *ssl;

	ssl = SSL_new(ctx);
	if (ssl == NULL)
		return NULL;
	bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		return NULL;	/* who owns ssl now differs between libevent versions: leak it */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

/* Load the certificate chain and key for --tls. */
static int mock_tls_setup(struct mock *m)
{
	unsigned long e;

	m->ssl = SSL_CTX_new(TLS_server_method());
	if (m->ssl == NULL ||
	    SSL_CTX_set_min_proto_version(m->ssl, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_use_certificate_chain_file(m->ssl, m->tls_cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(m->ssl, m->tls_key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(m->ssl) != 1) {
		e = ERR_get_error();
		mock_errx("--tls %s %s: %s", m->tls_cert, m->tls_key,
		    e != 0 ? ERR_reason_error_string(e) : "cannot set up TLS");
		ERR_clear_error();
		return -EINVAL;
	}
	evhttp_set_bevcb(m->http, mock_tls_bev, m->ssl);
	return 0;
}

/* The second after an accept() failure is over: accept again. */
static void mock_accept_resume(evutil_socket_t fd, short what, void *arg)
{
	evconnlistener_enable(arg);
}

/*
 * accept() failed with something like EMFILE: pause accepting for a second
 * rather than spin on a listening socket that stays readable. (evhttp owns the
 * listener's callback argument, hence a one-shot event carrying the listener.)
 */
static void mock_accept_error(struct evconnlistener *l, void *arg)
{
	struct timeval tv = { 1, 0 };
	int e = EVUTIL_SOCKET_ERROR();

	mock_errx("accepting a connection: %s; pausing for a second", strerror(e));
	evconnlistener_disable(l);
	if (event_base_once(evconnlistener_get_base(l), -1, EV_TIMEOUT, mock_accept_resume, l,
	    &tv) < 0)
		evconnlistener_enable(l);
}

/* Listen on 127.0.0.1 (the port given, or an ephemeral one) and report the port bound. */
static int mock_listen(struct mock *m, unsigned *port)
{
	struct sockaddr_in sin = { 0 };
	socklen_t slen = sizeof(sin);
	struct evconnlistener *l;
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)m->port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &slen) < 0) {
		one = -errno;
		close(fd);
		return one;
	}
	l = evconnlistener_new(m->base, NULL, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, MOCK_BACKLOG, fd);
	if (l == NULL) {
		close(fd);
		return -ENOMEM;
	}
	if (evhttp_bind_listener(m->http, l) == NULL) {
		evconnlistener_free(l);
		return -ENOMEM;
	}
	evconnlistener_set_error_cb(l, mock_accept_error);
	*port = ntohs(sin.sin_port);
	return 0;
}

/* SIGTERM or SIGINT: leave the loop; main cleans up and exits 0. */
static void mock_on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct mock *m = arg;

	event_base_loopbreak(m->base);
}

/* Allow as many open files as the hard limit does (many concurrent connections). */
static void mock_raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Set up everything the loop needs; errors are reported here. Returns 0 or -errno. */
static int mock_start(struct mock *m, unsigned *port)
{
	char err[256];
	size_t len = 0, added = 0;
	char *text = NULL;
	int rc;

	m->base = event_base_new();
	m->log = evbuffer_new();
	if (m->base == NULL || m->log == NULL) {
		mock_errx("out of memory");
		return -ENOMEM;
	}
	if (m->log_path != NULL) {
		m->log_fd = open(m->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
		if (m->log_fd < 0) {
			mock_errx("--log %s: %s", m->log_path, strerror(errno));
			return -errno;
		}
	}
	if (m->script_path != NULL) {
		rc = mock_read_file(m->script_path, MOCK_MAX_SCRIPT_FILE, &text, &len);
		if (rc < 0) {
			mock_errx("--script %s: %s", m->script_path, strerror(-rc));
			return rc;
		}
		rc = mock_script_add(m, text, len, &added, err, sizeof(err));
		free(text);
		if (rc < 0) {
			mock_errx("--script %s: %s", m->script_path, err);
			return rc;
		}
	}
	m->http = evhttp_new(m->base);
	if (m->http == NULL) {
		mock_errx("out of memory");
		return -ENOMEM;
	}
	evhttp_set_max_body_size(m->http, MOCK_MAX_BODY);
	evhttp_set_max_headers_size(m->http, MOCK_MAX_HEADERS);
	/* a held reply must outlive the connection's idle timeout */
	evhttp_set_timeout(m->http, MOCK_IDLE_TIMEOUT);
	evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH);
	/* no Content-Type on empty bodies (429) */
	evhttp_set_default_content_type(m->http, NULL);
	evhttp_set_gencb(m->http, mock_route, m);
	if (m->tls_cert != NULL) {
		rc = mock_tls_setup(m);
		if (rc < 0)
			return rc;
	}
	rc = mock_listen(m, port);
	if (rc < 0) {
		mock_errx("listening on 127.0.0.1:%u: %s", m->port, strerror(-rc));
		return rc;
	}
	m->sigterm = evsignal_new(m->base, SIGTERM, mock_on_signal, m);
	m->sigint = evsignal_new(m->base, SIGINT, mock_on_signal, m);
	if (m->sigterm == NULL || m->sigint == NULL ||
	    event_add(m->sigterm, NULL) < 0 || event_add(m->sigint, NULL) < 0) {
		mock_errx("cannot watch SIGTERM and SIGINT");
		return -ENOMEM;
	}
	if (m->port_file != NULL) {
		rc = mock_write_port_file(m->port_file, *port);
		if (rc < 0) {
			mock_errx("--port-file %s: %s", m->port_file, strerror(-rc));
			return rc;
		}
	}
	return 0;
}

/* Release everything mock_start set up, in reverse order; safe after a partial start. */
static void mock_stop(struct mock *m)
{
	size_t i;

	mock_pending_abandon(m);
	if (m->http != NULL)
		evhttp_free(m->http);
	if (m->sigterm != NULL)
		event_free(m->sigterm);
	if (m->sigint != NULL)
		event_free(m->sigint);
	if (m->ssl != NULL)
		SSL_CTX_free(m->ssl);
	for (i = 0; i < MOCK_EP_COUNT; i++)
		mock_queue_clear(&m->queue[i]);
	if (m->log != NULL)
		evbuffer_free(m->log);
	if (m->log_fd >= 0)
		close(m->log_fd);
	if (m->base != NULL)
		event_base_free(m->base);
	explicit_bzero(m->tokens, sizeof(m->tokens));
	explicit_bzero(m->ticket, sizeof(m->ticket));
}

/* Set the defaults: the demo account of the README's quick start. */
static void mock_init(struct mock *m)
{
	size_t i;

	memset(m, 0, sizeof(*m));
	m->user = "demo";
	m->password = "demo-password";
	m->app_id = "tvtokend-demo";
	m->sec = "demo-secret";
	m->cid = 8;
	m->lifetime = 5400;
	m->log_fd = -1;
	for (i = 0; i < MOCK_EP_COUNT; i++)
		TAILQ_INIT(&m->queue[i]);
	TAILQ_INIT(&m->pending);
}

/* Apply one command-line option and its value(s). Returns 0 or -EINVAL (reported). */
static int mock_option(struct mock *m, const char *name, const char *val, const char *val2)
{
	long long n;

	if (strcmp(name, "listen") == 0) {
		if (strcmp(val, "127.0.0.1") != 0 && strcmp(val, "localhost") != 0) {
			mock_errx("--listen %s: the mock only listens on 127.0.0.1", val);
			return -EINVAL;
		}
	} else if (strcmp(name, "port") == 0) {
		if (mock_parse_int(val, 0, 65535, &n) < 0) {
			mock_errx("--port %s: a number from 0 to 65535, please", val);
			return -EINVAL;
		}
		m->port = (unsigned)n;
	} else if (strcmp(name, "port-file") == 0) {
		m->port_file = val;
	} else if (strcmp(name, "tls") == 0) {
		m->tls_cert = val;
		m->tls_key = val2;
	} else if (strcmp(name, "lifetime") == 0) {
		if (mock_parse_seconds(val, false, &m->lifetime) < 0 || m->lifetime <= 0) {
			mock_errx("--lifetime %s: seconds > 0, please (like 5400 or 2.5)", val);
			return -EINVAL;
		}
	} else if (strcmp(name, "date-offset") == 0) {
		if (mock_parse_seconds(val, true, &m->date_offset) < 0) {
			mock_errx("--date-offset %s: seconds, please (like 30 or -2.5)", val);
			return -EINVAL;
		}
	} else if (strcmp(name, "no-date") == 0) {
		m->no_date = true;
	} else if (strcmp(name, "log") == 0) {
		m->log_path = val;
	} else if (strcmp(name, "script") == 0) {
		m->script_path = val;
	} else if (strcmp(name, "cid") == 0) {
		if (mock_parse_int(val, 0, INT32_MAX, &n) < 0) {
			mock_errx("--cid %s: a number from 0 to 2147483647, please", val);
			return -EINVAL;
		}
		m->cid = n;
	} else if (val[0] == '\0') {
		mock_errx("--%s: must not be empty", name);
		return -EINVAL;
	} else if (strcmp(name, "user") == 0) {
		m->user = val;
	} else if (strcmp(name, "password") == 0) {
		m->password = val;
	} else if (strcmp(name, "app-id") == 0) {
		m->app_id = val;
	} else if (strcmp(name, "sec") == 0) {
		m->sec = val;
	}
	return 0;
}

/*
 * Parse the command line ("--opt VALUE" or "--opt=VALUE"; --tls takes two).
 * Returns 0 to run, 1 after --help, -EINVAL after reporting a usage error.
 */
static int mock_parse_args(struct mock *m, int argc, char **argv)
{
	static const struct {
		const char *name;
		int nargs;
	} opts[] = {
		{ "listen", 1 }, { "port", 1 }, { "port-file", 1 }, { "tls", 2 },
		{ "lifetime", 1 }, { "date-offset", 1 }, { "no-date", 0 }, { "log", 1 },
		{ "script", 1 }, { "user", 1 }, { "password", 1 }, { "app-id", 1 },
		{ "cid", 1 }, { "sec", 1 }, { "help", 0 },
	};
	const char *arg, *eq, *val, *val2;
	char name[32];
	size_t namelen, j;
	int i, nargs;

	for (i = 1; i < argc; i++) {
		arg = argv[i];
		if (strncmp(arg, "--", 2) != 0) {
			mock_errx("unexpected argument \"%.64s\"", arg);
			return -EINVAL;
		}
		arg += 2;
		eq = strchr(arg, '=');
		namelen = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
		nargs = -1;
		for (j = 0; j < sizeof(opts) / sizeof(opts[0]); j++)
			if (strlen(opts[j].name) == namelen && strncmp(opts[j].name, arg, namelen) == 0)
				nargs = opts[j].nargs;
		if (nargs < 0) {
			mock_errx("unknown option \"--%.*s\"", (int)(namelen > 64 ? 64 : namelen), arg);
			return -EINVAL;
		}
		if (nargs == 0 && eq != NULL) {
			mock_errx("--%.*s takes no value", (int)namelen, arg);
			return -EINVAL;
		}
		snprintf(name, sizeof(name), "%.*s", (int)namelen, arg);
		if (strcmp(name, "help") == 0) {
			fputs(mock_usage, stdout);
			return 1;
		}
		val = NULL;
		val2 = NULL;
		if (nargs >= 1) {
			if (eq != NULL)
				val = eq + 1;
			else if (i + 1 < argc)
				val = argv[++i];
		}
		if (nargs == 2 && i + 1 < argc)
			val2 = argv[++i];
		if ((nargs >= 1 && val == NULL) || (nargs == 2 && val2 == NULL)) {
			mock_errx("--%s needs %s", name, nargs == 2 ? "two values" : "a value");
			return -EINVAL;
		}
		if (mock_option(m, name, val, val2) < 0)
			return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct mock m;
	unsigned port = 0;
	int rc;

	mock_init(&m);
	rc = mock_parse_args(&m, argc, argv);
	if (rc != 0) {
		if (rc < 0)
			fputs(mock_usage, stderr);
		return rc > 0 ? 0 : 2;
	}
	signal(SIGPIPE, SIG_IGN);
	mock_raise_fd_limit();
	if (m.port_file != NULL && unlink(m.port_file) < 0 && errno != ENOENT) {
		mock_errx("--port-file %s: %s", m.port_file, strerror(errno));
		return 1;
	}
	rc = mock_start(&m, &port);
	if (rc == 0) {
		printf("listening on %u\n", port);
		fflush(stdout);
		if (event_base_dispatch(m.base) < 0) {
			mock_errx("event loop failed");
			rc = -EIO;
		}
	}
	mock_stop(&m);
	return rc == 0 ? 0 : 1;
}
