/* SPDX-License-Identifier: MIT */
/*
 * What Tradovate's answers mean (TRADOVATE.md "How failures arrive",
 * CONTRACT.md §7). Pure: the transport facts come in, a classified reply goes
 * out, and nothing here knows about curl, sockets or the clock.
 *
 * Precedence inside a 200 JSON object: a token (a non-empty accessToken
 * string) wins; then p-captcha (truthy the way Tradovate's JavaScript
 * examples test it); then p-ticket; then errorText; anything else is
 * malformed and therefore transient. A null or empty accessToken beside an
 * errorText is no token: credentials must never be retried by mistake.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "reply.h"

/* A p-ticket reply without a usable p-time waits this long (RetryMinSec-like). */
#define REPLY_DEFAULT_P_TIME USEC_PER_SEC
/* Longer p-times are taken as this, so that the arithmetic cannot overflow. */
#define REPLY_MAX_P_TIME (24 * USEC_PER_HOUR)
/* Longer Retry-After delays are taken as this, for the same reason. */
#define REPLY_MAX_RETRY_AFTER (366 * 24 * USEC_PER_HOUR)
/* Server-provided text copied into an error is cut to this many bytes. */
#define REPLY_MAX_SERVER_TEXT 96
/* CONTRACT §7: a Date this far from the local clock means the clock is off. */
#define REPLY_SKEW_LIMIT (2 * USEC_PER_SEC)
/* CONTRACT §7: the Date header is taken as this much older than the reply. */
#define REPLY_DATE_LATENCY USEC_PER_SEC
/* JSON nesting accepted in a reply. */
#define REPLY_JSON_DEPTH 32
/* A quote of a secret is recognised by this many of its first bytes... */
#define REPLY_QUOTE_HEAD 4
/* ...or, at the end of a text, where a cut-off quote ends, by this many. */
#define REPLY_QUOTE_TAIL 3
/* What r->error says instead of a server text that may quote a secret. */
#define REPLY_WITHHELD "[server text withheld: it may quote a secret]"

/* The secrets one classification checks the server's texts for. */
struct reply_secrets {
	const char *s[REPLY_SECRETS_MAX + 3];
	size_t n;
};

/* Whether text (len bytes) may quote secret (see reply.h). */
bool
reply_text_quotes(const char *text, size_t len, const char *secret)
{
	size_t m, k, j;

	if (text == NULL || secret == NULL || secret[0] == '\0')
		return false;
	m = strlen(secret);
	k = m < REPLY_QUOTE_HEAD ? m : REPLY_QUOTE_HEAD;
	if (memmem(text, len, secret, k) != NULL)
		return true;
	/* The end of the text, white space aside, may be where a quote was cut off. */
	while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t' ||
	    text[len - 1] == '\r' || text[len - 1] == '\n'))
		len--;
	for (j = REPLY_QUOTE_TAIL; j < k; j++)
		if (len >= j && memcmp(text + len - j, secret, j) == 0)
			return true;
	return false;
}

/* Add secret to the list (NULL and "" are skipped). */
static void
reply_secrets_add(struct reply_secrets *sec, const char *secret)
{
	if (secret != NULL && secret[0] != '\0' &&
	    sec->n < sizeof(sec->s) / sizeof(sec->s[0]))
		sec->s[sec->n++] = secret;
}

/*
 * Copy the server's text src (len bytes, raw: before anything is cut or
 * recoded) into dst (size n): withheld whole when it may quote a secret,
 * or when the part that would be kept ends with a secret's start (a quote
 * that the cut would cut off), else cut to REPLY_MAX_SERVER_TEXT bytes with
 * anything but printable ASCII replaced by '?'.
 */
