/* SPDX-License-Identifier: MIT */
/*
 * The etcd v3 JSON gateway client (etcd.h). Every call is one HTTP POST of a
 * JSON body to /v3/...; unary calls read one reply body, observe and watch
 * read a stream of newline-separated JSON objects.
 *
 * Endpoints. Calls go to the current endpoint. A call that could not even
 * connect (nothing was sent) moves on to the next endpoint at once and tries
 * it, each endpoint once per call; the endpoint that answered stays current,
 * so later calls go straight there. A timeout after sending, or etcd saying
 * this member cannot serve (no raft leader), also moves the current endpoint
 * on, but the call fails: resending something that may have been applied is
 * the caller's decision.
 *
 * Authentication. With a user, the first call authenticates
 * (/v3/auth/authenticate) and every call carries "Authorization: <token>"
 * once it has one; calls made meanwhile wait (bounded by ETCD_MAX_CALLS). A
 * call refused because the token is invalid, expired or older than the auth
 * store authenticates again and is resent once. The gateway's observe ends
 * at once and silently when the token is bad, so a stream that ends before
 * its first message counts as such a refusal (once).
 *
 * Replies are hostile input: bounded in size, every json-c type checked,
 * int64 strings parsed strictly, base64 decoded strictly with size bounds.
 * Messages are cut and made printable; etcd's errors never echo secrets.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <json-c/json.h>

#include "etcd.h"
#include "http.h"

#define ETCD_DEFAULT_KEEPALIVE_IDLE 5
#define ETCD_MAX_TOKEN 1024
#define ETCD_JSON_DEPTH 16
/* Internal: the token was refused and authenticating again may help. */
#define ETCD_EAUTH_RETRY (-EKEYEXPIRED)

struct etcd_call {
	struct etcd *e;
	TAILQ_ENTRY(etcd_call) entry;
	enum etcd_op op;
	char *body;                 /* the request, wiped when freed */
	size_t body_len;
	usec_t timeout;             /* 0: long-poll or stream */
	etcd_reply_fn fn;
	void *arg;
	struct http_xfer *xfer;
	size_t ep;                  /* endpoint of the transfer in flight */
	unsigned tried;             /* endpoints tried without connecting */
	unsigned auth_epoch;        /* which token the transfer carried */
	unsigned messages;          /* stream messages delivered */
	bool waiting_auth;
	bool auth_retried;
	bool in_callback;
	bool cancelled;
};

TAILQ_HEAD(etcd_call_list, etcd_call);

struct etcd {
	struct http *http;
	char **endpoints;
	size_t n_endpoints;
	size_t current;
	unsigned failovers;
	char *ca_file;
	char *cert_file;
	char *key_file;
	char *user;
	char *password;
	usec_t timeout;
	unsigned keepalive_idle;
	char *token;                /* NULL until authenticated; wiped */
	unsigned auth_epoch;
	unsigned authentications;
	struct etcd_call *auth_call;
	struct etcd_call_list calls;
	unsigned n_calls;
};

static const char *const etcd_paths[ETCD_OP_COUNT] = {
	[ETCD_OP_AUTHENTICATE] = "/v3/auth/authenticate",
	[ETCD_OP_LEASE_GRANT] = "/v3/lease/grant",
	[ETCD_OP_LEASE_KEEPALIVE] = "/v3/lease/keepalive",
	[ETCD_OP_LEASE_REVOKE] = "/v3/lease/revoke",
	[ETCD_OP_CAMPAIGN] = "/v3/election/campaign",
	[ETCD_OP_PROCLAIM] = "/v3/election/proclaim",
	[ETCD_OP_LEADER] = "/v3/election/leader",
	[ETCD_OP_RESIGN] = "/v3/election/resign",
	[ETCD_OP_OBSERVE] = "/v3/election/observe",
	[ETCD_OP_PUT] = "/v3/kv/put",
	[ETCD_OP_RANGE] = "/v3/kv/range",
	[ETCD_OP_DELETE] = "/v3/kv/deleterange",
	[ETCD_OP_WATCH] = "/v3/watch",
	[ETCD_OP_TXN] = "/v3/kv/txn",
};

/* Free a string that may be a secret. */
static void
etcd_wipe_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

/* ---- parsing ---- */

