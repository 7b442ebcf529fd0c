/* SPDX-License-Identifier: MIT */
/*
 * HTTP to Tradovate, one transfer at a time, on the process's HTTP engine
 * (http.c: libcurl's multi interface on libevent, shared with the cluster's
 * etcd calls). Every transfer takes a fresh connection and reads the whole
 * reply, 64 KiB at most.
 *
 * Nothing here calls user code from inside a libcurl callback: http.c calls
 * back from the loop, after libcurl has returned, so the done callback may
 * start the next request or free the upstream.
 *
 * Sent or not (CONTRACT §7 counts only what reached the server against
 * MaxFailedRequestsPerHour, and the broker's MaxRenewalsPerHour counts only
 * renewals sent): decided from what curl did, not from its result code. A
 * transfer that wrote any byte of the request (CURLINFO_REQUEST_SIZE > 0)
 * was sent, whatever came back (a reset, a time-out, garbage that is not
 * HTTP); one that never got that far (name resolution, refused connection,
 * no socket left, TLS handshake) was not.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "config.h"
#include "http.h"
#include "upstream.h"

/* Largest reply body read; more aborts the transfer (a token reply is ~1 KiB). */
#define UPSTREAM_MAX_BODY (64 * 1024)
/* Longest Date / Retry-After value kept; longer ones are ignored. */
#define UPSTREAM_MAX_HEADER_VALUE 128
/* Used when the config has no request timeout (config.c never leaves it 0). */
#define UPSTREAM_DEFAULT_TIMEOUT (10 * USEC_PER_SEC)

#define UPSTREAM_PATH_REQUEST "/auth/accesstokenrequest"
#define UPSTREAM_PATH_RENEW "/auth/renewaccesstoken"
#define UPSTREAM_BEARER "Authorization: Bearer "

/* What the requests need from the config; the only copy of the secrets here. */
struct upstream_conf {
	char *url_request;
	char *url_renew;
	char *name;
	char *app_id;
	char *app_version;
	char *device_id;
	char *ca_file;              /* NULL: the system store */
	long client_id;
	usec_t timeout;
	char *password;
	char *secret;
};

/* Free a config copy, wiping every string, secrets included. */
static void
upstream_conf_free(struct upstream_conf *c)
{
	if (c == NULL)
		return;
	secret_free(c->url_request);
	secret_free(c->url_renew);
	secret_free(c->name);
	secret_free(c->app_id);
	secret_free(c->app_version);
	secret_free(c->device_id);
	secret_free(c->ca_file);
	secret_free(c->password);
	secret_free(c->secret);
	explicit_bzero(c, sizeof(*c));
	free(c);
}

/* base followed by path, with any trailing '/' of base dropped; NULL on ENOMEM. */
static char *
upstream_join_url(const char *base, const char *path)
{
	size_t len = strlen(base);
	char *url;

	while (len > 0 && base[len - 1] == '/')
		len--;
	if (asprintf(&url, "%.*s%s", (int)len, base, path) < 0)
		return NULL;
	return url;
}

/* Copy what the requests need from cfg; -EINVAL when something required is missing. */
static int
upstream_conf_new(const struct config *cfg, struct upstream_conf **out)
{
	struct upstream_conf *c;
	usec_t timeout;
	bool ok = true;

	if (cfg->base_url == NULL || cfg->name == NULL || cfg->app_id == NULL ||
	    cfg->app_version == NULL || cfg->device_id == NULL ||
	    cfg->password == NULL || cfg->secret == NULL)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	c->url_request = upstream_join_url(cfg->base_url, UPSTREAM_PATH_REQUEST);
	c->url_renew = upstream_join_url(cfg->base_url, UPSTREAM_PATH_RENEW);
	if (c->url_request == NULL || c->url_renew == NULL)
		ok = false;
	c->name = secret_strdup(cfg->name, &ok);
	c->app_id = secret_strdup(cfg->app_id, &ok);
	c->app_version = secret_strdup(cfg->app_version, &ok);
	c->device_id = secret_strdup(cfg->device_id, &ok);
	c->ca_file = secret_strdup(cfg->ca_file, &ok);
	c->password = secret_strdup(cfg->password, &ok);
	c->secret = secret_strdup(cfg->secret, &ok);
	if (!ok) {
		upstream_conf_free(c);
		return -ENOMEM;
	}
	c->client_id = cfg->client_id;
	timeout = cfg->request_timeout != 0 ? cfg->request_timeout :
	    UPSTREAM_DEFAULT_TIMEOUT;
	c->timeout = timeout < 24 * USEC_PER_HOUR ? timeout : 24 * USEC_PER_HOUR;
	*out = c;
	return 0;
}