static void
reply_server_text(char *dst, size_t n, const char *src, size_t len,
    const struct reply_secrets *sec)
{
	size_t i, max = n - 1;

	if (max > REPLY_MAX_SERVER_TEXT)
		max = REPLY_MAX_SERVER_TEXT;
	for (i = 0; i < sec->n; i++) {
		if (reply_text_quotes(src, len, sec->s[i]) ||
		    (len > max && reply_text_quotes(src, max, sec->s[i]))) {
			snprintf(dst, n, "%s", REPLY_WITHHELD);
			return;
		}
	}
	for (i = 0; i < max && i < len; i++) {
		unsigned char c = (unsigned char)src[i];

		dst[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	dst[i] = '\0';
	/* Strip trailing spaces left by truncation or by the server. */
	while (i > 0 && dst[i - 1] == ' ')
		dst[--i] = '\0';
}

/* Copy a header value without its surrounding white space into buf; NULL when empty. */
static const char *
reply_trim(const char *s, char *buf, size_t n)
{
	size_t len;

	if (s == NULL)
		return NULL;
	while (*s == ' ' || *s == '\t')
		s++;
	len = strlen(s);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' ||
	    s[len - 1] == '\r' || s[len - 1] == '\n'))
		len--;
	if (len == 0 || len >= n)
		return NULL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return buf;
}

/* Format a duration as seconds with up to three decimals ("3.5", "120"). */
static void
reply_format_seconds(char *buf, size_t n, usec_t d)
{
	unsigned long long secs = d / USEC_PER_SEC;
	unsigned long long ms = (d % USEC_PER_SEC) / USEC_PER_MSEC;
	size_t len;

	if (ms == 0) {
		snprintf(buf, n, "%llu", secs);
		return;
	}
	snprintf(buf, n, "%llu.%03llu", secs, ms);
	len = strlen(buf);
	while (len > 0 && buf[len - 1] == '0')
		buf[--len] = '\0';
}

/*
 * Parse body as one JSON value with nothing but white space after it.
 * Returns the value (caller puts it) or NULL.
 */
static struct json_object *
reply_parse_json(const char *body, size_t len)
{
	struct json_tokener *tok;
	struct json_object *obj;
	size_t end;

	if (body == NULL || len == 0 || len > INT32_MAX)
		return NULL;
	tok = json_tokener_new_ex(REPLY_JSON_DEPTH);
	if (tok == NULL)
		return NULL;
	obj = json_tokener_parse_ex(tok, body, (int)len);
	if (obj == NULL || json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(obj);
		json_tokener_free(tok);
		return NULL;
	}
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	for (; end < len; end++) {
		char c = body[end];

		if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
			json_object_put(obj);
			return NULL;
		}
	}
	return obj;
}

/* The member key of obj if it exists and has type type, else NULL. */
static struct json_object *
reply_member(struct json_object *obj, const char *key, enum json_type type)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || v == NULL ||
	    !json_object_is_type(v, type))
		return NULL;
	return v;
}

/* The non-empty string member key of obj, or NULL. */
static const char *
reply_string(struct json_object *obj, const char *key)
{
	struct json_object *v = reply_member(obj, key, json_type_string);

	if (v == NULL || json_object_get_string_len(v) == 0)
		return NULL;
	return json_object_get_string(v);
}

/* Whether member key of obj is truthy as JavaScript would test it. */
static bool
reply_truthy(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || v == NULL)
		return false;
	switch (json_object_get_type(v)) {
	case json_type_boolean:
		return json_object_get_boolean(v);
	case json_type_int:
		return json_object_get_int64(v) != 0;
	case json_type_double: {
		double d = json_object_get_double(v);

		return d != 0 && !isnan(d);
	}
	case json_type_string:
		return json_object_get_string_len(v) > 0;
	case json_type_object:
	case json_type_array:
		return true;
	case json_type_null:
	default:
		return false;
	}
}

