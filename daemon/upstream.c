/*
 * HTTP to Tradovate: libcurl's multi interface driven by libevent
 * (STYLE.md "libcurl multi on libevent"). One multi handle, one timer, one
 * libevent event per socket curl asks us to watch, and at most one transfer.
 *
 * Nothing here calls user code from inside a libcurl callback: the done
 * callback runs after curl_multi_socket_action has returned and the easy
 * handle is gone, so it may start the next request or free the upstream.
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
#include <sys/queue.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "config.h"
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
	long timeout_ms;
	char *password;
	char *secret;
};

/* One socket curl asked us to watch. */
struct upstream_sock {
	struct upstream *u;
	curl_socket_t fd;
	struct event *ev;
	LIST_ENTRY(upstream_sock) entry;
};

/* The transfer in flight. */
struct upstream_xfer {
	struct upstream *u;
	enum reply_kind kind;
	CURL *easy;
	struct curl_slist *headers;
	char *body;                 /* POST body with secrets; wiped when freed */
	size_t body_len;
	char *resp;                 /* reply body, UPSTREAM_MAX_BODY + 1 once written */
	size_t resp_len;
	bool too_large;
	char date[UPSTREAM_MAX_HEADER_VALUE];
	char retry_after[UPSTREAM_MAX_HEADER_VALUE];
	char errbuf[CURL_ERROR_SIZE];
	usec_t started;             /* monotonic */
	/* What the server's texts are checked for besides the config's secrets (wiped when freed). */
	char *sent_token;           /* renewal: the bearer token */
	char *held_md_token;        /* renewal: the market-data token held beside it */
	char *sent_ticket;          /* token request: the p-ticket resent */
};

struct upstream {
	struct event_base *base;
	upstream_done_fn done;
	void *arg;
	CURLM *multi;
	struct event *timer;
	LIST_HEAD(, upstream_sock) socks;
	struct upstream_xfer *xfer;
	struct upstream_conf *conf; /* NULL until configured */
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
	if (timeout / USEC_PER_MSEC >= (usec_t)24 * 3600 * 1000)
		c->timeout_ms = 24L * 3600 * 1000;
	else
		c->timeout_ms = (long)((timeout + USEC_PER_MSEC - 1) /
		    USEC_PER_MSEC);
	*out = c;
	return 0;
}

/* Map a CURLMcode to a negative errno. */
static int
upstream_mcode_errno(CURLMcode mc)
{
	return mc == CURLM_OUT_OF_MEMORY ? -ENOMEM : -EIO;
}

/* Free a transfer's buffers and headers, wiping everything that may hold a secret. */
static void
upstream_xfer_free(struct upstream_xfer *x)
{
	struct curl_slist *l;

	if (x == NULL)
		return;
	for (l = x->headers; l != NULL; l = l->next)
		explicit_bzero(l->data, strlen(l->data));
	curl_slist_free_all(x->headers);
	if (x->body != NULL) {
		explicit_bzero(x->body, x->body_len);
		free(x->body);
	}
	if (x->resp != NULL) {
		explicit_bzero(x->resp, UPSTREAM_MAX_BODY + 1);
		free(x->resp);
	}
	secret_free(x->sent_token);
	secret_free(x->held_md_token);
	secret_free(x->sent_ticket);
	explicit_bzero(x, sizeof(*x));
	free(x);
}

/* Stop watching a socket and free its state. */
static void
upstream_sock_free(struct upstream_sock *us)
{
	LIST_REMOVE(us, entry);
	if (us->ev != NULL)
		event_free(us->ev);
	free(us);
}

/* What became of a transfer: a reply, or sent (some request bytes written) without one, or never sent. */
static enum reply_transport
upstream_transport(CURLcode result, long request_size)
{
	if (result == CURLE_OK)
		return TRANSPORT_OK;
	return request_size > 0 ? TRANSPORT_FAILED_AFTER_SEND : TRANSPORT_CONNECT_FAILED;
}

/*
 * Classify what the finished transfer saw, free it, and hand the reply to
 * the done callback. u->xfer is already detached, so the callback may send
 * the next request or free u; nothing touches u after it returns.
 */
static void
upstream_deliver(struct upstream *u, struct upstream_xfer *x,
    enum reply_transport transport, const char *why, long status)
{
	struct reply_input in;
	struct reply r;
	usec_t duration = time_monotonic() - x->started;

	memset(&in, 0, sizeof(in));
	in.transport = transport;
	in.transport_error = why;
	in.http_status = status;
	in.body = x->resp;
	in.body_len = x->resp_len;
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
		r.http_status = transport == TRANSPORT_OK ? status : 0;
		snprintf(r.error, sizeof(r.error),
		    "out of memory while reading the reply");
	}
	r.duration = duration;
	upstream_xfer_free(x);
	u->done(&r, u->arg);
}