/* The transfer in flight: what its reply is checked and classified with. */
struct upstream_xfer {
	struct upstream *u;
	struct http_xfer *hx;       /* NULL once finished or cancelled */
	enum reply_kind kind;
	char date[UPSTREAM_MAX_HEADER_VALUE];
	char retry_after[UPSTREAM_MAX_HEADER_VALUE];
	/* What the server's texts are checked for besides the config's secrets (wiped when freed). */
	char *sent_token;           /* renewal: the bearer token */
	char *held_md_token;        /* renewal: the market-data token held beside it */
	char *sent_ticket;          /* token request: the p-ticket resent */
};

struct upstream {
	struct http *http;
	bool own_http;              /* made by upstream_new, freed with it */
	upstream_done_fn done;
	void *arg;
	struct upstream_xfer *xfer;
	struct upstream_conf *conf; /* NULL until configured */
};

/* Free a transfer's state, wiping everything that may hold a secret. */
static void
upstream_xfer_free(struct upstream_xfer *x)
{
	if (x == NULL)
		return;
	secret_free(x->sent_token);
	secret_free(x->held_md_token);
	secret_free(x->sent_ticket);
	explicit_bzero(x, sizeof(*x));
	free(x);
}

/* What became of a transfer: a reply, or sent (some request bytes written) without one, or never sent. */
static enum reply_transport
upstream_transport(const struct http_result *res)
{
	if (res->too_large)
		return TRANSPORT_FAILED_AFTER_SEND;
	if (res->curl_code == 0)
		return TRANSPORT_OK;
	return res->sent ? TRANSPORT_FAILED_AFTER_SEND : TRANSPORT_CONNECT_FAILED;
}

/*
 * http.c: the transfer ended. Classify what it saw, free it, and hand the
 * reply to the done callback. u->xfer is already detached, so the callback
 * may send the next request or free u; nothing touches u after it returns.
 */
static void
upstream_done(struct http_xfer *hx, const struct http_result *res, void *arg)
{
	struct upstream_xfer *x = arg;
	struct upstream *u = x->u;
	enum reply_transport transport = upstream_transport(res);
	struct reply_input in;
	struct reply r;

	x->hx = NULL;
	if (u->xfer == x)
		u->xfer = NULL;
	memset(&in, 0, sizeof(in));
	in.transport = transport;
	in.transport_error = res->too_large ? "reply too large (over 64 KiB)" : res->error;
	in.http_status = res->status;
	in.body = res->body;
	in.body_len = res->body_len;
	in.date = x->date[0] != '\0' ? x->date : NULL;
	in.retry_after = x->retry_after[0] != '\0' ? x->retry_after : NULL;
	if (u->conf != NULL) {
		in.secrets[0] = u->conf->password;
		in.secrets[1] = u->conf->secret;
	}
	in.secrets[2] = x->sent_token;
	in.secrets[3] = x->held_md_token;
	in.secrets[4] = x->sent_ticket;
	if (reply_classify(x->kind, &in, time_now(), &r) < 0) {
		memset(&r, 0, sizeof(r));
		r.kind = x->kind;
		r.outcome = transport == TRANSPORT_CONNECT_FAILED ?
		    REPLY_CONNECT_FAILED : REPLY_TRANSIENT;
		r.http_status = transport == TRANSPORT_OK ? res->status : 0;
		snprintf(r.error, sizeof(r.error),
		    "out of memory while reading the reply");
	}
	r.duration = res->duration;
	upstream_xfer_free(x);
	u->done(&r, u->arg);
}

/* Whether line (len bytes) is header name; its value goes into dst when it fits. */
static bool
upstream_header_value(const char *line, size_t len, const char *name,
    char dst[static UPSTREAM_MAX_HEADER_VALUE])
{
	size_t nlen = strlen(name), start, end;

	if (len <= nlen || strncasecmp(line, name, nlen) != 0 || line[nlen] != ':')
		return false;
	start = nlen + 1;
	end = len;
	while (start < end && (line[start] == ' ' || line[start] == '\t'))
		start++;
	while (end > start && (line[end - 1] == '\r' || line[end - 1] == '\n' ||
	    line[end - 1] == ' ' || line[end - 1] == '\t'))
		end--;
	if (end - start >= UPSTREAM_MAX_HEADER_VALUE)
		return true;
	memcpy(dst, line + start, end - start);
	dst[end - start] = '\0';
	return true;
}