/* p-time in seconds (integer or fraction) as a duration; a default when unusable. */
static usec_t
reply_p_time(struct json_object *obj)
{
	struct json_object *v;
	double d;

	if (!json_object_object_get_ex(obj, "p-time", &v) || v == NULL)
		return REPLY_DEFAULT_P_TIME;
	if (json_object_is_type(v, json_type_int)) {
		int64_t i = json_object_get_int64(v);

		if (i < 0)
			return REPLY_DEFAULT_P_TIME;
		if ((uint64_t)i > REPLY_MAX_P_TIME / USEC_PER_SEC)
			return REPLY_MAX_P_TIME;
		return (usec_t)i * USEC_PER_SEC;
	}
	if (!json_object_is_type(v, json_type_double))
		return REPLY_DEFAULT_P_TIME;
	d = json_object_get_double(v);
	if (isnan(d) || d < 0)
		return REPLY_DEFAULT_P_TIME;
	if (d * (double)USEC_PER_SEC >= (double)REPLY_MAX_P_TIME)
		return REPLY_MAX_P_TIME;
	return (usec_t)(d * (double)USEC_PER_SEC + 0.5);
}

/*
 * Retry-After as an absolute wall time, 0 when absent or unparseable.
 * An HTTP date is the server's clock: mapped through its Date header when
 * there is one, so that only the delay it means is kept.
 */
static usec_t
reply_retry_after(const char *value, usec_t server_date, usec_t now)
{
	char buf[64];
	const char *s = reply_trim(value, buf, sizeof(buf));
	unsigned long long secs;
	usec_t when, delay = 0;

	if (s == NULL)
		return 0;
	if (strspn(s, "0123456789") == strlen(s)) {
		errno = 0;
		secs = strtoull(s, NULL, 10);

		if (errno == ERANGE || secs > REPLY_MAX_RETRY_AFTER / USEC_PER_SEC)
			delay = REPLY_MAX_RETRY_AFTER;
		else
			delay = (usec_t)secs * USEC_PER_SEC;
		return now + delay;
	}
	if (time_parse_http_date(s, &when) < 0)
		return 0;
	if (server_date == 0)
		return when > now ? when : now;
	if (when > server_date)
		delay = when - server_date;
	if (delay > REPLY_MAX_RETRY_AFTER)
		delay = REPLY_MAX_RETRY_AFTER;
	return now + delay;
}

/*
 * CONTRACT §7 clock correction of a token's expirationTime, within the
 * bounds of reply.h: a Date too far off is ignored (and noted in r), and the
 * corrected life never exceeds expirationTime - now + REPLY_LIFETIME_MARGIN.
 */
static usec_t
reply_correct_expiration(struct reply *r, usec_t expiration, usec_t now)
{
	int64_t skew, e, limit;

	if (r->server_date == 0 || expiration > (usec_t)INT64_MAX / 2 ||
	    now > (usec_t)INT64_MAX / 2 || r->server_date > (usec_t)INT64_MAX / 2)
		return expiration;
	skew = (int64_t)r->server_date - (int64_t)now;
	if (skew < (int64_t)REPLY_SKEW_LIMIT && skew > -(int64_t)REPLY_SKEW_LIMIT)
		return expiration;
	if (skew > (int64_t)REPLY_DATE_MAX_SKEW || skew < -(int64_t)REPLY_DATE_MAX_SKEW) {
		r->date_ignored = true;
		r->date_skew = skew;
		return expiration;
	}
	e = (int64_t)now + ((int64_t)expiration -
	    ((int64_t)r->server_date + (int64_t)REPLY_DATE_LATENCY));
	limit = (int64_t)expiration + (int64_t)REPLY_LIFETIME_MARGIN;
	if (e > limit) {
		r->date_capped = true;
		r->date_skew = skew;
		e = limit;
	}
	return e > 0 ? (usec_t)e : 0;
}