static const signed char etcd_b64_value[256] = {
	['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6, ['G'] = 7,
	['H'] = 8, ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14,
	['O'] = 15, ['P'] = 16, ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21,
	['V'] = 22, ['W'] = 23, ['X'] = 24, ['Y'] = 25, ['Z'] = 26,
	['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32, ['g'] = 33,
	['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40,
	['o'] = 41, ['p'] = 42, ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47,
	['v'] = 48, ['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52,
	['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56, ['4'] = 57, ['5'] = 58, ['6'] = 59,
	['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64,
};

/* The 6-bit value of a base64 digit, or -1 (the table stores value + 1). */
static int
etcd_b64_digit(char c)
{
	return etcd_b64_value[(unsigned char)c] - 1;
}

/* Decode canonical standard base64 only, at most max bytes out. */
int
etcd_base64_decode(const char *in, size_t len, size_t max, uint8_t **out, size_t *out_len)
{
	size_t pad = 0, n, o = 0;
	uint8_t *buf;
	int d[4];

	if (len % 4 != 0)
		return -EINVAL;
	if (len > 0 && in[len - 1] == '=')
		pad++;
	if (len > 1 && in[len - 2] == '=')
		pad++;
	n = len / 4 * 3 - pad;
	if (n > max)
		return -EMSGSIZE;
	buf = malloc(n + 1);
	if (buf == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < len; i += 4) {
		bool last = i + 4 == len;

		for (int j = 0; j < 4; j++) {
			if (last && in[i + j] == '=' && j >= 4 - (int)pad) {
				d[j] = 0;
				continue;
			}
			d[j] = etcd_b64_digit(in[i + j]);
			if (d[j] < 0)
				goto bad;
		}
		buf[o++] = (uint8_t)(d[0] << 2 | d[1] >> 4);
		if (last && pad == 2) {
			if ((d[1] & 0x0f) != 0)
				goto bad;
			break;
		}
		buf[o++] = (uint8_t)((d[1] & 0x0f) << 4 | d[2] >> 2);
		if (last && pad == 1) {
			if ((d[2] & 0x03) != 0)
				goto bad;
			break;
		}
		buf[o++] = (uint8_t)((d[2] & 0x03) << 6 | d[3]);
	}
	buf[o] = '\0';
	*out = buf;
	*out_len = o;
	return 0;
bad:
	explicit_bzero(buf, n + 1);
	free(buf);
	return -EINVAL;
}

/* Encode bytes as standard base64 with padding. */
char *
etcd_base64_encode(const uint8_t *in, size_t len)
{
	static const char digits[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;
	char *out;

	if (len > (SIZE_MAX - 1) / 4 * 3 - 3)
		return NULL;
	out = malloc((len + 2) / 3 * 4 + 1);
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;

		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		out[o++] = digits[v >> 18 & 0x3f];
		out[o++] = digits[v >> 12 & 0x3f];
		out[o++] = i + 1 < len ? digits[v >> 6 & 0x3f] : '=';
		out[o++] = i + 2 < len ? digits[v & 0x3f] : '=';
	}
	out[o] = '\0';
	return out;
}

/* Parse a decimal int64 written the gateway's way: digits, an optional '-', nothing else. */
int
etcd_parse_int64(const char *s, size_t len, int64_t *out)
{
	bool neg = false;
	uint64_t v = 0, limit;
	size_t i = 0;

	if (len > 0 && s[0] == '-') {
		neg = true;
		i = 1;
	}
	if (i == len || len > 20)
		return -EINVAL;
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		if (v > (limit - (uint64_t)(s[i] - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (neg && v == (uint64_t)INT64_MAX + 1)
		*out = INT64_MIN;
	else
		*out = neg ? -(int64_t)v : (int64_t)v;
	return 0;
}

/* The first key after every key that starts with prefix. */
int
etcd_prefix_end(const uint8_t *prefix, size_t len, uint8_t **out, size_t *out_len)
{
	uint8_t *end;
	size_t n = len;

	/* Drop trailing 0xff bytes and increment the last remaining one. */
	while (n > 0 && prefix[n - 1] == 0xff)
		n--;
	end = malloc(n > 0 ? n + 1 : 2);
	if (end == NULL)
		return -ENOMEM;
	if (n == 0) {
		/* Every key from prefix on: etcd's "\0" range end. */
		end[0] = 0;
		end[1] = 0;
		*out = end;
		*out_len = 1;
		return 0;
	}
	memcpy(end, prefix, n);
	end[n - 1]++;
	end[n] = 0;
	*out = end;
	*out_len = n;
	return 0;
}

/* Copy at most ETCD_MAX_MESSAGE - 1 bytes of text into dst, each unprintable byte as '?'. */
static void
etcd_message(char dst[static ETCD_MAX_MESSAGE], const char *text, size_t len)
{
	size_t n = len < ETCD_MAX_MESSAGE - 1 ? len : ETCD_MAX_MESSAGE - 1;

	for (size_t i = 0; i < n; i++)
		dst[i] = (unsigned char)text[i] < 0x20 || (unsigned char)text[i] >= 0x7f ?
		    '?' : text[i];
	dst[n] = '\0';
}

/* Whether message contains needle. */
static bool
etcd_says(const char *message, const char *needle)
{
	return strstr(message, needle) != NULL;
}

/* Map etcd's error (gRPC code, message, HTTP status) to a negative errno. */
static int
etcd_classify(long code, const char *m, long status)
{
	if (etcd_says(m, "invalid auth token") || etcd_says(m, "user name is empty") ||
	    etcd_says(m, "revision of auth store is old") || etcd_says(m, "auth token") ||
	    code == 16 || status == 401)
		return ETCD_EAUTH_RETRY;
	if (etcd_says(m, "authentication failed"))
		return -EACCES;
	if (etcd_says(m, "permission denied") || code == 7 || status == 403)
		return -EPERM;
	if (etcd_says(m, "lease not found"))
		return -ENOENT;
	if (etcd_says(m, "election: no leader"))
		return -ENOENT;
	if (etcd_says(m, "election: not leader") || etcd_says(m, "session expired"))
		return -ESTALE;
	if (etcd_says(m, "compacted") || code == 11)
		return -ERANGE;
	if (etcd_says(m, "timed out") || etcd_says(m, "deadline exceeded") || code == 4)
		return -ETIMEDOUT;
	if (etcd_says(m, "no leader") || etcd_says(m, "leader changed") ||
	    etcd_says(m, "too many requests") || etcd_says(m, "not capable") ||
	    code == 14 || status == 503)
		return -EAGAIN;
	if (etcd_says(m, "too large"))
		return -EMSGSIZE;
	if (code == 3)
		return -EINVAL;
	return -EIO;
}

/* Member key of obj if present (any type); NULL when absent. */
static struct json_object *
etcd_get(struct json_object *obj, const char *key)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(obj, key, &v))
		return NULL;
	return v;
}

/* An optional int64 member (a decimal string); absent or null is 0. */
static int
etcd_get_int64(struct json_object *obj, const char *key, int64_t *out)
{
	struct json_object *v = etcd_get(obj, key);

	*out = 0;
	if (v == NULL || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -EPROTO;
	if (etcd_parse_int64(json_object_get_string(v), (size_t)json_object_get_string_len(v),
	    out) < 0)
		return -EPROTO;
	return 0;
}

/* An optional int32 member (a JSON number); absent is 0. */
static int
etcd_get_int32(struct json_object *obj, const char *key, long *out)
{
	struct json_object *v = etcd_get(obj, key);
	int64_t x;

	*out = 0;
	if (v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return -EPROTO;
	x = json_object_get_int64(v);
	if (x < INT32_MIN || x > INT32_MAX)
		return -EPROTO;
	*out = (long)x;
	return 0;
}

/* An optional boolean member; absent is false. */
static int
etcd_get_bool(struct json_object *obj, const char *key, bool *out)
{
	struct json_object *v = etcd_get(obj, key);

	*out = false;
	if (v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return -EPROTO;
	*out = json_object_get_boolean(v);
	return 0;
}

/* An optional base64 member decoded (absent: empty, still allocated); bounded by max. */
static int
etcd_get_bytes(struct json_object *obj, const char *key, size_t max, uint8_t **out,
    size_t *out_len)
{
	struct json_object *v = etcd_get(obj, key);
	int r;

	if (v == NULL || json_object_is_type(v, json_type_null)) {
		*out = calloc(1, 1);
		*out_len = 0;
		return *out == NULL ? -ENOMEM : 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return -EPROTO;
	r = etcd_base64_decode(json_object_get_string(v), (size_t)json_object_get_string_len(v),
	    max, out, out_len);
	if (r == -EINVAL)
		return -EPROTO;
	return r;
}

/* Wipe and free what a kv holds. */
static void
etcd_kv_clear(struct etcd_kv *kv)
{
	free(kv->key);
	if (kv->value != NULL) {
		explicit_bzero(kv->value, kv->value_len);
		free(kv->value);
	}
	memset(kv, 0, sizeof(*kv));
}

/* Read a mvccpb.KeyValue object; its key must not be empty. */
static int
etcd_parse_kv(struct json_object *o, struct etcd_kv *kv)
{
	int r;

	memset(kv, 0, sizeof(*kv));
	if (o == NULL || !json_object_is_type(o, json_type_object))
		return -EPROTO;
	r = etcd_get_bytes(o, "key", ETCD_MAX_KEY, &kv->key, &kv->key_len);
	if (r == 0 && kv->key_len == 0)
		r = -EPROTO;
	if (r == 0)
		r = etcd_get_bytes(o, "value", ETCD_MAX_VALUE, &kv->value, &kv->value_len);
	if (r == 0)
		r = etcd_get_int64(o, "create_revision", &kv->create_revision);
	if (r == 0)
		r = etcd_get_int64(o, "mod_revision", &kv->mod_revision);
	if (r == 0)
		r = etcd_get_int64(o, "version", &kv->version);
	if (r == 0)
		r = etcd_get_int64(o, "lease", &kv->lease);
	if (r < 0)
		etcd_kv_clear(kv);
	return r;
}

/* The array member key of obj in *a with its length in *n (absent: 0), at most ETCD_MAX_KVS. */
static int
etcd_get_array(struct json_object *obj, const char *key, struct json_object **a, size_t *n)
{
	*a = etcd_get(obj, key);
	*n = 0;
	if (*a == NULL)
		return 0;
	if (!json_object_is_type(*a, json_type_array))
		return -EPROTO;
	*n = json_object_array_length(*a);
	return *n > ETCD_MAX_KVS ? -EMSGSIZE : 0;
}

/* Read an array member of kvs (absent: none) into r->kvs. */
static int
etcd_parse_kvs(struct json_object *obj, const char *key, struct etcd_reply *r)
{
	struct json_object *a;
	size_t n;
	int q;

	q = etcd_get_array(obj, key, &a, &n);
	if (q < 0 || n == 0)
		return q;
	r->kvs = calloc(n, sizeof(*r->kvs));
	if (r->kvs == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		q = etcd_parse_kv(json_object_array_get_idx(a, i), &r->kvs[i]);
		if (q < 0)
			return q;
		r->n_kvs++;
	}
	return 0;
}

/* Read a single kv member (absent: none) into r->kvs. */
static int
etcd_parse_one_kv(struct json_object *obj, const char *key, struct etcd_reply *r)
{
	struct json_object *o = etcd_get(obj, key);
	int q;

	if (o == NULL)
		return 0;
	r->kvs = calloc(1, sizeof(*r->kvs));
	if (r->kvs == NULL)
		return -ENOMEM;
	q = etcd_parse_kv(o, &r->kvs[0]);
	if (q == 0)
		r->n_kvs = 1;
	return q;
}

/* Read a watch message's events. */
static int
etcd_parse_events(struct json_object *obj, struct etcd_reply *r)
{
	struct json_object *a, *ev, *t;
	size_t n;
	int q;

	q = etcd_get_array(obj, "events", &a, &n);
	if (q < 0 || n == 0)
		return q;
	r->events = calloc(n, sizeof(*r->events));
	if (r->events == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		ev = json_object_array_get_idx(a, i);
		if (ev == NULL || !json_object_is_type(ev, json_type_object))
			return -EPROTO;
		t = etcd_get(ev, "type");
		if (t == NULL || (json_object_is_type(t, json_type_string) &&
		    strcmp(json_object_get_string(t), "PUT") == 0))
			r->events[i].type = ETCD_EVENT_PUT;
		else if (json_object_is_type(t, json_type_string) &&
		    strcmp(json_object_get_string(t), "DELETE") == 0)
			r->events[i].type = ETCD_EVENT_DELETE;
		else
			return -EPROTO;
		q = etcd_parse_kv(etcd_get(ev, "kv"), &r->events[i].kv);
		if (q < 0)
			return q;
		r->n_events++;
	}
	return 0;
}

/* Free what a leader key holds. */
void
etcd_leader_key_clear(struct etcd_leader_key *k)
{
	free(k->name);
	free(k->key);
	memset(k, 0, sizeof(*k));
}

/* Deep-copy a leader key. */
int
etcd_leader_key_copy(struct etcd_leader_key *dst, const struct etcd_leader_key *src)
{
	struct etcd_leader_key k = *src;

	k.name = malloc(src->name_len + 1);
	k.key = malloc(src->key_len + 1);
	if (k.name == NULL || k.key == NULL) {
		free(k.name);
		free(k.key);
		return -ENOMEM;
	}
	memcpy(k.name, src->name, src->name_len);
	k.name[src->name_len] = 0;
	memcpy(k.key, src->key, src->key_len);
	k.key[src->key_len] = 0;
	*dst = k;
	return 0;
}

/* Read campaign's "leader" object. */
static int
etcd_parse_leader_key(struct json_object *obj, struct etcd_leader_key *k)
{
	struct json_object *o = etcd_get(obj, "leader");
	int r;

	if (o == NULL || !json_object_is_type(o, json_type_object))
		return -EPROTO;
	r = etcd_get_bytes(o, "name", ETCD_MAX_KEY, &k->name, &k->name_len);
	if (r == 0)
		r = etcd_get_bytes(o, "key", ETCD_MAX_KEY, &k->key, &k->key_len);
	if (r == 0)
		r = etcd_get_int64(o, "rev", &k->rev);
	if (r == 0)
		r = etcd_get_int64(o, "lease", &k->lease);
	if (r == 0 && (k->name_len == 0 || k->key_len == 0 || k->rev <= 0))
		r = -EPROTO;
	return r;
}

/* Read one JSON object spanning all of text (trailing blanks allowed); NULL if not one. */
static struct json_object *
etcd_json_object(const char *text, size_t len)
{
	struct json_tokener *tok;
	struct json_object *obj;
	size_t end;

	if (len > INT_MAX)
		return NULL;
	tok = json_tokener_new_ex(ETCD_JSON_DEPTH);
	if (tok == NULL)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, text, (int)len);
	if (obj == NULL || json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(obj);
		json_tokener_free(tok);
		return NULL;
	}
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	while (end < len && (text[end] == ' ' || text[end] == '\t' || text[end] == '\r' ||
	    text[end] == '\n'))
		end++;
	if (end != len || !json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

/* Fill r->error from an error member ({"error":"..","code":n} or {"error":{..}}). */
static int
etcd_parse_error(struct json_object *obj, struct json_object *err, long status,
    struct etcd_reply *r)
{
	struct json_object *m = NULL;
	long code = 0;
	const char *text;
	size_t len;

	if (json_object_is_type(err, json_type_string)) {
		m = etcd_get(obj, "message");
		if (m == NULL || !json_object_is_type(m, json_type_string))
			m = err;
		if (etcd_get_int32(obj, "code", &code) < 0)
			return -EPROTO;
	} else if (json_object_is_type(err, json_type_object)) {
		m = etcd_get(err, "message");
		if (m != NULL && !json_object_is_type(m, json_type_string))
			return -EPROTO;
		if (etcd_get_int32(err, "grpc_code", &code) < 0)
			return -EPROTO;
	} else {
		return -EPROTO;
	}
	text = m != NULL ? json_object_get_string(m) : "";
	len = m != NULL ? (size_t)json_object_get_string_len(m) : 0;
	etcd_message(r->message, text, len);
	if (r->message[0] == '\0')
		snprintf(r->message, sizeof(r->message), "etcd error (HTTP %ld)", status);
	r->error = etcd_classify(code, r->message, status);
	return 0;
}

/* The fields of a successful reply of op in obj. */
static int
etcd_parse_fields(enum etcd_op op, struct json_object *obj, struct etcd_reply *r)
{
	struct json_object *hdr = etcd_get(obj, "header"), *v;
	int q = 0;

	if (hdr != NULL) {
		if (!json_object_is_type(hdr, json_type_object))
			return -EPROTO;
		q = etcd_get_int64(hdr, "revision", &r->revision);
		if (q < 0)
			return q;
	}
	switch (op) {
	case ETCD_OP_AUTHENTICATE:
		v = etcd_get(obj, "token");
		if (v == NULL || !json_object_is_type(v, json_type_string) ||
		    json_object_get_string_len(v) <= 0 ||
		    json_object_get_string_len(v) > ETCD_MAX_TOKEN)
			return -EPROTO;
		for (const char *p = json_object_get_string(v); *p != '\0'; p++)
			if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
				return -EPROTO;
		r->token = strdup(json_object_get_string(v));
		return r->token == NULL ? -ENOMEM : 0;
	case ETCD_OP_LEASE_GRANT:
	case ETCD_OP_LEASE_KEEPALIVE:
		q = etcd_get_int64(obj, "ID", &r->id);
		if (q == 0)
			q = etcd_get_int64(obj, "TTL", &r->ttl);
		if (q == 0 && (r->ttl < 0 || (op == ETCD_OP_LEASE_GRANT &&
		    (r->id == 0 || r->ttl == 0))))
			q = -EPROTO;
		return q;
	case ETCD_OP_CAMPAIGN:
		return etcd_parse_leader_key(obj, &r->leader);
	case ETCD_OP_LEADER:
		q = etcd_parse_one_kv(obj, "kv", r);
		if (q == 0 && r->n_kvs == 0) {
			r->error = -ENOENT;
			snprintf(r->message, sizeof(r->message), "election: no leader");
		}
		return q;
	case ETCD_OP_OBSERVE:
		q = etcd_parse_one_kv(obj, "kv", r);
		if (q == 0 && r->n_kvs == 0)
			q = -EPROTO;
		return q;
	case ETCD_OP_RANGE:
		q = etcd_parse_kvs(obj, "kvs", r);
		if (q == 0)
			q = etcd_get_int64(obj, "count", &r->count);
		return q;
	case ETCD_OP_DELETE:
		return etcd_get_int64(obj, "deleted", &r->deleted);
	case ETCD_OP_WATCH:
		q = etcd_get_bool(obj, "created", &r->created);
		if (q == 0)
			q = etcd_get_bool(obj, "canceled", &r->canceled);
		if (q == 0)
			q = etcd_get_int64(obj, "watch_id", &r->watch_id);
		if (q == 0)
			q = etcd_get_int64(obj, "compact_revision", &r->compact_revision);
		if (q == 0)
			q = etcd_parse_events(obj, r);
		if (q == 0 && r->canceled) {
			v = etcd_get(obj, "cancel_reason");
			if (v != NULL && !json_object_is_type(v, json_type_string))
				return -EPROTO;
			if (v != NULL)
				etcd_message(r->message, json_object_get_string(v),
				    (size_t)json_object_get_string_len(v));
			if (r->message[0] == '\0')
				snprintf(r->message, sizeof(r->message), "watch canceled");
			r->error = r->compact_revision != 0 ? -ERANGE :
			    etcd_classify(0, r->message, 200);
		}
		return q;
	case ETCD_OP_TXN:
		/* The gateway leaves out a false "succeeded". */
		q = etcd_get_bool(obj, "succeeded", &r->succeeded);
		if (q == 0 && !r->succeeded) {
			r->error = -ESTALE;
			snprintf(r->message, sizeof(r->message), "transaction: its guard no longer holds");
		}
		return q;
	case ETCD_OP_LEASE_REVOKE:
	case ETCD_OP_PROCLAIM:
	case ETCD_OP_RESIGN:
	case ETCD_OP_PUT:
		return 0;
	default:
		return -EINVAL;
	}
}

/* Wipe and free everything a parsed reply holds. */
void
etcd_reply_clear(struct etcd_reply *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n_kvs; i++)
		etcd_kv_clear(&r->kvs[i]);
	free(r->kvs);
	for (size_t i = 0; i < r->n_events; i++)
		etcd_kv_clear(&r->events[i].kv);
	free(r->events);
	etcd_leader_key_clear(&r->leader);
	etcd_wipe_free(r->token);
	explicit_bzero(r, sizeof(*r));
}

/* Parse one reply body or stream line of op into r. */
int
etcd_parse(enum etcd_op op, long status, const char *body, size_t len, struct etcd_reply *r)
{
	struct json_object *obj, *err, *res;
	int q;

	memset(r, 0, sizeof(*r));
	if ((unsigned)op >= ETCD_OP_COUNT || (body == NULL && len > 0))
		return -EINVAL;
	if (len > ETCD_MAX_REPLY)
		return -EMSGSIZE;
	obj = body != NULL ? etcd_json_object(body, len) : NULL;
	if (obj == NULL) {
		if (status == 200)
			return -EPROTO;
		/* Not etcd's JSON: a proxy, or the wrong port. */
		snprintf(r->message, sizeof(r->message), "HTTP %ld from the endpoint", status);
		r->error = etcd_classify(0, "", status);
		return 0;
	}
	err = etcd_get(obj, "error");
	if (err != NULL && !(json_object_is_type(err, json_type_string) &&
	    json_object_get_string_len(err) == 0)) {
		q = etcd_parse_error(obj, err, status, r);
		goto out;
	}
	if (status != 200) {
		snprintf(r->message, sizeof(r->message), "HTTP %ld from the endpoint", status);
		r->error = etcd_classify(0, "", status);
		q = 0;
		goto out;
	}
	/* A stream message (and a keep-alive reply) wraps its fields in "result". */
	res = etcd_get(obj, "result");
	if (res != NULL && !json_object_is_type(res, json_type_object))
		q = -EPROTO;
	else
		q = etcd_parse_fields(op, res != NULL ? res : obj, r);
out:
	json_object_put(obj);
	if (q < 0)
		etcd_reply_clear(r);
	return q;
}

/* ---- the client ---- */

static int etcd_call_start(struct etcd_call *c);

/* Whether op reads a stream of messages. */
static bool
etcd_is_stream(enum etcd_op op)
{
	return op == ETCD_OP_OBSERVE || op == ETCD_OP_WATCH;
}

/* Whether op may wait without a time limit (campaign) or never ends (streams). */
static bool
etcd_is_long(enum etcd_op op)
{
	return etcd_is_stream(op) || op == ETCD_OP_CAMPAIGN;
}

/* Free a call: out of the list, its transfer cancelled, its body wiped. */
static void
etcd_call_free(struct etcd_call *c)
{
	struct etcd *e = c->e;

	if (c->xfer != NULL)
		http_cancel(c->xfer);
	TAILQ_REMOVE(&e->calls, c, entry);
	e->n_calls--;
	if (e->auth_call == c)
		e->auth_call = NULL;
	if (c->body != NULL) {
		explicit_bzero(c->body, c->body_len);
		free(c->body);
	}
	explicit_bzero(c, sizeof(*c));
	free(c);
}

/* Give r to the call's owner; false when the owner cancelled the call meanwhile. */
static bool
etcd_call_deliver(struct etcd_call *c, struct etcd_reply *r)
{
	if (r->error == ETCD_EAUTH_RETRY)
		r->error = -EACCES;
	c->in_callback = true;
	c->fn(c, r, c->arg);
	c->in_callback = false;
	return !c->cancelled;
}

/* End the call with r as its last callback, then free it. */
static void
etcd_call_finish(struct etcd_call *c, struct etcd_reply *r)
{
	r->more = false;
	if (!c->cancelled)
		etcd_call_deliver(c, r);
	etcd_call_free(c);
}

/* End the call with an error of the client's own. */
static void __attribute__((format(printf, 3, 4)))
etcd_call_fail(struct etcd_call *c, int error, const char *fmt, ...)
{
	struct etcd_reply r;
	char text[2 * ETCD_MAX_MESSAGE];
	va_list ap;

	memset(&r, 0, sizeof(r));
	r.error = error;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	etcd_message(r.message, text, strlen(text));
	etcd_call_finish(c, &r);
}

/* Cancel a call; inside its own callback it is freed when the callback returns. */
void
etcd_call_cancel(struct etcd_call *c)
{
	if (c == NULL || c->cancelled)
		return;
	c->cancelled = true;
	if (c->xfer != NULL) {
		http_cancel(c->xfer);
		c->xfer = NULL;
	}
	/* Inside its own callback, whoever called back frees it on return. */
	if (!c->in_callback)
		etcd_call_free(c);
}

/* Calls go elsewhere from now on when ep (the current endpoint) misbehaved. */
static void
etcd_failover(struct etcd *e, size_t ep)
{
	if (e->n_endpoints < 2 || e->current != ep)
		return;
	e->current = (ep + 1) % e->n_endpoints;
	e->failovers++;
}

/* Drop a refused token and send c again after authenticating; false when that was done already. */
static bool
etcd_reauth(struct etcd_call *c)
{
	struct etcd *e = c->e;
	int r;

	if (e->user == NULL || c->auth_retried || c->op == ETCD_OP_AUTHENTICATE)
		return false;
	c->auth_retried = true;
	if (c->auth_epoch == e->auth_epoch) {
		etcd_wipe_free(e->token);
		e->token = NULL;
	}
	r = etcd_call_start(c);
	if (r < 0)
		etcd_call_fail(c, r, "cannot resend after authenticating: %s", strerror(-r));
	return true;
}

/* The transfer of c failed below HTTP: try the next endpoint or end the call. */
static void
etcd_transport_failed(struct etcd_call *c, const struct http_result *res)
{
	struct etcd *e = c->e;
	const char *where = e->endpoints[c->ep];
	int r;

	if (res->too_large) {
		etcd_call_fail(c, -EMSGSIZE, "%s: reply too large", where);
		return;
	}
	etcd_failover(e, c->ep);
	if (!res->sent) {
		/* Nothing reached etcd: any call may go to the next endpoint. */
		if (++c->tried < e->n_endpoints) {
			r = etcd_call_start(c);
			if (r < 0)
				etcd_call_fail(c, r, "cannot start a request: %s", strerror(-r));
			return;
		}
		etcd_call_fail(c, -ECONNREFUSED, "no etcd endpoint reachable (last %s: %s)",
		    where, res->error);
		return;
	}
	if (res->curl_code == 28 /* CURLE_OPERATION_TIMEDOUT */)
		etcd_call_fail(c, -ETIMEDOUT, "%s: %s", where, res->error);
	else
		etcd_call_fail(c, -EIO, "%s: %s", where, res->error);
}

/* HTTP_BODY_LINES: one stream message. */
static int
etcd_on_line(struct http_xfer *x, const char *line, size_t len, void *arg)
{
	struct etcd_call *c = arg;
	long status = http_xfer_status(x);
	struct etcd_reply r;
	int q;

	q = etcd_parse(c->op, status, line, len, &r);
	if (q < 0 || r.error != 0) {
		/* The stream is over: stop its transfer, then say why. */
		c->xfer = NULL;
		http_cancel(x);
		if (q < 0)
			etcd_call_fail(c, q, "%s: %s", c->e->endpoints[c->ep],
			    q == -EMSGSIZE ? "stream message too large" : "malformed stream message");
		else if (!(r.error == ETCD_EAUTH_RETRY && etcd_reauth(c)))
			etcd_call_finish(c, &r);
		etcd_reply_clear(&r);
		return -1;
	}
	c->messages++;
	c->tried = 0;
	r.more = true;
	if (!etcd_call_deliver(c, &r)) {
		etcd_reply_clear(&r);
		etcd_call_free(c);
		return -1;
	}
	etcd_reply_clear(&r);
	return 0;
}

/* The end of a stream that did not end itself with an error message. */
static void
etcd_stream_done(struct etcd_call *c, const struct http_result *res)
{
	if (res->curl_code != 0 || res->too_large) {
		if (res->too_large || !res->sent || c->messages == 0) {
			etcd_transport_failed(c, res);
			return;
		}
		etcd_failover(c->e, c->ep);
		etcd_call_fail(c, -EIO, "%s: %s", c->e->endpoints[c->ep], res->error);
		return;
	}
	/* The gateway ends observe at once, silently, when the token is bad. */
	if (c->messages == 0 && etcd_reauth(c))
		return;
	etcd_call_fail(c, -EPIPE, "%s: stream ended", c->e->endpoints[c->ep]);
}

/* http_done_fn of every call. */
static void
etcd_on_done(struct http_xfer *x, const struct http_result *res, void *arg)
{
	struct etcd_call *c = arg;
	struct etcd *e = c->e;
	struct etcd_reply r;
	int q;

	c->xfer = NULL;
	if (etcd_is_stream(c->op)) {
		etcd_stream_done(c, res);
		return;
	}
	if (res->curl_code != 0 || res->too_large) {
		etcd_transport_failed(c, res);
		return;
	}
	q = etcd_parse(c->op, res->status, res->body, res->body_len, &r);
	if (q < 0) {
		etcd_call_fail(c, q, "%s: %s", e->endpoints[c->ep],
		    q == -EMSGSIZE ? "reply too large" : "malformed reply");
		return;
	}
	if (r.error == ETCD_EAUTH_RETRY && etcd_reauth(c)) {
		etcd_reply_clear(&r);
		return;
	}
	/* This member cannot serve: the next call tries another. */
	if (r.error == -EAGAIN || r.error == -ETIMEDOUT)
		etcd_failover(e, c->ep);
	etcd_call_finish(c, &r);
	etcd_reply_clear(&r);
}

/* The authentication ended: start the calls that waited for it, or fail them. */
static void
etcd_auth_done(struct etcd_call *call, const struct etcd_reply *r, void *arg)
{
	struct etcd *e = arg;
	struct etcd_call *c;
	int error = r->error != 0 ? r->error : -EPROTO, q;

	e->auth_call = NULL;
	if (r->error == 0 && r->token != NULL) {
		etcd_wipe_free(e->token);
		e->token = strdup(r->token);
		if (e->token != NULL) {
			e->auth_epoch++;
			e->authentications++;
			error = 0;
		} else {
			error = -ENOMEM;
		}
	}
	/* Each round starts over: a callback may cancel any call. */
	for (;;) {
		TAILQ_FOREACH(c, &e->calls, entry)
			if (c->waiting_auth)
				break;
		if (c == NULL)
			break;
		c->waiting_auth = false;
		if (error != 0) {
			etcd_call_fail(c, error == -EAGAIN || error == -ETIMEDOUT ||
			    error == -ECONNREFUSED || error == -ENOMEM ? error : -EACCES,
			    "authentication as %s: %s", e->user, r->message[0] != '\0' ?
			    r->message : strerror(-error));
			continue;
		}
		q = etcd_call_start(c);
		if (q < 0)
			etcd_call_fail(c, q, "cannot start a request: %s", strerror(-q));
	}
}

/* Serialise obj (consumed) into a fresh buffer; json-c's own copy is wiped. */
static int
etcd_body(struct json_object *obj, char **out, size_t *out_len)
{
	const char *s;
	size_t len = 0;
	char *body = NULL;

	if (obj == NULL)
		return -ENOMEM;
	s = json_object_to_json_string_length(obj,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (s != NULL) {
		body = malloc(len + 1);
		if (body != NULL)
			memcpy(body, s, len + 1);
		explicit_bzero((char *)s, len);
	}
	json_object_put(obj);
	if (body == NULL)
		return -ENOMEM;
	*out = body;
	*out_len = len;
	return 0;
}

/* Add member key = val (consumed) to obj; false on ENOMEM. */
static bool
etcd_json_add(struct json_object *obj, const char *key, struct json_object *val)
{
	if (obj == NULL || val == NULL) {
		json_object_put(val);
		return false;
	}
	if (json_object_object_add(obj, key, val) < 0) {
		json_object_put(val);
		return false;
	}
	return true;
}

/* Add bytes as a base64 string member. */
static bool
etcd_json_add_bytes(struct json_object *obj, const char *key, const uint8_t *p, size_t len)
{
	char *b64 = etcd_base64_encode(p, len);
	bool ok;

	if (b64 == NULL)
		return false;
	ok = etcd_json_add(obj, key, json_object_new_string(b64));
	free(b64);
	return ok;
}

/* Add an int64 as etcd's decimal string. */
static bool
etcd_json_add_int64(struct json_object *obj, const char *key, int64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%lld", (long long)v);
	return etcd_json_add(obj, key, json_object_new_string(buf));
}

/* Start (or park, waiting for a token) the transfer of c on the current endpoint. */
static int
etcd_call_start(struct etcd_call *c)
{
	struct etcd *e = c->e;
	struct http_request req;
	const char *headers[3];
	char *url = NULL, *auth = NULL;
	size_t auth_len = 0;
	int r;

	if (e->user != NULL && c->op != ETCD_OP_AUTHENTICATE && e->token == NULL) {
		c->waiting_auth = true;
		if (e->auth_call == NULL) {
			struct json_object *o = json_object_new_object();
			struct etcd_call *a;
			bool ok;

			a = calloc(1, sizeof(*a));
			if (a == NULL) {
				json_object_put(o);
				c->waiting_auth = false;
				return -ENOMEM;
			}
			ok = etcd_json_add(o, "name", json_object_new_string(e->user)) &&
			    etcd_json_add(o, "password", json_object_new_string(e->password));
			if (ok) {
				struct json_object *pw = etcd_get(o, "password");

				r = etcd_body(json_object_get(o), &a->body, &a->body_len);
				explicit_bzero((char *)json_object_get_string(pw),
				    (size_t)json_object_get_string_len(pw));
			} else {
				r = -ENOMEM;
			}
			json_object_put(o);
			if (r < 0) {
				free(a);
				c->waiting_auth = false;
				return r;
			}
			a->e = e;
			a->op = ETCD_OP_AUTHENTICATE;
			a->timeout = e->timeout;
			a->fn = etcd_auth_done;
			a->arg = e;
			TAILQ_INSERT_TAIL(&e->calls, a, entry);
			e->n_calls++;
			e->auth_call = a;
			r = etcd_call_start(a);
			if (r < 0) {
				a->cancelled = true;
				etcd_call_free(a);
				c->waiting_auth = false;
				return r;
			}
		}
		return 0;
	}

	c->ep = e->current;
	c->auth_epoch = e->auth_epoch;
	if (asprintf(&url, "%s%s", e->endpoints[c->ep], etcd_paths[c->op]) < 0)
		return -ENOMEM;
	headers[0] = "Content-Type: application/json";
	headers[1] = NULL;
	headers[2] = NULL;
	if (e->token != NULL && c->op != ETCD_OP_AUTHENTICATE) {
		auth_len = strlen("Authorization: ") + strlen(e->token) + 1;
		auth = malloc(auth_len);
		if (auth == NULL) {
			free(url);
			return -ENOMEM;
		}
		snprintf(auth, auth_len, "Authorization: %s", e->token);
		headers[1] = auth;
	}
	memset(&req, 0, sizeof(req));
	req.url = url;
	req.body = c->body;
	req.body_len = c->body_len;
	req.headers = headers;
	req.timeout = c->timeout;
	req.connect_timeout = e->timeout;
	req.keepalive_idle = etcd_is_long(c->op) ? e->keepalive_idle : 0;
	req.ca_file = e->ca_file;
	req.cert_file = e->cert_file;
	req.key_file = e->key_file;
	/*
	 * Long-polls and streams get a connection of their own; a campaign
	 * must never be resent by curl on a pooled connection that died.
	 */
	req.reuse = !etcd_is_long(c->op);
	req.no_proxy = true;
	req.mode = etcd_is_stream(c->op) ? HTTP_BODY_LINES : HTTP_BODY_WHOLE;
	req.max_body = ETCD_MAX_REPLY;
	req.max_total = ETCD_MAX_STREAM;
	req.on_line = etcd_is_stream(c->op) ? etcd_on_line : NULL;
	req.on_done = etcd_on_done;
	req.arg = c;
	r = http_start(e->http, &req, &c->xfer);
	if (auth != NULL) {
		explicit_bzero(auth, auth_len);
		free(auth);
	}
	free(url);
	return r;
}

/* Queue a call of op with body (consumed) and start it. */
static int
etcd_submit(struct etcd *e, enum etcd_op op, char *body, size_t body_len, usec_t timeout,
    etcd_reply_fn fn, void *arg, struct etcd_call **out)
{
	struct etcd_call *c;
	int r;

	if (fn == NULL || e->n_calls >= ETCD_MAX_CALLS) {
		explicit_bzero(body, body_len);
		free(body);
		return fn == NULL ? -EINVAL : -ENOBUFS;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		explicit_bzero(body, body_len);
		free(body);
		return -ENOMEM;
	}
	c->e = e;
	c->op = op;
	c->body = body;
	c->body_len = body_len;
	c->timeout = etcd_is_long(op) ? 0 : timeout != 0 ? timeout : e->timeout;
	c->fn = fn;
	c->arg = arg;
	TAILQ_INSERT_TAIL(&e->calls, c, entry);
	e->n_calls++;
	r = etcd_call_start(c);
	if (r < 0) {
		c->cancelled = true;
		etcd_call_free(c);
		return r;
	}
	if (out != NULL)
		*out = c;
	return 0;
}

/* Build the body from obj (consumed) and submit. */
static int
etcd_submit_json(struct etcd *e, enum etcd_op op, struct json_object *obj, bool ok,
    usec_t timeout, etcd_reply_fn fn, void *arg, struct etcd_call **out)
{
	char *body;
	size_t len;
	int r;

	if (!ok) {
		json_object_put(obj);
		return -ENOMEM;
	}
	r = etcd_body(obj, &body, &len);
	if (r < 0)
		return r;
	return etcd_submit(e, op, body, len, timeout, fn, arg, out);
}

/* Whether a key or name is usable: present, not empty, not too long. */
static bool
etcd_key_ok(const char *key)
{
	return key != NULL && key[0] != '\0' && strnlen(key, ETCD_MAX_KEY + 1) <= ETCD_MAX_KEY;
}

/* POST /v3/lease/grant. */
int
etcd_lease_grant(struct etcd *e, int64_t ttl, etcd_reply_fn fn, void *arg,
    struct etcd_call **out)
{
	struct json_object *o = json_object_new_object();

	if (ttl <= 0) {
		json_object_put(o);
		return -EINVAL;
	}
	return etcd_submit_json(e, ETCD_OP_LEASE_GRANT, o, etcd_json_add_int64(o, "TTL", ttl),
	    0, fn, arg, out);
}

/* POST /v3/lease/keepalive: one refresh, one answer. */
int
etcd_lease_keepalive(struct etcd *e, int64_t id, usec_t timeout, etcd_reply_fn fn, void *arg,
    struct etcd_call **out)
{
	struct json_object *o = json_object_new_object();

	if (id == 0) {
		json_object_put(o);
		return -EINVAL;
	}
	return etcd_submit_json(e, ETCD_OP_LEASE_KEEPALIVE, o, etcd_json_add_int64(o, "ID", id),
	    timeout, fn, arg, out);
}

/* POST /v3/lease/revoke: the lease and every key attached to it go. */
int
etcd_lease_revoke(struct etcd *e, int64_t id, etcd_reply_fn fn, void *arg,
    struct etcd_call **out)
{
	struct json_object *o = json_object_new_object();

	if (id == 0) {
		json_object_put(o);
		return -EINVAL;
	}
	return etcd_submit_json(e, ETCD_OP_LEASE_REVOKE, o, etcd_json_add_int64(o, "ID", id),
	    0, fn, arg, out);
}

/* POST /v3/election/campaign: answers once elected. */
int
etcd_campaign(struct etcd *e, const char *name, int64_t lease, const uint8_t *value,
    size_t len, etcd_reply_fn fn, void *arg, struct etcd_call **out)
{
	struct json_object *o = json_object_new_object();
	bool ok;

	if (!etcd_key_ok(name) || lease == 0 || (value == NULL && len > 0) ||
	    len > ETCD_MAX_VALUE) {
		json_object_put(o);
		return -EINVAL;
	}
	ok = etcd_json_add_bytes(o, "name", (const uint8_t *)name, strlen(name)) &&
	    etcd_json_add_int64(o, "lease", lease) &&
	    etcd_json_add_bytes(o, "value", value, len);
	return etcd_submit_json(e, ETCD_OP_CAMPAIGN, o, ok, 0, fn, arg, out);
}

/* The LeaderKey object of proclaim and resign. */
static struct json_object *
etcd_leader_json(const struct etcd_leader_key *k)
{
	struct json_object *o = json_object_new_object();

	if (!etcd_json_add_bytes(o, "name", k->name, k->name_len) ||
	    !etcd_json_add_bytes(o, "key", k->key, k->key_len) ||
	    !etcd_json_add_int64(o, "rev", k->rev) ||
	    !etcd_json_add_int64(o, "lease", k->lease)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* POST /v3/election/proclaim: a new value, only while leader. */
int
etcd_proclaim(struct etcd *e, const struct etcd_leader_key *leader, const uint8_t *value,
    size_t len, etcd_reply_fn fn, void *arg, struct etcd_call **out)
{
	struct json_object *o;
	bool ok;

	if (leader == NULL || leader->name == NULL || leader->key == NULL ||
	    (value == NULL && len > 0) || len > ETCD_MAX_VALUE)
		return -EINVAL;
	o = json_object_new_object();
	ok = etcd_json_add(o, "leader", etcd_leader_json(leader)) &&
	    etcd_json_add_bytes(o, "value", value, len);
	return etcd_submit_json(e, ETCD_OP_PROCLAIM, o, ok, 0, fn, arg, out);
}

/* POST /v3/election/leader. */
int
etcd_leader(struct etcd *e, const char *name, etcd_reply_fn fn, void *arg,
    struct etcd_call **out)
{
	struct json_object *o;

	if (!etcd_key_ok(name))
		return -EINVAL;
	o = json_object_new_object();
	return etcd_submit_json(e, ETCD_OP_LEADER, o,
	    etcd_json_add_bytes(o, "name", (const uint8_t *)name, strlen(name)), 0, fn, arg, out);
}

/* POST /v3/election/resign. */
int
etcd_resign(struct etcd *e, const struct etcd_leader_key *leader, etcd_reply_fn fn, void *arg,
    struct etcd_call **out)
{
	struct json_object *o;

	if (leader == NULL || leader->name == NULL || leader->key == NULL)
		return -EINVAL;
	o = json_object_new_object();
	return etcd_submit_json(e, ETCD_OP_RESIGN, o,
	    etcd_json_add(o, "leader", etcd_leader_json(leader)), 0, fn, arg, out);
}

/* POST /v3/election/observe: a stream of the leader's values. */
int
etcd_observe(struct etcd *e, const char *name, etcd_reply_fn fn, void *arg,
    struct etcd_call **out)
{
	struct json_object *o;

	if (!etcd_key_ok(name))
		return -EINVAL;
	o = json_object_new_object();
	return etcd_submit_json(e, ETCD_OP_OBSERVE, o,
	    etcd_json_add_bytes(o, "name", (const uint8_t *)name, strlen(name)), 0, fn, arg, out);
}

/* POST /v3/kv/put. */
int
etcd_put(struct etcd *e, const char *key, const uint8_t *value, size_t len, int64_t lease,
    etcd_reply_fn fn, void *arg, struct etcd_call **out)
{
	struct json_object *o;
	bool ok;

	if (!etcd_key_ok(key) || (value == NULL && len > 0) || len > ETCD_MAX_VALUE)
		return -EINVAL;
	o = json_object_new_object();
	ok = etcd_json_add_bytes(o, "key", (const uint8_t *)key, strlen(key)) &&
	    etcd_json_add_bytes(o, "value", value, len) &&
	    (lease == 0 || etcd_json_add_int64(o, "lease", lease));
	return etcd_submit_json(e, ETCD_OP_PUT, o, ok, 0, fn, arg, out);
}

/* One {"request_put": {...}} of a transaction; NULL when memory runs out. */
static struct json_object *
etcd_txn_put_json(const struct etcd_put_op *p)
{
	struct json_object *o = json_object_new_object(), *put = json_object_new_object();

	if (put == NULL || !etcd_json_add_bytes(put, "key", p->key, p->key_len) ||
	    !etcd_json_add_bytes(put, "value", p->value, p->len) ||
	    (p->lease != 0 && !etcd_json_add_int64(put, "lease", p->lease))) {
		json_object_put(put);
		json_object_put(o);
		return NULL;
	}
	if (!etcd_json_add(o, "request_put", put)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* Append obj (consumed) to the array a; false when memory runs out. */
static bool
etcd_json_append(struct json_object *a, struct json_object *obj)
{
	if (obj == NULL)
		return false;
	if (json_object_array_add(a, obj) < 0) {
		json_object_put(obj);
		return false;
	}
	return true;
}

/* POST /v3/kv/txn: the puts, if guard's create revision is still create_rev. */
int
etcd_put_if_created(struct etcd *e, const uint8_t *guard, size_t guard_len, int64_t create_rev,
    const struct etcd_put_op *puts, size_t n, etcd_reply_fn fn, void *arg,
    struct etcd_call **out)
{
	struct json_object *o, *cmp, *cmps, *ops;
	bool ok;

	if (guard == NULL || guard_len == 0 || guard_len > ETCD_MAX_KEY || create_rev <= 0 ||
	    puts == NULL || n == 0 || n > 4)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (puts[i].key == NULL || puts[i].key_len == 0 || puts[i].key_len > ETCD_MAX_KEY ||
		    (puts[i].value == NULL && puts[i].len > 0) || puts[i].len > ETCD_MAX_VALUE)
			return -EINVAL;
	o = json_object_new_object();
	cmp = json_object_new_object();
	cmps = json_object_new_array();
	ops = json_object_new_array();
	ok = o != NULL && cmp != NULL && cmps != NULL && ops != NULL &&
	    etcd_json_add_bytes(cmp, "key", guard, guard_len) &&
	    etcd_json_add(cmp, "result", json_object_new_string("EQUAL")) &&
	    etcd_json_add(cmp, "target", json_object_new_string("CREATE")) &&
	    etcd_json_add_int64(cmp, "create_revision", create_rev);
	if (ok) {
		ok = etcd_json_append(cmps, cmp);
		cmp = NULL;
	}
	for (size_t i = 0; ok && i < n; i++)
		ok = etcd_json_append(ops, etcd_txn_put_json(&puts[i]));
	if (ok) {
		ok = etcd_json_add(o, "compare", cmps);
		cmps = NULL;
	}
	if (ok) {
		ok = etcd_json_add(o, "success", ops);
		ops = NULL;
	}
	json_object_put(cmp);
	json_object_put(cmps);
	json_object_put(ops);
	if (o == NULL)
		return -ENOMEM;
	return etcd_submit_json(e, ETCD_OP_TXN, o, ok, 0, fn, arg, out);
}

/* Add "key" and, for a prefix, "range_end" to o. */
static bool
etcd_json_add_range(struct json_object *o, const char *key, bool prefix)
{
	uint8_t *end = NULL;
	size_t end_len = 0;
	bool ok;

	ok = etcd_json_add_bytes(o, "key", (const uint8_t *)key, strlen(key));
	if (ok && prefix) {
		ok = etcd_prefix_end((const uint8_t *)key, strlen(key), &end, &end_len) == 0 &&
		    etcd_json_add_bytes(o, "range_end", end, end_len);
		free(end);
	}
	return ok;
}

/* POST /v3/kv/range. */
int
etcd_range(struct etcd *e, const char *key, bool prefix, etcd_reply_fn fn, void *arg,
    struct etcd_call **out)
{
	struct json_object *o;

	if (!etcd_key_ok(key))
		return -EINVAL;
	o = json_object_new_object();
	return etcd_submit_json(e, ETCD_OP_RANGE, o, etcd_json_add_range(o, key, prefix), 0,
	    fn, arg, out);
}

/* POST /v3/kv/deleterange. */
int
etcd_delete(struct etcd *e, const char *key, bool prefix, etcd_reply_fn fn, void *arg,
    struct etcd_call **out)
{
	struct json_object *o;

	if (!etcd_key_ok(key))
		return -EINVAL;
	o = json_object_new_object();
	return etcd_submit_json(e, ETCD_OP_DELETE, o, etcd_json_add_range(o, key, prefix), 0,
	    fn, arg, out);
}

/* POST /v3/watch with a create request: a stream of events. */
int
etcd_watch(struct etcd *e, const char *key, bool prefix, int64_t start_revision,
    etcd_reply_fn fn, void *arg, struct etcd_call **out)
{
	struct json_object *o, *create;
	bool ok;

	if (!etcd_key_ok(key) || start_revision < 0)
		return -EINVAL;
	o = json_object_new_object();
	create = json_object_new_object();
	ok = etcd_json_add_range(create, key, prefix) &&
	    (start_revision == 0 || etcd_json_add_int64(create, "start_revision",
	    start_revision));
	if (!ok) {
		json_object_put(create);
		json_object_put(o);
		return -ENOMEM;
	}
	return etcd_submit_json(e, ETCD_OP_WATCH, o, etcd_json_add(o, "create_request", create),
	    0, fn, arg, out);
}

/* The endpoint calls go to now. */
const char *
etcd_endpoint(const struct etcd *e)
{
	return e->endpoints[e->current];
}

/* How often calls moved on to another endpoint. */
unsigned
etcd_failovers(const struct etcd *e)
{
	return e->failovers;
}

/* How often a token was obtained. */
unsigned
etcd_authentications(const struct etcd *e)
{
	return e->authentications;
}

/* Copy an optional string; false when memory ran out. */
static bool
etcd_strdup(const char *s, char **out)
{
	*out = NULL;
	if (s == NULL)
		return true;
	*out = strdup(s);
	return *out != NULL;
}

/* Whether an endpoint is an http(s) URL with a host and no path, user or blank. */
static bool
etcd_endpoint_ok(const char *url)
{
	const char *host;

	if (strncmp(url, "http://", 7) == 0)
		host = url + 7;
	else if (strncmp(url, "https://", 8) == 0)
		host = url + 8;
	else
		return false;
	if (*host == '\0' || *host == '/' || strchr(host, '/') != NULL ||
	    strchr(host, '@') != NULL || strchr(host, '?') != NULL || strchr(host, '#') != NULL)
		return false;
	for (const char *p = url; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return false;
	return true;
}

/* Check and copy the options into a new client. */
int
etcd_new(struct http *h, const struct etcd_options *o, struct etcd **out)
{
	struct etcd *e;
	bool ok;

	if (h == NULL || o == NULL || out == NULL || o->n_endpoints == 0 ||
	    o->n_endpoints > ETCD_MAX_ENDPOINTS || (o->user == NULL) != (o->password == NULL) ||
	    (o->cert_file == NULL) != (o->key_file == NULL) ||
	    (o->user != NULL && (o->user[0] == '\0' || o->password[0] == '\0')))
		return -EINVAL;
	for (size_t i = 0; i < o->n_endpoints; i++)
		if (o->endpoints[i] == NULL || !etcd_endpoint_ok(o->endpoints[i]))
			return -EINVAL;
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return -ENOMEM;
	TAILQ_INIT(&e->calls);
	e->http = h;
	e->timeout = o->timeout != 0 ? o->timeout : ETCD_DEFAULT_TIMEOUT;
	e->keepalive_idle = o->keepalive_idle != 0 ? o->keepalive_idle :
	    ETCD_DEFAULT_KEEPALIVE_IDLE;
	e->endpoints = calloc(o->n_endpoints, sizeof(*e->endpoints));
	ok = e->endpoints != NULL;
	for (size_t i = 0; ok && i < o->n_endpoints; i++) {
		ok = etcd_strdup(o->endpoints[i], &e->endpoints[i]);
		if (ok)
			e->n_endpoints++;
	}
	ok = ok && etcd_strdup(o->ca_file, &e->ca_file) &&
	    etcd_strdup(o->cert_file, &e->cert_file) &&
	    etcd_strdup(o->key_file, &e->key_file) &&
	    etcd_strdup(o->user, &e->user) &&
	    etcd_strdup(o->password, &e->password);
	if (!ok) {
		etcd_free(e);
		return -ENOMEM;
	}
	*out = e;
	return 0;
}

/* Cancel every call, wipe the secrets and free. */
void
etcd_free(struct etcd *e)
{
	struct etcd_call *c;

	if (e == NULL)
		return;
	while ((c = TAILQ_FIRST(&e->calls)) != NULL) {
		c->cancelled = true;
		etcd_call_free(c);
	}
	for (size_t i = 0; i < e->n_endpoints; i++)
		free(e->endpoints[i]);
	free(e->endpoints);
	free(e->ca_file);
	free(e->cert_file);
	free(e->key_file);
	etcd_wipe_free(e->user);
	etcd_wipe_free(e->password);
	etcd_wipe_free(e->token);
	free(e);
}