/* http.c: a header line; a status line starts a new response (100 Continue, proxy CONNECT). */
static int
upstream_header(struct http_xfer *hx, const char *line, size_t len, void *arg)
{
	struct upstream_xfer *x = arg;

	if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		x->date[0] = '\0';
		x->retry_after[0] = '\0';
		return 0;
	}
	if (!upstream_header_value(line, len, "Date", x->date))
		upstream_header_value(line, len, "Retry-After", x->retry_after);
	return 0;
}

/*
 * Start x for url with headers and body (copied, and wiped, by http.c). On
 * failure x is freed and a negative errno returned; nothing is ever
 * delivered for it.
 */
static int
upstream_start(struct upstream *u, struct upstream_xfer *x, const char *url,
    const char *const *headers, const char *body, size_t body_len)
{
	struct http_request req;
	int r;

	memset(&req, 0, sizeof(req));
	req.url = url;
	req.body = body;
	req.body_len = body_len;
	req.headers = headers;
	req.timeout = u->conf->timeout;
	req.connect_timeout = u->conf->timeout;
	req.ca_file = u->conf->ca_file;
	/*
	 * A fresh connection each time: on a reused connection that drops
	 * without a reply, libcurl silently sends the request again, which
	 * Tradovate counts (renewals) or takes as a new session (token
	 * requests) while the broker's own count and ceilings never see it.
	 */
	req.reuse = false;
	req.mode = HTTP_BODY_WHOLE;
	req.max_body = UPSTREAM_MAX_BODY;
	req.on_header = upstream_header;
	req.on_done = upstream_done;
	req.arg = x;
	x->u = u;
	r = http_start(u->http, &req, &x->hx);
	if (r < 0) {
		upstream_xfer_free(x);
		return r == -EINVAL ? -ENOMEM : r;
	}
	u->xfer = x;
	return 0;
}

/* Add string member key = val to obj; false on ENOMEM. */
static bool
upstream_json_add(struct json_object *obj, const char *key,
    struct json_object *val)
{
	if (val == NULL)
		return false;
	if (json_object_object_add(obj, key, val) < 0) {
		json_object_put(val);
		return false;
	}
	return true;
}

/* Wipe the text json-c holds for string member key of obj. */
static void
upstream_json_wipe(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (json_object_object_get_ex(obj, key, &v) && v != NULL &&
	    json_object_is_type(v, json_type_string))
		explicit_bzero((char *)json_object_get_string(v),
		    (size_t)json_object_get_string_len(v));
}

/*
 * Build the token request body; p_ticket is added for a penalty resend.
 * The copies json-c made of the secrets are wiped before it frees them.
 */