/* The errorText string of obj and its length; NULL when there is none. */
static const char *
reply_error_text(struct json_object *obj, size_t *len)
{
	struct json_object *v;

	if (obj == NULL || !json_object_is_type(obj, json_type_object))
		return NULL;
	v = reply_member(obj, "errorText", json_type_string);
	if (v == NULL || json_object_get_string_len(v) == 0)
		return NULL;
	*len = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

/* Append ": <errorText>" to r->error when the body carries one (withheld if it may quote a secret). */
static void
reply_append_error_text(struct reply *r, struct json_object *obj,
    const struct reply_secrets *sec)
{
	char text[REPLY_MAX_SERVER_TEXT + 1];
	const char *et;
	size_t len = strlen(r->error), etlen = 0;

	et = reply_error_text(obj, &etlen);
	if (et == NULL)
		return;
	reply_server_text(text, sizeof(text), et, etlen, sec);
	if (text[0] != '\0')
		snprintf(r->error + len, sizeof(r->error) - len, ": %s", text);
}

/* The string member key of obj with its length, when it is a valid bearer token. */
static bool
reply_token_member(struct json_object *obj, const char *key, const char **out)
{
	struct json_object *v = reply_member(obj, key, json_type_string);

	*out = NULL;
	if (v == NULL || json_object_get_string_len(v) == 0)
		return true;            /* absent (or empty): no token */
	if (!token_text_valid(json_object_get_string(v),
	    (size_t)json_object_get_string_len(v)))
		return false;
	*out = json_object_get_string(v);
	return true;
}

/* Fill r->token from a 200 object with an accessToken; no valid expirationTime: transient. */
static int
reply_take_token(struct reply *r, struct json_object *obj, usec_t now)
{
	struct json_object *uid;
	const char *at, *md, *exp, *name;
	usec_t expiration;
	bool ok = true;

	if (!reply_token_member(obj, "accessToken", &at) || at == NULL ||
	    !reply_token_member(obj, "mdAccessToken", &md)) {
		r->outcome = REPLY_TRANSIENT;
		snprintf(r->error, sizeof(r->error),
		    "malformed reply: a token that is not a valid bearer token "
		    "(RFC 6750 b64token, at most %d bytes)", TOKEN_MAX_LEN);
		return 0;
	}
	exp = reply_string(obj, "expirationTime");
	if (exp == NULL || time_parse_iso8601(exp, &expiration) < 0) {
		r->outcome = REPLY_TRANSIENT;
		snprintf(r->error, sizeof(r->error),
		    "malformed reply: token without a valid expirationTime");
		return 0;
	}
	/* The user name is served to clients as it is: valid UTF-8 only, else left out. */
	name = reply_string(obj, "name");
	if (name != NULL && !token_name_valid(name, (size_t)json_object_get_string_len(
	    reply_member(obj, "name", json_type_string))))
		name = NULL;

	r->token.access_token = strdup(at);
	if (r->token.access_token == NULL)
		ok = false;
	if (md != NULL && (r->token.md_access_token = strdup(md)) == NULL)
		ok = false;
	if (name != NULL && (r->token.name = strdup(name)) == NULL)
		ok = false;
	if (!ok)
		return -ENOMEM;

	uid = reply_member(obj, "userId", json_type_int);
	if (uid != NULL) {
		r->token.user_id = json_object_get_int64(uid);
		r->token.has_user_id = true;
	}
	r->token.expiration = reply_correct_expiration(r, expiration, now);
	r->outcome = REPLY_SUCCESS;
	return 0;
}

/* Classify a 200 reply's body. */
static int
reply_classify_200(struct reply *r, struct json_object *obj, usec_t now,
    const struct reply_secrets *sec)
{
	struct json_object *at;
	const char *ticket, *et;
	char text[REPLY_MAX_SERVER_TEXT + 1], secs[32];
	size_t etlen = 0;

	if (obj == NULL) {
		r->outcome = REPLY_TRANSIENT;
		snprintf(r->error, sizeof(r->error),
		    "malformed reply: HTTP 200 without a JSON body");
		return 0;
	}
	if (!json_object_is_type(obj, json_type_object)) {
		r->outcome = REPLY_TRANSIENT;
		snprintf(r->error, sizeof(r->error),
		    "malformed reply: not a JSON object");
		return 0;
	}

	if (reply_string(obj, "accessToken") != NULL)
		return reply_take_token(r, obj, now);

	ticket = reply_string(obj, "p-ticket");
	if (ticket != NULL && (r->p_ticket = strdup(ticket)) == NULL)
		return -ENOMEM;

	if (reply_truthy(obj, "p-captcha")) {
		r->outcome = REPLY_CAPTCHA;
		snprintf(r->error, sizeof(r->error),
		    "captcha required, no program can solve it");
		return 0;
	}
	if (ticket != NULL) {
		r->outcome = REPLY_PENALTY;
		r->p_time = reply_p_time(obj);
		reply_format_seconds(secs, sizeof(secs), r->p_time);
		snprintf(r->error, sizeof(r->error),
		    "penalty ticket, wait %s s", secs);
		return 0;
	}

	et = reply_error_text(obj, &etlen);
	if (et != NULL) {
		reply_server_text(text, sizeof(text), et, etlen, sec);
		if (r->kind == REPLY_KIND_REQUEST) {
			r->outcome = REPLY_BAD_CREDENTIALS;
			snprintf(r->error, sizeof(r->error),
			    "credentials rejected: %s", text);
		} else {
			r->outcome = REPLY_REFUSED;
			snprintf(r->error, sizeof(r->error),
			    "renewal refused: %s", text);
		}
		return 0;
	}

	r->outcome = REPLY_TRANSIENT;
	if (json_object_object_get_ex(obj, "accessToken", &at) && at != NULL &&
	    !json_object_is_type(at, json_type_null))
		snprintf(r->error, sizeof(r->error),
		    "malformed reply: accessToken is not a non-empty string");
	else
		snprintf(r->error, sizeof(r->error),
		    "malformed reply: neither a token nor an error");
	return 0;
}

/* Wipe json-c's copies of the values that may be secrets before the object is freed. */
static void
reply_wipe_json(struct json_object *obj)
{
	static const char *const keys[] = {
		"accessToken", "mdAccessToken", "p-ticket",
	};
	struct json_object *v;

	if (obj == NULL || !json_object_is_type(obj, json_type_object))
		return;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (json_object_object_get_ex(obj, keys[i], &v) && v != NULL &&
		    json_object_is_type(v, json_type_string))
			explicit_bzero((char *)json_object_get_string(v),
			    (size_t)json_object_get_string_len(v));
	}
}