/* The transfer in flight ended with result: remove it from the multi and deliver. */
static void
upstream_finish(struct upstream *u, CURL *easy, CURLcode result)
{
	struct upstream_xfer *x = NULL;
	enum reply_transport transport;
	long status = 0, request_size = 0;
	const char *why;
	char *priv = NULL;

	/* Everything is read before the handle goes away. */
	curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
	if (curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
		status = 0;
	if (curl_easy_getinfo(easy, CURLINFO_REQUEST_SIZE, &request_size) != CURLE_OK)
		request_size = 0;
	x = (struct upstream_xfer *)(void *)priv;

	(void)curl_multi_remove_handle(u->multi, easy);
	curl_easy_cleanup(easy);
	if (x == NULL || x != u->xfer)
		return;
	x->easy = NULL;
	u->xfer = NULL;

	if (x->too_large) {
		transport = TRANSPORT_FAILED_AFTER_SEND;
		why = "reply too large (over 64 KiB)";
	} else {
		transport = upstream_transport(result, request_size);
		why = x->errbuf[0] != '\0' ? x->errbuf : curl_easy_strerror(result);
	}
	upstream_deliver(u, x, transport, why, status);
}

/* Abort the transfer in flight because the multi handle failed, and deliver that. */
static void
upstream_abort(struct upstream *u, CURLMcode mc)
{
	struct upstream_xfer *x = u->xfer;
	char why[96];

	if (x == NULL)
		return;
	u->xfer = NULL;
	(void)curl_multi_remove_handle(u->multi, x->easy);
	curl_easy_cleanup(x->easy);
	x->easy = NULL;
	snprintf(why, sizeof(why), "curl: %s", curl_multi_strerror(mc));
	upstream_deliver(u, x, TRANSPORT_FAILED_AFTER_SEND, why, 0);
}

/* After curl_multi_socket_action: drain the messages and deliver a finished transfer. */
static void
upstream_check(struct upstream *u, CURLMcode mc)
{
	CURLMsg *msg;
	CURL *easy = NULL;
	CURLcode result = CURLE_OK;
	int left;

	if (mc != CURLM_OK && mc != CURLM_BAD_SOCKET) {
		upstream_abort(u, mc);
		return;
	}
	while ((msg = curl_multi_info_read(u->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		/* Read the message now: it is invalid once the handle is removed. */
		easy = msg->easy_handle;
		result = msg->data.result;
		break;
	}
	if (easy != NULL)
		upstream_finish(u, easy, result);
}

/* libevent: a watched socket is ready. */
static void
upstream_sock_event(evutil_socket_t fd, short what, void *arg)
{
	struct upstream_sock *us = arg;
	struct upstream *u = us->u;  /* us may be freed during the action */
	int flags = 0, running;
	CURLMcode mc;

	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	mc = curl_multi_socket_action(u->multi, fd, flags, &running);
	upstream_check(u, mc);
}

/* libevent: curl's timeout expired. */
static void
upstream_timer_event(evutil_socket_t fd, short what, void *arg)
{
	struct upstream *u = arg;
	int running;
	CURLMcode mc;

	mc = curl_multi_socket_action(u->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	upstream_check(u, mc);
}

/* CURLMOPT_SOCKETFUNCTION: start, change or stop watching socket s. */
static int
upstream_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp,
    void *socketp)
{
	struct upstream *u = userp;
	struct upstream_sock *us = socketp;
	short events = EV_PERSIST;

	if (what == CURL_POLL_REMOVE) {
		if (us != NULL)
			upstream_sock_free(us);
		return 0;
	}
	if (what & CURL_POLL_IN)
		events |= EV_READ;
	if (what & CURL_POLL_OUT)
		events |= EV_WRITE;

	if (us == NULL) {
		us = calloc(1, sizeof(*us));
		if (us == NULL)
			return -1;
		us->u = u;
		us->fd = s;
		LIST_INSERT_HEAD(&u->socks, us, entry);
		us->ev = event_new(u->base, s, events, upstream_sock_event, us);
		if (us->ev == NULL || event_add(us->ev, NULL) < 0 ||
		    curl_multi_assign(u->multi, s, us) != CURLM_OK) {
			upstream_sock_free(us);
			return -1;
		}
		return 0;
	}
	if (event_del(us->ev) < 0 ||
	    event_assign(us->ev, u->base, s, events, upstream_sock_event, us) < 0 ||
	    event_add(us->ev, NULL) < 0)
		return -1;
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: -1 deletes the timer, anything else (0 too) arms it. */
static int
upstream_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct upstream *u = userp;
	struct timeval tv;

	if (timeout_ms < 0) {
		evtimer_del(u->timer);
		return 0;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	return evtimer_add(u->timer, &tv) < 0 ? -1 : 0;
}

/* CURLOPT_WRITEFUNCTION: keep the body, aborting past UPSTREAM_MAX_BODY. */
static size_t
upstream_write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct upstream_xfer *x = userdata;
	size_t n;

	if (size != 0 && nmemb > SIZE_MAX / size)
		return 0;
	n = size * nmemb;
	if (n > UPSTREAM_MAX_BODY - x->resp_len) {
		x->too_large = true;
		return 0;
	}
	if (x->resp == NULL) {
		/* Allocated whole once: no realloc leaves token bytes behind. */
		x->resp = calloc(1, UPSTREAM_MAX_BODY + 1);
		if (x->resp == NULL)
			return 0;
	}
	memcpy(x->resp + x->resp_len, ptr, n);
	x->resp_len += n;
	x->resp[x->resp_len] = '\0';
	return n;
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

/* CURLOPT_HEADERFUNCTION: capture Date and Retry-After of the final response. */
static size_t
upstream_header_cb(char *buffer, size_t size, size_t nitems, void *userdata)
{
	struct upstream_xfer *x = userdata;
	size_t n;

	if (size != 0 && nitems > SIZE_MAX / size)
		return 0;
	n = size * nitems;
	/* A new status line starts a new response (100 Continue, proxy CONNECT). */
	if (n >= 5 && strncmp(buffer, "HTTP/", 5) == 0) {
		x->date[0] = '\0';
		x->retry_after[0] = '\0';
		return n;
	}
	if (!upstream_header_value(buffer, n, "Date", x->date))
		upstream_header_value(buffer, n, "Retry-After", x->retry_after);
	return n;
}

/* Append header to *list; false on ENOMEM. */
static bool
upstream_add_header(struct curl_slist **list, const char *header)
{
	struct curl_slist *l = curl_slist_append(*list, header);

	if (l == NULL)
		return false;
	*list = l;
	return true;
}

/* Set every option a request needs; CURLE_OK or the first failure. */
static CURLcode
upstream_setup(struct upstream *u, struct upstream_xfer *x, const char *url)
{
	const struct upstream_conf *c = u->conf;
	CURL *e = x->easy;
	CURLcode rc = CURLE_OK;

#define UPSTREAM_SETOPT(opt, val) \
	do { if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val); } while (0)
	UPSTREAM_SETOPT(CURLOPT_URL, url);
	UPSTREAM_SETOPT(CURLOPT_PROTOCOLS_STR, "https,http");
	UPSTREAM_SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
	UPSTREAM_SETOPT(CURLOPT_NOSIGNAL, 1L);
	/*
	 * A fresh connection each time: on a reused connection that drops
	 * without a reply, libcurl silently sends the request again, which
	 * Tradovate counts (renewals) or takes as a new session (token
	 * requests) while the broker's own count and ceilings never see it.
	 */
	UPSTREAM_SETOPT(CURLOPT_FORBID_REUSE, 1L);
	UPSTREAM_SETOPT(CURLOPT_TIMEOUT_MS, c->timeout_ms);
	UPSTREAM_SETOPT(CURLOPT_CONNECTTIMEOUT_MS, c->timeout_ms);
	UPSTREAM_SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
	UPSTREAM_SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
	if (c->ca_file != NULL) {
		/* The bundle replaces the system store, it does not add to it. */
		UPSTREAM_SETOPT(CURLOPT_CAINFO, c->ca_file);
		UPSTREAM_SETOPT(CURLOPT_CAPATH, (char *)NULL);
	}
	UPSTREAM_SETOPT(CURLOPT_ERRORBUFFER, x->errbuf);
	UPSTREAM_SETOPT(CURLOPT_PRIVATE, (void *)x);
	UPSTREAM_SETOPT(CURLOPT_USERAGENT, "tvtokend/" TVTOKEND_VERSION);
	UPSTREAM_SETOPT(CURLOPT_HTTPHEADER, x->headers);
	UPSTREAM_SETOPT(CURLOPT_HEADERFUNCTION, upstream_header_cb);
	UPSTREAM_SETOPT(CURLOPT_HEADERDATA, (void *)x);
	UPSTREAM_SETOPT(CURLOPT_WRITEFUNCTION, upstream_write_cb);
	UPSTREAM_SETOPT(CURLOPT_WRITEDATA, (void *)x);
	if (x->body != NULL) {
		UPSTREAM_SETOPT(CURLOPT_POST, 1L);
		/* Not copied by curl: the buffer stays ours and is wiped after. */
		UPSTREAM_SETOPT(CURLOPT_POSTFIELDS, x->body);
		UPSTREAM_SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->body_len);
	} else {
		UPSTREAM_SETOPT(CURLOPT_HTTPGET, 1L);
	}
#undef UPSTREAM_SETOPT
	return rc;
}

/*
 * Start x (headers and body already attached) for url. On failure x is
 * freed and a negative errno returned; nothing is ever delivered for it.
 */
static int
upstream_start(struct upstream *u, struct upstream_xfer *x, const char *url)
{
	CURLMcode mc;

	x->u = u;
	x->easy = curl_easy_init();
	if (x->easy == NULL || upstream_setup(u, x, url) != CURLE_OK) {
		if (x->easy != NULL)
			curl_easy_cleanup(x->easy);
		upstream_xfer_free(x);
		return -ENOMEM;
	}
	x->started = time_monotonic();
	u->xfer = x;
	mc = curl_multi_add_handle(u->multi, x->easy);
	if (mc != CURLM_OK) {
		u->xfer = NULL;
		curl_easy_cleanup(x->easy);
		upstream_xfer_free(x);
		return upstream_mcode_errno(mc);
	}
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

/* Create the upstream: one multi handle and one timer on base. */
int
upstream_new(struct event_base *base, upstream_done_fn done, void *arg,
    struct upstream **out)
{
	struct upstream *u;

	if (base == NULL || done == NULL)
		return -EINVAL;
	u = calloc(1, sizeof(*u));
	if (u == NULL)
		return -ENOMEM;
	u->base = base;
	u->done = done;
	u->arg = arg;
	LIST_INIT(&u->socks);
	u->timer = evtimer_new(base, upstream_timer_event, u);
	u->multi = curl_multi_init();
	if (u->timer == NULL || u->multi == NULL ||
	    curl_multi_setopt(u->multi, CURLMOPT_SOCKETFUNCTION,
	    upstream_socket_cb) != CURLM_OK ||
	    curl_multi_setopt(u->multi, CURLMOPT_SOCKETDATA, u) != CURLM_OK ||
	    curl_multi_setopt(u->multi, CURLMOPT_TIMERFUNCTION,
	    upstream_timer_cb) != CURLM_OK ||
	    curl_multi_setopt(u->multi, CURLMOPT_TIMERDATA, u) != CURLM_OK) {
		upstream_free(u);
		return -ENOMEM;
	}
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
	struct upstream_xfer *x;
	int r;

	if (u->conf == NULL)
		return -EINVAL;
	if (u->xfer != NULL)
		return -EBUSY;
	x = calloc(1, sizeof(*x));
	if (x == NULL)
		return -ENOMEM;
	x->kind = REPLY_KIND_REQUEST;
	r = upstream_build_body(u->conf, p_ticket, &x->body, &x->body_len);
	if (r == 0 && p_ticket != NULL && (x->sent_ticket = strdup(p_ticket)) == NULL)
		r = -ENOMEM;
	if (r < 0) {
		upstream_xfer_free(x);
		return r;
	}
	if (!upstream_add_header(&x->headers, "Content-Type: application/json") ||
	    !upstream_add_header(&x->headers, "Accept: application/json") ||
	    !upstream_add_header(&x->headers, "Expect:")) {
		upstream_xfer_free(x);
		return -ENOMEM;
	}
	return upstream_start(u, x, u->conf->url_request);
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
	struct upstream_xfer *x;
	size_t len;
	char *auth;
	bool ok = true;

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
	ok = upstream_add_header(&x->headers, "Accept: application/json") &&
	    upstream_add_header(&x->headers, auth);
	explicit_bzero(auth, len);
	free(auth);
	if (!ok) {
		upstream_xfer_free(x);
		return -ENOMEM;
	}
	return upstream_start(u, x, u->conf->url_renew);
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
	(void)curl_multi_remove_handle(u->multi, x->easy);
	curl_easy_cleanup(x->easy);
	x->easy = NULL;
	upstream_xfer_free(x);
}

/* Cancel, then tear down in STYLE.md's order: easy handle, multi, sockets, timer. */
void
upstream_free(struct upstream *u)
{
	struct upstream_sock *us;

	if (u == NULL)
		return;
	upstream_cancel(u);
	/* Callbacks may still fire here: the sockets and the timer must exist. */
	if (u->multi != NULL)
		(void)curl_multi_cleanup(u->multi);
	while ((us = LIST_FIRST(&u->socks)) != NULL)
		upstream_sock_free(us);
	if (u->timer != NULL)
		event_free(u->timer);
	upstream_conf_free(u->conf);
	free(u);
}