static int
upstream_build_body(const struct upstream_conf *c, const char *p_ticket,
    char **out, size_t *out_len)
{
	struct json_object *obj = json_object_new_object();
	const char *s;
	size_t len = 0;
	char *body = NULL;
	bool ok;

	if (obj == NULL)
		return -ENOMEM;
	ok = upstream_json_add(obj, "name", json_object_new_string(c->name)) &&
	    upstream_json_add(obj, "password",
	    json_object_new_string(c->password)) &&
	    upstream_json_add(obj, "appId", json_object_new_string(c->app_id)) &&
	    upstream_json_add(obj, "appVersion",
	    json_object_new_string(c->app_version)) &&
	    upstream_json_add(obj, "cid", json_object_new_int64(c->client_id)) &&
	    upstream_json_add(obj, "sec", json_object_new_string(c->secret)) &&
	    upstream_json_add(obj, "deviceId",
	    json_object_new_string(c->device_id));
	if (ok && p_ticket != NULL)
		ok = upstream_json_add(obj, "p-ticket",
		    json_object_new_string(p_ticket));
	if (ok) {
		s = json_object_to_json_string_length(obj,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
		if (s != NULL && (body = malloc(len + 1)) != NULL) {
			memcpy(body, s, len + 1);
		}
		if (s != NULL)
			explicit_bzero((char *)s, len);
	}
	upstream_json_wipe(obj, "password");
	upstream_json_wipe(obj, "sec");
	upstream_json_wipe(obj, "p-ticket");
	json_object_put(obj);
	if (body == NULL)
		return -ENOMEM;
	*out = body;
	*out_len = len;
	return 0;
}

/* Create the upstream on its own HTTP engine (for tests and single users). */
int
upstream_new(struct event_base *base, upstream_done_fn done, void *arg,
    struct upstream **out)
{
	struct http *h;
	int r;

	if (base == NULL || done == NULL)
		return -EINVAL;
	r = http_new(base, &h);
	if (r < 0)
		return r;
	r = upstream_new_on(h, done, arg, out);
	if (r < 0) {
		http_free(h);
		return r;
	}
	(*out)->own_http = true;
	return 0;
}

/* Create the upstream on an HTTP engine shared with others. */
int
upstream_new_on(struct http *h, upstream_done_fn done, void *arg, struct upstream **out)
{
	struct upstream *u;

	if (h == NULL || done == NULL)
		return -EINVAL;
	u = calloc(1, sizeof(*u));
	if (u == NULL)
		return -ENOMEM;
	u->http = h;
	u->done = done;
	u->arg = arg;
	*out = u;
	return 0;
}

/* Take what the requests need from cfg; the old copy (secrets included) is wiped. */
int
upstream_configure(struct upstream *u, const struct config *cfg)
{
	struct upstream_conf *c;
	int r;

	r = upstream_conf_new(cfg, &c);
	if (r < 0)
		return r;
	upstream_conf_free(u->conf);
	u->conf = c;
	return 0;
}

/* POST /auth/accesstokenrequest, with "p-ticket" added when given. */
int
upstream_request_token(struct upstream *u, const char *p_ticket)
{
	static const char *const headers[] = {
		"Content-Type: application/json", "Accept: application/json", NULL,
	};
	struct upstream_xfer *x;
	char *body = NULL;
	size_t body_len = 0;
	int r;

	if (u->conf == NULL)
		return -EINVAL;
	if (u->xfer != NULL)
		return -EBUSY;
	x = calloc(1, sizeof(*x));
	if (x == NULL)
		return -ENOMEM;
	x->kind = REPLY_KIND_REQUEST;
	r = upstream_build_body(u->conf, p_ticket, &body, &body_len);
	if (r == 0 && p_ticket != NULL && (x->sent_ticket = strdup(p_ticket)) == NULL)
		r = -ENOMEM;
	if (r < 0) {
		if (body != NULL) {
			explicit_bzero(body, body_len);
			free(body);
		}
		upstream_xfer_free(x);
		return r;
	}
	r = upstream_start(u, x, u->conf->url_request, headers, body, body_len);
	explicit_bzero(body, body_len);
	free(body);
	return r;
}

/* Whether s can go into an HTTP header unchanged (no control characters, no spaces). */
static bool
upstream_header_safe(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

/* GET /auth/renewaccesstoken with Authorization: Bearer access_token. */
int
upstream_renew(struct upstream *u, const char *access_token,
    const char *md_access_token)
{
	const char *headers[3];
	struct upstream_xfer *x;
	size_t len;
	char *auth;
	bool ok = true;
	int r;

	if (u->conf == NULL || access_token == NULL || access_token[0] == '\0' ||
	    !upstream_header_safe(access_token))
		return -EINVAL;
	if (u->xfer != NULL)
		return -EBUSY;
	x = calloc(1, sizeof(*x));
	if (x == NULL)
		return -ENOMEM;
	x->kind = REPLY_KIND_RENEWAL;
	x->sent_token = secret_strdup(access_token, &ok);
	x->held_md_token = secret_strdup(md_access_token, &ok);
	if (!ok) {
		upstream_xfer_free(x);
		return -ENOMEM;
	}
	len = strlen(UPSTREAM_BEARER) + strlen(access_token) + 1;
	auth = malloc(len);
	if (auth == NULL) {
		upstream_xfer_free(x);
		return -ENOMEM;
	}
	snprintf(auth, len, "%s%s", UPSTREAM_BEARER, access_token);
	headers[0] = "Accept: application/json";
	headers[1] = auth;
	headers[2] = NULL;
	r = upstream_start(u, x, u->conf->url_renew, headers, NULL, 0);
	explicit_bzero(auth, len);
	free(auth);
	return r;
}

/* Whether a request is in flight. */
bool
upstream_busy(const struct upstream *u)
{
	return u->xfer != NULL;
}

/* Abort the request in flight, if any, without calling back. */
void
upstream_cancel(struct upstream *u)
{
	struct upstream_xfer *x = u->xfer;

	if (x == NULL)
		return;
	u->xfer = NULL;
	if (x->hx != NULL)
		http_cancel(x->hx);
	upstream_xfer_free(x);
}

/* Cancel, then free the engine when it is ours. */
void
upstream_free(struct upstream *u)
{
	if (u == NULL)
		return;
	upstream_cancel(u);
	if (u->own_http)
		http_free(u->http);
	upstream_conf_free(u->conf);
	free(u);
}