/* The input's secrets, and every token or ticket the reply itself carries. */
static void
reply_collect_secrets(struct reply_secrets *sec, const struct reply_input *in,
    struct json_object *obj)
{
	static const char *const keys[] = { "accessToken", "mdAccessToken", "p-ticket" };
	struct json_object *v;

	for (size_t i = 0; i < REPLY_SECRETS_MAX; i++)
		reply_secrets_add(sec, in->secrets[i]);
	if (obj == NULL || !json_object_is_type(obj, json_type_object))
		return;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (json_object_object_get_ex(obj, keys[i], &v) && v != NULL &&
		    json_object_is_type(v, json_type_string))
			reply_secrets_add(sec, json_object_get_string(v));
}

/* Classify an HTTP reply by its status, and its body when the status is 200. */
static int
reply_classify_http(struct reply *r, const struct reply_input *in, usec_t now)
{
	struct json_object *obj = reply_parse_json(in->body, in->body_len);
	struct reply_secrets sec = { .n = 0 };
	char secs[32];
	int ret = 0;

	reply_collect_secrets(&sec, in, obj);
	switch (in->http_status) {
	case 200:
		ret = reply_classify_200(r, obj, now, &sec);
		break;
	case 401:
		if (r->kind == REPLY_KIND_REQUEST) {
			r->outcome = REPLY_BAD_CREDENTIALS;
			snprintf(r->error, sizeof(r->error),
			    "credentials rejected: HTTP 401");
		} else {
			r->outcome = REPLY_REFUSED;
			snprintf(r->error, sizeof(r->error),
			    "renewal refused: HTTP 401");
		}
		reply_append_error_text(r, obj, &sec);
		break;
	case 423:
		r->outcome = REPLY_LOCKED;
		snprintf(r->error, sizeof(r->error), "HTTP 423: locked out");
		reply_append_error_text(r, obj, &sec);
		break;
	case 429:
		r->outcome = REPLY_RATE_LIMITED;
		r->retry_after = reply_retry_after(in->retry_after,
		    r->server_date, now);
		if (r->retry_after != 0) {
			reply_format_seconds(secs, sizeof(secs),
			    r->retry_after - now);
			snprintf(r->error, sizeof(r->error),
			    "HTTP 429: rate limited, retry after %s s", secs);
		} else {
			snprintf(r->error, sizeof(r->error),
			    "HTTP 429: rate limited");
		}
		break;
	default:
		r->outcome = REPLY_TRANSIENT;
		snprintf(r->error, sizeof(r->error), "HTTP %ld", in->http_status);
		reply_append_error_text(r, obj, &sec);
		break;
	}
	reply_wipe_json(obj);
	json_object_put(obj);
	return ret;
}

/* Classify one answer received at wall time now (see reply.h). */
int
reply_classify(enum reply_kind kind, const struct reply_input *in, usec_t now,
    struct reply *out)
{
	struct reply r;
	struct reply_secrets sec = { .n = 0 };
	char text[REPLY_MAX_SERVER_TEXT + 1], date[64];
	const char *d;
	int ret;

	memset(&r, 0, sizeof(r));
	r.kind = kind;
	text[0] = '\0';
	if (in->transport_error != NULL) {
		reply_collect_secrets(&sec, in, NULL);
		reply_server_text(text, sizeof(text), in->transport_error,
		    strlen(in->transport_error), &sec);
	}

	switch (in->transport) {
	case TRANSPORT_CONNECT_FAILED:
		r.outcome = REPLY_CONNECT_FAILED;
		snprintf(r.error, sizeof(r.error), "connect failed: %s",
		    text[0] != '\0' ? text : "unknown error");
		break;
	case TRANSPORT_FAILED_AFTER_SEND:
		r.outcome = REPLY_TRANSIENT;
		snprintf(r.error, sizeof(r.error), "request failed: %s",
		    text[0] != '\0' ? text : "unknown error");
		break;
	case TRANSPORT_OK:
	default:
		r.http_status = in->http_status;
		d = reply_trim(in->date, date, sizeof(date));
		if (d == NULL || time_parse_http_date(d, &r.server_date) < 0)
			r.server_date = 0;
		ret = reply_classify_http(&r, in, now);
		if (ret < 0) {
			reply_clear(&r);
			return ret;
		}
		break;
	}
	*out = r;
	explicit_bzero(&r, sizeof(r));
	return 0;
}

/* Whether a token request reached the server and got no token (CONTRACT §7). */
bool
reply_counts_as_failed_request(const struct reply *r)
{
	if (r->kind != REPLY_KIND_REQUEST)
		return false;
	switch (r->outcome) {
	case REPLY_SUCCESS:
	case REPLY_PENALTY:
	case REPLY_CONNECT_FAILED:
		return false;
	default:
		return true;
	}
}

/* Release what reply_classify allocated, wiping the token and ticket. */
void
reply_clear(struct reply *r)
{
	if (r == NULL)
		return;
	token_clear(&r->token);
	secret_free(r->p_ticket);
	explicit_bzero(r, sizeof(*r));
}

/* Stable lower-case name of an outcome, for logs and tests. */
const char *
reply_outcome_to_string(enum reply_outcome o)
{
	switch (o) {
	case REPLY_SUCCESS:
		return "success";
	case REPLY_BAD_CREDENTIALS:
		return "bad_credentials";
	case REPLY_REFUSED:
		return "refused";
	case REPLY_PENALTY:
		return "penalty";
	case REPLY_CAPTCHA:
		return "captcha";
	case REPLY_LOCKED:
		return "locked";
	case REPLY_RATE_LIMITED:
		return "rate_limited";
	case REPLY_TRANSIENT:
		return "transient";
	case REPLY_CONNECT_FAILED:
		return "connect_failed";
	}
	return "unknown";
}
